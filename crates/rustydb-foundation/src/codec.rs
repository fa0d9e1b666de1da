//! The one place that knows bincode. Everything serialised with serde for internal transport or
//! snapshots goes through [`encode`] / [`decode`], so the format can be swapped in one file
//! (bincode 3.x is a tombstone; 2.0.1 is pinned exactly).
//!
//! Not for page or WAL formats: those are byte tables written by hand.

use crate::{DbError, Result};
use serde::{Serialize, de::DeserializeOwned};

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// Serialises `value`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| DbError::Internal(format!("encoding: {e}")))
}

/// Deserialises a value written by [`encode`]; trailing bytes are corruption.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| DbError::Corruption(format!("decoding: {e}")))?;
    if used != bytes.len() {
        return Err(DbError::Corruption(format!("decoding: {} trailing bytes", bytes.len() - used)));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_trailing_bytes_rejected() {
        let v = (7u64, String::from("x"), vec![1u8, 2]);
        let mut bytes = encode(&v).unwrap();
        assert_eq!(decode::<(u64, String, Vec<u8>)>(&bytes).unwrap(), v);
        bytes.push(0);
        assert!(decode::<(u64, String, Vec<u8>)>(&bytes).is_err());
    }
}
