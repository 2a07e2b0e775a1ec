//! `clockwork import`: a Compose file translated into an idiomatic
//! `main.star`.
//!
//! ```text
//! docker-compose.yml ──compose::read──▶ services ──translate──▶ declarations ──starlark::write──▶ main.star
//! ```
//!
//! Pure: the Compose text (and the env files it names, through
//! [`Input::env_files`], which [`read`] implements on the file system) in,
//! the Starlark text and the list of what was not translated out. The same input always gives the same output, in the
//! file's own order. Whatever Compose says that Clockwork cannot express is
//! an [`Item`], written as a comment at its service and returned for the
//! command to print: nothing is dropped silently.

mod compose;
mod error;
mod interp;
mod locate;
mod ordered;
pub mod read;
mod secrets;
mod starlark;
mod translate;

use std::path::{Path, PathBuf};

pub use compose::SecretToSet;
pub use error::ImportError;

/// What to import.
pub struct Input<'a> {
    /// The Compose file as the user named it, for messages and the header.
    pub file: &'a str,
    /// Its text.
    pub text: &'a str,
    /// Its folder (absolute): Compose's relative paths start there.
    pub compose_dir: &'a Path,
    /// The folder main.star is for (absolute): Clockwork's relative paths
    /// start there, and its `.env` is what `env()` reads.
    pub project_dir: &'a Path,
    /// Reads the env files the Compose file names, by the path it writes.
    pub env_files: &'a dyn read::EnvFiles,
}

impl Input<'_> {
    /// A bind mount's source as DockerResource takes it: `./…` inside the
    /// project folder, else (`Err`) the absolute path.
    fn bind_source(&self, source: &str) -> Result<String, String> {
        let full = read::normalise(&self.compose_dir.join(source));
        let project = read::normalise(self.project_dir);
        match full.strip_prefix(&project) {
            Ok(rel) if rel.as_os_str().is_empty() => Ok(".".into()),
            Ok(rel) => Ok(format!("./{}", rel.display())),
            Err(_) => Err(full.display().to_string()),
        }
    }

    /// The Compose project name of the file's folder, as Compose makes it.
    fn folder_project(&self) -> String {
        self.compose_dir
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect()
    }
}

/// The result of an import.
#[derive(Debug)]
pub struct Imported {
    /// main.star.
    pub starlark: String,
    /// What was not translated, or translated with a difference, in file
    /// order.
    pub items: Vec<Item>,
    /// The secrets of env files that main.star reads with `env()`, which
    /// the user must set in `.env` or the environment: names, never values.
    pub secrets: Vec<SecretToSet>,
}

/// A key of the Compose file that main.star does not say as Compose did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The service, or `None` for a top-level key.
    pub service: Option<String>,
    /// The key below the service (`build`, `volumes[2]`) or at the top.
    pub key: String,
    /// Its line in the Compose file, where found.
    pub line: Option<usize>,
    /// Left out, or translated with a difference.
    pub kind: ItemKind,
    /// Why, and what to do instead.
    pub reason: String,
}

/// How far an [`Item`] is from what Compose does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Not in main.star at all.
    NotTranslated,
    /// In main.star, with the difference said.
    Note,
    /// Something the Compose file asks that would give a container access
    /// to this machine: main.star holds it for the user to turn on, or
    /// says what it grants.
    Review,
}

impl Item {
    /// The line `clockwork import` prints on stderr:
    /// `` `web`: `build`: not translated (…) ``.
    ///
    /// Names and keys are in backticks: besides being the style of every
    /// message, that keeps a key that looks secret (`secrets`, a service
    /// called `token`) from reading as `name: value` to the output's
    /// masking, which masked the word after it (`secrets: *** translated`).
    pub fn message(&self) -> String {
        let place = match &self.service {
            Some(s) => format!("`{s}`: `{}`", self.key),
            None => format!("`{}`", self.key),
        };
        // One line: what it quotes of the file may hold a line break or
        // a terminal's escape character.
        error::one_line(&match self.kind {
            ItemKind::NotTranslated => format!("{place}: not translated ({})", self.reason),
            ItemKind::Note => format!("{place}: note: {}", self.reason),
            ItemKind::Review => format!("{place}: review: {}", self.reason),
        })
    }

    /// The comment at its service in main.star.
    fn comment(&self) -> String {
        let line = self
            .line
            .map(|l| format!(" (line {l})"))
            .unwrap_or_default();
        match self.kind {
            ItemKind::NotTranslated => {
                format!("  not translated: {}{line}: {}", self.key, self.reason)
            }
            ItemKind::Note => format!("  note: {}{line}: {}", self.key, self.reason),
            ItemKind::Review => format!("  REVIEW: {}{line}: {}", self.key, self.reason),
        }
    }
}

