//! Executing one action, after checking it against [`crate::policy`].

use std::sync::Mutex;
use std::time::Duration;

use clockwork_schema::actions::{
    ContainerSpec, ExecSpec, FileSpec, NetworkSpec, VolumeSpec, WaitSpec,
};
use serde_json::{Value as Json, json};

use crate::docker::{ContainerEngine, EngineError};
use crate::driver::{DriverContext, Drivers};
use crate::plugin::bindings::types::Action;
use crate::policy::{Denial, Scope, check, check_file_ownership, parse, relative};
use crate::project::{Entry, ProjectDir};
use crate::state::{FileRecord, State, Written, sha256_hex};

/// Why an action failed; said in its resource's outcome, never past the
/// apply stage.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ActionError {
    /// The policy refuses it; checked at `plan` too, so this means the
    /// world changed in between.
    #[error("refused by policy: {0}; {fix}", fix = .0.fix())]
    #[diagnostic(code("clockwork::policy"))]
    Denied(#[from] Denial),
    /// It needs a Docker Engine.
    #[error("this action needs a Docker Engine, and none answers")]
    #[diagnostic(code("clockwork::engine::unreachable"))]
    NoEngine,
    /// The Engine failed it.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] EngineError),
    /// A command ran and failed.
    #[error("{command} in `{container}` exited with code {code}: {output}")]
    #[diagnostic(code("clockwork::apply::command_failed"))]
    CommandFailed {
        /// The command line, quoted, or what the plugin called it.
        command: String,
        /// The container it ran in.
        container: String,
        /// Its exit code.
        code: i64,
        /// What it printed.
        output: String,
    },
    /// A host driver (`git`) failed, or there is none of that name.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Driver(#[from] crate::driver::DriverError),
    /// A project file could not be written or removed.
    #[error("cannot {verb} `{path}`: {source}")]
    #[diagnostic(code("clockwork::apply::file"))]
    File {
        /// `write` or `remove`.
        verb: &'static str,
        /// The path.
        path: String,
        /// Why.
        source: crate::project::PathError,
    },
}

/// What executing actions needs.
pub struct Actor<'a> {
    /// The Engine, when one answers.
    pub engine: Option<&'a dyn ContainerEngine>,
    /// The project folder.
    pub files: &'a ProjectDir,
    /// The state, for the record of written files.
    pub state: &'a Mutex<State>,
    /// How long a container may take to stop before it is killed.
    pub grace: Duration,
    /// The project's id, which marks what a driver made for it.
    pub project_id: String,
    /// Who runs and checks `ext` actions.
    pub drivers: &'a Drivers,
}

