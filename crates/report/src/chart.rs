//! SVG time-series charts (axes, ticks, legend, optional log toggle, markers) and the JSON data
//! island that the inline script reads for hover values.
//!
//! Drawing: a series longer than [`MAX_DRAWN_POINTS`] is reduced for the SVG path by min/max
//! bucketing (every bucket keeps its lowest and highest point, so spikes and drawdowns stay
//! visible). Hover: the island keeps the exact values of every series up to [`MAX_HOVER_POINTS`];
//! longer series are thinned by a regular stride there too and flagged `"exact": false`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::escape::{html, push_html};
use crate::model::FrontierChart;
use crate::scale::{ValueAxis, ValueFormat, axis_label, linear_axis, log_axis, percent};
use crate::time::date_ticks;

/// Series longer than this are min/max-bucketed before drawing (points per series).
pub const MAX_DRAWN_POINTS: usize = 5_000;
/// Series longer than this are thinned in the hover data island (points per series).
pub const MAX_HOVER_POINTS: usize = 50_000;

/// SVG viewBox width (user units; the SVG scales to the page width).
const VB_W: f64 = 1100.0;
const MARGIN_L: f64 = 84.0;
const MARGIN_R: f64 = 24.0;
const MARGIN_T: f64 = 12.0;
const MARGIN_B: f64 = 30.0;

/// Series colours, strategy first.
pub const PALETTE: [&str; 8] = [
    "#1f4e9c", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c", "#5c940d",
];

/// One line of a chart.
pub struct Line<'a> {
    /// Legend name.
    pub name: String,
    /// CSS colour.
    pub color: String,
    /// Date strings (for the hover title), parallel to `x`.
    pub dates: &'a [String],
    /// Positions, days since 1970-01-01.
    pub x: Vec<f64>,
    /// Values.
    pub y: Vec<f64>,
    /// Dashed stroke.
    pub dashed: bool,
    /// Fill between the line and zero.
    pub fill: bool,
    /// Stroke width (user units).
    pub width: f64,
}

/// A buy/sell triangle.
pub struct Marker {
    /// Position, days.
    pub x: f64,
    /// Price.
    pub y: f64,
    /// Up triangle (buy) or down (sell).
    pub buy: bool,
    /// Native tooltip text.
    pub title: String,
}

/// A shaded period of a time chart (drawn behind the lines).
pub struct Band {
    /// First day (days since 1970-01-01).
    pub x0: f64,
    /// Last day, inclusive (the band ends at the end of this day).
    pub x1: f64,
    /// Legend label and hover title.
    pub label: String,
}

/// What to draw.
pub struct ChartSpec<'a> {
    /// DOM id suffix, unique in the page.
    pub id: String,
    /// SVG height (user units).
    pub height: f64,
    /// Value format of the y axis and the hover values.
    pub format: ValueFormat,
    /// Y axis title, with its unit, e.g. "Equity (USD)".
    pub y_title: String,
    /// The lines.
    pub lines: Vec<Line<'a>>,
    /// Trade markers.
    pub markers: Vec<Marker>,
    /// Offer a linear/log toggle (positive values only).
    pub log_toggle: bool,
    /// Values the y axis must include besides the data (e.g. 0 and 1 for weights).
    pub y_include: Vec<f64>,
    /// Shared x range (days); `None` = the data's range.
    pub x_range: Option<(f64, f64)>,
    /// Show the legend (off for single-series panels titled by their heading).
    pub legend: bool,
    /// Shaded periods behind the lines.
    pub bands: Vec<Band>,
}

/// The hover data of the page.
#[derive(Serialize, Default)]
pub struct Island {
    /// Currency code for money values.
    pub currency: String,
    /// Currency prefix ("$").
    pub prefix: String,
    /// Distinct date axes referenced by the series.
    pub axes: Vec<AxisData>,
    /// One entry per chart.
    pub charts: Vec<ChartData>,
    /// The efficient frontier (portfolio reports only), values as annualized fractions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontier: Option<FrontierData>,
    /// The parameter search, exactly as in the model (sweep reports only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::model::SweepSection>,
}

