//! `AppleContainerResource`: a container run by Apple's `container` runtime
//! on macOS.
//!
//! It takes the same fields as `DockerResource` minus `restart_policy` and
//! `healthcheck`, which the `container` runtime does not have, and plans
//! them into `ext("apple-container", …)` actions that the host's driver
//! runs with Apple's `container` CLI on macOS. Elsewhere the host refuses
//! them at `plan`, at the declaration.

use clockwork_sdk::clockwork_schema::ContributionKind;
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{ActionResult, Change, ChangePlan, PlanInput};

/// The `apple-container-resource` plugin.
pub struct AppleContainerResource;

impl ResourcePlugin for AppleContainerResource {
    fn meta() -> PluginMeta {
        plugin_meta!("containers run by Apple's `container` runtime on macOS")
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(apple_container_resource())]
    }

    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        plan(&input)
    }

    fn settle(
        _input: PlanInput,
        plan: ChangePlan,
        _results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        Ok(if matches!(plan.change, Change::Delete) {
            Value::Null.to_string()
        } else {
            plan.planned_state
        })
    }
}

const DRIVER: &str = "apple-container";

/// The container the declaration asks for, as the driver takes it.
fn spec(name: &str, config: &Value) -> Result<Value, PluginError> {
    let image = config["image"]
        .as_str()
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| {
            clockwork_sdk::invalid(
                Some("/image"),
                "`image` is needed: the OCI image to run, e.g. `nginx:alpine`",
            )
        })?;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    // Mounts arrive as the host's `{"source", "target", "read_only"}` or as
    // the `source:target[:ro]` users write.
    let volumes: Vec<String> = config["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| match v {
            Value::String(text) => Some(text.clone()),
            Value::Object(m) => Some(format!(
                "{}:{}{}",
                m.get("source")?.as_str()?,
                m.get("target")?.as_str()?,
                if m.get("read_only").and_then(Value::as_bool) == Some(true) {
                    ":ro"
                } else {
                    ""
                }
            )),
            _ => None,
        })
        .collect();
    // Clockwork's own labels say what project owns a container; the host
    // refuses them too.
    if let Some(key) = config["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| k.starts_with("dev.clockwork."))
    {
        return Err(clockwork_sdk::invalid(
            Some(&format!(
                "/labels/{}",
                key.replace('~', "~0").replace('/', "~1")
            )),
            format!(
                "`labels[\"{key}\"]`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container"
            ),
        ));
    }
    // `container run --entrypoint` takes one program; the rest of the
    // entrypoint goes in front of the command, which is what the runtime
    // runs anyway (entrypoint, then command).
    let entrypoint = config
        .get("entrypoint")
        .filter(|e| e.is_array())
        .map(strings);
    if entrypoint.as_ref().is_some_and(Vec::is_empty) {
        return Err(clockwork_sdk::invalid(
            Some("/entrypoint"),
            "`entrypoint = []` (no entrypoint at all) cannot be said to Apple's `container run`: name the program, or leave `entrypoint` out for the image's",
        ));
    }
    let mut spec = json!({
        "name": config["name"].as_str().unwrap_or(name),
        "image": image,
        "env": config["env_vars"],
        "ports": strings(&config["ports"]),
        "volumes": volumes,
        "networks": strings(&config["networks"]),
        "command": config["command"],
    });
    // Left out when unset, so a declaration that uses neither plans as it
    // did before they existed (its recorded spec compares equal).
    if let Some(entrypoint) = entrypoint {
        spec["entrypoint"] = json!(entrypoint);
    }
    if config["labels"].as_object().is_some_and(|l| !l.is_empty()) {
        spec["labels"] = config["labels"].clone();
    }
    Ok(spec)
}

fn ext(op: &str, payload: &Value) -> Action {
    Action::Ext((DRIVER.into(), op.into(), payload.to_string()))
}

