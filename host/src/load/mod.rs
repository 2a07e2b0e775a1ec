//! `main.star` → `Declared`: evaluate the project file with a constructor
//! per plugin type, collect the declarations, and have each plugin
//! validate its own.
//!
//! The project file is `main.star`, or `main.py` when there is none (the
//! same Starlark; its `from clockwork… import …` lines are checked and
//! blanked). `load("lib.star", "name")` reads other files of the project.

mod builtins;
mod collect;
mod constructor;
mod context;
mod convert;
mod error;
mod function;
pub mod limits;
mod naming;
mod registry;
mod source;
#[cfg(test)]
mod tests;
mod types;
mod validate;
mod value;

pub use crate::model::Located;
pub use context::read_dotenv as dotenv;
pub use error::{LoadError, LoadReport};
pub use function::program_from_source;
pub use source::PROJECT_FILES;
pub use types::TypeRegistry;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::plugin::bindings::types::Diagnostic;

use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{BeforeStmtFunc, Evaluator, FileLoader};
use starlark::syntax::{AstModule, Dialect};

use crate::load::constructor::Constructor;
use crate::load::context::LoadContext;
use crate::model::{DeclId, Declared, Location};
use crate::plugin::{PluginKind, PluginSet};

/// Loads the project in `dir`: evaluates its file and validates every
/// declaration with its plugin. Every problem found is reported, not only
/// the first.
pub async fn load(
    folder: &crate::project::Project,
    plugins: &PluginSet,
) -> Result<(Declared, Sources), LoadError> {
    let registry = Arc::new(TypeRegistry::from_plugins(plugins));
    let started = std::time::Instant::now();
    let (project, sources, mut problems) = evaluate(folder, registry)?;
    // What the project file loads is the project's own: never written.
    folder
        .files
        .protect_loaded(sources.keys().map(PathBuf::from));
    crate::output::Timings::since(started).note(&format!(
        "evaluate and collect took {} ms",
        started.elapsed().as_millis()
    ));
    // Plugins validate even when the project has other problems, so that
    // one run reports everything.
    let flagged: Vec<Location> = problems.iter().map(|p| p.location.clone()).collect();
    let project = match validate::validate(project, plugins, &sources, &flagged).await {
        Ok(project) if problems.is_empty() => return Ok((project, sources)),
        Ok(_) => problems,
        Err(LoadError::Located(more)) => {
            problems.extend(more);
            problems
        }
        Err(other) => return Err(other),
    };
    let mut problems = project;
    problems.sort_by(|a, b| {
        (a.location.file.clone(), a.location.line, a.location.column).cmp(&(
            b.location.file.clone(),
            b.location.line,
            b.location.column,
        ))
    });
    problems.dedup_by(|a, b| a.message == b.message && a.location == b.location);
    Err(LoadError::Located(problems))
}

/// The text of every project file read, by its project-relative name, for
/// snippets in messages.
pub type Sources = HashMap<String, Arc<String>>;

/// Evaluates the project file within the project's limits; returns the
/// project and the text of every file read (for snippets in later errors).
/// Every secret seen (values read with `env()`) is registered for masking,
/// whatever the outcome, before any message can quote it.
pub fn evaluate(
    folder: &crate::project::Project,
    registry: Arc<TypeRegistry>,
) -> Result<(Declared, Sources, Vec<Located>), LoadError> {
    let files = &folder.files;
    let file = source::project_file(files)?;
    let text = match source::read_text(files, &file) {
        Ok(text) => text,
        Err(source::ReadError::NotUtf8(located)) => {
            return Err(LoadError::Located(vec![*located]));
        }
        Err(source::ReadError::Path(e)) => {
            return Err(LoadError::ProjectFile {
                path: file.clone(),
                problem: format!("cannot be read: {e}"),
                help: None,
            });
        }
    };
    let display = file.display().to_string();
    let original = Arc::new(text.clone());
    let text = source::accept_imports(&file, &text, &registry)?;
    let (text, decorated) = if file.extension().is_some_and(|e| e == "py") {
        source::rewrite_decorators(&file, &text, &registry)?
    } else {
        (text, Default::default())
    };
    let globals = globals(&registry);
    let ctx = LoadContext::new(Arc::clone(&registry), files, &folder.identity.name)
        .map_err(|l| LoadError::Located(vec![*l]))?;
    *ctx.decorated.borrow_mut() = decorated
        .into_iter()
        .map(|(line, function)| ((file.clone(), line), function))
        .collect();
    let limits = folder.config.limits.evaluation();
    let (bounds, counting) = limits::start(limits, &display);
    let loader = ProjectLoader {
        files,
        globals: &globals,
        ctx: &ctx,
        bounds,
        loading: RefCell::new(vec![file.clone()]),
        done: RefCell::new(HashMap::new()),
        sources: RefCell::new(HashMap::from([(display.clone(), Arc::clone(&original))])),
        evaluated: RefCell::new(HashMap::from([(display.clone(), Arc::new(text.clone()))])),
        failures: RefCell::new(Vec::new()),
        printed: RefCell::new(Vec::new()),
    };
    Module::with_temp_heap(|module| {
        let outcome = run(&module, &display, text, &loader);
        drop(counting);
        crate::output::register_secrets(ctx.secrets.borrow().iter().cloned());
        crate::output::register_env_values(ctx.env_values.borrow().iter().cloned());
        let sources = loader.sources.borrow().clone();
        match outcome {
            Ok(()) => {
                let loaded: HashMap<String, FrozenModule> = loader
                    .done
                    .borrow()
                    .iter()
                    .map(|(path, m)| (path.display().to_string(), m.clone()))
                    .collect();
                let texts = loader.evaluated.borrow().clone();
                let (project, problems) =
                    collect::collect(&module, &loaded, &texts, &ctx, &file, &sources);
                crate::output::register_secrets(project.secrets.iter().cloned());
                flush_prints(&loader.printed);
                Ok((project, sources, problems))
            }
            Err(error) => {
                flush_prints(&loader.printed);
                if let Some(exceeded) = limits::exceeded_by(&error) {
                    return Err(LoadError::Located(vec![limit_problem(
                        exceeded, &limits, &sources,
                    )]));
                }
                // A failure inside a loaded file is reported where it
                // happened, not at the `load()` that read it.
                let mut located = loader.failures.borrow().clone();
                if located.is_empty() {
                    located.push(error::from_starlark(&error, &|f| sources.get(f).cloned()));
                }
                Err(LoadError::Located(located))
            }
        }
    })
}

