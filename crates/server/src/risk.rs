//! The risk page (issue 15, item 5): the team's stored risk settings (`pulse_app::risk`) as a
//! form — leverage with its levels, the limits (each a number or off; sliders for the position
//! cap, the drawdown stop and the per-position stop loss), the correlation filter —
//! saved through the application layer, which validates them (an error is shown beside its
//! field), and reset to the defaults; and the JSON API `GET/PUT/DELETE /api/risk`. The same
//! settings are what `pulse risk show` prints and what a run with `--risk` or the backtest form's
//! "apply the risk settings" applies.

use crate::{Dashboard, api_caller, app_error, csrf_of, form_caller, json_error, to_login};
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use pulse_app::AppError;
use pulse_app::risk::{
    self as app, LeverageLevel, RiskConfig, RiskConfigError, RiskSettingsOutcome,
};
use pulse_core::ports::Store;
use pulse_report::escape::html;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

/// The posted form: field name (the setting's TOML path, `limits.max_position`; a limit's "off"
/// checkbox is `limits.max_position.off`; a level is `leverage.levels[0].above`) → text.
type Fields = BTreeMap<String, String>;

/// Most rows of the leverage table the form takes.
const MAX_LEVELS: usize = 32;

/// The limits, with their labels.
const LIMITS: [(&str, &str); 5] = [
    ("max_position", "Largest weight of one position"),
    ("max_sector", "Largest weight of one sector"),
    (
        "max_drawdown",
        "Drawdown from the peak that sells everything and halts",
    ),
    ("max_daily_var", "Largest daily VaR of the target"),
    (
        "stop_loss",
        "Loss from a position's entry price that sells it (kept out until the strategy's target resets)",
    ),
];

/// The value of the limit `name` (one of [`LIMITS`]).
fn limit_of(c: &RiskConfig, name: &str) -> Option<f64> {
    match name {
        "max_position" => c.limits.max_position,
        "max_sector" => c.limits.max_sector,
        "max_drawdown" => c.limits.max_drawdown,
        "max_daily_var" => c.limits.max_daily_var,
        _ => c.limits.stop_loss,
    }
}

/// A field of the form and what is wrong with it.
#[derive(Debug)]
struct FieldError {
    field: String,
    message: String,
}

fn field_error(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// The form's fields of a configuration.
fn fields_of(c: &RiskConfig) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_string(), v);
    };
    let l = &c.leverage;
    if l.enabled {
        put("leverage.enabled", "on".into());
    }
    put("leverage.window_days", l.window_days.to_string());
    put("leverage.min_returns", l.min_returns.to_string());
    put("leverage.tail", l.tail.to_string());
    put("leverage.cvar_weight", l.cvar_weight.to_string());
    put("leverage.base", l.base.to_string());
    if l.margin {
        put("leverage.margin", "on".into());
    }
    put("leverage.borrow_rate", l.borrow_rate.to_string());
    for (i, level) in l.levels.iter().enumerate() {
        put(
            &format!("leverage.levels[{i}].above"),
            level.above.to_string(),
        );
        put(
            &format!("leverage.levels[{i}].leverage"),
            level.leverage.to_string(),
        );
    }
    // Two empty rows to add levels.
    for i in l.levels.len()..l.levels.len() + 2 {
        put(&format!("leverage.levels[{i}].above"), String::new());
        put(&format!("leverage.levels[{i}].leverage"), String::new());
    }
    for (name, _) in LIMITS {
        let key = format!("limits.{name}");
        match limit_of(c, name) {
            Some(v) => put(&key, v.to_string()),
            None => {
                put(&key, String::new());
                put(&format!("{key}.off"), "on".into());
            }
        }
    }
    let c = &c.correlation;
    if c.enabled {
        put("correlation.enabled", "on".into());
    }
    put("correlation.window_days", c.window_days.to_string());
    put("correlation.min_returns", c.min_returns.to_string());
    put("correlation.threshold", c.threshold.to_string());
    f
}

fn checked(f: &Fields, key: &str) -> bool {
    f.get(key)
        .is_some_and(|v| !v.is_empty() && v != "false" && v != "off")
}

fn text<'a>(f: &'a Fields, key: &str) -> &'a str {
    f.get(key).map_or("", |v| v.trim())
}

