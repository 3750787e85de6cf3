//! Who sees what (docs/access.md), enforced in one place. Every read of org data, numbers
//! or records goes through [`Scoped`], which can only be made from an [`Access`], which
//! can only be made from the signed-in [`Principal`] and the effective-dated org tree.
//! Anything outside the viewer's scope is [`WebError::NotFound`], never a 403, so ids do
//! not leak.

use salesorg_core::catalog::{Catalog, ScopeKind};
use salesorg_core::date::{Date, Timestamp, fmt_date};
use salesorg_core::ids::PersonId;
use salesorg_core::kpi;
use salesorg_core::period::Period;
use salesorg_core::scorecard::{Engine, Lens, Scope, day};
use salesorg_store::Store;

use crate::auth::Principal;
use crate::error::{Result, WebError, bad_input};

/// What a viewer's place in the org entitles them to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Every scope (company-wide roles).
    Company,
    /// Their own subtree, over time (leaders), or their own book (reps): the lens says which.
    Subtree,
    /// Not linked to anyone in the org (e.g. an admin account): no org data.
    Nothing,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Company => "company",
            Grant::Subtree => "subtree",
            Grant::Nothing => "nothing",
        }
    }
}

/// A viewer's access: built only by [`Access::of`].
#[derive(Debug, Clone)]
pub struct Access {
    person: Option<u32>,
    grant: Grant,
    lens: Lens,
    admin: bool,
}

/// Which roles see the whole company: the roles named (by catalog id), or, by default,
/// every role whose catalog scope is the company.
#[derive(Debug, Clone, Default)]
pub struct CompanyRoles(pub Option<Vec<String>>);

impl CompanyRoles {
    pub fn includes(&self, catalog: &Catalog, role: &str) -> bool {
        let Some(r) = catalog.find(role) else {
            return false;
        };
        match &self.0 {
            Some(list) => list.contains(&r.id),
            None => r.scope == ScopeKind::Company,
        }
    }
}

impl Access {
    /// The access of a signed-in user: through the person their account is linked to.
    pub fn of(
        engine: &Engine,
        catalog: &Catalog,
        company: &CompanyRoles,
        who: &Principal,
    ) -> Access {
        let person = who
            .user
            .person_id
            .as_deref()
            .and_then(|id| engine.book.person(id));
        let (grant, lens) = match person {
            None => (Grant::Nothing, Lens::nothing()),
            Some(p) => {
                let role = engine.book.people[p as usize].role.as_deref();
                if role.is_some_and(|r| company.includes(catalog, r)) {
                    (Grant::Company, Lens::everything())
                } else {
                    (Grant::Subtree, Lens::team(engine, p))
                }
            }
        };
        Access {
            person,
            grant,
            lens,
            admin: who.user.is_admin,
        }
    }
    pub fn grant(&self) -> Grant {
        self.grant
    }
    pub fn person(&self) -> Option<u32> {
        self.person
    }
    pub fn is_admin(&self) -> bool {
        self.admin
    }
    pub fn lens(&self) -> &Lens {
        &self.lens
    }
}

/// Org data, numbers and records, as one viewer may see them.
pub struct Scoped<'a> {
    pub engine: &'a Engine,
    pub catalog: &'a Catalog,
    access: &'a Access,
    loaded: &'a crate::Loaded,
}

