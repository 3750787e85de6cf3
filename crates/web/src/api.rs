//! The JSON API: sign-in and sessions, the viewer's own account and tokens, and every
//! read the CLI can show (org, people, roles, KPIs, scorecards, bulk scorecards,
//! drill-down, opportunities, leads, activities), each through the viewer's scope.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value as J, json};

use salesorg_core::date::{Date, fmt_date, parse_date};
use salesorg_core::kpi;
use salesorg_core::period::{Grain, Period};
use salesorg_core::scorecard::{Engine, Scope, bulk_periods};
use salesorg_engine::leaderboard as lb;
use salesorg_engine::scorecard as sc;
use salesorg_engine::trend;

use crate::access::{Access, Cx, Scoped, records::Kind};
use crate::auth::{self, Principal, Via};
use crate::error::{Result, WebError, bad_input};
use crate::query::{self, Params};
use crate::{App, ClientAddr, now};

/// Every API route: (method, path) as the router and the OpenAPI document name them.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/session"),
    ("GET", "/api/session"),
    ("DELETE", "/api/session"),
    ("GET", "/api/me"),
    ("POST", "/api/me/password"),
    ("GET", "/api/me/tokens"),
    ("POST", "/api/me/tokens"),
    ("DELETE", "/api/me/tokens/{id}"),
    ("GET", "/api/org"),
    ("GET", "/api/people"),
    ("GET", "/api/people/{id}"),
    ("GET", "/api/roles"),
    ("GET", "/api/roles/{id}"),
    ("GET", "/api/kpis"),
    ("GET", "/api/scorecard"),
    ("GET", "/api/scorecard/person/{id}"),
    ("GET", "/api/scorecard/bulk"),
    ("GET", "/api/explain"),
    ("GET", "/api/trend"),
    ("GET", "/api/reps"),
    ("GET", "/api/teams"),
    ("GET", "/api/opportunities"),
    ("GET", "/api/leads"),
    ("GET", "/api/activities"),
    ("GET", "/api/admin/users"),
    ("GET", "/api/admin/audit"),
    ("GET", "/api/admin/status"),
];

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route(
            "/api/session",
            post(sign_in).get(session_info).delete(sign_out),
        )
        .route("/api/me", get(me))
        .route("/api/me/password", post(change_password))
        .route("/api/me/tokens", get(list_tokens).post(new_token))
        .route("/api/me/tokens/{id}", delete(revoke_token))
        .route("/api/org", get(org))
        .route("/api/people", get(people))
        .route("/api/people/{id}", get(person))
        .route("/api/roles", get(roles))
        .route("/api/roles/{id}", get(role))
        .route("/api/kpis", get(kpis))
        .route("/api/scorecard", get(scorecard))
        .route("/api/scorecard/person/{id}", get(person_scorecard))
        .route("/api/scorecard/bulk", get(bulk))
        .route("/api/explain", get(explain))
        .route("/api/trend", get(trend_of))
        .route("/api/reps", get(reps))
        .route("/api/teams", get(teams))
        .route("/api/opportunities", get(opportunities))
        .route("/api/leads", get(leads))
        .route("/api/activities", get(activities))
        .route("/api/admin/users", get(admin_users))
        .route("/api/admin/audit", get(admin_audit))
        .route("/api/admin/status", get(admin_status))
}

/// Runs `f` on a blocking thread for an authenticated request, with the viewer's scoped
/// view of the org. This is the only way a handler reaches data.
async fn as_viewer<T: Send + 'static>(
    app: Arc<App>,
    headers: HeaderMap,
    method: Method,
    addr: String,
    f: impl FnOnce(&mut Cx) -> Result<T> + Send + 'static,
) -> Result<T> {
    run_as_viewer(app, headers, method, addr, None, f).await
}

