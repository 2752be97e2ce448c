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

/// The `record-*` seeds of `entry_parse` stay what they are meant to be: the
/// valid ones decode (so a format change cannot silently turn every seed into
/// a refused one), the others are refused.
#[test]
fn record_seeds_are_valid_or_refused_as_named() {
    use oncefetch::entry::Entry;
    const VALID: [&str; 4] = ["record-pending", "record-settled", "record-clamped", "record-negative-zero"];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/entry_parse");
    let mut seen = 0;
    for f in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = f.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !name.starts_with("record-") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a record seed is UTF-8");
        let valid = VALID.contains(&name.as_str());
        assert_eq!(Entry::decode(&text).is_some(), valid, "{name}: {text:?}");
        assert_eq!(oncefetch_fuzz::entry::reference_decode(&text).is_some(), valid, "{name} (reference): {text:?}");
        seen += usize::from(valid);
    }
    assert_eq!(seen, VALID.len(), "a valid record seed is missing");
}
