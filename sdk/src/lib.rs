//! Write Clockwork plugins in Rust.
//!
//! A Clockwork plugin is a WebAssembly component implementing one of the
//! worlds in `wit/` (`resource`, `connection` or `assertion`). This crate
//! gives you the generated bindings plus a trait per world, schema builders
//! and an export macro, so that a plugin is a few dozen lines:
//!
//! ```no_run
//! use clockwork_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl AssertionPlugin for Hello {
//!     fn meta() -> PluginMeta {
//!         plugin_meta!("says hello")
//!     }
//!     fn types() -> Vec<AssertionType> {
//!         vec![AssertionType::new(
//!             TypeDef::new("HelloAssert", "Always passes.").field(fields::description()),
//!         )]
//!     }
//!     fn check(_input: CheckInput) -> Result<Outcome, PluginError> {
//!         Ok(Outcome::pass("hello"))
//!     }
//! }
//!
//! export_assertion_plugin!(Hello);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release` and drop the
//! `.wasm` into a project's `plugins/` folder. The WIT files document every
//! function and type; this crate does not repeat them. The numbered examples
//! in `sdk/examples/` go from a minimal assertion to a resource plugin.

#![deny(missing_docs)]

pub mod assertion;
pub mod bindings;
pub mod connection;
pub mod database;
pub mod fields;
pub mod resource;
pub mod schema;

pub mod validate;

pub use clockwork_schema;
pub use serde_json;

/// Types shared by every plugin kind (`wit/types.wit`).
pub use bindings::host::clockwork::plugin::types::{
    Action, Diagnostic, FieldChange, HostError, PluginError, PluginMeta, ResourceRef, Severity,
    Suggestion,
};

/// Host imports: `log`, `clock`, `fs`, `probe`, `docker`, `exec`. Which of
/// them a plugin may call depends on its world (see `wit/worlds.wit`).
pub mod host {
    pub use crate::bindings::host::clockwork::plugin::{clock, docker, exec, fs, log, probe};
}

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::assertion::{
        AssertionPlugin, AssertionType, CheckInput, Outcome, Verdict, budget_ms, config_of,
        target_container,
    };
    pub use crate::connection::{ConnectionPlugin, Contribution, ResolveInput};
    pub use crate::fields;
    pub use crate::resource::{ResourcePlugin, ResourceType};
    pub use crate::schema::{Field, TypeDef};
    pub use crate::{
        Action, Diagnostic, FieldChange, HostError, PluginError, PluginMeta, ResourceRef, Severity,
        Suggestion, export_assertion_plugin, export_connection_plugin, export_resource_plugin,
        plugin_meta,
    };
    pub use serde_json::{Value, json};
}

/// Builds this crate's [`PluginMeta`]: the plugin name is the package name
/// without a `clockwork-plugin-` prefix, the version is the package version.
///
/// ```
/// use clockwork_sdk::{PluginMeta, plugin_meta};
/// let meta: PluginMeta = plugin_meta!("PostgreSQL database resources");
/// assert_eq!(meta.summary, "PostgreSQL database resources");
/// ```
#[macro_export]
macro_rules! plugin_meta {
    ($summary:expr) => {
        $crate::PluginMeta {
            name: $crate::plugin_name(env!("CARGO_PKG_NAME")),
            version: env!("CARGO_PKG_VERSION").to_string(),
            summary: ::std::string::String::from($summary),
            homepage: None,
        }
    };
}

/// The plugin name for a package name: `clockwork-plugin-docker-resource` →
/// `docker-resource`. Used by [`plugin_meta!`].
pub fn plugin_name(package: &str) -> String {
    package
        .strip_prefix("clockwork-plugin-")
        .unwrap_or(package)
        .to_string()
}

/// A [`PluginError::Failed`] saying that `function` is not implemented by
/// this plugin. The default for every optional trait method.
pub fn not_implemented(function: &str) -> PluginError {
    PluginError::Failed(format!("`{function}` is not implemented by this plugin"))
}

/// A [`PluginError::InvalidConfig`] with one error at `path` (a JSON
/// Pointer, e.g. `/mount_path`).
pub fn invalid(path: Option<&str>, summary: impl Into<String>) -> PluginError {
    PluginError::InvalidConfig(vec![error_at(path, summary)])
}

/// An error [`Diagnostic`] at a JSON Pointer path (`None` for the whole declaration).
pub fn error_at(path: Option<&str>, summary: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        summary: summary.into(),
        detail: None,
        path: path.map(str::to_string),
    }
}
