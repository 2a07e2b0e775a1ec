//! Reading what the project folder holds: bounded, never blocked by a FIFO
//! or a device, and — for a plugin, a container or a command's stdin — never
//! the project's secrets, which are refused by what they are rather than by
//! their names.
//!
//! The shielded files are `.env` and everything in `.clockwork/` (the state,
//! the journal, the TLS keys). A path is resolved beneath the project (links
//! inside it followed, links out refused), the file is opened, and the
//! device and inode of what was opened are compared with those of every
//! shielded file and folder, found afresh each time: a symbolic link, a hard
//! link or a bind of one is the same file and is refused like it.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, MetadataExt, OpenOptions, OpenOptionsExt};

use crate::project::{PathError, ProjectDir, STATE_DIR};

/// The most a whole-file read returns unless the caller says less.
pub const MAX_READ_BYTES: u64 = 64 << 20;

/// The project's environment file.
const ENV_FILE: &str = ".env";

/// How many entries of `.clockwork/` are looked at, at most, to know what
/// it holds; a state folder is a few dozen files.
const MAX_SHIELDED_ENTRIES: usize = 100_000;

/// What a read on another's behalf must not reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shield {
    /// `.clockwork/` and everything in it: for bind mounts, where `.env` is
    /// the user's to give a container.
    StateFolder,
    /// `.env` as well: for what plugins read.
    Secrets,
}

/// Which file is at a path, as Clockwork wrote it: its device and inode.
/// A record of a file Clockwork wrote carries its stamp, so a record handed
/// over in a state file (whose content hash a shipped file could match)
/// does not make another file Clockwork's: a stamp is known only to
/// whoever wrote that file on this machine. Touching the file keeps it; a
/// copy, a restore or a checkout makes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStamp {
    /// The device.
    pub dev: u64,
    /// The inode.
    pub ino: u64,
}

