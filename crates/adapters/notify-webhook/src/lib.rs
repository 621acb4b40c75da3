//! `notify-webhook` implements [`pulse_core::ports::Notifier`] by POSTing each alert as JSON to a
//! webhook URL. The body carries a human-readable `text` field (what Slack and most chat bridges
//! display) plus the structured alert. The URL may embed a secret token, so it is never printed:
//! errors and `Debug` show only its scheme and host.
//!
//! Delivery never decides the fate of a trading run: each post is retried on transient failures
//! (unreachable, timeout, HTTP 5xx or 429) with a doubling backoff ([`RetryPolicy`]). The bounded
//! queue that reports failures instead of failing a run is the application layer's
//! (`pulse_app::alerts::AlertQueue`), in front of any notifier.

use pulse_core::jiff::Timestamp;
use pulse_core::ports::{AlertRecord, Notifier};
use serde::Serialize;
use std::time::Duration;

/// Webhook failures (the URL is redacted to scheme and host).
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL does not parse or is not http(s).
    #[error("invalid webhook URL ({0}): expected http:// or https://")]
    InvalidUrl(String),
    /// The request could not be sent.
    #[error("cannot reach webhook {host}: {reason}")]
    Unreachable {
        /// Scheme and host of the webhook.
        host: String,
        /// Cause (without the URL).
        reason: String,
    },
    /// The server answered with an error status.
    #[error("webhook {host} answered HTTP {status}")]
    Status {
        /// Scheme and host of the webhook.
        host: String,
        /// HTTP status code.
        status: u16,
    },
    /// The alert's weights are not valid JSON.
    #[error("alert weights are not JSON: {0}")]
    Payload(String),
}

/// The JSON body posted for one alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertPayload {
    /// One-line summary for chat displays: "[Pulse] 2025-03-04T…: TSLL 50.0% → 0.0%".
    pub text: String,
    /// Decision time (UTC).
    pub ts: Timestamp,
    /// Strategy that raised the alert.
    pub strategy: String,
    /// The change in words.
    pub message: String,
    /// Target weights before (fractions).
    pub old_weights: serde_json::Value,
    /// Target weights after (fractions).
    pub new_weights: serde_json::Value,
}

impl AlertPayload {
    /// Builds the body of an alert.
    pub fn from_record(a: &AlertRecord) -> Result<Self, WebhookError> {
        let parse =
            |s: &str| serde_json::from_str(s).map_err(|e| WebhookError::Payload(e.to_string()));
        Ok(AlertPayload {
            text: format!("[{}] {}: {}", a.strategy, a.ts, a.message),
            ts: a.ts,
            strategy: a.strategy.clone(),
            message: a.message.clone(),
            old_weights: parse(&a.old_weights_json)?,
            new_weights: parse(&a.new_weights_json)?,
        })
    }
}

impl WebhookError {
    /// A failure worth retrying: the webhook could not be reached (or timed out), or answered
    /// HTTP 5xx or 429. A bad URL, a bad payload or another 4xx will not get better.
    pub fn is_transient(&self) -> bool {
        match self {
            WebhookError::Unreachable { .. } => true,
            WebhookError::Status { status, .. } => *status >= 500 || *status == 429,
            WebhookError::InvalidUrl(_) | WebhookError::Payload(_) => false,
        }
    }
}

/// The shape of the posted body, for the chat service behind the webhook.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WebhookFormat {
    /// The whole [`AlertPayload`] (`text` plus the structured alert; Slack shows `text`).
    #[default]
    Json,
    /// Slack incoming webhook: `{"text": …}`.
    Slack,
    /// Discord webhook: `{"content": …}` (at most 2,000 characters).
    Discord,
    /// Telegram Bot API `sendMessage` (URL `https://api.telegram.org/bot<token>/sendMessage`):
    /// `{"chat_id": …, "text": …}`.
    Telegram {
        /// The chat to post to.
        chat_id: String,
    },
}

impl WebhookFormat {
    /// The body posted for `payload` in this format.
    pub fn body(&self, payload: &AlertPayload) -> Result<serde_json::Value, WebhookError> {
        Ok(match self {
            WebhookFormat::Json => {
                serde_json::to_value(payload).map_err(|e| WebhookError::Payload(e.to_string()))?
            }
            WebhookFormat::Slack => serde_json::json!({ "text": payload.text }),
            WebhookFormat::Discord => {
                let content: String = payload.text.chars().take(2000).collect();
                serde_json::json!({ "content": content })
            }
            WebhookFormat::Telegram { chat_id } => {
                serde_json::json!({ "chat_id": chat_id, "text": payload.text })
            }
        })
    }
}

