//! User assertions written in Starlark, run inside this component:
//! `PythonAssert(fn)` and `CrossResourceAssert(source, target, check)`.
//!
//! The host hands over the user's function as a program (the source of
//! the files it needs, their top-level data, and the resources the check
//! may look at; see [`program`]). The program runs here, in a fresh
//! interpreter per check, with builtins built on the assertion world's host
//! imports only, under a deadline, a memory limit and an execution budget
//! ([`limits`]). Whatever the function does, it ends this check alone.

mod builtins;
mod context;
mod json;
mod limits;
mod program;
#[cfg(test)]
mod tests;
mod verdict;
mod view;

use std::time::{Duration, Instant};

use clockwork_sdk::error_at;
use clockwork_sdk::prelude::*;

use crate::context::CheckContext;
use crate::limits::Bounds;
use crate::program::Program;

// Counted, so that a check over its memory limit is stopped with a message
// instead of growing until the host's cap.
#[global_allocator]
static ALLOCATOR: clockwork_starlark::memory::CountingAllocator = limits::counting_allocator();

/// A host error as one line.
pub(crate) fn host_error_text(e: &HostError) -> String {
    match e {
        HostError::Denied(m) => format!("denied: {m}"),
        HostError::NotFound(m) => format!("not found: {m}"),
        HostError::TimedOut(m) => format!("timed out: {m}"),
        HostError::InvalidArgument(m) => format!("invalid argument: {m}"),
        HostError::TooLarge(m) => format!("too large: {m}"),
        HostError::Failed(m) => m.clone(),
    }
}

/// The `starlark-assertions` plugin.
pub struct StarlarkAssertions;

const PYTHON_ASSERT: &str = "PythonAssert";
const CROSS_RESOURCE_ASSERT: &str = "CrossResourceAssert";

/// How long a user check is retried while it fails, unless
/// `timeout_seconds` says otherwise.
const DEFAULT_TIMEOUT_SECONDS: u32 = 5;

fn allow_field() -> Field {
    Field::new(
        "allow",
        "list<any>",
        "Containers the check may also run commands in with `exec`, as resources or names: \
         `allow = [db]`. By default a check may run commands only in the containers of the \
         resources it is about.",
    )
    .default(json!([]))
    .example(json!(["postgres-db"]))
}

fn python_assert() -> TypeDef {
    TypeDef::new(
        PYTHON_ASSERT,
        "Passes when a Starlark function says so: `PythonAssert(check)` calls `check(resource)`, \
         which returns `(passed, message)` or a bool, or calls `fail(\"why\")`. The function runs \
         in Clockwork's WebAssembly sandbox with the check builtins (`http`, `tcp`, `udp`, `dns`, \
         `exec`, `docker`, `file`, `json`, `re`, `time`, `sleep`), never on the host.",
    )
    .field(
        Field::new(
            "fn",
            "function",
            "The check: a top-level `def` or a `lambda`, called with the resource. May be given \
             positionally: `PythonAssert(api_is_healthy)`.",
        )
        .required(),
    )
    .field(Field::new(
        "resource",
        "resource",
        "The resource to check when the assertion is declared on its own rather than in \
         `assertions=[...]`.",
    ))
    .field(allow_field())
}

fn cross_resource_assert() -> TypeDef {
    TypeDef::new(
        CROSS_RESOURCE_ASSERT,
        "Passes when a Starlark function of two resources says so: `check(source, target)` \
         returns `(passed, message)` or a bool, or calls `fail(\"why\")`. It may run commands in \
         both resources' containers.",
    )
    .field(
        Field::new(
            "source",
            "resource",
            "The resource the interaction starts from.",
        )
        .required(),
    )
    .field(Field::new("target", "resource", "The resource it reaches.").required())
    .field(
        Field::new(
            "check",
            "function",
            "The check: a top-level `def` or a `lambda` of `(source, target)`. \
             Left out, completion has the configured model write it from `assertion`, once: it is \
             recorded in clockwork.lock and shown by `clockwork plan` for review.",
        )
        .completable(),
    )
    .field(Field::new(
        "assertion",
        "string",
        "The check in words (\"the API can query the database\"), for completion to turn into \
         `check` when that is left out.",
    ))
    .field(allow_field())
}

