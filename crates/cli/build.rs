//! Compresses the bundled sample data (`data/bundle/*.csv`) into OUT_DIR so that the binary
//! carries it and seeds an empty default database with no network and no files, and writes the
//! rows of `data/sectors.csv` that classify a bundled symbol to `OUT_DIR/bundle_sectors.csv`.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")?;
    let bundle = Path::new(&manifest).join("../../data/bundle");
    let out = std::env::var("OUT_DIR")?;
    println!("cargo:rerun-if-changed={}", bundle.display());
    let mut names: Vec<String> = std::fs::read_dir(&bundle)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort();
    let mut table =
        String::from("/// (file name, gzip-compressed CSV bytes) of the bundled sample data.\n");
    table.push_str("pub const BUNDLE: &[(&str, &[u8])] = &[\n");
    for name in &names {
        let raw = std::fs::read(bundle.join(name))?;
        println!("cargo:rerun-if-changed={}", bundle.join(name).display());
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&raw)?;
        let gz = enc.finish()?;
        let target = Path::new(&out).join(format!("{name}.gz"));
        std::fs::write(&target, gz)?;
        table.push_str(&format!(
            "    ({name:?}, include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.gz\"))),\n"
        ));
    }
    table.push_str("];\n");
    std::fs::write(Path::new(&out).join("bundle.rs"), table)?;

    let symbols: Vec<&str> = names.iter().map(|n| n.trim_end_matches(".csv")).collect();
    let sectors = Path::new(&manifest).join("../../data/sectors.csv");
    println!("cargo:rerun-if-changed={}", sectors.display());
    let subset = bundled_sectors(&std::fs::read_to_string(&sectors)?, &symbols)?;
    std::fs::write(Path::new(&out).join("bundle_sectors.csv"), subset)?;
    Ok(())
}

/// The header and the rows of a sectors file whose symbol (the first column) is one of
/// `symbols`. Line by line: the shipped file has no quoted line breaks.
fn bundled_sectors(text: &str, symbols: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    if !header.starts_with("symbol,") {
        return Err(
            format!("data/sectors.csv: header {header:?} does not start with symbol").into(),
        );
    }
    let mut out = format!("{header}\n");
    for line in lines {
        let symbol = line.split(',').next().unwrap_or_default();
        if symbols.contains(&symbol) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}
