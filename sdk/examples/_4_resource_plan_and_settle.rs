//! A resource type that deploys: `PostgresDatabase(name=, password=, ...)`
//! runs a PostgreSQL container. This is `plan` and `settle`.
//!
//! Plugins decide, the host acts. `plan` gets the desired config, the state
//! the last `settle` returned (`prior`) and the host's fresh observation of
//! this declaration's containers, and returns a change with the actions
//! that bring it about. The host checks every action against policy, runs
//! them in order, stops at the first failure and passes the results to
//! `settle`, whose answer is recorded and comes back as `prior` next time.
//! Both are pure and run in a fresh instance per call: what they know is
//! what their input says.

use std::collections::BTreeMap;

use clockwork_sdk::clockwork_schema::ContributionKind;
use clockwork_sdk::clockwork_schema::actions::{
    ContainerSpec, HealthcheckSpec, MountSpec, NetworkSpec, VolumeSpec, spec_hash,
};
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{ActionResult, Change, ChangePlan, PlanInput, action};
use clockwork_sdk::{invalid, serde_json};

struct Postgres;

/// The fields that shape the container, recorded so that a replace can say
/// which of them changed. The password is left out: the host masks secrets
/// in the state it records, so `prior` would never hold the real one.
const SHAPING: [&str; 7] = [
    "version",
    "user",
    "database",
    "port",
    "environment",
    "mounts",
    "networks",
];

impl ResourcePlugin for Postgres {
    fn meta() -> PluginMeta {
        PluginMeta {
            name: "postgres-database".into(),
            version: "0.1.0".into(),
            summary: "PostgreSQL databases in containers".into(),
            homepage: None,
        }
    }

    fn types() -> Vec<ResourceType> {
        // A container is immutable once created, so every field that shapes
        // it forces a replace; `plan` shows users which ones did.
        let shaping = |name: &str, value_type: &str, doc: &str| {
            Field::new(name, value_type, doc).forces_replace()
        };
        vec![ResourceType::new(
            TypeDef::new(
                "PostgresDatabase",
                "A PostgreSQL server in a container, reachable by the project's containers as `<name>:5432`. \
                 Its data lives in the volume `<name>-data`, which survives replacements.",
            )
            .field(fields::name())
            .field(fields::description())
            .field(
                shaping("version", "string", "The `postgres` image tag.")
                    .default(json!("16-alpine")),
            )
            .field(
                shaping("password", "string", "The password of `user`.")
                    .required()
                    .secret(),
            )
            .field(shaping("user", "string", "The database user.").default(json!("app")))
            .field(shaping("database", "string", "The database.").default(json!("app")))
            .field(
                // A `port` field: the host publishes a port on this machine
                // only when the user wrote that mapping in a field of this
                // type, and passes it through as written.
                shaping(
                    "port",
                    "port",
                    "Where to publish PostgreSQL's port 5432 on this machine, e.g. `\"127.0.0.1:15432:5432\"`; left out, only the project's containers reach it.",
                )
                .example(json!("127.0.0.1:15432:5432")),
            )
            .field(
                shaping("environment", "map<string>", "Extra environment variables.")
                    .default(json!({}))
                    .receives(ContributionKind::Environment),
            )
            .field(
                shaping("mounts", "list<mount>", "Extra mounts.")
                    .default(json!([]))
                    .receives(ContributionKind::Mounts),
            )
            .field(
                shaping("networks", "list<string>", "Networks to join besides the project's.")
                    .default(json!([]))
                    .receives(ContributionKind::Networks),
            )
            .field(fields::connections())
            .field(fields::assertions()),
        )]
    }

    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        let name = &input.target.name;
        let prior = input.prior_json()?;
        // Decide from the observation, not from `prior`: the state may be
        // lost or stale (a container removed by hand), while the host has
        // just looked. `None` also means "planning offline": plan a create.
        let observed = input.observed_json()?;
        let container = observed
            .as_ref()
            .and_then(|o| o["containers"].as_array())
            .and_then(|all| all.iter().find(|c| c["name"] == name.as_str()));

