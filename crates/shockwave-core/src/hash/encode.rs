//! The byte encoding of everything that enters a hash, written once: each value says how it is
//! encoded ([`Encode`]), and a fingerprint is the sequence of its fields. Every variable-length
//! value carries its length and every list its count, so no two different fingerprints encode to
//! the same bytes (moving a byte from one field to the next changes the encoding).
//!
//! Changing any encoding here changes every task hash: bump `FINGERPRINT_VERSION` with it, and the
//! golden tests in `hash` say when that is needed.

use bstr::BStr;

/// Feeds encoded values into a blake3 hasher. Values are small (a length, a path, an object
/// id), so they are gathered into a buffer first: blake3 hashes large inputs several chunks at
/// a time with SIMD, and each tiny update would cost a call and a copy of its own. The digest
/// does not depend on how the input is split.
#[derive(Clone)]
pub struct Encoder {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

/// The buffer is handed to the hasher when it would grow past this: 16 blake3 chunks, the most
/// its widest SIMD path hashes at once.
const FLUSH_AT: usize = 16 * 1024;

impl Encoder {
    /// A hasher whose input starts with `domain`, so hashes of different kinds never coincide.
    pub fn new(domain: &[u8]) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(domain);
        Encoder {
            hasher: h,
            buf: Vec::new(),
        }
    }

    pub fn put<T: Encode + ?Sized>(&mut self, value: &T) -> &mut Self {
        value.encode(self);
        self
    }

    pub fn finish(&self) -> blake3::Hash {
        let mut h = self.hasher.clone();
        h.update(&self.buf);
        h.finalize()
    }

    /// Hands the buffer to the hasher and frees it, for an encoder kept while others are made.
    pub fn compact(&mut self) {
        self.hasher.update(&self.buf);
        self.buf = Vec::new();
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > FLUSH_AT {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        if bytes.len() >= FLUSH_AT {
            self.hasher.update(bytes);
        } else {
            // Small to start with (most encoders hash a key or a list of needs), doubling up to
            // FLUSH_AT for long file lists.
            if self.buf.capacity() == 0 {
                self.buf.reserve(256);
            }
            self.buf.extend_from_slice(bytes);
        }
    }
}

/// How one kind of value is written into a hash.
pub trait Encode {
    fn encode(&self, e: &mut Encoder);
}

/// Bytes: length (u64 LE), then the bytes.
impl Encode for [u8] {
    fn encode(&self, e: &mut Encoder) {
        e.raw(&(self.len() as u64).to_le_bytes());
        e.raw(self);
    }
}

impl Encode for str {
    fn encode(&self, e: &mut Encoder) {
        self.as_bytes().encode(e)
    }
}

impl Encode for String {
    fn encode(&self, e: &mut Encoder) {
        self.as_bytes().encode(e)
    }
}

impl Encode for BStr {
    fn encode(&self, e: &mut Encoder) {
        let bytes: &[u8] = self;
        bytes.encode(e)
    }
}

/// Object ids are length-prefixed: SHA-1 and SHA-256 ids differ in size.
impl Encode for gix::oid {
    fn encode(&self, e: &mut Encoder) {
        self.as_bytes().encode(e)
    }
}

/// Fixed-size values are written as they are.
impl Encode for u32 {
    fn encode(&self, e: &mut Encoder) {
        e.raw(&self.to_le_bytes());
    }
}

impl Encode for blake3::Hash {
    fn encode(&self, e: &mut Encoder) {
        e.raw(self.as_bytes());
    }
}

impl Encode for super::EnvDigest {
    fn encode(&self, e: &mut Encoder) {
        e.raw(self.as_bytes());
    }
}

/// Lists: count (u64 LE), then each element.
impl<T: Encode> Encode for [T] {
    fn encode(&self, e: &mut Encoder) {
        e.raw(&(self.len() as u64).to_le_bytes());
        for item in self {
            item.encode(e);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, e: &mut Encoder) {
        self.as_slice().encode(e)
    }
}

/// Optional values: a tag byte (0 absent, 1 present), then the value.
impl<T: Encode> Encode for Option<T> {
    fn encode(&self, e: &mut Encoder) {
        match self {
            Some(v) => {
                e.raw(&[1]);
                v.encode(e);
            }
            None => e.raw(&[0]),
        }
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, e: &mut Encoder) {
        (**self).encode(e)
    }
}

/// Tuples: their elements in order.
impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, e: &mut Encoder) {
        self.0.encode(e);
        self.1.encode(e);
    }
}

impl<A: Encode, B: Encode, C: Encode> Encode for (A, B, C) {
    fn encode(&self, e: &mut Encoder) {
        self.0.encode(e);
        self.1.encode(e);
        self.2.encode(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_does_not_depend_on_how_the_input_is_split() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = blake3::Hasher::new();
        whole.update(b"d").update(&data);
        let want = whole.finalize();
        for piece in [1, 37, 1000, FLUSH_AT - 1, FLUSH_AT, FLUSH_AT + 1, 70_000] {
            let mut e = Encoder::new(b"d");
            for (i, part) in data.chunks(piece).enumerate() {
                e.raw(part);
                if i == 3 {
                    e.compact();
                }
            }
            assert_eq!(e.clone().finish(), want, "pieces of {piece}");
            assert_eq!(e.finish(), want);
        }
    }
}
