//! `DockerResource`: a container run by the local Docker Engine.
//!
//! The type's fields and their docs, its completion rules, its plan (the
//! container spec for the host's `ensure-container`, and when to recreate
//! it), its settled state and its status for `clockwork watch`.

mod check;
mod image;
mod plan;
mod rules;

use clockwork_sdk::clockwork_schema::ContributionKind;
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{
    ActionResult, ChangePlan, CompletionInput, PlanInput, StatusReport, Suggestion,
};

/// The `docker-resource` plugin.
pub struct DockerResource;

impl ResourcePlugin for DockerResource {
    fn meta() -> PluginMeta {
        plugin_meta!("Docker containers")
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(docker_resource())]
    }

    fn complete_rules(input: CompletionInput) -> Result<Vec<Suggestion>, PluginError> {
        Ok(rules::complete(&input))
    }

    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        plan::plan(&input)
    }

    fn settle(
        input: PlanInput,
        plan: ChangePlan,
        results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        plan::settle(&input, &plan, &results)
    }

    fn status(
        _target: ResourceRef,
        state: clockwork_sdk::serde_json::Value,
        observed: Option<clockwork_sdk::serde_json::Value>,
    ) -> Result<StatusReport, PluginError> {
        Ok(plan::status(&state, observed.as_ref()))
    }

    fn validate(type_name: &str, _name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        let def = docker_resource();
        clockwork_sdk::validate::with_checks(Some(def.schema()), type_name, config, check::check)
    }
}

fn docker_resource() -> TypeDef {
    TypeDef::new(
        "DockerResource",
        "A Docker container, created from an image and kept running. \
         Its `name` is the container's name, and other containers on a shared network reach it by that name on the \
         container-side port (`postgres-db:5432`).\n\n\
         Fields you leave out that are marked completable (`image`, `env_vars`, `healthcheck`, …) are filled by completion: \
         deterministic rules first, then the AI where one is configured, guided by `description`. What you write always \
         wins. Connections add to the container's configuration: a `DatabaseConnection` sets `DATABASE_URL`, a \
         `NetworkConnection` adds a network and `<NAME>_HOST` variables, a `FileConnection` adds a mount.\n\n\
         Changing a field that forces a replace (`image`, `ports`, `env_vars`, `volumes`, `networks`, `command`, \
         `entrypoint`, `labels`, `healthcheck`) removes the container and creates it again; data survives only in \
         volumes.",
    )
    .field(fields::name().completable())
    .field(fields::description())
    .fields(image_and_ports())
    .fields(environment_and_mounts())
    .fields(network_names())
    .fields(process())
    .fields(lifecycle())
    .fields(on_a_swarm())
    .field(fields::connections())
    .field(fields::assertions())
}

/// The image and the ports published on this machine.
fn image_and_ports() -> Vec<Field> {
    vec![
        Field::new(
            "image",
            "string",
            "The image to run, as `repository:tag` (or pinned with `@sha256:…`), e.g. `postgres:15-alpine`. \
             It is pulled only when missing locally. Needed to deploy: when left out, completion picks an image that \
             fits `description`.",
        )
        .completable()
        .forces_replace()
        .example(json!("postgres:15-alpine"))
        .example(json!("redis:7-alpine"))
        .example(json!("nginx:alpine")),
        Field::new(
            "ports",
            "list<port>",
            "Ports to publish on this machine, each `\"host:container\"` or `\"container\"`. \
             `\"8080:80\"` makes the container's port 80 reachable on port 8080 of this machine; `\"80\"` publishes \
             port 80 on a free port that Docker picks. Append `/udp` for a UDP port (`\"5353:53/udp\"`); TCP is the \
             default. Other containers do not need published ports: they reach this one by `name` on the container \
             port. Never completed: a port on this machine is published only when you write it here, so neither a \
             model nor a lock file can open one; left out, nothing is published.",
        )
        .forces_replace()
        .example(json!(["5432:5432"]))
        .example(json!(["8080:80", "8443:443"]))
        .example(json!(["8000"])),
    ]
}

