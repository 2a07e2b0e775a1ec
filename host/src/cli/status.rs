//! `clockwork status` (`ps`): every declared resource in deploy order with
//! its type, its containers and how they stand, their published ports
//! (a clickable `http://localhost:PORT` where the port answers HTTP) and
//! when it was last applied — from one listing of the Engine and the state.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::models::ContainerSummary;
use serde::Serialize;

use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::docker::{ChangedOutside, Engine, labels, listed_name, listed_resource, tunables_of};
use crate::model::PluginKind;
use crate::output;
use crate::state::State;

/// One container of a resource, as the listing shows it.
#[derive(Debug, Serialize)]
struct ContainerStatus {
    name: String,
    /// `running`, `healthy`, `unhealthy`, `starting`, `restarting`,
    /// `exited (N)`, `created`, `paused`, or `drifted: …` (after the
    /// others' `; ` when it is not also running).
    state: String,
    /// The Engine's own words, e.g. `Up 3 minutes (healthy)`.
    uptime: String,
    /// Published ports: `http://localhost:8080` where HTTP answers there,
    /// else `8080/tcp`.
    ports: Vec<String>,
    /// The settings `docker update` changed since Clockwork made it: each
    /// as applied and as it is now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changed_outside: Vec<ChangedOutside>,
}

/// What was learnt about the containers besides the listing.
struct Seen<'a> {
    /// Which published ports answer HTTP.
    http: &'a BTreeMap<u16, bool>,
    /// By container name, the settings changed outside Clockwork.
    changed: &'a BTreeMap<String, Vec<ChangedOutside>>,
}

/// One resource's line.
#[derive(Debug, Serialize)]
struct ResourceStatus {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
    /// `running`, `missing`, `stopped (clockwork stop)`, `not applied`,
    /// `expired`, `written`, … — the worst of its containers'.
    state: String,
    containers: Vec<ContainerStatus>,
    /// When it was last applied (RFC 3339), if ever.
    applied_at: Option<String>,
    /// Whether it is declared (an undeclared one is still deployed until
    /// the next `apply`).
    declared: bool,
}

/// `clockwork status [--json]`.
///
/// With names, only those resources (a composite: its children).
pub async fn run(invocation: &Invocation, names: &[String], json: bool) -> Result<u8, CliError> {
    let timings = output::Timings::start();
    let folder = &invocation.project;
    // Nothing the Engine is asked depends on the project file: the look
    // runs on its own task while this one evaluates and resolves it. A
    // project that does not load is reported before an Engine that does
    // not answer, as when one followed the other.
    let look = tokio::spawn(look_at_engine(
        crate::state::adoption::identity(&folder.identity),
        folder.identity.clone(),
        folder.files.clone(),
    ));
    let resolved = project::resolved(invocation, crate::complete::Mode::ReadOnly).await;
    timings.lap("status: project resolved");
    let looked = look
        .await
        .map_err(|e| CliError::Internal(format!("the look at the Engine failed: {e}")));
    let resolved = resolved?;
    let Looked {
        state,
        adopted_note,
        mut by_resource,
        http,
        changed,
    } = looked??;
    timings.lap("status: the Engine's answers in");
    if let Some(note) = adopted_note {
        crate::output::note(&note);
    }
    let wanted: Option<Vec<String>> = if names.is_empty() {
        None
    } else {
        Some(
            crate::cli::lifecycle::targets(names, &resolved.graph.project, &state)?
                .into_iter()
                .map(|n| n.to_string())
                .collect(),
        )
    };
    let shown = |name: &str| wanted.as_ref().is_none_or(|w| w.iter().any(|n| n == name));
    let seen = Seen {
        http: &http,
        changed: &changed,
    };

    let graph = &resolved.graph;
    let mut rows = Vec::new();
    let mut declared_names = Vec::new();
    for id in graph.order() {
        let d = graph.project.get(id);
        if d.kind != PluginKind::Resource || !d.children.is_empty() || !shown(d.name.as_str()) {
            continue;
        }
        declared_names.push(d.name.to_string());
        rows.push(row(
            d.name.as_str(),
            d.type_name.as_str(),
            true,
            &state,
            by_resource.remove(d.name.as_str()).unwrap_or_default(),
            &seen,
            &folder.files,
        ));
    }
    for (name, record) in &state.resources {
        if declared_names.iter().any(|n| n == name.as_str()) || !shown(name.as_str()) {
            continue;
        }
        rows.push(row(
            name.as_str(),
            record.type_name.as_str(),
            false,
            &state,
            by_resource.remove(name.as_str()).unwrap_or_default(),
            &seen,
            &folder.files,
        ));
    }
    if json {
        output::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({"resources": rows}))
                .unwrap_or_default()
        ));
    } else {
        output::emit(&table(&rows));
    }
    Ok(EXIT_OK)
}