        let Some(desired) = input.desired_json()? else {
            // Destroy. Say `delete` whenever something exists or is recorded,
            // so that `plan` shows it going; removing a container that is
            // already gone is not an error. The network and the volume are
            // the project's: destroy removes them once no container is left.
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

        let spec = container_spec(name, &desired, &input.project_json()?)?;
        // The host stamps the hash of the spec it ran on the container and
        // reports it as `config_hash`. Hash the same typed `ContainerSpec`
        // you send: JSON built by hand hashes differently, and every plan
        // would replace a container that is up to date.
        let hash = spec_hash(&spec);
        // What only the host learns (the container id) is null until `settle`.
        let mut planned = json!({
            "container": name,
            "address": format!("{name}:5432"),
            "id": null,
            "restart_count": 0,
            "spec_hash": hash,
            "fields": recorded(&desired),
        });

        // Everything the container needs comes first. The host creates
        // nothing it is not asked to, `ensure-*` does nothing when the object
        // is there, and a failed pull stops the apply before the old
        // container is removed.
        let mut actions = vec![action(Action::EnsureImage, &json!({"image": spec.image}))];
        for network in &spec.networks {
            // A network a connection declared comes with its options.
            actions.push(action(
                Action::EnsureNetwork,
                &NetworkSpec::of_project(&input.project_json()?, network),
            ));
        }
        // Docker would make a missing volume itself, but without the
        // project's labels, and `clockwork destroy` would never remove it.
        actions.push(action(
            Action::EnsureVolume,
            &VolumeSpec::of_project(&input.project_json()?, &data_volume(name)),
        ));
        let ensure = action(Action::EnsureContainer, &spec);

        let (change, diff) = match container {
            None => (Change::Create, Vec::new()),
            Some(c) if c["config_hash"] != hash.as_str() => {
                // Name the removal (`ensure-container` would do it anyway), so
                // that `plan` and the journal say the old container goes, and
                // with it whatever was not in a volume.
                actions.push(Action::RemoveContainer(name.clone()));
                (Change::Replace, diff(prior.as_ref(), &desired))
            }
            Some(c) => match trouble(c, prior.as_ref()) {
                // A plan without actions is recorded as its `planned_state`,
                // without `settle`: carry over what the last one learned.
                None => {
                    planned["id"] = c["id"].clone();
                    planned["restart_count"] = c["restart_count"].clone();
                    return Ok(ChangePlan::unchanged(&planned));
                }
                // The right container, not running as it should: ensuring it
                // starts it, and the host waits until it is healthy again
                // before anything that depends on it goes on.
                Some(why) => (Change::Update, vec![why]),
            },
        };
        actions.push(ensure);
        Ok(ChangePlan {
            change,
            diff,
            actions,
            planned_state: planned.to_string(),
        })
    }

    fn settle(
        _input: PlanInput,
        plan: ChangePlan,
        results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        // `null` makes the host forget the declaration.
        if matches!(plan.change, Change::Delete) {
            return Ok(Value::Null.to_string());
        }
        let mut state: Value = serde_json::from_str(&plan.planned_state)
            .map_err(|e| PluginError::Failed(format!("planned state: {e}")))?;
        // Results point at their action by index, and the number of actions
        // before `ensure-container` varies: find it by what was planned.
        let ensured = plan
            .actions
            .iter()
            .position(|a| matches!(a, Action::EnsureContainer(_)));
        let output = results
            .iter()
            .find(|r| r.ok && Some(r.index as usize) == ensured)
            .and_then(|r| serde_json::from_str::<Value>(&r.output).ok());
        // Without an output the id stays null. That is harmless: the next
        // plan trusts the observation, and this record only fills in.
        if let Some(output) = output {
            state["id"] = output["id"].clone();
            // The baseline for "restarted since the last apply".
            state["restart_count"] = output["restart_count"].clone();
        }
        Ok(state.to_string())
    }
}

/// The container for a completed config.
/// The user's `port`, as written (the host grants exactly that mapping),
/// checked to be one of 5432.
fn published(config: &Value) -> Result<Option<String>, PluginError> {
    let Some(port) = config["port"].as_str() else {
        return Ok(None);
    };
    match clockwork_sdk::clockwork_schema::parse_port(port) {
        Ok(mapping) if mapping.container_port == 5432 => Ok(Some(port.to_string())),
        Ok(_) => Err(invalid(
            Some("/port"),
            format!("`{port}` does not publish PostgreSQL's port: end it with `:5432`"),
        )),
        Err(e) => Err(invalid(Some("/port"), e.to_string())),
    }
}

