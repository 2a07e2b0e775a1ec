//! A scripted OpenAI-compatible server on 127.0.0.1 for the completion
//! tests: it speaks the real wire format (`POST /v1/chat/completions`,
//! JSON in and out), records every request it receives, and answers each
//! with what the test's script says — including what a real model will
//! not do on demand (a malformed reply, a 429, a hang).

#![allow(dead_code, reason = "each test uses a different subset")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// One reply of the script.
#[derive(Clone)]
pub enum Reply {
    /// A completion whose message content is this text.
    Content(String),
    /// A completion cut off at `max_tokens`.
    Truncated(String),
    /// An HTTP error status with a body.
    Status(u16, String),
    /// No answer for this long (then the connection closes).
    Hang(Duration),
    /// A 200 whose body never ends: bytes are written until the client
    /// hangs up (or, bounded, 1 GiB were sent).
    Endless,
}

type Script = dyn Fn(&Value, usize) -> Reply + Send + Sync;

/// The server; it stops when dropped.
pub struct ModelServer {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl ModelServer {
    /// A server answering request `n` (0-based, the probe included) of body
    /// `request` with `script(request, n)`.
    pub fn start(script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("address").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        {
            let requests = requests.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let requests = requests.clone();
                            let script = script.clone();
                            std::thread::spawn(move || serve(stream, &requests, &*script));
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
            });
        }
        ModelServer {
            base_url: format!("http://127.0.0.1:{port}/v1"),
            requests,
            stop,
        }
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("lock").clone()
    }

    /// The requests other than the schema probe.
    pub fn completions(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| !is_probe(r))
            .collect()
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether a request is clockwork's schema-enforcement probe.
pub fn is_probe(request: &Value) -> bool {
    request["response_format"]["json_schema"]["name"] == "clockwork_probe"
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Value>>, script: &Script) {
    let _ = stream.set_nonblocking(false);
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut length = 0usize;
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = {
        let mut all = requests.lock().expect("lock");
        all.push(request.clone());
        all.len() - 1
    };
    let mut stream = stream;
    let (status, text) = match script(&request, n) {
        Reply::Content(content) => (200, completion(&request, &content, "stop")),
        Reply::Truncated(content) => (200, completion(&request, &content, "length")),
        Reply::Status(code, body) => (code, body),
        Reply::Hang(d) => {
            std::thread::sleep(d);
            return;
        }
        Reply::Endless => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{{\"choices\": [{{\"message\": {{\"content\": \""
            );
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..(1usize << 30) / chunk.len() {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
            return;
        }
    };
    let reason = match status {
        200 => "OK",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.flush();
}

fn completion(request: &Value, content: &str, finish: &str) -> String {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": format!("{}-served", request["model"].as_str().unwrap_or("?")),
        "system_fingerprint": "fp_scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    })
    .to_string()
}

/// The schema a request asks the answer to match.
pub fn schema(request: &Value) -> &Value {
    &request["response_format"]["json_schema"]["schema"]
}

/// The fields a request asks for.
pub fn asked(request: &Value) -> Vec<String> {
    schema(request)["properties"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The declaration a request is about.
pub fn about(request: &Value) -> String {
    let user = request["messages"][1]["content"].as_str().unwrap_or("");
    user.strip_prefix("Complete the declaration `")
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("")
        .to_string()
}

/// A valid answer to any request: the probe's integer, else a plausible
/// value for each field asked (by its name, else by its schema).
pub fn valid_answer(request: &Value) -> String {
    if is_probe(request) {
        return json!({"clockwork_probe": 1}).to_string();
    }
    let mut out = serde_json::Map::new();
    // A host port of its own per declaration, so two never collide.
    let port = 18_000 + about(request).bytes().map(u32::from).sum::<u32>() % 1000;
    if let Some(properties) = schema(request)["properties"].as_object() {
        for (name, s) in properties {
            let value = match name.as_str() {
                "ports" => json!([format!("{port}:80")]),
                _ => value_for(name, s),
            };
            out.insert(name.clone(), value);
        }
    }
    Value::Object(out).to_string()
}

fn value_for(name: &str, schema: &Value) -> Value {
    match name {
        "image" => return json!("nginx:alpine"),
        "content" => return json!("written by the scripted model\n"),
        "env_var_name" => return json!("DATABASE_URL"),
        "healthcheck" => return json!([{"key": "test", "value": "[\"CMD\", \"true\"]"}]),
        "directory" => return json!("docs"),
        "mount_path" => return json!("/data/files"),
        "volume_name" => return json!("app-files"),
        "mode" => return json!("0644"),
        "connection_string_template" => {
            return json!("postgresql://{user}:{password}@{host}:{port}/{database}");
        }
        _ => {}
    }
    match schema["type"].as_str() {
        Some("string") => match schema["enum"].as_array().and_then(|e| e.first()) {
            Some(first) => first.clone(),
            None => json!("x"),
        },
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("object") => {
            let mut o = serde_json::Map::new();
            if let Some(p) = schema["properties"].as_object() {
                for (k, s) in p {
                    o.insert(k.clone(), value_for(k, s));
                }
            }
            Value::Object(o)
        }
        _ => json!("x"),
    }
}
