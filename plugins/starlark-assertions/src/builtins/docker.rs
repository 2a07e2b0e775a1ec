//! `docker`: what the project's containers are doing.

use anyhow::{anyhow, bail};
use clockwork_sdk::HostError;
use clockwork_sdk::host::docker;
use clockwork_sdk::serde_json::{self, Value as Json};
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::float::UnpackFloat;
use starlark::values::list::AllocList;
use starlark::values::none::NoneOr;
use starlark::values::{Heap, Value};

use crate::context;
use crate::json::to_starlark;

use super::common::outside_grant;

/// The error for a failed `docker.*` call.
pub(super) fn docker_error(what: &str, e: HostError) -> anyhow::Error {
    match e {
        HostError::Denied(text) => outside_grant(what, &text),
        HostError::NotFound(text) => anyhow!("{what}: no such container ({text})"),
        e => anyhow!("{what} failed: {}", crate::host_error_text(&e)),
    }
}

#[starlark_module]
pub(super) fn docker_module(builder: &mut GlobalsBuilder) {
    /// What the Docker Engine reports about a container of this project
    /// (`container`: a name or a resource): its inspect JSON as dicts and
    /// lists (`d["State"]["Running"]`), or `None` when no such container
    /// exists. Raises for a container of another project.
    fn inspect<'v>(
        #[starlark(require = pos)] container: Value<'v>,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let name = context::container_of(container)?;
        let what = format!("docker.inspect of `{name}`");
        match docker::inspect_container(&name) {
            Ok(Some(text)) => {
                let json: Json = serde_json::from_str(&text)
                    .map_err(|e| anyhow!("{what}: the Engine's answer is not JSON: {e}"))?;
                Ok(to_starlark(&json, heap))
            }
            Ok(None) | Err(HostError::NotFound(_)) => Ok(Value::new_none()),
            Err(e) => Err(docker_error(&what, e)),
        }
    }

    /// The last `tail` lines of a container's combined stdout and stderr,
    /// as one str (at most 1 MiB). `since`: only lines logged at or after
    /// this time, in Unix seconds (int or float, e.g. `time.now() - 60`).
    /// Raises when the container does not exist (test that with
    /// `docker.inspect(c) != None`) or belongs to another project.
    fn logs<'v>(
        #[starlark(require = pos)] container: Value<'v>,
        #[starlark(require = named, default = 100)] tail: i64,
        #[starlark(require = named, default = NoneOr::None)] since: NoneOr<UnpackFloat>,
    ) -> anyhow::Result<String> {
        let name = context::container_of(container)?;
        let tail = u32::try_from(tail)
            .map_err(|_| anyhow!("`tail` must be a number of lines, 0 or more, got {tail}"))?;
        let what = format!("docker.logs of `{name}`");
        let result = match since.into_option() {
            None => docker::container_logs(&name, tail),
            Some(UnpackFloat(s)) => {
                if !s.is_finite() || s < 0.0 {
                    bail!(
                        "`since` must be a time in Unix seconds, such as time.now() - 60, got {s}"
                    );
                }
                docker::container_logs_since(&name, (s * 1000.0).ceil() as u64, tail)
            }
        };
        result.map_err(|e| docker_error(&what, e))
    }

    /// The names of this project's containers, as a list of str.
    fn containers<'v>(heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        let names = docker::list_containers().map_err(|e| docker_error("docker.containers", e))?;
        Ok(heap.alloc(AllocList(names)))
    }
}
