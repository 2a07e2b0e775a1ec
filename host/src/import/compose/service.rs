//! One service: its keys, each translated, skipped or refused, and the
//! image it runs.

use serde_yaml_ng::{Mapping, Value};

use crate::import::interp::Text;
use crate::import::locate::Seg;
use crate::import::ordered::Ordered;

use super::keys::{OTHER_KEYS, TRANSLATED, UNTRANSLATED};
use super::model::Service;
use super::{Declared, Reader, entries, key, path, scalar, with};

/// What the file declares that a service may name.
pub(super) struct FileScope<'d> {
    /// The services' keys, for `depends_on`.
    pub(super) services: &'d Ordered<()>,
    /// The top-level networks.
    pub(super) networks: &'d Ordered<Declared>,
    /// The top-level volumes.
    pub(super) volumes: &'d Ordered<Declared>,
}

impl Reader<'_, '_> {
    pub(super) fn service(&mut self, name: &str, body: &Mapping, scope: &FileScope<'_>) -> Service {
        let base = path(&["services", name]);
        let mut s = Service {
            key: name.to_string(),
            name: name.to_string(),
            ..Service::default()
        };
        for (k, value) in entries(body) {
            let at = with(&base, key(&k));
            if k.starts_with("x-") || self.not_translated(name, &k, &at, value, body) {
                continue;
            }
            self.translated_key(name, &k, &at, value, scope, &mut s);
        }
        // `env_file` first: `environment` wins over it, whatever the order.
        if let Some(v) = body.get("env_file") {
            self.env_files(&with(&base, key("env_file")), v, &mut s);
        }
        if let Some(v) = body.get("environment") {
            self.environment(name, &with(&base, key("environment")), v, &mut s);
        }
        self.image_or_build(name, &base, body, &mut s);
        s
    }

    /// Whether key `k` of service `name` is one Clockwork does not
    /// translate, or none of Compose's: then it is said so.
    fn not_translated(
        &mut self,
        name: &str,
        k: &str,
        at: &[Seg],
        value: &Value,
        body: &Mapping,
    ) -> bool {
        if let Some((_, reason)) = UNTRANSLATED.iter().find(|(u, _)| *u == k) {
            let reason = if k == "build" {
                build_reason(value, body.get("image").and_then(scalar))
            } else {
                (*reason).to_string()
            };
            self.skip(Some(name), at, reason);
            return true;
        }
        if OTHER_KEYS.contains(&k) {
            self.skip(Some(name), at, "DockerResource has no such setting");
            return true;
        }
        if !TRANSLATED.contains(&k) {
            let known: Vec<&str> = TRANSLATED
                .iter()
                .chain(OTHER_KEYS)
                .copied()
                .chain(UNTRANSLATED.iter().map(|(k, _)| *k))
                .collect();
            let help = match crate::suggest::nearest(k, known.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "see the Compose specification for the keys of a service; `x-…` keys are extensions".into(),
            };
            self.problem(
                at,
                format!("`{k}` is not a key of a Compose service (in `{name}`)"),
                Some(help),
            );
            return true;
        }
        false
    }

    /// A key Clockwork translates, into `s`.
    fn translated_key(
        &mut self,
        name: &str,
        k: &str,
        at: &[Seg],
        value: &Value,
        scope: &FileScope<'_>,
        s: &mut Service,
    ) {
        match k {
            "image" => match scalar(value) {
                Some(raw) => s.image = self.text(at, &raw),
                None => self.expected(at, "a string", value, "image: nginx:alpine"),
            },
            "container_name" => match scalar(value) {
                Some(n) => {
                    if n != name {
                        s.aliases.push(name.to_string());
                    }
                    s.name = n;
                }
                None => self.expected(at, "a string", value, "container_name: web"),
            },
            "ports" => self.ports(name, at, value, s),
            "environment" => {}
            "env_file" => {}
            "volumes" => self.volumes(name, at, value, scope.volumes, s),
            "networks" => self.networks(name, at, value, scope.networks, s),
            "depends_on" => self.depends_on(name, at, value, scope.services, s),
            "healthcheck" => s.healthcheck = self.healthcheck(name, at, value),
            "command" => s.command = self.command(at, value, "command: [\"npm\", \"start\"]"),
            "entrypoint" => {
                s.entrypoint = self.command(at, value, "entrypoint: [\"/entrypoint.sh\"]");
            }
            "labels" => self.labels(name, at, value, s),
            "restart" => s.restart = self.restart(name, at, value),
            // `missing` is what Clockwork does anyway.
            "pull_policy"
                if !matches!(scalar(value).as_deref(), Some("missing" | "if_not_present")) =>
            {
                self.skip(
                    Some(name),
                    at,
                    "Clockwork pulls an image only when it is missing locally",
                );
            }
            _ => {}
        }
    }

    /// The image of a service without one: the tag Compose gives the image
    /// it builds, else a problem.
    fn image_or_build(&mut self, name: &str, base: &[Seg], body: &Mapping, s: &mut Service) {
        if s.image.is_none() && !body.contains_key("build") {
            let help = if body.contains_key("extends") {
                "its `extends` is not translated: copy the base service's `image` into it"
                    .to_string()
            } else {
                "give the image it runs, e.g. `image: nginx:alpine`".to_string()
            };
            self.problem(
                base,
                format!("service `{name}` has neither `image` nor `build`"),
                Some(help),
            );
        }
        if s.image.is_none()
            && let Some(build) = body.get("build")
        {
            // What Compose tags an image it builds for the service (v2).
            let project = self.project.clone();
            s.image = Some(Text::literal(format!("{project}-{name}")));
            let context = match build {
                Value::Mapping(m) => m
                    .get("context")
                    .and_then(scalar)
                    .unwrap_or_else(|| ".".into()),
                other => scalar(other).unwrap_or_else(|| ".".into()),
            };
            self.note(Some(name), &with(base, key("build")), format!(
            "`image` is set to `{project}-{name}`, the tag Compose gives the image it builds: build it first (`docker build -t {project}-{name} {context}`)"
        ));
        }
    }
}

/// Why `build` is not translated, with the command to build the image.
fn build_reason(build: &Value, image: Option<String>) -> String {
    let context = match build {
        Value::Mapping(m) => m
            .get("context")
            .and_then(scalar)
            .unwrap_or_else(|| ".".into()),
        other => scalar(other).unwrap_or_else(|| ".".into()),
    };
    if let Some(image) = image {
        format!(
            "Clockwork runs images: build it first (`docker build -t {image} {context}`); an image present locally is not pulled"
        )
    } else {
        format!("Clockwork runs images: build it from `{context}` first")
    }
}
