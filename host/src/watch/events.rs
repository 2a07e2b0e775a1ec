//! What the watch listens to: the Engine's events for this project's
//! containers, the files Clockwork wrote, and losing the Engine.

use std::time::Duration;

use futures::StreamExt;

use crate::docker::{Engine, EngineError, labels};
use crate::state::State;

use super::Watcher;
use super::report::Kind;

/// An event on one of this project's containers.
pub(super) struct ContainerEvent {
    /// The resource the container belongs to.
    pub(super) resource: String,
    /// Whether the container's life changed (started, died, restarted,
    /// health changed), rather than a command ran in it: an assertion's
    /// own `exec` is an event too, and must not make the assertions run
    /// again.
    pub(super) lifecycle: bool,
}

/// The events of this project's containers.
pub(super) fn subscribe(
    engine: &Engine,
) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<ContainerEvent, EngineError>> + Send>> {
    let stream = engine.project_events(&[], None).map(|event| match event {
        Ok(e) => Ok(ContainerEvent {
            lifecycle: e.action.as_deref().is_some_and(|a| !a.starts_with("exec_")),
            resource: e
                .actor
                .and_then(|a| a.attributes)
                .and_then(|a| a.get(labels::RESOURCE).cloned())
                .unwrap_or_default(),
        }),
        Err(e) => Err(e),
    });
    Box::pin(stream)
}

/// The files Clockwork wrote (as the state records them), each with its
/// modification time and length, or `None` where it is gone.
pub(super) fn written(w: &Watcher<'_>) -> Vec<(String, Option<(std::time::SystemTime, u64)>)> {
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
pub(super) fn lose(w: &Watcher<'_>, engine_lost: &mut Option<Duration>, why: &str) -> Duration {
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
