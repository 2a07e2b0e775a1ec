//! `clockwork assert`'s reports: the terminal lines, the documentation
//! form, JSON, JUnit XML and TAP 13. Every text passes the masker.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::assert::{Checked, Origin, Tally, Verdict};
use crate::output::Masker;

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "✓",
        Verdict::Fail => "✗",
        Verdict::Skip => "-",
        Verdict::Error => "!",
    }
}

/// `nginx-web: HealthcheckAssert (http://localhost:8080/health)`.
fn title(r: &Checked) -> String {
    let holder = match &r.check.target {
        Some((target, _)) => target.to_string(),
        None => r.check.name.to_string(),
    };
    let brief = if r.check.brief.is_empty() {
        String::new()
    } else {
        format!(" ({})", r.check.brief)
    };
    let implied = match &r.check.origin {
        Origin::Declared => String::new(),
        Origin::Connection(c) => format!(" [from {c}]"),
        Origin::Implied(why) => format!(" [implied: {why}]"),
    };
    format!("{holder}: {}{brief}{implied}", r.check.type_name)
}

fn attempts(r: &Checked) -> String {
    if r.attempts > 1 {
        format!(", {} attempts", r.attempts)
    } else {
        String::new()
    }
}

/// The timings a plugin reported, as `connect 3 ms, first_byte 409 ms`.
fn timings(r: &Checked) -> String {
    r.timings
        .iter()
        .map(|(name, us)| {
            format!(
                "{} {}",
                name.replace('_', " "),
                ms(Duration::from_micros(*us))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One check as a terminal line, with what was expected and seen when it
/// did not pass.
pub fn render_checked(r: &Checked, masker: &Masker) -> String {
    let mut out = String::new();
    match r.verdict {
        Verdict::Pass | Verdict::Skip => {
            let _ = write!(
                out,
                "{} {}  {}{}",
                mark(r.verdict),
                title(r),
                ms(r.elapsed),
                attempts(r)
            );
            if r.verdict == Verdict::Skip {
                let _ = write!(out, " (skipped: {})", r.message);
            }
        }
        Verdict::Fail | Verdict::Error => {
            let kind = if r.verdict == Verdict::Error {
                "could not check: "
            } else {
                ""
            };
            let _ = write!(out, "{} {}: {kind}{}", mark(r.verdict), title(r), r.message);
            let _ = write!(out, "  ({}{})", ms(r.elapsed), attempts(r));
            if let Some(expected) = &r.expected {
                let _ = write!(out, "\n    expected  {expected}");
            }
            if let Some(actual) = &r.actual {
                let timings = timings(r);
                if timings.is_empty() {
                    let _ = write!(out, "\n    actual    {actual}");
                } else {
                    let _ = write!(out, "\n    actual    {actual} ({timings})");
                }
            }
            if let Some(at) = &r.check.declared_at {
                let _ = write!(out, "\n    declared  {at}");
            }
        }
    }
    masker.scrub(&out)
}

/// The line after the checks.
pub fn render_tally(tally: &Tally, elapsed: Duration) -> String {
    let total = tally.passed + tally.failed + tally.skipped + tally.errors;
    let mut parts = vec![format!("{} passed", tally.passed)];
    if tally.failed > 0 {
        parts.push(format!("{} failed", tally.failed));
    }
    if tally.errors > 0 {
        parts.push(format!("{} could not be checked", tally.errors));
    }
    if tally.skipped > 0 {
        parts.push(format!("{} skipped", tally.skipped));
    }
    format!(
        "\n{total} assertion{}: {} in {}",
        if total == 1 { "" } else { "s" },
        parts.join(", "),
        ms(elapsed)
    )
}

/// Grouped by declaration, every check with its message, as goss's
/// `documentation` format.
pub fn render_documentation(results: &[Checked], elapsed: Duration, masker: &Masker) -> String {
    let mut out = String::new();
    let mut last: Option<String> = None;
    for r in results {
        let group = r
            .check
            .target
            .as_ref()
            .map(|(n, t)| format!("{n} ({t})"))
            .unwrap_or_else(|| "(not attached)".into());
        if last.as_deref() != Some(group.as_str()) {
            if last.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{group}");
            last = Some(group);
        }
        let verdict = match r.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
            Verdict::Error => "ERROR",
        };
        let _ = writeln!(
            out,
            "  {verdict:<5} {} {}: {}  ({}{})",
            r.check.type_name,
            r.check.name,
            r.message,
            ms(r.elapsed),
            attempts(r)
        );
        if !r.ok() {
            if let Some(expected) = &r.expected {
                let _ = writeln!(out, "          expected  {expected}");
            }
            if let Some(actual) = &r.actual {
                let _ = writeln!(out, "          actual    {actual}");
            }
        }
    }
    out.push_str(&render_tally(&Tally::of(results), elapsed));
    masker.scrub(&out)
}

/// Every check with its verdict, message, expected, actual, details,
/// attempts and timings.
pub fn assert_json(results: &[Checked], elapsed: Duration, masker: &Masker) -> Value {
    let checks: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "name": r.check.name,
                "description": r.check.config.get("description"),
                "type": r.check.type_name,
                "target": r.check.target.as_ref().map(|(n, _)| n),
                "target_type": r.check.target.as_ref().map(|(_, t)| t),
                "origin": match &r.check.origin {
                    Origin::Declared => json!("declared"),
                    Origin::Connection(c) => json!({"connection": c}),
                    Origin::Implied(why) => json!({"implied": why}),
                },
                "declared_at": r.check.declared_at,
                "verdict": r.verdict,
                "message": r.message,
                "expected": r.expected,
                "actual": r.actual,
                "details": r.details,
                "attempts": r.attempts,
                "duration_ms": r.elapsed.as_secs_f64() * 1000.0,
                "timings_us": r.timings.iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<serde_json::Map<String, Value>>(),
            })
        })
        .collect();
    let checks: Vec<Value> = checks.iter().map(|c| masker.json(None, c)).collect();
    json!({
        "summary": Tally::of(results),
        "duration_ms": elapsed.as_secs_f64() * 1000.0,
        "checks": checks,
    })
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to write most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// What a failing or erroring check says, for a report body.
fn body(r: &Checked, masker: &Masker) -> String {
    let mut out = r.message.clone();
    if let Some(expected) = &r.expected {
        let _ = write!(out, "\nexpected: {expected}");
    }
    if let Some(actual) = &r.actual {
        let _ = write!(out, "\nactual: {actual}");
    }
    if r.details.as_object().is_some_and(|d| !d.is_empty()) {
        let _ = write!(out, "\ndetails: {}", masker.json(None, &r.details));
    }
    let _ = write!(out, "\nattempts: {}", r.attempts);
    if let Some(at) = &r.check.declared_at {
        let _ = write!(out, "\ndeclared at: {at}");
    }
    out
}

