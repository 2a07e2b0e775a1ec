//! `ServiceMeshConnection`: service discovery between containers.
//!
//! The connection tells the connecting service the URL of another and adds a
//! health check for it. With `tls_enabled`, it asks the host for a
//! certificate (an `ext("tls", "issue", …)` step: the host makes a CA for
//! the project and a certificate for the service before either end
//! deploys) and mounts the certificate and key in the service and the CA
//! in its client.

use clockwork_sdk::connection::{AssertionDecl, Mount, MountSource, RunWhen, SetupStep};
use clockwork_sdk::prelude::*;
use clockwork_sdk::{clockwork_schema, error_at, invalid};

/// The `service-mesh-connection` plugin.
pub struct ServiceMeshConnection;

impl ConnectionPlugin for ServiceMeshConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("service discovery: service URLs and health checks")
    }

    fn types() -> Vec<TypeDef> {
        vec![service_mesh_connection()]
    }

    /// The schema's checks, then the port's range and the paths, so that
    /// `clockwork plan` reports them at the declaration.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::connection::validate_with::<Self>(type_name, config, check)
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config = input.config_json()?;
        let problems = check(&config);
        if !problems.is_empty() {
            return Err(PluginError::InvalidConfig(problems));
        }
        let to = input.to_resource.config_json()?;
        let service = config["service_name"]
            .as_str()
            .unwrap_or(&input.to_resource.target.name)
            .to_string();
        let port = match config["port"].as_u64() {
            Some(port) => port,
            None => clockwork_schema::first_container_port(&to["ports"])
                .map(u64::from)
                .ok_or_else(|| {
                    invalid(
                        Some("/port"),
                        format!(
                            "cannot discover the port of `{}`: it has no `ports`; set `port=`",
                            input.to_resource.target.name
                        ),
                    )
                })?,
        };
        let tls = config["tls_enabled"].as_bool().unwrap_or(false);
        let protocol = match config["protocol"].as_str().unwrap_or("http") {
            "http" if tls => "https",
            other => other,
        };
        let url = format!("{protocol}://{service}:{port}");
        let variable = format!("{}_URL", clockwork_schema::env_prefix(&service));
        let mut contribution = Contribution::ordering_only();
        // Clockwork makes the certificate unless the user brought one.
        let generated = tls && (config["cert_path"].is_null() || config["key_path"].is_null());
        if tls {
            let target_name = &input.to_resource.target.name;
            let (cert, key) = if generated {
                let mut hosts = vec![service.clone()];
                if *target_name != service {
                    hosts.push(target_name.clone());
                }
                contribution.setup.push(SetupStep {
                    id: format!("tls-{service}"),
                    when: RunWhen::EveryApply,
                    after: Vec::new(),
                    action: Action::Ext((
                        "tls".into(),
                        "issue".into(),
                        json!({"service": service, "hosts": hosts}).to_string(),
                    )),
                });
                contribution
                    .from_patch
                    .mounts
                    .push(mount("./.clockwork/tls/ca.pem".into(), TLS_CA));
                contribution.from_patch.env.push((
                    format!("{}_CA_FILE", clockwork_schema::env_prefix(&service)),
                    TLS_CA.into(),
                ));
                (
                    format!("./.clockwork/tls/{service}/cert.pem"),
                    format!("./.clockwork/tls/{service}/key.pem"),
                )
            } else {
                let path = |field: &str| {
                    format!(
                        "./{}",
                        config[field]
                            .as_str()
                            .unwrap_or_default()
                            .trim_start_matches("./")
                    )
                };
                (path("cert_path"), path("key_path"))
            };
            contribution.to_patch.mounts.push(mount(cert, TLS_CERT));
            contribution.to_patch.mounts.push(mount(key, TLS_KEY));
            contribution
                .to_patch
                .env
                .push(("TLS_CERT_FILE".into(), TLS_CERT.into()));
            contribution
                .to_patch
                .env
                .push(("TLS_KEY_FILE".into(), TLS_KEY.into()));
        }
        contribution
            .from_patch
            .env
            .push((variable.clone(), url.clone()));
        contribution.outputs.push((variable, url.clone()));
        // The host's probes trust the CA it made for the project, so a
        // certificate Clockwork made passes the check as it should.
        if let Some(path) = config["health_check_path"].as_str()
            && matches!(protocol, "http" | "https")
        {
            contribution.assertions.push(AssertionDecl {
                type_name: "HealthcheckAssert".into(),
                config: json!({"url": format!("{url}{path}")}).to_string(),
                target: Some(input.to_resource.target.clone()),
            });
        }
        Ok(contribution)
    }
}

