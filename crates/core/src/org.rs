//! The effective-dated org: units as a tree, reporting lines and unit memberships with
//! `[valid_from, valid_to)` intervals, and the queries every scope is built on ("who
//! reported to X on D", "X's subtree on D", "P's units on D"). Overlapping intervals and
//! management cycles are refused with a message that names the people and dates.

use std::collections::{BTreeMap, BTreeSet};

use crate::CoreError;
use crate::date::{Date, fmt_date};
use crate::ids::{PersonId, UnitId};
use crate::records::{Membership, ReportingLine, Unit, Validity};

/// The org over time. Build it with [`OrgHistory::new`], which validates everything.
#[derive(Debug, Clone, Default)]
pub struct OrgHistory {
    units: BTreeMap<UnitId, Unit>,
    /// person -> their lines, sorted by `valid.from`, never overlapping.
    lines: BTreeMap<PersonId, Vec<ReportingLine>>,
    /// manager -> lines in which they are the manager.
    reports: BTreeMap<PersonId, Vec<ReportingLine>>,
    memberships: BTreeMap<PersonId, Vec<Membership>>,
    unit_members: BTreeMap<UnitId, Vec<Membership>>,
}

fn rule(msg: String) -> CoreError {
    CoreError::Rule(msg)
}

impl OrgHistory {
    /// Validates and indexes an org. Every problem is reported, not just the first.
    pub fn new(
        units: Vec<Unit>,
        lines: Vec<ReportingLine>,
        memberships: Vec<Membership>,
    ) -> Result<Self, Vec<CoreError>> {
        let mut errors = Vec::new();
        let mut org = OrgHistory::default();
        for u in units {
            org.units.insert(u.id.clone(), u);
        }
        errors.extend(org.unit_cycles());
        for u in org.units.values() {
            if let Some(p) = &u.parent
                && !org.units.contains_key(p)
            {
                errors.push(rule(format!("unit {} has unknown parent unit {p}", u.id)));
            }
        }
        for l in lines {
            if l.person == l.manager {
                errors.push(rule(format!(
                    "{} cannot report to themselves ({})",
                    l.person, l.valid
                )));
                continue;
            }
            org.lines.entry(l.person.clone()).or_default().push(l);
        }
        for (p, ls) in org.lines.iter_mut() {
            ls.sort_by_key(|l| l.valid.from);
            for w in ls.windows(2) {
                if w[0].valid.overlaps(&w[1].valid) {
                    errors.push(rule(format!(
                        "{p} has two managers at once: {} over {} and {} over {}",
                        w[0].manager, w[0].valid, w[1].manager, w[1].valid
                    )));
                }
            }
        }
        for ls in org.lines.values() {
            for l in ls {
                org.reports
                    .entry(l.manager.clone())
                    .or_default()
                    .push(l.clone());
            }
        }
        for m in memberships {
            if !org.units.contains_key(&m.unit) {
                errors.push(rule(format!(
                    "{} is placed in unknown unit {}",
                    m.person, m.unit
                )));
                continue;
            }
            org.memberships.entry(m.person.clone()).or_default().push(m);
        }
        for (p, ms) in org.memberships.iter_mut() {
            ms.sort_by(|a, b| (&a.unit, a.valid.from).cmp(&(&b.unit, b.valid.from)));
            for w in ms.windows(2) {
                if w[0].unit == w[1].unit && w[0].valid.overlaps(&w[1].valid) {
                    errors.push(rule(format!(
                        "{p} is in unit {} twice over overlapping intervals {} and {}",
                        w[0].unit, w[0].valid, w[1].valid
                    )));
                }
            }
        }
        for ms in org.memberships.values() {
            for m in ms {
                org.unit_members
                    .entry(m.unit.clone())
                    .or_default()
                    .push(m.clone());
            }
        }
        errors.extend(org.management_cycles());
        if errors.is_empty() {
            Ok(org)
        } else {
            Err(errors)
        }
    }

