//! The setup steps of a connection, run inside the database container: the
//! readiness wait, then the schema and each migration.

use clockwork_sdk::connection::{RunWhen, SetupStep};
use clockwork_sdk::host::fs;
use clockwork_sdk::invalid;
use clockwork_sdk::prelude::*;

use clockwork_sdk::database::Login;

use crate::engine::{Engine, run_once as run_once_script};

/// The steps in order: each after the one before it.
#[derive(Default)]
struct Chain {
    steps: Vec<SetupStep>,
}

impl Chain {
    fn push(&mut self, id: String, when: RunWhen, action: Action) {
        let after = self
            .steps
            .last()
            .map(|s| s.id.clone())
            .into_iter()
            .collect();
        self.steps.push(SetupStep {
            id,
            when,
            after,
            action,
        });
    }
}

/// The setup steps `config` asks for, against `db`.
pub(crate) fn steps(config: &Value, db: &Login) -> Result<Vec<SetupStep>, PluginError> {
    let mut chain = Chain::default();
    if config["wait_for_ready"].as_bool().unwrap_or(true) {
        let timeout_ms = config["timeout"]
            .as_u64()
            .unwrap_or(30)
            .saturating_mul(1000);
        chain.push(
            "wait-for-db".into(),
            RunWhen::EveryApply,
            Action::Wait(wait(db, timeout_ms).to_string()),
        );
    }
    if let Some(schema) = config["schema_file"].as_str() {
        schema_exists(schema)?;
        chain.push(
            "schema".into(),
            RunWhen::OncePerContent,
            Action::Exec(run_once(db, schema, "the schema", "/schema_file")?),
        );
    }
    if let Some(dir) = config["migrations_dir"].as_str() {
        let dir = dir.trim_end_matches('/');
        let names = fs::list_dir("project", dir).map_err(|e| {
            invalid(
                Some("/migrations_dir"),
                format!("cannot list migrations folder `{dir}`: {}", e.message()),
            )
        })?;
        for name in names.iter().filter(|n| n.ends_with(".sql")) {
            let stem = name.trim_end_matches(".sql");
            chain.push(
                format!("migration-{stem}"),
                RunWhen::OncePerContent,
                Action::Exec(run_once(
                    db,
                    &format!("{dir}/{name}"),
                    "the migration",
                    "/migrations_dir",
                )?),
            );
        }
    }
    Ok(chain.steps)
}

/// The wait for the engine's readiness probe to succeed in the container.
fn wait(db: &Login, timeout_ms: u64) -> Value {
    let mut probe = json!({
        "container": db.host,
        "argv": db.engine.ready_probe(db.port, &db.user, &db.database),
        "label": format!("the {} readiness probe", db.engine.shown()),
    });
    if db.engine == Engine::Redis && !db.password.is_empty() {
        probe["env"] = json!({"REDISCLI_AUTH": db.password});
    }
    json!({"exec": probe, "timeout_ms": timeout_ms})
}

/// That the schema file is a file of the project.
fn schema_exists(schema: &str) -> Result<(), PluginError> {
    match fs::stat("project", schema) {
        Ok(Some(stat)) if !stat.is_dir => Ok(()),
        Ok(_) => Err(invalid(
            Some("/schema_file"),
            format!("schema file `{schema}` does not exist in the project"),
        )),
        Err(e) => Err(invalid(
            Some("/schema_file"),
            format!("cannot read schema file `{schema}`: {}", e.message()),
        )),
    }
}

/// The exec that runs the SQL file `file` (`kind`, named by `field`).
fn run_once(db: &Login, file: &str, kind: &str, field: &str) -> Result<String, PluginError> {
    // Each SQL file runs once, recorded in the database itself (so a lost
    // `.clockwork/` or another project on the same database does not run it
    // again), in a transaction of its own with its record.
    let Some(script) = run_once_script(db.engine) else {
        return Err(invalid(
            Some(field),
            format!(
                "`{}` runs {}, which has no schema or migrations: leave out `schema_file` and `migrations_dir`",
                db.host,
                db.engine.shown()
            ),
        ));
    };
    let sha = sha256_of(file)?;
    let mut exec = json!({
        "container": db.host,
        "argv": ["sh", "-c", script, "clockwork-sql", file, sha, db.user, db.database, db.port.to_string()],
        "stdin_file": file,
        "label": format!("{kind} `{file}`"),
    });
    if db.engine == Engine::MySql {
        exec["env"] = json!({"MYSQL_PWD": db.password});
    }
    Ok(exec.to_string())
}

/// The SHA-256 of a project file, hex.
fn sha256_of(file: &str) -> Result<String, PluginError> {
    use sha2::Digest;
    let bytes = fs::read("project", file, 64 << 20)
        .map_err(|e| PluginError::Failed(format!("cannot read `{file}`: {}", e.message())))?;
    Ok(sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_runs_after_the_one_before() {
        let mut chain = Chain::default();
        for id in ["wait-for-db", "schema", "migration-001"] {
            chain.push(id.into(), RunWhen::EveryApply, Action::Wait(String::new()));
        }
        let after: Vec<Vec<String>> = chain.steps.iter().map(|s| s.after.clone()).collect();
        assert_eq!(
            after,
            [
                vec![],
                vec!["wait-for-db".to_string()],
                vec!["schema".to_string()]
            ]
        );
    }
}
