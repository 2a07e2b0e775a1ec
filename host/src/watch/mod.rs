//! `clockwork watch`: keeps the resources declared with `reconcile = True`
//! as declared.
//!
//! It subscribes to the Engine's events for this project's containers and
//! re-lists everything on start, after every event, on every reconnect and
//! every `check_interval`, so a drift is seen even when an event was lost
//! (the daemon keeps only its last events, and a reconnect without `since`
//! loses what happened in between); the files Clockwork wrote are looked
//! at every second. A drift is whatever `plan` would change for the
//! resource — a container stopped, killed, removed or changed outside
//! Clockwork (its config hash, or a `docker update` seen against the
//! settings recorded when it was made), a written file edited or deleted —
//! or a container the Engine reports unhealthy or restarting. On each
//! `check_interval` the resource's assertions, explicit and implied, and
//! its plugin's `status` run too; a failure is drift. A container still
//! starting is not judged. What it leads to is the resource's `on_drift`: apply it (and
//! what depends on it) again through the same path as `clockwork apply`
//! (plan, policy, journal), alert, or only record. Healing backs off per
//! resource ([`backoff`]); a resource stopped with `clockwork stop` is the
//! operator's intent and is left alone. A `docker stop` by hand is drift:
//! Docker records nothing that tells it from a crash, and `clockwork stop`
//! is the way to say "keep it stopped".
//!
//! A destroyed project is never healed back. `clockwork destroy` records
//! itself in the state, under the project lock, before it removes
//! anything; every heal, restart and expiry here checks that record under
//! the lock right before it acts ([`State::may_heal`], against the
//! generation the watch began in), and the watch looks at it every second
//! and ends, saying why, once it sees it. A watch does not start on a
//! destroyed project.

pub mod backoff;
mod checks;
mod events;
mod heal;
pub mod report;
mod status;

pub use heal::WatchHooks;
pub use status::STATUS_FILE;

use checks::{Drift, drift_of, run_assertions};
use events::{lose, subscribe, written};
use heal::{Healing, alert, apply_only, dependents, expire, jitter};
use status::write_status;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::apply::{self, Options};
use crate::docker::Engine;
use crate::load::Sources;
use crate::model::ResourceName;
use crate::plugin::PluginSet;
use crate::project::Project;
use crate::reconcile::{AlertOn, OnDrift, Settings};
use crate::resolve::Graph;
use crate::state::{Generation, State, StateError};
use backoff::{Backoff, May, Policy};
use report::{Alerts, Kind, Reporter};

/// Why watching stopped.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Nothing asks to be watched.
    #[error("no resource has `reconcile = True`: nothing to watch")]
    NothingToWatch,
    /// The Engine could not be reached at start.
    #[error(transparent)]
    Engine(#[from] crate::docker::EngineError),
    /// The state could not be read.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// Signals could not be listened to.
    #[error("cannot listen for signals: {0}")]
    Signal(String),
}

/// What a watch works on.
pub struct Watcher<'a> {
    /// The project.
    pub project: &'a Project,
    /// The plugins.
    pub plugins: &'a PluginSet,
    /// The resolved project.
    pub graph: &'a Graph,
    /// Its sources, for messages.
    pub sources: &'a Sources,
    /// The terminal and the log.
    pub reporter: Arc<Reporter>,
    /// The webhook.
    pub alerts: Alerts,
    /// Backoff and budget.
    pub policy: Policy,
    /// Execution options for each heal.
    pub options: &'a dyn Fn() -> Options,
    /// The generation of the project the watch began in: once a destroy
    /// makes another, nothing is healed and the watch ends.
    pub generation: Generation,
}

