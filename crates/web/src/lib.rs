//! salesorg-web owns the server: `salesorg serve`'s router, its state (a pool of store
//! connections and the warm scorecard engine, reloaded when the store's data moves on),
//! request logs, health and readiness, and graceful shutdown. Sessions live in the store,
//! so several instances can share one PostgreSQL.

/// Writes one log line on standard error and goes on if it cannot: `eprintln!` panics when
/// the log's reader has gone (`salesorg serve 2>&1 | tee log`, and `tee` stopped), and a
/// server must keep answering without its log.
macro_rules! log {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

pub mod access;
pub mod api;
pub mod auth;
pub mod charts;
pub mod error;
pub mod openapi;
pub mod pages;
pub mod query;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use salesorg_core::catalog::Catalog;
use salesorg_core::date::Date;
use salesorg_core::scorecard::Engine;
use salesorg_store::Store;

pub use access::CompanyRoles;
pub use auth::Policy;
pub use error::{Result, WebError};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The store's URL (SQLite path or postgres:// URL).
    pub db: String,
    pub catalog: Catalog,
    pub company_roles: CompanyRoles,
    pub policy: Policy,
    /// A fixed "today" (demos and tests); `None` reads the clock.
    pub today: Option<Date>,
    /// How many bytes of company-wide passes (grids) over periods other than the standard
    /// ones to keep, shared by every viewer (512 MB: kept compact, about 20 of a 10M
    /// store's passes over a date range; each whole, 1 GB had held 15).
    pub grid_cache_bytes: usize,
    /// How often the store's data version is checked for a reload.
    pub reload_every: Duration,
    /// Read and write the columnar snapshot (with record ids) beside the store, so that a
    /// restart reads the book at disk speed instead of re-reading every row.
    pub snapshot: bool,
    /// Make the company-wide passes over the standard periods after each load (see
    /// [`App::warm_grids`]).
    pub standard_passes: bool,
    /// Keep a pass over periods of their own compact once the request that made it is
    /// answered (see [`Loaded::compact_later`]): a third of the memory, so that the
    /// budget above holds three times as many.
    pub compact_passes: bool,
}

impl Config {
    pub fn new(db: &str, catalog: Catalog) -> Config {
        Config {
            db: db.to_owned(),
            catalog,
            company_roles: CompanyRoles::default(),
            policy: Policy::default(),
            today: None,
            grid_cache_bytes: 512 << 20,
            reload_every: Duration::from_secs(5),
            snapshot: false,
            standard_passes: true,
            compact_passes: true,
        }
    }
}

/// The warm engine, the store version it was loaded from, and the answers computed on
/// it (valid until the data moves on, when a new `Loaded` replaces this one).
pub struct Loaded {
    engine: Engine,
    version: (String, i64),
    cache: Mutex<Answers>,
    grids: Mutex<Vec<(GridKey, Arc<GridCell>)>>,
    grid_budget: usize,
    /// The passes over the standard periods of each grain (see [`App::warm_grids`]): kept
    /// outside the budget above, since nearly every view rolls up from them.
    standard: RwLock<Vec<Arc<Standard>>>,
    explains: Mutex<Kept<salesorg_engine::scorecard::Explanation>>,
    /// Sorted orders of kept drill-downs' records, by drill-down and column.
    orders: Mutex<Kept<Vec<u32>>>,
    /// Passes of their own running now (see [`Loaded::own_pass`]).
    own_passes: std::sync::atomic::AtomicUsize,
    /// A pass of the cache above is not kept compact yet (see [`Loaded::compact_later`]).
    loose: AtomicBool,
    /// [`Config::compact_passes`].
    compact: bool,
    /// A reload is building the next engine: the caches keep one entry each (see
    /// [`Loaded::retire`]).
    retiring: AtomicBool,
}

/// A pass over the standard periods of one grain, and the rows rolled up from it for
/// company-wide viewers: every KPI of a scope in one of its slots, made the first time a
/// company-wide view asks for any of them (or while warming) and then shared by every
/// company-wide viewer. A KPI's value does not depend on which others are asked with it
/// (a tested property of the engine), so any list of KPIs is answered from the full row.
/// The rows go with the pass when the next day's replaces it, and with the engine on reload.
pub(crate) struct Standard {
    pub(crate) grid: Arc<salesorg_core::scorecard::Grid>,
    pub(crate) rows: Mutex<
        HashMap<(salesorg_core::scorecard::Scope, usize), Arc<salesorg_core::scorecard::Row>>,
    >,
}

/// How many requests may make a pass of their own at once, instead of waiting for the
/// company-wide one (each holds arrays over every attribution segment while it runs).
const OWN_PASSES: usize = 2;

/// A running pass of its own; the slot frees when dropped.
pub(crate) struct OwnPass<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for OwnPass<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How many bytes of drill-downs a [`Loaded`] keeps (sorting and paging one reuses it): a
/// company-wide one over a quarter holds about a million records (20 MB), a team's a few
/// thousand — so many small ones do not push the big ones out.
const EXPLAIN_BYTES: usize = 512 << 20;
/// How many bytes of sorted orders of drill-downs' records a [`Loaded`] keeps.
const ORDER_BYTES: usize = 128 << 20;

