//! `pulse-testkit` locates the real market data shared beside the repository (`../shared/data`)
//! for tests and benchmarks, and holds the store conformance suite ([`store_conformance`]) that
//! every `Store` backend runs. Dev-dependency only.

pub mod store_conformance;

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // crates/testkit → two levels up.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The shared data directory: `$PULSE_SHARED_DATA` if set, else `<workspace>/../shared/data`.
///
/// Panics with a clear message when it is missing: tests on real data cannot run without it.
pub fn shared_data() -> PathBuf {
    let dir = std::env::var_os("PULSE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("..").join("shared").join("data"));
    assert!(
        dir.join("README.md").is_file(),
        "shared market data not found at {} (set PULSE_SHARED_DATA)",
        dir.display()
    );
    dir
}

/// A file of the shared data, e.g. `shared_file("daily-ohlcv/TSLA.csv")`.
pub fn shared_file(relative: &str) -> PathBuf {
    shared_data().join(relative)
}

/// The bundled sample data compiled into the binary (`<workspace>/data/bundle`).
pub fn bundle_dir() -> PathBuf {
    workspace_root().join("data").join("bundle")
}

/// Shortest wall time of `reps` calls of `f`, in seconds (the result is kept alive through
/// `black_box`). For benchmarks: the minimum is the figure least disturbed by other load.
pub fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = std::time::Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// A duration in seconds as `12.3 µs` below a millisecond, `4.56 ms` above.
pub fn fmt_secs(s: f64) -> String {
    if s < 1e-3 {
        format!("{:.1} µs", s * 1e6)
    } else {
        format!("{:.2} ms", s * 1e3)
    }
}
