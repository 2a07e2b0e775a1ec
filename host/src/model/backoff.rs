//! How patiently `clockwork watch` heals: the knobs of its backoff (the
//! backoff itself is the watch's).

use std::time::Duration;

/// The knobs, from `[watch]` in `clockwork.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The wait after the first heal.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Healthy this long, the wait starts over.
    pub reset_after: Duration,
    /// At most this many heals ...
    pub budget: usize,
    /// ... within this window; one more and the resource is given up on.
    pub window: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_secs(10),
            max: Duration::from_secs(300),
            reset_after: Duration::from_secs(600),
            budget: 5,
            window: Duration::from_secs(600),
        }
    }
}
