//! A loaded plugin: its origin, its checked description, and typed calls.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::plugin::bindings::types::{Diagnostic, PluginError};
use crate::plugin::bindings::{assertion, connection, resource};
use crate::plugin::sandbox::{LogSink, Sandbox};
use crate::plugin::{
    CacheOutcome, CallError, CallFailure, HostState, PluginDescription, PluginKind,
};

/// Where a plugin was found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
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

/// A plugin file and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginOrigin {
    /// Bundled, project or user.
    pub source: PluginSource,
    /// The file, for project and user plugins.
    pub path: Option<PathBuf>,
    /// How to name it in messages: the file path, or `bundled:<name>`.
    pub label: String,
    /// SHA-256 of the component, hex.
    pub digest: String,
    /// Size of the component in bytes.
    pub size: usize,
}

/// The typed sandbox of a loaded plugin, by kind.
pub enum PluginHandle {
    /// A resource plugin.
    Resource(Sandbox<resource::ResourcePre<HostState>>),
    /// A connection plugin.
    Connection(Sandbox<connection::ConnectionPre<HostState>>),
    /// An assertion plugin.
    Assertion(Sandbox<assertion::AssertionPre<HostState>>),
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    /// Where it came from.
    pub origin: PluginOrigin,
    /// Its checked description.
    pub description: PluginDescription,
    /// Its sandbox.
    pub handle: PluginHandle,
    /// Whether it came from the compiled-component cache.
    pub cache: CacheOutcome,
}

impl LoadedPlugin {
    /// The plugin's kind.
    pub fn kind(&self) -> PluginKind {
        match self.handle {
            PluginHandle::Resource(_) => PluginKind::Resource,
            PluginHandle::Connection(_) => PluginKind::Connection,
            PluginHandle::Assertion(_) => PluginKind::Assertion,
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.description.meta.name
    }

    /// The plugin's type names, in order.
    pub fn type_names(&self) -> Vec<&str> {
        self.description
            .types
            .iter()
            .map(|t| t.schema.name.as_str())
            .collect()
    }

    /// The assertion sandbox, if this is an assertion plugin.
    pub fn assertion(&self) -> Option<&Sandbox<assertion::AssertionPre<HostState>>> {
        match &self.handle {
            PluginHandle::Assertion(s) => Some(s),
            _ => None,
        }
    }

    /// The resource sandbox, if this is a resource plugin.
    pub fn resource(&self) -> Option<&Sandbox<resource::ResourcePre<HostState>>> {
        match &self.handle {
            PluginHandle::Resource(s) => Some(s),
            _ => None,
        }
    }

    /// The connection sandbox, if this is a connection plugin.
    pub fn connection(&self) -> Option<&Sandbox<connection::ConnectionPre<HostState>>> {
        match &self.handle {
            PluginHandle::Connection(s) => Some(s),
            _ => None,
        }
    }

    /// Sends this plugin's log records to `sink`.
    pub fn set_log_sink(&mut self, sink: LogSink) {
        match &mut self.handle {
            PluginHandle::Resource(s) => s.log_sink = Some(sink),
            PluginHandle::Connection(s) => s.log_sink = Some(sink),
            PluginHandle::Assertion(s) => s.log_sink = Some(sink),
        }
    }

    /// Calls the plugin's `validate` for one declaration's config.
    pub async fn validate(
        &self,
        type_name: &str,
        name: &str,
        config: &Value,
    ) -> Result<Result<Value, Vec<Diagnostic>>, CallError> {
        let type_name_owned = type_name.to_string();
        let name_owned = name.to_string();
        let config_text = config.to_string();
        let text = match &self.handle {
            PluginHandle::Resource(s) => {
                s.call("validate", Some(name), move |store, i| {
                    Box::pin(async move {
                        i.clockwork_plugin_resources()
                            .call_validate(store, &type_name_owned, &name_owned, &config_text)
                            .await
                    })
                })
                .await?
            }
            PluginHandle::Connection(s) => {
                s.call("validate", Some(name), move |store, i| {
                    Box::pin(async move {
                        i.clockwork_plugin_connections()
                            .call_validate(store, &type_name_owned, &config_text)
                            .await
                    })
                })
                .await?
            }
            PluginHandle::Assertion(s) => {
                s.call("validate", Some(name), move |store, i| {
                    Box::pin(async move {
                        i.clockwork_plugin_assertions()
                            .call_validate(store, &type_name_owned, &config_text)
                            .await
                    })
                })
                .await?
            }
        };
        match text {
            Ok(json) => self.parse_json("validate", name, &json).map(Ok),
            Err(diagnostics) => Ok(Err(diagnostics)),
        }
    }

    /// Runs one assertion check.
    pub async fn check(
        &self,
        input: assertion::exports::clockwork::plugin::assertions::CheckInput,
    ) -> Result<
        Result<assertion::exports::clockwork::plugin::assertions::Outcome, PluginError>,
        CallError,
    > {
        let Some(sandbox) = self.assertion() else {
            return Err(self.contract_error(
                "check",
                None,
                format!("`{}` is not an assertion plugin", self.name()),
            ));
        };
        let target = input.target.as_ref().map(|t| t.name.clone());
        sandbox
            .call("check", target.as_deref(), move |store, i| {
                Box::pin(async move {
                    i.clockwork_plugin_assertions()
                        .call_check(store, &input)
                        .await
                })
            })
            .await
    }

    fn parse_json(&self, call: &'static str, target: &str, text: &str) -> Result<Value, CallError> {
        let limit = self.limits_result_bytes();
        if text.len() > limit {
            return Err(self.contract_error(
                call,
                Some(target),
                format!("{} bytes of JSON; the limit is {limit}", text.len()),
            ));
        }
        serde_json::from_str(text)
            .map_err(|e| self.contract_error(call, Some(target), format!("not valid JSON: {e}")))
    }

    fn limits_result_bytes(&self) -> usize {
        match &self.handle {
            PluginHandle::Resource(s) => s.limits.result_bytes,
            PluginHandle::Connection(s) => s.limits.result_bytes,
            PluginHandle::Assertion(s) => s.limits.result_bytes,
        }
    }

    fn contract_error(
        &self,
        call: &'static str,
        target: Option<&str>,
        reason: String,
    ) -> CallError {
        CallError {
            plugin: self.name().to_string(),
            call,
            target: target.map(str::to_string),
            failure: CallFailure::InvalidResult(reason),
        }
    }
}
