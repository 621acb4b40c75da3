//! `study-optuna`: the study storage port ([`pulse_core::study::StudyStorage`]) on PostgreSQL in
//! **Optuna's RDB schema** (Optuna 5.1.0: schema version 12, alembic head `v3.2.0.a`), so that
//! `optuna.load_study`, optuna-dashboard and Python Optuna workers open a study that `pulse sweep
//! --storage` workers share.
//!
//! How the port maps onto Optuna's tables:
//! * a study is a `studies` row with one `study_directions` row (`MAXIMIZE`), its settings in the
//!   study system attribute `pulse:settings` and the objective's name in `study:metric_names`;
//! * a grid's trials are enqueued as `WAITING` trials with the system attribute `fixed_params`
//!   (as `Study.enqueue_trial` does); a worker claims the oldest with `FOR UPDATE SKIP LOCKED`;
//! * an asked trial (random, TPE) is created `RUNNING` with the study row locked, so that every
//!   ask sees the trials of the others (the constant liar) and trial numbers stay unique;
//! * parameters go to `trial_params` with Optuna's distribution JSON (`IntDistribution`,
//!   `FloatDistribution`); a score to `trial_values` (`FINITE`, `INF_POS`, `INF_NEG`); an undefined
//!   score (NaN) makes the trial `FAIL` as Optuna does, marked `pulse:evaluated`; metrics are user
//!   attributes, private details the system attribute `pulse:details`;
//! * heartbeats live in `trial_heartbeats` (the database's clock, as Optuna's); a stale running
//!   trial is set `FAIL` and re-queued as a `WAITING` copy with its parameters and the system
//!   attributes `failed_trial` and `retry_history` (as Optuna's `RetryFailedTrialCallback`).
//!
//! Datetimes are naive UTC (Optuna ≥ 5).

use pulse_core::study::{
    Asked, ClaimedTrial, Distribution, PastTrial, StudyCounts, StudyHandle, StudyHistory,
    StudySpec, StudyStorage, StudyTrial, TrialResult,
};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

/// Alembic head of the schema this crate writes (Optuna 5.1.0).
pub const ALEMBIC_VERSION: &str = "v3.2.0.a";

/// Optuna's `SCHEMA_VERSION` (frozen since alembic took over).
pub const SCHEMA_VERSION: i32 = 12;

/// Optuna's schema (enums, tables, constraints, version rows).
const SCHEMA: &str = include_str!("schema.sql");

/// Advisory lock key under which a fresh database gets its schema (once, whoever comes first).
const SCHEMA_LOCK: i64 = 0x0970_7475_6e61;

/// Errors of the Optuna study storage.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The URL does not parse (the password, if any, is not repeated).
    #[error("invalid PostgreSQL URL: {reason}")]
    InvalidUrl {
        /// The parser's reason.
        reason: String,
    },
    /// The server refused or could not be reached.
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect {
        /// `host:port/database`.
        target: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("study storage: {0}")]
    Sql(#[from] sqlx::Error),
    /// The database holds another version of Optuna's schema.
    #[error(
        "the database holds Optuna's schema {found}; pulse writes {ALEMBIC_VERSION} (Optuna 5.1): upgrade it with `optuna storage upgrade`"
    )]
    SchemaVersion {
        /// The alembic version found.
        found: String,
    },
    /// The study exists with other settings, or was not made by pulse.
    #[error("{0}")]
    Conflict(String),
    /// Stored data that does not read back.
    #[error("study storage: {0}")]
    Data(String),
}

/// A study storage in Optuna's schema on one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct OptunaStudies {
    pool: PgPool,
    target: String,
}

/// `host:port/database` of connection options (never the user or password).
fn target_of(options: &PgConnectOptions) -> String {
    let db = options
        .get_database()
        .unwrap_or_else(|| options.get_username());
    format!("{}:{}/{db}", options.get_host(), options.get_port())
}

/// The password of a URL, if it has one (to scrub it from a parser's message).
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

