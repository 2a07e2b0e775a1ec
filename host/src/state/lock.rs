//! The project lock: an OS file lock on `.clockwork/lock`, held for a whole
//! apply or destroy and released when the process ends, however it ends.
//!
//! The holder is found in `/proc/locks` by the lock file's inode, not read
//! from the file: a PID written there may belong to a process long gone,
//! and a lock taken by another tool writes nothing.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::project::{ProjectDir, STATE_DIR};
use crate::state::StateError;

const LOCK_FILE: &str = ".clockwork/lock";

/// The held lock; released on drop.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock or says who holds it.
    pub fn acquire(files: &ProjectDir) -> Result<Lock, StateError> {
        files.create_dir_all(Path::new(STATE_DIR), true)?;
        let mut file = files.open_rw(Path::new(LOCK_FILE), 0o600)?;
        let io = |e: std::io::Error| StateError::Io {
            path: LOCK_FILE.into(),
            message: e.to_string(),
            help: None,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StateError::Locked {
                    holder: holder(&file),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        write!(file, "pid {}", std::process::id()).map_err(io)?;
        Ok(Lock { _file: file })
    }
}

/// Who holds the lock on `file`, as far as the kernel says.
fn holder(file: &File) -> String {
    let Ok(meta) = file.metadata() else {
        return "cannot tell which process holds it".into();
    };
    let pids = std::fs::read_to_string("/proc/locks")
        .map(|text| holders_in(&text, meta.dev(), meta.ino()))
        .unwrap_or_default();
    match pids.as_slice() {
        [] => "cannot tell which process holds it".into(),
        pids => pids
            .iter()
            .map(|pid| match process_name(*pid) {
                Some(name) => format!("pid {pid}, `{name}`"),
                None => format!("pid {pid}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The PIDs holding a lock on the file `dev`/`ino`, from `/proc/locks`
/// lines such as `1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF`.
fn holders_in(text: &str, dev: u64, ino: u64) -> Vec<u32> {
    let major = (dev >> 8) & 0xfff | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let wanted = format!("{major:02x}:{minor:02x}:{ino}");
    let mut pids: Vec<u32> = text
        .lines()
        .filter(|l| !l.contains("->"))
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            let (pid, file) = (fields.get(4)?, fields.get(5)?);
            (*file == wanted).then(|| pid.parse().ok()).flatten()
        })
        .filter(|pid| *pid > 0)
        .collect();
    pids.sort();
    pids.dedup();
    pids
}

fn process_name(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .take(3)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_locks_lines_name_the_holder_of_that_file_only() {
        let text = "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF\n\
                    2: FLOCK  ADVISORY  WRITE 77 fd:01:999 0 EOF\n\
                    3: POSIX  ADVISORY  READ 5 08:02:1234 0 EOF\n";
        let dev = (0xfd << 8) | 0x01;
        assert_eq!(holders_in(text, dev, 1234), [4242]);
        assert!(holders_in(text, dev, 1).is_empty());
    }

    #[test]
    fn a_second_lock_is_refused_and_names_this_process() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let files = ProjectDir::open(&root).unwrap();
        let first = Lock::acquire(&files).unwrap();
        let second = Lock::acquire(&files)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            second.starts_with(&format!(
                "another `clockwork apply` or `destroy` is running on this project (pid {}",
                std::process::id()
            )),
            "{second}"
        );
        drop(first);
        assert!(Lock::acquire(&files).is_ok());
    }
}
