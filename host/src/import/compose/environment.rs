//! A service's `environment` and `env_file`: values, secrets, and env
//! files read only beneath the Compose file's folder.

use std::collections::{HashMap, HashSet};

use serde_yaml_ng::Value;

use crate::import::interp::Text;
use crate::import::locate::Seg;
use crate::import::read::ReadError;
use crate::import::secrets::holds_secret;
use crate::project::dotenv::DotenvValue;

use super::model::{EnvValue, EnvVar, Service};
use super::{ENV_FILES_BUDGET, Reader, entries, key, scalar, unquoted_if_secret, with};
use crate::import::read::normalise;

/// What the env files of a service set above a line (the file's lines
/// above it, and the files before), which its `${…}` reads first; and
/// whether each is a secret (a value built from one is one too).
type SetAbove = HashMap<String, (Text, bool)>;

/// An env file read.
struct EnvFile {
    /// Its path, as the Compose file writes it.
    file: String,
    text: String,
    /// Whether it is the project's `.env`, which Clockwork reads itself.
    dotenv: bool,
}

/// The first line (from 1) of `text` that no env file holds: one whose
/// name Clockwork would not take for a variable, or that looks like a
/// piece of a key rather than a name (long, letters and digits mixed, no
/// `_`: a line of base64 or hex).
pub(super) fn not_an_env_file(text: &str) -> Option<usize> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A name Compose takes (`SPRING.PROFILE` too, which is said of at its
    // line).
    let name_like = |name: &str| {
        !name.is_empty()
            && name.len() <= 256
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            && !looks_random(name)
    };
    text.lines().enumerate().find_map(|(i, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let name_ok = match line.split_once('=') {
            Some((name, _)) => name_like(name.trim()),
            None => name_like(line) && clockwork_schema::valid_env_name(line),
        };
        (!name_ok).then_some(i + 1)
    })
}

/// Whether a name looks like a piece of a key, not a variable's name:
/// twenty characters or more, without `_`, with digits among letters.
pub(super) fn looks_random(name: &str) -> bool {
    name.len() >= 20
        && !name.contains('_')
        && name.chars().any(|c| c.is_ascii_digit())
        && name.chars().any(|c| c.is_ascii_alphabetic())
}

impl Reader<'_, '_> {
    pub(super) fn environment(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        s: &mut Service,
    ) {
        let mut set = |reader: &mut Self, k: String, v: EnvValue, at: &[Seg]| {
            if !clockwork_schema::valid_env_name(&k) {
                reader.skip(Some(service), at, format!(
                    "`{k}` is not a name Clockwork accepts for a variable (letters, digits and `_`, not starting with a digit)"
                ));
                return;
            }
            s.env.put(EnvVar {
                name: k,
                value: v,
                file: None,
            });
        };
        match value {
            Value::Mapping(m) => {
                for (k, v) in entries(m) {
                    let at = with(at, key(&k));
                    let value = match v {
                        Value::Null => EnvValue::Passthrough,
                        other => match scalar(other) {
                            Some(raw) => match self.text(&at, &raw) {
                                Some(t) => EnvValue::Text(t),
                                None => continue,
                            },
                            None => {
                                self.expected(
                                    &at,
                                    "a string, a number or nothing",
                                    other,
                                    "LOG_LEVEL: info",
                                );
                                continue;
                            }
                        },
                    };
                    set(self, k, value, &at);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = with(at, Seg::Index(i));
                    let Some(line) = scalar(item) else {
                        self.expected(&at, "a string `NAME=value`", item, "- LOG_LEVEL=info");
                        continue;
                    };
                    let (k, value) = match line.split_once('=') {
                        Some((k, raw)) => match self.text_named(&at, raw, Some(k)) {
                            Some(t) => (k.to_string(), EnvValue::Text(t)),
                            None => continue,
                        },
                        None => (line.clone(), EnvValue::Passthrough),
                    };
                    set(self, k, value, &at);
                }
            }
            other => self.expected(
                at,
                "a mapping or a list",
                other,
                "environment: {LOG_LEVEL: info}",
            ),
        }
    }

