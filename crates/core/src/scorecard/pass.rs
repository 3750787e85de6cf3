//! The pass: one walk over each owner's opportunities, stage history, leads and
//! activities that adds every record into the (owner segment × period) cell of its
//! attribution date (spec §1), plus the people, account, survey and spend facts.

use crate::kpi::{Cell, LossCell, StageCell};
use crate::records::OppStatus;

use super::ScorecardError;
use super::book::{
    ADV_FAR, ADV_REPEAT, AccountInfo, Book, Cursor, Day, F_AMOUNT, F_AMOUNTS, F_CLOSES,
    F_FIRST_WON, F_NEXT_STEP, F_RETURNS, History, NO_DAY, StagesSeen,
};
use super::segments::{OwnerSegments, Segments};

/// One period of the plan, with its as-of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: Day,
    /// Exclusive: the records of `start..end` are the slot's (a period to date ends after
    /// its last day so far).
    pub end: Day,
    /// The whole period's end (`end` but for a period to date, see
    /// [`crate::period::Period::to_date`]): the quotas set for `start..whole_end` are the
    /// slot's, and its open pipeline is the deals closing in those days.
    pub whole_end: Day,
    pub asof: Day,
    /// Records are passed over for this period (otherwise only accounts are, for the
    /// trailing windows of `ltv`).
    pub full: bool,
    /// One of the requested periods' own slots. The others (last year's period, the
    /// trailing twelve months and their parts) feed only the formulas' comparisons, which
    /// read their bookings and customers alone: the pass adds closed deals there and nothing
    /// else of the records (a drill-down into closed deals, only won deals' bookings).
    pub own: bool,
}

/// Whether a segment over days `from..to` can hold anything in slot `sl` (see
/// [`super::Grid::reach`]): the slot's records and facts fall on days from the earlier of
/// its start and its as-of day up to its end.
#[inline]
pub fn reaches(sl: &Slot, from: Day, to: Day) -> bool {
    from < sl.end && sl.start.min(sl.asof) < to
}

/// Days mapped to the slots of non-overlapping periods.
#[derive(Debug)]
pub struct Days {
    lo: Day,
    map: Vec<u16>,
}

impl Days {
    fn of(slots: &[Slot], grp: &[usize]) -> Days {
        let lo = grp.iter().map(|&g| slots[g].start).min().unwrap_or(0);
        let hi = grp.iter().map(|&g| slots[g].end).max().unwrap_or(0);
        let mut map = vec![u16::MAX; (hi - lo).max(0) as usize];
        for &g in grp {
            for d in slots[g].start..slots[g].end {
                map[(d - lo) as usize] = g as u16;
            }
        }
        Days { lo, map }
    }
    /// [`Days::owner_rows_within`] of a column of days, without an index (the tests').
    #[cfg(test)]
    fn rows_within(&self, days: &[Day], range: std::ops::Range<usize>) -> std::ops::Range<usize> {
        self.owner_rows_within(days, |&d| d, range, None)
    }
    /// The positions in `range` of `rows`, sorted there by `day`, whose day falls in one of
    /// the periods or between them (the rows outside can have no slot): owner `p`'s rows
    /// (all of them), found through their [`DayIndex`] where there is one (`index`).
    #[inline]
    pub fn owner_rows_within<T>(
        &self,
        rows: &[T],
        day: impl Fn(&T) -> Day + Copy,
        range: std::ops::Range<usize>,
        index: Option<(&DayIndex, u32)>,
    ) -> std::ops::Range<usize> {
        let (lo, hi) = self.span();
        let Some((ix, p)) = index else {
            // (an owner's rows all within the days, as over most of the history, are
            // found from the first and the last alone: each step of a search over
            // thousands of activities is a miss)
            let d = &rows[range.clone()];
            let a = match d.first() {
                Some(x) if day(x) < lo => d.partition_point(|x| day(x) < lo),
                _ => 0,
            };
            let b = match d.last() {
                Some(x) if day(x) < hi => d.len(),
                _ => a + d[a..].partition_point(|x| day(x) < hi),
            };
            return range.start + a..range.start + b;
        };
        let a = ix.first_at(rows, day, p, range.clone(), lo);
        a..ix.first_at(rows, day, p, range, hi).max(a)
    }
    /// Whether no day has a slot.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// The days `lo..hi` of the periods and of the days between them: a day outside
    /// has no slot.
    #[inline]
    pub fn span(&self) -> (Day, Day) {
        (self.lo, self.lo.saturating_add(self.map.len() as Day))
    }
    /// The first day after `d` that has a slot (`Day::MAX`: none).
    fn next_slot_day(&self, d: Day) -> Day {
        let from = (i64::from(d) - i64::from(self.lo) + 1).max(0) as usize;
        let at = self.map.iter().skip(from).position(|&g| g != u16::MAX);
        at.map_or(Day::MAX, |x| self.lo + (from + x) as Day)
    }
    #[inline]
    pub fn slot(&self, d: Day) -> Option<usize> {
        // (a day before the first is past the end, as an unsigned offset: one test for
        // both ends)
        match self.map.get(d.wrapping_sub(self.lo) as u32 as usize) {
            Some(&g) if g != u16::MAX => Some(g as usize),
            _ => None,
        }
    }
}

/// A coarse index of a column sorted by day within each owner's rows (the owners' rows one
/// after another, from offsets): for each owner and each bucket of `2^shift` days from
/// `lo`, where the owner's rows of that bucket start. A search for the rows of a few
/// weeks then halves one bucket's rows, a few cache lines, instead of all the owner's
/// (thousands of activities at 10M deals, each halving step a miss: 170,000 such searches
/// made a page over a date range wait a fifth of its time).
#[derive(Debug)]
pub struct DayIndex {
    lo: i64,
    shift: u32,
    /// Buckets per owner.
    nb: usize,
    /// `off[p * (nb + 1) + k]`: the first of owner `p`'s rows on or after day
    /// `lo + k << shift`.
    off: Vec<u32>,
}

impl DayIndex {
    /// At most this many buckets per owner (about 11 MB for the four columns of the 10M
    /// demo's 9,603 owners), and at most one per eight rows of the column, so that the
    /// index is at most an eighth of the column however many owners share it.
    const BUCKETS: usize = 128;

    /// The index of `rows` (each owner's sorted by `day`; owner `p`'s are
    /// `owner_off[p]..owner_off[p + 1]`). Days [`NO_DAY`] sort first and fall in no
    /// bucket.
    pub fn build<T>(rows: &[T], day: impl Fn(&T) -> Day, owner_off: &[u32]) -> DayIndex {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for d in rows.iter().map(&day).filter(|&d| d != NO_DAY) {
            lo = lo.min(i64::from(d));
            hi = hi.max(i64::from(d));
        }
        if lo > hi {
            (lo, hi) = (0, 0);
        }
        let span = hi - lo + 1;
        let owners = owner_off.len().saturating_sub(1);
        let most = (rows.len() / (owners.max(1) * 8)).clamp(1, Self::BUCKETS) as i64;
        let mut shift = 0;
        while span >> shift >= most {
            shift += 1;
        }
        let nb = ((span - 1) >> shift) as usize + 1;
        let mut off = Vec::with_capacity(owners * (nb + 1));
        for p in 0..owners {
            let (mut r, end) = (owner_off[p] as usize, owner_off[p + 1] as usize);
            for k in 0..=nb {
                let start = lo + ((k as i64) << shift);
                while r < end && i64::from(day(&rows[r])) < start {
                    r += 1;
                }
                off.push(r as u32);
            }
        }
        DayIndex { lo, shift, nb, off }
    }

    /// The first of owner `p`'s rows (`range`, all of them) whose day is `x` or later.
    #[inline]
    pub fn first_at<T>(
        &self,
        rows: &[T],
        day: impl Fn(&T) -> Day,
        p: u32,
        range: std::ops::Range<usize>,
        x: Day,
    ) -> usize {
        let base = p as usize * (self.nb + 1);
        let from_lo = i64::from(x) - self.lo;
        // (the rows before bucket `k` fall before its first day, and those from `k + 1`
        // on after `x`)
        let (a, b) = if from_lo <= 0 {
            (range.start, self.off[base] as usize)
        } else {
            match (from_lo >> self.shift) as usize {
                k if k >= self.nb => (self.off[base + self.nb] as usize, range.end),
                k => (self.off[base + k] as usize, self.off[base + k + 1] as usize),
            }
        };
        a + rows[a..b].partition_point(|r| day(r) < x)
    }
}

/// The [`DayIndex`]es of the columns a pass over a few periods searches by owner: the
/// deals' close days, the leads' created days, the activities' days and the surveys'.
#[derive(Debug)]
pub struct DayIndexes {
    pub close: DayIndex,
    pub leads: DayIndex,
    pub activities: DayIndex,
    pub surveys: DayIndex,
}

impl DayIndexes {
    /// The bytes the four indexes take in memory.
    pub fn bytes(&self) -> usize {
        [&self.close, &self.leads, &self.activities, &self.surveys]
            .iter()
            .map(|x| x.off.capacity() * 4)
            .sum()
    }
    /// The four indexes, two at a time on two threads.
    pub fn of(book: &Book, look: &Lookups) -> DayIndexes {
        let day = |&d: &Day| d;
        let ((close, surveys), (leads, activities)) = std::thread::scope(|sc| {
            let other = sc.spawn(|| {
                (
                    DayIndex::build(&book.opps.close, day, &book.opps.owner_off),
                    DayIndex::build(&book.surveys, |s| s.day, &look.surveys),
                )
            });
            let mine = (
                DayIndex::build(&book.leads.created_day, day, &book.leads.owner_off),
                DayIndex::build(&book.activities.day, day, &book.activities.owner_off),
            );
            (
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                mine,
            )
        });
        DayIndexes {
            close,
            leads,
            activities,
            surveys,
        }
    }
}

/// Non-overlapping full periods, looked up by day.
#[derive(Debug)]
pub struct Layer {
    /// The own slots' days: every record group is added there.
    pub own: Days,
    /// Every slot's days, own and comparison: won deals are added there.
    pub any: Days,
    /// (as-of day, slot) of the own slots, sorted.
    asofs: Vec<(Day, u16)>,
    /// For a day `d` in `[asof_lo, asof_lo + len)`: the index of the first as-of day ≥ `d`.
    asof_lo: Day,
    first_asof: Vec<u16>,
    /// The runs of days `lo..hi` on which a deal can count for a walk other than the
    /// closed deals' (see [`Layer::reach`]), sorted and apart.
    reach: Vec<(Day, Day)>,
    /// The untraced stage walk goes over an owner's history rows one after another
    /// (see [`StageWalk`]): the layer's own days add up to [`FLAT_DAYS`] or more. Over a
    /// few weeks (a page over a date range of its own), most rows of the deals read fall
    /// outside them, and the walk deal by deal passes over those deals without reading
    /// their rows.
    pub flat: bool,
}

/// A layer whose own days add up to this many or more walks its stage history row after
/// row ([`Layer::flat`]). At 10M deals, over the company, row after row against deal by
/// deal (the pass, min of seven warm runs, two rounds): a year 179–185 against 187–196 ms,
/// two quarters 157–166 against 160–163, a quarter 126–129 against 126–130, a month
/// 106–107 against 100–103, three date ranges of six weeks (a page's) 224–238 against 205.
pub const FLAT_DAYS: i64 = 180;

impl Layer {
    /// The runs of days `lo..hi` on which a deal can count in this layer for a walk
    /// other than the closed deals' (which go by close day over every slot's days,
    /// apart): the own slots' days and their as-of days (which lie before a period that
    /// starts after today), sorted and apart. A layer's comparison slots can lie a year
    /// or two from its own, and its own slots months apart (a date range's last-year
    /// period and the range).
    pub fn reach(&self) -> &[(Day, Day)] {
        &self.reach
    }
    /// Whether days `first..=last` reach into one of the runs of [`Layer::reach`] (the
    /// own slots' days, a gap between them apart).
    #[inline]
    fn meets(&self, first: Day, last: Day) -> bool {
        meets_runs(&self.reach, first, last)
    }
    /// The index in `asofs` of the first as-of day on or after `d`.
    #[inline]
    fn first_asof(&self, d: Day) -> usize {
        if d <= self.asof_lo {
            return 0;
        }
        match self.first_asof.get((d - self.asof_lo) as usize) {
            Some(&i) => i as usize,
            None => self.asofs.len(),
        }
    }
}

/// Splits the full slots into layers of non-overlapping periods.
pub fn layers(slots: &[Slot]) -> Vec<Layer> {
    let mut order: Vec<usize> = (0..slots.len()).filter(|&g| slots[g].full).collect();
    order.sort_by_key(|&g| (slots[g].start, slots[g].end));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for g in order {
        match groups.iter_mut().find(|grp| {
            grp.iter()
                .all(|&h| slots[h].end <= slots[g].start || slots[g].end <= slots[h].start)
        }) {
            Some(grp) => grp.push(g),
            None => groups.push(vec![g]),
        }
    }
    groups
        .into_iter()
        .map(|grp| {
            let own: Vec<usize> = grp.iter().copied().filter(|&g| slots[g].own).collect();
            let mut asofs: Vec<(Day, u16)> =
                own.iter().map(|&g| (slots[g].asof, g as u16)).collect();
            asofs.sort();
            let asof_lo = asofs.first().map(|a| a.0).unwrap_or(0);
            let asof_hi = asofs.last().map(|a| a.0 + 1).unwrap_or(0);
            let first_asof = (asof_lo..asof_hi)
                .map(|d| asofs.partition_point(|&(a, _)| a < d) as u16)
                .collect();
            let mut days: Vec<(Day, Day)> = own
                .iter()
                .map(|&g| (slots[g].start, slots[g].end))
                .chain(asofs.iter().map(|&(a, _)| (a, a.saturating_add(1))))
                .filter(|&(lo, hi)| lo < hi)
                .collect();
            days.sort_unstable();
            let mut reach: Vec<(Day, Day)> = Vec::with_capacity(days.len());
            for (lo, hi) in days {
                match reach.last_mut() {
                    Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                    _ => reach.push((lo, hi)),
                }
            }
            let own_days: i64 = own
                .iter()
                .map(|&g| i64::from(slots[g].end) - i64::from(slots[g].start))
                .sum();
            Layer {
                own: Days::of(slots, &own),
                any: Days::of(slots, &grp),
                asofs,
                asof_lo,
                first_asof,
                reach,
                flat: own_days >= FLAT_DAYS,
            }
        })
        .collect()
}

