//! Isolation conformance: every case of Hermitage (`../shared/conformance/hermitage.spec`),
//! driven over the wire with one tokio-postgres connection per transaction, must end as it does
//! in PostgreSQL 15 — the rows each read returns, which statements block and until when, and
//! which fail with which SQLSTATE.
//!
//! The spec's format is in its header. A step expected to block is sent and must still be
//! running a moment later; the step that `unblocks` it must complete, and then the blocked one
//! must finish as stated.

#![allow(clippy::unwrap_used)]

use rustydb_tests::TestServer;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_postgres::{Client, SimpleQueryMessage};

/// How long a blocked statement must stay blocked to count as blocking.
const BLOCK_PROBE: Duration = Duration::from_millis(300);
/// How long any statement may take before the case fails as hung.
const HANG: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Ok,
    Rows(Vec<(i64, i64)>),
    Blocks,
    Error(String),
    Unblocks(usize, Box<Expect>),
}

#[derive(Debug)]
struct Step {
    session: usize,
    sql: String,
    expect: Expect,
    line: usize,
}

#[derive(Debug)]
struct Case {
    name: String,
    steps: Vec<Step>,
}

fn parse_outcome(text: &str, line: usize) -> Expect {
    let text = text.trim();
    let mut words = text.split_whitespace();
    match words.next() {
        None | Some("ok") => Expect::Ok,
        Some("empty") => Expect::Rows(Vec::new()),
        Some("blocks") => Expect::Blocks,
        Some("error") => Expect::Error(words.next().unwrap_or_else(|| panic!("line {line}: no SQLSTATE")).into()),
        Some("rows") => Expect::Rows(
            words
                .collect::<String>()
                .split(',')
                .map(|pair| {
                    let (id, value) = pair.split_once(':').unwrap_or_else(|| panic!("line {line}: bad row {pair}"));
                    (id.trim().parse().unwrap(), value.trim().parse().unwrap())
                })
                .collect(),
        ),
        Some("unblocks") => {
            let who = words.next().unwrap_or_else(|| panic!("line {line}: unblocks whom?"));
            let rest: Vec<&str> = words.collect();
            Expect::Unblocks(session_number(who, line), Box::new(parse_outcome(&rest.join(" "), line)))
        }
        Some(other) => panic!("line {line}: unknown expectation {other}"),
    }
}

fn session_number(word: &str, line: usize) -> usize {
    word.trim_start_matches('T').parse().unwrap_or_else(|_| panic!("line {line}: bad session {word}"))
}

fn parse_spec(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        if let Some(name) = raw.strip_prefix("case ") {
            cases.push(Case { name: name.trim().into(), steps: Vec::new() });
            continue;
        }
        let (who, rest) = raw.split_once(':').unwrap_or_else(|| panic!("line {line}: no session in {raw}"));
        let (sql, expect) = match rest.split_once("=>") {
            Some((sql, outcome)) => (sql.trim(), parse_outcome(outcome, line)),
            None => (rest.trim(), Expect::Ok),
        };
        let sql = match sql.strip_prefix("begin ") {
            Some(level) => format!("begin; set transaction isolation level {}", level.replace('_', " ")),
            None => sql.to_string(),
        };
        let case = cases.last_mut().unwrap_or_else(|| panic!("line {line}: step before any case"));
        case.steps.push(Step { session: session_number(who, line), sql, expect, line });
    }
    cases
}

type Outcome = Result<Vec<(i64, i64)>, String>;

async fn run_sql(client: Arc<Client>, sql: String) -> Outcome {
    match client.simple_query(&sql).await {
        Ok(messages) => Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => {
                    Some((r.get(0).unwrap().parse().unwrap(), r.get(1).unwrap().parse().unwrap()))
                }
                _ => None,
            })
            .collect()),
        Err(e) => Err(e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))),
    }
}

