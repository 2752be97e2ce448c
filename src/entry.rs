//! The stored form of a key (SPEC B5): `{ key, fingerprint, createdAt,
//! expiresAt, state }` as JSON, written and read without serde_json (which
//! would cost ~30 KB gzipped for five fields). Reading accepts any string
//! another script or version may have left, and never panics.

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

    /// The JSON text stored.
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(128);
        s.push_str("{\"key\":");
        push_json_string(&mut s, &self.key);
        s.push_str(",\"fingerprint\":");
        push_json_string(&mut s, &self.fingerprint);
        s.push_str(",\"createdAt\":");
        push_int(&mut s, self.created_at);
        s.push_str(",\"expiresAt\":");
        push_int(&mut s, self.expires_at);
        s.push_str(match self.state {
            State::Pending => ",\"state\":\"pending\"}",
            State::Settled => ",\"state\":\"settled\"}",
        });
        s
    }

    /// Parses stored text; `None` for anything that is not a complete entry.
    pub fn parse(text: &str) -> Option<Entry> {
        let mut p = Parser { text, s: text.as_bytes(), i: 0 };
        let (mut key, mut fingerprint, mut created, mut expires, mut state) = (None, None, None, None, None);
        p.ws();
        p.eat(b'{')?;
        p.ws();
        if p.peek() == Some(b'}') {
            return None;
        }
        loop {
            p.ws();
            let name = p.string()?;
            p.ws();
            p.eat(b':')?;
            p.ws();
            match name.as_str() {
                "key" => key = Some(p.string()?),
                "fingerprint" => fingerprint = Some(p.string()?),
                "createdAt" => created = Some(p.number()?),
                "expiresAt" => expires = Some(p.number()?),
                "state" => {
                    state = Some(match p.string()?.as_str() {
                        "pending" => State::Pending,
                        "settled" => State::Settled,
                        _ => return None,
                    })
                }
                _ => p.skip_value()?,
            }
            p.ws();
            match p.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
        p.ws();
        if p.i != p.s.len() {
            return None;
        }
        let key = key?;
        if key.is_empty() || !crate::validate::is_header_value(&key) {
            return None;
        }
        Some(Entry {
            key,
            fingerprint: fingerprint?,
            created_at: created?,
            expires_at: expires?,
            state: state?,
        })
    }
}

/// Writes the integer part of `v` (timestamps are whole milliseconds; writing
/// them by hand keeps float formatting, ~15 KB of wasm, out of the binary).
pub(crate) fn push_int(out: &mut String, v: f64) {
    // Saturating (NaN -> 0), then clamped to the integers an f64 holds exactly:
    // at most 16 digits, which is what the reader accepts.
    let n = (v as i64).clamp(-MAX_SAFE, MAX_SAFE);
    if n < 0 {
        out.push('-');
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
    for d in digits.get(i..).unwrap_or(&[]) {
        out.push(char::from(*d));
    }
}

fn push_json_string(out: &mut String, v: &str) {
    out.push('"');
    // By bytes: every byte escaped is ASCII, so the runs between are whole UTF-8.
    let mut run = 0;
    for (i, b) in v.bytes().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            out.push_str(v.get(run..i).unwrap_or(""));
            out.push('\\');
            match b {
                b'"' | b'\\' => out.push(char::from(b)),
                _ => {
                    out.push_str("u00");
                    out.push_str(&crate::hash::hex(&[b]));
                }
            }
            run = i + 1;
        }
    }
    out.push_str(v.get(run..).unwrap_or(""));
    out.push('"');
}

