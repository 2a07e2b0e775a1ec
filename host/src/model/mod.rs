//! Data shared by the pipeline's stages: where things are in the user's
//! files and inside a declaration's fields, and the declarations a
//! project makes.

mod backoff;
mod declaration;
pub mod exit;
mod field_path;
#[cfg(test)]
mod fixture;
mod grants;
pub mod labels;
mod location;
mod name;
mod plugin_kind;
pub mod time;

pub use backoff::BackoffPolicy;
pub use declaration::{DeclId, Declaration, Declared, NameOrigin};
pub use field_path::FieldPath;
pub use grants::Grants;
pub use location::{Located, Location};
pub use name::{ResourceName, TypeName, kebab};
pub use plugin_kind::{PluginKind, PluginSource};
