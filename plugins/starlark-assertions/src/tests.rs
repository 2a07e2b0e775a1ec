//! The interpreter's side of a check, natively: what a function's return
//! value means, where errors point, and each limit, without host imports
//! (none of these programs calls one).

use std::time::{Duration, Instant};

use clockwork_sdk::prelude::*;
use clockwork_sdk::serde_json;

use crate::limits::{self, Bounds};
use crate::program::{Program, ProgramError};
use crate::verdict;

fn bounds() -> Bounds {
    Bounds {
        deadline: Instant::now() + Duration::from_secs(20),
        timeout: Duration::from_secs(20),
        memory_bytes: limits::MEMORY_BYTES,
        statements: limits::STATEMENTS,
    }
}

/// A program whose entry is the global `entry` of `main.star`.
fn program(main: &str, entry: Value, extra: Value) -> Program {
    let mut modules = json!({"main.star": {"source": main, "globals": {"LIMIT": {"value": 3}, "cfg": {"unavailable": "a struct holding declarations"}}}});
    if let (Some(m), Some(e)) = (modules.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    Program::from_json(&json!({
        "$function": "check",
        "defined_at": "main.star:2",
        "entry": entry,
        "modules": modules,
        "resources": {"web": {"name": "web", "type": "DockerResource", "fields": {"image": "nginx", "env_vars": {"PW": "***"}}, "secrets": {"PW": "pw"}, "container": "web"}},
    }))
    .unwrap_or_else(|e| panic!("{e:?}"))
}

fn run(p: &Program, bounds: Bounds) -> Result<Outcome, String> {
    match p.call(&[Some("web")], bounds, |v| verdict::judge(p, v)) {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(message)) => Err(message),
        Err(e) => verdict::from_error(p, &e).map_err(|e| match e {
            PluginError::Failed(m) => m,
            other => format!("{other:?}"),
        }),
    }
}

fn global(main: &str) -> Program {
    program(
        main,
        json!({"module": "main.star", "global": "check"}),
        json!({}),
    )
}

#[test]
fn return_values_mean_pass_fail_or_an_error() {
    let cases = [
        (
            "def check(r):\n    return (True, \"fine\")\n",
            Some((Verdict::Pass, "fine")),
        ),
        (
            "def check(r):\n    return (False, \"broken\")\n",
            Some((Verdict::Fail, "broken")),
        ),
        (
            "def check(r):\n    return r.name == \"web\"\n",
            Some((Verdict::Pass, "`check` (main.star:2) passed")),
        ),
        (
            "def check(r):\n    return False\n",
            Some((Verdict::Fail, "returned False")),
        ),
        ("def check(r):\n    return {\"ok\": True}\n", None),
    ];
    for (source, expected) in cases {
        let outcome = run(&global(source), bounds());
        match expected {
            Some((verdict, message)) => {
                let outcome = outcome.unwrap_or_else(|e| panic!("{source}: {e}"));
                assert_eq!(outcome.verdict, verdict, "{source}");
                assert!(
                    outcome.message.contains(message),
                    "{source}: {}",
                    outcome.message
                );
            }
            None => {
                let error = outcome.err().unwrap_or_default();
                assert!(error.contains("returned a dict"), "{error}");
                assert!(error.contains("(passed, message)"), "{error}");
            }
        }
    }
    let forgot = run(&global("def check(r):\n    r.name\n"), bounds()).expect_err("None");
    assert!(
        forgot.contains("returned None") && forgot.contains("return True"),
        "{forgot}"
    );
}

#[test]
fn fail_is_a_failing_verdict_located_in_the_users_file() {
    let p = global(
        "\ndef check(r):\n    if r.image == \"nginx\":\n        fail(\"image is %s\" % r.image)\n",
    );
    let outcome = run(&p, bounds()).expect("a verdict");
    assert_eq!(outcome.verdict, Verdict::Fail);
    assert_eq!(outcome.message, "image is nginx");
    let details: Value = serde_json::from_str(&outcome.details).expect("json");
    assert_eq!(details["failed_at"], "main.star:4:9");
}

#[test]
fn the_view_masks_fields_and_top_level_data_is_there() {
    let p = global(
        "def check(r):\n    return (r.env_vars[\"PW\"] == \"***\" and r.container == \"web\" and LIMIT == 3, \"ok\")\n",
    );
    assert_eq!(run(&p, bounds()).expect("ran").verdict, Verdict::Pass);
}

#[test]
fn a_value_that_is_not_data_says_so_when_used() {
    let p = global("def check(r):\n    return cfg.web\n");
    let error = run(&p, bounds()).expect_err("an error");
    assert!(
        error.contains("`cfg.web`") && error.contains("not available to checks"),
        "{error}"
    );
    let used = global("def check(r):\n    return cfg(1)\n");
    let error = run(&used, bounds()).expect_err("an error");
    assert!(
        error.contains("`cfg`") && error.contains("at main.star:2:12"),
        "{error}"
    );
}

#[test]
fn functions_and_constants_of_loaded_files_are_there() {
    let p = program(
        "load(\"lib/util.star\", \"double\", \"BASE\")\ndef check(r):\n    return (double(BASE) == 42, \"%d\" % double(BASE))\n",
        json!({"module": "main.star", "global": "check"}),
        json!({"lib/util.star": {"source": "def double(x):\n    return x * 2\n", "globals": {"BASE": {"value": 21}}}}),
    );
    let outcome = run(&p, bounds()).expect("ran");
    assert_eq!(outcome.verdict, Verdict::Pass, "{}", outcome.message);
    assert_eq!(outcome.message, "42");
}

#[test]
fn a_lambda_is_evaluated_where_it_was_written() {
    let source = "\n\n\n";
    let p = program(
        source,
        json!({"module": "main.star", "lambda": {"line": 3, "column": 30, "source": "lambda r: 1 // (LIMIT - 3)"}}),
        json!({}),
    );
    let error = run(&p, bounds()).expect_err("division by zero");
    assert!(error.contains("at main.star:3:"), "{error}");
}

#[test]
fn each_limit_ends_the_check_naming_it_and_the_line() {
    let endless = "def check(r):\n    for i in range(1 << 30):\n        for j in range(1 << 30):\n            x = j\n";
    let budget = Bounds {
        statements: 10_000,
        ..bounds()
    };
    let error = run(&global(endless), budget).expect_err("budget");
    assert!(error.contains("ran more than 10000 statements"), "{error}");
    assert!(error.contains("at main.star:4:"), "{error}");

    let started = Instant::now();
    let deadline = Bounds {
        deadline: Instant::now() + Duration::from_millis(200),
        timeout: Duration::from_millis(200),
        ..bounds()
    };
    let error = run(&global(endless), deadline).expect_err("deadline");
    assert!(error.contains("ran past its deadline of 0.2 s"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let deep = global("def check(r, n = 0):\n    return check(r, n + 1)\n");
    let error = run(&deep, bounds()).expect_err("recursion");
    assert!(error.contains("recursed too deeply"), "{error}");
}

#[test]
fn a_program_the_host_did_not_send_whole_is_refused() {
    let missing = Program::from_json(
        &json!({"$function": "f", "entry": {"module": "a.star", "global": "f"}, "modules": {}}),
    );
    assert!(matches!(missing, Err(ProgramError::Malformed(m)) if m.contains("a.star")));
    let no_entry = global("X = 1\n");
    let error = run(&no_entry, bounds()).expect_err("no such function");
    assert!(error.contains("`check` is not defined"), "{error}");
}
