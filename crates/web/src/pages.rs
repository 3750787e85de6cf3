//! The web app: server-rendered HTML pages over the same scoped reads as the API —
//! sign-in, my scorecard (with charts), any scope or person, the org chart, drill-down
//! with CSV export, the role catalog and side-by-side comparison, account and admin.
//! Pages read with JavaScript off; `/static/app.js` only adds small conveniences.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Extension, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use salesorg_core::date::{Date, fmt_date, parse_date};
use salesorg_core::kpi::{self, Value, lower_is_better};
use salesorg_core::period::{Grain, Period, add_months};
use salesorg_core::scorecard::{Engine, Scope};
use salesorg_engine::leaderboard as lb;
use salesorg_engine::scorecard as sc;
use salesorg_engine::trend;

use crate::access::{Cx, Grant};
use crate::api::{period_param, run_as_viewer};
use crate::auth::{self, Via};
use crate::charts::{self, Series};
use crate::error::{Result, WebError, bad_input};
use crate::query::{self, Params};
use crate::{App, ClientAddr, now};

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");
/// The tab's icon (browsers ask for `/favicon.ico` on every page without one: a 404 each,
/// logged in the console as an error).
const ICON: &str = include_str!("../static/icon.svg");

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/people/{id}", get(person_page))
        .route("/scope", get(scope_page))
        .route("/org", get(org_page))
        .route("/explain", get(explain_page))
        .route("/explain.csv", get(explain_csv))
        .route("/reps", get(reps_page))
        .route("/reps.csv", get(reps_csv))
        .route("/teams", get(teams_page))
        .route("/teams.csv", get(teams_csv))
        .route("/roles", get(roles_page))
        .route("/roles/compare", get(compare_page))
        .route("/account", get(account_page))
        .route("/account/password", post(account_password))
        .route("/account/tokens", post(account_token))
        .route("/account/tokens/{id}/revoke", post(account_revoke))
        .route("/admin", get(admin_page))
        .route("/admin/users", post(admin_add_user))
        .route("/admin/users/{id}/{action}", post(admin_user_action))
        .route(
            "/admin/import",
            post(admin_import).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    CSS,
                )
            }),
        )
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route(
            "/static/app.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "max-age=3600"),
                    ],
                    JS,
                )
            }),
        )
        .layer(axum::middleware::from_fn(range_picked))
}

/// The dates a custom range's form sends (`from`, `to`: its first and last day, as a
/// date picker shows them).
#[derive(Deserialize, Default)]
struct RangeQ {
    from: Option<String>,
    to: Option<String>,
}

/// The period of a custom range from its first and last day (`a`, `b`, both counted), as
/// written (`2026-01-15..2026-02-15`, the end exclusive), or why there is none.
fn range_period(a: &str, b: &str) -> std::result::Result<String, String> {
    let a = parse_date(a).map_err(|e| format!("from: {e}"))?;
    let b = parse_date(b).map_err(|e| format!("to: {e}"))?;
    let end = b
        .next_day()
        .ok_or_else(|| format!("to: {} is the last day salesorg holds", fmt_date(b)))?;
    Period::range(a, end).map(|p| p.to_string()).map_err(|_| {
        format!(
            "range: the last day, {}, comes before the first, {}",
            fmt_date(b),
            fmt_date(a)
        )
    })
}

/// A page asked for with a custom range's first and last day (`?from=2026-01-15&to=
/// 2026-02-14`, the period picker's "Custom range") is sent on to the same page over that
/// range as a period (`?period=2026-01-15..2026-02-15`, the end exclusive, as every period
/// is written), its other parameters kept but the page number; a range without both days,
/// or ending before it starts, is refused on the app's error page.
async fn range_picked(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let query = req.uri().query().unwrap_or("");
    if req.method() != Method::GET || !query.contains("from=") && !query.contains("to=") {
        return next.run(req).await;
    }
    let Ok(r) = query::read::<RangeQ>(query) else {
        return next.run(req).await;
    };
    let period = match (r.from.as_deref(), r.to.as_deref()) {
        (None, None) => return next.run(req).await,
        (Some(a), Some(b)) => range_period(a, b),
        _ => Err("range: give its first day (from) and its last (to)".to_owned()),
    };
    match period {
        Ok(period) => {
            let kept = form_urlencoded::parse(query.as_bytes())
                .filter(|(k, _)| !matches!(k.as_ref(), "from" | "to" | "period" | "page"));
            let q = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .append_pair("period", &period)
                .finish();
            Redirect::to(&format!("{}?{q}", req.uri().path())).into_response()
        }
        Err(msg) => error_response(WebError::BadRequest(msg)),
    }
}

async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
}

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~:".contains(&b) {
            o.push(b as char);
        } else {
            let _ = write!(o, "%{b:02X}");
        }
    }
    o
}

/// A rendered page.
pub struct Page {
    pub title: String,
    pub body: String,
}

fn shell(title: &str, nav: &str, body: &str) -> String {
    shell_with(title, "", nav, body)
}

/// [`shell`] with more in the head (`head`, trusted markup).
fn shell_with(title: &str, head: &str, nav: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}<title>{} · salesorg</title><link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/static/app.css\"><script src=\"/static/app.js\" defer></script></head><body><a class=\"skip\" href=\"#main\">Skip to content</a>{nav}<main id=\"main\">{body}</main></body></html>",
        esc(title)
    )
}

fn nav(cx: &Cx) -> String {
    let csrf = csrf_of(cx);
    let name = cx
        .scoped
        .access()
        .person()
        .map(|p| cx.scoped.engine.book.people[p as usize].name.clone())
        .unwrap_or_else(|| cx.who.user.username.clone());
    let admin = if cx.who.user.is_admin {
        "<li><a href=\"/admin\">Admin</a></li>"
    } else {
        ""
    };
    // (an account linked to nobody in the org, an admin's, has no scorecard and sees no
    // part of the org: its nav has no links that lead to "not found")
    let mine = if cx.scoped.access().person().is_some() {
        "<li><a href=\"/\">My scorecard</a></li><li><a href=\"/org\">Org chart</a></li>"
    } else {
        "<li><a href=\"/\">Home</a></li>"
    };
    format!(
        "<header class=\"top\"><nav aria-label=\"Main\"><a class=\"brand\" href=\"/\">salesorg</a><ul>{mine}<li><a href=\"/roles\">Roles</a></li>{admin}<li><a href=\"/account\">Account</a></li></ul><form method=\"post\" action=\"/logout\" class=\"logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><span class=\"who\">{}</span> <button type=\"submit\">Sign out</button></form></nav></header>",
        esc(&csrf),
        esc(&name)
    )
}

fn html(status: StatusCode, s: String) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        s,
    )
        .into_response();
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("same-origin"));
    r
}

/// The app's page for an error (a 400 says what was wrong with the request).
pub(crate) fn error_response(e: WebError) -> Response {
    error_page(e, "/")
}

/// The "not found" page.
pub fn not_found() -> Response {
    error_page(WebError::NotFound, "/")
}

fn error_page(e: WebError, next: &str) -> Response {
    match e {
        WebError::Unauthorized => {
            Redirect::to(&format!("/login?next={}", enc(next))).into_response()
        }
        WebError::NotFound => html(
            StatusCode::NOT_FOUND,
            shell(
                "Not found",
                "",
                "<h1>Not found</h1><p>This page does not exist, or it is outside what you can see.</p><p><a href=\"/\">Back to my scorecard</a></p>",
            ),
        ),
        // while the data loads (or after a failed load, which the loader tries again): what
        // it is doing, and a page that asks again by itself, with or without JavaScript
        WebError::NotReady(_) | WebError::LoadFailed => {
            let (title, text) = match &e {
                WebError::NotReady(step) => (
                    "Loading the data",
                    format!(
                        "<p>salesorg is reading the store into memory, as it does once when \
                         the server starts. This page opens by itself when it is ready.</p>{}",
                        step.as_deref()
                            .map(|s| format!(
                                "<p class=\"sub\" role=\"status\">Now: {}.</p>",
                                esc(s)
                            ))
                            .unwrap_or_default()
                    ),
                ),
                _ => (
                    "The data could not be loaded",
                    "<p>The server's log says why. It tries again by itself, and this page \
                     opens when it has the data.</p>"
                        .to_owned(),
                ),
            };
            let wait = e.retry_after().unwrap_or(crate::error::RETRY_LOADING);
            let mut r = html(
                StatusCode::SERVICE_UNAVAILABLE,
                shell_with(
                    title,
                    &format!("<meta http-equiv=\"refresh\" content=\"{wait}\">"),
                    "",
                    &format!("<h1>{title}</h1>{text}"),
                ),
            );
            r.headers_mut().insert("retry-after", wait.into());
            r
        }
        other => {
            let status = other.status();
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                log!(
                    "{{\"level\":\"error\",\"error\":{}}}",
                    serde_json::to_string(&other.to_string()).unwrap_or_default()
                );
            }
            let msg = other.public_message();
            html(
                status,
                shell(
                    "Error",
                    "",
                    &format!(
                        "<h1>{}</h1><p>{}</p><p><a href=\"/\">Back to my scorecard</a></p>",
                        status.as_u16(),
                        esc(&msg)
                    ),
                ),
            )
        }
    }
}

/// Renders a page for the signed-in viewer (or sends them to sign in).
async fn page(
    app: Arc<App>,
    headers: HeaderMap,
    method: Method,
    addr: String,
    next: String,
    form_csrf: Option<String>,
    f: impl FnOnce(&mut Cx) -> Result<Page> + Send + 'static,
) -> Response {
    let r = run_as_viewer(app, headers, method, addr, form_csrf, move |cx| {
        let p = f(cx)?;
        Ok(shell(&p.title, &nav(cx), &p.body))
    })
    .await;
    match r {
        Ok(s) => html(StatusCode::OK, s),
        Err(e) => error_page(e, &next),
    }
}

/// A page body computed once per viewer and data version (see
/// [`crate::access::Scoped::cached`]); the navigation, which holds the session's CSRF
/// token, is added per request.
fn cached_page(cx: &mut Cx, key: &str, f: impl FnOnce(&mut Cx) -> Result<Page>) -> Result<Page> {
    let key = format!("page|{key}|{}", cx.today);
    if let Some(t) = cx.scoped.cache_get(&key) {
        let (title, body) = t.split_once('\0').unwrap_or(("", t.as_str()));
        return Ok(Page {
            title: title.to_owned(),
            body: body.to_owned(),
        });
    }
    let p = f(cx)?;
    cx.scoped
        .cache_put(&key, format!("{}\0{}", p.title, p.body));
    Ok(p)
}

/// Renders (and so caches) a user's landing page for the current quarter, as if they had
/// just signed in: done for every active user after each (re)load of the engine. With
/// `more`, and only for company-wide viewers, the landing page over the periods the picker
/// offers first — last quarter, this month, this fiscal year — and the drill-down behind
/// each number of their landing page instead: their scope is the whole company, and a
/// company-wide drill-down passes over every owner's records (a leader's takes tens of
/// milliseconds, so theirs are left to the request).
pub(crate) fn warm_home(cx: &mut Cx, more: bool) -> Result<()> {
    let Some(me) = cx.scoped.access().person() else {
        return Ok(());
    };
    let e = cx.scoped.engine;
    let now = period_param(e, None, cx.today)?;
    let periods = if !more {
        vec![now]
    } else if cx.scoped.access().grant() == Grant::Company {
        let cal = &e.book.settings.fiscal;
        vec![
            Period::containing(cal, Grain::Quarter, add_months(now.start, -3)),
            Period::containing(cal, Grain::Month, e.current_day(cx.today)),
            Period::containing(cal, Grain::Year, e.current_day(cx.today)),
        ]
    } else {
        Vec::new()
    };
    for p in periods {
        cached_page(cx, &format!("home|{p}"), |cx| {
            person_scorecard(cx, me, p, true)
        })?;
    }
    // a company-wide viewer's drill-downs from the landing page: each passes over every
    // owner's records (0.1-0.8 s on 10M deals), so the numbers they click first are ready
    if more && cx.scoped.access().grant() == Grant::Company {
        let card = sc::person_scorecard_by(
            e,
            cx.scoped.lens(),
            cx.scoped.catalog,
            me,
            now,
            cx.today,
            None,
            &|s, ps, k| cx.scoped.run(s, ps, k, cx.today),
        )?;
        for l in card.lines.iter().filter(|l| !kpi::NOT_YET.contains(&l.kpi)) {
            cx.scoped
                .explain(l.kpi, card.scope, now, cx.today, |_| true)?;
        }
        // their scope's and their reports' rows over every standard period: a page over
        // another period then rolls nothing up for them
        let mut scopes = vec![card.scope];
        scopes.extend(&card.reports);
        cx.scoped.keep_standard_rows(&scopes, cx.today)?;
    }
    Ok(())
}

/// Runs a form action for the signed-in viewer and redirects to `to`.
async fn action(
    app: Arc<App>,
    headers: HeaderMap,
    addr: String,
    csrf: String,
    back: &'static str,
    f: impl FnOnce(&mut Cx) -> Result<String> + Send + 'static,
) -> Response {
    match run_as_viewer(app, headers, Method::POST, addr, Some(csrf), f).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e) => error_page(e, back),
    }
}

// ---- values ---------------------------------------------------------------------------

/// A period's name for people: a month, quarter or year by its name (`FY2026-Q3`); a
/// range by its first and last day (`2026-01-15 – 2026-02-14`), as the picker's custom
/// range reads them — its parameter (`2026-01-15..2026-02-15`) ends with the day after
/// its last; a period to a day with that day (`FY2026-Q3 to 2026-08-20`). Links, exports
/// and the API keep the parameter's form.
fn period_text(p: &Period) -> String {
    if !p.is_range() {
        return p.to_string();
    }
    let whole = p.whole();
    let range = format!("{} – {}", fmt_date(whole.start), fmt_date(whole.last_day()));
    match p.is_to_date() {
        true => format!("{range}, to {}", fmt_date(p.last_day())),
        false => range,
    }
}

/// [`period_text`] as HTML, its dates kept whole ([`unbroken_dates`]).
fn period_html(p: &Period) -> String {
    unbroken_dates(&esc(&period_text(p)))
}

