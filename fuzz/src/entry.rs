//! Stored entries read back from a backend (`oncefetch::entry::Entry`).
//!
//! The engine stores an entry as a *record*, one field per line, every line
//! (the last one too) ending with a LF:
//!
//! ```text
//! p|s LF createdAt LF expiresAt LF fingerprint LF key LF
//! ```
//!
//! (`p` pending, `s` settled; times are integers of 1 to 16 ASCII digits,
//! optionally negative, clamped to ±(2^53 - 1); the key comes last and is a
//! non-empty header value; nothing follows its LF). The facade converts
//! records to the SPEC's JSON at the localStorage boundary, and hands the
//! engine `""` or any other text for what is not an entry; the memory store
//! keeps records as they are.
//!
//! Anything can sit under our prefix: another script, another version of the
//! library, a truncated write. `Entry::decode` must take any string without
//! panicking, accept only entries it can use (a key that is a valid header
//! value), agree with an independent reader of the record format
//! ([`reference_decode`]) on every input, read back exactly what
//! `Entry::encode` wrote, and refuse every proper prefix of a record the
//! engine writes (a crashed write is never read as another entry, e.g. one
//! with a shorter key).

use arbitrary::Arbitrary;
use oncefetch::entry::{Entry, State};
use oncefetch::validate;

/// The largest timestamp JavaScript represents exactly (`Number.MAX_SAFE_INTEGER`):
/// the domain of `createdAt` / `expiresAt`, which come from `Date.now()` (+ a TTL).
pub const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// Whether `v` is a timestamp the stored form must carry exactly.
pub fn in_domain(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_SAFE
}

/// `entry_parse`: any bytes, as the string a backend hands back.
pub fn parse(data: &[u8]) {
    // localStorage holds UTF-16; wasm-bindgen hands Rust the lossy UTF-8 of it.
    let text = String::from_utf8_lossy(data);
    let decoded = Entry::decode(&text);
    let reference = reference_decode(&text);
    // Differential: the engine's reader and the reference agree on every input.
    assert_eq!(decoded.as_ref(), reference.as_ref().map(|r| &r.entry), "decode disagrees with the reference reader on {text:?}");
    let (Some(e), Some(r)) = (&decoded, &reference) else { return };
    // PartialEq on f64 cannot tell -0.0 from 0.0.
    assert_eq!(
        (e.created_at.to_bits(), e.expires_at.to_bits()),
        (r.entry.created_at.to_bits(), r.entry.expires_at.to_bits()),
        "decode and the reference read different timestamps (sign of zero) from {text:?}"
    );
    // Only usable entries come out: the key goes straight into a header.
    assert!(validate::key(&e.key).is_ok(), "decode accepted an unusable key {:?} from {text:?}", e.key);
    assert!(!e.fingerprint.contains('\n'), "decode produced a fingerprint holding a LF from {text:?}");
    for v in [e.created_at, e.expires_at] {
        assert!(in_domain(v), "decode produced a timestamp {v} that is not a safe integer from {text:?}");
    }
    // What we read, we can write back and read again unchanged (settle() does exactly that).
    let record = e.encode();
    let again = Entry::decode(&record);
    assert_eq!(again.as_ref(), Some(e), "encode(decode(x)) does not decode back, x = {text:?}, record {record:?}");
    // A record spelled as the engine spells it is written back byte for byte.
    if r.canonical {
        assert_eq!(record, text, "a canonical record is not written back as it was read");
    }
}

/// What [`reference_decode`] reads.
#[derive(Debug)]
pub struct Read {
    /// The entry.
    pub entry: Entry,
    /// Whether the text is exactly how the engine writes that entry (its
    /// numbers have no leading zeros, no `-0`, and were not clamped).
    pub canonical: bool,
}

/// A reader of the record format written from its description alone, with
/// std only, to check `Entry::decode` against: exactly five lines, each
/// ending with a LF (split on LF, the text gives six parts, the last one
/// empty: a missing final LF, or anything after it, is refused); the state
/// letter; two integers of 1 to 16 ASCII digits after an optional `-`, read
/// with `str::parse::<i64>` and clamped to ±(2^53 - 1); the fingerprint as
/// is; a key that is non-empty, only visible ASCII, space and tab, and
/// neither starts nor ends with space or tab.
pub fn reference_decode(text: &str) -> Option<Read> {
    let parts: Vec<&str> = text.split('\n').collect();
    let [state, created, expires, fingerprint, key, ""] = parts.as_slice() else { return None };
    let state = match *state {
        "p" => State::Pending,
        "s" => State::Settled,
        _ => return None,
    };
    let (created_at, created_canonical) = reference_int(created)?;
    let (expires_at, expires_canonical) = reference_int(expires)?;
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = key.as_bytes();
    let key_ok = !bytes.is_empty()
        && bytes.iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
        && !bytes.first().is_some_and(ows)
        && !bytes.last().is_some_and(ows);
    if !key_ok {
        return None;
    }
    Some(Read {
        entry: Entry { key: (*key).to_owned(), fingerprint: (*fingerprint).to_owned(), created_at, expires_at, state },
        canonical: created_canonical && expires_canonical,
    })
}

