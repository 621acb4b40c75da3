//! The application context shared by commands: configuration, output mode and the store.

use crate::cli::Cli;
use crate::config::Config;
use crate::store::{AnyStore, Location};
use anyhow::Context;
use pulse_core::ports::Store;

/// A usage error detected after parsing (exit code 2), e.g. an unknown symbol spelling.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a usage error (exit code 2) as an `anyhow::Error`.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// Global options and lazily opened resources of one `pulse` invocation.
pub struct App {
    /// Loaded configuration.
    pub config: Config,
    /// `--json`: machine-readable output.
    pub json: bool,
    /// `-q`: no progress bars or chatter.
    pub quiet: bool,
    db: Option<Location>,
}

impl App {
    /// Builds the context from the parsed command line.
    pub fn new(cli: &Cli) -> anyhow::Result<App> {
        let config = Config::load(cli.config.as_deref())?;
        Ok(App {
            config,
            json: cli.json,
            quiet: cli.quiet,
            db: cli
                .db
                .as_ref()
                .map(|p| Location::parse(&p.to_string_lossy())),
        })
    }

    /// Where the store is: --db / PULSE_DB (a file, `sqlite:PATH` or `postgres://…`), else
    /// `[store] url`, else `[store] path`, else the default file. The flag says whether it is the
    /// default location (which seeds itself when empty).
    pub fn db_location(&self) -> anyhow::Result<(Location, bool)> {
        if let Some(l) = &self.db {
            return Ok((l.clone(), false));
        }
        if let Some(url) = &self.config.store.url {
            return Ok((Location::parse(url), false));
        }
        if let Some(p) = &self.config.store.path {
            return Ok((Location::Sqlite(p.clone()), false));
        }
        let dir = dirs::data_dir()
            .context("cannot find a data directory (set HOME or XDG_DATA_HOME, or pass --db)")?;
        Ok((Location::Sqlite(dir.join("pulse").join("pulse.db")), true))
    }

    /// Opens the store without seeding it.
    pub async fn open_store(&self) -> anyhow::Result<AnyStore> {
        let (location, _) = self.db_location()?;
        location
            .open()
            .await
            .with_context(|| format!("cannot open database {}", location.describe()))
    }

    /// Opens the store; an empty database at the default location is seeded with the bundled
    /// sample data first (so that a fresh machine with no network has data to work on).
    pub async fn store(&self) -> anyhow::Result<AnyStore> {
        let (location, is_default) = self.db_location()?;
        let store = location
            .open()
            .await
            .with_context(|| format!("cannot open database {}", location.describe()))?;
        if is_default && store.series().await?.is_empty() {
            if !self.quiet && !self.json {
                eprintln!(
                    "First run: seeding {} with the bundled sample data…",
                    location.describe()
                );
            }
            crate::commands::data::seed(&store).await?;
        }
        Ok(store)
    }

    /// True when progress bars should be drawn.
    pub fn progress(&self) -> bool {
        !self.quiet && !self.json
    }
}

/// A stop flag that Ctrl-C sets, and the task that watches for it (abort it when done): long
/// commands check the flag between steps and stop cleanly.
pub fn ctrl_c_flag() -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    tokio::task::JoinHandle<()>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    let task = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (stop, task)
}
