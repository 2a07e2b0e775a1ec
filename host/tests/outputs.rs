//! The user-facing outputs, whole, so that any change to them shows in
//! review: the text plan and the graph of each shipped example (offline, so
//! no Engine state enters), `plugins list`, `plugins inspect`, and every
//! `--help`.

use crate::support::{TestProject, copy_dir, stderr, stdout, workspace};

/// A copy of `examples/<name>` in a project folder called `project`.
fn example(name: &str) -> TestProject {
    let project = TestProject::new();
    let source = workspace().join("examples").join(name);
    copy_dir(&source, &project.dir());
    project
}

fn ok(project: &TestProject, args: &[&str]) -> String {
    let output = project.clockwork(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{args:?}: {}",
        stderr(&output)
    );
    let dir = project
        .dir()
        .canonicalize()
        .expect("dir")
        .display()
        .to_string();
    stdout(&output).replace(&dir, "[project]")
}

macro_rules! example_outputs {
    ($($name:ident: $example:expr;)*) => {
        $(
            #[test]
            fn $name() {
                let project = example($example);
                insta::assert_snapshot!(
                    concat!(stringify!($name), "_plan"),
                    ok(&project, &["plan", "--offline"])
                );
                insta::assert_snapshot!(
                    concat!(stringify!($name), "_dot"),
                    ok(&project, &["graph"])
                );
                insta::assert_snapshot!(
                    concat!(stringify!($name), "_mermaid"),
                    ok(&project, &["graph", "--format", "mermaid"])
                );
            }
        )*
    };
}

example_outputs! {
    connected_services: "connected-services";
    connections_showcase: "connections-showcase";
    mixed_pattern: "mixed-pattern";
    assertions: "assertions";
}

#[test]
fn plugins_list_and_inspect() {
    let project = TestProject::new();
    insta::assert_snapshot!("plugins_list", ok(&project, &["plugins", "list"]));
    for name in [
        "DockerResource",
        "FileResource",
        "DatabaseConnection",
        "HealthcheckAssert",
    ] {
        insta::assert_snapshot!(
            format!("inspect_{name}"),
            ok(&project, &["plugins", "inspect", name])
        );
    }
}

#[test]
fn every_help_text() {
    use clap::CommandFactory;
    // Every command the parser knows, so a new one cannot go unseen.
    fn paths(command: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(prefix.clone());
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut path = prefix.clone();
            path.push(sub.get_name().to_string());
            paths(sub, path, out);
        }
    }
    let mut all = Vec::new();
    paths(&clockwork::Args::command(), Vec::new(), &mut all);
    assert!(all.len() > 10, "{all:?}");
    let project = TestProject::new();
    for path in all {
        let mut command: Vec<&str> = path.iter().map(String::as_str).collect();
        command.push("--help");
        insta::assert_snapshot!(
            format!("help_{}", command.join("_").replace("--", "")),
            ok(&project, &command)
        );
    }
}
