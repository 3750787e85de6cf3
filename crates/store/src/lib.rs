//! salesorg-store owns persistence: one schema with a SQLite backend (the embedded default)
//! and a PostgreSQL backend, each with its own migrations folder. Domain reads and writes
//! are written once here over the small [`Backend`] trait; the backends only run SQL.

mod accounts;
mod codec;
mod migrate;
mod postgres;
mod sqlite;

use std::fmt;

use salesorg_core::CoreError;
use salesorg_core::date::{Date, fmt_date};
use salesorg_core::ids::PersonId;
use salesorg_core::money::Currency;
use salesorg_core::org::OrgHistory;
use salesorg_core::records::*;
use salesorg_core::scorecard::book::MoneyTotals;
use salesorg_core::settings::Settings;

pub use accounts::{ApiToken, AuditEntry, Session, USERNAME_MAX, User};
pub use codec::*;

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// (its text carries the server's own message: the driver's alone says "db error")
    #[error("PostgreSQL: {}", postgres::detail(.0))]
    Postgres(::postgres::Error),
    #[error("cannot open the store {url}: {reason}")]
    Open { url: String, reason: String },
    #[error(
        "the store holds a value it cannot read back ({0}); was it written by a newer salesorg?"
    )]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the org in the store is inconsistent: {0}")]
    Org(String),
    #[error("the store's schema is version {found}, newer than this salesorg knows ({known})")]
    TooNew { found: i64, known: i64 },
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> StoreError {
        StoreError::Postgres(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Refuses a span of the org (`what` of person `p`) that ends on or before its start.
fn spans(what: &str, p: &PersonId, v: &Validity) -> Result<()> {
    Validity::new(v.from, v.to)
        .map(drop)
        .map_err(|e| StoreError::Org(format!("{what} of {p}: {e}")))
}

/// Every record a scan streams, held in a list.
fn collected<T>(
    scan: impl FnOnce(&mut dyn FnMut(T) -> Result<()>) -> Result<()>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    scan(&mut |x| {
        out.push(x);
        Ok(())
    })?;
    Ok(out)
}

/// The large tables [`Store::scan_rows`] streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scanned {
    Accounts,
    Opportunities,
    /// The opportunities with `NULL` for the columns no scorecard reads ([`OPP_UNREAD`]).
    OpportunitiesBrief,
    StageHistory,
    Leads,
    /// The leads with `NULL` for the columns no scorecard reads ([`LEAD_UNREAD`]).
    LeadsBrief,
    Activities,
    /// The activities with `NULL` for the columns no scorecard reads ([`ACTIVITY_UNREAD`]).
    ActivitiesBrief,
    Surveys,
}

/// A value passed to or read from SQL. Money, counts and basis points are integers;
/// dates, timestamps and ids are text. There are no floats in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

impl Value {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(t) => t.parse().ok(),
            Value::Null => None,
        }
    }
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A value as a bulk scan reads it ([`Backend::query_batches`]): a text's bytes not yet
/// checked to be UTF-8. The reader thread that a first load waits on only copies them out
/// of the database; the thread that makes records of them checks them, as it sets a row's
/// values from them ([`Raw::read_into`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Raw {
    #[default]
    Null,
    Int(i64),
    Text(Vec<u8>),
}

impl Raw {
    /// Sets `slot` to this value, a text into the buffer of the text already there: checked
    /// to be UTF-8 (bytes that are not are read with U+FFFD in their place, as a row read
    /// one by one is).
    pub fn read_into(&self, slot: &mut Value) {
        match (slot, self) {
            (Value::Text(s), Raw::Text(b)) => set_utf8(s, b),
            (slot, Raw::Text(b)) => *slot = Value::Text(String::from_utf8_lossy(b).into_owned()),
            (slot, Raw::Int(i)) => *slot = Value::Int(*i),
            (slot, Raw::Null) => *slot = Value::Null,
        }
    }
    /// Makes this value the text `t`, in the buffer of the text already here.
    pub(crate) fn set_text(&mut self, t: &[u8]) {
        match self {
            Raw::Text(b) => {
                b.clear();
                b.extend_from_slice(t);
            }
            _ => *self = Raw::Text(t.to_vec()),
        }
    }
}

/// Makes `s` the text of `b`, in its own buffer: bytes that are not UTF-8 with U+FFFD in
/// their place (how both backends read a text back).
pub(crate) fn set_utf8(s: &mut String, b: &[u8]) {
    s.clear();
    match std::str::from_utf8(b) {
        Ok(x) => s.push_str(x),
        Err(_) => s.push_str(&String::from_utf8_lossy(b)),
    }
}

impl From<Value> for Raw {
    fn from(v: Value) -> Raw {
        match v {
            Value::Null => Raw::Null,
            Value::Int(i) => Raw::Int(i),
            Value::Text(t) => Raw::Text(t.into_bytes()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        })
    }
}

