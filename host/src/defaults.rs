//! The one place the host names a plugin type or relies on how types are
//! named. Everything else treats every plugin alike, bundled or not.

use crate::model::PluginKind;

/// The connection a bare resource stands for in `.connect(resource)` and
/// `connections=[resource]`: an ordering edge the host draws itself.
pub const SHORTHAND_CONNECTION: &str = "DependencyConnection";

/// The assertion types `clockwork assert --implied` checks what the host
/// itself did with, and the fields it fills. The host knows these facts
/// from its own actions (the containers it ensured, the files it wrote,
/// the connections it resolved), never from a resource type's fields.
pub mod implied {
    /// A container the host ensured runs, and has not crashed since.
    /// Fields: `container_name`, `max_restarts`.
    pub const RUNNING: &str = "ContainerRunningAssert";
    /// A container with a health check is healthy. Field: `container_name`.
    pub const HEALTHY: &str = "ContainerHealthyAssert";
    /// A published port accepts connections. Field: `port`.
    pub const PORT: &str = "PortAccessibleAssert";
    /// A file the host wrote has its content. Fields: `path`, `sha256`.
    pub const CONTENT: &str = "FileContentMatchesAssert";
    /// And its mode. Fields: `path`, `expected_perms`.
    pub const MODE: &str = "FilePermissionsAssert";
    /// A connection's ends reach each other, from the source's network.
    /// Fields: `from_service`, `to_service`, `port`.
    pub const REACH: &str = "ServiceConnectivityAssert";
    /// A database URL a connection provides accepts its credentials, tried
    /// inside the database's container. Fields: `container_name`, `engine`,
    /// `port`, `database`, `username`, `password`.
    pub const LOGIN: &str = "DatabaseConnectionAssert";
    /// URL schemes [`LOGIN`] understands, with its `engine` for each.
    pub const DATABASE_SCHEMES: &[(&str, &str)] = &[
        ("postgresql", "postgresql"),
        ("postgres", "postgresql"),
        ("redis", "redis"),
    ];
}

/// A type's name as a short word for derived names, without its kind:
/// `DatabaseConnection` → `database`, `HealthcheckAssert` → `healthcheck`.
pub fn short_type_name(kind: PluginKind, type_name: &str) -> String {
    let kebab = crate::model::kebab(type_name);
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
