//! Validating again, with what completion filled, the declarations whose
//! problems load left for after completion.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::complete::{CompleteError, Completer, CompletionPlugins};
use crate::model::{DeclId, Declared, PluginKind};

impl Completer {
    /// Validates again, with what completion filled, every declaration of
    /// `kinds` whose problems were left for after completion; a
    /// connection's or an assertion's config becomes the normalised one.
    /// Returns the problems that remain.
    pub async fn revalidate(
        &self,
        project: &mut Declared,
        specs: Option<&BTreeMap<DeclId, crate::resolve::Spec>>,
        plugins: &dyn CompletionPlugins,
        sources: &crate::load::Sources,
        kinds: &[PluginKind],
    ) -> Result<Vec<crate::load::Located>, CompleteError> {
        let mut problems = Vec::new();
        let ids: Vec<DeclId> = project
            .declarations
            .iter()
            .filter(|d| d.deferred && kinds.contains(&d.kind))
            .map(|d| d.id)
            .collect();
        for id in ids {
            let d = project.get(id);
            if plugins.plugin_name(&d.type_name).is_none() {
                continue;
            }
            let config = match specs.and_then(|s| s.get(&id)) {
                Some(spec) => spec.fields.clone(),
                None => d.config.clone(),
            };
            let result = plugins
                .validate(&d.type_name, &d.name, Json::Object(config))
                .await?;
            let d = &mut project.declarations[id.0];
            match result {
                Ok(Json::Object(mut normalised)) if d.kind != PluginKind::Resource => {
                    for structural in crate::load::structural_fields(d.kind) {
                        normalised.remove(*structural);
                    }
                    d.config = normalised;
                }
                Ok(_) => {}
                Err(diagnostics) => {
                    let source = sources.get(&d.location.file.display().to_string()).cloned();
                    let (errors, _) = crate::load::located(d, source, diagnostics);
                    problems.extend(errors);
                }
            }
            d.deferred = false;
        }
        Ok(problems)
    }
}
