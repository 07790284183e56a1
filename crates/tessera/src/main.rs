//! Parse the command line, run the command, map the result to an exit code: 0, 1 for a
//! failed command, 2 for a command line clap refuses.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use clap::error::ErrorKind;
use tessera::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = e.print();
            return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
        Err(e) => {
            // clap's whole message: the missing arguments named, the valid values listed,
            // "a similar subcommand exists", and the usage (docs/behaviour.md, "Command
            // line"). Errors of a command that ran stay on one line.
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(out) => {
            // A reader that went away (`tessera createtoken --count 9 | head -1`) ends the
            // output, quietly: println! would panic on the broken pipe.
            if !out.is_empty() && writeln!(std::io::stdout().lock(), "{out}").is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", tessera::one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> tessera::Result<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(tessera::commands::run(cli.command))
}
