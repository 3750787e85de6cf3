//! Scorecards on a store: loads the book (the compact in-memory columns of
//! `salesorg_core::scorecard`) from the store, and renders what the CLI and the API show —
//! the scope × period table as JSON, CSV or text, a person's role scorecard with previous
//! period, last year, target and direct reports, and `explain`'s drill-down.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

use salesorg_core::catalog::{Catalog, ScopeKind};
use salesorg_core::date::{Date, fmt_date};
use salesorg_core::kpi::{self, Value, json_str};
use salesorg_core::period::Period;
use salesorg_core::records::OppStatus;
use salesorg_core::scorecard::book::{DayShown, IdHead, Ids, NO_RESPONSE, QuotaOn, id_head};
use salesorg_core::scorecard::spare::Spare;
use salesorg_core::scorecard::{
    Book, BookBuilder, Contribution, Day, DayCounts, Edges, Engine, Lens, NO_DAY, Row, Scope,
    ScorecardError, Tallies, Walk, fmt_day,
};
use salesorg_store::{
    Scanned, Store, Value as StoreValue, account_from, activity_from, history_from, lead_from,
    opp_from, survey_from,
};

use crate::{EngineError, Progress, Result};

impl From<ScorecardError> for EngineError {
    fn from(e: ScorecardError) -> Self {
        EngineError::Scorecard(e)
    }
}

/// How long loading took, by phase.
#[derive(Debug, Default, Clone)]
pub struct LoadTimings {
    pub phases: Vec<(&'static str, Duration)>,
    /// Resident memory after each phase, in MB (Linux; 0 elsewhere).
    pub rss_mb: Vec<u64>,
}

/// This process's resident memory in MB, read from /proc (0 where there is none).
pub fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096 / (1024 * 1024))
        .unwrap_or(0)
}

/// Reads every record the scorecard needs from the store into a [`Book`]. With
/// `keep_ids`, record ids are kept for `explain`.
pub fn load_book(
    store: &mut Store,
    catalog: &Catalog,
    keep_ids: bool,
    progress: &dyn Progress,
) -> Result<(Book, LoadTimings)> {
    // every table is read once, in a scan: SQLite's page cache would only fill
    store.scanning(|s| scan_book(s, catalog, keep_ids, progress))
}

fn scan_book(
    store: &mut Store,
    catalog: &Catalog,
    keep_ids: bool,
    progress: &dyn Progress,
) -> Result<(Book, LoadTimings)> {
    let mut t = LoadTimings::default();
    let mut lap = Instant::now();
    let mut mark = |t: &mut LoadTimings, what: &'static str| {
        t.phases.push((what, lap.elapsed()));
        t.rss_mb.push(rss_mb());
        lap = Instant::now();
    };
    progress.update("reading the org and the accounts", 0, 0);
    let settings = store.settings()?;
    let org = store.org()?;
    let people = store.people()?;
    let mut b = BookBuilder::new(settings, catalog, &people, org, keep_ids);
    for r in store.rates()? {
        b.add_rate(r);
    }
    // streamed, as every large table is: held whole, the rows and then the records of
    // 2.5M accounts or 5.5M surveys were gigabytes at the load's peak
    let step = ("reading the org and the accounts", 1_000_000);
    pipelined(
        store,
        Scanned::Accounts,
        account_from,
        progress,
        step,
        |a| b.add_account(&a),
    )?;
    mark(&mut t, "org and accounts");
    let mut err: Option<ScorecardError> = None;
    // (the first error is kept; the rest of the records are read and passed over)
    let keep = |err: &mut Option<ScorecardError>, r: std::result::Result<(), ScorecardError>| {
        if err.is_none()
            && let Err(e) = r
        {
            *err = Some(e);
        }
    };
    let step = ("reading opportunities", 500_000);
    pipelined(
        store,
        Scanned::OpportunitiesBrief,
        opp_from,
        progress,
        step,
        |o| keep(&mut err, b.add_opportunity(&o)),
    )?;
    mark(&mut t, "opportunities");
    let step = ("reading the stage history", 5_000_000);
    pipelined(
        store,
        Scanned::StageHistory,
        history_from,
        progress,
        step,
        |h| keep(&mut err, b.add_stage_change(&h)),
    )?;
    mark(&mut t, "stage history");
    let step = ("reading leads", 1_000_000);
    pipelined(store, Scanned::LeadsBrief, lead_from, progress, step, |l| {
        keep(&mut err, b.add_lead(&l))
    })?;
    mark(&mut t, "leads");
    let step = ("reading activities", 1_000_000);
    pipelined(
        store,
        Scanned::ActivitiesBrief,
        activity_from,
        progress,
        step,
        |a| keep(&mut err, b.add_activity(&a)),
    )?;
    mark(&mut t, "activities");
    if let Some(e) = err {
        return Err(e.into());
    }
    progress.update("reading quotas, spend and surveys", 0, 0);
    for q in store.quotas()? {
        b.add_quota(q);
    }
    for s in store.spend()? {
        b.add_spend(s);
    }
    let step = ("reading quotas, spend and surveys", 1_000_000);
    pipelined(store, Scanned::Surveys, survey_from, progress, step, |s| {
        b.add_survey(s)
    })?;
    mark(&mut t, "quotas, spend and surveys");
    progress.update("sorting and indexing the records", 0, 0);
    let book = b.finish()?;
    mark(&mut t, "sort and index");
    Ok((book, t))
}

/// Reads `table`'s rows on another thread while this one decodes them (`decode`) and adds
/// them to the book (`add`), in the order read; `(what, every)`: the step's progress line,
/// at the start and every so many rows.
/// Reading rows (the database's work) and making records of them (parsing every id and
/// date) take about a core each: done in one loop, a first load at 10M took 128 s, on two
/// threads 64 s. The rows go over in batches, which the store reads straight into the text
/// buffers of a batch handed back (it had read each row into one row's buffers and copied
/// them into the batch, on the reader thread that a first load waits on: 7 % of a 10M
/// load), their texts as bytes: this thread checks that they are UTF-8 as it sets a row
/// from them (the check was 5–7 % of the reader's time). The records and the book are
/// made on this thread, whose memory the allocator keeps in one arena (a book grown on a
/// second thread held 150 MB more at 10M opportunities).
fn pipelined<T>(
    store: &mut Store,
    table: Scanned,
    decode: fn(&[StoreValue]) -> salesorg_store::Result<T>,
    progress: &dyn Progress,
    (what, every): (&str, u64),
    mut add: impl FnMut(T),
) -> Result<()> {
    progress.update(what, 0, 0);
    use std::sync::atomic::{AtomicBool, Ordering};
    const BATCH: usize = 1024;
    // (a batch: its rows' values one after another, their texts not yet checked, and how
    // many rows it holds)
    type Batch = (Vec<salesorg_store::Raw>, usize);
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<Batch>();
    // (set once a row did not decode or the batches were let go of: the reading stops)
    let failed = &AtomicBool::new(false);
    std::thread::scope(|sc| {
        let reader = sc.spawn(move || -> salesorg_store::Result<()> {
            // (each batch read straight into the buffers of one handed back, then sent)
            store.scan_batches(table, BATCH, &mut |vals, rows| {
                if failed.load(Ordering::Relaxed) {
                    return Err(salesorg_store::StoreError::Corrupt("stopped".into()));
                }
                let (next, _) = done_rx.try_recv().unwrap_or_default();
                let full = std::mem::replace(vals, next);
                // (a send fails only once the adding thread has panicked and let go of the
                // batches: the reading then stops, for the panic to go on)
                if full_tx.send((full, rows)).is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                Ok(())
            })
        });
        let (mut bad, mut n) = (None, 0u64);
        // (one row's values, checked and set from a batch's, their texts' buffers reused)
        let mut row: Vec<StoreValue> = Vec::new();
        for (vals, rows) in full_rx {
            if bad.is_none() && rows > 0 {
                for raw in vals.chunks((vals.len() / rows).max(1)).take(rows) {
                    row.resize(raw.len(), StoreValue::Null);
                    for (slot, r) in row.iter_mut().zip(raw) {
                        r.read_into(slot);
                    }
                    match decode(&row) {
                        Ok(x) => add(x),
                        Err(e) => {
                            bad = Some(e);
                            failed.store(true, Ordering::Relaxed);
                            break;
                        }
                    }
                    n += 1;
                    if n.is_multiple_of(every) {
                        progress.update(what, n, 0);
                    }
                }
            }
            // (the reading may have ended: the batch is then dropped here)
            let _ = done_tx.send((vals, 0));
        }
        let scanned = match reader.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        };
        if let Some(e) = bad {
            return Err(e.into());
        }
        Ok(scanned?)
    })
}

/// Loads the book and cuts the org into attribution segments. With `cache`, the book's
/// columns come from the snapshot beside the store when it is current, and a snapshot is
/// written after a full load (see [`crate::snapshot`]).
pub fn load(
    store: &mut Store,
    catalog: &Catalog,
    keep_ids: bool,
    cache: bool,
    progress: &dyn Progress,
) -> Result<(Engine, LoadTimings)> {
    let path = if cache {
        crate::snapshot::path_for(store.url()).map(|p| {
            if keep_ids {
                crate::snapshot::ids_path(&p)
            } else {
                p
            }
        })
    } else {
        None
    };
    let version = if path.is_some() {
        Some(store.data_version()?)
    } else {
        None
    };
    if let (Some(path), Some((id, v))) = (&path, &version) {
        if path.exists() {
            progress.update("reading the snapshot", 0, 0);
        }
        let lap = Instant::now();
        match snapshot_book(store, catalog, path, id, *v, keep_ids) {
            Ok(Some(book)) => {
                let mut t = LoadTimings::default();
                t.phases.push(("snapshot", lap.elapsed()));
                t.rss_mb.push(rss_mb());
                let lap = Instant::now();
                progress.update("cutting the org into segments", 0, 0);
                let e = Engine::new(book);
                t.phases.push(("segments", lap.elapsed()));
                t.rss_mb.push(rss_mb());
                return Ok((e, t));
            }
            Ok(None) => {}
            // (a warning that cannot be written is dropped: the load goes on)
            Err(EngineError::Io { path, reason }) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: ignoring the scorecard snapshot {path}: {reason}"
                );
            }
            Err(e) => return Err(e),
        }
    }
    let (mut book, mut t) = load_book(store, catalog, keep_ids, progress)?;
    if let (Some(path), Some((id, v))) = (&path, &version) {
        progress.update("writing the snapshot", 0, 0);
        let lap = Instant::now();
        match crate::snapshot::write(path, id, *v, &book, keep_ids) {
            Ok(()) => {
                // the book is read back from what was just written: its columns then sit
                // in memory as a cold run's do, each in one piece of its exact size,
                // where the built ones sat among the load's freed room that the allocator
                // keeps (at 10M deals the first run's compute then peaked 86 MB above a
                // cold run's, over 2,000 million bytes)
                drop(book);
                book = match snapshot_book(store, catalog, path, id, *v, keep_ids) {
                    Ok(Some(b)) => b,
                    // (a snapshot that does not read back is removed, and the records are
                    // read again: slower, never wrong, and the next run writes it anew)
                    failed => {
                        let why = match failed {
                            Err(e) => e.to_string(),
                            _ => "it is not the one written".into(),
                        };
                        let _ = writeln!(
                            std::io::stderr(),
                            "warning: the scorecard snapshot {} just written does not read \
                             back ({why}): reading the records again",
                            path.display()
                        );
                        let _ = std::fs::remove_file(path);
                        load_book(store, catalog, keep_ids, progress)?.0
                    }
                };
            }
            Err(e) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "warning: could not write the scorecard snapshot {}: {e}",
                    path.display()
                );
            }
        }
        t.phases.push(("write snapshot", lap.elapsed()));
        t.rss_mb.push(rss_mb());
    }
    let lap = Instant::now();
    progress.update("cutting the org into segments", 0, 0);
    let e = Engine::new(book);
    t.phases.push(("segments", lap.elapsed()));
    t.rss_mb.push(rss_mb());
    Ok((e, t))
}

/// The book of the snapshot at `path` when it is the one of store `id` at data version
/// `v`: the store's settings, org and people, and the records' columns from the file;
/// `None` when there is no such file, or it is of another store, version or format. A file
/// that cannot be read is an [`EngineError::Io`].
fn snapshot_book(
    store: &mut Store,
    catalog: &Catalog,
    path: &std::path::Path,
    id: &str,
    v: i64,
    keep_ids: bool,
) -> Result<Option<Book>> {
    let settings = store.settings()?;
    let org = store.org()?;
    let people = store.people()?;
    let mut book = BookBuilder::new(settings, catalog, &people, org, keep_ids).finish()?;
    match crate::snapshot::read(path, id, v, &mut book, keep_ids) {
        Ok(true) => Ok(Some(book)),
        Ok(false) => Ok(None),
        Err(e) => Err(EngineError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The KPIs a scope is shown by default: every KPI of the spec that has a value (all but
/// the ones that wait for data, spec §6 `forecast_accuracy`).
pub fn default_kpis() -> Vec<&'static str> {
    kpi::KPI_IDS
        .iter()
        .copied()
        .filter(|k| !kpi::NOT_YET.contains(k))
        .collect()
}

/// Checks KPI ids given by a user; `forecast_accuracy` is accepted and reported as waiting
/// for forecasts.
pub fn parse_kpis(ids: &[String]) -> std::result::Result<Vec<&'static str>, ScorecardError> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in ids.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        let k = kpi::KPI_IDS
            .iter()
            .copied()
            .find(|k| *k == s)
            .ok_or_else(|| ScorecardError::Kpi(kpi::unknown_kpi(s)))?;
        // (a KPI named twice is one column, where it was first named)
        if !out.contains(&k) {
            out.push(k);
        }
    }
    Ok(out)
}

fn value_json(v: Option<&Value>) -> String {
    v.map_or_else(|| "null".into(), Value::to_json)
}

/// One row as the documented JSON object (docs/scorecard.md):
/// `{"scope": …, "period": …, "as_of": …, "kpis": {…}}`.
pub fn row_json(engine: &Engine, row: &Row, kpis: &[&str]) -> String {
    let mut s = format!(
        "{{\"scope\":{},\"period\":{},\"period_start\":\"{}\",\"period_end\":\"{}\",\"as_of\":\"{}\",\"currency\":\"{}\",\"kpis\":{{",
        json_str(&engine.scope_name(row.scope)),
        json_str(&row.period.to_string()),
        fmt_date(row.period.start),
        fmt_date(row.period.end),
        fmt_date(row.as_of),
        engine.book.settings.currency.as_str()
    );
    // (why each null is one, in words, gathered on the same walk)
    let mut undefined = String::new();
    for (i, k) in kpis.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = row.values.iter().find(|(id, _)| id == k).map(|(_, v)| v);
        let _ = write!(s, "\"{k}\":{}", value_json(v));
        let why = match v {
            Some(Value::Null(why)) => *why,
            Some(_) => continue,
            None => kpi::Why::missing(k),
        };
        if !undefined.is_empty() {
            undefined.push(',');
        }
        let _ = write!(undefined, "\"{k}\":{}", json_str(why.text()));
    }
    s.push_str("},\"undefined\":{");
    s.push_str(&undefined);
    s.push_str("}}");
    s
}

/// Quotes a CSV field when needed.
pub fn csv_field(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    push_csv_field(&mut o, s);
    o
}

/// [`csv_field`] appended to `out`.
pub fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The bulk export: `scope,period,<kpi ids…>`, one row per scope × period; undefined
/// values are empty cells, tables are written as `label: a/b/c; …`.
pub fn rows_csv(
    engine: &Engine,
    rows: &[Row],
    kpis: &[&str],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    csv_header(kpis, out)?;
    rows_csv_body(engine, rows, kpis, out)
}

/// [`rows_csv`], formatting at least `per_thread` rows on each core (the tests split
/// small exports with this).
pub fn rows_csv_split(
    engine: &Engine,
    rows: &[Row],
    kpis: &[&str],
    out: &mut dyn std::io::Write,
    per_thread: usize,
) -> std::io::Result<()> {
    csv_header(kpis, out)?;
    rows_csv_lines(engine, rows, kpis, out, per_thread)
}

/// The bulk export's first line: `scope,period,<kpi ids…>`.
pub fn csv_header(kpis: &[&str], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut line = String::from("scope,period");
    for k in kpis {
        line.push(',');
        line.push_str(k);
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// [`rows_csv`] without its first line: the lines of rows that follow others (an export
/// written as its rows are made, see [`Engine::run_each`]).
pub fn rows_csv_body(
    engine: &Engine,
    rows: &[Row],
    kpis: &[&str],
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    rows_csv_lines(engine, rows, kpis, out, CSV_ROWS_PER_THREAD)
}

fn rows_csv_lines(
    engine: &Engine,
    rows: &[Row],
    kpis: &[&str],
    out: &mut dyn std::io::Write,
    per_thread: usize,
) -> std::io::Result<()> {
    let per_thread = per_thread.max(1);
    // the bulk export's million values are formatted on every core, in runs of rows
    // written in order
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if threads <= 1 || rows.len() / 2 < per_thread {
        return out.write_all(csv_lines(engine, rows, kpis).as_bytes());
    }
    let run = rows
        .len()
        .div_ceil(threads.min(rows.len() / per_thread))
        .max(1);
    let texts: Vec<Option<String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = rows
            .chunks(run)
            .map(|part| sc.spawn(move || csv_lines(engine, part, kpis)))
            .collect();
        hs.into_iter().map(|h| h.join().ok()).collect()
    });
    for t in texts {
        let t = t.ok_or_else(|| std::io::Error::other("a CSV thread failed"))?;
        out.write_all(t.as_bytes())?;
    }
    Ok(())
}

