//! The global functions of `main.star` besides the constructors.

use starlark::environment::GlobalsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::Value;

use crate::load::context::LoadContext;
use crate::secret::is_secret_name;

#[starlark_module]
pub fn clockwork_builtins(builder: &mut GlobalsBuilder) {
    /// Reads an environment variable, so secrets need not be written in
    /// the project: `password = env("DB_PASSWORD")`.
    ///
    /// The process environment wins over the project's `.env` file. A
    /// variable that is set in neither is an error unless `default` is
    /// given. Every value read from the environment or `.env` is masked in
    /// all output, and so is a default for a variable whose name looks
    /// secret (`*PASSWORD*`, `*TOKEN*`, `*_KEY`, …).
    fn env<'v>(
        #[starlark(require = pos)] name: &str,
        #[starlark(require = pos)] default: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<Value<'v>> {
        let ctx = LoadContext::of(eval)?;
        let value = std::env::var(name)
            .ok()
            .or_else(|| ctx.dotenv.get(name).cloned());
        match value {
            Some(value) => {
                if is_secret_name(name) {
                    ctx.secrets.borrow_mut().push(value.clone());
                } else {
                    ctx.env_values.borrow_mut().push(value.clone());
                }
                Ok(eval.heap().alloc(value))
            }
            None => match default {
                Some(default) => {
                    if is_secret_name(name) {
                        let text = default
                            .unpack_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| default.to_repr());
                        ctx.secrets.borrow_mut().push(text);
                    }
                    Ok(default)
                }
                None => anyhow::bail!(
                    "environment variable `{name}` is not set; set it, add it to `.env` in the project folder, or give a default: `env(\"{name}\", \"...\")`"
                ),
            },
        }
    }
}