/// What the Engine and the state say, gathered without the project file.
struct Looked {
    state: State,
    /// Containers of an adopted project name, if any.
    adopted_note: Option<String>,
    /// This project's containers, by the resource their label names.
    by_resource: BTreeMap<String, Vec<ContainerSummary>>,
    /// Which published ports answer HTTP.
    http: BTreeMap<u16, bool>,
    /// By container name, the settings changed outside Clockwork.
    changed: BTreeMap<String, Vec<ChangedOutside>>,
}

/// One listing of this project's containers, then — all at once — which
/// of their published ports answer HTTP and what `docker update` changed
/// (the listing shows neither).
async fn look_at_engine(
    engine_identity: crate::project::Identity,
    identity: crate::project::Identity,
    files: std::sync::Arc<crate::project::ProjectDir>,
) -> Result<Looked, CliError> {
    let timings = output::Timings::start();
    let engine = Engine::connect(&engine_identity, files.clone()).await;
    let state = State::load(&files, &identity)?;
    let engine = engine?;
    let adopted_note = engine.adopted_note().await?;
    timings.lap("status: connect to the Engine");
    let mut by_resource: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    // On a swarm, the tasks of the services, whichever node runs them;
    // their ports are on those nodes, not here, and nothing changes a
    // task in place.
    if engine.is_swarm() {
        for c in engine.task_summaries().await? {
            if let Some(resource) = listed_resource(&c).cloned() {
                by_resource.entry(resource).or_default().push(c);
            }
        }
        timings.lap("status: list the services' tasks");
        return Ok(Looked {
            state,
            adopted_note,
            by_resource,
            http: BTreeMap::new(),
            changed: BTreeMap::new(),
        });
    }
    for c in engine.own_containers().await? {
        if let Some(resource) = listed_resource(&c).cloned() {
            by_resource.entry(resource).or_default().push(c);
        }
    }
    let ports: Vec<u16> = by_resource
        .values()
        .flatten()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| p.public_port)
        .collect();
    timings.lap("status: list containers");
    let (http, changed) = tokio::join!(
        serves_http(&ports),
        changed_outside(&engine, &state, &by_resource)
    );
    timings.lap("status: ask published ports for HTTP and inspect for changes");
    Ok(Looked {
        state,
        adopted_note,
        by_resource,
        http,
        changed,
    })
}

fn row(
    name: &str,
    type_name: &str,
    declared: bool,
    state: &State,
    containers: Vec<ContainerSummary>,
    seen: &Seen<'_>,
    files: &crate::project::ProjectDir,
) -> ResourceStatus {
    let record = state.resources.get(name);
    let recorded_hash = record.and_then(|r| r.state["spec_hash"].as_str());
    let containers: Vec<ContainerStatus> = containers
        .into_iter()
        .map(|c| container(c, recorded_hash, seen))
        .collect();
    let wrote: Vec<&String> = state
        .files
        .iter()
        .filter(|(_, f)| f.resource.as_str() == name)
        .map(|(path, _)| path)
        .collect();
    let overall = if state.expired.contains_key(name) {
        "expired".to_string()
    } else if record.is_some_and(|r| r.stopped) {
        "stopped (clockwork stop)".to_string()
    } else if record.is_none() {
        "not applied".to_string()
    } else if !containers.is_empty() {
        worst(&containers)
    } else if record.is_some_and(|r| !r.containers.is_empty()) {
        "missing".to_string()
    } else if !wrote.is_empty() {
        let gone = wrote
            .iter()
            .any(|p| files.read(std::path::Path::new(p.as_str())).is_err());
        if gone { "missing" } else { "written" }.to_string()
    } else {
        "applied".to_string()
    };
    ResourceStatus {
        name: name.to_string(),
        type_name: type_name.to_string(),
        state: overall,
        containers,
        applied_at: record.map(|r| crate::model::time::rfc3339(r.updated_at / 1000)),
        declared,
    }
}

