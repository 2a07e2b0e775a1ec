//! The Starlark value of a declaration: what `DockerResource(...)` returns.
//!
//! Fields live in a Starlark dict and edges (children, parent, the resource
//! a connection comes from, the variable it was bound to) in another, so
//! that `api.env_vars["LOG_LEVEL"] = "debug"` after construction changes
//! the declaration itself, exactly as the user expects. Declarations from a
//! `load()`ed file are frozen, like every loaded Starlark value.

use std::fmt;
use std::sync::Arc;

use allocative::Allocative;
use serde_json::Value as Json;
use starlark::coerce::Coerce;
use starlark::const_frozen_string;
use starlark::environment::{Methods, MethodsBuilder, MethodsStatic};
use starlark::eval::Evaluator;
use starlark::starlark_complex_value;
use starlark::starlark_module;
use starlark::values::dict::{AllocDict, DictMut, DictRef};
use starlark::values::list::{AllocList, ListRef};
use starlark::values::none::NoneType;
use starlark::values::tuple::UnpackTuple;
use starlark::values::{
    Freeze, FreezeResult, Freezer, FrozenStringValue, FrozenValue, Heap, NoSerialize,
    ProvidesStaticType, StarlarkValue, Trace, Value, ValueLike, starlark_value,
};

use crate::load::context::LoadContext;
use crate::load::convert;
use crate::load::types::TypeSpec;
use crate::model::Location;
use crate::model::PluginKind;
use crate::suggest;

/// What never changes about a declaration.
#[derive(Debug)]
pub struct DeclInfo {
    /// Creation order, unique in the evaluation.
    pub id: u32,
    /// Its type.
    pub spec: Arc<TypeSpec>,
    /// Where the constructor was called.
    pub location: Location,
}

/// A declaration value; `V` is `Value` while its file runs, `FrozenValue`
/// after (a loaded file's declarations).
#[derive(Debug, Trace, ProvidesStaticType, Allocative, NoSerialize)]
#[repr(C)]
pub struct DeclGen<V> {
    #[trace(unsafe_ignore)]
    #[allocative(skip)]
    pub(crate) info: Arc<DeclInfo>,
    /// Field name → value, as the user wrote and changed them.
    pub(crate) fields: V,
    /// `children` (list), `parent`, `from`, `variable`.
    pub(crate) edges: V,
}

starlark_complex_value!(pub Decl);

// SAFETY: `DeclGen<FrozenValue>` and `DeclGen<Value>` have the same layout
// (`repr(C)`, and `FrozenValue` coerces to `Value`), as starlark requires.
unsafe impl<'v> Coerce<DeclGen<Value<'v>>> for DeclGen<FrozenValue> {}

impl<'v> Freeze for Decl<'v> {
    type Frozen = FrozenDecl;
    fn freeze(self, freezer: &Freezer) -> FreezeResult<FrozenDecl> {
        Ok(DeclGen {
            info: self.info,
            fields: self.fields.freeze(freezer)?,
            edges: self.edges.freeze(freezer)?,
        })
    }
}

impl<V> fmt::Display for DeclGen<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}(...) at {}",
            self.info.spec.name(),
            self.info.location
        )
    }
}

/// Edge keys.
pub(crate) const CHILDREN: &str = "children";
pub(crate) const PARENT: &str = "parent";
pub(crate) const FROM: &str = "from";
pub(crate) const VARIABLE: &str = "variable";
/// The function a `main.py` decorator (`@PythonAssert(...)`) applies to.
pub(crate) const DECORATES: &str = "decorates";
/// The names of fields holding a container default the user did not write.
pub(crate) const DEFAULTED: &str = "defaulted";

/// An edge key as a frozen string.
pub(crate) fn edge_key(name: &'static str) -> FrozenStringValue {
    match name {
        CHILDREN => const_frozen_string!("children"),
        PARENT => const_frozen_string!("parent"),
        FROM => const_frozen_string!("from"),
        DEFAULTED => const_frozen_string!("defaulted"),
        _ => const_frozen_string!("variable"),
    }
}

