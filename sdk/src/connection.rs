//! Connection plugins: typed edges between declarations.

pub use crate::Suggestion;
use crate::bindings::connection::exports::clockwork::plugin::connections as wit;
use crate::schema::TypeDef;
use crate::{Diagnostic, PluginError, PluginMeta, not_implemented};
use clockwork_schema::TypeSchema;

pub use wit::{
    AssertionDecl, CompletionInput, Contribution, EdgeOrder, Endpoint, EndpointPatch, Mount,
    MountSource, ResolveInput, RunWhen, SetupStep,
};

/// A connection plugin. Implement it on a unit struct and export it with
/// [`export_connection_plugin!`](crate::export_connection_plugin).
///
/// Only `meta` and `types` are required: `validate` fills defaults from the
/// schema, `complete_rules` suggests nothing and `resolve` reports that it
/// is not implemented.
pub trait ConnectionPlugin {
    /// Who the plugin is; usually `plugin_meta!("…")`.
    fn meta() -> PluginMeta;

    /// The connection types it provides. Each should include
    /// [`fields::to_resource`](crate::fields::to_resource) and
    /// [`fields::description`](crate::fields::description).
    fn types() -> Vec<TypeDef>;

    /// Checks a connection's config and returns it normalised.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        let types = Self::types();
        crate::validate::with_defaults(schema_of(&types, type_name), type_name, config)
    }

    /// Deterministic suggestions for missing completable fields, from the
    /// endpoints (called before `resolve`).
    fn complete_rules(input: CompletionInput) -> Result<Vec<Suggestion>, PluginError> {
        let _ = input;
        Ok(Vec::new())
    }

    /// What the connection contributes to its endpoints.
    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let _ = input;
        Err(not_implemented("resolve"))
    }
}

impl EndpointPatch {
    /// A patch that adds nothing.
    pub fn empty() -> Self {
        EndpointPatch {
            env: Vec::new(),
            networks: Vec::new(),
            aliases: Vec::new(),
            mounts: Vec::new(),
        }
    }
}

fn parse(what: &str, text: &str) -> Result<serde_json::Value, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::Failed(format!("the host sent {what} that is not JSON: {e}")))
}

impl ResolveInput {
    /// The connection's validated config.
    pub fn config_json(&self) -> Result<serde_json::Value, PluginError> {
        parse("a config", &self.config)
    }
}

impl Endpoint {
    /// The endpoint's config.
    pub fn config_json(&self) -> Result<serde_json::Value, PluginError> {
        parse("an endpoint config", &self.config)
    }
}

impl Contribution {
    /// A contribution that only orders `from` after `to`.
    pub fn ordering_only() -> Self {
        Contribution {
            from_patch: EndpointPatch::empty(),
            to_patch: EndpointPatch::empty(),
            order: EdgeOrder::FromAfterTo,
            setup: Vec::new(),
            assertions: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

/// The schema of `type_name` among `types`.
fn schema_of<'a>(types: &'a [TypeDef], type_name: &str) -> Option<&'a TypeSchema> {
    types
        .iter()
        .find(|t| t.name() == type_name)
        .map(TypeDef::schema)
}

/// The usual `validate` of a plugin `P` that checks more than its schema
/// says: the defaults of `type_name` filled in, then `check` on the
/// result; every problem `check` finds is reported.
pub fn validate_with<P: ConnectionPlugin>(
    type_name: &str,
    config: &str,
    check: impl FnOnce(&serde_json::Value) -> Vec<Diagnostic>,
) -> Result<String, Vec<Diagnostic>> {
    let types = P::types();
    crate::validate::with_checks(schema_of(&types, type_name), type_name, config, check)
}

#[doc(hidden)]
pub fn describe<P: ConnectionPlugin>() -> wit::ConnectionDescription {
    wit::ConnectionDescription {
        plugin: P::meta(),
        types: P::types().into_iter().map(Into::into).collect(),
    }
}

/// Exports a [`ConnectionPlugin`] as the component's `connections` interface.
#[macro_export]
macro_rules! export_connection_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __ClockworkConnectionExports;

        impl $crate::bindings::connection::exports::clockwork::plugin::connections::Guest for __ClockworkConnectionExports {
            fn describe() -> $crate::bindings::connection::exports::clockwork::plugin::connections::ConnectionDescription {
                $crate::connection::describe::<$plugin>()
            }
            fn validate(type_name: String, config: String) -> Result<String, Vec<$crate::Diagnostic>> {
                <$plugin as $crate::connection::ConnectionPlugin>::validate(&type_name, &config)
            }
            fn complete_rules(
                input: $crate::connection::CompletionInput,
            ) -> Result<Vec<$crate::Suggestion>, $crate::PluginError> {
                <$plugin as $crate::connection::ConnectionPlugin>::complete_rules(input)
            }
            fn resolve(
                input: $crate::connection::ResolveInput,
            ) -> Result<$crate::connection::Contribution, $crate::PluginError> {
                <$plugin as $crate::connection::ConnectionPlugin>::resolve(input)
            }
        }

        // Native builds (unit tests of a plugin) have no component exports.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::connection::export_connection_world!(__ClockworkConnectionExports with_types_in $crate::bindings::connection);
    };
}
