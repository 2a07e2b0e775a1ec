//! A user's check function as the host delivers it, and running it.
//!
//! The host sends the function as a *program* (a `function` field):
//!
//! ```json
//! {
//!   "$function": "api_health_is_json",
//!   "defined_at": "main.star:3",
//!   "entry": {"module": "main.star", "global": "api_health_is_json"},
//!   "modules": {
//!     "main.star": {
//!       "source": "<the file, with every top-level statement but load(), def and `name = lambda` blanked>",
//!       "globals": {"PORT": {"value": 8080}, "nginx": {"resource": "nginx-web"},
//!                   "cfg": {"unavailable": "a struct holding declarations"}}
//!     }
//!   },
//!   "resources": {"nginx-web": {"name": "nginx-web", "type": "DockerResource", "fields": {…}, …}}
//! }
//! ```
//!
//! Blanking keeps every byte offset, so line and column numbers in errors
//! are those of the user's file. Top-level values the functions use come
//! as `globals`, computed by the host when it evaluated the project: the
//! project's own code never runs again here, only the functions do.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use allocative::Allocative;
use clockwork_sdk::serde_json::{Map, Value as Json};
use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{BeforeStmtFunc, Evaluator, FileLoader};
use starlark::syntax::{AstModule, Dialect};
use starlark::values::{
    Heap, NoSerialize, ProvidesStaticType, StarlarkValue, Value, starlark_value,
};
use starlark::{starlark_simple_value, values::Trace};

use crate::json::to_starlark;
use crate::limits::{self, Bounds};
use crate::view::{ResourceView, ViewData};

/// The value of a `function` field, parsed.
#[derive(Debug)]
pub struct Program {
    /// The function's name (`lambda` for one).
    pub function: String,
    /// Where it is defined, `main.star:3`.
    pub defined_at: String,
    entry_module: String,
    entry: Entry,
    modules: BTreeMap<String, ModuleSource>,
    /// The declarations a check may look at, by name.
    pub resources: BTreeMap<String, Arc<ViewData>>,
}

/// How the function is found in its module.
#[derive(Debug)]
enum Entry {
    /// A top-level `def` or `name = lambda`.
    Global(String),
    /// A lambda written at (1-based) `line` and `column`.
    Lambda {
        line: usize,
        column: usize,
        source: String,
    },
}

#[derive(Debug)]
struct ModuleSource {
    source: String,
    globals: Map<String, Json>,
}

/// Why a program could not be read or run (not a verdict).
#[derive(Debug)]
pub enum ProgramError {
    /// The host sent something this plugin cannot read.
    Malformed(String),
    /// The program did not compile or the function failed to run: the
    /// Starlark error, located.
    Starlark(starlark::Error),
}

impl std::fmt::Display for ProgramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProgramError::Malformed(m) => f.write_str(m),
            ProgramError::Starlark(e) => write!(f, "{e}"),
        }
    }
}

