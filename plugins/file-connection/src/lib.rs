//! `FileConnection`: mounts a file, a folder or a volume into a container.
//!
//! This crate only describes the type for now; `resolve` comes later.

use clockwork_sdk::connection::{Mount, MountSource};
use clockwork_sdk::invalid;
use clockwork_sdk::prelude::*;

/// The `file-connection` plugin.
pub struct FileConnection;

impl ConnectionPlugin for FileConnection {
    fn meta() -> PluginMeta {
        plugin_meta!("files, folders and volumes mounted into containers")
    }

    fn types() -> Vec<TypeDef> {
        vec![file_connection()]
    }

    fn resolve(input: ResolveInput) -> Result<Contribution, PluginError> {
        let config = input.config_json()?;
        let Some(target) = config["mount_path"].as_str() else {
            return Err(invalid(
                Some("/mount_path"),
                "`mount_path` is needed: where to mount inside the container",
            ));
        };
        let read_only = config["read_only"].as_bool().unwrap_or(false);
        let to = &input.to_resource.target;
        let (source, shared) = if to.type_name == "FileResource" {
            (MountSource::ResourceFile(to.clone()), false)
        } else if let Some(path) = config["source_path"].as_str() {
            (MountSource::Bind(path.to_string()), false)
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

fn file_connection() -> TypeDef {
    TypeDef::new(
        "FileConnection",
        "Mounts a file, a folder or a named volume into the connecting container at `mount_path`. \
         The source is, in this order: the file written by `to_resource` when it is a `FileResource`; else \
         `source_path`, a file or folder of the project; else the named volume `volume_name`, created for the project \
         when `create_volume` is true.\n\n\
         When a volume is used and `to_resource` is a container, the volume is mounted at `mount_path` in both \
         containers, so they share its data. The connecting container deploys after `to_resource`. With only a \
         `description`, completion fills `mount_path` and `volume_name`.",
    )
    .field(fields::to_resource())
    .field(fields::description())
    .field(
        Field::new(
            "mount_path",
            "string",
            "Absolute path inside the container where the source appears, e.g. `/etc/app/config.json` or \
             `/data/shared`. \
             Needed: when left out, completion fills it from `description`.",
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
