//! The test-only plugins of `host/tests/fixtures`, built once per run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::stack::workspace;

/// cargo, without the outer build's settings (they are for the host).
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

fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"))
            .join("fixtures");
        let status = cargo()
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--manifest-path",
            ])
            .arg(workspace().join("host/tests/fixtures/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the fixture plugins failed");
        target.join("wasm32-wasip2").join("release")
    })
}

/// The component of fixture `name`, e.g. `fixture("overreaching-resource")`.
pub fn fixture(name: &str) -> PathBuf {
    let path = built().join(format!("fixture_{}.wasm", name.replace('-', "_")));
    assert!(path.exists(), "fixture {} was not built", path.display());
    path
}
