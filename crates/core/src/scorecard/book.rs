//! The book: every record the scorecard needs, held as compact columns in memory (day
//! numbers, owner indexes, exact amounts, stage codes), sorted by owner so that one pass
//! touches each owner's accumulators together. Built once from the store's records by
//! [`BookBuilder`]; read by the pass, the roll-up and `explain`.

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::date::{Date, Timestamp, fmt_date};
use crate::ids::PersonId;
use crate::money::{Currency, Money, SCALE};
use crate::org::OrgHistory;
use crate::records::*;
use crate::settings::Settings;

use super::ScorecardError;

/// A calendar date as a day number (days since 1970-01-01).
pub type Day = i32;
/// "No date".
pub const NO_DAY: Day = i32::MIN;
/// "No index".
pub const NONE: u32 = u32::MAX;

const UNIX_EPOCH_JULIAN: i32 = 2_440_588;

pub fn day(d: Date) -> Day {
    d.to_julian_day() - UNIX_EPOCH_JULIAN
}

pub fn date_of(d: Day) -> Date {
    Date::from_julian_day(d + UNIX_EPOCH_JULIAN).unwrap_or(Date::MIN)
}

pub fn fmt_day(d: Day) -> String {
    if d == NO_DAY {
        String::new()
    } else {
        fmt_date(date_of(d))
    }
}

/// Converts moments to the organisation's local calendar day, with the zone parsed once.
#[derive(Clone)]
pub struct LocalDays {
    zone: jiff::tz::TimeZone,
    fixed: Option<i64>,
}

impl LocalDays {
    pub fn new(settings: &Settings) -> Self {
        let zone = settings.zone();
        // UTC and `±HH:MM` zones have one offset; IANA zones are looked up per moment
        let name = settings.time_zone.trim();
        let fixed = (name.eq_ignore_ascii_case("utc") || name.starts_with(['+', '-']))
            .then(|| jiff::Timestamp::UNIX_EPOCH.to_zoned(zone.clone()).offset().seconds())
            .map(i64::from);
        LocalDays { zone, fixed }
    }
    /// The local day of a moment (spec §1: converted to the organisation's zone first).
    pub fn day(&self, t: Timestamp) -> Day {
        let off = match self.fixed {
            Some(o) => o,
            None => match jiff::Timestamp::from_second(t.unix()) {
                Ok(ts) => i64::from(self.zone.to_offset(ts).seconds()),
                Err(_) => 0,
            },
        };
        (t.unix() + off).div_euclid(86_400) as Day
    }
}

/// Record ids, kept only when the book is built for `explain` (the scorecard itself
/// never needs them).
#[derive(Debug, Default, Clone)]
pub struct Ids {
    off: Vec<u32>,
    buf: String,
}

impl Ids {
    pub fn push(&mut self, id: &str) {
        if self.off.is_empty() {
            self.off.push(0);
        }
        self.buf.push_str(id);
        self.off.push(self.buf.len() as u32);
    }
    pub fn get(&self, i: usize) -> &str {
        match (self.off.get(i), self.off.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.buf[a as usize..b as usize],
            _ => "",
        }
    }
    pub fn is_kept(&self) -> bool {
        !self.off.is_empty()
    }
    fn permuted(&self, perm: &[u32]) -> Ids {
        if !self.is_kept() {
            return Ids::default();
        }
        let mut out = Ids::default();
        for &i in perm {
            out.push(self.get(i as usize));
        }
        out
    }
}

/// A person as the scorecard sees them.
#[derive(Debug, Clone)]
pub struct PersonInfo {
    pub id: PersonId,
    pub name: String,
    pub role: Option<String>,
    /// The role is quota-carrying (spec §1 "Active rep").
    pub rep: bool,
    /// First employed day (`NO_DAY`: employed from the start of history).
    pub hired: Day,
    /// First day no longer employed (`i32::MAX`: still employed).
    pub left: Day,
}

impl PersonInfo {
    pub fn employed_on(&self, d: Day) -> bool {
        (self.hired == NO_DAY || self.hired <= d) && d < self.left
    }
}

/// A stage of the sales process, in the order the book derived for it.
#[derive(Debug, Clone)]
pub struct StageInfo {
    pub name: String,
    /// Position in the sales process (0 first). Closed stages come after every open one.
    pub order: u16,
    /// The probability most records in this stage carry, in basis points.
    pub default_bp: u16,
    /// `Some(won|lost)` for a closing stage.
    pub closes: Option<OppStatus>,
}

pub const F_AMOUNT: u8 = 1;
pub const F_NEXT_STEP: u8 = 2;
pub const F_FIRST_WON: u8 = 4;
pub const F_PROB: u8 = 8;

