//! HTML snapshots (insta) of every page on the fixed demo org, as a Director sees them
//! (and the admin page as an admin). Secrets and clock times are redacted.

use axum::http::StatusCode;
use salesorg_store::BackendKind;

use crate::fixture::*;

/// Replaces 64-hex-digit secrets (CSRF tokens) and `YYYY-MM-DD HH:MM:SS` times.
/// `s` with every figure in megabytes (`80.6 MB`) written `[MB]`.
fn without_megabytes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(" MB") {
        let head = &rest[..at];
        let figure = head.len()
            - head
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',')
                .len();
        if figure > 0 {
            out.push_str(&head[..head.len() - figure]);
            out.push_str("[MB]");
        } else {
            out.push_str(head);
            out.push_str(" MB");
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    out
}

fn redact(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            .count();
        if hex == 64 {
            out.push_str("[secret]");
            i += 64;
            continue;
        }
        if b.len() - i >= 19 {
            let w = &b[i..i + 19];
            let shape = w.iter().enumerate().all(|(k, c)| match k {
                4 | 7 => *c == b'-',
                10 => *c == b' ',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            });
            if shape {
                out.push_str("[time]");
                i += 19;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    // one element per line, so that a diff shows what changed
    out.replace("><", ">\n<")
}

#[test]
fn every_page_renders_as_before() {
    let fx = fixture(BackendKind::Sqlite);
    let anon = Auth::default();
    let login = call(&fx, "GET", "/login?next=%2Forg", &anon, None);
    assert_eq!(login.status, StatusCode::OK);
    insta::assert_snapshot!("login", redact(&login.body));

    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    let rep = fx.person("rep");
    let pages = [
        ("home", "/?period=FY2026-Q3".to_owned()),
        // the quarter under way: the reps' attainment banded on pace
        ("home_under_way", "/?period=FY2026-Q4".to_owned()),
        ("person", format!("/people/{rep}?period=FY2026-Q3")),
        // the quarter under way: compared with the last quarter and last year's to the
        // same day, their whole values below
        (
            "person_under_way",
            format!("/people/{rep}?period=FY2026-Q4"),
        ),
        ("scope", format!("/scope?scope=team:{me}&period=2026-08")),
        ("org", "/org?as_of=2026-11-20".to_owned()),
        (
            "explain",
            format!("/explain?kpi=win_rate&scope=team:{me}&period=FY2026-Q3&sort=amount&dir=desc"),
        ),
        // the drill-down behind a comparison to the same day
        (
            "explain_to_date",
            format!("/explain?kpi=win_rate&scope=team:{me}&period=FY2026-Q3%20to%202026-08-20"),
        ),
        ("roles", "/roles".to_owned()),
        (
            "compare",
            "/roles/compare?a=vp_inside_sales&b=director_inside_sales".to_owned(),
        ),
        ("account", "/account".to_owned()),
        ("not_found", format!("/people/{}", fx.person("cro"))),
    ];
    for (name, uri) in pages {
        let r = call(&fx, "GET", &uri, &dir, None);
        let want = if name == "not_found" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        assert_eq!(r.status, want, "{uri}");
        insta::assert_snapshot!(name, redact(&r.body));
    }
    // a KPI that is one of its formula's inputs (bookings) has one column for it by
    // direct report, beside its other inputs
    let r = call(
        &fx,
        "GET",
        &format!("/explain?kpi=bookings&scope=team:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    let head = r.body.split("By direct report").nth(1).unwrap_or_default();
    let head = head.split("</thead>").next().unwrap_or_default();
    assert_eq!(head.matches(">Bookings</th>").count(), 1, "{head}");
    assert!(head.contains(">Won deals</th>"), "{head}");
    // the quarter under way: a report's attainment against their target's share so far
    let r = call(&fx, "GET", "/?period=FY2026-Q4", &dir, None);
    assert!(
        r.body
            .contains("title=\"target 100.0%, on pace at 55% of it by day 51\""),
        "{}",
        r.body
    );
    let csv = call(
        &fx,
        "GET",
        &format!("/explain.csv?kpi=bookings&scope=team:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(csv.status, StatusCode::OK);
    insta::assert_snapshot!("explain_csv", csv.body);

    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    // (the passes the pages made are kept compact on a thread of their own: the page
    // counts them once it is done)
    let t = std::time::Instant::now();
    while {
        let (n, k) = fx.app.engine().unwrap().passes_kept();
        n != k && t.elapsed().as_secs() < 30
    } {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = call(&fx, "GET", "/admin", &admin, None);
    assert_eq!(r.status, StatusCode::OK);
    // (its memory figures move from one run to the next: their places are kept)
    insta::assert_snapshot!("admin", redact(&without_megabytes(&r.body)));
    // a non-admin does not learn that the page exists
    assert_eq!(
        call(&fx, "GET", "/admin", &dir, None).status,
        StatusCode::NOT_FOUND
    );
    // signed out: every page sends you to sign in, and comes back after
    let r = call(&fx, "GET", "/org", &anon, None);
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login?next=%2Forg");
}

/// Every link of the main nav opens a page for whoever is signed in: an admin account
/// linked to nobody in the org (which has no scorecard and sees no part of the org) had
/// "My scorecard" and "Org chart" links, the second to "not found". And the tab's icon
/// is served to anyone (a browser asks for `/favicon.ico` on every page without one).
#[test]
fn every_nav_link_opens_a_page_and_the_icon_is_served() {
    let fx = fixture(BackendKind::Sqlite);
    for user in ["admin", "dir_a", "rep"] {
        let who = sign_in(&fx, user, PASSWORD).unwrap();
        let home = call(&fx, "GET", "/", &who, None);
        assert_eq!(home.status, StatusCode::OK, "{user}");
        let nav = &home.body[home.body.find("<nav").unwrap()..home.body.find("</nav>").unwrap()];
        let links: Vec<&str> = nav
            .split("href=\"")
            .skip(1)
            .filter_map(|x| x.split('"').next())
            .collect();
        assert!(
            links.contains(&"/roles") && links.contains(&"/account"),
            "{user}: {links:?}"
        );
        assert_eq!(
            links.contains(&"/admin"),
            user == "admin",
            "{user}: {links:?}"
        );
        assert_eq!(
            links.contains(&"/org"),
            user != "admin",
            "{user}: {links:?}"
        );
        for l in links {
            assert_eq!(
                call(&fx, "GET", l, &who, None).status,
                StatusCode::OK,
                "{user}: {l}"
            );
        }
        assert!(
            home.body
                .contains("<link rel=\"icon\" href=\"/static/icon.svg\"")
        );
    }
    let anon = Auth::default();
    for path in ["/favicon.ico", "/static/icon.svg"] {
        let r = call(&fx, "GET", path, &anon, None);
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.headers["content-type"], "image/svg+xml", "{path}");
        assert!(r.body.starts_with("<svg"), "{path}");
    }
}

/// A role's page names the roles it reports to and leads to by their titles, each a
/// link to its own page, and each next role with a link that puts the two side by side
/// (what the step asks); a role with no reports says so (it read "0–0").
#[test]
fn a_roles_page_links_the_roles_around_it() {
    let fx = fixture(BackendKind::Sqlite);
    let rep = sign_in(&fx, "rep", PASSWORD).unwrap();
    let r = call(&fx, "GET", "/roles/compare?a=sales_rep", &rep, None);
    assert_eq!(r.status, StatusCode::OK);
    let b = &r.body;
    assert!(
        b.contains("<a href=\"/roles/compare?a=sales_manager\">Sales Manager</a>"),
        "{b}"
    );
    assert!(
        b.contains("<a href=\"/roles/compare?a=sales_rep&amp;b=sales_manager\">compare</a>"),
        "{b}"
    );
    assert!(b.contains("none (no direct reports)"), "{b}");
    // the two roles can be changed where they are shown: a role alone offers its first
    // next role; the sources' legend comes after the facts that cite it
    let (a_sel, b_sel) = (
        b.find("<select id=\"a\"").unwrap(),
        b.find("<select id=\"b\"").unwrap(),
    );
    assert!(
        b[a_sel..b_sel].contains("<option value=\"sales_rep\" selected>"),
        "{b}"
    );
    assert!(
        b[b_sel..].contains("<option value=\"sales_manager\" selected>"),
        "{b}"
    );
    assert!(
        b.find("Sources: [000]").unwrap() > b.find("</table>").unwrap(),
        "{b}"
    );
    assert!(!b.contains("0–0"), "{b}");
    // every link on it opens a role's page
    for l in b.split("href=\"/roles/compare?").skip(1) {
        let q = l.split('"').next().unwrap().replace("&amp;", "&");
        let to = call(&fx, "GET", &format!("/roles/compare?{q}"), &rep, None);
        assert_eq!(to.status, StatusCode::OK, "{q}");
    }
    // the list names functions, scopes and KPIs as the pages do, not by the catalog's ids
    let list = call(&fx, "GET", "/roles", &rep, None).body;
    for raw in ["0–0", "InsideSales", "multi_region", "revenue_growth_yoy"] {
        assert!(!list.contains(raw), "{raw} in {list}");
    }
    assert!(list.contains("<td>Inside sales</td>") && list.contains("Revenue growth YoY"));
    let cro = call(&fx, "GET", "/roles/compare?a=cro", &rep, None);
    assert!(
        cro.body.contains("CEO (outside the sales organisation)"),
        "{}",
        cro.body
    );
    // the compare page asked for no role: the roles page, whose picker asks for two (it
    // answered "not found"); an unknown role is not found
    for q in ["", "?a=", "?a=%20&b=cro"] {
        let r = call(&fx, "GET", &format!("/roles/compare{q}"), &rep, None);
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{q}");
        assert_eq!(
            r.headers.get("location").and_then(|v| v.to_str().ok()),
            Some("/roles"),
            "{q}"
        );
    }
    let r = call(&fx, "GET", "/roles/compare?a=astronaut", &rep, None);
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[test]
fn csv_cells_are_defused_against_formula_injection() {
    use salesorg_web::pages::csv_cell;
    assert_eq!(
        csv_cell("=HYPERLINK(\"http://x\")"),
        "\"'=HYPERLINK(\"\"http://x\"\")\""
    );
    assert_eq!(csv_cell("+1"), "'+1");
    assert_eq!(csv_cell("-1+1"), "'-1+1");
    assert_eq!(csv_cell("-1.2.3"), "'-1.2.3");
    assert_eq!(csv_cell("-"), "'-");
    assert_eq!(csv_cell("-A1"), "'-A1");
    // a plain negative number stays a number (a fall in revenue growth)
    assert_eq!(csv_cell("-1"), "-1");
    assert_eq!(csv_cell("-0.0925"), "-0.0925");
    assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(csv_cell("\tx"), "'\tx");
    assert_eq!(csv_cell("plain"), "plain");
    assert_eq!(csv_cell("a,b"), "\"a,b\"");
}

/// Forms post with the session's CSRF token; without it, nothing changes.
#[test]
fn forms_need_the_csrf_token() {
    let fx = fixture(BackendKind::Postgres);
    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    let form =
        |csrf: &str| format!("csrf={csrf}&username=newbie&person=&password=long+enough+pw&admin=1");
    let post = |body: String| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method("POST")
                .uri("/admin/users")
                .header(
                    "cookie",
                    format!(
                        "{}={}",
                        salesorg_web::auth::COOKIE,
                        admin.cookie.as_deref().unwrap()
                    ),
                )
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(body))
                .unwrap();
            fx.router.clone().oneshot(req).await.unwrap().status()
        })
    };
    assert_eq!(post(form("wrong")), StatusCode::FORBIDDEN);
    let mut s = fx.app.store().unwrap();
    assert!(s.user_by_name("newbie").unwrap().is_none());
    fx.app.give_back(s);
    assert_eq!(
        post(form(admin.csrf.as_deref().unwrap())),
        StatusCode::SEE_OTHER
    );
    let mut s = fx.app.store().unwrap();
    assert!(s.user_by_name("newbie").unwrap().unwrap().is_admin);
    fx.app.give_back(s);
}

/// After a (re)load the passes over the standard periods are made and every active
/// user's landing page is rendered ahead of time; what a leader then gets — the landing
/// page or any other period's — is exactly what a cold render gives.
#[test]
fn warmed_landing_pages_equal_cold_renders() {
    let fx = fixture(BackendKind::Sqlite);
    assert!(fx.app.warm_grids().unwrap() > 0);
    assert_eq!(
        fx.app.warm().unwrap(),
        5,
        "cro, dir_a, lead_b, rep and vp have a person"
    );
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let warm = call(&fx, "GET", "/", &dir, None);
    let cold_fx = another_server(&fx, fx.app.cfg.clone());
    let cold = call(&cold_fx, "GET", "/", &dir, None);
    assert_eq!(warm.status, StatusCode::OK);
    assert_eq!(redact(&warm.body), redact(&cold.body));
    // a company-wide viewer's landing page is also rendered over last quarter, this month
    // and this fiscal year (today is 2026-11-20, in FY2026-Q4 of a calendar fiscal year)
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    for p in ["FY2026-Q3", "2026-11", "FY2026"] {
        let uri = format!("/?period={p}");
        let warm = call(&fx, "GET", &uri, &cro, None);
        let cold = call(&cold_fx, "GET", &uri, &cro, None);
        assert_eq!(warm.status, StatusCode::OK, "{p}");
        assert!(warm.body.contains(p), "{p}");
        assert_eq!(redact(&warm.body), redact(&cold.body), "{p}");
    }
    // other periods roll up from the standard passes on the warm server, and from passes
    // of their own on the cold one
    let dir_a = fx.person("dir_a");
    for (who, uri) in [
        (&cro, "/?period=FY2025-Q2".to_owned()),
        (&cro, "/?period=2026-05".to_owned()),
        (&cro, "/?period=FY2025".to_owned()),
        (&cro, "/?period=2026-07-01..2026-09-30".to_owned()),
        (&dir, "/?period=FY2026-Q1".to_owned()),
        (&dir, format!("/scope?scope=team:{dir_a}&period=2026-02")),
        (&cro, format!("/people/{dir_a}?period=FY2026-Q2")),
        // drill-downs behind the CRO's landing page, made while warming
        (
            &cro,
            "/explain?kpi=bookings&scope=company&period=FY2026-Q4".to_owned(),
        ),
        (
            &cro,
            "/explain?kpi=win_rate&scope=company&period=FY2026-Q4&sort=amount&dir=desc".to_owned(),
        ),
    ] {
        let warm = call(&fx, "GET", &uri, who, None);
        let cold = call(&cold_fx, "GET", &uri, who, None);
        assert_eq!(warm.status, StatusCode::OK, "{uri}");
        assert_eq!(redact(&warm.body), redact(&cold.body), "{uri}");
    }
}

/// A server that keeps no company-wide pass but the last (its budget one byte) hands each
/// dropped pass's arrays to the next pass, which must start them from zero: a company-wide
/// viewer's pages and answers over one date range after another are those of a server
/// that keeps every pass.
#[test]
fn passes_dropped_from_the_budget_lend_their_arrays_to_the_next_unchanged() {
    let fx = fixture(BackendKind::Sqlite);
    let mut cfg = fx.app.cfg.clone();
    cfg.grid_cache_bytes = 1;
    let small = another_server(&fx, cfg);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    // (a longer range first: the arrays lent to the shorter ones after it hold more)
    for p in [
        "2025-03-01..2026-02-15",
        "2026-07-01..2026-09-30",
        "2026-01-10..2026-02-20",
        "2025-06-15..2025-08-01",
        "2026-07-01..2026-09-30",
    ] {
        for uri in [
            format!("/?period={p}"),
            format!("/api/scorecard?scope=company&period={p}"),
        ] {
            let kept = call(&fx, "GET", &uri, &cro, None);
            let lent = call(&small, "GET", &uri, &cro, None);
            assert_eq!(kept.status, StatusCode::OK, "{uri}");
            assert_eq!(redact(&lent.body), redact(&kept.body), "{uri}");
        }
    }
}

/// A company-wide pass over a date range of its own is kept compact on a thread of its own
/// once the page that made it is answered; every view rolled up from it after that (the
/// company's, a direct report's, a unit's, the API's) is the one a server that keeps its
/// passes whole gives.
#[test]
fn a_pass_over_a_range_of_its_own_is_kept_compact_once_its_page_is_out() {
    let fx = fixture(BackendKind::Sqlite);
    let mut cfg = fx.app.cfg.clone();
    cfg.compact_passes = false;
    let whole = another_server(&fx, cfg);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let dir_a = fx.person("dir_a");
    let kept = |f: &Fx| f.app.engine().unwrap().passes_kept();
    for p in ["2026-07-01..2026-09-30", "2025-06-15..2025-08-01"] {
        let first = format!("/?period={p}");
        let a = call(&fx, "GET", &first, &cro, None);
        let b = call(&whole, "GET", &first, &cro, None);
        assert_eq!(a.status, StatusCode::OK, "{p}");
        assert_eq!(redact(&a.body), redact(&b.body), "{p}");
        // (the compacting thread is started as the answer goes out; the page's views and
        // charts make several passes)
        let all_kept = |(n, k): (usize, usize)| n > 0 && k == n;
        let t = std::time::Instant::now();
        while !all_kept(kept(&fx)) && t.elapsed().as_secs() < 30 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(all_kept(kept(&fx)), "{p}: {:?}", kept(&fx));
        assert_eq!(kept(&whole).0, kept(&fx).0, "{p}");
        assert_eq!(kept(&whole).1, 0, "{p}");
        for uri in [
            format!("/api/scorecard?scope=company&period={p}"),
            format!("/scope?scope=team:{dir_a}&period={p}"),
            format!("/people/{dir_a}?period={p}"),
            format!(
                "/api/scorecard?scope=team:{dir_a}&period={p}&kpi=bookings,win_rate,stage_conversion,sales_cycle_days_median,pipeline_coverage"
            ),
        ] {
            let a = call(&fx, "GET", &uri, &cro, None);
            let b = call(&whole, "GET", &uri, &cro, None);
            assert_eq!(a.status, StatusCode::OK, "{uri}");
            assert_eq!(redact(&a.body), redact(&b.body), "{uri}");
        }
    }
}

/// An admin sees what the server holds: the records loaded (the store's), the book's memory
/// by group of records (each group's columns at least their records' share), the standard
/// passes once made, and a pass over a date range of its own once a page made it (kept
/// compact, within the budget); the admin page shows the same; anyone else gets a 404.
#[test]
fn admins_see_what_the_server_holds_and_where_its_memory_goes() {
    let fx = fixture(BackendKind::Sqlite);
    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let status = || {
        let r = call(&fx, "GET", "/api/admin/status", &admin, None);
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()
    };
    assert_eq!(
        call(&fx, "GET", "/api/admin/status", &cro, None).status,
        StatusCode::NOT_FOUND
    );
    let st = status();
    let mut s = fx.app.store().unwrap();
    let (deals, leads) = (s.opportunities().unwrap().len(), s.leads().unwrap().len());
    let activities = s.activities().unwrap().len();
    fx.app.give_back(s);
    assert!(deals > 0 && leads > 0 && activities > 0);
    assert_eq!(st["records"]["activities"], activities as u64);
    assert_eq!(st["records"]["opportunities"], deals as u64);
    assert_eq!(st["records"]["leads"], leads as u64);
    let part = |st: &serde_json::Value, name: &str| -> u64 {
        st["memory"]["book"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["part"] == name)
            .unwrap_or_else(|| panic!("no part {name}: {st}"))["bytes"]
            .as_u64()
            .unwrap()
    };
    // (a deal's columns: at least its days, amounts and status, 30 bytes; a lead's 16)
    assert!(part(&st, "opportunities") >= 30 * deals as u64, "{st}");
    assert!(part(&st, "leads") >= 16 * leads as u64, "{st}");
    assert!(part(&st, "record ids") > 0, "{st}");
    // (customers by owner, made with the book)
    assert!(st["memory"]["indexes_bytes"].as_u64().unwrap() > 0, "{st}");
    let book: u64 = st["memory"]["book"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["bytes"].as_u64().unwrap())
        .sum();
    if let Some(rss) = st["memory"]["resident_bytes"].as_u64() {
        assert!(book < rss, "{st}");
    }
    assert_eq!(st["memory"]["passes"]["count"], 0, "{st}");
    assert_eq!(
        st["memory"]["passes"]["budget_bytes"],
        fx.app.cfg.grid_cache_bytes as u64
    );
    // the standard passes, once made
    assert!(
        st["memory"]["standard_passes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    fx.app.warm_grids().unwrap();
    let st = status();
    let standard = st["memory"]["standard_passes"].as_array().unwrap();
    assert_eq!(standard.len(), 3, "{st}");
    assert!(
        standard
            .iter()
            .all(|p| p["periods"].as_u64().unwrap() > 1 && p["bytes"].as_u64().unwrap() > 0),
        "{st}"
    );
    // a pass over a date range of its own, kept compact once its page is out
    let page = call(&fx, "GET", "/?period=2026-07-01..2026-09-30", &cro, None);
    assert_eq!(page.status, StatusCode::OK);
    let t = std::time::Instant::now();
    let mut st = status();
    while st["memory"]["passes"]["compact"] != st["memory"]["passes"]["count"]
        && t.elapsed().as_secs() < 30
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
        st = status();
    }
    let passes = &st["memory"]["passes"];
    assert!(passes["count"].as_u64().unwrap() > 0, "{st}");
    assert_eq!(passes["compact"], passes["count"], "{st}");
    assert!(passes["bytes"].as_u64().unwrap() > 0, "{st}");
    assert!(
        st["memory"]["answers"]["count"].as_u64().unwrap() > 0,
        "{st}"
    );
    // the admin page
    let html = call(&fx, "GET", "/admin", &admin, None);
    assert_eq!(html.status, StatusCode::OK);
    for text in [
        "Memory by part",
        "The book: opportunities",
        "Passes over other periods",
        "kept compact)",
        "Standard pass",
        "Records loaded",
    ] {
        assert!(html.body.contains(text), "{text}");
    }
}

/// While a reload builds the next engine, the one loaded keeps answering but lets go of
/// its caches (the passes over other periods, the drill-downs, the answers) and keeps at
/// most one of each, so that the reload's peak is its book and standard passes beside the
/// new book's build; the new engine keeps them within their budgets again.
#[test]
fn an_engine_being_replaced_lets_go_of_its_caches() {
    let fx = fixture(BackendKind::Sqlite);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let browse = |f: &Fx| {
        for uri in [
            "/?period=2026-07-01..2026-09-30",
            "/explain?kpi=win_rate&scope=company&period=FY2026-Q3",
            "/explain?kpi=bookings&scope=company&period=FY2026-Q2",
            "/?period=2025-07-01..2025-09-30",
        ] {
            assert_eq!(
                call(f, "GET", uri, &cro, None).status,
                StatusCode::OK,
                "{uri}"
            );
        }
    };
    browse(&fx);
    let old = fx.app.engine().unwrap();
    let count = |st: &serde_json::Value, k: &str| st["memory"][k]["count"].as_u64().unwrap();
    let before = old.status();
    for k in ["passes", "drilldowns", "answers"] {
        assert!(count(&before, k) > 1, "{k}: {before}");
    }
    // the store's data moves on, and the server reloads
    let mut s = fx.app.store().unwrap();
    let settings = s.settings().unwrap();
    s.save_settings(&settings).unwrap();
    fx.app.give_back(s);
    assert!(fx.app.load().unwrap());
    let after = old.status();
    for k in ["passes", "drilldowns", "answers"] {
        assert_eq!(count(&after, k), 0, "{k}: {after}");
    }
    assert_eq!(after["memory"]["drilldowns"]["budget_bytes"], 0);
    // the new engine answers, and keeps what it makes within its budgets
    let new = fx.app.engine().unwrap();
    assert!(!std::sync::Arc::ptr_eq(&old, &new));
    browse(&fx);
    let st = new.status();
    for k in ["passes", "drilldowns", "answers"] {
        assert!(count(&st, k) > 1, "{k}: {st}");
    }
    assert_eq!(
        st["memory"]["drilldowns"]["budget_bytes"],
        before["memory"]["drilldowns"]["budget_bytes"]
    );
}

/// Posts the admin page's upload form as `who` (with `csrf`): `source`, the `files` (name
/// and bytes), and "Check only" when `check`; the answer's status and where it redirects.
fn upload_files(
    fx: &Fx,
    who: &Auth,
    csrf: &str,
    source: &str,
    files: &[(String, Vec<u8>)],
    check: bool,
) -> (StatusCode, Option<String>) {
    use tower::ServiceExt;
    let b = "----salesorgtestboundary";
    let mut body: Vec<u8> = Vec::new();
    let mut fields = vec![("csrf", csrf), ("source", source)];
    if check {
        fields.push(("dry_run", "1"));
    }
    for (k, v) in fields {
        body.extend(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{b}--\r\n").as_bytes());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/admin/import")
            .header(
                "cookie",
                format!(
                    "{}={}",
                    salesorg_web::auth::COOKIE,
                    who.cookie.as_deref().unwrap()
                ),
            )
            .header("content-type", format!("multipart/form-data; boundary={b}"))
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = fx.router.clone().oneshot(req).await.unwrap();
        let loc = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        (res.status(), loc)
    })
}

/// Every file of the fixtures' folder `rel`, by name, with its bytes.
fn files_in(rel: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(rel);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// The opportunities the server's store holds.
fn opportunities_held(fx: &Fx) -> usize {
    let mut s = fx.app.store().unwrap();
    let n = s.opportunities().unwrap().len();
    fx.app.give_back(s);
    n
}

/// A HubSpot export saved as workbooks (.xlsx, as HubSpot's export dialog offers) is
/// uploaded and imported as its CSV would be; a file of another kind in the upload (the
/// folder's `make.py`) is left out.
#[test]
fn admins_upload_an_export_saved_as_workbooks() {
    let fx = fixture(BackendKind::Sqlite);
    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    let files = files_in("synthetic/hubspot-xlsx");
    assert!(files.iter().any(|(n, _)| n == "make.py"));
    let count = || opportunities_held(&fx);
    let before = count();
    let csrf = admin.csrf.as_deref().unwrap();
    let (st, loc) = upload_files(&fx, &admin, csrf, "hubspot", &files, false);
    assert_eq!(st, StatusCode::SEE_OTHER);
    let loc = loc.unwrap();
    assert!(loc.starts_with("/admin?msg=Imported"), "{loc}");
    assert_eq!(count(), before + 4);
}

/// The admin page's upload: a Salesforce export lands whole (and the engine reloads), a
/// broken one is refused with every problem by file, line and column and nothing written,
/// and an upload without the CSRF token does nothing.
#[test]
fn admins_upload_an_export_and_see_per_row_errors() {
    let fx = fixture(BackendKind::Sqlite);
    let admin = sign_in(&fx, "admin", PASSWORD).unwrap();
    let files: Vec<(String, Vec<u8>)> =
        files_in("salesforce-sample-exports/sfdc-assets-gen-ai-demo")
            .into_iter()
            .filter(|(n, _)| n.ends_with(".csv"))
            .collect();
    let upload_as = |who: &Auth, csrf: &str, files: &[(String, Vec<u8>)], check: bool| {
        upload_files(&fx, who, csrf, "salesforce", files, check)
    };
    let upload =
        |who: &Auth, csrf: &str, files: &[(String, Vec<u8>)]| upload_as(who, csrf, files, false);
    let count = || opportunities_held(&fx);
    let before = count();
    // a non-admin does not get the upload read at all
    let lead = sign_in(&fx, "lead_b", PASSWORD).unwrap();
    let (st, _) = upload(&lead, lead.csrf.as_deref().unwrap(), &files);
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(count(), before);
    // without the CSRF token: refused, nothing written
    assert_eq!(upload(&admin, "nope", &files).0, StatusCode::FORBIDDEN);
    assert_eq!(count(), before);
    // a broken export: every problem listed, nothing written
    let mut broken = files.clone();
    let opp = broken
        .iter_mut()
        .find(|(n, _)| n == "Opportunity.csv")
        .unwrap();
    let text = String::from_utf8(opp.1.clone()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header
        .iter()
        .position(|h| h.trim_matches('"') == "CloseDate")
        .unwrap();
    let mut cells: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
    cells[col] = "2024-02-30".into();
    lines[2] = cells.join(",");
    opp.1 = (lines.join("\n") + "\n").into_bytes();
    let (st, loc) = upload(&admin, admin.csrf.as_deref().unwrap(), &broken);
    assert_eq!(st, StatusCode::SEE_OTHER);
    let loc = loc.unwrap();
    assert!(loc.starts_with("/admin?problems="), "{loc}");
    let page = call(&fx, "GET", &loc, &admin, None);
    assert!(
        page.body
            .contains(&format!("Opportunity.csv:3:{}:", col + 1)),
        "{:.2000}",
        page.body
    );
    assert!(page.body.contains("day 30 does not exist in February 2024"));
    assert_eq!(count(), before, "a refused import writes nothing");
    // checked only: what the import would do, nothing written
    let (st, loc) = upload_as(&admin, admin.csrf.as_deref().unwrap(), &files, true);
    assert_eq!(st, StatusCode::SEE_OTHER);
    let loc = loc.unwrap();
    assert!(
        loc.starts_with(
            "/admin?msg=Checked:%20a%20dry%20run%2C%20nothing%20written:%20would%20import%20"
        ),
        "{loc}"
    );
    let page = call(&fx, "GET", &loc, &admin, None);
    assert!(
        page.body.contains("Checked: a dry run, nothing written: would import 2 people, 94 accounts, 14 leads, 58 opportunities"),
        "{:.3000}",
        page.body
    );
    assert_eq!(count(), before, "a dry run writes nothing");
    // the export as it is: imported whole
    let (st, loc) = upload(&admin, admin.csrf.as_deref().unwrap(), &files);
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(
        loc.as_deref().unwrap().starts_with("/admin?msg=Imported"),
        "{loc:?}"
    );
    assert_eq!(count(), before + 58);
    let log = call(&fx, "GET", "/api/admin/audit", &admin, None).json();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"import") && actions.contains(&"import_refused"),
        "{actions:?}"
    );
}

/// A large drill-down opens on a version that keeps only its first and last pages; a page
/// between them, another sort and the export come from the complete one, and every page
/// lists the records the complete order puts there (through the API and the HTML pages,
/// each reaching the middle first).
#[test]
fn a_large_drill_downs_middle_pages_sorts_and_export_list_every_record() {
    let fx = fixture(BackendKind::Sqlite);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let page = |q: &str, p: usize, per: usize| -> (usize, Vec<serde_json::Value>) {
        let r = call(
            &fx,
            "GET",
            &format!("/api/explain?{q}&page={p}&per_page={per}"),
            &cro,
            None,
        );
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let j = r.json();
        (
            j["total"].as_u64().unwrap() as usize,
            j["records"].as_array().unwrap().clone(),
        )
    };
    let every = |q: &str, n: usize| -> Vec<serde_json::Value> {
        let mut all = Vec::new();
        for p in 1..=n.div_ceil(1000) {
            all.extend(page(q, p, 1000).1);
        }
        assert_eq!(all.len(), n);
        all
    };
    let id = |r: &serde_json::Value| r["id"].as_str().unwrap().to_owned();
    let ids = |v: &[serde_json::Value]| v.iter().map(id).collect::<Vec<_>>();
    let exported = |q: &str| -> Vec<String> {
        let csv = call(&fx, "GET", &format!("/explain.csv?{q}"), &cro, None);
        assert_eq!(csv.status, StatusCode::OK);
        csv.body
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_owned())
            .collect()
    };

    // the API: the ends on a fresh server (only they are made), then pages between them;
    // the export (made apart, by the HTML side) lists the same records in the same order
    let q = "kpi=calls&scope=company&period=FY2025";
    let (n, first) = page(q, 1, 50);
    assert!(n > 600, "{n} records");
    let last_page = n.div_ceil(50);
    let (_, last) = page(q, last_page, 50);
    let (_, middle) = page(q, 5, 50);
    let all = every(q, n);
    let want = exported(q);
    assert_eq!(ids(&all), want);
    assert_eq!(ids(&first), want[..50]);
    assert_eq!(ids(&last), want[(last_page - 1) * 50..]);
    assert_eq!(ids(&middle), want[200..250]);

    // the HTML pages: the ends, then pages between them, in both directions
    let q = "kpi=activities&scope=company&period=FY2025";
    let shown: Vec<(String, String)> = [
        "page=2",
        "page=4",
        "dir=desc&page=1",
        "dir=desc&page=7",
        "sort=owner&page=3",
    ]
    .iter()
    .map(|x| {
        let r = call(&fx, "GET", &format!("/explain?{q}&{x}"), &cro, None);
        assert_eq!(r.status, StatusCode::OK, "{x}");
        (x.to_string(), r.body)
    })
    .collect();
    let n = page(q, 1, 1).0;
    let all = every(q, n);
    for (x, want) in [
        ("page=2", [&all[50], &all[99]]),
        ("page=4", [&all[150], &all[199]]),
        ("dir=desc&page=1", [&all[n - 1], &all[n - 50]]),
        ("dir=desc&page=7", [&all[n - 301], &all[n - 350]]),
    ] {
        let body = &shown.iter().find(|s| s.0 == x).unwrap().1;
        for w in want {
            assert!(body.contains(&id(w)), "{x}: {}", id(w));
        }
    }
    // the export: every record, in order
    assert_eq!(exported(q), ids(&all));
}

/// A table-valued KPI with no rows says so in its drill-down (it had shown an empty value),
/// and a funnel without a stage entered in its chart (it had drawn a blank).
#[test]
fn an_empty_table_says_there_is_nothing_in_the_period() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    // a Director carries no deals of their own
    let me = fx.person("dir_a");
    let r = call(
        &fx,
        "GET",
        &format!("/scope?scope=person:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK);
    let funnel = r.body.split("id=\"funnel\"").nth(1).unwrap_or_default();
    let funnel = funnel.split("</figure>").next().unwrap_or_default();
    assert!(
        funnel.contains(">Nothing in this period.</text>"),
        "{funnel}"
    );
    let r = call(
        &fx,
        "GET",
        &format!("/explain?kpi=stage_conversion&scope=person:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(">none<"), "{}", r.body);
}

/// An undefined value says why on its card, in words under the "—" and on the "—" itself
/// (it had said "a zero denominator" of every one, even of a quota already met), and the
/// drill-down says it under the value; the API's JSON gives the reason beside the null.
#[test]
fn an_undefined_value_says_why_on_its_card_and_in_its_drill_down() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    // a Director carries no deals of their own
    let me = fx.person("dir_a");
    let r = call(
        &fx,
        "GET",
        &format!("/scope?scope=person:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK);
    let card = r
        .body
        .split("<article class=\"card\">")
        .find(|c| c.starts_with("<h2>Win rate</h2>"))
        .and_then(|c| c.split("</article>").next())
        .unwrap_or_else(|| panic!("no win rate card: {}", r.body));
    assert!(
        card.contains(
            "title=\"Undefined: no deal was won or lost in the period. win_rate = won_deals / (won_deals + lost_deals)\""
        ),
        "{card}"
    );
    assert!(
        card.contains("<p class=\"why\">No deal was won or lost in the period.</p>"),
        "{card}"
    );
    // a value has no such line
    assert!(!r.body.contains("<p class=\"why\">No leads"), "{}", r.body);
    let r = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&scope=person:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains(
            "<p class=\"big\">—</p><p class=\"why\">No deal was won or lost in the period.</p>"
        ),
        "{}",
        r.body
    );
    let r = call(
        &fx,
        "GET",
        &format!("/api/explain?kpi=win_rate&scope=person:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["value"], serde_json::Value::Null);
    assert_eq!(
        r.json()["undefined"],
        "no deal was won or lost in the period"
    );
    let r = call(
        &fx,
        "GET",
        &format!("/api/scorecard?scope=person:{me}&period=FY2026-Q3&kpi=win_rate"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json()["undefined"]["win_rate"],
        "no deal was won or lost in the period",
        "{}",
        r.body
    );
}

/// While the server loads its data, a page says so and what the loader is doing, and asks
/// again by itself (with JavaScript off too); the API says the same with its code and a
/// Retry-After. It had answered "503 the data is still loading" and a link back to the
/// same page.
#[test]
fn a_page_asked_for_while_the_data_loads_says_what_is_loading_and_asks_again() {
    for kind in [BackendKind::Sqlite, BackendKind::Postgres] {
        let fx = fixture_loading(kind);
        let a = sign_in(&fx, "dir_a", PASSWORD).unwrap();
        let r = call(&fx, "GET", "/", &a, None);
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{kind}");
        assert_eq!(r.headers["retry-after"], "5", "{kind}");
        assert!(
            r.body
                .contains("<meta http-equiv=\"refresh\" content=\"5\">"),
            "{kind}: {}",
            r.body
        );
        assert!(
            r.body.contains("<h1>Loading the data</h1>"),
            "{kind}: {}",
            r.body
        );
        assert!(
            !r.body.contains("Now:"),
            "{kind}: no step reported yet: {}",
            r.body
        );
        salesorg_engine::Progress::update(
            &fx.app.load_progress(),
            "reading opportunities",
            1_500_000,
            0,
        );
        let r = call(&fx, "GET", "/people/x", &a, None);
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{kind}");
        assert!(
            r.body.contains(
                "<p class=\"sub\" role=\"status\">Now: reading opportunities, 1,500,000 so far \
                 (loading for 0 s).</p>"
            ),
            "{kind}: {}",
            r.body
        );
        let r = call(&fx, "GET", "/api/scorecard", &a, None);
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{kind}");
        assert_eq!(r.headers["retry-after"], "5", "{kind}");
        assert_eq!(r.json()["error"]["code"], "not_ready", "{kind}");
        assert_eq!(
            r.json()["error"]["message"],
            "the data is still loading: reading opportunities, 1,500,000 so far (loading for 0 s)",
            "{kind}"
        );
        // once loaded, the pages are served and the step is gone
        fx.app.load().unwrap();
        assert_eq!(fx.app.loading_step(), None, "{kind}");
        let r = call(&fx, "GET", "/", &a, None);
        assert_eq!(r.status, StatusCode::OK, "{kind}");
    }
}

/// A KPI of the role that waits for data (spec §6 `forecast_accuracy`: forecasts) keeps
/// its card, which says what it waits for, with no comparisons of dashes; the direct
/// reports' table has no column of dashes for it.
#[test]
fn a_kpi_that_waits_for_data_says_so_on_its_card() {
    let fx = fixture(BackendKind::Sqlite);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let r = call(&fx, "GET", "/?period=FY2026-Q3", &cro, None);
    assert_eq!(r.status, StatusCode::OK);
    let card = r
        .body
        .split("<article class=\"card waiting\">")
        .nth(1)
        .and_then(|c| c.split("</article>").next())
        .unwrap_or_else(|| panic!("no waiting card: {}", r.body));
    assert!(card.contains("<h2>Forecast accuracy</h2>"), "{card}");
    assert!(
        card.contains("Not computed: it waits for forecasts, which salesorg does not hold yet"),
        "{card}"
    );
    assert!(!card.contains("vs FY2026-Q2"), "{card}");
    let reports = r.body.split("<h2>Direct reports</h2>").nth(1).unwrap();
    let head = reports.split("</thead>").next().unwrap();
    assert!(head.contains(">Win rate</th>"), "{head}");
    assert!(!head.contains("Forecast accuracy"), "{head}");
}

/// A scorecard page exports its numbers: the scorecard itself as the CLI's table in CSV
/// (undefined values empty, as in the bulk export), and, on a leader's own page, the bulk
/// export over every team and unit they may see; a rep's page offers no bulk export, and
/// nobody exports a scorecard they may not open.
#[test]
fn a_scorecard_page_exports_its_numbers_as_csv() {
    let fx = fixture(BackendKind::Sqlite);
    let lead = sign_in(&fx, "lead_b", PASSWORD).unwrap();
    let me = fx.person("lead_b");
    let page = call(&fx, "GET", "/?period=FY2026-Q3", &lead, None);
    let href = format!("/api/scorecard/person/{me}?period=FY2026-Q3&amp;format=csv");
    assert!(page.body.contains(&href), "{}", page.body);
    assert!(
        page.body
            .contains("/api/scorecard/bulk?grain=quarter&amp;format=csv")
    );
    let r = call(&fx, "GET", &href.replace("&amp;", "&"), &lead, None);
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        r.headers["content-disposition"],
        format!("attachment; filename=\"scorecard-{me}-FY2026-Q3.csv\"")
    );
    // the same numbers as the JSON
    let json = call(
        &fx,
        "GET",
        &format!("/api/scorecard/person/{me}?period=FY2026-Q3"),
        &lead,
        None,
    );
    let j: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let mut lines = r.body.lines();
    let head = lines.next().unwrap();
    assert!(
        head.starts_with("kpi,FY2026-Q3,prev FY2026-Q2,last yr FY2025-Q3,target,"),
        "{head}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let kpis = j["kpis"].as_object().unwrap();
    assert_eq!(rows.len(), kpis.len(), "{}", r.body);
    for row in &rows {
        let v = &kpis[row[0]]["value"];
        let want = match v {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        assert_eq!(row[1], want, "{}: {v}", row[0]);
        assert!(!row.contains(&"—"), "{row:?}");
    }
    // a rep exports their own scorecard, but there is no bulk export of a book
    let rep = sign_in(&fx, "rep", PASSWORD).unwrap();
    let page = call(&fx, "GET", "/?period=FY2026-Q3", &rep, None);
    assert!(page.body.contains("this scorecard (CSV)"), "{}", page.body);
    assert!(!page.body.contains("/api/scorecard/bulk"), "{}", page.body);
    let other = call(
        &fx,
        "GET",
        &format!("/api/scorecard/person/{me}?period=FY2026-Q3&format=csv"),
        &rep,
        None,
    );
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // a scope's page exports every KPI of the scope and period, as a row of the bulk export
    let page = call(
        &fx,
        "GET",
        &format!("/scope?scope=team:{me}&period=2026-08"),
        &lead,
        None,
    );
    let href = format!("/api/scorecard?scope=team:{me}&amp;period=2026-08&amp;format=csv");
    assert!(page.body.contains(&href), "{}", page.body);
    let row = call(&fx, "GET", &href.replace("&amp;", "&"), &lead, None);
    assert_eq!(row.status, StatusCode::OK, "{}", row.body);
    assert_eq!(
        row.headers["content-disposition"],
        format!("attachment; filename=\"scorecard-team-{me}-2026-08.csv\"")
    );
    let mut lines = row.body.lines();
    let head = lines.next().unwrap();
    assert_eq!(
        head.split(',').count(),
        2 + salesorg_core::kpi::KPI_IDS.len() - 1,
        "{head}"
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with(&format!("team:{me},2026-08,"))
    );
    assert_eq!(lines.next(), None);
    let other = call(
        &fx,
        "GET",
        &format!(
            "/api/scorecard?scope=team:{}&period=2026-08&format=csv",
            fx.person("dir_a")
        ),
        &lead,
        None,
    );
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // a format neither JSON nor CSV is refused by name
    for uri in [
        "/api/scorecard?period=2026-08&format=xml".to_owned(),
        format!("/api/scorecard/person/{me}?format=xlsx"),
        "/api/scorecard/bulk?format=CSV".to_owned(),
    ] {
        let r = call(&fx, "GET", &uri, &lead, None);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.body.contains("use json or csv"), "{uri}: {}", r.body);
    }
    // the leader's bulk export, through the page's session
    let bulk = call(
        &fx,
        "GET",
        "/api/scorecard/bulk?grain=quarter&format=csv",
        &lead,
        None,
    );
    assert_eq!(bulk.status, StatusCode::OK);
    assert!(bulk.body.starts_with("scope,period,"), "{}", bulk.body);
    assert!(
        bulk.body.contains(&format!("\nteam:{me},FY2026-Q3,")),
        "{}",
        bulk.body
    );
}

/// The org chart is kept for the viewer until the data moves on: asked again, it is the
/// same page; on another day, or below another root, it is that day's or that root's.
#[test]
fn the_org_chart_kept_is_the_one_asked_for() {
    let fx = fixture(BackendKind::Sqlite);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let get = |uri: &str| {
        let r = call(&fx, "GET", uri, &cro, None);
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        redact(&r.body)
    };
    let now = get("/org?as_of=2026-11-20");
    assert_eq!(get("/org?as_of=2026-11-20"), now);
    let before = get("/org?as_of=2024-01-10");
    assert_ne!(before, now);
    assert!(before.contains("value=\"2024-01-10\""), "{before}");
    let dir = fx.person("dir_a");
    let below = get(&format!("/org?as_of=2026-11-20&root={dir}"));
    assert_ne!(below, now);
    assert!(below.contains("Back to the top"), "{below}");
    assert_eq!(get("/org?as_of=2026-11-20"), now);
    // another viewer has their own
    let d = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let theirs = redact(&call(&fx, "GET", "/org?as_of=2026-11-20", &d, None).body);
    assert_ne!(theirs, now);
}

/// A team's drill-down splits its records by the direct report they came in through on
/// each record's day, and the branches add up to it: as many records, and per kind as
/// many as the inputs count. A first page keeps only the drill-down's ends, so its
/// branches are made from the whole trace then; they are the same as those made from
/// every record kept (a page in the middle). A company's drill-down has none.
#[test]
fn a_teams_drill_down_adds_up_by_direct_report() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    // a drill-down's first page, as JSON
    let api = |q: &str| {
        call(
            &fx,
            "GET",
            &format!("/api/explain?{q}&per_page=1"),
            &dir,
            None,
        )
        .json()
    };
    let q = format!("kpi=activities&scope=team:{me}&period=FY2026");
    let first = api(&q);
    let total = first["total"].as_u64().unwrap();
    assert!(
        total > 400,
        "only the ends are kept for a first page: {total}"
    );
    let branches = first["branches"].as_array().unwrap();
    assert!(branches.len() > 1, "{first}");
    let records: u64 = branches
        .iter()
        .map(|b| b["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, total);
    // per kind, as many as the export lists
    let mut by_kind = std::collections::BTreeMap::<String, u64>::new();
    for k in branches.iter().flat_map(|b| b["kinds"].as_array().unwrap()) {
        *by_kind
            .entry(k["kind"].as_str().unwrap().to_owned())
            .or_default() += k["count"].as_u64().unwrap();
    }
    let csv = call(&fx, "GET", &format!("/explain.csv?{q}"), &dir, None).body;
    let mut listed = std::collections::BTreeMap::<String, u64>::new();
    for line in csv.lines().skip(1) {
        *listed
            .entry(line.split(',').next().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(by_kind.len() > 1, "{by_kind:?}");
    assert_eq!(by_kind, listed);
    // every record kept (a page between the ends): the same branches
    let middle = format!("/api/explain?{q}&per_page=1&page={}", total / 2);
    let all = call(&fx, "GET", &middle, &dir, None).json();
    assert_eq!(all["branches"], first["branches"]);
    let page = call(&fx, "GET", &format!("/explain?{q}"), &dir, None).body;
    // the footer: the drill-down's own figures, its records last but for the kinds
    let foot = &page[page.find("<tfoot>").unwrap_or_else(|| panic!("{page}"))..];
    let foot = &foot[..foot.find("</tfoot>").unwrap()];
    assert!(
        foot.starts_with("<tfoot><tr><th scope=\"row\">All</th>"),
        "{foot}"
    );
    assert!(
        foot.contains(&format!("<td class=\"num\">{total}</td>")),
        "{foot}"
    );
    // each branch's bookings, by the KPI's own formula over its records, add up to the
    // team's
    let j = api(&format!("kpi=bookings&scope=team:{me}&period=FY2026"));
    let cents = |v: &serde_json::Value| -> i64 {
        let s = v.as_str().unwrap_or_else(|| panic!("{v}"));
        s.replace('.', "").parse().unwrap()
    };
    let branches = j["branches"].as_array().unwrap();
    assert!(branches.len() > 1, "{j}");
    let sum: i64 = branches.iter().map(|b| cents(&b["value"])).sum();
    assert_eq!(sum, cents(&j["value"]));
    // the company's, by the head of the org's direct reports: their calls add up to the
    // company's, and so do their records where counted (a first page that keeps only its
    // ends has no records to count, only values and inputs)
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let company = call(
        &fx,
        "GET",
        "/api/explain?kpi=calls&scope=company&period=FY2026-Q3&per_page=1",
        &cro,
        None,
    )
    .json();
    let branches = company["branches"].as_array().unwrap();
    assert!(branches.len() > 1, "{company}");
    let records: Vec<Option<u64>> = branches.iter().map(|b| b["records"].as_u64()).collect();
    if records.iter().all(Option::is_some) {
        let sum: u64 = records.iter().flatten().sum();
        assert_eq!(sum, company["total"].as_u64().unwrap());
    } else {
        assert!(records.iter().all(Option::is_none), "{company}");
    }
    let calls: u64 = branches.iter().map(|b| b["value"].as_u64().unwrap()).sum();
    assert_eq!(calls, company["value"].as_u64().unwrap());
    let page = call(
        &fx,
        "GET",
        "/explain?kpi=calls&scope=company&period=FY2026-Q3",
        &cro,
        None,
    )
    .body;
    assert!(
        page.contains("a direct report of the head of the org"),
        "{page}"
    );
    // a unit's, by sub-unit: their calls add up to the unit's
    let unit = call(
        &fx,
        "GET",
        "/api/explain?kpi=calls&scope=unit:company&period=FY2026-Q3&per_page=1",
        &cro,
        None,
    )
    .json();
    let branches = unit["branches"].as_array().unwrap();
    assert!(branches.len() > 1, "{unit}");
    assert!(
        branches
            .iter()
            .all(|b| b["unit"].is_string() || b["leader"] == true),
        "{unit}"
    );
    let calls: u64 = branches.iter().map(|b| b["value"].as_u64().unwrap()).sum();
    assert_eq!(calls, unit["value"].as_u64().unwrap());
    let page = call(
        &fx,
        "GET",
        "/explain?kpi=calls&scope=unit:company&period=FY2026-Q3",
        &cro,
        None,
    )
    .body;
    assert!(page.contains("<h2>By sub-unit</h2>"), "{page}");
}

/// With links to the CRM set (one template for every kind of record, one for leads), each
/// record of a drill-down opens in the CRM from its id, on the page, in its CSV and in the
/// API, through the template of its kind, the id percent-encoded; salesorg's own records
/// (quotas) link nowhere. Without the settings an id is plain text and the url empty.
#[test]
fn a_drill_downs_records_link_to_the_crm_where_the_settings_say() {
    let sf = "https://acme.my.salesforce.com/";
    let hs = "https://app.hubspot.com/contacts/42/record/0-1/";
    let fx = fixture_with(BackendKind::Sqlite, |s| {
        let mut st = s.settings().unwrap();
        st.set("record_url", &format!("{sf}{{id}}")).unwrap();
        st.set("record_url_lead", &format!("{hs}{{id}}")).unwrap();
        s.save_settings(&st).unwrap();
    });
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    let q = format!("scope=team:{me}&period=FY2026-Q3");
    for (kpi, base) in [("win_rate", sf), ("lead_conversion_rate", hs)] {
        let api = call(
            &fx,
            "GET",
            &format!("/api/explain?kpi={kpi}&{q}&per_page=500"),
            &dir,
            None,
        );
        assert_eq!(api.status, StatusCode::OK, "{}", api.body);
        let recs = api.json()["records"].as_array().unwrap().clone();
        assert!(!recs.is_empty(), "{kpi}");
        for r in &recs {
            let id = r["id"].as_str().unwrap();
            let want = format!("{base}{}", id.replace(' ', "%20"));
            assert_eq!(r["url"].as_str(), Some(want.as_str()), "{kpi} {r}");
        }
        let page = call(&fx, "GET", &format!("/explain?kpi={kpi}&{q}"), &dir, None);
        let first = recs[0]["id"].as_str().unwrap();
        assert!(
            page.body.contains(&format!(
                "<a href=\"{base}{first}\" rel=\"noopener noreferrer\" target=\"_blank\" title=\"Open in the CRM\">{first}</a>"
            )),
            "{kpi}: {}",
            page.body
        );
        let csv = call(
            &fx,
            "GET",
            &format!("/explain.csv?kpi={kpi}&{q}"),
            &dir,
            None,
        )
        .body;
        let mut lines = csv.lines();
        assert!(lines.next().unwrap().ends_with(",amount,url"), "{csv}");
        for line in lines {
            assert!(line.contains(&format!(",{base}")), "{kpi}: {line}");
        }
    }
    // the records' API pages link their items the same way
    for (path, base) in [("opportunities", sf), ("leads", hs), ("activities", sf)] {
        let r = call(
            &fx,
            "GET",
            &format!("/api/{path}?{q}&per_page=20"),
            &dir,
            None,
        );
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let items = r.json()["items"].as_array().unwrap().clone();
        assert!(!items.is_empty(), "{path}");
        for it in &items {
            let want = format!("{base}{}", it["id"].as_str().unwrap());
            assert_eq!(it["url"].as_str(), Some(want.as_str()), "{path}: {it}");
        }
    }
    // a quota is salesorg's own: no link
    let api = call(
        &fx,
        "GET",
        &format!("/api/explain?kpi=quota&{q}&per_page=500"),
        &dir,
        None,
    );
    let recs = api.json()["records"].as_array().unwrap().clone();
    assert!(!recs.is_empty());
    assert!(
        recs.iter()
            .all(|r| r["kind"] == "quota" && r["url"].is_null()),
        "{recs:?}"
    );
    // without the settings: plain ids
    let plain = fixture(BackendKind::Sqlite);
    let dir = sign_in(&plain, "dir_a", PASSWORD).unwrap();
    let me = plain.person("dir_a");
    let api = call(
        &plain,
        "GET",
        &format!("/api/explain?kpi=win_rate&scope=team:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    let recs = api.json()["records"].as_array().unwrap().clone();
    assert!(!recs.is_empty() && recs.iter().all(|r| r["url"].is_null()));
    let page = call(
        &plain,
        "GET",
        &format!("/explain?kpi=win_rate&scope=team:{me}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert!(!page.body.contains("Open in the CRM"));
}

/// A drill-down's records filter by kind and by a text found in any case in their kind,
/// id, owner, date or detail: on the page (the count of the whole beside it, the sorts,
/// pages and export keeping the filter), in its CSV and in the API; each filter is the
/// records that pass it, no more and no fewer (checked against every record listed whole).
#[test]
fn a_drill_downs_records_filter_by_kind_and_text() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    let q = format!("scope=team:{me}&period=FY2026-Q3");
    let all = |kpi: &str, extra: &str| -> (serde_json::Value, Vec<serde_json::Value>) {
        let r = call(
            &fx,
            "GET",
            &format!("/api/explain?kpi={kpi}&{q}&per_page=1000{extra}"),
            &dir,
            None,
        );
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let v = r.json();
        let recs = v["records"].as_array().unwrap().clone();
        assert_eq!(
            v["total"].as_u64().unwrap() as usize,
            recs.len(),
            "one page holds them"
        );
        (v, recs)
    };
    let (whole, every) = all("win_rate", "");
    let lost: Vec<_> = every
        .iter()
        .filter(|r| r["kind"] == "lost")
        .cloned()
        .collect();
    assert!(!lost.is_empty() && lost.len() < every.len());
    let (v, recs) = all("win_rate", "&kind=lost");
    assert_eq!(recs, lost);
    assert_eq!(v["filter"]["of"], whole["total"]);
    assert_eq!(
        recs.len().to_string(),
        v["inputs"]["lost_deals"].as_str().unwrap()
    );
    // a text, in any case: a rep's name (the owner), a loss reason (the detail)
    let name_of = |id: &str| {
        let p = call(&fx, "GET", &format!("/api/people/{id}"), &dir, None);
        p.json()["name"].as_str().unwrap().to_owned()
    };
    let owner = every[every.len() / 2]["owner"].as_str().unwrap().to_owned();
    let name = name_of(&owner);
    let (_, recs) = all(
        "win_rate",
        &format!("&q={}", name.to_uppercase().replace(' ', "%20")),
    );
    let mine: Vec<_> = every
        .iter()
        .filter(|r| r["owner"] == owner.as_str())
        .cloned()
        .collect();
    assert!(!mine.is_empty());
    assert!(
        recs.len() >= mine.len() && mine.iter().all(|r| recs.contains(r)),
        "{name}"
    );
    for r in &recs {
        let hay = format!(
            "{} {} {} {} {}",
            r["kind"], r["id"], r["owner"], r["date"], r["detail"]
        )
        .to_lowercase();
        assert!(
            r["owner"] == owner.as_str() || hay.contains(&name.to_lowercase()),
            "{r}"
        );
    }
    // a part of a record's id, in any case: the deals' and the activities' (ids held
    // packed, each column's looked at only where one of its ids could hold the text)
    for kpi in ["win_rate", "calls"] {
        let (_, every) = all(kpi, "");
        let id = every[every.len() / 3]["id"].as_str().unwrap().to_owned();
        let part = id[id.len().saturating_sub(5)..].to_lowercase();
        let (_, recs) = all(kpi, &format!("&q={part}"));
        assert!(recs.iter().any(|r| r["id"] == id.as_str()), "{kpi} {id}");
        for r in &recs {
            let hay = format!(
                "{} {} {} {} {}",
                r["kind"], r["id"], r["owner"], r["date"], r["detail"]
            );
            assert!(hay.to_lowercase().contains(&part), "{r}");
        }
        let want = every
            .iter()
            .filter(|r| r["id"].as_str().unwrap().to_lowercase().contains(&part))
            .count();
        assert!(recs.len() >= want && want >= 1, "{kpi} {part}");
    }
    let (_, recs) = all("win_rate", "&kind=lost&q=reason%20price");
    let priced: Vec<_> = lost
        .iter()
        .filter(|r| r["detail"].as_str().unwrap().contains("reason Price"))
        .cloned()
        .collect();
    assert!(!priced.is_empty());
    assert_eq!(recs, priced);
    // the deals to fix: the incomplete ones of data completeness
    let (_, open) = all("data_completeness_share", "");
    let (_, bad) = all("data_completeness_share", "&q=INCOMPLETE");
    let want: Vec<_> = open
        .iter()
        .filter(|r| r["detail"].as_str().unwrap().contains("incomplete"))
        .cloned()
        .collect();
    assert!(!want.is_empty() && want.len() < open.len());
    assert_eq!(bad, want);
    // nothing passes: an empty list, not an error
    let (v, recs) = all("win_rate", "&q=no%20such%20thing");
    assert!(recs.is_empty());
    assert_eq!(v["total"], 0);
    // the page: the form, the count of the whole, and the filter kept by sorts, pages
    // and the export
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&{q}&kind=lost&sort=amount&dir=desc"),
        &dir,
        None,
    );
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(
        b.contains(&format!(
            "<option value=\"lost\" selected>lost ({})</option>",
            lost.len()
        )),
        "{b}"
    );
    assert!(
        b.contains(&format!("{} of {} records", lost.len(), every.len())),
        "{b}"
    );
    assert!(
        b.contains("&amp;kind=lost&amp;sort=amount&amp;dir=desc\" download>Export CSV")
            || b.contains("&kind=lost&sort=amount&dir=desc\" download>Export CSV"),
        "{b}"
    );
    assert!(
        b.contains("sort=kind&dir=asc") && b.contains("kind=lost&sort=kind"),
        "sort headers keep it: {b}"
    );
    assert!(!b.contains("<td>won</td>"), "{b}");
    let csv = call(
        &fx,
        "GET",
        &format!("/explain.csv?kpi=win_rate&{q}&kind=lost&q=price"),
        &dir,
        None,
    )
    .body;
    assert_eq!(csv.lines().count(), priced.len() + 1, "{csv}");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.starts_with("lost,") && l.contains("reason Price")),
        "{csv}"
    );
}

/// Every rep of a leader's team, ranked: the quota-carrying people with records of the
/// team in the period, each with the rep role's KPIs over their own book (the numbers of
/// their own scorecard), in rank order by the KPI asked for (those without a value last),
/// as a page with the ranks, a CSV and JSON; a rep who moved in or out mid-period is
/// marked, and a viewer sees only reps of their own subtree.
#[test]
fn a_leaders_reps_are_ranked_by_any_of_their_kpis() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    let q = format!("scope=team:{me}&period=FY2026-Q3");
    let r = call(&fx, "GET", &format!("/api/reps?{q}"), &dir, None);
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(
        (v["sort"].as_str(), v["dir"].as_str()),
        (Some("quota_attainment"), Some("desc"))
    );
    let reps = v["reps"].as_array().unwrap().clone();
    assert!(reps.len() >= 5, "{v}");
    let value = |r: &serde_json::Value, k: &str| r["kpis"][k].as_f64();
    for (i, r) in reps.iter().enumerate() {
        assert_eq!(r["rank"], i + 1);
        let id = r["id"].as_str().unwrap();
        // a rep, and their own scorecard's numbers
        let p = call(&fx, "GET", &format!("/api/people/{id}"), &dir, None).json();
        assert_eq!(p["role"], "sales_rep", "{p}");
        let own = call(&fx, "GET", &format!("/api/scorecard?scope=person:{id}&period=FY2026-Q3&kpi=bookings,quota_attainment,win_rate"), &dir, None).json();
        for k in ["bookings", "quota_attainment", "win_rate"] {
            assert_eq!(r["kpis"][k], own["kpis"][k], "{id} {k}");
        }
        // in the team for part of the quarter: a reporting line that starts or ends in it
        if r["whole_period"] == false {
            let moved = p["reporting_history"].as_array().unwrap().iter().any(|l| {
                let inside = |d: &serde_json::Value| {
                    d.as_str()
                        .is_some_and(|d| ("2026-07-01".."2026-10-01").contains(&d))
                };
                inside(&l["from"]) || inside(&l["to"])
            });
            assert!(moved, "{r} {p}");
        }
    }
    // ranked: highest attainment first, those without one last
    let att: Vec<Option<f64>> = reps.iter().map(|r| value(r, "quota_attainment")).collect();
    let firsts: Vec<f64> = att.iter().map_while(|x| *x).collect();
    assert!(att[firsts.len()..].iter().all(Option::is_none), "{att:?}");
    assert!(firsts.windows(2).all(|w| w[0] >= w[1]), "{att:?}");
    // the other way, by another KPI
    let r = call(
        &fx,
        "GET",
        &format!("/api/reps?{q}&sort=win_rate&dir=asc"),
        &dir,
        None,
    )
    .json();
    let wr: Vec<Option<f64>> = r["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| value(r, "win_rate"))
        .collect();
    let firsts: Vec<f64> = wr.iter().map_while(|x| *x).collect();
    assert!(firsts.windows(2).all(|w| w[0] <= w[1]), "{wr:?}");
    assert_eq!(wr.len(), reps.len());
    // each rep's rank on the same board over the quarter before
    assert_eq!(v["before"], "FY2026-Q2");
    let q2 = call(
        &fx,
        "GET",
        &format!("/api/reps?scope=team:{me}&period=FY2026-Q2"),
        &dir,
        None,
    )
    .json();
    let before: std::collections::HashMap<&str, u64> = q2["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["rank"].as_u64().unwrap()))
        .collect();
    let mut moved = 0;
    for r in &reps {
        let want = before.get(r["id"].as_str().unwrap()).copied();
        assert_eq!(r["rank_before"].as_u64(), want, "{r}");
        moved += usize::from(want.is_some_and(|w| w != r["rank"].as_u64().unwrap()));
    }
    assert!(moved > 0, "ranks move between quarters");
    // a rep looked for by name is found at their rank on the whole board
    let target = &reps[reps.len() / 2];
    let tname = target["name"].as_str().unwrap();
    let word = tname.split_whitespace().last().unwrap().to_lowercase();
    let f = call(&fx, "GET", &format!("/api/reps?{q}&q={word}"), &dir, None).json();
    assert_eq!(f["total"].as_u64().unwrap() as usize, reps.len());
    let hit = f["reps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == target["id"])
        .unwrap();
    assert_eq!(hit["rank"], target["rank"], "{f}");
    for r in f["reps"].as_array().unwrap() {
        let hay = format!("{} {} {}", r["name"], r["id"], r["manager"]["name"]).to_lowercase();
        assert!(hay.contains(&word), "{r}");
    }
    let page = call(
        &fx,
        "GET",
        &format!("/reps?{q}&q={}", word.to_uppercase()),
        &dir,
        None,
    )
    .body;
    assert!(
        page.contains(&format!(
            "{} of {} reps found",
            f["reps"].as_array().unwrap().len(),
            reps.len()
        )),
        "{page}"
    );
    let row = page
        .split("<tr>")
        .find(|r| r.starts_with(&format!("<td class=\"num\">{}</td>", target["rank"])))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        row.contains(&format!(
            "<th scope=\"row\"><a href=\"/people/{}?period=FY2026-Q3\">{tname}</a>",
            target["id"].as_str().unwrap()
        )),
        "{row}"
    );
    assert!(
        page.contains(&format!("&q={}&sort=win_rate", word.to_uppercase())),
        "the sorts keep the search: {page}"
    );
    assert!(
        page.contains(&format!(
            "<input type=\"hidden\" name=\"q\" value=\"{}\">",
            word.to_uppercase()
        )),
        "another period keeps it: {page}"
    );
    let csv = call(&fx, "GET", &format!("/reps.csv?{q}&q={word}"), &dir, None).body;
    assert_eq!(
        csv.lines().count(),
        f["reps"].as_array().unwrap().len() + 1,
        "{csv}"
    );
    let none = call(&fx, "GET", &format!("/reps?{q}&q=zzzqqq"), &dir, None).body;
    assert!(
        none.contains("No rep here has that in their name, id or manager"),
        "{none}"
    );
    // a table is no KPI to rank by
    let r = call(
        &fx,
        "GET",
        &format!("/api/reps?{q}&kpi=stage_conversion"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.contains("a leaderboard shows KPIs of one value"),
        "{}",
        r.body
    );
    // the page, and its CSV
    let page = call(&fx, "GET", &format!("/reps?{q}"), &dir, None);
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let b = &page.body;
    assert!(b.contains("<h1>Reps of "), "{b}");
    assert_eq!(
        b.matches("<tr><td class=\"num\">").count(),
        reps.len().min(100),
        "{b}"
    );
    let first = reps[0]["name"].as_str().unwrap();
    let row1 = b
        .split("<tr><td class=\"num\">1</td>")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(
        row1.contains(&format!(
            "<th scope=\"row\"><a href=\"/people/{}?period=FY2026-Q3\">{first}</a>",
            reps[0]["id"].as_str().unwrap()
        )),
        "{b}"
    );
    assert!(
        b.contains("aria-sort=\"descending\"><a href=\"/reps?scope="),
        "{b}"
    );
    // the move since the quarter before, on each row
    assert!(
        b.contains("title=\"The move since the rank on the same board over FY2026-Q2\">Move</th>"),
        "{b}"
    );
    assert!(
        b.contains("highest first · moves since FY2026-Q2</p>"),
        "{b}"
    );
    let r0 = &reps[0];
    let cell = match r0["rank_before"].as_u64() {
        None => "new</td>".to_owned(),
        Some(1) => "title=\"#1 over FY2026-Q2\">=</td>".to_owned(),
        Some(w) => format!("title=\"#{w} over FY2026-Q2\">▲ {}</td>", w - 1),
    };
    let moved = b
        .split("<tr><td class=\"num\">1</td>")
        .nth(1)
        .and_then(|r| r.split("</td>").next())
        .map(|c| format!("{c}</td>"))
        .unwrap_or_default();
    assert!(
        moved.starts_with("<td class=\"num") && moved.ends_with(&cell),
        "{cell} in {b}"
    );
    // each rep against their own quota: green at or past it, red short of it
    let att_cells: Vec<&str> = b
        .split("<td class=\"num")
        .skip(1)
        .filter(|c| {
            c.split("</td>")
                .next()
                .unwrap()
                .contains("kpi=quota_attainment")
        })
        .collect();
    assert_eq!(att_cells.len(), reps.len().min(100), "{b}");
    for (c, r) in att_cells.iter().zip(&reps) {
        match r["kpis"]["quota_attainment"].as_f64() {
            Some(a) if a >= 1.0 => assert!(c.starts_with(" met\" title=\"target 100.0%\""), "{c}"),
            Some(_) => assert!(c.starts_with(" missed\" title=\"target 100.0%\""), "{c}"),
            None => assert!(c.starts_with("\">"), "{c}"),
        }
    }
    assert!(
        b.contains("Green: at or past the rep's own quota or target"),
        "{b}"
    );
    let csv = call(&fx, "GET", &format!("/reps.csv?{q}"), &dir, None).body;
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().starts_with(
            "rank,rank_before,person_id,name,manager_id,manager,whole_period,bookings,quota,quota_attainment"
        ),
        "{csv}"
    );
    assert_eq!(lines.count(), reps.len());
    // a rep who moved between managers mid-quarter is marked on each manager's board, and
    // had a reporting line start or end in the quarter
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let org = call(&fx, "GET", "/api/org?depth=6", &cro, None).json();
    fn leaders(n: &serde_json::Value, out: &mut Vec<String>) {
        if n["reports"].as_array().is_some_and(|r| !r.is_empty()) {
            out.push(n["id"].as_str().unwrap().to_owned());
            for r in n["reports"].as_array().unwrap() {
                leaders(r, out);
            }
        }
    }
    let mut teams = Vec::new();
    for r in org["roots"].as_array().unwrap() {
        leaders(r, &mut teams);
    }
    let mut marked = 0;
    for t in &teams {
        for period in ["FY2026-Q1", "FY2026-Q2", "FY2026-Q3"] {
            let v = call(
                &fx,
                "GET",
                &format!("/api/reps?scope=team:{t}&period={period}"),
                &cro,
                None,
            )
            .json();
            let quarter = salesorg_core::period::Period::parse(
                period,
                &salesorg_core::period::FiscalCalendar::default(),
            )
            .unwrap();
            let (from, to) = (
                salesorg_core::date::fmt_date(quarter.start),
                salesorg_core::date::fmt_date(quarter.end),
            );
            for r in v["reps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["whole_period"] == false)
            {
                let id = r["id"].as_str().unwrap();
                let p = call(&fx, "GET", &format!("/api/people/{id}"), &cro, None).json();
                let moved = p["reporting_history"].as_array().unwrap().iter().any(|l| {
                    let inside = |d: &serde_json::Value| {
                        d.as_str()
                            .is_some_and(|d| d > from.as_str() && d < to.as_str())
                    };
                    inside(&l["from"]) || inside(&l["to"])
                });
                let left = p["left"]
                    .as_str()
                    .is_some_and(|d| d > from.as_str() && d < to.as_str());
                assert!(moved || left, "{t} {period}: {r} {p}");
                let pg = (r["rank"].as_u64().unwrap() - 1) / 100 + 1;
                let page = call(
                    &fx,
                    "GET",
                    &format!("/reps?scope=team:{t}&period={period}&page={pg}"),
                    &cro,
                    None,
                )
                .body;
                let row = page.split(&format!("/people/{id}?")).nth(1).unwrap();
                assert!(row.split("</th>").next().unwrap().contains("†"), "{row}");
                marked += 1;
            }
        }
    }
    assert!(marked > 0, "the demo's moves mark someone");
    // the director's own page leads to it
    let home = call(&fx, "GET", "/?period=FY2026-Q3", &dir, None).body;
    assert!(
        home.contains(&format!(
            "<a href=\"/reps?scope=team:{me}&amp;period=FY2026-Q3\">Every rep of "
        )),
        "{home}"
    );
    // a viewer sees only their subtree's reps: a team lead's are theirs, the director's
    // team is not theirs to rank
    let lead = sign_in(&fx, "lead_b", PASSWORD).unwrap();
    let mine = call(&fx, "GET", "/api/reps?period=FY2026-Q3", &lead, None).json();
    let theirs: Vec<&str> = mine["reps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(!theirs.is_empty());
    let visible = visible(&fx, "lead_b");
    assert!(theirs.iter().all(|id| visible.contains(*id)), "{theirs:?}");
    assert_eq!(
        call(&fx, "GET", &format!("/api/reps?{q}"), &lead, None).status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&fx, "GET", &format!("/reps?{q}"), &lead, None).status,
        StatusCode::NOT_FOUND
    );
}

/// Anyone in the org is found by name or id (any case) from the org chart, among the people
/// the viewer may see: an exact id first, then names that start with the text; a director
/// finds nobody outside their subtree; the page lists role, manager and a link to the chart.
#[test]
fn people_are_found_by_name_or_id_among_those_the_viewer_sees() {
    let fx = fixture(BackendKind::Sqlite);
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let rep = fx.person("rep");
    let card = call(&fx, "GET", &format!("/api/people/{rep}"), &cro, None).json();
    let name = card["name"].as_str().unwrap().to_owned();
    let last = name.split_whitespace().last().unwrap().to_uppercase();
    // by a word of the name, in another case: every hit holds it, the rep among them
    let v = call(&fx, "GET", &format!("/api/people?q={last}"), &cro, None).json();
    let hits = v["people"].as_array().unwrap();
    assert!(hits.iter().any(|p| p["id"] == rep.as_str()), "{v}");
    for p in hits {
        assert!(
            p["name"].as_str().unwrap().to_uppercase().contains(&last),
            "{p}"
        );
    }
    assert_eq!(v["total"].as_u64().unwrap() as usize, hits.len());
    // by the id: that person first
    let v = call(
        &fx,
        "GET",
        &format!("/api/people?q={}", rep.to_lowercase()),
        &cro,
        None,
    )
    .json();
    assert_eq!(v["people"][0]["id"], rep.as_str(), "{v}");
    assert_eq!(v["people"][0]["manager"], card["manager"]);
    // a director finds nobody outside their subtree: not the CRO
    let cro_id = fx.person("cro");
    let cro_name = call(&fx, "GET", &format!("/api/people/{cro_id}"), &cro, None).json()["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let q = cro_name.replace(' ', "%20");
    let theirs = call(&fx, "GET", &format!("/api/people?q={q}"), &dir, None).json();
    assert!(
        theirs["people"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != cro_id.as_str()),
        "{theirs}"
    );
    let visible = visible(&fx, "dir_a");
    let all = call(&fx, "GET", "/api/people?q=a&limit=500", &dir, None).json();
    for p in all["people"].as_array().unwrap() {
        assert!(visible.contains(p["id"].as_str().unwrap()), "{p}");
    }
    let mine = call(&fx, "GET", &format!("/api/people?q={q}"), &cro, None).json();
    assert_eq!(mine["people"][0]["id"], cro_id.as_str(), "{mine}");
    assert_eq!(
        call(&fx, "GET", "/api/people?q=%20", &cro, None).status,
        StatusCode::BAD_REQUEST
    );
    // the page: the box on the chart, the hits with their place in it
    let chart = call(&fx, "GET", "/org", &cro, None).body;
    assert!(
        chart.contains("<label for=\"q\">Find a person</label>"),
        "{chart}"
    );
    let page = call(
        &fx,
        "GET",
        &format!("/org?q={}", rep.to_lowercase()),
        &cro,
        None,
    );
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(b.contains("1 person matches"), "{b}");
    assert!(
        b.contains(&format!("<a href=\"/people/{rep}\">{name}</a>")),
        "{b}"
    );
    assert!(
        b.contains(&format!("<a href=\"/org?root={rep}&amp;as_of=")),
        "{b}"
    );
    // someone who has left: as on their last day, under their manager then
    let many = call(&fx, "GET", "/org?q=e", &cro, None).body;
    let row = many
        .split("<tr>")
        .find(|r| r.contains("(left; last day "))
        .expect("the demo has leavers");
    let last = row
        .split("(left; last day ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert!(
        row.contains(&format!("&amp;as_of={last}\">in the chart")),
        "{row}"
    );
    assert!(
        row.contains("<td data-label=\"Manager\"><a href=\"/people/"),
        "a manager on their last day: {row}"
    );
    let none = call(&fx, "GET", "/org?q=zzzzqqq", &cro, None).body;
    assert!(
        none.contains("Nobody you can see has that in their name or id."),
        "{none}"
    );
}

/// Every first-line team of a leader's scope, ranked: each a leader with a rep reporting
/// to them in the period, with the KPIs a Sales Manager is measured by over the team (the
/// numbers of the team's own scorecard), ranked; the director's managers are all on it; the
/// page names them as teams and drills into the team.
#[test]
fn a_leaders_first_line_teams_are_ranked() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    let q = format!("scope=team:{me}&period=FY2026-Q3");
    let v = call(&fx, "GET", &format!("/api/teams?{q}"), &dir, None).json();
    let teams = v["teams"].as_array().unwrap().clone();
    assert!(teams.len() >= 2, "{v}");
    let ids: Vec<&str> = teams.iter().map(|t| t["id"].as_str().unwrap()).collect();
    // the director's own reports who lead reps are each a team on it
    let card = call(
        &fx,
        "GET",
        &format!("/api/people/{me}?as_of=2026-09-30"),
        &dir,
        None,
    )
    .json();
    for r in card["reports"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        let theirs = call(
            &fx,
            "GET",
            &format!("/api/people/{id}?as_of=2026-09-30"),
            &dir,
            None,
        )
        .json();
        if !theirs["reports"].as_array().unwrap().is_empty() {
            assert!(ids.contains(&id), "{id} leads a team: {ids:?}");
        }
    }
    assert!(
        !ids.contains(&me.as_str()),
        "the director leads no rep directly"
    );
    for t in &teams {
        let id = t["id"].as_str().unwrap();
        let own = call(&fx, "GET", &format!("/api/scorecard?scope=team:{id}&period=FY2026-Q3&kpi=bookings,quota_attainment,span_of_control"), &dir, None).json();
        for k in ["bookings", "quota_attainment", "span_of_control"] {
            assert_eq!(t["kpis"][k], own["kpis"][k], "{id} {k}");
        }
    }
    let att: Vec<f64> = teams
        .iter()
        .filter_map(|t| t["kpis"]["quota_attainment"].as_f64())
        .collect();
    assert!(att.windows(2).all(|w| w[0] >= w[1]), "{att:?}");
    let page = call(&fx, "GET", &format!("/teams?{q}"), &dir, None);
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(
        b.contains("<h1>Teams of ")
            && b.contains("<th scope=\"col\">Team of</th><th scope=\"col\">Reports to</th>"),
        "{b}"
    );
    assert!(
        b.contains(&format!(
            "/explain?kpi=quota_attainment&amp;scope=team:{}",
            ids[0]
        )),
        "{b}"
    );
    let csv = call(&fx, "GET", &format!("/teams.csv?{q}"), &dir, None).body;
    assert_eq!(csv.lines().count(), teams.len() + 1, "{csv}");
    let home = call(&fx, "GET", "/?period=FY2026-Q3", &dir, None).body;
    assert!(home.contains(&format!("<a href=\"/teams?scope=team:{me}&amp;period=FY2026-Q3\">every first-line team, ranked</a>")), "{home}");
}

/// The accessible name a win rate's sparkline over FY2024-Q4 to FY2026-Q3 has, from the
/// history `GET /api/trend` gives: every value as the page shows it.
fn win_rate_spark_name(t: &serde_json::Value) -> String {
    let shown: Vec<String> = t["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["value"]
                .as_f64()
                .map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
        })
        .collect();
    format!(
        "aria-label=\"Win rate, FY2024-Q4 to FY2026-Q3: {}\"",
        shown.join(", ")
    )
}

/// Every win-rate sparkline of `page` (over FY2026-Q3) names the values `GET /api/trend`
/// gives for its scope; how many there are.
fn win_rate_sparks_match(fx: &Fx, auth: &Auth, page: &str) -> usize {
    let rows: Vec<&str> = page
        .split("<a class=\"spark\" href=\"/explain?kpi=win_rate&amp;scope=")
        .skip(1)
        .collect();
    for r in &rows {
        let scope = &r[..r.find("&amp;").unwrap()];
        let t = call(
            fx,
            "GET",
            &format!("/api/trend?kpi=win_rate&scope={scope}&period=FY2026-Q3"),
            auth,
            None,
        )
        .json();
        let name = win_rate_spark_name(&t);
        assert!(
            r[..r.find("</a>").unwrap()].contains(&name),
            "{scope}: {name}"
        );
    }
    rows.len()
}

/// A KPI's history: each period's value is that period's own number on the scorecard (its
/// quota beside bookings), the periods consecutive and the one asked for last, none before
/// the data's first record; a period under way says which day it is on; the drill-down page
/// draws it, each point and row a link to that period's drill-down; a table-valued KPI
/// and a length out of range are refused.
#[test]
fn a_kpis_history_is_each_periods_own_number() {
    let fx = fixture(BackendKind::Sqlite);
    let dir = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let me = fx.person("dir_a");
    let scope = format!("team:{me}");
    let r = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=bookings&scope={scope}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = r.json();
    assert_eq!(
        (t["kpi"].as_str(), t["scope"].as_str()),
        (Some("bookings"), Some(scope.as_str()))
    );
    let points = t["points"].as_array().unwrap();
    let periods: Vec<&str> = points
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(
        periods,
        [
            "FY2024-Q4",
            "FY2025-Q1",
            "FY2025-Q2",
            "FY2025-Q3",
            "FY2025-Q4",
            "FY2026-Q1",
            "FY2026-Q2",
            "FY2026-Q3"
        ],
        "{t}"
    );
    for p in points {
        let period = p["period"].as_str().unwrap();
        let own = call(
            &fx,
            "GET",
            &format!("/api/scorecard?scope={scope}&period={period}&kpi=bookings,quota"),
            &dir,
            None,
        )
        .json();
        assert_eq!(p["value"], own["kpis"]["bookings"], "{period}");
        assert_eq!(p["target"], own["kpis"]["quota"], "{period}");
        assert_eq!(p["as_of"], own["as_of"], "{period}");
        assert!(p["under_way"].is_null(), "{p}");
    }
    assert!(
        points
            .iter()
            .any(|p| p["value"].as_str().is_some_and(|v| v != "0.00")),
        "{t}"
    );
    // the fixture's first records are of 2024: asked for three years of quarters, the
    // history starts with the quarter they fall in
    let long = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=win_rate&scope={scope}&period=FY2026-Q4&periods=36"),
        &dir,
        None,
    )
    .json();
    let lp = long["points"].as_array().unwrap();
    let first = lp[0]["period_start"].as_str().unwrap().to_owned();
    let earliest = call(
        &fx,
        "GET",
        &format!("/api/opportunities?scope={scope}&period=2020-01-01..2026-12-31&per_page=1000"),
        &dir,
        None,
    )
    .json();
    let created_min = earliest["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["created"].as_str().map(|c| c[..10].to_owned()))
        .min()
        .unwrap();
    assert!(
        first.as_str() <= created_min.as_str(),
        "{first} {created_min}"
    );
    assert!(lp.len() < 36 && lp.len() >= 8, "{}", lp.len());
    // today (2026-11-20) is day 51 of the fourth quarter's 92
    let last = lp.last().unwrap();
    assert_eq!(last["period"], "FY2026-Q4");
    assert_eq!(last["under_way"], serde_json::json!({"day": 51, "of": 92}));
    assert_eq!(last["as_of"], "2026-11-20");
    // like for like: each quarter before to its own 51st day, as the scorecard of that
    // quarter to that day has it; the page offers it mid-period and draws it on request
    let same = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=bookings&scope={scope}&period=FY2026-Q4&periods=4&same_day=true"),
        &dir,
        None,
    )
    .json();
    let sp = same["points"].as_array().unwrap();
    let names: Vec<&str> = sp.iter().map(|p| p["period"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "FY2026-Q1 to 2026-02-20",
            "FY2026-Q2 to 2026-05-21",
            "FY2026-Q3 to 2026-08-20",
            "FY2026-Q4"
        ],
        "{same}"
    );
    for p in sp {
        let period = p["period"].as_str().unwrap().replace(' ', "%20");
        let own = call(
            &fx,
            "GET",
            &format!("/api/scorecard?scope={scope}&period={period}&kpi=bookings"),
            &dir,
            None,
        )
        .json();
        assert_eq!(p["value"], own["kpis"]["bookings"], "{period}");
        assert_eq!(p["under_way"]["day"], 51, "{p}");
    }
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=bookings&scope={scope}"),
        &dir,
        None,
    )
    .body;
    assert!(
        page.contains("&amp;same_day=1#history\">Each to day 51, like for like</a>"),
        "{page}"
    );
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=bookings&scope={scope}&same_day=1"),
        &dir,
        None,
    )
    .body;
    assert!(page.contains(", each to day 51</figcaption>"), "{page}");
    assert!(
        page.contains("<th scope=\"col\">Last 8 quarters, each to day 51</th>"),
        "{page}"
    );
    assert!(page.contains("FY2026-Q3</a> (to day 51 of 92)"), "{page}");
    // months, three of them
    let m = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=win_rate&scope={scope}&period=2026-09&periods=3"),
        &dir,
        None,
    )
    .json();
    let mp: Vec<&str> = m["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(mp, ["2026-07", "2026-08", "2026-09"], "{m}");
    // the page draws it, each period a link to its own drill-down
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=bookings&scope={scope}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<figure class=\"chart\" id=\"history\">"),
        "{}",
        page.body
    );
    for p in &periods {
        let href = format!("/explain?kpi=bookings&amp;scope=team:{me}&amp;period={p}\"");
        assert!(page.body.contains(&href), "{href}");
    }
    // each card of the scorecard has the same history as a sparkline, its name listing
    // every value, a link to the drill-down's chart
    let card = call(
        &fx,
        "GET",
        &format!("/people/{me}?period=FY2026-Q3"),
        &dir,
        None,
    );
    let wr = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=win_rate&scope={scope}&period=FY2026-Q3"),
        &dir,
        None,
    )
    .json();
    let name = win_rate_spark_name(&wr);
    assert!(card.body.contains(&name), "{name}");
    assert!(card.body.contains(&format!("<a class=\"spark\" href=\"/explain?kpi=win_rate&amp;scope=team:{me}&amp;period=FY2026-Q3#history\">")));
    // a history over date ranges takes a pass of its own: the drill-down offers it (and
    // its cards have no sparklines) until asked for, a leader's team's as the company's
    let mine = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&scope={scope}&period=2026-08-03..2026-08-17"),
        &dir,
        None,
    )
    .body;
    assert!(
        mine.contains("Show the history</a>") && !mine.contains("class=\"spark\""),
        "{mine}"
    );
    let cro = sign_in(&fx, "cro", PASSWORD).unwrap();
    let range = "period=2026-08-03..2026-08-17";
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&scope=company&{range}"),
        &cro,
        None,
    )
    .body;
    assert!(page.contains("<p class=\"history-off\" id=\"history\"><a href=\"/explain?kpi=win_rate&amp;scope=company&amp;period=2026-08-03..2026-08-17&amp;history=1#history\">Show the history</a>"), "{page}");
    assert!(!page.contains("<figure class=\"chart\" id=\"history\">"));
    assert!(
        !page.contains("class=\"spark\""),
        "no history beside the direct reports either"
    );
    let home = call(&fx, "GET", &format!("/?{range}"), &cro, None).body;
    assert!(
        home.contains("class=\"card\"") && !home.contains("class=\"spark\""),
        "{home}"
    );
    let asked = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&scope=company&{range}&history=1"),
        &cro,
        None,
    )
    .body;
    assert!(
        asked.contains("<figure class=\"chart\" id=\"history\">"),
        "{asked}"
    );
    assert!(asked.contains("2026-07-20..2026-08-03"), "the range before");
    // each direct report's row of the drill-down has their team's history beside it, the
    // same as the API gives for their team
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&scope={scope}&period=FY2026-Q3"),
        &dir,
        None,
    )
    .body;
    assert!(
        page.contains("<th scope=\"col\">Last 8 quarters</th>"),
        "{page}"
    );
    assert!(win_rate_sparks_match(&fx, &dir, &page) >= 2, "{page}");
    // and each rep on a leaderboard ranked by it, their own book's
    let board = call(
        &fx,
        "GET",
        &format!("/reps?scope={scope}&period=FY2026-Q3&sort=win_rate"),
        &dir,
        None,
    )
    .body;
    assert!(
        board.contains("<th scope=\"col\">Win rate, last 8 quarters</th>"),
        "{board}"
    );
    let reps = win_rate_sparks_match(&fx, &dir, &board);
    assert!(reps >= 3, "{board}");
    // (a rep with fewer than two values has none, and no empty link either)
    assert!(!board.contains("#history\"></a>"), "{board}");
    // the same as CSV, a row per period as the JSON has it, linked under the chart
    let csv = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=bookings&scope={scope}&period=FY2026-Q3&format=csv"),
        &dir,
        None,
    );
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "period,as_of,bookings,target,under_way");
    assert_eq!(lines.len(), points.len() + 1, "{}", csv.body);
    for (l, p) in lines[1..].iter().zip(points) {
        let cells: Vec<&str> = l.split(',').collect();
        assert_eq!(cells[0], p["period"].as_str().unwrap());
        assert_eq!(cells[2], p["value"].as_str().unwrap());
        assert_eq!(cells[3], p["target"].as_str().unwrap_or(""));
    }
    let page = call(
        &fx,
        "GET",
        &format!("/explain?kpi=bookings&scope={scope}&period=FY2026-Q3"),
        &dir,
        None,
    )
    .body;
    assert!(page.contains(&format!("<a href=\"/api/trend?kpi=bookings&amp;scope=team:{me}&amp;period=FY2026-Q3&amp;format=csv\" download>")));
    let bad = call(
        &fx,
        "GET",
        &format!("/api/trend?kpi=bookings&scope={scope}&format=xml"),
        &dir,
        None,
    );
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // refused: a table, a length out of range, no KPI
    for q in [
        "kpi=stage_conversion".to_owned(),
        "kpi=win_rate&periods=0".to_owned(),
        "kpi=win_rate&periods=37".to_owned(),
        String::new(),
    ] {
        let r = call(
            &fx,
            "GET",
            &format!("/api/trend?scope={scope}&{q}"),
            &dir,
            None,
        );
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.body);
    }
    let table = call(
        &fx,
        "GET",
        &format!("/explain?kpi=stage_conversion&scope={scope}&period=FY2026-Q3"),
        &dir,
        None,
    );
    assert_eq!(table.status, StatusCode::OK);
    assert!(!table.body.contains("id=\"history\""));
}

