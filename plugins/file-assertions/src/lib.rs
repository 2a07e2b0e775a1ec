//! File assertions: `FileExistsAssert`, `DirectoryExistsAssert`,
//! `FileContentMatchesAssert`, `FilePermissionsAssert`,
//! `FileModifiedWithinAssert` and `DiskSpaceAssert`.
//!
//! They read the project folder through the host's read-only `fs`
//! interface (root `project`: `fs.stat`, `fs.read`), so paths are relative
//! to the project folder and cannot leave it; `FileModifiedWithinAssert`
//! also reads `clock.now-unix-ms`. `DiskSpaceAssert` asks `fs.free-space`
//! for the file system holding its path.

use clockwork_sdk::error_at;
use clockwork_sdk::host::{clock, fs};
use clockwork_sdk::prelude::*;
use regex::Regex;
use sha2::{Digest, Sha256};

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

    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::assertion::validate_with::<Self>(type_name, config, |config| match type_name
        {
            "FileContentMatchesAssert" => content_config(config).err().unwrap_or_default(),
            "FilePermissionsAssert" => perms_config(config).err().unwrap_or_default(),
            "FileModifiedWithinAssert" => age_config(config).err().unwrap_or_default(),
            _ => Vec::new(),
        })
    }

    fn check(input: CheckInput) -> Result<Outcome, PluginError> {
        let config = config_of(&input)?;
        if input.type_name == "DiskSpaceAssert" {
            return check_space(&config);
        }
        let path = config
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| PluginError::Failed("`path` must be a string".into()))?;
        match input.type_name.as_str() {
            "FileExistsAssert" => Ok(judge_exists(path, stat(path)?.as_ref(), false)),
            "DirectoryExistsAssert" => Ok(judge_exists(path, stat(path)?.as_ref(), true)),
            "FileContentMatchesAssert" => {
                let wanted = content_config(&config).map_err(refused)?;
                let found = match stat(path)? {
                    Some(found) if !found.is_dir => found,
                    other => return Ok(not_a_file(path, &wanted.describe(), other.as_ref())),
                };
                if found.size > MAX_READ_BYTES {
                    return Err(too_large(path, found.size));
                }
                match fs::read(ROOT, path, MAX_READ_BYTES) {
                    Ok(bytes) => Ok(judge_content(path, &wanted, &bytes)),
                    Err(HostError::NotFound(_)) => Ok(not_a_file(path, &wanted.describe(), None)),
                    Err(HostError::TooLarge(_)) => Err(too_large(path, found.size)),
                    Err(other) => Err(host_error(other)),
                }
            }
            "FilePermissionsAssert" => {
                let wanted = perms_config(&config).map_err(refused)?;
                Ok(judge_perms(path, wanted, stat(path)?.as_ref()))
            }
            "FileModifiedWithinAssert" => {
                let max_age_s = age_config(&config).map_err(refused)?;
                let found = stat(path)?;
                Ok(judge_age(
                    path,
                    max_age_s,
                    clock::now_unix_ms(),
                    found.as_ref(),
                ))
            }
            other => Err(PluginError::Failed(format!(
                "this plugin has no type `{other}`"
            ))),
        }
    }
}

/// The `fs` root of the project folder.
const ROOT: &str = "project";
/// The largest file `FileContentMatchesAssert` reads (the host's cap).
const MAX_READ_BYTES: u64 = 16 * 1024 * 1024;
/// Most characters of a file's content shown in a report.
const EXCERPT_CHARS: usize = 200;

/// What `path` is, `None` when nothing is there (also when a parent folder
/// is missing).
fn stat(path: &str) -> Result<Option<fs::FileStat>, PluginError> {
    match fs::stat(ROOT, path) {
        Ok(found) => Ok(found),
        Err(HostError::NotFound(_)) => Ok(None),
        Err(other) => Err(host_error(other)),
    }
}

/// A host error that means the check could not run.
fn host_error(error: HostError) -> PluginError {
    match error {
        HostError::Denied(text) => PluginError::Denied(text),
        HostError::TimedOut(text) => PluginError::Transient(text),
        HostError::NotFound(text)
        | HostError::InvalidArgument(text)
        | HostError::TooLarge(text)
        | HostError::Failed(text) => PluginError::Failed(text),
    }
}

