//! End-to-end tests of `pulse backtest`, `simulate`, `strategy show` and `runs` on the bundled
//! real TSLA/TSLL data, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

mod common;
use common::{ok_json, pulse_home as pulse};

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap()).unwrap()
}

#[test]
fn default_backtest_prints_the_table_writes_the_report_and_records_the_run() {
    let home = tempfile::tempdir().unwrap();
    let out = pulse(home.path(), &["backtest"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Pulse",
        "Buy & hold TSLA",
        "Buy & hold TSLL",
        "50/50 TSLA/TSLL monthly",
        "Sharpe",
        "max drawdown",
        "fees paid",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let report = std::fs::read_to_string(home.path().join("pulse-report.html")).unwrap();
    assert!(report.contains("Pulse backtest"));
    assert!(
        !report.contains("http://") && !report.contains("https://"),
        "report must be self-contained"
    );
    let runs = ok_json(pulse(home.path(), &["--json", "runs"]));
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["kind"], "backtest");
    assert_eq!(runs[0]["strategy"], "Pulse");
}

#[test]
fn backtest_json_accounts_fees_exactly_and_matches_the_bundled_prices() {
    let home = tempfile::tempdir().unwrap();
    let j = ok_json(pulse(home.path(), &["--json", "backtest", "--no-report"]));
    let strategies = j["strategies"].as_array().unwrap();
    assert_eq!(strategies.len(), 4);
    for s in strategies {
        // fees = 0.1 % × traded notional, exactly.
        assert_eq!(
            dec(&s["fees_paid"]),
            dec(&s["traded_notional"]) * Decimal::new(1, 3),
            "{}",
            s["name"]
        );
        let m = &s["metrics"];
        let eq = m["final_equity"].as_f64().unwrap();
        assert!(eq > 0.0);
        assert_eq!(m["initial_equity"].as_f64().unwrap(), 100_000.0);
    }
    // Buy & hold TSLA: one buy at the open after the first evaluated close; final equity = cash +
    // shares × the last close of the bundled file (read here, independently of the store).
    let bundle = std::fs::read_to_string(pulse_testkit::bundle_dir().join("TSLA.csv")).unwrap();
    let last_close: f64 = bundle
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(4)
        .unwrap()
        .parse()
        .unwrap();
    let bh = &strategies[1];
    assert_eq!(bh["name"], "Buy & hold TSLA");
    assert_eq!(bh["metrics"]["fills"], 1);
    let shares = dec(&bh["final_positions"]["TSLA"]);
    let cash = dec(&bh["final_cash"]);
    let expected = rust_decimal::prelude::ToPrimitive::to_f64(&cash).unwrap()
        + rust_decimal::prelude::ToPrimitive::to_f64(&shares).unwrap() * last_close;
    assert!((bh["metrics"]["final_equity"].as_f64().unwrap() - expected).abs() < 1e-6);
    let first_trade = j["trades"].as_array().unwrap().first().unwrap();
    assert!(
        first_trade["date"].as_str().unwrap() > j["dates"][0].as_str().unwrap(),
        "first fill is after the first decision"
    );
    assert_eq!(
        j["equity"]["Pulse"].as_array().unwrap().len(),
        j["dates"].as_array().unwrap().len()
    );
    assert!(!j["alerts"].as_array().unwrap().is_empty());
}

#[test]
fn backtest_from_a_trade_history_and_errors_naming_the_line() {
    let home = tempfile::tempdir().unwrap();
    let history = home.path().join("trades.csv");
    std::fs::write(&history, "date,symbol,side,quantity,price,fee\n2024-01-02,TSLA,buy,100,250.08,25.01\n2024-01-03,TSLL,buy,1000,17.23,17.23\n").unwrap();
    let j = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "backtest",
            "--no-report",
            "--trades",
            history.to_str().unwrap(),
        ],
    ));
    let first = j["dates"][0].as_str().unwrap();
    assert!(
        first >= "2024-01-04",
        "the run starts after the last historical trade: {first}"
    );
    // Initial equity = 100000 − costs + positions at the first close: not 100000.
    let init = j["strategies"][0]["metrics"]["initial_equity"]
        .as_f64()
        .unwrap();
    assert!((init - 100_000.0).abs() > 1.0);
    std::fs::write(
        &history,
        "date,symbol,side,quantity,price,fee\n2024-01-02,TSLA,sell,1,250,0\n",
    )
    .unwrap();
    let out = pulse(
        home.path(),
        &[
            "backtest",
            "--no-report",
            "--trades",
            history.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trades.csv:2:") && err.contains("cannot sell"),
        "{err}"
    );
    // Issue #12: each cause once (was "cannot sell 1 TSLA: only 0 held: cannot sell 1 TSLA: …").
    assert_eq!(err.matches("cannot sell").count(), 1, "{err}");
}

