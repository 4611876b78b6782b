//! `frontdesk config default`: every setting with its default and what it means.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the settings file with every setting at its default and what it means,
    /// ready to save as `frontdesk.toml` in the data dir and edit.
    Default,
}

/// Needs no workspace: it must work even where the current settings file is broken.
pub fn run(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Default => say!("{}", crate::config::default_file().trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