/// One resource's incident and healing history.
struct Tracked {
    settings: Settings,
    backoff: Backoff,
    /// What was seen when the current incident began.
    incident: Option<String>,
    /// Whether an alert went out for it (so recovery is alerted too).
    alerted: bool,
    /// Whether the failure alert for a spent budget went out.
    gave_up_alerted: bool,
    /// When it was last checked on its own interval.
    last_check: Instant,
    /// Whether it is held stopped by `clockwork stop`, or destroyed at
    /// expiry (said once).
    held: bool,
    /// Heals made by this watch.
    heals: u32,
    /// When its `max_duration` runs out (seconds since the epoch).
    expires_at: Option<u64>,
    /// When its assertions and its plugin's `status` last ran.
    last_assert: Option<Instant>,
    /// What the last run of its assertions (explicit and implied) or its
    /// plugin's `status` found wrong, kept until they run again (so an
    /// incident does not end between two runs).
    assert_failure: Option<String>,
    /// Its declaration's fields when it was last read.
    declared: serde_json::Map<String, serde_json::Value>,
}

/// Why [`watch`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Ctrl-C or SIGTERM.
    Stopped,
    /// A file of the project changed: read it again and watch on.
    ProjectChanged,
    /// The project was destroyed: a destroyed project is never healed back.
    Destroyed,
}

/// Why a look at the project stopped short.
enum Halt {
    /// The Engine could not be listed: look again after a wait.
    Engine(String),
    /// The project was destroyed since the watch began.
    Destroyed(StateError),
}

/// What a watch remembers across reloads of the project: each resource's
/// incident and healing history.
#[derive(Default)]
pub struct Memory(BTreeMap<ResourceName, Tracked>);

/// Runs until Ctrl-C, SIGTERM or `project_changed()` (asked every second).
pub async fn watch(
    w: Watcher<'_>,
    memory: &mut Memory,
    project_changed: &dyn Fn() -> bool,
) -> Result<Ended, WatchError> {
    let mut tracked: BTreeMap<ResourceName, Tracked> = BTreeMap::new();
    for d in crate::load::resources(&w.graph.project).map(|id| w.graph.project.get(id)) {
        // The containers are the leaves'; a composite's settings are its
        // children's.
        let settings = crate::reconcile::effective(&w.graph.project, d.id);
        if settings.reconcile && d.children.is_empty() {
            let mut t = memory.0.remove(&d.name).unwrap_or_else(|| Tracked {
                settings: settings.clone(),
                backoff: Backoff::new(w.policy),
                incident: None,
                alerted: false,
                gave_up_alerted: false,
                last_check: Instant::now(),
                held: false,
                heals: 0,
                expires_at: None,
                last_assert: None,
                assert_failure: None,
                declared: d.fields.clone(),
            });
            // A changed declaration is a fresh start for a resource given
            // up on.
            if t.declared != d.fields {
                t.backoff = Backoff::new(w.policy);
                t.gave_up_alerted = false;
                t.declared = d.fields.clone();
            }
            t.settings = settings;
            tracked.insert(d.name.clone(), t);
        }
    }
    if tracked.is_empty() {
        return Err(WatchError::NothingToWatch);
    }
    // Destroyed while the project was being read again.
    if let Err(destroyed) =
        State::load(&w.project.files, &w.project.identity)?.may_heal(w.generation)
    {
        memory.0 = tracked;
        return Ok(ended_by(&w, &destroyed));
    }
    let ended = run(&w, &mut tracked, project_changed).await;
    memory.0 = tracked;
    ended
}