/// The fewest rows a core formats (an export of fewer than twice as many is one core's).
const CSV_ROWS_PER_THREAD: usize = 2_000;

/// `rows` as CSV lines (see [`rows_csv`]).
fn csv_lines(engine: &Engine, rows: &[Row], kpis: &[&str]) -> String {
    let mut text = String::new();
    let mut cell = String::new();
    for r in rows {
        push_csv_field(&mut text, &engine.scope_name(r.scope));
        text.push(',');
        cell.clear();
        {
            use std::fmt::Write;
            let _ = write!(cell, "{}", r.period);
        }
        push_csv_field(&mut text, &cell);
        for (j, k) in kpis.iter().enumerate() {
            text.push(',');
            // a row's values come in the order of `kpis`
            let v = match r.values.get(j) {
                Some((id, v)) if id == k => Some(v),
                _ => r.values.iter().find(|(id, _)| id == k).map(|x| &x.1),
            };
            if let Some(v) = v {
                cell.clear();
                v.write_text("", &mut cell);
                push_csv_field(&mut text, &cell);
            }
        }
        text.push('\n');
    }
    text
}

/// A KPI on a person's scorecard, with its comparisons.
#[derive(Debug, Clone)]
pub struct ScorecardLine {
    pub kpi: &'static str,
    pub value: Value,
    pub previous: Value,
    pub last_year: Value,
    /// For a period under way: the previous period and last year's to the same day
    /// (`Null` otherwise).
    pub previous_to_date: Value,
    pub last_year_to_date: Value,
    /// `revenue_growth_yoy` of a period under way against last year's to the same day
    /// (the KPI itself is, per the spec, against last year's whole period, so mid-period
    /// it reads as a fall); `Null` for other KPIs and periods.
    pub like_for_like: Value,
    /// The quota or target, where there is one.
    pub target: Option<Value>,
    /// The same KPI for each direct report's scope.
    pub reports: Vec<Value>,
    /// Each direct report's own quota or target for it.
    pub report_targets: Vec<Option<Value>>,
}

/// A person's role scorecard (issue 3 §2).
#[derive(Debug, Clone)]
pub struct PersonScorecard {
    pub person: u32,
    pub role: Option<String>,
    pub scope: Scope,
    pub period: Period,
    pub previous: Period,
    pub last_year: Period,
    /// For a period under way on the as-of date (day N of M): the previous period and the
    /// same period last year to their Nth day ([`Period::to_date`]; the whole period where
    /// it has no more than N days).
    pub to_date: Option<(Period, Period)>,
    pub as_of: Date,
    pub reports: Vec<Scope>,
    pub lines: Vec<ScorecardLine>,
}

/// The scope a role answers for (catalog `scope`): company, their team (region,
/// department, team) or their own book — their own book too for a leader who has never
/// led anyone, and for someone without a role who has not.
pub fn role_scope(
    engine: &Engine,
    catalog: &Catalog,
    p: u32,
) -> (Option<String>, Scope, Vec<&'static str>) {
    let info = &engine.book.people[p as usize];
    let role = info.role.as_deref().and_then(|r| catalog.find(r));
    let led = engine.segs.led_anyone(p);
    let scope = match role.map(|r| r.scope) {
        Some(ScopeKind::Company) => Scope::Company,
        Some(ScopeKind::OwnBook) => Scope::Person(p),
        // (a leader who has never led anyone answers for their own book: alone in no
        // reporting line, as Superstore's regional managers are, their team holds none of
        // their records (spec §1), and their scorecard had been all zeros)
        Some(_) | None if led => Scope::Team(p),
        Some(_) | None => Scope::Person(p),
    };
    let mut kpis: Vec<&'static str> = Vec::new();
    if let Some(r) = role {
        for id in r.kpi_ids() {
            if let Some(k) = kpi::KPI_IDS.iter().copied().find(|k| *k == id)
                && !kpis.contains(&k)
            {
                kpis.push(k);
            }
        }
    }
    if kpis.is_empty() {
        kpis = vec![
            "bookings",
            "won_deals",
            "win_rate",
            "pipeline_open",
            "calls",
            "activities",
        ];
    }
    (role.map(|r| r.title.clone()), scope, kpis)
}

/// The period before `p` of the same length (the previous month, quarter or year); for
/// a period to date, the one before its whole period to the same day.
pub fn previous_period(engine: &Engine, p: &Period) -> Period {
    if p.is_to_date() {
        let w = previous_period(engine, &p.whole());
        return same_day(&w, p.days());
    }
    let cal = &engine.book.settings.fiscal;
    let before = p.start.previous_day().unwrap_or(p.start);
    for g in [
        salesorg_core::period::Grain::Month,
        salesorg_core::period::Grain::Quarter,
        salesorg_core::period::Grain::Year,
    ] {
        if *p == Period::containing(cal, g, p.start) {
            return Period::containing(cal, g, before);
        }
    }
    let len = p.days();
    let start = p.start - time::Duration::days(len);
    Period::range(start, p.start).unwrap_or(*p)
}

/// What `period` is compared with on its as-of day `as_of`: the previous period, the
/// same period last year, and, while `period` is under way (day N of M), those two to
/// their Nth day (docs/kpis.md, "A period to date").
pub fn comparisons(
    engine: &Engine,
    period: &Period,
    as_of: Date,
) -> (Period, Period, Option<(Period, Period)>) {
    let previous = previous_period(engine, period);
    let last_year = period.shifted_years(-1);
    let to_date = period
        .under_way(as_of)
        .map(|(day, _)| (same_day(&previous, day), same_day(&last_year, day)));
    (previous, last_year, to_date)
}

/// The quota or target beside KPI `k` for `scope` over `period`: the scope's quota
/// (`quota`, as its row has it) beside bookings, 1 beside attainment, and any other KPI's
/// target where one is set ([`Engine::target`]).
pub fn target_for(
    engine: &Engine,
    scope: Scope,
    period: &Period,
    k: &str,
    quota: impl FnOnce() -> Value,
) -> Option<Value> {
    match k {
        "bookings" => Some(quota()),
        "quota_attainment" => Some(kpi::RATIO_ONE),
        _ => engine.target(scope, period, k),
    }
}

/// `p` to its `day`th day, or the whole of `p` when it has no more days than that.
pub fn same_day(p: &Period, day: i64) -> Period {
    p.start
        .checked_add(time::Duration::days(day - 1))
        .and_then(|d| p.to_date(d))
        .unwrap_or(*p)
}

/// Builds a person's scorecard: their role's KPIs over their scope, with the previous
/// period, the same period last year, the target, and each direct report side by side.
pub fn person_scorecard(
    engine: &Engine,
    catalog: &Catalog,
    p: u32,
    period: Period,
    today: Date,
    kpis_override: Option<Vec<&'static str>>,
) -> Result<PersonScorecard> {
    person_scorecard_in(
        engine,
        &Lens::everything(),
        catalog,
        p,
        period,
        today,
        kpis_override,
    )
}

/// [`person_scorecard`] seen through a [`Lens`].
pub fn person_scorecard_in(
    engine: &Engine,
    lens: &Lens,
    catalog: &Catalog,
    p: u32,
    period: Period,
    today: Date,
    kpis_override: Option<Vec<&'static str>>,
) -> Result<PersonScorecard> {
    let run = |s: &[Scope], ps: &[Period], k: &[&str]| engine.run_in(lens, s, ps, k, today);
    person_scorecard_by(engine, lens, catalog, p, period, today, kpis_override, &run)
}

/// How a scorecard's rows are computed: `Engine::run_in` directly, or from a shared grid.
pub type Runner<'a> =
    dyn Fn(&[Scope], &[Period], &[&str]) -> std::result::Result<Vec<Row>, ScorecardError> + 'a;

/// [`person_scorecard_in`] with the rows computed by `run` (which must apply `lens`).
#[allow(clippy::too_many_arguments)]
pub fn person_scorecard_by(
    engine: &Engine,
    lens: &Lens,
    catalog: &Catalog,
    p: u32,
    period: Period,
    today: Date,
    kpis_override: Option<Vec<&'static str>>,
    run: &Runner,
) -> Result<PersonScorecard> {
    let (role, scope, role_kpis) = role_scope(engine, catalog, p);
    let kpis = kpis_override.unwrap_or(role_kpis);
    let as_of = Engine::as_of(&period, today);
    let reports: Vec<Scope> = engine
        .segs
        .direct_reports(p, salesorg_core::scorecard::day(as_of))
        .into_iter()
        // through a lens, only the reports the viewer may see (someone who left the
        // viewer's subtree may lead people the viewer must not learn of)
        .filter(|&r| lens.sees_person(engine, r))
        .map(|r| {
            if engine.segs.of_scope[r as usize]
                .iter()
                .any(|&s| engine.segs.person[s as usize] != r)
            {
                Scope::Team(r)
            } else {
                Scope::Person(r)
            }
        })
        .collect();
    let (previous, last_year, to_date) = comparisons(engine, &period, as_of);
    let mut scopes = vec![scope];
    scopes.extend(&reports);
    let mut kp = kpis.clone();
    let yoy = to_date.is_some() && kpis.contains(&"revenue_growth_yoy");
    for k in ["quota", "quota_attainment", "bookings"] {
        if !kp.contains(&k) && (k != "bookings" || yoy) {
            kp.push(k);
        }
    }
    let rows = run(&scopes, &[period, previous, last_year], &kp)?;
    // (apart: the server rolls the whole periods up from its kept passes, which hold
    // standard periods only)
    // (and, for revenue growth like for like, this period to the as-of day: the flows
    // dated after it, which a period under way counts, are not last year's to that day)
    let so_far = period.to_date(as_of).filter(|_| yoy);
    let to_date_rows = match to_date {
        Some((a, b)) => {
            let ps: Vec<Period> = [Some(a), Some(b), so_far].into_iter().flatten().collect();
            run(&scopes[..1], &ps, &kp)?
        }
        None => Vec::new(),
    };
    let get = |si: usize, pi: usize, k: &str| -> Value {
        let row = match pi {
            0..3 => rows.get(si * 3 + pi),
            _ if si == 0 => to_date_rows.get(pi - 3),
            _ => None,
        };
        row.and_then(|r| r.values.iter().find(|(id, _)| *id == k))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| match row {
                // (a period not under way has no comparison to the day)
                None if pi >= 3 => Value::Null(kpi::Why::NotApplicable),
                _ => Value::Null(kpi::Why::missing(k)),
            })
    };
    let lines = kpis
        .iter()
        .map(|&k| ScorecardLine {
            kpi: k,
            value: get(0, 0, k),
            previous: get(0, 1, k),
            last_year: get(0, 2, k),
            previous_to_date: get(0, 3, k),
            last_year_to_date: get(0, 4, k),
            like_for_like: match k {
                "revenue_growth_yoy" if yoy => {
                    kpi::growth_of(&get(0, 5, "bookings"), &get(0, 4, "bookings"))
                }
                _ => Value::Null(kpi::Why::NotApplicable),
            },
            target: target_for(engine, scope, &period, k, || get(0, 0, "quota")),
            reports: (0..reports.len()).map(|ri| get(ri + 1, 0, k)).collect(),
            report_targets: reports
                .iter()
                .enumerate()
                .map(|(ri, &r)| target_for(engine, r, &period, k, || get(ri + 1, 0, "quota")))
                .collect(),
        })
        .collect();
    Ok(PersonScorecard {
        person: p,
        role,
        scope,
        period,
        previous,
        last_year,
        to_date,
        as_of,
        reports,
        lines,
    })
}

/// A person's scorecard as a table, for the CLI's table and CSV and the web app's CSV: the
/// header (`kpi`, the period, `prev P`, `last yr P`; mid-period `prev P to D` and `last yr
/// P to D`; `target`; each direct report's name) and one row per KPI, `none` where a value
/// is undefined (`—` in a table; empty in a CSV, as the bulk export's), an empty target
/// where none is set.
pub fn person_scorecard_table(
    engine: &Engine,
    card: &PersonScorecard,
    none: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec![
        "kpi".to_string(),
        card.period.to_string(),
        format!("prev {}", card.previous),
        format!("last yr {}", card.last_year),
    ];
    // mid-period, the comparisons to the same day beside the whole ones
    if let Some((prev, ly)) = &card.to_date {
        header.extend([format!("prev {prev}"), format!("last yr {ly}")]);
    }
    header.push("target".to_string());
    header.extend(card.reports.iter().map(|r| match r {
        Scope::Team(p) | Scope::Person(p) => engine.book.people[*p as usize].name.clone(),
        _ => String::new(),
    }));
    let rows = card
        .lines
        .iter()
        .map(|l| {
            let mut r = vec![
                l.kpi.to_string(),
                l.value.to_text(none),
                l.previous.to_text(none),
                l.last_year.to_text(none),
            ];
            if card.to_date.is_some() {
                r.extend([
                    l.previous_to_date.to_text(none),
                    l.last_year_to_date.to_text(none),
                ]);
            }
            r.push(
                l.target
                    .as_ref()
                    .map(|t| t.to_text(none))
                    .unwrap_or_default(),
            );
            r.extend(l.reports.iter().map(|v| v.to_text(none)));
            r
        })
        .collect();
    (header, rows)
}

/// A person's scorecard as JSON.
pub fn person_scorecard_json(engine: &Engine, sc: &PersonScorecard) -> String {
    let info = &engine.book.people[sc.person as usize];
    let td = |pick: fn(&(Period, Period)) -> &Period| {
        sc.to_date
            .as_ref()
            .map_or_else(|| "null".to_owned(), |t| json_str(&pick(t).to_string()))
    };
    let mut s = format!(
        "{{\"person\":{},\"name\":{},\"role\":{},\"scope\":{},\"period\":{},\"previous_period\":{},\"last_year_period\":{},\"previous_to_date_period\":{},\"last_year_to_date_period\":{},\"as_of\":\"{}\",\"currency\":\"{}\",\"reports\":[",
        json_str(info.id.as_str()),
        json_str(&info.name),
        sc.role
            .as_deref()
            .map(json_str)
            .unwrap_or_else(|| "null".into()),
        json_str(&engine.scope_name(sc.scope)),
        json_str(&sc.period.to_string()),
        json_str(&sc.previous.to_string()),
        json_str(&sc.last_year.to_string()),
        td(|t| &t.0),
        td(|t| &t.1),
        fmt_date(sc.as_of),
        engine.book.settings.currency.as_str(),
    );
    for (i, r) in sc.reports.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let p = match r {
            Scope::Team(p) | Scope::Person(p) => *p,
            _ => 0,
        };
        let _ = write!(
            s,
            "{{\"scope\":{},\"name\":{}}}",
            json_str(&engine.scope_name(*r)),
            json_str(&engine.book.people[p as usize].name)
        );
    }
    s.push_str("],\"kpis\":{");
    for (i, l) in sc.lines.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "\"{}\":{{\"value\":{},\"undefined\":{},\"previous\":{},\"last_year\":{},\"previous_to_date\":{},\"last_year_to_date\":{}{},\"target\":{},\"reports\":[{}]}}",
            l.kpi,
            l.value.to_json(),
            l.value
                .why()
                .map_or_else(|| "null".to_owned(), |w| json_str(w.text())),
            l.previous.to_json(),
            l.last_year.to_json(),
            l.previous_to_date.to_json(),
            l.last_year_to_date.to_json(),
            // (revenue growth alone: against last year to the same day)
            match l.kpi {
                "revenue_growth_yoy" => format!(",\"like_for_like\":{}", l.like_for_like.to_json()),
                _ => String::new(),
            },
            l.target
                .as_ref()
                .map(Value::to_json)
                .unwrap_or_else(|| "null".into()),
            l.reports
                .iter()
                .map(Value::to_json)
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    s.push_str("}}");
    s
}

/// A record's sort key in a drill-down: its day, its id's [`IdHead`] and its position.
type DayKey = (Day, u64, u64, u32, u32);

/// The (day, id, kind) order of two [`DayKey`]s: equal heads are the same id unless both
/// are longer than 16 bytes, so only then is the id's text read; the kind and then the
/// position break the last ties (a total order: every sort of the keys agrees).
fn by_day_key<'a, 'f>(
    id: &'f (impl Fn(usize) -> std::borrow::Cow<'a, str> + Sync),
    kind: &'f (impl Fn(usize) -> &'static str + Sync),
) -> impl Fn(&DayKey, &DayKey) -> std::cmp::Ordering + Sync + 'f {
    move |a, b| {
        (a.0, a.1, a.2, a.3)
            .cmp(&(b.0, b.1, b.2, b.3))
            .then_with(|| {
                let (x, y) = (a.4 as usize, b.4 as usize);
                let by_id = if a.3 == 17 && b.3 == 17 {
                    id(x).as_bytes().cmp(id(y).as_bytes())
                } else {
                    std::cmp::Ordering::Equal
                };
                by_id.then_with(|| kind(x).cmp(kind(y))).then(a.4.cmp(&b.4))
            })
    }
}

