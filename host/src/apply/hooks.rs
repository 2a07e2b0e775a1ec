//! What a run needs from whoever runs it: somewhere to say things, and
//! someone to ask before deleting.

use crate::plan::Plan;

use super::RunError;

/// What a destructive step needs from whoever runs it.
pub trait Hooks: Send + Sync {
    /// Something worth saying that is not a result: objects of another
    /// folder, a plan that moved since `clockwork plan`, a deletion warning.
    fn note(&self, text: &str);
    /// The plan about to be carried out.
    fn planned(&self, plan: &Plan);
    /// Whether to go ahead with `question` (e.g. "Delete 3 resources?").
    fn confirm(&self, question: &str) -> Confirmation;
    /// Whether [`confirm`](Self::confirm) waits for a person's answer
    /// (a terminal and no `--yes`).
    fn waits_for_an_answer(&self) -> bool;
}

/// An answer to [`Hooks::confirm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// Go ahead.
    Yes,
    /// Do not.
    No,
    /// Nobody can be asked (no terminal), and no `--yes` was given.
    CannotAsk,
}

/// Goes ahead only when `hooks` says yes to `question`.
pub(super) fn confirmed(hooks: &dyn Hooks, question: String) -> Result<(), RunError> {
    match hooks.confirm(&question) {
        Confirmation::Yes => Ok(()),
        Confirmation::No => Err(RunError::Declined),
        Confirmation::CannotAsk => Err(RunError::NeedsConfirmation { question }),
    }
}
