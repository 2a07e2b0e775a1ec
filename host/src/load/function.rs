//! A Starlark function given to a `function` field (`PythonAssert(check)`),
//! turned into the program a plugin receives.
//!
//! The user's function never runs in the host. What a plugin gets instead
//! is the source it needs: the file defining the function and every file
//! that one loads, each *blanked* — every top-level statement other than
//! `load()`, `def` and `name = lambda …` replaced by spaces, byte for byte,
//! so that lines and columns stay those of the user's file — and the
//! top-level values of those files as data (computed here, when the project
//! was evaluated): plain values as they are, declarations by name, anything
//! else marked unavailable. The project's own code thus never runs again;
//! only functions do, inside the plugin's sandbox.
//!
//! ```json
//! {"$function": "api_is_up", "defined_at": "main.star:3",
//!  "entry": {"module": "main.star", "global": "api_is_up"},
//!  "modules": {"main.star": {"source": "…", "globals": {"PORT": {"value": 8080}}}}}
//! ```
//!
//! A lambda's entry is `{"module", "lambda": {"line", "column", "source"}}`
//! instead: the plugin evaluates its text at that position of the module.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value as Json, json};
use starlark::environment::{FrozenModule, Module};
use starlark::syntax::AstModule;
use starlark::values::Value;
use starlark_syntax::codemap::Span;
use starlark_syntax::syntax::ast::{
    ArgumentP, AssignTargetP, AstExpr, AstNoPayload, AstStmt, ClauseP, ExprP, StmtP,
};
use starlark_syntax::syntax::uniplate::Visit;

use crate::load::convert;
use crate::load::value::Decl;
use crate::model::Location;

/// The modules of an evaluated project, for building programs.
pub struct Modules<'a, 'v> {
    /// The project file's name, e.g. `main.star`.
    pub main: String,
    /// Its module, still alive.
    pub main_module: &'a Module<'v>,
    /// Every loaded file's module, by project-relative name.
    pub loaded: &'a HashMap<String, FrozenModule>,
    /// The text each file was evaluated from (for `main.py`, with its
    /// import lines blanked), by name.
    pub texts: &'a HashMap<String, Arc<String>>,
    /// Names of declarations by creation id.
    pub names: HashMap<u32, String>,
    /// Globals of project files that checks do not have (the constructors,
    /// `env`): a helper `def` using one must still compile in the sandbox,
    /// and says what it is when called there.
    pub host_only: Vec<String>,
    /// Modules already built for a program, by name.
    pub built: std::cell::RefCell<HashMap<String, (Json, Vec<String>)>>,
    /// Every word of the kept code of every file: a global no kept code
    /// names is not handed over (a check's cost grows with what it is
    /// given, and most top-level values are the declarations themselves).
    pub words: std::cell::OnceCell<BTreeSet<String>>,
}

/// The largest top-level value handed to checks, as JSON; a larger one is
/// unavailable to them (and says why), so that a program stays small
/// however many checks carry it.
const GLOBAL_BYTES: usize = 256 << 10;

/// Why a function cannot be handed to a plugin.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotAProgram(pub String);

/// Where the function a field holds comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A top-level `def` (or `name = lambda`) of `module`, by name.
    Global { module: String, name: String },
    /// A lambda written at `span` of `module`.
    Lambda { module: String, span: Span },
}

impl Modules<'_, '_> {
    /// The program for `function`, given to field `field` (or as the
    /// positional argument) of the constructor called at `call`.
    pub fn program(
        &self,
        function: Value,
        field: &str,
        call: &Location,
    ) -> Result<Json, NotAProgram> {
        let entry = self.entry(function, field, call)?;
        self.build(entry)
    }

    /// The program for the top-level function `name` of `module` (what a
    /// `main.py` decorator decorates).
    pub fn program_of_def(&self, module: &str, name: &str) -> Result<Json, NotAProgram> {
        let Some(entry) = self.with_global(module, name, |value| {
            let value = value?;
            self.definition(module, name, value, 0).ok()
        }) else {
            return Err(NotAProgram(format!(
                "the decorated function `{name}` is not defined at the top level of {module}"
            )));
        };
        self.build(entry)
    }

