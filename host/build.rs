//! Builds every crate under `plugins/` for `wasm32-wasip2` and embeds the
//! components, so `cargo build` alone yields a self-contained `clockwork`.
//!
//! The plugins are built by a nested `cargo build` into their own target
//! directory (`plugins/` under the target directory, or
//! `$CW_PLUGIN_TARGET_DIR`), which keeps it
//! off the outer build's lock and lets incremental rebuilds reuse it.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Shadow-stack size of the bundled plugins (Rust's default is 1 MiB).
const PLUGIN_STACK_BYTES: u32 = 128 << 10;

/// Initial linear memory of the bundled plugins: room for what one call
/// allocates, so that a call never grows memory and the slot it ran in is
/// handed to the next call as it is. Memory grown in a call is made
/// inaccessible again when its slot is reused — an `mprotect` and a TLB
/// shootdown across every core, once per call. Pages never touched cost
/// nothing, and the pool keeps this much resident.
const PLUGIN_INITIAL_MEMORY_BYTES: u32 = 2 << 20;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ lives in the workspace root")
        .to_path_buf();
    for watched in ["plugins", "sdk", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    // The versions `--version` and the cache layout name, read from where
    // they are decided, so neither can drift from a literal.
    println!(
        "cargo:rustc-env=CW_WASMTIME_VERSION={}",
        locked_version(&root.join("Cargo.lock"), "wasmtime")
    );
    println!(
        "cargo:rustc-env=CW_CONTRACT={}",
        wit_package(&root.join("wit/worlds.wit"))
    );
    println!("cargo:rerun-if-env-changed=CW_PLUGIN_TARGET_DIR");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let plugins = plugin_crates(&root.join("plugins"));
    let target_dir = env::var_os("CW_PLUGIN_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("plugins")
        });

    if !plugins.is_empty() {
        build_plugins(&root, &target_dir, &plugins);
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut source = String::from("pub static BUNDLED: &[BundledPlugin] = &[\n");
    for name in &plugins {
        let wasm = target_dir
            .join("wasm32-wasip2")
            .join("plugin")
            .join(format!("clockwork_plugin_{}.wasm", name.replace('-', "_")));
        if !wasm.exists() {
            panic!(
                "plugin `{name}` was built but {} is missing",
                wasm.display()
            );
        }
        // The digest keys the compiled-component cache; computed here, each
        // run of `clockwork` is spared hashing every bundled component. The
        // bytes included are a copy only this script writes, so that they
        // are the digest's even if the plugin target is rebuilt by another.
        let bytes = std::fs::read(&wasm).expect("the plugin was just built");
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let copy = out_dir.join(format!("{name}.wasm"));
        std::fs::write(&copy, &bytes).expect("OUT_DIR is writable");
        writeln!(
            source,
            "    BundledPlugin {{ name: {name:?}, digest: {digest:?}, wasm: include_bytes!({:?}) }},",
            copy.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    source.push_str("];\n");
    std::fs::write(out_dir.join("bundled_plugins.rs"), source).expect("OUT_DIR is writable");
}

/// Directory names of the plugin crates, sorted.
fn plugin_crates(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

fn build_plugins(root: &Path, target_dir: &Path, plugins: &[String]) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "plugin",
            "--target-dir",
        ])
        .arg(target_dir)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"));
    for name in plugins {
        command.args(["-p", &format!("clockwork-plugin-{name}")]);
    }
    // The outer build's settings (its target, flags, clippy's wrapper) must
    // not leak into the plugins' build.
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = key == "CARGO_HOME"
            || key.starts_with("CARGO_NET_")
            || key.starts_with("CARGO_HTTP_")
            || key.starts_with("CARGO_REGISTRIES_");
        let outer = (key.starts_with("CARGO_") && !keep)
            || key.starts_with("__CARGO")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTDOCFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CLIPPY_ARGS"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "RUSTC_LINKER"
            );
        if outer {
            command.env_remove(key);
        }
    }
    // A small shadow stack keeps the memory a call touches small, which is
    // most of the cost of a call in a fresh instance (page faults, resets).
    command.env(
        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
        format!(
            "-Clink-arg=-zstack-size={PLUGIN_STACK_BYTES} \
             -Clink-arg=--initial-memory={PLUGIN_INITIAL_MEMORY_BYTES}"
        ),
    );
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the bundled plugins: {e}"));
    if !status.success() {
        panic!(
            "building the bundled plugins for wasm32-wasip2 failed (see the cargo output above). \
             If the target is missing, run `rustup target add wasm32-wasip2`."
        );
    }
}

/// The version of `crate` in `Cargo.lock`.
fn locked_version(lock: &Path, krate: &str) -> String {
    let text = std::fs::read_to_string(lock).expect("Cargo.lock is readable");
    let wanted = format!("name = \"{krate}\"");
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return version.trim_matches('"').to_string();
        }
    }
    panic!("{krate} is not in Cargo.lock");
}

/// The `package` of a WIT file, e.g. `clockwork:plugin@0.1.0`.
fn wit_package(file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("the WIT is readable");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map(|p| p.trim_end_matches(';').trim().to_string())
        .expect("the WIT names its package")
}
