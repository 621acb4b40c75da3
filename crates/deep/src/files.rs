//! Model directories: every model of this crate saves its weights (safetensors) and its card
//! (JSON) through [`save_model_dir`], atomically, and reads them back, checked, through
//! [`read_model_dir`].

use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary directories of concurrent saves within one process.
static SAVE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why a model directory could not be written or read: an I/O error or another reason, with the
/// path at fault. Each model maps it into its own error type.
#[derive(Debug)]
pub(crate) enum DirError {
    /// Reading or writing `path` failed.
    Io(PathBuf, std::io::Error),
    /// Something else is wrong with `path` (it exists, has no name, a tensor cannot be written,
    /// a file is malformed).
    Other(PathBuf, String),
}

/// What a saved model directory holds.
pub(crate) struct ModelDir<'a> {
    /// Weights file name and its tensors.
    pub weights: (&'a str, &'a HashMap<String, Tensor>),
    /// Card file name and its JSON bytes.
    pub card: (&'a str, &'a [u8]),
}

/// Writes `files` into `dir`: both files are written and synced in a fresh sibling directory,
/// which is then renamed to `dir`, so a crash never leaves a half-written model under `dir`. An
/// existing `dir` is refused unless `replace`; a replaced model is moved aside first (a crash at
/// that instant leaves it under a `.<name>.old-*` sibling).
pub(crate) fn save_model_dir(
    dir: &Path,
    replace: bool,
    files: &ModelDir<'_>,
) -> Result<(), DirError> {
    let exists = |dir: &Path| {
        DirError::Other(
            dir.to_path_buf(),
            "exists: a model is never overwritten".into(),
        )
    };
    if !replace && dir.exists() {
        return Err(exists(dir));
    }
    let name = dir
        .file_name()
        .ok_or_else(|| DirError::Other(dir.to_path_buf(), "a model directory needs a name".into()))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| DirError::Io(parent.clone(), e))?;
    // A fresh sibling: the process id and a counter, skipping names a crashed save left.
    let (tmp, nonce) = loop {
        let nonce = format!(
            "{}-{}",
            std::process::id(),
            SAVE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = parent.join(format!(".{name}.tmp-{nonce}"));
        match std::fs::create_dir(&tmp) {
            Ok(()) => break (tmp, nonce),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(DirError::Io(tmp, e)),
        }
    };
    let fail = |e: DirError| {
        let _ = std::fs::remove_dir_all(&tmp);
        e
    };
    write_files(&tmp, files).map_err(fail)?;
    if dir.exists() {
        if !replace {
            return Err(fail(exists(dir)));
        }
        let old = parent.join(format!(".{name}.old-{nonce}"));
        std::fs::rename(dir, &old).map_err(|e| fail(DirError::Io(dir.to_path_buf(), e)))?;
        if let Err(e) = std::fs::rename(&tmp, dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(fail(DirError::Io(dir.to_path_buf(), e)));
        }
        std::fs::remove_dir_all(&old).map_err(|e| DirError::Io(old.clone(), e))?;
    } else {
        std::fs::rename(&tmp, dir).map_err(|e| fail(DirError::Io(dir.to_path_buf(), e)))?;
    }
    // Make the rename durable (best effort: not every platform can sync a directory).
    if let Ok(d) = std::fs::File::open(&parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_files(dir: &Path, files: &ModelDir<'_>) -> Result<(), DirError> {
    let (weights_name, tensors) = files.weights;
    let weights = dir.join(weights_name);
    candle_core::safetensors::save(tensors, &weights)
        .map_err(|e| DirError::Other(weights.clone(), format!("cannot write: {e}")))?;
    std::fs::File::open(&weights)
        .and_then(|f| f.sync_all())
        .map_err(|e| DirError::Io(weights.clone(), e))?;
    let (card_name, bytes) = files.card;
    let card = dir.join(card_name);
    let mut f = std::fs::File::create(&card).map_err(|e| DirError::Io(card.clone(), e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| DirError::Io(card.clone(), e))?;
    Ok(())
}

/// The card (JSON file) of a model directory, as [`read_model_dir`] reads and checks it.
pub(crate) trait Card: serde::de::DeserializeOwned {
    /// Name of the card file in the directory.
    const CARD_FILE: &'static str;
    /// Name of the weights file (safetensors) in the directory.
    const WEIGHTS_FILE: &'static str;
    /// The card layout version this build reads.
    const FORMAT: u32;

    /// The layout version the card was written with.
    fn format(&self) -> u32;

    /// Checks the card's content (configuration, metadata); the reason when it is unusable.
    fn check(&self) -> Result<(), String>;

    /// Names and shapes of every tensor of the network the card describes, in the order of the
    /// model's parameters.
    fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)>;
}

/// Reads a model directory written by [`save_model_dir`]: the card `C::CARD_FILE` (JSON, its
/// format version, then [`Card::check`]) and the weights `C::WEIGHTS_FILE`, which must hold
/// exactly the tensors of [`Card::tensor_shapes`], each f32, of its shape, every value finite.
/// Returns the card and the tensors' values (row-major) in that order. Errors name the file at
/// fault.
pub(crate) fn read_model_dir<C: Card>(dir: &Path) -> Result<(C, Vec<Vec<f32>>), DirError> {
    let card_path = dir.join(C::CARD_FILE);
    let text =
        std::fs::read_to_string(&card_path).map_err(|e| DirError::Io(card_path.clone(), e))?;
    let card: C = serde_json::from_str(&text)
        .map_err(|e| DirError::Other(card_path.clone(), format!("malformed: {e}")))?;
    if card.format() != C::FORMAT {
        return Err(DirError::Other(
            card_path,
            format!(
                "format {} is not supported (expected {})",
                card.format(),
                C::FORMAT
            ),
        ));
    }
    card.check()
        .map_err(|reason| DirError::Other(card_path.clone(), reason))?;

    let weights = dir.join(C::WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).map_err(|e| DirError::Io(weights.clone(), e))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| DirError::Other(weights.clone(), format!("not a safetensors file: {e}")))?;
    let shapes = card.tensor_shapes();
    if tensors.len() != shapes.len() {
        return Err(DirError::Other(
            weights,
            format!(
                "{} tensors, the configured network has {}",
                tensors.len(),
                shapes.len()
            ),
        ));
    }
    let params = shapes
        .iter()
        .map(|(name, shape)| take(&tensors, name, shape, &weights))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((card, params))
}

/// The values of the tensor `name` of the file `path`: present, f32, of `shape`, every value
/// finite.
fn take(
    tensors: &HashMap<String, Tensor>,
    name: &str,
    shape: &[usize],
    path: &Path,
) -> Result<Vec<f32>, DirError> {
    let bad = |reason: String| DirError::Other(path.to_path_buf(), reason);
    let t = tensors
        .get(name)
        .ok_or_else(|| bad(format!("tensor {name} is missing")))?;
    if t.dtype() != DType::F32 {
        return Err(bad(format!(
            "tensor {name} is {:?}, expected f32",
            t.dtype()
        )));
    }
    if t.dims() != shape {
        return Err(bad(format!(
            "tensor {name} has shape {:?}, expected {shape:?}",
            t.dims()
        )));
    }
    let values = t
        .flatten_all()
        .and_then(|f| f.to_vec1::<f32>())
        .map_err(|e| bad(format!("tensor {name}: {e}")))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad(format!("tensor {name} has a non-finite value")));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct TestCard {
        format: u32,
        width: usize,
    }

    impl Card for TestCard {
        const CARD_FILE: &'static str = "t.json";
        const WEIGHTS_FILE: &'static str = "t.safetensors";
        const FORMAT: u32 = 1;
        fn format(&self) -> u32 {
            self.format
        }
        fn check(&self) -> Result<(), String> {
            if self.width == 0 {
                Err("width 0".into())
            } else {
                Ok(())
            }
        }
        fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
            vec![("w".into(), vec![2, self.width]), ("b".into(), vec![2])]
        }
    }

    fn write(dir: &Path, card: &str, tensors: &[(&str, Tensor)]) {
        let tensors: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(n, t)| (n.to_string(), t.clone()))
            .collect();
        save_model_dir(
            dir,
            true,
            &ModelDir {
                weights: (TestCard::WEIGHTS_FILE, &tensors),
                card: (TestCard::CARD_FILE, card.as_bytes()),
            },
        )
        .unwrap();
    }

    fn reason(dir: &Path) -> (PathBuf, String) {
        match read_model_dir::<TestCard>(dir) {
            Err(DirError::Other(path, reason)) => (path, reason),
            Err(DirError::Io(path, e)) => (path, e.to_string()),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn reads_back_in_shape_order_and_names_the_file_at_fault() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("m");
        let card = r#"{"format": 1, "width": 3}"#;
        let w = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6.], (2, 3), &Device::Cpu).unwrap();
        let b = Tensor::from_slice(&[7f32, 8.], 2, &Device::Cpu).unwrap();
        write(&dir, card, &[("w", w.clone()), ("b", b.clone())]);
        let (c, params) = read_model_dir::<TestCard>(&dir).unwrap();
        assert_eq!(c.width, 3);
        assert_eq!(params, vec![vec![1., 2., 3., 4., 5., 6.], vec![7., 8.]]);

        let weights = dir.join(TestCard::WEIGHTS_FILE);
        let card_path = dir.join(TestCard::CARD_FILE);
        // Card: format, check.
        write(
            &dir,
            r#"{"format": 2, "width": 3}"#,
            &[("w", w.clone()), ("b", b.clone())],
        );
        let (path, why) = reason(&dir);
        assert_eq!(path, card_path);
        assert!(why.contains("format 2 is not supported"), "{why}");
        write(
            &dir,
            r#"{"format": 1, "width": 0}"#,
            &[("w", w.clone()), ("b", b.clone())],
        );
        assert_eq!(reason(&dir), (card_path.clone(), "width 0".to_string()));
        // Weights: count, missing, type, shape, non-finite.
        write(&dir, card, &[("w", w.clone())]);
        assert_eq!(
            reason(&dir),
            (
                weights.clone(),
                "1 tensors, the configured network has 2".to_string()
            )
        );
        write(&dir, card, &[("w", w.clone()), ("c", b.clone())]);
        assert_eq!(
            reason(&dir),
            (weights.clone(), "tensor b is missing".to_string())
        );
        let b64 = b.to_dtype(DType::F64).unwrap();
        write(&dir, card, &[("w", w.clone()), ("b", b64)]);
        assert!(reason(&dir).1.contains("tensor b is F64, expected f32"));
        write(
            &dir,
            card,
            &[("w", w.reshape((3, 2)).unwrap()), ("b", b.clone())],
        );
        assert!(
            reason(&dir)
                .1
                .contains("tensor w has shape [3, 2], expected [2, 3]")
        );
        let nan = Tensor::from_slice(&[7f32, f32::NAN], 2, &Device::Cpu).unwrap();
        write(&dir, card, &[("w", w), ("b", nan)]);
        assert_eq!(
            reason(&dir),
            (weights, "tensor b has a non-finite value".to_string())
        );
    }
}