impl<'a> Scoped<'a> {
    /// The loaded engine and its caches (the admin's status of them).
    pub(crate) fn loaded(&self) -> &crate::Loaded {
        self.loaded
    }
    pub fn new(loaded: &'a crate::Loaded, catalog: &'a Catalog, access: &'a Access) -> Scoped<'a> {
        Scoped {
            engine: loaded.engine(),
            catalog,
            access,
            loaded,
        }
    }
    /// KPI rows of `scopes` × `periods` as this viewer sees them. When a company-wide
    /// pass that holds these periods is made (the passes over every standard month,
    /// quarter and year made after each load — see [`crate::App::warm_grids`] —, or an earlier
    /// request's), they are rolled up from it — it is shared by every viewer and scope,
    /// and the lens applies at the roll-up. Otherwise (a date range, say), scopes whose owners
    /// hold at most a quarter of the records make a pass of their own over just those
    /// owners (a Director's team over a new period: tens of milliseconds on 10M records,
    /// where the company-wide pass takes about a second), as long as a slot is free;
    /// everything else makes (or waits for) the company-wide pass. (A pass in the
    /// background after an own pass was tried: on two cores it slowed the rest of the
    /// same page down more than it saved later.)
    pub fn run(
        &self,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
    ) -> std::result::Result<
        Vec<salesorg_core::scorecard::Row>,
        salesorg_core::scorecard::ScorecardError,
    > {
        let e = self.engine;
        if self.access.grant == Grant::Company
            && kpis.iter().all(|k| kpi::KPI_IDS.contains(k))
            && let Some((st, at)) =
                self.loaded
                    .standard_holding(periods, today, salesorg_core::scorecard::Need::ALL)
            && let Some(rows) = self.rows_kept(&st, scopes, periods, &at, kpis, today, false)?
        {
            return Ok(rows);
        }
        let need = salesorg_core::scorecard::Need::of(kpis);
        if let Some((grid, at)) = self.loaded.grid_holding(periods, today, need) {
            return e.run_grid_at(&grid, self.lens(), scopes, periods, &at, kpis, today);
        }
        let (mine, all) = e.pass_size(scopes);
        if mine.saturating_mul(4) <= all
            && let Some(_slot) = self.loaded.own_pass()
        {
            return e.run_in(self.lens(), scopes, periods, kpis, today);
        }
        // The company-wide pass walks every record group, whatever these KPIs read: the
        // page's other views over these periods (the funnel chart's stage history, a
        // direct report's page, another role's KPIs) are rolled up from it too. Measured at
        // 10M deals, a CRO's page over a date range of its own: a pass over its KPIs'
        // groups alone made that page 10-15 % quicker, but a direct report's page over the
        // same range then took 200-380 ms instead of 8, and the company's 160-250 instead
        // of 40-60; leaving out the stage history alone gained nothing (the funnel chart
        // made a pass of its own for it).
        let need = salesorg_core::scorecard::Need {
            walk: salesorg_core::scorecard::Walk::ALL,
            ..need
        };
        let grid = self.loaded.grid(periods, today, need)?;
        e.run_grid(&grid, self.lens(), scopes, periods, kpis, today)
    }

    /// For a company-wide viewer: makes the rows of `scopes` over every period of every
    /// standard pass (see `Standard`), so that their views over any of those
    /// periods only pick kept rows. Returns how many rows were asked for.
    pub fn keep_standard_rows(&self, scopes: &[Scope], today: Date) -> Result<usize> {
        if self.access.grant != Grant::Company {
            return Ok(0);
        }
        let standard: Vec<std::sync::Arc<crate::Standard>> = match self.loaded.standard.read() {
            Ok(st) => st.clone(),
            Err(_) => return Ok(0),
        };
        let mut n = 0;
        for st in standard {
            let periods = st.grid.periods().to_vec();
            let Some(at) = st
                .grid
                .pick(&periods, today, salesorg_core::scorecard::Need::ALL)
            else {
                continue;
            };
            n += self
                .rows_kept(&st, scopes, &periods, &at, &[], today, true)
                .map_err(|e| WebError::Internal(format!("keeping the standard rows: {e}")))?
                .map_or(0, |r| r.len());
        }
        Ok(n)
    }

    /// [`Scoped::run`] for a company-wide viewer over periods a standard pass holds: each
    /// (scope, period) row is the standard pass's kept row with every KPI, cut down to
    /// `kpis` in their order. With `fill`, the rows not kept yet are made (every KPI: a
    /// view asking for a few KPIs of many scopes — each rep's attainment — would pay for
    /// all of them, so views do not fill, warming does); without, `None` if one is missing.
    #[allow(clippy::too_many_arguments)]
    fn rows_kept(
        &self,
        st: &crate::Standard,
        scopes: &[Scope],
        periods: &[Period],
        at: &[usize],
        kpis: &[&str],
        today: Date,
        fill: bool,
    ) -> std::result::Result<
        Option<Vec<salesorg_core::scorecard::Row>>,
        salesorg_core::scorecard::ScorecardError,
    > {
        use salesorg_core::scorecard::ScorecardError;
        let poisoned = || ScorecardError::Data("the kept rows are poisoned".into());
        let g = |pi: usize| st.grid.main[at[pi]];
        let mut out = Vec::with_capacity(scopes.len() * periods.len());
        for &scope in scopes {
            let missing: Vec<usize> = {
                let rows = st.rows.lock().map_err(|_| poisoned())?;
                (0..periods.len())
                    .filter(|&pi| !rows.contains_key(&(scope, g(pi))))
                    .collect()
            };
            if !missing.is_empty() && !fill {
                return Ok(None);
            }
            if !missing.is_empty() {
                let ps: Vec<Period> = missing.iter().map(|&pi| periods[pi]).collect();
                let ats: Vec<usize> = missing.iter().map(|&pi| at[pi]).collect();
                let made = self.engine.run_grid_at(
                    &st.grid,
                    self.lens(),
                    &[scope],
                    &ps,
                    &ats,
                    kpi::KPI_IDS,
                    today,
                )?;
                let mut rows = st.rows.lock().map_err(|_| poisoned())?;
                for (&pi, row) in missing.iter().zip(made) {
                    rows.insert((scope, g(pi)), std::sync::Arc::new(row));
                }
            }
            let rows = st.rows.lock().map_err(|_| poisoned())?;
            for (pi, p) in periods.iter().enumerate() {
                let full = rows
                    .get(&(scope, g(pi)))
                    .ok_or_else(|| ScorecardError::Data("a kept row went missing".into()))?;
                out.push(salesorg_core::scorecard::Row {
                    scope,
                    period: *p,
                    as_of: full.as_of,
                    values: kpis
                        .iter()
                        .filter_map(|k| full.values.iter().find(|(id, _)| id == k).cloned())
                        .collect(),
                });
            }
        }
        Ok(Some(out))
    }

    /// The drill-down of `kpi` for `scope` over `period`, as this viewer sees it (kept for
    /// paging it): the one made for its first pages — every record when there are few,
    /// else the first and last [`ENDS`](salesorg_engine::scorecard::ENDS) in date order —
    /// when `enough` says it holds what the request shows, else the complete one (a page
    /// between the ends, another sort, an export). The complete one, once made, serves
    /// every request.
    pub fn explain(
        &self,
        kpi: &'static str,
        scope: Scope,
        period: Period,
        today: Date,
        enough: impl FnOnce(&salesorg_engine::scorecard::Explanation) -> bool,
    ) -> Result<std::sync::Arc<salesorg_engine::scorecard::Explanation>> {
        let all = self.cache_key(&format!("explainall|{kpi}|{scope:?}|{period}|{today}"));
        if let Some(ex) = self.loaded.explained_kept(&all) {
            return Ok(ex);
        }
        let ends = self.explained(false, kpi, scope, period, today)?;
        if ends.complete() || enough(&ends) {
            return Ok(ends);
        }
        self.explained(true, kpi, scope, period, today)
    }

    /// The drill-down with every record (`all`) or its ends, made once and kept.
    fn explained(
        &self,
        all: bool,
        kpi: &'static str,
        scope: Scope,
        period: Period,
        today: Date,
    ) -> Result<std::sync::Arc<salesorg_engine::scorecard::Explanation>> {
        use salesorg_engine::scorecard::{explain_ends_in, explain_in};
        let what = if all { "explainall" } else { "explain" };
        let key = self.cache_key(&format!("{what}|{kpi}|{scope:?}|{period}|{today}"));
        let make = if all { explain_in } else { explain_ends_in };
        self.loaded.explained(key, || {
            make(self.engine, self.lens(), kpi, scope, period, today).map_err(engine_error)
        })
    }

    /// The order of the records of the drill-down of `kpi` for `scope` over `period`
    /// sorted by `column`, as `f` sorts them (kept beside the drill-down).
    pub fn explain_order(
        &self,
        kpi: &'static str,
        scope: Scope,
        period: Period,
        today: Date,
        column: &str,
        f: impl FnOnce() -> Vec<u32>,
    ) -> std::sync::Arc<Vec<u32>> {
        let key = self.cache_key(&format!("order|{column}|{kpi}|{scope:?}|{period}|{today}"));
        self.loaded.order(key, f)
    }

    fn cache_key(&self, key: &str) -> String {
        let who = match self.access.grant {
            Grant::Company => "company".to_owned(),
            Grant::Subtree => format!("p{}", self.access.person.unwrap_or(u32::MAX)),
            Grant::Nothing => "nothing".to_owned(),
        };
        format!("{who}|{key}")
    }
    /// A cached answer for this viewer, if there is one.
    pub fn cache_get(&self, key: &str) -> Option<std::sync::Arc<String>> {
        self.loaded.cache_get(&self.cache_key(key))
    }
    /// Keeps an answer for this viewer until the data moves on.
    pub fn cache_put(&self, key: &str, v: String) {
        self.loaded
            .cache_put(self.cache_key(key), std::sync::Arc::new(v));
    }
    /// An answer computed for this viewer, kept until the data moves on. The key is
    /// prefixed with the viewer's grant and person: viewers never share answers unless
    /// they see exactly the same (company-wide viewers).
    pub fn cached(
        &self,
        key: &str,
        f: impl FnOnce() -> Result<String>,
    ) -> Result<std::sync::Arc<String>> {
        if let Some(v) = self.cache_get(key) {
            return Ok(v);
        }
        let v = std::sync::Arc::new(f()?);
        self.loaded.cache_put(self.cache_key(key), v.clone());
        Ok(v)
    }
    pub fn access(&self) -> &Access {
        self.access
    }
    pub fn lens(&self) -> &Lens {
        &self.access.lens
    }

    /// Whether the viewer may see person `p` (themselves, or anyone who was ever in their
    /// subtree; everyone for company-wide viewers).
    pub fn sees_person(&self, p: u32) -> bool {
        match self.access.grant {
            Grant::Company => true,
            Grant::Nothing => false,
            Grant::Subtree => {
                self.access.person == Some(p) || self.lens().sees_person(self.engine, p)
            }
        }
    }

    /// Every rep (or first-line team: `of`) of `scope` the viewer sees over `period`,
    /// ranked by `by`, with their ranks over the period before
    /// ([`salesorg_engine::leaderboard::board`] through the viewer's lens, the rows rolled up
    /// as [`Scoped::run`] makes them).
    #[allow(clippy::too_many_arguments)]
    pub fn board(
        &self,
        scope: Scope,
        period: Period,
        today: Date,
        of: salesorg_engine::leaderboard::BoardOf,
        kpis: Vec<&'static str>,
        by: &'static str,
        desc: bool,
    ) -> std::result::Result<salesorg_engine::leaderboard::Board, salesorg_engine::EngineError>
    {
        salesorg_engine::leaderboard::board(
            self.engine,
            self.lens(),
            scope,
            period,
            today,
            of,
            kpis,
            by,
            desc,
            &|s, ps, k| self.run(s, ps, k, today),
        )
    }

    /// The people the viewer may see whose name or id holds `text` (any case): how many,
    /// and the first `limit` of them — an id that is the text first, then names that
    /// start with it (or a word of them does), then the rest, each group by name.
    pub fn find_people(&self, text: &str, limit: usize) -> (usize, Vec<u32>) {
        let t = text.trim().to_lowercase();
        if t.is_empty() {
            return (0, Vec::new());
        }
        let book = &self.engine.book;
        let mut hits: Vec<(u8, &str, u32)> = (0..book.people.len() as u32)
            .filter_map(|p| {
                let info = &book.people[p as usize];
                let (name, id) = (info.name.as_str(), info.id.as_str());
                let rank = if id.to_lowercase() == t {
                    0
                } else if name
                    .split_whitespace()
                    .any(|w| w.to_lowercase().starts_with(&t))
                    || name.to_lowercase().starts_with(&t)
                {
                    1
                } else if salesorg_engine::scorecard::holds(name, &t)
                    || salesorg_engine::scorecard::holds(id, &t)
                {
                    2
                } else {
                    return None;
                };
                Some((rank, name, p))
            })
            .filter(|&(_, _, p)| self.sees_person(p))
            .collect();
        hits.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let n = hits.len();
        (n, hits.into_iter().take(limit).map(|x| x.2).collect())
    }

    /// A person by the source's id, if the viewer may see them.
    pub fn person(&self, id: &str) -> Result<u32> {
        let p = self.engine.book.person(id).ok_or(WebError::NotFound)?;
        if p == self.engine.book.nobody() || !self.sees_person(p) {
            return Err(WebError::NotFound);
        }
        Ok(p)
    }

    /// Parses a scope and checks the viewer may open it over `period` (for `unit:`,
    /// every record of the unit in the period must be theirs to see).
    pub fn scope(&self, raw: &str, period: Option<&Period>) -> Result<Scope> {
        let s = match self.engine.scope(raw) {
            Ok(s) => s,
            Err(_) if raw.contains(':') => return Err(WebError::NotFound),
            Err(e) => return Err(bad_input(e)),
        };
        if self.may_open(s, period) {
            Ok(s)
        } else {
            Err(WebError::NotFound)
        }
    }

    fn may_open(&self, s: Scope, period: Option<&Period>) -> bool {
        match self.access.grant {
            Grant::Company => true,
            Grant::Nothing => false,
            Grant::Subtree => match s {
                Scope::Company => false,
                Scope::Person(p) | Scope::Team(p) => {
                    p != self.engine.book.nobody() && self.sees_person(p)
                }
                Scope::Unit(_) => {
                    let segs = &self.engine.segs;
                    let list = self.engine.segments_of(s);
                    let (from, to) = match period {
                        Some(p) => (day(p.start), day(p.end)),
                        None => (i32::MIN, i32::MAX),
                    };
                    let within: Vec<u32> = list
                        .iter()
                        .copied()
                        .filter(|&x| segs.from[x as usize] < to && segs.to[x as usize] > from)
                        .collect();
                    !within.is_empty() && self.lens().covers(&within)
                }
            },
        }
    }

    /// The scope a viewer lands on: their role's scope (company, their team, their book).
    pub fn home(&self) -> Option<Scope> {
        let p = self.access.person?;
        let (_, scope, _) = salesorg_engine::scorecard::role_scope(self.engine, self.catalog, p);
        Some(if self.may_open(scope, None) {
            scope
        } else {
            Scope::Person(p)
        })
    }

    /// Every `team:` and `unit:` scope the viewer may open over `[from, to)`.
    pub fn bulk_scopes(&self, from: Date, to: Date) -> Vec<Scope> {
        let p = Period::range(from, to).ok();
        self.engine
            .all_team_and_unit_scopes(from, to)
            .into_iter()
            .filter(|&s| self.may_open(s, p.as_ref()))
            .collect()
    }

    /// The reporting tree on `d` below `root` (default: the viewer, or the org's roots for
    /// company-wide viewers), at most `depth` levels deep.
    pub fn org_tree(
        &self,
        root: Option<&str>,
        d: Date,
        depth: usize,
    ) -> Result<Vec<serde_json::Value>> {
        let book = &self.engine.book;
        let roots: Vec<PersonId> = match root {
            Some(r) => {
                let p = self.person(r)?;
                let id = book.people[p as usize].id.clone();
                if self.access.grant != Grant::Company {
                    let me =
                        &book.people[self.access.person.ok_or(WebError::NotFound)? as usize].id;
                    if !book.org.subtree(me, d).contains(&id) {
                        return Err(WebError::NotFound);
                    }
                }
                vec![id]
            }
            None => match self.access.grant {
                Grant::Company => {
                    // (not the book's stand-in owner of records without one, its last)
                    let real = &book.people[..book.nobody() as usize];
                    let employed = real.iter().filter(|p| p.employed_on(day(d)));
                    book.org.tops(employed.map(|p| &p.id), d)
                }
                Grant::Subtree => {
                    vec![
                        book.people[self.access.person.ok_or(WebError::NotFound)? as usize]
                            .id
                            .clone(),
                    ]
                }
                Grant::Nothing => return Err(WebError::NotFound),
            },
        };
        Ok(roots.iter().map(|r| self.node(r, d, depth)).collect())
    }

    fn node(&self, id: &PersonId, d: Date, depth: usize) -> serde_json::Value {
        let book = &self.engine.book;
        let info = book.person(id.as_str()).map(|p| &book.people[p as usize]);
        let role = info
            .and_then(|i| i.role.as_deref())
            .and_then(|r| self.catalog.find(r));
        let reports = book.org.direct_reports(id, d);
        let span = reports.len();
        let flag = role.and_then(|r| r.span_flag(span));
        let mut v = serde_json::json!({
            "id": id.as_str(),
            "name": info.map(|i| i.name.as_str()).unwrap_or(""),
            "role": role.map(|r| r.id.as_str()),
            "role_title": role.map(|r| r.title.as_str()),
            "span": span,
            "span_range": role.and_then(|r| r.span_range()).map(|(a, b)| [a, b]),
            "span_flag": flag,
        });
        if depth > 0 {
            v["reports"] = reports.iter().map(|r| self.node(r, d, depth - 1)).collect();
        }
        v
    }

    /// A person's card: role, manager (when the viewer may see them), reports, units and
    /// reporting history.
    pub fn person_card(&self, p: u32, d: Date) -> serde_json::Value {
        let book = &self.engine.book;
        let info = &book.people[p as usize];
        let id = &info.id;
        let visible = |x: &PersonId| book.person(x.as_str()).is_some_and(|q| self.sees_person(q));
        let name = |x: &PersonId| {
            book.person(x.as_str())
                .map(|q| book.people[q as usize].name.clone())
                .unwrap_or_default()
        };
        let manager = book.org.manager_on(id, d).filter(|m| visible(m));
        let history: Vec<serde_json::Value> = book
            .org
            .lines_of(id)
            .iter()
            .map(|l| {
                let shown = visible(&l.manager);
                serde_json::json!({
                    "manager": if shown { Some(l.manager.as_str()) } else { None },
                    "manager_name": if shown { Some(name(&l.manager)) } else { None },
                    "from": fmt_date(l.valid.from),
                    "to": l.valid.to.map(fmt_date),
                })
            })
            .collect();
        serde_json::json!({
            "id": id.as_str(),
            "name": info.name,
            "role": info.role,
            "role_title": info.role.as_deref().and_then(|r| self.catalog.find(r)).map(|r| r.title.as_str()),
            "as_of": fmt_date(d),
            "manager": manager.map(|m| serde_json::json!({"id": m.as_str(), "name": name(m)})),
            "reports": book.org.direct_reports(id, d).iter().filter(|r| visible(r)).map(|r| serde_json::json!({"id": r.as_str(), "name": name(r)})).collect::<Vec<_>>(),
            "units": book.org.units_of(id, d).iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "reporting_history": history,
        })
    }

    /// Open pipeline of `scope` as of `as_of`, attributed on that day: amounts by
    /// expected close month (overdue first, then `months` months, then later) and
    /// forecast category. Returns the x labels and one series per category present.
    pub fn open_pipeline(
        &self,
        scope: Scope,
        as_of: Date,
        months: usize,
    ) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
        self.open_pipeline_split(scope, as_of, months, SPLIT_OWNERS)
    }