fn container(c: ContainerSummary, recorded_hash: Option<&str>, seen: &Seen<'_>) -> ContainerStatus {
    let http = seen.http;
    let name = listed_name(&c);
    let status = c.status.clone().unwrap_or_default();
    let running = c.state.as_ref().map(|s| s.to_string()).unwrap_or_default();
    let hash = c.labels.as_ref().and_then(|l| l.get(labels::CONFIG_HASH));
    let changed = seen.changed.get(&name).cloned().unwrap_or_default();
    let drift = if let (Some(recorded), Some(hash)) = (recorded_hash, hash)
        && recorded != hash
    {
        Some("drifted: config changed outside Clockwork".to_string())
    } else if !changed.is_empty() {
        let settings: Vec<&str> = changed.iter().map(|c| c.setting.as_str()).collect();
        Some(format!(
            "drifted: {} changed outside Clockwork",
            settings.join(", ")
        ))
    } else {
        None
    };
    let life = if running == "running" {
        if status.contains("(healthy)") {
            "healthy".into()
        } else if status.contains("(unhealthy)") {
            "unhealthy".into()
        } else if status.contains("health: starting") {
            "starting".into()
        } else {
            "running".into()
        }
    } else if running == "exited" {
        // `Exited (1) 2 minutes ago`
        let code = status
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.to_string())
            .unwrap_or_default();
        format!("exited ({code})")
    } else {
        running
    };
    // A drifted container that has also crashed says both: the drift
    // alone would hide that it is down.
    let state = match drift {
        Some(drift) if matches!(life.as_str(), "running" | "healthy") => drift,
        Some(drift) => format!("{life}; {drift}"),
        None => life,
    };
    let mut ports: Vec<String> = c
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let public = p.public_port?;
            let kind = p.typ.map(|t| t.to_string()).unwrap_or_else(|| "tcp".into());
            Some(if http.get(&public) == Some(&true) {
                format!("http://localhost:{public}")
            } else {
                format!("{public}/{kind}")
            })
        })
        .collect();
    ports.sort();
    ports.dedup();
    ContainerStatus {
        name,
        state,
        uptime: status,
        ports,
        changed_outside: changed,
    }
}

