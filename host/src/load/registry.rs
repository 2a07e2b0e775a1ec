//! The registry of a module: every declaration made while its code runs,
//! by id, kept on the module itself so that a function of a loaded file
//! declares into the registry of the module that called it.

use starlark::environment::Module;
use starlark::eval::Evaluator;
use starlark::values::Value;
use starlark::values::dict::{AllocDict, DictMut};

/// Gives `module` an empty registry of the declarations made while it runs.
pub fn start_registry(module: &Module) {
    let heap = module.heap();
    module.set_extra_value(heap.alloc(AllocDict(std::iter::empty::<(Value, Value)>())));
}

/// Records a new declaration in the registry of the module being evaluated
/// (the one whose code runs: a function of a loaded file called from
/// `main.star` declares into `main.star`'s registry).
pub fn register<'v>(eval: &Evaluator<'v, '_, '_>, id: u32, decl: Value<'v>) -> anyhow::Result<()> {
    let registry = eval.module().extra_value().ok_or_else(|| {
        anyhow::anyhow!("internal error: no declaration registry (this is a bug in clockwork)")
    })?;
    let mut dict = DictMut::from_value(registry).map_err(|_| {
        anyhow::anyhow!(
            "internal error: the declaration registry is frozen (this is a bug in clockwork)"
        )
    })?;
    let key = eval.heap().alloc(id);
    dict.aref.insert_hashed(
        key.get_hashed().map_err(starlark::Error::into_anyhow)?,
        decl,
    );
    Ok(())
}
