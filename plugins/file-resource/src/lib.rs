//! `FileResource`: a text file written into the project folder — where it
//! goes, its content and mode, and which changes rewrite it in place
//! (`content`, `mode`) or move it (`path`, `directory`, `name`).

mod plan;

use clockwork_sdk::error_at;
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{ActionResult, ChangePlan, PlanInput};

/// The `file-resource` plugin.
pub struct FileResource;

impl ResourcePlugin for FileResource {
    fn meta() -> PluginMeta {
        plugin_meta!("text files written into the project folder")
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(file_resource())]
    }

    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        plan::plan(&input)
    }

    fn settle(
        input: PlanInput,
        plan: ChangePlan,
        results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        plan::settle(&input, &plan, &results)
    }

    /// The schema's checks, then where the file goes and its mode, so
    /// `clockwork plan` reports them at the declaration. `content` may
    /// still be left to completion.
    fn validate(type_name: &str, name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        let def = file_resource();
        clockwork_sdk::validate::with_checks(Some(def.schema()), type_name, config, |value| {
            let mut value = value.clone();
            if value["content"].is_null() {
                value["content"] = json!("");
            }
            match plan::file_spec(name, &value) {
                Ok(_) => Vec::new(),
                Err(PluginError::InvalidConfig(problems)) => problems,
                Err(other) => vec![error_at(None, other.message())],
            }
        })
    }
}

fn file_resource() -> TypeDef {
    TypeDef::new(
        "FileResource",
        "A text file in the project folder, written with the given content and permissions. \
         The file goes to `path` when given, else to `directory/name`, else to `name` in the project folder; so set \
         `name` to the file name with its extension (`README.md`), or give `path`. Paths that leave the project folder \
         are refused.\n\n\
         When `content` is left out, completion writes it from `description` (\"a README explaining how to run the \
         API\"). Changing `content` or `mode` rewrites the file in place; changing where it goes (`path`, \
         `directory`, `name`) removes the old file and writes the new one. A `FileConnection` to a `FileResource` \
         mounts the file into a container.",
    )
    .field(fields::name().completable())
    .field(fields::description())
    .field(
        Field::new(
            "directory",
            "string",
            "Folder to write the file in, relative to the project folder, e.g. `config` or `docs/api`. \
             Missing folders are created. Left out, the file goes in the project folder. Ignored when `path` is \
             given.",
        )
        .completable()
        .forces_replace()
        .example(json!("config"))
        .example(json!("docs/api")),
    )
    .field(
        Field::new(
            "content",
            "string",
            "The file's text, written as UTF-8. \
             When left out, completion writes it from `description`; if nothing fills it, the file is empty. \
             Changing it rewrites the file in place.",
        )
        .completable()
        .example(json!("{\"log_level\": \"info\"}"))
        .example(json!("# My API\n\nRun it with `clockwork apply`.\n")),
    )
    .field(
        Field::new(
            "mode",
            "string",
            "Unix permission bits, as an octal string. \
             `\"644\"`: the owner reads and writes, everyone else reads; `\"600\"`: only the owner reads and writes; \
             `\"755\"`: also executable, for scripts. Anything but three or four octal digits is an error. Changing \
             it updates the file in place.",
        )
        .default(json!("644"))
        .completable()
        .example(json!("600"))
        .example(json!("755")),
    )
    .field(
        Field::new(
            "path",
            "string",
            "Full path of the file, relative to the project folder, e.g. `config/app.json`. \
             Takes precedence over `directory` and `name`. Changing it moves the file: the old one is removed and \
             the new one written.",
        )
        .forces_replace()
        .example(json!("config.json"))
        .example(json!("config/app.json")),
    )
    .field(
        Field::new(
            "overwrite",
            "bool",
            "Whether Clockwork may replace a file it did not write. \
             Left `False`, a file that is already there (yours), or that was changed by hand since Clockwork wrote \
             it, is never overwritten or removed: `plan` says so instead. Set it to `True` to take the file over.",
        )
        .default(json!(false)),
    )
    .field(fields::connections())
    .field(fields::assertions())
}

export_resource_plugin!(FileResource);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <FileResource as ResourcePlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().map(|t| t.def).expect("one type")
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "FileResource");
        assert_eq!(def.schema().problems(), vec![]);
    }

    #[test]
    fn keeps_the_original_fields() {
        let def = the_type();
        let schema = def.schema();
        for name in [
            "name",
            "description",
            "directory",
            "content",
            "mode",
            "path",
            "overwrite",
            "connections",
            "assertions",
        ] {
            assert!(schema.field(name).is_some(), "missing field `{name}`");
        }
        let name = schema.field("name").and_then(|f| f.parsed_type());
        assert_eq!(name, Some(ValueType::String));
    }

    #[test]
    fn validate_refuses_a_tilde_path_at_the_field() {
        let config = json!({"path": "~/notes.md", "content": "hi"});
        let problems = <FileResource as ResourcePlugin>::validate(
            "FileResource",
            "notes",
            &config.to_string(),
        )
        .unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path.as_deref(), Some("/path"));
        assert!(
            problems[0].summary.contains("`~`, which is not expanded"),
            "{}",
            problems[0].summary
        );
    }

    #[test]
    fn content_and_mode_update_in_place() {
        let def = the_type();
        let schema = def.schema();
        let field = |name: &str| {
            schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"))
        };
        assert!(!field("content").forces_replace);
        assert!(!field("mode").forces_replace);
        assert!(field("path").forces_replace);
        assert!(field("content").completable);
        assert_eq!(field("mode").default_value(), Some(json!("644")));
    }
}
