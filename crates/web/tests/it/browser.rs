//! End to end in headless Chromium (Debian's `chromium` and `chromium-driver`, over
//! WebDriver): a VP, a Director, a Team Lead and a rep sign in, land on their own scope's
//! numbers (equal to the engine's), walk the org chart down and back, open a drill-down
//! and export it, and get "not found" outside their scope. Screenshots of each landing
//! page go to `target/screenshots/`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use salesorg_store::BackendKind;
use salesorg_store::testing::free_port;
use serde_json::{Value, json};

use crate::fixture::*;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 request on loopback; returns (status, headers, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    // read the head, then exactly the body (chromedriver keeps connections open)
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed before the headers");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let lower = head.to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut rest = buf[head_end + 4..].to_vec();
    let len = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let body = match len {
        Some(n) => {
            while rest.len() < n {
                let k = s.read(&mut chunk).unwrap();
                assert!(k > 0, "connection closed before the body");
                rest.extend_from_slice(&chunk[..k]);
            }
            rest.truncate(n);
            rest
        }
        None => {
            // chunked or close-delimited: the server closes (we asked it to)
            let _ = s.read_to_end(&mut rest);
            if lower.contains("transfer-encoding: chunked") {
                let mut out = Vec::new();
                let mut r = &rest[..];
                while let Some(i) = r.windows(2).position(|w| w == b"\r\n") {
                    let n = usize::from_str_radix(String::from_utf8_lossy(&r[..i]).trim(), 16)
                        .unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&r[i + 2..i + 2 + n]);
                    r = &r[i + 4 + n..];
                }
                out
            } else {
                rest
            }
        }
    };
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// A WebDriver session on chromedriver.
struct Browser {
    port: u16,
    id: String,
    driver: Child,
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is needed: .ci/run installs it");
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--no-first-run", "--window-size=1280,1000", "--disable-dev-shm-usage"]
        }}}});
        let (st, _, body) = http(
            port,
            "POST",
            "/session",
            &[("Content-Type", "application/json")],
            Some(&caps.to_string()),
        );
        assert_eq!(st, 200, "new WebDriver session: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let id = v["value"]["sessionId"].as_str().unwrap().to_owned();
        Browser { port, id, driver }
    }
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let b = body.map(|b| b.to_string());
        let (st, _, out) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.id),
            &[("Content-Type", "application/json")],
            b.as_deref(),
        );
        let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        assert_eq!(st, 200, "{method} {path}: {out}");
        v["value"].clone()
    }
    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }
    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_owned()
    }
    /// Waits (up to 10 s) until the current URL passes `f`; returns it.
    fn wait_url(&self, f: impl Fn(&str) -> bool) -> String {
        for _ in 0..100 {
            let u = self.url();
            if f(&u)
                && self.cmd(
                    "POST",
                    "/execute/sync",
                    Some(json!({"script": "return document.readyState", "args": []})),
                ) == "complete"
            {
                return u;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.url()
    }
    fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap().to_owned()
    }
    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT].as_str().unwrap().to_owned()
    }
    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }
    fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    fn attr(&self, el: &str, name: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/attribute/{name}"), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
    fn click(&self, el: &str) {
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }
    fn type_in(&self, el: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }
    fn back(&self) {
        self.cmd("POST", "/back", Some(json!({})));
    }
    fn screenshot(&self, path: &std::path::Path) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
    fn cookie(&self, name: &str) -> Option<String> {
        let v = self.cmd("GET", &format!("/cookie/{name}"), None);
        v["value"].as_str().map(str::to_owned)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.id),
            &[],
            None,
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn screenshots() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

#[test]
fn leaders_and_reps_use_the_web_app_in_chromium() {
    if std::env::var("SALESORG_SKIP_BROWSER").is_ok() {
        eprintln!("SALESORG_SKIP_BROWSER is set: the browser test is skipped");
        return;
    }
    let fx = fixture(BackendKind::Sqlite);
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let cfg = fx.app.cfg.clone();
    std::thread::spawn(move || salesorg_web::serve(cfg, addr));
    for _ in 0..300 {
        if TcpStream::connect(addr).is_ok() && http(port, "GET", "/ready", &[], None).0 == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let base = format!("http://127.0.0.1:{port}");
    let loaded = fx.app.engine().unwrap();
    let e = loaded.engine();
    let cat = salesorg_core::catalog::Catalog::builtin().unwrap();
    let b = Browser::start();
    let outsider = fx.person("cro");
    for (viewer, role) in [
        ("vp", "VP"),
        ("dir_a", "Director"),
        ("lead_b", "Team Lead"),
        ("rep", "rep"),
    ] {
        // sign in through the form; a page asked for first comes back after sign-in
        b.go(&format!("{base}/org"));
        assert!(
            b.url().contains("/login?next=%2Forg"),
            "{viewer}: {}",
            b.url()
        );
        b.type_in(&b.find("#username"), viewer);
        b.type_in(&b.find("#password"), PASSWORD);
        b.click(&b.find("form[action='/login'] button"));
        let u = b.wait_url(|u| u.ends_with("/org"));
        assert!(u.ends_with("/org"), "{viewer} after sign-in: {u}");
        b.go(&format!("{base}/"));
        assert_eq!(b.title(), "My scorecard · salesorg", "{viewer}");
        let h = b
            .cmd(
                "POST",
                "/execute/sync",
                Some(json!({"script": "return document.documentElement.scrollHeight", "args": []})),
            )
            .as_i64()
            .unwrap_or(1000);
        b.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": 1280, "height": h.clamp(800, 6000) + 120})),
        );
        b.screenshot(&screenshots().join(format!("landing-{viewer}.png")));
        b.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": 1280, "height": 1000})),
        );
        if viewer == "rep" || viewer == "dir_a" {
            // usable on a phone: nothing but the tables' own scroll areas scrolls sideways
            b.cmd(
                "POST",
                "/window/rect",
                Some(json!({"width": 390, "height": 844})),
            );
            let js = |script: &str| {
                b.cmd(
                    "POST",
                    "/execute/sync",
                    Some(json!({"script": script, "args": []})),
                )
                .as_i64()
                .unwrap()
            };
            let inner = js("return document.documentElement.clientWidth");
            let wide = js("return document.documentElement.scrollWidth");
            assert!(
                wide <= inner,
                "{viewer}: the page is {wide}px wide on a {inner}px screen"
            );
            b.screenshot(&screenshots().join(format!("landing-{viewer}-phone.png")));
            b.cmd(
                "POST",
                "/window/rect",
                Some(json!({"width": 1280, "height": 1000})),
            );
        }

        // the landing page shows the viewer's own scope, numbers equal to the engine's
        let me = e.book.person(&fx.person(viewer)).unwrap();
        let (_, scope, kpis) = salesorg_engine::scorecard::role_scope(e, &cat, me);
        let sub = b.text(&b.find("p.sub"));
        assert!(sub.contains(&e.scope_name(scope)), "{role} lands on {sub}");
        let q = salesorg_core::period::Period::containing(
            &e.book.settings.fiscal,
            salesorg_core::period::Grain::Quarter,
            today(),
        );
        let want =
            salesorg_engine::scorecard::person_scorecard(e, &cat, me, q, today(), None).unwrap();
        let cards = b.find_all("p.value[data-kpi]");
        assert!(!cards.is_empty(), "{viewer} has KPI cards");
        for el in &cards {
            let k = b.attr(el, "data-kpi");
            let raw = b.attr(el, "data-raw");
            let line = want.lines.iter().find(|l| l.kpi == k).unwrap();
            assert_eq!(raw, line.value.to_json(), "{viewer} {k}");
        }
        assert!(
            kpis.iter()
                .any(|k| cards.iter().any(|c| b.attr(c, "data-kpi") == *k))
        );
        assert!(
            b.find_all("figure.chart svg[role='img']").len() >= 4,
            "{viewer} sees the charts"
        );

        // the org chart: down to a report and back
        b.click(&b.find("nav a[href='/org']"));
        b.wait_url(|u| u.ends_with("/org"));
        b.screenshot(&screenshots().join(format!("org-{viewer}.png")));
        let links = b.find_all(".tree a[href^='/people/']");
        if links.len() > 1 {
            let name = b.text(&links[1]);
            b.click(&links[1]);
            let u = b.wait_url(|u| u.contains("/people/"));
            assert!(u.contains("/people/"), "{viewer}: {u}");
            assert_eq!(b.text(&b.find("h1")), name);
            b.back();
            let u = b.wait_url(|u| u.ends_with("/org"));
            assert!(u.ends_with("/org"), "{viewer} back: {u}");
        }

        // a director's every rep, ranked: from their page, then by another KPI
        if viewer == "dir_a" {
            b.go(&format!("{base}/"));
            b.click(&b.find("a[href^='/reps?']"));
            let u = b.wait_url(|u| u.contains("/reps?"));
            assert!(u.contains("/reps?scope=team:"), "{u}");
            assert!(
                b.find_all("table.board tbody tr").len() >= 5,
                "{viewer}: the reps"
            );
            b.click(&b.find("table.board thead a[href*='sort=win_rate']"));
            let u = b.wait_url(|u| u.contains("sort=win_rate"));
            assert!(u.contains("dir=desc"), "{u}");
            b.screenshot(&screenshots().join(format!("reps-{viewer}.png")));

            // a range of their own from the picker: its first and last day, both counted
            b.go(&format!("{base}/"));
            b.click(&b.find("details.range summary"));
            let first = today() - time::Duration::days(75);
            let last = today() - time::Duration::days(31);
            let fmt = salesorg_core::date::fmt_date;
            b.cmd(
                "POST",
                "/execute/sync",
                Some(json!({"script": "document.getElementById('range-from').value = arguments[0]; document.getElementById('range-to').value = arguments[1];", "args": [fmt(first), fmt(last)]})),
            );
            b.click(&b.find("details.range button[type='submit']"));
            let u = b.wait_url(|u| u.contains("period="));
            let range =
                salesorg_core::period::Period::range(first, last.next_day().unwrap()).unwrap();
            assert!(
                u.ends_with(&format!("/?period={range}")),
                "{viewer}: the range picked leads to {u}"
            );
            assert_eq!(b.attr(&b.find("#range-from"), "value"), fmt(first));
            assert_eq!(b.attr(&b.find("#range-to"), "value"), fmt(last));
            let me = e.book.person(&fx.person(viewer)).unwrap();
            let want =
                salesorg_engine::scorecard::person_scorecard(e, &cat, me, range, today(), None)
                    .unwrap();
            let cards = b.find_all("p.value[data-kpi]");
            assert!(!cards.is_empty());
            for el in &cards {
                let k = b.attr(el, "data-kpi");
                let line = want.lines.iter().find(|l| l.kpi == k).unwrap();
                assert_eq!(
                    b.attr(el, "data-raw"),
                    line.value.to_json(),
                    "{viewer} {k} over {range}"
                );
            }
            b.screenshot(&screenshots().join(format!("range-{viewer}.png")));
        }
        // a card's sparkline opens its drill-down's history, whose points open each
        // period's own drill-down
        b.go(&format!("{base}/"));
        b.click(&b.find("a.spark"));
        let u = b.wait_url(|u| u.contains("#history"));
        assert!(
            u.contains("/explain?") && u.ends_with("#history"),
            "{viewer}: {u}"
        );
        let points = b.find_all("figure#history svg a");
        assert!(points.len() >= 2, "{viewer}: the history's points");
        b.click(&points[0]);
        let before = b.wait_url(|x| x != u);
        assert!(
            before.contains("/explain?") && before != u,
            "{viewer}: {before}"
        );
        // drill-down from the first number, then its CSV export with the same session
        b.go(&format!("{base}/"));
        let first = b.find("p.value a");
        b.click(&first);
        let u = b.wait_url(|u| u.contains("/explain?"));
        assert!(u.contains("/explain?"), "{viewer}: {u}");
        b.screenshot(&screenshots().join(format!("explain-{viewer}.png")));
        if viewer == "rep" || viewer == "dir_a" {
            // on a phone each record fits the screen, its detail on a line of its own (six
            // columns had squeezed the detail into a word a line, past the screen's edge)
            b.cmd(
                "POST",
                "/window/rect",
                Some(json!({"width": 390, "height": 844})),
            );
            // (the window takes its new size a moment later: asked until it has)
            let check = "const w = document.documentElement.clientWidth; \
                if (w > 400) return null; \
                const t = document.querySelector('table.records'); \
                const d = t && t.querySelector('tbody td.detail'); \
                if (!d) return 'none'; \
                return t.scrollWidth <= t.parentElement.clientWidth \
                  && d.getBoundingClientRect().right <= w \
                  && d.getBoundingClientRect().width > w / 2;";
            let mut fits = json!(null);
            for _ in 0..50 {
                fits = b.cmd(
                    "POST",
                    "/execute/sync",
                    Some(json!({"script": check, "args": []})),
                );
                if !fits.is_null() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // (the director's first number has records; the rep's may have none)
            assert!(
                fits == json!(true) || (viewer == "rep" && fits == json!("none")),
                "{viewer}: a record's detail on a phone ({fits})"
            );
            b.screenshot(&screenshots().join(format!("explain-{viewer}-phone.png")));
            b.cmd(
                "POST",
                "/window/rect",
                Some(json!({"width": 1280, "height": 1000})),
            );
        }
        let rows = b.find_all("table.data tbody tr");
        let export = b.attr(&b.find("a[download][href*='/explain.csv']"), "href");
        let cookie = b.cookie(salesorg_web::auth::COOKIE).unwrap();
        let path = export.trim_start_matches(&base).to_owned();
        let (st, head, csv) = http(
            port,
            "GET",
            &path,
            &[(
                "Cookie",
                &format!("{}={cookie}", salesorg_web::auth::COOKIE),
            )],
            None,
        );
        assert_eq!(st, 200, "{viewer} export {path}");
        assert!(head.to_ascii_lowercase().contains("text/csv"));
        assert!(csv.starts_with("kind,record,owner_id,owner,date,detail,amount"));
        assert!(
            csv.lines().count() > rows.len().min(1),
            "{viewer}: the export has the rows"
        );

        // outside the viewer's scope: not found
        if viewer != "vp" || outsider != fx.person("vp") {
            b.go(&format!("{base}/people/{outsider}"));
            assert_eq!(b.title(), "Not found · salesorg", "{viewer} opens the CRO");
        }
        // sign out
        b.go(&format!("{base}/"));
        b.click(&b.find("form.logout button"));
        let u = b.wait_url(|u| u.ends_with("/login"));
        assert!(u.ends_with("/login"), "{viewer} signed out: {u}");
    }
}
