//! End-to-end test harness: starts the real `rustydb-server` binary on an ephemeral port with a
//! temporary data directory, connects real clients to it, and stops it gently (SIGTERM) or
//! not at all (`kill -9`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A harness failure is a test failure.

pub mod raw;
pub mod slt;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The SQLSTATE of the error `sql` gets (the test fails if it succeeds or has none).
pub async fn sqlstate(client: &tokio_postgres::Client, sql: &str) -> tokio_postgres::error::SqlState {
    let err = client.simple_query(sql).await.err().unwrap_or_else(|| panic!("{sql} succeeded"));
    err.code().cloned().unwrap_or_else(|| panic!("{sql}: no SQLSTATE in {err}"))
}

/// Runs `sql` (simple protocol), failing the test with the error if it fails.
pub async fn ok(client: &tokio_postgres::Client, sql: &str) {
    if let Err(e) = client.simple_query(sql).await {
        panic!("{sql}: {e:?}");
    }
}

/// The server binary, built (once per test process) by cargo if it is missing or stale.
pub fn server_binary() -> PathBuf {
    workspace_binary("rustydb-server", "rustydb-server")
}

/// The `rustydb` command-line client, built like the server.
pub fn cli_binary() -> PathBuf {
    workspace_binary("rustydb-api", "rustydb")
}

/// Binary `bin` of workspace package `package`, built (once per test process) by cargo if it
/// is missing or stale, in the profile the tests run in.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<std::collections::HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    if let Some(path) = built.get(bin) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("test executable path");
    // Tests run from target/<profile>/deps, tools (the `slt` binary) from target/<profile>.
    let mut profile_dir = exe.parent().expect("target/<profile>").to_path_buf();
    if profile_dir.ends_with("deps") {
        profile_dir.pop();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", package, "--bin", bin]);
    build.current_dir(env!("CARGO_MANIFEST_DIR")); // the `slt` tool may run from anywhere
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "building {bin} failed");
    let path = profile_dir.join(bin);
    built.insert(bin.to_string(), path.clone());
    path
}

/// A running server process.
#[derive(Debug)]
pub struct TestServer {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its data directory.
    pub data_dir: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory.
    pub fn start() -> TestServer {
        let temp = tempfile::tempdir().unwrap();
        let mut server = Self::start_in(&temp.path().join("data"));
        server._temp = Some(temp);
        server
    }

    /// Starts a server on `data_dir` (created if missing) with `toml` as its configuration file
    /// (the listen address and data directory are still the test's).
    pub fn start_in_with_config(data_dir: &Path, toml: &str) -> TestServer {
        let config = data_dir.with_extension("toml");
        std::fs::write(&config, toml).unwrap();
        Self::launch(data_dir, Some(&config))
    }

    /// Starts a server on `data_dir` (created if missing).
    pub fn start_in(data_dir: &Path) -> TestServer {
        Self::launch(data_dir, None)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn launch(data_dir: &Path, config: Option<&Path>) -> TestServer {
        let mut command = Command::new(server_binary());
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "info")
            .env_remove("RUSTYDB_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting rustydb-server");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split(" listen=").nth(1).and_then(|r| r.split_whitespace().next()) {
                    let _ = tx.send(addr.to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        TestServer { child: Some(child), addr, data_dir: data_dir.to_path_buf(), log, _temp: None }
    }

    /// The HTTP listener's address (a server started with `http_listen` in its configuration),
    /// read from its log.
    pub fn http_addr(&self) -> SocketAddr {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.log.lock().unwrap().iter().find_map(|line| {
                line.split("http_listen=").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string)
            });
            if let Some(addr) = found {
                return addr.parse().unwrap();
            }
            assert!(std::time::Instant::now() < deadline, "no HTTP listener in the log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A libpq-style connection string for `user`/`database`.
    pub fn conn_str(&self, user: &str, database: &str) -> String {
        format!("host={} port={} user={user} dbname={database}", self.addr.ip(), self.addr.port())
    }

    /// Connects tokio-postgres as the bootstrap superuser.
    pub async fn connect(&self) -> tokio_postgres::Client {
        self.connect_as("rustydb", "rustydb").await.unwrap()
    }

    /// Connects tokio-postgres as `user` to `database`.
    pub async fn connect_as(
        &self,
        user: &str,
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) =
            tokio_postgres::connect(&self.conn_str(user, database), tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Kills the process with SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on the pid of a child we own and have not reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        child.wait().unwrap()
    }

    /// Keeps the temporary directory alive beyond this server (for restarts in it).
    pub fn keep_dir(&mut self) -> Option<tempfile::TempDir> {
        self._temp.take()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The path of `program` on PATH, if it is installed (tests of real clients skip without it).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}
