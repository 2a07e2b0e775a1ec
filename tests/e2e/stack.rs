//! A Clockwork project in a temporary folder, driven through the real CLI
//! (`clockwork-under-test`), and read back through the `docker` CLI by the
//! project label. Dropping it destroys whatever the project still owns.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::docker::{docker, docker_ok};

/// The label Clockwork stamps with the project name.
pub const PROJECT_LABEL: &str = "dev.clockwork.project";

/// One project. Its folder name (and so its project name) is fixed per
/// test, so objects a crashed earlier run left behind are this project's
/// and are adopted or removed rather than clashing.
pub struct Stack {
    _root: tempfile::TempDir,
    pub dir: PathBuf,
    pub project: String,
}

/// One container of the project, as `docker ps` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub name: String,
    pub id: String,
    pub running: bool,
}

/// The repository's root.
/// Copies the folder `from` into `to`, subfolders included, leaving out a
/// `.clockwork/` state folder a run there may have left.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("entry");
        let kind = entry.file_type().expect("type");
        let target = to.join(entry.file_name());
        if kind.is_file() {
            std::fs::copy(entry.path(), &target).expect("copy");
        } else if kind.is_dir() && entry.file_name() != ".clockwork" {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        }
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// Cargo's target directory of this build.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

impl Stack {
    /// An empty project folder named `name`.
    pub fn new(name: &str) -> Stack {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join(name);
        std::fs::create_dir_all(dir.join("plugins")).expect("mkdir");
        std::fs::create_dir_all(root.path().join("data")).expect("mkdir");
        let stack = Stack {
            _root: root,
            dir,
            project: name.to_string(),
        };
        stack.purge();
        stack
    }

    /// An empty project folder `name` inside `parent` (which the caller
    /// keeps), for projects that share a name in different folders.
    pub fn inside(parent: &Path, name: &str) -> Stack {
        let root = tempfile::tempdir_in(parent).expect("temp dir");
        let dir = root.path().join(name);
        std::fs::create_dir_all(dir.join("plugins")).expect("mkdir");
        std::fs::create_dir_all(root.path().join("data")).expect("mkdir");
        Stack {
            _root: root,
            dir,
            project: name.to_string(),
        }
    }

    /// The project id Clockwork gave this folder, read off one of its objects.
    pub fn project_id(&self) -> String {
        docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &self.filter(),
            "--filter",
            &format!(
                "label=dev.clockwork.project-dir={}",
                self.dir.canonicalize().expect("dir").display()
            ),
            "--format",
            "{{.Label \"dev.clockwork.project-id\"}}",
        ])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
    }

    /// A copy of `examples/<example>` named `name`.
    pub fn example(example: &str, name: &str) -> Stack {
        let stack = Stack::new(name);
        copy_dir(&workspace().join("examples").join(example), &stack.dir);
        stack
    }

    /// Writes a project file.
    pub fn write(&self, relative: &str, content: &str) {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, content).expect("write");
    }

    /// The CLI, ready to run in this project.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clockwork-under-test"));
        command
            .args(["-C"])
            .arg(&self.dir)
            .args(args)
            .env(
                "XDG_DATA_HOME",
                self.dir.parent().expect("root").join("data"),
            )
            .env("CW_CACHE_DIR", target_dir().join("test-plugin-cache"))
            .env_remove("CW_PARALLELISM");
        command
    }

    /// Runs the CLI to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("clockwork runs");
        Run::from(output)
    }

    /// Runs the CLI, asserting it succeeds.
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        assert_eq!(
            run.code, 0,
            "clockwork {args:?} failed\n{}\n{}",
            run.stdout, run.stderr
        );
        run
    }

    /// Starts the CLI without waiting.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("clockwork starts")
    }

    fn filter(&self) -> String {
        format!("label={PROJECT_LABEL}={}", self.project)
    }

    /// The project's containers, by name.
    pub fn containers(&self) -> Vec<Container> {
        let out = docker_ok(&[
            "ps",
            "-a",
            "--filter",
            &self.filter(),
            "--format",
            "{{.Names}} {{.ID}} {{.State}}",
        ]);
        let mut all: Vec<Container> = out
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                Some(Container {
                    name: parts.next()?.to_string(),
                    id: parts.next()?.to_string(),
                    running: parts.next()? == "running",
                })
            })
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// The running container named `name`'s short id.
    pub fn id_of(&self, name: &str) -> String {
        self.containers()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no container {name} in {:?}", self.containers()))
            .id
    }

    /// The project's networks and volumes.
    pub fn networks_and_volumes(&self) -> (Vec<String>, Vec<String>) {
        let list = |kind: &str| {
            docker_ok(&[kind, "ls", "-q", "--filter", &self.filter()])
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        (list("network"), list("volume"))
    }

    /// `docker inspect` of one object, as JSON.
    /// The environment of container `name`, as `KEY=value` lines.
    pub fn env_of(&self, name: &str) -> Vec<String> {
        self.inspect(name)["Config"]["Env"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// `docker inspect` of one object, or `None` while it does not exist:
    /// for waits that span a heal, where the object is removed and made
    /// again and may be absent at the moment of a look.
    pub fn inspect_if_present(&self, name: &str) -> Option<Value> {
        let out = docker(&["inspect", name]);
        if !out.status.success() {
            return None;
        }
        let all: Value = serde_json::from_slice(&out.stdout).ok()?;
        Some(all[0].clone())
    }

    pub fn inspect(&self, name: &str) -> Value {
        let text = docker_ok(&["inspect", name]);
        let all: Value = serde_json::from_str(&text).expect("inspect is JSON");
        all[0].clone()
    }

    /// The recorded state.
    pub fn state(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join(".clockwork/state.json"))
            .expect("state.json exists");
        serde_json::from_str(&text).expect("state.json is JSON")
    }

    /// Removes every object carrying this project's label.
    fn purge(&self) {
        let filter = self.filter();
        for id in docker_ok(&["ps", "-aq", "--filter", &filter]).lines() {
            docker(&["rm", "-f", "-v", id]);
        }
        for kind in ["network", "volume"] {
            for id in docker_ok(&[kind, "ls", "-q", "--filter", &filter]).lines() {
                docker(&[kind, "rm", id]);
            }
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.purge();
    }
}

/// A finished CLI run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// stdout and stderr together, for messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}