/// A config the schema and `validate` should have refused.
fn refused(problems: Vec<Diagnostic>) -> PluginError {
    let summaries: Vec<String> = problems.into_iter().map(|d| d.summary).collect();
    PluginError::Failed(summaries.join("; "))
}

fn too_large(path: &str, size: u64) -> PluginError {
    PluginError::Failed(format!(
        "`{path}` is {size} bytes; FileContentMatchesAssert reads files of at most 16 MiB"
    ))
}

/// What is at a path, in a few words.
fn describe(found: Option<&fs::FileStat>) -> String {
    match found {
        None => "nothing".to_string(),
        Some(found) if found.is_dir => "a directory".to_string(),
        Some(found) if found.size == 1 => "a file of 1 byte".to_string(),
        Some(found) => format!("a file of {} bytes", found.size),
    }
}

/// The outcome of `FileExistsAssert` (`dir` false) and
/// `DirectoryExistsAssert` (`dir` true).
fn judge_exists(path: &str, found: Option<&fs::FileStat>, dir: bool) -> Outcome {
    let what = describe(found);
    let expected = if dir {
        format!("a directory at `{path}`")
    } else {
        format!("a file or directory at `{path}`")
    };
    match found {
        Some(f) if f.is_dir || !dir => Outcome::pass(format!("`{path}` exists ({what})")),
        _ => Outcome::fail(
            format!(
                "`{path}` is not {}: found {what}",
                if dir { "a directory" } else { "there" }
            ),
            expected,
            format!("{what} at `{path}`"),
        ),
    }
}

/// What a `FileContentMatchesAssert` wants.
struct Content {
    pattern: Option<Regex>,
    sha256: Option<String>,
}

impl Content {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(pattern) = &self.pattern {
            parts.push(format!("content matching /{}/", pattern.as_str()));
        }
        if let Some(sha) = &self.sha256 {
            parts.push(format!("sha256 {sha}"));
        }
        parts.join(" and ")
    }
}

fn content_config(config: &Value) -> Result<Content, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let pattern = match config.get("pattern") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => match Regex::new(p) {
            Ok(regex) => Some(regex),
            Err(e) => {
                let mut problem = error_at(
                    Some("/pattern"),
                    "`pattern` is not a valid regular expression",
                );
                problem.detail = Some(e.to_string());
                problems.push(problem);
                None
            }
        },
        Some(_) => {
            problems.push(error_at(Some("/pattern"), "`pattern` must be a string"));
            None
        }
    };
    let sha256 = match config.get("sha256") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(s.to_ascii_lowercase())
        }
        Some(other) => {
            problems.push(error_at(
                Some("/sha256"),
                format!("`sha256` must be 64 hexadecimal digits, got {other}"),
            ));
            None
        }
    };
    let given = |name: &str| config.get(name).is_some_and(|v| !v.is_null());
    if !given("pattern") && !given("sha256") {
        problems.push(error_at(None, "give `pattern`, `sha256` or both"));
    }
    if problems.is_empty() {
        Ok(Content { pattern, sha256 })
    } else {
        Err(problems)
    }
}

/// The failure for a content check of a path that holds no file.
fn not_a_file(path: &str, expected: &str, found: Option<&fs::FileStat>) -> Outcome {
    let what = describe(found);
    Outcome::fail(
        format!("`{path}` is not a file: found {what}"),
        format!("a file at `{path}` with {expected}"),
        format!("{what} at `{path}`"),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// At most [`EXCERPT_CHARS`] characters of `text`, with `…` when cut.
fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let shown: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{shown}…")
    } else {
        shown
    }
}

