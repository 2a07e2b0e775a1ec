//! What `apply` would refuse or fail on, found at `plan`: every planned
//! action checked against the same policy the executor applies, plus what
//! only the whole plan shows (two resources publishing one host port or
//! writing one file, a connection waiting for a container that nothing
//! runs). Each problem is located at the declaration that causes it.

use std::collections::BTreeMap;

use clockwork_schema::actions::{ContainerSpec, ExecSpec, FileSpec, WaitCondition, WaitSpec};

use crate::docker::Observation;
use crate::driver::Drivers;
use crate::load::{Located, Sources};
use crate::model::{DeclId, ResourceName};
use crate::plan::{Plan, PlanEntry};
use crate::plugin::bindings::types::Action;
use crate::policy::{self as act, Scope};
use crate::project::{EngineTarget, ProjectDir};
use crate::resolve::Graph;
use crate::state::State;

/// Every problem of `plan`, located, each with the declaration it is
/// about: what `watch` needs to leave one resource alone and look after the others.
pub fn check_each(
    plan: &Plan,
    graph: &Graph,
    files: &ProjectDir,
    state: &State,
    observation: Option<&Observation>,
    sources: &Sources,
    target: EngineTarget,
) -> Vec<(DeclId, Located)> {
    let mut problems = Vec::new();
    let at = |decl: DeclId, message: String, help: Option<String>| {
        let d = graph.project.get(decl);
        (
            decl,
            Located {
                message,
                source: sources.get(&d.location.file.display().to_string()).cloned(),
                location: d.location.clone(),
                help,
                called_from: Vec::new(),
            },
        )
    };
    let mut ports: BTreeMap<String, (ResourceName, String)> = BTreeMap::new();
    let mut paths: BTreeMap<String, ResourceName> = BTreeMap::new();
    for p in &plan.entries {
        let Some(decl) = p.decl else { continue };
        let scope = p.scope(Some(graph));
        for action in &p.actions {
            if let Err(e) = act::check(files, &scope, action, Drivers::bundled()) {
                problems.push(at(
                    decl,
                    format!("`{}` ({}): {e}", p.name, p.type_name),
                    Some(e.fix()),
                ));
                continue;
            }
            match action {
                Action::EnsureContainer(spec) => {
                    let Ok(spec) = serde_json::from_str::<ContainerSpec>(spec) else {
                        continue;
                    };
                    if target == EngineTarget::Local
                        && let Some(problem) = swarm_only(&spec)
                    {
                        problems.push(at(
                            decl,
                            format!("`{}` ({}): {problem}", p.name, p.type_name),
                            Some("set `[target] engine = \"swarm\"` in clockwork.toml (or `--target swarm`) to run it on a swarm, or leave the field out".into()),
                        ));
                    }
                    for (binding, written) in act::host_ports(&spec) {
                        let port = binding
                            .strip_prefix("0.0.0.0:")
                            .unwrap_or(&binding)
                            .to_string();
                        let clash = ports
                            .iter()
                            .find(|(other, _)| act::ports_clash(other, &binding))
                            .map(|(_, owner)| owner.clone());
                        match clash {
                            Some((owner, theirs)) if owner != p.name => problems.push(at(
                                decl,
                                format!(
                                    "`{}` publishes host port {port} (`{written}`), which `{owner}` already publishes (`{theirs}`)",
                                    p.name
                                ),
                                Some("a host port can be published by one container only; change one of the `ports`".into()),
                            )),
                            Some(_) => {}
                            None => {
                                ports.insert(binding, (p.name.clone(), written));
                            }
                        }
                    }
                }
                Action::WriteFile(spec) => {
                    let Ok(spec) = serde_json::from_str::<FileSpec>(spec) else {
                        continue;
                    };
                    let key = ProjectDir::relative(&spec.path)
                        .map(|r| r.display().to_string())
                        .unwrap_or(spec.path.clone());
                    if let Some(owner) = paths.get(&key).filter(|o| **o != p.name) {
                        problems.push(at(
                            decl,
                            format!(
                                "`{}` and `{owner}` both write `{key}`; each would overwrite the other on every apply",
                                p.name
                            ),
                            Some("give each file its own path".into()),
                        ));
                        continue;
                    }
                    paths.insert(key, p.name.clone());
                    if let Err(e) = act::check_file_ownership(files, state, &scope, &spec.path) {
                        problems.push(at(
                            decl,
                            format!("`{}` ({}): {e}", p.name, p.type_name),
                            Some(e.fix()),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    problems.extend(check_setup(&plan.entries, graph, files, observation, &at));
    problems
}

/// The containers each resource runs (or will, after this plan).
fn containers(
    planned: &[PlanEntry],
    observation: Option<&Observation>,
) -> BTreeMap<ResourceName, Vec<String>> {
    let mut out: BTreeMap<ResourceName, Vec<String>> = BTreeMap::new();
    for p in planned {
        let entry = out.entry(p.name.clone()).or_default();
        for action in &p.actions {
            if let Action::EnsureContainer(spec) = action
                && let Ok(spec) = serde_json::from_str::<ContainerSpec>(spec)
            {
                entry.push(spec.name);
            }
        }
        if let Some(observed) = observation.and_then(|o| o.containers.get(p.name.as_str())) {
            entry.extend(observed.iter().map(|c| c.name.clone()));
        }
    }
    out
}

/// Connection setup steps run commands in, or wait for, a container of one
/// of the connection's ends: that container has to be one of theirs.
fn check_setup(
    planned: &[PlanEntry],
    graph: &Graph,
    files: &ProjectDir,
    observation: Option<&Observation>,
    at: &dyn Fn(DeclId, String, Option<String>) -> (DeclId, Located),
) -> Vec<(DeclId, Located)> {
    let running = containers(planned, observation);
    let mut problems = Vec::new();
    for c in &graph.connections {
        let d = graph.project.get(c.decl);
        let ends = [graph.project.get(c.from), graph.project.get(c.to)];
        let scope = Scope {
            resource: ends[0].name.clone(),
            type_name: ends[0].type_name.clone(),
            containers: ends.iter().map(|e| e.name.clone()).collect(),
            grants: crate::model::Grants::none(),
            tls_keys: Vec::new(),
            overwrite: false,
            expires_at: None,
        };
        if let Err(e) = crate::plan::setup_order(&c.setup) {
            problems.push(at(
                c.decl,
                format!("{} `{}`: {e}", d.type_name, d.name),
                None,
            ));
        }
        for step in &c.setup {
            let target = match &step.action {
                Action::Exec(spec) => serde_json::from_str::<ExecSpec>(spec)
                    .ok()
                    .map(|e| e.container),
                Action::Wait(spec) => match serde_json::from_str::<WaitSpec>(spec)
                    .ok()
                    .map(|w| w.condition)
                {
                    Some(WaitCondition::Exec(e)) => Some(e.container),
                    Some(WaitCondition::Healthy { container })
                    | Some(WaitCondition::LogLine { container, .. }) => Some(container),
                    _ => None,
                },
                _ => None,
            };
            if let Err(e) = act::check(files, &scope, &step.action, Drivers::bundled()) {
                problems.push(at(
                    c.decl,
                    format!("{} `{}`, step `{}`: {e}", d.type_name, d.name, step.id),
                    Some(e.fix()),
                ));
                continue;
            }
            let Some(target) = target else { continue };
            let Some(end) = ends.iter().find(|e| e.name == target) else {
                continue;
            };
            let runs = running.get(&end.name).is_some_and(|c| c.contains(&target));
            if !runs {
                problems.push(at(
                    c.decl,
                    format!(
                        "this {} has to run `{}` in the container `{target}`, but `{}` ({}) runs no container",
                        d.type_name, step.id, end.name, end.type_name
                    ),
                    Some("connect it to a resource that runs a container, such as a DockerResource".into()),
                ));
            }
        }
    }
    problems
}

/// What of `spec` only a swarm can do, said.
fn swarm_only(spec: &ContainerSpec) -> Option<String> {
    match (spec.replicas, spec.placement.is_empty()) {
        (Some(n), _) => Some(format!(
            "`replicas = {n}` means something only on a swarm: the local Engine runs one container"
        )),
        (None, false) => Some(format!(
            "`placement = {:?}` means something only on a swarm: the local Engine has one node",
            spec.placement
        )),
        (None, true) => None,
    }
}