    /// [`Scoped::open_pipeline`], its walk split between two threads from `split_from`
    /// owners on (the same sums either way, which the tests check with this).
    pub fn open_pipeline_split(
        &self,
        scope: Scope,
        as_of: Date,
        months: usize,
        split_from: usize,
    ) -> (Vec<String>, Vec<(String, Vec<f64>)>) {
        use salesorg_core::scorecard::book::{FORECAST_CATEGORIES, NO_DAY};
        let book = &self.engine.book;
        let o = &book.opps;
        let (list, owners) = self.narrowed(scope);
        let a = day(as_of);
        let cal = &book.settings.fiscal;
        let m0 = Period::containing(cal, salesorg_core::period::Grain::Month, as_of);
        let starts: Vec<i32> = (0..=months as i32)
            .map(|i| day(salesorg_core::period::add_months(m0.start, i)))
            .collect();
        let nb = months + 2;
        let nc = FORECAST_CATEGORIES.len() + 1;
        // each category's amount per bucket, exact in the book's minor units (so that the
        // owners' order, or their split between threads, cannot change a sum)
        let tally = |owners: &[u32]| -> Vec<i128> {
            let mut v = vec![0i128; nc * nb];
            for &p in owners {
                if !self.attributed(&list, p, as_of) {
                    continue;
                }
                // (each deal as it was on the as-of day: its close date, amount and
                // category then, not today's)
                for (i, then) in self.engine.open_states_of(p, a) {
                    let close = then.close;
                    if close == NO_DAY {
                        continue;
                    }
                    let b = if close < starts[0] {
                        0
                    } else {
                        match starts.iter().rposition(|&s| s <= close) {
                            Some(k) if k < months => k + 1,
                            _ => nb - 1,
                        }
                    };
                    let amt = then
                        .amount
                        .and_then(|x| book.convert(x, o.currency[i], a))
                        .unwrap_or(0);
                    v[then.forecast as usize * nb + b] += i128::from(amt);
                }
            }
            v
        };
        // a large scope's owners in two halves, one on another core (a company's open
        // deals are a memory-bound walk: a third of a first render of its pages)
        let sums = if owners.len() >= split_from
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
        {
            let (first, second) = owners.split_at(owners.len() / 2);
            std::thread::scope(|sc| {
                let h = sc.spawn(|| tally(second));
                let mut v = tally(first);
                let w = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                for (x, y) in v.iter_mut().zip(w) {
                    *x += y;
                }
                v
            })
        } else {
            tally(&owners)
        };
        let v: Vec<Vec<f64>> = sums
            .chunks(nb)
            .map(|c| c.iter().map(|&x| x as f64 / 10_000.0).collect())
            .collect();
        let mut x = vec!["Overdue".to_owned()];
        for i in 0..months {
            let d = salesorg_core::period::add_months(m0.start, i as i32);
            x.push(format!("{} {}", &d.month().to_string()[..3], d.year()));
        }
        x.push("Later".into());
        let names = std::iter::once("no category").chain(FORECAST_CATEGORIES.iter().copied());
        let series = names
            .zip(v)
            .filter(|(_, vals)| vals.iter().any(|&x| x > 0.0))
            .map(|(n, vals)| (n.replace('_', " "), vals))
            .collect();
        (x, series)
    }

