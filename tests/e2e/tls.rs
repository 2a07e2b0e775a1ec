//! `ServiceMeshConnection` with `tls_enabled`: the host makes a CA for the
//! project and a certificate for the service, the service serves it, and
//! the client verifies it against the CA from inside its container.

use crate::docker::exec_in as exec;
use crate::stack::Stack;

const PROJECT: &str = r#"
conf = FileResource(name = "tls.conf", directory = "nginx", content = """
server {
    listen 8443 ssl;
    ssl_certificate /etc/clockwork/tls/cert.pem;
    ssl_certificate_key /etc/clockwork/tls/key.pem;
    location / { return 200 "secure\n"; }
}
""")
web = DockerResource(name = "tls-web", image = "nginx:alpine")
web.connect(FileConnection(to_resource = conf, mount_path = "/etc/nginx/conf.d/tls.conf", read_only = True))
client = DockerResource(name = "tls-client", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"])
client.connect(ServiceMeshConnection(to_resource = web, port = 8443, tls_enabled = True))
"#;

#[test]
fn a_tls_connection_gets_a_certificate_the_client_verifies_against_the_project_ca() {
    let stack = Stack::new("cw-e2e-tls");
    stack.write("main.star", PROJECT);
    let applied = stack.ok(&["apply", "--yes"]);
    assert!(
        applied
            .all()
            .contains("made a TLS certificate for `tls-web`"),
        "{}",
        applied.all()
    );
    let env = stack.inspect("tls-client")["Config"]["Env"].clone();
    let has = |v: &str| env.as_array().into_iter().flatten().any(|e| e == v);
    assert!(has("TLS_WEB_URL=https://tls-web:8443"), "{env}");
    assert!(has("TLS_WEB_CA_FILE=/etc/clockwork/tls/ca.pem"), "{env}");

    // The client trusts the service through the project's CA, and only so.
    let url = "https://tls-web:8443/";
    let mut answered = (false, String::new());
    for _ in 0..50 {
        answered = exec(
            "tls-client",
            &[
                "curl",
                "-sS",
                "--max-time",
                "5",
                "--cacert",
                "/etc/clockwork/tls/ca.pem",
                url,
            ],
        );
        if answered.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        answered.0 && answered.1.trim() == "secure",
        "{}",
        answered.1
    );
    let (trusted, said) = exec("tls-client", &["curl", "-sS", "--max-time", "5", url]);
    assert!(
        !trusted,
        "without the CA the certificate is not trusted: {said}"
    );
    // The connection's health check, run by `clockwork assert`, trusts the
    // project's CA too.
    let checked = stack.run(&["assert"]);
    assert_eq!(checked.code, 0, "{}", checked.all());
    assert!(
        checked.all().contains("HealthcheckAssert"),
        "{}",
        checked.all()
    );

    // The keys stay in .clockwork/, readable only by the owner, and never
    // in what Clockwork prints.
    let mode = |rel: &str| {
        std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(stack.dir.join(rel))
                .expect(rel)
                .permissions(),
        ) & 0o777
    };
    assert_eq!(mode(".clockwork/tls/ca-key.pem"), 0o600);
    assert_eq!(mode(".clockwork/tls/tls-web/key.pem"), 0o600);
    let key =
        std::fs::read_to_string(stack.dir.join(".clockwork/tls/tls-web/key.pem")).expect("key");
    let body: String = key.lines().nth(1).unwrap_or_default().to_string();
    let plan = stack.ok(&["plan", "--json"]);
    assert!(!plan.all().contains(&body) && !applied.all().contains(&body));

    // A second apply keeps the certificate.
    let again = stack.ok(&["apply", "--yes"]);
    assert!(
        !again.all().contains("made a TLS certificate"),
        "{}",
        again.all()
    );

    // A container is given only the certificates, never the rest of
    // `.clockwork/`.
    stack.write(
        "main.star",
        &format!(
            "{PROJECT}\nspy = DockerResource(name = \"tls-spy\", image = \"busybox:latest\", volumes = [\"./.clockwork/tls/ca-key.pem:/k:ro\"])\n"
        ),
    );
    let refused = stack.run(&["plan"]);
    assert_eq!(refused.code, 2, "{}", refused.all());
    assert!(
        refused.all().contains("never mounted into a container"),
        "{}",
        refused.all()
    );
    stack.write("main.star", PROJECT);
    stack.ok(&["destroy", "--yes"]);
}
