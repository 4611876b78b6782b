pub mod answer;
pub mod ask;
pub mod eval;
pub mod import;
pub mod knowledge;
pub mod model;
pub mod progress;
pub mod serve;
