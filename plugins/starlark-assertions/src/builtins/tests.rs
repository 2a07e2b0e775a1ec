//! The pure parts of the builtins (host imports cannot run natively).

use std::time::Duration;

use regex::Regex;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;

use super::common::{byte_limit, port_of, positive_seconds};
use super::http::{method_of, url_of};
use super::re::{Found, findall, split};
use super::re_pattern::{Anchor, cached_regex};
use super::re_pattern::{REGEX_CACHE, REGEX_CACHE_SIZE, compile};
use super::re_template::sub_template;
use super::re_template::{Piece, parse_template};
use super::register;
use super::sleep::sleep_refusal;
use starlark::environment::{Globals, LibraryExtension, Module};
use starlark::syntax::{AstModule, Dialect};

fn re(pattern: &str) -> Regex {
    compile(pattern, Anchor::None).expect("a valid pattern")
}

/// Evaluates `code` with the builtins and returns `repr` of its last
/// expression, or the error's text.
fn eval(code: &str) -> Result<String, String> {
    let globals: Globals = GlobalsBuilder::extended_by(&[LibraryExtension::StructType])
        .with(register)
        .build();
    let ast = AstModule::parse("test.star", code.to_string(), &Dialect::Extended)
        .map_err(|e| e.to_string())?;
    Module::with_temp_heap(|module| {
        let mut evaluator = Evaluator::new(&module);
        evaluator
            .eval_module(ast, &globals)
            .map(|v| v.to_repr())
            .map_err(|e| e.to_string())
    })
}

