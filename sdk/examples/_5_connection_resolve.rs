//! A connection type that contributes to both ends:
//! `api.connect(PostgresConnection(to_resource=db, init_script="schema.sql"))`
//! gives `api` a `DATABASE_URL` for the `PostgresDatabase` of example 4 and
//! mounts the script into `db`.
//!
//! `resolve` runs while the project is planned, before any resource is:
//! what it returns is merged into the endpoints' configs, so their own
//! `plan` sees the variable and the mount as if the user had written them.
//! A patch is typed (variables, networks, aliases, mounts) because the host
//! adds each kind to whichever field of the endpoint's type `receives` it,
//! whatever that type calls the field (`env_vars`, `environment`, ...).

use clockwork_sdk::clockwork_schema::check_project_path;
use clockwork_sdk::connection::{Contribution, Mount, MountSource, ResolveInput};
use clockwork_sdk::invalid;
use clockwork_sdk::prelude::*;

struct PostgresLink;

impl ConnectionPlugin for PostgresLink {
    fn meta() -> PluginMeta {
        PluginMeta {
            name: "postgres-connection".into(),
            version: "0.1.0".into(),
            summary: "connects applications to PostgresDatabase".into(),
            homepage: None,
        }
    }

    fn types() -> Vec<TypeDef> {
        vec![
            TypeDef::new(
                "PostgresConnection",
                "Gives the connecting container the URL of a `PostgresDatabase` and starts it after the database is healthy.",
            )
            // Restricting the target's type lets the host refuse another
            // one where the user wrote it, and lets `resolve` read the
            // target's fields by their names.
            .field(Field::new(
                "to_resource",
                "resource<PostgresDatabase>",
                "The database to connect to.",
            ))
            .field(fields::description())
            .field(
                Field::new("env_var_name", "string", "The variable that receives the URL.")
                    .default(json!("DATABASE_URL")),
            )
            .field(
                Field::new(
                    "init_script",
                    "string",
                    "An SQL file of the project that the database runs when it is first created.",
                )
                .example(json!("schema.sql")),
            ),
        ]
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config = input.config_json()?;
        let db = &input.to_resource;
        if db.target.type_name != "PostgresDatabase" {
            return Err(invalid(
                Some("/to_resource"),
                format!(
                    "`{}` is a {}, not a PostgresDatabase",
                    db.target.name, db.target.type_name
                ),
            ));
        }
        // An endpoint's config is what its user wrote plus what earlier
        // connections added; the host fills defaults only after every
        // connection resolved. So the target type's defaults are repeated.
        let fields = db.config_json()?;
        let field = |key: &str| fields[key].as_str().unwrap_or("app");
        let Some(password) = fields["password"].as_str() else {
            return Err(invalid(
                None,
                format!("`{}` has no `password`", db.target.name),
            ));
        };
        // The target's name and its container port, never a published one:
        // both ends are on the project network, where it answers by name.
        let url = format!(
            "postgresql://{}:{}@{}:5432/{}",
            escape(field("user")),
            escape(password),
            db.target.name,
            escape(field("database")),
        );
        let variable = config["env_var_name"]
            .as_str()
            .unwrap_or("DATABASE_URL")
            .to_string();

        // The edge: `from` (the application) deploys after `to` (the
        // database), which the host waits for until its health check passes.
        let mut contribution = Contribution::ordering_only();
        contribution
            .from_patch
            .env
            .push((variable.clone(), url.clone()));
        // Shown by `clockwork plan`; the host masks the password in it.
        contribution.outputs.push((variable, url));

        if let Some(script) = config["init_script"].as_str() {
            // Checked here, so that a bad path is reported at this
            // connection rather than at the database's mount.
            check_project_path("init_script", script, "schema.sql")
                .map_err(|message| invalid(Some("/init_script"), message))?;
            let file = script.rsplit('/').next().unwrap_or(script);
            contribution.to_patch.mounts.push(Mount {
                // `./` makes it a path of the project, not a named volume.
                source: MountSource::Bind(format!("./{}", script.trim_start_matches("./"))),
                target: format!("/docker-entrypoint-initdb.d/{file}"),
                read_only: true,
            });
        }
        Ok(contribution)
    }
}

/// Percent-encodes all but URL-safe characters, so that a password holding
/// `@` or `/` keeps the URL valid.
fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

export_connection_plugin!(PostgresLink);
