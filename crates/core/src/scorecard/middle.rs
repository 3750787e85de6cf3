//! Medians over unions of groups of values without gathering the values: each group's
//! values kept in bucket order beside its running count per bucket, so that the middle
//! values of any union of groups come from adding up counts and selecting among the
//! values of one or two buckets.
//!
//! The roll-up of a bulk export asks for the median response time and sales cycle of
//! every team and unit in every period. Gathering each scope's values and selecting
//! among them handled every value once for every scope above its owner (the company's
//! top team, its VP's, its director's, …); here each value is placed once per run, and
//! a scope costs a sum over its groups' counts (a few hundred each) and a selection
//! among the values of the buckets its middle falls in.

use crate::kpi::{Middle, select_ranks};

/// How many buckets: values below 8 have one each; from 8 on, each power of two is cut
/// into eight buckets, so a bucket spans at most an eighth of its values.
pub const BUCKETS: usize = 240;

/// The bucket of `v` (monotone: a smaller value never falls in a later bucket).
#[inline]
pub fn bucket(v: u32) -> usize {
    if v < 8 {
        v as usize
    } else {
        let e = 31 - v.leading_zeros();
        (8 * (e - 2) + ((v >> (e - 3)) & 7)) as usize
    }
}

/// The values of groups `0..n`, each group's in bucket order.
#[derive(Default)]
pub struct Groups {
    /// How many buckets each group counts: from the first any group's value falls in to
    /// the last.
    width: usize,
    /// The first of those buckets.
    first: usize,
    /// `upto[i * BUCKETS + first + b]`: how many of group `i`'s values fall in the first
    /// `b + 1` of those buckets.
    upto: Vec<u32>,
    /// Where each group's values start in `vals` (and, last, where they end).
    start: Vec<usize>,
    vals: Vec<u32>,
}

/// The buffers of [`Groups::middle`], reused from one query to the next.
#[derive(Default)]
pub struct Scratch {
    upto: Vec<u32>,
    pick: Vec<u32>,
}