impl<'v, V: ValueLike<'v>> DeclGen<V> {
    /// The declaration's kind.
    pub fn kind(&self) -> PluginKind {
        self.info.spec.kind
    }

    /// The reference object used while checking field types.
    pub fn reference(&self) -> Json {
        convert::reference(self.info.id, self.kind(), self.info.spec.name())
    }

    /// A field's current value, if set.
    pub fn field(&self, name: &str) -> Option<Value<'v>> {
        dict_get(self.fields.to_value(), name)
    }

    /// An edge, if set.
    pub fn edge(&self, name: &str) -> Option<Value<'v>> {
        dict_get(self.edges.to_value(), name).filter(|v| !v.is_none())
    }

    /// Whether `name` still holds the container default stored at
    /// construction rather than something the user wrote (a default changed
    /// in place counts as written: collecting compares it).
    pub fn defaulted(&self, name: &str) -> bool {
        self.edge(DEFAULTED)
            .and_then(ListRef::from_value)
            .is_some_and(|l| l.iter().any(|v| v.unpack_str() == Some(name)))
    }

    /// Every field, in the order first set.
    pub fn fields(&self) -> Vec<(String, Value<'v>)> {
        DictRef::from_value(self.fields.to_value())
            .map(|d| {
                d.iter()
                    .filter_map(|(k, v)| k.unpack_str().map(|k| (k.to_string(), v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The children, in the order added.
    pub fn children(&self) -> Vec<Value<'v>> {
        self.edge(CHILDREN)
            .and_then(ListRef::from_value)
            .map(|l| l.iter().collect())
            .unwrap_or_default()
    }

    /// The name the user gave, or the variable it is bound to (with `_`
    /// as `-`), if either is known yet.
    pub fn known_name(&self) -> Option<String> {
        if let Some(name) = self.field("name").and_then(|v| v.unpack_str()) {
            return Some(name.to_string());
        }
        self.edge(VARIABLE)
            .and_then(|v| v.unpack_str())
            .map(|v| v.replace('_', "-"))
    }

    fn describe(&self) -> String {
        match self.known_name() {
            Some(name) => format!("`{name}` ({})", self.info.spec.name()),
            None => format!("the {} at {}", self.info.spec.name(), self.info.location),
        }
    }
}

fn dict_get<'v>(dict: Value<'v>, key: &str) -> Option<Value<'v>> {
    let dict = DictRef::from_value(dict)?;
    dict.get_str(key)
}

/// Sets `key` in a declaration's dict; a frozen dict means the declaration
/// comes from a loaded file.
fn dict_set<'v>(
    owner: &dyn fmt::Display,
    dict: Value<'v>,
    key: FrozenStringValue,
    value: Value<'v>,
) -> anyhow::Result<()> {
    let mut dict = DictMut::from_value(dict).map_err(|_| {
        anyhow::anyhow!(
            "{owner} was declared in a loaded file and cannot be changed here; change it where it is declared, or declare it with a function that the loading file calls"
        )
    })?;
    dict.aref.insert_hashed(
        key.to_value()
            .get_hashed()
            .map_err(starlark::Error::into_anyhow)?,
        value,
    );
    Ok(())
}

impl<'v, V: ValueLike<'v>> DeclGen<V> {
    /// Sets a field (already type-checked).
    pub(crate) fn set_field(&self, name: &str, value: Value<'v>) -> anyhow::Result<()> {
        let key = self.info.spec.key(name).ok_or_else(|| {
            anyhow::anyhow!(
                "internal error: `{}` has no field `{name}` (this is a bug in clockwork)",
                self.info.spec.name()
            )
        })?;
        dict_set(self, self.fields.to_value(), key, value)
    }

    /// Sets an edge.
    pub(crate) fn set_edge(&self, name: &'static str, value: Value<'v>) -> anyhow::Result<()> {
        dict_set(
            &self.describe(),
            self.edges.to_value(),
            edge_key(name),
            value,
        )
    }
}

/// A list with `value` appended; lists held by declarations are replaced,
/// not changed in place, so a list the user passed in stays as it was.
fn appended<'v>(list: Option<Value<'v>>, value: Value<'v>, heap: Heap<'v>) -> Value<'v> {
    let mut items: Vec<Value<'v>> = list
        .and_then(ListRef::from_value)
        .map(|l| l.iter().collect())
        .unwrap_or_default();
    items.push(value);
    heap.alloc(AllocList(items))
}

