//! `NetworkConnection`: puts two containers on a shared network.
//!
//! The connection declares the network with its options (a setup step
//! whose action is `ensure-network`: the host makes the network with
//! exactly these options before either endpoint deploys), joins both
//! endpoints to it and tells each the other's host name.

use std::net::IpAddr;

use clockwork_sdk::clockwork_schema::actions::NetworkSpec;
use clockwork_sdk::connection::{RunWhen, SetupStep};
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::action;
use clockwork_sdk::{clockwork_schema, error_at, invalid};

/// The `network-connection` plugin.
pub struct NetworkConnection;

impl ConnectionPlugin for NetworkConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("shared networks between containers, with host-name variables")
    }

    fn types() -> Vec<TypeDef> {
        vec![network_connection()]
    }

    /// The schema's checks, then the network's name, so that `clockwork
    /// plan` reports a name Docker refuses at the declaration.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::connection::validate_with::<Self>(type_name, config, check)
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config = input.config_json()?;
        // Completion may have filled `network_name` since `validate`.
        let problems = check(&config);
        if !problems.is_empty() {
            return Err(PluginError::InvalidConfig(problems));
        }
        let from = &input.from_resource.target.name;
        let to = &input.to_resource.target.name;
        let network = config["network_name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{from}-{to}"));
        if network.len() > 63 {
            return Err(invalid(
                Some("/network_name"),
                format!(
                    "the network name `{network}`, made from the two names, is longer than 63 characters: set `network_name`, e.g. `backend-network`"
                ),
            ));
        }
        let spec = NetworkSpec {
            name: network.clone(),
            driver: config["driver"].as_str().unwrap_or("bridge").to_string(),
            internal: config["internal"].as_bool().unwrap_or(false),
            subnet: config["subnet"].as_str().map(str::to_string),
            gateway: config["gateway"].as_str().map(str::to_string),
            enable_ipv6: config["enable_ipv6"].as_bool().unwrap_or(false),
            declared: true,
        };
        let mut contribution = Contribution::ordering_only();
        contribution.setup.push(SetupStep {
            id: format!("network-{network}"),
            when: RunWhen::EveryApply,
            after: Vec::new(),
            action: action(Action::EnsureNetwork, &spec),
        });
        contribution.from_patch.networks.push(network.clone());
        contribution.to_patch.networks.push(network.clone());
        contribution.from_patch.env.push((
            format!("{}_HOST", clockwork_schema::env_prefix(to)),
            to.clone(),
        ));
        contribution.to_patch.env.push((
            format!("{}_HOST", clockwork_schema::env_prefix(from)),
            from.clone(),
        ));
        contribution.outputs.push(("network".into(), network));
        Ok(contribution)
    }
}

/// `network_name`, when given, must be a network Docker lets the project
/// create: not one of Docker's own, and `[a-zA-Z0-9][a-zA-Z0-9_.-]*` of at
/// most 63 characters.
fn check(config: &Value) -> Vec<Diagnostic> {
    let mut problems = check_addresses(config);
    problems.extend(check_name(config));
    problems
}

