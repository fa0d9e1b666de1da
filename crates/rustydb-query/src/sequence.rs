//! Sequences: `CREATE SEQUENCE`, `DROP SEQUENCE`, SERIAL columns, and `nextval`, `currval`,
//! `setval`, `lastval`.
//!
//! A sequence's definition is a catalog row (transactional, like any DDL). Its position is not:
//! `nextval` never rolls back, so two transactions never get the same value and a rolled-back
//! one leaves a gap, as in PostgreSQL. The position lives in memory and, durably, in a small
//! state file per sequence (`sequences/<id>` in the data directory) holding two checksummed
//! slots written alternately, so a torn write leaves the other slot intact.
//!
//! Like PostgreSQL's log-ahead of 32 values, a `nextval` that finds no reserved values left
//! computes the value 32 steps ahead, makes *that* durable (one fsync), and then hands out the
//! values up to it from memory. After a crash the sequence resumes after the durable value:
//! values may be skipped, never repeated. `setval` is made durable at once.

use crate::acl::ObjectRef;
use crate::catalog::{self, SequenceDef};
use crate::context::ExecContext;
use crate::result::StatementResult;
use parking_lot::Mutex;
use rustydb_foundation::{DbError, Result, SqlState, Value, checksum};
use rustydb_storage::{FileHandle, Vfs};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Values handed out per durable write.
const LOG_AHEAD: u32 = 32;

/// Bytes of one state slot: generation, value, is_called, checksum.
const SLOT: usize = 24;

/// A sequence's position: the last value handed out, or (not `is_called`) the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    last: i64,
    is_called: bool,
}

#[derive(Debug)]
struct Runtime {
    file: Arc<dyn FileHandle>,
    generation: u64,
    position: Position,
    /// Values that may still be handed out before the next durable write.
    reserved: u32,
}

/// The engine's sequences' positions, loaded from their state files on first use.
#[derive(Debug)]
pub struct SequenceStore {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    open: Mutex<HashMap<u32, Arc<Mutex<Runtime>>>>,
}

fn encode(generation: u64, p: Position) -> [u8; SLOT] {
    let mut out = [0u8; SLOT];
    out[..8].copy_from_slice(&generation.to_le_bytes());
    out[8..16].copy_from_slice(&p.last.to_le_bytes());
    out[16] = u8::from(p.is_called);
    let crc = checksum::crc32c(&out[..20]);
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    out
}

fn decode(slot: &[u8]) -> Option<(u64, Position)> {
    let crc = u32::from_le_bytes(slot[20..24].try_into().ok()?);
    if crc != checksum::crc32c(&slot[..20]) || slot[..8].iter().all(|b| *b == 0) {
        return None;
    }
    let generation = u64::from_le_bytes(slot[..8].try_into().ok()?);
    let last = i64::from_le_bytes(slot[8..16].try_into().ok()?);
    Some((generation, Position { last, is_called: slot[16] != 0 }))
}

impl SequenceStore {
    /// The store of the data directory `dir`.
    pub fn new(vfs: Arc<dyn Vfs>, dir: &Path) -> Self {
        SequenceStore { vfs, dir: dir.join("sequences"), open: Mutex::new(HashMap::new()) }
    }

    fn path(&self, id: u32) -> PathBuf {
        self.dir.join(id.to_string())
    }

    fn io(&self, what: &str, id: u32, e: std::io::Error) -> DbError {
        DbError::io(format!("{what} {}", self.path(id).display()), e)
    }

    /// Creates the state file of a new sequence, positioned before `start`.
    pub fn create(&self, seq: &SequenceDef) -> Result<()> {
        self.vfs.create_dir_all(&self.dir).map_err(|e| self.io("creating the directory of", seq.id, e))?;
        let file = self.vfs.open(&self.path(seq.id)).map_err(|e| self.io("creating", seq.id, e))?;
        let position = Position { last: seq.start, is_called: false };
        let mut both = [0u8; 2 * SLOT];
        both[..SLOT].copy_from_slice(&encode(1, position));
        file.write_all_at(&both, 0).map_err(|e| self.io("writing", seq.id, e))?;
        file.sync_data().map_err(|e| self.io("syncing", seq.id, e))?;
        self.vfs.sync_dir(&self.dir).map_err(|e| self.io("syncing the directory of", seq.id, e))?;
        let runtime = Runtime { file, generation: 1, position, reserved: 0 };
        self.open.lock().insert(seq.id, Arc::new(Mutex::new(runtime)));
        Ok(())
    }

