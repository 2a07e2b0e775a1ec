//! Errors talking to the Docker Engine, naming the object and the call.

/// Why an Engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No engine answers.
    #[error("no Docker Engine answers at {endpoint}: {message}")]
    Unreachable {
        /// `DOCKER_HOST` or the local socket.
        endpoint: String,
        /// The cause.
        message: String,
    },
    /// An Engine call failed.
    #[error("{call} `{object}`: {message}")]
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
        "a {kind} named `{name}` already exists and is not this project's (it has no `dev.clockwork.project={project}` label); Clockwork never touches it: remove or rename it, or give the resource another `name`"
    )]
    Foreign {
        /// container, network or volume.
        kind: &'static str,
        /// Its name.
        name: String,
        /// This project.
        project: String,
    },
    /// A spec policy refuses.
    #[error("refused by policy: {0}")]
    Policy(String),
    /// A wait or exec ran out of time.
    #[error("{0}")]
    Timeout(String),
    /// A container stopped when it had to run.
    #[error("container `{name}` {}{}", if *code < 0 { "crashed and was restarted".to_string() } else { format!("exited with code {code}") }, if logs.is_empty() { String::new() } else { format!("; its last output:\n{logs}") })]
    Exited {
        /// The container.
        name: String,
        /// Its exit code; negative when unknown (restarted since).
        code: i64,
        /// Its last log lines.
        logs: String,
    },
    /// A payload does not parse.
    #[error("invalid action payload: {0}")]
    Payload(String),
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
