//! SHA-256 (FIPS 180-4) and hex helpers shared by oncefetch's action identity
//! and storage keys.
//!
//! A compact SHA-256 (the `sha2` crate's compression function is several
//! times larger in wasm). It hashes every body on the per-call path. The
//! compression function is the plain rolled loop: in Chromium it hashes
//! ~110 MB/s against ~150 MB/s for sixteen rounds unrolled by hand, and is
//! 0.8 KB smaller gzipped — the package's size budget is the tighter one
//! (bench/NOTES.md, seventh pass). Built at `opt-level = "s"` (set for this
//! crate in the release profile; the rest is built at "z", which makes this
//! loop larger here).

#![no_std]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

extern crate alloc;
use alloc::string::String;

#[cfg(test)]
extern crate std;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Incremental SHA-256.
pub struct Sha256 {
    state: [u32; 8],
    block: [u8; 64],
    filled: usize,
    length: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256 {
            state: [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }
}

impl Sha256 {
    /// Feeds `data`: whole 64-byte blocks are compressed straight from the
    /// input, only the tail is buffered.
    pub fn update(&mut self, data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        let mut data = data;
        if self.filled > 0 {
            let taken = copy(self.block.get_mut(self.filled..).unwrap_or(&mut []), data);
            self.filled += taken;
            data = data.get(taken..).unwrap_or(&[]);
            if self.filled < 64 {
                return;
            }
            let block = self.block;
            compress(&mut self.state, &block);
            self.filled = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            if let Ok(block) = <&[u8; 64]>::try_from(block) {
                compress(&mut self.state, block);
            }
        }
        self.filled = copy(&mut self.block, blocks.remainder());
    }

    /// The digest.
    pub fn finalize(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8);
        // Padding: 0x80, zeros up to 56 mod 64, then the length in bits.
        let pad = if self.filled < 56 { 56 - self.filled } else { 120 - self.filled };
        let mut tail = [0u8; 72];
        tail[0] = 0x80;
        self.update(tail.get(..pad).unwrap_or(&[]));
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            copy(chunk, &word.to_be_bytes());
        }
        out
    }
}

/// Copies what fits of `src` into `dst`; returns how many bytes. (No length
/// check to fail, unlike `copy_from_slice`: no panic path in the wasm.)
fn copy(dst: &mut [u8], src: &[u8]) -> usize {
    let mut n = 0;
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
        n += 1;
    }
    n
}

/// One 64-byte block into the state (FIPS 180-4 §6.2.2).
fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [0u32; 64];
    for (wi, c) in w.iter_mut().zip(block.chunks_exact(4)) {
        if let Ok(word) = <[u8; 4]>::try_from(c) {
            *wi = u32::from_be_bytes(word);
        }
    }
    for t in 16..64 {
        // w[t] = σ1(w[t-2]) + w[t-7] + σ0(w[t-15]) + w[t-16]
        if let (Some(&w16), Some(&w15), Some(&w7), Some(&w2)) = (w.get(t - 16), w.get(t - 15), w.get(t - 7), w.get(t - 2)) {
            let s0 = w15.rotate_right(7) ^ w15.rotate_right(18) ^ (w15 >> 3);
            let s1 = w2.rotate_right(17) ^ w2.rotate_right(19) ^ (w2 >> 10);
            if let Some(x) = w.get_mut(t) {
                *x = w16.wrapping_add(s0).wrapping_add(w7).wrapping_add(s1);
            }
        }
    }
    let mut v = *state;
    for (k, wt) in K.iter().zip(w) {
        let [a, b, c, d, e, f, g, h] = v;
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let t1 = h.wrapping_add(s1).wrapping_add((e & f) ^ (!e & g)).wrapping_add(*k).wrapping_add(wt);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let t2 = s0.wrapping_add((a & b) ^ (a & c) ^ (b & c));
        v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
    }
    for (s, x) in state.iter_mut().zip(v) {
        *s = s.wrapping_add(x);
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// Appends the lower-case hex of `bytes` to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    // One-character strings rather than `char`s: `String::push(char)` would
    // bring UTF-8 encoding into the module for ASCII digits.
    const DIGITS: [&str; 16] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"];
    let digit = |n: u8| DIGITS.get(usize::from(n & 0x0f)).copied().unwrap_or("0");
    for b in bytes {
        out.push_str(digit(b >> 4));
        out.push_str(digit(*b));
    }
}

/// SHA-256 of the given parts, each followed by a 0 byte so that
/// `("ab", "c")` and `("a", "bc")` never hash alike.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::default();
    for p in parts {
        h.update(p);
        h.update(&[0u8]);
    }
    h.finalize()
}

/// The first `n` bytes of `digest` as hex (`n` is clamped to the digest length).
pub fn hex_prefix(digest: &[u8; 32], n: usize) -> String {
    hex(digest.get(..n.min(32)).unwrap_or(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;
    use sha2::Digest;

    fn sha(data: &[u8]) -> String {
        let mut h = Sha256::default();
        h.update(data);
        hex(&h.finalize())
    }

    #[test]
    fn fips_180_vectors() {
        assert_eq!(sha(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            sha(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn matches_the_sha2_crate_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let expect = hex(&sha2::Sha256::digest(&data[..len]));
            assert_eq!(sha(&data[..len]), expect, "len {len}");
            let mut h = Sha256::default();
            let (a, b) = data[..len].split_at(len / 3);
            h.update(a);
            h.update(b);
            assert_eq!(hex(&h.finalize()), expect, "split {len}");
        }
    }

    #[test]
    fn separators_prevent_ambiguity() {
        assert_ne!(sha256_parts(&[b"ab", b"c"]), sha256_parts(&[b"a", b"bc"]));
        assert_eq!(hex_prefix(&sha256_parts(&[b"x"]), 4).len(), 8);
    }
}
