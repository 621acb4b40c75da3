#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! Over-long lines are refused after reading about `max_line_bytes`, whatever the line's length,
//! with memory that does not grow with the line. One test function, alone in its own binary, so
//! that the process's peak-memory figure is this test's.

use data_csv::{CsvError, ImportOptions, parse_path, parse_reader};
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// `date,value\n2024-01-02,` followed by `len` digits, generated on the fly; counts bytes served.
struct HugeLine {
    prefix: &'static [u8],
    pos: u64,
    len: u64,
    served: Arc<AtomicU64>,
}

impl Read for HugeLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let total = self.prefix.len() as u64 + self.len;
        let mut n = 0;
        while n < buf.len() && self.pos < total {
            buf[n] = match self.prefix.get(self.pos as usize) {
                Some(b) => *b,
                None => b'1',
            };
            n += 1;
            self.pos += 1;
        }
        self.served.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn over_long_lines_are_refused_early_with_bounded_memory() {
    const MIB: usize = 1 << 20;
    let opts = ImportOptions {
        max_line_bytes: MIB,
        ..ImportOptions::default()
    };
    let peak_before = peak_kib();

    // 1. A 2 GB line from a generator: refused after about 1 MiB has been read.
    let served = Arc::new(AtomicU64::new(0));
    let reader = HugeLine {
        prefix: b"date,value\n2024-01-02,",
        pos: 0,
        len: 2_000_000_000,
        served: Arc::clone(&served),
    };
    let e = parse_reader("huge.csv", reader, &opts).unwrap_err();
    assert!(
        matches!(e, CsvError::LineTooLong { line: 2, limit, .. } if limit == MIB),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("huge.csv:2: line longer than the limit of 1048576 bytes"),
        "{e}"
    );
    let read = served.load(Ordering::Relaxed);
    assert!(
        read <= (MIB + 64 * 1024) as u64,
        "read {read} bytes of a 2 GB line before refusing it"
    );

    // 2. A real file with an 8 MiB line (written in chunks, never held in memory).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("LONG.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all(b"date,value\n2024-01-02,1\n2024-01-03,")
            .unwrap();
        let chunk = vec![b'7'; 64 * 1024];
        for _ in 0..(8 * MIB / chunk.len()) {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n2024-01-04,1\n").unwrap();
    }
    let e = parse_path(&path, &opts).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("LONG.csv:3: line longer than the limit"),
        "{msg}"
    );

    // Peak memory grew by far less than the 8 MiB line (the CSV reader alone would have
    // buffered all of it).
    let grown_kib = peak_kib().saturating_sub(peak_before);
    assert!(
        grown_kib < 6 * 1024,
        "peak RSS grew by {grown_kib} KiB while refusing an 8 MiB line"
    );

    // 3. The limit is exact: a line of `max` bytes passes, one more byte fails.
    let small = ImportOptions {
        max_line_bytes: 13,
        ..ImportOptions::default()
    };
    let ok = "date,value\n2024-01-02,100\n"; // second line: 14 bytes
    let e = parse_reader("s.csv", ok.as_bytes(), &small).unwrap_err();
    assert!(e.to_string().starts_with("s.csv:2: line longer"), "{e}");
    let fits = "date,value\n2024-01-02,10\n"; // 13 bytes
    let pf = parse_reader("s.csv", fits.as_bytes(), &small).unwrap();
    assert_eq!(pf.rows[0].bar.close, 10.0);
}
