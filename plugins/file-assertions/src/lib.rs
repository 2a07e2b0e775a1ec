//! File assertions: `FileExistsAssert`, `DirectoryExistsAssert`,
//! `FileContentMatchesAssert`, `FilePermissionsAssert`,
//! `FileModifiedWithinAssert` and `DiskSpaceAssert`.
//!
//! All six read the project folder through the host's read-only `fs`
//! interface, so paths are relative to the project folder and cannot leave
//! it. This crate only describes the types for now; `check` comes later.

use clockwork_sdk::prelude::*;

/// The `file-assertions` plugin.
pub struct FileAssertions;

impl AssertionPlugin for FileAssertions {
    fn meta() -> PluginMeta {
        plugin_meta!("file checks: existence, content, permissions, age, free disk space")
    }

    fn types() -> Vec<AssertionType> {
        vec![
            AssertionType::with_timeout(file_exists_assert(), 5),
            AssertionType::with_timeout(directory_exists_assert(), 5),
            AssertionType::with_timeout(file_content_matches_assert(), 10),
            AssertionType::with_timeout(file_permissions_assert(), 5).not_retryable(),
            AssertionType::with_timeout(file_modified_within_assert(), 5).not_retryable(),
            AssertionType::with_timeout(disk_space_assert(), 5).not_retryable(),
        ]
    }
}

/// The `path` field, required, with a type-specific first sentence.
fn path(summary: &str, example: &str) -> Field {
    Field::new(
        "path",
        "string",
        &format!(
            "{summary} \
             Relative to the project folder (the one holding `main.star`); absolute paths and paths that leave the \
             project folder are refused."
        ),
    )
    .required()
    .example(json!(example))
}

fn file_exists_assert() -> TypeDef {
    TypeDef::new(
        "FileExistsAssert",
        "Checks that a path exists in the project folder, as a file or a directory. \
         Use `DirectoryExistsAssert` to require a directory, or `FileContentMatchesAssert` to also check what the \
         file holds.",
    )
    .field(path("The file or directory that must exist, e.g. `config/app.json`.", "config/app.json"))
}

fn directory_exists_assert() -> TypeDef {
    TypeDef::new(
        "DirectoryExistsAssert",
        "Checks that a directory exists in the project folder. A file at that path fails.",
    )
    .field(path(
        "The directory that must exist, e.g. `vendor/flask`.",
        "vendor/flask",
    ))
}

fn file_content_matches_assert() -> TypeDef {
    TypeDef::new(
        "FileContentMatchesAssert",
        "Checks a file's content against a regular expression, a SHA-256 digest, or both. \
         Give `pattern`, `sha256` or both; with both, both must match. With neither, the assertion is invalid. \
         The file is read as UTF-8 for `pattern` and as raw bytes for `sha256`; files above 16 MiB are not read.",
    )
    .field(path("The file to read, e.g. `config/app.json`.", "config/app.json"))
    .field(
        Field::new(
            "pattern",
            "string",
            "A regular expression that must match somewhere in the file, e.g. `\"log_level\":\\s*\"info\"`. \
             The syntax is Rust's `regex` crate; `(?m)` makes `^` and `$` match at line ends, `(?i)` ignores case.",
        )
        .example(json!("\"log_level\":\\s*\"info\""))
        .example(json!("(?m)^server_name example\\.com;$")),
    )
    .field(
        Field::new(
            "sha256",
            "string",
            "The SHA-256 digest the file's bytes must have, as 64 hexadecimal digits in either case (what \
             `sha256sum` prints).",
        )
        .example(json!("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")),
    )
}

fn file_permissions_assert() -> TypeDef {
    TypeDef::new(
        "FilePermissionsAssert",
        "Checks that a file or directory has exactly the expected Unix permission bits. \
         Compares the permission bits with `expected_perms`; the message shows both in octal. Waiting does not \
         change permissions, so a failure is reported at once.",
    )
    .field(path("The file or directory to check, e.g. `certs/api-key.pem`.", "certs/api-key.pem"))
    .field(
        Field::new(
            "expected_perms",
            "string",
            "The expected permission bits as an octal string, as `chmod` takes them, e.g. `\"644\"` or `\"600\"`. \
             Three or four octal digits.",
        )
        .required()
        .example(json!("644"))
        .example(json!("600")),
    )
}