fn check(outcome: &Outcome, expect: &Expect) -> Result<(), String> {
    match (expect, outcome) {
        (Expect::Ok, Ok(_)) => Ok(()),
        (Expect::Rows(want), Ok(got)) => {
            let (mut want, mut got) = (want.clone(), got.clone());
            want.sort_unstable();
            got.sort_unstable();
            if want == got { Ok(()) } else { Err(format!("rows {got:?}, expected {want:?}")) }
        }
        (Expect::Error(code), Err(got)) if code == got => Ok(()),
        (expect, got) => Err(format!("got {got:?}, expected {expect:?}")),
    }
}

async fn finish(handle: JoinHandle<Outcome>) -> Result<Outcome, String> {
    match tokio::time::timeout(HANG, handle).await {
        Ok(joined) => Ok(joined.unwrap()),
        Err(_) => Err("still blocked".into()),
    }
}

/// Runs one case on fresh connections; `Err` says which step went wrong.
async fn run_case(server: &TestServer, setup: &Client, case: &Case) -> Result<(), String> {
    setup
        .batch_execute(
            "drop table if exists test; create table test (id int primary key, value int);
             insert into test (id, value) values (1, 10), (2, 20)",
        )
        .await
        .map_err(|e| format!("setup: {e}"))?;
    let mut clients: HashMap<usize, Arc<Client>> = HashMap::new();
    let mut sessions: Vec<usize> = case.steps.iter().map(|s| s.session).collect();
    sessions.sort_unstable();
    sessions.dedup();
    for session in sessions {
        clients.insert(session, Arc::new(server.connect().await));
    }
    let mut blocked: HashMap<usize, JoinHandle<Outcome>> = HashMap::new();
    for step in &case.steps {
        let at = |what: String| format!("line {} (T{}: {}): {what}", step.line, step.session, step.sql);
        if blocked.contains_key(&step.session) {
            return Err(at("the session is still blocked".into()));
        }
        let handle = tokio::spawn(run_sql(clients[&step.session].clone(), step.sql.clone()));
        if step.expect == Expect::Blocks {
            tokio::time::sleep(BLOCK_PROBE).await;
            if handle.is_finished() {
                return Err(at(format!("did not block: {:?}", handle.await.unwrap())));
            }
            blocked.insert(step.session, handle);
            continue;
        }
        let outcome = finish(handle).await.map_err(at)?;
        match &step.expect {
            Expect::Unblocks(other, then) => {
                check(&outcome, &Expect::Ok).map_err(at)?;
                let waiting = blocked.remove(other).ok_or_else(|| at(format!("T{other} was not blocked")))?;
                let theirs = finish(waiting).await.map_err(|e| at(format!("T{other} {e}")))?;
                check(&theirs, then).map_err(|e| at(format!("T{other}: {e}")))?;
            }
            expect => check(&outcome, expect).map_err(at)?,
        }
    }
    if let Some(session) = blocked.keys().next() {
        return Err(format!("T{session} is still blocked at the end"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hermitage_case_ends_as_in_postgres_15() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/hermitage.spec"))
        .expect("../shared/conformance/hermitage.spec beside the project");
    let cases = parse_spec(&spec);
    assert_eq!(cases.len(), 20, "the spec holds 20 cases");
    let server = TestServer::start();
    let setup = server.connect().await;
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(e) = run_case(&server, &setup, case).await {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from PostgreSQL 15:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_spec_parser_reads_every_form() {
    let cases = parse_spec(
        "# comment\ncase X read_committed prevented\nT1: begin repeatable_read\nT2: update t set v = 1 => blocks\n\
         T1: commit => unblocks T2 error 40001\nT1: select * from test => rows 1:10, 2:20\nT2: select 1 => empty\n",
    );
    assert_eq!(cases.len(), 1);
    let steps = &cases[0].steps;
    assert_eq!(steps[0].sql, "begin; set transaction isolation level repeatable read");
    assert_eq!(steps[1].expect, Expect::Blocks);
    assert_eq!(steps[2].expect, Expect::Unblocks(2, Box::new(Expect::Error("40001".into()))));
    assert_eq!(steps[3].expect, Expect::Rows(vec![(1, 10), (2, 20)]));
    assert_eq!(steps[4].expect, Expect::Rows(vec![]));
}
