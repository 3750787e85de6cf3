//! The import pipeline shared by every source. An importer parses its files into records
//! and hands them to a [`Loader`], which writes them to the store in chunks inside one
//! transaction, checks duplicates and references, and merges the org's reporting lines
//! and units effective-dated. Any problem rolls the whole batch back, unless
//! `--skip-bad-rows` is given, in which case bad rows go to a rejects file instead.

pub mod fields;
pub mod hubspot;
pub mod mapped;
pub mod maven;
pub mod native;
pub mod salesforce;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::path::{Path, PathBuf};

use salesorg_core::date::{Date, fmt_date, parse_date};
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money, RATE_SCALE};
use salesorg_core::org::{OrgHistory, move_line};
use salesorg_core::records::*;
use salesorg_core::scorecard::book::{MoneyKind, MoneyTotals};
use salesorg_store::{Store, Value};

use crate::problem::{Problem, Problems};
use crate::{EngineError, Progress, Result};

/// The date reporting lines of a first import start from: "the start of history".
pub fn start_of_history() -> Date {
    parse_date("1900-01-01").unwrap_or(Date::MIN)
}

/// Where a record came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: u64,
    pub column: Option<usize>,
}

impl Origin {
    pub fn problem(&self, reason: impl Into<String>) -> Problem {
        Problem::at(&self.file, self.line, self.column, reason)
    }
    pub fn col(&self, column: Option<usize>) -> Origin {
        Origin {
            column,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// When a changed manager or unit takes effect; default: the export's date.
    pub effective: Option<Date>,
    /// Today's date, from the caller (the engine has no clock); the last-resort export date.
    pub today: Option<Date>,
    pub skip_bad_rows: bool,
    /// Where rejected rows go with `skip_bad_rows` (default `<input>.rejects.csv`).
    pub rejects: Option<PathBuf>,
    /// The owner to give records when the export has no owner column.
    pub default_owner: Option<String>,
    /// The mapping file, for the `csv` source.
    pub mapping: Option<PathBuf>,
    /// Read and check everything, write it in a transaction, and roll it back: the summary
    /// of what the import would do, and nothing written (no rejects file either).
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub source: String,
    pub counts: Vec<(&'static str, u64)>,
    pub effective: Option<Date>,
    pub org_changes: u64,
    pub rejected: u64,
    pub rejects_file: Option<PathBuf>,
    pub notes: Vec<String>,
    /// Wall time of each phase, for `--timings` and the benchmark.
    pub phases: Vec<(&'static str, std::time::Duration)>,
    /// A dry run ([`ImportOptions::dry_run`]): what the import would do; nothing written.
    pub dry_run: bool,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        write!(
            f,
            "{} {} from {}",
            if self.dry_run {
                "a dry run, nothing written: would import"
            } else {
                "imported"
            },
            if parts.is_empty() {
                "nothing".into()
            } else {
                parts.join(", ")
            },
            self.source
        )?;
        if let Some(e) = self.effective {
            write!(
                f,
                "; org changes effective {} ({} changed)",
                fmt_date(e),
                self.org_changes
            )?;
        }
        if self.rejected > 0 {
            let skipped = if self.dry_run {
                "would be skipped"
            } else {
                "skipped"
            };
            write!(f, "; {} bad rows {skipped}", self.rejected)?;
            if let Some(p) = &self.rejects_file {
                write!(f, " (see {})", p.display())?;
            }
        }
        for n in &self.notes {
            write!(f, "\nnote: {n}")?;
        }
        Ok(())
    }
}

const CHUNK: usize = 20_000;

/// Why a quota below zero is refused (a target to sell less than nothing: its attainment
/// would be negative for every sale).
const NEGATIVE_QUOTA: &str = "a quota must not be negative";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Person,
    Unit,
    Account,
    Lead,
    Opportunity,
    History,
    Activity,
    Quota,
    Spend,
    Rate,
    Survey,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Person => "people",
            Kind::Unit => "units",
            Kind::Account => "accounts",
            Kind::Lead => "leads",
            Kind::Opportunity => "opportunities",
            Kind::History => "stage_history",
            Kind::Activity => "activities",
            Kind::Quota => "quotas",
            Kind::Spend => "spend",
            Kind::Rate => "currency_rates",
            Kind::Survey => "surveys",
        }
    }
    fn noun(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Unit => "unit",
            Kind::Account => "account",
            Kind::Lead => "lead",
            Kind::Opportunity => "opportunity",
            Kind::History => "stage history row",
            Kind::Activity => "activity",
            Kind::Quota => "quota",
            Kind::Spend => "spend entry",
            Kind::Rate => "currency rate",
            Kind::Survey => "survey response",
        }
    }
}

/// A reference to check once every record of the batch is in: `from` (a record of kind
/// `from_kind` with id `from_id`) names `id`, which must exist as a `to`.
struct PendingRef {
    to: Kind,
    id: String,
    from_kind: Kind,
    from_id: String,
    origin: Origin,
    what: &'static str,
}

/// References that may point outside the export (a parent account the export does not
/// include): kept as written and reported as a note rather than refused.
const SOFT: &[&str] = &["parent account"];

impl Loader<'_> {
    /// Makes references of this kind ("account", …) soft for this batch: an importer does
    /// this when the export left out the file that would define them.
    pub fn soften(&mut self, what: &'static str) {
        self.soft.push(what);
    }
}

/// The hashing of an import's ids and records: foldhash, seeded at random for each import
/// (SipHash had been ~4 % of the parsing thread's samples at 1M opportunities, hashing each
/// id twice and each id's hash again as a key).
type Hashing = foldhash::fast::RandomState;

/// A chunk of records on its way to the writer thread.
pub enum Chunk {
    Accounts(Vec<Account>),
    Opps(Vec<Opportunity>),
    History(Vec<StageChange>),
    Leads(Vec<Lead>),
    Activities(Vec<Activity>),
    Quotas(Vec<Quota>),
    Spend(Vec<Spend>),
    Rates(Vec<CurrencyRate>),
    Surveys(Vec<SurveyResponse>),
}

impl Chunk {
    fn write(&self, s: &mut Store) -> salesorg_store::Result<u64> {
        match self {
            Chunk::Accounts(v) => s.upsert_accounts(v),
            Chunk::Opps(v) => s.upsert_opportunities(&mut v.iter()),
            Chunk::History(v) => s.upsert_stage_history(&mut v.iter()),
            Chunk::Leads(v) => s.upsert_leads(v),
            Chunk::Activities(v) => s.upsert_activities(&mut v.iter()),
            Chunk::Quotas(v) => s.upsert_quotas(v),
            Chunk::Spend(v) => s.upsert_spend(v),
            Chunk::Rates(v) => s.upsert_rates(v),
            Chunk::Surveys(v) => s.upsert_surveys(v),
        }
    }
}

