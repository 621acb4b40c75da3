#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `--risk-config` end to end on the bundled TSLA + TSLL data: the drawdown stop halts Pulse in
//! the 2022 fall, the report has a risk section, `pulse risk show` prints the settings in effect,
//! and a bad file is refused naming the file and the key.

mod common;
use common::{ok_json, pulse_home};

#[test]
fn the_drawdown_stop_halts_pulse_and_the_report_shows_the_risk_section() {
    let home = tempfile::tempdir().unwrap();
    let risk = home.path().join("risk.toml");
    std::fs::write(
        &risk,
        "[limits]\nmax_position = false\nmax_sector = false\nmax_daily_var = false\n\n[leverage]\nenabled = false\n",
    )
    .unwrap();
    let risk_arg = risk.to_str().unwrap();
    let j = ok_json(pulse_home(
        home.path(),
        &["--json", "backtest", "--risk-config", risk_arg],
    ));
    let events = j["risk"]["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "drawdown_stop");
    let stop_date = events[0]["date"].as_str().unwrap().to_string();
    assert!(stop_date.starts_with("2022-"), "{stop_date}");
    // No Pulse trade after the day after the stop; the benchmarks run without the risk layer.
    let trades = j["trades"].as_array().unwrap();
    let after: Vec<_> = trades
        .iter()
        .filter(|t| t["date"].as_str().unwrap() > stop_date.as_str())
        .collect();
    assert!(after.iter().all(|t| t["side"] == "sell"));
    let sale_dates: std::collections::BTreeSet<_> =
        after.iter().map(|t| t["date"].as_str().unwrap()).collect();
    assert!(sale_dates.len() <= 1, "trading halted: {sale_dates:?}");
    let leverage = j["risk"]["leverage"].as_array().unwrap();
    assert_eq!(leverage.last().unwrap().as_f64(), Some(0.0));
    let strategies = j["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 4);
    // The HTML report has the risk section.
    let report = std::fs::read_to_string(home.path().join(j["report"].as_str().unwrap())).unwrap();
    assert!(report.contains("id=\"risk\""));
    assert!(report.contains("drawdown stop"));
    // The text output says trading halted.
    let out = pulse_home(
        home.path(),
        &["backtest", "--no-report", "--risk-config", risk_arg],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("HALTED by the drawdown stop on 2022-"),
        "{text}"
    );
}

#[test]
fn risk_show_prints_the_settings_and_bad_files_name_the_key() {
    let home = tempfile::tempdir().unwrap();
    let out = pulse_home(home.path(), &["risk", "show"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "max_position = 0.1",
        "max_sector = 0.3",
        "max_drawdown = 0.15",
        "max_daily_var = 0.02",
        "window_days = 60",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let bad = home.path().join("bad.toml");
    std::fs::write(&bad, "[limits]\nmax_position = 1.5\n").unwrap();
    let out = pulse_home(
        home.path(),
        &[
            "backtest",
            "--no-report",
            "--risk-config",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml") && err.contains("limits.max_position"),
        "{err}"
    );
    let out = pulse_home(
        home.path(),
        &["risk", "show", "--risk-config", bad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn simulate_prints_and_posts_the_risk_events() {
    let (url, bodies) = common::webhook_sink();
    let home = tempfile::tempdir().unwrap();
    let risk = home.path().join("risk.toml");
    // A 10 % position cap binds on Pulse at once.
    std::fs::write(&risk, "[limits]\nmax_position = 0.1\n").unwrap();
    let risk_arg = risk.to_str().unwrap();
    let j = ok_json(pulse_home(
        home.path(),
        &[
            "--json",
            "simulate",
            "--last",
            "3m",
            "--risk-config",
            risk_arg,
            "--webhook",
            &url,
        ],
    ));
    let sent = j["webhook_sent"].as_u64().unwrap() as usize;
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), sent);
    let risk_bodies: Vec<&String> = bodies.iter().filter(|b| b.contains("RISK")).collect();
    assert!(
        risk_bodies.iter().any(|b| b.contains("capped at 10.0%")),
        "{bodies:?}"
    );
    let out = pulse_home(
        home.path(),
        &["simulate", "--last", "3m", "--risk-config", risk_arg],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("RISK ") && l.contains("capped at 10.0%")),
        "{text}"
    );
}
