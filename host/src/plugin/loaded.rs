//! A loaded plugin: its origin, its checked description, and typed calls.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::plugin::bindings::assertion::exports::clockwork::plugin::assertions;
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources;
use crate::plugin::bindings::types::{Diagnostic, PluginError, Suggestion};
use crate::plugin::sandbox::{LogSink, Sandbox};
use crate::plugin::{CacheOutcome, CallError, CallFailure, PluginDescription, PluginKind};

pub use crate::model::PluginSource;

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

/// A plugin ready to be called.
pub struct LoadedPlugin {
    /// Where it came from.
    pub origin: PluginOrigin,
    /// Its checked description.
    pub description: PluginDescription,
    /// Its sandbox.
    pub sandbox: Sandbox,
    /// Whether it came from the compiled-component cache.
    pub cache: CacheOutcome,
    /// The host interfaces it imports (`probe`, `docker`, …): all it can
    /// ever call, whatever its kind's world offers.
    pub imports: Vec<String>,
}

type Diagnostics = Vec<Diagnostic>;

impl LoadedPlugin {
    /// The plugin's kind.
    pub fn kind(&self) -> PluginKind {
        self.sandbox.kind
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

    /// Sends this plugin's log records to `sink`.
    pub fn set_log_sink(&mut self, sink: LogSink) {
        self.sandbox.log_sink = Some(sink);
    }

    /// Calls the plugin's `validate` for one declaration's config.
    pub async fn validate(
        &self,
        type_name: &str,
        name: &str,
        config: &Value,
    ) -> Result<Result<Value, Vec<Diagnostic>>, CallError> {
        let config_text = config.to_string();
        let target = Some(name);
        let (result,): (Result<String, Diagnostics>,) = match self.kind() {
            PluginKind::Resource => {
                self.sandbox
                    .call("validate", target, (type_name, name, config_text.as_str()))
                    .await?
            }
            PluginKind::Connection | PluginKind::Assertion => {
                self.sandbox
                    .call("validate", target, (type_name, config_text.as_str()))
                    .await?
            }
        };
        match result {
            Ok(json) => self.parse_json("validate", name, &json).map(Ok),
            Err(diagnostics) => Ok(Err(diagnostics)),
        }
    }

    /// Asks a resource plugin's deterministic rules for missing fields.
    pub async fn complete_rules(
        &self,
        input: &resources::CompletionInput,
    ) -> Result<Result<Vec<Suggestion>, PluginError>, CallError> {
        let target = input.target.name.clone();
        let (result,) = self
            .sandbox
            .call("complete-rules", Some(&target), (input,))
            .await?;
        Ok(result)
    }

    /// Asks a connection plugin's deterministic rules for missing fields.
    pub async fn complete_connection_rules(
        &self,
        input: &connections::CompletionInput,
    ) -> Result<Result<Vec<Suggestion>, PluginError>, CallError> {
        let (result,) = self
            .sandbox
            .call("complete-rules", Some(&input.name), (input,))
            .await?;
        Ok(result)
    }

    /// Plans one resource: a change and the actions for the host.
    pub async fn plan(
        &self,
        input: &resources::PlanInput,
    ) -> Result<Result<resources::ChangePlan, PluginError>, CallError> {
        let target = input.target.name.clone();
        let (result,) = self.sandbox.call("plan", Some(&target), (input,)).await?;
        Ok(result)
    }

    /// A resource's health and drift, from its recorded state and a fresh
    /// observation (`watch` asks on each `check_interval`).
    pub async fn status(
        &self,
        target: &crate::plugin::bindings::types::ResourceRef,
        state: &str,
        observed: Option<&str>,
    ) -> Result<Result<resources::StatusReport, PluginError>, CallError> {
        let name = target.name.clone();
        let (result,) = self
            .sandbox
            .call("status", Some(&name), (target, state, observed))
            .await?;
        Ok(result)
    }

    /// The new state of a resource after its actions ran.
    pub async fn settle(
        &self,
        input: &resources::PlanInput,
        plan: &resources::ChangePlan,
        results: &[resources::ActionResult],
    ) -> Result<Result<String, PluginError>, CallError> {
        let target = input.target.name.clone();
        let (result,) = self
            .sandbox
            .call("settle", Some(&target), (input, plan, results))
            .await?;
        Ok(result)
    }

    /// Computes what a connection contributes to its endpoints.
    pub async fn resolve(
        &self,
        input: &connections::ResolveInput,
    ) -> Result<Result<connections::Contribution, PluginError>, CallError> {
        let target = input.name.clone();
        let (result,) = self
            .sandbox
            .call("resolve", Some(&target), (input,))
            .await?;
        Ok(result)
    }

    /// Runs one assertion check.
    pub async fn check(
        &self,
        input: &assertions::CheckInput,
    ) -> Result<Result<assertions::Outcome, PluginError>, CallError> {
        self.check_within(input, None).await
    }

    /// Runs one assertion check, stopped `within` this time when that is
    /// sooner than the plugin's call timeout.
    pub async fn check_within(
        &self,
        input: &assertions::CheckInput,
        within: Option<std::time::Duration>,
    ) -> Result<Result<assertions::Outcome, PluginError>, CallError> {
        let target = input.target.as_ref().map(|t| t.name.clone());
        let (result,): (Result<assertions::Outcome, PluginError>,) = self
            .sandbox
            .call_within("check", target.as_deref(), (input,), within)
            .await?;
        // What a check reports is shown and masked: bounded like any result.
        let size = match &result {
            Ok(o) => {
                o.message.len()
                    + o.details.len()
                    + o.expected.as_ref().map_or(0, String::len)
                    + o.actual.as_ref().map_or(0, String::len)
                    + o.timings
                        .iter()
                        .map(|(name, _)| name.len() + 8)
                        .sum::<usize>()
            }
            Err(e) => e.message().len(),
        };
        let limit = self.sandbox.limits.result_bytes;
        if size > limit {
            return Err(self.contract_error(
                "check",
                target.as_deref(),
                format!("a check result of {size} bytes; the limit is {limit}"),
            ));
        }
        Ok(result)
    }

    fn parse_json(&self, call: &'static str, target: &str, text: &str) -> Result<Value, CallError> {
        let limit = self.sandbox.limits.result_bytes;
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