/// Collects a batch and writes it to the store inside the import's transaction.
pub struct Loader<'s> {
    /// The store, while the loader may use it (before and after the streaming phase).
    db: Option<&'s mut Store>,
    /// During the streaming phase: chunks go to the writer thread that holds the store.
    pipe: Option<std::sync::mpsc::SyncSender<Chunk>>,
    /// And come back written, to be freed on this thread, which made their strings: freed
    /// on the writer's, each string took a lock in the allocator that this thread held.
    written: Option<std::sync::mpsc::Receiver<Chunk>>,
    settings: salesorg_core::settings::Settings,
    stored_people: Vec<Person>,
    skip_bad: bool,
    pub problems: Problems,
    rejects: Vec<(Problem, Vec<String>)>,
    /// Notes for the user (conversions, mapping choices applied).
    pub notes: Vec<String>,
    /// id hash -> (data hash, line) per kind: duplicates and "is it in this batch?".
    seen: HashMap<Kind, HashMap<u64, (u64, u64), Hashing>>,
    /// The hashes of `seen`, the same for the whole import.
    hashing: Hashing,
    pending: Vec<PendingRef>,
    /// The files whose rows were not read, for a problem with the file as a whole (a
    /// missing column): the records other files name may be theirs.
    refused_files: Vec<String>,
    soft: Vec<&'static str>,
    counts: BTreeMap<Kind, u64>,
    // the org, kept in memory and merged at the end
    pub people: Vec<Person>,
    people_idx: HashMap<PersonId, usize, Hashing>,
    managers: Vec<(PersonId, Option<PersonId>, Origin)>,
    units: Vec<Unit>,
    /// Where each unit of `units` was read, for an org error that names a unit.
    unit_origins: Vec<Origin>,
    placements: Vec<(PersonId, Option<UnitId>, Origin)>,
    /// Explicit effective-dated lines and memberships (salesorg's own org-change format).
    explicit_lines: Vec<(ReportingLine, Origin)>,
    explicit_members: Vec<(Membership, Origin)>,
    /// The latest date seen in the data: the export's date.
    pub latest: Option<Date>,
    // write buffers
    opps: Vec<Opportunity>,
    history: Vec<StageChange>,
    activities: Vec<Activity>,
    leads: Vec<Lead>,
    accounts: Vec<Account>,
    quotas: Vec<Quota>,
    spend: Vec<Spend>,
    rates: Vec<CurrencyRate>,
    surveys: Vec<SurveyResponse>,
    /// Per currency other than the organisation's, this import's deals in it, the
    /// earliest close date of those closed and the earliest created date of those with an
    /// amount (see [`Loader::rates_note`]).
    foreign: BTreeMap<Currency, (u64, Option<Date>, Option<Date>)>,
    /// Per kind of money, this import's largest amount and its cell: where a total past
    /// what a sum holds is refused (see [`Loader::check_money`]).
    largest: BTreeMap<MoneyKind, (u64, Origin, String)>,
    /// This import's rate that makes a unit the most of the organisation's currency, with
    /// its cell: where deals a rate takes past what a sum holds are refused.
    highest_rate: Option<(u128, Origin, String)>,
    /// This import's own money, each amount taken whole.
    batch_money: MoneyTotals,
    /// The store's money bounds saved at the data version this import started from, if
    /// any (see [`Loader::check_money`]); then those to save once the import is done.
    bounds: Option<MoneyTotals>,
    save_bounds: Option<MoneyTotals>,
    progress: &'s dyn Progress,
}

impl<'s> Loader<'s> {
    pub fn new(store: &'s mut Store, skip_bad: bool, progress: &'s dyn Progress) -> Result<Self> {
        let settings = store.settings()?;
        let stored_people = store.people()?;
        let version = store.data_version()?.1;
        // (a store without money is bounded by nothing: its first import's check reads
        // no table, which at 10M deals and their history would be a scan of 20 s)
        let bounds = match store.money_bounds()?.filter(|(v, _)| *v == version) {
            Some((_, t)) => Some(t),
            None if store.holds_no_money()? => Some(MoneyTotals::default()),
            None => None,
        };
        Ok(Loader {
            db: Some(store),
            pipe: None,
            written: None,
            settings,
            stored_people,
            skip_bad,
            problems: Problems::default(),
            rejects: Vec::new(),
            notes: Vec::new(),
            seen: HashMap::new(),
            hashing: Hashing::default(),
            pending: Vec::new(),
            refused_files: Vec::new(),
            soft: SOFT.to_vec(),
            counts: BTreeMap::new(),
            people: Vec::new(),
            people_idx: HashMap::default(),
            managers: Vec::new(),
            units: Vec::new(),
            unit_origins: Vec::new(),
            placements: Vec::new(),
            explicit_lines: Vec::new(),
            explicit_members: Vec::new(),
            latest: None,
            opps: Vec::new(),
            history: Vec::new(),
            activities: Vec::new(),
            leads: Vec::new(),
            accounts: Vec::new(),
            quotas: Vec::new(),
            spend: Vec::new(),
            rates: Vec::new(),
            surveys: Vec::new(),
            foreign: BTreeMap::new(),
            largest: BTreeMap::new(),
            highest_rate: None,
            batch_money: MoneyTotals::default(),
            bounds,
            save_bounds: None,
            progress,
        })
    }

    pub fn progress(&self) -> &dyn Progress {
        self.progress
    }

    /// The store; not available while the writer thread holds it.
    fn db(&mut self) -> Result<&mut Store> {
        self.db.as_deref_mut().ok_or_else(|| EngineError::Io {
            path: "the store".into(),
            reason: "used while the import's writer thread holds it".into(),
        })
    }

    /// The organisation's settings, as they were when the import started.
    pub fn settings(&self) -> &salesorg_core::settings::Settings {
        &self.settings
    }

    /// The people already in the store when the import started.
    pub fn stored_people(&self) -> &[Person] {
        &self.stored_people
    }

    /// Records a row's problems. Returns true when the row is clean and may be added.
    pub fn row_ok(&mut self, problems: Vec<Problem>, raw: &[String]) -> bool {
        if problems.is_empty() {
            return true;
        }
        if self.skip_bad {
            let mut it = problems.into_iter();
            if let Some(first) = it.next() {
                let mut reason = first.clone();
                for p in it {
                    reason.reason.push_str("; ");
                    reason.reason.push_str(&p.reason);
                }
                self.rejects.push((reason, raw.to_vec()));
            }
        } else {
            for p in problems {
                self.problems.push(p);
            }
        }
        false
    }

