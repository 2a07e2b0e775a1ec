//! Why completion failed: a plugin call, the lock, the model, or a value
//! refused because it does what only the user may ask for.

use miette::Diagnostic;

use crate::complete::chat::ChatError;
use crate::complete::lock::LockError;
use crate::complete::trust::Origin;
use crate::plugin::CallError;

/// Why completion failed.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CompleteError {
    /// A plugin call failed.
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// The lock file could not be read or written.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The model server failed for a declaration.
    #[error("completing `{declaration}` ({type_name}): {error}")]
    Model {
        /// The declaration.
        declaration: String,
        /// Its type.
        type_name: String,
        /// What failed.
        error: ChatError,
    },
    /// The model's answer, asked twice, still did not fit.
    #[error(
        "completing `{declaration}` ({type_name}): the model's answer for `{field}` cannot be used: {problem} (it answered {answered})"
    )]
    BadAnswer {
        /// The declaration.
        declaration: String,
        /// Its type.
        type_name: String,
        /// The field.
        field: String,
        /// What is wrong with it.
        problem: String,
        /// What the model wrote for it (secrets masked).
        answered: String,
    },
    /// A completed value that would do what only the user may ask for, or
    /// use a secret this declaration was not shown.
    #[error(transparent)]
    Refused(Box<Refusal>),
    /// `--locked`, and the lock does not cover every declaration.
    #[error("--locked: clockwork.lock has no completion for {}", .0.join("; "))]
    NotLocked(Vec<String>),
}

/// A completed value refused: see [`trust`].
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error(
    "completing `{declaration}` ({type_name}) at {location}: the value {origin} gives `{field}` is refused: {problem}"
)]
pub struct Refusal {
    /// The declaration.
    pub declaration: String,
    /// Its type.
    pub type_name: String,
    /// Where it is declared.
    pub location: crate::model::Location,
    /// The field.
    pub field: String,
    /// Where the value came from.
    pub origin: Origin,
    /// Why it is refused.
    pub problem: String,
}
