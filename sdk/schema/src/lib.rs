//! Field schemas and payload vocabulary shared by the Clockwork host and its
//! plugins.
//!
//! The WIT contract (`wit/`) carries structured payloads as JSON text; this
//! crate is the one Rust definition of what that JSON means, used by the host
//! to check plugins and by the SDK to build them. It has no WebAssembly
//! dependencies, so it builds for every target.

#![deny(missing_docs)]

pub mod actions;
mod paths;
mod ports;
mod type_schema;
mod value_type;

pub use paths::{check_project_path, leaves_folder, valid_env_name};
pub use ports::{PortError, PortMapping, Protocol, env_prefix, first_container_port, parse_port};
pub use type_schema::{
    ContributionKind, FieldSchema, SchemaProblem, TypeSchema, is_kebab_case, is_pascal_case,
    is_snake_case,
};
pub use value_type::{TypeMismatch, ValueType, ValueTypeError, describe_value};