/// The first day of the records among `0..n` that have one (`day` gives `None` for a
/// record left out) and how many fall on each day from it to the last; `None` when there
/// are none, or their days lie too far apart for a count per day to pay (more days than
/// 4n + 1024). One scan, on every core: each run counts into a window of days that grows
/// (by doubling) when it meets a day outside it, and the windows are added up.
fn per_day(n: usize, day: &(impl Fn(usize) -> Option<Day> + Sync)) -> Option<(Day, Vec<usize>)> {
    let limit = 4 * n as i64 + 1024;
    let windows = on_runs(&runs_of(n), |r| {
        let mut w = DayCounts::new(limit);
        for i in r {
            if let Some(d) = day(i)
                && !w.add(d)
            {
                break;
            }
        }
        w
    });
    DayCounts::sum(windows, limit)
}

/// How long each core's run of `n` records is (see [`cores_for`]).
fn run_len(n: usize) -> usize {
    n.div_ceil(cores_for(n)).max(1)
}

/// `0..n` cut into one run per core (see [`cores_for`]).
fn runs_of(n: usize) -> Vec<std::ops::Range<usize>> {
    let chunk = run_len(n);
    (0..n.div_ceil(chunk))
        .map(|j| j * chunk..((j + 1) * chunk).min(n))
        .collect()
}

/// `f` of every run, each on its own core (the last on this thread), in the runs' order.
fn on_runs<T: Send>(
    runs: &[std::ops::Range<usize>],
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let f = &f;
    std::thread::scope(|sc| {
        let (last, rest) = match runs.split_last() {
            Some(x) => x,
            None => return Vec::new(),
        };
        let handles: Vec<_> = rest
            .iter()
            .map(|r| {
                let r = r.clone();
                sc.spawn(move || f(r))
            })
            .collect();
        let mine = f(last.clone());
        let mut out: Vec<T> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        out.push(mine);
        out
    })
}

/// The order of `n` records by (day, id, kind), ties kept in their order: a counting sort
/// by day (a drill-down spans one period's days), then each day's records by their ids'
/// [`IdHead`]s (the first 16 bytes as integers and the length), the full id (only for two
/// ids longer than 16 bytes with the same head) and the kind only breaking ties. The keys
/// are 24 bytes a record, so a company's million records sort without a pointer chase or a
/// string comparison per step.
fn in_date_order<'a>(
    n: usize,
    day: impl Fn(usize) -> Day + Sync,
    head: impl Fn(usize) -> IdHead + Sync,
    id: impl Fn(usize) -> std::borrow::Cow<'a, str> + Sync,
    kind: impl Fn(usize) -> &'static str + Sync,
) -> Vec<u32> {
    let cmp = by_day_key(&id, &kind);
    // two keys of one day with equal heads
    let tie = |(la, a): (u32, u32), (lb, b): (u32, u32)| cmp(&(0, 0, 0, la, a), &(0, 0, 0, lb, b));
    let Some((lo, count)) = per_day(n, &|i| Some(day(i))) else {
        let mut keys: Vec<DayKey> = (0..n)
            .map(|i| {
                let (h, l, len) = head(i);
                (day(i), h, l, len, i as u32)
            })
            .collect();
        keys.sort_unstable_by(&cmp);
        return keys.into_iter().map(|k| k.4).collect();
    };
    let span = count.len();
    let mut start = vec![0usize; span + 1];
    for d in 0..span {
        start[d + 1] = start[d] + count[d];
    }
    // the records of each day, in their order
    // (kept by the drill-down: fresh memory, not a spare buffer's)
    let mut idx = vec![0u32; n];
    {
        let mut next = start.clone();
        for i in 0..n {
            let at = &mut next[(day(i) - lo) as usize];
            idx[*at] = i as u32;
            *at += 1;
        }
    }
    // then each day by id, on every core: runs of whole days with about as many records
    let parts = cores_for(n);
    let mut cuts = vec![0usize];
    for j in 1..parts {
        let d = start.partition_point(|&x| x < n * j / parts).min(span);
        if d > cuts[cuts.len() - 1] {
            cuts.push(d);
        }
    }
    cuts.push(span);
    let by_day = |days: std::ops::Range<usize>, mine: &mut [u32]| {
        let base = start[days.start];
        let mut keys = KEYS.take();
        keys.extend(mine.iter().map(|&i| {
            let (h, l, len) = head(i as usize);
            (h, l, len, i)
        }));
        for d in days {
            keys[start[d] - base..start[d + 1] - base].sort_unstable_by(|a, b| {
                (a.0, a.1, a.2)
                    .cmp(&(b.0, b.1, b.2))
                    .then_with(|| tie((a.2, a.3), (b.2, b.3)))
            });
        }
        for (m, k) in mine.iter_mut().zip(&keys) {
            *m = k.3;
        }
        KEYS.give(keys);
    };
    std::thread::scope(|sc| {
        let mut rest = &mut idx[..];
        let by_day = &by_day;
        for w in cuts.windows(2) {
            let (mine, r) = rest.split_at_mut(start[w[1]] - start[w[0]]);
            rest = r;
            let days = w[0]..w[1];
            if w[1] == span {
                by_day(days, mine);
            } else {
                sc.spawn(move || by_day(days, mine));
            }
        }
    });
    idx
}

/// What a pass already knows of a drill-down's records, for [`ends_in_date_order`].
#[derive(Debug, Default)]
struct Known<'e> {
    /// How many fall on each day from the first, as [`per_day`] gives it.
    counted: Option<(Day, Vec<usize>)>,
    /// With `counted`: the records on the first and on the last day (the pages are keyed
    /// from those alone where each of the two days holds a page).
    edges: Option<&'e Edges>,
    /// Only the records at `edges` are at hand (the others were counted, not kept): no
    /// pages unless those two days hold them.
    only_edges: bool,
}

/// The first `want` and the last `want` of the records among `0..n` that have a day (`day`
/// gives `None` for a record left out) in [`in_date_order`]'s order, each in that order,
/// without sorting the rest: a drill-down's first page. `counted`: how many of them fall
/// on each day and where those of the first and last days are, where already known
/// ([`Known`]). Only the records of the days
/// those pages reach are keyed, and the `want` first (last) among them picked by
/// selection. Also returns how many records have a day. `None` when they are few enough
/// (or their days sparse enough) that the whole order costs about as much.
fn ends_in_date_order<'a>(
    n: usize,
    want: usize,
    known: Known,
    day: impl Fn(usize) -> Option<Day> + Sync,
    head: impl Fn(usize) -> IdHead + Sync,
    id: impl Fn(usize) -> std::borrow::Cow<'a, str> + Sync,
    kind: impl Fn(usize) -> &'static str + Sync,
) -> Option<(usize, Vec<u32>, Vec<u32>)> {
    if want == 0 || n <= 4 * want {
        return None;
    }
    let Known {
        counted,
        edges,
        only_edges,
    } = known;
    if only_edges && (counted.is_none() || edges.is_none()) {
        return None;
    }
    let (lo, count) = match counted {
        Some(c) => c,
        None => per_day(n, &day)?,
    };
    let total: usize = count.iter().sum();
    if total <= 4 * want {
        return None;
    }
    // the last day the first `want` reach, and the first day the last `want` reach
    let reach = |days: &mut dyn Iterator<Item = usize>| {
        let mut seen = 0;
        for d in days {
            seen += count[d];
            if seen >= want {
                return d as Day;
            }
        }
        0
    };
    let first_to = lo + reach(&mut (0..count.len()));
    let last_from = lo + reach(&mut (0..count.len()).rev());
    let cmp = by_day_key(&id, &kind);
    // the records of those days, keyed, in one scan on every core
    let key = |i: usize, d: Day| {
        let (h, l, len) = head(i);
        (d, h, l, len, i as u32)
    };
    // each record of those days keyed once, even where the two ranges of days meet (a
    // drill-down into open deals has all its records on the one as-of day)
    let last_day = lo + count.len() as Day - 1;
    let mut keys = match edges {
        Some(e)
            if e.first == lo && e.last == last_day && first_to == lo && last_from == last_day =>
        {
            // the pages' days are the first and the last: their records are known
            let both: &[u32] = if e.first == e.last { &[] } else { &e.at_last };
            let (first, m) = (&e.at_first[..], e.at_first.len());
            keyed(m + both.len(), m + both.len(), |r, out| {
                out.extend(r.filter_map(|j| {
                    let i = if j < m { first[j] } else { both[j - m] } as usize;
                    day(i).map(|d| key(i, d))
                }))
            })
        }
        _ if only_edges => return None,
        _ => {
            let on_pages = |d: Day| d <= first_to || d >= last_from;
            let expected = (0..count.len())
                .filter(|&d| on_pages(lo + d as Day))
                .map(|d| count[d])
                .sum();
            keyed(n, expected, |r, out| {
                out.extend(r.filter_map(|i| day(i).filter(|&d| on_pages(d)).map(|d| key(i, d))))
            })
        }
    };
    let picked = pick_ends(&mut keys, want, &cmp);
    DAY_KEYS.give(keys);
    picked.map(|(low, high)| (total, low, high))
}

/// The keys `fill` puts out for `0..n`, on every core ([`on_runs`]), each run's in a spare
/// buffer ([`DAY_KEYS`]) made room for `expected` of them, the others' added to this
/// thread's. Fresh buffers, grown as they filled, had been a third of the first drill-down
/// into every deal open on a quarter's as-of day at 10M deals (470K keys), in page faults.
fn keyed(
    n: usize,
    expected: usize,
    fill: impl Fn(std::ops::Range<usize>, &mut Vec<DayKey>) + Sync,
) -> Vec<DayKey> {
    let mut parts = on_runs(&runs_of(n), |r| {
        let mut part = DAY_KEYS.take();
        part.reserve(expected);
        fill(r, &mut part);
        part
    });
    // (this thread's run is the last)
    let mut keys = parts.pop().unwrap_or_else(|| DAY_KEYS.take());
    for part in parts {
        keys.extend_from_slice(&part);
        DAY_KEYS.give(part);
    }
    keys
}

/// The `want` lowest and the `want` highest of `keys` by `cmp`, each in order, as record
/// indices (the keys are reordered); `None` when there are fewer than `2 * want`.
fn pick_ends(
    keys: &mut [DayKey],
    want: usize,
    cmp: &impl Fn(&DayKey, &DayKey) -> std::cmp::Ordering,
) -> Option<(Vec<u32>, Vec<u32>)> {
    // the keys hold at least `want` records at each end (and `total > 4 * want`): the
    // highest `want` are picked first, then the lowest `want` among the rest
    if want == 0 || keys.len() < 2 * want {
        return None;
    }
    let rest = keys.len() - want;
    keys.select_nth_unstable_by(rest, cmp);
    let (low, high) = keys.split_at_mut(rest);
    low.select_nth_unstable_by(want - 1, cmp);
    let low = &mut low[..want];
    low.sort_unstable_by(cmp);
    high.sort_unstable_by(cmp);
    let ix = |v: &[DayKey]| v.iter().map(|k| k.4).collect();
    Some((ix(low), ix(high)))
}

/// Scratch of [`in_date_order`] and [`date_order`], kept between drill-downs.
static KEYS: Spare<(u64, u64, u32, u32)> = Spare::new();
static HEADS: Spare<IdHead> = Spare::new();
/// Scratch of [`ends_in_date_order`]: the keys of its pages' days.
static DAY_KEYS: Spare<DayKey> = Spare::new();

/// How many cores to share `n` records between: each takes at least 100,000 (fewer are
/// not worth a thread).
fn cores_for(n: usize) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    threads.min(n / 100_000 + 1)
}

/// `out[i] = f(&src[i])` for every `i`, in runs of at least 100,000 on every core (a
/// drill-down's records number millions; fewer are done on one).
fn on_every_core<T: Send, S: Sync>(out: &mut [T], src: &[S], f: impl Fn(&S) -> T + Sync) {
    let chunk = run_len(out.len());
    let f = &f;
    std::thread::scope(|sc| {
        for (o, x) in out.chunks_mut(chunk).zip(src.chunks(chunk)) {
            sc.spawn(move || {
                for (o, x) in o.iter_mut().zip(x) {
                    *o = f(x);
                }
            });
        }
    });
}

/// `f(run)` for each core's run of `src` (runs of at least 100,000, as
/// `on_every_core`), the answers in `src`'s order: a drill-down's export formats a
/// million records at once, each core's run as text of its own, sent one after the other.
/// A panic in `f` is passed on.
pub fn runs_on_every_core<S: Sync, T: Send>(src: &[S], f: impl Fn(&[S]) -> T + Sync) -> Vec<T> {
    let chunk = run_len(src.len());
    let f = &f;
    std::thread::scope(|sc| {
        let runs: Vec<_> = src
            .chunks(chunk)
            .map(|xs| sc.spawn(move || f(xs)))
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// [`runs_on_every_core`] writing `f(x, text)` for every `x` of a run into its text.
pub fn texts_on_every_core<S: Sync>(src: &[S], f: impl Fn(&S, &mut String) + Sync) -> Vec<String> {
    runs_on_every_core(src, |xs| {
        let mut text = String::new();
        for x in xs {
            f(x, &mut text);
        }
        text
    })
}

/// One record behind a number, formatted for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainRecord {
    pub kind: &'static str,
    pub id: String,
    pub owner: String,
    pub date: String,
    pub detail: String,
    pub amount: Option<i64>,
    /// The record in the CRM, where a link is set for its kind (settings `record_url`,
    /// `record_url_<object>`).
    pub url: Option<String>,
}

/// One record behind a number as the drill-down keeps it: what it contributed and the day
/// it counts on. A company-wide drill-down holds about a million of them, so they are
/// formatted only when shown or exported ([`Explanation::record`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Behind {
    pub contrib: Contribution,
    pub day: Day,
    /// Counted in last year's period (the growth rate's drill-down).
    pub last_year: bool,
}

/// A filter of a drill-down's records: those of one kind ("won", "lead", "call", …), and
/// those that hold a text, in any case, in their kind, id, owner's id or name, date or
/// detail ("incomplete", "Price", "missed", a rep's name). Empty: every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    kind: Option<String>,
    text: Option<String>,
}

impl RecordFilter {
    /// The longest text looked for (characters); a longer one is cut there.
    pub const MAX_TEXT: usize = 200;
    /// A filter from what a user typed: blanks trimmed, an empty part none.
    pub fn new(kind: Option<&str>, text: Option<&str>) -> RecordFilter {
        let part = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(Self::MAX_TEXT).collect::<String>())
        };
        RecordFilter {
            kind: part(kind),
            text: part(text).map(|t| t.to_lowercase()),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.kind.is_none() && self.text.is_none()
    }
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }
    /// The text looked for, lower-cased.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
    /// What tells this filter from another (for a cache's key).
    pub fn key(&self) -> String {
        format!(
            "kind={:?} text={:?}",
            self.kind.as_deref().unwrap_or(""),
            self.text.as_deref().unwrap_or("")
        )
    }
    /// For each of the book's columns of ids, whether one of its ids could hold the text
    /// ([`Ids::may_hold`]): asked once a filtering, so that the ids of a column that
    /// cannot are not read back (a name looked for among activities' ids).
    fn ids_may_hold<'a>(&self, book: &'a Book) -> Vec<(&'a Ids, bool)> {
        let cols = [
            &book.opps.ids,
            &book.leads.ids,
            &book.activities.ids,
            &book.account_ids,
            &book.survey_ids,
        ];
        let t = self.text.as_deref().unwrap_or("");
        cols.into_iter().map(|x| (x, x.may_hold(t))).collect()
    }
    /// Whether record `i` of `ex` passes (the cheap fields first: a detail is formatted
    /// only for a record none of the others holds the text in); `may`: from
    /// [`RecordFilter::ids_may_hold`].
    fn passes(&self, ex: &Explanation, engine: &Engine, i: usize, may: &[(&Ids, bool)]) -> bool {
        let kind = ex.kind(engine, i);
        if self.kind.as_deref().is_some_and(|k| k != kind) {
            return false;
        }
        let Some(t) = self.text.as_deref() else {
            return true;
        };
        let has = |s: &str| holds(s, t);
        // (a packed id read into a buffer on the stack, not a `String` a record; not at all
        // where no id of its column could hold the text)
        let id = match kept_id(&engine.book, &ex.records[i]) {
            Some((ids, j)) => {
                let could = may
                    .iter()
                    .find(|x| std::ptr::eq(x.0, ids))
                    .is_none_or(|x| x.1);
                could && ids.with(j, has)
            }
            None => has(&id_of(&engine.book, &ex.records[i])),
        };
        if has(kind) || id {
            return true;
        }
        let b = &ex.records[i];
        if let Some(p) = owner_ix(engine, b) {
            let person = &engine.book.people[p as usize];
            if has(person.id.as_str()) || has(&person.name) {
                return true;
            }
        }
        // (the day's ten digits on the stack: a `String` for each record had been a tenth
        // of the filter's time)
        let day = match salesorg_core::scorecard::book::day_digits(b.day) {
            Some(d) => has(std::str::from_utf8(&d).unwrap_or_default()),
            None => has(&fmt_day(b.day)),
        };
        day || has(&ex.detail(engine, i))
    }
}

