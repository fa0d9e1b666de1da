//! Both I/O backends pass the same suite: pread/pwrite (PosixVfs) and io_uring (UringVfs, where
//! the kernel and sandbox allow it; otherwise the fallback is checked to say why).

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_foundation::{FileId, Lsn};
use rustydb_storage::{IoBackend, LogDevice, PosixVfs, StorageEngine, StorageOptions, UringVfs, Vfs, choose_vfs};
use std::sync::Arc;

fn backends() -> Vec<(&'static str, Arc<dyn Vfs>)> {
    let mut all: Vec<(&'static str, Arc<dyn Vfs>)> = vec![("posix", Arc::new(PosixVfs))];
    match UringVfs::new() {
        Ok(v) => all.push(("io_uring", Arc::new(v))),
        Err(e) => eprintln!("io_uring unavailable here ({e}); running the suite on pread/pwrite only"),
    }
    all
}

#[test]
fn file_semantics_are_the_same_on_every_backend() {
    for (name, vfs) in backends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(vfs.open_existing(&path).unwrap().is_none(), "{name}");
        let f = vfs.open(&path).unwrap();
        f.write_all_at(b"hello world", 0).unwrap();
        f.write_all_at(b"W", 6).unwrap();
        f.write_all_at(&vec![7u8; 100_000], 20).unwrap();
        f.sync_data().unwrap();
        assert_eq!(f.size().unwrap(), 100_020, "{name}");
        let mut buf = [0u8; 11];
        assert_eq!(f.read_at(&mut buf, 0).unwrap(), 11);
        assert_eq!(&buf, b"hello World", "{name}");
        let mut tail = vec![0u8; 64];
        assert_eq!(f.read_full_at(&mut tail, 100_000).unwrap(), 20, "{name}: short read at end of file");
        assert_eq!(f.read_at(&mut tail, 200_000).unwrap(), 0, "{name}: read past the end");
        f.set_len(5).unwrap();
        assert_eq!(f.size().unwrap(), 5);
        assert_eq!(vfs.list(dir.path()).unwrap(), vec!["f".to_string()]);
        vfs.sync_dir(dir.path()).unwrap();
        vfs.remove(&path).unwrap();
        assert!(vfs.open_existing(&path).unwrap().is_none(), "{name}");
    }
}

#[test]
fn the_log_device_round_trips_across_segments_on_every_backend() {
    for (name, vfs) in backends() {
        let dir = tempfile::tempdir().unwrap();
        let payloads: Vec<Vec<u8>> = (0..500u32).map(|i| vec![(i % 255) as u8; 1 + (i as usize * 13) % 900]).collect();
        {
            let log = LogDevice::open_with_segment_size(vfs.clone(), dir.path(), 8192).unwrap();
            for p in &payloads {
                log.append(p).unwrap();
            }
            log.flush_all().unwrap();
        }
        let log = LogDevice::open_with_segment_size(vfs.clone(), dir.path(), 8192).unwrap();
        let mut got = Vec::new();
        log.replay(Lsn(0), |r| {
            got.push(r.payload);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, payloads, "{name}");
    }
}

/// Heaps of small, large (chained) and updated (moved) tuples survive eviction and reopen on every
/// backend, at the smallest and a larger page size, with and without direct I/O.
#[test]
fn heaps_survive_eviction_and_reopen_on_every_backend() {
    let value = |i: usize, round: usize| {
        let len = if i.is_multiple_of(100) { 20_000 } else { 10 + (i + round * 37) % 300 };
        format!("row {i} round {round} ").repeat(len / 12 + 1).into_bytes()
    };
    for (name, vfs) in backends() {
        for (page_size, direct_io) in [(4096, false), (16384, true)] {
            let dir = tempfile::tempdir().unwrap();
            let options =
                || StorageOptions { vfs: vfs.clone(), page_size, direct_io, ..StorageOptions::with_pool_pages(8) };
            let mut tids = Vec::new();
            {
                let engine = StorageEngine::open_with(dir.path(), options()).unwrap();
                let heap = engine.heap(FileId(40)).unwrap();
                for i in 0..1000 {
                    tids.push(heap.insert(&value(i, 0), |_, _| engine.log().append(b"x")).unwrap());
                }
                for (i, tid) in tids.iter().enumerate().step_by(7) {
                    assert!(heap.update(*tid, &value(i, 1), |_| Ok(true), |_, _| engine.log().append(b"u")).unwrap());
                }
                engine.flush().unwrap();
            }
            let engine = StorageEngine::open_with(dir.path(), options()).unwrap();
            assert_eq!(engine.pool().page_size(), page_size);
            let heap = engine.heap(FileId(40)).unwrap();
            for (i, tid) in tids.iter().enumerate() {
                let round = usize::from(i.is_multiple_of(7));
                assert!(heap.get(*tid).unwrap().unwrap() == value(i, round), "{name}, {page_size}: tuple {i}");
            }
            let scanned: usize = (0..heap.page_count()).map(|n| heap.scan_page(n).unwrap().len()).sum();
            assert_eq!(scanned, 1000, "{name}, {page_size}");
        }
    }
}

#[test]
fn concurrent_readers_and_writers_see_their_own_bytes_on_every_backend() {
    for (name, vfs) in backends() {
        let dir = tempfile::tempdir().unwrap();
        let file = vfs.open(&dir.path().join("shared")).unwrap();
        let threads: Vec<_> = (0..16u8)
            .map(|t| {
                let file = file.clone();
                std::thread::spawn(move || {
                    for round in 0..50u64 {
                        let offset = (u64::from(t) * 50 + round) * 4096;
                        let block = vec![t ^ round as u8; 4096];
                        file.write_all_at(&block, offset).unwrap();
                        let mut back = vec![0u8; 4096];
                        assert_eq!(file.read_at(&mut back, offset).unwrap(), 4096);
                        assert_eq!(back, block);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap_or_else(|_| panic!("{name}: a thread failed"));
        }
        file.sync_data().unwrap();
    }
}

#[test]
fn backend_choice_falls_back_or_reports() {
    let (vfs, fallback) = choose_vfs(IoBackend::IoUring);
    match UringVfs::new() {
        Ok(_) => assert_eq!((vfs.name(), fallback), ("io_uring", None)),
        Err(_) => {
            assert_eq!(vfs.name(), "posix");
            assert!(fallback.unwrap().contains("io_uring unavailable"));
        }
    }
    assert_eq!(choose_vfs(IoBackend::Posix).0.name(), "posix");
    assert_eq!(choose_vfs(IoBackend::default()).0.name(), "posix");
}
