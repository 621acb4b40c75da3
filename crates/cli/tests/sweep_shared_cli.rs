//! `pulse sweep --storage postgres://… --study NAME` run by several worker processes sharing one
//! study in Optuna's schema, against the PostgreSQL of `PULSE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`; scripts/ensure_postgres.sh starts one). Each test
//! creates and drops a database of its own.
//!
//! * a grid shared by two workers, one of them killed with SIGKILL mid-way: every grid point is
//!   completed exactly once, the killed worker's running trial is failed after the grace and its
//!   re-queued copy completed;
//! * TPE shared by two workers: unique trial numbers, no point twice, the budget exactly;
//! * Python Optuna (`optuna.load_study`) opens a pulse-written study and reads the same best trial
//!   (scripts/reference/optuna_best_trial.py; scripts/ensure_optuna.sh installs optuna). Without
//!   Python optuna the test is skipped, unless `PULSE_REQUIRE_OPTUNA` is set (scripts/test.sh
//!   sets it): then it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::{isolated, ok_json};
use serde_json::Value;
use sqlx::{Connection, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A password the URLs carry (trust auth ignores it): it must never be printed.
const PASSWORD: &str = "sw33p-n0t-pr1nted";

fn admin_url() -> String {
    std::env::var("PULSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// `url` with its database replaced by `db` and `password` (if any).
fn url_of(url: &str, db: &str, password: Option<&str>) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let rest = rest.split(['/', '?']).next().unwrap();
    let (user, host) = match rest.rsplit_once('@') {
        Some((userinfo, host)) => (userinfo.split(':').next().unwrap(), host),
        None => ("postgres", rest),
    };
    match password {
        Some(pw) => format!("{scheme}://{user}:{pw}@{host}/{db}"),
        None => format!("{scheme}://{user}@{host}/{db}"),
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A database of this test's own, dropped with the guard.
struct TestDb {
    name: String,
    /// With the password (never printed by pulse).
    url: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    fn create() -> TestDb {
        let name = format!(
            "pulse_sweep_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin_url())
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL is not reachable (run scripts/ensure_postgres.sh): {e}")
                });
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
        });
        let url = url_of(&admin_url(), &name, Some(PASSWORD));
        TestDb { name, url }
    }

    /// Runs `f` on a connection to this database.
    fn with<T>(&self, f: impl AsyncFnOnce(&mut sqlx::PgConnection) -> T) -> T {
        let url = url_of(&admin_url(), &self.name, None);
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            f(&mut conn).await
        })
    }

    /// Trials per state of a study.
    fn states(&self, study: &str) -> BTreeMap<String, i64> {
        self.with(async |c| {
            let rows = sqlx::query(
                "SELECT t.state::text AS state, count(*) AS n FROM trials t \
                 JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = $1 \
                 GROUP BY t.state",
            )
            .bind(study)
            .fetch_all(c)
            .await
            .unwrap_or_default();
            rows.iter()
                .map(|r| (r.get::<String, _>("state"), r.get::<i64, _>("n")))
                .collect()
        })
    }

    /// Every trial of a study: (trial_id, number, state, params by name).
    fn trials(&self, study: &str) -> Vec<(i32, i32, String, BTreeMap<String, f64>)> {
        self.with(async |c| {
            let rows = sqlx::query(
                "SELECT t.trial_id, t.number, t.state::text AS state, p.param_name, p.param_value \
                 FROM trials t JOIN studies s ON s.study_id = t.study_id \
                 LEFT JOIN trial_params p ON p.trial_id = t.trial_id \
                 WHERE s.study_name = $1 ORDER BY t.trial_id",
            )
            .bind(study)
            .fetch_all(c)
            .await
            .unwrap();
            let mut out: Vec<(i32, i32, String, BTreeMap<String, f64>)> = Vec::new();
            for r in rows {
                let id: i32 = r.get("trial_id");
                if out.last().is_none_or(|t| t.0 != id) {
                    out.push((id, r.get("number"), r.get("state"), BTreeMap::new()));
                }
                if let Some(name) = r.get::<Option<String>, _>("param_name") {
                    let last = out.last_mut().unwrap();
                    last.3.insert(name, r.get::<f64, _>("param_value"));
                }
            }
            out
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await;
            }
        });
    }
}

/// `pulse --json sweep … --storage URL --study NAME` on the bundled data seeded under `home`.
fn worker(home: &Path, db: &TestDb, study: &str, args: &[&str]) -> Command {
    let mut c = isolated(home);
    c.current_dir(home)
        .env("XDG_DATA_HOME", home)
        .args(["--json", "sweep"])
        .args(args)
        .args(["--storage", &db.url, "--study", study]);
    c
}

