//! Checks on names and paths that host and plugins share, so every message
//! about one says the same thing.

/// Whether a `/`-separated relative path climbs out of its folder, read
/// lexically: `a/../b` stays inside, `a/../../b` leaves.
pub fn leaves_folder(path: &str) -> bool {
    let mut depth: usize = 0;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// Checks a path field that must name something inside the project folder:
/// not empty, no NUL byte, no `~`, not absolute, not climbing out. `example`
/// is shown in the messages.
pub fn check_project_path(field: &str, path: &str, example: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(format!(
            "`{field}` is empty: give a path relative to the project folder, e.g. `{example}`"
        ));
    }
    if path.contains('\0') {
        return Err(format!(
            "`{field}` contains a NUL byte, which file paths cannot hold"
        ));
    }
    if path.starts_with('~') {
        return Err(format!(
            "`{path}` starts with `~`, which is not expanded: `{field}` is relative to the project folder, e.g. `{example}`"
        ));
    }
    if path.starts_with('/') {
        return Err(format!(
            "`{path}` is absolute: `{field}` is relative to the project folder, e.g. `{example}`"
        ));
    }
    if leaves_folder(path) {
        return Err(format!(
            "`{path}` leaves the project folder; `{field}` is relative to it"
        ));
    }
    Ok(())
}

/// Whether `name` can be an environment variable's name: letters, digits
/// and `_`, not starting with a digit.
pub fn valid_env_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_lexically() {
        assert!(!leaves_folder("a/../b"));
        assert!(leaves_folder("a/../../b"));
        assert!(leaves_folder(".."));
        assert!(check_project_path("f", "schema.sql", "x").is_ok());
        for bad in ["", "~/x", "/etc", "../x", "a\0b"] {
            assert!(check_project_path("f", bad, "x").is_err(), "{bad:?}");
        }
        assert!(valid_env_name("_A1"));
        assert!(!valid_env_name("1A"));
        assert!(!valid_env_name("A-B"));
    }
}