/// Whether `hay` holds `needle` (lower-cased) in any case: byte by byte for an ASCII
/// needle (no copy of the hay), else through the hay lower-cased.
pub fn holds(hay: &str, needle: &str) -> bool {
    if !needle.is_ascii() {
        return hay.to_lowercase().contains(needle);
    }
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    let Some(last_start) = h.len().checked_sub(n.len()) else {
        return false;
    };
    // each place the needle's first byte is, in either case, found by `memchr` (a loop
    // over every byte had been a fifth of a text filter's time), then the rest compared
    let (lower, upper) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut at = 0;
    while at <= last_start {
        let window = &h[at..=last_start];
        let found = if lower == upper {
            memchr::memchr(lower, window)
        } else {
            memchr::memchr2(lower, upper, window)
        };
        let Some(k) = found else {
            return false;
        };
        let p = at + k;
        if h[p..p + n.len()].eq_ignore_ascii_case(n) {
            return true;
        }
        at = p + 1;
    }
    false
}

/// The drill-down behind one KPI of one scope and period.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub kpi: &'static str,
    pub scope: String,
    pub period: Period,
    pub as_of: Date,
    pub value: Value,
    pub formula: &'static str,
    pub inputs: Vec<(&'static str, String)>,
    /// In the pass's order; [`Explanation::nth`] walks them in (date, id, kind) order. A
    /// drill-down made for its first pages ([`explain_ends_in`]) keeps only its first and
    /// last [`ENDS`] here, when it has more (see [`Explanation::complete`]).
    pub records: Vec<Behind>,
    /// How many records are behind the number (all of them, kept or not).
    total: usize,
    /// The positions in `records` of the first and the last [`ENDS`] in (date, id, kind)
    /// order, picked when explained (the pages shown first).
    first: Vec<u32>,
    last: Vec<u32>,
    /// The whole (date, id, kind) order, made the first time a page between the ends (or
    /// an export) asks for it.
    order: std::sync::OnceLock<Vec<u32>>,
    /// A team's or the company's records by the branch they came in through
    /// ([`Explanation::branches`]).
    branches: Option<Vec<Branch>>,
    /// The line of each person listed behind a KPI of people (headcount, active reps,
    /// reps at quota, attrition, span of control), by person: what the number counted of
    /// them, worked out when explained.
    people: Vec<(u32, String)>,
}

/// One branch of a team's or the company's drill-down ([`Explanation::branches`]): the
/// records that came in through one of the leader's direct reports on each record's own
/// day (the org as it was then: a rep who moved mid-quarter counts under the manager of
/// each day), or the leader's own; for the company, through a direct report of the head of
/// the org, a head's own, or from outside the reporting lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The direct report; the leader, for the leader's own records; `None` for the people
    /// in no reporting line (and the company's records of nobody's, such as its own spend).
    pub person: Option<u32>,
    /// A unit's branch: the sub-unit.
    pub unit: Option<u32>,
    /// Whether these are the leader's (a head's) own records, or a unit's direct members'.
    pub leader: bool,
    /// The KPI over this branch: its own formula over the segments that came in through
    /// it, totalled from the drill-down's pass as the direct report's team (a rep's own
    /// book, the leader's own book), so a quota is the one set on that team or book.
    pub value: Value,
    /// The totals its formula reads, as the drill-down's `inputs` (`won_deals`, …).
    pub inputs: Vec<(&'static str, String)>,
    /// How many records; `None` where the drill-down keeps only its first and last days'
    /// records (a company-wide first page), whose pass did not trace the others.
    pub records: Option<u64>,
    /// Per kind of record in the drill-down ("won", "lost", "call", …; "won, last year"
    /// for the growth rate's), the same kinds in the same order in every branch: how many
    /// (0 for a kind this branch has none of), and the sum of their amounts where they
    /// have one (ten-thousandths of the organisation's currency). Empty without records.
    pub kinds: Vec<(String, u64, Option<i128>)>,
}

/// How many records at each end of a drill-down's (date, id, kind) order are put in order
/// when it is explained: two pages of the web app's fifty.
pub const ENDS: usize = 100;

/// The (date, id, kind) order of `records`.
fn date_order(book: &Book, records: &[Behind]) -> Vec<u32> {
    // the ids' keys, read in the pass's order (the books' order: the ids' bytes stream in)
    let mut heads = HEADS.take();
    heads.resize(records.len(), (0, 0, 0));
    on_every_core(&mut heads, records, |r| head_of(book, r));
    let order = in_date_order(
        records.len(),
        |i| records[i].day,
        |i| heads[i],
        |i| id_of(book, &records[i]),
        |i| kind_of(book, &records[i]),
    );
    HEADS.give(heads);
    order
}

impl Explanation {
    /// How many records are behind the number.
    pub fn len(&self) -> usize {
        self.total
    }
    /// Whether no record is behind the number.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
    /// Whether every record is kept (else only the first and last [`ENDS`] in (date, id,
    /// kind) order are: [`explain_ends_in`]).
    pub fn complete(&self) -> bool {
        self.records.len() == self.total
    }
    /// Whether the `k`th record in (date, id, kind) order is at hand (always, when
    /// complete).
    pub fn at_hand(&self, k: usize) -> bool {
        self.complete()
            || k < self.first.len()
            || (k >= self.total - self.last.len() && k < self.total)
    }
    /// Whether the whole (date, id, kind) order has been made (the first and last
    /// [`ENDS`] do not need it).
    pub fn ordered(&self) -> bool {
        self.order.get().is_some()
    }
    /// The position in `records` of the `k`th record in (date, id, kind) order (`engine`
    /// must be the one that explained it). The first and last [`ENDS`] are at hand; any
    /// other puts every record in order once. A drill-down that is not complete has only
    /// its ends: callers ask [`Explanation::at_hand`] first, and get the nearest end for a
    /// position between them.
    pub fn nth(&self, engine: &Engine, k: usize) -> usize {
        if let Some(o) = self.order.get() {
            return o[k] as usize;
        }
        let tail = self.total - self.last.len();
        if k < self.first.len() {
            self.first[k] as usize
        } else if k >= tail {
            self.last[k - tail] as usize
        } else if self.complete() {
            self.order
                .get_or_init(|| date_order(&engine.book, &self.records))[k] as usize
        } else if k < self.total / 2 {
            self.first.last().map_or(0, |&i| i as usize)
        } else {
            self.last.first().map_or(0, |&i| i as usize)
        }
    }
    /// The records of `order` (positions in `records`) that pass `filter`, in that order,
    /// looked at on every core. Every record asked for must be at hand: a filter reads a
    /// complete drill-down.
    pub fn filtered(&self, engine: &Engine, order: &[u32], filter: &RecordFilter) -> Vec<u32> {
        if filter.is_empty() {
            return order.to_vec();
        }
        // every record looked at in the pass's order (the books' order: ids, owners and
        // deals' columns stream in), then `order` walked over the answers: looked at in
        // date order, each record's id, owner and deal were a wait on memory (a company-wide
        // quarter's win rate, ~0.25M records: 0.8 s -> see docs/performance.md, fifty-third
        // session)
        if order.len() == self.records.len() {
            let all: Vec<u32> = (0..self.records.len() as u32).collect();
            let mut pass = vec![false; all.len()];
            let may = filter.ids_may_hold(&engine.book);
            on_every_core(&mut pass, &all, |&i| {
                filter.passes(self, engine, i as usize, &may)
            });
            return order
                .iter()
                .copied()
                .filter(|&i| pass[i as usize])
                .collect();
        }
        let mut pass = vec![false; order.len()];
        let may = filter.ids_may_hold(&engine.book);
        on_every_core(&mut pass, order, |&i| {
            filter.passes(self, engine, i as usize, &may)
        });
        order
            .iter()
            .zip(&pass)
            .filter(|x| *x.1)
            .map(|x| *x.0)
            .collect()
    }
    /// Every position in (date, id, kind) order (a complete drill-down's).
    pub fn in_date_order(&self, engine: &Engine) -> Vec<u32> {
        (0..self.total)
            .map(|k| self.nth(engine, k) as u32)
            .collect()
    }
    /// The kinds of record at hand, in the order first met, each with how many there
    /// are: counted where the drill-down is complete, `None` where it keeps only its ends
    /// (a kind found only between them is not listed).
    pub fn kinds(&self, engine: &Engine) -> Vec<(&'static str, Option<usize>)> {
        let mut out: Vec<(&'static str, usize)> = Vec::new();
        let mut count = |k: &'static str| match out.iter_mut().find(|x| x.0 == k) {
            Some(x) => x.1 += 1,
            None => out.push((k, 1)),
        };
        if self.complete() {
            for i in 0..self.records.len() {
                count(self.kind(engine, i));
            }
        } else {
            for &i in self.first.iter().chain(&self.last) {
                count(self.kind(engine, i as usize));
            }
        }
        let whole = self.complete();
        out.into_iter()
            .map(|(k, n)| (k, whole.then_some(n)))
            .collect()
    }
    /// Record `i`, formatted (`engine` must be the one that explained it).
    pub fn record(&self, engine: &Engine, i: usize) -> ExplainRecord {
        let b = &self.records[i];
        let book = &engine.book;
        ExplainRecord {
            kind: kind_of(book, b),
            id: id_of(book, b).into_owned(),
            owner: owner_of(engine, b).to_owned(),
            date: fmt_day(b.day),
            detail: self.detail(engine, i),
            amount: self.amount(engine, i),
            url: url_of(book, b),
        }
    }
    /// Record `i`'s detail: what it counted as, for the KPI (see [`ExplainRecord`]).
    pub fn detail(&self, engine: &Engine, i: usize) -> String {
        let b = &self.records[i];
        match b.contrib {
            Contribution::Person(p) => self
                .people
                .binary_search_by_key(&p, |x| x.0)
                .map_or_else(|_| String::new(), |at| self.people[at].1.clone()),
            _ => detail_of(
                engine,
                b,
                salesorg_core::scorecard::book::day(self.as_of),
                self.kpi,
            ),
        }
    }
    /// Every record at hand, formatted, in (date, id, kind) order (all of them when
    /// complete).
    pub fn formatted<'a>(&'a self, engine: &'a Engine) -> impl Iterator<Item = ExplainRecord> + 'a {
        (0..self.total)
            .filter(move |&k| self.at_hand(k))
            .map(move |k| self.record(engine, self.nth(engine, k)))
    }
    /// Record `i`'s kind ("won", "lead", "call", …).
    pub fn kind(&self, engine: &Engine, i: usize) -> &'static str {
        kind_of(&engine.book, &self.records[i])
    }
    /// Record `i`'s id in the source.
    pub fn id<'a>(&self, engine: &'a Engine, i: usize) -> std::borrow::Cow<'a, str> {
        id_of(&engine.book, &self.records[i])
    }
    /// Record `i`'s owner's name ("" where it has no owner: [`Explanation::owner`]).
    pub fn owner_name<'a>(&self, engine: &'a Engine, i: usize) -> &'a str {
        owner_ix(engine, &self.records[i])
            .map_or("", |p| engine.book.people[p as usize].name.as_str())
    }
    /// Record `i`'s owner's person id ("" for spend on the company or on a unit nobody
    /// headed).
    pub fn owner<'a>(&self, engine: &'a Engine, i: usize) -> &'a str {
        owner_of(engine, &self.records[i])
    }
    /// Record `i`'s amount: a closed deal's at close, an open or created deal's converted on
    /// the as-of day, spend's; none for the rest.
    pub fn amount(&self, engine: &Engine, i: usize) -> Option<i64> {
        amount_of(engine, &self.records[i], self.as_of, &self.period)
    }
    /// A team's or the company's records by the branch of its tree they came in through,
    /// on each record's own day, each with its value of the KPI and its formula's inputs:
    /// the leader's own first, then each direct report's by how many records (most first;
    /// then by name), those outside the reporting lines last; a unit's by sub-unit, its
    /// direct members first. Each record is in exactly one branch, so the branches'
    /// records, amounts and sums add up to the drill-down's. `None` for a person. The records are counted from the pass's trace when
    /// the drill-down is made, so a first page that keeps only its ends has them too, but
    /// for the company's (see [`Branch::records`]).
    pub fn branches(&self) -> Option<&[Branch]> {
        self.branches.as_deref()
    }
}

/// How many records of each kind, and their amount where they have one.
type PerKind = Vec<(u64, Option<i128>)>;