/// [`as_viewer`] for pages too: `form_csrf` is the CSRF token a form sent in its body.
pub(crate) async fn run_as_viewer<T: Send + 'static>(
    app: Arc<App>,
    headers: HeaderMap,
    method: Method,
    addr: String,
    form_csrf: Option<String>,
    f: impl FnOnce(&mut Cx) -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let mut store = app.store()?;
        let out = (|| {
            let t = now();
            let who = auth::authenticate(
                &mut store,
                &app.cfg.policy,
                &headers,
                &method,
                form_csrf.as_deref(),
                t,
            )?;
            let loaded = app.engine()?;
            let engine = loaded.engine();
            let access = Access::of(engine, &app.cfg.catalog, &app.cfg.company_roles, &who);
            let scoped = Scoped::new(&loaded, &app.cfg.catalog, &access);
            let today = app.today(engine);
            let mut cx = Cx::new(scoped, &who, &mut store, t, today, addr);
            let out = f(&mut cx);
            drop(cx);
            // (a pass this request made is kept compact once it is answered)
            loaded.compact_later();
            out
        })();
        app.give_back(store);
        out
    })
    .await
    .map_err(|e| WebError::Internal(format!("a request thread failed: {e}")))?
}

/// Runs `f` on a blocking thread with a store, for the routes that come before sign-in.
async fn with_store<T: Send + 'static>(
    app: Arc<App>,
    f: impl FnOnce(&App, &mut salesorg_store::Store) -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let mut store = app.store()?;
        let out = f(&app, &mut store);
        app.give_back(store);
        out
    })
    .await
    .map_err(|e| WebError::Internal(format!("a request thread failed: {e}")))?
}

/// Runs `f` on a blocking thread for a signed-in user, with a store: for the user's own
/// account and the admin routes, which need no org data (and so no loaded engine).
async fn with_user<T: Send + 'static>(
    app: Arc<App>,
    headers: HeaderMap,
    method: Method,
    f: impl FnOnce(&App, &mut salesorg_store::Store, Principal, i64) -> Result<T> + Send + 'static,
) -> Result<T> {
    with_store(app, move |app, store| {
        let t = now();
        let who = auth::authenticate(store, &app.cfg.policy, &headers, &method, None, t)?;
        f(app, store, who, t)
    })
    .await
}

fn json_text(s: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s).into_response()
}

fn user_json(u: &salesorg_store::User) -> J {
    json!({"id": u.id, "username": u.username, "person": u.person_id, "admin": u.is_admin, "disabled": u.disabled})
}

async fn openapi() -> Response {
    json_text(crate::openapi::document())
}

#[derive(Deserialize)]
struct SignIn {
    username: String,
    password: String,
}

async fn sign_in(
    State(app): State<Arc<App>>,
    Extension(addr): Extension<ClientAddr>,
    Json(b): Json<SignIn>,
) -> Result<Response> {
    let s = with_store(app.clone(), move |app, store| {
        auth::sign_in(
            store,
            &app.cfg.policy,
            &b.username,
            &b.password,
            &addr.0,
            now(),
        )
    })
    .await?;
    let cookie = auth::session_cookie(&app.cfg.policy, &s.id);
    let mut r = Json(json!({"user": user_json(&s.user), "csrf": s.csrf})).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| WebError::Internal(e.to_string()))?,
    );
    Ok(r)
}

async fn session_info(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<J>> {
    let v = with_user(app, headers, Method::GET, move |_app, _store, who, _| {
        let csrf = match &who.via {
            Via::Session { csrf, .. } => Some(csrf.clone()),
            Via::Token { .. } => None,
        };
        Ok(json!({"user": user_json(&who.user), "csrf": csrf}))
    })
    .await?;
    Ok(Json(v))
}

async fn sign_out(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(addr): Extension<ClientAddr>,
) -> Result<Response> {
    with_user(
        app.clone(),
        headers,
        Method::DELETE,
        move |_app, store, who, t| {
            if let Via::Session { id_hash, .. } = &who.via {
                store.delete_session(id_hash)?;
            }
            store.audit(t, Some(&who.actor()), "sign_out", "", Some(&addr.0))?;
            Ok(())
        },
    )
    .await?;
    let mut r = Json(json!({"signed_out": true})).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&app.cfg.policy, "")) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn scope_json(s: &Scoped, scope: Scope) -> J {
    json!(s.engine.scope_name(scope))
}

