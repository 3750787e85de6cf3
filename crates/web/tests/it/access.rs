//! The access matrix: every data route × viewer (admin, CRO, director of region A, sales
//! manager in region B, rep) × target people inside and outside their scope. A target
//! outside answers 404, and no body ever names a person outside the viewer's subtree.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use salesorg_store::testing::BOTH;

use crate::fixture::*;

const VIEWERS: [&str; 5] = ["admin", "cro", "dir_a", "lead_b", "rep"];
const Q: &str = "FY2026-Q3";

/// Person ids (`P-00012`) named in a body.
fn person_ids(body: &str) -> BTreeSet<String> {
    let b = body.as_bytes();
    let mut out = BTreeSet::new();
    for i in 0..b.len().saturating_sub(6) {
        if b[i] == b'P'
            && b[i + 1] == b'-'
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b[i + 2..i + 7].iter().all(u8::is_ascii_digit)
        {
            out.insert(body[i..i + 7].to_owned());
        }
    }
    out
}

fn assert_no_leak(viewer: &str, what: &str, body: &str, seen: &BTreeSet<String>, all: bool) {
    if all {
        return;
    }
    for id in person_ids(body) {
        assert!(
            seen.contains(&id),
            "{viewer} sees {id} in {what}: {body:.400}"
        );
    }
}

#[test]
fn every_route_answers_each_viewer_only_within_their_scope() {
    for kind in BOTH {
        let fx = fixture(kind);
        let mut store = fx.app.store().unwrap();
        let org = store.org().unwrap();
        fx.app.give_back(store);
        let dir_b = org
            .manager_on(&fx.person("lead_b").parse().unwrap(), today())
            .unwrap()
            .to_string();
        let mut targets: Vec<String> = ["cro", "dir_a", "lead_b", "rep"]
            .iter()
            .map(|v| fx.person(v))
            .collect();
        targets.push(dir_b);
        for viewer in VIEWERS {
            let auth = sign_in(&fx, viewer, PASSWORD).unwrap_or_else(|r| panic!("{}", r.body));
            let seen = visible(&fx, viewer);
            let all = viewer == "cro";
            let now_under: BTreeSet<String> = match fx
                .people
                .iter()
                .find(|(n, _)| *n == viewer)
                .and_then(|(_, p)| p.clone())
            {
                Some(me) => org
                    .subtree(&me.parse().unwrap(), today())
                    .iter()
                    .map(|p| p.to_string())
                    .collect(),
                None => BTreeSet::new(),
            };
            for t in &targets {
                let may = viewer != "admin" && (all || seen.contains(t));
                let routes = [
                    format!("/api/people/{t}"),
                    format!("/api/scorecard?scope=person:{t}&period={Q}"),
                    format!("/api/scorecard?scope=team:{t}&period={Q}"),
                    format!("/api/scorecard/person/{t}?period={Q}"),
                    format!("/api/explain?kpi=bookings&scope=team:{t}&period={Q}"),
                    format!("/api/opportunities?scope=team:{t}&period={Q}&per_page=500"),
                    format!("/api/leads?scope=team:{t}&period={Q}&per_page=500"),
                    format!("/api/activities?scope=team:{t}&period={Q}&per_page=500"),
                    format!("/api/reps?scope=team:{t}&period={Q}"),
                    format!("/api/teams?scope=team:{t}&period={Q}"),
                    format!("/api/trend?kpi=bookings&scope=team:{t}&period={Q}"),
                ];
                for uri in &routes {
                    let r = call(&fx, "GET", uri, &auth, None);
                    let want = if may {
                        StatusCode::OK
                    } else {
                        StatusCode::NOT_FOUND
                    };
                    assert_eq!(r.status, want, "{kind} {viewer} {uri}: {:.300}", r.body);
                    if r.status == StatusCode::NOT_FOUND {
                        assert_eq!(r.json()["error"]["code"], "not_found");
                        assert!(!r.body.contains(t.as_str()), "a 404 names the id");
                    }
                    assert_no_leak(viewer, uri, &r.body, &seen, all);
                }
                let uri = format!("/api/org?root={t}");
                let r = call(&fx, "GET", &uri, &auth, None);
                let may_root = viewer != "admin" && (all || now_under.contains(t));
                assert_eq!(
                    r.status == StatusCode::OK,
                    may_root,
                    "{kind} {viewer} {uri}: {:.300}",
                    r.body
                );
                assert_no_leak(viewer, &uri, &r.body, &seen, all);
            }
            // routes without a target
            let company = call(
                &fx,
                "GET",
                &format!("/api/scorecard?scope=company&period={Q}"),
                &auth,
                None,
            );
            assert_eq!(
                company.status == StatusCode::OK,
                all,
                "{kind} {viewer} company"
            );
            let unit = call(
                &fx,
                "GET",
                &format!("/api/scorecard?scope=unit:company&period={Q}"),
                &auth,
                None,
            );
            assert_eq!(
                unit.status == StatusCode::OK,
                all,
                "{kind} {viewer} unit:company"
            );
            for uri in [
                format!("/api/scorecard?period={Q}"),
                "/api/org".to_owned(),
                "/api/me".to_owned(),
                format!("/api/scorecard/bulk?grain=quarter&from=FY2026-Q1&to={Q}"),
                "/api/scorecard/bulk?grain=month&from=2026-01&to=2026-09&format=csv".to_owned(),
                format!("/api/explain?kpi=win_rate&period={Q}"),
                format!("/api/opportunities?period={Q}&per_page=500"),
                format!("/api/reps?period={Q}"),
                format!("/api/teams?period={Q}"),
                format!("/api/trend?kpi=win_rate&period={Q}&periods=36"),
                "/api/people?q=a&limit=500".to_owned(),
            ] {
                let r = call(&fx, "GET", &uri, &auth, None);
                let ok = viewer != "admin" || uri == "/api/me" || uri.contains("/bulk");
                assert_eq!(
                    r.status == StatusCode::OK,
                    ok,
                    "{kind} {viewer} {uri}: {:.300}",
                    r.body
                );
                assert_no_leak(viewer, &uri, &r.body, &seen, all);
                if uri.contains("/bulk") && !all {
                    assert!(
                        !r.body.contains("unit:company"),
                        "{viewer} gets the company unit"
                    );
                }
            }
            for uri in ["/api/admin/users", "/api/admin/audit", "/api/admin/status"] {
                let r = call(&fx, "GET", uri, &auth, None);
                assert_eq!(
                    r.status == StatusCode::OK,
                    viewer == "admin",
                    "{kind} {viewer} {uri}"
                );
            }
            for uri in ["/api/roles", "/api/roles/vp_inside_sales", "/api/kpis"] {
                assert_eq!(call(&fx, "GET", uri, &auth, None).status, StatusCode::OK);
            }
        }
    }
}

