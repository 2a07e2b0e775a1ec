//! One look at the project: what is wrong with each watched resource, what
//! its `on_drift` says to do about it, and doing it (restarts, then one
//! apply of everything healed and what depends on it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::apply;
use crate::docker::{Engine, Observation};
use crate::model::{DeclId, Located, ResourceName};
use crate::plan::Plan;
use crate::reconcile::{AlertOn, OnDrift};
use crate::state::State;

use super::backoff::{Backoff, May};
use super::checks::{Drift, drift_of, run_assertions};
use super::heal::{Healing, alert, apply_only, dependents, expire, jitter};
use super::report::Kind;
use super::{Halt, Tracked, Watcher};

/// What a look found before anything was decided.
struct Seen {
    state: State,
    observation: Observation,
    plan: Plan,
    /// The resources whose heal the host would refuse, and why.
    refused: BTreeMap<ResourceName, String>,
    now: Instant,
}

/// What a look decided to do.
#[derive(Default)]
struct Todo {
    /// The resources to apply again.
    heal: BTreeSet<ResourceName>,
    /// The containers to restart first: resource, containers, why.
    restart: Vec<(ResourceName, Vec<String>, String)>,
    /// The earliest time a backed-off or expiring resource is due.
    earliest: Option<Instant>,
}

impl Todo {
    /// Looks again no later than `at`.
    fn due(&mut self, at: Instant) {
        self.earliest = Some(self.earliest.map_or(at, |e| e.min(at)));
    }
}

/// Looks at every watched resource, heals what may be healed; returns the
/// earliest time a backed-off resource may be healed.
/// `Err` when the Engine could not be listed, or the project was destroyed.
pub(super) async fn check(
    w: &Watcher<'_>,
    engine: &Engine,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
) -> Result<Option<Instant>, Halt> {
    let Some(seen) = gather(w, engine, tracked).await? else {
        return Ok(None);
    };
    let mut todo = Todo::default();
    // Expiry first: an expired resource is destroyed, not healed.
    let expired = expired(&seen.state, tracked, seen.now, &mut todo);
    if !expired.is_empty() {
        expire(w, engine, &expired, tracked).await?;
        return Ok(Some(Instant::now()));
    }
    run_assertions(w, engine, &seen.state, &seen.observation, tracked, seen.now).await;
    // A check runs after the plan was made and may see what happened in
    // between (a container killed): a failed check is judged against a
    // look at least as new as itself, so that a drift is named by what
    // changed ("not as declared") and healed as such, not by a restart.
    let judged_on_an_older_look = tracked.iter().any(|(name, t)| {
        t.assert_failure.is_some()
            && !left_alone(&seen.state, name)
            && drift_of(&seen.plan, &seen.observation, name).is_none()
    });
    let seen = if judged_on_an_older_look {
        match gather(w, engine, tracked).await? {
            Some(newer) => newer,
            None => return Ok(None),
        }
    } else {
        seen
    };
    for (name, t) in tracked.iter_mut() {
        decide(w, &seen, name, t, &mut todo);
    }
    if todo.heal.is_empty() {
        return Ok(todo.earliest);
    }
    if let Some(retry) = restart(w, engine, &todo.restart).await? {
        return Ok(Some(retry));
    }
    heal(w, engine, tracked, todo).await
}

/// Reads the state, lists the Engine and plans; `None` when the state or
/// the plan could not be had (said; the next look tries again).
async fn gather(
    w: &Watcher<'_>,
    engine: &Engine,
    tracked: &BTreeMap<ResourceName, Tracked>,
) -> Result<Option<Seen>, Halt> {
    let files = &w.project.files;
    let state = match State::load(files, &engine.identity) {
        Ok(s) => s,
        Err(e) => {
            w.reporter.event(
                None,
                Kind::Failure,
                &format!("cannot read the state: {e}"),
                "",
            );
            return Ok(None);
        }
    };
    state.may_heal(w.generation).map_err(Halt::Destroyed)?;
    let observation = match engine.observe().await {
        Ok(o) => o,
        Err(e) => {
            return Err(Halt::Engine(format!(
                "cannot list the project's containers: {e}"
            )));
        }
    };
    let (plan, problems) = match apply::planned_each(
        w.graph,
        w.sources,
        w.plugins,
        &engine.identity,
        &state,
        Some(&observation),
        files,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            w.reporter.event(
                None,
                Kind::Failure,
                &format!("cannot plan: {e}"),
                "will look again",
            );
            return Ok(None);
        }
    };
    let refused = refused(w, tracked, problems);
    Ok(Some(Seen {
        state,
        observation,
        plan,
        refused,
        now: Instant::now(),
    }))
}

