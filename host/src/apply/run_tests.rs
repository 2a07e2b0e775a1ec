//! What a run decides before it touches anything, with plain data: which
//! entries of a plan it carries out, which problems refuse it, when it
//! warns and asks before deleting, and what an answer to that question
//! does.

use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::model::{DeclId, Declaration, Declared, Location, PluginKind};
use crate::plan::{ChangeKind, PlanEntry};
use crate::state::ResourceState;

/// Hooks that answer `answer` and keep what they were told and asked.
struct Recorded {
    answer: Confirmation,
    notes: Mutex<Vec<String>>,
    asked: Mutex<Vec<String>>,
}

impl Recorded {
    fn answering(answer: Confirmation) -> Recorded {
        Recorded {
            answer,
            notes: Mutex::default(),
            asked: Mutex::default(),
        }
    }
}

impl Hooks for Recorded {
    fn note(&self, text: &str) {
        self.notes.lock().unwrap().push(text.to_string());
    }

    fn planned(&self, _plan: &Plan) {}

    fn confirm(&self, question: &str) -> Confirmation {
        self.asked.lock().unwrap().push(question.to_string());
        self.answer
    }

    fn waits_for_an_answer(&self) -> bool {
        false
    }
}

fn entry(decl: Option<usize>, name: &str, change: ChangeKind) -> PlanEntry {
    PlanEntry::fixture(decl, name, change, Vec::new())
}

fn recorded(stopped: bool) -> ResourceState {
    ResourceState {
        type_name: "Box".into(),
        state: json!({}),
        depends_on: Vec::new(),
        updated_at: 0,
        containers: Vec::new(),
        unknown: Default::default(),
        stopped,
        expires_at: None,
    }
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.entries.iter().map(|e| e.name.as_str()).collect()
}

fn only(names: &[&str]) -> BTreeSet<ResourceName> {
    names.iter().map(|n| ResourceName::from(*n)).collect()
}

#[test]
fn more_deletions_than_creations_are_warned_of_in_words_that_count_them() {
    let plan = Plan::fixture(vec![
        entry(Some(0), "api", ChangeKind::Create),
        entry(None, "old", ChangeKind::Delete),
    ]);
    assert_eq!(deletion_warning(&plan), None, "as many as it creates");

    let plan = Plan::fixture(vec![
        entry(Some(0), "api", ChangeKind::None),
        entry(None, "old", ChangeKind::Delete),
    ]);
    assert_eq!(
        deletion_warning(&plan).as_deref(),
        Some("warning: this deletes 1 resource that `main.star` no longer declares, and creates 0")
    );

    let plan = Plan::fixture(vec![
        entry(Some(0), "api", ChangeKind::Create),
        entry(None, "old", ChangeKind::Delete),
        entry(None, "older", ChangeKind::Delete),
    ]);
    assert_eq!(
        deletion_warning(&plan).as_deref(),
        Some(
            "warning: this deletes 2 resources that `main.star` no longer declares, and creates 1"
        )
    );
}

#[test]
fn a_project_declaring_nothing_is_warned_that_everything_goes() {
    let plan = Plan::fixture(vec![
        entry(None, "db", ChangeKind::Delete),
        entry(None, "api", ChangeKind::Delete),
    ]);
    assert_eq!(
        deletion_warning(&plan).as_deref(),
        Some(
            "warning: `main.star` declares no resources, so this deletes all 2 deployed resources"
        )
    );
    let one = Plan::fixture(vec![entry(None, "db", ChangeKind::Delete)]);
    assert_eq!(
        deletion_warning(&one).as_deref(),
        Some("warning: `main.star` declares no resources, so this deletes all 1 deployed resource")
    );
}

#[test]
fn a_run_narrowed_to_some_resources_leaves_the_others_out_of_its_plan() {
    let plan = Plan::fixture(vec![
        entry(Some(0), "db", ChangeKind::Update),
        entry(Some(1), "api", ChangeKind::Update),
        entry(None, "old", ChangeKind::Delete),
    ]);
    let state = State::empty(&Identity::new("p", std::path::Path::new("/p")));
    let heal = narrowed(plan.clone(), &state, Some(&only(&["api"])), None);
    assert_eq!(names(&heal), ["api"]);
    let whole = narrowed(plan, &state, None, None);
    assert_eq!(names(&whole), ["db", "api", "old"]);
}