/// `subnet` in CIDR form, `gateway` an address inside it (and only with
/// it), of one family.
fn check_addresses(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let subnet = config["subnet"].as_str();
    let parsed = subnet.map(|s| (s, cidr(s)));
    if let Some((text, None)) = parsed {
        problems.push(error_at(
            Some("/subnet"),
            format!("`{text}` is not a subnet in CIDR form: write an address and a prefix length, e.g. `172.28.0.0/16`"),
        ));
    }
    if let Some(gateway) = config["gateway"].as_str() {
        match (gateway.parse::<IpAddr>(), &parsed) {
            (Err(_), _) => problems.push(error_at(
                Some("/gateway"),
                format!("`{gateway}` is not an IP address, e.g. `172.28.0.1`"),
            )),
            (Ok(_), None) => problems.push(error_at(
                Some("/gateway"),
                "`gateway` needs `subnet`: give the range it is in, e.g. `subnet = \"172.28.0.0/16\"`".to_string(),
            )),
            (Ok(address), Some((text, Some((base, prefix))))) if !contains(*base, *prefix, &address) => {
                problems.push(error_at(
                    Some("/gateway"),
                    format!("the gateway `{gateway}` is not inside the subnet `{text}`: give an address of that range, e.g. its first"),
                ))
            }
            _ => {}
        }
    }
    let ipv6 = config["enable_ipv6"].as_bool().unwrap_or(false);
    match &parsed {
        Some((text, Some((IpAddr::V4(_), _)))) if ipv6 => problems.push(error_at(
            Some("/enable_ipv6"),
            format!("`enable_ipv6` needs an IPv6 range, and `subnet` (`{text}`) is an IPv4 one: give an IPv6 subnet such as `fd00:28::/64` (Docker adds an IPv4 range itself), or leave `enable_ipv6` out"),
        )),
        Some((text, Some((IpAddr::V6(_), _)))) if !ipv6 => problems.push(error_at(
            Some("/subnet"),
            format!("`{text}` is an IPv6 range: set `enable_ipv6 = True` with it"),
        )),
        _ => {}
    }
    if matches!(config["driver"].as_str(), Some("host" | "none" | "null")) {
        problems.push(error_at(
            Some("/driver"),
            format!(
                "the `{}` driver makes no network of the project's: use `bridge` (the default), or a driver such as `macvlan` set up on the Engine",
                config["driver"].as_str().unwrap_or_default()
            ),
        ));
    }
    problems
}

/// An address and a prefix length that fits it.
fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let prefix: u8 = prefix.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= max).then_some((address, prefix))
}

/// Whether `address` is in `base/prefix`.
fn contains(base: IpAddr, prefix: u8, address: &IpAddr) -> bool {
    let bits = |a: &IpAddr| -> (u128, u32) {
        match a {
            IpAddr::V4(v4) => (u128::from(u32::from(*v4)), 32),
            IpAddr::V6(v6) => (u128::from(*v6), 128),
        }
    };
    let ((b, width), (a, other)) = (bits(&base), bits(address));
    if width != other {
        return false;
    }
    let host_bits = width - u32::from(prefix);
    let mask = if host_bits >= 128 {
        0
    } else {
        u128::MAX << host_bits
    };
    (b & mask) == (a & mask)
}

fn check_name(config: &Value) -> Vec<Diagnostic> {
    let Some(name) = config["network_name"].as_str() else {
        return Vec::new();
    };
    let message = if name.is_empty() {
        "`network_name` is empty: give the network a name, e.g. `backend-network`, or leave it out"
            .to_string()
    } else if matches!(name, "host" | "none" | "bridge" | "default") {
        format!(
            "`{name}` is a reserved Docker network and cannot be created; name a network of the project instead, e.g. `backend-network`"
        )
    } else if name.len() > 63
        || !name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        format!(
            "`{name}` is not a valid network name: use at most 63 letters, digits, `_`, `.` and `-`, starting with a letter or digit, e.g. `backend-network`"
        )
    } else {
        return Vec::new();
    };
    vec![error_at(Some("/network_name"), message)]
}

