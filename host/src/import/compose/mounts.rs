//! A service's `volumes`: named volumes, binds inside the project, and
//! binds outside it (commented out: only the user may grant them).

use serde_yaml_ng::Value;

use crate::import::interp::Text;
use crate::import::locate::Seg;
use crate::import::ordered::Ordered;

use super::model::{Mount, Service};
use super::{Declared, Reader, entries, key, scalar, shown, with, yaml_key};

/// A mount as the service writes it, before its source is checked.
struct Written {
    /// The host path or volume name; none for an anonymous volume.
    source: Option<String>,
    /// The path in the container.
    target: String,
    read_only: bool,
    /// The short form's mode options (`ro`, `rw`, `z`, …).
    options: Vec<String>,
}

impl Reader<'_, '_> {
    pub(super) fn volumes(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        declared: &Ordered<Declared>,
        s: &mut Service,
    ) {
        let Value::Sequence(items) = value else {
            self.expected(at, "a list", value, "volumes: [\"./data:/data\"]");
            return;
        };
        for (i, item) in items.iter().enumerate() {
            let at = with(at, Seg::Index(i));
            let written = match item {
                Value::String(raw) => self.short_mount(service, &at, raw, s),
                Value::Mapping(m) => self.long_mount(service, &at, m, s),
                other => {
                    self.expected(&at, "a string or a mapping", other, "./data:/data");
                    continue;
                }
            };
            if let Some(written) = written {
                self.mount(service, &at, written, declared, s);
            }
        }
    }

    /// `source:target[:mode]`; none when it is not one, or when a variable
    /// chooses it (then it is mounted as written already).
    fn short_mount(
        &mut self,
        service: &str,
        at: &[Seg],
        raw: &str,
        s: &mut Service,
    ) -> Option<Written> {
        let text = self.text(at, raw)?;
        if text.has_vars() {
            // A path or volume chosen by a variable stays as written.
            self.mount_by_variable(service, at, text, s);
            return None;
        }
        let parts: Vec<&str> = raw.split(':').collect();
        let (source, target, read_only, options) = match parts.as_slice() {
            [target] => (None, target.to_string(), false, Vec::new()),
            [source, target] => (
                Some(source.to_string()),
                target.to_string(),
                false,
                Vec::new(),
            ),
            [source, target, mode] => {
                let modes: Vec<String> = mode.split(',').map(str::to_string).collect();
                (
                    Some(source.to_string()),
                    target.to_string(),
                    modes.iter().any(|m| m == "ro"),
                    modes,
                )
            }
            _ => {
                self.problem(
                    at,
                    format!(
                        "`{raw}` is not a volume: expected `source:target` or `source:target:mode`"
                    ),
                    Some(
                        "for example `./data:/data:ro` or `pgdata:/var/lib/postgresql/data`".into(),
                    ),
                );
                return None;
            }
        };
        Some(Written {
            source,
            target,
            read_only,
            options,
        })
    }

