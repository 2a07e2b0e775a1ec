//! Names of declarations: given by the user, else the variable, else
//! derived (from the parent, the endpoints or the type); and the checks
//! only all of them together can make (valid, short enough, unique).

use std::collections::HashMap;

use crate::model::{Declaration, Location, NameOrigin, PluginKind};

/// What the Starlark side knows of a resource's name.
#[derive(Default, Clone)]
pub(super) struct NameHint {
    /// What `name=` says.
    pub(super) explicit: Option<String>,
    /// The variable it is bound to at the top level.
    pub(super) variable: Option<String>,
}

/// Names: what the user wrote, else the variable, else derived from the
/// parent or the endpoints. Never from an AI; deterministic for the file.
/// Returns the resources that have none of these (they get a placeholder
/// so that other messages can still refer to them).
pub(super) fn name_everything(out: &mut [Declaration], hints: &[NameHint]) -> Vec<usize> {
    let mut unnamed = Vec::new();
    for (d, hint) in out.iter_mut().zip(hints) {
        if let Some(name) = &hint.explicit {
            d.name = name.as_str().into();
            d.name_origin = NameOrigin::Explicit;
        } else if let Some(variable) = &hint.variable
            && d.kind == PluginKind::Resource
        {
            d.name = variable.replace('_', "-").into();
            d.name_origin = NameOrigin::Variable(variable.clone());
        }
    }
    // Unnamed resources: after their parent (named first), or by type.
    let mut per_type: HashMap<crate::model::TypeName, usize> = HashMap::new();
    loop {
        let mut progress = false;
        for i in 0..out.len() {
            if out[i].kind != PluginKind::Resource || !out[i].name.is_empty() {
                continue;
            }
            let name = match out[i].parent {
                Some(p) if out[p.0].name.is_empty() => continue,
                Some(p) => {
                    let position = out[p.0]
                        .children
                        .iter()
                        .position(|c| c.0 == i)
                        .map(|x| x + 1)
                        .unwrap_or(0);
                    format!("{}-{position}", out[p.0].name)
                }
                None => {
                    unnamed.push(i);
                    let n = per_type.entry(out[i].type_name.clone()).or_insert(0);
                    *n += 1;
                    format!("{}-{n}", crate::model::kebab(&out[i].type_name))
                }
            };
            out[i].name = name.into();
            progress = true;
        }
        if !progress {
            break;
        }
    }
    // Connections and assertions, from what they join.
    let mut taken: HashMap<String, usize> = HashMap::new();
    for i in 0..out.len() {
        let base = match out[i].kind {
            PluginKind::Resource => continue,
            PluginKind::Connection => {
                let from = out[i]
                    .from
                    .map(|f| out[f.0].name.clone())
                    .unwrap_or_else(|| "unconnected".into());
                let to = out[i]
                    .to
                    .map(|t| out[t.0].name.clone())
                    .unwrap_or_else(|| "nothing".into());
                let short = crate::defaults::short_type_name(out[i].kind, &out[i].type_name);
                if out[i].type_name == crate::defaults::SHORTHAND_CONNECTION {
                    format!("{from}-to-{to}")
                } else {
                    format!("{from}-{short}-{to}")
                }
            }
            PluginKind::Assertion => {
                let owner = out
                    .iter()
                    .find(|r| r.assertions.iter().any(|a| a.0 == i))
                    .map(|r| r.name.clone());
                let short = crate::defaults::short_type_name(out[i].kind, &out[i].type_name);
                match owner {
                    Some(owner) => format!("{owner}-{short}"),
                    None => short,
                }
            }
        };
        if out[i].name.is_empty() {
            let n = taken.entry(base.clone()).or_insert(0);
            *n += 1;
            out[i].name = if *n == 1 { base } else { format!("{base}-{n}") }.into();
        }
    }
    unnamed
}

