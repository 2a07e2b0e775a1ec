//! Running jobs as their prerequisites finish: at most `parallelism` at
//! once, a job whose prerequisite failed is skipped (and so, in turn, what
//! depends on it), and once cancelled no new job starts — those running
//! finish, the rest are skipped. Plain data in, outcomes out; what a job
//! does is the caller's.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::apply::Outcome;
use crate::model::ResourceName;

/// A request to stop starting new work (Ctrl-C during an apply).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Asks the scheduler to start nothing more.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether it was asked.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One job and the names of the jobs it waits for.
pub struct Task<J> {
    /// Its name, unique among the tasks.
    pub name: ResourceName,
    /// Names of tasks that must finish well first (others are ignored).
    pub after: Vec<ResourceName>,
    /// What to run.
    pub job: J,
}

/// How a task ended, with how long it ran.
pub type Finished = (ResourceName, Outcome, Duration);

/// Runs `tasks`. `run` starts one job; `skipped` hears of each task that
/// will not run, when it is decided, with the job and the reason. Returns
/// every task's outcome, in the order they ended.
pub async fn schedule<J, F, Fut>(
    tasks: Vec<Task<J>>,
    parallelism: usize,
    cancel: &Cancel,
    run: F,
    mut skipped: impl FnMut(&ResourceName, &J, &str),
) -> Vec<Finished>
where
    J: Send + 'static,
    F: Fn(J) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let names: BTreeSet<ResourceName> = tasks.iter().map(|t| t.name.clone()).collect();
    let mut waiting: Vec<Task<J>> = tasks
        .into_iter()
        .map(|mut t| {
            t.after.retain(|p| names.contains(p) && *p != t.name);
            t
        })
        .collect();
    let mut finished: BTreeMap<ResourceName, bool> = BTreeMap::new();
    let mut results: Vec<Finished> = Vec::new();
    let mut running: JoinSet<Finished> = JoinSet::new();
    let mut skip = |task: Task<J>, reason: String, finished: &mut BTreeMap<ResourceName, bool>| {
        skipped(&task.name, &task.job, &reason);
        finished.insert(task.name.clone(), false);
        (task.name, Outcome::Skipped(reason), Duration::ZERO)
    };
    loop {
        let mut i = 0;
        while i < waiting.len() {
            if cancel.is_cancelled() {
                let task = waiting.remove(i);
                results.push(skip(
                    task,
                    "cancelled before it started".into(),
                    &mut finished,
                ));
                continue;
            }
            let failed: Vec<String> = waiting[i]
                .after
                .iter()
                .filter(|p| finished.get(*p) == Some(&false))
                .map(|p| format!("`{p}`"))
                .collect();
            if !failed.is_empty() {
                let task = waiting.remove(i);
                let reason = format!("depends on {}, which did not deploy", failed.join(", "));
                results.push(skip(task, reason, &mut finished));
                continue;
            }
            let ready = waiting[i].after.iter().all(|p| finished.contains_key(p));
            if ready && running.len() < parallelism.max(1) {
                let task = waiting.remove(i);
                let name = task.name;
                let future = run(task.job);
                running.spawn(async move {
                    let started = Instant::now();
                    let outcome = future.await;
                    (name, outcome, started.elapsed())
                });
                continue;
            }
            i += 1;
        }
        match running.join_next().await {
            Some(Ok((name, outcome, elapsed))) => {
                let ok = matches!(outcome, Outcome::Done | Outcome::Unchanged);
                finished.insert(name.clone(), ok);
                results.push((name, outcome, elapsed));
            }
            Some(Err(e)) => results.push((
                "(a job)".into(),
                Outcome::Failed(format!(
                    "internal error: a job failed: {e} (this is a bug in clockwork)"
                )),
                Duration::ZERO,
            )),
            None if waiting.is_empty() => break,
            // Nothing runs and nothing can start: a prerequisite never
            // finishes (it cannot happen for a valid graph).
            None => {
                for task in std::mem::take(&mut waiting) {
                    let reason = format!("waits for {}", task.after.join(", "));
                    results.push(skip(task, reason, &mut finished));
                }
                break;
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn task(name: &str, after: &[&str], fails: bool) -> Task<(String, bool)> {
        Task {
            name: name.into(),
            after: after.iter().map(|a| ResourceName::from(*a)).collect(),
            job: (name.to_string(), fails),
        }
    }

    fn outcome_of<'a>(results: &'a [Finished], name: &str) -> &'a Outcome {
        &results
            .iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("{name} has no outcome"))
            .1
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_skips_its_dependents_and_nothing_else() {
        let tasks = vec![
            task("db", &[], true),
            task("api", &["db"], false),
            task("worker", &["api"], false),
            task("cache", &[], false),
            task("web", &["cache"], false),
        ];
        let skipped = Mutex::new(Vec::new());
        let results = schedule(
            tasks,
            4,
            &Cancel::default(),
            |(name, fails)| async move {
                if fails {
                    Outcome::Failed(format!("{name} broke"))
                } else {
                    Outcome::Done
                }
            },
            |name, _, reason| skipped.lock().unwrap().push(format!("{name}: {reason}")),
        )
        .await;
        assert_eq!(results.len(), 5);
        assert_eq!(
            outcome_of(&results, "db"),
            &Outcome::Failed("db broke".into())
        );
        assert_eq!(outcome_of(&results, "web"), &Outcome::Done);
        assert_eq!(outcome_of(&results, "cache"), &Outcome::Done);
        assert_eq!(
            *skipped.lock().unwrap(),
            [
                "api: depends on `db`, which did not deploy",
                "worker: depends on `api`, which did not deploy"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_parallelism_run_at_once() {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        // Two at a time must meet at the barrier, or the test hangs.
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..6).map(|i| task(&format!("t{i}"), &[], false)).collect();
        let results = schedule(
            tasks,
            2,
            &Cancel::default(),
            |_| {
                let (now, most, barrier) = (now.clone(), most.clone(), barrier.clone());
                async move {
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(running, Ordering::SeqCst);
                    barrier.wait().await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Outcome::Done
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(results.len(), 6);
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn once_cancelled_nothing_new_starts() {
        let cancel = Cancel::default();
        let started = Arc::new(Mutex::new(Vec::new()));
        let tasks = vec![
            task("first", &[], false),
            task("second", &["first"], false),
            task("third", &["second"], false),
        ];
        let results = schedule(
            tasks,
            1,
            &cancel,
            |(name, _)| {
                let (cancel, started) = (cancel.clone(), started.clone());
                async move {
                    started.lock().unwrap().push(name);
                    // Ctrl-C while the first one works.
                    cancel.cancel();
                    Outcome::Done
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(*started.lock().unwrap(), ["first"]);
        assert_eq!(outcome_of(&results, "first"), &Outcome::Done);
        assert_eq!(
            outcome_of(&results, "second"),
            &Outcome::Skipped("cancelled before it started".into())
        );
        assert_eq!(
            outcome_of(&results, "third"),
            &Outcome::Skipped("cancelled before it started".into())
        );
    }
}
