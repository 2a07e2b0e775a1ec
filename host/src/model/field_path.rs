//! A place inside a declaration's fields, from the JSON Pointer plugins
//! and the schema checker give (`/env_vars/LOG_LEVEL`, `/ports/1`), shown
//! the way the user writes it. The one place pointers are read.

use std::fmt;

/// The segments of a JSON Pointer, unescaped (`~1` → `/`, `~0` → `~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// The path of a JSON Pointer; `""` and `"/"` are the whole value.
    pub fn from_pointer(pointer: &str) -> FieldPath {
        FieldPath(
            pointer
                .split('/')
                .skip(1)
                .filter(|s| !s.is_empty())
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect(),
        )
    }

    /// The declaration's field it is in: `env_vars` of `/env_vars/PORT`.
    pub fn field(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// As the user names a field in prose: `env_vars.LOG_LEVEL`.
    pub fn dotted(&self) -> String {
        self.0.join(".")
    }

    /// As the user indexes it in Starlark: `ports[1]`, `env_vars["PORT"]`.
    pub fn indexed(&self) -> String {
        match self.0.split_first() {
            Some((field, rest)) => format!("{field}{}", index(rest)),
            None => String::new(),
        }
    }

    /// Every segment as an index, for a place inside a value: `[0]["x"]`.
    pub fn as_index(&self) -> String {
        index(&self.0)
    }

    /// The segments.
    pub fn segments(&self) -> &[String] {
        &self.0
    }
}

fn index(parts: &[String]) -> String {
    parts
        .iter()
        .map(|part| match part.parse::<usize>() {
            Ok(i) => format!("[{i}]"),
            Err(_) => format!("[\"{part}\"]"),
        })
        .collect()
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dotted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_the_user_writes_them() {
        let env = FieldPath::from_pointer("/env_vars/LOG_LEVEL");
        assert_eq!(env.dotted(), "env_vars.LOG_LEVEL");
        assert_eq!(env.indexed(), "env_vars[\"LOG_LEVEL\"]");
        let port = FieldPath::from_pointer("/ports/1");
        assert_eq!(port.indexed(), "ports[1]");
        assert_eq!(port.as_index(), "[\"ports\"][1]");
        assert_eq!(FieldPath::from_pointer("/1").as_index(), "[1]");
        assert_eq!(
            FieldPath::from_pointer("/a~1b/c~0d").segments(),
            ["a/b", "c~d"]
        );
        assert_eq!(FieldPath::from_pointer("").indexed(), "");
        assert_eq!(FieldPath::from_pointer("/").dotted(), "");
        assert_eq!(env.field(), Some("env_vars"));
        assert_eq!(FieldPath::from_pointer("/image").field(), Some("image"));
        assert_eq!(FieldPath::from_pointer("/").field(), None);
    }
}