    /// Forgets a dropped sequence and removes its state file.
    pub fn remove(&self, id: u32) {
        self.open.lock().remove(&id);
        if let Err(e) = self.vfs.remove(&self.path(id)) {
            tracing::warn!(sequence = id, error = %e, "could not remove a dropped sequence's state file");
        }
    }

    fn runtime(&self, id: u32) -> Result<Arc<Mutex<Runtime>>> {
        if let Some(r) = self.open.lock().get(&id) {
            return Ok(r.clone());
        }
        let file = self
            .vfs
            .open_existing(&self.path(id))
            .map_err(|e| self.io("opening", id, e))?
            .ok_or_else(|| DbError::Corruption(format!("the state file of sequence {id} is missing")))?;
        let mut both = [0u8; 2 * SLOT];
        file.read_full_at(&mut both, 0).map_err(|e| self.io("reading", id, e))?;
        let best = [decode(&both[..SLOT]), decode(&both[SLOT..])].into_iter().flatten().max_by_key(|(g, _)| *g);
        let (generation, position) =
            best.ok_or_else(|| DbError::Corruption(format!("{} holds no valid state", self.path(id).display())))?;
        let runtime = Arc::new(Mutex::new(Runtime { file, generation, position, reserved: 0 }));
        Ok(self.open.lock().entry(id).or_insert(runtime).clone())
    }

    fn persist(&self, id: u32, rt: &mut Runtime, position: Position) -> Result<()> {
        let generation = rt.generation + 1;
        let offset = if generation % 2 == 1 { 0 } else { SLOT as u64 };
        rt.file.write_all_at(&encode(generation, position), offset).map_err(|e| self.io("writing", id, e))?;
        rt.file.sync_data().map_err(|e| self.io("syncing", id, e))?;
        rt.generation = generation;
        Ok(())
    }

    /// The next value of `seq` (2200H past its bounds without CYCLE).
    pub fn nextval(&self, seq: &SequenceDef) -> Result<i64> {
        let runtime = self.runtime(seq.id)?;
        let mut rt = runtime.lock();
        let value = step(seq, rt.position)?;
        if rt.reserved == 0 {
            let mut ahead = Position { last: value, is_called: true };
            let mut count = 1;
            while count < LOG_AHEAD {
                match step(seq, ahead) {
                    Ok(v) => ahead.last = v,
                    Err(_) => break,
                }
                count += 1;
            }
            self.persist(seq.id, &mut rt, ahead)?;
            rt.reserved = count;
        }
        rt.reserved -= 1;
        rt.position = Position { last: value, is_called: true };
        Ok(value)
    }

    /// `setval`: the sequence continues after `value` (or at it, if not `is_called`).
    pub fn setval(&self, seq: &SequenceDef, value: i64, is_called: bool) -> Result<i64> {
        if value < seq.min || value > seq.max {
            return Err(DbError::sql(
                SqlState::NumericValueOutOfRange,
                format!(
                    "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                    seq.name, seq.min, seq.max
                ),
            ));
        }
        let runtime = self.runtime(seq.id)?;
        let mut rt = runtime.lock();
        let position = Position { last: value, is_called };
        self.persist(seq.id, &mut rt, position)?;
        rt.position = position;
        rt.reserved = 0;
        Ok(value)
    }
}

/// The value after position `p`: the start if nothing was handed out yet, else one increment
/// on, wrapping with CYCLE.
fn step(seq: &SequenceDef, p: Position) -> Result<i64> {
    if !p.is_called {
        return Ok(p.last);
    }
    match p.last.checked_add(seq.increment).filter(|v| (seq.min..=seq.max).contains(v)) {
        Some(v) => Ok(v),
        None if seq.cycle => Ok(if seq.increment > 0 { seq.min } else { seq.max }),
        None => {
            let (bound, value) = if seq.increment > 0 { ("maximum", seq.max) } else { ("minimum", seq.min) };
            Err(DbError::sql(
                SqlState::SequenceGeneratorLimitExceeded,
                format!("nextval: reached {bound} value of sequence \"{}\" ({value})", seq.name),
            ))
        }
    }
}

