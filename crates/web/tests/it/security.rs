//! Sign-in and its attacks: session fixation, CSRF, throttling, disabled users, tokens,
//! password change, the audit log, the OpenAPI document, and a server on a real socket.

use axum::http::StatusCode;
use salesorg_store::BackendKind;
use salesorg_store::testing::BOTH;

use crate::fixture::*;

#[test]
fn a_session_id_set_before_sign_in_is_never_the_session() {
    for kind in BOTH {
        let fx = fixture(kind);
        let planted = Auth {
            cookie: Some("attacker-chosen-session-id".into()),
            ..Auth::default()
        };
        assert_eq!(
            call(&fx, "GET", "/api/me", &planted, None).status,
            StatusCode::UNAUTHORIZED
        );
        // sign in while the planted cookie is sent
        let r = call(
            &fx,
            "POST",
            "/api/session",
            &planted,
            Some(serde_json::json!({"username": "rep", "password": PASSWORD})),
        );
        assert_eq!(r.status, StatusCode::OK);
        let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
        assert!(!set.contains("attacker-chosen-session-id"));
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        assert_eq!(
            call(&fx, "GET", "/api/me", &planted, None).status,
            StatusCode::UNAUTHORIZED
        );
        // two sign-ins give two different sessions
        let a = sign_in(&fx, "rep", PASSWORD).unwrap();
        let b = sign_in(&fx, "rep", PASSWORD).unwrap();
        assert_ne!(a.cookie, b.cookie);
        assert_ne!(a.csrf, b.csrf);
    }
}

