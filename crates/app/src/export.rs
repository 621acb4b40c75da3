//! CSV export of runs (`--csv DIR`): equity, weights and fills of every strategy of a run as
//! tidy tables (one row per strategy and step, or per fill) that pandas, R or a spreadsheet read
//! directly. Timestamps are RFC 3339 in UTC; money in the account currency; weights are
//! fractions of equity.

use crate::AppError;
use crate::backtest::Evaluated;
use std::path::{Path, PathBuf};

/// One CSV table of an export: its file name and its content (header first).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// File name inside the export directory, e.g. `equity.csv`.
    pub file_name: &'static str,
    /// The CSV text.
    pub content: String,
}

fn encode(what: &'static str, rows: Vec<Vec<String>>) -> Result<String, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(&row).map_err(|e| AppError::Export {
            what,
            reason: e.to_string(),
        })?;
    }
    let bytes = w.into_inner().map_err(|e| AppError::Export {
        what,
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|e| AppError::Export {
        what,
        reason: e.to_string(),
    })
}

/// The three tables of a run: `equity.csv` (strategy, time, equity, cash, gross exposure),
/// `weights.csv` (strategy, time, symbol, target and actual weight) and `trades.csv` (every
/// fill: strategy, time, client id, symbol, side, quantity, price, fee, notional).
pub fn run_tables(runs: &[Evaluated]) -> Result<Vec<CsvTable>, AppError> {
    let mut equity = vec![vec![
        "strategy".to_string(),
        "time".into(),
        "equity".into(),
        "cash".into(),
        "gross_exposure".into(),
    ]];
    let mut weights = vec![vec![
        "strategy".to_string(),
        "time".into(),
        "symbol".into(),
        "target_weight".into(),
        "actual_weight".into(),
    ]];
    let mut trades = vec![vec![
        "strategy".to_string(),
        "time".into(),
        "client_id".into(),
        "symbol".into(),
        "side".into(),
        "quantity".into(),
        "price".into(),
        "fee".into(),
        "notional".into(),
    ]];
    for run in runs {
        let r = &run.result;
        let width = r.symbols.len();
        for (i, ts) in r.timestamps.iter().enumerate() {
            equity.push(vec![
                r.strategy.clone(),
                ts.to_string(),
                r.equity[i].to_string(),
                r.cash[i].to_string(),
                r.gross_exposure[i].to_string(),
            ]);
            for (j, symbol) in r.symbols.iter().enumerate() {
                let k = i * width + j;
                let (Some(target), Some(actual)) =
                    (r.target_weights.get(k), r.actual_weights.get(k))
                else {
                    continue;
                };
                weights.push(vec![
                    r.strategy.clone(),
                    ts.to_string(),
                    symbol.to_string(),
                    target.to_string(),
                    actual.to_string(),
                ]);
            }
        }
        for f in &r.fills {
            trades.push(vec![
                r.strategy.clone(),
                f.ts.to_string(),
                f.client_id.0.clone(),
                f.symbol.to_string(),
                f.side.to_string(),
                f.quantity.to_string(),
                f.price.to_string(),
                f.fee.to_string(),
                f.notional().to_string(),
            ]);
        }
    }
    Ok(vec![
        CsvTable {
            file_name: "equity.csv",
            content: encode("equity.csv", equity)?,
        },
        CsvTable {
            file_name: "weights.csv",
            content: encode("weights.csv", weights)?,
        },
        CsvTable {
            file_name: "trades.csv",
            content: encode("trades.csv", trades)?,
        },
    ])
}

/// Writes the tables into `dir` (created when missing) all or nothing: every table goes to a
/// temporary file first and only when all are written are they renamed into place, so a failure
/// (disk full, permissions) leaves no half-written export. Returns the written paths.
pub fn write_tables(dir: &Path, tables: &[CsvTable]) -> Result<Vec<PathBuf>, AppError> {
    let io = |path: &Path, source: std::io::Error| AppError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for table in tables {
        let path = dir.join(table.file_name);
        let tmp = dir.join(format!(".{}.partial", table.file_name));
        if let Err(e) = std::fs::write(&tmp, &table.content) {
            cleanup(&staged);
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp, e));
        }
        staged.push((tmp, path));
    }
    let mut written = Vec::with_capacity(staged.len());
    for (tmp, path) in &staged {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup(&staged);
            return Err(io(path, e));
        }
        written.push(path.clone());
    }
    Ok(written)
}

/// Writes `bytes` to `path` through `<path>.tmp` and a rename: never a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let err = |source| AppError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// The pipeline's per-holding analysis table as CSV (fractions, not percents; KRW amounts
/// unrounded; empty cells where a value is unknown).
pub fn analysis_csv(a: &crate::pipeline::Analysis) -> Result<String, AppError> {
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut rows: Vec<Vec<String>> = vec![
        [
            "date",
            "source",
            "asset",
            "class",
            "currency",
            "quantity",
            "price",
            "value",
            "fx",
            "value_krw",
            "cost_krw",
            "pnl_krw",
            "pnl_pct",
            "weight",
            "target_weight",
            "gap",
        ]
        .iter()
        .map(|h| (*h).to_string())
        .collect(),
    ];
    for r in &a.rows {
        rows.push(vec![
            a.date.to_string(),
            r.source.clone(),
            r.asset.clone(),
            r.class.clone(),
            r.currency.clone(),
            r.quantity.to_string(),
            opt(r.price),
            r.value.to_string(),
            r.fx.to_string(),
            r.value_krw.to_string(),
            opt(r.cost_krw),
            opt(r.pnl_krw),
            opt(r.pnl_pct),
            r.weight.to_string(),
            opt(r.target_weight),
            opt(r.gap),
        ]);
    }
    encode("the analysis table", rows)
}

#[cfg(test)]
mod tests {
    use super::{CsvTable, write_tables};

    #[test]
    fn an_export_into_a_path_that_is_a_file_fails_naming_it_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let tables = [CsvTable {
            file_name: "equity.csv",
            content: "a\n".into(),
        }];
        let err = write_tables(&blocker, &tables).unwrap_err().to_string();
        assert!(err.contains("not-a-dir"), "{err}");
        assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
    }

    #[test]
    fn every_table_lands_or_none_does() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("export");
        let tables = [
            CsvTable {
                file_name: "equity.csv",
                content: "strategy,time\nPulse,2024-01-02T21:00:00Z\n".into(),
            },
            CsvTable {
                file_name: "trades.csv",
                content: "strategy\n".into(),
            },
        ];
        let written = write_tables(&out, &tables).unwrap();
        assert_eq!(written.len(), 2);
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["equity.csv", "trades.csv"]);
        assert_eq!(
            std::fs::read_to_string(out.join("equity.csv")).unwrap(),
            tables[0].content
        );
    }
}
