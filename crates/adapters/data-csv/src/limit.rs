//! A reader that refuses physical lines longer than a limit, so that a file with a 2 GB line is
//! rejected after reading about `limit` bytes instead of being buffered whole by the CSV parser.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

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

/// Offsets of the `\r` and `\n` bytes read ahead but not yet attributed to a record, shared
/// between the reader (which sees the bytes) and the parser (which sees record offsets).
pub(crate) type Terminators = Rc<RefCell<VecDeque<(u64, u8)>>>;

/// Wraps a reader and fails as soon as the current physical line (ended by `\n`, `\r\n` or `\r`) grows
/// beyond `limit` bytes. Memory use is independent of the input: two counters, plus the line
/// terminators of the read-ahead buffer (drained by [`LineTracker`] record by record).
pub(crate) struct LineLimitReader<R> {
    inner: R,
    limit: usize,
    line: u64,
    current: usize,
    offset: u64,
    prev_cr: bool,
    failed: Option<u64>,
    terms: Terminators,
}

impl<R: Read> LineLimitReader<R> {
    /// A reader allowing lines of at most `limit` bytes (excluding the `\n`), and the tracker
    /// that turns record byte offsets into 1-based line numbers.
    pub fn new(inner: R, limit: usize) -> (Self, LineTracker) {
        let terms: Terminators = Rc::new(RefCell::new(VecDeque::new()));
        (
            LineLimitReader {
                inner,
                limit,
                line: 1,
                current: 0,
                offset: 0,
                prev_cr: false,
                failed: None,
                terms: Rc::clone(&terms),
            },
            LineTracker {
                terms,
                newlines: 0,
                last_cr: None,
            },
        )
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
        let mut terms = self.terms.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            // Lines end at `\n`, `\r\n` or a lone `\r`, as for the CSV reader.
            match b {
                b'\n' | b'\r' => {
                    terms.push_back((self.offset + i as u64, b));
                    if !(b == b'\n' && self.prev_cr) {
                        self.line += 1;
                    }
                    self.prev_cr = b == b'\r';
                    self.current = 0;
                    continue;
                }
                _ => self.prev_cr = false,
            }
            self.current += 1;
            if self.current > self.limit {
                self.failed = Some(self.line);
                return Err(io::Error::other(LineTooLong { line: self.line }));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Turns the byte offsets the CSV reader reports for records into physical line numbers (the
/// reader's own line counter is wrong for CRLF files and after blank lines).
pub(crate) struct LineTracker {
    terms: Terminators,
    newlines: u64,
    last_cr: Option<u64>,
}

impl LineTracker {
    /// Counts one terminator byte: `\r` ends a line, `\n` too unless it completes `\r\n`.
    fn count(&mut self, off: u64, b: u8) {
        if b == b'\r' {
            self.newlines += 1;
            self.last_cr = Some(off);
        } else if self.last_cr.is_none_or(|cr| cr + 1 != off) {
            self.newlines += 1;
        }
    }

    /// The 1-based line of a record whose scan began at byte `start` (just after the previous
    /// record's first terminator byte; blank lines in between are skipped by the reader).
    pub fn line_of(&mut self, start: u64) -> u64 {
        let shared = Rc::clone(&self.terms);
        let mut terms = shared.borrow_mut();
        while let Some(&(off, b)) = terms.front() {
            if off >= start {
                break;
            }
            self.count(off, b);
            terms.pop_front();
        }
        // The run of terminators starting at `start` is the rest of the previous line's ending
        // and any blank lines: the record begins after it.
        let mut cursor = start;
        while let Some(&(off, b)) = terms.front() {
            if off != cursor {
                break;
            }
            self.count(off, b);
            terms.pop_front();
            cursor += 1;
        }
        self.newlines + 1
    }
}
