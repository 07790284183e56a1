//! The end-to-end suite on the embedded SQLite store.

#[path = "it/mod.rs"]
mod it;
pub use it::*;

pub const BACKEND: common::Backend = common::Backend::Sqlite;