#[test]
fn strategy_show_prints_the_documented_default_and_a_bad_config_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let out = pulse(home.path(), &["strategy", "show", "pulse"]);
    assert!(out.status.success());
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.contains("[overbought]") && toml.contains("rsi = 70.0") && toml.contains("# "));
    // The printed file is a valid config, and an edited one changes the result.
    let cfg = home.path().join("my.toml");
    std::fs::write(
        &cfg,
        toml.replace(
            "tsll = [0.00, 0.00, 0.10, 0.30, 0.50]",
            "tsll = [0.0, 0.0, 0.0, 0.0, 0.0]",
        )
        .replace("tsll_add = 0.20", "tsll_add = 0.0"),
    )
    .unwrap();
    let j = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "backtest",
            "--no-report",
            "--strategy-config",
            cfg.to_str().unwrap(),
        ],
    ));
    let tsll_trades = j["trades"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["symbol"] == "TSLL" && t["side"] == "buy")
        .count();
    assert_eq!(
        tsll_trades, 0,
        "with zero TSLL weights and no oversold add, Pulse never buys TSLL"
    );
    std::fs::write(&cfg, format!("{toml}\n[surprise]\nx = 1\n")).unwrap();
    let out = pulse(
        home.path(),
        &[
            "backtest",
            "--no-report",
            "--strategy-config",
            cfg.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("surprise"));
}

#[test]
fn simulate_replays_the_last_year_and_posts_alerts_to_a_webhook() {
    let (url, bodies) = common::webhook_sink();
    let home = tempfile::tempdir().unwrap();
    let j = ok_json(pulse(
        home.path(),
        &["--json", "simulate", "--last", "1y", "--webhook", &url],
    ));
    assert!(j["from"].as_str().unwrap() >= "2024-09-27");
    assert_eq!(j["to"], "2025-09-29");
    let alerts = j["alerts"].as_array().unwrap().len();
    assert!(alerts > 0);
    assert_eq!(j["webhook_sent"], alerts);
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), alerts);
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert!(first["text"].as_str().unwrap().starts_with("[Pulse]"));
    // The human-readable replay prints one line per eventful day.
    let out = pulse(home.path(), &["simulate", "--last", "3m"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("2025-") && l.contains("equity")),
        "{text}"
    );
    let runs = ok_json(pulse(home.path(), &["--json", "runs"]));
    assert_eq!(runs[0]["kind"], "simulate");
}

