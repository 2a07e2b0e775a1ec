//! The file's top level: its keys, the sections Clockwork does not
//! translate, the declared networks and volumes, and the services in turn.

use serde_yaml_ng::{Mapping, Value};

use crate::import::ordered::Ordered;

use super::keys::TOP_LEVEL;
use super::model::Compose;
use super::service::FileScope;
use super::{Declared, Reader, entries, key, kind, path, scalar, with, yaml_key};

/// Whether Docker accepts `name` for a volume or network:
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn docker_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Reader<'_, '_> {
    pub(super) fn file(&mut self, root: &Value) -> Compose {
        let Value::Mapping(top) = root else {
            self.problem(
                &[],
                format!(
                    "{} is not a Compose file: it is {}, not a mapping",
                    self.input.file,
                    kind(root)
                ),
                Some("a Compose file starts with `services:` and one key per service".into()),
            );
            return Compose::default();
        };
        self.unknown_top_level_keys(top);
        self.project_name(top);
        self.untranslated_sections(top);
        let networks = self.declared(top, "networks");
        let volumes = self.declared(top, "volumes");
        let Some(services) = self.services(top) else {
            return Compose::default();
        };
        let mut names: Ordered<()> = Ordered::default();
        for (k, _) in entries(services) {
            names.set(k, ());
        }
        let scope = FileScope {
            services: &names,
            networks: &networks,
            volumes: &volumes,
        };
        let mut compose = Compose::default();
        for (name, body) in entries(services) {
            let at = path(&["services", &name]);
            let Value::Mapping(body) = body else {
                self.expected(
                    &at,
                    "a mapping of settings",
                    body,
                    "web: {image: nginx:alpine}",
                );
                continue;
            };
            if body.contains_key("networks") {
                compose.uses_networks = true;
            }
            self.service_index = compose.services.len();
            let service = self.service(&name, body, &scope);
            compose.services.push(service);
        }
        compose
    }

    /// Each top-level key that is none of Compose's, as a problem.
    fn unknown_top_level_keys(&mut self, top: &Mapping) {
        for (k, _) in entries(top) {
            if k.starts_with("x-") || TOP_LEVEL.contains(&k.as_str()) {
                continue;
            }
            let help = match crate::suggest::nearest(&k, TOP_LEVEL.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "the top-level keys are `services`, `networks`, `volumes`, `secrets`, `configs`, `name`, `version`, and `x-…` for extensions".into(),
            };
            self.problem(
                &path(&[&k]),
                format!("`{k}` is not a top-level key of a Compose file"),
                Some(help),
            );
        }
    }

    /// `name`, which gives the project name Compose tags built images with.
    fn project_name(&mut self, top: &Mapping) {
        if let Some(name) = top.get("name") {
            if let Some(n) = scalar(name) {
                self.project = n;
            }
            self.note(
                None,
                &path(&["name"]),
                format!(
                    "the project name (`{}`) is not translated: Clockwork names the project after its folder and each container after its declaration",
                    scalar(name).unwrap_or_default()
                ),
            );
        }
    }

    /// `include`, `secrets`, `configs` and `models`, noted as not translated.
    fn untranslated_sections(&mut self, top: &Mapping) {
        for key in ["include", "secrets", "configs", "models"] {
            if let Some(v) = top.get(key) {
                let names: Vec<String> = v
                    .as_mapping()
                    .map(|m| entries(m).map(|(k, _)| format!("`{k}`")).collect())
                    .unwrap_or_default();
                let what = if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                };
                let reason = match key {
                    "include" => {
                        "the included files are not read: import each and merge the declarations"
                            .to_string()
                    }
                    // `secrets` in backticks: bare, before a colon, the
                    // output's masking takes it for `name: value`.
                    "secrets" => format!(
                        "Clockwork has no `secrets`{what}: mount each file read-only where the services read it"
                    ),
                    "configs" => format!(
                        "Clockwork has no `configs`{what}: mount each file read-only where the services read it"
                    ),
                    _ => "Clockwork runs no models".to_string(),
                };
                self.skip(None, &path(&[key]), reason);
            }
        }
    }

    /// The mapping of `services`; none, with a problem, when there is none.
    fn services<'m>(&mut self, top: &'m Mapping) -> Option<&'m Mapping> {
        match top.get("services") {
            Some(Value::Mapping(m)) => Some(m),
            Some(other) => {
                self.expected(
                    &path(&["services"]),
                    "a mapping of service names to services",
                    other,
                    "services: {web: {image: nginx:alpine}}",
                );
                None
            }
            None => {
                self.problem(
                    &[],
                    format!(
                        "{} is not a Compose file: it has no `services`",
                        self.input.file
                    ),
                    Some(
                        "a Compose file has `services:` at the top, with one key per service"
                            .into(),
                    ),
                );
                None
            }
        }
    }

    /// Top-level `networks` or `volumes`: each key's Docker name, with
    /// what DockerResource cannot set noted.
    fn declared(&mut self, top: &Mapping, section: &str) -> Ordered<Declared> {
        let mut out = Ordered::default();
        let Some(v) = top.get(section) else {
            return out;
        };
        let Value::Mapping(m) = v else {
            if !v.is_null() {
                self.expected(
                    &path(&[section]),
                    "a mapping of names",
                    v,
                    &format!("{section}: {{data: {{}}}}"),
                );
            }
            return out;
        };
        let what = if section == "networks" {
            "network"
        } else {
            "volume"
        };
        for (k, body) in entries(m) {
            let at = path(&[section, &k]);
            let mut declared = Declared { name: k.clone() };
            match body {
                Value::Null => {}
                Value::Mapping(opts) => {
                    for (opt, value) in entries(opts) {
                        let at = with(&at, key(&opt));
                        match (opt.as_str(), value) {
                            ("name", v) => match scalar(v) {
                                Some(n) => declared.name = n,
                                None => self.expected(&at, "a string", v, "name: app-data"),
                            },
                            ("external", Value::Bool(external)) => {
                                if *external {
                                    self.note(None, &with(&path(&[section]), key(&k)), format!(
                                        "an external {what}: Clockwork uses only {what}s it made itself, so `apply` refuses one made by anyone else; let Clockwork make it (drop `external`)"
                                    ));
                                }
                            }
                            ("external", Value::Mapping(ext)) => {
                                if let Some(n) = ext.get("name").and_then(scalar) {
                                    declared.name = n;
                                }
                                self.note(None, &with(&path(&[section]), key(&k)), format!(
                                    "an external {what}: Clockwork uses only {what}s it made itself, so `apply` refuses one made by anyone else"
                                ));
                            }
                            ("driver", v) if matches!(scalar(v).as_deref(), Some("bridge" | "local")) => {}
                            (opt, _) => self.skip(None, &at, format!(
                                "DockerResource makes the {what} with Docker's defaults{}",
                                if what == "network" && matches!(opt, "internal" | "ipam" | "driver" | "enable_ipv6") {
                                    "; a NetworkConnection between two of its members can declare `internal`, `subnet`, `gateway`, `driver` and `enable_ipv6`"
                                } else {
                                    ""
                                }
                            )),
                        }
                    }
                }
                other => self.expected(
                    &at,
                    "a mapping of options or nothing",
                    other,
                    &format!("{}: {{}}", yaml_key(&k)),
                ),
            }
            if !docker_name(&declared.name) {
                // A volume "named" `/etc` would be written as the mount
                // `/etc:/data`: a bind mount of the machine's files.
                self.problem(
                    &at,
                    format!(
                        "`{}` is not a {what} name Docker accepts (letters, digits, `_`, `.` and `-`, starting with a letter or digit){}",
                        declared.name,
                        if declared.name.contains('/') {
                            ": with a `/`, it would be a path on this machine here"
                        } else {
                            ""
                        }
                    ),
                    Some(format!(
                        "name the {what} e.g. `data`; to mount a folder, write its path as a service's volume source"
                    )),
                );
            }
            out.set(k, declared);
        }
        out
    }
}