/// What a backend must do: run SQL written with `?` parameter markers, stream rows, and load
/// many rows at once with an upsert on a key.
pub trait Backend: Send {
    fn kind(&self) -> BackendKind;
    /// Runs one statement with parameters; returns the rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs several statements without parameters.
    fn batch(&mut self, sql: &str) -> Result<()>;
    /// Runs a query and hands each row to `f`.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()>;
    /// Runs a query and hands its rows to `f` in batches of up to `batch` rows: `f` gets
    /// the rows' values one row after another (the vector holds exactly that many rows),
    /// their texts as bytes not yet checked ([`Raw`]), and how many rows they are. Each
    /// value is read straight into the buffer of the one in its place before it; `f` may
    /// swap the vector for another (a batch handed back), whose buffers the next rows then
    /// fill. A bulk scan's rows are so read once, not into one row's buffers and then
    /// copied into a batch's.
    fn query_batches(
        &mut self,
        sql: &str,
        params: &[Value],
        batch: usize,
        f: &mut dyn FnMut(&mut Vec<Raw>, usize) -> Result<()>,
    ) -> Result<()>;
    /// Inserts rows, updating the non-key columns of rows whose key exists. `rows` sets
    /// the next row's columns in a row the backend made (and makes again for the rows
    /// after it), or says there are none left.
    fn upsert(
        &mut self,
        table: &str,
        cols: &[&str],
        key: &[&str],
        rows: &mut dyn FnMut(&mut RowOut) -> bool,
    ) -> Result<u64>;
}

/// The rows of `records` for [`Backend::upsert`], each set by `encode`.
fn each_row<'a, T: 'a>(
    mut records: impl Iterator<Item = &'a T>,
    encode: fn(&T, &mut RowOut),
) -> impl FnMut(&mut RowOut) -> bool {
    move |r| records.next().map(|x| encode(x, r)).is_some()
}

/// Rows read in batches for [`Backend::query_batches`]: each row's values read straight
/// into the buffers of the values in their places (a batch handed back, filled again),
/// each full batch handed to `f`.
pub(crate) struct Batches<'f> {
    vals: Vec<Raw>,
    rows: usize,
    width: usize,
    batch: usize,
    f: &'f mut dyn FnMut(&mut Vec<Raw>, usize) -> Result<()>,
}

impl<'f> Batches<'f> {
    pub(crate) fn new(
        batch: usize,
        f: &'f mut dyn FnMut(&mut Vec<Raw>, usize) -> Result<()>,
    ) -> Batches<'f> {
        Batches {
            vals: Vec::new(),
            rows: 0,
            width: 0,
            batch: batch.max(1),
            f,
        }
    }
    /// Reads a row of `n` values, each through `read` into the value in its place (the
    /// vector grown where it is shorter); hands the batch over once it is full.
    pub(crate) fn row(
        &mut self,
        n: usize,
        mut read: impl FnMut(&mut Raw, usize) -> Result<()>,
    ) -> Result<()> {
        let at = self.rows * n;
        if self.vals.len() < at + n {
            self.vals.resize(at + n, Raw::Null);
        }
        for (i, slot) in self.vals[at..at + n].iter_mut().enumerate() {
            read(slot, i)?;
        }
        (self.rows, self.width) = (self.rows + 1, n);
        if self.rows == self.batch {
            self.hand()?;
        }
        Ok(())
    }
    /// Hands over the rows read since the last batch, exactly those.
    fn hand(&mut self) -> Result<()> {
        self.vals.truncate(self.rows * self.width);
        (self.f)(&mut self.vals, self.rows)?;
        self.rows = 0;
        Ok(())
    }
    /// Hands over the last rows, if any.
    pub(crate) fn finish(mut self) -> Result<()> {
        if self.rows > 0 {
            self.hand()?;
        }
        Ok(())
    }
}

/// The store: a backend plus the domain's reads and writes.
pub struct Store {
    db: Box<dyn Backend>,
    url: String,
    in_tx: bool,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("url", &redact(&self.url))
            .finish()
    }
}

/// `[from - 1 day, to + 1 day)` as timestamp text bounds: wide enough for any time zone.
fn widened(from: Date, to: Date) -> (String, String) {
    let day = time::Duration::days(1);
    (fmt_date(from - day), fmt_date(to + day))
}

/// Hides a password in a connection URL.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The secondary indexes of migration 0002, which bulk loads suspend and restore.
const BULK_INDEXES: &[(&str, &str)] = &[
    ("opportunities_owner", "opportunities (owner_id)"),
    ("opportunities_close", "opportunities (close_on)"),
    ("activities_owner", "activities (owner_id, at)"),
    ("leads_owner", "leads (owner_id, created_at)"),
];

const TABLES: &[&str] = &[
    "units",
    "people",
    "reporting_lines",
    "memberships",
    "accounts",
    "leads",
    "opportunities",
    "stage_history",
    "activities",
    "quotas",
    "spend",
    "currency_rates",
    "surveys",
];

