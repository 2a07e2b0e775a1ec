//! A resource's resolved fields: the user's, the defaults, and what
//! connections add, each with where it came from. What the user wrote
//! always wins.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::model::{Declaration, Project};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::{
    EndpointPatch, MountSource,
};

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "by", rename_all = "lowercase")]
pub enum Provenance {
    /// Written in the project file.
    User,
    /// The type's default.
    Default,
    /// Added by a connection (named).
    Connection(String),
    /// Filled by completion (rules or AI).
    Completion(String),
}

/// A resource's resolved fields.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Spec {
    /// Field → value.
    pub fields: Map<String, Json>,
    /// `field`, `env_vars.NAME`, `networks.NAME`, `volumes.TARGET` → source.
    pub provenance: BTreeMap<String, Provenance>,
}

impl Spec {
    /// What the user wrote of a declaration (as its plugin normalised it).
    pub fn from_declaration(d: &Declaration) -> Self {
        let provenance = d
            .config
            .keys()
            .map(|key| (key.clone(), Provenance::User))
            .collect();
        Spec {
            fields: d.config.clone(),
            provenance,
        }
    }

    /// Fills every field still missing that has a default: last, after
    /// the user, the connections and completion.
    pub fn fill_defaults(&mut self, schema: &clockwork_schema::TypeSchema) {
        for field in &schema.fields {
            if self.fields.contains_key(&field.name) {
                continue;
            }
            if let Some(default) = field.default_value() {
                self.fields.insert(field.name.clone(), default);
                self.provenance
                    .insert(field.name.clone(), Provenance::Default);
            }
        }
    }

    /// Where `key` came from; nested keys inherit from their field.
    pub fn source_of(&self, key: &str) -> &Provenance {
        self.provenance
            .get(key)
            .or_else(|| {
                key.split('.')
                    .next()
                    .and_then(|field| self.provenance.get(field))
            })
            .unwrap_or(&Provenance::User)
    }

    /// Where one item of a list field came from, when a connection added it
    /// (`networks.NAME`, `volumes.TARGET`).
    pub fn item_source(&self, field: &str, item: &Json) -> Option<&Provenance> {
        let text = item.as_str()?;
        self.provenance.get(&format!("{field}.{text}")).or_else(|| {
            text.split(':')
                .nth(1)
                .and_then(|target| self.provenance.get(&format!("{field}.{target}")))
        })
    }

    /// Adds a connection's patch. Values the user set are kept; the same
    /// key set differently by two connections is an error.
    pub fn apply(
        &mut self,
        patch: &EndpointPatch,
        source: &str,
        project: &Project,
        schema: Option<&clockwork_schema::TypeSchema>,
    ) -> Result<(), String> {
        let type_name = schema.map(|s| s.name.as_str()).unwrap_or("resource");
        // A field the user left out that the type has starts empty.
        let has = |field: &str| schema.is_some_and(|s| s.field(field).is_some());
        let wants = [
            ("env_vars", !patch.env.is_empty(), Json::Object(Map::new())),
            (
                "networks",
                !patch.networks.is_empty(),
                Json::Array(Vec::new()),
            ),
            ("volumes", !patch.mounts.is_empty(), Json::Array(Vec::new())),
        ];
        for (field, wanted, empty) in wants {
            if wanted && has(field) && !self.fields.contains_key(field) {
                self.fields.insert(field.to_string(), empty);
                self.provenance
                    .insert(field.to_string(), Provenance::Default);
            }
        }
        let from = Provenance::Connection(source.to_string());
        if !patch.env.is_empty() {
            let env = self.object_field("env_vars", type_name, source, "environment variables")?;
            let mut added = Vec::new();
            for (key, value) in &patch.env {
                match env.get(key) {
                    None => {
                        env.insert(key.clone(), Json::String(value.clone()));
                        added.push(key.clone());
                    }
                    Some(existing) if existing.as_str() == Some(value) => {}
                    Some(_) => added.push(format!("!{key}")),
                }
            }
            for key in added {
                if let Some(conflict) = key.strip_prefix('!') {
                    let path = format!("env_vars.{conflict}");
                    match self.provenance.get(&path) {
                        Some(Provenance::Connection(other)) => {
                            return Err(format!(
                                "`{conflict}` is set differently by {other} and {source}; set it yourself in `env_vars` to choose"
                            ));
                        }
                        _ => continue,
                    }
                }
                self.provenance
                    .insert(format!("env_vars.{key}"), from.clone());
            }
        }
        for network in &patch.networks {
            if self.push_unique(
                "networks",
                type_name,
                source,
                "networks",
                Json::String(network.clone()),
            )? {
                self.provenance
                    .insert(format!("networks.{network}"), from.clone());
            }
        }
        for mount in &patch.mounts {
            let source_text = match &mount.source {
                MountSource::Bind(path) => path.clone(),
                MountSource::Volume(name) => name.clone(),
                MountSource::ResourceFile(file) => match project.resource(&file.name) {
                    Some(d) => format!("./{}", file_path(d)),
                    None => {
                        return Err(format!(
                            "{source} mounts `{}`, which is not declared",
                            file.name
                        ));
                    }
                },
            };
            let mut text = format!("{source_text}:{}", mount.target);
            if mount.read_only {
                text.push_str(":ro");
            }
            let already = self
                .fields
                .get("volumes")
                .and_then(Json::as_array)
                .is_some_and(|v| {
                    v.iter()
                        .filter_map(Json::as_str)
                        .any(|m| m.split(':').nth(1) == Some(mount.target.as_str()))
                });
            if !already
                && self.push_unique("volumes", type_name, source, "mounts", Json::String(text))?
            {
                self.provenance
                    .insert(format!("volumes.{}", mount.target), from.clone());
            }
        }
        Ok(())
    }

    fn object_field(
        &mut self,
        field: &str,
        type_name: &str,
        source: &str,
        what: &str,
    ) -> Result<&mut Map<String, Json>, String> {
        match self.fields.get_mut(field) {
            Some(Json::Object(map)) => Ok(map),
            Some(Json::Null) | None => Err(format!(
                "{source} gives {what}, but a {type_name} has no `{field}`"
            )),
            Some(_) => Err(format!("`{field}` is not a dict")),
        }
    }

    fn push_unique(
        &mut self,
        field: &str,
        type_name: &str,
        source: &str,
        what: &str,
        value: Json,
    ) -> Result<bool, String> {
        match self.fields.get_mut(field) {
            Some(Json::Array(items)) => {
                if items.contains(&value) {
                    Ok(false)
                } else {
                    items.push(value);
                    Ok(true)
                }
            }
            Some(Json::Null) | None => Err(format!(
                "{source} gives {what}, but a {type_name} has no `{field}`"
            )),
            Some(_) => Err(format!("`{field}` is not a list")),
        }
    }
}

/// The project-relative path a `FileResource` writes: `path`, else
/// `directory/name`, else `name`.
pub fn file_path(d: &Declaration) -> String {
    let text = |k: &str| d.config.get(k).and_then(Json::as_str);
    if let Some(path) = text("path") {
        return path.trim_start_matches("./").to_string();
    }
    match text("directory") {
        Some(dir) => format!(
            "{}/{}",
            dir.trim_end_matches('/').trim_start_matches("./"),
            d.name
        ),
        None => d.name.clone(),
    }
}
