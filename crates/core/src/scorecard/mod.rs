//! The scorecard engine: every KPI of spec §2–6 for any scope (`person:`, `team:`,
//! `unit:`, `company`) and any period, attributed through the effective-dated org (spec
//! §1). A [`Book`] holds the records as compact columns; [`Engine::run`] makes one pass
//! per layer of non-overlapping periods into (owner segment × period) cells, rolls the
//! cells up to the requested scopes and applies the formulas of [`crate::kpi::compute`].

pub mod book;
pub mod idtext;
pub mod middle;
pub mod pass;
pub mod segments;
pub mod spare;

use std::collections::HashMap;
use std::sync::Arc;

use crate::date::Date;
use crate::kpi::{self, Cell, Context, LossCell, StageCell, Totals, Value};
use crate::period::{Grain, Period};

pub use book::{Book, BookBuilder, Day, NO_DAY, NONE, date_of, day, fmt_day};
use book::{QuotaEntry, QuotaOn, SpendTarget};
pub use pass::{Contribution, DayCounts, Edges, Tallies, TallyBy, Trace, Traced, Walk, Want};
use pass::{Part, Slot};
pub use segments::Segments;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScorecardError {
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    MissingRate(String),
    #[error("{0}")]
    Scope(String),
    #[error("{0}")]
    Kpi(String),
    /// A request for more than one answer takes (see [`BULK_PERIODS_MAX`]).
    #[error("{0}")]
    Limit(String),
}

/// A slice of the org (spec §1 "Owner and scope").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The records a person owns.
    Person(u32),
    /// A leader and everyone who reports to them, directly or indirectly.
    Team(u32),
    /// Everyone in a unit and its sub-units.
    Unit(u32),
    Company,
}

/// One computed row: a scope over a period.
#[derive(Debug, Clone)]
pub struct Row {
    pub scope: Scope,
    pub period: Period,
    pub as_of: Date,
    pub values: Vec<(&'static str, Value)>,
}

/// What a computation needs besides the periods themselves: the comparison slots — last
/// year's period (`revenue_growth_yoy`) and the trailing 12-month window (`ltv`,
/// `ltv_cac_ratio`) — and the record groups its pass walks ([`Walk`]; the totals of the
/// others stay zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Need {
    pub last_year: bool,
    pub window: bool,
    pub walk: Walk,
}

impl Need {
    pub const ALL: Need = Need {
        last_year: true,
        window: true,
        walk: Walk::ALL,
    };
    /// What `kpis` need.
    pub fn of(kpis: &[&str]) -> Need {
        Need {
            last_year: kpis.contains(&"revenue_growth_yoy"),
            window: kpis.iter().any(|k| matches!(*k, "ltv" | "ltv_cac_ratio")),
            walk: Walk::of(kpis),
        }
    }
    /// Whether a pass made for this need serves one made for `other`: it has every
    /// comparison slot and walked every record group `other` asks for.
    pub fn covers(&self, other: &Need) -> bool {
        (self.last_year || !other.last_year)
            && (self.window || !other.window)
            && self.walk.covers(&other.walk)
    }
}

/// Which parts of a scope's totals beyond the additive cell a list of KPIs reads: the
/// roll-up walks only those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    /// Stage and loss tables.
    tables: bool,
    /// Sales cycle days, for the median.
    cycles: bool,
    /// Lead response times, for the median.
    responses: bool,
    /// Distinct active reps and who reached their quota.
    reps: bool,
}

impl Parts {
    const ALL: Parts = Parts {
        tables: true,
        cycles: true,
        responses: true,
        reps: true,
    };
    fn of(kpis: &[&str]) -> Parts {
        let any = |ids: &[&str]| kpis.iter().any(|k| ids.contains(k));
        Parts {
            tables: any(&["stage_conversion", "days_in_stage_avg", "loss_reasons"]),
            cycles: any(&["sales_cycle_days_median"]),
            responses: any(&["lead_response_minutes_median"]),
            reps: any(&["active_reps", "reps_at_quota_share"]),
        }
    }
}

/// Passes over less work than this (three units per deal, one per lead, one per two
/// activity rows) run on one thread.
pub const SPLIT_FROM: u64 = 200_000;

/// A pass over every record group whose layers' own days (see [`pass::Layer::reach`])
/// add up to at most this many days passes over the deal blocks that cannot meet them
/// (see [`pass::deal_spans`]), as a drill-down does: a page over a date range of its own
/// (the range, the one before and last year's: a few months of a history of years).
const NARROW_DAYS: i64 = 2 * 366;

/// Makes `v` `n` zeros when it holds another number of cells, and says whether it did
/// (else its cells are the last pass's, for the pass's threads to clear). Within its
/// capacity the zeros are written over pages already in use; past it, a new array is asked
/// for zeroed, whose pages the kernel gives as zeros when first touched (a pass touches
/// about half of them: the segments that can reach its periods; written as zeros here
/// first, every page was touched twice).
fn zeros<T: bytemuck::Zeroable + Clone>(v: &mut Vec<T>, n: usize) -> bool {
    if v.len() == n {
        return false;
    }
    if v.capacity() >= n {
        v.clear();
        v.resize(n, T::zeroed());
    } else {
        *v = bytemuck::zeroed_vec(n);
    }
    true
}

/// How many chunks of owners each pass thread takes in turn (see
/// [`Engine::prepare_with`]): 16 left the threads less idle at the end of a pass than 4
/// (10M store, `--all --grain quarter`: the pass's median 614/621 -> 557/585 ms,
/// alternating; 64 measured the same as 16).
const CHUNKS_PER_THREAD: usize = 16;

/// A run over at least this many scopes, which walk every segment at least twice over,
/// groups the segments into [`Classes`]: making them costs a walk over every segment's
/// cells in every slot, which a leader's page (their team and their reports', a few dozen
/// scopes) does not pay back, and the bulk export (every team and unit) does many times.
const CLASSES_FROM: usize = 64;

/// The cells of `list`'s segments added up in each of slots `gs`, in one walk: a
/// segment's slots are next to each other in the grid, so the walk reads each segment's
/// cells together where a walk per slot strides across the whole grid once per slot (a
/// company-wide page's charts read dozens of slots).
fn sum_cells(grid: &Grid, list: &[u32], gs: &[usize]) -> Vec<Cell> {
    let mut out = vec![Cell::default(); gs.len()];
    for &s in list {
        for (o, &g) in out.iter_mut().zip(gs) {
            grid.add_cell(o, s as usize, g);
        }
    }
    out
}

/// The median inputs' buffers of one thread's rows, handed from each row to the next: a
/// top team's response times are hundreds of thousands of values a period, and a fresh
/// vector for each row grew by copying into pages the kernel had to clear.
#[derive(Default)]
struct Scratch {
    hist: Vec<u32>,
    responses: Vec<u32>,
    stages: Vec<StageCell>,
    losses: Vec<LossCell>,
    middle: middle::Scratch,
    /// For [`RepCounts::count`].
    hits: Vec<u32>,
    /// This thread's own copy of a run's stage names and loss reasons, which its rows'
    /// tables share (one copy for both threads put every table's count of its sharers on
    /// one cache line, passed from core to core at each table made).
    names: Option<Names>,
    /// Lists of values that rows given back held ([`Engine::recycle`]), taken from the
    /// engine's a batch at a time, for this thread's rows.
    values: Vec<Values>,
}

