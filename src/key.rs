//! Idempotency keys: UUID v4 text from 16 CSPRNG bytes (SPEC B1).

#[allow(unused_imports)]
use crate::prelude::*;

use crate::hash::push_hex;

/// Formats 16 random bytes as a UUID v4 (RFC 9562: version 4, variant 10).
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    // Dashes before bytes 4, 6, 8 and 10: the bits of this mask (a plain
    // loop, not enumerate()).
    let mut dashes: u32 = 0b101_0101_0000;
    for byte in &b {
        if dashes & 1 != 0 {
            out.push_str("-");
        }
        dashes >>= 1;
        push_hex(&mut out, &[*byte]);
    }
    out
}

/// Cuts a key to its first 8 bytes for events and logs (SPEC B11): 8
/// characters, as keys are ASCII (UUIDs, or validated header values); a
/// character cut in two is left out.
pub fn short(key: &str) -> &str {
    let mut end = key.len().min(8);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    key.get(..end).unwrap_or("")
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
        assert_eq!(short("abcdefgé"), "abcdefg", "a character cut in two is left out");
    }
}
