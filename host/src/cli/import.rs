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
    let target = out
        .filter(|o| *o != Path::new("-"))
        .map(|o| absolute(dir, o));
    let project_dir = match &target {
        Some(t) => folder_to_write_in(t, out, dir)?,
        None => dir.clone(),
    };
    let compose_path = absolute(dir, file);
    let text = crate::import::read::compose_file(&compose_path).map_err(|e| CliError::Usage {
        // Names in backticks before a colon: `secrets.yml: it is …` would
        // read as `name: value` to the output's masking.
        message: format!("cannot read the Compose file `{}`: {e}", shown(file)),
        help: unreadable_help(&e, file).into(),
    })?;
    let compose_dir = compose_path
        .parent()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .unwrap_or_else(|| crate::import::folder_of(&compose_path, dir));
    let env_files = env_files(&compose_dir, compose, dir)?;
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
    say_what_to_look_at(&imported, &env_files, &file_name);
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
        None => print_as_is(&imported.starlark)?,
    }
    Ok(EXIT_OK)
}

/// `p`, relative to the project folder `dir` unless absolute.
fn absolute(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

/// The folder `-o` writes `target` into (the project folder of the
/// `main.star` written), canonical; refused when `target` exists.
fn folder_to_write_in(target: &Path, out: Option<&Path>, dir: &Path) -> Result<PathBuf, CliError> {
    if target.exists() {
        return Err(CliError::Usage {
            message: format!(
                "{} exists: `clockwork import` writes nothing over a file",
                shown(out.unwrap_or(target))
            ),
            help: "name a new file with `-o`, print it with `-o -`, or move the existing one away first".into(),
        });
    }
    let parent = target.parent().unwrap_or(dir);
    std::fs::canonicalize(parent).map_err(|e| CliError::Usage {
        message: format!("cannot write into {}: {e}", shown(parent)),
        help: "`-o` names a file in an existing folder, e.g. `-o main.star`".into(),
    })
}

/// What to do about a Compose file that could not be read.
fn unreadable_help(e: &ReadError, file: &Path) -> &'static str {
    if matches!(e, ReadError::NotFound(_)) && file == Path::new("docker-compose.yml") {
        "name it: `clockwork import path/to/compose.yaml` (relative to the project folder)"
    } else if matches!(e, ReadError::NotFound(_) | ReadError::Io(_)) {
        "a path relative to the project folder (`-C`), or an absolute one"
    } else {
        "a Compose file is a YAML text file, e.g. `docker-compose.yml`"
    }
}

/// The env files the import may read: those in the Compose file's folder,
/// and those allowed with `--allow-env-file`.
fn env_files(
    compose_dir: &Path,
    compose: &ComposeFile,
    dir: &Path,
) -> Result<ComposeFolder, CliError> {
    let mut env_files = ComposeFolder::open(compose_dir).map_err(|source| CliError::Io {
        what: compose_dir.display().to_string(),
        source,
    })?;
    for allowed in &compose.allow_env_file {
        env_files
            .allow(&shown(allowed), &absolute(dir, allowed))
            .map_err(|e| CliError::Usage {
                message: e.to_string(),
                help:
                    "name an existing env file, relative to the project folder (`-C`) or absolute"
                        .into(),
            })?;
    }
    Ok(env_files)
}

/// Notes, on stderr, what was not translated as it was, the env files
/// allowed in vain, the secrets to set and what to review.
fn say_what_to_look_at(
    imported: &crate::import::Imported,
    env_files: &ComposeFolder,
    file_name: &str,
) {
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
}

/// The document itself, byte for byte: `output::emit` masks passwords,
/// which would corrupt the file a user redirects.
fn print_as_is(starlark: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(starlark.as_bytes())
        .and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(CliError::Io {
            what: "stdout".into(),
            source: e,
        });
    }
    Ok(())
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_compose_file_gets_help_that_fits_why() {
        let missing = || ReadError::NotFound(std::io::ErrorKind::NotFound.into());
        let default = Path::new("docker-compose.yml");
        let named = Path::new("deploy/compose.yaml");
        assert!(unreadable_help(&missing(), default).starts_with("name it:"));
        assert!(unreadable_help(&missing(), named).starts_with("a path relative"));
        assert!(unreadable_help(&ReadError::NotText, named).starts_with("a Compose file is"));
    }
}
