//! `FileConnection`: mounts a file, a folder or a volume into a container.
//!
//! A volume is declared to the host with its driver (an `ensure-volume`
//! setup step, which the host hoists: it is made, or found, before either
//! end deploys) and mounted in both ends.

use clockwork_sdk::clockwork_schema::actions::VolumeSpec;
use clockwork_sdk::connection::{
    CompletionInput, Mount, MountSource, RunWhen, SetupStep, Suggestion,
};
use clockwork_sdk::prelude::*;
use clockwork_sdk::resource::action;
use clockwork_sdk::{error_at, invalid};

/// The project-relative path a `FileResource` writes, by its documented
/// rule: `path`, else `directory/name`, else `name` (the declaration's name
/// when it has no `name` field).
fn file_resource_path(declared: &str, config: &Value) -> String {
    let text = |k: &str| config[k].as_str();
    let name = text("name").unwrap_or(declared);
    match (text("path"), text("directory")) {
        (Some(path), _) => path.trim_start_matches("./").to_string(),
        (None, Some(dir)) => format!(
            "{}/{name}",
            dir.trim_start_matches("./").trim_end_matches('/')
        ),
        (None, None) => name.to_string(),
    }
}

/// The `file-connection` plugin.
pub struct FileConnection;

impl ConnectionPlugin for FileConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("files, folders and volumes mounted into containers")
    }

    fn types() -> Vec<TypeDef> {
        vec![file_connection()]
    }

    /// The schema's checks, then the paths and the volume's name, so that
    /// `clockwork plan` reports them at the declaration.
    fn validate(type_name: &str, config: &str) -> Result<String, Vec<Diagnostic>> {
        clockwork_sdk::connection::validate_with::<Self>(type_name, config, check)
    }

    /// `mount_path` of a named volume: `/data/<volume_name>`, so that both
    /// containers find it at a path that says which volume it is. Only
    /// for a volume: a file or folder goes where its container reads it,
    /// which no rule knows.
    fn complete_rules(input: CompletionInput) -> Result<Vec<Suggestion>, PluginError> {
        let config: Value =
            clockwork_sdk::serde_json::from_str(&input.config).unwrap_or_else(|_| json!({}));
        let mounts_volume =
            input.to_resource.target.type_name != "FileResource" && config["source_path"].is_null();
        let volume = config["volume_name"].as_str().filter(|_| mounts_volume);
        let mut out = Vec::new();
        if input.missing.iter().any(|m| m == "mount_path")
            && let Some(volume) = volume
            && check(&json!({ "volume_name": volume })).is_empty()
        {
            out.push(Suggestion {
                field: "mount_path".into(),
                value: json!(format!("/data/{volume}")).to_string(),
                reason: format!("where volume `{volume}` is mounted by convention"),
            });
        }
        Ok(out)
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config = input.config_json()?;
        // Completion may have filled `mount_path` or `volume_name` since
        // `validate`.
        let problems = check(&config);
        if !problems.is_empty() {
            return Err(PluginError::InvalidConfig(problems));
        }
        let Some(target) = config["mount_path"].as_str() else {
            return Err(invalid(
                Some("/mount_path"),
                "`mount_path` is needed: where to mount inside the container",
            ));
        };
        let read_only = config["read_only"].as_bool().unwrap_or(false);
        let to = &input.to_resource.target;
        let (source, shared) = if to.type_name == "FileResource" {
            let file = input.to_resource.config_json()?;
            (
                MountSource::Bind(format!("./{}", file_resource_path(&to.name, &file))),
                false,
            )
        } else if let Some(path) = config["source_path"].as_str() {
            // `./` marks it as a path: `static:/srv` would be a volume.
            let path = format!("./{}", path.trim_start_matches("./"));
            (MountSource::Bind(path), false)
        } else if let Some(volume) = config["volume_name"].as_str() {
            (MountSource::Volume(volume.to_string()), true)
        } else {
            return Err(invalid(
                Some("/volume_name"),
                "say what to mount: `to_resource` a FileResource, a `source_path`, or a `volume_name`",
            ));
        };
        let mount = Mount {
            source,
            target: target.to_string(),
            read_only,
        };
        let mut contribution = Contribution::ordering_only();
        // The volume with its options, declared to the host: it is made
        // (or, with `create_volume = False`, found) before either end.
        if let MountSource::Volume(volume) = &mount.source {
            let spec = VolumeSpec {
                name: volume.clone(),
                driver: config["volume_driver"]
                    .as_str()
                    .unwrap_or("local")
                    .to_string(),
                existing: !config["create_volume"].as_bool().unwrap_or(true),
            };
            contribution.setup.push(SetupStep {
                id: format!("volume-{volume}"),
                when: RunWhen::EveryApply,
                after: Vec::new(),
                action: action(Action::EnsureVolume, &spec),
            });
        }
        // A named volume is shared: the target container mounts it too.
        if shared && to.type_name != "FileResource" {
            contribution.to_patch.mounts.push(Mount {
                source: mount.source.clone(),
                target: mount.target.clone(),
                read_only: false,
            });
        }
        contribution.from_patch.mounts.push(mount);
        Ok(contribution)
    }
}

