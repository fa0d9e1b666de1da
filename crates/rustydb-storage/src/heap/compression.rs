//! Tuple compression, chosen per table: lz4 (fast, the default, like PostgreSQL's
//! `default_toast_compression = lz4`) or zstd (denser, for cold or archival tables), or none.
//!
//! Only the part of a tuple past its uncompressed prefix is compressed (see [`super::piece`]),
//! and only when the tuple is large enough for it to pay off and the result is smaller.

use rustydb_foundation::{DbError, Result};

/// How a table's large tuples are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Never compressed.
    None,
    /// lz4 (lz4_flex block format).
    #[default]
    Lz4,
    /// zstd at level 3.
    Zstd,
}

/// zstd's default level: a good ratio at several hundred MB/s.
const ZSTD_LEVEL: i32 = 3;

impl Compression {
    /// The code stored in a piece's tag (0 none, 1 lz4, 2 zstd).
    pub(super) fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Lz4 => 1,
            Compression::Zstd => 2,
        }
    }

    pub(super) fn from_code(code: u8) -> Result<Self> {
        match code {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Lz4),
            2 => Ok(Compression::Zstd),
            other => Err(DbError::Corruption(format!("unknown tuple compression method {other}"))),
        }
    }

    /// The method named `name` (`none`, `lz4`, `zstd`), as SQL spells it.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "off" => Some(Compression::None),
            "lz4" => Some(Compression::Lz4),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// The method's SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Compresses `data`; `None` if this method is `None` or the result would not be smaller.
    pub(super) fn compress(self, data: &[u8]) -> Result<Option<Vec<u8>>> {
        let out = match self {
            Compression::None => return Ok(None),
            Compression::Lz4 => lz4_flex::block::compress(data),
            Compression::Zstd => zstd::bulk::compress(data, ZSTD_LEVEL)
                .map_err(|e| DbError::Internal(format!("zstd compression failed: {e}")))?,
        };
        Ok((out.len() < data.len()).then_some(out))
    }

    /// Decompresses `data`, which must expand to exactly `len` bytes.
    pub(super) fn decompress(self, data: &[u8], len: usize) -> Result<Vec<u8>> {
        let out = match self {
            Compression::None => data.to_vec(),
            Compression::Lz4 => lz4_flex::block::decompress(data, len)
                .map_err(|e| DbError::Corruption(format!("lz4-compressed tuple does not decode: {e}")))?,
            Compression::Zstd => zstd::bulk::decompress(data, len)
                .map_err(|e| DbError::Corruption(format!("zstd-compressed tuple does not decode: {e}")))?,
        };
        if out.len() != len {
            return Err(DbError::Corruption(format!(
                "compressed tuple expands to {} bytes, {len} expected",
                out.len()
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_round_trips_and_refuses_garbage() {
        let data: Vec<u8> = (0..10_000u32).flat_map(|i| format!("row {} ", i % 97).into_bytes()).collect();
        for method in [Compression::Lz4, Compression::Zstd] {
            let packed = method.compress(&data).unwrap().expect("repetitive data compresses");
            assert!(packed.len() < data.len() / 3, "{method:?}: {} of {}", packed.len(), data.len());
            assert_eq!(method.decompress(&packed, data.len()).unwrap(), data);
            assert!(method.decompress(&packed[..packed.len() / 2], data.len()).is_err());
            assert_eq!(Compression::from_code(method.code()).unwrap(), method);
            assert_eq!(Compression::parse(method.name()), Some(method));
        }
        assert_eq!(Compression::None.compress(&data).unwrap(), None);
        let noise: Vec<u8> = (0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(Compression::Lz4.compress(&noise).unwrap(), None, "incompressible data stays as it is");
        assert!(Compression::from_code(7).is_err());
    }
}
