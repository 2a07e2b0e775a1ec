//! Project files as anyone may write them: declarations of every bundled
//! type with fields of every kind, references, `env()`, `print()`, and
//! text damaged by edits. Loading, validating, resolving and planning
//! never panic or hang, and no message shows a secret.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use crate::plugin::{PluginRuntime, PluginSet, RuntimeOptions, discover};
use crate::project::Project;

use super::{fuzz, secret_token};

const TYPES: &[&str] = &[
    "DockerResource",
    "FileResource",
    "BlankResource",
    "DatabaseConnection",
    "NetworkConnection",
    "DependencyConnection",
    "FileConnection",
    "HealthcheckAssert",
    "PortAccessibleAssert",
    "FileExistsAssert",
    "PythonAssert",
];

const FIELDS: &[&str] = &[
    "name",
    "description",
    "image",
    "ports",
    "env_vars",
    "volumes",
    "networks",
    "command",
    "labels",
    "healthcheck",
    "to_resource",
    "connections",
    "assertions",
    "password",
    "username",
    "database_name",
    "path",
    "content",
    "mode",
    "port",
    "url",
    "timeout_seconds",
    "network_name",
    "schema_file",
    "overwrite",
    "max_duration",
];

/// A Starlark expression; `secret` is a value meant to be secret, and
/// stands only where it is one (under a secret-looking key, as a URL's
/// password); `names` is the variables bound so far.
fn expression(secret: String, names: usize) -> impl Strategy<Value = String> {
    let reference = (0..names.max(1)).prop_map(|i| format!("v{i}"));
    let leaf = prop_oneof![
        "[a-z0-9 ./:_-]{0,12}".prop_map(|s| format!("{s:?}")),
        Just(format!("\"postgresql://u:{secret}@db/x\"")),
        Just("\"8080:80\"".to_string()),
        Just("\"/etc:/host\"".to_string()),
        Just("\"./data:/data\"".to_string()),
        Just("env(\"DB_PASSWORD\")".to_string()),
        Just("env(\"MISSING_VAR\")".to_string()),
        Just("env(\"API_TOKEN\", \"d\")".to_string()),
        any::<i32>().prop_map(|n| n.to_string()),
        Just("None".to_string()),
        Just("True".to_string()),
        Just("3.5".to_string()),
        reference,
    ];
    leaf.prop_recursive(3, 16, 4, move |inner| {
        let secret = secret.clone();
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("\"DB_PASSWORD\"".to_string()),
                        Just("\"MODE\"".to_string()),
                        Just("\"API_KEY\"".to_string()),
                        "[A-Z_]{1,6}".prop_map(|k| format!("{k:?}")),
                    ],
                    inner.clone()
                ),
                0..3
            )
            .prop_map(|kv| format!(
                "{{{}}}",
                kv.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} + {b}")),
            Just(format!("{{\"DB_PASSWORD\": {secret:?}}}")),
        ]
    })
}

fn statement(secret: String, index: usize) -> impl Strategy<Value = String> {
    let literal = secret.clone();
    let call = (
        proptest::sample::select(TYPES),
        proptest::collection::vec(
            (
                proptest::sample::select(FIELDS),
                expression(secret.clone(), index),
            ),
            0..5,
        ),
        any::<bool>(),
    )
        .prop_map(move |(ty, kwargs, password)| {
            let mut seen = Vec::new();
            let mut args: Vec<String> = kwargs
                .into_iter()
                .filter(|(k, _)| {
                    let fresh = !seen.contains(k) && *k != "password";
                    seen.push(*k);
                    fresh
                })
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            // A secret field, written literally.
            if password {
                args.push(format!("password = {literal:?}"));
            }
            format!("{ty}({})", args.join(", "))
        });
    prop_oneof![
        4 => call.prop_map(move |c| format!("v{index} = {c}")),
        1 => expression(secret.clone(), index).prop_map(move |e| format!("v{index} = {e}")),
        1 => (0..index.max(1), 0..index.max(1)).prop_map(|(a, b)| format!("v{a}.connect(v{b})")),
        1 => expression(secret, index).prop_map(|e| format!("print({e})")),
        1 => Just("def check(r):\n    return (True, \"ok\")".to_string()),
    ]
}

