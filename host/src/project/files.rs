//! Every path Clockwork reads or writes inside a project goes through
//! [`ProjectDir`], so the rules live in one place:
//!
//! - paths are relative to the project folder; `~`, absolute paths and
//!   `..` that climbs out of it are refused before the file system is asked;
//! - reads go through a cap-std handle on the folder, which resolves every
//!   component beneath it: a symbolic link that points inside the project is
//!   followed, one that leaves it is refused and named;
//! - writes, appends, removals and new folders refuse any symbolic link on
//!   the way (a link inside the project could still alias `main.star` or
//!   `.clockwork/`), and open the file itself with `O_NOFOLLOW`;
//! - the project's own files (the project file, what it loads,
//!   `clockwork.toml`, `.env`, `.clockwork/`, `plugins/`) are never written.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt, Permissions, PermissionsExt};

/// The state folder inside a project.
pub const STATE_DIR: &str = ".clockwork";

/// Why a path inside the project cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The path is absolute.
    #[error("`{path}` is an absolute path; paths are relative to the project folder")]
    Absolute {
        /// The path as written.
        path: String,
    },
    /// `..` climbs out of the project folder.
    #[error("`{path}` leaves the project folder")]
    Outside {
        /// The path as written.
        path: String,
    },
    /// `~` is a shell's idea, not a path.
    #[error(
        "`{path}` starts with `~`, which is not expanded; use a path relative to the project folder"
    )]
    Tilde {
        /// The path as written.
        path: String,
    },
    /// Nothing is named.
    #[error("an empty path names no file")]
    Empty,
    /// A write would go through a symbolic link.
    #[error(
        "`{path}` goes through the symbolic link `{link}`; Clockwork writes only through real folders inside the project"
    )]
    ThroughLink {
        /// The path.
        path: String,
        /// The link on the way.
        link: String,
    },
    /// A symbolic link on the way points out of the project.
    #[error(
        "`{path}`: the symbolic link `{link}` points to `{target}`, outside the project folder; Clockwork does not follow links out of the project"
    )]
    LinkOutside {
        /// The path.
        path: String,
        /// The link on the way.
        link: String,
        /// Where it points.
        target: String,
    },
    /// One of the project's own files.
    #[error("`{path}` is {what}; Clockwork never writes or removes it")]
    Protected {
        /// The path.
        path: String,
        /// What it is, e.g. "the project file".
        what: &'static str,
    },
    /// Not a regular file where one is read: a FIFO, socket, device or
    /// folder (read, it could block or never end).
    #[error("`{path}` is {what}, not a regular file; Clockwork reads only regular files")]
    NotRegular {
        /// The path.
        path: String,
        /// What it is.
        what: &'static str,
    },
    /// Larger than what Clockwork reads of it.
    #[error("`{path}` is larger than {limit}, the most Clockwork reads of it")]
    TooLarge {
        /// The path.
        path: String,
        /// The limit, e.g. `16 MiB`.
        limit: String,
    },
    /// One of the project's secrets, asked for on another's behalf.
    #[error("`{path}` is {what}, which no plugin or container is given")]
    Shielded {
        /// The path as asked.
        path: String,
        /// What it is.
        what: &'static str,
    },
    /// The operating system refused.
    #[error("`{path}`: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl PathError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, PathError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// What is at a path, without following a final symbolic link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing.
    Missing,
    /// A regular file of this many bytes.
    File(u64),
    /// A folder.
    Dir,
    /// A symbolic link to `target`; `resolves` says whether it leads to
    /// something inside the project.
    Link {
        /// What the link says.
        target: PathBuf,
        /// Whether it resolves to an existing path inside the project.
        resolves: bool,
    },
    /// A FIFO, socket or device.
    Special(&'static str),
}

/// A project folder, opened once; see the module documentation.
#[derive(Debug)]
pub struct ProjectDir {
    root: PathBuf,
    pub(super) dir: Dir,
    /// Further files that are the project's own (the files it loads),
    /// known once the project file was evaluated.
    loaded: std::sync::RwLock<Vec<PathBuf>>,
}

