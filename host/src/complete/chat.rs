//! An OpenAI-compatible chat-completions client that asks for one JSON
//! object matching a schema, and copes with how servers differ: llama.cpp
//! honours only the nested `json_schema.schema` form, some servers accept a
//! schema without enforcing it, every server may stop at `max_tokens`, and
//! a busy one answers 429 or 5xx. So the answer is parsed leniently (code
//! fences, `<think>` blocks), `finish_reason` is checked, and transient
//! failures are retried a bounded number of times with backoff.

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// Where the model is and how to talk to it.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// The API root, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model name sent in every request, e.g. `smollm2-135m`.
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set; a secret.
    pub api_key: Option<String>,
    /// How long one request may take.
    pub timeout: Duration,
    /// `max_tokens` of every request.
    pub max_tokens: u32,
    /// How many times a 429, a 5xx or a dropped connection is retried.
    pub retries: u32,
}

impl ModelSettings {
    /// `…/chat/completions` under the base URL; a bare `http://host:port`
    /// gets the usual `/v1`.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        let bare = url::Url::parse(base).is_ok_and(|u| u.path() == "/" || u.path().is_empty());
        if bare {
            format!("{base}/v1/chat/completions")
        } else {
            format!("{base}/chat/completions")
        }
    }
}

/// A message of the conversation.
#[derive(Debug, Clone)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// Its text.
    pub content: String,
}

/// A parsed answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The JSON object the model wrote.
    pub value: Json,
    /// The text it wrote, for error messages.
    pub text: String,
    /// The `model` the server says answered.
    pub model_id: String,
    /// The server's `system_fingerprint`, when it sends one.
    pub system_fingerprint: Option<String>,
    /// Whether the text was strict JSON (nothing stripped around it).
    pub strict: bool,
}

/// The most of a reply that is read: an answer of `max_tokens` tokens is a
/// few kilobytes; the rest of a reply (usage, logprobs) is small.
pub const MAX_REPLY_BYTES: u64 = 4 << 20;

/// Why a request got no usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChatError {
    /// The server could not be reached.
    #[error("cannot reach the model server at {url}: {message}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server answered with an error status.
    #[error("the model server answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// No answer within the timeout.
    #[error("the model server did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer stopped at `max_tokens`.
    #[error("the answer was cut off at max_tokens ({max_tokens}): {text}")]
    Truncated {
        /// The limit.
        max_tokens: u32,
        /// What it wrote.
        text: String,
    },
    /// The answer holds no JSON object.
    #[error("the answer is not a JSON object ({message}): {text}")]
    NotJson {
        /// The parser's complaint.
        message: String,
        /// What it wrote.
        text: String,
    },
    /// The reply is not a chat completion.
    #[error("the model server's reply is not a chat completion: {0}")]
    Protocol(String),
    /// The reply is larger than any answer can be.
    #[error(
        "the model server's reply is larger than {}, the most Clockwork reads of one; nothing of it was used",
        crate::project::bytes(*.0)
    )]
    TooLarge(u64),
}

impl ChatError {
    /// Whether asking again later may succeed.
    fn transient(&self) -> bool {
        match self {
            ChatError::Unreachable { .. } | ChatError::Timeout(_) => true,
            ChatError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Whether asking again with a note may get a valid answer.
    pub fn answer_problem(&self) -> bool {
        matches!(
            self,
            ChatError::Truncated { .. } | ChatError::NotJson { .. }
        )
    }
}

/// What the schema-enforcement probe found.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The answer had exactly the shape the schema asked for, which the
    /// prompt did not ask for: the server enforces the schema.
    pub enforced: bool,
    /// The model the server says answered.
    pub model_id: String,
    /// How long the request took.
    pub latency: Duration,
    /// What it answered.
    pub text: String,
}

/// The client; one per invocation.
pub struct ChatClient {
    settings: ModelSettings,
    http: reqwest::Client,
}

impl ChatClient {
    /// A client for `settings`.
    pub fn new(settings: ModelSettings) -> Result<Self, ChatError> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .map_err(|e| ChatError::Unreachable {
                url: settings.endpoint(),
                message: e.to_string(),
            })?;
        Ok(ChatClient { settings, http })
    }