/// Values by key within a byte budget; the least recently used go first.
struct Kept<T> {
    items: Vec<(String, Arc<T>, usize)>,
    bytes: usize,
    budget: usize,
}

impl<T> Kept<T> {
    fn new(budget: usize) -> Kept<T> {
        Kept {
            items: Vec::new(),
            bytes: 0,
            budget,
        }
    }
    /// With `on`, lets go of every value; either way, keeps to `budget` from now on.
    fn retire(&mut self, on: bool, budget: usize) {
        if on {
            self.items.clear();
            self.bytes = 0;
        }
        self.budget = budget;
    }
    /// The value under `key`, which becomes the most recently used.
    fn get(&mut self, key: &str) -> Option<Arc<T>> {
        let i = self.items.iter().position(|(k, _, _)| k == key)?;
        let e = self.items.remove(i);
        let v = e.1.clone();
        self.items.push(e);
        Some(v)
    }
    /// Keeps `v` (of about `size` bytes), dropping the least recently used values until it
    /// fits (one that alone exceeds the budget is kept until the next put).
    fn put(&mut self, key: String, v: Arc<T>, size: usize) {
        if let Some(i) = self.items.iter().position(|(k, _, _)| *k == key) {
            let (_, _, n) = self.items.remove(i);
            self.bytes -= n;
        }
        while !self.items.is_empty() && self.bytes + size > self.budget {
            let (_, _, n) = self.items.remove(0);
            self.bytes -= n;
        }
        self.bytes += size;
        self.items.push((key, v, size));
    }
}

/// The value kept under `key`, or the one `f` makes (then kept, at `size` bytes).
fn kept_or<T, E>(
    kept: &Mutex<Kept<T>>,
    key: String,
    size: impl Fn(&T) -> usize,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<Arc<T>, E> {
    if let Some(x) = kept.lock().ok().and_then(|mut v| v.get(&key)) {
        return Ok(x);
    }
    let x = Arc::new(f()?);
    if let Ok(mut v) = kept.lock() {
        v.put(key, x.clone(), size(&x));
    }
    Ok(x)
}

/// A company-wide pass is made for a list of periods, a day and the comparison slots.
type GridKey = (
    Vec<salesorg_core::period::Period>,
    Date,
    salesorg_core::scorecard::Need,
);
/// Filled once by whichever request asks first; the others wait for it.
type GridCell =
    std::sync::OnceLock<std::result::Result<Arc<salesorg_core::scorecard::Grid>, String>>;

/// How many bytes of answers (JSON and page bodies) a [`Loaded`] keeps.
const ANSWER_BYTES: usize = 256 << 20;

/// Answers in two generations: new ones go to `young`; when it holds half the budget it
/// becomes `old` (the previous `old` is dropped), and an answer found in `old` moves back
/// to `young`. What is used stays; what is not ages out — never all at once.
struct Answers {
    young: std::collections::HashMap<String, Arc<String>>,
    old: std::collections::HashMap<String, Arc<String>>,
    young_bytes: usize,
    budget: usize,
}

impl Answers {
    fn new(budget: usize) -> Answers {
        Answers {
            young: Default::default(),
            old: Default::default(),
            young_bytes: 0,
            budget,
        }
    }
    fn get(&mut self, key: &str) -> Option<Arc<String>> {
        if let Some(v) = self.young.get(key) {
            return Some(v.clone());
        }
        let (k, v) = self.old.remove_entry(key)?;
        self.put(k, v.clone());
        Some(v)
    }
    fn put(&mut self, key: String, v: Arc<String>) {
        self.young_bytes += key.len() + v.len();
        self.young.insert(key, v);
        if self.young_bytes > self.budget / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
    }
}

/// The process's resident memory in bytes (`VmRSS` of `/proc/self/status`; `None` where
/// there is no such file).
fn resident_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Shared state of one server process.
pub struct App {
    pub cfg: Config,
    pool: Mutex<Vec<Store>>,
    loaded: RwLock<Option<Arc<Loaded>>>,
    ready: AtomicBool,
    stopping: AtomicBool,
    /// The day the standard passes were made for (see [`App::warm_grids`]).
    warmed_on: Mutex<Option<Date>>,
    /// Whether the loader's last try failed (see [`WebError::LoadFailed`]).
    load_failed: AtomicBool,
    /// What the loader is doing, and since when it has been loading (see
    /// [`App::loading_step`]).
    loading: Mutex<Option<Loading>>,
}

/// The loader's step, for the page shown while the data loads.
#[derive(Debug, Clone)]
struct Loading {
    since: Instant,
    what: String,
    done: u64,
}

/// The loader's progress, kept for [`App::loading_step`].
struct LoadProgress<'a>(&'a App);

impl salesorg_engine::Progress for LoadProgress<'_> {
    fn update(&self, what: &str, done: u64, _total: u64) {
        if let Ok(mut l) = self.0.loading.lock() {
            let since = l.as_ref().map_or_else(Instant::now, |l| l.since);
            *l = Some(Loading {
                since,
                what: what.to_owned(),
                done,
            });
        }
    }
}

