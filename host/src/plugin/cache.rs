//! The on-disk cache of compiled components.
//!
//! Layout: `<root>/<wasmtime-version>/<engine-hash>/<sha256-of-wasm>.cwasm`,
//! so a new wasmtime or a changed engine config never sees old artifacts.
//! Each file starts with a magic and the SHA-256 of the artifact that
//! follows; an entry whose digest does not match, or that wasmtime refuses,
//! is compiled again and overwritten, never trusted. Writes go to a
//! temporary file renamed into place, so a crash leaves no half entry. The
//! cache is capped; the least recently used entries are evicted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::plugin::PluginEngine;

const MAGIC: &[u8; 8] = b"CWCWASM1";
const HEADER_LEN: usize = MAGIC.len() + 32;
/// The cache's size cap.
const MAX_CACHE_BYTES: u64 = 512 << 20;
/// A hit refreshes an entry's time at most this often, to keep loads cheap.
const TOUCH_AFTER: Duration = Duration::from_secs(3600);

/// How a component was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the cache.
    Hit,
    /// Compiled; no entry existed (or caching is off).
    Compiled,
    /// Compiled again because the entry was unusable; the reason.
    Rebuilt(String),
    /// Described from the cache; compiled (or taken from the cache) when
    /// first called.
    Described,
}

/// What a component said about itself, stored beside its compiled form:
/// a command learns every plugin's types from it and compiles only the
/// plugins it calls. Keyed by the component's digest, in the folder of the
/// engine's configuration, and tied to the host's build that wrote it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CachedDescription {
    /// The host version and contract that wrote it.
    pub host: String,
    /// Its kind.
    pub kind: crate::model::PluginKind,
    /// The exported interface, with its version.
    pub interface: String,
    /// The host interfaces it imports.
    pub imports: Vec<String>,
    /// Its `describe`, as it said it (checked again when read).
    pub description: crate::plugin::PluginDescription,
}

impl CachedDescription {
    /// This build's mark.
    pub fn host() -> String {
        format!(
            "{} {} {}",
            env!("CARGO_PKG_VERSION"),
            env!("CW_CONTRACT"),
            env!("CW_WASMTIME_VERSION")
        )
    }
}

/// Why the cache could not be used. Compilation errors are not cache errors.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The component does not compile.
    #[error("{0}")]
    Compile(String),
}

