//! Image references (`nginx:alpine`, `localhost:5000/team/app:1`,
//! `postgres@sha256:…`), read the way the Engine reads them, so that a bad
//! one is reported by `clockwork plan` at the declaration instead of when
//! the pull fails.
//!
//! A reference is `[host[:port]/]path[:tag][@digest]`. The first part of
//! the path is the registry host only when it contains `.` or `:` or is
//! `localhost`; the rest (the repository) is lower-case.

/// Checks an image reference; the error is the whole message, with a
/// suggestion when an obvious fix (lower-casing, trimming) makes it valid.
pub fn check_image(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("`image` is empty: give the image to run, e.g. \"nginx:alpine\"".into());
    }
    let Err(reason) = parse(text) else {
        return Ok(());
    };
    let mut message = format!("`{text}` is not a valid image name: {reason}");
    if let Some(fix) = suggestion(text) {
        message.push_str(&format!("; did you mean `{fix}`?"));
    }
    Err(message)
}

/// The parts of a reference, split but not yet checked.
struct Reference<'a> {
    host: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

impl<'a> Reference<'a> {
    fn split(text: &'a str) -> Self {
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest)),
            None => (text, None),
        };
        // A `:` after the last `/` starts the tag; one before it is a port.
        let last_slash = rest.rfind('/');
        let (name, tag) = match rest.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                (&rest[..colon], Some(&rest[colon + 1..]))
            }
            _ => (rest, None),
        };
        let (host, path) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (Some(first), path)
            }
            _ => (None, name),
        };
        Reference {
            host,
            path,
            tag,
            digest,
        }
    }

    /// The same reference with the repository lower-cased.
    fn lower_cased(&self) -> String {
        let mut out = String::new();
        if let Some(host) = self.host {
            out.push_str(host);
            out.push('/');
        }
        out.push_str(&self.path.to_ascii_lowercase());
        if let Some(tag) = self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

/// Why `text` is not a reference.
fn parse(text: &str) -> Result<(), String> {
    if let Some((scheme, _)) = text.split_once("://") {
        return Err(format!("image names have no scheme such as `{scheme}://`"));
    }
    let reference = Reference::split(text);
    if let Some(host) = reference.host
        && !valid_host(host)
    {
        return Err(format!(
            "registry host `{host}` is not valid: expected a host name or IP address with an optional port, e.g. `localhost:5000`"
        ));
    }
    if reference.path.is_empty() {
        return Err("the repository is missing, e.g. `nginx` in `nginx:alpine`".into());
    }
    for part in reference.path.split('/') {
        if part.is_empty() {
            return Err("a repository has no empty parts between `/`".into());
        }
        if !path_component(part) {
            if path_component(&part.to_ascii_lowercase()) {
                return Err("repository names are lower-case".into());
            }
            return Err(format!(
                "`{part}` is not a valid repository name: use lower-case letters and digits, separated by one `.`, one or two `_`, or dashes"
            ));
        }
    }
    let name_length = reference.host.map_or(0, |h| h.len() + 1) + reference.path.len();
    if name_length > 255 {
        return Err(format!(
            "the name is {name_length} characters long, and at most 255 are allowed"
        ));
    }
    if reference.tag == Some("") {
        return Err("the tag after `:` is empty, e.g. `alpine` in `nginx:alpine`".into());
    }
    if let Some(tag) = reference.tag
        && !valid_tag(tag)
    {
        return Err(format!(
            "tag `{tag}` is not valid: a tag is 1 to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`"
        ));
    }
    if let Some(digest) = reference.digest
        && !valid_digest(digest)
    {
        return Err(format!(
            "digest `{digest}` is not valid: expected `sha256:` followed by 64 lower-case hex digits"
        ));
    }
    Ok(())
}

/// A valid reference close to `text`, if trimming it or lower-casing its
/// repository gives one.
fn suggestion(text: &str) -> Option<String> {
    let trimmed = text.trim();
    let without_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    [
        without_scheme.to_string(),
        Reference::split(without_scheme).lower_cased(),
    ]
    .into_iter()
    .find(|candidate| candidate != text && !candidate.is_empty() && parse(candidate).is_ok())
}

/// `host`, `host:port`, `1.2.3.4:port` or `[::1]:port`.
fn valid_host(host: &str) -> bool {
    let port_ok = |port: &str| {
        !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p > 0)
    };
    if let Some(rest) = host.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return false;
        };
        return ip.parse::<std::net::Ipv6Addr>().is_ok()
            && (after.is_empty() || after.strip_prefix(':').is_some_and(port_ok));
    }
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty() && name.split('.').all(label) && port.is_none_or(port_ok)
}

