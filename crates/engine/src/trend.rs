//! A KPI's history: its value for one scope over the periods leading up to one, each with
//! its quota or target (the drill-down page's chart, `GET /api/trend`, `salesorg trend`).

use std::fmt::Write as _;

use salesorg_core::date::{Date, fmt_date};
use salesorg_core::kpi::{self, Value, json_str};
use salesorg_core::period::{Grain, Period};
use salesorg_core::scorecard::{Engine, Scope, ScorecardError};

use crate::Result;
use crate::scorecard::{Runner, previous_period, target_for};

/// The most periods a history reaches back over.
pub const MAX_PERIODS: usize = 36;

/// One period of a history.
#[derive(Debug, Clone)]
pub struct Point {
    pub period: Period,
    /// The day the period is observed on (spec §1: the earlier of today and its last day).
    pub as_of: Date,
    pub value: Value,
    /// The quota beside bookings, 100 % beside attainment, any other KPI's target where
    /// one is set ([`target_for`]).
    pub target: Option<Value>,
    /// For a period under way on its as-of day: which day of how many
    /// ([`Period::under_way`]); its flows are those days' only.
    pub under_way: Option<(i64, i64)>,
}

/// A KPI of one scope over consecutive periods, the oldest first and the one asked for last.
#[derive(Debug, Clone)]
pub struct Trend {
    pub kpi: &'static str,
    pub scope: Scope,
    pub points: Vec<Point>,
}

/// The grain of a month, fiscal quarter or fiscal year (or one of those to a day of it);
/// `None` for a date range.
pub fn grain_of(engine: &Engine, period: &Period) -> Option<Grain> {
    let cal = &engine.book.settings.fiscal;
    let whole = period.whole();
    [Grain::Month, Grain::Quarter, Grain::Year]
        .into_iter()
        .find(|&g| whole == Period::containing(cal, g, whole.start))
}

/// How many periods a history shows when none is asked for: a year of months, two years of
/// quarters, five years, or eight ranges as long as the one asked for.
pub fn default_length(engine: &Engine, period: &Period) -> usize {
    match grain_of(engine, period) {
        Some(Grain::Month) => 12,
        Some(Grain::Year) => 5,
        _ => 8,
    }
}

/// The periods of a history of `n` periods ending with `period` (as asked: a period to
/// date stays one, the ones before it are whole), each the one before the next
/// ([`previous_period`]); none that ends before the first day any record is dated, but
/// always `period` itself. `n` is 1 to [`MAX_PERIODS`].
pub fn periods(engine: &Engine, period: Period, n: usize) -> Vec<Period> {
    let first = engine.first_day();
    let mut out = vec![period];
    let mut p = period.whole();
    while out.len() < n.clamp(1, MAX_PERIODS) {
        let before = previous_period(engine, &p);
        // (a range reaching back past the calendar's start has no period before it)
        if before.start >= p.start || first.is_some_and(|f| before.last_day() < f) {
            break;
        }
        out.push(before);
        p = before;
    }
    out.reverse();
    out
}

/// The history of `kpi` for `scope`: its value over [`periods`]`(period, n)` (with
/// `same_day`, [`to_same_day`] of them), each with its target, computed by `run` (which
/// applies the viewer's lens). A table-valued KPI has no history of one value: refused.
#[allow(clippy::too_many_arguments)]
pub fn trend_by(
    engine: &Engine,
    scope: Scope,
    period: Period,
    kpi: &'static str,
    n: usize,
    same_day: bool,
    today: Date,
    run: &Runner,
) -> Result<Trend> {
    if kpi::TABLE_KPIS.contains(&kpi) {
        return Err(ScorecardError::Kpi(format!(
            "{kpi} is a table, not one value: its history is each period's drill-down"
        ))
        .into());
    }
    let mut t = trends_by(engine, &[scope], period, &[kpi], n, same_day, today, run)?;
    Ok(t.remove(0))
}

/// For a history whose last period is counted to a day of it (under way on its as-of day,
/// or named to a day), each period before it to the same day of its own ("FY2026-Q3 to
/// day 51" beside "FY2026-Q4 to day 51"): where a period stands at this point of it, like
/// for like. Periods whose last one is whole are left as they are.
pub fn to_same_day(ps: &[Period], today: Date) -> Vec<Period> {
    let Some(last) = ps.last() else {
        return Vec::new();
    };
    let day = match last.whole().under_way(Engine::as_of(last, today)) {
        Some((d, _)) => d,
        None => return ps.to_vec(),
    };
    let mut out: Vec<Period> = ps[..ps.len() - 1]
        .iter()
        .map(|p| crate::scorecard::same_day(p, day))
        .collect();
    out.push(*last);
    out
}