/// Hover data of the efficient-frontier chart (annualized fractions).
#[derive(Serialize)]
pub struct FrontierData {
    /// Frontier points `[volatility, expected return]`.
    pub points: Vec<[f64; 2]>,
    /// Marked portfolios.
    pub portfolios: Vec<FrontierMark>,
}

/// One marked portfolio in the island.
#[derive(Serialize)]
pub struct FrontierMark {
    /// Label.
    pub name: String,
    /// Annualized volatility (fraction).
    pub volatility: f64,
    /// Annualized expected return (fraction).
    pub expected_return: f64,
}

/// A date axis: the date strings and their positions (days since 1970-01-01 UTC).
#[derive(Serialize)]
pub struct AxisData {
    /// Dates as given.
    pub dates: Vec<String>,
    /// Positions, rounded to 1e-6 day.
    pub x: Vec<f64>,
}

/// Hover geometry and series of one chart.
#[derive(Serialize)]
pub struct ChartData {
    /// DOM id suffix.
    pub id: String,
    /// "money", "percent" or "plain".
    pub fmt: &'static str,
    /// Plot rectangle in viewBox units: left, top, right, bottom.
    pub plot: [f64; 4],
    /// ViewBox width and height.
    pub vb: [f64; 2],
    /// X domain (days).
    pub x: [f64; 2],
    /// Linear y domain.
    pub lin: [f64; 2],
    /// Log y domain, when the chart has a log toggle.
    pub log: Option<[f64; 2]>,
    /// The series.
    pub series: Vec<SeriesData>,
}

/// One series for hover.
#[derive(Serialize)]
pub struct SeriesData {
    /// Name.
    pub name: String,
    /// Colour.
    pub color: String,
    /// Index into [`Island::axes`].
    pub axis: usize,
    /// Values (exact unless `exact` is false).
    pub v: Vec<f64>,
    /// False when thinned for size (more than [`MAX_HOVER_POINTS`]).
    pub exact: bool,
}

impl Island {
    fn axis_for(&mut self, dates: &[String], x: &[f64]) -> usize {
        if let Some(i) = self.axes.iter().position(|a| a.dates.as_slice() == dates) {
            return i;
        }
        self.axes.push(AxisData {
            dates: dates.to_vec(),
            x: x.to_vec(),
        });
        self.axes.len() - 1
    }
}

/// Indices to draw: all when short, else min/max per bucket (first and last always kept).
pub fn draw_indices(y: &[f64], max_points: usize) -> Vec<usize> {
    let n = y.len();
    if n <= max_points || max_points < 4 {
        return (0..n).collect();
    }
    let buckets = (max_points - 2) / 2;
    let mut out = Vec::with_capacity(max_points);
    out.push(0);
    let inner = n - 2;
    for b in 0..buckets {
        let start = 1 + b * inner / buckets;
        let end = 1 + (b + 1) * inner / buckets;
        if start >= end {
            continue;
        }
        let (mut lo, mut hi) = (start, start);
        for i in start..end {
            if y[i] < y[lo] {
                lo = i;
            }
            if y[i] > y[hi] {
                hi = i;
            }
        }
        let (a, c) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(a);
        if c != a {
            out.push(c);
        }
    }
    out.push(n - 1);
    out
}

fn fmt_name(f: ValueFormat) -> &'static str {
    match f {
        ValueFormat::Money => "money",
        ValueFormat::Percent => "percent",
        ValueFormat::Plain => "plain",
    }
}

struct Frame {
    l: f64,
    t: f64,
    r: f64,
    b: f64,
    x_lo: f64,
    x_hi: f64,
}

impl Frame {
    fn px(&self, x: f64) -> f64 {
        self.l + (x - self.x_lo) / (self.x_hi - self.x_lo) * (self.r - self.l)
    }
    fn py(&self, axis: &ValueAxis, v: f64) -> Option<f64> {
        axis.unit(v)
            .filter(|u| u.is_finite())
            .map(|u| self.b - u * (self.b - self.t))
    }
}