/// An integer field: the value, and whether `s` is how the engine writes it.
fn reference_int(s: &str) -> Option<(f64, bool)> {
    const MAX: i64 = (1 << 53) - 1;
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !(1..=16).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // 16 digits always fit an i64; a leading '-' is read by str::parse.
    let n = s.parse::<i64>().ok()?;
    let clamped = n.clamp(-MAX, MAX);
    Some((clamped as f64, clamped.to_string() == s))
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

/// `entry_roundtrip`: an arbitrary entry, how it is spelled, and where to cut it.
#[derive(Debug, Clone, Arbitrary)]
pub struct EntryCase {
    /// The key (valid or not).
    pub key: String,
    /// The fingerprint (any text; the engine's are lowercase hex or empty).
    pub fingerprint: String,
    /// `createdAt`.
    pub created_at: Stamp,
    /// `expiresAt`.
    pub expires_at: Stamp,
    /// Settled rather than pending.
    pub settled: bool,
    /// Spelling: bit 0 pads both timestamps with leading zeros to 16 digits
    /// (another writer; the reader takes 1 to 16 digits).
    pub layout: u8,
    /// Where to cut the record (modulo its length: always a proper prefix), as
    /// a crashed write would.
    pub cut: u16,
}

/// Round trip, truncations, and reading a zero-padded spelling.
pub fn roundtrip(case: &EntryCase) {
    let e = Entry {
        key: case.key.clone(),
        fingerprint: case.fingerprint.clone(),
        created_at: case.created_at.value(),
        expires_at: case.expires_at.value(),
        state: if case.settled { State::Settled } else { State::Pending },
    };
    let usable_key = validate::key(&e.key).is_ok();
    let one_line_fingerprint = !e.fingerprint.contains('\n');
    let exact = in_domain(e.created_at) && in_domain(e.expires_at);
    let record = e.encode();
    let back = Entry::decode(&record);
    if !usable_key {
        assert_eq!(back, None, "an entry with an unusable key decoded: {record:?}");
    } else if !one_line_fingerprint {
        // Its LF shifts the key into a line of its own: refused, never misread.
        assert_eq!(back, None, "an entry whose fingerprint holds a LF decoded: {record:?}");
    } else if exact {
        // Every entry the engine could write (validated key, Date.now() + a TTL).
        assert_eq!(back.as_ref(), Some(&e), "decode(encode(e)) != e for {record:?}");
    } else {
        // Timestamps outside what Date.now() + a TTL produce: still a usable
        // entry (a lost entry is a key forgotten: keyTtlMs: 1e20), everything
        // else intact, each time its whole part clamped to the safe integers.
        let Some(b) = &back else { panic!("an entry with a usable key does not decode: {record:?}") };
        assert_eq!((&b.key, &b.fingerprint, b.state), (&e.key, &e.fingerprint, e.state), "{record:?}");
        for (got, v) in [(b.created_at, e.created_at), (b.expires_at, e.expires_at)] {
            assert!(in_domain(got), "timestamp {v} decoded as {got}: {record:?}");
            if !v.is_nan() {
                assert_eq!(got, v.trunc().clamp(-MAX_SAFE, MAX_SAFE), "timestamp {v} decoded as {got}: {record:?}");
            }
        }
    }
    // Written canonically: encoding what was decoded gives the same record.
    if let Some(b) = &back {
        assert_eq!(b.encode(), record, "encode(decode(encode(e))) != encode(e)");
    }

    // A crashed write: every proper prefix of a record is refused, wherever
    // the cut falls (before a LF, just after one, inside the key, or just
    // before the final LF: never read as a shorter key). Checked at every LF
    // and the byte after it, the key's middle, and `case.cut`. (Only for
    // records the engine writes: a key or fingerprint holding a LF is never
    // written, and cutting one can leave a record of another entry.)
    if back.is_some() && usable_key && one_line_fingerprint {
        let body = record.strip_suffix('\n').unwrap_or(&record);
        let key_start = body.rfind('\n').map_or(0, |i| i + 1);
        let mut cuts: Vec<usize> = record.match_indices('\n').flat_map(|(i, _)| [i, i + 1]).collect();
        cuts.extend([0, (key_start + record.len()) / 2, record.len() - 1, usize::from(case.cut) % record.len()]);
        for cut in cuts.into_iter().filter(|&c| c < record.len()) {
            // Cuts fall on char boundaries here (LFs and the key are ASCII);
            // `case.cut` may not, inside a fingerprint of any text.
            let Some(prefix) = record.get(..cut) else { continue };
            assert_eq!(Entry::decode(prefix), None, "a record cut short at {cut} of {} decoded: {prefix:?}", record.len());
        }
        // Nor is anything read past the key's LF: another line after it is refused.
        let longer = format!("{record}{}\n", e.key);
        assert_eq!(Entry::decode(&longer), None, "a record with a line after its key decoded: {longer:?}");
    }

    // Another writer's spelling of the same entry: leading zeros read back equal.
    if usable_key && one_line_fingerprint && exact && case.layout & 1 != 0 {
        let pad = |v: f64| {
            let n = v as i64;
            format!("{}{:016}", if n < 0 { "-" } else { "" }, n.unsigned_abs())
        };
        let state = if case.settled { "s" } else { "p" };
        let text = format!("{state}\n{}\n{}\n{}\n{}\n", pad(e.created_at), pad(e.expires_at), e.fingerprint, e.key);
        assert_eq!(Entry::decode(&text).as_ref(), Some(&e), "a zero-padded record does not decode: {text:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference reader itself, on cases written out by hand (the fuzzer
    /// only checks that it and `Entry::decode` agree).
    #[test]
    fn the_reference_reads_the_record_format() {
        let read = |t: &str| {
            parse(t.as_bytes()); // and Entry::decode agrees
            reference_decode(t).map(|r| (r.entry, r.canonical))
        };
        let e = |state, c: f64, x: f64, fp: &str, key: &str| Entry { key: key.into(), fingerprint: fp.into(), created_at: c, expires_at: x, state };
        assert_eq!(read("p\n1\n2\nab\nk\n"), Some((e(State::Pending, 1.0, 2.0, "ab", "k"), true)));
        assert_eq!(read("p\n1\n2\n\na\n"), Some((e(State::Pending, 1.0, 2.0, "", "a"), true)));
        assert_eq!(read("s\n-5\n0\n\na \"q\" \\ b\n"), Some((e(State::Settled, -5.0, 0.0, "", "a \"q\" \\ b"), true)));
        assert_eq!(read("p\n-0\n007\n\nk\n"), Some((e(State::Pending, 0.0, 7.0, "", "k"), false)));
        assert_eq!(read("p\n9999999999999999\n-9999999999999999\n\nk\n"), Some((e(State::Pending, MAX_SAFE, -MAX_SAFE, "", "k"), false)));
        assert_eq!(read("p\n9007199254740991\n1\n\tx\r\nk\tk\n"), Some((e(State::Pending, MAX_SAFE, 1.0, "\tx\r", "k\tk"), true)));
        for bad in [
            "",
            "\n",
            "{\"key\":\"a\"}",
            // Not terminated: the final LF is missing (a write cut just before it).
            "p\n1\n2\n\na",
            "p\n1\n2\nab\nk",
            "s\n-5\n0\n\na \"q\" \\ b",
            // Cut short further back.
            "p\n1\n2\n\n",
            "p\n1\n2\n",
            "p\n1\n2\na\n",
            // Another line after the key's LF, terminated or not.
            "p\n1\n2\n\na\nb\n",
            "p\n1\n2\n\na\nb",
            "p\n1\n2\n\na\n\n",
            // A LF inside the key: two lines where the key should be.
            "p\n1\n2\n\nk\ney\n",
            // The state letter.
            "x\n1\n2\n\na\n",
            "P\n1\n2\n\na\n",
            // The timestamps.
            "p\n1.5\n2\n\na\n",
            "p\n1e3\n2\n\na\n",
            "p\n+1\n2\n\na\n",
            "p\n--1\n2\n\na\n",
            "p\n-\n2\n\na\n",
            "p\n\n2\n\na\n",
            "p\n 1\n2\n\na\n",
            "p\n1\n2 \n\na\n",
            "p\n12345678901234567\n2\n\na\n",
            "p\n-12345678901234567\n2\n\na\n",
            // The key.
            "p\n1\n2\n\n\n",
            "p\n1\n2\n\n padded\n",
            "p\n1\n2\n\npadded\t\n",
            "p\n1\n2\n\nk\u{e9}\n",
            "p\n1\n2\n\nk\r\n",
            "p\n1\n2\n\nk\u{7f}\n",
            // CRLF line ends.
            "p\r\n1\r\n2\r\n\r\nk\r\n",
        ] {
            assert!(reference_decode(bad).is_none(), "{bad:?}");
            parse(bad.as_bytes());
        }
    }

    /// `roundtrip` on an entry the engine writes, cut at every length and
    /// spelled both ways (the fuzzer varies everything else).
    #[test]
    fn roundtrip_cuts_a_written_record_everywhere() {
        for cut in 0..100 {
            roundtrip(&EntryCase {
                key: "8e03978e-40d5-43e8-bc93-6894a57f9324".into(),
                fingerprint: "0123456789abcdef".into(),
                created_at: Stamp::Safe(1_700_000_000_000),
                expires_at: Stamp::Safe(1_700_086_400_000),
                settled: cut % 2 == 0,
                layout: cut as u8,
                cut,
            });
        }
    }
}