fn container_spec(
    name: &str,
    config: &Value,
    project: &Value,
) -> Result<ContainerSpec, PluginError> {
    let text = |key: &str, default: &str| config[key].as_str().unwrap_or(default).to_string();
    let Some(password) = config["password"].as_str() else {
        return Err(invalid(Some("/password"), "`password` is needed"));
    };
    let (user, database) = (text("user", "app"), text("database", "app"));

    // The project network first: every container of the project joins it,
    // so they reach each other by name. Connections may add more.
    let mut networks: Vec<String> = project["network"]
        .as_str()
        .map(Into::into)
        .into_iter()
        .collect();
    for network in config["networks"].as_array().into_iter().flatten() {
        if let Some(n) = network
            .as_str()
            .filter(|n| !networks.iter().any(|m| m == n))
        {
            networks.push(n.to_string());
        }
    }

    let mut env: BTreeMap<String, String> = config["environment"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    // The type's own fields win over `environment`: connections build their
    // URLs from them, so they must be what the server really uses.
    env.insert("POSTGRES_USER".into(), user.clone());
    env.insert("POSTGRES_PASSWORD".into(), password.to_string());
    env.insert("POSTGRES_DB".into(), database.clone());

    let mut mounts = vec![MountSpec {
        source: data_volume(name),
        target: "/var/lib/postgresql/data".into(),
        read_only: false,
    }];
    // The host hands every `mount` value over as `{source, target,
    // read_only}`, however the user wrote it.
    for (i, mount) in config["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let parsed = serde_json::from_value(mount.clone())
            .map_err(|e| invalid(Some(&format!("/mounts/{i}")), format!("not a mount: {e}")))?;
        mounts.push(parsed);
    }

    Ok(ContainerSpec {
        // Policy: a resource's container has the resource's name.
        name: name.to_string(),
        image: format!("postgres:{}", text("version", "16-alpine")),
        env,
        ports: published(config)?.into_iter().collect(),
        mounts,
        network_options: NetworkSpec::declared_of(project, &networks),
        networks,
        aliases: Vec::new(),
        replicas: None,
        placement: Vec::new(),
        command: None,
        entrypoint: None,
        labels: BTreeMap::new(),
        restart_policy: "unless-stopped".into(),
        // Running is not accepting connections. With a health check the host
        // starts what depends on this only once the server answers.
        healthcheck: Some(HealthcheckSpec {
            test: ["CMD", "pg_isready", "-U", &user, "-d", &database]
                .map(String::from)
                .to_vec(),
            interval_ms: 1_000,
            timeout_ms: 3_000,
            retries: 30,
            start_period_ms: 0,
        }),
        must_run: true,
    })
}

/// The volume holding the data; named after the resource, so unique in the
/// project, and kept across replacements.
fn data_volume(name: &str) -> String {
    format!("{name}-data")
}

/// The shaping fields of a config, as recorded in the state.
fn recorded(config: &Value) -> Value {
    SHAPING
        .iter()
        .filter_map(|f| Some((f.to_string(), config.get(*f)?.clone())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// What a replace changes, for `clockwork plan`.
fn diff(prior: Option<&Value>, desired: &Value) -> Vec<FieldChange> {
    let change = |path: &str, old: Option<&Value>, new: Option<&Value>| FieldChange {
        path: path.into(),
        old: old.map(Value::to_string),
        new: new.map(Value::to_string),
        forces_replace: true,
    };
    let whole = || vec![change("/", None, None)];
    let Some(old) = prior.map(|p| &p["fields"]).filter(|f| f.is_object()) else {
        return whole();
    };
    let changes: Vec<FieldChange> = SHAPING
        .iter()
        .filter(|f| old.get(**f) != desired.get(**f))
        .map(|f| change(&format!("/{f}"), old.get(*f), desired.get(*f)))
        .collect();
    // Nothing recorded differs, so what changed is not recorded: the
    // password, or the project's network.
    if changes.is_empty() { whole() } else { changes }
}

/// Why a container with the right config still needs the host: it is not
/// running, or it restarted since the last apply. A crash loop looks
/// "running" between two restarts; only the recorded count gives it away.
fn trouble(observed: &Value, prior: Option<&Value>) -> Option<FieldChange> {
    let change = |path: &str, old: String, new: String| FieldChange {
        path: path.into(),
        old: Some(old),
        new: Some(new),
        forces_replace: false,
    };
    if observed["running"] != true || observed["restarting"] == true {
        return Some(change("/running", "false".into(), "true".into()));
    }
    let restarts = observed["restart_count"].as_i64().unwrap_or(0);
    let recorded = prior.and_then(|p| p["restart_count"].as_i64()).unwrap_or(0);
    (restarts > recorded)
        .then(|| change("/restart_count", recorded.to_string(), restarts.to_string()))
}

export_resource_plugin!(Postgres);
