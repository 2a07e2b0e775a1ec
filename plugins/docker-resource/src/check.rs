//! What `validate` checks beyond the schema's types: the image reference,
//! port and mount syntax, clashing host ports, bind sources that leave the
//! project folder, reserved networks, variable names and NUL bytes, labels
//! in Clockwork's own namespace, the health check's shape. Every problem is
//! reported, each at its field.
//!
//! Messages never quote an environment value, a command or entrypoint
//! argument or a label's value: any of them may hold a secret.

use clockwork_sdk::clockwork_schema::{self, PortMapping};
use clockwork_sdk::error_at;
use clockwork_sdk::prelude::*;

use crate::image::check_image;

/// A `healthcheck` that leaves the image's own in place: none, or `{}`.
pub fn is_image_own(healthcheck: &Value) -> bool {
    healthcheck.is_null() || healthcheck.as_object().is_some_and(|o| o.is_empty())
}

/// Every problem of a config, in field order.
pub fn check(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(image) = config["image"].as_str()
        && let Err(message) = check_image(image)
    {
        problems.push(error_at(Some("/image"), message));
    }
    check_ports(config, &mut problems);
    check_volumes(config, &mut problems);
    check_env_vars(config, &mut problems);
    check_networks(config, &mut problems);
    for field in ["command", "entrypoint"] {
        for (i, argument) in strings(&config[field]) {
            if argument.contains('\0') {
                problems.push(error_at(
                    Some(&format!("/{field}/{i}")),
                    format!(
                        "`{field}[{i}]` contains a NUL byte, which command arguments cannot hold"
                    ),
                ));
            }
        }
    }
    check_labels(config, &mut problems);
    check_swarm_fields(config, &mut problems);
    if let Some(healthcheck) = config.get("healthcheck").filter(|h| !is_image_own(h)) {
        let test_ok = healthcheck["test"]
            .as_array()
            .is_some_and(|t| !t.is_empty() && t.iter().all(Value::is_string));
        if !test_ok {
            problems.push(error_at(
                Some("/healthcheck/test"),
                "`healthcheck` needs `test`: a non-empty list of strings, e.g. [\"CMD\", \"pg_isready\"]",
            ));
        }
    }
    problems
}

/// The string items of a list, with their indexes.
fn strings(list: &Value) -> impl Iterator<Item = (usize, &str)> {
    list.as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
}

/// `replicas` at least one; each `placement` constraint a comparison.
fn check_swarm_fields(config: &Value, problems: &mut Vec<Diagnostic>) {
    if let Some(n) = config["replicas"].as_i64()
        && !(1..=1000).contains(&n)
    {
        problems.push(error_at(
            Some("/replicas"),
            format!("`replicas` is {n}: give between 1 and 1000 tasks"),
        ));
    }
    for (i, constraint) in strings(&config["placement"]) {
        if !(constraint.contains("==") || constraint.contains("!=")) {
            problems.push(error_at(
                Some(&format!("/placement/{i}")),
                format!(
                    "`{constraint}` is not a constraint: write one as Docker does, e.g. `node.role==worker` or `node.hostname!=db-host`"
                ),
            ));
        }
    }
}

/// Port syntax, and each host port published once.
fn check_ports(config: &Value, problems: &mut Vec<Diagnostic>) {
    let mut published: Vec<(usize, PortMapping)> = Vec::new();
    for (i, text) in strings(&config["ports"]) {
        let mapping = match clockwork_schema::parse_port(text) {
            Ok(mapping) => mapping,
            Err(e) => {
                problems.push(error_at(Some(&format!("/ports/{i}")), e.to_string()));
                continue;
            }
        };
        let Some(port) = mapping.host_port else {
            // Docker picks a free host port: nothing to clash with.
            continue;
        };
        if let Some((first, _)) = published.iter().find(|(_, m)| clashes(m, &mapping)) {
            let address = match mapping.host_ip.filter(|ip| !ip.is_unspecified()) {
                Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
                Some(ip) => format!("{ip}:{port}"),
                None => port.to_string(),
            };
            problems.push(error_at(
                Some(&format!("/ports/{i}")),
                format!(
                    "host port {address}/{} is already published by `ports[{first}]`; give one of them another host port",
                    mapping.protocol
                ),
            ));
        } else {
            published.push((i, mapping));
        }
    }
}

