//! What is wrong with a watched resource: its plan, the Engine's view of
//! its containers, and its assertions and plugin status on their
//! interval.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::docker::Engine;
use crate::model::ResourceName;
use crate::plan::{ChangeKind, Plan};
use crate::state::State;

use super::{Tracked, Watcher};

/// Runs the assertions of the resources whose `check_interval` came round
/// (each at most 10 s, so a failing one does not hold the loop) and
/// records what fails in each one's `assert_failure`. A check that could
/// not run is not drift: it says nothing about the resource.
pub(super) async fn run_assertions(
    w: &Watcher<'_>,
    engine: &Engine,
    state: &State,
    observation: &crate::docker::Observation,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
    now: Instant,
) {
    // A container still starting (its health check not yet passed) is
    // not judged: restarting it then is what makes a slow service never
    // come up (docker-autoheal's mistake).
    let starting = |name: &str| {
        observation.for_resource(name).is_some_and(|o| {
            o["containers"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["health"] == "starting"))
        })
    };
    let due: Vec<String> = tracked
        .iter_mut()
        .filter(|(name, t)| !starting(name) && is_due(t, now))
        .map(|(name, t)| {
            t.last_assert = Some(now);
            name.to_string()
        })
        .collect();
    if due.is_empty() {
        return;
    }
    let mut out = statuses(w, state, observation, &due).await;
    let selection = crate::assert::Selection {
        names: due.clone(),
        implied: true,
    };
    let checks = crate::assert::checks(w.graph, w.plugins, state, &selection)
        .await
        .unwrap_or_default();
    let checks: Vec<crate::assert::Check> = checks
        .into_iter()
        .filter(|c| {
            c.target
                .as_ref()
                .is_some_and(|(r, _)| due.contains(&r.to_string()))
        })
        .map(|mut c| {
            c.timeout = c.timeout.min(Duration::from_secs(10));
            c
        })
        .collect();
    if checks.is_empty() {
        for name in &due {
            if let Some(t) = tracked.get_mut(name.as_str()) {
                t.assert_failure = out.remove(name.as_str());
                settle(t);
            }
        }
        return;
    }
    w.plugins.attach(crate::plugin::Deployment {
        hosts: observation.hosts(),
        engine: engine.clone(),
    });
    let results = crate::assert::run(
        checks,
        w.plugins,
        state,
        crate::assert::Options::default(),
        &mut |_| {},
    )
    .await;
    for r in results {
        if r.verdict == crate::assert::Verdict::Fail
            && let Some((resource, _)) = &r.check.target
        {
            out.entry(resource.clone()).or_insert_with(|| {
                let kind = if matches!(r.check.origin, crate::assert::Origin::Implied(_)) {
                    "implied check"
                } else {
                    "assertion"
                };
                format!("{kind} `{}` fails: {}", r.check.name, r.message)
            });
        }
    }
    for name in &due {
        if let Some(t) = tracked.get_mut(name.as_str()) {
            t.assert_failure = out.remove(name.as_str());
            settle(t);
        }
    }
}

/// Whether `t`'s checks run at this look: never run, its interval passed,
/// or the next step of its settling came.
fn is_due(t: &Tracked, now: Instant) -> bool {
    let Some(at) = t.last_assert else {
        return true;
    };
    now.duration_since(at) >= t.settings.check_interval
        || t.settle_wake().is_some_and(|wake| now >= wake)
}

/// After its checks ran: settling ends once they pass or the window is
/// over, else the next step is twice as long.
fn settle(t: &mut Tracked) {
    let passed = t.assert_failure.is_none();
    if let Some(settling) = t.settling.as_mut() {
        settling.step *= 2;
    }
    if passed || t.settle_wake().is_none() {
        t.settling = None;
    }
}

/// What each of `due`'s plugins says of it (`status`), where that is an
/// incident: degraded, stopped, missing or drifted. A plugin without a
/// `status`, or one that cannot tell, says nothing.
pub(super) async fn statuses(
    w: &Watcher<'_>,
    state: &State,
    observation: &crate::docker::Observation,
    due: &[String],
) -> BTreeMap<ResourceName, String> {
    use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::Health;
    let observation = observation.against(state);
    let mut out = BTreeMap::new();
    for name in due {
        let Some(recorded) = state.resources.get(name.as_str()) else {
            continue;
        };
        let Some(plugin) = w.plugins.for_type(&recorded.type_name) else {
            continue;
        };
        let target = crate::plugin::bindings::types::ResourceRef {
            type_name: recorded.type_name.to_string(),
            name: name.clone(),
        };
        let observed = observation.for_resource(name).map(|o| o.to_string());
        let Ok(Ok(report)) = plugin
            .status(&target, &recorded.state.to_string(), observed.as_deref())
            .await
        else {
            continue;
        };
        let drifted: Vec<String> = report
            .drift
            .iter()
            .filter(|c| c.path != "/")
            .map(|c| c.path.trim_start_matches('/').replace('/', "."))
            .collect();
        let wrong = match report.health {
            Health::Degraded | Health::Stopped | Health::Missing => true,
            Health::Ready | Health::Starting | Health::Unknown => !report.drift.is_empty(),
        };
        if wrong {
            let mut seen = format!(
                "its plugin reports it {:?}: {}",
                report.health, report.message
            )
            .to_lowercase();
            if !drifted.is_empty() {
                seen.push_str(&format!(" (changed: {})", drifted.join(", ")));
            }
            out.insert(ResourceName::from(name.as_str()), seen);
        }
    }
    out
}

