//! Bounds on evaluating a project file: a deadline and a memory limit.
//!
//! Starlark has no budget of its own. The deadline is checked before every
//! statement (starlark's statement hook), so an endless loop stops at the
//! line it is on. Memory is counted by [`TrackingAllocator`], the binary's
//! global allocator, for the evaluating thread only and only while a
//! project is evaluated: growth past the limit is reported at the next
//! statement; a single allocation that would go past it (`"x" * (1 << 30)`,
//! `list(range(10**9))`) is never made — the process reports the limit and
//! the statement it was on, and exits, since an allocator cannot fail
//! gracefully and nothing has been written yet at that point.

use std::cell::RefCell;
use std::time::Instant;

use clockwork_starlark::memory;
use starlark::codemap::{FileSpan, FileSpanRef};
use starlark::eval::{BeforeStmtFuncDyn, Evaluator};

use crate::model::Location;
use crate::project::EvaluationLimits;

thread_local! {
    static STATEMENT: RefCell<Option<FileSpan>> = const { RefCell::new(None) };
    static PROJECT_FILE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Allocations larger than this that would pass the limit are refused at
/// once; smaller ones are let through and reported at the next statement.
const REFUSE_AT_ONCE: usize = 16 << 20;

/// The global allocator of the `clockwork` binary: the system allocator,
/// counting what the evaluating thread holds while a project is evaluated
/// (`clockwork_starlark::memory`, shared with the starlark-assertions
/// plugin).
///
/// It counts over mimalloc: a plan calls plugins tens of thousands of
/// times, each with its own small allocations, and the system allocator
/// made up a seventh of `plan`'s time on a 5,000-resource project.
pub type TrackingAllocator = clockwork_starlark::memory::CountingAllocator<mimalloc::MiMalloc>;

/// The `clockwork` binary's allocator.
pub const fn tracking_allocator() -> TrackingAllocator {
    TrackingAllocator::over(mimalloc::MiMalloc, REFUSE_AT_ONCE, over_memory_now)
}

/// The limits of the evaluation running on this thread.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    limits: EvaluationLimits,
    deadline: Instant,
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// The deadline.
    Time,
    /// The memory limit.
    Memory,
}

/// Starts counting for an evaluation on this thread; counting stops when
/// the guard is dropped.
pub fn start(limits: EvaluationLimits, project_file: &str) -> (Bounds, Guard) {
    let _ = PROJECT_FILE.try_with(|f| f.replace(project_file.to_string()));
    let _ = STATEMENT.try_with(|s| s.replace(None));
    memory::start(limits.memory_bytes);
    (
        Bounds {
            limits,
            deadline: Instant::now() + limits.deadline,
        },
        Guard,
    )
}

/// Stops counting when dropped.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        memory::stop();
    }
}

/// What a user reads when a limit is exceeded, and how to raise it.
pub fn message(exceeded: Exceeded, limits: &EvaluationLimits) -> (String, String) {
    match exceeded {
        Exceeded::Time => {
            let seconds = limits.deadline.as_secs_f64();
            (
                format!("evaluating the project took longer than its time limit of {seconds} s"),
                format!(
                    "a loop that never ends? If the project really needs more time, raise the limit in `clockwork.toml`:\n  [limits]\n  evaluation_seconds = {}",
                    (seconds * 2.0).ceil()
                ),
            )
        }
        Exceeded::Memory => {
            let mib = limits.memory_bytes >> 20;
            (
                format!("evaluating the project used more than its memory limit of {mib} MiB"),
                format!(
                    "a value that keeps growing? If the project really needs more memory, raise the limit in `clockwork.toml`:\n  [limits]\n  evaluation_memory_mib = {}",
                    mib.saturating_mul(2).max(1)
                ),
            )
        }
    }
}

/// The error the statement hook raises; recognised by [`exceeded_by`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LimitError(pub String, pub Exceeded);

/// The limit an evaluation error reports, if it is one of ours.
pub fn exceeded_by(error: &starlark::Error) -> Option<Exceeded> {
    match error.kind() {
        starlark::ErrorKind::Other(e) => e.downcast_ref::<LimitError>().map(|l| l.1),
        _ => None,
    }
}

/// Where the evaluation was when it stopped.
pub fn last_statement() -> Option<Location> {
    STATEMENT
        .try_with(|s| {
            s.try_borrow()
                .ok()
                .and_then(|s| s.as_ref().map(crate::load::context::location_of))
        })
        .ok()
        .flatten()
}

/// The statement hook: remembers the statement, checks the bounds.
pub struct Hook {
    bounds: Bounds,
    count: u32,
}

impl Hook {
    /// A hook for an evaluation with `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        Hook { bounds, count: 0 }
    }
}

impl<'e> BeforeStmtFuncDyn<'e> for Hook {
    fn call<'v>(
        &mut self,
        span: FileSpanRef,
        _continued: bool,
        _eval: &mut Evaluator<'v, '_, 'e>,
    ) -> starlark::Result<()> {
        let _ = STATEMENT.try_with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = Some(span.to_file_span());
            }
        });
        let exceeded = if memory::tripped() {
            Some(Exceeded::Memory)
        } else {
            self.count = self.count.wrapping_add(1);
            // The clock is read every 64 statements: a few µs apart.
            (self.count.is_multiple_of(64) && Instant::now() > self.bounds.deadline)
                .then_some(Exceeded::Time)
        };
        match exceeded {
            None => Ok(()),
            Some(exceeded) => {
                memory::stop();
                let (text, _) = message(exceeded, &self.bounds.limits);
                Err(starlark::Error::new_other(LimitError(text, exceeded)))
            }
        }
    }
}

/// A single allocation would pass the memory limit: say so and stop.
#[cold]
fn over_memory_now(_size: usize) -> ! {
    let limits = EvaluationLimits {
        memory_bytes: memory::limit_bytes(),
        ..EvaluationLimits::DEFAULT
    };
    let (text, help) = message(Exceeded::Memory, &limits);
    // Before any statement ran, the file was being compiled (a constant
    // expression such as `"x" * (1 << 30)` is folded then).
    let at = match last_statement() {
        Some(l) => format!("{l}: "),
        None => PROJECT_FILE
            .try_with(|f| f.try_borrow().map(|f| format!("{f}: ")).unwrap_or_default())
            .unwrap_or_default(),
    };
    crate::output::note(&format!("  × {at}{text}\n  help: {help}"));
    std::process::exit(i32::from(crate::model::exit::EXIT_INVALID));
}
