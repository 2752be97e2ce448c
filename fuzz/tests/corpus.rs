//! Replays every committed seed (`corpus/<target>/*`) through its target's
//! checks, on stable Rust: the seeds are regression inputs too.

use std::path::Path;

#[test]
fn every_seed_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in oncefetch_fuzz::TARGETS {
        let dir = root.join(target);
        let mut n = 0;
        for f in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = f.expect("dir entry").path();
            let data = std::fs::read(&path).expect("seed");
            let run = std::panic::catch_unwind(|| oncefetch_fuzz::run_target(target, &data));
            assert!(run.is_ok(), "seed {} fails {target}", path.display());
            n += 1;
        }
        assert!(n > 0, "no seeds for {target} in {}", dir.display());
    }
}
