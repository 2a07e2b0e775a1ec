//! The two identifiers every stage passes along: what a declaration is
//! called and which type declared it. Newtypes so a name cannot be given
//! where a type is expected (both were `String`s, and were swapped once).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(text.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

identifier!(
    /// What a declaration is called: unique among the project's resources
    /// (and, separately, its connections and assertions). A resource's
    /// name is also its state entry and, unless it names one, its
    /// container's name.
    ResourceName
);

identifier!(
    /// The constructor that declared something and the plugin type that
    /// serves it, e.g. `DockerResource`.
    TypeName
);

/// `DockerResource` → `docker-resource`.
pub fn kebab(type_name: &str) -> String {
    // An acronym stays one word: `HTTPStatusAssert` → `http-status-assert`.
    let chars: Vec<char> = type_name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        let starts_word = c.is_uppercase()
            && i > 0
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                    && chars[i - 1].is_uppercase());
        if starts_word {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn names_are_looked_up_by_text_and_serialise_as_text() {
        let mut by_name = BTreeMap::new();
        by_name.insert(ResourceName::from("db"), 1);
        assert_eq!(by_name.get("db"), Some(&1));
        assert_eq!(by_name.get("web"), None);
        let json = serde_json::to_string(&by_name).unwrap();
        assert_eq!(json, r#"{"db":1}"#);
        let back: BTreeMap<ResourceName, i32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, by_name);
        assert_eq!(TypeName::from("DockerResource"), "DockerResource");
    }

    #[test]
    fn acronyms_stay_one_word_in_derived_names() {
        assert_eq!(kebab("HTTPStatusAssert"), "http-status-assert");
        assert_eq!(kebab("DNSResolveAssert"), "dns-resolve-assert");
        assert_eq!(kebab("DockerResource"), "docker-resource");
        assert_eq!(kebab("SSLCertificateAssert"), "ssl-certificate-assert");
        assert_eq!(kebab("S3Bucket"), "s3-bucket");
    }
}