/// Which groups of records a pass walks. A scorecard walks them all; a drill-down only
/// those its KPI's value reads (the people facts are always added: they cost little).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Walk {
    /// Deals closed in a period (won and lost).
    pub closed: bool,
    /// Deals created in a period.
    pub created: bool,
    /// Deals open on an as-of day.
    pub open: bool,
    /// Stage history rows: the stages entered (`stage_conversion`).
    pub entered: bool,
    /// Stage history rows: the stages left (`days_in_stage_avg`).
    pub left: bool,
    pub leads: bool,
    pub activities: bool,
    /// Customers (at the start and end of a period, and churn).
    pub customers: bool,
    /// Surveys and spend assigned to people.
    pub facts: bool,
}

impl Walk {
    pub const ALL: Walk = Walk {
        closed: true,
        created: true,
        open: true,
        entered: true,
        left: true,
        leads: true,
        activities: true,
        customers: true,
        facts: true,
    };
    const NONE: Walk = Walk {
        closed: false,
        created: false,
        open: false,
        entered: false,
        left: false,
        leads: false,
        activities: false,
        customers: false,
        facts: false,
    };

    /// Whether these groups hold every one of `other`'s.
    pub fn covers(&self, other: &Walk) -> bool {
        let (a, b) = (self, other);
        (a.closed || !b.closed)
            && (a.created || !b.created)
            && (a.open || !b.open)
            && (a.entered || !b.entered)
            && (a.left || !b.left)
            && (a.leads || !b.leads)
            && (a.activities || !b.activities)
            && (a.customers || !b.customers)
            && (a.facts || !b.facts)
    }

    /// Whether a traced pass over these groups notes its first and last days' records
    /// apart, and so can keep them alone ([`Want::ends_only`]): not over open deals, which
    /// all fall on the as-of day (the pages' days hold every record: noting them spares
    /// nothing and costs a few milliseconds).
    pub fn notes_ends(&self) -> bool {
        !self.open
    }

    /// The groups the values of `kpis` read (see the formulas in [`crate::kpi::compute`]);
    /// everything for an id it does not know.
    pub fn of(kpis: &[&str]) -> Walk {
        let mut w = Walk::NONE;
        for k in kpis {
            match *k {
                "bookings"
                | "won_deals"
                | "lost_deals"
                | "win_rate"
                | "win_rate_value"
                | "avg_deal_size"
                | "sales_cycle_days"
                | "sales_cycle_days_median"
                | "revenue_growth_yoy"
                | "quota_attainment"
                | "reps_at_quota_share"
                | "new_customers"
                | "loss_reasons" => w.closed = true,
                "cac" | "cost_per_sale" => {
                    w.closed = true;
                    w.facts = true;
                }
                "ltv" => {
                    w.closed = true;
                    w.customers = true;
                }
                "ltv_cac_ratio" => {
                    w.closed = true;
                    w.customers = true;
                    w.facts = true;
                }
                "pipeline_coverage" => {
                    w.closed = true;
                    w.open = true;
                }
                "opps_created" | "pipeline_created" | "opp_conversion_rate" => w.created = true,
                "cost_per_opportunity" => {
                    w.created = true;
                    w.facts = true;
                }
                "pipeline_open"
                | "pipeline_weighted"
                | "stale_pipeline_share"
                | "data_completeness_share" => w.open = true,
                "stage_conversion" => w.entered = true,
                "days_in_stage_avg" => w.left = true,
                "leads_created"
                | "lead_conversion_rate"
                | "lead_response_minutes_median"
                | "lead_response_sla_share"
                | "followups_per_lead" => w.leads = true,
                "calls" | "activities" | "calls_per_rep_day" => w.activities = true,
                "sales_marketing_spend" | "csat_avg" => w.facts = true,
                "active_customers" | "logo_churn_rate" | "logo_retention_rate" => {
                    w.customers = true
                }
                "quota" | "active_reps" | "headcount" | "rep_attrition_rate"
                | "span_of_control" => {}
                // (it waits for forecasts, which salesorg does not hold yet: no records;
                // walking every group for it had made a CRO's page, whose role lists it,
                // walk the stage history, the leads and the activities it never shows)
                k if crate::kpi::NOT_YET.contains(&k) => {}
                _ => return Walk::ALL,
            }
        }
        w
    }
}

/// What a record contributed, for `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contribution {
    Won(u32),
    Lost(u32),
    Created(u32),
    /// A deal open on the as-of day and due to close in the period then: the pipeline.
    Open(u32),
    StageEntered(u32, u32),
    StageLeft(u32, u32),
    Lead(u32),
    Activity(u32),
    /// An account active at the period's end (`active_customers`).
    Customer(u32),
    /// An account in the period's start cohort: active the day before it starts
    /// (`logo_churn_rate`, `logo_retention_rate`).
    Cohort(u32),
    Survey(u32),
    Spend(u32),
    Person(u32),
    /// A quota entry (`Book::quotas`) that makes up the scope's quota: the one set on the
    /// team or unit, or the own-book quotas of the reps in scope on the first day.
    Quota(u32),
    /// A deal open on the as-of day but due to close outside the period then: not in the
    /// pipeline, counted by `data_completeness_share` alone.
    OpenOutside(u32),
}

impl Contribution {
    /// One bit per kind of contribution (a [`Want`] keeps the kinds of its mask).
    #[inline]
    pub fn kind_bit(&self) -> u16 {
        use Contribution as C;
        1 << match self {
            C::Won(_) => 0,
            C::Lost(_) => 1,
            C::Created(_) => 2,
            C::Open(_) => 3,
            C::StageEntered(..) => 4,
            C::StageLeft(..) => 5,
            C::Lead(_) => 6,
            C::Activity(_) => 7,
            C::Customer(_) => 8,
            C::Survey(_) => 9,
            C::Spend(_) => 10,
            C::Person(_) => 11,
            C::Cohort(_) => 12,
            C::Quota(_) => 13,
            C::OpenOutside(_) => 14,
        }
    }
    /// The record's key among a drill-down's counts by branch ([`Tallies::KEYS`]): its
    /// kind, an activity's kind, and whether it is last year's.
    #[inline]
    pub fn tally_key(&self, book: &Book, last_year: bool) -> u8 {
        let sub = match *self {
            Contribution::Activity(i) => book.activities.kind[i as usize] as u8,
            _ => 0,
        };
        Tallies::key(self.kind_bit().trailing_zeros() as u8, sub, last_year)
    }
    /// The record's amount as a drill-down lists it (`None`: it has none; a quota's is
    /// its share of the period, which the pass does not trace): a closed deal's at its
    /// close; a deal open on the as-of day `as_of`, its amount then (the stage history's
    /// on that day, as the pipeline sums it); a created deal's converted on its created
    /// day, as `pipeline_created` sums it (each its own where there is no rate); spend's.
    #[inline]
    pub fn shown_amount(&self, book: &Book, as_of: Day) -> Option<i64> {
        let o = &book.opps;
        match *self {
            Contribution::Open(j) | Contribution::OpenOutside(j) => {
                let j = j as usize;
                let amount = open_state(book, j, as_of).amount?;
                Some(book.convert_shown(amount, o.currency[j], as_of))
            }
            // (converted on the day it was created, as `pipeline_created` adds it up)
            Contribution::Created(j) => {
                let j = j as usize;
                Some(book.convert_shown(o.amount[j], o.currency[j], o.created[j]))
            }
            Contribution::Won(j) | Contribution::Lost(j) => Some(o.amount_at_close[j as usize]),
            Contribution::Spend(xi) => Some(book.spend[xi as usize].amount),
            _ => None,
        }
    }
}

/// One traced record: its cell (segment × slot, as the grid numbers them), the day it
/// counts on (a deal's close or created day, the as-of day of a deal open on it, the day
/// a stage was entered or left, a lead's or an activity's day, a customer's first win, a
/// survey's or a spend's day) and what it contributed.
pub type Traced = (u32, Day, Contribution);

/// A traced pass's records, numbered in owner order: each thread's part kept apart
/// rather than appended to the first (a company-wide drill-down into a quarter's 3.7M
/// activities copied half of its 74 MB trace so, on every first render).
#[derive(Debug, Default)]
pub struct Trace {
    parts: Vec<Vec<Traced>>,
}

impl Trace {
    /// Adds the records of the next part (an empty part's buffer goes back to the spares).
    pub fn push(&mut self, part: Vec<Traced>) {
        if part.is_empty() {
            super::spare::TRACES.give(part);
        } else {
            self.parts.push(part);
        }
    }
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
    /// The record at position `i`.
    #[inline]
    pub fn get(&self, mut i: usize) -> Option<&Traced> {
        for p in &self.parts {
            if i < p.len() {
                return Some(&p[i]);
            }
            i -= p.len();
        }
        None
    }
    pub fn iter(&self) -> impl Iterator<Item = &Traced> {
        self.parts.iter().flatten()
    }
    /// The records in the parts the pass made them in, in order (for walking them on
    /// several threads).
    pub fn parts(&self) -> &[Vec<Traced>] {
        &self.parts
    }
    /// Gives the parts' buffers back to the spares, for the next traced pass.
    pub fn give_back(self) {
        for p in self.parts {
            super::spare::TRACES.give(p);
        }
    }
}

/// The positions of the traced records on the earliest and on the latest day seen: a
/// drill-down's first and last pages come from these two days alone whenever each holds
/// a page of records (a quarter's activities or stage entries: tens of thousands a day),
/// and then the trace's millions of records need not be scanned for them. An
/// `Edges<Traced>` holds the records themselves (a pass that keeps only those: see
/// [`Want::ends_only`]).
#[derive(Debug, Clone)]
pub struct Edges<T = u32> {
    pub first: Day,
    pub at_first: Vec<T>,
    pub last: Day,
    pub at_last: Vec<T>,
}

impl<T> Default for Edges<T> {
    fn default() -> Self {
        Edges {
            first: Day::MAX,
            at_first: Vec::new(),
            last: Day::MIN,
            at_last: Vec::new(),
        }
    }
}

impl<T: Copy> Edges<T> {
    /// Notes the record `x` (its position, or itself), on day `d`.
    #[inline]
    pub fn add(&mut self, d: Day, x: T) {
        if d <= self.first {
            if d < self.first {
                self.first = d;
                self.at_first.clear();
            }
            self.at_first.push(x);
        }
        if d >= self.last {
            if d > self.last {
                self.last = d;
                self.at_last.clear();
            }
            self.at_last.push(x);
        }
    }
    /// Adds the edges of the records that follow (another part of the pass), each of them
    /// as `at` gives it.
    pub fn join_with(&mut self, other: Edges<T>, at: impl Fn(T) -> T) {
        if !other.at_first.is_empty() {
            if other.first < self.first {
                self.first = other.first;
                self.at_first.clear();
            }
            if other.first == self.first {
                self.at_first.extend(other.at_first.into_iter().map(&at));
            }
        }
        if !other.at_last.is_empty() {
            if other.last > self.last {
                self.last = other.last;
                self.at_last.clear();
            }
            if other.last == self.last {
                self.at_last.extend(other.at_last.into_iter().map(&at));
            }
        }
    }
}

impl Edges {
    /// Adds the edges of records numbered from `offset` on (the next part of a trace).
    pub fn join(&mut self, other: Edges, offset: u32) {
        self.join_with(other, |i| i + offset);
    }
}

impl Edges<Traced> {
    /// The records kept, as a trace (those of the first day, then those of the last, each
    /// once), and their positions in it.
    pub fn into_trace(self) -> (Trace, Edges) {
        let n = self.at_first.len() as u32;
        let same = self.first == self.last;
        let at_last = if same {
            (0..n).collect()
        } else {
            (n..n + self.at_last.len() as u32).collect()
        };
        let edges = Edges {
            first: self.first,
            at_first: (0..n).collect(),
            last: self.last,
            at_last,
        };
        let mut trace = Trace::default();
        trace.push(self.at_first);
        if !same {
            trace.push(self.at_last);
        }
        (trace, edges)
    }
}

/// How many records fall on each day, in a window of days that grows (by doubling) when a
/// day outside it comes, up to `limit` days from the first to the last. Each pass thread
/// counts its traced records' days (a drill-down's first page then needs no scan to find
/// the days its ends reach), and so does each run of a drill-down's own scans.
#[derive(Debug, Clone)]
pub struct DayCounts {
    lo: i64,
    count: Vec<usize>,
    limit: i64,
    /// A day fell farther than `limit` from the others: the counts are not kept.
    over: bool,
}

impl DayCounts {
    /// The widest window a pass counts in (about 180 years of days).
    pub const PASS_LIMIT: i64 = 1 << 16;

    pub fn new(limit: i64) -> DayCounts {
        DayCounts {
            lo: 0,
            count: Vec::new(),
            limit,
            over: false,
        }
    }
    /// Counts a record on day `d`; false (and no counts kept from then on) when the days
    /// would span more than `limit`.
    #[inline]
    pub fn add(&mut self, d: Day) -> bool {
        if self.over {
            return false;
        }
        let d = i64::from(d);
        if self.count.is_empty() {
            (self.lo, self.count) = (d, vec![0; 8]);
        }
        let mut at = d - self.lo;
        if at < 0 {
            let hi = self.lo + self.count.len() as i64;
            if hi - d > self.limit {
                self.over = true;
                return false;
            }
            // room for as many days again before the new one, within the limit
            // (the check above leaves room for at least `-at` more days)
            let grow = (-at).max((self.count.len() as i64).min(self.limit - (hi - self.lo)));
            self.count
                .splice(0..0, std::iter::repeat_n(0, grow as usize));
            self.lo -= grow;
            at = d - self.lo;
        } else if at >= self.count.len() as i64 {
            if at >= self.limit {
                self.over = true;
                return false;
            }
            let len = (at + 1).max(2 * self.count.len() as i64).min(self.limit);
            self.count.resize(len as usize, 0);
        }
        self.count[at as usize] += 1;
        true
    }
    /// The first day with a record and the count of each day from it to the last with one,
    /// over all of `parts`; `None` when there are none, a part went over its limit, or
    /// together they span more than `limit` days.
    pub fn sum(
        parts: impl IntoIterator<Item = DayCounts>,
        limit: i64,
    ) -> Option<(Day, Vec<usize>)> {
        let mut windows = Vec::new();
        for mut w in parts {
            if w.over {
                return None;
            }
            // without its empty days at either end
            let a = w.count.iter().position(|&c| c > 0).unwrap_or(w.count.len());
            let b = w.count.iter().rposition(|&c| c > 0).map_or(a, |b| b + 1);
            w.count.truncate(b);
            w.count.drain(..a);
            w.lo += a as i64;
            if !w.count.is_empty() {
                windows.push(w);
            }
        }
        let lo = windows.iter().map(|w| w.lo).min()?;
        let hi = windows.iter().map(|w| w.lo + w.count.len() as i64).max()?;
        if hi - lo > limit {
            return None;
        }
        let mut total = vec![0usize; (hi - lo) as usize];
        for w in windows {
            for (t, c) in total[(w.lo - lo) as usize..].iter_mut().zip(w.count) {
                *t += c;
            }
        }
        Some((lo as Day, total))
    }
}