/// A file's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &cap_std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl ProjectDir {
    /// Reads a whole regular file of at most `limit` bytes; links inside the
    /// project are followed, links out refused. A FIFO, socket or device is
    /// refused without waiting on it; a larger file is refused, naming the
    /// limit.
    pub fn read_limited(&self, rel: &Path, limit: u64) -> Result<Vec<u8>, PathError> {
        let (mut file, meta) = self.open_regular(rel)?;
        read_bounded(&mut file, rel, meta.len(), limit)
    }

    /// Opens whatever is at `rel` beneath the project (a folder included)
    /// to look at it, without blocking on a FIFO and without making a
    /// terminal the controlling one: for `fstatvfs` and the like.
    pub fn open_to_look(&self, rel: &Path) -> Result<cap_std::fs::File, PathError> {
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(no_wait_flags());
        self.dir
            .open_with(rel, &options)
            .map_err(|e| self.explain(rel, e))
    }

    /// Opens a regular file beneath the project for reading, without
    /// blocking on a FIFO (opened non-blocking, refused by what was opened).
    pub(crate) fn open_regular(
        &self,
        rel: &Path,
    ) -> Result<(cap_std::fs::File, cap_std::fs::Metadata), PathError> {
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(no_wait_flags());
        let file = self
            .dir
            .open_with(rel, &options)
            .map_err(|e| self.explain(rel, e))?;
        let meta = file.metadata().map_err(|e| io_at(rel, e))?;
        if !meta.is_file() {
            return Err(PathError::NotRegular {
                path: rel.display().to_string(),
                what: kind_of(&meta),
            });
        }
        Ok((file, meta))
    }

    /// Opens `rel` for a plugin or a command's stdin: a regular file
    /// beneath the project that is not (by identity) one `shield` covers.
    pub fn open_shielded(
        &self,
        rel: &Path,
        shield: Shield,
    ) -> Result<(cap_std::fs::File, cap_std::fs::Metadata), PathError> {
        let (file, meta) = self.open_regular(rel)?;
        self.refuse_shielded(rel, &meta, shield)?;
        Ok((file, meta))
    }

    /// Reads a whole file as [`ProjectDir::open_shielded`] opens it, of at
    /// most `limit` bytes.
    pub fn read_shielded(
        &self,
        rel: &Path,
        shield: Shield,
        limit: u64,
    ) -> Result<Vec<u8>, PathError> {
        let (mut file, meta) = self.open_shielded(rel, shield)?;
        read_bounded(&mut file, rel, meta.len(), limit)
    }

    /// Refuses `rel` when it resolves (links inside the project followed)
    /// to a file or folder `shield` covers; a missing path passes. For
    /// what is not opened for reading: `stat`, listing a folder, the
    /// source of a bind mount.
    pub fn check_shielded(&self, rel: &Path, shield: Shield) -> Result<(), PathError> {
        match self.dir.metadata(rel) {
            Ok(meta) => self.refuse_shielded(rel, &meta, shield),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.explain(rel, e)),
        }
    }

    fn refuse_shielded(
        &self,
        rel: &Path,
        meta: &cap_std::fs::Metadata,
        shield: Shield,
    ) -> Result<(), PathError> {
        let id = FileId::of(meta);
        if shield == Shield::Secrets
            && let Ok(env) = self.dir.metadata(ENV_FILE)
            && FileId::of(&env) == id
        {
            return Err(PathError::Shielded {
                path: rel.display().to_string(),
                what: "the project's environment file `.env` (or a link to it)",
            });
        }
        if self.state_folder_ids()?.contains(&id) {
            return Err(PathError::Shielded {
                path: rel.display().to_string(),
                what: "Clockwork's state folder `.clockwork/` or a file in it (or a link to one)",
            });
        }
        Ok(())
    }

    /// The stamp of the regular file at `rel` (a final link not followed);
    /// `None` when there is none.
    pub fn stamp(&self, rel: &Path) -> Result<Option<FileStamp>, PathError> {
        let meta = match self.dir.symlink_metadata(rel) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.explain(rel, e)),
        };
        Ok(Some(FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
        }))
    }

    /// Whether a bind of `rel` (links inside the project followed) gives a
    /// container the project's `.env`: it is `.env` (by identity, a hard
    /// link included), or a folder that holds `.env`'s file (the project
    /// folder, or the folder a linked `.env` points into).
    pub fn holds_env(&self, rel: &Path) -> Result<bool, PathError> {
        let meta = match self.dir.metadata(rel) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.explain(rel, e)),
        };
        let Ok(env) = self.dir.metadata(ENV_FILE) else {
            return Ok(false);
        };
        if FileId::of(&meta) == FileId::of(&env) {
            return Ok(true);
        }
        if !meta.is_dir() {
            return Ok(false);
        }
        let mounted = self.host_path(rel)?;
        let env_file = std::fs::canonicalize(self.root().join(ENV_FILE))
            .map_err(|e| io_at(Path::new(ENV_FILE), e))?;
        Ok(env_file.starts_with(mounted))
    }

    /// Whether `.env` has a hard link elsewhere: a folder given to a
    /// container could hold it.
    pub fn env_linked_elsewhere(&self) -> bool {
        self.dir
            .metadata(ENV_FILE)
            .is_ok_and(|meta| meta.is_file() && meta.nlink() > 1)
    }

    /// A file in `.clockwork/` that has a hard link elsewhere, if one has:
    /// a folder of the project given to a container could hold that link,
    /// so no folder is, until it is removed.
    pub fn state_file_linked_elsewhere(&self) -> Result<Option<PathBuf>, PathError> {
        let mut found = None;
        self.walk_state_folder(|path, meta| {
            if found.is_none() && !meta.is_dir() && meta.nlink() > 1 {
                found = Some(path.to_path_buf());
            }
        })?;
        Ok(found)
    }

    /// The identities of `.clockwork/` and of everything in it, links not
    /// followed.
    fn state_folder_ids(&self) -> Result<HashSet<FileId>, PathError> {
        let mut ids = HashSet::new();
        self.walk_state_folder(|_, meta| {
            ids.insert(FileId::of(meta));
        })?;
        Ok(ids)
    }

    /// Calls `visit` with `.clockwork/` and everything in it, links not
    /// followed.
    fn walk_state_folder(
        &self,
        mut visit: impl FnMut(&Path, &cap_std::fs::Metadata),
    ) -> Result<(), PathError> {
        let state = Path::new(STATE_DIR);
        let root = match self.dir.symlink_metadata(state) {
            Ok(meta) if meta.is_dir() => meta,
            Ok(meta) => {
                visit(state, &meta);
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_at(state, e)),
        };
        visit(state, &root);
        let mut folders: Vec<(Dir, PathBuf)> = vec![(
            self.dir.open_dir(state).map_err(|e| io_at(state, e))?,
            state.to_path_buf(),
        )];
        let mut seen = 0usize;
        while let Some((dir, at)) = folders.pop() {
            let entries = dir.entries().map_err(|e| io_at(&at, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_at(&at, e))?;
                seen += 1;
                if seen > MAX_SHIELDED_ENTRIES {
                    return Err(PathError::TooLarge {
                        path: STATE_DIR.into(),
                        limit: format!("{MAX_SHIELDED_ENTRIES} entries"),
                    });
                }
                let name = entry.file_name();
                let meta = dir
                    .symlink_metadata(&name)
                    .map_err(|e| io_at(&at.join(&name), e))?;
                visit(&at.join(&name), &meta);
                if meta.is_dir() {
                    let sub = dir.open_dir(&name).map_err(|e| io_at(&at.join(&name), e))?;
                    folders.push((sub, at.join(&name)));
                }
            }
        }
        Ok(())
    }
}

