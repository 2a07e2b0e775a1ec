//! `clockwork init [TEMPLATE]`: a commented `main.star` for a folder that
//! has none, and a `.gitignore` line for `.clockwork/`. It never overwrites
//! a project file.

use std::io::Write;

use crate::cli::{CliError, EXIT_OK, Invocation};
use crate::output;

/// What `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// A web app with PostgreSQL and Redis.
    Web,
    /// Only comments: where to start.
    Empty,
}

const WEB: &str = r#"# main.star: a web app with PostgreSQL and Redis, written by `clockwork init`.
#
#   clockwork plan      what `apply` would do, field by field
#   clockwork apply     bring it up on the Docker Engine, in dependency order
#   clockwork status    how each resource stands (alias: ps)
#   clockwork assert    check it: what the declarations imply, and your assertions
#   clockwork destroy   take it down
#
# Fields left out are completed by rules (official images, readiness checks,
# connection URLs) and recorded in clockwork.lock; what you write always wins.

# The database. Its password comes from the environment or from .env
# (DB_PASSWORD=...), with a default for a first try: change it. Secrets are
# masked in everything Clockwork prints or writes.
db = DockerResource(
    name = "db",
    image = "postgres:15-alpine",
    env_vars = {
        "POSTGRES_USER": "app",
        "POSTGRES_PASSWORD": env("DB_PASSWORD", "change-me"),
        "POSTGRES_DB": "app",
    },
)

# A cache. Its readiness check comes from the rules.
cache = DockerResource(name = "cache", image = "redis:7-alpine")

# The web app: put your image here. It starts once the database and the
# cache are ready, and gets DATABASE_URL (from the connection) and
# REDIS_URL (from the rules) in its environment.
web = DockerResource(
    name = "web",
    image = "nginx:alpine",
    ports = ["8080:80"],
)
web.connect(DatabaseConnection(to_resource = db))
web.connect(cache)

# A check of your own, run by `clockwork assert`:
# web.assertions = [HealthcheckAssert(url = "http://localhost:8080/")]
"#;

const EMPTY: &str = r#"# main.star, written by `clockwork init`.
#
# Declare resources, connect them, and let `clockwork apply` bring them up:
#
#   db = DockerResource(name = "db", image = "postgres:15-alpine",
#       env_vars = {"POSTGRES_PASSWORD": env("DB_PASSWORD", "change-me")})
#   app = DockerResource(name = "app", image = "nginx:alpine", ports = ["8080:80"])
#   app.connect(DatabaseConnection(to_resource = db))
#
# `clockwork plugins list` shows every type; `clockwork plugins inspect TYPE`
# its fields.
"#;

/// `clockwork init [TEMPLATE]`.
pub fn run(invocation: &Invocation, template: Template) -> Result<u8, CliError> {
    let dir = &invocation.project.dir;
    for existing in ["main.star", "main.py"] {
        if dir.join(existing).exists() {
            return Err(CliError::Usage {
                message: format!(
                    "{existing} exists: `clockwork init` writes nothing over a project"
                ),
                help: "`clockwork plan` shows what it declares".into(),
            });
        }
    }
    let text = match template {
        Template::Web => WEB,
        Template::Empty => EMPTY,
    };
    let io = |what: &str| {
        let what = what.to_string();
        move |source| CliError::Io { what, source }
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join("main.star"))
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(io("main.star"))?;
    let gitignore = dir.join(".gitignore");
    // Bounded, and never a FIFO waited on: what is there may be anything.
    let current = match crate::project::read_file_limited(&gitignore, 4 << 20) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if e.is_not_found() => String::new(),
        Err(e) => {
            output::note(&format!(
                "`.gitignore` was left as it is ({e}): add `.clockwork/` to it yourself"
            ));
            // Taken as listed: nothing is appended to what could not be read.
            ".clockwork/".to_string()
        }
    };
    let listed = current.lines().any(|l| {
        matches!(
            l.trim(),
            ".clockwork" | ".clockwork/" | "/.clockwork" | "/.clockwork/"
        )
    });
    if !listed {
        let mut add = String::new();
        if !current.is_empty() && !current.ends_with('\n') {
            add.push('\n');
        }
        add.push_str(
            "# Clockwork's state and certificates: this machine's, never committed\n.clockwork/\n",
        );
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&gitignore)
            .and_then(|mut f| f.write_all(add.as_bytes()))
            .map_err(io(".gitignore"))?;
    }
    output::emit(&format!(
        "wrote main.star{}; `clockwork plan` shows what it declares\n",
        if listed {
            ""
        } else {
            " and a .gitignore line for .clockwork/"
        }
    ));
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `init` in a folder holding `files`; the folder and the outcome.
    fn init(
        files: &[(&str, &str)],
        template: Template,
    ) -> (tempfile::TempDir, Result<u8, CliError>) {
        let tmp = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            std::fs::write(tmp.path().join(name), text).expect("write");
        }
        let invocation = Invocation {
            project: crate::project::Project::open(tmp.path()).expect("project"),
            cache_root: None,
            verbosity: 0,
            model_flags: crate::complete::ModelFlags {
                model: None,
                base_url: None,
            },
            refresh: None,
        };
        let outcome = run(&invocation, template);
        (tmp, outcome)
    }

    fn read(dir: &tempfile::TempDir, name: &str) -> String {
        std::fs::read_to_string(dir.path().join(name)).unwrap_or_default()
    }

    #[test]
    fn a_project_file_already_there_is_never_written_over() {
        for existing in ["main.star", "main.py"] {
            let (dir, outcome) = init(&[(existing, "# mine\n")], Template::Web);
            let Err(CliError::Usage { message, .. }) = outcome else {
                panic!("refused");
            };
            assert_eq!(
                message,
                format!("{existing} exists: `clockwork init` writes nothing over a project")
            );
            assert_eq!(read(&dir, existing), "# mine\n");
            assert_eq!(read(&dir, ".gitignore"), "", "nothing else written");
        }
    }

    #[test]
    fn a_new_project_gets_its_template_and_the_state_folder_ignored() {
        let (dir, outcome) = init(&[], Template::Empty);
        assert_eq!(outcome.expect("written"), EXIT_OK);
        assert_eq!(read(&dir, "main.star"), EMPTY);
        assert!(read(&dir, ".gitignore").ends_with("\n.clockwork/\n"));

        let (dir, _) = init(&[], Template::Web);
        assert!(read(&dir, "main.star").contains("DatabaseConnection(to_resource = db)"));
    }

    #[test]
    fn the_ignore_line_is_added_once_after_what_the_gitignore_holds() {
        let (dir, _) = init(&[(".gitignore", "target")], Template::Empty);
        let text = read(&dir, ".gitignore");
        assert!(text.starts_with("target\n# Clockwork's state"), "{text}");
        assert_eq!(text.matches(".clockwork/").count(), 1, "{text}");

        for listed in [".clockwork", "/.clockwork/", "  .clockwork/  "] {
            let before = format!("target\n{listed}\n");
            let (dir, _) = init(&[(".gitignore", before.as_str())], Template::Empty);
            assert_eq!(
                read(&dir, ".gitignore"),
                before,
                "already listed as `{listed}`"
            );
        }
    }
}
