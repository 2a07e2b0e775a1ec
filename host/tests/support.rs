//! Helpers shared by the integration tests: building the fixture
//! components, temporary projects, and running the real binary.

#![allow(dead_code, reason = "each test module uses a different subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};

use clockwork::{Limits, LoadedPlugin, PluginRuntime, PluginSource, RuntimeOptions};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is in the workspace")
        .to_path_buf()
}

/// The cargo target directory (`$CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// A compiled-component cache shared by the tests, so each component is
/// compiled once per target directory.
pub fn test_cache() -> PathBuf {
    target_dir().join("test-plugin-cache")
}

/// Runs cargo from a test with the outer build's settings removed.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = key == "CARGO_HOME" || key == "CARGO_TARGET_DIR";
        if (key.starts_with("CARGO_") && !keep) || key.starts_with("RUSTC_") || key == "RUSTFLAGS" {
            command.env_remove(key);
        }
    }
    command
}

/// Builds the test-only plugins once per test run and returns their folder.
pub fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace();
        let target = target_dir().join("fixtures");
        let status = cargo()
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(root.join("host/tests/fixtures/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the fixture plugins failed");
        target.join("wasm32-wasip2").join("release")
    })
}

/// The path of a fixture component, e.g. `fixture("hostile")`.
pub fn fixture(name: &str) -> PathBuf {
    let file = if name == "not-a-plugin" {
        "not-a-plugin.wasm".to_string()
    } else {
        format!("fixture_{}.wasm", name.replace('-', "_"))
    };
    let path = fixtures().join(file);
    assert!(path.exists(), "fixture {} was not built", path.display());
    path
}

/// A project folder in a temporary directory, with its own user data and
/// cache folders so tests never see the real user's plugins.
pub struct TestProject {
    pub root: tempfile::TempDir,
}

impl TestProject {
    pub fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(root.path().join("project/plugins")).expect("mkdir");
        std::fs::create_dir_all(root.path().join("data/clockwork/plugins")).expect("mkdir");
        TestProject { root }
    }

    pub fn dir(&self) -> PathBuf {
        self.root.path().join("project")
    }

    pub fn user_plugins(&self) -> PathBuf {
        self.root.path().join("data/clockwork/plugins")
    }

    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, content).expect("write");
        path
    }

    pub fn add_plugin(&self, fixture_name: &str, as_file: &str) -> PathBuf {
        let target = self.dir().join("plugins").join(as_file);
        std::fs::copy(fixture(fixture_name), &target).expect("copy fixture");
        target
    }

    /// Runs `clockwork -C <project> args…` with isolated data folders.
    pub fn clockwork(&self, args: &[&str]) -> Output {
        let project = self.dir();
        let mut full: Vec<&str> = vec!["-C", project.to_str().expect("utf-8 path")];
        full.extend_from_slice(args);
        clockwork_in(
            self.root.path(),
            &full,
            &[("XDG_DATA_HOME", self.root.path().join("data"))],
        )
    }
}

/// Runs the real binary in `cwd`, with `HOME` in a temporary folder and
/// the shared test cache.
pub fn clockwork_in(cwd: &Path, args: &[&str], env: &[(&str, PathBuf)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clockwork"));
    command
        .current_dir(cwd)
        .args(args)
        .env("HOME", cwd)
        .env("CW_CACHE_DIR", test_cache())
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("CW_NO_PLUGIN_CACHE")
        // The developer's own model settings must not reach a test.
        .env_remove("CW_BASE_URL")
        .env_remove("CW_MODEL")
        .env_remove("CW_API_KEY");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("clockwork runs")
}

/// Copies the folder `from` into `to`, subfolders included.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A runtime for library-level tests: every component compiled (or taken
/// from the cache) and described at load.
pub fn runtime(
    project_dir: Option<PathBuf>,
    limits: Option<Limits>,
    cache: Option<PathBuf>,
) -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions {
        cache_root: cache,
        project_dir,
        limits,
        log_sink: None,
        defer_compile: false,
    })
    .expect("runtime starts")
}

/// A runtime as the CLI has it: plugins described from the cache, compiled
/// when first called.
pub fn deferring_runtime(cache: PathBuf) -> PluginRuntime {
    PluginRuntime::new(RuntimeOptions {
        cache_root: Some(cache),
        defer_compile: true,
        ..Default::default()
    })
    .expect("runtime starts")
}

/// Loads a component file as a project plugin.
pub async fn load(runtime: &PluginRuntime, path: &Path) -> LoadedPlugin {
    let wasm: Arc<[u8]> = Arc::from(std::fs::read(path).expect("read component"));
    runtime
        .load(
            PluginSource::Project,
            Some(path.to_path_buf()),
            path.display().to_string(),
            wasm,
        )
        .await
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()))
}
