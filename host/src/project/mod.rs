//! The project folder: where `main.star` lives, its `clockwork.toml`, and
//! its `plugins/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::plugin::PluginSource;

/// The project's optional settings file.
pub const CONFIG_FILE: &str = "clockwork.toml";

/// A project folder and its settings.
#[derive(Debug, Clone)]
pub struct Project {
    /// The folder, absolute.
    pub dir: PathBuf,
    /// `clockwork.toml`, or the defaults when there is none.
    pub config: ProjectConfig,
}

/// `clockwork.toml`. Unknown keys are errors, so a typo never goes unnoticed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// `[plugins]`
    #[serde(default)]
    pub plugins: PluginsConfig,
}

/// `[plugins]` in `clockwork.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// `[plugins.prefer]`: which source wins when two plugins share a name
    /// or a type, keyed by plugin or type name, e.g. `DockerResource = "project"`.
    #[serde(default)]
    pub prefer: BTreeMap<String, PluginSource>,
}

/// Why a project could not be opened.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProjectError {
    /// The folder does not exist or is not a directory.
    #[error("project folder `{}` does not exist or is not a directory", path.display())]
    #[diagnostic(
        code(clockwork::project::missing),
        help("pass an existing folder to `-C`")
    )]
    Missing {
        /// The folder.
        path: PathBuf,
    },
    /// `clockwork.toml` cannot be read or parsed.
    #[error("{}: {message}", path.display())]
    #[diagnostic(code(clockwork::project::config))]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its line and column.
        message: String,
    },
}

impl Project {
    /// Opens the project in `dir`, reading `clockwork.toml` when present.
    pub fn open(dir: &Path) -> Result<Project, ProjectError> {
        let dir = std::fs::canonicalize(dir)
            .ok()
            .filter(|d| d.is_dir())
            .ok_or_else(|| ProjectError::Missing {
                path: dir.to_path_buf(),
            })?;
        let path = dir.join(CONFIG_FILE);
        let config = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ProjectError::Config {
                path: path.clone(),
                message: located(&text, &e),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ProjectConfig::default(),
            Err(e) => {
                return Err(ProjectError::Config {
                    path,
                    message: e.to_string(),
                });
            }
        };
        Ok(Project { dir, config })
    }
}

/// A TOML error as `line L, column C: message`.
fn located(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_preferences_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[plugins.prefer]\nDockerResource = \"project\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let project = Project::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            project.config.plugins.prefer.get("DockerResource"),
            Some(&PluginSource::Project)
        );

        std::fs::write(dir.path().join(CONFIG_FILE), "[plugins]\nprefered = {}\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = Project::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("line 2, column 1: unknown field `prefered`"),
            "{err}"
        );
    }
}
