//! Assertion plugins: checks run by `clockwork assert`.

use serde_json::Value;

use crate::bindings::assertion::exports::clockwork::plugin::assertions as wit;
use crate::fields;
use crate::schema::TypeDef;
use crate::{Diagnostic, PluginError, PluginMeta, not_implemented};
use clockwork_schema::TypeSchema;

pub use wit::{CheckInput, Outcome, Verdict};

/// One assertion type a plugin provides.
#[derive(Debug, Clone)]
pub struct AssertionType {
    /// The schema.
    pub def: TypeDef,
    /// How long the host retries a failing check, in milliseconds.
    pub default_timeout_ms: u32,
    /// Whether a failing check may pass by waiting.
    pub retryable: bool,
}

impl AssertionType {
    /// A retryable type with a 30 s timeout, as `timeout_seconds` defaults to.
    /// Adds the standard `name`, `description` and `timeout_seconds` fields
    /// when the type does not declare them.
    pub fn new(def: TypeDef) -> Self {
        AssertionType::with_timeout(def, 30)
    }

    /// A retryable type with the given default timeout in seconds.
    pub fn with_timeout(mut def: TypeDef, seconds: u32) -> Self {
        if def.schema().field("name").is_none() {
            def = def.field(fields::assertion_name());
        }
        if def.schema().field("description").is_none() {
            def = def.field(fields::description());
        }
        if def.schema().field("timeout_seconds").is_none() {
            def = def.field(fields::timeout_seconds(seconds));
        }
        AssertionType {
            def,
            default_timeout_ms: seconds.saturating_mul(1000),
            retryable: true,
        }
    }

    /// Marks the type as not retryable: waiting cannot change its answer.
    pub fn not_retryable(mut self) -> Self {
        self.retryable = false;
        self
    }
}

impl Outcome {
    fn with(verdict: Verdict, message: impl Into<String>) -> Self {
        Outcome {
            verdict,
            message: message.into(),
            expected: None,
            actual: None,
            details: Value::Object(Default::default()).to_string(),
            timings: Vec::new(),
        }
    }

    /// A passing outcome.
    pub fn pass(message: impl Into<String>) -> Self {
        Outcome::with(Verdict::Pass, message)
    }

    /// A failing outcome, with what was expected and what was found.
    pub fn fail(
        message: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Outcome {
            expected: Some(expected.into()),
            actual: Some(actual.into()),
            ..Outcome::with(Verdict::Fail, message)
        }
    }

    /// A skipped outcome.
    pub fn skip(message: impl Into<String>) -> Self {
        Outcome::with(Verdict::Skip, message)
    }

    /// Adds what the check saw beyond expected and actual (the body
    /// excerpt, the log lines searched, the command's output), shown by
    /// `clockwork assert --format json` and in failures.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details.to_string();
        self
    }

    /// Adds a named timing in microseconds (`connect`, `first_byte`, …).
    pub fn with_timing(mut self, name: impl Into<String>, micros: u64) -> Self {
        self.timings.push((name.into(), micros));
        self
    }
}

/// The validated config of `input`, parsed.
pub fn config_of(input: &CheckInput) -> Result<Value, PluginError> {
    serde_json::from_str(&input.config)
        .map_err(|e| PluginError::Failed(format!("the host passed a config that is not JSON: {e}")))
}

/// The container a check of `input` is about: the config's
/// `container_name` when given, else the container recorded for the
/// declaration the assertion is attached to (`target-state.container`),
/// else that declaration's name (a resource's container has its name).
pub fn target_container(input: &CheckInput, config: &Value) -> Option<String> {
    if let Some(name) = config.get("container_name").and_then(Value::as_str) {
        return Some(name.to_string());
    }
    let recorded = input
        .target_state
        .as_deref()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|s| {
            s.get("container")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    recorded.or_else(|| input.target.as_ref().map(|t| t.name.clone()))
}

/// The milliseconds one host call of this check may take: what is left of
/// the check, at most `cap`.
pub fn budget_ms(input: &CheckInput, cap: u32) -> u32 {
    input.remaining_ms.min(cap).max(1)
}

/// An assertion plugin. Implement it on a unit struct and export it with
/// [`export_assertion_plugin!`](crate::export_assertion_plugin).
pub trait AssertionPlugin {
    /// Who the plugin is; usually `plugin_meta!("…")`.
    fn meta() -> PluginMeta;

    /// The assertion types it provides.
    fn types() -> Vec<AssertionType>;

    /// Checks an assertion's config and returns it normalised: its
    /// type's defaults filled in, its required fields present. A plugin
    /// that checks more calls [`validate_with`] with its own checks.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        let types = Self::types();
        crate::validate::with_defaults(schema_of(&types, type_name), type_name, config)
    }

    /// Runs one check.
    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let _ = input;
        Err(not_implemented("check"))
    }
}

/// The schema of `type_name` among `types`.
fn schema_of<'a>(types: &'a [AssertionType], type_name: &str) -> Option<&'a TypeSchema> {
    types
        .iter()
        .find(|t| t.def.name() == type_name)
        .map(|t| t.def.schema())
}

/// The usual `validate` of a plugin `P` that checks more than its schema
/// says: the defaults of `type_name` filled in, then `check` on the
/// result; every problem `check` finds is reported.
pub fn validate_with<P: AssertionPlugin>(
    type_name: &str,
    config: &str,
    check: impl FnOnce(&Value) -> Vec<Diagnostic>,
) -> Result<String, Vec<Diagnostic>> {
    let types = P::types();
    crate::validate::with_checks(schema_of(&types, type_name), type_name, config, check)
}

#[doc(hidden)]
pub fn describe<P: AssertionPlugin>() -> wit::AssertionDescription {
    wit::AssertionDescription {
        plugin: P::meta(),
        types: P::types()
            .into_iter()
            .map(|t| wit::AssertionType {
                schema: t.def.into(),
                default_timeout_ms: t.default_timeout_ms,
                retryable: t.retryable,
            })
            .collect(),
    }
}

/// Exports an [`AssertionPlugin`] as the component's `assertions` interface.
#[macro_export]
macro_rules! export_assertion_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __ClockworkAssertionExports;

        impl $crate::bindings::assertion::exports::clockwork::plugin::assertions::Guest for __ClockworkAssertionExports {
            fn describe() -> $crate::bindings::assertion::exports::clockwork::plugin::assertions::AssertionDescription {
                $crate::assertion::describe::<$plugin>()
            }
            fn validate(type_name: String, config: String) -> Result<String, Vec<$crate::Diagnostic>> {
                <$plugin as $crate::assertion::AssertionPlugin>::validate(&type_name, &config)
            }
            fn check(input: $crate::assertion::CheckInput) -> Result<$crate::assertion::Outcome, $crate::PluginError> {
                <$plugin as $crate::assertion::AssertionPlugin>::check(input)
            }
        }

        // Native builds (unit tests of a plugin) have no component exports.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::assertion::export_assertion_world!(__ClockworkAssertionExports with_types_in $crate::bindings::assertion);
    };
}