fn draw_mode(
    out: &mut String,
    spec: &ChartSpec<'_>,
    f: &Frame,
    axis: &ValueAxis,
    currency: &str,
    class: &str,
    hidden: bool,
) {
    let _ = write!(
        out,
        "<g class=\"{class}\"{}>",
        if hidden {
            " style=\"display:none\""
        } else {
            ""
        }
    );
    // Horizontal grid + value ticks.
    for &v in &axis.ticks {
        if let Some(y) = f.py(axis, v) {
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text class=\"yt\" x=\"{:.1}\" y=\"{:.1}\">",
                f.l,
                f.r,
                f.l - 6.0,
                y + 4.0
            );
            push_html(out, &axis_label(v, axis.step, spec.format, currency));
            out.push_str("</text>");
        }
    }
    if !axis.log
        && axis.lo < 0.0
        && axis.hi > 0.0
        && let Some(y) = f.py(axis, 0.0)
    {
        let _ = write!(
            out,
            "<line class=\"zero\" x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>",
            f.l, f.r
        );
    }
    for (i, line) in spec.lines.iter().enumerate() {
        let idx = draw_indices(&line.y, MAX_DRAWN_POINTS);
        let mut d = String::with_capacity(idx.len() * 14);
        let mut pen = false;
        let mut runs: Vec<(f64, f64)> = Vec::new(); // first/last px of each run, for fills
        let mut fill_paths = String::new();
        let mut run_d = String::new();
        for &k in &idx {
            let (x, v) = (line.x[k], line.y[k]);
            match f.py(axis, v) {
                Some(y) if v.is_finite() => {
                    let xp = f.px(x);
                    push_point(&mut d, if pen { 'L' } else { 'M' }, xp, y);
                    if line.fill {
                        if !pen {
                            runs.push((xp, xp));
                        }
                        push_point(&mut run_d, if pen { 'L' } else { 'M' }, xp, y);
                        if let Some(r) = runs.last_mut() {
                            r.1 = xp;
                        }
                    }
                    pen = true;
                }
                _ => {
                    if line.fill && pen {
                        close_fill(&mut fill_paths, &mut run_d, runs.last().copied(), f, axis);
                    }
                    pen = false;
                }
            }
        }
        if line.fill && pen {
            close_fill(&mut fill_paths, &mut run_d, runs.last().copied(), f, axis);
        }
        if !fill_paths.is_empty() {
            let _ = write!(
                out,
                "<path class=\"s{i}\" d=\"{fill_paths}\" fill=\"{}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
                line.color
            );
        }
        let _ = write!(
            out,
            "<path class=\"s{i}\" d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{:.1}\"{} stroke-linejoin=\"round\"/>",
            line.color,
            line.width,
            if line.dashed {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            }
        );
    }
    for m in spec
        .markers
        .iter()
        .filter(|m| m.x >= f.x_lo && m.x <= f.x_hi)
    {
        let Some(y) = f.py(axis, m.y) else { continue };
        let x = f.px(m.x);
        let (pts, cls) = if m.buy {
            (
                format!(
                    "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    x,
                    y + 3.0,
                    x - 6.0,
                    y + 13.0,
                    x + 6.0,
                    y + 13.0
                ),
                "buy",
            )
        } else {
            (
                format!(
                    "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
                    x,
                    y - 3.0,
                    x - 6.0,
                    y - 13.0,
                    x + 6.0,
                    y - 13.0
                ),
                "sell",
            )
        };
        let _ = write!(out, "<polygon class=\"{cls}\" points=\"{pts}\"><title>");
        push_html(out, &m.title);
        out.push_str("</title></polygon>");
    }
    out.push_str("</g>");
}

/// Appends one path command with coordinates rounded to 0.1 user unit (faster than `{:.1}`).
fn push_point(out: &mut String, cmd: char, x: f64, y: f64) {
    out.push(cmd);
    push_tenths(out, x);
    out.push(' ');
    push_tenths(out, y);
}