/// Where a service finds its certificate and key, and its client the CA.
const TLS_CERT: &str = "/etc/clockwork/tls/cert.pem";
const TLS_KEY: &str = "/etc/clockwork/tls/key.pem";
const TLS_CA: &str = "/etc/clockwork/tls/ca.pem";

fn mount(source: String, target: &str) -> Mount {
    Mount {
        source: MountSource::Bind(source),
        target: target.into(),
        read_only: true,
    }
}

/// What the schema's types cannot say: the port's range, the health
/// check's path, and certificate paths that stay in the project folder.
fn check(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(port) = config.get("port").filter(|p| !p.is_null())
        && !port.as_u64().is_some_and(|p| (1..=65535).contains(&p))
    {
        problems.push(error_at(
            Some("/port"),
            format!("`port` must be between 1 and 65535, got {port}"),
        ));
    }
    if let Some(path) = config["health_check_path"].as_str()
        && !path.starts_with('/')
    {
        problems.push(error_at(
            Some("/health_check_path"),
            format!("`health_check_path` must start with `/`: did you mean `/{path}`?"),
        ));
    }
    for (field, example) in [
        ("cert_path", "certs/api.pem"),
        ("key_path", "certs/api-key.pem"),
    ] {
        if let Some(path) = config[field].as_str()
            && let Err(message) =
                clockwork_sdk::clockwork_schema::check_project_path(field, path, example)
        {
            problems.push(error_at(Some(&format!("/{field}")), message));
        }
    }
    problems
}

fn service_mesh_connection() -> TypeDef {
    TypeDef::new(
        "ServiceMeshConnection",
        "Service discovery: tells the connecting service the URL of `to_resource`, and checks that it answers. \
         The URL is `<protocol>://<service_name>:<port>`, set in the connecting container as `<SERVICE>_URL`, where \
         `<SERVICE>` is `service_name` upper-cased with `-` turned into `_`. Connecting `frontend` to `api` with \
         `ports=[\"8000:8000\"]` sets `API_URL=http://api:8000` in `frontend`. A variable you set yourself in \
         `env_vars` wins.\n\n\
         For `http` and `https`, the connection also adds a `HealthcheckAssert` on \
         `<protocol>://<service_name>:<port><health_check_path>`, run by `clockwork assert`. The connecting \
         container deploys after `to_resource`.",
    )
    .field(fields::to_resource())
    .field(fields::description())
    .field(
        Field::new(
            "protocol",
            "enum<http|https|grpc|tcp>",
            "The protocol the service speaks; the URL's scheme. `http` and `https` also get a health check.",
        )
        .default(json!("http"))
        .example(json!("grpc")),
    )
    .field(
        Field::new(
            "port",
            "int",
            "Port the service listens on inside its container, 1 to 65535. \
             Left out: the container side of `to_resource`'s first `ports` entry (`\"8080:80\"` → `80`), because \
             the connecting container reaches the service directly, not through the port published on this \
             machine.",
        )
        .example(json!(8000)),
    )
    .field(
        Field::new(
            "tls_enabled",
            "bool",
            "Whether the service serves TLS; the URL becomes `https://…` (for `http`). \
             Without `cert_path` and `key_path`, Clockwork makes a CA for the project and a certificate for \
             `service_name` (and `to_resource`'s name), kept in `.clockwork/tls/` with the keys readable only by \
             you: the service finds its certificate and key at `/etc/clockwork/tls/cert.pem` and `key.pem` \
             (`TLS_CERT_FILE`, `TLS_KEY_FILE`), the connecting container the CA at `/etc/clockwork/tls/ca.pem` \
             (`<SERVICE>_CA_FILE`). With them, your files are mounted at the same places. The health check trusts \
             the project's CA.",
        )
        .default(json!(false)),
    )
    .field(
        Field::new(
            "cert_path",
            "string",
            "PEM certificate the service presents, relative to the project folder, e.g. `certs/api.pem`. \
             Needed when `tls_enabled` is true.",
        )
        .example(json!("certs/api.pem")),
    )
    .field(
        Field::new(
            "key_path",
            "string",
            "PEM private key matching `cert_path`, relative to the project folder, e.g. `certs/api-key.pem`. \
             Needed when `tls_enabled` is true. Keep the file readable only by you (mode `600`).",
        )
        .example(json!("certs/api-key.pem")),
    )
    .field(
        Field::new(
            "health_check_path",
            "string",
            "Path of the service's health endpoint, starting with `/`. \
             The added `HealthcheckAssert` expects status 200 there. Only used for `http` and `https`.",
        )
        .default(json!("/health"))
        .example(json!("/-/healthy")),
    )
    .field(
        Field::new(
            "service_name",
            "string",
            "Host name the connecting service uses for `to_resource`, and the base of the variable name: `api` \
             gives `API_URL`. \
             Left out: `to_resource`'s `name`.",
        )
        .example(json!("api")),
    )
    .field(
        Field::new(
            "load_balancing",
            "enum<round_robin>",
            "How requests are spread over the service's instances. \
             Only `round_robin` exists, and with one container per service it has no effect yet; it is accepted so \
             that projects can state it.",
        )
        .default(json!("round_robin")),
    )
}

