//! `file`: the project folder, read-only.

use anyhow::{anyhow, bail};
use clockwork_sdk::HostError;
use clockwork_sdk::host::fs;
use starlark::environment::GlobalsBuilder;
use starlark::starlark_module;
use starlark::values::list::AllocList;
use starlark::values::structs::AllocStruct;
use starlark::values::{Heap, Value};

use super::common::{DEFAULT_MAX_BYTES, FILE_READ_CAP, byte_limit};

/// The only root checks read from.
pub(super) const ROOT: &str = "project";

/// The error for a failed `file.*` call.
pub(super) fn file_error(what: &str, path: &str, e: HostError) -> anyhow::Error {
    match e {
        HostError::Denied(text) => anyhow!(
            "{what} of `{path}` is outside this check's grant: checks read only files inside the \
             project folder, by paths relative to it ({text})"
        ),
        e => anyhow!("{what} of `{path}` failed: {}", crate::host_error_text(&e)),
    }
}

#[starlark_module]
pub(super) fn file_module(builder: &mut GlobalsBuilder) {
    /// The content of a file in the project folder (`path` relative to
    /// it, e.g. `"config/app.yaml"`), as a str (UTF-8, invalid bytes
    /// replaced). `max_bytes`: the largest file to read (at most 16 MiB).
    /// Raises when the file is missing (test that with `file.exists`), is
    /// larger than `max_bytes`, or lies outside the project folder.
    fn read(
        #[starlark(require = pos)] path: &str,
        #[starlark(require = named, default = DEFAULT_MAX_BYTES)] max_bytes: i64,
    ) -> anyhow::Result<String> {
        let max = byte_limit("max_bytes", max_bytes, FILE_READ_CAP)?;
        match fs::read(ROOT, path, max) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(HostError::NotFound(_)) => bail!(
                "file.read: no file `{path}` in the project folder; use file.exists(path) to test for one"
            ),
            Err(HostError::TooLarge(text)) => {
                bail!("file.read of `{path}`: the file is larger than max_bytes = {max} ({text})")
            }
            Err(e) => Err(file_error("file.read", path, e)),
        }
    }

    /// Whether `path` (relative to the project folder) exists, file or
    /// directory. Raises for a path outside the project folder.
    fn exists(#[starlark(require = pos)] path: &str) -> anyhow::Result<bool> {
        match fs::stat(ROOT, path) {
            Ok(stat) => Ok(stat.is_some()),
            Err(HostError::NotFound(_)) => Ok(false),
            Err(e) => Err(file_error("file.exists", path, e)),
        }
    }

    /// Describes `path` (relative to the project folder):
    /// `struct(size, mode, is_dir, modified)` — size in bytes (0 for a
    /// directory), Unix permission bits as an int (`0o644`), whether it is a
    /// directory, last modification in Unix seconds (float) — or `None` when
    /// it does not exist.
    fn stat<'v>(
        #[starlark(require = pos)] path: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        match fs::stat(ROOT, path) {
            Ok(Some(s)) => Ok(heap.alloc(AllocStruct([
                ("size", heap.alloc(s.size)),
                ("mode", heap.alloc(s.mode)),
                ("is_dir", heap.alloc(s.is_dir)),
                ("modified", heap.alloc(s.modified_unix_ms as f64 / 1000.0)),
            ]))),
            Ok(None) | Err(HostError::NotFound(_)) => Ok(Value::new_none()),
            Err(e) => Err(file_error("file.stat", path, e)),
        }
    }

    /// The entry names of a directory of the project folder (`path`
    /// relative to it, the folder itself by default), sorted. Raises when
    /// it does not exist.
    fn list<'v>(
        #[starlark(require = pos, default = ".")] path: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        match fs::list_dir(ROOT, path) {
            Ok(names) => Ok(heap.alloc(AllocList(names))),
            Err(HostError::NotFound(_)) => bail!(
                "file.list: no directory `{path}` in the project folder; use file.exists(path) to test for one"
            ),
            Err(e) => Err(file_error("file.list", path, e)),
        }
    }
}