async fn me(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, |cx| {
        let s = &cx.scoped;
        let grant = s.access().grant().as_str();
        let person = s.access().person().map(|p| s.person_card(p, cx.today));
        Ok(Json(json!({
            "user": user_json(&cx.who.user),
            "grant": grant,
            "person": person,
            "home_scope": s.home().map(|h| scope_json(s, h)),
            "today": fmt_date(cx.today),
        })))
    })
    .await
}

#[derive(Deserialize)]
struct PasswordChange {
    current: String,
    new: String,
}

async fn change_password(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(addr): Extension<ClientAddr>,
    Json(b): Json<PasswordChange>,
) -> Result<Response> {
    let s = with_user(
        app.clone(),
        headers,
        Method::POST,
        move |app, store, who, t| {
            auth::change_password(
                store,
                &app.cfg.policy,
                &who.user,
                &b.current,
                &b.new,
                &addr.0,
                t,
            )
        },
    )
    .await?;
    let mut r = Json(json!({"changed": true, "csrf": s.csrf})).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(&app.cfg.policy, &s.id)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

fn token_json(t: &salesorg_store::ApiToken) -> J {
    json!({"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": t.created_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at})
}

async fn list_tokens(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<J>> {
    with_user(app, headers, Method::GET, move |_app, store, who, _| {
        let v: Vec<J> = store
            .tokens_of(who.user.id)?
            .iter()
            .map(token_json)
            .collect();
        Ok(Json(json!({"tokens": v})))
    })
    .await
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

async fn new_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(addr): Extension<ClientAddr>,
    Json(b): Json<NewToken>,
) -> Result<Json<J>> {
    with_user(app, headers, Method::POST, move |_app, store, who, t| {
        let (secret, tok) = auth::create_token(store, who.user.id, &b.name, t)?;
        store.audit(
            t,
            Some(&who.actor()),
            "token_created",
            &format!("{} ({})", tok.name, tok.prefix),
            Some(&addr.0),
        )?;
        let mut v = token_json(&tok);
        v["token"] = json!(secret);
        Ok(Json(v))
    })
    .await
}

async fn revoke_token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(addr): Extension<ClientAddr>,
    Path(id): Path<String>,
) -> Result<Json<J>> {
    with_user(app, headers, Method::DELETE, move |_app, store, who, t| {
        let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
        if !store.revoke_token(who.user.id, id, t)? {
            return Err(WebError::NotFound);
        }
        store.audit(
            t,
            Some(&who.actor()),
            "token_revoked",
            &id.to_string(),
            Some(&addr.0),
        )?;
        Ok(Json(json!({"revoked": id})))
    })
    .await
}

#[derive(Deserialize, Default)]
struct OrgQuery {
    as_of: Option<String>,
    root: Option<String>,
    #[serde(default, deserialize_with = "query::number")]
    depth: Option<usize>,
    /// A search of people by name or id (`/api/people`), and how many at most.
    q: Option<String>,
    #[serde(default, deserialize_with = "query::positive")]
    limit: Option<usize>,
}

fn date_param(raw: Option<&str>, default: Date) -> Result<Date> {
    match raw {
        None | Some("") => Ok(default),
        Some(s) => parse_date(s).map_err(|e| bad_input(format!("as_of: {e}"))),
    }
}

async fn org(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<OrgQuery>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let d = date_param(q.as_of.as_deref(), cx.today)?;
        let tree = cx
            .scoped
            .org_tree(q.root.as_deref(), d, q.depth.unwrap_or(usize::MAX))?;
        Ok(Json(json!({"as_of": fmt_date(d), "roots": tree})))
    })
    .await
}

async fn person(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Path(id): Path<String>,
    Params(q): Params<OrgQuery>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let d = date_param(q.as_of.as_deref(), cx.today)?;
        let p = cx.scoped.person(&id)?;
        Ok(Json(cx.scoped.person_card(p, d)))
    })
    .await
}

