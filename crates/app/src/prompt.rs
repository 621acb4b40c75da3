//! The macro-prompt editor (issue 14 item 6, spec §6): the team's LLM prompt that produces the
//! day's MP/Sub-MP view, kept with every version (who saved what when is in the audit log), run
//! against a chat model (an OpenAI-compatible endpoint behind the [`ChatModel`] port), its answer
//! shown raw and parsed, validated as a rebalancer signal (weights summing to 1, known classes,
//! valid symbols: the same check `pulse rebalance signal` applies), and submitted as the day's
//! signal.

use crate::error::AppError;
use jiff::Timestamp;
use pulse_core::ports::{AuditEntry, ChatModel, Store};
use pulse_rebalance::Signal;
use serde::{Deserialize, Serialize};

/// The document holding every version of the prompt.
const PROMPT_DOC: &str = "prompt/macro";

/// The document holding the prompt's schedule.
const SCHEDULE_DOC: &str = "prompt/schedule";

/// Longest prompt kept, bytes.
pub const MAX_PROMPT_BYTES: usize = 64 * 1024;

/// The instructions sent with every prompt: the answer's shape.
pub const SYSTEM: &str = "You are the macro analyst of a portfolio team. Answer with ONE JSON object and nothing else: \
{\"mp\": {\"<asset class>\": <weight>, ...}, \"sub_mp\": {\"<asset class>\": [\"<SYMBOL>\", ...], ...}}. \
The mp weights are fractions that sum to 1 (a \"cash\" class may hold the rest); every class with a \
weight above 0 other than cash lists its securities in sub_mp by ticker symbol.";

/// One saved version of the prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptVersion {
    /// 1 for the first saved, then +1.
    pub version: u32,
    /// When it was saved (the product's clock).
    pub saved_at: Timestamp,
    /// The prompt.
    pub text: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PromptDoc {
    versions: Vec<PromptVersion>,
}

async fn load<S: Store>(store: &S) -> Result<PromptDoc, AppError> {
    match store.document(PROMPT_DOC).await.map_err(AppError::port)? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::State(format!("the stored prompt versions are corrupt: {e}"))),
        None => Ok(PromptDoc::default()),
    }
}

/// Every saved version, oldest first.
pub async fn versions<S: Store>(store: &S) -> Result<Vec<PromptVersion>, AppError> {
    Ok(load(store).await?.versions)
}

/// The version `version`, or the latest when `None`; an error when none is saved or the version
/// does not exist.
pub async fn version<S: Store>(store: &S, version: Option<u32>) -> Result<PromptVersion, AppError> {
    let doc = load(store).await?;
    let found = match version {
        Some(v) => doc.versions.into_iter().find(|p| p.version == v),
        None => doc.versions.into_iter().last(),
    };
    found.ok_or_else(|| match version {
        Some(v) => AppError::NotFound(format!("no prompt version {v}")),
        None => AppError::NotFound("no prompt saved yet".into()),
    })
}

/// Saves `text` as a new version (unless it equals the latest, which is returned as is) and
/// audits it. Refuses an empty prompt or one over [`MAX_PROMPT_BYTES`].
pub async fn save<S: Store>(store: &S, text: &str) -> Result<PromptVersion, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::InvalidSetting {
            setting: "prompt",
            reason: "must not be empty".into(),
        });
    }
    if text.len() > MAX_PROMPT_BYTES {
        return Err(AppError::InvalidSetting {
            setting: "prompt",
            reason: format!("is {} bytes; at most {MAX_PROMPT_BYTES}", text.len()),
        });
    }
    let mut doc = load(store).await?;
    if let Some(last) = doc.versions.last()
        && last.text == text
    {
        return Ok(last.clone());
    }
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let saved = PromptVersion {
        version: doc.versions.last().map_or(1, |p| p.version + 1),
        saved_at: now,
        text: text.to_string(),
    };
    doc.versions.push(saved.clone());
    let json = serde_json::to_string(&doc)
        .map_err(|e| AppError::State(format!("cannot encode the prompt versions: {e}")))?;
    let entry = AuditEntry {
        ts: now,
        subsystem: "prompt".into(),
        entry_json: serde_json::json!({"saved": saved.version, "bytes": saved.text.len()})
            .to_string(),
    };
    store
        .save_documents(&[(PROMPT_DOC, json)], &[entry])
        .await
        .map_err(AppError::port)?;
    Ok(saved)
}

