//! One Starlark constructor per declaration type (`DockerResource(...)`),
//! built from the plugin's schema, so a third-party type is as native as a
//! bundled one.

use std::fmt;
use std::sync::Arc;

use allocative::Allocative;
use clockwork_schema::ValueType;
use starlark::eval::{Arguments, Evaluator};
use starlark::starlark_simple_value;
use starlark::values::dict::AllocDict;
use starlark::values::list::AllocList;
use starlark::values::list::ListRef;
use starlark::values::tuple::TupleRef;
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value, starlark_value,
};

use crate::load::context::LoadContext;
use crate::load::convert;
use crate::load::types::TypeSpec;
use crate::load::value::{DEFAULTED, DeclGen, DeclInfo, attach_connection, edge_key};
use crate::model::PluginKind;
use crate::suggest;

/// The constructor of one declaration type.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub struct Constructor {
    #[allocative(skip)]
    spec: Arc<TypeSpec>,
}

starlark_simple_value!(Constructor);

impl Constructor {
    /// The constructor for `spec`.
    pub fn new(spec: Arc<TypeSpec>) -> Self {
        Constructor { spec }
    }
}

impl fmt::Display for Constructor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.spec.name())
    }
}

#[starlark_value(type = "constructor")]
impl<'v> StarlarkValue<'v> for Constructor {
    fn invoke(
        &self,
        _me: Value<'v>,
        args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        construct(&self.spec, args, eval).map_err(starlark::Error::new_other)
    }
}

fn construct<'v>(
    spec: &Arc<TypeSpec>,
    args: &Arguments<'v, '_>,
    eval: &mut Evaluator<'v, '_, '_>,
) -> anyhow::Result<Value<'v>> {
    let function_field = function_field(spec);
    let given = given_arguments(spec, function_field, args, eval.heap())?;
    for (name, value) in &given {
        check_argument(spec, name, *value)?;
    }
    let ctx = LoadContext::of(eval)?;
    let info = DeclInfo {
        id: ctx.next_id(),
        spec: Arc::clone(spec),
        location: LoadContext::caller_location(eval),
    };
    let heap = eval.heap();
    // `connections` is kept as the list of connection declarations; bare
    // resources in it become `DependencyConnection`s below.
    let (connections, fields): (Vec<_>, Vec<_>) = given
        .into_iter()
        .partition(|(name, _)| name == "connections" && spec.kind == PluginKind::Resource);
    let defaulted = container_defaults(spec, &fields, heap);
    let (fields_dict, edges) = fields_and_edges(spec, &fields, &defaulted, heap);
    // `@PythonAssert(...)` above a `def` in `main.py`: the function is the
    // one that follows, bound when the project is collected.
    if let Some(field) = function_field
        && !fields.iter().any(|(name, _)| name == field)
        && let Some(function) = ctx
            .decorated
            .borrow()
            .get(&(info.location.file.clone(), info.location.line))
    {
        mark_decorated(edges, function, heap)?;
    }
    let id = info.id;
    let decl = heap.alloc(DeclGen {
        info: Arc::new(info),
        fields: fields_dict,
        edges,
    });
    crate::load::registry::register(eval, id, decl)?;
    for (_, list) in connections {
        let items: Vec<Value> = ListRef::from_value(list)
            .map(|l| l.iter().collect())
            .or_else(|| TupleRef::from_value(list).map(|t| t.iter().collect()))
            .unwrap_or_default();
        for target in items {
            attach_connection(decl, target, eval)?;
        }
    }
    Ok(decl)
}

/// The field a type takes a function in, if it has one.
fn function_field(spec: &TypeSpec) -> Option<&str> {
    spec.schema
        .fields
        .iter()
        .find(|f| spec.field_types.get(&f.name) == Some(&ValueType::Function))
        .map(|f| f.name.as_str())
}

/// The arguments of a call as (field, value): the keyword ones, after the
/// function when it was given positionally.
fn given_arguments<'v>(
    spec: &TypeSpec,
    function_field: Option<&str>,
    args: &Arguments<'v, '_>,
    heap: Heap<'v>,
) -> anyhow::Result<Vec<(String, Value<'v>)>> {
    let type_name = spec.name();
    let named = args.names_map().map_err(starlark::Error::into_anyhow)?;
    let positional: Vec<Value<'v>> = args
        .positions(heap)
        .map_err(starlark::Error::into_anyhow)?
        .collect();
    let mut given: Vec<(String, Value<'v>)> = named
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), *value))
        .collect();
    // A type with a function field takes the function positionally too:
    // `PythonAssert(api_is_healthy)`.
    match (positional.as_slice(), function_field) {
        ([], _) => {}
        ([function], Some(field)) => {
            if given.iter().any(|(name, _)| name == field) {
                anyhow::bail!(
                    "`{type_name}` got its function twice: positionally and as `{field}=`"
                );
            }
            given.insert(0, (field.to_string(), *function));
        }
        (_, Some(field)) => anyhow::bail!(
            "`{type_name}` takes one positional argument, the function (`{field}`); give the other fields by keyword"
        ),
        (_, None) => anyhow::bail!(
            "`{type_name}` takes keyword arguments only, e.g. `{type_name}({}=...)`",
            example_field(spec)
        ),
    }
    Ok(given)
}

