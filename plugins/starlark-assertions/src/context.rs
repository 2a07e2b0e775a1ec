//! What the check being run may do, for the builtins: its deadline, the
//! containers it may run commands in, and who it is (for messages).
//!
//! One check runs at a time in an instance, so the context is a
//! thread-local set for the length of a check.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use starlark::values::{Value, ValueLike};

use crate::view::ResourceView;

/// The check being run.
#[derive(Debug, Clone)]
pub struct CheckContext {
    /// When the check must have answered; builtins bound their own
    /// timeouts by it.
    pub deadline: Instant,
    /// The container of the declaration the check is about, if it runs one.
    pub own_container: Option<String>,
    /// Containers `exec` may run commands in: the own container, the
    /// containers of the resources the check joins, and those named in
    /// `allow = [...]`.
    pub exec_allowed: Vec<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<CheckContext>>> = const { RefCell::new(None) };
}

/// Makes `context` the current one until the guard is dropped.
pub fn enter(context: CheckContext) -> Entered {
    CURRENT.with(|c| *c.borrow_mut() = Some(Rc::new(context)));
    Entered
}

/// Clears the current context when dropped.
pub struct Entered;

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// The current check. Outside a check (validating a program) there is
/// none, and builtins that reach out refuse to run.
pub fn current() -> anyhow::Result<Rc<CheckContext>> {
    CURRENT
        .with(|c| c.borrow().clone())
        .ok_or_else(|| anyhow::anyhow!("this builtin can only be called while a check runs"))
}

impl CheckContext {
    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A timeout in milliseconds for one host call: `seconds` as asked,
    /// at most what is left of the check, at least 1 ms.
    pub fn timeout_ms(&self, seconds: f64) -> u32 {
        let asked = if seconds.is_finite() && seconds > 0.0 {
            Duration::from_secs_f64(seconds.min(3_600.0))
        } else {
            Duration::ZERO
        };
        let ms = asked.min(self.remaining()).as_millis();
        u32::try_from(ms).unwrap_or(u32::MAX).max(1)
    }

    /// Refuses `exec` into `container` unless the check was granted it;
    /// the error names the grant that would allow it.
    pub fn may_exec(&self, container: &str) -> anyhow::Result<()> {
        if self.exec_allowed.iter().any(|c| c == container) {
            return Ok(());
        }
        let own = match &self.own_container {
            Some(own) => format!("its own resource's container (`{own}`)"),
            None => "no container (it is not attached to a resource that runs one)".into(),
        };
        anyhow::bail!(
            "exec into `{container}` is outside this check's grant: a check may run commands only in {own}{}; add `allow = [\"{container}\"]` to the assertion to permit it",
            if self.exec_allowed.len() > usize::from(self.own_container.is_some()) {
                format!(
                    " and in {}",
                    self.exec_allowed
                        .iter()
                        .filter(|c| Some(*c) != self.own_container.as_ref())
                        .map(|c| format!("`{c}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            }
        )
    }
}

/// A container named by a builtin's argument: a string, or a resource
/// (its container).
pub fn container_of(value: Value) -> anyhow::Result<String> {
    if let Some(name) = value.unpack_str() {
        return Ok(name.to_string());
    }
    if let Some(view) = value.downcast_ref::<ResourceView>() {
        return Ok(view.container());
    }
    anyhow::bail!(
        "expected a container name or a resource, got {} `{}`",
        value.get_type(),
        value.to_repr()
    )
}