/// Values added by cell, a run of one cell's values at a time (a run of deals or leads of
/// one slot and one segment): the values in the order added, and each run's cell and
/// length. Placing them by cell after the pass copies a run at a time (as (cell, value)
/// pairs, 10M values at 10M deals were placed one by one).
#[derive(Debug, Default)]
pub struct Runs {
    pub vals: Vec<u32>,
    /// (cell as the whole grid numbers it, how many values).
    pub runs: Vec<(u32, u32)>,
}

impl Runs {
    /// Ends the run of cell `k`: the values added since there were `from` of them.
    #[inline]
    pub fn close(&mut self, k: u32, from: usize) {
        let n = self.vals.len() - from;
        if n > 0 {
            self.runs.push((k, n as u32));
        }
    }
    /// How many values.
    pub fn len(&self) -> usize {
        self.vals.len()
    }
    pub fn is_empty(&self) -> bool {
        self.vals.is_empty()
    }
    /// Empty, keeping the memory.
    pub fn clear(&mut self) {
        self.vals.clear();
        self.runs.clear();
    }
    /// Each run: its cell and its values, in the order added.
    pub fn each(&self) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        self.runs.iter().scan(0usize, move |at, &(k, n)| {
            let from = *at;
            *at += n as usize;
            Some((k, &self.vals[from..*at]))
        })
    }
}

/// A thread's share of the grid: the cells of segments `seg0..`.
pub struct Part<'a> {
    pub seg0: u32,
    pub ng: usize,
    /// The periods' own slots, `0..nt` (stage and loss tables exist only for them, slot
    /// `g`'s at row `g`: the comparison slots, numbered after them, are read for their
    /// cells alone).
    pub nt: usize,
    pub ns: usize,
    pub nr: usize,
    pub cells: &'a mut [Cell],
    pub stages: &'a mut [StageCell],
    pub losses: &'a mut [LossCell],
    /// The sales cycle days of won deals, by cell.
    pub cycles: Runs,
    /// The response seconds of answered leads, by cell.
    pub responses: Runs,
    pub trace: Option<Vec<Traced>>,
    /// With `trace`: how many of its records fall on each day.
    pub trace_days: Option<DayCounts>,
    /// With `trace`: its records on the first and on the last day.
    pub trace_edges: Option<Edges>,
    /// With `trace` and [`Want::ends_only`]: the records of the first and the last day,
    /// kept instead of the trace.
    pub trace_ends: Option<Edges<Traced>>,
    /// With `trace` and [`Want::tally`]: the records kept, counted by row and key.
    pub tallies: Option<Tallies>,
    /// With `trace` and [`Want::rows`]: each cell's row (its segment's), by the whole
    /// grid's numbering.
    pub key_rows: Option<&'a [u32]>,
    /// With `trace`: which contributions to keep (all when `None`).
    pub want: Option<&'a Want<'a>>,
    pub walk: Walk,
    /// The deal blocks' spans ([`deal_spans`]): blocks that cannot meet a layer's days are
    /// passed over. `None`: every deal is read (a pass over most of the history gains
    /// nothing from them).
    pub spans: Option<&'a [(Day, Day)]>,
    /// With `spans`: the indexes that find an owner's rows of a layer's days.
    pub index: Option<&'a DayIndexes>,
}

/// Which contributions a trace keeps: those of the slots it names that `keep` lets
/// through (an `explain` wants only those feeding its KPI in the periods it shows). The
/// cells of the other slots are made as an untraced pass makes them.
pub struct Want<'a> {
    /// One flag per slot; slots past the end are not kept.
    pub slots: Vec<bool>,
    /// The kinds kept ([`Contribution::kind_bit`]): the others are turned away before
    /// `keep` is asked (a stage-conversion drill-down passes millions of stage exits).
    pub kinds: u16,
    /// Decides among the kinds kept (`None`: all of them are). It decides customers by
    /// their kind alone: where it turns `Customer(0)` and `Cohort(0)` away, no customer
    /// is listed.
    pub keep: Option<&'a (dyn Fn(&Contribution) -> bool + Sync + 'a)>,
    /// Keep only the records of the first and of the last day seen, and count every
    /// record by its day: a company-wide drill-down's first pages need no more where each
    /// of those days holds a page, and the millions of records between are then never
    /// written (at 10M deals, writing them was a third of such a first render).
    pub ends_only: bool,
    /// Each segment's row of the [`Tallies`] (`u32::MAX`: outside the scope or the lens):
    /// a record of such a segment is neither kept nor counted, so that a team's trace,
    /// its counts by day and its first and last days hold the team's records alone.
    /// `None`: every record the pass traces is wanted.
    pub rows: Option<&'a [u32]>,
    /// With `rows`: every kept record is counted by its segment's row and its key
    /// ([`Contribution::tally_key`]), with its amount ([`Contribution::shown_amount`]), so
    /// that a team's first pages, which keep only the records of their ends, still count
    /// every record by branch.
    pub tally: Option<TallyBy<'a>>,
}

/// How a pass counts its kept records by branch ([`Want::tally`]).
#[derive(Clone, Copy)]
pub struct TallyBy<'a> {
    pub book: &'a Book,
    /// The day open and created deals' amounts are converted on.
    pub as_of: Day,
    /// The slot whose records are last year's (a growth rate's drill-down).
    pub last_year: Option<usize>,
}

/// Records counted by row (a branch of a team) and key (a kind of record), with the sum
/// of their amounts, by the pass itself ([`Want::tally`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Tallies {
    /// Per row, per key: how many.
    pub n: Vec<u64>,
    /// Per row, per key: the sum of their amounts (`None`: none had one).
    pub amount: Vec<Option<i128>>,
    /// Per key: the first record met with it, which names its kind.
    pub sample: Vec<Option<Contribution>>,
}

impl Tallies {
    /// How many keys a row has.
    pub const KEYS: usize = 256;

    /// The key of a record of kind `rank` (the place of its [`Contribution::kind_bit`]),
    /// activity kind `sub`, last year's or not: 16 ranks × 8 activity kinds × 2.
    #[inline]
    pub fn key(rank: u8, sub: u8, last_year: bool) -> u8 {
        ((rank & 15) << 4) | ((sub & 7) << 1) | u8::from(last_year)
    }
    /// The kind's rank of a [`Tallies::key`].
    #[inline]
    pub fn rank_of(key: u8) -> u8 {
        key >> 4
    }
    /// Whether a [`Tallies::key`] is last year's.
    #[inline]
    pub fn last_year_of(key: u8) -> bool {
        key & 1 == 1
    }

    pub fn new(rows: usize) -> Tallies {
        Tallies {
            n: vec![0; rows * Tallies::KEYS],
            amount: vec![None; rows * Tallies::KEYS],
            sample: vec![None; Tallies::KEYS],
        }
    }
    /// How many rows.
    pub fn rows(&self) -> usize {
        self.n.len() / Tallies::KEYS
    }
    #[inline]
    fn add(&mut self, row: u32, key: u8, amount: Option<i128>, c: Contribution) {
        let at = row as usize * Tallies::KEYS + usize::from(key);
        if self.n[at] == 0 {
            self.sample[usize::from(key)].get_or_insert(c);
        }
        self.n[at] += 1;
        if let Some(a) = amount {
            self.amount[at] = Some(self.amount[at].unwrap_or(0) + a);
        }
    }
    /// This and `more` (over as many rows) together; the samples of `self` first.
    pub fn merge(&mut self, more: &Tallies) {
        for (a, b) in self.n.iter_mut().zip(&more.n) {
            *a += b;
        }
        for (a, b) in self.amount.iter_mut().zip(&more.amount) {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0) + b);
            }
        }
        for (a, b) in self.sample.iter_mut().zip(&more.sample) {
            if a.is_none() {
                *a = *b;
            }
        }
    }
}

impl Want<'_> {
    #[inline]
    pub fn slot(&self, g: usize) -> bool {
        self.slots.get(g).copied().unwrap_or(false)
    }
}

impl Part<'_> {
    #[inline]
    fn key(&self, seg: u32, g: usize) -> usize {
        (seg - self.seg0) as usize * self.ng + g
    }
    /// Cell `k` of this part (see [`Part::key`]) as the whole grid numbers it: what the
    /// trace, the sales cycles and the response times record.
    #[inline]
    fn grid_key(&self, k: usize) -> u32 {
        (k + self.seg0 as usize * self.ng) as u32
    }
    /// The stage/loss row of segment `seg` in slot `g`, if `g` has tables.
    #[inline]
    fn skey(&self, seg: u32, g: usize) -> Option<usize> {
        (g < self.nt).then(|| (seg - self.seg0) as usize * self.nt + g)
    }
    /// The stage-table cell of segment `seg` in slot `g` for the stage of `order`, if `g`
    /// has tables.
    #[inline]
    fn stage_mut(&mut self, seg: u32, g: usize, order: usize) -> Option<&mut StageCell> {
        let sk = self.skey(seg, g)?;
        Some(&mut self.stages[sk * self.ns + order])
    }
    /// The stage table of row `sk` (see [`Part::skey`]): a cell per stage, by its number.
    #[inline]
    fn table(&mut self, sk: usize) -> &mut [StageCell] {
        &mut self.stages[sk * self.ns..(sk + 1) * self.ns]
    }
    /// [`Part::note`] for a record of segment `seg`: its cell is worked out only when the
    /// pass is traced.
    #[inline(always)]
    fn note_at(&mut self, seg: u32, g: usize, d: Day, c: Contribution) {
        if self.trace.is_some() {
            self.traced(self.key(seg, g), g, d, c, None);
        }
    }
    /// Traces contribution `c` to cell `k` (of slot `g`), counted on day `d`: called for
    /// every record a pass adds, so only the test for a trace is inline (with the tracing
    /// inline too, an untraced scorecard's loops grew and ran 8-15 % slower).
    #[inline(always)]
    fn note(&mut self, k: usize, g: usize, d: Day, c: Contribution) {
        if self.trace.is_some() {
            self.traced(k, g, d, c, None);
        }
    }
    /// [`Part::note`] of a record whose listed amount the pass has at hand (`amount`,
    /// asked only when the pass is traced: a deal open on the as-of day, at its amount
    /// that day), so a drill-down's counts by branch need not work it out again from the
    /// deal's history (a search in it per deal: a fifth of a company-wide completeness
    /// drill-down at 10M).
    #[inline(always)]
    fn note_amount(
        &mut self,
        k: usize,
        g: usize,
        d: Day,
        c: Contribution,
        amount: impl FnOnce() -> Option<i64>,
    ) {
        if self.trace.is_some() {
            self.traced(k, g, d, c, Some(amount()));
        }
    }
    #[inline(never)]
    fn traced(&mut self, k: usize, g: usize, d: Day, c: Contribution, amount: Option<Option<i64>>) {
        let key = self.grid_key(k);
        if let Some(t) = self.trace.as_mut()
            && self.want.is_none_or(|w| {
                w.kinds & c.kind_bit() != 0 && w.slot(g) && w.keep.is_none_or(|f| f(&c))
            })
        {
            if let Some(rows) = self.key_rows {
                // (a segment outside the scope or the lens: not the drill-down's)
                let row = rows[key as usize];
                if row == u32::MAX {
                    return;
                }
                if let (Some(t), Some(ts)) =
                    (self.want.and_then(|w| w.tally), self.tallies.as_mut())
                {
                    let key = c.tally_key(t.book, t.last_year == Some(g));
                    let amount = amount
                        .unwrap_or_else(|| c.shown_amount(t.book, t.as_of))
                        .map(i128::from);
                    ts.add(row, key, amount, c);
                }
            }
            let rec = (key, d, c);
            if let Some(dc) = self.trace_days.as_mut() {
                dc.add(d);
            }
            if let Some(ends) = self.trace_ends.as_mut() {
                ends.add(d, rec);
                return;
            }
            t.push(rec);
            if let Some(e) = self.trace_edges.as_mut() {
                e.add(d, (t.len() - 1) as u32);
            }
        }
    }
}

/// A deal's state on a day it was open, as the pass reads it: for a drill-down's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenState {
    /// The stage it was in (a position in `Book::stages`).
    pub stage: u8,
    /// The day it was due to close.
    pub close: Day,
    /// Its amount then, in its own currency (`None`: none given).
    pub amount: Option<i64>,
    /// Its probability then, in basis points.
    pub probability_bp: u16,
    /// The last day it was touched by then (created, modified or moved in its history).
    pub touched: Day,
    /// Its forecast category then ([`super::book::Opps::fcat`]'s code: 0 none).
    pub forecast: u8,
}

/// Opportunity `i`'s state on day `a` while it was open, as the pass reads it
/// (`state_at`), its history's overrides found by search (the pass walks them with a
/// cursor instead; so does [`open_states`]).
pub fn open_state(book: &Book, i: usize, a: Day) -> OpenState {
    let h = &book.history;
    let r0 = book.opps.hist_off[i];
    let lo = (
        h.amounts.rows.partition_point(|&x| x < r0),
        h.closes.rows.partition_point(|&x| x < r0),
        h.probs.rows.partition_point(|&x| x < r0),
    );
    let fc = h.fcats.rows.partition_point(|&x| x < r0);
    open_state_from(book, i, a, lo, fc).0
}

/// Each of `deals` (an owner's, in order) open on day `a` as its record stands
/// ([`super::Engine::open_on`]'s test, `open`), with its state then: the history's
/// overrides walked with a cursor from `from` (the owner's first, [`Lookups::overrides`]),
/// not searched for each deal (a company's chart of open pipeline on a past day reads
/// half a million of them).
pub fn open_states<'a>(
    book: &'a Book,
    deals: impl Iterator<Item = usize> + 'a,
    a: Day,
    from: Cursor,
    open: impl Fn(usize) -> bool + 'a,
) -> impl Iterator<Item = (usize, OpenState)> + 'a {
    // (and the place in the forecast categories that differ, from the list's start: the
    // first deal's search gallops to it)
    let (mut ov, mut fc) = (from, 0);
    deals.filter(move |&i| open(i)).map(move |i| {
        let (o, h) = (&book.opps, &book.history);
        ov = h.overrides_of(ov, o, i, o.hist_off[i]);
        fc = super::book::gallop(&h.fcats.rows, fc, o.hist_off[i]);
        let (state, next) = open_state_from(book, i, a, ov, fc);
        ov = next;
        (i, state)
    })
}