/// HTML text (escaped, no tags) with each `YYYY-MM-DD` in it kept on one line: a phone's
/// narrow card had broken `2025-12-15 – 2026-01-14` after a date's hyphen ("2026-" at the
/// end of a line, "01-14" on the next); now a line breaks only at the spaces around the
/// dash.
fn unbroken_dates(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = String::with_capacity(html.len() + 48);
    let (mut last, mut i) = (0, 0);
    while i + 10 <= b.len() {
        let date = b[i..i + 10].iter().enumerate().all(|(k, c)| match k {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
        if date {
            out.push_str(&html[last..i]);
            out.push_str("<span class=\"nw\">");
            out.push_str(&html[i..i + 10]);
            out.push_str("</span>");
            i += 10;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&html[last..]);
    out
}

/// The periods of a history from `first` to `last` for people: `FY2024-Q4 to FY2026-Q3`;
/// for date ranges the first one's first day to the last one's last day, and how long each
/// is (`2025-06-12 to 2026-02-14, 31 days each`): "2025-06-12 – 2025-07-12 to 2026-01-15 –
/// 2026-02-14" read as four dates of unclear pairing.
fn periods_span(first: &Period, last: &Period) -> String {
    let (first, last) = (first.whole(), last.whole());
    if first.is_range() {
        let days = first.days();
        format!(
            "{} to {}, {days} day{} each",
            fmt_date(first.start),
            fmt_date(last.last_day()),
            if days == 1 { "" } else { "s" }
        )
    } else {
        format!("{first} to {last}")
    }
}

/// "as of DATE", and for a period still under way how far into it that is ("as of
/// 2026-11-20, day 51 of 92"): its flows are to date, its comparisons whole periods.
fn as_of_text(p: &Period, as_of: Date) -> String {
    match p.under_way(as_of) {
        Some((day, of)) => format!("as of {}, day {day} of {of}", fmt_date(as_of)),
        None => format!("as of {}", fmt_date(as_of)),
    }
}

/// A KPI's name for people (or a formula input's: the id in words).
pub fn label(k: &str) -> String {
    match k {
        "bookings" => "Bookings".into(),
        "opps_created" => "Opportunities created".into(),
        "pipeline_open" => "Open pipeline".into(),
        "pipeline_weighted" => "Weighted pipeline".into(),
        "stale_pipeline_share" => "Stale pipeline (share)".into(),
        "reps_at_quota_share" => "Reps at quota (share)".into(),
        "calls_per_rep_day" => "Calls per rep-day".into(),
        "followups_per_lead" => "Follow-ups per lead".into(),
        "opp_conversion_rate" => "Opportunity conversion rate".into(),
        "sales_marketing_spend" => "Sales & marketing spend".into(),
        "days_in_stage_avg" => "Days in stage (average)".into(),
        "data_completeness_share" => "Data completeness (share)".into(),
        "won_deals" => "Won deals".into(),
        "lost_deals" => "Lost deals".into(),
        "win_rate" => "Win rate".into(),
        "win_rate_value" => "Win rate (value)".into(),
        "avg_deal_size" => "Average deal size".into(),
        "sales_cycle_days" => "Sales cycle (days)".into(),
        "sales_cycle_days_median" => "Sales cycle, median (days)".into(),
        "revenue_growth_yoy" => "Revenue growth YoY".into(),
        "cac" => "CAC".into(),
        "ltv" => "LTV".into(),
        "ltv_to_cac" | "ltv_cac_ratio" => "LTV : CAC".into(),
        "lead_response_sla_share" => "Leads answered within SLA".into(),
        "lead_response_minutes_median" => "Lead response, median (min)".into(),
        "csat_avg" => "CSAT".into(),
        "nps" => "NPS".into(),
        _ => {
            let mut s = k.replace('_', " ");
            if let Some(c) = s.get(0..1) {
                s.replace_range(0..1, &c.to_uppercase());
            }
            s
        }
    }
}

pub(crate) fn thousands(n: i128) -> String {
    let s = n.unsigned_abs().to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    if n < 0 { format!("-{o}") } else { o }
}

/// A value for people: money with its currency, ratios as percentages, counts with
/// thousands separators, measures with their unit; `—` when undefined.
pub fn show(k: &str, v: &Value, ccy: &str) -> String {
    match v {
        Value::Null(_) => "—".into(),
        Value::Count(n) => thousands(i128::from(*n)),
        Value::Money(u) => {
            let whole = (u + if *u >= 0 { 5_000 } else { -5_000 }) / 10_000;
            format!("{ccy} {}", thousands(whole))
        }
        Value::Ratio(_)
            if matches!(
                k,
                "ltv_to_cac"
                    | "ltv_cac_ratio"
                    | "pipeline_coverage"
                    | "calls_per_rep_day"
                    | "followups_per_lead"
                    | "span_of_control"
                    | "csat_avg"
            ) =>
        {
            format!("{:.2}", v.as_f64().unwrap_or(0.0))
        }
        Value::Ratio(_) if k == "nps" => format!("{:.1}", v.as_f64().unwrap_or(0.0)),
        Value::Ratio(_) => format!("{:.1}%", v.as_f64().unwrap_or(0.0) * 100.0),
        Value::Measure(_) => format!("{:.1}", v.as_f64().unwrap_or(0.0)),
        Value::Table(t) if t.is_empty() => "none".to_owned(),
        Value::Table(_) => v.to_text("—"),
    }
}

/// Why a value is undefined, for the "—" tooltip: what the formula found missing, then
/// the formula.
fn why_null(k: &str, why: kpi::Why) -> String {
    format!("Undefined: {}. {k} = {}", why.text(), sc::formula(k))
}

/// A card's line under an undefined value: why it is undefined, in words ("No quota is set
/// for this scope and period."), for the leader who would otherwise have to hover.
fn why_line(v: &Value) -> String {
    let Some(why) = v.why() else {
        return String::new();
    };
    let text = why.text();
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    format!(
        "<p class=\"why\">{}{}.</p>",
        esc(&first.unwrap_or_default()),
        esc(chars.as_str())
    )
}

fn cell(k: &str, v: &Value, ccy: &str, href: &str) -> String {
    if let Value::Null(why) = v {
        return format!(
            "<span class=\"null\" title=\"{}\" tabindex=\"0\">—</span>",
            esc(&why_null(k, *why))
        );
    }
    format!("<a href=\"{}\">{}</a>", esc(href), esc(&show(k, v, ccy)))
}

/// A change as shown, to one decimal: its colour and arrow follow the figure on the page,
/// so a fall too small to show reads "= 0.0", not a red "▼ -0.0".
fn shown_delta(d: f64) -> f64 {
    let r = (d * 10.0).round() / 10.0;
    // (and never a negative zero)
    if r == 0.0 { 0.0 } else { r }
}

/// A shown change with its sign: "+1.5", "-0.3", "0.0".
fn signed(d: f64) -> String {
    if d == 0.0 {
        "0.0".to_owned()
    } else {
        format!("{d:+.1}")
    }
}

/// The change from `before` to `now`: relative for amounts and counts, in points for
/// percentages.
fn delta(k: &str, now: &Value, before: &Value, what: &str) -> String {
    let (Some(a), Some(b)) = (now.as_f64(), before.as_f64()) else {
        return format!("<span class=\"delta none\">{what}: —</span>");
    };
    let (txt, d) = match now {
        Value::Ratio(_)
            if !matches!(
                k,
                "ltv_to_cac"
                    | "ltv_cac_ratio"
                    | "pipeline_coverage"
                    | "calls_per_rep_day"
                    | "followups_per_lead"
                    | "span_of_control"
                    | "csat_avg"
                    | "nps"
            ) =>
        {
            let d = shown_delta((a - b) * 100.0);
            (format!("{} pts", signed(d)), d)
        }
        _ => {
            if b == 0.0 {
                return format!("<span class=\"delta none\">{what}: was 0</span>");
            }
            let d = shown_delta((a - b) / b.abs() * 100.0);
            (format!("{}%", signed(d)), d)
        }
    };
    let good = if lower_is_better(k) { d < 0.0 } else { d > 0.0 };
    let class = if d == 0.0 {
        "flat"
    } else if good {
        "good"
    } else {
        "bad"
    };
    let arrow = if d > 0.0 {
        "▲"
    } else if d < 0.0 {
        "▼"
    } else {
        "="
    };
    format!(
        "<span class=\"delta {class}\">{what}: <span aria-hidden=\"true\">{arrow}</span> {}</span>",
        esc(&txt)
    )
}

// ---- period picker ----------------------------------------------------------------------

fn picker(e: &Engine, today: Date, current: &Period, hidden: &[(&str, String)]) -> String {
    let cal = &e.book.settings.fiscal;
    // the periods up to the data's last day when it ended well before today
    let today = e.current_day(today);
    let mut s = String::from(
        "<form method=\"get\" class=\"picker\"><label for=\"period\">Period</label> <select id=\"period\" name=\"period\" data-autosubmit>",
    );
    let mut group = |name: &str, ps: Vec<Period>| {
        let _ = write!(s, "<optgroup label=\"{name}\">");
        for p in ps {
            let v = p.to_string();
            let sel = if p == *current { " selected" } else { "" };
            let _ = write!(s, "<option value=\"{}\"{sel}>{}</option>", esc(&v), esc(&v));
        }
        s.push_str("</optgroup>");
    };
    group(
        "Quarters",
        (0..8)
            .map(|i| Period::containing(cal, Grain::Quarter, add_months(today, -3 * i)))
            .collect(),
    );
    group(
        "Months",
        (0..12)
            .map(|i| Period::containing(cal, Grain::Month, add_months(today, -i)))
            .collect(),
    );
    group(
        "Fiscal years",
        (0..3)
            .map(|i| Period::containing(cal, Grain::Year, add_months(today, -12 * i)))
            .collect(),
    );
    let known = (0..8)
        .any(|i| Period::containing(cal, Grain::Quarter, add_months(today, -3 * i)) == *current)
        || (0..12)
            .any(|i| Period::containing(cal, Grain::Month, add_months(today, -i)) == *current)
        || (0..3)
            .any(|i| Period::containing(cal, Grain::Year, add_months(today, -12 * i)) == *current);
    if !known {
        let v = current.to_string();
        // (a range by its first and last day, as its form shows them)
        let shown = period_text(current);
        let _ = write!(
            s,
            "<option value=\"{}\" selected>{}</option>",
            esc(&v),
            esc(&shown)
        );
    }
    s.push_str("</select>");
    for (k, v) in hidden {
        let _ = write!(
            s,
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(v)
        );
    }
    s.push_str(" <button type=\"submit\">Show</button></form>");
    // a range of the user's own: its first and last day (see `range_picked`), filled in
    // with the one shown (the whole range's, as its name reads, for one to a day too)
    let (first, last) = if current.is_range() {
        (
            fmt_date(current.start),
            fmt_date(current.whole().last_day()),
        )
    } else {
        (String::new(), String::new())
    };
    let open = if first.is_empty() { "" } else { " open" };
    let _ = write!(
        s,
        "<details class=\"range\"{open}><summary>Custom range</summary><form method=\"get\" class=\"picker\"><label for=\"range-from\">From</label> <input id=\"range-from\" name=\"from\" type=\"date\" required value=\"{first}\"> <label for=\"range-to\">to</label> <input id=\"range-to\" name=\"to\" type=\"date\" required value=\"{last}\">"
    );
    for (k, v) in hidden {
        let _ = write!(
            s,
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(v)
        );
    }
    s.push_str(" <button type=\"submit\">Show</button></form></details>");
    s
}

// ---- sign-in ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct NextQ {
    next: Option<String>,
}

fn safe_next(n: Option<&str>) -> String {
    match n {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".into(),
    }
}

fn login_html(next: &str, msg: Option<&str>) -> String {
    let m = msg
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    shell(
        "Sign in",
        "",
        &format!(
            "<section class=\"login\"><h1>Sign in to salesorg</h1>{m}<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" value=\"{}\"><label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required><button type=\"submit\">Sign in</button></form></section>",
            esc(next)
        ),
    )
}

async fn login_form(Params(q): Params<NextQ>) -> Response {
    html(
        StatusCode::OK,
        login_html(&safe_next(q.next.as_deref()), None),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<ClientAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let app2 = app.clone();
    let r = tokio::task::spawn_blocking(move || {
        let mut store = app2.store()?;
        let r = auth::sign_in(
            &mut store,
            &app2.cfg.policy,
            &f.username,
            &f.password,
            &addr.0,
            now(),
        );
        app2.give_back(store);
        r
    })
    .await
    .unwrap_or_else(|e| Err(WebError::Internal(e.to_string())));
    match r {
        Ok(s) => {
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&app.cfg.policy, &s.id)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(WebError::Throttled(s)) => html(
            StatusCode::TOO_MANY_REQUESTS,
            login_html(
                &next,
                Some(&format!(
                    "Too many failed sign-ins. Try again in {} minutes.",
                    (s + 59) / 60
                )),
            ),
        ),
        Err(WebError::Unauthorized) => html(
            StatusCode::UNAUTHORIZED,
            login_html(&next, Some("Wrong username or password.")),
        ),
        Err(e) => error_page(e, "/login"),
    }
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(addr): Extension<ClientAddr>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let app2 = app.clone();
    let r = run_as_viewer(app2, headers, Method::POST, addr.0, Some(f.csrf), |cx| {
        cx.audit("sign_out", "")?;
        if let Via::Session { id_hash, .. } = &cx.who.via {
            cx.unscoped_store().delete_session(id_hash)?;
        }
        Ok(())
    })
    .await;
    match r {
        Ok(()) | Err(WebError::Unauthorized) => {
            let mut res = Redirect::to("/login").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&app.cfg.policy, "")) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => error_page(e, "/"),
    }
}

// ---- scorecards -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct ScQ {
    scope: Option<String>,
    period: Option<String>,
    kpi: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    #[serde(default, deserialize_with = "query::number")]
    page: Option<usize>,
    as_of: Option<String>,
    root: Option<String>,
    a: Option<String>,
    b: Option<String>,
    /// A drill-down's records of one kind, and holding a text (`q`).
    kind: Option<String>,
    q: Option<String>,
    /// A drill-down's history made even where it takes a company-wide pass of its own.
    #[serde(default, deserialize_with = "query::flag")]
    history: Option<bool>,
    /// A drill-down's history with each period to the same day as the last (made on
    /// request: periods to a day take a pass of their own).
    #[serde(default, deserialize_with = "query::flag")]
    same_day: Option<bool>,
}

async fn home(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    let next = "/".to_owned();
    page(app, headers, Method::GET, a.0, next, None, move |cx| {
        let p = period_param(cx.scoped.engine, q.period.as_deref(), cx.today)?;
        match cx.scoped.access().person() {
            Some(me) => cached_page(cx, &format!("home|{p}"), |cx| person_scorecard(cx, me, p, true)),
            None => Ok(Page {
                title: "Welcome".into(),
                body: "<h1>Welcome</h1><p>This account is not linked to anyone in the org, so it has no scorecard. Admins manage users, imports and the audit log under <a href=\"/admin\">Admin</a>.</p>".into(),
            }),
        }
    })
    .await
}

async fn person_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Path(id): Path<String>,
    Params(q): Params<ScQ>,
) -> Response {
    let next = format!("/people/{}", enc(&id));
    page(app, headers, Method::GET, a.0, next, None, move |cx| {
        let p = period_param(cx.scoped.engine, q.period.as_deref(), cx.today)?;
        let person = cx.scoped.person(&id)?;
        let me = cx.scoped.access().person() == Some(person);
        cached_page(cx, &format!("person|{person}|{p}"), |cx| {
            person_scorecard(cx, person, p, me)
        })
    })
    .await
}

/// A cell's colour against its own quota or target, where one is set: `met` at or past
/// it (a sum or attainment mid-period: on pace for its share so far), `missed` short of
/// it; and the target, shown on hover.
fn against_target(
    k: &str,
    v: &Value,
    target: Option<&Value>,
    p: &Period,
    as_of: Date,
    ccy: &str,
) -> (&'static str, String) {
    let pace = match p.under_way(as_of) {
        Some((day, of)) if k == "quota_attainment" || kpi::ADDITIVE_KPIS.contains(&k) => {
            Some((day, day as f64 / of as f64))
        }
        _ => None,
    };
    match (target, v.as_f64()) {
        (Some(t), Some(a)) if t.as_f64().is_some() => {
            let b = t.as_f64().unwrap_or_default() * pace.map_or(1.0, |x| x.1);
            let met = if lower_is_better(k) { a <= b } else { a >= b };
            let on = match pace {
                Some((day, share)) => {
                    format!(", on pace at {:.0}% of it by day {day}", share * 100.0)
                }
                None => String::new(),
            };
            (
                if met { " met" } else { " missed" },
                format!(" title=\"target {}{on}\"", esc(&show(k, t, ccy))),
            )
        }
        _ => ("", String::new()),
    }
}

/// The scope a query names (through the viewer's access), else the viewer's home scope.
fn scope_param(cx: &Cx, raw: Option<&str>, p: &Period) -> Result<Scope> {
    match raw {
        Some(s) if !s.is_empty() => cx.scoped.scope(s, Some(p)),
        _ => cx.scoped.home().ok_or(WebError::NotFound),
    }
}

async fn scope_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    let next = format!("/scope?scope={}", enc(q.scope.as_deref().unwrap_or("")));
    page(app, headers, Method::GET, a.0, next, None, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let scope = scope_param(cx, q.scope.as_deref(), &p)?;
        cached_page(cx, &format!("scope|{scope:?}|{p}"), |cx| {
            scope_body(cx, scope, p)
        })
    })
    .await
}

/// The body of `/scope`: a scope's KPI cards with comparisons, and its charts.
fn scope_body(cx: &mut Cx, scope: Scope, p: Period) -> Result<Page> {
    {
        let e = cx.scoped.engine;
        let kpis: Vec<&'static str> = vec![
            "bookings",
            "won_deals",
            "win_rate",
            "avg_deal_size",
            "sales_cycle_days",
            "pipeline_open",
            "opps_created",
            "quota_attainment",
            "calls",
            "activities",
            "leads_created",
            "lead_conversion_rate",
        ];
        let compare = sc::comparisons(e, &p, Engine::as_of(&p, cx.today));
        let mut with_quota = kpis.clone();
        with_quota.push("quota");
        let mut rows = cx
            .scoped
            .run(&[scope], &[p, compare.0, compare.1], &with_quota, cx.today)
            .map_err(bad_input)?;
        // (apart: the kept passes hold standard periods only)
        if let Some((a, b)) = compare.2 {
            rows.extend(
                cx.scoped
                    .run(&[scope], &[a, b], &kpis, cx.today)
                    .map_err(bad_input)?,
            );
        }
        let get = |pi: usize, k: &str| {
            rows.get(pi)
                .map_or(&[][..], |r| &r.values[..])
                .iter()
                .find(|(id, _)| *id == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| Value::Null(kpi::Why::missing(k)))
        };
        let name = e.scope_name(scope);
        let mut body = format!(
            "<h1>{}</h1><p class=\"sub\">{} · {} · {}</p>",
            esc(&e.scope_title(scope)),
            esc(&name),
            period_html(&p),
            as_of_text(&p, Engine::as_of(&p, cx.today))
        );
        body.push_str(&picker(e, cx.today, &p, &[("scope", name.clone())]));
        body.push_str("<section class=\"cards\" aria-label=\"KPIs\">");
        let ccy = e.book.settings.currency.as_str().to_owned();
        let sparks = sparklines(cx, scope, p, &kpis, &ccy)?;
        for k in &kpis {
            let v = get(0, k);
            let href = explain_href(k, &name, &p);
            let target = sc::target_for(e, scope, &p, k, || get(0, "quota"));
            let _ = write!(
                body,
                "<article class=\"card\"><h2>{}</h2><p class=\"value\" data-kpi=\"{k}\" data-raw=\"{}\">{}</p>{}{}{}{}</article>",
                esc(&label(k)),
                esc(&v.to_json()),
                cell(k, &v, &ccy, &href),
                why_line(&v),
                target_line(k, &v, target.as_ref(), &ccy),
                compared(
                    k,
                    &v,
                    [&get(1, k), &get(2, k), &get(3, k), &get(4, k)],
                    &Value::Null(kpi::Why::NotApplicable),
                    &compare,
                    &ccy,
                    &|q| explain_href(k, &name, q),
                ),
                spark_link(&sparks, k, &href),
            );
        }
        body.push_str("</section>");
        if !matches!(scope, Scope::Person(_)) {
            let _ = write!(
                body,
                "<p class=\"sub\"><a href=\"/reps?scope={n}&amp;period={pe}\">Every rep of {}, ranked</a> · <a href=\"/teams?scope={n}&amp;period={pe}\">every first-line team, ranked</a></p>",
                esc(&e.scope_title(scope)),
                n = enc(&name),
                pe = enc(&p.to_string()),
            );
        }
        body.push_str(&charts_for(cx, scope, &p, None)?);
        // every KPI of the spec, not only the cards', for a spreadsheet
        let _ = write!(
            body,
            "<p class=\"sub export\">Export: <a href=\"/api/scorecard?scope={}&amp;period={}&amp;format=csv\" download>every KPI of this scope and period (CSV)</a></p>",
            enc(&name),
            enc(&p.to_string())
        );
        Ok(Page {
            title: format!("{} · {}", e.scope_title(scope), period_text(&p)),
            body,
        })
    }
}

/// A card's quota or target line: "Quota USD 90,000 · 64% attained", "Target 33.0% · 51%
/// attained", or, for a cap (a response time, a cost), "Target 30.0 · met" / "· 20% over".
fn target_line(k: &str, value: &Value, target: Option<&Value>, ccy: &str) -> String {
    match (target, k) {
        (Some(t), "quota_attainment") => {
            format!("<p class=\"target\">Target {}</p>", esc(&show(k, t, ccy)))
        }
        (Some(t), k) if !matches!(t, Value::Null(_)) => {
            let att = match (value.as_f64(), t.as_f64()) {
                // (a cap is met at or below it)
                (Some(a), Some(b)) if lower_is_better(k) && a <= b => " · met".to_owned(),
                (Some(a), Some(b)) if lower_is_better(k) && b > 0.0 => {
                    format!(" · {:.0}% over", (a / b - 1.0) * 100.0)
                }
                (Some(a), Some(b)) if b > 0.0 => format!(" · {:.0}% attained", a / b * 100.0),
                _ => String::new(),
            };
            let (what, shown) = match k {
                "bookings" => ("Quota", show("quota", t, ccy)),
                _ => ("Target", show(k, t, ccy)),
            };
            // the gap to a quota or a count still to reach (Salesforce's "gap to quota")
            let gap = match (value, t) {
                (Value::Money(a), Value::Money(b)) if a < b => {
                    format!(" · {} to go", show(k, &Value::Money(b - a), ccy))
                }
                (Value::Count(a), Value::Count(b)) if a < b => {
                    format!(" · {} to go", show(k, &Value::Count(b - a), ccy))
                }
                _ => String::new(),
            };
            format!(
                "<p class=\"target\">{what} {}{att}{}</p>",
                esc(&shown),
                esc(&gap)
            )
        }
        _ => String::new(),
    }
}

/// The drill-down of `kpi` over `scope` (its name) in `p`.
fn explain_href(kpi: &str, scope: &str, p: &Period) -> String {
    format!(
        "/explain?kpi={kpi}&scope={}&period={}",
        enc(scope),
        enc(&p.to_string())
    )
}

