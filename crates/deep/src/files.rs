//! Model directories written atomically: every model of this crate saves its weights
//! (safetensors) and its card (JSON) through [`save_model_dir`].

use candle_core::Tensor;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary directories of concurrent saves within one process.
static SAVE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why a model directory could not be written: an I/O error or another reason, with the path at
/// fault. Each model maps it into its own error type.
#[derive(Debug)]
pub(crate) enum SaveError {
    /// Reading or writing `path` failed.
    Io(PathBuf, std::io::Error),
    /// Something else is wrong with `path` (it exists, has no name, a tensor cannot be written).
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
) -> Result<(), SaveError> {
    let exists = |dir: &Path| {
        SaveError::Other(
            dir.to_path_buf(),
            "exists: a model is never overwritten".into(),
        )
    };
    if !replace && dir.exists() {
        return Err(exists(dir));
    }
    let name = dir
        .file_name()
        .ok_or_else(|| {
            SaveError::Other(dir.to_path_buf(), "a model directory needs a name".into())
        })?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| SaveError::Io(parent.clone(), e))?;
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
            Err(e) => return Err(SaveError::Io(tmp, e)),
        }
    };
    let fail = |e: SaveError| {
        let _ = std::fs::remove_dir_all(&tmp);
        e
    };
    write_files(&tmp, files).map_err(fail)?;
    if dir.exists() {
        if !replace {
            return Err(fail(exists(dir)));
        }
        let old = parent.join(format!(".{name}.old-{nonce}"));
        std::fs::rename(dir, &old).map_err(|e| fail(SaveError::Io(dir.to_path_buf(), e)))?;
        if let Err(e) = std::fs::rename(&tmp, dir) {
            let _ = std::fs::rename(&old, dir);
            return Err(fail(SaveError::Io(dir.to_path_buf(), e)));
        }
        std::fs::remove_dir_all(&old).map_err(|e| SaveError::Io(old.clone(), e))?;
    } else {
        std::fs::rename(&tmp, dir).map_err(|e| fail(SaveError::Io(dir.to_path_buf(), e)))?;
    }
    // Make the rename durable (best effort: not every platform can sync a directory).
    if let Ok(d) = std::fs::File::open(&parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_files(dir: &Path, files: &ModelDir<'_>) -> Result<(), SaveError> {
    let (weights_name, tensors) = files.weights;
    let weights = dir.join(weights_name);
    candle_core::safetensors::save(tensors, &weights)
        .map_err(|e| SaveError::Other(weights.clone(), format!("cannot write: {e}")))?;
    std::fs::File::open(&weights)
        .and_then(|f| f.sync_all())
        .map_err(|e| SaveError::Io(weights.clone(), e))?;
    let (card_name, bytes) = files.card;
    let card = dir.join(card_name);
    let mut f = std::fs::File::create(&card).map_err(|e| SaveError::Io(card.clone(), e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| SaveError::Io(card.clone(), e))?;
    Ok(())
}
