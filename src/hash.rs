//! SHA-256 and hex helpers shared by action identity and storage keys.

use sha2::{Digest, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
    out
}

/// SHA-256 of the given parts, each followed by a 0 byte so that
/// `("ab", "c")` and `("a", "bc")` never hash alike.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0u8]);
    }
    h.finalize().into()
}

/// The first `n` bytes of `digest` as hex (`n` is clamped to the digest length).
pub fn hex_prefix(digest: &[u8; 32], n: usize) -> String {
    hex(digest.get(..n.min(32)).unwrap_or(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_known_digest() {
        // SHA-256("abc" || 0x00) differs from SHA-256("abc"): the separator is part of the input.
        let d = sha256_parts(&[b"abc"]);
        let plain: [u8; 32] = Sha256::digest(b"abc\0").into();
        assert_eq!(d, plain);
        assert_eq!(hex(&[0x00, 0xff, 0x1a]), "00ff1a");
        assert_eq!(hex_prefix(&d, 4).len(), 8);
    }

    #[test]
    fn separators_prevent_ambiguity() {
        assert_ne!(sha256_parts(&[b"ab", b"c"]), sha256_parts(&[b"a", b"bc"]));
    }
}