/// By container name, the settings `docker update` changed since the host
/// made each container, for the containers the state recorded settings of
/// (inspected all at once).
async fn changed_outside(
    engine: &Engine,
    state: &State,
    by_resource: &BTreeMap<String, Vec<ContainerSummary>>,
) -> BTreeMap<String, Vec<ChangedOutside>> {
    let recorded = by_resource.iter().flat_map(|(resource, listed)| {
        let record = state.resources.get(resource.as_str());
        listed.iter().filter_map(move |c| {
            let name = listed_name(c);
            let made = record?.containers.iter().find(|m| m.name == name)?;
            let id = c.id.clone().unwrap_or_else(|| name.clone());
            (!made.tunables.is_empty()).then_some((name, id, &made.tunables))
        })
    });
    // By id: the one listed, even if its name is another's by now.
    let asks = recorded.map(|(name, id, applied)| async move {
        let now = engine.inspect_container(&id).await.ok().flatten();
        let changed = now
            .map(|detail| crate::docker::changed_outside(applied, &tunables_of(&detail)))
            .unwrap_or_default();
        (name, changed)
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .filter(|(_, changed)| !changed.is_empty())
        .collect()
}

/// The state that says most about a resource: anything but running or
/// healthy wins.
fn worst(containers: &[ContainerStatus]) -> String {
    containers
        .iter()
        .map(|c| c.state.clone())
        .find(|s| !matches!(s.as_str(), "running" | "healthy"))
        .unwrap_or_else(|| containers[0].state.clone())
}

/// Which of `ports` on 127.0.0.1 answer an HTTP request within 300 ms.
async fn serves_http(ports: &[u16]) -> BTreeMap<u16, bool> {
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(300))
        .build()
    else {
        return BTreeMap::new();
    };
    let asks = ports.iter().map(|port| {
        let client = client.clone();
        let port = *port;
        async move {
            let answered = client
                .get(format!("http://127.0.0.1:{port}/"))
                .send()
                .await
                .is_ok();
            (port, answered)
        }
    });
    futures::future::join_all(asks).await.into_iter().collect()
}

fn table(rows: &[ResourceStatus]) -> String {
    let mut lines = vec![[
        "NAME".to_string(),
        "TYPE".into(),
        "STATE".into(),
        "CONTAINER".into(),
        "UP".into(),
        "PORTS".into(),
        "APPLIED".into(),
    ]];
    for r in rows {
        let name = if r.declared {
            r.name.clone()
        } else {
            format!("{} (no longer declared)", r.name)
        };
        let applied = r.applied_at.clone().unwrap_or_else(|| "-".into());
        if r.containers.is_empty() {
            lines.push([
                name,
                r.type_name.clone(),
                r.state.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                applied,
            ]);
            continue;
        }
        for (i, c) in r.containers.iter().enumerate() {
            let first = i == 0;
            lines.push([
                if first { name.clone() } else { String::new() },
                if first {
                    r.type_name.clone()
                } else {
                    String::new()
                },
                if r.containers.len() == 1 {
                    r.state.clone()
                } else {
                    c.state.clone()
                },
                c.name.clone(),
                c.uptime.clone(),
                if c.ports.is_empty() {
                    "-".into()
                } else {
                    c.ports.join(", ")
                },
                if first {
                    applied.clone()
                } else {
                    String::new()
                },
            ]);
        }
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bollard::models::{ContainerSummaryStateEnum as S, PortSummary, PortSummaryTypeEnum};
    use serde_json::json;

    use super::*;
    use crate::project::{Identity, ProjectDir};
    use crate::state::{FileRecord, ResourceState};

    fn listed(name: &str, state: S, status: &str) -> ContainerSummary {
        ContainerSummary {
            names: Some(vec![format!("/{name}")]),
            state: Some(state),
            status: Some(status.into()),
            ..Default::default()
        }
    }

    fn published(
        mut c: ContainerSummary,
        ports: &[(u16, PortSummaryTypeEnum)],
    ) -> ContainerSummary {
        c.ports = Some(
            ports
                .iter()
                .flat_map(|(port, typ)| {
                    // The Engine lists a port once per address family.
                    [Some("0.0.0.0"), Some("::")].map(|ip| PortSummary {
                        ip: ip.map(str::to_string),
                        private_port: 80,
                        public_port: Some(*port),
                        typ: Some(*typ),
                    })
                })
                .collect(),
        );
        c
    }

    fn hashed(mut c: ContainerSummary, hash: &str) -> ContainerSummary {
        c.labels = Some(HashMap::from([(
            labels::CONFIG_HASH.to_string(),
            hash.to_string(),
        )]));
        c
    }

    /// How `c` shows, with nothing answering HTTP and nothing changed.
    fn shown(c: ContainerSummary, recorded_hash: Option<&str>) -> ContainerStatus {
        let nothing = BTreeMap::new();
        container(
            c,
            recorded_hash,
            &Seen {
                http: &BTreeMap::new(),
                changed: &nothing,
            },
        )
    }

    #[test]
    fn a_containers_state_reads_its_health_or_its_exit_code() {
        let cases = [
            (S::RUNNING, "Up 3 minutes (healthy)", "healthy"),
            (S::RUNNING, "Up 3 minutes (unhealthy)", "unhealthy"),
            (S::RUNNING, "Up 2 seconds (health: starting)", "starting"),
            (S::RUNNING, "Up 3 minutes", "running"),
            (S::EXITED, "Exited (137) 2 minutes ago", "exited (137)"),
            (S::CREATED, "Created", "created"),
            (S::RESTARTING, "Restarting (1) 1 second ago", "restarting"),
        ];
        for (state, status, expected) in cases {
            let c = shown(listed("db", state, status), None);
            assert_eq!(c.state, expected, "{status}");
            assert_eq!(c.uptime, status, "the Engine's own words");
            assert_eq!(c.name, "db");
        }
    }

    #[test]
    fn a_config_changed_outside_clockwork_is_drift_and_a_crash_is_not_hidden_by_it() {
        let running = hashed(listed("db", S::RUNNING, "Up 1 minute"), "new");
        assert_eq!(
            shown(running.clone(), Some("old")).state,
            "drifted: config changed outside Clockwork"
        );
        assert_eq!(shown(running, Some("new")).state, "running", "as made");
        let crashed = hashed(listed("db", S::EXITED, "Exited (1) 1 second ago"), "new");
        assert_eq!(
            shown(crashed, Some("old")).state,
            "exited (1); drifted: config changed outside Clockwork"
        );
    }

    #[test]
    fn settings_changed_with_docker_update_are_named_as_drift() {
        let changed = BTreeMap::from([(
            "db".to_string(),
            vec![ChangedOutside {
                setting: "memory".into(),
                applied: "512m".into(),
                now: "1g".into(),
            }],
        )]);
        let c = container(
            listed("db", S::RUNNING, "Up 1 minute"),
            None,
            &Seen {
                http: &BTreeMap::new(),
                changed: &changed,
            },
        );
        assert_eq!(c.state, "drifted: memory changed outside Clockwork");
        assert_eq!(c.changed_outside.len(), 1);
    }

    #[test]
    fn a_published_port_that_answers_http_is_a_link_each_port_once() {
        let c = published(
            listed("web", S::RUNNING, "Up 1 minute"),
            &[
                (8080, PortSummaryTypeEnum::TCP),
                (5353, PortSummaryTypeEnum::UDP),
                (9000, PortSummaryTypeEnum::TCP),
            ],
        );
        let http = BTreeMap::from([(8080, true), (9000, false)]);
        let shown = container(
            c,
            None,
            &Seen {
                http: &http,
                changed: &BTreeMap::new(),
            },
        );
        assert_eq!(
            shown.ports,
            ["5353/udp", "9000/tcp", "http://localhost:8080"]
        );
    }

    #[test]
    fn a_resource_is_as_bad_as_its_worst_container() {
        let status = |state: &str| ContainerStatus {
            name: "c".into(),
            state: state.into(),
            uptime: String::new(),
            ports: Vec::new(),
            changed_outside: Vec::new(),
        };
        assert_eq!(worst(&[status("healthy"), status("running")]), "healthy");
        assert_eq!(
            worst(&[status("running"), status("exited (1)"), status("unhealthy")]),
            "exited (1)"
        );
    }

    fn recorded(containers: usize, stopped: bool) -> ResourceState {
        ResourceState {
            type_name: "Box".into(),
            state: json!({}),
            depends_on: Vec::new(),
            updated_at: 0,
            containers: (0..containers)
                .map(|i| {
                    serde_json::from_value(
                        json!({"name": format!("c{i}"), "must_run": true, "healthcheck": false}),
                    )
                    .expect("a container record")
                })
                .collect(),
            unknown: Default::default(),
            stopped,
            expires_at: None,
        }
    }

    #[test]
    fn a_resource_without_containers_is_said_to_be_what_the_state_and_the_folder_show() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let files = ProjectDir::open(&std::fs::canonicalize(tmp.path()).unwrap()).unwrap();
        std::fs::write(files.root().join("app.conf"), "x").unwrap();
        let mut state = State::empty(&Identity::new("p", files.root()));
        state.resources.insert("gone".into(), recorded(1, false));
        state.resources.insert("held".into(), recorded(1, true));
        state.resources.insert("conf".into(), recorded(0, false));
        state.resources.insert("lost".into(), recorded(0, false));
        state.resources.insert("plain".into(), recorded(0, false));
        state.resources.insert("ended".into(), recorded(0, false));
        state.expired.insert("ended".into(), 0);
        for (path, resource) in [("app.conf", "conf"), ("missing.conf", "lost")] {
            state.files.insert(
                path.into(),
                FileRecord {
                    resource: resource.into(),
                    sha256: String::new(),
                    mode: None,
                    stamp: None,
                },
            );
        }
        let nothing = BTreeMap::new();
        let seen = Seen {
            http: &BTreeMap::new(),
            changed: &nothing,
        };
        let state_of = |name: &str| row(name, "Box", true, &state, Vec::new(), &seen, &files).state;
        assert_eq!(state_of("gone"), "missing", "its containers are gone");
        assert_eq!(state_of("held"), "stopped (clockwork stop)");
        assert_eq!(state_of("conf"), "written");
        assert_eq!(state_of("lost"), "missing", "its file is gone");
        assert_eq!(state_of("plain"), "applied");
        assert_eq!(state_of("ended"), "expired");
        assert_eq!(state_of("new"), "not applied");
        let new = row("new", "Box", true, &state, Vec::new(), &seen, &files);
        assert_eq!(new.applied_at, None);
    }

    #[test]
    fn the_table_lines_up_names_one_row_per_container_and_marks_the_undeclared() {
        let container = |name: &str, state: &str, ports: &[&str]| ContainerStatus {
            name: name.into(),
            state: state.into(),
            uptime: "Up 1 minute".into(),
            ports: ports.iter().map(|p| p.to_string()).collect(),
            changed_outside: Vec::new(),
        };
        let rows = [
            ResourceStatus {
                name: "web".into(),
                type_name: "Box".into(),
                state: "unhealthy".into(),
                containers: vec![
                    container("web-1", "running", &["http://localhost:8080"]),
                    container("web-2", "unhealthy", &[]),
                ],
                applied_at: Some("2025-01-01T00:00:00Z".into()),
                declared: true,
            },
            ResourceStatus {
                name: "old".into(),
                type_name: "Box".into(),
                state: "written".into(),
                containers: Vec::new(),
                applied_at: None,
                declared: false,
            },
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("NAME "), "{text}");
        // Columns line up: each column starts where its header does.
        let at = |header: &str| lines[0].find(header).expect("a header");
        assert_eq!(lines[1].find("web-1"), Some(at("CONTAINER")), "{text}");
        assert_eq!(lines[2].find("web-2"), Some(at("CONTAINER")), "{text}");
        assert_eq!(lines[1].find("running"), Some(at("STATE")), "each its own");
        assert!(lines[2].starts_with(' '), "the name once: {text}");
        assert!(lines[1].ends_with("2025-01-01T00:00:00Z"), "{text}");
        assert!(lines[3].starts_with("old (no longer declared)"), "{text}");
        assert_eq!(lines[3].find("written"), Some(at("STATE")), "{text}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "no trailing space");
    }

    #[test]
    fn a_resource_with_one_container_shows_the_resources_state() {
        let rows = [ResourceStatus {
            name: "db".into(),
            type_name: "Box".into(),
            state: "stopped (clockwork stop)".into(),
            containers: vec![ContainerStatus {
                name: "db".into(),
                state: "exited (0)".into(),
                uptime: "Exited (0)".into(),
                ports: Vec::new(),
                changed_outside: Vec::new(),
            }],
            applied_at: None,
            declared: true,
        }];
        let text = table(&rows);
        assert!(text.contains("stopped (clockwork stop)"), "{text}");
        assert!(!text.contains("exited (0) "), "{text}");
    }
}
