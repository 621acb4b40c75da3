//! `pulse trade` from the command line on the bundled data, driven by time travel: start, catch
//! up, status, flatten; and `kill -9` of `pulse trade run` at random instants (seeded), restarted
//! each time, ends with exactly the orders, fills and account of an uninterrupted run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
use common::{isolated, ok_json, pulse_home};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn ok(home: &Path, args: &[&str]) -> String {
    let out = pulse_home(home, args);
    assert!(
        out.status.success(),
        "pulse {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What must be identical between two runs: orders, fills, account.
fn essence(status: &Value) -> Value {
    let orders: Vec<Value> = status["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::json!([
                r["order"]["client_id"],
                r["order"]["side"],
                r["order"]["quantity"],
                r["status"],
                r["filled"]
            ])
        })
        .collect();
    serde_json::json!({"orders": orders, "fills": status["fills"], "account": status["account"]})
}

#[test]
fn trade_from_the_cli_starts_catches_up_and_flattens() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(h, &["clock", "set", "2024-03-01T12:00:00Z"]);
    let started = ok(h, &["trade", "run"]);
    assert!(started.contains("Runner pulse started"), "{started}");
    ok(h, &["clock", "set", "2024-07-01T12:00:00Z"]);
    let caught_up = ok(h, &["trade", "run"]);
    assert!(
        caught_up.contains("SENT ") && caught_up.contains("FILL "),
        "{caught_up}"
    );
    let st = ok_json(pulse_home(h, &["--json", "trade", "status"]));
    assert_eq!(st["meta"]["status"]["state"], "running");
    assert!(!st["fills"].as_array().unwrap().is_empty());
    let text = ok(h, &["trade", "status"]);
    assert!(text.contains("filled"), "{text}");
    let flat = ok(h, &["trade", "flatten"]);
    assert!(flat.contains("sell order(s) sent"), "{flat}");
    ok(h, &["clock", "set", "2024-07-05T12:00:00Z"]);
    ok(h, &["trade", "run"]);
    let st = ok_json(pulse_home(h, &["--json", "trade", "status"]));
    assert_eq!(st["meta"]["status"]["state"], "stopped");
    let positions = st["account"]["positions"].as_object().unwrap();
    assert!(
        positions
            .values()
            .all(|q| q.as_str().unwrap().parse::<f64>().unwrap() == 0.0),
        "{positions:?}"
    );
    // Unknown runner: a clear runtime error (exit 1).
    let out = pulse_home(h, &["trade", "status", "--name", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runner named nope"));
}

#[test]
fn an_agents_runner_trades_the_ensemble_and_keeps_its_set() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(h, &["clock", "set", "2024-03-01T12:00:00Z"]);
    let started = ok(
        h,
        &[
            "trade",
            "run",
            "--name",
            "ens",
            "--symbols",
            "TSLA,TSLL",
            "--agents",
            "technical,factor",
            "--threshold",
            "0.3",
        ],
    );
    assert!(started.contains("Runner ens started"), "{started}");
    ok(h, &["clock", "set", "2024-10-01T12:00:00Z"]);
    // Caught up without the flags: the runner trades the set it was started with.
    let caught_up = ok(h, &["trade", "run", "--name", "ens"]);
    assert!(caught_up.contains("FILL "), "{caught_up}");
    let st = ok_json(pulse_home(
        h,
        &["--json", "trade", "status", "--name", "ens"],
    ));
    assert_eq!(
        st["meta"]["agents"]["symbols"],
        serde_json::json!(["TSLA", "TSLL"])
    );
    assert_eq!(st["meta"]["agents"]["ensemble"]["threshold"], 0.3);
    let symbols: std::collections::BTreeSet<&str> = st["fills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols, ["TSLA", "TSLL"].into());
    // Flags that do not apply, or out of range, are usage errors naming the flag; nothing is
    // started.
    for (args, flag) in [
        (vec!["--symbols", "TSLA", "--threshold", "2"], "--threshold"),
        (
            vec!["--symbols", "TSLA", "--timeframe", "1h"],
            "--timeframe",
        ),
        (vec!["--agents", "technical"], "--symbols"),
    ] {
        let mut all = vec!["trade", "run", "--name", "bad"];
        all.extend(args);
        let out = pulse_home(h, &all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{all:?}: {err}");
    }
    let out = pulse_home(h, &["trade", "status", "--name", "bad"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn kill_9_anywhere_loses_nothing_and_sends_nothing_twice() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for h in [a.path(), b.path()] {
        ok(h, &["clock", "set", "2023-01-03T12:00:00Z"]);
        ok(h, &["trade", "run"]);
    }
    // Two years in quarterly stages: the uninterrupted runner (a) times each stage; the other
    // (b) is killed with SIGKILL at seeded random instants within it, restarted each time, and
    // then finishes the stage.
    let stages = [
        "2023-04-01",
        "2023-07-01",
        "2023-10-01",
        "2024-01-01",
        "2024-04-01",
        "2024-07-01",
        "2024-10-01",
        "2024-12-31",
    ];
    let mut seed: u64 = 0x5eed_cafe;
    let mut killed = 0;
    for stage in stages {
        let at = format!("{stage}T23:00:00Z");
        ok(a.path(), &["clock", "set", &at]);
        ok(b.path(), &["clock", "set", &at]);
        let t0 = Instant::now();
        ok(a.path(), &["trade", "run"]);
        let took = t0.elapsed();
        for _ in 0..3 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let frac = (seed >> 11) as f64 / (1u64 << 53) as f64;
            let mut child = isolated(b.path())
                .args(["trade", "run"])
                .current_dir(b.path())
                .env("XDG_DATA_HOME", b.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(took.mul_f64(frac).max(Duration::from_millis(1)));
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap(); // SIGKILL
                killed += 1;
            }
            child.wait().unwrap();
        }
        ok(b.path(), &["trade", "run"]);
    }
    eprintln!("killed mid-way: {killed} of {}", stages.len() * 3);
    assert!(killed >= 8, "only {killed} runs were killed mid-way");
    let expected = essence(&ok_json(pulse_home(
        a.path(),
        &["--json", "trade", "status"],
    )));
    assert!(expected["fills"].as_array().unwrap().len() > 50);
    let got = essence(&ok_json(pulse_home(
        b.path(),
        &["--json", "trade", "status"],
    )));
    for part in ["orders", "fills"] {
        let (g, e) = (
            got[part].as_array().unwrap(),
            expected[part].as_array().unwrap(),
        );
        if let Some(i) = (0..g.len().max(e.len())).find(|i| g.get(*i) != e.get(*i)) {
            panic!(
                "{part} differ first at {i}: got {:?}, expected {:?} ({} vs {})",
                g.get(i),
                e.get(i),
                g.len(),
                e.len()
            );
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn trade_run_posts_orders_fills_and_errors_to_the_webhook_and_a_dead_one_stops_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (url, bodies) = common::webhook_sink();
    ok(h, &["clock", "set", "2024-03-01T12:00:00Z"]);
    ok(h, &["trade", "run", "--webhook", &url]);
    ok(h, &["clock", "set", "2024-04-01T12:00:00Z"]);
    ok(h, &["trade", "run", "--webhook", &url]);
    let got = bodies.lock().unwrap().clone();
    let text: String = got.join("\n");
    assert!(text.contains("SENT "), "{text}");
    assert!(text.contains("FILL "), "{text}");
    // Every body is JSON with a text field.
    for b in &got {
        let v: Value = serde_json::from_str(b).unwrap();
        assert!(v["text"].is_string(), "{b}");
    }
    // Slack's and Telegram's bodies.
    let (slack_url, slack) = common::webhook_sink();
    ok(h, &["clock", "set", "2024-04-15T12:00:00Z"]);
    ok(
        h,
        &[
            "trade",
            "run",
            "--webhook",
            &slack_url,
            "--webhook-format",
            "slack",
        ],
    );
    assert!(!slack.lock().unwrap().is_empty());
    for b in slack.lock().unwrap().iter() {
        let v: Value = serde_json::from_str(b).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1, "only text: {b}");
        assert!(v["text"].is_string());
    }
    let out = pulse_home(
        h,
        &[
            "trade",
            "run",
            "--webhook",
            &slack_url,
            "--webhook-format",
            "telegram",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--telegram-chat-id"));
    // A dead webhook: the run still trades (exit 0) and warns.
    ok(h, &["clock", "set", "2024-05-01T12:00:00Z"]);
    let out = pulse_home(h, &["trade", "run", "--webhook", "http://127.0.0.1:9/hook"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("alert not delivered"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bar(s) processed"));
    // An error (here: the wrong broker for this runner) is posted too.
    let before = bodies.lock().unwrap().len();
    let out = pulse_home(h, &["trade", "run", "--webhook", &url, "--mode", "live"]);
    assert_eq!(out.status.code(), Some(1));
    let after = bodies.lock().unwrap().clone();
    assert_eq!(after.len(), before + 1);
    assert!(
        after.last().unwrap().contains("ERROR runner pulse"),
        "{after:?}"
    );
}

#[test]
fn trade_run_every_keeps_catching_up_as_the_clock_moves_and_stops_on_ctrl_c() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    ok(h, &["clock", "set", "2024-03-01T12:00:00Z"]);
    ok(h, &["trade", "run"]);
    let child = isolated(h)
        .args(["trade", "run", "--every", "1"])
        .current_dir(h)
        .env("XDG_DATA_HOME", h)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Time travel from another process: the running loop catches up on its own.
    ok(h, &["clock", "set", "2024-04-01T12:00:00Z"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = ok_json(pulse_home(h, &["--json", "trade", "status"]));
        if st["meta"]["last_close"].as_str().unwrap_or("") >= "2024-03-28" {
            break;
        }
        assert!(Instant::now() < deadline, "the loop did not catch up: {st}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("stopped by Ctrl-C"), "{stdout}");
    // Nothing left half done: the next run has nothing to resolve or catch up.
    let again = ok(h, &["trade", "run"]);
    assert!(
        !again.contains("restart:") || again.contains("approved again"),
        "{again}"
    );
    assert!(again.contains("0 bar(s) processed"), "{again}");
}