/// A limit exceeded, located at the statement the evaluation was on.
fn limit_problem(
    exceeded: limits::Exceeded,
    bounds: &crate::project::EvaluationLimits,
    sources: &Sources,
) -> Located {
    let (message, help) = limits::message(exceeded, bounds);
    let location = limits::last_statement().unwrap_or(Location {
        file: PathBuf::from(PROJECT_FILES[0]),
        line: 1,
        column: 1,
        offset: 0,
        len: 0,
    });
    Located {
        message,
        source: sources.get(&location.file.display().to_string()).cloned(),
        location,
        help: Some(help),
        called_from: Vec::new(),
    }
}

/// The Starlark dialect of project files (and of the checks' sandbox).
pub(crate) fn dialect() -> Dialect {
    Dialect {
        enable_f_strings: true,
        enable_top_level_stmt: true,
        ..Dialect::Extended
    }
}

fn run<'v>(
    module: &Module<'v>,
    file: &str,
    text: String,
    loader: &ProjectLoader,
) -> starlark::Result<()> {
    let ast = AstModule::parse(file, text, &dialect())?;
    let printer = Printer(&loader.printed);
    // Every declaration made while this module runs is kept here, so none
    // is lost for not being bound to a variable.
    registry::start_registry(module);
    let mut eval = Evaluator::new(module);
    eval.extra = Some(loader.ctx);
    eval.set_loader(loader);
    eval.set_print_handler(&printer);
    eval.before_stmt_for_dap(BeforeStmtFunc::from_dyn(Box::new(limits::Hook::new(
        loader.bounds,
    ))));
    eval.eval_module(ast, loader.globals)?;
    Ok(())
}

/// The standard library plus `struct`, `json`, `print`, …, `env()`, and
/// one constructor per type.
fn globals(registry: &TypeRegistry) -> Globals {
    GlobalsBuilder::extended_by(&[
        LibraryExtension::StructType,
        LibraryExtension::Map,
        LibraryExtension::Filter,
        LibraryExtension::Partial,
        LibraryExtension::Print,
        LibraryExtension::Json,
        LibraryExtension::Typing,
        LibraryExtension::SetType,
    ])
    .with(builtins::clockwork_builtins)
    .with(builtins::check_builtins)
    .with(|builder| {
        for spec in registry.iter() {
            builder.set(spec.name(), Constructor::new(Arc::clone(spec)));
        }
    })
    .build()
}

/// `print()` in a project file goes to stderr, prefixed, so it never mixes
/// with `plan --json` on stdout. The lines are held until the evaluation
/// ends and every secret it met is known to the masker: `print(password)`
/// on the line before the declaration that makes it a secret is masked too.
struct Printer<'a>(&'a RefCell<Vec<String>>);

impl starlark::PrintHandler for Printer<'_> {
    fn println(&self, text: &str) -> starlark::Result<()> {
        self.0.borrow_mut().push(text.to_string());
        Ok(())
    }
}

/// Prints what `print()` was given, masked with every secret known now.
fn flush_prints(printed: &RefCell<Vec<String>>) {
    for text in printed.borrow_mut().drain(..) {
        crate::output::note(&format!("print: {text}"));
    }
}

/// Resolves `load()` inside the project folder.
struct ProjectLoader<'a> {
    files: &'a crate::project::ProjectDir,
    globals: &'a Globals,
    ctx: &'a LoadContext,
    bounds: limits::Bounds,
    loading: RefCell<Vec<PathBuf>>,
    done: RefCell<HashMap<PathBuf, FrozenModule>>,
    sources: RefCell<HashMap<String, Arc<String>>>,
    /// The text each file was evaluated from, for the programs of check
    /// functions (`function.rs`).
    evaluated: RefCell<HashMap<String, Arc<String>>>,
    failures: RefCell<Vec<Located>>,
    /// What `print()` was given, printed once the evaluation ended.
    printed: RefCell<Vec<String>>,
}

