//! `DatabaseConnection`'s schema and migrations on a real PostgreSQL: each
//! file runs once per database, recorded in the database itself (so a lost
//! record in `.clockwork/` runs nothing again), a file added later runs, an
//! edited one is refused with both checksums, and a failing one stops the
//! apply with the database's message, in a transaction of its own.

use crate::stack::Stack;

const PROJECT: &str = r#"
db = DockerResource(name = "mig-db", image = "postgres:15-alpine",
    env_vars = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "mig-secret-pw", "POSTGRES_DB": "shop"})
app = DockerResource(name = "mig-app", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"])
app.connect(DatabaseConnection(to_resource = db, schema_file = "schema.sql", migrations_dir = "migrations/"))
"#;

fn psql(sql: &str) -> String {
    let out = std::process::Command::new("docker")
        .args([
            "exec", "mig-db", "psql", "-U", "app", "-d", "shop", "-Atc", sql,
        ])
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn tables() -> String {
    psql(
        "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public'",
    )
}

fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// How many times the journal says a migration step ran.
fn ran(stack: &Stack, step: &str) -> usize {
    std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(step) && l.contains("\"status\":\"done\""))
        .count()
}

#[test]
fn migrations_run_once_per_database_and_edited_or_failing_ones_stop_the_apply() {
    let stack = Stack::new("cw-e2e-migrations");
    stack.write("main.star", PROJECT);
    stack.write("schema.sql", "CREATE TABLE users (id int PRIMARY KEY);\n");
    stack.write(
        "migrations/001_orders.sql",
        "CREATE TABLE orders (id int);\n",
    );
    stack.ok(&["apply", "--yes"]);
    assert_eq!(tables(), "clockwork_migrations,orders,users");
    assert_eq!(
        psql("select string_agg(name, ',' order by name) from clockwork_migrations"),
        "migrations/001_orders.sql,schema.sql"
    );

    // Again: nothing runs.
    stack.ok(&["apply", "--yes"]);
    assert_eq!(ran(&stack, "migration-001_orders"), 1);

    // A file added later runs, alone.
    stack.write("migrations/002_items.sql", "CREATE TABLE items (id int);\n");
    stack.ok(&["apply", "--yes"]);
    assert_eq!(tables(), "clockwork_migrations,items,orders,users");
    assert_eq!(ran(&stack, "migration-001_orders"), 1);

    // The record in `.clockwork/` lost: the database's own record keeps
    // them from running again (running would fail: the tables exist).
    let state_path = stack.dir.join(".clockwork/state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).expect("state")).expect("json");
    state["setup"] = serde_json::json!({});
    std::fs::write(&state_path, state.to_string()).expect("write state");
    let again = stack.ok(&["apply", "--yes"]);
    assert_eq!(
        tables(),
        "clockwork_migrations,items,orders,users",
        "{}",
        again.all()
    );

    // An edited migration is refused, naming the file and both checksums.
    let first = stack.dir.join("migrations/001_orders.sql");
    let before = sha256(&first);
    stack.write(
        "migrations/001_orders.sql",
        "CREATE TABLE orders (id bigint);\n",
    );
    let after = sha256(&first);
    let refused = stack.run(&["apply", "--yes"]);
    assert_ne!(refused.code, 0, "{}", refused.all());
    let said = refused.all();
    assert!(
        said.contains("migrations/001_orders.sql")
            && said.contains(&before)
            && said.contains(&after),
        "{said}"
    );
    assert!(
        !said.contains("mig-secret-pw"),
        "no password in messages: {said}"
    );
    stack.write(
        "migrations/001_orders.sql",
        "CREATE TABLE orders (id int);\n",
    );

    // A failing one stops the apply with the database's message; its own
    // changes are rolled back, the earlier ones stay recorded.
    stack.write(
        "migrations/003_broken.sql",
        "CREATE TABLE half (id int);\nSELECT * FROM no_such_table;\n",
    );
    let failed = stack.run(&["apply", "--yes"]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    let said = failed.all();
    assert!(
        said.contains("migrations/003_broken.sql") && said.contains("no_such_table"),
        "{said}"
    );
    assert_eq!(
        tables(),
        "clockwork_migrations,items,orders,users",
        "rolled back"
    );
    assert_eq!(
        psql("select count(*) from clockwork_migrations"),
        "3",
        "schema, 001 and 002 recorded"
    );

    std::fs::remove_file(stack.dir.join("migrations/003_broken.sql")).expect("remove");
    stack.ok(&["destroy", "--yes"]);
}

fn mariadb(sql: &str) -> String {
    let out = std::process::Command::new("docker")
        .args([
            "exec",
            "-e",
            "MYSQL_PWD=maria-app-pw",
            "maria-db",
            "mariadb",
        ])
        .args([
            "--protocol=tcp",
            "-h",
            "127.0.0.1",
            "-u",
            "app",
            "-D",
            "shop",
            "-N",
            "-B",
            "-e",
            sql,
        ])
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn mariadb_is_waited_for_and_its_migrations_run_once_as_its_user() {
    let stack = Stack::new("cw-e2e-mariadb");
    stack.write(
        "main.star",
        r#"
db = DockerResource(name = "maria-db", image = "mariadb:11",
    env_vars = {"MARIADB_ROOT_PASSWORD": "maria-root-pw", "MARIADB_DATABASE": "shop",
                "MARIADB_USER": "app", "MARIADB_PASSWORD": "maria-app-pw"})
app = DockerResource(name = "maria-app", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"])
app.connect(DatabaseConnection(to_resource = db, migrations_dir = "migrations/"))
"#,
    );
    stack.write(
        "migrations/001_orders.sql",
        "CREATE TABLE orders (id INT PRIMARY KEY);\nINSERT INTO orders VALUES (1);\n",
    );
    let plan = stack.ok(&["plan"]);
    // The user, the database and the URL's form come from the container.
    assert!(
        plan.stdout
            .contains("DATABASE_URL=mysql://app:***@maria-db:3306/shop"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("maria-app-pw"), "{}", plan.stdout);
    stack.ok(&["apply", "--yes"]);
    let env = stack.inspect("maria-app")["Config"]["Env"].clone();
    assert!(
        env.as_array()
            .into_iter()
            .flatten()
            .any(|v| v == "DATABASE_URL=mysql://app:maria-app-pw@maria-db:3306/shop"),
        "{env}"
    );
    assert_eq!(mariadb("SELECT count(*) FROM orders"), "1");
    assert_eq!(
        mariadb("SELECT name FROM clockwork_migrations"),
        "migrations/001_orders.sql"
    );
    // Its own record keeps it from running twice when `.clockwork/`'s is
    // lost: the INSERT would add a second row, or fail on the key.
    let state_path = stack.dir.join(".clockwork/state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).expect("state")).expect("json");
    state["setup"] = serde_json::json!({});
    std::fs::write(&state_path, state.to_string()).expect("write state");
    stack.ok(&["apply", "--yes"]);
    assert_eq!(mariadb("SELECT count(*) FROM orders"), "1");
    // Edited: refused with both checksums.
    let file = stack.dir.join("migrations/001_orders.sql");
    let before = sha256(&file);
    stack.write(
        "migrations/001_orders.sql",
        "CREATE TABLE orders (id BIGINT);\n",
    );
    let refused = stack.run(&["apply", "--yes"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.all().contains(&before) && refused.all().contains(&sha256(&file)),
        "{}",
        refused.all()
    );
    assert!(!refused.all().contains("maria-app-pw"), "{}", refused.all());
    stack.ok(&["destroy", "--yes"]);
}

#[test]
fn redis_is_waited_for_with_a_ping_and_an_unknown_engine_says_what_to_set() {
    let stack = Stack::new("cw-e2e-redis-conn");
    stack.write(
        "main.star",
        r#"
cache = DockerResource(name = "conn-redis", image = "redis:7-alpine")
app = DockerResource(name = "conn-app", image = "busybox:latest",
    command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"])
app.connect(DatabaseConnection(to_resource = cache, env_var_name = "REDIS_URL"))
"#,
    );
    stack.ok(&["apply", "--yes"]);
    let env = stack.inspect("conn-app")["Config"]["Env"].clone();
    assert!(
        env.as_array()
            .into_iter()
            .flatten()
            .any(|v| v == "REDIS_URL=redis://conn-redis:6379/0"),
        "{env}"
    );
    let journal =
        std::fs::read_to_string(stack.dir.join(".clockwork/journal.jsonl")).unwrap_or_default();
    assert!(
        journal
            .lines()
            .any(|l| l.contains("wait-for-db") && l.contains("\"done\"")),
        "the ping was waited for: {journal}"
    );
    stack.ok(&["destroy", "--yes"]);

    // An image it cannot place, and no `engine`: a located error naming
    // the field to set.
    stack.write(
        "main.star",
        r#"
store = DockerResource(name = "conn-store", image = "busybox:latest")
app = DockerResource(name = "conn-app", image = "busybox:latest")
app.connect(DatabaseConnection(to_resource = store))
"#,
    );
    let plan = stack.run(&["plan"]);
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(
        plan.all().contains("main.star:4")
            && plan.all().contains("`busybox:latest`")
            && plan.all().contains("set `engine`"),
        "{}",
        plan.all()
    );
}

#[test]
fn a_database_that_never_answers_fails_with_the_last_probe_output() {
    let stack = Stack::new("cw-e2e-db-timeout");
    // PostgreSQL listens on 5432; the connection waits on 5999.
    stack.write(
        "main.star",
        r#"
db = DockerResource(name = "late-db", image = "postgres:15-alpine",
    env_vars = {"POSTGRES_PASSWORD": "late-pw"}, ports = ["5999"])
app = DockerResource(name = "late-app", image = "busybox:latest", command = ["sleep", "300"])
app.connect(DatabaseConnection(to_resource = db, timeout = 3))
"#,
    );
    let failed = stack.run(&["apply", "--yes"]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    let said = failed.all();
    assert!(
        said.contains("the PostgreSQL readiness probe in `late-db`")
            && said.contains("within 3000 ms")
            && said.contains("5999"),
        "{said}"
    );
    assert!(
        stack.containers().iter().all(|c| c.name != "late-app"),
        "the app is not started"
    );
    stack.ok(&["destroy", "--yes"]);
}
