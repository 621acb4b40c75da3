//! Benchmark of the SQLite store on ALL the shared market data: import throughput, streaming read
//! throughput with `BarPager`, and peak memory (VmHWM) of full-table streaming scans, each scan
//! measured in a fresh child process so that earlier peaks (the import) do not hide it.
//!
//! Run: `cargo bench -p store-sqlite` (release profile). Prints markdown tables.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Layout, all_shared_files, read_batch};
use pulse_core::Timeframe;
use pulse_core::ports::{BarPager, BarQuery, ImportBatch, Store};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;
use store_sqlite::SqliteStore;

/// VmHWM (peak resident set) of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// CPU time (user + system, all threads) of this process, in seconds. The machine is shared, so
/// wall time alone overstates the cost when other jobs compete for the 2 cores.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_comm = stat.rsplit(')').next().unwrap();
    let f: Vec<&str> = after_comm.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5), i.e. 12 and 13 after "pid (comm)".
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn shared_root() -> PathBuf {
    pulse_testkit::shared_data()
}

fn rate(rows: u64, secs: f64) -> String {
    format!("{:.0}", rows as f64 / secs)
}

/// Child mode: `--scan <db> <chunk> <timeframe|all> [collect]`. Prints `hwm_before hwm_after rows secs`.
fn scan_child(args: &[String]) {
    let db = PathBuf::from(&args[0]);
    let chunk: u32 = args[1].parse().unwrap();
    let which = args[2].clone();
    let collect = args.get(3).is_some_and(|a| a == "collect");
    let rt = runtime();
    rt.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let series = store.series().await.unwrap();
        let before = vm_hwm_kib();
        let start = Instant::now();
        let mut rows = 0u64;
        let mut kept = Vec::new();
        for s in series
            .iter()
            .filter(|s| which == "all" || s.timeframe.as_str() == which)
        {
            let q = BarQuery {
                symbol: s.symbol.clone(),
                timeframe: s.timeframe,
                start: None,
                end: None,
            };
            let mut pager = BarPager::new(q, chunk);
            while let Some(page) = pager.next_chunk(&store).await.unwrap() {
                rows += page.len() as u64;
                if collect {
                    kept.extend(page);
                } else {
                    black_box(&page);
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        black_box(&kept);
        let after = vm_hwm_kib();
        println!("{before} {after} {rows} {secs}");
        store.close().await;
    });
}

fn run_child(db: &Path, chunk: u32, which: &str, collect: bool) -> (u64, u64, u64, f64) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.arg("--scan").arg(db).arg(chunk.to_string()).arg(which);
    if collect {
        cmd.arg("collect");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let f: Vec<&str> = text.split_whitespace().collect();
    (
        f[0].parse().unwrap(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--scan") {
        scan_child(&args[i + 1..]);
        return;
    }
    let root = shared_root();
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime();

    // Parse every file first (not timed as import).
    let files = all_shared_files(&root);
    let t = Instant::now();
    let mut groups: Vec<(&'static str, Vec<ImportBatch>)> = Vec::new();
    for (path, layout) in &files {
        let group = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .map(|n| match n {
                "daily-ohlcv" => "daily-ohlcv",
                "daily-adjclose" => "daily-adjclose",
                "daily-index" => "daily-index",
                _ => "intraday-1m",
            })
            .unwrap();
        let batch = read_batch(path, *layout);
        match groups.iter_mut().find(|g| g.0 == group) {
            Some(g) => g.1.push(batch),
            None => groups.push((group, vec![batch])),
        }
    }
    let parse_secs = t.elapsed().as_secs_f64();
    let total_rows: u64 = groups
        .iter()
        .flat_map(|g| &g.1)
        .map(|b| b.bars.len() as u64)
        .sum();
    println!(
        "parsed {} files, {total_rows} rows in {parse_secs:.3} s (test reader, not timed below)\n",
        files.len()
    );

    println!(
        "### Import (each line = one `Store::import` call = one transaction; release build)\n"
    );
    println!(
        "| import | files | rows | inserted | updated | unchanged | wall s | CPU s | rows/s (wall) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");

    // 1. BTCUSDT alone into a fresh file: the 43,200-row target.
    let btc = read_batch(
        &pulse_testkit::shared_file("intraday-1m/BTCUSDT.csv"),
        Layout::Intraday,
    );
    rt.block_on(async {
        let store = SqliteStore::open(&dir.path().join("btc.db")).await.unwrap();
        for label in ["BTCUSDT 1m, fresh file", "BTCUSDT 1m, re-import (no-op)"] {
            let (t, c) = (Instant::now(), cpu_secs());
            let s = store.import(std::slice::from_ref(&btc)).await.unwrap();
            let secs = t.elapsed().as_secs_f64();
            let cpu = cpu_secs() - c;
            println!(
                "| {label} | 1 | {} | {} | {} | {} | {secs:.3} | {cpu:.2} | {} |",
                btc.bars.len(),
                s.bars_inserted,
                s.bars_updated,
                s.bars_unchanged,
                rate(btc.bars.len() as u64, secs)
            );
        }
        store.close().await;
    });

    // 2. Each directory in turn into one store, then everything again (all unchanged).
    let db = dir.path().join("all.db");
    rt.block_on(async {
        let store = SqliteStore::open(&db).await.unwrap();
        let (mut total_secs, mut total_cpu) = (0.0, 0.0);
        for (name, batches) in &groups {
            let rows: u64 = batches.iter().map(|b| b.bars.len() as u64).sum();
            let (t, c) = (Instant::now(), cpu_secs());
            let s = store.import(batches).await.unwrap();
            let secs = t.elapsed().as_secs_f64();
            let cpu = cpu_secs() - c;
            total_secs += secs;
            total_cpu += cpu;
            println!(
                "| {name} (in order, same file) | {} | {rows} | {} | {} | {} | {secs:.3} | {cpu:.2} | {} |",
                batches.len(),
                s.bars_inserted,
                s.bars_updated,
                s.bars_unchanged,
                rate(rows, secs)
            );
        }
        println!(
            "| **all shared data, first load** | {} | {total_rows} | | | | {total_secs:.3} | {total_cpu:.2} | {} |",
            files.len(),
            rate(total_rows, total_secs)
        );
        let all: Vec<ImportBatch> = groups.iter().flat_map(|g| g.1.clone()).collect();
        let (t, c) = (Instant::now(), cpu_secs());
        let s = store.import(&all).await.unwrap();
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_secs() - c;
        println!(
            "| all shared data, re-import in one transaction | {} | {total_rows} | {} | {} | {} | {secs:.3} | {cpu:.2} | {} |",
            all.len(),
            s.bars_inserted,
            s.bars_updated,
            s.bars_unchanged,
            rate(total_rows, secs)
        );
        let t = Instant::now();
        let n_series = black_box(store.series().await.unwrap()).len();
        let series_secs = t.elapsed().as_secs_f64();
        let counts = store.table_counts().await.unwrap();
        println!(
            "\nstored: {} bars in {n_series} series, {} instruments, {} corporate actions; file {:.1} MiB; \
             `series()` (count/min/max over the whole bars table) {:.1} ms\n",
            counts.bars,
            counts.instruments,
            counts.corporate_actions,
            std::fs::metadata(&db).unwrap().len() as f64 / 1048576.0,
            series_secs * 1000.0
        );

        // 3. Streaming read throughput (in this process; throughput only).
        println!("### Streaming read with BarPager (every series, in time order)\n");
        println!("| scope | chunk | rows | wall s | CPU s | rows/s (wall) |");
        println!("|---|---:|---:|---:|---:|---:|");
        let series = store.series().await.unwrap();
        for (scope, tf) in [("all series", None), ("1m series", Some(Timeframe::M1))] {
            for chunk in [1_000u32, 10_000] {
                let (t, c) = (Instant::now(), cpu_secs());
                let mut rows = 0u64;
                for s in series.iter().filter(|s| tf.is_none_or(|tf| s.timeframe == tf)) {
                    let mut pager = BarPager::new(
                        BarQuery {
                            symbol: s.symbol.clone(),
                            timeframe: s.timeframe,
                            start: None,
                            end: None,
                        },
                        chunk,
                    );
                    while let Some(page) = pager.next_chunk(&store).await.unwrap() {
                        rows += page.len() as u64;
                        black_box(&page);
                    }
                }
                let secs = t.elapsed().as_secs_f64();
                let cpu = cpu_secs() - c;
                println!(
                    "| {scope} | {chunk} | {rows} | {secs:.3} | {cpu:.2} | {} |",
                    rate(rows, secs)
                );
            }
        }
        store.close().await;
    });

    // 4. Peak memory of full scans, each in a fresh process (VmHWM before/after the scan).
    println!(
        "\n### Peak memory of a full streaming scan (each scan in a fresh process; VmHWM in KiB)\n"
    );
    println!("| scan | chunk | rows | VmHWM before | VmHWM after | growth | seconds |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, chunk, which, collect) in [
        ("all 1m bars, streamed", 1_000u32, "1m", false),
        ("all 1m bars, streamed", 10_000, "1m", false),
        ("all 1m bars, streamed", 100_000, "1m", false),
        ("ALL bars (1m + 1d), streamed", 10_000, "all", false),
        (
            "all 1m bars, collected into one Vec (contrast)",
            10_000,
            "1m",
            true,
        ),
    ] {
        let (before, after, rows, secs) = run_child(&db, chunk, which, collect);
        println!(
            "| {label} | {chunk} | {rows} | {before} | {after} | {} | {secs:.3} |",
            after.saturating_sub(before)
        );
    }
}
