//! The load stage with plain data: `load()` paths and plugin diagnostics
//! in, paths and located messages out; and the evaluation of a small
//! project written into a temporary folder (with no plugin types: what
//! the loader itself does — `load()`, its cycles, errors and limits).

use std::sync::Arc;

use clockwork_schema::{FieldSchema, TypeSchema};
use serde_json::json;

use super::validate::about_completable_gap;
use super::*;
use crate::model::Declaration;
use crate::plugin::bindings::types::Severity;

#[test]
fn a_load_path_is_the_same_file_however_it_is_spelled() {
    for spelled in [
        "lib.star",
        "//lib.star",
        "./lib.star",
        ":lib.star",
        "//:lib.star",
    ] {
        assert_eq!(
            project_relative(spelled),
            Ok(PathBuf::from("lib.star")),
            "{spelled}"
        );
    }
    assert_eq!(
        project_relative("./sub/./util.star"),
        Ok(PathBuf::from("sub/util.star"))
    );
}

#[test]
fn a_load_path_leaving_the_project_or_not_starlark_is_refused() {
    assert_eq!(
        project_relative("/etc/lib.star"),
        Err("`load(\"/etc/lib.star\")`: paths are relative to the project folder".into())
    );
    assert_eq!(
        project_relative("sub/../../lib.star"),
        Err("`load(\"sub/../../lib.star\")` leaves the project folder".into())
    );
    assert_eq!(
        project_relative("sub/../lib.star"),
        Err("`load(\"sub/../lib.star\")` leaves the project folder".into()),
        "no `..` at all, even one that stays inside"
    );
    for other in ["lib.py", "lib", ".env"] {
        assert_eq!(
            project_relative(other),
            Err(format!(
                "`load(\"{other}\")`: only `.star` files can be loaded"
            )),
        );
    }
}

#[test]
fn a_pointer_reads_as_the_user_indexes_the_field() {
    assert_eq!(field_path("/ports/1"), "ports[1]");
    assert_eq!(field_path("/env_vars/PORT"), "env_vars[\"PORT\"]");
    assert_eq!(field_path("/image"), "image");
}

#[test]
fn edges_are_the_structural_fields_of_each_kind() {
    assert_eq!(
        structural_fields(PluginKind::Resource),
        ["connections", "assertions"]
    );
    assert_eq!(structural_fields(PluginKind::Connection), ["to_resource"]);
    assert!(structural_fields(PluginKind::Assertion).is_empty());
}

fn diagnostic(severity: Severity, path: Option<&str>, summary: &str) -> Diagnostic {
    Diagnostic {
        severity,
        summary: summary.into(),
        detail: None,
        path: path.map(str::to_string),
    }
}

#[test]
fn a_plugins_diagnostics_are_located_at_the_declaration_errors_apart_from_warnings() {
    let d = Declaration::fixture(4, PluginKind::Resource, "Box", "api");
    let source = Some(Arc::new("…".to_string()));
    let mut with_detail = diagnostic(Severity::Error, Some("/ports/0"), "must be a number");
    with_detail.detail = Some("write `8080:80`".into());
    let (errors, warnings) = located(
        &d,
        source.clone(),
        vec![
            with_detail,
            diagnostic(Severity::Warning, Some("/image"), "`latest` moves"),
            diagnostic(Severity::Error, None, "needs an image"),
        ],
    );
    let errors: Vec<(&str, Option<&str>, usize)> = errors
        .iter()
        .map(|l| (l.message.as_str(), l.help.as_deref(), l.location.line))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "`api` (Box): `ports[0]`: must be a number",
                Some("write `8080:80`"),
                5
            ),
            ("`api` (Box): needs an image", None, 5),
        ]
    );
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].message, "`api` (Box): `image`: `latest` moves");
    assert_eq!(warnings[0].source, source, "with the text for a snippet");
}