impl Program {
    /// Reads a program; views are made for the check named `asked_by`.
    pub fn from_json(json: &Json) -> Result<Self, ProgramError> {
        let bad = |what: &str| ProgramError::Malformed(format!("the function field {what}"));
        let object = json.as_object().ok_or_else(|| bad("is not an object"))?;
        let text = |key: &str| object.get(key).and_then(Json::as_str).map(str::to_string);
        let function = text("$function").ok_or_else(|| bad("has no `$function`"))?;
        let entry = object
            .get("entry")
            .and_then(Json::as_object)
            .ok_or_else(|| bad("has no `entry`"))?;
        let entry_module = entry
            .get("module")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("entry has no `module`"))?
            .to_string();
        let entry = match (entry.get("global"), entry.get("lambda")) {
            (Some(Json::String(name)), _) => Entry::Global(name.clone()),
            (_, Some(lambda)) => Entry::Lambda {
                line: lambda.get("line").and_then(Json::as_u64).unwrap_or(1) as usize,
                column: lambda.get("column").and_then(Json::as_u64).unwrap_or(1) as usize,
                source: lambda
                    .get("source")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("lambda has no source"))?
                    .to_string(),
            },
            _ => return Err(bad("entry has neither `global` nor `lambda`")),
        };
        let mut modules = BTreeMap::new();
        for (path, module) in object
            .get("modules")
            .and_then(Json::as_object)
            .ok_or_else(|| bad("has no `modules`"))?
        {
            let source = module
                .get("source")
                .and_then(Json::as_str)
                .ok_or_else(|| bad(&format!("module `{path}` has no source")))?
                .to_string();
            let globals = module
                .get("globals")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            modules.insert(path.clone(), ModuleSource { source, globals });
        }
        if !modules.contains_key(&entry_module) {
            return Err(bad(&format!("has no module `{entry_module}`")));
        }
        let mut resources = BTreeMap::new();
        if let Some(views) = object.get("resources").and_then(Json::as_object) {
            for (name, view) in views {
                let data = ViewData::from_json(view, &function).map_err(ProgramError::Malformed)?;
                resources.insert(name.clone(), Arc::new(data));
            }
        }
        Ok(Program {
            defined_at: text("defined_at").unwrap_or_else(|| entry_module.clone()),
            function,
            entry_module,
            entry,
            modules,
            resources,
        })
    }

    /// The function as users name it in messages: `` `f` (main.star:3) ``.
    pub fn title(&self) -> String {
        format!("`{}` ({})", self.function, self.defined_at)
    }

    /// Calls the function with `args` (resource names, turned into views)
    /// and hands its return value to `judge` while it is alive.
    pub fn call<R>(
        &self,
        args: &[Option<&str>],
        bounds: Bounds,
        judge: impl for<'v> FnOnce(Value<'v>) -> R,
    ) -> Result<R, ProgramError> {
        let _counting = limits::start(&bounds);
        let loader = Loader::new(self, bounds);
        Module::with_temp_heap(|module| {
            self.evaluate(&module, &self.entry_module, &loader, bounds)?;
            let function = self.function(&module, &loader, bounds)?;
            let heap = module.heap();
            let mut values = Vec::new();
            for name in args {
                values.push(match name {
                    Some(name) => self.view(name, heap)?,
                    None => heap.alloc(starlark::values::none::NoneType),
                });
            }
            let mut eval = Evaluator::new(&module);
            eval.set_loader(&loader);
            configure(&mut eval, bounds);
            let result = eval
                .eval_function(function, &values, &[])
                .map_err(ProgramError::Starlark)?;
            Ok(judge(result))
        })
    }

    /// The function, from the evaluated entry module.
    fn function<'v>(
        &self,
        module: &Module<'v>,
        loader: &Loader,
        bounds: Bounds,
    ) -> Result<Value<'v>, ProgramError> {
        match &self.entry {
            Entry::Global(name) => module.get(name).ok_or_else(|| {
                ProgramError::Malformed(format!(
                    "`{name}` is not defined at the top level of {}",
                    self.entry_module
                ))
            }),
            Entry::Lambda {
                line,
                column,
                source,
            } => {
                // The lambda's text at its place, so that errors in it
                // point into the user's file.
                let text = placed(*line, *column, source);
                let ast = AstModule::parse(&self.entry_module, text, &dialect())
                    .map_err(ProgramError::Starlark)?;
                let mut eval = Evaluator::new(module);
                eval.set_loader(loader);
                configure(&mut eval, bounds);
                eval.eval_module(ast, globals())
                    .map_err(ProgramError::Starlark)
            }
        }
    }

    fn view<'v>(&self, name: &str, heap: Heap<'v>) -> Result<Value<'v>, ProgramError> {
        let data = self
            .resources
            .get(name)
            .ok_or_else(|| ProgramError::Malformed(format!("the host sent no view of `{name}`")))?;
        Ok(heap.alloc(ResourceView::new(Arc::clone(data))))
    }

    /// Runs the (blanked) module `path` into `module`: its globals first,
    /// then its `load()`s, `def`s and lambdas.
    fn evaluate<'v>(
        &self,
        module: &Module<'v>,
        path: &str,
        loader: &Loader,
        bounds: Bounds,
    ) -> Result<(), ProgramError> {
        let source = self
            .modules
            .get(path)
            .ok_or_else(|| ProgramError::Malformed(format!("the host sent no module `{path}`")))?;
        let heap = module.heap();
        for (name, global) in &source.globals {
            let value = self.global(name, path, global, heap)?;
            module.set(name, value);
        }
        let ast = AstModule::parse(path, source.source.clone(), &dialect())
            .map_err(ProgramError::Starlark)?;
        let mut eval = Evaluator::new(module);
        eval.set_loader(loader);
        configure(&mut eval, bounds);
        eval.eval_module(ast, globals())
            .map_err(ProgramError::Starlark)?;
        Ok(())
    }

    fn global<'v>(
        &self,
        name: &str,
        path: &str,
        global: &Json,
        heap: Heap<'v>,
    ) -> Result<Value<'v>, ProgramError> {
        if let Some(value) = global.get("value") {
            return Ok(to_starlark(value, heap));
        }
        if let Some(resource) = global.get("resource").and_then(Json::as_str) {
            // A declaration the check was not given a view of is as
            // unavailable as any other value that is not data.
            if self.resources.contains_key(resource) {
                return self.view(resource, heap);
            }
            return Ok(heap.alloc(Unavailable {
                name: name.to_string(),
                module: path.to_string(),
                why: format!("the declaration `{resource}` is not known to this check"),
            }));
        }
        let why = global
            .get("unavailable")
            .and_then(Json::as_str)
            .unwrap_or("it is not data")
            .to_string();
        Ok(heap.alloc(Unavailable {
            name: name.to_string(),
            module: path.to_string(),
            why,
        }))
    }
}

