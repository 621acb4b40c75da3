//! `pulse ta`: technical indicators over a CSV file or a stored series, one row per bar.

use crate::app::{App, usage};
use crate::cli::{BarLabelArg, TaArgs, TaFormat};
use crate::commands::parse_timeframe;
use crate::output::{print_json, print_table};
use anyhow::{Context, bail};
use data_csv::{BarLabel, ImportOptions};
use jiff::tz::TimeZone;
use pulse_core::calendar::calendar;
use pulse_core::ports::Store;
use pulse_core::{Bar, Instrument, Symbol, Timeframe};
use pulse_indicators::spec::{self, IndicatorSpec, OhlcvColumns};
use std::collections::BTreeMap;
use std::io::Write;

/// Runs `pulse ta`.
pub async fn run(app: &App, args: TaArgs) -> anyhow::Result<()> {
    if args.list {
        return list(app);
    }
    if args.indicators.is_empty() {
        return Err(usage(
            "give at least one --indicator SPEC (e.g. rsi:14), or --list",
        ));
    }
    let specs: Vec<IndicatorSpec> = args
        .indicators
        .iter()
        .map(|s| spec::parse_spec(s).map_err(|e| usage(format!("--indicator {s:?}: {e}"))))
        .collect::<anyhow::Result<_>>()?;
    let (bars, timeframe, instrument, benchmark) = match (&args.input, &args.symbol) {
        (Some(path), None) => {
            let opts = ImportOptions {
                bar_label: match args.bar_label {
                    BarLabelArg::Start => BarLabel::Start,
                    BarLabelArg::End => BarLabel::End,
                },
                ..ImportOptions::default()
            };
            let parsed = data_csv::parse_path(path, &opts)?;
            let symbol = parsed.symbol.clone();
            let timeframe = parsed.timeframe;
            let batch = parsed.into_batch()?;
            let instrument = symbol
                .as_ref()
                .map(Instrument::infer)
                .unwrap_or(batch.instrument.clone());
            let bench = match &args.benchmark {
                Some(b) => Some(stored_bars(app, b, timeframe).await?),
                None => None,
            };
            (batch.bars, timeframe, instrument, bench)
        }
        (None, Some(sym)) => {
            let timeframe = parse_timeframe(&args.timeframe)?;
            let symbol = Symbol::try_new(sym.as_str()).map_err(|e| usage(e.to_string()))?;
            let store = app.store().await?;
            let instrument = store
                .instrument(&symbol)
                .await?
                .unwrap_or_else(|| Instrument::infer(&symbol));
            let bars = stored_bars(app, sym, timeframe).await?;
            let bench = match &args.benchmark {
                Some(b) => Some(stored_bars(app, b, timeframe).await?),
                None => None,
            };
            (bars, timeframe, instrument, bench)
        }
        _ => {
            return Err(usage(
                "give exactly one of --input FILE.csv or --symbol SYMBOL",
            ));
        }
    };
    if bars.is_empty() {
        bail!("no bars to compute indicators on");
    }
    let n = bars.len();
    let timestamps: Vec<i64> = bars.iter().map(|b| b.ts.as_second()).collect();
    let col = |f: fn(&Bar) -> f64| bars.iter().map(f).collect::<Vec<f64>>();
    let (open, high, low, close) = (
        col(|b| b.open),
        col(|b| b.high),
        col(|b| b.low),
        col(|b| b.close),
    );
    let volume = col(|b| b.volume.unwrap_or(0.0));
    // Session ids for session-anchored VWAP: the exchange-local trading date of each bar.
    let cal = calendar(instrument.exchange);
    let sessions: Option<Vec<i64>> = timeframe.is_intraday().then(|| {
        bars.iter()
            .map(|b| {
                i64::from(
                    cal.local_date(b.ts)
                        .since(jiff::civil::date(1970, 1, 1))
                        .map(|s| s.get_days())
                        .unwrap_or(0),
                )
            })
            .collect()
    });
    let benchmark_close: Option<Vec<f64>> = benchmark.map(|bench| {
        let by_ts: BTreeMap<i64, f64> = bench.iter().map(|b| (b.ts.as_second(), b.close)).collect();
        timestamps
            .iter()
            .map(|t| by_ts.get(t).copied().unwrap_or(f64::NAN))
            .collect()
    });
    let input = OhlcvColumns {
        timestamps: &timestamps,
        open: &open,
        high: &high,
        low: &low,
        close: &close,
        volume: &volume,
        sessions: sessions.as_deref(),
        benchmark_close: benchmark_close.as_deref(),
    };
    let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
    for s in &specs {
        columns.extend(spec::compute(s, &input).map_err(|e| usage(e.to_string()))?);
    }
    let key = if timeframe == Timeframe::D1 {
        "date"
    } else {
        "ts"
    };
    let label = |i: usize| {
        if timeframe == Timeframe::D1 {
            bars[i].ts.to_zoned(TimeZone::UTC).date().to_string()
        } else {
            bars[i].ts.to_string()
        }
    };
    let format = args.format.unwrap_or(if app.json {
        TaFormat::Json
    } else {
        TaFormat::Csv
    });
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match format {
        TaFormat::Csv => {
            write!(out, "{key}")?;
            for (name, _) in &columns {
                write!(out, ",{name}")?;
            }
            writeln!(out)?;
            for i in 0..n {
                write!(out, "{}", label(i))?;
                for (_, values) in &columns {
                    let v = values[i];
                    if v.is_finite() {
                        write!(out, ",{v}")?;
                    } else {
                        write!(out, ",")?;
                    }
                }
                writeln!(out)?;
            }
        }
        TaFormat::Json => {
            let rows: Vec<serde_json::Map<String, serde_json::Value>> = (0..n)
                .map(|i| {
                    let mut row = serde_json::Map::new();
                    row.insert(key.to_string(), label(i).into());
                    for (name, values) in &columns {
                        let v = values[i];
                        row.insert(
                            name.clone(),
                            if v.is_finite() {
                                v.into()
                            } else {
                                serde_json::Value::Null
                            },
                        );
                    }
                    row
                })
                .collect();
            serde_json::to_writer(&mut out, &rows)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}

async fn stored_bars(app: &App, symbol: &str, timeframe: Timeframe) -> anyhow::Result<Vec<Bar>> {
    let symbol = Symbol::try_new(symbol).map_err(|e| usage(e.to_string()))?;
    let store = app.store().await?;
    let bars = crate::commands::load_series(&store, &symbol, timeframe, None, None).await?;
    if bars.is_empty() {
        bail!("no {timeframe} bars stored for {symbol} (see `pulse data list`)");
    }
    Ok(bars)
}

fn list(app: &App) -> anyhow::Result<()> {
    let infos = spec::list();
    if app.json {
        let v: Vec<serde_json::Value> = infos
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.name,
                    "params": i.params.iter().map(|(p, d)| serde_json::json!({"name": p, "default": d})).collect::<Vec<_>>(),
                    "outputs": i.outputs,
                    "description": i.description,
                })
            })
            .collect();
        return print_json(&v);
    }
    let rows: Vec<Vec<String>> = infos
        .iter()
        .map(|i| {
            let params = i
                .params
                .iter()
                .map(|(p, d)| format!("{p}={d}"))
                .collect::<Vec<_>>()
                .join(",");
            let example = if i.params.is_empty() {
                i.name.to_string()
            } else {
                format!(
                    "{}:{}",
                    i.name,
                    i.params
                        .iter()
                        .map(|(_, d)| *d)
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            vec![
                example,
                params,
                i.outputs.join(" "),
                i.description.to_string(),
            ]
        })
        .collect();
    print_table(&["spec", "parameters", "outputs", "description"], &rows)
}