/// What the schema's types cannot say: `source_path` names something in
/// the project folder, `mount_path` a folder of the container other than
/// `/`, `volume_name` a volume Docker can create.
fn check(config: &Value) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if let Some(path) = config["mount_path"].as_str() {
        // What is left of the path without `.` and `..` steps, for a
        // suggestion that is itself valid.
        let plain: Vec<&str> = path
            .split('/')
            .filter(|step| !matches!(*step, "" | "." | ".."))
            .collect();
        let meant = if plain.is_empty() {
            "/data/shared".to_string()
        } else {
            format!("/{}", plain.join("/"))
        };
        let message = if path.is_empty() {
            Some("`mount_path` is empty: give an absolute path inside the container, e.g. `/data/shared`".to_string())
        } else if path.split('/').any(|step| matches!(step, "." | "..")) {
            Some(format!(
                "`mount_path` must be a plain absolute path inside the container, without `.` or `..` steps: did you mean `{meant}`?"
            ))
        } else if !path.starts_with('/') {
            Some(format!(
                "`mount_path` must be an absolute path inside the container: did you mean `{meant}`?"
            ))
        } else if path.trim_end_matches('/').is_empty() {
            Some("`mount_path` cannot be `/`: the mount would hide the container's own files; give a folder inside it, e.g. `/data/shared`".to_string())
        } else {
            separators("mount_path", path)
        };
        if let Some(message) = message {
            problems.push(error_at(Some("/mount_path"), message));
        }
    }
    if let Some(path) = config["source_path"].as_str()
        && let Some(message) =
            clockwork_sdk::clockwork_schema::check_project_path("source_path", path, "./static")
                .err()
                .or_else(|| separators("source_path", path))
    {
        problems.push(error_at(Some("/source_path"), message));
    }
    if let Some(name) = config["volume_name"].as_str() {
        let valid = name.len() >= 2
            && name
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            problems.push(error_at(
                Some("/volume_name"),
                format!(
                    "`{name}` is not a valid volume name: use at least two letters, digits, `_`, `.` and `-`, starting with a letter or digit, e.g. `app-shared-data`"
                ),
            ));
        }
    }
    problems
}

/// A `:` would split the mount (`source:target:mode`) in the wrong place.
fn separators(field: &str, path: &str) -> Option<String> {
    path.contains(':').then(|| {
        format!(
            "`{path}` contains `:`, which separates the parts of a mount; `{field}` cannot hold one"
        )
    })
}

