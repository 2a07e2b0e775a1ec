//! Clockwork: declare and run local multi-container infrastructure.
//!
//! ```text
//! main.star ──load──▶ declarations ──resolve──▶ graph ──complete──▶ specs ──plan──▶ actions ──apply──▶ state
//! ```
//!
//! Every resource type, connection type and assertion is a sandboxed
//! WebAssembly component ([`plugin`]) that sees only the host imports its
//! kind is granted ([`capability`]). Plugins decide; the host acts.
//!
//! This library backs the `clockwork` binary; its interface carries no
//! stability promise beyond the binary's own.

pub mod apply;
pub mod capability;
pub mod cli;
pub mod complete;
pub mod defaults;
pub mod docker;
pub mod load;
pub mod model;
pub mod output;
pub mod plan;
pub mod plugin;
pub mod policy;
pub mod project;
pub mod resolve;
pub mod secret;
pub mod state;
pub mod suggest;