fn push_tenths(out: &mut String, v: f64) {
    let t = (v * 10.0).round();
    if !t.is_finite() || t.abs() > 1e15 {
        out.push('0');
        return;
    }
    let t = t as i64;
    if t < 0 {
        out.push('-');
    }
    let a = t.unsigned_abs();
    let _ = write!(out, "{}.{}", a / 10, a % 10);
}

fn close_fill(
    fill: &mut String,
    run: &mut String,
    span: Option<(f64, f64)>,
    f: &Frame,
    axis: &ValueAxis,
) {
    let base = if axis.log {
        f.b
    } else {
        f.py(axis, 0.0_f64.clamp(axis.lo, axis.hi)).unwrap_or(f.b)
    };
    if let Some((x0, x1)) = span {
        let _ = write!(fill, "{run}L{x1:.1} {base:.1}L{x0:.1} {base:.1}Z");
    }
    run.clear();
}

/// Renders one chart block (legend, optional toggle, SVG, tooltip) and registers its hover data.
pub fn render(spec: &ChartSpec<'_>, island: &mut Island, currency: &str) -> String {
    let height = spec.height;
    let (mut x_lo, mut x_hi) = spec.x_range.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
    let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut pos_lo, mut pos_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for line in &spec.lines {
        if spec.x_range.is_none()
            && let (Some(a), Some(b)) = (line.x.first(), line.x.last())
        {
            x_lo = x_lo.min(*a);
            x_hi = x_hi.max(*b);
        }
        for &v in line.y.iter().filter(|v| v.is_finite()) {
            y_lo = y_lo.min(v);
            y_hi = y_hi.max(v);
            if v > 0.0 {
                pos_lo = pos_lo.min(v);
                pos_hi = pos_hi.max(v);
            }
        }
    }
    for m in &spec.markers {
        y_lo = y_lo.min(m.y);
        y_hi = y_hi.max(m.y);
    }
    for &v in &spec.y_include {
        y_lo = y_lo.min(v);
        y_hi = y_hi.max(v);
    }
    if !x_lo.is_finite() || !x_hi.is_finite() {
        (x_lo, x_hi) = (0.0, 1.0);
    }
    if x_hi <= x_lo {
        (x_lo, x_hi) = (x_lo - 1.0, x_hi + 1.0);
    }
    let f = Frame {
        l: MARGIN_L,
        t: MARGIN_T,
        r: VB_W - MARGIN_R,
        b: height - MARGIN_B,
        x_lo,
        x_hi,
    };
    let n_y = ((f.b - f.t) / 45.0).round().max(3.0) as usize;
    let lin = linear_axis(y_lo, y_hi, n_y);
    let log = (spec.log_toggle && pos_lo.is_finite()).then(|| log_axis(pos_lo, pos_hi, n_y));

    let id = html(&spec.id);
    let mut out = String::new();
    let _ = write!(
        out,
        "<div class=\"chart\" id=\"chart-{id}\" data-chart=\"{id}\">"
    );
    out.push_str("<div class=\"chart-bar\">");
    if spec.legend {
        out.push_str("<div class=\"legend\">");
        for (i, line) in spec.lines.iter().enumerate() {
            let _ = write!(
                out,
                "<button type=\"button\" class=\"lg\" data-i=\"{i}\" title=\"show/hide\"><span class=\"sw{}\" style=\"border-color:{}\"></span>",
                if line.dashed { " dash" } else { "" },
                line.color
            );
            push_html(&mut out, &line.name);
            out.push_str("</button>");
        }
        let mut labels: Vec<&str> = spec.bands.iter().map(|b| b.label.as_str()).collect();
        labels.dedup();
        for label in labels {
            out.push_str("<span class=\"lgm\"><span class=\"bandsw\"></span>");
            push_html(&mut out, label);
            out.push_str("</span>");
        }
        if !spec.markers.is_empty() {
            out.push_str("<span class=\"lgm\"><svg width=\"12\" height=\"10\"><polygon class=\"buy\" points=\"6,0 0,10 12,10\"/></svg> buy</span><span class=\"lgm\"><svg width=\"12\" height=\"10\"><polygon class=\"sell\" points=\"6,10 0,0 12,0\"/></svg> sell</span>");
        }
        out.push_str("</div>");
    }
    if log.is_some() {
        out.push_str("<button type=\"button\" class=\"logtoggle\" data-mode=\"lin\" title=\"switch the y axis between linear and logarithmic scale\">Scale: linear ⇄ log</button>");
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        "<svg class=\"plot\" viewBox=\"0 0 {VB_W} {height}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\""
    );
    push_html(&mut out, &spec.y_title);
    out.push_str("\">");
    // Frame, x ticks.
    let _ = write!(
        out,
        "<rect class=\"frame\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
        f.l,
        f.t,
        f.r - f.l,
        f.b - f.t
    );
    for band in &spec.bands {
        let x0 = f.px(band.x0.max(x_lo));
        let x1 = f.px((band.x1 + 1.0).min(x_hi));
        if x1 > x0 {
            let _ = write!(
                out,
                "<rect class=\"band\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>",
                f.t,
                x1 - x0,
                f.b - f.t
            );
            push_html(&mut out, &band.label);
            out.push_str("</title></rect>");
        }
    }
    let max_ticks = ((f.r - f.l) / 95.0).floor() as usize;
    for t in date_ticks(x_lo, x_hi, max_ticks) {
        let x = f.px(t.x);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><line class=\"tick\" x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"xt\" x=\"{x:.1}\" y=\"{:.1}\">",
            f.t,
            f.b,
            f.b,
            f.b + 5.0,
            f.b + 19.0
        );
        push_html(&mut out, &t.label);
        out.push_str("</text>");
    }
    let _ = write!(
        out,
        "<text class=\"ytitle\" transform=\"translate(14 {:.1}) rotate(-90)\">",
        (f.t + f.b) / 2.0
    );
    push_html(&mut out, &spec.y_title);
    out.push_str("</text>");
    draw_mode(&mut out, spec, &f, &lin, currency, "mode-lin", false);
    if let Some(log) = &log {
        draw_mode(&mut out, spec, &f, log, currency, "mode-log", true);
    }
    let _ = write!(
        out,
        "<line class=\"xh\" x1=\"0\" y1=\"{:.1}\" x2=\"0\" y2=\"{:.1}\" style=\"display:none\"/><g class=\"dots\"></g>",
        f.t, f.b
    );
    out.push_str("</svg><div class=\"tip\" style=\"display:none\"></div></div>");

    let series = spec
        .lines
        .iter()
        .map(|line| {
            let exact = line.y.len() <= MAX_HOVER_POINTS;
            let (dates, x, v) = if exact {
                (line.dates.to_vec(), line.x.clone(), line.y.clone())
            } else {
                let stride = line.y.len().div_ceil(MAX_HOVER_POINTS);
                let keep: Vec<usize> = (0..line.y.len()).step_by(stride).collect();
                (
                    keep.iter().map(|&k| line.dates[k].clone()).collect(),
                    keep.iter().map(|&k| line.x[k]).collect(),
                    keep.iter().map(|&k| line.y[k]).collect(),
                )
            };
            let axis = island.axis_for(&dates, &x);
            SeriesData {
                name: line.name.clone(),
                color: line.color.clone(),
                axis,
                v,
                exact,
            }
        })
        .collect();
    island.charts.push(ChartData {
        id: spec.id.clone(),
        fmt: fmt_name(spec.format),
        plot: [f.l, f.t, f.r, f.b],
        vb: [VB_W, height],
        x: [x_lo, x_hi],
        lin: [lin.lo, lin.hi],
        log: log.as_ref().map(|a| [a.lo, a.hi]),
        series,
    });
    out
}