/// A resource whose heal the host would refuse (a file changed by hand,
/// a port taken) is reported and left alone; the others are looked
/// after as usual. Returns the refused watched resources, with why; the
/// other problems are said here.
fn refused(
    w: &Watcher<'_>,
    tracked: &BTreeMap<ResourceName, Tracked>,
    problems: Vec<(DeclId, Located)>,
) -> BTreeMap<ResourceName, String> {
    let mut refused: BTreeMap<ResourceName, String> = BTreeMap::new();
    for (decl, problem) in problems {
        let d = w.graph.project.get(decl);
        let why = match &problem.help {
            Some(help) => format!("{}; {help}", problem.message),
            None => problem.message.clone(),
        };
        if tracked.contains_key(&d.name) && d.kind == crate::model::PluginKind::Resource {
            refused.insert(d.name.clone(), why);
        } else {
            w.reporter.event(
                None,
                Kind::Failure,
                &format!("cannot plan: {why}"),
                "will look again",
            );
        }
    }
    refused
}

/// Records each resource's expiry from the state; returns those whose
/// time ran out (and not yet destroyed for it), and makes the others'
/// expiry due in `todo`.
fn expired(
    state: &State,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
    now: Instant,
    todo: &mut Todo,
) -> BTreeSet<ResourceName> {
    let now_s = crate::model::time::now_ms() / 1000;
    let mut expired: BTreeSet<ResourceName> = BTreeSet::new();
    for (name, t) in tracked.iter_mut() {
        t.expires_at = state.resources.get(name).and_then(|r| r.expires_at);
    }
    for name in tracked.keys() {
        if state.expired.contains_key(name) {
            continue;
        }
        if let Some(at) = state.resources.get(name).and_then(|r| r.expires_at) {
            if at <= now_s {
                expired.insert(name.clone());
            } else {
                todo.due(now + Duration::from_secs(at - now_s));
            }
        }
    }
    expired
}

/// Decides what to do about one resource, says what it decided, and adds
/// its heal or restart to `todo`.
fn decide(w: &Watcher<'_>, seen: &Seen, name: &ResourceName, t: &mut Tracked, todo: &mut Todo) {
    if held(w, &seen.state, name, t) {
        return;
    }
    let drift = drift_of(&seen.plan, &seen.observation, name).or_else(|| {
        t.assert_failure.as_ref().map(|failed| Drift {
            seen: failed.clone(),
            // A check that fails while everything is as declared is
            // healed like an unhealthy container: by a restart.
            restart: containers_of(&seen.observation, name),
        })
    });
    let Some(drift) = drift else {
        as_declared(w, name, t, seen.now);
        return;
    };
    if let Some(why) = seen.refused.get(name) {
        not_corrected(w, name, t, &drift.seen, why);
        return;
    }
    drifted(w, name, t, &drift, seen.now, todo);
}

/// Whether `state` says to leave `name` alone: expired earlier, or
/// stopped with `clockwork stop`.
fn left_alone(state: &State, name: &ResourceName) -> bool {
    state.expired.contains_key(name) || state.resources.get(name).is_some_and(|r| r.stopped)
}