#[starlark_value(type = "declaration")]
impl<'v, V: ValueLike<'v>> StarlarkValue<'v> for DeclGen<V>
where
    Self: ProvidesStaticType<'v>,
{
    fn provide(&'v self, demand: &mut starlark::values::Demand<'_, 'v>) {
        demand.provide_value(convert::Reference(self.reference()));
    }

    fn get_methods() -> Option<&'static Methods> {
        static METHODS: MethodsStatic = MethodsStatic::new("declaration", declaration_methods);
        Some(METHODS.methods())
    }

    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        match attribute {
            CHILDREN if self.kind() == PluginKind::Resource => {
                let entries: Vec<(String, Value<'v>)> = self
                    .children()
                    .into_iter()
                    .filter_map(|c| {
                        Decl::from_value(c)
                            .and_then(|d| d.known_name())
                            .map(|n| (n, c))
                    })
                    .collect();
                Some(heap.alloc(AllocDict(entries)))
            }
            PARENT => Some(self.edge(PARENT).unwrap_or_else(|| heap.alloc(NoneType))),
            _ => {
                let field = self.info.spec.field(attribute)?;
                if let Some(value) = self.field(attribute) {
                    return Some(value);
                }
                if attribute == "name" {
                    return Some(match self.known_name() {
                        Some(name) => heap.alloc(name),
                        None => heap.alloc(NoneType),
                    });
                }
                let Some(default) = field.default_value() else {
                    return Some(heap.alloc(NoneType));
                };
                // Container defaults were stored at construction; this is a
                // scalar, which cannot be changed in place.
                Some(convert::from_json(&default, heap))
            }
        }
    }

    fn has_attr(&self, attribute: &str, _heap: Heap<'v>) -> bool {
        self.info.spec.field(attribute).is_some()
            || attribute == PARENT
            || (attribute == CHILDREN && self.kind() == PluginKind::Resource)
    }

    fn dir_attr(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .info
            .spec
            .schema
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect();
        if self.kind() == PluginKind::Resource {
            names.push(CHILDREN.into());
        }
        names.push(PARENT.into());
        names
    }

    /// `+PythonAssert(...)`: what a `main.py` decorator line is read as.
    fn plus(&self, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        if self.edge(DECORATES).is_some() {
            return Ok(heap.alloc(NoneType));
        }
        Err(starlark::Error::new_other(anyhow::anyhow!(
            "unary `+` is not defined for a declaration"
        )))
    }

    fn set_attr(&self, attribute: &str, value: Value<'v>) -> starlark::Result<()> {
        let spec = &self.info.spec;
        let Some(ty) = spec.field_types.get(attribute) else {
            let hint = suggest::nearest(
                attribute,
                spec.schema.fields.iter().map(|f| f.name.as_str()),
            )
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "`{}` has no field `{attribute}`{hint}",
                spec.name()
            )));
        };
        if *ty == clockwork_schema::ValueType::Function {
            // The program is found from the constructor's call.
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "`{}`: the function of an assertion is given when it is made: `{}({attribute} = ...)`",
                spec.name(),
                spec.name()
            )));
        }
        let secret = spec.field(attribute).is_some_and(|f| f.secret);
        convert::check(attribute, ty, value, secret)
            .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("`{}`: {e}", spec.name())))?;
        self.set_field(attribute, value)
            .map_err(starlark::Error::new_other)
    }

    fn export_as(
        &self,
        variable_name: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<()> {
        // A declaration from a loaded file is frozen: it keeps the name it
        // got there (its variable's, or its `name=`), and binding it to
        // another variable here does not rename it.
        let frozen = DictMut::from_value(self.edges.to_value()).is_err();
        if !frozen && self.edge(VARIABLE).is_none() && self.info.spec.kind == PluginKind::Resource {
            let name = eval.heap().alloc(variable_name);
            self.set_edge(VARIABLE, name)
                .map_err(starlark::Error::new_other)?;
        }
        Ok(())
    }
}

