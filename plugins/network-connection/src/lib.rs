//! `NetworkConnection`: puts two containers on a shared network.
//!
//! The connection creates the network for the project, joins both endpoints
//! to it and tells each the other's host name. This crate only describes the
//! type for now; `resolve` comes later.

use clockwork_sdk::clockwork_schema;
use clockwork_sdk::prelude::*;

/// The `network-connection` plugin.
pub struct NetworkConnection;

impl ConnectionPlugin for NetworkConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("shared networks between containers, with host-name variables")
    }

    fn types() -> Vec<TypeDef> {
        vec![network_connection()]
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config = input.config_json()?;
        let from = &input.from_resource.target.name;
        let to = &input.to_resource.target.name;
        let network = config["network_name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{from}-{to}"));
        let mut contribution = Contribution::ordering_only();
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