/// A row's values.
type Values = Vec<(&'static str, Value)>;

/// How many rows' lists of values the engine keeps for the next run ([`Engine::recycle`]):
/// a bulk export's at 10M opportunities (24,713 rows), with room to spare.
const SPARE_VALUES: usize = 1 << 15;

/// A run's stage names and loss reasons, which its tables' labels point into.
type Names = (Arc<[String]>, Arc<[String]>);

impl Scratch {
    /// Takes back the buffers of a row's totals once its KPIs are computed.
    fn keep(&mut self, t: &mut Totals) {
        self.hist = std::mem::take(&mut t.cycle_hist);
        self.responses = std::mem::take(&mut t.response_secs);
        self.stages = std::mem::take(&mut t.stages);
        self.losses = std::mem::take(&mut t.losses);
    }
}

/// How an active rep counts for `reps_at_quota_share` (spec §3), from their own-book
/// quota in the slot and their own bookings over it (`booked`, asked only of a rep with a
/// quota): `[active reps, with a quota, at it]`. The one place of the rule, for the
/// roll-up by segment, by class and the drill-down's list.
#[inline]
fn rep_weights(quota: Option<i64>, booked: impl FnOnce() -> i64) -> [u32; 3] {
    match quota {
        Some(q) if q > 0 => [1, 1, u32::from(booked() >= q)],
        _ => [1, 0, 0],
    }
}

/// Whether segment `s` of a rep (`info`) makes them an active rep in slot `sl` (spec §1):
/// the segment's days in the slot meet their employment.
#[inline]
pub fn rep_active(segs: &Segments, info: &book::PersonInfo, s: usize, sl: &Slot) -> bool {
    // (an unknown hire day is `NO_DAY`, the earliest day)
    let lo = segs.from[s].max(sl.start).max(info.hired);
    let hi = segs.to[s].min(sl.end).min(info.left);
    lo < hi
}

/// Adds a segment's (or a class's) stage and loss tables into a scope's.
#[inline]
fn add_tables(stages: &mut [StageCell], losses: &mut [LossCell], s: &[StageCell], l: &[LossCell]) {
    for (a, b) in stages.iter_mut().zip(s) {
        a.add(b);
    }
    for (a, b) in losses.iter_mut().zip(l) {
        a.count += b.count;
        a.amount += b.amount;
    }
}

/// The segments of a run's scopes grouped by which of those scopes they count for: the
/// segments of the reps under one manager (with the same history) count for the same
/// teams and units, so a team's cells are the sum of its classes' (a few) instead of its
/// segments' (many). Each class's cells and tables are added up once per run, in the
/// order of its segments; the roll-up then adds classes. Integer sums are the same
/// whatever the order.
struct Classes {
    /// `cells[c * ng + g]`: the sum of class `c`'s segments' cells in slot `g`.
    cells: Vec<Cell>,
    /// Stage and loss tables, laid out as the grid's with classes for segments.
    stages: Vec<StageCell>,
    losses: Vec<LossCell>,
    /// The classes of each scope of the run, in the run's order (`None` for a person's
    /// scope, whose segments are walked).
    of_scope: Vec<Option<Vec<u32>>>,
    /// `own_bookings[p * ng + g]`: person `p`'s own bookings in slot `g` (whether a rep
    /// reached their quota is asked once for every scope above them); empty when the
    /// run's KPIs do not ask it.
    own_bookings: Vec<i64>,
    /// Each class's sales cycle days and response seconds in each slot of the run's
    /// periods (group `c * nm + mid_ix[g]`, `nm` such slots), when the run's KPIs read
    /// their medians: a scope's median comes from its classes' (see [`middle`]).
    cycles: Option<middle::Groups>,
    responses: Option<middle::Groups>,
    nm: usize,
    mid_ix: Vec<usize>,
    /// When the run's KPIs read them: each class's distinct active reps in each slot of
    /// the run's periods, those with a quota, and those at it (see [`RepCounts`]).
    reps: Option<RepCounts>,
}

/// Distinct active reps by class, for a scope to add up over its classes instead of
/// walking its segments once per period (the top teams' walks read every segment a dozen
/// times over). A rep counts once in each class where one of their segments is active in
/// the slot; the few active in two or more classes of a slot (moved mid-period) are
/// listed, and a scope that holds k of a rep's classes takes k − 1 of them off.
struct RepCounts {
    /// `per_class[c * nm + t]`: (active reps, those with an own-book quota, those at it).
    per_class: Vec<[u32; 3]>,
    /// The reps active in more than one class in a slot: their (slot, classes, counts).
    multi: Vec<(usize, Vec<u32>, [u32; 3])>,
    /// `multi`'s entries by class and slot: `by_class[at[c * nm + t]..at[c * nm + t + 1]]`.
    at: Vec<u32>,
    by_class: Vec<u32>,
}

impl RepCounts {
    /// The counts of the reps of `nc` classes (each segment's: `class_of`) in slots
    /// `mid_slot`; `own_bookings` as [`Classes`]'s.
    fn of(
        e: &Engine,
        grid: &Grid,
        class_of: &[u32],
        nc: usize,
        mid_slot: &[usize],
        own_bookings: &[i64],
    ) -> RepCounts {
        let (segs, ng, nm) = (&e.segs, grid.ng, mid_slot.len());
        let mut per_class = vec![[0u32; 3]; nc * nm];
        let mut multi = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        for p in 0..segs.n_people {
            let info = &e.book.people[p as usize];
            if !info.rep {
                continue;
            }
            let pu = p as usize;
            for (t, &g) in mid_slot.iter().enumerate() {
                let sl = &grid.slots[g];
                seen.clear();
                for s in segs.of_person(p) {
                    if rep_active(segs, info, s as usize, sl) {
                        seen.push(class_of[s as usize]);
                    }
                }
                if seen.is_empty() {
                    continue;
                }
                seen.sort_unstable();
                seen.dedup();
                let w = rep_weights(grid.own_quota[pu * ng + g], || own_bookings[pu * ng + g]);
                for &c in &seen {
                    let a = &mut per_class[c as usize * nm + t];
                    for (a, w) in a.iter_mut().zip(w) {
                        *a += w;
                    }
                }
                if seen.len() > 1 {
                    multi.push((t, seen.clone(), w));
                }
            }
        }
        let mut at = vec![0u32; nc * nm + 1];
        for (t, cl, _) in &multi {
            for &c in cl {
                at[c as usize * nm + t + 1] += 1;
            }
        }
        for i in 0..nc * nm {
            at[i + 1] += at[i];
        }
        let mut by_class = vec![0u32; at[nc * nm] as usize];
        let mut next = at.clone();
        for (x, (t, cl, _)) in multi.iter().enumerate() {
            for &c in cl {
                let k = &mut next[c as usize * nm + t];
                by_class[*k as usize] = x as u32;
                *k += 1;
            }
        }
        RepCounts {
            per_class,
            multi,
            at,
            by_class,
        }
    }

    /// (active reps, with a quota, at it) of the union of classes `of` in slot `t` of
    /// `nm`; `hits`: a buffer of zeros as long as `multi`, left as zeros.
    fn count(&self, of: &[u32], t: usize, nm: usize, hits: &mut Vec<u32>) -> [u32; 3] {
        let mut n = [0u32; 3];
        for &c in of {
            for (a, b) in n.iter_mut().zip(self.per_class[c as usize * nm + t]) {
                *a += b;
            }
        }
        if self.multi.is_empty() {
            return n;
        }
        hits.resize(self.multi.len(), 0);
        // a rep in k of the scope's classes was counted k times: once is right
        for &c in of {
            let i = c as usize * nm + t;
            for &x in &self.by_class[self.at[i] as usize..self.at[i + 1] as usize] {
                let h = &mut hits[x as usize];
                *h += 1;
                if *h > 1 {
                    for (a, b) in n.iter_mut().zip(self.multi[x as usize].2) {
                        *a -= b;
                    }
                }
            }
        }
        for &c in of {
            let i = c as usize * nm + t;
            for &x in &self.by_class[self.at[i] as usize..self.at[i + 1] as usize] {
                hits[x as usize] = 0;
            }
        }
        n
    }
}

impl Classes {
    /// `periods`: the run's periods, as places in the grid's `main`; `reuse`: the arrays
    /// of an earlier run's groups of values (see [`middle::Groups::build`]).
    fn of(
        e: &Engine,
        grid: &Grid,
        scopes: &[Scope],
        periods: &[usize],
        parts: Parts,
        reuse: (middle::Groups, middle::Groups),
    ) -> Classes {
        let segs = &e.segs;
        let (ng, ns, nr, nt) = (grid.ng, grid.ns, grid.nr, grid.nt);
        let mut wanted = vec![false; segs.of_scope.len()];
        for x in scopes.iter().filter_map(|&s| e.scope_ix(s)) {
            if let Some(w) = wanted.get_mut(x as usize) {
                *w = true;
            }
        }
        // each segment's class: the run's scopes it counts for
        let mut ids: HashMap<Vec<segments::ScopeIx>, u32> = HashMap::new();
        let mut sigs: Vec<Vec<segments::ScopeIx>> = Vec::new();
        let mut key: Vec<segments::ScopeIx> = Vec::new();
        let class_of: Vec<u32> = (0..segs.len() as u32)
            .map(|s| {
                key.clear();
                key.extend(
                    segs.scopes_of(s)
                        .iter()
                        .filter(|&&x| wanted.get(x as usize).copied().unwrap_or(false)),
                );
                if let Some(&c) = ids.get(&key) {
                    return c;
                }
                let c = sigs.len() as u32;
                ids.insert(key.clone(), c);
                sigs.push(key.clone());
                c
            })
            .collect();
        let nc = sigs.len();
        // each class's segments, in order; the classes cut in two runs with about as many
        // segments, each added up on its own core into its own part of the arrays
        let mut off = vec![0usize; nc + 1];
        for &c in &class_of {
            off[c as usize + 1] += 1;
        }
        for c in 0..nc {
            off[c + 1] += off[c];
        }
        let mut members = vec![0u32; class_of.len()];
        {
            let mut next = off.clone();
            for (s, &c) in class_of.iter().enumerate() {
                members[next[c as usize]] = s as u32;
                next[c as usize] += 1;
            }
        }
        let mid = off.partition_point(|&x| x < class_of.len() / 2).min(nc);
        let mut cells = vec![Cell::default(); nc * ng];
        let mut stages = vec![StageCell::default(); nc * nt * ns];
        let mut losses = vec![LossCell::default(); nc * nt * nr];
        // (a segment's cells and tables in the slots it cannot reach are empty: most of
        // the grid, which is read no more). When the run's KPIs ask whether reps reached
        // their quota, each person's own bookings are added up from the cells the walk
        // reads anyway (a walk of its own read every cell a second time, on one core):
        // each thread into its own array, the two added up after.
        let np = if parts.reps {
            segs.n_people as usize
        } else {
            0
        };
        let sum = |classes: std::ops::Range<usize>,
                   cells: &mut [Cell],
                   stages: &mut [StageCell],
                   losses: &mut [LossCell],
                   own: &mut [i64]| {
            for c in classes.clone() {
                let x = c - classes.start;
                for &s in &members[off[c]..off[c + 1]] {
                    let s = s as usize;
                    let p = segs.person[s] as usize;
                    let reach = grid.reach(segs, s);
                    let mut mine = own.get_mut(p * ng..(p + 1) * ng);
                    for (g, a) in cells[x * ng..(x + 1) * ng].iter_mut().enumerate() {
                        if reach(g) {
                            grid.add_cell(a, s, g);
                            if let Some(b) = mine.as_deref_mut() {
                                b[g] += grid.bookings_at(s, g);
                            }
                        }
                    }
                    // (slot `f < nt` has its tables at row `f`)
                    for f in (0..nt).filter(|&f| reach(f)) {
                        let Some((st, lo)) = grid.tables(s, f) else {
                            continue;
                        };
                        let (xs, xl) = ((x * nt + f) * ns, (x * nt + f) * nr);
                        add_tables(&mut stages[xs..xs + ns], &mut losses[xl..xl + nr], st, lo);
                    }
                }
            }
        };
        let mut own_bookings = vec![0i64; np * ng];
        {
            let (c0, c1) = cells.split_at_mut(mid * ng);
            let (s0, s1) = stages.split_at_mut(mid * nt * ns);
            let (l0, l1) = losses.split_at_mut(mid * nt * nr);
            let sum = &sum;
            let other = std::thread::scope(|sc| {
                let h = sc.spawn(move || {
                    let mut own = vec![0i64; np * ng];
                    sum(mid..nc, c1, s1, l1, &mut own);
                    own
                });
                sum(0..mid, c0, s0, l0, &mut own_bookings);
                h.join()
            });
            // (a panic in the other thread goes on as the scope's own would have)
            let other = other.unwrap_or_else(|e| std::panic::resume_unwind(e));
            for (a, b) in own_bookings.iter_mut().zip(other) {
                *a += b;
            }
        }
        let mut of_ix: Vec<Vec<u32>> = vec![Vec::new(); segs.of_scope.len()];
        for (c, sig) in sigs.iter().enumerate() {
            for &x in sig {
                of_ix[x as usize].push(c as u32);
            }
        }
        let of_scope: Vec<Option<Vec<u32>>> = scopes
            .iter()
            .map(|&s| match (s, e.scope_ix(s)) {
                (_, Some(x)) => Some(of_ix[x as usize].clone()),
                (Scope::Company, None) => Some((0..nc as u32).collect()),
                _ => None,
            })
            .collect();
        // each class's values of a median in each slot of the run's periods, from its
        // segments' (a server's kept pass holds more periods than a request reads)
        let mut mid_slot: Vec<usize> = periods.iter().map(|&i| grid.main[i]).collect();
        mid_slot.sort_unstable();
        mid_slot.dedup();
        let nm = mid_slot.len();
        let mut mid_ix = vec![usize::MAX; ng];
        for (t, &g) in mid_slot.iter().enumerate() {
            mid_ix[g] = t;
        }
        let values = |at: &[u32], vals: &[u32], reuse: middle::Groups| {
            middle::Groups::build(nc, nm, 2, reuse, |c, put| {
                for &s in &members[off[c]..off[c + 1]] {
                    for (t, &g) in mid_slot.iter().enumerate() {
                        let k = s as usize * ng + g;
                        put(t, &vals[at[k] as usize..at[k + 1] as usize]);
                    }
                }
            })
        };
        let cycles = parts
            .cycles
            .then(|| values(&grid.cycle_off, &grid.cycle_vals, reuse.0));
        let responses = parts
            .responses
            .then(|| values(&grid.resp_off, &grid.resp_vals, reuse.1));
        let reps = parts
            .reps
            .then(|| RepCounts::of(e, grid, &class_of, nc, &mid_slot, &own_bookings));
        Classes {
            cells,
            stages,
            losses,
            of_scope,
            own_bookings,
            cycles,
            responses,
            nm,
            mid_ix,
            reps,
        }
    }
}

/// The warm state: the book and its attribution segments.
pub struct Engine {
    pub book: Book,
    pub segs: Segments,
    pub accounts: pass::AccountIndex,
    /// The arrays of the last finished pass that nothing keeps (see [`Engine::run_in`]),
    /// reused by the next: rewriting them costs less than fresh pages from the kernel.
    spare: std::sync::Mutex<Option<Spare>>,
    /// The last roll-up's groups of median values (see [`Classes`]): sales cycles and
    /// response times, for the next.
    spare_middles: std::sync::Mutex<(middle::Groups, middle::Groups)>,
    /// The lists of values of rows given back ([`Engine::recycle`]), for the next run's.
    spare_values: std::sync::Mutex<Vec<Values>>,
    /// The deal blocks' spans, made for the first pass that reads them.
    spans: std::sync::OnceLock<Vec<(book::Day, book::Day)>>,
    /// The indexes of the owners' rows by day, made with `spans` (except for a one-off
    /// run).
    day_index: std::sync::OnceLock<pass::DayIndexes>,
    /// The last day a record is dated ([`Engine::last_day`]), found once.
    last: std::sync::OnceLock<Option<book::Day>>,
    /// [`Engine::first_day`], read once (a KPI's history asks for it on every request: a
    /// scan of every record's days, 35 ms at 10M deals).
    first: std::sync::OnceLock<Option<book::Day>>,
    /// What the pass looks up for each owner.
    look: pass::Lookups,
    /// For each spend entry, the person it counts through as their own spend: the person
    /// it is on, or the one who headed its unit on its day ([`Segments::unit_head`]);
    /// [`NONE`] for spend on the company or on a unit nobody headed.
    pub spend_owners: Vec<u32>,
    /// Passes read every deal, not only the blocks that can meet their periods (see
    /// [`Engine::read_every_deal`]).
    every_deal: std::sync::atomic::AtomicBool,
    /// A run hands its arrays and lists to the next (the default), or lets go of each as
    /// soon as it is done with it: a one-off run (see [`Engine::keep_nothing_for_next`]).
    one_off: std::sync::atomic::AtomicBool,
    /// The least work (see [`Engine::prepare_with`]) a pass splits between threads
    /// ([`Engine::split_passes_from`]).
    split_from: std::sync::atomic::AtomicU64,
    /// The targets (`Book::targets`) by KPI and whom they are set on, for
    /// [`Engine::target`] (a scorecard asks for each of its lines and reports).
    target_ix: HashMap<(u8, QuotaOn), Vec<u32>>,
}

/// A pass's arrays, kept for reuse: the cells, stage and loss tables and median inputs
/// of a finished run, and each thread's runs of sales cycles and response times
/// ([`pass::Runs`]).
#[derive(Default)]
struct Spare {
    cells: Vec<Cell>,
    stages: Vec<StageCell>,
    losses: Vec<LossCell>,
    cycle_vals: Vec<u32>,
    resp_vals: Vec<u32>,
    runs: Vec<pass::Runs>,
}

/// Keeps the larger of a spare array and one given back (a kept pass's compact arrays
/// would otherwise replace a whole pass's, and the next pass would grow them again).
fn larger<T>(spare: &mut Vec<T>, given: Vec<T>) {
    if given.capacity() > spare.capacity() {
        *spare = given;
    }
}

/// The `n` rows a run hands to its sink a window at a time, collected in order.
fn collect_rows(
    n: usize,
    run: impl FnOnce(
        &mut dyn FnMut(Vec<Row>) -> Result<(), ScorecardError>,
    ) -> Result<(), ScorecardError>,
) -> Result<Vec<Row>, ScorecardError> {
    let mut rows = Vec::with_capacity(n);
    run(&mut |mut w| {
        rows.append(&mut w);
        Ok(())
    })?;
    Ok(rows)
}

/// The pass's output: the (segment × slot) cells and what the roll-up reads besides.
pub struct Grid {
    pub slots: Vec<Slot>,
    pub main: Vec<usize>,
    pub last_year: Vec<usize>,
    pub window: Vec<usize>,
    pub window_parts: Vec<Vec<usize>>,
    pub ng: usize,
    ns: usize,
    nr: usize,
    /// The periods' own slots, `0..nt`: only they have stage and loss tables (the
    /// comparison slots have none).
    nt: usize,
    /// Each segment's cells, `ng` of them (`cells[s * ng + g]`); once the grid is kept
    /// ([`Grid::keep_compact`]), the own slots' that hold anything, where `own_at` says.
    cells: Vec<Cell>,
    /// Once kept: where segment `s`'s cell and tables of own slot `g` are (`own_at[s * nt +
    /// g]`, the row of `cells`, `stages` and `losses`; `NONE`: empty), and where its brief
    /// cell of comparison slot `g` is (`brief_at[s * (ng - nt) + g - nt]`, in `brief`);
    /// empty before.
    own_at: Vec<u32>,
    brief_at: Vec<u32>,
    /// Once kept: the comparison slots' cells that hold anything, the sums their formulas
    /// read.
    brief: Vec<Brief>,
    /// Whether the grid is kept compact ([`Grid::keep_compact`]).
    kept: bool,
    /// Each segment's stage and loss tables in each own slot (row `s * nt + g`, or once
    /// kept the row `own_at` says), `ns` and `nr` cells a row.
    stages: Vec<StageCell>,
    losses: Vec<LossCell>,
    cycle_off: Vec<u32>,
    cycle_vals: Vec<u32>,
    resp_off: Vec<u32>,
    resp_vals: Vec<u32>,
    max_cycle: usize,
    own_quota: Vec<Option<i64>>,
    team_unit_quota: HashMap<QuotaOn, Vec<usize>>,
    unit_spend: Vec<Vec<i64>>,
    company_spend: Vec<i64>,
    pub trace: pass::Trace,
    /// With a trace: the first day of its records and how many fall on each day from it
    /// (`None` when they span more than [`pass::DayCounts::PASS_LIMIT`] days).
    pub trace_days: Option<(Day, Vec<usize>)>,
    /// With a trace: its records on the first and on the last day.
    pub trace_edges: Option<pass::Edges>,
    /// The trace holds only those records ([`Want::ends_only`]).
    pub trace_ends_only: bool,
    /// With [`Want::tally`]: the traced records counted by branch and kind.
    pub tallies: Option<pass::Tallies>,
    /// What the pass was made for: its periods (in `main`'s order), day, comparison slots,
    /// and whether it passed over every owner (only then does it serve any scope).
    periods: Vec<Period>,
    today: Date,
    need: Need,
    everyone: bool,
    /// The classes the last roll-up of many scopes from this grid made (see
    /// [`Classes`]), kept for the next: a server rolls the same bulk export up from its
    /// kept pass on every request.
    classes: std::sync::Mutex<Option<KeptClasses>>,
}

/// [`Classes`] and what they were made for.
struct KeptClasses {
    scopes: Vec<Scope>,
    at: Vec<usize>,
    parts: Parts,
    classes: Arc<Classes>,
}

/// What the formulas read of a comparison slot's cell (last year's period, the trailing
/// twelve months and their parts: `revenue_growth_yoy`'s bookings, `ltv`'s bookings and
/// customers), kept in a grid held for later roll-ups instead of the whole [`Cell`]: 24
/// bytes against 208.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Brief {
    bookings: i64,
    customers_start: u32,
    customers_end: u32,
    customers_start_churned: u32,
}

impl Brief {
    fn of(c: &Cell) -> Brief {
        Brief {
            bookings: c.bookings,
            customers_start: c.customers_start,
            customers_end: c.customers_end,
            customers_start_churned: c.customers_start_churned,
        }
    }
    #[inline]
    fn add_to(&self, c: &mut Cell) {
        c.bookings += self.bookings;
        c.customers_start += self.customers_start;
        c.customers_end += self.customers_end;
        c.customers_start_churned += self.customers_start_churned;
    }
}