    /// `{type, source, target, read_only}`; none when DockerResource cannot
    /// mount it, or when a variable chooses its source (then it is mounted
    /// as written already).
    fn long_mount(
        &mut self,
        service: &str,
        at: &[Seg],
        m: &serde_yaml_ng::Mapping,
        s: &mut Service,
    ) -> Option<Written> {
        let field = |k: &str| m.get(k).and_then(scalar);
        let Some(target) = field("target") else {
            self.problem(
                at,
                format!("`{}` needs `target`, the path in the container", shown(at)),
                Some("for example `{type: bind, source: ./data, target: /data}`".into()),
            );
            return None;
        };
        let kind = field("type").unwrap_or_else(|| "volume".into());
        if kind != "bind" && kind != "volume" {
            self.skip(
                Some(service),
                at,
                format!("a `{kind}` mount: DockerResource mounts host paths and named volumes"),
            );
            return None;
        }
        for (k, v) in entries(m) {
            match k.as_str() {
                "type" | "source" | "target" | "read_only" => {}
                "bind"
                    if v.get("create_host_path").is_some()
                        && v.as_mapping().is_some_and(|b| b.len() == 1) => {}
                _ => self.skip(
                    Some(service),
                    &with(at, key(&k)),
                    "DockerResource mounts have no such option",
                ),
            }
        }
        let mut source = field("source");
        if kind == "bind" && source.is_none() {
            self.problem(
                at,
                format!("`{}` is a bind mount without `source`", shown(at)),
                Some("give the host path, e.g. `source: ./data`".into()),
            );
            return None;
        }
        if kind == "volume" && source.as_deref() == Some("") {
            source = None;
        }
        // A source chosen by a variable stays as written, as in
        // the short form.
        if let Some(raw) = source.clone().filter(|s| s.contains('$')) {
            let mut text = self.text(&with(at, key("source")), &raw)?;
            if text.has_vars() {
                let read_only = matches!(m.get("read_only"), Some(Value::Bool(true)));
                text.push_str(&format!(":{target}{}", if read_only { ":ro" } else { "" }));
                self.mount_by_variable(service, at, text, s);
                return None;
            }
            source = text.as_literal();
        }
        // The type says which a source is, not its spelling
        // (below, for the short form): a bind's `data` is the
        // folder `./data` beside the Compose file.
        match source.as_deref() {
            Some(src) if kind == "bind" && !src.starts_with(['.', '/', '~']) => {
                source = Some(format!("./{src}"));
            }
            Some(src) if kind == "volume" && src.starts_with(['.', '/', '~']) => {
                self.problem(
                        &with(at, key("source")),
                        format!("`{src}` is a path, but the mount's `type` is `volume`"),
                        Some("write `type: bind` to mount the folder, or give a volume's name as `source`".into()),
                    );
                return None;
            }
            _ => {}
        }
        let read_only = matches!(m.get("read_only"), Some(Value::Bool(true)));
        Some(Written {
            source,
            target,
            read_only,
            options: Vec::new(),
        })
    }

    /// Mounts what the service wrote, once its options, target and source
    /// are checked.
    fn mount(
        &mut self,
        service: &str,
        at: &[Seg],
        written: Written,
        declared: &Ordered<Declared>,
        s: &mut Service,
    ) {
        for option in written
            .options
            .iter()
            .filter(|o| !matches!(o.as_str(), "ro" | "rw"))
        {
            self.skip(
                Some(service),
                at,
                format!(
                    "the mount option `{option}`: DockerResource mounts are read-write or `ro`"
                ),
            );
        }
        let target = &written.target;
        if !target.starts_with('/') {
            self.problem(
                at,
                format!("`{target}` is not a path in the container: it must be absolute"),
                Some("for example `/data`".into()),
            );
            return;
        }
        let Some((source, held)) = self.mount_source(service, at, &written, declared, s) else {
            return;
        };
        let Written {
            target,
            mut read_only,
            options,
            ..
        } = written;
        if !read_only && options.iter().any(|o| o == "ro") {
            read_only = true;
        }
        let mut text = format!("{source}:{target}");
        if read_only {
            text.push_str(":ro");
        }
        s.volumes.push(Mount {
            text: Text::literal(text),
            held,
        });
    }