/// `source` (an expression) parenthesised so that it starts at `line`
/// and `column` (1-based) of the text.
fn placed(line: usize, column: usize, source: &str) -> String {
    let line = line.max(1);
    if column >= 2 {
        format!(
            "{}({}{source})",
            "\n".repeat(line - 1),
            " ".repeat(column - 2)
        )
    } else if line >= 2 {
        format!("{}(\n{source})", "\n".repeat(line - 2))
    } else {
        format!("({source})")
    }
}

/// The same dialect the host evaluates projects with.
fn dialect() -> Dialect {
    Dialect {
        enable_f_strings: true,
        enable_top_level_stmt: true,
        ..Dialect::Extended
    }
}

/// Deep recursion is reported by Starlark well before the wasm stack ends.
const MAX_CALL_DEPTH: usize = 40;

fn configure(eval: &mut Evaluator, bounds: Bounds) {
    // Only fails when set twice.
    let _ = eval.set_max_callstack_size(MAX_CALL_DEPTH);
    eval.set_print_handler(&Printer);
    eval.before_stmt_for_dap(BeforeStmtFunc::from_dyn(Box::new(limits::Hook::new(
        bounds,
    ))));
}

/// `print()` in a check goes to the host's log (masked, shown with
/// `--verbose`), never to the report.
struct Printer;

impl starlark::PrintHandler for Printer {
    fn println(&self, text: &str) -> starlark::Result<()> {
        clockwork_sdk::host::log::log(
            clockwork_sdk::host::log::Level::Info,
            &format!("print: {text}"),
            &[],
        );
        Ok(())
    }
}

/// The standard library, Starlark's `json`, `struct`, …, and the check
/// builtins; built once per instance.
fn globals() -> &'static Globals {
    static GLOBALS: OnceLock<Globals> = OnceLock::new();
    GLOBALS.get_or_init(|| {
        GlobalsBuilder::extended_by(&[
            LibraryExtension::StructType,
            LibraryExtension::Map,
            LibraryExtension::Filter,
            LibraryExtension::Partial,
            LibraryExtension::Json,
            LibraryExtension::Typing,
            LibraryExtension::SetType,
            LibraryExtension::Print,
        ])
        .with(crate::builtins::register)
        .build()
    })
}