/// Renders the efficient frontier as a risk/return scatter: x = annualized volatility, y =
/// annualized expected return (both in percent), the frontier as a line with a dot per point, each
/// portfolio as a labelled marker. Every point and marker carries a native hover title with its
/// values; the same values go to the island's `frontier` entry.
pub fn render_frontier(frontier: &FrontierChart, island: &mut Island) -> String {
    const H: f64 = 440.0;
    let all: Vec<(f64, f64)> = frontier
        .points
        .iter()
        .copied()
        .chain(
            frontier
                .portfolios
                .iter()
                .map(|p| (p.volatility, p.expected_return)),
        )
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = all.iter().fold(
        (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), &(x, y)| (a.min(x), b.max(x), c.min(y), d.max(y)),
    );
    if !x_lo.is_finite() {
        (x_lo, x_hi, y_lo, y_hi) = (0.0, 1.0, 0.0, 1.0);
    }
    let pad = |lo: f64, hi: f64| {
        let span = (hi - lo).max(1e-4);
        (lo - 0.06 * span, hi + 0.06 * span)
    };
    let (x_lo, x_hi) = pad(x_lo, x_hi);
    let (y_lo, y_hi) = pad(y_lo, y_hi);
    let xa = linear_axis(x_lo.max(0.0), x_hi, 8);
    let ya = linear_axis(y_lo, y_hi, 8);
    let (l, t, r, b) = (MARGIN_L, MARGIN_T, VB_W - MARGIN_R, H - MARGIN_B - 16.0);
    let px = |v: f64| xa.unit(v).map_or(l, |u| l + u * (r - l));
    let py = |v: f64| ya.unit(v).map_or(b, |u| b - u * (b - t));
    let mut out = String::new();
    out.push_str("<div class=\"chart frontier\" id=\"chart-frontier\">");
    out.push_str("<div class=\"chart-bar\"><div class=\"legend\"><span class=\"lgm\"><svg width=\"22\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"22\" y2=\"5\" stroke=\"#1f4e9c\" stroke-width=\"2\"/></svg> efficient frontier</span><span class=\"lgm\"><svg width=\"12\" height=\"12\"><rect x=\"2\" y=\"2\" width=\"8\" height=\"8\" fill=\"#d9480f\" transform=\"rotate(45 6 6)\"/></svg> chosen portfolios</span></div></div>");
    let _ = write!(
        out,
        "<svg class=\"plot\" viewBox=\"0 0 {VB_W} {H}\" role=\"img\" aria-label=\"Efficient frontier: expected return (%) against volatility (%)\">"
    );
    let _ = write!(
        out,
        "<rect class=\"frame\" x=\"{l:.1}\" y=\"{t:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
        r - l,
        b - t
    );
    for &v in &ya.ticks {
        let y = py(v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{l:.1}\" y1=\"{y:.1}\" x2=\"{r:.1}\" y2=\"{y:.1}\"/><text class=\"yt\" x=\"{:.1}\" y=\"{:.1}\">",
            l - 6.0,
            y + 4.0
        );
        push_html(&mut out, &axis_label(v, ya.step, ValueFormat::Percent, ""));
        out.push_str("</text>");
    }
    for &v in &xa.ticks {
        let x = px(v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{t:.1}\" x2=\"{x:.1}\" y2=\"{b:.1}\"/><line class=\"tick\" x1=\"{x:.1}\" y1=\"{b:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text class=\"xt\" x=\"{x:.1}\" y=\"{:.1}\">",
            b + 5.0,
            b + 19.0
        );
        push_html(&mut out, &axis_label(v, xa.step, ValueFormat::Percent, ""));
        out.push_str("</text>");
    }
    let _ = write!(
        out,
        "<text class=\"xtitle\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">Volatility (annualized, %)</text>",
        (l + r) / 2.0,
        H - 8.0
    );
    let _ = write!(
        out,
        "<text class=\"ytitle\" transform=\"translate(14 {:.1}) rotate(-90)\">Expected return (annualized, %)</text>",
        (t + b) / 2.0
    );
    let mut d = String::new();
    for (k, &(x, y)) in frontier.points.iter().enumerate() {
        push_point(&mut d, if k == 0 { 'M' } else { 'L' }, px(x), py(y));
    }
    if !d.is_empty() {
        let _ = write!(
            out,
            "<path class=\"frontier-line\" d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.2\" stroke-linejoin=\"round\"/>",
            PALETTE[0]
        );
    }
    for &(x, y) in &frontier.points {
        let _ = write!(
            out,
            "<circle class=\"frontier-pt\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\"><title>frontier: volatility {}, expected return {}</title></circle>",
            px(x),
            py(y),
            PALETTE[0],
            percent(x, 2),
            percent(y, 2)
        );
    }
    let marks: Vec<(f64, f64)> = frontier
        .portfolios
        .iter()
        .map(|p| (px(p.volatility), py(p.expected_return)))
        .collect();
    for (i, (p, &(x, y))) in frontier.portfolios.iter().zip(&marks).enumerate() {
        let color = PALETTE[(i + 1) % PALETTE.len()];
        let _ = write!(
            out,
            "<g class=\"frontier-mark\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"9\" height=\"9\" fill=\"{color}\" stroke=\"#fff\" stroke-width=\"1\" transform=\"rotate(45 {x:.1} {y:.1})\"/><title>",
            x - 4.5,
            y - 4.5,
        );
        push_html(
            &mut out,
            &format!(
                "{}: volatility {}, expected return {}",
                p.name,
                percent(p.volatility, 2),
                percent(p.expected_return, 2)
            ),
        );
        out.push_str("</title></g>");
    }
    let names: Vec<&str> = frontier
        .portfolios
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    for label in place_frontier_labels(&marks, &names, [l, t, r, b]) {
        let color = if label.members.len() == 1 {
            PALETTE[(label.members[0] + 1) % PALETTE.len()]
        } else {
            "#333333"
        };
        let (mx, my) = marks[label.members[0]];
        if (label.y - 4.0 - my).abs() > 9.0 {
            // Moved away from its marker: a leader line says whose label it is.
            let lx = if label.anchor_end {
                label.x + 2.0
            } else {
                label.x - 2.0
            };
            let _ = write!(
                out,
                "<line class=\"frontier-leader\" x1=\"{mx:.1}\" y1=\"{my:.1}\" x2=\"{lx:.1}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"0.8\"/>",
                label.y - 4.0
            );
        }
        let _ = write!(
            out,
            "<text class=\"frontier-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{}\" style=\"fill:{color}\">",
            label.x,
            label.y,
            if label.anchor_end { "end" } else { "start" }
        );
        push_html(&mut out, &label.text);
        out.push_str("</text>");
    }
    out.push_str("</svg></div>");
    island.frontier = Some(FrontierData {
        points: frontier.points.iter().map(|&(x, y)| [x, y]).collect(),
        portfolios: frontier
            .portfolios
            .iter()
            .map(|p| FrontierMark {
                name: p.name.clone(),
                volatility: p.volatility,
                expected_return: p.expected_return,
            })
            .collect(),
    });
    out
}

