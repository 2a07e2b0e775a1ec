//! The host's `git` driver, for the `ext("git", …)` actions a
//! `GitRepoResource` plans: `sync` clones a repository into the project, or
//! updates a clone it made when the remote moved (never over local
//! changes); `remove` deletes a clone it made, and only a clean one. `git`
//! runs without a shell, without prompts and with a deadline.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::project::{GitConfig, PathError, ProjectDir};

use super::DriverError;

/// The file inside `.git` that marks a clone as made by this project: only
/// such a clone is ever updated or removed.
const MARK: &str = "clockwork-clone";

/// Why the `git` driver refused or failed an action; a source of
/// [`DriverError::Git`].
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GitError {
    /// A URL git would take for an option.
    #[error("the repository URL `{url}` starts with `-`, which git would read as an option")]
    #[diagnostic(code("clockwork::git::option_url"))]
    OptionUrl {
        /// The URL.
        url: String,
    },
    /// A repository on this machine, outside the project, not allowed.
    #[error(
        "`{url}` is a repository on this machine outside the project folder; allow such clones with `[git] allow_local_urls = true` in clockwork.toml"
    )]
    #[diagnostic(code("clockwork::git::local_url"))]
    LocalUrl {
        /// The URL.
        url: String,
    },
    /// `git` ran past its deadline.
    #[error("`git {command}` did not finish within {seconds} s ([git] timeout_seconds)")]
    #[diagnostic(code("clockwork::git::timeout"))]
    Timeout {
        /// The git command, e.g. `clone`.
        command: String,
        /// The deadline.
        seconds: u64,
    },
    /// `git` could not be started.
    #[error("cannot run git: {0} (is git installed?)")]
    #[diagnostic(code("clockwork::git::missing"))]
    NotInstalled(std::io::Error),
    /// `git` ran and failed.
    #[error("`git {command}` failed: {stderr}")]
    #[diagnostic(code("clockwork::git::failed"))]
    Failed {
        /// The git command, e.g. `clone`.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// `dest` is no path of the project.
    #[error("`dest`: {0}")]
    #[diagnostic(code("clockwork::git::dest"))]
    Dest(PathError),
    /// `dest` is a folder Clockwork protects.
    #[error("`dest` `{dest}` is {what}; clone somewhere else")]
    #[diagnostic(code("clockwork::git::dest"))]
    ProtectedDest {
        /// The folder asked for.
        dest: String,
        /// What it is, e.g. inside Clockwork's state folder.
        what: &'static str,
    },
    /// The folder above the clone could not be made.
    #[error("cannot make `{}`: {error}", path.display())]
    #[diagnostic(code("clockwork::git::files"))]
    MakeFolder {
        /// The folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The mark of a clone this project made could not be written.
    #[error("cannot mark the clone: {0}")]
    #[diagnostic(code("clockwork::git::files"))]
    Mark(std::io::Error),
    /// `dest` holds something this project did not clone.
    #[error(
        "`{dest}` exists and is not a clone this project made: Clockwork does not clone over it or change it; move it, or choose another `dest`"
    )]
    #[diagnostic(code("clockwork::git::not_ours"))]
    NotOurs {
        /// The folder.
        dest: String,
    },
    /// `dest` is a clone of another repository.
    #[error("`{dest}` is a clone of `{origin}`, not of `{url}`")]
    #[diagnostic(code("clockwork::git::other_origin"))]
    OtherOrigin {
        /// The folder.
        dest: String,
        /// The repository it was cloned from.
        origin: String,
        /// The repository asked for.
        url: String,
    },
    /// A clean clone could not be removed.
    #[error("cannot remove `{dest}`: {error}")]
    #[diagnostic(code("clockwork::git::files"))]
    Remove {
        /// The folder.
        dest: String,
        /// Why.
        error: PathError,
    },
}

/// The driver's name in `ext` actions.
const DRIVER: &str = "git";

/// `payload` as the payload of `op`.
fn parse_payload<T: serde::de::DeserializeOwned>(
    op: &'static str,
    payload: &str,
) -> Result<T, DriverError> {
    serde_json::from_str(payload).map_err(|e| DriverError::Payload {
        driver: DRIVER,
        op,
        message: e.to_string(),
    })
}

/// What `sync` is given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// The repository.
    pub repo_url: String,
    /// The folder, relative to the project.
    pub dest: String,
    /// A branch, tag or commit; the remote's default when `None`.
    #[serde(default)]
    pub branch: Option<String>,
    /// Whether an existing clone is updated.
    #[serde(default)]
    pub pull: bool,
}

/// What `remove` is given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remove {
    /// The folder, relative to the project.
    pub dest: String,
}

/// The `git` driver.
pub(super) struct GitDriver;