/// Opportunities, one column per field, sorted by (owner, close day, id).
#[derive(Debug, Default)]
pub struct Opps {
    pub owner: Vec<u32>,
    pub created: Vec<Day>,
    /// Actual close day when closed, expected close day when open; `NO_DAY` if unknown.
    pub close: Vec<Day>,
    pub status: Vec<OppStatus>,
    /// Amount in its own currency (ten-thousandths); 0 when absent (see `F_AMOUNT`).
    pub amount: Vec<i64>,
    /// Index into `Book::currencies`; 0 is the organisation's currency.
    pub currency: Vec<u8>,
    /// Amount in the organisation's currency at the close day (closed deals); for open
    /// deals the conversion happens at the as-of day.
    pub amount_at_close: Vec<i64>,
    pub stage: Vec<u16>,
    /// Probability in basis points (the stage's default where the record has none).
    pub prob: Vec<u16>,
    pub account: Vec<u32>,
    pub loss_reason: Vec<u16>,
    pub flags: Vec<u8>,
    /// Day of the last modification (`NO_DAY` unknown).
    pub modified: Vec<Day>,
    /// Stage-history rows of opportunity `i` are `hist_off[i]..hist_off[i+1]`.
    pub hist_off: Vec<u32>,
    /// Opportunities of owner `p` are `owner_off[p]..owner_off[p+1]`.
    pub owner_off: Vec<u32>,
    pub ids: Ids,
    /// Longest created→close span of a closed deal, in days.
    pub max_cycle: i32,
}

impl Opps {
    pub fn len(&self) -> usize {
        self.owner.len()
    }
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }
    pub fn id(&self, i: usize) -> &str {
        self.ids.get(i)
    }
    pub fn has(&self, i: usize, f: u8) -> bool {
        self.flags[i] & f != 0
    }
}

/// Stage-history rows, grouped by opportunity and sorted by time within each.
#[derive(Debug, Default)]
pub struct History {
    pub day: Vec<Day>,
    pub stage: Vec<u16>,
    /// Rows whose amount, close date or probability differ from the opportunity's current
    /// values: row -> (amount in own currency or i64::MIN, close day or NO_DAY, bp or u16::MAX).
    pub overrides: HashMap<u32, (i64, Day, u16)>,
}

/// Leads, sorted by (owner, created).
#[derive(Debug, Default)]
pub struct Leads {
    pub owner: Vec<u32>,
    pub created_day: Vec<Day>,
    pub created_at: Vec<i64>,
    /// Unix seconds of the first activity on the lead at or after its creation; i64::MAX none.
    pub first_response: Vec<i64>,
    pub converted: Vec<Day>,
    /// Activity days on lead `i` are `act_days[act_off[i]..act_off[i+1]]`, sorted.
    pub act_off: Vec<u32>,
    pub act_days: Vec<Day>,
    pub owner_off: Vec<u32>,
    pub ids: Ids,
}

impl Leads {
    pub fn len(&self) -> usize {
        self.owner.len()
    }
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }
    pub fn id(&self, i: usize) -> &str {
        self.ids.get(i)
    }
}

/// Activities, sorted by (owner, day).
#[derive(Debug, Default)]
pub struct Activities {
    pub owner: Vec<u32>,
    pub day: Vec<Day>,
    pub kind: Vec<ActivityKind>,
    pub owner_off: Vec<u32>,
    pub ids: Ids,
}

impl Activities {
    pub fn len(&self) -> usize {
        self.owner.len()
    }
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty()
    }
    pub fn id(&self, i: usize) -> &str {
        self.ids.get(i)
    }
}

/// An account as a customer: its owner, first won deal and churn.
#[derive(Debug, Clone)]
pub struct AccountInfo {
    pub id: String,
    /// The account owner, else the owner of its first won deal, else `Book::nobody()`.
    pub owner: u32,
    /// Close day of its first-ever won opportunity (`NO_DAY`: never won).
    pub first_won: Day,
    pub churned: Day,
}

impl AccountInfo {
    /// Spec §5 `active_customers`: won on or before `d` and not churned by it.
    pub fn active_on(&self, d: Day) -> bool {
        self.first_won != NO_DAY && self.first_won <= d && !(self.churned != NO_DAY && self.churned <= d)
    }
}