/// Width of a frontier label in viewBox units: a generous estimate for the bold 12.5 px font of
/// `.frontier-label` (average glyph ≈ 0.6 em), so that estimated boxes that do not overlap leave
/// drawn text that does not either.
pub fn frontier_label_width(text: &str) -> f64 {
    text.chars().count() as f64 * 7.6 + 4.0
}

/// Height of a frontier label box (12.5 px text and a little leading).
const LABEL_H: f64 = 15.0;

/// One placed label of the frontier chart: the portfolios it names (indices), its text, and its
/// anchor point (baseline).
struct PlacedLabel {
    members: Vec<usize>,
    text: String,
    x: f64,
    y: f64,
    anchor_end: bool,
}

impl PlacedLabel {
    /// Bounding box: left, top, right, bottom.
    fn bbox(&self) -> [f64; 4] {
        let w = frontier_label_width(&self.text);
        let (x0, x1) = if self.anchor_end {
            (self.x - w, self.x)
        } else {
            (self.x, self.x + w)
        };
        [x0, self.y - LABEL_H + 3.0, x1, self.y + 3.0]
    }
}

fn overlap(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = a[2].min(b[2]) - a[0].max(b[0]);
    let h = a[3].min(b[3]) - a[1].max(b[1]);
    if w > 0.0 && h > 0.0 { w * h } else { 0.0 }
}

