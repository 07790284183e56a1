//! End-to-end tests, one module per area. Each test starts its own server on 127.0.0.1:0 with
//! a fresh database and drives it over HTTP, with the `oauth2` crate's client where it applies
//! and raw requests (reqwest, curl) for edge cases. The same modules are compiled into two
//! test binaries, `sqlite` and `postgres`, so the whole suite runs on both stores.

pub mod common;

pub mod authorize;
pub mod browser;
pub mod cli;
pub mod crash;
pub mod device;
pub mod hardening;
pub mod import_dot;
pub mod input;
pub mod introspect;
pub mod metadata;
pub mod oidc;
pub mod ops;
pub mod registration;
pub mod revoke;
pub mod token;
pub mod user_pages;
pub mod userinfo;
