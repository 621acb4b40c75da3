//! Writing bars, dividends and splits as CSV that this crate reads back unchanged.
//!
//! Numbers use Rust's shortest round-trip `f64` formatting (`Display`), so that every value
//! re-imports to the same `f64` and export → import → export is byte-identical.

use crate::parse::date_ts;
use pulse_core::jiff::Timestamp;
use pulse_core::jiff::civil::Date;
use pulse_core::jiff::tz::TimeZone;
use pulse_core::rust_decimal::Decimal;
use pulse_core::{Bar, CorporateAction, CorporateActionKind, Timeframe};
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Header of a daily export.
pub const DAILY_HEADER: &str = "date,open,high,low,close,adj_close,volume,dividends";
/// Header of an intraday export.
pub const INTRADAY_HEADER: &str = "ts,open,high,low,close,volume";
/// Header of a splits list.
pub const SPLITS_HEADER: &str = "date,symbol,ratio";

/// A streaming CSV writer of one series: create it (writes the header), feed bars chunk by
/// chunk, then [`SeriesCsvWriter::finish`]. Daily series get the dividends column.
#[derive(Debug)]
pub struct SeriesCsvWriter<W: Write> {
    w: W,
    timeframe: Timeframe,
    dividends: BTreeMap<Date, Decimal>,
    buf: String,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn push_opt(buf: &mut String, v: Option<f64>) {
    buf.push(',');
    if let Some(v) = v {
        let _ = write!(buf, "{v}");
    }
}

/// The UTC date of a daily bar, which must sit at 00:00:00Z.
fn daily_date(ts: Timestamp) -> io::Result<Date> {
    let date = ts.to_zoned(TimeZone::UTC).date();
    match date_ts(date) {
        Ok(midnight) if midnight == ts => Ok(date),
        _ => Err(invalid(format!(
            "daily bar at {ts} is not at 00:00:00Z; cannot write it as a date"
        ))),
    }
}

impl<W: Write> SeriesCsvWriter<W> {
    /// A writer of `timeframe` bars; writes the header line now.
    pub fn new(mut w: W, timeframe: Timeframe) -> io::Result<Self> {
        let header = if timeframe.is_intraday() {
            INTRADAY_HEADER
        } else {
            DAILY_HEADER
        };
        w.write_all(header.as_bytes())?;
        w.write_all(b"\n")?;
        Ok(SeriesCsvWriter {
            w,
            timeframe,
            dividends: BTreeMap::new(),
            buf: String::with_capacity(64 * 1024),
        })
    }

    /// Adds dividends to print in the `dividends` column on their ex-date rows (daily series
    /// only; splits are ignored; several dividends on one date are summed).
    pub fn with_dividends(mut self, actions: &[CorporateAction]) -> Self {
        for a in actions {
            if let CorporateActionKind::Dividend { cash_per_share } = a.kind {
                *self.dividends.entry(a.ex_date).or_insert(Decimal::ZERO) += cash_per_share;
            }
        }
        self
    }

    /// Writes one chunk of bars (in the order given).
    pub fn write_bars<I, B>(&mut self, bars: I) -> io::Result<()>
    where
        I: IntoIterator<Item = B>,
        B: Borrow<Bar>,
    {
        self.buf.clear();
        for b in bars {
            let b = b.borrow();
            if self.timeframe.is_intraday() {
                let _ = write!(
                    self.buf,
                    "{},{},{},{},{}",
                    b.ts, b.open, b.high, b.low, b.close
                );
                push_opt(&mut self.buf, b.volume);
            } else {
                let date = daily_date(b.ts)?;
                let _ = write!(
                    self.buf,
                    "{date},{},{},{},{}",
                    b.open, b.high, b.low, b.close
                );
                push_opt(&mut self.buf, b.adj_close);
                push_opt(&mut self.buf, b.volume);
                match self.dividends.get(&date) {
                    Some(d) => {
                        let _ = write!(self.buf, ",{d}");
                    }
                    None => self.buf.push_str(",0"),
                }
            }
            self.buf.push('\n');
            if self.buf.len() >= 60 * 1024 {
                self.w.write_all(self.buf.as_bytes())?;
                self.buf.clear();
            }
        }
        self.w.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Writes a whole series: header, bars, and (daily) the dividends of `actions` on their dates.
pub fn write_series_csv<W, I, B>(
    w: W,
    timeframe: Timeframe,
    bars: I,
    dividends: &[CorporateAction],
) -> io::Result<()>
where
    W: Write,
    I: IntoIterator<Item = B>,
    B: Borrow<Bar>,
{
    let mut writer = SeriesCsvWriter::new(w, timeframe)?.with_dividends(dividends);
    writer.write_bars(bars)?;
    writer.finish()?;
    Ok(())
}

/// Writes a splits list `date,symbol,ratio` of the split actions in `actions` (others ignored),
/// in the order given.
pub fn write_splits_csv<W: Write>(mut w: W, actions: &[CorporateAction]) -> io::Result<()> {
    let mut buf = String::with_capacity(64 + actions.len() * 24);
    buf.push_str(SPLITS_HEADER);
    buf.push('\n');
    for a in actions {
        if let CorporateActionKind::Split { ratio } = a.kind {
            let _ = writeln!(buf, "{},{},{}", a.ex_date, a.symbol, ratio);
        }
    }
    w.write_all(buf.as_bytes())?;
    w.flush()
}
