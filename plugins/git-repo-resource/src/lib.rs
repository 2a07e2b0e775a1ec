//! `GitRepoResource`: a Git repository cloned into the project folder.
//!
//! This crate only describes the type for now. Cloning and pulling will run
//! through the host's `git` driver (`ext` actions); planning comes later.

use clockwork_sdk::prelude::*;

/// The `git-repo-resource` plugin.
pub struct GitRepoResource;

impl ResourcePlugin for GitRepoResource {
    fn meta() -> PluginMeta {
        plugin_meta!("Git repositories cloned into the project folder")
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(git_repo_resource())]
    }
}

fn git_repo_resource() -> TypeDef {
    TypeDef::new(
        "GitRepoResource",
        "A Git repository cloned into the project folder and, if asked, kept up to date. \
         `apply` clones `repo_url` at `branch` into `dest`. When `dest` already holds a clone and `pull` is true, it \
         checks out `branch` and pulls from `origin` instead.\n\n\
         When `repo_url`, `dest` or `branch` are left out, completion fills them from `description` (\"the Flask \
         source code\"). Changing `repo_url`, `branch` or `dest` replaces the clone: it is cloned afresh, and the old \
         folder is removed only when it has no uncommitted changes (otherwise `apply` stops and says so). \
         `destroy` removes the clone on the same condition.",
    )
    .field(fields::name().completable())
    .field(fields::description())
    .field(
        Field::new(
            "repo_url",
            "string",
            "The repository to clone, e.g. `https://github.com/pallets/flask.git`. \
             `https://`, `ssh://` and `git@host:owner/repo.git` forms are accepted; a value starting with `-` is \
             refused so that it can never be read as a `git` option. When left out, completion fills it from \
             `description`.",
        )
        .completable()
        .forces_replace()
        .example(json!("https://github.com/pallets/flask.git"))
        .example(json!("git@github.com:acme/api.git")),
    )
    .field(
        Field::new(
            "dest",
            "string",
            "Folder to clone into, relative to the project folder, e.g. `vendor/flask`. \
             Paths that leave the project folder are refused. When left out, completion fills it, usually after the \
             repository's name.",
        )
        .completable()
        .forces_replace()
        .example(json!("vendor/flask"))
        .example(json!("src/api")),
    )
    .field(
        Field::new(
            "branch",
            "string",
            "Branch or tag to check out, e.g. `main` or `v2.3.0`. \
             When left out, completion fills it; if nothing fills it, the remote's default branch is used.",
        )
        .completable()
        .forces_replace()
        .example(json!("main"))
        .example(json!("v2.3.0")),
    )
    .field(
        Field::new(
            "pull",
            "bool",
            "Whether `apply` updates an existing clone: check out `branch`, then pull from `origin`. \
             `false` clones once and then leaves the folder alone. Changing it takes effect in place.",
        )
        .default(json!(true)),
    )
    .field(fields::connections())
    .field(fields::assertions())
}

export_resource_plugin!(GitRepoResource);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <GitRepoResource as ResourcePlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().map(|t| t.def).expect("one type")
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "GitRepoResource");
        assert_eq!(def.schema().problems(), vec![]);
    }

    #[test]
    fn keeps_the_original_fields_but_not_present() {
        let def = the_type();
        let schema = def.schema();
        for name in [
            "name",
            "description",
            "repo_url",
            "dest",
            "branch",
            "pull",
            "connections",
            "assertions",
        ] {
            assert!(schema.field(name).is_some(), "missing field `{name}`");
        }
        assert!(
            schema.field("present").is_none(),
            "`present` was never used"
        );
        let name = schema.field("name").and_then(|f| f.parsed_type());
        assert_eq!(name, Some(ValueType::String));
    }

    #[test]
    fn location_fields_force_a_replace() {
        let def = the_type();
        let schema = def.schema();
        let field = |name: &str| {
            schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"))
        };
        for name in ["repo_url", "branch", "dest"] {
            assert!(
                field(name).forces_replace,
                "`{name}` should force a replace"
            );
        }
        assert!(!field("pull").forces_replace);
        assert_eq!(field("pull").default_value(), Some(json!(true)));
    }
}