/// [`open_state`] with deal `i`'s first history override at `lo` (or past it) and its first
/// differing forecast category at `fc` (or past it), and where its overrides end.
fn open_state_from(book: &Book, i: usize, a: Day, lo: Cursor, fc: usize) -> (OpenState, Cursor) {
    let o = &book.opps;
    let hi = book.history.overrides_of(lo, o, i, o.hist_off[i + 1]);
    let (stage, close, amount, probability_bp, touched, row) = state_at(book, i, a, lo);
    // (from the history row in force on day `a`; before the first, the deal as it is)
    let forecast = match row {
        None => o.fcat[i],
        Some(r) => book.history.fcat(&book.stages, o, (i, r), stage, fc),
    };
    let state = OpenState {
        stage,
        close,
        amount,
        probability_bp,
        touched,
        forecast,
    };
    (state, hi)
}

/// The opportunity's state on day `a` while it was open: (stage, close day, amount in its
/// own currency or None, probability bp, last touched day, the history row in force then
/// or None before its first). `ovs` are the places of opportunity `i`'s first rows among
/// the history's differing amounts and close days (or past them). Always inline: it is
/// called for every deal open on an as-of day, and the pass reads only part of what it
/// works out.
#[inline(always)]
fn state_at(
    book: &Book,
    i: usize,
    a: Day,
    ovs: Cursor,
) -> (u8, Day, Option<i64>, u16, Day, Option<usize>) {
    let o = &book.opps;
    let h = &book.history;
    let (r0, r1) = (o.hist_off[i] as usize, o.hist_off[i + 1] as usize);
    let rows = &h.day[r0..r1];
    let k = rows.partition_point(|&d| d <= a);
    let cur_amount = (o.flags[i] & F_AMOUNT != 0).then_some(o.amount[i]);
    let modified = if o.modified[i] != NO_DAY && o.modified[i] <= a {
        o.modified[i]
    } else {
        NO_DAY
    };
    let mut touched = o.created[i].max(modified);
    if k == 0 {
        return (o.stage[i], o.close[i], cur_amount, o.prob[i], touched, None);
    }
    let r = r0 + k - 1;
    touched = touched.max(h.day[r]);
    let stage = h.stage[r];
    let mut amount = cur_amount;
    let mut close = o.close[i];
    let prob = h.prob(&book.stages, o, (i, r), stage, ovs.2);
    // (row `r` is the deal's: its entries, if any, lie between the deal's first and the
    // end of its rows, so no end is needed)
    // (only in the lists that hold one of the deal's rows: `ovs` is placed in those alone,
    // see [`History::overrides_of`])
    if o.flags[i] & F_AMOUNTS != 0
        && let Some(x) = h.amounts.find_from(ovs.0, r as u32)
    {
        amount = Some(x);
    }
    if o.flags[i] & F_CLOSES != 0
        && let Some(x) = h.closes.find_from(ovs.1, r as u32)
    {
        close = x;
    }
    (stage, close, amount, prob, touched, Some(r))
}

/// Each stage's rank for "advanced past": a lost stage 0, an open stage its number + 1 (at
/// most 256, see [`Book::stages`]), a won stage `u16::MAX`. A row in an open stage advanced
/// once a later row has a higher rank.
pub fn stage_ranks(book: &Book) -> Vec<u16> {
    book.stages
        .iter()
        .enumerate()
        .map(|(s, info)| match info.closes {
            Some(OppStatus::Won) => u16::MAX,
            Some(_) => 0,
            None => s as u16 + 1,
        })
        .collect()
}

/// How many of the book's stages are open: those numbered below it (see [`Book::stages`];
/// up to all 256, one more than a stage number holds).
pub fn open_stages(book: &Book) -> u16 {
    book.stages
        .iter()
        .take_while(|s| s.closes.is_none())
        .count() as u16
}

/// Adds stage-history row `r` of a deal (its rows `r0..r1`, won on `won_on`) into its stage
/// table `table` (see [`Part::table`]) for a period of as-of day `a`: the row's entry into
/// its stage, if it entered one (with `entered`: advanced by `a`, won or a later stage
/// reached) and its exit from the stage before (with `left`: the whole days spent there
/// since the row that entered it). Both are added without a branch on the stages:
/// whether a row's stage is open, or it left one, is a coin toss for the predictor, and
/// those two tests were a quarter of a bulk export's mispredicted branches in callgrind's
/// simulation at 2M deals; a row that adds nothing adds zeros.
/// `first`: the row is the deal's first entry into its stage in the period
/// ([`first_entry`]); only such an entry counts.
/// `R`: the history may hold rows that keep their deal in its stage, or bring it back into
/// one ([`super::book::Opps::irregular`]); without, every row is a first entry and every stay starts
/// on the row before the exit, and the walk does not look (3 % of the pass's instructions
/// at 1M).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn add_history_row<const R: bool>(
    h: &History,
    look: &Lookups,
    table: &mut [StageCell],
    (r, r0, r1): (usize, usize, usize),
    won_on: Day,
    a: Day,
    entered: bool,
    left: bool,
    first: bool,
) {
    let stage = h.stage[r];
    if entered {
        // (one comparison with the book's advance column; never for a closed stage's row)
        let advanced = h.advanced_by(r, r1, won_on, a, |s| look.ranks[s as usize]);
        let sc = &mut table[stage as usize];
        sc.entered += u32::from(look.is_open(stage) & first);
        sc.advanced += u32::from(advanced & first);
    }
    if left && r > r0 {
        let prev = h.stage[r - 1];
        let l = look.leaves(prev, stage);
        let sc = &mut table[prev as usize];
        sc.left += u32::from(l);
        // (the stay from the row that entered the stage, not from a later row of it)
        let from = h.day[if R { h.stay_start(r - 1) } else { r - 1 }];
        sc.days_sum += i64::from(l) * (i64::from(h.day[r]) - i64::from(from));
    }
}

/// Whether row `r` is its deal's first entry into its stage in the period whose earlier
/// rows `seen` has noted (and notes it): not a row that stays in the stage of the row
/// before, nor one that brings the deal back into a stage it entered earlier in the
/// period. Always, for a history without either (`!R`); `seen` is looked at only for a
/// deal that comes back into a stage (`returns`, its [`F_RETURNS`]): at 1M deals of the
/// demo, noting every entry had been a sixth of what its irregular walk adds.
#[inline(always)]
fn first_entry<const R: bool>(h: &History, r: usize, seen: &mut StagesSeen, returns: bool) -> bool {
    !R || (h.is_entry(r) && (!returns || seen.first(h.stage[r])))
}

/// [`add_history_row`] for each of a deal's rows `rows` that fall in several slots or
/// segments, untraced. The rows are in time order, so they come in runs of one slot and one
/// segment, each ending on the earlier of the slot's end and the next segment's start: a
/// row's day is compared with its run's end, and the slot, the segment and the stage table
/// are looked up again only where a run ends (they had been looked up for every row, a
/// tenth of a stage walk's instructions).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn history_runs<const R: bool>(
    book: &Book,
    look: &Lookups,
    layer: &Layer,
    slots: &[Slot],
    own: OwnerSegments,
    part: &mut Part,
    rows: std::ops::Range<usize>,
    won_on: Day,
    entered: bool,
    left: bool,
    returns: bool,
) {
    let h = &book.history;
    let mut until = Day::MIN;
    let mut run: Option<(&mut [StageCell], Day)> = None;
    // the period of the rows so far, and the stages entered in it (in every segment: an
    // entry counts where the deal first entered the stage in the period)
    let (mut in_slot, mut seen_in) = (false, usize::MAX);
    let mut seen = StagesSeen::default();
    for r in rows.clone() {
        let d = h.day[r];
        if d >= until {
            run = None;
            in_slot = false;
            if let Some(g) = layer.own.slot(d) {
                let seg;
                (seg, until) = run_at(d, g, slots, own);
                if let Some(sk) = part.skey(seg, g) {
                    run = Some((part.table(sk), slots[g].asof));
                }
                if R && g != seen_in {
                    (seen, seen_in) = (StagesSeen::default(), g);
                }
                in_slot = R;
            } else {
                // (a day without a slot: the next row looks again)
                until = d.saturating_add(1);
            }
        }
        // (a row in no period notes nothing; without `R` nothing is noted)
        let first = if R {
            if !in_slot {
                continue;
            }
            first_entry::<R>(h, r, &mut seen, returns)
        } else {
            true
        };
        if let Some((t, a)) = run.as_mut() {
            let a = *a;
            add_history_row::<R>(
                h,
                look,
                t,
                (r, rows.start, rows.end),
                won_on,
                a,
                entered,
                left,
                first,
            );
        }
    }
}

/// The stage walks of the deals in `deals` (an owner's runs of them), untraced. With the
/// book's [`StageWalk`] (`flat`, for a layer whose periods cover much of the history,
/// see [`Layer::flat`]): the rows of a run's deals one after another in a single loop
/// ([`history_flat`]) but for the deals it lists as slow, walked one at a time, then the
/// exits of the deals it lists as closed in an open stage. Without: deal by deal, those
/// whose rows all fall outside the layer's days passed over. In a function of its own
/// (inlined into the pass, the walk's loop read more of its values back from the stack
/// for every row: a stage walk at 1M deals 28.8 → 27.6 ms).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn history_deals<const E: bool, const L: bool>(
    book: &Book,
    look: &Lookups,
    layer: &Layer,
    slots: &[Slot],
    own: OwnerSegments,
    part: &mut Part,
    deals: impl Iterator<Item = std::ops::Range<usize>>,
    flat: Option<&StageWalk>,
) {
    let o = &book.opps;
    for run in deals {
        let Some(sw) = flat else {
            for i in run {
                deal_walk::<E, L>(book, look, layer, slots, own, part, i);
                if L && closed_in_open_stage(book, look, i) {
                    tail_exit(book, layer, own, part, i);
                }
            }
            continue;
        };
        let rows = o.hist_off[run.start] as usize..o.hist_off[run.end] as usize;
        if !rows.is_empty() {
            history_flat::<E, L>(&book.history, sw, layer, slots, own, part, rows);
        }
        for i in StageWalk::listed(&sw.slow, run.clone()) {
            deal_walk::<E, L>(book, look, layer, slots, own, part, i);
        }
        if L {
            for i in StageWalk::listed(&sw.tails, run) {
                tail_exit(book, layer, own, part, i);
            }
        }
    }
}

/// The stage walk of deal `i` alone, untraced: by [`history_runs`] for one that comes
/// back into a stage it left (only its first entry in a period counts), by
/// [`history_walk`] for another; nothing for one whose rows all fall outside the
/// layer's days (most deals, for one period).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn deal_walk<const E: bool, const L: bool>(
    book: &Book,
    look: &Lookups,
    layer: &Layer,
    slots: &[Slot],
    own: OwnerSegments,
    part: &mut Part,
    i: usize,
) {
    let (o, h) = (&book.opps, &book.history);
    let (r0, r1) = (o.hist_off[i] as usize, o.hist_off[i + 1] as usize);
    if r1 > r0 && layer.meets(h.day[r0], h.day[r1 - 1]) {
        let (won_on, rows) = (o.won_on(i), r0..r1);
        if o.flags[i] & F_RETURNS != 0 {
            history_runs::<true>(
                book, look, layer, slots, own, part, rows, won_on, E, L, true,
            );
        } else {
            history_walk::<E, L>(book, look, layer, slots, own, part, rows, won_on);
        }
    }
}

/// Whether deal `i` closed (on a known day) with its history stopped in an open stage:
/// it left that stage on its close day ([`tail_exit`]).
#[inline(always)]
fn closed_in_open_stage(book: &Book, look: &Lookups, i: usize) -> bool {
    let (o, h) = (&book.opps, &book.history);
    let r1 = o.hist_off[i + 1] as usize;
    o.status[i] != OppStatus::Open
        && o.close[i] != NO_DAY
        && r1 > o.hist_off[i] as usize
        && look.is_open(h.stage[r1 - 1])
}

/// The exit of deal `i`, one that [`closed_in_open_stage`], from the stage its history
/// stops in, on its close day, after a stay from the row that entered it.
#[inline(always)]
fn tail_exit(book: &Book, layer: &Layer, own: OwnerSegments, part: &mut Part, i: usize) {
    let (o, h) = (&book.opps, &book.history);
    let (last, close) = (o.hist_off[i + 1] as usize - 1, o.close[i]);
    if let Some(g) = layer.own.slot(close)
        && let Some(sc) = part.stage_mut(own.at(close), g, h.stage[last] as usize)
    {
        sc.left += 1;
        sc.days_sum += i64::from((close - h.day[h.stay_start(last)]).max(0));
    }
}

/// [`StageWalk::flags`]: the row enters a stage (its stay there starts on its day); not
/// a row that keeps its deal in the stage of the row before.
pub const W_ENTRY: u8 = 1;
/// [`StageWalk::flags`]: the row enters an open stage (an entry `stage_conversion`
/// counts, spec §6).
pub const W_OPEN: u8 = 2;
/// [`StageWalk::flags`]: the row leaves the open stage of its deal's row before (an exit
/// `days_in_stage_avg` counts, spec §6).
pub const W_LEAVES: u8 = 4;

/// What the untraced stage walk needs of the book's stage history beyond each row's day,
/// stage and advance, worked out once for the book: with it, an owner's rows are walked
/// in one loop whatever deal they belong to, without looking at the deals (their row
/// bounds, flags and status had been read for every deal, and the walk's state set up
/// for each: about five rows).
#[derive(Debug, Default)]
pub struct StageWalk {
    /// Each history row's [`W_ENTRY`], [`W_OPEN`] and [`W_LEAVES`]; none for the rows of
    /// the deals in `slow`.
    pub flags: Vec<u8>,
    /// The deals walked one at a time, in order: those that come back into a stage they
    /// left ([`F_RETURNS`]: only their first entry in a period counts) and those with a
    /// row whose advance the column cannot hold ([`ADV_FAR`]).
    pub slow: Vec<u32>,
    /// The closed deals whose history stops in an open stage, in order: they left it on
    /// their close day.
    pub tails: Vec<u32>,
}