/// The client's address, for throttling and the audit log.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl App {
    /// Opens the store (migrating it) and returns the state; the engine is loaded by
    /// [`App::load`].
    pub fn new(cfg: Config) -> Result<Arc<App>> {
        let store = Store::open(&cfg.db)?;
        Ok(Arc::new(App {
            cfg,
            pool: Mutex::new(vec![store]),
            loaded: RwLock::new(None),
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            warmed_on: Mutex::new(None),
            load_failed: AtomicBool::new(false),
            loading: Mutex::new(None),
        }))
    }

    /// A store connection from the pool (or a new one).
    pub fn store(&self) -> Result<Store> {
        if let Some(s) = self.pool.lock().ok().and_then(|mut p| p.pop()) {
            return Ok(s);
        }
        Ok(Store::open(&self.cfg.db)?)
    }
    /// Returns a connection to the pool.
    pub fn give_back(&self, s: Store) {
        if let Ok(mut p) = self.pool.lock()
            && p.len() < 16
        {
            p.push(s);
        }
    }

    /// Loads (or reloads, when the store's data moved on) the scorecard engine, with
    /// record ids kept for drill-down.
    pub fn load(&self) -> Result<bool> {
        let mut store = self.store()?;
        let out = (|| {
            let version = store.data_version()?;
            if let Ok(l) = self.loaded.read()
                && l.as_ref().is_some_and(|l| l.version == version)
            {
                return Ok(false);
            }
            // (the engine loaded now answers while the new one is built beside it: its
            // caches are let go of and kept to one entry each until the swap, so that the
            // reload's peak is its book, its standard passes and the new book's build)
            let old = self.loaded.read().ok().and_then(|l| l.clone());
            if let Some(o) = &old {
                o.retire(true);
            }
            let built = salesorg_engine::scorecard::load(
                &mut store,
                &self.cfg.catalog,
                true,
                self.cfg.snapshot,
                &self.load_progress(),
            );
            if built.is_err()
                && let Some(o) = &old
            {
                o.retire(false);
            }
            drop(old);
            let (engine, _) = built?;
            if let Ok(mut l) = self.loaded.write() {
                *l = Some(Arc::new(Loaded {
                    engine,
                    version,
                    cache: Mutex::new(Answers::new(ANSWER_BYTES)),
                    grids: Mutex::new(Vec::new()),
                    grid_budget: self.cfg.grid_cache_bytes,
                    standard: RwLock::new(Vec::new()),
                    explains: Mutex::new(Kept::new(EXPLAIN_BYTES)),
                    orders: Mutex::new(Kept::new(ORDER_BYTES)),
                    own_passes: std::sync::atomic::AtomicUsize::new(0),
                    loose: AtomicBool::new(false),
                    compact: self.cfg.compact_passes,
                    retiring: AtomicBool::new(false),
                }));
            }
            self.ready.store(true, Ordering::SeqCst);
            Ok(true)
        })();
        if let Ok(mut l) = self.loading.lock() {
            *l = None;
        }
        self.give_back(store);
        out
    }

    /// Makes the company-wide passes over the standard quarters, months and years on
    /// today (see [`Engine::standard_periods`]): every view over periods of one grain
    /// among them then rolls up from one pass, whoever the viewer and whatever the scope.
    /// Returns the bytes they hold.
    pub fn warm_grids(&self) -> Result<usize> {
        use salesorg_core::period::Grain;
        use salesorg_core::scorecard::Need;
        let loaded = self.engine()?;
        let engine = loaded.engine();
        let today = self.today(engine);
        let mut bytes = 0;
        for (i, grain) in [Grain::Quarter, Grain::Month, Grain::Year]
            .into_iter()
            .enumerate()
        {
            if self.stopping.load(Ordering::SeqCst) {
                return Ok(bytes);
            }
            let t = Instant::now();
            let periods = engine.standard_periods(grain, today);
            let mut grid = engine
                .grid(&periods, today, Need::ALL)
                .map_err(|e| WebError::Internal(format!("the {grain:?} pass: {e}")))?;
            // (held until the next load or day: its comparison cells brief)
            grid.keep_compact();
            bytes += grid.bytes();
            log!(
                "{{\"level\":\"info\",\"msg\":\"standard pass made\",\"grain\":\"{grain:?}\",\"slots\":{},\"own_slots\":{},\"mb\":{},\"comparison_mb\":{},\"ms\":{}}}",
                grid.ng,
                grid.own_slots(),
                grid.bytes() >> 20,
                grid.comparison_bytes() >> 20,
                t.elapsed().as_millis()
            );
            let mut st = loaded
                .standard
                .write()
                .map_err(|_| WebError::Internal("the standard passes are poisoned".into()))?;
            // one grain at a time: yesterday's pass of a grain goes when today's is made
            let standard = Arc::new(Standard {
                grid: Arc::new(grid),
                rows: Mutex::new(HashMap::new()),
            });
            if st.len() > i {
                st[i] = standard;
            } else {
                st.push(standard);
            }
        }
        if let Ok(mut w) = self.warmed_on.lock() {
            *w = Some(today);
        }
        Ok(bytes)
    }

    /// Renders every active user's landing page into the cache, so that the first view
    /// after a (re)load does not wait for the engine; then, for company-wide viewers, the
    /// periods the picker offers first and the drill-downs behind their landing page's
    /// numbers (see `pages::warm_home`). Returns how many users were warmed.
    pub fn warm(&self) -> Result<usize> {
        let loaded = self.engine()?;
        let mut store = self.store()?;
        let out = (|| {
            let users: Vec<_> = store
                .users()?
                .into_iter()
                .filter(|u| !u.disabled && u.person_id.is_some())
                .collect();
            let mut n = 0;
            for (more, user) in [false, true]
                .into_iter()
                .flat_map(|more| users.iter().map(move |u| (more, u)))
            {
                if self.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let who = auth::Principal {
                    user: user.clone(),
                    via: auth::Via::Token { id: 0 },
                };
                let engine = loaded.engine();
                let access =
                    access::Access::of(engine, &self.cfg.catalog, &self.cfg.company_roles, &who);
                let scoped = access::Scoped::new(&loaded, &self.cfg.catalog, &access);
                let today = self.today(engine);
                let mut cx = access::Cx::new(scoped, &who, &mut store, now(), today, "warm".into());
                pages::warm_home(&mut cx, more)?;
                n += usize::from(!more);
            }
            Ok(n)
        })();
        self.give_back(store);
        out
    }

    /// Sizes the drill-downs' scratch buffers on last quarter's company-wide drill-downs
    /// (see [`salesorg_engine::scorecard::prime_drilldown_scratch`]; nothing is kept or
    /// shown). Returns how many drill-downs it made.
    pub fn prime_drilldowns(&self) -> Result<usize> {
        use salesorg_core::period::{Grain, Period};
        use salesorg_engine::scorecard::{previous_period, prime_drilldown_scratch};
        let loaded = self.engine()?;
        let engine = loaded.engine();
        let today = self.today(engine);
        let now = Period::containing(
            &engine.book.settings.fiscal,
            Grain::Quarter,
            engine.current_day(today),
        );
        prime_drilldown_scratch(engine, previous_period(engine, &now), today)
            .map_err(|e| WebError::Internal(format!("priming the drill-downs: {e}")))
    }

    /// The warm engine, or `NotReady` while it loads (`LoadFailed` once loading it failed).
    pub fn engine(&self) -> Result<Arc<Loaded>> {
        self.loaded
            .read()
            .ok()
            .and_then(|l| l.clone())
            .ok_or_else(|| self.not_ready())
    }

    /// Why there is no engine: still loading, or the last load failed.
    fn not_ready(&self) -> WebError {
        if self.load_failed.load(Ordering::SeqCst) {
            WebError::LoadFailed
        } else {
            WebError::NotReady(self.loading_step())
        }
    }

    /// Where a load reports its steps (see [`App::loading_step`]).
    pub fn load_progress(&self) -> impl salesorg_engine::Progress + '_ {
        LoadProgress(self)
    }

    /// What the loader is doing while no data is loaded yet, e.g. "reading opportunities,
    /// 1,500,000 so far (loading for 42 s)".
    pub fn loading_step(&self) -> Option<String> {
        let l = self.loading.lock().ok()?.clone()?;
        let so_far = match l.done {
            0 => String::new(),
            n => format!(", {} so far", pages::thousands(i128::from(n))),
        };
        Some(format!(
            "{}{so_far} (loading for {} s)",
            l.what,
            l.since.elapsed().as_secs()
        ))
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && !self.stopping.load(Ordering::SeqCst)
    }

    /// "Today" for the engine: the configured day, or the clock in the org's time zone.
    pub fn today(&self, engine: &Engine) -> Date {
        self.cfg
            .today
            .unwrap_or_else(|| access::today(engine, now()))
    }
}