async fn run(
    w: &Watcher<'_>,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
    project_changed: &dyn Fn() -> bool,
) -> Result<Ended, WatchError> {
    let identity = crate::state::adoption::identity(&w.project.identity);
    let engine = Engine::connect(&identity, w.project.files.clone()).await?;
    // Said once connected: from here on, losing the Engine is survived.
    let names: Vec<String> = tracked.keys().map(|n| format!("`{n}`")).collect();
    w.reporter.event(
        None,
        Kind::Watch,
        &format!("watching {}", names.join(", ")),
        "",
    );
    if let Ok(Some(adopted)) = engine.adopted_note().await {
        w.reporter.event(None, Kind::Watch, &adopted, "");
    }
    let interval = tracked
        .values()
        .map(|t| t.settings.check_interval)
        .min()
        .unwrap_or(Duration::from_secs(60));
    let mut events = subscribe(&engine);
    let mut wake = Instant::now();
    // While the Engine is away: the current wait between reconnections.
    let mut engine_lost: Option<Duration> = None;
    // Ctrl-C or SIGTERM (`clockwork service stop`, systemd) end it cleanly;
    // a closed terminal (SIGHUP) does not.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| WatchError::Signal(e.to_string()))?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| WatchError::Signal(e.to_string()))?;
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut files_seen = written(w);
    let mut files_tick = tokio::time::interval(Duration::from_secs(1));
    files_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let sleep = tokio::time::sleep_until(wake.into());
        tokio::select! {
            _ = &mut interrupt => {
                w.reporter.event(None, Kind::Watch, "stopped (Ctrl-C)", "");
                return Ok(Ended::Stopped);
            }
            _ = terminate.recv() => {
                w.reporter.event(None, Kind::Watch, "stopped (SIGTERM)", "");
                return Ok(Ended::Stopped);
            }
            _ = hangup.recv() => continue,
            _ = files_tick.tick() => {
                // A destroy is seen within a second, whatever else happens.
                if let Ok(state) = State::load(&w.project.files, &w.project.identity)
                    && let Err(destroyed) = state.may_heal(w.generation)
                {
                    return Ok(ended_by(w, &destroyed));
                }
                if project_changed() {
                    return Ok(Ended::ProjectChanged);
                }
                // A file Clockwork wrote, edited or deleted: looked at now,
                // not at the next interval (the Engine has no event for it).
                let now_written = written(w);
                if now_written == files_seen {
                    continue;
                }
                files_seen = now_written;
            }
            _ = sleep => {}
            event = events.next() => {
                let lost = match event {
                    Some(Ok(event)) => {
                        let Some(t) = tracked.get_mut(event.resource.as_str()) else {
                            continue;
                        };
                        // What its assertions last found judged a container
                        // that has changed since (a user's apply or start
                        // fixed it): they run again at this look, not at the
                        // next interval, so an incident does not outlive
                        // its cause by up to `check_interval`.
                        if event.lifecycle {
                            t.last_assert = None;
                        }
                        // A burst (die, then stop) is one look.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        None
                    }
                    Some(Err(why)) => Some(why),
                    None => Some("the stream ended".to_string()),
                };
                if let Some(why) = lost {
                    let wait = lose(w, &mut engine_lost, &format!("its events stopped: {why}"));
                    tokio::time::sleep(wait).await;
                    events = subscribe(&engine);
                }
            },
        }
        // The files as this check starts: one changed while it runs (after
        // its plan looked) differs from these at the next tick and is
        // looked at then, not at the next interval.
        let looked = written(w);
        let next = match check(w, &engine, tracked).await {
            Ok(next) => next,
            Err(Halt::Engine(why)) => {
                // Look again after the current wait.
                wake = Instant::now() + lose(w, &mut engine_lost, &why);
                continue;
            }
            Err(Halt::Destroyed(destroyed)) => return Ok(ended_by(w, &destroyed)),
        };
        if engine_lost.take().is_some() {
            w.reporter.event(
                None,
                Kind::Watch,
                "the Engine answers again",
                "listed everything again",
            );
            // The old stream may have died without a word.
            events = subscribe(&engine);
        }
        // What a heal wrote again differs too: one more look, finding
        // nothing to do.
        files_seen = looked;
        let now = Instant::now();
        for t in tracked.values_mut() {
            t.last_check = now;
        }
        wake = next.map_or(now + interval, |n| n.min(now + interval));
        write_status(w, tracked, wake);
    }
}