/// The people the viewer may see whose name or id holds `q` (any case), best matches
/// first, each as `/api/people/{id}` gives them on `as_of`.
async fn people(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<OrgQuery>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let d = date_param(q.as_of.as_deref(), cx.today)?;
        // (an account linked to nobody sees no one: not found, as the org chart is)
        cx.scoped.home().ok_or(WebError::NotFound)?;
        let text: String = q.q.as_deref().unwrap_or("").chars().take(100).collect();
        if text.trim().is_empty() {
            return Err(WebError::BadRequest("q: a name or id to look for".into()));
        }
        let (total, found) = cx
            .scoped
            .find_people(&text, q.limit.unwrap_or(50).clamp(1, 500));
        let people: Vec<J> = found
            .into_iter()
            .map(|p| cx.scoped.person_card(p, d))
            .collect();
        Ok(Json(
            json!({"q": text.trim(), "as_of": fmt_date(d), "total": total, "people": people}),
        ))
    })
    .await
}

async fn roles(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, |cx| {
        let v: Vec<J> = cx
            .scoped
            .catalog
            .roles()
            .iter()
            .map(|r| json!({"id": r.id, "title": r.title, "function": r.function, "level": r.level, "scope": r.scope.as_str(), "carries_quota": r.carries_quota, "span": r.span_range().map(|(a, b)| [a, b])}))
            .collect();
        Ok(Json(json!({"roles": v, "sources": cx.scoped.catalog.sources()})))
    })
    .await
}

async fn role(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Path(id): Path<String>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let r = cx.scoped.catalog.find(&id).ok_or(WebError::NotFound)?;
        serde_json::to_value(r)
            .map(Json)
            .map_err(|e| WebError::Internal(e.to_string()))
    })
    .await
}

async fn kpis(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, |_| {
        let v: Vec<J> = kpi::KPI_IDS
            .iter()
            .map(|k| json!({"id": k, "formula": sc::formula(k), "available": !kpi::NOT_YET.contains(k)}))
            .collect();
        Ok(Json(json!({"kpis": v})))
    })
    .await
}

#[derive(Deserialize, Default)]
struct ScQuery {
    scope: Option<String>,
    period: Option<String>,
    kpi: Option<String>,
    grain: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    #[serde(default, deserialize_with = "query::positive")]
    page: Option<usize>,
    #[serde(default, deserialize_with = "query::positive")]
    per_page: Option<usize>,
    cursor: Option<String>,
    /// A drill-down's records of one kind, and holding a text.
    kind: Option<String>,
    q: Option<String>,
    /// A leaderboard's ranking: a KPI, and `asc` or `desc`.
    sort: Option<String>,
    dir: Option<String>,
    /// A KPI's history: how many periods, the one asked for last; and whether each period
    /// before it is to the same day as it.
    #[serde(default, deserialize_with = "query::number")]
    periods: Option<usize>,
    #[serde(default, deserialize_with = "query::flag")]
    same_day: Option<bool>,
}

/// The period a request names, else the quarter of [`Engine::current_day`].
pub(crate) fn period_param(e: &Engine, raw: Option<&str>, today: Date) -> Result<Period> {
    match raw {
        // (the quarter of the data's last day when it ended well before today)
        None | Some("") => Ok(Period::containing(
            &e.book.settings.fiscal,
            Grain::Quarter,
            e.current_day(today),
        )),
        Some(s) => {
            Period::parse(s, &e.book.settings.fiscal).map_err(|e| bad_input(format!("period: {e}")))
        }
    }
}

/// Whether a request's `format` asks for CSV: `json` (the default) or `csv`, anything else
/// refused by name (an `xml` had been answered in JSON without a word).
fn csv_format(raw: Option<&str>) -> Result<bool> {
    match raw {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(f) => Err(WebError::BadRequest(format!(
            "format {f:?}: use json or csv"
        ))),
    }
}

fn kpis_param(raw: Option<&str>) -> Result<Vec<&'static str>> {
    match raw {
        None | Some("") => Ok(sc::default_kpis()),
        Some(s) => {
            let ids: Vec<String> = s.split(',').map(|x| x.trim().to_owned()).collect();
            sc::parse_kpis(&ids).map_err(|e| bad_input(format!("kpi: {e}")))
        }
    }
}