    /// The quota-carrying people with records of `scope` the viewer sees, employed during `p`.
    pub fn reps_in(&self, scope: Scope, p: &Period) -> Vec<u32> {
        let (list, _) = self.narrowed(scope);
        salesorg_engine::leaderboard::reps_of(self.engine, &list, p)
    }

    /// Whether a record owned by `owner` and attributed to day `d` counts for `list`
    /// (a scope's segments already narrowed by the lens).
    pub fn attributed(&self, list: &[u32], owner: u32, d: Date) -> bool {
        let s = self.engine.segs.at(owner, day(d));
        list.binary_search(&s).is_ok()
    }

    /// The segments of `scope` the viewer sees, and the people who own them (in order).
    pub fn narrowed(&self, scope: Scope) -> (Vec<u32>, Vec<u32>) {
        let list = self
            .lens()
            .narrow(self.engine.segments_of(scope))
            .into_owned();
        let mut owners: Vec<u32> = list
            .iter()
            .map(|&s| self.engine.segs.person[s as usize])
            .collect();
        owners.sort_unstable();
        owners.dedup();
        (list, owners)
    }
}

/// From how many owners a view's walk over their open deals is split between two threads.
const SPLIT_OWNERS: usize = 512;

/// Today in the organisation's time zone.
pub fn today(engine: &Engine, now: i64) -> Date {
    engine.book.settings.local_date(Timestamp::from_unix(now))
}