impl Loaded {
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
    /// The company-wide pass for `periods` on `today`: computed once (concurrent askers
    /// wait for the first) and kept while the budget allows, newest use last.
    pub(crate) fn grid(
        &self,
        periods: &[salesorg_core::period::Period],
        today: Date,
        need: salesorg_core::scorecard::Need,
    ) -> std::result::Result<
        Arc<salesorg_core::scorecard::Grid>,
        salesorg_core::scorecard::ScorecardError,
    > {
        use salesorg_core::scorecard::ScorecardError;
        let key: GridKey = (periods.to_vec(), today, need);
        let cell = {
            let mut g = self
                .grids
                .lock()
                .map_err(|_| ScorecardError::Data("the grid cache is poisoned".into()))?;
            match g.iter().position(|(k, _)| *k == key) {
                Some(i) => {
                    let e = g.remove(i);
                    let c = e.1.clone();
                    g.push(e);
                    c
                }
                None => {
                    let c: Arc<GridCell> = Arc::new(std::sync::OnceLock::new());
                    g.push((key, c.clone()));
                    c
                }
            }
        };
        let got = cell
            .get_or_init(|| {
                let t = Instant::now();
                let made = self.engine.grid(periods, today, need);
                // (a pass of its own is most of a page's wait: said with what it held)
                if let Ok(g) = &made {
                    let names: Vec<String> = periods
                        .iter()
                        .map(|p| serde_json::to_string(&p.to_string()).unwrap_or_default())
                        .collect();
                    log!(
                        "{{\"level\":\"info\",\"msg\":\"company-wide pass made\",\"periods\":[{}],\"slots\":{},\"own_slots\":{},\"mb\":{},\"comparison_mb\":{},\"ms\":{}}}",
                        names.join(","),
                        g.ng,
                        g.own_slots(),
                        g.bytes() >> 20,
                        g.comparison_bytes() >> 20,
                        t.elapsed().as_millis()
                    );
                }
                // (kept compact once the page that waits on it is out)
                self.loose.store(true, Ordering::SeqCst);
                made.map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(ScorecardError::Data)?;
        // keep within the budget: drop the least recently used finished passes
        if let Ok(mut g) = self.grids.lock() {
            let size = |c: &GridCell| {
                c.get()
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, |x| x.bytes())
            };
            let mut total: usize = g.iter().map(|(_, c)| size(c)).sum();
            let budget = if self.retiring.load(Ordering::SeqCst) {
                0
            } else {
                self.grid_budget
            };
            while total > budget && g.len() > 1 {
                let (_, c) = g.remove(0);
                total -= size(&c);
                // (its arrays to the next pass, unless a view still reads it)
                if let Ok(c) = Arc::try_unwrap(c)
                    && let Some(Ok(made)) = c.into_inner()
                    && let Ok(made) = Arc::try_unwrap(made)
                {
                    self.engine.recycle_grid(made);
                }
            }
        }
        Ok(got)
    }

    /// While a reload builds the next engine (`on`): lets go of the passes over other
    /// periods, the drill-downs, their orders and the answers kept, and keeps at most one
    /// of each until the swap (the standard passes stay: nearly every view rolls up from
    /// them). After a failed reload (`!on`), the budgets are back.
    pub(crate) fn retire(&self, on: bool) {
        self.retiring.store(on, Ordering::SeqCst);
        let budget = |b: usize| if on { 0 } else { b };
        if let Ok(mut k) = self.explains.lock() {
            k.retire(on, budget(EXPLAIN_BYTES));
        }
        if let Ok(mut k) = self.orders.lock() {
            k.retire(on, budget(ORDER_BYTES));
        }
        if let Ok(mut a) = self.cache.lock() {
            if on {
                *a = Answers::new(0);
            } else {
                a.budget = ANSWER_BYTES;
            }
        }
        if on && let Ok(mut g) = self.grids.lock() {
            g.clear();
        }
    }

    /// Keeps the passes of the cache compact ([`Engine::keep_compact`]) on a thread of
    /// its own, if one was made since the last time: called when a request is answered,
    /// so that a page over a date range of its own does not wait for its pass to be
    /// compacted (that made it 7-9 % slower), and the cache keeps the pass for its next
    /// visitors in a third of the memory.
    pub(crate) fn compact_later(self: &Arc<Self>) {
        if !self.compact || !self.loose.swap(false, Ordering::SeqCst) {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("compact".into())
            .spawn(move || me.compact_grids());
        if spawned.is_err() {
            self.loose.store(true, Ordering::SeqCst);
        }
    }

    /// Keeps every made pass of the cache compact that nothing else holds now (one a
    /// request still reads or waits for is left for the next time: the cache is marked
    /// loose again). Returns how many it compacted.
    pub(crate) fn compact_grids(&self) -> usize {
        let Ok(mut g) = self.grids.lock() else {
            return 0;
        };
        let (mut n, mut left) = (0, false);
        for (_, cell) in g.iter_mut() {
            let t = Instant::now();
            let Some(made) = Arc::get_mut(cell)
                .and_then(|c| c.get_mut())
                .and_then(|r| r.as_mut().ok())
            else {
                // (waited on by a request: its pass is not made yet, or is read)
                left |= Arc::strong_count(cell) > 1;
                continue;
            };
            let Some(grid) = Arc::get_mut(made) else {
                left |= !made.is_kept();
                continue;
            };
            if grid.is_kept() || !grid.trace.is_empty() {
                continue;
            }
            let before = grid.bytes();
            self.engine.keep_compact(grid);
            n += 1;
            log!(
                "{{\"level\":\"info\",\"msg\":\"company-wide pass kept compact\",\"periods\":[{}],\"mb_before\":{},\"mb\":{},\"ms\":{}}}",
                grid.periods()
                    .iter()
                    .map(|p| serde_json::to_string(&p.to_string()).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(","),
                before >> 20,
                grid.bytes() >> 20,
                t.elapsed().as_millis()
            );
        }
        if left {
            self.loose.store(true, Ordering::SeqCst);
        }
        n
    }

    /// A made company-wide pass that holds `periods` on `today` with the comparison
    /// slots `need` asks for (see [`salesorg_core::scorecard::Grid::pick`]), with where
    /// they sit in it: a standard pass, else the most recently used such pass of the
    /// cache (which then becomes the most recent).
    pub(crate) fn grid_holding(
        &self,
        periods: &[salesorg_core::period::Period],
        today: Date,
        need: salesorg_core::scorecard::Need,
    ) -> Option<(Arc<salesorg_core::scorecard::Grid>, Vec<usize>)> {
        if let Some((st, at)) = self.standard_holding(periods, today, need) {
            return Some((st.grid.clone(), at));
        }
        let mut g = self.grids.lock().ok()?;
        let (i, made, at) = g.iter().enumerate().rev().find_map(|(i, (_, c))| {
            let made = c.get()?.as_ref().ok()?;
            let at = made.pick(periods, today, need)?;
            Some((i, made.clone(), at))
        })?;
        let e = g.remove(i);
        g.push(e);
        Some((made, at))
    }

    /// What the loaded engine and its caches hold, for an admin (`GET /api/admin/status`
    /// and the admin page): the data version, the records, and the memory by part: the
    /// book's columns by group of records ([`salesorg_core::scorecard::book::Book::memory`]),
    /// the indexes made from them, the arrays a pass lends the next, the
    /// standard passes, the passes over other periods (their budget, how many are kept
    /// compact), the drill-downs, their sorted orders and the answers kept, and the
    /// process's resident memory (Linux).
    pub fn status(&self) -> serde_json::Value {
        use serde_json::json;
        let e = &self.engine;
        let b = &e.book;
        let book: Vec<serde_json::Value> = b
            .memory()
            .into_iter()
            .map(|(part, bytes)| json!({"part": part, "bytes": bytes}))
            .collect();
        let standard: Vec<serde_json::Value> = self.standard.read().map_or(Vec::new(), |st| {
            st.iter()
                .map(|x| {
                    let p = x.grid.periods();
                    let name = |p: Option<&salesorg_core::period::Period>| {
                        p.map(|p| p.to_string()).unwrap_or_default()
                    };
                    json!({"from": name(p.first()), "to": name(p.last()), "periods": p.len(),
                        "bytes": x.grid.bytes(), "rows_kept": x.rows.lock().map_or(0, |r| r.len())})
                })
                .collect()
        });
        let (passes, compact, pass_bytes) = self.passes_made();
        let kept = |n: usize, bytes: usize, budget: usize| json!({"count": n, "bytes": bytes, "budget_bytes": budget});
        let explains = self.explains.lock().map_or(kept(0, 0, EXPLAIN_BYTES), |k| {
            kept(k.items.len(), k.bytes, k.budget)
        });
        let orders = self.orders.lock().map_or(kept(0, 0, ORDER_BYTES), |k| {
            kept(k.items.len(), k.bytes, k.budget)
        });
        let answers = self.cache.lock().map_or(kept(0, 0, ANSWER_BYTES), |a| {
            let bytes = |m: &std::collections::HashMap<String, Arc<String>>| -> usize {
                m.iter().map(|(k, v)| k.len() + v.len()).sum()
            };
            kept(
                a.young.len() + a.old.len(),
                bytes(&a.young) + bytes(&a.old),
                a.budget,
            )
        });
        json!({
            "data_version": self.version.1,
            "records": {
                "people": b.people.len().saturating_sub(1),
                "opportunities": b.opps.len(),
                "stage_history": b.history.day.len(),
                "leads": b.leads.len(),
                // (a row of the server's book is one activity; of a book without ids,
                // an owner's day of them)
                "activities": if b.activities.total.is_empty() {
                    b.activities.day.len()
                } else {
                    b.activities.total.iter().map(|&x| x as usize).sum()
                },
                "accounts": b.accounts.len(),
                "surveys": b.surveys.len(),
            },
            "memory": {
                "resident_bytes": resident_bytes(),
                "book": book,
                "indexes_bytes": e.index_bytes(),
                "spare_pass_bytes": e.spare_bytes(),
                "standard_passes": standard,
                "passes": {"count": passes, "compact": compact, "bytes": pass_bytes,
                    "budget_bytes": self.grid_budget},
                "drilldowns": explains,
                "drilldown_orders": orders,
                "answers": answers,
            },
        })
    }

    /// How many company-wide passes over periods of their own the cache holds, and how
    /// many of them are kept compact ([`Loaded::compact_later`]).
    pub fn passes_kept(&self) -> (usize, usize) {
        let (n, kept, _) = self.passes_made();
        (n, kept)
    }

    /// The made passes of the cache: how many, how many kept compact, and their bytes.
    fn passes_made(&self) -> (usize, usize, usize) {
        self.grids.lock().map_or((0, 0, 0), |g| {
            g.iter()
                .filter_map(|(_, c)| c.get()?.as_ref().ok())
                .fold((0, 0, 0), |(n, k, b), x| {
                    (n + 1, k + usize::from(x.is_kept()), b + x.bytes())
                })
        })
    }

    /// How many rows company-wide views have kept beside the standard passes.
    pub fn kept_rows(&self) -> usize {
        self.standard.read().map_or(0, |st| {
            st.iter()
                .map(|x| x.rows.lock().map_or(0, |r| r.len()))
                .sum()
        })
    }

    /// The standard pass that holds `periods` on `today` with the comparison slots `need`
    /// asks for, and where they sit in it.
    pub(crate) fn standard_holding(
        &self,
        periods: &[salesorg_core::period::Period],
        today: Date,
        need: salesorg_core::scorecard::Need,
    ) -> Option<(Arc<Standard>, Vec<usize>)> {
        let st = self.standard.read().ok()?;
        st.iter()
            .find_map(|x| Some((x.clone(), x.grid.pick(periods, today, need)?)))
    }

    /// A slot for a pass of its own, if fewer than [`OWN_PASSES`] run now.
    pub(crate) fn own_pass(&self) -> Option<OwnPass<'_>> {
        self.own_passes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < OWN_PASSES).then_some(n + 1)
            })
            .ok()
            .map(|_| OwnPass(&self.own_passes))
    }

    /// The order under `key` (a drill-down's records sorted by a column), made by `f` the
    /// first time, so that paging through a sorted million records does not sort them
    /// again.
    pub(crate) fn order(&self, key: String, f: impl FnOnce() -> Vec<u32>) -> Arc<Vec<u32>> {
        match kept_or(
            &self.orders,
            key,
            |x| x.len() * 4 + 64,
            || Ok::<_, std::convert::Infallible>(f()),
        ) {
            Ok(x) => x,
            Err(never) => match never {},
        }
    }

    /// The drill-down under `key`, made by `f` the first time; the most recently used are
    /// kept, within [`EXPLAIN_BYTES`].
    pub(crate) fn explained(
        &self,
        key: String,
        f: impl FnOnce() -> Result<salesorg_engine::scorecard::Explanation>,
    ) -> Result<Arc<salesorg_engine::scorecard::Explanation>> {
        let size = |x: &salesorg_engine::scorecard::Explanation| {
            // the records kept, and their order once a page between the ends has asked
            x.records.len() * (std::mem::size_of::<salesorg_engine::scorecard::Behind>() + 4) + 4096
        };
        kept_or(&self.explains, key, size, f)
    }

    /// The drill-down kept under `key`, if there is one.
    pub(crate) fn explained_kept(
        &self,
        key: &str,
    ) -> Option<Arc<salesorg_engine::scorecard::Explanation>> {
        self.explains.lock().ok().and_then(|mut k| k.get(key))
    }

    pub(crate) fn cache_get(&self, key: &str) -> Option<Arc<String>> {
        self.cache.lock().ok().and_then(|mut c| c.get(key))
    }
    pub(crate) fn cache_put(&self, key: String, v: Arc<String>) {
        if let Ok(mut c) = self.cache.lock() {
            c.put(key, v);
        }
    }
}

