//! The `tessera` binary's library: command line, configuration and commands.
//!
//! # Layout
//! - [`cli`]: the clap definition of the commands (README.md, "Commands").
//! - [`config`]: layered configuration (defaults, file, environment, flags).
//! - [`commands`]: what each command does.
//! - [`keys`]: the key-encryption key file and `tessera keys`.
//! - [`import_dot`]: `tessera import-dot`, moving from django-oauth-toolkit.

pub mod cli;
pub mod commands;
pub mod config;
pub mod import_dot;
pub mod keys;

/// The binary's one error type.
///
/// `anyhow::Error` rather than an enum: every error of the binary ends in `main`, which prints
/// it and exits 1, and nothing matches on it, so an enum would grow a variant per failure that
/// no code inspects. What matters is that no cause is lost: `anyhow` keeps the `source()` chain
/// of any error it wraps (the database's own message under a `StoreError`, the I/O error under
/// a `ConfigError`), and `.context()` adds the operator's side of the story at the call site.
/// Errors that callers do tell apart stay typed where they are made (`StoreError::Conflict`,
/// [`config::ConfigError`]).
pub type Error = anyhow::Error;
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes as one line, outermost first, joined by ": ".
///
/// One line because operators grep logs and the command line promises one line on stderr
/// (README.md, "Commands"). A cause whose text the previous one already contains is skipped:
/// many errors repeat their source in their own message (`store unavailable: db error`), and
/// printing it twice would only bury the part that explains the failure.
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut previous = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e
            .to_string()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && !previous.contains(&text) {
            parts.push(text.clone());
        }
        previous = text;
        cause = e.source();
    }
    if parts.is_empty() {
        "failed".to_owned()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn chain(texts: &[&'static str]) -> Layer {
        let mut layer = None;
        for text in texts.iter().rev() {
            layer = Some(Box::new(Layer(text, layer)));
        }
        *layer.expect("at least one layer")
    }

    #[test]
    fn joins_the_chain_and_skips_causes_already_said() {
        // What a wrong PostgreSQL role looks like through the store, the pool and the driver.
        let e = chain(&[
            "store unavailable: Error occurred while creating a new object: db error",
            "Error occurred while creating a new object: db error",
            "db error",
            "FATAL: role \"nosuchuser\" does not exist",
        ]);
        assert_eq!(
            one_line(&e),
            "store unavailable: Error occurred while creating a new object: db error: \
             FATAL: role \"nosuchuser\" does not exist"
        );
    }

    #[test]
    fn context_and_multi_line_causes_stay_on_one_line() {
        let e = anyhow::Error::new(chain(&["bad\n  value\n", ""])).context("cannot start");
        assert_eq!(one_line(e.as_ref()), "cannot start: bad value");
        assert_eq!(one_line(&chain(&[""])), "failed");
    }
}