/// Counts of a drill-down's records per branch (a row per part, and one for records of
/// nobody's) and kind of record, over some of them.
struct Tally {
    /// Each kind of record met: its key ([`Contribution::tally_key`]: its rank among
    /// [`Contribution`]'s, an activity's kind, last year's) and its name.
    kinds: Vec<(u8, &'static str)>,
    /// The position in `kinds` of each key met (`u8::MAX`: none yet).
    at: [u8; 256],
    /// Per row, per kind, how many and their amount.
    rows: Vec<PerKind>,
}

impl Tally {
    fn new(rows: usize) -> Tally {
        Tally {
            kinds: Vec::new(),
            at: [u8::MAX; 256],
            rows: vec![Vec::new(); rows],
        }
    }
    fn kind(&mut self, key: u8, name: impl FnOnce() -> &'static str) -> usize {
        let slot = usize::from(key);
        match self.at[slot] {
            u8::MAX => {
                self.kinds.push((key, name()));
                self.at[slot] = (self.kinds.len() - 1) as u8;
                self.kinds.len() - 1
            }
            k => usize::from(k),
        }
    }
    fn add(&mut self, r: usize, k: usize, n: u64, amount: Option<i128>) {
        let row = &mut self.rows[r];
        if row.len() <= k {
            row.resize(k + 1, (0, None));
        }
        row[k].0 += n;
        if let Some(a) = amount {
            row[k].1 = Some(row[k].1.unwrap_or(0) + a);
        }
    }
}

/// Each segment's row of the pass's branch counts ([`Want::rows`]) for a drill-down into
/// `in_scope`'s segments: its part's, one row after the parts' where it is in the scope
/// but in none of them (counted by day and kept, not counted by branch), `u32::MAX`
/// outside the scope (or the lens).
fn branch_rows(
    engine: &Engine,
    parts: &[salesorg_core::scorecard::BranchPart],
    in_scope: impl Fn(u32) -> bool,
) -> Vec<u32> {
    let segs = &engine.segs;
    let mut rows = vec![u32::MAX; segs.len()];
    for (s, row) in rows.iter_mut().enumerate() {
        if in_scope(s as u32) {
            *row = parts.len() as u32 + 1;
        }
    }
    for (i, part) in parts.iter().enumerate() {
        for &s in &part.segments {
            if rows[s as usize] != u32::MAX {
                rows[s as usize] = i as u32;
            }
        }
    }
    rows
}

/// A drill-down's records counted by branch ([`Explanation::branches`]): the pass counted
/// its traced records by part (`counted`, by each segment's row in `rows`, made by
/// [`branch_rows`]; its row after the parts' is dropped). An `extra` record (a quota row,
/// spend on the company) is its owner's part on its day, or of nobody's: the part outside
/// the reporting lines, else the row after the parts'.
fn count_branches(
    engine: &Engine,
    parts: &[salesorg_core::scorecard::BranchPart],
    rows: &[u32],
    as_of: Date,
    period: &Period,
    counted: &Tallies,
    extra: &[Behind],
) -> Tally {
    let book = &engine.book;
    let segs = &engine.segs;
    let as_of_day = salesorg_core::scorecard::day(as_of);
    let mut t = Tally::new(parts.len() + 1);
    // the pass's counts, kinds named by a record of each
    for (key, sample) in counted.sample.iter().enumerate() {
        let Some(c) = sample else { continue };
        let b = Behind {
            contrib: *c,
            day: NO_DAY,
            last_year: Tallies::last_year_of(key as u8),
        };
        let k = t.kind(key as u8, || kind_of(book, &b));
        for r in 0..parts.len().min(counted.rows()) {
            let at = r * Tallies::KEYS + key;
            if counted.n[at] > 0 {
                t.add(r, k, counted.n[at], counted.amount[at]);
            }
        }
    }
    // records of nobody's (the company's own spend) go with those outside the reporting
    // lines, or to a row of their own after the parts'
    let nobody = parts
        .iter()
        .position(|x| x.person.is_none() && x.unit.is_none() && !x.own)
        .unwrap_or(parts.len());
    for b in extra {
        // (a quota row counts for the people in scope on the period's first day, whenever
        // the quota itself starts)
        let day = match b.contrib {
            Contribution::Quota(_) => salesorg_core::scorecard::day(period.start),
            _ if b.day == NO_DAY => as_of_day,
            _ => b.day,
        };
        let r = owner_ix(engine, b)
            .filter(|&p| !segs.of_person(p).is_empty())
            .and_then(|p| rows.get(segs.at(p, day) as usize))
            .filter(|&&r| (r as usize) < parts.len())
            .map_or(nobody, |&r| r as usize);
        let key = b.contrib.tally_key(book, b.last_year);
        let k = t.kind(key, || kind_of(book, b));
        let amount = amount_of(engine, b, as_of, period).map(i128::from);
        t.add(r, k, 1, amount);
    }
    t
}

/// The branches of a drill-down ([`Explanation::branches`]) from its `parts`, each one's
/// value and inputs (`values`, in the parts' order) and, where the trace held every
/// record, their counts.
fn branches_of(
    engine: &Engine,
    parts: &[salesorg_core::scorecard::BranchPart],
    values: Vec<(Value, Vec<(&'static str, String)>)>,
    counted: Option<Tally>,
) -> Vec<Branch> {
    let book = &engine.book;
    // kinds in the order of the contributions (won before lost), last year's after
    let (kinds, rows) = match counted {
        Some(t) => (t.kinds, Some(t.rows)),
        None => (Vec::new(), None),
    };
    let mut order: Vec<usize> = (0..kinds.len()).collect();
    order.sort_by_key(|&k| {
        let key = kinds[k].0;
        (
            Tallies::last_year_of(key),
            Tallies::rank_of(key),
            kinds[k].1,
        )
    });
    let kinds_of = |row: &PerKind| -> Vec<(String, u64, Option<i128>)> {
        order
            .iter()
            .map(|&k| {
                let (n, a) = row.get(k).copied().unwrap_or((0, None));
                let (key, kind) = kinds[k];
                let name = if Tallies::last_year_of(key) {
                    format!("{kind}, last year")
                } else {
                    kind.to_owned()
                };
                (name, n, a)
            })
            .collect()
    };
    let mut out: Vec<Branch> = parts
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (part, (value, inputs)))| {
            let row = rows.as_ref().and_then(|r| r.get(i));
            Branch {
                person: part.person,
                unit: part.unit,
                leader: part.own,
                value,
                inputs,
                records: row.map(|r| r.iter().map(|x| x.0).sum()),
                kinds: row.map(&kinds_of).unwrap_or_default(),
            }
        })
        .collect();
    // records of nobody's where there is no row outside the lines to take them
    if let Some(row) = rows.as_ref().and_then(|r| r.get(parts.len())) {
        out.push(Branch {
            person: None,
            unit: None,
            leader: false,
            value: Value::Null(kpi::Why::NotComputed),
            inputs: Vec::new(),
            records: Some(row.iter().map(|x| x.0).sum()),
            kinds: kinds_of(row),
        });
    }
    // a branch with nothing in it: no row
    let zero = |v: &String| {
        v.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
    };
    out.retain(|b| match b.records {
        Some(n) => n > 0,
        None => !matches!(b.value, Value::Null(_)) || !b.inputs.iter().all(|(_, v)| zero(v)),
    });
    let name = |b: &Branch| match (b.person, b.unit) {
        (Some(p), _) => Some(book.people[p as usize].name.as_str()),
        (None, Some(u)) => Some(book.units[u as usize].name.as_str()),
        _ => None,
    };
    let key = |b: &Branch| {
        let n = name(b);
        (
            !b.leader,
            n.is_none(),
            std::cmp::Reverse(b.records),
            n,
            b.person,
        )
    };
    out.sort_by(|a, b| key(a).cmp(&key(b)));
    out
}

/// Record `b`'s amount ([`Explanation::amount`]) in a drill-down as of `as_of` over `period`.
fn amount_of(engine: &Engine, b: &Behind, as_of: Date, period: &Period) -> Option<i64> {
    let book = &engine.book;
    match b.contrib {
        // (the part of it that counts for the period, where quotas are pro-rated)
        Contribution::Quota(q) => book.quota_share(
            &book.quotas[q as usize],
            salesorg_core::scorecard::day(period.start),
            salesorg_core::scorecard::day(period.whole_end),
        ),
        c => c.shown_amount(book, salesorg_core::scorecard::day(as_of)),
    }
}

/// A drill-down's branches ([`Explanation::branches`]) as a JSON array, for the CLI and
/// the API: each branch's `person` (its id; `null` outside the reporting lines) or `unit`
/// (a unit's sub-unit), `name`, `leader` (the leader's own records; a unit's direct
/// members, with neither person nor unit), its `value` of the KPI as the scorecard writes it,
/// its formula's `inputs`, `records` (`null` where not counted), and per kind it has its
/// `count` and `amount` (a decimal string in the organisation's currency; `null` for a
/// kind without amounts).
pub fn branches_json(engine: &Engine, branches: &[Branch]) -> String {
    let mut s = String::from("[");
    for (i, b) in branches.iter().enumerate() {
        let (id, unit, name) = match (b.person, b.unit) {
            (Some(p), _) => {
                let p = &engine.book.people[p as usize];
                (
                    json_str(p.id.as_str()),
                    "null".to_owned(),
                    json_str(&p.name),
                )
            }
            (None, Some(u)) => {
                let u = &engine.book.units[u as usize];
                (
                    "null".to_owned(),
                    json_str(u.id.as_str()),
                    json_str(&u.name),
                )
            }
            (None, None) => ("null".to_owned(), "null".to_owned(), "null".to_owned()),
        };
        let inputs: Vec<String> = b
            .inputs
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
            .collect();
        let records = b.records.map_or("null".to_owned(), |n| n.to_string());
        let _ = write!(
            s,
            "{}{{\"person\":{id},\"unit\":{unit},\"name\":{name},\"leader\":{},\"value\":{},\"inputs\":{{{}}},\"records\":{records},\"kinds\":[",
            if i > 0 { "," } else { "" },
            b.leader,
            b.value.to_json(),
            inputs.join(",")
        );
        for (j, (kind, n, amount)) in b.kinds.iter().filter(|k| k.1 > 0).enumerate() {
            let amount = amount.map_or("null".to_owned(), |a| json_str(&kpi::fmt_fixed(a, 4, 2)));
            let _ = write!(
                s,
                "{}{{\"kind\":{},\"count\":{n},\"amount\":{amount}}}",
                if j > 0 { "," } else { "" },
                json_str(kind)
            );
        }
        s.push_str("]}");
    }
    s.push(']');
    s
}

/// A branch's kinds in a line, those it has none of left out: `won 2 (3110.00) · lost 1
/// (500.00) · call 12`.
pub fn branch_kinds_text(b: &Branch) -> String {
    b.kinds
        .iter()
        .filter(|k| k.1 > 0)
        .map(|(kind, n, amount)| match amount {
            Some(a) => format!("{kind} {n} ({})", kpi::fmt_fixed(*a, 4, 2)),
            None => format!("{kind} {n}"),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The day a record counts on, worked out from the record alone: a deal's close or
/// created day, an as-of day for a deal open on it, the day a stage was entered or left,
/// a lead's or an activity's day, a customer's first win. The pass traces each record
/// with its day; debug builds (the tests) check the two agree.
fn day_of(book: &Book, c: &Contribution, asof: Day) -> Day {
    let o = &book.opps;
    match *c {
        Contribution::Won(i) | Contribution::Lost(i) => o.close[i as usize],
        Contribution::Created(i) => o.created[i as usize],
        Contribution::Open(_) | Contribution::OpenOutside(_) => asof,
        Contribution::StageEntered(_, r) => book.history.day[r as usize],
        // row `r` is the stage left: it was left on the next row's day, or on the close
        // day when the history stops in it (where the pass attributes the exit)
        Contribution::StageLeft(i, r) => {
            let next = r as usize + 1;
            if next < o.hist_off[i as usize + 1] as usize {
                book.history.day[next]
            } else {
                o.close[i as usize]
            }
        }
        Contribution::Lead(i) => book.leads.created_day[i as usize],
        Contribution::Activity(i) => book.activities.day[i as usize],
        Contribution::Customer(a) | Contribution::Cohort(a) => book.accounts[a as usize].first_won,
        Contribution::Survey(s) => book.surveys[s as usize].day,
        Contribution::Spend(x) => book.spend[x as usize].day,
        Contribution::Quota(q) => book.quotas[q as usize].start,
        Contribution::Person(_) => NO_DAY,
    }
}

fn kind_of(book: &Book, b: &Behind) -> &'static str {
    match b.contrib {
        Contribution::Won(_) => "won",
        Contribution::Lost(_) => "lost",
        Contribution::Created(_) => "created",
        Contribution::Open(_) => "open",
        Contribution::OpenOutside(_) => "open, due outside the period",
        Contribution::StageEntered(..) => "entered stage",
        Contribution::StageLeft(..) => "left stage",
        Contribution::Lead(_) => "lead",
        Contribution::Activity(i) => book.activities.kind[i as usize].as_str(),
        Contribution::Customer(_) => "customer",
        Contribution::Cohort(_) => "start cohort",
        Contribution::Survey(_) => "survey",
        Contribution::Spend(_) => "spend",
        Contribution::Quota(_) => "quota",
        Contribution::Person(_) => "person",
    }
}

/// Where a record's id is kept: its kind's ids and its index there (`None` for spend
/// and people, whose ids are made or held elsewhere).
#[inline]
fn kept_id<'a>(book: &'a Book, b: &Behind) -> Option<(&'a Ids, usize)> {
    match b.contrib {
        Contribution::Won(i)
        | Contribution::Lost(i)
        | Contribution::Created(i)
        | Contribution::Open(i)
        | Contribution::OpenOutside(i)
        | Contribution::StageEntered(i, _)
        | Contribution::StageLeft(i, _) => Some((&book.opps.ids, i as usize)),
        Contribution::Lead(i) => Some((&book.leads.ids, i as usize)),
        Contribution::Activity(i) => Some((&book.activities.ids, i as usize)),
        Contribution::Customer(a) | Contribution::Cohort(a) => {
            Some((&book.account_ids, a as usize))
        }
        Contribution::Survey(s) => Some((&book.survey_ids, s as usize)),
        Contribution::Spend(_) | Contribution::Person(_) | Contribution::Quota(_) => None,
    }
}

/// The sort key of [`id_of`], read from the ids' bytes.
#[inline]
fn head_of(book: &Book, b: &Behind) -> IdHead {
    match kept_id(book, b) {
        Some((ids, i)) => ids.head(i),
        None => id_head(id_of(book, b).as_bytes()),
    }
}

/// The link to record `b` in the CRM, when one is set for its kind (spend, quotas and
/// people are salesorg's own: none).
fn url_of(book: &Book, b: &Behind) -> Option<String> {
    use salesorg_core::settings::RecordObject as O;
    let object = match b.contrib {
        Contribution::Won(_)
        | Contribution::Lost(_)
        | Contribution::Created(_)
        | Contribution::Open(_)
        | Contribution::OpenOutside(_)
        | Contribution::StageEntered(..)
        | Contribution::StageLeft(..) => O::Opportunity,
        Contribution::Lead(_) => O::Lead,
        Contribution::Activity(_) => O::Activity,
        Contribution::Customer(_) | Contribution::Cohort(_) => O::Account,
        Contribution::Survey(_) => O::Survey,
        Contribution::Spend(_) | Contribution::Person(_) | Contribution::Quota(_) => return None,
    };
    let (ids, i) = kept_id(book, b)?;
    ids.with(i, |id| book.settings.record_urls.link(object, id))
}

fn id_of<'a>(book: &'a Book, b: &Behind) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    match (kept_id(book, b), b.contrib) {
        (Some((ids, i)), _) => ids.get(i),
        (None, Contribution::Person(p)) => Cow::Borrowed(book.people[p as usize].id.as_str()),
        (None, Contribution::Spend(x)) => Cow::Owned(format!("spend#{x}")),
        (None, Contribution::Quota(x)) => Cow::Owned(format!("quota#{x}")),
        (None, _) => Cow::Borrowed(""),
    }
}

fn owner_of<'a>(engine: &'a Engine, b: &Behind) -> &'a str {
    owner_ix(engine, b).map_or("", |p| engine.book.people[p as usize].id.as_str())
}

/// Record `b`'s owner: the person its id names (`None` for spend on the company or on a
/// unit nobody headed, and a quota set on a unit).
fn owner_ix(engine: &Engine, b: &Behind) -> Option<u32> {
    let book = &engine.book;
    Some(match b.contrib {
        Contribution::Won(i)
        | Contribution::Lost(i)
        | Contribution::Created(i)
        | Contribution::Open(i)
        | Contribution::OpenOutside(i)
        | Contribution::StageEntered(i, _)
        | Contribution::StageLeft(i, _) => book.opps.owner_of(i as usize),
        Contribution::Lead(i) => book.leads.owner_of(i as usize),
        Contribution::Activity(i) => book.activities.owner_of(i as usize),
        Contribution::Customer(a) | Contribution::Cohort(a) => book.accounts[a as usize].owner,
        Contribution::Survey(s) => book.accounts[book.surveys[s as usize].account as usize].owner,
        // (a unit's spend is its head's)
        Contribution::Spend(x) => match engine.spend_owners[x as usize] {
            salesorg_core::scorecard::NONE => return None,
            p => p,
        },
        Contribution::Person(p) => p,
        Contribution::Quota(q) => match book.quotas[q as usize].target {
            QuotaOn::Person(p) | QuotaOn::Team(p) => p,
            QuotaOn::Unit(_) => return None,
        },
    })
}

/// What a record was, in a line; as the drill-down's number read it on the as-of day
/// `as_of` where that differs from what it is now (a lead answered, converted or followed
/// up only later).
fn detail_of(engine: &Engine, b: &Behind, as_of: Day, kpi: &str) -> String {
    let book = &engine.book;
    let o = &book.opps;
    let mut detail = match b.contrib {
        // as it was on the as-of day, what the pipeline read, and what it is now
        Contribution::Open(i) | Contribution::OpenOutside(i) => {
            let i = i as usize;
            let then = salesorg_core::scorecard::pass::open_state(book, i, b.day);
            let forecast = match then.forecast {
                0 => String::new(),
                f => format!(
                    " · {}",
                    salesorg_core::scorecard::book::FORECAST_CATEGORIES[f as usize - 1]
                        .replace('_', " ")
                ),
            };
            // (its amount weighted by its probability then, as the weighted pipeline adds
            // it up before its one rounding)
            let weighted = then
                .amount
                .map(|x| book.convert_shown(x, o.currency[i], b.day))
                .map(|x| {
                    let w = i128::from(x) * i128::from(then.probability_bp);
                    format!(
                        " (weighted {})",
                        kpi::fmt_fixed(salesorg_core::scorecard::book::div_round(w, 10_000), 4, 2)
                    )
                })
                .unwrap_or_default();
            let mut detail = format!(
                "stage {}{forecast} · close {} · probability {}%{weighted} on {}",
                book.stages[then.stage as usize].name,
                DayShown(then.close),
                then.probability_bp / 100,
                DayShown(b.day)
            );
            if kpi == "data_completeness_share" {
                // (what the share asks of it, and what it lacked then)
                let lacks = salesorg_core::scorecard::pass::incomplete(
                    book,
                    i,
                    then.amount,
                    then.close,
                    b.day,
                );
                if lacks.is_empty() {
                    detail.push_str(" · complete");
                } else {
                    let _ = write!(detail, " · incomplete: {}", lacks.join(", "));
                }
            } else if then.amount.is_none() {
                detail.push_str(" · no amount");
            }
            if salesorg_core::scorecard::pass::stale(then.touched, b.day) {
                detail.push_str(" · stale");
            }
            if o.status[i] != OppStatus::Open || o.close[i] != then.close {
                let _ = write!(
                    detail,
                    " · now {}, close {}",
                    o.status[i].as_str(),
                    DayShown(o.close[i])
                );
            }
            detail
        }
        Contribution::Won(i) | Contribution::Lost(i) | Contribution::Created(i) => {
            let i = i as usize;
            // (a deal created in the period and won after the as-of day was not won then,
            // as `opp_conversion_rate` counts it)
            let later = matches!(b.contrib, Contribution::Created(_))
                && o.status[i] == OppStatus::Won
                && (o.close[i] == NO_DAY || o.close[i] > as_of);
            // (the status written where the detail is: a `String` of its own for each
            // record had been a share of a large export's time)
            let mut detail = String::with_capacity(96);
            if later {
                let _ = write!(detail, "not won by {} (won later)", DayShown(as_of));
            } else {
                detail.push_str(o.status[i].as_str());
            }
            let _ = write!(
                detail,
                " · stage {} · close {}",
                book.stages[o.stage[i] as usize].name,
                DayShown(o.close[i])
            );
            if o.created[i] != NO_DAY && o.status[i] == OppStatus::Won {
                let _ = write!(
                    detail,
                    " · created {} · cycle {} d",
                    DayShown(o.created[i]),
                    o.close[i] - o.created[i]
                );
            }
            if o.loss_reason[i] != u16::MAX {
                let _ = write!(
                    detail,
                    " · reason {}",
                    book.loss_reasons[o.loss_reason[i] as usize]
                );
            }
            detail
        }
        // (and whether it advanced past the stage by the as-of day: what the rate counts)
        Contribution::StageEntered(i, r) => {
            let (i, r) = (i as usize, r as usize);
            format!(
                "{} · {} by {} · now {} ({})",
                book.stages[book.history.stage[r] as usize].name,
                if engine.advanced_by(i, r, as_of) {
                    "advanced"
                } else {
                    "not advanced"
                },
                DayShown(as_of),
                book.stages[o.stage[i] as usize].name,
                o.status[i].as_str()
            )
        }
        // the stay the average counts: from the row that entered the stage to the exit
        Contribution::StageLeft(i, r) => {
            let (i, r) = (i as usize, r as usize);
            let h = &book.history;
            let from = h.day[h.stay_start(r)];
            format!(
                "{} for {} days from {} · now {} ({})",
                book.stages[h.stage[r] as usize].name,
                (b.day - from).max(0),
                DayShown(from),
                book.stages[o.stage[i] as usize].name,
                o.status[i].as_str()
            )
        }
        // (each as the lead KPIs count it: by the as-of day, so that the records' follow-ups
        // add up to the number's; what came later is said after it)
        Contribution::Lead(i) => {
            let l = &book.leads;
            let i = i as usize;
            let secs = l.response_secs[i];
            let by = DayShown(as_of);
            let response = if secs == NO_RESPONSE {
                "never answered".to_string()
            } else {
                let after = format!(
                    "first response after {} min",
                    kpi::fmt_fixed(i128::from(secs) * 10_000 / 60, 4, 1)
                );
                if salesorg_core::scorecard::pass::answered_by(l, i, as_of) {
                    after
                } else {
                    format!("not answered by {by} ({after})")
                }
            };
            // (in the SLA share's: whether the response counted as within the SLA; none by
            // the as-of day is a miss)
            let response = if kpi == "lead_response_sla_share" {
                let met = salesorg_core::scorecard::pass::answered_by(l, i, as_of)
                    && salesorg_core::scorecard::pass::within_sla(
                        secs,
                        salesorg_core::scorecard::pass::sla_secs(book),
                    );
                let sla = book.settings.lead_sla_minutes;
                if met {
                    format!("{response} · within the {sla}-min SLA")
                } else {
                    format!("{response} · missed the {sla}-min SLA")
                }
            } else {
                response
            };
            let converted = match l.converted[i] {
                NO_DAY => "not converted".to_string(),
                c if c <= as_of => format!("converted {}", DayShown(c)),
                c => format!("not converted by {by} (converted {})", DayShown(c)),
            };
            let acts = &l.act_days[l.act_off[i] as usize..l.act_off[i + 1] as usize];
            let n = acts.iter().filter(|&&d| d <= as_of).count();
            let mut followups = format!("{n} follow-up{}", if n == 1 { "" } else { "s" });
            if acts.len() > n {
                let _ = write!(followups, " by {by} ({} in all)", acts.len());
            }
            format!("{response} · {converted} · {followups}")
        }
        Contribution::Activity(_) => String::new(),
        Contribution::Customer(ai) | Contribution::Cohort(ai) => {
            let a = &book.accounts[ai as usize];
            if a.churned == NO_DAY {
                "active".into()
            } else {
                format!("churned {}", DayShown(a.churned))
            }
        }
        Contribution::Survey(si) => {
            let s = &book.surveys[si as usize];
            format!(
                "account {} · score {:.3}",
                book.account_ids.get(s.account as usize),
                { s.score }
            )
        }
        Contribution::Spend(xi) => {
            use salesorg_core::scorecard::book::SpendTarget;
            match book.spend[xi as usize].target {
                SpendTarget::Person(_) => String::new(),
                SpendTarget::Unit(u) => match engine.spend_owners[xi as usize] {
                    salesorg_core::scorecard::NONE => format!("unit {}", book.units[u as usize].id),
                    head => format!(
                        "unit {}, headed by {}",
                        book.units[u as usize].id, book.people[head as usize].name
                    ),
                },
                SpendTarget::Company => "company".into(),
            }
        }
        Contribution::Person(_) => String::new(),
        Contribution::Quota(qi) => {
            let q = &book.quotas[qi as usize];
            let on = match q.target {
                QuotaOn::Person(_) => "own book".to_owned(),
                QuotaOn::Team(p) => format!("set on {}'s team", book.people[p as usize].name),
                QuotaOn::Unit(u) => format!("set on unit {}", book.units[u as usize].id),
            };
            format!("{on} · {}..{}", DayShown(q.start), DayShown(q.end))
        }
    };
    if b.last_year {
        detail.push_str(" · (last year)");
    }
    detail
}