#[test]
fn state_changing_requests_need_the_csrf_token() {
    for kind in BOTH {
        let fx = fixture(kind);
        let auth = sign_in(&fx, "dir_a", PASSWORD).unwrap();
        let no_token = Auth {
            csrf: None,
            ..auth.clone()
        };
        let wrong = Auth {
            csrf: Some("0".repeat(64)),
            ..auth.clone()
        };
        let body = || Some(serde_json::json!({"name": "script"}));
        for a in [&no_token, &wrong] {
            let r = call(&fx, "POST", "/api/me/tokens", a, body());
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
            assert_eq!(r.json()["error"]["code"], "csrf");
            assert_eq!(
                call(&fx, "DELETE", "/api/session", a, None).status,
                StatusCode::FORBIDDEN
            );
        }
        // another session's token does not do either
        let other = sign_in(&fx, "dir_a", PASSWORD).unwrap();
        let crossed = Auth {
            csrf: other.csrf.clone(),
            ..auth.clone()
        };
        assert_eq!(
            call(&fx, "POST", "/api/me/tokens", &crossed, body()).status,
            StatusCode::FORBIDDEN
        );
        // reads need no token; with the right token a write works
        assert_eq!(
            call(&fx, "GET", "/api/me", &no_token, None).status,
            StatusCode::OK
        );
        assert_eq!(
            call(&fx, "POST", "/api/me/tokens", &auth, body()).status,
            StatusCode::OK
        );
        let out = call(&fx, "DELETE", "/api/session", &auth, None);
        assert_eq!(out.status, StatusCode::OK);
        assert!(
            out.headers
                .get("set-cookie")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        assert_eq!(
            call(&fx, "GET", "/api/me", &auth, None).status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[test]
fn repeated_failed_sign_ins_throttle_the_account_and_the_address() {
    for kind in BOTH {
        let fx = fixture(kind);
        let mut last = None;
        for _ in 0..5 {
            last = Some(sign_in(&fx, "lead_b", "wrong password").unwrap_err());
        }
        let last = last.unwrap();
        assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.body);
        assert!(last.headers.get("retry-after").is_some());
        // now even the right password is refused, for this account…
        let r = sign_in(&fx, "lead_b", PASSWORD).unwrap_err();
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.json()["error"]["code"], "throttled");
        // …and from this address for any account
        assert_eq!(
            sign_in(&fx, "rep", PASSWORD).unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
        // an unknown user is refused the same way as a wrong password
        let mut store = fx.app.store().unwrap();
        let now = salesorg_web::now();
        assert!(store.locked_until("user:lead_b", now).unwrap().is_some());
        // the lock ends
        assert!(
            store
                .locked_until("user:lead_b", now + 16 * 60)
                .unwrap()
                .is_none()
        );
        let log = store.audit_log(100, None).unwrap();
        assert!(log.iter().filter(|e| e.action == "sign_in_failed").count() >= 5);
        assert!(log.iter().any(|e| e.action == "sign_in_throttled"));
        fx.app.give_back(store);
    }
}

#[test]
fn unknown_users_and_wrong_passwords_look_the_same() {
    let fx = fixture(BackendKind::Sqlite);
    let a = sign_in(&fx, "nobody-at-all", PASSWORD).unwrap_err();
    let b = sign_in(&fx, "rep", "not the password").unwrap_err();
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body, b.body);
}

#[test]
fn a_disabled_user_is_refused_everywhere() {
    for kind in BOTH {
        let fx = fixture(kind);
        let auth = sign_in(&fx, "rep", PASSWORD).unwrap();
        let r = call(
            &fx,
            "POST",
            "/api/me/tokens",
            &auth,
            Some(serde_json::json!({"name": "script"})),
        );
        let token = Auth {
            bearer: r.json()["token"].as_str().map(str::to_owned),
            ..Auth::default()
        };
        assert_eq!(
            call(&fx, "GET", "/api/me", &token, None).status,
            StatusCode::OK
        );
        let mut store = fx.app.store().unwrap();
        let u = store.user_by_name("rep").unwrap().unwrap();
        store.set_disabled(u.id, true).unwrap();
        fx.app.give_back(store);
        assert_eq!(
            call(&fx, "GET", "/api/me", &auth, None).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&fx, "GET", "/api/me", &token, None).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            sign_in(&fx, "rep", PASSWORD).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[test]
fn api_tokens_are_shown_once_stored_hashed_and_revocable() {
    for kind in BOTH {
        let fx = fixture(kind);
        let auth = sign_in(&fx, "lead_b", PASSWORD).unwrap();
        let made = call(
            &fx,
            "POST",
            "/api/me/tokens",
            &auth,
            Some(serde_json::json!({"name": "nightly export"})),
        )
        .json();
        let secret = made["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("so_") && secret.len() > 40);
        let bearer = Auth {
            bearer: Some(secret.clone()),
            ..Auth::default()
        };
        // a token works without cookies or CSRF, with the same scope as its user
        let me = call(&fx, "GET", "/api/me", &bearer, None).json();
        assert_eq!(me["user"]["username"], "lead_b");
        assert_eq!(
            call(&fx, "GET", "/api/scorecard?scope=company", &bearer, None).status,
            StatusCode::NOT_FOUND
        );
        let list = call(&fx, "GET", "/api/me/tokens", &auth, None);
        assert!(
            !list.body.contains(&secret),
            "the secret is never shown again"
        );
        let mut store = fx.app.store().unwrap();
        let u = store.user_by_name("lead_b").unwrap().unwrap();
        let stored = store.tokens_of(u.id).unwrap();
        assert_eq!(stored.len(), 1);
        assert!(secret.starts_with(&stored[0].prefix));
        fx.app.give_back(store);
        let id = made["id"].as_i64().unwrap();
        // another user cannot revoke it
        let other = sign_in(&fx, "rep", PASSWORD).unwrap();
        assert_eq!(
            call(&fx, "DELETE", &format!("/api/me/tokens/{id}"), &other, None).status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&fx, "DELETE", &format!("/api/me/tokens/{id}"), &auth, None).status,
            StatusCode::OK
        );
        assert_eq!(
            call(&fx, "GET", "/api/me", &bearer, None).status,
            StatusCode::UNAUTHORIZED
        );
        let wrong = Auth {
            bearer: Some("so_0000".into()),
            ..Auth::default()
        };
        assert_eq!(
            call(&fx, "GET", "/api/me", &wrong, None).status,
            StatusCode::UNAUTHORIZED
        );
        // a name is needed, and a short one: blank and overlong names are refused
        for name in ["  ".to_owned(), "é".repeat(101)] {
            let r = call(
                &fx,
                "POST",
                "/api/me/tokens",
                &auth,
                Some(serde_json::json!({ "name": name })),
            );
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{kind}: {}", r.body);
        }
        let longest = serde_json::json!({ "name": "é".repeat(100) });
        let r = call(&fx, "POST", "/api/me/tokens", &auth, Some(longest));
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.body);
        let extra = r.json()["id"].as_i64().unwrap();
        let r = call(
            &fx,
            "DELETE",
            &format!("/api/me/tokens/{extra}"),
            &auth,
            None,
        );
        assert_eq!(r.status, StatusCode::OK, "{kind}");
    }
}

#[test]
fn changing_the_password_ends_the_other_sessions() {
    let fx = fixture(BackendKind::Postgres);
    let a = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let b = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let wrong = call(
        &fx,
        "POST",
        "/api/me/password",
        &a,
        Some(serde_json::json!({"current": "nope", "new": "a brand new secret"})),
    );
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let short = call(
        &fx,
        "POST",
        "/api/me/password",
        &a,
        Some(serde_json::json!({"current": PASSWORD, "new": "short"})),
    );
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let r = call(
        &fx,
        "POST",
        "/api/me/password",
        &a,
        Some(serde_json::json!({"current": PASSWORD, "new": "a brand new secret"})),
    );
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        call(&fx, "GET", "/api/me", &a, None).status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&fx, "GET", "/api/me", &b, None).status,
        StatusCode::UNAUTHORIZED
    );
    assert!(sign_in(&fx, "dir_a", PASSWORD).is_err());
    assert!(sign_in(&fx, "dir_a", "a brand new secret").is_ok());
}

#[test]
fn the_audit_log_records_sign_ins_and_exports_for_admins() {
    let fx = fixture(BackendKind::Sqlite);
    let _ = sign_in(&fx, "cro", "wrong password");
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    assert_eq!(
        call(
            &fx,
            "GET",
            "/api/scorecard/bulk?grain=year&format=csv",
            &cro,
            None
        )
        .status,
        StatusCode::OK
    );
    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    let log = call(&fx, "GET", "/api/admin/audit?limit=50", &admin, None).json();
    let actions: Vec<(&str, &str)> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap(),
            )
        })
        .collect();
    for want in [
        ("cro", "sign_in_failed"),
        ("cro", "sign_in"),
        ("cro", "export"),
        ("admin", "sign_in"),
    ] {
        assert!(actions.contains(&want), "{want:?} in {actions:?}");
    }
}