/// Whether two published ports need the same host port. No address, or
/// `0.0.0.0`/`::`, binds every address, so it clashes with any address.
fn clashes(a: &PortMapping, b: &PortMapping) -> bool {
    let every = |m: &PortMapping| m.host_ip.is_none_or(|ip| ip.is_unspecified());
    a.host_port == b.host_port
        && a.protocol == b.protocol
        && (a.host_ip == b.host_ip || every(a) || every(b))
}

/// Mount syntax; bind sources that stay in the project folder; named
/// volumes Docker can create; targets other than `/`.
fn check_volumes(config: &Value, problems: &mut Vec<Diagnostic>) {
    for (i, item) in config["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("/volumes/{i}");
        // The host hands mounts over as objects; a string is the form users
        // write (and the one tests use).
        let (source, target, text) = match item {
            Value::String(text) => {
                let parts: Vec<&str> = text.split(':').collect();
                let (source, target) = match parts.as_slice() {
                    [source, target] => (*source, *target),
                    [source, target, "ro" | "rw"] => (*source, *target),
                    _ => ("", ""),
                };
                (source.to_string(), target.to_string(), text.clone())
            }
            Value::Object(o) => {
                let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let (source, target) = (field("source"), field("target"));
                let text = format!("{source}:{target}");
                (source, target, text)
            }
            _ => (String::new(), String::new(), item.to_string()),
        };
        let (source, target) = (source.as_str(), target.as_str());
        if source.is_empty() || !target.starts_with('/') {
            problems.push(error_at(
                Some(&at),
                format!("`{text}` is not a mount: expected \"source:/target\" or \"source:/target:ro\" (e.g. \"pgdata:/var/lib/postgresql/data\")"),
            ));
            continue;
        }
        if target.trim_end_matches('/').is_empty() {
            problems.push(error_at(
                Some(&at),
                format!("`{text}` mounts over `/` of the container: give a folder inside it, e.g. `/data`"),
            ));
        }
        if source.starts_with('~') {
            problems.push(error_at(
                Some(&at),
                "`~` is not expanded: use a path relative to the project folder (`./data`) or an absolute path",
            ));
        } else if source.starts_with('.') && clockwork_schema::leaves_folder(source) {
            problems.push(error_at(
                Some(&at),
                format!("`{source}` leaves the project folder; bind mounts are relative to it"),
            ));
        } else if !source.starts_with(['.', '/']) && !volume_name(source) {
            problems.push(error_at(
                Some(&at),
                format!(
                    "`{source}` is not a valid volume name: use at least two letters, digits, `_`, `.` and `-`, starting with a letter or digit; for a folder of the project write `./{source}`"
                ),
            ));
        }
    }
}

/// Names a local Docker volume may have: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn volume_name(name: &str) -> bool {
    name.len() >= 2
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Variable names, and values an environment can hold.
fn check_env_vars(config: &Value, problems: &mut Vec<Diagnostic>) {
    for (key, value) in config["env_vars"].as_object().into_iter().flatten() {
        let at = format!("/env_vars/{}", pointer_token(key));
        if !clockwork_schema::valid_env_name(key) {
            problems.push(error_at(
                Some(&at),
                format!("`{key}` is not a valid environment variable name: use letters, digits and `_`, not starting with a digit"),
            ));
        } else if value.as_str().is_some_and(|v| v.contains('\0')) {
            problems.push(error_at(
                Some(&at),
                format!(
                    "`env_vars[\"{key}\"]` contains a NUL byte, which environment variables cannot hold"
                ),
            ));
        }
    }
}

/// The prefix of Clockwork's own labels (the host's `model/labels.rs`),
/// which decide what project owns a container.
const CLOCKWORK_LABELS: &str = "dev.clockwork.";

/// Label keys: none of Clockwork's own, which would let a declaration pass
/// its container off as another project's (or another resource's), none
/// empty, no NUL byte.
fn check_labels(config: &Value, problems: &mut Vec<Diagnostic>) {
    for (key, value) in config["labels"].as_object().into_iter().flatten() {
        let at = format!("/labels/{}", pointer_token(key));
        if let Some(rest) = key.strip_prefix(CLOCKWORK_LABELS) {
            problems.push(Diagnostic {
                detail: Some(format!(
                    "choose a key of your own, e.g. `com.example.{rest}`"
                )),
                ..error_at(
                    Some(&at),
                    format!(
                        "`labels[\"{key}\"]`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container"
                    ),
                )
            });
        } else if key.is_empty() {
            problems.push(error_at(
                Some(&at),
                "a label key is empty: give it a name, e.g. `com.example.role`",
            ));
        } else if key.contains('\0') || value.as_str().is_some_and(|v| v.contains('\0')) {
            problems.push(error_at(
                Some(&at),
                format!(
                    "label `{}` contains a NUL byte, which labels cannot hold",
                    key.replace('\0', "\\0")
                ),
            ));
        }
    }
}

