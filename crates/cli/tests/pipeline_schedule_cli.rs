//! The scheduled pipeline (`[pipeline] time`) run by `pulse schedule`: before the time nothing
//! runs; after it, on a KRX trading day, the day's table is stored once however often the
//! scheduler ticks; a weekend is skipped; a bad `[pipeline] time` is a usage error naming it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::isolated;
use std::path::Path;
use std::process::Output;

fn pulse(home: &Path, config: &Path, args: &[&str]) -> Output {
    isolated(home)
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(home)
        .env("XDG_DATA_HOME", home)
        .env_remove("KIS_APP_KEY")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_scheduler_runs_the_days_pipeline_once_after_its_time() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let sheet = h.join("sheet.csv");
    std::fs::write(
        &sheet,
        "asset,class,currency,quantity,value,date\nDeposit,cash,KRW,1,2500000,2024-03-01\n",
    )
    .unwrap();
    let config = h.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[pipeline]\ntime = \"16:30\"\nbroker = \"none\"\nmanual = {:?}\n",
            sheet.to_str().unwrap()
        ),
    )
    .unwrap();
    let tick = |at: &str| {
        assert!(
            pulse(h, &config, &["-q", "clock", "set", at])
                .status
                .success()
        );
        let out = pulse(h, &config, &["schedule", "--ticks", "1"]);
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    // Monday 2024-03-04, 16:00 in Seoul: not yet.
    let t = tick("2024-03-04T16:00:00+09:00");
    assert!(!t.contains("pipeline"), "{t}");
    // 16:35: the day's run, stored.
    let t = tick("2024-03-04T16:35:00+09:00");
    assert!(t.contains("pipeline: 2024-03-04: stored"), "{t}");
    assert!(t.contains("total 2,500,000 KRW"), "{t}");
    // Once a day.
    let t = tick("2024-03-04T18:00:00+09:00");
    assert!(!t.contains("pipeline"), "{t}");
    // Saturday: no trading day.
    let t = tick("2024-03-09T17:00:00+09:00");
    assert!(!t.contains("pipeline"), "{t}");
    let out = pulse(h, &config, &["--json", "pipeline", "report"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["date"], "2024-03-04");
    assert_eq!(v["total"]["value_krw"].as_f64().unwrap(), 2_500_000.0);

    // A bad time is refused before anything runs, naming the setting.
    std::fs::write(&config, "[pipeline]\ntime = \"half past four\"\n").unwrap();
    let out = pulse(h, &config, &["schedule", "--ticks", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("[pipeline] time"), "{}", text(&out));
}
