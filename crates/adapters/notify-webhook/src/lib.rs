//! `notify-webhook` implements [`pulse_core::ports::Notifier`] by POSTing each alert as JSON to a
//! webhook URL. The body carries a human-readable `text` field (what Slack and most chat bridges
//! display) plus the structured alert. The URL may embed a secret token, so it is never printed:
//! errors and `Debug` show only its scheme and host.
//!
//! Delivery never decides the fate of a trading run: each post is retried on transient failures
//! (unreachable, timeout, HTTP 5xx or 429) with a doubling backoff ([`RetryPolicy`]), and
//! [`DeliveryQueue`] holds a bounded number of alerts (the oldest are dropped, and counted, when
//! it is full), delivers them and returns a [`DeliveryReport`] of what was sent, what failed and
//! why, instead of an error: a caller prints the report and carries on.

use pulse_core::jiff::Timestamp;
use pulse_core::ports::{AlertRecord, Notifier};
use serde::Serialize;
use std::collections::VecDeque;
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
        })
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

    /// Posts one alert with retries ([`WebhookNotifier::send_with_retry`]). A caller that must not
    /// fail because of a notification uses a [`DeliveryQueue`].
    async fn notify(&self, alert: &AlertRecord) -> Result<(), WebhookError> {
        self.send_with_retry(&AlertPayload::from_record(alert)?)
            .await
    }
}

/// One alert that could not be delivered.
#[derive(Debug)]
pub struct FailedDelivery {
    /// The alert's one-line text.
    pub text: String,
    /// Why (the last try's error, or why it was not tried).
    pub error: WebhookError,
}

/// What a [`DeliveryQueue::flush`] did.
#[derive(Debug, Default)]
pub struct DeliveryReport {
    /// Alerts delivered.
    pub sent: usize,
    /// Alerts not delivered, with the reason.
    pub failed: Vec<FailedDelivery>,
    /// Alerts dropped because the queue was full (the oldest go first).
    pub dropped: usize,
}

impl DeliveryReport {
    /// Everything queued was delivered.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.dropped == 0
    }

    /// A one-line summary for the user, e.g. "2 alert(s) posted to the webhook http://host;
    /// 1 not delivered (cannot reach webhook http://host: …)".
    pub fn summary(&self, host: &str) -> String {
        let mut out = format!("{} alert(s) posted to the webhook {host}", self.sent);
        if let Some(first) = self.failed.first() {
            out.push_str(&format!(
                "; {} not delivered ({})",
                self.failed.len(),
                first.error
            ));
        }
        if self.dropped > 0 {
            out.push_str(&format!("; {} dropped (queue full)", self.dropped));
        }
        out
    }
}

/// A bounded queue of alerts for one webhook: [`DeliveryQueue::push`] never blocks or fails
/// the caller (an invalid alert is recorded as failed; when the queue is full the oldest alert
/// is dropped and counted), and [`DeliveryQueue::flush`] delivers with retries and reports.
/// Once an alert has exhausted its retries because the webhook is unreachable, the rest of the
/// flush is reported as not delivered without trying, so a dead webhook costs one alert's
/// retries, not every alert's.
#[derive(Debug)]
pub struct DeliveryQueue {
    notifier: WebhookNotifier,
    capacity: usize,
    queue: VecDeque<AlertPayload>,
    report: DeliveryReport,
}

impl DeliveryQueue {
    /// A queue holding at most `capacity` (at least 1) undelivered alerts.
    pub fn new(notifier: WebhookNotifier, capacity: usize) -> Self {
        DeliveryQueue {
            notifier,
            capacity: capacity.max(1),
            queue: VecDeque::new(),
            report: DeliveryReport::default(),
        }
    }

    /// The notifier (for its [`WebhookNotifier::host`]).
    pub fn notifier(&self) -> &WebhookNotifier {
        &self.notifier
    }

    /// Alerts waiting for the next flush.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// No alert is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues one alert.
    pub fn push(&mut self, alert: &AlertRecord) {
        match AlertPayload::from_record(alert) {
            Ok(payload) => {
                if self.queue.len() >= self.capacity {
                    self.queue.pop_front();
                    self.report.dropped += 1;
                }
                self.queue.push_back(payload);
            }
            Err(error) => self.report.failed.push(FailedDelivery {
                text: format!("[{}] {}: {}", alert.strategy, alert.ts, alert.message),
                error,
            }),
        }
    }

    /// Delivers every queued alert (in order, with retries) and returns what happened since the
    /// last flush. Never fails.
    pub async fn flush(&mut self) -> DeliveryReport {
        let mut dead: Option<String> = None;
        while let Some(payload) = self.queue.pop_front() {
            if let Some(reason) = &dead {
                self.report.failed.push(FailedDelivery {
                    text: payload.text,
                    error: WebhookError::Unreachable {
                        host: self.notifier.host.clone(),
                        reason: format!("not tried: {reason}"),
                    },
                });
                continue;
            }
            match self.notifier.send_with_retry(&payload).await {
                Ok(()) => self.report.sent += 1,
                Err(error) => {
                    if let WebhookError::Unreachable { reason, .. } = &error {
                        dead = Some(format!("the webhook was unreachable ({reason})"));
                    }
                    self.report.failed.push(FailedDelivery {
                        text: payload.text,
                        error,
                    });
                }
            }
        }
        std::mem::take(&mut self.report)
    }
}