impl StageWalk {
    /// The book's: its deals cut in two halves, one on each of two threads, each writing
    /// its rows' flags in place.
    pub fn of(book: &Book, look: &Lookups) -> StageWalk {
        let o = &book.opps;
        let (n, mid) = (o.len(), o.len() / 2);
        let mut flags = vec![0u8; book.history.day.len()];
        let (lo, hi) = flags.split_at_mut(o.hist_off[mid] as usize);
        let ((slow, tails), (slow_hi, tails_hi)) = std::thread::scope(|sc| {
            let h = sc.spawn(|| Self::of_deals(book, look, mid..n, hi));
            let a = Self::of_deals(book, look, 0..mid, lo);
            (a, h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        StageWalk {
            flags,
            slow: [slow, slow_hi].concat(),
            tails: [tails, tails_hi].concat(),
        }
    }

    /// The flags of the rows of `deals` into `flags` (theirs), and those of the deals
    /// that are slow, and that end in an open stage.
    fn of_deals(
        book: &Book,
        look: &Lookups,
        deals: std::ops::Range<usize>,
        flags: &mut [u8],
    ) -> (Vec<u32>, Vec<u32>) {
        let (o, h) = (&book.opps, &book.history);
        let r0 = o.hist_off[deals.start] as usize;
        let (mut slow, mut tails) = (Vec::new(), Vec::new());
        for i in deals {
            let rows = o.hist_off[i] as usize..o.hist_off[i + 1] as usize;
            if closed_in_open_stage(book, look, i) {
                tails.push(i as u32);
            }
            if o.flags[i] & F_RETURNS != 0 || h.advance[rows.clone()].contains(&ADV_FAR) {
                slow.push(i as u32);
                continue;
            }
            for r in rows.clone() {
                let s = h.stage[r];
                let entry = h.advance[r] != ADV_REPEAT;
                let leaves = r > rows.start && look.leaves(h.stage[r - 1], s);
                let mut f = 0;
                if entry {
                    f |= W_ENTRY;
                }
                if entry && look.is_open(s) {
                    f |= W_OPEN;
                }
                if leaves {
                    f |= W_LEAVES;
                }
                flags[r - r0] = f;
            }
        }
        (slow, tails)
    }

    /// The deals of `list` (sorted) in `deals`.
    fn listed(list: &[u32], deals: std::ops::Range<usize>) -> impl Iterator<Item = usize> + '_ {
        let from = list.partition_point(|&i| (i as usize) < deals.start);
        list[from..]
            .iter()
            .map(|&i| i as usize)
            .take_while(move |&i| i < deals.end)
    }

    /// The bytes it takes in memory.
    pub fn bytes(&self) -> usize {
        self.flags.capacity() + (self.slow.capacity() + self.tails.capacity()) * 4
    }
}

/// The stage walk of an owner's history rows `rows` (those of a run of their deals, one
/// deal's after another's), untraced, with the rows of [`StageWalk::slow`]'s deals
/// passed over: each row adds its entry ([`W_OPEN`], and with it whether its deal
/// advanced by the slot's as-of day) into its stage's cell and its exit ([`W_LEAVES`])
/// into the cell of the stage of the row before, counted from the day of the row that
/// started the stay ([`W_ENTRY`]), all without a branch. The slot, the segment and the
/// stage table hold over a run of days; they are looked up again where a row's day falls
/// outside it (where a run of days ends, and where a deal's rows start again before).
/// `E`, `L`: the walk notes entries, exits.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn history_flat<const E: bool, const L: bool>(
    h: &History,
    sw: &StageWalk,
    layer: &Layer,
    slots: &[Slot],
    own: OwnerSegments,
    part: &mut Part,
    rows: std::ops::Range<usize>,
) {
    let (days, stages, adv, flags) = (
        &h.day[rows.clone()],
        &h.stage[rows.clone()],
        &h.advance[rows.clone()],
        &sw.flags[rows],
    );
    // the run of days `from..until` of the slot and segment looked up last (none yet)
    let (mut from, mut until) = (Day::MAX, Day::MIN);
    let mut run: Option<(&mut [StageCell], Day)> = None;
    let (mut prev, mut stay_from) = (stages[0], days[0]);
    for (((&d, &s), &x), &f) in days.iter().zip(stages).zip(adv).zip(flags) {
        if d < from || d >= until {
            run = None;
            if let Some(g) = layer.own.slot(d) {
                let seg;
                (seg, from, until) = run_span(d, g, slots, own);
                if let Some(sk) = part.skey(seg, g) {
                    run = Some((part.table(sk), slots[g].asof));
                }
            } else {
                // (no slot up to the next day that has one)
                (from, until) = (d, layer.own.next_slot_day(d));
            }
        }
        if let Some((t, a)) = run.as_mut() {
            let a = *a;
            if E {
                let e = u32::from((f & W_OPEN) != 0);
                // (a slow deal's rows, whose advance may not fit, enter nothing here)
                let advanced = (x < ADV_REPEAT) & (i64::from(d) + i64::from(x) <= i64::from(a));
                let sc = &mut t[s as usize];
                sc.entered += e;
                sc.advanced += e & u32::from(advanced);
            }
            if L {
                let l = (f & W_LEAVES) != 0;
                let sc = &mut t[prev as usize];
                sc.left += u32::from(l);
                sc.days_sum += i64::from(l) * (i64::from(d) - i64::from(stay_from));
            }
        }
        if f & W_ENTRY != 0 {
            stay_from = d;
        }
        prev = s;
    }
}

/// The stage walk of a deal's rows `rows` (in time order), untraced, for a deal that
/// never comes back into a stage it left (no [`F_RETURNS`]): every row that enters its
/// stage is that stage's first entry, so nothing of the period's earlier rows is noted.
/// One loop for a deal whose rows fall in one slot and segment or in several: the slot,
/// the segment and the stage table are looked up again only where a run of days ends (see
/// [`history_runs`]). The stay a row ends is counted from the day of the row that
/// entered it, kept as the loop goes (not walked back to for each exit). `E`, `L`: the
/// walk notes entries, exits.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn history_walk<const E: bool, const L: bool>(
    book: &Book,
    look: &Lookups,
    layer: &Layer,
    slots: &[Slot],
    own: OwnerSegments,
    part: &mut Part,
    rows: std::ops::Range<usize>,
    won_on: Day,
) {
    let h = &book.history;
    let (r0, r1) = (rows.start, rows.end);
    let (days, stages, adv) = (
        &h.day[rows.clone()],
        &h.stage[rows.clone()],
        &h.advance[rows],
    );
    let mut until = Day::MIN;
    let mut run: Option<(&mut [StageCell], Day)> = None;
    // (the first row leaves no stage: taken as the stage it is in, the row "before" it is
    // one it does not leave, without a test of the row's place for each row)
    let (mut prev, mut stay_from) = (stages[0], days[0]);
    for (j, ((&d, &s), &x)) in days.iter().zip(stages).zip(adv).enumerate() {
        // (the run's lookup written out, as in `history_runs`: through a helper of theirs
        // that handed back the run's end and table, the walk took a sixth longer)
        if d >= until {
            run = None;
            if let Some(g) = layer.own.slot(d) {
                let seg;
                (seg, until) = run_at(d, g, slots, own);
                if let Some(sk) = part.skey(seg, g) {
                    run = Some((part.table(sk), slots[g].asof));
                }
            } else {
                // (a day without a slot: the next row looks again)
                until = d.saturating_add(1);
            }
        }
        // (a row in the stage of the row before stays in it: no entry)
        let entry = x != ADV_REPEAT;
        if let Some((t, a)) = run.as_mut() {
            let a = *a;
            if E {
                // ([`History::advanced_by`] with the row's advance already read: called
                // for every row, it read the column again, and the walk took a tenth
                // longer)
                let advanced = if x == ADV_FAR {
                    h.advanced_by(r0 + j, r1, won_on, a, |s| look.ranks[s as usize])
                } else {
                    (x < ADV_REPEAT) & (i64::from(d) + i64::from(x) <= i64::from(a))
                };
                let sc = &mut t[s as usize];
                sc.entered += u32::from(look.is_open(s) & entry);
                sc.advanced += u32::from(advanced);
            }
            if L {
                let l = look.leaves(prev, s);
                let sc = &mut t[prev as usize];
                sc.left += u32::from(l);
                sc.days_sum += i64::from(l) * (i64::from(d) - i64::from(stay_from));
            }
        }
        if entry {
            stay_from = d;
        }
        prev = s;
    }
}

/// Whether a stage rank is an open stage's.
#[inline]
pub(crate) fn open_rank(r: u16) -> bool {
    r != 0 && r != u16::MAX
}

/// Days before the as-of day within which a modification keeps pipeline fresh (spec §2
/// `stale_pipeline_share`: the 30 days ending on the as-of day).
pub const STALE_DAYS: Day = 30;

/// Whether a deal last touched on `touched` is stale on day `a` (spec §2
/// `stale_pipeline_share`: not modified in the [`STALE_DAYS`] days before it).
#[inline(always)]
pub fn stale(touched: Day, a: Day) -> bool {
    touched == NO_DAY || touched <= a - STALE_DAYS
}

/// Adds the closed deals among `run`, a run of an owner's deals whose close days fall in
/// slot `g` and segment `seg` (see [`day_runs`]), on their close days (won: bookings,
/// cycle, first-won customers; lost: losses by reason). A comparison slot takes only won
/// deals' bookings, all its formulas read. The run's sums are kept in locals and added to
/// its cell once.
#[inline(always)]
fn closed_deals(
    book: &Book,
    slots: &[Slot],
    run: std::ops::Range<usize>,
    g: usize,
    seg: u32,
    part: &mut Part,
) {
    let o = &book.opps;
    let k = part.key(seg, g);
    if !slots[g].own {
        // a comparison slot: the formulas read its bookings alone
        let mut bookings = 0i64;
        for i in run {
            if o.status[i] == OppStatus::Won {
                bookings += o.amount_at_close[i];
                part.note(k, g, o.close[i], Contribution::Won(i as u32));
            }
        }
        part.cells[k].bookings += bookings;
        return;
    }
    let asof = slots[g].asof;
    let kk = part.grid_key(k);
    let sk = part.skey(seg, g);
    let mut c = Cell::default();
    let cycles_from = part.cycles.vals.len();
    for i in run {
        let (status, close) = (o.status[i], o.close[i]);
        let amount = o.amount_at_close[i];
        match status {
            OppStatus::Open => continue,
            OppStatus::Won => {
                c.bookings += amount;
                c.won += 1;
                if close <= asof {
                    c.bookings_to_date += amount;
                }
                if o.flags[i] & F_FIRST_WON != 0 {
                    c.new_customers += 1;
                }
                let created = o.created[i];
                if created != NO_DAY {
                    let days = (close - created).max(0);
                    c.cycle_sum += i64::from(days);
                    c.cycle_n += 1;
                    part.cycles.vals.push(days as u32);
                }
                part.note(k, g, close, Contribution::Won(i as u32));
            }
            _ => {
                c.lost += 1;
                c.lost_amount += amount;
                let r = if o.loss_reason[i] == u16::MAX {
                    part.nr - 1
                } else {
                    o.loss_reason[i] as usize
                };
                if let Some(sk) = sk {
                    let l = &mut part.losses[sk * part.nr + r];
                    l.count += 1;
                    l.amount += amount;
                }
                part.note(k, g, close, Contribution::Lost(i as u32));
            }
        }
    }
    part.cycles.close(kk, cycles_from);
    part.cells[k].add(&c);
}

/// Deals are grouped in blocks of this many, in the books' order (by owner, then close
/// day), for [`deal_spans`].
pub const BLOCK: usize = 64;

/// For each block of [`BLOCK`] deals, the first and last day on which any of its deals
/// can count for any walk: created, closed, a stage-history row, or open on an as-of day
/// (an open deal up to `Day::MAX`, one with no known day over every day). An owner's deals
/// are sorted by close day, so most blocks lie far from a drill-down's one period and are
/// passed over without reading their deals (at 10M deals: 156,250 pairs, 1.25 MB).
pub fn deal_spans(book: &Book) -> Vec<(Day, Day)> {
    let o = &book.opps;
    let h = &book.history;
    let span = |i: usize| -> (Day, Day) {
        let (r0, r1) = (o.hist_off[i] as usize, o.hist_off[i + 1] as usize);
        let known = [
            o.created[i],
            o.close[i],
            if r1 > r0 { h.day[r0] } else { NO_DAY },
            if r1 > r0 { h.day[r1 - 1] } else { NO_DAY },
        ];
        let days = known.iter().copied().filter(|&d| d != NO_DAY);
        let lo = days.clone().min().unwrap_or(Day::MIN);
        let hi = days.max().unwrap_or(Day::MAX);
        if o.status[i] == OppStatus::Open {
            // open from its creation (from always, when that is unknown) to any as-of day
            let lo = if o.created[i] == NO_DAY { Day::MIN } else { lo };
            (lo, Day::MAX)
        } else {
            (lo, hi)
        }
    };
    (0..o.len().div_ceil(BLOCK))
        .map(|b| {
            (b * BLOCK..((b + 1) * BLOCK).min(o.len()))
                .map(span)
                .fold((Day::MAX, Day::MIN), |(lo, hi), (a, z)| {
                    (lo.min(a), hi.max(z))
                })
        })
        .collect()
}

/// Whether days `first..=last` reach into one of the runs of days `runs` (each `lo..hi`).
#[inline]
fn meets_runs(runs: &[(Day, Day)], first: Day, last: Day) -> bool {
    runs.iter().any(|&(lo, hi)| last >= lo && first < hi)
}

/// The runs of `deals` in blocks whose span (see [`deal_spans`]) meets one of the runs of
/// days `days` (each `lo..hi`), adjacent blocks in one run.
pub(crate) fn deals_meeting<'a>(
    deals: std::ops::Range<usize>,
    spans: &'a [(Day, Day)],
    days: impl AsRef<[(Day, Day)]> + 'a,
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let mut b = deals.start / BLOCK;
    let last = deals.end.div_ceil(BLOCK);
    let meets = move |b: usize| {
        spans
            .get(b)
            .is_none_or(|&(a, z)| meets_runs(days.as_ref(), a, z))
    };
    std::iter::from_fn(move || {
        while b < last && !meets(b) {
            b += 1;
        }
        if b >= last {
            return None;
        }
        let from = b;
        while b < last && meets(b) {
            b += 1;
        }
        Some((from * BLOCK).max(deals.start)..(b * BLOCK).min(deals.end))
    })
}

/// The runs of rows `rows` of a column sorted by day there (`days`) whose days fall in one
/// slot of `map` (a layer's own or any days) and one of the owner's segments (`own`), as
/// (rows, slot, segment), in order. Rows on days without a slot are in none. A slot's days
/// and a segment's are runs of days, so each run ends at the first row on or after the
/// earlier of the slot's end and the next segment's start, found by a binary search: a
/// run's rows are then added up without a lookup each.
fn day_runs<'a>(
    days: &'a [Day],
    rows: std::ops::Range<usize>,
    map: &'a Days,
    slots: &'a [Slot],
    own: OwnerSegments<'a>,
) -> impl Iterator<Item = (std::ops::Range<usize>, usize, u32)> + 'a {
    day_runs_by(days, |&d| d, rows, map, slots, own)
}

