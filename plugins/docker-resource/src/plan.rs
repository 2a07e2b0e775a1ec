//! Planning a container: the desired config, the recorded state and the
//! host's observation in; a change and the actions for the host out.
//!
//! Containers are immutable in Docker, so any difference in the container
//! spec replaces the container, and the diff names the fields. The image,
//! the networks and the named volumes it needs are ensured first; the host
//! pulls an image only when it is missing.

use clockwork_sdk::clockwork_schema::actions::{
    ContainerSpec, HealthcheckSpec, MountSpec, NetworkSpec, VolumeSpec, spec_hash,
};
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{
    ActionResult, Change, ChangePlan, Health, PlanInput, StatusReport, action,
};
use clockwork_sdk::{invalid, serde_json};

/// The container spec for a validated config.
pub fn container_spec(
    name: &str,
    config: &Value,
    project: &Value,
) -> Result<ContainerSpec, PluginError> {
    let Some(image) = config["image"].as_str() else {
        return Err(invalid(
            Some("/image"),
            "`image` is needed: the container image to run, e.g. \"nginx:alpine\"",
        ));
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let must_run = config["must_run"].as_bool().unwrap_or(true);
    let mut networks = Vec::new();
    if let Some(default) = project["network"].as_str() {
        networks.push(default.to_string());
    }
    for n in strings(&config["networks"]) {
        if !networks.contains(&n) {
            networks.push(n);
        }
    }
    // Mounts arrive as `{"source", "target", "read_only"}` (the host's
    // `mount` type); a string is the form users write.
    let mounts = config["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            match v {
                Value::String(text) => MountSpec::parse(text),
                other => serde_json::from_value::<MountSpec>(other.clone()).ok(),
            }
            .ok_or_else(|| invalid(Some("/volumes"), format!("`{v}` is not a mount")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let healthcheck = match config
        .get("healthcheck")
        .filter(|h| !crate::check::is_image_own(h))
    {
        None => None,
        Some(h) => {
            let seconds =
                |key: &str, default: f64| (h[key].as_f64().unwrap_or(default) * 1000.0) as u64;
            Some(HealthcheckSpec {
                test: strings(&h["test"]),
                interval_ms: seconds("interval_seconds", 1.0),
                timeout_ms: seconds("timeout_seconds", 3.0),
                retries: h["retries"].as_u64().unwrap_or(10),
                start_period_ms: seconds("start_period_seconds", 0.0),
            })
        }
    };
    Ok(ContainerSpec {
        name: name.to_string(),
        image: image.to_string(),
        env: string_map(&config["env_vars"]),
        ports: strings(&config["ports"]),
        mounts,
        aliases: strings(&config["aliases"]),
        command: config.get("command").filter(|c| c.is_array()).map(strings),
        entrypoint: config
            .get("entrypoint")
            .filter(|c| c.is_array())
            .map(strings),
        labels: string_map(&config["labels"]),
        // A one-shot job (`must_run=False`) that Docker restarted whenever
        // it exits would never be done.
        restart_policy: config["restart_policy"]
            .as_str()
            .unwrap_or(if must_run { "unless-stopped" } else { "no" })
            .to_string(),
        healthcheck,
        must_run,
        network_options: NetworkSpec::declared_of(project, &networks),
        networks,
        replicas: config["replicas"]
            .as_u64()
            .filter(|n| *n != 1)
            .and_then(|n| u32::try_from(n).ok()),
        placement: strings(&config["placement"]),
    })
}

/// The string entries of a `map<string>` field.
fn string_map(value: &Value) -> std::collections::BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

/// The recorded state: the spec and its hash, the container id once known.
fn state(spec: &ContainerSpec, id: Option<&str>) -> Value {
    json!({"container": spec.name, "id": id, "spec_hash": spec_hash(spec), "spec": spec})
}

/// The observed container of this declaration, if any.
fn observed_container(observed: &Option<Value>) -> Option<&Value> {
    observed.as_ref()?.get("containers")?.as_array()?.first()
}

/// The config field a container-spec key comes from, for the diff.
fn config_field(spec_key: &str) -> &str {
    match spec_key {
        "env" => "env_vars",
        "mounts" => "volumes",
        other => other,
    }
}

/// The fields of the spec that differ, named as the user wrote them
/// (`/env_vars/LOG_LEVEL`, `/image`), for the plan's diff.
fn diff(old: Option<&Value>, new: &ContainerSpec) -> Vec<FieldChange> {
    let new = serde_json::to_value(new).unwrap_or(Value::Null);
    let Some(old) = old.filter(|o| o.is_object()) else {
        return vec![FieldChange {
            path: "/".into(),
            old: None,
            new: None,
            forces_replace: true,
        }];
    };
    let change = |path: String, old: Option<&Value>, new: Option<&Value>| FieldChange {
        path,
        old: old.map(Value::to_string),
        new: new.map(Value::to_string),
        forces_replace: true,
    };
    let mut changes = Vec::new();
    let empty = serde_json::Map::new();
    let new = new.as_object().unwrap_or(&empty);
    let old = old.as_object().unwrap_or(&empty);
    // Keys of both: a field left out of the spec when empty (`labels`,
    // `entrypoint`, `network_options`) is gone from the new one when the
    // user removed it.
    let keys: Vec<&String> = new
        .keys()
        .chain(old.keys().filter(|k| !new.contains_key(*k)))
        .collect();
    for key in keys {
        let field = config_field(key);
        match (old.get(key.as_str()), new.get(key.as_str())) {
            (before, after) if before == after => {}
            // Maps (env, labels) differ key by key.
            (Some(Value::Object(before)), Some(Value::Object(after))) => {
                let keys: std::collections::BTreeSet<&String> =
                    before.keys().chain(after.keys()).collect();
                for k in keys.into_iter().filter(|k| before.get(*k) != after.get(*k)) {
                    changes.push(change(format!("/{field}/{k}"), before.get(k), after.get(k)));
                }
            }
            (before, after) => changes.push(change(format!("/{field}"), before, after)),
        }
    }
    changes
}

pub fn plan(input: &PlanInput) -> Result<ChangePlan, PluginError> {
    let name = &input.target.name;
    let prior = input.prior_json()?;
    let observed = input.observed_json()?;
    let container = observed_container(&observed);
    let Some(desired) = input.desired_json()? else {
        // Destroy: whatever is there, by name.
        if container.is_none() && prior.is_none() {
            return Ok(ChangePlan::unchanged(&Value::Null));
        }
        return Ok(ChangePlan {
            change: Change::Delete,
            diff: Vec::new(),
            actions: vec![Action::RemoveContainer(name.clone())],
            planned_state: Value::Null.to_string(),
        });
    };
    // `validate` saw what the user wrote; completion and connections may
    // have added to it since.
    let problems = crate::check::check(&desired);
    if !problems.is_empty() {
        return Err(PluginError::InvalidConfig(problems));
    }
    let project = input.project_json()?;
    let spec = container_spec(name, &desired, &project)?;
    let hash = spec_hash(&spec);
    let mut prepare = vec![action(Action::EnsureImage, &json!({"image": spec.image}))];
    for network in &spec.networks {
        prepare.push(action(
            Action::EnsureNetwork,
            &spec
                .network_options
                .get(network)
                .cloned()
                .unwrap_or_else(|| NetworkSpec::named(network)),
        ));
    }
    for mount in spec.mounts.iter().filter(|m| !m.is_bind()) {
        prepare.push(action(
            Action::EnsureVolume,
            &VolumeSpec::of_project(&project, &mount.source),
        ));
    }
    let ensure = action(Action::EnsureContainer, &spec);
    let planned = state(&spec, None);
    let plan = |change, diff, mut actions: Vec<Action>| ChangePlan {
        change,
        diff,
        actions: {
            let mut all = prepare.clone();
            all.append(&mut actions);
            all
        },
        planned_state: planned.to_string(),
    };
    Ok(match container {
        None => plan(Change::Create, Vec::new(), vec![ensure]),
        // `docker update` changed what its config hash cannot show: made
        // again as declared.
        Some(c)
            if c["config_hash"].as_str() == Some(hash.as_str())
                && !changed_outside(c).is_empty() =>
        {
            plan(
                Change::Replace,
                changed_outside(c),
                vec![Action::RemoveContainer(name.clone()), ensure],
            )
        }
        Some(c) if c["config_hash"].as_str() == Some(hash.as_str()) => {
            match trouble(c, prior.as_ref(), spec.must_run) {
                None => {
                    let mut unchanged = state(&spec, c["id"].as_str());
                    unchanged["restart_count"] = c["restart_count"].clone();
                    unchanged["started_at"] = c["started_at"].clone();
                    ChangePlan::unchanged(&unchanged)
                }
                // Stopped, crashed or restarted with the right config: start
                // it again (when stopped) and see that it stays up.
                Some(why) => plan(Change::Update, vec![why], vec![ensure]),
            }
        }
        Some(_) => {
            let old_spec = prior.as_ref().and_then(|p| p.get("spec"));
            plan(
                Change::Replace,
                diff(old_spec, &spec),
                vec![Action::RemoveContainer(name.clone()), ensure],
            )
        }
    })
}

/// Health and drift of a container from its recorded state and what the
/// Engine shows now.
pub fn status(state: &Value, observed: Option<&Value>) -> StatusReport {
    let report = |health, message: String, drift| StatusReport {
        health,
        message,
        drift,
    };
    let container = observed
        .and_then(|o| o.get("containers"))
        .and_then(Value::as_array)
        .and_then(|c| c.first());
    let must_run = state["spec"]["must_run"].as_bool().unwrap_or(true);
    let Some(c) = container else {
        return if state.is_null() {
            report(Health::Unknown, "not created yet".into(), Vec::new())
        } else {
            report(Health::Missing, "its container is gone".into(), Vec::new())
        };
    };
    let mut drift = changed_outside(c);
    if let (Some(applied), Some(now)) = (state["spec_hash"].as_str(), c["config_hash"].as_str())
        && applied != now
    {
        drift.push(FieldChange {
            path: "/".into(),
            old: Some(json!(now).to_string()),
            new: Some(json!(applied).to_string()),
            forces_replace: true,
        });
    }
    if c["restarting"] == true {
        let code = c["exit_code"].as_i64().unwrap_or(0);
        return report(
            Health::Degraded,
            format!("the Engine keeps restarting it (last exit code {code})"),
            drift,
        );
    }
    if c["running"] != true {
        return if must_run {
            report(Health::Stopped, "not running".into(), drift)
        } else {
            report(Health::Ready, "ran and exited".into(), drift)
        };
    }
    match c["health"].as_str() {
        Some("unhealthy") => report(Health::Degraded, "its health check fails".into(), drift),
        Some("starting") => report(Health::Starting, "starting".into(), drift),
        _ if !drift.is_empty() => report(
            Health::Degraded,
            "running, but not as it was made".into(),
            drift,
        ),
        _ => report(Health::Ready, "running".into(), drift),
    }
}

/// The settings the host saw changed outside Clockwork (`docker update`),
/// as a diff from what they are now back to what was applied.
fn changed_outside(observed: &Value) -> Vec<FieldChange> {
    observed["changed_outside"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let setting = c["setting"].as_str()?;
            Some(FieldChange {
                path: format!("/{}", setting.replace(' ', "_")),
                old: Some(
                    json!(format!("{}, changed outside Clockwork", c["now"].as_str()?)).to_string(),
                ),
                new: Some(json!(c["applied"].as_str()?).to_string()),
                forces_replace: true,
            })
        })
        .collect()
}

/// Why a container with the right config is not as it should be: stopped,
/// being restarted by the Engine, or restarted since the last apply (more
/// restarts, or a later start, than the recorded state says). A crash loop
/// seen between two restarts looks "running"; its restart count does not.
/// Containers that may exit (`must_run=False`) are never wrong.
fn trouble(observed: &Value, prior: Option<&Value>, must_run: bool) -> Option<FieldChange> {
    if !must_run {
        return None;
    }
    // Values are JSON text, as the contract says of every diff.
    let change = |path: &str, old: Value, new: Value| FieldChange {
        path: path.into(),
        old: Some(old.to_string()),
        new: Some(new.to_string()),
        forces_replace: false,
    };
    if observed["restarting"].as_bool() == Some(true) {
        let code = observed["exit_code"].as_i64().unwrap_or(0);
        return Some(change(
            "/running",
            json!(format!("restarting (exit code {code})")),
            json!(true),
        ));
    }
    if observed["running"].as_bool() != Some(true) {
        return Some(change("/running", json!(false), json!(true)));
    }
    let restarts = observed["restart_count"].as_i64().unwrap_or(0);
    let recorded = prior.and_then(|p| p["restart_count"].as_i64()).unwrap_or(0);
    if restarts > recorded {
        return Some(change("/restarts", json!(recorded), json!(restarts)));
    }
    let started = observed["started_at"].as_str();
    let recorded_start = prior.and_then(|p| p["started_at"].as_str());
    if let (Some(now), Some(then)) = (started, recorded_start)
        && now != then
    {
        return Some(change("/started_at", json!(then), json!(now)));
    }
    None
}

/// The new state from the executed actions: the container's id, restart
/// count and start time.
pub fn settle(
    input: &PlanInput,
    plan: &ChangePlan,
    results: &[ActionResult],
) -> Result<String, PluginError> {
    if matches!(plan.change, Change::Delete) {
        return Ok(Value::Null.to_string());
    }
    let mut state: Value = serde_json::from_str(&plan.planned_state)
        .map_err(|e| PluginError::Failed(e.to_string()))?;
    let started = results
        .iter()
        .filter(|r| r.ok)
        .filter_map(|r| serde_json::from_str::<Value>(&r.output).ok())
        .find(|o| o.get("id").and_then(Value::as_str).is_some());
    if let Some(output) = started {
        for key in ["id", "restart_count", "started_at"] {
            if let Some(v) = output.get(key) {
                state[key] = v.clone();
            }
        }
    }
    let _ = input;
    Ok(state.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clockwork_sdk::ResourceRef;

    fn input(desired: Option<Value>, prior: Option<Value>, observed: Option<Value>) -> PlanInput {
        PlanInput {
            target: ResourceRef {
                type_name: "DockerResource".into(),
                name: "postgres-db".into(),
            },
            desired: desired.map(|d| d.to_string()),
            prior: prior.map(|p| p.to_string()),
            observed: observed.map(|o| o.to_string()),
            project: json!({"name": "shop", "network": "shop_default"}).to_string(),
        }
    }

    fn config() -> Value {
        json!({
            "name": "postgres-db",
            "image": "postgres:15-alpine",
            "ports": ["5432:5432"],
            "env_vars": {"POSTGRES_PASSWORD": "secret123"},
            "volumes": ["pgdata:/var/lib/postgresql/data"],
            "networks": [],
            "restart_policy": "unless-stopped",
            "must_run": true,
        })
    }

    /// The plan as readable lines: change, diff paths, then each action.
    fn render(plan: &ChangePlan) -> String {
        let mut out = format!("change: {:?}\n", plan.change);
        for d in &plan.diff {
            out.push_str(&format!(
                "diff: {} {} -> {}\n",
                d.path,
                d.old.as_deref().unwrap_or("-"),
                d.new.as_deref().unwrap_or("-")
            ));
        }
        for a in &plan.actions {
            out.push_str(&format!("action: {a:?}\n"));
        }
        out
    }

    fn hash_of(config: &Value) -> String {
        spec_hash(
            &container_spec("postgres-db", config, &json!({"network": "shop_default"})).unwrap(),
        )
    }

    /// A declaration that sets neither `entrypoint` nor `labels` keeps the
    /// config hash it had before they existed (computed then), so upgrading
    /// Clockwork replaces no container.
    #[test]
    fn a_config_without_entrypoint_or_labels_hashes_as_before() {
        assert_eq!(
            hash_of(&config()),
            "97fe3cf76613f7e1e6eb2306d71ef514ea2494e1eaee1af1a05d9374b1436662"
        );
    }

    #[test]
    fn creates_with_image_network_and_volume_first() {
        let plan = plan(&input(Some(config()), None, None)).unwrap();
        insta::assert_snapshot!(render(&plan));
    }

    #[test]
    fn nothing_to_do_when_the_running_container_has_the_same_hash() {
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true, "config_hash": hash_of(&config())}]});
        let plan = plan(&input(Some(config()), None, Some(observed))).unwrap();
        assert!(matches!(plan.change, Change::None));
        assert!(plan.actions.is_empty());
        assert_eq!(
            serde_json::from_str::<Value>(&plan.planned_state).unwrap()["id"],
            "abc"
        );
    }

    #[test]
    fn a_crash_loop_seen_running_between_restarts_is_never_unchanged() {
        let container = |restarts: i64, restarting: bool, started: &str| {
            json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true,
                "restarting": restarting, "restart_count": restarts, "exit_code": 3,
                "started_at": started, "config_hash": hash_of(&config())}]})
        };
        let recorded = json!({"restart_count": 0, "started_at": "2026-12-01T10:00:00Z"});
        // Running right now, but restarted twice since the last apply.
        let looping = plan(&input(
            Some(config()),
            Some(recorded.clone()),
            Some(container(2, false, "2026-12-01T10:05:00Z")),
        ))
        .unwrap();
        assert!(matches!(looping.change, Change::Update));
        assert_eq!(looping.diff[0].path, "/restarts");
        // Being restarted by the Engine, with no state at all.
        let restarting = plan(&input(Some(config()), None, Some(container(1, true, "x")))).unwrap();
        assert!(matches!(restarting.change, Change::Update));
        // Started again by someone since the last apply.
        let restarted = plan(&input(
            Some(config()),
            Some(recorded.clone()),
            Some(container(0, false, "2026-12-01T11:00:00Z")),
        ))
        .unwrap();
        assert_eq!(restarted.diff[0].path, "/started_at");
        // As recorded: nothing to do, and the state keeps the counts.
        let steady = plan(&input(
            Some(config()),
            Some(recorded),
            Some(container(0, false, "2026-12-01T10:00:00Z")),
        ))
        .unwrap();
        assert!(matches!(steady.change, Change::None));
        let state: Value = serde_json::from_str(&steady.planned_state).unwrap();
        assert_eq!(state["restart_count"], 0);
    }

    #[test]
    fn status_tells_healthy_degraded_stopped_and_missing() {
        let state = json!({"spec_hash": "h", "spec": {"must_run": true}});
        let seen = |c: Value| status(&state, Some(&json!({"containers": [c]})));
        let up = seen(json!({"running": true, "config_hash": "h", "health": "healthy"}));
        assert!(matches!(up.health, Health::Ready), "{}", up.message);
        let sick = seen(json!({"running": true, "config_hash": "h", "health": "unhealthy"}));
        assert!(matches!(sick.health, Health::Degraded));
        let looping =
            seen(json!({"running": true, "restarting": true, "exit_code": 3, "config_hash": "h"}));
        assert!(
            looping.message.contains("exit code 3"),
            "{}",
            looping.message
        );
        let down = seen(json!({"running": false, "config_hash": "h"}));
        assert!(matches!(down.health, Health::Stopped));
        let updated = seen(json!({"running": true, "config_hash": "h",
            "changed_outside": [{"setting": "restart policy", "applied": "unless-stopped", "now": "no"}]}));
        assert!(matches!(updated.health, Health::Degraded));
        assert_eq!(updated.drift[0].path, "/restart_policy");
        let gone = status(&state, Some(&json!({"containers": []})));
        assert!(matches!(gone.health, Health::Missing));
    }

    #[test]
    fn a_setting_changed_by_docker_update_is_replaced() {
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true,
            "config_hash": hash_of(&config()),
            "changed_outside": [{"setting": "memory", "applied": "0", "now": "67108864"}]}]});
        let p = plan(&input(Some(config()), None, Some(observed))).expect("plan");
        assert!(matches!(p.change, Change::Replace));
        assert_eq!(p.diff[0].path, "/memory");
        assert_eq!(p.diff[0].new.as_deref(), Some("\"0\""));
        assert!(
            p.actions
                .iter()
                .any(|a| matches!(a, Action::RemoveContainer(_))),
            "{:?}",
            p.actions
        );
    }

    #[test]
    fn a_stopped_container_is_started_again() {
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": false, "config_hash": hash_of(&config())}]});
        let plan = plan(&input(Some(config()), None, Some(observed))).unwrap();
        insta::assert_snapshot!(render(&plan));
    }

    #[test]
    fn a_changed_field_replaces_and_is_named() {
        let old = config();
        let prior = json!({"spec": container_spec("postgres-db", &old, &json!({"network": "shop_default"})).unwrap()});
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true, "config_hash": hash_of(&old)}]});
        let mut new = config();
        new["image"] = json!("postgres:16-alpine");
        let plan = plan(&input(Some(new), Some(prior), Some(observed))).unwrap();
        insta::assert_snapshot!(render(&plan));
    }

    #[test]
    fn a_changed_variable_is_named_by_its_key() {
        let old = config();
        let prior = json!({"spec": container_spec("postgres-db", &old, &json!({"network": "shop_default"})).unwrap()});
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true, "config_hash": hash_of(&old)}]});
        let mut new = config();
        new["env_vars"]["LOG_LEVEL"] = json!("debug");
        new["volumes"] = json!([]);
        let plan = plan(&input(Some(new), Some(prior), Some(observed))).unwrap();
        let paths: Vec<&str> = plan.diff.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/env_vars/LOG_LEVEL", "/volumes"]);
        assert_eq!(plan.diff[0].old, None);
        assert_eq!(plan.diff[0].new.as_deref(), Some("\"debug\""));
        assert!(matches!(plan.change, Change::Replace));
    }

    #[test]
    fn entrypoint_and_labels_are_in_the_spec_and_their_changes_named() {
        let mut old = config();
        old["labels"] = json!({"com.example.role": "db", "com.example.team": "data"});
        let project = json!({"network": "shop_default"});
        let spec = container_spec("postgres-db", &old, &project).unwrap();
        assert_eq!(spec.entrypoint, None);
        assert_eq!(spec.labels.len(), 2);
        let prior = json!({"spec": spec});
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true, "config_hash": hash_of(&old)}]});
        let replan = |new: Value| {
            let p = plan(&input(
                Some(new),
                Some(prior.clone()),
                Some(observed.clone()),
            ))
            .unwrap();
            assert!(matches!(p.change, Change::Replace), "{p:?}");
            p.diff
                .iter()
                .map(|d| {
                    format!(
                        "{} {} -> {}",
                        d.path,
                        d.old.as_deref().unwrap_or("-"),
                        d.new.as_deref().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut relabelled = old.clone();
        relabelled["labels"]["com.example.role"] = json!("primary");
        relabelled["entrypoint"] = json!(["/usr/local/bin/docker-entrypoint.sh", "--verbose"]);
        assert_eq!(
            replan(relabelled),
            [
                "/entrypoint - -> [\"/usr/local/bin/docker-entrypoint.sh\",\"--verbose\"]",
                "/labels/com.example.role \"db\" -> \"primary\"",
            ]
        );
        // Every label removed: the field is gone from the spec, and named.
        let mut unlabelled = old.clone();
        unlabelled["labels"] = json!({});
        assert_eq!(
            replan(unlabelled),
            ["/labels {\"com.example.role\":\"db\",\"com.example.team\":\"data\"} -> -"]
        );
        // `[]` is no entrypoint at all, which is not the image's.
        let mut none = old;
        none["entrypoint"] = json!([]);
        assert_eq!(
            container_spec("postgres-db", &none, &project)
                .unwrap()
                .entrypoint,
            Some(Vec::new())
        );
    }

    #[test]
    fn destroy_removes_by_name_and_is_nothing_when_nothing_exists() {
        let observed = json!({"containers": [{"name": "postgres-db", "id": "abc", "running": true, "config_hash": "x"}]});
        let plan_ = plan(&input(None, None, Some(observed))).unwrap();
        insta::assert_snapshot!(render(&plan_));
        assert!(matches!(
            plan(&input(None, None, None)).unwrap().change,
            Change::None
        ));
    }

    #[test]
    fn a_missing_image_is_an_error_at_the_field() {
        let mut c = config();
        c.as_object_mut().unwrap().remove("image");
        let err = plan(&input(Some(c), None, None)).unwrap_err();
        assert!(
            matches!(err, PluginError::InvalidConfig(ref d) if d[0].path.as_deref() == Some("/image")),
            "{err:?}"
        );
    }

    #[test]
    fn a_completed_value_is_checked_too() {
        let mut c = config();
        c["image"] = json!("Postgres:15");
        c["networks"] = json!(["host"]);
        let err = plan(&input(Some(c), None, None)).unwrap_err();
        let PluginError::InvalidConfig(problems) = err else {
            panic!("{err:?}");
        };
        let paths: Vec<Option<&str>> = problems.iter().map(|d| d.path.as_deref()).collect();
        assert_eq!(paths, [Some("/image"), Some("/networks/0")]);
    }

    #[test]
    fn a_one_shot_job_is_not_restarted_unless_asked() {
        let ensure = |c: Value| {
            let p = plan(&input(Some(c), None, None)).unwrap();
            p.actions
                .iter()
                .find_map(|a| match a {
                    Action::EnsureContainer(spec) => serde_json::from_str::<Value>(spec).ok(),
                    _ => None,
                })
                .map(|s| s["restart_policy"].clone())
        };
        let mut service = config();
        service.as_object_mut().map(|c| c.remove("restart_policy"));
        assert_eq!(ensure(service.clone()), Some(json!("unless-stopped")));
        let mut job = service;
        job["must_run"] = json!(false);
        assert_eq!(ensure(job.clone()), Some(json!("no")));
        job["restart_policy"] = json!("on-failure");
        assert_eq!(ensure(job), Some(json!("on-failure")));
    }

    #[test]
    fn settle_records_the_new_container_id() {
        let p = plan(&input(Some(config()), None, None)).unwrap();
        let results = vec![ActionResult {
            index: 4,
            ok: true,
            output: json!({"id": "deadbeef"}).to_string(),
        }];
        let state: Value = serde_json::from_str(
            &settle(&input(Some(config()), None, None), &p, &results).unwrap(),
        )
        .unwrap();
        assert_eq!(state["id"], "deadbeef");
        let restarted = vec![ActionResult {
            index: 4,
            ok: true,
            output: json!({"id": "deadbeef", "restart_count": 2, "started_at": "t"}).to_string(),
        }];
        let state: Value = serde_json::from_str(
            &settle(&input(Some(config()), None, None), &p, &restarted).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (
                state["restart_count"].as_i64(),
                state["started_at"].as_str()
            ),
            (Some(2), Some("t"))
        );
        assert_eq!(state["spec_hash"], hash_of(&config()));
    }
}
