#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The stored risk settings from the command line: `pulse risk set FILE` (validated; nothing
//! stored and exit 1 naming the key when a key is wrong), `pulse risk show` (FILE's, else the
//! stored ones, else the defaults, saying which; `--json`), `pulse risk reset`, and `--risk` on
//! backtest (the stored settings in the run; not with `--risk-config`: exit 2).

mod common;
use common::{ok_json, pulse_home};

#[test]
fn set_show_and_reset_the_stored_settings() {
    let home = tempfile::tempdir().unwrap();
    let show = |args: &[&str]| {
        let mut all = vec!["risk", "show"];
        all.extend_from_slice(args);
        let out = pulse_home(home.path(), &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Nothing stored: the defaults, said in the first line.
    let text = show(&[]);
    assert!(text.starts_with("# defaults"), "{text}");
    assert!(text.contains("max_position = 0.1"), "{text}");
    let j = ok_json(pulse_home(home.path(), &["--json", "risk", "show"]));
    assert_eq!(j["stored"], false);
    assert_eq!(j["config"]["limits"]["max_position"], 0.1);

    // Stored from a file.
    let file = home.path().join("team-risk.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_position = 0.2\nmax_sector = false\n\n[correlation]\nenabled = true\n",
    )
    .unwrap();
    let out = pulse_home(home.path(), &["risk", "set", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = show(&[]);
    assert!(text.starts_with("# stored settings"), "{text}");
    assert!(text.contains("max_position = 0.2"), "{text}");
    assert!(text.contains("max_sector = false"), "{text}");
    // What show prints is TOML that reads back (the comment line included).
    let printed = home.path().join("printed.toml");
    std::fs::write(&printed, &text).unwrap();
    let out = pulse_home(home.path(), &["risk", "set", printed.to_str().unwrap()]);
    assert!(out.status.success());
    let j = ok_json(pulse_home(home.path(), &["--json", "risk", "show"]));
    assert_eq!(j["stored"], true);
    assert_eq!(j["config"]["limits"]["max_position"], 0.2);
    assert_eq!(j["config"]["limits"]["max_sector"], serde_json::Value::Null);
    assert_eq!(j["config"]["correlation"]["enabled"], true);

    // A file given to show is shown instead, and says so.
    let other = home.path().join("other.toml");
    std::fs::write(&other, "[limits]\nmax_position = 0.05\n").unwrap();
    let text = show(&["--risk-config", other.to_str().unwrap()]);
    assert!(
        text.starts_with("# from ") && text.contains("other.toml"),
        "{text}"
    );
    assert!(text.contains("max_position = 0.05"), "{text}");
    let j = ok_json(pulse_home(
        home.path(),
        &[
            "--json",
            "risk",
            "show",
            "--risk-config",
            other.to_str().unwrap(),
        ],
    ));
    assert_eq!(j["stored"], false);
    assert_eq!(j["config"]["limits"]["max_position"], 0.05);

    // A bad file: exit 1 naming the file and the key; the stored settings are unchanged.
    for (text, key) in [
        ("[limits]\nmax_position = 1.5\n", "limits.max_position"),
        ("[limits]\nmax_positoin = 0.1\n", "max_positoin"),
    ] {
        let bad = home.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = pulse_home(home.path(), &["risk", "set", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("bad.toml") && err.contains(key), "{err}");
        assert!(show(&[]).contains("max_position = 0.2"), "unchanged");
    }
    let out = pulse_home(home.path(), &["risk", "set", "missing.toml"]);
    assert_eq!(out.status.code(), Some(1));
    // Usage errors: exit 2.
    assert_eq!(
        pulse_home(home.path(), &["risk", "set"]).status.code(),
        Some(2)
    );

    // Reset: the defaults again.
    let out = pulse_home(home.path(), &["risk", "reset"]);
    assert!(out.status.success());
    let text = show(&[]);
    assert!(text.starts_with("# defaults"), "{text}");
    assert!(text.contains("max_position = 0.1"), "{text}");
    let j = ok_json(pulse_home(home.path(), &["--json", "risk", "reset"]));
    assert_eq!(j["stored"], false);
}

#[test]
fn the_risk_flag_applies_the_stored_settings() {
    let home = tempfile::tempdir().unwrap();
    // The whole bundled sample (the stop of risk_cli.rs fires in its 2022 fall).
    let backtest = |extra: &[&str]| {
        let mut args = vec!["--json", "backtest", "--no-report"];
        args.extend_from_slice(extra);
        ok_json(pulse_home(home.path(), &args))
    };
    // Nothing stored: --risk applies the defaults.
    let j = backtest(&["--risk"]);
    assert!(j["risk"].is_object(), "{}", j["risk"]);
    let toml = j["risk"]["config_toml"].as_str().unwrap();
    assert!(toml.contains("max_position = 0.1"), "{toml}");
    let defaults = j["risk"].clone();
    // Without a flag, no risk layer.
    let j = backtest(&[]);
    assert!(j["risk"].is_null(), "{}", j["risk"]);

    // Stored: the drawdown stop alone (as risk_cli.rs's file) halts Pulse in 2022.
    let file = home.path().join("stop.toml");
    std::fs::write(
        &file,
        "[limits]\nmax_position = false\nmax_sector = false\nmax_daily_var = false\n\n[leverage]\nenabled = false\n",
    )
    .unwrap();
    let out = pulse_home(home.path(), &["risk", "set", file.to_str().unwrap()]);
    assert!(out.status.success());
    let stored = backtest(&["--risk"]);
    let from_file = backtest(&["--risk-config", file.to_str().unwrap()]);
    assert_eq!(
        stored["risk"], from_file["risk"],
        "--risk runs with the stored settings, as --risk-config with their file"
    );
    assert_ne!(stored["risk"], defaults);
    let events = stored["risk"]["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "drawdown_stop"),
        "{events:?}"
    );

    // --risk with --risk-config: a usage error (exit 2), on every run command.
    for cmd in ["backtest", "simulate", "sweep"] {
        let out = pulse_home(
            home.path(),
            &[cmd, "--risk", "--risk-config", file.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--risk"), "{err}");
    }
}
