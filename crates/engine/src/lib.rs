//! salesorg-engine owns the work done on a store: importing CRM exports (Salesforce,
//! HubSpot, Maven, any CSV through a mapping file, and salesorg's own CSV formats), and
//! generating the demo org, and loading and rendering scorecards, leaderboards and a KPI's
//! history.

pub mod csvread;
pub mod demo;
pub mod import;
pub mod leaderboard;
pub mod problem;
pub mod scorecard;
pub mod sfexport;
pub mod snapshot;
pub mod trend;

pub use problem::{Problem, Problems};

/// Errors from the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input was refused; nothing was written. Every problem is listed.
    #[error("{0}")]
    Rejected(Problems),
    #[error(transparent)]
    Store(#[from] salesorg_store::StoreError),
    #[error(transparent)]
    Core(#[from] salesorg_core::CoreError),
    #[error(transparent)]
    Scorecard(salesorg_core::scorecard::ScorecardError),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Receives progress of long work (the CLI draws a progress bar from it).
pub trait Progress {
    /// `done` units of `total` (0 when unknown) of the step named `what`.
    fn update(&self, what: &str, done: u64, total: u64);
}

/// Progress that goes nowhere.
pub struct Quiet;
impl Progress for Quiet {
    fn update(&self, _: &str, _: u64, _: u64) {}
}