/// Logs an error that no request answers for, as one JSON line on standard error.
fn log_error(msg: &str, error: &str) {
    log!(
        "{{\"level\":\"error\",\"msg\":{},\"error\":{}}}",
        serde_json::to_string(msg).unwrap_or_default(),
        serde_json::to_string(error).unwrap_or_default()
    );
}

/// Logs every request as one JSON line on stderr: method, path, status, milliseconds.
async fn log_requests(req: Request, next: Next) -> Response {
    let t = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    log!(
        "{{\"ts\":{},\"method\":\"{}\",\"path\":{},\"status\":{},\"ms\":{:.2}}}",
        now(),
        method,
        serde_json::to_string(&path).unwrap_or_default(),
        res.status().as_u16(),
        t.elapsed().as_secs_f64() * 1e3
    );
    res
}

/// Puts the client's address into the request (from the connection when there is one).
async fn client_addr(mut req: Request, next: Next) -> Response {
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    req.extensions_mut().insert(ClientAddr(addr));
    next.run(req).await
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.is_ready() {
        axum::Json(serde_json::json!({"status": "ready"})).into_response()
    } else {
        app.not_ready().into_response()
    }
}

/// Under `/api/`, answers that did not come from our handlers (axum's rejections of a
/// malformed query or body) get the same JSON error body, with a stable `code`.
async fn json_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let code = match status.as_u16() {
        401 => "unauthorized",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "too_large",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    let message = if status.is_server_error() {
        "something went wrong on the server".to_owned()
    } else {
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim().to_owned()
    };
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// Anything no route matches: the API's JSON 404, or the app's page.
async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        WebError::NotFound.into_response()
    } else {
        pages::not_found()
    }
}

