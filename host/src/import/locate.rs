//! Where a key of the Compose file is written. `serde_yaml_ng`'s values
//! carry no positions, so a path (`services.web.ports[1]`) is found again
//! in the text by its indentation: exact for block-style YAML (what
//! Compose files are written in), and the nearest enclosing key found for
//! flow style or for keys that came from a merge (`<<: *defaults`).

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence item.
    Index(usize),
}

/// A place in the file: 1-based line and column, byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spot {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes of what is pointed at.
    pub len: usize,
}

/// A meaningful line of block YAML, or the content after a `- `.
#[derive(Debug)]
struct Node<'a> {
    indent: usize,
    dash: bool,
    content: &'a str,
    line: usize,
    offset: usize,
}

fn nodes(text: &str) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += raw.len();
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
            continue;
        }
        let mut indent = line.len() - trimmed.len();
        let mut content = trimmed;
        // `- - key: v` holds an item in an item: each `- ` is a node.
        while let Some(rest) = content
            .strip_prefix("- ")
            .or_else(|| (content == "-").then_some(""))
        {
            out.push(Node {
                indent,
                dash: true,
                content,
                line: n + 1,
                offset: start + indent,
            });
            let inner = rest.trim_start_matches(' ');
            if inner.is_empty() {
                content = inner;
                break;
            }
            indent += content.len() - inner.len();
            content = inner;
        }
        if !content.is_empty() {
            out.push(Node {
                indent,
                dash: false,
                content,
                line: n + 1,
                offset: start + indent,
            });
        }
    }
    out
}

/// The key a block mapping line starts with, if any.
fn key_of(content: &str) -> Option<&str> {
    let (key, rest) = if let Some(quoted) = content.strip_prefix('"') {
        let end = quoted.find('"')?;
        (&quoted[..end], &quoted[end + 1..])
    } else if let Some(quoted) = content.strip_prefix('\'') {
        let end = quoted.find('\'')?;
        (&quoted[..end], &quoted[end + 1..])
    } else {
        let colon = content
            .find(": ")
            .or_else(|| content.strip_suffix(':').map(str::len))?;
        (content[..colon].trim_end(), &content[colon..])
    };
    let rest = rest.trim_start_matches(' ');
    (rest.starts_with(": ") || rest == ":").then_some(key)
}

/// Where `path` is written, or the deepest part of it that could be found.
pub fn locate(text: &str, path: &[Seg]) -> Option<Spot> {
    let all = nodes(text);
    let mut range = 0..all.len();
    let mut found: Option<Spot> = None;
    for seg in path {
        let Some(first) = all.get(range.start).filter(|_| !range.is_empty()) else {
            break;
        };
        let level = first.indent;
        let hit = match seg {
            Seg::Key(k) => range.clone().find(|&i| {
                all[i].indent == level && !all[i].dash && key_of(all[i].content) == Some(k.as_str())
            }),
            Seg::Index(n) => range
                .clone()
                .filter(|&i| all[i].indent == level && all[i].dash)
                .nth(*n),
        };
        let Some(i) = hit else { break };
        let node = &all[i];
        let len = match seg {
            Seg::Key(k) => k.len(),
            Seg::Index(_) => node.content.len(),
        };
        found = Some(Spot {
            line: node.line,
            column: node.indent + 1,
            offset: node.offset,
            len,
        });
        // What belongs to this node: the lines indented deeper, and for a
        // key, a sequence written at the key's own indentation.
        let mut end = i + 1;
        let same_level_items = matches!(seg, Seg::Key(_))
            && all
                .get(i + 1)
                .is_some_and(|n| n.dash && n.indent == node.indent);
        while end < range.end
            && (all[end].indent > node.indent
                || (same_level_items && all[end].indent == node.indent && all[end].dash))
        {
            end += 1;
        }
        range = i + 1..end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Seg {
        Seg::Key(k.into())
    }

    const FILE: &str = "\
version: '3.8'
# a comment
services:
  web:
    image: nginx
    ports:
    - \"8080:80\"
    - 443
    environment:
      A: 1
  db:
    volumes:
      - type: bind
        source: ./x
        target: /x
      - data:/data
";

    fn line_col(path: &[Seg]) -> Option<(usize, usize)> {
        locate(FILE, path).map(|s| (s.line, s.column))
    }

    #[test]
    fn keys_and_items_are_found_by_indentation() {
        assert_eq!(line_col(&[key("services")]), Some((3, 1)));
        assert_eq!(
            line_col(&[key("services"), key("web"), key("image")]),
            Some((5, 5))
        );
        assert_eq!(
            line_col(&[key("services"), key("web"), key("ports"), Seg::Index(1)]),
            Some((8, 5))
        );
        assert_eq!(
            line_col(&[key("services"), key("web"), key("environment"), key("A")]),
            Some((10, 7))
        );
        assert_eq!(
            line_col(&[
                key("services"),
                key("db"),
                key("volumes"),
                Seg::Index(0),
                key("source")
            ]),
            Some((14, 9))
        );
        assert_eq!(
            line_col(&[key("services"), key("db"), key("volumes"), Seg::Index(1)]),
            Some((16, 7))
        );
        let spot = locate(FILE, &[key("services"), key("db")]).unwrap();
        assert_eq!(&FILE[spot.offset..spot.offset + spot.len], "db");
    }

    #[test]
    fn what_cannot_be_found_falls_back_to_the_nearest_key() {
        assert_eq!(
            line_col(&[key("services"), key("web"), key("command")]),
            Some((4, 3))
        );
        assert_eq!(line_col(&[key("networks")]), None);
        // `image` of `db` is not `web`'s.
        assert_eq!(
            line_col(&[key("services"), key("db"), key("image")]),
            Some((11, 3))
        );
    }
}