impl Store {
    /// Opens (and migrates) the store at `url`: a `postgres://` or `postgresql://` URL, a
    /// `sqlite://PATH` URL, or a plain file path for SQLite. A PostgreSQL URL may carry
    /// `?schema=NAME` (or `&schema=NAME`) to keep salesorg's tables in that schema.
    pub fn open(url: &str) -> Result<Store> {
        let db: Box<dyn Backend> =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Box::new(postgres::Pg::connect(url)?)
            } else {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                Box::new(sqlite::Lite::open(path)?)
            };
        let mut s = Store {
            db,
            url: url.to_owned(),
            in_tx: false,
        };
        migrate::run(s.db.as_mut())?;
        Ok(s)
    }

    pub fn backend(&self) -> BackendKind {
        self.db.kind()
    }
    pub fn url(&self) -> &str {
        &self.url
    }
    pub fn schema_version(&mut self) -> Result<i64> {
        migrate::current(self.db.as_mut())
    }

    /// Runs `f` with SQLite's page cache small: reads that scan whole tables once (the
    /// scorecard's load) gain nothing from the cache that bulk writes want large (256
    /// MiB); a scan only fills it (at 10M opportunities, all of it stayed in the load's
    /// peak). The cache is large again afterwards, whatever `f` returned.
    /// PostgreSQL's cache is the server's: there `f` just runs.
    pub fn scanning<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.db.kind() != BackendKind::Sqlite {
            return f(self);
        }
        let set = |s: &mut Store, kib: i64| s.db.batch(&format!("PRAGMA cache_size = -{kib}"));
        set(self, sqlite::SCAN_CACHE_KIB)?;
        let out = f(self);
        set(self, sqlite::BULK_CACHE_KIB)?;
        out
    }
    /// The raw backend, for the engine's bulk scans. Reads through it are not scoped:
    /// the name says so, and access-controlled callers must not use it.
    pub fn unscoped_backend(&mut self) -> &mut dyn Backend {
        self.db.as_mut()
    }

    /// Runs `f` in one transaction: everything it wrote is committed together, or, if it
    /// fails (or the process dies), nothing is.
    pub fn atomic<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.in_tx {
            return f(self);
        }
        self.begin()?;
        let out = f(self);
        self.in_tx = false;
        match out {
            Ok(v) => {
                self.db.batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                self.db.batch("ROLLBACK")?;
                Err(e)
            }
        }
    }

    /// Begins the transaction of [`Store::atomic`] or [`Store::trial`] (SQLite's takes the
    /// write lock at once).
    fn begin(&mut self) -> Result<()> {
        let begin = match self.db.kind() {
            BackendKind::Sqlite => "BEGIN IMMEDIATE",
            BackendKind::Postgres => "BEGIN",
        };
        self.db.batch(begin)?;
        self.in_tx = true;
        Ok(())
    }

    /// Runs `f` in one transaction and then rolls it back, whatever `f` returns: nothing it
    /// wrote stays (a dry run). Not inside another transaction, which it could not undo
    /// apart from the rest.
    pub fn trial<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.in_tx {
            return Err(
                StoreError::Conflict("a trial cannot run inside a transaction".into()).into(),
            );
        }
        self.begin()?;
        let out = f(self);
        self.in_tx = false;
        self.db.batch("ROLLBACK")?;
        out
    }

    fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::new();
        self.db.query_each(sql, params, &mut |r| {
            out.push(r.to_vec());
            Ok(())
        })?;
        Ok(out)
    }

    /// Row counts of every data table, in schema order.
    /// `(store_id, version)`: which store this is, and a counter that every write of
    /// data or settings moves on (in the same transaction). Caches key on it.
    pub fn data_version(&mut self) -> Result<(String, i64)> {
        let rows = self.rows("SELECT store_id, version FROM store_meta WHERE id = 1", &[])?;
        let r = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("store_meta has no row".into()))?;
        Ok((
            r[0].as_text().unwrap_or_default().to_owned(),
            r[1].as_int().unwrap_or(0),
        ))
    }

    fn bump(&mut self) -> Result<()> {
        self.db.execute(
            "UPDATE store_meta SET version = version + 1 WHERE id = 1",
            &[],
        )?;
        Ok(())
    }

    pub fn counts(&mut self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for t in TABLES {
            let n = self.rows(&format!("SELECT COUNT(*) FROM {t}"), &[])?;
            out.push((*t, n.first().and_then(|r| r[0].as_int()).unwrap_or(0)));
        }
        Ok(out)
    }

    /// The money the store holds, each amount taken whole, summed exactly (for the check
    /// that no scorecard's sum can overflow: `MoneyTotals`). Each amount is summed in two
    /// halves of 32 bits, which no count of rows a table can hold takes past an `i64`.
    /// Only the tables asked for are read (each a scan): the deals, the spend, the quotas
    /// and targets; the others' totals are 0.
    pub fn money_totals(&mut self, deals: bool, spend: bool, quotas: bool) -> Result<MoneyTotals> {
        let halves = "CAST(SUM(ABS(amount) / 4294967296) AS BIGINT), \
                      CAST(SUM(ABS(amount) % 4294967296) AS BIGINT)";
        let whole = |r: &[Value]| -> u128 {
            let part = |v: &Value| v.as_int().unwrap_or(0).unsigned_abs() as u128;
            (part(&r[0]) << 32) + part(&r[1])
        };
        let mut t = MoneyTotals::default();
        if deals {
            // each deal at the largest amount it ever had: its own or an earlier one of its
            // stage history's (the history is clustered by deal: one ordered scan)
            let larger = match self.db.kind() {
                BackendKind::Sqlite => "MAX",
                BackendKind::Postgres => "GREATEST",
            };
            let sql = format!(
                "SELECT currency, COUNT(*), {halves} FROM ( \
                   SELECT o.currency, {larger}(COALESCE(ABS(o.amount), 0), COALESCE(h.top, 0)) \
                     AS amount \
                   FROM opportunities o LEFT JOIN ( \
                     SELECT opp_id, MAX(ABS(amount)) AS top FROM stage_history \
                     WHERE amount IS NOT NULL GROUP BY opp_id \
                   ) h ON h.opp_id = o.id \
                   WHERE o.amount IS NOT NULL OR h.top IS NOT NULL \
                 ) d GROUP BY currency ORDER BY currency"
            );
            for r in self.rows(&sql, &[])? {
                let ccy = r[0].as_text().unwrap_or_default();
                let ccy = Currency::parse(ccy).map_err(|e| {
                    StoreError::Corrupt(format!("opportunity currency {ccy:?}: {e}"))
                })?;
                let n = r[1].as_int().unwrap_or(0).max(0) as u64;
                t.deals.push((ccy, whole(&r[2..]), n));
            }
        }
        if spend {
            let sql = format!("SELECT {halves} FROM spend");
            t.spend = self.rows(&sql, &[])?.first().map_or(0, |r| whole(r));
        }
        if quotas {
            let quota = "CASE WHEN metric = 'bookings' THEN 1 ELSE 0 END";
            let sql = format!("SELECT {quota}, {halves} FROM quotas GROUP BY {quota}");
            for r in self.rows(&sql, &[])? {
                let sum = match r[0].as_int() {
                    Some(1) => &mut t.quotas,
                    _ => &mut t.targets,
                };
                *sum += whole(&r[1..]);
            }
        }
        Ok(t)
    }

    /// Upper bounds of the store's money totals ([`Store::money_totals`]) and the data
    /// version at which they hold, as an import last saved them; `None` when none are
    /// saved.
    pub fn money_bounds(&mut self) -> Result<Option<(i64, MoneyTotals)>> {
        let rows = self.rows(
            "SELECT kind, total, n, version FROM money_bounds ORDER BY kind",
            &[],
        )?;
        let Some(version) = rows.first().and_then(|r| r[3].as_int()) else {
            return Ok(None);
        };
        let mut t = MoneyTotals::default();
        for r in &rows {
            let kind = r[0].as_text().unwrap_or_default();
            let bad = || StoreError::Corrupt(format!("money bound {kind:?}"));
            let total: u128 = r[1]
                .as_text()
                .and_then(|x| x.parse().ok())
                .ok_or_else(bad)?;
            let n = r[2].as_int().unwrap_or(0).max(0) as u64;
            if r[3].as_int() != Some(version) {
                return Ok(None);
            }
            match kind.split_once(':') {
                Some(("deals", ccy)) => {
                    t.deals
                        .push((Currency::parse(ccy).map_err(|_| bad())?, total, n))
                }
                _ => match kind {
                    "history" => t.history = total,
                    "spend" => t.spend = total,
                    "quotas" => t.quotas = total,
                    "targets" => t.targets = total,
                    _ => return Err(bad()),
                },
            }
        }
        Ok(Some((version, t)))
    }

    /// Saves upper bounds of the store's money totals as of data version `version` (which
    /// it does not move: they are derived from the data).
    pub fn save_money_bounds(&mut self, version: i64, t: &MoneyTotals) -> Result<()> {
        self.db.execute("DELETE FROM money_bounds", &[])?;
        let mut rows: Vec<(String, u128, u64)> = t
            .deals
            .iter()
            .map(|&(c, total, n)| (format!("deals:{c}"), total, n))
            .collect();
        rows.extend([
            ("history".to_owned(), t.history, 0),
            ("spend".to_owned(), t.spend, 0),
            ("quotas".to_owned(), t.quotas, 0),
            ("targets".to_owned(), t.targets, 0),
        ]);
        for (kind, total, n) in rows {
            self.db.execute(
                "INSERT INTO money_bounds (kind, total, n, version) VALUES (?, ?, ?, ?)",
                &[
                    Value::from(kind.as_str()),
                    Value::from(total.to_string().as_str()),
                    Value::from(n as i64),
                    Value::from(version),
                ],
            )?;
        }
        Ok(())
    }

    /// Whether each of `tables` is empty (a row read at most from each).
    fn all_empty(&mut self, tables: &[&str]) -> Result<bool> {
        for t in tables {
            let mut any = false;
            self.db
                .query_each(&format!("SELECT 1 FROM {t} LIMIT 1"), &[], &mut |_| {
                    any = true;
                    Ok(())
                })?;
            if any {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether the store holds no money: no deal, stage history, spend, quota or target
    /// (its money totals are all 0, without a scan).
    pub fn holds_no_money(&mut self) -> Result<bool> {
        self.all_empty(&["opportunities", "stage_history", "spend", "quotas"])
    }

    /// Before a bulk load into empty tables: drops the secondary indexes, which are
    /// cheaper to build once at the end than to maintain row by row. Returns whether it
    /// did (only when the big tables are empty). Run inside the load's transaction.
    pub fn suspend_indexes(&mut self) -> Result<bool> {
        if !self.all_empty(&["opportunities", "stage_history", "activities", "leads"])? {
            return Ok(false);
        }
        for (name, _) in BULK_INDEXES {
            self.db.batch(&format!("DROP INDEX IF EXISTS {name}"))?;
        }
        Ok(true)
    }

    /// Before a bulk load into an empty SQLite store: writes pages straight to the
    /// database file with a rollback journal instead of going through the WAL (whose
    /// checkpoint would copy every page a second time). Atomicity is the same. Falls back
    /// silently to WAL when another connection holds the store. Call outside a transaction;
    /// [`end_bulk`](Self::end_bulk) restores WAL.
    pub fn begin_bulk(&mut self) -> Result<bool> {
        if self.db.kind() != BackendKind::Sqlite || self.in_tx || !self.is_empty()? {
            return Ok(false);
        }
        let mut mode = String::new();
        let r = self
            .db
            .query_each("PRAGMA journal_mode = DELETE", &[], &mut |r| {
                mode = r[0].as_text().unwrap_or_default().to_owned();
                Ok(())
            });
        Ok(r.is_ok() && mode.eq_ignore_ascii_case("delete"))
    }

    /// Returns to WAL after [`begin_bulk`](Self::begin_bulk).
    pub fn end_bulk(&mut self) -> Result<()> {
        self.db
            .query_each("PRAGMA journal_mode = WAL", &[], &mut |_| Ok(()))
    }

    /// Rebuilds the indexes [`suspend_indexes`](Self::suspend_indexes) dropped.
    pub fn restore_indexes(&mut self) -> Result<()> {
        for (name, on) in BULK_INDEXES {
            self.db
                .batch(&format!("CREATE INDEX IF NOT EXISTS {name} ON {on}"))?;
        }
        Ok(())
    }

    /// Deletes every record (org, CRM data, imports), keeping settings and the schema.
    pub fn clear_data(&mut self) -> Result<()> {
        self.bump()?;
        for t in TABLES {
            self.db.execute(&format!("DELETE FROM {t}"), &[])?;
        }
        self.db.execute("DELETE FROM imports", &[])?;
        Ok(())
    }

    /// True when the store holds no org and no CRM records.
    pub fn is_empty(&mut self) -> Result<bool> {
        Ok(self.counts()?.iter().all(|(_, n)| *n == 0))
    }

    /// A stable fingerprint of every data table's content, for "the store is unchanged"
    /// checks: row counts plus a digest of every row in key order.
    pub fn fingerprint(&mut self) -> Result<String> {
        let mut out = String::new();
        for t in TABLES {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            let mut n = 0u64;
            self.db.query_each(
                &format!("SELECT * FROM {t} ORDER BY 1, 2, 3"),
                &[],
                &mut |r| {
                    n += 1;
                    for v in r {
                        let s = match v {
                            Value::Null => "\u{0}".to_owned(),
                            Value::Int(i) => i.to_string(),
                            Value::Text(t) => t.clone(),
                        };
                        for b in s.bytes().chain([0xff]) {
                            h ^= b as u64;
                            h = h.wrapping_mul(0x100_0000_01b3);
                        }
                    }
                    Ok(())
                },
            )?;
            out.push_str(&format!("{t}:{n}:{h:016x};"));
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- settings

    pub fn settings(&mut self) -> Result<Settings> {
        let mut s = Settings::default();
        for r in self.rows("SELECT key, value FROM settings ORDER BY key", &[])? {
            let (Some(k), Some(v)) = (r[0].as_text(), r[1].as_text()) else {
                continue;
            };
            s.set(k, v)
                .map_err(|e| StoreError::Corrupt(format!("setting {k}: {e}")))?;
        }
        Ok(s)
    }

    pub fn save_settings(&mut self, s: &Settings) -> Result<()> {
        self.bump()?;
        let mut set = salesorg_core::settings::KEYS
            .iter()
            .filter_map(|k| s.get(k).map(|v| (*k, v)));
        let mut rows = |r: &mut RowOut| set.next().map(|(k, v)| r.str(k).str(&v)).is_some();
        self.db
            .upsert("settings", &["key", "value"], &["key"], &mut rows)?;
        Ok(())
    }

    // ---------------------------------------------------------------- org

    pub fn upsert_people(&mut self, people: &[Person]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(people.iter(), person_row);
        self.db.upsert("people", PERSON_COLS, &["id"], &mut rows)
    }
    pub fn people(&mut self) -> Result<Vec<Person>> {
        let sql = format!("SELECT {} FROM people ORDER BY id", PERSON_COLS.join(", "));
        self.rows(&sql, &[])?
            .iter()
            .map(|r| person_from(r))
            .collect()
    }
    pub fn upsert_units(&mut self, units: &[Unit]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(units.iter(), unit_row);
        self.db.upsert("units", UNIT_COLS, &["id"], &mut rows)
    }
    pub fn units(&mut self) -> Result<Vec<Unit>> {
        let sql = format!("SELECT {} FROM units ORDER BY id", UNIT_COLS.join(", "));
        self.rows(&sql, &[])?.iter().map(|r| unit_from(r)).collect()
    }
    /// Replaces every reporting line. The org tables are small (one row per person and
    /// change), so the importer computes the whole history and writes it back.
    /// A line that ends on or before the day it starts is refused before anything is
    /// written: the store could not read it back.
    pub fn replace_lines(&mut self, lines: &[ReportingLine]) -> Result<()> {
        for l in lines {
            spans("reporting line", &l.person, &l.valid)?;
        }
        self.bump()?;
        self.db.execute("DELETE FROM reporting_lines", &[])?;
        let mut rows = each_row(lines.iter(), line_row);
        self.db.upsert(
            "reporting_lines",
            LINE_COLS,
            &["person_id", "valid_from"],
            &mut rows,
        )?;
        Ok(())
    }
    pub fn lines(&mut self) -> Result<Vec<ReportingLine>> {
        let sql = format!(
            "SELECT {} FROM reporting_lines ORDER BY person_id, valid_from",
            LINE_COLS.join(", ")
        );
        self.rows(&sql, &[])?.iter().map(|r| line_from(r)).collect()
    }
    /// As [`Store::replace_lines`], a membership that ends on or before its start is refused.
    pub fn replace_memberships(&mut self, ms: &[Membership]) -> Result<()> {
        for m in ms {
            spans("unit membership", &m.person, &m.valid)?;
        }
        self.bump()?;
        self.db.execute("DELETE FROM memberships", &[])?;
        let mut rows = each_row(ms.iter(), membership_row);
        self.db.upsert(
            "memberships",
            MEMBERSHIP_COLS,
            &["person_id", "unit_id", "valid_from"],
            &mut rows,
        )?;
        Ok(())
    }
    pub fn memberships(&mut self) -> Result<Vec<Membership>> {
        let sql = format!(
            "SELECT {} FROM memberships ORDER BY person_id, unit_id, valid_from",
            MEMBERSHIP_COLS.join(", ")
        );
        self.rows(&sql, &[])?
            .iter()
            .map(|r| membership_from(r))
            .collect()
    }
    /// The validated org history.
    pub fn org(&mut self) -> Result<OrgHistory> {
        let units = self.units()?;
        let lines = self.lines()?;
        let ms = self.memberships()?;
        OrgHistory::new(units, lines, ms).map_err(|errs| {
            StoreError::Org(
                errs.iter()
                    .map(CoreError::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }

    // ---------------------------------------------------------------- CRM records

    pub fn upsert_accounts(&mut self, v: &[Account]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v.iter(), account_row);
        self.db.upsert("accounts", ACCOUNT_COLS, &["id"], &mut rows)
    }
    pub fn accounts(&mut self) -> Result<Vec<Account>> {
        collected(|f| self.scan_accounts(f))
    }
    /// Streams every account in id order without holding them all (2.5M accounts held
    /// as rows and then as records were 1.4 GB of a first scorecard's load).
    pub fn scan_accounts(&mut self, f: &mut dyn FnMut(Account) -> Result<()>) -> Result<()> {
        self.scan_rows(Scanned::Accounts, &mut |r| f(account_from(r)?))
    }
    /// Streams a large table's rows as the database gives them, in the order of its
    /// `scan_…` method, for the caller to decode with the table's codec (`opp_from`, …)
    /// where it likes: on another thread than the one reading, say. The row's values are
    /// lent for the call only.
    pub fn scan_rows(
        &mut self,
        table: Scanned,
        f: &mut dyn FnMut(&[Value]) -> Result<()>,
    ) -> Result<()> {
        self.db.query_each(&Self::scan_sql(table), &[], f)
    }
    /// [`Store::scan_rows`] in batches of up to `batch` rows (see
    /// [`Backend::query_batches`]): for a reader that hands the rows to another thread.
    pub fn scan_batches(
        &mut self,
        table: Scanned,
        batch: usize,
        f: &mut dyn FnMut(&mut Vec<Raw>, usize) -> Result<()>,
    ) -> Result<()> {
        self.db.query_batches(&Self::scan_sql(table), &[], batch, f)
    }
    /// The query that reads every row of `table`, in its order (a brief scan's columns
    /// that no scorecard reads as `NULL`, each in its place).
    fn scan_sql(table: Scanned) -> String {
        let (cols, unread, from): (_, &[&str], _) = match table {
            Scanned::Accounts => (ACCOUNT_COLS, &[], "accounts ORDER BY id"),
            Scanned::Opportunities => (OPP_COLS, &[], "opportunities ORDER BY id"),
            Scanned::OpportunitiesBrief => (OPP_COLS, OPP_UNREAD, "opportunities ORDER BY id"),
            Scanned::StageHistory => (HISTORY_COLS, &[], "stage_history ORDER BY opp_id, at, id"),
            Scanned::Leads => (LEAD_COLS, &[], "leads ORDER BY id"),
            Scanned::LeadsBrief => (LEAD_COLS, LEAD_UNREAD, "leads ORDER BY id"),
            Scanned::Activities => (ACTIVITY_COLS, &[], "activities ORDER BY id"),
            Scanned::ActivitiesBrief => (ACTIVITY_COLS, ACTIVITY_UNREAD, "activities ORDER BY id"),
            Scanned::Surveys => (SURVEY_COLS, &[], "surveys ORDER BY id"),
        };
        let cols: Vec<&str> = cols
            .iter()
            .map(|&c| if unread.contains(&c) { "NULL" } else { c })
            .collect();
        format!("SELECT {} FROM {from}", cols.join(", "))
    }
    pub fn upsert_leads(&mut self, v: &[Lead]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v.iter(), lead_row);
        self.db.upsert("leads", LEAD_COLS, &["id"], &mut rows)
    }
    pub fn leads(&mut self) -> Result<Vec<Lead>> {
        collected(|f| self.scan_leads(f))
    }
    /// Streams every lead in id order.
    pub fn scan_leads(&mut self, f: &mut dyn FnMut(Lead) -> Result<()>) -> Result<()> {
        self.scan_rows(Scanned::Leads, &mut |r| f(lead_from(r)?))
    }
    pub fn upsert_opportunities(
        &mut self,
        v: &mut dyn Iterator<Item = &Opportunity>,
    ) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v, opp_row);
        self.db
            .upsert("opportunities", OPP_COLS, &["id"], &mut rows)
    }
    pub fn opportunities(&mut self) -> Result<Vec<Opportunity>> {
        collected(|f| self.scan_opportunities(f))
    }
    /// Streams every opportunity in id order without holding them all.
    pub fn scan_opportunities(
        &mut self,
        f: &mut dyn FnMut(Opportunity) -> Result<()>,
    ) -> Result<()> {
        self.scan_rows(Scanned::Opportunities, &mut |r| f(opp_from(r)?))
    }
    pub fn opportunity(&mut self, id: &str) -> Result<Option<Opportunity>> {
        let sql = format!(
            "SELECT {} FROM opportunities WHERE id = ?",
            OPP_COLS.join(", ")
        );
        self.rows(&sql, &[id.into()])?
            .first()
            .map(|r| opp_from(r))
            .transpose()
    }
    pub fn upsert_stage_history(
        &mut self,
        v: &mut dyn Iterator<Item = &StageChange>,
    ) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v, history_row);
        self.db.upsert(
            "stage_history",
            HISTORY_COLS,
            &["opp_id", "at", "id"],
            &mut rows,
        )
    }
    pub fn stage_history(&mut self) -> Result<Vec<StageChange>> {
        collected(|f| self.scan_stage_history(f))
    }
    /// Streams the stage history grouped by opportunity, in time order.
    pub fn scan_stage_history(
        &mut self,
        f: &mut dyn FnMut(StageChange) -> Result<()>,
    ) -> Result<()> {
        self.scan_rows(Scanned::StageHistory, &mut |r| f(history_from(r)?))
    }
    pub fn upsert_activities(&mut self, v: &mut dyn Iterator<Item = &Activity>) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v, activity_row);
        self.db
            .upsert("activities", ACTIVITY_COLS, &["id"], &mut rows)
    }
    pub fn activities(&mut self) -> Result<Vec<Activity>> {
        collected(|f| self.scan_activities(f))
    }
    /// Streams every activity in id order.
    pub fn scan_activities(&mut self, f: &mut dyn FnMut(Activity) -> Result<()>) -> Result<()> {
        self.scan_rows(Scanned::Activities, &mut |r| f(activity_from(r)?))
    }
    pub fn upsert_quotas(&mut self, v: &[Quota]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v.iter(), quota_row);
        self.db.upsert(
            "quotas",
            QUOTA_COLS,
            &[
                "target_kind",
                "target_id",
                "period_start",
                "period_end",
                "metric",
            ],
            &mut rows,
        )
    }
    pub fn quotas(&mut self) -> Result<Vec<Quota>> {
        let sql = format!(
            "SELECT {} FROM quotas ORDER BY target_kind, target_id, period_start",
            QUOTA_COLS.join(", ")
        );
        self.rows(&sql, &[])?
            .iter()
            .map(|r| quota_from(r))
            .collect()
    }
    pub fn upsert_spend(&mut self, v: &[Spend]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v.iter(), spend_row);
        self.db.upsert(
            "spend",
            SPEND_COLS,
            &["day", "scope_kind", "scope_id", "category"],
            &mut rows,
        )
    }
    pub fn spend(&mut self) -> Result<Vec<Spend>> {
        let sql = format!(
            "SELECT {} FROM spend ORDER BY day, scope_kind, scope_id",
            SPEND_COLS.join(", ")
        );
        self.rows(&sql, &[])?
            .iter()
            .map(|r| spend_from(r))
            .collect()
    }
    pub fn upsert_rates(&mut self, v: &[CurrencyRate]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v.iter(), rate_row);
        self.db.upsert(
            "currency_rates",
            RATE_COLS,
            &["day", "from_ccy", "to_ccy"],
            &mut rows,
        )
    }
    pub fn rates(&mut self) -> Result<Vec<CurrencyRate>> {
        let sql = format!(
            "SELECT {} FROM currency_rates ORDER BY day, from_ccy, to_ccy",
            RATE_COLS.join(", ")
        );
        self.rows(&sql, &[])?.iter().map(|r| rate_from(r)).collect()
    }
    pub fn upsert_surveys(&mut self, v: &[SurveyResponse]) -> Result<u64> {
        self.bump()?;
        let mut rows = each_row(v.iter(), survey_row);
        self.db.upsert("surveys", SURVEY_COLS, &["id"], &mut rows)
    }
    pub fn surveys(&mut self) -> Result<Vec<SurveyResponse>> {
        collected(|f| self.scan_surveys(f))
    }
    /// Streams every survey response in id order without holding them all.
    pub fn scan_surveys(&mut self, f: &mut dyn FnMut(SurveyResponse) -> Result<()>) -> Result<()> {
        self.scan_rows(Scanned::Surveys, &mut |r| f(survey_from(r)?))
    }

    /// One owner's opportunities whose close date (actual or expected) is in `[from, to)`,
    /// by close date then id.
    pub fn opportunities_of_owner(
        &mut self,
        owner: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<Opportunity>> {
        let sql = format!(
            "SELECT {} FROM opportunities WHERE owner_id = ? AND close_on >= ? AND close_on < ? ORDER BY close_on, id",
            OPP_COLS.join(", ")
        );
        self.rows(
            &sql,
            &[owner.into(), fmt_date(from).into(), fmt_date(to).into()],
        )?
        .iter()
        .map(|r| opp_from(r))
        .collect()
    }
    /// One owner's leads created in `[from, to)` widened by a day each side (the caller
    /// takes each timestamp's local date), by time then id.
    pub fn leads_of_owner(&mut self, owner: &str, from: Date, to: Date) -> Result<Vec<Lead>> {
        let sql = format!(
            "SELECT {} FROM leads WHERE owner_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, id",
            LEAD_COLS.join(", ")
        );
        let (a, b) = widened(from, to);
        self.rows(&sql, &[owner.into(), a.into(), b.into()])?
            .iter()
            .map(|r| lead_from(r))
            .collect()
    }
    /// One owner's activities in `[from, to)` widened by a day each side, by time then id.
    pub fn activities_of_owner(
        &mut self,
        owner: &str,
        from: Date,
        to: Date,
    ) -> Result<Vec<Activity>> {
        let sql = format!(
            "SELECT {} FROM activities WHERE owner_id = ? AND at >= ? AND at < ? ORDER BY at, id",
            ACTIVITY_COLS.join(", ")
        );
        let (a, b) = widened(from, to);
        self.rows(&sql, &[owner.into(), a.into(), b.into()])?
            .iter()
            .map(|r| activity_from(r))
            .collect()
    }

    /// Records a finished import (inside the import's transaction).
    pub fn record_import(
        &mut self,
        source: &str,
        path: &str,
        effective: &str,
        summary: &str,
    ) -> Result<()> {
        self.bump()?;
        self.db.execute(
            "INSERT INTO imports (source, path, effective, summary) VALUES (?, ?, ?, ?)",
            &[source.into(), path.into(), effective.into(), summary.into()],
        )?;
        Ok(())
    }
    /// Past imports, newest first: (source, path, effective date, summary).
    pub fn imports(&mut self) -> Result<Vec<(String, String, String, String)>> {
        Ok(self
            .rows(
                "SELECT source, path, effective, summary FROM imports ORDER BY id DESC",
                &[],
            )?
            .into_iter()
            .map(|r| {
                let t = |i: usize| r[i].as_text().unwrap_or_default().to_owned();
                (t(0), t(1), t(2), t(3))
            })
            .collect())
    }

    /// Which kind of thing an id names in this store: used to resolve the source's own
    /// ids wherever the CLI takes a person, team or unit.
    pub fn resolve_id(&mut self, id: &str) -> Result<Option<&'static str>> {
        for (table, kind) in [("people", "person"), ("units", "unit")] {
            let r = self.rows(&format!("SELECT 1 FROM {table} WHERE id = ?"), &[id.into()])?;
            if !r.is_empty() {
                return Ok(Some(kind));
            }
        }
        Ok(None)
    }
    /// Finds a person by id, or else by exact name (case-insensitive) when that is unique.
    pub fn find_person(&mut self, key: &str) -> Result<Option<Person>> {
        let sql = format!("SELECT {} FROM people WHERE id = ?", PERSON_COLS.join(", "));
        if let Some(r) = self.rows(&sql, &[key.into()])?.first() {
            return Ok(Some(person_from(r)?));
        }
        let sql = format!(
            "SELECT {} FROM people WHERE LOWER(name) = LOWER(?)",
            PERSON_COLS.join(", ")
        );
        let rows = self.rows(&sql, &[key.into()])?;
        if rows.len() == 1 {
            Ok(Some(person_from(&rows[0])?))
        } else {
            Ok(None)
        }
    }
}

