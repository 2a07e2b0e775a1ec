//! `clockwork completions bash|zsh|fish`: clap's script for every command
//! and option, with a few lines of our own per shell so that the commands
//! taking resource names (`logs`, `exec`, `shell`, `status`, `stop`,
//! `start`, `restart`, `assert`) complete the project's declarations. The
//! names come from `clockwork [-C DIR] completions --names`, asked at each
//! completion: they follow `main.star` as it is edited, and no list goes
//! stale in the user's shell.

use std::collections::BTreeSet;

use clap::CommandFactory;

use crate::cli::args::{Args, Shell};
use crate::cli::{CliError, EXIT_OK, Invocation, project};
use crate::model::PluginKind;
use crate::output;
use crate::state::State;

/// The subcommands whose positional words are resource names.
const TAKE_NAMES: [&str; 8] = [
    "logs", "status", "ps", "stop", "start", "restart", "assert", "shell",
];
/// The subcommands whose first positional word only is a name.
const TAKE_ONE_NAME: [&str; 2] = ["exec", "shell"];

/// `clockwork completions SHELL` / `clockwork completions --names`.
pub async fn run(
    invocation: &Invocation,
    shell: Option<Shell>,
    names: bool,
) -> Result<u8, CliError> {
    if names {
        for name in declaration_names(invocation).await? {
            output::emit(&name);
        }
        return Ok(EXIT_OK);
    }
    let Some(shell) = shell else {
        return Err(CliError::Usage {
            message: "name a shell: bash, zsh or fish".into(),
            help: "e.g. `clockwork completions bash > ~/.local/share/bash-completion/completions/clockwork`".into(),
        });
    };
    output::emit(&script(shell));
    Ok(EXIT_OK)
}

/// The project's resource names (composites too) and what the state holds
/// that is no longer declared, sorted.
async fn declaration_names(invocation: &Invocation) -> Result<BTreeSet<String>, CliError> {
    let plugins = project::plugins(invocation).await?;
    let (declared, _) = crate::load::load(&invocation.project, &plugins).await?;
    let mut names: BTreeSet<String> = declared
        .of_kind(PluginKind::Resource)
        .map(|d| d.name.to_string())
        .collect();
    let folder = &invocation.project;
    if let Ok(state) = State::load(&folder.files, &folder.identity) {
        names.extend(state.resources.keys().map(|n| n.to_string()));
    }
    Ok(names)
}

/// The whole script for `shell`.
pub fn script(shell: Shell) -> String {
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Args::command();
    let mut generated = Vec::new();
    clap_complete::generate(generator, &mut command, "clockwork", &mut generated);
    let generated = String::from_utf8_lossy(&generated).into_owned();
    let many = TAKE_NAMES
        .iter()
        .filter(|c| !TAKE_ONE_NAME.contains(c))
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let one = TAKE_ONE_NAME.join(" ");
    match shell {
        Shell::Bash => format!("{generated}\n{}", bash(&many, &one)),
        Shell::Zsh => zsh(&generated),
        Shell::Fish => format!("{generated}\n{}", fish(&many, &one)),
    }
}

fn bash(many: &str, one: &str) -> String {
    format!(
        r#"# Resource names for the commands that take them (from main.star, asked
# of `clockwork completions --names` each time).
_clockwork_names() {{
    local dir=() i d
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${{COMP_WORDS[i]}} == -C ]]; then
            # The word as typed: its quotes and a leading ~ are still there
            # (never eval'd: a Tab must not run what the line holds).
            d=${{COMP_WORDS[i+1]}}
            d=${{d#[\"\']}}; d=${{d%[\"\']}}
            [[ $d == "~" || $d == "~/"* ]] && d=$HOME${{d:1}}
            dir=(-C "$d")
        fi
    done
    command clockwork "${{dir[@]}}" completions --names 2>/dev/null
}}

_clockwork_with_names() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} sub="" at=0 i words=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
            -C|--model|--base-url) ((i++)) ;;
            -*) ;;
            *) sub=${{COMP_WORDS[i]}}; at=$i; break ;;
        esac
    done
    if [[ -n $sub && $cur != -* ]]; then
        for ((i = at + 1; i < COMP_CWORD; i++)); do
            case ${{COMP_WORDS[i]}} in
                -u|--user|-w|--workdir|-e|--env|--since|-n|--tail|--format|--output|--parallelism) ((i++)) ;;
                -*) ;;
                *) ((words++)) ;;
            esac
        done
        case " {many} " in *" $sub "*)
            COMPREPLY=($(compgen -W "$(_clockwork_names)" -- "$cur"))
            return 0 ;;
        esac
        case " {one} " in *" $sub "*)
            if ((words == 0)); then
                COMPREPLY=($(compgen -W "$(_clockwork_names)" -- "$cur"))
                return 0
            fi ;;
        esac
    fi
    _clockwork "$@"
}}

