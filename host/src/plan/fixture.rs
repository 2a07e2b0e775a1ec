//! Plans for unit tests, made the one way: a test says which resource,
//! what happens to it and the actions; the rest is empty.

use super::{ChangeKind, Plan, PlanEntry};
use crate::model::DeclId;
use crate::plugin::bindings::resource::exports::clockwork::plugin::resources::{
    Change, ChangePlan, PlanInput,
};
use crate::plugin::bindings::types::{Action, ResourceRef};
use crate::resolve::Spec;

impl PlanEntry {
    /// The entry of `name`, a `Box` declared by declaration `decl` (none:
    /// no longer declared), in layer 1, with `change` and `actions`.
    pub(crate) fn fixture(
        decl: Option<usize>,
        name: &str,
        change: ChangeKind,
        actions: Vec<Action>,
    ) -> PlanEntry {
        PlanEntry {
            decl: decl.map(DeclId),
            name: name.into(),
            type_name: "Box".into(),
            change,
            changed: Vec::new(),
            actions: actions.clone(),
            depends_on: Vec::new(),
            layer: 1,
            parent: None,
            spec: Spec::default(),
            declared_at: if decl.is_some() {
                String::new()
            } else {
                "no longer declared".into()
            },
            assertions: Vec::new(),
            reconcile: None,
            expires_at: None,
            decided: ChangePlan {
                change: match change {
                    ChangeKind::Create => Change::Create,
                    ChangeKind::Update => Change::Update,
                    ChangeKind::Replace => Change::Replace,
                    ChangeKind::Delete => Change::Delete,
                    ChangeKind::None => Change::None,
                },
                diff: Vec::new(),
                actions,
                planned_state: "null".into(),
            },
            input: PlanInput {
                target: ResourceRef {
                    type_name: "Box".into(),
                    name: name.into(),
                },
                desired: None,
                prior: None,
                observed: None,
                project: "{}".into(),
            },
        }
    }
}

impl Plan {
    /// The plan of project `p` in `main.star` with `entries`, compared
    /// with nothing.
    pub(crate) fn fixture(entries: Vec<PlanEntry>) -> Plan {
        Plan {
            project: "p".into(),
            file: "main.star".into(),
            entries,
            connections: Vec::new(),
            completed_assertions: Vec::new(),
            layers: 1,
            compared_with: None,
        }
    }
}
