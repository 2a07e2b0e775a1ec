//! The files `clockwork import` reads: the Compose file the user names, and
//! the env files that file names. A Compose file is untrusted input, so:
//!
//! - every read is bounded ([`COMPOSE_LIMIT`], [`ENV_FILE_LIMIT`]), and the
//!   error names the limit;
//! - only regular files are read: a FIFO, socket, device or folder is
//!   refused before a byte is read. The file is opened with `O_NONBLOCK`, so
//!   that opening a FIFO cannot hang, and its type is taken from the opened
//!   handle, not from a separate look-up by name that could be raced;
//! - an env file is read only from beneath the Compose file's folder,
//!   resolved without following a symbolic link out of it (cap-std, as
//!   [`crate::project::ProjectDir`] does); a path out (`../x.env`,
//!   `/etc/shadow`) is refused without touching the file system, unless the
//!   user allowed that very file with `--allow-env-file` (matched by the
//!   file's identity, device and inode, not by the path's text).
//!
//! The pure import sees only [`EnvFiles`]; this module is its one
//! implementation on the file system.

use std::cell::RefCell;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt as _};

/// The most `clockwork import` reads of a Compose file.
pub const COMPOSE_LIMIT: u64 = 8 * 1024 * 1024;

/// The most `clockwork import` reads of one env file.
pub const ENV_FILE_LIMIT: u64 = 1024 * 1024;

/// Why a file was not read. None of these quote the file's content.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing is there.
    #[error("{0}")]
    NotFound(std::io::Error),
    /// The path leaves the Compose file's folder (`..`, an absolute path,
    /// `~`), and the file was not allowed.
    #[error("it is outside the Compose file's folder")]
    Outside,
    /// A symbolic link on the way points out of the Compose file's folder,
    /// and the file it leads to was not allowed.
    #[error(
        "it goes through the symbolic link `{link}`, which points out of the Compose file's folder"
    )]
    LinkOutside {
        /// The link, relative to the Compose file's folder.
        link: String,
    },
    /// A FIFO, socket, device or folder.
    #[error("it is {what}, not a regular file")]
    NotAFile {
        /// What it is.
        what: &'static str,
    },
    /// Larger than the limit.
    #[error("it is larger than {}, the most Clockwork reads of {of}", size(*.limit))]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// What the limit is for: "a Compose file", "an env file".
        of: &'static str,
    },
    /// Not UTF-8 text.
    #[error("it is not UTF-8 text")]
    NotText,
    /// The operating system refused.
    #[error("{0}")]
    Io(std::io::Error),
}

/// `1 MiB`, `8 MiB`, `512 KiB`, `100 bytes`: the project's one wording of
/// a limit.
pub use crate::project::bytes as size;

/// What the pure import asks for an env file: its text, by the path the
/// Compose file wrote.
pub trait EnvFiles {
    /// The text of the env file written as `path` in the Compose file.
    fn read(&self, path: &str) -> Result<String, ReadError>;
}

/// Flags every open here uses: a FIFO opens at once (and is then refused),
/// and a terminal device never becomes the controlling one.
fn open_flags() -> i32 {
    let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    i32::try_from(flags.bits()).expect("open flags fit an int")
}

/// The type of an opened file, when it is not a regular file.
fn not_a_file(kind: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    kind_shown(
        kind.is_file(),
        kind.is_dir(),
        kind.is_fifo(),
        kind.is_socket(),
        kind.is_block_device() || kind.is_char_device(),
    )
}

/// What a file of these kinds is called, when it is not a regular file.
fn kind_shown(
    file: bool,
    dir: bool,
    fifo: bool,
    socket: bool,
    device: bool,
) -> Option<&'static str> {
    if file {
        None
    } else if dir {
        Some("a folder")
    } else if fifo {
        Some("a FIFO (named pipe)")
    } else if socket {
        Some("a socket")
    } else if device {
        Some("a device")
    } else {
        Some("not a regular file")
    }
}

fn io_error(e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::NotFound {
        ReadError::NotFound(e)
    } else {
        ReadError::Io(e)
    }
}