/// What a run of the prompt gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptRun {
    /// The version run.
    pub version: u32,
    /// The model's answer as it came.
    pub raw: String,
    /// The JSON object found in it (code fences and prose around it ignored), if any.
    pub json: Option<serde_json::Value>,
    /// The signal it makes, validated against the rebalancer's model, if it is one.
    pub signal: Option<Signal>,
    /// Why it is not a valid signal (empty when `signal` is set).
    pub errors: Vec<String>,
}

/// The outermost JSON object of an answer: the text between the first `{` and its matching `}`
/// (a model may wrap it in a code fence or a sentence).
pub fn extract_json(answer: &str) -> Option<serde_json::Value> {
    let start = answer.find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in answer[start..].char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return serde_json::from_str(&answer[start..start + i + 1]).ok();
                }
            }
            _ => {}
        }
    }
    None
}

/// Checks an answer: the JSON it holds, as a signal the rebalancer accepts (nothing stored).
pub async fn check_answer<S: Store>(store: &S, version: u32, raw: String) -> PromptRun {
    let mut run = PromptRun {
        version,
        json: extract_json(&raw),
        raw,
        signal: None,
        errors: Vec::new(),
    };
    let Some(json) = run.json.clone() else {
        run.errors.push("the answer holds no JSON object".into());
        return run;
    };
    let signal: Signal = match serde_json::from_value(json) {
        Ok(s) => s,
        Err(e) => {
            run.errors.push(format!("not an MP/Sub-MP signal: {e}"));
            return run;
        }
    };
    match crate::rebalance::check_signal(store, signal).await {
        Ok(s) => run.signal = Some(s),
        Err(e) => run.errors.push(e.to_string()),
    }
    run
}

/// Runs prompt `version` (the latest when `None`) against `model` and checks the answer.
pub async fn run<S: Store, M: ChatModel>(
    store: &S,
    model: &M,
    version: Option<u32>,
) -> Result<PromptRun, AppError> {
    let prompt = self::version(store, version).await?;
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let user = format!(
        "{}\n\n(Today is {}.)",
        prompt.text,
        now.strftime("%Y-%m-%d")
    );
    let raw = model
        .complete(SYSTEM, &user)
        .await
        .map_err(|e| AppError::Data(format!("the chat model failed: {e}")))?;
    let run = check_answer(store, prompt.version, raw).await;
    let entry = AuditEntry {
        ts: now,
        subsystem: "prompt".into(),
        entry_json: serde_json::json!({"run": run.version, "valid": run.signal.is_some(), "errors": run.errors})
            .to_string(),
    };
    store
        .save_documents(&[], &[entry])
        .await
        .map_err(AppError::port)?;
    Ok(run)
}

/// Submits a checked signal as the day's view (what `pulse rebalance signal` does).
pub async fn submit<S: Store>(store: &S, signal: Signal) -> Result<Signal, AppError> {
    crate::rebalance::signal(store, signal).await
}

/// Whether the scheduler runs the saved prompt at the 08:30 intake of every trading day, which
/// version, and the last day it ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptSchedule {
    /// Run the prompt at 08:30 (the rebalancer's calendar, local time) on trading days.
    pub enabled: bool,
    /// The version to run (`None`: the latest saved at the time of the run).
    pub version: Option<u32>,
    /// The last trading day it ran (at most once a day, whatever the answer).
    pub last_day: Option<jiff::civil::Date>,
}

/// The prompt's schedule (off when never set).
pub async fn schedule<S: Store>(store: &S) -> Result<PromptSchedule, AppError> {
    match store.document(SCHEDULE_DOC).await.map_err(AppError::port)? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AppError::State(format!("the stored prompt schedule is corrupt: {e}"))),
        None => Ok(PromptSchedule::default()),
    }
}

async fn save_schedule<S: Store>(
    store: &S,
    schedule: &PromptSchedule,
    entry: serde_json::Value,
) -> Result<(), AppError> {
    let (now, _) = crate::rebalance::clock_now(store).await?;
    let json = serde_json::to_string(schedule).map_err(|source| AppError::Encode {
        what: "prompt schedule",
        source,
    })?;
    let entry = AuditEntry {
        ts: now,
        subsystem: "prompt".into(),
        entry_json: entry.to_string(),
    };
    store
        .save_documents(&[(SCHEDULE_DOC, json)], &[entry])
        .await
        .map_err(AppError::port)
}