fn io(path: &Path, source: std::io::Error) -> PathError {
    PathError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl ProjectDir {
    /// Opens `root`, which must be an absolute, canonical folder.
    pub fn open(root: &Path) -> Result<ProjectDir, PathError> {
        let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|e| io(root, e))?;
        Ok(ProjectDir {
            root: root.to_path_buf(),
            dir,
            loaded: Default::default(),
        })
    }

    /// The folder, absolute.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Marks files the project loads as its own (never written).
    pub fn protect_loaded(&self, files: impl IntoIterator<Item = PathBuf>) {
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        loaded.extend(files);
        loaded.sort();
        loaded.dedup();
    }

    /// A path as written by a user or a plugin, checked and normalised
    /// without touching the file system: `./a/../b` is `b`.
    pub fn relative(path: &str) -> Result<PathBuf, PathError> {
        if path.starts_with('~') {
            return Err(PathError::Tilde { path: path.into() });
        }
        let p = Path::new(path);
        if p.is_absolute() {
            return Err(PathError::Absolute { path: path.into() });
        }
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::Normal(n) => out.push(n),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !out.pop() {
                        return Err(PathError::Outside { path: path.into() });
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(PathError::Absolute { path: path.into() });
                }
            }
        }
        if out.as_os_str().is_empty() {
            return Err(PathError::Empty);
        }
        Ok(out)
    }

    /// What the project itself owns at `rel`, if anything.
    pub fn protected(&self, rel: &Path) -> Option<&'static str> {
        let first = rel.components().next().map(|c| c.as_os_str());
        if first == Some(STATE_DIR.as_ref()) {
            return Some("inside Clockwork's state folder `.clockwork/`");
        }
        if first == Some("plugins".as_ref()) && rel.components().count() > 1 {
            return Some("inside the project's plugin folder `plugins/`");
        }
        let text = rel.to_str().unwrap_or_default();
        match text {
            "main.star" | "main.py" => Some("the project file"),
            "clockwork.toml" => Some("the project's settings file"),
            ".env" => Some("the project's environment file"),
            STATE_DIR => Some("Clockwork's state folder"),
            "plugins" => Some("the project's plugin folder"),
            _ if self
                .loaded
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|l| l == rel) =>
            {
                Some("a file the project file loads")
            }
            _ => None,
        }
    }

    /// Refuses a path that is one of the project's own files.
    pub fn writable(&self, rel: &Path) -> Result<(), PathError> {
        match self.protected(rel) {
            Some(what) => Err(PathError::Protected {
                path: rel.display().to_string(),
                what,
            }),
            None => Ok(()),
        }
    }

    /// What is at `rel`; its folders may be links inside the project.
    pub fn entry(&self, rel: &Path) -> Result<Entry, PathError> {
        let meta = match self.dir.symlink_metadata(rel) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Missing),
            Err(e) => return Err(self.explain(rel, e)),
        };
        let kind = meta.file_type();
        Ok(if kind.is_symlink() {
            let target = self.dir.read_link_contents(rel).unwrap_or_default();
            let resolves =
                std::fs::canonicalize(self.root.join(rel)).is_ok_and(|r| r.starts_with(&self.root));
            Entry::Link { target, resolves }
        } else if kind.is_dir() {
            Entry::Dir
        } else if kind.is_file() {
            Entry::File(meta.len())
        } else {
            use std::os::unix::fs::FileTypeExt as _;
            let std_kind = std::fs::symlink_metadata(self.root.join(rel)).map(|m| m.file_type());
            Entry::Special(match std_kind {
                Ok(k) if k.is_fifo() => "a FIFO (named pipe)",
                Ok(k) if k.is_socket() => "a socket",
                Ok(k) if k.is_block_device() || k.is_char_device() => "a device",
                _ => "not a regular file",
            })
        })
    }

    /// The names in a folder, sorted; a missing folder is empty.
    pub fn list(&self, rel: &Path) -> Result<Vec<String>, PathError> {
        let entries = match self.dir.read_dir(rel) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.explain(rel, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// A file's metadata; links inside the project are followed.
    pub fn metadata(&self, rel: &Path) -> Result<cap_std::fs::Metadata, PathError> {
        self.dir.metadata(rel).map_err(|e| self.explain(rel, e))
    }

    /// Opens a file for reading; links inside the project are followed.
    pub fn open_file(&self, rel: &Path) -> Result<cap_std::fs::File, PathError> {
        self.dir.open(rel).map_err(|e| self.explain(rel, e))
    }

    /// Reads a regular file of at most [`super::reads::MAX_READ_BYTES`];
    /// links inside the project are followed. Use
    /// [`ProjectDir::read_limited`] for a smaller bound.
    pub fn read(&self, rel: &Path) -> Result<Vec<u8>, PathError> {
        self.read_limited(rel, super::reads::MAX_READ_BYTES)
    }

    /// Turns an OS error into the link that caused it, when one on the way
    /// leaves the project (cap-std only says "a path led outside").
    pub(super) fn explain(&self, rel: &Path, e: std::io::Error) -> PathError {
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            let is_link = self
                .dir
                .symlink_metadata(&prefix)
                .is_ok_and(|m| m.file_type().is_symlink());
            if !is_link {
                continue;
            }
            let inside = std::fs::canonicalize(self.root.join(&prefix))
                .is_ok_and(|r| r.starts_with(&self.root));
            if !inside {
                let target = std::fs::read_link(self.root.join(&prefix)).unwrap_or_default();
                return PathError::LinkOutside {
                    path: rel.display().to_string(),
                    link: prefix.display().to_string(),
                    target: target.display().to_string(),
                };
            }
        }
        io(rel, e)
    }

    /// Refuses `rel` when any existing component of it is a symbolic link.
    fn no_links(&self, rel: &Path) -> Result<(), PathError> {
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            match self.dir.symlink_metadata(&prefix) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(PathError::ThroughLink {
                        path: rel.display().to_string(),
                        link: prefix.display().to_string(),
                    });
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io(&prefix, e)),
            }
        }
        Ok(())
    }

    /// Checks that `rel` could be written: not the project's own, no link
    /// on the way. Nothing is changed.
    pub fn check_write(&self, rel: &Path) -> Result<(), PathError> {
        self.writable(rel)?;
        self.no_links(rel)
    }

    /// Creates `rel` and its parents as real folders (mode 0700 when `private`).
    pub fn create_dir_all(&self, rel: &Path, private: bool) -> Result<(), PathError> {
        self.no_links(rel)?;
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            match self.dir.create_dir(&prefix) {
                Ok(()) if private => self
                    .dir
                    .set_permissions(&prefix, Permissions::from_mode(0o700))
                    .map_err(|e| io(&prefix, e))?,
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(self.explain(&prefix, e)),
            }
        }
        self.no_links(rel)
    }

    fn parent_of(rel: &Path) -> Option<&Path> {
        rel.parent().filter(|p| !p.as_os_str().is_empty())
    }

    fn options() -> OpenOptions {
        let mut options = OpenOptions::new();
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        options
    }

    /// Writes a file atomically (a temporary file beside it, synced, renamed
    /// over it) with `mode`, creating missing folders. A crash leaves the old
    /// content or the new, never a mix.
    pub fn write_atomic(&self, rel: &Path, content: &[u8], mode: u32) -> Result<(), PathError> {
        self.no_links(rel)?;
        if let Some(parent) = Self::parent_of(rel) {
            self.create_dir_all(parent, false)?;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = rel.with_file_name(format!(".{name}.{}.clockwork-tmp", std::process::id()));
        // A leftover of a crashed run (or a planted link) goes first.
        match self.dir.remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&tmp, e)),
        }
        let mut options = Self::options();
        options.write(true).create_new(true).mode(mode);
        let mut file = self
            .dir
            .open_with(&tmp, &options)
            .map_err(|e| self.explain(&tmp, e))?;
        let written = file
            .write_all(content)
            .and_then(|()| file.set_permissions(Permissions::from_mode(mode)))
            .and_then(|()| file.sync_all());
        drop(file);
        if let Err(e) = written {
            let _ = self.dir.remove_file(&tmp);
            return Err(io(rel, e));
        }
        if let Err(e) = self.dir.rename(&tmp, &self.dir, rel) {
            let _ = self.dir.remove_file(&tmp);
            return Err(io(rel, e));
        }
        Ok(())
    }

    /// Appends to a file (created with `mode` when missing).
    pub fn append(&self, rel: &Path, content: &[u8], mode: u32) -> Result<(), PathError> {
        self.no_links(rel)?;
        let mut options = Self::options();
        options.append(true).create(true).mode(mode);
        let mut file = self
            .dir
            .open_with(rel, &options)
            .map_err(|e| self.explain(rel, e))?;
        file.write_all(content).map_err(|e| io(rel, e))
    }

    /// Opens a file for reading and writing, created with `mode` when
    /// missing, as a std file (for OS locks).
    pub fn open_rw(&self, rel: &Path, mode: u32) -> Result<std::fs::File, PathError> {
        self.no_links(rel)?;
        let mut options = Self::options();
        options
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(mode);
        let file = self
            .dir
            .open_with(rel, &options)
            .map_err(|e| self.explain(rel, e))?;
        Ok(file.into_std())
    }

    /// Renames a file inside the project (over `to` if it exists).
    pub fn rename(&self, from: &Path, to: &Path) -> Result<(), PathError> {
        self.no_links(from)?;
        self.no_links(to)?;
        self.dir
            .rename(from, &self.dir, to)
            .map_err(|e| io(from, e))
    }

    /// Removes a folder and everything in it (links inside are removed,
    /// never followed); `false` when there was none.
    pub fn remove_dir_all(&self, rel: &Path) -> Result<bool, PathError> {
        self.no_links(rel)?;
        match self.dir.remove_dir_all(rel) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(rel, e)),
        }
    }

    /// Removes a file; `false` when there was none.
    pub fn remove_file(&self, rel: &Path) -> Result<bool, PathError> {
        self.no_links(rel)?;
        match self.dir.remove_file(rel) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io(rel, e)),
        }
    }

    /// The absolute path to give the Docker Engine for a bind mount of
    /// `rel`: links inside the project are resolved (the Engine would
    /// follow them), one that leaves the project is refused. Parts that do
    /// not exist yet are kept as written (they cannot be links).
    pub fn host_path(&self, rel: &Path) -> Result<PathBuf, PathError> {
        let mut existing = rel.to_path_buf();
        let mut missing = Vec::new();
        while !existing.as_os_str().is_empty() && self.dir.symlink_metadata(&existing).is_err() {
            if let Some(name) = existing.file_name() {
                missing.push(name.to_os_string());
            }
            existing.pop();
        }
        let mut resolved = if existing.as_os_str().is_empty() {
            self.root.clone()
        } else {
            match std::fs::canonicalize(self.root.join(&existing)) {
                Ok(r) if r.starts_with(&self.root) => r,
                Ok(_) | Err(_) => {
                    return Err(
                        match self.explain(
                            &existing,
                            std::io::Error::other("a link leads outside the project"),
                        ) {
                            PathError::Io { .. } => PathError::Outside {
                                path: rel.display().to_string(),
                            },
                            other => other,
                        },
                    );
                }
            }
        };
        for name in missing.into_iter().rev() {
            resolved.push(name);
        }
        Ok(resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, ProjectDir) {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("p")).unwrap();
        let root = std::fs::canonicalize(tmp.path().join("p")).unwrap();
        let dir = ProjectDir::open(&root).unwrap();
        (tmp, dir)
    }

    #[test]
    fn relative_paths_are_normalised_and_escapes_refused() {
        assert_eq!(
            ProjectDir::relative("./a/../b/c").unwrap(),
            PathBuf::from("b/c")
        );
        assert!(matches!(
            ProjectDir::relative("../x"),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(
            ProjectDir::relative("a/../../x"),
            Err(PathError::Outside { .. })
        ));
        assert!(matches!(
            ProjectDir::relative("/etc/passwd"),
            Err(PathError::Absolute { .. })
        ));
        assert!(matches!(
            ProjectDir::relative("~/notes"),
            Err(PathError::Tilde { .. })
        ));
        assert!(matches!(ProjectDir::relative("./"), Err(PathError::Empty)));
    }

    #[test]
    fn the_projects_own_files_are_protected() {
        let (_tmp, dir) = project();
        dir.protect_loaded([PathBuf::from("lib/db.star")]);
        for own in [
            "main.star",
            "main.py",
            "clockwork.toml",
            ".env",
            ".clockwork",
            ".clockwork/state.json",
            "plugins/x.wasm",
            "lib/db.star",
        ] {
            assert!(dir.protected(Path::new(own)).is_some(), "{own}");
        }
        for free in [
            "notes.md",
            "config/app.json",
            "plugins.md",
            "docs/main.star",
        ] {
            assert!(dir.protected(Path::new(free)).is_none(), "{free}");
        }
    }

    #[test]
    fn writes_refuse_links_and_reads_refuse_links_out() {
        let (tmp, dir) = project();
        let outside = tmp.path().join("outside.txt");
        std::fs::write(&outside, "keep").unwrap();
        std::os::unix::fs::symlink(&outside, dir.root().join("out")).unwrap();
        std::fs::write(dir.root().join("inside.txt"), "in").unwrap();
        std::os::unix::fs::symlink("inside.txt", dir.root().join("alias")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), dir.root().join("up")).unwrap();

        assert!(matches!(
            dir.write_atomic(Path::new("out"), b"x", 0o600),
            Err(PathError::ThroughLink { .. })
        ));
        assert!(matches!(
            dir.append(Path::new("alias"), b"x", 0o600),
            Err(PathError::ThroughLink { .. })
        ));
        assert!(matches!(
            dir.write_atomic(Path::new("up/escaped.txt"), b"x", 0o600),
            Err(PathError::ThroughLink { .. })
        ));
        assert!(matches!(
            dir.remove_file(Path::new("out")),
            Err(PathError::ThroughLink { .. })
        ));
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        assert!(!tmp.path().join("escaped.txt").exists());

        assert_eq!(dir.read(Path::new("alias")).unwrap(), b"in");
        let err = dir.read(Path::new("out")).unwrap_err();
        assert!(
            matches!(err, PathError::LinkOutside { ref link, .. } if link == "out"),
            "{err}"
        );
        assert!(matches!(
            dir.host_path(Path::new("up/data")),
            Err(PathError::LinkOutside { .. })
        ));
        assert_eq!(
            dir.host_path(Path::new("alias")).unwrap(),
            dir.root().join("inside.txt")
        );
        assert_eq!(
            dir.host_path(Path::new("new/folder")).unwrap(),
            dir.root().join("new/folder")
        );
    }

    #[test]
    fn atomic_writes_set_the_mode_and_leave_no_temporary_file() {
        let (_tmp, dir) = project();
        dir.write_atomic(Path::new("conf/app.json"), b"{}", 0o600)
            .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(dir.root().join("conf/app.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.root().join("conf"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["app.json"]);
        assert_eq!(
            dir.entry(Path::new("conf")).unwrap(),
            Entry::Dir,
            "folders are seen as folders"
        );
        assert!(dir.remove_file(Path::new("conf/app.json")).unwrap());
        assert!(!dir.remove_file(Path::new("conf/app.json")).unwrap());
    }
}