    fn unit_cycles(&self) -> Vec<CoreError> {
        let mut errs = Vec::new();
        for start in self.units.keys() {
            let mut seen = BTreeSet::new();
            let mut cur = Some(start);
            while let Some(u) = cur {
                if !seen.insert(u) {
                    if u == start {
                        errs.push(rule(format!("unit {start} is its own ancestor")));
                    }
                    break;
                }
                cur = self.units.get(u).and_then(|x| x.parent.as_ref());
            }
        }
        errs
    }

    /// Every date on which some reporting line starts. A cycle that exists on some day
    /// also exists on the day its latest edge started (all its edges still hold then), so
    /// checking these dates finds every cycle; an edge ending never makes one.
    fn start_dates(&self) -> BTreeSet<Date> {
        self.lines
            .values()
            .flatten()
            .map(|l| l.valid.from)
            .collect()
    }

    /// Finds management cycles by walking up from every line on the day it starts.
    fn management_cycles(&self) -> Vec<CoreError> {
        let mut errs = Vec::new();
        let mut reported = BTreeSet::new();
        // A cycle on date d that did not exist on the previous start date must use a line
        // that starts on d, so walking up from the people whose line starts on d finds it.
        let mut starts: BTreeMap<Date, Vec<&PersonId>> = BTreeMap::new();
        for (p, ls) in &self.lines {
            for l in ls {
                starts.entry(l.valid.from).or_default().push(p);
            }
        }
        for (&d, people) in &starts {
            for &p in people {
                let mut seen = Vec::new();
                let mut cur = p.clone();
                while let Some(m) = self.manager_on(&cur, d) {
                    if m == p {
                        seen.push(cur.clone());
                        let mut names: Vec<String> = seen.iter().map(|x| x.to_string()).collect();
                        let key: BTreeSet<String> = names.iter().cloned().collect();
                        if reported.insert(key) {
                            names.push(p.to_string());
                            errs.push(rule(format!(
                                "management cycle on {}: {}",
                                fmt_date(d),
                                names.join(" reports to ")
                            )));
                        }
                        break;
                    }
                    if seen.len() > self.lines.len() || seen.contains(m) {
                        break; // a cycle that does not pass through p; found from its members
                    }
                    seen.push(cur.clone());
                    cur = m.clone();
                }
            }
        }
        errs
    }