/// The outcome of `FileContentMatchesAssert` for the file's bytes.
fn judge_content(path: &str, wanted: &Content, bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let actual_sha = sha256_hex(bytes);
    let matched = wanted
        .pattern
        .as_ref()
        .map(|p| p.find(&text).map(|m| m.as_str().to_string()));
    let sha_ok = wanted
        .sha256
        .as_ref()
        .is_none_or(|want| *want == actual_sha);
    let pattern_ok = matched.as_ref().is_none_or(Option::is_some);
    let start = excerpt(&text);
    let details = json!({
        "path": path,
        "size": bytes.len(),
        "sha256": actual_sha,
        "pattern_matched": matched.as_ref().map(Option::is_some),
        "match": matched.clone().flatten().map(|m| excerpt(&m)),
        "excerpt": start,
    });
    if sha_ok && pattern_ok {
        return Outcome::pass(format!("`{path}` has {}", wanted.describe())).with_details(details);
    }
    let mut wrong = Vec::new();
    if !pattern_ok && let Some(pattern) = &wanted.pattern {
        wrong.push(format!("no match for /{}/", pattern.as_str()));
    }
    if !sha_ok {
        wrong.push("a different sha256".to_string());
    }
    Outcome::fail(
        format!("`{path}` has {}", wrong.join(" and ")),
        wanted.describe(),
        format!(
            "sha256 {actual_sha}, {} bytes starting {start:?}",
            bytes.len()
        ),
    )
    .with_details(details)
}

/// `expected_perms` as bits, and the mask to compare with: `0o777`, or
/// `0o7777` when four digits were given.
fn perms_config(config: &Value) -> Result<(u32, u32), Vec<Diagnostic>> {
    let text = config
        .get("expected_perms")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let valid = (3..=4).contains(&text.len()) && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(text, 8) {
        Ok(bits) if valid => Ok((bits, if text.len() == 4 { 0o7777 } else { 0o777 })),
        _ => Err(vec![error_at(
            Some("/expected_perms"),
            format!(
                "`expected_perms` must be three or four octal digits such as `644`, got {text:?}"
            ),
        )]),
    }
}

/// The outcome of `FilePermissionsAssert`.
fn judge_perms(path: &str, (bits, mask): (u32, u32), found: Option<&fs::FileStat>) -> Outcome {
    let expected = format!("{bits:04o}");
    let Some(found) = found else {
        return Outcome::fail(
            format!("there is nothing at `{path}`"),
            format!("mode {expected}"),
            format!("nothing at `{path}`"),
        );
    };
    let mode = found.mode & mask;
    let actual = format!("{mode:04o}");
    let details =
        json!({ "path": path, "mode": format!("{:04o}", found.mode), "is_dir": found.is_dir });
    if mode == bits {
        Outcome::pass(format!("`{path}` has mode {actual}")).with_details(details)
    } else {
        Outcome::fail(
            format!("`{path}` has mode {actual}, expected {expected}"),
            format!("mode {expected}"),
            format!("mode {actual} ({})", describe(Some(found))),
        )
        .with_details(details)
    }
}

fn age_config(config: &Value) -> Result<u64, Vec<Diagnostic>> {
    config
        .get("max_age_seconds")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            vec![error_at(
                Some("/max_age_seconds"),
                "`max_age_seconds` must be a whole number of seconds, 0 or more",
            )]
        })
}