impl<'a> Actor<'a> {
    fn engine(&self) -> Result<&'a dyn ContainerEngine, ActionError> {
        self.engine.ok_or(ActionError::NoEngine)
    }

    /// Whether `actions[index]` removes a container that the next action
    /// makes again by the same name, on an Engine that changes it in place
    /// instead: the removal is left to that change.
    pub fn replaced_in_place(&self, actions: &[Action], index: usize) -> bool {
        let (Some(Action::RemoveContainer(name)), Some(Action::EnsureContainer(next))) =
            (actions.get(index), actions.get(index + 1))
        else {
            return false;
        };
        self.engine.is_some_and(|e| e.updates_in_place())
            && serde_json::from_str::<clockwork_schema::actions::ContainerSpec>(next)
                .is_ok_and(|spec| spec.name == *name)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one action of `scope`, after checking it against policy.
    pub async fn act(&self, scope: &Scope, action: &Action) -> Result<Json, ActionError> {
        check(self.files, scope, action, self.drivers)?;
        let engine = || self.engine();
        Ok(match action {
            Action::EnsureImage(spec) => {
                let v: Json = parse("ensure-image", spec)?;
                let image = v["image"].as_str().ok_or(Denial::Payload {
                    action: "ensure-image",
                    message: "it needs `image`".into(),
                })?;
                engine()?.ensure_image(image).await?
            }
            Action::EnsureNetwork(spec) => {
                engine()?
                    .ensure_network(&parse::<NetworkSpec>("ensure-network", spec)?)
                    .await?
            }
            Action::EnsureVolume(spec) => {
                engine()?
                    .ensure_volume(&parse::<VolumeSpec>("ensure-volume", spec)?)
                    .await?
            }
            Action::EnsureContainer(spec) => {
                let spec: ContainerSpec = parse("ensure-container", spec)?;
                engine()?.ensure_container(scope, &spec, self.grace).await?
            }
            Action::RemoveContainer(name) => {
                engine()?
                    .remove_container(&scope.resource, name, self.grace)
                    .await?
            }
            Action::RemoveNetwork(name) => {
                engine()?.remove_network(name).await?;
                json!({})
            }
            Action::RemoveVolume(name) => {
                engine()?.remove_volume(name).await?;
                json!({})
            }
            Action::WriteFile(spec) => {
                self.write_file(scope, &parse::<FileSpec>("write-file", spec)?)?
            }
            Action::RemovePath(path) => self.remove_path(scope, path)?,
            Action::Exec(spec) => {
                let spec: ExecSpec = parse("exec", spec)?;
                let out = engine()?.exec(&spec, &scope.containers).await?;
                if out.code != 0 {
                    return Err(ActionError::CommandFailed {
                        command: spec
                            .label
                            .clone()
                            .unwrap_or_else(|| format!("`{}`", spec.argv.join(" "))),
                        container: spec.container,
                        code: out.code,
                        output: out.output.trim().to_string(),
                    });
                }
                json!({"exit_code": 0})
            }
            Action::Wait(spec) => {
                engine()?
                    .wait(&parse::<WaitSpec>("wait", spec)?, &scope.containers)
                    .await?
            }
            Action::Ext((driver, op, payload)) => {
                let cx = DriverContext {
                    files: self.files,
                    project_id: &self.project_id,
                };
                self.drivers.run(&cx, driver, op, payload).await?
            }
        })
    }

    /// Writes a file atomically inside the project folder, if it is this
    /// resource's to write, and records it with its content hash.
    fn write_file(&self, scope: &Scope, spec: &FileSpec) -> Result<Json, ActionError> {
        let rel = relative(&spec.path)?;
        let key = rel.display().to_string();
        let mode = u32::from_str_radix(&spec.mode, 8).map_err(|_| Denial::Mode {
            mode: spec.mode.clone(),
        })?;
        let mut state = self.state();
        check_file_ownership(self.files, &state, scope, &spec.path)?;
        self.files
            .write_atomic(&rel, spec.content.as_bytes(), mode)
            .map_err(|source| ActionError::File {
                verb: "write",
                path: key.clone(),
                source,
            })?;
        let stamp = self.files.stamp(&rel).map_err(|source| ActionError::File {
            verb: "read",
            path: key.clone(),
            source,
        })?;
        state.files.insert(
            key.clone(),
            FileRecord {
                resource: scope.resource.clone(),
                sha256: sha256_hex(spec.content.as_bytes()),
                mode: Some(format!("{mode:04o}")),
                stamp,
            },
        );
        Ok(json!({"path": key, "bytes": spec.content.len()}))
    }

    /// Removes a file this resource wrote, unless it was changed since:
    /// then it is kept, and the result says why.
    fn remove_path(&self, scope: &Scope, path: &str) -> Result<Json, ActionError> {
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
        let unreadable = |source| ActionError::File {
            verb: "read",
            path: key.clone(),
            source,
        };
        let current = match self.files.entry(&rel).map_err(unreadable)? {
            Entry::Missing => {
                state.files.remove(&key);
                return Ok(json!({"removed": false}));
            }
            Entry::File(_) => sha256_hex(&self.files.read(&rel).map_err(unreadable)?),
            _ => return kept("is no longer a regular file"),
        };
        state.files.remove(&key);
        let stamp = self.files.stamp(&rel).map_err(unreadable)?;
        match record.judge(&current, stamp, state.is_of(self.files)) {
            Written::ByClockwork => {}
            Written::Changed => return kept("was changed by hand since Clockwork wrote it"),
            // The content matches, but not the file: one a record in a
            // handed-over state describes, or a copy.
            Written::OtherFile => {
                return kept(
                    "holds what Clockwork wrote but is another file than the one it wrote (a copy, a restore, a checkout)",
                );
            }
        }
        self.files
            .remove_file(&rel)
            .map_err(|source| ActionError::File {
                verb: "remove",
                path: key.clone(),
                source,
            })?;
        Ok(json!({"removed": true}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project folder with an empty state, and an actor on it.
    struct Folder {
        tmp: tempfile::TempDir,
        files: ProjectDir,
        state: Mutex<State>,
        rt: tokio::runtime::Runtime,
    }

    impl Folder {
        fn new() -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let root = std::fs::canonicalize(tmp.path()).unwrap();
            let files = ProjectDir::open(&root).unwrap();
            let state = Mutex::new(State {
                version: crate::state::VERSION,
                project: "p".into(),
                project_id: None,
                generation: Default::default(),
                destroyed: None,
                resources: Default::default(),
                setup: Default::default(),
                files: Default::default(),
                expired: Default::default(),
                unknown: Default::default(),
            });
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            Folder {
                tmp,
                files,
                state,
                rt,
            }
        }

        fn act(&self, scope: &Scope, action: Action) -> Result<Json, ActionError> {
            let actor = Actor {
                engine: None,
                files: &self.files,
                state: &self.state,
                grace: Duration::ZERO,
                project_id: "test".into(),
                drivers: Drivers::bundled(),
            };
            self.rt.block_on(actor.act(scope, &action))
        }

        fn remove(&self, scope: &Scope, path: &str) -> Json {
            self.act(scope, Action::RemovePath(path.into())).unwrap()
        }

        /// Writes as the user would, outside Clockwork.
        fn write_by_hand(&self, path: &str, content: &str) {
            std::fs::write(self.tmp.path().join(path), content).unwrap();
        }

        fn read(&self, path: &str) -> String {
            std::fs::read_to_string(self.tmp.path().join(path)).unwrap()
        }

        fn exists(&self, path: &str) -> bool {
            self.tmp.path().join(path).exists()
        }
    }

    fn write(path: &str, content: &str) -> Action {
        Action::WriteFile(json!({"path": path, "content": content, "mode": "600"}).to_string())
    }

    fn notes() -> Scope {
        Scope::of("notes", "FileResource")
    }

    #[test]
    fn a_users_file_is_neither_overwritten_nor_removed() {
        let folder = Folder::new();
        folder.write_by_hand("mine.txt", "the user's");
        let refused = folder.act(&notes(), write("mine.txt", "x")).unwrap_err();
        assert!(
            matches!(&refused, ActionError::Denied(Denial::NotClockworks { path }) if path == "mine.txt"),
            "{refused}"
        );
        assert!(
            refused.to_string().contains("set `overwrite=True`"),
            "{refused}"
        );
        assert_eq!(folder.read("mine.txt"), "the user's");
        let kept = folder.remove(&notes(), "mine.txt");
        assert_eq!(kept["removed"], false);
        assert!(folder.exists("mine.txt"));
    }

    #[test]
    fn a_file_clockwork_wrote_is_left_alone_once_another_resource_or_a_hand_touches_it() {
        let folder = Folder::new();
        let other = Scope::of("other", "FileResource");
        folder.act(&notes(), write("out/a.txt", "one")).unwrap();
        folder.act(&notes(), write("out/a.txt", "two")).unwrap();
        assert!(matches!(
            folder.act(&other, write("out/a.txt", "three")).unwrap_err(),
            ActionError::Denied(Denial::WrittenByOther { owner, .. }) if owner == "notes"
        ));
        folder.write_by_hand("out/a.txt", "edited");
        assert!(matches!(
            folder
                .act(&notes(), write("out/a.txt", "four"))
                .unwrap_err(),
            ActionError::Denied(Denial::ChangedByHand { .. })
        ));
        let kept = folder.remove(&notes(), "out/a.txt");
        assert_eq!(kept["removed"], false, "{kept}");
        assert_eq!(folder.read("out/a.txt"), "edited");
    }

    #[test]
    fn overwrite_makes_a_users_file_clockworks_to_write_and_remove() {
        let folder = Folder::new();
        folder.write_by_hand("mine.txt", "the user's");
        let forced = Scope {
            overwrite: true,
            ..notes()
        };
        folder.act(&forced, write("mine.txt", "replaced")).unwrap();
        assert_eq!(folder.remove(&notes(), "mine.txt")["removed"], true);
        assert!(!folder.exists("mine.txt"));
    }

    /// A record of `shipped.txt` as the project ships it, with `stamp`.
    fn forged(stamp: Option<crate::project::FileStamp>) -> crate::state::FileRecord {
        crate::state::FileRecord {
            resource: "notes".into(),
            sha256: sha256_hex(b"from the repository"),
            mode: None,
            stamp,
        }
    }

    #[test]
    fn a_record_handed_over_in_a_state_file_does_not_make_a_file_clockworks() {
        let folder = Folder::new();
        folder.act(&notes(), write("out/a.txt", "one")).unwrap();
        // A record handed over in a state file: the hash of a file the
        // project ships, without the stamp only a write here gives (or
        // with another file's). Neither makes the file Clockwork's.
        folder.write_by_hand("shipped.txt", "from the repository");
        let elsewhere = folder
            .files
            .stamp(std::path::Path::new("out/a.txt"))
            .unwrap();
        for stamp in [None, elsewhere] {
            folder
                .state
                .lock()
                .unwrap()
                .files
                .insert("shipped.txt".into(), forged(stamp));
            assert!(matches!(
                folder.act(&notes(), write("shipped.txt", "x")).unwrap_err(),
                ActionError::Denied(Denial::OtherFile { .. })
            ));
            let kept = folder.remove(&notes(), "shipped.txt");
            assert_eq!(kept["removed"], false, "{kept}");
            assert_eq!(folder.read("shipped.txt"), "from the repository");
        }
    }

    #[test]
    fn a_record_from_before_stamps_in_this_folders_own_state_is_taken_at_its_content() {
        let folder = Folder::new();
        folder.write_by_hand("shipped.txt", "from the repository");
        // A record written before stamps, in this folder's own state: taken
        // at its content, and stamped when written again.
        {
            let mut state = folder.state.lock().unwrap();
            state.project_id =
                Some(crate::project::ProjectId::of_folder(folder.files.root()).to_string());
            state.files.insert("shipped.txt".into(), forged(None));
        }
        folder.act(&notes(), write("shipped.txt", "new")).unwrap();
        assert!(
            folder.state.lock().unwrap().files["shipped.txt"]
                .stamp
                .is_some()
        );
        assert_eq!(folder.remove(&notes(), "shipped.txt")["removed"], true);
    }
}