    fn build(&self, entry: Entry) -> Result<Json, NotAProgram> {
        let (module, function_name, defined_at, entry_json) = match &entry {
            Entry::Global { module, name } => {
                let at = self
                    .ast(module)
                    .and_then(|ast| {
                        top_level(&ast)
                            .into_iter()
                            .find(|s| defines(s, name))
                            .map(|s| ast.file_span(s.span).resolve_span().begin.line + 1)
                    })
                    .map(|line| format!("{module}:{line}"))
                    .unwrap_or_else(|| module.clone());
                // The name as written: the value's own name carries its
                // module (`main.star.check`).
                let shown = name.clone();
                (
                    module.clone(),
                    shown,
                    at,
                    json!({"module": module, "global": name}),
                )
            }
            Entry::Lambda { module, span } => {
                let ast = self
                    .ast(module)
                    .ok_or_else(|| NotAProgram(format!("cannot read `{module}` again")))?;
                let resolved = ast.file_span(*span).resolve_span();
                let text = self.text(module).unwrap_or_default();
                let source = text
                    .get(span.begin().get() as usize..span.end().get() as usize)
                    .unwrap_or_default()
                    .to_string();
                (
                    module.clone(),
                    "lambda".to_string(),
                    format!("{module}:{}", resolved.begin.line + 1),
                    json!({"module": module, "lambda": {
                        "line": resolved.begin.line + 1,
                        "column": resolved.begin.column + 1,
                        "source": source,
                    }}),
                )
            }
        };
        let mut modules = Map::new();
        let mut pending = vec![module];
        let mut seen = BTreeSet::new();
        while let Some(path) = pending.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let (module, loads) = self.module(&path)?;
            pending.extend(loads);
            modules.insert(path.clone(), module);
        }
        Ok(json!({
            "$function": function_name,
            "defined_at": defined_at,
            "entry": entry_json,
            "modules": modules,
        }))
    }

    /// A module as programs carry it (its blanked source and globals) and
    /// the modules it loads; built once per module, however many checks
    /// need it.
    fn module(&self, path: &str) -> Result<(Json, Vec<String>), NotAProgram> {
        if let Some(done) = self.built.borrow().get(path) {
            return Ok(done.clone());
        }
        let Some(ast) = self.ast(path) else {
            return Err(NotAProgram(format!("cannot read `{path}` again")));
        };
        let text = self.text(path).unwrap_or_default();
        let loads = ast
            .loads()
            .iter()
            .map(|l| module_name(l.module_id))
            .collect();
        let built = (
            json!({
                "source": blanked(&ast, &text),
                "globals": self.globals(path, &ast),
            }),
            loads,
        );
        self.built
            .borrow_mut()
            .insert(path.to_string(), built.clone());
        Ok(built)
    }

    /// The words of the kept code of every file of the project.
    fn words(&self) -> &BTreeSet<String> {
        self.words.get_or_init(|| {
            let mut words = BTreeSet::new();
            for (path, text) in self.texts {
                let Ok(ast) = AstModule::parse(path, text.to_string(), &crate::load::dialect())
                else {
                    continue;
                };
                let kept = blanked(&ast, text);
                words.extend(
                    kept.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .filter(|w| !w.is_empty())
                        .map(str::to_string),
                );
                // A lambda in a blanked statement (`PythonAssert(lambda r:
                // r.port == PORT)`) is a check too.
                let mut read = Vec::new();
                ast.statement()
                    .visit_expr(|e| lambda_identifiers(e, &mut read));
                words.extend(read);
            }
            words
        })
    }

    fn text(&self, module: &str) -> Option<Arc<String>> {
        self.texts.get(module).cloned()
    }

    fn ast(&self, module: &str) -> Option<AstModule> {
        let text = self.text(module)?;
        AstModule::parse(module, text.to_string(), &crate::load::dialect()).ok()
    }

    /// A module's global `name`, handed to `f` while it is alive.
    fn with_global<R>(&self, module: &str, name: &str, f: impl FnOnce(Option<Value>) -> R) -> R {
        if module == self.main {
            return f(self.main_module.get(name));
        }
        match self
            .loaded
            .get(module)
            .and_then(|m| m.get_option(name).ok().flatten())
        {
            Some(owned) => f(Some(owned.value())),
            None => f(None),
        }
    }

    fn entry(&self, function: Value, field: &str, call: &Location) -> Result<Entry, NotAProgram> {
        if function.get_type() != "function" {
            return Err(NotAProgram(format!(
                "field `{field}` expects a function (a `def` or a `lambda`), got a {}",
                function.get_type()
            )));
        }
        let file = call.file.display().to_string();
        let ast = self
            .ast(&file)
            .ok_or_else(|| NotAProgram(format!("cannot read `{file}` again")))?;
        let begin = call.offset as u32;
        let end = begin + call.len as u32;
        let found = find_call(ast.statement(), begin, end);
        let argument = found.as_ref().and_then(|f| argument_of(f.args, field));
        if let Some(lambda) = argument.filter(|a| matches!(a.node, ExprP::Lambda(_))) {
            let closed_over = captured(lambda, found.as_ref().map_or(&[][..], |f| &f.locals));
            if !closed_over.is_empty() {
                return Err(NotAProgram(format!(
                    "this lambda uses {} of the function or loop around it, which the sandbox cannot have: a check sees only the top level of its file; make it a top-level `def` and read what it needs from the resource or from top-level values",
                    closed_over
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            return Ok(Entry::Lambda {
                module: file,
                span: lambda.span,
            });
        }
        // A name: look for the top-level definition the value came from,
        // here or in the file it was loaded from.
        let name = match argument.map(|a| &a.node) {
            Some(ExprP::Identifier(id)) => id.node.ident.clone(),
            _ => function.to_str(),
        };
        let defined = self.definition(&file, &name, function, 0)?;
        Ok(defined)
    }

    /// The module whose top level defines `name` as `function`, following
    /// `load()`s from `module`.
    fn definition(
        &self,
        module: &str,
        name: &str,
        function: Value,
        depth: usize,
    ) -> Result<Entry, NotAProgram> {
        let nested = || {
            NotAProgram(format!(
                "the check function `{}` must be defined at the top level of a file, with `def` or as `name = lambda ...`; a function defined inside another one, or made by a call, cannot be handed to the sandbox",
                function.to_str()
            ))
        };
        let ast = self.ast(module).ok_or_else(nested)?;
        if depth < 16 {
            for load in ast.loads() {
                if let Some((_, their)) = load.symbols.iter().find(|(local, _)| **local == name) {
                    return self.definition(
                        &module_name(load.module_id),
                        their,
                        function,
                        depth + 1,
                    );
                }
            }
        }
        let is_top_level = top_level(&ast).iter().any(|s| defines(s, name));
        let same = self.with_global(module, name, |v| v.is_some_and(|v| v.ptr_eq(function)));
        if is_top_level && same {
            Ok(Entry::Global {
                module: module.to_string(),
                name: name.to_string(),
            })
        } else {
            Err(nested())
        }
    }

    /// A module's top-level values other than what its kept statements
    /// define, as the plugin receives them.
    fn globals(&self, module: &str, ast: &AstModule) -> Json {
        let kept: BTreeSet<String> = top_level(ast)
            .iter()
            .filter(|s| kept(s))
            .flat_map(|s| defined_names(s))
            .chain(
                ast.loads()
                    .iter()
                    .flat_map(|l| l.symbols.keys().map(|local| local.to_string())),
            )
            .collect();
        let names: Vec<String> = if module == self.main {
            self.main_module
                .names()
                .map(|n| n.as_str().to_string())
                .collect()
        } else {
            self.loaded
                .get(module)
                .map(|m| m.names().map(|n| n.as_str().to_string()).collect())
                .unwrap_or_default()
        };
        let masker = crate::output::secrets_masker();
        let words = self.words();
        let mut out = BTreeMap::new();
        for name in self
            .host_only
            .iter()
            .filter(|n| !kept.contains(*n) && !names.contains(*n) && words.contains(*n))
        {
            let why = if name == "env" {
                "`env()` reads the environment while the project is read; read it at the top level (`PASSWORD = env(\"PASSWORD\")`) or ask the resource (`r.secret(...)`)".to_string()
            } else {
                format!(
                    "`{name}` declares while the project is read; checks look at declarations, they do not make them"
                )
            };
            out.insert(name.clone(), json!({"unavailable": why}));
        }
        for name in names
            .into_iter()
            .filter(|n| !kept.contains(n) && words.contains(n))
        {
            let described = self.with_global(module, &name, |value| {
                let value = value?;
                Some(describe_global(value, &self.names, &masker, &name))
            });
            if let Some(described) = described {
                out.insert(name, described);
            }
        }
        json!(out)
    }
}

/// A top-level value as the plugin receives it.
fn describe_global(
    value: Value,
    names: &HashMap<u32, String>,
    masker: &crate::output::Masker,
    name: &str,
) -> Json {
    if let Some(decl) = Decl::from_value(value) {
        return match names.get(&decl.info.id) {
            Some(declared) => json!({"resource": declared}),
            None => json!({"unavailable": "a declaration without a name"}),
        };
    }
    match convert::to_json(value) {
        Ok(data) if data.to_string().len() > GLOBAL_BYTES => json!({
            "unavailable": format!("it is larger than the {} KiB a check may be given; read what the check needs from a file (`file.read`) instead", GLOBAL_BYTES >> 10)
        }),
        Ok(data) if !holds_reference(&data) => json!({"value": masker.json(Some(name), &data)}),
        Ok(_) => {
            json!({"unavailable": "it holds declarations; pass the declaration itself, or read it from the resource the check receives"})
        }
        Err(_) if value.get_type() == "function" => json!({
            "unavailable": "a function that is not a top-level `def` or `name = lambda ...`"
        }),
        Err(_) => json!({"unavailable": format!("a {} is not data", value.get_type())}),
    }
}

fn holds_reference(json: &Json) -> bool {
    match json {
        Json::Object(o) => o.contains_key("$ref") || o.values().any(holds_reference),
        Json::Array(items) => items.iter().any(holds_reference),
        _ => false,
    }
}

/// A `load()` path as the module's name: the project-relative path the
/// evaluation read it by (`//lib.star` and `./lib.star` are `lib.star`).
fn module_name(path: &str) -> String {
    crate::load::project_relative(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

/// Why a program completion wrote cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// It does not parse.
    #[error("it is not valid Starlark: {0}")]
    NotStarlark(String),
    /// It does more than define functions.
    #[error("only `def` statements may be written, line {line} is something else")]
    NotOnlyDefs {
        /// The first line that is not a `def`, from 1.
        line: usize,
    },
    /// It defines no function.
    #[error("it defines no function (`def check(...):`)")]
    NoFunction,
    /// Its function takes another number of parameters.
    #[error("`{name}` takes {found} parameter(s); a check of this type takes {expected}")]
    Arity {
        /// The function.
        name: String,
        /// How many it takes.
        found: usize,
        /// How many the type gives.
        expected: usize,
    },
}

/// A program of code completion wrote (a model, for a check given in
/// words): `source` must parse and define a top-level function taking
/// `arity` parameters; only `def`s and `load`s are kept, as for the user's
/// own files. `module` names it in messages, e.g. `clockwork.lock:api-check`.
pub fn program_from_source(module: &str, source: &str, arity: usize) -> Result<Json, ProgramError> {
    let ast = AstModule::parse(module, source.to_string(), &crate::load::dialect())
        .map_err(|e| ProgramError::NotStarlark(e.without_diagnostic().to_string()))?;
    let statements = top_level(&ast);
    if let Some(other) = statements
        .iter()
        .find(|s| !kept(s) || matches!(s.node, StmtP::Load(_)))
    {
        let line = ast.file_span(other.span).resolve_span().begin.line + 1;
        return Err(ProgramError::NotOnlyDefs { line });
    }
    let Some(def) = statements.iter().find_map(|s| match &s.node {
        StmtP::Def(def) => Some(def),
        _ => None,
    }) else {
        return Err(ProgramError::NoFunction);
    };
    if def.params.len() != arity {
        return Err(ProgramError::Arity {
            name: def.name.node.ident.clone(),
            found: def.params.len(),
            expected: arity,
        });
    }
    let name = def.name.node.ident.clone();
    Ok(json!({
        "$function": name,
        "defined_at": format!("{module}:1"),
        "entry": {"module": module, "global": name},
        "modules": {module: {"source": source, "globals": {}}},
    }))
}

/// The statements at the top level of a module.
fn top_level(ast: &AstModule) -> Vec<&AstStmt> {
    match &ast.statement().node {
        StmtP::Statements(statements) => statements.iter().collect(),
        _ => vec![ast.statement()],
    }
}

/// Whether a top-level statement stays in the blanked source.
fn kept(statement: &AstStmt) -> bool {
    match &statement.node {
        StmtP::Def(_) | StmtP::Load(_) => true,
        StmtP::Assign(assign) => {
            matches!(assign.lhs.node, AssignTargetP::Identifier(_))
                && matches!(assign.rhs.node, ExprP::Lambda(_))
        }
        _ => false,
    }
}

/// The names a kept statement binds.
fn defined_names(statement: &AstStmt) -> Vec<String> {
    match &statement.node {
        StmtP::Def(def) => vec![def.name.node.ident.clone()],
        StmtP::Assign(assign) => match &assign.lhs.node {
            AssignTargetP::Identifier(id) => vec![id.node.ident.clone()],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn defines(statement: &AstStmt, name: &str) -> bool {
    kept(statement) && defined_names(statement).iter().any(|n| n == name)
}

/// The module's text with every top-level statement that is not kept
/// replaced by spaces, byte for byte (newlines stay).
pub fn blanked(ast: &AstModule, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for statement in top_level(ast).into_iter().filter(|s| !kept(s)) {
        let begin = statement.span.begin().get() as usize;
        let end = (statement.span.end().get() as usize).min(bytes.len());
        for b in &mut bytes[begin.min(end)..end] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Only ASCII spaces replaced whole statements, so the text is UTF-8.
    String::from_utf8(bytes).unwrap_or_default()
}

/// The arguments of the call expression spanning exactly `begin..end`,
/// and the names local to the scopes around it (a `def`'s parameters and
/// assignments, a comprehension's variables, a lambda's parameters): what a
/// lambda written in that call could close over.
fn find_call(statement: &AstStmt, begin: u32, end: u32) -> Option<Found<'_>> {
    let mut locals = Vec::new();
    in_statement(statement, begin, end, &mut locals)
}

type ArgumentArg = starlark_syntax::syntax::ast::AstArgumentP<AstNoPayload>;

/// A call found, with the local names around it.
struct Found<'a> {
    args: &'a Vec<ArgumentArg>,
    locals: Vec<String>,
}

fn in_statement<'a>(
    statement: &'a AstStmt,
    begin: u32,
    end: u32,
    locals: &mut Vec<String>,
) -> Option<Found<'a>> {
    let mark = locals.len();
    if let StmtP::Def(def) = &statement.node {
        locals.extend(
            def.params
                .iter()
                .filter_map(|p| p.node.ident())
                .map(|i| i.node.ident.clone()),
        );
        assigned(&def.body, locals);
    }
    let mut found = None;
    statement.visit_children(|child| {
        if found.is_some() {
            return;
        }
        found = match child {
            Visit::Stmt(s) => in_statement(s, begin, end, locals),
            Visit::Expr(e) => in_expression(e, begin, end, locals),
        };
    });
    locals.truncate(mark);
    found
}

fn in_expression<'a>(
    expr: &'a AstExpr,
    begin: u32,
    end: u32,
    locals: &mut Vec<String>,
) -> Option<Found<'a>> {
    if let ExprP::Call(_, args) = &expr.node
        && expr.span.begin().get() == begin
        && expr.span.end().get() == end
    {
        return Some(Found {
            args: &args.args,
            locals: locals.clone(),
        });
    }
    let mark = locals.len();
    match &expr.node {
        ExprP::Lambda(lambda) => {
            locals.extend(
                lambda
                    .params
                    .iter()
                    .filter_map(|p| p.node.ident())
                    .map(|i| i.node.ident.clone()),
            );
        }
        ExprP::ListComprehension(_, first, clauses)
        | ExprP::DictComprehension(_, first, clauses) => {
            first
                .var
                .visit_lvalue(|id| locals.push(id.node.ident.clone()));
            for clause in clauses {
                if let ClauseP::For(f) = clause {
                    f.var.visit_lvalue(|id| locals.push(id.node.ident.clone()));
                }
            }
        }
        _ => {}
    }
    let mut found = None;
    expr.visit_expr(|e| {
        if found.is_none() {
            found = in_expression(e, begin, end, locals);
        }
    });
    if found.is_none()
        && let ExprP::Lambda(lambda) = &expr.node
    {
        found = in_expression(&lambda.body, begin, end, locals);
    }
    locals.truncate(mark);
    found
}

/// Every name a statement (and those inside it) assigns.
fn assigned(statement: &AstStmt, out: &mut Vec<String>) {
    match &statement.node {
        StmtP::Assign(assign) => assign
            .lhs
            .visit_lvalue(|id| out.push(id.node.ident.clone())),
        StmtP::AssignModify(lhs, _, _) => lhs.visit_lvalue(|id| out.push(id.node.ident.clone())),
        StmtP::For(f) => f.var.visit_lvalue(|id| out.push(id.node.ident.clone())),
        StmtP::Def(def) => out.push(def.name.node.ident.clone()),
        _ => {}
    }
    statement.visit_stmt(|s| assigned(s, out));
}

/// The names a lambda reads that are local to the scopes around it.
fn captured(lambda: &AstExpr, locals: &[String]) -> Vec<String> {
    let ExprP::Lambda(l) = &lambda.node else {
        return Vec::new();
    };
    let own: Vec<String> = l
        .params
        .iter()
        .filter_map(|p| p.node.ident())
        .map(|i| i.node.ident.clone())
        .collect();
    let mut read = Vec::new();
    identifiers(&l.body, &mut read);
    let mut out: Vec<String> = read
        .into_iter()
        .filter(|n| locals.contains(n) && !own.contains(n))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The identifiers read by every lambda in `expr`.
fn lambda_identifiers(expr: &AstExpr, out: &mut Vec<String>) {
    if matches!(expr.node, ExprP::Lambda(_)) {
        identifiers(expr, out);
        return;
    }
    expr.visit_expr(|e| lambda_identifiers(e, out));
}

fn identifiers(expr: &AstExpr, out: &mut Vec<String>) {
    if let ExprP::Identifier(id) = &expr.node {
        out.push(id.node.ident.clone());
    }
    expr.visit_expr(|e| identifiers(e, out));
    if let ExprP::Lambda(l) = &expr.node {
        identifiers(&l.body, out);
    }
}

/// The argument expression given for `field`: by keyword, else the first
/// positional one.
fn argument_of<'a>(args: &'a [ArgumentArg], field: &str) -> Option<&'a AstExpr> {
    args.iter()
        .find_map(|a| match &a.node {
            ArgumentP::Named(name, expr) if name.node == field => Some(expr),
            _ => None,
        })
        .or_else(|| {
            args.iter().find_map(|a| match &a.node {
                ArgumentP::Positional(expr) => Some(expr),
                _ => None,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AstModule {
        AstModule::parse("main.star", text.to_string(), &crate::load::dialect()).expect("parses")
    }

    #[test]
    fn blanking_keeps_defs_loads_and_lambdas_at_their_offsets() {
        let text = "load(\"lib.star\", \"helper\")\nPORT = 8080\ndef check(r):\n    return r.name == \"x\"\nweb = DockerResource(name = \"é\",\n    ports = [\"8080:80\"])\nis_up = lambda r: True\n";
        let ast = parse(text);
        let out = blanked(&ast, text);
        assert_eq!(out.len(), text.len());
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(out.starts_with("load(\"lib.star\", \"helper\")\n"));
        assert!(!out.contains("PORT"));
        assert!(out.contains("def check(r):\n    return r.name == \"x\"\n"));
        assert!(!out.contains("DockerResource"));
        assert!(out.contains("is_up = lambda r: True"));
        // Offsets are those of the original.
        assert_eq!(out.find("def check"), text.find("def check"));
        assert_eq!(out.find("is_up"), text.find("is_up"));
        // The blanked module still parses.
        parse(&out);
    }

    #[test]
    fn finds_the_argument_of_a_call_by_its_span() {
        let text = "x = [PythonAssert(lambda r: (True, \"ok\"), description = \"d\")]\n";
        let ast = parse(text);
        let begin = text.find("PythonAssert").unwrap_or_default() as u32;
        let end = (text.rfind(')').unwrap_or_default() + 1) as u32;
        let found = find_call(ast.statement(), begin, end).expect("call found");
        let lambda = argument_of(found.args, "fn").expect("argument");
        assert!(matches!(lambda.node, ExprP::Lambda(_)));
        assert_eq!(
            &text[lambda.span.begin().get() as usize..lambda.span.end().get() as usize],
            "lambda r: (True, \"ok\")"
        );
        assert!(find_call(ast.statement(), begin + 1, end).is_none());
        assert!(found.locals.is_empty());
    }

    #[test]
    fn top_level_values_go_as_data_masked_and_bounded() {
        Module::with_temp_heap(|module| {
            let heap = module.heap();
            let masker = crate::output::Masker::new(&["hunter2-secret".into()], true);
            let names = HashMap::new();
            let small = heap.alloc(starlark::values::list::AllocList([
                heap.alloc(1),
                heap.alloc(2),
            ]));
            assert_eq!(
                describe_global(small, &names, &masker, "PORTS"),
                json!({"value": [1, 2]})
            );
            let secret = heap.alloc("url with hunter2-secret inside");
            assert_eq!(
                describe_global(secret, &names, &masker, "URL"),
                json!({"value": "url with *** inside"})
            );
            let huge = heap.alloc("x".repeat(GLOBAL_BYTES + 1));
            let described = describe_global(huge, &names, &masker, "BLOB");
            assert!(
                described["unavailable"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("larger than")
            );
        });
    }

    #[test]
    fn a_lambda_reading_a_local_of_the_scope_around_it_is_caught() {
        let text = "def make(code):\n    return PythonAssert(lambda r: r.status == code)\nchecks = [PythonAssert(lambda r: r.name == n) for n in NAMES]\nok = PythonAssert(lambda r: r.name == NAME)\n";
        let ast = parse(text);
        let call = |needle: &str, close: &str| {
            let begin = text.find(needle).unwrap_or_default();
            let end = begin + text[begin..].find(close).unwrap_or_default() + 1;
            let found = find_call(ast.statement(), begin as u32, end as u32).expect(needle);
            let lambda = argument_of(found.args, "fn").expect("argument");
            captured(lambda, &found.locals)
        };
        assert_eq!(call("PythonAssert(lambda r: r.status", ")\n"), ["code"]);
        assert_eq!(call("PythonAssert(lambda r: r.name == n)", ") for"), ["n"]);
        assert!(call("PythonAssert(lambda r: r.name == NAME)", ")\n").is_empty());
    }
}
