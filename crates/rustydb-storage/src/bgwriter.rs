//! The background writer: a thread that, every interval, writes a batch of dirty pages whose log
//! records are already durable ([`BufferPool::write_some_dirty`]), so a miss rarely has to write
//! a victim before it can read. Like PostgreSQL's bgwriter (`bgwriter_delay`,
//! `bgwriter_lru_maxpages`). It never flushes the log and stops promptly when dropped.

use crate::buffer_pool::BufferPool;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A running background writer; stopped and joined on drop.
#[derive(Debug)]
pub struct BackgroundWriter {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl BackgroundWriter {
    /// Starts writing up to `batch` pages of `pool` every `interval`.
    pub fn start(pool: Arc<BufferPool>, interval: Duration, batch: usize) -> std::io::Result<Self> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = stop.clone();
        let handle = std::thread::Builder::new().name("rustydb-bgwriter".into()).spawn(move || {
            let (stopped, wake) = &*signal;
            loop {
                {
                    let mut stopped = stopped.lock();
                    if !*stopped {
                        wake.wait_for(&mut stopped, interval);
                    }
                    if *stopped {
                        return;
                    }
                }
                pool.publish_metrics();
                if let Err(e) = pool.write_some_dirty(batch) {
                    // Evictions will hit the same error and report it to a client; keep trying.
                    tracing::warn!(error = %e, "background writer could not write a page");
                }
            }
        })?;
        Ok(BackgroundWriter { stop, handle: Some(handle) })
    }
}

impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock() = true;
        wake.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::{KIND_HEAP, Page};
    use rustydb_foundation::{FileId, PageId};
    use std::time::Instant;

    #[test]
    fn dirty_durable_pages_get_written_in_the_background_and_drop_stops_it() {
        let dir = tempfile::tempdir().unwrap();
        let (log, pool) = crate::test_support::log_and_pool(dir.path(), 32);
        for n in 0..20 {
            let lsn = log.append(b"change").unwrap();
            let mut g = pool.write(PageId::new(FileId(3), n)).unwrap();
            let mut page = Page::new(&mut g);
            page.init(KIND_HEAP);
            page.set_lsn(lsn);
        }
        log.flush_all().unwrap();
        let writer = BackgroundWriter::start(pool.clone(), Duration::from_millis(5), 8).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.dirty_count() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(pool.dirty_count(), 0);
        let started = Instant::now();
        drop(writer);
        assert!(started.elapsed() < Duration::from_secs(2), "stopping took too long");
    }
}
