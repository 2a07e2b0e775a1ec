//! Issue 10 on the real Engine: nothing that is not the project's is ever
//! touched, read or leaked — another folder's project of the same name, a
//! sibling resource's container, files Clockwork did not write, anything
//! behind a symbolic link, secrets in Engine errors and state files.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::process::Command;

use crate::docker::{docker, docker_ok};
use crate::stack::Stack;

/// A container that stops at once on SIGTERM.
const QUICK: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

fn web(name: &str) -> String {
    format!("web = DockerResource(name=\"{name}\", image=\"busybox:latest\", command={QUICK})\n")
}

fn running(name: &str) -> bool {
    docker(&["inspect", "-f", "{{.State.Running}}", name])
        .stdout
        .starts_with(b"true")
}

#[test]
fn twin_folders_never_touch_each_other() {
    let root = tempfile::tempdir().expect("tmp");
    let (pa, pb, pc) = (
        root.path().join("a"),
        root.path().join("b"),
        root.path().join("c"),
    );
    for p in [&pa, &pb, &pc] {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    let a = Stack::inside(&pa, "twin");
    let b = Stack::inside(&pb, "twin");
    let c = Stack::inside(&pc, "twin");
    a.write("main.star", &web("twin-a-web"));
    b.write("main.star", &web("twin-b-web"));
    a.ok(&["apply"]);
    b.ok(&["apply"]);
    assert!(running("twin-a-web") && running("twin-b-web"));
    let (a_id, b_id) = (a.project_id(), b.project_id());
    assert_eq!(a_id.len(), 12);
    assert_ne!(a_id, b_id, "two folders of one name share no id");

    // A destroy in a third, empty `twin` removes nothing, writes nothing,
    // and says whose the objects of that name are.
    let third = c.run(&["destroy"]);
    assert_eq!(third.code, 0, "{}", third.all());
    assert!(
        third.stdout.contains("Nothing to destroy"),
        "{}",
        third.all()
    );
    assert!(
        third.stderr.contains(&a_id)
            && third.stderr.contains(&b_id)
            && third.stderr.contains("Clockwork leaves them alone")
            && third.stderr.contains("--adopt"),
        "{}",
        third.stderr
    );
    assert!(
        !c.dir.join(".clockwork").exists(),
        "destroy wrote into c/twin"
    );
    assert!(running("twin-a-web") && running("twin-b-web"));

    // b's destroy takes b's objects only.
    b.ok(&["destroy", "--yes"]);
    assert!(running("twin-a-web"));
    assert!(docker(&["inspect", "twin-b-web"]).status.code() != Some(0));

    // Taking a's objects over is deliberate: by id.
    c.ok(&["destroy", "--yes", "--adopt", &a_id]);
    assert!(docker(&["inspect", "twin-a-web"]).status.code() != Some(0));
}

#[test]
fn a_resource_cannot_replace_or_remove_a_siblings_container() {
    let stack = Stack::new("cwt-sibling");
    std::fs::copy(
        crate::fixtures::fixture("overreaching-resource"),
        stack.dir.join("plugins/overreaching.wasm"),
    )
    .expect("copy");
    let replica = format!(
        "replica = DockerResource(name=\"sib-db-replica\", image=\"busybox:latest\", command={QUICK})\n"
    );
    stack.write("main.star", &replica);
    stack.ok(&["apply"]);
    let id = stack.id_of("sib-db-replica");
    for (reach, expected) in [
        (
            "sibling-name",
            "may not create a container named `sib-db-replica`",
        ),
        (
            "sibling-remove",
            "may not remove container `sib-db-replica`",
        ),
        ("host-network", "one of Docker's own networks"),
        ("remote-probe", "not `192.0.2.1`"),
        ("project-file", "`main.star` is the project file"),
    ] {
        stack.write(
            "main.star",
            &format!("{replica}db = OverreachingResource(name=\"sib-db\", reach=\"{reach}\")\n"),
        );
        let run = stack.run(&["apply"]);
        assert_eq!(run.code, 2, "{reach}: {}", run.all());
        assert!(run.stderr.contains(expected), "{reach}: {}", run.stderr);
        assert_eq!(stack.id_of("sib-db-replica"), id, "{reach}");
        assert!(running("sib-db-replica"), "{reach}");
    }
    assert!(
        std::fs::read_to_string(stack.dir.join("main.star"))
            .expect("main.star")
            .contains("OverreachingResource")
    );
    stack.write("main.star", &replica);
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn files_are_written_and_removed_only_when_clockwork_wrote_them() {
    let stack = Stack::new("cwt-files");
    let file = stack.dir.join("gen.txt");
    let declare = |content: &str, extra: &str| {
        stack.write(
            "main.star",
            &format!("gen = FileResource(name=\"gen.txt\", content=\"{content}\"{extra})\n"),
        );
    };
    // The user's own file is never overwritten...
    std::fs::write(&file, "the user's\n").expect("write");
    declare("one", "");
    let refused = stack.run(&["apply"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.stderr.contains("was not written by Clockwork"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).expect("gen"), "the user's\n");
    // ...unless the user says so.
    declare("one", ", overwrite=True");
    stack.ok(&["apply"]);
    assert_eq!(std::fs::read_to_string(&file).expect("gen"), "one");
    // Clockwork's own file is rewritten when the declaration changes.
    declare("two", "");
    stack.ok(&["apply"]);
    assert_eq!(std::fs::read_to_string(&file).expect("gen"), "two");
    // A change by hand is reported, not overwritten.
    std::fs::write(&file, "edited by hand").expect("write");
    declare("three", "");
    let edited = stack.run(&["apply"]);
    assert_eq!(edited.code, 2, "{}", edited.all());
    assert!(
        edited.stderr.contains("changed by hand"),
        "{}",
        edited.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("gen"),
        "edited by hand"
    );
    // Nor removed with its declaration.
    stack.write("main.star", "");
    let removed = stack.ok(&["apply", "--yes"]);
    assert!(
        removed
            .stdout
            .contains("! gen.txt: `gen.txt` was changed by hand since Clockwork wrote it"),
        "{}",
        removed.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("gen"),
        "edited by hand"
    );
    assert!(stack.state()["files"].get("gen.txt").is_none());
}

#[test]
fn state_files_and_mounts_behind_links_are_refused() {
    let outside = tempfile::tempdir().expect("tmp");
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "precious").expect("write");

    // The lock, then the journal, as links out of the project.
    for file in ["lock", "journal.jsonl"] {
        let stack = Stack::new(&format!("cwt-link-{}", file.replace('.', "-")));
        stack.write(
            "main.star",
            &web(&format!("link-{}", file.replace('.', "-"))),
        );
        std::fs::create_dir_all(stack.dir.join(".clockwork")).expect("mkdir");
        symlink(&victim, stack.dir.join(".clockwork").join(file)).expect("link");
        let run = stack.run(&["apply"]);
        if file == "lock" {
            assert_eq!(run.code, 1, "{}", run.all());
            assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
        }
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious",
            "{file}"
        );
        stack.run(&["destroy", "--yes"]);
    }

    // `.clockwork` itself as a link.
    let stack = Stack::new("cwt-link-dir");
    stack.write("main.star", &web("link-dir"));
    symlink(outside.path(), stack.dir.join(".clockwork")).expect("link");
    let run = stack.run(&["apply"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("symbolic link `.clockwork`"),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty());
    assert_eq!(std::fs::read_dir(outside.path()).expect("dir").count(), 1);

    // A bind mount of a folder that links out.
    let stack = Stack::new("cwt-link-mount");
    symlink(outside.path(), stack.dir.join("data")).expect("link");
    stack.write(
        "main.star",
        &format!("m = DockerResource(name=\"link-mount\", image=\"busybox:latest\", command={QUICK}, volumes=[\"./data:/data\"])\n"),
    );
    let run = stack.run(&["apply"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.contains("main.star:1:5") && run.stderr.contains("the symbolic link `data`"),
        "{}",
        run.stderr
    );
    assert!(stack.containers().is_empty());
}

#[test]
fn an_engine_error_quoting_a_secret_is_masked_everywhere() {
    let stack = Stack::new("cwt-leak");
    // The image name carries an `env()` value; the failed pull quotes it.
    stack.write(
        "main.star",
        "x = DockerResource(name=\"leak-x\", image=\"127.0.0.1:9/\" + env(\"REGISTRY_PATH\") + \":1\")\n",
    );
    let secret = "s3cr3t-repo";
    for args in [
        &["apply"][..],
        &["apply", "--json"][..],
        &["plan"][..],
        &["plan", "--json"][..],
    ] {
        let output = stack
            .command(args)
            .env("REGISTRY_PATH", secret)
            .output()
            .expect("runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(secret), "{args:?} printed the secret:\n{all}");
        assert!(all.contains("***"), "{args:?}: {all}");
    }
    let journal = stack.dir.join(".clockwork/journal.jsonl");
    assert!(
        std::fs::read_to_string(&journal)
            .expect("journal")
            .contains("could not be pulled")
    );
    for entry in std::fs::read_dir(stack.dir.join(".clockwork")).expect("state dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            !text.contains(secret),
            "{} holds the secret:\n{text}",
            path.display()
        );
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn a_taken_host_port_leaves_no_container_behind() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stack = Stack::new("cwt-port");
    stack.write(
        "main.star",
        &format!("p = DockerResource(name=\"port-p\", image=\"busybox:latest\", command={QUICK}, ports=[\"127.0.0.1:{port}:80\"])\n"),
    );
    let run = stack.run(&["apply"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("already in use"), "{}", run.stdout);
    assert!(stack.containers().is_empty(), "{:?}", stack.containers());
    drop(listener);
}

#[test]
fn the_state_keeps_unknown_fields_and_the_lock_names_its_holder() {
    let stack = Stack::new("cwt-state");
    stack.write("main.star", &web("state-a"));
    stack.ok(&["apply"]);
    let path = stack.dir.join(".clockwork/state.json");
    let mut state = stack.state();
    state["added_by_a_later_version"] = serde_json::json!({"kept": true});
    std::fs::write(&path, state.to_string()).expect("write");
    stack.write(
        "main.star",
        &format!(
            "{}b = DockerResource(name=\"state-b\", image=\"busybox:latest\", command={QUICK})\n",
            web("state-a")
        ),
    );
    stack.ok(&["apply"]);
    assert_eq!(stack.state()["added_by_a_later_version"]["kept"], true);
    assert!(stack.state()["resources"].get("state-b").is_some());

    // Another process holds the lock: it is named, not a stale PID.
    let mut holder = Command::new("flock")
        .arg("--no-fork")
        .arg(stack.dir.join(".clockwork/lock"))
        .args(["sleep", "60"])
        .spawn()
        .expect("flock runs");
    crate::docker::wait_until(
        "flock holds the lock",
        std::time::Duration::from_secs(10),
        || {
            std::fs::read_to_string("/proc/locks")
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains(&format!(" {} ", holder.id())))
        },
    );
    let refused = stack.run(&["apply"]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(refused.code, 1, "{}", refused.all());
    assert!(
        refused
            .stderr
            .contains(&format!("pid {}, `sleep 60`", holder.id())),
        "{}",
        refused.stderr
    );
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn deleting_more_than_is_created_needs_a_yes_and_loops_count() {
    let stack = Stack::new("cwt-yes");
    stack.write(
        "main.star",
        &format!(
            "for i in range(2):\n    DockerResource(name=\"yes-%d\" % i, image=\"busybox:latest\", command={QUICK})\n"
        ),
    );
    stack.ok(&["apply"]);
    assert_eq!(stack.containers().len(), 2);
    assert!(stack.ok(&["apply"]).stdout.contains("Nothing to do"));
    // An empty project file deletes everything: said loudly, not done
    // without `--yes`.
    stack.write("main.star", "# nothing yet\n");
    let plan = stack.ok(&["plan"]);
    assert!(
        plan.stderr
            .contains("declares no resources, so this deletes all 2 deployed resources"),
        "{}",
        plan.stderr
    );
    let refused = stack.run(&["apply"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert_eq!(stack.containers().len(), 2);
    let refused = stack.run(&["destroy"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(refused.stderr.contains("add `--yes`"), "{}", refused.stderr);
    assert_eq!(stack.containers().len(), 2);
    stack.ok(&["destroy", "--yes"]);
    assert!(stack.containers().is_empty());
    let _ = docker_ok(&["ps"]);
}

#[test]
fn a_network_a_stranger_still_uses_is_left_and_the_stranger_untouched() {
    let stack = Stack::new("netleft");
    stack.write("main.star", &web("netleft-web"));
    stack.ok(&["apply"]);
    let network = docker_ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
        "netleft-web",
    ]);
    let network = network.trim().to_string();
    let scope = crate::docker::Scope::new("netleft");
    let stranger = scope.run(
        "stranger",
        &["--network", &network],
        "busybox:latest",
        &[
            "sh",
            "-c",
            "trap 'exit 0' TERM; while true; do sleep 1; done",
        ],
    );

    let run = stack.run(&["destroy", "--yes"]);
    assert!(
        run.all().contains(&format!(
            "network `{network}` was left in place: 1 container(s) still use it"
        )),
        "{}",
        run.all()
    );
    assert!(running(&stranger), "the stranger keeps running");
    assert!(docker(&["inspect", "netleft-web"]).status.code() != Some(0));

    docker_ok(&["rm", "-f", &stranger]);
    stack.ok(&["destroy", "--yes"]);
    assert!(docker(&["network", "inspect", &network]).status.code() != Some(0));
}

/// The everyday commands see only the project's containers: in a folder
/// whose project has the same name as another's, `status`, `logs` and
/// `exec` neither show nor run in the other's container, nor in a
/// container the user made by hand.
#[test]
fn status_logs_and_exec_never_reach_a_container_that_is_not_the_projects() {
    let root = tempfile::tempdir().expect("tmp");
    let (pa, pb) = (root.path().join("a"), root.path().join("b"));
    for p in [&pa, &pb] {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    let theirs = Stack::inside(&pa, "everyday");
    let ours = Stack::inside(&pb, "everyday");
    let said = r#"["sh", "-c", "echo theirs-secret-line; trap 'exit 0' TERM; while true; do sleep 1; done"]"#;
    theirs.write(
        "main.star",
        &format!("DockerResource(name=\"ev-web\", image=\"busybox:latest\", command={said})\n"),
    );
    theirs.ok(&["apply"]);
    // Ours declares a resource of the same name, not applied.
    ours.write("main.star", &web("ev-web"));
    let user = crate::docker::Scope::new("everyday");
    let by_hand = user.run("own", &[], "busybox:latest", &["sleep", "600"]);
    let execs = |name: &str| docker_ok(&["inspect", "-f", "{{len .ExecIDs}}", name]);
    let (theirs_before, by_hand_before) = (execs("ev-web"), execs(&by_hand));

    let status = ours.ok(&["status", "--json"]).stdout;
    assert!(status.contains("\"not applied\""), "{status}");
    assert!(!status.contains(&theirs.project_id()), "{status}");
    let logs = ours.ok(&["logs"]);
    assert!(
        !logs.stdout.contains("theirs-secret-line"),
        "{}",
        logs.all()
    );
    let logs = ours.ok(&["logs", "ev-web"]);
    assert!(
        !logs.stdout.contains("theirs-secret-line"),
        "{}",
        logs.all()
    );

    let run = ours.run(&["exec", "ev-web", "true"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("has no container"), "{}", run.all());
    let run = ours.run(&["exec", &by_hand, "true"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr
            .contains("no resource or container of the project"),
        "{}",
        run.all()
    );
    assert_eq!(execs("ev-web"), theirs_before, "an exec ran in theirs");
    assert_eq!(execs(&by_hand), by_hand_before, "an exec ran in the user's");
    theirs.ok(&["destroy", "--yes"]);
}

/// The project folder mounted whole, as Compose files do (`.:/app`): the
/// container sees the project's files but never the state folder, which an
/// empty read-only tmpfs covers; a subfolder's mount is left as it is.
#[test]
fn the_project_folder_mounted_whole_hides_the_state_folder() {
    use crate::docker::exec_in;

    let stack = Stack::new("cw-e2e-root-mount");
    stack.write(
        "main.star",
        r#"
app = DockerResource(
    name = "rm-app",
    image = "busybox:latest",
    volumes = [".:/app", "./data:/data"],
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
)
"#,
    );
    stack.write("data/seed.txt", "seed\n");
    stack.ok(&["apply", "--yes"]);
    let state = std::fs::read_to_string(stack.dir.join(".clockwork/state.json")).expect("state");

    let (read, main) = exec_in("rm-app", &["cat", "/app/main.star"]);
    assert!(read && main.contains("rm-app"), "{main}");
    let (listed, inside) = exec_in("rm-app", &["ls", "-A", "/app/.clockwork"]);
    assert!(
        listed && inside.trim().is_empty(),
        "the state folder shows: {inside}"
    );
    let (wrote, said) = exec_in(
        "rm-app",
        &["sh", "-c", "echo forged > /app/.clockwork/state.json"],
    );
    assert!(!wrote, "wrote into the state folder: {said}");
    let (seed, text) = exec_in("rm-app", &["cat", "/data/seed.txt"]);
    assert!(seed && text.trim() == "seed", "{text}");
    assert_eq!(
        std::fs::read_to_string(stack.dir.join(".clockwork/state.json")).expect("state"),
        state
    );

    // A second apply takes the container as it is.
    let again = stack.ok(&["apply", "--yes"]);
    assert!(!again.stdout.contains("replace"), "{}", again.all());
    stack.ok(&["destroy", "--yes"]);
}

/// Issue 25, item 7: a state file that lists another project's id under
/// `adopted` (hand-edited, or handed over with a repository) adopts
/// nothing: `status`, `logs`, `exec`, `stop`, `restart`, `apply` and
/// `destroy` neither act on nor show that project's container. Only
/// `--adopt <id>` on the command line adopts, and every command that then
/// acts on the adopted objects names them, with their id.
#[test]
fn a_state_file_cannot_adopt_another_projects_objects() {
    let root = tempfile::tempdir().expect("tmp");
    let (pa, pb) = (root.path().join("a"), root.path().join("b"));
    for p in [&pa, &pb] {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    let theirs = Stack::inside(&pa, "forged");
    let ours = Stack::inside(&pb, "forged");
    // Our user's own record of adoptions.
    let state_home = tempfile::tempdir().expect("tmp");
    let run = |args: &[&str]| -> crate::stack::Run {
        ours.command(args)
            .env("XDG_STATE_HOME", state_home.path())
            .output()
            .expect("clockwork runs")
            .into()
    };
    let said = r#"["sh", "-c", "echo theirs-secret-line; trap 'exit 0' TERM; while true; do sleep 1; done"]"#;
    let declared = format!(
        "web = DockerResource(name=\"forged-web\", image=\"busybox:latest\", command={said}, volumes=[\"forged-data:/data\"])\n"
    );
    theirs.write("main.star", &declared);
    theirs.ok(&["apply"]);
    let theirs_id = theirs.project_id();
    let full_id = docker_ok(&["inspect", "-f", "{{.Id}}", "forged-web"]);
    let seen = |what: &str| docker_ok(&["inspect", "-f", what, &full_id]);
    let (started, execs) = (seen("{{.State.StartedAt}}"), seen("{{len .ExecIDs}}"));
    let untouched = |after: &str| {
        assert_eq!(
            docker_ok(&["inspect", "-f", "{{.Id}}", "forged-web"]),
            full_id,
            "after {after}: theirs was replaced"
        );
        assert!(running("forged-web"), "after {after}: theirs was stopped");
        assert_eq!(
            seen("{{.State.StartedAt}}"),
            started,
            "after {after}: theirs was restarted"
        );
        assert_eq!(
            seen("{{len .ExecIDs}}"),
            execs,
            "after {after}: a command ran in theirs"
        );
    };

    // Ours declares the same, and has their state, edited to adopt them.
    ours.write("main.star", &declared);
    let mut forged = theirs.state();
    forged["adopted"] = serde_json::json!([theirs_id]);
    std::fs::create_dir_all(ours.dir.join(".clockwork")).expect("mkdir");
    std::fs::write(ours.dir.join(".clockwork/state.json"), forged.to_string()).expect("write");

    let short = &full_id[..12];
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["logs"],
        &["logs", "forged-web"],
        &["exec", "forged-web", "true"],
        &["restart", "forged-web"],
        &["apply", "--yes"],
        &["stop", "forged-web"],
        &["destroy", "--yes"],
    ] {
        let out = run(args);
        let all = out.all();
        // Each got as far as the Engine (not a usage error).
        assert_ne!(out.code, 2, "{args:?}: {all}");
        assert!(
            !all.contains("theirs-secret-line") && !all.contains(short),
            "{args:?} showed theirs: {all}"
        );
        assert!(!all.contains("as adopted"), "{args:?}: {all}");
        if args[0] == "status" {
            assert!(!out.stdout.contains("running"), "{args:?}: {all}");
        }
        untouched(&format!("{args:?}"));
    }

    // `--adopt` on the command line adopts, and says what it acts on. The
    // container is made again with our id; the volume (Docker cannot
    // label it anew) keeps theirs.
    let named = format!("acting on objects of project id {theirs_id} as adopted");
    let adopted = run(&["apply", "--yes", "--adopt", &theirs_id]);
    assert_eq!(adopted.code, 0, "{}", adopted.all());
    assert!(
        adopted.stderr.contains(&named)
            && adopted.stderr.contains("container `forged-web`")
            && adopted.stderr.contains("volume `forged-data`"),
        "{}",
        adopted.stderr
    );
    // Remembered for this user, and named by every command acting on it.
    for args in [
        &["apply", "--yes"][..],
        &["status"],
        &["logs", "forged-web"],
    ] {
        let out = run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.all());
        assert!(
            out.stderr.contains(&named) && out.stderr.contains("volume `forged-data`"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // A destroy removes what was adopted, and forgets the adoption.
    let gone = run(&["destroy", "--yes"]);
    assert_eq!(gone.code, 0, "{}", gone.all());
    assert!(
        gone.stderr.contains(&named) && gone.stderr.contains("volume `forged-data`"),
        "{}",
        gone.stderr
    );
    assert!(docker(&["inspect", "forged-web"]).status.code() != Some(0));
    assert!(docker(&["volume", "inspect", "forged-data"]).status.code() != Some(0));
    assert_eq!(
        std::fs::read_dir(state_home.path().join("clockwork/adoptions"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "the destroy forgot the adoption"
    );
}
