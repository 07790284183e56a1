//! The `tessera` binary's library: command line, configuration and commands.
//!
//! # Layout
//! - [`cli`]: the clap definition of SPEC section 2.
//! - [`config`]: layered configuration (defaults, file, environment, flags).
//! - [`commands`]: what each command does.

pub mod cli;
pub mod commands;
pub mod config;