/// Turns the 08:30 run of the prompt on or off (`version`: a saved version, or `None` for the
/// latest at each run). Audited. A version that does not exist is refused (field `version`).
pub async fn set_schedule<S: Store>(
    store: &S,
    enabled: bool,
    version: Option<u32>,
) -> Result<PromptSchedule, AppError> {
    if let Some(v) = version {
        self::version(store, Some(v)).await.map_err(|e| match e {
            AppError::NotFound(reason) => AppError::InvalidSetting {
                setting: "version",
                reason,
            },
            other => other,
        })?;
    } else if enabled && versions(store).await?.is_empty() {
        return Err(AppError::InvalidSetting {
            setting: "version",
            reason: "no prompt is saved yet: save one before scheduling it".into(),
        });
    }
    let mut s = schedule(store).await?;
    s.enabled = enabled;
    s.version = version;
    save_schedule(
        store,
        &s,
        serde_json::json!({"schedule": {"enabled": enabled, "version": version}}),
    )
    .await?;
    Ok(s)
}

/// A model that never exists: the type of "no chat model configured".
#[derive(Debug)]
pub enum NoChatModel {}

impl ChatModel for NoChatModel {
    type Error = std::convert::Infallible;

    async fn complete(&self, _system: &str, _user: &str) -> Result<String, Self::Error> {
        match *self {}
    }
}

/// The scheduler's prompt job: when the schedule is on and the 08:30 intake time of a trading
/// day has come by the clock (the rebalancer's calendar) and the prompt has not run that day,
/// runs it against `model` and submits a valid answer as the day's signal. The day is marked
/// before the model is asked, so a failing or slow model is asked at most once a day (a person
/// runs it again from the Prompt page or `pulse prompt run --submit`). `None` when the schedule
/// is off or the rebalancer is not set up (no job); else what it did, one line each, or why it
/// failed (no model configured, the model failed, the answer is not a valid signal).
pub async fn run_scheduled<S: Store, M: ChatModel>(
    store: &S,
    model: Option<&M>,
) -> Option<Result<Vec<String>, AppError>> {
    let sched = match schedule(store).await {
        Ok(s) if !s.enabled => return None,
        Ok(s) => s,
        Err(e) => return Some(Err(e)),
    };
    match crate::rebalance::is_set_up(store).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(e) => return Some(Err(e)),
    }
    Some(run_due(store, model, sched).await)
}

async fn run_due<S: Store, M: ChatModel>(
    store: &S,
    model: Option<&M>,
    mut sched: PromptSchedule,
) -> Result<Vec<String>, AppError> {
    let Some(day) = crate::rebalance::intake_day(store).await? else {
        return Ok(vec!["not due (08:30 on a trading day)".into()]);
    };
    if sched.last_day.is_some_and(|d| d >= day) {
        return Ok(vec![format!("already ran on {day}")]);
    }
    let Some(model) = model else {
        return Err(AppError::State(
            "the prompt is scheduled but no chat model is configured: set PULSE_LLM_BASE_URL and PULSE_LLM_MODEL (and PULSE_LLM_API_KEY if the endpoint needs one)".into(),
        ));
    };
    sched.last_day = Some(day);
    save_schedule(store, &sched, serde_json::json!({"scheduled_run": day})).await?;
    let run = run(store, model, sched.version).await?;
    match run.signal {
        Some(signal) => {
            submit(store, signal).await?;
            Ok(vec![format!(
                "prompt version {} ran for {day}: a valid signal, submitted as the day's signal",
                run.version
            )])
        }
        None => Err(AppError::Data(format!(
            "prompt version {} ran for {day}: not a valid signal ({}); nothing submitted",
            run.version,
            run.errors.join("; ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::extract_json;

    #[test]
    fn the_json_object_is_found_inside_fences_and_prose() {
        let answer = "Here is the view:\n```json\n{\"mp\": {\"stocks\": 0.6, \"cash\": 0.4}, \"note\": \"a } in a string\"}\n```\nDone.";
        let v = extract_json(answer).unwrap();
        assert_eq!(v["mp"]["stocks"], 0.6);
        assert_eq!(v["note"], "a } in a string");
        assert!(extract_json("no json here").is_none());
        assert!(extract_json("{\"unclosed\": 1").is_none());
    }
}
