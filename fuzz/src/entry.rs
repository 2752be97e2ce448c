//! Stored entries read back from localStorage (`oncefetch::entry::Entry`).
//!
//! Anything can sit under our prefix: another script, another version of the
//! library, a truncated write. `Entry::parse` must take any string without
//! panicking, accept only entries it can use (a key that is a valid header
//! value), agree with a real JSON parser on well-formed entries, and read back
//! exactly what `to_json` wrote.

use arbitrary::Arbitrary;
use oncefetch::entry::{Entry, State};
use oncefetch::validate;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The largest timestamp JavaScript represents exactly (`Number.MAX_SAFE_INTEGER`):
/// the domain of `createdAt` / `expiresAt`, which come from `Date.now()` (+ a TTL).
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// Whether `v` is a timestamp the stored form must carry exactly.
pub fn in_domain(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_SAFE
}

/// `entry_parse`: any bytes, as the string localStorage hands back.
pub fn parse(data: &[u8]) {
    // localStorage holds UTF-16; wasm-bindgen hands Rust the lossy UTF-8 of it.
    let text = String::from_utf8_lossy(data);
    let parsed = Entry::parse(&text);
    if let Some(e) = &parsed {
        // Only usable entries come out: the key goes straight into a header.
        assert!(validate::key(&e.key).is_ok(), "parse accepted an unusable key {:?} from {text:?}", e.key);
        for v in [e.created_at, e.expires_at] {
            assert!(v.is_finite() && v.fract() == 0.0, "parse produced a non-integer timestamp {v} from {text:?}");
        }
        // What we read, we can write back and read again unchanged (settle() does exactly that).
        if in_domain(e.created_at) && in_domain(e.expires_at) || cfg!(feature = "strict") {
            let again = Entry::parse(&e.to_json());
            assert_eq!(again.as_ref(), Some(e), "to_json(parse(x)) does not read back, x = {text:?}");
        }
    }
    agree_with_serde_json(&text, parsed.as_ref());
}

/// A flat JSON object as written, in order, duplicates kept.
struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// An integer `Entry::parse` promises to read: at most 16 digits, no fraction or exponent.
fn small_int(v: &Value) -> Option<f64> {
    const MAX_SAFE: i64 = (1 << 53) - 1;
    let n = v.as_i64()?;
    // The reader takes at most 16 digits and clamps to the integers an f64 holds exactly.
    (n.unsigned_abs() < 10_000_000_000_000_000).then_some(n.clamp(-MAX_SAFE, MAX_SAFE) as f64)
}

/// Differential check: whenever serde_json reads `text` as a flat object whose
/// five fields have the types we write (and unknown fields are flat too),
/// `Entry::parse` must return that entry; and it must never return an entry
/// serde_json's reading contradicts.
fn agree_with_serde_json(text: &str, ours: Option<&Entry>) {
    let Ok(Pairs(pairs)) = serde_json::from_str::<Pairs>(text) else { return };
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return; // duplicate names: JSON leaves their meaning open
    }
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let flat_unknowns = pairs.iter().all(|(k, v)| {
        matches!(k.as_str(), "key" | "fingerprint" | "createdAt" | "expiresAt" | "state")
            || matches!(v, Value::String(_) | Value::Bool(_) | Value::Null)
            || small_int(v).is_some()
    });
    let expected = (|| {
        let key = field("key")?.as_str()?.to_owned();
        let fingerprint = field("fingerprint")?.as_str()?.to_owned();
        let created_at = small_int(field("createdAt")?)?;
        let expires_at = small_int(field("expiresAt")?)?;
        let state = match field("state")?.as_str()? {
            "pending" => State::Pending,
            "settled" => State::Settled,
            _ => return None,
        };
        (!key.is_empty() && validate::is_header_value(&key)).then_some(Entry { key, fingerprint, created_at, expires_at, state })
    })();
    match (&expected, ours) {
        (Some(want), got) if flat_unknowns => {
            assert_eq!(got, Some(want), "parse disagrees with serde_json on {text:?}");
        }
        (None, Some(got)) => {
            panic!("parse accepted {got:?} from {text:?}, which serde_json reads as no valid entry");
        }
        _ => {}
    }
}

/// A timestamp: mostly realistic ones, sometimes anything.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Stamp {
    /// Milliseconds, folded into the JS safe-integer range.
    Safe(i64),
    /// Any float, NaN and infinities included.
    Any(f64),
}

