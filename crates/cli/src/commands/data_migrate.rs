//! `pulse data migrate --from sqlite:PATH --to postgres://…`: opens both stores (each migrated to
//! its latest schema), has the PostgreSQL adapter copy the SQLite file into the empty target
//! (`store_postgres::copy_sqlite_file`, one transaction), compares the stored series read through
//! the port from both, and prints the rows copied per table.

use crate::app::{App, usage};
use crate::output::{outln, print_json, print_table};
use crate::store::Location;
use anyhow::Context;
use pulse_core::ports::Store;
use serde::Serialize;
use std::collections::BTreeMap;
use store_postgres::PostgresStore;
use store_sqlite::SqliteStore;

/// `pulse data migrate --json`: rows copied per table.
#[derive(Serialize)]
struct MigrateJson {
    from: String,
    to: String,
    tables: BTreeMap<&'static str, u64>,
}

/// Runs `pulse data migrate --from sqlite:PATH --to postgres://…`.
pub async fn migrate(app: &App, from: &str, to: &str) -> anyhow::Result<()> {
    let Location::Sqlite(path) = Location::parse(from) else {
        return Err(usage("--from must be a SQLite file (sqlite:PATH)"));
    };
    let to_location = Location::parse(to);
    let Location::Postgres(url) = &to_location else {
        return Err(usage(
            "--to must be a PostgreSQL database (postgres://user@host:port/database)",
        ));
    };
    if !path.is_file() {
        return Err(usage(format!(
            "--from: no SQLite file at {}",
            path.display()
        )));
    }
    // Both opened through their stores first: migrated to the latest schema (or refused).
    let source = SqliteStore::open(&path)
        .await
        .with_context(|| format!("cannot open database {}", path.display()))?;
    let target = PostgresStore::connect(url)
        .await
        .with_context(|| format!("cannot open database {}", to_location.describe()))?;

    let copied = store_postgres::copy_sqlite_file(source.path(), &target).await?;

    // Compare what the port reads from both.
    let (a, b) = (source.series().await?, target.series().await?);
    anyhow::ensure!(
        a == b,
        "the stored series differ after the copy: {} in SQLite, {} in PostgreSQL",
        a.len(),
        b.len()
    );
    source.close().await;
    target.close().await;

    if app.json {
        return print_json(&MigrateJson {
            from: path.display().to_string(),
            to: to_location.describe(),
            tables: copied.into_iter().collect(),
        });
    }
    if !app.quiet {
        let rows: Vec<Vec<String>> = copied
            .iter()
            .map(|(t, n)| vec![t.to_string(), n.to_string()])
            .collect();
        print_table(&["table", "rows"], &rows)?;
        outln!(
            "Copied {} into {} ({} series).",
            path.display(),
            to_location.describe(),
            a.len()
        )?;
    }
    Ok(())
}
