//! What completion needs of the world, as traits: the plugins (a type's
//! schema, its deterministic rules, its `validate`) and the model (a probe
//! and a question). [`PluginSet`] and [`ChatClient`] are the real ones; a
//! stage test gives plain answers.

use std::future::Future;
use std::pin::Pin;

use clockwork_schema::TypeSchema;
use serde_json::{Map, Value as Json};

use crate::complete::chat::{Answer, ChatClient, ChatError, Message, Probe};
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources;
use crate::plugin::bindings::types::{Diagnostic, PluginError, Suggestion};
use crate::plugin::{CallError, PluginSet};

/// A call on its way.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a plugin's rules answer.
pub type Rules = Result<Result<Vec<Suggestion>, PluginError>, CallError>;

/// What a plugin's `validate` answers: the config with its defaults, or
/// what is wrong with it.
pub type Validated = Result<Result<Json, Vec<Diagnostic>>, CallError>;

/// What is asked of a type's deterministic rules.
#[derive(Clone)]
pub enum RulesFor {
    /// A resource's missing fields.
    Resource(resources::CompletionInput),
    /// A connection's missing fields, with its two ends.
    Connection(connections::CompletionInput),
}

impl RulesFor {
    /// The same question about `config` for `missing`: the rules are
    /// asked again once a model chose some fields, since what they follow
    /// from may be among them (the ports of the image it picked).
    pub fn again(&self, config: &Map<String, Json>, missing: Vec<String>) -> RulesFor {
        let config = Json::Object(config.clone()).to_string();
        match self {
            RulesFor::Resource(input) => RulesFor::Resource(resources::CompletionInput {
                config,
                missing,
                ..input.clone()
            }),
            RulesFor::Connection(input) => RulesFor::Connection(connections::CompletionInput {
                config,
                missing,
                ..input.clone()
            }),
        }
    }
}

/// What completion needs of the plugins.
pub trait CompletionPlugins: Send + Sync {
    /// The schema of `type_name`, when a plugin provides it.
    fn schema(&self, type_name: &str) -> Option<&TypeSchema>;

    /// The name of the plugin that provides `type_name`.
    fn plugin_name(&self, type_name: &str) -> Option<&str>;

    /// The rules of `type_name`'s plugin; none (an empty list) when no
    /// plugin provides it.
    fn rules<'a>(&'a self, type_name: &'a str, input: RulesFor) -> Call<'a, Rules>;

    /// `type_name`'s plugin's `validate` of `config`.
    fn validate<'a>(
        &'a self,
        type_name: &'a str,
        name: &'a str,
        config: Json,
    ) -> Call<'a, Validated>;
}

impl CompletionPlugins for PluginSet {
    fn schema(&self, type_name: &str) -> Option<&TypeSchema> {
        PluginSet::schema(self, type_name)
    }

    fn plugin_name(&self, type_name: &str) -> Option<&str> {
        self.for_type(type_name).map(|p| p.name())
    }

    fn rules<'a>(&'a self, type_name: &'a str, input: RulesFor) -> Call<'a, Rules> {
        Box::pin(async move {
            let Some(plugin) = self.for_type(type_name) else {
                return Ok(Ok(Vec::new()));
            };
            match input {
                RulesFor::Resource(input) => plugin.complete_rules(&input).await,
                RulesFor::Connection(input) => plugin.complete_connection_rules(&input).await,
            }
        })
    }

    fn validate<'a>(
        &'a self,
        type_name: &'a str,
        name: &'a str,
        config: Json,
    ) -> Call<'a, Validated> {
        Box::pin(async move {
            match self.for_type(type_name) {
                Some(plugin) => plugin.validate(type_name, name, &config).await,
                // Nothing to check it against.
                None => Ok(Ok(config)),
            }
        })
    }
}

/// What completion needs of a model.
pub trait Model: Send + Sync {
    /// Its name, as configured (recorded in `clockwork.lock`).
    fn name(&self) -> &str;

    /// Where it is served, for messages.
    fn base_url(&self) -> &str;

    /// Whether the server enforces a response schema.
    fn probe(&self) -> Call<'_, Result<Probe, ChatError>>;

    /// An object matching `schema`; `again` after an answer that could not
    /// be used.
    fn ask<'a>(
        &'a self,
        messages: &'a [Message],
        name: &'a str,
        schema: &'a Json,
        again: bool,
    ) -> Call<'a, Result<Answer, ChatError>>;
}

impl Model for ChatClient {
    fn name(&self) -> &str {
        &self.settings().model
    }

    fn base_url(&self) -> &str {
        &self.settings().base_url
    }

    fn probe(&self) -> Call<'_, Result<Probe, ChatError>> {
        Box::pin(ChatClient::probe(self))
    }

    fn ask<'a>(
        &'a self,
        messages: &'a [Message],
        name: &'a str,
        schema: &'a Json,
        again: bool,
    ) -> Call<'a, Result<Answer, ChatError>> {
        Box::pin(ChatClient::ask(self, messages, name, schema, again))
    }
}