fn file_modified_within_assert() -> TypeDef {
    TypeDef::new(
        "FileModifiedWithinAssert",
        "Checks that a file was modified recently. \
         Passes when the file's modification time is at most `max_age_seconds` before now, e.g. to see that a \
         service still writes its status or backup file.",
    )
    .field(path("The file to check, e.g. `data/backup.sql`.", "data/backup.sql"))
    .field(
        Field::new(
            "max_age_seconds",
            "int",
            "The greatest acceptable age of the last modification, in seconds, e.g. `3600` for one hour.",
        )
        .required()
        .example(json!(3600)),
    )
}

fn disk_space_assert() -> TypeDef {
    TypeDef::new(
        "DiskSpaceAssert",
        "Checks that the file system holding a path has enough free space. \
         Passes when the space available to unprivileged users on the file system of `path` is at least \
         `min_gb_free` gigabytes.",
    )
    .field(
        Field::new(
            "path",
            "string",
            "A path on the file system to measure, relative to the project folder; `.` is the project folder \
             itself.",
        )
        .default(json!("."))
        .example(json!("data")),
    )
    .field(
        Field::new(
            "min_gb_free",
            "float",
            "The least free space, in gigabytes of 10⁹ bytes, e.g. `5` or `0.5`.",
        )
        .required()
        .example(json!(5))
        .example(json!(0.5)),
    )
}

export_assertion_plugin!(FileAssertions);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::TypeSchema;

    use super::*;

    fn schema(name: &str) -> TypeSchema {
        <FileAssertions as AssertionPlugin>::types()
            .into_iter()
            .find(|t| t.def.name() == name)
            .map(|t| t.def.schema().clone())
            .unwrap_or_else(|| panic!("no type `{name}`"))
    }

    #[test]
    fn schemas_have_no_problems() {
        let types = <FileAssertions as AssertionPlugin>::types();
        let names: Vec<&str> = types.iter().map(|t| t.def.name()).collect();
        assert_eq!(
            names,
            [
                "FileExistsAssert",
                "DirectoryExistsAssert",
                "FileContentMatchesAssert",
                "FilePermissionsAssert",
                "FileModifiedWithinAssert",
                "DiskSpaceAssert"
            ]
        );
        for t in &types {
            assert_eq!(t.def.schema().problems(), vec![], "{}", t.def.name());
            assert!(t.def.schema().field("description").is_some());
            assert!(t.def.schema().field("timeout_seconds").is_some());
        }
    }

    #[test]
    fn fields_match_the_contract() {
        let required = |type_name: &str, field: &str| {
            let schema = schema(type_name);
            assert!(
                schema.field(field).is_some_and(|f| f.required),
                "{type_name}: `{field}` is required"
            );
        };
        required("FileExistsAssert", "path");
        required("DirectoryExistsAssert", "path");
        required("FileContentMatchesAssert", "path");
        required("FilePermissionsAssert", "path");
        required("FilePermissionsAssert", "expected_perms");
        required("FileModifiedWithinAssert", "path");
        required("FileModifiedWithinAssert", "max_age_seconds");
        required("DiskSpaceAssert", "min_gb_free");

        let content = schema("FileContentMatchesAssert");
        assert!(content.field("pattern").is_some_and(|f| !f.required));
        assert!(content.field("sha256").is_some_and(|f| !f.required));
        assert_eq!(
            content
                .field("timeout_seconds")
                .and_then(|f| f.default_value()),
            Some(json!(10))
        );

        let disk = schema("DiskSpaceAssert");
        assert_eq!(
            disk.field("path").and_then(|f| f.default_value()),
            Some(json!("."))
        );
        assert_eq!(
            disk.field("min_gb_free").map(|f| f.value_type.as_str()),
            Some("float")
        );
    }
}
