//! The project lock: an OS file lock on `.clockwork/lock`, held for a whole
//! apply or destroy and released when the process ends, however it ends.
//!
//! The holder is found in `/proc/locks` by the lock file's inode, not read
//! from the file: a PID written there may belong to a process long gone,
//! and a lock taken by another tool writes nothing.
//!
//! `destroy` waits for a heal of `clockwork watch` ([`Lock::acquire_after_watch`])
//! instead of being refused: the heal is short, and the destroy it waits
//! for is recorded before the watch can act again.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

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
        let file = open(files)?;
        match file.try_lock() {
            Ok(()) => held(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Locked {
                holder: holder(&file),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// Takes the lock; while a `clockwork watch` holds it (healing), waits
    /// for it up to `patience`, saying so once through `waiting`. Anyone
    /// else holding it is refused at once, as by [`Lock::acquire`].
    pub async fn acquire_after_watch(
        files: &ProjectDir,
        patience: Duration,
        waiting: &dyn Fn(&str),
    ) -> Result<Lock, StateError> {
        let file = open(files)?;
        match file.try_lock() {
            Ok(()) => return held(file),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let Some(watch) = watching_holder(&file) else {
            return Err(StateError::Locked {
                holder: holder(&file),
            });
        };
        waiting(&format!(
            "waiting for `clockwork watch` (pid {watch}) to finish what it is doing"
        ));
        // A thread of its own, not the runtime's blocking pool: if the wait
        // runs out, the process must be able to end while it still blocks.
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let blocked = file.try_clone().map_err(io)?;
        std::thread::spawn(move || {
            let _ = sender.send(blocked.lock());
        });
        match tokio::time::timeout(patience, receiver).await {
            Ok(Ok(Ok(()))) => held(file),
            Ok(Ok(Err(e))) => Err(io(e)),
            Ok(Err(_)) | Err(_) => Err(StateError::Locked {
                holder: holder(&file),
            }),
        }
    }
}

fn io(e: std::io::Error) -> StateError {
    StateError::Io {
        path: LOCK_FILE.into(),
        message: e.to_string(),
        help: None,
    }
}

fn open(files: &ProjectDir) -> Result<File, StateError> {
    files.create_dir_all(Path::new(STATE_DIR), true)?;
    Ok(files.open_rw(Path::new(LOCK_FILE), 0o600)?)
}

/// The lock, taken on `file`, with this process named in it.
fn held(mut file: File) -> Result<Lock, StateError> {
    file.set_len(0).map_err(io)?;
    write!(file, "pid {}", std::process::id()).map_err(io)?;
    Ok(Lock { _file: file })
}

/// The pid of the `clockwork watch` holding the lock on `file`, if that is
/// who holds it: this very program, run as `watch`.
fn watching_holder(file: &File) -> Option<u32> {
    let meta = file.metadata().ok()?;
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    let ours = std::env::current_exe().ok()?;
    let pids = holders_in(&text, meta.dev(), meta.ino());
    let [pid] = pids.as_slice() else {
        return None;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let is_watch = cmdline.split(|b| *b == 0).any(|a| a == b"watch");
    let same_program = std::fs::read_link(format!("/proc/{pid}/exe")).ok()? == ours;
    (is_watch && same_program).then_some(*pid)
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

    #[test]
    fn a_holder_that_is_not_a_watch_is_not_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let files = ProjectDir::open(&root).unwrap();
        let _first = Lock::acquire(&files).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let said = std::sync::Mutex::new(Vec::new());
        let second = rt.block_on(Lock::acquire_after_watch(
            &files,
            Duration::from_millis(200),
            &|w| said.lock().unwrap().push(w.to_string()),
        ));
        assert!(matches!(second, Err(StateError::Locked { .. })));
        // This test binary is no `clockwork watch`, unless its own name
        // filter says `watch`: then it waited, and said so.
        let args: Vec<String> = std::env::args().collect();
        if !args.iter().any(|a| a == "watch") {
            assert!(said.lock().unwrap().is_empty());
        }
    }
}
