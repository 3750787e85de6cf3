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
    (
        "GET",
        "/api/admin/status",
        "Admins: the loaded data's version and records, and the server's memory by part (the book's columns by group of records, its indexes, the standard passes, the passes over other periods, the drill-downs and answers kept, each cache with its budget; the process's resident memory where the system tells it).",
        &[],
        true,
    ),
];

/// A query parameter's description on the operation at `path`.
fn param_doc(path: &str, name: &str) -> &'static str {
    match (name, path) {
        ("kpi", "/api/explain") => "one KPI id (default: win_rate)",
        ("kpi", "/api/trend") => "one KPI id (a table-valued one has no history)",
        ("kpi", "/api/scorecard/person/{id}") => {
            "comma-separated KPI ids (default: those the person's role is measured by)"
        }
        ("kpi", "/api/reps" | "/api/teams") => {
            "comma-separated KPI ids (default: those a rep, or for teams a Sales Manager, is measured by)"
        }
        _ => match name {
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
            "sort" => {
                "the KPI to rank by, one of the board's (default: quota attainment where shown)"
            }
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
        },
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

/// A 200 answer of the operation: the JSON schema of the scorecards' routes, a drill-down,
/// a history, the leaderboards, the record lists and the KPI list (in `components`), or
/// any object; CSV besides where `format=csv` is taken.
fn answer(method: &str, path: &str, csv: bool) -> J {
    let name = match (method, path) {
        ("GET", "/api/scorecard") => Some("ScorecardRow"),
        ("GET", "/api/scorecard/person/{id}") => Some("PersonScorecard"),
        ("GET", "/api/scorecard/bulk") => Some("Bulk"),
        ("GET", "/api/explain") => Some("Explanation"),
        ("GET", "/api/trend") => Some("Trend"),
        ("GET", "/api/reps" | "/api/teams") => Some("Board"),
        ("GET", "/api/opportunities") => Some("Opportunities"),
        ("GET", "/api/leads") => Some("Leads"),
        ("GET", "/api/activities") => Some("Activities"),
        ("GET", "/api/kpis") => Some("KpiList"),
        ("GET", "/api/org") => Some("Org"),
        ("GET", "/api/people") => Some("PeopleFound"),
        ("GET", "/api/people/{id}") => Some("Person"),
        ("GET", "/api/me") => Some("Me"),
        ("GET", "/api/session") => Some("Session"),
        ("GET", "/api/me/tokens") => Some("Tokens"),
        ("GET", "/health" | "/ready") => Some("Status"),
        ("GET", "/api/admin/status") => Some("ServerStatus"),
        _ => None,
    };
    let schema = name.map_or_else(
        || json!({"type": "object"}),
        |n| json!({"$ref": format!("#/components/schemas/{n}")}),
    );
    let mut content = json!({"application/json": {"schema": schema}});
    if csv {
        content["text/csv"] = json!({"schema": {"type": "string"}});
    }
    json!({"description": "OK", "content": content})
}

/// The schema of one KPI's value in the JSON (docs/scorecard.md): money as a decimal
/// string (two to four places), counts as integers, ratios, days and minutes as numbers,
/// the table-valued KPIs as arrays of rows; `null` where undefined.
pub fn value_schema(kpi: &str) -> J {
    use salesorg_core::kpi::Kind;
    match salesorg_core::kpi::kind(kpi) {
        Some(Kind::Money) => json!({"$ref": "#/components/schemas/Money"}),
        Some(Kind::Count) => json!({"type": ["integer", "null"]}),
        Some(Kind::Ratio | Kind::Measure) => json!({"type": ["number", "null"]}),
        None => json!({"type": ["array", "null"], "items": {"type": "object"}}),
    }
}

/// The answers' schemas, `components.schemas`.
fn schemas() -> J {
    let ids = salesorg_core::kpi::KPI_IDS;
    let date = json!({"type": "string", "format": "date"});
    let text = json!({"type": "string"});
    let text_or_null = json!({"type": ["string", "null"]});
    let count = json!({"type": "integer", "minimum": 0});
    let values: serde_json::Map<String, J> = ids
        .iter()
        .map(|k| (k.to_string(), value_schema(k)))
        .collect();
    let any_value = json!({"type": ["string", "number", "array", "null"]});
    let why = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let inputs = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let lines: serde_json::Map<String, J> = ids
        .iter()
        .map(|k| {
            let v = value_schema(k);
            (
                k.to_string(),
                json!({"type": "object", "additionalProperties": false,
                    "required": ["value", "undefined", "previous", "last_year", "previous_to_date", "last_year_to_date", "target", "reports"],
                    "properties": {"value": v, "undefined": text_or_null, "previous": v, "last_year": v,
                        "previous_to_date": v, "last_year_to_date": v, "like_for_like": v, "target": v,
                        "reports": {"type": "array", "items": v}}}),
            )
        })
        .collect();
    let person = json!({"type": "object", "additionalProperties": false, "required": ["id", "name"],
        "properties": {"id": text, "name": text}});
    let page = |item: J| {
        json!({"type": "object", "additionalProperties": false,
            "required": ["scope", "period", "as_of", "items", "next_cursor"],
            "properties": {"scope": text, "period": text, "as_of": date,
                "items": {"type": "array", "items": item}, "next_cursor": text_or_null}})
    };
    let record = |props: J, required: &[&str]| json!({"type": "object", "additionalProperties": false, "required": required, "properties": props});
    let mut m = serde_json::Map::new();
    m.insert(
        "Money".into(),
        json!({"type": ["string", "null"], "format": "decimal", "pattern": r"^-?\d+\.\d{2,4}$"}),
    );
    m.insert(
        "KpiValues".into(),
        json!({"type": "object", "additionalProperties": false, "properties": values}),
    );
    m.insert("ScorecardRow".into(), json!({"type": "object", "additionalProperties": false,
            "required": ["scope", "period", "period_start", "period_end", "as_of", "currency", "kpis", "undefined"],
            "properties": {"scope": text, "period": text, "period_start": date, "period_end": date,
                "as_of": date, "currency": text, "kpis": {"$ref": "#/components/schemas/KpiValues"},
                "undefined": why}}));
    m.insert("Bulk".into(), json!({"type": "object", "additionalProperties": false, "required": ["rows"],
            "properties": {"rows": {"type": "array", "items": {"$ref": "#/components/schemas/ScorecardRow"}}}}));
    m.insert("PersonScorecard".into(), json!({"type": "object", "additionalProperties": false,
            "required": ["person", "name", "role", "scope", "period", "previous_period", "last_year_period",
                "previous_to_date_period", "last_year_to_date_period", "as_of", "currency", "reports", "kpis"],
            "properties": {"person": text, "name": text, "role": text_or_null, "scope": text, "period": text,
                "previous_period": text, "last_year_period": text, "previous_to_date_period": text_or_null,
                "last_year_to_date_period": text_or_null, "as_of": date, "currency": text,
                "reports": {"type": "array", "items": {"type": "object", "additionalProperties": false,
                    "required": ["scope", "name"], "properties": {"scope": text, "name": text}}},
                "kpis": {"type": "object", "additionalProperties": false, "properties": lines}}}));
    m.insert("Explanation".into(), json!({"type": "object", "additionalProperties": false,
            "required": ["kpi", "scope", "period", "as_of", "value", "undefined", "formula", "inputs", "records", "page", "per_page", "total"],
            "properties": {"kpi": {"type": "string", "enum": ids}, "scope": text, "period": text, "as_of": date,
                "value": any_value, "undefined": text_or_null, "formula": text, "inputs": inputs,
                "records": {"type": "array", "items": record(json!({"kind": text, "id": text, "owner": text,
                    "date": date, "detail": text, "amount": {"$ref": "#/components/schemas/Money"}, "url": text_or_null}),
                    &["kind", "id", "owner", "date", "detail", "amount", "url"])},
                "page": count, "per_page": count, "total": count,
                "filter": {"type": "object", "additionalProperties": false, "required": ["kind", "q", "of"],
                    "properties": {"kind": text_or_null, "q": text_or_null, "of": count}},
                "branches": {"type": "array", "items": record(json!({"person": text_or_null, "unit": text_or_null,
                    "name": text_or_null, "leader": {"type": "boolean"}, "value": any_value, "inputs": inputs,
                    "records": {"type": ["integer", "null"]},
                    "kinds": {"type": "array", "items": record(json!({"kind": text, "count": count,
                        "amount": {"$ref": "#/components/schemas/Money"}}), &["kind", "count", "amount"])}}),
                    &["person", "unit", "name", "leader", "value", "inputs", "records", "kinds"])}}}));
    m.insert("Trend".into(), json!({"type": "object", "additionalProperties": false, "required": ["kpi", "scope", "currency", "points"],
            "properties": {"kpi": {"type": "string", "enum": ids}, "scope": text, "currency": text,
                "points": {"type": "array", "items": record(json!({"period": text, "period_start": date,
                    "period_end": date, "as_of": date, "value": any_value, "undefined": text_or_null,
                    "target": any_value,
                    "under_way": {"type": ["object", "null"], "additionalProperties": false, "required": ["day", "of"],
                        "properties": {"day": count, "of": count}}}),
                    &["period", "period_start", "period_end", "as_of", "value", "undefined", "target", "under_way"])}}}));
    m.insert("Board".into(), json!({"type": "object", "additionalProperties": false,
            "required": ["scope", "period", "as_of", "sort", "dir", "total", "before"],
            "properties": {"scope": text, "period": text, "as_of": date, "sort": {"type": "string", "enum": ids},
                "dir": {"type": "string", "enum": ["asc", "desc"]}, "total": count, "before": text,
                "reps": {"type": "array", "items": {"$ref": "#/components/schemas/BoardRow"}},
                "teams": {"type": "array", "items": {"$ref": "#/components/schemas/BoardRow"}}}}));
    m.insert("BoardRow".into(), json!(record(json!({"id": text, "name": text, "rank": count, "rank_before": {"type": ["integer", "null"]},
            "manager": {"anyOf": [person, {"type": "null"}]}, "whole_period": {"type": "boolean"},
            "kpis": {"$ref": "#/components/schemas/KpiValues"}}),
            &["id", "name", "rank", "rank_before", "manager", "whole_period", "kpis"])));
    m.insert("Opportunities".into(), json!(page(record(json!({"id": text, "name": text, "account": text_or_null, "owner": text,
            "stage": text, "status": {"type": "string", "enum": ["open", "won", "lost"]},
            "amount": {"$ref": "#/components/schemas/Money"}, "currency": text, "created": date,
            "close": {"type": ["string", "null"], "format": "date"}, "forecast_category": text_or_null,
            "loss_reason": text_or_null, "url": text_or_null}),
            &["id", "name", "account", "owner", "stage", "status", "amount", "currency", "created", "close", "url"]))));
    m.insert("Leads".into(), json!(page(record(json!({"id": text, "owner": text, "created": text, "status": text_or_null,
            "source": text_or_null, "converted": {"type": ["string", "null"], "format": "date"}, "url": text_or_null}),
            &["id", "owner", "created", "url"]))));
    m.insert(
        "Activities".into(),
        json!(page(record(
            json!({"id": text, "kind": text, "owner": text, "at": text,
            "subject": text_or_null, "url": text_or_null}),
            &["id", "kind", "owner", "at", "url"]
        ))),
    );
    m.insert("KpiList".into(), json!({"type": "object", "additionalProperties": false, "required": ["kpis"],
            "properties": {"kpis": {"type": "array", "items": record(json!({"id": {"type": "string", "enum": ids},
                "formula": text, "available": {"type": "boolean"}}), &["id", "formula", "available"])}}}));
    let int_or_null = json!({"type": ["integer", "null"]});
    m.insert(
        "OrgNode".into(),
        record(
            json!({"id": text, "name": text, "role": text_or_null,
        "role_title": text_or_null, "span": count, "span_flag": text_or_null,
        "span_range": {"type": ["array", "null"], "items": count},
        "reports": {"type": "array", "items": {"$ref": "#/components/schemas/OrgNode"},
            "description": "absent below the depth asked for"}}),
            &["id", "name", "role", "role_title", "span", "span_flag"],
        ),
    );
    m.insert(
        "Org".into(),
        record(
            json!({"as_of": date,
        "roots": {"type": "array", "items": {"$ref": "#/components/schemas/OrgNode"}}}),
            &["as_of", "roots"],
        ),
    );
    m.insert(
        "Person".into(),
        record(
            json!({"as_of": date, "id": text, "name": text,
        "role": text_or_null, "role_title": text_or_null,
        "manager": {"anyOf": [person.clone(), {"type": "null"}]},
        "reports": {"type": "array", "items": person},
        "units": {"type": "array", "items": text},
        "reporting_history": {"type": "array", "items": record(json!({"from": date,
            "to": {"type": ["string", "null"], "format": "date"}, "manager": text_or_null,
            "manager_name": text_or_null}), &["from", "to", "manager"])}}),
            &[
                "as_of",
                "id",
                "name",
                "role",
                "manager",
                "reports",
                "units",
                "reporting_history",
            ],
        ),
    );
    m.insert(
        "PeopleFound".into(),
        record(
            json!({"as_of": date, "q": text, "total": count,
        "people": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}}),
            &["as_of", "q", "total", "people"],
        ),
    );
    let user = record(
        json!({"id": count, "username": text, "person": text_or_null,
        "admin": {"type": "boolean"}, "disabled": {"type": "boolean"}}),
        &["id", "username", "person", "admin", "disabled"],
    );
    m.insert(
        "Me".into(),
        record(
            json!({"user": user, "today": date,
        "grant": {"type": "string", "enum": ["company", "subtree", "nothing"]},
        "home_scope": text_or_null,
        "person": {"anyOf": [{"$ref": "#/components/schemas/Person"}, {"type": "null"}]}}),
            &["user", "grant", "home_scope", "person"],
        ),
    );
    m.insert(
        "Session".into(),
        record(
            json!({"user": user, "csrf": text_or_null}),
            &["user", "csrf"],
        ),
    );
    m.insert(
        "Tokens".into(),
        record(
            json!({"tokens": {"type": "array", "items": record(json!({
        "id": count, "name": text, "prefix": text, "created_at": count,
        "last_used_at": int_or_null, "revoked_at": int_or_null}),
        &["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"])}}),
            &["tokens"],
        ),
    );
    m.insert(
        "Status".into(),
        record(json!({"status": text}), &["status"]),
    );
    let bytes = json!({"type": "integer", "minimum": 0});
    let cache = record(
        json!({"count": count, "bytes": bytes, "budget_bytes": bytes}),
        &["count", "bytes", "budget_bytes"],
    );
    let records: serde_json::Map<String, J> = [
        "people",
        "opportunities",
        "stage_history",
        "leads",
        "activities",
        "accounts",
        "surveys",
    ]
    .iter()
    .map(|k| (k.to_string(), count.clone()))
    .collect();
    let record_names: Vec<&str> = records.keys().map(String::as_str).collect();
    m.insert(
        "ServerStatus".into(),
        record(
            json!({
                "data_version": {"type": "integer"},
                "records": record(J::Object(records.clone()), &record_names),
                "memory": record(json!({
                    "resident_bytes": {"type": ["integer", "null"], "minimum": 0},
                    "book": {"type": "array", "items": record(json!({"part": text, "bytes": bytes}), &["part", "bytes"])},
                    "indexes_bytes": bytes, "spare_pass_bytes": bytes,
                    "standard_passes": {"type": "array", "items": record(
                        json!({"from": text, "to": text, "periods": count, "bytes": bytes, "rows_kept": count}),
                        &["from", "to", "periods", "bytes", "rows_kept"])},
                    "passes": record(
                        json!({"count": count, "compact": count, "bytes": bytes, "budget_bytes": bytes}),
                        &["count", "compact", "bytes", "budget_bytes"]),
                    "drilldowns": cache, "drilldown_orders": cache, "answers": cache,
                }), &["resident_bytes", "book", "indexes_bytes", "spare_pass_bytes", "standard_passes", "passes", "drilldowns", "drilldown_orders", "answers"]),
            }),
            &["data_version", "records", "memory"],
        ),
    );
    J::Object(m)
}

/// The document as JSON text.
pub fn document() -> String {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, params, auth) in OPERATIONS {
        let mut parameters: Vec<J> = params
            .iter()
            // (a value left empty is the parameter not given: `allowEmptyValue`)
            .map(|p| json!({"name": p, "in": "query", "required": required(path, p), "allowEmptyValue": !required(path, p), "schema": param_schema(path, p), "description": param_doc(path, p)}))
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
                "200": answer(method, path, params.contains(&"format")),
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
            "schemas": schemas(),
            "responses": {"Error": {"description": "An error", "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string", "enum": ["not_found", "unauthorized", "forbidden", "csrf", "throttled", "bad_request", "not_ready", "load_failed", "internal"]},
                    "message": {"type": "string"}}}}}}}}},
        },
    });
    doc.to_string()
}