fn scope_of(cx: &Cx, raw: Option<&str>, period: Option<&Period>) -> Result<Scope> {
    match raw {
        None | Some("") => cx.scoped.home().ok_or(WebError::NotFound),
        Some(s) => cx.scoped.scope(s, period).map_err(|e| match e {
            WebError::BadRequest(m) => WebError::BadRequest(format!("scope: {m}")),
            other => other,
        }),
    }
}

async fn scorecard(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Response> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let scope = scope_of(cx, q.scope.as_deref(), Some(&p))?;
        let kpis = kpis_param(q.kpi.as_deref())?;
        // the bulk export's row, for a spreadsheet (the scope page's "Export")
        if csv_format(q.format.as_deref())? {
            let rows = cx
                .scoped
                .run(&[scope], &[p], &kpis, cx.today)
                .map_err(bad_input)?;
            let body = rows_csv_text(e, &rows, &kpis)?;
            let name = e.scope_name(scope);
            cx.audit("export", &format!("scorecard of {name} {p}"))?;
            return Ok(csv_attachment(
                &format!("scorecard-{}-{p}.csv", name.replace(':', "-")),
                body,
            ));
        }
        let key = format!("scorecard|{scope:?}|{p}|{}|{}", kpis.join(","), cx.today);
        let body = cx.scoped.cached(&key, || {
            let rows = cx
                .scoped
                .run(&[scope], &[p], &kpis, cx.today)
                .map_err(bad_input)?;
            Ok(sc::row_json(e, &rows[0], &kpis))
        })?;
        Ok(json_text(body.to_string()))
    })
    .await
}

async fn person_scorecard(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Path(id): Path<String>,
    Params(q): Params<ScQuery>,
) -> Result<Response> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let person = cx.scoped.person(&id)?;
        let kp = match q.kpi.as_deref() {
            None | Some("") => None,
            Some(_) => Some(kpis_param(q.kpi.as_deref())?),
        };
        let card = |kp| {
            sc::person_scorecard_by(
                e,
                cx.scoped.lens(),
                cx.scoped.catalog,
                person,
                p,
                cx.today,
                kp,
                &|s, ps, k| cx.scoped.run(s, ps, k, cx.today),
            )
        };
        // the table the CLI prints, as a spreadsheet opens it (the web page's "Export CSV")
        if csv_format(q.format.as_deref())? {
            let card = card(kp)?;
            let (header, rows) = sc::person_scorecard_table(e, &card, "");
            let body: String = std::iter::once(&header)
                .chain(&rows)
                .map(|r| crate::pages::csv_row(r.iter().map(String::as_str)))
                .collect();
            let id = e.book.people[person as usize].id.as_str();
            cx.audit("export", &format!("scorecard of {id} {p}"))?;
            return Ok(csv_attachment(&format!("scorecard-{id}-{p}.csv"), body));
        }
        let key = format!("person|{person}|{p}|{kp:?}|{}", cx.today);
        let body = cx
            .scoped
            .cached(&key, || Ok(sc::person_scorecard_json(e, &card(kp)?)))?;
        Ok(json_text(body.to_string()))
    })
    .await
}

/// Scorecard rows as the bulk export's CSV ([`sc::rows_csv`]), as text.
fn rows_csv_text(
    e: &Engine,
    rows: &[salesorg_core::scorecard::Row],
    kpis: &[&str],
) -> Result<String> {
    let mut out = Vec::new();
    sc::rows_csv(e, rows, kpis, &mut out).map_err(|e| WebError::Internal(e.to_string()))?;
    String::from_utf8(out).map_err(|e| WebError::Internal(e.to_string()))
}

/// A CSV answer that a browser saves as `name` (quotes, slashes and backslashes in it
/// made `_`).
pub(crate) fn csv_attachment(name: &str, body: String) -> Response {
    (csv_headers(name), body).into_response()
}

