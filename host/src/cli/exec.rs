//! `clockwork exec` and `clockwork shell`.

use crate::cli::{CliError, Invocation};

/// What `clockwork exec` was asked.
pub struct ExecArgs {
    pub name: String,
    pub command: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub env: Vec<String>,
    pub tty: bool,
}

/// `clockwork exec`.
pub async fn run(_invocation: &Invocation, _args: ExecArgs) -> Result<u8, CliError> {
    Err(CliError::Runtime("not yet".into()))
}

/// `clockwork shell`.
pub async fn run_shell(
    _invocation: &Invocation,
    _name: String,
    _user: Option<String>,
) -> Result<u8, CliError> {
    Err(CliError::Runtime("not yet".into()))
}
