//! The rebalancing admin's set-up and signal forms (and their API twins), so that the paper
//! account and the macro view can be managed from the browser: the same calls as
//! `pulse rebalance init` and `pulse rebalance signal`.

use crate::{Dashboard, api_caller, app_error, form_caller, json_error};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use pulse_app::AppError;
use pulse_app::rebalance::{
    self, Calendar, InitRequest, SignalRequest, Weighting, parse_mp, parse_sub_mp,
};
use pulse_core::ports::Store;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;
use std::sync::Arc;

fn bad(field: &str, msg: String) -> Response {
    json_error(StatusCode::BAD_REQUEST, msg, Some(field))
}

/// An application error of a form: the request's faults name their field (`fallback` when the
/// error does not say which), a conflict is 409.
fn form_error(e: AppError, fallback: &str) -> Response {
    match &e {
        AppError::InvalidSetting { setting, .. } => bad(setting, e.to_string()),
        AppError::Signal(_) => bad(fallback, e.to_string()),
        _ if e.is_usage() => bad(fallback, e.to_string()),
        _ => app_error(e),
    }
}

/// The set-up form.
#[derive(Debug, Deserialize)]
pub struct InitForm {
    #[serde(default)]
    csrf: String,
    cash: String,
    calendar: Calendar,
    commission: String,
    /// A checkbox: start over, discarding state and account.
    #[serde(default)]
    force: Option<String>,
}

impl InitForm {
    fn request(&self) -> Result<InitRequest, Response> {
        let decimal = |field: &str, text: &str| {
            Decimal::from_str(text.trim())
                .map_err(|_| bad(field, format!("{field} {text:?} is not a number")))
        };
        Ok(InitRequest {
            cash: decimal("cash", &self.cash)?,
            calendar: self.calendar,
            commission: decimal("commission", &self.commission)?,
            force: self
                .force
                .as_deref()
                .is_some_and(|f| !f.is_empty() && f != "false"),
        })
    }
}

async fn init<S: Store + Send + Sync + 'static>(
    d: &Dashboard<S>,
    form: &InitForm,
) -> Result<(), Response> {
    let request = form.request()?;
    rebalance::init(&d.store, &request)
        .await
        .map_err(|e| form_error(e, "cash"))
}

/// `POST /rebalance/init`.
pub async fn init_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<InitForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match init(&d, &form).await {
        Ok(()) => Redirect::to("/rebalance").into_response(),
        Err(r) => r,
    }
}

/// `POST /api/rebalance/init`.
pub async fn init_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    axum::Json(form): axum::Json<InitForm>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    match init(&d, &form).await {
        Ok(()) => match rebalance::status(&d.store).await {
            Ok(s) => axum::Json(s).into_response(),
            Err(e) => app_error(e),
        },
        Err(r) => r,
    }
}

/// The signal form: `mp` as `stocks=0.6,bonds=0.4`, `sub_mp` one class per line as
/// `stocks=SPY,QQQ`.
#[derive(Debug, Deserialize)]
pub struct SignalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mp: String,
    #[serde(default)]
    sub_mp: String,
    #[serde(default)]
    weighting: Weighting,
    #[serde(default)]
    liquidity_days: String,
}

impl SignalForm {
    fn request(&self) -> Result<SignalRequest, Response> {
        let mp = match self.mp.trim() {
            "" => None,
            text => Some(parse_mp(text).map_err(|e| bad("mp", e.to_string()))?),
        };
        let sub_mp = self
            .sub_mp
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| parse_sub_mp(l).map_err(|e| bad("sub_mp", e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let liquidity_days = match self.liquidity_days.trim() {
            "" => 20,
            text => text.parse().map_err(|_| {
                bad(
                    "liquidity_days",
                    format!("liquidity_days {text:?}: a number of days"),
                )
            })?,
        };
        Ok(SignalRequest {
            mp,
            sub_mp,
            weighting: self.weighting,
            liquidity_days,
        })
    }
}

async fn signal<S: Store + Send + Sync + 'static>(
    d: &Dashboard<S>,
    form: &SignalForm,
) -> Result<pulse_rebalance::Signal, Response> {
    let request = form.request()?;
    let signal = request
        .resolve(&d.store)
        .await
        .map_err(|e| form_error(e, "mp"))?;
    rebalance::signal(&d.store, signal)
        .await
        .map_err(|e| form_error(e, "mp"))
}

/// `POST /rebalance/signal`.
pub async fn signal_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<SignalForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match signal(&d, &form).await {
        Ok(_) => Redirect::to("/rebalance").into_response(),
        Err(r) => r,
    }
}

/// `POST /api/rebalance/signal`: the signal as stored (omitted parts carried over).
pub async fn signal_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    axum::Json(form): axum::Json<SignalForm>,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    match signal(&d, &form).await {
        Ok(s) => axum::Json(s).into_response(),
        Err(r) => r,
    }
}