fn network_connection() -> TypeDef {
    TypeDef::new(
        "NetworkConnection",
        "Puts both endpoints on a network of this project, so that they reach each other by name. \
         The network `network_name` is created with the given `driver`, `internal`, `enable_ipv6`, `subnet` and \
         `gateway`, both containers join it, and it is removed when no declaration uses it any more.\n\n\
         Each endpoint also gets the other's host name in a variable `<NAME>_HOST`, where `<NAME>` is the other's \
         `name` upper-cased with `-` turned into `_`: connecting `api` to `redis` sets `REDIS_HOST=redis` in `api` \
         and `API_HOST=api` in `redis`. A variable you set yourself in `env_vars` wins. The connecting container \
         deploys after `to_resource`.",
    )
    .field(fields::to_resource())
    .field(fields::description())
    .field(
        Field::new(
            "network_name",
            "string",
            "Name of the network, unique in the project, e.g. `backend-network`. \
             Several connections naming the same network share it. When left out, completion fills it from \
             `description`.",
        )
        .completable()
        .example(json!("backend-network")),
    )
    .field(
        Field::new(
            "driver",
            "string",
            "Docker network driver. \
             `bridge` (the default) suits containers on one machine; other drivers, such as `macvlan`, need matching \
             Engine setup.",
        )
        .default(json!("bridge"))
        .example(json!("bridge")),
    )
    .field(
        Field::new(
            "internal",
            "bool",
            "Whether the network is cut off from the outside world. \
             Containers on an internal network reach each other but nothing beyond it, e.g. a database that only \
             the API may talk to. Published ports still work through the containers' other networks.",
        )
        .default(json!(false)),
    )
    .field(Field::new("enable_ipv6", "bool", "Whether the network also gives its containers IPv6 addresses.").default(json!(false)))
    .field(
        Field::new(
            "subnet",
            "string",
            "Address range of the network in CIDR notation, e.g. `172.28.0.0/16`. \
             Left out, Docker picks a free range. Give one only to avoid a clash with another network on this \
             machine.",
        )
        .example(json!("172.28.0.0/16")),
    )
    .field(
        Field::new(
            "gateway",
            "string",
            "Gateway address of the network, inside `subnet`, e.g. `172.28.0.1`. \
             Left out, Docker uses the first address of the subnet. Needs `subnet`.",
        )
        .example(json!("172.28.0.1")),
    )
}

