//! The `Match` of `re.search`, `re.match` and `re.fullmatch`.

use std::fmt;

use allocative::Allocative;
use anyhow::{anyhow, bail};
use regex::{Captures, Regex};
use starlark::environment::{Methods, MethodsBuilder, MethodsStatic};
use starlark::starlark_module;
use starlark::starlark_simple_value;
use starlark::values::dict::AllocDict;
use starlark::values::none::NoneOr;
use starlark::values::tuple::AllocTuple;
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, UnpackValue, Value, starlark_value,
};

use super::re_pattern::{Anchor, cached_regex};

/// The character index of byte offset `byte` in `text` (Starlark indexes
/// strings by character).
pub(super) fn char_index(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// One group of a match: character offsets and the text.
#[derive(Debug, Clone)]
pub(super) struct Group {
    start: usize,
    end: usize,
    text: String,
}

/// A successful `re.search`, `re.match` or `re.fullmatch`.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, Allocative)]
pub struct RegexMatch {
    /// Group 0 (the whole match) first; `None` for a group that did not
    /// take part.
    #[allocative(skip)]
    groups: Vec<Option<Group>>,
    /// Each group's name, if it has one.
    #[allocative(skip)]
    names: Vec<Option<String>>,
}

starlark_simple_value!(RegexMatch);

impl RegexMatch {
    pub(super) fn new(regex: &Regex, caps: &Captures, text: &str) -> Self {
        let groups = (0..caps.len())
            .map(|i| {
                caps.get(i).map(|m| Group {
                    start: char_index(text, m.start()),
                    end: char_index(text, m.end()),
                    text: m.as_str().to_string(),
                })
            })
            .collect();
        let names = regex
            .capture_names()
            .map(|n| n.map(str::to_string))
            .collect();
        RegexMatch { groups, names }
    }

    /// The index of group `n` (an int or a group name).
    fn index(&self, n: Option<Value>) -> anyhow::Result<usize> {
        let Some(n) = n else { return Ok(0) };
        if let Some(name) = n.unpack_str() {
            return self
                .names
                .iter()
                .position(|g| g.as_deref() == Some(name))
                .ok_or_else(|| anyhow!("no group named {name:?} in the pattern"));
        }
        let Ok(Some(i)) = i64::unpack_value(n) else {
            bail!(
                "a group is an int or a group name, got {} `{}`",
                n.get_type(),
                n.to_repr()
            );
        };
        usize::try_from(i)
            .ok()
            .filter(|i| *i < self.groups.len())
            .ok_or_else(|| {
                anyhow!(
                    "no group {i}: the pattern has {} group(s)",
                    self.groups.len() - 1
                )
            })
    }

    fn group(&self, n: Option<Value>) -> anyhow::Result<Option<&Group>> {
        Ok(self.groups[self.index(n)?].as_ref())
    }
}

impl fmt::Display for RegexMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.groups.first().and_then(Option::as_ref) {
            Some(g) => write!(
                f,
                "<re.Match span=({}, {}), match={:?}>",
                g.start, g.end, g.text
            ),
            None => write!(f, "<re.Match>"),
        }
    }
}

#[starlark_value(type = "Match")]
impl<'v> StarlarkValue<'v> for RegexMatch {
    fn get_methods() -> Option<&'static Methods> {
        static METHODS: MethodsStatic = MethodsStatic::new("Match", match_methods);
        Some(METHODS.methods())
    }
}

#[starlark_module]
pub(super) fn match_methods(builder: &mut MethodsBuilder) {
    /// The text group `n` matched (an int, or a name from `(?P<name>...)`);
    /// `0`, the default, is the whole match. `None` when the group did not
    /// take part in the match.
    fn group<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
    ) -> anyhow::Result<NoneOr<String>> {
        Ok(NoneOr::from_option(this.group(n)?.map(|g| g.text.clone())))
    }

    /// The texts of all groups but 0, as a tuple; `None` for a group that
    /// did not take part.
    fn groups<'v>(this: &RegexMatch, heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        let items: Vec<Value> = this.groups[1..]
            .iter()
            .map(|g| match g {
                Some(g) => heap.alloc(g.text.as_str()),
                None => Value::new_none(),
            })
            .collect();
        Ok(heap.alloc(AllocTuple(items)))
    }

    /// The named groups as a dict of name to text (`None` for a group that
    /// did not take part).
    fn groupdict<'v>(this: &RegexMatch, heap: Heap<'v>) -> anyhow::Result<Value<'v>> {
        let entries: Vec<(&str, Value)> = this
            .names
            .iter()
            .zip(&this.groups)
            .filter_map(|(name, g)| {
                let name = name.as_deref()?;
                Some((
                    name,
                    match g {
                        Some(g) => heap.alloc(g.text.as_str()),
                        None => Value::new_none(),
                    },
                ))
            })
            .collect();
        Ok(heap.alloc(AllocDict(entries)))
    }

    /// Where group `n` (default 0) starts in the text, as a character
    /// index; `-1` when the group did not take part.
    fn start<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
    ) -> anyhow::Result<i64> {
        Ok(this.group(n)?.map_or(-1, |g| g.start as i64))
    }

    /// Where group `n` (default 0) ends (exclusive), as a character index;
    /// `-1` when the group did not take part.
    fn end<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
    ) -> anyhow::Result<i64> {
        Ok(this.group(n)?.map_or(-1, |g| g.end as i64))
    }

    /// `(start(n), end(n))` as a tuple; `(-1, -1)` when the group did not
    /// take part.
    fn span<'v>(
        this: &RegexMatch,
        #[starlark(require = pos)] n: Option<Value<'v>>,
        heap: Heap<'v>,
    ) -> anyhow::Result<Value<'v>> {
        let (s, e) = this
            .group(n)?
            .map_or((-1, -1), |g| (g.start as i64, g.end as i64));
        Ok(heap.alloc((s, e)))
    }
}

/// `re.search`, `re.match`, `re.fullmatch`.
pub(super) fn find(
    pattern: &str,
    text: &str,
    anchor: Anchor,
) -> anyhow::Result<Option<RegexMatch>> {
    let regex = cached_regex(pattern, anchor)?;
    Ok(regex
        .captures(text)
        .map(|caps| RegexMatch::new(&regex, &caps, text)))
}
