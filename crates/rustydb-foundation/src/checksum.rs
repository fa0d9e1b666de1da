//! CRC-32C (Castagnoli) checksums: what PostgreSQL's WAL, RocksDB and ext4 use, hardware
//! accelerated on x86 (SSE4.2) and aarch64. The `crc32c` crate does the arithmetic.

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    ::crc32c::crc32c(bytes)
}

/// CRC-32C of several byte ranges, as if they were concatenated.
pub fn crc32c_parts(parts: &[&[u8]]) -> u32 {
    parts.iter().fold(0, |crc, part| ::crc32c::crc32c_append(crc, part))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_parts_agree() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c_parts(&[b"1234", b"56789"]), crc32c(b"123456789"));
    }
}
