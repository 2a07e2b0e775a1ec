//! The completion stage with plain answers: a plugin whose rules and a
//! model whose answers each test writes, and a real project folder for
//! `clockwork.lock`.

use std::time::Duration;

use clockwork_schema::{FieldSchema, TypeSchema};
use serde_json::{Value as Json, json};

use super::chat::{Answer, ChatError, Message, Probe};
use super::seams::{Call, Rules, Validated};
use super::*;
use crate::model::{Declaration, Declared, PluginKind};
use crate::plugin::bindings::types::Suggestion;
use crate::project::ProjectDir;
use crate::resolve::{Graph, Spec};

fn field(name: &str, value_type: &str, completable: bool) -> FieldSchema {
    FieldSchema {
        completable,
        ..FieldSchema::new(name, value_type)
    }
}

/// `Box`: an image and mounts the model may fill, host ports it may not.
struct Plugins {
    schema: TypeSchema,
    rules: Vec<Suggestion>,
}

impl Plugins {
    fn with_rules(rules: &[(&str, Json)]) -> Plugins {
        Plugins {
            schema: TypeSchema {
                name: "Box".into(),
                doc: "A container.".into(),
                fields: vec![
                    field("description", "string", false),
                    field("image", "string", true),
                    field("volumes", "list<mount>", true),
                    field("ports", "list<port>", true),
                ],
            },
            rules: rules
                .iter()
                .map(|(f, v)| Suggestion {
                    field: f.to_string(),
                    value: v.to_string(),
                    reason: format!("a rule for `{f}`"),
                })
                .collect(),
        }
    }

    fn with_default(&mut self, name: &str, value: Json) {
        for field in &mut self.schema.fields {
            if field.name == name {
                field.default = Some(value.to_string());
            }
        }
    }
}

impl CompletionPlugins for Plugins {
    fn schema(&self, type_name: &str) -> Option<&TypeSchema> {
        (type_name == "Box").then_some(&self.schema)
    }

    fn plugin_name(&self, type_name: &str) -> Option<&str> {
        (type_name == "Box").then_some("box")
    }

    fn rules<'a>(&'a self, _type_name: &'a str, _input: RulesFor) -> Call<'a, Rules> {
        let rules = self.rules.clone();
        Box::pin(async move { Ok(Ok(rules)) })
    }

    fn validate<'a>(
        &'a self,
        _type_name: &'a str,
        _name: &'a str,
        config: Json,
    ) -> Call<'a, Validated> {
        Box::pin(async move { Ok(Ok(config)) })
    }
}

/// A model that answers `answer` to every question.
struct Scripted {
    answer: Json,
}

impl Model for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn base_url(&self) -> &str {
        "http://127.0.0.1:1/v1"
    }

    fn probe(&self) -> Call<'_, Result<Probe, ChatError>> {
        Box::pin(async {
            Ok(Probe {
                enforced: true,
                model_id: "scripted".into(),
                latency: Duration::ZERO,
                text: String::new(),
            })
        })
    }

    fn ask<'a>(
        &'a self,
        _messages: &'a [Message],
        _name: &'a str,
        _schema: &'a Json,
        _again: bool,
    ) -> Call<'a, Result<Answer, ChatError>> {
        let value = self.answer.clone();
        Box::pin(async move {
            Ok(Answer {
                text: value.to_string(),
                value,
                model_id: "scripted".into(),
                system_fingerprint: None,
                strict: true,
            })
        })
    }
}

/// Resources of type `Box` with the fields the user wrote.
fn graph(resources: &[(&str, Json)]) -> Graph {
    let declarations: Vec<Declaration> = resources
        .iter()
        .enumerate()
        .map(|(i, (name, fields))| {
            let mut d = Declaration::fixture(i, PluginKind::Resource, "Box", name);
            let Json::Object(fields) = fields.clone() else {
                unreachable!("fields are an object")
            };
            d.fields = fields.clone();
            d.config = fields;
            d
        })
        .collect();
    let specs = declarations
        .iter()
        .map(|d| (d.id, Spec::from_declaration(d)))
        .collect();
    let layers = declarations.iter().map(|d| vec![d.id]).collect();
    Graph {
        project: Declared::fixture(declarations),
        specs,
        depends_on: Default::default(),
        layers,
        connections: Vec::new(),
    }
}

struct Run {
    graph: Graph,
    result: Result<(), CompleteError>,
    report: Report,
    lock: String,
}

