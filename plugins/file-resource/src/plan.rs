//! Planning a file: write it when missing or different, move it when its
//! path changes, remove it on destroy. The current file is read through the
//! host's `fs` import, confined to the project folder.

use clockwork_sdk::clockwork_schema::actions::FileSpec;
use clockwork_sdk::host::fs;
use clockwork_sdk::invalid;
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::{ActionResult, Change, ChangePlan, PlanInput, action};

/// The file a config asks for: `path`, else `directory/name`, else `name`.
pub fn file_spec(name: &str, config: &Value) -> Result<FileSpec, PluginError> {
    let text = |k: &str| config[k].as_str();
    let path = where_it_goes(name, config)?;
    let Some(content) = text("content") else {
        return Err(invalid(
            Some("/content"),
            "`content` is needed (or a description for completion to write it from)",
        ));
    };
    let mode = text("mode")
        .unwrap_or("644")
        .trim_start_matches("0o")
        .to_string();
    if mode.is_empty() || mode.len() > 4 || !mode.chars().all(|c| ('0'..='7').contains(&c)) {
        return Err(invalid(
            Some("/mode"),
            format!("`{mode}` is not an octal mode such as \"644\""),
        ));
    }
    Ok(FileSpec {
        path,
        content: content.to_string(),
        mode,
    })
}

/// Where the file goes, relative to the project folder. Every problem is
/// reported at the field that decides it: `path` when given, else
/// `directory` or `name`.
fn where_it_goes(name: &str, config: &Value) -> Result<String, PluginError> {
    let text = |k: &str| config[k].as_str();
    let file_name = text("name").unwrap_or(name);
    // The fields the path is made of, first to last.
    let parts: Vec<(&str, &str)> = match (text("path"), text("directory")) {
        (Some(path), _) => vec![("path", path)],
        (None, Some(dir)) => vec![("directory", dir), ("name", file_name)],
        (None, None) => vec![("name", file_name)],
    };
    let at = |field: &str, message: String| invalid(Some(&format!("/{field}")), message);
    if let Some((field, _)) = parts.iter().find(|(_, v)| v.contains('\0')) {
        return Err(at(
            field,
            format!("`{field}` contains a NUL byte, which file paths cannot hold"),
        ));
    }
    let (first_field, first) = parts[0];
    if first.trim_start_matches("./").starts_with('~') {
        let rest = first.trim_start_matches("./").trim_start_matches('~');
        let example = match rest.trim_start_matches('/') {
            "" => "notes.md",
            rest => rest,
        };
        return Err(at(
            first_field,
            format!(
                "`{first}` starts with `~`, which is not expanded: paths are relative to the project folder, e.g. `{example}`"
            ),
        ));
    }
    let path = match parts.as_slice() {
        [(_, dir), (_, file)] => {
            if !dir.starts_with('/')
                && dir
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .is_empty()
            {
                return Err(at(
                    "directory",
                    "`directory` names no folder: leave it out to write the file in the project folder".into(),
                ));
            }
            format!(
                "{}/{}",
                dir.trim_start_matches("./").trim_end_matches('/'),
                file
            )
        }
        _ => first.trim_start_matches("./").to_string(),
    };
    if path.starts_with('/') || path.split('/').any(|p| p == "..") {
        // The directory when it is the one leaving, else the last part.
        let field = parts
            .iter()
            .find(|(_, v)| v.starts_with('/') || v.split('/').any(|p| p == ".."))
            .map_or(first_field, |(f, _)| *f);
        return Err(at(
            field,
            format!("`{path}` leaves the project folder; files are written inside it"),
        ));
    }
    let (last_field, last) = parts[parts.len() - 1];
    if last.trim_start_matches("./").is_empty() {
        let what = match last_field {
            "name" => "the file's name, e.g. `README.md`",
            _ => "the file's path relative to the project folder, e.g. `config/app.json`",
        };
        return Err(at(
            last_field,
            format!("`{last_field}` is empty: give {what}"),
        ));
    }
    if path.ends_with('/') || path == "." || path.ends_with("/.") {
        return Err(at(
            last_field,
            format!(
                "`{path}` names a folder, not a file: give the file's name too, e.g. `config/app.json`"
            ),
        ));
    }
    if let Some(what) = clockworks_own(&path) {
        return Err(at(
            first_field,
            format!("`{path}` is {what}; a FileResource cannot write it: choose another path"),
        ));
    }
    Ok(path)
}

/// The files every Clockwork project keeps for itself. The host refuses
/// writing them whatever a plugin plans; saying it here puts the message at
/// the field.
fn clockworks_own(path: &str) -> Option<&'static str> {
    let normal: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    match normal.as_slice() {
        [".clockwork", ..] => Some("inside Clockwork's state folder `.clockwork/`"),
        ["plugins", _, ..] => Some("inside the project's plugin folder `plugins/`"),
        ["main.star"] | ["main.py"] => Some("the project file"),
        ["clockwork.toml"] => Some("the project's settings file"),
        [".env"] => Some("the project's environment file"),
        _ => None,
    }
}

