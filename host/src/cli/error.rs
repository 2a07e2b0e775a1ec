//! Errors that end a command, with their exit codes.

use crate::cli::{EXIT_FAILED, EXIT_INVALID};
use crate::project::ProjectError;

/// Why a command ended without doing its job.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    /// The project could not be opened.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Project(#[from] ProjectError),
    /// An I/O operation of the command failed.
    #[error("cannot read {what}: {source}")]
    #[diagnostic(code(clockwork::io))]
    Io {
        /// What was being read or written.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The plugin runtime could not start.
    #[error("cannot start the plugin runtime: {0}")]
    #[diagnostic(
        code(clockwork::runtime),
        help("this is a bug; please report it with the output of `clockwork --version`")
    )]
    Runtime(String),
    /// No plugin has the name the user asked for.
    #[error("no plugin or type named `{name}`")]
    #[diagnostic(code(clockwork::plugins::unknown))]
    UnknownPlugin {
        /// What the user asked for.
        name: String,
        /// The nearest name, as a hint.
        #[help]
        suggestion: Option<String>,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Project(_) | CliError::UnknownPlugin { .. } => EXIT_INVALID,
            CliError::Io { .. } | CliError::Runtime(_) => EXIT_FAILED,
        }
    }
}