/// The whole router: health, readiness, the API and the web app.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", axum::routing::get(health))
        .route("/ready", axum::routing::get(ready))
        .merge(api::routes())
        .merge(pages::routes())
        .fallback(fallback)
        .layer(axum::middleware::from_fn(json_errors))
        .layer(axum::middleware::from_fn(client_addr))
        .layer(axum::middleware::from_fn(log_requests))
        .with_state(app)
}

/// Runs the server on `listen` until Ctrl-C or SIGTERM, then lets requests in flight
/// finish. The engine loads in the background (`/ready` says when) and is reloaded
/// whenever the store's data version moves on.
pub fn serve(cfg: Config, listen: SocketAddr) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| WebError::Internal(format!("starting the runtime: {e}")))?;
    let app = App::new(cfg)?;
    // the last handle on the app (and its pool of stores) is dropped here, outside the
    // runtime: a PostgreSQL client dropped inside it panics (it blocks on its own runtime),
    // which happened when the loader thread let go of the app first at shutdown
    let keep = app.clone();
    let out = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|reason| WebError::Listen {
                addr: listen,
                reason,
            })?;
        log!(
            "{{\"level\":\"info\",\"msg\":\"listening\",\"addr\":\"{}\"}}",
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        spawn_loader(app.clone());
        let shutdown_app = app.clone();
        axum::serve(
            listener,
            router(app).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            shutdown_app.stopping.store(true, Ordering::SeqCst);
            log!("{{\"level\":\"info\",\"msg\":\"shutting down\"}}");
        })
        .await
        .map_err(|e| WebError::Internal(format!("serving: {e}")))
    });
    drop(rt);
    drop(keep);
    out
}

