//! Healing and expiring: applying one resource again (and what depends
//! on it), destroying one whose time ran out, and alerting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::apply::{self, Confirmation, Hooks, Target};
use crate::docker::Engine;
use crate::model::ResourceName;
use crate::plan::Plan;
use crate::reconcile::AlertOn;
use crate::resolve::Graph;
use crate::state::{State, StateError};

use super::report::{Alert, Kind, Reporter};
use super::{Halt, Tracked, Watcher};

/// Destroys `names` (their `max_duration` ran out) through `apply`'s path
/// — planned as no longer declared — and records them as expired, so
/// neither this watch nor a later one heals them back.
pub(super) async fn expire(
    w: &Watcher<'_>,
    engine: &Engine,
    names: &BTreeSet<ResourceName>,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
) -> Result<(), Halt> {
    let mut pruned = w.graph.clone();
    let ids: BTreeSet<crate::model::DeclId> = pruned
        .project
        .declarations
        .iter()
        .filter(|d| names.contains(&d.name))
        .map(|d| d.id)
        .collect();
    pruned.specs.retain(|id, _| !ids.contains(id));
    for layer in &mut pruned.layers {
        layer.retain(|id| !ids.contains(id));
    }
    pruned.depends_on.retain(|id, _| !ids.contains(id));
    for deps in pruned.depends_on.values_mut() {
        deps.retain(|d| !ids.contains(d));
    }
    pruned
        .connections
        .retain(|c| !ids.contains(&c.from) && !ids.contains(&c.to));
    let failure = match apply_only(w, engine, &pruned, names).await {
        Ok(report) if !report.results.iter().any(|(n, ..)| names.contains(n)) => {
            Some("nothing was planned to destroy".to_string())
        }
        Ok(_) => None,
        Err(Healing::Destroyed(destroyed)) => return Err(Halt::Destroyed(destroyed)),
        Err(Healing::Failed(why)) => Some(why),
    };
    let recorded = (|| -> Result<(), crate::state::StateError> {
        let _lock = crate::state::Lock::acquire(&w.project.files)?;
        let mut state = State::load(&w.project.files, &engine.identity)?;
        state.may_heal(w.generation)?;
        for name in names {
            state
                .expired
                .insert(name.clone(), crate::model::time::now_ms() / 1000);
        }
        state.save(&w.project.files)
    })();
    if let Err(destroyed @ StateError::Destroyed { .. }) = recorded {
        return Err(Halt::Destroyed(destroyed));
    }
    for name in names {
        let Some(t) = tracked.get_mut(name) else {
            continue;
        };
        let limit = t
            .settings
            .max_duration
            .map(crate::reconcile::shown)
            .unwrap_or_default();
        match (&failure, &recorded) {
            (None, Ok(())) => {
                let seen = format!("its max_duration ({limit}) ran out");
                w.reporter.event(
                    Some(name),
                    Kind::Expired,
                    &seen,
                    "destroyed; `clockwork apply` creates it again",
                );
                if t.settings.alert_on.contains(&AlertOn::Expired) {
                    alert(w, name, Kind::Expired, &seen, "destroyed");
                }
            }
            (Some(why), _) => w.reporter.event(
                Some(name),
                Kind::Failure,
                &format!("destroying it at expiry failed: {why}"),
                "will try again",
            ),
            (None, Err(e)) => w.reporter.event(
                Some(name),
                Kind::Failure,
                &format!("destroyed at expiry, but the state could not record it: {e}"),
                "",
            ),
        }
        t.incident = None;
    }
    Ok(())
}

/// Why a heal did not happen.
pub(super) enum Healing {
    /// The project was destroyed since the watch began: nothing was done.
    Destroyed(StateError),
    /// It failed, in one sentence.
    Failed(String),
}

