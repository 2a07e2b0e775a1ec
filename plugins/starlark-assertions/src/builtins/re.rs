//! `re`: regular expressions, as close to Python's as Rust's `regex`
//! crate allows.

use anyhow::anyhow;
use regex::Regex;
use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::list::AllocList;
use starlark::values::none::NoneOr;
use starlark::values::tuple::AllocTuple;
use starlark::values::{Heap, Value};

use super::re_match::{RegexMatch, find};
use super::re_pattern::{Anchor, cached_regex};
use super::re_template::{sub_template, sub_with_function};

/// One item of `re.findall`'s result.
#[derive(Debug, PartialEq)]
pub(super) enum Found<'t> {
    Whole(&'t str),
    Groups(Vec<&'t str>),
}

/// `re.findall`, like Python: with no group the whole matches, with one
/// group that group's texts, with several tuples of them ("" for a group
/// that did not take part).
pub(super) fn findall<'t>(regex: &Regex, text: &'t str) -> Vec<Found<'t>> {
    let groups = regex.captures_len() - 1;
    regex
        .captures_iter(text)
        .map(|caps| {
            let at = |i: usize| caps.get(i).map_or("", |m| m.as_str());
            match groups {
                0 => Found::Whole(at(0)),
                1 => Found::Whole(at(1)),
                n => Found::Groups((1..=n).map(at).collect()),
            }
        })
        .collect()
}

/// `re.split`, like Python: the texts between matches, with the texts of
/// the pattern's groups between them (`None` for a group that did not take
/// part); `maxsplit` 0 splits at every match.
pub(super) fn split<'t>(regex: &Regex, text: &'t str, maxsplit: usize) -> Vec<Option<&'t str>> {
    let mut out = Vec::new();
    let mut last = 0;
    for (i, caps) in regex.captures_iter(text).enumerate() {
        if maxsplit != 0 && i >= maxsplit {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push(Some(&text[last..m.start()]));
        out.extend((1..caps.len()).map(|g| caps.get(g).map(|m| m.as_str())));
        last = m.end();
    }
    out.push(Some(&text[last..]));
    out
}

/// A `count` or `maxsplit` argument: 0 or more.
pub(super) fn non_negative(name: &str, n: i64) -> anyhow::Result<usize> {
    usize::try_from(n).map_err(|_| anyhow!("`{name}` must be 0 or more, got {n}"))
}

#[starlark_module]
pub(super) fn re_module(builder: &mut GlobalsBuilder) {
    /// The first match of `pattern` anywhere in `text`, as a `Match`, or
    /// `None`. A `Match` is truthy and has `group(n = 0)` (`n` an int or a
    /// group name), `groups()`, `groupdict()`, `start(n = 0)`, `end(n = 0)`,
    /// `span(n = 0)`; offsets are character indices into `text`.
    ///
    /// Patterns use the syntax of Rust's `regex` crate, close to Python's:
    /// `(?P<name>...)` or `(?<name>...)` groups, inline flags such as `(?i)`,
    /// `(?m)`, `(?s)`, `(?x)`; there is no look-around and no backreference.
    /// Write patterns as raw strings: `r"\d+"`. An invalid pattern raises an
    /// error naming it.
    ///
    /// ```python
    /// m = re.search(r"version (\d+)\.(\d+)", text)
    /// if m and int(m.group(1)) >= 2: ...
    /// ```
    fn search<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
    ) -> anyhow::Result<NoneOr<RegexMatch>> {
        Ok(NoneOr::from_option(find(pattern, text, Anchor::None)?))
    }

    /// Like `re.search`, but the match must start at the beginning of
    /// `text`. Returns a `Match` or `None`.
    fn r#match<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
    ) -> anyhow::Result<NoneOr<RegexMatch>> {
        Ok(NoneOr::from_option(find(pattern, text, Anchor::Start)?))
    }

    /// Like `re.search`, but the match must cover all of `text`. Returns a
    /// `Match` or `None`.
    fn fullmatch<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
    ) -> anyhow::Result<NoneOr<RegexMatch>> {
        Ok(NoneOr::from_option(find(pattern, text, Anchor::Full)?))
    }

    /// Every non-overlapping match of `pattern` in `text`, as a list, like
    /// Python: of the matched texts when the pattern has no group, of group
    /// 1's texts when it has one, of tuples of the groups' texts when it has
    /// several (`""` for a group that did not take part).
    fn findall<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let regex = cached_regex(pattern, Anchor::None)?;
        let items: Vec<Value> = findall(&regex, text)
            .into_iter()
            .map(|found| match found {
                Found::Whole(s) => heap.alloc(s),
                Found::Groups(g) => heap.alloc(AllocTuple(g)),
            })
            .collect();
        Ok(heap.alloc(AllocList(items)))
    }

    /// `text` with the matches of `pattern` replaced, the first `count`
    /// of them (all when `count` is 0). `repl` is a str, in which `\1` and
    /// `\g<1>` or `\g<name>` stand for a group's text (write it as a raw
    /// string, `r"\1"`; `\\` is a backslash; `$` is literal), or a function
    /// taking the `Match` and returning the str to put in its place.
    ///
    /// ```python
    /// re.sub(r"(\w+)@(\w+)", r"\2 at \1", text)
    /// ```
    fn sub<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] repl: Value<'v>,
        #[starlark(require = pos)] text: &str,
        #[starlark(default = 0)] count: i64,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<String> {
        let count = non_negative("count", count)?;
        let regex = cached_regex(pattern, Anchor::None)?;
        if let Some(repl) = repl.unpack_str() {
            return sub_template(&regex, repl, text, count);
        }
        sub_with_function(&regex, repl, text, count, eval)
    }

    /// `text` split at the matches of `pattern`, as a list of str, at most
    /// `maxsplit` times (every match when 0). As in Python, the texts of the
    /// pattern's groups are included between the parts (`None` for a group
    /// that did not take part).
    ///
    /// ```python
    /// re.split(r"\s*,\s*", "a, b ,c")  # ["a", "b", "c"]
    /// ```
    fn split<'v>(
        #[starlark(require = pos)] pattern: &str,
        #[starlark(require = pos)] text: &str,
        #[starlark(default = 0)] maxsplit: i64,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let maxsplit = non_negative("maxsplit", maxsplit)?;
        let regex = cached_regex(pattern, Anchor::None)?;
        let items: Vec<Value> = split(&regex, text, maxsplit)
            .into_iter()
            .map(|s| match s {
                Some(s) => heap.alloc(s),
                None => Value::new_none(),
            })
            .collect();
        Ok(heap.alloc(AllocList(items)))
    }

    /// `text` with every character that has a meaning in a pattern
    /// escaped, to match it literally: `re.search(re.escape(name), text)`.
    fn escape(#[starlark(require = pos)] text: &str) -> anyhow::Result<String> {
        Ok(regex::escape(text))
    }
}