/// The totals a drill-down of `k` lists among its inputs: those its formula reads
/// ([`formula`]), so that "why is my win rate 0.34?" answers with the won and lost deals,
/// not also the period's bookings, rep-days and new customers. A KPI whose inputs are
/// none of these totals (headcount, churn, the tables but loss reasons) lists none but its
/// target.
fn formula_inputs(k: &str) -> &'static [&'static str] {
    match k {
        "bookings" | "avg_deal_size" => &["won_deals", "bookings"],
        "won_deals" | "sales_cycle_days" | "sales_cycle_days_median" => &["won_deals"],
        "lost_deals" | "loss_reasons" => &["lost_deals"],
        "win_rate" => &["won_deals", "lost_deals"],
        "win_rate_value" => &["won_deals", "lost_deals", "bookings", "lost_amount"],
        "revenue_growth_yoy" => &["bookings"],
        "opps_created" | "pipeline_created" => &["opps_created"],
        "opp_conversion_rate" => &["created_won", "opps_created"],
        "pipeline_open" | "pipeline_weighted" => &["pipeline_open"],
        "stale_pipeline_share" => &["stale_amount", "pipeline_open"],
        "data_completeness_share" => &["open_complete", "open_deals"],
        "pipeline_coverage" => &["pipeline_open", "bookings", "quota"],
        "quota" => &["quota"],
        "quota_attainment" => &["bookings", "quota"],
        "calls" => &["calls"],
        "calls_per_rep_day" => &["rep_calls", "rep_days"],
        "leads_created" => &["leads_created"],
        "lead_conversion_rate" => &["leads_converted", "leads_created"],
        "lead_response_minutes_median" => &["leads_answered", "leads_created"],
        "lead_response_sla_share" => &["leads_in_sla", "leads_created"],
        "followups_per_lead" => &["followups", "leads_created"],
        "rep_attrition_rate" => &["reps_left", "reps_start", "reps_end"],
        "reps_at_quota_share" => &["reps_at_quota", "reps_with_quota"],
        "logo_churn_rate" | "logo_retention_rate" => &["customers_churned", "customers_start"],
        "csat_avg" => &["surveys"],
        "new_customers" => &["new_customers"],
        "sales_marketing_spend" => &["spend"],
        "cac" | "ltv_cac_ratio" => &["spend", "new_customers"],
        "cost_per_opportunity" => &["spend", "opps_created"],
        "cost_per_sale" => &["spend", "won_deals"],
        _ => &[],
    }
}

/// Which contributions feed a KPI: decided once per drill-down, then tested per record
/// (the drill-down's pass asks for each of a million contributions).
#[derive(Debug, Clone, Copy)]
struct Feeds {
    /// One bit per kind of contribution ([`Contribution::kind_bit`]).
    mask: u16,
    /// Won deals count only when they won the account its first time.
    first_won_only: bool,
    /// Activities count only when they are calls (`calls`), and only a rep's
    /// (`calls_per_rep_day`): the emails and tasks of the scope had been listed behind
    /// its calls too (131 records behind 78 calls).
    calls: Option<bool>,
}

impl Feeds {
    fn of(k: &str) -> Feeds {
        use Contribution as C;
        let bits = |cs: &[Contribution]| cs.iter().fold(0, |m, c| m | c.kind_bit());
        let (kinds, first_won_only): (&[Contribution], bool) = match k {
            "bookings"
            | "won_deals"
            | "avg_deal_size"
            | "sales_cycle_days"
            | "sales_cycle_days_median"
            | "quota_attainment"
            | "revenue_growth_yoy"
            | "cost_per_sale" => (&[C::Won(0)], false),
            "lost_deals" | "loss_reasons" => (&[C::Lost(0)], false),
            "win_rate" | "win_rate_value" => (&[C::Won(0), C::Lost(0)], false),
            "opps_created"
            | "pipeline_created"
            | "opp_conversion_rate"
            | "cost_per_opportunity" => (&[C::Created(0)], false),
            "pipeline_open" | "pipeline_weighted" | "stale_pipeline_share" => {
                (&[C::Open(0)], false)
            }
            // (every deal open on the as-of day, whenever it was due)
            "data_completeness_share" => (&[C::Open(0), C::OpenOutside(0)], false),
            "pipeline_coverage" => (&[C::Open(0), C::Won(0)], false),
            "new_customers" => (&[C::Won(0)], true),
            "cac" | "ltv_cac_ratio" => (&[C::Spend(0), C::Won(0)], true),
            "sales_marketing_spend" => (&[C::Spend(0)], false),
            "calls" | "activities" | "calls_per_rep_day" => (&[C::Activity(0)], false),
            "leads_created"
            | "lead_conversion_rate"
            | "lead_response_minutes_median"
            | "lead_response_sla_share"
            | "followups_per_lead" => (&[C::Lead(0)], false),
            // the accounts active at the end, the start cohort (which churned or stayed),
            // and both for ltv (its churn and its average customers)
            "active_customers" => (&[C::Customer(0)], false),
            "logo_churn_rate" | "logo_retention_rate" => (&[C::Cohort(0)], false),
            "ltv" => (&[C::Customer(0), C::Cohort(0)], false),
            "csat_avg" => (&[C::Survey(0)], false),
            "stage_conversion" => (&[C::StageEntered(0, 0)], false),
            "days_in_stage_avg" => (&[C::StageLeft(0, 0)], false),
            _ => (&[], false),
        };
        Feeds {
            mask: bits(kinds),
            first_won_only,
            calls: match k {
                "calls" => Some(false),
                "calls_per_rep_day" => Some(true),
                _ => None,
            },
        }
    }
    #[inline]
    fn test(&self, c: &Contribution, book: &Book) -> bool {
        self.mask & c.kind_bit() != 0
            && match c {
                Contribution::Won(i) if self.first_won_only => book
                    .opps
                    .has(*i as usize, salesorg_core::scorecard::book::F_FIRST_WON),
                Contribution::Activity(i) => match self.calls {
                    Some(reps_only) => {
                        let a = &book.activities;
                        a.has_call(*i as usize)
                            && (!reps_only || book.people[a.owner_of(*i as usize) as usize].rep)
                    }
                    None => true,
                },
                _ => true,
            }
    }
}

/// The formula of a KPI as text, for `explain`.
pub fn formula(k: &str) -> &'static str {
    match k {
        "bookings" => "sum of amount of won deals closed in the period",
        "won_deals" => "count of won deals closed in the period",
        "lost_deals" => "count of lost deals closed in the period",
        "win_rate" => "won_deals / (won_deals + lost_deals)",
        "win_rate_value" => "won amount / (won amount + lost amount)",
        "avg_deal_size" => "bookings / won_deals",
        "sales_cycle_days" => "mean of (close − created) days over won deals",
        "sales_cycle_days_median" => "median of (close − created) days over won deals",
        "revenue_growth_yoy" => "(bookings − bookings a year earlier) / bookings a year earlier",
        "opps_created" => "count of opportunities created in the period",
        "pipeline_created" => "sum of amount of opportunities created in the period",
        "pipeline_open" => "sum of amount of deals open on the as-of date closing in the period",
        "pipeline_weighted" => "sum of amount × probability over pipeline_open",
        "pipeline_coverage" => "pipeline_open / (quota − bookings to date)",
        "stale_pipeline_share" => {
            "amount not modified in the 30 days to the as-of date / pipeline_open"
        }
        "quota" => "quota set on the scope, else own-book quotas of the reps in scope on day one",
        "quota_attainment" => "bookings / quota",
        "reps_at_quota_share" => "active reps at ≥ 100 % of own quota / active reps with a quota",
        "active_reps" => "quota-carrying people in scope employed on a day of the period",
        "headcount" => "people in scope on the period's last day",
        "rep_attrition_rate" => "reps who left / mean(reps at start, reps at end)",
        "span_of_control" => "the leader's direct reports on the as-of date",
        "calls" => "count of calls in the period",
        "activities" => "count of activities in the period",
        "calls_per_rep_day" => "calls by active reps / their working days in scope",
        "leads_created" => "count of leads created in the period",
        "lead_conversion_rate" => "leads converted by the as-of date / leads_created",
        "lead_response_minutes_median" => "median minutes from creation to first activity",
        "lead_response_sla_share" => "leads answered within the SLA / leads_created",
        "followups_per_lead" => "activities on the period's leads / leads_created",
        "opp_conversion_rate" => {
            "opportunities created in the period won by the as-of date / opps_created"
        }
        "new_customers" => "accounts whose first won deal closed in the period",
        "sales_marketing_spend" => {
            "cost entries dated in the period, assigned to the scope or below"
        }
        "cac" => "sales_marketing_spend / new_customers",
        "cost_per_opportunity" => "sales_marketing_spend / opps_created",
        "cost_per_sale" => "sales_marketing_spend / won_deals",
        "active_customers" => "accounts won on or before the period's end and not churned",
        "logo_churn_rate" => {
            "customers at the start who churned during the period / customers at the start"
        }
        "logo_retention_rate" => "1 − logo_churn_rate",
        "ltv" => "arpa × gross margin / annual churn over the trailing 12 months",
        "ltv_cac_ratio" => "ltv / cac",
        "csat_avg" => "mean normalised survey score",
        "stage_conversion" => {
            "per stage: entered in the period and later advanced by the as-of date / entered"
        }
        "days_in_stage_avg" => {
            "per stage: mean days in the stage of deals that left it in the period"
        }
        "loss_reasons" => "lost deals closed in the period by reason",
        "data_completeness_share" => {
            "open deals with amount, future close date, stage and next step / open deals"
        }
        "forecast_accuracy" => "waits for forecasts",
        _ => "",
    }
}

/// Explains one KPI: its value, the inputs of its formula, and every record behind it.
pub fn explain(
    engine: &Engine,
    k: &'static str,
    scope: Scope,
    period: Period,
    today: Date,
) -> Result<Explanation> {
    explain_in(engine, &Lens::everything(), k, scope, period, today)
}

/// [`explain`] seen through a [`Lens`]: only records attributed to segments it lets
/// through are counted or listed.
pub fn explain_in(
    engine: &Engine,
    lens: &Lens,
    k: &'static str,
    scope: Scope,
    period: Period,
    today: Date,
) -> Result<Explanation> {
    explain_keeping(engine, lens, k, scope, period, today, true)
}

/// [`explain_in`] for the pages shown first: the value, its inputs, how many records are
/// behind it and the first and last [`ENDS`] of them in (date, id, kind) order — not the
/// rest. A company-wide drill-down has millions of records; keeping them all costs fresh
/// memory on every first render (the page faults were a large part of it), while the
/// records are put together in a reused buffer here and given back once the ends are
/// picked. A page between the ends, another sort or an export asks [`explain_in`].
pub fn explain_ends_in(
    engine: &Engine,
    lens: &Lens,
    k: &'static str,
    scope: Scope,
    period: Period,
    today: Date,
) -> Result<Explanation> {
    explain_keeping(engine, lens, k, scope, period, today, false)
}

/// Makes, and throws away, one company-wide drill-down over `period` for each set of
/// record groups a KPI's drill-down passes over (see `Walk::of`), so that the spare scratch
/// buffers (the pass's traces, the records gathered, the sort's keys) are as large as a
/// drill-down over such a period needs and their pages are mapped. The first drill-down a
/// viewer opens then costs what later ones do: fresh pages are charged one fault each, and
/// at 10M deals the first company-wide drill-down into a quarter's 3.7M activities took
/// 172 ms in the server against 74 ms for the next one of the same size. A company-wide
/// first page traces only its first and last days, and so does a large team's
/// (`ends_first`); a smaller team's traces every record, so the largest of those
/// teams' drill-down into its activities is made too, twice (at 10M deals, when the
/// CRO's team's traced every record, 3.8M of them: 150–190 ms the first time without,
/// 60–70 with).
/// Of the KPIs that share a set of record groups, the one made is the one that keeps the
/// most kinds of record ([`priming_kpis`]).
/// Nothing is kept or shown. Returns how many drill-downs it made.
pub fn prime_drilldown_scratch(engine: &Engine, period: Period, today: Date) -> Result<usize> {
    let picks = priming_kpis();
    for &k in &picks {
        explain_ends_in(
            engine,
            &Lens::everything(),
            k,
            Scope::Company,
            period,
            today,
        )?;
    }
    // the team that counts the most segments among those whose first pages trace every
    // record
    let segs = &engine.segs;
    let everything = Lens::everything();
    let largest = (0..engine.book.people.len() as u32)
        .filter(|&p| segs.led_anyone(p) && !ends_first(engine, &everything, Scope::Team(p)))
        .max_by_key(|&p| segs.of_scope[p as usize].len());
    if let Some(p) = largest {
        // (twice: the pass's two parts each take a spare buffer, the larger part not
        // always the larger buffer; the second time, both have grown to what a part needs)
        for _ in 0..2 {
            explain_ends_in(
                engine,
                &Lens::everything(),
                "activities",
                Scope::Team(p),
                period,
                today,
            )?;
        }
        return Ok(picks.len() + 2);
    }
    Ok(picks.len())
}

/// One KPI per set of record groups its drill-down passes over (`Walk::of`), the
/// default KPIs' first with the most kinds of record behind it: of those over open deals,
/// the data completeness share, which lists every deal open on the as-of day, not the
/// pipeline's, which lists those due in the period (at 10M deals, 470K against 18K over a
/// quarter: primed with the pipeline's, the spare buffers of the first pages' keys were
/// sized for 18K, and the first drill-down into the completeness share grew them on fresh
/// pages), and every activity, not only the calls.
pub fn priming_kpis() -> Vec<&'static str> {
    let mut picks: Vec<(Walk, u32, &'static str)> = Vec::new();
    for k in default_kpis() {
        // (more kinds first; then one that keeps every record of a kind, not only the
        // calls among activities or the first wins among won deals)
        let f = Feeds::of(k);
        let kinds = f.mask.count_ones() * 4
            + u32::from(!f.first_won_only) * 2
            + u32::from(f.calls.is_none());
        let w = Walk::of(&[k]);
        match picks.iter_mut().find(|p| p.0 == w) {
            Some(p) if kinds > p.1 => *p = (w, kinds, k),
            Some(_) => {}
            None => picks.push((w, kinds, k)),
        }
    }
    picks.into_iter().map(|p| p.2).collect()
}

