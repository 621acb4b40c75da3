//! Compresses the bundled sample data (`data/bundle/*.csv`) into OUT_DIR so that the binary
//! carries it and seeds an empty default database with no network and no files.

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
    Ok(())
}
