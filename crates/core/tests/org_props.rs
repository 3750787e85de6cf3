//! Property tests of the effective-dated org: on any date, the tree answers consistently.

use proptest::prelude::*;
use salesorg_core::date::Date;
use salesorg_core::ids::PersonId;
use salesorg_core::org::OrgHistory;
use salesorg_core::records::{ReportingLine, Validity};
use time::Duration;

fn p(i: usize) -> PersonId {
    PersonId::parse(&format!("p{i}")).unwrap()
}

fn base() -> Date {
    Date::from_calendar_date(2024, time::Month::January, 1).unwrap()
}

/// A random org over 20 people: each person i > 0 reports to someone with a smaller index
/// (so no cycles), and may move once to another such manager on a random day.
fn org_strategy() -> impl Strategy<Value = Vec<ReportingLine>> {
    prop::collection::vec((0usize..100, 0usize..100, prop::option::of(1i64..360)), 19).prop_map(
        |spec| {
            let mut lines = Vec::new();
            for (k, (m1, m2, move_day)) in spec.into_iter().enumerate() {
                let i = k + 1;
                let first = m1 % i;
                match move_day {
                    None => lines.push(ReportingLine {
                        person: p(i),
                        manager: p(first),
                        valid: Validity::new(base(), None).unwrap(),
                    }),
                    Some(d) => {
                        let on = base() + Duration::days(d);
                        lines.push(ReportingLine {
                            person: p(i),
                            manager: p(first),
                            valid: Validity::new(base(), Some(on)).unwrap(),
                        });
                        lines.push(ReportingLine {
                            person: p(i),
                            manager: p(m2 % i),
                            valid: Validity::new(on, None).unwrap(),
                        });
                    }
                }
            }
            lines
        },
    )
}

proptest! {
    #[test]
    fn the_tree_is_consistent_on_every_date(lines in org_strategy(), day in 0i64..400) {
        let org = OrgHistory::new(vec![], lines, vec![]).unwrap();
        let d = base() + Duration::days(day);
        // everyone is in exactly one root's subtree, exactly once
        let mut seen = std::collections::BTreeMap::new();
        for r in org.roots(d) {
            for x in org.subtree(&r, d) {
                *seen.entry(x).or_insert(0) += 1;
            }
        }
        prop_assert!(seen.values().all(|n| *n == 1), "someone counted twice: {seen:?}");
        for i in 0..20 {
            let x = p(i);
            // a leader's subtree is the leader plus the subtrees of their direct reports
            let mut parts: Vec<PersonId> = vec![x.clone()];
            for r in org.direct_reports(&x, d) {
                parts.extend(org.subtree(&r, d));
            }
            let mut whole = org.subtree(&x, d);
            whole.sort();
            parts.sort();
            prop_assert_eq!(whole, parts);
            // manager_on and direct_reports agree
            if let Some(m) = org.manager_on(&x, d) {
                prop_assert!(org.direct_reports(m, d).contains(&x));
                let chain = org.chain(&x, d);
                prop_assert_eq!(chain.first(), Some(m));
            }
        }
    }

    #[test]
    fn any_line_that_closes_a_loop_is_refused(lines in org_strategy(), a in 1usize..20, day in 0i64..400) {
        let org = OrgHistory::new(vec![], lines.clone(), vec![]).unwrap();
        let d = base() + Duration::days(day);
        // make someone in a's subtree a's manager from d: always a cycle (unless it is a alone)
        let sub = org.subtree(&p(a), d);
        if let Some(below) = sub.get(1) {
            let mut l2: Vec<ReportingLine> = lines.into_iter().filter(|l| l.person != p(a)).collect();
            l2.push(ReportingLine { person: p(a), manager: below.clone(), valid: Validity::new(d, None).unwrap() });
            let errs = OrgHistory::new(vec![], l2, vec![]).unwrap_err();
            prop_assert!(errs.iter().any(|e| e.to_string().contains("management cycle")), "{:?}", errs);
        }
    }
}
