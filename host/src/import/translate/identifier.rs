//! The Starlark variable of each service.

use std::collections::HashSet;

/// Names main.star cannot give a variable: Starlark's keywords and
/// Clockwork's globals.
const RESERVED: &[&str] = &[
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "load",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "True",
    "False",
    "None",
    "env",
    "print",
    "len",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "tuple",
    "range",
    "type",
    "any",
    "all",
    "sorted",
    "reversed",
    "enumerate",
    "zip",
    "min",
    "max",
    "abs",
    "hash",
    "repr",
    "dir",
    "getattr",
    "hasattr",
    "fail",
    "struct",
    "http",
    "tcp",
    "udp",
    "dns",
    "exec",
    "docker",
    "file",
    "re",
    "time",
    "sleep",
];

/// A Starlark identifier for a service name, unique among `taken`.
pub fn identifier(name: &str, taken: &HashSet<String>) -> String {
    let mut id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id = format!("service_{id}");
    }
    if RESERVED.contains(&id.as_str()) {
        id.push_str("_service");
    }
    let mut unique = id.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{id}_{n}");
        n += 1;
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_valid_and_unique() {
        let none = HashSet::new();
        assert_eq!(identifier("my-api", &none), "my_api");
        assert_eq!(identifier("2fa", &none), "service_2fa");
        assert_eq!(identifier("env", &none), "env_service");
        assert_eq!(identifier("for", &none), "for_service");
        assert_eq!(
            identifier("my.api", &HashSet::from(["my_api".into()])),
            "my_api_2"
        );
    }
}
