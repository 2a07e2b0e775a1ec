//! `NetworkConnection` on the real Engine: the network made exactly as
//! declared (internal, subnet, gateway) and checked, both ends on it and
//! told each other's host name, no route out through an internal network,
//! made again when its options change, removed when nothing declares it.

use serde_json::Value;

use crate::docker::exec_in as exec;
use crate::stack::Stack;

const NETWORK: &str = "cw-e2e-net-backend";

fn project(internal: bool, connected: bool) -> String {
    let mut text = r#"
db = DockerResource(name = "net-db", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /www && echo pong > /www/ping && busybox httpd -p 8080 -h /www; while true; do sleep 1; done"],
    ports = ["18082:8080"])
api = DockerResource(name = "net-api", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"])
"#
    .to_string();
    if connected {
        text.push_str(&format!(
            r#"api.connect(NetworkConnection(to_resource = db, network_name = "{NETWORK}",
    internal = {}, subnet = "10.213.117.0/24", gateway = "10.213.117.1"))
"#,
            if internal { "True" } else { "False" }
        ));
    }
    text
}

fn network(name: &str) -> Option<Value> {
    let out = std::process::Command::new("docker")
        .args(["network", "inspect", name])
        .output()
        .expect("docker runs");
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v.get(0).cloned()
}

/// Whether a container on the network alone gets `net-db`'s page through
/// its port published on the host (reached at the network's gateway, the
/// host's address there).
fn probe_reaches_the_published_port() -> bool {
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", NETWORK, "busybox:latest"])
        // A dropped connection would wait for TCP's own timeout.
        .args([
            "timeout",
            "5",
            "wget",
            "-q",
            "-O-",
            "http://10.213.117.1:18082/ping",
        ])
        .output()
        .expect("docker runs");
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "pong"
}

#[test]
fn an_internal_network_is_made_as_declared_remade_when_changed_and_removed_when_unused() {
    let _ports = crate::apply::fixed_ports();
    let stack = Stack::new("cw-e2e-network");
    stack.write("main.star", &project(true, true));
    stack.ok(&["apply", "--yes"]);

    let n = network(NETWORK).expect("the network exists");
    assert_eq!(n["Internal"], true, "internal as declared: {n:#}");
    assert_eq!(n["Driver"], "bridge");
    assert_eq!(n["IPAM"]["Config"][0]["Subnet"], "10.213.117.0/24");
    assert_eq!(n["IPAM"]["Config"][0]["Gateway"], "10.213.117.1");
    assert_eq!(n["Labels"]["dev.clockwork.project-id"], stack.project_id());
    for c in ["net-api", "net-db"] {
        let address = stack.inspect(c)["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(address.starts_with("10.213.117."), "{c} on it: {address}");
    }
    assert!(
        stack
            .env_of("net-api")
            .contains(&"NET_DB_HOST=net-db".to_string())
    );
    assert!(
        stack
            .env_of("net-db")
            .contains(&"NET_API_HOST=net-api".to_string())
    );

    // Over it the ends reach each other by name.
    let db_address = stack.inspect("net-db")["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (ok, body) = exec(
        "net-api",
        &["wget", "-qO-", &format!("http://{db_address}:8080/ping")],
    );
    assert!(ok && body.trim() == "pong", "{body}");
    // No route out through it: a probe on this network alone cannot reach
    // anything beyond it — here `net-db`'s published port, through the host
    // — though the endpoints keep their route out through the project
    // network (the same request from `net-api`, to the host's address
    // there, works).
    assert!(
        !probe_reaches_the_published_port(),
        "internal: nothing beyond it"
    );
    let outside = stack.inspect("net-api")["NetworkSettings"]["Networks"]
        .as_object()
        .and_then(|n| n.iter().find(|(name, _)| name.ends_with("_default")))
        .and_then(|(_, n)| n["Gateway"].as_str().map(str::to_string))
        .expect("on the project network");
    let (ok, body) = exec(
        "net-api",
        &[
            "timeout",
            "5",
            "wget",
            "-q",
            "-O-",
            &format!("http://{outside}:18082/ping"),
        ],
    );
    assert!(ok && body.trim() == "pong", "{body}");

    // Other options: the network and the containers on it made again.
    stack.write("main.star", &project(false, true));
    let plan = stack.ok(&["plan"]);
    assert!(
        plan.stdout.contains("network_options") && plan.stdout.contains("replace"),
        "{}",
        plan.stdout
    );
    let applied = stack.ok(&["apply", "--yes"]);
    assert!(
        applied.all().contains("made again as declared"),
        "{}",
        applied.all()
    );
    assert_eq!(network(NETWORK).expect("still there")["Internal"], false);
    assert!(
        probe_reaches_the_published_port(),
        "not internal: a route out"
    );
    let (ok, body) = exec("net-api", &["wget", "-qO-", "http://net-db:8080/ping"]);
    assert!(ok && body.trim() == "pong", "{body}");

    // Nothing declares it any more: removed; the containers stay.
    stack.write("main.star", &project(false, false));
    let applied = stack.ok(&["apply", "--yes"]);
    assert!(network(NETWORK).is_none(), "{}", applied.all());
    assert!(
        applied
            .all()
            .contains(&format!("removed the network `{NETWORK}`")),
        "{}",
        applied.all()
    );

    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn two_declarations_of_one_network_must_agree() {
    let stack = Stack::new("cw-e2e-network-clash");
    stack.write(
        "main.star",
        r#"
a = DockerResource(name = "clash-a", image = "busybox:latest")
b = DockerResource(name = "clash-b", image = "busybox:latest")
c = DockerResource(name = "clash-c", image = "busybox:latest")
a.connect(NetworkConnection(to_resource = b, network_name = "cw-e2e-shared", internal = True))
c.connect(NetworkConnection(to_resource = b, network_name = "cw-e2e-shared"))
"#,
    );
    let plan = stack.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.all().contains("main.star:6")
            && plan.all().contains("internal false here, true there"),
        "{}",
        plan.all()
    );
    assert!(network("cw-e2e-shared").is_none(), "nothing made");
}
