//! A cursor over hand-written little-endian byte formats (rows, pieces, log records).
//!
//! Every format that reads stored bytes needs the same few steps — take n bytes, read an integer,
//! take the rest, insist that nothing is left over — and each must turn running off the end into
//! a [`DbError::Corruption`] that says *what* was being read and *where*, never a panic: stored
//! bytes are untrusted until their checksum and their structure both agree. [`LeReader`] is that
//! one cursor, so the formats differ only in their fields.

use crate::{DbError, Result};

/// Reads little-endian fields from a byte slice, front to back.
#[derive(Debug, Clone)]
pub struct LeReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> LeReader<'a> {
    /// A reader at the start of `bytes`; `what` names the format in errors ("log record").
    #[inline]
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        LeReader { bytes, pos: 0, what }
    }

    /// The offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        match self.bytes.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(out) => {
                self.pos += n;
                Ok(out)
            }
            None => Err(self.truncated(n)),
        }
    }

    /// The error for a read of `n` bytes past the end (kept out of line: readers are hot).
    #[cold]
    #[inline(never)]
    fn truncated(&self, n: usize) -> DbError {
        self.error(&format!("truncated at byte {} (wanted {n} more)", self.pos))
    }

    /// The next `N` bytes as an array.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// One byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u16.
    #[inline]
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// A little-endian u32.
    #[inline]
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    #[inline]
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Everything not read yet.
    #[inline]
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.pos..];
        self.pos = self.bytes.len();
        out
    }

    /// Succeeds only if every byte was read (trailing bytes are corruption).
    pub fn finish(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.error(&format!("{n} trailing bytes"))),
        }
    }

    /// A corruption error about this format.
    pub fn error(&self, detail: &str) -> DbError {
        DbError::Corruption(format!("{}: {detail}", self.what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_in_order_and_reports_truncation_and_trailing_bytes() {
        let mut bytes = vec![7u8];
        bytes.extend_from_slice(&0xBEEFu16.to_le_bytes());
        bytes.extend_from_slice(&0xDEAD_BEEFu32.to_le_bytes());
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        bytes.extend_from_slice(b"tail");
        let mut r = LeReader::new(&bytes, "test record");
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.u16().unwrap(), 0xBEEF);
        assert_eq!(r.u32().unwrap(), 0xDEAD_BEEF);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert_eq!(r.position(), 15);
        let err = r.finish().unwrap_err().to_string();
        assert!(err.contains("test record") && err.contains("4 trailing bytes"), "{err}");
        let mut copy = r.clone();
        assert_eq!(copy.take(4).unwrap(), b"tail");
        copy.finish().unwrap();
        assert_eq!(r.rest(), b"tail");
        assert_eq!(r.rest(), b"");
        let err = r.u32().unwrap_err();
        assert!(matches!(&err, DbError::Corruption(m) if m.contains("truncated at byte 19")), "{err}");
        assert!(r.take(usize::MAX).is_err(), "an absurd length is an error, not an overflow");
    }
}
