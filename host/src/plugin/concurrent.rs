//! Calling many plugins at once: every call on the runtime's threads, the
//! answers in the order the calls were given, so that what a stage reports
//! does not depend on which plugin answered first.

use std::future::Future;

/// A call that panicked: a bug in the host, not in a plugin (a plugin's
/// trap is a [`CallError`](crate::plugin::CallError) in the call's result).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TaskPanicked(String);

/// Runs every call at once and returns their results in the given order.
/// A call that panicked is the only error.
pub async fn in_order<T, F>(calls: impl IntoIterator<Item = F>) -> Result<Vec<T>, TaskPanicked>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = calls.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.map_err(|e| TaskPanicked(e.to_string()))?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_keep_the_order_of_the_calls_not_of_their_ending() {
        let calls = (0..5u64).map(|i| async move {
            // The first call ends last.
            tokio::time::sleep(Duration::from_millis(50 - i * 10)).await;
            i
        });
        assert_eq!(in_order(calls).await.unwrap(), [0, 1, 2, 3, 4]);
    }
}
