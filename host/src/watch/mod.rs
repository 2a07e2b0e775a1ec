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
mod look;
pub mod report;
mod status;

pub use heal::WatchHooks;
pub use status::STATUS_FILE;

use events::{ContainerEvent, lose, subscribe, written};
use look::check;
use status::write_status;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::apply::Options;
use crate::docker::{Engine, EngineError};
use crate::load::Sources;
use crate::model::ResourceName;
use crate::plugin::PluginSet;
use crate::project::Project;
use crate::reconcile::Settings;
use crate::resolve::Graph;
use crate::state::{Generation, State, StateError};
use backoff::{Backoff, Policy};
use report::{Alerts, Kind, Reporter};

/// Why watching stopped: the watch stage's one error type.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WatchError {
    /// Nothing asks to be watched.
    #[error("no resource has `reconcile = True`: nothing to watch")]
    #[diagnostic(
        code("clockwork::watch::nothing_to_watch"),
        help(
            "add `reconcile = True` to the resources `clockwork watch` should keep as declared (`clockwork plugins inspect DockerResource` shows the reconciliation fields)"
        )
    )]
    NothingToWatch,
    /// The Engine could not be reached at start.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] crate::docker::EngineError),
    /// The state could not be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    State(#[from] crate::state::StateError),
    /// Signals could not be listened to.
    #[error("cannot listen for signals: {0}")]
    #[diagnostic(code("clockwork::signal"))]
    Signal(std::io::Error),
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
    /// After its container (re)started while something was wrong: its
    /// checks run again at growing steps until they pass or the window
    /// ends, since a service just started may need a moment to show it
    /// is fixed (and no further event would come).
    settling: Option<Settling>,
    /// What the last run of its assertions (explicit and implied) or its
    /// plugin's `status` found wrong, kept until they run again (so an
    /// incident does not end between two runs).
    assert_failure: Option<String>,
    /// Its declaration's fields when it was last read.
    declared: serde_json::Map<String, serde_json::Value>,
}

impl Tracked {
    /// A resource the watch has seen nothing of yet.
    fn new(
        settings: Settings,
        policy: backoff::Policy,
        declared: serde_json::Map<String, serde_json::Value>,
    ) -> Tracked {
        Tracked {
            settings,
            backoff: Backoff::new(policy),
            incident: None,
            alerted: false,
            gave_up_alerted: false,
            last_check: Instant::now(),
            held: false,
            heals: 0,
            expires_at: None,
            last_assert: None,
            settling: None,
            assert_failure: None,
            declared,
        }
    }

    /// When its checks are next due while it settles.
    fn settle_wake(&self) -> Option<Instant> {
        let settling = self.settling.as_ref()?;
        let next = self.last_assert? + settling.step;
        (next <= settling.until).then_some(next)
    }
}

/// The window after a (re)start in which an open incident's checks run
/// again at growing steps.
#[derive(Debug, Clone, Copy)]
struct Settling {
    until: Instant,
    step: Duration,
}

impl Settling {
    /// How long checks keep being run again after a (re)start.
    const WINDOW: Duration = Duration::from_secs(30);

    fn new(now: Instant) -> Settling {
        Settling {
            until: now + Settling::WINDOW,
            step: Duration::from_millis(500),
        }
    }
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
            let mut t = memory
                .0
                .remove(&d.name)
                .unwrap_or_else(|| Tracked::new(settings.clone(), w.policy, d.fields.clone()));
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
    let engine = connect(w, tracked).await?;
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
        .map_err(WatchError::Signal)?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(WatchError::Signal)?;
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
            _ = files_tick.tick() => match each_second(w, project_changed, &mut files_seen) {
                Second::Ended(ended) => return Ok(ended),
                Second::Quiet => continue,
                Second::FilesChanged => {}
            },
            _ = sleep => {}
            event = events.next() => match on_event(tracked, event).await {
                Heard::Untracked => continue,
                Heard::Tracked => {}
                Heard::Lost(why) => {
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
        let settle = tracked.values().filter_map(Tracked::settle_wake).min();
        wake = [next, settle]
            .into_iter()
            .flatten()
            .fold(now + interval, Instant::min);
        write_status(w, tracked, wake);
    }
}

/// Connects to the Engine and says what is watched.
async fn connect(
    w: &Watcher<'_>,
    tracked: &BTreeMap<ResourceName, Tracked>,
) -> Result<Engine, WatchError> {
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
    Ok(engine)
}

/// What the look each second found.
enum Second {
    /// The watch ends.
    Ended(Ended),
    /// Nothing to look at now.
    Quiet,
    /// A file Clockwork wrote changed: look now.
    FilesChanged,
}

/// The look each second: a destroy, a changed project, the files
/// Clockwork wrote.
fn each_second(
    w: &Watcher<'_>,
    project_changed: &dyn Fn() -> bool,
    files_seen: &mut Vec<(String, Option<(std::time::SystemTime, u64)>)>,
) -> Second {
    // A destroy is seen within a second, whatever else happens.
    if let Ok(state) = State::load(&w.project.files, &w.project.identity)
        && let Err(destroyed) = state.may_heal(w.generation)
    {
        return Second::Ended(ended_by(w, &destroyed));
    }
    if project_changed() {
        return Second::Ended(Ended::ProjectChanged);
    }
    // A file Clockwork wrote, edited or deleted: looked at now,
    // not at the next interval (the Engine has no event for it).
    let now_written = written(w);
    if now_written == *files_seen {
        return Second::Quiet;
    }
    *files_seen = now_written;
    Second::FilesChanged
}

/// What an event from the Engine's stream was.
enum Heard {
    /// On a container of no watched resource.
    Untracked,
    /// On a watched resource's container: look now.
    Tracked,
    /// The stream failed or ended, with why.
    Lost(String),
}

/// Takes in one event from the Engine's stream.
async fn on_event(
    tracked: &mut BTreeMap<ResourceName, Tracked>,
    event: Option<Result<ContainerEvent, EngineError>>,
) -> Heard {
    match event {
        Some(Ok(event)) => {
            let Some(t) = tracked.get_mut(event.resource.as_str()) else {
                return Heard::Untracked;
            };
            // What its assertions last found judged a container
            // that has changed since (a user's apply or start
            // fixed it): they run again at this look, not at the
            // next interval, so an incident does not outlive
            // its cause by up to `check_interval`.
            if event.lifecycle {
                t.last_assert = None;
                if t.incident.is_some() || t.assert_failure.is_some() {
                    t.settling = Some(Settling::new(Instant::now()));
                }
            }
            // A burst (die, then stop) is one look.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Heard::Tracked
        }
        Some(Err(why)) => Heard::Lost(why.to_string()),
        None => Heard::Lost("the stream ended".to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: &WatchError) -> Option<String> {
        miette::Diagnostic::code(e).map(|c| c.to_string())
    }

    #[test]
    fn a_watch_error_keeps_its_words_and_carries_a_code() {
        let nothing = WatchError::NothingToWatch;
        assert_eq!(
            nothing.to_string(),
            "no resource has `reconcile = True`: nothing to watch"
        );
        assert_eq!(
            code(&nothing).as_deref(),
            Some("clockwork::watch::nothing_to_watch")
        );
        let signal = WatchError::Signal(std::io::Error::other("no"));
        assert_eq!(signal.to_string(), "cannot listen for signals: no");
        assert_eq!(code(&signal).as_deref(), Some("clockwork::signal"));
        let engine = WatchError::from(EngineError::NotRunning { name: "web".into() });
        assert_eq!(
            code(&engine).as_deref(),
            Some("clockwork::engine::not_running")
        );
    }
}
