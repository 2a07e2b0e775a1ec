//! Which model completion asks, from `--model`/`--base-url`, the process
//! environment and the project's `.env` (in that order of precedence).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::complete::chat::ModelSettings;

/// The command-line flags.
#[derive(Debug, Clone, Default)]
pub struct ModelFlags {
    /// `--model`
    pub model: Option<String>,
    /// `--base-url`
    pub base_url: Option<String>,
}

/// A setting that cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{name}: {message}")]
pub struct SettingsError {
    /// The variable or flag.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// How to configure a model, for messages that need one.
pub const HOW_TO_CONFIGURE: &str = "configure an OpenAI-compatible model: set CW_BASE_URL (e.g. \
http://127.0.0.1:8080/v1) and CW_MODEL, and CW_API_KEY if the server needs one, in the environment \
or in the project's .env, or pass --base-url and --model";

/// The model to ask, or `None` when none is configured.
pub fn model_settings(
    flags: &ModelFlags,
    dotenv: &BTreeMap<String, String>,
) -> Result<Option<ModelSettings>, SettingsError> {
    let get = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| dotenv.get(name).cloned().filter(|v| !v.is_empty()))
    };
    let base_url = flags.base_url.clone().or_else(|| get("CW_BASE_URL"));
    let model = flags.model.clone().or_else(|| get("CW_MODEL"));
    let (base_url, model) = match (base_url, model) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(SettingsError {
                name: "CW_MODEL".into(),
                message: "CW_BASE_URL is set but no model is named; set CW_MODEL (or --model) to the model's name on that server".into(),
            });
        }
        (None, Some(_)) => {
            return Err(SettingsError {
                name: "CW_BASE_URL".into(),
                message: "a model is named but no server; set CW_BASE_URL (or --base-url), e.g. http://127.0.0.1:8080/v1".into(),
            });
        }
        (Some(b), Some(m)) => (b, m),
    };
    match url::Url::parse(&base_url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        _ => {
            return Err(SettingsError {
                name: "CW_BASE_URL".into(),
                message: format!(
                    "`{base_url}` is not an http(s) URL, e.g. http://127.0.0.1:8080/v1"
                ),
            });
        }
    }
    let number = |name: &str, default: u64| -> Result<u64, SettingsError> {
        match get(name) {
            None => Ok(default),
            Some(text) => text.trim().parse().map_err(|_| SettingsError {
                name: name.into(),
                message: format!("`{text}` is not a whole number"),
            }),
        }
    };
    let api_key = get("CW_API_KEY");
    if let Some(key) = &api_key {
        crate::output::register_secrets([key.clone()]);
    }
    Ok(Some(ModelSettings {
        base_url,
        model,
        api_key,
        timeout: Duration::from_secs(number("CW_MODEL_TIMEOUT", 120)?.max(1)),
        max_tokens: number("CW_MODEL_MAX_TOKENS", 1024)?.clamp(16, 65_536) as u32,
        retries: number("CW_MODEL_RETRIES", 3)?.min(10) as u32,
    }))
}