/// The environment and the mounts, which connections add to.
fn environment_and_mounts() -> Vec<Field> {
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
        .example(json!({"POSTGRES_DB": "appdb", "POSTGRES_USER": "admin"}))
        .example(json!({"LOG_LEVEL": "info"})),
        Field::new(
            "volumes",
            "list<mount>",
            "Mounts, each `\"source:target\"`, or `\"source:target:ro\"` for a read-only mount. \
             A source starting with `.` or `/` is a path on this machine (a bind mount; relative paths are relative \
             to the project folder, and paths outside it are refused unless policy allows them). Any other source is \
             a named volume of this project, created when missing: `\"pgdata:/var/lib/postgresql/data\"` keeps a \
             database's data across replacements. A `FileConnection` adds its mount here.",
        )
        .default(json!([]))
        .completable()
        .forces_replace()
        .receives(ContributionKind::Mounts)
        .example(json!(["pgdata:/var/lib/postgresql/data"]))
        .example(json!(["./nginx.conf:/etc/nginx/nginx.conf:ro"])),
    ]
}

/// The networks joined and the names reached by on them.
fn network_names() -> Vec<Field> {
    vec![
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
        Field::new(
            "aliases",
            "list<string>",
            "Extra names other containers reach this one by, on every network it joins, besides its `name`. \
             Connections may add their own.",
        )
        .default(json!([]))
        .forces_replace()
        .receives(ContributionKind::Aliases)
        .example(json!(["db", "primary"])),
    ]
}

/// What runs in the container, and its labels.
fn process() -> Vec<Field> {
    vec![
        Field::new(
            "command",
            "list<string>",
            "The command to run instead of the image's default `CMD`, as a list of arguments. \
             No shell is involved: to use shell syntax, name the shell (`[\"sh\", \"-c\", \"…\"]`). Left out, the \
             image's own command runs. Never completed: a guessed command is the surest way to a container \
             that does not start, and the image's own is almost always the one meant.",
        )
        .forces_replace()
        .example(json!(["redis-server", "--appendonly", "yes"]))
        .example(json!(["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"])),
        Field::new(
            "entrypoint",
            "list<string>",
            "The program to run instead of the image's `ENTRYPOINT`, as a list of arguments. \
             `command` is appended to it; when `command` is left out, nothing is (Docker drops the image's `CMD` \
             along with its entrypoint). `[]` runs no entrypoint at all: only `command`, or the image's `CMD`. No \
             shell is involved. Left out, the image's own entrypoint runs. Never completed, for the same reason as \
             `command`.",
        )
        .forces_replace()
        .example(json!(["/docker-entrypoint.sh"]))
        .example(json!(["sh", "-c"])),
        Field::new(
            "labels",
            "map<string>",
            "Docker labels on the container, key to value, e.g. for tools that read them (a reverse proxy, a log \
             collector). Labels are fixed when a container is made, so a change replaces it. Keys starting with \
             `dev.clockwork.` are Clockwork's own, which say what project owns a container, and are refused.",
        )
        .default(json!({}))
        .forces_replace()
        .example(json!({"com.example.role": "frontend"}))
        .example(json!({"traefik.http.routers.web.rule": "Host(`web.localhost`)"})),
    ]
}

/// What only a swarm (`[target] engine = "swarm"`) does with it.
fn on_a_swarm() -> Vec<Field> {
    vec![
        Field::new(
            "replicas",
            "int",
            "On a swarm: how many tasks of the service run it, spread over the nodes its `placement` allows. \
             The local Engine runs one container: any other count is refused there.",
        )
        .default(json!(1))
        .example(json!(3)),
        Field::new(
            "placement",
            "list<string>",
            "On a swarm: where its tasks may run, as constraints in Docker's words, e.g. `node.role==worker` or \
             `node.hostname!=db-host`; all must hold. Refused by the local Engine.",
        )
        .default(json!([]))
        .example(json!(["node.role==worker"])),
    ]
}