/// A minimal JSON reader for flat objects: strings, numbers, and skipping of
/// literals (nested values make the entry invalid: we never write them).
struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            v = v * 16 + char::from(self.next()?).to_digit(16)?;
        }
        Some(v)
    }
    /// A string: runs between escapes are copied from the text as they are
    /// (cut at ASCII bytes only, so always whole characters; no UTF-8
    /// re-validation).
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = String::new();
        let mut run = self.i;
        loop {
            let at = self.i;
            match self.next()? {
                b'"' => {
                    out.push_str(self.text.get(run..at)?);
                    return Some(out);
                }
                b'\\' => {
                    out.push_str(self.text.get(run..at)?);
                    out.push(match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                self.eat(b'\\')?;
                                self.eat(b'u')?;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return None;
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            char::from_u32(cp)?
                        }
                        _ => return None,
                    });
                    run = self.i;
                }
                c if c < 0x20 => return None,
                _ => {}
            }
        }
    }
    /// An integer of at most 16 digits (we only write whole milliseconds;
    /// anything else is not ours). Parsed by hand to keep float parsing out.
    fn number(&mut self) -> Option<f64> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let mut v: i64 = 0;
        let mut n = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            v = v * 10 + i64::from(d - b'0');
            n += 1;
            self.i += 1;
            if n > 16 {
                return None;
            }
        }
        if n == 0 || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(if negative { -v } else { v }.clamp(-MAX_SAFE, MAX_SAFE) as f64)
    }
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b't' | b'f' | b'n' => {
                while matches!(self.peek(), Some(b'a'..=b'z')) {
                    self.i += 1;
                }
                Some(())
            }
            _ => self.number().map(|_| ()),
        }
    }
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
        let json = e.to_json();
        assert_eq!(
            json,
            "{\"key\":\"8e03978e-40d5-43e8-bc93-6894a57f9324\",\"fingerprint\":\"0123456789abcdef\",\"createdAt\":1700000000000,\"expiresAt\":1700086400000,\"state\":\"pending\"}"
        );
        assert_eq!(Entry::parse(&json), Some(e));
        let settled = Entry { state: State::Settled, key: "a \"quoted\" \\ key".into(), ..entry() };
        assert_eq!(Entry::parse(&settled.to_json()), Some(settled));
    }

    #[test]
    fn b10_tolerates_whitespace_order_and_unknown_fields() {
        let text = r#" { "state" : "settled", "extra": [1], "key":"k\u0041", "fingerprint":"", "createdAt": 1, "expiresAt": 2e3 } "#;
        // Nested values are not ours: refused.
        assert_eq!(Entry::parse(text), None);
        let text = r#" { "state" : "settled", "extra": true, "v": null, "key":"k\u0041", "fingerprint":"", "createdAt": 1, "expiresAt": 2000 } "#;
        let e = Entry::parse(text);
        assert_eq!(e.as_ref().map(|e| e.key.as_str()), Some("kA"));
        assert_eq!(e.map(|e| e.expires_at), Some(2000.0));
    }

    #[test]
    fn b10_rejects_corrupt_and_foreign_values() {
        let full = entry().to_json();
        for bad in [
            "",
            "null",
            "{}",
            "[1,2]",
            "{\"key\":\"a\"}",
            "not json",
            "{\"key\":\"a\",\"fingerprint\":\"\",\"createdAt\":1,\"expiresAt\":2,\"state\":\"weird\"}",
            "{\"key\":\"a\\nb\",\"fingerprint\":\"\",\"createdAt\":1,\"expiresAt\":2,\"state\":\"pending\"}",
            "{\"key\":\"\",\"fingerprint\":\"\",\"createdAt\":1,\"expiresAt\":2,\"state\":\"pending\"}",
            "{\"key\":\"a\",\"fingerprint\":\"\",\"createdAt\":1e3,\"expiresAt\":2,\"state\":\"pending\"}",
            "{\"key\":\"\\ud800\",\"fingerprint\":\"\",\"createdAt\":1,\"expiresAt\":2,\"state\":\"pending\"}",
        ] {
            assert_eq!(Entry::parse(bad), None, "{bad:?}");
        }
        // Every truncation of a valid entry is refused, and none panics.
        for cut in 0..full.len() {
            if let Some(prefix) = full.get(..cut) {
                assert_eq!(Entry::parse(prefix), None, "{prefix:?}");
            }
        }
    }

    #[test]
    fn b7_expiry() {
        let e = entry();
        assert!(!e.expired(e.expires_at - 1.0));
        assert!(e.expired(e.expires_at));
    }
}
