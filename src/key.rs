//! Idempotency keys: UUID v4 text from 16 CSPRNG bytes (SPEC B1).

#[allow(unused_imports)]
use crate::prelude::*;

use crate::hash::hex;

/// Formats 16 random bytes as a UUID v4 (RFC 9562: version 4, variant 10).
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    let part = |r: core::ops::Range<usize>| h.get(r).unwrap_or("");
    [part(0..8), "-", part(8..12), "-", part(12..16), "-", part(16..20), "-", part(20..32)].concat()
}

/// Cuts a key to its first 8 characters for events and logs (SPEC B11).
pub fn short(key: &str) -> &str {
    key.char_indices().nth(8).and_then(|(i, _)| key.get(..i)).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b1_uuid_v4_shape() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let u = uuid_v4([0; 16]);
        assert_eq!(u, "00000000-0000-4000-8000-000000000000");
    }

    #[test]
    fn b11_keys_are_cut_to_8() {
        assert_eq!(short("8e03978e-40d5"), "8e03978e");
        assert_eq!(short("abc"), "abc");
    }
}
