//! Resource plugins: declaration types that become deployed objects.

use serde_json::Value;

use crate::bindings::resource::exports::clockwork::plugin::resources as wit;
use crate::schema::TypeDef;
use crate::{Diagnostic, PluginError, PluginMeta, not_implemented};

pub use crate::Suggestion;
pub use wit::{ActionResult, Change, ChangePlan, CompletionInput, Health, PlanInput, StatusReport};

/// One resource type a plugin provides.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// The schema.
    pub def: TypeDef,
    /// Whether it holds children (`.add(child)`).
    pub composite: bool,
}

impl ResourceType {
    /// A leaf resource type.
    pub fn new(def: TypeDef) -> Self {
        ResourceType {
            def,
            composite: false,
        }
    }

    /// Marks the type as a composite (accepts `.add(child)`).
    pub fn composite(mut self) -> Self {
        self.composite = true;
        self
    }
}

/// A resource plugin. Implement it on a unit struct and export it with
/// [`export_resource_plugin!`](crate::export_resource_plugin).
///
/// Only `meta` and `types` are required; every other function has a
/// default: `validate` fills defaults from the schema, `complete_rules`
/// suggests nothing, and `plan`, `settle` and `status` report that they are
/// not implemented.
pub trait ResourcePlugin {
    /// Who the plugin is; usually `plugin_meta!("…")`.
    fn meta() -> PluginMeta;

    /// The types it provides.
    fn types() -> Vec<ResourceType>;

    /// Checks a declaration and returns its normalised config (see
    /// `resources.validate` in `wit/resource.wit`).
    fn validate(type_name: &str, name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        let _ = name;
        let types = Self::types();
        let schema = types
            .iter()
            .find(|t| t.def.name() == type_name)
            .map(|t| t.def.schema());
        crate::validate::with_defaults(schema, type_name, config)
    }

    /// Deterministic suggestions for missing completable fields.
    fn complete_rules(input: CompletionInput) -> Result<Vec<Suggestion>, PluginError> {
        let _ = input;
        Ok(Vec::new())
    }

    /// Decides what to do for one declaration.
    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        let _ = input;
        Err(not_implemented("plan"))
    }

    /// Computes the new state from the executed actions.
    fn settle(
        input: PlanInput,
        plan: ChangePlan,
        results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        let _ = (input, plan, results);
        Err(not_implemented("settle"))
    }

    /// Health and drift from an observation.
    fn status(
        target: crate::ResourceRef,
        state: Value,
        observed: Option<Value>,
    ) -> Result<StatusReport, PluginError> {
        let _ = (target, state, observed);
        Err(not_implemented("status"))
    }
}

#[doc(hidden)]
pub fn describe<P: ResourcePlugin>() -> wit::ResourceDescription {
    wit::ResourceDescription {
        plugin: P::meta(),
        types: P::types()
            .into_iter()
            .map(|t| wit::ResourceType {
                schema: t.def.into(),
                composite: t.composite,
            })
            .collect(),
    }
}

#[doc(hidden)]
pub fn status<P: ResourcePlugin>(
    target: crate::ResourceRef,
    state: String,
    observed: Option<String>,
) -> Result<StatusReport, PluginError> {
    let parse = |text: &str| {
        serde_json::from_str::<Value>(text)
            .map_err(|e| PluginError::Failed(format!("host sent invalid JSON: {e}")))
    };
    let state = parse(&state)?;
    let observed = observed.as_deref().map(parse).transpose()?;
    P::status(target, state, observed)
}

/// Exports a [`ResourcePlugin`] as the component's `resources` interface.
#[macro_export]
macro_rules! export_resource_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __ClockworkResourceExports;

        impl $crate::bindings::resource::exports::clockwork::plugin::resources::Guest for __ClockworkResourceExports {
            fn describe() -> $crate::bindings::resource::exports::clockwork::plugin::resources::ResourceDescription {
                $crate::resource::describe::<$plugin>()
            }
            fn validate(type_name: String, name: String, config: String) -> Result<String, Vec<$crate::Diagnostic>> {
                <$plugin as $crate::resource::ResourcePlugin>::validate(&type_name, &name, &config)
            }
            fn complete_rules(
                input: $crate::resource::CompletionInput,
            ) -> Result<Vec<$crate::resource::Suggestion>, $crate::PluginError> {
                <$plugin as $crate::resource::ResourcePlugin>::complete_rules(input)
            }
            fn plan(input: $crate::resource::PlanInput) -> Result<$crate::resource::ChangePlan, $crate::PluginError> {
                <$plugin as $crate::resource::ResourcePlugin>::plan(input)
            }
            fn settle(
                input: $crate::resource::PlanInput,
                plan: $crate::resource::ChangePlan,
                results: Vec<$crate::resource::ActionResult>,
            ) -> Result<String, $crate::PluginError> {
                <$plugin as $crate::resource::ResourcePlugin>::settle(input, plan, results)
            }
            fn status(
                target: $crate::ResourceRef,
                state: String,
                observed: Option<String>,
            ) -> Result<$crate::resource::StatusReport, $crate::PluginError> {
                $crate::resource::status::<$plugin>(target, state, observed)
            }
        }

        // Native builds (unit tests of a plugin) have no component exports.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::resource::export_resource_world!(__ClockworkResourceExports with_types_in $crate::bindings::resource);
    };
}

fn parse_json(what: &str, text: &str) -> Result<Value, PluginError> {
    serde_json::from_str(text)
        .map_err(|e| PluginError::Failed(format!("the host sent {what} that is not JSON: {e}")))
}

impl PlanInput {
    /// The desired config (`None` means destroy).
    pub fn desired_json(&self) -> Result<Option<Value>, PluginError> {
        self.desired
            .as_deref()
            .map(|t| parse_json("a desired config", t))
            .transpose()
    }

    /// The state recorded after the last apply.
    pub fn prior_json(&self) -> Result<Option<Value>, PluginError> {
        self.prior
            .as_deref()
            .map(|t| parse_json("a prior state", t))
            .transpose()
    }

    /// The host's observation of this declaration's objects.
    pub fn observed_json(&self) -> Result<Option<Value>, PluginError> {
        self.observed
            .as_deref()
            .map(|t| parse_json("an observation", t))
            .transpose()
    }

    /// The project: name, folder, default network.
    pub fn project_json(&self) -> Result<Value, PluginError> {
        parse_json("a project", &self.project)
    }
}

/// Builds an [`Action`] from a payload (one of `clockwork_schema::actions`).
pub fn action<T: serde::Serialize>(
    make: fn(String) -> crate::Action,
    payload: &T,
) -> crate::Action {
    make(serde_json::to_string(payload).unwrap_or_default())
}

impl ChangePlan {
    /// A plan that changes nothing and keeps `state`.
    pub fn unchanged(state: &Value) -> Self {
        ChangePlan {
            change: Change::None,
            diff: Vec::new(),
            actions: Vec::new(),
            planned_state: state.to_string(),
        }
    }
}