/// Translates a Compose file. Fails, writing nothing, when the file is not
/// a Compose file Clockwork can read, with every problem located.
pub fn import(input: &Input<'_>) -> Result<Imported, ImportError> {
    let (mut compose, mut items, secrets) = compose::read(input)?;
    let prepared = translate::prepare(&compose);
    secrets.name(&mut compose, &mut items, &|service, name| {
        prepared.takes_over(service, name)
    });
    let (declarations, added) = translate::translate(&compose, &prepared, &items);
    items.extend(added);
    let header = header(input, &compose, &items);
    let starlark = starlark::write(&header, &declarations);
    Ok(Imported {
        starlark,
        items,
        secrets: compose.secrets,
    })
}

fn header(input: &Input<'_>, compose: &compose::Compose, items: &[Item]) -> Vec<String> {
    let mut lines = vec![
        format!(
            "main.star, imported from {} by `clockwork import`.",
            input.file
        ),
        String::new(),
    ];
    let mut about =
        "Each Compose service is a DockerResource; `depends_on` became `.connect(DependencyConnection(...))`, which orders and adds nothing. \
        `${VAR}` became `env(\"VAR\", …)`, which reads the environment or .env as Compose did. \
        Services without `restart` keep Compose's default, `restart_policy = \"no\"`."
            .to_string();
    if compose.uses_networks {
        about.push_str(
            " Every container also joins the project's own network, so services that Compose kept on separate networks can reach each other here.",
        );
    }
    lines.push(about);
    let secrets: Vec<String> = compose
        .services
        .iter()
        .flat_map(|s| {
            s.env.values().filter_map(move |e| match &e.value {
                compose::EnvValue::Text(t)
                    if !t.has_vars()
                        && e.file.is_none()
                        && crate::secret::is_secret_name(&e.name) =>
                {
                    Some(format!("`{}` of `{}`", e.name, s.key))
                }
                _ => None,
            })
        })
        .collect();
    if !secrets.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Secrets written as values in the Compose file stay as written ({}); Clockwork masks them in what it prints. To keep one out of this file, write `env(\"NAME\")` and put it in .env.",
            secrets.join(", ")
        ));
    }
    if !compose.secrets.is_empty() {
        lines.push(String::new());
        lines.push(format!(
            "Secrets of env files are not copied here: `env()` reads them from .env or the environment, so set {} there before `clockwork plan`.",
            secrets_to_set(&compose.secrets)
        ));
    }
    let review = items.iter().filter(|i| i.kind == ItemKind::Review).count();
    if review > 0 {
        lines.push(String::new());
        lines.push(format!(
            "REVIEW before `clockwork apply`: {review} setting(s) of the Compose file would give containers access to this machine (marked REVIEW at each service below). Mounts of folders outside the project are commented out: what you uncomment, you grant."
        ));
    }
    let top: Vec<&Item> = items.iter().filter(|i| i.service.is_none()).collect();
    let at_services = items
        .iter()
        .filter(|i| i.service.is_some() && i.kind == ItemKind::NotTranslated)
        .count();
    if !top.is_empty() || at_services > 0 {
        lines.push(String::new());
        lines.push(match at_services {
            0 => "Not translated (also printed by `clockwork import`):".to_string(),
            n => format!(
                "Not translated (also printed by `clockwork import`): {n} key(s) of services, listed at each service below{}",
                if top.is_empty() { "." } else { ", and:" }
            ),
        });
        lines.extend(top.iter().map(|i| i.comment()));
    }
    lines.push(String::new());
    lines.push("`clockwork plan` shows what this declares; `clockwork apply` runs it.".to_string());
    lines
}

/// `` `A` (from ./db.env) and `B` (from ./app.env of `api`, where it is `X`) ``:
/// what the user must set, names only.
pub fn secrets_to_set(secrets: &[SecretToSet]) -> String {
    let shown: Vec<String> = secrets
        .iter()
        .map(|s| {
            if s.reference == s.name {
                format!("`{}` (from {})", s.reference, s.file)
            } else {
                format!(
                    "`{}` (from {} of `{}`, where it is `{}`)",
                    s.reference,
                    s.file,
                    s.services.first().map(String::as_str).unwrap_or_default(),
                    s.name
                )
            }
        })
        .collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The absolute folder of a file path (relative ones taken from `base`).
pub fn folder_of(file: &Path, base: &Path) -> PathBuf {
    let full = if file.is_absolute() {
        file.to_path_buf()
    } else {
        base.join(file)
    };
    read::normalise(full.parent().unwrap_or(Path::new("/")))
}

#[cfg(test)]
mod tests;
