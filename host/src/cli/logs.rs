//! `clockwork logs`.

use crate::cli::{CliError, Invocation};

/// What `clockwork logs` was asked.
pub struct LogsArgs {
    pub names: Vec<String>,
    pub follow: bool,
    pub since: Option<String>,
    pub tail: Option<u32>,
    pub timestamps: bool,
    pub color: bool,
    pub json: bool,
}

/// `clockwork logs`.
pub async fn run(_invocation: &Invocation, _args: LogsArgs) -> Result<u8, CliError> {
    Err(CliError::Runtime("not yet".into()))
}