/// Records from the store, read for one scope and period and filtered by attribution.
/// The store is reached here, and only with a [`Scoped`].
pub mod records {
    use super::*;
    use salesorg_core::date::Timestamp;

    /// A page of records and the cursor of the next one.
    pub struct Page {
        pub items: Vec<serde_json::Value>,
        pub next: Option<String>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Opportunities,
        Leads,
        Activities,
    }

    /// Records of `scope` in `period`, ordered by owner, then date: opportunities by
    /// close date (closed: attributed on it; open: on the as-of date), leads by creation,
    /// activities by their date. `cursor` is `owner.skip` from the previous page.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn page(
        sc: &Scoped,
        store: &mut Store,
        kind: Kind,
        scope: Scope,
        period: &Period,
        as_of: Date,
        cursor: Option<&str>,
        per_page: usize,
    ) -> Result<Page> {
        let (list, owners) = sc.narrowed(scope);
        let (mut oi, mut skip) = match cursor {
            None => (0usize, 0usize),
            Some(c) => {
                let (a, b) = c
                    .split_once('.')
                    .ok_or_else(|| WebError::BadRequest("bad cursor".into()))?;
                (
                    a.parse()
                        .map_err(|_| WebError::BadRequest("bad cursor".into()))?,
                    b.parse()
                        .map_err(|_| WebError::BadRequest("bad cursor".into()))?,
                )
            }
        };
        let book = &sc.engine.book;
        let settings = &book.settings;
        let link =
            |o: salesorg_core::settings::RecordObject, id: &str| settings.record_urls.link(o, id);
        use salesorg_core::settings::RecordObject as O;
        let mut items = Vec::new();
        while oi < owners.len() {
            let owner = owners[oi];
            let oid = book.people[owner as usize].id.as_str();
            let mut rows: Vec<serde_json::Value> = Vec::new();
            match kind {
                Kind::Opportunities => {
                    for o in store.opportunities_of_owner(oid, period.start, period.end)? {
                        let open = o.status == salesorg_core::records::OppStatus::Open;
                        let Some(close) = o.close_date else { continue };
                        let d = if open { as_of } else { close };
                        if sc.attributed(&list, owner, d) {
                            rows.push(serde_json::json!({
                                "id": o.id.as_str(),
                                "name": o.name,
                                "owner": oid,
                                "account": o.account.as_ref().map(|a| a.as_str()),
                                "amount": o.amount.map(|a| a.to_string()),
                                "currency": o.currency.as_str(),
                                "stage": o.stage.as_str(),
                                "status": o.status.as_str(),
                                "created": o.created.map(fmt_date),
                                "close": fmt_date(close),
                                "forecast_category": o.forecast_category.map(|f| f.as_str()),
                                "loss_reason": o.loss_reason,
                                "url": link(O::Opportunity, o.id.as_str()),
                            }));
                        }
                    }
                }
                Kind::Leads => {
                    for l in store.leads_of_owner(oid, period.start, period.end)? {
                        let d = settings.local_date(l.created);
                        if period.contains(d) && sc.attributed(&list, owner, d) {
                            rows.push(serde_json::json!({
                                "id": l.id.as_str(),
                                "owner": oid,
                                "source": l.source,
                                "status": l.status,
                                "created": fmt_ts(l.created),
                                "converted": l.converted_at.map(fmt_date),
                                "url": link(O::Lead, l.id.as_str()),
                            }));
                        }
                    }
                }
                Kind::Activities => {
                    for a in store.activities_of_owner(oid, period.start, period.end)? {
                        let d = settings.local_date(a.at);
                        if period.contains(d) && sc.attributed(&list, owner, d) {
                            rows.push(serde_json::json!({
                                "id": a.id.as_str(),
                                "owner": oid,
                                "kind": a.kind.as_str(),
                                "at": fmt_ts(a.at),
                                "subject": a.subject,
                                "url": link(O::Activity, a.id.as_str()),
                            }));
                        }
                    }
                }
            }
            let take = rows.len().saturating_sub(skip);
            let room = per_page - items.len();
            items.extend(rows.into_iter().skip(skip).take(room));
            if take > room {
                return Ok(Page {
                    items,
                    next: Some(format!("{oi}.{}", skip + room)),
                });
            }
            oi += 1;
            skip = 0;
            if items.len() == per_page {
                return Ok(Page {
                    next: (oi < owners.len()).then(|| format!("{oi}.0")),
                    items,
                });
            }
        }
        Ok(Page { items, next: None })
    }

    fn fmt_ts(t: Timestamp) -> String {
        t.to_string()
    }
}

