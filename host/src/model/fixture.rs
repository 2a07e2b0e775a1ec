//! Declarations for unit tests, made the one way: a test says what it
//! needs (kind, type, name) and the rest is empty.

use super::{DeclId, Declaration, Declared, Location, NameOrigin, PluginKind};

impl Declaration {
    /// The `i`-th declaration, at line `i + 1` of `main.star`, with no
    /// fields and no edges; an empty `name` is one still to derive.
    pub fn fixture(i: usize, kind: PluginKind, type_name: &str, name: &str) -> Declaration {
        Declaration {
            id: DeclId(i),
            kind,
            type_name: type_name.into(),
            name: name.into(),
            name_origin: if name.is_empty() {
                NameOrigin::Derived
            } else {
                NameOrigin::Explicit
            },
            location: Location {
                file: "main.star".into(),
                line: i + 1,
                column: 1,
                offset: 0,
                len: 0,
            },
            fields: serde_json::Map::new(),
            grants: Default::default(),
            config: serde_json::Map::new(),
            parent: None,
            children: Vec::new(),
            connections: Vec::new(),
            assertions: Vec::new(),
            from: None,
            to: None,
            implicit: false,
            completed: Default::default(),
            deferred: false,
        }
    }
}

impl Declared {
    /// The project `p` in `/p`, declaring `declarations`.
    pub fn fixture(declarations: Vec<Declaration>) -> Declared {
        Declared {
            dir: "/p".into(),
            file: "main.star".into(),
            name: "p".into(),
            declarations,
            secrets: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Resources of type `Box` named `names`, in order.
    pub fn boxes(names: &[&str]) -> Declared {
        Declared::fixture(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| Declaration::fixture(i, PluginKind::Resource, "Box", n))
                .collect(),
        )
    }
}