fn plan(input: &PlanInput) -> Result<ChangePlan, PluginError> {
    let name = &input.target.name;
    let prior = input.prior_json()?.filter(|p| !p.is_null());
    let Some(desired) = input.desired_json()? else {
        return Ok(match prior {
            Some(p) => ChangePlan {
                change: Change::Delete,
                diff: Vec::new(),
                actions: vec![ext("delete", &json!({"name": p["spec"]["name"]}))],
                planned_state: Value::Null.to_string(),
            },
            None => ChangePlan::unchanged(&Value::Null),
        });
    };
    let spec = spec(name, &desired)?;
    let state = json!({"spec": spec});
    let run = ext("run", &spec);
    Ok(match prior {
        None => ChangePlan {
            change: Change::Create,
            diff: Vec::new(),
            actions: vec![run],
            planned_state: state.to_string(),
        },
        Some(p) if p["spec"] == spec => ChangePlan::unchanged(&state),
        Some(p) => {
            let old = p["spec"].as_object().cloned().unwrap_or_default();
            let diff = spec
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| old.get(*k) != Some(*v))
                .map(|(k, v)| FieldChange {
                    path: format!("/{k}"),
                    old: old.get(k).map(Value::to_string),
                    new: Some(v.to_string()),
                    forces_replace: true,
                })
                .collect();
            ChangePlan {
                change: Change::Replace,
                diff,
                actions: vec![ext("delete", &json!({"name": p["spec"]["name"]})), run],
                planned_state: state.to_string(),
            }
        }
    })
}

fn apple_container_resource() -> TypeDef {
    TypeDef::new(
        "AppleContainerResource",
        "A container run by Apple's `container` runtime on macOS, created from an OCI image and kept running. \
         Each container runs in its own lightweight virtual machine. The fields and their meaning are those of \
         `DockerResource`, minus `restart_policy` and `healthcheck`, which this runtime does not have. Its `name` \
         is the container's name, and other containers on a shared network reach it by that name.\n\n\
         Fields you leave out that are marked completable (`image`, `env_vars`, …) are filled by completion \
         from `description`; what you write always wins. Connections add environment variables, networks and \
         mounts, as for `DockerResource`. Deploying needs macOS with Apple's `container` tool, which the host's \
         driver runs (`container run --detach --name …`); elsewhere `plan` refuses the declaration before anything \
         is done and says that `DockerResource` takes the same fields.\n\n\
         Changing a field that forces a replace (`image`, `ports`, `env_vars`, `volumes`, `networks`, `command`, \
         `entrypoint`, `labels`) removes the container and creates it again; data survives only in volumes.",
    )
    .field(fields::name().completable())
    .field(fields::description())
    .fields(image_and_ports())
    .fields(environment_mounts_and_networks())
    .fields(process())
    .field(fields::connections())
    .field(fields::assertions())
}

/// The image and the ports published on this machine.
fn image_and_ports() -> Vec<Field> {
    vec![
        Field::new(
            "image",
            "string",
            "The OCI image to run, as `repository:tag` (or pinned with `@sha256:…`), e.g. `nginx:alpine`. \
             It is pulled only when missing locally. Needed to deploy: when left out, completion picks an image that \
             fits `description`.",
        )
        .completable()
        .forces_replace()
        .example(json!("nginx:alpine"))
        .example(json!("postgres:15-alpine")),
        Field::new(
            "ports",
            "list<port>",
            "Ports to publish on this machine, each `\"host:container\"` or `\"container\"`. \
             `\"8080:80\"` makes the container's port 80 reachable on port 8080 of this machine; `\"80\"` publishes \
             port 80 on a free port the runtime picks. Append `/udp` for a UDP port; TCP is the default. Never \
             completed: a port on this machine is published only when you write it here; left out, nothing is \
             published.",
        )
        .forces_replace()
        .example(json!(["8080:80", "8443:443"]))
        .example(json!(["5432:5432"])),
    ]
}