/// [`day_runs`] over records sorted by `day` (the surveys).
fn day_runs_by<'a, T>(
    recs: &'a [T],
    day: impl Fn(&T) -> Day + Copy + 'a,
    rows: std::ops::Range<usize>,
    map: &'a Days,
    slots: &'a [Slot],
    own: OwnerSegments<'a>,
) -> impl Iterator<Item = (std::ops::Range<usize>, usize, u32)> + 'a {
    let mut i = rows.start;
    std::iter::from_fn(move || {
        while i < rows.end {
            let d = day(&recs[i]);
            let Some(g) = map.slot(d) else {
                // days between slots: on to the first row of the next slot's days
                let next = map.next_slot_day(d);
                i += recs[i..rows.end].partition_point(|x| day(x) < next);
                continue;
            };
            let (seg, end) = run_at(d, g, slots, own);
            let j = run_end(recs, day, i, rows.end, end);
            let run = i..j;
            i = j;
            return Some((run, g, seg));
        }
        None
    })
}

/// The first index in `from..to` of `recs` (sorted by `day`) whose day is not before
/// `end`, or `to`: found walking forward a chunk at a time, then counted in the chunk it
/// falls in. A binary search over the owner's rows left had most of its probes miss the
/// cache, each waiting on the one before (88 % of the leads' and activities' run
/// lookups, and two thirds of the surveys' walk, were that one load); walking forward,
/// the loads run ahead in order, and the run's rows are in the cache when it is added up.
#[inline(always)]
fn run_end<T>(recs: &[T], day: impl Fn(&T) -> Day, from: usize, to: usize, end: Day) -> usize {
    const CHUNK: usize = 16;
    let mut j = from;
    while j + CHUNK <= to && day(&recs[j + CHUNK - 1]) < end {
        j += CHUNK;
    }
    let last = (j + CHUNK).min(to);
    j + recs[j..last].iter().filter(|&x| day(x) < end).count()
}

/// The owner's segment on day `d` of slot `g`, and the first day after the run of days
/// that share both: the earlier of the slot's end and the next segment's start.
#[inline(always)]
fn run_at(d: Day, g: usize, slots: &[Slot], own: OwnerSegments) -> (u32, Day) {
    let (seg, next) = own.at_until(d);
    (seg, slots[g].end.min(next))
}

/// The owner's segment on day `d` of slot `g`, and the run of days `from..until` around
/// `d` that share both: from the later of the slot's start and the segment's, up to the
/// earlier of their ends.
#[inline(always)]
fn run_span(d: Day, g: usize, slots: &[Slot], own: OwnerSegments) -> (u32, Day, Day) {
    let (seg, lo, hi) = own.span_at(d);
    (seg, slots[g].start.max(lo), slots[g].end.min(hi))
}

/// The rows of owner `p` in a column sorted by owner, from its offsets.
#[inline]
fn owned(off: &[u32], p: u32) -> std::ops::Range<usize> {
    off[p as usize] as usize..off[p as usize + 1] as usize
}

/// Adds person `p`'s opportunities, stage history, leads and activities.
pub fn owner_records(
    book: &Book,
    segs: &Segments,
    slots: &[Slot],
    layer: &Layer,
    look: &Lookups,
    p: u32,
    part: &mut Part,
) -> Result<(), ScorecardError> {
    let o = &book.opps;
    let rep = book.people[p as usize].rep;
    let sla = sla_secs(book);
    let own = segs.owner(p);
    // (the walk and whether the pass is traced, read once: kept in the part, they were
    // read again after each store into its tables, several times per stage-history row)
    let w = part.walk;
    let traced = part.trace.is_some();
    let history = w.entered || w.left;
    let deals = if w.closed || w.created || w.open || history {
        owned(&o.owner_off, p)
    } else {
        0..0
    };
    let (i0, i1) = (deals.start, deals.end);
    // (and in a layer of comparison slots alone, last year's and the trailing months',
    // only closed deals count: every other walk keys on the own slots' days; a page over a
    // date range of its own, whose three periods' trailing windows overlap, had walked
    // every deal once more in each of their layers)
    let closed_only = (w.closed && !w.created && !w.open && !history) || layer.own.is_empty();
    // closed deals apart from the other walks, a run of close days in one slot and segment
    // at a time (an owner's deals are sorted by close), only those of the layer's days
    if w.closed {
        let ix = part.index.map(|x| (&x.close, p));
        let closed = layer.any.owner_rows_within(&o.close, |&d| d, i0..i1, ix);
        for (run, g, seg) in day_runs(&o.close, closed, &layer.any, slots, own) {
            closed_deals(book, slots, run, g, seg, part);
        }
    }
    // every deal, for the other walks
    let i0 = if closed_only { i1 } else { i0 };
    // The owner's history rows are contiguous and in opportunity order, and so are the
    // differing amounts and close days: the owner's first ones, found once per book, then
    // a cursor.
    let mut ov = if i1 > i0 {
        // (`i0` is the owner's first deal)
        look.overrides[p as usize]
    } else {
        let h = &book.history;
        (h.amounts.len(), h.closes.len(), h.probs.len())
    };
    let reach = layer.reach();
    // deal `$i`'s stage history: entries (on the entry day) and exits (on the exit day);
    // one body for the full loop below and a drill-down's history-only loop
    macro_rules! deal_history {
        ($i:ident, $status:ident, $close:ident) => {
            // (its bounds read only by a traced walk over the history: reading them for
            // every deal was 3 % of a company-wide page's pass over a period of its own;
            // an untraced pass walks the history in `history_deals`)
            let (r0, r1) = if history && traced {
                (o.hist_off[$i] as usize, o.hist_off[$i + 1] as usize)
            } else {
                (0, 0)
            };
            if r1 > r0 {
                let h = &book.history;
                // (the walk for rows that stay in their stage or come back into one, only
                // for a deal that has some; noting the stages entered only for one that
                // comes back)
                let irregular = o.irregular($i);
                let returns = o.flags[$i] & F_RETURNS != 0;
                // (the day a won deal closed; past every as-of day otherwise)
                let won_on = o.won_on($i);
                let (d0, d1) = (h.day[r0], h.day[r1 - 1]);
                // the rows are in time order: a deal whose rows all fall before or after
                // the layer's days has none with a slot (most deals, for one period)
                if layer.meets(d0, d1) {
                    // (the stages entered in the period of the rows so far)
                    let (mut seen, mut seen_in) = (StagesSeen::default(), usize::MAX);
                    for r in r0..r1 {
                        let d = h.day[r];
                        let Some(g) = layer.own.slot(d) else { continue };
                        let seg = own.at(d);
                        // (the stages seen, and the stays walked back, only in a
                        // history that needs them: a drill-down over the demo's
                        // regular one had taken a quarter longer)
                        if irregular && g != seen_in {
                            (seen, seen_in) = (StagesSeen::default(), g);
                        }
                        let first = !irregular || first_entry::<true>(h, r, &mut seen, returns);
                        // the row's stage table, found once for its entry and its exit
                        if let Some(sk) = part.skey(seg, g) {
                            let (a, t) = (slots[g].asof, part.table(sk));
                            let row = (r, r0, r1);
                            let (e, l) = (w.entered, w.left);
                            if irregular {
                                add_history_row::<true>(h, look, t, row, won_on, a, e, l, first)
                            } else {
                                add_history_row::<false>(h, look, t, row, won_on, a, e, l, true)
                            }
                        }
                        if w.entered && look.is_open(h.stage[r]) && first {
                            let c = Contribution::StageEntered($i as u32, r as u32);
                            part.note_at(seg, g, d, c);
                        }
                        if w.left && r > r0 && look.leaves(h.stage[r - 1], h.stage[r]) {
                            let c = Contribution::StageLeft($i as u32, r as u32 - 1);
                            part.note_at(seg, g, d, c);
                        }
                    }
                }
                // a closed deal whose history stops in an open stage left it on its close day
                let last = r1 - 1;
                if w.left
                    && $status != OppStatus::Open
                    && $close != NO_DAY
                    && let Some(g) = layer.own.slot($close)
                    && look.is_open(h.stage[last])
                {
                    let seg = own.at($close);
                    let k = part.key(seg, g);
                    if let Some(sc) = part.stage_mut(seg, g, h.stage[last] as usize) {
                        sc.left += 1;
                        let from = h.day[if irregular { h.stay_start(last) } else { last }];
                        sc.days_sum += i64::from(($close - from).max(0));
                    }
                    part.note(
                        k,
                        g,
                        $close,
                        Contribution::StageLeft($i as u32, last as u32),
                    );
                }
            }
        };
    }
    // every deal of the owner for a pass over most of the history (the plain loop: its
    // code is the full pass's), or only the blocks that can meet the layer's days
    macro_rules! each_deal {
        ($deals:expr) => {
            for i in $deals {
                let status = o.status[i];
                let close = o.close[i];
                let created = o.created[i];
                // created in a period: attributed on the created day
                if w.created
                    && created != NO_DAY
                    && let Some(g) = layer.own.slot(created)
                {
                    let k = part.key(own.at(created), g);
                    let amount = if o.flags[i] & F_AMOUNT != 0 {
                        book.convert(o.amount[i], o.currency[i], created)
                            .ok_or_else(|| {
                                book.missing_rate(
                                    &format!("opportunity {}", o.id(i)),
                                    o.currency[i],
                                    created,
                                )
                            })?
                    } else {
                        0
                    };
                    let c = &mut part.cells[k];
                    c.created += 1;
                    c.created_amount += amount;
                    // (without a branch: won by the as-of day is a coin toss)
                    c.created_won += u32::from(
                        (status == OppStatus::Won) & (close != NO_DAY) & (close <= slots[g].asof),
                    );
                    part.note(k, g, created, Contribution::Created(i as u32));
                }
                // open on an as-of day: attributed on the as-of day
                let open_until = match status {
                    OppStatus::Open => i32::MAX,
                    _ if close == NO_DAY || created == NO_DAY => i32::MIN,
                    _ => close,
                };
                let from = if created == NO_DAY { i32::MIN } else { created };
                let mut j = if w.open && open_until > from {
                    layer.first_asof(from)
                } else {
                    layer.asofs.len()
                };
                // open on one of the layer's as-of days at all (most deals are not, for a period)
                if j < layer.asofs.len() && layer.asofs[j].0 < open_until {
                    ov = book.history.overrides_of(ov, o, i, o.hist_off[i]);
                    while j < layer.asofs.len() && layer.asofs[j].0 < open_until {
                        let (a, g) = layer.asofs[j];
                        j += 1;
                        let g = g as usize;
                        let (_, sclose, amount, prob, touched, _) = state_at(book, i, a, ov);
                        let k = part.key(own.at(a), g);
                        let in_period = sclose != NO_DAY
                            && slots[g].start <= sclose
                            && sclose < slots[g].whole_end;
                        let amt = match amount {
                            Some(x) if in_period => {
                                book.convert(x, o.currency[i], a).ok_or_else(|| {
                                    book.missing_rate(
                                        &format!("opportunity {}", o.id(i)),
                                        o.currency[i],
                                        a,
                                    )
                                })?
                            }
                            _ => 0,
                        };
                        let c = &mut part.cells[k];
                        c.open_n += 1;
                        if complete(book, i, amount, sclose, a) {
                            c.open_complete += 1;
                        }
                        if in_period {
                            c.open_amount += amt;
                            c.open_weighted_bp += i128::from(amt) * i128::from(prob);
                            if stale(touched, a) {
                                c.open_stale_amount += amt;
                            }
                        }
                        // (in the pipeline, listed at the amount just added up; else
                        // for the completeness share alone, at its amount that day as
                        // `Contribution::shown_amount` has it)
                        if in_period {
                            let c = Contribution::Open(i as u32);
                            part.note_amount(k, g, a, c, || amount.map(|_| amt));
                        } else {
                            let c = Contribution::OpenOutside(i as u32);
                            let ccy = o.currency[i];
                            part.note_amount(k, g, a, c, || {
                                amount.map(|x| book.convert_shown(x, ccy, a))
                            });
                        }
                    }
                }
                deal_history!(i, status, close);
            }
        };
    }
    // an untraced pass's stage walk, apart from the deals' other records, before them:
    // walking the owner's history rows in order brings them into the cache for the open
    // pipeline's search of each open deal's rows, which had each missed it
    if history && !traced {
        // (over the rows one after another where the layer's periods cover much of the
        // history; deal by deal where they cover a few weeks of it, see [`Layer::flat`])
        let flat = layer.flat.then(|| look.stage_walk(book));
        macro_rules! walk {
            ($deals:expr) => {
                match (w.entered, w.left) {
                    (true, true) => history_deals::<true, true>(
                        book, look, layer, slots, own, part, $deals, flat,
                    ),
                    (true, false) => history_deals::<true, false>(
                        book, look, layer, slots, own, part, $deals, flat,
                    ),
                    (false, true) => history_deals::<false, true>(
                        book, look, layer, slots, own, part, $deals, flat,
                    ),
                    (false, false) => {}
                }
            };
        }
        match part.spans {
            None => walk!(std::iter::once(i0..i1)),
            Some(spans) => walk!(deals_meeting(i0..i1, spans, reach)),
        }
    }
    // a drill-down into the stage history alone (stage conversion, days in stage) reads
    // only what the history needs of each deal
    let history_only = !w.created && !w.open;
    match part.spans {
        None => each_deal!(i0..i1),
        Some(spans) if history_only => {
            // (untraced, `history_deals` above walked them)
            if traced {
                for i in deals_meeting(i0..i1, spans, reach).flatten() {
                    let (status, close) = (o.status[i], o.close[i]);
                    deal_history!(i, status, close);
                }
            }
        }
        Some(spans) => each_deal!(deals_meeting(i0..i1, spans, reach).flatten()),
    }

    let l = &book.leads;
    // the owner's leads are sorted by created day: only those of the layer's days
    let leads = if w.leads {
        let ix = part.index.map(|x| (&x.leads, p));
        layer
            .own
            .owner_rows_within(&l.created_day, |&d| d, owned(&l.owner_off, p), ix)
    } else {
        0..0
    };
    // a run of leads in one slot and segment at a time: their counts without a lookup
    // per lead, the converted ones counted without a branch
    for (run, g, seg) in day_runs(&l.created_day, leads, &layer.own, slots, own) {
        let a = slots[g].asof;
        let k = part.key(seg, g);
        let kk = part.grid_key(k);
        let converted: u32 = l.converted[run.clone()]
            .iter()
            .map(|&x| u32::from((x != NO_DAY) & (x <= a)))
            .sum();
        // follow-ups by the as-of day: the run's leads' activity days lie side by side
        // (each lead's sorted, the leads in order), so they are counted in one sweep
        // without a branch (a search in each lead's days was a lookup of its bounds and a
        // few mispredicted steps per lead)
        let acts = l.act_off[run.start] as usize..l.act_off[run.end] as usize;
        let followups: u32 = l.act_days[acts].iter().map(|&x| u32::from(x <= a)).sum();
        let (mut responded, mut in_sla) = (0u32, 0u32);
        let responses_from = part.responses.vals.len();
        for i in run.clone() {
            // answered by the as-of day (the response's day kept by the book: working it
            // out from the response's time here was a call into the time zone's rules per
            // lead)
            if answered_by(l, i, a) {
                let secs = l.response_secs[i];
                responded += 1;
                in_sla += u32::from(within_sla(secs, sla));
                part.responses.vals.push(secs);
            }
        }
        part.responses.close(kk, responses_from);
        let c = &mut part.cells[k];
        c.leads += run.len() as u32;
        c.leads_converted += converted;
        c.leads_responded += responded;
        c.leads_in_sla += in_sla;
        c.lead_followups += followups;
        if traced {
            for i in run {
                part.note(k, g, l.created_day[i], Contribution::Lead(i as u32));
            }
        }
    }

    let ac = &book.activities;
    // the owner's activities are sorted by day: only those of the layer's days
    let acts = if w.activities {
        let ix = part.index.map(|x| (&x.activities, p));
        layer
            .own
            .owner_rows_within(&ac.day, |&d| d, owned(&ac.owner_off, p), ix)
    } else {
        0..0
    };
    // a run of activities in one slot and segment at a time: their counts added up
    // without a lookup per row (the sums vectorise)
    for (run, g, seg) in day_runs(&ac.day, acts, &layer.own, slots, own) {
        let k = part.key(seg, g);
        let (calls, total) = ac.counts(run.clone());
        let c = &mut part.cells[k];
        c.activities += total;
        c.calls += calls;
        if rep {
            c.rep_calls += calls;
        }
        if traced {
            for i in run {
                part.note(k, g, ac.day[i], Contribution::Activity(i as u32));
            }
        }
    }
    Ok(())
}

