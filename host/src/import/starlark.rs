//! Writing the declarations as main.star, in the style of the examples and
//! of `clockwork init`: `field = value`, four spaces, trailing commas, a
//! list on one line when it fits.

use super::error::one_line;
use crate::import::interp::{Fallback, Part, Text};
use crate::import::translate::{Declarations, Entry, Expr, Target};

/// Lines longer than this are broken.
const WIDTH: usize = 88;

/// A Starlark string literal.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string value: literal parts quoted, variables as `env()` calls,
/// joined with `+`.
pub fn text(t: &Text) -> String {
    if t.0.is_empty() {
        return "\"\"".into();
    }
    t.0.iter()
        .map(|part| match part {
            Part::Lit(s) => string(s),
            Part::Var(v) => match &v.fallback {
                Fallback::Empty => format!("env({}, \"\")", string(&v.name)),
                Fallback::Default(d) => format!("env({}, {})", string(&v.name), text(d)),
                Fallback::Required => format!("env({})", string(&v.name)),
                Fallback::Replacement(r) => {
                    format!("({} if env({}, \"\") else \"\")", text(r), string(&v.name))
                }
            },
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

fn number(n: f64) -> String {
    let shown = format!("{n}");
    if shown.contains(['.', 'e']) {
        shown
    } else {
        format!("{shown}.0")
    }
}

/// An expression whose first line starts at `indent` spaces, with `used`
/// columns of that line taken already.
fn expr(e: &Expr, indent: usize, used: usize) -> String {
    match e {
        Expr::Text(t) => text(t),
        Expr::Env(name) => format!("env({})", string(name)),
        Expr::Int(n) => n.to_string(),
        Expr::Num(n) => number(*n),
        Expr::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Expr::Ident(name) => name.clone(),
        // Alone (not in a list), there is nothing to comment out.
        Expr::Off(inner) => expr(inner, indent, used),
        Expr::List(items) => {
            let held = items.iter().any(|i| matches!(i, Expr::Off(_)));
            let inline = format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| expr(i, indent, WIDTH))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            // The `,` after it counts.
            if !held && used + inline.len() < WIDTH && !inline.contains('\n') {
                return inline;
            }
            let pad = " ".repeat(indent + 4);
            let mut out = "[\n".to_string();
            for item in items {
                match item {
                    Expr::Off(inner) => out.push_str(&format!(
                        "{pad}# {},  # REVIEW: see above\n",
                        one_line(&expr(inner, indent + 4, indent + 6))
                    )),
                    item => {
                        out.push_str(&format!("{pad}{},\n", expr(item, indent + 4, indent + 4)));
                    }
                }
            }
            out.push_str(&" ".repeat(indent));
            out.push(']');
            out
        }
        Expr::Dict(entries) => {
            let pad = " ".repeat(indent + 4);
            let mut out = "{\n".to_string();
            for entry in entries {
                match entry {
                    Entry::Pair(k, v) => {
                        let key = format!("{pad}{}: ", string(k));
                        let value = expr(v, indent + 4, key.len());
                        out.push_str(&format!("{key}{value},\n"));
                    }
                    Entry::Comment(c) => {
                        out.push_str(&format!("{pad}# {}\n", one_line(c).trim_end()))
                    }
                }
            }
            out.push_str(&" ".repeat(indent));
            out.push('}');
            out
        }
    }
}

/// `Type(\n    field = value,\n)`, or `Type(field = value)` when that fits
/// after `used` columns.
fn call(type_name: &str, fields: &[(&'static str, Expr)], used: usize) -> String {
    let inline = format!(
        "{type_name}({})",
        fields
            .iter()
            .map(|(name, value)| format!("{name} = {}", expr(value, 0, WIDTH)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if fields.len() <= 2 && used + inline.len() + 1 < WIDTH && !inline.contains('\n') {
        return inline;
    }
    let mut out = format!("{type_name}(\n");
    for (name, value) in fields {
        let head = format!("    {name} = ");
        out.push_str(&format!("{head}{},\n", expr(value, 4, head.len())));
    }
    out.push(')');
    out
}

/// Comment lines, each wrapped at [`WIDTH`], later lines of one indented.
pub fn comment(lines: &[String], out: &mut String) {
    for line in lines {
        let line = &one_line(line);
        let (first, rest) = match line.strip_prefix("  ") {
            Some(item) => ("#   ", item),
            None => ("# ", line.as_str()),
        };
        let follow = if first == "#   " { "#     " } else { "# " };
        let mut current = first.to_string();
        let mut empty = true;
        for word in rest.split(' ') {
            if !empty && current.len() + 1 + word.len() > WIDTH {
                out.push_str(current.trim_end());
                out.push('\n');
                current = follow.to_string();
                empty = true;
            }
            if !empty {
                current.push(' ');
            }
            current.push_str(word);
            empty = false;
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
}

/// The declarations as Starlark, after `header` (comment lines).
pub fn write(header: &[String], d: &Declarations) -> String {
    let mut out = String::new();
    comment(header, &mut out);
    for r in &d.resources {
        out.push('\n');
        comment(&r.comments, &mut out);
        let head = format!("{} = ", r.var);
        // A container's declaration reads best one field a line.
        let body = call("DockerResource", &r.fields, WIDTH);
        out.push_str(&format!("{head}{body}\n"));
    }
    if !d.connections.is_empty() {
        out.push('\n');
        comment(
            &["depends_on: a dependent deploys once what it connects to runs, and is healthy where it has a health check.".to_string()],
            &mut out,
        );
    }
    for c in &d.connections {
        comment(&c.comments, &mut out);
        match &c.to {
            // `depends_on` orders and injects nothing: explicit, so no
            // rule adds what Compose never set (a plain connection to a
            // database would give `DATABASE_URL`).
            Target::Plain(to) => out.push_str(&format!(
                "{}.connect(DependencyConnection(to_resource = {to}))\n",
                c.from
            )),
            Target::Database(fields) => {
                let head = format!("{}.connect(", c.from);
                let body = call("DatabaseConnection", fields, head.len());
                out.push_str(&format!("{head}{body})\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_variables_are_starlark() {
        assert_eq!(string("a \"b\" \\ \n\u{1}"), r#""a \"b\" \\ \n\x01""#);
        let t = Text::parse("${PORT:-8080}:80").unwrap();
        assert_eq!(text(&t), r#"env("PORT", "8080") + ":80""#);
        assert_eq!(text(&Text::parse("${A}").unwrap()), r#"env("A", "")"#);
        assert_eq!(text(&Text::parse("${A:?set A}").unwrap()), r#"env("A")"#);
        assert_eq!(
            text(&Text::parse("${A:-${B:-x}}").unwrap()),
            r#"env("A", env("B", "x"))"#
        );
        assert_eq!(
            text(&Text::parse("${DEBUG:+--verbose}").unwrap()),
            r#"("--verbose" if env("DEBUG", "") else "")"#
        );
        assert_eq!(text(&Text::default()), r#""""#);
    }

    #[test]
    fn long_comments_are_wrapped() {
        let mut out = String::new();
        comment(
            &[format!("  web: build: {}", "word ".repeat(30).trim_end())],
            &mut out,
        );
        assert!(out.lines().all(|l| l.len() <= WIDTH), "{out}");
        assert!(
            out.lines().nth(1).unwrap().starts_with("#     word"),
            "{out}"
        );
    }
}
