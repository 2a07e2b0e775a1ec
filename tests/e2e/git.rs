//! `GitRepoResource` with local bare repositories (no network): a clone at
//! a branch, an update when the remote moved, local changes kept, a branch
//! that does not exist, a folder it did not clone left alone, destroy.

use std::path::Path;
use std::process::Command;

use crate::stack::Stack;

fn git(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@localhost",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare repository with `main` and `stable`, and a working copy that
/// pushes to it.
fn origin(root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let bare = root.join("origin.git");
    let work = root.join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(
        root,
        &[
            "init",
            "--quiet",
            "--bare",
            bare.to_str().unwrap_or_default(),
        ],
    );
    git(&work, &["init", "--quiet"]);
    std::fs::write(work.join("README"), "one\n").expect("write");
    git(&work, &["add", "README"]);
    git(&work, &["commit", "--quiet", "-m", "one"]);
    git(&work, &["branch", "stable"]);
    git(
        &work,
        &["remote", "add", "origin", bare.to_str().unwrap_or_default()],
    );
    git(&work, &["push", "--quiet", "origin", "main", "stable"]);
    (bare, work)
}

fn project(url: &str, branch: &str) -> String {
    format!(
        r#"
src = GitRepoResource(name = "src", repo_url = "{url}", dest = "vendor/src", branch = "{branch}")
"#
    )
}

#[test]
fn a_repository_is_cloned_updated_kept_when_changed_and_removed() {
    let outside = tempfile::tempdir().expect("temp dir");
    let (bare, work) = origin(outside.path());
    let url = bare.display().to_string();
    let stack = Stack::new("cw-e2e-git");
    stack.write("main.star", &project(&url, "main"));

    // Outside the project, a local repository needs the user's word.
    let refused = stack.run(&["plan"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.all().contains("allow_local_urls"),
        "{}",
        refused.all()
    );
    stack.write("clockwork.toml", "[git]\nallow_local_urls = true\n");

    stack.ok(&["apply", "--yes"]);
    let clone = stack.dir.join("vendor/src");
    assert_eq!(
        std::fs::read_to_string(clone.join("README")).unwrap_or_default(),
        "one\n"
    );

    // The remote moves: the next apply brings the clone forward.
    std::fs::write(work.join("README"), "two\n").expect("write");
    git(&work, &["commit", "--quiet", "-am", "two"]);
    git(&work, &["push", "--quiet", "origin", "main"]);
    stack.ok(&["apply", "--yes"]);
    assert_eq!(
        std::fs::read_to_string(clone.join("README")).unwrap_or_default(),
        "two\n"
    );
    let head = git(&clone, &["rev-parse", "HEAD"]);
    assert_eq!(head, git(&work, &["rev-parse", "HEAD"]));

    // Local changes are reported, never overwritten.
    std::fs::write(clone.join("README"), "mine\n").expect("write");
    std::fs::write(work.join("README"), "three\n").expect("write");
    git(&work, &["commit", "--quiet", "-am", "three"]);
    git(&work, &["push", "--quiet", "origin", "main"]);
    let kept = stack.ok(&["apply", "--yes"]);
    assert!(kept.all().contains("local changes"), "{}", kept.all());
    assert_eq!(
        std::fs::read_to_string(clone.join("README")).unwrap_or_default(),
        "mine\n"
    );

    // destroy keeps a clone with local changes; a clean one goes.
    let destroyed = stack.ok(&["destroy", "--yes"]);
    assert!(clone.exists(), "{}", destroyed.all());
    assert!(
        destroyed.all().contains("local changes"),
        "{}",
        destroyed.all()
    );
    git(&clone, &["checkout", "--quiet", "--", "README"]);
    stack.ok(&["apply", "--yes"]);
    assert_eq!(
        std::fs::read_to_string(clone.join("README")).unwrap_or_default(),
        "three\n"
    );
    stack.ok(&["destroy", "--yes", "--keep-files"]);
    assert!(clone.exists(), "--keep-files keeps the clone");
    stack.ok(&["apply", "--yes"]);
    stack.ok(&["destroy", "--yes"]);
    assert!(!clone.exists(), "a clean clone the project made is removed");
}

#[test]
fn a_missing_branch_fails_and_a_folder_it_did_not_clone_is_left_alone() {
    let outside = tempfile::tempdir().expect("temp dir");
    let (bare, _) = origin(outside.path());
    let url = bare.display().to_string();
    let stack = Stack::new("cw-e2e-git-refusals");
    stack.write("clockwork.toml", "[git]\nallow_local_urls = true\n");

    stack.write("main.star", &project(&url, "no-such-branch"));
    let failed = stack.run(&["apply", "--yes"]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    assert!(failed.all().contains("no-such-branch"), "{}", failed.all());
    assert!(!stack.dir.join("vendor/src/.git").exists());

    // A folder of the user's at `dest`: not cloned over, not removed.
    stack.write("vendor/src/notes.txt", "mine\n");
    stack.write("main.star", &project(&url, "stable"));
    let refused = stack.run(&["apply", "--yes"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    assert!(
        refused.all().contains("not a clone this project made"),
        "{}",
        refused.all()
    );
    stack.run(&["destroy", "--yes"]);
    assert_eq!(
        std::fs::read_to_string(stack.dir.join("vendor/src/notes.txt")).unwrap_or_default(),
        "mine\n"
    );

    // A URL git could read as an option is refused at its declaration.
    stack.write("main.star", &project("--upload-pack=touch /tmp/x", "main"));
    let plan = stack.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.all().contains("main.star:2") && plan.all().contains("`-`"),
        "{}",
        plan.all()
    );
}