/// Loads the engine, then checks the store for new data every `reload_every`.
pub fn spawn_loader(app: Arc<App>) {
    std::thread::spawn(move || {
        loop {
            let t = Instant::now();
            match app.load() {
                Ok(true) => {
                    app.load_failed.store(false, Ordering::SeqCst);
                    log!(
                        "{{\"level\":\"info\",\"msg\":\"scorecard engine loaded\",\"ms\":{}}}",
                        t.elapsed().as_millis()
                    );
                    if app.cfg.standard_passes {
                        warm_grids(&app);
                    }
                    let t = Instant::now();
                    match app.warm() {
                        Ok(n) => log!(
                            "{{\"level\":\"info\",\"msg\":\"landing pages warmed\",\"users\":{n},\"kept_rows\":{},\"ms\":{}}}",
                            app.engine().map_or(0, |l| l.kept_rows()),
                            t.elapsed().as_millis()
                        ),
                        Err(e) => log_error("warming landing pages", &e.to_string()),
                    }
                    // (the passes the landing pages made over periods to a day of their own,
                    // kept compact now: no answer of a request does it for them)
                    if let Ok(l) = app.engine()
                        && l.compact
                    {
                        l.compact_grids();
                    }
                    let t = Instant::now();
                    match app.prime_drilldowns() {
                        Ok(n) => log!(
                            "{{\"level\":\"info\",\"msg\":\"drill-down scratch sized\",\"drilldowns\":{n},\"ms\":{}}}",
                            t.elapsed().as_millis()
                        ),
                        Err(e) => log_error("sizing the drill-down scratch", &e.to_string()),
                    }
                }
                Ok(false) => {
                    // a new day: the passes of yesterday answer for yesterday's as-of days
                    let today = app.engine().ok().map(|l| app.today(l.engine()));
                    if app.cfg.standard_passes
                        && today.is_some()
                        && app.warmed_on.lock().is_ok_and(|w| *w != today)
                    {
                        warm_grids(&app);
                    }
                }
                Err(e) => {
                    app.load_failed.store(true, Ordering::SeqCst);
                    log_error("loading the scorecard engine", &e.to_string())
                }
            }
            if app.stopping.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(app.cfg.reload_every);
        }
    });
}

