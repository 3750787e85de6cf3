//! Engine tests: imports and the demo, on SQLite and PostgreSQL.

mod bad_input;
mod kpis;
mod mapped;
mod maven;
mod salesforce;
mod scorecard;

use std::path::PathBuf;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel)
}