/// A leader's numbers for their own team are the engine's numbers for that scope, and
/// equal what a company-wide viewer sees for the same scope.
#[test]
fn a_leaders_figures_match_the_engine() {
    for kind in BOTH {
        let fx = fixture(kind);
        let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
        let loaded = fx.app.engine().unwrap();
        let e = loaded.engine();
        for viewer in ["dir_a", "lead_b", "rep"] {
            let auth = sign_in(&fx, viewer, PASSWORD).unwrap();
            let me = fx.person(viewer);
            let scope = if viewer == "rep" {
                format!("person:{me}")
            } else {
                format!("team:{me}")
            };
            let mine = call(
                &fx,
                "GET",
                &format!("/api/scorecard?period={Q}"),
                &auth,
                None,
            )
            .json();
            assert_eq!(
                mine["scope"],
                scope.as_str(),
                "{viewer} lands on their own scope"
            );
            let theirs = call(
                &fx,
                "GET",
                &format!("/api/scorecard?scope={scope}&period={Q}"),
                &cro,
                None,
            )
            .json();
            assert_eq!(mine["kpis"], theirs["kpis"], "{kind} {viewer}");
            let p = salesorg_core::period::Period::parse(Q, &e.book.settings.fiscal).unwrap();
            let rows = e
                .run(
                    &[e.scope(&scope).unwrap()],
                    &[p],
                    &["bookings", "won_deals", "win_rate"],
                    today(),
                )
                .unwrap();
            let want = salesorg_engine::scorecard::row_json(
                e,
                &rows[0],
                &["bookings", "won_deals", "win_rate"],
            );
            let want: serde_json::Value = serde_json::from_str(&want).unwrap();
            for k in ["bookings", "won_deals", "win_rate"] {
                assert_eq!(mine["kpis"][k], want["kpis"][k], "{kind} {viewer} {k}");
            }
        }
    }
}