/// Reads an opened regular file of at most `limit` bytes as text.
fn read_opened(
    file: &mut impl Read,
    len: u64,
    limit: u64,
    of: &'static str,
) -> Result<String, ReadError> {
    if len > limit {
        return Err(ReadError::TooLarge { limit, of });
    }
    // The length said may be wrong (a file still growing, or one of
    // /proc's): the read itself stops one byte past the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit, of });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

/// Opens `path` (following links: the user named it) and reads it, if it
/// is a regular file of at most `limit` bytes; `identity` is checked on
/// the opened handle when given.
fn read_ambient(
    path: &Path,
    limit: u64,
    of: &'static str,
    identity: Option<(u64, u64)>,
) -> Result<String, ReadError> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(open_flags())
        .open(path)
        .map_err(io_error)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if identity.is_some_and(|id| id != (meta.dev(), meta.ino())) {
        // Swapped between the check and the open.
        return Err(ReadError::Outside);
    }
    if let Some(what) = not_a_file(meta.file_type()) {
        return Err(ReadError::NotAFile { what });
    }
    read_opened(&mut file, meta.len(), limit, of)
}

/// Reads the Compose file the user named: a regular file of at most
/// [`COMPOSE_LIMIT`] bytes.
pub fn compose_file(path: &Path) -> Result<String, ReadError> {
    read_ambient(path, COMPOSE_LIMIT, "a Compose file", None)
}

/// A file the user allowed with `--allow-env-file`.
#[derive(Debug)]
struct Allowed {
    /// As the user wrote it.
    shown: String,
    /// Its device and inode.
    identity: (u64, u64),
}

/// Why an `--allow-env-file` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("`--allow-env-file {shown}`: {reason}")]
pub struct AllowError {
    /// As the user wrote it.
    pub shown: String,
    /// What is wrong.
    pub reason: String,
}

/// The env files of a Compose file on disk: see the module documentation.
#[derive(Debug)]
pub struct ComposeFolder {
    /// The folder, canonical.
    root: PathBuf,
    dir: Dir,
    allowed: Vec<Allowed>,
    /// Which of `allowed` an env file used.
    used: RefCell<Vec<bool>>,
}

impl ComposeFolder {
    /// The folder `root`, absolute and canonical, with no file outside it
    /// allowed.
    pub fn open(root: &Path) -> std::io::Result<ComposeFolder> {
        let dir = Dir::open_ambient_dir(root, cap_std::ambient_authority())?;
        Ok(ComposeFolder {
            root: root.to_path_buf(),
            dir,
            allowed: Vec::new(),
            used: RefCell::new(Vec::new()),
        })
    }

    /// Allows the file at `path` (`shown` as the user wrote it), wherever
    /// it is: an existing regular file, known from now on by its device
    /// and inode.
    pub fn allow(&mut self, shown: &str, path: &Path) -> Result<(), AllowError> {
        use std::os::unix::fs::MetadataExt as _;
        let fail = |reason: String| AllowError {
            shown: shown.to_string(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("{e}")))?;
        if let Some(what) = not_a_file(meta.file_type()) {
            return Err(fail(format!("it is {what}, not a regular file")));
        }
        self.allowed.push(Allowed {
            shown: shown.to_string(),
            identity: (meta.dev(), meta.ino()),
        });
        self.used.borrow_mut().push(false);
        Ok(())
    }

    /// The allowed files no env file of the Compose file led to.
    pub fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.allowed
            .iter()
            .zip(used.iter())
            .filter(|(_, used)| !**used)
            .map(|(a, _)| a.shown.clone())
            .collect()
    }

    /// Reads `full`, outside the folder, if it is an allowed file; else
    /// `refusal`.
    fn read_allowed(&self, full: &Path, refusal: ReadError) -> Result<String, ReadError> {
        use std::os::unix::fs::MetadataExt as _;
        if self.allowed.is_empty() {
            return Err(refusal);
        }
        let Ok(meta) = std::fs::metadata(full) else {
            return Err(refusal);
        };
        let identity = (meta.dev(), meta.ino());
        let Some(index) = self.allowed.iter().position(|a| a.identity == identity) else {
            return Err(refusal);
        };
        let text = read_ambient(full, ENV_FILE_LIMIT, "an env file", Some(identity))?;
        self.used.borrow_mut()[index] = true;
        Ok(text)
    }

    /// The symbolic link on the way to `rel` that leads out of the folder.
    fn link_out(&self, rel: &Path) -> Option<PathBuf> {
        let mut prefix = PathBuf::new();
        for c in rel.components() {
            prefix.push(c);
            let is_link = self
                .dir
                .symlink_metadata(&prefix)
                .is_ok_and(|m| m.file_type().is_symlink());
            if is_link
                && !std::fs::canonicalize(self.root.join(&prefix))
                    .is_ok_and(|r| r.starts_with(&self.root))
            {
                return Some(prefix);
            }
        }
        None
    }
}