/// [`trend_by`] for several scopes and KPIs at once, in one run (a scorecard's cards, a
/// drill-down's direct reports): a history per scope and KPI, scope by scope, each scope's
/// KPIs in their order; with `same_day`, each period before the last to the same day of it
/// ([`to_same_day`]).
#[allow(clippy::too_many_arguments)]
pub fn trends_by(
    engine: &Engine,
    scopes: &[Scope],
    period: Period,
    kpis: &[&'static str],
    n: usize,
    same_day: bool,
    today: Date,
    run: &Runner,
) -> Result<Vec<Trend>> {
    let mut ps = periods(engine, period, n);
    if same_day {
        ps = to_same_day(&ps, today);
    }
    let mut asked = kpis.to_vec();
    if kpis.contains(&"bookings") && !kpis.contains(&"quota") {
        asked.push("quota");
    }
    // (the periods to a day apart from the whole ones: a server rolls those up from its
    // kept passes over the standard periods, which hold no period to a day)
    let (apart, whole): (Vec<usize>, Vec<usize>) = (0..ps.len()).partition(|&i| ps[i].is_to_date());
    let pick = |ix: &[usize]| ix.iter().map(|&i| ps[i]).collect::<Vec<Period>>();
    let rows_whole = match whole.is_empty() {
        true => Vec::new(),
        false => run(scopes, &pick(&whole), &asked)?,
    };
    let rows_apart = match apart.is_empty() {
        true => Vec::new(),
        false => run(scopes, &pick(&apart), &asked)?,
    };
    // (rows scope by scope, each over its run's periods in order)
    let get = |si: usize, pi: usize, k: &str| -> Value {
        let row = match whole.binary_search(&pi) {
            Ok(at) => rows_whole.get(si * whole.len() + at),
            Err(_) => apart
                .binary_search(&pi)
                .ok()
                .and_then(|at| rows_apart.get(si * apart.len() + at)),
        };
        row.and_then(|r| r.values.iter().find(|(id, _)| *id == k))
            .map_or_else(|| Value::Null(kpi::Why::missing(k)), |(_, v)| v.clone())
    };
    let mut out = Vec::with_capacity(scopes.len() * kpis.len());
    for (si, &scope) in scopes.iter().enumerate() {
        out.extend(kpis.iter().map(|&kpi| {
            Trend {
                kpi,
                scope,
                points: ps
                    .iter()
                    .enumerate()
                    .map(|(pi, p)| {
                        let as_of = Engine::as_of(p, today);
                        Point {
                            period: *p,
                            as_of,
                            value: get(si, pi, kpi),
                            target: target_for(engine, scope, p, kpi, || get(si, pi, "quota")),
                            under_way: p.whole().under_way(as_of),
                        }
                    })
                    .collect(),
            }
        }));
    }
    Ok(out)
}

/// A history as the JSON `GET /api/trend` and `salesorg trend --format json` write
/// (docs/scorecard.md): `{"kpi", "scope", "currency", "points": [{"period", "period_start",
/// "period_end", "as_of", "value", "undefined", "target", "under_way": {"day", "of"} or
/// null}]}`, the oldest period first.
pub fn trend_json(engine: &Engine, t: &Trend) -> String {
    let mut s = format!(
        "{{\"kpi\":\"{}\",\"scope\":{},\"currency\":\"{}\",\"points\":[",
        t.kpi,
        json_str(&engine.scope_name(t.scope)),
        engine.book.settings.currency.as_str()
    );
    for (i, p) in t.points.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"period\":{},\"period_start\":\"{}\",\"period_end\":\"{}\",\"as_of\":\"{}\",\"value\":{},\"undefined\":{},\"target\":{},\"under_way\":{}}}",
            json_str(&p.period.to_string()),
            fmt_date(p.period.start),
            fmt_date(p.period.end),
            fmt_date(p.as_of),
            p.value.to_json(),
            p.value
                .why()
                .map_or_else(|| "null".to_owned(), |w| json_str(w.text())),
            p.target
                .as_ref()
                .map_or_else(|| "null".to_owned(), Value::to_json),
            p.under_way.map_or_else(
                || "null".to_owned(),
                |(d, of)| format!("{{\"day\":{d},\"of\":{of}}}")
            ),
        );
    }
    s.push_str("]}");
    s
}

/// A history as a table, for `salesorg trend`'s table and CSV: the header `period,as_of,
/// <kpi>,target,under_way` and a row per period, the value as the bulk export writes it
/// (empty where undefined), the target empty where none is set, `day N of M` while a period
/// is under way.
pub fn trend_table(t: &Trend) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["period", "as_of", t.kpi, "target", "under_way"]
        .map(str::to_owned)
        .to_vec();
    let rows = t
        .points
        .iter()
        .map(|p| {
            vec![
                p.period.to_string(),
                fmt_date(p.as_of),
                p.value.to_text(""),
                p.target
                    .as_ref()
                    .map_or_else(String::new, |v| v.to_text("")),
                p.under_way
                    .map_or_else(String::new, |(d, of)| format!("day {d} of {of}")),
            ]
        })
        .collect();
    (header, rows)
}
