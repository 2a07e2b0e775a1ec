//! `clockwork completions`: the scripts run in real bash, fish and zsh
//! (installed by scripts/ensure-shells.sh), complete subcommands and
//! options through clap's part, and the project's resource names, asked
//! of the real binary, for `logs`, `status`, `exec` (its first word only)
//! and the others that take names.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{TestProject, stderr, stdout};

const PROJECT: &str = r#"
db = DockerResource(name = "db", image = "postgres:15-alpine")
api = DockerResource(name = "api", image = "nginx:alpine")
api.connect(db)
stack = BlankResource(name = "stack")
stack.add(DockerResource(name = "worker", image = "busybox:latest"))
"#;

/// A shell with the binary under test first on PATH and the test's
/// folders, as the scripts call `clockwork` by name.
fn shell(project: &TestProject, program: &str, args: &[&str]) -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_clockwork"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(program)
        .args(args)
        .env("PATH", path)
        .env("HOME", project.root.path())
        .env("XDG_DATA_HOME", project.root.path().join("data"))
        .env("CW_CACHE_DIR", crate::support::test_cache())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/ensure-shells.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}\n{}",
        stdout_of(&out.stdout),
        stdout_of(&out.stderr)
    );
    stdout_of(&out.stdout)
}

fn stdout_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    out.sort();
    out
}

fn script_file(project: &TestProject, shell: &str) -> String {
    let out = project.clockwork(&["completions", shell]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = project.root.path().join(format!("completion.{shell}"));
    std::fs::write(&path, stdout(&out)).expect("write");
    path.display().to_string()
}

const NAMES: [&str; 4] = ["api", "db", "stack", "worker"];

#[test]
fn names_are_the_projects_resources() {
    let project = TestProject::new();
    project.write("main.star", PROJECT);
    let out = project.clockwork(&["completions", "--names"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lines(&stdout(&out)), NAMES);
    let out = project.clockwork(&["completions"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("name a shell"), "{}", stderr(&out));
}

#[test]
fn bash_completes_commands_options_and_names() {
    let project = TestProject::new();
    project.write("main.star", PROJECT);
    let script = script_file(&project, "bash");
    let dir = project.dir().display().to_string();
    let complete = |words: &str| {
        let program = format!(
            r#"source '{script}'; COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}; _clockwork_with_names clockwork "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        lines(&shell(&project, "bash", &["-c", &program]))
    };
    assert_eq!(complete(&format!("clockwork -C '{dir}' logs ''")), NAMES);
    assert_eq!(complete(&format!("clockwork -C '{dir}' status a")), ["api"]);
    assert_eq!(
        complete(&format!("clockwork -C '{dir}' restart db w")),
        ["worker"]
    );
    assert_eq!(complete(&format!("clockwork -C '{dir}' exec ''")), NAMES);
    // After exec's name comes the command: not a name again.
    assert!(!complete(&format!("clockwork -C '{dir}' exec api d")).contains(&"db".to_string()));
    // Subcommands and options are clap's.
    assert!(complete("clockwork lo").contains(&"logs".to_string()));
    assert!(complete(&format!("clockwork -C '{dir}' logs --ta")).contains(&"--tail".to_string()));
    // COMP_WORDS holds the words as typed: quoted, or with a `~`.
    assert_eq!(
        complete(&format!("clockwork -C \"'{dir}'\" logs ''")),
        NAMES
    );
    assert_eq!(complete("clockwork -C '~/project' logs ''"), NAMES);
}

#[test]
fn fish_completes_commands_and_names() {
    let project = TestProject::new();
    project.write("main.star", PROJECT);
    let script = script_file(&project, "fish");
    let dir = project.dir().display().to_string();
    let complete = |line: &str| {
        lines(&shell(
            &project,
            "fish",
            &[
                "--no-config",
                "-c",
                &format!("source '{script}'; complete -C \"{line}\""),
            ],
        ))
    };
    assert_eq!(complete(&format!("clockwork -C {dir} logs ")), NAMES);
    assert_eq!(complete(&format!("clockwork -C {dir} exec ")), NAMES);
    assert!(!complete(&format!("clockwork -C {dir} exec api ")).contains(&"db".to_string()));
    assert!(complete("clockwork lo").contains(&"logs".to_string()));
    assert!(complete(&format!("clockwork -C {dir} logs --ta")).contains(&"--tail".to_string()));
    // Quoted, or under `~`, as a user types it.
    assert_eq!(complete(&format!("clockwork -C '{dir}' logs ")), NAMES);
    assert_eq!(complete("clockwork -C ~/project logs "), NAMES);
}

#[test]
fn zsh_script_parses_and_its_names_function_asks_the_project() {
    let project = TestProject::new();
    project.write("main.star", PROJECT);
    let script = script_file(&project, "zsh");
    shell(&project, "zsh", &["-n", &script]);
    let dir = project.dir().display().to_string();
    // compinit for compdef; compadd (a builtin of the completion system,
    // usable only inside a completion) prints what it is given instead.
    let program = format!(
        r#"autoload -U compinit; compinit -u -d '{root}/zcompdump'; source '{script}'; compadd() {{ print -l -- ${{(P)2}} }}; words=(clockwork -C '{dir}' logs ''); _clockwork_names"#,
        root = project.root.path().display()
    );
    assert_eq!(lines(&shell(&project, "zsh", &["-fc", &program])), NAMES);
}

/// zsh's own completion, as a user's Tab runs it: an interactive zsh in a
/// pseudo-terminal (its `zpty` module) loads the script through `fpath`
/// and `compinit`, is sent a command line and a Tab, and lists or inserts
/// what the script offers. `timeout` bounds a read that never matches.
#[test]
fn zsh_completes_names_at_a_tab_in_a_terminal() {
    let project = TestProject::new();
    project.write("main.star", PROJECT);
    let functions = project.root.path().join("zfunc");
    std::fs::create_dir_all(&functions).expect("mkdir");
    let out = project.clockwork(&["completions", "zsh"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // compinit reads `_clockwork` from fpath, as an installed script is.
    std::fs::write(functions.join("_clockwork"), stdout(&out)).expect("write");
    let dir = project.dir().display().to_string();
    let root = project.root.path().display().to_string();
    // `then`: keys after the Tab; ^X shows the line as it stands then.
    let tab = |line: &str, then: &str, until: &str| {
        let driver = format!(
            r#"zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=('{functions}' \$fpath); autoload -U compinit; compinit -u -d '{root}/zcompdump'"
zpty -w z "zstyle ':completion:*' list-prompt ''"
zpty -w z "shown() {{ zle -M \"line<\$BUFFER>end\" }}; zle -N shown; bindkey '^X' shown"
zpty -n -w z "{line}"$'\t'{then}
zpty -r -m z seen '{until}'
print -r -- "$seen"
zpty -d z
"#,
            functions = functions.display()
        );
        shell(&project, "timeout", &["60", "zsh", "-fc", &driver])
    };
    // Several: listed, each of the project's names; the folder quoted, or
    // under `~`, as a user types it.
    for line in [
        format!("clockwork -C '{dir}' logs "),
        "clockwork -C ~/project status ".to_string(),
    ] {
        let listed = tab(&line, "", "*worker*");
        for name in NAMES {
            assert!(listed.contains(name), "{name} not listed:\n{listed}");
        }
    }
    // One that fits: inserted, for exec's first word.
    // The terminal is sent only what changed; ^X has the line shown whole.
    let inserted = tab(
        &format!("clockwork -C '{dir}' exec wor"),
        "$'\\x18'",
        "*worker >end*",
    );
    assert!(inserted.contains("exec worker >end"), "{inserted}");
}