impl super::Driver for GitDriver {
    fn name(&self) -> &'static str {
        DRIVER
    }

    fn check(
        &self,
        files: &ProjectDir,
        _scope: &crate::policy::Scope,
        op: &str,
        payload: &str,
    ) -> Result<(), crate::policy::Denial> {
        check(files, op, payload).map_err(|e| crate::policy::Denial::Path(e.to_string()))
    }

    fn run<'a>(
        &'a self,
        cx: &'a super::DriverContext<'a>,
        op: &'a str,
        payload: &'a str,
    ) -> super::Running<'a> {
        Box::pin(run(cx.files, cx.project_id, op, payload))
    }

    /// A removed clone is the user's files.
    fn removes_files(&self, op: &str) -> bool {
        op == "remove"
    }
}

/// Runs `op` with `payload`.
pub async fn run(
    files: &ProjectDir,
    project_id: &str,
    op: &str,
    payload: &str,
) -> Result<Json, DriverError> {
    let config = config(files);
    match op {
        "sync" => Ok(sync(files, project_id, &config, &parse_payload("sync", payload)?).await?),
        "remove" => Ok(remove(
            files,
            project_id,
            &config,
            &parse_payload("remove", payload)?,
        )
        .await?),
        other => Err(DriverError::NoOperation {
            driver: DRIVER,
            op: other.to_string(),
        }),
    }
}

/// What policy says of an action before anything runs (at `plan`): the
/// URL may be cloned, and `dest` is a folder of the project that is not
/// the project's own.
pub fn check(files: &ProjectDir, op: &str, payload: &str) -> Result<(), DriverError> {
    match op {
        "sync" => {
            let spec: Sync = parse_payload("sync", payload)?;
            check_url(files, &config(files), &spec.repo_url)?;
            dest_of(files, &spec.dest)?;
            Ok(())
        }
        "remove" => {
            let spec: Remove = parse_payload("remove", payload)?;
            dest_of(files, &spec.dest)?;
            Ok(())
        }
        other => Err(DriverError::NoOperation {
            driver: DRIVER,
            op: other.to_string(),
        }),
    }
}

/// `[git]` of `clockwork.toml`, read when an action runs.
fn config(files: &ProjectDir) -> GitConfig {
    files
        .read(Path::new(crate::project::CONFIG_FILE))
        .ok()
        .and_then(|b| {
            toml::from_str::<crate::project::ProjectConfig>(&String::from_utf8_lossy(&b)).ok()
        })
        .map(|c| c.git)
        .unwrap_or_default()
}

/// Whether `url` may be cloned: never one git could read as an option;
/// a repository on this machine only inside the project, unless
/// `[git] allow_local_urls = true`.
pub fn check_url(files: &ProjectDir, config: &GitConfig, url: &str) -> Result<(), GitError> {
    if url.starts_with('-') {
        return Err(GitError::OptionUrl { url: url.into() });
    }
    let Some(path) = local_path(files.root(), url) else {
        return Ok(());
    };
    let inside = std::fs::canonicalize(&path)
        .unwrap_or(path.clone())
        .starts_with(files.root());
    if inside || config.allow_local_urls {
        Ok(())
    } else {
        Err(GitError::LocalUrl { url: url.into() })
    }
}

/// The path of a repository on this machine (`file://…`, an absolute or a
/// relative path), or `None` for a remote one.
fn local_path(root: &Path, url: &str) -> Option<PathBuf> {
    if let Some(path) = url.strip_prefix("file://") {
        return Some(PathBuf::from(path));
    }
    if url.contains("://") {
        return None;
    }
    // `user@host:path` is ssh; a path has no `:` before its first `/`.
    if let Some(colon) = url.find(':')
        && url.find('/').is_none_or(|slash| colon < slash)
    {
        return None;
    }
    Some(if Path::new(url).is_absolute() {
        PathBuf::from(url)
    } else {
        root.join(url)
    })
}

