//! `GitRepoResource`: a Git repository cloned into the project folder.
//!
//! The plugin plans; the host's `git` driver acts: `ext("git", "sync", …)`
//! clones, or updates a clone the project made when the remote moved (never
//! over local changes), and `ext("git", "remove", …)` deletes a clean clone
//! the project made.

use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{ActionResult, Change, ChangePlan, PlanInput};
use clockwork_sdk::{clockwork_schema, error_at, invalid, serde_json};

/// The `git-repo-resource` plugin.
pub struct GitRepoResource;

impl ResourcePlugin for GitRepoResource {
    fn meta() -> PluginMeta {
        plugin_meta!("Git repositories cloned into the project folder")
    }

    fn types() -> Vec<ResourceType> {
        vec![ResourceType::new(git_repo_resource())]
    }

    fn validate(type_name: &str, _name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        let def = git_repo_resource();
        clockwork_sdk::validate::with_checks(Some(def.schema()), type_name, config, check)
    }

    fn plan(input: PlanInput) -> Result<ChangePlan, PluginError> {
        plan(&input)
    }

    fn settle(
        _input: PlanInput,
        plan: ChangePlan,
        results: Vec<ActionResult>,
    ) -> Result<String, PluginError> {
        if matches!(plan.change, Change::Delete) {
            return Ok(Value::Null.to_string());
        }
        let mut state: Value = serde_json::from_str(&plan.planned_state)
            .map_err(|e| PluginError::Failed(e.to_string()))?;
        if let Some(head) = results
            .iter()
            .filter(|r| r.ok)
            .filter_map(|r| serde_json::from_str::<Value>(&r.output).ok())
            .find_map(|o| o.get("head").cloned())
        {
            state["head"] = head;
        }
        Ok(state.to_string())
    }
}

/// What the schema cannot say: a URL git could read as an option, and a
/// `dest` outside the project.
fn check(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(url) = config["repo_url"].as_str() {
        if url.is_empty() {
            problems.push(error_at(
                Some("/repo_url"),
                "`repo_url` is empty: give the repository to clone".to_string(),
            ));
        } else if url.starts_with('-') {
            problems.push(error_at(
                Some("/repo_url"),
                format!("`{url}` starts with `-`, which git would read as an option; write a path as `./{url}`"),
            ));
        }
    }
    if let Some(dest) = config["dest"].as_str()
        && let Err(message) = clockwork_schema::check_project_path("dest", dest, "vendor/flask")
    {
        problems.push(error_at(Some("/dest"), message));
    }
    if let Some(branch) = config["branch"].as_str()
        && (branch.is_empty() || branch.starts_with('-') || branch.contains(char::is_whitespace))
    {
        problems.push(error_at(
            Some("/branch"),
            format!("`{branch}` is not a branch, tag or commit name"),
        ));
    }
    problems
}

/// The clone `config` asks for.
fn wanted(config: &Value) -> Result<Value, PluginError> {
    let problems = check(config);
    if !problems.is_empty() {
        return Err(PluginError::InvalidConfig(problems));
    }
    let text = |key: &str| config[key].as_str().map(str::to_string);
    let repo_url = text("repo_url").ok_or_else(|| {
        invalid(
            Some("/repo_url"),
            "`repo_url` is needed: the repository to clone",
        )
    })?;
    let dest = text("dest").ok_or_else(|| {
        invalid(
            Some("/dest"),
            "`dest` is needed: the folder of the project to clone into, e.g. `vendor/flask`",
        )
    })?;
    Ok(json!({
        "repo_url": repo_url,
        "dest": dest.trim_start_matches("./").trim_end_matches('/'),
        "branch": config["branch"],
        "pull": config["pull"].as_bool().unwrap_or(true),
    }))
}

fn sync(clone: &Value) -> Action {
    Action::Ext(("git".into(), "sync".into(), clone.to_string()))
}

fn remove(dest: &Value) -> Action {
    Action::Ext((
        "git".into(),
        "remove".into(),
        json!({"dest": dest}).to_string(),
    ))
}

fn change(path: &str, old: &Value, new: &Value, forces_replace: bool) -> FieldChange {
    FieldChange {
        path: path.into(),
        old: (!old.is_null()).then(|| old.to_string()),
        new: (!new.is_null()).then(|| new.to_string()),
        forces_replace,
    }
}

fn plan(input: &PlanInput) -> Result<ChangePlan, PluginError> {
    let prior = input.prior_json()?.filter(|p| p["dest"].is_string());
    let Some(desired) = input.desired_json()? else {
        return Ok(match prior {
            Some(p) => ChangePlan {
                change: Change::Delete,
                diff: Vec::new(),
                actions: vec![remove(&p["dest"])],
                planned_state: Value::Null.to_string(),
            },
            None => ChangePlan::unchanged(&Value::Null),
        });
    };
    let clone = wanted(&desired)?;
    let mut state = clone.clone();
    let Some(prior) = prior else {
        return Ok(ChangePlan {
            change: Change::Create,
            diff: Vec::new(),
            actions: vec![sync(&clone)],
            planned_state: state.to_string(),
        });
    };
    let moved: Vec<FieldChange> = ["repo_url", "dest", "branch"]
        .into_iter()
        .filter(|k| prior[*k] != clone[*k])
        .map(|k| change(&format!("/{k}"), &prior[k], &clone[k], true))
        .collect();
    if !moved.is_empty() {
        // The old clone goes (when clean and the project's), the new comes.
        return Ok(ChangePlan {
            change: Change::Replace,
            diff: moved,
            actions: vec![remove(&prior["dest"]), sync(&clone)],
            planned_state: state.to_string(),
        });
    }
    state["head"] = prior["head"].clone();
    if clone["pull"] == true {
        // Whether the remote moved only the fetch can tell.
        let from = prior["head"].clone();
        let to = json!(format!(
            "origin's {}",
            clone["branch"].as_str().unwrap_or("default branch")
        ));
        return Ok(ChangePlan {
            change: Change::Update,
            diff: vec![change("/head", &from, &to, false)],
            actions: vec![sync(&clone)],
            planned_state: state.to_string(),
        });
    }
    Ok(ChangePlan::unchanged(&state))
}

fn git_repo_resource() -> TypeDef {
    TypeDef::new(
        "GitRepoResource",
        "A Git repository cloned into the project folder and, if asked, kept up to date. \
         `apply` clones `repo_url` at `branch` into `dest`. When `dest` already holds a clone and `pull` is true, it \
         checks out `branch` and pulls from `origin` instead.\n\n\
         When `repo_url`, `dest` or `branch` are left out, completion fills them from `description` (\"the Flask \
         source code\"). Changing `repo_url`, `branch` or `dest` replaces the clone: it is cloned afresh, and the old \
         folder is removed only when it has no uncommitted changes. With `pull`, each `apply` fetches and moves the \
         clone forward when the remote moved; a clone with local changes or commits of its own is left as it is and \
         the apply says so. `destroy` removes the clone unless `--keep-files`, and only a clean clone this project \
         made: Clockwork never clones over a folder, nor removes one, it did not clone. git runs on this machine \
         through the host, without a shell or prompts and with a deadline (`[git] timeout_seconds`, 300); a \
         repository on this machine outside the project needs `[git] allow_local_urls = true` in `clockwork.toml`.",
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
            "Branch, tag or commit to check out, e.g. `main`, `v2.3.0` or `3f2c1e9`. \
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