impl Grid {
    /// Where segment `s`'s cell and tables of own slot `g` are in a kept grid.
    #[inline]
    fn own_pos(&self, s: usize, g: usize) -> Option<usize> {
        match self.own_at[s * self.nt + g] {
            NONE => None,
            p => Some(p as usize),
        }
    }
    /// Segment `s`'s brief cell of comparison slot `g` in a kept grid.
    #[inline]
    fn brief_of(&self, s: usize, g: usize) -> Option<&Brief> {
        match self.brief_at[s * (self.ng - self.nt) + g - self.nt] {
            NONE => None,
            p => self.brief.get(p as usize),
        }
    }
    /// Adds segment `s`'s cell in slot `g` to `to` (of a comparison slot in a kept grid,
    /// the sums its formulas read).
    #[inline]
    fn add_cell(&self, to: &mut Cell, s: usize, g: usize) {
        if !self.kept {
            to.add(&self.cells[s * self.ng + g]);
        } else if g < self.nt {
            if let Some(p) = self.own_pos(s, g) {
                to.add(&self.cells[p]);
            }
        } else if let Some(b) = self.brief_of(s, g) {
            b.add_to(to);
        }
    }
    /// Segment `s`'s bookings in slot `g`.
    #[inline]
    fn bookings_at(&self, s: usize, g: usize) -> i64 {
        if !self.kept {
            self.cells[s * self.ng + g].bookings
        } else if g < self.nt {
            self.own_pos(s, g).map_or(0, |p| self.cells[p].bookings)
        } else {
            self.brief_of(s, g).map_or(0, |b| b.bookings)
        }
    }
    /// Segment `s`'s cell in slot `g` (as [`Grid::add_cell`] adds it).
    fn cell_at(&self, s: usize, g: usize) -> Cell {
        let mut c = Cell::default();
        self.add_cell(&mut c, s, g);
        c
    }
    /// Segment `s`'s stage and loss tables in own slot `g` (`None`: empty in a kept grid).
    #[inline]
    fn tables(&self, s: usize, g: usize) -> Option<(&[StageCell], &[LossCell])> {
        let (ns, nr) = (self.ns, self.nr);
        let row = if self.kept {
            self.own_pos(s, g)?
        } else {
            s * self.nt + g
        };
        Some((
            &self.stages[row * ns..(row + 1) * ns],
            &self.losses[row * nr..(row + 1) * nr],
        ))
    }
    /// Keeps the grid compact, for a grid held for later roll-ups (the server's standard
    /// passes, and its passes over periods of their own once their page is out): only the
    /// cells and tables that hold anything (a segment holds nothing in a period outside
    /// its days: about half of them), and of the comparison slots' cells only the four
    /// sums their formulas read (`Brief`: 24 bytes against 208). (Not for a pass a page
    /// waits on: a page over a date range of its own took 7-9 % longer, 229-231 → 245-251
    /// ms over 40 of them, with the comparison cells alone made brief.)
    pub fn keep_compact(&mut self) {
        drop(self.compact());
    }
    /// [`Grid::keep_compact`], handing back the whole arrays the grid held (empty when
    /// it was kept already), for the next pass to reuse ([`Engine::keep_compact`]). The
    /// compact arrays are new, each of its own length.
    fn compact(&mut self) -> Option<(Vec<Cell>, Vec<StageCell>, Vec<LossCell>)> {
        let (ng, nt, ns, nr) = (self.ng, self.nt, self.ns, self.nr);
        if self.kept || self.cells.is_empty() || ng == 0 {
            return None;
        }
        let nseg = self.cells.len() / ng;
        let nc = ng - nt.min(ng);
        let mut own_at = vec![NONE; nseg * nt];
        let mut brief_at = vec![NONE; nseg * nc];
        let (mut brief, mut kept) = (Vec::new(), Vec::new());
        for s in 0..nseg {
            for g in 0..ng {
                let c = &self.cells[s * ng + g];
                if g >= nt {
                    if *c != Cell::default() {
                        brief_at[s * nc + g - nt] = brief.len() as u32;
                        brief.push(Brief::of(c));
                    }
                    continue;
                }
                let row = s * nt + g;
                let empty = *c == Cell::default()
                    && self.stages[row * ns..(row + 1) * ns]
                        .iter()
                        .all(|x| *x == StageCell::default())
                    && self.losses[row * nr..(row + 1) * nr]
                        .iter()
                        .all(|x| *x == LossCell::default());
                if !empty {
                    own_at[row] = kept.len() as u32;
                    kept.push((s * ng + g, row));
                }
            }
        }
        let cells: Vec<Cell> = kept.iter().map(|&(k, _)| self.cells[k]).collect();
        let mut stages = Vec::with_capacity(kept.len() * ns);
        let mut losses = Vec::with_capacity(kept.len() * nr);
        for &(_, row) in &kept {
            stages.extend_from_slice(&self.stages[row * ns..(row + 1) * ns]);
            losses.extend_from_slice(&self.losses[row * nr..(row + 1) * nr]);
        }
        brief.shrink_to_fit();
        (self.own_at, self.brief_at, self.brief) = (own_at, brief_at, brief);
        self.kept = true;
        Some((
            std::mem::replace(&mut self.cells, cells),
            std::mem::replace(&mut self.stages, stages),
            std::mem::replace(&mut self.losses, losses),
        ))
    }
    /// Whether the grid is kept compact ([`Grid::keep_compact`]).
    pub fn is_kept(&self) -> bool {
        self.kept
    }
    /// Which slots segment `s` can hold anything in: each record and fact of a slot is
    /// attributed to its owner's segment on a day from the earlier of the slot's start
    /// and its as-of day (which comes first for a period that starts after today) up to
    /// its end (a person's segments cover every day: the first starts at [`NO_DAY`], the
    /// last runs on). The cells and tables of the other slots stay empty (see
    /// [`Grid::filled_beyond_reach`]).
    pub fn reach(&self, segs: &segments::Segments, s: usize) -> impl Fn(usize) -> bool + '_ {
        let (lo, hi) = (segs.from[s], segs.to[s]);
        move |g: usize| pass::reaches(&self.slots[g], lo, hi)
    }

    /// How many cells and table rows of segments in slots they cannot reach
    /// ([`Grid::reach`]) hold anything: zero, or the roll-up, which passes over them,
    /// would drop it.
    pub fn filled_beyond_reach(&self, segs: &segments::Segments) -> usize {
        let (ng, nt) = (self.ng, self.nt);
        let mut n = 0;
        for s in 0..segs.len() {
            let reach = self.reach(segs, s);
            for g in (0..ng).filter(|&g| !reach(g)) {
                n += usize::from(self.cell_at(s, g) != Cell::default());
                if let Some((st, lo)) = (g < nt).then(|| self.tables(s, g)).flatten() {
                    n += usize::from(st.iter().any(|x| *x != StageCell::default()));
                    n += usize::from(lo.iter().any(|x| *x != LossCell::default()));
                }
                let k = s * ng + g;
                n += usize::from(self.cycle_off[k] != self.cycle_off[k + 1]);
                n += usize::from(self.resp_off[k] != self.resp_off[k + 1]);
            }
        }
        n
    }

    /// The periods the pass was made for, in `main`'s order.
    pub fn periods(&self) -> &[Period] {
        &self.periods
    }
    /// Where each of `periods` sits among this grid's periods, if the grid can serve them:
    /// made on `today` over every owner, with at least the comparison slots and the record
    /// groups `need` asks for, and holding every one of them. A pass over all quarters of
    /// the data, say, then serves any list of those quarters through
    /// [`Engine::run_grid_at`].
    pub fn pick(&self, periods: &[Period], today: Date, need: Need) -> Option<Vec<usize>> {
        if !self.everyone || self.today != today || !self.need.covers(&need) {
            return None;
        }
        periods
            .iter()
            .map(|p| {
                // by its days: a range over a quarter's days is that quarter
                self.periods.iter().position(|q| {
                    q.start == p.start && q.end == p.end && q.whole_end == p.whole_end
                })
            })
            .collect()
    }
    /// Whether slot `g` is one of the periods' own (the others, last year's and the
    /// trailing months, are read for their cells alone and have no stage or loss tables).
    pub fn own(&self, g: usize) -> bool {
        g < self.nt
    }
    /// How many of the slots are the periods' own (the first ones).
    pub fn own_slots(&self) -> usize {
        self.nt
    }
    /// How many bytes the cells of the comparison slots (not the periods' own) hold: a
    /// whole [`Cell`] per segment and slot, read for a few sums alone (see
    /// docs/performance.md, "Where a page over a date range goes").
    pub fn comparison_bytes(&self) -> usize {
        if self.kept {
            return self.brief.len() * std::mem::size_of::<Brief>() + self.brief_at.len() * 4;
        }
        let per_slot = self.cells.len().checked_div(self.ng).unwrap_or(0);
        per_slot * (self.ng - self.nt.min(self.ng)) * std::mem::size_of::<Cell>()
    }
    /// About how many bytes the grid holds (for caches with a budget).
    pub fn bytes(&self) -> usize {
        use std::mem::size_of;
        self.cells.len() * size_of::<Cell>()
            + self.brief.len() * size_of::<Brief>()
            + (self.own_at.len() + self.brief_at.len()) * 4
            + self.stages.len() * size_of::<StageCell>()
            + self.losses.len() * size_of::<LossCell>()
            + (self.cycle_off.len()
                + self.cycle_vals.len()
                + self.resp_off.len()
                + self.resp_vals.len())
                * 4
            + self.own_quota.len() * size_of::<Option<i64>>()
            + self.unit_spend.iter().map(|u| u.len() * 8).sum::<usize>()
    }
}

/// One branch of a team's, a unit's or the company's tree ([`Engine::branch_parts`]): the
/// scope it is totalled as, its person (`None`: the people in no reporting line) or
/// sub-unit, whether it is the head's own records (a unit's direct members), and its
/// segments, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchPart {
    pub scope: Scope,
    pub person: Option<u32>,
    /// A unit's branch: the sub-unit (`None` with `own`: the unit's direct members).
    pub unit: Option<u32>,
    pub own: bool,
    pub segments: Vec<u32>,
}

/// Totals for every requested scope and slot, plus what the formulas need.
pub struct Computed {
    pub slots: Vec<Slot>,
    /// `totals[scope][slot]`.
    pub totals: Vec<Vec<Totals>>,
    /// Slot index of each requested period, its previous-year period and trailing window
    /// (and its parts).
    pub main: Vec<usize>,
    pub last_year: Vec<usize>,
    pub window: Vec<usize>,
    pub window_parts: Vec<Vec<usize>>,
    /// Contributions by (cell, what), when traced.
    pub trace: pass::Trace,
    /// The first day of the trace's records and how many fall on each day from it.
    pub trace_days: Option<(Day, Vec<usize>)>,
    /// Its records on the first and on the last day.
    pub trace_edges: Option<pass::Edges>,
    /// The trace holds only those records ([`Want::ends_only`]; not for a pass over
    /// open deals, whose records all fall on the as-of day).
    pub trace_ends_only: bool,
    /// With [`Want::tally`]: the traced records counted by branch and kind.
    pub tallies: Option<pass::Tallies>,
    pub ng: usize,
}

impl Engine {
    pub fn new(book: Book) -> Engine {
        let segs = Segments::build(&book);
        let accounts = pass::AccountIndex::build(&book);
        let look = pass::Lookups::of(&book);
        // (each unit's line of ancestors found once, for all its entries)
        let mut lines: Vec<Option<Vec<u32>>> = vec![None; book.units.len()];
        let spend_owners = book
            .spend
            .iter()
            .map(|x| match x.target {
                SpendTarget::Person(p) => p,
                SpendTarget::Unit(u) => {
                    let line = lines[u as usize].get_or_insert_with(|| unit_ancestors(&book, u));
                    segs.unit_head(u, line, x.day).unwrap_or(NONE)
                }
                SpendTarget::Company => NONE,
            })
            .collect();
        let mut target_ix: HashMap<(u8, QuotaOn), Vec<u32>> = HashMap::new();
        for (i, q) in book.targets.iter().enumerate() {
            target_ix
                .entry((q.metric, q.target))
                .or_default()
                .push(i as u32);
        }
        Engine {
            target_ix,
            look,
            spend_owners,
            book,
            segs,
            accounts,
            spare: std::sync::Mutex::new(None),
            spare_middles: std::sync::Mutex::new(Default::default()),
            spare_values: std::sync::Mutex::new(Vec::new()),
            spans: std::sync::OnceLock::new(),
            day_index: std::sync::OnceLock::new(),
            last: std::sync::OnceLock::new(),
            first: std::sync::OnceLock::new(),
            every_deal: std::sync::atomic::AtomicBool::new(false),
            one_off: std::sync::atomic::AtomicBool::new(false),
            split_from: std::sync::atomic::AtomicU64::new(SPLIT_FROM),
        }
    }

    /// The least work from which a pass is split into chunks between threads (the
    /// default: [`SPLIT_FROM`]): the same numbers and records however it is split, which
    /// the tests check with this on small books.
    pub fn split_passes_from(&self, work: u64) {
        self.split_from
            .store(work, std::sync::atomic::Ordering::Relaxed);
    }

