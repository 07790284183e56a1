//! End-to-end tests: one integration binary, one module per area. Each test starts its own
//! server on 127.0.0.1:0 with a fresh database and drives it over HTTP, with the `oauth2`
//! crate's client where it applies and raw requests (reqwest, curl) for edge cases.

#[path = "it/common.rs"]
mod common;

#[path = "it/authorize.rs"]
mod authorize;
#[path = "it/browser.rs"]
mod browser;
#[path = "it/cli.rs"]
mod cli;
#[path = "it/crash.rs"]
mod crash;
#[path = "it/input.rs"]
mod input;
#[path = "it/introspect.rs"]
mod introspect;
#[path = "it/metadata.rs"]
mod metadata;
#[path = "it/revoke.rs"]
mod revoke;
#[path = "it/token.rs"]
mod token;
#[path = "it/user_pages.rs"]
mod user_pages;
