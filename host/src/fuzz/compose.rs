//! Compose files as a repository may hold them, through `clockwork
//! import`: services with every key in every shape, env files with
//! secrets, names and values that try to write code, and damaged text.
//! Importing never panics or hangs; what it writes parses as Starlark, and
//! no secret of an env file is in it or in what it says.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::import::read::{EnvFiles, ReadError};
use crate::import::{Input, import};

use super::{fuzz, secret_token};

/// Env files in memory, by the path the Compose file writes, beneath
/// `/work/app`.
struct Files(Vec<(String, String)>);

impl EnvFiles for Files {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        if path.starts_with('/') || path.contains("..") {
            return Err(ReadError::Outside);
        }
        let path = path.trim_start_matches("./");
        self.0
            .iter()
            .find(|(name, _)| name == path)
            .map(|(_, text)| text.clone())
            .ok_or_else(|| ReadError::NotFound(std::io::ErrorKind::NotFound.into()))
    }
}

/// A scalar as a Compose file may hold one, some of them trying to leave
/// a string in the Starlark written.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-z0-9_.:/-]{0,12}".prop_map(Value::String),
        Just(json!("a\"b\\\\c")),
        Just(json!("line\nprint(\"injected\")")),
        Just(json!("${HOME}/x")),
        Just(json!("${DB_PASSWORD:-fallback}")),
        Just(json!("$${literal}")),
        Just(json!("${UNCLOSED")),
        Just(json!("8080:80")),
        Just(json!("1-4294967295:80")),
        Just(json!("/var/run/docker.sock:/var/run/docker.sock")),
        Just(json!("./data:/data:ro")),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn any_shape() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const KEYS: &[&str] = &[
    "image",
    "ports",
    "environment",
    "env_file",
    "volumes",
    "networks",
    "depends_on",
    "command",
    "entrypoint",
    "healthcheck",
    "labels",
    "restart",
    "build",
    "deploy",
    "secrets",
    "x-custom",
];

fn service(secret: String) -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(KEYS), any_shape()), 0..6).prop_map(
        move |keys| {
            let mut service = Map::new();
            for (key, value) in keys {
                service.insert(key.to_string(), value);
            }
            // The shapes that matter most, with the secret where a Compose
            // file would have it.
            service
                .entry("env_file")
                .or_insert_with(|| json!(["app.env"]));
            service.entry("environment").or_insert_with(|| {
                json!({"MODE": "dev", "DB_PASSWORD": "${DB_PASSWORD}", "URL": format!("postgresql://u:{secret}@db/x")})
            });
            Value::Object(service)
        },
    )
}

#[derive(Debug, Clone)]
struct Project {
    compose: String,
    env: String,
    secrets: Vec<String>,
    /// Whether edits damaged the text (then only panics and hangs count).
    edited: bool,
}

fn project() -> impl Strategy<Value = Project> {
    (secret_token(), secret_token()).prop_flat_map(|(inline, in_file)| {
        let services = proptest::collection::btree_map(
            prop_oneof!["[a-z][a-z0-9_-]{0,6}", Just("web\"x".to_string()), Just("db".to_string())],
            service(inline.clone()),
            1..4,
        );
        let edits = proptest::collection::vec(
            (any::<prop::sample::Index>(), 0usize..4, "[ -~\n]{0,3}"),
            0..2,
        );
        (services, edits).prop_map(move |(services, edits)| {
            let document = json!({"services": services});
            let mut compose = serde_yaml_ng::to_string(&document).unwrap_or_default();
            let edited = !edits.is_empty();
            for (at, remove, insert) in edits {
                let mut i = at.index(compose.len() + 1);
                while !compose.is_char_boundary(i) {
                    i -= 1;
                }
                let mut end = (i + remove).min(compose.len());
                while !compose.is_char_boundary(end) {
                    end -= 1;
                }
                compose.replace_range(i..end, &insert);
            }
            Project {
                compose,
                env: format!(
                    "DB_PASSWORD={in_file}\nAPI_TOKEN=\"{in_file}\"\nMODE=dev\nURL=redis://:{in_file}@cache\n"
                ),
                secrets: vec![in_file.clone(), inline.clone()],
                edited,
            }
        })
    })
}

#[test]
fn a_compose_file_of_any_text_is_imported_safely() {
    let dir = Path::new("/work/app");
    fuzz("import/compose", project(), |p| {
        let files = Files(vec![("app.env".to_string(), p.env.clone())]);
        let input = Input {
            file: "docker-compose.yml",
            text: &p.compose,
            compose_dir: dir,
            project_dir: dir,
            env_files: &files,
        };
        let (written, said) = match import(&input) {
            Ok(imported) => {
                if let Err(e) = starlark::syntax::AstModule::parse(
                    "main.star",
                    imported.starlark.clone(),
                    &crate::load::dialect(),
                ) {
                    return Err(format!(
                        "main.star does not parse ({e}):\n{}",
                        imported.starlark
                    ));
                }
                let said: Vec<String> = imported
                    .items
                    .iter()
                    .map(|i| format!("{} {}", i.key, i.reason))
                    .collect();
                (imported.starlark, said.join("\n"))
            }
            Err(e) => (String::new(), crate::output::masked(&format!("{e} {e:?}"))),
        };
        if p.edited {
            return Ok(());
        }
        // The env file's secret is read with env(), never copied.
        if written.contains(&p.secrets[0]) {
            return Err(format!("main.star holds an env file's secret:\n{written}"));
        }
        for secret in &p.secrets {
            if said.contains(secret.as_str()) {
                return Err(format!("import said a secret:\n{said}"));
            }
        }
        Ok(())
    });
}
