//! Finding plugins (bundled, the project's `plugins/`, the user's plugin
//! folder), loading them side by side, and settling name clashes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::project::ProjectDir;

use serde::Serialize;

use crate::plugin::{LoadedPlugin, PluginRuntime, PluginSource, WasmBytes};

/// The largest plugin component read: a bundled one is a few MiB, a
/// Python one, its interpreter included, tens of MiB.
const MAX_COMPONENT_BYTES: u64 = 128 << 20;

/// A plugin embedded in the binary by `build.rs`.
pub struct BundledPlugin {
    /// The plugin crate's directory name, e.g. `docker-resource`.
    pub name: &'static str,
    /// SHA-256 of the component, hex (computed when the host was built).
    pub digest: &'static str,
    /// The component.
    pub wasm: &'static [u8],
}

mod embedded {
    use super::BundledPlugin;
    include!(concat!(env!("OUT_DIR"), "/bundled_plugins.rs"));
}

/// The plugins compiled into this binary.
pub fn bundled_plugins() -> &'static [BundledPlugin] {
    embedded::BUNDLED
}

/// The user's plugin folder: `$XDG_DATA_HOME/clockwork/plugins`, else
/// `~/.local/share/clockwork/plugins`.
pub fn user_plugin_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share"))
        })?;
    Some(base.join("clockwork").join("plugins"))
}

/// A plugin file to load.
pub struct PluginFile {
    /// Where it was found.
    pub source: PluginSource,
    /// Its path, for project and user plugins.
    pub path: Option<PathBuf>,
    /// Its name in messages.
    pub label: String,
    /// Its bytes.
    pub wasm: WasmBytes,
    /// SHA-256 of the bytes, hex, when already known (bundled plugins).
    pub digest: Option<String>,
}

/// A plugin that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginProblem {
    /// Where it was found.
    pub source: PluginSource,
    /// The file (or `bundled:<name>`).
    pub file: String,
    /// Why it is not used.
    pub reason: String,
}

/// Every plugin file: bundled first, then the user's, then the project's,
/// each folder in name order. Unreadable files become problems.
pub fn discover(project: Option<&ProjectDir>) -> (Vec<PluginFile>, Vec<PluginProblem>) {
    let mut files: Vec<PluginFile> = bundled_plugins()
        .iter()
        .map(|b| PluginFile {
            source: PluginSource::Bundled,
            path: None,
            label: format!("bundled:{}", b.name),
            wasm: WasmBytes::Bundled(b.wasm),
            digest: Some(b.digest.to_string()),
        })
        .collect();
    let mut problems = Vec::new();
    if let Some(dir) = user_plugin_dir()
        && let Ok(entries) = std::fs::read_dir(&dir)
    {
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        paths.sort();
        for path in paths {
            let label = path.display().to_string();
            match crate::project::read_file_limited(&path, MAX_COMPONENT_BYTES) {
                Ok(bytes) => files.push(PluginFile {
                    source: PluginSource::User,
                    path: Some(path),
                    label,
                    wasm: WasmBytes::from(bytes),
                    digest: None,
                }),
                Err(e) => problems.push(PluginProblem {
                    source: PluginSource::User,
                    file: label,
                    reason: format!("cannot read it: {e}"),
                }),
            }
        }
    }
    // The project's plugins are read like every project file: a link that
    // leaves the project is refused.
    if let Some(project) = project {
        let folder = Path::new("plugins");
        let names = match project.list(folder) {
            Ok(names) => names,
            Err(e) => {
                problems.push(PluginProblem {
                    source: PluginSource::Project,
                    file: project.root().join(folder).display().to_string(),
                    reason: format!("cannot read the folder: {e}"),
                });
                Vec::new()
            }
        };
        for name in names.into_iter().filter(|n| n.ends_with(".wasm")) {
            let rel = folder.join(&name);
            let path = project.root().join(&rel);
            let label = path.display().to_string();
            match project.read_limited(&rel, MAX_COMPONENT_BYTES) {
                Ok(bytes) => files.push(PluginFile {
                    source: PluginSource::Project,
                    path: Some(path),
                    label,
                    wasm: WasmBytes::from(bytes),
                    digest: None,
                }),
                Err(e) => problems.push(PluginProblem {
                    source: PluginSource::Project,
                    file: label,
                    reason: format!("cannot read it: {e}"),
                }),
            }
        }
    }
    (files, problems)
}

/// The plugins in use, and those that could not be used.
pub struct PluginSet {
    /// Loaded plugins, bundled first.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// Type name → index into `plugins`.
    by_type: std::collections::HashMap<String, usize>,
    /// Files that failed to load or lost a clash.
    pub problems: Vec<PluginProblem>,
    /// Clashes settled by the project's preferences, for display.
    pub overrides: Vec<String>,
    /// What the plugins' host imports share.
    services: Arc<crate::plugin::HostServices>,
}