pub(super) fn check_names(
    out: &[Declaration],
    problem: &mut dyn FnMut(&Location, String, Option<String>),
) {
    let mut by_name: HashMap<(String, PluginKind), &Declaration> = HashMap::new();
    for d in out {
        if d.kind == PluginKind::Resource && !valid_name(&d.name) {
            problem(
                &d.location,
                format!(
                    "`{}` is not a valid name: use letters, digits, `-`, `_` and `.`, starting with a letter or digit",
                    d.name
                ),
                None,
            );
        } else if d.kind == PluginKind::Resource && d.name.len() > MAX_NAME {
            problem(
                &d.location,
                format!(
                    "the name `{}…` is {} characters long; names are at most {MAX_NAME}, since they are host names on the project's networks",
                    d.name.chars().take(20).collect::<String>(),
                    d.name.len()
                ),
                Some("give it a shorter `name=`".into()),
            );
        }
        // Resources are host names on a network, where case does not count:
        // `Web` and `web` would answer for each other.
        let key = if d.kind == PluginKind::Resource {
            d.name.to_ascii_lowercase()
        } else {
            d.name.to_string()
        };
        if let Some(first) = by_name.insert((key, d.kind), d) {
            let what = if first.name == d.name {
                format!("two {}s are named `{}`", d.kind, d.name)
            } else {
                format!(
                    "`{}` and `{}` differ only in case, which host names ignore",
                    d.name, first.name
                )
            };
            problem(
                &d.location,
                format!("{what}: this one and the one at {}", first.location),
                Some("names are unique in a project; rename one with `name=...`".into()),
            );
        }
    }
}

/// The longest resource name: a DNS label.
const MAX_NAME: usize = 63;

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::model::DeclId;

    fn decl(i: usize, kind: PluginKind, type_name: &str) -> Declaration {
        Declaration::fixture(i, kind, type_name, "")
    }

    fn hint(explicit: Option<&str>, variable: Option<&str>) -> NameHint {
        NameHint {
            explicit: explicit.map(str::to_string),
            variable: variable.map(str::to_string),
        }
    }

    #[test]
    fn names_come_from_the_user_the_variable_the_parent_or_the_ends() {
        use PluginKind::{Assertion, Connection, Resource};
        let mut out = vec![
            decl(0, Resource, "DockerResource"),
            decl(1, Resource, "BlankResource"),
            decl(2, Resource, "DockerResource"),
            decl(3, Connection, "DatabaseConnection"),
            decl(4, Connection, "DependencyConnection"),
            decl(5, Assertion, "HealthcheckAssert"),
            decl(6, Resource, "FileResource"),
        ];
        out[2].parent = Some(DeclId(1));
        out[1].children = vec![DeclId(2)];
        for c in [3, 4] {
            out[c].from = Some(DeclId(0));
            out[c].to = Some(DeclId(2));
        }
        out[0].assertions = vec![DeclId(5)];
        let hints = vec![
            hint(None, Some("api_server")),
            hint(Some("shop"), Some("app")),
            hint(None, None),
            hint(None, None),
            hint(None, None),
            hint(None, None),
            hint(None, None),
        ];
        let unnamed = name_everything(&mut out, &hints);
        let names: Vec<&str> = out.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "api-server",
                "shop",
                "shop-1",
                "api-server-database-shop-1",
                "api-server-to-shop-1",
                "api-server-healthcheck",
                "file-resource-1"
            ]
        );
        assert_eq!(
            out[0].name_origin,
            NameOrigin::Variable("api_server".into())
        );
        assert_eq!(out[1].name_origin, NameOrigin::Explicit);
        assert_eq!(unnamed, [6], "a resource of no variable, name or parent");
    }

    #[test]
    fn names_differing_in_case_or_too_long_are_problems() {
        let mut a = decl(0, PluginKind::Resource, "DockerResource");
        a.name = "Web".into();
        let mut b = decl(1, PluginKind::Resource, "DockerResource");
        b.name = "web".into();
        let mut c = decl(2, PluginKind::Resource, "DockerResource");
        c.name = "x".repeat(64).into();
        let mut found = Vec::new();
        check_names(&[a, b, c], &mut |l, m, _| found.push(format!("{l}: {m}")));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("main.star:2:1: `web` and `Web` differ only in case"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("main.star:3:1: the name `xxxx"),
            "{found:?}"
        );
    }
}