/// The environment, the mounts and the networks joined.
fn environment_mounts_and_networks() -> Vec<Field> {
    vec![
        Field::new(
            "env_vars",
            "map<string>",
            "Environment variables of the container, name to value. \
             Connections add their own (`DATABASE_URL`, `REDIS_HOST`, `API_URL`); a variable you set here wins over \
             a connection's.",
        )
        .default(json!({}))
        .completable()
        .forces_replace()
        .receives(ContributionKind::Environment)
        .example(json!({"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin"})),
        Field::new(
            "volumes",
            "list<mount>",
            "Mounts, each `\"source:target\"`, or `\"source:target:ro\"` for a read-only mount. \
             A source starting with `.` or `/` is a path on this machine (relative paths are relative to the project \
             folder, and paths outside it are refused unless policy allows them); any other source is a named volume \
             of this project, created when missing. A `FileConnection` adds its mount here.",
        )
        .default(json!([]))
        .completable()
        .forces_replace()
        .receives(ContributionKind::Mounts)
        .example(json!(["pgdata:/var/lib/postgresql/data"]))
        .example(json!(["./site:/usr/share/nginx/html:ro"])),
        Field::new(
            "networks",
            "list<string>",
            "Networks of this project to join, by name. \
             Containers on a shared network reach each other by `name`. A `NetworkConnection` creates its network \
             and adds it here for both of its endpoints.",
        )
        .default(json!([]))
        .completable()
        .forces_replace()
        .receives(ContributionKind::Networks)
        .example(json!(["backend-network"])),
    ]
}

/// What runs in the container, its labels, and whether it must keep running.
fn process() -> Vec<Field> {
    vec![
        Field::new(
            "command",
            "list<string>",
            "The command to run instead of the image's default, as a list of arguments. \
             No shell is involved: to use shell syntax, name the shell (`[\"sh\", \"-c\", \"…\"]`). Left out, the \
             image's own command runs. Never completed, as for a `DockerResource`: a guessed command is the surest \
             way to a container that does not start.",
        )
        .forces_replace()
        .example(json!(["redis-server", "--appendonly", "yes"])),
        Field::new(
            "entrypoint",
            "list<string>",
            "The program to run instead of the image's entrypoint, as a list of arguments, with `command` appended \
             (`container run --entrypoint` takes its first item; the others go in front of `command`). Left out, \
             the image's own entrypoint runs.",
        )
        .forces_replace()
        .example(json!(["/docker-entrypoint.sh"])),
        Field::new(
            "labels",
            "map<string>",
            "Labels on the container, key to value (`container run --label`). Keys starting with `dev.clockwork.` \
             are Clockwork's own and are refused.",
        )
        .default(json!({}))
        .forces_replace()
        .example(json!({"com.example.role": "frontend"})),
        Field::new(
            "must_run",
            "bool",
            "Whether the container must keep running. \
             `true`: `apply` starts it and waits until it runs, and `status` reports a stopped container as drift. \
             `false`: `apply` starts it once and accepts that it exits, for one-shot jobs such as a data import.",
        )
        .default(json!(true)),
    ]
}

export_resource_plugin!(AppleContainerResource);

#[cfg(test)]
mod plan_tests {
    use super::*;
    use clockwork_sdk::ResourceRef;

    fn input(desired: Option<Value>, prior: Option<Value>) -> PlanInput {
        PlanInput {
            target: ResourceRef {
                type_name: "AppleContainerResource".into(),
                name: "web".into(),
            },
            desired: desired.map(|d| d.to_string()),
            prior: prior.map(|p| p.to_string()),
            observed: None,
            project: json!({"name": "shop"}).to_string(),
        }
    }

