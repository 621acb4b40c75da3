//! Parquet export of bars (feature `parquet`, on by default), and a reader for round trips.
//!
//! Schema: `ts` INT64 TIMESTAMP(MICROS, UTC) required; `open`, `high`, `low`, `close`,
//! `adj_close`, `volume` DOUBLE, nullable. Uncompressed (no codec features are compiled in).
//! One row group per [`ParquetBarWriter::write_bars`] call, so a caller streams chunk by chunk.

use crate::error::CsvError;
use parquet::data_type::{DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;
use pulse_core::Bar;
use pulse_core::jiff::Timestamp;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The Parquet schema of a bar file.
pub const BAR_SCHEMA: &str = "message bars {
  REQUIRED INT64 ts (TIMESTAMP(MICROS, true));
  OPTIONAL DOUBLE open;
  OPTIONAL DOUBLE high;
  OPTIONAL DOUBLE low;
  OPTIONAL DOUBLE close;
  OPTIONAL DOUBLE adj_close;
  OPTIONAL DOUBLE volume;
}";

fn perr(file: &str) -> impl Fn(parquet::errors::ParquetError) -> CsvError + '_ {
    move |e| CsvError::Parquet {
        file: file.to_string(),
        reason: e.to_string(),
    }
}

/// A streaming Parquet writer of bars: `new`, any number of `write_bars`, then `finish`.
pub struct ParquetBarWriter<W: Write + Send> {
    name: String,
    writer: SerializedFileWriter<W>,
}

impl<W: Write + Send> ParquetBarWriter<W> {
    /// A writer into `w`; `name` is used in error messages.
    pub fn new(name: &str, w: W) -> Result<Self, CsvError> {
        let schema = Arc::new(parse_message_type(BAR_SCHEMA).map_err(perr(name))?);
        let props = Arc::new(WriterProperties::builder().build());
        let writer = SerializedFileWriter::new(w, schema, props).map_err(perr(name))?;
        Ok(ParquetBarWriter {
            name: name.to_string(),
            writer,
        })
    }

    /// Writes one chunk of bars as a row group (nothing for an empty chunk).
    pub fn write_bars(&mut self, bars: &[Bar]) -> Result<(), CsvError> {
        if bars.is_empty() {
            return Ok(());
        }
        let e = perr(&self.name);
        let ts: Vec<i64> = bars.iter().map(|b| b.ts.as_microsecond()).collect();
        let cols: [Vec<Option<f64>>; 6] = [
            bars.iter().map(|b| Some(b.open)).collect(),
            bars.iter().map(|b| Some(b.high)).collect(),
            bars.iter().map(|b| Some(b.low)).collect(),
            bars.iter().map(|b| Some(b.close)).collect(),
            bars.iter().map(|b| b.adj_close).collect(),
            bars.iter().map(|b| b.volume).collect(),
        ];
        let mut rg = self.writer.next_row_group().map_err(&e)?;
        let mut index = 0usize;
        while let Some(mut col) = rg.next_column().map_err(&e)? {
            if index == 0 {
                col.typed::<Int64Type>()
                    .write_batch(&ts, None, None)
                    .map_err(&e)?;
            } else if let Some(values) = cols.get(index - 1) {
                let present: Vec<f64> = values.iter().flatten().copied().collect();
                let def: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
                col.typed::<DoubleType>()
                    .write_batch(&present, Some(&def), None)
                    .map_err(&e)?;
            }
            col.close().map_err(&e)?;
            index += 1;
        }
        rg.close().map_err(&e)?;
        Ok(())
    }

    /// Writes the footer and returns the underlying writer.
    pub fn finish(self) -> Result<W, CsvError> {
        let e = perr(&self.name);
        self.writer.into_inner().map_err(e)
    }
}

/// Writes all `bars` to a Parquet file at `path` (one row group per 65 536 bars).
pub fn write_parquet_bars(path: &Path, bars: &[Bar]) -> Result<(), CsvError> {
    let name = path.display().to_string();
    let file = File::create(path).map_err(|source| CsvError::Io {
        file: name.clone(),
        source,
    })?;
    let mut w = ParquetBarWriter::new(&name, file)?;
    for chunk in bars.chunks(65_536) {
        w.write_bars(chunk)?;
    }
    let file = w.finish()?;
    file.sync_all()
        .map_err(|source| CsvError::Io { file: name, source })
}

/// Reads the bars of a Parquet file written with [`BAR_SCHEMA`].
pub fn read_parquet_bars(path: &Path) -> Result<Vec<Bar>, CsvError> {
    let name = path.display().to_string();
    let e = perr(&name);
    let file = File::open(path).map_err(|source| CsvError::Io {
        file: name.clone(),
        source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(&e)?;
    let rows = usize::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0);
    let mut bars = Vec::with_capacity(rows);
    for (i, row) in reader.get_row_iter(None).map_err(&e)?.enumerate() {
        let row = row.map_err(&e)?;
        let bad = |what: String| CsvError::Parquet {
            file: name.clone(),
            reason: format!("row {i}: {what}"),
        };
        let mut ts = None;
        let mut vals: [Option<f64>; 6] = [None; 6];
        for (col, (field_name, field)) in row.get_column_iter().enumerate() {
            match (col, field) {
                (0, Field::TimestampMicros(us)) => {
                    ts = Some(
                        Timestamp::from_microsecond(*us)
                            .map_err(|err| bad(format!("ts {us} out of range ({err})")))?,
                    );
                }
                (1..=6, Field::Double(v)) => vals[col - 1] = Some(*v),
                (1..=6, Field::Null) => {}
                (_, other) => {
                    return Err(bad(format!("unexpected column `{field_name}` = {other:?}")));
                }
            }
        }
        let ts = ts.ok_or_else(|| bad("ts is missing".to_string()))?;
        let need = |k: usize, n: &str| vals[k].ok_or_else(|| bad(format!("{n} is null")));
        bars.push(Bar {
            ts,
            open: need(0, "open")?,
            high: need(1, "high")?,
            low: need(2, "low")?,
            close: need(3, "close")?,
            adj_close: vals[4],
            volume: vals[5],
        });
    }
    Ok(bars)
}
