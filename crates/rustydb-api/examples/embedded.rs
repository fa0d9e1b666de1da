//! Using RustyDB in-process, like SQLite: `cargo run -p rustydb-api --example embedded [DIR]`.

fn main() -> rustydb_api::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "rustydb-embedded-example".into());
    let db = rustydb_api::Database::open(&dir)?;
    let mut conn = db.connect()?;
    conn.execute("CREATE TABLE IF NOT EXISTS visits (id INT PRIMARY KEY, page TEXT, ms DOUBLE PRECISION)")?;
    let next = conn.query("SELECT id FROM visits ORDER BY id DESC LIMIT 1")?;
    let id = next.first().and_then(|r| r[0].as_i64()).unwrap_or(0) + 1;
    conn.execute(&format!("INSERT INTO visits VALUES ({id}, '/home', {})", id as f64 * 1.5))?;
    for row in conn.query("SELECT id, page, ms FROM visits ORDER BY id")? {
        let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
        println!("{}", cells.join(" | "));
    }
    db.close()
}