/// [`App::warm_grids`], logged.
fn warm_grids(app: &App) {
    let t = Instant::now();
    match app.warm_grids() {
        Ok(bytes) => log!(
            "{{\"level\":\"info\",\"msg\":\"standard periods passed\",\"mb\":{},\"ms\":{}}}",
            bytes >> 20,
            t.elapsed().as_millis()
        ),
        Err(e) => log_error("passing the standard periods", &e.to_string()),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_use_survive_and_unused_ones_age_out() {
        let mut a = Answers::new(40);
        let v = |s: &str| Arc::new(s.to_owned());
        a.put("k1".into(), v("aaaaaaaa")); // 10 bytes
        a.put("k2".into(), v("bbbbbbbb")); // 20
        a.put("k3".into(), v("cccccccc")); // 30 > 20: young becomes old
        assert!(a.young.is_empty() && a.old.len() == 3);
        assert_eq!(a.get("k1").as_deref().map(String::as_str), Some("aaaaaaaa"));
        for k in ["k4", "k5", "k6"] {
            a.put(k.into(), v("dddddddd"));
        }
        // k1 was used and moved up a generation; k2 and k3 were not, and are gone
        assert!(a.get("k1").is_some());
        assert!(a.get("k2").is_none() && a.get("k3").is_none());
        assert!(a.get("k6").is_some());
    }

    #[test]
    fn kept_values_stay_within_their_bytes_least_recent_first() {
        let mut k: Kept<u32> = Kept::new(100);
        k.put("big".into(), Arc::new(1), 60);
        for i in 0..4 {
            k.put(format!("small{i}"), Arc::new(2), 10);
        }
        // 100 bytes held: a recent use keeps `big`, so the oldest small one goes instead
        assert!(k.get("big").is_some());
        k.put("small4".into(), Arc::new(3), 10);
        assert!(k.get("small0").is_none());
        assert!(k.get("big").is_some() && k.get("small4").is_some());
        assert!(k.bytes <= 100);
        // putting a key again replaces it without counting it twice
        k.put("small4".into(), Arc::new(4), 10);
        assert_eq!(k.get("small4").as_deref(), Some(&4));
        assert!(k.bytes <= 100);
        // one value over the budget drops everything else, and is kept alone
        k.put("huge".into(), Arc::new(5), 500);
        assert_eq!(k.items.len(), 1);
        assert!(k.get("huge").is_some());
    }
}