#[test]
fn intraday_backtests_run_on_minutes_and_never_fill_outside_sessions() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("m.db");
    let import = |args: &[&str]| {
        let mut full = vec!["--db", db.to_str().unwrap(), "--json", "data", "import"];
        full.extend_from_slice(args);
        ok_json(pulse(home.path(), &full));
    };
    // US minutes labelled by their END: imported as-is on purpose, so that every session's last
    // label (21:00Z) lies outside the session and must be dropped.
    import(&[pulse_testkit::shared_file("intraday-1m/TSLA.csv")
        .to_str()
        .unwrap()]);
    import(&[pulse_testkit::shared_file("intraday-1m/QQQ.csv")
        .to_str()
        .unwrap()]);
    let toml =
        String::from_utf8(pulse(home.path(), &["strategy", "show", "pulse"]).stdout).unwrap();
    let cfg = home.path().join("minutes.toml");
    std::fs::write(
        &cfg,
        toml.replace("leveraged = \"TSLL\"", "leveraged = \"QQQ\""),
    )
    .unwrap();
    let j = ok_json(pulse(
        home.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "--json",
            "backtest",
            "--no-report",
            "--timeframe",
            "1m",
            "--strategy-config",
            cfg.to_str().unwrap(),
        ],
    ));
    let trades = j["trades"].as_array().unwrap();
    assert!(!trades.is_empty());
    for t in trades {
        let ts: jiff::Timestamp = t["date"].as_str().unwrap().parse().unwrap();
        let et = ts.in_tz("America/New_York").unwrap();
        let minutes = i32::from(et.hour()) * 60 + i32::from(et.minute());
        assert!(
            (570..960).contains(&minutes),
            "fill at {ts} is outside 09:30-16:00 ET"
        );
    }
    for s in j["strategies"].as_array().unwrap() {
        assert_eq!(
            dec(&s["fees_paid"]),
            dec(&s["traded_notional"]) * Decimal::new(1, 3)
        );
    }
    // Crypto trades around the clock: a month of real BTC/ETH minutes.
    import(&[pulse_testkit::shared_file("intraday-1m/BTCUSDT.csv")
        .to_str()
        .unwrap()]);
    import(&[pulse_testkit::shared_file("intraday-1m/ETHUSDT.csv")
        .to_str()
        .unwrap()]);
    std::fs::write(
        &cfg,
        toml.replace("base = \"TSLA\"", "base = \"BTCUSDT\"")
            .replace("leveraged = \"TSLL\"", "leveraged = \"ETHUSDT\""),
    )
    .unwrap();
    let j = ok_json(pulse(
        home.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "--json",
            "backtest",
            "--no-report",
            "--timeframe",
            "1m",
            "--fractional",
            "--strategy-config",
            cfg.to_str().unwrap(),
        ],
    ));
    assert!(j["dates"].as_array().unwrap().len() > 40_000);
    assert!(!j["trades"].as_array().unwrap().is_empty());
}

#[test]
fn the_stored_irx_yield_is_the_default_risk_free_rate() {
    let home = tempfile::tempdir().unwrap();
    let sharpe = |j: &Value| j["strategies"][0]["metrics"]["sharpe"].as_f64().unwrap();
    let without = ok_json(pulse(home.path(), &["--json", "backtest", "--no-report"]));
    let irx = pulse_testkit::shared_file("daily-adjclose/IRX.csv");
    ok_json(pulse(
        home.path(),
        &["--json", "data", "import", irx.to_str().unwrap()],
    ));
    let with = ok_json(pulse(home.path(), &["--json", "backtest", "--no-report"]));
    // T-bill yields of 3-5 % over 2022-2025 lower the excess return, hence the Sharpe ratio.
    assert!(
        sharpe(&with) < sharpe(&without) - 0.01,
        "{} vs {}",
        sharpe(&with),
        sharpe(&without)
    );
    // An explicit --rf 0 overrides the stored series and restores the zero-rate figure exactly.
    let zero = ok_json(pulse(
        home.path(),
        &["--json", "backtest", "--no-report", "--rf", "0"],
    ));
    assert_eq!(sharpe(&zero), sharpe(&without));
}

