//! Clockwork: declare and run local multi-container infrastructure.
//!
//! ```text
//! main.star ──load──▶ declarations ──resolve──▶ graph ──complete──▶ specs ──plan──▶ actions ──apply──▶ state
//! ```
//!
//! Every resource type, connection type and assertion is a sandboxed
//! WebAssembly component ([`plugin`]) that sees only the host imports its
//! kind is granted (`capability`). Plugins decide; the host acts.
//!
//! This library backs the `clockwork` binary; its interface carries no
//! stability promise beyond the binary's own. The stages the binary, the
//! tests and the benchmarks drive are public (`load`, `resolve`,
//! `complete`, `plan`, the plugin runtime, the project folder, the policy
//! and the state); the Engine, the executor and the output are the
//! binary's own, reached through [`cli`].

mod apply;
pub mod assert;
pub mod cli;
pub mod complete;
mod defaults;
mod docker;
pub mod driver;
#[cfg(test)]
mod fuzz;
pub mod import;
pub mod load;
mod model;
mod output;
pub mod pipeline;
pub mod plan;
pub mod plugin;
pub mod policy;
pub mod project;
pub mod reconcile;
mod render;
pub mod resolve;
mod secret;
pub mod state;
mod suggest;
pub mod watch;
pub mod wit;
