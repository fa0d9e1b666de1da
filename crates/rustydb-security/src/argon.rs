//! Argon2id hashes for passwords checked outside the wire protocol (REST Basic credentials,
//! the embedded API's password logins).
//!
//! A wire login must be checked against the SCRAM verifier (the exchange needs its keys); a
//! login that hands the password over directly can be checked against a memory-hard hash
//! instead, which makes a stolen catalog far slower to attack than PBKDF2's 4096 rounds. Both
//! are made when the password is set; a role whose password was given as a ready verifier
//! (a restored dump) has no Argon2 hash and falls back to the verifier.
//!
//! Stored in the PHC string format (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`, unpadded
//! base64) with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane); the salt is 16 random
//! bytes from ring. Checking recomputes the hash with the stored parameters and compares in
//! constant time.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use rustydb_foundation::{DbError, Result};

const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;

fn derive(password: &str, salt: &[u8], m: u32, t: u32, p: u32, len: usize) -> Result<Vec<u8>> {
    let params = Params::new(m, t, p, Some(len)).map_err(|e| DbError::Internal(format!("argon2 parameters: {e}")))?;
    let mut out = vec![0u8; len];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| DbError::Internal(format!("argon2: {e}")))?;
    Ok(out)
}

/// A new hash of `password`, with a fresh salt.
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new().fill(&mut salt).map_err(|_| DbError::Internal("no randomness for a salt".into()))?;
    let out = derive(password, &salt, MEMORY_KIB, PASSES, LANES, HASH_LEN)?;
    Ok(format!(
        "$argon2id$v=19$m={MEMORY_KIB},t={PASSES},p={LANES}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// Whether `password` is the one `stored` was made from (false for anything unparsable).
pub fn check(stored: &str, password: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let ["", "argon2id", "v=19", params, salt, expected] = parts.as_slice() else { return false };
    let mut m = None;
    let mut t = None;
    let mut p = None;
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => m = v.parse::<u32>().ok(),
            Some(("t", v)) => t = v.parse::<u32>().ok(),
            Some(("p", v)) => p = v.parse::<u32>().ok(),
            _ => return false,
        }
    }
    let (Some(m), Some(t), Some(p)) = (m, t, p) else { return false };
    let (Ok(salt), Ok(expected)) = (STANDARD_NO_PAD.decode(salt), STANDARD_NO_PAD.decode(expected)) else {
        return false;
    };
    // Parameters this far from ours are not ours: refuse rather than spend unbounded memory.
    if m > 1 << 20 || t > 64 || p > 16 || expected.is_empty() || expected.len() > 64 {
        return false;
    }
    let Ok(actual) = derive(password, &salt, m, t, p, expected.len()) else { return false };
    actual.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_checks_its_password_only() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(check(&h, "correct horse"));
        assert!(!check(&h, "correct horse "));
        assert_ne!(hash("correct horse").unwrap(), h, "salted");
        assert!(!check("$argon2id$v=19$m=999999999,t=1,p=1$AAAA$AAAA", "x"));
        assert!(!check("SCRAM-SHA-256$4096:abc$def:ghi", "x"));
    }
}
