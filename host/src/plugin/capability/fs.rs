//! `clockwork:plugin/fs`: read-only files under granted roots, through the
//! project's one path helper ([`ProjectDir`]).
//!
//! Every path is resolved beneath the root: `..` that climbs out, absolute
//! paths and symbolic links that leave the root fail, and a link out is
//! named in the error. The project's secrets — `.env` and the state folder
//! `.clockwork/` with its keys — are refused by identity, whatever the path
//! that reaches them (a symbolic or a hard link included): they are the
//! host's, not a plugin's. A FIFO or a device is refused, not waited on.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use crate::project::{PathError, ProjectDir, Shield};

use crate::plugin::HostState;
use crate::plugin::bindings::host::clockwork::plugin::fs::{FileStat, Host, Space};
use crate::plugin::bindings::types::HostError;

/// Largest file `read` returns, whatever `max-bytes` asks.
const MAX_READ_BYTES: u64 = 16 << 20;

impl HostState {
    fn open_root(&self, root: &str, path: &str) -> Result<(ProjectDir, PathBuf), HostError> {
        let Some(dir) = self.grants.fs_roots.get(root) else {
            let granted: Vec<&str> = self.grants.fs_roots.keys().map(String::as_str).collect();
            return Err(HostError::Denied(if granted.is_empty() {
                format!("no file root is granted to this plugin (asked for `{root}`)")
            } else {
                format!(
                    "root `{root}` is not granted; granted roots: {}",
                    granted.join(", ")
                )
            }));
        };
        let relative = checked_relative(path)?;
        let handle = ProjectDir::open(dir)
            .map_err(|e| HostError::Failed(format!("cannot open root `{root}`: {e}")))?;
        Ok((handle, relative))
    }
}

/// Checks a root-relative path before cap-std sees it, so that the common
/// mistakes get a message naming the rule rather than an OS error.
fn checked_relative(path: &str) -> Result<PathBuf, HostError> {
    if path.is_empty() || path == "." || path == "./" {
        return Ok(PathBuf::from("."));
    }
    let relative = match ProjectDir::relative(path) {
        Ok(relative) => relative,
        Err(PathError::Empty) => return Ok(PathBuf::from(".")),
        Err(PathError::Outside { .. }) => {
            return Err(HostError::Denied(format!(
                "`{path}` leaves its root (`..` is not allowed)"
            )));
        }
        Err(PathError::Absolute { .. }) => {
            return Err(HostError::Denied(format!(
                "`{path}` is absolute; paths are relative to a granted root"
            )));
        }
        Err(e) => return Err(HostError::Denied(e.to_string())),
    };
    if relative.components().next().map(|c| c.as_os_str()) == Some(".clockwork".as_ref()) {
        return Err(HostError::Denied(
            "`.clockwork/` holds Clockwork's state and is not readable by plugins".into(),
        ));
    }
    Ok(relative)
}

fn io_error(path: &str, e: &std::io::Error) -> HostError {
    match e.kind() {
        std::io::ErrorKind::NotFound => HostError::NotFound(format!("`{path}` does not exist")),
        std::io::ErrorKind::PermissionDenied => HostError::Denied(format!("`{path}`: {e}")),
        _ => HostError::Failed(format!("`{path}`: {e}")),
    }
}

fn path_error(path: &str, e: PathError) -> HostError {
    match e {
        PathError::Io { source, .. } => io_error(path, &source),
        PathError::LinkOutside { .. } | PathError::Shielded { .. } => {
            HostError::Denied(e.to_string())
        }
        PathError::TooLarge { .. } => HostError::TooLarge(e.to_string()),
        PathError::NotRegular { .. } => HostError::InvalidArgument(e.to_string()),
        other => HostError::Failed(other.to_string()),
    }
}