#[test]
fn a_field_the_plugins_message_starts_with_is_not_named_twice() {
    let d = Declaration::fixture(0, PluginKind::Resource, "Box", "api");
    let (errors, _) = located(
        &d,
        None,
        vec![diagnostic(
            Severity::Error,
            Some("/image"),
            "`image` is required",
        )],
    );
    assert_eq!(errors[0].message, "`api` (Box): `image` is required");
}

fn schema() -> TypeSchema {
    let field = |name: &str, completable: bool| FieldSchema {
        name: name.into(),
        value_type: "string".into(),
        doc: "A field.".into(),
        required: true,
        default: None,
        completable,
        forces_replace: false,
        secret: false,
        examples: Vec::new(),
        receives: None,
    };
    TypeSchema {
        name: "Box".into(),
        doc: "A box.".into(),
        fields: vec![field("image", true), field("command", false)],
    }
}

#[test]
fn only_a_missing_completable_field_waits_for_completion() {
    let mut d = Declaration::fixture(0, PluginKind::Resource, "Box", "api");
    let schema = schema();
    let about = |path: Option<&str>| diagnostic(Severity::Error, path, "is required");
    assert!(about_completable_gap(
        &d,
        Some(&schema),
        &about(Some("/image"))
    ));
    assert!(
        about_completable_gap(&d, Some(&schema), &about(Some("/image/0"))),
        "inside the field"
    );
    assert!(
        !about_completable_gap(&d, Some(&schema), &about(Some("/command"))),
        "not completable"
    );
    assert!(
        !about_completable_gap(&d, Some(&schema), &about(None)),
        "about no field"
    );
    assert!(
        !about_completable_gap(&d, None, &about(Some("/image"))),
        "no schema"
    );
    d.fields.insert("image".into(), json!(""));
    assert!(
        !about_completable_gap(&d, Some(&schema), &about(Some("/image"))),
        "the user wrote it: the problem is theirs"
    );
}

/// A project folder holding `files`.
fn folder(files: &[(&str, &str)]) -> (tempfile::TempDir, crate::project::Project) {
    let tmp = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = tmp.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
        std::fs::write(path, text).expect("write");
    }
    let project = crate::project::Project::open(tmp.path()).expect("project");
    (tmp, project)
}

/// Evaluates the project with no plugin types.
fn evaluated(
    project: &crate::project::Project,
) -> Result<(Declared, Sources, Vec<Located>), LoadError> {
    evaluate(project, Arc::new(TypeRegistry::default()))
}

/// The located problems of a failed evaluation.
fn problems(result: Result<(Declared, Sources, Vec<Located>), LoadError>) -> Vec<Located> {
    match result {
        Err(LoadError::Located(problems)) => problems,
        Err(other) => panic!("located problems, not {other}"),
        Ok(_) => panic!("located problems, not a project"),
    }
}

#[test]
fn a_project_without_declarations_evaluates_to_an_empty_project_with_its_text() {
    let text = "x = [i * 2 for i in range(3)]\nprint(x)\n";
    let (_tmp, project) = folder(&[("main.star", text)]);
    let (declared, sources, problems) = evaluated(&project).expect("evaluates");
    assert!(declared.declarations.is_empty());
    assert!(problems.is_empty());
    assert_eq!(declared.file, PathBuf::from("main.star"));
    assert_eq!(sources["main.star"].as_str(), text);
}

#[test]
fn a_loaded_file_is_read_once_and_kept_among_the_sources() {
    let (_tmp, project) = folder(&[
        (
            "main.star",
            "load(\"lib/util.star\", \"double\")\nload(\"//lib/util.star\", twice = \"double\")\nx = double(2) + twice(3)\n",
        ),
        ("lib/util.star", "def double(n):\n    return n * 2\n"),
    ]);
    let (_, sources, _) = evaluated(&project).expect("evaluates");
    let mut names: Vec<&String> = sources.keys().collect();
    names.sort();
    assert_eq!(names, ["lib/util.star", "main.star"]);
}