    /// Checks a new reporting line against this org (overlap with the person's other
    /// lines, and cycles anywhere in its interval) without adding it.
    pub fn check_line(&self, new: &ReportingLine) -> Result<(), CoreError> {
        if new.person == new.manager {
            return Err(rule(format!("{} cannot report to themselves", new.person)));
        }
        if let Some(ls) = self.lines.get(&new.person)
            && let Some(l) = ls.iter().find(|l| l.valid.overlaps(&new.valid))
        {
            return Err(rule(format!(
                "{} already reports to {} over {}, which overlaps {}",
                new.person, l.manager, l.valid, new.valid
            )));
        }
        let mut points: BTreeSet<Date> = self
            .start_dates()
            .into_iter()
            .filter(|d| new.valid.contains(*d))
            .collect();
        points.insert(new.valid.from);
        for d in points {
            let chain = self.chain(&new.manager, d);
            if new.manager == new.person || chain.contains(&new.person) {
                return Err(rule(format!(
                    "{} reporting to {} would make a management cycle on {}",
                    new.person,
                    new.manager,
                    fmt_date(d)
                )));
            }
        }
        Ok(())
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }
    pub fn unit(&self, id: &UnitId) -> Option<&Unit> {
        self.units.get(id)
    }
    pub fn lines(&self) -> impl Iterator<Item = &ReportingLine> {
        self.lines.values().flatten()
    }
    pub fn lines_of(&self, p: &PersonId) -> &[ReportingLine] {
        self.lines.get(p).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn memberships(&self) -> impl Iterator<Item = &Membership> {
        self.memberships.values().flatten()
    }

    /// Who `p` reported to on `d`.
    pub fn manager_on(&self, p: &PersonId, d: Date) -> Option<&PersonId> {
        self.lines
            .get(p)?
            .iter()
            .find(|l| l.valid.contains(d))
            .map(|l| &l.manager)
    }

    /// `p`'s managers on `d`, nearest first.
    pub fn chain(&self, p: &PersonId, d: Date) -> Vec<PersonId> {
        let mut out: Vec<PersonId> = Vec::new();
        let mut cur = p;
        while let Some(m) = self.manager_on(cur, d) {
            if m == p || out.contains(m) {
                break;
            }
            out.push(m.clone());
            cur = out.last().unwrap_or(m);
        }
        out
    }

    /// Who reported directly to `x` on `d`, sorted by id.
    pub fn direct_reports(&self, x: &PersonId, d: Date) -> Vec<PersonId> {
        let mut v: Vec<PersonId> = self
            .reports
            .get(x)
            .map(|ls| {
                ls.iter()
                    .filter(|l| l.valid.contains(d))
                    .map(|l| l.person.clone())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }

    /// `x` and everyone who reported to `x`, directly or not, on `d`; `x` first, then
    /// breadth-first.
    pub fn subtree(&self, x: &PersonId, d: Date) -> Vec<PersonId> {
        let mut out = vec![x.clone()];
        let mut seen: BTreeSet<PersonId> = BTreeSet::from([x.clone()]);
        let mut i = 0;
        while i < out.len() {
            for r in self.direct_reports(&out[i].clone(), d) {
                if seen.insert(r.clone()) {
                    out.push(r);
                }
            }
            i += 1;
        }
        out
    }

    /// The units `p` belonged to on `d`: the ones they were placed in, and those units'
    /// ancestors, nearest first.
    pub fn units_of(&self, p: &PersonId, d: Date) -> Vec<UnitId> {
        let mut out: Vec<UnitId> = Vec::new();
        for m in self.memberships.get(p).into_iter().flatten() {
            if m.valid.contains(d) {
                let mut cur = Some(&m.unit);
                while let Some(u) = cur {
                    if out.contains(u) {
                        break;
                    }
                    out.push(u.clone());
                    cur = self.units.get(u).and_then(|x| x.parent.as_ref());
                }
            }
        }
        out
    }

    /// Everyone placed in `unit` or one of its sub-units on `d`.
    pub fn unit_people(&self, unit: &UnitId, d: Date) -> Vec<PersonId> {
        let mut units = vec![unit.clone()];
        let mut i = 0;
        while i < units.len() {
            let parent = units[i].clone();
            for u in self.units.values() {
                if u.parent.as_ref() == Some(&parent) && !units.contains(&u.id) {
                    units.push(u.id.clone());
                }
            }
            i += 1;
        }
        let mut people: Vec<PersonId> = units
            .iter()
            .flat_map(|u| self.unit_members.get(u).into_iter().flatten())
            .filter(|m| m.valid.contains(d))
            .map(|m| m.person.clone())
            .collect();
        people.sort();
        people.dedup();
        people
    }

    /// People with no manager on `d` who manage someone on `d`.
    pub fn roots(&self, d: Date) -> Vec<PersonId> {
        let mut v: Vec<PersonId> = self
            .reports
            .keys()
            .filter(|m| self.manager_on(m, d).is_none() && !self.direct_reports(m, d).is_empty())
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// The top of every tree on `d`: the managers at the top ([`Self::roots`]), then those
    /// of `employed` alone in a tree of their own ([`Self::alone`]).
    pub fn tops<'a>(
        &self,
        employed: impl IntoIterator<Item = &'a PersonId>,
        d: Date,
    ) -> Vec<PersonId> {
        let mut v = self.roots(d);
        v.extend(self.alone(employed, d));
        v
    }

    /// Those of `people` with neither a manager nor a report on `d`: each a tree of their
    /// own, which [`Self::roots`] (the managers at the top) leaves out. An org whose
    /// export names no managers (Olist's reps) is all such people; the caller passes those
    /// employed on `d`.
    pub fn alone<'a>(
        &self,
        people: impl IntoIterator<Item = &'a PersonId>,
        d: Date,
    ) -> Vec<PersonId> {
        let mut v: Vec<PersonId> = people
            .into_iter()
            .filter(|p| self.manager_on(p, d).is_none() && self.direct_reports(p, d).is_empty())
            .cloned()
            .collect();
        v.sort();
        v
    }
}

/// Closes the open interval of `person`'s current line at `on` and opens a new one to
/// `manager` from `on`: the change a re-import records when a manager changed.
pub fn move_line(
    lines: &mut Vec<ReportingLine>,
    person: &PersonId,
    manager: Option<&PersonId>,
    on: Date,
) -> Result<(), CoreError> {
    for l in lines
        .iter_mut()
        .filter(|l| &l.person == person && l.valid.contains(on))
    {
        l.valid.to = Some(on);
    }
    // a line that started on `on` is now empty: it is replaced, not kept
    lines.retain(|l| l.valid.to != Some(l.valid.from));
    if let Some(m) = manager {
        lines.push(ReportingLine {
            person: person.clone(),
            manager: m.clone(),
            valid: Validity::new(on, None)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::parse_date;

    fn p(s: &str) -> PersonId {
        PersonId::parse(s).unwrap()
    }
    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }
    fn line(a: &str, m: &str, from: &str, to: Option<&str>) -> ReportingLine {
        ReportingLine {
            person: p(a),
            manager: p(m),
            valid: Validity::new(d(from), to.map(d)).unwrap(),
        }
    }

    #[test]
    fn reorganisation_is_answered_by_date() {
        let org = OrgHistory::new(
            vec![],
            vec![
                line("lead_a", "dir", "2020-01-01", None),
                line("lead_b", "dir", "2020-01-01", None),
                line("rep", "lead_a", "2020-01-01", Some("2024-02-15")),
                line("rep", "lead_b", "2024-02-15", None),
            ],
            vec![],
        )
        .unwrap();
        assert_eq!(
            org.manager_on(&p("rep"), d("2024-02-14")),
            Some(&p("lead_a"))
        );
        assert_eq!(
            org.manager_on(&p("rep"), d("2024-02-15")),
            Some(&p("lead_b"))
        );
        assert_eq!(
            org.direct_reports(&p("lead_a"), d("2024-01-01")),
            vec![p("rep")]
        );
        assert!(org.direct_reports(&p("lead_a"), d("2024-03-01")).is_empty());
        assert_eq!(org.subtree(&p("dir"), d("2024-03-01")).len(), 4);
        assert_eq!(
            org.chain(&p("rep"), d("2024-03-01")),
            vec![p("lead_b"), p("dir")]
        );
        assert!(org.manager_on(&p("rep"), d("2019-12-31")).is_none());
    }

    #[test]
    fn overlap_and_cycles_are_refused() {
        let errs = OrgHistory::new(
            vec![],
            vec![
                line("a", "b", "2020-01-01", None),
                line("a", "c", "2021-01-01", None),
            ],
            vec![],
        )
        .unwrap_err();
        assert!(
            errs[0].to_string().contains("a has two managers at once"),
            "{errs:?}"
        );

        let errs = OrgHistory::new(
            vec![],
            vec![
                line("a", "b", "2020-01-01", None),
                line("b", "c", "2020-01-01", None),
                line("c", "a", "2022-06-01", None),
            ],
            vec![],
        )
        .unwrap_err();
        let msg = errs[0].to_string();
        assert!(msg.contains("management cycle on 2022-06-01"), "{msg}");
        assert_eq!(errs.len(), 1, "{errs:?}");

        let org =
            OrgHistory::new(vec![], vec![line("a", "b", "2020-01-01", None)], vec![]).unwrap();
        let e = org
            .check_line(&line("b", "a", "2019-01-01", None))
            .unwrap_err();
        assert!(
            e.to_string().contains("management cycle on 2020-01-01"),
            "{e}"
        );
        assert!(
            org.check_line(&line("b", "a", "2019-01-01", Some("2020-01-01")))
                .is_ok()
        );
        assert!(org.check_line(&line("a", "c", "2021-01-01", None)).is_err());
    }
}
