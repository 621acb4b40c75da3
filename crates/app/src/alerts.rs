//! Alert delivery that never decides the fate of a run: a bounded queue in front of any
//! [`Notifier`] (the adapter retries transient failures itself).

use crate::error::AppError;
use pulse_core::ports::{AlertRecord, Notifier};
use serde::Serialize;
use std::collections::VecDeque;

/// How a flush went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Alerts delivered.
    pub sent: usize,
    /// One line per alert that was not delivered: its message and the notifier's error, or why it
    /// was not attempted.
    pub failed: Vec<String>,
    /// Alerts dropped because the queue was full (the oldest go first).
    pub dropped: usize,
}

/// A bounded queue of alerts: [`AlertQueue::push`] never blocks or fails (when full, the oldest
/// alert is dropped and counted), and [`AlertQueue::flush`] delivers in order and reports. Once
/// one alert could not be delivered (after the notifier's own retries), the rest of the flush is
/// reported as not attempted: a dead webhook costs one alert's retries, not every alert's.
#[derive(Debug, Clone)]
pub struct AlertQueue {
    capacity: usize,
    queue: VecDeque<AlertRecord>,
    dropped: usize,
}

impl AlertQueue {
    /// A queue holding at most `capacity` (at least 1) undelivered alerts.
    pub fn new(capacity: usize) -> Self {
        AlertQueue {
            capacity: capacity.max(1),
            queue: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Alerts waiting for the next flush.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues an alert, dropping the oldest when full.
    pub fn push(&mut self, alert: AlertRecord) {
        if self.queue.len() == self.capacity {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(alert);
    }

    /// Delivers every queued alert through `notifier` and reports what happened since the last
    /// flush. Never fails.
    pub async fn flush<N: Notifier>(&mut self, notifier: &N) -> Delivery {
        let mut d = Delivery {
            dropped: std::mem::take(&mut self.dropped),
            ..Delivery::default()
        };
        let mut broken: Option<String> = None;
        while let Some(alert) = self.queue.pop_front() {
            if let Some(cause) = &broken {
                d.failed
                    .push(format!("{}: not attempted ({cause})", alert.message));
                continue;
            }
            match notifier.notify(&alert).await {
                Ok(()) => d.sent += 1,
                Err(e) => {
                    let cause = e.to_string();
                    d.failed.push(format!("{}: {cause}", alert.message));
                    broken = Some(cause);
                }
            }
        }
        d
    }
}

/// Delivers a run's engine alerts and its risk layer's events (breaches, leverage changes), in
/// time order, through `notifier` (a queue as large as the list: nothing is dropped), collecting
/// failures instead of stopping the run. A risk event goes out as an alert whose strategy is
/// `risk: <strategy>` and whose message starts with `RISK`.
pub async fn deliver_alerts<N: Notifier>(
    notifier: &N,
    strategy: &str,
    alerts: &[pulse_engine::Alert],
    risk_events: &[pulse_risk::RiskEvent],
) -> Result<Delivery, AppError> {
    let mut records = Vec::with_capacity(alerts.len() + risk_events.len());
    for a in alerts {
        records.push(crate::backtest::alert_record(a)?);
    }
    for e in risk_events {
        records.push(AlertRecord {
            ts: e.ts,
            strategy: format!("risk: {strategy}"),
            message: format!("RISK {}", e.message),
            old_weights_json: "{}".into(),
            new_weights_json: "{}".into(),
        });
    }
    // Stable: at one close, the engine's alert comes before the risk events.
    records.sort_by_key(|r| r.ts);
    Ok(deliver_records(notifier, records).await)
}

/// Delivers prepared alert records in order through `notifier` (a queue as large as the list),
/// collecting failures instead of stopping anything.
pub async fn deliver_records<N: Notifier>(notifier: &N, records: Vec<AlertRecord>) -> Delivery {
    let mut queue = AlertQueue::new(records.len());
    for r in records {
        queue.push(r);
    }
    queue.flush(notifier).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A notifier that records what it was asked to send and fails from the `fail_from`-th call.
    struct Recording {
        sent: Mutex<Vec<String>>,
        fail_from: usize,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot reach webhook http://127.0.0.1")]
    struct Unreachable;

    impl Notifier for Recording {
        type Error = Unreachable;
        async fn notify(&self, alert: &AlertRecord) -> Result<(), Unreachable> {
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            if sent.len() >= self.fail_from {
                return Err(Unreachable);
            }
            sent.push(alert.message.clone());
            Ok(())
        }
    }

    fn alert(message: &str) -> AlertRecord {
        AlertRecord {
            ts: pulse_core::jiff::Timestamp::UNIX_EPOCH,
            strategy: "Pulse".into(),
            message: message.into(),
            old_weights_json: "{}".into(),
            new_weights_json: "{}".into(),
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    /// Issue #12 defect 7: the queue is bounded (oldest dropped and counted), a failed delivery
    /// is reported, not fatal, and the alerts after it are reported as not attempted.
    #[test]
    fn the_queue_is_bounded_and_a_dead_notifier_is_reported_not_fatal() {
        let mut q = AlertQueue::new(2);
        for m in ["a", "b", "c"] {
            q.push(alert(m));
        }
        assert_eq!(q.len(), 2);
        let ok = Recording {
            sent: Mutex::new(Vec::new()),
            fail_from: usize::MAX,
        };
        let d = run(q.flush(&ok));
        assert_eq!((d.sent, d.dropped, d.failed.len()), (2, 1, 0));
        assert_eq!(
            *ok.sent.lock().unwrap(),
            ["b", "c"],
            "the oldest was dropped"
        );
        assert!(q.is_empty());

        let dead_after_one = Recording {
            sent: Mutex::new(Vec::new()),
            fail_from: 1,
        };
        let mut q = AlertQueue::new(8);
        for m in ["x", "y", "z"] {
            q.push(alert(m));
        }
        let d = run(q.flush(&dead_after_one));
        assert_eq!((d.sent, d.dropped), (1, 0));
        assert_eq!(d.failed.len(), 2);
        assert!(d.failed[0].starts_with("y: cannot reach"), "{:?}", d.failed);
        assert!(
            d.failed[1].starts_with("z: not attempted"),
            "{:?}",
            d.failed
        );
    }
}
