//! # rustydb-query — layer 5
//!
//! SQL in, results out: parsing, the catalog, binding, planning and execution, and the session
//! that holds a client's transaction state.
//!
//! ## Life of a query
//! `SELECT name FROM t WHERE id = 7` in a session:
//!
//! 1. [`Session::execute`] — [`parser::parse`] turns the text into sqlparser statements (42601 on
//!    a syntax error); the session starts a transaction unless one is open.
//! 2. `Session::run_in` — takes the statement's snapshot ([`rustydb_txn::TxnManager::statement_snapshot`]).
//! 3. [`binder::bind`] — looks `t` up in the catalog ([`catalog::find_table`], itself a scan of the
//!    system heap `rustydb_tables` under the same snapshot), binds `name` and `id = 7` to typed
//!    [`expr::Expr`]s ([`bind_expr::bind`]), and asks [`planner::choose_access`], which sees that
//!    `id` is the primary key and picks [`plan::Access::PrimaryKey`].
//! 4. [`executor::execute`] — looks the key up in the table's index, fetches the version visible
//!    to the snapshot ([`access::fetch`]), applies the filter and projects `name`.
//! 5. The session commits (an autocommit SELECT writes nothing, so no log flush) and returns a
//!    [`StatementResult`] with the tag `SELECT 1`.
//!
//! ## Background work
//! Two threads per engine: the checkpointer (`checkpointer.rs`) and autovacuum
//! (`autovacuum.rs`, which runs [`vacuum`] on tables whose statements left enough dead
//! versions). Both hold the engine weakly and stop when it is dropped.
//!
//! ## Invariants
//! - Nothing after the binder sees sqlparser's AST: the pinned sqlparser version can change with
//!   edits to `parser/`, `binder.rs` and `bind_expr.rs` only.
//! - Every error a client can cause carries PostgreSQL's SQLSTATE; a statement either completes
//!   or has no visible effect.
//!
//! ## What it must never know
//! Sockets, the wire protocol, passwords. Page layouts and log formats belong below.

#![deny(missing_docs)]

pub mod access;
pub mod acl;
pub mod acl_functions;
pub mod admin_functions;
pub mod alter_table;
pub mod array_functions;
pub mod audit;
mod autovacuum;
pub mod backends;
pub mod bind_aggregate;
pub mod bind_copy;
pub(crate) mod bind_dml;
pub mod bind_expr;
pub mod bind_query;
pub mod binder;
pub mod bytea_functions;
pub mod catalog;
pub mod catalog_cache;
pub mod check_constraint;
mod checkpointer;
pub mod comments;
pub mod context;
pub mod copy;
pub mod create_table_as;
pub mod databases;
pub mod datetime_functions;
pub mod dependents;
pub mod dml_join;
pub mod encryption;
pub mod engine;
pub mod estimate;
pub mod exec;
pub mod executor;
pub mod explain;
pub mod expr;
pub mod foreign_key;
pub mod formatting;
pub mod functions;
pub mod grant;
pub mod interrupt;
pub mod join_order;
pub mod json_build;
pub mod json_edit;
pub mod json_functions;
pub mod math_functions;
pub mod merge;
pub mod optimize;
pub mod params;
pub mod parser;
pub mod pg_catalog;
pub mod pg_describe;
pub mod pg_settings;
pub mod pg_stat;
pub mod plan;
pub mod plan_cache;
pub mod planner;
pub mod prepared_statements;
pub mod regex_match;
pub mod rel;
pub mod resolve;
pub mod result;
pub mod roles;
pub mod row_security;
pub mod schemas;
pub mod sequence;
pub mod session;
pub mod settings;
pub mod size_functions;
pub mod sql_names;
pub mod statement_stats;
pub mod statistics;
pub mod table_function;
pub mod text_functions;
pub mod types;
pub mod vacuum;
pub mod vector;

pub use engine::{Engine, EngineOptions};
pub use result::{CopyChunks, CopyResponse, Notice, ResultColumn, SpooledRows, StatementResult};
pub use session::{PreparedStatement, Session, TransactionStatus};