fn number<T: FromStr>(f: &Fields, key: &str) -> Result<T, FieldError> {
    let t = text(f, key);
    if t.is_empty() {
        return Err(field_error(key, "give a number"));
    }
    t.parse()
        .map_err(|_| field_error(key, format!("{t:?} is not a number")))
}

/// The rows of the leverage table in the form (the largest row index + 1).
fn level_rows(f: &Fields) -> Result<usize, FieldError> {
    let mut rows = 0;
    for key in f.keys() {
        let Some(rest) = key.strip_prefix("leverage.levels[") else {
            continue;
        };
        let index: usize = rest
            .split(']')
            .next()
            .and_then(|i| i.parse().ok())
            .ok_or_else(|| field_error("leverage.levels", format!("{key}: not a level row")))?;
        if index >= MAX_LEVELS {
            return Err(field_error(
                "leverage.levels",
                format!("at most {MAX_LEVELS} levels"),
            ));
        }
        rows = rows.max(index + 1);
    }
    Ok(rows)
}

/// The configuration of a posted form and, for each level, the form row it came from (a row left
/// empty is no level). Only the reading of the fields: the application layer validates.
fn config_of(f: &Fields) -> Result<(RiskConfig, Vec<usize>), FieldError> {
    let mut c = RiskConfig::default();
    let l = &mut c.leverage;
    l.enabled = checked(f, "leverage.enabled");
    l.window_days = number(f, "leverage.window_days")?;
    l.min_returns = number(f, "leverage.min_returns")?;
    l.tail = number(f, "leverage.tail")?;
    l.cvar_weight = number(f, "leverage.cvar_weight")?;
    l.base = number(f, "leverage.base")?;
    l.margin = checked(f, "leverage.margin");
    l.borrow_rate = number(f, "leverage.borrow_rate")?;
    l.levels.clear();
    let mut rows = Vec::new();
    for i in 0..level_rows(f)? {
        let above = format!("leverage.levels[{i}].above");
        let leverage = format!("leverage.levels[{i}].leverage");
        match (text(f, &above).is_empty(), text(f, &leverage).is_empty()) {
            (true, true) => continue,
            (false, true) => {
                return Err(field_error(
                    leverage,
                    "give the leverage of this level (or clear the row)",
                ));
            }
            _ => {}
        }
        l.levels.push(LeverageLevel {
            above: number(f, &above)?,
            leverage: number(f, &leverage)?,
        });
        rows.push(i);
    }
    for (name, _) in LIMITS {
        let key = format!("limits.{name}");
        let value = if checked(f, &format!("{key}.off")) {
            None
        } else {
            Some(number(f, &key)?)
        };
        match name {
            "max_position" => c.limits.max_position = value,
            "max_sector" => c.limits.max_sector = value,
            "max_drawdown" => c.limits.max_drawdown = value,
            "max_daily_var" => c.limits.max_daily_var = value,
            _ => c.limits.stop_loss = value,
        }
    }
    let k = &mut c.correlation;
    k.enabled = checked(f, "correlation.enabled");
    k.window_days = number(f, "correlation.window_days")?;
    k.min_returns = number(f, "correlation.min_returns")?;
    k.threshold = number(f, "correlation.threshold")?;
    Ok((c, rows))
}

/// A setting named by the application layer as the form's field: a level's index is that of
/// the levels kept, the form's is its row.
fn form_field(field: &str, rows: &[usize]) -> String {
    let prefix = "leverage.levels[";
    let Some(rest) = field.strip_prefix(prefix) else {
        return field.to_string();
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return field.to_string();
    };
    match index.parse::<usize>().ok().and_then(|i| rows.get(i)) {
        Some(row) => format!("{prefix}{row}]{tail}"),
        None => field.to_string(),
    }
}

/// The form's `<input>` of a setting, with the error beside it when it is the one refused.
fn input(f: &Fields, error: Option<&FieldError>, key: &str, size: usize) -> String {
    let mut out = format!(
        "<input name=\"{}\" value=\"{}\" size=\"{size}\" inputmode=\"decimal\">",
        html(key),
        html(text(f, key))
    );
    out.push_str(&beside(error, key));
    out
}

/// The sliders of the limits people move most (SPEC §4: max position 5–20 %, stop loss 1–10 %;
/// the drawdown stop), as (setting, lowest, highest, step), fractions (of equity; of the entry
/// price for the stop loss).
const SLIDERS: [(&str, f64, f64, f64); 3] = [
    ("limits.max_position", 0.05, 0.20, 0.005),
    ("limits.max_drawdown", 0.01, 0.30, 0.005),
    ("limits.stop_loss", 0.01, 0.10, 0.005),
];

