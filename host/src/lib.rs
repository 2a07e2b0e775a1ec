//! Clockwork: declare and run local multi-container infrastructure.
//!
//! ```text
//! main.star ──load──▶ Declared ──complete──▶ ──resolve──▶ Graph ──plan──▶ Plan ──apply──▶ State
//! ```
//!
//! Every resource type, connection type and assertion is a sandboxed
//! WebAssembly component (the plugin runtime) that sees only the host
//! imports its kind is granted. Plugins decide; the host acts.
//!
//! This library backs the `clockwork` binary; its interface carries no
//! stability promise beyond the binary's own. Its modules are private:
//! what the binary, the tests and the benchmarks use is the list below,
//! and `ARCHITECTURE.md` says where everything else lives.

mod apply;
mod assert;
mod cli;
mod complete;
mod defaults;
mod docker;
mod driver;
#[cfg(test)]
mod fuzz;
mod import;
mod load;
mod model;
mod output;
mod pipeline;
mod plan;
mod plugin;
mod policy;
mod project;
mod reconcile;
mod render;
mod resolve;
mod secret;
mod state;
mod suggest;
mod watch;
// The WIT contract as Rust types: what plugins and the host exchange.
pub mod wit;

// The command line, and the allocator it counts evaluation with.
pub use cli::{Args, main};
pub use load::limits::{TrackingAllocator, tracking_allocator};

// The pipeline, as the benchmarks drive it.
pub use pipeline::{Options as PipelineOptions, Resolved, planned_offline, resolved};
pub use plan::action_json;

// The plugin runtime and the contract's types.
pub use plugin::{
    CacheOutcome, CallError, CallFailure, Limits, LoadedPlugin, PluginKind, PluginRuntime,
    PluginSet, PluginSource, RuntimeOptions, TypeTraits, bundled_plugins, contract, discover,
};

// What a plugin's plan is checked against, and where it acts.
pub use driver::Drivers;
pub use policy::{Scope, check as check_action};
pub use project::{Identity, Project, ProjectDir};
pub use state::State;
