//! `clockwork import docker-compose.yml [-o main.star]`: a Compose file
//! translated into a `main.star` (see [`crate::import`]), printed or
//! written to a new file; what is not translated is listed on stderr.
//!
//! The Compose file and its env files are read through
//! [`crate::import::read`]: bounded, regular files only, and env files only
//! from the Compose file's folder unless allowed with `--allow-env-file`.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::args::ComposeFile;
use crate::cli::{CliError, EXIT_INVALID, EXIT_OK, Invocation};
use crate::import::read::{ComposeFolder, ReadError};
use crate::import::{Input, import};
use crate::output;

/// `clockwork import FILE [--allow-env-file F]… [-o OUT]`.
pub fn run(
    invocation: &Invocation,
    compose: &ComposeFile,
    out: Option<&Path>,
) -> Result<u8, CliError> {
    let file = compose.path.as_path();
    let dir = &invocation.project.dir;
    let absolute = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    let target = out.filter(|o| *o != Path::new("-")).map(absolute);
    let shown = |p: &Path| p.display().to_string();
    let project_dir = match &target {
        Some(t) => {
            if t.exists() {
                return Err(CliError::Usage {
                    message: format!(
                        "{} exists: `clockwork import` writes nothing over a file",
                        shown(out.unwrap_or(t))
                    ),
                    help: "name a new file with `-o`, print it with `-o -`, or move the existing one away first".into(),
                });
            }
            let parent = t.parent().unwrap_or(dir);
            std::fs::canonicalize(parent).map_err(|e| CliError::Usage {
                message: format!("cannot write into {}: {e}", shown(parent)),
                help: "`-o` names a file in an existing folder, e.g. `-o main.star`".into(),
            })?
        }
        None => dir.clone(),
    };
    let compose_path = absolute(file);
    let text = crate::import::read::compose_file(&compose_path).map_err(|e| CliError::Usage {
        // Names in backticks before a colon: `secrets.yml: it is …` would
        // read as `name: value` to the output's masking.
        message: format!("cannot read the Compose file `{}`: {e}", shown(file)),
        help: if matches!(e, ReadError::NotFound(_)) && file == Path::new("docker-compose.yml") {
            "name it: `clockwork import path/to/compose.yaml` (relative to the project folder)"
                .into()
        } else if matches!(e, ReadError::NotFound(_) | ReadError::Io(_)) {
            "a path relative to the project folder (`-C`), or an absolute one".into()
        } else {
            "a Compose file is a YAML text file, e.g. `docker-compose.yml`".into()
        },
    })?;
    let compose_dir = compose_path
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .unwrap_or_else(|| crate::import::folder_of(&compose_path, dir));
    let mut env_files = ComposeFolder::open(&compose_dir).map_err(|source| CliError::Io {
        what: compose_dir.display().to_string(),
        source,
    })?;
    for allowed in &compose.allow_env_file {
        env_files
            .allow(&shown(allowed), &absolute(allowed))
            .map_err(|e| CliError::Usage {
                message: e.to_string(),
                help:
                    "name an existing env file, relative to the project folder (`-C`) or absolute"
                        .into(),
            })?;
    }
    let file_name = shown(file);
    let input = Input {
        file: &file_name,
        text: text.strip_prefix('\u{feff}').unwrap_or(&text),
        compose_dir: &compose_dir,
        project_dir: &project_dir,
        env_files: &env_files,
    };
    let imported = match import(&input) {
        Ok(imported) => imported,
        Err(e) => {
            let problems = e.problems();
            for p in &problems {
                output::diagnostic(*p);
            }
            output::note(&match problems.len() {
                1 => format!("{file_name} was not imported: nothing was written"),
                n => format!("{n} problems in `{file_name}`: nothing was written"),
            });
            return Ok(EXIT_INVALID);
        }
    };
    for item in &imported.items {
        output::note(&item.message());
    }
    for unused in env_files.unused() {
        output::note(&format!(
            "`--allow-env-file {unused}`: no `env_file` of {file_name} leads to it, so it was not read"
        ));
    }
    if !imported.secrets.is_empty() {
        output::note(&format!(
            "main.star reads {} secret(s) of env files with `env()` instead of copying them: set {} in .env or the environment before `clockwork plan`",
            imported.secrets.len(),
            crate::import::secrets_to_set(&imported.secrets)
        ));
    }
    let review = imported
        .items
        .iter()
        .filter(|i| i.kind == crate::import::ItemKind::Review)
        .count();
    if review > 0 {
        output::note(&format!(
            "REVIEW: {review} setting(s) of {file_name} would give containers access to this machine (listed above with `review:`, marked REVIEW in main.star); mounts of folders outside the project are commented out, for you to turn on"
        ));
    }
    match &target {
        Some(t) => {
            write_new(t, &imported.starlark).map_err(|source| CliError::Io {
                what: shown(t),
                source,
            })?;
            let plan = if project_dir == *dir {
                "`clockwork plan`".to_string()
            } else {
                format!("`clockwork -C {} plan`", project_dir.display())
            };
            output::note(&format!(
                "wrote {} from {file_name}; {plan} shows what it declares",
                shown(out.unwrap_or(t))
            ));
        }
        None => {
            // The document itself, byte for byte: `output::emit` masks
            // passwords, which would corrupt the file a user redirects.
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = stdout
                .write_all(imported.starlark.as_bytes())
                .and_then(|()| stdout.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(CliError::Io {
                    what: "stdout".into(),
                    source: e,
                });
            }
        }
    }
    Ok(EXIT_OK)
}

/// Writes a file that must not exist yet.
fn write_new(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}
