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