#[test]
fn errors_have_a_stable_code_and_bad_input_is_a_400() {
    let fx = fixture(BackendKind::Sqlite);
    let auth = sign_in(&fx, "cro", PASSWORD).unwrap();
    for (uri, code) in [
        ("/api/scorecard?period=FY2026-Q9", "bad_request"),
        ("/api/scorecard?kpi=not_a_kpi", "bad_request"),
        ("/api/scorecard?scope=nonsense", "bad_request"),
        ("/api/scorecard?scope=team:P-99999", "not_found"),
        ("/api/org?as_of=2026-02-30", "bad_request"),
        ("/api/opportunities?cursor=zz", "bad_request"),
        ("/api/scorecard/bulk?grain=week", "bad_request"),
        (
            "/api/scorecard/bulk?grain=quarter&from=FY2026-Q2&to=FY2026-Q1",
            "bad_request",
        ),
    ] {
        let r = call(&fx, "GET", uri, &auth, None);
        assert_eq!(r.json()["error"]["code"], code, "{uri}: {}", r.body);
    }
    for (method, uri, body) in [
        ("POST", "/api/session", Some(serde_json::json!({"user": 1}))),
        ("GET", "/api/no-such-route", None),
        ("PUT", "/api/scorecard", None),
    ] {
        let r = call(&fx, method, uri, &auth, body);
        assert!(r.status.is_client_error(), "{method} {uri}");
        assert!(
            r.json()["error"]["code"].is_string(),
            "{method} {uri}: {}",
            r.body
        );
    }
    let anon = call(&fx, "GET", "/api/scorecard", &Auth::default(), None);
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.json()["error"]["code"], "unauthorized");
}

