//! Errors talking to the Docker Engine, naming the object and the call.

/// Why an Engine operation failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EngineError {
    /// No engine answers.
    #[error("no Docker Engine answers at {endpoint}: {message}")]
    #[diagnostic(code("clockwork::engine::unreachable"))]
    Unreachable {
        /// `DOCKER_HOST` or the local socket.
        endpoint: String,
        /// The cause.
        message: String,
    },
    /// `[target] engine = "swarm"`, and the Engine is no swarm's manager.
    #[error(
        "the Engine at {endpoint} is not a manager of an active swarm (its swarm state: {state})"
    )]
    #[diagnostic(
        code("clockwork::engine::not_swarm_manager"),
        help(
            "point DOCKER_HOST at a manager of the swarm, or make this Engine one with `docker swarm init`; `--target local` runs on it as plain containers"
        )
    )]
    NotSwarmManager {
        /// `DOCKER_HOST` or the local socket.
        endpoint: String,
        /// `inactive`, `pending`, `locked`, … or a worker's `active`.
        state: String,
    },
    /// An Engine call failed.
    #[error("{call} `{object}`: {message}")]
    #[diagnostic(code("clockwork::engine::call"))]
    Call {
        /// The call, e.g. `create container`.
        call: &'static str,
        /// The object's name.
        object: String,
        /// The Engine's message.
        message: String,
    },
    /// An object with the name exists and is not this project's.
    #[error(
        "a {kind} named `{name}` already exists and is {owner}; Clockwork never touches it: {}",
        foreign_help(kind, owner)
    )]
    #[diagnostic(code("clockwork::engine::foreign"))]
    Foreign {
        /// container, network or volume.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Whose it is.
        owner: crate::docker::Owner,
    },
    /// A container of this project that belongs to another resource.
    #[error(
        "container `{name}` belongs to resource `{owner}` of this project, not to `{resource}`; a resource only changes its own containers"
    )]
    #[diagnostic(code("clockwork::engine::other_resource"))]
    OtherResource {
        /// The container.
        name: String,
        /// The resource it belongs to.
        owner: String,
        /// The resource that asked.
        resource: String,
    },
    /// A container could not start because a host port it publishes is taken.
    #[error(
        "container `{name}` could not start: a host port it publishes ({ports}) is already in use; free it or change `ports` (the Engine said: {message})"
    )]
    #[diagnostic(code("clockwork::engine::port_in_use"))]
    PortInUse {
        /// The container.
        name: String,
        /// Its published ports.
        ports: String,
        /// The Engine's message.
        message: String,
    },
    /// A network still has endpoints.
    #[error("network `{name}` was left in place: {}", if *attached == 0 {
        "no container uses it, but the Docker Engine still counts endpoints on it (an Engine bug after many containers are removed at once, moby#42119); restart the Docker daemon, then run `clockwork destroy` again".to_string()
    } else {
        format!("{attached} container(s) still use it (`docker network inspect {name}` lists them); disconnect them, then run `clockwork destroy` again")
    })]
    #[diagnostic(code("clockwork::engine::network_in_use"))]
    NetworkInUse {
        /// The network.
        name: String,
        /// How many containers the Engine lists on it.
        attached: usize,
    },
    /// A spec policy refuses.
    #[error("refused by policy: {0}; {fix}", fix = .0.fix())]
    #[diagnostic(code("clockwork::policy"))]
    Policy(#[from] crate::policy::Denial),
    /// A wait or exec ran out of time.
    #[error("{0}")]
    #[diagnostic(code("clockwork::engine::timeout"))]
    Timeout(String),
    /// A container stopped when it had to run.
    #[error("container `{name}` {}{}", if *code < 0 { "crashed and was restarted".to_string() } else { format!("exited with code {code}") }, if logs.is_empty() { String::new() } else { format!("; its last output:\n{logs}") })]
    #[diagnostic(code("clockwork::engine::exited"))]
    Exited {
        /// The container.
        name: String,
        /// Its exit code; negative when unknown (restarted since).
        code: i64,
        /// Its last log lines.
        logs: String,
    },
    /// The object asked for does not exist.
    #[error("no {kind} named `{name}` exists")]
    #[diagnostic(code("clockwork::engine::not_found"))]
    NotFound {
        /// container, network or volume.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A container that must run does not.
    #[error("container `{name}` is not running")]
    #[diagnostic(code("clockwork::engine::not_running"))]
    NotRunning {
        /// The container.
        name: String,
    },
    /// The Engine's stream of events failed; said as the Engine said it.
    #[error("{0}")]
    #[diagnostic(code("clockwork::engine::events"))]
    Events(bollard::errors::Error),
    /// A payload does not parse.
    #[error("invalid action payload: {0}")]
    #[diagnostic(code("clockwork::engine::payload"))]
    Payload(String),
}

fn foreign_help(kind: &str, owner: &crate::docker::Owner) -> String {
    match (kind, owner) {
        ("network", crate::docker::Owner::Project { .. }) => "give this project another name in `clockwork.toml` (`[project]` `name = \"...\"`), or remove the other project's network".into(),
        (_, crate::docker::Owner::Project { id: Some(id), .. }) => format!(
            "remove it, give the resource another `name`, or, if this project moved from that folder, take its objects over with `--adopt {id}`"
        ),
        _ => "remove or rename it, or give the resource another `name`".into(),
    }
}

impl EngineError {
    /// A failed call.
    pub fn call(call: &'static str, object: &str, e: impl std::fmt::Display) -> Self {
        let message = e.to_string();
        // bollard prefixes the Engine's own message; keep only that part.
        let message = message
            .rsplit_once("message: ")
            .map(|(_, m)| m.trim_end_matches(['"', ')', '}']).to_string())
            .unwrap_or(message);
        EngineError::Call {
            call,
            object: object.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Engine error names the call and the object, and carries a code;
    /// a policy refusal keeps its fix.
    #[test]
    fn an_engine_error_keeps_the_engines_words_and_carries_a_code() {
        let call = EngineError::call("create container", "web", "name in use");
        assert_eq!(call.to_string(), "create container `web`: name in use");
        let code = |e: &EngineError| miette::Diagnostic::code(e).map(|c| c.to_string());
        assert_eq!(code(&call).as_deref(), Some("clockwork::engine::call"));
        let refused = EngineError::from(crate::policy::Denial::NoImage);
        assert!(
            refused.to_string().starts_with("refused by policy: ")
                && refused
                    .to_string()
                    .ends_with(&crate::policy::Denial::NoImage.fix()),
            "{refused}"
        );
        assert_eq!(code(&refused).as_deref(), Some("clockwork::policy"));
    }
}
