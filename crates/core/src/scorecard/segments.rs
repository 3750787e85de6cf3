//! Attribution (spec §1): each person's history cut into segments over which the scopes
//! they count for — the teams of every leader above them and the units they belong to,
//! with those units' ancestors — stay the same. A record is attributed by finding its
//! owner's segment on its attribution date.

use std::collections::HashMap;

use super::book::{Book, Day, NO_DAY, NONE, day};

/// A finished segment: (from, to, scopes, manager).
type Closed = (Day, Day, Vec<u32>, u32);

/// Index of a team or unit scope: `0..people` are `team:` scopes (by leader), then
/// `people..people+units` are `unit:` scopes.
pub type ScopeIx = u32;

/// One person's segments (see [`Segments::owner`]).
#[derive(Debug, Clone, Copy)]
pub struct OwnerSegments<'a> {
    first: u32,
    /// Each segment's first day, in time order.
    from: &'a [Day],
}

impl OwnerSegments<'_> {
    /// The segment on day `d`: the person's only one (most people), or the last to start
    /// on or before `d` (the first when `d` comes before them all), as [`Segments::at`].
    #[inline]
    pub fn at(&self, d: Day) -> u32 {
        let mut s = 0;
        while s + 1 < self.from.len() && self.from[s + 1] <= d {
            s += 1;
        }
        self.first + s as u32
    }
    /// [`OwnerSegments::at`] and the first day of the next segment (`Day::MAX` after the
    /// last): the segment holds every day from `d` up to it. (Not [`OwnerSegments::span_at`]
    /// with its start dropped: the start's read, bounds-checked, stayed in the walks that
    /// look only ahead: the bulk's pass 3–4 % slower in two rounds.)
    #[inline]
    pub fn at_until(&self, d: Day) -> (u32, Day) {
        let seg = self.at(d);
        let next = self.from.get((seg - self.first) as usize + 1);
        (seg, next.copied().unwrap_or(Day::MAX))
    }
    /// [`OwnerSegments::at`] and the days `from..to` it holds: the first from the start of
    /// time, the last to its end.
    #[inline]
    pub fn span_at(&self, d: Day) -> (u32, Day, Day) {
        let seg = self.at(d);
        let k = (seg - self.first) as usize;
        let from = if k == 0 { Day::MIN } else { self.from[k] };
        let to = self.from.get(k + 1).copied().unwrap_or(Day::MAX);
        (seg, from, to)
    }
}

#[derive(Debug, Default)]
pub struct Segments {
    pub person: Vec<u32>,
    pub from: Vec<Day>,
    /// Exclusive end.
    pub to: Vec<Day>,
    /// Scopes of segment `s`: `scopes[scope_off[s]..scope_off[s+1]]`, sorted.
    pub scope_off: Vec<u32>,
    pub scopes: Vec<ScopeIx>,
    /// The manager on the segment (NONE without a line).
    pub manager: Vec<u32>,
    /// Segments of person `p`: `by_person[p]..by_person[p+1]`, in time order.
    pub by_person: Vec<u32>,
    /// Segments that count for each scope, ordered by person then time.
    pub of_scope: Vec<Vec<u32>>,
    pub n_people: u32,
}