/// A range slider for `key` (when it has one) that moves the number field it sits beside: the
/// number field stays the form's value, so a value outside the slider's range (set with
/// `pulse risk set`) is never clamped by a save. A limit that is off shows "off" (the slider at
/// its lowest); moving the slider turns it on (unticks its "off" box).
fn slider(f: &Fields, key: &str) -> String {
    let Some((_, lo, hi, step)) = SLIDERS.iter().find(|(k, ..)| *k == key) else {
        return String::new();
    };
    let value: Option<f64> = text(f, key).parse().ok().filter(|v: &f64| v.is_finite());
    let off = checked(f, &format!("{key}.off"));
    let shown = match value {
        Some(v) if !off => format!("{:.1} %", v * 100.0),
        _ => "off".to_string(),
    };
    format!(
        " <input type=\"range\" class=\"slider\" data-for=\"{}\" min=\"{lo}\" max=\"{hi}\" step=\"{step}\" value=\"{}\" aria-label=\"{}\"> <output data-for=\"{}\">{shown}</output>",
        html(key),
        value.unwrap_or(*lo).clamp(*lo, *hi),
        html(key),
        html(key),
    )
}

/// Keeps each slider and its number field in step (the number field is what the form sends);
/// moving the slider unticks the limit's "off" box, ticking it shows "off".
const SLIDER_SCRIPT: &str = "<script>document.querySelectorAll('input.slider').forEach(function(s){\
var n=document.querySelector('input[name=\"'+s.dataset.for+'\"]');var o=document.querySelector('output[data-for=\"'+s.dataset.for+'\"]');\
var x=document.querySelector('input[name=\"'+s.dataset.for+'.off\"]');\
s.addEventListener('input',function(){n.value=s.value;if(x)x.checked=false;o.textContent=(100*Number(s.value)).toFixed(1)+' %'});\
n.addEventListener('input',function(){var v=Number(n.value);if(n.value.trim()!==''&&isFinite(v)){s.value=v;o.textContent=(100*v).toFixed(1)+' %'}});\
if(x)x.addEventListener('change',function(){o.textContent=x.checked?'off':(100*Number(n.value||s.value)).toFixed(1)+' %';if(!x.checked&&n.value.trim()==='')n.value=s.value})});</script>";

fn checkbox(f: &Fields, error: Option<&FieldError>, key: &str) -> String {
    format!(
        "<input type=\"checkbox\" name=\"{}\" value=\"on\"{}>{}",
        html(key),
        if checked(f, key) { " checked" } else { "" },
        beside(error, key)
    )
}

fn beside(error: Option<&FieldError>, key: &str) -> String {
    match error {
        Some(e) if e.field == key => format!(
            " <span class=\"err field-error\" data-field=\"{}\">{}</span>",
            html(key),
            html(&e.message)
        ),
        _ => String::new(),
    }
}