/// The OpenAPI document lists every route the router serves: the routes in the source,
/// the route table, and the document must agree.
#[test]
fn the_openapi_document_lists_every_route() {
    let src = include_str!("../../src/api.rs");
    let lib = include_str!("../../src/lib.rs");
    let mut in_router: Vec<String> = Vec::new();
    for text in [src, lib] {
        for part in text.split(".route(").skip(1) {
            in_router.push(part.trim_start().split('"').nth(1).unwrap().to_owned());
        }
    }
    let table: Vec<&str> = salesorg_web::api::ROUTES.iter().map(|r| r.1).collect();
    for p in &in_router {
        assert!(
            table.contains(&p.as_str()),
            "route {p} is missing from api::ROUTES"
        );
    }
    let doc: serde_json::Value = serde_json::from_str(&salesorg_web::openapi::document()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in salesorg_web::api::ROUTES {
        assert!(
            doc["paths"][path][method.to_ascii_lowercase()].is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
        assert!(
            in_router.iter().any(|p| p == path),
            "{path} is in the table but not routed"
        );
    }
    let fx = fixture(BackendKind::Sqlite);
    for (method, path) in salesorg_web::api::ROUTES {
        let uri = path.replace("{id}", "x");
        let r = call(&fx, method, &uri, &Auth::default(), None);
        assert!(
            r.status != StatusCode::NOT_FOUND && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is not served: {}",
            r.status
        );
    }
    let r = call(&fx, "GET", "/api/openapi.json", &Auth::default(), None);
    assert_eq!(
        r.json()["paths"].as_object().unwrap().len(),
        doc["paths"].as_object().unwrap().len()
    );
}

/// `serve` on a real socket: health, readiness once loaded, the API over TCP.
#[test]
fn the_server_answers_on_a_socket() {
    use std::io::{Read, Write};
    let fx = fixture(BackendKind::Sqlite);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = fx.app.cfg.clone();
    cfg.reload_every = std::time::Duration::from_millis(200);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    std::thread::spawn(move || salesorg_web::serve(cfg, addr));
    let get = |path: &str| -> Option<String> {
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let mut ready = None;
    for _ in 0..300 {
        if let Some(r) = get("/ready")
            && r.starts_with("HTTP/1.1 200")
        {
            ready = Some(r);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ready.is_some(), "the server never became ready");
    assert!(get("/health").unwrap().starts_with("HTTP/1.1 200"));
    assert!(get("/api/me").unwrap().starts_with("HTTP/1.1 401"));
}

/// Hostile parameters on every route: answered with 4xx (or 200), never a 5xx or a panic.
#[test]
fn hostile_parameters_never_cause_a_server_error() {
    let fx = fixture(BackendKind::Sqlite);
    let auth = sign_in(&fx, "cro", PASSWORD).unwrap();
    let weird = [
        "",
        "%00",
        "FY99999",
        "FY-1",
        "9999-99",
        "0000-01",
        "FY2024-Q0",
        "FY2024-Q5",
        "FY2024-Q44444444444444444",
        "2024-01-01..2023-01-01",
        "2024-01-01..9999-12-31",
        "-1",
        "2024-13-01",
        "team:",
        "unit:",
        ":",
        "person:%00",
        ",,,",
        "bookings,bookings",
        "99999999999999999999.1",
        "1.99999999999999999999",
        "-1.0",
        "0.18446744073709551615",
        "18446744073709551615",
        "0",
        "%F0%9F%92%A3",
        "%27%22%3C",
    ];
    let routes = [
        "/api/scorecard?scope={}&period={}&kpi={}",
        "/api/scorecard/bulk?grain={}&from={}&to={}&format={}",
        "/api/explain?kpi={}&scope={}&period={}&page={}&per_page={}",
        "/api/opportunities?scope={}&period={}&cursor={}&per_page={}",
        "/api/leads?cursor={}&per_page={}&period={}",
        "/api/activities?cursor={}&period={}",
        "/api/org?as_of={}&root={}&depth={}",
        "/api/people/{}?as_of={}",
        "/api/roles/{}",
        "/api/scorecard/person/{}?period={}&kpi={}",
        "/api/admin/audit?before={}&limit={}",
        "/scope?scope={}&period={}",
        "/explain?kpi={}&scope={}&period={}&sort={}&dir={}&page={}",
        "/org?as_of={}&root={}",
        "/people/{}?period={}",
        "/roles/compare?a={}&b={}",
        "/login?next={}",
    ];
    for (i, w) in weird.iter().enumerate() {
        for r in routes {
            // fill each slot with a different hostile value
            let mut uri = String::new();
            let mut k = i;
            for part in r.split("{}").enumerate() {
                if part.0 > 0 {
                    uri.push_str(weird[k % weird.len()]);
                    k += 7;
                }
                uri.push_str(part.1);
            }
            let res = call(&fx, "GET", &uri, &auth, None);
            assert!(
                res.status.as_u16() < 500,
                "{uri} ({w}): {} {}",
                res.status,
                res.body
            );
            if uri.starts_with("/api/") && res.status != StatusCode::OK {
                let code = res.json()["error"]["code"].as_str().map(str::to_owned);
                assert!(
                    code.is_some(),
                    "{uri}: a JSON error with a code: {}",
                    res.body
                );
            }
        }
    }
}

/// Every query parameter of the API is read as the OpenAPI document types it: a value
/// left empty is an absent one (as a form sends a blank field), a whole number or a flag
/// of another form and a value outside a closed list are refused with a 400 that names
/// the parameter, and a flag reads `1` as `true`; the web app's pages answer a malformed
/// parameter with their own error page (they had answered `?page=` and `?page=abc` with
/// axum's plain-text "Failed to deserialize query string").
#[test]
fn query_parameters_are_read_as_the_openapi_document_types_them() {
    let fx = fixture(BackendKind::Sqlite);
    let auth = sign_in(&fx, "cro", PASSWORD).unwrap();
    let me = call(&fx, "GET", "/api/me", &auth, None).json();
    let person = me["person"]["id"].as_str().unwrap().to_owned();
    let doc: serde_json::Value = serde_json::from_str(&salesorg_web::openapi::document()).unwrap();
    let (mut typed, mut listed) = (0, 0);
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let Some(op) = ops.get("get") else { continue };
        // (the parameters an operation needs to answer at all)
        let base = match path.as_str() {
            "/api/explain" | "/api/trend" => "kpi=win_rate",
            _ => "",
        };
        // the operation's uri with `name` set to `value` (or not given), in place of the
        // same parameter in `base`
        let at = |name: &str, value: Option<&str>| {
            let mut q: Vec<String> = base
                .split('&')
                .filter(|s| !s.is_empty() && s.split('=').next() != Some(name))
                .map(str::to_owned)
                .collect();
            q.extend(value.map(|v| format!("{name}={v}")));
            format!("{}?{}", path.replace("{id}", &person), q.join("&"))
        };
        for p in op["parameters"].as_array().unwrap() {
            if p["in"] != "query" {
                continue;
            }
            let name = p["name"].as_str().unwrap();
            let schema = &p["schema"];
            let without = call(&fx, "GET", &at(name, None), &auth, None);
            if p["required"] == true {
                assert_eq!(
                    without.status,
                    StatusCode::BAD_REQUEST,
                    "{path} without {name}"
                );
            }
            let empty = call(&fx, "GET", &at(name, Some("")), &auth, None);
            assert_eq!(
                (
                    empty.status,
                    empty.status.is_success() || empty.body == without.body
                ),
                (without.status, true),
                "{path}?{name}= answers otherwise than without it: {}",
                empty.body
            );
            let refused = |value: &str| {
                let r = call(&fx, "GET", &at(name, Some(value)), &auth, None);
                assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}?{name}={value}");
                let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
                assert!(
                    msg.starts_with(name) && msg.contains(&format!("{value:?}")),
                    "{path}?{name}={value}: {msg}"
                );
            };
            match schema["type"].as_str() {
                Some("integer") => {
                    typed += 1;
                    refused("abc");
                    refused("1.5");
                    if let Some(max) = schema["maximum"].as_u64() {
                        let over = call(
                            &fx,
                            "GET",
                            &at(name, Some(&(max + 1).to_string())),
                            &auth,
                            None,
                        );
                        assert_eq!(
                            over.status,
                            StatusCode::BAD_REQUEST,
                            "{path}?{name}={}",
                            max + 1
                        );
                        let at_max =
                            call(&fx, "GET", &at(name, Some(&max.to_string())), &auth, None);
                        assert_eq!(at_max.status, without.status, "{path}?{name}={max}");
                    }
                }
                Some("boolean") => {
                    typed += 1;
                    refused("maybe");
                    let one = call(&fx, "GET", &at(name, Some("1")), &auth, None);
                    let yes = call(&fx, "GET", &at(name, Some("true")), &auth, None);
                    assert_eq!(
                        (one.status, &one.body),
                        (yes.status, &yes.body),
                        "{path}?{name}=1"
                    );
                }
                _ => {}
            }
            if schema["pattern"].is_string() {
                listed += 1;
                refused("nope");
            }
            if let Some(values) = schema["enum"].as_array() {
                listed += 1;
                refused("nope");
                // (any of a closed list is taken; a KPI only where the operation can
                // show it: a table-valued one has no history, a board ranks by its own)
                let closed = name != "kpi" && name != "sort";
                for v in values.iter().filter(|_| closed) {
                    let v = v.as_str().unwrap();
                    let r = call(&fx, "GET", &at(name, Some(v)), &auth, None);
                    assert_eq!(r.status, without.status, "{path}?{name}={v}: {}", r.body);
                }
            }
        }
    }
    assert!(
        typed >= 10 && listed >= 30,
        "{typed} typed, {listed} listed"
    );
    // the pages: an empty value is absent, a malformed one the app's own error page
    for uri in [
        "/reps?page=",
        "/explain?kpi=win_rate&page=&history=",
        "/org?as_of=",
    ] {
        let r = call(&fx, "GET", uri, &auth, None);
        assert_eq!(r.status, StatusCode::OK, "{uri}");
    }
    for (uri, says) in [
        (
            "/reps?page=abc",
            "page: &quot;abc&quot; is not a whole number",
        ),
        (
            "/explain?kpi=win_rate&history=yes%3F",
            "history: &quot;yes?&quot; is not true or false",
        ),
        (
            "/teams?page=-1",
            "page: &quot;-1&quot; is not a whole number",
        ),
    ] {
        let r = call(&fx, "GET", uri, &auth, None);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{uri}"
        );
        assert!(
            r.body.contains(says) && r.body.contains("</html>"),
            "{uri}: {}",
            r.body
        );
    }
}

/// Whether `v` holds to `schema` of the OpenAPI document `doc`: the part of JSON Schema
/// the document uses (`$ref`, `type`, `properties`, `required`, `additionalProperties`,
/// `items`, `enum`, `anyOf`, and the formats `date` and `decimal`, which stand for the
/// patterns beside them). The first place it does not, with why.
fn conforms(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    v: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value as J;
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return conforms(doc, &doc["components"]["schemas"][name], v, at);
    }
    if let Some(any) = schema["anyOf"].as_array() {
        return any
            .iter()
            .any(|s| conforms(doc, s, v, at).is_ok())
            .then_some(())
            .ok_or_else(|| format!("{at}: {v} is none of {schema}"));
    }
    let kind = match v {
        J::Null => "null",
        J::Bool(_) => "boolean",
        J::Number(n) if n.is_i64() || n.is_u64() => "integer",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    };
    let types: Vec<&str> = match &schema["type"] {
        J::String(t) => vec![t.as_str()],
        J::Array(ts) => ts.iter().filter_map(J::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty()
        && !types
            .iter()
            .any(|t| *t == kind || (*t == "number" && kind == "integer"))
    {
        return Err(format!("{at}: {v} is not {types:?}"));
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        return Err(format!("{at}: {v} is not one of the list"));
    }
    if let (Some(f), J::String(s)) = (schema["format"].as_str(), v) {
        let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
        let ok = match f {
            "date" => {
                let p: Vec<&str> = s.split('-').collect();
                p.len() == 3
                    && p[0].len() == 4
                    && p[1].len() == 2
                    && p[2].len() == 2
                    && p.iter().all(|x| digits(x))
            }
            "decimal" => s
                .trim_start_matches('-')
                .split_once('.')
                .is_some_and(|(a, b)| digits(a) && digits(b) && (2..=4).contains(&b.len())),
            _ => true,
        };
        if !ok {
            return Err(format!("{at}: {s:?} is not a {f}"));
        }
    }
    if let J::Object(o) = v {
        for r in schema["required"].as_array().into_iter().flatten() {
            let r = r.as_str().unwrap();
            if !o.contains_key(r) {
                return Err(format!("{at}: {r} is missing"));
            }
        }
        for (k, x) in o {
            let sub = &schema["properties"][k];
            if !sub.is_null() {
                conforms(doc, sub, x, &format!("{at}.{k}"))?;
            } else if schema["additionalProperties"] == false {
                return Err(format!("{at}: {k} is not in the schema"));
            } else if schema["additionalProperties"].is_object() {
                conforms(
                    doc,
                    &schema["additionalProperties"],
                    x,
                    &format!("{at}.{k}"),
                )?;
            }
        }
    }
    if let (J::Array(a), Some(items)) = (v, schema.get("items")) {
        for (i, x) in a.iter().enumerate() {
            conforms(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Every JSON answer of the API's data routes holds to the schema the OpenAPI document
/// gives it, for viewers from the CRO to a rep: each KPI's value of its kind (money a
/// decimal string, a count an integer, a ratio a number, a table an array), no field the
/// schema does not name, none it requires missing; errors hold to the error's schema.
#[test]
fn every_answer_holds_to_its_openapi_schema() {
    let fx = fixture(BackendKind::Sqlite);
    let doc: serde_json::Value = serde_json::from_str(&salesorg_web::openapi::document()).unwrap();
    let all = salesorg_core::kpi::KPI_IDS.join(",");
    let mut checked = 0;
    for viewer in ["cro", "dir_a", "rep"] {
        let auth = sign_in(&fx, viewer, PASSWORD).unwrap();
        let me = call(&fx, "GET", "/api/me", &auth, None).json();
        let person = me["person"]["id"].as_str().unwrap().to_owned();
        let mut uris: Vec<String> = vec![
            format!("/api/scorecard?kpi={all}"),
            format!("/api/scorecard?kpi={all}&period=FY2025"),
            format!("/api/scorecard/person/{person}?kpi={all}"),
            format!("/api/scorecard/person/{person}"),
            format!("/api/scorecard/bulk?grain=year&kpi={all}"),
            "/api/trend?kpi=bookings".into(),
            "/api/trend?kpi=win_rate&grain=month&period=2025-06".into(),
            "/api/reps?per_page=5".into(),
            "/api/teams".into(),
            "/api/opportunities?per_page=20".into(),
            "/api/leads?per_page=20".into(),
            "/api/activities?per_page=20".into(),
            "/api/kpis".into(),
            "/api/org".into(),
            "/api/org?depth=1".into(),
            "/api/people?q=a".into(),
            format!("/api/people/{person}"),
            "/api/me".into(),
            "/api/session".into(),
            "/api/me/tokens".into(),
            "/health".into(),
            "/ready".into(),
            "/api/explain?kpi=win_rate&q=a".into(),
            "/api/explain?kpi=nope".into(),
        ];
        for k in [
            "bookings",
            "stage_conversion",
            "loss_reasons",
            "calls",
            "sales_cycle_days",
            "quota_attainment",
        ] {
            uris.push(format!("/api/explain?kpi={k}&per_page=5"));
        }
        for uri in &uris {
            let r = call(&fx, "GET", uri, &auth, None);
            let path = uri.split('?').next().unwrap().replace(&person, "{id}");
            let schema = if r.status == StatusCode::OK {
                doc["paths"][&path]["get"]["responses"]["200"]["content"]["application/json"]["schema"].clone()
            } else {
                doc["components"]["responses"]["Error"]["content"]["application/json"]["schema"]
                    .clone()
            };
            assert!(schema.is_object(), "{path}: no schema");
            if let Err(e) = conforms(&doc, &schema, &r.json(), "") {
                panic!("{viewer} {uri} ({}): {e}", r.status);
            }
            checked += 1;
        }
    }
    assert!(checked >= 60);
    // an admin's status of the server, before and after a pass over a range of its own
    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let schema = &doc["paths"]["/api/admin/status"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"];
    for warm in [false, true] {
        if warm {
            fx.app.warm_grids().unwrap();
            call(
                &fx,
                "GET",
                "/api/scorecard?period=2026-02-03..2026-03-17",
                &cro,
                None,
            );
        }
        let r = call(&fx, "GET", "/api/admin/status", &admin, None);
        assert_eq!(r.status, StatusCode::OK);
        if let Err(e) = conforms(&doc, schema, &r.json(), "") {
            panic!("/api/admin/status: {e}");
        }
    }
    // the check finds what it is for: a count that came as a string, a field the
    // schema does not name
    let row = &doc["components"]["schemas"]["ScorecardRow"];
    let ok = serde_json::json!({"scope": "company", "period": "FY2025", "period_start": "2025-01-01",
        "period_end": "2026-01-01", "as_of": "2025-12-31", "currency": "USD",
        "kpis": {"won_deals": 3, "bookings": "12.50", "win_rate": 0.5}, "undefined": {}});
    conforms(&doc, row, &ok, "").unwrap();
    for (k, bad) in [
        ("won_deals", serde_json::json!("3")),
        ("bookings", serde_json::json!(12.5)),
        ("nope", serde_json::json!(1)),
    ] {
        let mut v = ok.clone();
        v["kpis"][k] = bad;
        assert!(conforms(&doc, row, &v, "").is_err(), "{k}");
    }
}

/// Text from the CRM is shown, never run: with every person's name and title, every unit's
/// name, every account's name and industry, and every deal's name, loss reason, next step,
/// type and source holding markup (and the query's own texts holding some too), no page
/// any viewer opens holds that markup as markup; each shows it as text.
#[test]
fn markup_in_the_crms_text_is_shown_as_text_on_every_page() {
    const MARK: &str = "\"'><inj-x>";
    let marked = |s: &str| format!("{s} {MARK}");
    let fx = fixture_with(BackendKind::Sqlite, |s| {
        let people: Vec<_> = s
            .people()
            .unwrap()
            .into_iter()
            .map(|mut p| {
                p.name = marked(&p.name);
                p.title = Some(marked(p.title.as_deref().unwrap_or("")));
                p
            })
            .collect();
        s.upsert_people(&people).unwrap();
        let units: Vec<_> = s
            .units()
            .unwrap()
            .into_iter()
            .map(|mut u| {
                u.name = marked(&u.name);
                u
            })
            .collect();
        s.upsert_units(&units).unwrap();
        let accounts: Vec<_> = s
            .accounts()
            .unwrap()
            .into_iter()
            .map(|mut a| {
                a.name = marked(&a.name);
                a.industry = Some(marked(a.industry.as_deref().unwrap_or("")));
                a
            })
            .collect();
        s.upsert_accounts(&accounts).unwrap();
        let opps: Vec<_> = s
            .opportunities()
            .unwrap()
            .into_iter()
            .map(|mut o| {
                o.name = Some(marked(o.name.as_deref().unwrap_or("")));
                o.loss_reason = o.loss_reason.as_deref().map(marked);
                o.next_step = Some(marked(o.next_step.as_deref().unwrap_or("")));
                o.kind = Some(marked(o.kind.as_deref().unwrap_or("")));
                o.source = Some(marked(o.source.as_deref().unwrap_or("")));
                o
            })
            .collect();
        s.upsert_opportunities(&mut opps.iter()).unwrap();
    });
    let q = "%22%27%3E%3Cinj-x%3E";
    let (rep, dir) = (fx.person("rep"), fx.person("dir_a"));
    let mut pages = vec![
        "/".to_owned(),
        "/?period=FY2026-Q3".to_owned(),
        format!("/people/{rep}?period=FY2026-Q3"),
        format!("/people/{dir}?period=FY2026-Q3"),
        "/scope?scope=company&period=FY2026-Q3".to_owned(),
        "/org?as_of=2026-11-20".to_owned(),
        format!("/org?q={q}"),
        "/org?q=inj".to_owned(),
        "/reps?scope=company&period=FY2026-Q3".to_owned(),
        format!("/reps?scope=company&period=FY2026-Q3&q={q}"),
        "/teams?scope=company&period=FY2026-Q3".to_owned(),
        "/roles".to_owned(),
        "/account".to_owned(),
    ];
    for kpi in [
        "bookings",
        "win_rate",
        "loss_reasons",
        "pipeline_coverage",
        "stage_conversion",
        "calls_per_rep_day",
        "lead_response_minutes_median",
        "pipeline_open",
        "active_customers",
        "headcount",
        "quota_attainment",
        "new_customers",
    ] {
        pages.push(format!("/explain?kpi={kpi}&scope=company&period=FY2026-Q3"));
        pages.push(format!(
            "/explain?kpi={kpi}&scope=team:{dir}&period=FY2026-Q3&find=inj"
        ));
        pages.push(format!(
            "/explain?kpi={kpi}&scope=company&period=FY2026-Q3&find={q}"
        ));
    }
    let mut shown = 0;
    for viewer in ["cro", "dir_a", "rep", "admin"] {
        let auth = sign_in(&fx, viewer, PASSWORD).unwrap();
        let mine: Vec<String> = if viewer == "admin" {
            vec!["/admin".to_owned(), "/account".to_owned()]
        } else {
            pages.clone()
        };
        for uri in mine {
            let r = call(&fx, "GET", &uri, &auth, None);
            assert!(r.status.as_u16() < 500, "{viewer} {uri}: {}", r.status);
            assert!(
                !r.body.contains("<inj-x"),
                "{viewer} {uri}: markup from the CRM's text is on the page as markup:\n{}",
                r.body
                    .lines()
                    .filter(|l| l.contains("<inj-x"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            shown += usize::from(r.body.contains("&lt;inj-x&gt;"));
        }
    }
    // (the texts are on the pages, as text)
    assert!(shown > 20, "only {shown} pages show the marked texts");
}