/// Optuna's JSON of a distribution.
pub fn distribution_json(d: &Distribution) -> String {
    match *d {
        Distribution::Int { low, high, step } => serde_json::json!({
            "name": "IntDistribution",
            "attributes": {"log": false, "step": step, "low": low, "high": high}
        }),
        Distribution::Float { low, high, step } => serde_json::json!({
            "name": "FloatDistribution",
            "attributes": {"step": step, "low": low, "high": high, "log": false}
        }),
    }
    .to_string()
}

/// A parameter value as JSON (integers as integers, as Optuna writes `fixed_params`).
fn value_json(d: &Distribution, x: f64) -> serde_json::Value {
    match d {
        Distribution::Int { .. } if x.is_finite() => serde_json::json!(x.round() as i64),
        _ => serde_json::json!(x),
    }
}

/// `fixed_params` of a point.
fn fixed_params(spec: &StudySpec, values: &[f64]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = spec
        .params
        .iter()
        .zip(values)
        .map(|(p, x)| (p.name.clone(), value_json(&p.distribution, *x)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// A finite number as JSON, anything else as `null` (JSON has no NaN).
fn number_json(x: f64) -> String {
    match x.is_finite() {
        true => serde_json::json!(x).to_string(),
        false => "null".to_string(),
    }
}

/// A trial's parameters, from `(name, value)` rows, in the study's order; `None` when one is
/// missing (a trial of another sampler, or one that has not suggested everything yet).
fn values_in_order(spec: &StudySpec, rows: &BTreeMap<String, f64>) -> Option<Vec<f64>> {
    spec.params
        .iter()
        .map(|p| rows.get(&p.name).copied())
        .collect()
}

/// The values of a `fixed_params` JSON in the study's order.
fn values_of_fixed(spec: &StudySpec, json: &str) -> Result<Vec<f64>, StudyError> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| StudyError::Data(format!("fixed_params {json:?}: {e}")))?;
    spec.params
        .iter()
        .map(|p| {
            map.get(&p.name).and_then(|v| v.as_f64()).ok_or_else(|| {
                StudyError::Data(format!("fixed_params {json:?} has no number {}", p.name))
            })
        })
        .collect()
}

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

impl OptunaStudies {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// creates Optuna's schema when the database has none (under an advisory lock: workers
    /// starting at once create it once); a database holding another schema version is refused.
    /// Errors name `host:port/database`, never the password.
    pub async fn connect(url: &str, max_connections: u32) -> Result<OptunaStudies, StudyError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            let mut reason = e.to_string();
            if let Some(password) = url_password(url) {
                reason = reason.replace(&password, "***");
            }
            StudyError::InvalidUrl { reason }
        })?;
        let target = target_of(&options);
        let connect = |source| StudyError::Connect {
            target: target.clone(),
            source,
        };
        // One direct connection first: a wrong host or database fails at once with the
        // server's reason (a pool would retry until its timeout).
        let probe = PgConnection::connect_with(&options)
            .await
            .map_err(connect)?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(connect)?;
        let studies = OptunaStudies { pool, target };
        studies.ensure_schema().await?;
        Ok(studies)
    }

    /// The database as `host:port/database`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn ensure_schema(&self) -> Result<(), StudyError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await?;
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('studies') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
        if exists {
            let found: Option<String> =
                sqlx::query_scalar("SELECT version_num FROM alembic_version LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
            if found.as_deref() != Some(ALEMBIC_VERSION) {
                return Err(StudyError::SchemaVersion {
                    found: found.unwrap_or_else(|| "without a version".to_string()),
                });
            }
        } else {
            sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
        }
        // Not Optuna's: the claim's and the counts' index (harmless to Optuna and its migrations).
        sqlx::query(
            "CREATE INDEX IF NOT EXISTS pulse_trials_study_state ON trials (study_id, state)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts a trial in `state` (`RUNNING` or `WAITING`) with its parameters; a running one
    /// gets its start time and first heartbeat. The caller holds the study row lock.
    async fn insert_trial(
        tx: &mut Tx<'_>,
        study: i64,
        spec: &StudySpec,
        state: &str,
        values: &[f64],
        system_attrs: &[(&str, String)],
    ) -> Result<ClaimedTrial, StudyError> {
        let number: i64 = sqlx::query_scalar("SELECT count(*) FROM trials WHERE study_id = $1")
            .bind(study)
            .fetch_one(&mut **tx)
            .await?;
        let running = state == "RUNNING";
        let id: i32 = sqlx::query_scalar(
            "INSERT INTO trials (number, study_id, state, datetime_start) \
             VALUES ($1, $2, $3::trialstate, CASE WHEN $4 THEN now() AT TIME ZONE 'UTC' END) \
             RETURNING trial_id",
        )
        .bind(i32::try_from(number).map_err(|_| StudyError::Data("too many trials".into()))?)
        .bind(study as i32)
        .bind(state)
        .bind(running)
        .fetch_one(&mut **tx)
        .await?;
        Self::insert_params(tx, id, spec, values).await?;
        for (key, value) in system_attrs {
            sqlx::query(
                "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(*key)
            .bind(value)
            .execute(&mut **tx)
            .await?;
        }
        if running {
            Self::first_heartbeat(tx, id).await?;
        }
        Ok(ClaimedTrial {
            id: i64::from(id),
            number: number as u64,
            values: values.to_vec(),
        })
    }

    async fn insert_params(
        tx: &mut Tx<'_>,
        trial: i32,
        spec: &StudySpec,
        values: &[f64],
    ) -> Result<(), StudyError> {
        let names: Vec<String> = spec.params.iter().map(|p| p.name.clone()).collect();
        let dists: Vec<String> = spec
            .params
            .iter()
            .map(|p| distribution_json(&p.distribution))
            .collect();
        sqlx::query(
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
             SELECT $1, n, v, d FROM unnest($2::text[], $3::float8[], $4::text[]) AS u(n, v, d) \
             ON CONFLICT (trial_id, param_name) DO NOTHING",
        )
        .bind(trial)
        .bind(&names)
        .bind(values)
        .bind(&dists)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn first_heartbeat(tx: &mut Tx<'_>, trial: i32) -> Result<(), StudyError> {
        sqlx::query(
            "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1, now()) \
             ON CONFLICT (trial_id) DO UPDATE SET heartbeat = now()",
        )
        .bind(trial)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Trials of a study with their parameters, score and state, read in one query each.
    async fn read_trials(
        conn: &mut PgConnection,
        study: i64,
        spec: &StudySpec,
        states: &[&str],
    ) -> Result<Vec<RawTrial>, StudyError> {
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let rows = sqlx::query(
            "SELECT t.trial_id, t.number, t.state::text AS state, v.value, v.value_type::text AS value_type, \
                    EXISTS (SELECT 1 FROM trial_system_attributes a \
                            WHERE a.trial_id = t.trial_id AND a.key = 'pulse:evaluated') AS evaluated \
             FROM trials t LEFT JOIN trial_values v ON v.trial_id = t.trial_id AND v.objective = 0 \
             WHERE t.study_id = $1 AND t.state::text = ANY($2) ORDER BY t.number, t.trial_id",
        )
        .bind(study as i32)
        .bind(&states)
        .fetch_all(&mut *conn)
        .await?;
        let params = sqlx::query(
            "SELECT p.trial_id, p.param_name, p.param_value FROM trial_params p \
             JOIN trials t ON t.trial_id = p.trial_id \
             WHERE t.study_id = $1 AND t.state::text = ANY($2)",
        )
        .bind(study as i32)
        .bind(&states)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_trial: BTreeMap<i32, BTreeMap<String, f64>> = BTreeMap::new();
        for r in params {
            let value: Option<f64> = r.try_get("param_value")?;
            by_trial
                .entry(r.try_get("trial_id")?)
                .or_default()
                .insert(r.try_get("param_name")?, value.unwrap_or(f64::NAN));
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i32 = r.try_get("trial_id")?;
            let value_type: Option<String> = r.try_get("value_type")?;
            let value: Option<f64> = r.try_get("value")?;
            let score = match value_type.as_deref() {
                Some("FINITE") => value.unwrap_or(f64::NAN),
                Some("INF_POS") => f64::INFINITY,
                Some("INF_NEG") => f64::NEG_INFINITY,
                _ => f64::NAN,
            };
            let number: Option<i32> = r.try_get("number")?;
            out.push(RawTrial {
                id,
                number: number.unwrap_or(0).max(0) as u64,
                state: r.try_get("state")?,
                evaluated: r.try_get("evaluated")?,
                score,
                values: by_trial
                    .get(&id)
                    .and_then(|rows| values_in_order(spec, rows)),
            });
        }
        Ok(out)
    }
}

/// A trial row as read.
#[derive(Debug)]
struct RawTrial {
    id: i32,
    number: u64,
    state: String,
    evaluated: bool,
    score: f64,
    values: Option<Vec<f64>>,
}

impl RawTrial {
    /// Finished with a result: complete, or failed after an evaluation (undefined objective).
    fn has_result(&self) -> bool {
        self.state == "COMPLETE" || (self.state == "FAIL" && self.evaluated)
    }
}

impl StudyStorage for OptunaStudies {
    type Error = StudyError;

    async fn open_study(
        &self,
        spec: &StudySpec,
        enqueue: &[Vec<f64>],
    ) -> Result<StudyHandle, StudyError> {
        let mut tx = self.pool.begin().await?;
        // A concurrent creator's insert makes this one wait for its commit, then do nothing.
        let created: Option<i32> = sqlx::query_scalar(
            "INSERT INTO studies (study_name) VALUES ($1) ON CONFLICT (study_name) DO NOTHING \
             RETURNING study_id",
        )
        .bind(&spec.name)
        .fetch_optional(&mut *tx)
        .await?;
        let name = &spec.name;
        if let Some(id) = created {
            sqlx::query(
                "INSERT INTO study_directions (direction, study_id, objective) \
                 VALUES ('MAXIMIZE', $1, 0)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let metric_names = serde_json::json!([spec.objective]).to_string();
            for (key, value) in [
                ("pulse:settings", spec.settings_json.as_str()),
                ("study:metric_names", metric_names.as_str()),
            ] {
                sqlx::query(
                    "INSERT INTO study_system_attributes (study_id, key, value_json) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
            }
            if !enqueue.is_empty() {
                let numbers: Vec<i32> = (0..enqueue.len())
                    .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
                    .collect();
                let ids: Vec<i32> = sqlx::query_scalar(
                    "INSERT INTO trials (number, study_id, state) \
                     SELECT n, $1, 'WAITING' FROM unnest($2::int4[]) AS u(n) ORDER BY n \
                     RETURNING trial_id",
                )
                .bind(id)
                .bind(&numbers)
                .fetch_all(&mut *tx)
                .await?;
                let fixed: Vec<String> = enqueue.iter().map(|v| fixed_params(spec, v)).collect();
                sqlx::query(
                    "INSERT INTO trial_system_attributes (trial_id, key, value_json) \
                     SELECT t, 'fixed_params', j FROM unnest($1::int4[], $2::text[]) AS u(t, j)",
                )
                .bind(&ids)
                .bind(&fixed)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            return Ok(StudyHandle {
                id: i64::from(id),
                created: true,
            });
        }
        let id: i32 = sqlx::query_scalar("SELECT study_id FROM studies WHERE study_name = $1")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        let settings: Option<String> = sqlx::query_scalar(
            "SELECT value_json FROM study_system_attributes WHERE study_id = $1 AND key = 'pulse:settings'",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(settings) = settings else {
            return Err(StudyError::Conflict(format!(
                "study {name:?} exists but was not created by `pulse sweep`; use another --study name"
            )));
        };
        let same = match (
            serde_json::from_str::<serde_json::Value>(&settings),
            serde_json::from_str::<serde_json::Value>(&spec.settings_json),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => settings == spec.settings_json,
        };
        if !same {
            return Err(StudyError::Conflict(format!(
                "study {name:?} was run with other settings (parameters, objective, method, seed, budget, rule set or data); use another --study name"
            )));
        }
        Ok(StudyHandle {
            id: i64::from(id),
            created: false,
        })
    }

    async fn claim(
        &self,
        study: &StudyHandle,
        spec: &StudySpec,
    ) -> Result<Option<ClaimedTrial>, StudyError> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(
            "UPDATE trials t SET state = 'RUNNING', datetime_start = now() AT TIME ZONE 'UTC' \
             FROM (SELECT trial_id FROM trials WHERE study_id = $1 AND state = 'WAITING' \
                   ORDER BY number, trial_id LIMIT 1 FOR UPDATE SKIP LOCKED) c \
             WHERE t.trial_id = c.trial_id RETURNING t.trial_id, t.number",
        )
        .bind(study.id as i32)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = claimed else {
            tx.commit().await?;
            return Ok(None);
        };
        let id: i32 = row.try_get("trial_id")?;
        let number: Option<i32> = row.try_get("number")?;
        // A waiting trial names its point in fixed_params (enqueued) or in trial_params (a
        // re-queued copy, as Optuna's retry callback writes it).
        let fixed: Option<String> = sqlx::query_scalar(
            "SELECT value_json FROM trial_system_attributes WHERE trial_id = $1 AND key = 'fixed_params'",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let values = match fixed {
            Some(json) => values_of_fixed(spec, &json)?,
            None => {
                let rows = sqlx::query(
                    "SELECT param_name, param_value FROM trial_params WHERE trial_id = $1",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                let mut map = BTreeMap::new();
                for r in rows {
                    let v: Option<f64> = r.try_get("param_value")?;
                    map.insert(r.try_get::<String, _>("param_name")?, v.unwrap_or(f64::NAN));
                }
                values_in_order(spec, &map).ok_or_else(|| {
                    StudyError::Data(format!("waiting trial {id} does not name every parameter"))
                })?
            }
        };
        Self::insert_params(&mut tx, id, spec, &values).await?;
        Self::first_heartbeat(&mut tx, id).await?;
        tx.commit().await?;
        Ok(Some(ClaimedTrial {
            id: i64::from(id),
            number: number.unwrap_or(0).max(0) as u64,
            values,
        }))
    }

    async fn ask(
        &self,
        study: &StudyHandle,
        spec: &StudySpec,
        suggest: &(dyn Fn(&StudyHistory) -> Option<Vec<f64>> + Sync),
    ) -> Result<Asked, StudyError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT study_id FROM studies WHERE study_id = $1 FOR UPDATE")
            .bind(study.id as i32)
            .execute(&mut *tx)
            .await?;
        let trials = Self::read_trials(
            &mut tx,
            study.id,
            spec,
            &["COMPLETE", "RUNNING", "WAITING", "FAIL", "PRUNED"],
        )
        .await?;
        let spent = trials
            .iter()
            .filter(|t| t.state != "FAIL" || t.evaluated)
            .count() as u64;
        if spent >= spec.budget {
            tx.commit().await?;
            return Ok(Asked::BudgetReached);
        }
        let mut history = StudyHistory {
            next_number: trials.len() as u64,
            ..StudyHistory::default()
        };
        for t in &trials {
            let Some(values) = t.values.clone() else {
                continue;
            };
            let past = PastTrial {
                number: t.number,
                values,
                score: t.score,
            };
            if t.has_result() {
                history.finished.push(past);
            } else if t.state == "RUNNING" || t.state == "WAITING" {
                history.pending.push(PastTrial {
                    score: f64::NAN,
                    ..past
                });
            }
        }
        let Some(values) = suggest(&history) else {
            tx.commit().await?;
            return Ok(Asked::Exhausted);
        };
        let trial = Self::insert_trial(&mut tx, study.id, spec, "RUNNING", &values, &[]).await?;
        tx.commit().await?;
        Ok(Asked::Trial(trial))
    }

    async fn tell(&self, trial: &ClaimedTrial, result: &TrialResult) -> Result<bool, StudyError> {
        let mut tx = self.pool.begin().await?;
        let id = trial.id as i32;
        let state = if result.score.is_nan() {
            "FAIL"
        } else {
            "COMPLETE"
        };
        let updated = sqlx::query(
            "UPDATE trials SET state = $2::trialstate, datetime_complete = now() AT TIME ZONE 'UTC' \
             WHERE trial_id = $1 AND state = 'RUNNING'",
        )
        .bind(id)
        .bind(state)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let s = result.score;
        if !s.is_nan() {
            let (value, kind) = match s {
                f64::INFINITY => (None, "INF_POS"),
                f64::NEG_INFINITY => (None, "INF_NEG"),
                _ => (Some(s), "FINITE"),
            };
            sqlx::query(
                "INSERT INTO trial_values (trial_id, objective, value, value_type) \
                 VALUES ($1, 0, $2, $3::trialvaluetype)",
            )
            .bind(id)
            .bind(value)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        }
        let keys: Vec<String> = result.metrics.iter().map(|(k, _)| k.clone()).collect();
        let values: Vec<String> = result
            .metrics
            .iter()
            .map(|(_, v)| number_json(*v))
            .collect();
        sqlx::query(
            "INSERT INTO trial_user_attributes (trial_id, key, value_json) \
             SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS u(k, v) \
             ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
        )
        .bind(id)
        .bind(&keys)
        .bind(&values)
        .execute(&mut *tx)
        .await?;
        let mut system: Vec<(&str, String)> = Vec::new();
        if let Some(details) = &result.details_json {
            system.push(("pulse:details", details.clone()));
        }
        if s.is_nan() {
            system.push(("pulse:evaluated", "true".to_string()));
        }
        for (key, value) in system {
            sqlx::query(
                "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES ($1, $2, $3) \
                 ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
            )
            .bind(id)
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn heartbeat(&self, trials: &[i64]) -> Result<(), StudyError> {
        if trials.is_empty() {
            return Ok(());
        }
        let ids: Vec<i32> = trials.iter().map(|t| *t as i32).collect();
        sqlx::query("UPDATE trial_heartbeats SET heartbeat = now() WHERE trial_id = ANY($1)")
            .bind(&ids)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn fail_stale(&self, study: &StudyHandle, grace: Duration) -> Result<u64, StudyError> {
        let mut tx = self.pool.begin().await?;
        let stale: Vec<i32> = sqlx::query_scalar(
            "SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON h.trial_id = t.trial_id \
             WHERE t.study_id = $1 AND t.state = 'RUNNING' \
               AND h.heartbeat < now()::timestamp - make_interval(secs => $2) \
             ORDER BY t.trial_id FOR UPDATE OF t SKIP LOCKED",
        )
        .bind(study.id as i32)
        .bind(grace.as_secs_f64())
        .fetch_all(&mut *tx)
        .await?;
        if stale.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        // Numbers of the copies: the study row lock keeps them unique.
        sqlx::query("SELECT study_id FROM studies WHERE study_id = $1 FOR UPDATE")
            .bind(study.id as i32)
            .execute(&mut *tx)
            .await?;
        let mut failed = 0;
        for id in stale {
            let number: Option<i32> = sqlx::query_scalar(
                "UPDATE trials SET state = 'FAIL', datetime_complete = now() AT TIME ZONE 'UTC' \
                 WHERE trial_id = $1 AND state = 'RUNNING' RETURNING number",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
            let Some(number) = number else { continue };
            failed += 1;
            // The copy, as Optuna's RetryFailedTrialCallback makes it: same parameters and
            // system attributes, plus failed_trial and retry_history.
            let attrs = sqlx::query(
                "SELECT key, value_json FROM trial_system_attributes WHERE trial_id = $1",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            let mut system: BTreeMap<String, String> = BTreeMap::new();
            for a in attrs {
                let value: Option<String> = a.try_get("value_json")?;
                system.insert(a.try_get("key")?, value.unwrap_or_else(|| "null".into()));
            }
            let mut history: Vec<i64> = system
                .get("retry_history")
                .and_then(|h| serde_json::from_str(h).ok())
                .unwrap_or_default();
            history.push(i64::from(number));
            system.insert("failed_trial".into(), number.to_string());
            system.insert(
                "retry_history".into(),
                serde_json::json!(history).to_string(),
            );
            let copy: i32 = sqlx::query_scalar(
                "INSERT INTO trials (number, study_id, state) \
                 VALUES ((SELECT count(*) FROM trials WHERE study_id = $1), $1, 'WAITING') \
                 RETURNING trial_id",
            )
            .bind(study.id as i32)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) \
                 SELECT $2, param_name, param_value, distribution_json FROM trial_params \
                 WHERE trial_id = $1",
            )
            .bind(id)
            .bind(copy)
            .execute(&mut *tx)
            .await?;
            let (keys, values): (Vec<String>, Vec<String>) = system.into_iter().unzip();
            sqlx::query(
                "INSERT INTO trial_system_attributes (trial_id, key, value_json) \
                 SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS u(k, v)",
            )
            .bind(copy)
            .bind(&keys)
            .bind(&values)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(failed)
    }

    async fn counts(&self, study: &StudyHandle) -> Result<StudyCounts, StudyError> {
        let rows = sqlx::query(
            "SELECT t.state::text AS state, count(*) AS n, \
                    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM trial_system_attributes a \
                        WHERE a.trial_id = t.trial_id AND a.key = 'pulse:evaluated')) AS evaluated \
             FROM trials t WHERE t.study_id = $1 GROUP BY t.state",
        )
        .bind(study.id as i32)
        .fetch_all(&self.pool)
        .await?;
        let mut c = StudyCounts::default();
        for r in rows {
            let state: String = r.try_get("state")?;
            let n = r.try_get::<i64, _>("n")?.max(0) as u64;
            let evaluated = r.try_get::<i64, _>("evaluated")?.max(0) as u64;
            match state.as_str() {
                "WAITING" => c.waiting += n,
                "RUNNING" => c.running += n,
                "COMPLETE" | "PRUNED" => c.finished += n,
                _ => {
                    c.finished += evaluated;
                    c.failed += n - evaluated;
                }
            }
        }
        Ok(c)
    }

    async fn finished_trials(
        &self,
        study: &StudyHandle,
        spec: &StudySpec,
    ) -> Result<Vec<StudyTrial>, StudyError> {
        let mut conn = self.pool.acquire().await?;
        let trials = Self::read_trials(&mut conn, study.id, spec, &["COMPLETE", "FAIL"]).await?;
        let attrs = sqlx::query(
            "SELECT a.trial_id, a.key, a.value_json, false AS system FROM trial_user_attributes a \
               JOIN trials t ON t.trial_id = a.trial_id WHERE t.study_id = $1 \
             UNION ALL \
             SELECT a.trial_id, a.key, a.value_json, true FROM trial_system_attributes a \
               JOIN trials t ON t.trial_id = a.trial_id \
               WHERE t.study_id = $1 AND a.key = 'pulse:details'",
        )
        .bind(study.id as i32)
        .fetch_all(&mut *conn)
        .await?;
        let mut metrics: BTreeMap<i32, Vec<(String, f64)>> = BTreeMap::new();
        let mut details: BTreeMap<i32, String> = BTreeMap::new();
        for a in attrs {
            let id: i32 = a.try_get("trial_id")?;
            let value: Option<String> = a.try_get("value_json")?;
            let value = value.unwrap_or_else(|| "null".into());
            if a.try_get::<bool, _>("system")? {
                details.insert(id, value);
            } else {
                let x = serde_json::from_str::<serde_json::Value>(&value)
                    .ok()
                    .and_then(|v| v.as_f64())
                    .unwrap_or(f64::NAN);
                metrics.entry(id).or_default().push((a.try_get("key")?, x));
            }
        }
        Ok(trials
            .into_iter()
            .filter(|t| t.has_result())
            .filter_map(|t| {
                Some(StudyTrial {
                    number: t.number,
                    values: t.values?,
                    score: t.score,
                    metrics: metrics.remove(&t.id).unwrap_or_default(),
                    details_json: details.remove(&t.id),
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_are_written_as_optuna_serializes_them() {
        let int = distribution_json(&Distribution::Int {
            low: 0,
            high: 10,
            step: 1,
        });
        assert_eq!(
            int,
            r#"{"attributes":{"high":10,"log":false,"low":0,"step":1},"name":"IntDistribution"}"#
        );
        let float = distribution_json(&Distribution::Float {
            low: 0.0,
            high: 1.0,
            step: None,
        });
        assert_eq!(
            float,
            r#"{"attributes":{"high":1.0,"log":false,"low":0.0,"step":null},"name":"FloatDistribution"}"#
        );
    }

    #[test]
    fn a_url_password_is_found_to_be_scrubbed() {
        assert_eq!(
            url_password("postgres://u:pw@h:5432/db").as_deref(),
            Some("pw")
        );
        assert_eq!(url_password("postgres://u@h/db"), None);
    }
}