/// Records gathered for a drill-down that keeps only its ends (given back once picked).
static RECORDS: Spare<Behind> = Spare::new();

fn explain_keeping(
    engine: &Engine,
    lens: &Lens,
    k: &'static str,
    scope: Scope,
    period: Period,
    today: Date,
    all: bool,
) -> Result<Explanation> {
    // A company-wide drill-down made for its first pages first keeps only the records
    // of its first and last days (most have thousands a day); where those hold fewer
    // than a page each, its pass is made again keeping every record. (A pass over open
    // deals, all on the one as-of day, keeps every record whatever it is asked.) These
    // keep every record at once: a drill-down into customers (each on the day of its
    // first win, years apart: the first day holds a few, and the second pass made them
    // 50 % slower at 10M deals) and into spend (the spend assigned to units and the
    // company is not in the trace).
    if !all && ends_first(engine, lens, scope) && !Walk::of(&[k]).customers && !spend_kpi(k) {
        let ends = explain_made(engine, lens, k, scope, period, today, false, true)?;
        if let Some(ex) = ends {
            return Ok(ex);
        }
    }
    explain_made(engine, lens, k, scope, period, today, all, false)?.ok_or_else(|| {
        ScorecardError::Data("a drill-down keeping every record gave none".into()).into()
    })
}

/// Whether a drill-down's first pages are tried with only its first and last days'
/// records ([`explain_keeping`]): the company's, and a team's or a unit's that holds at
/// least an eighth of the org's segments (through the lens). A smaller one's days often
/// hold less than a page, and its pass would be made twice; its pass is quick anyway.
fn ends_first(engine: &Engine, lens: &Lens, scope: Scope) -> bool {
    match scope {
        Scope::Company => true,
        Scope::Person(_) => false,
        Scope::Team(_) | Scope::Unit(_) => {
            lens.narrow(engine.segments_of(scope)).len() * 8 >= engine.segs.len()
        }
    }
}

