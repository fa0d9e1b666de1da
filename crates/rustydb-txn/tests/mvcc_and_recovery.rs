//! MVCC visibility, write conflicts, and recovery after a crash that loses every unflushed page.

#![allow(clippy::unwrap_used)] // Tests assert by unwrapping; a panic is the failure report.

use rustydb_foundation::{FileId, SqlState, TupleId};
use rustydb_storage::StorageEngine;
use rustydb_txn::{Delete, IsolationLevel, Liveness, TxnManager, recover};
use std::path::Path;
use std::sync::Arc;

const TABLE: FileId = FileId(100);

fn open(dir: &Path) -> TxnManager {
    let storage = Arc::new(StorageEngine::open(dir, 64).unwrap());
    let recovered = recover(&storage).unwrap();
    TxnManager::new(storage, recovered.status, recovered.status_file)
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
    assert_eq!(tm.delete(&mut t2, &heap, tid).unwrap(), Delete::Done);
    assert_eq!(tm.delete(&mut t2, &heap, tid).unwrap(), Delete::AlreadyMine, "a second delete is a no-op");
    assert_eq!(visible_rows(&tm, &mut t2), vec![b"gone".to_vec()], "own insert visible, own delete hidden");
    tm.abort(t2);
    let mut t3 = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(visible_rows(&tm, &mut t3), vec![b"keep".to_vec()]);
}

