//! The log device under crashes: whatever was flushed survives any crash; what survives beyond
//! that is a clean prefix of what was appended; a flipped bit ends the log at that record.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_foundation::Lsn;
use rustydb_storage::LogDevice;
use rustydb_testkit::{SimVfs, shared};
use std::path::Path;

fn replay(log: &LogDevice) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    log.replay(Lsn(0), |r| {
        out.push(r.payload);
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn flushed_records_survive_every_crash_and_the_rest_is_a_clean_prefix() {
    for seed in 0..60u64 {
        let vfs = SimVfs::new();
        let dir = Path::new("/wal");
        let log = LogDevice::open_with_segment_size(shared(vfs.clone()), dir, 4096).unwrap();
        let mut appended = Vec::new();
        let mut flushed = 0;
        for i in 0..(40 + seed as usize % 50) {
            let payload = vec![(i % 251) as u8; 1 + (i * 37 + seed as usize) % 700];
            let lsn = log.append(&payload).unwrap();
            appended.push(payload);
            if (i as u64 + seed).is_multiple_of(7) {
                log.flush_to(lsn).unwrap();
                flushed = appended.len();
            }
        }
        let crashed = vfs.crash(seed);
        let reopened = LogDevice::open_with_segment_size(shared(crashed), dir, 4096).unwrap();
        let got = replay(&reopened);
        assert!(got.len() >= flushed, "seed {seed}: {} records back, {flushed} were flushed", got.len());
        assert_eq!(got[..], appended[..got.len()], "seed {seed}: replay is not a prefix of what was appended");
        // The device continues after the recovered end.
        let lsn = reopened.append(b"after").unwrap();
        reopened.flush_to(lsn).unwrap();
        assert_eq!(replay(&reopened).last().unwrap(), b"after");
    }
}

#[test]
fn a_flipped_bit_ends_the_log_at_the_damaged_record() {
    let vfs = SimVfs::new();
    let dir = Path::new("/wal");
    let log = LogDevice::open(shared(vfs.clone()), dir).unwrap();
    for i in 0..10u8 {
        log.append(&[i; 100]).unwrap();
    }
    log.flush_all().unwrap();
    drop(log);
    // Record 5 starts at 5 * 108; flip a bit inside its payload.
    assert!(vfs.flip_bit(&dir.join(format!("{:016x}", 0)), 5 * 108 + 50, 3));
    let reopened = LogDevice::open(shared(vfs), dir).unwrap();
    let got = replay(&reopened);
    assert_eq!(got.len(), 5);
    assert!(got.iter().enumerate().all(|(i, r)| r == &vec![i as u8; 100]));
}
