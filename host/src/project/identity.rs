//! Which Docker objects are this project's.
//!
//! A project's name (its folder's name, or `[project] name` in
//! `clockwork.toml`) is what people read and what networks are named
//! after, but two folders called `twin` share it. The project id is a
//! digest of the folder's absolute path, so two folders never share one by
//! accident; every object Clockwork creates carries both, and only objects
//! whose id is this project's (or one the user took over with `--adopt`)
//! are ever changed.
//!
//! The adopted ids come only from the command line's `--adopt` and from
//! the user's own record of earlier adoptions
//! ([`crate::state::adoption`]), never from the state file.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A project id: 12 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectId(String);

impl ProjectId {
    /// The id of the project in `dir` (absolute and canonical).
    pub fn of_folder(dir: &Path) -> ProjectId {
        let mut hasher = Sha256::new();
        hasher.update(b"clockwork project\0");
        hasher.update(dir.as_os_str().as_encoded_bytes());
        ProjectId(hex::encode(&hasher.finalize()[..6]))
    }

    /// Parses an id as a user types it (`--adopt 1a2b3c4d5e6f`).
    pub fn parse(text: &str) -> Option<ProjectId> {
        let text = text.trim();
        (text.len() == 12 && text.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| ProjectId(text.to_ascii_lowercase()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What Clockwork stamps on, and looks for in, Docker objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The project name: Docker-safe, used for the default network.
    pub name: String,
    /// This folder's id.
    pub id: ProjectId,
    /// The folder.
    pub dir: PathBuf,
    /// Ids of other folders whose objects the user took over.
    adopted: Vec<ProjectId>,
    /// Where its objects live: containers of an Engine, or services of a
    /// swarm. Part of who it is, since every look and every act depends on it.
    pub target: super::EngineTarget,
    /// On a swarm, the registry its nodes get images from (`host:port`).
    pub registry: Option<String>,
}

impl Identity {
    /// The identity of the project `name` in `dir`.
    pub fn new(name: &str, dir: &Path) -> Identity {
        Identity {
            name: name.to_string(),
            id: ProjectId::of_folder(dir),
            dir: dir.to_path_buf(),
            adopted: Vec::new(),
            target: super::EngineTarget::Local,
            registry: None,
        }
    }

    /// This identity, also owning the objects of `ids`: ids given with
    /// `--adopt`, or remembered from such a run
    /// ([`crate::state::adoption`]); never ids read from the state file.
    pub fn adopting(&self, ids: &[ProjectId]) -> Identity {
        let mut out = self.clone();
        for id in ids {
            if *id != out.id && !out.adopted.contains(id) {
                out.adopted.push(id.clone());
            }
        }
        out
    }

    /// The other folders' ids this identity owns the objects of.
    pub fn adopted(&self) -> &[ProjectId] {
        &self.adopted
    }

    /// Whether an object labelled with project id `id` is this project's.
    pub fn owns(&self, id: Option<&str>) -> bool {
        id.is_some_and(|id| id == self.id.as_str() || self.adopted.iter().any(|a| a.as_str() == id))
    }

    /// The project's default network, which every container joins. It
    /// carries the id as well as the name: network names are global to the
    /// Engine, and two folders called `twin` must both be deployable.
    pub fn default_network(&self) -> String {
        format!("{}-{}_default", self.name, &self.id.as_str()[..6])
    }
}

/// A Docker-safe project name from a folder name: lower-case letters,
/// digits, `-`, `_`.
pub fn docker_safe_name(folder: &str) -> String {
    let name: String = folder
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = name.trim_matches(['-', '_']);
    if trimmed.is_empty() {
        "project".into()
    } else {
        trimmed.chars().take(48).collect()
    }
}

/// Whether `name` may be written as `[project] name`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_folders_of_one_name_have_different_ids() {
        let a = Identity::new("twin", Path::new("/tmp/a/twin"));
        let b = Identity::new("twin", Path::new("/tmp/b/twin"));
        assert_eq!(a.name, b.name);
        assert_ne!(a.id, b.id);
        assert!(a.owns(Some(a.id.as_str())));
        assert!(!a.owns(Some(b.id.as_str())));
        assert!(!a.owns(None));
        let adopting = a.adopting(&[b.id.clone(), a.id.clone()]);
        assert!(adopting.owns(Some(b.id.as_str())));
        assert_eq!(adopting.adopted(), std::slice::from_ref(&b.id));
        assert_eq!(ProjectId::of_folder(Path::new("/tmp/a/twin")), a.id);
    }

    #[test]
    fn ids_parse_and_names_are_docker_safe() {
        assert!(ProjectId::parse("1a2B3c4d5e6f").is_some());
        assert!(ProjectId::parse("1a2b").is_none());
        assert!(ProjectId::parse("zzzzzzzzzzzz").is_none());
        assert_eq!(docker_safe_name("My Project!"), "my-project");
        assert_eq!(docker_safe_name("..."), "project");
        assert!(valid_name("shop-2"));
        assert!(!valid_name("Shop"));
        assert!(!valid_name("-x"));
    }
}
