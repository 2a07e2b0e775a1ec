//! Starlark as Clockwork runs it, in one copy for the host (which
//! evaluates `main.star`) and the starlark-assertions plugin (which runs
//! users' checks inside its sandbox):
//!
//! - [`data`]: Starlark values as JSON and back, the one definition of what
//!   counts as data;
//! - [`memory`]: a global allocator that counts what the evaluating thread
//!   holds, so an evaluation can be stopped at its memory limit.

pub mod data;
pub mod memory;
