//! The other keys of a service: networks, `depends_on`, the health
//! check, the command, labels and the restart policy.

use std::collections::HashSet;

use serde_yaml_ng::Value;

use crate::import::interp::Text;
use crate::import::locate::Seg;
use crate::import::ordered::Ordered;

use super::keys::CLOCKWORK_LABELS;
use super::model::{Condition, Dependency, Healthcheck, Service};
use super::{Declared, Named, Reader, entries, key, scalar, shown, with, yaml_key};

/// Compose's durations (`1m30s`, `500ms`, `2h`, `10s`) in seconds.
pub(super) fn duration_seconds(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    // A bare number is seconds (older Compose files write `30`); only
    // digits and a point, so that `nan`, `inf`, `-5` or `1e3` are not one.
    if rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return rest.parse::<f64>().ok().filter(|n| sane_seconds(*n));
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    sane_seconds(total).then_some(total)
}

/// Whether a duration can be written as a number of seconds: a run of
/// digits long enough parses as infinity, and main.star cannot say `inf`.
pub(super) fn sane_seconds(n: f64) -> bool {
    n.is_finite() && n <= 1e9
}

/// Splits a command line into words as a POSIX shell would (quotes and
/// backslashes), keeping `${…}` whole.
pub(super) fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a `'` is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a `\"` is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a `\"` is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '$' if chars.peek() == Some(&'{') => {
                in_word = true;
                word.push('$');
                let mut depth = 0;
                for c in chars.by_ref() {
                    word.push(c);
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

impl Reader<'_, '_> {
    /// The names of a key written as a list (`[a, b]`) or as a mapping
    /// whose keys are the names and whose values are options: each with
    /// its place and its options.
    pub(super) fn names_listed<'v>(
        &mut self,
        at: &[Seg],
        value: &'v Value,
        example: &str,
    ) -> Option<Vec<Named<'v>>> {
        match value {
            Value::Sequence(items) => {
                let mut names = Vec::new();
                for (i, v) in items.iter().enumerate() {
                    let place = with(at, Seg::Index(i));
                    match scalar(v) {
                        Some(name) => names.push((name, place, None)),
                        // `[{db: {condition: …}}]` mixes the two forms.
                        None => self.expected(&place, "a name", v, example),
                    }
                }
                Some(names)
            }
            Value::Mapping(m) => Some(
                entries(m)
                    .map(|(k, v)| (k.clone(), with(at, key(&k)), Some(v)))
                    .collect(),
            ),
            other => {
                self.expected(at, "a list or a mapping", other, example);
                None
            }
        }
    }

    pub(super) fn networks(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        declared: &Ordered<Declared>,
        s: &mut Service,
    ) {
        let Some(listed) = self.names_listed(at, value, "networks: [backend]") else {
            return;
        };
        let mut joined: HashSet<String> = s.networks.iter().cloned().collect();
        let mut aliased: HashSet<String> = s.aliases.iter().cloned().collect();
        for (network, at, options) in listed {
            let docker_name = match declared.get(&network) {
                Some(d) => Some(d.name.clone()),
                None if network == "default" => None,
                None => {
                    let near = if self.flooded() {
                        None
                    } else {
                        crate::suggest::nearest(&network, declared.iter().map(|(k, _)| k))
                    };
                    let help = match near {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => format!(
                            "declare it under the top-level `networks:` (`networks: {{{}: {{}}}}`)",
                            yaml_key(&network)
                        ),
                    };
                    self.problem(&at, format!("the network `{network}` of `{service}` is not declared under the top-level `networks`"), Some(help));
                    continue;
                }
            };
            // Compose's `default` is the project's own network, which
            // every Clockwork container joins.
            let docker_name = match docker_name {
                Some(n) if network == "default" => {
                    self.note(
                        Some(service),
                        &at,
                        format!(
                            "the `default` network named `{n}` is Clockwork's project network here"
                        ),
                    );
                    None
                }
                other => other,
            };
            if let Some(n) = docker_name
                && joined.insert(n.clone())
            {
                s.networks.push(n);
            }
            match options {
                Some(Value::Mapping(opts)) => {
                    for (k, v) in entries(opts) {
                        let at = with(&at, key(&k));
                        match (k.as_str(), v) {
                            ("aliases", Value::Sequence(aliases)) => {
                                for a in aliases.iter().filter_map(scalar) {
                                    if aliased.insert(a.clone()) {
                                        s.aliases.push(a);
                                    }
                                }
                            }
                            _ => self.skip(
                                Some(service),
                                &at,
                                "DockerResource joins networks by name only",
                            ),
                        }
                    }
                }
                Some(Value::Null) | None => {}
                Some(other) => self.expected(
                    &at,
                    "a mapping or nothing",
                    other,
                    "backend: {aliases: [db]}",
                ),
            }
        }
    }

    pub(super) fn depends_on(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
        names: &Ordered<()>,
        s: &mut Service,
    ) {
        let Some(listed) = self.names_listed(at, value, "depends_on: [db]") else {
            return;
        };
        for (target, at, options) in listed {
            if names.get(&target).is_none() {
                let near = if self.flooded() {
                    None
                } else {
                    crate::suggest::nearest(&target, names.iter().map(|(k, _)| k))
                };
                let help = match near {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => {
                        const SHOWN: usize = 20;
                        let mut listed: Vec<String> = names
                            .iter()
                            .take(SHOWN)
                            .map(|(n, _)| format!("`{n}`"))
                            .collect();
                        let count = names.len();
                        if count > SHOWN {
                            listed.push(format!("and {} more", count - SHOWN));
                        }
                        format!("the services are {}", listed.join(", "))
                    }
                };
                self.problem(
                    &at,
                    format!(
                        "`{service}` depends on `{target}`, which is not a service of the file"
                    ),
                    Some(help),
                );
                continue;
            }
            if target == service {
                self.problem(
                    &at,
                    format!("`{service}` depends on itself"),
                    Some("remove the entry".into()),
                );
                continue;
            }
            let mut condition = Condition::Started;
            if let Some(Value::Mapping(opts)) = options {
                for (k, v) in entries(opts) {
                    let at = with(&at, key(&k));
                    match (k.as_str(), scalar(v).as_deref()) {
                        ("condition", Some("service_started")) => condition = Condition::Started,
                        ("condition", Some("service_healthy")) => condition = Condition::Healthy,
                        ("condition", Some("service_completed_successfully")) => condition = Condition::CompletedSuccessfully,
                        ("condition", _) => self.problem(&at, format!("`{}` is not a condition of `depends_on`", scalar(v).unwrap_or_default()), Some("use `service_started`, `service_healthy` or `service_completed_successfully`".into())),
                        ("required", Some("true")) | ("restart", Some("false")) => {}
                        ("required", _) => self.skip(Some(service), &at, "a Clockwork dependency is always required"),
                        ("restart", _) => self.skip(Some(service), &at, "Clockwork does not restart a dependent when what it depends on is replaced"),
                        _ => self.problem(&at, format!("`{k}` is not a key of a `depends_on` entry"), Some("an entry has `condition`, `restart` and `required`".into())),
                    }
                }
            }
            s.depends_on.push(Dependency {
                service: target,
                condition,
            });
        }
    }

    pub(super) fn healthcheck(
        &mut self,
        service: &str,
        at: &[Seg],
        value: &Value,
    ) -> Option<Healthcheck> {
        let Value::Mapping(m) = value else {
            self.expected(
                at,
                "a mapping",
                value,
                "healthcheck: {test: [\"CMD\", \"pg_isready\"]}",
            );
            return None;
        };
        if matches!(m.get("disable"), Some(Value::Bool(true))) {
            return Some(Healthcheck {
                test: vec![Text::literal("NONE")],
                interval: None,
                timeout: None,
                retries: None,
                start_period: None,
            });
        }
        let test = match m.get("test") {
            Some(Value::String(shell)) => vec![
                Text::literal("CMD-SHELL"),
                self.text(&with(at, key("test")), shell)?,
            ],
            Some(Value::Sequence(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = with(&with(at, key("test")), Seg::Index(i));
                    match scalar(item) {
                        Some(raw) => out.push(self.text(&at, &raw)?),
                        None => {
                            self.expected(&at, "a string", item, "\"CMD\"");
                            return None;
                        }
                    }
                }
                let first = out.first().and_then(Text::as_literal);
                if !matches!(first.as_deref(), Some("CMD" | "CMD-SHELL" | "NONE")) {
                    self.problem(
                        &with(at, key("test")),
                        format!(
                            "`{}` must start with `CMD`, `CMD-SHELL` or `NONE`",
                            shown(&with(at, key("test")))
                        ),
                        Some(
                            "for example `[\"CMD\", \"pg_isready\"]` or `\"pg_isready -U app\"`"
                                .into(),
                        ),
                    );
                    return None;
                }
                out
            }
            Some(other) => {
                self.expected(
                    &with(at, key("test")),
                    "a string or a list",
                    other,
                    "test: [\"CMD\", \"pg_isready\"]",
                );
                return None;
            }
            None => {
                self.skip(Some(service), at, "a health check without `test` changes only the image's own timing, which DockerResource cannot");
                return None;
            }
        };
        let mut check = Healthcheck {
            test,
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
        };
        for (k, v) in entries(m) {
            let at = with(at, key(&k));
            let seconds = |reader: &mut Self| -> Option<f64> {
                let text = scalar(v)?;
                match duration_seconds(&text) {
                    Some(s) => Some(s),
                    None => {
                        reader.problem(
                            &at,
                            format!("`{text}` is not a duration"),
                            Some("write it as Compose does, e.g. `10s`, `1m30s` or `500ms`".into()),
                        );
                        None
                    }
                }
            };
            match k.as_str() {
                "test" | "disable" => {}
                "interval" => check.interval = seconds(self),
                "timeout" => check.timeout = seconds(self),
                "start_period" => check.start_period = seconds(self),
                "retries" => match v.as_u64() {
                    Some(n) => check.retries = Some(n),
                    None => self.expected(&at, "a whole number", v, "retries: 5"),
                },
                "start_interval" => self.skip(Some(service), &at, "DockerResource checks at one `interval_seconds` from the start"),
                _ => self.problem(&at, format!("`{k}` is not a key of a health check"), Some("a health check has `test`, `interval`, `timeout`, `retries`, `start_period`, `start_interval` and `disable`".into())),
            }
        }
        Some(check)
    }

    /// `command` or `entrypoint`: a list, or a string split into words.
    pub(super) fn command(
        &mut self,
        at: &[Seg],
        value: &Value,
        example: &str,
    ) -> Option<Vec<Text>> {
        match value {
            Value::Sequence(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let at = with(at, Seg::Index(i));
                    match scalar(item) {
                        Some(raw) => out.push(self.text(&at, &raw)?),
                        None => {
                            self.expected(&at, "a string", item, "\"--verbose\"");
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Value::Null => None,
            other => {
                let Some(line) = scalar(other) else {
                    self.expected(at, "a string or a list", other, example);
                    return None;
                };
                // Compose splits a string command as a POSIX shell would,
                // without running a shell.
                match split_words(&line) {
                    Ok(words) => {
                        let mut out = Vec::new();
                        for w in words {
                            out.push(self.text(at, &w)?);
                        }
                        Some(out)
                    }
                    Err(message) => {
                        self.problem(
                            at,
                            format!("`{}`: {message}", shown(at)),
                            Some("close the quote, or write the command as a list".into()),
                        );
                        None
                    }
                }
            }
        }
    }

    /// `labels`, as a mapping or a list of `key=value`; Clockwork's own
    /// keys are listed as not translated.
    pub(super) fn labels(&mut self, service: &str, at: &[Seg], value: &Value, s: &mut Service) {
        let mut set = |reader: &mut Self, k: String, raw: &str, at: &[Seg]| {
            if k.starts_with(CLOCKWORK_LABELS) {
                reader.skip(Some(service), at, format!(
                    "`dev.clockwork.` labels are Clockwork's own: they say which project owns a container, and Clockwork sets them itself; give `{k}` another name"
                ));
                return;
            }
            if k.is_empty() {
                reader.skip(Some(service), at, "a label needs a key");
                return;
            }
            let Some(text) = reader.text(at, raw) else {
                return;
            };
            s.labels.set(k, text);
        };
        match value {
            Value::Mapping(m) => {
                for (k, v) in entries(m) {
                    let at = with(at, key(&k));
                    let raw = match v {
                        Value::Null => String::new(),
                        other => match scalar(other) {
                            Some(raw) => raw,
                            None => {
                                self.expected(
                                    &at,
                                    "a string, a number or nothing",
                                    other,
                                    "com.example.role: frontend",
                                );
                                continue;
                            }
                        },
                    };
                    set(self, k, &raw, &at);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    let at = with(at, Seg::Index(i));
                    let Some(line) = scalar(item) else {
                        self.expected(
                            &at,
                            "a string `key=value`",
                            item,
                            "- com.example.role=frontend",
                        );
                        continue;
                    };
                    let (k, raw) = line.split_once('=').unwrap_or((&line, ""));
                    set(self, k.to_string(), raw, &at);
                }
            }
            Value::Null => {}
            other => self.expected(
                at,
                "a mapping or a list",
                other,
                "labels: {com.example.role: frontend}",
            ),
        }
    }

    pub(super) fn restart(&mut self, service: &str, at: &[Seg], value: &Value) -> Option<String> {
        // YAML 1.1 (Compose v1's parser) reads a bare `no` as false.
        let text = match value {
            Value::Bool(false) => "no".to_string(),
            other => scalar(other)?,
        };
        match text.as_str() {
            "no" | "always" | "unless-stopped" | "on-failure" => Some(text),
            t if t.starts_with("on-failure:") => {
                self.note(Some(service), at, format!("`{t}` is `on-failure` without the retry limit, which DockerResource cannot set"));
                Some("on-failure".into())
            }
            _ => {
                self.problem(
                    at,
                    format!("`{text}` is not a restart policy"),
                    Some(
                        "use `no`, `always`, `on-failure`, `on-failure:N` or `unless-stopped`"
                            .into(),
                    ),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_seconds() {
        assert_eq!(duration_seconds("1m30s"), Some(90.0));
        assert_eq!(duration_seconds("500ms"), Some(0.5));
        assert_eq!(duration_seconds("2h"), Some(7200.0));
        assert_eq!(duration_seconds("30"), Some(30.0));
        assert_eq!(duration_seconds("ten"), None);
        assert_eq!(duration_seconds("5x"), None);
        let huge = format!("1{}s", "0".repeat(309));
        for not_one in ["nan", "inf", "-5", "1e3", "1.2.3", "", &huge, &huge[..310]] {
            assert_eq!(duration_seconds(not_one), None, "{not_one}");
        }
    }
    #[test]
    fn commands_split_as_a_shell_would() {
        assert_eq!(
            split_words(r#"sh -c "echo \"hi\" && sleep 1" 'a b' c\ d ${X:-a b}"#).unwrap(),
            [
                "sh",
                "-c",
                "echo \"hi\" && sleep 1",
                "a b",
                "c d",
                "${X:-a b}"
            ]
        );
        assert!(split_words("echo 'oops").is_err());
    }
}