impl Segments {
    pub fn len(&self) -> usize {
        self.person.len()
    }
    pub fn is_empty(&self) -> bool {
        self.person.is_empty()
    }
    pub fn scopes_of(&self, s: u32) -> &[ScopeIx] {
        &self.scopes[self.scope_off[s as usize] as usize..self.scope_off[s as usize + 1] as usize]
    }
    pub fn of_person(&self, p: u32) -> std::ops::Range<u32> {
        self.by_person[p as usize]..self.by_person[p as usize + 1]
    }
    /// Person `p`'s segments, for finding the one of many days in a row (a pass over
    /// their records): [`Segments::at`] without looking the person up each time.
    #[inline]
    pub fn owner(&self, p: u32) -> OwnerSegments<'_> {
        let r = self.of_person(p);
        OwnerSegments {
            first: r.start,
            from: &self.from[r.start as usize..r.end as usize],
        }
    }
    /// The segment of person `p` on day `d` (every day belongs to exactly one).
    #[inline]
    pub fn at(&self, p: u32, d: Day) -> u32 {
        self.owner(p).at(d)
    }
    pub fn team(&self, leader: u32) -> ScopeIx {
        leader
    }
    pub fn unit(&self, u: u32) -> ScopeIx {
        self.n_people + u
    }

    /// Cuts every person's history into segments. The org tree only changes on the days
    /// a line or membership starts or ends, so the scopes are recomputed on those days.
    pub fn build(book: &Book) -> Segments {
        let n = book.people.len();
        let nobody = book.nobody();
        let nu = book.units.len();
        // unit -> itself and its ancestors
        let mut unit_up: Vec<Vec<u32>> = Vec::with_capacity(nu);
        for u in 0..nu {
            let mut v = vec![u as u32];
            let mut cur = book.units[u].parent.as_ref();
            while let Some(p) = cur {
                let Some(&pi) = book.unit_ix.get(p.as_str()) else {
                    break;
                };
                if v.contains(&pi) {
                    break;
                }
                v.push(pi);
                cur = book.units[pi as usize].parent.as_ref();
            }
            unit_up.push(v);
        }
        // events: (day, is_start, person, other, kind) — ends before starts on a day
        #[derive(Clone, Copy)]
        enum Ev {
            LineEnd(u32, u32),
            LineStart(u32, u32),
            UnitEnd(u32, u32),
            UnitStart(u32, u32),
        }
        let mut evs: Vec<(Day, u8, Ev)> = Vec::new();
        for l in book.org.lines() {
            let (Some(&p), Some(&m)) = (
                book.person_ix.get(&l.person),
                book.person_ix.get(&l.manager),
            ) else {
                continue;
            };
            evs.push((day(l.valid.from), 1, Ev::LineStart(p, m)));
            if let Some(t) = l.valid.to {
                evs.push((day(t), 0, Ev::LineEnd(p, m)));
            }
        }
        for ms in book.org.memberships() {
            let (Some(&p), Some(&u)) = (
                book.person_ix.get(&ms.person),
                book.unit_ix.get(ms.unit.as_str()),
            ) else {
                continue;
            };
            evs.push((day(ms.valid.from), 1, Ev::UnitStart(p, u)));
            if let Some(t) = ms.valid.to {
                evs.push((day(t), 0, Ev::UnitEnd(p, u)));
            }
        }
        evs.sort_by_key(|e| (e.0, e.1));

        let mut parent = vec![NONE; n];
        let mut kids: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut units: Vec<Vec<u32>> = vec![Vec::new(); n];
        // current segment per person: (from, scopes, manager)
        let mut cur: Vec<(Day, Vec<u32>, u32)> = vec![(NO_DAY, Vec::new(), NONE); n];
        let mut done: Vec<Vec<Closed>> = vec![Vec::new(); n];
        let np = n as u32;
        let mut key = Vec::new();
        // Only the people an event touches are looked at again: the person whose line or
        // membership changed and everyone below them (their chain of leaders changed),
        // and the managers who gained or lost a report (they may start or stop leading).
        let mut dirty = vec![false; n];
        let mut touched: Vec<u32> = Vec::new();
        let mut below: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < evs.len() {
            let d = evs[i].0;
            touched.clear();
            while i < evs.len() && evs[i].0 == d {
                match evs[i].2 {
                    Ev::LineEnd(p, m) => {
                        if parent[p as usize] == m {
                            parent[p as usize] = NONE;
                            kids[m as usize].retain(|&c| c != p);
                            below.push(p);
                            touched.push(m);
                        }
                    }
                    Ev::LineStart(p, m) => {
                        let old = parent[p as usize];
                        if old != NONE {
                            kids[old as usize].retain(|&c| c != p);
                            touched.push(old);
                        }
                        parent[p as usize] = m;
                        kids[m as usize].push(p);
                        below.push(p);
                        touched.push(m);
                    }
                    Ev::UnitEnd(p, u) => {
                        units[p as usize].retain(|&x| x != u);
                        touched.push(p);
                    }
                    Ev::UnitStart(p, u) => {
                        units[p as usize].push(u);
                        touched.push(p);
                    }
                }
                i += 1;
            }
            // everyone below a person whose line changed
            while let Some(x) = below.pop() {
                if dirty[x as usize] {
                    continue;
                }
                dirty[x as usize] = true;
                touched.push(x);
                below.extend(kids[x as usize].iter().copied());
            }
            touched.sort_unstable();
            touched.dedup();
            for &pu in &touched {
                let p = pu as usize;
                dirty[p] = false;
                if pu == nobody {
                    continue;
                }
                key.clear();
                if parent[p] != NONE || !kids[p].is_empty() {
                    let mut x = pu;
                    let mut steps = 0;
                    while x != NONE && steps <= n {
                        key.push(x);
                        x = parent[x as usize];
                        steps += 1;
                    }
                    for &u in &units[p] {
                        key.extend(unit_up[u as usize].iter().map(|&v| np + v));
                    }
                }
                key.sort_unstable();
                key.dedup();
                if key != cur[p].1 || parent[p] != cur[p].2 {
                    let (from, scopes, mgr) =
                        std::mem::replace(&mut cur[p], (d, key.clone(), parent[p]));
                    done[p].push((from, d, scopes, mgr));
                }
            }
        }
        let mut seg = Segments {
            n_people: np,
            ..Default::default()
        };
        seg.scope_off.push(0);
        seg.by_person.push(0);
        for (p, (from, scopes, mgr)) in cur.into_iter().enumerate() {
            let mut list = std::mem::take(&mut done[p]);
            list.push((from, i32::MAX, scopes, mgr));
            for (f, t, sc, m) in list {
                if t <= f && f != NO_DAY {
                    continue;
                }
                seg.person.push(p as u32);
                seg.from.push(f);
                seg.to.push(t);
                seg.manager.push(m);
                seg.scopes.extend(&sc);
                seg.scope_off.push(seg.scopes.len() as u32);
            }
            seg.by_person.push(seg.person.len() as u32);
        }
        let mut of_scope = vec![Vec::new(); n + nu];
        for s in 0..seg.len() as u32 {
            for &sc in seg.scopes_of(s) {
                of_scope[sc as usize].push(s);
            }
        }
        seg.of_scope = of_scope;
        seg
    }

    /// Whether anyone but `p` has ever counted for `p`'s team: `p` has led someone.
    pub fn led_anyone(&self, p: u32) -> bool {
        self.of_scope[p as usize]
            .iter()
            .any(|&s| self.person[s as usize] != p)
    }

    /// People who led anyone (had a direct report) on some day of `[from, to)`.
    pub fn leaders(&self, from: Day, to: Day) -> Vec<u32> {
        let mut is = vec![false; self.n_people as usize];
        for s in 0..self.len() {
            let m = self.manager[s];
            if m != NONE && self.from[s] < to && self.to[s] > from {
                is[m as usize] = true;
            }
        }
        (0..self.n_people).filter(|&p| is[p as usize]).collect()
    }

    /// Who heads unit `u` on day `d` (docs/kpis.md, `sales_marketing_spend`): the member
    /// of `u` itself — in no unit outside `line`, which is `u` and its ancestors — whose
    /// team holds every member of `u` and of its sub-units that day. `None` when the unit
    /// has no members that day, or none of its own members leads all the others.
    pub fn unit_head(&self, u: u32, line: &[u32], d: Day) -> Option<u32> {
        let np = self.n_people;
        let on = |s: u32| self.from[s as usize] <= d && d < self.to[s as usize];
        let members = || {
            self.of_scope[(np + u) as usize]
                .iter()
                .copied()
                .filter(|&s| on(s))
        };
        let teams = |s: u32| self.scopes_of(s).partition_point(|&x| x < np);
        // of the unit's own members, the one highest in the reporting tree
        let top = members()
            .filter(|&s| {
                self.scopes_of(s)
                    .iter()
                    .filter(|&&x| x >= np)
                    .all(|&x| line.contains(&(x - np)))
            })
            .min_by_key(|&s| (teams(s), self.person[s as usize]))?;
        let head = self.person[top as usize];
        members()
            .all(|s| self.scopes_of(s)[..teams(s)].binary_search(&head).is_ok())
            .then_some(head)
    }

    /// The person just below the top of person `p`'s chain of managers on day `d` (the
    /// head of the org's direct report through whom `p` is in the org; `p` themself, for
    /// a direct report of the head); `None` when `p` has no manager.
    pub fn below_top(&self, p: u32, d: Day) -> Option<u32> {
        let (mut below, mut cur) = (None, p);
        // (a chain is at most as long as there are people)
        for _ in 0..self.n_people {
            if self.of_person(cur).is_empty() {
                break;
            }
            let m = self.manager[self.at(cur, d) as usize];
            if m == NONE || m == p {
                break;
            }
            below = Some(cur);
            cur = m;
        }
        below
    }

    /// The direct report of `leader` through whom person `p` is in the leader's team on
    /// day `d` (the leader, for the leader's own): up `p`'s chain of managers on that day.
    /// `None` when the chain does not reach the leader.
    pub fn branch_of(&self, leader: u32, p: u32, d: Day) -> Option<u32> {
        let mut cur = p;
        if cur == leader {
            return Some(leader);
        }
        // (a chain is at most as long as there are people; a cycle cannot hold the leader)
        for _ in 0..self.n_people {
            if self.of_person(cur).is_empty() {
                return None;
            }
            let m = self.manager[self.at(cur, d) as usize];
            if m == NONE {
                return None;
            }
            if m == leader {
                return Some(cur);
            }
            cur = m;
        }
        None
    }

    /// Direct reports of `leader` on day `d`.
    pub fn direct_reports(&self, leader: u32, d: Day) -> Vec<u32> {
        let mut out = Vec::new();
        for &s in &self.of_scope[leader as usize] {
            if self.manager[s as usize] == leader
                && self.from[s as usize] <= d
                && d < self.to[s as usize]
            {
                out.push(self.person[s as usize]);
            }
        }
        out
    }
}

/// A lookup from scope name to index, for the CLI and the API.
pub fn scope_names(book: &Book) -> HashMap<String, ScopeIx> {
    let mut m = HashMap::new();
    let np = book.people.len() as u32;
    for (i, p) in book.people.iter().enumerate() {
        m.insert(format!("team:{}", p.id), i as u32);
    }
    for (i, u) in book.units.iter().enumerate() {
        m.insert(format!("unit:{}", u.id), np + i as u32);
    }
    m
}
