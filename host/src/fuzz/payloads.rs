//! The actions a plugin plans, as the policy decodes and checks them. A
//! plugin is untrusted: whatever JSON it returns, the check never panics,
//! and what it lets through grants nothing the user did not write.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use clockwork_schema::actions::{ContainerSpec, WaitCondition, WaitSpec};
use clockwork_schema::{ValueType, parse_port};

use crate::model::Grants;
use crate::plugin::bindings::types::Action;
use crate::policy::{Scope, check};
use crate::project::ProjectDir;

use super::fuzz;

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/etc".to_string()),
        Just("/var/run/docker.sock".to_string()),
        Just("/".to_string()),
        Just("/srv/data".to_string()),
        Just(".".to_string()),
        Just("./data".to_string()),
        Just("data/../..".to_string()),
        Just("../outside".to_string()),
        Just("~/x".to_string()),
        Just(".clockwork".to_string()),
        Just(".clockwork/state.json".to_string()),
        Just("./.clockwork/../.env".to_string()),
        Just("link-out/x".to_string()),
        Just("state-link/state.json".to_string()),
        Just("fifo".to_string()),
        Just("main.star".to_string()),
        Just("plugins/x.wasm".to_string()),
        "[a-z./~-]{0,12}",
        "\\PC{0,8}",
    ]
}

fn port() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("8080:80".to_string()),
        Just("0.0.0.0:2375:2375".to_string()),
        Just("127.0.0.1:5432:5432".to_string()),
        Just("53/udp".to_string()),
        Just("80".to_string()),
        Just("[::1]:8080:80".to_string()),
        "[0-9:./a-z\\[\\]]{0,16}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,10}",
        "\\PC{0,6}",
        Just("a\u{0}b".to_string()),
        Just("x\ny".to_string())
    ]
}

fn mount() -> impl Strategy<Value = Value> {
    (path(), path(), any::<bool>(), any::<bool>()).prop_map(|(source, target, ro, extra)| {
        let mut m = json!({"source": source, "target": target, "read_only": ro});
        if extra {
            m["propagation"] = json!("rshared");
        }
        m
    })
}

fn container(resource: String) -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just(resource), "[a-z-]{0,8}"],
        text(),
        proptest::collection::btree_map(text(), text(), 0..3),
        proptest::collection::vec(port(), 0..3),
        proptest::collection::vec(mount(), 0..3),
        proptest::collection::vec(
            prop_oneof![Just("host".to_string()), "[a-z_.-]{0,10}"],
            0..2,
        ),
        proptest::collection::btree_map(
            prop_oneof![Just("dev.clockwork.project-id".to_string()), text()],
            text(),
            0..2,
        ),
        proptest::option::of(prop_oneof![
            Just("privileged"),
            Just("cap_add"),
            Just("network_mode"),
            Just("devices"),
            Just("restart_policy"),
        ]),
    )
        .prop_map(
            |(name, image, env, ports, mounts, networks, labels, extra)| {
                let mut spec = json!({
                    "name": name, "image": image, "env": env, "ports": ports,
                    "mounts": mounts, "networks": networks, "labels": labels,
                });
                if let Some(key) = extra {
                    spec[key] = json!(true);
                }
                spec
            },
        )
}