/// Issue #12: out-of-range run settings are usage errors (exit 2) naming the flag, refused before
/// any data is read; none of them crashes.
#[test]
fn out_of_range_run_settings_are_usage_errors_naming_the_flag() {
    let home = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (vec!["backtest", "--slippage-bps=-500"], "--slippage-bps"),
        (
            vec!["backtest", "--cash", "79228162514264337593543950335"],
            "--cash",
        ),
        (vec!["backtest", "--cash=-100"], "--cash"),
        (vec!["backtest", "--cash", "0"], "--cash"),
        (
            vec!["backtest", "--alert-threshold", "NaN"],
            "--alert-threshold",
        ),
        (vec!["backtest", "--min-trade=-5"], "--min-trade"),
        (vec!["backtest", "--commission", "2"], "--commission"),
        (vec!["simulate", "--last", "99999y"], "--last"),
        (vec!["simulate", "--cash=-5"], "--cash"),
        (
            vec!["backtest", "--from", "2018-01-03", "--no-report"],
            "--from",
        ),
    ] {
        let out = pulse(home.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Issue #12: a trade history that ends after the data, or leaves holdings the strategy cannot
/// price, is refused with a clear runtime error instead of starting from the future or valuing
/// the holding at 0.
#[test]
fn trade_histories_the_run_cannot_start_from_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let history = home.path().join("trades.csv");
    for (rows, needle) in [
        ("2031-01-02,TSLA,buy,1,300,0\n", "after the last stored bar"),
        ("2024-01-02,AAPL,buy,1,185,0\n", "AAPL"),
    ] {
        std::fs::write(
            &history,
            format!("date,symbol,side,quantity,price,fee\n{rows}"),
        )
        .unwrap();
        for extra in [&[][..], &["--from", "2025-01-02"][..]] {
            let mut args = vec![
                "backtest",
                "--no-report",
                "--trades",
                history.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            let out = pulse(home.path(), &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{rows}: {err}");
            assert!(err.contains(needle), "{rows}: {err}");
        }
    }
}

/// Issue #12: an unreachable webhook does not abort the simulation; the failures are reported.
#[test]
fn an_unreachable_webhook_is_reported_and_the_simulation_completes() {
    let home = tempfile::tempdir().unwrap();
    // Bind then drop a listener: nothing listens on that port any more (connection refused).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let out = pulse(
        home.path(),
        &["--json", "simulate", "--last", "1y", "--webhook", &url],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let alerts = j["alerts"].as_array().unwrap().len() as u64;
    assert!(alerts > 0);
    assert_eq!(j["webhook_sent"], 0);
    assert_eq!(j["webhook_failed"].as_u64(), Some(alerts));
    assert!(j["run_id"].as_i64().is_some(), "the run is still recorded");
}

/// Issue #12 item 9: a windowed backtest is labelled as such; runs keep every setting, so two
/// runs that differ only in slippage and fill rule are told apart by `runs compare`; `runs show`
/// prints one run with its settings; `runs delete` removes it.
#[test]
fn runs_keep_their_settings_and_can_be_shown_compared_and_deleted() {
    let home = tempfile::tempdir().unwrap();
    let full = ok_json(pulse(home.path(), &["--json", "backtest", "--no-report"]));
    let window = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "backtest",
            "--no-report",
            "--from",
            "2024-01-02",
            "--to",
            "2024-06-28",
            "--slippage-bps",
            "5",
            "--fill",
            "next-close",
        ],
    ));
    assert_eq!(full["sample"], "full history");
    assert_eq!(window["sample"], "selected window");
    let (a, b) = (
        full["run_id"].as_i64().unwrap().to_string(),
        window["run_id"].as_i64().unwrap().to_string(),
    );
    let shown = ok_json(pulse(home.path(), &["--json", "runs", "show", &b]));
    assert_eq!(shown["record"]["sample"], "selected window");
    // The list counts a run's alerts; `runs show` carries them.
    let listed = ok_json(pulse(home.path(), &["--json", "runs"]));
    let alerts = shown["record"]["alerts"].as_array().unwrap().len() as u64;
    assert_eq!(listed[0]["id"].to_string(), b);
    assert_eq!(listed[0]["alert_count"].as_u64(), Some(alerts));
    assert!(listed[0].get("alerts").is_none(), "{}", listed[0]);
    let table = pulse(home.path(), &["runs"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with(&b) && l.trim_end().ends_with(&alerts.to_string())),
        "{table}"
    );
    assert_eq!(shown["config"]["settings"]["costs"]["slippage_bps"], "5");
    assert_eq!(shown["config"]["settings"]["fill_price"], "next_close");
    assert!(shown["metrics"]["Pulse"]["sharpe"].is_number());
    let cmp = ok_json(pulse(home.path(), &["--json", "runs", "compare", &a, &b]));
    let paths: Vec<&str> = cmp["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[0].as_str().unwrap())
        .collect();
    for want in [
        "settings.costs.slippage_bps",
        "settings.fill_price",
        "from",
        "to",
    ] {
        assert!(paths.contains(&want), "{paths:?}");
    }
    assert!(!paths.contains(&"settings.cash"), "{paths:?}");
    let out = pulse(home.path(), &["runs", "delete", &a]);
    assert!(out.status.success());
    let out = pulse(home.path(), &["runs", "show", &a]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("no run #{a}")));
    let listed = ok_json(pulse(home.path(), &["--json", "runs"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn backtest_csv_exports_equity_weights_and_every_fill_matching_the_run() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("export");
    let j = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "backtest",
            "--no-report",
            "--csv",
            dir.to_str().unwrap(),
        ],
    ));
    assert_eq!(j["csv"].as_array().unwrap().len(), 3);
    let rows = |name: &str| -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(dir.join(name)).unwrap();
        r.records()
            .map(|x| x.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    let equity = rows("equity.csv");
    let trades = rows("trades.csv");
    let weights = rows("weights.csv");
    for s in j["strategies"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        // Every step of the run, ending at the JSON's final equity.
        let curve: Vec<f64> = equity
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| r[2].parse().unwrap())
            .collect();
        let json_curve: Vec<f64> = j["equity"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(curve, json_curve, "{name}");
        // Every fill, with fees summing exactly to the run's fees.
        let fees: Decimal = trades
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| Decimal::from_str(&r[7]).unwrap())
            .sum();
        assert_eq!(fees, dec(&s["fees_paid"]), "{name}");
        assert!(weights.iter().any(|r| r[0] == name));
    }
    let pulse_fills = trades.iter().filter(|r| r[0] == "Pulse").count();
    assert!(pulse_fills > 10, "{pulse_fills}");
}