/// What is wrong with a resource.
pub(super) struct Drift {
    /// What was seen, for the log.
    pub(super) seen: String,
    /// Containers the Engine reports unhealthy or restarting while the
    /// plan has nothing to change: healing them is a restart (Docker's
    /// restart policy never acts on `unhealthy`).
    pub(super) restart: Vec<String>,
}

/// What is wrong with `name` now, if anything.
pub(super) fn drift_of(
    plan: &Plan,
    observation: &crate::docker::Observation,
    name: &str,
) -> Option<Drift> {
    if let Some(e) = plan.entries.iter().find(|e| e.name.as_str() == name)
        && e.change != ChangeKind::None
    {
        let fields: Vec<String> = e
            .changed
            .iter()
            .filter(|c| c.path != "/")
            .map(|c| c.name())
            .collect();
        let seen = if fields.is_empty() {
            format!("not as declared: {}", e.change)
        } else {
            format!("not as declared: {} ({})", e.change, fields.join(", "))
        };
        return Some(Drift {
            seen,
            restart: Vec::new(),
        });
    }
    let observed = observation.for_resource(name)?;
    let mut seen = Vec::new();
    let mut restart = Vec::new();
    for c in observed["containers"].as_array()? {
        let container = c["name"].as_str().unwrap_or(name).to_string();
        if c["health"] == "unhealthy" {
            seen.push(format!("`{container}` is unhealthy"));
            restart.push(container);
        } else if c["restarting"] == true {
            seen.push(format!("`{container}` keeps restarting"));
            restart.push(container);
        }
    }
    (!restart.is_empty()).then(|| Drift {
        seen: seen.join(", "),
        restart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::Observation;
    use crate::docker::observe::ObservedContainer;

    fn watched() -> Tracked {
        let settings = crate::reconcile::Settings {
            reconcile: true,
            check_interval: Duration::from_secs(3600),
            max_duration: None,
            on_drift: crate::reconcile::OnDrift::Alert,
            alert_on: Default::default(),
        };
        Tracked::new(settings, Default::default(), serde_json::Map::new())
    }

    #[test]
    fn after_a_restart_failing_checks_run_again_at_growing_steps_until_they_pass() {
        let start = Instant::now();
        let mut t = watched();
        t.last_assert = Some(start);
        assert!(
            !is_due(&t, start + Duration::from_secs(60)),
            "an hour's interval"
        );
        // The container restarted while its check failed.
        t.assert_failure = Some("no line matches /ready/".into());
        t.settling = Some(super::super::Settling::new(start));
        assert!(!is_due(&t, start + Duration::from_millis(100)));
        assert!(is_due(&t, start + Duration::from_millis(500)));
        // Still failing: the next step is twice as long.
        t.last_assert = Some(start + Duration::from_millis(500));
        settle(&mut t);
        assert_eq!(t.settle_wake(), Some(start + Duration::from_millis(1500)));
        // Passing: settling ends; the interval rules again.
        t.assert_failure = None;
        settle(&mut t);
        assert!(t.settling.is_none());
        assert!(!is_due(&t, start + Duration::from_secs(20)));
    }

    #[test]
    fn settling_ends_with_its_window() {
        let start = Instant::now();
        let mut t = watched();
        t.assert_failure = Some("still wrong".into());
        t.last_assert = Some(start);
        t.settling = Some(super::super::Settling::new(start));
        let mut now = start;
        let mut looks = 0;
        while let Some(wake) = t.settle_wake() {
            now = wake;
            t.last_assert = Some(now);
            settle(&mut t);
            looks += 1;
            assert!(looks < 10, "bounded");
        }
        assert!(now <= start + Duration::from_secs(30));
        assert!(looks >= 3, "{looks} looks");
    }

    fn container(
        name: &str,
        running: bool,
        restarting: bool,
        health: Option<&str>,
    ) -> ObservedContainer {
        ObservedContainer {
            running,
            restarting,
            health: health.map(str::to_string),
            ..ObservedContainer::fixture(name)
        }
    }

    fn plan() -> Plan {
        Plan {
            project: "p".into(),
            file: "main.star".into(),
            entries: Vec::new(),
            connections: Vec::new(),
            completed_assertions: Vec::new(),
            layers: 1,
            compared_with: None,
        }
    }

    fn observed(containers: Vec<(&str, ObservedContainer)>) -> Observation {
        let mut o = Observation::default();
        for (resource, c) in containers {
            o.containers
                .entry(resource.to_string())
                .or_default()
                .push(c);
        }
        o
    }

    #[test]
    fn an_unhealthy_or_restarting_container_is_drift_healed_by_a_restart() {
        let o = observed(vec![
            ("web", container("web", true, false, Some("unhealthy"))),
            ("worker", container("worker", false, true, None)),
            ("db", container("db", true, false, Some("healthy"))),
        ]);
        let web = drift_of(&plan(), &o, "web").expect("drift");
        assert_eq!(web.restart, ["web"]);
        assert!(web.seen.contains("`web` is unhealthy"), "{}", web.seen);
        let worker = drift_of(&plan(), &o, "worker").expect("drift");
        assert_eq!(worker.restart, ["worker"]);
        assert!(worker.seen.contains("keeps restarting"), "{}", worker.seen);
        assert!(
            drift_of(&plan(), &o, "db").is_none(),
            "healthy and as planned"
        );
        assert!(drift_of(&plan(), &o, "gone").is_none(), "nothing observed");
    }
}
