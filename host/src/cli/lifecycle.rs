//! `clockwork stop` and `clockwork start`: the operator's intent, through
//! the host (journaled, under the project lock) and remembered in the
//! state, so `apply` and `watch` leave a stopped resource stopped until
//! `clockwork start`.

use std::collections::BTreeSet;

use serde_json::json;

use crate::cli::{CliError, EXIT_FAILED, EXIT_OK, Invocation, project};
use crate::docker::Engine;
use crate::model::PluginKind;
use crate::model::{DeclId, Declared, ResourceName};
use crate::output;
use crate::state::{Lock, State};

/// Whether to stop, to start or to restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// `clockwork stop`
    Stop,
    /// `clockwork start`
    Start,
    /// `clockwork restart`: stop and start each container, then record the
    /// new start through `apply`, so the next plan does not take the
    /// restart for a crash.
    Restart,
}

/// The deployed resources `names` mean: each named one, a composite's
/// leaves; every deployed resource when none is named.
pub(super) fn targets(
    names: &[String],
    project: &Declared,
    state: &State,
) -> Result<Vec<ResourceName>, CliError> {
    if names.is_empty() {
        return Ok(state.resources.keys().cloned().collect());
    }
    fn leaves(project: &Declared, id: DeclId, out: &mut Vec<ResourceName>) {
        let d = project.get(id);
        if d.children.is_empty() {
            out.push(d.name.clone());
        }
        for c in &d.children {
            leaves(project, *c, out);
        }
    }
    let mut out = Vec::new();
    for name in names {
        match project
            .of_kind(PluginKind::Resource)
            .find(|d| d.name.as_str() == name)
        {
            Some(d) => leaves(project, d.id, &mut out),
            None if state.resources.contains_key(name.as_str()) => {
                out.push(ResourceName::from(name.as_str()))
            }
            None => {
                let known: Vec<&str> = project
                    .of_kind(PluginKind::Resource)
                    .map(|d| d.name.as_str())
                    .collect();
                return Err(CliError::Usage {
                    message: format!("no resource is named `{name}`"),
                    help: match crate::suggest::nearest(name, known.iter().copied()) {
                        Some(n) => format!("did you mean `{n}`?"),
                        None => "`clockwork plan` lists every resource".into(),
                    },
                });
            }
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|n| seen.insert(n.clone()));
    Ok(out)
}

/// `clockwork stop [NAME…]` / `clockwork start [NAME…]`. The intent is
/// recorded first, so a `watch` that sees the container stop already
/// knows it was meant; `start` then goes through `apply` for those
/// resources, whose plugins plan the start and record the new state.
pub async fn run(
    invocation: &Invocation,
    intent: Intent,
    names: &[String],
) -> Result<u8, CliError> {
    let resolved = project::resolved(invocation, crate::complete::Mode::ReadOnly).await?;
    let folder = &invocation.project;
    let files = &folder.files;
    let chosen: Vec<ResourceName> = {
        let _lock = Lock::acquire(files)?;
        let mut state = State::load(files, &folder.identity)?;
        let mut chosen = Vec::new();
        for name in targets(names, &resolved.graph.project, &state)? {
            let Some(record) = state.resources.get_mut(&name) else {
                output::note(&format!(
                    "`{name}` is not deployed: nothing to {}",
                    verb(intent)
                ));
                continue;
            };
            if intent == Intent::Restart {
                if record.stopped {
                    output::note(&format!(
                        "`{name}` was stopped with `clockwork stop`: `clockwork start {name}` starts it"
                    ));
                } else {
                    chosen.push(name);
                }
                continue;
            }
            let stop = intent == Intent::Stop;
            if record.stopped == stop {
                output::emit(&format!(
                    "`{name}` is already {}\n",
                    if stop { "stopped" } else { "started" }
                ));
                continue;
            }
            record.stopped = stop;
            record.updated_at = crate::model::time::now_ms();
            crate::state::journal(
                files,
                &json!({
                    "time": crate::model::time::now_ms(),
                    "resource": name,
                    "action": verb(intent),
                    "status": "recorded",
                    "detail": {"by": format!("clockwork {}", verb(intent))},
                }),
            );
            chosen.push(name);
        }
        state.save(files)?;
        chosen
    };
    if chosen.is_empty() {
        return Ok(EXIT_OK);
    }
    let identity = crate::state::adoption::identity(&folder.identity);
    let engine = Engine::connect(&identity, files.clone()).await?;
    if let Some(note) = engine.adopted_note().await? {
        output::note(&note);
    }
    if intent == Intent::Restart {
        restart(&engine, files, folder, &chosen).await?;
    }
    match intent {
        Intent::Stop => stop(&engine, files, folder, &chosen).await,
        Intent::Start | Intent::Restart => {
            let only: BTreeSet<ResourceName> = chosen.iter().cloned().collect();
            let hooks = crate::cli::apply::Terminal {
                json: false,
                yes: true,
            };
            let report = crate::apply::run(
                crate::apply::Target {
                    project: folder,
                    plugins: &resolved.plugins,
                    engine,
                    adopt: &[],
                    options: crate::cli::apply::options(
                        8,
                        false,
                        folder.config.limits.containers(),
                    ),
                    hooks: &hooks,
                    only: Some(&only),
                    caller: crate::apply::Caller::User,
                },
                &resolved.graph,
                &resolved.sources,
            )
            .await?;
            for name in &chosen {
                output::emit(&format!("{}ed `{name}`\n", verb(intent)));
            }
            Ok(if report.failed() {
                EXIT_FAILED
            } else {
                EXIT_OK
            })
        }
    }
}

/// Stops the containers of `names`, each journaled.
async fn stop(
    engine: &Engine,
    files: &crate::project::ProjectDir,
    folder: &crate::project::Project,
    names: &[ResourceName],
) -> Result<u8, CliError> {
    let grace = folder.config.limits.containers().stop_grace;
    let mut failed = false;
    for name in names {
        let mut done = 0;
        for container in engine.containers_of(name).await? {
            let result = engine.stop_container(name, &container, grace).await;
            crate::state::journal(
                files,
                &json!({
                    "time": crate::model::time::now_ms(),
                    "resource": name,
                    "action": format!("stop {container}"),
                    "status": if result.is_ok() { "done" } else { "failed" },
                    "detail": {"by": "clockwork stop"},
                }),
            );
            match result {
                Ok(true) => done += 1,
                Ok(false) => {}
                Err(e) => {
                    failed = true;
                    output::note(&format!("`{name}`: {e}"));
                }
            }
        }
        output::emit(&format!(
            "stopped `{name}` ({done} container{}); `apply` and `watch` leave it stopped until `clockwork start {name}`\n",
            if done == 1 { "" } else { "s" }
        ));
    }
    Ok(if failed { EXIT_FAILED } else { EXIT_OK })
}

/// Stops and starts the containers of `names`, each journaled.
async fn restart(
    engine: &Engine,
    files: &crate::project::ProjectDir,
    folder: &crate::project::Project,
    names: &[ResourceName],
) -> Result<(), CliError> {
    let grace = folder.config.limits.containers().stop_grace;
    for name in names {
        for container in engine.containers_of(name).await? {
            let result = match engine.stop_container(name, &container, grace).await {
                Ok(_) => engine.start_container(name, &container).await.map(|_| ()),
                Err(e) => Err(e),
            };
            crate::state::journal(
                files,
                &json!({
                    "time": crate::model::time::now_ms(),
                    "resource": name,
                    "action": format!("restart {container}"),
                    "status": if result.is_ok() { "done" } else { "failed" },
                    "detail": {"by": "clockwork restart"},
                }),
            );
            if let Err(e) = result {
                output::note(&format!("`{name}`: {e}"));
            }
        }
    }
    Ok(())
}

fn verb(intent: Intent) -> &'static str {
    match intent {
        Intent::Stop => "stop",
        Intent::Start => "start",
        Intent::Restart => "restart",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Declaration;
    use crate::project::Identity;
    use crate::state::ResourceState;

    /// `stack` (0) holding `web` (1) and `worker` (2), and `db` (3).
    fn project() -> Declared {
        let mut stack = Declaration::fixture(0, PluginKind::Resource, "Box", "stack");
        let mut web = Declaration::fixture(1, PluginKind::Resource, "Box", "web");
        let mut worker = Declaration::fixture(2, PluginKind::Resource, "Box", "worker");
        web.parent = Some(stack.id);
        worker.parent = Some(stack.id);
        stack.children = vec![web.id, worker.id];
        let db = Declaration::fixture(3, PluginKind::Resource, "Box", "db");
        Declared::fixture(vec![stack, web, worker, db])
    }

    fn state(deployed: &[&str]) -> State {
        let mut state = State::empty(&Identity::new("p", std::path::Path::new("/p")));
        for name in deployed {
            state.resources.insert(
                (*name).into(),
                ResourceState {
                    type_name: "Box".into(),
                    state: json!({}),
                    depends_on: Vec::new(),
                    updated_at: 0,
                    containers: Vec::new(),
                    unknown: Default::default(),
                    stopped: false,
                    expires_at: None,
                },
            );
        }
        state
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn targeted(asked: &[&str], deployed: &[&str]) -> Vec<String> {
        targets(&names(asked), &project(), &state(deployed))
            .expect("targets")
            .into_iter()
            .map(|n| n.to_string())
            .collect()
    }

    #[test]
    fn no_name_means_every_deployed_resource() {
        assert_eq!(targeted(&[], &["web", "db", "old"]), ["db", "old", "web"]);
        assert!(targeted(&[], &[]).is_empty());
    }

    #[test]
    fn a_composite_means_its_leaves_and_each_is_named_once() {
        assert_eq!(targeted(&["stack"], &[]), ["web", "worker"]);
        assert_eq!(
            targeted(&["worker", "stack", "db", "worker"], &[]),
            ["worker", "web", "db"]
        );
    }

    #[test]
    fn a_resource_no_longer_declared_can_still_be_named_while_it_is_deployed() {
        assert_eq!(targeted(&["old"], &["old"]), ["old"]);
    }

    #[test]
    fn an_unknown_name_is_a_usage_error_with_the_nearest_name() {
        let Err(CliError::Usage { message, help }) =
            targets(&names(&["wokrer"]), &project(), &state(&[]))
        else {
            panic!("refused");
        };
        assert_eq!(message, "no resource is named `wokrer`");
        assert_eq!(help, "did you mean `worker`?");
        let Err(CliError::Usage { help, .. }) =
            targets(&names(&["zzzzzzzz"]), &project(), &state(&[]))
        else {
            panic!("refused");
        };
        assert_eq!(help, "`clockwork plan` lists every resource");
    }
}