async fn git(config: &GitConfig, cwd: &Path, args: &[&str]) -> Result<String, GitError> {
    let deadline = Duration::from_secs(config.timeout_seconds.unwrap_or(300));
    let mut command = tokio::process::Command::new("git");
    command
        .args(args)
        .current_dir(cwd)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(deadline, command.output())
        .await
        .map_err(|_| GitError::Timeout {
            command: args.first().unwrap_or(&"").to_string(),
            seconds: deadline.as_secs(),
        })?
        .map_err(GitError::NotInstalled)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(GitError::Failed {
            command: args.first().unwrap_or(&"").to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The folder `dest` names, refused when it is the project's own.
fn dest_of(files: &ProjectDir, dest: &str) -> Result<(PathBuf, PathBuf), GitError> {
    let rel = ProjectDir::relative(dest).map_err(GitError::Dest)?;
    if let Some(what) = files.protected(&rel) {
        return Err(GitError::ProtectedDest {
            dest: dest.into(),
            what,
        });
    }
    let abs = files.host_path(&rel).map_err(GitError::Dest)?;
    Ok((rel, abs))
}

fn ours(abs: &Path, project_id: &str) -> bool {
    // The clone's files are the remote's: read bounded, never a FIFO.
    crate::project::read_file_limited(&abs.join(".git").join(MARK), 4096)
        .is_ok_and(|m| String::from_utf8_lossy(&m).trim() == project_id)
}

async fn sync(
    files: &ProjectDir,
    project_id: &str,
    config: &GitConfig,
    spec: &Sync,
) -> Result<Json, GitError> {
    check_url(files, config, &spec.repo_url)?;
    let (_, abs) = dest_of(files, &spec.dest)?;
    let empty = std::fs::read_dir(&abs).map_or(true, |mut d| d.next().is_none());
    if empty {
        let parent = abs.parent().unwrap_or(files.root());
        std::fs::create_dir_all(parent).map_err(|error| GitError::MakeFolder {
            path: parent.to_path_buf(),
            error,
        })?;
        let dest = abs.display().to_string();
        let mut args = vec!["clone", "--quiet"];
        // A branch or a tag is cloned directly; a commit is checked out
        // after.
        let commit = spec.branch.as_deref().filter(|b| is_commit(b));
        if let Some(branch) = spec.branch.as_deref().filter(|_| commit.is_none()) {
            args.extend(["--branch", branch]);
        }
        args.extend(["--", &spec.repo_url, &dest]);
        git(config, files.root(), &args).await?;
        if let Some(commit) = commit {
            git(config, &abs, &["checkout", "--quiet", "--detach", commit]).await?;
        }
        std::fs::write(abs.join(".git").join(MARK), project_id).map_err(GitError::Mark)?;
        let head = git(config, &abs, &["rev-parse", "HEAD"]).await?;
        return Ok(json!({"cloned": true, "head": head}));
    }
    if !ours(&abs, project_id) {
        return Err(GitError::NotOurs {
            dest: spec.dest.clone(),
        });
    }
    let origin = git(config, &abs, &["config", "--get", "remote.origin.url"]).await?;
    if origin != spec.repo_url {
        return Err(GitError::OtherOrigin {
            dest: spec.dest.clone(),
            origin,
            url: spec.repo_url.clone(),
        });
    }
    let head = git(config, &abs, &["rev-parse", "HEAD"]).await?;
    if !spec.pull {
        return Ok(json!({"cloned": false, "head": head}));
    }
    let changes = git(config, &abs, &["status", "--porcelain"]).await?;
    if !changes.is_empty() {
        let count = changes.lines().count();
        return Ok(json!({
            "cloned": false,
            "head": head,
            "kept": format!("`{}` has local changes ({count} file{}): not updated, nothing overwritten", spec.dest, if count == 1 { "" } else { "s" }),
        }));
    }
    git(config, &abs, &["fetch", "--quiet", "--tags", "origin"]).await?;
    let wanted = match spec.branch.as_deref() {
        Some(b) if is_commit(b) => b.to_string(),
        Some(b) => {
            // A branch follows its remote; a tag is where it is.
            let remote = format!("refs/remotes/origin/{b}");
            if git(config, &abs, &["rev-parse", "--verify", "--quiet", &remote])
                .await
                .is_ok()
            {
                remote
            } else {
                format!("refs/tags/{b}")
            }
        }
        None => "refs/remotes/origin/HEAD".to_string(),
    };
    let target = git(
        config,
        &abs,
        &["rev-parse", &format!("{wanted}^{{commit}}")],
    )
    .await?;
    if target == head {
        return Ok(json!({"cloned": false, "head": head}));
    }
    // Only forward: a clone whose branch has commits of its own is kept.
    if git(
        config,
        &abs,
        &["merge-base", "--is-ancestor", &head, &target],
    )
    .await
    .is_err()
    {
        return Ok(json!({
            "cloned": false,
            "head": head,
            "kept": format!("`{}` has commits the remote does not: not updated", spec.dest),
        }));
    }
    match spec.branch.as_deref() {
        Some(b) if !is_commit(b) && wanted.starts_with("refs/remotes/") => {
            git(config, &abs, &["checkout", "--quiet", b]).await?;
            git(config, &abs, &["merge", "--quiet", "--ff-only", &target]).await?;
        }
        _ => {
            git(config, &abs, &["checkout", "--quiet", "--detach", &target]).await?;
        }
    }
    Ok(json!({"cloned": false, "head": target, "updated_from": head}))
}

fn is_commit(reference: &str) -> bool {
    (7..=40).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn remove(
    files: &ProjectDir,
    project_id: &str,
    config: &GitConfig,
    spec: &Remove,
) -> Result<Json, GitError> {
    let (rel, abs) = dest_of(files, &spec.dest)?;
    if !abs.exists() {
        return Ok(json!({"removed": false}));
    }
    if !ours(&abs, project_id) {
        return Ok(json!({
            "removed": false,
            "kept": format!("`{}` is not a clone this project made: left as it is", spec.dest),
        }));
    }
    let changes = git(config, &abs, &["status", "--porcelain"]).await?;
    if !changes.is_empty() {
        return Ok(json!({
            "removed": false,
            "kept": format!("`{}` has local changes: kept; commit or discard them, then destroy again", spec.dest),
        }));
    }
    files
        .remove_dir_all(&rel)
        .map_err(|error| GitError::Remove {
            dest: spec.dest.clone(),
            error,
        })?;
    Ok(json!({"removed": true}))
}
