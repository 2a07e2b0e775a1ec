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
pub mod report;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::apply::{self, Confirmation, Hooks, Options, Target};
use crate::docker::{Engine, labels};
use crate::load::Sources;
use crate::model::ResourceName;
use crate::plan::{ChangeKind, Plan};
use crate::plugin::PluginSet;
use crate::project::Project;
use crate::reconcile::{AlertOn, OnDrift, Settings};
use crate::resolve::Graph;
use crate::state::{Generation, State, StateError};
use backoff::{Backoff, May, Policy};
use report::{Alert, Alerts, Kind, Reporter};

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

/// The files Clockwork wrote (as the state records them), each with its
/// modification time and length, or `None` where it is gone.
fn written(w: &Watcher<'_>) -> Vec<(String, Option<(std::time::SystemTime, u64)>)> {
    let Ok(state) = State::load(&w.project.files, &w.project.identity) else {
        return Vec::new();
    };
    let root = w.project.files.root();
    state
        .files
        .keys()
        .map(|path| {
            let seen = std::fs::symlink_metadata(root.join(path))
                .ok()
                .map(|m| (m.modified().unwrap_or(std::time::UNIX_EPOCH), m.len()));
            (path.clone(), seen)
        })
        .collect()
}

/// The Engine is away: said once per outage; returns how long to wait
/// before trying again (1 s doubling to 30 s).
fn lose(w: &Watcher<'_>, engine_lost: &mut Option<Duration>, why: &str) -> Duration {
    if engine_lost.is_none() {
        w.reporter.event(
            None,
            Kind::Watch,
            &format!("lost the Engine ({why})"),
            "reconnecting, then listing everything again",
        );
    }
    let wait = engine_lost.map_or(Duration::from_secs(1), |d| {
        (d * 2).min(Duration::from_secs(30))
    });
    *engine_lost = Some(wait);
    wait
}

/// Where `clockwork service status` reads what the watch last saw.
pub const STATUS_FILE: &str = ".clockwork/watch-status.json";

/// Writes each watched resource's standing, for `clockwork service status`.
fn write_status(w: &Watcher<'_>, tracked: &BTreeMap<ResourceName, Tracked>, wake: Instant) {
    let now_ms = crate::state::now_ms();
    let at = |i: Instant| {
        let now = Instant::now();
        if i > now {
            now_ms + i.duration_since(now).as_millis() as u64
        } else {
            now_ms.saturating_sub(now.duration_since(i).as_millis() as u64)
        }
    };
    let resources: serde_json::Map<String, serde_json::Value> = tracked
        .iter()
        .map(|(name, t)| {
            let standing = if t.backoff.given_up() {
                "given up on".to_string()
            } else if t.held {
                "left alone (stopped with `clockwork stop`, or expired)".to_string()
            } else {
                match &t.incident {
                    Some(seen) => format!("drifted: {seen}"),
                    None => "as declared".to_string(),
                }
            };
            (
                name.to_string(),
                serde_json::json!({
                    "standing": standing,
                    "heals": t.heals,
                    "expires_at": t.expires_at.map(crate::model::time::rfc3339),
                    "last_check_ms": at(t.last_check),
                    "next_check_ms": at(wake),
                }),
            )
        })
        .collect();
    let status = serde_json::json!({
        "pid": std::process::id(),
        "updated_ms": now_ms,
        "resources": resources,
    });
    let _ = w.project.files.write_atomic(
        std::path::Path::new(STATUS_FILE),
        status.to_string().as_bytes(),
        0o600,
    );
}

/// An event on one of this project's containers.
struct ContainerEvent {
    /// The resource the container belongs to.
    resource: String,
    /// Whether the container's life changed (started, died, restarted,
    /// health changed), rather than a command ran in it: an assertion's
    /// own `exec` is an event too, and must not make the assertions run
    /// again.
    lifecycle: bool,
}

/// The events of this project's containers.
fn subscribe(
    engine: &Engine,
) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<ContainerEvent, String>> + Send>> {
    use bollard::query_parameters::EventsOptions;
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        (
            "label".to_string(),
            vec![format!(
                "{}={}",
                labels::PROJECT_ID,
                engine.identity.id.as_str()
            )],
        ),
    ]);
    let stream = engine
        .docker
        .events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .map(|event| match event {
            Ok(e) => Ok(ContainerEvent {
                lifecycle: e.action.as_deref().is_some_and(|a| !a.starts_with("exec_")),
                resource: e
                    .actor
                    .and_then(|a| a.attributes)
                    .and_then(|a| a.get(labels::RESOURCE).cloned())
                    .unwrap_or_default(),
            }),
            Err(e) => Err(e.to_string()),
        });
    Box::pin(stream)
}

/// Runs the assertions of the resources whose `check_interval` came round
/// (each at most 10 s, so a failing one does not hold the loop) and
/// records what fails in each one's `assert_failure`. A check that could
/// not run is not drift: it says nothing about the resource.
async fn run_assertions(
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
        .filter(|(name, t)| {
            !starting(name)
                && t.last_assert
                    .is_none_or(|at| now.duration_since(at) >= t.settings.check_interval)
        })
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
        }
    }
}

/// What each of `due`'s plugins says of it (`status`), where that is an
/// incident: degraded, stopped, missing or drifted. A plugin without a
/// `status`, or one that cannot tell, says nothing.
async fn statuses(
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
struct Drift {
    /// What was seen, for the log.
    seen: String,
    /// Containers the Engine reports unhealthy or restarting while the
    /// plan has nothing to change: healing them is a restart (Docker's
    /// restart policy never acts on `unhealthy`).
    restart: Vec<String>,
}

/// What is wrong with `name` now, if anything.
fn drift_of(plan: &Plan, observation: &crate::docker::Observation, name: &str) -> Option<Drift> {
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
    let now_s = crate::state::now_ms() / 1000;
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
                            "time": crate::state::now_ms(),
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
                    "time": crate::state::now_ms(),
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

/// Destroys `names` (their `max_duration` ran out) through `apply`'s path
/// — planned as no longer declared — and records them as expired, so
/// neither this watch nor a later one heals them back.
async fn expire(
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
                .insert(name.clone(), crate::state::now_ms() / 1000);
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
enum Healing {
    /// The project was destroyed since the watch began: nothing was done.
    Destroyed(StateError),
    /// It failed, in one sentence.
    Failed(String),
}

/// Applies `graph` through `apply`'s path, narrowed to `only`, on behalf of
/// the watch (refused under the lock once the project was destroyed).
async fn apply_only(
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
fn dependents(graph: &Graph, names: &BTreeSet<ResourceName>) -> BTreeSet<ResourceName> {
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

fn alert(w: &Watcher<'_>, resource: &str, kind: Kind, seen: &str, done: &str) {
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
fn jitter() -> f64 {
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
}
