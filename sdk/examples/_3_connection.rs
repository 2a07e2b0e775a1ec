//! A connection type: `CacheConnection(to_resource=redis)` gives the
//! connecting container `CACHE_URL=redis://<target>:6379`.
//!
//! `resolve` is pure: it receives both endpoints' configs and returns what
//! the connection contributes (environment variables, networks, mounts,
//! the dependency edge). The host merges it into the endpoints before they
//! are planned; values the user wrote on the endpoint win.

use clockwork_sdk::connection::{Contribution, ResolveInput};
use clockwork_sdk::prelude::*;
use clockwork_sdk::serde_json;

struct Cache;

impl ConnectionPlugin for Cache {
    fn meta() -> PluginMeta {
        PluginMeta {
            name: "cache-connection".into(),
            version: "0.1.0".into(),
            summary: "injects a Redis URL".into(),
            homepage: None,
        }
    }

    fn types() -> Vec<TypeDef> {
        vec![
            TypeDef::new("CacheConnection", "Connects a service to a Redis cache.")
                .field(fields::to_resource())
                .field(fields::description())
                .field(
                    Field::new("env_var_name", "string", "The variable to set.")
                        .default(json!("CACHE_URL")),
                ),
        ]
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config: Value =
            serde_json::from_str(&input.config).map_err(|e| PluginError::Failed(e.to_string()))?;
        let variable = config["env_var_name"]
            .as_str()
            .unwrap_or("CACHE_URL")
            .to_string();
        let mut contribution = Contribution::ordering_only();
        contribution.from_patch.env.push((
            variable,
            format!("redis://{}:6379", input.to_resource.target.name),
        ));
        Ok(contribution)
    }
}

export_connection_plugin!(Cache);