complete -F _clockwork_with_names -o bashdefault -o default clockwork
"#
    )
}

fn fish(many: &str, one: &str) -> String {
    format!(
        r#"# Resource names for the commands that take them (from main.star, asked
# of `clockwork completions --names` each time).
function __clockwork_names
    set -l tokens (commandline -opc)
    set -l dir
    set -l at (contains -i -- -C $tokens)
    if test -n "$at"; and test (count $tokens) -gt $at
        # Unquoted by commandline; a leading ~ is not expanded there.
        set dir -C (string replace -r -- '^~(?=/|$)' $HOME $tokens[(math $at + 1)])
    end
    command clockwork $dir completions --names 2>/dev/null
end

# Whether the word being completed is the first after the subcommand.
function __clockwork_first_word
    set -l tokens (commandline -opc)
    set -l words 0
    set -l skip 0
    for token in $tokens[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $token
            case -C --model --base-url -u --user -w --workdir -e --env
                set skip 1
            case '-*'
            case '*'
                set words (math $words + 1)
        end
    end
    # The subcommand itself is the first word.
    test $words -le 1
end

complete -c clockwork -n "__fish_seen_subcommand_from {many}" -f -a "(__clockwork_names)"
complete -c clockwork -n "__fish_seen_subcommand_from {one}; and __clockwork_first_word" -f -a "(__clockwork_names)"
"#
    )
}

/// Zsh: clap's `_default` action for the name arguments of the commands
/// that take names becomes `_clockwork_names`.
fn zsh(generated: &str) -> String {
    let names_fn = r#"
# Resource names for the commands that take them (from main.star, asked
# of `clockwork completions --names` each time).
_clockwork_names() {
    local -a names dir
    # The line's words, not `words`: `_arguments` has narrowed that to
    # those after the subcommand, past `-C`.
    local -a typed
    typed=(${(z)LBUFFER})
    (( ${#typed} )) || typed=($words)
    local at=${typed[(i)-C]} d
    if (( at < ${#typed} )); then
        # The word as typed: unquoted here, and a leading ~ expanded.
        d=${(Q)typed[at+1]}
        [[ $d == '~' || $d == '~/'* ]] && d=$HOME${d#'~'}
        dir=(-C "$d")
    fi
    names=(${(f)"$(command clockwork $dir completions --names 2>/dev/null)"})
    compadd -a names
}
"#;
    let mut out = String::new();
    let mut subcommand = String::new();
    for (i, line) in generated.lines().enumerate() {
        let trimmed = line.trim();
        // `(logs)` opens a subcommand's case.
        if let Some(name) = trimmed
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .filter(|t| !t.contains(' '))
        {
            subcommand = name.to_string();
        }
        // `service status` and `service logs` take no names, and so have
        // no name argument to change.
        let takes = TAKE_NAMES.contains(&subcommand.as_str())
            || TAKE_ONE_NAME.contains(&subcommand.as_str());
        let is_names = trimmed.starts_with("'*::names")
            || trimmed.starts_with("':name ")
            || trimmed.starts_with("':name:");
        if takes && is_names && trimmed.contains(":_default'") {
            out.push_str(&line.replace(":_default'", ":_clockwork_names'"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        if i == 0 {
            out.push_str(names_fn);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zsh_names_arguments_complete_declarations() {
        let script = script(Shell::Zsh);
        assert!(script.starts_with("#compdef clockwork\n"), "{script}");
        let using: Vec<&str> = script
            .lines()
            .filter(|l| l.contains(":_clockwork_names'"))
            .collect();
        // logs, status, stop, start, restart, assert, exec, shell.
        assert_eq!(using.len(), 8, "{using:#?}");
        // `plugins inspect NAME` is a plugin, not a declaration.
        assert!(
            script.lines().any(
                |l| l.trim().starts_with("':name -- A plugin name") && l.contains(":_default'")
            ),
            "{script}"
        );
    }
}
