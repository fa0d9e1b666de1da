//! Using RustyDB in-process, like SQLite: `cargo run -p rustydb-api --example embedded [DIR]`.
//!
//! Opens (or creates) a database directory, records a visit with typed parameters inside a
//! transaction, and reads the visits back as typed rows. Run it twice: the first run's visit
//! is still there, because a committed transaction is durable when `commit` returns.

use rustydb_api::{Database, Result};

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "rustydb-embedded-example".into());
    let db = Database::open(&dir)?;
    let mut conn = db.connect()?;
    conn.execute("CREATE TABLE IF NOT EXISTS visits (id BIGINT PRIMARY KEY, page TEXT NOT NULL, ms DOUBLE PRECISION)")?;

    let mut txn = conn.transaction()?;
    let id: i64 = txn.query_value("SELECT coalesce(max(id), 0) + 1 FROM visits", &[])?;
    txn.execute_with("INSERT INTO visits VALUES ($1, $2, $3)", &[&id, &"/home", &(id as f64 * 1.5)])?;
    txn.commit()?;

    for row in conn.query_with("SELECT id, page, ms FROM visits WHERE id > $1 ORDER BY id", &[&0i64])? {
        let (id, page, ms): (i64, String, Option<f64>) = (row.get("id")?, row.get("page")?, row.get("ms")?);
        println!("{id} | {page} | {}", ms.map_or("NULL".into(), |m| m.to_string()));
    }
    db.close()
}
