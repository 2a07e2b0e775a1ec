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
    let identity = crate::state::adoption::identity(&folder.identity);
    // The Engine's first answers take as long as loading the project: both
    // at once. A project that does not load is reported before an Engine
    // that does not answer, as when one followed the other.
    let (resolved, engine) = tokio::join!(
        project::resolved(invocation, crate::complete::Mode::ReadOnly),
        Engine::connect(&identity, folder.files.clone())
    );
    let resolved = resolved?;
    let state = State::load(&folder.files, &folder.identity)?;
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
    let engine = engine?;
    if let Some(note) = engine.adopted_note().await? {
        crate::output::note(&note);
    }
    timings.lap("status: connect to the Engine");
    let mut by_resource: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in engine.own_containers().await? {
        if let Some(resource) = listed_resource(&c).cloned() {
            by_resource.entry(resource).or_default().push(c);
        }
    }
    // Which published ports answer HTTP: asked all at once, briefly.
    let ports: Vec<u16> = by_resource
        .values()
        .flatten()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| p.public_port)
        .collect();
    timings.lap("status: list containers");
    // Both at once: which ports answer HTTP, and what `docker update`
    // changed (the listing shows neither).
    let (http, changed) = tokio::join!(
        serves_http(&ports),
        changed_outside(&engine, &state, &by_resource)
    );
    timings.lap("status: ask published ports for HTTP and inspect for changes");
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
