//! `clockwork.lock` and `.clockwork/state.json` as a repository or another
//! user may hand them over: any text, hand-edited entries, damaged files.
//! Reading them never panics, and a lock's values pass the checks a
//! model's answer does.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::complete::lock::LockFile;
use crate::complete::prompt::{Placeholders, Shown};
use crate::complete::trust::{Declared, refusal};
use crate::project::{Identity, ProjectDir};
use crate::state::State;

use super::fuzz;

const VALID_LOCK: &str = r#"version = 1

[resources.web]
type = "DockerResource"
inputs = "sha256:00"

[resources.web.fields.env_vars]
source = "model:m"

[resources.web.fields.env_vars.value]
A = "{{secret:db.env_vars.POSTGRES_PASSWORD}}"

[resources.web.fields.volumes]
source = "model:m"
value = ["/etc:/host-etc", "pgdata:/data"]
"#;

const VALID_STATE: &str = r#"{"version": 1, "project": "p", "project_id": "0123456789ab",
 "adopted": ["ba9876543210"], "resources": {"web": {"type": "DockerResource", "state": {},
 "depends_on": [], "updated_at": 1, "containers": [{"name": "web", "id": "abc"}]}},
 "files": {"notes.txt": {"resource": "notes", "sha256": "00"}}}"#;

/// A text damaged the way edits and truncations damage files.
fn damaged(valid: &'static str) -> impl Strategy<Value = String> {
    let edits = proptest::collection::vec(
        (
            any::<prop::sample::Index>(),
            0usize..8,
            prop_oneof!["[ -~\n]{0,6}", "\\PC{0,3}", Just(String::new())],
        ),
        0..6,
    );
    prop_oneof![
        edits.prop_map(move |edits| {
            let mut text = valid.to_string();
            for (at, remove, insert) in edits {
                let mut i = at.index(text.len() + 1);
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                let mut end = (i + remove).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(i..end, &insert);
            }
            text
        }),
        "[ -~\n]{0,200}",
    ]
}

fn write(dir: &std::path::Path, relative: &str, text: &str) -> Result<(), String> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(path, text).map_err(|e| e.to_string())
}

#[test]
fn a_lock_file_is_read_as_untrusted_input() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    let files = ProjectDir::open(&root).expect("open");
    let places = [(
        "db".to_string(),
        json!({"env_vars": {"POSTGRES_PASSWORD": "other-Secret-3"}}),
    )];
    let placeholders = Placeholders::new(["other-Secret-3".to_string()], &places);
    let shown = Shown::default();
    let declared = Declared::for_tests(["backend"], ["pgdata"]);
    let schema = |name: &str| {
        let value_type = match name {
            "volumes" => "list<mount>",
            "ports" => "list<port>",
            "env_vars" => "map<string>",
            _ => "any",
        };
        clockwork_schema::FieldSchema {
            completable: true,
            ..clockwork_schema::FieldSchema::new(name, value_type)
        }
    };
    fuzz("files/lock", damaged(VALID_LOCK), |text| {
        write(&root, "clockwork.lock", text)?;
        let Ok(mut lock) = LockFile::read(&files) else {
            return Ok(());
        };
        for entry in lock.of(crate::model::PluginKind::Resource).values() {
            for (name, field) in &entry.fields {
                let Ok(value) = placeholders.restore(&field.value, &shown) else {
                    continue;
                };
                if value.to_string().contains("other-Secret-3") {
                    return Err(format!("a placeholder not shown came back: {value}"));
                }
                let field_schema = schema(name);
                if name == "volumes"
                    && refusal(&field_schema, &value, &declared).is_none()
                    && value.to_string().contains("/etc")
                {
                    return Err(format!("a bind mount from the lock passed: {value}"));
                }
            }
        }
        Ok(())
    });
}

#[test]
fn a_state_file_is_read_as_untrusted_input() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    let files = ProjectDir::open(&root).expect("open");
    let identity = Identity::new("p", &root);
    let structured = (
        any::<u32>(),
        proptest::collection::vec("[0-9a-f]{0,14}", 0..3),
        "[ -~]{0,10}",
    )
        .prop_map(|(version, adopted, name)| {
            json!({"version": version % 3, "project": name, "adopted": adopted,
                   "resources": {name.clone(): {"type": name, "state": Value::Null, "updated_at": version}}})
            .to_string()
        });
    let input = prop_oneof![damaged(VALID_STATE), structured];
    fuzz("files/state", input, |text| {
        write(&root, ".clockwork/state.json", text)?;
        let _ = State::load(&files, &identity);
        Ok(())
    });
}