fn assert_no_password(out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(PASSWORD), "the password was printed: {text}");
    }
}

fn finish(child: Child) -> Value {
    let out = child.wait_with_output().unwrap();
    assert_no_password(&out);
    ok_json(out)
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} failed");
}

#[test]
fn two_workers_complete_a_shared_grid_once_each_point_even_when_one_is_killed() {
    let db = TestDb::create();
    let home = tempfile::tempdir().unwrap();
    let study = "grid";
    // 36 × 36 = 1,296 grid points, all feasible.
    let search = [
        "--param",
        "rsi_high=55:90:1",
        "--param",
        "rsi_low=10:45:1",
        "--budget",
        "5000",
        "--heartbeat",
        "0.3",
        "--grace",
        "1.5",
    ];
    let spawn = |jobs: &str| {
        worker(home.path(), &db, study, &search)
            .args(["--jobs", jobs])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let complete = || db.states(study).get("COMPLETE").copied().unwrap_or(0);
    let mut a = spawn("2");
    // A seeds the data store and creates the study; then B joins.
    wait_until("worker A's first trials", Duration::from_secs(120), || {
        complete() >= 50
    });
    let b = spawn("1");
    wait_until("both workers' trials", Duration::from_secs(120), || {
        complete() >= 300
    });
    // Kill A while it holds a running trial: with A stopped, more running trials than B's one
    // thread can hold means one is A's.
    let mut killed = false;
    for _ in 0..500 {
        signal(&a, "-STOP");
        let running = db.states(study).get("RUNNING").copied().unwrap_or(0);
        if running >= 2 {
            a.kill().unwrap();
            killed = true;
            break;
        }
        signal(&a, "-CONT");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(killed, "never saw worker A with a running trial");
    let _ = a.wait();
    assert!(complete() < 1296, "the study finished before the kill");

    let j = finish(b);
    assert_eq!(j["trials"], 1296, "{j}");
    assert_eq!(j["study"], study);
    assert_eq!(j["method"], "grid");
    assert!(j["best"]["score"].as_f64().unwrap().is_finite());

    let trials = db.trials(study);
    let numbers: BTreeSet<i32> = trials.iter().map(|t| t.1).collect();
    assert_eq!(numbers.len(), trials.len(), "trial numbers are unique");
    let point = |p: &BTreeMap<String, f64>| (p["rsi_high"] as i64, p["rsi_low"] as i64);
    let done: Vec<(i64, i64)> = trials
        .iter()
        .filter(|t| t.2 == "COMPLETE")
        .map(|t| point(&t.3))
        .collect();
    let grid: BTreeSet<(i64, i64)> = (55..=90)
        .flat_map(|h| (10..=45).map(move |l| (h, l)))
        .collect();
    let distinct: BTreeSet<(i64, i64)> = done.iter().copied().collect();
    assert_eq!(done.len(), distinct.len(), "a grid point completed twice");
    assert_eq!(distinct, grid, "the completed points are the grid");
    assert!(
        !trials.iter().any(|t| t.2 == "RUNNING" || t.2 == "WAITING"),
        "nothing left running or waiting"
    );

    // The killed worker's running trial(s): failed after the grace, re-queued as a copy with
    // the same point (Optuna's failed_trial / retry_history), completed once.
    let failed: Vec<_> = trials.iter().filter(|t| t.2 == "FAIL").collect();
    assert!(
        !failed.is_empty(),
        "the killed worker's trial was not failed"
    );
    let copies: Vec<(i64, i64, f64)> = db.with(async |c| {
        sqlx::query(
            "SELECT (a.value_json)::int8 AS failed_number, t.state::text AS state, \
                    EXTRACT(EPOCH FROM (f.datetime_complete - f.datetime_start))::float8 AS waited \
             FROM trial_system_attributes a JOIN trials t ON t.trial_id = a.trial_id \
             JOIN trials f ON f.number = (a.value_json)::int4 AND f.study_id = t.study_id \
             WHERE a.key = 'failed_trial'",
        )
        .fetch_all(c)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let state: String = r.get("state");
            assert_eq!(state, "COMPLETE", "a re-queued copy did not complete");
            (
                r.get::<i64, _>("failed_number"),
                0,
                r.get::<f64, _>("waited"),
            )
        })
        .collect()
    });
    assert_eq!(
        copies.len(),
        failed.len(),
        "every failed trial was re-queued"
    );
    for f in &failed {
        assert!(
            copies.iter().any(|c| c.0 == i64::from(f.1)),
            "failed trial {} has no copy",
            f.1
        );
        let copy = trials
            .iter()
            .find(|t| t.2 == "COMPLETE" && t.3 == f.3)
            .expect("the copy completed the same point");
        assert!(copy.1 > f.1, "the copy has a new number");
    }
    // Its last heartbeat came after its start: failed no sooner than the grace after it.
    for (_, _, waited) in &copies {
        assert!(
            *waited >= 1.5,
            "failed {waited:.2} s after its start (grace 1.5 s)"
        );
    }
}

