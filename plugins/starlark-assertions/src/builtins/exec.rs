//! `exec`: a command run in a container of the project.

use std::time::Instant;

use anyhow::{anyhow, bail};
use clockwork_sdk::HostError;
use clockwork_sdk::host::exec as host_exec;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::dict::DictRef;
use starlark::values::float::UnpackFloat;
use starlark::values::list::ListRef;
use starlark::values::none::NoneOr;
use starlark::values::structs::AllocStruct;
use starlark::values::tuple::TupleRef;
use starlark::values::{Heap, Value};

use crate::context;

use super::common::{EXEC_OUTPUT_CAP, ms_since, outside_grant, string_pairs, timeout_ms, us_to_ms};

/// An `argv` argument: a non-empty list (or tuple) of strings.
pub(super) fn argv_of(argv: Value) -> anyhow::Result<Vec<String>> {
    if argv.unpack_str().is_some() {
        bail!(
            "`argv` must be a list of strings such as [\"sh\", \"-c\", \"...\"], got the string {}",
            argv.to_repr()
        );
    }
    let items: Vec<Value> = if let Some(list) = ListRef::from_value(argv) {
        list.iter().collect()
    } else if let Some(tuple) = TupleRef::from_value(argv) {
        tuple.iter().collect()
    } else {
        bail!(
            "`argv` must be a list of strings, got {} `{}`",
            argv.get_type(),
            argv.to_repr()
        )
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.unpack_str() {
            Some(s) => out.push(s.to_string()),
            None => bail!(
                "`argv` must be a list of strings, got {} `{}` in it",
                item.get_type(),
                item.to_repr()
            ),
        }
    }
    if out.is_empty() {
        bail!("`argv` must name a program to run, got an empty list");
    }
    Ok(out)
}

/// The struct `exec` returns.
pub(super) fn exec_struct<'v>(
    heap: Heap<'v>,
    exit_code: Option<i32>,
    stdout: &str,
    stderr: &str,
    elapsed_ms: f64,
    error: Option<String>,
) -> Value<'v> {
    heap.alloc(AllocStruct([
        ("exit_code", heap.alloc(NoneOr::from_option(exit_code))),
        ("stdout", heap.alloc(stdout)),
        ("stderr", heap.alloc(stderr)),
        ("ok", heap.alloc(exit_code == Some(0))),
        ("elapsed_ms", heap.alloc(elapsed_ms)),
        ("error", heap.alloc(NoneOr::from_option(error))),
    ]))
}

#[starlark_module]
pub(super) fn exec_function(builder: &mut GlobalsBuilder) {
    /// Runs a command in a running container of this project and waits for
    /// it. `container`: a container name or a resource (its container); the
    /// check must be granted it (its own resource's container, the resources
    /// it joins, those in the assertion's `allow = [...]`), else this raises.
    /// `argv`: the program and its arguments, a non-empty list of str; no
    /// shell is involved unless argv names one (`["sh", "-c", "..."]`).
    /// `env`: dict of extra environment variables. `user`, `workdir`: str,
    /// the container's defaults when `None`. `timeout`: seconds.
    ///
    /// Returns `struct(exit_code, stdout, stderr, ok, elapsed_ms, error)`:
    /// `ok` is `exit_code == 0`; stdout and stderr are str (at most 1 MiB
    /// each). A non-zero exit is a value, not an error. When the command did
    /// not finish (timed out, the container is not running) `exit_code` is
    /// `None`, `ok` is `False` and `error` says why; `error` is `None`
    /// otherwise.
    ///
    /// ```python
    /// r = exec(resource, ["pg_isready", "-h", "localhost"])
    /// ```
    fn exec<'v>(
        #[starlark(require = pos)] container: Value<'v>,
        #[starlark(require = pos)] argv: Value<'v>,
        #[starlark(require = named)] env: Option<DictRef<'v>>,
        #[starlark(require = named, default = NoneOr::None)] user: NoneOr<String>,
        #[starlark(require = named, default = NoneOr::None)] workdir: NoneOr<String>,
        #[starlark(require = named, default = UnpackFloat(10.0))] timeout: UnpackFloat,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let name = context::container_of(container)?;
        let argv = argv_of(argv)?;
        let env = string_pairs("env", env)?;
        context::current()?.may_exec(&name)?;
        let request = host_exec::ExecRequest {
            container: name.clone(),
            argv,
            env,
            user: user.into_option(),
            workdir: workdir.into_option(),
            timeout_ms: timeout_ms(timeout.0)?,
            max_output_bytes: EXEC_OUTPUT_CAP,
        };
        let start = Instant::now();
        match host_exec::run(&request) {
            Ok(out) => Ok(exec_struct(
                heap,
                Some(out.exit_code),
                &out.stdout,
                &out.stderr,
                us_to_ms(out.elapsed_us),
                None,
            )),
            Err(HostError::Denied(text)) => {
                Err(outside_grant(&format!("exec into `{name}`"), &text))
            }
            Err(HostError::InvalidArgument(text)) => {
                Err(anyhow!("exec into `{name}` was refused: {text}"))
            }
            Err(e) => Ok(exec_struct(
                heap,
                None,
                "",
                "",
                ms_since(start),
                Some(crate::host_error_text(&e)),
            )),
        }
    }
}