    /// The source of a mount as DockerResource takes it, and whether
    /// main.star holds the mount for the user to turn on; none when it
    /// cannot be mounted.
    fn mount_source(
        &mut self,
        service: &str,
        at: &[Seg],
        written: &Written,
        declared: &Ordered<Declared>,
        s: &Service,
    ) -> Option<(String, bool)> {
        let Written {
            source,
            target,
            read_only,
            options,
        } = written;
        let read_only = *read_only;
        let mut held = false;
        let source = match source.clone() {
            None => {
                // Compose makes an anonymous volume; Clockwork's volumes have names.
                let named = format!("{}{}", s.key, target.replace('/', "-"))
                    .trim_end_matches('-')
                    .to_string();
                self.note(Some(service), at, format!(
                    "an anonymous volume: it is the named volume `{named}` here, kept until `clockwork destroy`"
                ));
                named
            }
            Some(src) if src.starts_with('~') => {
                self.skip(
                    Some(service),
                    at,
                    "Clockwork does not expand `~`: write the absolute path",
                );
                return None;
            }
            Some(src) if src.starts_with('.') || src.starts_with('/') => {
                match self.input.bind_source(&src) {
                    Ok(p) => p,
                    Err(p) => {
                        held = true;
                        let access = if read_only || options.iter().any(|o| o == "ro") {
                            "read access to"
                        } else {
                            "read and write access to"
                        };
                        // The Docker socket is the Engine itself.
                        let socket = if p.ends_with("docker.sock") {
                            " (the Docker socket: control of the Docker Engine, as good as root on this machine)"
                        } else {
                            ""
                        };
                        self.review(Some(service), at, format!(
                            "`{src}` is outside the project folder: mounting it gives the container {access} `{p}` on this machine{socket}, which the Compose file cannot grant by itself; main.star has the mount commented out: uncomment it if you trust it"
                        ));
                        p
                    }
                }
            }
            Some(volume) => {
                let Some(d) = declared.get(&volume) else {
                    let near = if self.flooded() {
                        None
                    } else {
                        crate::suggest::nearest(&volume, declared.iter().map(|(k, _)| k))
                    };
                    let help = match near {
                        Some(near) => format!(
                            "did you mean `{near}`? Or declare it under the top-level `volumes:`, or write `./{volume}` for a folder"
                        ),
                        None => format!(
                            "declare it under the top-level `volumes:` (`volumes: {{{}: {{}}}}`), or write `./{volume}` for a folder",
                            yaml_key(&volume)
                        ),
                    };
                    self.problem(at, format!("the named volume `{volume}` of `{service}` is not declared under the top-level `volumes`"), Some(help));
                    return None;
                };
                d.name.clone()
            }
        };
        Some((source, held))
    }

    /// A mount whose source a variable chooses: as written, unless the
    /// source can be a path outside the project (its default is one, or
    /// nothing says which folder it is), which main.star holds for the
    /// user to turn on.
    pub(super) fn mount_by_variable(
        &mut self,
        service: &str,
        at: &[Seg],
        text: Text,
        s: &mut Service,
    ) {
        let resolved = text.resolved();
        let source = resolved.split(':').next().unwrap_or_default();
        let inside = source.starts_with('.') && self.input.bind_source(source).is_ok();
        // A named volume (with a default name) is not a host path.
        let named = !source.is_empty() && !source.starts_with(['.', '/', '~']);
        let held = !inside && !named;
        if held {
            // What says which folder: the variable it starts with (its
            // default is not the folder then: `${HOME}/.ssh`), or its default.
            let chosen = match text.0.first() {
                Some(crate::import::interp::Part::Var(v))
                    if !matches!(v.fallback, crate::import::interp::Fallback::Default(_)) =>
                {
                    format!(
                        "it starts with `${{{}}}`, which can be any folder of this machine",
                        v.name
                    )
                }
                _ if source.is_empty() => "no default says which folder".to_string(),
                _ => format!("by default `{source}`, outside the project"),
            };
            self.review(Some(service), at, format!(
                "the mount's source is chosen by a variable ({chosen}): that gives the container access to this machine, which the Compose file cannot grant by itself; main.star has the mount commented out: uncomment it if you trust it"
            ));
        } else if self.input.compose_dir != self.input.project_dir {
            self.note(Some(service), at, "a relative path in it is taken relative to the project folder, not to the Compose file's");
        }
        s.volumes.push(Mount { text, held });
    }
}