/// The values `currval` and `lastval` report: the last value `nextval` gave this session.
#[derive(Debug, Default)]
pub struct SessionSequences {
    last: HashMap<u32, i64>,
    latest: Option<u32>,
}

/// A sequence function call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCall {
    /// `nextval(name)`.
    Next,
    /// `currval(name)`.
    Current,
    /// `setval(name, value [, is_called])`.
    Set,
    /// `lastval()`.
    Last,
}

/// The sequence `name` (a regclass-style name) refers to, looked up once per statement: a
/// multi-row INSERT or a COPY into a SERIAL column calls nextval once per row.
fn named(ctx: &mut ExecContext<'_>, name: &Value) -> Result<SequenceDef> {
    let Value::Text(name) = name else {
        return Err(DbError::sql(SqlState::InvalidParameterValue, "a sequence name must be text"));
    };
    if let Some(seq) = ctx.sequence_defs.get(name) {
        return Ok(seq.clone());
    }
    // Unquoted parts fold to lower case, "quoted" ones do not.
    let folded = crate::schemas::parse_qualified(name, ctx.database)?;
    let found = ctx.with_catalog_snapshot(|ctx| catalog::find_sequence(ctx, &folded))?;
    let seq = found.map(|(_, s)| s).ok_or_else(|| DbError::undefined_table(&folded))?;
    ctx.sequence_defs.insert(name.clone(), seq.clone());
    Ok(seq)
}

/// The privilege check of a sequence function, once per statement, sequence and function:
/// `nextval` takes USAGE or UPDATE, `currval` SELECT or USAGE, `setval` UPDATE.
fn allowed(ctx: &mut ExecContext<'_>, seq: &SequenceDef, call: SequenceCall) -> Result<()> {
    use crate::acl::Privilege::*;
    if ctx.engine.access_control().is_none() || !ctx.sequence_checks.insert((seq.id, call as u8)) {
        return Ok(());
    }
    let any_of = crate::acl::PrivilegeSet::of(match call {
        SequenceCall::Next => &[Usage, Update],
        SequenceCall::Current | SequenceCall::Last => &[Select, Usage],
        SequenceCall::Set => &[Update],
    });
    let object = ObjectRef::sequence(seq);
    let checked = crate::acl::require(ctx, crate::acl::AccessRequest::Object { object, any_of });
    if checked.is_err() {
        ctx.sequence_checks.remove(&(seq.id, call as u8));
    }
    checked
}

/// Runs a sequence function for the statement of `ctx`.
pub fn call(ctx: &mut ExecContext<'_>, call: SequenceCall, args: &[Value]) -> Result<Value> {
    if args.first().is_some_and(Value::is_null) || args.get(1).is_some_and(Value::is_null) {
        return Ok(Value::Null);
    }
    let store = ctx.engine.sequences().clone();
    match call {
        SequenceCall::Next => {
            let seq = named(ctx, &args[0])?;
            allowed(ctx, &seq, call)?;
            let value = store.nextval(&seq)?;
            let mut mine = ctx.sequences.lock();
            mine.last.insert(seq.id, value);
            mine.latest = Some(seq.id);
            Ok(Value::Int8(value))
        }
        SequenceCall::Current => {
            let seq = named(ctx, &args[0])?;
            allowed(ctx, &seq, call)?;
            let value = ctx.sequences.lock().last.get(&seq.id).copied();
            value.map(Value::Int8).ok_or_else(|| {
                DbError::sql(
                    SqlState::ObjectNotInPrerequisiteState,
                    format!("currval of sequence \"{}\" is not yet defined in this session", seq.name),
                )
            })
        }
        SequenceCall::Set => {
            let seq = named(ctx, &args[0])?;
            allowed(ctx, &seq, call)?;
            let Value::Int8(value) = args[1] else {
                return Err(DbError::Internal("setval's value is not a bigint".into()));
            };
            let is_called = args.get(2).is_none_or(|v| *v == Value::Bool(true));
            store.setval(&seq, value, is_called)?;
            if is_called {
                ctx.sequences.lock().last.insert(seq.id, value);
            }
            Ok(Value::Int8(value))
        }
        SequenceCall::Last => {
            let mine = ctx.sequences.lock();
            mine.latest.and_then(|id| mine.last.get(&id)).copied().map(Value::Int8).ok_or_else(|| {
                DbError::sql(SqlState::ObjectNotInPrerequisiteState, "lastval is not yet defined in this session")
            })
        }
    }
}

