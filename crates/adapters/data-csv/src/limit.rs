//! A reader that refuses physical lines longer than a limit, so that a file with a 2 GB line is
//! rejected after reading about `limit` bytes instead of being buffered whole by the CSV parser.

use std::io::{self, Read};

/// The error carried inside an `io::Error` when a line exceeds the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineTooLong {
    /// 1-based physical line number.
    pub line: u64,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} too long", self.line)
    }
}

impl std::error::Error for LineTooLong {}

/// Wraps a reader and fails as soon as the current physical line (bytes between `\n`) grows
/// beyond `limit` bytes. Memory use is independent of the input: it keeps two counters.
pub(crate) struct LineLimitReader<R> {
    inner: R,
    limit: usize,
    line: u64,
    current: usize,
    failed: Option<u64>,
}

impl<R: Read> LineLimitReader<R> {
    /// A reader allowing lines of at most `limit` bytes (excluding the `\n`).
    pub fn new(inner: R, limit: usize) -> Self {
        LineLimitReader {
            inner,
            limit,
            line: 1,
            current: 0,
            failed: None,
        }
    }
}

impl<R: Read> Read for LineLimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(line) = self.failed {
            return Err(io::Error::other(LineTooLong { line }));
        }
        // The caller's buffer bounds the over-read: the CSV reader passes its 8 KiB buffer, so
        // at most `limit` + 8 KiB bytes of an over-long line are ever read.
        let n = self.inner.read(buf)?;
        let mut rest = &buf[..n];
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            if self.current + pos > self.limit {
                self.failed = Some(self.line);
                return Err(io::Error::other(LineTooLong { line: self.line }));
            }
            self.line += 1;
            self.current = 0;
            rest = &rest[pos + 1..];
        }
        self.current += rest.len();
        if self.current > self.limit {
            self.failed = Some(self.line);
            return Err(io::Error::other(LineTooLong { line: self.line }));
        }
        Ok(n)
    }
}