    /// Keeps nothing a run is done with for the next one: for a process that makes one
    /// run and ends (the CLI without `--repeat`). The median inputs' runs, kept for the
    /// next pass, had been 67 MB of a cold bulk export's peak at 10M; let go of, the
    /// roll-up after them takes their memory. The numbers are the same either way.
    pub fn keep_nothing_for_next(&self) {
        self.one_off
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether passes read every deal (`true`) or pass over the blocks of deals that
    /// cannot meet their periods (the default for drill-downs): the same numbers and
    /// records either way, which the tests check with this.
    pub fn read_every_deal(&self, yes: bool) {
        self.every_deal
            .store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Parses `person:ID`, `team:ID`, `unit:ID` or `company`. A person may be named by
    /// id, e-mail or exact name.
    pub fn scope(&self, s: &str) -> Result<Scope, ScorecardError> {
        let s = s.trim();
        if s == "company" {
            return Ok(Scope::Company);
        }
        let (kind, id) = s.split_once(':').ok_or_else(|| {
            ScorecardError::Scope(format!(
                "{s:?} is not a scope: use person:ID, team:ID, unit:ID or company"
            ))
        })?;
        match kind {
            "person" | "team" => {
                let p = self.person(id).ok_or_else(|| {
                    ScorecardError::Scope(format!("{s:?}: there is no person {id:?}"))
                })?;
                Ok(if kind == "person" {
                    Scope::Person(p)
                } else {
                    Scope::Team(p)
                })
            }
            "unit" => self
                .book
                .unit_ix
                .get(id)
                .map(|&u| Scope::Unit(u))
                .ok_or_else(|| ScorecardError::Scope(format!("{s:?}: there is no unit {id:?}"))),
            _ => Err(ScorecardError::Scope(format!(
                "{s:?} is not a scope: use person:ID, team:ID, unit:ID or company"
            ))),
        }
    }

    /// For a scope that names no one ([`Engine::scope`] refused it), the scope it was most
    /// likely meant to be, with its person's or unit's name: `team:P-00014 (Tariq Rossi)`,
    /// by [`crate::names::nearest_holder`] over every person's and unit's id and name (none
    /// where the nearest is a name two of them share). It looks past any lens (it names
    /// people a viewer may not see), so it is for the command line, whose user holds the
    /// whole store, and not for the server.
    pub fn unscoped_nearest_scope(&self, s: &str) -> Option<String> {
        let (kind, id) = s.trim().split_once(':')?;
        let kind = match kind {
            "person" | "team" | "unit" => kind,
            _ => crate::names::nearest(kind, ["person", "team", "unit"])?,
        };
        if kind == "unit" {
            let u = crate::names::nearest_holder(id, &self.book.units, |u| {
                [u.id.as_str(), u.name.as_str()]
            })?;
            return Some(format!("unit:{} ({})", u.id, u.name));
        }
        // (a mistyped kind with a right id: that person)
        let p = match self.person(id) {
            Some(p) => &self.book.people[p as usize],
            None => self.unscoped_nearest_person(id)?,
        };
        Some(format!("{kind}:{} ({})", p.id, p.name))
    }

    /// The person a key that names no one was most likely meant to name (see
    /// [`Engine::unscoped_nearest_scope`]: for the command line only).
    pub fn unscoped_nearest_person(&self, key: &str) -> Option<&book::PersonInfo> {
        let people = &self.book.people[..self.book.nobody() as usize];
        crate::names::nearest_holder(key, people, |p| [p.id.as_str(), p.name.as_str()])
    }

    /// A person by id, e-mail or exact name.
    pub fn person(&self, key: &str) -> Option<u32> {
        if let Some(p) = self.book.person(key) {
            return Some(p);
        }
        let n = self.book.nobody() as usize;
        self.book.people[..n]
            .iter()
            .position(|p| p.name == key)
            .map(|i| i as u32)
    }

    pub fn scope_name(&self, s: Scope) -> String {
        match s {
            Scope::Person(p) => format!("person:{}", self.book.people[p as usize].id),
            Scope::Team(p) => format!("team:{}", self.book.people[p as usize].id),
            Scope::Unit(u) => format!("unit:{}", self.book.units[u as usize].id),
            Scope::Company => "company".into(),
        }
    }

    /// A scope as people read it, for headings: a person's name, "Name's team", a unit's
    /// name; the company by the name of its one top unit of kind company, else "Company"
    /// ([`Engine::scope_name`] is the id).
    pub fn scope_title(&self, s: Scope) -> String {
        match s {
            Scope::Person(p) => self.book.people[p as usize].name.clone(),
            Scope::Team(p) => format!("{}'s team", self.book.people[p as usize].name),
            Scope::Unit(u) => self.book.units[u as usize].name.clone(),
            Scope::Company => {
                let mut tops =
                    self.book.units.iter().filter(|u| {
                        u.parent.is_none() && u.kind == crate::records::UnitKind::Company
                    });
                match (tops.next(), tops.next()) {
                    (Some(u), None) => u.name.clone(),
                    _ => "Company".into(),
                }
            }
        }
    }

    /// Every `team:` scope (people who led anyone during `[from, to)`) and every `unit:`.
    pub fn all_team_and_unit_scopes(&self, from: Date, to: Date) -> Vec<Scope> {
        let mut v: Vec<Scope> = self
            .segs
            .leaders(day(from), day(to))
            .into_iter()
            .map(Scope::Team)
            .collect();
        v.extend((0..self.book.units.len() as u32).map(Scope::Unit));
        v
    }

    /// The first day any record is dated (for "all of history" defaults).
    pub fn first_day(&self) -> Option<Date> {
        let first = *self.first.get_or_init(|| {
            let b = &self.book;
            b.opps
                .created
                .iter()
                .chain(&b.opps.close)
                .chain(&b.leads.created_day)
                .chain(&b.activities.day)
                .copied()
                .filter(|&d| d != NO_DAY)
                .min()
        });
        first.map(date_of)
    }

    /// The last day any record is dated: a deal's creation, its close (expected, for an
    /// open deal), a stage change, a lead, an activity.
    pub fn last_day(&self) -> Option<Date> {
        let last = *self.last.get_or_init(|| {
            let b = &self.book;
            let o = &b.opps;
            o.created
                .iter()
                .chain(&o.close)
                .chain(&b.history.day)
                .chain(&b.leads.created_day)
                .chain(&b.activities.day)
                .copied()
                .filter(|&d| d != NO_DAY)
                .max()
        });
        last.map(date_of)
    }

    /// The day a view of "the current period" is taken around when none is named:
    /// `today`, unless every record is dated more than a quarter before it (a historical
    /// export such as a sample set, whose current quarter would be empty): then the last
    /// day a record is dated. Only the default period moves; the as-of day of the periods
    /// stays as spec §1 sets it.
    pub fn current_day(&self, today: Date) -> Date {
        match self.last_day() {
            Some(last) if crate::period::add_months(last, 3) < today => last,
            _ => today,
        }
    }

    /// The periods of `grain` that one company-wide pass should hold so that most views
    /// over periods of that grain roll up from it (see [`Grid::pick`]), up to the end of
    /// today's fiscal year (a year's chart shows every month of it). Quarters and years
    /// start two years before the first record, since trend charts and last-year
    /// comparisons reach back that far; months, which cost three times the memory of
    /// quarters, start 36 months before today (any of the last 24 months with its
    /// fiscal year's months and last year's month).
    pub fn standard_periods(&self, grain: Grain, today: Date) -> Vec<Period> {
        let cal = &self.book.settings.fiscal;
        let from = match grain {
            Grain::Month => crate::period::add_months(today, -36),
            _ => crate::period::add_months(self.first_day().unwrap_or(today).min(today), -24),
        };
        let to = Period::containing(cal, Grain::Year, today).last_day();
        periods_between(cal, grain, from, to)
    }

    /// The as-of day of a period (spec §1): the earlier of today and its last day.
    pub fn as_of(period: &Period, today: Date) -> Date {
        today.min(period.last_day())
    }

    fn slot_of(slots: &mut Vec<Slot>, p: &Period, today: Date, full: bool) -> usize {
        let s = Slot {
            start: day(p.start),
            end: day(p.end),
            whole_end: day(p.whole_end),
            asof: day(Self::as_of(p, today)),
            full,
            own: false,
        };
        if let Some(i) = slots
            .iter()
            .position(|x| x.start == s.start && x.end == s.end && x.whole_end == s.whole_end)
        {
            if full {
                slots[i].full = true;
            }
            return i;
        }
        slots.push(s);
        slots.len() - 1
    }

    /// The 12 months ending at the period's end (spec §5 `ltv`: from the same day a year
    /// before, a range's too), and the periods of the same grain that make it up (for
    /// summing bookings without another pass).
    fn window(&self, p: &Period) -> (Period, Option<Vec<Period>>) {
        let cal = &self.book.settings.fiscal;
        let start = crate::period::add_years(p.end, -1);
        let w = Period::range(start, p.end).unwrap_or(*p);
        // a period to date: the whole period's window as it stood on its last day so far
        // (as a period under way has it today)
        if p.is_to_date() {
            let start = crate::period::add_years(p.whole_end, -1);
            let w = Period::range(start, p.whole_end)
                .ok()
                .and_then(|w| w.to_date(p.last_day()))
                .unwrap_or(w);
            return (w, None);
        }
        let grain = if *p == Period::containing(cal, Grain::Quarter, p.start) {
            Some((Grain::Quarter, 3))
        } else if *p == Period::containing(cal, Grain::Month, p.start) {
            Some((Grain::Month, 1))
        } else if *p == Period::containing(cal, Grain::Year, p.start) {
            Some((Grain::Year, 12))
        } else {
            None
        };
        let parts = grain.map(|(g, months)| {
            (0..12 / months)
                .map(|k| Period::containing(cal, g, crate::period::add_months(start, k * months)))
                .collect()
        });
        (w, parts)
    }

    /// The pass: every record of the owners that `scopes` need, added into the
    /// (segment × slot) cells of `periods` and the slots their formulas need. With
    /// `trace`, every contribution is recorded for `explain`.
    pub fn prepare(
        &self,
        scopes: &[Scope],
        periods: &[Period],
        today: Date,
        trace: bool,
    ) -> Result<Grid, ScorecardError> {
        self.prepare_with(scopes, periods, today, trace, Need::ALL, None)
    }

    /// [`Engine::prepare`] with only the comparison slots and the record groups `need`
    /// names.
    #[allow(clippy::too_many_arguments)]
    pub fn prepare_with(
        &self,
        scopes: &[Scope],
        periods: &[Period],
        today: Date,
        trace: bool,
        need: Need,
        want: Option<&pass::Want<'_>>,
    ) -> Result<Grid, ScorecardError> {
        let walk = need.walk;
        let book = &self.book;
        let segs = &self.segs;
        let mut slots: Vec<Slot> = Vec::new();
        let mut main = Vec::new();
        let mut last_year = Vec::new();
        let mut window = Vec::new();
        let mut window_parts = Vec::new();
        // the periods' own slots first: slot `g` has stage and loss tables, at row `g`, when
        // `g < nt` (the comparison slots, last year's and the trailing months', come after)
        for p in periods {
            main.push(Self::slot_of(&mut slots, p, today, true));
        }
        let nt = slots.len();
        // the days where the periods and their trailing windows start and end: a window
        // with no parts of its grain is cut there into parts that the other periods' own
        // slots and windows share (a page over a date range: the range's window is the
        // range and the months since last year's range; the one before's is last year's
        // range and the same months)
        let windows: Vec<(Period, Option<Vec<Period>>)> = if need.window {
            periods.iter().map(|p| self.window(p)).collect()
        } else {
            Vec::new()
        };
        let cuts: Vec<Date> = if need.window && periods.len() > 1 {
            let mut cuts: Vec<Date> = periods
                .iter()
                .zip(&windows)
                .filter(|(p, _)| !p.is_to_date())
                .flat_map(|(p, (w, _))| [p.start, p.end, w.start, w.end])
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            cuts
        } else {
            Vec::new()
        };
        for (pi, (p, &m)) in periods.iter().zip(&main).enumerate() {
            // (of a period to date, last year's whole period, as a period under way
            // compares with today)
            last_year.push(if need.last_year {
                Self::slot_of(&mut slots, &p.whole().shifted_years(-1), today, true)
            } else {
                m
            });
            if !need.window {
                window_parts.push(vec![m]);
                window.push(m);
                continue;
            }
            let (w, parts) = windows[pi].clone();
            // periods of one grain share their parts (a year of quarters sums four of its
            // own slots); one period alone is better served by one slot over the twelve
            // months (a drill-down: two slots' cells instead of thirteen)
            match parts.filter(|_| periods.len() > 1) {
                Some(parts) => {
                    window_parts.push(
                        parts
                            .iter()
                            .map(|q| Self::slot_of(&mut slots, q, today, true))
                            .collect(),
                    );
                    window.push(Self::slot_of(&mut slots, &w, today, false));
                }
                None if periods.len() > 1 && !p.is_to_date() => {
                    let inside = cuts.iter().copied().filter(|&d| w.start < d && d < w.end);
                    let ends: Vec<Date> = std::iter::once(w.start)
                        .chain(inside)
                        .chain(std::iter::once(w.end))
                        .collect();
                    window_parts.push(
                        ends.windows(2)
                            .filter_map(|e| Period::range(e[0], e[1]).ok())
                            .map(|q| Self::slot_of(&mut slots, &q, today, true))
                            .collect(),
                    );
                    window.push(Self::slot_of(&mut slots, &w, today, false));
                }
                None => {
                    let g = Self::slot_of(&mut slots, &w, today, true);
                    window_parts.push(vec![g]);
                    window.push(g);
                }
            }
        }
        for &g in &main {
            slots[g].own = true;
        }
        let ng = slots.len();
        let np = book.people.len();
        let ns = book.stages.len();
        let nr = book.loss_reasons.len() + 1;

        // Which owners matter.
        let (owners, all) = self.owners_of(scopes);
        // reps_at_quota_share needs every in-scope rep's own book: already in `owners`.

        // Own-book quotas per person and slot.
        let mut own_quota: Vec<Option<i64>> = vec![None; np * ng];
        for q in &book.quotas {
            if let QuotaOn::Person(p) = q.target {
                for (g, sl) in slots.iter().enumerate() {
                    if let Some(x) = book.quota_share(q, sl.start, sl.whole_end) {
                        let e = &mut own_quota[p as usize * ng + g];
                        *e = Some(e.unwrap_or(0) + x);
                    }
                }
            }
        }

        let nseg = segs.len();
        let Spare {
            mut cells,
            mut stages,
            mut losses,
            mut cycle_vals,
            mut resp_vals,
            mut runs,
        } = self
            .spare
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .unwrap_or_default();
        let mut fresh_runs = || {
            let mut v = runs.pop().unwrap_or_default();
            v.clear();
            v
        };
        // the arrays of the last pass are zeroed by the threads that write them, each its
        // own share (on both cores); only a new size is made here, of zeros, which the
        // threads leave as they are (a cold run wrote its ~225 MB of zeros twice)
        // (clearing only the cells a segment can reach, about half at 10M, wrote no less:
        // each such cell is read before it is written, where a whole array is not)
        let clear = [
            !zeros(&mut cells, nseg * ng),
            !zeros(&mut stages, nseg * nt * ns),
            !zeros(&mut losses, nseg * nt * nr),
        ];
        let layers = pass::layers(&slots);
        let look = &self.look;
        // a pass over some record groups — a drill-down (one period), or a run over some
        // KPIs (see `run_lapped`) — or over own periods that span two years or less (a
        // page over a date range: its period, the one before and last year's) passes over
        // the deal blocks far from its periods' days and takes closed deals by their close
        // day; the full scorecard's pass, whose periods cover most of the history, reads
        // every deal
        let every_deal = self.every_deal.load(std::sync::atomic::Ordering::Relaxed);
        let own_days: i64 = layers
            .iter()
            .flat_map(|l| l.reach())
            .map(|&(lo, hi)| i64::from(hi) - i64::from(lo))
            .sum();
        let narrow = (walk != Walk::ALL || own_days <= NARROW_DAYS) && !every_deal;
        let spans = narrow.then(|| self.spans.get_or_init(|| pass::deal_spans(book)).as_slice());
        // (and the indexes of the owners' rows by day, but not for a one-off run, whose
        // searches cost less than making them)
        let index =
            (narrow && !self.one_off.load(std::sync::atomic::Ordering::Relaxed)).then(|| {
                self.day_index
                    .get_or_init(|| pass::DayIndexes::of(book, look))
            });

        // (an untraced walk over the stage history reads the book's `StageWalk`: made
        // here, on two threads, before the pass's threads would wait for one to make it)
        if (walk.entered || walk.left) && !trace && layers.iter().any(|l| l.flat) {
            look.stage_walk(book);
        }

        // Split owners into chunks of about equal work, a few per thread.
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8);
        let work = |p: usize| -> u64 {
            let o = &book.opps.owner_off;
            let l = &book.leads.owner_off;
            let a = &book.activities.owner_off;
            u64::from(o[p + 1] - o[p]) * 3
                + u64::from(l[p + 1] - l[p])
                + u64::from(a[p + 1] - a[p]) / 2
                + 1
        };
        let total: u64 = (0..np).filter(|&p| owners[p]).map(work).sum();
        // a trace is the same with several threads: the parts follow in owner order
        // an untraced pass: a few chunks per thread, taken in turn (the estimate above
        // misses the cost of the stage history and the records' days, and fixed halves
        // left one thread idle for up to a third of the pass); a traced one: one chunk
        // per thread (its trace's parts are kept apart: more parts, more buffers)
        let chunks = if total < self.split_from.load(std::sync::atomic::Ordering::Relaxed) {
            1
        } else if trace {
            threads
        } else {
            threads * CHUNKS_PER_THREAD
        };
        let mut bounds = vec![0usize];
        let mut acc = 0u64;
        for (p, &owns) in owners.iter().enumerate().take(np) {
            if owns {
                acc += work(p);
            }
            if bounds.len() < chunks && acc * chunks as u64 >= total * bounds.len() as u64 {
                bounds.push(p + 1);
            }
        }
        while bounds.len() <= chunks {
            bounds.push(np);
        }
        *bounds.last_mut().unwrap_or(&mut 0) = np;

        // where the trace's records are on its first and last days
        let edges_noted = trace && walk.notes_ends();
        // a drill-down's first pages: only the records of the first and the last day
        let ends_only = edges_noted && want.is_some_and(|w| w.ends_only);
        // each cell's row among the branches ([`Want::rows`]: its segment's, for each of its
        // slots), so that no record's segment is worked out by a division
        let key_rows: Option<Vec<u32>> = want
            .filter(|_| trace)
            .and_then(|w| w.rows)
            .map(|r| r.iter().flat_map(|&x| std::iter::repeat_n(x, ng)).collect());
        // the records counted by branch in the pass: as many rows as the branches'
        let tally_rows = want
            .filter(|w| trace && w.tally.is_some())
            .and_then(|w| w.rows)
            .map(|r| {
                r.iter()
                    .filter(|&&x| x != u32::MAX)
                    .max()
                    .map_or(0, |&m| m as usize + 1)
            });
        let mut parts: Vec<Part> = Vec::new();
        {
            let (mut c_rest, mut s_rest, mut l_rest) =
                (&mut cells[..], &mut stages[..], &mut losses[..]);
            for w in bounds.windows(2) {
                let seg0 = segs.by_person[w[0]];
                let seg1 = segs.by_person[w[1]];
                let n = (seg1 - seg0) as usize * ng;
                let nts = (seg1 - seg0) as usize * nt;
                let (c, cr) = c_rest.split_at_mut(n);
                let (s, sr) = s_rest.split_at_mut(nts * ns);
                let (l, lr) = l_rest.split_at_mut(nts * nr);
                c_rest = cr;
                s_rest = sr;
                l_rest = lr;
                parts.push(Part {
                    seg0,
                    ng,
                    nt,
                    ns,
                    nr,
                    cells: c,
                    stages: s,
                    losses: l,
                    cycles: fresh_runs(),
                    responses: fresh_runs(),
                    trace: trace.then(|| {
                        if ends_only {
                            Vec::new()
                        } else {
                            spare::TRACES.take()
                        }
                    }),
                    trace_days: trace.then(|| pass::DayCounts::new(pass::DayCounts::PASS_LIMIT)),
                    trace_edges: (edges_noted && !ends_only).then(pass::Edges::default),
                    trace_ends: ends_only.then(pass::Edges::default),
                    tallies: tally_rows.map(pass::Tallies::new),
                    key_rows: key_rows.as_deref(),
                    want,
                    walk,
                    spans,
                    index,
                });
            }
        }
        let queue = std::sync::Mutex::new(parts.iter_mut().zip(bounds.windows(2)));
        let nthreads = threads.min(chunks);
        let results: Vec<Result<(), ScorecardError>> = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..nthreads)
                .map(|_| {
                    let queue = &queue;
                    let owners = &owners;
                    let layers = &layers;
                    let slots = &slots;
                    let own_quota = &own_quota;
                    sc.spawn(move || -> Result<(), ScorecardError> {
                        loop {
                            // (the lock is held only to take the next chunk: nothing
                            // can poison it, and no chunk is ever left out)
                            let next = match queue.lock() {
                                Ok(mut q) => q.next(),
                                Err(poisoned) => poisoned.into_inner().next(),
                            };
                            let Some((part, w)) = next else { break };
                            let (lo, hi) = (w[0], w[1]);
                            if clear[0] {
                                part.cells.fill(Cell::default());
                            }
                            if clear[1] {
                                part.stages.fill(StageCell::default());
                            }
                            if clear[2] {
                                part.losses.fill(LossCell::default());
                            }
                            let listed = pass::customers_listed(slots, part);
                            for (p, _) in
                                owners.iter().enumerate().take(hi).skip(lo).filter(|o| *o.1)
                            {
                                for layer in layers {
                                    pass::owner_records(
                                        book, segs, slots, layer, look, p as u32, part,
                                    )?;
                                }
                                pass::people_facts(book, segs, slots, own_quota, p as u32, part);
                                pass::owner_customers(
                                    book,
                                    segs,
                                    &self.accounts,
                                    slots,
                                    &listed,
                                    p as u32,
                                    part,
                                );
                                pass::owner_surveys(
                                    book, segs, &self.look, slots, layers, p as u32, part,
                                );
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(ScorecardError::Data("a scorecard thread failed".into()))
                    })
                })
                .collect()
        });
        for r in results {
            r?;
        }
        // each thread's median inputs, in owner order
        let cycles: Vec<pass::Runs> = parts
            .iter_mut()
            .map(|p| std::mem::take(&mut p.cycles))
            .collect();
        let responses: Vec<pass::Runs> = parts
            .iter_mut()
            .map(|p| std::mem::take(&mut p.responses))
            .collect();
        // the parts' traces, in owner order
        let mut day_counts: Vec<pass::DayCounts> = parts
            .iter_mut()
            .filter_map(|p| p.trace_days.take())
            .collect();
        let mut edges = edges_noted.then(pass::Edges::default);
        let mut tr = pass::Trace::default();
        // (with `ends_only`: the first and last days' records, in owner order)
        let mut ends: pass::Edges<Traced> = pass::Edges::default();
        let mut tallies: Option<pass::Tallies> = None;
        let mut add_tallies = |t: Option<pass::Tallies>| match (&mut tallies, t) {
            (Some(all), Some(t)) => all.merge(&t),
            (all @ None, t) => *all = t,
            (Some(_), None) => {}
        };
        for p in &mut parts {
            add_tallies(p.tallies.take());
            if let (Some(all), Some(e)) = (edges.as_mut(), p.trace_edges.take()) {
                all.join(e, tr.len() as u32);
            }
            if let Some(e) = p.trace_ends.take() {
                ends.join_with(e, |x| x);
            }
            if let Some(t) = p.trace.take() {
                tr.push(t);
            }
        }
        drop(parts);
        {
            let mut whole = Part {
                seg0: 0,
                ng,
                nt,
                ns,
                nr,
                cells: &mut cells,
                stages: &mut stages,
                losses: &mut losses,
                cycles: pass::Runs::default(),
                responses: pass::Runs::default(),
                trace: trace.then(Vec::new),
                trace_days: trace.then(|| pass::DayCounts::new(pass::DayCounts::PASS_LIMIT)),
                trace_edges: (edges_noted && !ends_only).then(pass::Edges::default),
                trace_ends: ends_only.then(pass::Edges::default),
                tallies: tally_rows.map(pass::Tallies::new),
                key_rows: key_rows.as_deref(),
                want,
                walk,
                spans: None,
                index: None,
            };
            pass::person_spend(
                book,
                segs,
                &self.spend_owners,
                &layers,
                if all { None } else { Some(&owners) },
                &mut whole,
            );
            if let (Some(all), Some(e)) = (edges.as_mut(), whole.trace_edges.take()) {
                all.join(e, tr.len() as u32);
            }
            if let Some(e) = whole.trace_ends.take() {
                ends.join_with(e, |x| x);
            }
            if let Some(t) = whole.trace.take() {
                tr.push(t);
            }
            day_counts.extend(whole.trace_days.take());
            add_tallies(whole.tallies.take());
        }
        if ends_only {
            // the kept records are the trace, and their positions its edges
            let (t, e) = ends.into_trace();
            tr.give_back();
            (tr, edges) = (t, Some(e));
        }

        // Group median inputs by cell (counting sort), straight from each thread's runs
        // into the reused arrays. The runs' lengths are the counts (reading them from the
        // cells read a line of every cell of the grid, 616K at 10M deals).
        let group = |lists: &[pass::Runs]| -> Vec<u32> {
            let mut off = vec![0u32; cells.len() + 1];
            for &(k, n) in lists.iter().flat_map(|l| &l.runs) {
                off[k as usize + 1] += n;
            }
            for k in 0..cells.len() {
                off[k + 1] += off[k];
            }
            off
        };
        // (a run of one cell's values at a time: a copy)
        let place = |off: &[u32], lists: &[pass::Runs], vals: &mut Vec<u32>| {
            vals.clear();
            vals.resize(lists.iter().map(pass::Runs::len).sum(), 0);
            let mut next = off.to_vec();
            for (k, run) in lists.iter().flat_map(pass::Runs::each) {
                let at = next[k as usize] as usize;
                vals[at..at + run.len()].copy_from_slice(run);
                next[k as usize] += run.len() as u32;
            }
        };
        // sales cycles on another core while response times are placed here
        let (cycle_off, resp_off) = std::thread::scope(|sc| {
            let h = sc.spawn(|| {
                let off = group(&cycles);
                place(&off, &cycles, &mut cycle_vals);
                off
            });
            let resp_off = group(&responses);
            place(&resp_off, &responses, &mut resp_vals);
            let cycle_off = h
                .join()
                .map_err(|_| ScorecardError::Data("a scorecard thread failed".into()));
            cycle_off.map(|c| (c, resp_off))
        })?;
        // the lists go back for the next pass (the arrays go with the grid: see `run_in`)
        self.keep_spare(|sp| sp.runs.extend(cycles.into_iter().chain(responses)));
        let max_cycle = cycle_vals.iter().copied().max().unwrap_or(0) as usize;

        // Quotas set on teams and units; spend on units nobody headed (with their
        // ancestors) and on the company, per slot.
        let mut team_unit_quota: HashMap<QuotaOn, Vec<usize>> = HashMap::new();
        for (i, q) in book.quotas.iter().enumerate() {
            if !matches!(q.target, QuotaOn::Person(_)) {
                team_unit_quota.entry(q.target).or_default().push(i);
            }
        }
        let nu = book.units.len();
        let mut unit_spend = vec![vec![0i64; nu]; ng];
        let mut company_spend = vec![0i64; ng];
        for (x, &owner) in book.spend.iter().zip(&self.spend_owners) {
            // (spend on a person, or on a unit with a head, is theirs: added by the pass)
            if owner != NONE {
                continue;
            }
            for (g, sl) in slots.iter().enumerate() {
                if x.day < sl.start || x.day >= sl.end {
                    continue;
                }
                match x.target {
                    SpendTarget::Person(_) => {}
                    SpendTarget::Company => company_spend[g] += x.amount,
                    SpendTarget::Unit(v) => {
                        company_spend[g] += x.amount;
                        for u in unit_ancestors(book, v) {
                            unit_spend[g][u as usize] += x.amount;
                        }
                    }
                }
            }
        }
        Ok(Grid {
            slots,
            main,
            last_year,
            window,
            window_parts,
            ng,
            ns,
            nr,
            nt,
            cells,
            own_at: Vec::new(),
            brief_at: Vec::new(),
            brief: Vec::new(),
            kept: false,
            stages,
            losses,
            cycle_off,
            cycle_vals,
            resp_off,
            resp_vals,
            max_cycle,
            own_quota,
            team_unit_quota,
            unit_spend,
            company_spend,
            trace: tr,
            trace_days: trace
                .then(|| pass::DayCounts::sum(day_counts, pass::DayCounts::PASS_LIMIT))
                .flatten(),
            trace_edges: edges,
            trace_ends_only: ends_only,
            tallies,
            periods: periods.to_vec(),
            today,
            need,
            everyone: all,
            classes: std::sync::Mutex::new(None),
        })
    }