export_connection_plugin!(ServiceMeshConnection);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <ServiceMeshConnection as ConnectionPlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().expect("one type")
    }

    /// The pointer and message of each problem `validate` finds.
    fn problems(config: Value) -> Vec<(String, String)> {
        match <ServiceMeshConnection as ConnectionPlugin>::validate(
            "ServiceMeshConnection",
            &config.to_string(),
        ) {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|d| (d.path.unwrap_or_default(), d.summary))
                .collect(),
        }
    }

    #[test]
    fn a_port_out_of_range_is_refused_at_the_field() {
        assert_eq!(
            problems(json!({"port": 70000})),
            [(
                "/port".to_string(),
                "`port` must be between 1 and 65535, got 70000".to_string()
            )]
        );
        assert_eq!(
            problems(json!({"port": -1})),
            [(
                "/port".to_string(),
                "`port` must be between 1 and 65535, got -1".to_string()
            )]
        );
        assert_eq!(problems(json!({"port": 0})).len(), 1);
        assert_eq!(problems(json!({"port": 65535})), []);
        assert_eq!(
            problems(json!({})),
            [],
            "the port is discovered when left out"
        );
    }

    #[test]
    fn the_health_check_path_starts_with_a_slash() {
        assert_eq!(
            problems(json!({"health_check_path": "health"})),
            [(
                "/health_check_path".to_string(),
                "`health_check_path` must start with `/`: did you mean `/health`?".to_string()
            )]
        );
        assert_eq!(problems(json!({"health_check_path": "/-/healthy"})), []);
    }

    #[test]
    fn certificate_paths_stay_in_the_project_folder() {
        let found = problems(json!({
            "tls_enabled": true,
            "cert_path": "~/certs/api.pem",
            "key_path": "certs/../../keys/api-key.pem",
        }));
        assert_eq!(
            found,
            [
                (
                    "/cert_path".to_string(),
                    "`~/certs/api.pem` starts with `~`, which is not expanded: `cert_path` is relative to the project folder, e.g. `certs/api.pem`".to_string()
                ),
                (
                    "/key_path".to_string(),
                    "`certs/../../keys/api-key.pem` leaves the project folder; `key_path` is relative to it".to_string()
                ),
            ]
        );
        assert_eq!(
            problems(json!({"cert_path": "/etc/ssl/api.pem"}))[0].1,
            "`/etc/ssl/api.pem` is absolute: `cert_path` is relative to the project folder, e.g. `certs/api.pem`"
        );
        assert_eq!(problems(json!({"key_path": ""}))[0].0, "/key_path");
        assert_eq!(
            problems(
                json!({"cert_path": "./certs/../certs/api.pem", "key_path": "certs/api-key.pem"})
            ),
            []
        );
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "ServiceMeshConnection");
        assert_eq!(def.schema().problems(), vec![]);
        let to = def
            .schema()
            .field("to_resource")
            .and_then(|f| f.parsed_type());
        assert_eq!(to, Some(ValueType::Resource(Vec::new())));
    }

    #[test]
    fn keeps_the_original_fields_and_defaults() {
        let def = the_type();
        let schema = def.schema();
        let field = |name: &str| {
            schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"))
        };
        for name in [
            "to_resource",
            "description",
            "port",
            "cert_path",
            "key_path",
            "service_name",
        ] {
            field(name);
        }
        assert_eq!(field("protocol").value_type, "enum<http|https|grpc|tcp>");
        assert_eq!(field("protocol").default_value(), Some(json!("http")));
        assert_eq!(field("tls_enabled").default_value(), Some(json!(false)));
        assert_eq!(
            field("health_check_path").default_value(),
            Some(json!("/health"))
        );
        assert_eq!(
            field("load_balancing").default_value(),
            Some(json!("round_robin"))
        );
    }
}