impl PluginSet {
    /// Loads every file (concurrently), then settles clashes: two plugins
    /// with the same name, or providing the same type, are an error unless
    /// `prefer` (from `clockwork.toml`, keyed by plugin or type name) says
    /// which source wins.
    pub async fn load(
        runtime: &PluginRuntime,
        files: Vec<PluginFile>,
        mut problems: Vec<PluginProblem>,
        prefer: &BTreeMap<String, PluginSource>,
    ) -> PluginSet {
        let loads = files.into_iter().map(|f| async move {
            let outcome = runtime
                .load_with_digest(f.source, f.path, f.label.clone(), f.wasm, f.digest)
                .await;
            (f.source, f.label, outcome)
        });
        let mut accepted: Vec<LoadedPlugin> = Vec::new();
        let mut overrides = Vec::new();
        for (source, label, outcome) in futures::future::join_all(loads).await {
            let plugin = match outcome {
                Ok(plugin) => plugin,
                Err(e) => {
                    problems.push(PluginProblem {
                        source,
                        file: label,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            match settle_clashes(&accepted, &plugin, prefer) {
                Settled::NoClash => accepted.push(plugin),
                Settled::NewWins { replaced, note } => {
                    accepted.retain(|p| !replaced.contains(&p.origin.label));
                    overrides.push(note);
                    accepted.push(plugin);
                }
                Settled::OldWins { note } => overrides.push(note),
                Settled::Unsettled { reason } => problems.push(PluginProblem {
                    source,
                    file: label,
                    reason,
                }),
            }
        }
        let plugins: Vec<Arc<LoadedPlugin>> = accepted.into_iter().map(Arc::new).collect();
        let by_type = plugins
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.type_names().into_iter().map(move |t| (t.to_string(), i)))
            .collect();
        PluginSet {
            plugins,
            problems,
            overrides,
            by_type,
            services: runtime.services(),
        }
    }

    /// Connects the plugins' `docker`, `exec` and `probe` imports to a
    /// running deployment (for `clockwork assert`).
    pub fn attach(&self, deployment: crate::plugin::Deployment) {
        self.services.attach(deployment);
    }

    /// Looks up a plugin by name.
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.plugins.iter().find(|p| p.name() == name)
    }

    /// The schema of a type.
    pub fn schema(&self, type_name: &str) -> Option<&clockwork_schema::TypeSchema> {
        self.for_type(type_name)?
            .description
            .types
            .iter()
            .map(|t| &t.schema)
            .find(|s| s.name == type_name)
    }

    /// A type's schema and traits.
    pub fn type_info(&self, type_name: &str) -> Option<&crate::plugin::TypeInfo> {
        self.for_type(type_name)?
            .description
            .types
            .iter()
            .find(|t| t.schema.name == type_name)
    }

    /// The plugin providing a type.
    pub fn for_type(&self, type_name: &str) -> Option<&Arc<LoadedPlugin>> {
        self.by_type.get(type_name).map(|i| &self.plugins[*i])
    }
}

enum Settled {
    NoClash,
    NewWins { replaced: Vec<String>, note: String },
    OldWins { note: String },
    Unsettled { reason: String },
}

fn describe(p: &LoadedPlugin) -> String {
    match p.origin.source {
        PluginSource::Bundled => format!("bundled plugin `{}`", p.name()),
        source => format!("{source} plugin `{}` ({})", p.name(), p.origin.label),
    }
}

fn settle_clashes(
    accepted: &[LoadedPlugin],
    new: &LoadedPlugin,
    prefer: &BTreeMap<String, PluginSource>,
) -> Settled {
    let new_types = new.type_names();
    let clashes: Vec<(&LoadedPlugin, Vec<String>)> = accepted
        .iter()
        .filter_map(|old| {
            let mut keys: Vec<String> = old
                .type_names()
                .into_iter()
                .filter(|t| new_types.contains(t))
                .map(str::to_string)
                .collect();
            if old.name() == new.name() {
                keys.insert(0, new.name().to_string());
            }
            (!keys.is_empty()).then_some((old, keys))
        })
        .collect();
    if clashes.is_empty() {
        return Settled::NoClash;
    }
    let mut replaced = Vec::new();
    let mut notes = Vec::new();
    for (old, keys) in &clashes {
        let choice = keys.iter().find_map(|k| prefer.get(k).map(|s| (k, *s)));
        match choice {
            Some((key, source)) if source == new.origin.source && source != old.origin.source => {
                replaced.push(old.origin.label.clone());
                notes.push(format!(
                    "{} replaces {} (clockwork.toml prefers {source} for `{key}`)",
                    describe(new),
                    describe(old)
                ));
            }
            Some((key, source)) if source == old.origin.source && source != new.origin.source => {
                return Settled::OldWins {
                    note: format!(
                        "{} is not used: clockwork.toml prefers {source} for `{key}`",
                        describe(new)
                    ),
                };
            }
            _ => {
                let key = &keys[0];
                let what = if key == new.name() {
                    format!("the name `{key}`")
                } else {
                    format!("type `{key}`")
                };
                return Settled::Unsettled {
                    reason: format!(
                        "{what} is also provided by {}; say which wins in clockwork.toml:\n  [plugins.prefer]\n  {key} = \"{}\"   # or \"{}\"",
                        describe(old),
                        new.origin.source,
                        old.origin.source,
                    ),
                };
            }
        }
    }
    Settled::NewWins {
        replaced,
        note: notes.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The build's digests key the compiled-component cache: each must be
    /// the component's own, or a plugin would be served another's entry.
    #[test]
    fn bundled_digests_are_the_components_own() {
        assert!(!bundled_plugins().is_empty());
        for plugin in bundled_plugins() {
            assert_eq!(
                plugin.digest,
                hex::encode(Sha256::digest(plugin.wasm)),
                "{}",
                plugin.name
            );
        }
    }
}