/// The risk page: whose settings are in effect, the form, reset, and the TOML.
fn render(
    s: &RiskSettingsOutcome,
    f: &Fields,
    error: Option<&FieldError>,
    csrf: &str,
) -> Html<String> {
    let h = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        html(csrf)
    );
    let mut body = String::from("<section><h1>Risk settings</h1>");
    let _ = write!(
        body,
        "<p>In effect for runs that apply the risk settings (the backtest form's checkbox, <code>pulse backtest --risk</code>): <b id=\"risk-source\">{}</b></p>",
        if s.stored {
            "the stored settings"
        } else {
            "the defaults (SPEC §4): nothing is stored"
        }
    );
    if let Some(e) = error {
        let _ = write!(
            body,
            "<p class=\"err\" id=\"error\">Not saved: {} {}</p>",
            html(&e.field),
            html(&e.message)
        );
    }
    let row = |label: &str, control: String| format!("<tr><td>{label}</td><td>{control}</td></tr>");
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/risk\">{h}<h2>Leverage</h2><p class=\"muted\">risk = VaR + weight × CVaR of the target portfolio's daily returns; the level with the highest threshold the risk is above sets the scale on the target, else the base.</p><table>{}{}{}{}{}{}{}{}{}</table>",
        row(
            "Apply the leverage rule",
            checkbox(f, error, "leverage.enabled")
        ),
        row(
            "Window (daily returns)",
            input(f, error, "leverage.window_days", 5)
        ),
        row(
            "Fewest returns to judge",
            input(f, error, "leverage.min_returns", 5)
        ),
        row(
            "Tail probability of VaR and CVaR",
            input(f, error, "leverage.tail", 6)
        ),
        row("Weight of CVaR", input(f, error, "leverage.cvar_weight", 6)),
        row(
            "Leverage when no level applies",
            input(f, error, "leverage.base", 6)
        ),
        row(
            "Allow margin (leverage above 1)",
            checkbox(f, error, "leverage.margin")
        ),
        row(
            "Annual borrowing rate",
            input(f, error, "leverage.borrow_rate", 6)
        ),
        beside(error, "leverage.levels"),
    );
    body.push_str("<h3>Levels</h3><p class=\"muted\">A risk strictly above <i>above</i> gets <i>leverage</i>; clear a row to remove its level.</p><table id=\"levels\"><thead><tr><th>above</th><th>leverage</th></tr></thead><tbody>");
    let rows = level_rows(f).unwrap_or(0).min(MAX_LEVELS);
    for i in 0..rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td></tr>",
            input(f, error, &format!("leverage.levels[{i}].above"), 6),
            input(f, error, &format!("leverage.levels[{i}].leverage"), 6)
        );
    }
    body.push_str("</tbody></table><h2>Limits</h2><p class=\"muted\">Fractions of equity (the stop loss: of the position's average entry price); tick off to turn a limit off.</p><table>");
    for (name, label) in LIMITS {
        let key = format!("limits.{name}");
        let _ = write!(
            body,
            "<tr><td>{label} <code>{name}</code></td><td>{} <label>{} off</label>{}</td></tr>",
            input(f, error, &key, 6),
            checkbox(f, error, &format!("{key}.off")),
            slider(f, &key)
        );
    }
    let _ = write!(
        body,
        "</table><h2>Correlation filter</h2><p class=\"muted\">Refuses a new entry whose correlation of daily returns with a held position is above the threshold.</p><table>{}{}{}{}</table><p><button id=\"save\">Save</button></p></form>",
        row(
            "Apply the filter",
            checkbox(f, error, "correlation.enabled")
        ),
        row(
            "Window (daily returns)",
            input(f, error, "correlation.window_days", 5)
        ),
        row(
            "Fewest common returns to judge",
            input(f, error, "correlation.min_returns", 5)
        ),
        row("Threshold", input(f, error, "correlation.threshold", 6)),
    );
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/risk/reset\">{h}<button>Reset to defaults</button></form></section>\
<section><h2>As TOML</h2><p class=\"muted\">What <code>pulse risk show</code> prints and <code>pulse risk set FILE</code> reads.</p><pre id=\"risk-toml\">{}</pre></section>{SLIDER_SCRIPT}",
        html(&s.toml)
    );
    crate::pages::page("Risk", csrf, &body)
}

/// `GET /risk`: the settings in effect as a form.
pub async fn page<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = d.caller(&headers) else {
        return to_login();
    };
    match app::settings(&d.store).await {
        Ok(s) => render(&s, &fields_of(&s.config), None, &csrf_of(&caller)).into_response(),
        Err(e) => app_error(e),
    }
}

/// `POST /risk`: saves the form's settings and shows them, or shows the form again (400) with
/// the error beside its field.
pub async fn save_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(fields): Form<Fields>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, text(&fields, "csrf")) {
        return r;
    }
    let refused = match config_of(&fields) {
        Ok((config, rows)) => match app::save_config(&d.store, &config).await {
            Ok(_) => return Redirect::to("/risk").into_response(),
            Err(e) => match app::invalid_field(&e) {
                Some(field) => field_error(form_field(field, &rows), reason_of(&e)),
                None => return app_error(e),
            },
        },
        Err(refused) => refused,
    };
    let csrf = d.caller(&headers).map(|c| csrf_of(&c)).unwrap_or_default();
    match app::settings(&d.store).await {
        Ok(s) => (
            StatusCode::BAD_REQUEST,
            render(&s, &fields, Some(&refused), &csrf),
        )
            .into_response(),
        Err(e) => app_error(e),
    }
}

/// What is wrong with a refused setting, without its name (shown beside it).
fn reason_of(e: &AppError) -> String {
    match e {
        AppError::Risk {
            source: RiskConfigError::Invalid { reason, .. },
            ..
        } => reason.clone(),
        other => other.to_string(),
    }
}

