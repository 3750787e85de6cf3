//! salesorg-core owns the domain: identifiers, money, dates and periods, CRM records, the
//! effective-dated org tree and the role catalog. It does no I/O and never reads the clock:
//! every "as of" date is a parameter.

pub mod catalog;
pub mod date;
pub mod ids;
pub mod kpi;
pub mod money;
pub mod org;
pub mod period;
pub mod records;
pub mod scorecard;
pub mod settings;

pub use date::{Date, Timestamp};
pub use ids::*;
pub use money::{Currency, Money};
pub use period::{FiscalCalendar, Period};

/// Errors raised when a value at the boundary does not parse or a domain rule is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Rule(String),
    #[error("role catalog: {0}")]
    Catalog(String),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