impl EnvFiles for ComposeFolder {
    fn read(&self, path: &str) -> Result<String, ReadError> {
        if path.starts_with('~') {
            // Compose expands it to the user's home: outside in any case.
            return Err(ReadError::Outside);
        }
        let full = normalise(&self.root.join(path));
        let Ok(rel) = full.strip_prefix(&self.root) else {
            return self.read_allowed(&full, ReadError::Outside);
        };
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(open_flags());
        let mut file = match self.dir.open_with(rel, &options) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReadError::NotFound(e));
            }
            Err(e) => {
                return match self.link_out(rel) {
                    Some(link) => self.read_allowed(
                        &full,
                        ReadError::LinkOutside {
                            link: link.display().to_string(),
                        },
                    ),
                    None => Err(ReadError::Io(e)),
                };
            }
        };
        let meta = file.metadata().map_err(ReadError::Io)?;
        if let Some(what) = not_a_file_cap(&meta) {
            return Err(ReadError::NotAFile { what });
        }
        read_opened(&mut file, meta.len(), ENV_FILE_LIMIT, "an env file")
    }
}

/// [`not_a_file`] for cap-std's metadata.
fn not_a_file_cap(meta: &cap_std::fs::Metadata) -> Option<&'static str> {
    use cap_std::fs::FileTypeExt as _;
    let kind = meta.file_type();
    kind_shown(
        kind.is_file(),
        kind.is_dir(),
        kind.is_fifo(),
        kind.is_socket(),
        kind.is_block_device() || kind.is_char_device(),
    )
}