/// [`csv_attachment`] of a text in parts, sent one after the other as they are (a large
/// export's, written on every core: not copied into one text first).
pub(crate) fn csv_attachment_parts(name: &str, parts: Vec<String>) -> Response {
    let chunks = parts
        .into_iter()
        .map(|p| Ok::<_, std::convert::Infallible>(axum::body::Bytes::from(p)));
    (
        csv_headers(name),
        axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}

/// The headers of a CSV that a browser saves as `name`.
fn csv_headers(name: &str) -> [(header::HeaderName, String); 2] {
    [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{}\"",
                name.replace(['"', '\\', '/'], "_")
            ),
        ),
    ]
}

async fn bulk(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Response> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let e = cx.scoped.engine;
        let cal = &e.book.settings.fiscal;
        let grain = match q.grain.as_deref().unwrap_or("quarter") {
            "month" => Grain::Month,
            "quarter" => Grain::Quarter,
            "year" => Grain::Year,
            g => {
                return Err(WebError::BadRequest(format!(
                    "grain {g:?}: use month, quarter or year"
                )));
            }
        };
        let to = match q.to.as_deref() {
            Some(s) => Period::parse(s, cal).map_err(|e| bad_input(format!("to: {e}")))?,
            None => Period::containing(cal, grain, cx.today),
        };
        let from = match q.from.as_deref() {
            Some(s) => Period::parse(s, cal).map_err(|e| bad_input(format!("from: {e}")))?,
            None => Period::containing(cal, grain, e.first_day().unwrap_or(cx.today)),
        };
        if to.end <= from.start {
            return Err(WebError::BadRequest(format!(
                "to {to} comes before from {from}"
            )));
        }
        let periods = bulk_periods(cal, grain, from.start, to.start).map_err(bad_input)?;
        let kpis = kpis_param(q.kpi.as_deref())?;
        let scopes = cx.scoped.bulk_scopes(from.start, to.end);
        let rows = cx
            .scoped
            .run(&scopes, &periods, &kpis, cx.today)
            .map_err(bad_input)?;
        let csv = csv_format(q.format.as_deref())?;
        cx.audit(
            "export",
            &format!(
                "bulk scorecard {grain:?} {from}..{to}, {} rows, {}",
                rows.len(),
                if csv { "csv" } else { "json" }
            ),
        )?;
        if csv {
            let body = rows_csv_text(e, &rows, &kpis)?;
            // written out: the next export's rows take their memory
            e.recycle(rows);
            return Ok(csv_attachment("scorecard.csv", body));
        }
        let mut s = String::from("{\"rows\":[");
        for (i, r) in rows.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&sc::row_json(e, r, &kpis));
        }
        e.recycle(rows);
        s.push_str("]}");
        Ok(json_text(s))
    })
    .await
}

/// Every rep of a scope the viewer sees, each over their own book, ranked (the
/// leaderboard of `/reps`).
async fn reps(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Response> {
    board(app, headers, a.0, q, lb::BoardOf::Reps).await
}

/// A KPI's history for a scope the viewer sees: its value over the periods leading up to
/// one, each with its target (`?kpi=&scope=&period=&periods=`; docs/scorecard.md).
async fn trend_of(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Response> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let scope = scope_of(cx, q.scope.as_deref(), Some(&p))?;
        let k = kpis_param(q.kpi.as_deref().filter(|s| !s.trim().is_empty()))?;
        let [k] = k.as_slice() else {
            return Err(WebError::BadRequest(
                "kpi: name one KPI (see /api/kpis)".into(),
            ));
        };
        let n = match q.periods {
            None => trend::default_length(e, &p),
            Some(n @ 1..=trend::MAX_PERIODS) => n,
            Some(n) => {
                return Err(WebError::BadRequest(format!(
                    "periods: {n} is not 1 to {}",
                    trend::MAX_PERIODS
                )));
            }
        };
        let same_day = q.same_day.unwrap_or(false);
        let t = trend::trend_by(e, scope, p, k, n, same_day, cx.today, &|s, ps, ks| {
            cx.scoped.run(s, ps, ks, cx.today)
        })
        .map_err(bad_input)?;
        match q.format.as_deref() {
            Some("csv") => {
                let (header, rows) = trend::trend_table(&t);
                let mut body = crate::pages::csv_row(header.iter().map(String::as_str));
                for r in &rows {
                    body.push_str(&crate::pages::csv_row(r.iter().map(String::as_str)));
                }
                let name = format!("{}-{}-{p}.csv", t.kpi, e.scope_name(scope));
                cx.audit(
                    "export",
                    &format!("history of {} {} {p}", t.kpi, e.scope_name(scope)),
                )?;
                Ok(csv_attachment(&name.replace(':', "-"), body))
            }
            None | Some("json") => Ok(json_text(trend::trend_json(e, &t))),
            Some(f) => Err(WebError::BadRequest(format!(
                "format {f:?}: use json or csv"
            ))),
        }
    })
    .await
}