#[derive(Debug, Clone)]
pub struct SpendEntry {
    pub day: Day,
    pub target: SpendTarget,
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendTarget {
    Company,
    Unit(u32),
    Person(u32),
}

#[derive(Debug, Clone)]
pub struct SurveyEntry {
    pub id: String,
    pub account: u32,
    pub day: Day,
    /// Score normalised to 0..1 (spec §5 `csat_avg`).
    pub score: f64,
}

#[derive(Debug, Clone)]
pub struct QuotaEntry {
    pub target: QuotaOn,
    pub start: Day,
    pub end: Day,
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaOn {
    Person(u32),
    Team(u32),
    Unit(u32),
}

/// Everything the scorecard reads, in memory.
pub struct Book {
    pub settings: Settings,
    pub days: LocalDays,
    pub org: OrgHistory,
    /// People; index `people.len()` is "nobody" (records with no owner).
    pub people: Vec<PersonInfo>,
    pub person_ix: HashMap<PersonId, u32>,
    pub units: Vec<Unit>,
    pub unit_ix: HashMap<String, u32>,
    pub currencies: Vec<Currency>,
    /// Rates into the organisation's currency per currency index: sorted (day, units of
    /// org currency per unit, as ten-thousandths).
    pub rates: Vec<Vec<(Day, i64)>>,
    pub stages: Vec<StageInfo>,
    pub loss_reasons: Vec<String>,
    pub opps: Opps,
    pub history: History,
    pub leads: Leads,
    pub activities: Activities,
    pub accounts: Vec<AccountInfo>,
    pub spend: Vec<SpendEntry>,
    pub surveys: Vec<SurveyEntry>,
    pub quotas: Vec<QuotaEntry>,
    pub holidays: Vec<Day>,
}

impl Book {
    /// The index of the pseudo-person that owns ownerless records (they count for
    /// `company` only).
    pub fn nobody(&self) -> u32 {
        (self.people.len() - 1) as u32
    }
    pub fn person(&self, key: &str) -> Option<u32> {
        self.person_ix.get(key).copied()
    }
    /// Converts an amount in currency `ccy` to the organisation's currency at day `d`
    /// with the rate in force that day (spec §1 "Amounts").
    pub fn convert(&self, amount: i64, ccy: u8, d: Day) -> Option<i64> {
        if ccy == 0 {
            return Some(amount);
        }
        let rates = &self.rates[ccy as usize];
        let i = rates.partition_point(|&(rd, _)| rd <= d);
        if i == 0 {
            return None;
        }
        let rate = rates[i - 1].1;
        Some(div_round(i128::from(amount) * i128::from(rate), i128::from(SCALE)) as i64)
    }
    pub fn missing_rate(&self, what: &str, ccy: u8, d: Day) -> ScorecardError {
        ScorecardError::MissingRate(format!(
            "{what} is in {} and there is no {}→{} rate on or before {}",
            self.currencies[ccy as usize].as_str(),
            self.currencies[ccy as usize].as_str(),
            self.settings.currency.as_str(),
            fmt_day(d)
        ))
    }
    /// Working days (Mon–Fri minus holidays, spec §1) in `[from, to)`.
    pub fn working_days(&self, from: Day, to: Day) -> u32 {
        if to <= from {
            return 0;
        }
        // 1970-01-01 was a Thursday: weekday index 0 = Monday.
        let wd = |d: Day| (d + 3).rem_euclid(7);
        let n = to - from;
        let full = n / 7;
        let mut count = full * 5;
        let start = from + full * 7;
        for d in start..to {
            if wd(d) < 5 {
                count += 1;
            }
        }
        let lo = self.holidays.partition_point(|&h| h < from);
        let hi = self.holidays.partition_point(|&h| h < to);
        count -= self.holidays[lo..hi].iter().filter(|&&h| wd(h) < 5).count() as i32;
        count.max(0) as u32
    }
}

/// Rounds a rational to the nearest integer, halves away from zero.
pub fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    if n >= 0 { (n + d / 2) / d } else { -((-n + d / 2) / d) }
}

/// Offsets of each owner's rows in a column sorted by owner.
fn owner_offsets(owner: &[u32], people: usize) -> Vec<u32> {
    let mut off = vec![0u32; people + 1];
    for &o in owner {
        off[o as usize + 1] += 1;
    }
    for i in 0..people {
        off[i + 1] += off[i];
    }
    off
}

fn permute<T: Copy>(v: &[T], perm: &[u32]) -> Vec<T> {
    perm.iter().map(|&i| v[i as usize]).collect()
}

/// Builds a [`Book`]. Feed it, in this order: rates and accounts, opportunities (in id
/// order for the fastest history matching), stage history (grouped by opportunity, in
/// time order), leads, activities, then quotas, spend and surveys.
pub struct BookBuilder {
    settings: Settings,
    days: LocalDays,
    keep_ids: bool,
    org: OrgHistory,
    people: Vec<PersonInfo>,
    person_ix: HashMap<PersonId, u32>,
    units: Vec<Unit>,
    unit_ix: HashMap<String, u32>,
    currencies: Vec<Currency>,
    raw_rates: Vec<CurrencyRate>,
    stage_ix: HashMap<String, u16>,
    stage_names: Vec<String>,
    reason_ix: HashMap<String, u16>,
    reasons: Vec<String>,
    opps: Opps,
    opp_amount_known: Vec<bool>,
    opp_prob: Vec<Option<u16>>,
    /// Opportunity ids in arrival order, for matching history rows.
    opp_keys: Ids,
    opp_keys_sorted: bool,
    opp_key_map: Option<HashMap<String, u32>>,
    hist_cursor: u32,
    hist_opp: Vec<u32>,
    hist_at: Vec<i64>,
    hist: History,
    hist_raw_overrides: Vec<(u32, Option<i64>, Day, Option<u16>)>,
    leads: Leads,
    lead_ix: HashMap<String, u32>,
    lead_acts: Vec<(u32, i64, Day)>,
    acts: Activities,
    acct_ix: HashMap<String, u32>,
    accounts: Vec<Account>,
    spend: Vec<Spend>,
    surveys: Vec<SurveyResponse>,
    quotas: Vec<Quota>,
}

impl BookBuilder {
    pub fn new(
        settings: Settings,
        catalog: &Catalog,
        people: &[Person],
        org: OrgHistory,
        keep_ids: bool,
    ) -> BookBuilder {
        let days = LocalDays::new(&settings);
        let mut infos: Vec<PersonInfo> = Vec::with_capacity(people.len() + 1);
        let mut person_ix = HashMap::new();
        let mut sorted: Vec<&Person> = people.iter().collect();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        for p in sorted {
            let role = p.role.as_ref().and_then(|r| catalog.find(r.as_str()));
            person_ix.insert(p.id.clone(), infos.len() as u32);
            infos.push(PersonInfo {
                id: p.id.clone(),
                name: p.name.clone(),
                role: role.map(|r| r.id.clone()),
                rep: role.is_some_and(|r| r.carries_quota),
                hired: p.hired.map(day).unwrap_or(NO_DAY),
                left: p.left.map(day).unwrap_or(i32::MAX),
            });
        }
        let mut units: Vec<Unit> = org.units().cloned().collect();
        units.sort_by(|a, b| a.id.cmp(&b.id));
        let unit_ix = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.as_str().to_owned(), i as u32))
            .collect();
        let currencies = vec![settings.currency];
        BookBuilder {
            settings,
            days,
            keep_ids,
            org,
            people: infos,
            person_ix,
            units,
            unit_ix,
            currencies,
            raw_rates: Vec::new(),
            stage_ix: HashMap::new(),
            stage_names: Vec::new(),
            reason_ix: HashMap::new(),
            reasons: Vec::new(),
            opps: Opps::default(),
            opp_amount_known: Vec::new(),
            opp_prob: Vec::new(),
            opp_keys: Ids::default(),
            opp_keys_sorted: true,
            opp_key_map: None,
            hist_cursor: 0,
            hist_opp: Vec::new(),
            hist_at: Vec::new(),
            hist: History::default(),
            hist_raw_overrides: Vec::new(),
            leads: Leads::default(),
            lead_ix: HashMap::new(),
            lead_acts: Vec::new(),
            acts: Activities::default(),
            acct_ix: HashMap::new(),
            accounts: Vec::new(),
            spend: Vec::new(),
            surveys: Vec::new(),
            quotas: Vec::new(),
        }
    }

    pub fn local_days(&self) -> &LocalDays {
        &self.days
    }

    fn person(&self, id: &PersonId, what: &dyn Fn() -> String) -> Result<u32, ScorecardError> {
        self.person_ix
            .get(id)
            .copied()
            .ok_or_else(|| ScorecardError::Data(format!("{} is owned by unknown person {id}", what())))
    }

    fn currency(&mut self, c: Currency) -> Result<u8, ScorecardError> {
        if let Some(i) = self.currencies.iter().position(|x| *x == c) {
            return Ok(i as u8);
        }
        if self.currencies.len() >= 255 {
            return Err(ScorecardError::Data("more than 255 currencies".into()));
        }
        self.currencies.push(c);
        Ok((self.currencies.len() - 1) as u8)
    }

    fn stage(&mut self, s: &Stage) -> u16 {
        if let Some(&i) = self.stage_ix.get(s.as_str()) {
            return i;
        }
        let i = self.stage_names.len() as u16;
        self.stage_names.push(s.as_str().to_owned());
        self.stage_ix.insert(s.as_str().to_owned(), i);
        i
    }

    pub fn add_rate(&mut self, r: CurrencyRate) {
        self.raw_rates.push(r);
    }

    pub fn add_account(&mut self, a: Account) {
        self.acct_ix
            .insert(a.id.as_str().to_owned(), self.accounts.len() as u32);
        self.accounts.push(a);
    }

    pub fn add_opportunity(&mut self, o: &Opportunity) -> Result<(), ScorecardError> {
        let owner = self.person(&o.owner, &|| format!("opportunity {}", o.id))?;
        let currency = self.currency(o.currency)?;
        let stage = self.stage(&o.stage);
        let loss_reason = match (&o.loss_reason, o.status) {
            (Some(r), OppStatus::Lost) if !r.trim().is_empty() => {
                let r = r.trim();
                match self.reason_ix.get(r) {
                    Some(&i) => i,
                    None => {
                        let i = self.reasons.len() as u16;
                        self.reasons.push(r.to_owned());
                        self.reason_ix.insert(r.to_owned(), i);
                        i
                    }
                }
            }
            _ => u16::MAX,
        };
        let key = o.id.as_str();
        if self.opp_keys_sorted
            && !self.opps.is_empty()
            && self.opp_keys.get(self.opps.len() - 1) >= key
        {
            self.opp_keys_sorted = false;
        }
        self.opp_keys.push(key);
        let x = &mut self.opps;
        x.owner.push(owner);
        x.created.push(o.created.map(day).unwrap_or(NO_DAY));
        x.close.push(o.close_date.map(day).unwrap_or(NO_DAY));
        x.status.push(o.status);
        x.amount.push(o.amount.map(Money::units).unwrap_or(0));
        self.opp_amount_known.push(o.amount.is_some());
        x.currency.push(currency);
        x.stage.push(stage);
        self.opp_prob.push(o.probability.map(|p| p.bp()));
        x.account.push(
            o.account
                .as_ref()
                .and_then(|a| self.acct_ix.get(a.as_str()).copied())
                .unwrap_or(NONE),
        );
        x.loss_reason.push(loss_reason);
        let mut flags = 0;
        if o.amount.is_some() {
            flags |= F_AMOUNT;
        }
        if o.next_step.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            flags |= F_NEXT_STEP;
        }
        if o.probability.is_some() {
            flags |= F_PROB;
        }
        x.flags.push(flags);
        x.modified
            .push(o.last_modified.map(|t| self.days.day(t)).unwrap_or(NO_DAY));
        Ok(())
    }

    fn opp_index(&mut self, key: &str) -> Option<u32> {
        if self.opp_keys_sorted {
            let n = self.opps.len() as u32;
            let c = self.hist_cursor;
            if c < n && self.opp_keys.get(c as usize) == key {
                return Some(c);
            }
            if c + 1 < n && self.opp_keys.get(c as usize + 1) == key {
                self.hist_cursor = c + 1;
                return Some(c + 1);
            }
            let (mut lo, mut hi) = (0u32, n);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.opp_keys.get(mid as usize) < key {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if lo < n && self.opp_keys.get(lo as usize) == key {
                self.hist_cursor = lo;
                return Some(lo);
            }
            return None;
        }
        if self.opp_key_map.is_none() {
            let map = (0..self.opps.len())
                .map(|i| (self.opp_keys.get(i).to_owned(), i as u32))
                .collect();
            self.opp_key_map = Some(map);
        }
        self.opp_key_map.as_ref().and_then(|m| m.get(key).copied())
    }

    pub fn add_stage_change(&mut self, h: &StageChange) -> Result<(), ScorecardError> {
        let Some(opp) = self.opp_index(h.opp.as_str()) else {
            return Err(ScorecardError::Data(format!(
                "stage history row {} refers to unknown opportunity {}",
                h.id, h.opp
            )));
        };
        let stage = self.stage(&h.stage);
        let row = self.hist_opp.len() as u32;
        self.hist_opp.push(opp);
        self.hist_at.push(h.at.unix());
        self.hist.day.push(self.days.day(h.at));
        self.hist.stage.push(stage);
        let (o, a, c, p) = (
            opp as usize,
            h.amount.map(Money::units),
            h.close_date.map(day).unwrap_or(NO_DAY),
            h.probability.map(|p| p.bp()),
        );
        let same_amount = a.is_none() || (self.opp_amount_known[o] && a == Some(self.opps.amount[o]));
        let same_close = c == NO_DAY || c == self.opps.close[o];
        if !(same_amount && same_close) || p.is_some() && p != self.opp_prob[o] {
            self.hist_raw_overrides.push((row, a, c, p));
        }
        Ok(())
    }

    pub fn add_lead(&mut self, l: &Lead) -> Result<(), ScorecardError> {
        let owner = self.person(&l.owner, &|| format!("lead {}", l.id))?;
        self.lead_ix
            .insert(l.id.as_str().to_owned(), self.leads.owner.len() as u32);
        let x = &mut self.leads;
        x.owner.push(owner);
        x.created_at.push(l.created.unix());
        x.created_day.push(self.days.day(l.created));
        x.converted.push(match (l.converted_at, &l.converted_opp, &l.converted_account) {
            (Some(d), _, _) => day(d),
            // converted without a date: converted when it was created
            (None, Some(_), _) | (None, _, Some(_)) => self.days.day(l.created),
            _ => NO_DAY,
        });
        if self.keep_ids {
            x.ids.push(l.id.as_str());
        }
        Ok(())
    }

    pub fn add_activity(&mut self, a: &Activity) -> Result<(), ScorecardError> {
        let owner = self.person(&a.owner, &|| format!("activity {}", a.id))?;
        let d = self.days.day(a.at);
        if let Some(l) = &a.lead
            && let Some(&li) = self.lead_ix.get(l.as_str())
        {
            self.lead_acts.push((li, a.at.unix(), d));
        }
        let x = &mut self.acts;
        x.owner.push(owner);
        x.day.push(d);
        x.kind.push(a.kind);
        if self.keep_ids {
            x.ids.push(a.id.as_str());
        }
        Ok(())
    }

    pub fn add_quota(&mut self, q: Quota) {
        self.quotas.push(q);
    }
    pub fn add_spend(&mut self, s: Spend) {
        self.spend.push(s);
    }
    pub fn add_survey(&mut self, s: SurveyResponse) {
        self.surveys.push(s);
    }

    /// Sorts everything into its scan order and derives the stage order.
    pub fn finish(self) -> Result<Book, ScorecardError> {
        let BookBuilder {
            settings,
            keep_ids,
            org,
            mut people,
            person_ix,
            units,
            unit_ix,
            currencies,
            raw_rates,
            stage_names,
            reasons,
            opps: raw,
            opp_prob,
            opp_keys,
            hist_opp,
            hist_at,
            hist: raw_hist,
            hist_raw_overrides,
            leads: raw_leads,
            lead_acts,
            acts: raw_acts,
            accounts: raw_accounts,
            spend: raw_spend,
            surveys: raw_surveys,
            quotas: raw_quotas,
            ..
        } = self;
        people.push(PersonInfo {
            id: PersonId::parse("(nobody)").map_err(|e| ScorecardError::Data(e.to_string()))?,
            name: "(no owner)".into(),
            role: None,
            rep: false,
            hired: NO_DAY,
            left: i32::MAX,
        });
        let nobody = (people.len() - 1) as u32;

        // Rates into the organisation's currency, direct or inverted.
        let org_ccy = settings.currency;
        let mut rates: Vec<Vec<(Day, i64)>> = vec![Vec::new(); currencies.len()];
        for r in &raw_rates {
            let Some(ci) = currencies.iter().position(|c| *c == r.from) else {
                if r.from == org_ccy
                    && let Some(ci) = currencies.iter().position(|c| *c == r.to)
                    && r.rate.units() != 0
                {
                    let inv = div_round(
                        i128::from(SCALE) * i128::from(SCALE),
                        i128::from(r.rate.units()),
                    ) as i64;
                    rates[ci].push((day(r.date), inv));
                }
                continue;
            };
            if r.to == org_ccy {
                rates[ci].push((day(r.date), r.rate.units()));
            } else if r.from == org_ccy
                && let Some(ti) = currencies.iter().position(|c| *c == r.to)
                && r.rate.units() != 0
            {
                let inv = div_round(
                    i128::from(SCALE) * i128::from(SCALE),
                    i128::from(r.rate.units()),
                ) as i64;
                rates[ti].push((day(r.date), inv));
            }
        }
        for v in &mut rates {
            v.sort();
            v.dedup_by_key(|x| x.0);
        }

        // Stage order and default probabilities, derived from the records: each stage's
        // most common probability; open stages ordered by that probability, then by the
        // mean position at which they appear in histories; won and lost stages last.
        let ns = stage_names.len();
        let mut prob_counts: Vec<HashMap<u16, u64>> = vec![HashMap::new(); ns];
        let mut closes: Vec<[u64; 3]> = vec![[0; 3]; ns];
        for i in 0..raw.len() {
            let s = raw.stage[i] as usize;
            if let Some(p) = opp_prob[i] {
                *prob_counts[s].entry(p).or_default() += 1;
            }
            closes[s][match raw.status[i] {
                OppStatus::Open => 0,
                OppStatus::Won => 1,
                OppStatus::Lost => 2,
            }] += 1;
        }
        for &(row, _, _, p) in &hist_raw_overrides {
            if let Some(p) = p {
                *prob_counts[raw_hist.stage[row as usize] as usize]
                    .entry(p)
                    .or_default() += 1;
            }
        }
        let mut pos_sum = vec![0f64; ns];
        let mut pos_n = vec![0u64; ns];
        {
            let mut k = 0usize;
            while k < hist_opp.len() {
                let mut j = k;
                while j < hist_opp.len() && hist_opp[j] == hist_opp[k] {
                    j += 1;
                }
                let len = (j - k) as f64;
                for (n, r) in (k..j).enumerate() {
                    let s = raw_hist.stage[r] as usize;
                    pos_sum[s] += n as f64 / len.max(1.0);
                    pos_n[s] += 1;
                }
                k = j;
            }
        }
        let default_bp: Vec<u16> = prob_counts
            .iter()
            .map(|m| {
                m.iter()
                    .max_by_key(|(p, c)| (**c, std::cmp::Reverse(**p)))
                    .map(|(p, _)| *p)
                    .unwrap_or(0)
            })
            .collect();
        let stage_closes: Vec<Option<OppStatus>> = (0..ns)
            .map(|s| {
                let [open, won, lost] = closes[s];
                if open == 0 && won > 0 && lost == 0 {
                    Some(OppStatus::Won)
                } else if open == 0 && lost > 0 && won == 0 {
                    Some(OppStatus::Lost)
                } else {
                    None
                }
            })
            .collect();
        let mut order: Vec<usize> = (0..ns).collect();
        let key = |s: usize| {
            let class = match stage_closes[s] {
                None => 0,
                Some(OppStatus::Won) => 1,
                _ => 2,
            };
            let pos = if pos_n[s] > 0 { pos_sum[s] / pos_n[s] as f64 } else { 0.5 };
            (class, default_bp[s], (pos * 1e6) as i64)
        };
        order.sort_by_key(|&s| (key(s), stage_names[s].clone()));
        let mut stages: Vec<StageInfo> = (0..ns)
            .map(|s| StageInfo {
                name: stage_names[s].clone(),
                order: 0,
                default_bp: default_bp[s],
                closes: stage_closes[s],
            })
            .collect();
        for (o, &s) in order.iter().enumerate() {
            stages[s].order = o as u16;
        }

        // Opportunities: sorted by (owner, close, id).
        let n = raw.len();
        let mut perm: Vec<u32> = (0..n as u32).collect();
        perm.sort_unstable_by_key(|&i| (raw.owner[i as usize], raw.close[i as usize], i));
        let mut inv = vec![0u32; n];
        for (new, &old) in perm.iter().enumerate() {
            inv[old as usize] = new as u32;
        }
        let prob: Vec<u16> = (0..n)
            .map(|i| opp_prob[i].unwrap_or(default_bp[raw.stage[i] as usize]))
            .collect();
        let mut opps = Opps {
            owner: permute(&raw.owner, &perm),
            created: permute(&raw.created, &perm),
            close: permute(&raw.close, &perm),
            status: permute(&raw.status, &perm),
            amount: permute(&raw.amount, &perm),
            currency: permute(&raw.currency, &perm),
            amount_at_close: Vec::new(),
            stage: permute(&raw.stage, &perm),
            prob: permute(&prob, &perm),
            account: permute(&raw.account, &perm),
            loss_reason: permute(&raw.loss_reason, &perm),
            flags: permute(&raw.flags, &perm),
            modified: permute(&raw.modified, &perm),
            hist_off: Vec::new(),
            owner_off: Vec::new(),
            ids: if keep_ids { opp_keys.permuted(&perm) } else { Ids::default() },
            max_cycle: 0,
        };
        drop(raw);
        drop(prob);

        // History rows regrouped in the new opportunity order.
        let mut counts = vec![0u32; n + 1];
        for &o in &hist_opp {
            counts[inv[o as usize] as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut hist_order: Vec<u32> = (0..hist_opp.len() as u32).collect();
        hist_order.sort_by_key(|&r| (inv[hist_opp[r as usize] as usize], hist_at[r as usize], r));
        let mut new_row = vec![0u32; hist_opp.len()];
        for (new, &old) in hist_order.iter().enumerate() {
            new_row[old as usize] = new as u32;
        }
        let history = History {
            day: permute(&raw_hist.day, &hist_order),
            stage: permute(&raw_hist.stage, &hist_order),
            overrides: hist_raw_overrides
                .into_iter()
                .map(|(row, a, c, p)| {
                    (new_row[row as usize], (a.unwrap_or(i64::MIN), c, p.unwrap_or(u16::MAX)))
                })
                .collect(),
        };
        drop(hist_order);
        drop(new_row);
        opps.hist_off = counts;

        // Amounts at close in the organisation's currency; first won deal per account.
        let mut book = Book {
            days: LocalDays::new(&settings),
            settings,
            org,
            people,
            person_ix,
            units,
            unit_ix,
            currencies,
            rates,
            stages,
            loss_reasons: reasons,
            opps,
            history,
            leads: Leads::default(),
            activities: Activities::default(),
            accounts: Vec::new(),
            spend: Vec::new(),
            surveys: Vec::new(),
            quotas: Vec::new(),
            holidays: Vec::new(),
        };
        let mut amount_at_close = vec![0i64; n];
        let mut first_won: Vec<(Day, u32)> = vec![(NO_DAY, NONE); raw_accounts.len()];
        let mut max_cycle = 0;
        for i in 0..n {
            let o = &book.opps;
            if o.status[i] != OppStatus::Open && o.flags[i] & F_AMOUNT != 0 && o.close[i] != NO_DAY {
                amount_at_close[i] = book
                    .convert(o.amount[i], o.currency[i], o.close[i])
                    .ok_or_else(|| {
                        book.missing_rate(&format!("opportunity {}", opp_keys_get(&book, &perm, &opp_keys, i)), o.currency[i], o.close[i])
                    })?;
            }
            if o.status[i] != OppStatus::Open && o.close[i] != NO_DAY && o.created[i] != NO_DAY {
                max_cycle = max_cycle.max(o.close[i] - o.created[i]);
            }
            if o.status[i] == OppStatus::Won && o.close[i] != NO_DAY && o.account[i] != NONE {
                let a = o.account[i] as usize;
                let cur = first_won[a];
                if cur.1 == NONE || o.close[i] < cur.0 || (o.close[i] == cur.0 && perm[i] < perm[cur.1 as usize]) {
                    first_won[a] = (o.close[i], i as u32);
                }
            }
        }
        for &(_, i) in &first_won {
            if i != NONE {
                book.opps.flags[i as usize] |= F_FIRST_WON;
            }
        }
        book.opps.amount_at_close = amount_at_close;
        book.opps.max_cycle = max_cycle;
        drop(perm);

        // Accounts.
        book.accounts = raw_accounts
            .iter()
            .zip(&first_won)
            .map(|(a, &(fw, opp))| AccountInfo {
                id: a.id.as_str().to_owned(),
                owner: a
                    .owner
                    .as_ref()
                    .and_then(|p| book.person_ix.get(p).copied())
                    .or((opp != NONE).then(|| book.opps.owner[opp as usize]))
                    .unwrap_or(nobody),
                first_won: fw,
                churned: a.churned_on.map(day).unwrap_or(NO_DAY),
            })
            .collect();

        // Leads: sorted by (owner, created); first response and follow-up days.
        let nl = raw_leads.owner.len();
        let mut lperm: Vec<u32> = (0..nl as u32).collect();
        lperm.sort_unstable_by_key(|&i| (raw_leads.owner[i as usize], raw_leads.created_at[i as usize], i));
        let mut linv = vec![0u32; nl];
        for (new, &old) in lperm.iter().enumerate() {
            linv[old as usize] = new as u32;
        }
        let mut la: Vec<(u32, i64, Day)> = lead_acts
            .into_iter()
            .map(|(l, at, d)| (linv[l as usize], at, d))
            .collect();
        la.sort_unstable();
        let mut leads = Leads {
            owner: permute(&raw_leads.owner, &lperm),
            created_day: permute(&raw_leads.created_day, &lperm),
            created_at: permute(&raw_leads.created_at, &lperm),
            first_response: vec![i64::MAX; nl],
            converted: permute(&raw_leads.converted, &lperm),
            act_off: vec![0; nl + 1],
            act_days: la.iter().map(|x| x.2).collect(),
            owner_off: Vec::new(),
            ids: raw_leads.ids.permuted(&lperm),
        };
        for &(l, at, _) in &la {
            leads.act_off[l as usize + 1] += 1;
            let l = l as usize;
            if at >= leads.created_at[l] && at < leads.first_response[l] {
                leads.first_response[l] = at;
            }
        }
        for i in 0..nl {
            leads.act_off[i + 1] += leads.act_off[i];
        }
        // act_days must be sorted per lead by day: `la` is sorted by (lead, at), and the
        // local day is monotonic in `at`.
        book.leads = leads;

        // Activities: sorted by (owner, day).
        let na = raw_acts.owner.len();
        let mut aperm: Vec<u32> = (0..na as u32).collect();
        aperm.sort_unstable_by_key(|&i| (raw_acts.owner[i as usize], raw_acts.day[i as usize], i));
        book.activities = Activities {
            owner: permute(&raw_acts.owner, &aperm),
            day: permute(&raw_acts.day, &aperm),
            kind: permute(&raw_acts.kind, &aperm),
            owner_off: Vec::new(),
            ids: raw_acts.ids.permuted(&aperm),
        };
        drop(aperm);

        // Quotas, spend, surveys.
        let mut quotas = Vec::new();
        for q in raw_quotas {
            if q.metric != "bookings" {
                continue;
            }
            let target = match &q.target {
                QuotaTarget::Person(p) => book.person_ix.get(p).map(|&i| QuotaOn::Person(i)),
                QuotaTarget::Team(p) => book.person_ix.get(p).map(|&i| QuotaOn::Team(i)),
                QuotaTarget::Unit(u) => book.unit_ix.get(u.as_str()).map(|&i| QuotaOn::Unit(i)),
            };
            let Some(target) = target else {
                return Err(ScorecardError::Data(format!(
                    "quota on unknown {} {}",
                    q.target.kind(),
                    q.target.id()
                )));
            };
            quotas.push(QuotaEntry {
                target,
                start: day(q.period.start),
                end: day(q.period.end),
                amount: q.amount.units(),
            });
        }
        book.quotas = quotas;
        for s in raw_spend {
            let target = match &s.scope {
                SpendScope::Company => SpendTarget::Company,
                SpendScope::Unit(u) => match book.unit_ix.get(u.as_str()) {
                    Some(&i) => SpendTarget::Unit(i),
                    None => return Err(ScorecardError::Data(format!("spend on unknown unit {u}"))),
                },
                SpendScope::Person(p) => match book.person_ix.get(p) {
                    Some(&i) => SpendTarget::Person(i),
                    None => return Err(ScorecardError::Data(format!("spend on unknown person {p}"))),
                },
            };
            book.spend.push(SpendEntry {
                day: day(s.date),
                target,
                amount: s.amount.units(),
            });
        }
        let acct_ix: HashMap<&str, u32> = book
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.as_str(), i as u32))
            .collect();
        let mut surveys = Vec::new();
        for s in raw_surveys {
            let Some(&a) = acct_ix.get(s.account.as_str()) else {
                continue;
            };
            let span = f64::from(s.scale_max - s.scale_min);
            if span <= 0.0 {
                continue;
            }
            surveys.push(SurveyEntry {
                id: s.id.clone(),
                account: a,
                day: day(s.date),
                score: f64::from(s.score - s.scale_min) / span,
            });
        }
        book.surveys = surveys;
        let mut holidays: Vec<Day> = book.settings.holidays.iter().map(|&d| day(d)).collect();
        holidays.sort();
        holidays.dedup();
        book.holidays = holidays;
        let np = book.people.len();
        book.opps.owner_off = owner_offsets(&book.opps.owner, np);
        book.leads.owner_off = owner_offsets(&book.leads.owner, np);
        book.activities.owner_off = owner_offsets(&book.activities.owner, np);
        Ok(book)
    }
}

fn opp_keys_get<'a>(book: &'a Book, perm: &[u32], keys: &'a Ids, i: usize) -> &'a str {
    if book.opps.ids.is_kept() {
        book.opps.id(i)
    } else {
        keys.get(perm[i] as usize)
    }
}
