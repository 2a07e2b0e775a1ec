//! `BlankResource`: a composite that groups other declarations.
//!
//! A blank resource deploys nothing itself. Its children (added with
//! `.add(child)`) are planned in graph order and destroyed together, and the
//! connections of the composite apply to its children.

use clockwork_sdk::prelude::*;

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
}

export_resource_plugin!(BlankResource);