/// A card's comparisons (`sc::comparisons`): the deltas against the previous period and
/// the same period last year (`periods.0`, `.1`; values `was[0]`, `[1]`); for a period under
/// way, against those two to the same day (`periods.2`; values `was[2]`, `[3]`), with
/// their whole values below. Each compared period links to its drill-down (`explain`
/// makes the link for a period): "why was it higher then?". Revenue growth mid-period also
/// shows `like`, its growth against last year to the same day.
fn compared(
    k: &str,
    now: &Value,
    was: [&Value; 4],
    like: &Value,
    periods: &(Period, Period, Option<(Period, Period)>),
    ccy: &str,
    explain: &dyn Fn(&Period) -> String,
) -> String {
    let (previous, last_year, to_date) = periods;
    let vs = |p: &Period, label: String| {
        format!(
            "<a href=\"{}\">vs {}</a>",
            esc(&explain(p)),
            unbroken_dates(&esc(&label))
        )
    };
    let Some((prev, ly)) = to_date else {
        return delta(k, now, was[0], &vs(previous, period_text(previous)))
            + &delta(k, now, was[1], &vs(last_year, period_text(last_year)));
    };
    // ("FY2026-Q3 to day 51", beside the header's "day 51 of 92")
    let day_label = |p: &Period| match p.is_to_date() {
        true => format!("{} to day {}", period_text(&p.whole()), p.days()),
        false => period_text(p),
    };
    let to_day = |p: &Period| vs(p, day_label(p));
    // (the spec's growth is against last year's whole period: mid-period, a fall)
    let like = match like {
        Value::Null(_) => String::new(),
        v => format!(
            "<p class=\"target\">Like for like: {} against <a href=\"{}\">{}</a></p>",
            esc(&show(k, v, ccy)),
            esc(&explain(ly)),
            unbroken_dates(&esc(&day_label(ly)))
        ),
    };
    format!(
        "{like}{}{}<p class=\"whole\">whole <a href=\"{}\">{}</a>: {} · <a href=\"{}\">{}</a>: {}</p>",
        delta(k, now, was[2], &to_day(prev)),
        delta(k, now, was[3], &to_day(ly)),
        esc(&explain(previous)),
        period_html(previous),
        esc(&show(k, was[0], ccy)),
        esc(&explain(last_year)),
        period_html(last_year),
        esc(&show(k, was[1], ccy)),
    )
}

/// A card's sparkline ([`sparklines`]) as a link to its drill-down's history; nothing for
/// a KPI without one.
fn spark_link(sparks: &[(&str, String)], k: &str, explain: &str) -> String {
    sparks
        .iter()
        .find(|s| s.0 == k)
        .map_or_else(String::new, |s| spark_a(explain, &s.1))
}

/// A sparkline as a link to the history on the drill-down `explain`; nothing where there is
/// no sparkline (fewer than two values: an empty link would be read out as a bare one).
fn spark_a(explain: &str, svg: &str) -> String {
    match svg.is_empty() {
        true => String::new(),
        false => format!(
            "<a class=\"spark\" href=\"{}#history\">{svg}</a>",
            esc(explain)
        ),
    }
}

/// How many periods a history ending with `p` has when it is an extra a page shows unasked
/// (none for a single period): over months, quarters or years, which the server's passes
/// over the standard periods hold. Over date
/// ranges it takes a pass of its own: at 10M deals a company-wide one took a CRO's drill-down
/// over a range from 21 to 280-370 ms and their scorecard from 250 to 600-645; a Director's
/// own took their drill-down from 3 to 11-21 ms, and 220-300 ms for the first after a load
/// (its arrays, sized for every segment, on fresh pages the kernel clears). (Decided by the
/// request alone, so that a page reads the same on a warm server and a cold one.)
fn history_at_hand(e: &Engine, p: &Period) -> Option<usize> {
    let n = trend::default_length(e, p);
    (trend::grain_of(e, p).is_some() && trend::periods(e, *p, n).len() >= 2).then_some(n)
}

/// Each card's sparkline: its KPI over the periods leading up to `p` for `scope`
/// ([`trend::trends_by`], one run for every card's KPI; tables and KPIs not computed yet
/// have none), as `(kpi, svg)`, the svg's name listing every value.
fn sparklines(
    cx: &Cx,
    scope: Scope,
    p: Period,
    kpis: &[&'static str],
    ccy: &str,
) -> Result<Vec<(&'static str, String)>> {
    let e = cx.scoped.engine;
    let kpis: Vec<&'static str> = kpis
        .iter()
        .copied()
        .filter(|k| !kpi::TABLE_KPIS.contains(k) && !kpi::NOT_YET.contains(k))
        .collect();
    if kpis.is_empty() {
        return Ok(Vec::new());
    }
    // (an extra: none where it would take a pass of its own)
    let Some(n) = history_at_hand(e, &p) else {
        return Ok(Vec::new());
    };
    let ts = trend::trends_by(e, &[scope], p, &kpis, n, false, cx.today, &|s, ps, k| {
        cx.scoped.run(s, ps, k, cx.today)
    })
    .map_err(bad_input)?;
    Ok(ts.iter().map(|t| (t.kpi, spark_of(t, ccy))).collect())
}

/// A history as a sparkline whose accessible name lists every value ("Win rate, FY2024-Q4
/// to FY2026-Q3: 31.2%, …").
fn spark_of(t: &trend::Trend, ccy: &str) -> String {
    let values: Vec<Option<f64>> = t.points.iter().map(|p| p.value.as_f64()).collect();
    let part = t.points.last().and_then(|p| p.under_way);
    let (span, last) = match (t.points.first(), t.points.last()) {
        (Some(a), Some(b)) => (
            periods_span(&a.period, &b.period),
            period_text(&b.period.whole()),
        ),
        _ => Default::default(),
    };
    let shown: Vec<String> = t
        .points
        .iter()
        .map(|p| show(t.kpi, &p.value, ccy))
        .collect();
    let text = format!(
        "{}, {span}: {}{}",
        label(t.kpi),
        shown.join(", "),
        part.map_or_else(String::new, |(d, of)| format!(
            " ({last} to day {d} of {of})"
        ))
    );
    charts::spark(&values, part.is_some(), &text)
}

/// A person's role scorecard page: KPI cards with comparisons and target, the direct
/// reports side by side, and the charts.
fn person_scorecard(cx: &mut Cx, person: u32, p: Period, mine: bool) -> Result<Page> {
    let e = cx.scoped.engine;
    let card = sc::person_scorecard_by(
        e,
        cx.scoped.lens(),
        cx.scoped.catalog,
        person,
        p,
        cx.today,
        None,
        &|s, ps, k| cx.scoped.run(s, ps, k, cx.today),
    )?;
    let info = &e.book.people[person as usize];
    let ccy = e.book.settings.currency.as_str().to_owned();
    let scope_name = e.scope_name(card.scope);
    let title = if mine {
        "My scorecard".to_owned()
    } else {
        info.name.clone()
    };
    let mut body = format!(
        "<h1>{}</h1><p class=\"sub\">{} · {} · {} · {}</p>",
        esc(&title),
        esc(&info.name),
        esc(card.role.as_deref().unwrap_or("no role in the catalog")),
        esc(&scope_name),
        as_of_text(&p, card.as_of)
    );
    body.push_str(&picker(e, cx.today, &p, &[]));
    let pstr = p.to_string();
    let sparks = sparklines(
        cx,
        card.scope,
        p,
        &card.lines.iter().map(|l| l.kpi).collect::<Vec<_>>(),
        &ccy,
    )?;
    body.push_str("<section class=\"cards\" aria-label=\"KPIs\">");
    let mut tables = String::new();
    for l in &card.lines {
        let href = explain_href(l.kpi, &scope_name, &p);
        let spark = spark_link(&sparks, l.kpi, &href);
        if let Value::Table(t) = &l.value {
            let _ = write!(
                tables,
                "<section class=\"table\"><h2>{}</h2>{}</section>",
                esc(&label(l.kpi)),
                table_html(l.kpi, t, &ccy)
            );
            continue;
        }
        // (a KPI that waits for data keeps its place and says what it waits for)
        if kpi::NOT_YET.contains(&l.kpi) {
            let _ = write!(
                body,
                "<article class=\"card waiting\"><h2>{}</h2><p class=\"value\" data-kpi=\"{}\" data-raw=\"null\">—</p><p class=\"target\">Not computed: it {}, which salesorg does not hold yet (spec §6).</p></article>",
                esc(&label(l.kpi)),
                l.kpi,
                esc(sc::formula(l.kpi)),
            );
            continue;
        }
        let target = target_line(l.kpi, &l.value, l.target.as_ref(), &ccy);
        let _ = write!(
            body,
            "<article class=\"card\"><h2>{}</h2><p class=\"value\" data-kpi=\"{}\" data-raw=\"{}\">{}</p>{}{target}{}{spark}</article>",
            esc(&label(l.kpi)),
            l.kpi,
            esc(&l.value.to_json()),
            cell(l.kpi, &l.value, &ccy, &href),
            why_line(&l.value),
            compared(
                l.kpi,
                &l.value,
                [
                    &l.previous,
                    &l.last_year,
                    &l.previous_to_date,
                    &l.last_year_to_date
                ],
                &l.like_for_like,
                &(card.previous, card.last_year, card.to_date),
                &ccy,
                &|q| explain_href(l.kpi, &scope_name, q),
            ),
        );
    }
    body.push_str("</section>");
    if !card.reports.is_empty() {
        // (and every rep under them, ranked: a leaderboard past the direct reports)
        // (and the first-line teams, where the reports lead teams themselves)
        let teams = if card.reports.iter().any(|r| matches!(r, Scope::Team(_))) {
            format!(
                " · <a href=\"/teams?scope={}&amp;period={}\">every first-line team, ranked</a>",
                enc(&scope_name),
                enc(&pstr)
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<section class=\"table\"><h2>Direct reports</h2><p class=\"sub\"><a href=\"/reps?scope={}&amp;period={}\">Every rep of {}, ranked</a>{teams}</p>",
            enc(&scope_name),
            enc(&pstr),
            esc(&e.scope_title(card.scope))
        );
        body.push_str("<div class=\"scroll\"><table class=\"data sortable\"><thead><tr><th scope=\"col\">Name</th>");
        let scalar: Vec<&sc::ScorecardLine> = card
            .lines
            .iter()
            .filter(|l| !matches!(l.value, Value::Table(_)) && !kpi::NOT_YET.contains(&l.kpi))
            .collect();
        for l in &scalar {
            let _ = write!(
                body,
                "<th scope=\"col\" class=\"num\">{}</th>",
                esc(&label(l.kpi))
            );
        }
        body.push_str("</tr></thead><tbody>");
        let mut marked = false;
        for (ri, r) in card.reports.iter().enumerate() {
            let rp = match r {
                Scope::Team(x) | Scope::Person(x) => *x,
                _ => continue,
            };
            let rinfo = &e.book.people[rp as usize];
            let rname = e.scope_name(*r);
            let _ = write!(
                body,
                "<tr><th scope=\"row\"><a href=\"/people/{}?period={}\">{}</a></th>",
                enc(rinfo.id.as_str()),
                enc(&pstr),
                esc(&rinfo.name)
            );
            for l in &scalar {
                let href = explain_href(l.kpi, &rname, &p);
                // against the report's own quota or target, where one is set
                let target = &l.report_targets[ri];
                let (class, title) =
                    against_target(l.kpi, &l.reports[ri], target.as_ref(), &p, card.as_of, &ccy);
                marked |= !class.is_empty();
                let _ = write!(
                    body,
                    "<td class=\"num{class}\"{title}>{}</td>",
                    cell(l.kpi, &l.reports[ri], &ccy, &href)
                );
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table></div>");
        if marked {
            body.push_str(
                "<p class=\"sub\">Green: at or past the report's own target (a sum mid-period: on pace for it); red: short of it. The target shows on hover.</p>",
            );
        }
        body.push_str("</section>");
    }
    body.push_str(&tables);
    body.push_str(&charts_for(cx, card.scope, &p, Some(&card))?);
    // the numbers for a spreadsheet: this scorecard as its table, and, on the viewer's own
    // page when they lead anyone, the bulk export over every team and unit they may open
    let _ = write!(
        body,
        "<p class=\"sub export\">Export: <a href=\"/api/scorecard/person/{}?period={}&amp;format=csv\" download>this scorecard (CSV)</a>",
        enc(info.id.as_str()),
        enc(&pstr)
    );
    if mine && matches!(card.scope, Scope::Team(_) | Scope::Company) {
        body.push_str(" · every team and unit you can see, by ");
        let grains = ["month", "quarter", "year"].map(|g| {
            format!("<a href=\"/api/scorecard/bulk?grain={g}&amp;format=csv\" download>{g}</a>")
        });
        let _ = write!(body, "{}, {} or {} (CSV)", grains[0], grains[1], grains[2]);
    }
    body.push_str("</p>");
    Ok(Page { title, body })
}

fn table_html(k: &str, t: &kpi::Table, ccy: &str) -> String {
    let mut s = String::from("<div class=\"scroll\"><table class=\"data\"><thead><tr>");
    for c in t.columns {
        let _ = write!(s, "<th scope=\"col\">{}</th>", esc(&c.replace('_', " ")));
    }
    s.push_str("</tr></thead><tbody>");
    for (l, row) in t.rows() {
        let _ = write!(s, "<tr><th scope=\"row\">{}</th>", esc(l));
        for (j, v) in row.iter().enumerate() {
            let col = t.columns.get(j + 1).copied().unwrap_or("");
            let kk = match col {
                "conversion" => "win_rate",
                "lost_amount" => "bookings",
                _ => k,
            };
            let txt = match v {
                Value::Null(_) => "—".to_owned(),
                _ => show(kk, v, ccy),
            };
            let _ = write!(s, "<td class=\"num\">{}</td>", esc(&txt));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    s
}

/// The six charts of a scope over a period.
fn charts_for(
    cx: &Cx,
    scope: Scope,
    p: &Period,
    card: Option<&sc::PersonScorecard>,
) -> Result<String> {
    let e = cx.scoped.engine;
    let cal = &e.book.settings.fiscal;
    let ccy = e.book.settings.currency.as_str().to_owned();
    let money = |v: f64| format!("{ccy} {}", charts::short(v));
    let pct = |v: f64| format!("{:.0}%", v * 100.0);
    let days = |v: f64| format!("{v:.0} d");
    let mut out = String::from("<section class=\"charts\" aria-label=\"Charts\">");
    let sname = e.scope_title(scope);
    // (the period as people read it: a range by its first and last day)
    let pt = period_text(p);

    // 1. bookings by month against quota, cumulative, over the fiscal year
    let fy = Period::containing(cal, Grain::Year, p.start);
    let months: Vec<Period> = (0..12)
        .map(|i| Period::containing(cal, Grain::Month, add_months(fy.start, i)))
        .collect();
    let rows = cx
        .scoped
        .run(&[scope], &months, &["bookings"], cx.today)
        .map_err(bad_input)?;
    // quotas are set per quarter: each quarter's quota is spread evenly over its months
    let quarters: Vec<Period> = (0..4)
        .map(|i| Period::containing(cal, Grain::Quarter, add_months(fy.start, 3 * i)))
        .collect();
    let qrows = cx
        .scoped
        .run(&[scope], &quarters, &["quota"], cx.today)
        .map_err(bad_input)?;
    let (mut cb, mut cq) = (0.0, 0.0);
    let mut bk = Vec::new();
    let mut qt = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        cb += r
            .values
            .first()
            .and_then(|(_, v)| v.as_f64())
            .unwrap_or(0.0);
        cq += qrows[i / 3]
            .values
            .first()
            .and_then(|(_, v)| v.as_f64())
            .unwrap_or(0.0)
            / 3.0;
        bk.push((months[i].start <= cx.today).then_some(cb));
        qt.push(Some(cq));
    }
    let x: Vec<String> = months
        .iter()
        .map(|m| m.start.month().to_string()[..3].to_owned())
        .collect();
    out.push_str(&charts::lines(
        "bookings-vs-quota",
        &format!("Bookings against quota, cumulative, {fy}"),
        &format!("Cumulative bookings of {sname} by month of {fy}, against cumulative quota (each quarter's quota spread evenly over its three months)."),
        &x,
        &[Series { name: "Bookings", class: "s1", values: bk }, Series { name: "Quota", class: "s2", values: qt }],
        &money,
    ));

    // 2. the funnel by stage
    let r = cx
        .scoped
        .run(&[scope], &[*p], &["stage_conversion"], cx.today)
        .map_err(bad_input)?;
    if let Some((_, Value::Table(t))) = r[0].values.first() {
        let labels: Vec<String> = t.rows().map(|(l, _)| l.to_owned()).collect();
        let entered: Vec<f64> = t
            .rows()
            .map(|(_, row)| row.first().and_then(Value::as_f64).unwrap_or(0.0))
            .collect();
        let notes: Vec<String> = t
            .rows()
            .map(|(_, row)| match row.get(2).and_then(Value::as_f64) {
                Some(c) => format!(
                    "· {:.0}% advance, {:.0}% drop off",
                    c * 100.0,
                    (1.0 - c) * 100.0
                ),
                None => "· —".into(),
            })
            .collect();
        out.push_str(&charts::hbars("funnel", &format!("Funnel by stage, {pt}"), &format!("Opportunities of {sname} entering each stage in {pt}, with the share that advanced and the share that dropped off."), &labels, &entered, &notes, &|v| format!("{v:.0}")));
    }

    // 3. open pipeline by close month and forecast category
    let as_of = Engine::as_of(p, cx.today);
    let (xs, cats) = cx.scoped.open_pipeline(scope, as_of, 6);
    let classes = ["s3", "s4", "s1", "s5", "s2", "s6"];
    let series: Vec<(&str, &str, Vec<f64>)> = cats
        .iter()
        .enumerate()
        .map(|(i, (n, v))| (n.as_str(), classes[i % classes.len()], v.clone()))
        .collect();
    out.push_str(&charts::vbars("pipeline", &format!("Open pipeline by close month and forecast category, as of {}", fmt_date(as_of)), &format!("Open opportunities of {sname} as of {}, by expected close month (overdue first) and forecast category.", fmt_date(as_of)), &xs, &series, &money));

    // 4. distribution of reps' quota attainment (of two reps or more: one rep's own
    // attainment is its card)
    let reps = cx.scoped.reps_in(scope, p);
    if reps.len() >= 2 {
        let scopes: Vec<Scope> = reps.iter().map(|&r| Scope::Person(r)).collect();
        let rows = cx
            .scoped
            .run(&scopes, &[*p], &["quota_attainment"], cx.today)
            .map_err(bad_input)?;
        let bins = ["<50%", "50–75%", "75–100%", "100–125%", "≥125%", "no quota"];
        // mid-period, on pace: each rep's attainment so far against the share of the
        // period gone (as the direct reports' table colours it); at day 51 of 92 a rep
        // on pace has 55 % of the quarter's quota, which the whole quota's bands put
        // among the laggards
        let pace = p
            .under_way(as_of)
            .map(|(day, of)| (day, of, day as f64 / of as f64));
        let mut counts = [0f64; 6];
        for r in &rows {
            let a = r.values.first().and_then(|(_, v)| v.as_f64());
            counts[attainment_band(a, pace.map_or(1.0, |x| x.2))] += 1.0;
        }
        let (title, what) = match pace {
            Some((day, of, share)) => (
                format!("Reps' quota attainment on pace, {pt} to day {day} of {of}"),
                format!(
                    "How many of the {} reps in {sname} are on pace for each band of quota attainment in {pt}: their attainment so far against the {:.0}% of the period gone by day {day} of {of}.",
                    reps.len(),
                    share * 100.0
                ),
            ),
            None => (
                format!("Reps' quota attainment, {pt}"),
                format!(
                    "How many of the {} reps in {sname} reached each band of quota attainment in {pt}.",
                    reps.len()
                ),
            ),
        };
        out.push_str(&charts::vbars(
            "attainment",
            &title,
            &what,
            &bins.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &[("Reps", "s1", counts.to_vec())],
            &|v| format!("{v:.0}"),
        ));
    }

    // 5. leaderboard of direct reports
    if let Some(c) = card
        && !c.reports.is_empty()
    {
        let rows = cx
            .scoped
            .run(&c.reports, &[*p], &["bookings", "win_rate"], cx.today)
            .map_err(bad_input)?;
        let mut lb: Vec<(String, f64, String)> = rows
            .iter()
            .map(|r| {
                let who = match r.scope {
                    Scope::Team(x) | Scope::Person(x) => e.book.people[x as usize].name.clone(),
                    _ => String::new(),
                };
                let b = r
                    .values
                    .iter()
                    .find(|(k, _)| *k == "bookings")
                    .and_then(|(_, v)| v.as_f64())
                    .unwrap_or(0.0);
                let w = r
                    .values
                    .iter()
                    .find(|(k, _)| *k == "win_rate")
                    .and_then(|(_, v)| v.as_f64());
                (
                    who,
                    b,
                    w.map(|w| format!("· win rate {:.0}%", w * 100.0))
                        .unwrap_or_else(|| "· win rate —".into()),
                )
            })
            .collect();
        lb.sort_by(|a, b| b.1.total_cmp(&a.1));
        out.push_str(&charts::hbars(
            "leaderboard",
            &format!("Direct reports by bookings, {pt}"),
            &format!("Bookings of each direct report's scope in {pt}, highest first."),
            &lb.iter().map(|l| l.0.clone()).collect::<Vec<_>>(),
            &lb.iter().map(|l| l.1).collect::<Vec<_>>(),
            &lb.iter().map(|l| l.2.clone()).collect::<Vec<_>>(),
            &money,
        ));
    }

    // 6. win rate and sales cycle, last eight quarters
    let qs: Vec<Period> = (0..8)
        .rev()
        .map(|i| Period::containing(cal, Grain::Quarter, add_months(p.start, -3 * i)))
        .collect();
    let rows = cx
        .scoped
        .run(&[scope], &qs, &["win_rate", "sales_cycle_days"], cx.today)
        .map_err(bad_input)?;
    let series = |k: &str| -> Vec<Option<f64>> {
        rows.iter()
            .map(|r| {
                r.values
                    .iter()
                    .find(|(id, _)| *id == k)
                    .and_then(|(_, v)| v.as_f64())
            })
            .collect()
    };
    let x: Vec<String> = qs.iter().map(|q| q.to_string().replace("FY", "")).collect();
    out.push_str(&charts::lines(
        "win-rate-trend",
        "Win rate, last eight quarters",
        &format!("Win rate of {sname} by fiscal quarter."),
        &x,
        &[Series {
            name: "Win rate",
            class: "s1",
            values: series("win_rate"),
        }],
        &pct,
    ));
    out.push_str(&charts::lines(
        "cycle-trend",
        "Sales cycle, last eight quarters",
        &format!("Average days from creation to close of won deals of {sname}, by fiscal quarter."),
        &x,
        &[Series {
            name: "Sales cycle (days)",
            class: "s2",
            values: series("sales_cycle_days"),
        }],
        &days,
    ));
    out.push_str("</section>");
    Ok(out)
}

// ---- org chart --------------------------------------------------------------------------

async fn org_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    page(
        app,
        headers,
        Method::GET,
        a.0,
        "/org".into(),
        None,
        move |cx| {
            let d = match q.as_of.as_deref() {
                None | Some("") => cx.today,
                Some(s) => parse_date(s).map_err(|e| bad_input(format!("as of: {e}")))?,
            };
            // a search: the people it finds, not the chart
            if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                return people_found(cx, t, d);
            }
            // (kept for the viewer until the data moves on: the CRO's chart of 9,000 people is
            // a megabyte of HTML, about 50 ms to make)
            let key = format!("org|{}|{}", fmt_date(d), q.root.as_deref().unwrap_or(""));
            cached_page(cx, &key, |cx| org_body(cx, &q, d))
        },
    )
    .await
}

/// The search box of the org chart: a person by name or id.
fn people_search(d: Date, typed: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/org\" class=\"picker\" role=\"search\" aria-label=\"Find a person\"><label for=\"q\">Find a person</label> <input id=\"q\" name=\"q\" type=\"search\" maxlength=\"100\" value=\"{}\" placeholder=\"name or id\"><input type=\"hidden\" name=\"as_of\" value=\"{}\"> <button type=\"submit\">Find</button></form>",
        esc(typed),
        fmt_date(d)
    )
}

/// Rows of the people a search finds.
const FOUND: usize = 50;

/// `/org?q=…`: the people the viewer may see whose name or id holds the text, each with
/// their role, manager and units on day `d`, linked to their scorecard and their place in
/// the chart.
fn people_found(cx: &mut Cx, text: &str, d: Date) -> Result<Page> {
    // (an account linked to nobody sees no one: not found, as the org chart is)
    cx.scoped.home().ok_or(WebError::NotFound)?;
    let text: String = text.chars().take(100).collect();
    let e = cx.scoped.engine;
    let (n, found) = cx.scoped.find_people(&text, FOUND);
    let mut body = format!(
        "<h1>Org chart</h1>{}<p><a href=\"/org?as_of={}\">Back to the chart</a></p>",
        people_search(d, &text),
        fmt_date(d)
    );
    let shown = if n > found.len() {
        format!(
            "{} people match; the first {} are shown",
            thousands(n as i128),
            found.len()
        )
    } else if n == 1 {
        "1 person matches".to_owned()
    } else {
        format!("{} people match", thousands(n as i128))
    };
    let _ = write!(body, "<p>{shown} “{}”.</p>", esc(&text));
    if found.is_empty() {
        body.push_str("<p class=\"empty\">Nobody you can see has that in their name or id.</p>");
        return Ok(Page {
            title: format!("Find “{text}”"),
            body,
        });
    }
    body.push_str("<div class=\"scroll\"><table class=\"data found\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Id</th><th scope=\"col\">Role</th><th scope=\"col\">Manager</th><th scope=\"col\">Units</th><th scope=\"col\"></th></tr></thead><tbody>");
    for p in found {
        // (someone who has left: as they were on their last day, under their manager then)
        let info = &e.book.people[p as usize];
        let gone = info.left != i32::MAX && salesorg_core::scorecard::day(d) >= info.left;
        let on = if gone {
            salesorg_core::scorecard::book::date_of(info.left - 1)
        } else {
            d
        };
        let card = cx.scoped.person_card(p, on);
        let id = card["id"].as_str().unwrap_or("");
        let role = card["role_title"]
            .as_str()
            .or(card["role"].as_str())
            .unwrap_or("—");
        let manager = match &card["manager"] {
            serde_json::Value::Null => "—".to_owned(),
            m => format!(
                "<a href=\"/people/{}\">{}</a>",
                enc(m["id"].as_str().unwrap_or("")),
                esc(m["name"].as_str().unwrap_or(""))
            ),
        };
        let units: Vec<&str> = card["units"]
            .as_array()
            .map_or_else(Vec::new, |u| u.iter().filter_map(|x| x.as_str()).collect());
        let left = if gone {
            format!(
                " <span class=\"sub\">(left; last day {})</span>",
                fmt_date(on)
            )
        } else {
            String::new()
        };
        // their place in the chart: under their manager (on their last day, for a leaver)
        let root = card["manager"]["id"]
            .as_str()
            .filter(|_| gone)
            .unwrap_or(id);
        let _ = write!(
            body,
            "<tr><th scope=\"row\"><a href=\"/people/{}\">{}</a>{left}</th><td class=\"nowrap\">{}</td><td>{}</td><td data-label=\"Manager\">{manager}</td><td class=\"units\" data-label=\"Units\">{}</td><td><a href=\"/org?root={}&amp;as_of={}\">in the chart</a></td></tr>",
            enc(id),
            esc(card["name"].as_str().unwrap_or("")),
            esc(id),
            esc(role),
            esc(&units.join(", ")),
            enc(root),
            fmt_date(on)
        );
    }
    body.push_str("</tbody></table></div>");
    Ok(Page {
        title: format!("Find “{text}”"),
        body,
    })
}

/// The body of `/org` on day `d`: the viewer's subtree, or the one below `q.root`.
fn org_body(cx: &mut Cx, q: &ScQ, d: Date) -> Result<Page> {
    let roots = cx.scoped.org_tree(q.root.as_deref(), d, usize::MAX)?;
    let mut body = format!(
        "<h1>Org chart</h1>{}<form method=\"get\" class=\"picker\"><label for=\"as_of\">As of</label> <input id=\"as_of\" name=\"as_of\" type=\"date\" value=\"{}\">{}<button type=\"submit\">Show</button></form><p class=\"sub\">Click anyone to open their scorecard. A flag marks a span of control outside the catalog's range for the role.</p><div class=\"tree\">",
        people_search(d, ""),
        fmt_date(d),
        q.root
            .as_deref()
            .map(|r| format!("<input type=\"hidden\" name=\"root\" value=\"{}\">", esc(r)))
            .unwrap_or_default()
    );
    if q.root.is_some() {
        body.insert_str(
            body.find("<div class=\"tree\">").unwrap_or(0),
            "<p><a href=\"/org\">Back to the top</a></p>",
        );
    }
    body.push_str("<ul>");
    for r in &roots {
        tree_node(&mut body, r, 0);
    }
    body.push_str("</ul></div>");
    Ok(Page {
        title: "Org chart".into(),
        body,
    })
}

fn tree_node(out: &mut String, n: &serde_json::Value, depth: usize) {
    let id = n["id"].as_str().unwrap_or("");
    let name = n["name"].as_str().unwrap_or("");
    let role = n["role_title"].as_str().unwrap_or("no catalog role");
    let span = n["span"].as_u64().unwrap_or(0);
    let flag = n["span_flag"]
        .as_str()
        .map(|f| {
            format!(
                " <span class=\"flag\" title=\"{}\">⚑ span outside range</span>",
                esc(f)
            )
        })
        .unwrap_or_default();
    let spans = if span > 0 {
        format!(" · span {span}")
    } else {
        String::new()
    };
    let label = format!(
        "<a href=\"/people/{}\">{}</a> <span class=\"role\">{}{spans}</span>{flag}",
        enc(id),
        esc(name),
        esc(role)
    );
    let reports = n["reports"].as_array().filter(|r| !r.is_empty());
    match reports {
        Some(rs) => {
            let open = if depth < 2 { " open" } else { "" };
            let _ = write!(out, "<li><details{open}><summary>{label}</summary><ul>");
            for r in rs {
                tree_node(out, r, depth + 1);
            }
            out.push_str("</ul></details></li>");
        }
        None => {
            let _ = write!(out, "<li class=\"leaf\">{label}</li>");
        }
    }
}

// ---- leaderboard -------------------------------------------------------------------------

/// Rows of a leaderboard page.
const REPS_PER_PAGE: usize = 100;

/// The leaderboard a query asks for ([`lb::board`]): every rep (or first-line team) of the
/// scope the viewer sees, ranked by a KPI of the rep role's (a Sales Manager's; `sort`,
/// default quota attainment, highest first), with the places of the rows shown (those the
/// text looked for finds, `q`; else all).
fn board(cx: &Cx, q: &ScQ, of: lb::BoardOf) -> Result<(lb::Board, Vec<usize>)> {
    let e = cx.scoped.engine;
    let period = period_param(e, q.period.as_deref(), cx.today)?;
    let scope = scope_param(cx, q.scope.as_deref(), &period)?;
    let kpis = of.kpis(cx.scoped.catalog);
    let (by, desc) = lb::board_order(&kpis, q.sort.as_deref(), q.dir.as_deref());
    let b = cx
        .scoped
        .board(scope, period, cx.today, of, kpis, by, desc)?;
    let text: String = q.q.as_deref().unwrap_or("").chars().take(100).collect();
    let shown = lb::board_find(e, &b.rows, &text);
    Ok((b, shown))
}

async fn reps_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    board_page(app, headers, a.0, q, lb::BoardOf::Reps).await
}

async fn teams_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    board_page(app, headers, a.0, q, lb::BoardOf::Teams).await
}

