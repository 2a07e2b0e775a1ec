//! A PostgreSQL URL cut where DatabaseConnection fills in its parts.

use crate::import::interp::{Part, Text};

/// `text` with each variable replaced by a marker no URL holds, so it
/// can be cut at `:`, `@` and `/` and the pieces mapped back.
fn marked(text: &Text) -> (String, Vec<Part>) {
    let mut out = String::new();
    let mut vars = Vec::new();
    for part in &text.0 {
        match part {
            Part::Lit(s) => out.push_str(s),
            Part::Var(_) => {
                out.push('\u{E000}');
                out.push(char::from_u32(0xE100 + vars.len() as u32).unwrap_or('\u{E0FF}'));
                vars.push(part.clone());
            }
        }
    }
    (out, vars)
}

/// A piece of a marked string as text again.
fn unmarked(piece: &str, vars: &[Part]) -> Text {
    let mut out = Text::default();
    let mut chars = piece.chars();
    while let Some(c) = chars.next() {
        if c == '\u{E000}' {
            let index = chars.next().map_or(0, |n| n as u32 - 0xE100) as usize;
            if let Some(v) = vars.get(index) {
                out.0.push(v.clone());
            }
        } else {
            out.push_str(&c.to_string());
        }
    }
    out
}

fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// A user, password or database of the URL as DatabaseConnection would
/// insert it (it URL-escapes them): the value to give it, if it would
/// come out the same.
fn component(piece: &str, vars: &[Part]) -> Option<Text> {
    let text = unmarked(piece, vars);
    match text.as_literal() {
        Some(literal) => {
            let decoded = percent_decode(&literal)?;
            let again: String = decoded
                .bytes()
                .map(|b| {
                    if unreserved(b as char) && b.is_ascii() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            (again == literal).then(|| Text::literal(decoded))
        }
        None => text
            .0
            .iter()
            .all(|p| match p {
                Part::Lit(s) => s.chars().all(unreserved),
                Part::Var(_) => true,
            })
            .then_some(text),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The PostgreSQL URL of a variable, cut into what DatabaseConnection takes.
#[derive(Debug, PartialEq)]
pub(super) struct PostgresUrl {
    pub(super) template: String,
    pub(super) host: String,
    pub(super) user: Text,
    pub(super) password: Option<Text>,
    pub(super) database: Text,
}

pub(super) fn postgres_url(value: &Text) -> Option<PostgresUrl> {
    let (text, vars) = marked(value);
    let (scheme, rest) = text.split_once("://")?;
    if !scheme.starts_with("postgres") || scheme.contains('\u{E000}') {
        return None;
    }
    let authority_end = rest.find('/')?;
    let (authority, after) = rest.split_at(authority_end);
    let after = &after[1..];
    let (userinfo, hostport) = authority.rsplit_once('@')?;
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    let (host, port) = match hostport.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    };
    let database_end = after.find(['?', '#']).unwrap_or(after.len());
    let (database, tail) = after.split_at(database_end);
    let literal = |s: &str| !s.contains('\u{E000}') && !s.contains(['{', '}']);
    if user.is_empty()
        || database.is_empty()
        || !literal(host)
        || !literal(tail)
        || !literal(scheme)
    {
        return None;
    }
    if port.is_some_and(|p| !literal(p) || p.parse::<u16>().is_err()) {
        return None;
    }
    let mut template = format!("{scheme}://{{user}}");
    if password.is_some() {
        template.push_str(":{password}");
    }
    template.push_str("@{host}");
    if port.is_some() {
        template.push_str(":{port}");
    }
    template.push_str("/{database}");
    template.push_str(tail);
    Some(PostgresUrl {
        template: format!("{template}\u{0}{}", port.unwrap_or("")),
        host: host.to_string(),
        user: component(user, &vars)?,
        password: match password {
            Some(p) => Some(component(p, &vars)?),
            None => None,
        },
        database: component(database, &vars)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Option<PostgresUrl> {
        postgres_url(&Text::parse(text).unwrap())
    }

    #[test]
    fn postgres_urls_are_cut_where_the_connection_fills_in() {
        let u = url("postgres://app:s3cret@db:5432/shop?sslmode=disable").unwrap();
        assert_eq!(
            u.template,
            "postgres://{user}:{password}@{host}:{port}/{database}?sslmode=disable\u{0}5432"
        );
        assert_eq!(u.host, "db");
        assert_eq!(u.user, Text::literal("app"));
        assert_eq!(u.password, Some(Text::literal("s3cret")));
        assert_eq!(u.database, Text::literal("shop"));
        // Escaped as the connection would escape it.
        let u = url("postgresql://app:p%40ss@db/shop").unwrap();
        assert_eq!(u.password, Some(Text::literal("p@ss")));
        assert_eq!(
            u.template,
            "postgresql://{user}:{password}@{host}/{database}\u{0}"
        );
        // A variable stays a variable.
        let u = url("postgresql://app:${DB_PASSWORD}@db:5432/shop").unwrap();
        assert_eq!(u.password, Text::parse("${DB_PASSWORD}").ok());
        // Not the connection's: no user, escaped otherwise, another scheme,
        // a host chosen by a variable.
        assert_eq!(url("postgresql://db:5432/shop"), None);
        assert_eq!(url("postgresql://app:p%40ss%2f@db/shop"), None);
        assert_eq!(url("mysql://app:x@db/shop"), None);
        assert_eq!(url("postgresql://app:x@${DB_HOST}/shop"), None);
    }
}
