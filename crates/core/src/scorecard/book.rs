//! The book: every record the scorecard needs, held as compact columns in memory (day
//! numbers, owner indexes, exact amounts, stage codes), sorted by owner so that one pass
//! touches each owner's accumulators together. Built once from the store's records by
//! [`BookBuilder`]; read by the pass, the roll-up and `explain`.

use std::borrow::Cow;
use std::collections::HashMap;

/// A map keyed by the records' own texts (people's ids, units, stages, loss reasons),
/// looked up once for every record a load reads: hashed with foldhash (randomly seeded)
/// rather than SipHash, which a first load spent ~4 % of its instructions in.
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use crate::catalog::Catalog;
use crate::date::{Date, Timestamp, fmt_date};
use crate::ids::{AccountId, PersonId};
use crate::money::{Currency, Money, RATE_SCALE, Rate, SCALE};
use crate::org::OrgHistory;
use crate::records::*;
use crate::settings::Settings;

use super::ScorecardError;

/// A calendar date as a day number (days since 1970-01-01).
pub type Day = i32;
/// "No date".
pub const NO_DAY: Day = i32::MIN;
/// [`Leads::response_secs`] of a lead never answered.
pub const NO_RESPONSE: u32 = u32::MAX;
/// "No index".
pub const NONE: u32 = u32::MAX;

const UNIX_EPOCH_JULIAN: i32 = 2_440_588;

pub fn day(d: Date) -> Day {
    d.to_julian_day() - UNIX_EPOCH_JULIAN
}

pub fn date_of(d: Day) -> Date {
    Date::from_julian_day(d + UNIX_EPOCH_JULIAN).unwrap_or(Date::MIN)
}

/// A day's `YYYY-MM-DD` in ten bytes ([`crate::date::date_digits`]); `None` for no day.
pub fn day_digits(d: Day) -> Option<[u8; 10]> {
    if d == NO_DAY {
        None
    } else {
        crate::date::date_digits(date_of(d))
    }
}

/// A day written where it is formatted, as [`fmt_day`] writes it (nothing for no day),
/// without a `String` of its own: `format!("close {}", DayShown(d))`.
#[derive(Debug, Clone, Copy)]
pub struct DayShown(pub Day);

impl std::fmt::Display for DayShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match day_digits(self.0) {
            Some(d) => f.write_str(std::str::from_utf8(&d).unwrap_or_default()),
            None => f.write_str(&fmt_day(self.0)),
        }
    }
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
            .then(|| {
                jiff::Timestamp::UNIX_EPOCH
                    .to_zoned(zone.clone())
                    .offset()
                    .seconds()
            })
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

pub use super::idtext::{GrowingIds, IdHead, Ids, PackedParts, id_head};

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

/// A stage of the sales process. Its place in the order the book derived for the stages
/// is its number (see [`Book::stages`]).
#[derive(Debug, Clone)]
pub struct StageInfo {
    pub name: String,
    /// The probability most records in this stage carry, in basis points.
    pub default_bp: u16,
    /// `Some(won|lost)` for a closing stage.
    pub closes: Option<OppStatus>,
    /// The forecast category most stage-history rows in this stage give ([`Opps::fcat`]'s
    /// code: 0 none).
    pub default_fcat: u8,
}

/// Forecast categories in [`Opps::fcat`] order (after 0, unknown).
pub const FORECAST_CATEGORIES: [&str; 5] = ["pipeline", "best_case", "commit", "closed", "omitted"];

/// A forecast category's code in [`Opps::fcat`] (0: none).
fn fcat_code(f: Option<ForecastCategory>) -> u8 {
    f.map_or(0, |f| {
        1 + FORECAST_CATEGORIES
            .iter()
            .position(|c| *c == f.as_str())
            .unwrap_or(0) as u8
    })
}

pub const F_AMOUNT: u8 = 1;
pub const F_NEXT_STEP: u8 = 2;
pub const F_FIRST_WON: u8 = 4;
/// The deal's history has rows whose probability differs from the one a row without one
/// takes (entries of [`History::probs`], see [`History::prob_without`]): only then is
/// that list searched for the deal's probability on a day, as [`F_AMOUNTS`].
pub const F_PROBS: u8 = 8;
/// The deal's history has a row in the stage of the row before (see [`ADV_REPEAT`]).
pub const F_STAYS: u8 = 16;
/// The deal's history brings it back into a stage it had entered before (a slip back from
/// Negotiation to Proposal and on again): only then does the stage walk note the stages a
/// deal entered in a period ([`StagesSeen`]).
pub const F_RETURNS: u8 = 32;
/// The deal's history has rows whose amount differs from the deal's current one (entries
/// of [`History::amounts`]): only then is that list searched for the deal's state on a
/// day. Seven deals in ten of the demo have none (and about half have neither these nor
/// [`F_CLOSES`]).
pub const F_AMOUNTS: u8 = 64;
/// The deal's history has rows whose close day differs from the deal's current one
/// (entries of [`History::closes`]), as [`F_AMOUNTS`].
pub const F_CLOSES: u8 = 128;

/// Opportunities, one column per field, sorted by (owner, close day, arrival).
#[derive(Debug, Default)]
pub struct Opps {
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
    pub stage: Vec<u8>,
    /// Probability in basis points (the stage's default where the record has none).
    pub prob: Vec<u16>,
    pub account: Vec<u32>,
    pub loss_reason: Vec<u16>,
    /// Forecast category: 0 unknown, else 1 + its index in [`FORECAST_CATEGORIES`].
    pub fcat: Vec<u8>,
    pub flags: Vec<u8>,
    /// Day of the last modification (`NO_DAY` unknown).
    pub modified: Vec<Day>,
    /// Stage-history rows of opportunity `i` are `hist_off[i]..hist_off[i+1]`.
    pub hist_off: Vec<u32>,
    /// Opportunities of owner `p` are `owner_off[p]..owner_off[p+1]` (the only record of
    /// a deal's owner: see [`Opps::owner_of`]).
    pub owner_off: Vec<u32>,
    pub ids: Ids,
    /// Without `ids`, the deals a conversion can fail for (see [`NamedDeals`]).
    pub named: NamedDeals,
    /// Longest created→close span of a closed deal, in days.
    pub max_cycle: i32,
}

/// The ids of the deals that a conversion into the organisation's currency can fail for,
/// kept when a book holds no record ids (the scorecard's): an amount in a currency with no
/// rate, or whose first rate comes after the deal was created (or, open, with no created
/// day), or after it closed. An error names them as a book with ids does; the other
/// deals' ids (220 MB at 10M deals) are not held. Usually empty.
#[derive(Debug, Default, Clone)]
pub struct NamedDeals {
    /// The deals' numbers, ascending.
    pub ix: Vec<u32>,
    /// Their ids, in the same order.
    pub ids: Ids,
}

impl NamedDeals {
    /// The id of deal `i`, if it is held.
    pub fn get(&self, i: usize) -> Option<Cow<'_, str>> {
        let k = self.ix.binary_search(&u32::try_from(i).ok()?).ok()?;
        Some(self.ids.get(k))
    }
}

impl Opps {
    pub fn len(&self) -> usize {
        self.created.len()
    }
    pub fn is_empty(&self) -> bool {
        self.created.is_empty()
    }
    /// The owner of deal `i`, from [`Opps::owner_off`] (a column of owners beside the
    /// offsets, which no pass read, had been 40 MB at 10M deals).
    pub fn owner_of(&self, i: usize) -> u32 {
        owner_at(&self.owner_off, i)
    }
    /// Deal `i`'s id: from `ids` where the book keeps them, else from
    /// [`Opps::named`] (empty for a deal no conversion can fail for).
    pub fn id(&self, i: usize) -> Cow<'_, str> {
        if self.ids.is_kept() {
            self.ids.get(i)
        } else {
            self.named.get(i).unwrap_or(Cow::Borrowed(""))
        }
    }
    pub fn has(&self, i: usize, f: u8) -> bool {
        self.flags[i] & f != 0
    }
    /// The day deal `i` was won on; `Day::MAX` (past every as-of day) when it was not, or
    /// its close is unknown.
    /// Whether deal `i`'s history needs the stage walk for irregular histories: it has a
    /// row that stays in its stage or brings it back into one ([`F_STAYS`], [`F_RETURNS`]).
    #[inline(always)]
    pub fn irregular(&self, i: usize) -> bool {
        self.flags[i] & (F_STAYS | F_RETURNS) != 0
    }

    #[inline]
    pub fn won_on(&self, i: usize) -> Day {
        if self.status[i] == OppStatus::Won && self.close[i] != NO_DAY {
            self.close[i]
        } else {
            Day::MAX
        }
    }
}

/// The stage-history rows whose value of one field differs from their deal's current one,
/// sorted by row: two columns, the rows and their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Differing<T> {
    pub rows: Vec<u32>,
    pub values: Vec<T>,
}