/// The history of the KPI a board ranks by for each of the rows at `on_page` (one run for
/// them all), as sparklines; none over date ranges ([`history_at_hand`]) or a table.
fn board_sparks(cx: &Cx, b: &lb::Board, on_page: &[usize], ccy: &str) -> Result<Vec<String>> {
    let e = cx.scoped.engine;
    let Some(n) = history_at_hand(e, &b.period) else {
        return Ok(Vec::new());
    };
    if kpi::TABLE_KPIS.contains(&b.by) || on_page.is_empty() {
        return Ok(Vec::new());
    }
    let scopes: Vec<Scope> = on_page
        .iter()
        .map(|&i| b.of.scope(b.rows[i].person))
        .collect();
    let ts = trend::trends_by(
        e,
        &scopes,
        b.period,
        &[b.by],
        n,
        false,
        cx.today,
        &|s, p, k| cx.scoped.run(s, p, k, cx.today),
    )
    .map_err(bad_input)?;
    Ok(ts.iter().map(|t| spark_of(t, ccy)).collect())
}

/// The words a board's page uses for what it ranks: its path, its rows, the heading of
/// its name column and of its manager column, and who is on it.
fn board_words(
    of: lb::BoardOf,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
) {
    match of {
        lb::BoardOf::Reps => (
            "reps",
            "rep",
            "Rep",
            "Manager",
            "every quota-carrying person with records",
        ),
        lb::BoardOf::Teams => (
            "teams",
            "team",
            "Team of",
            "Reports to",
            "every first-line team (a leader with a rep reporting to them)",
        ),
    }
}