#[test]
fn a_concurrent_writer_is_waited_for_and_then_decides_by_isolation_level() {
    let dir = tempfile::tempdir().unwrap();
    let tm = std::sync::Arc::new(open(dir.path()));
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t0 = tm.begin(IsolationLevel::ReadCommitted);
    let tid = tm.insert(&mut t0, &heap, b"row").unwrap();
    tm.commit(t0).unwrap();

    // The first deleter rolls back: the waiter goes ahead.
    let mut a = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(tm.delete(&mut a, &heap, tid).unwrap(), Delete::Done);
    let b = tm.begin(IsolationLevel::RepeatableRead);
    assert_eq!(tm.liveness(&b, &heap, tid).unwrap(), Liveness::Pending(a.id()), "a's delete is not over");
    let waiter = {
        let (tm, heap) = (tm.clone(), heap.clone());
        std::thread::spawn(move || {
            let mut b = b;
            let outcome = tm.delete(&mut b, &heap, tid);
            (b, outcome)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!waiter.is_finished(), "the second deleter did not wait for the first");
    tm.abort(a);
    let (b, outcome) = waiter.join().unwrap();
    assert_eq!(outcome.unwrap(), Delete::Done, "an aborted deleter leaves the row deletable");

    // b commits its delete: a READ COMMITTED waiter learns the row is gone, a REPEATABLE READ
    // one fails with 40001.
    let waiters: Vec<_> = [IsolationLevel::ReadCommitted, IsolationLevel::RepeatableRead]
        .into_iter()
        .map(|isolation| {
            let (tm, heap) = (tm.clone(), heap.clone());
            let mut other = tm.begin(isolation);
            std::thread::spawn(move || {
                let outcome = tm.delete(&mut other, &heap, tid);
                tm.abort(other);
                outcome
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(waiters.iter().all(|w| !w.is_finished()), "a waiter went ahead of an uncommitted delete");
    tm.commit(b).unwrap();
    let mut outcomes = waiters.into_iter().map(|w| w.join().unwrap());
    assert_eq!(outcomes.next().unwrap().unwrap(), Delete::Gone);
    let err = outcomes.next().unwrap().unwrap_err();
    assert_eq!(err.sqlstate(), SqlState::SerializationFailure);
    assert!(err.to_string().contains("concurrent delete"), "{err}");
}

#[test]
fn recovery_keeps_committed_and_drops_uncommitted_work() {
    let dir = tempfile::tempdir().unwrap();
    let copy = {
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
        // Crash: no page is ever written; only the log survives.
        crash(tm, dir.path())
    };
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

/// A crash of `tm`: its log made durable, no page written after this, and no shutdown. The
/// forgotten engine still holds the directory lock in this process, as a crashed process would
/// not, so recovery runs on a copy of `dir`, which is returned.
fn crash(tm: TxnManager, dir: &Path) -> tempfile::TempDir {
    tm.storage().log().flush_all().unwrap();
    std::mem::forget(tm);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir, copy.path());
    copy
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

#[test]
fn a_rolled_back_update_leaves_no_link_for_a_later_waiter_to_follow() {
    let dir = tempfile::tempdir().unwrap();
    let tm = Arc::new(open(dir.path()));
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t0 = tm.begin(IsolationLevel::ReadCommitted);
    let tid = tm.insert(&mut t0, &heap, b"v1").unwrap();
    tm.commit(t0).unwrap();
    // An update that rolls back: xmax and next set, then aborted.
    let mut updater = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(tm.delete(&mut updater, &heap, tid).unwrap(), Delete::Done);
    let newer = tm.insert(&mut updater, &heap, b"never committed").unwrap();
    tm.link_update(&updater, &heap, tid, newer).unwrap();
    tm.abort(updater);
    // A delete takes the row over; a READ COMMITTED waiter must learn it is gone, not be sent
    // to the rolled-back version.
    let mut deleter = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(tm.delete(&mut deleter, &heap, tid).unwrap(), Delete::Done);
    let waiter = {
        let (tm, heap) = (tm.clone(), heap.clone());
        let mut other = tm.begin(IsolationLevel::ReadCommitted);
        std::thread::spawn(move || {
            let outcome = tm.delete(&mut other, &heap, tid);
            tm.abort(other);
            outcome
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    tm.commit(deleter).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), Delete::Gone);
}

#[test]
fn savepoints_undo_their_work_release_keeps_it_and_recovery_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let copy = {
        let tm = Arc::new(open(dir.path()));
        let heap = tm.storage().heap(TABLE).unwrap();
        let mut t0 = tm.begin(IsolationLevel::ReadCommitted);
        let base = tm.insert(&mut t0, &heap, b"base").unwrap();
        tm.commit(t0).unwrap();

        let mut t = tm.begin(IsolationLevel::RepeatableRead);
        tm.insert(&mut t, &heap, b"top").unwrap();
        tm.savepoint(&mut t, "a");
        tm.insert(&mut t, &heap, b"in a").unwrap();
        assert_eq!(tm.delete(&mut t, &heap, base).unwrap(), Delete::Done);
        tm.savepoint(&mut t, "b");
        tm.insert(&mut t, &heap, b"in b").unwrap();
        assert_eq!(t.mine().len(), 3, "each frame that wrote has its own id");
        assert_eq!(visible_rows(&tm, &mut t), vec![b"in a".to_vec(), b"in b".to_vec(), b"top".to_vec()]);

        // Another writer waits for the rolled-back delete's subtransaction, not the whole one.
        let waiter = {
            let (tm, heap) = (tm.clone(), heap.clone());
            let mut other = tm.begin(IsolationLevel::ReadCommitted);
            std::thread::spawn(move || {
                let outcome = tm.delete(&mut other, &heap, base);
                tm.abort(other);
                outcome
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "the delete in savepoint a is still in progress");
        tm.rollback_to_savepoint(&mut t, "a").unwrap();
        assert_eq!(waiter.join().unwrap().unwrap(), Delete::Done, "the rolled-back delete no longer blocks");
        assert_eq!(visible_rows(&tm, &mut t), vec![b"base".to_vec(), b"top".to_vec()]);
        assert_eq!(t.mine().len(), 1);
        assert_eq!(t.savepoint_depth(), 1, "ROLLBACK TO keeps the savepoint");

        // Work in the same savepoint again, released into the transaction.
        tm.insert(&mut t, &heap, b"again in a").unwrap();
        tm.savepoint(&mut t, "c");
        tm.insert(&mut t, &heap, b"in c").unwrap();
        tm.release_savepoint(&mut t, "a").unwrap();
        assert_eq!(t.savepoint_depth(), 0, "RELEASE closes the later savepoints too");
        let missing = tm.rollback_to_savepoint(&mut t, "c").unwrap_err();
        assert_eq!(missing.sqlstate(), SqlState::InvalidSavepointSpecification);
        assert_eq!(missing.to_string(), "savepoint \"c\" does not exist");
        tm.commit(t).unwrap();

        let mut reader = tm.begin(IsolationLevel::ReadCommitted);
        let expected = vec![b"again in a".to_vec(), b"base".to_vec(), b"in c".to_vec(), b"top".to_vec()];
        assert_eq!(visible_rows(&tm, &mut reader), expected);
        crash(Arc::into_inner(tm).expect("the waiter has let go"), dir.path())
    };
    // Recovery from the log alone reaches the same verdicts: the released subtransactions
    // committed with their transaction, the rolled-back ones did not.
    let tm = open(copy.path());
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    let expected = vec![b"again in a".to_vec(), b"base".to_vec(), b"in c".to_vec(), b"top".to_vec()];
    assert_eq!(visible_rows(&tm, &mut reader), expected);
}

#[test]
fn an_error_inside_a_savepoint_undoes_only_the_innermost_frame() {
    let dir = tempfile::tempdir().unwrap();
    let tm = open(dir.path());
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t = tm.begin(IsolationLevel::ReadCommitted);
    assert!(!tm.abort_innermost(&mut t), "without a savepoint the whole transaction must go");
    tm.insert(&mut t, &heap, b"kept").unwrap();
    tm.savepoint(&mut t, "s");
    tm.insert(&mut t, &heap, b"lost").unwrap();
    assert!(tm.abort_innermost(&mut t));
    assert_eq!(visible_rows(&tm, &mut t), vec![b"kept".to_vec()]);
    tm.commit(t).unwrap();
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(visible_rows(&tm, &mut reader), vec![b"kept".to_vec()]);
    assert_eq!(tm.active_count(), 1, "only the reader is in progress");
}

#[test]
fn recovery_starts_at_the_checkpoint_and_page_images_repair_a_torn_page() {
    let dir = tempfile::tempdir().unwrap();
    let (log_from, rolled_back);
    let copy = {
        let tm = open(dir.path());
        let heap = tm.storage().heap(TABLE).unwrap();
        let mut before = tm.begin(IsolationLevel::ReadCommitted);
        for i in 0..50u32 {
            tm.insert(&mut before, &heap, &i.to_le_bytes()).unwrap();
        }
        tm.commit(before).unwrap();
        let mut aborted = tm.begin(IsolationLevel::ReadCommitted);
        tm.insert(&mut aborted, &heap, b"rolled back before the checkpoint").unwrap();
        rolled_back = aborted.id();
        tm.abort(aborted);
        // In progress across the checkpoint, committed after it.
        let mut across = tm.begin(IsolationLevel::ReadCommitted);
        tm.insert(&mut across, &heap, b"across").unwrap();
        let report = tm.checkpoint(None).unwrap();
        log_from = report.log_from;
        assert_eq!(report.redo, report.log_from);
        tm.commit(across).unwrap();
        // The first change to page 0 after the checkpoint logs its image.
        let mut after = tm.begin(IsolationLevel::ReadCommitted);
        tm.insert(&mut after, &heap, b"after").unwrap();
        tm.commit(after).unwrap();
        let mut lost = tm.begin(IsolationLevel::ReadCommitted);
        tm.insert(&mut lost, &heap, b"never committed").unwrap();
        crash(tm, dir.path())
    };
    // A torn write: the middle of page 0 on disk is garbage.
    let data = copy.path().join("base").join(TABLE.0.to_string());
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[1000..1500].fill(0xEE);
    std::fs::write(&data, &bytes).unwrap();

    let storage = Arc::new(StorageEngine::open(copy.path(), 64).unwrap());
    let recovered = recover(&storage).unwrap();
    assert_eq!(recovered.report.from, log_from, "replay starts at the checkpoint");
    assert!(recovered.report.images >= 1, "no page image was replayed");
    assert!(recovered.status.is_aborted(rolled_back), "the saved status of a transaction before the checkpoint");
    let tm = TxnManager::new(storage, recovered.status, recovered.status_file);
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    let rows = visible_rows(&tm, &mut reader);
    assert_eq!(rows.len(), 52, "50 rows, across and after");
    assert!(rows.contains(&b"across".to_vec()) && rows.contains(&b"after".to_vec()));
    assert!(!rows.contains(&b"never committed".to_vec()));
    assert!(!rows.contains(&b"rolled back before the checkpoint".to_vec()));
}

#[test]
fn vacuum_removes_what_no_snapshot_can_see_and_keeps_what_one_still_might() {
    let dir = tempfile::tempdir().unwrap();
    let tm = open(dir.path());
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t1 = tm.begin(IsolationLevel::ReadCommitted);
    let [a, b, _c] = [b"row a", b"row b", b"row c"].map(|r| tm.insert(&mut t1, &heap, r).unwrap());
    tm.commit(t1).unwrap();
    // An old repeatable-read snapshot that still sees a and b.
    let mut old = tm.begin(IsolationLevel::RepeatableRead);
    assert_eq!(visible_rows(&tm, &mut old).len(), 3);
    let mut t2 = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(tm.delete(&mut t2, &heap, a).unwrap(), Delete::Done);
    assert_eq!(tm.delete(&mut t2, &heap, b).unwrap(), Delete::Done);
    let b2 = tm.insert(&mut t2, &heap, b"row b, updated").unwrap();
    tm.link_update(&t2, &heap, b, b2).unwrap();
    tm.commit(t2).unwrap();
    let mut t3 = tm.begin(IsolationLevel::ReadCommitted);
    tm.insert(&mut t3, &heap, b"never committed").unwrap();
    tm.abort(t3);

    let mut arena = rustydb_storage::TupleArena::new();
    let mut sweep = |tm: &TxnManager| tm.dead_on_page(&heap, 0, tm.vacuum_horizon(), &mut arena).unwrap();
    let first = sweep(&tm);
    let dead: Vec<&[u8]> = first.dead.iter().map(|d| &d.body[..]).collect();
    assert_eq!(dead, vec![&b"never committed"[..]], "an aborted insert is dead at once");
    assert_eq!((first.live, first.recently_dead), (2, 2), "the old snapshot keeps a and b");
    assert!(tm.remove_dead(&heap, &first.dead[0]).unwrap());
    assert!(!tm.remove_dead(&heap, &first.dead[0]).unwrap(), "a second removal finds nothing");
    assert_eq!(visible_rows(&tm, &mut old).len(), 3, "the old snapshot still reads a and b");

    tm.commit(old).unwrap();
    let second = sweep(&tm);
    let mut dead: Vec<TupleId> = second.dead.iter().map(|d| d.tid).collect();
    dead.sort();
    assert_eq!(dead, vec![a, b], "with the old snapshot gone, the deleted versions are dead");
    assert_eq!((second.live, second.recently_dead), (2, 0));
    // A slot freed and reused meanwhile is not removed on the strength of the old finding.
    assert!(tm.remove_dead(&heap, &second.dead[0]).unwrap());
    let mut t4 = tm.begin(IsolationLevel::ReadCommitted);
    let reused = tm.insert(&mut t4, &heap, b"row e, in a reused slot").unwrap();
    tm.commit(t4).unwrap();
    assert_eq!(reused, second.dead[0].tid, "the first free slot is reused");
    assert!(!tm.remove_dead(&heap, &second.dead[0]).unwrap());
    assert!(tm.remove_dead(&heap, &second.dead[1]).unwrap());

    let expected = vec![b"row b, updated".to_vec(), b"row c".to_vec(), b"row e, in a reused slot".to_vec()];
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(visible_rows(&tm, &mut reader), expected);
    tm.commit(reader).unwrap();
    let versions = heap.scan_page(0).unwrap().len();
    assert_eq!(versions, 3, "only the visible versions are left in the heap");
    // Recovery redoes the removals from the log alone.
    let copy = crash(tm, dir.path());
    let tm = open(copy.path());
    let mut reader = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(visible_rows(&tm, &mut reader), expected);
    assert_eq!(tm.storage().heap(TABLE).unwrap().scan_page(0).unwrap().len(), 3);
}

/// A writer waiting for another's row gives up when `lock_timeout` has passed on the manager's
/// clock, and not before, however long the wait takes in real time.
#[test]
fn a_row_wait_times_out_on_the_injected_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(rustydb_foundation::ManualClock::new());
    let tm = std::sync::Arc::new(open(dir.path()).with_clock(clock.clone()));
    let heap = tm.storage().heap(TABLE).unwrap();
    let mut t0 = tm.begin(IsolationLevel::ReadCommitted);
    let tid = tm.insert(&mut t0, &heap, b"row").unwrap();
    tm.commit(t0).unwrap();
    let mut holder = tm.begin(IsolationLevel::ReadCommitted);
    assert_eq!(tm.delete(&mut holder, &heap, tid).unwrap(), Delete::Done);
    let waiter = {
        let (tm, heap) = (tm.clone(), heap.clone());
        std::thread::spawn(move || {
            let mut t = tm.begin(IsolationLevel::ReadCommitted);
            t.wait = rustydb_txn::LockWait {
                lock_timeout: Some(std::time::Duration::from_secs(5)),
                deadlock_timeout: std::time::Duration::from_secs(60),
            };
            let outcome = tm.delete(&mut t, &heap, tid);
            tm.abort(t);
            outcome
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    clock.advance(std::time::Duration::from_millis(4_900));
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(!waiter.is_finished(), "gave up before lock_timeout passed on the clock");
    clock.advance(std::time::Duration::from_millis(100));
    // Within half a second of real time: on the real clock it would take the whole 5 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    while !waiter.is_finished() {
        assert!(std::time::Instant::now() < deadline, "the wait did not end when its clock said so");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let err = waiter.join().unwrap().unwrap_err();
    assert_eq!(err.sqlstate(), SqlState::LockNotAvailable);
    tm.abort(holder);
}
