//! The plugin runtime: every resource type, connection type and assertion
//! is a sandboxed WebAssembly component, loaded here.
//!
//! One wasmtime [`PluginEngine`] with an epoch ticker; compiled components
//! cached on disk ([`ComponentCache`]); one linker per plugin kind with only
//! that kind's host imports; a fresh store and instance per call from an
//! `InstancePre` ([`Sandbox`]), under memory, time and output limits. A trap,
//! a deadline, running out of memory or a malformed component becomes an
//! error naming the plugin and the call, and the host carries on.

pub use crate::wit as bindings;
mod cache;
pub(crate) mod capability;
mod concurrent;
mod description;
mod discover;
mod engine;
mod error;
mod limits;
mod loaded;
mod runtime;
mod sandbox;
mod store;
mod wasm_bytes;

pub use crate::model::PluginKind;
pub use cache::{CacheOutcome, ComponentCache};
pub use concurrent::in_order;
pub use description::{PluginDescription, TypeInfo, TypeTraits};
pub use discover::{PluginProblem, PluginSet, bundled_plugins, discover};
pub use engine::{PluginEngine, contract};
pub use error::{CallError, CallFailure, LoadError};
pub use limits::Limits;
pub use loaded::{LoadedPlugin, PluginSource};
pub use runtime::{PluginRuntime, RuntimeOptions};
pub use wasm_bytes::WasmBytes;

/// The bundled plugin that runs users' check functions (Starlark): the one
/// whose instances are kept warm, and the only one given secrets, which it
/// hands to a check only when asked by name.
pub const INTERPRETER_PLUGIN: &str = "starlark-assertions";
pub use store::{Deployment, HostServices, HostState, LogLevel, LogRecord};
