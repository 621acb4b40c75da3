//! Output helpers: JSON on stdout, aligned text tables, progress bars.

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::Write;

/// Writes formatted text to locked stdout and reports failure instead of panicking (as
/// `print!` does on a closed pipe: `pulse data check | head -1`). Use it through [`out!`] and
/// [`outln!`]; `main` treats a [`std::io::ErrorKind::BrokenPipe`] as the reader's choice (exit 0).
pub fn write_stdout(args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    std::io::stdout().lock().write_fmt(args)
}

/// `print!` that returns `std::io::Result<()>` instead of panicking when stdout is closed.
#[allow(unused_macros)]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` that returns `std::io::Result<()>` instead of panicking when stdout is closed.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[allow(unused_imports)]
pub(crate) use {out, outln};

/// Prints `value` as pretty JSON on stdout. A write error is returned as the underlying
/// `std::io::Error` (not wrapped in `serde_json::Error`), so a closed pipe is recognised as one.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from)?;
    writeln!(out)?;
    Ok(())
}

/// Prints rows as a left-aligned text table with a header.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// A metric for the text tables: percent or plain, "—" when undefined, "∞" when infinite.
pub fn fmt_opt(v: Option<f64>, pct: bool) -> String {
    match v {
        None => "—".into(),
        Some(x) if x.is_infinite() => "∞".into(),
        Some(x) if pct => format!("{:.2}%", x * 100.0),
        Some(x) => format!("{x:.2}"),
    }
}

/// A headline metric of the text tables: label, key in the metrics JSON, shown in percent.
pub type MetricRow = (&'static str, &'static str, bool);

/// One metric of a metrics JSON object (`pulse_analytics::Metrics` serialized): counts as
/// integers, other values by [`fmt_opt`].
pub fn metric_text(metrics: Option<&serde_json::Value>, key: &str, pct: bool) -> String {
    let v = metrics.map(|m| &m[key]);
    match v.and_then(serde_json::Value::as_u64) {
        Some(count) if !pct => count.to_string(),
        _ => fmt_opt(v.and_then(serde_json::Value::as_f64), pct),
    }
}

/// A table of `rows` (one per metric) with one column per `(name, metrics JSON)`.
pub fn print_metrics(
    columns: &[(&str, Option<&serde_json::Value>)],
    rows: &[MetricRow],
) -> anyhow::Result<()> {
    let mut header = vec!["metric"];
    header.extend(columns.iter().map(|(name, _)| *name));
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(label, key, pct)| {
            let mut row = vec![label.to_string()];
            row.extend(columns.iter().map(|(_, m)| metric_text(*m, key, *pct)));
            row
        })
        .collect();
    print_table(&header, &table)
}

/// A progress bar of `len` steps with a message, or a hidden one when `show` is false.
pub fn bar(show: bool, len: u64, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}