#[test]
fn a_load_cycle_is_named_in_the_file_that_closes_it() {
    let (_tmp, project) = folder(&[
        ("main.star", "load(\"a.star\", \"x\")\n"),
        ("a.star", "load(\"main.star\", \"y\")\nx = 1\n"),
    ]);
    let problems = problems(evaluated(&project));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .message
            .contains("`load()` cycle: main.star → a.star → main.star"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[0].location.file, PathBuf::from("a.star"));
}

#[test]
fn a_load_of_a_missing_file_says_where_it_was_looked_for() {
    let (_tmp, project) = folder(&[("main.star", "load(\"nope.star\", \"y\")\n")]);
    let problems = problems(evaluated(&project));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .message
            .contains("`load(\"nope.star\")`: no such file in the project"),
        "{}",
        problems[0].message
    );
    assert_eq!(problems[0].location.file, PathBuf::from("main.star"));
}

#[test]
fn a_load_leaving_the_project_is_refused_before_anything_is_read() {
    let (_tmp, project) = folder(&[("main.star", "load(\"../secrets.star\", \"key\")\n")]);
    let problems = problems(evaluated(&project));
    assert!(
        problems[0].message.contains("leaves the project folder"),
        "{}",
        problems[0].message
    );
}

#[test]
fn a_failure_inside_a_loaded_file_is_reported_where_it_happened() {
    let (_tmp, project) = folder(&[
        ("main.star", "load(\"lib.star\", \"x\")\n"),
        ("lib.star", "a = 1\nx = a + \"one\"\n"),
    ]);
    let problems = problems(evaluated(&project));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location.file, PathBuf::from("lib.star"));
    assert_eq!(problems[0].location.line, 2);
    assert!(problems[0].source.is_some(), "with the text for a snippet");
}

#[test]
fn a_syntax_error_is_located_at_its_line() {
    let (_tmp, project) = folder(&[("main.star", "x = 1\ny = (2,\nz = 3 3\n")]);
    let problems = problems(evaluated(&project));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location.file, PathBuf::from("main.star"));
    assert!(problems[0].location.line >= 2, "{:?}", problems[0].location);
}

#[test]
fn an_evaluation_past_its_time_limit_stops_at_its_statement_and_says_how_to_raise_it() {
    let (_tmp, mut project) = folder(&[(
        "main.star",
        "x = 0\nfor i in range(1000000000):\n    x = x + i\n",
    )]);
    project.config.limits.evaluation_seconds = Some(0.05);
    let started = std::time::Instant::now();
    let problems = problems(evaluated(&project));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        "evaluating the project took longer than its time limit of 0.05 s"
    );
    assert_eq!(problems[0].location.line, 3, "the statement it was on");
    let help = problems[0].help.as_deref().expect("help");
    assert!(help.contains("evaluation_seconds = 1"), "{help}");
}

#[test]
fn what_the_limits_say_doubles_the_limit_that_was_passed() {
    let limits = crate::project::EvaluationLimits {
        deadline: std::time::Duration::from_secs(5),
        memory_bytes: 256 << 20,
    };
    let (text, help) = limits::message(limits::Exceeded::Time, &limits);
    assert_eq!(
        text,
        "evaluating the project took longer than its time limit of 5 s"
    );
    assert!(help.ends_with("evaluation_seconds = 10"), "{help}");
    let (text, help) = limits::message(limits::Exceeded::Memory, &limits);
    assert_eq!(
        text,
        "evaluating the project used more than its memory limit of 256 MiB"
    );
    assert!(help.ends_with("evaluation_memory_mib = 512"), "{help}");
}

#[test]
fn the_resources_of_a_project_are_its_resource_declarations() {
    let project = Declared::boxes(&["db"]);
    assert_eq!(resources(&project).collect::<Vec<_>>(), [DeclId(0)]);
}