impl Host for HostState {
    async fn free_space(
        &mut self,
        root: String,
        path: String,
    ) -> wasmtime::Result<Result<Space, HostError>> {
        let opened = self.open_root(&root, &path);
        Ok(tokio::task::spawn_blocking(move || {
            let (dir, relative) = opened?;
            // A FIFO planted in the project must not hold this thread (and
            // the process's exit) waiting for a writer.
            let handle = dir
                .open_to_look(&relative)
                .map_err(|e| path_error(&path, e))?;
            let stats = rustix::fs::fstatvfs(&handle)
                .map_err(|e| HostError::Failed(format!("`{path}`: {e}")))?;
            Ok(Space {
                available_bytes: stats.f_bavail.saturating_mul(stats.f_frsize),
                total_bytes: stats.f_blocks.saturating_mul(stats.f_frsize),
            })
        })
        .await?)
    }

    async fn read(
        &mut self,
        root: String,
        path: String,
        max_bytes: u64,
    ) -> wasmtime::Result<Result<Vec<u8>, HostError>> {
        let opened = self.open_root(&root, &path);
        Ok(tokio::task::spawn_blocking(move || {
            let (dir, relative) = opened?;
            // The project's secrets live in `.env` and `.clockwork/`;
            // plugins get the values they need through the declarations.
            // Whether `.env` exists may still be asked (`stat`).
            let limit = max_bytes.min(MAX_READ_BYTES);
            dir.read_shielded(&relative, Shield::Secrets, limit)
                .map_err(|e| path_error(&path, e))
        })
        .await?)
    }

    async fn stat(
        &mut self,
        root: String,
        path: String,
    ) -> wasmtime::Result<Result<Option<FileStat>, HostError>> {
        let opened = self.open_root(&root, &path);
        Ok(tokio::task::spawn_blocking(move || {
            let (dir, relative) = opened?;
            dir.check_shielded(&relative, Shield::StateFolder)
                .map_err(|e| path_error(&path, e))?;
            let meta = match dir.metadata(&relative) {
                Ok(meta) => meta,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(path_error(&path, e)),
            };
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.into_std().duration_since(UNIX_EPOCH).ok())
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0);
            let mode = {
                use cap_std::fs::PermissionsExt;
                meta.permissions().mode() & 0o7777
            };
            Ok(Some(FileStat {
                size: if meta.is_dir() { 0 } else { meta.len() },
                mode,
                is_dir: meta.is_dir(),
                modified_unix_ms: modified,
            }))
        })
        .await?)
    }

    async fn list_dir(
        &mut self,
        root: String,
        path: String,
    ) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        let opened = self.open_root(&root, &path);
        Ok(tokio::task::spawn_blocking(move || {
            let (dir, relative) = opened?;
            dir.check_shielded(&relative, Shield::Secrets)
                .map_err(|e| path_error(&path, e))?;
            match dir.entry(&relative).map_err(|e| path_error(&path, e))? {
                crate::project::Entry::Missing => {
                    return Err(HostError::NotFound(format!("`{path}` does not exist")));
                }
                crate::project::Entry::File(_) | crate::project::Entry::Special(_) => {
                    return Err(HostError::InvalidArgument(format!(
                        "`{path}` is not a folder"
                    )));
                }
                _ => {}
            }
            dir.list(&relative).map_err(|e| path_error(&path, e))
        })
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes_before_touching_the_disk() {
        assert!(matches!(
            checked_relative("/etc/passwd"),
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            checked_relative("../x"),
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            checked_relative("a/../../x"),
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            checked_relative(".clockwork/state.json"),
            Err(HostError::Denied(_))
        ));
        assert!(matches!(
            checked_relative("./.clockwork/state.json"),
            Err(HostError::Denied(_))
        ));
        assert_eq!(
            checked_relative("schema.sql").ok(),
            Some(PathBuf::from("schema.sql"))
        );
        assert_eq!(
            checked_relative("sub/.clockwork").ok(),
            Some(PathBuf::from("sub/.clockwork"))
        );
    }
}