fn file_connection() -> TypeDef {
    TypeDef::new(
        "FileConnection",
        "Mounts a file, a folder or a named volume into the connecting container at `mount_path`. \
         The source is, in this order: the file written by `to_resource` when it is a `FileResource`; else \
         `source_path`, a file or folder of the project; else the named volume `volume_name`, created for the project \
         when `create_volume` is true.\n\n\
         When a volume is used and `to_resource` is a container, the volume is mounted at `mount_path` in both \
         containers, so they share its data; several connections naming one volume share one volume. It is made \
         (with `volume_driver`) before either container, or, with `create_volume = False`, must exist already. \
         `clockwork destroy` removes it unless `--keep-volumes`, and never while a container of anyone else mounts \
         it. The connecting container deploys after `to_resource`. With only a `description`, completion fills \
         `mount_path` and `volume_name`.",
    )
    .field(fields::to_resource())
    .field(fields::description())
    .field(
        Field::new(
            "mount_path",
            "string",
            "Absolute path inside the container where the source appears, e.g. `/etc/app/config.json` or \
             `/data/shared`. \
             Needed: when left out, completion fills it — for a named volume `/data/<volume_name>`, else from \
             `description`.",
        )
        .completable()
        .example(json!("/etc/app/config.json"))
        .example(json!("/data/shared")),
    )
    .field(
        Field::new(
            "source_path",
            "string",
            "File or folder to mount (a bind mount), relative to the project folder, e.g. `./static`. \
             Paths outside the project folder are refused unless policy allows them. Ignored when `to_resource` is \
             a `FileResource`.",
        )
        .example(json!("./static"))
        .example(json!("./nginx.conf")),
    )
    .field(
        Field::new(
            "volume_name",
            "string",
            "Named volume of this project to mount, e.g. `app-shared-data`. \
             Used when `to_resource` is not a `FileResource` and `source_path` is not given. A volume keeps its \
             data when containers are replaced. When left out, completion may fill it from `description`.",
        )
        .completable()
        .example(json!("app-shared-data")),
    )
    .field(
        Field::new(
            "read_only",
            "bool",
            "Whether the container may only read the mount. Use it for configuration files.",
        )
        .default(json!(false)),
    )
    .field(
        Field::new(
            "create_volume",
            "bool",
            "Whether to create `volume_name` when it does not exist yet. \
             `false`: the volume must already exist in this project, and `apply` stops if it does not.",
        )
        .default(json!(true)),
    )
    .field(
        Field::new(
            "volume_driver",
            "string",
            "Docker volume driver used when creating `volume_name`. \
             `local` (the default) stores the data on this machine.",
        )
        .default(json!("local")),
    )
}

export_connection_plugin!(FileConnection);

#[cfg(test)]
mod tests {
    use clockwork_sdk::clockwork_schema::ValueType;

    use super::*;

    fn the_type() -> TypeDef {
        let types = <FileConnection as ConnectionPlugin>::types();
        assert_eq!(types.len(), 1);
        types.into_iter().next().expect("one type")
    }

    /// The pointer and message of each problem `validate` finds.
    fn problems(config: Value) -> Vec<(String, String)> {
        match <FileConnection as ConnectionPlugin>::validate("FileConnection", &config.to_string())
        {
            Ok(_) => Vec::new(),
            Err(found) => found
                .into_iter()
                .map(|d| (d.path.unwrap_or_default(), d.summary))
                .collect(),
        }
    }

    #[test]
    fn the_source_path_stays_in_the_project_folder() {
        let at = |path: &str| problems(json!({"mount_path": "/srv", "source_path": path}));
        assert_eq!(
            at("~/static"),
            [(
                "/source_path".to_string(),
                "`~/static` starts with `~`, which is not expanded: `source_path` is relative to the project folder, e.g. `./static`".to_string()
            )]
        );
        assert_eq!(
            at("/etc/nginx"),
            [(
                "/source_path".to_string(),
                "`/etc/nginx` is absolute: `source_path` is relative to the project folder, e.g. `./static`".to_string()
            )]
        );
        assert_eq!(
            at("./a/../../etc"),
            [(
                "/source_path".to_string(),
                "`./a/../../etc` leaves the project folder; `source_path` is relative to it"
                    .to_string()
            )]
        );
        assert_eq!(at("")[0].0, "/source_path");
        assert_eq!(at("a:b")[0].0, "/source_path");
        for fine in ["./static", "static", "./a/../b", "nginx.conf"] {
            assert_eq!(at(fine), [], "{fine}");
        }
    }

    #[test]
    fn the_mount_path_is_absolute_and_not_the_root() {
        assert_eq!(
            problems(json!({"mount_path": "data"})),
            [(
                "/mount_path".to_string(),
                "`mount_path` must be an absolute path inside the container: did you mean `/data`?"
                    .to_string()
            )]
        );
        assert_eq!(
            problems(json!({"mount_path": "/"})),
            [(
                "/mount_path".to_string(),
                "`mount_path` cannot be `/`: the mount would hide the container's own files; give a folder inside it, e.g. `/data/shared`".to_string()
            )]
        );
        assert_eq!(problems(json!({"mount_path": ""}))[0].0, "/mount_path");
        assert_eq!(problems(json!({"mount_path": "/a:b"}))[0].0, "/mount_path");
        assert_eq!(problems(json!({"mount_path": "/data/shared"})), []);
        assert_eq!(problems(json!({})), [], "completion may fill it");
        // A model's `../data/shared` is told a path that is itself valid.
        assert_eq!(
            problems(json!({"mount_path": "../data/shared"})),
            [(
                "/mount_path".to_string(),
                "`mount_path` must be a plain absolute path inside the container, without `.` or `..` steps: did you mean `/data/shared`?"
                    .to_string()
            )]
        );
        assert_eq!(
            problems(json!({"mount_path": "/srv/./x"}))[0].0,
            "/mount_path"
        );
    }