impl<T> Default for Differing<T> {
    fn default() -> Self {
        Differing {
            rows: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<T: Copy> Differing<T> {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn push(&mut self, row: u32, value: T) {
        self.rows.push(row);
        self.values.push(value);
    }

    /// The value row `r` gives, if it differs (a binary search of the whole list).
    #[inline]
    pub fn at(&self, r: usize) -> Option<T> {
        self.rows
            .binary_search(&(r as u32))
            .ok()
            .map(|k| self.values[k])
    }

    /// The value row `r` gives, if it differs, searched from entry `from` on (a deal's
    /// first, found with [`gallop`]): a deal has few, so the search is short.
    #[inline(always)]
    pub fn find_from(&self, from: usize, r: u32) -> Option<T> {
        let k = gallop(&self.rows, from, r);
        (self.rows.get(k) == Some(&r)).then(|| self.values[k])
    }

    /// The entries moved to their rows' new places (`dest[row]`) and sorted by them again.
    fn moved(mut self, dest: &[u32]) -> Self {
        for r in &mut self.rows {
            *r = dest[*r as usize];
        }
        let mut perm: Vec<u32> = (0..self.rows.len() as u32).collect();
        perm.sort_unstable_by_key(|&k| self.rows[k as usize]);
        Differing {
            rows: perm.iter().map(|&k| self.rows[k as usize]).collect(),
            values: perm.iter().map(|&k| self.values[k as usize]).collect(),
        }
    }
}

/// Places in [`History::amounts`], [`History::closes`] and [`History::probs`], walked
/// forward together.
pub type Cursor = (usize, usize, usize);

/// The first index at or after `from` of `rows` (sorted) whose row is not below `row`: a
/// galloping search, so that walking forward costs the log of the distance.
#[inline]
pub fn gallop(rows: &[u32], from: usize, row: u32) -> usize {
    let mut lo = from;
    let mut step = 1;
    while lo + step <= rows.len() && rows[lo + step - 1] < row {
        lo += step;
        step *= 2;
    }
    let hi = (lo + step).min(rows.len());
    lo + rows[lo..hi].partition_point(|&x| x < row)
}

/// Stage-history rows, grouped by opportunity and sorted by time within each.
#[derive(Debug, Default)]
pub struct History {
    pub day: Vec<Day>,
    pub stage: Vec<u8>,
    /// The rows whose probability (basis points) differs from the one a row without one
    /// takes ([`History::prob_without`]).
    pub probs: Differing<u16>,
    /// The rows whose amount (in the deal's own currency) differs from the deal's current
    /// one, and those whose close day does: two lists, as a history that moves has many
    /// more of one than of both (at 10M deals of the demo, a list of both in one, 16 bytes
    /// each, had been 256 MB, and put the cold run over 2 GB).
    pub amounts: Differing<i64>,
    pub closes: Differing<Day>,
    /// The rows whose forecast category ([`Opps::fcat`]'s code) differs from the one a
    /// row without one takes ([`History::fcat_without`]).
    pub fcats: Differing<u8>,
    /// For each row in an open stage: how many days after the row's day its deal first
    /// advanced past that stage (a later row of a higher rank, or the close of a won
    /// deal; see [`History::advances`]), [`ADV_NEVER`] when it never did, [`ADV_FAR`]
    /// when that day does not fit (before the row's own day, or 65,533 days or more
    /// after it: the pass then reads the later rows itself). Rows in closed stages hold
    /// [`ADV_NEVER`]. The pass asks for every stage entry whether its deal advanced by a
    /// period's as-of day: one comparison instead of a walk over the deal's later rows.
    /// A row in the stage of the row before (a change of amount, close date or
    /// probability, which Salesforce's history records as a row of its own) entered no
    /// stage: it holds [`ADV_REPEAT`].
    pub advance: Vec<u16>,
}

/// The stages a deal has entered so far in one period, as the stage walk goes over its rows
/// in time order: `stage_conversion` counts the opportunities that entered a stage in the
/// period (spec §6), so a deal that enters a stage again in the same period counts once,
/// with whether it advanced after its first entry then.
#[derive(Debug, Clone, Copy, Default)]
pub struct StagesSeen([u64; 4]);

impl StagesSeen {
    /// Notes `stage` entered: whether it was not yet.
    #[inline(always)]
    pub fn first(&mut self, stage: u8) -> bool {
        let (w, bit) = (usize::from(stage >> 6), 1u64 << (stage & 63));
        let new = self.0[w] & bit == 0;
        self.0[w] |= bit;
        new
    }
}

/// [`History::advance`]: the deal never advanced past the row's stage.
pub const ADV_NEVER: u16 = u16::MAX;
/// [`History::advance`]: the deal advanced on a day the column cannot hold.
pub const ADV_FAR: u16 = u16::MAX - 1;
/// [`History::advance`]: the row keeps the deal in the stage of the row before; it is no
/// entry into the stage, and the stay goes on.
pub const ADV_REPEAT: u16 = u16::MAX - 2;

impl History {
    /// The probability of row `r` (of deal `i`, in stage `stage`) in basis points, its
    /// entry in [`History::probs`] searched for from place `from` on (the deal's, see
    /// [`History::overrides_of`]) and only for a deal that has one ([`F_PROBS`]): a search
    /// of the whole list for every deal open on an as-of day had been some 20 steps each,
    /// most of them misses, where a history's probabilities often differ from the
    /// stages' usual ones. Always inline: called out of line for every deal open on an
    /// as-of day, its arguments were spilled and read back.
    #[inline(always)]
    pub fn prob(
        &self,
        stages: &[StageInfo],
        opps: &Opps,
        (i, r): (usize, usize),
        stage: u8,
        from: usize,
    ) -> u16 {
        let given = if opps.flags[i] & F_PROBS != 0 {
            self.probs.find_from(from, r as u32)
        } else {
            None
        };
        given.unwrap_or_else(|| Self::prob_without(stages, opps, i, stage))
    }

    /// The probability a row of deal `i` in `stage` takes when it gives none (or gives
    /// this one): the deal's own at its current stage, the stage's default at another.
    #[inline]
    pub fn prob_without(stages: &[StageInfo], opps: &Opps, i: usize, stage: u8) -> u16 {
        if stage == opps.stage[i] {
            opps.prob[i]
        } else {
            stages[stage as usize].default_bp
        }
    }

    /// The forecast category of row `r` (of deal `i`, in stage `stage`): [`Opps::fcat`]'s
    /// code, its entry in [`History::fcats`] searched for from place `from` on (at or
    /// before the deal's first row's, see [`gallop`]; 0 searches the whole list): a walk
    /// over an owner's open deals (a chart of the open pipeline on a past day) goes on
    /// from the last deal's place instead of searching the whole list for each.
    #[inline]
    pub fn fcat(
        &self,
        stages: &[StageInfo],
        opps: &Opps,
        (i, r): (usize, usize),
        stage: u8,
        from: usize,
    ) -> u8 {
        self.fcats
            .find_from(from, r as u32)
            .unwrap_or_else(|| Self::fcat_without(stages, opps, i, stage))
    }

    /// The forecast category a row of deal `i` in `stage` takes when it gives none (or
    /// gives this one): the deal's own at its current stage, the stage's usual one at
    /// another.
    #[inline]
    pub fn fcat_without(stages: &[StageInfo], opps: &Opps, i: usize, stage: u8) -> u8 {
        if stage == opps.stage[i] {
            opps.fcat[i]
        } else {
            stages[stage as usize].default_fcat
        }
    }

    /// Sets the [`History::advance`] column and each deal's [`F_STAYS`] and [`F_RETURNS`]
    /// (see [`History::advances`]).
    pub fn set_advances(&mut self, opps: &mut Opps, ranks: &[u16]) {
        self.advance = self.advances(opps, ranks);
        for (i, w) in opps.hist_off.windows(2).enumerate() {
            let mut seen = StagesSeen::default();
            let mut flags = 0;
            for r in w[0] as usize..w[1] as usize {
                if !self.is_entry(r) {
                    flags |= F_STAYS;
                } else if !seen.first(self.stage[r]) {
                    flags |= F_RETURNS;
                }
            }
            opps.flags[i] = opps.flags[i] & !(F_STAYS | F_RETURNS) | flags;
        }
        self.set_moves(opps);
    }

    /// Sets each deal's [`F_AMOUNTS`], [`F_CLOSES`] and [`F_PROBS`]: whether
    /// [`History::amounts`], [`History::closes`] and [`History::probs`] hold one of its
    /// rows.
    fn set_moves(&self, opps: &mut Opps) {
        for f in &mut opps.flags {
            *f &= !(F_AMOUNTS | F_CLOSES | F_PROBS);
        }
        for (flag, rows) in [
            (F_AMOUNTS, &self.amounts.rows),
            (F_CLOSES, &self.closes.rows),
            (F_PROBS, &self.probs.rows),
        ] {
            let mut i = 0;
            for &r in rows {
                while opps.hist_off[i + 1] <= r {
                    i += 1;
                }
                opps.flags[i] |= flag;
            }
        }
    }

    /// The places at or after `from` in [`History::amounts`], [`History::closes`] and
    /// [`History::probs`] of the first rows not below `row` (deal `i`'s first row, or the
    /// row after its last), searched for only in the lists that hold one of the deal's
    /// rows ([`F_AMOUNTS`], [`F_CLOSES`], [`F_PROBS`]): in another, the place stays at
    /// `from` (at or before the deal's
    /// first row's), which comes before any later deal's entries there too, so a search
    /// for one goes on from it. The open pipeline's walk asks this for every deal open on
    /// an as-of day: searching both lists for each had been about 5 % of a bulk pass's
    /// instructions at 1M deals. Always inline: called apart, its three places came back
    /// through memory and were read back at once as one, a store the processor could not
    /// forward (9 % of the open pipeline's samples in `owner_records` on that one load).
    #[inline(always)]
    pub fn overrides_of(&self, from: Cursor, opps: &Opps, i: usize, row: u32) -> Cursor {
        let f = opps.flags[i];
        (
            if f & F_AMOUNTS != 0 {
                gallop(&self.amounts.rows, from.0, row)
            } else {
                from.0
            },
            if f & F_CLOSES != 0 {
                gallop(&self.closes.rows, from.1, row)
            } else {
                from.1
            },
            if f & F_PROBS != 0 {
                gallop(&self.probs.rows, from.2, row)
            } else {
                from.2
            },
        )
    }

    /// The [`History::advance`] column of `opps`' history rows, with each stage's rank
    /// (`ranks`, see [`super::pass::stage_ranks`]).
    pub fn advances(&self, opps: &Opps, ranks: &[u16]) -> Vec<u16> {
        let mut out = vec![ADV_NEVER; self.day.len()];
        for i in 0..opps.len() {
            let (r0, r1) = (opps.hist_off[i] as usize, opps.hist_off[i + 1] as usize);
            let won_on = opps.won_on(i);
            for r in r0..r1 {
                if r > r0 && self.stage[r - 1] == self.stage[r] {
                    out[r] = ADV_REPEAT;
                    continue;
                }
                let rk = ranks[self.stage[r] as usize];
                if !super::pass::open_rank(rk) {
                    continue;
                }
                let mut on = won_on;
                for r2 in r + 1..r1 {
                    if ranks[self.stage[r2] as usize] > rk {
                        on = on.min(self.day[r2]);
                    }
                }
                out[r] = if on == Day::MAX {
                    ADV_NEVER
                } else {
                    match u16::try_from(i64::from(on) - i64::from(self.day[r])) {
                        Ok(x) if x < ADV_REPEAT => x,
                        _ => ADV_FAR,
                    }
                };
            }
        }
        out
    }

    /// Whether row `r` put its deal into its stage (the deal's first row, or one in
    /// another stage than the row before): an entry, for `stage_conversion`.
    #[inline(always)]
    pub fn is_entry(&self, r: usize) -> bool {
        self.advance[r] != ADV_REPEAT
    }

    /// The row that entered the stage row `r` is in: the first of the run of rows in that
    /// stage that ends with `r` (`r` itself, but where the history records other changes
    /// during the stay). A stay in a stage lasts from that row's day.
    #[inline(always)]
    pub fn stay_start(&self, r: usize) -> usize {
        let mut s = r;
        // (a deal's first row is always an entry)
        while self.advance[s] == ADV_REPEAT {
            s -= 1;
        }
        s
    }

    /// Whether the deal of row `r` (an open stage's row; the deal's rows end before `r1`,
    /// and it was won on `won_on`, or `Day::MAX`) had advanced past the row's stage by day
    /// `a`: won, or a later row of a higher rank (`rank` of a stage), on or before `a`.
    /// Never for a row that entered no stage ([`ADV_REPEAT`]).
    #[inline(always)]
    pub fn advanced_by(
        &self,
        r: usize,
        r1: usize,
        won_on: Day,
        a: Day,
        rank: impl Fn(u8) -> u16,
    ) -> bool {
        let x = self.advance[r];
        if x == ADV_FAR {
            // (rare) without branches: whether a deal advanced is a coin toss for the
            // predictor
            let rk = rank(self.stage[r]);
            let mut adv = won_on <= a;
            for r2 in r + 1..r1 {
                adv |= (self.day[r2] <= a) & (rank(self.stage[r2]) > rk);
            }
            adv
        } else {
            (x < ADV_REPEAT) & (i64::from(self.day[r]) + i64::from(x) <= i64::from(a))
        }
    }
}

/// Leads, sorted by (owner, created day, created).
#[derive(Debug, Default)]
pub struct Leads {
    pub created_day: Vec<Day>,
    /// Seconds from the lead's creation to its first response, the first activity on it at
    /// or after its creation ([`NO_RESPONSE`]: none; at most `NO_RESPONSE - 1`).
    pub response_secs: Vec<u32>,
    /// The local day of that first response ([`NO_DAY`]: none): the pass asks whether a
    /// lead was answered by a period's as-of day with one comparison.
    pub response_day: Vec<Day>,
    pub converted: Vec<Day>,
    /// Activity days on lead `i` are `act_days[act_off[i]..act_off[i+1]]`, sorted.
    pub act_off: Vec<u32>,
    pub act_days: Vec<Day>,
    /// Leads of owner `p` are `owner_off[p]..owner_off[p+1]` (see [`Leads::owner_of`]).
    pub owner_off: Vec<u32>,
    pub ids: Ids,
}

impl Leads {
    pub fn len(&self) -> usize {
        self.created_day.len()
    }
    pub fn is_empty(&self) -> bool {
        self.created_day.is_empty()
    }
    /// The owner of lead `i`.
    pub fn owner_of(&self, i: usize) -> u32 {
        owner_at(&self.owner_off, i)
    }
    pub fn id(&self, i: usize) -> Cow<'_, str> {
        self.ids.get(i)
    }
}

/// Activities, sorted by (owner, day). Without ids (the scorecard), each row counts an
/// owner's activities of one day; with ids (`explain`), each row is one activity, whose
/// kind says whether it is a call ([`Activities::counts`]).
#[derive(Debug, Default)]
pub struct Activities {
    pub day: Vec<Day>,
    /// Calls in the row (empty when each row is one activity).
    pub calls: Vec<u16>,
    /// Activities of any kind in the row (empty when each row is one activity).
    pub total: Vec<u16>,
    /// The kind of each activity (only when ids are kept).
    pub kind: Vec<ActivityKind>,
    /// Rows of owner `p` are `owner_off[p]..owner_off[p+1]` (see
    /// [`Activities::owner_of`]).
    pub owner_off: Vec<u32>,
    pub ids: Ids,
}

impl Activities {
    /// The calls and the activities of any kind in rows `run`.
    #[inline]
    pub fn counts(&self, run: std::ops::Range<usize>) -> (u32, u32) {
        if self.total.is_empty() {
            let kinds = self.kind.get(run.clone()).unwrap_or(&[]);
            let calls = kinds.iter().filter(|&&k| k == ActivityKind::Call).count();
            (calls as u32, run.len() as u32)
        } else {
            let sum = |col: &[u16]| -> u32 { col[run.clone()].iter().map(|&x| u32::from(x)).sum() };
            (sum(&self.calls), sum(&self.total))
        }
    }
    /// Whether row `i` holds a call.
    pub fn has_call(&self, i: usize) -> bool {
        if self.total.is_empty() {
            self.kind.get(i) == Some(&ActivityKind::Call)
        } else {
            self.calls.get(i).is_some_and(|&c| c > 0)
        }
    }
    /// Adds `total` activities (`calls` of them calls) on day `d` after the rows so far
    /// (sorted by owner and day), of the owner whose rows start at row `first`: into the
    /// last row where it is that owner's and of the same day, a row holding at most
    /// `u16::MAX`.
    fn add_day(&mut self, first: usize, d: Day, mut total: u32, mut calls: u32) {
        while total > 0 {
            let joins = self.day.len() > first
                && self.day.last() == Some(&d)
                && self.total.last().is_some_and(|&t| t < u16::MAX);
            if !joins {
                self.day.push(d);
                self.total.push(0);
                self.calls.push(0);
            }
            let n = self.total.len() - 1;
            let k = total.min(u32::from(u16::MAX - self.total[n]));
            // (a row's calls are at most its activities: they fit as well)
            let kc = calls.min(k);
            self.total[n] += k as u16;
            self.calls[n] += kc as u16;
            total -= k;
            calls -= kc;
        }
    }
    pub fn len(&self) -> usize {
        self.day.len()
    }
    pub fn is_empty(&self) -> bool {
        self.day.is_empty()
    }
    pub fn id(&self, i: usize) -> Cow<'_, str> {
        self.ids.get(i)
    }
    /// The owner of row `i`.
    pub fn owner_of(&self, i: usize) -> u32 {
        owner_at(&self.owner_off, i)
    }
}

/// An account as a customer: its owner, first won deal and churn.
#[derive(Debug, Clone)]
pub struct AccountInfo {
    /// The account owner, else the owner of its first won deal, else `Book::nobody()`.
    pub owner: u32,
    /// Close day of its first-ever won opportunity (`NO_DAY`: never won).
    pub first_won: Day,
    pub churned: Day,
}

impl AccountInfo {
    /// Spec §5 `active_customers`: won on or before `d` and not churned by it.
    pub fn active_on(&self, d: Day) -> bool {
        self.first_won != NO_DAY
            && self.first_won <= d
            && !(self.churned != NO_DAY && self.churned <= d)
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

/// Packed to 4 bytes' alignment: 20 bytes, not 24 (a list of 5.5M at 10M deals was 126
/// MiB of a cold run's peak). Read its fields by value (`{ s.score }`), not by reference.
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
pub struct SurveyEntry {
    /// The account's owner (surveys are sorted by owner, then day).
    pub owner: u32,
    pub account: u32,
    pub day: Day,
    /// Score normalised to 0..1 (spec §5 `csat_avg`).
    pub score: f64,
}

#[derive(Debug, Clone)]
pub struct QuotaEntry {
    /// The KPI it is set on: its place in [`crate::kpi::KPI_IDS`] (0: bookings, a quota).
    pub metric: u8,
    pub target: QuotaOn,
    pub start: Day,
    pub end: Day,
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// People, then (last, at [`Book::nobody`]) the pseudo-person that owns records without an owner.
    pub people: Vec<PersonInfo>,
    pub person_ix: Map<PersonId, u32>,
    pub units: Vec<Unit>,
    pub unit_ix: Map<String, u32>,
    pub currencies: Vec<Currency>,
    /// Rates into the organisation's currency per currency index, sorted by the day
    /// from which each is in force. Set with [`Book::set_rates`].
    rates: Vec<Vec<(Day, Conversion)>>,
    /// Per currency, the index in `rates` of the rate in force on each day from its
    /// first rate's day (see [`RateDays`]).
    rate_days: Vec<RateDays>,
    /// The stages in the order of the sales process: the open ones (first to last), then
    /// the won, then the lost. A stage's number in the records' stage columns is its
    /// place here, and so its place in a stage table.
    pub stages: Vec<StageInfo>,
    pub loss_reasons: Vec<String>,
    pub opps: Opps,
    pub history: History,
    pub leads: Leads,
    pub activities: Activities,
    pub accounts: Vec<AccountInfo>,
    pub account_ids: Ids,
    pub spend: Vec<SpendEntry>,
    pub surveys: Vec<SurveyEntry>,
    /// Survey ids, kept only for `explain`.
    pub survey_ids: Ids,
    /// The quotas: targets on bookings.
    pub quotas: Vec<QuotaEntry>,
    /// Targets on the other KPIs of [`crate::kpi::can_target`] (calls, win rate…).
    pub targets: Vec<QuotaEntry>,
    pub holidays: Vec<Day>,
    /// The quota pro-rating's weights by day, from `settings` (see [`MonthWeights`]).
    pub month_weights: MonthWeights,
}

/// Part `k` of `n` (about equal shares) of a column.
fn share<T>(v: &[T], k: usize, n: usize) -> &[T] {
    let n = n.max(1);
    &v[v.len() * k / n..v.len() * (k + 1) / n]
}

impl Book {
    /// Whether the book holds its activities one by one, each with its kind, as a
    /// drill-down lists them (a book loaded without record ids, the bulk export's, holds
    /// counts by owner and day).
    pub fn keeps_activities(&self) -> bool {
        self.activities.kind.len() == self.activities.day.len()
    }

    /// Reads part `k` of `n` of every column the full scorecard pass reads — the deals'
    /// days, status, amounts, currency, flags, loss reason and history offsets, the stage
    /// history (days, stages, advances), the leads, the activities and the surveys —
    /// once, in order, and returns a checksum and the bytes read. Timed over `n` threads,
    /// this is the memory floor of any pass over these columns (the benchmark prints it
    /// beside the scorecard's time); it computes nothing.
    pub fn read_pass_columns(&self, k: usize, n: usize) -> (u64, u64) {
        fn sum<T>(v: &[T], f: impl Fn(&T) -> u64, acc: &mut (u64, u64)) {
            acc.0 = v.iter().fold(acc.0, |a, x| a.wrapping_add(f(x)));
            acc.1 += std::mem::size_of_val(v) as u64;
        }
        let mut acc = (0u64, 0u64);
        let (o, h, l, a) = (&self.opps, &self.history, &self.leads, &self.activities);
        let day = |d: &Day| *d as u64;
        sum(share(&o.created, k, n), day, &mut acc);
        sum(share(&o.close, k, n), day, &mut acc);
        sum(share(&o.status, k, n), |s| *s as u64, &mut acc);
        sum(share(&o.amount, k, n), |x| *x as u64, &mut acc);
        sum(share(&o.amount_at_close, k, n), |x| *x as u64, &mut acc);
        sum(share(&o.currency, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&o.flags, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&o.loss_reason, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&o.hist_off, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&h.day, k, n), day, &mut acc);
        sum(share(&h.stage, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&h.advance, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&l.created_day, k, n), day, &mut acc);
        sum(share(&l.response_secs, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&l.response_day, k, n), day, &mut acc);
        sum(share(&l.converted, k, n), day, &mut acc);
        sum(share(&l.act_off, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&l.act_days, k, n), day, &mut acc);
        sum(share(&a.day, k, n), day, &mut acc);
        sum(share(&a.calls, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&a.total, k, n), |x| u64::from(*x), &mut acc);
        sum(share(&a.kind, k, n), |x| *x as u64, &mut acc);
        sum(
            share(&self.surveys, k, n),
            |s| (s.day as u64) ^ s.score.to_bits(),
            &mut acc,
        );
        acc
    }

    /// The bytes the book's columns take in memory, by group of records (a server's
    /// status page: where its memory goes). The record ids of every group are a group of
    /// their own; the people, units and settings (a few MB at most) are not counted.
    pub fn memory(&self) -> Vec<(&'static str, usize)> {
        fn v<T>(x: &Vec<T>) -> usize {
            x.capacity() * std::mem::size_of::<T>()
        }
        fn d<T>(x: &Differing<T>) -> usize {
            v(&x.rows) + v(&x.values)
        }
        let (o, h, l, a) = (&self.opps, &self.history, &self.leads, &self.activities);
        vec![
            (
                "opportunities",
                v(&o.created)
                    + v(&o.close)
                    + v(&o.status)
                    + v(&o.amount)
                    + v(&o.currency)
                    + v(&o.amount_at_close)
                    + v(&o.stage)
                    + v(&o.prob)
                    + v(&o.account)
                    + v(&o.loss_reason)
                    + v(&o.fcat)
                    + v(&o.flags)
                    + v(&o.modified)
                    + v(&o.hist_off)
                    + v(&o.owner_off)
                    + v(&o.named.ix),
            ),
            (
                "stage history",
                v(&h.day)
                    + v(&h.stage)
                    + v(&h.advance)
                    + d(&h.probs)
                    + d(&h.amounts)
                    + d(&h.closes)
                    + d(&h.fcats),
            ),
            (
                "leads",
                v(&l.created_day)
                    + v(&l.response_secs)
                    + v(&l.response_day)
                    + v(&l.converted)
                    + v(&l.act_off)
                    + v(&l.act_days)
                    + v(&l.owner_off),
            ),
            (
                "activities",
                v(&a.day) + v(&a.calls) + v(&a.total) + v(&a.kind) + v(&a.owner_off),
            ),
            ("accounts", v(&self.accounts)),
            ("surveys", v(&self.surveys)),
            (
                "quotas, targets and spend",
                v(&self.quotas) + v(&self.targets) + v(&self.spend),
            ),
            (
                "record ids",
                o.ids.bytes()
                    + o.named.ids.bytes()
                    + l.ids.bytes()
                    + a.ids.bytes()
                    + self.account_ids.bytes()
                    + self.survey_ids.bytes(),
            ),
        ]
    }

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
    #[inline(always)]
    pub fn convert(&self, amount: i64, ccy: u8, d: Day) -> Option<i64> {
        // (the organisation's own currency, most amounts, without a call: the pass
        // converts every deal created or open in a period)
        if ccy == 0 {
            Some(amount)
        } else {
            self.convert_other(amount, ccy, d)
        }
    }
    /// [`Book::convert`] from another currency than the organisation's.
    fn convert_other(&self, amount: i64, ccy: u8, d: Day) -> Option<i64> {
        let rates = &self.rates[ccy as usize];
        let i = self.rate_days[ccy as usize].count_on(rates, d);
        if i == 0 {
            return None;
        }
        Some(rates[i - 1].1.apply(amount))
    }
    /// [`Book::convert`], or the amount as it is where no rate converts it: as a
    /// drill-down lists a record (a scorecard refuses it instead).
    #[inline]
    pub fn convert_shown(&self, amount: i64, ccy: u8, d: Day) -> i64 {
        self.convert(amount, ccy, d).unwrap_or(amount)
    }
    /// Each currency's rates into the organisation's (see the field).
    pub fn rates(&self) -> &[Vec<(Day, Conversion)>] {
        &self.rates
    }
    /// Sets each currency's rates into the organisation's, sorted by day.
    pub fn set_rates(&mut self, rates: Vec<Vec<(Day, Conversion)>>) {
        self.rate_days = rates.iter().map(|r| RateDays::of(r)).collect();
        self.rates = rates;
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

/// A conversion from one currency into another (in the book: into the organisation's)
/// as a fraction: an amount converts to `amount × num / den`, rounded to the nearest
/// ten-thousandth (halves away from zero). A rate quoted from the one into the other is
/// `rate / RATE_SCALE`, one quoted the other way `RATE_SCALE / rate`: either is applied
/// exactly, with one rounding at the end (spec §1 "Amounts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversion {
    pub num: i64,
    pub den: i64,
}

impl Conversion {
    /// `1 from = rate to`, converting from into to: a multiplication.
    pub fn quoted(rate: Rate) -> Conversion {
        Conversion {
            num: rate.units(),
            den: RATE_SCALE,
        }
    }
    /// `1 to = rate from`, converting from into to: a division.
    pub fn inverted(rate: Rate) -> Conversion {
        Conversion {
            num: RATE_SCALE,
            den: rate.units(),
        }
    }
    /// This conversion, then `next`: one fraction, exact (reduced; where it still cannot
    /// be held, both halves are halved until it can, a relative error below 2⁻⁶⁰).
    pub fn then(self, next: Conversion) -> Conversion {
        let mut n = i128::from(self.num) * i128::from(next.num);
        let mut d = i128::from(self.den) * i128::from(next.den);
        let g = gcd(n.unsigned_abs(), d.unsigned_abs()).max(1) as i128;
        (n, d) = (n / g, d / g);
        while n.abs() > i128::from(i64::MAX) || d > i128::from(i64::MAX) {
            (n, d) = ((n + n.signum()) / 2, (d + 1) / 2);
        }
        Conversion {
            num: n as i64,
            den: (d as i64).max(1),
        }
    }
    /// `amount` (ten-thousandths) in the organisation's currency.
    pub fn apply(self, amount: i64) -> i64 {
        div_round(
            i128::from(amount) * i128::from(self.num),
            i128::from(self.den),
        ) as i64
    }
    /// [`Conversion::apply`], or `None` where the result is past what an amount holds.
    pub fn checked_apply(self, amount: i64) -> Option<i64> {
        i64::try_from(div_round(
            i128::from(amount) * i128::from(self.num),
            i128::from(self.den),
        ))
        .ok()
    }
    /// An upper bound on what one unit (a ten-thousandth) converts to, in
    /// ten-thousandths, times `SCALE`: the rate, rounded up.
    fn ceiling(self) -> u128 {
        let (n, d) = (
            self.num.unsigned_abs() as u128,
            self.den.unsigned_abs().max(1) as u128,
        );
        (n * SCALE as u128).div_ceil(d)
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How many of a currency's rates are in force by each day, looked up by the day: a
/// conversion on every deal's close, creation and as-of days searched its rates (a tenth
/// of a microsecond each, the binary search's loads one after another).
#[derive(Debug, Default)]
struct RateDays {
    /// The first rate's day.
    lo: Day,
    /// For day `lo + k`: how many rates are in force (at least 1). Empty where the
    /// rates span more days than this holds, and then they are searched.
    count: Vec<u16>,
}

impl RateDays {
    /// At most this many days (about 180 years of a rate per day, 128 KB).
    const MAX_DAYS: i64 = 1 << 16;

    fn of(rates: &[(Day, Conversion)]) -> RateDays {
        let (Some(first), Some(last)) = (rates.first(), rates.last()) else {
            return RateDays::default();
        };
        let span = i64::from(last.0) - i64::from(first.0) + 1;
        if span > Self::MAX_DAYS || rates.len() >= usize::from(u16::MAX) {
            return RateDays::default();
        }
        let mut count = Vec::with_capacity(span as usize);
        let mut n = 0usize;
        for d in first.0..=last.0 {
            while n < rates.len() && rates[n].0 <= d {
                n += 1;
            }
            count.push(n as u16);
        }
        RateDays { lo: first.0, count }
    }
    /// How many of `rates` (those this was made of) are in force on day `d`.
    #[inline]
    fn count_on(&self, rates: &[(Day, Conversion)], d: Day) -> usize {
        if self.count.is_empty() {
            return rates.partition_point(|&(rd, _)| rd <= d);
        }
        if d < self.lo {
            return 0;
        }
        match self.count.get((i64::from(d) - i64::from(self.lo)) as usize) {
            Some(&n) => usize::from(n),
            None => rates.len(),
        }
    }
}

/// The rates between `a` and `b` as conversions from `a` into `b`, by the day each is in
/// force from: quoted either way, the one from `a` into `b` taken on a day with both.
fn rates_between(raw: &[CurrencyRate], a: Currency, b: Currency) -> Vec<(Day, Conversion)> {
    let mut v: Vec<(Day, bool, Conversion)> = raw
        .iter()
        .filter_map(|r| {
            if r.from == a && r.to == b {
                Some((day(r.date), false, Conversion::quoted(r.rate)))
            } else if r.from == b && r.to == a {
                Some((day(r.date), true, Conversion::inverted(r.rate)))
            } else {
                None
            }
        })
        .collect();
    v.sort_by_key(|x| (x.0, x.1));
    v.dedup_by_key(|x| x.0);
    v.into_iter().map(|(d, _, c)| (d, c)).collect()
}

/// Each currency's rates into `org` (spec §1 "Amounts", docs/kpis.md): quoted into it or
/// out of it; for a currency with neither, through the fewest other currencies that chain
/// it to `org` by their rates, as a central bank's table gives them (a yen through the
/// euro, or a rand through the pound and then the euro): on each day, the rates in force
/// one after the other. Among chains as short, the one whose next currency comes first in
/// code order, and so on along it.
fn org_rates(
    raw: &[CurrencyRate],
    org: Currency,
    currencies: &[Currency],
) -> Vec<Vec<(Day, Conversion)>> {
    // the pairs of currencies the rates link, both ways, in code order
    let mut linked: Vec<(Currency, Currency)> = raw
        .iter()
        .filter(|r| r.from != r.to)
        .flat_map(|r| [(r.from, r.to), (r.to, r.from)])
        .collect();
    linked.sort();
    linked.dedup();
    let neighbours = |c: Currency| {
        let at = linked.partition_point(|&(a, _)| a < c);
        linked[at..]
            .iter()
            .take_while(move |&&(a, _)| a == c)
            .map(|&(_, b)| b)
    };
    // out from `org`, a ring at a time: each currency's rates into it through the first
    // currency (in code order) of the ring before that reaches it
    let mut into: std::collections::HashMap<Currency, Vec<(Day, Conversion)>> =
        std::collections::HashMap::new();
    let mut ring = vec![org];
    let mut seen = vec![org];
    while !ring.is_empty() {
        let mut next: Vec<(Currency, Currency)> = Vec::new();
        for &via in &ring {
            for c in neighbours(via) {
                if !seen.contains(&c) && !next.iter().any(|&(n, _)| n == c) {
                    next.push((c, via));
                }
            }
        }
        // (`ring` is in code order, so each currency took the first that reaches it)
        next.sort();
        for &(c, via) in &next {
            let hop = rates_between(raw, c, via);
            let rates = if via == org {
                hop
            } else {
                through(&hop, &into[&via])
            };
            into.insert(c, rates);
            seen.push(c);
        }
        ring = next.into_iter().map(|(c, _)| c).collect();
    }
    currencies
        .iter()
        .map(|c| {
            if *c == org {
                return Vec::new();
            }
            into.get(c).cloned().unwrap_or_default()
        })
        .collect()
}

/// The first day from which each of `currencies` converts into `org` (`None`: never), by
/// the book's own rules: for an import to say which deals no rate converts.
pub fn conversions_start(
    raw: &[CurrencyRate],
    org: Currency,
    currencies: &[Currency],
) -> Vec<Option<Date>> {
    org_rates(raw, org, currencies)
        .iter()
        .map(|v| v.first().map(|x| date_of(x.0)))
        .collect()
}

/// Step functions `a` then `b` (each sorted by day) as one: from the first day both hold,
/// on every day either changes.
fn through(a: &[(Day, Conversion)], b: &[(Day, Conversion)]) -> Vec<(Day, Conversion)> {
    let mut days: Vec<Day> = a.iter().chain(b).map(|x| x.0).collect();
    days.sort_unstable();
    days.dedup();
    let start = a[0].0.max(b[0].0);
    let at = |v: &[(Day, Conversion)], d: Day| v[v.partition_point(|x| x.0 <= d) - 1].1;
    days.into_iter()
        .filter(|&d| d >= start)
        .map(|d| (d, at(a, d).then(at(b, d))))
        .collect()
}

/// A common multiple of every month's length, for weighing part of a month exactly.
const MONTH_LCM: i128 = 377_580;

impl Book {
    /// How much of quota (or target) entry `q` counts for the days `start..end` (spec §3
    /// `quota`, docs/kpis.md "Quotas"): all of it when its own period lies inside them;
    /// with pro-rating (`quota_prorating`), the share of its period's weight that falls in
    /// them, rounded once to the ten-thousandth (a month weighs its fiscal month's weight,
    /// a part of a month the part of that weight its days are); `None` otherwise.
    #[inline]
    pub fn quota_share(&self, q: &QuotaEntry, start: Day, end: Day) -> Option<i64> {
        if start <= q.start && q.end <= end {
            return Some(q.amount);
        }
        // (most quotas miss most periods: looked at first, for each quota and slot)
        let (a, b) = (start.max(q.start), end.min(q.end));
        if a >= b {
            return None;
        }
        // (without pro-rating, as for most: no more to look at)
        self.settings.quota_prorating.weights()?;
        let whole = self.weight(q.start, q.end);
        (whole > 0).then(|| div_round(i128::from(q.amount) * self.weight(a, b), whole) as i64)
    }

    /// The weight of the days `a..b` under the settings' pro-rating, in units of
    /// 1/[`MONTH_LCM`] of a month's weight: from the running totals ([`MonthWeights`])
    /// where they cover both days, else month by month (none without pro-rating).
    fn weight(&self, a: Day, b: Day) -> i128 {
        if b <= a {
            return 0;
        }
        match (
            self.month_weights.total_at(a),
            self.month_weights.total_at(b),
        ) {
            (Some(x), Some(y)) => y - x,
            _ => self
                .settings
                .quota_prorating
                .weights()
                .map_or(0, |w| weight_by_months(&self.settings, &w, a, b)),
        }
    }
}

/// [`Book::weight`] under the fiscal months' weights `w`, walked month by month.
fn weight_by_months(settings: &Settings, w: &[u32; 12], a: Day, b: Day) -> i128 {
    let first = i32::from(settings.fiscal.start_month());
    let mut total = 0i128;
    let mut d = date_of(a);
    let end = date_of(b);
    while d < end {
        let month_start = crate::period::first_of(d.year(), d.month() as u8);
        let next = crate::period::add_months(month_start, 1);
        // (at the end of time a month has no next: stop)
        if next <= d || next <= month_start {
            break;
        }
        let days_in = i128::from((next - month_start).whole_days());
        let upto = next.min(end);
        let days = i128::from((upto - d).whole_days());
        let fiscal = (d.month() as i32 - first).rem_euclid(12) as usize;
        total += i128::from(w[fiscal]) * days * (MONTH_LCM / days_in);
        d = upto;
    }
    total
}

/// The quota pro-rating's weights (the settings' `quota_prorating`) as a running total
/// over the days of the years [`MonthWeights::FROM_YEAR`] to [`MonthWeights::TO_YEAR`]: a
/// day weighs its fiscal month's weight over the month's days, so the weight of days
/// `a..b` is the total at `b` less the total at `a`, two lookups where the walk month by
/// month (`weight_by_months`) converted and compared dates for every quota and period
/// (at 10M deals, a pass over a date range's three periods spent 18 ms on one core on it).
#[derive(Debug, Clone, Default)]
pub struct MonthWeights {
    /// The first day of each month, then the day after the last month.
    starts: Vec<Day>,
    /// The weight of the table's days before each of `starts`.
    totals: Vec<i128>,
    /// A day's weight in each month.
    per_day: Vec<i128>,
}

impl MonthWeights {
    pub const FROM_YEAR: i32 = 1900;
    pub const TO_YEAR: i32 = 2200;

    /// The table for `settings` (empty without pro-rating).
    pub fn new(settings: &Settings) -> MonthWeights {
        let Some(w) = settings.quota_prorating.weights() else {
            return MonthWeights::default();
        };
        let first = i32::from(settings.fiscal.start_month());
        let n = ((Self::TO_YEAR - Self::FROM_YEAR) * 12) as usize;
        let mut t = MonthWeights {
            starts: Vec::with_capacity(n + 1),
            totals: Vec::with_capacity(n + 1),
            per_day: Vec::with_capacity(n),
        };
        let mut total = 0i128;
        for year in Self::FROM_YEAR..Self::TO_YEAR {
            for month in 1..=12u8 {
                let start = crate::period::first_of(year, month);
                let days_in =
                    i128::from((crate::period::add_months(start, 1) - start).whole_days());
                let fiscal = (i32::from(month) - first).rem_euclid(12) as usize;
                let per_day = i128::from(w[fiscal]) * (MONTH_LCM / days_in);
                t.starts.push(day(start));
                t.totals.push(total);
                t.per_day.push(per_day);
                total += per_day * days_in;
            }
        }
        t.starts
            .push(day(crate::period::first_of(Self::TO_YEAR, 1)));
        t.totals.push(total);
        t
    }

    /// The weight of the table's days before day `d`, if the table reaches it.
    pub fn total_at(&self, d: Day) -> Option<i128> {
        let (&first, &last) = (self.starts.first()?, self.starts.last()?);
        if d < first || d > last {
            return None;
        }
        // (the month that holds `d`, or the day after the last one: a guess from the
        // mean month, 146,097 days to 4,800 months, put right by a step or two; a search
        // of the table's months was most of a lookup)
        let mut m = ((i64::from(d - first) * 4800) / 146_097) as usize;
        m = m.min(self.starts.len() - 1);
        while self.starts[m] > d {
            m -= 1;
        }
        while m + 1 < self.starts.len() && self.starts[m + 1] <= d {
            m += 1;
        }
        Some(match self.per_day.get(m) {
            Some(&per_day) => self.totals[m] + i128::from(d - self.starts[m]) * per_day,
            None => self.totals[m],
        })
    }
}

/// Rounds a rational to the nearest integer, halves away from zero.
pub fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

/// A survey response as the book keeps it, for account `a` (its owner set later), or
/// `None` when its scale is empty.
fn survey_entry(s: &SurveyResponse, a: u32) -> Option<SurveyEntry> {
    let span = f64::from(s.scale_max - s.scale_min);
    (span > 0.0).then(|| SurveyEntry {
        owner: NONE,
        account: a,
        day: day(s.date),
        score: f64::from(s.score - s.scale_min) / span,
    })
}

/// The owner of row `i` of a column sorted by owner, from its owners' offsets (`off[p]`
/// the first row of owner `p`, `off[p + 1]` past its last): the last owner whose rows
/// start at or before `i`, of those that have rows.
fn owner_at(off: &[u32], i: usize) -> u32 {
    (off.partition_point(|&x| x as usize <= i) - 1) as u32
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

/// Moves a column into the order of `perm`, freeing the old one.
fn permute<T: Copy>(v: &mut Vec<T>, perm: &[u32]) -> Vec<T> {
    let old = std::mem::take(v);
    perm.iter().map(|&i| old[i as usize]).collect()
}

/// A permutation that sorts rows by owner (stable), then by `key` within each owner, and
/// the sorted rows' owner offsets (see [`owner_offsets`]).
fn by_owner_then<K: Ord + Copy>(
    owner: &[u32],
    people: usize,
    key: impl Fn(usize) -> K,
) -> (Vec<u32>, Vec<u32>) {
    let bounds = owner_offsets(owner, people);
    let mut off = bounds.clone();
    let mut perm = vec![0u32; owner.len()];
    for (i, &o) in owner.iter().enumerate() {
        perm[off[o as usize] as usize] = i as u32;
        off[o as usize] += 1;
    }
    for w in bounds.windows(2) {
        perm[w[0] as usize..w[1] as usize].sort_by_key(|&i| (key(i as usize), i));
    }
    (perm, bounds)
}

/// An id's hash for [`IdIndex`]: foldhash with a fixed seed (the same index for the same
/// ids on every load): with the book's [`Map`]s, a first load's hashing took under a third of
/// the instructions it took with SipHash.
fn id_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x5a1e_5046).hash_one(s)
}

/// Activities counted by owner and day as they arrive, when ids are not kept: (activities,
/// calls) for each person on each day from the first to the last day of the deals and
/// leads read before them. At 10M opportunities, 39M activities kept one by one until
/// `finish` sorted them were ~350 MB of a first load's peak; 9,000 people over the three
/// years' days are ~80 MB, touched only where there are activities. An activity on
/// another day is kept one by one, as before.
struct ActGrid {
    lo: Day,
    span: usize,
    counts: Vec<[u32; 2]>,
}

impl ActGrid {
    /// At most this many cells (256 MB); more, and activities are kept one by one.
    const MAX_CELLS: usize = 1 << 25;

    fn over(people: usize, opps: &Opps, leads: &Leads) -> Option<ActGrid> {
        let days = opps
            .created
            .iter()
            .chain(&opps.close)
            .chain(&leads.created_day)
            .copied()
            .filter(|&d| d != NO_DAY);
        let (lo, hi) = days.fold(None, |r: Option<(Day, Day)>, d| match r {
            None => Some((d, d)),
            Some((a, b)) => Some((a.min(d), b.max(d))),
        })?;
        let span = usize::try_from(i64::from(hi) - i64::from(lo) + 1).ok()?;
        let cells = span.checked_mul(people)?;
        (cells <= Self::MAX_CELLS).then(|| ActGrid {
            lo,
            span,
            counts: vec![[0, 0]; cells],
        })
    }
    /// Person `p`'s counts on day `d`, where the grid holds that day.
    #[inline]
    fn cell(&mut self, p: u32, d: Day) -> Option<&mut [u32; 2]> {
        let k = usize::try_from(i64::from(d) - i64::from(self.lo)).ok()?;
        if k >= self.span {
            return None;
        }
        self.counts.get_mut(p as usize * self.span + k)
    }
    /// Person `p`'s counts on each of the grid's days, from `lo`.
    fn days_of(&self, p: u32) -> &[[u32; 2]] {
        let at = p as usize * self.span;
        self.counts.get(at..at + self.span).unwrap_or(&[])
    }
}

/// Record id → index: an open-addressing table (linear probing, at most three quarters
/// full) of (the top 32 bits of the id's hash, the record's index + 1), checked against
/// the ids themselves, so that ids whose hashes meet are told apart. 8 bytes a slot: a
/// `HashMap` of the ids' 64-bit hashes took 17 (285 MB for the 7.5M leads of a first load
/// at 10M deals, against 128 MB).
#[derive(Default)]
struct IdIndex {
    /// (tag, index + 1) per slot, (0, 0) where empty; a power of two of them.
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl IdIndex {
    /// The id's tag: the top 32 bits of its hash.
    #[inline]
    fn tag(id: &str) -> u32 {
        (id_hash(id) >> 32) as u32
    }
    /// The first slot to look in for a tag: the tag's top bits, as many as the table's
    /// size takes (so that growing needs no id hashed again).
    #[inline]
    fn first(&self, tag: u32) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (u64::from(tag) >> (32 - bits.min(32))) as usize & (self.slots.len() - 1)
    }
    fn insert(&mut self, ids: &Ids, id: &str, ix: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let tag = Self::tag(id);
        let mask = self.slots.len() - 1;
        let mut k = self.first(tag);
        loop {
            match self.slots[k] {
                (_, 0) => {
                    self.slots[k] = (tag, ix + 1);
                    self.len += 1;
                    return;
                }
                // a duplicate id: the later record wins
                (t, s) if t == tag && ids.get(s as usize - 1) == id => {
                    self.slots[k].1 = ix + 1;
                    return;
                }
                _ => k = (k + 1) & mask,
            }
        }
    }
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); cap]);
        for (tag, s) in old.into_iter().filter(|x| x.1 != 0) {
            let mut k = self.first(tag);
            while self.slots[k].1 != 0 {
                k = (k + 1) & (cap - 1);
            }
            self.slots[k] = (tag, s);
        }
    }
    #[inline]
    fn get(&self, ids: &Ids, id: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let tag = Self::tag(id);
        let mask = self.slots.len() - 1;
        let mut k = self.first(tag);
        loop {
            match self.slots[k] {
                (_, 0) => return None,
                (t, s) if t == tag && ids.get(s as usize - 1) == id => return Some(s - 1),
                _ => k = (k + 1) & mask,
            }
        }
    }
}

/// What the stage history gave besides its stages and days, once it is all in (see
/// [`BookBuilder::given_done`]).
#[derive(Debug, Default)]
struct Given {
    /// Each stage's usual probability (basis points), by the builder's stage number: the
    /// one most opportunities and history rows in the stage give (the lowest on a tie).
    default_bp: Vec<u16>,
    /// Each stage's usual forecast category among the history rows that give one (the
    /// first in code order on a tie; 0 where none does).
    default_fcat: Vec<u8>,
    /// The history rows, by arrival, whose probability differs from the one a row
    /// without one takes ([`History::prob_without`]).
    probs: Differing<u16>,
    /// The same for their forecast categories ([`History::fcat_without`]).
    fcats: Differing<u8>,
}

/// Builds a [`Book`]. Feed it, in this order: rates and accounts, opportunities (in id
/// order for the fastest history matching), stage history (grouped by opportunity, in
/// time order — as the store returns it), leads, activities, then quotas, spend and
/// surveys.
pub struct BookBuilder {
    settings: Settings,
    days: LocalDays,
    keep_ids: bool,
    org: OrgHistory,
    people: Vec<PersonInfo>,
    person_ix: Map<PersonId, u32>,
    units: Vec<Unit>,
    unit_ix: Map<String, u32>,
    currencies: Vec<Currency>,
    raw_rates: Vec<CurrencyRate>,
    stage_ix: Map<String, u8>,
    stage_names: Vec<String>,
    reason_ix: Map<String, u16>,
    reasons: Vec<String>,
    opps: Opps,
    /// Each opportunity's owner, in arrival order (a finished book keeps only
    /// [`Opps::owner_off`]); the same for leads and activities.
    opp_owner: Vec<u32>,
    lead_owner: Vec<u32>,
    act_owner: Vec<u32>,
    /// Probability each opportunity gave (u16::MAX: none).
    opp_prob: Vec<u16>,
    /// Opportunity ids in arrival order, for matching history rows; without `keep_ids`,
    /// let go of once the history is in (see [`BookBuilder::history_done`]).
    opp_keys: Ids,
    /// Without `keep_ids`, once the history is in: the deals a conversion can fail for, by
    /// arrival, with their ids (see [`NamedDeals`]); `None` before.
    opp_named: Option<Vec<(u32, String)>>,
    opp_keys_sorted: bool,
    opp_key_map: Option<IdIndex>,
    /// With `keep_ids`, once the history is in: `opp_keys` are packed (see
    /// [`BookBuilder::history_done`]).
    opps_packed: bool,
    hist_cursor: u32,
    hist_opp: Vec<u32>,
    hist_last: (u32, i64),
    hist: History,
    /// Each history row's probability in basis points (u16::MAX: none given), until the
    /// history is in (see [`BookBuilder::given_done`]).
    hist_prob: Vec<u16>,
    /// Each stage-history row's forecast category ([`Opps::fcat`]'s code: 0 none given),
    /// until the history is in.
    hist_fcat: Vec<u8>,
    /// Once the history is in: each stage's usual probability and forecast category, and
    /// the rows that give others (see [`BookBuilder::given_done`]); `None` before.
    given: Option<Given>,
    leads: Leads,
    /// Each lead's creation, in Unix seconds (for its order and its response time).
    lead_created_at: Vec<i64>,
    lead_keys: Ids,
    lead_ix: IdIndex,
    /// Without `keep_ids`, the leads' ids and their index have been let go of: the
    /// activities are in (see [`BookBuilder::activities_done`]).
    leads_let_go: bool,
    /// With `keep_ids`, the activities are in: the leads' and the activities' ids are
    /// packed and the leads' index let go of (see [`BookBuilder::leads_again`]).
    leads_packed: bool,
    lead_acts: Vec<(u32, i64, Day)>,
    /// With `keep_ids`, the activities' ids as they arrive, packed a chunk at a time
    /// (nothing looks them up), made one column when the activities are in.
    act_ids: GrowingIds,
    /// Activities one by one: with ids, or on days outside `act_grid`.
    acts: Activities,
    /// Without ids, the activities' counts by owner and day as they arrive (see
    /// [`ActGrid`]); made at the first activity, `None` until then or where it would not do.
    act_grid: Option<ActGrid>,
    act_grid_tried: bool,
    acct_keys: Ids,
    acct_ix: IdIndex,
    acct_owner: Vec<u32>,
    acct_churned: Vec<Day>,
    spend: Vec<Spend>,
    /// Survey responses as the book keeps them, in arrival order, made as they arrive
    /// (held as records, 5.5M responses were ~660 MB of a load's peak); their owners are
    /// set by `finish`, which knows every account's. With `keep_ids`, their ids alongside.
    surveys: Vec<SurveyEntry>,
    survey_ids: Ids,
    /// Responses whose account had not arrived yet: their place in `surveys` and the
    /// account's id, looked up by `finish` (a loader adds accounts first: normally none).
    surveys_waiting: Vec<(usize, AccountId)>,
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
        let mut person_ix = Map::default();
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
            stage_ix: Map::default(),
            stage_names: Vec::new(),
            reason_ix: Map::default(),
            reasons: Vec::new(),
            opps: Opps::default(),
            opp_owner: Vec::new(),
            lead_owner: Vec::new(),
            act_owner: Vec::new(),
            opp_prob: Vec::new(),
            opp_keys: Ids::default(),
            opp_named: None,
            opp_keys_sorted: true,
            opp_key_map: None,
            opps_packed: false,
            hist_cursor: 0,
            hist_opp: Vec::new(),
            hist_last: (NONE, i64::MIN),
            hist: History::default(),
            hist_prob: Vec::new(),
            hist_fcat: Vec::new(),
            given: None,
            leads: Leads::default(),
            lead_created_at: Vec::new(),
            lead_keys: Ids::default(),
            lead_ix: IdIndex::default(),
            leads_let_go: false,
            leads_packed: false,
            lead_acts: Vec::new(),
            act_ids: GrowingIds::default(),
            acts: Activities::default(),
            act_grid: None,
            act_grid_tried: false,
            acct_keys: Ids::default(),
            acct_ix: IdIndex::default(),
            acct_owner: Vec::new(),
            acct_churned: Vec::new(),
            spend: Vec::new(),
            surveys: Vec::new(),
            survey_ids: Ids::default(),
            surveys_waiting: Vec::new(),
            quotas: Vec::new(),
        }
    }

    pub fn local_days(&self) -> &LocalDays {
        &self.days
    }

    fn person(&self, id: &PersonId, what: &dyn Fn() -> String) -> Result<u32, ScorecardError> {
        self.person_ix.get(id).copied().ok_or_else(|| {
            ScorecardError::Data(format!("{} is owned by unknown person {id}", what()))
        })
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

    /// The number of stage `s` of record `what` (at most 256 stages: a stage column is a
    /// byte per record).
    fn stage(&mut self, s: &Stage, what: &dyn Fn() -> String) -> Result<u8, ScorecardError> {
        if let Some(&i) = self.stage_ix.get(s.as_str()) {
            return Ok(i);
        }
        let i = u8::try_from(self.stage_names.len()).map_err(|_| {
            ScorecardError::Data(format!(
                "{}: its stage {:?} is one past the 256 stages a book holds",
                what(),
                s.as_str()
            ))
        })?;
        self.stage_names.push(s.as_str().to_owned());
        self.stage_ix.insert(s.as_str().to_owned(), i);
        Ok(i)
    }

    pub fn add_rate(&mut self, r: CurrencyRate) {
        self.raw_rates.push(r);
    }

    pub fn add_account(&mut self, a: &Account) {
        let ix = self.acct_owner.len() as u32;
        self.acct_keys.push(a.id.as_str());
        self.acct_ix.insert(&self.acct_keys, a.id.as_str(), ix);
        self.acct_owner.push(
            a.owner
                .as_ref()
                .and_then(|p| self.person_ix.get(p).copied())
                .unwrap_or(NONE),
        );
        self.acct_churned
            .push(a.churned_on.map(day).unwrap_or(NO_DAY));
    }

    pub fn add_opportunity(&mut self, o: &Opportunity) -> Result<(), ScorecardError> {
        if self.given.is_some() {
            return Err(Self::too_late(
                format!("opportunity {}", o.id),
                "leads, activities, quotas, spend or surveys",
            ));
        }
        let owner = self.person(&o.owner, &|| format!("opportunity {}", o.id))?;
        let currency = self.currency(o.currency)?;
        let stage = self.stage(&o.stage, &|| format!("opportunity {}", o.id))?;
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
            && *self.opp_keys.get(self.opps.len() - 1) >= *key
        {
            self.opp_keys_sorted = false;
        }
        self.opp_keys.push(key);
        self.opp_owner.push(owner);
        let x = &mut self.opps;
        x.created.push(o.created.map(day).unwrap_or(NO_DAY));
        x.close.push(o.close_date.map(day).unwrap_or(NO_DAY));
        x.status.push(o.status);
        x.amount.push(o.amount.map(Money::units).unwrap_or(0));
        x.currency.push(currency);
        x.stage.push(stage);
        self.opp_prob
            .push(o.probability.map(|p| p.bp()).unwrap_or(u16::MAX));
        x.account.push(
            o.account
                .as_ref()
                .and_then(|a| self.acct_ix.get(&self.acct_keys, a.as_str()))
                .unwrap_or(NONE),
        );
        x.loss_reason.push(loss_reason);
        x.fcat.push(fcat_code(o.forecast_category));
        let mut flags = 0;
        if o.amount.is_some() {
            flags |= F_AMOUNT;
        }
        if o.next_step.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            flags |= F_NEXT_STEP;
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
                if *self.opp_keys.get(mid as usize) < *key {
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
            let mut m = IdIndex::default();
            for i in 0..self.opps.len() {
                m.insert(&self.opp_keys, &self.opp_keys.get(i), i as u32);
            }
            self.opp_key_map = Some(m);
        }
        self.opp_key_map
            .as_ref()
            .and_then(|m| m.get(&self.opp_keys, key))
    }

    /// Once the stage history is in (with [`BookBuilder::history_done`], or at
    /// [`BookBuilder::finish`]): each stage's usual probability and forecast category, and
    /// the few rows that give others, in place of a column of each. The columns were
    /// 153 MB at 10M deals (51M rows), held through the leads' and activities' scans, where
    /// a first load peaks. The columns in so far are let go of their spare room too
    /// ([`BookBuilder::shrink`]).
    fn given_done(&mut self) {
        if self.given.is_some() {
            return;
        }
        let ns = self.stage_names.len();
        let (o, h) = (&self.opps, &self.hist);
        let mut prob_counts: Vec<HashMap<u16, u64>> = vec![HashMap::new(); ns];
        let rows = o.stage.iter().zip(&self.opp_prob);
        for (&s, &p) in rows.chain(h.stage.iter().zip(&self.hist_prob)) {
            if p != u16::MAX {
                *prob_counts[s as usize].entry(p).or_default() += 1;
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
        let mut fcat_counts = vec![[0u64; FORECAST_CATEGORIES.len() + 1]; ns];
        for (&s, &f) in h.stage.iter().zip(&self.hist_fcat) {
            if f != 0 {
                fcat_counts[s as usize][f as usize] += 1;
            }
        }
        let default_fcat: Vec<u8> = fcat_counts
            .iter()
            .map(|c| {
                (1..c.len())
                    .filter(|&f| c[f] > 0)
                    .max_by_key(|&f| (c[f], std::cmp::Reverse(f)))
                    .unwrap_or(0) as u8
            })
            .collect();
        // a row in its deal's current stage takes the deal's own (its probability, or
        // the stage's usual one where it gives none), a row in another its stage's usual
        let (mut probs, mut fcats) = (Differing::default(), Differing::default());
        for (r, &i) in self.hist_opp.iter().enumerate() {
            let (i, s) = (i as usize, h.stage[r]);
            let own = s == o.stage[i];
            let p = self.hist_prob[r];
            if p != u16::MAX {
                let without = if own && self.opp_prob[i] != u16::MAX {
                    self.opp_prob[i]
                } else {
                    default_bp[s as usize]
                };
                if p != without {
                    probs.push(r as u32, p);
                }
            }
            let f = self.hist_fcat[r];
            if f != 0
                && f != if own {
                    o.fcat[i]
                } else {
                    default_fcat[s as usize]
                }
            {
                fcats.push(r as u32, f);
            }
        }
        self.hist_prob = Vec::new();
        self.hist_fcat = Vec::new();
        self.shrink();
        self.given = Some(Given {
            default_bp,
            default_fcat,
            probs,
            fcats,
        });
    }

    /// Lets the columns of the records in so far go of their spare room: a column grown
    /// by doubling holds up to twice its rows (at 10M deals the deals' columns had room
    /// for 16.8M). Room never written to is not resident, so this is less than it looks:
    /// massif counts it, and with this and [`BookBuilder::given_done`] a 1M first load's
    /// heap peak fell from 280 to 201 MB, the resident one by a few MB. A large column is
    /// shrunk in place (the allocator remaps its pages), not copied; one already shrunk is
    /// left as it is.
    fn shrink(&mut self) {
        fn ids(x: &mut Ids) {
            x.shrink_to_fit();
        }
        self.opp_owner.shrink_to_fit();
        self.lead_owner.shrink_to_fit();
        self.act_owner.shrink_to_fit();
        let o = &mut self.opps;
        o.created.shrink_to_fit();
        o.close.shrink_to_fit();
        o.status.shrink_to_fit();
        o.amount.shrink_to_fit();
        o.currency.shrink_to_fit();
        o.stage.shrink_to_fit();
        o.account.shrink_to_fit();
        o.loss_reason.shrink_to_fit();
        o.fcat.shrink_to_fit();
        o.flags.shrink_to_fit();
        o.modified.shrink_to_fit();
        self.opp_prob.shrink_to_fit();
        ids(&mut self.opp_keys);
        self.hist_opp.shrink_to_fit();
        let h = &mut self.hist;
        h.day.shrink_to_fit();
        h.stage.shrink_to_fit();
        h.amounts.rows.shrink_to_fit();
        h.amounts.values.shrink_to_fit();
        h.closes.rows.shrink_to_fit();
        h.closes.values.shrink_to_fit();
        let l = &mut self.leads;
        l.created_day.shrink_to_fit();
        l.converted.shrink_to_fit();
        self.lead_created_at.shrink_to_fit();
        ids(&mut self.lead_keys);
        self.lead_acts.shrink_to_fit();
        let a = &mut self.acts;
        a.day.shrink_to_fit();
        a.kind.shrink_to_fit();
        ids(&mut a.ids);
        self.surveys.shrink_to_fit();
        ids(&mut self.survey_ids);
    }

    /// Without `keep_ids`, lets go of the opportunities' ids once the stage history is in
    /// (at the first record of a later kind, or at [`BookBuilder::finish`]): only the ids
    /// of the deals a conversion can fail for are kept, to name them (see [`NamedDeals`]).
    /// At 10M deals the ids were 220 MB held through the leads', activities' and surveys'
    /// scans, the first load's peak.
    fn history_done(&mut self) {
        if self.keep_ids {
            // (no stage-history row looks a deal's id up any more: the deals' ids are
            // packed now, and their index let go of, instead of held as they came to the
            // end of the load: with the leads' and activities' below, about 1 GB of a
            // load's peak at 10M deals; a deal or a history row that comes later still
            // finds them, only slower)
            if !self.opps_packed {
                self.opps_packed = true;
                self.opp_keys = std::mem::take(&mut self.opp_keys).packed();
                self.opp_key_map = None;
            }
            return;
        }
        if self.opp_named.is_some() {
            return;
        }
        self.given_done();
        let starts: Vec<Option<Day>> =
            org_rates(&self.raw_rates, self.settings.currency, &self.currencies)
                .iter()
                .map(|r| r.first().map(|x| x.0))
                .collect();
        let o = &self.opps;
        let named = (0..o.len())
            .filter(|&i| {
                let c = o.currency[i] as usize;
                if c == 0 || o.flags[i] & F_AMOUNT == 0 {
                    return false;
                }
                let Some(start) = starts.get(c).copied().flatten() else {
                    return true;
                };
                let (created, close) = (o.created[i], o.close[i]);
                let open = o.status[i] == OppStatus::Open;
                (created != NO_DAY && created < start)
                    || (created == NO_DAY && open)
                    || (!open && close != NO_DAY && close < start)
            })
            .map(|i| (i as u32, self.opp_keys.get(i).into_owned()))
            .collect();
        self.opp_named = Some(named);
        self.opp_keys = Ids::default();
        self.opp_key_map = None;
    }

    /// Without `keep_ids`, lets go of the leads' ids and their index once the activities
    /// are in (at the first quota, spend or survey, or at [`BookBuilder::finish`]): they
    /// only match an activity to its lead. At 7.5M leads they were ~290 MB held through
    /// the surveys' scan, where a first load peaks.
    fn activities_done(&mut self) {
        self.history_done();
        if self.leads_let_go {
            return;
        }
        if self.keep_ids {
            // (no activity looks a lead's id up any more, and nothing an activity's: both
            // packed now, the leads' index let go of; a lead or activity that comes later
            // makes it again, see `leads_again`)
            if !self.leads_packed {
                self.leads_packed = true;
                self.lead_keys = std::mem::take(&mut self.lead_keys).packed();
                self.lead_ix = IdIndex::default();
                self.acts.ids = std::mem::take(&mut self.act_ids).finish();
            }
            return;
        }
        self.leads_let_go = true;
        self.lead_keys = Ids::default();
        self.lead_ix = IdIndex::default();
        self.shrink();
    }

    /// With `keep_ids`, a lead or an activity after the activities were done: the leads'
    /// index, let go of then (see [`BookBuilder::activities_done`]), made again from
    /// their packed ids, so that it is matched as one that came in order.
    fn leads_again(&mut self) {
        if !self.leads_packed {
            return;
        }
        self.leads_packed = false;
        // (and the activities' ids back into the growing column, for those that follow)
        let acts = std::mem::take(&mut self.acts.ids);
        for i in 0..acts.len() {
            acts.with(i, |s| self.act_ids.push(s));
        }
        let mut ix = IdIndex::default();
        for i in 0..self.lead_keys.len() {
            let k = self.lead_keys.get(i).into_owned();
            ix.insert(&self.lead_keys, &k, i as u32);
        }
        self.lead_ix = ix;
    }

    /// The error for a `what` that came after the records whose ids the builder let go of
    /// (see [`BookBuilder::history_done`]).
    fn too_late(what: String, after: &str) -> ScorecardError {
        ScorecardError::Data(format!(
            "{what} came after the {after}: a book takes the opportunities, their stage \
             history, the leads and the activities in that order, then the rest"
        ))
    }

    pub fn add_stage_change(&mut self, h: &StageChange) -> Result<(), ScorecardError> {
        if self.opp_named.is_some() {
            return Err(Self::too_late(
                format!("stage history row {}", h.id),
                "leads, activities, quotas, spend or surveys",
            ));
        }
        let Some(opp) = self.opp_index(h.opp.as_str()) else {
            return Err(ScorecardError::Data(format!(
                "stage history row {} refers to unknown opportunity {}",
                h.id, h.opp
            )));
        };
        if self.hist_last.0 == opp && h.at.unix() < self.hist_last.1 {
            return Err(ScorecardError::Data(format!(
                "stage history of opportunity {} is not in time order at row {}",
                h.opp, h.id
            )));
        }
        self.hist_last = (opp, h.at.unix());
        let stage = self.stage(&h.stage, &|| format!("stage history row {}", h.id))?;
        let row = self.hist_opp.len() as u32;
        self.hist_opp.push(opp);
        self.hist.day.push(self.days.day(h.at));
        self.hist.stage.push(stage);
        self.hist_prob
            .push(h.probability.map(|p| p.bp()).unwrap_or(u16::MAX));
        self.hist_fcat.push(fcat_code(h.forecast_category));
        let o = opp as usize;
        let a = h.amount.map(Money::units);
        let c = h.close_date.map(day).unwrap_or(NO_DAY);
        let same_amount =
            a.is_none() || (self.opps.flags[o] & F_AMOUNT != 0 && a == Some(self.opps.amount[o]));
        let same_close = c == NO_DAY || c == self.opps.close[o];
        if let (false, Some(a)) = (same_amount, a) {
            self.hist.amounts.push(row, a);
        }
        if !same_close {
            self.hist.closes.push(row, c);
        }
        Ok(())
    }

    pub fn add_lead(&mut self, l: &Lead) -> Result<(), ScorecardError> {
        self.history_done();
        self.leads_again();
        if self.leads_let_go {
            return Err(Self::too_late(
                format!("lead {}", l.id),
                "quotas, spend or surveys",
            ));
        }
        let owner = self.person(&l.owner, &|| format!("lead {}", l.id))?;
        let ix = self.lead_owner.len() as u32;
        self.lead_keys.push(l.id.as_str());
        self.lead_ix.insert(&self.lead_keys, l.id.as_str(), ix);
        self.lead_owner.push(owner);
        let x = &mut self.leads;
        self.lead_created_at.push(l.created.unix());
        x.created_day.push(self.days.day(l.created));
        x.converted.push(
            match (l.converted_at, &l.converted_opp, &l.converted_account) {
                (Some(d), _, _) => day(d),
                // converted without a date: converted when it was created
                (None, Some(_), _) | (None, _, Some(_)) => self.days.day(l.created),
                _ => NO_DAY,
            },
        );
        Ok(())
    }

    pub fn add_activity(&mut self, a: &Activity) -> Result<(), ScorecardError> {
        self.history_done();
        self.leads_again();
        if self.leads_let_go {
            return Err(Self::too_late(
                format!("activity {}", a.id),
                "quotas, spend or surveys",
            ));
        }
        let owner = self.person(&a.owner, &|| format!("activity {}", a.id))?;
        let d = self.days.day(a.at);
        if let Some(l) = &a.lead
            && let Some(li) = self.lead_ix.get(&self.lead_keys, l.as_str())
        {
            self.lead_acts.push((li, a.at.unix(), d));
        }
        if !self.keep_ids {
            if !self.act_grid_tried {
                self.act_grid_tried = true;
                self.act_grid = ActGrid::over(self.people.len(), &self.opps, &self.leads);
            }
            if let Some(c) = self.act_grid.as_mut().and_then(|g| g.cell(owner, d)) {
                c[0] = c[0].saturating_add(1);
                c[1] = c[1].saturating_add(u32::from(a.kind == ActivityKind::Call));
                return Ok(());
            }
        }
        self.act_owner.push(owner);
        let x = &mut self.acts;
        x.day.push(d);
        x.kind.push(a.kind);
        if self.keep_ids {
            self.act_ids.push(a.id.as_str());
        }
        Ok(())
    }

    pub fn add_quota(&mut self, q: Quota) {
        self.activities_done();
        self.quotas.push(q);
    }
    pub fn add_spend(&mut self, s: Spend) {
        self.activities_done();
        self.spend.push(s);
    }
    pub fn add_survey(&mut self, s: SurveyResponse) {
        self.activities_done();
        let a = self.acct_ix.get(&self.acct_keys, s.account.as_str());
        let Some(e) = survey_entry(&s, a.unwrap_or(NONE)) else {
            return;
        };
        if a.is_none() {
            self.surveys_waiting
                .push((self.surveys.len(), s.account.clone()));
        }
        if self.keep_ids {
            self.survey_ids.push(&s.id);
        }
        self.surveys.push(e);
    }

    /// Sorts everything into its scan order and derives the stage order.
    pub fn finish(mut self) -> Result<Book, ScorecardError> {
        self.activities_done();
        self.given_done();
        self.shrink();
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
            opps: mut raw,
            mut opp_owner,
            mut lead_owner,
            mut act_owner,
            opp_prob,
            opp_keys,
            opp_named,
            hist_opp,
            hist: mut raw_hist,
            given,
            leads: mut raw_leads,
            lead_created_at,
            lead_keys,
            lead_ix,
            lead_acts,
            acts: mut raw_acts,
            act_grid,
            act_grid_tried: _,
            acct_keys,
            acct_ix,
            acct_owner,
            acct_churned,
            spend: raw_spend,
            mut surveys,
            survey_ids,
            surveys_waiting,
            quotas: raw_quotas,
            ..
        } = self;
        drop(lead_ix);
        people.push(PersonInfo {
            id: PersonId::parse("(nobody)").map_err(|e| ScorecardError::Data(e.to_string()))?,
            name: "(no owner)".into(),
            role: None,
            rep: false,
            hired: NO_DAY,
            left: i32::MAX,
        });
        let nobody = (people.len() - 1) as u32;
        let np = people.len();

        // Rates into the organisation's currency: direct, inverted or through another.
        let org_ccy = settings.currency;
        let rates = org_rates(&raw_rates, org_ccy, &currencies);

        // Stage order and default probabilities, derived from the records: each stage's
        // most common probability (see [`Given`]); open stages ordered by that probability,
        // then by the mean position at which they appear in histories; won and lost stages
        // last.
        let Given {
            default_bp,
            default_fcat,
            probs: given_probs,
            fcats: given_fcats,
        } = given.unwrap_or_default();
        let ns = stage_names.len();
        let mut closes: Vec<[u64; 3]> = vec![[0; 3]; ns];
        for i in 0..raw.len() {
            closes[raw.stage[i] as usize][match raw.status[i] {
                OppStatus::Open => 0,
                OppStatus::Won => 1,
                OppStatus::Lost => 2,
            }] += 1;
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
        let stage_closes: Vec<Option<OppStatus>> = closes
            .iter()
            .map(|&[open, won, lost]| {
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
            let pos = if pos_n[s] > 0 {
                pos_sum[s] / pos_n[s] as f64
            } else {
                0.5
            };
            (class, default_bp[s], (pos * 1e6) as i64)
        };
        order.sort_by_key(|&s| (key(s), stage_names[s].clone()));
        // the stages are numbered in that order (a stage's number is its order, see
        // [`Book::stages`]): the records' stages are renumbered once here, and the pass
        // reads a stage-history row's place in a stage table, and whether its stage is
        // open, from the row's stage alone
        let mut renumber = vec![0u8; ns];
        for (o, &s) in order.iter().enumerate() {
            renumber[s] = o as u8;
        }
        for s in raw.stage.iter_mut().chain(raw_hist.stage.iter_mut()) {
            *s = renumber[*s as usize];
        }
        let stages: Vec<StageInfo> = order
            .iter()
            .map(|&s| StageInfo {
                name: stage_names[s].clone(),
                default_bp: default_bp[s],
                closes: stage_closes[s],
                default_fcat: default_fcat[s],
            })
            .collect();

        // Opportunities: sorted by (owner, close, arrival), one column at a time.
        let n = raw.len();
        let (perm, opp_off) = {
            let close = &raw.close;
            by_owner_then(&std::mem::take(&mut opp_owner), np, |i| close[i])
        };
        let mut inv = vec![0u32; n];
        for (new, &old) in perm.iter().enumerate() {
            inv[old as usize] = new as u32;
        }
        // (without ids) the deals a conversion can fail for, by their new numbers
        let named = {
            let mut v: Vec<(u32, String)> = opp_named
                .unwrap_or_default()
                .into_iter()
                .map(|(i, id)| (inv[i as usize], id))
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            let mut named = NamedDeals::default();
            for (i, id) in v {
                named.ix.push(i);
                named.ids.push(&id);
            }
            named
        };
        let mut prob: Vec<u16> = (0..n)
            .map(|i| {
                if opp_prob[i] != u16::MAX {
                    opp_prob[i]
                } else {
                    stages[raw.stage[i] as usize].default_bp
                }
            })
            .collect();
        drop(opp_prob);
        let mut opps = Opps {
            created: permute(&mut raw.created, &perm),
            close: permute(&mut raw.close, &perm),
            status: permute(&mut raw.status, &perm),
            amount: permute(&mut raw.amount, &perm),
            currency: permute(&mut raw.currency, &perm),
            amount_at_close: Vec::new(),
            stage: permute(&mut raw.stage, &perm),
            prob: permute(&mut prob, &perm),
            account: permute(&mut raw.account, &perm),
            loss_reason: permute(&mut raw.loss_reason, &perm),
            fcat: permute(&mut raw.fcat, &perm),
            flags: permute(&mut raw.flags, &perm),
            modified: permute(&mut raw.modified, &perm),
            hist_off: Vec::new(),
            owner_off: opp_off,
            ids: Ids::default(),
            named: NamedDeals::default(),
            max_cycle: 0,
        };
        drop(raw);
        // ids of deals whose amount cannot be converted, for the error message
        let opp_id = |i: usize| {
            if keep_ids {
                opp_keys.get(perm[i] as usize).into_owned()
            } else {
                named.get(i).unwrap_or_default().into_owned()
            }
        };

        // History rows regrouped in the new opportunity order (a stable counting sort,
        // so each deal's rows stay in time order).
        let mut off = vec![0u32; n + 1];
        for &o in &hist_opp {
            off[inv[o as usize] as usize + 1] += 1;
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        // each row's new place, written over its deal's number (a column of its own
        // beside it was 180 MB more at 10M deals)
        let mut dest = hist_opp;
        let mut next = off.clone();
        for o in dest.iter_mut() {
            let k = &mut next[inv[*o as usize] as usize];
            *o = *k;
            *k += 1;
        }
        drop(next);
        drop(inv);
        // a column of the history rows, moved to the rows' new places in place: each
        // cycle of the moves followed once, a bit per row marking those moved (moved into
        // a new column, the old and the new had both been held: the days' 204 MB at 51M
        // rows were the first load's peak, in its sort)
        fn scatter<T: Copy>(mut v: Vec<T>, dest: &[u32]) -> Vec<T> {
            let mut moved = vec![0u64; v.len().div_ceil(64)];
            for s in 0..v.len() {
                if moved[s / 64] >> (s % 64) & 1 == 1 {
                    continue;
                }
                moved[s / 64] |= 1 << (s % 64);
                let mut carry = v[s];
                let mut j = dest[s] as usize;
                while j != s {
                    std::mem::swap(&mut carry, &mut v[j]);
                    moved[j / 64] |= 1 << (j % 64);
                    j = dest[j] as usize;
                }
                v[s] = carry;
            }
            v
        }
        let amounts = std::mem::take(&mut raw_hist.amounts).moved(&dest);
        let closes = std::mem::take(&mut raw_hist.closes).moved(&dest);
        let stage = scatter(std::mem::take(&mut raw_hist.stage), &dest);
        // the probabilities and forecast categories the rows give that differ from what
        // the pass takes for a row without one (see [`Given`])
        let probs = given_probs.moved(&dest);
        let fcats = given_fcats.moved(&dest);
        let history = History {
            day: scatter(std::mem::take(&mut raw_hist.day), &dest),
            stage,
            probs,
            amounts,
            closes,
            fcats,
            // (set once the stages are ranked)
            advance: Vec::new(),
        };
        drop(dest);
        opps.hist_off = off;

        let mut book = Book {
            days: LocalDays::new(&settings),
            month_weights: MonthWeights::new(&settings),
            settings,
            org,
            people,
            person_ix,
            units,
            unit_ix,
            currencies,
            // (set below, with their lookup by day)
            rates: Vec::new(),
            rate_days: Vec::new(),
            stages,
            loss_reasons: reasons,
            opps,
            history,
            leads: Leads::default(),
            activities: Activities::default(),
            accounts: Vec::new(),
            account_ids: Ids::default(),
            spend: Vec::new(),
            surveys: Vec::new(),
            survey_ids: Ids::default(),
            quotas: Vec::new(),
            targets: Vec::new(),
            holidays: Vec::new(),
        };
        book.set_rates(rates);
        // Amounts at close in the organisation's currency; first won deal per account.
        let na = acct_owner.len();
        let mut amount_at_close = vec![0i64; n];
        let mut first_won: Vec<(Day, u32)> = vec![(NO_DAY, NONE); na];
        let mut max_cycle = 0;
        for i in 0..n {
            let o = &book.opps;
            if o.status[i] != OppStatus::Open && o.flags[i] & F_AMOUNT != 0 && o.close[i] != NO_DAY
            {
                amount_at_close[i] = book
                    .convert(o.amount[i], o.currency[i], o.close[i])
                    .ok_or_else(|| {
                        book.missing_rate(
                            &format!("opportunity {}", opp_id(i)),
                            o.currency[i],
                            o.close[i],
                        )
                    })?;
            }
            if o.status[i] != OppStatus::Open && o.close[i] != NO_DAY && o.created[i] != NO_DAY {
                max_cycle = max_cycle.max(o.close[i] - o.created[i]);
            }
            if o.status[i] == OppStatus::Won && o.close[i] != NO_DAY && o.account[i] != NONE {
                let a = o.account[i] as usize;
                let cur = first_won[a];
                if cur.1 == NONE
                    || o.close[i] < cur.0
                    || (o.close[i] == cur.0 && perm[i] < perm[cur.1 as usize])
                {
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
        let ranks = super::pass::stage_ranks(&book);
        book.history.set_advances(&mut book.opps, &ranks);
        if keep_ids {
            book.opps.ids = opp_keys.permuted(&perm);
        }
        book.opps.named = named;
        drop(opp_keys);
        drop(perm);

        // Accounts.
        book.accounts = (0..na)
            .map(|a| {
                let (fw, opp) = first_won[a];
                AccountInfo {
                    owner: if acct_owner[a] != NONE {
                        acct_owner[a]
                    } else if opp != NONE {
                        book.opps.owner_of(opp as usize)
                    } else {
                        nobody
                    },
                    first_won: fw,
                    churned: acct_churned[a],
                }
            })
            .collect();

        // Leads: sorted by (owner, created day, created); first response and follow-up
        // days. By day first: a pass finds a period's leads by the day (a time zone that
        // falls back over midnight can give a later time an earlier day).
        let nl = lead_owner.len();
        let (lperm, lead_off) = {
            let (day, at) = (&raw_leads.created_day, &lead_created_at);
            by_owner_then(&std::mem::take(&mut lead_owner), np, |i| (day[i], at[i]))
        };
        let mut linv = vec![0u32; nl];
        for (new, &old) in lperm.iter().enumerate() {
            linv[old as usize] = new as u32;
        }
        let mut la: Vec<(u32, i64, Day)> = lead_acts
            .into_iter()
            .map(|(l, at, d)| (linv[l as usize], at, d))
            .collect();
        drop(linv);
        la.sort_unstable();
        let mut leads = Leads {
            created_day: permute(&mut raw_leads.created_day, &lperm),
            response_secs: Vec::new(),
            response_day: vec![NO_DAY; nl],
            converted: permute(&mut raw_leads.converted, &lperm),
            act_off: vec![0; nl + 1],
            act_days: Vec::new(),
            owner_off: lead_off,
            ids: if keep_ids {
                lead_keys.permuted(&lperm)
            } else {
                Ids::default()
            },
        };
        drop(lead_keys);
        let created_at = permute(&mut { lead_created_at }, &lperm);
        drop(lperm);
        // the first activity at or after each lead's creation answered it, on its day
        let mut first_response = vec![i64::MAX; nl];
        for &(l, at, d) in &la {
            leads.act_off[l as usize + 1] += 1;
            let l = l as usize;
            if at >= created_at[l] && at < first_response[l] {
                first_response[l] = at;
                leads.response_day[l] = d;
            }
        }
        leads.response_secs = first_response
            .iter()
            .zip(&created_at)
            .map(|(&fr, &c)| {
                if fr == i64::MAX {
                    NO_RESPONSE
                } else {
                    (fr - c).clamp(0, i64::from(NO_RESPONSE - 1)) as u32
                }
            })
            .collect();
        drop((created_at, first_response));
        for i in 0..nl {
            leads.act_off[i + 1] += leads.act_off[i];
        }
        // sorted by (lead, at), and the local day is monotonic in `at`
        leads.act_days = la.iter().map(|x| x.2).collect();
        drop(la);
        book.leads = leads;

        // Activities: sorted by (owner, day).
        let (aperm, raw_off) = {
            let d = &raw_acts.day;
            by_owner_then(&std::mem::take(&mut act_owner), np, |i| d[i])
        };
        let days = permute(&mut raw_acts.day, &aperm);
        let kind = permute(&mut raw_acts.kind, &aperm);
        let is_call = |k: ActivityKind| u16::from(k == ActivityKind::Call);
        book.activities = if keep_ids {
            // (a row an activity: its kind says whether it is a call, and no counts are
            // held, 162 MB at 10M deals)
            Activities {
                calls: Vec::new(),
                total: Vec::new(),
                day: days,
                kind,
                owner_off: raw_off,
                // (the ids in arrival order let go of as soon as they are sorted, not at
                // the end of the load)
                ids: std::mem::take(&mut raw_acts.ids).permuted(&aperm),
            }
        } else {
            // one row per owner and day: each owner's activities kept one by one before
            // the grid's days, the grid's, then those after them
            let mut a = Activities {
                owner_off: vec![0; np + 1],
                ..Activities::default()
            };
            for p in 0..np {
                let grid = act_grid.as_ref().map(|g| (g.lo, g.days_of(p as u32)));
                let lo = grid.map_or(Day::MAX, |g| g.0);
                // (the owner's raw rows, sorted by day; its rows of the book start here)
                let (mut i, end) = (raw_off[p] as usize, raw_off[p + 1] as usize);
                let first = a.day.len();
                while i < end && days[i] < lo {
                    a.add_day(first, days[i], 1, u32::from(is_call(kind[i])));
                    i += 1;
                }
                for (k, c) in grid.map_or(&[][..], |g| g.1).iter().enumerate() {
                    if c[0] > 0 {
                        a.add_day(first, lo + k as Day, c[0], c[1]);
                    }
                }
                while i < end {
                    a.add_day(first, days[i], 1, u32::from(is_call(kind[i])));
                    i += 1;
                }
                a.owner_off[p + 1] = a.day.len() as u32;
            }
            drop(act_grid);
            a.day.shrink_to_fit();
            a.total.shrink_to_fit();
            a.calls.shrink_to_fit();
            a
        };
        drop(aperm);

        // Quotas, spend, surveys.
        let (mut quotas, mut targets) = (Vec::new(), Vec::new());
        for q in raw_quotas {
            // (a metric no importer accepts, from a store written before they checked it:
            // left out, as it always was)
            let Some(metric) = crate::kpi::KPI_IDS
                .iter()
                .position(|k| *k == q.metric && crate::kpi::can_target(k))
            else {
                continue;
            };
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
            let e = QuotaEntry {
                metric: metric as u8,
                target,
                start: day(q.period.start),
                end: day(q.period.end),
                amount: q.amount.units(),
            };
            if metric == 0 {
                quotas.push(e);
            } else {
                targets.push(e);
            }
        }
        book.quotas = quotas;
        book.targets = targets;
        for s in raw_spend {
            let target = match &s.scope {
                SpendScope::Company => SpendTarget::Company,
                SpendScope::Unit(u) => match book.unit_ix.get(u.as_str()) {
                    Some(&i) => SpendTarget::Unit(i),
                    None => {
                        return Err(ScorecardError::Data(format!("spend on unknown unit {u}")));
                    }
                },
                SpendScope::Person(p) => match book.person_ix.get(p) {
                    Some(&i) => SpendTarget::Person(i),
                    None => {
                        return Err(ScorecardError::Data(format!("spend on unknown person {p}")));
                    }
                },
            };
            book.spend.push(SpendEntry {
                day: day(s.date),
                target,
                amount: s.amount.units(),
            });
        }
        // the accounts of the responses that came before them; a response whose account
        // never came is left out
        book.survey_ids = survey_ids;
        for (i, acct) in &surveys_waiting {
            surveys[*i].account = acct_ix.get(&acct_keys, acct.as_str()).unwrap_or(NONE);
        }
        if surveys_waiting
            .iter()
            .any(|&(i, _)| surveys[i].account == NONE)
        {
            if keep_ids {
                let mut ids = Ids::default();
                for (i, s) in surveys.iter().enumerate() {
                    if s.account != NONE {
                        ids.push(&book.survey_ids.get(i));
                    }
                }
                book.survey_ids = ids;
            }
            surveys.retain(|s| s.account != NONE);
        }
        for s in &mut surveys {
            s.owner = book.accounts[s.account as usize].owner;
        }
        if keep_ids {
            // keep ids and entries in the same order
            let mut order: Vec<usize> = (0..surveys.len()).collect();
            order.sort_by_key(|&i| (surveys[i].owner, surveys[i].day, i));
            let perm: Vec<u32> = order.iter().map(|&i| i as u32).collect();
            book.survey_ids = book.survey_ids.permuted(&perm);
            surveys = order.into_iter().map(|i| surveys[i]).collect();
        } else {
            surveys.sort_by_key(|s| (s.owner, s.day));
        }
        book.surveys = surveys;
        book.account_ids = acct_keys.packed();
        let mut holidays: Vec<Day> = book.settings.holidays.iter().map(|&d| day(d)).collect();
        holidays.sort();
        holidays.dedup();
        book.holidays = holidays;
        book.check_sums()?;
        Ok(book)
    }
}

impl Book {
    /// Refuses a book whose money could add up past what a sum holds exactly (see
    /// [`MoneyTotals`]). (Such a sum had wrapped around silently: four deals of 900
    /// trillion made a negative pipeline.) An import refuses such money at its cell; a
    /// store written before it did is refused here.
    fn check_sums(&self) -> Result<(), ScorecardError> {
        let o = &self.opps;
        let nc = self.currencies.len().max(1);
        let mut deals: Vec<(Currency, u128, u64)> = (0..nc)
            .map(|c| {
                (
                    self.currencies
                        .get(c)
                        .copied()
                        .unwrap_or(self.settings.currency),
                    0,
                    0,
                )
            })
            .collect();
        let mut closed = 0u128;
        // a deal's amount on an as-of day may be an earlier one of its stage history's (an
        // open pipeline sums those): each deal counts at the largest it ever had
        let ovs = &self.history.amounts;
        let mut ov = 0;
        for i in 0..o.len() {
            let mut top = o.amount[i].unsigned_abs();
            let end = o.hist_off.get(i + 1).copied().unwrap_or(0);
            while ov < ovs.len() && ovs.rows[ov] < end {
                top = top.max(ovs.values[ov].unsigned_abs());
                ov += 1;
            }
            let d = &mut deals[(o.currency[i] as usize).min(nc - 1)];
            d.1 += u128::from(top);
            d.2 += 1;
            closed += u128::from(o.amount_at_close[i].unsigned_abs());
        }
        let whole = |xs: &mut dyn Iterator<Item = i64>| -> u128 {
            xs.map(|x| u128::from(x.unsigned_abs())).sum()
        };
        let totals = MoneyTotals {
            deals,
            history: 0,
            spend: whole(&mut self.spend.iter().map(|x| x.amount)),
            quotas: whole(&mut self.quotas.iter().map(|x| x.amount)),
            targets: whole(&mut self.targets.iter().map(|x| x.amount)),
        };
        let top: Vec<u128> = (0..nc)
            .map(|c| match c {
                0 => SCALE as u128,
                _ => highest(&self.rates[c]),
            })
            .collect();
        let over = totals.over(&top, 0).or_else(|| {
            // (amounts at close are converted at a rate no higher than the highest; held
            // apart all the same, as they are summed apart)
            (closed > SUM_LIMIT).then_some((MoneyKind::Deals, closed))
        });
        match over {
            Some((what, total)) => Err(ScorecardError::Data(
                what.past_limit(total, self.settings.currency),
            )),
            None => Ok(()),
        }
    }
}

/// The most any sum of money holds exactly: an `i64` of ten-thousandths, about 922
/// trillion of the organisation's currency.
pub const SUM_LIMIT: u128 = i64::MAX as u128;

/// The money of one kind of record, for [`MoneyTotals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MoneyKind {
    Deals,
    Spend,
    Quotas,
    Targets,
}

impl MoneyKind {
    pub fn noun(self) -> &'static str {
        match self {
            MoneyKind::Deals => "opportunities' amounts",
            MoneyKind::Spend => "spend entries",
            MoneyKind::Quotas => "quotas",
            MoneyKind::Targets => "targets",
        }
    }
    /// Why money of this kind adding up to `total` (ten-thousandths of `ccy`) is refused.
    pub fn past_limit(self, total: u128, ccy: Currency) -> String {
        let units = |x: u128| format!("{}.{:02}", x / SCALE as u128, x % SCALE as u128 / 100);
        format!(
            "the {} add up to more than salesorg sums exactly ({} {}, at most {}): check \
             the largest amounts for a misplaced decimal point",
            self.noun(),
            units(total),
            ccy.as_str(),
            units(SUM_LIMIT),
        )
    }
}

/// The money a store holds, each amount taken whole (its absolute value). Every sum the
/// engine makes (a scope's bookings, pipeline, spend or quota in a period) adds each
/// record at most once, so no sum can overflow when these totals, the deals' at each
/// currency's highest rate into the organisation's, stay within [`SUM_LIMIT`]. The book
/// checks them when it is made; an import checks the store's with its batch in it, and
/// refuses the batch at its largest amount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoneyTotals {
    /// Per currency of the deals: the sum of their amounts, and how many deals. Each deal
    /// counts at the largest amount it ever had, its stage history's earlier ones too (an
    /// open pipeline on an earlier as-of day sums those).
    pub deals: Vec<(Currency, u128, u64)>,
    /// An import's bound only: the earlier amounts its stage-history rows bring, each
    /// taken whole, in their deals' currencies, which a history row does not name. Counted
    /// at the highest rate of any currency (see [`MoneyTotals::over`]): an upper bound of
    /// what they can add to their deals' largest amounts. Exact totals hold 0 here.
    pub history: u128,
    pub spend: u128,
    pub quotas: u128,
    pub targets: u128,
}

impl MoneyTotals {
    /// Adds `n` deals whose amounts (ten-thousandths, taken whole) sum to `sum` in `ccy`.
    fn add_deals(&mut self, ccy: Currency, sum: u128, n: u64) {
        match self.deals.iter_mut().find(|d| d.0 == ccy) {
            Some(d) => {
                d.1 = d.1.saturating_add(sum);
                d.2 += n;
            }
            None => self.deals.push((ccy, sum, n)),
        }
    }
    /// Adds a deal of `amount` (ten-thousandths, taken whole) in `ccy`.
    pub fn plus_deal(&mut self, ccy: Currency, amount: u64) {
        self.add_deals(ccy, u128::from(amount), 1);
    }
    /// These totals and `more` added up, kind by kind and currency by currency.
    pub fn plus(&self, more: &MoneyTotals) -> MoneyTotals {
        let mut t = self.clone();
        for &(c, sum, n) in &more.deals {
            t.add_deals(c, sum, n);
        }
        t.history = t.history.saturating_add(more.history);
        t.spend = t.spend.saturating_add(more.spend);
        t.quotas = t.quotas.saturating_add(more.quotas);
        t.targets = t.targets.saturating_add(more.targets);
        t
    }
    /// The first kind of money whose total is past [`SUM_LIMIT`], with that total. `top`
    /// holds, for each entry of `deals`, the currency's highest rate into the
    /// organisation's in ten-thousandths of a unit per unit, rounded up (`SCALE` for the
    /// organisation's own; 0 for one without a rate, whose deals a scorecard refuses).
    /// A deal's conversion may round up by a ten-thousandth: one per deal is added. The
    /// stage history's amounts ([`MoneyTotals::history`]) count at `any`, the highest rate
    /// of any currency into the organisation's (at least `SCALE`).
    pub fn over(&self, top: &[u128], any: u128) -> Option<(MoneyKind, u128)> {
        let deals: u128 = self
            .deals
            .iter()
            .zip(top.iter().chain(std::iter::repeat(&0)))
            .map(|(&(_, sum, n), &rate)| sum.saturating_mul(rate) / SCALE as u128 + u128::from(n))
            .fold(0u128, u128::saturating_add)
            .saturating_add(self.history.saturating_mul(any.max(SCALE as u128)) / SCALE as u128);
        [
            (MoneyKind::Deals, deals),
            (MoneyKind::Spend, self.spend),
            (MoneyKind::Quotas, self.quotas),
            (MoneyKind::Targets, self.targets),
        ]
        .into_iter()
        .find(|&(_, total)| total > SUM_LIMIT)
    }
    /// [`MoneyTotals::over`] with each currency's highest rate from a store's rates.
    pub fn over_at_rates(&self, raw: &[CurrencyRate], org: Currency) -> Option<(MoneyKind, u128)> {
        let top = |ccys: &[Currency]| -> Vec<u128> {
            org_rates(raw, org, ccys)
                .iter()
                .zip(ccys)
                .map(|(steps, &c)| {
                    if c == org {
                        SCALE as u128
                    } else {
                        highest(steps)
                    }
                })
                .collect()
        };
        let ccys: Vec<Currency> = self.deals.iter().map(|d| d.0).collect();
        // (the history's deals may be in any currency the rates name)
        let any = if self.history > 0 {
            let mut all: Vec<Currency> = raw.iter().flat_map(|r| [r.from, r.to]).collect();
            all.sort();
            all.dedup();
            top(&all).into_iter().max().unwrap_or(0)
        } else {
            0
        };
        self.over(&top(&ccys), any)
    }
}

/// The highest of a currency's rates into the organisation's (see [`MoneyTotals::over`]).
fn highest(steps: &[(Day, Conversion)]) -> u128 {
    steps.iter().map(|&(_, r)| r.ceiling()).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day shown in place reads as [`fmt_day`] writes it: no day, the epoch, days of
    /// years 0 and 9999, and days past the dates' range (written by `format!`).
    #[test]
    fn a_day_shown_in_place_reads_as_fmt_day() {
        let date = |y, m, d| {
            day(
                crate::date::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
                    .unwrap(),
            )
        };
        let (first, last) = (date(0, 1, 1), date(9999, 12, 31));
        for d in [NO_DAY, 0, -1, 20_000, first, last, first - 1, last + 1] {
            assert_eq!(DayShown(d).to_string(), fmt_day(d), "{d}");
        }
        assert_eq!(DayShown(NO_DAY).to_string(), "");
        assert_eq!(DayShown(0).to_string(), "1970-01-01");
    }
    use proptest::prelude::*;

    proptest! {
        /// A gallop from any place finds what a search of the rows from there finds: the
        /// first not below the row asked for (near the place, far from it, or none).
        #[test]
        fn a_gallop_finds_the_first_row_not_below(
            mut rows in proptest::collection::vec(0u32..200, 0..80),
            from in 0usize..90,
            row in 0u32..210,
        ) {
            rows.sort_unstable();
            let from = from.min(rows.len());
            let want = from + rows[from..].partition_point(|&x| x < row);
            prop_assert_eq!(gallop(&rows, from, row), want);
            // (and the row at each place asked for from each earlier one: rows that are
            // there, repeated or not)
            for (k, &r) in rows.iter().enumerate().skip(from) {
                let want = from + rows[from..].partition_point(|&x| x < r);
                prop_assert!(want <= k);
                prop_assert_eq!(gallop(&rows, from, r), want);
            }
        }

        /// An owner's activities of a day, added a count at a time in (owner, day) order,
        /// make as few rows as hold them (each at most `u16::MAX`, its calls at most its
        /// activities), in that order, with every day's counts whole.
        #[test]
        fn activities_by_day_make_rows_that_hold_each_days_counts(
            mut adds in proptest::collection::vec(
                (0u32..3, 0i32..4, 1u32..140_000, 0u32..=100),
                0..12,
            ),
        ) {
            adds.sort_by_key(|x| (x.0, x.1));
            let mut a = Activities::default();
            let mut want: std::collections::BTreeMap<(u32, Day), (u64, u64)> =
                std::collections::BTreeMap::new();
            // each row's owner, and where the rows of the owner added last start
            let (mut owner, mut first, mut last) = (Vec::new(), 0, None);
            for &(p, d, total, pct) in &adds {
                let calls = (u64::from(total) * u64::from(pct) / 100) as u32;
                if last != Some(p) {
                    (first, last) = (a.day.len(), Some(p));
                }
                a.add_day(first, d, total, calls);
                owner.resize(a.day.len(), p);
                let w = want.entry((p, d)).or_default();
                w.0 += u64::from(total);
                w.1 += u64::from(calls);
            }
            let mut got: std::collections::BTreeMap<(u32, Day), (u64, u64, u64)> =
                std::collections::BTreeMap::new();
            for i in 0..a.total.len() {
                prop_assert!(a.total[i] > 0 && a.calls[i] <= a.total[i]);
                if i > 0 {
                    prop_assert!((owner[i - 1], a.day[i - 1]) <= (owner[i], a.day[i]));
                }
                let g = got.entry((owner[i], a.day[i])).or_default();
                g.0 += u64::from(a.total[i]);
                g.1 += u64::from(a.calls[i]);
                g.2 += 1;
            }
            prop_assert_eq!(got.len(), want.len());
            for (k, w) in &want {
                let g = got[k];
                prop_assert_eq!((g.0, g.1), *w);
                prop_assert_eq!(g.2, w.0.div_ceil(u64::from(u16::MAX)), "rows of {:?}", k);
            }
        }

        /// A row's owner, found from the owners' offsets alone, is the owner it was added
        /// with, among owners with no rows before, between and after theirs.
        #[test]
        fn a_rows_owner_is_found_from_the_offsets(
            mut owner in proptest::collection::vec(0u32..6, 0..40),
        ) {
            owner.sort_unstable();
            let off = owner_offsets(&owner, 6);
            prop_assert_eq!(off.len(), 7);
            for (i, &p) in owner.iter().enumerate() {
                prop_assert_eq!(owner_at(&off, i), p, "row {}", i);
            }
        }

        /// The rate in force on a day, looked up by the day, is the one the rates' search
        /// finds: before the first, on each rate's day, between rates and after the last,
        /// and for rates spanning more days than the lookup holds.
        #[test]
        fn the_rate_on_a_day_is_the_one_the_search_finds(
            gaps in proptest::collection::vec(1i32..40_000, 0..6),
            start in -1000i32..1000,
            probes in proptest::collection::vec(-2000i32..250_000, 1..40),
        ) {
            let mut day = start;
            let rates: Vec<(Day, Conversion)> = gaps
                .iter()
                .map(|g| {
                    day += g;
                    (day, Conversion { num: i64::from(*g), den: 1 })
                })
                .collect();
            let by_day = RateDays::of(&rates);
            let span = match (rates.first(), rates.last()) {
                (Some(a), Some(z)) => i64::from(z.0 - a.0) + 1,
                _ => 0,
            };
            let far = span > RateDays::MAX_DAYS;
            prop_assert_eq!(by_day.count.is_empty(), rates.is_empty() || far);
            let mut days = probes.clone();
            days.extend(rates.iter().flat_map(|r| [r.0 - 1, r.0, r.0 + 1]));
            for d in days {
                prop_assert_eq!(
                    by_day.count_on(&rates, d),
                    rates.partition_point(|&(rd, _)| rd <= d),
                    "day {}", d
                );
            }
        }
    }

    proptest! {
        /// Every id finds the last record that had it, through the table's growth and
        /// its probe chains; an id never added finds none.
        #[test]
        fn an_id_finds_the_last_record_that_had_it(
            picks in proptest::collection::vec(0u32..600, 0..900),
        ) {
            let (mut ids, mut ix) = (Ids::default(), IdIndex::default());
            let mut last = std::collections::HashMap::new();
            for (i, p) in picks.iter().enumerate() {
                let id = format!("006{p:012}AAA");
                ids.push(&id);
                ix.insert(&ids, &id, i as u32);
                last.insert(id, i as u32);
            }
            prop_assert!(ix.len * 4 <= ix.slots.len() * 3);
            for p in 0u32..700 {
                let id = format!("006{p:012}AAA");
                prop_assert_eq!(ix.get(&ids, &id), last.get(&id).copied(), "{}", id);
            }
        }
    }

    /// The activity grid spans the days of the deals and leads read before the
    /// activities, for every person, and holds no other day.
    #[test]
    fn the_activity_grid_holds_the_deals_and_leads_days() {
        let opps = Opps {
            created: vec![100, NO_DAY],
            close: vec![NO_DAY, 130],
            ..Default::default()
        };
        let mut leads = Leads {
            created_day: vec![90],
            ..Default::default()
        };
        let mut g = ActGrid::over(3, &opps, &leads).unwrap();
        assert_eq!((g.lo, g.span, g.counts.len()), (90, 41, 123));
        assert!(g.cell(0, 89).is_none() && g.cell(2, 131).is_none());
        g.cell(2, 130).unwrap()[0] += 1;
        assert_eq!(g.days_of(2)[40], [1, 0]);
        assert!(g.cell(3, 100).is_none(), "no such person");
        // nothing read before the activities, or too many days: one by one
        assert!(ActGrid::over(3, &Opps::default(), &Leads::default()).is_none());
        leads.created_day = vec![0, (ActGrid::MAX_CELLS / 3) as Day];
        assert!(ActGrid::over(3, &opps, &leads).is_none());
    }

    /// Conversions one after another are one exact fraction, and one too large to hold
    /// is held nearly (it had no such case: a rate through another currency is new).
    #[test]
    fn conversions_chain_exactly() {
        let r = |s: &str| Rate::parse(s).unwrap();
        // 1 EUR = 1.5 USD, 1 EUR = 3 JPY: 1 JPY = 0.5 USD
        let jpy_usd = Conversion::inverted(r("3")).then(Conversion::quoted(r("1.5")));
        assert_eq!((jpy_usd.num, jpy_usd.den), (1, 2));
        assert_eq!(jpy_usd.apply(10_000), 5_000);
        let big = Conversion {
            num: i64::MAX - 1,
            den: 3,
        }
        .then(Conversion {
            num: 5,
            den: i64::MAX - 2,
        });
        assert!(big.den > 0);
        let x = big.apply(3_000_000) as f64;
        assert!((x / 5_000_000.0 - 1.0).abs() < 1e-12, "{x}");
    }

    proptest! {
        /// The advance column answers "advanced past its stage by day `a`?" for every row
        /// and day exactly as the deal's later rows and its close do, including days the
        /// column cannot hold (a close before the row, a gap of 65,533 days or more); a
        /// row in the stage of the row before is no entry and never advanced, and each
        /// row's stay starts at the first row of its run in that stage.
        #[test]
        fn the_advance_column_answers_as_the_later_rows_do(
            deals in proptest::collection::vec(
                (
                    0u8..3,
                    prop_oneof![Just(None), (-100i32..400).prop_map(Some), Just(Some(70_000))],
                    proptest::collection::vec(
                        (prop_oneof![0i32..40, Just(0), 65_530i32..65_540], 0u8..6),
                        0..7,
                    ),
                ),
                0..12,
            ),
        ) {
            // stages: lost, four open ones, won
            let ranks = [0u16, 1, 2, 3, 4, u16::MAX];
            let (mut opps, mut h) = (Opps::default(), History::default());
            opps.hist_off.push(0);
            for (st, close, rows) in &deals {
                opps.created.push(NO_DAY);
                opps.status.push([OppStatus::Open, OppStatus::Won, OppStatus::Lost][*st as usize]);
                opps.close.push(close.unwrap_or(NO_DAY));
                let mut d = 0;
                for &(gap, stage) in rows {
                    d += gap;
                    h.day.push(d);
                    h.stage.push(stage);
                }
                opps.hist_off.push(h.day.len() as u32);
            }
            opps.flags = vec![0; deals.len()];
            h.set_advances(&mut opps, &ranks);
            let close_of = |i: usize| (opps.close[i] != NO_DAY).then_some(opps.close[i]);
            for i in 0..deals.len() {
                let (r0, r1) = (opps.hist_off[i] as usize, opps.hist_off[i + 1] as usize);
                let won_on = opps.won_on(i);
                // (as-of days: every day the rows and the close give, and their
                // neighbours; never `Day::MAX`, which no as-of day is)
                let mut days: Vec<Day> = h.day[r0..r1].to_vec();
                days.extend(close_of(i));
                let days: Vec<Day> = days.iter().flat_map(|&d| [d - 1, d, d + 1]).collect();
                // the deal's flags: a row that stays; an entry into a stage entered before
                let rows = &h.stage[r0..r1];
                let stays = rows.windows(2).any(|w| w[0] == w[1]);
                let returns = (1..rows.len()).any(|k| rows[k - 1] != rows[k] && rows[..k].contains(&rows[k]));
                prop_assert_eq!(opps.flags[i] & F_STAYS != 0, stays, "deal {}", i);
                prop_assert_eq!(opps.flags[i] & F_RETURNS != 0, returns, "deal {}", i);
                prop_assert_eq!(opps.irregular(i), stays || returns, "deal {}", i);
                for r in r0..r1 {
                    // a row in the stage of the row before enters none, and never advanced;
                    // a stay starts at the first row of its run
                    let repeat = r > r0 && h.stage[r - 1] == h.stage[r];
                    prop_assert_eq!(h.is_entry(r), !repeat, "deal {} row {}", i, r);
                    let start = (r0..=r).rev().take_while(|&s| h.stage[s] == h.stage[r]).last();
                    prop_assert_eq!(Some(h.stay_start(r)), start, "deal {} row {}", i, r);
                    if repeat {
                        for &a in &days {
                            prop_assert!(!h.advanced_by(r, r1, won_on, a, |s| ranks[s as usize]));
                        }
                        continue;
                    }
                    let rk = ranks[h.stage[r] as usize];
                    if !super::super::pass::open_rank(rk) {
                        continue;
                    }
                    for &a in &days {
                        let want = won_on <= a
                            || (r + 1..r1).any(|r2| h.day[r2] <= a && ranks[h.stage[r2] as usize] > rk);
                        prop_assert_eq!(h.advanced_by(r, r1, won_on, a, |s| ranks[s as usize]), want,
                            "deal {} row {} day {}", i, r, a);
                    }
                }
            }
        }
    }

    proptest! {
        /// Each deal's flags say whether the history's lists of differing amounts, close
        /// days and probabilities hold one of its rows; a cursor walked over any of the
        /// deals in order with [`History::overrides_of`] (each deal's first row, some deals
        /// skipped, as the open pipeline's walk skips those open on no as-of day) finds
        /// every row's entry in a list its deal is flagged for as a search of the whole
        /// list does, and the rows of a deal not flagged for a list have none there; so
        /// does a place in the differing forecast categories galloped to each visited
        /// deal's first row (as [`super::super::pass::open_states`] walks it).
        #[test]
        fn deals_flagged_for_their_moves_find_them_from_a_walked_cursor(
            deals in proptest::collection::vec(
                proptest::collection::vec(
                    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
                    0..6,
                ),
                0..14,
            ),
            visit in proptest::collection::vec(any::<bool>(), 14),
        ) {
            let (mut opps, mut h) = (Opps::default(), History::default());
            opps.hist_off.push(0);
            for rows in &deals {
                for &(amount, close, prob, fcat) in rows {
                    let r = h.day.len() as u32;
                    h.day.push(0);
                    if amount {
                        h.amounts.push(r, i64::from(r) * 100);
                    }
                    if close {
                        h.closes.push(r, r as Day + 7);
                    }
                    if prob {
                        h.probs.push(r, (r % 10_000) as u16);
                    }
                    if fcat {
                        h.fcats.push(r, (r % 5) as u8 + 1);
                    }
                }
                opps.hist_off.push(h.day.len() as u32);
            }
            // (a deal's other flags are kept, and a stale flag for moves is cleared)
            opps.flags = vec![F_AMOUNTS | F_PROBS | F_RETURNS; deals.len()];
            h.set_moves(&mut opps);
            // (the forecast categories' place, walked apart: `open_states` gallops it from
            // the list's start, with no flag)
            let (mut ov, mut fc): (Cursor, usize) = ((0, 0, 0), 0);
            for (i, rows) in deals.iter().enumerate() {
                let f = opps.flags[i];
                prop_assert_eq!(f & F_RETURNS, F_RETURNS);
                prop_assert_eq!(f & F_AMOUNTS != 0, rows.iter().any(|x| x.0), "deal {}", i);
                prop_assert_eq!(f & F_CLOSES != 0, rows.iter().any(|x| x.1), "deal {}", i);
                prop_assert_eq!(f & F_PROBS != 0, rows.iter().any(|x| x.2), "deal {}", i);
                if !visit[i] {
                    continue;
                }
                ov = h.overrides_of(ov, &opps, i, opps.hist_off[i]);
                fc = gallop(&h.fcats.rows, fc, opps.hist_off[i]);
                for r in opps.hist_off[i]..opps.hist_off[i + 1] {
                    prop_assert_eq!(h.fcats.find_from(fc, r), h.fcats.at(r as usize), "row {}", r);
                    let (a, c, p) = (
                        h.amounts.at(r as usize),
                        h.closes.at(r as usize),
                        h.probs.at(r as usize),
                    );
                    if f & F_AMOUNTS != 0 {
                        prop_assert_eq!(h.amounts.find_from(ov.0, r), a, "row {}", r);
                    } else {
                        prop_assert_eq!(a, None);
                    }
                    if f & F_CLOSES != 0 {
                        prop_assert_eq!(h.closes.find_from(ov.1, r), c, "row {}", r);
                    } else {
                        prop_assert_eq!(c, None);
                    }
                    if f & F_PROBS != 0 {
                        prop_assert_eq!(h.probs.find_from(ov.2, r), p, "row {}", r);
                    } else {
                        prop_assert_eq!(p, None);
                    }
                }
                // the place past the deal's rows, as the chart's walk takes it for the next
                let next = h.overrides_of(ov, &opps, i, opps.hist_off[i + 1]);
                prop_assert!(next.0 >= ov.0 && next.1 >= ov.1 && next.2 >= ov.2);
                ov = next;
            }
        }
    }

    proptest! {
        /// The weight of any days from the running totals is the weight walked month by
        /// month, for any fiscal year's first month and any weights (even or twelve of
        /// their own, some zero), over days from before the table to after it.
        #[test]
        fn month_weights_weigh_any_days_as_the_walk_month_by_month(
            start_month in 1u8..=12,
            seasonal in proptest::option::of(proptest::collection::vec(0u32..=1_000_000, 12)),
            // days from 1899-01-01 to 2201-12-31 (1900 to 2200 is the table's), some near its ends
            a in prop_oneof![-25_567i32..84_000, -25_202i32..-25_100, 84_000i32..84_700],
            len in prop_oneof![0i32..40, 0i32..800, 0i32..120_000],
        ) {
            let mut settings = Settings::default();
            settings.set("fiscal_year_start_month", &start_month.to_string()).unwrap();
            let text = match &seasonal {
                Some(w) if w.iter().any(|&x| x > 0) => {
                    w.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
                }
                _ => "even".to_string(),
            };
            settings.set("quota_prorating", &text).unwrap();
            let w = settings.quota_prorating.weights().unwrap();
            let t = MonthWeights::new(&settings);
            let b = a + len;
            let walked = weight_by_months(&settings, &w, a, b);
            match (t.total_at(a), t.total_at(b)) {
                (Some(x), Some(y)) => prop_assert_eq!(y - x, walked, "days {}..{}", a, b),
                // (outside the table: the walk alone)
                _ => prop_assert!(
                    day(crate::period::first_of(MonthWeights::FROM_YEAR, 1)) > a
                        || day(crate::period::first_of(MonthWeights::TO_YEAR, 1)) < b
                ),
            }
        }
    }

    /// Every day of the table weighs what the walk gives it (the lookup's guess of the
    /// month is one too far on about a hundred days of the table, one too near on
    /// thousands: a few random days rarely meet the first).
    #[test]
    fn month_weights_weigh_every_day_of_the_table_as_the_walk() {
        let mut settings = Settings::default();
        settings.set("fiscal_year_start_month", "2").unwrap();
        settings
            .set("quota_prorating", "8,8,9,8,8,9,8,8,9,8,8,7")
            .unwrap();
        let w = settings.quota_prorating.weights().unwrap();
        let t = MonthWeights::new(&settings);
        let first = day(crate::period::first_of(MonthWeights::FROM_YEAR, 1));
        let end = day(crate::period::first_of(MonthWeights::TO_YEAR, 1));
        let mut total = 0i128;
        for d in first..end {
            assert_eq!(t.total_at(d), Some(total), "day {}", fmt_day(d));
            total += weight_by_months(&settings, &w, d, d + 1);
        }
        assert_eq!(t.total_at(end), Some(total));
        assert_eq!((t.total_at(first - 1), t.total_at(end + 1)), (None, None));
    }

    /// Without pro-rating there is no table, and nothing is looked up in it.
    #[test]
    fn month_weights_are_empty_without_pro_rating() {
        let t = MonthWeights::new(&Settings::default());
        assert_eq!(t.total_at(0), None);
        assert!(t.starts.is_empty());
    }
}