/// Says why the watch ends on a destroy.
fn ended_by(w: &Watcher<'_>, destroyed: &StateError) -> Ended {
    w.reporter.event(
        None,
        Kind::Watch,
        &destroyed.to_string(),
        "stopped watching: a destroyed project is never healed back; `clockwork apply` deploys it again, then start the watch again",
    );
    Ended::Destroyed
}

/// Looks at every watched resource, heals what may be healed; returns the
/// earliest time a backed-off resource may be healed.
/// `Err` when the Engine could not be listed, or the project was destroyed.
async fn check(
    w: &Watcher<'_>,
    engine: &Engine,
    tracked: &mut BTreeMap<ResourceName, Tracked>,
) -> Result<Option<Instant>, Halt> {
    let files = &w.project.files;
    let reporter = &w.reporter;
    let state = match State::load(files, &engine.identity) {
        Ok(s) => s,
        Err(e) => {
            reporter.event(
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
            reporter.event(
                None,
                Kind::Failure,
                &format!("cannot plan: {e}"),
                "will look again",
            );
            return Ok(None);
        }
    };
    // A resource whose heal the host would refuse (a file changed by hand,
    // a port taken) is reported and left alone; the others are looked
    // after as usual.
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
            reporter.event(
                None,
                Kind::Failure,
                &format!("cannot plan: {why}"),
                "will look again",
            );
        }
    }
    let now = Instant::now();
    let mut earliest: Option<Instant> = None;
    // Expiry first: an expired resource is destroyed, not healed.
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
                let due = now + Duration::from_secs(at - now_s);
                earliest = Some(earliest.map_or(due, |e: Instant| e.min(due)));
            }
        }
    }
    if !expired.is_empty() {
        expire(w, engine, &expired, tracked).await?;
        return Ok(Some(Instant::now()));
    }
    run_assertions(w, engine, &state, &observation, tracked, now).await;
    let mut heal: BTreeSet<ResourceName> = BTreeSet::new();
    let mut restart: Vec<(ResourceName, Vec<String>, String)> = Vec::new();
    for (name, t) in tracked.iter_mut() {
        if state.expired.contains_key(name) {
            if !t.held {
                reporter.event(
                    Some(name),
                    Kind::Watch,
                    "expired earlier",
                    "left destroyed until `clockwork apply` creates it again",
                );
                t.held = true;
            }
            continue;
        }
        if state.resources.get(name).is_some_and(|r| r.stopped) {
            // The operator's intent; not an incident.
            t.incident = None;
            if !t.held {
                reporter.event(
                    Some(name),
                    Kind::Watch,
                    "stopped with `clockwork stop`",
                    "left stopped until `clockwork start`",
                );
                t.held = true;
            }
            continue;
        }
        t.held = false;
        let drift = drift_of(&plan, &observation, name).or_else(|| {
            t.assert_failure.as_ref().map(|seen| Drift {
                seen: seen.clone(),
                // A check that fails while everything is as declared is
                // healed like an unhealthy container: by a restart.
                restart: observation
                    .for_resource(name)
                    .and_then(|o| {
                        o["containers"].as_array().map(|cs| {
                            cs.iter()
                                .filter_map(|c| c["name"].as_str().map(str::to_string))
                                .collect()
                        })
                    })
                    .unwrap_or_default(),
            })
        });
        let Some(drift) = drift else {
            // Given up on, yet as declared again: the user fixed it (an
            // apply, a start); it is looked after again.
            if t.backoff.given_up() {
                t.backoff = Backoff::new(w.policy);
                t.gave_up_alerted = false;
            }
            t.backoff.fine(now);
            if t.incident.take().is_some() {
                reporter.event(Some(name), Kind::Recovered, "as declared again", "");
                if t.alerted {
                    alert(w, name, Kind::Recovered, "as declared again", "");
                }
                t.alerted = false;
            }
            continue;
        };
        let seen = drift.seen.clone();
        if let Some(why) = refused.get(name) {
            // Not healed, and not counted against its budget: healing it is
            // the user's call. Said once, unless what is seen changes.
            if t.incident.as_deref() != Some(seen.as_str()) {
                t.incident = Some(seen.clone());
                let done = format!("not corrected: {why}");
                reporter.event(Some(name), Kind::Drift, &seen, &done);
                if t.settings.on_drift != OnDrift::Ignore
                    && t.settings.alert_on.contains(&AlertOn::Drift)
                {
                    alert(w, name, Kind::Drift, &seen, &done);
                    t.alerted = true;
                }
            }
            continue;
        }
        t.backoff.drifted();
        let new = t.incident.is_none();
        if new {
            t.incident = Some(seen.clone());
        }
        let done = match t.settings.on_drift {
            OnDrift::Ignore => "recorded (on_drift = \"ignore\")".to_string(),
            OnDrift::Alert => "alerted, not corrected (on_drift = \"alert\")".to_string(),
            OnDrift::AutoCorrect => match t.backoff.may(now) {
                May::Heal if !drift.restart.is_empty() => {
                    restart.push((name.clone(), drift.restart.clone(), seen.clone()));
                    heal.insert(name.clone());
                    format!("restarting {}", drift.restart.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
                }
                May::Heal => {
                    heal.insert(name.clone());
                    // The journal says why the actions that follow ran.
                    crate::state::journal(
                        files,
                        &serde_json::json!({
                            "time": crate::model::time::now_ms(),
                            "resource": name,
                            "action": "heal",
                            "status": "started",
                            "detail": {"by": "clockwork watch", "why": seen},
                        }),
                    );
                    "applying it again".to_string()
                }
                May::WaitUntil(at) => {
                    earliest = Some(earliest.map_or(at, |e: Instant| e.min(at)));
                    format!("backing off: next try in {} s", at.saturating_duration_since(now).as_secs())
                }
                May::GivenUp => "given up on: it is left alone until its declaration or `clockwork start` changes something".to_string(),
            },
        };
        if new || heal.contains(name) {
            reporter.event(Some(name), Kind::Drift, &seen, &done);
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
    if heal.is_empty() {
        return Ok(earliest);
    }
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
                reporter.event(
                    None,
                    Kind::Failure,
                    &format!("cannot restart: {e}"),
                    "will look again",
                );
                return Ok(Some(Instant::now() + Duration::from_secs(1)));
            }
        }
    };
    for (name, containers, why) in &restart {
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
                reporter.event(
                    Some(name),
                    Kind::Failure,
                    &format!("restarting `{c}` failed: {e}"),
                    "",
                );
            }
        }
    }
    drop(restarting);
    // What depends on a healed resource is applied with it.
    let with_dependents = dependents(w.graph, &heal);
    let failure = match apply_only(w, engine, w.graph, &with_dependents).await {
        Ok(_) => None,
        Err(Healing::Destroyed(destroyed)) => return Err(Halt::Destroyed(destroyed)),
        Err(Healing::Failed(why)) => Some(why),
    };
    let now = Instant::now();
    for name in &heal {
        let Some(t) = tracked.get_mut(name) else {
            continue;
        };
        let spent = t.backoff.healed(now, jitter());
        t.heals += 1;
        // Its assertions say at the next look whether the heal worked.
        t.last_assert = None;
        match &failure {
            None => reporter.event(Some(name), Kind::Heal, "applied again", "done"),
            // Retried after the backoff; alerted only when given up on,
            // so a crash loop is one alert, not one per try.
            Some(why) => reporter.event(
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
            reporter.event(
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
        if let May::WaitUntil(at) = t.backoff.may(now) {
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
    }
    // A second look soon after, to see whether the heal held (and say so),
    // rather than at the next interval.
    let soon = now + Duration::from_secs(1);
    Ok(Some(earliest.map_or(soon, |e| e.min(soon))))
}
