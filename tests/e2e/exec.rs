//! `clockwork exec` and `clockwork shell` on the real Engine: the command
//! runs in the resource's container with its streams apart and its exit
//! code; stdin is passed through; a terminal when there is one (under
//! `script`, which gives it a pseudo-terminal); clear refusals for a
//! stopped resource, a composite and a name that is not the project's.

use std::process::{Command, Stdio};

use crate::stack::Stack;

const SLEEPER: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;

/// `clockwork ARGS` run by `script`, on a pseudo-terminal, fed `input`.
fn on_a_terminal(stack: &Stack, args: &[&str], input: &str) -> (i32, String) {
    let clockwork = stack.command(args);
    let line: Vec<String> = std::iter::once(clockwork.get_program())
        .chain(clockwork.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', r"'\''")))
        .collect();
    let mut script = Command::new("script");
    script
        .args(["-qec", &line.join(" "), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in clockwork.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    let mut child = script.spawn().expect("script runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("script ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace('\r', ""),
    )
}

#[test]
fn exec_and_shell_run_in_the_resources_container() {
    let stack = Stack::new("cw-e2e-exec");
    stack.write(
        "main.star",
        &format!(
            r#"
box = DockerResource(name = "ex-box", image = "busybox:latest", command = {SLEEPER},
                     env_vars = {{"GREETING": "hello"}})
idle = DockerResource(name = "ex-idle", image = "busybox:latest", command = {SLEEPER})
pair = BlankResource(name = "ex-pair")
pair.add(DockerResource(name = "ex-left", image = "busybox:latest", command = {SLEEPER}))
"#
        ),
    );
    stack.ok(&["apply", "--yes"]);

    // Streams apart, the command's exit code, the container's environment.
    let run = stack.run(&[
        "exec",
        "ex-box",
        "--",
        "sh",
        "-c",
        "echo out $GREETING; echo err >&2; exit 3",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stdout, "out hello\n");
    assert!(run.stderr.contains("err"), "{}", run.stderr);

    // Options, and stdin through a pipe.
    let run = stack.run(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "nobody",
        "ex-box",
        "sh",
        "-c",
        "echo $X $(pwd) $(id -un)",
    ]);
    assert_eq!(run.stdout, "1 /tmp nobody\n", "{}", run.stderr);
    let mut piped = stack
        .command(&[
            "exec",
            "ex-box",
            "--",
            "sh",
            "-c",
            "tr a-z A-Z; tty || true",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clockwork runs");
    {
        use std::io::Write;
        let mut stdin = piped.stdin.take().expect("stdin");
        stdin.write_all(b"piped in\n").expect("write");
    }
    let out = piped.wait_with_output().expect("ends");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "PIPED IN\nnot a tty\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A terminal when there is one, and the shell.
    let (code, printed) = on_a_terminal(&stack, &["exec", "ex-box", "--", "tty"], "");
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("/dev/pts/"), "no terminal: {printed}");
    let (code, printed) = on_a_terminal(
        &stack,
        &["shell", "ex-box"],
        "echo shell-is $0 $GREETING\nexit 4\n",
    );
    assert_eq!(code, 4, "{printed}");
    assert!(printed.contains("shell-is bash hello"), "{printed}");

    // A program the image lacks.
    let run = stack.run(&["exec", "ex-box", "no-such-program"]);
    assert_eq!(run.code, 126, "{}", run.stderr);
    assert!(
        run.stderr.contains("is it installed in the image?"),
        "{}",
        run.stderr
    );

    // Refusals.
    stack.ok(&["stop", "ex-idle"]);
    let run = stack.run(&["exec", "ex-idle", "true"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("is not running"), "{}", run.stderr);
    assert!(
        run.stderr.contains("clockwork start ex-idle"),
        "{}",
        run.stderr
    );
    let run = stack.run(&["exec", "ex-pair", "true"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("`ex-left`"), "{}", run.stderr);
    let run = stack.run(&["exec", "ex-bx", "true"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `ex-box`?"),
        "{}",
        run.stderr
    );
    stack.ok(&["destroy", "--yes"]);
}
