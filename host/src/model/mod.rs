//! Data shared by the pipeline's stages: where things are in the user's
//! files, and the declarations a project makes.

mod declaration;
mod location;

pub use declaration::{DeclId, Declaration, Declared, NameOrigin};
pub use location::Location;
