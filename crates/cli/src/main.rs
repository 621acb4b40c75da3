//! `pulse`: the Portfolio Pulse binary. Parses the command line, loads the configuration, wires the
//! concrete adapters (SQLite store, CSV importer, Yahoo / Alpha Vantage fetchers) to the core and
//! runs the command. Exit codes: 0 ok, 1 runtime error, 2 usage error.

mod app;
mod bundle;
mod cli;
mod commands;
mod config;
mod live;
mod output;
mod store;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`pulse ta … | head`) is the reader's choice, not an error.
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            if let Some(usage) = e.downcast_ref::<app::UsageError>() {
                eprintln!("error: {usage}");
                return ExitCode::from(2);
            }
            eprintln!("error: {}", error_message(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes joined by ": ", each cause once: error types that already print
/// their source in their own message (thiserror's `"{path}: {source}"`) would otherwise repeat it
/// ("cannot sell 100 TSLA: only 0 held: cannot sell 100 TSLA: only 0 held").
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// Whether a broken pipe is anywhere in the error's chain: an `std::io::Error` of that kind, or
/// one inside a `serde_json::Error` (`--json … | head -c 10` fails inside the serializer).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(BrokenPipe)
    })
}

fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PULSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[derive(Debug, thiserror::Error)]
    #[error("trades.csv:2: impossible trade: {source}")]
    struct Wrapping {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        let inner = std::io::Error::other("cannot sell 100 TSLA: only 0 held");
        let e = anyhow::Error::new(Wrapping { source: inner }).context("backtest");
        assert_eq!(
            error_message(&e),
            "backtest: trades.csv:2: impossible trade: cannot sell 100 TSLA: only 0 held"
        );
        let plain = anyhow::anyhow!("root").context("outer");
        assert_eq!(error_message(&plain), "outer: root");
    }
}
