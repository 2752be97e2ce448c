//! A stored key (SPEC B5) and its *record*: the one-line-per-field text the
//! engine writes and reads through a [`Backend`](crate::store::Backend).
//!
//! localStorage holds the SPEC's JSON, `{ key, fingerprint, createdAt,
//! expiresAt, state }`; the facade converts between the two at the storage
//! boundary (`js/codec.js`), where `JSON.parse` and `JSON.stringify` cost no
//! code. The memory store keeps records as they are. A record is
//!
//! ```text
//! p|s LF createdAt LF expiresAt LF fingerprint LF key LF
//! ```
//!
//! (`p` pending, `s` settled; times are whole milliseconds). Every field ends
//! with a LF, so a record cut short anywhere is refused, never read as a
//! shorter key. The key is a validated header value and no field we write
//! holds a LF. The reader accepts any string another script or version may
//! have left (the codec hands it `""` for what is not an entry), and never
//! panics.

#[allow(unused_imports)]
use crate::prelude::*;

/// The largest integer an f64 holds exactly (2^53 - 1): timestamps are kept within it.
const MAX_SAFE: i64 = (1 << 53) - 1;

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Sent (or about to be) and not known to have succeeded: resend the same key.
    Pending,
    /// Succeeded; kept for the settle window so an identical action replays.
    Settled,
}

/// One stored key.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The idempotency key (raw, not header-formatted).
    pub key: String,
    /// Fingerprint of the request that owns the key; empty when unbound (`keyFor`).
    pub fingerprint: String,
    /// Milliseconds since the epoch.
    pub created_at: f64,
    /// Milliseconds since the epoch after which the entry is ignored and pruned.
    pub expires_at: f64,
    /// Pending or settled.
    pub state: State,
}

impl Entry {
    /// Whether the entry is past its expiry at `now`.
    pub fn expired(&self, now: f64) -> bool {
        now >= self.expires_at
    }

    /// The record stored (module docs).
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(96);
        s.push_str(match self.state {
            State::Pending => "p\n",
            State::Settled => "s\n",
        });
        push_int(&mut s, self.created_at);
        s.push_str("\n");
        push_int(&mut s, self.expires_at);
        s.push_str("\n");
        s.push_str(&self.fingerprint);
        s.push_str("\n");
        s.push_str(&self.key);
        s.push_str("\n");
        s
    }

    /// Reads a record; `None` for anything that is not a complete one with a
    /// usable key (a non-empty header value: it goes straight into a header).
    pub fn decode(text: &str) -> Option<Entry> {
        let (state, rest) = line(text)?;
        let state = match state {
            "p" => State::Pending,
            "s" => State::Settled,
            _ => return None,
        };
        let (created_at, rest) = line(rest)?;
        let (expires_at, rest) = line(rest)?;
        let (fingerprint, rest) = line(rest)?;
        let (key, rest) = line(rest)?;
        let (created_at, expires_at) = (int(created_at)?, int(expires_at)?);
        if !rest.is_empty() || key.is_empty() || !crate::validate::is_header_value(key) {
            return None;
        }
        Some(Entry { key: key.into(), fingerprint: fingerprint.into(), created_at, expires_at, state })
    }
}

/// The text before the first LF, and the text after it (by bytes: no
/// searcher machinery in the module).
fn line(s: &str) -> Option<(&str, &str)> {
    let mut i = 0;
    while *s.as_bytes().get(i)? != b'\n' {
        i += 1;
    }
    debug_assert!(s.is_char_boundary(i) && s.is_char_boundary(i + 1));
    // SAFETY: byte `i` is ASCII, so `i` and `i + 1` are char boundaries
    // within `s` (no boundary checks, which cost code in every caller).
    Some(unsafe { (s.get_unchecked(..i), s.get_unchecked(i + 1..)) })
}

/// Writes the integer part of `v` (timestamps are whole milliseconds; writing
/// them by hand keeps float formatting, ~15 KB of wasm, out of the binary).
pub(crate) fn push_int(out: &mut String, v: f64) {
    // Saturating (NaN -> 0), then clamped to the integers an f64 holds exactly:
    // at most 16 digits, which is what the reader accepts.
    let n = (v as i64).clamp(-MAX_SAFE, MAX_SAFE);
    if n < 0 {
        out.push_str("-");
    }
    let mut digits = [0u8; 20];
    let mut m = n.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (m % 10) as u8;
        }
        m /= 10;
        if m == 0 || i == 0 {
            break;
        }
    }
    // SAFETY: ASCII digits are valid UTF-8 (no validation, no `push(char)`
    // UTF-8 encoder in the module).
    out.push_str(unsafe { core::str::from_utf8_unchecked(digits.get(i..).unwrap_or(&[])) });
}

/// An integer of 1 to 16 digits, optionally negative (what [`push_int`]
/// writes), clamped to the integers an f64 holds exactly. Parsed by hand to
/// keep float parsing out.
fn int(s: &str) -> Option<f64> {
    let (negative, digits) = match s.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    Some(if negative { -v } else { v }.clamp(-MAX_SAFE, MAX_SAFE) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            key: "8e03978e-40d5-43e8-bc93-6894a57f9324".into(),
            fingerprint: "0123456789abcdef".into(),
            created_at: 1_700_000_000_000.0,
            expires_at: 1_700_086_400_000.0,
            state: State::Pending,
        }
    }

    #[test]
    fn b5_round_trip() {
        let e = entry();
        let record = e.encode();
        assert_eq!(record, "p\n1700000000000\n1700086400000\n0123456789abcdef\n8e03978e-40d5-43e8-bc93-6894a57f9324\n");
        assert_eq!(Entry::decode(&record), Some(e));
        let settled = Entry { state: State::Settled, key: "a \"quoted\" \\ key".into(), fingerprint: String::new(), created_at: -5.0, ..entry() };
        assert_eq!(Entry::decode(&settled.encode()), Some(settled));
    }

    #[test]
    fn b10_rejects_corrupt_and_foreign_values() {
        let full = entry().encode();
        for bad in [
            "",
            "{\"key\":\"a\"}",
            "x\n1\n2\n\na\n",
            "p\n1\n2\n\n\n",
            "p\n1\n2\n\na\nb\n",
            "p\n1\n2\n\na\nb",
            "p\n1.5\n2\n\na\n",
            "p\n1e3\n2\n\na\n",
            "p\n-\n2\n\na\n",
            "p\n12345678901234567\n2\n\na\n",
            "p\n1\n2\n\n padded \n",
            "p\n1\n2\n\nk\u{e9}\n",
        ] {
            assert_eq!(Entry::decode(bad), None, "{bad:?}");
        }
        // Every truncation of a valid record is refused (none is read as a
        // shorter key), and none panics.
        for cut in 0..full.len() {
            if let Some(prefix) = full.get(..cut) {
                assert_eq!(Entry::decode(prefix), None, "{prefix:?}");
            }
        }
    }

    #[test]
    fn timestamps_are_clamped_to_what_an_f64_holds_exactly() {
        let e = Entry::decode("s\n9999999999999999\n-9999999999999999\n\nk\n");
        assert_eq!(e.map(|e| (e.created_at, e.expires_at)), Some((9_007_199_254_740_991.0, -9_007_199_254_740_991.0)));
        let mut s = String::new();
        push_int(&mut s, f64::NAN);
        assert_eq!(s, "0");
    }

    #[test]
    fn b7_expiry() {
        let e = entry();
        assert!(!e.expired(e.expires_at - 1.0));
        assert!(e.expired(e.expires_at));
    }
}
