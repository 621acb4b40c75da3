//! A per-symbol binary file of `f32` features, written row-major so that a trainer can stream
//! rows from disk (issue 16 item 4: never one in-memory frame of every symbol).
//!
//! Layout (all integers and floats little-endian):
//! ```text
//! magic  b"PMLF"            4 bytes
//! version u32 = 1
//! n_rows  u64
//! n_cols  u32
//! n_cols × (name_len u16, name UTF-8 bytes)
//! n_rows × ts i64           row timestamps, seconds since the Unix epoch (bar start, UTC)
//! n_rows × n_cols × f32     values, row-major (NaN = missing)
//! ```

use std::io::{Read, Write};

use pulse_core::jiff::Timestamp;

use crate::MlError;
use crate::features::FeatureFrame;

const MAGIC: &[u8; 4] = b"PMLF";
const VERSION: u32 = 1;
/// Refuse headers that claim more than this many columns (a corrupt file, not a request).
const MAX_COLS: u32 = 100_000;

fn io(e: std::io::Error) -> MlError {
    MlError::Io(e.to_string())
}

/// Writes `frame` in the layout of the module docs.
pub fn write_frame<W: Write>(frame: &FeatureFrame, mut w: W) -> Result<(), MlError> {
    let n = frame.n_rows();
    w.write_all(MAGIC).map_err(io)?;
    w.write_all(&VERSION.to_le_bytes()).map_err(io)?;
    w.write_all(&(n as u64).to_le_bytes()).map_err(io)?;
    w.write_all(&(frame.n_cols() as u32).to_le_bytes())
        .map_err(io)?;
    for name in frame.names() {
        let len = u16::try_from(name.len())
            .map_err(|_| MlError::Invalid(format!("column name too long: {name}")))?;
        w.write_all(&len.to_le_bytes()).map_err(io)?;
        w.write_all(name.as_bytes()).map_err(io)?;
    }
    for ts in frame.timestamps() {
        w.write_all(&ts.as_second().to_le_bytes()).map_err(io)?;
    }
    let mut row = vec![0f32; frame.n_cols()];
    let mut buf = Vec::with_capacity(4 * row.len());
    for i in 0..n {
        frame.row_into(i, &mut row)?;
        buf.clear();
        for v in &row {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Streams the rows of a file written by [`write_frame`] without loading the values at once
/// (the timestamps, 8 bytes a row, are read with the header).
#[derive(Debug)]
pub struct RowReader<R: Read> {
    r: R,
    names: Vec<String>,
    ts: Vec<Timestamp>,
    next: usize,
    buf: Vec<u8>,
}

fn read_exact<R: Read, const N: usize>(r: &mut R) -> Result<[u8; N], MlError> {
    let mut b = [0u8; N];
    r.read_exact(&mut b).map_err(io)?;
    Ok(b)
}

impl<R: Read> RowReader<R> {
    /// Reads and checks the header.
    pub fn new(mut r: R) -> Result<Self, MlError> {
        if &read_exact::<R, 4>(&mut r)? != MAGIC {
            return Err(MlError::Invalid("not a pulse-ml feature file".into()));
        }
        let version = u32::from_le_bytes(read_exact(&mut r)?);
        if version != VERSION {
            return Err(MlError::Invalid(format!(
                "feature file version {version}, expected {VERSION}"
            )));
        }
        let n_rows = u64::from_le_bytes(read_exact(&mut r)?);
        let n_cols = u32::from_le_bytes(read_exact(&mut r)?);
        if n_cols > MAX_COLS {
            return Err(MlError::Invalid(format!("{n_cols} columns")));
        }
        let mut names = Vec::with_capacity(n_cols as usize);
        for _ in 0..n_cols {
            let len = u16::from_le_bytes(read_exact(&mut r)?) as usize;
            let mut b = vec![0u8; len];
            r.read_exact(&mut b).map_err(io)?;
            names.push(
                String::from_utf8(b)
                    .map_err(|_| MlError::Invalid("column name is not UTF-8".into()))?,
            );
        }
        let mut ts = Vec::new();
        for _ in 0..n_rows {
            let s = i64::from_le_bytes(read_exact(&mut r)?);
            ts.push(Timestamp::from_second(s).map_err(|e| MlError::Invalid(e.to_string()))?);
        }
        let buf = vec![0u8; 4 * names.len()];
        Ok(RowReader {
            r,
            names,
            ts,
            next: 0,
            buf,
        })
    }

    /// Column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Row timestamps (bar starts, UTC).
    pub fn timestamps(&self) -> &[Timestamp] {
        &self.ts
    }

    /// Reads the next row into `out` (length = number of columns); `Ok(false)` after the last.
    pub fn next_row(&mut self, out: &mut [f32]) -> Result<bool, MlError> {
        if self.next >= self.ts.len() {
            return Ok(false);
        }
        if out.len() != self.names.len() {
            return Err(MlError::Invalid(format!(
                "row buffer of {} for {} columns",
                out.len(),
                self.names.len()
            )));
        }
        self.r.read_exact(&mut self.buf).map_err(io)?;
        for (o, b) in out.iter_mut().zip(self.buf.chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        self.next += 1;
        Ok(true)
    }
}

const LABEL_MAGIC: &[u8; 4] = b"PMLL";
const LABEL_VERSION: u32 = 1;

/// Writes one symbol's triple-barrier labels, one entry a feature row (`None` = no label), next
/// to its feature file. Layout (little-endian): `b"PMLL"`, version `u32 = 1`, `n_rows u64`, then
/// per row `present u8` (0/1), `label i8`, `exit_index u64`, `exit_ts i64` (seconds),
/// `entry f64`, `exit f64`, `ret f64`, `bars_held u64`, `mae f64` (all zero when absent).
pub fn write_labels<W: Write>(
    labels: &[Option<crate::labels::BarrierLabel>],
    mut w: W,
) -> Result<(), MlError> {
    w.write_all(LABEL_MAGIC).map_err(io)?;
    w.write_all(&LABEL_VERSION.to_le_bytes()).map_err(io)?;
    w.write_all(&(labels.len() as u64).to_le_bytes())
        .map_err(io)?;
    let mut buf = Vec::with_capacity(LABEL_ROW);
    for l in labels {
        buf.clear();
        match l {
            None => buf.resize(LABEL_ROW, 0),
            Some(l) => {
                buf.push(1);
                buf.extend_from_slice(&l.label.to_le_bytes());
                buf.extend_from_slice(&(l.exit_index as u64).to_le_bytes());
                buf.extend_from_slice(&l.exit_ts.as_second().to_le_bytes());
                for v in [l.entry, l.exit, l.ret] {
                    buf.extend_from_slice(&v.to_le_bytes());
                }
                buf.extend_from_slice(&(l.bars_held as u64).to_le_bytes());
                buf.extend_from_slice(&l.mae.to_le_bytes());
            }
        }
        w.write_all(&buf).map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Bytes of one row of a label file.
const LABEL_ROW: usize = 1 + 1 + 8 + 8 + 8 * 3 + 8 + 8;

/// Reads a file written by [`write_labels`].
pub fn read_labels<R: Read>(mut r: R) -> Result<Vec<Option<crate::labels::BarrierLabel>>, MlError> {
    if &read_exact::<R, 4>(&mut r)? != LABEL_MAGIC {
        return Err(MlError::Invalid("not a pulse-ml label file".into()));
    }
    let version = u32::from_le_bytes(read_exact(&mut r)?);
    if version != LABEL_VERSION {
        return Err(MlError::Invalid(format!(
            "label file version {version}, expected {LABEL_VERSION}"
        )));
    }
    let n = u64::from_le_bytes(read_exact(&mut r)?);
    let mut out = Vec::new();
    let mut b = [0u8; LABEL_ROW];
    for _ in 0..n {
        r.read_exact(&mut b).map_err(io)?;
        if b[0] == 0 {
            out.push(None);
            continue;
        }
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let f = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        let exit_ts = Timestamp::from_second(u(10) as i64)
            .map_err(|e| MlError::Invalid(format!("label file: {e}")))?;
        let to_usize = |v: u64| {
            usize::try_from(v).map_err(|_| MlError::Invalid("label file: index overflow".into()))
        };
        out.push(Some(crate::labels::BarrierLabel {
            label: i8::from_le_bytes([b[1]]),
            exit_index: to_usize(u(2))?,
            exit_ts,
            entry: f(18),
            exit: f(26),
            ret: f(34),
            bars_held: to_usize(u(42))?,
            mae: f(50),
        }));
    }
    Ok(out)
}