fn wait() -> impl Strategy<Value = Value> {
    prop_oneof![
        (text(), any::<u16>())
            .prop_map(|(host, port)| json!({"tcp": {"host": host, "port": port}})),
        prop_oneof![
            Just("http://127.0.0.1:8080/".to_string()),
            Just("http://192.0.2.1/".to_string()),
            Just("file:///etc/passwd".to_string()),
            Just("http://[::1]/x".to_string()),
            Just("http://localhost@192.0.2.1/".to_string()),
            "[ -~]{0,20}",
        ]
        .prop_map(|url| json!({"http": {"url": url}})),
        text().prop_map(|c| json!({"healthy": {"container": c}})),
        (text(), text()).prop_map(|(c, p)| json!({"log_line": {"container": c, "pattern": p}})),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    /// What the user wrote in the declaration: grants come from this.
    user: Value,
    action: Action,
}

fn case() -> impl Strategy<Value = Case> {
    let user = (
        proptest::collection::vec(port(), 0..2),
        proptest::collection::vec(
            (path(), path()).prop_map(|(s, t)| Value::String(format!("{s}:{t}"))),
            0..2,
        ),
        text(),
    )
        .prop_map(|(ports, volumes, command)| {
            json!({"ports": ports, "volumes": volumes, "command": [command]})
        });
    let garbage = prop_oneof![
        "[ -~]{0,40}",
        Just("null".to_string()),
        Just("{}".to_string())
    ];
    let action = prop_oneof![
        container("web".into()).prop_map(|v| Action::EnsureContainer(v.to_string())),
        garbage.clone().prop_map(Action::EnsureContainer),
        text().prop_map(Action::RemoveContainer),
        text().prop_map(|n| Action::EnsureNetwork(json!({"name": n}).to_string())),
        text().prop_map(Action::RemoveNetwork),
        garbage.clone().prop_map(Action::EnsureVolume),
        (path(), text(), "[0-9a-z]{0,5}").prop_map(|(p, c, m)| Action::WriteFile(
            json!({"path": p, "content": c, "mode": m}).to_string()
        )),
        path().prop_map(Action::RemovePath),
        (text(), proptest::option::of(path())).prop_map(|(c, stdin)| Action::Exec(
            json!({"container": c, "argv": ["true"], "stdin_file": stdin}).to_string()
        )),
        wait().prop_map(|w| Action::Wait(w.to_string())),
        garbage.clone().prop_map(Action::Wait),
        (
            prop_oneof![
                Just("git".to_string()),
                Just("apple-container".to_string()),
                text()
            ],
            prop_oneof![Just("run".to_string()), Just("clone".to_string()), text()],
            prop_oneof![
                container("web".into()).prop_map(|c| {
                    let mut run = Map::new();
                    run.insert("name".into(), c["name"].clone());
                    run.insert("image".into(), c["image"].clone());
                    run.insert("ports".into(), c["ports"].clone());
                    Value::Object(run).to_string()
                }),
                garbage,
            ],
        )
            .prop_map(Action::Ext),
    ];
    (user, action).prop_map(|(user, action)| Case { user, action })
}

/// A project folder with the things a hostile path aims at.
fn project() -> (tempfile::TempDir, ProjectDir) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    std::fs::create_dir_all(root.join(".clockwork/tls")).expect("mkdir");
    std::fs::write(root.join(".clockwork/state.json"), "{}").expect("write");
    std::fs::write(root.join(".env"), "A=1\n").expect("write");
    std::fs::write(root.join("main.star"), "").expect("write");
    std::fs::create_dir_all(root.join("data")).expect("mkdir");
    std::os::unix::fs::symlink("/", root.join("link-out")).expect("link");
    std::os::unix::fs::symlink(".clockwork", root.join("state-link")).expect("link");
    let _ = std::process::Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status();
    let dir = ProjectDir::open(&root).expect("open");
    (tmp, dir)
}

fn types(name: &str) -> Option<ValueType> {
    ValueType::parse(match name {
        "ports" => "list<port>",
        "volumes" => "list<mount>",
        _ => "list<string>",
    })
    .ok()
}

/// What the policy let through must be within what the user wrote.
fn within_grants(grants: &Grants, action: &Action) -> Result<(), String> {
    match action {
        Action::EnsureContainer(text) => {
            let spec: ContainerSpec =
                serde_json::from_str(text).map_err(|e| format!("passed, unparsable: {e}"))?;
            if spec.name != "web" {
                return Err(format!("passed a container named `{}`", spec.name));
            }
            for p in &spec.ports {
                let parsed = parse_port(p).map_err(|e| format!("passed a bad port: {e}"))?;
                if !grants.allows_port(&parsed) {
                    return Err(format!("passed the port `{p}` nobody wrote"));
                }
            }
            for m in &spec.mounts {
                let bind_out = m.source.starts_with('/') || m.source.starts_with('~');
                if bind_out && !grants.allows_bind(m) {
                    return Err(format!("passed the bind `{}` nobody wrote", m.source));
                }
            }
            if spec.env.keys().any(|k| k.chars().any(char::is_control)) {
                return Err("passed an environment name with a control character".into());
            }
            Ok(())
        }
        Action::Wait(text) => {
            let Ok(spec) = serde_json::from_str::<WaitSpec>(text) else {
                return Err("passed an unparsable wait".into());
            };
            match spec.condition {
                WaitCondition::Tcp { host, .. }
                    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") =>
                {
                    Err(format!("passed a probe of `{host}`"))
                }
                WaitCondition::Http { url, .. } => {
                    let host = url::Url::parse(&url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_default();
                    if matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1") {
                        Ok(())
                    } else {
                        Err(format!("passed a fetch of `{url}`"))
                    }
                }
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

#[test]
fn the_policy_grants_only_what_the_user_wrote() {
    let (_tmp, files) = project();
    fuzz("payloads/policy", case(), |case| {
        let fields = case.user.as_object().cloned().unwrap_or_default();
        let mut scope = Scope::of("web", "DockerResource");
        scope.grants = Grants::of_user_fields(&fields, types);
        match check(
            &files,
            &scope,
            &case.action,
            crate::driver::Drivers::bundled(),
        ) {
            Ok(()) => within_grants(&scope.grants, &case.action),
            Err(denial) => {
                // Every refusal says what to do about it.
                if denial.fix().is_empty() || denial.to_string().is_empty() {
                    return Err(format!("a refusal without words: {denial:?}"));
                }
                Ok(())
            }
        }
    });
}