#[test]
fn a_resource_stopped_with_clockwork_stop_is_left_alone_and_said_so_once_per_run() {
    let mut state = State::empty(&Identity::new("p", std::path::Path::new("/p")));
    state.resources.insert("db".into(), recorded(true));
    state.resources.insert("api".into(), recorded(false));
    // Stopped, then no longer declared: it still goes.
    state.resources.insert("old".into(), recorded(true));
    let plan = Plan::fixture(vec![
        entry(Some(0), "db", ChangeKind::Update),
        entry(Some(1), "api", ChangeKind::Update),
        entry(None, "old", ChangeKind::Delete),
    ]);
    let hooks = Recorded::answering(Confirmation::Yes);
    let kept = narrowed(plan.clone(), &state, None, Some(&hooks as &dyn Hooks));
    assert_eq!(names(&kept), ["api", "old"]);
    assert_eq!(
        *hooks.notes.lock().unwrap(),
        [
            "`db` was stopped with `clockwork stop`: left as it is (`clockwork start db` starts it again)"
        ]
    );

    let kept = narrowed(plan, &state, None, None);
    assert_eq!(
        names(&kept),
        ["api", "old"],
        "the same, without hooks to tell"
    );
}

/// `db` (line 1), `api` (line 2) and a connection (line 3).
fn graph() -> Graph {
    let mut link = Declaration::fixture(2, PluginKind::Connection, "Link", "api-db");
    link.from = Some(DeclId(1));
    link.to = Some(DeclId(0));
    let project = Declared::fixture(vec![
        Declaration::fixture(0, PluginKind::Resource, "Box", "db"),
        Declaration::fixture(1, PluginKind::Resource, "Box", "api"),
        link,
    ]);
    Graph {
        project,
        specs: Default::default(),
        depends_on: Default::default(),
        layers: vec![vec![DeclId(0), DeclId(1)]],
        connections: Vec::new(),
    }
}

fn problem(decl: usize, message: &str) -> (DeclId, Located) {
    (
        DeclId(decl),
        Located {
            message: message.into(),
            location: Location {
                file: "main.star".into(),
                line: decl + 1,
                column: 1,
                offset: 0,
                len: 0,
            },
            help: None,
            source: None,
            called_from: Vec::new(),
        },
    )
}

fn refused_messages(result: Result<Plan, RunError>) -> Vec<String> {
    match result {
        Err(RunError::Invalid(problems)) => problems.into_iter().map(|p| p.message).collect(),
        Err(other) => panic!("refused for its problems, not {other}"),
        Ok(plan) => panic!("refused, not {:?}", names(&plan)),
    }
}

#[test]
fn every_problem_refuses_a_whole_run() {
    let graph = graph();
    let plan = Plan::fixture(vec![entry(Some(0), "db", ChangeKind::Create)]);
    let problems = vec![problem(0, "db's port is taken"), problem(1, "api's file")];
    assert_eq!(
        refused_messages(refused_within((plan.clone(), problems), &graph, None)),
        ["db's port is taken", "api's file"]
    );
    let kept = refused_within((plan, Vec::new()), &graph, None).expect("no problem");
    assert_eq!(names(&kept), ["db"]);
}

#[test]
fn a_narrowed_run_is_refused_only_by_its_own_resources_and_by_connections() {
    let graph = graph();
    let plan = Plan::fixture(vec![entry(Some(1), "api", ChangeKind::Update)]);
    let heal_api = only(&["api"]);

    let elsewhere = vec![problem(0, "db's port is taken")];
    let kept = refused_within((plan.clone(), elsewhere), &graph, Some(&heal_api))
        .expect("db's problem does not hold up a heal of api");
    assert_eq!(names(&kept), ["api"]);

    let own = vec![problem(0, "db's port is taken"), problem(1, "api's file")];
    assert_eq!(
        refused_messages(refused_within((plan.clone(), own), &graph, Some(&heal_api))),
        ["api's file"],
        "only its own problem is said"
    );

    let connection = vec![problem(2, "the link's step")];
    assert_eq!(
        refused_messages(refused_within((plan, connection), &graph, Some(&heal_api))),
        ["the link's step"]
    );
}

#[test]
fn an_answer_to_a_question_goes_ahead_declines_or_says_it_could_not_ask() {
    let yes = Recorded::answering(Confirmation::Yes);
    assert!(hooks::confirmed(&yes, "Delete 2 resources?".into()).is_ok());
    assert_eq!(*yes.asked.lock().unwrap(), ["Delete 2 resources?"]);

    let no = Recorded::answering(Confirmation::No);
    assert!(matches!(
        hooks::confirmed(&no, "Delete 2 resources?".into()),
        Err(RunError::Declined)
    ));

    let nobody = Recorded::answering(Confirmation::CannotAsk);
    match hooks::confirmed(&nobody, "Delete 2 resources?".into()) {
        Err(RunError::NeedsConfirmation { question }) => {
            assert_eq!(question, "Delete 2 resources?");
        }
        other => panic!("needs a confirmation, not {other:?}"),
    }
}