    pub(super) fn env_files(&mut self, at: &[Seg], value: &Value, s: &mut Service) {
        let items: Vec<(Vec<Seg>, &Value)> = match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (with(at, Seg::Index(i)), v))
                .collect(),
            other => vec![(at.to_vec(), other)],
        };
        let mut set_above: SetAbove = HashMap::new();
        for (at, item) in items {
            if let Some(env_file) = self.read_env_file(&at, item, s) {
                self.env_file_vars(&at, &env_file, &mut set_above, s);
            }
        }
    }

    /// The env file an `env_file` entry names, read; none when it is
    /// optional and missing, or cannot be read or taken for one.
    fn read_env_file(&mut self, at: &[Seg], item: &Value, s: &Service) -> Option<EnvFile> {
        let (file, required) = match item {
            Value::Mapping(m) => (
                m.get("path").and_then(scalar),
                !matches!(m.get("required"), Some(Value::Bool(false))),
            ),
            other => (scalar(other), true),
        };
        let Some(file) = file else {
            self.expected(at, "a path", item, "env_file: ./app.env");
            return None;
        };
        if self.env_bytes > ENV_FILES_BUDGET {
            // Said once, at the entry that went past it.
            return None;
        }
        let text = match self.input.env_files.read(&file) {
            Ok(text) => text,
            Err(ReadError::NotFound(_)) if !required => return None,
            Err(e) => {
                self.env_file_refused(&s.key, at, &file, &e);
                return None;
            }
        };
        self.env_bytes += text.len() as u64;
        if self.env_bytes > ENV_FILES_BUDGET {
            self.problem(
                at,
                format!(
                    "the env files of the services add up to more than {} (each file counted at each service that names it), the most `clockwork import` reads",
                    crate::import::read::size(ENV_FILES_BUDGET)
                ),
                Some("name fewer or smaller env files; Clockwork's own `.env` is read by `env()` at plan time, not copied".into()),
            );
            return None;
        }
        // Clockwork reads the project's `.env` itself: its values stay
        // there, out of main.star, as they were out of the Compose file.
        let full = normalise(&self.input.compose_dir.join(&file));
        let dotenv = full == normalise(&self.input.project_dir.join(".env"));
        // A file that is no env file (a key, a certificate) is neither
        // copied nor quoted: one of its lines would be a variable's
        // name in main.star, and every line a line of output.
        if let Some(line) = not_an_env_file(&text) {
            self.problem(
                at,
                format!(
                    "`{file}` is not an env file: its line {line} is neither `NAME=value` nor a variable's name (its text is not shown)"
                ),
                Some("name an env file here: lines of `NAME=value`, `# comments` and blank lines".into()),
            );
            return None;
        }
        Some(EnvFile { file, text, dotenv })
    }

    /// The variables of an env file put into the service.
    fn env_file_vars(
        &mut self,
        at: &[Seg],
        env_file: &EnvFile,
        set_above: &mut SetAbove,
        s: &mut Service,
    ) {
        let EnvFile { file, text, dotenv } = env_file;
        let dotenv = *dotenv;
        let mut secret_names: Vec<String> = Vec::new();
        let mut seen_secret: HashSet<String> = HashSet::new();
        for (k, v) in crate::project::dotenv::parse(text) {
            let mut tainted = false;
            let text = match &v {
                DotenvValue::Passthrough => None,
                DotenvValue::Literal(l) => Some(Text::literal(l.clone())),
                DotenvValue::Interpolated(raw) => match Text::parse(raw) {
                    Ok(t) => {
                        let mut names = Vec::new();
                        t.var_names(&mut names);
                        tainted = names
                            .iter()
                            .any(|n| set_above.get(n).is_some_and(|(_, secret)| *secret));
                        Some(
                            t.with_known(&|name: &str| set_above.get(name).map(|(t, _)| t.clone())),
                        )
                    }
                    Err(message) => {
                        self.problem(
                            at,
                            format!(
                                "`{k}` of the env file `{file}`: {}",
                                unquoted_if_secret(Some(&k), raw, message)
                            ),
                            Some("Compose interpolates unquoted and double-quoted values of an env file; put the value in single quotes to take it as it is".into()),
                        );
                        continue;
                    }
                },
            };
            let secret = text
                .as_ref()
                .is_some_and(|t| tainted || holds_secret(&k, t));
            if let Some(t) = &text {
                set_above.insert(k.clone(), (t.clone(), secret));
                if dotenv && let Some(literal) = t.as_literal() {
                    self.secrets.in_dotenv(&k, literal);
                }
            }
            if !clockwork_schema::valid_env_name(&k) {
                self.skip(
                    Some(&s.key),
                    at,
                    format!("`{k}` of `{file}` is not a name Clockwork accepts for a variable"),
                );
                continue;
            }
            let value = match text {
                None => EnvValue::Passthrough,
                Some(_) if dotenv => EnvValue::Dotenv,
                Some(t) if secret => {
                    if seen_secret.insert(k.clone()) {
                        secret_names.push(k.clone());
                    }
                    EnvValue::Secret {
                        reference: k.clone(),
                        value: t,
                    }
                }
                Some(t) => EnvValue::Text(t),
            };
            s.env.put(EnvVar {
                name: k,
                value,
                file: Some(file.clone()),
            });
        }
        if !secret_names.is_empty() {
            // The names main.star reads them under are known once every
            // service is read: the reason is written then.
            let item = self.items.len();
            self.note(Some(&s.key), at, String::new());
            self.secrets
                .note_at(item, self.service_index, file, secret_names);
        }
    }

    /// An env file that was not read: why, located at its entry, without a
    /// word of its content.
    pub(super) fn env_file_refused(
        &mut self,
        service: &str,
        at: &[Seg],
        file: &str,
        e: &ReadError,
    ) {
        let flag = if self.input.compose_dir == self.input.project_dir {
            file.to_string()
        } else {
            normalise(&self.input.compose_dir.join(file))
                .display()
                .to_string()
        };
        let allow = format!(
            "`clockwork import {} --allow-env-file {flag}`",
            self.input.file
        );
        let (message, help) = match e {
            ReadError::Outside => (
                format!(
                    "the env file `{file}` of `{service}` is outside the Compose file's folder: Clockwork reads env files only from that folder, since a Compose file could otherwise copy any file it names into main.star"
                ),
                format!(
                    "move the file beside the Compose file, or, if you trust this one file, allow it by name: {allow}"
                ),
            ),
            ReadError::LinkOutside { link } => (
                format!(
                    "the env file `{file}` of `{service}` goes through the symbolic link `{link}`, which points out of the Compose file's folder: Clockwork reads env files only from that folder"
                ),
                format!(
                    "copy the file into the folder instead of linking to it, or, if you trust the file it leads to, allow it by name: {allow}"
                ),
            ),
            ReadError::NotAFile { what } => (
                format!("the env file `{file}` of `{service}` is {what}, not a regular file"),
                "an env file is a text file of `NAME=value` lines".to_string(),
            ),
            ReadError::TooLarge { limit, of } => (
                format!(
                    "the env file `{file}` of `{service}` is larger than {}, the most Clockwork reads of {of}",
                    crate::import::read::size(*limit)
                ),
                "an env file is a text file of `NAME=value` lines; split it, or name the right file"
                    .to_string(),
            ),
            ReadError::NotText => (
                format!("the env file `{file}` of `{service}` is not UTF-8 text"),
                "an env file is a text file of `NAME=value` lines".to_string(),
            ),
            ReadError::NotFound(e) | ReadError::Io(e) => (
                format!(
                    "cannot read the env file `{file}` ({}): {e}",
                    normalise(&self.input.compose_dir.join(file)).display()
                ),
                "Compose reads it relative to the Compose file's folder; create it or remove the entry"
                    .to_string(),
            ),
        };
        self.problem(at, message, Some(help));
    }
}