/// `/reps` and `/teams`: a leaderboard as a page.
async fn board_page(
    app: Arc<App>,
    headers: HeaderMap,
    addr: String,
    q: ScQ,
    of: lb::BoardOf,
) -> Response {
    let (path, one, name_col, manager_col, who) = board_words(of);
    let next = format!("/{path}?scope={}", enc(q.scope.as_deref().unwrap_or("")));
    page(app, headers, Method::GET, addr, next, None, move |cx| {
        let (b, shown) = board(cx, &q, of)?;
        let many = format!("{one}s");
        let e = cx.scoped.engine;
        let ccy = e.book.settings.currency.as_str().to_owned();
        let name = e.scope_name(b.scope);
        let whose = e.scope_title(b.scope);
        let pstr = b.period.to_string();
        let typed = q.q.as_deref().map(str::trim).unwrap_or("");
        let found = !typed.is_empty();
        let mut base = format!("scope={}&period={}", enc(&name), enc(&pstr));
        if found {
            let _ = write!(base, "&q={}", enc(typed));
        }
        let dir = if b.desc { "desc" } else { "asc" };
        let title = format!("{} of {whose} · {}", if of == lb::BoardOf::Reps { "Reps" } else { "Teams" }, period_text(&b.period));
        let mut body = format!(
            "<h1>{} of {}</h1><p class=\"sub\">{} · {} · {} · ranked by {}, {} · moves since {}</p>",
            if of == lb::BoardOf::Reps { "Reps" } else { "Teams" },
            esc(&whose),
            period_html(&b.period),
            esc(&name),
            as_of_text(&b.period, b.as_of),
            esc(&label(b.by)),
            if b.desc { "highest first" } else { "lowest first" },
            period_html(&b.before)
        );
        // (another period keeps the sort and the rep looked for)
        let mut keep = vec![("scope", name.clone()), ("sort", b.by.to_owned()), ("dir", dir.to_owned())];
        if found {
            keep.push(("q", typed.to_owned()));
        }
        body.push_str(&picker(e, cx.today, &b.period, &keep));
        let n = shown.len();
        let pages = n.div_ceil(REPS_PER_PAGE).max(1);
        let pg = q.page.unwrap_or(1).clamp(1, pages);
        let count = if found {
            format!("{} of {} {many} found", thousands(n as i128), thousands(b.rows.len() as i128))
        } else if n == 1 {
            format!("1 {one}")
        } else {
            format!("{} {many}", thousands(n as i128))
        };
        let _ = write!(
            body,
            "<p>{count}: {who} in {} in {}, each over {}{} · <a href=\"/{path}.csv?{base}&sort={}&dir={dir}\" download>Export CSV</a></p>",
            esc(&whose),
            period_html(&b.period),
            if of == lb::BoardOf::Reps { "their own book" } else { "the team" },
            if cx.scoped.lens().is_everything() { "" } else { " as far as you see it" },
            b.by
        );
        // a rep by name (at their rank), when there are more than a few of them
        if b.rows.len() > 20 || found {
            let all = if found {
                format!(" <a href=\"/{path}?scope={}&amp;period={}&amp;sort={}&amp;dir={dir}\">show all</a>", enc(&name), enc(&pstr), b.by)
            } else {
                String::new()
            };
            let _ = write!(
                body,
                "<form method=\"get\" action=\"/{path}\" class=\"picker\" role=\"search\" aria-label=\"Find a {one}\"><input type=\"hidden\" name=\"scope\" value=\"{}\"><input type=\"hidden\" name=\"period\" value=\"{}\"><input type=\"hidden\" name=\"sort\" value=\"{}\"><input type=\"hidden\" name=\"dir\" value=\"{dir}\"><label for=\"rq\">Find a {one}</label> <input id=\"rq\" name=\"q\" type=\"search\" maxlength=\"100\" value=\"{}\" placeholder=\"name, id or manager\"> <button type=\"submit\">Find</button>{all}</form>",
                esc(&name),
                esc(&pstr),
                b.by,
                esc(typed)
            );
        }
        if n == 0 && found {
            let _ = write!(body, "<p class=\"empty\">No {one} here has that in their name, id or manager's name.</p>");
            return Ok(Page { title, body });
        }
        if n == 0 {
            let _ = write!(body, "<p class=\"empty\">No {one} has records here in this period.</p>");
            return Ok(Page { title, body });
        }
        let _ = write!(body, "<div class=\"scroll\"><table class=\"data board\"><thead><tr><th scope=\"col\" class=\"num\">#</th><th scope=\"col\" class=\"num\" title=\"The move since the rank on the same board over {before}\">Move</th><th scope=\"col\">{name_col}</th><th scope=\"col\">{manager_col}</th>", before = esc(&period_text(&b.before)));
        for k in &b.kpis {
            let (next, aria) = if *k == b.by {
                (if b.desc { "asc" } else { "desc" }, if b.desc { " aria-sort=\"descending\"" } else { " aria-sort=\"ascending\"" })
            } else {
                (if lower_is_better(k) { "asc" } else { "desc" }, "")
            };
            let arrow = match (*k == b.by, b.desc) {
                (false, _) => "",
                (true, true) => " <span aria-hidden=\"true\">▼</span>",
                (true, false) => " <span aria-hidden=\"true\">▲</span>",
            };
            let _ = write!(body, "<th scope=\"col\" class=\"num\"{aria}><a href=\"/{path}?{base}&sort={k}&dir={next}\">{}</a>{arrow}</th>", esc(&label(k)));
        }
        // each row's history of the KPI it is ranked by (the rows of this page, one run)
        let on_page: Vec<usize> = shown.iter().skip((pg - 1) * REPS_PER_PAGE).take(REPS_PER_PAGE).copied().collect();
        let sparks = board_sparks(cx, &b, &on_page, &ccy)?;
        if !sparks.is_empty() {
            let _ = write!(body, "<th scope=\"col\">{}, last {} {}</th>", esc(&label(b.by)), trend::default_length(e, &b.period), grain_plural(e, &b.period));
        }
        body.push_str("</tr></thead><tbody>");
        let (mut parted, mut marked) = (false, false);
        for (row_on_page, &i) in on_page.iter().enumerate() {
            let r = &b.rows[i];
            let info = &e.book.people[r.person as usize];
            let mark = if r.whole {
                String::new()
            } else {
                parted = true;
                " <span class=\"part\" title=\"In this scope for part of the period\">†</span>".to_owned()
            };
            let manager = r.manager.map_or_else(|| "—".to_owned(), |m| {
                let mi = &e.book.people[m as usize];
                format!("<a href=\"/people/{}?period={}\">{}</a>", enc(mi.id.as_str()), enc(&pstr), esc(&mi.name))
            });
            // the move since the period before: up, down, the same, or new on the board
            let moved = match b.was.get(i).copied().flatten() {
                None => format!("<td class=\"num new\" title=\"Not on the board over {}\">new</td>", esc(&period_text(&b.before))),
                Some(w) => {
                    let title = format!(" title=\"#{} over {}\"", w + 1, esc(&period_text(&b.before)));
                    match w.cmp(&i) {
                        std::cmp::Ordering::Greater => format!("<td class=\"num up\"{title}>▲ {}</td>", w - i),
                        std::cmp::Ordering::Less => format!("<td class=\"num down\"{title}>▼ {}</td>", i - w),
                        std::cmp::Ordering::Equal => format!("<td class=\"num\"{title}>=</td>"),
                    }
                }
            };
            let _ = write!(
                body,
                "<tr><td class=\"num\">{}</td>{moved}<th scope=\"row\"><a href=\"/people/{}?period={}\">{}</a>{mark}</th><td>{manager}</td>",
                i + 1,
                enc(info.id.as_str()),
                enc(&pstr),
                esc(&info.name)
            );
            let own = e.scope_name(of.scope(r.person));
            let get = |k: &str| r.values.iter().find(|x| x.0 == k).map_or(Value::Null(kpi::Why::missing(k)), |x| x.1.clone());
            for k in &b.kpis {
                let v = get(k);
                // against the rep's own quota or target, as a leader's direct reports are
                let target = sc::target_for(e, of.scope(r.person), &b.period, k, || get("quota"));
                let (class, title) = against_target(k, &v, target.as_ref(), &b.period, b.as_of, &ccy);
                marked |= !class.is_empty();
                let _ = write!(body, "<td class=\"num{class}\"{title}>{}</td>", cell(k, &v, &ccy, &explain_href(k, &own, &b.period)));
            }
            if let Some(spark) = sparks.get(row_on_page) {
                let _ = write!(body, "<td>{}</td>", spark_a(&explain_href(b.by, &own, &b.period), spark));
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table></div>");
        if marked {
            let _ = write!(body, "<p class=\"sub\">Green: at or past the {one}'s own quota or target (a sum mid-period: on pace for it); red: short of it. The target shows on hover.</p>");
        }
        if parted {
            let _ = write!(body, "<p class=\"sub\">† In this scope for part of the period (moved in or out): their numbers are {} over the whole period.</p>", if of == lb::BoardOf::Reps { "their own book" } else { "their team's" });
        }
        if pages > 1 {
            body.push_str("<nav class=\"pages\" aria-label=\"Pages\">");
            if pg > 1 {
                let _ = write!(body, "<a rel=\"prev\" href=\"/{path}?{base}&sort={}&dir={dir}&page={}\">Previous</a> ", b.by, pg - 1);
            }
            let _ = write!(body, "<span>Page {pg} of {pages}</span>");
            if pg < pages {
                let _ = write!(body, " <a rel=\"next\" href=\"/{path}?{base}&sort={}&dir={dir}&page={}\">Next</a>", b.by, pg + 1);
            }
            body.push_str("</nav>");
        }
        Ok(Page { title, body })
    })
    .await
}

async fn reps_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    board_csv(app, headers, a.0, q, lb::BoardOf::Reps).await
}

async fn teams_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    board_csv(app, headers, a.0, q, lb::BoardOf::Teams).await
}

/// `/reps.csv` and `/teams.csv`: a leaderboard (the rows a search found) as CSV.
async fn board_csv(
    app: Arc<App>,
    headers: HeaderMap,
    addr: String,
    q: ScQ,
    of: lb::BoardOf,
) -> Response {
    let (path, one, ..) = board_words(of);
    let r = run_as_viewer(app, headers, Method::GET, addr, None, move |cx| {
        let (b, shown) = board(cx, &q, of)?;
        let e = cx.scoped.engine;
        let name = e.scope_name(b.scope);
        let (header, rows) = lb::leaderboard_table(e, &b, &shown);
        let mut s = csv_row(header.iter().map(String::as_str));
        for r in &rows {
            s.push_str(&csv_row(r.iter().map(String::as_str)));
        }
        cx.audit(
            "export",
            &format!("leaderboard {name} {} ({} {one}s)", b.period, b.rows.len()),
        )?;
        Ok((
            format!("{path}-{}-{}.csv", name.replace(':', "-"), b.period),
            s,
        ))
    })
    .await;
    match r {
        Ok((name, body)) => crate::api::csv_attachment(&name, body),
        Err(e) => error_page(e, &format!("/{path}")),
    }
}

// ---- drill-down -------------------------------------------------------------------------

const PER_PAGE: usize = 50;

/// The order of a drill-down's records for one request: the kept sorted order (none for
/// the engine's own date order), read forwards or backwards — never copied per request.
struct Order {
    sorted: Option<Arc<Vec<u32>>>,
    n: usize,
    desc: bool,
}

impl Order {
    fn len(&self) -> usize {
        self.n
    }
    /// The record of `ex` (explained by `e`) shown at position `k`.
    fn at(&self, ex: &sc::Explanation, e: &salesorg_core::scorecard::Engine, k: usize) -> usize {
        let k = if self.desc { self.n - 1 - k } else { k };
        match &self.sorted {
            Some(v) => v[k] as usize,
            None => ex.nth(e, k),
        }
    }
    /// The records from position `from`, at most `n` of them.
    fn iter<'a>(
        &'a self,
        ex: &'a sc::Explanation,
        e: &'a salesorg_core::scorecard::Engine,
        from: usize,
        n: usize,
    ) -> impl Iterator<Item = usize> + 'a {
        (from..self.n.min(from.saturating_add(n))).map(move |k| self.at(ex, e, k))
    }
}

/// The drill-down a query asks for (kept per viewer), and the order of its records for
/// the query's sort: indices, so that a page or an export does not copy the records. The
/// first and last pages in date order come from a drill-down that keeps only its ends;
/// a page between them, another sort or an `export` from the complete one.
fn explained(cx: &Cx, q: &ScQ, export: bool) -> Result<(Arc<sc::Explanation>, Order)> {
    let e = cx.scoped.engine;
    let p = period_param(e, q.period.as_deref(), cx.today)?;
    let scope = scope_param(cx, q.scope.as_deref(), &p)?;
    let k =
        sc::parse_kpis(&[q.kpi.clone().unwrap_or_else(|| "bookings".into())]).map_err(bad_input)?;
    let column = q.sort.as_deref().unwrap_or("date");
    let desc = q.dir.as_deref() == Some("desc");
    let filter = sc::RecordFilter::new(q.kind.as_deref(), q.q.as_deref());
    let ex = cx.scoped.explain(k[0], scope, p, cx.today, |ex| {
        // the positions the page shows, in date order (a filter reads every record)
        let n = ex.len();
        let pg = q.page.unwrap_or(1).clamp(1, n.div_ceil(PER_PAGE).max(1));
        !export
            && filter.is_empty()
            && !matches!(column, "kind" | "id" | "owner" | "amount")
            && ((pg - 1) * PER_PAGE..(pg * PER_PAGE).min(n))
                .all(|k| ex.at_hand(if desc { n - 1 - k } else { k }))
    })?;
    // keys laid out side by side with the index last: a total order, so an unstable sort
    // gives the same pages on every request, without chasing each record while sorting
    fn by<'a, K: Ord>(n: usize, key: impl Fn(usize) -> K + 'a) -> Vec<u32> {
        let mut v: Vec<(K, u32)> = (0..n).map(|i| (key(i), i as u32)).collect();
        v.sort_unstable();
        v.into_iter().map(|x| x.1).collect()
    }
    let n = ex.len();
    let day = |i: usize| ex.records[i].day;
    let sorted =
        |f: &dyn Fn() -> Vec<u32>| cx.scoped.explain_order(k[0], scope, p, cx.today, column, f);
    let sorted = match column {
        // ties in (date, id, kind) order, as the records' own order
        "kind" => Some(sorted(&|| by(n, |i| (ex.kind(e, i), ex.id(e, i), day(i))))),
        "id" => Some(sorted(&|| by(n, |i| (ex.id(e, i), day(i), ex.kind(e, i))))),
        "owner" => Some(sorted(&|| {
            by(n, |i| (ex.owner(e, i), day(i), ex.id(e, i), ex.kind(e, i)))
        })),
        "amount" => Some(sorted(&|| {
            by(n, |i| (ex.amount(e, i), ex.id(e, i), day(i), ex.kind(e, i)))
        })),
        // the engine's own (date, id, kind) order
        _ => None,
    };
    if filter.is_empty() {
        return Ok((ex, Order { sorted, n, desc }));
    }
    // the records that pass the filter, in the sort's order, kept beside the sorted ones
    let key = format!("{column}|{}", filter.key());
    let kept = cx.scoped.explain_order(k[0], scope, p, cx.today, &key, || {
        let all = match &sorted {
            Some(v) => v.as_ref().clone(),
            None => ex.in_date_order(e),
        };
        ex.filtered(e, &all, &filter)
    });
    let n = kept.len();
    Ok((
        ex,
        Order {
            sorted: Some(kept),
            n,
            desc,
        },
    ))
}

/// The form that filters a drill-down's records: a kind (each with how many, where the
/// drill-down counted them) and a text to find; it keeps the sort.
fn records_filter(
    body: &mut String,
    e: &salesorg_core::scorecard::Engine,
    ex: &sc::Explanation,
    filter: &sc::RecordFilter,
    typed: Option<&str>,
    sort: &str,
    dir: &str,
) {
    if ex.is_empty() {
        return;
    }
    let _ = write!(
        body,
        "<form method=\"get\" action=\"/explain\" class=\"picker filter\" role=\"search\" aria-label=\"Filter the records\">"
    );
    for (k, v) in [
        ("kpi", ex.kpi.to_owned()),
        ("scope", ex.scope.clone()),
        ("period", ex.period.to_string()),
    ] {
        let _ = write!(
            body,
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            esc(&v)
        );
    }
    let _ = write!(
        body,
        "<input type=\"hidden\" name=\"sort\" value=\"{}\"><input type=\"hidden\" name=\"dir\" value=\"{}\">",
        esc(sort),
        esc(dir)
    );
    let kinds = ex.kinds(e);
    if kinds.len() > 1 || filter.kind().is_some() {
        body.push_str("<label for=\"fkind\">Kind</label> <select id=\"fkind\" name=\"kind\"><option value=\"\">every kind</option>");
        for (k, n) in &kinds {
            let sel = if filter.kind() == Some(k) {
                " selected"
            } else {
                ""
            };
            let n = n
                .map(|n| format!(" ({})", thousands(n as i128)))
                .unwrap_or_default();
            let _ = write!(
                body,
                "<option value=\"{}\"{sel}>{}{n}</option>",
                esc(k),
                esc(k)
            );
        }
        // (a kind asked for that none of the records is)
        if let Some(k) = filter.kind().filter(|k| !kinds.iter().any(|x| x.0 == *k)) {
            let _ = write!(
                body,
                "<option value=\"{}\" selected>{} (0)</option>",
                esc(k),
                esc(k)
            );
        }
        body.push_str("</select> ");
    }
    let _ = write!(
        body,
        "<label for=\"fq\">Find</label> <input id=\"fq\" name=\"q\" type=\"search\" maxlength=\"{}\" value=\"{}\" placeholder=\"id, owner, detail\"> <button type=\"submit\">Filter</button></form>",
        sc::RecordFilter::MAX_TEXT,
        esc(typed.map(str::trim).unwrap_or(""))
    );
}

async fn explain_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    page(app, headers, Method::GET, a.0, "/explain".into(), None, move |cx| {
        let (ex, recs) = explained(cx, &q, false)?;
        let e = cx.scoped.engine;
        let ccy = e.book.settings.currency.as_str().to_owned();
        let filter = sc::RecordFilter::new(q.kind.as_deref(), q.q.as_deref());
        let unfiltered = format!("kpi={}&scope={}&period={}", ex.kpi, enc(&ex.scope), enc(&ex.period.to_string()));
        // (the sorts, pages and export keep the filter)
        let mut base = unfiltered.clone();
        if let Some(k) = filter.kind() {
            let _ = write!(base, "&kind={}", enc(k));
        }
        if let Some(t) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let _ = write!(base, "&q={}", enc(t));
        }
        let sort = q.sort.clone().unwrap_or_else(|| "date".into());
        let dir = q.dir.clone().unwrap_or_else(|| "asc".into());
        let pages = recs.len().div_ceil(PER_PAGE).max(1);
        let pg = q.page.unwrap_or(1).clamp(1, pages);
        // (the heading and the tab name whose numbers these are, not by the scope's id)
        let whose = e.scope(&ex.scope).map_or_else(|_| ex.scope.clone(), |s| e.scope_title(s));
        let mut body = format!(
            "<h1>{} — {}</h1><p class=\"sub\">{} · {} · {}</p>",
            esc(&label(ex.kpi)),
            esc(&whose),
            period_html(&ex.period),
            esc(&ex.scope),
            as_of_text(&ex.period, ex.as_of),
        );
        // the same KPI of the same scope over another period (the filter kept)
        let mut keep = vec![("kpi", ex.kpi.to_owned()), ("scope", ex.scope.clone())];
        keep.extend(filter.kind().map(|k| ("kind", k.to_owned())));
        keep.extend(
            q.q.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| ("q", t.to_owned())),
        );
        body.push_str(&picker(e, cx.today, &ex.period, &keep));
        let _ = write!(
            body,
            "<p class=\"big\">{}</p>{}<p><code>{}</code></p>",
            esc(&show(ex.kpi, &ex.value, &ccy)),
            why_line(&ex.value),
            esc(ex.formula)
        );
        body.push_str("<dl class=\"inputs\">");
        for (k, v) in &ex.inputs {
            let _ = write!(body, "<div><dt>{}</dt><dd>{}</dd></div>", esc(&label(k)), esc(&input_shown(k, v, &ccy)));
        }
        body.push_str("</dl>");
        let bs = ex.branches().filter(|b| !b.is_empty()).unwrap_or(&[]);
        let same_day = q.same_day == Some(true);
        let (history, beside) = histories(cx, &ex, bs, q.history == Some(true) || same_day, same_day)?;
        history_chart(&mut body, &ex, &whose, &ccy, &history);
        if !bs.is_empty() {
            let sparks = branch_sparks(cx, &ex, beside, &ccy);
            branches_table(&mut body, e, &ex, bs, &ccy, &sparks, same_day);
        }
        records_filter(&mut body, e, &ex, &filter, q.q.as_deref(), &sort, &dir);
        let count = if filter.is_empty() {
            format!("{} records", thousands(recs.len() as i128))
        } else {
            format!("{} of {} records · <a href=\"/explain?{unfiltered}&sort={}&dir={}\">show all</a>", thousands(recs.len() as i128), thousands(ex.len() as i128), enc(&sort), enc(&dir))
        };
        let _ = write!(body, "<p>{count} · <a href=\"/explain.csv?{base}&sort={}&dir={}\" download>Export CSV</a></p>", enc(&sort), enc(&dir));
        body.push_str("<div class=\"scroll\"><table class=\"data records\"><thead><tr>");
        for (col, name) in [("kind", "Kind"), ("id", "Record"), ("owner", "Owner"), ("date", "Date"), ("", "Detail"), ("amount", "Amount")] {
            if col.is_empty() {
                let _ = write!(body, "<th scope=\"col\">{name}</th>");
                continue;
            }
            let (next_dir, aria) = if sort == col {
                if dir == "asc" { ("desc", " aria-sort=\"ascending\"") } else { ("asc", " aria-sort=\"descending\"") }
            } else {
                ("asc", "")
            };
            let _ = write!(body, "<th scope=\"col\"{aria}><a href=\"/explain?{base}&sort={col}&dir={next_dir}\">{name}</a></th>");
        }
        body.push_str("</tr></thead><tbody>");
        for i in recs.iter(&ex, e, (pg - 1) * PER_PAGE, PER_PAGE) {
            let r = ex.record(e, i);
            let owner = ex.owner_name(e, i);
            let amount = r.amount.map(|a| show("bookings", &Value::Money(a.into()), &ccy)).unwrap_or_default();
            // (an id links to the record in the CRM where the settings say where)
            let id = match &r.url {
                Some(u) => format!("<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\" title=\"Open in the CRM\">{}</a>", esc(u), esc(&r.id)),
                None => esc(&r.id),
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td class=\"nowrap\">{}</td><td><a href=\"/people/{}\">{}</a></td><td class=\"nowrap\">{}</td><td class=\"detail\">{}</td><td class=\"num\">{}</td></tr>",
                esc(r.kind),
                id,
                enc(&r.owner),
                esc(owner),
                esc(&r.date),
                esc(&r.detail),
                esc(&amount)
            );
        }
        body.push_str("</tbody></table></div>");
        if pages > 1 {
            body.push_str("<nav class=\"pages\" aria-label=\"Pages\">");
            if pg > 1 {
                let _ = write!(body, "<a rel=\"prev\" href=\"/explain?{base}&sort={}&dir={}&page={}\">Previous</a> ", enc(&sort), enc(&dir), pg - 1);
            }
            let _ = write!(body, "<span>Page {pg} of {pages}</span>");
            if pg < pages {
                let _ = write!(body, " <a rel=\"next\" href=\"/explain?{base}&sort={}&dir={}&page={}\">Next</a>", enc(&sort), enc(&dir), pg + 1);
            }
            body.push_str("</nav>");
        }
        Ok(Page { title: format!("{} — {whose}, {}", label(ex.kpi), period_text(&ex.period)), body })
    })
    .await
}

