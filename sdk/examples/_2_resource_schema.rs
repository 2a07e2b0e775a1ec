//! A resource type's schema: what users may write, what completion may
//! fill, what forces a replace.
//!
//! `describe` is all a resource plugin needs to get a first-class
//! constructor in `main.star` (`StaticSite(name=..., root=...)`) with
//! keyword checking and docs in `clockwork plugins inspect`. Planning (the
//! `plan` and `settle` functions, which return actions for the host to
//! execute) has defaults that report "not implemented".

use clockwork_sdk::prelude::*;

struct StaticSite;

impl ResourcePlugin for StaticSite {
    fn meta() -> PluginMeta {
        PluginMeta {
            name: "static-site".into(),
            version: "0.1.0".into(),
            summary: "a static web site served by nginx".into(),
            homepage: None,
        }
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(
            TypeDef::new("StaticSite", "A folder of the project served over HTTP.")
                .field(fields::name())
                .field(fields::description())
                .field(
                    Field::new(
                        "root",
                        "string",
                        "Folder to serve, relative to the project.",
                    )
                    .required(),
                )
                .field(
                    Field::new("port", "int", "Host port to publish on 127.0.0.1.")
                        .completable()
                        .forces_replace()
                        .example(json!(8080)),
                )
                .field(
                    Field::new("index", "list<string>", "Index file names, in order.")
                        .default(json!(["index.html"])),
                )
                .field(fields::connections())
                .field(fields::assertions()),
        )]
    }
}

export_resource_plugin!(StaticSite);