/// After warming, a company-wide viewer's scopes have every KPI kept for every standard
/// period; any list of KPIs over any of those periods is answered from them, and equals
/// what the engine computes for that list alone. Views read the kept rows, never add any.
#[test]
fn a_company_viewers_kept_rows_are_the_engines() {
    let fx = fixture(salesorg_store::BackendKind::Sqlite);
    assert!(fx.app.warm_grids().unwrap() > 0);
    fx.app.warm().unwrap();
    let loaded = fx.app.engine().unwrap();
    let kept = loaded.kept_rows();
    assert!(kept > 0, "warming keeps the CRO's rows");
    let e = loaded.engine();
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let vp = fx.person("vp");
    let lists: [&[&str]; 4] = [
        &["bookings"],
        &[
            "win_rate",
            "sales_cycle_days_median",
            "lead_response_minutes_median",
        ],
        &[
            "stage_conversion",
            "loss_reasons",
            "ltv",
            "revenue_growth_yoy",
        ],
        &[
            "quota_attainment",
            "reps_at_quota_share",
            "pipeline_coverage",
            "bookings",
        ],
    ];
    for scope in ["company".to_owned(), format!("team:{vp}")] {
        for period in ["FY2026-Q2", "FY2025-Q3", "2026-05", "2025-11", "FY2025"] {
            for kpis in lists {
                let got = call(
                    &fx,
                    "GET",
                    &format!(
                        "/api/scorecard?scope={scope}&period={period}&kpi={}",
                        kpis.join(",")
                    ),
                    &cro,
                    None,
                );
                assert_eq!(got.status, StatusCode::OK, "{scope} {period}");
                let got = got.json();
                let p =
                    salesorg_core::period::Period::parse(period, &e.book.settings.fiscal).unwrap();
                let rows = e
                    .run(&[e.scope(&scope).unwrap()], &[p], kpis, today())
                    .unwrap();
                let want: serde_json::Value =
                    serde_json::from_str(&salesorg_engine::scorecard::row_json(e, &rows[0], kpis))
                        .unwrap();
                assert_eq!(got["kpis"], want["kpis"], "{scope} {period} {kpis:?}");
            }
        }
    }
    assert_eq!(loaded.kept_rows(), kept, "views do not add kept rows");
}

/// A Director's numbers are the engine's whether their request made a pass of its own
/// (no company-wide pass for its periods yet) or rolled up from the company-wide pass that
/// a CRO's request made in between.
#[test]
fn own_passes_and_the_shared_pass_agree() {
    let fx = fixture(salesorg_store::BackendKind::Sqlite);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let loaded = fx.app.engine().unwrap();
    let e = loaded.engine();
    let me = fx.person("dir_a");
    let kpis = [
        "bookings",
        "won_deals",
        "win_rate",
        "pipeline_open",
        "calls",
    ];
    let list = kpis.join(",");
    let check = |scope: &str| {
        let got = call(
            &fx,
            "GET",
            &format!("/api/scorecard?scope={scope}&period={Q}&kpi={list}"),
            &dir,
            None,
        )
        .json();
        let p = salesorg_core::period::Period::parse(Q, &e.book.settings.fiscal).unwrap();
        let rows = e
            .run(&[e.scope(scope).unwrap()], &[p], &kpis, today())
            .unwrap();
        let want: serde_json::Value =
            serde_json::from_str(&salesorg_engine::scorecard::row_json(e, &rows[0], &kpis))
                .unwrap();
        for k in kpis {
            assert_eq!(got["kpis"][k], want["kpis"][k], "{scope} {k}");
        }
    };
    check(&format!("team:{me}"));
    // the CRO's company-wide request makes the shared pass for the same periods and KPIs
    let company = call(
        &fx,
        "GET",
        &format!("/api/scorecard?scope=company&period={Q}&kpi={list}"),
        &cro,
        None,
    );
    assert_eq!(company.status, StatusCode::OK);
    check(&format!("person:{me}"));
    check(&format!("team:{me}"));
}