    /// A problem with no row to skip (a missing column, a bad file): always fatal.
    pub fn fatal(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// Refuses `file` as a whole for problem `p` (at its line 1): its rows are not read,
    /// so that one missing column is one message, not one per row.
    pub fn refuse_file(&mut self, file: &crate::csvread::CsvFile, p: Problem) {
        file.skip_rows.set(true);
        if !self.refused_files.contains(&file.name) {
            self.refused_files.push(file.name.clone());
        }
        self.problems.push(p);
    }

    pub fn see_date(&mut self, d: Date) {
        if self.latest.is_none_or(|l| d > l) {
            self.latest = Some(d);
        }
    }

    /// Checks for a duplicate id. A repeat with identical data is dropped silently (true =
    /// keep); a repeat with different data is a problem at the later line.
    fn dedup<T: Hash>(
        &mut self,
        kind: Kind,
        id: &str,
        rec: &T,
        origin: &Origin,
    ) -> Result<bool, Problem> {
        let data = self.hashing.hash_one(rec);
        let key = self.hashing.hash_one(id);
        match self.seen.entry(kind).or_default().entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((data, origin.line));
                Ok(true)
            }
            std::collections::hash_map::Entry::Occupied(o) => match *o.get() {
                (d, _) if d == data => Ok(false),
                (_, first) => Err(origin.problem(format!(
                    "duplicate {} id {id:?} with different data (first seen at line {first})",
                    kind.noun()
                ))),
            },
        }
    }

    fn in_batch(&self, kind: Kind, id: &str) -> bool {
        self.seen
            .get(&kind)
            .is_some_and(|m| m.contains_key(&self.hashing.hash_one(id)))
    }

    /// Notes that `from` names `id` of kind `to`; checked when the batch is complete.
    pub fn reference(
        &mut self,
        to: Kind,
        id: &str,
        from_kind: Kind,
        from_id: &str,
        origin: &Origin,
        what: &'static str,
    ) {
        let known = match to {
            Kind::Person => self.people_idx.contains_key(id),
            _ => self.in_batch(to, id),
        };
        if known {
            return;
        }
        self.pending.push(PendingRef {
            to,
            id: id.to_owned(),
            from_kind,
            from_id: from_id.to_owned(),
            origin: origin.clone(),
            what,
        });
    }

    fn accept<T: Hash>(
        &mut self,
        kind: Kind,
        id: &str,
        rec: &T,
        origin: &Origin,
        raw: &[String],
    ) -> bool {
        match self.dedup(kind, id, rec, origin) {
            Ok(keep) => keep,
            Err(p) => {
                self.row_ok(vec![p], raw);
                false
            }
        }
    }

    // ------------------------------------------------------------- org records

    /// Adds or updates a person. Later rows for the same id fill in missing fields.
    pub fn person(&mut self, p: Person, origin: &Origin, raw: &[String]) -> bool {
        if !self.accept(Kind::Person, p.id.as_str(), &p, origin, raw) {
            return false;
        }
        self.people_idx.insert(p.id.clone(), self.people.len());
        self.people.push(p);
        *self.counts.entry(Kind::Person).or_default() += 1;
        true
    }
    pub fn has_person(&self, id: &PersonId) -> bool {
        self.people_idx.contains_key(id)
    }
    pub fn person_mut(&mut self, id: &PersonId) -> Option<&mut Person> {
        self.people_idx.get(id).map(|i| &mut self.people[*i])
    }
    /// Who `person` reports to as of the export (`None`: nobody).
    pub fn manager(&mut self, person: PersonId, manager: Option<PersonId>, origin: &Origin) {
        if let Some(m) = &manager {
            self.reference(
                Kind::Person,
                m.as_str(),
                Kind::Person,
                person.as_str(),
                origin,
                "manager",
            );
        }
        self.managers.push((person, manager, origin.clone()));
    }
    pub fn unit(&mut self, u: Unit, origin: &Origin, raw: &[String]) -> bool {
        if !self.accept(Kind::Unit, u.id.as_str(), &u, origin, raw) {
            return false;
        }
        if let Some(p) = &u.parent {
            self.reference(
                Kind::Unit,
                p.as_str(),
                Kind::Unit,
                u.id.as_str(),
                origin,
                "parent unit",
            );
        }
        self.units.push(u);
        self.unit_origins.push(origin.clone());
        *self.counts.entry(Kind::Unit).or_default() += 1;
        true
    }
    /// The unit `person` is placed in as of the export.
    pub fn placement(&mut self, person: PersonId, unit: Option<UnitId>, origin: &Origin) {
        if let Some(u) = &unit {
            self.reference(
                Kind::Unit,
                u.as_str(),
                Kind::Person,
                person.as_str(),
                origin,
                "unit",
            );
        }
        self.placements.push((person, unit, origin.clone()));
    }
    pub fn explicit_line(&mut self, l: ReportingLine, origin: &Origin) {
        self.reference(
            Kind::Person,
            l.person.as_str(),
            Kind::Person,
            l.person.as_str(),
            origin,
            "person",
        );
        self.reference(
            Kind::Person,
            l.manager.as_str(),
            Kind::Person,
            l.person.as_str(),
            origin,
            "manager",
        );
        self.explicit_lines.push((l, origin.clone()));
    }
    pub fn explicit_membership(&mut self, m: Membership, origin: &Origin) {
        self.reference(
            Kind::Person,
            m.person.as_str(),
            Kind::Person,
            m.person.as_str(),
            origin,
            "person",
        );
        self.reference(
            Kind::Unit,
            m.unit.as_str(),
            Kind::Person,
            m.person.as_str(),
            origin,
            "unit",
        );
        self.explicit_members.push((m, origin.clone()));
    }

    // ------------------------------------------------------------- CRM records

    pub fn account(&mut self, a: Account, origin: &Origin, raw: &[String]) -> Result<()> {
        if !self.accept(Kind::Account, a.id.as_str(), &a, origin, raw) {
            return Ok(());
        }
        if let Some(o) = &a.owner {
            self.reference(
                Kind::Person,
                o.as_str(),
                Kind::Account,
                a.id.as_str(),
                origin,
                "owner",
            );
        }
        if let Some(p) = &a.parent {
            self.reference(
                Kind::Account,
                p.as_str(),
                Kind::Account,
                a.id.as_str(),
                origin,
                "parent account",
            );
        }
        self.accounts.push(a);
        self.maybe_flush(false)
    }
    pub fn lead(&mut self, l: Lead, origin: &Origin, raw: &[String]) -> Result<()> {
        if !self.accept(Kind::Lead, l.id.as_str(), &l, origin, raw) {
            return Ok(());
        }
        self.reference(
            Kind::Person,
            l.owner.as_str(),
            Kind::Lead,
            l.id.as_str(),
            origin,
            "owner",
        );
        if let Some(o) = &l.converted_opp {
            self.reference(
                Kind::Opportunity,
                o.as_str(),
                Kind::Lead,
                l.id.as_str(),
                origin,
                "converted opportunity",
            );
        }
        if let Some(a) = &l.converted_account {
            self.reference(
                Kind::Account,
                a.as_str(),
                Kind::Lead,
                l.id.as_str(),
                origin,
                "converted account",
            );
        }
        self.see_date(l.created.date_utc());
        self.leads.push(l);
        self.maybe_flush(false)
    }
    /// Takes an opportunity read at `origin`, its amount in column `amount_col`.
    pub fn opportunity(
        &mut self,
        o: Opportunity,
        origin: &Origin,
        amount_col: Option<usize>,
        raw: &[String],
    ) -> Result<()> {
        if !self.accept(Kind::Opportunity, o.id.as_str(), &o, origin, raw) {
            return Ok(());
        }
        if let Some(a) = o.amount {
            self.amount_seen(MoneyKind::Deals, a, o.currency, origin, amount_col);
        }
        self.reference(
            Kind::Person,
            o.owner.as_str(),
            Kind::Opportunity,
            o.id.as_str(),
            origin,
            "owner",
        );
        if let Some(a) = &o.account {
            self.reference(
                Kind::Account,
                a.as_str(),
                Kind::Opportunity,
                o.id.as_str(),
                origin,
                "account",
            );
        }
        if let Some(d) = o.last_modified.map(|t| t.date_utc()).or(o.created) {
            self.see_date(d);
        }
        if o.currency != self.settings.currency {
            let e = self.foreign.entry(o.currency).or_insert((0, None, None));
            e.0 += 1;
            if o.status != OppStatus::Open
                && let Some(c) = o.close_date
            {
                e.1 = Some(e.1.map_or(c, |x: Date| x.min(c)));
            }
            if o.amount.is_some()
                && let Some(c) = o.created
            {
                e.2 = Some(e.2.map_or(c, |x: Date| x.min(c)));
            }
        }
        self.opps.push(o);
        self.maybe_flush(false)
    }
    /// A stage-history row. `amount_col` is the column of its amount where the export
    /// gives the deal's amount as it was then (an open pipeline on an earlier day sums
    /// it), and `None` where the row's amount is the deal's current one, counted with the
    /// deal.
    pub fn history(
        &mut self,
        h: StageChange,
        origin: &Origin,
        amount_col: Option<usize>,
        raw: &[String],
    ) -> Result<()> {
        if !self.accept(Kind::History, &h.id, &h, origin, raw) {
            return Ok(());
        }
        if let (Some(a), Some(col)) = (h.amount, amount_col) {
            let size = a.units().unsigned_abs();
            self.batch_money.history += u128::from(size);
            // (the deal's currency is its row's, which this one does not name)
            self.largest_seen(MoneyKind::Deals, size, origin, Some(col), || {
                format!("{a}, an earlier amount in the stage history of {}", h.opp)
            });
        }
        self.reference(
            Kind::Opportunity,
            h.opp.as_str(),
            Kind::History,
            &h.id,
            origin,
            "opportunity",
        );
        self.see_date(h.at.date_utc());
        self.history.push(h);
        self.maybe_flush(false)
    }
    pub fn activity(&mut self, a: Activity, origin: &Origin, raw: &[String]) -> Result<()> {
        if !self.accept(Kind::Activity, a.id.as_str(), &a, origin, raw) {
            return Ok(());
        }
        self.reference(
            Kind::Person,
            a.owner.as_str(),
            Kind::Activity,
            a.id.as_str(),
            origin,
            "owner",
        );
        if let Some(x) = &a.lead {
            self.reference(
                Kind::Lead,
                x.as_str(),
                Kind::Activity,
                a.id.as_str(),
                origin,
                "lead",
            );
        }
        if let Some(x) = &a.opp {
            self.reference(
                Kind::Opportunity,
                x.as_str(),
                Kind::Activity,
                a.id.as_str(),
                origin,
                "opportunity",
            );
        }
        if let Some(x) = &a.account {
            self.reference(
                Kind::Account,
                x.as_str(),
                Kind::Activity,
                a.id.as_str(),
                origin,
                "account",
            );
        }
        self.activities.push(a);
        self.maybe_flush(false)
    }
    /// Takes a quota or target read at `origin`, its amount in column `amount_col`.
    pub fn quota(
        &mut self,
        q: Quota,
        origin: &Origin,
        amount_col: Option<usize>,
        raw: &[String],
    ) -> Result<()> {
        let key = format!(
            "{}|{}|{}|{}|{}",
            q.target.kind(),
            q.target.id(),
            q.period.start,
            q.period.end,
            q.metric
        );
        if !self.accept(Kind::Quota, &key, &q, origin, raw) {
            return Ok(());
        }
        match &q.target {
            QuotaTarget::Person(p) | QuotaTarget::Team(p) => self.reference(
                Kind::Person,
                p.as_str(),
                Kind::Quota,
                &key,
                origin,
                "quota holder",
            ),
            QuotaTarget::Unit(u) => {
                self.reference(Kind::Unit, u.as_str(), Kind::Quota, &key, origin, "unit")
            }
        }
        let kind = match q.metric.as_str() {
            "bookings" => MoneyKind::Quotas,
            _ => MoneyKind::Targets,
        };
        let org = self.settings.currency;
        self.amount_seen(kind, q.amount, org, origin, amount_col);
        self.quotas.push(q);
        self.maybe_flush(false)
    }
    /// Takes a spend entry read at `origin`, its amount in column `amount_col`.
    pub fn spend(
        &mut self,
        x: Spend,
        origin: &Origin,
        amount_col: Option<usize>,
        raw: &[String],
    ) -> Result<()> {
        let key = format!("{}|{:?}|{}", x.date, x.scope, x.category);
        if !self.accept(Kind::Spend, &key, &x, origin, raw) {
            return Ok(());
        }
        match &x.scope {
            SpendScope::Person(p) => self.reference(
                Kind::Person,
                p.as_str(),
                Kind::Spend,
                &key,
                origin,
                "person",
            ),
            SpendScope::Unit(u) => {
                self.reference(Kind::Unit, u.as_str(), Kind::Spend, &key, origin, "unit")
            }
            SpendScope::Company => {}
        }
        let org = self.settings.currency;
        self.amount_seen(MoneyKind::Spend, x.amount, org, origin, amount_col);
        self.spend.push(x);
        self.maybe_flush(false)
    }
    /// Takes a rate read at `origin`, the rate in column `rate_col`.
    pub fn rate(
        &mut self,
        x: CurrencyRate,
        origin: &Origin,
        rate_col: Option<usize>,
        raw: &[String],
    ) -> Result<()> {
        let key = format!("{}|{}|{}", x.date, x.from, x.to);
        if !self.accept(Kind::Rate, &key, &x, origin, raw) {
            return Ok(());
        }
        // how much a unit becomes in the organisation's currency, as far as this row says
        // (ten decimals): the rate into it, or out of it turned round
        let scale = RATE_SCALE.unsigned_abs() as u128;
        let r = x.rate.units().unsigned_abs() as u128;
        let factor = if x.from == self.settings.currency && r > 0 {
            scale * scale / r
        } else {
            r
        };
        if self.highest_rate.as_ref().is_none_or(|h| h.0 < factor) {
            let at = origin.col(rate_col.map(|c| c + 1).or(origin.column));
            let shown = format!("1 {} = {} {}", x.from, x.rate, x.to);
            self.highest_rate = Some((factor, at, shown));
        }
        self.rates.push(x);
        self.maybe_flush(false)
    }
    pub fn survey(&mut self, x: SurveyResponse, origin: &Origin, raw: &[String]) -> Result<()> {
        if !self.accept(Kind::Survey, &x.id, &x, origin, raw) {
            return Ok(());
        }
        self.reference(
            Kind::Account,
            x.account.as_str(),
            Kind::Survey,
            &x.id.clone(),
            origin,
            "account",
        );
        self.surveys.push(x);
        self.maybe_flush(false)
    }

    /// Keeps this import's largest amount of each kind, with its cell.
    fn amount_seen(
        &mut self,
        kind: MoneyKind,
        a: Money,
        ccy: Currency,
        origin: &Origin,
        col: Option<usize>,
    ) {
        let size = a.units().unsigned_abs();
        let b = &mut self.batch_money;
        match kind {
            MoneyKind::Deals => b.plus_deal(ccy, size),
            MoneyKind::Spend => b.spend += u128::from(size),
            MoneyKind::Quotas => b.quotas += u128::from(size),
            MoneyKind::Targets => b.targets += u128::from(size),
        }
        self.largest_seen(kind, size, origin, col, || format!("{a} {ccy}"));
    }

    /// Keeps `size` as this import's largest amount of `kind` if it is, with its cell and
    /// its text.
    fn largest_seen(
        &mut self,
        kind: MoneyKind,
        size: u64,
        origin: &Origin,
        col: Option<usize>,
        text: impl FnOnce() -> String,
    ) {
        match self.largest.get(&kind) {
            Some((top, ..)) if *top >= size => {}
            _ => {
                // (`col` counts from 0, as the readers' columns do; an origin's from 1)
                let at = origin.col(col.map(|c| c + 1).or(origin.column));
                self.largest.insert(kind, (size, at, text()));
            }
        }
    }

    /// Refuses a batch after which the store's money adds up past what a scorecard's
    /// sums hold exactly ([`salesorg_core::scorecard::book::MoneyTotals`]): at the
    /// batch's largest amount of that kind, most often a misplaced decimal point. (A
    /// scorecard refused such a store when it loaded, after the import had been taken.)
    ///
    /// Most imports read no table for it: the bounds saved by the last import (when no
    /// other write came since; nothing, for a store without money) plus this import's own
    /// amounts bound the store's totals, since an import's upserts only replace rows. Only
    /// when those bounds would be past the limit, or none are saved, are the tables the
    /// batch touches summed exactly (each deal at the largest amount it ever had, its stage
    /// history's too: at 1M opportunities and 4.5M history rows a scan of about 2 s).
    fn check_money(&mut self, input: &Path) -> Result<()> {
        let org = self.settings.currency;
        let cached = self.bounds.take();
        if self.largest.is_empty() && self.highest_rate.is_none() {
            // (no money: the bounds hold as they were)
            self.save_bounds = cached;
            return Ok(());
        }
        // (only the tables whose totals this import can change: a deal's total moves with
        // the deals and the rates)
        let deals = self.largest.contains_key(&MoneyKind::Deals) || self.highest_rate.is_some();
        let spend = self.largest.contains_key(&MoneyKind::Spend);
        let quotas = self.largest.contains_key(&MoneyKind::Quotas)
            || self.largest.contains_key(&MoneyKind::Targets);
        let batch = std::mem::take(&mut self.batch_money);
        let db = self.db()?;
        let rates = db.rates()?;
        if let Some(c) = &cached {
            let bound = c.plus(&batch);
            if bound.over_at_rates(&rates, org).is_none() {
                self.save_bounds = Some(bound);
                return Ok(());
            }
        }
        // exactly: the tables the batch touches, the others as saved (every table without
        // saved bounds)
        let totals = match cached {
            Some(c) => {
                let mut t = db.money_totals(deals, spend, quotas)?;
                if !deals {
                    t.deals = c.deals;
                }
                if !spend {
                    t.spend = c.spend;
                }
                if !quotas {
                    (t.quotas, t.targets) = (c.quotas, c.targets);
                }
                t
            }
            None => db.money_totals(true, true, true)?,
        };
        let Some((kind, total)) = totals.over_at_rates(&rates, org) else {
            self.save_bounds = Some(totals);
            return Ok(());
        };
        let why = kind.past_limit(total, org);
        let p = match (self.largest.get(&kind), &self.highest_rate) {
            (Some((_, at, amount)), _) => {
                at.problem(format!("{why}; this import's largest is here: {amount}"))
            }
            (None, Some((_, at, rate))) if kind == MoneyKind::Deals => at.problem(format!(
                "{why}, at the rates this import brings; its highest is here: {rate}"
            )),
            (None, _) => Problem::file(&input.display().to_string(), why),
        };
        let mut ps = Problems::default();
        ps.push(p);
        Err(EngineError::Rejected(ps))
    }

    /// Writes buffered records once a buffer is full (or always, with `all`). Once a
    /// problem is known the batch will be refused, so writing stops and only checking goes on.
    fn maybe_flush(&mut self, all: bool) -> Result<()> {
        let full = |n: usize| all || n >= CHUNK;
        let stop = !self.problems.is_empty();
        macro_rules! flush {
            ($buf:ident, $kind:expr, $chunk:path, $write:expr) => {
                if full(self.$buf.len()) {
                    let v = std::mem::take(&mut self.$buf);
                    *self.counts.entry($kind).or_default() += v.len() as u64;
                    if !stop {
                        match (&self.pipe, self.db.as_deref_mut()) {
                            // a failed send means the writer stopped on an error, reported at its join
                            (Some(tx), _) => {
                                drop(tx.send($chunk(v)));
                                if let Some(back) = &self.written {
                                    back.try_iter().for_each(drop);
                                }
                            }
                            (None, Some(db)) => {
                                let write: fn(&mut Store, &[_]) -> salesorg_store::Result<u64> = $write;
                                write(db, &v)?;
                            }
                            (None, None) => {}
                        }
                    }
                }
            };
        }
        flush!(accounts, Kind::Account, Chunk::Accounts, |s, v| s
            .upsert_accounts(v));
        flush!(opps, Kind::Opportunity, Chunk::Opps, |s, v| s
            .upsert_opportunities(&mut v.iter()));
        flush!(history, Kind::History, Chunk::History, |s, v| s
            .upsert_stage_history(&mut v.iter()));
        flush!(leads, Kind::Lead, Chunk::Leads, |s, v| s.upsert_leads(v));
        flush!(activities, Kind::Activity, Chunk::Activities, |s, v| s
            .upsert_activities(&mut v.iter()));
        flush!(quotas, Kind::Quota, Chunk::Quotas, |s, v| s
            .upsert_quotas(v));
        flush!(spend, Kind::Spend, Chunk::Spend, |s, v| s.upsert_spend(v));
        flush!(rates, Kind::Rate, Chunk::Rates, |s, v| s.upsert_rates(v));
        flush!(surveys, Kind::Survey, Chunk::Surveys, |s, v| s
            .upsert_surveys(v));
        let total: u64 = self.counts.values().sum::<u64>()
            + (self.opps.len() + self.history.len() + self.activities.len() + self.leads.len())
                as u64;
        self.progress.update("records", total, 0);
        Ok(())
    }

    /// Finishes the batch: flushes, writes the org merged effective-dated, and checks every
    /// reference. Returns the summary, or the problems that refuse the batch.
    /// Says, before a scorecard refuses them, which of this import's deals no rate the
    /// store holds can convert: a currency with no rate to or from the organisation's,
    /// deals closed before its first rate (every scorecard refuses them), or else deals
    /// created before it (a scorecard over a day before the rate converts their pipeline
    /// on that day, and refuses them). Spec §1 "Amounts": an error, not a zero.
    fn rates_note(&mut self) -> Result<()> {
        if self.foreign.is_empty() {
            return Ok(());
        }
        let org = self.settings.currency;
        let rates = self.db()?.rates()?;
        let foreign = std::mem::take(&mut self.foreign);
        let ccys: Vec<Currency> = foreign.keys().copied().collect();
        let starts = salesorg_core::scorecard::book::conversions_start(&rates, org, &ccys);
        for ((ccy, (n, earliest, created)), first) in foreign.into_iter().zip(starts) {
            let fix = "import rates with `salesorg import salesorg currency_rates.csv` (or the \
                       export's own rate files), and scorecards will take them";
            match (first, earliest) {
                (None, _) => self.notes.push(format!(
                    "{n} opportunities are in {ccy} and the store has no rate from {ccy} into \
                     {org}, direct or through another currency: scorecards will refuse them \
                     until it has one; {fix}"
                )),
                (Some(f), Some(e)) if e < f => self.notes.push(format!(
                    "opportunities in {ccy} closed as early as {}, before the first rate from \
                     {ccy} into {org} ({}): scorecards will refuse them until a rate covers \
                     that day; {fix}",
                    fmt_date(e),
                    fmt_date(f)
                )),
                (Some(f), _) if created.is_some_and(|c| c < f) => self.notes.push(format!(
                    "opportunities in {ccy} were created as early as {}, before the first rate \
                     from {ccy} into {org} ({}): a scorecard over the days before that rate \
                     will refuse them (their pipeline is converted on the day it was \
                     created, or open); {fix}",
                    created.map(fmt_date).unwrap_or_default(),
                    fmt_date(f)
                )),
                _ => {}
            }
        }
        Ok(())
    }

    pub fn finish(
        mut self,
        source: &str,
        opts: &ImportOptions,
        input: &Path,
    ) -> Result<ImportSummary> {
        self.maybe_flush(true)?;
        let effective = opts.effective.or(self.latest).or(opts.today);
        let touches_org = !(self.managers.is_empty()
            && self.placements.is_empty()
            && self.explicit_lines.is_empty());
        let org_changes = if self.problems.is_empty() {
            self.write_org(effective.unwrap_or_else(start_of_history))?
        } else {
            0
        };
        self.check_references()?;
        self.problems.sort();
        if !self.problems.is_empty() {
            return Err(EngineError::Rejected(self.problems));
        }
        let t = std::time::Instant::now();
        self.check_money(input)?;
        let money_checked = t.elapsed();
        // the org as a whole must still make sense (cycles, overlaps)
        if let Err(errs) = self.db()?.org() {
            let mut ps = Problems::default();
            ps.push(Problem::file(
                &input.display().to_string(),
                errs.to_string(),
            ));
            return Err(EngineError::Rejected(ps));
        }
        self.rates_note()?;
        let mut summary = ImportSummary {
            source: source.to_owned(),
            counts: Vec::new(),
            effective: if touches_org { effective } else { None },
            org_changes,
            rejected: self.rejects.len() as u64,
            rejects_file: None,
            notes: std::mem::take(&mut self.notes),
            phases: vec![("money totals", money_checked)],
            dry_run: opts.dry_run,
        };
        for (k, n) in &self.counts {
            summary.counts.push((k.table(), *n));
        }
        if !self.rejects.is_empty() && !opts.dry_run {
            let path = opts.rejects.clone().unwrap_or_else(|| {
                // (the input's own name: `import csv .` or `export/` had written a hidden
                // `..rejects.csv` or `export/.rejects.csv`)
                let named = input
                    .canonicalize()
                    .or_else(|_| std::path::absolute(input))
                    .unwrap_or_else(|_| input.to_owned());
                let mut p = named.into_os_string();
                p.push(".rejects.csv");
                PathBuf::from(p)
            });
            write_rejects(&path, &self.rejects)?;
            summary.rejects_file = Some(path);
        }
        let text = summary.to_string();
        self.db()?.record_import(
            source,
            &input.display().to_string(),
            &effective.map(fmt_date).unwrap_or_default(),
            text.lines().next().unwrap_or(""),
        )?;
        // (last: the data version is the one the import commits)
        if let Some(t) = self.save_bounds.take() {
            let db = self.db()?;
            let version = db.data_version()?.1;
            db.save_money_bounds(version, &t)?;
        }
        Ok(summary)
    }

    /// Resolves pending references against the store (which now holds the whole batch).
    fn check_references(&mut self) -> Result<()> {
        let mut pending = std::mem::take(&mut self.pending);
        // forward references to records that came later in the batch are fine
        pending.retain(|p| match p.to {
            Kind::Person => !self.people_idx.contains_key(p.id.as_str()),
            k => !self.in_batch(k, &p.id),
        });
        // which referenced ids exist in the store (which now holds the whole batch), asked
        // 500 at a time
        let mut by_kind: BTreeMap<Kind, HashSet<String>> = BTreeMap::new();
        for p in &pending {
            by_kind.entry(p.to).or_default().insert(p.id.clone());
        }
        let mut found: BTreeMap<Kind, HashSet<String>> = BTreeMap::new();
        for (kind, ids) in by_kind {
            let ids: Vec<String> = ids.into_iter().collect();
            let set = found.entry(kind).or_default();
            for chunk in ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!("SELECT id FROM {} WHERE id IN ({marks})", kind.table());
                let params: Vec<Value> = chunk.iter().map(|s| Value::from(s.as_str())).collect();
                self.db()?
                    .unscoped_backend()
                    .query_each(&sql, &params, &mut |r| {
                        if let Some(t) = r[0].as_text() {
                            set.insert(t.to_owned());
                        }
                        Ok(())
                    })?;
            }
        }
        // unresolved soft references are kept as written and reported as a note
        let mut soft: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let soft_kinds = self.soft.clone();
        pending.retain(|p| {
            if found.get(&p.to).is_some_and(|s| s.contains(&p.id)) {
                return false;
            }
            if soft_kinds.contains(&p.what) {
                soft.entry(p.what).or_default().push(p.id.clone());
                return false;
            }
            true
        });
        for (what, mut ids) in soft {
            ids.sort();
            ids.dedup();
            let shown: Vec<&str> = ids.iter().take(10).map(String::as_str).collect();
            self.notes.push(format!(
                "{} {what} ids are not in this export and were kept as written: {}{}",
                ids.len(),
                shown.join(", "),
                if ids.len() > 10 { ", …" } else { "" }
            ));
        }
        // the records they name may be those of a file whose rows were not read: one line
        // under that file's problem says how many, not a problem per row
        if let Some(file) = self.refused_files.first().cloned()
            && !pending.is_empty()
        {
            // (the files by name: they are beside it)
            let name = |f: &'_ str| -> String {
                std::path::Path::new(f)
                    .file_name()
                    .map_or_else(|| f.to_owned(), |n| n.to_string_lossy().into_owned())
            };
            let mut files: Vec<String> = pending.iter().map(|p| name(&p.origin.file)).collect();
            files.sort_unstable();
            files.dedup();
            let first = pending
                .iter()
                .map(|p| (&p.origin.file, p.origin.line))
                .min()
                .map(|(f, l)| format!("{f}:{l}"))
                .unwrap_or_default();
            let note = format!(
                " ({} rows of {} name records found nowhere, the first at {first}: they may be \
                 among this file's, and are checked once it can be read)",
                pending.len(),
                files.join(", ")
            );
            if let Some(p) = self.problems.0.iter_mut().find(|p| p.file == file) {
                p.reason.push_str(&note);
            }
            return Ok(());
        }
        let mut drop: Vec<(Kind, String)> = Vec::new();
        for p in pending {
            let problem = p.origin.problem(format!(
                "unknown {} id {:?} ({})",
                p.to.noun(),
                p.id,
                p.what
            ));
            if self.skip_bad && !matches!(p.from_kind, Kind::Person | Kind::Unit) {
                self.rejects.push((problem, Vec::new()));
                drop.push((p.from_kind, p.from_id));
            } else {
                self.problems.push(problem);
            }
        }
        for (kind, id) in drop {
            if matches!(kind, Kind::Quota | Kind::Spend | Kind::Rate) {
                continue; // composite keys; these rows reference nothing optional
            }
            let sql = format!("DELETE FROM {} WHERE id = ?", kind.table());
            self.db()?.unscoped_backend().execute(&sql, &[id.into()])?;
            if let Some(n) = self.counts.get_mut(&kind) {
                *n = n.saturating_sub(1);
            }
        }
        Ok(())
    }

    /// Merges people, units and reporting lines into the store's history. A person seen
    /// for the first time reports to their manager from the start of history; a person
    /// whose manager (or unit) differs from the store's on `effective` gets a new line from
    /// `effective`, closing the old one.
    fn write_org(&mut self, effective: Date) -> Result<u64> {
        // people: fill fields the batch lacks from the store
        let existing: HashMap<PersonId, Person> = self
            .db()?
            .people()?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        for p in &mut self.people {
            if let Some(old) = existing.get(&p.id) {
                p.email = p.email.take().or_else(|| old.email.clone());
                p.title = p.title.take().or_else(|| old.title.clone());
                p.role = p.role.take().or_else(|| old.role.clone());
                p.hired = p.hired.or(old.hired);
                p.left = p.left.or(old.left);
            }
        }
        let people = std::mem::take(&mut self.people);
        self.db()?.upsert_people(&people)?;
        self.people = people;
        let units = std::mem::take(&mut self.units);
        self.db()?.upsert_units(&units)?;

        let mut lines = self.db()?.lines()?;
        let mut changes = 0u64;
        // (the people and units an org error may name, and the rows that set them)
        let origins: Vec<(String, Origin)> = self
            .managers
            .iter()
            .map(|(p, _, o)| (p.to_string(), o.clone()))
            .chain(
                self.explicit_lines
                    .iter()
                    .map(|(l, o)| (l.person.to_string(), o.clone())),
            )
            .chain(
                self.placements
                    .iter()
                    .map(|(p, _, o)| (p.to_string(), o.clone())),
            )
            .chain(
                self.explicit_members
                    .iter()
                    .map(|(m, o)| (m.person.to_string(), o.clone())),
            )
            .chain(
                units
                    .iter()
                    .zip(std::mem::take(&mut self.unit_origins))
                    .map(|(u, o)| (u.id.to_string(), o)),
            )
            .collect();
        // each person's lines, so that merging is linear in the org's size
        let mut by_person: HashMap<PersonId, Vec<ReportingLine>> = HashMap::new();
        for l in std::mem::take(&mut lines) {
            by_person.entry(l.person.clone()).or_default().push(l);
        }
        for (person, manager, origin) in std::mem::take(&mut self.managers) {
            let ls = by_person.entry(person.clone()).or_default();
            let current = ls
                .iter()
                .find(|l| l.valid.contains(effective))
                .map(|l| l.manager.clone());
            if current == manager {
                continue;
            }
            if ls.is_empty() {
                // first seen: the line holds from the start of history
                if let Some(m) = manager {
                    ls.push(ReportingLine {
                        person,
                        manager: m,
                        valid: Validity {
                            from: start_of_history(),
                            to: None,
                        },
                    });
                }
                continue;
            }
            changes += 1;
            if let Err(e) = move_line(ls, &person, manager.as_ref(), effective) {
                self.problems.push(origin.problem(e.to_string()));
            }
        }
        for (l, _origin) in std::mem::take(&mut self.explicit_lines) {
            // an explicit change closes whatever was open at its start
            let ls = by_person.entry(l.person.clone()).or_default();
            for x in ls
                .iter_mut()
                .filter(|x| x.valid.contains(l.valid.from) && x.valid.from < l.valid.from)
            {
                x.valid.to = Some(l.valid.from);
            }
            ls.retain(|x| x.valid.from != l.valid.from);
            ls.push(l);
            changes += 1;
        }
        lines = by_person.into_values().flatten().collect();
        lines.sort_by(|a, b| (&a.person, a.valid.from).cmp(&(&b.person, b.valid.from)));
        let mut members = self.db()?.memberships()?;
        let had_members: HashSet<PersonId> = members.iter().map(|m| m.person.clone()).collect();
        for (person, unit, _origin) in std::mem::take(&mut self.placements) {
            let current: Vec<UnitId> = members
                .iter()
                .filter(|m| m.person == person && m.valid.contains(effective))
                .map(|m| m.unit.clone())
                .collect();
            if current.len() <= 1 && current.first() == unit.as_ref() {
                continue;
            }
            let first_time = !had_members.contains(&person);
            for m in members
                .iter_mut()
                .filter(|m| m.person == person && m.valid.contains(effective))
            {
                m.valid.to = Some(effective);
            }
            members.retain(|m| m.valid.to != Some(m.valid.from));
            if let Some(u) = unit {
                let from = if first_time {
                    start_of_history()
                } else {
                    effective
                };
                if !first_time {
                    changes += 1;
                }
                members.push(Membership {
                    person,
                    unit: u,
                    valid: Validity { from, to: None },
                });
            }
        }
        for (m, _origin) in std::mem::take(&mut self.explicit_members) {
            for x in members.iter_mut().filter(|x| {
                x.person == m.person
                    && x.valid.contains(m.valid.from)
                    && x.valid.from < m.valid.from
            }) {
                x.valid.to = Some(m.valid.from);
            }
            members.retain(|x| {
                !(x.person == m.person && x.unit == m.unit && x.valid.from == m.valid.from)
            });
            members.push(m);
            changes += 1;
        }
        // nobody reports to anyone, or belongs to a unit, after the day they left
        let left: HashMap<PersonId, Date> = {
            let mut m: HashMap<PersonId, Date> = existing
                .iter()
                .filter_map(|(id, p)| p.left.map(|d| (id.clone(), d)))
                .collect();
            m.extend(
                self.people
                    .iter()
                    .filter_map(|p| p.left.map(|d| (p.id.clone(), d))),
            );
            m
        };
        for l in lines.iter_mut() {
            if let Some(d) = left.get(&l.person)
                && l.valid.contains(*d)
            {
                l.valid.to = Some(*d);
            }
        }
        lines.retain(|l| left.get(&l.person).is_none_or(|d| l.valid.from < *d));
        for m in members.iter_mut() {
            if let Some(d) = left.get(&m.person)
                && m.valid.contains(*d)
            {
                m.valid.to = Some(*d);
            }
        }
        members.retain(|m| left.get(&m.person).is_none_or(|d| m.valid.from < *d));
        // validate before writing, so that a cycle points at the row that made it
        let all_units = {
            let mut u = self.db()?.units()?;
            u.sort_by(|a, b| a.id.cmp(&b.id));
            u
        };
        if let Err(errs) = OrgHistory::new(all_units, lines.clone(), members.clone()) {
            for e in errs {
                let msg = e.to_string();
                // point at the row that set the manager of someone the message names
                // (the one it names first is the one it is about: "9006 is placed in
                // unknown unit Inside Sales North" is 9006's row, not unit Sales's; of
                // ids named at one place, the longest: "User ID", not "User")
                let at = origins
                    .iter()
                    .filter_map(|(id, o)| named_at(&msg, id).map(|at| (at, id.len(), o)))
                    .min_by_key(|&(at, len, o)| {
                        (at, std::cmp::Reverse(len), o.file.clone(), o.line)
                    })
                    .map(|(_, _, o)| o);
                self.problems.push(match at {
                    Some(o) => o.problem(msg),
                    None => Problem::file("the org", msg),
                });
            }
            return Ok(changes);
        }
        self.db()?.replace_lines(&lines)?;
        self.db()?.replace_memberships(&members)?;
        Ok(changes)
    }
}