/// Applies `graph` through `apply`'s path, narrowed to `only`, on behalf of
/// the watch (refused under the lock once the project was destroyed).
pub(super) async fn apply_only(
    w: &Watcher<'_>,
    engine: &Engine,
    graph: &Graph,
    only: &BTreeSet<ResourceName>,
) -> Result<apply::Report, Healing> {
    let hooks = WatchHooks {
        reporter: w.reporter.clone(),
    };
    let report = apply::run(
        Target {
            project: w.project,
            plugins: w.plugins,
            engine: engine.clone(),
            adopt: &[],
            options: (w.options)(),
            hooks: &hooks,
            only: Some(only),
            caller: apply::Caller::Watch(w.generation),
        },
        graph,
        w.sources,
    )
    .await
    .map_err(|e| match e {
        apply::RunError::State(destroyed @ StateError::Destroyed { .. }) => {
            Healing::Destroyed(destroyed)
        }
        // A destroy holding the lock has recorded itself first thing.
        apply::RunError::State(locked @ StateError::Locked { .. }) => {
            match State::load(&w.project.files, &w.project.identity)
                .map(|s| s.may_heal(w.generation))
            {
                Ok(Err(destroyed)) => Healing::Destroyed(destroyed),
                _ => Healing::Failed(locked.to_string()),
            }
        }
        other => Healing::Failed(other.to_string()),
    })?;
    if report.failed() {
        Err(Healing::Failed(report.failures().join("; ")))
    } else {
        Ok(report)
    }
}

/// `names` and every resource that depends on one of them.
pub(super) fn dependents(graph: &Graph, names: &BTreeSet<ResourceName>) -> BTreeSet<ResourceName> {
    let mut out = names.clone();
    loop {
        let before = out.len();
        for (id, deps) in &graph.depends_on {
            if deps
                .iter()
                .any(|d| out.contains(&graph.project.get(*d).name))
            {
                out.insert(graph.project.get(*id).name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

pub(super) fn alert(w: &Watcher<'_>, resource: &str, kind: Kind, seen: &str, done: &str) {
    let project = w.project.identity.name.clone();
    let verb = match kind {
        Kind::Drift => "drifted",
        Kind::Failure => "failed",
        Kind::Recovered => "recovered",
        Kind::Expired => "expired",
        Kind::Heal | Kind::Watch => "changed",
    };
    w.alerts.send(
        Alert {
            text: format!("clockwork: `{resource}` of `{project}` {verb}: {seen}"),
            project,
            resource: resource.to_string(),
            kind,
            seen: seen.to_string(),
            done: done.to_string(),
            at: crate::model::time::now_rfc3339(),
        },
        w.reporter.clone(),
    );
}

/// Up to 1, from the clock's nanoseconds: enough to keep resources that
/// failed together from retrying together.
pub(super) fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}

/// A heal's notes go to the watch log. It never asks: a heal deletes
/// nothing, and an expiry deletes only what ran out (`only` narrows every
/// run to those); `--apply-changes` is the user's word for the rest.
pub struct WatchHooks {
    /// Where notes go.
    pub reporter: Arc<Reporter>,
}

impl Hooks for WatchHooks {
    fn note(&self, text: &str) {
        self.reporter.event(None, Kind::Watch, text, "");
    }
    fn planned(&self, _plan: &Plan) {}
    fn confirm(&self, _question: &str) -> Confirmation {
        Confirmation::Yes
    }
    fn waits_for_an_answer(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeclId, Declared};

    #[test]
    fn healing_a_resource_applies_again_everything_that_depends_on_it() {
        // api on db, web on api; cache on nothing.
        let graph = Graph {
            project: Declared::boxes(&["db", "api", "web", "cache"]),
            specs: Default::default(),
            depends_on: [(DeclId(1), vec![DeclId(0)]), (DeclId(2), vec![DeclId(1)])].into(),
            layers: vec![vec![DeclId(0), DeclId(3)], vec![DeclId(1)], vec![DeclId(2)]],
            connections: Vec::new(),
        };
        let names = |n: &[&str]| {
            n.iter()
                .map(|s| ResourceName::from(*s))
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(
            dependents(&graph, &names(&["db"])),
            names(&["db", "api", "web"])
        );
        assert_eq!(dependents(&graph, &names(&["web"])), names(&["web"]));
        assert_eq!(dependents(&graph, &names(&["cache"])), names(&["cache"]));
    }
}
