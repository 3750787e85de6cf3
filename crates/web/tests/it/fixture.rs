//! A demo org in a fresh store on each backend, users for each kind of viewer, and a
//! tiny HTTP client over the router.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use salesorg_core::date::{Date, parse_date};
use salesorg_core::ids::PersonId;
use salesorg_engine::Quiet;
use salesorg_engine::demo::{DemoSpec, StoreSink, generate};
use salesorg_store::BackendKind;
use salesorg_store::testing::{TestStore, fresh};
use salesorg_web::{App, Config, auth};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

pub fn today() -> Date {
    parse_date("2026-11-20").unwrap()
}

pub struct Fx {
    pub _store: TestStore,
    pub app: Arc<App>,
    pub router: Router,
    /// Person ids by viewer name.
    pub people: Vec<(&'static str, Option<String>)>,
}

impl Fx {
    pub fn person(&self, viewer: &str) -> String {
        self.people
            .iter()
            .find(|(n, _)| *n == viewer)
            .and_then(|(_, p)| p.clone())
            .unwrap()
    }
}

/// The demo org (about 150 people, 3,000 opportunities) and five users: admin (no
/// person), cro, dir_a (Director of Sales, the field region), lead_b (an Inside Sales Team
/// Lead, in the inside-sales department),
/// rep (a rep in region A).
pub fn fixture(kind: BackendKind) -> Fx {
    fixture_with(kind, |_| {})
}

/// [`fixture`], with `more` written to the store after the demo and before the server loads.
pub fn fixture_with(kind: BackendKind, more: impl FnOnce(&mut TestStore)) -> Fx {
    made(kind, more, true)
}

/// [`fixture`] before the server has loaded its data (as while it loads).
pub fn fixture_loading(kind: BackendKind) -> Fx {
    made(kind, |_| {}, false)
}

fn made(kind: BackendKind, more: impl FnOnce(&mut TestStore), load: bool) -> Fx {
    let mut s = fresh(kind);
    let spec = DemoSpec {
        people: 150,
        opportunities: 3000,
        seed: 11,
        end: today(),
        activities_per_opp: 1.0,
        prospecting_calls: 0.0,
    };
    generate(&spec, &mut StoreSink(&mut s), &Quiet).unwrap();
    more(&mut s);
    let org = s.org().unwrap();
    let people = s.people().unwrap();
    let with_role = |r: &str| -> Vec<PersonId> {
        people
            .iter()
            .filter(|p| p.role.as_ref().is_some_and(|x| x.as_str() == r) && p.left.is_none())
            .map(|p| p.id.clone())
            .collect()
    };
    let cro = with_role("cro")[0].clone();
    let dir_a = with_role("director_sales")[0].clone();
    let dir_b = with_role("director_inside_sales")[0].clone();
    let d = today();
    let under = |leader: &PersonId, role: &str| -> PersonId {
        org.subtree(leader, d)
            .into_iter()
            .find(|p| {
                people
                    .iter()
                    .any(|x| x.id == *p && x.role.as_ref().is_some_and(|r| r.as_str() == role))
            })
            .unwrap()
    };
    let lead_b = under(&dir_b, "inside_sales_team_lead");
    let vp = with_role("vp_inside_sales")[0].clone();
    let rep = under(&dir_a, "sales_rep");
    let hash = auth::hash_password(PASSWORD).unwrap();
    let viewers: Vec<(&'static str, Option<String>)> = vec![
        ("admin", None),
        ("cro", Some(cro.to_string())),
        ("dir_a", Some(dir_a.to_string())),
        ("lead_b", Some(lead_b.to_string())),
        ("rep", Some(rep.to_string())),
        ("vp", Some(vp.to_string())),
    ];
    for (name, person) in &viewers {
        s.create_user(name, person.as_deref(), &hash, *name == "admin", 1)
            .unwrap();
    }
    let mut cfg = Config::new(&s.url, salesorg_core::catalog::Catalog::builtin().unwrap());
    cfg.today = Some(today());
    let app = App::new(cfg).unwrap();
    if load {
        app.load().unwrap();
    }
    let router = salesorg_web::router(app.clone());
    Fx {
        _store: s,
        app,
        router,
        people: viewers,
    }
}

/// A second server over `fx`'s store, made with `cfg` and loaded (a cold one, or one
/// configured otherwise), with `fx`'s viewers.
pub fn another_server(fx: &Fx, cfg: Config) -> Fx {
    let app = App::new(cfg).unwrap();
    app.load().unwrap();
    Fx {
        router: salesorg_web::router(app.clone()),
        app,
        _store: fresh(BackendKind::Sqlite),
        people: fx.people.clone(),
    }
}

/// Everyone `viewer` may see: themselves and whoever was in their subtree on any day
/// (computed from the reporting lines, independently of the engine's segments).
pub fn visible(fx: &Fx, viewer: &str) -> BTreeSet<String> {
    let mut store = fx.app.store().unwrap();
    let org = store.org().unwrap();
    let people = store.people().unwrap();
    fx.app.give_back(store);
    let Some(me) = fx
        .people
        .iter()
        .find(|(n, _)| *n == viewer)
        .and_then(|(_, p)| p.clone())
    else {
        return BTreeSet::new();
    };
    let me = PersonId::parse(&me).unwrap();
    let mut days: BTreeSet<Date> = BTreeSet::new();
    for l in org.lines() {
        days.insert(l.valid.from);
        if let Some(t) = l.valid.to {
            days.insert(t.previous_day().unwrap());
        }
    }
    let mut out = BTreeSet::from([me.to_string()]);
    for p in &people {
        if days.iter().any(|&d| org.chain(&p.id, d).contains(&me)) {
            out.insert(p.id.to_string());
        }
    }
    out
}

#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Res {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

pub fn call(fx: &Fx, method: &str, uri: &str, auth: &Auth, body: Option<serde_json::Value>) -> Res {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(c) = &auth.cookie {
        b = b.header("cookie", format!("{}={c}", auth::COOKIE));
    }
    if let Some(c) = &auth.csrf {
        b = b.header(auth::CSRF_HEADER, c);
    }
    if let Some(t) = &auth.bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(j) => b
            .header("content-type", "application/json")
            .body(Body::from(j.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = fx.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Res {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    })
}

/// Signs in; returns the session cookie and CSRF token.
pub fn sign_in(fx: &Fx, user: &str, password: &str) -> Result<Auth, Box<Res>> {
    let r = call(
        fx,
        "POST",
        "/api/session",
        &Auth::default(),
        Some(serde_json::json!({"username": user, "password": password})),
    );
    if r.status != StatusCode::OK {
        return Err(Box::new(r));
    }
    let set = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned();
    Ok(Auth {
        cookie: Some(cookie),
        csrf: r.json()["csrf"].as_str().map(str::to_owned),
        bearer: None,
    })
}