#[starlark_module]
fn declaration_methods(builder: &mut MethodsBuilder) {
    /// Connects this resource to other declarations: each target is a
    /// connection (`DatabaseConnection(to_resource=db)`) or a resource,
    /// which means a `DependencyConnection` to it. Returns this resource,
    /// so calls chain.
    fn connect<'v>(
        this: Value<'v>,
        #[starlark(args)] targets: UnpackTuple<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<Value<'v>> {
        let decl = Decl::from_value(this)
            .ok_or_else(|| anyhow::anyhow!("internal error: not a declaration"))?;
        if decl.kind() != PluginKind::Resource {
            anyhow::bail!(
                "only resources have `.connect(...)`; {} is a {}",
                decl.describe(),
                decl.kind()
            );
        }
        if targets.items.is_empty() {
            anyhow::bail!("`.connect()` needs at least one resource or connection");
        }
        for target in targets.items {
            attach_connection(this, target, eval)?;
        }
        Ok(this)
    }

    /// Adds children to this composite. Returns the child (or, given
    /// several, a tuple of them), so `db = app.add(DockerResource(...))`
    /// binds the child.
    fn add<'v>(
        this: Value<'v>,
        #[starlark(args)] children: UnpackTuple<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<Value<'v>> {
        let decl = Decl::from_value(this)
            .ok_or_else(|| anyhow::anyhow!("internal error: not a declaration"))?;
        if !decl.info.spec.composite {
            anyhow::bail!(
                "{} is not a composite: only composite types such as `BlankResource` accept `.add(...)`",
                decl.describe()
            );
        }
        if children.items.is_empty() {
            anyhow::bail!("`.add()` needs at least one resource");
        }
        let heap = eval.heap();
        for child in &children.items {
            add_child(this, *child, heap)?;
        }
        Ok(match children.items.as_slice() {
            [one] => *one,
            many => heap.alloc(starlark::values::tuple::AllocTuple(many.iter().copied())),
        })
    }
}

/// Adds one connection (or a resource, as a `DependencyConnection`) going
/// out of `from`, to `from`'s `connections` field.
pub fn attach_connection<'v>(
    from: Value<'v>,
    target: Value<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> anyhow::Result<()> {
    let from_decl = Decl::from_value(from)
        .ok_or_else(|| anyhow::anyhow!("internal error: not a declaration"))?;
    let Some(target_decl) = Decl::from_value(target) else {
        anyhow::bail!(
            "`.connect()` takes resources and connections, got a {} (`{}`)",
            target.get_type(),
            target.to_repr()
        );
    };
    let heap = eval.heap();
    let connection = match target_decl.kind() {
        PluginKind::Resource => {
            if target.ptr_eq(from) {
                anyhow::bail!("{} cannot connect to itself", from_decl.describe());
            }
            implicit_dependency(target, eval)?
        }
        PluginKind::Connection => {
            if let Some(existing) = target_decl.edge(FROM)
                && !existing.ptr_eq(from)
            {
                let other = Decl::from_value(existing)
                    .map(|d| d.describe())
                    .unwrap_or_default();
                anyhow::bail!(
                    "this {} is already connected from {other}; a connection has one origin, so declare a second one for {}",
                    target_decl.info.spec.name(),
                    from_decl.describe()
                );
            }
            target
        }
        PluginKind::Assertion => anyhow::bail!(
            "{} is an assertion; attach it with `assertions=[...]`, not `.connect(...)`",
            target_decl.info.spec.name()
        ),
    };
    let connection_decl =
        Decl::from_value(connection).ok_or_else(|| anyhow::anyhow!("internal error"))?;
    connection_decl.set_edge(FROM, from)?;
    let list = from_decl.field("connections");
    if !list
        .and_then(ListRef::from_value)
        .is_some_and(|l| l.iter().any(|c| c.ptr_eq(connection)))
    {
        from_decl.set_field("connections", appended(list, connection, heap))?;
    }
    Ok(())
}

