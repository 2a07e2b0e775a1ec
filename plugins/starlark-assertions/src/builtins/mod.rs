//! The modules a check may use besides the Starlark language:
//! `http`, `tcp`, `udp`, `dns`, `exec`, `docker`, `file`, `re`, `time`,
//! `sleep` (and `json`, `struct`, `fail` from Starlark itself).
//!
//! Every builtin that reaches out goes through a host import of the
//! assertion world, so the host's grants apply: the network grant (this
//! machine's loopback addresses and the project's containers), the project
//! folder, the project's containers.
//!
//! Starlark has no `try`/`except`, so what a check is there to observe — a
//! refused connection, a timeout, a non-zero exit, a 404 — comes back as a
//! value the check can test. Only misuse raises an error: an argument of the
//! wrong type or value, a target outside the check's grant.

mod common;
mod dns;
mod docker;
mod exec;
mod file;
mod http;
mod re;
mod re_match;
mod re_pattern;
mod re_template;
mod sleep;
mod tcp;
mod time;
mod udp;

#[cfg(test)]
mod tests;

use starlark::environment::GlobalsBuilder;

pub use re_pattern::forget_patterns;

/// Adds every builtin to `builder`.
pub fn register(builder: &mut GlobalsBuilder) {
    builder.namespace("http", http::http_module);
    builder.namespace("tcp", tcp::tcp_module);
    builder.namespace("udp", udp::udp_module);
    builder.namespace("dns", dns::dns_module);
    builder.namespace("docker", docker::docker_module);
    builder.namespace("file", file::file_module);
    builder.namespace("re", re::re_module);
    builder.namespace("time", time::time_module);
    exec::exec_function(builder);
    sleep::sleep_function(builder);
}