/// The period picker's custom range: its first and last day (both counted, as a date
/// picker shows them) lead to the same page over that range, written as a period (the end
/// exclusive), with the page's other parameters but its page number; a range that ends
/// before it starts, or lacks a day, is refused on the error page; a page over a range
/// fills the form in with it.
/// A range reads by its first and last day wherever a page shows it (the heading, the
/// tab's name, the cards' comparisons, a board's and a drill-down's headings), as the
/// picker's custom range reads it; its links keep the parameter's form, which ends with
/// the day after its last.
#[test]
fn a_range_reads_by_its_first_and_last_day_wherever_it_is_shown() {
    let fx = fixture(BackendKind::Sqlite);
    let auth = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let team = format!("team:{}", fx.person("dir_a"));
    let range = "2026-01-15..2026-02-15";
    let shown = "2026-01-15 – 2026-02-14";
    let nw = "<span class=\"nw\">2026-01-15</span> – <span class=\"nw\">2026-02-14</span>";
    for (uri, texts) in [
        (
            format!("/?period={range}"),
            vec![
                // (each date kept whole on a narrow screen)
                ">vs <span class=\"nw\">2025-12-15</span> – <span class=\"nw\">2026-01-14</span></a>"
                    .to_owned(),
                ">vs <span class=\"nw\">2025-01-15</span> – <span class=\"nw\">2025-02-14</span></a>"
                    .to_owned(),
            ],
        ),
        (
            format!("/scope?scope={team}&period={range}"),
            vec![
                format!(" · {nw} · "),
                format!(" · {shown} · salesorg</title>"),
            ],
        ),
        (
            format!("/reps?scope={team}&period={range}"),
            vec![format!("</h1><p class=\"sub\">{nw} · ")],
        ),
        (
            format!("/explain?kpi=win_rate&scope={team}&period={range}"),
            vec![
                format!("</h1><p class=\"sub\">{nw} · "),
                format!(", {shown} · salesorg</title>"),
                // the history's span: from the first range's first day to this one's last
                "to 2026-02-14, 31 days each (made on request".to_owned(),
            ],
        ),
        (
            format!("/explain?kpi=win_rate&scope={team}&period={range}&history=1"),
            vec!["to 2026-02-14, 31 days each; each point opens".to_owned()],
        ),
    ] {
        let r = call(&fx, "GET", &uri, &auth, None);
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        for t in texts {
            assert!(r.body.contains(&t), "{uri}: {t}\n{}", r.body);
        }
        // (the parameter's form only in links and form values)
        let text: String = r
            .body
            .split('<')
            .filter_map(|tag| tag.split_once('>').map(|(_, text)| text))
            .collect();
        assert!(
            !text.contains(range),
            "{uri} shows {range}: {}",
            &text[text.find(range).unwrap_or(0).saturating_sub(300)..]
        );
    }
    // a range to a day of it: named with that day, its form filled in with the whole range
    let to_day = call(
        &fx,
        "GET",
        "/?period=2026-01-15..2026-02-15%20to%202026-02-01",
        &auth,
        None,
    );
    assert_eq!(to_day.status, StatusCode::OK);
    assert!(
        to_day
            .body
            .contains(">2026-01-15 – 2026-02-14, to 2026-02-01</option>"),
        "{}",
        to_day.body
    );
    assert!(
        to_day
            .body
            .contains("name=\"to\" type=\"date\" required value=\"2026-02-14\""),
        "the form holds the whole range"
    );
}

