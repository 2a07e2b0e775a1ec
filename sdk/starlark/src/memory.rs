//! A global allocator that counts what the evaluating thread holds while
//! an evaluation runs ([`start`] to [`stop`]), so the evaluation can be
//! stopped at its memory limit: growth past the limit is seen at the next
//! statement ([`tripped`]); a single allocation that would pass it by much
//! is never made — the allocator's `refused` function says so and ends the
//! process, since an allocator cannot fail gracefully.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static LIMIT: Cell<i64> = const { Cell::new(i64::MAX) };
    static TRIPPED: Cell<bool> = const { Cell::new(false) };
}

/// An allocator (the system's unless another is given), counting for the
/// thread that runs an evaluation.
pub struct CountingAllocator<A = System> {
    /// What allocates.
    inner: A,
    /// Allocations at least this large that would pass the limit are
    /// refused at once; smaller ones are reported at the next statement.
    refuse_at_once: usize,
    /// Says where the evaluation was and ends the process; given the size
    /// of the allocation refused.
    refused: fn(usize) -> !,
}

impl CountingAllocator {
    /// The system allocator, refusing single allocations of
    /// `refuse_at_once` bytes or more that would pass the limit, with
    /// `refused`.
    pub const fn new(refuse_at_once: usize, refused: fn(usize) -> !) -> Self {
        CountingAllocator::over(System, refuse_at_once, refused)
    }
}

impl<A> CountingAllocator<A> {
    /// [`new`](CountingAllocator::new), counting what `inner` allocates.
    pub const fn over(inner: A, refuse_at_once: usize, refused: fn(usize) -> !) -> Self {
        CountingAllocator {
            inner,
            refuse_at_once,
            refused,
        }
    }

    fn charge(&self, size: usize) {
        if !TRACKING.with(Cell::get) {
            return;
        }
        let live = LIVE.with(|l| {
            let v = l.get().saturating_add(size as i64);
            l.set(v);
            v
        });
        if live > LIMIT.with(Cell::get) {
            TRIPPED.with(|t| t.set(true));
            if size >= self.refuse_at_once {
                TRACKING.with(|t| t.set(false));
                (self.refused)(size);
            }
        }
    }
}

fn refund(size: usize) {
    if TRACKING.with(Cell::get) {
        LIVE.with(|l| l.set(l.get().saturating_sub(size as i64)));
    }
}

// SAFETY: every call is forwarded to `inner` unchanged; the bookkeeping
// touches only const-initialised thread-locals without destructors, which
// never allocate.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.charge(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.charge(layout.size());
        // SAFETY: forwarded with the caller's layout.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        refund(layout.size());
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            self.charge(new_size - layout.size());
        } else {
            refund(layout.size() - new_size);
        }
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

/// Starts counting on this thread, from nothing, against `limit_bytes`.
pub fn start(limit_bytes: u64) {
    LIVE.with(|l| l.set(0));
    LIMIT.with(|l| l.set(i64::try_from(limit_bytes).unwrap_or(i64::MAX)));
    TRIPPED.with(|t| t.set(false));
    TRACKING.with(|t| t.set(true));
}

/// Stops counting on this thread.
pub fn stop() {
    TRACKING.with(|t| t.set(false));
}

/// Whether this thread held more than its limit since [`start`].
pub fn tripped() -> bool {
    TRIPPED.with(Cell::get)
}

/// The limit of this thread's evaluation, in bytes.
pub fn limit_bytes() -> u64 {
    u64::try_from(LIMIT.with(Cell::get)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: usize) -> ! {
        panic!("refused")
    }

    static COUNTING: CountingAllocator = CountingAllocator::new(usize::MAX, never);

    #[test]
    fn growth_past_the_limit_trips_and_stopping_forgets_it() {
        let layout = Layout::from_size_align(4096, 8).expect("layout");
        start(1000);
        assert!(!tripped());
        // SAFETY: allocated and freed with the same layout.
        unsafe {
            let p = COUNTING.alloc(layout);
            assert!(tripped(), "4 KiB held against a 1,000-byte limit");
            COUNTING.dealloc(p, layout);
        }
        stop();
        start(1 << 20);
        assert!(!tripped(), "a new evaluation starts from nothing");
        assert_eq!(limit_bytes(), 1 << 20);
        stop();
    }
}
