//! The OpenAPI 3.1 document served at `/api/openapi.json`, built from one table of
//! operations. A test fails when a route of the router is missing from it.

use serde_json::{Value as J, json};

/// (method, path, summary, query parameters, needs sign-in).
type Op = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    bool,
);

const SCOPE_PERIOD: &[&str] = &["scope", "period", "cursor", "per_page"];

pub const OPERATIONS: &[Op] = &[
    (
        "GET",
        "/health",
        "Liveness: the process answers.",
        &[],
        false,
    ),
    (
        "GET",
        "/ready",
        "Readiness: the store is open and the scorecard engine is loaded (503 until then).",
        &[],
        false,
    ),
    ("GET", "/api/openapi.json", "This document.", &[], false),
    (
        "POST",
        "/api/session",
        "Sign in with {username, password}; sets the session cookie and returns the CSRF token. Throttled after repeated failures (429).",
        &[],
        false,
    ),
    (
        "GET",
        "/api/session",
        "The signed-in user and the session's CSRF token.",
        &[],
        true,
    ),
    (
        "DELETE",
        "/api/session",
        "Sign out (CSRF token required).",
        &[],
        true,
    ),
    (
        "GET",
        "/api/me",
        "The viewer: account, person card, grant (company, subtree or nothing) and home scope.",
        &[],
        true,
    ),
    (
        "POST",
        "/api/me/password",
        "Change the password with {current, new}; ends every other session.",
        &[],
        true,
    ),
    (
        "GET",
        "/api/me/tokens",
        "The viewer's API tokens (never their secrets).",
        &[],
        true,
    ),
    (
        "POST",
        "/api/me/tokens",
        "Create an API token {name}; the secret is in the answer, once.",
        &[],
        true,
    ),
    (
        "DELETE",
        "/api/me/tokens/{id}",
        "Revoke one of the viewer's tokens.",
        &[],
        true,
    ),
    (
        "GET",
        "/api/org",
        "The reporting tree on a date below the viewer (or `root`, inside their subtree), with roles, spans and span flags.",
        &["as_of", "root", "depth"],
        true,
    ),
    (
        "GET",
        "/api/people",
        "Find people by name or id (any case) among those the viewer may see, best matches first: an id that is the text, then names that start with it, then the rest; each as /api/people/{id} gives them.",
        &["q", "as_of", "limit"],
        true,
    ),
    (
        "GET",
        "/api/people/{id}",
        "A person the viewer may see: role, manager, reports, units, reporting history.",
        &["as_of"],
        true,
    ),
    ("GET", "/api/roles", "The role catalog.", &[], true),
    (
        "GET",
        "/api/roles/{id}",
        "One role with every fact and the seed it comes from.",
        &[],
        true,
    ),
    (
        "GET",
        "/api/kpis",
        "Every KPI of the spec with its formula.",
        &[],
        true,
    ),
    (
        "GET",
        "/api/scorecard",
        "KPIs of one scope over one period (default: the viewer's home scope, the current fiscal quarter). Schema: docs/scorecard.md. CSV: the bulk export's row.",
        &["scope", "period", "kpi", "format"],
        true,
    ),
    (
        "GET",
        "/api/scorecard/person/{id}",
        "A person's role scorecard: previous period, last year, target and direct reports side by side (JSON, or CSV: the CLI's table, undefined values empty).",
        &["period", "kpi", "format"],
        true,
    ),
    (
        "GET",
        "/api/scorecard/bulk",
        "Every team: and unit: scope the viewer may open × every period (JSON or CSV).",
        &["grain", "from", "to", "kpi", "format"],
        true,
    ),
    (
        "GET",
        "/api/explain",
        "The records behind one KPI of one scope and period, and how they add up; a team's and the company's also by direct report, a unit's by sub-unit, on each record's day (`branches`). Each record's `url` opens it in the CRM where the settings set a link (`record_url`), else null.",
        &["kpi", "scope", "period", "page", "per_page", "kind", "q"],
        true,
    ),
    (
        "GET",
        "/api/trend",
        "A KPI's history for a scope the viewer sees: its value in each of `periods` periods (default: 12 months, 8 quarters, 5 years or 8 ranges of the period's length; at most 36), the one asked for last and none before the data's first record, each with its as-of day, why it is undefined, its quota or target, and whether it is under way.",
        &["kpi", "scope", "period", "periods", "same_day", "format"],
        true,
    ),
    (
        "GET",
        "/api/reps",
        "Every rep of a scope the viewer sees (quota-carrying, with records there in the period), each over their own book, ranked by a KPI (default: quota attainment, highest first): rank, manager, whether in the scope the whole period, and the KPIs (default: the rep role's).",
        &["scope", "period", "kpi", "sort", "dir", "q"],
        true,
    ),
    (
        "GET",
        "/api/teams",
        "Every first-line team (a leader with a rep reporting to them in the period) of a scope the viewer sees, ranked by a KPI of the team (default: the Sales Manager role's, after bookings and the quota; quota attainment, highest first), as /api/reps gives reps.",
        &["scope", "period", "kpi", "sort", "dir", "q"],
        true,
    ),
    (
        "GET",
        "/api/opportunities",
        "Opportunities attributed to a scope, closing in the period (open ones as of the period's as-of date). Each item's `url` opens it in the CRM where a link is set (`record_url`).",
        SCOPE_PERIOD,
        true,
    ),
    (
        "GET",
        "/api/leads",
        "Leads attributed to a scope, created in the period. Each item's `url` opens it in the CRM where a link is set (`record_url`).",
        SCOPE_PERIOD,
        true,
    ),
    (
        "GET",
        "/api/activities",
        "Activities attributed to a scope, in the period. Each item's `url` opens it in the CRM where a link is set (`record_url`).",
        SCOPE_PERIOD,
        true,
    ),
    (
        "GET",
        "/api/admin/users",
        "Admins: every user account.",
        &[],
        true,
    ),
    (
        "GET",
        "/api/admin/audit",
        "Admins: the audit log, newest first.",
        &["before", "limit"],
        true,
    ),
];

