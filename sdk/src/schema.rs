//! Builders for the schema a plugin returns from `describe`.

use clockwork_schema::{ContributionKind, FieldSchema, TypeSchema};
use serde_json::Value;

use crate::bindings::host::clockwork::plugin::types as wit;

/// A field (keyword argument) of a declaration type.
///
/// Fields are optional, without a default, not completable, unless you say
/// otherwise.
#[derive(Debug, Clone)]
pub struct Field(pub(crate) FieldSchema);

impl Field {
    /// A field named `name` (snake_case) of `value_type` (see
    /// `field-schema.value-type` in `wit/types.wit`), with its documentation.
    pub fn new(name: &str, value_type: &str, doc: &str) -> Self {
        Field(FieldSchema {
            name: name.into(),
            value_type: value_type.into(),
            doc: doc.into(),
            required: false,
            default: None,
            completable: false,
            forces_replace: false,
            secret: false,
            examples: Vec::new(),
            receives: None,
        })
    }

    /// The user must give this field.
    pub fn required(mut self) -> Self {
        self.0.required = true;
        self
    }

    /// The value used when the field is left out.
    pub fn default(mut self, value: Value) -> Self {
        self.0.default = Some(value.to_string());
        self
    }

    /// Completion (rules, then AI where configured) may fill this field.
    pub fn completable(mut self) -> Self {
        self.0.completable = true;
        self
    }

    /// Changing this field replaces the deployed object.
    pub fn forces_replace(mut self) -> Self {
        self.0.forces_replace = true;
        self
    }

    /// The value is a secret: masked in output, never sent to an AI.
    pub fn secret(mut self) -> Self {
        self.0.secret = true;
        self
    }

    /// Connections' contributions of `kind` are added to this field (its
    /// type must fit: `map<string>` for environment variables,
    /// `list<string>` for networks and aliases, `list<mount>` for mounts).
    pub fn receives(mut self, kind: ContributionKind) -> Self {
        self.0.receives = Some(kind);
        self
    }

    /// An example value, shown in docs and given to the AI.
    pub fn example(mut self, value: Value) -> Self {
        self.0.examples.push(value.to_string());
        self
    }

    /// The plain schema.
    pub fn schema(&self) -> &FieldSchema {
        &self.0
    }
}

/// A declaration type: its constructor name, docs and fields.
#[derive(Debug, Clone)]
pub struct TypeDef(pub(crate) TypeSchema);

impl TypeDef {
    /// A type named `name` (PascalCase) documented by `doc` (Markdown; the
    /// first sentence is the summary).
    pub fn new(name: &str, doc: &str) -> Self {
        TypeDef(TypeSchema {
            name: name.into(),
            doc: doc.into(),
            fields: Vec::new(),
        })
    }

    /// Adds a field.
    pub fn field(mut self, field: Field) -> Self {
        self.0.fields.push(field.0);
        self
    }

    /// Adds several fields.
    pub fn fields(mut self, fields: impl IntoIterator<Item = Field>) -> Self {
        self.0.fields.extend(fields.into_iter().map(|f| f.0));
        self
    }

    /// The type name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The plain schema.
    pub fn schema(&self) -> &TypeSchema {
        &self.0
    }
}

impl From<FieldSchema> for wit::FieldSchema {
    fn from(f: FieldSchema) -> Self {
        wit::FieldSchema {
            name: f.name,
            value_type: f.value_type,
            doc: f.doc,
            required: f.required,
            default: f.default,
            completable: f.completable,
            forces_replace: f.forces_replace,
            secret: f.secret,
            examples: f.examples,
            receives: f.receives.map(|k| match k {
                ContributionKind::Environment => wit::ContributionKind::Environment,
                ContributionKind::Networks => wit::ContributionKind::Networks,
                ContributionKind::Aliases => wit::ContributionKind::Aliases,
                ContributionKind::Mounts => wit::ContributionKind::Mounts,
            }),
        }
    }
}

impl From<TypeDef> for wit::TypeSchema {
    fn from(t: TypeDef) -> Self {
        wit::TypeSchema {
            name: t.0.name,
            doc: t.0.doc,
            fields: t.0.fields.into_iter().map(Into::into).collect(),
        }
    }
}
