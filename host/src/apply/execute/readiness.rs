//! Readiness across a run: what was seen ready, trusted until the Engine
//! says a container of it died, and the check once everything is
//! deployed that every container this run started still runs.

use super::Shared;
use super::outcome::{Outcome, Progress, Report};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::ResourceName;

/// Readiness seen in this run: a dependent need not check again what was
/// seen ready, unless the Engine said one of its containers died since
/// (each dependent checking each dependency one by one was most of an
/// apply's time over a wide stack).
#[derive(Default)]
pub(super) struct SeenReady {
    /// Whether deaths are heard (the Engine's stream is alive); if not,
    /// nothing is trusted.
    listening: bool,
    /// How many deaths were heard so far.
    heard: u64,
    /// The last death heard of each container, as `heard` counted it.
    deaths: BTreeMap<String, u64>,
    /// Resources whose every container was seen ready, with `heard` when
    /// that check began.
    ready: BTreeMap<ResourceName, (Vec<String>, u64)>,
}

impl SeenReady {
    /// Whether `resource` was seen ready and none of its containers died
    /// since the check began.
    fn still_ready(&self, resource: &str) -> bool {
        self.listening
            && self.ready.get(resource).is_some_and(|(containers, at)| {
                containers
                    .iter()
                    .all(|c| self.deaths.get(c).is_none_or(|died| died <= at))
            })
    }

    fn died(&mut self, container: String) {
        self.heard += 1;
        self.deaths.insert(container, self.heard);
    }
}

/// Hears the Engine's word of containers dying for as long as the
/// returned guard lives; readiness seen before a death is not trusted
/// after it.
pub(super) fn listen_for_deaths(shared: &Arc<Shared>) -> Option<AbortOnDrop> {
    let mut deaths = shared.engine.as_ref()?.deaths()?;
    shared
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .listening = true;
    let heard = Arc::clone(shared);
    let task = tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(container) = deaths.next().await {
            heard
                .seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .died(container);
        }
        // The stream ended: from now on, every dependent checks again.
        heard
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .listening = false;
    });
    Some(AbortOnDrop(task))
}

/// Stops a task when dropped.
pub(super) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A container can be "running" for the few milliseconds before its
/// process fails. Once everything is deployed, every container this run
/// started has to still run (and not have been restarted after a crash);
/// those that do not turn their resource into a failure, with the output
/// that says why.
pub(super) async fn verify_fresh(shared: &Shared, report: &mut Report) {
    let Some(engine) = shared.engine.as_ref() else {
        return;
    };
    let fresh: Vec<(ResourceName, BTreeMap<String, i64>)> = shared
        .fresh
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(r, c)| (r.clone(), c.clone()))
        .collect();
    for (resource, containers) in fresh {
        let mut trouble = None;
        for (container, baseline) in containers {
            match engine.trouble(&container, Some(baseline)).await {
                Ok(None) => {}
                Ok(Some(why)) => trouble = Some(why),
                Err(e) => trouble = Some(e.to_string()),
            }
        }
        let Some(why) = trouble else { continue };
        if let Some(entry) = report.results.iter_mut().find(|r| r.0 == resource) {
            entry.2 = Outcome::Failed(why.clone());
            (shared.options.progress)(Progress::Finished {
                name: resource.clone(),
                change: entry.1,
                outcome: Outcome::Failed(why),
                elapsed: entry.3,
            });
        }
    }
}

impl super::Shared {
    /// Where the deaths heard stand, before a readiness check begins.
    pub(super) fn mark(&self) -> u64 {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).heard
    }

    /// Whether deaths are heard, so readiness seen can be trusted.
    pub(super) fn listening(&self) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .listening
    }

    /// Whether `resource` was seen ready in this run and still is.
    pub(super) fn still_ready(&self, resource: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .still_ready(resource)
    }

    /// `resource`'s `containers` were all seen ready by a check that began
    /// at `mark`.
    pub(super) fn seen_ready(&self, resource: &str, containers: Vec<String>, mark: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.listening {
            seen.ready
                .insert(ResourceName::from(resource), (containers, mark));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_seen_holds_until_a_container_of_it_dies() {
        let mut seen = SeenReady {
            listening: true,
            ..SeenReady::default()
        };
        let db = || (vec!["db".to_string(), "db-replica".to_string()], 0);
        seen.ready.insert("db".into(), db());
        assert!(seen.still_ready("db"));
        assert!(!seen.still_ready("api"), "never seen");
        seen.died("cache".into());
        assert!(seen.still_ready("db"), "another's death says nothing");
        seen.died("db-replica".into());
        assert!(!seen.still_ready("db"));
        // Seen again by a check that began after that death.
        seen.ready.insert("db".into(), (db().0, seen.heard));
        assert!(seen.still_ready("db"));
        // A death heard while a check ran: what it saw is not trusted.
        let mark = seen.heard;
        seen.died("db".into());
        seen.ready.insert("db".into(), (db().0, mark));
        assert!(!seen.still_ready("db"));
        // Deaths no longer heard: nothing is trusted.
        seen.ready.insert("db".into(), (db().0, seen.heard));
        seen.listening = false;
        assert!(!seen.still_ready("db"));
    }
}
