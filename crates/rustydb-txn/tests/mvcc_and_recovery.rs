//! MVCC visibility, write conflicts, and recovery after a crash that loses every unflushed page.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_foundation::{FileId, SqlState};
use rustydb_storage::StorageEngine;
use rustydb_txn::{IsolationLevel, TxnManager, recover};
use std::path::Path;
use std::sync::Arc;

const TABLE: FileId = FileId(100);

fn open(dir: &Path) -> TxnManager {
    let storage = Arc::new(StorageEngine::open(dir, 64).unwrap());
    let status = recover(&storage).unwrap().status;
    TxnManager::new(storage, status)
}

fn visible_rows(tm: &TxnManager, txn: &mut rustydb_txn::Transaction) -> Vec<Vec<u8>> {
    let heap = tm.storage().heap(TABLE).unwrap();
    let snap = tm.statement_snapshot(txn);
    let mut rows: Vec<Vec<u8>> = (0..heap.page_count())
        .flat_map(|n| tm.visible_on_page(txn, &snap, &heap, n).unwrap())
        .map(|(_, body)| body)
        .collect();
    rows.sort();
    rows
}

#[test]
fn uncommitted_rows_are_private_until_commit() {
    let dir = tempfile::tempdir().unwrap();
    let tm = open(dir.path());
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut writer = tm.begin(IsolationLevel::ReadCommitted);
    tm.insert(&mut writer, &heap, b"a").unwrap();
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    let mut repeatable = tm.begin(IsolationLevel::RepeatableRead);
    assert_eq!(visible_rows(&tm, &mut writer), vec![b"a".to_vec()]);
    assert!(visible_rows(&tm, &mut reader).is_empty());
    assert!(visible_rows(&tm, &mut repeatable).is_empty());
    tm.commit(writer).unwrap();
    assert_eq!(visible_rows(&tm, &mut reader), vec![b"a".to_vec()], "read committed sees the commit");
    assert!(visible_rows(&tm, &mut repeatable).is_empty(), "repeatable read keeps its snapshot");
}

#[test]
fn rollback_hides_inserts_and_restores_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let tm = open(dir.path());
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t1 = tm.begin(IsolationLevel::ReadCommitted);
    let tid = tm.insert(&mut t1, &heap, b"keep").unwrap();
    tm.commit(t1).unwrap();
    let mut t2 = tm.begin(IsolationLevel::ReadCommitted);
    tm.insert(&mut t2, &heap, b"gone").unwrap();
    assert!(tm.delete(&mut t2, &heap, tid).unwrap());
    assert!(!tm.delete(&mut t2, &heap, tid).unwrap(), "second delete by the same txn is a no-op");
    assert_eq!(visible_rows(&tm, &mut t2), vec![b"gone".to_vec()], "own insert visible, own delete hidden");
    tm.abort(t2);
    let mut t3 = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(visible_rows(&tm, &mut t3), vec![b"keep".to_vec()]);
}

#[test]
fn concurrent_delete_is_a_serialization_failure() {
    let dir = tempfile::tempdir().unwrap();
    let tm = open(dir.path());
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t0 = tm.begin(IsolationLevel::ReadCommitted);
    let tid = tm.insert(&mut t0, &heap, b"row").unwrap();
    tm.commit(t0).unwrap();
    let mut a = tm.begin(IsolationLevel::ReadCommitted);
    let mut b = tm.begin(IsolationLevel::ReadCommitted);
    assert!(tm.delete(&mut a, &heap, tid).unwrap());
    let err = tm.delete(&mut b, &heap, tid).unwrap_err();
    assert_eq!(err.sqlstate(), SqlState::SerializationFailure);
    assert!(tm.may_be_live(&b, &heap, tid).unwrap(), "a's delete is not committed yet");
    tm.abort(a);
    assert!(tm.delete(&mut b, &heap, tid).unwrap(), "an aborted deleter leaves the row deletable");
    tm.commit(b).unwrap();
}

#[test]
fn recovery_keeps_committed_and_drops_uncommitted_work() {
    let dir = tempfile::tempdir().unwrap();
    {
        let tm = open(dir.path());
        let heap = tm.storage().heap(TABLE).unwrap();
        let mut committed = tm.begin(IsolationLevel::ReadCommitted);
        for i in 0..300u32 {
            tm.insert(&mut committed, &heap, &i.to_le_bytes()).unwrap();
        }
        tm.commit(committed).unwrap();
        let mut deleter = tm.begin(IsolationLevel::ReadCommitted);
        let first = heap.scan_page(0).unwrap()[0].0;
        tm.delete(&mut deleter, &heap, first).unwrap();
        tm.commit(deleter).unwrap();
        let mut loser = tm.begin(IsolationLevel::ReadCommitted);
        tm.insert(&mut loser, &heap, b"uncommitted").unwrap();
        tm.storage().log().flush_all().unwrap();
        // Crash: no page is ever written; only the log survives.
        std::mem::forget(tm);
    }
    // The forgotten engine still holds the directory lock in this process, as a crashed process
    // would not: recover from a copy of the files instead.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let tm = open(copy.path());
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    let rows = visible_rows(&tm, &mut reader);
    assert_eq!(rows.len(), 299);
    assert!(!rows.contains(&0u32.to_le_bytes().to_vec()));
    assert!(!rows.contains(&b"uncommitted".to_vec()));
    // New transactions get ids above every id in the log.
    let mut next = tm.begin(IsolationLevel::ReadCommitted);
    assert!(next.id().0 > 5);
    let heap = tm.storage().heap(TABLE).unwrap();
    tm.insert(&mut next, &heap, b"after").unwrap();
    tm.commit(next).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