/// What a drill-down shows of its history.
enum History {
    /// Nothing: a table-valued KPI, or a single period.
    None,
    /// A link that makes it, over these periods ([`history_at_hand`]).
    Offered(Vec<Period>),
    /// The history of the drill-down's scope.
    Made(trend::Trend),
}

/// A drill-down's history and its branches' ([`branch_scope`] of each, in order; none
/// where a branch has no scope), all in one run: made where [`history_at_hand`] or
/// `asked`, offered otherwise; none for a table-valued KPI or a single period.
fn histories(
    cx: &Cx,
    ex: &sc::Explanation,
    bs: &[sc::Branch],
    asked: bool,
    same_day: bool,
) -> Result<(History, Vec<Option<trend::Trend>>)> {
    let e = cx.scoped.engine;
    let nothing = || bs.iter().map(|_| None).collect();
    let scope = e.scope(&ex.scope).map_err(bad_input)?;
    let n = trend::default_length(e, &ex.period);
    let ps = trend::periods(e, ex.period, n);
    if kpi::TABLE_KPIS.contains(&ex.kpi) || ps.len() < 2 {
        return Ok((History::None, nothing()));
    }
    if !asked && history_at_hand(e, &ex.period).is_none() {
        return Ok((History::Offered(ps), nothing()));
    }
    let mut scopes = vec![scope];
    scopes.extend(bs.iter().filter_map(branch_scope));
    let mut ts = trend::trends_by(
        e,
        &scopes,
        ex.period,
        &[ex.kpi],
        n,
        same_day,
        cx.today,
        &|s, p, k| cx.scoped.run(s, p, k, cx.today),
    )
    .map_err(bad_input)?
    .into_iter();
    let own = ts.next().map_or(History::None, History::Made);
    let beside = bs
        .iter()
        .map(|b| branch_scope(b).and_then(|_| ts.next()))
        .collect();
    Ok((own, beside))
}

/// A drill-down's history ([`histories`]): the KPI over the periods leading up to the
/// drill-down's, each point a link to its own drill-down, beside its target; or the link
/// that makes it.
fn history_chart(
    body: &mut String,
    ex: &sc::Explanation,
    whose: &str,
    ccy: &str,
    history: &History,
) {
    let t = match history {
        History::None => return,
        History::Offered(periods) => {
            let _ = write!(
                body,
                "<p class=\"history-off\" id=\"history\"><a href=\"/explain?kpi={}&amp;scope={}&amp;period={}&amp;history=1#history\">Show the history</a>: {} over the {} periods from {} (made on request: it reads every record of those periods).</p>",
                ex.kpi,
                enc(&ex.scope),
                enc(&ex.period.to_string()),
                esc(&label(ex.kpi)),
                periods.len(),
                esc(&periods_span(
                    periods.first().unwrap_or(&ex.period),
                    &ex.period
                )),
            );
            return;
        }
        History::Made(t) => t,
    };
    // (a period to a day labelled by its whole period: "FY2026-Q3 to 2026-08-20" on the axis
    // had crowded out every other label; the day is in its note)
    let labels: Vec<String> = t
        .points
        .iter()
        .map(|p| period_text(&p.period.whole()))
        .collect();
    let hrefs: Vec<String> = t
        .points
        .iter()
        .map(|p| {
            format!(
                "/explain?kpi={}&scope={}&period={}",
                ex.kpi,
                enc(&ex.scope),
                enc(&p.period.to_string())
            )
        })
        .collect();
    let steps: Vec<charts::Step> = t
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| charts::Step {
            label: &labels[i],
            href: &hrefs[i],
            value: p.value.as_f64(),
            target: p.target.as_ref().and_then(Value::as_f64),
            value_text: show(ex.kpi, &p.value, ccy),
            target_text: p
                .target
                .as_ref()
                .map_or_else(|| "—".to_owned(), |v| show(ex.kpi, v, ccy)),
            why: p.value.why().map(kpi::Why::text),
            part: p.under_way.map(|(d, of)| format!("to day {d} of {of}")),
        })
        .collect();
    // (the axis's labels as the values read: money short, a percentage, a count whole)
    let sample = t
        .points
        .iter()
        .map(|p| &p.value)
        .find(|v| v.as_f64().is_some());
    let fmt: Box<dyn Fn(f64) -> String> = match sample {
        Some(Value::Money(_)) => {
            let ccy = ccy.to_owned();
            Box::new(move |v| format!("{ccy} {}", charts::short(v)))
        }
        Some(Value::Count(_)) => Box::new(charts::short),
        Some(v @ Value::Ratio(_)) if show(ex.kpi, v, ccy).ends_with('%') => {
            Box::new(|v| format!("{:.1}%", v * 100.0))
        }
        _ => Box::new(|v| format!("{v:.2}")),
    };
    let span = periods_span(&t.points[0].period, &t.points[t.points.len() - 1].period);
    let last = &labels[labels.len() - 1];
    let under = t.points.last().and_then(|p| p.under_way);
    // (each period to the same day as the last: where each stood at this point of it)
    let same_day = t.points.len() > 1 && t.points[0].period.is_to_date();
    let each = match (same_day, under) {
        (true, Some((d, _))) => format!(", each to day {d}"),
        _ => String::new(),
    };
    body.push_str(&charts::history(
        "history",
        &label(ex.kpi),
        &format!("{} of {whose}, {span}{each}", label(ex.kpi)),
        &format!(
            "{} of {whose} in each of the {} periods from {span}{each}{}{}; each point opens that period's drill-down.",
            label(ex.kpi),
            t.points.len(),
            if steps.iter().any(|s| s.target.is_some()) { ", with its target" } else { "" },
            under.filter(|_| !same_day).map_or_else(String::new, |(d, of)| format!("; {last} is counted to day {d} of {of}")),
        ),
        &steps,
        matches!(sample, Some(Value::Count(_))),
        &*fmt,
    ));
    let here = format!(
        "/explain?kpi={}&amp;scope={}&amp;period={}",
        ex.kpi,
        enc(&ex.scope),
        enc(&ex.period.to_string())
    );
    // (mid-period, the periods before whole or each to the same day: the other view)
    let other = match (same_day, under) {
        (true, _) => format!(" · <a href=\"{here}#history\">Whole periods</a>"),
        (false, Some((d, _))) => format!(
            " · <a href=\"{here}&amp;same_day=1#history\">Each to day {d}, like for like</a> (made on request)"
        ),
        (false, None) => String::new(),
    };
    let _ = write!(
        body,
        "<p class=\"sub export\"><a href=\"/api/trend?kpi={}&amp;scope={}&amp;period={}{}&amp;format=csv\" download>This history as CSV</a>{other}</p>",
        ex.kpi,
        enc(&ex.scope),
        enc(&ex.period.to_string()),
        if same_day { "&amp;same_day=true" } else { "" },
    );
}

/// A drill-down input as the page shows it: money in the organisation's currency, the
/// like-for-like growth as a percentage, counts as they are.
fn input_shown(k: &str, v: &str, ccy: &str) -> String {
    match (k, salesorg_core::money::Money::parse(v)) {
        (
            "bookings"
            | "pipeline_open"
            | "stale_amount"
            | "lost_amount"
            | "spend"
            | "quota"
            | "bookings_last_year"
            | "bookings_to_date"
            | "bookings_last_year_to_date",
            Ok(m),
        ) => show("bookings", &Value::Money(m.units().into()), ccy),
        ("like_for_like", _) => v
            .parse::<f64>()
            .map_or_else(|_| v.to_owned(), |x| format!("{:.1}%", x * 100.0)),
        // (a count with its thousands apart, as the KPIs' own counts show)
        _ => v.parse::<i128>().map_or_else(|_| v.to_owned(), thousands),
    }
}

/// A team's or the company's drill-down by the branch of the tree its records came in
/// through, on each record's day ([`sc::Explanation::branches`]): a row per branch with its
/// value of the KPI (its formula over that branch), its formula's inputs, its records
/// and, for a KPI whose formula reads none of the totals, a column per kind of record
/// with its count and amount; then the drill-down's own figures, which the rows add up to.
/// The scope whose history stands beside a drill-down's branch: the direct report's team,
/// the leader's own book for their own records, the sub-unit; none for the records of
/// nobody's.
fn branch_scope(b: &sc::Branch) -> Option<Scope> {
    match (b.person, b.unit) {
        (Some(p), _) if b.leader => Some(Scope::Person(p)),
        (Some(p), _) => Some(Scope::Team(p)),
        (None, Some(u)) => Some(Scope::Unit(u)),
        (None, None) => None,
    }
}

/// Each branch's sparkline on a drill-down (its history from [`histories`]), as a link to
/// that scope's drill-down's history; empty for a branch without one.
fn branch_sparks(
    cx: &Cx,
    ex: &sc::Explanation,
    beside: Vec<Option<trend::Trend>>,
    ccy: &str,
) -> Vec<String> {
    let e = cx.scoped.engine;
    beside
        .into_iter()
        .map(|t| match t {
            Some(t) => spark_a(
                &explain_href(ex.kpi, &e.scope_name(t.scope), &ex.period),
                &spark_of(&t, ccy),
            ),
            None => String::new(),
        })
        .collect()
}

fn branches_table(
    body: &mut String,
    e: &Engine,
    ex: &sc::Explanation,
    bs: &[sc::Branch],
    ccy: &str,
    sparks: &[String],
    same_day: bool,
) {
    let history = sparks.iter().any(|s| !s.is_empty());
    let money = |a: i128| show("bookings", &Value::Money(a), ccy);
    // (a table-valued KPI's branches are left to their own drill-downs)
    let values = !bs.iter().any(|b| matches!(b.value, Value::Table(_)));
    // (an input that is the KPI itself, as bookings' bookings, is its value's column)
    let inputs: Vec<&str> = bs[0]
        .inputs
        .iter()
        .map(|x| x.0)
        .filter(|&k| !(values && k == ex.kpi))
        .collect();
    let counted = bs.iter().all(|b| b.records.is_some());
    // kinds where no input says as much; one kind without amounts says no more than the
    // records' count
    let single = bs[0].kinds.len() == 1 && bs.iter().all(|b| b.kinds[0].2.is_none());
    let kinds: Vec<&str> = if !inputs.is_empty() || single {
        Vec::new()
    } else {
        bs[0].kinds.iter().map(|k| k.0.as_str()).collect()
    };
    let (title, how, column) = match e.scope(&ex.scope) {
        Ok(Scope::Unit(_)) => (
            "By sub-unit",
            "Each record counts under the sub-unit its owner was a member of on the record's day",
            "Sub-unit",
        ),
        Ok(Scope::Company) => (
            "By direct report",
            "Each record counts under a direct report of the head of the org its owner \
             reported through on the record's day",
            "Direct report",
        ),
        _ => (
            "By direct report",
            "Each record counts under the direct report its owner reported through on the \
             record's day",
            "Direct report",
        ),
    };
    let _ = write!(
        body,
        "<h2>{title}</h2><p class=\"sub\">{how}: the org as it was then. Each row's figure is \
         the KPI's own formula over its records.</p>\
         <div class=\"scroll\"><table class=\"data\"><thead><tr><th scope=\"col\">{column}</th>"
    );
    let mut head = |name: &str| {
        let _ = write!(body, "<th scope=\"col\" class=\"num\">{}</th>", esc(name));
    };
    if values {
        head(&label(ex.kpi));
    }
    for k in &inputs {
        head(&label(k));
    }
    if counted {
        head("Records");
    }
    for k in &kinds {
        head(&kind_heading(k));
    }
    if history {
        let n = trend::default_length(e, &ex.period);
        let each = match ex.period.whole().under_way(ex.as_of) {
            Some((d, _)) if same_day => format!(", each to day {d}"),
            _ => String::new(),
        };
        let _ = write!(
            body,
            "<th scope=\"col\">Last {n} {}{each}</th>",
            grain_plural(e, &ex.period)
        );
    }
    body.push_str("</tr></thead><tbody>");
    let cell = |n: u64, a: Option<i128>| match a {
        Some(a) if n > 0 => format!("{} · {}", thousands(n.into()), esc(&money(a))),
        _ => thousands(n.into()),
    };
    let num = |body: &mut String, text: &str| {
        let _ = write!(body, "<td class=\"num\">{text}</td>");
    };
    // a row's value of the KPI and its inputs, in the columns' order
    let figures = |body: &mut String, value: &Value, given: &[(&'static str, String)]| {
        if values {
            num(body, &esc(&show(ex.kpi, value, ccy)));
        }
        for k in &inputs {
            let v = given
                .iter()
                .find(|x| x.0 == *k)
                .map_or("", |x| x.1.as_str());
            num(body, &esc(&input_shown(k, v, ccy)));
        }
    };
    let mut total = (0u64, vec![(0u64, None::<i128>); kinds.len()]);
    for (bi, b) in bs.iter().enumerate() {
        let who = match (b.person, b.unit) {
            (Some(p), _) => {
                let p = &e.book.people[p as usize];
                let own = if b.leader { " (own records)" } else { "" };
                format!(
                    "<a href=\"/people/{}\">{}</a>{own}",
                    enc(p.id.as_str()),
                    esc(&p.name)
                )
            }
            (None, Some(u)) => esc(&e.book.units[u as usize].name),
            (None, None) if b.leader => "Its direct members".to_owned(),
            (None, None) => "Outside the reporting lines".to_owned(),
        };
        let _ = write!(body, "<tr><th scope=\"row\">{who}</th>");
        figures(body, &b.value, &b.inputs);
        if counted {
            let n = b.records.unwrap_or(0);
            num(body, &thousands(n.into()));
            total.0 += n;
        }
        for (j, &(_, n, a)) in b.kinds.iter().enumerate().take(kinds.len()) {
            num(body, &cell(n, a));
            if let Some(t) = total.1.get_mut(j) {
                t.0 += n;
                t.1 = match (t.1, a) {
                    (x, None) => x,
                    (x, Some(a)) => Some(x.unwrap_or(0) + a),
                };
            }
        }
        if history {
            let _ = write!(
                body,
                "<td>{}</td>",
                sparks.get(bi).map_or("", String::as_str)
            );
        }
        body.push_str("</tr>");
    }
    body.push_str("</tbody><tfoot><tr><th scope=\"row\">All</th>");
    figures(body, &ex.value, &ex.inputs);
    if counted {
        num(body, &thousands(total.0.into()));
    }
    for &(n, a) in &total.1 {
        num(body, &cell(n, a));
    }
    if history {
        body.push_str("<td></td>");
    }
    body.push_str("</tr></tfoot></table></div>");
}

/// What a history's periods are called: "quarters", "months", "years" or "periods" (date
/// ranges).
fn grain_plural(e: &Engine, p: &Period) -> &'static str {
    match trend::grain_of(e, p) {
        Some(Grain::Month) => "months",
        Some(Grain::Quarter) => "quarters",
        Some(Grain::Year) => "years",
        None => "periods",
    }
}

/// A column heading for a kind of record: its plural, first letter upper-case ("call" →
/// "Calls", "won, last year" → "Won, last year").
fn kind_heading(kind: &str) -> String {
    let (k, rest) = kind.split_once(", ").unwrap_or((kind, ""));
    let plural = match k {
        "won" | "lost" | "open" | "created" | "spend" | "start cohort" => k.to_owned(),
        "entered stage" => "entered a stage".to_owned(),
        "left stage" => "left a stage".to_owned(),
        "person" => "people".to_owned(),
        _ => format!("{k}s"),
    };
    let mut c = plural.chars();
    let first: String = c
        .next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect());
    if rest.is_empty() {
        first
    } else {
        format!("{first}, {rest}")
    }
}