/// Every first-line team of a scope the viewer sees, ranked (the leaderboard of `/teams`).
async fn teams(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Response> {
    board(app, headers, a.0, q, lb::BoardOf::Teams).await
}

async fn board(
    app: Arc<App>,
    headers: HeaderMap,
    addr: String,
    q: ScQuery,
    of: lb::BoardOf,
) -> Result<Response> {
    as_viewer(app, headers, Method::GET, addr, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let scope = scope_of(cx, q.scope.as_deref(), Some(&p))?;
        let asked: Vec<String> = q.kpi.iter().cloned().collect();
        let kpis = of
            .kpis_asked(cx.scoped.catalog, &asked)
            .map_err(|e| bad_input(format!("kpi: {e}")))?;
        // (refused as the CLI refuses them: an unknown one had been answered with the
        // default order without a word)
        if let Some(d) = q.dir.as_deref().filter(|d| !matches!(*d, "asc" | "desc")) {
            return Err(WebError::BadRequest(format!("dir {d:?}: use asc or desc")));
        }
        let (by, desc) = lb::board_order(&kpis, q.sort.as_deref(), q.dir.as_deref());
        if let Some(s) = q.sort.as_deref().filter(|s| *s != by) {
            return Err(WebError::BadRequest(format!(
                "sort {s:?}: rank by one of the board's KPIs: {}",
                kpis.join(", ")
            )));
        }
        let board = cx.scoped.board(scope, p, cx.today, of, kpis, by, desc)?;
        // (a rep looked for by name, id or manager: at their rank on the whole board)
        let text: String = q.q.as_deref().unwrap_or("").chars().take(100).collect();
        let places = lb::board_find(e, &board.rows, &text);
        Ok(json_text(lb::leaderboard_json(e, &board, &places)))
    })
    .await
}

async fn explain(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, a.0, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let scope = scope_of(cx, q.scope.as_deref(), Some(&p))?;
        let k = kpis_param(Some(q.kpi.as_deref().unwrap_or("")).filter(|s| !s.is_empty()).or(Some("win_rate")))?;
        let k = *k.first().ok_or_else(|| WebError::BadRequest("kpi is required".into()))?;
        let per_page = q.per_page.unwrap_or(50).clamp(1, 1000);
        let page = q.page.unwrap_or(1).max(1);
        let from = (page - 1).saturating_mul(per_page);
        // a page between the first and last records in date order needs every record, and
        // so does a filter
        let filter = sc::RecordFilter::new(q.kind.as_deref(), q.q.as_deref());
        let ex = cx.scoped.explain(k, scope, p, cx.today, |ex| {
            filter.is_empty()
                && (from..from.saturating_add(per_page).min(ex.len())).all(|i| ex.at_hand(i))
        })?;
        let kept = (!filter.is_empty()).then(|| {
            let key = format!("date|{}", filter.key());
            cx.scoped.explain_order(k, scope, p, cx.today, &key, || {
                ex.filtered(e, &ex.in_date_order(e), &filter)
            })
        });
        let total = kept.as_ref().map_or(ex.len(), |v| v.len());
        let at = |k: usize| kept.as_ref().map_or_else(|| ex.nth(e, k), |v| v[k] as usize);
        let recs: Vec<J> = (0..total)
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .map(|k| ex.record(e, at(k)))
            .map(|r| json!({"kind": r.kind, "id": r.id, "owner": r.owner, "date": r.date, "detail": r.detail, "amount": r.amount.map(|a| kpi::fmt_fixed(a.into(), 4, 2)), "url": r.url}))
            .collect();
        let mut out = json!({
            "kpi": ex.kpi,
            "scope": ex.scope,
            "period": ex.period.to_string(),
            "as_of": fmt_date(ex.as_of),
            "value": serde_json::from_str::<J>(&ex.value.to_json()).unwrap_or(J::Null),
            "undefined": ex.value.why().map(kpi::Why::text),
            "formula": ex.formula,
            "inputs": ex.inputs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "records": recs,
            "page": page,
            "per_page": per_page,
            "total": total,
        });
        if !filter.is_empty() {
            out["filter"] = json!({"kind": filter.kind(), "q": filter.text(), "of": ex.len()});
        }
        // a team's records by the branch they came in through, on each one's day
        if let Some(b) = ex.branches() {
            out["branches"] = serde_json::from_str(&sc::branches_json(e, b))
                .map_err(|err| WebError::Internal(format!("branches: {err}")))?;
        }
        Ok(Json(out))
    })
    .await
}