impl AssertionPlugin for StarlarkAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("user assertions written as Starlark functions, run in this sandbox")
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::with_timeout(python_assert(), DEFAULT_TIMEOUT_SECONDS),
            AssertionType::with_timeout(cross_resource_assert(), DEFAULT_TIMEOUT_SECONDS),
        ]
    }

    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::assertion::validate_with::<Self>(type_name, config, |parsed| {
            config_problems(type_name, parsed)
        })
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let config = config_of(&input)?;
        let field = function_field(&input.type_name);
        let function = config.get(field).ok_or_else(|| {
            PluginError::Failed(format!("`{}` has no `{field}` function", input.type_name))
        })?;
        let program =
            Program::from_json(function).map_err(|e| PluginError::Failed(e.to_string()))?;
        // The resources the function receives, and whose containers it
        // may run commands in.
        let args: Vec<Option<String>> = match input.type_name.as_str() {
            CROSS_RESOURCE_ASSERT => {
                vec![reference(&config, "source"), reference(&config, "target")]
            }
            _ => vec![
                input
                    .target
                    .as_ref()
                    .map(|t| t.name.clone())
                    .or_else(|| reference(&config, "resource")),
            ],
        };
        let container_of = |name: &str| {
            program
                .resources
                .get(name)
                .and_then(|v| v.container.clone())
        };
        let own_container = args
            .first()
            .cloned()
            .flatten()
            .and_then(|n| container_of(&n));
        let mut exec_allowed: Vec<String> = args
            .iter()
            .flatten()
            .filter_map(|n| container_of(n))
            .collect();
        for item in config
            .get("allow")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = allowed_name(item) {
                exec_allowed.push(container_of(&name).unwrap_or(name));
            }
        }
        let timeout = Duration::from_millis(u64::from(input.remaining_ms));
        // A little is kept back so that the check's own message, not the
        // host's interrupt, is what the user reads.
        let margin = (timeout / 20).min(Duration::from_millis(100));
        let bounds = Bounds {
            deadline: Instant::now() + timeout.saturating_sub(margin),
            // The attempt's budget: the host gives an attempt at most a
            // few seconds of a longer `timeout_seconds`.
            timeout,
            memory_bytes: limits::MEMORY_BYTES,
            statements: limits::STATEMENTS,
        };
        let _entered = context::enter(CheckContext {
            deadline: bounds.deadline,
            own_container,
            exec_allowed,
        });
        let started = Instant::now();
        let names: Vec<Option<&str>> = args.iter().map(Option::as_deref).collect();
        let judged = program.call(&names, bounds, |value| verdict::judge(&program, value));
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match judged {
            Ok(Ok(outcome)) => Ok(outcome.with_timing("function", micros)),
            Ok(Err(message)) => Err(PluginError::Failed(message)),
            Err(e) => verdict::from_error(&program, &e).map(|o| o.with_timing("function", micros)),
        }
    }
}

/// What the schema cannot say about a config: a function is there (or
/// only words, which need completion), `allow` names containers, the
/// program is one this plugin can read.
fn config_problems(type_name: &str, parsed: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let field = function_field(type_name);
    if type_name == CROSS_RESOURCE_ASSERT {
        let has_check = parsed.get("check").is_some_and(|c| !c.is_null());
        let has_words = parsed.get("assertion").is_some_and(|c| !c.is_null());
        if has_words && !has_check {
            // At `/check`: the host judges this after completion, which
            // writes `check` from the words when a model is configured.
            problems.push(Diagnostic {
                detail: Some(
                    "configure a model for completion to write it from `assertion`, or write it: `check = lambda source, target: ...`"
                        .into(),
                ),
                ..error_at(
                    Some("/check"),
                    "`check` is missing: the check in words was not turned into a function",
                )
            });
        } else if !has_check {
            problems.push(error_at(
                Some("/check"),
                "`check` is required: a function of `(source, target)`",
            ));
        }
    }
    if let Some(allow) = parsed.get("allow").and_then(Value::as_array) {
        for (i, item) in allow.iter().enumerate() {
            if allowed_name(item).is_none() {
                problems.push(error_at(
                    Some(&format!("/allow/{i}")),
                    format!("expected a resource or a container name, got `{item}`"),
                ));
            }
        }
    }
    if let Some(function) = parsed.get(field).filter(|f| !f.is_null()) {
        // The host compiled the same code when it read the project
        // (the blanked modules hold nothing it did not), so reading the
        // program is enough here; compiling it again would cost every
        // command about a millisecond per check.
        if let Err(e) = Program::from_json(function) {
            problems.push(error_at(Some(&format!("/{field}")), e.to_string()));
        }
    }
    problems
}

fn function_field(type_name: &str) -> &'static str {
    if type_name == CROSS_RESOURCE_ASSERT {
        "check"
    } else {
        "fn"
    }
}

/// The declaration a reference field names.
fn reference(config: &Value, field: &str) -> Option<String> {
    config
        .get(field)
        .and_then(|r| r.get("$ref"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A name in `allow`: a string, or a reference to a declaration.
fn allowed_name(item: &Value) -> Option<String> {
    match item {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("$ref").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

export_assertion_plugin!(StarlarkAssertions);
