//! The end-to-end suite on PostgreSQL (this machine's server at 127.0.0.1:5432, one schema per
//! test), plus what only a shared database can show: several nodes, and a database that goes
//! away and comes back.

#[path = "it/mod.rs"]
mod it;
pub use it::*;

#[path = "it/multinode.rs"]
mod multinode;

pub const BACKEND: common::Backend = common::Backend::Postgres;