/// Restarts, whether it must keep running, and its health check.
fn lifecycle() -> Vec<Field> {
    vec![
        Field::new(
            "restart_policy",
            "enum<no|always|on-failure|unless-stopped>",
            "What Docker does when the container's process exits. \
             `no` never restarts it, `always` always does, `on-failure` only after a non-zero exit, and \
             `unless-stopped` always does unless you stopped the container yourself. \
             Left out: `unless-stopped`, or `no` when `must_run=False` (a one-shot job is not restarted).",
        )
        .example(json!("on-failure")),
        Field::new(
            "must_run",
            "bool",
            "Whether the container must keep running. \
             `true`: `apply` starts it and waits until it runs, and `status` reports a stopped container as drift. \
             `false`: `apply` starts it once and accepts that it exits, for one-shot jobs such as a data import.",
        )
        .default(json!(true)),
        Field::new(
            "healthcheck",
            "map<any>",
            "How Docker checks that the service inside the container works, as a dict. \
             Keys: `test` (required; the check, in Docker's form `[\"CMD\", \"program\", \"arg\", …]` or \
             `[\"CMD-SHELL\", \"shell command\"]`, or `[\"NONE\"]` to turn off the image's own check), \
             `interval_seconds` (time between checks, default 1), `timeout_seconds` (how long one check may take, \
             default 3), `retries` (failures in a row before the container counts as unhealthy, default 10) and \
             `start_period_seconds` (time after start during which failures do not count, default 0). \
             Left out (`{}`), the image's own `HEALTHCHECK` applies, if it has one; the rules give a well-known \
             service its readiness check, and a model is never asked for one (a wrong guess would hold every \
             apply at an unhealthy container). `ContainerHealthyAssert` and connections that wait for this \
             container use the result.",
        )
        .default(json!({}))
        .completable()
        .forces_replace()
        .example(json!({
            "test": ["CMD", "pg_isready", "-U", "admin", "-d", "appdb"],
            "interval_seconds": 5,
            "timeout_seconds": 3,
            "retries": 10
        }))
        .example(json!({"test": ["CMD-SHELL", "wget -qO- http://localhost/ || exit 1"]})),
    ]
}

export_resource_plugin!(DockerResource);

#[cfg(test)]
mod tests {
    #[test]
    fn validate_reports_every_bad_port_mount_and_name() {
        let config = json!({
            "image": "nginx:alpine",
            "ports": ["8080:80", "80:http", "70000"],
            "volumes": ["data:/var/lib", "relative/target", "./x:/y:rx"],
            "env_vars": {"GOOD_NAME": "1", "1BAD": "2"},
        });
        let problems = <super::DockerResource as ResourcePlugin>::validate(
            "DockerResource",
            "web",
            &config.to_string(),
        )
        .unwrap_err();
        let paths: Vec<Option<&str>> = problems.iter().map(|d| d.path.as_deref()).collect();
        assert_eq!(
            paths,
            [
                Some("/ports/1"),
                Some("/ports/2"),
                Some("/volumes/1"),
                Some("/volumes/2"),
                Some("/env_vars/1BAD")
            ]
        );
        assert!(
            problems[0].summary.starts_with(
                "`80:http` is not a port mapping: container port `http` is not a number"
            )
        );
        let fine = json!({"image": "nginx:alpine", "ports": ["127.0.0.1:8080:80/tcp"]});
        let normalised = <super::DockerResource as ResourcePlugin>::validate(
            "DockerResource",
            "web",
            &fine.to_string(),
        )
        .unwrap();
        // Left out, the restart policy follows `must_run` (see `plan`).
        assert!(!normalised.contains("restart_policy"), "{normalised}");
    }

