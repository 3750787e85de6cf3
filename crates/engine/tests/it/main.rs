//! Engine tests: imports and the demo, on SQLite and PostgreSQL.

mod bad_input;
mod fuzz;
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

/// The scorecard engine over what `s` holds, with the built-in catalog.
pub fn loaded(s: &mut salesorg_store::Store) -> salesorg_core::scorecard::Engine {
    salesorg_engine::scorecard::load(
        s,
        &salesorg_core::catalog::Catalog::builtin().unwrap(),
        false,
        false,
        &salesorg_engine::Quiet,
    )
    .unwrap()
    .0
}
