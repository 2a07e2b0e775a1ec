//! The declaration types known to a project: one per plugin type, with the
//! parsed field types the constructors check against.

use std::collections::BTreeMap;
use std::sync::Arc;

use clockwork_schema::{FieldSchema, TypeSchema, ValueType};
use starlark::values::{FrozenHeap, FrozenHeapRef, FrozenStringValue};

use crate::plugin::{PluginKind, PluginSet, TypeTraits};

/// One declaration type, as the constructors see it.
#[derive(Debug)]
pub struct TypeSpec {
    /// Resource, connection or assertion.
    pub kind: PluginKind,
    /// The plugin providing it.
    pub plugin: String,
    /// Its schema.
    pub schema: TypeSchema,
    /// Each field's parsed value type, by field name.
    pub field_types: BTreeMap<String, ValueType>,
    /// Whether it accepts `.add(child)`.
    pub composite: bool,
    /// Field names as frozen Starlark strings, so fields can be set where
    /// no heap is at hand (`set_attr`).
    keys: BTreeMap<String, FrozenStringValue>,
    /// Keeps `keys` alive.
    _key_heap: FrozenHeapRef,
}

impl TypeSpec {
    /// The type name, e.g. `DockerResource`.
    pub fn name(&self) -> &str {
        &self.schema.name
    }

    /// A field's schema.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.schema.field(name)
    }

    /// A field's name as a frozen Starlark string.
    pub fn key(&self, name: &str) -> Option<FrozenStringValue> {
        self.keys.get(name).copied()
    }
}

/// Every type, by name.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    types: BTreeMap<String, Arc<TypeSpec>>,
}

impl TypeRegistry {
    /// The types of every loaded plugin. Plugins were checked at load, so
    /// every field type parses and every type name is unique.
    pub fn from_plugins(plugins: &PluginSet) -> Self {
        let mut types = BTreeMap::new();
        for plugin in &plugins.plugins {
            for info in &plugin.description.types {
                let field_types = info
                    .schema
                    .fields
                    .iter()
                    .filter_map(|f| f.parsed_type().map(|t| (f.name.clone(), t)))
                    .collect();
                let composite = matches!(
                    info.traits,
                    TypeTraits::Resource {
                        composite: true,
                        ..
                    }
                );
                let heap = FrozenHeap::new();
                let keys = info
                    .schema
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), heap.alloc_str(&f.name)))
                    .collect();
                let spec = TypeSpec {
                    keys,
                    _key_heap: heap.into_ref(),
                    kind: plugin.kind(),
                    plugin: plugin.name().to_string(),
                    schema: info.schema.clone(),
                    field_types,
                    composite,
                };
                types.insert(info.schema.name.clone(), Arc::new(spec));
            }
        }
        TypeRegistry { types }
    }

    /// A type by name.
    pub fn get(&self, name: &str) -> Option<&Arc<TypeSpec>> {
        self.types.get(name)
    }

    /// Every type, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<TypeSpec>> {
        self.types.values()
    }
}