    #[test]
    fn validate_reports_images_nul_bytes_networks_ports_and_mounts() {
        let config = json!({
            "image": "Nginx:alpine",
            "ports": ["8080:80", "8080:81"],
            "volumes": ["~/data:/data", "../../etc:/etc/host", "./a/../b:/b", "./site:/"],
            "env_vars": {"TOKEN": "abc\u{0}def"},
            "networks": ["host", ""],
            "command": ["serve", "\u{0}"],
        });
        let problems = <super::DockerResource as ResourcePlugin>::validate(
            "DockerResource",
            "web",
            &config.to_string(),
        )
        .unwrap_err();
        let found: Vec<(Option<&str>, &str)> = problems
            .iter()
            .map(|d| (d.path.as_deref(), d.summary.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Some("/image"),
                    "`Nginx:alpine` is not a valid image name: repository names are lower-case; did you mean `nginx:alpine`?"
                ),
                (
                    Some("/ports/1"),
                    "host port 8080/tcp is already published by `ports[0]`; give one of them another host port"
                ),
                (
                    Some("/volumes/0"),
                    "`~` is not expanded: use a path relative to the project folder (`./data`) or an absolute path"
                ),
                (
                    Some("/volumes/1"),
                    "`../../etc` leaves the project folder; bind mounts are relative to it"
                ),
                (
                    Some("/volumes/3"),
                    "`./site:/` mounts over `/` of the container: give a folder inside it, e.g. `/data`"
                ),
                (
                    Some("/env_vars/TOKEN"),
                    "`env_vars[\"TOKEN\"]` contains a NUL byte, which environment variables cannot hold"
                ),
                (
                    Some("/networks/0"),
                    "`host` is a reserved Docker network and cannot be joined; declare a network of the project instead, e.g. `backend`"
                ),
                (
                    Some("/networks/1"),
                    "`networks[1]` is empty: give the name of a network of the project, e.g. `backend`"
                ),
                (
                    Some("/command/1"),
                    "`command[1]` contains a NUL byte, which command arguments cannot hold"
                ),
            ]
        );
        let forged = json!({"image": "nginx:alpine", "labels": {"dev.clockwork.project": "x"}});
        let problems = <super::DockerResource as ResourcePlugin>::validate(
            "DockerResource",
            "web",
            &forged.to_string(),
        )
        .unwrap_err();
        assert_eq!(
            problems[0].path.as_deref(),
            Some("/labels/dev.clockwork.project")
        );
        let empty = json!({"image": ""});
        let problems = <super::DockerResource as ResourcePlugin>::validate(
            "DockerResource",
            "web",
            &empty.to_string(),
        )
        .unwrap_err();
        assert_eq!(
            problems[0].summary,
            "`image` is empty: give the image to run, e.g. \"nginx:alpine\""
        );
        for image in ["localhost:5000/x:1", "127.0.0.1:5999/img"] {
            let fine = json!({"image": image, "ports": ["8080:80", "8081:80", "80", "80"]});
            <super::DockerResource as ResourcePlugin>::validate(
                "DockerResource",
                "web",
                &fine.to_string(),
            )
            .unwrap_or_else(|e| panic!("{image}: {e:?}"));
        }
    }

    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <DockerResource as ResourcePlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().map(|t| t.def).expect("one type")
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "DockerResource");
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
            "restart_policy",
            "must_run",
            "healthcheck",
            "connections",
            "assertions",
        ] {
            assert!(schema.field(name).is_some(), "missing field `{name}`");
        }
        let name = schema.field("name").and_then(|f| f.parsed_type());
        assert_eq!(name, Some(ValueType::String));
    }

    #[test]
    fn defaults_and_flags_match_the_contract() {
        let def = the_type();
        let schema = def.schema();
        let field = |name: &str| {
            schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"))
        };
        // Left out, it follows `must_run` (see `plan`).
        assert_eq!(field("restart_policy").default_value(), None);
        assert_eq!(field("must_run").default_value(), Some(json!(true)));
        assert_eq!(field("env_vars").default_value(), Some(json!({})));
        assert_eq!(field("labels").default_value(), Some(json!({})));
        assert_eq!(field("ports").default, None);
        // Only a port the user wrote is published: the host grants host
        // ports to `port` values of the user's own fields.
        assert_eq!(field("ports").value_type, "list<port>");
        // Left out, the image's own entrypoint runs.
        assert_eq!(field("entrypoint").default, None);
        for name in [
            "image",
            "ports",
            "env_vars",
            "volumes",
            "networks",
            "command",
            "entrypoint",
            "labels",
        ] {
            assert!(
                field(name).forces_replace,
                "`{name}` should force a replace"
            );
            assert_eq!(
                field(name).completable,
                !matches!(name, "command" | "entrypoint" | "labels" | "ports"),
                "`{name}`: `command`, `entrypoint`, `labels` and `ports` are never completed"
            );
        }
        assert_eq!(
            field("labels").parsed_type(),
            Some(ValueType::Map(Box::new(ValueType::String)))
        );
        assert!(!field("restart_policy").forces_replace);
    }
}