/// Refuses an argument the type has no field for, or of the wrong type.
fn check_argument(spec: &TypeSpec, name: &str, value: Value) -> anyhow::Result<()> {
    let type_name = spec.name();
    let Some(ty) = spec.field_types.get(name) else {
        let hint = suggest::nearest(name, spec.schema.fields.iter().map(|f| f.name.as_str()))
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_else(|| {
                format!(
                    "; its fields are: {}",
                    spec.schema
                        .fields
                        .iter()
                        .map(|f| f.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
        anyhow::bail!("`{type_name}` has no field `{name}`{hint}");
    };
    if *ty == ValueType::Function {
        // Turned into a program when the project is collected.
        if value.get_type() != "function" {
            anyhow::bail!(
                "`{type_name}`: field `{name}` expects a function (a `def` or a `lambda`), got a {}",
                value.get_type()
            );
        }
        return Ok(());
    }
    let secret = spec.field(name).is_some_and(|f| f.secret);
    convert::check(name, ty, value, secret).map_err(|e| anyhow::anyhow!("`{type_name}`: {e}"))?;
    Ok(())
}

/// A container default (`env_vars={}`) is stored now, not when first
/// read, so that `x.env_vars["K"] = "v"` changes the declaration, and
/// fails loudly once a loaded file's declarations are frozen. Which
/// fields were defaulted is kept, so that collecting tells them from the
/// user's.
fn container_defaults<'v>(
    spec: &TypeSpec,
    fields: &[(String, Value<'v>)],
    heap: Heap<'v>,
) -> Vec<(String, Value<'v>)> {
    spec.schema
        .fields
        .iter()
        .filter(|f| !fields.iter().any(|(name, _)| name == &f.name))
        .filter(|f| !(f.name == "connections" && spec.kind == PluginKind::Resource))
        .filter_map(|f| {
            let default = f.default_value()?;
            (default.is_array() || default.is_object())
                .then(|| (f.name.clone(), convert::from_json(&default, heap)))
        })
        .collect()
}

/// The declaration's fields dict (what was given, then the container
/// defaults) and its edges dict, which names the defaulted fields.
fn fields_and_edges<'v>(
    spec: &TypeSpec,
    fields: &[(String, Value<'v>)],
    defaulted: &[(String, Value<'v>)],
    heap: Heap<'v>,
) -> (Value<'v>, Value<'v>) {
    let key = |name: &str| {
        spec.key(name)
            .map(|k| k.to_value())
            .unwrap_or_else(|| heap.alloc(name))
    };
    let fields_dict = heap.alloc(AllocDict(
        fields
            .iter()
            .map(|(name, value)| (key(name), *value))
            .chain(defaulted.iter().map(|(name, value)| (key(name), *value)))
            .collect::<Vec<_>>(),
    ));
    let defaulted_names = heap.alloc(AllocList(
        defaulted
            .iter()
            .map(|(name, _)| key(name))
            .collect::<Vec<_>>(),
    ));
    let edges = heap.alloc(AllocDict([(
        edge_key(DEFAULTED).to_value(),
        defaulted_names,
    )]));
    (fields_dict, edges)
}

/// Records in `edges` the `def` a `main.py` decorator applies to.
fn mark_decorated<'v>(edges: Value<'v>, function: &str, heap: Heap<'v>) -> anyhow::Result<()> {
    if let Ok(mut edges) = starlark::values::dict::DictMut::from_value(edges) {
        let key = heap.alloc(crate::load::value::DECORATES);
        let value = heap.alloc(function);
        edges.aref.insert_hashed(
            key.get_hashed().map_err(starlark::Error::into_anyhow)?,
            value,
        );
    }
    Ok(())
}

fn example_field(spec: &TypeSpec) -> &str {
    spec.schema
        .fields
        .iter()
        .find(|f| f.required)
        .or_else(|| {
            spec.schema
                .fields
                .iter()
                .find(|f| !matches!(f.name.as_str(), "name" | "description"))
        })
        .map(|f| f.name.as_str())
        .unwrap_or("name")
}
