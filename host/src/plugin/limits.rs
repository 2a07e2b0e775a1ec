//! Resource limits for one plugin call.

use std::time::Duration;

/// How much a plugin may use in one call. The defaults suit the bundled Rust
/// plugins; dynamic-language plugins (Python) get more memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory cap per instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget per call, including instantiation.
    pub call_timeout: Duration,
    /// Captured stdout and stderr, in bytes each; writing more traps the guest.
    pub output_bytes: usize,
    /// Largest JSON payload a plugin may return, in bytes.
    pub result_bytes: usize,
}

impl Limits {
    /// Components larger than this are treated as dynamic-language guests
    /// (an interpreter inside), which need more memory.
    pub const LARGE_COMPONENT_BYTES: usize = 4 << 20;

    /// The largest memory cap any plugin may get; the engine's memory slots
    /// are this big.
    pub const MAX_MEMORY_BYTES: usize = 512 << 20;

    /// Limits for a component of `size` bytes.
    pub fn for_component(size: usize) -> Self {
        let base = Limits::default();
        if size > Limits::LARGE_COMPONENT_BYTES {
            Limits {
                memory_bytes: 512 << 20,
                call_timeout: Duration::from_secs(10),
                ..base
            }
        } else {
            base
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            call_timeout: Duration::from_secs(5),
            output_bytes: 1 << 20,
            result_bytes: 4 << 20,
        }
    }
}
