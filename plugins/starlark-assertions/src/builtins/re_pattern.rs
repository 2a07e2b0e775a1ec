//! Patterns of `re`: compiled, anchored, and cached per instance.

use std::cell::RefCell;

use anyhow::anyhow;
use regex::{Regex, RegexBuilder};

/// How a pattern is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    /// Anywhere (`re.search`, `findall`, `sub`, `split`).
    None,
    /// At the start of the text (`re.match`).
    Start,
    /// The whole text (`re.fullmatch`).
    Full,
}

/// Compiled patterns kept per instance.
pub(super) const REGEX_CACHE_SIZE: usize = 64;

/// Forgets the compiled patterns: each check starts with none, so one
/// check's patterns neither count against the next one's memory nor
/// outlive it in a kept instance.
pub fn forget_patterns() {
    REGEX_CACHE.with(|cache| cache.borrow_mut().clear());
}

thread_local! {
    /// Recently used patterns, least recently used first.
    pub(super) static REGEX_CACHE: RefCell<Vec<(Anchor, String, Regex)>> = const { RefCell::new(Vec::new()) };
}

/// regex's message without its picture of the pattern: the `error:` line.
pub(super) fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_string())
}

pub(super) fn build_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(10 << 20).build()
}

/// Compiles `pattern` anchored as asked, checking it first as written so
/// errors are about what the user wrote.
pub(super) fn compile(pattern: &str, anchor: Anchor) -> anyhow::Result<Regex> {
    let invalid = |e: regex::Error| {
        anyhow!(
            "invalid regular expression {pattern:?}: {} (the syntax is Rust's `regex`: no look-around or backreferences)",
            regex_message(&e)
        )
    };
    let plain = build_regex(pattern).map_err(invalid)?;
    let (prefix, suffix) = match anchor {
        Anchor::None => return Ok(plain),
        Anchor::Start => (r"\A(?:", ")"),
        Anchor::Full => (r"\A(?:", r")\z"),
    };
    // A pattern ending in an `(?x)` comment would comment out the closing
    // parenthesis; a newline ends the comment (and is ignored in x mode).
    build_regex(&format!("{prefix}{pattern}{suffix}"))
        .or_else(|_| build_regex(&format!("{prefix}{pattern}\n{suffix}")))
        .map_err(invalid)
}

/// `pattern` compiled, from the cache when it was used recently.
pub(super) fn cached_regex(pattern: &str, anchor: Anchor) -> anyhow::Result<Regex> {
    let hit = REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let at = cache
            .iter()
            .position(|(a, p, _)| *a == anchor && p == pattern)?;
        let entry = cache.remove(at);
        let regex = entry.2.clone();
        cache.push(entry);
        Some(regex)
    });
    if let Some(regex) = hit {
        return Ok(regex);
    }
    let regex = compile(pattern, anchor)?;
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= REGEX_CACHE_SIZE {
            cache.remove(0);
        }
        cache.push((anchor, pattern.to_string(), regex.clone()));
    });
    Ok(regex)
}
