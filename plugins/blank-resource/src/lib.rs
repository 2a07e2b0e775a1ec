//! `BlankResource`: a composite that groups other declarations.
//!
//! A blank resource deploys nothing itself. Its children (added with
//! `.add(child)`) are planned in graph order and destroyed together, and the
//! connections of the composite apply to its children.

use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{ActionResult, Change, ChangePlan, PlanInput};

/// The `blank-resource` plugin.
pub struct BlankResource;

impl ResourcePlugin for BlankResource {
    fn meta() -> PluginMeta {
        plugin_meta!("composites that group other declarations")
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(
            TypeDef::new(
                "BlankResource",
                "A composite that groups other declarations. It deploys nothing itself: children added with `.add(child)` are deployed in dependency order and destroyed together, and the composite's connections apply to each child.",
            )
            .field(fields::name())
            .field(fields::description())
            .field(fields::connections())
            .field(fields::assertions()),
        )
        .composite()]
    }

    /// A composite deploys nothing: it exists once declared and goes when
    /// its declaration does. Its children are planned on their own.
    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        let change = match (input.desired.is_some(), input.prior.is_some()) {
            (true, false) => Change::Create,
            (false, true) => Change::Delete,
            _ => Change::None,
        };
        let state = if input.desired.is_some() {
            json!({})
        } else {
            Value::Null
        };
        Ok(ChangePlan {
            change,
            diff: Vec::new(),
            actions: Vec::new(),
            planned_state: state.to_string(),
        })
    }

    fn settle(
        _input: PlanInput,
        plan: ChangePlan,
        _results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        Ok(plan.planned_state)
    }
}

export_resource_plugin!(BlankResource);
