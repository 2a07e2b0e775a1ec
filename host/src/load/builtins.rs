//! The global functions of `main.star` besides the constructors.

use std::fmt;

use allocative::Allocative;
use starlark::environment::GlobalsBuilder;
use starlark::eval::{Arguments, Evaluator};
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value, starlark_value,
};
use starlark::{starlark_module, starlark_simple_value};

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
                // Masked from the moment it is read: an error or a
                // `print()` of this very evaluation may quote it.
                if is_secret_name(name) {
                    crate::output::register_secrets([value.clone()]);
                    ctx.secrets.borrow_mut().push(value.clone());
                } else {
                    crate::output::register_env_values([value.clone()]);
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
                        crate::output::register_secrets([text.clone()]);
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

/// The builtins check functions use (`http.get`, `exec`, …). They exist
/// in the sandbox where checks run (`plugins/starlark-assertions`); here
/// they only let a project file that defines checks compile, and say so
/// when called while the project is evaluated.
pub const CHECK_BUILTINS: [&str; 10] = [
    "http", "tcp", "udp", "dns", "exec", "docker", "file", "re", "time", "sleep",
];

/// Adds the stand-ins for [`CHECK_BUILTINS`].
pub fn check_builtins(builder: &mut GlobalsBuilder) {
    for name in CHECK_BUILTINS {
        builder.set(
            name,
            CheckOnly {
                path: name.to_string(),
            },
        );
    }
}

/// A check builtin outside a check.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub struct CheckOnly {
    path: String,
}

starlark_simple_value!(CheckOnly);

impl fmt::Display for CheckOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<check builtin {}>", self.path)
    }
}

#[starlark_value(type = "check_builtin")]
impl<'v> StarlarkValue<'v> for CheckOnly {
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(CheckOnly {
            path: format!("{}.{attribute}", self.path),
        }))
    }

    fn invoke(
        &self,
        _me: Value<'v>,
        _args: &Arguments<'v, '_>,
        _eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        Err(starlark::Error::new_other(anyhow::anyhow!(
            "`{}` can only be used inside a check function: checks run in the sandbox at `clockwork assert`, not while the project is read",
            self.path
        )))
    }
}
