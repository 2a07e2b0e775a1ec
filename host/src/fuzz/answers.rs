//! A model's answers as completion reads them: the placeholders restored
//! (only those the prompt showed), the strict form turned back, the type
//! checked, and what only the user may ask for refused. Whatever the model
//! writes, nothing panics, and an accepted value publishes no port, binds
//! no path, joins or mounts nothing undeclared and holds no secret the
//! declaration was not shown.

use proptest::prelude::*;
use serde_json::{Value, json};

use clockwork_schema::actions::MountSpec;
use clockwork_schema::{ContributionKind, FieldSchema, ValueType};

use crate::complete::prompt::{Placeholders, Shown, from_strict};
use crate::complete::trust::{Declared, refusal};

use super::fuzz;

const OWN_SECRET: &str = "own-Secret-Value-1";
const OTHER_SECRET: &str = "other-Secret-Value-2";

fn field(name: &str, ty: &str, receives: Option<ContributionKind>) -> FieldSchema {
    FieldSchema {
        completable: true,
        receives,
        ..FieldSchema::new(name, ty)
    }
}

fn fields() -> Vec<FieldSchema> {
    vec![
        field(
            "env_vars",
            "map<string>",
            Some(ContributionKind::Environment),
        ),
        field("volumes", "list<mount>", Some(ContributionKind::Mounts)),
        field("networks", "list<string>", Some(ContributionKind::Networks)),
        field("aliases", "list<string>", Some(ContributionKind::Aliases)),
        field("ports", "list<port>", None),
        field("image", "string", None),
        field("healthcheck", "map<any>", None),
        field("data", "mount", None),
        field("mode", "enum<a|b>", None),
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{secret:web.env_vars.API_TOKEN}}".to_string()),
        Just("{{secret:db.env_vars.POSTGRES_PASSWORD}}".to_string()),
        Just("x{{secret:db.env_vars.POSTGRES_PASSWORD}}y".to_string()),
        Just("{{secret:nothing}}".to_string()),
        Just("{{secret:".to_string()),
        Just("/etc:/host".to_string()),
        Just("./data:/data".to_string()),
        Just("pgdata:/var/lib/data".to_string()),
        Just("invented:/x".to_string()),
        Just("2375:2375".to_string()),
        Just("backend".to_string()),
        Just("app_network".to_string()),
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ]
}

fn raw() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        scalar().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            (scalar(), inner.clone()).prop_map(|(k, v)| json!([{"key": k, "value": v}])),
            proptest::collection::btree_map(scalar(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
struct Answer {
    field: usize,
    raw: Value,
}

fn answer() -> impl Strategy<Value = Answer> {
    (0..fields().len(), raw()).prop_map(|(field, raw)| Answer { field, raw })
}

fn accepted_is_within_bounds(
    ty: &ValueType,
    field: &FieldSchema,
    value: &Value,
) -> Result<(), String> {
    match (ty, value) {
        (ValueType::List(inner), Value::Array(items)) => items
            .iter()
            .try_for_each(|i| accepted_is_within_bounds(inner, field, i)),
        (ValueType::Map(inner), Value::Object(entries)) => entries
            .values()
            .try_for_each(|i| accepted_is_within_bounds(inner, field, i)),
        (ValueType::Port, _) => Err(format!("accepted a port: {value}")),
        (ValueType::Mount, _) => {
            let mount: MountSpec = serde_json::from_value(value.clone())
                .map_err(|e| format!("accepted a mount that is none ({e}): {value}"))?;
            if mount.is_bind() {
                Err(format!("accepted a bind mount: {value}"))
            } else if mount.source != "pgdata" {
                Err(format!("accepted an undeclared volume: {value}"))
            } else {
                Ok(())
            }
        }
        (ValueType::String, Value::String(network))
            if field.receives == Some(ContributionKind::Networks) && network != "backend" =>
        {
            Err(format!("accepted an undeclared network: {network}"))
        }
        _ => Ok(()),
    }
}

#[test]
fn an_accepted_answer_grants_nothing_and_steals_no_secret() {
    let places = [
        (
            "db".to_string(),
            json!({"env_vars": {"POSTGRES_PASSWORD": OTHER_SECRET}}),
        ),
        (
            "web".to_string(),
            json!({"env_vars": {"API_TOKEN": OWN_SECRET}}),
        ),
    ];
    let placeholders = Placeholders::new([OWN_SECRET.into(), OTHER_SECRET.into()], &places);
    // What web's prompt showed: its own secret only.
    let shown = Shown::in_value(&placeholders.hide(&places[1].1));
    let declared = Declared::for_tests(["backend"], ["pgdata"]);
    let fields = fields();
    fuzz("answers/model", answer(), |a| {
        let field = &fields[a.field];
        let ty = field.parsed_type().ok_or("a field without a type")?;
        let Ok(restored) = placeholders.restore(&a.raw, &shown) else {
            return Ok(());
        };
        if restored.to_string().contains(OTHER_SECRET) {
            return Err(format!("restored another declaration's secret: {restored}"));
        }
        let value = ty.normalize(&from_strict(&ty, &restored));
        if ty.check(&value).is_err() || refusal(field, &value, &declared).is_some() {
            return Ok(());
        }
        accepted_is_within_bounds(&ty, field, &value)
    });
}