/// What is on disk now: the content and the mode, if the file exists.
pub type Current = Option<(String, u32)>;

/// The decision, given what is on disk.
pub fn decide(spec: Option<&FileSpec>, prior: Option<&Value>, current: &Current) -> ChangePlan {
    let prior_path = prior.and_then(|p| p["path"].as_str());
    let Some(spec) = spec else {
        return match prior_path {
            Some(path) if current.is_some() => ChangePlan {
                change: Change::Delete,
                diff: Vec::new(),
                actions: vec![Action::RemovePath(path.to_string())],
                planned_state: Value::Null.to_string(),
            },
            _ => ChangePlan::unchanged(&Value::Null),
        };
    };
    let state = json!({"path": spec.path, "mode": spec.mode, "bytes": spec.content.len()});
    let write = action(Action::WriteFile, spec);
    let mode = u32::from_str_radix(&spec.mode, 8).unwrap_or(0o644);
    if let Some(old) = prior_path.filter(|p| *p != spec.path) {
        return ChangePlan {
            change: Change::Replace,
            diff: vec![FieldChange {
                path: "/path".into(),
                old: Some(json!(old).to_string()),
                new: Some(json!(spec.path).to_string()),
                forces_replace: true,
            }],
            actions: vec![Action::RemovePath(old.to_string()), write],
            planned_state: state.to_string(),
        };
    }
    match current {
        None => ChangePlan {
            change: Change::Create,
            diff: Vec::new(),
            actions: vec![write],
            planned_state: state.to_string(),
        },
        Some((content, current_mode)) if *content == spec.content && *current_mode == mode => {
            ChangePlan::unchanged(&state)
        }
        Some((content, current_mode)) => {
            let mut diff = Vec::new();
            if *content != spec.content {
                diff.push(FieldChange {
                    path: "/content".into(),
                    old: Some(json!(format!("{} bytes", content.len())).to_string()),
                    new: Some(json!(format!("{} bytes", spec.content.len())).to_string()),
                    forces_replace: false,
                });
            }
            if *current_mode != mode {
                diff.push(FieldChange {
                    path: "/mode".into(),
                    old: Some(json!(format!("{current_mode:o}")).to_string()),
                    new: Some(json!(spec.mode).to_string()),
                    forces_replace: false,
                });
            }
            ChangePlan {
                change: Change::Update,
                diff,
                actions: vec![write],
                planned_state: state.to_string(),
            }
        }
    }
}

fn read_current(path: &str) -> Result<Current, PluginError> {
    let stat = fs::stat("project", path)
        .map_err(|e| PluginError::Failed(format!("cannot look at `{path}`: {}", e.message())))?;
    match stat {
        None => Ok(None),
        Some(s) if s.is_dir => Err(invalid(Some("/path"), format!("`{path}` is a folder"))),
        Some(s) => {
            let bytes = fs::read("project", path, 16 << 20).map_err(|e| {
                PluginError::Failed(format!("cannot read `{path}`: {}", e.message()))
            })?;
            Ok(Some((
                String::from_utf8_lossy(&bytes).into_owned(),
                s.mode & 0o777,
            )))
        }
    }
}

pub fn plan(input: &PlanInput) -> Result<ChangePlan, PluginError> {
    let prior = input.prior_json()?;
    let spec = input
        .desired_json()?
        .map(|d| file_spec(&input.target.name, &d))
        .transpose()?;
    let path = spec.as_ref().map(|s| s.path.clone()).or_else(|| {
        prior
            .as_ref()
            .and_then(|p| p["path"].as_str().map(str::to_string))
    });
    let current = match &path {
        Some(path) => read_current(path)?,
        None => None,
    };
    Ok(decide(spec.as_ref(), prior.as_ref(), &current))
}