/// One part of a repository path: `[a-z0-9]+` runs joined by `.`, `_`,
/// `__` or one or more `-`.
fn path_component(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alphanumeric = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().copied().is_some_and(alphanumeric) {
        return false;
    }
    let mut i = 0;
    loop {
        while i < bytes.len() && alphanumeric(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            return true;
        }
        let start = i;
        while i < bytes.len() && !alphanumeric(bytes[i]) {
            i += 1;
        }
        let separator = &bytes[start..i];
        let ok = matches!(separator, b"." | b"_" | b"__") || separator.iter().all(|&b| b == b'-');
        if !ok || i == bytes.len() {
            return false;
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= 128
        && tag.bytes().next().is_some_and(word)
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

/// `sha256:` and 64 lower-case hex digits (or `sha512:` and 128).
fn valid_digest(digest: &str) -> bool {
    let hex = |h: &str, len: usize| {
        h.len() == len
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match digest.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_the_engine_pulls() {
        let digest = format!("sha256:{}", "a1".repeat(32));
        for image in [
            "nginx",
            "nginx:alpine",
            "postgres:15-alpine",
            "prom/prometheus:latest",
            "busybox:latest",
            "library/nginx:1.25.3",
            "ghcr.io/owner/app:v1.2_RC",
            "localhost/app",
            "localhost:5000/x:1",
            "127.0.0.1:5999/img",
            "127.0.0.1:9/clockwork-e2e/missing:1",
            "[::1]:5000/team/app",
            "my-registry.Example.com/team/app",
            "a__b/c.d/e--f/g_h",
            &format!("postgres@{digest}"),
            &format!("postgres:15@{digest}"),
        ] {
            assert_eq!(check_image(image), Ok(()), "{image}");
        }
    }

    #[test]
    fn rejects_with_the_reason_and_a_fix() {
        assert_eq!(
            check_image("").unwrap_err(),
            "`image` is empty: give the image to run, e.g. \"nginx:alpine\""
        );
        assert_eq!(
            check_image("Nginx:alpine").unwrap_err(),
            "`Nginx:alpine` is not a valid image name: repository names are lower-case; did you mean `nginx:alpine`?"
        );
        // The tag keeps its case; only the repository is lower-cased.
        assert_eq!(
            check_image("localhost:5000/MyApp:V1").unwrap_err(),
            "`localhost:5000/MyApp:V1` is not a valid image name: repository names are lower-case; did you mean `localhost:5000/myapp:V1`?"
        );
        // Without `.`, `:` or `localhost`, the first part is a repository.
        assert!(
            check_image("MyOrg/app")
                .unwrap_err()
                .ends_with("did you mean `myorg/app`?")
        );
        assert!(
            check_image(" nginx")
                .unwrap_err()
                .ends_with("did you mean `nginx`?")
        );
        assert!(
            check_image("https://ghcr.io/owner/app")
                .unwrap_err()
                .contains("no scheme such as `https://`; did you mean `ghcr.io/owner/app`?")
        );
        for (image, reason) in [
            ("nginx:", "the tag after `:` is empty"),
            ("nginx:-x", "tag `-x` is not valid"),
            ("nginx@sha256:abc", "digest `sha256:abc` is not valid"),
            ("nginx//x", "no empty parts between `/`"),
            ("/nginx", "no empty parts between `/`"),
            ("nginx/", "no empty parts between `/`"),
            (":latest", "the repository is missing"),
            ("my app", "`my app` is not a valid repository name"),
            ("a..b", "`a..b` is not a valid repository name"),
            ("a___b", "`a___b` is not a valid repository name"),
            ("-nginx", "`-nginx` is not a valid repository name"),
            ("bad_host.:1/x", "registry host `bad_host.:1` is not valid"),
            (
                "localhost:99999/x",
                "registry host `localhost:99999` is not valid",
            ),
        ] {
            let message = check_image(image).unwrap_err();
            assert!(message.contains(reason), "{image}: {message}");
        }
        let long = format!("{}:1", "a".repeat(256));
        assert!(check_image(&long).unwrap_err().contains("at most 255"));
    }
}
