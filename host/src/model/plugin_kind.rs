//! The three plugin kinds, how a component's kind is recognised, and
//! where a plugin was found.

use std::fmt;

/// What a plugin provides, decided by the interface its component exports.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    /// Exports `clockwork:plugin/resources`.
    Resource,
    /// Exports `clockwork:plugin/connections`.
    Connection,
    /// Exports `clockwork:plugin/assertions`.
    Assertion,
}

impl PluginKind {
    /// Every kind, in display order.
    pub const ALL: [PluginKind; 3] = [
        PluginKind::Resource,
        PluginKind::Connection,
        PluginKind::Assertion,
    ];

    /// The interface a component of this kind exports, without version.
    pub fn export_interface(self) -> &'static str {
        match self {
            PluginKind::Resource => "clockwork:plugin/resources",
            PluginKind::Connection => "clockwork:plugin/connections",
            PluginKind::Assertion => "clockwork:plugin/assertions",
        }
    }

    /// The `clockwork:plugin` interfaces this kind may import (its world's
    /// imports, see `wit/worlds.wit`).
    pub fn granted_imports(self) -> &'static [&'static str] {
        match self {
            PluginKind::Resource | PluginKind::Connection => &["types", "log", "clock", "fs"],
            PluginKind::Assertion => &["types", "log", "clock", "fs", "probe", "docker", "exec"],
        }
    }

    /// The kind whose export interface `name` (e.g.
    /// `clockwork:plugin/resources@0.1.0`) is, if any.
    pub fn from_export(name: &str) -> Option<PluginKind> {
        let unversioned = name.split('@').next().unwrap_or(name);
        PluginKind::ALL
            .into_iter()
            .find(|k| k.export_interface() == unversioned)
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Resource => "resource",
            PluginKind::Connection => "connection",
            PluginKind::Assertion => "assertion",
        })
    }
}

/// Where a plugin was found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PluginSource {
    /// Embedded in the `clockwork` binary.
    Bundled,
    /// In the project's `plugins/` folder.
    Project,
    /// In the user's plugin folder.
    User,
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginSource::Bundled => "bundled",
            PluginSource::Project => "project",
            PluginSource::User => "user",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_exports_with_any_patch_version() {
        assert_eq!(
            PluginKind::from_export("clockwork:plugin/resources@0.1.0"),
            Some(PluginKind::Resource)
        );
        assert_eq!(
            PluginKind::from_export("clockwork:plugin/assertions@0.1.3"),
            Some(PluginKind::Assertion)
        );
        assert_eq!(PluginKind::from_export("wasi:cli/run@0.2.6"), None);
    }
}
