//! `pulse prompt` end to end against a loopback fake of an OpenAI-compatible chat endpoint:
//! set, versions, show, run (refused without a model; a wrong answer explained and nothing
//! submitted; a valid one submitted as the day's signal); the key never printed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::isolated;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

const KEY: &str = "sk-cli/Pr0mpt&Key";

fn fake(answer: Arc<Mutex<String>>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/v1/chat/completions",
                axum::routing::post(move |axum::Json(_body): axum::Json<Value>| {
                    let a = answer.lock().unwrap().clone();
                    async move {
                        axum::Json(json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": a}}]}))
                    }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    base
}

fn pulse(home: &Path, base: Option<&str>, args: &[&str]) -> Output {
    let mut c = isolated(home);
    c.args(args).current_dir(home).env("XDG_DATA_HOME", home);
    c.env_remove("PULSE_LLM_BASE_URL")
        .env_remove("PULSE_LLM_MODEL")
        .env_remove("PULSE_LLM_API_KEY");
    if let Some(base) = base {
        c.env("PULSE_LLM_BASE_URL", base)
            .env("PULSE_LLM_MODEL", "fake-1")
            .env("PULSE_LLM_API_KEY", KEY);
    }
    let out = c.output().unwrap();
    for text in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(text);
        assert!(
            !text.contains(KEY) && !text.contains("Pr0mpt%26Key"),
            "the key leaked: {text}"
        );
    }
    out
}

#[test]
fn prompt_set_show_run_and_submit_from_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let answer = Arc::new(Mutex::new(String::new()));
    let base = fake(answer.clone());
    assert!(
        pulse(h, None, &["-q", "rebalance", "init", "--calendar", "nyse"])
            .status
            .success()
    );
    let file = h.join("prompt.txt");
    std::fs::write(
        &file,
        "Weigh stocks (TSLA, TSLL) against cash.\nSecond line.",
    )
    .unwrap();
    let out = pulse(h, None, &["prompt", "set", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Saved as version 1."));
    let out = pulse(h, None, &["prompt", "show"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Weigh stocks"));
    let out = pulse(h, None, &["prompt", "versions"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Weigh stocks (TSLA, TSLL) against cash.")
    );
    // No model configured: a usage error naming the settings.
    let out = pulse(h, None, &["prompt", "run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PULSE_LLM_BASE_URL"));
    // A wrong answer: explained, and --submit fails with nothing submitted.
    *answer.lock().unwrap() = "{\"mp\": {\"stocks\": 0.8, \"cash\": 0.8}}".into();
    let out = pulse(h, Some(&base), &["prompt", "run", "--submit"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Not a valid signal"),
        "{out:?}"
    );
    // A valid answer, submitted: the audit log has the signal.
    *answer.lock().unwrap() =
        "Sure: {\"mp\": {\"stocks\": 0.7, \"cash\": 0.3}, \"sub_mp\": {\"stocks\": [\"TSLA\", \"TSLL\"]}}".into();
    let out = pulse(h, Some(&base), &["--json", "prompt", "run", "--submit"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run"]["version"], 1);
    assert_eq!(v["submitted"]["mp"]["stocks"], 0.7);
    // A missing version is a usage error.
    let out = pulse(h, None, &["prompt", "show", "9"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `pulse prompt schedule` and `pulse schedule`: the scheduled prompt runs at the 08:30 tick of a
/// trading day against the configured model and its view is submitted; without a model the
/// scheduler fails the job by name (exit 1); a schedule before any prompt is refused (exit 2).
#[test]
fn the_prompt_is_scheduled_and_run_by_the_scheduler() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let answer = Arc::new(Mutex::new(
        "{\"mp\": {\"stocks\": 0.5, \"cash\": 0.5}, \"sub_mp\": {\"stocks\": [\"TSLA\"]}}"
            .to_string(),
    ));
    let base = fake(answer);
    assert!(
        pulse(h, None, &["-q", "rebalance", "init", "--calendar", "nyse"])
            .status
            .success()
    );
    let out = pulse(h, None, &["prompt", "schedule", "on"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version"));
    let file = h.join("prompt.txt");
    std::fs::write(&file, "Weigh TSLA against cash.").unwrap();
    assert!(
        pulse(h, None, &["prompt", "set", file.to_str().unwrap()])
            .status
            .success()
    );
    let out = pulse(h, None, &["prompt", "schedule", "on"]);
    assert!(out.status.success());
    let out = pulse(h, None, &["prompt", "schedule"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("runs the latest version at 08:30"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // 08:40 New York on a Monday, no model: the prompt job fails by name.
    assert!(
        pulse(
            h,
            None,
            &["-q", "clock", "set", "2024-03-04T08:40:00-05:00"]
        )
        .status
        .success()
    );
    let out = pulse(h, None, &["schedule", "--ticks", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("prompt FAILED") && text.contains("PULSE_LLM_BASE_URL"),
        "{text}"
    );
    // With the model: it runs once and the intake takes its view.
    let out = pulse(h, Some(&base), &["schedule", "--ticks", "1"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("prompt: prompt version 1 ran for 2024-03-04"),
        "{text}"
    );
    let out = pulse(h, Some(&base), &["--json", "prompt", "schedule"]);
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["last_day"], "2024-03-04");
    // The view is stored as the day's signal (the intake of the no-model tick ran before it, so
    // the next intake takes it).
    let out = pulse(h, None, &["--json", "rebalance", "history"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"signal\"") && text.contains("0.5"),
        "{text}"
    );
}