    /// The people whose records count for `scopes` (and whether that is everyone).
    fn owners_of(&self, scopes: &[Scope]) -> (Vec<bool>, bool) {
        let segs = &self.segs;
        let mut owners = vec![false; self.book.people.len()];
        let mut all = false;
        for s in scopes {
            match *s {
                Scope::Company => all = true,
                Scope::Person(p) => owners[p as usize] = true,
                Scope::Team(p) => {
                    for &sg in &segs.of_scope[p as usize] {
                        owners[segs.person[sg as usize] as usize] = true;
                    }
                }
                Scope::Unit(u) => {
                    for &sg in &segs.of_scope[segs.unit(u) as usize] {
                        owners[segs.person[sg as usize] as usize] = true;
                    }
                }
            }
        }
        if all {
            owners.iter_mut().for_each(|o| *o = true);
        }
        (owners, all)
    }

    /// The opportunities of owner `p` that may have been open on day `d` (created by then
    /// and open, or closed after it): those of the deal blocks whose span meets the day
    /// (see [`pass::deal_spans`]), a few more than the open ones, each still to be tested.
    /// A company's open pipeline on a day of the past reads a tenth of its deals so.
    /// Every deal of the owner where [`Engine::read_every_deal`] is set.
    pub fn deals_maybe_open_on(&self, p: u32, d: Day) -> impl Iterator<Item = usize> + '_ {
        let o = &self.book.opps;
        let spans: &[(Day, Day)] = if self.every_deal.load(std::sync::atomic::Ordering::Relaxed) {
            &[]
        } else {
            self.spans.get_or_init(|| pass::deal_spans(&self.book))
        };
        let deals = o.owner_off[p as usize] as usize..o.owner_off[p as usize + 1] as usize;
        pass::deals_meeting(deals, spans, [(d, d.saturating_add(1))]).flatten()
    }

    /// Owner `p`'s deals open on day `d` as their records stand ([`Engine::open_on`]),
    /// each with its state that day ([`pass::open_states`]: its close date, amount,
    /// forecast category… then).
    pub fn open_states_of(
        &self,
        p: u32,
        d: Day,
    ) -> impl Iterator<Item = (usize, pass::OpenState)> + '_ {
        let from = self.look.overrides[p as usize];
        pass::open_states(
            &self.book,
            self.deals_maybe_open_on(p, d),
            d,
            from,
            move |i| self.open_on(i, d),
        )
    }

    /// Whether opportunity `i` was open on day `d` as its record stands (not as its stage
    /// history had it then): created by `d` and open still or closed after `d`, as a pass
    /// counts a deal open on an as-of day (an open deal created on an unknown day was open
    /// on every day; a closed one, on none).
    pub fn open_on(&self, i: usize, d: Day) -> bool {
        let o = &self.book.opps;
        let (created, close) = (o.created[i], o.close[i]);
        match o.status[i] {
            crate::records::OppStatus::Open => created == NO_DAY || created <= d,
            _ => created != NO_DAY && close != NO_DAY && created <= d && close > d,
        }
    }

    /// What a pass over `scopes` reads: the opportunities, leads and activity rows their
    /// owners hold, against the whole book's.
    pub fn pass_size(&self, scopes: &[Scope]) -> (u64, u64) {
        let b = &self.book;
        let of = |p: usize| -> u64 {
            let span = |off: &[u32]| u64::from(off[p + 1] - off[p]);
            span(&b.opps.owner_off) + span(&b.leads.owner_off) + span(&b.activities.owner_off)
        };
        let (owners, _) = self.owners_of(scopes);
        let mine = (0..owners.len()).filter(|&p| owners[p]).map(of).sum();
        let all = (b.opps.len() + b.leads.len() + b.activities.len()) as u64;
        (mine, all)
    }

    /// The index among the segments' scopes of a team or unit scope (`None` for the
    /// company and a person, which are not among them).
    fn scope_ix(&self, scope: Scope) -> Option<segments::ScopeIx> {
        match scope {
            Scope::Team(p) => Some(self.segs.team(p)),
            Scope::Unit(u) => Some(self.segs.unit(u)),
            Scope::Company | Scope::Person(_) => None,
        }
    }

    /// The segments whose records count for `scope` (sorted).
    pub fn segments_of(&self, scope: Scope) -> std::borrow::Cow<'_, [u32]> {
        let segs = &self.segs;
        match (scope, self.scope_ix(scope)) {
            (_, Some(x)) => segs.of_scope[x as usize].as_slice().into(),
            (Scope::Person(p), None) => segs.of_person(p).collect::<Vec<_>>().into(),
            _ => (0..segs.len() as u32).collect::<Vec<_>>().into(),
        }
    }

    /// Rolls a scope's cells up for slot `g`. `full` adds everything beyond the additive
    /// cell (stage and loss tables, medians, distinct reps, quota, span); the slots that
    /// only feed another period's formula (last year, trailing window) skip it.
    pub fn totals(&self, grid: &Grid, scope: Scope, list: &[u32], g: usize, full: bool) -> Totals {
        let parts = full.then_some(Parts::ALL);
        self.totals_of(
            grid,
            scope,
            list,
            g,
            parts,
            None,
            None,
            &mut Scratch::default(),
        )
    }

    /// [`Engine::totals`] with only the `parts` beyond the additive cell that the KPIs
    /// read (none: the cell alone). With `classes` (the [`Classes`] of the run and this
    /// scope's among them, which hold exactly the segments of `list`), the cell and the
    /// tables are added up from the classes, and `list` is walked only for the parts
    /// that need each segment (medians, distinct reps).
    /// `summed`: the cell of `list` in slot `g` where it was already added up (see
    /// [`sum_cells`]); then only the parts beyond it are walked for.
    /// `scratch`: buffers for the median inputs (see [`Scratch`]).
    #[allow(clippy::too_many_arguments)]
    fn totals_of(
        &self,
        grid: &Grid,
        scope: Scope,
        list: &[u32],
        g: usize,
        parts: Option<Parts>,
        classes: Option<(&Classes, &[u32])>,
        summed: Option<&Cell>,
        scratch: &mut Scratch,
    ) -> Totals {
        let book = &self.book;
        let segs = &self.segs;
        let (ng, ns, nr) = (grid.ng, grid.ns, grid.nr);
        let sl = &grid.slots[g];
        let mut t = Totals::default();
        let tables = parts.is_some_and(|p| p.tables) && grid.own(g);
        if parts.is_some_and(|p| p.tables) {
            // (the last row's tables, cleared: two allocations a row fewer)
            t.stages = std::mem::take(&mut scratch.stages);
            t.stages.clear();
            t.stages.resize(ns, StageCell::default());
            t.losses = std::mem::take(&mut scratch.losses);
            t.losses.clear();
            t.losses.resize(nr, LossCell::default());
        }
        let summed = summed.filter(|_| classes.is_none());
        if let Some(c) = summed {
            t.cell = *c;
        }
        // adds segment (or class) `i`'s cell and tables: a class's from its arrays, laid
        // out as a grid's before it is kept (`Some`), a segment's from the grid (`None`)
        let add = |t: &mut Totals, class: Option<&Classes>, i: usize| {
            if summed.is_none() {
                match class {
                    Some(c) => t.cell.add(&c.cells[i * ng + g]),
                    None => grid.add_cell(&mut t.cell, i, g),
                }
            }
            if tables {
                let given = match class {
                    Some(c) => {
                        let sk = i * grid.nt + g;
                        Some((
                            &c.stages[sk * ns..(sk + 1) * ns],
                            &c.losses[sk * nr..(sk + 1) * nr],
                        ))
                    }
                    None => grid.tables(i, g),
                };
                if let Some((st, lo)) = given {
                    add_tables(&mut t.stages, &mut t.losses, st, lo);
                }
            }
        };
        if let Some((c, of)) = classes {
            for &x in of {
                add(&mut t, Some(c), x as usize);
            }
        }
        let Some(parts) = parts else {
            if classes.is_none() && summed.is_none() {
                for &s in list {
                    add(&mut t, None, s as usize);
                }
            }
            return t;
        };
        // (a cell already summed leaves the segments to walk for their tables alone)
        let by_segment = classes.is_none() && (summed.is_none() || tables);
        // the medians from the classes' values where they were placed (own slots)
        let mut parts = parts;
        if let Some((c, of)) = classes
            && let Some(&m) = c.mid_ix.get(g).filter(|&&m| m != usize::MAX)
        {
            let group = |x: &u32| *x as usize * c.nm + m;
            if let Some(v) = c.cycles.as_ref().filter(|_| parts.cycles) {
                t.cycle_middle = Some(v.middle(of.iter().map(group), &mut scratch.middle));
                parts.cycles = false;
            }
            if let Some(v) = c.responses.as_ref().filter(|_| parts.responses) {
                t.response_middle = Some(v.middle(of.iter().map(group), &mut scratch.middle));
                parts.responses = false;
            }
            if let Some(r) = c.reps.as_ref().filter(|_| parts.reps) {
                let [n, q, at] = r.count(of, m, c.nm, &mut scratch.hits);
                (t.active_reps, t.reps_with_quota, t.reps_at_quota) = (n, q, at);
                parts.reps = false;
            }
        }
        let list = if by_segment || parts.cycles || parts.responses || parts.reps {
            list
        } else {
            &[]
        };
        let mut hist = std::mem::take(&mut scratch.hist);
        hist.clear();
        hist.resize(if parts.cycles { grid.max_cycle + 1 } else { 0 }, 0);
        t.response_secs = std::mem::take(&mut scratch.responses);
        t.response_secs.clear();
        let mut last_rep = NONE;
        let person_bookings = |p: u32| -> i64 {
            match classes {
                Some((c, _)) if !c.own_bookings.is_empty() => c.own_bookings[p as usize * ng + g],
                _ => segs
                    .of_person(p)
                    .map(|s| grid.bookings_at(s as usize, g))
                    .sum(),
            }
        };
        for &s in list {
            let k = s as usize * ng + g;
            if by_segment {
                add(&mut t, None, s as usize);
            }
            if parts.cycles {
                for &v in
                    &grid.cycle_vals[grid.cycle_off[k] as usize..grid.cycle_off[k + 1] as usize]
                {
                    hist[v as usize] += 1;
                }
            }
            if parts.responses {
                t.response_secs.extend_from_slice(
                    &grid.resp_vals[grid.resp_off[k] as usize..grid.resp_off[k + 1] as usize],
                );
            }
            if !parts.reps {
                continue;
            }
            // distinct active reps (a scope's segments come grouped by person)
            let p = segs.person[s as usize];
            let info = &book.people[p as usize];
            if info.rep && p != last_rep && rep_active(segs, info, s as usize, sl) {
                last_rep = p;
                let [n, q, at] =
                    rep_weights(grid.own_quota[p as usize * ng + g], || person_bookings(p));
                t.active_reps += n;
                t.reps_with_quota += q;
                t.reps_at_quota += at;
            }
        }
        t.cycle_hist = hist;
        t.unit_spend = match scope {
            Scope::Company => grid.company_spend[g],
            Scope::Unit(u) => grid.unit_spend[g][u as usize],
            _ => 0,
        };
        t.quota = quota(
            book,
            &grid.team_unit_quota,
            scope,
            sl,
            &t.cell,
            &grid.own_quota,
            ng,
            g,
        );
        t.span_of_control = match scope {
            Scope::Team(p) => Some(segs.direct_reports(p, sl.asof).len() as u32),
            _ => None,
        };
        t
    }

    /// Every scope's totals for every slot (for `explain`, which wants them all).
    pub fn compute(
        &self,
        scopes: &[Scope],
        periods: &[Period],
        today: Date,
        trace: bool,
    ) -> Result<Computed, ScorecardError> {
        self.compute_in(&Lens::everything(), scopes, periods, today, trace)
    }

    /// [`Engine::compute`] seen through a [`Lens`].
    pub fn compute_in(
        &self,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        today: Date,
        trace: bool,
    ) -> Result<Computed, ScorecardError> {
        self.compute_traced(lens, scopes, periods, today, trace, Need::ALL, None, &[])
    }

    /// [`Engine::compute_in`] with only the comparison slots `need` asks for, walking only
    /// the record groups in `walk` (the totals of the others stay zero), and keeping only
    /// the contributions `want` lets through in the trace (with `trace`). Slots are
    /// numbered in the order of `periods`: each period, then its last-year period (with
    /// `need.last_year`), then its trailing window (with `need.window`). The periods' own
    /// slots get their whole totals; the comparison slots their additive cell, which is all
    /// the formulas read of them ([`Engine::values`]). Each of `parts`, a scope and a
    /// sorted list of segments among those of `scopes` that the lens lets through (a
    /// branch: [`Engine::branch_parts`]), is totalled from the same pass after the scopes,
    /// as if it were one more.
    #[allow(clippy::too_many_arguments)]
    pub fn compute_traced(
        &self,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        today: Date,
        trace: bool,
        need: Need,
        want: Option<&pass::Want<'_>>,
        parts: &[BranchPart],
    ) -> Result<Computed, ScorecardError> {
        let mut grid = self.prepare_with(scopes, periods, today, trace, need, want)?;
        let totals = scopes
            .iter()
            .map(|&scope| (scope, lens.narrow(self.segments_of(scope))))
            .chain(parts.iter().map(|x| (x.scope, x.segments[..].into())))
            .map(|(scope, list)| {
                (0..grid.ng)
                    .map(|g| self.totals(&grid, scope, &list, g, grid.own(g)))
                    .collect()
            })
            .collect();
        let computed = Computed {
            slots: std::mem::take(&mut grid.slots),
            totals,
            main: std::mem::take(&mut grid.main),
            last_year: std::mem::take(&mut grid.last_year),
            window: std::mem::take(&mut grid.window),
            window_parts: std::mem::take(&mut grid.window_parts),
            trace: std::mem::take(&mut grid.trace),
            trace_days: grid.trace_days.take(),
            trace_edges: grid.trace_edges.take(),
            trace_ends_only: grid.trace_ends_only,
            tallies: grid.tallies.take(),
            ng: grid.ng,
        };
        // the cells go to the next pass (a drill-down over trailing months makes tens of
        // megabytes of them)
        self.keep_arrays(grid);
        Ok(computed)
    }

    /// The KPI values of every scope × period: one pass, then each scope rolled up and
    /// finished on its own (in parallel), so only one scope's totals are held at a time.
    pub fn run(
        &self,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
    ) -> Result<Vec<Row>, ScorecardError> {
        self.run_in(&Lens::everything(), scopes, periods, kpis, today)
    }

    /// [`Engine::run`] seen through a [`Lens`]: each scope counts only the records
    /// attributed to segments the lens lets through.
    pub fn run_in(
        &self,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
    ) -> Result<Vec<Row>, ScorecardError> {
        self.run_lapped(lens, scopes, periods, kpis, today, &mut || {})
    }

    /// [`Engine::run_in`] that calls `lap` between the pass and the roll-up (a caller
    /// with a clock times the two apart).
    pub fn run_lapped(
        &self,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
        lap: &mut dyn FnMut(),
    ) -> Result<Vec<Row>, ScorecardError> {
        collect_rows(scopes.len() * periods.len(), |sink| {
            self.run_windows(lens, scopes, periods, kpis, today, scopes.len(), lap, sink)
        })
    }

    /// A run's pass (only the record groups the KPIs read: all of them for the whole
    /// list), `lap`, then its roll-up, `window` scopes' rows at a time handed to `sink`;
    /// the pass's arrays are kept for the next run.
    #[allow(clippy::too_many_arguments)]
    fn run_windows<E: From<ScorecardError>>(
        &self,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
        window: usize,
        lap: &mut dyn FnMut(),
        sink: &mut dyn FnMut(Vec<Row>) -> Result<(), E>,
    ) -> Result<(), E> {
        check_kpis(kpis)?;
        let grid = self.prepare_with(scopes, periods, today, false, Need::of(kpis), None)?;
        lap();
        let at: Vec<usize> = (0..periods.len()).collect();
        let done = self.roll_up(&grid, lens, scopes, periods, &at, kpis, today, window, sink);
        self.keep_arrays(grid);
        done
    }

    /// The classes of `scopes` in `grid` for the run's periods (`at`) and `parts`: the
    /// grid's kept ones when its last roll-up of many scopes was made for the same, else
    /// made now (into the arrays of the last groups of median values that nothing keeps)
    /// and kept in the grid in their place. The grid's lock is held meanwhile: a second
    /// request for the same classes waits for these rather than making its own.
    fn classes(&self, grid: &Grid, scopes: &[Scope], at: &[usize], parts: Parts) -> Arc<Classes> {
        let mut kept = grid.classes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = kept.as_ref()
            && k.parts == parts
            && k.at == at
            && k.scopes == scopes
        {
            return Arc::clone(&k.classes);
        }
        if let Some(old) = kept.take() {
            self.keep_middles(old.classes);
        }
        let reuse = self
            .spare_middles
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default();
        let classes = Arc::new(Classes::of(self, grid, scopes, at, parts, reuse));
        *kept = Some(KeptClasses {
            scopes: scopes.to_vec(),
            at: at.to_vec(),
            parts,
            classes: Arc::clone(&classes),
        });
        classes
    }

    /// An empty list of values for a row: one that a row given back held (its tables
    /// freed now, on this thread, so that the row's own take their places), else a new
    /// one sized for `n` (a row's list grown from empty was copied four times over, into
    /// fresh pages, for every row).
    fn values_list(&self, scratch: &mut Scratch, n: usize) -> Values {
        if scratch.values.is_empty()
            && let Ok(mut spare) = self.spare_values.lock()
        {
            let from = spare.len().saturating_sub(256);
            scratch.values.extend(spare.drain(from..));
        }
        match scratch.values.pop() {
            Some(mut v) => {
                v.clear();
                v.reserve(n);
                v
            }
            None => Vec::with_capacity(n),
        }
    }

    /// Takes back rows that were read: the next runs' rows take their lists of values
    /// (and, in their tables' places, the tables' memory). A bulk export's rows are
    /// about a hundred megabytes at 10M opportunities; freed, the allocator handed them
    /// back to the kernel, and the next run's rows came to fresh pages, each one faulted
    /// in and cleared. Up to `SPARE_VALUES` lists are kept; rows past those are freed.
    pub fn recycle(&self, rows: Vec<Row>) {
        let Ok(mut spare) = self.spare_values.lock() else {
            return;
        };
        let room = SPARE_VALUES.saturating_sub(spare.len());
        spare.extend(rows.into_iter().take(room).map(|r| r.values));
    }

    /// Hands the groups of median values of classes that nothing else holds to the next
    /// roll-up that makes classes.
    fn keep_middles(&self, classes: Arc<Classes>) {
        if let Ok(c) = Arc::try_unwrap(classes)
            && let Ok(mut m) = self.spare_middles.lock()
        {
            *m = (
                c.cycles.unwrap_or_default(),
                c.responses.unwrap_or_default(),
            );
        }
    }

    /// Takes back a company-wide pass ([`Engine::grid`]) that its keeper lets go of: the
    /// next pass's cells and tables take its arrays' memory. A server keeps a page's pass
    /// over a date range (about 65 MB at 10M deals) until its budget drops it; freed, those
    /// arrays went back to the kernel, and the next page's pass came to fresh pages, each
    /// faulted in and cleared (a quarter of such a page's time, by the profile).
    pub fn recycle_grid(&self, grid: Grid) {
        self.keep_arrays(grid);
    }

    /// The bytes of the indexes the engine makes from the book: the owners' rows by day,
    /// the deal blocks' spans, customers by owner, the history's first differing rows of
    /// each owner, their surveys and the stage walk's flags (see [`Book::memory`] for the
    /// book's own columns).
    pub fn index_bytes(&self) -> usize {
        let spans = self.spans.get().map_or(0, |s| s.capacity() * 8);
        let days = self.day_index.get().map_or(0, |x| x.bytes());
        let overrides = self.look.overrides.capacity() * std::mem::size_of::<book::Cursor>();
        let walk = self.look.stage_walk_bytes();
        spans + days + overrides + walk + self.accounts.bytes() + self.look.surveys.capacity() * 4
    }

    /// The bytes of the arrays of a finished pass kept for the next one (see
    /// [`Engine::recycle_grid`]).
    pub fn spare_bytes(&self) -> usize {
        self.spare.lock().ok().map_or(0, |s| {
            s.as_ref().map_or(0, |s| {
                s.cells.capacity() * std::mem::size_of::<Cell>()
                    + s.stages.capacity() * std::mem::size_of::<StageCell>()
                    + s.losses.capacity() * std::mem::size_of::<LossCell>()
                    + (s.cycle_vals.capacity() + s.resp_vals.capacity()) * 4
            })
        })
    }

    /// Keeps `grid` compact ([`Grid::keep_compact`]) and hands the whole arrays it held
    /// to the next pass, as [`Engine::recycle_grid`] would: a server's pass over a period
    /// of its own, kept for the next visitors once its page is out, takes a third of the
    /// memory, and the next such pass reuses the rest instead of faulting in fresh pages.
    pub fn keep_compact(&self, grid: &mut Grid) {
        if let Some((cells, stages, losses)) = grid.compact() {
            self.keep_spare(|sp| {
                larger(&mut sp.cells, cells);
                larger(&mut sp.stages, stages);
                larger(&mut sp.losses, losses);
            });
        }
    }

    /// Hands the arrays of a finished pass that nothing keeps to the next pass.
    fn keep_arrays(&self, grid: Grid) {
        if let Some(k) = grid.classes.into_inner().unwrap_or_else(|e| e.into_inner()) {
            self.keep_middles(k.classes);
        }
        self.keep_spare(|sp| {
            larger(&mut sp.cells, grid.cells);
            larger(&mut sp.stages, grid.stages);
            larger(&mut sp.losses, grid.losses);
            larger(&mut sp.cycle_vals, grid.cycle_vals);
            larger(&mut sp.resp_vals, grid.resp_vals);
        });
    }

    /// Hands arrays of a finished pass to the next one (see [`Spare`]).
    fn keep_spare(&self, f: impl FnOnce(&mut Spare)) {
        if self.one_off.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        if let Ok(mut s) = self.spare.lock() {
            f(s.get_or_insert_with(Spare::default));
        }
    }

    /// A company-wide pass for `periods` (every owner's records) over the comparison slots
    /// and the record groups `need` names: it serves every scope and every viewer's lens
    /// for the KPIs `need` covers ([`Grid::pick`]), so a server can compute it once and
    /// roll any scope up from it with [`Engine::run_grid`]. (`Need::of` a list of KPIs
    /// walks only the groups they read; a server that rolls many views up from one grid
    /// asks for every group, [`Need::ALL`]'s walk, so that one pass serves them all.) A
    /// grid held for long keeps its comparison slots' cells brief ([`Grid::keep_compact`]).
    pub fn grid(
        &self,
        periods: &[Period],
        today: Date,
        need: Need,
    ) -> Result<Grid, ScorecardError> {
        self.prepare_with(&[Scope::Company], periods, today, false, need, None)
    }

    /// Rolls `scopes` up from a grid made for exactly `periods` and `today` (by
    /// [`Engine::grid`], or a pass over at least these scopes' owners) and applies the
    /// formulas, through `lens`.
    pub fn run_grid(
        &self,
        grid: &Grid,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
    ) -> Result<Vec<Row>, ScorecardError> {
        if grid.main.len() != periods.len() {
            return Err(ScorecardError::Data("a grid made for other periods".into()));
        }
        let at: Vec<usize> = (0..periods.len()).collect();
        self.run_grid_at(grid, lens, scopes, periods, &at, kpis, today)
    }

    /// [`Engine::run_grid`] for `periods` that sit at `at` among the grid's own periods
    /// (see [`Grid::pick`]).
    #[allow(clippy::too_many_arguments)]
    pub fn run_grid_at(
        &self,
        grid: &Grid,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        at: &[usize],
        kpis: &[&str],
        today: Date,
    ) -> Result<Vec<Row>, ScorecardError> {
        collect_rows(scopes.len() * periods.len(), |sink| {
            self.roll_up(
                grid,
                lens,
                scopes,
                periods,
                at,
                kpis,
                today,
                scopes.len(),
                sink,
            )
        })
    }

    /// [`Engine::run`] that hands the rows to `sink` as they are made, in order, `window`
    /// scopes' at a time: a bulk export written out as it goes holds one window's rows,
    /// not all of them (at 10M deals the 24,713 rows' values were 50 MB of a one-off
    /// run's peak). A sink that gives each window's rows back ([`Engine::recycle`]) has
    /// the next window's made in their memory.
    #[allow(clippy::too_many_arguments)]
    pub fn run_each<E: From<ScorecardError>>(
        &self,
        scopes: &[Scope],
        periods: &[Period],
        kpis: &[&str],
        today: Date,
        window: usize,
        sink: &mut dyn FnMut(Vec<Row>) -> Result<(), E>,
    ) -> Result<(), E> {
        let everything = Lens::everything();
        self.run_windows(
            &everything,
            scopes,
            periods,
            kpis,
            today,
            window,
            &mut || {},
            sink,
        )
    }

    /// The roll-up of [`Engine::run_grid_at`] and [`Engine::run_windows`]: the rows of
    /// `window` scopes at a time, handed to `sink` in order.
    #[allow(clippy::too_many_arguments)]
    fn roll_up<E: From<ScorecardError>>(
        &self,
        grid: &Grid,
        lens: &Lens,
        scopes: &[Scope],
        periods: &[Period],
        at: &[usize],
        kpis: &[&str],
        today: Date,
        window: usize,
        sink: &mut dyn FnMut(Vec<Row>) -> Result<(), E>,
    ) -> Result<(), E> {
        check_kpis(kpis)?;
        if at.len() != periods.len() || at.iter().any(|&i| i >= grid.main.len()) {
            return Err(ScorecardError::Data("a grid made for other periods".into()).into());
        }
        let need = Need::of(kpis);
        if !grid.need.covers(&need) {
            return Err(ScorecardError::Data("a grid made for other KPIs".into()).into());
        }
        let stage_names = self.stage_names_in_order();
        let loss_reasons = &self.book.loss_reasons;
        let parts = Parts::of(kpis);
        // the KPIs' own ids, found once for every row
        let ids: Vec<&'static str> = kpis.iter().filter_map(|k| kpi::static_id(k)).collect();
        // many scopes seen whole: their segments grouped by the scopes they count for
        let walks: usize = scopes.iter().map(|&s| self.segments_of(s).len()).sum();
        let classes =
            (lens.is_everything() && scopes.len() >= CLASSES_FROM && walks >= 2 * self.segs.len())
                .then(|| self.classes(grid, scopes, at, parts));
        let one = |si: usize, scratch: &mut Scratch| -> Vec<Row> {
            let scope = scopes[si];
            let list = lens.narrow(self.segments_of(scope));
            let cls = classes
                .as_deref()
                .and_then(|c| c.of_scope[si].as_deref().map(|of| (c, of)));
            // seen segment by segment (no classes), the cells of every slot the rows read
            // are added up in one walk
            // (none with classes: their cells are a few classes' each)
            let mut summed: Vec<Option<Cell>> = Vec::new();
            if cls.is_none() {
                let mut gs: Vec<usize> = Vec::new();
                for &g in at {
                    gs.push(grid.main[g]);
                    if need.window {
                        gs.push(grid.window[g]);
                        gs.extend(&grid.window_parts[g]);
                    }
                    if need.last_year {
                        gs.push(grid.last_year[g]);
                    }
                }
                gs.sort_unstable();
                gs.dedup();
                if gs.len() > 1 {
                    summed = vec![None; grid.ng];
                    for (g, c) in gs.iter().zip(sum_cells(grid, &list, &gs)) {
                        summed[*g] = Some(c);
                    }
                }
            }
            // (the cells alone: a scope's whole totals in every slot were 13 KB to make
            // and clear for each of thousands of scopes)
            let mut light: Vec<Option<Cell>> = vec![None; grid.ng];
            let mut cell = |g: usize| -> Cell {
                if let Some(&Some(c)) = summed.get(g) {
                    return c;
                }
                *light[g].get_or_insert_with(|| {
                    // (a cell alone: no median inputs)
                    let none = &mut Scratch::default();
                    self.totals_of(grid, scope, &list, g, None, cls, None, none)
                        .cell
                })
            };
            let names = scratch.names.take().unwrap_or_else(|| {
                (
                    Arc::from(stage_names.to_vec()),
                    Arc::from(loss_reasons.to_vec()),
                )
            });
            let mut out = Vec::with_capacity(periods.len());
            for (pi, p) in periods.iter().enumerate() {
                let g = at[pi];
                // the comparison slots only when a KPI reads them (a grid may hold more)
                let (w, tb) = if need.window {
                    let tb: i64 = grid.window_parts[g].iter().map(|&q| cell(q).bookings).sum();
                    (cell(grid.window[g]), tb)
                } else {
                    (Cell::default(), 0)
                };
                let ly = Totals {
                    cell: if need.last_year {
                        cell(grid.last_year[g])
                    } else {
                        Cell::default()
                    },
                    ..Default::default()
                };
                let cx = Context {
                    last_year: Some(&ly),
                    trailing_bookings: tb,
                    trailing_customers_start: w.customers_start,
                    trailing_customers_end: w.customers_end,
                    trailing_churned: w.customers_start_churned,
                    gross_margin: self.book.settings.gross_margin.units(),
                    stage_names: &names.0,
                    loss_reasons: &names.1,
                };
                let main = grid.main[g];
                let pre = summed.get(main).and_then(Option::as_ref);
                let mut t =
                    self.totals_of(grid, scope, &list, main, Some(parts), cls, pre, scratch);
                let mut values = self.values_list(scratch, ids.len());
                values.extend(
                    ids.iter()
                        .filter_map(|&id| kpi::compute(id, &mut t, &cx).map(|v| (id, v))),
                );
                scratch.keep(&mut t);
                out.push(Row {
                    scope,
                    period: *p,
                    as_of: Self::as_of(p, today),
                    values,
                });
            }
            scratch.names = Some(names);
            out
        };
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8);
        let window = window.max(1);
        let mut lo = 0;
        while lo < scopes.len() {
            let hi = scopes.len().min(lo.saturating_add(window));
            let rows: Vec<Row> = if threads <= 1 || hi - lo < 8 {
                let mut scratch = Scratch::default();
                (lo..hi).flat_map(|si| one(si, &mut scratch)).collect()
            } else {
                rows_on_threads(threads, lo..hi, &one)
            };
            if rows.len() != (hi - lo) * periods.len() {
                return Err(ScorecardError::Data("a scorecard thread failed".into()).into());
            }
            sink(rows)?;
            lo = hi;
        }
        Ok(())
    }

    /// Applies the formulas to scope `si`, requested period `pi` of a [`Computed`].
    pub fn values(
        &self,
        c: &mut Computed,
        si: usize,
        pi: usize,
        kpis: &[&str],
    ) -> Vec<(&'static str, Value)> {
        let g = c.main[pi];
        let (tb, ts, te, tc) = {
            let t = &c.totals[si];
            let w = c.window[pi];
            let tb: i64 = c.window_parts[pi].iter().map(|&q| t[q].cell.bookings).sum();
            (
                tb,
                t[w].cell.customers_start,
                t[w].cell.customers_end,
                t[w].cell.customers_start_churned,
            )
        };
        let ly = c.totals[si][c.last_year[pi]].clone();
        let stage_names: std::sync::Arc<[String]> = self.stage_names_in_order().into();
        let loss_reasons: std::sync::Arc<[String]> = self.book.loss_reasons.clone().into();
        let cx = Context {
            last_year: Some(&ly),
            trailing_bookings: tb,
            trailing_customers_start: ts,
            trailing_customers_end: te,
            trailing_churned: tc,
            gross_margin: self.book.settings.gross_margin.units(),
            stage_names: &stage_names,
            loss_reasons: &loss_reasons,
        };
        let t = &mut c.totals[si][g];
        kpis.iter()
            .filter_map(|k| {
                let id = kpi::static_id(k)?;
                kpi::compute(id, t, &cx).map(|v| (id, v))
            })
            .collect()
    }

    /// Whether deal `i`, which entered its stage on history row `r`, had advanced past it
    /// (a later row of a higher rank, or won) by day `a`: what `stage_conversion` counts
    /// of the entry (spec §6), for a drill-down to say of each.
    pub fn advanced_by(&self, i: usize, r: usize, a: book::Day) -> bool {
        let o = &self.book.opps;
        self.book
            .history
            .advanced_by(r, o.hist_off[i + 1] as usize, o.won_on(i), a, |s| {
                self.look.ranks[s as usize]
            })
    }

    /// Stage names in the order of the sales process.
    pub fn stage_names_in_order(&self) -> Vec<String> {
        self.book.stages.iter().map(|s| s.name.clone()).collect()
    }
}