/// Whether lead `i` was answered by as-of day `a` (the lead KPIs count a response only
/// then: one that came later is none yet).
#[inline]
pub fn answered_by(leads: &super::book::Leads, i: usize, a: Day) -> bool {
    let rd = leads.response_day[i];
    rd != NO_DAY && rd <= a
}

/// The organisation's lead-response SLA in seconds, for [`within_sla`] (read once for a
/// walk over many leads).
#[inline]
pub fn sla_secs(book: &Book) -> i64 {
    i64::from(book.settings.lead_sla_minutes) * 60
}

/// Whether a first response `secs` after a lead's creation came within an SLA of
/// `sla_secs` ([`sla_secs`]; `lead_response_sla_share`, spec §4).
#[inline]
pub fn within_sla(secs: u32, sla_secs: i64) -> bool {
    i64::from(secs) <= sla_secs
}

/// Whether open deal `i`, with `amount` and close day `close` on as-of day `a` (its state
/// then), has what `data_completeness_share` asks of it (spec §6): an amount, a close date
/// on or after the as-of date, a stage (every deal has one) and a next step.
#[inline]
pub fn complete(book: &Book, i: usize, amount: Option<i64>, close: Day, a: Day) -> bool {
    amount.is_some() && close != NO_DAY && close >= a && book.opps.flags[i] & F_NEXT_STEP != 0
}

/// What [`complete`] finds missing of deal `i` on as-of day `a`, in words (none when it
/// is complete).
pub fn incomplete(
    book: &Book,
    i: usize,
    amount: Option<i64>,
    close: Day,
    a: Day,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if amount.is_none() {
        out.push("no amount");
    }
    if close == NO_DAY {
        out.push("no close date");
    } else if close < a {
        out.push("close date past");
    }
    if book.opps.flags[i] & F_NEXT_STEP == 0 {
        out.push("no next step");
    }
    debug_assert_eq!(out.is_empty(), complete(book, i, amount, close, a));
    out
}

/// Whether a person (`info`) in a segment of days `from..to` counts for its scopes on day
/// `d`: the segment holds the day and they were employed on it (`headcount` on a period's
/// last day, the reps at its start and end for `rep_attrition_rate`).
#[inline]
pub fn counted_on(info: &super::book::PersonInfo, from: Day, to: Day, d: Day) -> bool {
    from <= d && d < to && info.employed_on(d)
}

/// Whether a person (`info`) left during slot `sl` from a segment of days `from..to`:
/// their last day employed falls in both (a rep who left, for `rep_attrition_rate`).
#[inline]
pub fn left_within(info: &super::book::PersonInfo, from: Day, to: Day, sl: &Slot) -> bool {
    let l = info.left;
    l != i32::MAX && from < l && l - 1 < to && sl.start < l && l - 1 < sl.end
}

/// Adds the people facts of person `p`'s segments for every slot: headcount, reps at the
/// start and end, leavers, rep-days and own-book quota on the first day.
pub fn people_facts(
    book: &Book,
    segs: &Segments,
    slots: &[Slot],
    own_quota: &[Option<i64>],
    p: u32,
    part: &mut Part,
) {
    let info = &book.people[p as usize];
    if p == book.nobody() {
        return;
    }
    for s in segs.of_person(p) {
        let (f, t) = (segs.from[s as usize], segs.to[s as usize]);
        for (g, sl) in slots.iter().enumerate() {
            if t <= sl.start || f >= sl.end {
                continue;
            }
            let k = part.key(s, g);
            let last = sl.end - 1;
            let c = &mut part.cells[k];
            if counted_on(info, f, t, last) {
                c.headcount_end += 1;
            }
            if info.rep {
                if counted_on(info, f, t, sl.start) {
                    c.reps_start += 1;
                }
                if counted_on(info, f, t, last) {
                    c.reps_end += 1;
                }
                if left_within(info, f, t, sl) {
                    c.reps_left += 1;
                }
                let lo = sl.start.max(f).max(if info.hired == NO_DAY {
                    i32::MIN
                } else {
                    info.hired
                });
                // (up to the as-of day: the days of a period under way that have not
                // come yet are no one's working days so far)
                let hi = sl.end.min(sl.asof.saturating_add(1)).min(t).min(info.left);
                c.rep_days += book.working_days(lo, hi);
                if counted_on(info, f, t, sl.start)
                    && let Some(q) = own_quota[p as usize * slots.len() + g]
                {
                    c.quota_first_day += q;
                    c.quota_holders += 1;
                }
            }
        }
    }
}

/// Each won account's position in the book and churn day, in the order of
/// [`AccountIndex`]'s first-won days.
#[derive(Debug, Default)]
struct Listed {
    account: Vec<u32>,
    churned: Vec<Day>,
}

/// Customers by owner, for counting active customers on any day without visiting every
/// account: per owner, the sorted first-won days and (churn day, first-won day) pairs.
#[derive(Debug, Default)]
pub struct AccountIndex {
    off: Vec<u32>,
    won: Vec<Day>,
    /// Beside `won`, for drill-downs: each pass thread lists its own owners' customers
    /// from these, without reading the accounts.
    listed: std::sync::OnceLock<Listed>,
    churn_off: Vec<u32>,
    /// (churn day — never before the first win —, first-won day), sorted.
    churn: Vec<(Day, Day)>,
}

impl AccountIndex {
    /// The bytes the index takes in memory.
    pub fn bytes(&self) -> usize {
        fn v<T>(x: &Vec<T>) -> usize {
            x.capacity() * std::mem::size_of::<T>()
        }
        v(&self.off)
            + v(&self.won)
            + v(&self.churn_off)
            + v(&self.churn)
            + self
                .listed
                .get()
                .map_or(0, |l| v(&l.account) + v(&l.churned))
    }
    pub fn build(book: &Book) -> AccountIndex {
        let n = book.people.len();
        let mut per: Vec<Vec<Day>> = vec![Vec::new(); n];
        let mut cper: Vec<Vec<(Day, Day)>> = vec![Vec::new(); n];
        for a in &book.accounts {
            if a.first_won == NO_DAY {
                continue;
            }
            per[a.owner as usize].push(a.first_won);
            if a.churned != NO_DAY {
                cper[a.owner as usize].push((a.churned.max(a.first_won), a.first_won));
            }
        }
        let mut x = AccountIndex {
            off: vec![0],
            churn_off: vec![0],
            ..Default::default()
        };
        for (mut w, mut c) in per.into_iter().zip(cper) {
            w.sort_unstable();
            c.sort_unstable();
            x.won.extend(w);
            x.churn.extend(c);
            x.off.push(x.won.len() as u32);
            x.churn_off.push(x.churn.len() as u32);
        }
        x
    }
    /// The accounts beside `won` (made on a drill-down's first use: a scorecard counts).
    fn listed_all(&self, book: &Book) -> &Listed {
        self.listed.get_or_init(|| {
            let mut l = Listed {
                account: vec![0; self.won.len()],
                churned: vec![NO_DAY; self.won.len()],
            };
            let mut next = self.off.clone();
            for (ai, a) in book.accounts.iter().enumerate() {
                if a.first_won != NO_DAY {
                    let p = a.owner as usize;
                    l.account[next[p] as usize] = ai as u32;
                    next[p] += 1;
                }
            }
            // each owner's in the order of `won` (by first-won day)
            for p in 0..self.off.len() - 1 {
                let r = self.off[p] as usize..self.off[p + 1] as usize;
                l.account[r.clone()]
                    .sort_unstable_by_key(|&ai| (book.accounts[ai as usize].first_won, ai));
                for i in r {
                    l.churned[i] = book.accounts[l.account[i] as usize].churned;
                }
            }
            l
        })
    }
    fn won(&self, p: u32) -> &[Day] {
        &self.won[self.off[p as usize] as usize..self.off[p as usize + 1] as usize]
    }
    /// Owner `p`'s won accounts: (position in the book, the account's facts).
    fn listed<'a>(&'a self, book: &Book, p: u32) -> impl Iterator<Item = (u32, AccountInfo)> + 'a {
        let l = self.listed_all(book);
        let r = self.off[p as usize] as usize..self.off[p as usize + 1] as usize;
        self.won[r.clone()]
            .iter()
            .zip(&l.account[r.clone()])
            .zip(&l.churned[r])
            .map(move |((&first_won, &ai), &churned)| {
                let info = AccountInfo {
                    owner: p,
                    first_won,
                    churned,
                };
                (ai, info)
            })
    }
    fn churn(&self, p: u32) -> &[(Day, Day)] {
        &self.churn[self.churn_off[p as usize] as usize..self.churn_off[p as usize + 1] as usize]
    }
    /// Spec §5 `active_customers` of owner `p` on day `d`.
    pub fn active(&self, p: u32, d: Day) -> u32 {
        let won = self.won(p).partition_point(|&x| x <= d);
        let gone = self.churn(p).partition_point(|&(c, _)| c <= d);
        (won - gone) as u32
    }
    /// Customers of `p` active on the day before `start` that churned in `[start, end)`.
    pub fn churned_from_cohort(&self, p: u32, start: Day, end: Day) -> u32 {
        let c = self.churn(p);
        let lo = c.partition_point(|&(x, _)| x < start);
        let hi = c.partition_point(|&(x, _)| x < end);
        c[lo..hi].iter().filter(|&&(_, w)| w < start).count() as u32
    }
    pub fn has(&self, p: u32) -> bool {
        self.off[p as usize] < self.off[p as usize + 1]
    }
}

/// The slots whose customers a pass lists one by one: those a trace keeps customers in.
/// The others count them per owner from the index ([`owner_customers`]).
/// (A trace that turns customers away, as `ltv_cac_ratio`'s, counts them from the index.)
pub fn customers_listed(slots: &[Slot], part: &Part) -> Vec<bool> {
    (0..slots.len())
        .map(|g| {
            part.trace.is_some()
                && part.want.is_none_or(|w| {
                    w.slot(g)
                        && [Contribution::Customer(0), Contribution::Cohort(0)]
                            .iter()
                            .any(|c| w.kinds & c.kind_bit() != 0 && w.keep.is_none_or(|f| f(c)))
                })
        })
        .collect()
}

/// Adds owner `p`'s customers active at the end and at the start of every slot, and the
/// start cohort's churn (spec §5): one by one, each traced, in the slots that list them
/// (`listed`, see [`customers_listed`]), counted from the index in the others. Each pass
/// thread adds its own owners'.
pub fn owner_customers(
    book: &Book,
    segs: &Segments,
    accounts: &AccountIndex,
    slots: &[Slot],
    listed: &[bool],
    p: u32,
    part: &mut Part,
) {
    if !part.walk.customers || !accounts.has(p) {
        return;
    }
    for (g, sl) in slots.iter().enumerate() {
        let last = sl.end - 1;
        if listed[g] {
            // one by one, each customer traced (into the cells of the end and of the start)
            let k_end = part.key(segs.at(p, last), g);
            let k_start = part.key(segs.at(p, sl.start), g);
            for (ai, a) in accounts.listed(book, p) {
                if a.active_on(last) {
                    part.cells[k_end].customers_end += 1;
                    part.note(k_end, g, a.first_won, Contribution::Customer(ai));
                }
                if a.active_on(sl.start - 1) {
                    // the start cohort and its churn are attributed at the period's start
                    part.cells[k_start].customers_start += 1;
                    if a.churned != NO_DAY && sl.start <= a.churned && a.churned < sl.end {
                        part.cells[k_start].customers_start_churned += 1;
                    }
                    part.note(k_start, g, a.first_won, Contribution::Cohort(ai));
                }
            }
            continue;
        }
        let n = accounts.active(p, last);
        if n > 0 {
            let k = part.key(segs.at(p, last), g);
            part.cells[k].customers_end += n;
        }
        // the start cohort and its churn are attributed at the period's start
        let n0 = accounts.active(p, sl.start - 1);
        if n0 > 0 {
            let k = part.key(segs.at(p, sl.start), g);
            part.cells[k].customers_start += n0;
            part.cells[k].customers_start_churned +=
                accounts.churned_from_cohort(p, sl.start, sl.end);
        }
    }
}

/// What the pass looks up for each owner, worked out once per book instead of searched
/// for in every pass: a search of a whole list for each of thousands of owners misses the
/// cache at nearly every step (the surveys' two searches per owner were 2.6 % of a whole
/// scorecard run at 2M deals under `perf`; the pass's min fell 4-6 % at 10M without them
/// and the overrides' one).
#[derive(Debug, Default)]
pub struct Lookups {
    /// Each stage's rank ([`stage_ranks`]), for the rare history row whose advance the
    /// book's column cannot hold ([`super::book::ADV_FAR`]).
    pub ranks: Vec<u16>,
    /// The open stages are those numbered below this ([`open_stages`]): a stage-history
    /// row's stage is its place in a stage table and tells whether it is open.
    pub open: u16,
    /// Owner `p`'s surveys are `surveys[p]..surveys[p + 1]` of the book's, which are
    /// sorted by owner.
    pub surveys: Vec<u32>,
    /// The first of the history's differing amounts and close days (each sorted by row)
    /// at or after owner `p`'s first history row (the rows are grouped by deal, the deals
    /// by owner).
    pub overrides: Vec<Cursor>,
    /// The book's [`StageWalk`], made for the first untraced pass over the history.
    walk: std::sync::OnceLock<StageWalk>,
}