/// Whether the resource is left alone on purpose: expired earlier, or
/// stopped with `clockwork stop` (each said once).
fn held(w: &Watcher<'_>, state: &State, name: &ResourceName, t: &mut Tracked) -> bool {
    if state.expired.contains_key(name) {
        if !t.held {
            w.reporter.event(
                Some(name),
                Kind::Watch,
                "expired earlier",
                "left destroyed until `clockwork apply` creates it again",
            );
            t.held = true;
        }
        return true;
    }
    if state.resources.get(name).is_some_and(|r| r.stopped) {
        // The operator's intent; not an incident.
        t.incident = None;
        if !t.held {
            w.reporter.event(
                Some(name),
                Kind::Watch,
                "stopped with `clockwork stop`",
                "left stopped until `clockwork start`",
            );
            t.held = true;
        }
        return true;
    }
    t.held = false;
    false
}

/// The names of the containers the Engine lists for `name`.
fn containers_of(observation: &Observation, name: &str) -> Vec<String> {
    observation
        .for_resource(name)
        .and_then(|o| {
            o["containers"].as_array().map(|cs| {
                cs.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_string))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// Nothing is wrong: ends its incident (said, and alerted if the incident
/// was).
fn as_declared(w: &Watcher<'_>, name: &ResourceName, t: &mut Tracked, now: Instant) {
    // Given up on, yet as declared again: the user fixed it (an
    // apply, a start); it is looked after again.
    if t.backoff.given_up() {
        t.backoff = Backoff::new(w.policy);
        t.gave_up_alerted = false;
    }
    t.backoff.fine(now);
    if t.incident.take().is_some() {
        w.reporter
            .event(Some(name), Kind::Recovered, "as declared again", "");
        if t.alerted {
            alert(w, name, Kind::Recovered, "as declared again", "");
        }
        t.alerted = false;
    }
}

/// A drift whose heal the host would refuse.
fn not_corrected(w: &Watcher<'_>, name: &ResourceName, t: &mut Tracked, seen: &str, why: &str) {
    // Not healed, and not counted against its budget: healing it is
    // the user's call. Said once, unless what is seen changes.
    if t.incident.as_deref() != Some(seen) {
        t.incident = Some(seen.to_string());
        let done = format!("not corrected: {why}");
        w.reporter.event(Some(name), Kind::Drift, seen, &done);
        if t.settings.on_drift != OnDrift::Ignore && t.settings.alert_on.contains(&AlertOn::Drift) {
            alert(w, name, Kind::Drift, seen, &done);
            t.alerted = true;
        }
    }
}

/// A drift: does what its `on_drift` and its backoff say.
fn drifted(
    w: &Watcher<'_>,
    name: &ResourceName,
    t: &mut Tracked,
    drift: &Drift,
    now: Instant,
    todo: &mut Todo,
) {
    let seen = drift.seen.clone();
    t.backoff.drifted();
    let new = t.incident.is_none();
    if new {
        t.incident = Some(seen.clone());
    }
    let done = match t.settings.on_drift {
        OnDrift::Ignore => "recorded (on_drift = \"ignore\")".to_string(),
        OnDrift::Alert => "alerted, not corrected (on_drift = \"alert\")".to_string(),
        OnDrift::AutoCorrect => correct(w, name, t.backoff.may(now), drift, now, todo),
    };
    if new || todo.heal.contains(name) {
        w.reporter.event(Some(name), Kind::Drift, &seen, &done);
    }
    // `ignore` only records: no alert, whatever `alert_on` says.
    if new
        && t.settings.on_drift != OnDrift::Ignore
        && t.settings.alert_on.contains(&AlertOn::Drift)
    {
        alert(w, name, Kind::Drift, &seen, &done);
        t.alerted = true;
    }
}

/// `on_drift = "auto_correct"`: a heal or a restart if the backoff allows;
/// returns what was done, in words.
fn correct(
    w: &Watcher<'_>,
    name: &ResourceName,
    may: May,
    drift: &Drift,
    now: Instant,
    todo: &mut Todo,
) -> String {
    match may {
        May::Heal if !drift.restart.is_empty() => {
            todo.restart
                .push((name.clone(), drift.restart.clone(), drift.seen.clone()));
            todo.heal.insert(name.clone());
            format!(
                "restarting {}",
                drift
                    .restart
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        May::Heal => {
            todo.heal.insert(name.clone());
            // The journal says why the actions that follow ran.
            crate::state::journal(
                &w.project.files,
                &serde_json::json!({
                    "time": crate::model::time::now_ms(),
                    "resource": name,
                    "action": "heal",
                    "status": "started",
                    "detail": {"by": "clockwork watch", "why": drift.seen},
                }),
            );
            "applying it again".to_string()
        }
        May::WaitUntil(at) => {
            todo.due(at);
            format!(
                "backing off: next try in {} s",
                at.saturating_duration_since(now).as_secs()
            )
        }
        May::GivenUp => "given up on: it is left alone until its declaration or `clockwork start` changes something".to_string(),
    }
}

/// Restarts the containers of `restart`; `Some(when)` to look again when
/// the lock could not be taken (nothing was restarted).
async fn restart(
    w: &Watcher<'_>,
    engine: &Engine,
    restart: &[(ResourceName, Vec<String>, String)],
) -> Result<Option<Instant>, Halt> {
    let files = &w.project.files;
    // An unhealthy container is restarted here, under the lock and only
    // if the project was not destroyed meanwhile; the apply below then
    // records its new start, as for any heal.
    let grace = w.project.config.limits.containers().stop_grace;
    let restarting = if restart.is_empty() {
        None
    } else {
        let locked = crate::state::Lock::acquire(files)
            .and_then(|lock| Ok((lock, State::load(files, &w.project.identity)?)));
        match locked {
            Ok((lock, state)) => {
                state.may_heal(w.generation).map_err(Halt::Destroyed)?;
                Some(lock)
            }
            Err(e) => {
                w.reporter.event(
                    None,
                    Kind::Failure,
                    &format!("cannot restart: {e}"),
                    "will look again",
                );
                return Ok(Some(Instant::now() + Duration::from_secs(1)));
            }
        }
    };
    for (name, containers, why) in restart {
        for c in containers {
            let restarted = match engine.stop_container(name, c, grace).await {
                Ok(_) => engine.start_container(name, c).await.map(|_| ()),
                Err(e) => Err(e),
            };
            crate::state::journal(
                files,
                &serde_json::json!({
                    "time": crate::model::time::now_ms(),
                    "resource": name,
                    "action": format!("restart {c}"),
                    "status": if restarted.is_ok() { "done" } else { "failed" },
                    "detail": {"by": "clockwork watch", "why": why},
                }),
            );
            if let Err(e) = restarted {
                w.reporter.event(
                    Some(name),
                    Kind::Failure,
                    &format!("restarting `{c}` failed: {e}"),
                    "",
                );
            }
        }
    }
    drop(restarting);
    Ok(None)
}

/// Applies again what `todo` heals, and what depends on it; records each
/// heal against its backoff. Returns when to look again.
async fn heal(
    w: &Watcher<'_>,
    engine: &Engine,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
    mut todo: Todo,
) -> Result<Option<Instant>, Halt> {
    // What depends on a healed resource is applied with it.
    let with_dependents = dependents(w.graph, &todo.heal);
    let failure = match apply_only(w, engine, w.graph, &with_dependents).await {
        Ok(_) => None,
        Err(Healing::Destroyed(destroyed)) => return Err(Halt::Destroyed(destroyed)),
        Err(Healing::Failed(why)) => Some(why),
    };
    let now = Instant::now();
    for name in &todo.heal {
        let Some(t) = tracked.get_mut(name) else {
            continue;
        };
        healed(w, name, t, failure.as_deref(), now);
        if let May::WaitUntil(at) = t.backoff.may(now) {
            todo.earliest = Some(todo.earliest.map_or(at, |e| e.min(at)));
        }
    }
    // A second look soon after, to see whether the heal held (and say so),
    // rather than at the next interval.
    let soon = now + Duration::from_secs(1);
    Ok(Some(todo.earliest.map_or(soon, |e| e.min(soon))))
}

/// Records one heal: says how it went, and gives up on the resource once
/// its budget is spent (alerted once).
fn healed(
    w: &Watcher<'_>,
    name: &ResourceName,
    t: &mut Tracked,
    failure: Option<&str>,
    now: Instant,
) {
    let spent = t.backoff.healed(now, jitter());
    t.heals += 1;
    // Its assertions say at the next look whether the heal worked.
    t.last_assert = None;
    match failure {
        None => w
            .reporter
            .event(Some(name), Kind::Heal, "applied again", "done"),
        // Retried after the backoff; alerted only when given up on,
        // so a crash loop is one alert, not one per try.
        Some(why) => w.reporter.event(
            Some(name),
            Kind::Failure,
            &format!("healing failed: {why}"),
            "will try again after the backoff",
        ),
    }
    if spent && !t.gave_up_alerted {
        let seen = format!(
            "healed {} times within {} s",
            w.policy.budget,
            w.policy.window.as_secs()
        );
        w.reporter.event(
            Some(name),
            Kind::Failure,
            &seen,
            "given up on: left alone until its declaration or the user changes something",
        );
        if t.settings.alert_on.contains(&AlertOn::Failure) {
            alert(w, name, Kind::Failure, &seen, "given up on");
            t.alerted = true;
        }
        t.gave_up_alerted = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::observe::ObservedContainer;

    fn container(name: &str) -> ObservedContainer {
        ObservedContainer::fixture(name)
    }

    #[test]
    fn a_failing_check_restarts_every_container_of_its_resource_and_no_other() {
        let mut o = Observation::default();
        for (resource, c) in [("web", "web-1"), ("web", "web-2"), ("db", "db")] {
            o.containers
                .entry(resource.to_string())
                .or_default()
                .push(container(c));
        }
        assert_eq!(containers_of(&o, "web"), ["web-1", "web-2"]);
        assert_eq!(containers_of(&o, "db"), ["db"]);
        assert!(containers_of(&o, "gone").is_empty());
    }

    #[test]
    fn a_look_is_due_again_at_the_earliest_of_its_reasons() {
        let now = Instant::now();
        let mut todo = Todo::default();
        todo.due(now + Duration::from_secs(30));
        todo.due(now + Duration::from_secs(5));
        todo.due(now + Duration::from_secs(60));
        assert_eq!(todo.earliest, Some(now + Duration::from_secs(5)));
    }
}

/// What one look decides about each resource, and the incident it keeps:
/// a plan and an observation written by hand in, the decision, the
/// resource's bookkeeping and the watch log out.
#[cfg(test)]
mod incident_tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde_json::{Value as Json, json};

    use super::*;
    use crate::docker::observe::ObservedContainer;
    use crate::model::Declared;
    use crate::plan::{ChangeKind, PlanEntry};
    use crate::plugin::{PluginRuntime, PluginSet, RuntimeOptions};
    use crate::project::Project;
    use crate::reconcile::Settings;
    use crate::resolve::Graph;
    use crate::state::{Generation, ResourceState};
    use crate::watch::backoff::Policy;
    use crate::watch::report::{Alerts, Reporter};

    /// A project folder (for the watch log) and what a watch of `db` and
    /// `api` is given.
    struct Fixture {
        _tmp: tempfile::TempDir,
        project: Project,
        plugins: PluginSet,
        graph: Graph,
        sources: crate::load::Sources,
        policy: Policy,
    }

    fn no_options() -> apply::Options {
        unreachable!("nothing is applied in these tests")
    }

    impl Fixture {
        async fn new() -> Fixture {
            let tmp = tempfile::tempdir().expect("temp dir");
            let project = Project::open(tmp.path()).expect("project");
            let runtime = PluginRuntime::new(RuntimeOptions::default()).expect("runtime");
            let plugins = PluginSet::load(&runtime, Vec::new(), Vec::new(), &BTreeMap::new()).await;
            Fixture {
                _tmp: tmp,
                project,
                plugins,
                graph: Graph {
                    project: Declared::boxes(&["db", "api"]),
                    specs: BTreeMap::new(),
                    depends_on: BTreeMap::new(),
                    layers: vec![vec![DeclId(0), DeclId(1)]],
                    connections: Vec::new(),
                },
                sources: crate::load::Sources::new(),
                policy: Policy::default(),
            }
        }

        fn watcher(&self) -> Watcher<'_> {
            Watcher {
                project: &self.project,
                plugins: &self.plugins,
                graph: &self.graph,
                sources: &self.sources,
                reporter: Arc::new(Reporter::new(self.project.files.clone(), true)),
                alerts: Alerts::new(None),
                policy: self.policy,
                options: &no_options,
                generation: Generation(0),
            }
        }

        /// The watch log so far: (resource, kind, seen, done) per event.
        fn log(&self) -> Vec<(String, String, String, String)> {
            let text = std::fs::read_to_string(self.project.dir.join(".clockwork/watch.log"))
                .unwrap_or_default();
            text.lines()
                .map(|line| {
                    let v: Json = serde_json::from_str(line).expect("a JSON line");
                    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                    (s("resource"), s("kind"), s("seen"), s("done"))
                })
                .collect()
        }

        fn tracked(&self, on_drift: OnDrift, alert_on: &[AlertOn]) -> Tracked {
            let settings = Settings {
                reconcile: true,
                check_interval: Duration::from_secs(60),
                max_duration: None,
                on_drift,
                alert_on: alert_on.iter().copied().collect(),
            };
            Tracked::new(settings, self.policy, serde_json::Map::new())
        }

        fn seen(&self, entries: Vec<PlanEntry>, observation: Observation) -> Seen {
            Seen {
                state: State::empty(&self.project.identity),
                observation,
                plan: Plan::fixture(entries),
                refused: BTreeMap::new(),
                now: Instant::now(),
            }
        }
    }

    fn name(n: &str) -> ResourceName {
        ResourceName::from(n)
    }

    fn changed(n: &str, change: ChangeKind) -> PlanEntry {
        PlanEntry::fixture(Some(0), n, change, Vec::new())
    }

    fn observed(n: &str, health: Option<&str>) -> Observation {
        let mut o = Observation::default();
        o.containers.insert(
            n.to_string(),
            vec![ObservedContainer {
                health: health.map(str::to_string),
                ..ObservedContainer::fixture(n)
            }],
        );
        o
    }

    fn event(
        resource: &str,
        kind: &str,
        seen: &str,
        done: &str,
    ) -> (String, String, String, String) {
        (resource.into(), kind.into(), seen.into(), done.into())
    }

    #[tokio::test]
    async fn a_drift_is_healed_at_once_then_backs_off_without_saying_it_again() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[]);
        let seen = f.seen(
            vec![changed("db", ChangeKind::Update)],
            Observation::default(),
        );
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert_eq!(todo.heal, BTreeSet::from([name("db")]));
        assert!(todo.restart.is_empty(), "the plan changes it: an apply");
        assert_eq!(t.incident.as_deref(), Some("not as declared: update"));
        assert_eq!(
            f.log(),
            [event(
                "db",
                "drift",
                "not as declared: update",
                "applying it again"
            )]
        );

        // Healed, and still drifted at the next look: not before the backoff.
        t.backoff.healed(seen.now, 0.0);
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert!(todo.heal.is_empty());
        assert_eq!(todo.earliest, Some(seen.now + Duration::from_secs(10)));
        assert_eq!(f.log().len(), 1, "the same incident is not said again");
    }

    #[tokio::test]
    async fn an_unhealthy_container_is_healed_by_restarting_it() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[]);
        let seen = f.seen(
            vec![changed("db", ChangeKind::None)],
            observed("db", Some("unhealthy")),
        );
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert_eq!(
            todo.restart,
            [(
                name("db"),
                vec!["db".to_string()],
                "`db` is unhealthy".to_string()
            )]
        );
        assert_eq!(todo.heal, BTreeSet::from([name("db")]));
        assert_eq!(
            f.log(),
            [event("db", "drift", "`db` is unhealthy", "restarting `db`")]
        );
    }

    #[tokio::test]
    async fn a_failed_check_while_all_is_as_declared_is_healed_by_a_restart() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[]);
        t.assert_failure = Some("`db-healthy` failed".into());
        let seen = f.seen(
            vec![changed("db", ChangeKind::None)],
            observed("db", Some("healthy")),
        );
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert_eq!(
            todo.restart,
            [(
                name("db"),
                vec!["db".to_string()],
                "`db-healthy` failed".to_string()
            )]
        );
    }

    #[tokio::test]
    async fn on_drift_alert_or_ignore_never_heals_and_ignore_never_alerts() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let seen = f.seen(
            vec![changed("db", ChangeKind::Replace)],
            Observation::default(),
        );

        let mut alert = f.tracked(OnDrift::Alert, &[AlertOn::Drift]);
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut alert, &mut todo);
        assert!(todo.heal.is_empty() && todo.restart.is_empty());
        assert!(alert.alerted, "an alert went out");

        let mut ignore = f.tracked(OnDrift::Ignore, &[AlertOn::Drift]);
        decide(&w, &seen, &name("db"), &mut ignore, &mut todo);
        assert!(todo.heal.is_empty());
        assert!(!ignore.alerted, "ignore only records");
        assert!(ignore.incident.is_some(), "but it does record");

        let dones: Vec<String> = f.log().into_iter().map(|e| e.3).collect();
        assert_eq!(
            dones,
            [
                "alerted, not corrected (on_drift = \"alert\")",
                "recorded (on_drift = \"ignore\")"
            ]
        );
    }

    #[tokio::test]
    async fn a_drift_the_host_would_refuse_to_heal_is_said_once_and_not_counted() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[AlertOn::Drift]);
        let mut seen = f.seen(
            vec![changed("db", ChangeKind::Update)],
            Observation::default(),
        );
        seen.refused
            .insert(name("db"), "`db` writes `app.conf`, changed by hand".into());
        for _ in 0..2 {
            let mut todo = Todo::default();
            decide(&w, &seen, &name("db"), &mut t, &mut todo);
            assert!(todo.heal.is_empty());
        }
        assert_eq!(
            f.log(),
            [event(
                "db",
                "drift",
                "not as declared: update",
                "not corrected: `db` writes `app.conf`, changed by hand"
            )]
        );
        assert!(t.alerted);
        assert_eq!(t.backoff.may(seen.now), May::Heal, "not against its budget");
    }

    #[tokio::test]
    async fn as_declared_again_ends_the_incident_and_says_it_recovered() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[AlertOn::Drift]);
        t.incident = Some("not as declared: update".into());
        t.alerted = true;
        let seen = f.seen(vec![changed("db", ChangeKind::None)], observed("db", None));
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert_eq!(t.incident, None);
        assert!(!t.alerted, "the recovery was alerted; nothing is pending");
        assert_eq!(f.log(), [event("db", "recovered", "as declared again", "")]);

        // Nothing to end the second time.
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert_eq!(f.log().len(), 1);
    }

    #[tokio::test]
    async fn a_resource_given_up_on_is_looked_after_again_once_it_is_as_declared() {
        let mut f = Fixture::new().await;
        f.policy.budget = 1;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[]);
        t.backoff.healed(Instant::now(), 0.0);
        assert!(t.backoff.given_up());
        let drifted = f.seen(
            vec![changed("db", ChangeKind::Update)],
            Observation::default(),
        );
        let mut todo = Todo::default();
        decide(&w, &drifted, &name("db"), &mut t, &mut todo);
        assert!(todo.heal.is_empty(), "given up on");
        assert!(f.log()[0].3.starts_with("given up on"), "{:?}", f.log());

        let fixed = f.seen(
            vec![changed("db", ChangeKind::None)],
            Observation::default(),
        );
        decide(&w, &fixed, &name("db"), &mut t, &mut todo);
        assert!(!t.backoff.given_up());
        assert_eq!(t.backoff.may(fixed.now), May::Heal);
    }

    #[tokio::test]
    async fn a_resource_stopped_with_clockwork_stop_is_left_alone_and_said_so_once() {
        let f = Fixture::new().await;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[]);
        t.incident = Some("`db` exited".into());
        let mut seen = f.seen(
            vec![changed("db", ChangeKind::Update)],
            Observation::default(),
        );
        seen.state.resources.insert(
            name("db"),
            ResourceState {
                type_name: "Box".into(),
                state: json!({}),
                depends_on: Vec::new(),
                updated_at: 0,
                containers: Vec::new(),
                unknown: Default::default(),
                stopped: true,
                expires_at: None,
            },
        );
        for _ in 0..2 {
            let mut todo = Todo::default();
            decide(&w, &seen, &name("db"), &mut t, &mut todo);
            assert!(todo.heal.is_empty());
        }
        assert_eq!(t.incident, None, "the operator's intent is no incident");
        assert_eq!(
            f.log(),
            [event(
                "db",
                "watch",
                "stopped with `clockwork stop`",
                "left stopped until `clockwork start`"
            )]
        );

        // Started again: looked after again.
        seen.state.resources.get_mut("db").expect("db").stopped = false;
        let mut todo = Todo::default();
        decide(&w, &seen, &name("db"), &mut t, &mut todo);
        assert!(!t.held);
        assert_eq!(todo.heal, BTreeSet::from([name("db")]));
    }

    #[tokio::test]
    async fn what_ran_out_expires_and_what_has_not_yet_is_due_at_its_time() {
        let f = Fixture::new().await;
        let now_s = crate::model::time::now_ms() / 1000;
        let mut state = State::empty(&f.project.identity);
        let lasting = |expires_at: u64| ResourceState {
            type_name: "Box".into(),
            state: json!({}),
            depends_on: Vec::new(),
            updated_at: 0,
            containers: Vec::new(),
            unknown: Default::default(),
            stopped: false,
            expires_at: Some(expires_at),
        };
        state.resources.insert(name("db"), lasting(now_s - 5));
        state.resources.insert(name("api"), lasting(now_s + 100));
        state.resources.insert(name("old"), lasting(now_s - 50));
        state.expired.insert(name("old"), now_s - 40);
        let mut tracked: BTreeMap<ResourceName, Tracked> = ["db", "api", "old", "plain"]
            .into_iter()
            .map(|n| (name(n), f.tracked(OnDrift::AutoCorrect, &[])))
            .collect();
        let now = Instant::now();
        let mut todo = Todo::default();
        let gone = expired(&state, &mut tracked, now, &mut todo);
        assert_eq!(gone, BTreeSet::from([name("db")]), "`old` expired earlier");
        let due = todo.earliest.expect("api is due") - now;
        assert!(
            due > Duration::from_secs(98) && due <= Duration::from_secs(100),
            "{due:?}"
        );
        assert_eq!(tracked[&name("api")].expires_at, Some(now_s + 100));
        assert_eq!(tracked[&name("plain")].expires_at, None);
    }

    #[tokio::test]
    async fn the_heal_that_spends_the_budget_gives_up_and_says_so_once() {
        let mut f = Fixture::new().await;
        f.policy.budget = 2;
        let w = f.watcher();
        let mut t = f.tracked(OnDrift::AutoCorrect, &[AlertOn::Failure]);
        t.last_assert = Some(Instant::now());
        let now = Instant::now();
        healed(&w, &name("db"), &mut t, None, now);
        assert_eq!(t.last_assert, None, "its checks run again at the next look");
        healed(&w, &name("db"), &mut t, Some("the port is taken"), now);
        healed(&w, &name("db"), &mut t, Some("the port is taken"), now);
        assert_eq!(t.heals, 3);
        assert!(t.gave_up_alerted && t.alerted);
        let log = f.log();
        let kinds: Vec<(&str, &str)> = log.iter().map(|e| (e.1.as_str(), e.2.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("heal", "applied again"),
                ("failure", "healing failed: the port is taken"),
                ("failure", "healed 2 times within 600 s"),
                ("failure", "healing failed: the port is taken"),
            ]
        );
    }
}