/// A CSV cell, quoted when needed and defused against formula injection: a cell that
/// starts with `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`, but for a
/// plain number (`-0.0925`: a fall in revenue growth), which no spreadsheet runs.
pub fn csv_cell(s: &str) -> String {
    let number = s.strip_prefix('-').is_some_and(|d| {
        !d.is_empty()
            && d.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && d.bytes().filter(|&b| b == b'.').count() <= 1
            && d.as_bytes()[0].is_ascii_digit()
    });
    let s = if !number && s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// One CSV line of `cells` ([`csv_cell`] each), ended with CRLF.
pub fn csv_row<'a>(cells: impl IntoIterator<Item = &'a str>) -> String {
    let mut line = cells
        .into_iter()
        .map(csv_cell)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

async fn explain_csv(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    let r = run_as_viewer(app, headers, Method::GET, a.0, None, move |cx| {
        let (ex, recs) = explained(cx, &q, true)?;
        let e = cx.scoped.engine;
        let mut parts = vec![String::from(
            "kind,record,owner_id,owner,date,detail,amount,url\r\n",
        )];
        // (the records formatted on every core, and sent as each core wrote them: a
        // company's quarter of closed deals, ~0.8M rows and 106 MB, took 2.0 s on one,
        // a third of it the kernel handing out fresh pages for the text as it grew)
        let order: Vec<usize> = recs.iter(&ex, e, 0, recs.len()).collect();
        parts.extend(sc::texts_on_every_core(&order, |&i, out| {
            let r = ex.record(e, i);
            let amount = r
                .amount
                .map(|a| kpi::fmt_fixed(a.into(), 4, 2))
                .unwrap_or_default();
            let url = r.url.as_deref().unwrap_or("");
            let cells = [
                r.kind,
                &r.id,
                &r.owner,
                ex.owner_name(e, i),
                &r.date,
                &r.detail,
                &amount,
                url,
            ];
            out.push_str(&csv_row(cells));
        }));
        cx.audit(
            "export",
            &format!(
                "drill-down {} {} {} ({} records)",
                ex.kpi,
                ex.scope,
                ex.period,
                recs.len()
            ),
        )?;
        Ok((
            format!(
                "{}-{}-{}.csv",
                ex.kpi,
                ex.scope.replace(':', "-"),
                ex.period
            ),
            parts,
        ))
    })
    .await;
    match r {
        Ok((name, parts)) => crate::api::csv_attachment_parts(&name, parts),
        Err(e) => error_page(e, "/explain"),
    }
}

// ---- roles ------------------------------------------------------------------------------

async fn roles_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
) -> Response {
    page(app, headers, Method::GET, a.0, "/roles".into(), None, |cx| {
        let cat = cx.scoped.catalog;
        let mut body = String::from("<h1>Roles</h1><p class=\"sub\">The role catalog, built from the seeds. Compare any two roles side by side.</p>");
        body.push_str(&role_picker(cat, "vp_inside_sales", "director_inside_sales"));
        body.push_str("<div class=\"scroll\"><table class=\"data\"><thead><tr><th scope=\"col\">Role</th><th scope=\"col\">Function</th><th scope=\"col\">Level</th><th scope=\"col\">Scope</th><th scope=\"col\">Span</th><th scope=\"col\">KPIs</th></tr></thead><tbody>");
        for r in cat.roles() {
            let span = match r.span_range() {
                Some((_, 0)) => "none".into(),
                Some((a, b)) => format!("{a}–{b}"),
                None => "—".into(),
            };
            let kpis: Vec<String> = r.kpi_ids().iter().map(|k| label(k)).collect();
            let _ = write!(body, "<tr><th scope=\"row\"><a href=\"/roles/compare?a={}\">{}</a></th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", enc(&r.id), esc(&r.title), function_name(r.function), r.level, scope_name(r.scope), span, esc(&kpis.join(", ")));
        }
        body.push_str("</tbody></table></div>");
        Ok(Page { title: "Roles".into(), body })
    })
    .await
}

/// The form that puts two roles of the catalog side by side, `a` and `b` selected.
fn role_picker(cat: &salesorg_core::catalog::Catalog, a: &str, b: &str) -> String {
    let opts = |sel: &str| -> String {
        cat.roles()
            .iter()
            .map(|r| {
                format!(
                    "<option value=\"{}\"{}>{}</option>",
                    esc(&r.id),
                    if r.id == sel { " selected" } else { "" },
                    esc(&r.title)
                )
            })
            .collect()
    };
    format!(
        "<form method=\"get\" action=\"/roles/compare\" class=\"picker\"><label for=\"a\">Compare</label> <select id=\"a\" name=\"a\">{}</select> <label for=\"b\">with</label> <select id=\"b\" name=\"b\">{}</select> <button type=\"submit\">Compare</button></form>",
        opts(a),
        opts(b)
    )
}

/// A role's function as the pages name it.
fn function_name(f: salesorg_core::catalog::Function) -> &'static str {
    use salesorg_core::catalog::Function;
    match f {
        Function::Sales => "Sales",
        Function::InsideSales => "Inside sales",
        Function::SalesOps => "Sales operations",
        Function::Executive => "Executive",
    }
}

/// The slice of the org a role answers for, as the pages name it ("multi-region", not the
/// catalog's `multi_region`).
fn scope_name(s: salesorg_core::catalog::ScopeKind) -> String {
    s.as_str().replace('_', "-")
}

fn src(s: &str) -> String {
    format!(
        " <span class=\"src\" title=\"source: {s}\">[{s}]</span>",
        s = esc(s)
    )
}

fn facts(v: &[salesorg_core::catalog::Fact]) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let mut s = String::from("<ul>");
    for f in v {
        let _ = write!(s, "<li>{}{}</li>", esc(&f.text), src(&f.source));
    }
    s.push_str("</ul>");
    s
}

/// A role of the catalog by its title, linked to its page (an id the catalog does not
/// hold, as it is).
fn role_link(cat: &salesorg_core::catalog::Catalog, id: &str) -> String {
    match cat.find(id) {
        Some(r) => format!(
            "<a href=\"/roles/compare?a={}\">{}</a>",
            enc(&r.id),
            esc(&r.title)
        ),
        None => match id.strip_prefix("external:") {
            Some(x) => format!("{} (outside the sales organisation)", esc(x)),
            None => esc(id),
        },
    }
}

fn role_rows(
    cat: &salesorg_core::catalog::Catalog,
    r: &salesorg_core::catalog::Role,
) -> Vec<(&'static str, String)> {
    let money = |b: &salesorg_core::catalog::Band| {
        format!(
            "{} {}–{}{}{}",
            b.currency,
            thousands(b.min.into()),
            thousands(b.max.into()),
            if b.open_top { "+" } else { "" },
            src(&b.source)
        )
    };
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            format!(
                "<ul>{}</ul>",
                v.into_iter()
                    .map(|x| format!("<li>{x}</li>"))
                    .collect::<String>()
            )
        }
    };
    vec![
        (
            "Scope",
            format!("{} (level {})", scope_name(r.scope), r.level),
        ),
        ("Summary", facts(&r.summary)),
        (
            "Reports to",
            list(
                r.reports_to
                    .iter()
                    .map(|x| {
                        format!(
                            "{}{}{}",
                            role_link(cat, &x.role),
                            x.note
                                .as_deref()
                                .map(|n| format!(" — {}", esc(n)))
                                .unwrap_or_default(),
                            src(&x.source)
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "Span of control",
            list(
                r.span
                    .iter()
                    .map(|x| {
                        format!(
                            "{}{}{}",
                            if x.max == 0 {
                                "none (no direct reports)".to_owned()
                            } else {
                                format!("{}–{}", x.min, x.max)
                            },
                            x.note
                                .as_deref()
                                .map(|n| format!(" — {}", esc(n)))
                                .unwrap_or_default(),
                            src(&x.source)
                        )
                    })
                    .collect(),
            ),
        ),
        ("Responsibilities", facts(&r.responsibilities)),
        (
            "KPIs",
            list(
                r.kpis
                    .iter()
                    .map(|k| format!("{}{}", esc(&label(&k.id)), src(&k.source)))
                    .collect(),
            ),
        ),
        (
            "Skills",
            list(
                r.skills
                    .dimensions()
                    .iter()
                    .filter(|(_, f)| !f.is_empty())
                    .map(|(d, f)| {
                        format!("<strong>{}</strong>{}", esc(&d.replace('_', " ")), facts(f))
                    })
                    .collect(),
            ),
        ),
        (
            "Experience",
            list(
                r.experience
                    .iter()
                    .map(|y| {
                        format!(
                            "{}{} years{}{}",
                            y.min,
                            y.max.map(|m| format!("–{m}")).unwrap_or_else(|| "+".into()),
                            y.note
                                .as_deref()
                                .map(|n| format!(" — {}", esc(n)))
                                .unwrap_or_default(),
                            src(&y.source)
                        )
                    })
                    .collect(),
            ),
        ),
        ("Base salary", list(r.comp.base.iter().map(money).collect())),
        (
            "Bonus (% of base)",
            list(
                r.comp
                    .bonus_pct_of_base
                    .iter()
                    .map(|p| format!("{}–{}%{}", p.min, p.max, src(&p.source)))
                    .collect(),
            ),
        ),
        (
            "Total compensation up to",
            list(r.comp.total_comp_up_to.iter().map(money).collect()),
        ),
        (
            "Next roles",
            list(
                r.next_roles
                    .iter()
                    .map(|n| {
                        // (and the two side by side: what the step asks)
                        let compare = cat
                            .find(&n.role)
                            .map(|next| {
                                format!(
                                    " · <a href=\"/roles/compare?a={}&amp;b={}\">compare</a>",
                                    enc(&r.id),
                                    enc(&next.id)
                                )
                            })
                            .unwrap_or_default();
                        format!(
                            "{}{}{}{compare}",
                            role_link(cat, &n.role),
                            n.years
                                .as_deref()
                                .map(|y| format!(" ({} years)", esc(y)))
                                .unwrap_or_default(),
                            src(&n.source)
                        )
                    })
                    .collect(),
            ),
        ),
        ("Challenges", facts(&r.challenges)),
    ]
}

async fn compare_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQ>,
) -> Response {
    // (no role asked for: the roles page, whose picker asks for two)
    if q.a.as_deref().is_none_or(|x| x.trim().is_empty()) {
        return Redirect::to("/roles").into_response();
    }
    page(app, headers, Method::GET, a.0, "/roles".into(), None, move |cx| {
        let cat = cx.scoped.catalog;
        let ra = cat.find(q.a.as_deref().unwrap_or("")).ok_or(WebError::NotFound)?;
        let rb = match q.b.as_deref() {
            Some(b) if !b.is_empty() => Some(cat.find(b).ok_or(WebError::NotFound)?),
            _ => None,
        };
        let title = match rb {
            Some(rb) => format!("{} vs {}", ra.title, rb.title),
            None => ra.title.clone(),
        };
        // (the two roles can be changed where they are shown; the sources' legend comes
        // after the facts that cite it, a paragraph on a phone's first screen before)
        let mut body = format!("<h1>{}</h1><p class=\"sub\">Every fact cites its seed file (sources below).</p>", esc(&title));
        // (a role shown alone offers its first next role to compare it with)
        let other = rb.or_else(|| ra.next_roles.iter().find_map(|n| cat.find(&n.role)));
        body.push_str(&role_picker(cat, &ra.id, other.map_or("", |r| r.id.as_str())));
        let _ = write!(body, "<div class=\"scroll\"><table class=\"data compare\"><thead><tr><th scope=\"col\"></th><th scope=\"col\">{}</th>", esc(&ra.title));
        if let Some(rb) = rb {
            let _ = write!(body, "<th scope=\"col\">{}</th>", esc(&rb.title));
        }
        body.push_str("</tr></thead><tbody>");
        let rows_b = rb.map(|rb| role_rows(cat, rb));
        for (i, (name, va)) in role_rows(cat, ra).into_iter().enumerate() {
            let _ = write!(body, "<tr><th scope=\"row\">{name}</th><td>{va}</td>");
            if let Some(rb) = &rows_b {
                let _ = write!(body, "<td>{}</td>", rb[i].1);
            }
            body.push_str("</tr>");
        }
        body.push_str("</tbody></table></div>");
        let _ = write!(body, "<p class=\"sub sources\">Sources: {}.</p><p><a href=\"/roles\">All roles</a></p>", cat.sources().iter().map(|(k, v)| format!("[{}] {}", esc(k), esc(v))).collect::<Vec<_>>().join(" · "));
        Ok(Page { title, body })
    })
    .await
}

// ---- account ----------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct MsgQ {
    msg: Option<String>,
    token: Option<String>,
}

fn csrf_of(cx: &Cx) -> String {
    match &cx.who.via {
        Via::Session { csrf, .. } => csrf.clone(),
        Via::Token { .. } => String::new(),
    }
}

async fn account_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<MsgQ>,
) -> Response {
    page(app, headers, Method::GET, a.0, "/account".into(), None, move |cx| {
        let csrf = csrf_of(cx);
        let uid = cx.who.user.id;
        let tokens = cx.unscoped_store().tokens_of(uid)?;
        let mut body = format!("<h1>Account</h1><p class=\"sub\">Signed in as {}</p>", esc(&cx.who.user.username));
        if let Some(m) = &q.msg {
            let _ = write!(body, "<p class=\"notice\" role=\"status\">{}</p>", esc(m));
        }
        if let Some(t) = &q.token {
            let _ = write!(body, "<p class=\"notice\" role=\"status\">Your new token — copy it now, it is not shown again: <code>{}</code></p>", esc(t));
        }
        let _ = write!(body, "<section><h2>Change password</h2><form method=\"post\" action=\"/account/password\" class=\"stack\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\"><label for=\"current\">Current password</label><input id=\"current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required><label for=\"new\">New password (at least 10 characters)</label><input id=\"new\" name=\"new\" type=\"password\" autocomplete=\"new-password\" minlength=\"10\" required><button type=\"submit\">Change password</button></form></section>", c = esc(&csrf));
        let _ = write!(body, "<section><h2>API tokens</h2><form method=\"post\" action=\"/account/tokens\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\"><label for=\"tname\">Name</label> <input id=\"tname\" name=\"name\" required> <button type=\"submit\">Create token</button></form><table class=\"data\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Prefix</th><th scope=\"col\">State</th><th scope=\"col\"></th></tr></thead><tbody>", c = esc(&csrf));
        for t in tokens {
            let live = t.revoked_at.is_none();
            let _ = write!(body, "<tr><td>{}</td><td><code>{}…</code></td><td>{}</td><td>{}</td></tr>", esc(&t.name), esc(&t.prefix), if live { "live" } else { "revoked" }, if live { format!("<form method=\"post\" action=\"/account/tokens/{}/revoke\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Revoke</button></form>", t.id, esc(&csrf)) } else { String::new() });
        }
        body.push_str("</tbody></table></section>");
        Ok(Page { title: "Account".into(), body })
    })
    .await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new: String,
}

