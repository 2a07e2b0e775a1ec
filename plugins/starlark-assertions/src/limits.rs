//! The bounds of one check: a deadline, a memory limit and an execution
//! budget, each ending the check with a message that says which limit and
//! where the check was.
//!
//! Starlark has no budget of its own, so the statement hook checks them
//! before every statement. Memory is counted by this component's global
//! allocator: growth past the limit is reported at the next statement; a
//! single allocation that would pass it (`"x" * (1 << 30)`) is never made —
//! the message goes to stderr and the instance stops, which the host
//! reports for this check alone.

use std::cell::Cell;
use std::time::{Duration, Instant};

use clockwork_starlark::memory;
use starlark::codemap::FileSpanRef;
use starlark::eval::{BeforeStmtFuncDyn, Evaluator};

/// The bounds of one check.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// When the check must have answered.
    pub deadline: Instant,
    /// How long this attempt was given, for the message.
    pub timeout: Duration,
    /// Most bytes it may hold at once, beyond what the interpreter held
    /// when it started.
    pub memory_bytes: usize,
    /// Most statements it may run.
    pub statements: u64,
}

/// Memory a check may use: well inside the host's cap for this component,
/// so that the check's own message is what the user reads.
pub const MEMORY_BYTES: usize = 256 << 20;
/// Statements a check may run: far more than any check needs, far fewer
/// than an endless loop reaches within a deadline.
pub const STATEMENTS: u64 = 50_000_000;

/// Which limit a check hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Its deadline (`timeout_seconds`).
    Deadline,
    /// Its memory limit.
    Memory,
    /// Its execution budget.
    Statements,
}

/// The error the hook raises.
#[derive(Debug)]
pub struct LimitHit {
    /// The message, naming the limit.
    pub message: String,
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LimitHit {}

impl Bounds {
    /// What the user reads when `limit` is hit.
    pub fn message(&self, limit: Limit) -> String {
        match limit {
            Limit::Deadline => format!(
                "ran past its deadline of {:.1} s (its `timeout_seconds`, and at most 4.5 s an attempt); a loop that never ends?",
                self.timeout.as_secs_f64()
            ),
            Limit::Memory => format!(
                "used more than its memory limit of {} MiB",
                self.memory_bytes >> 20
            ),
            Limit::Statements => format!(
                "ran more than {} statements, its execution budget; a loop that never ends?",
                self.statements
            ),
        }
    }
}

thread_local! {
    // Where the check is, as (line, column) of the current statement, and
    // the file's name in a fixed buffer: the allocator must not allocate
    // to report.
    static LINE: Cell<(u32, u32)> = const { Cell::new((0, 0)) };
    static FILE: Cell<([u8; 96], usize)> = const { Cell::new(([0; 96], 0)) };
}

/// Single allocations at least this large that would pass the limit are
/// refused at once; smaller ones are reported at the next statement.
const REFUSE_AT_ONCE: usize = 8 << 20;

/// This component's global allocator: the system one, counting
/// (`clockwork_starlark::memory`, the host's own).
pub const fn counting_allocator() -> memory::CountingAllocator {
    memory::CountingAllocator::new(REFUSE_AT_ONCE, over_memory_now)
}

/// The prefix of the line the host shows when a single allocation is
/// refused; `host` recognises it.
pub const OVER_MEMORY: &str = "clockwork-check: memory limit";

/// A single allocation would pass the limit: say where, then stop the
/// instance (an allocator cannot fail gracefully).
#[cold]
fn over_memory_now(size: usize) -> ! {
    use std::io::Write as _;
    let (line, column) = LINE.with(Cell::get);
    let (file, len) = FILE.with(Cell::get);
    let file = match std::str::from_utf8(&file[..len]) {
        Ok(f) if !f.is_empty() => f,
        // Before any statement ran: while the program was compiled.
        _ => "while compiling",
    };
    let limit = memory::limit_bytes() >> 20;
    let mut stderr = std::io::stderr();
    // Formatting into stderr writes pieces; nothing here allocates.
    let _ = writeln!(
        stderr,
        "{OVER_MEMORY}: {file}:{line}:{column}: an allocation of {} MiB would pass the check's memory limit of {limit} MiB",
        size >> 20
    );
    std::process::abort()
}

/// Starts counting for a check; stops when the guard is dropped.
pub fn start(bounds: &Bounds) -> Counting {
    crate::builtins::forget_patterns();
    FILE.with(|f| f.set(([0; 96], 0)));
    LINE.with(|l| l.set((0, 0)));
    memory::start(bounds.memory_bytes as u64);
    Counting
}

/// Stops counting when dropped.
pub struct Counting;

impl Drop for Counting {
    fn drop(&mut self) {
        memory::stop();
    }
}

/// The statement hook of a check.
pub struct Hook {
    bounds: Bounds,
    count: u64,
    file: String,
}

impl Hook {
    /// A hook enforcing `bounds`.
    pub fn new(bounds: Bounds) -> Self {
        Hook {
            bounds,
            count: 0,
            file: String::new(),
        }
    }

    fn hit(&self, limit: Limit) -> starlark::Error {
        memory::stop();
        starlark::Error::new_other(LimitHit {
            message: self.bounds.message(limit),
        })
    }
}

impl<'e> BeforeStmtFuncDyn<'e> for Hook {
    fn call<'v>(
        &mut self,
        span: FileSpanRef,
        _continued: bool,
        _eval: &mut Evaluator<'v, '_, 'e>,
    ) -> starlark::Result<()> {
        let resolved = span.resolve_span();
        LINE.with(|l| {
            l.set((
                resolved.begin.line as u32 + 1,
                resolved.begin.column as u32 + 1,
            ))
        });
        let filename = span.filename();
        if filename != self.file {
            self.file = filename.to_string();
            let mut buffer = [0u8; 96];
            let bytes = filename.as_bytes();
            let n = bytes.len().min(buffer.len());
            buffer[..n].copy_from_slice(&bytes[..n]);
            FILE.with(|f| f.set((buffer, n)));
        }
        if memory::tripped() {
            return Err(self.hit(Limit::Memory));
        }
        self.count += 1;
        if self.count > self.bounds.statements {
            return Err(self.hit(Limit::Statements));
        }
        // The clock is read every 64 statements: a few µs apart.
        if self.count.is_multiple_of(64) && Instant::now() >= self.bounds.deadline {
            return Err(self.hit(Limit::Deadline));
        }
        Ok(())
    }
}

/// The limit an evaluation error reports, if it is one of the hook's.
pub fn hit_by(error: &starlark::Error) -> Option<&LimitHit> {
    match error.kind() {
        starlark::ErrorKind::Other(e) => e.downcast_ref::<LimitHit>(),
        _ => None,
    }
}
