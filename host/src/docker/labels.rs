//! The labels Clockwork stamps on every Docker object it creates. Nothing
//! without `PROJECT` = this project's name is ever changed.

/// The project an object belongs to.
pub const PROJECT: &str = "dev.clockwork.project";
/// The declaration an object belongs to (containers and files).
pub const RESOURCE: &str = "dev.clockwork.resource";
/// SHA-256 of the spec the object was created from.
pub const CONFIG_HASH: &str = "dev.clockwork.config-hash";
/// `false` on containers that may stop on their own (`must_run=False`).
pub const MUST_RUN: &str = "dev.clockwork.must-run";
