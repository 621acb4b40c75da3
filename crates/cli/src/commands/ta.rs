//! `pulse ta`: technical indicators over a CSV file or a stored series, one row per bar
//! (computed by `pulse_app::data::indicators`).

use crate::app::{App, usage};
use crate::cli::{TaArgs, TaFormat};
use crate::commands::data_io::{self, format_ts};
use crate::commands::parse_timeframe;
use crate::output::{print_json, print_table};
use pulse_app::data::{self as uc, IndicatorRequest, IndicatorTable};
use pulse_core::{Instrument, Timeframe};
use pulse_indicators::spec::{self, IndicatorSpec};
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
    let benchmark = args.benchmark.as_deref().map(data_io::symbol).transpose()?;
    let table = match (&args.input, &args.symbol) {
        (Some(path), None) => {
            let parsed = data_io::parse_file(path, &data_io::csv_options(args.bar_label))?;
            let (symbol, timeframe) = (parsed.symbol.clone(), parsed.timeframe);
            let batch = parsed.into_batch()?;
            let bench = match &benchmark {
                Some(b) => Some(uc::stored_bars(&app.store().await?, b, timeframe).await?),
                None => None,
            };
            let instrument = symbol.as_ref().map_or(batch.instrument, Instrument::infer);
            let bench = bench.as_deref();
            uc::indicators(&batch.bars, timeframe, &instrument, bench, &specs)?
        }
        (None, Some(sym)) => {
            let request = IndicatorRequest {
                timeframe: parse_timeframe(&args.timeframe)?,
                symbol: data_io::symbol(sym)?,
                benchmark,
                specs,
            };
            uc::stored_indicators(&app.store().await?, &request).await?
        }
        _ => {
            return Err(usage(
                "give exactly one of --input FILE.csv or --symbol SYMBOL",
            ));
        }
    };
    let default = [TaFormat::Csv, TaFormat::Json][usize::from(app.json)];
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(data_io::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_table(&mut out, &table, args.format.unwrap_or(default))?;
    out.flush()?;
    Ok(())
}

/// Writes the table as CSV (empty cells while warming up) or a JSON array (nulls).
fn write_table(out: &mut dyn Write, t: &IndicatorTable, format: TaFormat) -> anyhow::Result<()> {
    let key = if t.timeframe == Timeframe::D1 {
        "date"
    } else {
        "ts"
    };
    let finite = |v: f64| v.is_finite().then_some(v);
    match format {
        TaFormat::Csv => {
            write!(out, "{key}")?;
            for (name, _) in &t.columns {
                write!(out, ",{name}")?;
            }
            writeln!(out)?;
            for (i, ts) in t.timestamps.iter().enumerate() {
                write!(out, "{}", format_ts(*ts, t.timeframe))?;
                for (_, values) in &t.columns {
                    match finite(values[i]) {
                        Some(v) => write!(out, ",{v}")?,
                        None => write!(out, ",")?,
                    }
                }
                writeln!(out)?;
            }
        }
        TaFormat::Json => {
            let rows: Vec<serde_json::Map<String, serde_json::Value>> = (t.timestamps.iter())
                .enumerate()
                .map(|(i, ts)| {
                    let mut row = serde_json::Map::new();
                    row.insert(key.to_string(), format_ts(*ts, t.timeframe).into());
                    for (name, values) in &t.columns {
                        row.insert(name.clone(), finite(values[i]).into());
                    }
                    row
                })
                .collect();
            serde_json::to_writer(&mut *out, &rows)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

fn list(app: &App) -> anyhow::Result<()> {
    let infos = spec::list();
    if app.json {
        let v: Vec<serde_json::Value> = infos
            .iter()
            .map(|i| {
                let params: Vec<_> = (i.params.iter())
                    .map(|(p, d)| serde_json::json!({"name": p, "default": d}))
                    .collect();
                serde_json::json!({
                    "name": i.name, "params": params, "outputs": i.outputs, "description": i.description,
                })
            })
            .collect();
        return print_json(&v);
    }
    let rows: Vec<Vec<String>> = infos
        .iter()
        .map(|i| {
            let params: Vec<String> = i.params.iter().map(|(p, d)| format!("{p}={d}")).collect();
            let defaults: Vec<&str> = i.params.iter().map(|(_, d)| *d).collect();
            let example = if i.params.is_empty() {
                i.name.to_string()
            } else {
                format!("{}:{}", i.name, defaults.join(","))
            };
            let (outputs, about) = (i.outputs.join(" "), i.description.to_string());
            vec![example, params.join(","), outputs, about]
        })
        .collect();
    print_table(&["spec", "parameters", "outputs", "description"], &rows)
}