fn param_doc(name: &str) -> &'static str {
    match name {
        "scope" => "person:ID, team:ID, unit:ID or company (default: the viewer's home scope)",
        "period" => {
            "2024-03, FY2024-Q1, FY2024 or 2024-01-15..2024-02-15 (default: the current fiscal quarter)"
        }
        "kpi" => "comma-separated KPI ids (default: every KPI)",
        "as_of" => "a date, YYYY-MM-DD (default: today)",
        "root" => "a person id inside the viewer's subtree",
        "depth" => "levels below the root",
        "grain" => "month, quarter or year",
        "from" | "to" => "first and last period of the bulk export",
        "format" => "json (default) or csv",
        "cursor" => "next_cursor of the previous page",
        "per_page" => {
            "items per page (default 50; at most 1,000 in a drill-down, 500 in a list of records: more is taken as that many)"
        }
        "page" => "page number, from 1",
        "sort" => "the KPI to rank by, one of the board's (default: quota attainment where shown)",
        "dir" => "asc or desc (default: highest first, lowest for a KPI better lower)",
        "kind" => "only the records of this kind (won, lost, lead, call, …)",
        "q" => {
            "only the records holding this text, in any case, in their kind, id, owner, date or detail"
        }
        "before" => "entries older than this id",
        "limit" => {
            "how many (people: default 50, at most 500; audit entries: default 100, at most 1,000)"
        }
        "periods" => "how many periods, 1 to 36, the one asked for last",
        "same_day" => {
            "true: each period before a period under way (or to a day) to the same day of its own"
        }
        _ => "",
    }
}

/// Whether the operation at `path` answers only with parameter `name` given (a search
/// needs its text, a history its KPI).
fn required(path: &str, name: &str) -> bool {
    matches!((path, name), ("/api/people", "q") | ("/api/trend", "kpi"))
}

/// A query parameter's schema on the operation at `path`, as the server reads it
/// (`crate::query`): whole numbers and yes-or-no flags typed, closed lists as enums (a
/// KPI named alone among the spec's ids), dates as dates, and scopes, periods and lists
/// of KPIs by the forms they are written in (the server reads a few more: a date in any
/// export's format, blanks around them). A value left empty is taken as absent
/// everywhere. The bounds are those refused outside them; a page size past its largest
/// is taken as the largest.
pub fn param_schema(path: &str, name: &str) -> J {
    let kpi = format!("({})", salesorg_core::kpi::KPI_IDS.join("|"));
    let (year, month) = (r"[1-9]\d{3}", r"(0[1-9]|1[0-2])");
    let day = format!(r"{year}-{month}-(0[1-9]|[12]\d|3[01])");
    match name {
        "page" | "per_page" | "limit" => {
            json!({"type": "integer", "format": "int64", "minimum": 1})
        }
        "depth" => json!({"type": "integer", "format": "int64", "minimum": 0}),
        "before" => json!({"type": "integer", "format": "int64"}),
        "periods" => {
            json!({"type": "integer", "minimum": 1, "maximum": salesorg_engine::trend::MAX_PERIODS})
        }
        "same_day" => json!({"type": "boolean"}),
        "grain" => json!({"type": "string", "enum": ["month", "quarter", "year"]}),
        "format" => json!({"type": "string", "enum": ["json", "csv"]}),
        "dir" => json!({"type": "string", "enum": ["asc", "desc"]}),
        "as_of" => json!({"type": "string", "format": "date"}),
        "scope" => json!({"type": "string", "pattern": "^(company|(person|team|unit):.+)$"}),
        "period" | "from" | "to" => json!({"type": "string", "pattern": format!(
            r"^({year}-{month}|FY{year}(-Q[1-4])?|{day}\.\.{day})( to {day})?$"
        )}),
        "sort" => json!({"type": "string", "enum": salesorg_core::kpi::KPI_IDS}),
        "kpi" if matches!(path, "/api/explain" | "/api/trend") => {
            json!({"type": "string", "enum": salesorg_core::kpi::KPI_IDS})
        }
        "kpi" => json!({"type": "string", "pattern": format!("^{kpi}(,{kpi})*$")}),
        _ => json!({"type": "string"}),
    }
}

/// The document as JSON text.
pub fn document() -> String {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, params, auth) in OPERATIONS {
        let mut parameters: Vec<J> = params
            .iter()
            // (a value left empty is the parameter not given: `allowEmptyValue`)
            .map(|p| json!({"name": p, "in": "query", "required": required(path, p), "allowEmptyValue": !required(path, p), "schema": param_schema(path, p), "description": param_doc(p)}))
            .collect();
        if path.contains("{id}") {
            parameters.push(
                json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
        let mut op = json!({
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK"},
                "400": {"$ref": "#/components/responses/Error"},
                "401": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
            },
        });
        if !auth {
            op["security"] = json!([]);
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method.to_ascii_lowercase()] = op;
    }
    let doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "salesorg API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Every read is scoped to the signed-in person's place in the org (docs/access.md). Out-of-scope ids answer 404."},
        "paths": paths,
        "security": [{"session": []}, {"bearer": []}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string", "enum": ["not_found", "unauthorized", "forbidden", "csrf", "throttled", "bad_request", "not_ready", "load_failed", "internal"]},
                    "message": {"type": "string"}}}}}}}}},
        },
    });
    doc.to_string()
}