#[test]
fn a_custom_range_from_the_picker_opens_the_page_over_it() {
    let fx = fixture(BackendKind::Sqlite);
    let auth = sign_in(&fx, "dir_a", PASSWORD).unwrap();
    let team = format!("team:{}", fx.person("dir_a"));
    for (uri, to) in [
        (
            "/?from=2026-01-15&to=2026-02-14".to_owned(),
            "/?period=2026-01-15..2026-02-15".to_owned(),
        ),
        (
            format!("/scope?scope={team}&from=2025-12-01&to=2025-12-31&page=3&period=FY2026-Q4"),
            format!(
                "/scope?scope={}&period=2025-12-01..2026-01-01",
                team.replace(':', "%3A")
            ),
        ),
        (
            "/reps?sort=win_rate&dir=asc&from=2026-02-28&to=2026-02-28".to_owned(),
            "/reps?sort=win_rate&dir=asc&period=2026-02-28..2026-03-01".to_owned(),
        ),
        // a drill-down's picker: the same KPI of the same scope, its filter kept
        (
            format!("/explain?kpi=win_rate&scope={team}&kind=lost&from=2026-01-01&to=2026-03-31"),
            format!(
                "/explain?kpi=win_rate&scope={}&kind=lost&period=2026-01-01..2026-04-01",
                team.replace(':', "%3A")
            ),
        ),
    ] {
        let r = call(&fx, "GET", &uri, &auth, None);
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(r.headers["location"], to.as_str(), "{uri}");
        let page = call(&fx, "GET", &to, &auth, None);
        assert_eq!(page.status, StatusCode::OK, "{to}");
    }
    let page = call(&fx, "GET", "/?period=2026-01-15..2026-02-15", &auth, None).body;
    assert!(
        page.contains("<details class=\"range\" open>")
            && page.contains("name=\"from\" type=\"date\" required value=\"2026-01-15\"")
            && page.contains("name=\"to\" type=\"date\" required value=\"2026-02-14\""),
        "the range's form is filled in"
    );
    assert!(
        page.contains(
            "<option value=\"2026-01-15..2026-02-15\" selected>2026-01-15 – 2026-02-14</option>"
        ),
        "the picker names the range by its first and last day"
    );
    let drill = call(
        &fx,
        "GET",
        &format!("/explain?kpi=win_rate&scope={team}&kind=lost&period=FY2026-Q1"),
        &auth,
        None,
    )
    .body;
    for field in [
        "<select id=\"period\" name=\"period\"".to_owned(),
        "<input type=\"hidden\" name=\"kpi\" value=\"win_rate\">".to_owned(),
        format!("<input type=\"hidden\" name=\"scope\" value=\"{team}\">"),
        "<input type=\"hidden\" name=\"kind\" value=\"lost\">".to_owned(),
    ] {
        assert!(drill.contains(&field), "the drill-down's picker: {field}");
    }
    let quarter = call(&fx, "GET", "/?period=FY2026-Q1", &auth, None).body;
    assert!(
        quarter.contains("<details class=\"range\">")
            && quarter.contains("name=\"from\" type=\"date\" required value=\"\""),
        "a quarter's page leaves the range's form empty"
    );
    for (uri, says) in [
        (
            "/?from=2026-03-01&to=2026-02-01",
            "range: the last day, 2026-02-01, comes before the first, 2026-03-01",
        ),
        (
            "/?from=2026-03-01",
            "range: give its first day (from) and its last (to)",
        ),
        ("/?from=2026-03-01&to=2026-02-30", "to: "),
    ] {
        let r = call(&fx, "GET", uri, &auth, None);
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.body.contains(says), "{uri}: {}", r.body);
    }
    // a form left blank is no range at all
    let r = call(&fx, "GET", "/?from=&to=&period=FY2026-Q1", &auth, None);
    assert_eq!(r.status, StatusCode::OK);
}
