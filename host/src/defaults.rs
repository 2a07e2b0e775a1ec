//! The one place the host names a plugin type or relies on how types are
//! named. Everything else treats every plugin alike, bundled or not.

use crate::plugin::PluginKind;

/// The connection a bare resource stands for in `.connect(resource)` and
/// `connections=[resource]`: an ordering edge the host draws itself.
pub const SHORTHAND_CONNECTION: &str = "DependencyConnection";

/// A type's name as a short word for derived names, without its kind:
/// `DatabaseConnection` → `database`, `HealthcheckAssert` → `healthcheck`.
pub fn short_type_name(kind: PluginKind, type_name: &str) -> String {
    let kebab = crate::load::kebab(type_name);
    let suffix = match kind {
        PluginKind::Connection => "-connection",
        PluginKind::Assertion => "-assert",
        PluginKind::Resource => "-resource",
    };
    kebab.trim_end_matches(suffix).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_the_kind() {
        assert_eq!(
            short_type_name(PluginKind::Connection, "DatabaseConnection"),
            "database"
        );
        assert_eq!(
            short_type_name(PluginKind::Assertion, "HealthcheckAssert"),
            "healthcheck"
        );
        assert_eq!(short_type_name(PluginKind::Connection, "Link"), "link");
    }
}