#[test]
fn backtest_csv_into_a_file_fails_naming_it_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let blocker = home.path().join("taken");
    std::fs::write(&blocker, "x").unwrap();
    let out = pulse(
        home.path(),
        &[
            "backtest",
            "--no-report",
            "--csv",
            blocker.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("taken"), "{err}");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
}

#[test]
fn simulate_reports_partial_fills_and_exports_csv() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("sim");
    let j = ok_json(pulse(
        home.path(),
        &[
            "--json",
            "simulate",
            "--last",
            "1y",
            "--csv",
            dir.to_str().unwrap(),
        ],
    ));
    assert!(j["rejections"].is_array());
    for r in j["rejections"].as_array().unwrap() {
        assert!(dec(&r["filled"]) < dec(&r["requested"]), "{r}");
    }
    let fills = csv::Reader::from_path(dir.join("trades.csv"))
        .unwrap()
        .records()
        .filter(|r| &r.as_ref().unwrap()[0] == "Pulse")
        .count();
    assert_eq!(fills, j["fills"].as_array().unwrap().len());
}

#[test]
fn simulate_day_one_alert_compares_with_the_all_cash_account_not_the_warm_up_target() {
    let home = tempfile::tempdir().unwrap();
    let j = ok_json(pulse(home.path(), &["--json", "simulate", "--last", "3m"]));
    let first = &j["alerts"][0];
    let from = j["from"].as_str().unwrap();
    assert!(first["ts"].as_str().unwrap().starts_with(from), "{first}");
    // The account starts all cash: every "old" weight is 0, whatever warm-up decided.
    for (symbol, w) in first["old"].as_object().unwrap() {
        assert_eq!(w.as_f64(), Some(0.0), "{symbol} in {first}");
    }
    assert!(
        first["message"].as_str().unwrap().contains("0.0% →"),
        "{first}"
    );
}

/// Issue #12 (reports): "Number of trades 390" counted fills while the win rate was over 191
/// closed trades. The text summary and the HTML report label both, and the two counts differ.
#[test]
fn fills_and_closed_trades_are_labelled_apart_in_the_summary_and_the_report() {
    let home = tempfile::tempdir().unwrap();
    let report = home.path().join("r.html");
    let out = pulse(
        home.path(),
        &["backtest", "--report", report.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let count = |label: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} row in\n{text}"));
        line[label.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (fills, closed) = (count("fills (buys and sells)"), count("closed trades"));
    assert!(
        closed > 0 && closed < fills,
        "{fills} fills, {closed} closed"
    );
    let html = std::fs::read_to_string(&report).unwrap();
    for label in [
        "Fills (buys and sells)",
        "Closed trades (FIFO round trips)",
        "Win rate (of closed trades)",
    ] {
        assert!(html.contains(label), "report lacks {label:?}");
    }
    assert!(!html.contains("Number of trades"));
}
