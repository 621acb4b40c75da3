//! `notify-webhook` implements [`pulse_core::ports::Notifier`] by POSTing each alert as JSON to a
//! webhook URL. The body carries a human-readable `text` field (what Slack and most chat bridges
//! display) plus the structured alert. The URL may embed a secret token, so it is never printed:
//! errors and `Debug` show only its scheme and host.

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

/// Posts alerts to one webhook URL.
pub struct WebhookNotifier {
    url: String,
    host: String,
    client: reqwest::Client,
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
        })
    }

    /// Posts one payload.
    pub async fn send(&self, payload: &AlertPayload) -> Result<(), WebhookError> {
        let response = self
            .client
            .post(&self.url)
            .json(payload)
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

    async fn notify(&self, alert: &AlertRecord) -> Result<(), WebhookError> {
        self.send(&AlertPayload::from_record(alert)?).await
    }
}