impl FileLoader for ProjectLoader<'_> {
    fn load(&self, path: &str) -> starlark::Result<FrozenModule> {
        let relative =
            project_relative(path).map_err(|e| starlark::Error::new_other(anyhow::anyhow!(e)))?;
        if let Some(module) = self.done.borrow().get(&relative) {
            return Ok(module.clone());
        }
        if self.loading.borrow().contains(&relative) {
            let chain: Vec<String> = self
                .loading
                .borrow()
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            return Err(starlark::Error::new_other(anyhow::anyhow!(
                "`load()` cycle: {} → {}",
                chain.join(" → "),
                relative.display()
            )));
        }
        let text = source::read_text(self.files, &relative).map_err(|e| {
            let why = match e {
                source::ReadError::Path(e) if e.is_not_found() => format!(
                    "no such file in the project ({})",
                    self.files.root().join(&relative).display()
                ),
                source::ReadError::Path(e) => e.to_string(),
                source::ReadError::NotUtf8(l) => format!("{}: {}", l.location, l.message),
            };
            starlark::Error::new_other(anyhow::anyhow!("`load(\"{path}\")`: {why}"))
        })?;
        let display = relative.display().to_string();
        self.sources
            .borrow_mut()
            .insert(display.clone(), Arc::new(text.clone()));
        self.evaluated
            .borrow_mut()
            .insert(display.clone(), Arc::new(text.clone()));
        self.loading.borrow_mut().push(relative.clone());
        let result = Module::with_temp_heap(|module| {
            run(&module, &display, text, self)?;
            module
                .freeze()
                .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("{e:?}")))
        });
        self.loading.borrow_mut().pop();
        match result {
            Ok(frozen) => {
                self.done.borrow_mut().insert(relative, frozen.clone());
                Ok(frozen)
            }
            Err(e) => {
                if self.failures.borrow().is_empty() {
                    let sources = self.sources.borrow().clone();
                    self.failures
                        .borrow_mut()
                        .push(error::from_starlark(&e, &|f| sources.get(f).cloned()));
                }
                Err(e)
            }
        }
    }
}

/// A `load()` path as a path inside the project: `lib.star`, `//lib.star`
/// and `./lib.star` all mean the file next to `main.star`. Absolute paths
/// and `..` that leave the project are refused.
pub(crate) fn project_relative(path: &str) -> Result<PathBuf, String> {
    let trimmed = path.trim_start_matches("//").trim_start_matches(':');
    let p = Path::new(trimmed);
    if p.is_absolute() {
        return Err(format!(
            "`load(\"{path}\")`: paths are relative to the project folder"
        ));
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return Err(format!("`load(\"{path}\")` leaves the project folder")),
        }
    }
    if out.extension().is_none_or(|e| e != "star") {
        return Err(format!(
            "`load(\"{path}\")`: only `.star` files can be loaded"
        ));
    }
    Ok(out)
}

/// A plugin's diagnostics about `d`, located at it: (errors, warnings).
pub fn located(
    d: &crate::model::Declaration,
    source: Option<Arc<String>>,
    diagnostics: Vec<Diagnostic>,
) -> (Vec<Located>, Vec<Located>) {
    use crate::plugin::bindings::types::Severity;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for diag in diagnostics {
        // The field is named once: not again when the plugin's message
        // starts with it.
        let field = diag
            .path
            .as_deref()
            .map(|p| format!("`{}`", field_path(p)))
            .filter(|f| !diag.summary.starts_with(f.as_str()))
            .map(|f| format!("{f}: "))
            .unwrap_or_default();
        let located = Located {
            message: format!("`{}` ({}): {field}{}", d.name, d.type_name, diag.summary),
            location: d.location.clone(),
            help: diag.detail.clone(),
            source: source.clone(),
            called_from: Vec::new(),
        };
        if diag.severity == Severity::Warning {
            warnings.push(located);
        } else {
            errors.push(located);
        }
    }
    (errors, warnings)
}

/// A JSON Pointer into a config as the user would index it:
/// `/ports/1` → `ports[1]`, `/env_vars/PORT` → `env_vars["PORT"]`.
pub fn field_path(pointer: &str) -> String {
    crate::model::FieldPath::from_pointer(pointer).indexed()
}

/// Fields that hold edges rather than values: kept out of `fields` and
/// `config`, represented by the declaration's edges.
pub fn structural_fields(kind: PluginKind) -> &'static [&'static str] {
    match kind {
        PluginKind::Resource => &["connections", "assertions"],
        PluginKind::Connection => &["to_resource"],
        PluginKind::Assertion => &[],
    }
}

/// The resources of a project in declaration order (for callers that only
/// need them).
pub fn resources(project: &Declared) -> impl Iterator<Item = DeclId> + '_ {
    project.of_kind(PluginKind::Resource).map(|d| d.id)
}
