//! `FileConnection` on the real Engine: a `FileResource` mounted read-only
//! (a write inside the container fails), a named volume shared by several
//! connections is one volume seen by all, `create_volume = False` needs the
//! volume to exist, and destroy removes the volume — unless
//! `--keep-volumes`, and never while another project's container uses it.

use crate::docker::docker_said as docker;
use crate::stack::Stack;

const SLEEPER: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

fn project(extra: &str) -> String {
    format!(
        r#"
config = FileResource(name = "app.conf", content = "level = info\n")
app = DockerResource(name = "fc-app", image = "busybox:latest", command = {SLEEPER})
worker = DockerResource(name = "fc-worker", image = "busybox:latest", command = {SLEEPER})
store = DockerResource(name = "fc-store", image = "busybox:latest", command = {SLEEPER})
app.connect(FileConnection(to_resource = config, mount_path = "/etc/app/app.conf", read_only = True))
app.connect(FileConnection(to_resource = store, mount_path = "/data", volume_name = "cw-e2e-fc-shared"))
worker.connect(FileConnection(to_resource = store, mount_path = "/data", volume_name = "cw-e2e-fc-shared"))
{extra}
"#
    )
}

fn volume_exists(name: &str) -> bool {
    docker(&["volume", "inspect", name]).0
}

#[test]
fn files_mount_read_only_and_one_shared_volume_is_seen_by_all_and_removed_on_destroy() {
    let stack = Stack::new("cw-e2e-file-connection");
    stack.write("main.star", &project(""));
    stack.ok(&["apply", "--yes"]);

    let (ok, text) = docker(&["exec", "fc-app", "cat", "/etc/app/app.conf"]);
    assert!(ok && text == "level = info\n", "{text}");
    let (wrote, said) = docker(&[
        "exec",
        "fc-app",
        "sh",
        "-c",
        "echo changed > /etc/app/app.conf",
    ]);
    assert!(!wrote, "a read-only mount refuses a write: {said}");
    assert!(said.contains("Read-only"), "{said}");

    // One volume, in all three containers.
    let (_, volumes) = docker(&["volume", "ls", "-q", "--filter", "name=cw-e2e-fc-shared"]);
    assert_eq!(volumes.lines().count(), 1, "{volumes}");
    assert!(docker(&["exec", "fc-store", "sh", "-c", "echo shared > /data/probe"]).0);
    for c in ["fc-app", "fc-worker"] {
        let (ok, seen) = docker(&["exec", c, "cat", "/data/probe"]);
        assert!(ok && seen.trim() == "shared", "{c}: {seen}");
    }

    // Kept with --keep-volumes, data and all.
    stack.ok(&["destroy", "--yes", "--keep-volumes"]);
    assert!(volume_exists("cw-e2e-fc-shared"));
    stack.ok(&["apply", "--yes"]);
    let (_, seen) = docker(&["exec", "fc-worker", "cat", "/data/probe"]);
    assert_eq!(seen.trim(), "shared", "the data survived");

    // Another project's container uses it: destroy leaves it, and says so.
    let (started, said) = docker(&[
        "run",
        "-d",
        "--name",
        "cw-e2e-fc-stranger",
        "-v",
        "cw-e2e-fc-shared:/x",
        "busybox:latest",
        "sleep",
        "300",
    ]);
    assert!(started, "{said}");
    let destroyed = stack.run(&["destroy", "--yes"]);
    assert!(volume_exists("cw-e2e-fc-shared"), "{}", destroyed.all());
    assert!(
        destroyed.all().contains("cw-e2e-fc-stranger"),
        "says who uses it: {}",
        destroyed.all()
    );
    let _ = docker(&["rm", "-f", "cw-e2e-fc-stranger"]);
    // Nothing uses it any more: the next destroy removes it.
    stack.run(&["destroy", "--yes"]);
    assert!(!volume_exists("cw-e2e-fc-shared"));
}

#[test]
fn create_volume_false_needs_the_volume_to_exist() {
    let stack = Stack::new("cw-e2e-file-connection-existing");
    stack.write(
        "main.star",
        &format!(
            r#"
app = DockerResource(name = "fc-only", image = "busybox:latest", command = {SLEEPER})
data = DockerResource(name = "fc-data", image = "busybox:latest", command = {SLEEPER})
app.connect(FileConnection(to_resource = data, mount_path = "/data", volume_name = "cw-e2e-fc-missing", create_volume = False))
"#
        ),
    );
    let failed = stack.run(&["apply", "--yes"]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    assert!(
        failed.all().contains("cw-e2e-fc-missing") && failed.all().contains("create_volume"),
        "{}",
        failed.all()
    );
    assert!(!volume_exists("cw-e2e-fc-missing"), "not created");
    stack.run(&["destroy", "--yes"]);
}