async fn account_password(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let policy = app.cfg.policy.clone();
    let r = run_as_viewer(
        app.clone(),
        headers,
        Method::POST,
        a.0,
        Some(f.csrf.clone()),
        move |cx| {
            let (user, t, addr) = (cx.who.user.clone(), cx.now, cx.addr.clone());
            let store = cx.unscoped_store();
            match auth::change_password(store, &policy, &user, &f.current, &f.new, &addr, t) {
                Ok(s) => Ok(Ok(s)),
                Err(WebError::Forbidden(_)) => Ok(Err("The current password is wrong.")),
                Err(WebError::BadRequest(_)) => Ok(Err("A password needs at least 10 characters.")),
                Err(e) => Err(e),
            }
        },
    )
    .await;
    match r {
        Ok(Ok(s)) => {
            let mut res = Redirect::to("/account?msg=Password%20changed").into_response();
            if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&app.cfg.policy, &s.id)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Ok(Err(m)) => Redirect::to(&format!("/account?msg={}", enc(m))).into_response(),
        Err(e) => error_page(e, "/account"),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

async fn account_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Form(f): Form<TokenForm>,
) -> Response {
    let csrf = f.csrf.clone();
    action(app, headers, a.0, csrf, "/account", move |cx| {
        let name = f.name.trim().to_owned();
        if name.is_empty() {
            return Ok("/account?msg=A%20token%20needs%20a%20name".into());
        }
        let (uid, t) = (cx.who.user.id, cx.now);
        let (secret, tok) = auth::create_token(cx.unscoped_store(), uid, &name, t)?;
        cx.audit("token_created", &format!("{} ({})", tok.name, tok.prefix))?;
        Ok(format!("/account?token={}", enc(&secret)))
    })
    .await
}

async fn account_revoke(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    action(app, headers, a.0, f.csrf, "/account", move |cx| {
        let (uid, t) = (cx.who.user.id, cx.now);
        if !cx.unscoped_store().revoke_token(uid, id, t)? {
            return Err(WebError::NotFound);
        }
        cx.audit("token_revoked", &id.to_string())?;
        Ok("/account?msg=Token%20revoked".into())
    })
    .await
}

// ---- admin ------------------------------------------------------------------------------

fn admin_only(cx: &Cx) -> Result<()> {
    if cx.who.user.is_admin {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

#[derive(Deserialize, Default)]
struct AdminQ {
    msg: Option<String>,
    problems: Option<String>,
}

async fn admin_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<AdminQ>,
) -> Response {
    page(app, headers, Method::GET, a.0, "/admin".into(), None, move |cx| {
        admin_only(cx)?;
        let csrf = csrf_of(cx);
        let users = cx.unscoped_store().users()?;
        let log = cx.unscoped_store().audit_log(100, None)?;
        let mut body = String::from("<h1>Admin</h1>");
        if let Some(m) = &q.msg {
            let _ = write!(body, "<p class=\"notice\" role=\"status\">{}</p>", esc(m));
        }
        if let Some(p) = &q.problems {
            let _ = write!(body, "<section class=\"problems\" role=\"alert\"><h2>The import was refused; nothing was written</h2><pre>{}</pre></section>", esc(p));
        }
        let _ = write!(body, "<section><h2>Import</h2><form method=\"post\" action=\"/admin/import\" enctype=\"multipart/form-data\" class=\"stack\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\"><label for=\"source\">Source</label><select id=\"source\" name=\"source\"><option value=\"salesforce\">Salesforce Data Export</option><option value=\"hubspot\">HubSpot export</option></select><label for=\"files\">The export's files (CSV, or the same saved as .xlsx or .xls)</label><input id=\"files\" name=\"files\" type=\"file\" accept=\".csv,.xlsx,.xls\" multiple required><label><input type=\"checkbox\" name=\"dry_run\" value=\"1\"> Check only: say what the import would do, and write nothing</label><button type=\"submit\">Import</button></form></section>", c = esc(&csrf));
        let _ = write!(body, "<section><h2>Users</h2><form method=\"post\" action=\"/admin/users\" class=\"inline\"><input type=\"hidden\" name=\"csrf\" value=\"{c}\"><label for=\"nu\">Username</label> <input id=\"nu\" name=\"username\" required> <label for=\"np\">Person id</label> <input id=\"np\" name=\"person\"> <label for=\"npw\">Password</label> <input id=\"npw\" name=\"password\" type=\"password\" minlength=\"10\" required> <label><input type=\"checkbox\" name=\"admin\" value=\"1\"> admin</label> <button type=\"submit\">Add user</button></form><div class=\"scroll\"><table class=\"data\"><thead><tr><th scope=\"col\">User</th><th scope=\"col\">Person</th><th scope=\"col\">Admin</th><th scope=\"col\">State</th><th scope=\"col\"></th></tr></thead><tbody>", c = esc(&csrf));
        for u in users {
            let (act, label) = if u.disabled { ("enable", "Enable") } else { ("disable", "Disable") };
            let _ = write!(body, "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/admin/users/{}/{act}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">{label}</button></form></td></tr>", esc(&u.username), esc(u.person_id.as_deref().unwrap_or("—")), if u.is_admin { "yes" } else { "" }, if u.disabled { "disabled" } else { "active" }, u.id, esc(&csrf));
        }
        body.push_str("</tbody></table></div></section>");
        body.push_str(&server_section(&cx.scoped.loaded().status()));
        body.push_str("<section><h2>Audit log</h2><div class=\"scroll\"><table class=\"data\"><thead><tr><th scope=\"col\">When (UTC)</th><th scope=\"col\">Who</th><th scope=\"col\">What</th><th scope=\"col\">Detail</th><th scope=\"col\">From</th></tr></thead><tbody>");
        for e in log {
            let when = time::OffsetDateTime::from_unix_timestamp(e.at).map(|t| format!("{} {:02}:{:02}:{:02}", fmt_date(t.date()), t.hour(), t.minute(), t.second())).unwrap_or_default();
            let _ = write!(body, "<tr><td>{when}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(e.actor.as_deref().unwrap_or("")), esc(&e.action), esc(&e.detail), esc(e.addr.as_deref().unwrap_or("")));
        }
        body.push_str("</tbody></table></div></section>");
        Ok(Page { title: "Admin".into(), body })
    })
    .await
}

/// The admin page's "Server" section: the loaded data's records and where the server's
/// memory goes, from [`crate::Loaded::status`] (the same as `GET /api/admin/status`).
fn server_section(st: &serde_json::Value) -> String {
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let mb = |v: &serde_json::Value| format!("{:.1} MB", n(v) as f64 / 1048576.0);
    let mut out = String::from("<section><h2>Server</h2>");
    let m = &st["memory"];
    let _ = write!(
        out,
        "<p>Data version {} · resident memory {}</p>",
        n(&st["data_version"]),
        if m["resident_bytes"].is_null() {
            "not known".to_owned()
        } else {
            mb(&m["resident_bytes"])
        }
    );
    out.push_str("<div class=\"scroll\"><table class=\"data\"><caption>Records loaded</caption><thead><tr><th scope=\"col\">Records</th><th scope=\"col\" class=\"num\">Count</th></tr></thead><tbody>");
    if let Some(r) = st["records"].as_object() {
        for (k, v) in r {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&k.replace('_', " ")),
                thousands(i128::from(n(v)))
            );
        }
    }
    out.push_str("</tbody></table></div><div class=\"scroll\"><table class=\"data\"><caption>Memory by part</caption><thead><tr><th scope=\"col\">Part</th><th scope=\"col\">Holds</th><th scope=\"col\" class=\"num\">Memory</th><th scope=\"col\" class=\"num\">Budget</th></tr></thead><tbody>");
    let mut row = |part: String,
                   holds: String,
                   bytes: &serde_json::Value,
                   budget: Option<&serde_json::Value>| {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&part),
            esc(&holds),
            mb(bytes),
            budget.map_or(String::new(), mb)
        );
    };
    let mut total = 0;
    for b in m["book"].as_array().into_iter().flatten() {
        total += n(&b["bytes"]);
        row(
            format!("The book: {}", b["part"].as_str().unwrap_or("")),
            String::new(),
            &b["bytes"],
            None,
        );
    }
    total += n(&m["indexes_bytes"]) + n(&m["spare_pass_bytes"]);
    row(
        "The book's indexes".into(),
        "the owners' records by day, customers by owner…".into(),
        &m["indexes_bytes"],
        None,
    );
    row(
        "A pass's arrays kept for the next".into(),
        String::new(),
        &m["spare_pass_bytes"],
        None,
    );
    for p in m["standard_passes"].as_array().into_iter().flatten() {
        total += n(&p["bytes"]);
        row(
            format!(
                "Standard pass {} to {}",
                p["from"].as_str().unwrap_or(""),
                p["to"].as_str().unwrap_or("")
            ),
            format!(
                "{} periods; {} rows kept",
                n(&p["periods"]),
                thousands(i128::from(n(&p["rows_kept"])))
            ),
            &p["bytes"],
            None,
        );
    }
    let p = &m["passes"];
    total += n(&p["bytes"]);
    row(
        "Passes over other periods".into(),
        format!("{} ({} kept compact)", n(&p["count"]), n(&p["compact"])),
        &p["bytes"],
        Some(&p["budget_bytes"]),
    );
    for (key, name) in [
        ("drilldowns", "Drill-downs kept"),
        ("drilldown_orders", "Drill-downs' sorted orders"),
        ("answers", "Answers and pages kept"),
    ] {
        let c = &m[key];
        total += n(&c["bytes"]);
        row(
            name.into(),
            thousands(i128::from(n(&c["count"]))),
            &c["bytes"],
            Some(&c["budget_bytes"]),
        );
    }
    // (what the parts above do not count: the people and the org, the allocator's free
    // memory, the program itself)
    if let Some(rss) = m["resident_bytes"].as_u64() {
        row(
            "Other".into(),
            "the people and the org, memory the allocator keeps, the program".into(),
            &serde_json::Value::from(rss.saturating_sub(total)),
            None,
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

#[derive(Deserialize)]
struct AddUserForm {
    #[serde(default)]
    csrf: String,
    username: String,
    #[serde(default)]
    person: String,
    password: String,
    admin: Option<String>,
}

async fn admin_add_user(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Form(f): Form<AddUserForm>,
) -> Response {
    let csrf = f.csrf.clone();
    action(app, headers, a.0, csrf, "/admin", move |cx| {
        admin_only(cx)?;
        let person = Some(f.person.trim()).filter(|p| !p.is_empty());
        if let Some(p) = person
            && cx.scoped.engine.book.person(p).is_none()
        {
            return Ok(format!(
                "/admin?msg={}",
                enc(&format!("There is no person {p:?} in the org."))
            ));
        }
        if auth::check_new_password(&f.password).is_err() {
            return Ok("/admin?msg=A%20password%20needs%20at%20least%2010%20characters.".into());
        }
        let h = auth::hash_password(&f.password)?;
        let t = cx.now;
        match cx
            .unscoped_store()
            .create_user(f.username.trim(), person, &h, f.admin.is_some(), t)
        {
            Ok(u) => {
                cx.audit(
                    "user_added",
                    &format!(
                        "{} (person {:?}, admin {})",
                        u.username, u.person_id, u.is_admin
                    ),
                )?;
                Ok(format!(
                    "/admin?msg={}",
                    enc(&format!("Added {}.", u.username))
                ))
            }
            Err(salesorg_store::StoreError::Conflict(m)) => Ok(format!("/admin?msg={}", enc(&m))),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

async fn admin_user_action(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Path((id, act)): Path<(i64, String)>,
    Form(f): Form<CsrfForm>,
) -> Response {
    action(app, headers, a.0, f.csrf, "/admin", move |cx| {
        admin_only(cx)?;
        let disable = match act.as_str() {
            "disable" => true,
            "enable" => false,
            _ => return Err(WebError::NotFound),
        };
        let u = cx
            .unscoped_store()
            .user_by_id(id)?
            .ok_or(WebError::NotFound)?;
        cx.unscoped_store().set_disabled(id, disable)?;
        cx.audit(
            if disable {
                "user_disabled"
            } else {
                "user_enabled"
            },
            &u.username,
        )?;
        Ok(format!(
            "/admin?msg={}",
            enc(&format!(
                "{} {}.",
                u.username,
                if disable { "disabled" } else { "enabled" }
            ))
        ))
    })
    .await
}

/// The largest upload the admin page takes.
pub const MAX_UPLOAD: usize = 2 << 30;

/// An uploaded export: only an admin's session gets its body read; each CSV file (or
/// workbook) is streamed to a temporary folder, then imported as one atomic import (after the form's
/// CSRF token is checked), or only checked (a dry run, "Check only"); a refusal lists
/// every problem by file, line and column.
async fn admin_import(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    mut mp: Multipart,
) -> Response {
    // 1. who is asking, before a byte of the body is read
    let check = run_as_viewer(
        app.clone(),
        headers.clone(),
        Method::GET,
        a.0.clone(),
        None,
        |cx| admin_only(cx),
    )
    .await;
    if let Err(e) = check {
        return error_page(e, "/admin");
    }
    // 2. stream the files to disk
    let dir = match auth::random_hex(8) {
        Ok(r) => std::env::temp_dir().join(format!("salesorg-upload-{r}")),
        Err(e) => return error_page(e, "/admin"),
    };
    let received = receive(&mut mp, &dir).await;
    let (csrf, source, n, dry_run) = match received {
        Ok(x) => x,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return error_page(e, "/admin");
        }
    };
    // 3. import, with the form's CSRF token
    let app2 = app.clone();
    let dir2 = dir.clone();
    let r = run_as_viewer(app, headers, Method::POST, a.0, Some(csrf), move |cx| {
        admin_only(cx)?;
        let src = salesorg_engine::import::Source::parse(&source).map_err(WebError::BadRequest)?;
        let opts = salesorg_engine::import::ImportOptions {
            today: Some(cx.today),
            dry_run,
            ..Default::default()
        };
        let res = salesorg_engine::import::import(
            cx.unscoped_store(),
            src,
            &dir2,
            &opts,
            &salesorg_engine::Quiet,
        );
        match res {
            // (a dry run writes nothing, not even to the audit log, as on the command line)
            Ok(sum) if dry_run => Ok(format!("/admin?msg={}", enc(&format!("Checked: {sum}")))),
            Ok(sum) => {
                cx.audit("import", &format!("{source} upload ({n} files): {sum}"))?;
                Ok(format!("/admin?msg={}", enc(&format!("Imported: {sum}"))))
            }
            Err(salesorg_engine::EngineError::Rejected(ps)) => {
                let text = ps.to_string().replace(&format!("{}/", dir2.display()), "");
                cx.audit(
                    "import_refused",
                    &format!("{source} upload: {} problems", ps.0.len()),
                )?;
                Ok(format!("/admin?problems={}", enc(&text)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    match r {
        Ok(to) => {
            if !dry_run {
                let _ = tokio::task::spawn_blocking(move || app2.load()).await;
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => error_page(e, "/admin"),
    }
}

/// Reads the upload form: the CSRF token, the source, whether to check only, and every
/// `.csv`, `.xlsx` or `.xls` file (streamed into `dir` under its base name). Returns (csrf, source, files
/// written, check only).
async fn receive(
    mp: &mut Multipart,
    dir: &std::path::Path,
) -> Result<(String, String, usize, bool)> {
    use tokio::io::AsyncWriteExt;
    let bad =
        |e: axum::extract::multipart::MultipartError| WebError::BadRequest(format!("upload: {e}"));
    let io = |e: std::io::Error| WebError::Internal(format!("saving an upload: {e}"));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let (mut csrf, mut source, mut n, mut dry_run) = (String::new(), String::new(), 0, false);
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "source" => source = field.text().await.map_err(bad)?,
            "dry_run" => dry_run = !field.text().await.map_err(bad)?.is_empty(),
            "files" => {
                let base = field
                    .file_name()
                    .and_then(|f| std::path::Path::new(f).file_name())
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // (CSV, or the same saved as a workbook, which the importers read as its
                // CSV: a workbook is checked before the spreadsheet reader opens it)
                let lower = base.to_ascii_lowercase();
                if base.is_empty() || ![".csv", ".xlsx", ".xls"].iter().any(|x| lower.ends_with(x))
                {
                    continue;
                }
                let mut out = tokio::fs::File::create(dir.join(&base)).await.map_err(io)?;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    out.write_all(&chunk).await.map_err(io)?;
                }
                out.flush().await.map_err(io)?;
                n += 1;
            }
            _ => {}
        }
    }
    Ok((csrf, source, n, dry_run))
}

/// The band of the reps' attainment chart (`<50%`, `50–75%`, `75–100%`, `100–125%`,
/// `≥125%`, then no quota) of an attainment `a` (`None`: no quota) against the share of
/// its quota due so far (`share`, 1 for a whole period): on pace for that band.
fn attainment_band(a: Option<f64>, share: f64) -> usize {
    match a.map(|a| a / share) {
        None => 5,
        Some(x) if x < 0.5 => 0,
        Some(x) if x < 0.75 => 1,
        Some(x) if x < 1.0 => 2,
        Some(x) if x < 1.25 => 3,
        Some(_) => 4,
    }
}

#[cfg(test)]
mod attainment_band_tests {
    use super::attainment_band;

    /// A whole period's attainment falls in its own band. Mid-period, at day 51 of 92
    /// (55.4 % of the quarter gone), a rep with 56 % of the quarter's quota is on pace for
    /// 100–125 %, one with 55 % for 75–100 %, one with 27 % for under half; no quota is a
    /// band of its own.
    #[test]
    fn attainment_is_banded_on_pace_mid_period() {
        let share = 51.0 / 92.0;
        for (a, s, band) in [
            (Some(0.49), 1.0, 0),
            (Some(0.5), 1.0, 1),
            (Some(0.99), 1.0, 2),
            (Some(1.0), 1.0, 3),
            (Some(1.25), 1.0, 4),
            (Some(0.0), 1.0, 0),
            (Some(0.56), share, 3),
            (Some(0.55), share, 2),
            (Some(0.28), share, 1),
            (Some(0.27), share, 0),
            (Some(0.70), share, 4),
            (None, share, 5),
        ] {
            assert_eq!(attainment_band(a, s), band, "{a:?} at {s}");
        }
    }
}

#[cfg(test)]
mod as_of_tests {
    use super::as_of_text;
    use salesorg_core::date::parse_date;
    use salesorg_core::period::{FiscalCalendar, Period};

    #[test]
    fn a_period_under_way_says_how_far_in() {
        let q = Period::parse("FY2026-Q4", &FiscalCalendar::default()).unwrap();
        let d = |s: &str| parse_date(s).unwrap();
        assert_eq!(
            as_of_text(&q, d("2026-11-20")),
            "as of 2026-11-20, day 51 of 92"
        );
        assert_eq!(
            as_of_text(&q, d("2026-10-01")),
            "as of 2026-10-01, day 1 of 92"
        );
        assert_eq!(as_of_text(&q, d("2026-12-31")), "as of 2026-12-31");
    }
}

#[cfg(test)]
mod period_text_tests {
    use super::{period_text, periods_span};
    use salesorg_core::period::{FiscalCalendar, Period};

    /// A range reads by its first and last day (its parameter ends the day after), to a
    /// day with that day; other periods by their names; a history of ranges by its span
    /// and the ranges' length.
    #[test]
    fn periods_read_as_people_read_them() {
        let cal = FiscalCalendar::default();
        let p = |s: &str| Period::parse(s, &cal).unwrap();
        for (raw, shown) in [
            ("2026-01-15..2026-02-15", "2026-01-15 – 2026-02-14"),
            ("2026-02-28..2026-03-01", "2026-02-28 – 2026-02-28"),
            (
                "2026-11-01..2026-12-01 to 2026-11-20",
                "2026-11-01 – 2026-11-30, to 2026-11-20",
            ),
            ("FY2026-Q3", "FY2026-Q3"),
            ("FY2026-Q3 to 2026-08-20", "FY2026-Q3 to 2026-08-20"),
            ("2026-03", "2026-03"),
            ("FY2026", "FY2026"),
        ] {
            assert_eq!(period_text(&p(raw)), shown, "{raw}");
        }
        assert_eq!(
            periods_span(&p("2025-06-12..2025-07-13"), &p("2026-01-15..2026-02-15")),
            "2025-06-12 to 2026-02-14, 31 days each"
        );
        assert_eq!(
            periods_span(&p("2026-02-28..2026-03-01"), &p("2026-03-01..2026-03-02")),
            "2026-02-28 to 2026-03-01, 1 day each"
        );
        assert_eq!(
            periods_span(&p("FY2024-Q4"), &p("FY2026-Q3 to 2026-08-20")),
            "FY2024-Q4 to FY2026-Q3"
        );
    }
}

#[cfg(test)]
mod unbroken_dates_tests {
    use super::unbroken_dates;

    /// Every whole `YYYY-MM-DD` is kept on one line, wherever it stands and whatever is
    /// beside it; what only looks like part of one is left as it is.
    #[test]
    fn dates_are_kept_whole() {
        let nw = |d: &str| format!("<span class=\"nw\">{d}</span>");
        for (text, want) in [
            ("".to_owned(), "".to_owned()),
            ("FY2026-Q3".to_owned(), "FY2026-Q3".to_owned()),
            (
                "2025-12-15 – 2026-01-14".to_owned(),
                format!("{} – {}", nw("2025-12-15"), nw("2026-01-14")),
            ),
            ("ë2026-08-20ë".to_owned(), format!("ë{}ë", nw("2026-08-20"))),
            ("2026-08-2".to_owned(), "2026-08-2".to_owned()),
            (
                "2026/08/20 20260820".to_owned(),
                "2026/08/20 20260820".to_owned(),
            ),
            // (the first ten characters that read as a date)
            ("12026-08-201".to_owned(), format!("1{}1", nw("2026-08-20"))),
        ] {
            assert_eq!(unbroken_dates(&text), want, "{text}");
        }
    }
}

#[cfg(test)]
mod kind_heading_tests {
    use super::kind_heading;

    /// The drill-down's columns by kind read as plurals: "Calls", not "Call".
    #[test]
    fn kinds_of_record_head_their_columns_in_the_plural() {
        for (kind, heading) in [
            ("won", "Won"),
            ("won, last year", "Won, last year"),
            ("call", "Calls"),
            ("meeting", "Meetings"),
            ("entered stage", "Entered a stage"),
            ("person", "People"),
            ("start cohort", "Start cohort"),
            ("quota", "Quotas"),
        ] {
            assert_eq!(kind_heading(kind), heading);
        }
    }
}

#[cfg(test)]
mod delta_tests {
    use super::{delta, input_shown};
    use salesorg_core::kpi::Value;

    /// A change is coloured and signed as it is shown, to one decimal: logo retention
    /// 98.51 % against 98.53 % had read a red "▼ -0.0 pts".
    #[test]
    fn a_change_too_small_to_show_is_flat() {
        let r = |x: f64| Value::Ratio((x * 1e6).round() as i128);
        let flat = delta("logo_retention_rate", &r(0.9851), &r(0.9853), "vs Q3");
        assert!(flat.contains("delta flat"), "{flat}");
        assert!(flat.contains("=</span> 0.0 pts"), "{flat}");
        let fall = delta("logo_retention_rate", &r(0.9840), &r(0.9853), "vs Q3");
        assert!(
            fall.contains("delta bad") && fall.contains("▼</span> -0.1 pts"),
            "{fall}"
        );
        // relative changes too: 100,000 against 100,040 is -0.04 %
        let m = |x: i128| Value::Money(x * 10_000);
        let small = delta("bookings", &m(100_000), &m(100_040), "vs Q3");
        assert!(
            small.contains("delta flat") && small.contains("0.0%"),
            "{small}"
        );
        assert!(!small.contains("-0.0"), "{small}");
        let rise = delta("bookings", &m(101_000), &m(100_000), "vs Q3");
        assert!(
            rise.contains("delta good") && rise.contains("+1.0%"),
            "{rise}"
        );
    }

    /// A drill-down's counts have their thousands apart, as the KPIs' own do; other
    /// inputs are shown as given.
    #[test]
    fn a_drill_downs_counts_have_their_thousands_apart() {
        assert_eq!(input_shown("lost_deals", "1685", "USD"), "1,685");
        assert_eq!(input_shown("won_deals", "838", "USD"), "838");
        assert_eq!(input_shown("rep_days", "12.5", "USD"), "12.5");
        assert_eq!(input_shown("bookings", "1234567.8", "USD"), "USD 1,234,568");
    }
}
