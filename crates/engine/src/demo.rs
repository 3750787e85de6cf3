//! The demo org generator.