/// `CREATE SEQUENCE` options and their PostgreSQL defaults.
pub fn define(
    id: u32,
    name: &str,
    options: &[sqlparser::ast::SequenceOptions],
    range: (i64, i64),
) -> Result<SequenceDef> {
    use sqlparser::ast::SequenceOptions as O;
    let number = |e: &sqlparser::ast::Expr| -> Result<i64> {
        let text = e.to_string().replace(' ', "");
        text.parse::<i64>().map_err(|_| DbError::syntax(format!("syntax error at or near \"{e}\"")))
    };
    let (mut increment, mut min, mut max, mut start, mut cycle) = (1i64, None, None, None, false);
    for option in options {
        match option {
            O::IncrementBy(e, _) => increment = number(e)?,
            O::MinValue(Some(e)) => min = Some(number(e)?),
            O::MaxValue(Some(e)) => max = Some(number(e)?),
            O::MinValue(None) | O::MaxValue(None) => {}
            O::StartWith(e, _) => start = Some(number(e)?),
            O::Cache(_) => {}
            O::Cycle(no) => cycle = !*no,
        }
    }
    if increment == 0 {
        return Err(DbError::sql(SqlState::InvalidParameterValue, "INCREMENT must not be zero"));
    }
    let min = min.unwrap_or(if increment > 0 { 1 } else { range.0 });
    let max = max.unwrap_or(if increment > 0 { range.1 } else { -1 });
    if min >= max {
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("MINVALUE ({min}) must be less than MAXVALUE ({max})"),
        ));
    }
    let start = start.unwrap_or(if increment > 0 { min } else { max });
    if start < min || start > max {
        let which = if start < min { "less than MINVALUE" } else { "greater than MAXVALUE" };
        let bound = if start < min { min } else { max };
        return Err(DbError::sql(
            SqlState::InvalidParameterValue,
            format!("START value ({start}) cannot be {which} ({bound})"),
        ));
    }
    // The namespace is the binder's to fill (0 until then).
    Ok(SequenceDef { id, name: name.to_string(), namespace: 0, increment, min, max, start, cycle, owner: None })
}

/// Creates `seq` in the context's transaction: its catalog row and its state file (a
/// rolled-back CREATE leaves an unused file behind, named by an id never handed out again).
pub fn create(ctx: &mut ExecContext<'_>, seq: &SequenceDef) -> Result<()> {
    crate::schemas::require_live(ctx, seq.namespace)?;
    if catalog::name_in_use(ctx, seq.namespace, &seq.name)? {
        return Err(DbError::sql(SqlState::DuplicateTable, format!("relation \"{}\" already exists", seq.name)));
    }
    catalog::create_sequence(ctx, seq)?;
    crate::acl::record_owner(ctx, &ObjectRef::sequence(seq))?;
    ctx.engine.sequences().create(seq)
}

/// Drops a sequence in the context's transaction; its state file goes when the drop commits.
pub fn drop(ctx: &mut ExecContext<'_>, tid: rustydb_foundation::TupleId, seq: &SequenceDef) -> Result<()> {
    catalog::drop_sequence(ctx, tid)?;
    crate::acl::forget(ctx, &ObjectRef::sequence(seq))?;
    let store = ctx.engine.sequences().clone();
    let id = seq.id;
    ctx.txn.on_commit(move || store.remove(id));
    Ok(())
}

