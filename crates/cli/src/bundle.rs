//! The bundled sample data (TSLA, TSLL, VIX, Fear & Greed since 2018, TSLA splits), compressed
//! into the binary by build.rs, and the sectors of the bundled symbols.

use anyhow::Context;
use flate2::read::GzDecoder;
use std::io::Read;

include!(concat!(env!("OUT_DIR"), "/bundle.rs"));

/// The rows of `data/sectors.csv` that classify a bundled symbol (TSLA, TSLL), with its header:
/// a sectors CSV file (see `pulse_app::data::parse_sectors`), selected by build.rs.
pub const SECTORS: &str = include_str!(concat!(env!("OUT_DIR"), "/bundle_sectors.csv"));

/// The bundled files, decompressed: (file name, CSV text bytes).
pub fn files() -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    BUNDLE
        .iter()
        .map(|(name, gz)| {
            let mut raw = Vec::new();
            GzDecoder::new(*gz)
                .read_to_end(&mut raw)
                .with_context(|| format!("bundled file {name} is corrupt"))?;
            Ok((*name, raw))
        })
        .collect()
}
