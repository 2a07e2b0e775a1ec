//! Which other folders' projects this project took over with `--adopt`.
//!
//! An adoption is remembered outside the project, in the user's own state
//! folder (`$XDG_STATE_HOME/clockwork/adoptions/`, else
//! `~/.local/state/clockwork/adoptions/`), one owner-only file per project
//! id. It is never read from `.clockwork/state.json`: the state file is
//! input anyone can hand you (a repository, another user), and an id listed
//! there would let `destroy` remove another project's containers. Only a
//! run given `--adopt <id>` adds an adoption; `destroy` forgets them once
//! it has removed what they covered. A record that is not this user's own,
//! that others may write, or that names another folder is ignored.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::project::{Identity, ProjectId};

/// A record is a few ids; anything larger is not one.
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// What is remembered of one project's adoptions.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    /// The project's folder: a record is only its own folder's.
    dir: PathBuf,
    /// Adopted ids, with when each was adopted (ms since the Unix epoch).
    adopted: BTreeMap<String, u64>,
}

/// The folder adoption records are kept in.
#[derive(Debug, Clone)]
pub struct Records {
    folder: PathBuf,
}

impl Records {
    /// The user's own: `$XDG_STATE_HOME/clockwork/adoptions`, else
    /// `~/.local/state/clockwork/adoptions`; `None` when neither is set to
    /// an absolute folder.
    pub fn of_user() -> Option<Records> {
        let base = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| Path::new(v).is_absolute())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| Path::new(v).is_absolute())
                    .map(|home| PathBuf::from(home).join(".local/state"))
            })?;
        Some(Records {
            folder: base.join("clockwork/adoptions"),
        })
    }

    fn path(&self, identity: &Identity) -> PathBuf {
        self.folder.join(format!("{}.json", identity.id))
    }

    fn load(&self, identity: &Identity) -> Record {
        read_own(&self.path(identity))
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
            .filter(|r| r.dir == identity.dir)
            .unwrap_or_default()
    }

    /// The ids this project adopted in an earlier run given `--adopt`.
    pub fn remembered(&self, identity: &Identity) -> Vec<ProjectId> {
        self.load(identity)
            .adopted
            .keys()
            .filter_map(|id| ProjectId::parse(id))
            .filter(|id| *id != identity.id)
            .collect()
    }

    /// Remembers that this project adopted `ids` (given on the command
    /// line), with those it adopted before.
    pub fn remember(&self, identity: &Identity, ids: &[ProjectId]) -> std::io::Result<()> {
        let ids: Vec<&ProjectId> = ids.iter().filter(|id| **id != identity.id).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut record = self.load(identity);
        record.dir = identity.dir.clone();
        for id in ids {
            record
                .adopted
                .entry(id.to_string())
                .or_insert_with(crate::model::time::now_ms);
        }
        write(&self.path(identity), &record)
    }

    /// Forgets every adoption of this project (after a destroy removed
    /// what they covered).
    pub fn forget(&self, identity: &Identity) {
        if !self.load(identity).adopted.is_empty() {
            let _ = std::fs::remove_file(self.path(identity));
        }
    }
}

/// `identity` owning also the objects of the ids it adopted in an earlier
/// run given `--adopt`, as the user's records say.
pub fn identity(identity: &Identity) -> Identity {
    let remembered = Records::of_user()
        .map(|r| r.remembered(identity))
        .unwrap_or_default();
    identity.adopting(&remembered)
}

/// Reads `path` if it is a regular file of this user's that nobody else
/// may write, reached without a link at its last step.
fn read_own(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    let mine = meta.uid() == rustix::process::geteuid().as_raw();
    let others_write = meta.permissions().mode() & 0o022 != 0;
    if !meta.is_file() || !mine || others_write || meta.len() > MAX_RECORD_BYTES {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Writes `record` to `path` atomically, owner-only, its folder 0700.
fn write(path: &Path, record: &Record) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let text = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("record"),
        std::process::id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&temporary)?;
    let written = std::io::Write::write_all(&mut file, &text).and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> (tempfile::TempDir, Records) {
        let home = tempfile::tempdir().unwrap();
        let records = Records {
            folder: home.path().join("clockwork/adoptions"),
        };
        (home, records)
    }

    #[test]
    fn an_adoption_is_remembered_per_folder_and_forgotten() {
        let (_home, records) = records();
        let shop = Identity::new("shop", Path::new("/srv/shop"));
        let other = Identity::new("shop", Path::new("/srv/other"));
        let moved = ProjectId::of_folder(Path::new("/old/shop"));
        assert!(records.remembered(&shop).is_empty());
        records
            .remember(&shop, &[moved.clone(), shop.id.clone()])
            .unwrap();
        assert_eq!(records.remembered(&shop), std::slice::from_ref(&moved));
        assert!(records.remembered(&other).is_empty());
        let file = records.path(&shop);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        records.forget(&shop);
        assert!(records.remembered(&shop).is_empty());
        assert!(!file.exists());
    }

    #[test]
    fn a_record_others_may_write_naming_another_folder_or_a_link_is_ignored() {
        let (home, records) = records();
        let shop = Identity::new("shop", Path::new("/srv/shop"));
        let victim = ProjectId::of_folder(Path::new("/srv/victim"));
        records
            .remember(&shop, std::slice::from_ref(&victim))
            .unwrap();
        let file = records.path(&shop);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(records.remembered(&shop).is_empty(), "writable by others");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(records.remembered(&shop), std::slice::from_ref(&victim));
        let real = home.path().join("real.json");
        std::fs::rename(&file, &real).unwrap();
        std::os::unix::fs::symlink(&real, &file).unwrap();
        assert!(
            records.remembered(&shop).is_empty(),
            "a link is not followed"
        );
        std::fs::remove_file(&file).unwrap();
        let text = std::fs::read_to_string(&real)
            .unwrap()
            .replace("/srv/shop", "/srv/elsewhere");
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(records.remembered(&shop).is_empty(), "another folder's");
    }
}
