//! `llm-openai`: [`pulse_core::ports::ChatModel`] over an OpenAI-compatible chat-completions
//! endpoint (`POST {base}/chat/completions`, `Authorization: Bearer <key>`, the answer in
//! `choices[0].message.content`). OpenAI, Azure-style proxies, vLLM, llama.cpp's server and
//! Ollama speak it. Settings come from the environment only: `PULSE_LLM_BASE_URL` (e.g.
//! `https://api.openai.com/v1`), `PULSE_LLM_MODEL`, and `PULSE_LLM_API_KEY` (optional for a local
//! server). The key never appears in an error, a log or `Debug`.

use pulse_core::ports::ChatModel;
use pulse_http::{HeaderMap, HeaderValue, HttpClient, HttpConfig, Url};
use serde::Deserialize;
use std::time::Duration;

/// Environment variable of the endpoint's base URL.
pub const BASE_URL_VAR: &str = "PULSE_LLM_BASE_URL";
/// Environment variable of the model name.
pub const MODEL_VAR: &str = "PULSE_LLM_MODEL";
/// Environment variable of the API key.
pub const API_KEY_VAR: &str = "PULSE_LLM_API_KEY";

/// Why the model gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A setting is missing or malformed (names the variable, never its value when secret).
    #[error("{0}")]
    Config(String),
    /// The HTTP exchange failed (secrets redacted).
    #[error("chat model at {host}: {message}")]
    Http {
        /// host[:port] of the endpoint.
        host: String,
        /// What failed.
        message: String,
    },
    /// The endpoint answered with an error status.
    #[error("chat model at {host} answered HTTP {status}: {body}")]
    Status {
        /// host[:port] of the endpoint.
        host: String,
        /// The status code.
        status: u16,
        /// The start of the body (secrets redacted).
        body: String,
    },
    /// The answer is not a chat completion.
    #[error("chat model at {host}: the answer has no message content ({0})", host = .1)]
    Shape(String, String),
}

/// The endpoint's settings.
#[derive(Clone)]
pub struct LlmConfig {
    /// Base URL, without the trailing `/chat/completions`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// API key (`None` for a local server without one).
    pub api_key: Option<String>,
    /// Request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl LlmConfig {
    /// From the environment; `None` when `PULSE_LLM_BASE_URL` is not set (no model configured).
    pub fn from_env() -> Result<Option<LlmConfig>, LlmError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`LlmConfig::from_env`], with the environment given as a lookup.
    pub fn from_vars(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<LlmConfig>, LlmError> {
        let Some(base) = lookup(BASE_URL_VAR).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let base = base.trim().trim_end_matches('/').to_string();
        Url::parse(&base)
            .map_err(|e| LlmError::Config(format!("{BASE_URL_VAR} is not a URL: {e}")))?;
        let model = lookup(MODEL_VAR)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| LlmError::Config(format!("{MODEL_VAR} is not set")))?;
        Ok(Some(LlmConfig {
            base_url: base,
            model: model.trim().to_string(),
            api_key: lookup(API_KEY_VAR).filter(|v| !v.trim().is_empty()),
            timeout: Duration::from_secs(120),
        }))
    }
}

/// The chat model client.
pub struct OpenAiChat {
    config: LlmConfig,
    http: HttpClient,
    url: Url,
}

impl std::fmt::Debug for OpenAiChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.config.fmt(f)
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

impl OpenAiChat {
    /// A client for `config`.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let url = Url::parse(&format!("{}/chat/completions", config.base_url))
            .map_err(|e| LlmError::Config(format!("{BASE_URL_VAR}: {e}")))?;
        let http = HttpClient::new(
            HttpConfig {
                min_interval: Duration::ZERO,
                timeout: config.timeout,
                ..HttpConfig::default()
            },
            config.api_key.iter().cloned().collect(),
        )
        .map_err(|e| LlmError::Config(e.to_string()))?;
        Ok(OpenAiChat { config, http, url })
    }

    fn host(&self) -> String {
        pulse_http::host_label(&self.url)
    }
}

impl ChatModel for OpenAiChat {
    type Error = LlmError;

    /// One `POST /chat/completions` with the system and user messages, temperature 0 (the same
    /// prompt should give the same view); never retried (a POST).
    async fn complete(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.config.api_key {
            let value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                LlmError::Config(format!("{API_KEY_VAR} holds characters a header cannot"))
            })?;
            headers.insert("authorization", value);
        }
        let body = serde_json::json!({
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
        });
        let response = self
            .http
            .post_json(self.url.clone(), &headers, &body)
            .await
            .map_err(|e| LlmError::Http {
                host: self.host(),
                message: self.http.redact(&e.to_string()),
            })?;
        if !response.is_success() {
            return Err(LlmError::Status {
                host: self.host(),
                status: response.status.as_u16(),
                body: self.http.snippet(&response.body),
            });
        }
        let completion: Completion = response
            .json()
            .map_err(|e| LlmError::Shape(e.to_string(), self.host()))?;
        completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| LlmError::Shape("no choices[0].message.content".into(), self.host()))
    }
}
