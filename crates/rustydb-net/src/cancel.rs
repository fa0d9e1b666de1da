//! CancelRequest: a client (psql on Ctrl-C) opens a new connection and sends the process id
//! and secret key it got in BackendKeyData; the statement running on that connection stops
//! with 57014. Connections register their key and their session's cancel flag here at
//! startup and leave when they end. A request whose key does not match is ignored without a
//! word, as in PostgreSQL, so keys cannot be probed.

use async_trait::async_trait;
use parking_lot::Mutex;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The live connections' cancel keys and flags, by process id.
#[derive(Debug, Default)]
pub struct CancelRegistry {
    live: Mutex<HashMap<i32, (SecretKey, Arc<AtomicBool>)>>,
}

impl CancelRegistry {
    /// Registers connection `pid`.
    pub fn register(&self, pid: i32, key: SecretKey, flag: Arc<AtomicBool>) {
        self.live.lock().insert(pid, (key, flag));
    }

    /// Forgets connection `pid` (it ended).
    pub fn unregister(&self, pid: i32) {
        self.live.lock().remove(&pid);
    }

    /// Cancels every running statement (a shutdown's grace period has passed).
    pub fn cancel_all(&self) {
        for (_, flag) in self.live.lock().values() {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Cancels `pid`'s running statement if `key` is its key; true if it was.
    pub fn cancel(&self, pid: i32, key: &SecretKey) -> bool {
        let live = self.live.lock();
        match live.get(&pid) {
            Some((expected, flag)) if key_bytes(expected) == key_bytes(key) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }
}

/// A key's bytes: a CancelRequest arrives on a fresh connection whose protocol version is not
/// known, so its key may decode as bytes where BackendKeyData sent a 32-bit integer.
fn key_bytes(key: &SecretKey) -> Vec<u8> {
    match key {
        SecretKey::I32(v) => v.to_be_bytes().to_vec(),
        SecretKey::Bytes(b) => b.to_vec(),
    }
}

/// Serves the CancelRequest of a connection opened only to send one.
#[derive(Debug)]
pub struct CancelRequests(pub Arc<CancelRegistry>);

#[async_trait]
impl CancelHandler for CancelRequests {
    async fn on_cancel_request(&self, request: CancelRequest) {
        if !self.0.cancel(request.pid, &request.secret_key) {
            tracing::debug!(pid = request.pid, "cancel request for no running connection, or with the wrong key");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_key_cancels() {
        let registry = CancelRegistry::default();
        let flag = Arc::new(AtomicBool::new(false));
        registry.register(7, SecretKey::I32(42), flag.clone());
        assert!(!registry.cancel(7, &SecretKey::I32(41)));
        assert!(!registry.cancel(8, &SecretKey::I32(42)));
        assert!(!flag.load(Ordering::Relaxed));
        assert!(registry.cancel(7, &SecretKey::Bytes(bytes::Bytes::from_static(&[0, 0, 0, 42]))));
        assert!(flag.load(Ordering::Relaxed));
        registry.unregister(7);
        assert!(!registry.cancel(7, &SecretKey::I32(42)));
    }
}