#[derive(Debug, Clone)]
struct ProjectText {
    main: String,
    secret: String,
    env_secret: String,
    /// Whether edits damaged the text: the secret may then stand where no
    /// reader can tell it is one (`{"DB_PASSWOH`: "s3cret"}`), so only
    /// panics and hangs are looked for.
    edited: bool,
}

fn project_text() -> impl Strategy<Value = ProjectText> {
    (secret_token(), secret_token()).prop_flat_map(|(secret, env_secret)| {
        let statements: Vec<_> = (0..6).map(|i| statement(secret.clone(), i)).collect();
        let edits = proptest::collection::vec(
            (any::<prop::sample::Index>(), 0usize..4, "[ -~]{0,3}"),
            0..2,
        );
        (statements, edits).prop_map(move |(lines, edits)| {
            let mut main = lines.join("\n") + "\n";
            let edited = !edits.is_empty();
            for (at, remove, insert) in edits {
                let mut i = at.index(main.len() + 1);
                while !main.is_char_boundary(i) {
                    i -= 1;
                }
                let mut end = (i + remove).min(main.len());
                while !main.is_char_boundary(end) {
                    end -= 1;
                }
                main.replace_range(i..end, &insert);
            }
            ProjectText {
                main,
                secret: secret.clone(),
                env_secret: env_secret.clone(),
                edited,
            }
        })
    })
}

fn test_cache() -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("test-plugin-cache")
}

#[test]
fn a_project_file_of_any_text_is_refused_located_and_shows_no_secret() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let runtime = PluginRuntime::new(RuntimeOptions {
        cache_root: Some(test_cache()),
        project_dir: Some(root.clone()),
        ..RuntimeOptions::default()
    })
    .expect("runtime");
    let (files, problems) = discover(None);
    let plugins =
        Arc::new(tokio.block_on(PluginSet::load(&runtime, files, problems, &BTreeMap::new())));
    fuzz("project/main.star", project_text(), |p| {
        std::fs::write(root.join("main.star"), &p.main).map_err(|e| e.to_string())?;
        std::fs::write(
            root.join(".env"),
            format!("DB_PASSWORD={}\nAPI_TOKEN={}\n", p.env_secret, p.env_secret),
        )
        .map_err(|e| e.to_string())?;
        let folder = Project::open(&root).map_err(|e| e.to_string())?;
        let mut shown = Vec::new();
        tokio.block_on(async {
            match crate::load::load(&folder, &plugins).await {
                Ok((project, _)) => {
                    crate::output::register_secrets(project.secrets.iter().cloned());
                    match crate::resolve::resolve(project, plugins.as_ref(), &|_| None).await {
                        Ok(mut graph) => {
                            crate::complete::defaults(&mut graph, plugins.as_ref());
                            let state = crate::state::State::empty(&folder.identity);
                            let compared = crate::plan::Compared {
                                state: &state,
                                observation: None,
                            };
                            if let Err(e) = crate::plan::plan(
                                &graph,
                                plugins.as_ref(),
                                &folder.identity,
                                compared,
                            )
                            .await
                            {
                                shown.push(crate::output::masked(&format!("{e:?} {e}")));
                            }
                        }
                        Err(e) => shown.push(crate::output::masked(&format!("{e:?} {e}"))),
                    }
                }
                Err(error) => {
                    crate::load::LoadReport(&error).each(|d| shown.push(crate::output::rendered(d)))
                }
            }
        });
        for text in shown.iter().filter(|_| !p.edited) {
            for secret in [&p.secret, &p.env_secret] {
                if text.contains(secret.as_str()) {
                    return Err(format!("a message shows the secret `{secret}`:\n{text}"));
                }
            }
        }
        Ok(())
    });
}