impl Stamp {
    fn value(self) -> f64 {
        match self {
            Stamp::Safe(v) => (v % 9_007_199_254_740_992) as f64,
            Stamp::Any(v) => v,
        }
    }
}

/// A field another writer may add.
#[derive(Debug, Clone, Arbitrary)]
pub enum Extra {
    /// A string value.
    Str(String),
    /// An integer value.
    Int(i32),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// `entry_roundtrip`: an arbitrary entry, and how a writer spells it.
#[derive(Debug, Clone, Arbitrary)]
pub struct EntryCase {
    /// The key (valid or not).
    pub key: String,
    /// The fingerprint (any text).
    pub fingerprint: String,
    /// `createdAt`.
    pub created_at: Stamp,
    /// `expiresAt`.
    pub expires_at: Stamp,
    /// Settled rather than pending.
    pub settled: bool,
    /// Unknown fields (names that clash with ours are dropped).
    pub extras: Vec<(String, Extra)>,
    /// Spelling: bit 0 whitespace, bit 1 reversed field order, bit 2 `\u` escapes for all non-ASCII.
    pub layout: u8,
}

/// JSON string with every non-ASCII character (and `/`) escaped as `\uXXXX`,
/// astral ones as surrogate pairs: what ASCII-only JSON writers produce.
fn ascii_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            c if (' '..='~').contains(&c) => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04X}", u));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Round trip, and reading what other JSON writers produce.
pub fn roundtrip(case: &EntryCase) {
    let e = Entry {
        key: case.key.clone(),
        fingerprint: case.fingerprint.clone(),
        created_at: case.created_at.value(),
        expires_at: case.expires_at.value(),
        state: if case.settled { State::Settled } else { State::Pending },
    };
    let usable_key = validate::key(&e.key).is_ok();
    let exact = in_domain(e.created_at) && in_domain(e.expires_at);
    let json = e.to_json();
    let back = Entry::parse(&json);
    if !usable_key {
        assert_eq!(back, None, "an entry with an unusable key read back: {json:?}");
    } else if exact {
        assert_eq!(back.as_ref(), Some(&e), "parse(to_json(e)) != e for {json:?}");
    } else {
        // Timestamps outside what Date.now() + a TTL produce: if they read back
        // at all, everything else is intact.
        if let Some(b) = &back {
            assert_eq!((&b.key, &b.fingerprint, b.state), (&e.key, &e.fingerprint, e.state), "{json:?}");
        }
        // Any finite timestamp must still give a usable entry; a lost entry is a
        // key forgotten (see tests/regressions.rs: huge keyTtlMs).
        if cfg!(feature = "strict") && e.created_at.is_finite() && e.expires_at.is_finite() {
            assert!(back.is_some(), "an entry with finite timestamps does not read back: {json:?}");
        }
    }

    // The same entry as another writer spells it (JSON.stringify, an older or
    // newer version adding fields): reads back the same.
    if usable_key && exact {
        let ws = if case.layout & 1 != 0 { " \n\t" } else { "" };
        let string = |s: &str| if case.layout & 4 != 0 { ascii_json_string(s) } else { serde_json::to_string(s).unwrap_or_default() };
        let mut fields: Vec<String> = vec![
            format!("\"key\"{ws}:{ws}{}", string(&e.key)),
            format!("\"fingerprint\":{ws}{}", string(&e.fingerprint)),
            format!("\"createdAt\":{}", e.created_at as i64),
            format!("\"expiresAt\"{ws}:{}", e.expires_at as i64),
            format!("\"state\":\"{}\"", if case.settled { "settled" } else { "pending" }),
        ];
        for (name, v) in &case.extras {
            if matches!(name.as_str(), "key" | "fingerprint" | "createdAt" | "expiresAt" | "state") {
                continue;
            }
            let v = match v {
                Extra::Str(s) => string(s),
                Extra::Int(i) => i.to_string(),
                Extra::Bool(b) => b.to_string(),
                Extra::Null => "null".into(),
            };
            fields.push(format!("{}:{ws}{v}", string(name)));
        }
        if case.layout & 2 != 0 {
            fields.reverse();
        }
        let text = format!("{ws}{{{ws}{}{ws}}}{ws}", fields.join(&format!(",{ws}")));
        assert_eq!(Entry::parse(&text).as_ref(), Some(&e), "a standard JSON spelling does not read back: {text:?}");
    }
}
