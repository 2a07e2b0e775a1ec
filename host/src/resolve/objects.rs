//! What a connection declares besides its steps: the networks, volumes
//! and certificates hoisted out of its setup, and the rule that one name
//! is one object (two connections declaring one network agree on it).

use std::collections::BTreeMap;

use clockwork_schema::actions::{NetworkSpec, VolumeSpec};

use crate::model::DeclId;
use crate::plugin::bindings::connection::exports::clockwork::plugin::connections::SetupStep;
use crate::plugin::bindings::types::Action;

/// A contribution's setup split into the networks, volumes and
/// certificates it declares (its `ensure-network`, `ensure-volume` and
/// `ext("tls", "issue", …)` steps) and the steps to run.
#[allow(
    clippy::type_complexity,
    reason = "four lists, each named at the one call"
)]
pub(super) fn declared_objects(
    setup: &[SetupStep],
) -> (
    Vec<NetworkSpec>,
    Vec<VolumeSpec>,
    Vec<crate::project::tls::Request>,
    Vec<SetupStep>,
) {
    let mut networks = Vec::new();
    let mut volumes = Vec::new();
    let mut tls = Vec::new();
    let mut steps = Vec::new();
    for step in setup {
        match &step.action {
            Action::Ext((driver, op, payload)) => {
                match crate::driver::Drivers::bundled().hoist(driver, op, payload) {
                    Some(crate::driver::Hoisted::Certificate(request)) => tls.push(request),
                    // Checked, and refused with the driver's words, as a step.
                    None => steps.push(step.clone()),
                }
            }
            Action::EnsureNetwork(spec) => match serde_json::from_str::<NetworkSpec>(spec) {
                Ok(mut n) => {
                    n.declared = true;
                    networks.push(n);
                }
                // Refused with the plugin's words when the step is checked.
                Err(_) => steps.push(step.clone()),
            },
            Action::EnsureVolume(spec) => match serde_json::from_str::<VolumeSpec>(spec) {
                Ok(v) => volumes.push(v),
                Err(_) => steps.push(step.clone()),
            },
            _ => steps.push(step.clone()),
        }
    }
    (networks, volumes, tls, steps)
}

/// Records `spec` as the declaration of `name` by `conn` when it is the
/// first; returns the earlier one when that differs (one name, one object).
pub(super) fn first_other<T: PartialEq + Clone>(
    declared: &mut BTreeMap<String, (DeclId, T)>,
    name: &str,
    spec: &T,
    conn: DeclId,
) -> Option<(DeclId, T)> {
    match declared.get(name) {
        Some((other, theirs)) if theirs != spec => Some((*other, theirs.clone())),
        Some(_) => None,
        None => {
            declared.insert(name.to_string(), (conn, spec.clone()));
            None
        }
    }
}

/// How two declarations of one network differ, e.g. `internal true here,
/// false there`.
pub(super) fn network_difference(theirs: &NetworkSpec, ours: &NetworkSpec) -> String {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    [
        (
            "driver",
            format!("`{}`", ours.driver),
            format!("`{}`", theirs.driver),
        ),
        (
            "internal",
            ours.internal.to_string(),
            theirs.internal.to_string(),
        ),
        (
            "enable_ipv6",
            ours.enable_ipv6.to_string(),
            theirs.enable_ipv6.to_string(),
        ),
        ("subnet", show(&ours.subnet), show(&theirs.subnet)),
        ("gateway", show(&ours.gateway), show(&theirs.gateway)),
    ]
    .into_iter()
    .filter(|(_, here, there)| here != there)
    .map(|(field, here, there)| format!("{field} {here} here, {there} there"))
    .collect::<Vec<_>>()
    .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(name: &str) -> NetworkSpec {
        NetworkSpec {
            name: name.into(),
            driver: "bridge".into(),
            internal: false,
            subnet: None,
            gateway: None,
            enable_ipv6: false,
            declared: true,
        }
    }

    #[test]
    fn a_network_difference_names_each_option_that_differs() {
        let theirs = network("backend");
        let mut ours = network("backend");
        ours.internal = true;
        ours.subnet = Some("10.1.0.0/24".into());
        assert_eq!(
            network_difference(&theirs, &ours),
            "internal true here, false there; subnet 10.1.0.0/24 here, (none) there"
        );
        assert_eq!(network_difference(&theirs, &theirs), "");
    }

    #[test]
    fn the_first_declaration_of_a_name_stands_and_another_that_differs_is_returned() {
        let mut declared = BTreeMap::new();
        let first = network("backend");
        let mut other = network("backend");
        other.internal = true;
        assert_eq!(
            first_other(&mut declared, "backend", &first, DeclId(1)),
            None
        );
        assert_eq!(
            first_other(&mut declared, "backend", &first, DeclId(2)),
            None
        );
        assert_eq!(
            first_other(&mut declared, "backend", &other, DeclId(3)),
            Some((DeclId(1), first.clone()))
        );
        assert_eq!(declared.len(), 1);
    }
}
