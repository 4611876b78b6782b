use std::path::PathBuf;

/// What can go wrong loading, running or installing the model. Every file error names the
/// file, so the person reading it knows which one to replace.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the model file {} is missing", path.display())]
    MissingFile { path: PathBuf },

    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{} is not a usable model file: {reason}", path.display())]
    BrokenFile { path: PathBuf, reason: String },

    #[error(
        "{file} is not the expected {model} file: its sha256 is {actual}, expected {expected}",
        model = crate::MODEL_NAME
    )]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
    },

    #[error("{} is neither a folder with the model files nor a wheel (zip): {reason}",
        path.display())]
    UnknownSource { path: PathBuf, reason: String },

    #[error("cannot tokenize the text: {0}")]
    Tokenize(String),

    #[error("the model failed on the CPU: {0}")]
    Inference(#[from] candle_core::Error),

    #[error("cannot tune the model: {0}")]
    Tuning(String),

    #[error("cannot start the embedding threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}