/// Reads a file that is not the project's (a container's `/etc/hosts`
/// through `/proc`, a file in a clone) as [`ProjectDir::read_limited`]
/// does: a regular file only, opened without blocking on a FIFO, at most
/// `limit` bytes.
pub fn read_file_limited(path: &Path, limit: u64) -> Result<Vec<u8>, PathError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(no_wait_flags())
        .open(path)
        .map_err(|e| io_at(path, e))?;
    let meta = file.metadata().map_err(|e| io_at(path, e))?;
    if !meta.is_file() {
        return Err(PathError::NotRegular {
            path: path.display().to_string(),
            what: if meta.is_dir() {
                "a folder"
            } else {
                "not a regular file (a FIFO, socket or device)"
            },
        });
    }
    read_bounded(&mut file, path, meta.len(), limit)
}

/// Flags of every open for reading here: a FIFO opens at once (and is
/// then refused), a terminal device never becomes the controlling one.
fn no_wait_flags() -> i32 {
    (rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY).bits() as i32
}

/// At most `limit` bytes of `file`, whose size was `size` when opened.
pub(crate) fn read_bounded(
    file: &mut impl Read,
    rel: &Path,
    size: u64,
    limit: u64,
) -> Result<Vec<u8>, PathError> {
    let too_large = || PathError::TooLarge {
        path: rel.display().to_string(),
        limit: bytes(limit),
    };
    if size > limit {
        return Err(too_large());
    }
    let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut content)
        .map_err(|e| io_at(rel, e))?;
    if content.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(content)
}

/// A byte count for a limit's message: `16 MiB`, `4096 bytes`.
pub fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

fn kind_of(meta: &cap_std::fs::Metadata) -> &'static str {
    use cap_std::fs::FileTypeExt as _;
    let kind = meta.file_type();
    if meta.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

