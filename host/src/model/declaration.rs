//! The declarations a `main.star` makes, after evaluation: typed, named,
//! located, with their edges.

use std::path::PathBuf;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::PluginKind;
use crate::model::{Location, ResourceName, TypeName};

/// Index of a declaration in [`Declared::declarations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct DeclId(pub usize);

/// Where a declaration's name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrigin {
    /// The user wrote `name=`.
    Explicit,
    /// The Starlark variable it is bound to (`api_server` → `api-server`).
    Variable(String),
    /// Derived from its type and position, for declarations bound to no
    /// variable (an inline child, a connection).
    Derived,
}

/// One declaration: a resource, a connection or an assertion.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// Its index.
    pub id: DeclId,
    /// Resource, connection or assertion.
    pub kind: PluginKind,
    /// The constructor, e.g. `DockerResource`.
    pub type_name: TypeName,
    /// Unique within its kind in the project.
    pub name: ResourceName,
    /// Where the name came from.
    pub name_origin: NameOrigin,
    /// Where the constructor was called.
    pub location: Location,
    /// The fields the user wrote (and changed after construction), as JSON.
    /// References to other declarations are `{"$ref": "<name>"}`; the
    /// structural fields (`connections`, `assertions`, `to_resource`) are
    /// edges below instead.
    pub fields: Map<String, Value>,
    /// What the user's own fields let its actions do beyond the policy's
    /// floor (a bind mount outside the project, a host port): built by the
    /// loader from `fields` alone, never from what completion, connections
    /// or plugins add.
    pub grants: crate::model::Grants,
    /// The fields after the plugin's `validate`: the user's, normalised,
    /// with defaults filled in.
    pub config: Map<String, Value>,
    /// The composite holding it.
    pub parent: Option<DeclId>,
    /// A composite's children, in the order added.
    pub children: Vec<DeclId>,
    /// Connections going out of this resource, in order.
    pub connections: Vec<DeclId>,
    /// Assertions attached to this declaration, in order.
    pub assertions: Vec<DeclId>,
    /// For a connection: the resource it goes from.
    pub from: Option<DeclId>,
    /// For a connection: the resource it goes to.
    pub to: Option<DeclId>,
    /// For a connection: created by Clockwork for a bare resource in
    /// `.connect(...)` or `connections=[...]`.
    pub implicit: bool,
    /// Fields of `config` completion filled (a connection's; a resource's
    /// are in its spec's provenance): field → where from, for `plan`.
    pub completed: BTreeMap<String, String>,
    /// Its plugin's `validate` found only problems about fields completion
    /// may still fill: validated again once completion ran.
    pub deferred: bool,
}

/// Everything `main.star` declared, in declaration order.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The project folder.
    pub dir: PathBuf,
    /// The project file, relative to the folder (`main.star` or `main.py`).
    pub file: PathBuf,
    /// The project's name: the folder's name.
    pub name: String,
    /// Every declaration reachable from the project file, each once.
    pub declarations: Vec<Declaration>,
    /// Values that must never be printed: secret fields, secret-looking
    /// environment variables, values read with `env()` for such names.
    pub secrets: Vec<String>,
    /// Warnings plugins gave about declarations: shown, not failing.
    pub warnings: Vec<super::Located>,
}

impl Declared {
    /// A declaration by id.
    pub fn get(&self, id: DeclId) -> &Declaration {
        &self.declarations[id.0]
    }

    /// The declarations of one kind, in order.
    pub fn of_kind(&self, kind: PluginKind) -> impl Iterator<Item = &Declaration> {
        self.declarations.iter().filter(move |d| d.kind == kind)
    }

    /// A resource by name.
    pub fn resource(&self, name: &str) -> Option<&Declaration> {
        self.of_kind(PluginKind::Resource).find(|d| d.name == name)
    }
}