/// A path with `.` and `..` resolved without asking the file system.
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `<tmp>/compose/` with `app.env`, beside `<tmp>/outside/secrets.env`.
    fn folders() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().canonicalize().expect("canonical");
        let compose = root.join("compose");
        std::fs::create_dir_all(compose.join("conf")).expect("mkdir");
        std::fs::create_dir_all(root.join("outside")).expect("mkdir");
        std::fs::write(compose.join("conf/app.env"), "A=1\n").expect("write");
        let secret = root.join("outside/secrets.env");
        std::fs::write(&secret, "AWS_SECRET_ACCESS_KEY=outside-secret\n").expect("write");
        (tmp, compose, secret)
    }

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
    }

    #[test]
    fn env_files_are_read_only_beneath_the_compose_folder() {
        let (_tmp, compose, secret) = folders();
        let folder = ComposeFolder::open(&compose).expect("open");
        assert_eq!(folder.read("./conf/app.env").expect("read"), "A=1\n");
        assert_eq!(folder.read("conf/../conf/app.env").expect("read"), "A=1\n");
        for outside in [
            "../outside/secrets.env",
            secret.to_str().expect("utf-8"),
            "conf/../../outside/secrets.env",
            "~/secrets.env",
            "/etc/shadow",
        ] {
            assert!(
                matches!(folder.read(outside), Err(ReadError::Outside)),
                "{outside}: {:?}",
                folder.read(outside)
            );
        }
        // A link inside pointing out, to a file or to a folder.
        std::os::unix::fs::symlink(&secret, compose.join("linked.env")).expect("link");
        std::os::unix::fs::symlink(secret.parent().expect("folder"), compose.join("out"))
            .expect("link");
        for linked in ["linked.env", "./out/secrets.env"] {
            match folder.read(linked) {
                Err(ReadError::LinkOutside { link }) => {
                    assert!(["linked.env", "out"].contains(&link.as_str()), "{link}");
                }
                other => panic!("{linked}: {other:?}"),
            }
        }
        // A link that stays inside is followed.
        std::os::unix::fs::symlink("conf/app.env", compose.join("inside.env")).expect("link");
        assert_eq!(folder.read("inside.env").expect("read"), "A=1\n");
        assert!(matches!(
            folder.read("missing.env"),
            Err(ReadError::NotFound(_))
        ));
    }

    #[test]
    fn an_allowed_file_is_read_by_what_it_is_not_by_how_it_is_written() {
        let (_tmp, compose, secret) = folders();
        let other = secret.with_file_name("other.env");
        std::fs::write(&other, "OTHER_TOKEN=x\n").expect("write");
        let mut folder = ComposeFolder::open(&compose).expect("open");
        folder
            .allow(
                "../outside/secrets.env",
                &compose.join("../outside/secrets.env"),
            )
            .expect("allowed");
        assert_eq!(folder.unused(), ["../outside/secrets.env"]);
        std::os::unix::fs::symlink(&secret, compose.join("linked.env")).expect("link");
        for same in [
            "../outside/secrets.env",
            "../outside/./secrets.env",
            secret.to_str().expect("utf-8"),
            "linked.env",
        ] {
            assert_eq!(
                folder.read(same).expect(same),
                "AWS_SECRET_ACCESS_KEY=outside-secret\n"
            );
        }
        assert!(folder.unused().is_empty());
        // Not another file beside it.
        assert!(matches!(
            folder.read("../outside/other.env"),
            Err(ReadError::Outside)
        ));
        // A file that is not there cannot be allowed.
        assert!(folder.allow("nope", &compose.join("nope")).is_err());
    }

    #[test]
    fn fifos_devices_and_large_files_are_refused_before_they_are_read() {
        let (_tmp, compose, _) = folders();
        mkfifo(&compose.join("pipe.env"));
        let mut folder = ComposeFolder::open(&compose).expect("open");
        // Opening a FIFO with no writer would wait forever without O_NONBLOCK.
        assert!(matches!(
            folder.read("pipe.env"),
            Err(ReadError::NotAFile {
                what: "a FIFO (named pipe)"
            })
        ));
        assert!(matches!(
            folder.read("conf"),
            Err(ReadError::NotAFile { what: "a folder" })
        ));
        // /dev/zero, even allowed, is a device: never read (it would fill
        // the memory).
        folder
            .allow("/dev/zero", Path::new("/dev/zero"))
            .expect_err("a device");
        assert!(matches!(
            read_ambient(Path::new("/dev/zero"), ENV_FILE_LIMIT, "an env file", None),
            Err(ReadError::NotAFile { what: "a device" })
        ));
        assert!(matches!(
            compose_file(&compose.join("pipe.env")),
            Err(ReadError::NotAFile {
                what: "a FIFO (named pipe)"
            })
        ));
        // One byte past the limit.
        std::fs::write(
            compose.join("big.env"),
            "x".repeat(usize::try_from(ENV_FILE_LIMIT).expect("fits") + 1),
        )
        .expect("write");
        assert!(matches!(
            folder.read("big.env"),
            Err(ReadError::TooLarge {
                limit: ENV_FILE_LIMIT,
                ..
            })
        ));
        let at_limit = "x".repeat(usize::try_from(ENV_FILE_LIMIT).expect("fits"));
        std::fs::write(compose.join("big.env"), &at_limit).expect("write");
        assert_eq!(folder.read("big.env").expect("read").len(), at_limit.len());
        std::fs::write(compose.join("binary.env"), [0xff, 0xfe]).expect("write");
        assert!(matches!(folder.read("binary.env"), Err(ReadError::NotText)));
    }

    #[test]
    fn a_file_of_proc_is_read_no_further_than_the_limit() {
        // Its length says 0; the read itself stops past the limit.
        let mut endless = std::io::repeat(b'x');
        assert!(matches!(
            read_opened(&mut endless, 0, 1024, "an env file"),
            Err(ReadError::TooLarge { limit: 1024, .. })
        ));
    }

    #[test]
    fn sizes_are_said_in_binary_units() {
        assert_eq!(size(ENV_FILE_LIMIT), "1 MiB");
        assert_eq!(size(COMPOSE_LIMIT), "8 MiB");
        assert_eq!(size(512 * 1024), "512 KiB");
        assert_eq!(size(100), "100 bytes");
    }
}