fn io_at(path: &Path, source: std::io::Error) -> PathError {
    PathError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, ProjectDir) {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        (tmp, ProjectDir::open(&root).unwrap())
    }

    /// A link of either kind to a shielded file is the file: refused.
    #[test]
    fn secrets_are_refused_by_identity_through_any_link() {
        let (tmp, dir) = project();
        let root = tmp.path();
        std::fs::write(root.join(".env"), "API_TOKEN=t0ken\n").unwrap();
        std::fs::create_dir_all(root.join(".clockwork/tls")).unwrap();
        std::fs::write(root.join(".clockwork/tls/ca-key.pem"), "KEY").unwrap();
        std::fs::write(root.join(".clockwork/state.json"), "{}").unwrap();
        std::fs::write(root.join("schema.sql"), "select 1;").unwrap();
        std::os::unix::fs::symlink(".env", root.join("env-link")).unwrap();
        std::os::unix::fs::symlink(".clockwork", root.join("state-link")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink("../.clockwork/tls", root.join("sub/tls")).unwrap();
        std::fs::hard_link(root.join(".env"), root.join("env-hard")).unwrap();
        std::fs::hard_link(
            root.join(".clockwork/tls/ca-key.pem"),
            root.join("sub/key-hard.pem"),
        )
        .unwrap();
        for path in [
            ".env",
            "env-link",
            "env-hard",
            "state-link/state.json",
            "sub/tls/ca-key.pem",
            "sub/key-hard.pem",
            ".clockwork/state.json",
        ] {
            let err = dir
                .read_shielded(Path::new(path), Shield::Secrets, 1024)
                .unwrap_err();
            assert!(matches!(err, PathError::Shielded { .. }), "{path}: {err}");
        }
        for path in ["state-link", "sub/tls", ".clockwork"] {
            let err = dir
                .check_shielded(Path::new(path), Shield::Secrets)
                .unwrap_err();
            assert!(matches!(err, PathError::Shielded { .. }), "{path}: {err}");
        }
        assert_eq!(
            dir.state_file_linked_elsewhere().unwrap(),
            Some(PathBuf::from(".clockwork/tls/ca-key.pem"))
        );
        // The state folder's shield leaves `.env` to the user.
        assert!(
            dir.check_shielded(Path::new("env-hard"), Shield::StateFolder)
                .is_ok()
        );
        assert!(
            dir.check_shielded(Path::new("sub/key-hard.pem"), Shield::StateFolder)
                .is_err()
        );
        assert_eq!(
            dir.read_shielded(Path::new("schema.sql"), Shield::Secrets, 1024)
                .unwrap(),
            b"select 1;"
        );
        assert!(
            dir.check_shielded(Path::new("missing"), Shield::Secrets)
                .is_ok()
        );
    }

    #[test]
    fn reads_are_bounded_and_refuse_what_is_not_a_file() {
        let (tmp, dir) = project();
        std::fs::write(tmp.path().join("big"), vec![b'x'; 4096]).unwrap();
        let err = dir.read_limited(Path::new("big"), 4095).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`big` is larger than 4095 bytes, the most Clockwork reads of it"
        );
        assert_eq!(
            dir.read_limited(Path::new("big"), 4096).unwrap().len(),
            4096
        );
        rustix::fs::mknodat(
            rustix::fs::CWD,
            tmp.path().join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // Opened non-blocking: no writer is needed to be refused.
        let err = dir.read_limited(Path::new("fifo"), 10).unwrap_err();
        assert!(matches!(err, PathError::NotRegular { .. }), "{err}");
        assert!(err.to_string().contains("FIFO"), "{err}");
        std::os::unix::fs::symlink("/dev/zero", tmp.path().join("zero")).unwrap();
        assert!(dir.read_limited(Path::new("zero"), 10).is_err());
        let outside = |p: &str| read_file_limited(&tmp.path().join(p), 4096);
        assert!(matches!(outside("fifo"), Err(PathError::NotRegular { .. })));
        assert!(matches!(outside("zero"), Err(PathError::NotRegular { .. })));
        assert_eq!(outside("big").unwrap().len(), 4096);
        assert!(matches!(
            read_file_limited(&tmp.path().join("big"), 100),
            Err(PathError::TooLarge { .. })
        ));
        assert_eq!(bytes(16 << 20), "16 MiB");
        assert_eq!(bytes(1 << 10), "1 KiB");
    }
}
