//! The labels Clockwork stamps on every Docker object it creates. Nothing
//! whose `PROJECT_ID` is not this project's (or one it adopted) is ever
//! changed, and a container is changed only for the resource in its
//! `RESOURCE` label.
//!
//! Every key starts with [`NAMESPACE`], which no declaration may use for a
//! label of its own: one could otherwise pass its container off as another
//! project's (or another resource's).

/// The prefix of every label Clockwork sets; refused in a user's labels.
pub const NAMESPACE: &str = "dev.clockwork.";

/// The project's name (several folders may share it; for people and filters).
pub const PROJECT: &str = "dev.clockwork.project";
/// The project's id: which folder the object belongs to.
pub const PROJECT_ID: &str = "dev.clockwork.project-id";
/// The project's folder, for messages about objects of another folder.
pub const PROJECT_DIR: &str = "dev.clockwork.project-dir";
/// The declaration an object belongs to (containers).
pub const RESOURCE: &str = "dev.clockwork.resource";
/// The declaration's type (containers), so that the plugin that made a
/// container removes it even when the state is lost.
pub const TYPE: &str = "dev.clockwork.type";
/// SHA-256 of the spec the object was created from.
pub const CONFIG_HASH: &str = "dev.clockwork.config-hash";
/// `false` on containers that may stop on their own (`must_run=False`).
pub const MUST_RUN: &str = "dev.clockwork.must-run";

/// When the resource's `max_duration` runs out, in seconds since the Unix
/// epoch: on the object, so it outlives any Clockwork process.
pub const EXPIRES_AT: &str = "dev.clockwork.expires-at";