/// `DROP SEQUENCE [IF EXISTS] names`.
pub fn drop_statement(
    ctx: &mut ExecContext<'_>,
    names: &[catalog::QualifiedName],
    if_exists: bool,
) -> Result<StatementResult> {
    let _ddl = ctx.engine.ddl_lock().lock();
    let mut result = StatementResult::tag("DROP SEQUENCE");
    let mut found = Vec::new();
    for name in names {
        if let Err(e) = name.check_schema(ctx)
            && !if_exists
        {
            return Err(e);
        }
        match catalog::find_sequence(ctx, name)? {
            Some(pair) => found.push(pair),
            None if if_exists => result.notices.push(crate::executor::skipping(ctx, name, "sequence")?),
            None => {
                return Err(DbError::sql(
                    SqlState::UndefinedTable,
                    format!("sequence \"{}\" does not exist", name.name),
                ));
            }
        }
    }
    for (tid, seq) in found {
        crate::acl::require_owner(ctx, ObjectRef::sequence(&seq))?;
        if let Some((table, _)) = seq.owner
            && catalog::find_table_by_id(ctx, rustydb_foundation::TableId(table))?.is_some()
        {
            return Err(DbError::sql(
                SqlState::DependentObjectsStillExist,
                format!("cannot drop sequence {} because other objects depend on it", seq.name),
            )
            .with_detail("a column's default value uses it; drop the table instead"));
        }
        drop(ctx, tid, &seq)?;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(increment: i64, min: i64, max: i64, cycle: bool) -> SequenceDef {
        SequenceDef {
            id: 7,
            name: "s".into(),
            namespace: crate::catalog::PUBLIC_NAMESPACE,
            increment,
            min,
            max,
            start: if increment > 0 { min } else { max },
            cycle,
            owner: None,
        }
    }

    #[test]
    fn values_survive_a_reopen_without_repeats_and_bounds_hold() {
        let dir = tempfile::tempdir().unwrap();
        let vfs: Arc<dyn Vfs> = Arc::new(rustydb_storage::PosixVfs);
        let s = seq(1, 1, 100, false);
        let store = SequenceStore::new(vfs.clone(), dir.path());
        store.create(&s).unwrap();
        assert_eq!((store.nextval(&s).unwrap(), store.nextval(&s).unwrap()), (1, 2));
        // A new store (a restart) resumes after the durable reservation: no value repeats.
        let store = SequenceStore::new(vfs.clone(), dir.path());
        let after = store.nextval(&s).unwrap();
        assert!(after > 2 && after <= 2 + LOG_AHEAD as i64 + 1, "{after}");
        store.setval(&s, 99, true).unwrap();
        assert_eq!(store.nextval(&s).unwrap(), 100);
        let e = store.nextval(&s).unwrap_err();
        assert_eq!(e.sqlstate(), SqlState::SequenceGeneratorLimitExceeded);
        assert_eq!(e.to_string(), "nextval: reached maximum value of sequence \"s\" (100)");
        // setval is durable at once.
        store.setval(&s, 10, false).unwrap();
        let store = SequenceStore::new(vfs, dir.path());
        assert_eq!(store.nextval(&s).unwrap(), 10);
        assert_eq!(store.setval(&s, 0, true).unwrap_err().sqlstate(), SqlState::NumericValueOutOfRange);
    }

    #[test]
    fn descending_and_cycling_sequences_wrap() {
        let s = seq(-2, -5, -1, true);
        let mut p = Position { last: s.start, is_called: false };
        let mut got = Vec::new();
        for _ in 0..5 {
            let v = step(&s, p).unwrap();
            got.push(v);
            p = Position { last: v, is_called: true };
        }
        assert_eq!(got, [-1, -3, -5, -1, -3]);
    }

    #[test]
    fn a_torn_slot_falls_back_to_the_other() {
        let a = encode(5, Position { last: 40, is_called: true });
        let mut b = encode(6, Position { last: 72, is_called: true });
        b[9] ^= 1;
        assert_eq!(decode(&a), Some((5, Position { last: 40, is_called: true })));
        assert_eq!(decode(&b), None);
    }
}