/// JUnit XML: one `testsuite` per declaration, one `testcase` per check,
/// with timings and failure messages, as GitLab and GitHub render it.
pub fn render_junit(results: &[Checked], elapsed: Duration, masker: &Masker) -> String {
    let mut suites: Vec<(String, Vec<&Checked>)> = Vec::new();
    for r in results {
        let suite = r
            .check
            .target
            .as_ref()
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| r.check.name.to_string());
        match suites.iter_mut().find(|(s, _)| *s == suite) {
            Some((_, members)) => members.push(r),
            None => suites.push((suite, vec![r])),
        }
    }
    let tally = Tally::of(results);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"clockwork assert\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        results.len(),
        tally.failed,
        tally.errors,
        tally.skipped,
        seconds(elapsed)
    );
    for (suite, members) in &suites {
        let owned: Vec<Checked> = members.iter().map(|r| (*r).clone()).collect();
        let t = Tally::of(&owned);
        let time: Duration = members.iter().map(|r| r.elapsed).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            xml(suite),
            members.len(),
            t.failed,
            t.errors,
            t.skipped,
            seconds(time)
        );
        for r in members {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                xml(&format!("{} ({})", r.check.name, r.check.type_name)),
                xml(suite),
                seconds(r.elapsed)
            );
            match r.verdict {
                Verdict::Pass => out.push_str("/>\n"),
                Verdict::Skip => {
                    let _ = write!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                        xml(&r.message)
                    );
                }
                Verdict::Fail | Verdict::Error => {
                    let tag = if r.verdict == Verdict::Fail {
                        "failure"
                    } else {
                        "error"
                    };
                    let _ = write!(
                        out,
                        ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
                        xml(&r.message),
                        xml(&r.check.type_name),
                        xml(&body(r, masker))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    masker.scrub(&out)
}

/// A YAML block scalar line's text: TAP 13 diagnostics are YAML.
fn yaml_quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A text on one line: a TAP test line ends at the first line break.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// TAP version 13, with a YAML block of what was expected and seen under
/// each failing test.
pub fn render_tap(results: &[Checked], masker: &Masker) -> String {
    let mut out = format!("TAP version 13\n1..{}\n", results.len());
    for (i, r) in results.iter().enumerate() {
        let n = i + 1;
        let description = one_line(&title(r)).replace('#', "\\#");
        match r.verdict {
            Verdict::Pass => {
                let _ = writeln!(out, "ok {n} - {description}");
            }
            Verdict::Skip => {
                let _ = writeln!(
                    out,
                    "ok {n} - {description} # SKIP {}",
                    one_line(&r.message)
                );
            }
            Verdict::Fail | Verdict::Error => {
                let _ = writeln!(out, "not ok {n} - {description}");
                out.push_str("  ---\n");
                let _ = writeln!(out, "  message: {}", yaml_quoted(&r.message));
                let _ = writeln!(
                    out,
                    "  severity: {}",
                    if r.verdict == Verdict::Fail {
                        "fail"
                    } else {
                        "error"
                    }
                );
                if let Some(expected) = &r.expected {
                    let _ = writeln!(out, "  expected: {}", yaml_quoted(expected));
                }
                if let Some(actual) = &r.actual {
                    let _ = writeln!(out, "  actual: {}", yaml_quoted(actual));
                }
                let _ = writeln!(out, "  attempts: {}", r.attempts);
                let _ = writeln!(
                    out,
                    "  duration_ms: {:.1}",
                    r.elapsed.as_secs_f64() * 1000.0
                );
                if let Some(at) = &r.check.declared_at {
                    let _ = writeln!(out, "  at: {}", yaml_quoted(at));
                }
                out.push_str("  ...\n");
            }
        }
    }
    masker.scrub(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assert::Check;

    fn checked(verdict: Verdict, message: &str) -> Checked {
        Checked {
            check: Check {
                name: "web-healthcheck".into(),
                type_name: "HealthcheckAssert".into(),
                target: Some(("web".into(), "DockerResource".into())),
                config: json!({}),
                origin: Origin::Declared,
                declared_at: Some("main.star:3:5".into()),
                timeout: Duration::from_secs(5),
                retryable: true,
                brief: "http://localhost:8080/<health>".into(),
            },
            verdict,
            message: message.into(),
            expected: Some("status 200".into()),
            actual: Some("status 503".into()),
            details: json!({}),
            timings: vec![("first_byte".into(), 409_000)],
            attempts: 3,
            elapsed: Duration::from_millis(412),
        }
    }

    #[test]
    fn a_failure_says_what_was_expected_and_seen() {
        let masker = Masker::new(&[], true);
        let line = render_checked(&checked(Verdict::Fail, "expected 200, got 503"), &masker);
        assert!(
            line.starts_with(
                "✗ web: HealthcheckAssert (http://localhost:8080/<health>): expected 200, got 503"
            ),
            "{line}"
        );
        assert!(line.contains("\n    expected  status 200"), "{line}");
        assert!(
            line.contains("\n    actual    status 503 (first byte 409 ms)"),
            "{line}"
        );
        assert!(line.contains("3 attempts"), "{line}");
        let pass = render_checked(&checked(Verdict::Pass, "ok"), &masker);
        assert!(!pass.contains("expected"), "{pass}");
    }

    #[test]
    fn junit_escapes_and_counts() {
        let masker = Masker::new(&[], true);
        let results = [
            checked(Verdict::Pass, "ok"),
            checked(Verdict::Fail, "got <503> & \"down\""),
        ];
        let xml = render_junit(&results, Duration::from_millis(500), &masker);
        assert!(
            xml.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
            "{xml}"
        );
        assert!(
            xml.contains("got &lt;503&gt; &amp; &quot;down&quot;"),
            "{xml}"
        );
        assert!(!xml.contains("<503>"), "{xml}");
    }

    #[test]
    fn tap_numbers_every_check_and_describes_failures() {
        let masker = Masker::new(&[], true);
        let results = [
            checked(Verdict::Pass, "ok"),
            checked(Verdict::Error, "no engine"),
        ];
        let tap = render_tap(&results, &masker);
        assert!(
            tap.starts_with("TAP version 13\n1..2\nok 1 - web: "),
            "{tap}"
        );
        assert!(tap.contains("not ok 2 - web: "), "{tap}");
        assert!(tap.contains("  severity: error\n"), "{tap}");
    }

    #[test]
    fn secrets_are_masked_in_every_format() {
        let masker = Masker::new(&["hunter2-secret".to_string()], true);
        let mut r = checked(Verdict::Fail, "login as app:hunter2-secret refused");
        r.actual = Some("password hunter2-secret rejected".into());
        let results = [r];
        for text in [
            render_checked(&results[0], &masker),
            render_junit(&results, Duration::ZERO, &masker),
            render_tap(&results, &masker),
            render_documentation(&results, Duration::ZERO, &masker),
            assert_json(&results, Duration::ZERO, &masker).to_string(),
        ] {
            assert!(!text.contains("hunter2-secret"), "{text}");
        }
    }
}