async fn complete(resources: &[(&str, Json)], plugins: &Plugins, model: Option<Json>) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = std::sync::Arc::new(ProjectDir::open(dir.path()).expect("project folder"));
    let model = model.map(|answer| Box::new(Scripted { answer }) as Box<dyn Model>);
    let mut completer = Completer::new(&files, Mode::Complete, model, None).expect("completer");
    let mut graph = graph(resources);
    let mut result = completer.resources(&mut graph, plugins).await;
    if result.is_ok() {
        result = completer.finish(&files);
    }
    let lock = std::fs::read_to_string(dir.path().join("clockwork.lock")).unwrap_or_default();
    Run {
        graph,
        result,
        report: completer.report,
        lock,
    }
}

fn field_of<'g>(run: &'g Run, i: usize, field: &str) -> Option<&'g Json> {
    run.graph.specs[&crate::model::DeclId(i)].fields.get(field)
}

#[tokio::test]
async fn rules_fill_what_is_missing_and_what_the_user_wrote_wins() {
    let plugins = Plugins::with_rules(&[("image", json!("redis:7"))]);
    let run = complete(
        &[
            ("db", json!({"image": "postgres:16"})),
            ("cache", json!({})),
        ],
        &plugins,
        None,
    )
    .await;
    run.result.as_ref().expect("completes");
    assert_eq!(field_of(&run, 0, "image"), Some(&json!("postgres:16")));
    assert_eq!(field_of(&run, 1, "image"), Some(&json!("redis:7")));
    assert_eq!(run.report.new, ["cache.image"]);
    assert!(run.lock.contains("rules:box"), "{}", run.lock);
}

#[tokio::test]
async fn a_rule_asking_for_a_host_port_or_a_host_mount_is_left_out() {
    let plugins = Plugins::with_rules(&[
        ("ports", json!(["0.0.0.0:2375:2375"])),
        (
            "volumes",
            json!(["/var/run/docker.sock:/var/run/docker.sock"]),
        ),
        ("image", json!("busybox")),
    ]);
    let run = complete(&[("web", json!({}))], &plugins, None).await;
    run.result.as_ref().expect("completes");
    assert_eq!(field_of(&run, 0, "ports"), None);
    assert_eq!(field_of(&run, 0, "volumes"), None);
    assert_eq!(field_of(&run, 0, "image"), Some(&json!("busybox")));
}

#[tokio::test]
async fn a_model_fills_only_a_described_declaration_and_is_recorded() {
    let plugins = Plugins::with_rules(&[]);
    let run = complete(
        &[
            ("api", json!({"description": "the web server"})),
            ("quiet", json!({})),
        ],
        &plugins,
        Some(json!({"image": "nginx:1.27", "volumes": []})),
    )
    .await;
    run.result.as_ref().expect("completes");
    assert_eq!(field_of(&run, 0, "image"), Some(&json!("nginx:1.27")));
    assert_eq!(field_of(&run, 0, "ports"), None, "never asked of a model");
    assert_eq!(field_of(&run, 1, "image"), None, "not described: not asked");
    assert!(run.lock.contains("model:scripted"), "{}", run.lock);
}

#[tokio::test]
async fn a_model_answer_mounting_the_host_is_left_out_and_the_rest_is_kept() {
    let plugins = Plugins::with_rules(&[]);
    let run = complete(
        &[("api", json!({"description": "the web server"}))],
        &plugins,
        Some(json!({"image": "nginx:1.27", "volumes": ["/etc:/host-etc"]})),
    )
    .await;
    run.result
        .as_ref()
        .expect("a bad answer never breaks the plan");
    assert_eq!(field_of(&run, 0, "volumes"), None, "refused: left out");
    assert_eq!(field_of(&run, 0, "image"), Some(&json!("nginx:1.27")));
    // Asked once, then once more for the field that did not fit.
    assert_eq!(run.report.requests, 3, "the probe and two requests");
    assert!(run.lock.contains("nginx:1.27"), "{}", run.lock);
    assert!(!run.lock.contains("/etc"), "{}", run.lock);
}

#[tokio::test]
async fn a_field_with_a_default_is_never_asked_of_a_model() {
    let mut plugins = Plugins::with_rules(&[]);
    plugins.with_default("volumes", json!([]));
    let run = complete(
        &[(
            "api",
            json!({"description": "the web server", "image": "nginx"}),
        )],
        &plugins,
        Some(json!({"volumes": ["data:/data"]})),
    )
    .await;
    run.result.as_ref().expect("completes");
    assert_eq!(
        run.report.requests, 0,
        "a fully written declaration costs nothing"
    );
    assert_eq!(field_of(&run, 0, "volumes"), None);
}