impl Groups {
    /// The groups of `units` units of `per` groups each (group `u * per + t`), where
    /// `each(u, put)` calls `put(t, values)` with every slice of values of unit `u`'s
    /// group `t` (a class's segments hold their values of every period side by side, so
    /// a unit's groups are made in one walk over them). The units are placed on
    /// `threads` threads, each a run of them, into the arrays of `reuse` (a run's groups
    /// are tens of megabytes at 10M opportunities: the last run's, rewritten, cost less
    /// than fresh pages from the kernel).
    ///
    /// Each slice is read once: its values are copied to their group's place and counted
    /// there, and each group is then put in bucket order through a buffer while it is
    /// still in the cache (a class's segments lie far apart in the pass's arrays, and a
    /// second walk over them cost as much as the first).
    pub fn build<F>(units: usize, per: usize, threads: usize, reuse: Groups, each: F) -> Groups
    where
        F: Fn(usize, &mut dyn FnMut(usize, &[u32])) + Sync,
    {
        let n = units * per;
        let Groups {
            mut upto,
            mut start,
            mut vals,
            ..
        } = reuse;
        // every group's size and place (the slices' lengths alone: no value is read)
        start.clear();
        start.resize(n + 1, 0);
        for u in 0..units {
            each(u, &mut |t, vs: &[u32]| start[u * per + t + 1] += vs.len());
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let total = start[n];
        // runs of units with about as many values each (a bulk export's classes differ
        // a hundredfold: cut by units, one core placed nine tenths of the response times)
        let threads = threads.clamp(1, units.max(1));
        let mut cut = vec![0usize];
        for u in 0..units {
            if cut.len() < threads && start[(u + 1) * per] * threads >= total * cut.len() {
                cut.push(u + 1);
            }
        }
        cut.resize(threads, units);
        cut.push(units);
        // (the reused arrays keep their old contents: each run's part is cleared or
        // written over by the thread that fills it, not first by this one alone; counts
        // past the old length come as zeros and are not cleared again, as a pass's fresh
        // arrays are not)
        let old = upto.len().min(n * BUCKETS);
        upto.resize(n * BUCKETS, 0);
        vals.truncate(total);
        vals.resize(total, 0);
        let (each, at) = (&each, &start);
        std::thread::scope(|sc| {
            let (mut ups_rest, mut vals_rest) = (&mut upto[..], &mut vals[..]);
            for w in cut.windows(2) {
                let (ups, r) = ups_rest.split_at_mut((w[1] - w[0]) * per * BUCKETS);
                ups_rest = r;
                let (mine, r) = vals_rest.split_at_mut(at[w[1] * per] - at[w[0] * per]);
                vals_rest = r;
                let (lo, base) = (w[0], at[w[0] * per]);
                let stale = old.saturating_sub(w[0] * per * BUCKETS).min(ups.len());
                let mut work = move || {
                    ups[..stale].fill(0);
                    let (mut next, mut buf) = (vec![0usize; per], Vec::new());
                    for (x, ups) in ups.chunks_exact_mut(per * BUCKETS).enumerate() {
                        let u = lo + x;
                        for (t, nx) in next.iter_mut().enumerate() {
                            *nx = at[u * per + t] - base;
                        }
                        // each value to its group's place, counted in its bucket
                        each(u, &mut |t, vs: &[u32]| {
                            let up = &mut ups[t * BUCKETS..(t + 1) * BUCKETS];
                            for &v in vs {
                                up[bucket(v)] += 1;
                            }
                            mine[next[t]..next[t] + vs.len()].copy_from_slice(vs);
                            next[t] += vs.len();
                        });
                        // each group in bucket order, its counts made running
                        for (t, up) in ups.chunks_exact_mut(BUCKETS).enumerate() {
                            let i = u * per + t;
                            let group = &mut mine[at[i] - base..at[i + 1] - base];
                            buf.clear();
                            buf.extend_from_slice(group);
                            let mut acc = 0;
                            for c in up.iter_mut() {
                                let n = *c;
                                *c = acc;
                                acc += n;
                            }
                            for &v in &buf {
                                let b = &mut up[bucket(v)];
                                group[*b as usize] = v;
                                *b += 1;
                            }
                        }
                    }
                };
                if w[1] == units {
                    work();
                } else {
                    sc.spawn(work);
                }
            }
        });
        // (each bucket's counter now stands where the next bucket starts: the running
        // count of the buckets up to it)
        // only the buckets from the first any value falls in to the last: a median's
        // counts are added up over those alone (response times span a dozen powers of
        // two, not all thirty)
        let (mut first, mut last) = (BUCKETS, 0);
        for up in upto.chunks_exact(BUCKETS) {
            if up[BUCKETS - 1] > 0 {
                first = first.min(up.partition_point(|&x| x == 0));
                last = last.max(up.partition_point(|&x| x < up[BUCKETS - 1]));
            }
        }
        let width = if first > last { 1 } else { last - first + 1 };
        let first = first.min(last);
        Groups {
            width,
            first,
            upto,
            start,
            vals,
        }
    }

    /// Group `i`'s running counts over the buckets any value falls in.
    #[inline]
    fn counts(&self, i: usize) -> &[u32] {
        let at = i * BUCKETS + self.first;
        &self.upto[at..at + self.width]
    }

    /// The middle values of the union of `groups` (each listed once).
    pub fn middle(&self, groups: impl Iterator<Item = usize> + Clone, s: &mut Scratch) -> Middle {
        let w = self.width;
        let up = &mut s.upto;
        up.clear();
        up.resize(w, 0);
        for i in groups.clone() {
            for (a, &c) in up.iter_mut().zip(self.counts(i)) {
                *a += c;
            }
        }
        let n = u64::from(up[w - 1]);
        if n == 0 {
            return None;
        }
        let (r1, r2) = ((n - 1) / 2, n / 2);
        // the buckets the two middle ranks fall in, and how many values come before them
        let b1 = up.partition_point(|&x| u64::from(x) <= r1);
        let b2 = up.partition_point(|&x| u64::from(x) <= r2);
        let before = if b1 == 0 { 0 } else { u64::from(up[b1 - 1]) };
        let pick = &mut s.pick;
        pick.clear();
        for i in groups {
            let up = self.counts(i);
            let from = if b1 == 0 { 0 } else { up[b1 - 1] as usize };
            let to = up[b2] as usize;
            pick.extend_from_slice(&self.vals[self.start[i] + from..self.start[i] + to]);
        }
        Some(select_ranks(
            pick,
            (r1 - before) as usize,
            (r2 - before) as usize,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::select_middle;
    use proptest::prelude::*;

    #[test]
    fn buckets_are_in_order_and_in_range() {
        let mut last = 0;
        for v in (0..70_000u32).chain([u32::MAX / 2, u32::MAX - 1, u32::MAX]) {
            let b = bucket(v);
            assert!(b >= last && b < BUCKETS, "{v} -> {b}");
            last = b;
        }
        assert_eq!(bucket(u32::MAX), BUCKETS - 1);
        assert_eq!(
            (bucket(7), bucket(8), bucket(15), bucket(16)),
            (7, 8, 15, 16)
        );
    }

    proptest! {
        /// Any union of groups has the middle values of its values gathered and sorted.
        #[test]
        fn the_middle_of_a_union_is_the_middle_of_its_values(
            groups in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![0u32..20, 0u32..5_000, any::<u32>()], 0..40), 1..12),
            pick in proptest::collection::vec(any::<bool>(), 13),
            threads in 1usize..4,
        ) {
            // units of two groups, each group's values in two slices (as a class's come
            // from several segments, each holding every period's side by side)
            let per = 2;
            let units = groups.len().div_ceil(per);
            let groups = {
                let mut g = groups;
                g.resize(units * per, Vec::new());
                g
            };
            // made over the arrays of an earlier run's groups (other values, more or
            // fewer of them), as a bulk export's are
            let earlier = Groups::build(units + 1, per, threads, Groups::default(), |u, put| {
                for t in 0..per {
                    let vs = groups.get(u * per + t).map_or(&[][..], |v| &v[..]);
                    let more: Vec<u32> = vs.iter().map(|v| v ^ 0x5a5a).chain([u as u32]).collect();
                    put(t, &more);
                }
            });
            let reuse = if pick[12] { earlier } else { Groups::default() };
            let g = Groups::build(units, per, threads, reuse, |u, put| {
                for half in 0..2 {
                    for t in 0..per {
                        let vs = &groups[u * per + t];
                        let (a, b) = vs.split_at(vs.len() / 2);
                        put(t, if half == 0 { a } else { b });
                    }
                }
            });
            let chosen: Vec<usize> =
                (0..groups.len()).filter(|&i| pick[i]).collect();
            let mut all: Vec<u32> =
                chosen.iter().flat_map(|&i| groups[i].iter().copied()).collect();
            let want = select_middle(&mut all);
            let mut s = Scratch::default();
            prop_assert_eq!(g.middle(chosen.iter().copied(), &mut s), want);
        }
    }
}
