//! The exit codes of `clockwork`, the same for every command.

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: the operation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the project or the command line is invalid.
pub const EXIT_INVALID: u8 = 2;
