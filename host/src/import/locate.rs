//! Where a key of the Compose file is written. `serde_yaml_ng`'s values
//! carry no positions, so a path (`services.web.ports[1]`) is found again
//! in the text by its indentation: exact for block-style YAML (what
//! Compose files are written in), and the nearest enclosing key found for
//! flow style or for keys that came from a merge (`<<: *defaults`).

use std::collections::HashMap;

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

/// The nodes at the top level of a range: the first of each key, and the
/// list items in order.
#[derive(Debug, Default)]
struct Level<'a> {
    keys: HashMap<&'a str, usize>,
    items: Vec<usize>,
}

/// Finds paths in one text, many times: the lines are read once, and each
/// mapping or list that a look-up passes through is indexed once, so that
/// finding every key of a file with many services stays linear (a scan of
/// the whole file per look-up made `import` quadratic).
#[derive(Debug)]
pub struct Locator<'a> {
    nodes: Vec<Node<'a>>,
    /// The top level of each range looked into, by its bounds.
    levels: HashMap<(usize, usize), Level<'a>>,
    /// Where what belongs to a node ends, by node and whether the node was
    /// reached as a key (which owns a list written at its own indentation).
    ends: HashMap<(usize, bool), usize>,
}

impl<'a> Locator<'a> {
    /// A locator for `text`.
    pub fn new(text: &'a str) -> Locator<'a> {
        Locator {
            nodes: nodes(text),
            levels: HashMap::new(),
            ends: HashMap::new(),
        }
    }

    fn level(&mut self, range: std::ops::Range<usize>) -> &Level<'a> {
        let nodes = &self.nodes;
        self.levels
            .entry((range.start, range.end))
            .or_insert_with(|| {
                let mut level = Level::default();
                let Some(first) = nodes.get(range.start) else {
                    return level;
                };
                for i in range {
                    let node = &nodes[i];
                    if node.indent != first.indent {
                        continue;
                    }
                    if node.dash {
                        level.items.push(i);
                    } else if let Some(key) = key_of(node.content) {
                        level.keys.entry(key).or_insert(i);
                    }
                }
                level
            })
    }

    /// The end of what belongs to node `i`: the lines indented deeper,
    /// and for a key, a sequence written at the key's own indentation.
    fn end(&mut self, i: usize, as_key: bool) -> usize {
        let nodes = &self.nodes;
        *self.ends.entry((i, as_key)).or_insert_with(|| {
            let node = &nodes[i];
            let same_level_items = as_key
                && nodes
                    .get(i + 1)
                    .is_some_and(|n| n.dash && n.indent == node.indent);
            let mut end = i + 1;
            while end < nodes.len()
                && (nodes[end].indent > node.indent
                    || (same_level_items && nodes[end].indent == node.indent && nodes[end].dash))
            {
                end += 1;
            }
            end
        })
    }

    /// Where `path` is written, or the deepest part of it that could be
    /// found.
    pub fn locate(&mut self, path: &[Seg]) -> Option<Spot> {
        let mut range = 0..self.nodes.len();
        let mut found: Option<Spot> = None;
        for seg in path {
            if range.is_empty() {
                break;
            }
            let level = self.level(range.clone());
            let hit = match seg {
                Seg::Key(k) => level.keys.get(k.as_str()).copied(),
                Seg::Index(n) => level.items.get(*n).copied(),
            };
            let Some(i) = hit else { break };
            let node = &self.nodes[i];
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
            let end = self.end(i, matches!(seg, Seg::Key(_))).min(range.end);
            range = i + 1..end;
        }
        found
    }
}

/// Where `path` is written in `text`, or the deepest part of it that could
/// be found. For many look-ups in one text, keep a [`Locator`].
#[cfg(test)]
pub fn locate(text: &str, path: &[Seg]) -> Option<Spot> {
    Locator::new(text).locate(path)
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