impl Lookups {
    /// The book's [`StageWalk`] (made now, the first time).
    pub fn stage_walk(&self, book: &Book) -> &StageWalk {
        self.walk.get_or_init(|| StageWalk::of(book, self))
    }
    /// The bytes of the book's [`StageWalk`], once made.
    pub fn stage_walk_bytes(&self) -> usize {
        self.walk.get().map_or(0, StageWalk::bytes)
    }
    pub fn of(book: &Book) -> Lookups {
        let np = book.people.len();
        let mut surveys = vec![0u32; np + 1];
        for s in &book.surveys {
            surveys[s.owner as usize + 1] += 1;
        }
        for i in 0..np {
            surveys[i + 1] += surveys[i];
        }
        let (o, h) = (&book.opps, &book.history);
        let overrides = o
            .owner_off
            .iter()
            .map(|&i| {
                let r = o.hist_off.get(i as usize).copied().unwrap_or(u32::MAX);
                (
                    h.amounts.rows.partition_point(|&x| x < r),
                    h.closes.rows.partition_point(|&x| x < r),
                    h.probs.rows.partition_point(|&x| x < r),
                )
            })
            .collect();
        Lookups {
            ranks: stage_ranks(book),
            open: open_stages(book),
            surveys,
            overrides,
            walk: std::sync::OnceLock::new(),
        }
    }
    /// Whether stage `s` is open ([`Lookups::open`]).
    #[inline(always)]
    pub fn is_open(&self, s: u8) -> bool {
        u16::from(s) < self.open
    }
    /// Whether a stage-history row in stage `s` left the stage `prev` of the row before: an
    /// open stage, and another than its own.
    #[inline(always)]
    pub fn leaves(&self, prev: u8, s: u8) -> bool {
        self.is_open(prev) & (prev != s)
    }
}

/// Adds the surveys of owner `p`'s accounts dated in a period (the book keeps surveys
/// sorted by owner, then day: each pass thread adds its own owners', in the book's order).
pub fn owner_surveys(
    book: &Book,
    segs: &Segments,
    look: &Lookups,
    slots: &[Slot],
    layers: &[Layer],
    p: u32,
    part: &mut Part,
) {
    if !part.walk.facts {
        return;
    }
    let sv = &book.surveys;
    // (the owner's segments found once: looked up for each survey, they were 40 % of its
    // instructions)
    let own = segs.owner(p);
    if part.trace.is_none() {
        // the owner's surveys are sorted by day: in runs of one slot and one segment, whose
        // cell is looked up where a run ends (its day, slot and segment had been looked up
        // for each survey and each layer), each cell's scores added in the same order
        for layer in layers {
            // (only those of the layer's days: a page over a period of its own had walked
            // every survey of the owner's for each layer)
            let ix = part.index.map(|x| (&x.surveys, p));
            let rows = layer
                .own
                .owner_rows_within(sv, |s| s.day, owned(&look.surveys, p), ix);
            for (run, g, seg) in day_runs_by(sv, |s| s.day, rows, &layer.own, slots, own) {
                let c = &mut part.cells[part.key(seg, g)];
                // (the run's count at once, its scores added on in the same order, in a
                // local: bit for bit the sum made one survey at a time into the cell)
                c.surveys += run.len() as u32;
                let mut sum = c.survey_sum;
                for s in &sv[run] {
                    sum += s.score;
                }
                c.survey_sum = sum;
            }
        }
        return;
    }
    for si in owned(&look.surveys, p) {
        let s = &sv[si];
        for layer in layers {
            if let Some(g) = layer.own.slot(s.day) {
                let k = part.key(own.at(s.day), g);
                part.cells[k].surveys += 1;
                part.cells[k].survey_sum += s.score;
                part.note(k, g, s.day, Contribution::Survey(si as u32));
            }
        }
    }
}

/// Adds each spend entry that counts through a person (`spend_owners`, per entry: the
/// person it is on, or its unit's head; see [`super::Engine::spend_owners`]) as theirs,
/// for owners in `owners` (all when `None`). (The pass's
/// threads add customers, [`owner_customers`], and surveys, [`owner_surveys`], each
/// thread its own owners'.)
pub fn person_spend(
    book: &Book,
    segs: &Segments,
    spend_owners: &[u32],
    layers: &[Layer],
    owners: Option<&[bool]>,
    part: &mut Part,
) {
    if !part.walk.facts {
        return;
    }
    let ok = |p: u32| owners.is_none_or(|o| o[p as usize]);
    for (xi, x) in book.spend.iter().enumerate() {
        let owner = spend_owners[xi];
        if owner == super::book::NONE {
            continue;
        }
        if !ok(owner) {
            continue;
        }
        for layer in layers {
            if let Some(g) = layer.own.slot(x.day) {
                let k = part.key(segs.at(owner, x.day), g);
                part.cells[k].spend += x.amount;
                part.note(k, g, x.day, Contribution::Spend(xi as u32));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full slot of days `[start, end)` whose as-of day is its last; `own`: one of the
    /// periods' own, not a comparison slot.
    fn slot(start: Day, end: Day, own: bool) -> Slot {
        Slot {
            start,
            end,
            whole_end: end,
            asof: end - 1,
            full: true,
            own,
        }
    }

    /// A tally key gives back the kind's rank and the year it was made with.
    #[test]
    fn a_tally_key_gives_back_its_rank_and_year() {
        for (rank, sub, ly) in [(0, 0, false), (15, 7, true), (7, 3, true), (4, 0, false)] {
            let key = Tallies::key(rank, sub, ly);
            assert_eq!(
                (Tallies::rank_of(key), Tallies::last_year_of(key)),
                (rank, ly)
            );
        }
    }

    /// Each run gives back its cell and its values in the order added; a run closed with
    /// no values is none.
    #[test]
    fn runs_keep_each_cells_values_in_the_order_added() {
        let mut r = Runs::default();
        for (k, vals) in [(7u32, &[3u32, 1][..]), (2, &[]), (7, &[9]), (0, &[4, 4, 5])] {
            let from = r.vals.len();
            r.vals.extend_from_slice(vals);
            r.close(k, from);
        }
        let got: Vec<(u32, Vec<u32>)> = r.each().map(|(k, v)| (k, v.to_vec())).collect();
        assert_eq!(got, vec![(7, vec![3, 1]), (7, vec![9]), (0, vec![4, 4, 5])]);
        assert_eq!(r.len(), 6);
        r.clear();
        assert!(r.is_empty() && r.each().next().is_none());
    }

    /// An owner's first row on or after a day, found through the index, is the one a
    /// search of all the owner's rows finds: on every day from before the first row to
    /// after the last, for owners with no rows, with rows without a day, with rows all
    /// on one day, and over spans of days from one to many buckets wide.
    #[test]
    fn an_index_by_day_finds_what_a_search_of_the_owners_rows_finds() {
        let mut x: u64 = 5;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        for span in [1u64, 40, 127, 128, 3000, 200_000] {
            let mut days: Vec<Day> = Vec::new();
            let mut off = vec![0u32];
            for owner in 0..7 {
                let n = match owner {
                    2 => 0,
                    5 => next(6),
                    _ => next(3000),
                };
                let mut mine: Vec<Day> = (0..n)
                    .map(|_| match next(10) {
                        0 => NO_DAY,
                        _ if owner == 4 => 1000,
                        _ => 1000 + next(span) as Day,
                    })
                    .collect();
                mine.sort_unstable();
                days.extend(mine);
                off.push(days.len() as u32);
            }
            let ix = DayIndex::build(&days, |&d| d, &off);
            assert!(
                ix.nb <= DayIndex::BUCKETS && ix.off.len() * 8 <= days.len() + 64,
                "{span}"
            );
            for p in 0..7u32 {
                let r = off[p as usize] as usize..off[p as usize + 1] as usize;
                let mut probes: Vec<Day> = vec![NO_DAY, Day::MAX, -5, 0];
                probes.extend((990..1010 + span.min(3000) as Day).step_by(1 + span as usize / 500));
                probes.extend([1000 + span as Day - 1, 1000 + span as Day, 1_000_000]);
                for d in probes {
                    let want = r.start + days[r.clone()].partition_point(|&x| x < d);
                    assert_eq!(
                        ix.first_at(&days, |&x| x, p, r.clone(), d),
                        want,
                        "span {span} owner {p} day {d}"
                    );
                }
            }
        }
    }

    /// The rows a pass visits in a column sorted by day are exactly those with a slot:
    /// both ends of each period included, the days between and around them left out.
    #[test]
    fn rows_within_a_layer_are_the_rows_with_a_slot() {
        let slot = |start, end| slot(start, end, true);
        // two periods with a gap between them: [10, 20) and [25, 31)
        let ls = layers(&[slot(10, 20), slot(25, 31)]);
        assert_eq!(ls.len(), 1);
        let layer = &ls[0].own;
        let days: Vec<Day> = vec![NO_DAY, 3, 9, 10, 10, 15, 19, 20, 22, 25, 30, 31, 40];
        for from in 0..days.len() {
            for to in from..=days.len() {
                let r = layer.rows_within(&days, from..to);
                let with_slot: Vec<usize> = (from..to)
                    .filter(|&i| layer.slot(days[i]).is_some())
                    .collect();
                let visited: Vec<usize> = r
                    .clone()
                    .filter(|&i| layer.slot(days[i]).is_some())
                    .collect();
                assert_eq!(visited, with_slot, "rows {from}..{to}");
                // (exactly the rows from the first on or after the layer's first day to
                // the last before its end, whether found by search or from the ends)
                let (lo, hi) = layer.span();
                let d = &days[from..to];
                let a = d.partition_point(|&x| x < lo);
                let b = d.partition_point(|&x| x < hi).max(a);
                assert_eq!(r, from + a..from + b, "rows {from}..{to}");
            }
        }
        // and nothing before the first period or after the last is visited
        let r = layer.rows_within(&days, 0..days.len());
        assert_eq!((days[r.start], days[r.end - 1]), (10, 30));
        // a run of days meets the layer exactly when one of its days has a slot: not when
        // it lies wholly before the first period, between the two or after the last
        for first in 0..45 {
            for last in first..45 {
                let any = (first..=last).any(|d| layer.slot(d).is_some());
                assert_eq!(ls[0].meets(first, last), any, "{first}..={last}");
            }
        }
    }

    /// A run's end walked forward a chunk at a time is where a search of the rows left
    /// finds it: runs ending on, before and past a chunk's edge, from every start, with
    /// days repeated, and the rows ending before the run does.
    #[test]
    fn a_runs_end_walked_forward_is_the_searched_one() {
        // days 0, 0, 1, 1, 2, 2, … with some days missing
        let days: Vec<Day> = (0..100).map(|i| i / 2 + i / 37).collect();
        for from in 0..days.len() {
            for to in from..=days.len() {
                for end in days[from]..days[to.saturating_sub(1).max(from)] + 3 {
                    let searched = from + days[from..to].partition_point(|&d| d < end);
                    assert_eq!(
                        run_end(&days, |&d| d, from, to, end),
                        searched,
                        "{from}..{to} before day {end}"
                    );
                }
            }
        }
    }

    /// A column sorted by day is cut into runs of one slot and one segment each: the rows
    /// on days between slots in none, a run cut where a segment starts within a slot.
    #[test]
    fn day_runs_cut_at_slot_and_segment_edges_and_skip_the_days_between() {
        // the periods [10, 20) and [20, 30), and a comparison slot [0, 5)
        let slots = [slot(10, 20, true), slot(20, 30, true), slot(0, 5, false)];
        let ls = layers(&slots);
        assert_eq!(ls.len(), 1);
        // one person whose second segment starts on day 15
        let segs = Segments {
            person: vec![0, 0],
            from: vec![0, 15],
            to: vec![15, Day::MAX],
            by_person: vec![0, 2],
            n_people: 1,
            ..Segments::default()
        };
        let own = segs.owner(0);
        let days: Vec<Day> = vec![1, 3, 6, 8, 10, 12, 15, 16, 25, 29, 31];
        let runs = |map: &Days, rows| day_runs(&days, rows, map, &slots, own).collect::<Vec<_>>();
        let l = &ls[0];
        assert_eq!(
            runs(&l.any, 0..days.len()),
            vec![(0..2, 2, 0), (4..6, 0, 0), (6..8, 0, 1), (8..10, 1, 1)]
        );
        assert_eq!(
            runs(&l.own, l.own.rows_within(&days, 0..days.len())),
            vec![(4..6, 0, 0), (6..8, 0, 1), (8..10, 1, 1)]
        );
        // a run starts wherever its rows do
        assert_eq!(runs(&l.own, 7..9), vec![(7..8, 0, 1), (8..9, 1, 1)]);
    }

    /// A comparison slot (last year's period, the trailing months) takes won deals only:
    /// its days are in the layer's `any` days, not in its `own` ones, and it has no as-of
    /// day for open deals.
    #[test]
    fn comparison_slots_take_closed_deals_only() {
        // last year's [0, 10) and the period [20, 30) in one layer
        let ls = layers(&[slot(20, 30, true), slot(0, 10, false)]);
        assert_eq!(ls.len(), 1);
        let l = &ls[0];
        assert_eq!((l.any.slot(5), l.any.slot(25)), (Some(1), Some(0)));
        assert_eq!((l.own.slot(5), l.own.slot(25)), (None, Some(0)));
        // the ends, and days far from them either way (no day, the last one)
        assert_eq!(
            (l.own.slot(19), l.own.slot(20), l.own.slot(29)),
            (None, Some(0), Some(0))
        );
        assert_eq!(
            (l.any.slot(-1), l.any.slot(0), l.any.slot(30)),
            (None, Some(1), None)
        );
        for d in [NO_DAY, NO_DAY + 1, -20, Day::MAX - 1, Day::MAX] {
            assert_eq!((l.own.slot(d), l.any.slot(d)), (None, None), "day {d}");
        }
        assert_eq!(l.asofs, vec![(29, 0)]);
        let days: Vec<Day> = vec![1, 5, 12, 22, 29, 35];
        assert_eq!(l.own.rows_within(&days, 0..6), 3..5);
        assert_eq!(l.any.rows_within(&days, 0..6), 0..5);
        assert!(!l.meets(0, 9) && l.meets(25, 25));
    }
}