pub mod testing {
    //! Test support: a fresh store on each backend, dropped after the test. PostgreSQL
    //! comes from `SALESORG_TEST_PG_URL` (default: the local server's `test` database) and
    //! each test gets its own schema.

    use std::sync::atomic::{AtomicU32, Ordering};

    use crate::{BackendKind, Store};

    pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

    static N: AtomicU32 = AtomicU32::new(0);

    /// A store that removes itself (file or schema) when dropped.
    pub struct TestStore {
        pub store: Store,
        pub url: String,
        _dir: Option<TempDir>,
        pg_schema: Option<(String, String)>,
    }

    /// A minimal temporary folder (removed on drop), so the store crate needs no extra
    /// dependency.
    pub struct TempDir(std::path::PathBuf);
    impl TempDir {
        pub fn new() -> std::io::Result<TempDir> {
            let n = N.fetch_add(1, Ordering::Relaxed);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let p = std::env::temp_dir()
                .join(format!("salesorg-test-{}-{n}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&p)?;
            Ok(TempDir(p))
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    impl std::ops::Deref for TestStore {
        type Target = Store;
        fn deref(&self) -> &Store {
            &self.store
        }
    }
    impl std::ops::DerefMut for TestStore {
        fn deref_mut(&mut self) -> &mut Store {
            &mut self.store
        }
    }
    impl Drop for TestStore {
        fn drop(&mut self) {
            if let Some((base, schema)) = &self.pg_schema
                && let Ok(mut c) = postgres::Client::connect(base, postgres::NoTls)
            {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }

    impl TestStore {
        /// Runs SQL on the store past its API, to put in what the API never writes (a
        /// row that does not read back, say).
        pub fn corrupt_with_sql(&mut self, sql: &str) {
            self.store.db.batch(sql).expect("the test's SQL");
        }
    }

    pub fn pg_base() -> String {
        std::env::var("SALESORG_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned())
    }

    /// A fresh, migrated store on `kind`. Panics (failing the test) when PostgreSQL is
    /// not reachable: store tests must run on both backends.
    pub fn fresh(kind: BackendKind) -> TestStore {
        match kind {
            BackendKind::Sqlite => {
                let dir = TempDir::new().expect("temp dir");
                let url = dir.path().join("test.db").to_string_lossy().into_owned();
                let store = Store::open(&url).expect("open sqlite");
                TestStore {
                    store,
                    url,
                    _dir: Some(dir),
                    pg_schema: None,
                }
            }
            BackendKind::Postgres => {
                let base = pg_base();
                let n = N.fetch_add(1, Ordering::Relaxed);
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let schema = format!("t_{}_{n}_{nanos}", std::process::id());
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}schema={schema}");
                let store = Store::open(&url).unwrap_or_else(|e| {
                    panic!("PostgreSQL test store at {base}: {e} (set SALESORG_TEST_PG_URL)")
                });
                TestStore {
                    store,
                    url,
                    _dir: None,
                    pg_schema: Some((base, schema)),
                }
            }
        }
    }

    pub const BOTH: [BackendKind; 2] = [BackendKind::Sqlite, BackendKind::Postgres];

    /// A TCP port free on this machine's loopback, for a server a test starts.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.1")
    }

    /// Copies every file of folder `from` into folder `to`: a fixture export to change in
    /// a test without touching the fixture.
    pub fn copy_files(from: impl AsRef<std::path::Path>, to: impl AsRef<std::path::Path>) {
        let to = to.as_ref();
        for entry in std::fs::read_dir(from).expect("the fixture folder reads") {
            let e = entry.expect("the fixture folder lists");
            std::fs::copy(e.path(), to.join(e.file_name())).expect("the fixture file copies");
        }
    }
}