/// Resolves `load()` among the program's modules.
struct Loader<'a> {
    program: &'a Program,
    bounds: Bounds,
    done: RefCell<HashMap<String, FrozenModule>>,
    loading: RefCell<Vec<String>>,
}

impl<'a> Loader<'a> {
    fn new(program: &'a Program, bounds: Bounds) -> Self {
        Loader {
            program,
            bounds,
            done: RefCell::new(HashMap::new()),
            loading: RefCell::new(Vec::new()),
        }
    }
}

/// `//lib.star`, `./lib.star` and `lib.star` name the same file, as in
/// the host.
fn normalise(path: &str) -> String {
    let trimmed = path.trim_start_matches("//").trim_start_matches(':');
    trimmed
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl FileLoader for Loader<'_> {
    fn load(&self, path: &str) -> starlark::Result<FrozenModule> {
        let path = normalise(path);
        if let Some(done) = self.done.borrow().get(&path) {
            return Ok(done.clone());
        }
        if self.loading.borrow().contains(&path) {
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "`load()` cycle at `{path}`"
            )));
        }
        self.loading.borrow_mut().push(path.clone());
        let result = Module::with_temp_heap(|module| {
            match self.program.evaluate(&module, &path, self, self.bounds) {
                Ok(()) => {}
                Err(ProgramError::Starlark(e)) => return Err(e),
                Err(ProgramError::Malformed(m)) => {
                    return Err(starlark::Error::new_other(anyhow::anyhow!(m)));
                }
            }
            module
                .freeze()
                .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("{e:?}")))
        });
        self.loading.borrow_mut().pop();
        let frozen = result?;
        self.done.borrow_mut().insert(path, frozen.clone());
        Ok(frozen)
    }
}

/// A top-level value of the user's file that checks cannot have (a
/// function's closure, a struct holding declarations): using it says so.
#[derive(Debug, Clone, ProvidesStaticType, NoSerialize, Allocative, Trace)]
pub struct Unavailable {
    name: String,
    module: String,
    why: String,
}

starlark_simple_value!(Unavailable);

impl Unavailable {
    /// Why it cannot be used, as one line.
    pub fn message(&self) -> String {
        format!(
            "`{}` (a top-level value of {}) is not available to checks: {}; pass what the check needs as data, or read it from the resource",
            self.name, self.module, self.why
        )
    }

    fn error(&self) -> starlark::Error {
        starlark::Error::new_other(anyhow::anyhow!(self.message()))
    }
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<unavailable {}>", self.name)
    }
}

#[starlark_value(type = "unavailable")]
impl<'v> StarlarkValue<'v> for Unavailable {
    // `cfg.web` is as unavailable as `cfg`, and says so when used.
    fn get_attr(&self, attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Unavailable {
            name: format!("{}.{attribute}", self.name),
            module: self.module.clone(),
            why: self.why.clone(),
        }))
    }

    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        false
    }

    fn invoke(
        &self,
        _me: Value<'v>,
        _args: &starlark::eval::Arguments<'v, '_>,
        _eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        Err(self.error())
    }

    fn at(&self, _index: Value<'v>, _heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Err(self.error())
    }

    fn to_bool(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_lambda_starts_where_it_was_written() {
        let text = placed(3, 14, "lambda r: True");
        let at = text.find("lambda").expect("there");
        let before = &text[..at];
        assert_eq!(before.matches('\n').count(), 2);
        assert_eq!(before.len() - before.rfind('\n').map_or(0, |i| i + 1), 13);
        let text = placed(2, 1, "lambda r: True");
        assert!(text.starts_with("(\nlambda"));
    }
}