/// Pages of records join up: no record twice, none dropped, every owner visible.
#[test]
fn record_pages_join_up() {
    let fx = fixture(salesorg_store::BackendKind::Sqlite);
    let auth = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let seen = visible(&fx, "dir_a");
    let all = call(
        &fx,
        "GET",
        &format!("/api/activities?period={Q}&per_page=500"),
        &auth,
        None,
    )
    .json();
    let mut ids: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            None => format!("/api/activities?period={Q}&per_page=7"),
            Some(c) => format!("/api/activities?period={Q}&per_page=7&cursor={c}"),
        };
        let page = call(&fx, "GET", &uri, &auth, None).json();
        for it in page["items"].as_array().unwrap() {
            assert!(seen.contains(it["owner"].as_str().unwrap()));
            ids.push(it["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let want: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(want.len() > 20, "the fixture has activities in {Q}");
    assert_eq!(ids, want);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
}

/// Random viewer (anyone in the org), random scope and route: every person a body names
/// was in the viewer's subtree at some time, and scopes outside it answer 404.
#[test]
fn random_viewers_never_see_outside_their_subtree() {
    use proptest::prelude::*;
    let fx = fixture(salesorg_store::BackendKind::Sqlite);
    let mut store = fx.app.store().unwrap();
    let people: Vec<String> = store
        .people()
        .unwrap()
        .iter()
        .map(|p| p.id.to_string())
        .collect();
    let hash = salesorg_web::auth::hash_password(PASSWORD).unwrap();
    for p in &people {
        store
            .create_user(&format!("u-{p}"), Some(p), &hash, false, 1)
            .unwrap();
    }
    let org = store.org().unwrap();
    fx.app.give_back(store);
    let n = people.len();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    });
    let periods = [
        "FY2025",
        "FY2026-Q1",
        "2026-05",
        "FY2024-Q4",
        "2026-01-15..2026-03-01",
    ];
    runner
        .run(
            &(0..n, 0..n, 0usize..6, 0usize..periods.len()),
            |(v, t, route, pi)| {
                let viewer = &people[v];
                let target = &people[t];
                let auth = sign_in(&fx, &format!("u-{viewer}"), PASSWORD).unwrap();
                let me = salesorg_core::ids::PersonId::parse(viewer).unwrap();
                let mut days: BTreeSet<salesorg_core::date::Date> = BTreeSet::new();
                for l in org.lines() {
                    days.insert(l.valid.from);
                    if let Some(e) = l.valid.to {
                        days.insert(e.previous_day().unwrap());
                    }
                }
                let seen = |id: &str| {
                    id == viewer.as_str() || {
                        let pid = salesorg_core::ids::PersonId::parse(id).unwrap();
                        days.iter().any(|&d| org.chain(&pid, d).contains(&me))
                    }
                };
                // company-wide roles see everything; skip them here (the matrix covers them)
                let r = call(&fx, "GET", "/api/me", &auth, None).json();
                if r["grant"] == "company" {
                    return Ok(());
                }
                let p = periods[pi];
                let uri = match route {
                    0 => format!("/api/scorecard?scope=team:{target}&period={p}"),
                    1 => format!(
                        "/api/explain?kpi=win_rate&scope=team:{target}&period={p}&per_page=1000"
                    ),
                    2 => format!("/api/opportunities?scope=team:{target}&period={p}&per_page=500"),
                    3 => format!("/api/people/{target}"),
                    4 => "/api/scorecard/bulk?grain=quarter&from=FY2025-Q1&to=FY2026-Q2".to_owned(),
                    _ => format!("/api/explain?kpi=bookings&period={p}&per_page=1000"),
                };
                let res = call(&fx, "GET", &uri, &auth, None);
                if uri.contains(target.as_str()) {
                    prop_assert_eq!(
                        res.status == axum::http::StatusCode::OK,
                        seen(target),
                        "{} {}",
                        viewer,
                        uri
                    );
                }
                for id in person_ids(&res.body) {
                    prop_assert!(seen(&id), "{} sees {} in {}", viewer, id, uri);
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Someone who left the viewer's subtree and now leads people elsewhere: the viewer still
/// sees their own past with that person, but never the people they lead now.
#[test]
fn a_person_who_moved_away_does_not_reveal_their_new_team() {
    use salesorg_core::date::parse_date;
    use salesorg_core::ids::{PersonId, RoleId};
    use salesorg_core::records::{Person, ReportingLine, Validity};
    for kind in BOTH {
        let mut s = salesorg_store::testing::fresh(kind);
        let person = |id: &str, role: &str| Person {
            id: PersonId::parse(id).unwrap(),
            name: format!("Name {id}"),
            email: None,
            title: None,
            role: Some(RoleId::parse(role).unwrap()),
            hired: None,
            left: None,
        };
        let line = |p: &str, m: &str, from: &str, to: Option<&str>| ReportingLine {
            person: PersonId::parse(p).unwrap(),
            manager: PersonId::parse(m).unwrap(),
            valid: Validity::new(
                parse_date(from).unwrap(),
                to.map(|t| parse_date(t).unwrap()),
            )
            .unwrap(),
        };
        s.upsert_people(&[
            person("P-00001", "director_sales"),
            person("P-00002", "sales_manager"),
            person("P-00003", "sales_rep"),
            person("P-00004", "director_sales"),
        ])
        .unwrap();
        s.replace_lines(&[
            line("P-00002", "P-00001", "2024-01-01", Some("2024-06-01")),
            line("P-00002", "P-00004", "2024-06-01", None),
            line("P-00003", "P-00002", "2024-06-01", None),
        ])
        .unwrap();
        let hash = salesorg_web::auth::hash_password(PASSWORD).unwrap();
        s.create_user("v", Some("P-00001"), &hash, false, 1)
            .unwrap();
        let mut cfg =
            salesorg_web::Config::new(&s.url, salesorg_core::catalog::Catalog::builtin().unwrap());
        cfg.today = Some(today());
        let app = salesorg_web::App::new(cfg).unwrap();
        app.load().unwrap();
        let fx = Fx {
            router: salesorg_web::router(app.clone()),
            app,
            _store: s,
            people: vec![("v", Some("P-00001".into()))],
        };
        let auth = sign_in(&fx, "v", PASSWORD).unwrap();
        for uri in [
            "/api/people/P-00002",
            "/api/scorecard/person/P-00002?period=FY2024",
            "/api/scorecard/person/P-00002?period=FY2026",
            "/people/P-00002?period=FY2024",
        ] {
            let r = call(&fx, "GET", uri, &auth, None);
            assert_eq!(r.status, StatusCode::OK, "{kind} {uri}: {}", r.body);
            assert!(
                !r.body.contains("P-00003"),
                "{kind} {uri} names the new team: {:.600}",
                r.body
            );
            assert!(
                !r.body.contains("P-00004"),
                "{kind} {uri} names the new manager"
            );
        }
        for uri in [
            "/api/people/P-00003",
            "/api/people/P-00004",
            "/api/scorecard?scope=team:P-00004",
        ] {
            assert_eq!(
                call(&fx, "GET", uri, &auth, None).status,
                StatusCode::NOT_FOUND,
                "{kind} {uri}"
            );
        }
    }
}

/// The open-pipeline chart's sums are the same whether its walk over the owners' open
/// deals is split between two threads or not, and whether it reads only the deal blocks
/// that can meet its day or every deal, for the company and for a Director's team, over
/// several as-of days.
#[test]
fn the_open_pipeline_split_between_threads_sums_the_same() {
    use salesorg_web::access::{Access, Scoped};
    use salesorg_web::auth::{Principal, Via};
    let fx = fixture(salesorg_store::BackendKind::Sqlite);
    let loaded = fx.app.engine().unwrap();
    let e = loaded.engine();
    let mut store = fx.app.store().unwrap();
    let user = store.user_by_name("cro").unwrap().unwrap();
    let who = Principal {
        user,
        via: Via::Token { id: 0 },
    };
    let access = Access::of(e, &fx.app.cfg.catalog, &fx.app.cfg.company_roles, &who);
    let scoped = Scoped::new(&loaded, &fx.app.cfg.catalog, &access);
    let dir = e.scope(&format!("team:{}", fx.person("dir_a"))).unwrap();
    let mut seen = 0;
    for scope in [salesorg_core::scorecard::Scope::Company, dir] {
        for d in ["2025-06-30", "2026-03-31", "2026-06-30"] {
            let as_of = salesorg_core::date::parse_date(d).unwrap();
            let whole = scoped.open_pipeline_split(scope, as_of, 6, usize::MAX);
            let split = scoped.open_pipeline_split(scope, as_of, 6, 0);
            assert_eq!(whole, split, "{scope:?} {d}");
            e.read_every_deal(true);
            let every = scoped.open_pipeline_split(scope, as_of, 6, usize::MAX);
            e.read_every_deal(false);
            assert_eq!(whole, every, "{scope:?} {d}");
            seen += whole
                .1
                .iter()
                .flat_map(|s| &s.1)
                .filter(|&&v| v > 0.0)
                .count();
        }
    }
    assert!(seen > 10, "{seen} non-empty buckets");
    // on a past day, the deals open then stand as they stood then: none in the closed
    // or omitted category their close has since given them (it had read today's
    // category, close date and amount), and their amounts due in the as-of day's month
    // and the next are the company's pipeline of that quarter on that day
    let as_of = salesorg_core::date::parse_date("2025-05-15").unwrap();
    let (xs, series) = scoped.open_pipeline_split(
        salesorg_core::scorecard::Scope::Company,
        as_of,
        6,
        usize::MAX,
    );
    assert_eq!(xs[..3], ["Overdue", "May 2025", "Jun 2025"]);
    let due: f64 = series.iter().map(|s| s.1[0] + s.1[1] + s.1[2]).sum();
    let q =
        salesorg_core::period::Period::parse("FY2025-Q2 to 2025-05-15", &e.book.settings.fiscal)
            .unwrap();
    let rows = e
        .run(
            &[salesorg_core::scorecard::Scope::Company],
            &[q],
            &["pipeline_open"],
            as_of,
        )
        .unwrap();
    let open = rows[0].values[0].1.as_f64().unwrap();
    // (the demo's deals close by their date: none is overdue, none due before April)
    assert_eq!(series.iter().map(|s| s.1[0]).sum::<f64>(), 0.0);
    assert!(open > 0.0 && (due - open).abs() < 0.01, "{due} {open}");
    let as_of = salesorg_core::date::parse_date("2025-06-30").unwrap();
    let (_, series) = scoped.open_pipeline_split(
        salesorg_core::scorecard::Scope::Company,
        as_of,
        6,
        usize::MAX,
    );
    let names: Vec<&str> = series.iter().map(|s| s.0.as_str()).collect();
    assert!(!names.is_empty(), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| ["pipeline", "best case", "commit", "no category"].contains(n)),
        "{names:?}"
    );
}

/// Someone with the company in no reporting line (neither a manager nor a report) is a
/// root of the org chart for a viewer who sees the whole company, and of nobody else's
/// (they had been in no viewer's chart); someone in no line who has left is in none.
#[test]
fn people_in_no_reporting_line_are_roots_of_the_company_chart() {
    use salesorg_core::records::Person;
    let person = |id: &str, left: Option<&str>| Person {
        id: salesorg_core::ids::PersonId::parse(id).unwrap(),
        name: id.to_owned(),
        email: None,
        title: None,
        role: None,
        hired: None,
        left: left.map(|d| salesorg_core::date::parse_date(d).unwrap()),
    };
    for kind in BOTH {
        let fx = fixture_with(kind, |s| {
            s.upsert_people(&[
                person("LONER-1", None),
                person("GONE-1", Some("2025-01-01")),
            ])
            .unwrap();
        });
        let roots = |viewer: &str| -> Vec<String> {
            let auth = sign_in(&fx, viewer, PASSWORD).unwrap();
            let r = call(&fx, "GET", "/api/org?depth=1", &auth, None);
            assert_eq!(r.status, StatusCode::OK, "{kind} {viewer}: {}", r.body);
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            v["roots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            roots("cro"),
            [fx.person("cro"), "LONER-1".to_owned()],
            "{kind}"
        );
        assert_eq!(roots("dir_a"), [fx.person("dir_a")], "{kind}");
    }
}