export_connection_plugin!(NetworkConnection);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <NetworkConnection as ConnectionPlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().expect("one type")
    }

    /// The pointer and message of each problem `validate` finds.
    fn problems(config: Value) -> Vec<(String, String)> {
        match <NetworkConnection as ConnectionPlugin>::validate(
            "NetworkConnection",
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
    fn reserved_empty_and_invalid_network_names_are_refused() {
        for reserved in ["host", "none", "bridge", "default"] {
            assert_eq!(
                problems(json!({ "network_name": reserved })),
                [(
                    "/network_name".to_string(),
                    format!(
                        "`{reserved}` is a reserved Docker network and cannot be created; name a network of the project instead, e.g. `backend-network`"
                    )
                )]
            );
        }
        assert_eq!(
            problems(json!({"network_name": ""})),
            [(
                "/network_name".to_string(),
                "`network_name` is empty: give the network a name, e.g. `backend-network`, or leave it out".to_string()
            )]
        );
        for bad in ["my network", "-net", ".net", "net/work", &"n".repeat(64)] {
            let found = problems(json!({ "network_name": bad }));
            assert_eq!(found.len(), 1, "{bad}");
            assert_eq!(found[0].0, "/network_name");
            assert!(
                found[0]
                    .1
                    .starts_with(&format!("`{bad}` is not a valid network name")),
                "{}",
                found[0].1
            );
        }
        for fine in ["backend-network", "Backend_2.net", &"n".repeat(63)] {
            assert_eq!(problems(json!({ "network_name": fine })), [], "{fine}");
        }
        assert_eq!(problems(json!({})), []);
    }

    fn resolve_input(config: Value, from: &str, to: &str) -> ResolveInput {
        let endpoint = |name: &str| clockwork_sdk::connection::Endpoint {
            target: ResourceRef {
                type_name: "DockerResource".into(),
                name: name.into(),
            },
            config: json!({}).to_string(),
        };
        ResolveInput {
            type_name: "NetworkConnection".into(),
            name: "link".into(),
            config: config.to_string(),
            from_resource: endpoint(from),
            to_resource: endpoint(to),
            project: json!({"name": "shop"}).to_string(),
        }
    }

    #[test]
    fn resolve_checks_a_completed_or_derived_name() {
        let err = <NetworkConnection as ConnectionPlugin>::resolve(resolve_input(
            json!({"network_name": "host"}),
            "api",
            "redis",
        ))
        .unwrap_err();
        assert!(
            matches!(&err, PluginError::InvalidConfig(d) if d[0].path.as_deref() == Some("/network_name")),
            "{err:?}"
        );
        let long = "a".repeat(40);
        let err = <NetworkConnection as ConnectionPlugin>::resolve(resolve_input(
            json!({}),
            &long,
            &long,
        ))
        .unwrap_err();
        assert!(
            matches!(&err, PluginError::InvalidConfig(d) if d[0].summary.contains("longer than 63 characters: set `network_name`")),
            "{err:?}"
        );
        let fine = <NetworkConnection as ConnectionPlugin>::resolve(resolve_input(
            json!({}),
            "api",
            "redis",
        ))
        .unwrap();
        assert_eq!(fine.from_patch.networks, ["api-redis"]);
    }

    #[test]
    fn the_network_is_declared_with_its_options() {
        let c = <NetworkConnection as ConnectionPlugin>::resolve(resolve_input(
            json!({"network_name": "backend", "internal": true, "subnet": "172.28.0.0/16", "gateway": "172.28.0.1"}),
            "api",
            "db",
        ))
        .unwrap();
        assert_eq!(c.setup.len(), 1);
        let Action::EnsureNetwork(spec) = &c.setup[0].action else {
            panic!("{:?}", c.setup[0].action);
        };
        let spec: NetworkSpec = clockwork_sdk::serde_json::from_str(spec).unwrap();
        assert!(spec.declared && spec.internal);
        assert_eq!(spec.subnet.as_deref(), Some("172.28.0.0/16"));
        assert_eq!(spec.gateway.as_deref(), Some("172.28.0.1"));
        assert_eq!(
            c.from_patch.env,
            [("DB_HOST".to_string(), "db".to_string())]
        );
        assert_eq!(
            c.to_patch.env,
            [("API_HOST".to_string(), "api".to_string())]
        );
    }

    #[test]
    fn subnets_and_gateways_are_checked() {
        let paths = |config: Value| -> Vec<String> {
            problems(config).into_iter().map(|(p, _)| p).collect()
        };
        assert_eq!(paths(json!({"subnet": "172.28.0.0"})), ["/subnet"]);
        assert_eq!(paths(json!({"subnet": "172.28.0.0/33"})), ["/subnet"]);
        assert_eq!(paths(json!({"gateway": "172.28.0.1"})), ["/gateway"]);
        assert_eq!(
            paths(json!({"subnet": "172.28.0.0/16", "gateway": "10.0.0.1"})),
            ["/gateway"]
        );
        assert_eq!(
            paths(json!({"subnet": "172.28.0.0/16", "gateway": "fd00::1"})),
            ["/gateway"]
        );
        assert_eq!(
            paths(json!({"subnet": "172.28.0.0/16", "gateway": "gw"})),
            ["/gateway"]
        );
        assert_eq!(paths(json!({"driver": "host"})), ["/driver"]);
        assert!(paths(json!({"subnet": "172.28.0.0/16", "gateway": "172.28.255.254"})).is_empty());
        assert!(
            paths(json!({"subnet": "fd00:28::/64", "gateway": "fd00:28::1", "enable_ipv6": true}))
                .is_empty()
        );
        assert_eq!(paths(json!({"subnet": "fd00:28::/64"})), ["/subnet"]);
        assert_eq!(
            paths(json!({"subnet": "172.28.0.0/16", "enable_ipv6": true})),
            ["/enable_ipv6"]
        );
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "NetworkConnection");
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
            "network_name",
            "subnet",
            "gateway",
        ] {
            field(name);
        }
        assert!(field("network_name").completable);
        assert_eq!(field("driver").default_value(), Some(json!("bridge")));
        assert_eq!(field("internal").default_value(), Some(json!(false)));
        assert_eq!(field("enable_ipv6").default_value(), Some(json!(false)));
    }
}