/// Where `msg` first names `id` as a whole (not as a part of a longer id or number), if it
/// does: an id may hold spaces or punctuation (a HubSpot team's name, a sheet's user), so
/// the message is searched for it, and each place it is found must not run on into letters
/// or digits.
fn named_at(msg: &str, id: &str) -> Option<usize> {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    if id.is_empty() {
        return None;
    }
    msg.match_indices(id).map(|(at, _)| at).find(|&at| {
        !word(msg[..at].chars().next_back()) && !word(msg[at + id.len()..].chars().next())
    })
}

fn write_rejects(path: &Path, rejects: &[(Problem, Vec<String>)]) -> Result<()> {
    let io = |e: std::io::Error| EngineError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_path(path).map_err(|e| EngineError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let csv_err = |e: csv::Error| EngineError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    w.write_record(["file", "line", "column", "reason", "row"])
        .map_err(csv_err)?;
    for (p, raw) in rejects {
        let mut row = csv::Writer::from_writer(Vec::new());
        row.write_record(raw).map_err(csv_err)?;
        let row = String::from_utf8_lossy(&row.into_inner().unwrap_or_default())
            .trim_end()
            .to_owned();
        w.write_record([
            p.file.as_str(),
            &p.line.to_string(),
            &p.column.map(|c| c.to_string()).unwrap_or_default(),
            &p.reason,
            &row,
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(io)?;
    Ok(())
}

/// The sources `salesorg import` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Salesforce,
    Hubspot,
    Maven,
    Csv,
    /// salesorg's own formats: org changes, quotas, spend, currency rates, surveys.
    Salesorg,
}

impl Source {
    pub fn parse(s: &str) -> Result<Source, String> {
        Ok(match s {
            "salesforce" | "sfdc" => Source::Salesforce,
            "hubspot" => Source::Hubspot,
            "maven" => Source::Maven,
            "csv" => Source::Csv,
            "salesorg" | "native" => Source::Salesorg,
            o => {
                return Err(format!(
                    "unknown source {o:?}: use salesforce, hubspot, maven, csv or salesorg"
                ));
            }
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Source::Salesforce => "salesforce",
            Source::Hubspot => "hubspot",
            Source::Maven => "maven",
            Source::Csv => "csv",
            Source::Salesorg => "salesorg",
        }
    }
}

/// Imports `path` from `source` atomically: all of it, or (on any problem) none of it.
pub fn import(
    store: &mut Store,
    source: Source,
    path: &Path,
    opts: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportSummary> {
    if !path.exists() {
        return Err(EngineError::Io {
            path: path.display().to_string(),
            reason: "no such file or folder".into(),
        });
    }
    let bulk = !opts.dry_run && store.begin_bulk()?;
    let body = |store: &mut Store| {
        let suspended = !opts.dry_run && store.suspend_indexes()?;
        let mut sum = run_loader(store, source, path, opts, progress)?;
        if suspended {
            progress.update("building indexes", 0, 0);
            let t = std::time::Instant::now();
            store.restore_indexes()?;
            sum.phases.push(("indexes", t.elapsed()));
        }
        if opts.dry_run {
            progress.update("rolling back (a dry run)", 0, 0);
        } else {
            progress.update("committing", 0, 0);
        }
        Ok(sum)
    };
    let res = if opts.dry_run {
        store.trial(body)
    } else {
        store.atomic(body)
    };
    if bulk {
        store.end_bulk()?;
    }
    res
}

/// Runs the importer with two threads: this one reads and checks the files while a writer
/// thread, holding the store, upserts the chunks it is sent. The org merge and the reference
/// checks run afterwards, with the store back on this thread.
fn run_loader<'s>(
    store: &'s mut Store,
    source: Source,
    path: &Path,
    opts: &ImportOptions,
    progress: &'s dyn Progress,
) -> Result<ImportSummary> {
    let started = std::time::Instant::now();
    let mut loader = Loader::new(store, opts.skip_bad_rows, progress)?;
    let store = loader.db.take();
    let Some(store) = store else {
        return Err(EngineError::Io {
            path: "the store".into(),
            reason: "not available".into(),
        });
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
    let (back, written) = std::sync::mpsc::sync_channel::<Chunk>(8);
    loader.pipe = Some(tx);
    loader.written = Some(written);
    let streamed: Result<()> = std::thread::scope(|sc| {
        let st: &mut Store = &mut *store;
        let writer = sc.spawn(move || -> Result<()> {
            let mut failed = None;
            for chunk in rx {
                if failed.is_none()
                    && let Err(e) = chunk.write(st)
                {
                    failed = Some(e);
                }
                // (freed here only when the reader has not taken back the last ones)
                drop(back.try_send(chunk));
            }
            failed.map_or(Ok(()), |e| Err(e.into()))
        });
        // (a panic while reading still closes the channel, or the writer would wait for
        // more chunks, and the scope for the writer, for ever; it goes on once the writer
        // has finished)
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let parsed = match source {
                Source::Maven => maven::load(&mut loader, path),
                Source::Salesforce => salesforce::load(&mut loader, path, opts),
                Source::Hubspot => hubspot::load(&mut loader, path, opts),
                Source::Csv => mapped::load(&mut loader, path, opts),
                Source::Salesorg => native::load(&mut loader, path, opts),
            };
            parsed.and(loader.maybe_flush(true))
        }));
        loader.pipe = None; // closes the channel: the writer finishes
        let written = writer.join().unwrap_or_else(|_| {
            Err(EngineError::Io {
                path: "the store".into(),
                reason: "the writer thread failed".into(),
            })
        });
        match read {
            Ok(parsed) => parsed.and(written),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    loader.written = None;
    streamed?;
    let read = started.elapsed();
    loader.db = Some(store);
    let t = std::time::Instant::now();
    let mut sum = loader.finish(source.name(), opts, path)?;
    // (the phases `finish` timed itself are apart from the rest of it)
    let own: std::time::Duration = sum.phases.iter().map(|p| p.1).sum();
    sum.phases.insert(0, ("read, check and write", read));
    sum.phases.push((
        "org merge and reference checks",
        t.elapsed().saturating_sub(own),
    ));
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::named_at;

    #[test]
    fn an_org_message_names_an_id_only_as_a_whole() {
        let msg = "User ID is placed in unknown unit Primary Team";
        assert_eq!(named_at(msg, "User ID"), Some(0));
        assert_eq!(named_at(msg, "User"), Some(0));
        assert_eq!(named_at(msg, "Primary Team"), Some(34));
        assert_eq!(named_at(msg, "Use"), None);
        assert_eq!(named_at(msg, "Team!"), None);
        let cycle = "a management cycle: 9001 → 19001 → 9001";
        assert_eq!(named_at(cycle, "9001"), Some(20));
        assert!(named_at(cycle, "19001").is_some());
        assert_eq!(named_at(cycle, "900").or(named_at(cycle, "001")), None);
        assert_eq!(named_at("over 2024-01-01", ""), None);
    }
}