/// Refuses an id that is not a KPI of the spec.
fn check_kpis(kpis: &[&str]) -> Result<(), ScorecardError> {
    match kpis.iter().find(|k| !kpi::is_kpi(k)) {
        Some(k) => Err(ScorecardError::Kpi(kpi::unknown_kpi(k))),
        None => Ok(()),
    }
}

/// The attribution segments a viewer may see: everything, or a sorted list. A lens is
/// built from a person and the effective-dated org ([`Lens::team`], [`Lens::own_book`]);
/// every number and record shown through it comes only from those segments, so a
/// leader never sees what was attributed outside their subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lens(Option<Vec<u32>>);

impl Lens {
    /// No restriction (company-wide viewers and the CLI).
    pub fn everything() -> Lens {
        Lens(None)
    }
    /// A leader's subtree over time: the segments that count for `team:p`, and p's own.
    pub fn team(e: &Engine, p: u32) -> Lens {
        // both lists are sorted: merge them (this runs on every request of a leader)
        let (a, b) = (&e.segs.of_scope[p as usize], e.segs.of_person(p));
        let mut v = Vec::with_capacity(a.len() + b.len());
        let mut b = b.peekable();
        for &x in a {
            while let Some(&y) = b.peek().filter(|&&y| y < x) {
                v.push(y);
                b.next();
            }
            if b.peek() == Some(&x) {
                b.next();
            }
            v.push(x);
        }
        v.extend(b);
        Lens(Some(v))
    }
    /// Nothing at all (an account not linked to anyone in the org).
    pub fn nothing() -> Lens {
        Lens(Some(Vec::new()))
    }
    /// Whether the lens lets through any of person `p`'s own segments (whether the viewer
    /// may see `p` at all).
    pub fn sees_person(&self, e: &Engine, p: u32) -> bool {
        match &self.0 {
            None => true,
            Some(_) => e.segs.of_person(p).any(|s| self.sees(s)),
        }
    }
    /// A person's own book.
    pub fn own_book(e: &Engine, p: u32) -> Lens {
        Lens(Some(e.segs.of_person(p).collect()))
    }
    pub fn is_everything(&self) -> bool {
        self.0.is_none()
    }
    /// Whether segment `s` is seen.
    pub fn sees(&self, s: u32) -> bool {
        match &self.0 {
            None => true,
            Some(v) => v.binary_search(&s).is_ok(),
        }
    }
    /// The part of a sorted segment list that the lens lets through.
    pub fn narrow<'a>(&self, list: std::borrow::Cow<'a, [u32]>) -> std::borrow::Cow<'a, [u32]> {
        let Some(v) = &self.0 else {
            return list;
        };
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::with_capacity(list.len().min(v.len()));
        while i < list.len() && j < v.len() {
            match list[i].cmp(&v[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    out.push(list[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out.into()
    }
    /// Whether the lens lets through every segment of `list` (sorted).
    pub fn covers(&self, list: &[u32]) -> bool {
        match &self.0 {
            None => true,
            Some(_) => list.iter().all(|&s| self.sees(s)),
        }
    }
    /// Whether the lens lets through any segment of `list`.
    pub fn touches(&self, list: &[u32]) -> bool {
        match &self.0 {
            None => !list.is_empty(),
            Some(_) => list.iter().any(|&s| self.sees(s)),
        }
    }
}

/// Unit `v` and every unit above it.
fn unit_ancestors(book: &Book, v: u32) -> Vec<u32> {
    let mut out = vec![v];
    let mut cur = book.units[v as usize].parent.as_ref();
    while let Some(p) = cur {
        let Some(&pi) = book.unit_ix.get(p.as_str()) else {
            break;
        };
        if out.contains(&pi) {
            break;
        }
        out.push(pi);
        cur = book.units[pi as usize].parent.as_ref();
    }
    out
}

/// The rows of scopes `0..n`, `one(si, scratch)` each, made on `threads` threads and
/// returned in the scopes' order.
fn rows_on_threads<F>(threads: usize, scopes: std::ops::Range<usize>, one: &F) -> Vec<Row>
where
    F: Fn(usize, &mut Scratch) -> Vec<Row> + Sync,
{
    // Scopes differ a thousandfold in size (the company's top team against a rep's),
    // so threads take small blocks in turn instead of one fixed half each.
    const BLOCK: usize = 8;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parts: Vec<Vec<(usize, Vec<Row>)>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let (one, next) = (&one, &next);
                sc.spawn(move || {
                    let mut got = Vec::new();
                    let mut scratch = Scratch::default();
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let lo = scopes.start + b * BLOCK;
                        if lo >= scopes.end {
                            break;
                        }
                        let hi = (lo + BLOCK).min(scopes.end);
                        got.push((b, (lo..hi).flat_map(|si| one(si, &mut scratch)).collect()));
                    }
                    got
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut blocks: Vec<(usize, Vec<Row>)> = parts.into_iter().flatten().collect();
    blocks.sort_unstable_by_key(|b| b.0);
    blocks.into_iter().flat_map(|b| b.1).collect()
}

/// Whether unit `v` is `u` or below it.
pub fn unit_within(book: &Book, v: u32, u: u32) -> bool {
    let mut cur = Some(v);
    let mut steps = 0;
    while let Some(x) = cur {
        if x == u {
            return true;
        }
        steps += 1;
        if steps > book.units.len() {
            return false;
        }
        cur = book.units[x as usize]
            .parent
            .as_ref()
            .and_then(|p| book.unit_ix.get(p.as_str()).copied());
    }
    false
}

impl Engine {
    /// The reps `reps_at_quota_share` counts for `scope` in `period` through `lens`: each
    /// active rep with an own-book quota, with their own bookings over the period (their
    /// whole own book, as the share weighs it) and that quota, in person order. The same
    /// pass and rule as the share's roll-up (`Engine::totals_of`): a drill-down lists
    /// exactly the reps the number counted.
    pub fn reps_with_quota(
        &self,
        lens: &Lens,
        scope: Scope,
        period: Period,
        today: Date,
    ) -> Result<Vec<(u32, i64, i64)>, ScorecardError> {
        let need = Need::of(&["reps_at_quota_share"]);
        let grid = self.prepare_with(&[scope], &[period], today, false, need, None)?;
        let (segs, ng) = (&self.segs, grid.ng);
        let g = grid.main[0];
        let sl = &grid.slots[g];
        let list = lens.narrow(self.segments_of(scope));
        let mut out: Vec<(u32, i64, i64)> = Vec::new();
        for &s in list.iter() {
            let p = segs.person[s as usize];
            let info = &self.book.people[p as usize];
            if !info.rep || !rep_active(segs, info, s as usize, sl) {
                continue;
            }
            let quota = grid.own_quota[p as usize * ng + g];
            let booked: i64 = segs
                .of_person(p)
                .map(|x| grid.bookings_at(x as usize, g))
                .sum();
            if let ([_, 1, _], Some(q)) = (rep_weights(quota, || booked), quota) {
                out.push((p, booked, q));
            }
        }
        out.sort_unstable_by_key(|x| x.0);
        out.dedup_by_key(|x| x.0);
        self.recycle_grid(grid);
        Ok(out)
    }

    /// The people in `scope` on day `d` and employed that day, each with the segment that
    /// holds the day (a person's segments do not overlap: one holds it).
    pub fn members_on(&self, scope: Scope, d: Day) -> Vec<(u32, u32)> {
        let segs = &self.segs;
        self.segments_of(scope)
            .iter()
            .filter(|&&s| segs.from[s as usize] <= d && d < segs.to[s as usize])
            .map(|&s| (s, segs.person[s as usize]))
            .filter(|&(_, p)| self.book.people[p as usize].employed_on(d))
            .collect()
    }

    /// The branches of a team's or the company's tree through `lens`, each with its
    /// segments (the parts of [`Engine::compute_traced`]). A team's: each direct report of
    /// the leader through whom any of the team's segments came in, and the leader's own.
    /// The company's: each direct report of the head of the org (the top of a chain of
    /// managers) in the same way, each head's own, and the people in no reporting line. A
    /// direct report who leads anyone is totalled as their team, anyone else as their own
    /// book. Each segment is in exactly one part: a segment holds one chain of managers
    /// throughout, so its branch is that of any of its days. A unit's: its sub-units and
    /// its direct members (`Engine::unit_parts`). None for a person.
    pub fn branch_parts(&self, lens: &Lens, scope: Scope) -> Vec<BranchPart> {
        match scope {
            Scope::Person(_) => return Vec::new(),
            Scope::Unit(u) => return self.unit_parts(lens, u),
            Scope::Team(_) | Scope::Company => {}
        }
        let segs = &self.segs;
        // whether person `b` leads anyone, worked out once each
        let mut leads_memo: std::collections::HashMap<u32, bool> = Default::default();
        let mut leads = |b: u32| *leads_memo.entry(b).or_insert_with(|| segs.led_anyone(b));
        // the parts by (person, the head's own): someone at the top for a while and a
        // branch of another head later is in two
        let mut parts: Vec<BranchPart> = Vec::new();
        let mut index: std::collections::HashMap<(Option<u32>, bool), usize> = Default::default();
        for &s in lens.narrow(self.segments_of(scope)).iter() {
            let (p, d) = (segs.person[s as usize], segs.from[s as usize]);
            let (b, own) = match scope {
                Scope::Team(leader) => match segs.branch_of(leader, p, d) {
                    Some(b) => (Some(b), b == leader),
                    None => continue,
                },
                // at the top of the company: a head's own, or someone in no line
                _ => match segs.below_top(p, d) {
                    Some(b) => (Some(b), false),
                    None if leads(p) => (Some(p), true),
                    None => (None, false),
                },
            };
            let i = *index.entry((b, own)).or_insert_with(|| {
                // a direct report who leads anyone is totalled as their team, anyone else
                // as their own book; the people in no line as the company's
                let scope = match b {
                    Some(b) if !own && leads(b) => Scope::Team(b),
                    Some(b) => Scope::Person(b),
                    None => Scope::Company,
                };
                parts.push(BranchPart {
                    scope,
                    person: b,
                    unit: None,
                    own,
                    segments: Vec::new(),
                });
                parts.len() - 1
            });
            parts[i].segments.push(s);
        }
        parts
    }

    /// A unit's branches ([`Engine::branch_parts`]): each of its sub-units, totalled as
    /// that unit, and its direct members (in it but in none of its sub-units), totalled
    /// as the company is over them (a quota set on the unit is the whole unit's). A
    /// segment's units are those its person was a member of (and their ancestors)
    /// throughout it.
    fn unit_parts(&self, lens: &Lens, u: u32) -> Vec<BranchPart> {
        let segs = &self.segs;
        let units = &self.book.units;
        let id = units[u as usize].id.as_str();
        let child = |c: u32| {
            units[c as usize]
                .parent
                .as_ref()
                .is_some_and(|p| p.as_str() == id)
        };
        let mut parts: Vec<BranchPart> = Vec::new();
        for &s in lens.narrow(self.segments_of(Scope::Unit(u))).iter() {
            let sub = segs
                .scopes_of(s)
                .iter()
                .filter_map(|&x| x.checked_sub(segs.n_people))
                .find(|&c| child(c));
            let i = match parts.iter().position(|x| x.unit == sub) {
                Some(i) => i,
                None => {
                    parts.push(BranchPart {
                        scope: sub.map_or(Scope::Company, Scope::Unit),
                        person: None,
                        unit: sub,
                        own: sub.is_none(),
                        segments: Vec::new(),
                    });
                    parts.len() - 1
                }
            };
            parts[i].segments.push(s);
        }
        parts
    }

    /// The target set on `kpi` for `scope` over `period` (a KPI of [`kpi::can_target`]
    /// but `bookings`, whose target is the `quota`; docs/kpis.md "Targets"). A sum's
    /// (`calls`, `opps_created`: [`kpi::ADDITIVE_KPIS`]) is found as the quota is: for a
    /// person, their own-book targets; for a team or unit, a target set on it, else the
    /// own-book targets of the people in scope on the period's first day; for the company,
    /// those of everyone employed that day; a target counts for a period when its own
    /// period lies inside it. Any other KPI's (a rate, a mean) is set on exactly that
    /// person's book, team or unit: the one of the innermost period that holds this one,
    /// else those set over its days when they cover them and agree (`rate_target`); for a
    /// team, unit or the company without one, calls per rep-day's is its reps' own, each
    /// weighed by their working days in scope. A period to date has its whole period's.
    /// `None`: no target.
    pub fn target(&self, scope: Scope, period: &Period, kpi: &str) -> Option<Value> {
        let m = kpi::KPI_IDS.iter().position(|k| *k == kpi)? as u8;
        let sums = kpi::ADDITIVE_KPIS.contains(&kpi);
        let b = &self.book;
        let (start, end) = (day(period.start), day(period.whole_end));
        // the targets of KPI `m` set on `who`: a sum's, each with the amount it counts for
        // here, pro-rated as a quota is; any other's, the one that holds for these days
        let on = |who: QuotaOn| -> Option<i128> {
            let set = self.target_ix.get(&(m, who)).map_or(&[][..], Vec::as_slice);
            let set = set.iter().map(|&i| &b.targets[i as usize]);
            if !sums {
                return rate_target(set, start, end).map(i128::from);
            }
            let mut sum = None;
            for q in set {
                if let Some(x) = b.quota_share(q, start, end) {
                    sum = Some(sum.unwrap_or(0) + i128::from(x));
                }
            }
            sum
        };
        // the own-book targets of the people in scope on the first day
        let rolled = || -> Option<i128> {
            if !sums {
                return None;
            }
            self.members_on(scope, start)
                .into_iter()
                .filter_map(|(_, p)| on(QuotaOn::Person(p)))
                .fold(None, |a, x| Some(a.unwrap_or(0) + x))
        };
        // calls per rep-day: the reps' own targets, each weighed by their working days in
        // scope over the period (the scope's calls if each rep made their target, over its
        // rep-days); none unless every rep in scope those days has one
        let per_rep_day = || -> Option<i128> {
            if kpi != "calls_per_rep_day" {
                return None;
            }
            let segs = &self.segs;
            let (mut sum, mut days) = (0i128, 0i128);
            for &s in self.segments_of(scope).iter() {
                let p = segs.person[s as usize];
                let info = &b.people[p as usize];
                let hired = if info.hired == NO_DAY {
                    Day::MIN
                } else {
                    info.hired
                };
                let lo = start.max(segs.from[s as usize]).max(hired);
                let hi = end.min(segs.to[s as usize]).min(info.left);
                let d = i128::from(b.working_days(lo, hi));
                if !info.rep || d == 0 {
                    continue;
                }
                sum += on(QuotaOn::Person(p))? * d;
                days += d;
            }
            (days > 0).then(|| book::div_round(sum, days))
        };
        let units = match scope {
            Scope::Person(p) => on(QuotaOn::Person(p)),
            Scope::Team(p) => on(QuotaOn::Team(p)).or_else(rolled).or_else(per_rep_day),
            Scope::Unit(u) => on(QuotaOn::Unit(u)).or_else(rolled).or_else(per_rep_day),
            Scope::Company => rolled().or_else(per_rep_day),
        }?;
        Some(kpi::target_value(kpi, units))
    }
}

/// The target of a KPI that does not add up (a rate, a mean, a median) for the days
/// `start..end`, among `set`, the targets set on one book, team or unit: the one set for the
/// innermost period that holds these days (a year's win rate holds for each of its quarters,
/// a quarter's for each of its months, whatever its months ask); else, when the targets set
/// over these days cover every one of them and all ask the same, that (a year of quarters at
/// 35%: 35% for the year). Targets that ask different things here have no one value: `None`.
fn rate_target<'a>(set: impl Iterator<Item = &'a QuotaEntry>, start: Day, end: Day) -> Option<i64> {
    let mut holding: Option<&QuotaEntry> = None;
    let mut over: Vec<&QuotaEntry> = Vec::new();
    for q in set.filter(|q| q.start < end && start < q.end) {
        // (the innermost is the shortest)
        if q.start <= start
            && end <= q.end
            && holding.is_none_or(|h| q.end - q.start < h.end - h.start)
        {
            holding = Some(q);
        }
        over.push(q);
    }
    if let Some(h) = holding {
        return Some(h.amount);
    }
    let first = over.first()?.amount;
    if over.iter().any(|q| q.amount != first) {
        return None;
    }
    over.sort_unstable_by_key(|q| q.start);
    let mut covered = start;
    for q in &over {
        if q.start > covered {
            return None;
        }
        covered = covered.max(q.end);
    }
    (covered >= end).then_some(first)
}

/// Spec §3 `quota`: a quota set on the team or unit for the period wins; otherwise the
/// own-book quotas of the quota-carrying people in scope on the first day. A quota counts
/// for a period when its own period lies inside it (a year's quota does not count for a
/// quarter: salesorg does not pro-rate).
#[allow(clippy::too_many_arguments)]
fn quota(
    book: &Book,
    set: &std::collections::HashMap<QuotaOn, Vec<usize>>,
    scope: Scope,
    sl: &Slot,
    cell: &Cell,
    own: &[Option<i64>],
    ng: usize,
    g: usize,
) -> Option<i128> {
    let set_on = |target: QuotaOn| -> Option<i128> {
        let mut sum: Option<i128> = None;
        for q in set
            .get(&target)
            .into_iter()
            .flatten()
            .map(|&i| &book.quotas[i])
        {
            if let Some(x) = book.quota_share(q, sl.start, sl.whole_end) {
                sum = Some(sum.unwrap_or(0) + i128::from(x));
            }
        }
        sum
    };
    let rolled = (cell.quota_holders > 0).then_some(i128::from(cell.quota_first_day));
    match scope {
        Scope::Person(p) => own[p as usize * ng + g].map(i128::from),
        Scope::Team(p) => set_on(QuotaOn::Team(p)).or(rolled),
        Scope::Unit(u) => set_on(QuotaOn::Unit(u)).or(rolled),
        Scope::Company => rolled,
    }
}

/// The most periods one bulk export takes (33 years of months): its rows are every scope
/// times every period, held until written, and 10,000 years of months of even a small org
/// had taken 15 GB and more.
pub const BULK_PERIODS_MAX: usize = 400;

/// The periods of one bulk export ([`periods_between`]), refused past
/// [`BULK_PERIODS_MAX`] with their count: the command line and the API both ask here.
pub fn bulk_periods(
    cal: &crate::period::FiscalCalendar,
    grain: Grain,
    from: Date,
    to: Date,
) -> Result<Vec<Period>, ScorecardError> {
    let v = periods_between(cal, grain, from, to);
    if v.len() > BULK_PERIODS_MAX {
        return Err(ScorecardError::Limit(format!(
            "{} periods of a {}: a bulk export takes at most {BULK_PERIODS_MAX}",
            v.len(),
            grain.name()
        )));
    }
    Ok(v)
}

/// Every period of a grain from the one containing `from` to the one containing `to`.
pub fn periods_between(
    cal: &crate::period::FiscalCalendar,
    grain: Grain,
    from: Date,
    to: Date,
) -> Vec<Period> {
    let mut v = Vec::new();
    let mut p = Period::containing(cal, grain, from);
    while p.start <= to {
        v.push(p);
        let next = Period::containing(cal, grain, p.end);
        // (the last period a date holds ends on its own last day, 9999-12-31, and
        // contains it: no period follows)
        if next.start <= p.start {
            break;
        }
        p = next;
    }
    v
}