/// What a handler works with: the viewer's [`Scoped`] view, and the store reachable only
/// through scoped reads, the audit log, or the greppable [`Cx::unscoped_store`].
pub struct Cx<'a> {
    pub scoped: Scoped<'a>,
    pub who: &'a Principal,
    pub now: i64,
    pub today: Date,
    pub addr: String,
    store: &'a mut Store,
}

impl<'a> Cx<'a> {
    pub fn new(
        scoped: Scoped<'a>,
        who: &'a Principal,
        store: &'a mut Store,
        now: i64,
        today: Date,
        addr: String,
    ) -> Cx<'a> {
        Cx {
            scoped,
            who,
            now,
            today,
            addr,
            store,
        }
    }

    /// A page of records of a scope the viewer may open.
    #[allow(clippy::too_many_arguments)]
    pub fn records(
        &mut self,
        kind: records::Kind,
        scope: Scope,
        period: &Period,
        as_of: Date,
        cursor: Option<&str>,
        per_page: usize,
    ) -> Result<records::Page> {
        records::page(
            &self.scoped,
            self.store,
            kind,
            scope,
            period,
            as_of,
            cursor,
            per_page,
        )
    }

    /// Writes an audit entry as the signed-in user.
    pub fn audit(&mut self, action: &str, detail: &str) -> Result<()> {
        let actor = self.who.actor();
        self.store
            .audit(self.now, Some(&actor), action, detail, Some(&self.addr))?;
        Ok(())
    }

    /// The store without any scope: for the signed-in user's own account (password,
    /// tokens) and for admins. Never for org data.
    pub fn unscoped_store(&mut self) -> &mut Store {
        self.store
    }
}

/// An engine error as the web answers it: a scorecard error is the request's fault.
fn engine_error(err: salesorg_engine::EngineError) -> WebError {
    match err {
        salesorg_engine::EngineError::Scorecard(x) => bad_input(x),
        other => WebError::Engine(other),
    }
}