    /// The settings it uses.
    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// The request body for `messages` and a response schema.
    pub fn body(&self, messages: &[Message], name: &str, schema: &Json, max_tokens: u32) -> Json {
        let messages: Vec<Json> = messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        json!({
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
            "stream": false,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "strict": true, "schema": schema},
            },
        })
    }

    /// Asks once (with retries of transient failures) for an object
    /// matching `schema`. `again`: the previous answer could not be used;
    /// at temperature 0 a model that looped would loop the same way, so
    /// repetition is penalised this time (both penalties are part of the
    /// OpenAI API).
    pub async fn ask(
        &self,
        messages: &[Message],
        name: &str,
        schema: &Json,
        again: bool,
    ) -> Result<Answer, ChatError> {
        let mut body = self.body(messages, name, schema, self.settings.max_tokens);
        if again {
            body["frequency_penalty"] = json!(0.6);
            body["presence_penalty"] = json!(0.3);
        }
        self.send(&body, self.settings.max_tokens).await
    }

    async fn send(&self, body: &Json, max_tokens: u32) -> Result<Answer, ChatError> {
        let mut attempt = 0;
        loop {
            match self.send_once(body, max_tokens).await {
                Err(e) if e.transient() && attempt < self.settings.retries => {
                    let wait = backoff(attempt);
                    crate::output::note(&format!(
                        "{e}; asking again in {} ms ({} of {})",
                        wait.as_millis(),
                        attempt + 1,
                        self.settings.retries
                    ));
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, body: &Json, max_tokens: u32) -> Result<Answer, ChatError> {
        let url = self.settings.endpoint();
        let mut request = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.failure(&url, e))?;
        let status = response.status();
        let text = self.bounded_text(response, &url).await?;
        if !status.is_success() {
            return Err(ChatError::Status {
                status: status.as_u16(),
                body: crate::output::masked(&short(&text, 300)),
            });
        }
        let reply: Json = serde_json::from_str(&text)
            .map_err(|e| ChatError::Protocol(format!("{e}: {}", short(&text, 200))))?;
        let choice = &reply["choices"][0];
        let content = choice["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                ChatError::Protocol(format!(
                    "no choices[0].message.content in {}",
                    short(&text, 200)
                ))
            })?
            .to_string();
        if choice["finish_reason"] == "length" {
            return Err(ChatError::Truncated {
                max_tokens,
                text: short(&content, 400),
            });
        }
        let (value, strict) = parse_lenient(&content).map_err(|message| ChatError::NotJson {
            message,
            text: short(&content, 400),
        })?;
        Ok(Answer {
            value,
            text: content,
            model_id: reply["model"]
                .as_str()
                .unwrap_or(&self.settings.model)
                .to_string(),
            system_fingerprint: reply["system_fingerprint"].as_str().map(str::to_string),
            strict,
        })
    }

    /// The reply's body, read a chunk at a time and given up past
    /// [`MAX_REPLY_BYTES`]: a server streaming without end must not fill
    /// this machine's memory (the request's timeout bounds the time).
    async fn bounded_text(
        &self,
        mut response: reqwest::Response,
        url: &str,
    ) -> Result<String, ChatError> {
        if response
            .content_length()
            .is_some_and(|n| n > MAX_REPLY_BYTES)
        {
            return Err(ChatError::TooLarge(MAX_REPLY_BYTES));
        }
        let mut body: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure(url, e))? {
            if body.len() as u64 + chunk.len() as u64 > MAX_REPLY_BYTES {
                return Err(ChatError::TooLarge(MAX_REPLY_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn failure(&self, url: &str, e: reqwest::Error) -> ChatError {
        if e.is_timeout() {
            ChatError::Timeout(self.settings.timeout)
        } else {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message = format!("{message}: {s}");
                source = s.source();
            }
            ChatError::Unreachable {
                url: url.to_string(),
                message,
            }
        }
    }

    /// One tiny request whose schema asks for a shape the prompt does not:
    /// a server that enforces the schema answers with exactly that shape,
    /// one that ignores it answers the prompt.
    pub async fn probe(&self) -> Result<Probe, ChatError> {
        let schema = json!({
            "type": "object",
            "properties": {"clockwork_probe": {"type": "integer"}},
            "required": ["clockwork_probe"],
            "additionalProperties": false,
        });
        let messages = [Message {
            role: "user",
            content: "Say hello in one word.".into(),
        }];
        let body = self.body(&messages, "clockwork_probe", &schema, 24);
        let started = Instant::now();
        let answer = match self.send(&body, 24).await {
            Ok(answer) => answer,
            Err(ChatError::NotJson { text, .. }) | Err(ChatError::Truncated { text, .. }) => {
                return Ok(Probe {
                    enforced: false,
                    model_id: self.settings.model.clone(),
                    latency: started.elapsed(),
                    text,
                });
            }
            Err(e) => return Err(e),
        };
        let enforced = answer.strict
            && answer.value.as_object().is_some_and(|o| {
                o.len() == 1
                    && o.get("clockwork_probe")
                        .is_some_and(|v| v.is_i64() || v.is_u64())
            });
        Ok(Probe {
            enforced,
            model_id: answer.model_id,
            latency: started.elapsed(),
            text: answer.text,
        })
    }
}

/// 0.5 s doubling, at most 8 s, with up to 25 % jitter so clients that
/// failed together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.min(4));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    Duration::from_millis(base + nanos % (base / 4 + 1))
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The JSON object in a model's text: as is, or inside a code fence, after
/// a `<think>` block, or between the first `{` and the last `}`. Returns
/// whether the text was strict JSON.
pub fn parse_lenient(text: &str) -> Result<(Json, bool), String> {
    if let Ok(value @ Json::Object(_)) = serde_json::from_str::<Json>(text.trim()) {
        return Ok((value, true));
    }
    let mut rest = text;
    while let Some(start) = rest.find("<think>") {
        match rest[start..].find("</think>") {
            Some(end) => rest = &rest[start + end + "</think>".len()..],
            None => break,
        }
    }
    let fenced = rest.find("```").and_then(|open| {
        let after = &rest[open + 3..];
        let body_start = after.find('\n').map(|n| n + 1).unwrap_or(0);
        let body = &after[body_start..];
        body.find("```").map(|close| &body[..close])
    });
    for candidate in fenced.into_iter().chain(std::iter::once(rest)) {
        if let Ok(value @ Json::Object(_)) = serde_json::from_str::<Json>(candidate.trim()) {
            return Ok((value, false));
        }
        if let (Some(open), Some(close)) = (candidate.find('{'), candidate.rfind('}'))
            && open < close
            && let Ok(value @ Json::Object(_)) =
                serde_json::from_str::<Json>(&candidate[open..=close])
        {
            return Ok((value, false));
        }
    }
    match serde_json::from_str::<Json>(rest.trim()) {
        Ok(_) => Err("a JSON value but not an object".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_found_in_fences_think_blocks_and_prose() {
        assert_eq!(parse_lenient(r#"{"a": 1}"#), Ok((json!({"a": 1}), true)));
        assert_eq!(
            parse_lenient("```json\n{\"a\": 2}\n```").map(|v| v.0),
            Ok(json!({"a": 2}))
        );
        assert_eq!(
            parse_lenient("<think>{\"no\": 0}</think>\n{\"a\": 3}").map(|v| v.0),
            Ok(json!({"a": 3}))
        );
        assert_eq!(
            parse_lenient("Sure! Here it is: {\"a\": 4}. Enjoy").map(|v| v.0),
            Ok(json!({"a": 4}))
        );
        assert!(
            parse_lenient("[1, 2]")
                .unwrap_err()
                .contains("not an object")
        );
        assert!(parse_lenient("{\"a\": ").is_err());
    }

    #[test]
    fn the_endpoint_adds_v1_only_to_a_bare_server() {
        let s = |base: &str| ModelSettings {
            base_url: base.into(),
            model: "m".into(),
            api_key: None,
            timeout: Duration::from_secs(1),
            max_tokens: 1,
            retries: 0,
        };
        assert_eq!(
            s("http://127.0.0.1:8080").endpoint(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            s("http://127.0.0.1:8080/v1/").endpoint(),
            "http://127.0.0.1:8080/v1/chat/completions"
        );
        assert_eq!(
            s("http://h/api/openai/v1").endpoint(),
            "http://h/api/openai/v1/chat/completions"
        );
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(0) >= Duration::from_millis(500));
        assert!(backoff(1) >= Duration::from_millis(1000));
        assert!(backoff(30) <= Duration::from_millis(10_000));
    }
}