    #[test]
    fn plans_run_replace_and_delete_for_the_driver() {
        let config =
            json!({"image": "nginx:alpine", "ports": ["8080:80"], "env_vars": {"MODE": "x"}});
        let created = plan(&input(Some(config.clone()), None)).expect("plan");
        assert!(matches!(created.change, Change::Create));
        let Action::Ext((driver, op, payload)) = &created.actions[0] else {
            panic!("{:?}", created.actions);
        };
        assert_eq!((driver.as_str(), op.as_str()), ("apple-container", "run"));
        assert!(payload.contains("\"ports\":[\"8080:80\"]"), "{payload}");
        let state: Value =
            clockwork_sdk::serde_json::from_str(&created.planned_state).expect("state");
        let same = plan(&input(Some(config.clone()), Some(state.clone()))).expect("plan");
        assert!(matches!(same.change, Change::None));
        let mut other = config.clone();
        other["image"] = json!("nginx:1.27");
        let replaced = plan(&input(Some(other), Some(state.clone()))).expect("plan");
        assert!(matches!(replaced.change, Change::Replace));
        assert_eq!(replaced.diff[0].path, "/image");
        let deleted = plan(&input(None, Some(state))).expect("plan");
        assert!(matches!(deleted.change, Change::Delete));
        assert!(plan(&input(Some(json!({})), None)).is_err(), "no image");
    }

    #[test]
    fn entrypoint_and_labels_reach_the_driver_and_force_a_replace() {
        let config = json!({"image": "nginx:alpine"});
        let plain = spec("web", &config).expect("spec");
        assert!(plain.get("entrypoint").is_none() && plain.get("labels").is_none());
        let state = json!({"spec": plain});
        let mut labelled = config.clone();
        labelled["labels"] = json!({"com.example.role": "web"});
        labelled["entrypoint"] = json!(["/bin/sh", "-c"]);
        let replaced = plan(&input(Some(labelled), Some(state))).expect("plan");
        assert!(matches!(replaced.change, Change::Replace));
        let paths: Vec<&str> = replaced.diff.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["/entrypoint", "/labels"]);
        let mut forged = config.clone();
        forged["labels"] = json!({"dev.clockwork.project": "x"});
        let Err(PluginError::InvalidConfig(problems)) = plan(&input(Some(forged), None)) else {
            panic!("a `dev.clockwork.` label was accepted");
        };
        assert_eq!(
            problems[0].path.as_deref(),
            Some("/labels/dev.clockwork.project")
        );
        let mut none = config;
        none["entrypoint"] = json!([]);
        assert!(plan(&input(Some(none), None)).is_err(), "`[]` refused");
    }
}

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <AppleContainerResource as ResourcePlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().map(|t| t.def).expect("one type")
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "AppleContainerResource");
        assert_eq!(def.schema().problems(), vec![]);
    }

    #[test]
    fn keeps_the_original_fields() {
        let def = the_type();
        let schema = def.schema();
        for name in [
            "name",
            "description",
            "image",
            "ports",
            "env_vars",
            "volumes",
            "networks",
            "command",
            "entrypoint",
            "labels",
            "must_run",
            "connections",
            "assertions",
        ] {
            assert!(schema.field(name).is_some(), "missing field `{name}`");
        }
        assert!(
            schema.field("restart_policy").is_none(),
            "the `container` runtime has no restart policy"
        );
        let name = schema.field("name").and_then(|f| f.parsed_type());
        assert_eq!(name, Some(ValueType::String));
    }

    #[test]
    fn container_fields_force_a_replace() {
        let def = the_type();
        let schema = def.schema();
        for name in [
            "image", "ports", "env_vars", "volumes", "networks", "command",
        ] {
            let field = schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"));
            assert!(field.forces_replace, "`{name}` should force a replace");
            assert_eq!(
                field.completable,
                !matches!(name, "ports" | "command"),
                "`{name}`: every container field but `ports` and `command` is completable"
            );
        }
        assert_eq!(schema.field("ports").and_then(|f| f.default.clone()), None);
        assert_eq!(
            schema.field("ports").map(|f| f.value_type.as_str()),
            Some("list<port>")
        );
    }
}