#[test]
fn two_tpe_workers_share_the_history_and_never_run_a_point_twice() {
    let db = TestDb::create();
    let home = tempfile::tempdir().unwrap();
    let study = "tpe";
    let search = [
        "--param",
        "rsi_high=60:85:1",
        "--param",
        "rsi_low=15:40:1",
        "--constraint",
        "rsi_low < rsi_high",
        "--method",
        "tpe",
        "--budget",
        "60",
        "--jobs",
        "1",
    ];
    // Seed the data store first (one process), then two workers at once.
    let first = worker(
        home.path(),
        &db,
        "warm-up",
        &["--param", "rsi_high=70", "--budget", "1"],
    )
    .output()
    .unwrap();
    ok_json(first);
    let spawn = || {
        worker(home.path(), &db, study, &search)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (ja, jb) = (finish(a), finish(b));
    for j in [&ja, &jb] {
        assert_eq!(j["trials"], 60, "{j}");
        assert_eq!(j["method"], "tpe");
    }
    assert_eq!(
        ja["new_trials"].as_u64().unwrap() + jb["new_trials"].as_u64().unwrap(),
        60,
        "each trial ran in one worker"
    );
    assert_eq!(ja["best"], jb["best"], "both report the same study");
    let trials = db.trials(study);
    assert_eq!(trials.len(), 60);
    assert!(trials.iter().all(|t| t.2 == "COMPLETE"));
    let numbers: BTreeSet<i32> = trials.iter().map(|t| t.1).collect();
    assert_eq!(numbers, (0..60).collect(), "numbers 0..60, once each");
    let points: BTreeSet<(i64, i64)> = trials
        .iter()
        .map(|t| (t.3["rsi_high"] as i64, t.3["rsi_low"] as i64))
        .collect();
    assert_eq!(points.len(), 60, "no point twice");
    assert!(points.iter().all(|(h, l)| l < h), "the constraint holds");
}

/// Python with optuna and a PostgreSQL driver, or `None` (a failure when PULSE_REQUIRE_OPTUNA
/// is set).
fn python_optuna() -> Option<String> {
    let python = std::env::var("PULSE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&python)
        .args(["-c", "import optuna, psycopg"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var_os("PULSE_REQUIRE_OPTUNA").is_none(),
        "PULSE_REQUIRE_OPTUNA is set but `{python} -c 'import optuna, psycopg'` fails: run scripts/ensure_optuna.sh"
    );
    eprintln!("skipped: no Python optuna (scripts/ensure_optuna.sh installs it)");
    None
}

#[test]
fn python_optuna_opens_a_pulse_study_and_reads_the_same_best_trial() {
    let Some(python) = python_optuna() else {
        return;
    };
    let db = TestDb::create();
    let home = tempfile::tempdir().unwrap();
    let study = "for-optuna";
    let out = worker(
        home.path(),
        &db,
        study,
        &[
            "--param",
            "rsi_high=64:76:2",
            "--param",
            "bbands_k=1.5:2.5:0.5",
            "--budget",
            "100",
        ],
    )
    .output()
    .unwrap();
    assert_no_password(&out);
    let j = ok_json(out);
    assert_eq!(j["trials"], 21);
    let best = &j["best"];

    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/reference/optuna_best_trial.py");
    let storage = url_of(&admin_url(), &db.name, None).replacen("postgres://", "postgresql://", 1);
    let py = Command::new(&python)
        .arg(&script)
        .args([&storage, study])
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "optuna could not open the study: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let o: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert_eq!(o["direction"], "MAXIMIZE");
    assert_eq!(o["metric_names"], serde_json::json!(["sharpe"]));
    assert_eq!(o["states"]["COMPLETE"], 21, "{o}");
    assert_eq!(o["best"]["number"], best["number"], "{o} vs {best}");
    let value = o["best"]["value"].as_f64().unwrap();
    let score = best["score"].as_f64().unwrap();
    assert_eq!(
        value.to_bits(),
        score.to_bits(),
        "the same value, bit for bit"
    );
    assert_eq!(
        o["best"]["params"]["rsi_high"],
        best["params"]["rsi_high"].as_f64().unwrap() as i64
    );
    assert_eq!(o["best"]["params"]["bbands_k"], best["params"]["bbands_k"]);
    assert_eq!(o["distributions"]["rsi_high"], "IntDistribution");
    assert_eq!(o["distributions"]["bbands_k"], "FloatDistribution");
}