    #[test]
    fn a_volume_name_docker_refuses_is_reported() {
        assert_eq!(
            problems(json!({"mount_path": "/data", "volume_name": "my data"})),
            [(
                "/volume_name".to_string(),
                "`my data` is not a valid volume name: use at least two letters, digits, `_`, `.` and `-`, starting with a letter or digit, e.g. `app-shared-data`".to_string()
            )]
        );
        assert_eq!(
            problems(json!({"mount_path": "/data", "volume_name": "app-shared-data"})),
            []
        );
    }

    fn endpoint(type_name: &str, name: &str) -> clockwork_sdk::connection::Endpoint {
        clockwork_sdk::connection::Endpoint {
            target: ResourceRef {
                type_name: type_name.into(),
                name: name.into(),
            },
            config: json!({}).to_string(),
        }
    }

    /// What the rules suggest for `mount_path` of a connection to `to`.
    fn mount_path_rule(config: Value, to: &str) -> Option<String> {
        let input = CompletionInput {
            type_name: "FileConnection".into(),
            name: "files".into(),
            config: config.to_string(),
            missing: vec!["mount_path".into()],
            from_resource: endpoint("DockerResource", "api"),
            to_resource: endpoint(to, "storage"),
        };
        let suggestions = <FileConnection as ConnectionPlugin>::complete_rules(input).unwrap();
        suggestions
            .into_iter()
            .find(|s| s.field == "mount_path")
            .map(|s| s.value)
    }

    #[test]
    fn a_named_volume_is_mounted_at_data_and_its_name() {
        assert_eq!(
            mount_path_rule(json!({"volume_name": "uploads"}), "DockerResource").as_deref(),
            Some("\"/data/uploads\"")
        );
        // A file or a folder goes where its container reads it: no rule.
        assert_eq!(
            mount_path_rule(json!({"volume_name": "uploads"}), "FileResource"),
            None
        );
        assert_eq!(
            mount_path_rule(
                json!({"volume_name": "uploads", "source_path": "./static"}),
                "DockerResource"
            ),
            None
        );
        assert_eq!(mount_path_rule(json!({}), "DockerResource"), None);
        assert_eq!(
            mount_path_rule(json!({"volume_name": "a b"}), "DockerResource"),
            None,
            "a name `validate` refuses makes no path"
        );
    }

    #[test]
    fn a_source_path_is_mounted_as_a_path() {
        let input = ResolveInput {
            type_name: "FileConnection".into(),
            name: "static".into(),
            config: json!({"mount_path": "/srv", "source_path": "static"}).to_string(),
            from_resource: endpoint("DockerResource", "web"),
            to_resource: endpoint("DockerResource", "api"),
            project: json!({"name": "shop"}).to_string(),
        };
        let contribution = <FileConnection as ConnectionPlugin>::resolve(input).unwrap();
        assert!(
            matches!(&contribution.from_patch.mounts[0].source, MountSource::Bind(p) if p == "./static")
        );
    }

    #[test]
    fn schema_has_no_problems() {
        let def = the_type();
        assert_eq!(def.name(), "FileConnection");
        assert_eq!(def.schema().problems(), vec![]);
        let to = def
            .schema()
            .field("to_resource")
            .and_then(|f| f.parsed_type());
        assert_eq!(to, Some(ValueType::Resource(Vec::new())));
    }

    #[test]
    fn keeps_the_original_fields_and_defaults() {
        let def = the_type();
        let schema = def.schema();
        let field = |name: &str| {
            schema
                .field(name)
                .unwrap_or_else(|| panic!("missing field `{name}`"))
        };
        for name in ["to_resource", "description", "source_path"] {
            field(name);
        }
        assert!(field("mount_path").completable);
        assert!(field("volume_name").completable);
        assert_eq!(field("read_only").default_value(), Some(json!(false)));
        assert_eq!(field("create_volume").default_value(), Some(json!(true)));
        assert_eq!(field("volume_driver").default_value(), Some(json!("local")));
    }
}
