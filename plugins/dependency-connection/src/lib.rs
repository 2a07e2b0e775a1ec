//! `DependencyConnection`: a plain ordering edge between two declarations.
//!
//! This is what `api.connect(db)` creates when given a bare resource. The
//! crate only describes the type for now; `resolve` comes later.

use clockwork_sdk::prelude::*;

/// The `dependency-connection` plugin.
pub struct DependencyConnection;

impl ConnectionPlugin for DependencyConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("ordering edges between declarations")
    }

    fn types() -> Vec<TypeDef> {
        vec![
            TypeDef::new(
                "DependencyConnection",
                "An ordering edge: the connecting declaration deploys after `to_resource`, and nothing else. \
                 Passing a bare resource to `.connect(...)` or listing it in `connections=[...]` creates one, so \
                 `api.connect(db)` and `api.connect(DependencyConnection(to_resource=db))` are the same. Destroy \
                 runs in the opposite order. It adds no environment variables, networks or mounts: use a typed \
                 connection (`DatabaseConnection`, `NetworkConnection`, `FileConnection`, \
                 `ServiceMeshConnection`) when the connecting side also needs configuration.",
            )
            .field(fields::to_resource())
            .field(fields::description()),
        ]
    }

    fn resolve(_input: ResolveInput) -> Result<Contribution, PluginError> {
        Ok(Contribution::ordering_only())
    }
}

export_connection_plugin!(DependencyConnection);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    #[test]
    fn schema_has_no_problems() {
        let types = <DependencyConnection as ConnectionPlugin>::types();
        assert_eq!(types.len(), 1);
        for def in &types {
            assert_eq!(def.name(), "DependencyConnection");
            assert_eq!(def.schema().problems(), vec![]);
        }
    }

    #[test]
    fn has_only_the_standard_fields() {
        let types = <DependencyConnection as ConnectionPlugin>::types();
        let schema = types[0].schema();
        let names: Vec<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["to_resource", "description"]);
        let to = schema.field("to_resource").and_then(|f| f.parsed_type());
        assert_eq!(to, Some(ValueType::Resource(Vec::new())));
    }
}