/// How often a post is tried and how long to wait in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per alert, the first included (at least 1).
    pub attempts: u32,
    /// Wait before the second try; doubled before each further one.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 tries, 250 ms then 500 ms apart.
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// Posts alerts to one webhook URL.
pub struct WebhookNotifier {
    url: String,
    host: String,
    client: reqwest::Client,
    retry: RetryPolicy,
    format: WebhookFormat,
}

impl std::fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// A notifier for `url` (http or https) with a 10 s timeout.
    pub fn new(url: &str) -> Result<Self, WebhookError> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| WebhookError::InvalidUrl(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(WebhookError::InvalidUrl(format!(
                "scheme {}",
                parsed.scheme()
            )));
        }
        let host = format!(
            "{}://{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or("?"),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WebhookError::Unreachable {
                host: host.clone(),
                reason: e.to_string(),
            })?;
        Ok(WebhookNotifier {
            url: url.to_string(),
            host,
            client,
            retry: RetryPolicy::default(),
            format: WebhookFormat::default(),
        })
    }

    /// The same notifier posting bodies in `format`.
    pub fn with_format(mut self, format: WebhookFormat) -> Self {
        self.format = format;
        self
    }

    /// The same notifier with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = RetryPolicy {
            attempts: retry.attempts.max(1),
            ..retry
        };
        self
    }

    /// Scheme, host and port of the webhook (what messages may show; never the secret path).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Posts one payload, retrying transient failures per the [`RetryPolicy`]; the error is the
    /// last try's.
    pub async fn send_with_retry(&self, payload: &AlertPayload) -> Result<(), WebhookError> {
        let mut wait = self.retry.backoff;
        let mut tries = 1;
        loop {
            match self.send(payload).await {
                Err(e) if e.is_transient() && tries < self.retry.attempts => {
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Posts one payload (in the notifier's [`WebhookFormat`]).
    pub async fn send(&self, payload: &AlertPayload) -> Result<(), WebhookError> {
        let body = self.format.body(payload)?;
        let response = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| WebhookError::Unreachable {
                host: self.host.clone(),
                reason: e.without_url().to_string(),
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(WebhookError::Status {
                host: self.host.clone(),
                status: status.as_u16(),
            });
        }
        Ok(())
    }
}

impl Notifier for WebhookNotifier {
    type Error = WebhookError;

    /// Posts one alert with retries ([`WebhookNotifier::send_with_retry`]).
    async fn notify(&self, alert: &AlertRecord) -> Result<(), WebhookError> {
        self.send_with_retry(&AlertPayload::from_record(alert)?)
            .await
    }
}

#[cfg(test)]
mod format_tests {
    use super::*;

    fn payload() -> AlertPayload {
        AlertPayload {
            text: "[trade: pulse] 2024-06-04T20:00:00Z: FILL buy 10 TSLA".into(),
            ts: "2024-06-04T20:00:00Z"
                .parse()
                .unwrap_or(Timestamp::UNIX_EPOCH),
            strategy: "trade: pulse".into(),
            message: "FILL buy 10 TSLA".into(),
            old_weights: serde_json::json!({}),
            new_weights: serde_json::json!({}),
        }
    }

    #[test]
    fn each_chat_service_gets_its_own_body() -> Result<(), WebhookError> {
        let p = payload();
        let json = WebhookFormat::Json.body(&p)?;
        assert_eq!(json["message"], "FILL buy 10 TSLA");
        assert_eq!(json["text"], p.text);
        assert_eq!(
            WebhookFormat::Slack.body(&p)?,
            serde_json::json!({ "text": p.text })
        );
        assert_eq!(
            WebhookFormat::Discord.body(&p)?,
            serde_json::json!({ "content": p.text })
        );
        let telegram = WebhookFormat::Telegram {
            chat_id: "-100123".into(),
        };
        assert_eq!(
            telegram.body(&p)?,
            serde_json::json!({ "chat_id": "-100123", "text": p.text })
        );
        // Discord's 2,000-character limit.
        let long = AlertPayload {
            text: "x".repeat(2500),
            ..p
        };
        let body = WebhookFormat::Discord.body(&long)?;
        assert_eq!(body["content"].as_str().map(str::len), Some(2000));
        Ok(())
    }
}