/// The outcome of `FileModifiedWithinAssert` at `now_ms`. A modification
/// time in the future counts as age 0.
fn judge_age(path: &str, max_age_s: u64, now_ms: u64, found: Option<&fs::FileStat>) -> Outcome {
    let expected = format!("modified within the last {max_age_s} s");
    let Some(found) = found else {
        return Outcome::fail(
            format!("there is nothing at `{path}`"),
            expected,
            format!("nothing at `{path}`"),
        );
    };
    let age_ms = now_ms.saturating_sub(found.modified_unix_ms);
    let age_s = age_ms / 1000;
    let details = json!({
        "path": path,
        "modified_unix_ms": found.modified_unix_ms,
        "now_unix_ms": now_ms,
        "age_ms": age_ms,
    });
    if age_ms <= max_age_s.saturating_mul(1000) {
        Outcome::pass(format!(
            "`{path}` was modified {age_s} s ago (limit {max_age_s} s)"
        ))
        .with_details(details)
    } else {
        Outcome::fail(
            format!("`{path}` was last modified {age_s} s ago"),
            expected,
            format!("modified {age_s} s ago"),
        )
        .with_details(details)
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

const BYTES_PER_GB: f64 = 1e9;

fn check_space(config: &Value) -> Result<Outcome, PluginError> {
    let path = match config.get("path") {
        None | Some(Value::Null) => ".",
        Some(v) => v
            .as_str()
            .ok_or_else(|| PluginError::Failed("`path` must be a string".into()))?,
    };
    let min_gb = config
        .get("min_gb_free")
        .and_then(Value::as_f64)
        .filter(|gb| gb.is_finite() && *gb >= 0.0)
        .ok_or_else(|| PluginError::Failed("`min_gb_free` must be a non-negative number".into()))?;
    let space = match fs::free_space(ROOT, path) {
        Ok(space) => Some(space),
        Err(HostError::NotFound(_)) => None,
        Err(other) => return Err(host_error(other)),
    };
    Ok(judge_space(path, min_gb, space.as_ref()))
}

/// `gb` with one decimal, or as many as it needs (`0.25`).
fn gb_text(gb: f64) -> String {
    let one = format!("{gb:.1}");
    if one.parse::<f64>() == Ok(gb) {
        one
    } else {
        format!("{gb}")
    }
}

/// The outcome of `DiskSpaceAssert`: passes when at least `min_gb` GB
/// (10⁹ bytes) are available on the file system of `path`; `None` when
/// `path` does not exist.
fn judge_space(path: &str, min_gb: f64, space: Option<&fs::Space>) -> Outcome {
    let wanted = gb_text(min_gb);
    let expected = format!("at least {wanted} GB free");
    let Some(space) = space else {
        return Outcome::fail(
            format!("`{path}` does not exist"),
            expected,
            format!("no file or folder `{path}`"),
        )
        .with_details(json!({ "path": path }));
    };
    #[expect(clippy::cast_precision_loss, reason = "sizes are shown in GB")]
    let (free, total) = (
        space.available_bytes as f64 / BYTES_PER_GB,
        space.total_bytes as f64 / BYTES_PER_GB,
    );
    // One decimal, unless that would read as the limit itself.
    let mut free_text = format!("{free:.1}");
    if free_text == wanted || free_text.parse::<f64>() == Ok(min_gb) {
        free_text = format!("{free:.3}");
    }
    let details = json!({
        "path": path,
        "available_bytes": space.available_bytes,
        "total_bytes": space.total_bytes,
        "min_gb_free": min_gb,
    });
    let outcome = if free >= min_gb {
        Outcome::pass(format!(
            "`{path}`: {free_text} GB free of {total:.1} GB (at least {wanted} GB wanted)"
        ))
    } else {
        Outcome::fail(
            format!("`{path}`: only {free_text} GB free"),
            expected,
            format!("{free_text} GB free of {total:.1} GB"),
        )
    };
    outcome.with_details(details)
}

fn disk_space_assert() -> TypeDef {
    TypeDef::new(
        "DiskSpaceAssert",
        "Checks that the file system holding a path has enough free space. \
         Passes when the space available to unprivileged users on the file system of `path` is at least \
         `min_gb_free` gigabytes (10⁹ bytes each).",
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
    use clockwork_sdk::serde_json;

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

    fn space(available_bytes: u64, total_bytes: u64) -> fs::Space {
        fs::Space {
            available_bytes,
            total_bytes,
        }
    }

    #[test]
    fn enough_free_space_passes() {
        let outcome = judge_space("data", 5.0, Some(&space(5_000_000_000, 100_000_000_000)));
        assert_eq!(outcome.verdict, Verdict::Pass, "{}", outcome.message);
        assert_eq!(
            outcome.message,
            "`data`: 5.000 GB free of 100.0 GB (at least 5.0 GB wanted)"
        );
        let details: Value = serde_json::from_str(&outcome.details).unwrap();
        assert_eq!(details["available_bytes"], json!(5_000_000_000_u64));
    }

    #[test]
    fn too_little_free_space_fails() {
        let outcome = judge_space(".", 5.0, Some(&space(3_200_000_000, 100_000_000_000)));
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(outcome.message, "`.`: only 3.2 GB free");
        assert_eq!(outcome.expected.as_deref(), Some("at least 5.0 GB free"));
        assert_eq!(outcome.actual.as_deref(), Some("3.2 GB free of 100.0 GB"));
        // GB are 10⁹ bytes, not 2³⁰, and just under the limit does not read as the limit.
        let close = judge_space(".", 5.0, Some(&space(4_999_000_000, 10_000_000_000)));
        assert_eq!(close.verdict, Verdict::Fail);
        assert_eq!(close.actual.as_deref(), Some("4.999 GB free of 10.0 GB"));
        let quarter = judge_space(".", 0.25, Some(&space(200_000_000, 1_000_000_000)));
        assert_eq!(quarter.expected.as_deref(), Some("at least 0.25 GB free"));
        assert_eq!(quarter.actual.as_deref(), Some("0.2 GB free of 1.0 GB"));
    }

    #[test]
    fn a_missing_path_fails() {
        let outcome = judge_space("gone", 1.0, None);
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(outcome.expected.as_deref(), Some("at least 1.0 GB free"));
        assert_eq!(outcome.actual.as_deref(), Some("no file or folder `gone`"));
    }

    fn file(size: u64, mode: u32, modified_unix_ms: u64) -> fs::FileStat {
        fs::FileStat {
            size,
            mode,
            is_dir: false,
            modified_unix_ms,
        }
    }

    fn dir() -> fs::FileStat {
        fs::FileStat {
            size: 0,
            mode: 0o755,
            is_dir: true,
            modified_unix_ms: 0,
        }
    }

    #[test]
    fn existence() {
        let pass = judge_exists("config/app.json", Some(&file(12, 0o644, 0)), false);
        assert_eq!(pass.verdict, Verdict::Pass);
        assert_eq!(
            pass.message,
            "`config/app.json` exists (a file of 12 bytes)"
        );
        assert_eq!(
            judge_exists("vendor", Some(&dir()), false).verdict,
            Verdict::Pass
        );

        let missing = judge_exists("config/app.json", None, false);
        assert_eq!(missing.verdict, Verdict::Fail);
        assert_eq!(
            missing.expected.as_deref(),
            Some("a file or directory at `config/app.json`")
        );
        assert_eq!(
            missing.actual.as_deref(),
            Some("nothing at `config/app.json`")
        );

        assert_eq!(
            judge_exists("vendor/flask", Some(&dir()), true).verdict,
            Verdict::Pass
        );
        let a_file = judge_exists("vendor/flask", Some(&file(3, 0o644, 0)), true);
        assert_eq!(a_file.verdict, Verdict::Fail);
        assert_eq!(
            a_file.expected.as_deref(),
            Some("a directory at `vendor/flask`")
        );
        assert_eq!(
            a_file.actual.as_deref(),
            Some("a file of 3 bytes at `vendor/flask`")
        );
    }

    const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn content_config_needs_pattern_or_sha() {
        assert!(content_config(&json!({"path": "a"})).is_err());
        let bad = content_config(&json!({"pattern": "(", "sha256": "abc"}))
            .err()
            .unwrap();
        let paths: Vec<_> = bad.iter().map(|d| d.path.clone()).collect();
        assert_eq!(paths, [Some("/pattern".into()), Some("/sha256".into())]);
        let ok = content_config(&json!({"sha256": EMPTY_SHA.to_uppercase()}))
            .ok()
            .unwrap();
        assert_eq!(ok.sha256.as_deref(), Some(EMPTY_SHA));
        assert!(
            <FileAssertions as AssertionPlugin>::validate(
                "FileContentMatchesAssert",
                r#"{"path": "a"}"#
            )
            .is_err()
        );
        assert!(
            <FileAssertions as AssertionPlugin>::validate(
                "FileContentMatchesAssert",
                r#"{"path": "a", "pattern": "x"}"#
            )
            .is_ok()
        );
    }

    #[test]
    fn content_matches() {
        let wanted = content_config(&json!({"pattern": "\"log_level\":\\s*\"info\""}))
            .ok()
            .unwrap();
        let pass = judge_content("app.json", &wanted, br#"{"log_level": "info"}"#);
        assert_eq!(pass.verdict, Verdict::Pass);
        assert_eq!(
            pass.message,
            r#"`app.json` has content matching /"log_level":\s*"info"/"#
        );

        let both = content_config(&json!({"pattern": "^$", "sha256": EMPTY_SHA}))
            .ok()
            .unwrap();
        assert_eq!(judge_content("empty", &both, b"").verdict, Verdict::Pass);
    }

    #[test]
    fn content_mismatch_shows_sha_and_excerpt() {
        let wanted = content_config(&json!({"pattern": "debug", "sha256": EMPTY_SHA}))
            .ok()
            .unwrap();
        let outcome = judge_content("app.json", &wanted, b"level=info\n");
        assert_eq!(outcome.verdict, Verdict::Fail);
        assert_eq!(
            outcome.message,
            "`app.json` has no match for /debug/ and a different sha256"
        );
        assert_eq!(
            outcome.expected.as_deref(),
            Some(format!("content matching /debug/ and sha256 {EMPTY_SHA}").as_str())
        );
        let actual_sha = sha256_hex(b"level=info\n");
        assert_eq!(
            outcome.actual.as_deref(),
            Some(format!("sha256 {actual_sha}, 11 bytes starting \"level=info\\n\"").as_str())
        );
        let long = "x".repeat(500);
        let sha_only = content_config(&json!({"sha256": EMPTY_SHA})).ok().unwrap();
        let outcome = judge_content("big", &sha_only, long.as_bytes());
        assert_eq!(outcome.message, "`big` has a different sha256");
        let details: Value = serde_json::from_str(&outcome.details).unwrap();
        assert_eq!(
            details["excerpt"].as_str().map(|e| e.chars().count()),
            Some(201)
        );
    }

    #[test]
    fn permissions() {
        let wanted = perms_config(&json!({"expected_perms": "644"}))
            .ok()
            .unwrap();
        assert_eq!(wanted, (0o644, 0o777));
        let pass = judge_perms("a", wanted, Some(&file(1, 0o644, 0)));
        assert_eq!(pass.verdict, Verdict::Pass);
        assert_eq!(pass.message, "`a` has mode 0644");

        let fail = judge_perms("certs/key.pem", (0o600, 0o777), Some(&file(1, 0o644, 0)));
        assert_eq!(fail.verdict, Verdict::Fail);
        assert_eq!(fail.message, "`certs/key.pem` has mode 0644, expected 0600");
        assert_eq!(fail.expected.as_deref(), Some("mode 0600"));
        assert_eq!(fail.actual.as_deref(), Some("mode 0644 (a file of 1 byte)"));

        // Three digits ignore setuid and friends; four compare them.
        assert_eq!(
            judge_perms("s", (0o755, 0o777), Some(&file(1, 0o4755, 0))).verdict,
            Verdict::Pass
        );
        let four = perms_config(&json!({"expected_perms": "0755"}))
            .ok()
            .unwrap();
        assert_eq!(
            judge_perms("s", four, Some(&file(1, 0o4755, 0)))
                .actual
                .as_deref(),
            Some("mode 4755 (a file of 1 byte)")
        );

        for bad in ["64", "6440x", "888", "12345"] {
            assert!(
                perms_config(&json!({"expected_perms": bad})).is_err(),
                "{bad}"
            );
        }
        assert_eq!(
            judge_perms("gone", wanted, None).actual.as_deref(),
            Some("nothing at `gone`")
        );
    }

    #[test]
    fn modification_age() {
        let now = 1_700_000_000_000;
        let fresh = judge_age("status", 60, now, Some(&file(1, 0o644, now - 59_999)));
        assert_eq!(fresh.verdict, Verdict::Pass);
        assert_eq!(fresh.message, "`status` was modified 59 s ago (limit 60 s)");

        let stale = judge_age(
            "data/backup.sql",
            3600,
            now,
            Some(&file(1, 0o644, now - 5_234_500)),
        );
        assert_eq!(stale.verdict, Verdict::Fail);
        assert_eq!(
            stale.message,
            "`data/backup.sql` was last modified 5234 s ago"
        );
        assert_eq!(
            stale.expected.as_deref(),
            Some("modified within the last 3600 s")
        );
        assert_eq!(stale.actual.as_deref(), Some("modified 5234 s ago"));

        let future = judge_age("f", 0, now, Some(&file(1, 0o644, now + 10_000)));
        assert_eq!(future.verdict, Verdict::Pass);
        assert_eq!(judge_age("gone", 1, now, None).verdict, Verdict::Fail);
        assert!(age_config(&json!({"max_age_seconds": -1})).is_err());
    }
}