/// The people behind a KPI of people over `scope` in `period` (its slot `sl`), each as a
/// record on the day it counted them, with a line saying what it counted: the people in
/// scope on the period's last day (`headcount`); the active reps (`active_reps`: a
/// quota-carrying person with a segment in scope on a day of the period they were
/// employed); those of them with an own-book quota, at it or below it
/// (`reps_at_quota_share`); the reps in scope at the start, at the end, or who left in
/// the period (`rep_attrition_rate`); a team leader's direct reports on the as-of day
/// (`span_of_control`). Each list is the one the number counts (spec §3), through `lens`.
/// Empty for any other KPI.
fn people_behind(
    engine: &Engine,
    lens: &Lens,
    k: &str,
    scope: Scope,
    period: &Period,
    sl: &salesorg_core::scorecard::pass::Slot,
    today: Date,
) -> Result<Vec<(u32, Day, String)>> {
    use salesorg_core::scorecard::pass::{counted_on, left_within};
    let (book, segs) = (&engine.book, &engine.segs);
    let last = sl.end - 1;
    // (a scope's segments through the lens, each with its person: not nobody's)
    let seen: Vec<u32> = engine
        .segments_of(scope)
        .iter()
        .copied()
        .filter(|&s| lens.sees(s) && segs.person[s as usize] != book.nobody())
        .collect();
    let on = |d: Day| -> Vec<u32> {
        let mut v: Vec<u32> = seen
            .iter()
            .filter(|&&s| {
                let (p, s) = (segs.person[s as usize], s as usize);
                counted_on(&book.people[p as usize], segs.from[s], segs.to[s], d)
            })
            .map(|&s| segs.person[s as usize])
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    // each active rep and the first day of the period they counted on
    let active = || -> Vec<(u32, Day)> {
        let mut v: Vec<(u32, Day)> = Vec::new();
        for &s in &seen {
            let p = segs.person[s as usize];
            let info = &book.people[p as usize];
            if info.rep && salesorg_core::scorecard::rep_active(segs, info, s as usize, sl) {
                let from = segs.from[s as usize].max(sl.start).max(info.hired);
                v.push((p, from));
            }
        }
        v.sort_unstable();
        v.dedup_by_key(|x| x.0);
        v
    };
    Ok(match k {
        "headcount" => on(last)
            .into_iter()
            .map(|p| (p, last, format!("in scope on {}", fmt_day(last))))
            .collect(),
        "active_reps" => active()
            .into_iter()
            .map(|(p, d)| {
                (
                    p,
                    d,
                    format!("quota-carrying, in scope and employed from {}", fmt_day(d)),
                )
            })
            .collect(),
        "reps_at_quota_share" => {
            // each active rep with a quota, their own book over the period against it, as
            // the share counts them
            let first: std::collections::HashMap<u32, Day> = active().into_iter().collect();
            let mut out = Vec::new();
            for (p, booked, quota) in engine.reps_with_quota(lens, scope, *period, today)? {
                // (the bookings only where the viewer sees the rep's whole period: a rep
                // who moved in mid-period booked the rest under another leader)
                let whole = segs.of_person(p).all(|s| {
                    let s = s as usize;
                    segs.to[s] <= sl.start || segs.from[s] >= sl.end || lens.sees(s as u32)
                });
                let status = if booked >= quota {
                    "at quota"
                } else {
                    "below quota"
                };
                let (booked, quota) = (i128::from(booked), i128::from(quota));
                let line = if whole {
                    // (the share truncated: a rep just below quota never reads 100.0%)
                    format!(
                        "{status} · bookings {} of quota {} ({}%)",
                        kpi::fmt_fixed(booked, 4, 2),
                        kpi::fmt_fixed(quota, 4, 2),
                        kpi::fmt_fixed(booked * 1_000 / quota, 1, 1)
                    )
                } else {
                    format!(
                        "{status} · quota {} (part of the period's bookings outside your view)",
                        kpi::fmt_fixed(quota, 4, 2)
                    )
                };
                let day = first.get(&p).copied().unwrap_or(sl.start);
                out.push((p, day, line));
            }
            out
        }
        "rep_attrition_rate" => {
            let reps = |v: Vec<u32>| -> Vec<u32> {
                v.into_iter()
                    .filter(|&p| book.people[p as usize].rep)
                    .collect()
            };
            let (start, end) = (reps(on(sl.start)), reps(on(last)));
            // a rep who left in the period, from a segment in scope on their last day
            let mut left: Vec<u32> = seen
                .iter()
                .filter(|&&s| {
                    let info = &book.people[segs.person[s as usize] as usize];
                    let s = s as usize;
                    info.rep && left_within(info, segs.from[s], segs.to[s], sl)
                })
                .map(|&s| segs.person[s as usize])
                .collect();
            left.sort_unstable();
            left.dedup();
            let mut all: Vec<u32> = start.iter().chain(&end).chain(&left).copied().collect();
            all.sort_unstable();
            all.dedup();
            all.into_iter()
                .map(|p| {
                    let mut what = Vec::new();
                    if start.binary_search(&p).is_ok() {
                        what.push("in scope at the start".to_owned());
                    }
                    if end.binary_search(&p).is_ok() {
                        what.push("at the end".to_owned());
                    }
                    let day = if left.binary_search(&p).is_ok() {
                        let l = book.people[p as usize].left;
                        what.push(format!("left (last day {})", fmt_day(l - 1)));
                        l - 1
                    } else if end.binary_search(&p).is_ok() {
                        last
                    } else {
                        sl.start
                    };
                    (p, day, what.join(" · "))
                })
                .collect()
        }
        "span_of_control" => match scope {
            Scope::Team(leader) => segs
                .direct_reports(leader, sl.asof)
                .into_iter()
                .map(|p| {
                    (
                        p,
                        sl.asof,
                        format!("reports directly on {}", fmt_day(sl.asof)),
                    )
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}

/// The KPIs whose drill-downs list spend assigned to units and the company (not traced
/// by the pass: it attributes only a person's spend).
fn spend_kpi(k: &str) -> bool {
    matches!(
        k,
        "sales_marketing_spend"
            | "cac"
            | "cost_per_opportunity"
            | "cost_per_sale"
            | "ltv_cac_ratio"
    )
}

/// [`explain_keeping`] with the pass's trace holding only its first and last days'
/// records (`ends_only`): `None` when those do not hold the first pages.
#[allow(clippy::too_many_arguments)]
fn explain_made(
    engine: &Engine,
    lens: &Lens,
    k: &'static str,
    scope: Scope,
    period: Period,
    today: Date,
    all: bool,
    ends_only: bool,
) -> Result<Option<Explanation>> {
    if kpi::NOT_YET.contains(&k) {
        return Err(ScorecardError::Kpi(format!(
            "{k} waits for forecasts, which salesorg does not hold yet"
        ))
        .into());
    }
    let book = &engine.book;
    // (a book loaded without ids holds its activities as counts by owner and day, not one
    // by one with their kinds: no drill-down can list them)
    if Walk::of(&[k]).activities && !book.keeps_activities() {
        return Err(ScorecardError::Data(format!(
            "a drill-down into {k} lists activities one by one, and this engine holds them as counts (load it with record ids)"
        ))
        .into());
    }
    let segs = &engine.segs;
    // One period: its slot is the first, and last year's (for the growth rate) the second.
    let yoy = k == "revenue_growth_yoy";
    let feeds = Feeds::of(k);
    let keep = |c: &Contribution| feeds.test(c, book);
    // a team's or the company's branches, each totalled from the same pass
    let parts = engine.branch_parts(lens, scope);
    let in_scope = |seg: u32| -> bool {
        lens.sees(seg)
            && match scope {
                Scope::Company => true,
                Scope::Person(p) => segs.person[seg as usize] == p,
                Scope::Team(p) => segs.scopes_of(seg).contains(&segs.team(p)),
                Scope::Unit(u) => segs.scopes_of(seg).contains(&segs.unit(u)),
            }
    };
    // only the record groups the KPI's value reads: a win rate's drill-down passes over
    // closed deals, not over every lead and activity
    let walk = Walk::of(&[k]);
    // With branches, the pass keeps only the scope's records and counts them by branch
    // (a team's first pages keep only their ends, as the company's do). Not a company-wide
    // first page seen whole that keeps its ends alone: every record is in scope, and
    // counting its millions by branch made it 10-25 % slower (at 10M deals, stage
    // conversion over a quarter 55 -> 62 ms, activities 38 -> 45); its branches show their
    // values alone.
    let whole_company = lens.is_everything() && scope == Scope::Company;
    let by_branch = !(parts.is_empty() || whole_company && ends_only && walk.notes_ends());
    let rows = by_branch.then(|| branch_rows(engine, &parts, in_scope));
    let as_of = Engine::as_of(&period, today);
    let keep = salesorg_core::scorecard::Want {
        slots: vec![true, yoy],
        kinds: feeds.mask,
        // the kinds decide, but for the first wins among won deals and the calls among
        // activities
        keep: (feeds.first_won_only || feeds.calls.is_some())
            .then_some(&keep as &(dyn Fn(&Contribution) -> bool + Sync)),
        ends_only,
        rows: rows.as_deref(),
        tally: rows.is_some().then_some(salesorg_core::scorecard::TallyBy {
            book,
            as_of: salesorg_core::scorecard::day(as_of),
            // (only the growth rate's drill-down has last year's slot: the second)
            last_year: yoy.then_some(1),
        }),
    };
    let need = salesorg_core::scorecard::Need::of(&[k]);
    let mut c = engine.compute_traced(
        lens,
        &[scope],
        &[period],
        today,
        true,
        need,
        Some(&keep),
        &parts,
    )?;
    if c.main[0] != 0 || (yoy && c.last_year[0] != 1) {
        return Err(
            ScorecardError::Data("the drill-down's slots are not where it looks".into()).into(),
        );
    }
    let value_of = |c: &mut salesorg_core::scorecard::Computed, si: usize| {
        engine
            .values(c, si, 0, &[k])
            .into_iter()
            .next()
            .map(|(_, v)| v)
            .unwrap_or_else(|| Value::Null(kpi::Why::missing(k)))
    };
    let value = value_of(&mut c, 0);
    let g = c.main[0];
    let ly = c.last_year[0];
    // the inputs of the groups walked (the others were not added up), of the scope (0) or
    // a branch (1 + its part)
    let inputs_of = |c: &salesorg_core::scorecard::Computed, si: usize| {
        let t = &c.totals[si][g].cell;
        let mut inputs: Vec<(&'static str, String)> = [
            (walk.closed, "won_deals", t.won.to_string()),
            (walk.closed, "lost_deals", t.lost.to_string()),
            (
                walk.closed,
                "bookings",
                kpi::fmt_fixed(t.bookings.into(), 4, 2),
            ),
            (walk.created, "opps_created", t.created.to_string()),
            (
                walk.open,
                "pipeline_open",
                kpi::fmt_fixed(t.open_amount.into(), 4, 2),
            ),
            (
                walk.open,
                "stale_amount",
                kpi::fmt_fixed(t.open_stale_amount.into(), 4, 2),
            ),
            (walk.open, "open_complete", t.open_complete.to_string()),
            (walk.open, "open_deals", t.open_n.to_string()),
            (walk.leads, "leads_created", t.leads.to_string()),
            (walk.leads, "leads_converted", t.leads_converted.to_string()),
            (walk.leads, "leads_answered", t.leads_responded.to_string()),
            (walk.leads, "leads_in_sla", t.leads_in_sla.to_string()),
            (walk.leads, "followups", t.lead_followups.to_string()),
            (walk.created, "created_won", t.created_won.to_string()),
            (
                walk.closed,
                "lost_amount",
                kpi::fmt_fixed(t.lost_amount.into(), 4, 2),
            ),
            (true, "reps_left", t.reps_left.to_string()),
            (true, "reps_start", t.reps_start.to_string()),
            (true, "reps_end", t.reps_end.to_string()),
            (
                walk.customers,
                "customers_churned",
                t.customers_start_churned.to_string(),
            ),
            (
                walk.customers,
                "customers_start",
                t.customers_start.to_string(),
            ),
            (walk.facts, "surveys", t.surveys.to_string()),
            (walk.activities, "calls", t.calls.to_string()),
            (walk.activities, "rep_calls", t.rep_calls.to_string()),
            (true, "rep_days", t.rep_days.to_string()),
            (
                walk.facts,
                "spend",
                kpi::fmt_fixed((t.spend + c.totals[si][g].unit_spend).into(), 4, 2),
            ),
            (walk.closed, "new_customers", t.new_customers.to_string()),
        ]
        .into_iter()
        .filter(|x| x.0 && formula_inputs(k).contains(&x.1))
        .map(|x| (x.1, x.2))
        .collect();
        if formula_inputs(k).contains(&"reps_at_quota") {
            let t = &c.totals[si][g];
            inputs.push(("reps_at_quota", t.reps_at_quota.to_string()));
            inputs.push(("reps_with_quota", t.reps_with_quota.to_string()));
        }
        if let Some(q) = c.totals[si][g].quota
            && formula_inputs(k).contains(&"quota")
        {
            inputs.push(("quota", kpi::fmt_fixed(q, 4, 2)));
        }
        if k == "revenue_growth_yoy" {
            inputs.push((
                "bookings_last_year",
                kpi::fmt_fixed(c.totals[si][ly].cell.bookings.into(), 4, 2),
            ));
        }
        inputs
    };
    let mut inputs = inputs_of(&c, 0);
    // each branch's value and inputs
    let branch_values: Vec<(Value, Vec<(&'static str, String)>)> = (0..parts.len())
        .map(|i| (value_of(&mut c, 1 + i), inputs_of(&c, 1 + i)))
        .collect();
    // the KPI's own target, where one is set for the scope (docs/kpis.md "Targets")
    if k != "bookings"
        && let Some(t) = engine.target(scope, &period, k)
    {
        inputs.push(("target", t.to_text("—")));
    }
    if k == "revenue_growth_yoy" {
        // mid-period, the growth like for like: the bookings up to the as-of day against
        // last year's to the same day (docs/kpis.md "A period to date"), as the viewer
        // sees them
        let as_of = Engine::as_of(&period, today);
        let (_, _, to_date) = comparisons(engine, &period, as_of);
        if let (Some((_, then)), Some(so_far)) = (to_date, period.to_date(as_of)) {
            let rows = engine.run_in(lens, &[scope], &[so_far, then], &["bookings"], today)?;
            let b = |i: usize| {
                rows.get(i)
                    .and_then(|r| r.values.first())
                    .map_or(Value::Null(kpi::Why::NotComputed), |v| v.1.clone())
            };
            inputs.extend([
                ("bookings_to_date", b(0).to_text("—")),
                ("bookings_last_year_to_date", b(1).to_text("—")),
                ("like_for_like", kpi::growth_of(&b(0), &b(1)).to_text("—")),
            ]);
        }
    }
    // the trace holds only what `keep` let through (the shown slots, what feeds the KPI)
    let trace = std::mem::take(&mut c.trace);
    // the pass traced each record with the day it counted on; a company-wide drill-down
    // seen whole keeps every record, and only the growth rate's has last year's slot (the
    // divisions that find a record's segment and slot are left out where not needed)
    let everyone = whole_company;
    let ng = c.ng as u32;
    let behind = |&(key, day, contrib): &salesorg_core::scorecard::Traced| -> Option<Behind> {
        debug_assert_eq!(
            day,
            day_of(book, &contrib, c.slots[(key % ng) as usize].asof),
            "{contrib:?}"
        );
        (everyone || in_scope(key / ng)).then(|| Behind {
            contrib,
            day,
            last_year: yoy && {
                let slot = (key % ng) as usize;
                slot == ly && slot != g
            },
        })
    };
    // spend on the company, and on units nobody headed, is not attributed through people
    let mut extra = Vec::new();
    if spend_kpi(k) {
        for (xi, x) in book.spend.iter().enumerate() {
            let sl = &c.slots[g];
            if x.day < sl.start
                || x.day >= sl.end
                || engine.spend_owners[xi] != salesorg_core::scorecard::NONE
            {
                continue;
            }
            let counts = match (scope, x.target) {
                (Scope::Company, salesorg_core::scorecard::book::SpendTarget::Company) => true,
                (Scope::Company, salesorg_core::scorecard::book::SpendTarget::Unit(_)) => true,
                (Scope::Unit(u), salesorg_core::scorecard::book::SpendTarget::Unit(v)) => {
                    salesorg_core::scorecard::unit_within(book, v, u)
                }
                _ => false,
            };
            if counts {
                extra.push(Behind {
                    contrib: Contribution::Spend(xi as u32),
                    day: x.day,
                    last_year: false,
                });
            }
        }
    }
    // the quota's entries: the one set on the team or unit, else the own-book quotas of
    // the reps in scope on the first day (as `quota` adds them up)
    if matches!(k, "quota" | "quota_attainment" | "pipeline_coverage") {
        let sl = &c.slots[g];
        let within = |q: &salesorg_core::scorecard::book::QuotaEntry| {
            book.quota_share(q, sl.start, sl.whole_end).is_some()
        };
        let mut push = |qi: usize| {
            extra.push(Behind {
                contrib: Contribution::Quota(qi as u32),
                day: book.quotas[qi].start,
                last_year: false,
            })
        };
        let set_on = match scope {
            Scope::Team(p) => Some(QuotaOn::Team(p)),
            Scope::Unit(u) => Some(QuotaOn::Unit(u)),
            Scope::Person(_) | Scope::Company => None,
        };
        let set: Vec<usize> = (0..book.quotas.len())
            .filter(|&i| Some(book.quotas[i].target) == set_on && within(&book.quotas[i]))
            .collect();
        if !set.is_empty() {
            set.into_iter().for_each(&mut push);
        } else {
            let mut holders: Vec<u32> = match scope {
                Scope::Person(p) => vec![p],
                _ => engine
                    .members_on(scope, sl.start)
                    .into_iter()
                    .filter(|&(s, p)| lens.sees(s) && book.people[p as usize].rep)
                    .map(|(_, p)| p)
                    .collect(),
            };
            holders.sort_unstable();
            holders.dedup();
            for (qi, q) in book.quotas.iter().enumerate() {
                if let QuotaOn::Person(p) = q.target
                    && within(q)
                    && holders.binary_search(&p).is_ok()
                {
                    push(qi);
                }
            }
        }
    }
    // the people a KPI of people counts, each with what it counted of them
    let listed = people_behind(engine, lens, k, scope, &period, &c.slots[g], today)?;
    let mut people = Vec::with_capacity(listed.len());
    for (p, day, line) in listed {
        extra.push(Behind {
            contrib: Contribution::Person(p),
            day,
            last_year: false,
        });
        people.push((p, line));
    }
    people.sort_unstable_by_key(|x| x.0);
    // the records: the trace's in scope, then the spend (`None`: out of scope)
    let nt = trace.len();
    let at = |i: usize| -> Option<Behind> {
        match trace.get(i) {
            Some(t) => behind(t),
            None => extra.get(i - nt).copied(),
        }
    };
    // the records by branch, as the pass counted them
    let branches = (!parts.is_empty()).then(|| {
        let counted = c
            .tallies
            .as_ref()
            .zip(rows.as_deref())
            .map(|(t, rows)| count_branches(engine, &parts, rows, as_of, &period, t, &extra));
        branches_of(engine, &parts, branch_values, counted)
    });
    let (records, total, first, last, order) = 'made: {
        if !all {
            // the pages shown first, picked straight from the trace (which holds each
            // record's day): the millions of records of a company-wide drill-down are
            // counted by day, and only those of the days the ends reach are made (instead
            // of writing every record out and scanning them three times)
            // where every traced record is kept, the pass counted their days
            let counted = match c.trace_days.take() {
                // (the pass counted only the scope's records where it had their rows)
                Some((lo, mut count)) if everyone || rows.is_some() => {
                    let mut ok = true;
                    for b in &extra {
                        let at = i64::from(b.day) - i64::from(lo);
                        if at < 0 || at >= count.len() as i64 {
                            ok = false;
                            break;
                        }
                        count[at as usize] += 1;
                    }
                    ok.then_some((lo, count))
                }
                _ => None,
            };
            // (the spend's records are not among the trace's edges)
            let edges = c.trace_edges.as_ref().filter(|_| extra.is_empty());
            // a trace of the first and last days' records alone: how many there are in
            // all is what the pass counted
            let only_edges = c.trace_ends_only;
            let n = match (&counted, only_edges) {
                (Some((_, count)), true) => count.iter().sum(),
                (None, true) => 0,
                (_, false) => nt + extra.len(),
            };
            let picked = ends_in_date_order(
                n,
                ENDS,
                Known {
                    counted,
                    edges,
                    only_edges,
                },
                |i| at(i).map(|b| b.day),
                |i| at(i).map_or((0, 0, 0), |b| head_of(book, &b)),
                |i| at(i).map_or(std::borrow::Cow::Borrowed(""), |b| id_of(book, &b)),
                |i| at(i).map_or("", |b| kind_of(book, &b)),
            );
            if let Some((total, first, last)) = picked {
                let kept: Vec<Behind> = first
                    .iter()
                    .chain(&last)
                    .filter_map(|&i| at(i as usize))
                    .collect();
                trace.give_back();
                let f = first.len() as u32;
                let n = kept.len() as u32;
                let order = std::sync::OnceLock::new();
                break 'made (kept, total, (0..f).collect(), (f..n).collect(), order);
            }
            if only_edges {
                // those days hold less than a page each: made again with every record
                trace.give_back();
                return Ok(None);
            }
        }
        // every record: kept by the drill-down (fresh memory, not a spare buffer's: the
        // drill-down keeps it), or, for the first pages of a few (or sparse) records, put
        // together in a spare buffer and copied
        let mut records = if all {
            Vec::with_capacity(nt + extra.len())
        } else {
            let mut r = RECORDS.take();
            r.reserve(nt + extra.len());
            r
        };
        records.extend(trace.iter().filter_map(behind));
        records.extend_from_slice(&extra);
        trace.give_back();
        // the pages shown first; the rest is put in order when a page or an export needs it
        let order = std::sync::OnceLock::new();
        let ends = if all {
            ends_in_date_order(
                records.len(),
                ENDS,
                Known::default(),
                |i| Some(records[i].day),
                |i| head_of(book, &records[i]),
                |i| id_of(book, &records[i]),
                |i| kind_of(book, &records[i]),
            )
        } else {
            // the ends were not worth picking alone (see above)
            None
        };
        let (first, last) = match ends {
            Some((_, first, last)) => (first, last),
            None => {
                let _ = order.set(date_order(book, &records));
                (Vec::new(), Vec::new())
            }
        };
        let total = records.len();
        let records = if all {
            records
        } else {
            // few records: all kept, in memory of their own size
            let kept = records.clone();
            RECORDS.give(records);
            kept
        };
        (records, total, first, last, order)
    };
    Ok(Some(Explanation {
        kpi: k,
        scope: engine.scope_name(scope),
        period,
        as_of: Engine::as_of(&period, today),
        value,
        formula: formula(k),
        inputs,
        records,
        total,
        first,
        last,
        order,
        branches,
        people,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts written on every core come back in the order of what they were written from,
    /// whole (a run of 100,000 or more per core: here two or more runs on a machine of two
    /// cores or more), and a panic in one run is passed on.
    #[test]
    fn texts_written_on_every_core_keep_their_order() {
        let src: Vec<u32> = (0..250_000).collect();
        let parts = texts_on_every_core(&src, |x, out| {
            let _ = writeln!(out, "{x}");
        });
        let cores = std::thread::available_parallelism().map_or(1, |t| t.get());
        assert_eq!(parts.len(), cores.min(3));
        let want: String = src.iter().map(|x| format!("{x}\n")).collect();
        assert_eq!(parts.concat(), want);
        assert!(
            texts_on_every_core(&[] as &[u32], |_, _| {})
                .concat()
                .is_empty()
        );
        let caught = std::panic::catch_unwind(|| {
            texts_on_every_core(&src, |&x, _| assert!(x != 200_000, "the run's panic"))
        });
        assert!(caught.is_err());
    }

    /// A filter's text is found in any case, wherever it stands, ASCII or not; a filter
    /// trims what was typed, cuts it at its limit, and an empty part filters nothing.
    #[test]
    fn a_filters_text_is_found_in_any_case() {
        for (hay, needle, want) in [
            ("lost · reason Price", "price", true),
            ("lost · reason Price", "reason p", true),
            ("PRICE", "price", true),
            ("Pric", "price", false),
            ("", "a", false),
            ("abc", "", true),
            ("Zoë Müller", "müller", true),
            ("ZOË MÜLLER", "zoë", true),
            ("Zoe Muller", "müller", false),
            ("aaab", "aab", true),
        ] {
            assert_eq!(holds(hay, needle), want, "{hay:?} {needle:?}");
        }
        // every hay of up to four characters from a small alphabet (either case, a digit, a
        // dash, a letter with no case) against every needle of up to three: as the plain
        // definition, the hay lower-cased holding the needle
        let alphabet = ["a", "A", "b", "B", "1", "-", "é"];
        let words = |n: usize| {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..n {
                last = last
                    .iter()
                    .flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        };
        let needles: Vec<String> = words(3).into_iter().map(|w| w.to_lowercase()).collect();
        for hay in words(4) {
            for needle in &needles {
                let want = hay.to_lowercase().contains(needle.as_str());
                assert_eq!(holds(&hay, needle), want, "{hay:?} {needle:?}");
            }
        }
        let f = RecordFilter::new(Some("  "), Some("  Reason PRICE "));
        assert_eq!((f.kind(), f.text()), (None, Some("reason price")));
        assert!(RecordFilter::new(Some(""), None).is_empty());
        let long = "x".repeat(RecordFilter::MAX_TEXT + 50);
        let f = RecordFilter::new(None, Some(&long));
        assert_eq!(f.text().unwrap().len(), RecordFilter::MAX_TEXT);
        assert_ne!(
            RecordFilter::new(Some("won"), None).key(),
            RecordFilter::new(None, Some("won")).key()
        );
    }

    /// KPIs named in several flags or in one comma-separated list are one list in the
    /// order first named; a KPI named twice is one column; an unknown one is refused.
    #[test]
    fn kpi_lists_keep_the_first_naming_of_each() {
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_kpis(&ids(&[
                "bookings, win_rate",
                "bookings",
                "",
                "calls,win_rate"
            ]))
            .unwrap(),
            ["bookings", "win_rate", "calls"]
        );
        let e = parse_kpis(&ids(&["bookings,nope"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"nope\" is not a KPI"), "{e}");
    }

    /// The inline-key sort gives the order of a plain stable sort on (day, id, kind), on
    /// ids of every length around the inline width, non-ASCII included.
    #[test]
    fn records_sort_like_their_text() {
        let pieces = [
            "",
            "2026-07-01",
            "2026-07-01x",
            "é",
            "a",
            "ab",
            "0061PDOE0000000000",
            "zz",
        ];
        // all on one day (as open deals on an as-of day), days close together (sorted by
        // counting) and far apart (one sort over the keys)
        for spread in [0, 1, 100_000] {
            sorts_like_text(&pieces, spread, 600);
        }
        // enough records to be sorted on several threads, each taking a run of days
        sorts_like_text(&pieces, 1, 250_000);
        sorts_like_text(&pieces, 0, 250_000);
    }

    fn sorts_like_text(pieces: &[&str], spread: Day, n: u32) {
        let mut recs: Vec<(Day, String, &'static str)> = Vec::new();
        let mut x: u64 = 7;
        for _ in 0..n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pick = |k: u64| pieces[(k % pieces.len() as u64) as usize];
            let id = format!("{}{}{}", pick(x >> 27), pick(x >> 37), pick(x >> 47));
            recs.push((
                ((x >> 7) as Day % 5 - 2) * spread,
                id,
                ["won", "lost", "open"][(x >> 57) as usize % 3],
            ));
        }
        let mut want: Vec<u32> = (0..recs.len() as u32).collect();
        want.sort_by(|&a, &b| {
            let (a, b) = (&recs[a as usize], &recs[b as usize]);
            (a.0, a.1.as_str(), a.2).cmp(&(b.0, b.1.as_str(), b.2))
        });
        let got = in_date_order(
            recs.len(),
            |i| recs[i].0,
            |i| id_head(recs[i].1.as_bytes()),
            |i| std::borrow::Cow::Borrowed(recs[i].1.as_str()),
            |i| recs[i].2,
        );
        assert_eq!(got, want);
        // the first and last pages picked alone are the whole order's: within one day,
        // across a day's end, and a single record; with every record, and with every
        // seventh left out (a drill-down's records out of scope)
        for ends in [1, 100, 130] {
            for skip in [false, true] {
                let out = |i: usize| skip && i % 7 == 3;
                let want: Vec<u32> = want.iter().copied().filter(|&i| !out(i as usize)).collect();
                // the days counted as a pass counts them (in two parts), or by the scan
                let mut parts = [DayCounts::new(1 << 16), DayCounts::new(1 << 16)];
                // and the records of the first and last days, as two parts note them
                let half = recs.len() as u32 / 2;
                let (mut edges, mut second) = (Edges::default(), Edges::default());
                for (i, r) in recs.iter().enumerate() {
                    if !out(i) {
                        parts[i % 2].add(r.0);
                    }
                    match (i as u32).checked_sub(half) {
                        None => edges.add(r.0, i as u32),
                        Some(j) => second.add(r.0, j),
                    }
                }
                edges.join(second, half);
                let counted = DayCounts::sum(parts, 1 << 16);
                assert_eq!(
                    counted,
                    per_day(recs.len(), &|i| (!out(i)).then_some(recs[i].0))
                );
                let counted = if ends == 100 { counted } else { None };
                let picked = ends_in_date_order(
                    recs.len(),
                    ends,
                    Known {
                        counted,
                        edges: (ends != 130).then_some(&edges),
                        only_edges: false,
                    },
                    |i| (!out(i)).then_some(recs[i].0),
                    |i| id_head(recs[i].1.as_bytes()),
                    |i| std::borrow::Cow::Borrowed(recs[i].1.as_str()),
                    |i| recs[i].2,
                );
                match picked {
                    Some((total, first, last)) => {
                        assert_eq!(total, want.len());
                        assert_eq!(first, want[..ends], "first {ends} of {n}");
                        assert_eq!(last, want[want.len() - ends..], "last {ends} of {n}");
                    }
                    // only when the whole order costs about as much
                    None => assert!(spread > 1 || want.len() <= 4 * ends, "{ends} of {n}"),
                }
            }
        }
    }

    /// Counting records by day gives a plain count's days and numbers, whichever way the
    /// days run (the window grows at both ends), with records left out, and gives up when
    /// the days lie too far apart.
    #[test]
    fn counts_by_day_like_a_map() {
        let mut x: u64 = 11;
        for (n, spread) in [(50usize, 3i64), (1000, 40), (300_000, 200), (5000, 1)] {
            let days: Vec<Option<Day>> = (0..n)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // falling, rising and scattered runs, and some left out
                    let d = match i % 3 {
                        0 => -(i as i64) % spread,
                        1 => (i as i64) % spread,
                        _ => (x >> 33) as i64 % (2 * spread) - spread,
                    };
                    (!(x >> 20).is_multiple_of(5)).then_some(d as Day + 700_000)
                })
                .collect();
            let mut want = std::collections::BTreeMap::new();
            for d in days.iter().flatten() {
                *want.entry(*d).or_insert(0usize) += 1;
            }
            let (lo, count) = per_day(n, &|i| days[i]).expect("days close together");
            assert_eq!(lo, *want.keys().next().unwrap());
            let got: std::collections::BTreeMap<Day, usize> = count
                .iter()
                .enumerate()
                .filter(|c| *c.1 > 0)
                .map(|(k, &c)| (lo + k as Day, c))
                .collect();
            assert_eq!(got, want, "{n} records over {spread} days");
        }
        // none at all, and two days further apart than 4n + 1024
        assert_eq!(per_day(10, &|_| None), None);
        assert_eq!(per_day(10, &|i| Some(if i == 0 { 0 } else { 5000 })), None);
        assert_eq!(
            per_day(10, &|i| Some(if i == 9 { NO_DAY } else { 5 })),
            None
        );
    }
}
