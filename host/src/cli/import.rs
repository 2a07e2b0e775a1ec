//! `clockwork import docker-compose.yml [-o main.star]`.

use std::path::Path;

use crate::cli::{CliError, Invocation};

/// `clockwork import FILE [-o OUT]`.
pub fn run(_invocation: &Invocation, _file: &Path, _output: Option<&Path>) -> Result<u8, CliError> {
    Err(CliError::Runtime(
        "`clockwork import` is not built yet".into(),
    ))
}