fn add_child<'v>(parent: Value<'v>, child: Value<'v>, heap: Heap<'v>) -> anyhow::Result<()> {
    let parent_decl = Decl::from_value(parent)
        .ok_or_else(|| anyhow::anyhow!("internal error: not a declaration"))?;
    let Some(child_decl) = Decl::from_value(child) else {
        anyhow::bail!(
            "`.add()` takes resources, got a {} (`{}`)",
            child.get_type(),
            child.to_repr()
        );
    };
    if child_decl.kind() != PluginKind::Resource {
        anyhow::bail!(
            "`.add()` takes resources; this {} is a {}",
            child_decl.info.spec.name(),
            child_decl.kind()
        );
    }
    if child.ptr_eq(parent) {
        anyhow::bail!("{} cannot be added to itself", parent_decl.describe());
    }
    let mut ancestor = parent_decl.edge(PARENT);
    while let Some(a) = ancestor {
        if a.ptr_eq(child) {
            anyhow::bail!(
                "{} contains {}, so it cannot also be its child",
                child_decl.describe(),
                parent_decl.describe()
            );
        }
        ancestor = Decl::from_value(a).and_then(|d| d.edge(PARENT));
    }
    match child_decl.edge(PARENT) {
        Some(existing) if existing.ptr_eq(parent) => return Ok(()),
        Some(existing) => {
            let other = Decl::from_value(existing)
                .map(|d| d.describe())
                .unwrap_or_default();
            anyhow::bail!(
                "{} is already a child of {other}; a resource belongs to one composite",
                child_decl.describe()
            );
        }
        None => {}
    }
    child_decl.set_edge(PARENT, parent)?;
    parent_decl.set_edge(CHILDREN, appended(parent_decl.edge(CHILDREN), child, heap))
}

/// A `DependencyConnection` to `target`, for a bare resource given to
/// `.connect(...)` or `connections=[...]`.
pub fn implicit_dependency<'v>(
    target: Value<'v>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> anyhow::Result<Value<'v>> {
    let ctx = LoadContext::of(eval)?;
    let Some(spec) = ctx
        .registry
        .get(crate::defaults::SHORTHAND_CONNECTION)
        .cloned()
    else {
        anyhow::bail!(
            "a bare resource means a `DependencyConnection`, but no plugin provides that type"
        );
    };
    let info = DeclInfo {
        id: ctx.next_id(),
        spec: Arc::clone(&spec),
        location: LoadContext::caller_location(eval),
    };
    let heap = eval.heap();
    let key = spec
        .key("to_resource")
        .map(|k| k.to_value())
        .unwrap_or_else(|| heap.alloc("to_resource"));
    let fields = heap.alloc(AllocDict([(key, target)]));
    let edges = heap.alloc(AllocDict([(heap.alloc("implicit"), heap.alloc(true))]));
    let id = info.id;
    let decl = heap.alloc(DeclGen {
        info: Arc::new(info),
        fields,
        edges,
    });
    crate::load::registry::register(eval, id, decl)?;
    Ok(decl)
}
