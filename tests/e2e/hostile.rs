//! Safety, round 3 (issue 25), against the real Engine: the project's
//! secrets reached through links, and what a container may be given.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::assert::by_name;
use crate::stack::Stack;

fn checks(run: &crate::stack::Run) -> BTreeMap<String, Value> {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("assert --format json: {e}\n{}", run.all()));
    by_name(&report)
}

/// A user assertion reads `.env`, the state and a key through a symbolic
/// link and through a hard link: each is refused by what it is (device
/// and inode), and its content reaches no output.
#[test]
fn a_check_cannot_read_the_projects_secrets_through_any_link() {
    let stack = Stack::new("cw-e2e-linked-secrets");
    let reads = [
        ("env-link", "a symbolic link to .env"),
        ("env-hard", "a hard link to .env"),
        (
            "state-link/key.pem",
            "a file of the state folder through a link to it",
        ),
        (
            "keys/key-hard.pem",
            "a hard link to a key in the state folder",
        ),
        (".env", ".env itself"),
    ];
    let mut main = String::new();
    for (i, (path, _)) in reads.iter().enumerate() {
        main.push_str(&format!(
            "def read_{i}(r):\n    return (True, file.read(\"{path}\"))\n\n"
        ));
    }
    main.push_str(
        "DockerResource(\n    name = \"linked-web\",\n    image = \"busybox:latest\",\n    command = [\"sh\", \"-c\", \"trap 'exit 0' TERM; while true; do sleep 1; done\"],\n    assertions = [\n",
    );
    for (i, (_, what)) in reads.iter().enumerate() {
        main.push_str(&format!(
            "        PythonAssert(read_{i}, description = \"{what}\", timeout_seconds = 5),\n"
        ));
    }
    main.push_str(
        "        PythonAssert(lambda r: (True, file.read(\"public.txt\")), description = \"a plain file\", timeout_seconds = 5),\n    ],\n)\n",
    );
    stack.write("main.star", &main);
    stack.write(".env", "LINKED_TOKEN=env-Content-Never-Shown\n");
    stack.write("public.txt", "public content\n");
    stack.ok(&["apply", "-y"]);
    // A key of the state folder, as the TLS connection keeps them.
    let key = stack.dir.join(".clockwork/key.pem");
    std::fs::write(&key, "key-Content-Never-Shown\n").expect("key");
    std::os::unix::fs::symlink(".env", stack.dir.join("env-link")).expect("link");
    std::fs::hard_link(stack.dir.join(".env"), stack.dir.join("env-hard")).expect("hard link");
    std::os::unix::fs::symlink(".clockwork", stack.dir.join("state-link")).expect("link");
    std::fs::create_dir_all(stack.dir.join("keys")).expect("mkdir");
    std::fs::hard_link(&key, stack.dir.join("keys/key-hard.pem")).expect("hard link");

    let run = stack.run(&["assert", "--parallelism", "1", "--format", "json"]);
    for secret in ["env-Content-Never-Shown", "key-Content-Never-Shown"] {
        assert!(
            !run.all().contains(secret),
            "{secret} was shown:\n{}",
            run.all()
        );
    }
    let checks = checks(&run);
    for (_, what) in reads {
        let check = &checks[what];
        assert_eq!(check["verdict"], "error", "{what}: {check:#}");
        let message = check["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("which no plugin or container is given"),
            "{what}: {message}"
        );
    }
    assert_eq!(
        checks["a plain file"]["verdict"], "pass",
        "{:#}",
        checks["a plain file"]
    );
    assert!(
        checks["a plain file"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("public content")),
        "{:#}",
        checks["a plain file"]
    );
    // Nothing in the project may be given to a container while a file of
    // the state folder has a link elsewhere: a folder could hold it.
    stack.write(
        "main.star",
        "DockerResource(name = \"linked-web\", image = \"busybox:latest\", volumes = [\"./keys:/keys:ro\"], command = [\"sleep\", \"3600\"])\n",
    );
    let run = stack.run(&["plan"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.all()
            .contains("`.clockwork/key.pem` has a hard link elsewhere"),
        "{}",
        run.all()
    );
    std::fs::remove_file(stack.dir.join("keys/key-hard.pem")).expect("unlink");
    stack.ok(&["plan"]);
    stack.ok(&["destroy", "--yes"]);
}

/// Every file under `dir`, as text (lossy), by path.
fn files_under(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned(),
            )),
            _ => {}
        }
    }
}

/// A committed lock is untrusted against the real Engine too: one that
/// mounts the host's `/etc` creates nothing. And the secrets of a deploy —
/// `env()` values, a password holding a `/` in a URL, one printed — reach
/// no output and no file Clockwork writes.
#[test]
fn a_hostile_lock_creates_nothing_and_no_secret_reaches_a_file() {
    let stack = Stack::new("cw-e2e-hostile-lock");
    stack.write(
        ".env",
        "API_TOKEN=tok-E2e-Printed-6612\nDB_PASSWORD=pa/ss-E2e-Slash-7713\n",
    );
    stack.write(
        "main.star",
        r#"print("it is", env("API_TOKEN"))
web = DockerResource(
    name = "hostile-lock-web",
    description = "redis cache",
    entrypoint = ["sh", "-c", "ls \"$0\" >/dev/null; exec redis-server", "/etc"],
    env_vars = {"DATABASE_URL": "postgresql://app:" + env("DB_PASSWORD") + "@db:5432/app"},
)
"#,
    );
    stack.ok(&["plan"]);
    // What a repository could ship: the entry replayed (its inputs are
    // today's), its value a bind of the host's /etc.
    let lock_path = stack.dir.join("clockwork.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    assert!(lock.contains("[resources.hostile-lock-web"), "{lock}");
    let hostile = format!(
        "{lock}\n[resources.hostile-lock-web.fields.volumes]\nsource = \"model:m\"\nvalue = [\"/etc:/host-etc\"]\n"
    );
    std::fs::write(&lock_path, hostile).expect("lock");
    let run = stack.run(&["apply", "-y"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.all()
            .contains("the value clockwork.lock gives `volumes` is refused: it mounts `/etc`"),
        "{}",
        run.all()
    );
    assert!(stack.containers().is_empty(), "a container was created");

    std::fs::write(&lock_path, &lock).expect("lock");
    let run = stack.ok(&["apply", "-y"]);
    let status = stack.ok(&["status", "--json"]);
    let mut seen = vec![
        ("apply".to_string(), run.all()),
        ("status".to_string(), status.all()),
    ];
    files_under(&stack.dir, &mut seen);
    for (what, text) in &seen {
        if what.ends_with(".env") {
            continue;
        }
        for secret in [
            "tok-E2e-Printed-6612",
            "pa/ss-E2e-Slash-7713",
            "pa%2Fss-E2e",
        ] {
            assert!(!text.contains(secret), "{what} holds `{secret}`:\n{text}");
        }
    }
    assert!(run.all().contains("print: it is ***"), "{}", run.all());
    // The container has the real value.
    assert!(
        stack.env_of("hostile-lock-web").contains(
            &"DATABASE_URL=postgresql://app:pa/ss-E2e-Slash-7713@db:5432/app".to_string()
        )
    );
    stack.ok(&["destroy", "--yes"]);
}