#[test]
fn search_match_and_fullmatch_anchor_differently() {
    assert_eq!(
        eval(r#"re.search(r"\d+", "ab 12 cd").group()"#).as_deref(),
        Ok("\"12\"")
    );
    assert_eq!(eval(r#"re.match(r"\d+", "ab 12")"#).as_deref(), Ok("None"));
    assert_eq!(
        eval(r#"re.match(r"ab", "ab 12").span()"#).as_deref(),
        Ok("(0, 2)")
    );
    assert_eq!(
        eval(r#"re.fullmatch(r"a|ab", "ab").group(0)"#).as_deref(),
        Ok("\"ab\"")
    );
    assert_eq!(eval(r#"re.fullmatch(r"ab", "abc")"#).as_deref(), Ok("None"));
    assert_eq!(
        eval("re.fullmatch(r\"(?x) a b # a comment\", \"ab\") != None").as_deref(),
        Ok("True")
    );
    assert_eq!(eval(r#"bool(re.search("a", "a"))"#).as_deref(), Ok("True"));
}

#[test]
fn match_groups_and_offsets() {
    let code = r#"
m = re.search(r"(?P<k>\w+)=(\d+)?(x)?", "é: key=12")
(m.group(), m.group(1), m.group("k"), m.group(2), m.groups(), m.start(), m.end(1), m.start(3), m.span(2), m.groupdict())
"#;
    assert_eq!(
        eval(code).as_deref(),
        Ok(
            r#"("key=12", "key", "key", "12", ("key", "12", None), 3, 6, -1, (7, 9), {"k": "key"})"#
        )
    );
    assert!(eval(r#"re.search("(a)", "a").group(2)"#).is_err_and(|e| e.contains("no group 2")));
    assert!(
        eval(r#"re.search("(a)", "a").group("x")"#).is_err_and(|e| e.contains("no group named"))
    );
}

#[test]
fn findall_follows_python() {
    let r = re(r"\d+");
    assert_eq!(
        findall(&r, "1 22 x"),
        vec![Found::Whole("1"), Found::Whole("22")]
    );
    let r = re(r"(\w)=(\d)?");
    assert_eq!(
        findall(&r, "a=1 b="),
        vec![Found::Groups(vec!["a", "1"]), Found::Groups(vec!["b", ""])]
    );
    assert_eq!(
        eval(r#"re.findall(r"(\w)=\d", "a=1 b=2")"#).as_deref(),
        Ok(r#"["a", "b"]"#)
    );
    assert_eq!(
        eval(r#"re.findall(r"(\w)=(\d)", "a=1")"#).as_deref(),
        Ok(r#"[("a", "1")]"#)
    );
}

#[test]
fn sub_expands_python_templates() {
    let r = re(r"(?P<user>\w+)@(\w+)");
    assert_eq!(
        sub_template(&r, r"\2 at \g<user> $1", "me@host, you@there", 0).ok(),
        Some("host at me $1, there at you $1".to_string())
    );
    assert_eq!(
        sub_template(&r, r"[\g<0>]", "me@host you@there", 1).ok(),
        Some("[me@host] you@there".to_string())
    );
    assert!(parse_template(r"\3", &r).is_err());
    assert!(parse_template(r"\q", &r).is_err());
    assert!(parse_template(r"\g<nope>", &r).is_err());
    assert_eq!(
        parse_template(r"a\nb\.", &r).ok(),
        Some(vec![Piece::Text("a\nb\\.".into())])
    );
    assert_eq!(
        eval(r#"re.sub(r"\d", lambda m: "<" + m.group() + ">", "a1b22", count = 2)"#).as_deref(),
        Ok(r#""a<1>b<2>2""#)
    );
    assert!(eval(r#"re.sub("a", 1, "a")"#).is_err_and(|e| e.contains("`repl` must be")));
}

#[test]
fn split_includes_groups() {
    let r = re(r"\s*,\s*");
    assert_eq!(
        split(&r, "a, b ,c", 0),
        vec![Some("a"), Some("b"), Some("c")]
    );
    assert_eq!(split(&r, "a, b ,c", 1), vec![Some("a"), Some("b ,c")]);
    let r = re(r"(-)|(\+)");
    assert_eq!(
        split(&r, "1-2+3", 0),
        vec![
            Some("1"),
            Some("-"),
            None,
            Some("2"),
            None,
            Some("+"),
            Some("3")
        ]
    );
}

#[test]
fn invalid_patterns_name_the_pattern() {
    let e = eval(r#"re.search("(abc", "x")"#).expect_err("an invalid pattern");
    assert!(e.contains("invalid regular expression \"(abc\""), "{e}");
    assert!(e.contains("unclosed group"), "{e}");
}

#[test]
fn the_cache_is_bounded() {
    for i in 0..(REGEX_CACHE_SIZE + 10) {
        cached_regex(&format!("a{{{i}}}"), Anchor::None).expect("valid");
    }
    REGEX_CACHE.with(|c| assert_eq!(c.borrow().len(), REGEX_CACHE_SIZE));
    assert!(cached_regex("a{3}", Anchor::Full).is_ok());
}

#[test]
fn arguments_are_checked() {
    assert!(port_of(0).is_err());
    assert!(port_of(65536).is_err());
    assert_eq!(port_of(8080).ok(), Some(8080));
    assert!(positive_seconds("timeout", 0.0).is_err());
    assert!(positive_seconds("timeout", f64::NAN).is_err());
    assert!(byte_limit("max_bytes", 0, 10).is_err());
    assert_eq!(byte_limit("max_bytes", 1 << 40, 10).ok(), Some(10));
    assert!(method_of("GET /").is_err());
    assert_eq!(method_of("patch").ok().as_deref(), Some("PATCH"));
    assert!(url_of("localhost:8080").is_err());
    assert!(url_of("HTTP://localhost").is_ok());
    assert!(sleep_refusal(-1.0, Duration::from_secs(5)).is_some());
    let refusal = sleep_refusal(10.0, Duration::from_secs(2)).unwrap_or_default();
    assert!(
        refusal.contains("deadline") && refusal.contains("2.000 s"),
        "{refusal}"
    );
    assert!(sleep_refusal(1.0, Duration::from_secs(2)).is_none());
}

#[test]
fn argv_must_be_a_non_empty_list_of_strings() {
    assert!(eval(r#"exec("c", "ls -l")"#).is_err_and(|e| e.contains("list of strings")));
    assert!(eval(r#"exec("c", [])"#).is_err_and(|e| e.contains("empty list")));
    assert!(eval(r#"exec("c", ["ls", 1])"#).is_err_and(|e| e.contains("`argv`")));
}

#[test]
fn builtins_that_reach_out_refuse_outside_a_check() {
    let e = eval(r#"http.get("http://localhost")"#).expect_err("no check");
    assert!(e.contains("while a check runs"), "{e}");
    let e = eval(r#"exec("c", ["ls"])"#).expect_err("no check");
    assert!(e.contains("while a check runs"), "{e}");
    let e = eval("sleep(1)").expect_err("no check");
    assert!(e.contains("while a check runs"), "{e}");
}
