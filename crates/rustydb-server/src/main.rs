//! `rustydb-server`: start a RustyDB server. See `rustydb-server --help`.

use clap::Parser;
use rustydb_server::config::Args;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let args = Args::parse();
    let config = match args.resolve() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(rustydb_server::config::Command::Audit { action }) = &args.command {
        let rustydb_server::config::AuditAction::Verify { expect_head } = action;
        return match rustydb_security::audit::verify(&config.data_dir, expect_head.as_deref()) {
            Ok(v) => {
                println!("audit log intact: {} records, head {}", v.records, v.head);
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                println!("audit log damaged: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Statements recurse per expression level; with 8 MiB they never need a new segment.
        .thread_stack_size(8 << 20)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("could not start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(rustydb_server::run(config, rustydb_server::shutdown_signal())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