/// Labels for the marked portfolios that do not overlap each other or the markers: portfolios
/// drawn at (nearly) the same spot share one label ("hrp, hrp-forecast"); each label takes the
/// first free slot right or left of its marker, moving up or down in steps of a line when
/// needed, inside the plot rectangle `frame` (left, top, right, bottom). When no slot is free
/// the least crowded one is used.
fn place_frontier_labels(
    marks: &[(f64, f64)],
    names: &[&str],
    frame: [f64; 4],
) -> Vec<PlacedLabel> {
    // Group coincident markers (within 3 units).
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, &(x, y)) in marks.iter().enumerate() {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        match groups.iter_mut().find(|g| {
            let (gx, gy) = marks[g[0]];
            (gx - x).abs() <= 3.0 && (gy - y).abs() <= 3.0
        }) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    // Top to bottom, so that the crowded middle is settled in reading order.
    groups.sort_by(|a, b| marks[a[0]].1.total_cmp(&marks[b[0]].1));
    let marker_boxes: Vec<[f64; 4]> = marks
        .iter()
        .map(|&(x, y)| [x - 7.0, y - 7.0, x + 7.0, y + 7.0])
        .collect();
    let mut placed: Vec<PlacedLabel> = Vec::new();
    for g in groups {
        let (x, y) = marks[g[0]];
        let text = g.iter().map(|&i| names[i]).collect::<Vec<_>>().join(", ");
        let mut best: Option<(f64, PlacedLabel)> = None;
        'slots: for step in 0..12 {
            // 0, −1, +1, −2, +2, … lines away from the marker.
            let k = ((step + 1) / 2) as f64 * if step % 2 == 1 { -1.0 } else { 1.0 };
            for anchor_end in [false, true] {
                let dx = if anchor_end { -10.0 } else { 10.0 };
                let candidate = PlacedLabel {
                    members: g.clone(),
                    text: text.clone(),
                    x: x + dx,
                    y: y + 4.0 + k * LABEL_H,
                    anchor_end,
                };
                let bb = candidate.bbox();
                if bb[0] < frame[0] || bb[2] > frame[2] || bb[1] < frame[1] || bb[3] > frame[3] {
                    continue;
                }
                let crowding: f64 = placed
                    .iter()
                    .map(|p| overlap(bb, p.bbox()))
                    .chain(marker_boxes.iter().map(|m| overlap(bb, *m)))
                    .sum();
                if best.as_ref().is_none_or(|(c, _)| crowding < *c) {
                    best = Some((crowding, candidate));
                }
                if crowding == 0.0 {
                    break 'slots;
                }
            }
        }
        let label = match best {
            Some((_, label)) => label,
            // Nothing fits inside the frame (a name longer than the plot): right of the marker.
            None => PlacedLabel {
                members: g.clone(),
                text,
                x: x + 10.0,
                y: y + 4.0,
                anchor_end: false,
            },
        };
        placed.push(label);
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_match_std_formatting() {
        for v in [
            0.0, 0.04, 0.05, 1.25, 123.449, 999.96, -0.04, -3.26, 1099.99,
        ] {
            let mut s = String::new();
            push_tenths(&mut s, v);
            let expect = format!("{:.1}", (v * 10.0f64).round() / 10.0);
            assert_eq!(
                s.trim_start_matches('-'),
                expect.trim_start_matches('-'),
                "{v}"
            );
        }
        let mut s = String::new();
        push_point(&mut s, 'M', 12.34, -5.67);
        assert_eq!(s, "M12.3 -5.7");
    }

    #[test]
    fn bucketing_keeps_extremes_and_ends() {
        let y: Vec<f64> = (0..20_000).map(|i| ((i as f64) * 0.01).sin()).collect();
        let mut y = y;
        y[12_345] = 50.0;
        y[7_000] = -50.0;
        let idx = draw_indices(&y, 5_000);
        assert!(idx.len() <= 5_000);
        assert_eq!(idx.first(), Some(&0));
        assert_eq!(idx.last(), Some(&19_999));
        assert!(idx.contains(&12_345) && idx.contains(&7_000));
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(draw_indices(&y[..100], 5_000).len(), 100);
    }
}