/// `POST /risk/reset`: forgets the stored settings.
pub async fn reset_form<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<crate::CsrfForm>,
) -> Response {
    if let Err(r) = form_caller(&d, &headers, &form.csrf) {
        return r;
    }
    match app::reset_settings(&d.store).await {
        Ok(()) => Redirect::to("/risk").into_response(),
        Err(e) => app_error(e),
    }
}

/// A refused configuration is the request's fault: 400 naming the setting when there is one.
fn risk_error(e: AppError) -> Response {
    match (app::invalid_field(&e), &e) {
        (Some(field), _) => json_error(StatusCode::BAD_REQUEST, e.to_string(), Some(field)),
        (None, AppError::Risk { .. }) => json_error(StatusCode::BAD_REQUEST, e.to_string(), None),
        _ => app_error(e),
    }
}

/// `GET /api/risk`: `{stored, config, toml}`.
pub async fn get_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, false) {
        return r;
    }
    match app::settings(&d.store).await {
        Ok(s) => axum::Json(s).into_response(),
        Err(e) => app_error(e),
    }
}

/// `PUT /api/risk`: stores the settings of a JSON body in the shape of `RiskConfig` (every key
/// optional); `{stored, config, toml}`, or 400 naming the setting and nothing stored.
pub async fn put_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    let config = match app::config_from_json(&body) {
        Ok(c) => c,
        Err(e) => return risk_error(e),
    };
    if let Err(e) = app::save_config(&d.store, &config).await {
        return risk_error(e);
    }
    get_api(State(d), headers).await
}

/// `DELETE /api/risk`: forgets the stored settings; the defaults.
pub async fn delete_api<S: Store + Send + Sync + 'static>(
    State(d): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = api_caller(&d, &headers, true) {
        return r;
    }
    if let Err(e) = app::reset_settings(&d.store).await {
        return app_error(e);
    }
    get_api(State(d), headers).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_form_of_a_configuration_reads_back_as_it() {
        let mut c = RiskConfig::default();
        c.limits.max_sector = None;
        c.limits.stop_loss = Some(0.035);
        c.correlation.enabled = true;
        c.leverage.margin = true;
        c.leverage.levels.push(LeverageLevel {
            above: 0.08,
            leverage: 0.25,
        });
        let f = fields_of(&c);
        let (back, rows) = config_of(&f).unwrap();
        assert_eq!(back, c);
        assert_eq!(rows, vec![0, 1, 2]);
    }

    #[test]
    fn the_stop_loss_slider_shows_off_until_a_value_is_set() {
        let mut c = RiskConfig::default();
        let f = fields_of(&c);
        assert!(checked(&f, "limits.stop_loss.off"), "off by default");
        let off = slider(&f, "limits.stop_loss");
        assert!(off.contains("min=\"0.01\" max=\"0.1\""), "{off}");
        assert!(off.contains(">off</output>"), "{off}");
        c.limits.stop_loss = Some(0.05);
        let on = slider(&fields_of(&c), "limits.stop_loss");
        assert!(
            on.contains("value=\"0.05\"") && on.contains(">5.0 %</output>"),
            "{on}"
        );
        assert_eq!(config_of(&fields_of(&c)).unwrap().0, c);
    }

    #[test]
    fn empty_rows_are_skipped_and_errors_point_at_the_row() {
        let mut f = fields_of(&RiskConfig::default());
        f.insert("leverage.levels[0].above".into(), String::new());
        f.insert("leverage.levels[0].leverage".into(), String::new());
        f.insert("leverage.levels[3].above".into(), "0.1".into());
        f.insert("leverage.levels[3].leverage".into(), "2".into());
        let (c, rows) = config_of(&f).unwrap();
        assert_eq!(c.leverage.levels.len(), 2);
        assert_eq!(rows, vec![1, 3]);
        assert_eq!(
            form_field("leverage.levels[1].leverage", &rows),
            "leverage.levels[3].leverage"
        );
        assert_eq!(form_field("limits.max_sector", &rows), "limits.max_sector");
        f.insert("limits.max_position".into(), "ten".into());
        assert_eq!(config_of(&f).err().unwrap().field, "limits.max_position");
        f.insert("leverage.levels[99].above".into(), "0.1".into());
        assert_eq!(config_of(&f).err().unwrap().field, "leverage.levels");
    }
}
