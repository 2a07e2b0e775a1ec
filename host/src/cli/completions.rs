//! `clockwork completions`.

use crate::cli::args::Shell;
use crate::cli::{CliError, Invocation};

/// `clockwork completions SHELL`.
pub fn run(_invocation: &Invocation, _shell: Option<Shell>, _names: bool) -> Result<u8, CliError> {
    Err(CliError::Runtime("not yet".into()))
}