/// Docker's own networks cannot be joined by name, and every name must be
/// one Docker can create.
fn check_networks(config: &Value, problems: &mut Vec<Diagnostic>) {
    for (i, name) in strings(&config["networks"]) {
        if let Err(message) = network_name(name, &format!("networks[{i}]")) {
            problems.push(error_at(Some(&format!("/networks/{i}")), message));
        }
    }
}

/// Checks a network name; `field` names it in the message when it is empty.
pub fn network_name(name: &str, field: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!(
            "`{field}` is empty: give the name of a network of the project, e.g. `backend`"
        ));
    }
    if matches!(name, "host" | "none" | "bridge" | "default") {
        return Err(format!(
            "`{name}` is a reserved Docker network and cannot be joined; declare a network of the project instead, e.g. `backend`"
        ));
    }
    let valid = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !valid || name.len() > 63 {
        return Err(format!(
            "`{name}` is not a valid network name: use at most 63 letters, digits, `_`, `.` and `-`, starting with a letter or digit, e.g. `backend`"
        ));
    }
    Ok(())
}

/// A key as one JSON Pointer token (`~` → `~0`, `/` → `~1`).
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(config: Value) -> Vec<(String, String)> {
        check(&config)
            .into_iter()
            .map(|d| (d.path.unwrap_or_default(), d.summary))
            .collect()
    }

    #[test]
    fn a_bad_image_is_reported_at_the_field() {
        assert_eq!(
            problems(json!({"image": "Nginx:alpine"})),
            [(
                "/image".to_string(),
                "`Nginx:alpine` is not a valid image name: repository names are lower-case; did you mean `nginx:alpine`?".to_string()
            )]
        );
        assert_eq!(
            problems(json!({"image": ""}))[0].1,
            "`image` is empty: give the image to run, e.g. \"nginx:alpine\""
        );
        for fine in ["localhost:5000/x:1", "127.0.0.1:5999/img", "nginx:alpine"] {
            assert_eq!(problems(json!({ "image": fine })), [], "{fine}");
        }
    }

    #[test]
    fn nul_bytes_are_refused_without_quoting_the_value() {
        let found = problems(json!({
            "env_vars": {"TOKEN": "s3cr3t\u{0}tail", "OK": "fine"},
            "command": ["run", "--key=hunter2\u{0}"],
        }));
        assert_eq!(
            found,
            [
                (
                    "/env_vars/TOKEN".to_string(),
                    "`env_vars[\"TOKEN\"]` contains a NUL byte, which environment variables cannot hold".to_string()
                ),
                (
                    "/command/1".to_string(),
                    "`command[1]` contains a NUL byte, which command arguments cannot hold".to_string()
                ),
            ]
        );
        for (_, message) in &found {
            assert!(!message.contains("s3cr3t") && !message.contains("hunter2"));
        }
    }

    #[test]
    fn reserved_and_empty_networks_are_refused() {
        let found =
            problems(json!({"networks": ["backend", "host", "", "none", "bridge", "bad name"]}));
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/networks/1",
                "/networks/2",
                "/networks/3",
                "/networks/4",
                "/networks/5"
            ]
        );
        assert_eq!(
            found[0].1,
            "`host` is a reserved Docker network and cannot be joined; declare a network of the project instead, e.g. `backend`"
        );
        assert_eq!(
            found[1].1,
            "`networks[2]` is empty: give the name of a network of the project, e.g. `backend`"
        );
        assert!(
            found[4]
                .1
                .starts_with("`bad name` is not a valid network name"),
            "{}",
            found[4].1
        );
        assert!(network_name(&"n".repeat(64), "x").is_err());
        assert!(network_name(&"n".repeat(63), "x").is_ok());
    }

    #[test]
    fn a_host_port_published_twice_is_refused_at_the_second() {
        let found = problems(json!({"ports": [
            "8080:80", "80", "81", "8080:81", "8080:80/udp", "127.0.0.1:9000:90",
            "127.0.0.2:9000:91", "0.0.0.0:9000:92", "[::1]:7000:70", "[::1]:7000:71"
        ]}));
        assert_eq!(
            found,
            [
                (
                    "/ports/3".to_string(),
                    "host port 8080/tcp is already published by `ports[0]`; give one of them another host port".to_string()
                ),
                (
                    "/ports/7".to_string(),
                    "host port 9000/tcp is already published by `ports[5]`; give one of them another host port".to_string()
                ),
                (
                    "/ports/9".to_string(),
                    "host port [::1]:7000/tcp is already published by `ports[8]`; give one of them another host port".to_string()
                ),
            ]
        );
    }

    #[test]
    fn bind_sources_stay_in_the_project_and_targets_are_not_root() {
        let found = problems(json!({"volumes": [
            "~/data:/data",
            "../../etc:/etc/host",
            "./a/../../b:/b",
            "./a/../b:/b",
            "/srv/data:/data",
            "./data:/",
            "pgdata:/var/lib/postgresql/data",
            "my data:/data",
            "x:/x",
            "..data:/d",
        ]}));
        assert_eq!(
            found,
            [
                (
                    "/volumes/0".to_string(),
                    "`~` is not expanded: use a path relative to the project folder (`./data`) or an absolute path".to_string()
                ),
                (
                    "/volumes/1".to_string(),
                    "`../../etc` leaves the project folder; bind mounts are relative to it".to_string()
                ),
                (
                    "/volumes/2".to_string(),
                    "`./a/../../b` leaves the project folder; bind mounts are relative to it".to_string()
                ),
                (
                    "/volumes/5".to_string(),
                    "`./data:/` mounts over `/` of the container: give a folder inside it, e.g. `/data`".to_string()
                ),
                (
                    "/volumes/7".to_string(),
                    "`my data` is not a valid volume name: use at least two letters, digits, `_`, `.` and `-`, starting with a letter or digit; for a folder of the project write `./my data`".to_string()
                ),
                (
                    "/volumes/8".to_string(),
                    "`x` is not a valid volume name: use at least two letters, digits, `_`, `.` and `-`, starting with a letter or digit; for a folder of the project write `./x`".to_string()
                ),
            ]
        );
    }

    #[test]
    fn leaving_the_folder_is_read_lexically() {
        for inside in [
            ".",
            "./a",
            "./a/../b",
            "a/./b/..",
            "./a/b/../../c",
            "..data",
        ] {
            assert!(!clockwork_schema::leaves_folder(inside), "{inside}");
        }
        for outside in ["..", "../x", "./a/../../b", "a/b/../../../c", "./../x"] {
            assert!(clockwork_schema::leaves_folder(outside), "{outside}");
        }
    }

    #[test]
    fn clockworks_own_labels_are_refused_at_their_key() {
        let found = problems(json!({
            "labels": {
                "com.example.role": "frontend",
                "dev.clockwork.project": "other-shop",
                "dev.clockwork.project-id": "0123",
                "dev.clockworkish": "fine",
                "": "x",
                "com.example.token": "s3cr3t\u{0}",
            },
            "entrypoint": ["sh", "-c\u{0}"],
        }));
        assert_eq!(
            found,
            [
                (
                    "/entrypoint/1".to_string(),
                    "`entrypoint[1]` contains a NUL byte, which command arguments cannot hold"
                        .to_string()
                ),
                (
                    "/labels/".to_string(),
                    "a label key is empty: give it a name, e.g. `com.example.role`".to_string()
                ),
                (
                    "/labels/com.example.token".to_string(),
                    "label `com.example.token` contains a NUL byte, which labels cannot hold"
                        .to_string()
                ),
                (
                    "/labels/dev.clockwork.project".to_string(),
                    "`labels[\"dev.clockwork.project\"]`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container".to_string()
                ),
                (
                    "/labels/dev.clockwork.project-id".to_string(),
                    "`labels[\"dev.clockwork.project-id\"]`: `dev.clockwork.` labels are Clockwork's own: they say which project owns a container".to_string()
                ),
            ]
        );
        assert!(!found.iter().any(|(_, m)| m.contains("s3cr3t")));
        let fix = check(&json!({"labels": {"dev.clockwork.resource": "db"}}));
        assert_eq!(
            fix[0].detail.as_deref(),
            Some("choose a key of your own, e.g. `com.example.resource`")
        );
    }

    #[test]
    fn a_key_with_a_slash_is_an_escaped_pointer() {
        let found = problems(json!({"env_vars": {"A/B~": "1"}}));
        assert_eq!(found[0].0, "/env_vars/A~1B~0");
    }
}