pub fn settle(
    _input: &PlanInput,
    plan: &ChangePlan,
    _results: &[ActionResult],
) -> Result<String, PluginError> {
    Ok(plan.planned_state.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FileSpec {
        file_spec("notes.md", &json!({"name": "notes.md", "directory": "generated", "content": "hi\n", "mode": "644"})).unwrap()
    }

    #[test]
    fn clockworks_own_files_are_refused_at_the_field() {
        for own in [
            "main.star",
            "./main.py",
            "clockwork.toml",
            ".env",
            ".clockwork/x",
            "plugins/a.wasm",
        ] {
            let err = file_spec("x", &json!({"path": own, "content": ""})).unwrap_err();
            assert!(
                matches!(&err, PluginError::InvalidConfig(d) if d[0].path.as_deref() == Some("/path")),
                "{own}: {err:?}"
            );
        }
        assert!(file_spec("x", &json!({"path": "docs/main.star", "content": ""})).is_ok());
        assert!(file_spec("x", &json!({"path": "plugins.md", "content": ""})).is_ok());
    }

    #[test]
    fn paths_and_modes_are_checked() {
        assert_eq!(spec().path, "generated/notes.md");
        assert!(file_spec("x", &json!({"path": "../x", "content": ""})).is_err());
        assert!(file_spec("x", &json!({"name": "x", "content": "", "mode": "rw"})).is_err());
    }

    /// The pointer and message of the problem with where a config puts
    /// its file.
    fn problem(config: Value) -> (String, String) {
        let mut config = config;
        config["content"] = json!("");
        match file_spec("notes.md", &config) {
            Err(PluginError::InvalidConfig(d)) => {
                (d[0].path.clone().unwrap_or_default(), d[0].summary.clone())
            }
            other => panic!("{config}: {other:?}"),
        }
    }

    #[test]
    fn a_tilde_is_refused_at_the_field_that_starts_the_path() {
        assert_eq!(
            problem(json!({"path": "~/notes.md"})),
            (
                "/path".into(),
                "`~/notes.md` starts with `~`, which is not expanded: paths are relative to the project folder, e.g. `notes.md`".into()
            )
        );
        assert_eq!(
            problem(json!({"directory": "~/docs", "name": "a.md"})).0,
            "/directory"
        );
        assert_eq!(problem(json!({"name": "~"})).0, "/name");
        assert!(problem(json!({"name": "~"})).1.ends_with("e.g. `notes.md`"));
        // Inside the path, `~` is an ordinary character.
        let spec = file_spec(
            "x",
            &json!({"directory": "docs", "name": "~draft.md", "content": ""}),
        );
        assert_eq!(spec.unwrap().path, "docs/~draft.md");
    }

    #[test]
    fn empty_paths_folders_and_nul_bytes_are_refused() {
        assert_eq!(
            problem(json!({"path": ""})),
            (
                "/path".into(),
                "`path` is empty: give the file's path relative to the project folder, e.g. `config/app.json`".into()
            )
        );
        assert_eq!(problem(json!({"path": "./"})).0, "/path");
        assert_eq!(
            problem(json!({"directory": "docs", "name": ""})),
            (
                "/name".into(),
                "`name` is empty: give the file's name, e.g. `README.md`".into()
            )
        );
        assert_eq!(
            problem(json!({"path": "config/"})),
            (
                "/path".into(),
                "`config/` names a folder, not a file: give the file's name too, e.g. `config/app.json`".into()
            )
        );
        assert_eq!(problem(json!({"name": "docs/"})).0, "/name");
        assert_eq!(problem(json!({"path": "."})).0, "/path");
        assert_eq!(
            problem(json!({"directory": ""})),
            (
                "/directory".into(),
                "`directory` names no folder: leave it out to write the file in the project folder"
                    .into()
            )
        );
        assert_eq!(
            problem(json!({"directory": "docs", "name": "a\u{0}b"})),
            (
                "/name".into(),
                "`name` contains a NUL byte, which file paths cannot hold".into()
            )
        );
        // Leaving the project is reported where it happens.
        assert_eq!(
            problem(json!({"directory": "../shared"})),
            (
                "/directory".into(),
                "`../shared/notes.md` leaves the project folder; files are written inside it"
                    .into()
            )
        );
        assert_eq!(
            problem(json!({"directory": "docs", "name": "../x"})).0,
            "/name"
        );
        assert_eq!(problem(json!({"directory": "/"})).0, "/directory");
    }

    #[test]
    fn writes_when_missing_or_different_and_not_otherwise() {
        assert!(matches!(
            decide(Some(&spec()), None, &None).change,
            Change::Create
        ));
        assert!(matches!(
            decide(Some(&spec()), None, &Some(("hi\n".into(), 0o644))).change,
            Change::None
        ));
        let changed = decide(Some(&spec()), None, &Some(("old\n".into(), 0o644)));
        assert!(matches!(changed.change, Change::Update));
        assert_eq!(changed.diff[0].path, "/content");
        assert!(matches!(
            decide(Some(&spec()), None, &Some(("hi\n".into(), 0o600))).change,
            Change::Update
        ));
    }

    #[test]
    fn a_moved_file_removes_the_old_one_and_destroy_removes_it() {
        let prior = json!({"path": "old/notes.md"});
        let moved = decide(Some(&spec()), Some(&prior), &None);
        assert!(matches!(moved.change, Change::Replace));
        assert!(matches!(&moved.actions[0], Action::RemovePath(p) if p == "old/notes.md"));
        let gone = decide(
            None,
            Some(&json!({"path": "generated/notes.md"})),
            &Some(("hi\n".into(), 0o644)),
        );
        assert!(matches!(&gone.actions[..], [Action::RemovePath(p)] if p == "generated/notes.md"));
    }
}
