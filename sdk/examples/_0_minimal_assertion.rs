//! The smallest plugin: one assertion type that always passes.
//!
//! `meta` names the plugin (from this crate's name and version), `types`
//! declares the constructor `AlwaysAssert(...)` users write in `main.star`,
//! and `check` runs when `clockwork assert` does. Everything else has a
//! default: `validate` fills defaults from the schema.

use clockwork_sdk::prelude::*;

struct Always;

impl AssertionPlugin for Always {
    fn meta() -> PluginMeta {
        PluginMeta {
            name: "always".into(),
            version: "0.1.0".into(),
            summary: "an assertion that always passes".into(),
            homepage: None,
        }
    }

    fn types() -> Vec<AssertionType> {
        vec![AssertionType::new(TypeDef::new(
            "AlwaysAssert",
            "Always passes. Useful to check a project's wiring.",
        ))]
    }

    fn check(_input: CheckInput) -> Result<Outcome, PluginError> {
        Ok(Outcome::pass("as always"))
    }
}

export_assertion_plugin!(Always);