async fn records(
    app: Arc<App>,
    headers: HeaderMap,
    addr: String,
    q: ScQuery,
    kind: Kind,
) -> Result<Json<J>> {
    as_viewer(app, headers, Method::GET, addr, move |cx| {
        let e = cx.scoped.engine;
        let p = period_param(e, q.period.as_deref(), cx.today)?;
        let scope = scope_of(cx, q.scope.as_deref(), Some(&p))?;
        let as_of = Engine::as_of(&p, cx.today);
        let per_page = q.per_page.unwrap_or(50).clamp(1, 500);
        let page = cx.records(kind, scope, &p, as_of, q.cursor.as_deref(), per_page)?;
        let name = cx.scoped.engine.scope_name(scope);
        Ok(Json(json!({
            "scope": name,
            "period": p.to_string(),
            "as_of": fmt_date(as_of),
            "items": page.items,
            "next_cursor": page.next,
        })))
    })
    .await
}

async fn opportunities(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Json<J>> {
    records(app, headers, a.0, q, Kind::Opportunities).await
}
async fn leads(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Json<J>> {
    records(app, headers, a.0, q, Kind::Leads).await
}
async fn activities(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Extension(a): Extension<ClientAddr>,
    Params(q): Params<ScQuery>,
) -> Result<Json<J>> {
    records(app, headers, a.0, q, Kind::Activities).await
}

fn admin_only(who: &Principal) -> Result<()> {
    if who.user.is_admin {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

/// Admins: what the server's engine and caches hold, and their memory (see
/// [`crate::Loaded::status`]).
async fn admin_status(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<J>> {
    with_user(app, headers, Method::GET, move |app, _store, who, _| {
        admin_only(&who)?;
        Ok(Json(app.engine()?.status()))
    })
    .await
}

async fn admin_users(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<J>> {
    with_user(app, headers, Method::GET, move |_app, store, who, _| {
        admin_only(&who)?;
        let v: Vec<J> = store.users()?.iter().map(user_json).collect();
        Ok(Json(json!({"users": v})))
    })
    .await
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default, deserialize_with = "query::number")]
    before: Option<i64>,
    #[serde(default, deserialize_with = "query::positive")]
    limit: Option<i64>,
}

async fn admin_audit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Params(q): Params<AuditQuery>,
) -> Result<Json<J>> {
    with_user(app, headers, Method::GET, move |_app, store, who, _| {
        admin_only(&who)?;
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let v = store.audit_log(limit, q.before)?;
        let next = (v.len() as i64 == limit).then(|| v.last().map(|e| e.id)).flatten();
        let items: Vec<J> = v
            .iter()
            .map(|e| json!({"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "detail": e.detail, "addr": e.addr}))
            .collect();
        Ok(Json(json!({"entries": items, "next_before": next})))
    })
    .await
}
