//! Executing one action, after checking it against [`crate::policy`].

use std::sync::Mutex;
use std::time::Duration;

use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, FileSpec, NetworkSpec, VolumeSpec, WaitSpec,
};
use serde_json::{Value as Json, json};

use crate::docker::{Engine, EngineError};
use crate::plugin::bindings::types::Action;
use crate::policy::{Scope, check, check_file_ownership, parse, relative};
use crate::project::{Entry, ProjectDir};
use crate::state::{FileRecord, State, sha256_hex};

/// What executing actions needs.
pub struct Actor<'a> {
    /// The Engine, when one answers.
    pub engine: Option<&'a Engine>,
    /// The project folder.
    pub files: &'a ProjectDir,
    /// The state, for the record of written files.
    pub state: &'a Mutex<State>,
    /// How long a container may take to stop before it is killed.
    pub grace: Duration,
}

impl Actor<'_> {
    fn engine(&self) -> Result<&Engine, String> {
        self.engine
            .ok_or_else(|| "this action needs a Docker Engine, and none answers".to_string())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one action of `scope`, after checking it against policy.
    pub async fn act(&self, scope: &Scope, action: &Action) -> Result<Json, String> {
        check(self.files, scope, action).map_err(|e| format!("refused by policy: {e}"))?;
        let engine_error = |e: EngineError| e.to_string();
        match action {
            Action::EnsureImage(spec) => {
                let v: Json = parse("ensure-image", spec)?;
                let image = v["image"].as_str().ok_or("ensure-image needs `image`")?;
                self.engine()?
                    .ensure_image(image)
                    .await
                    .map_err(engine_error)
            }
            Action::EnsureNetwork(spec) => self
                .engine()?
                .ensure_network(&parse::<NetworkSpec>("ensure-network", spec)?)
                .await
                .map_err(engine_error),
            Action::EnsureVolume(spec) => self
                .engine()?
                .ensure_volume(&parse::<VolumeSpec>("ensure-volume", spec)?)
                .await
                .map_err(engine_error),
            Action::EnsureContainer(spec) => {
                let spec: ContainerSpec = parse("ensure-container", spec)?;
                self.engine()?
                    .ensure_container(scope, &spec, self.grace)
                    .await
                    .map_err(engine_error)
            }
            Action::RemoveContainer(name) => self
                .engine()?
                .remove_container(&scope.resource, name, self.grace)
                .await
                .map_err(engine_error),
            Action::RemoveNetwork(name) => self
                .engine()?
                .remove_network(name)
                .await
                .map_err(engine_error)
                .map(|()| json!({})),
            Action::RemoveVolume(name) => self
                .engine()?
                .remove_volume(name)
                .await
                .map_err(engine_error)
                .map(|()| json!({})),
            Action::WriteFile(spec) => {
                self.write_file(scope, &parse::<FileSpec>("write-file", spec)?)
            }
            Action::RemovePath(path) => self.remove_path(scope, path),
            Action::Exec(spec) => {
                let spec: ExecSpec = parse("exec", spec)?;
                let out = self
                    .engine()?
                    .exec(&spec, &scope.containers)
                    .await
                    .map_err(engine_error)?;
                if out.code == 0 {
                    Ok(json!({"exit_code": 0}))
                } else {
                    Err(format!(
                        "`{}` in `{}` exited with code {}: {}",
                        spec.argv.join(" "),
                        spec.container,
                        out.code,
                        out.output.trim()
                    ))
                }
            }
            Action::Wait(spec) => self
                .engine()?
                .wait(&parse::<WaitSpec>("wait", spec)?, &scope.containers)
                .await
                .map_err(engine_error),
            Action::Ext((driver, op, _)) => Err(format!(
                "no `{driver}` driver in this version of Clockwork (asked for `{op}`)"
            )),
        }
    }

    /// Writes a file atomically inside the project folder, if it is this
    /// resource's to write, and records it with its content hash.
    fn write_file(&self, scope: &Scope, spec: &FileSpec) -> Result<Json, String> {
        let rel = relative(&spec.path)?;
        let key = rel.display().to_string();
        let mode = u32::from_str_radix(&spec.mode, 8)
            .map_err(|_| format!("`{}` is not an octal mode", spec.mode))?;
        let mut state = self.state();
        check_file_ownership(self.files, &state, scope, &spec.path)?;
        self.files
            .write_atomic(&rel, spec.content.as_bytes(), mode)
            .map_err(|e| format!("cannot write `{key}`: {e}"))?;
        state.files.insert(
            key.clone(),
            FileRecord {
                resource: scope.resource.clone(),
                sha256: sha256_hex(spec.content.as_bytes()),
            },
        );
        Ok(json!({"path": key, "bytes": spec.content.len()}))
    }

    /// Removes a file this resource wrote, unless it was changed since:
    /// then it is kept, and the result says why.
    fn remove_path(&self, scope: &Scope, path: &str) -> Result<Json, String> {
        let rel = relative(path)?;
        let key = rel.display().to_string();
        let mut state = self.state();
        let record = state.files.get(&key).cloned();
        let kept = |why: &str| {
            Ok(json!({"removed": false, "kept": format!("`{key}` {why}; it was left in place")}))
        };
        let Some(record) = record.filter(|r| r.resource == scope.resource) else {
            return kept("was not written by Clockwork for this resource");
        };
        let current = match self.files.entry(&rel).map_err(|e| e.to_string())? {
            Entry::Missing => {
                state.files.remove(&key);
                return Ok(json!({"removed": false}));
            }
            Entry::File(_) => sha256_hex(&self.files.read(&rel).map_err(|e| e.to_string())?),
            _ => return kept("is no longer a regular file"),
        };
        state.files.remove(&key);
        if current != record.sha256 {
            return kept("was changed by hand since Clockwork wrote it");
        }
        self.files
            .remove_file(&rel)
            .map_err(|e| format!("cannot remove `{key}`: {e}"))?;
        Ok(json!({"removed": true}))
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

    fn write(path: &str, content: &str) -> Action {
        Action::WriteFile(json!({"path": path, "content": content, "mode": "600"}).to_string())
    }

    #[test]
    fn only_files_clockwork_wrote_are_overwritten_or_removed() {
        let (tmp, files) = project();
        let state = Mutex::new(State {
            version: crate::state::VERSION,
            project: "p".into(),
            project_id: None,
            adopted: Vec::new(),
            resources: Default::default(),
            setup: Default::default(),
            files: Default::default(),
            unknown: Default::default(),
        });
        let actor = Actor {
            engine: None,
            files: &files,
            state: &state,
            grace: Duration::ZERO,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let act = |scope: &Scope, action: Action| rt.block_on(actor.act(scope, &action));
        let notes = Scope::of("notes", "FileResource");
        let other = Scope::of("other", "FileResource");

        std::fs::write(tmp.path().join("mine.txt"), "the user's").unwrap();
        let refused = act(&notes, write("mine.txt", "x")).unwrap_err();
        assert!(
            refused.contains("was not written by Clockwork"),
            "{refused}"
        );
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("mine.txt")).unwrap(),
            "the user's"
        );
        let kept = act(&notes, Action::RemovePath("mine.txt".into())).unwrap();
        assert_eq!(kept["removed"], false);
        assert!(tmp.path().join("mine.txt").exists());

        act(&notes, write("out/a.txt", "one")).unwrap();
        act(&notes, write("out/a.txt", "two")).unwrap();
        assert!(
            act(&other, write("out/a.txt", "three"))
                .unwrap_err()
                .contains("was written by `notes`")
        );
        std::fs::write(tmp.path().join("out/a.txt"), "edited").unwrap();
        assert!(
            act(&notes, write("out/a.txt", "four"))
                .unwrap_err()
                .contains("changed by hand")
        );
        let kept = act(&notes, Action::RemovePath("out/a.txt".into())).unwrap();
        assert_eq!(kept["removed"], false, "{kept}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("out/a.txt")).unwrap(),
            "edited"
        );

        let forced = Scope {
            overwrite: true,
            ..Scope::of("notes", "FileResource")
        };
        act(&forced, write("mine.txt", "replaced")).unwrap();
        assert_eq!(
            act(&notes, Action::RemovePath("mine.txt".into())).unwrap()["removed"],
            true
        );
        assert!(!tmp.path().join("mine.txt").exists());
    }
}