/// A cache directory for one engine configuration.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    /// The default cache root: `$CW_CACHE_DIR`, else `$XDG_CACHE_HOME/clockwork/wasm`,
    /// else `~/.cache/clockwork/wasm`.
    pub fn default_root() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("CW_CACHE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("clockwork").join("wasm"))
    }

    /// The cache under `root` for `engine`'s configuration.
    pub fn new(root: &Path, engine: &PluginEngine) -> Self {
        ComponentCache {
            dir: root.join(engine.artifact_key()),
        }
    }

    /// The directory holding this configuration's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.cwasm"))
    }

    /// Loads the compiled form of `wasm` (whose SHA-256 is `digest`), or
    /// compiles it and stores the result.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        digest: &str,
    ) -> Result<(Component, CacheOutcome), CacheError> {
        let path = self.entry(digest);
        let outcome = match fs::read(&path) {
            Ok(bytes) => match self.deserialize(engine, &bytes) {
                Ok(component) => {
                    touch(&path);
                    return Ok((component, CacheOutcome::Hit));
                }
                Err(reason) => CacheOutcome::Rebuilt(reason),
            },
            Err(_) => CacheOutcome::Compiled,
        };
        let artifact = engine
            .precompile_component(wasm)
            .map_err(|e| CacheError::Compile(format!("{e:#}")))?;
        // SAFETY: the bytes were produced just now by this engine's own
        // `precompile_component`, which is exactly what `deserialize` requires.
        let component = unsafe { Component::deserialize(engine, &artifact) }
            .map_err(|e| CacheError::Compile(format!("{e:#}")))?;
        // A cache that cannot be written costs only speed; the component is fine.
        if self.store(&path, &artifact).is_ok() {
            self.evict();
        }
        Ok((component, outcome))
    }

    fn description_entry(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}.describe.json"))
    }

    /// What `describe` said about the component whose SHA-256 is `digest`,
    /// when this build of the host stored it.
    pub fn description(&self, digest: &str) -> Option<CachedDescription> {
        let path = self.description_entry(digest);
        let bytes = fs::read(&path).ok()?;
        let cached: CachedDescription = serde_json::from_slice(&bytes).ok()?;
        if cached.host != CachedDescription::host() {
            return None;
        }
        // A plugin described but never called (as by `status`) is still
        // in use: eviction, oldest first, should not take it (or its
        // compiled form, which its first call needs) first.
        touch(&path);
        touch(&self.entry(digest));
        Some(cached)
    }

    /// Keeps a component's description beside its compiled form. A cache
    /// that cannot be written costs only speed.
    pub fn store_description(&self, digest: &str, description: &CachedDescription) {
        let Ok(json) = serde_json::to_vec(description) else {
            return;
        };
        let path = self.description_entry(digest);
        let written = create_private_dir(&self.dir).and_then(|()| {
            let (tmp, mut file) = tempfile_in(&self.dir)?;
            file.write_all(&json)
                .and_then(|()| file.sync_all())
                .and_then(|()| fs::rename(&tmp, &path))
                .inspect_err(|_| {
                    let _ = fs::remove_file(&tmp);
                })
        });
        if written.is_ok() {
            touch(&path);
        }
    }

    fn deserialize(&self, engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
        if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
            return Err("cache entry has no valid header".into());
        }
        let (header, artifact) = bytes.split_at(HEADER_LEN);
        if Sha256::digest(artifact).as_slice() != &header[MAGIC.len()..] {
            return Err("cache entry does not match its digest (corrupt or truncated)".into());
        }
        // SAFETY: `deserialize` trusts its input to be an artifact from a
        // compatible engine. The digest check above proves these bytes are
        // exactly what this process family wrote with `precompile_component`
        // into a directory keyed by this engine's compatibility hash; wasmtime
        // additionally checks its own header and version.
        unsafe { Component::deserialize(engine, artifact) }
            .map_err(|e| format!("wasmtime refused the cache entry: {e}"))
    }

    fn store(&self, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let mut tmp = tempfile_in(&self.dir)?;
        tmp.1.write_all(MAGIC)?;
        tmp.1.write_all(&Sha256::digest(artifact))?;
        tmp.1.write_all(artifact)?;
        tmp.1.sync_all()?;
        drop(tmp.1);
        fs::rename(&tmp.0, path).inspect_err(|_| {
            let _ = fs::remove_file(&tmp.0);
        })
    }

    /// Removes the least recently used entries until the cache fits its cap.
    fn evict(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        if total <= MAX_CACHE_BYTES {
            return;
        }
        files.sort();
        for (_, size, path) in files {
            if total <= MAX_CACHE_BYTES {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= size;
            }
        }
    }

    /// Deletes every cached artifact, of every configuration, under `root`.
    pub fn clear(root: &Path) -> std::io::Result<()> {
        match fs::remove_dir_all(root) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn touch(path: &Path) {
    let Ok(file) = fs::File::options().append(true).open(path) else {
        return;
    };
    let stale = file
        .metadata()
        .and_then(|m| m.modified())
        .map(|t| t.elapsed().unwrap_or_default() > TOUCH_AFTER)
        .unwrap_or(false);
    if stale {
        let _ = file.set_modified(SystemTime::now());
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    for attempt in 0..16u32 {
        let path = dir.join(format!(".tmp-{}-{}-{attempt}", std::process::id(), nanos()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other(
        "cannot create a temporary file in the cache",
    ))
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
