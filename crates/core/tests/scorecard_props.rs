//! Property tests of the scorecard's roll-up on random orgs with reorganisations:
//! - every team's additive KPIs equal a brute-force sum over the records whose owner had
//!   that leader in their chain on the attribution date (no record counted twice or
//!   dropped, whatever the moves);
//! - with a static org, a leader's team equals their own book plus their direct reports'
//!   teams;
//! - the company equals the sum of everyone's own book;
//! - through a viewer's lens, any scope counts exactly its records whose owner was the
//!   viewer or in the viewer's subtree on the attribution date: nothing from outside;
//! - one company-wide grid rolled up for any scope and lens gives exactly what a pass over
//!   that scope gives, for every KPI;
//! - a pass over some of the deal walks (a drill-down's: closed deals by close day, a
//!   deal's history skipped when it lies outside the periods) gives what the pass over
//!   everything gives, whatever the deals' stage history, unknown days and rows outside
//!   their deal's life.

use proptest::prelude::*;
use salesorg_core::catalog::Catalog;
use salesorg_core::date::Date;
use salesorg_core::date::Timestamp;
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money};
use salesorg_core::org::OrgHistory;
use salesorg_core::period::{Grain, Period};
use salesorg_core::records::*;
use salesorg_core::scorecard::book::FORECAST_CATEGORIES;
use salesorg_core::scorecard::{BookBuilder, Engine, Lens, Need, Scope, Walk, periods_between};
use salesorg_core::settings::Settings;
use time::Duration;

const N: usize = 12;

fn p(i: usize) -> PersonId {
    PersonId::parse(&format!("p{i:02}")).unwrap()
}

fn base() -> Date {
    Date::from_calendar_date(2024, time::Month::January, 1).unwrap()
}

#[derive(Debug, Clone)]
struct Deal {
    owner: usize,
    created: i64,
    cycle: i64,
    status: u8,
    amount: i64,
}

fn lines_strategy(moves: bool) -> impl Strategy<Value = Vec<ReportingLine>> {
    prop::collection::vec(
        (0usize..100, 0usize..100, prop::option::of(1i64..360)),
        N - 1,
    )
    .prop_map(move |spec| {
        let mut lines = Vec::new();
        for (k, (m1, m2, move_day)) in spec.into_iter().enumerate() {
            let i = k + 1;
            let first = m1 % i;
            match move_day.filter(|_| moves) {
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
    })
}

fn deals_strategy() -> impl Strategy<Value = Vec<Deal>> {
    deals_between(0..120)
}

/// Deals of random owners, days, statuses and amounts, as many as `n` allows.
fn deals_between(n: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Deal>> {
    prop::collection::vec((0usize..N, 0i64..330, 0i64..90, 0u8..3, 1i64..100_000), n).prop_map(
        |v| {
            v.into_iter()
                .map(|(owner, created, cycle, status, amount)| Deal {
                    owner,
                    created,
                    cycle,
                    status,
                    amount,
                })
                .collect()
        },
    )
}

fn engine(lines: &[ReportingLine], deals: &[Deal]) -> Engine {
    engine_with_history(lines, deals, &[])
}

/// A deal's stage history: (day after its created day, possibly before it or after its
/// close; stage 0–3), and whether its created day is unknown.
type History = (Vec<(i64, u8)>, bool);

fn history_strategy() -> impl Strategy<Value = Vec<History>> {
    prop::collection::vec(
        (
            prop::collection::vec((-40i64..160, 0u8..4), 0..4),
            prop::bool::weighted(0.1),
        ),
        120,
    )
}

fn engine_with_history(lines: &[ReportingLine], deals: &[Deal], hist: &[History]) -> Engine {
    engine_of(lines, deals, hist, false)
}

/// People `p00`, `p01`, … as reps.
fn reps(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| Person {
            id: p(i),
            name: format!("P {i}"),
            email: None,
            title: None,
            role: Some(RoleId::parse("sales_rep").unwrap()),
            hired: None,
            left: None,
        })
        .collect()
}

/// The engine of [`engine_with_history`], with an own-book quota for everyone in every
/// quarter when `quotas` (of different sizes: some reached, most not, so a pipeline
/// coverage is a number where its remainder is positive and null where it is not).
fn engine_of(lines: &[ReportingLine], deals: &[Deal], hist: &[History], quotas: bool) -> Engine {
    let people = reps(N);
    let org = OrgHistory::new(Vec::new(), lines.to_vec(), Vec::new()).unwrap();
    let cat = Catalog::builtin().unwrap();
    let mut b = BookBuilder::new(Settings::default(), &cat, &people, org, false);
    for (k, d) in deals.iter().enumerate() {
        let status = [OppStatus::Won, OppStatus::Lost, OppStatus::Open][d.status as usize];
        b.add_opportunity(&Opportunity {
            id: OppId::parse(&format!("o{k:04}")).unwrap(),
            name: None,
            account: None,
            owner: p(d.owner),
            amount: Some(Money::from_major(d.amount).unwrap()),
            currency: Currency::USD,
            stage: Stage::parse(if status == OppStatus::Open {
                "Open"
            } else {
                "Closed"
            })
            .unwrap(),
            status,
            probability: None,
            forecast_category: None,
            kind: None,
            source: None,
            created: match hist.get(k) {
                Some((_, true)) => None,
                _ => Some(base() + Duration::days(d.created)),
            },
            close_date: Some(base() + Duration::days(d.created + d.cycle)),
            loss_reason: None,
            // (one deal in three with a next step: a data-completeness share other than 0)
            next_step: (k % 3 == 0).then(|| "Call back".to_string()),
            last_modified: None,
        })
        .unwrap();
    }
    const STAGES: [&str; 4] = ["Prospecting", "Negotiation", "Closed Won", "Closed Lost"];
    let midnight = base().midnight().assume_utc().unix_timestamp();
    for (k, d) in deals.iter().enumerate() {
        let Some((rows, _)) = hist.get(k) else {
            continue;
        };
        let mut rows = rows.clone();
        rows.sort();
        for (r, (off, st)) in rows.into_iter().enumerate() {
            b.add_stage_change(&StageChange {
                id: format!("h{k:04}-{r}"),
                opp: OppId::parse(&format!("o{k:04}")).unwrap(),
                at: Timestamp::from_unix(midnight + (d.created + off) * 86_400 + 3_600),
                stage: Stage::parse(STAGES[st as usize]).unwrap(),
                amount: None,
                close_date: None,
                probability: None,
                forecast_category: None,
            })
            .unwrap();
        }
    }
    if quotas {
        for q in quarters_in(&Settings::default().fiscal) {
            for i in 0..N {
                b.add_quota(Quota {
                    target: QuotaTarget::Person(p(i)),
                    period: q,
                    metric: "bookings".into(),
                    amount: Money::from_major(20_000 + 23_000 * i as i64).unwrap(),
                });
            }
        }
    }
    Engine::new(b.finish().unwrap())
}

const KPIS: &[&str] = &["bookings", "won_deals", "lost_deals", "opps_created"];

fn values(e: &Engine, scopes: &[Scope], periods: &[Period]) -> Vec<Vec<i128>> {
    values_in(e, &Lens::everything(), scopes, periods)
}

/// A row's values of [`KPIS`] as numbers (money in ten-thousandths).
fn num(v: &[(&str, salesorg_core::kpi::Value)]) -> Vec<i128> {
    v.iter()
        .map(|(_, v)| match v {
            salesorg_core::kpi::Value::Money(m) => *m,
            salesorg_core::kpi::Value::Count(c) => i128::from(*c),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn values_in(e: &Engine, lens: &Lens, scopes: &[Scope], periods: &[Period]) -> Vec<Vec<i128>> {
    let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
    e.run_in(lens, scopes, periods, KPIS, today)
        .unwrap()
        .into_iter()
        .map(|r| {
            r.values
                .iter()
                .map(|(_, v)| match v {
                    salesorg_core::kpi::Value::Money(m) => *m,
                    salesorg_core::kpi::Value::Count(c) => i128::from(*c),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

fn quarters(e: &Engine) -> Vec<Period> {
    quarters_in(&e.book.settings.fiscal)
}

/// The periods the drill-down property tests look at: the quarters, and the months of the
/// busiest stretch of the generated records' days.
fn drill_periods(e: &Engine) -> Vec<Period> {
    let mut periods = quarters(e);
    periods.extend(periods_between(
        &e.book.settings.fiscal,
        Grain::Month,
        base() + Duration::days(100),
        base() + Duration::days(250),
    ));
    periods
}

/// The quarters the property tests look at: those of the generated records' days.
fn quarters_in(fiscal: &salesorg_core::period::FiscalCalendar) -> Vec<Period> {
    periods_between(fiscal, Grain::Quarter, base(), base() + Duration::days(430))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn teams_count_exactly_the_records_of_the_chain_on_the_day(lines in lines_strategy(true), deals in deals_strategy()) {
        let e = engine(&lines, &deals);
        let org = &e.book.org;
        let periods = quarters(&e);
        let scopes: Vec<Scope> = (0..N as u32).map(|i| Scope::Team(e.book.person(&format!("p{i:02}")).unwrap())).collect();
        let got = values(&e, &scopes, &periods);
        for (si, leader) in (0..N).enumerate() {
            for (pi, per) in periods.iter().enumerate() {
                let mut want = [0i128; 4];
                for d in &deals {
                    let created = base() + Duration::days(d.created);
                    let close = base() + Duration::days(d.created + d.cycle);
                    let in_team = |day: Date| {
                        let owner = p(d.owner);
                        let in_tree = org.manager_on(&owner, day).is_some() || !org.direct_reports(&owner, day).is_empty();
                        in_tree && (d.owner == leader || org.chain(&owner, day).contains(&p(leader)))
                    };
                    if d.status != 2 && per.contains(close) && in_team(close) {
                        if d.status == 0 {
                            want[0] += i128::from(d.amount) * 10_000;
                            want[1] += 1;
                        } else {
                            want[2] += 1;
                        }
                    }
                    if per.contains(created) && in_team(created) {
                        want[3] += 1;
                    }
                }
                prop_assert_eq!(&got[si * periods.len() + pi][..], &want[..], "team p{:02} {}", leader, per);
            }
        }
    }

    #[test]
    fn a_static_team_is_its_leader_plus_the_direct_reports_teams(lines in lines_strategy(false), deals in deals_strategy()) {
        let e = engine(&lines, &deals);
        let periods = quarters(&e);
        let ix = |i: usize| e.book.person(&format!("p{i:02}")).unwrap();
        for leader in 0..N {
            let reports: Vec<usize> = e.book.org.direct_reports(&p(leader), base()).iter()
                .map(|r| r.as_str()[1..].parse().unwrap()).collect();
            let mut scopes = vec![Scope::Team(ix(leader)), Scope::Person(ix(leader))];
            scopes.extend(reports.iter().map(|&r| Scope::Team(ix(r))));
            let v = values(&e, &scopes, &periods);
            for pi in 0..periods.len() {
                for k in 0..KPIS.len() {
                    let sum: i128 = (1..scopes.len()).map(|s| v[s * periods.len() + pi][k]).sum();
                    prop_assert_eq!(v[pi][k], sum, "{} of team p{:02}", KPIS[k], leader);
                }
            }
        }
    }

    /// A team is exactly its branches, however its lines move: each record counts under
    /// the leader's direct report its owner reported through on the record's day (the
    /// leader, for their own), and each branch, totalled from the team's own pass over
    /// its segments ([`Engine::branch_parts`]), has the records worked out by hand from the
    /// chain of managers on each record's day. The static-team property above holds only
    /// while nobody moves; this one holds always.
    #[test]
    fn a_team_is_exactly_its_branches_on_each_records_day(lines in lines_strategy(true), deals in deals_strategy()) {
        let e = engine(&lines, &deals);
        let org = &e.book.org;
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let ix = |i: usize| e.book.person(&format!("p{i:02}")).unwrap();
        for leader in 0..N {
            let team = Scope::Team(ix(leader));
            let parts = e.branch_parts(&Lens::everything(), team);
            // the parts split the team's segments, each into one
            let mut all: Vec<u32> = parts.iter().flat_map(|p| p.segments.iter().copied()).collect();
            all.sort_unstable();
            prop_assert_eq!(&all[..], &e.segments_of(team)[..]);
            for per in quarters(&e) {
                let mut c = e.compute_traced(
                    &Lens::everything(), &[team], &[per], today, false,
                    Need::of(KPIS), None, &parts,
                ).unwrap();
                let whole = num(&e.values(&mut c, 0, 0, KPIS));
                let mut sum = vec![0i128; KPIS.len()];
                for (i, part) in parts.iter().enumerate() {
                    let got = num(&e.values(&mut c, 1 + i, 0, KPIS));
                    let who = part.person.unwrap();
                    prop_assert_eq!(part.own, who == ix(leader));
                    let who = e.book.people[who as usize].id.clone();
                    // by hand: the deals whose owner came in through `who` on the day
                    let mut want = [0i128; 4];
                    for d in &deals {
                        let owner = p(d.owner);
                        let branch = |day: Date| -> Option<PersonId> {
                            if d.owner == leader {
                                return Some(p(leader));
                            }
                            let in_tree = org.manager_on(&owner, day).is_some() || !org.direct_reports(&owner, day).is_empty();
                            let chain = org.chain(&owner, day);
                            let at = chain.iter().position(|m| *m == p(leader)).filter(|_| in_tree)?;
                            Some(if at == 0 { owner.clone() } else { chain[at - 1].clone() })
                        };
                        let created = base() + Duration::days(d.created);
                        let close = base() + Duration::days(d.created + d.cycle);
                        if d.status != 2 && per.contains(close) && branch(close).as_ref() == Some(&who) {
                            if d.status == 0 {
                                want[0] += i128::from(d.amount) * 10_000;
                                want[1] += 1;
                            } else {
                                want[2] += 1;
                            }
                        }
                        if per.contains(created) && branch(created).as_ref() == Some(&who) {
                            want[3] += 1;
                        }
                    }
                    prop_assert_eq!(&got[..], &want[..], "p{:02}'s branch {} in {}", leader, who, per);
                    for (s, x) in sum.iter_mut().zip(&got) {
                        *s += x;
                    }
                }
                prop_assert_eq!(sum, whole, "team p{:02} in {}", leader, per);
            }
        }
    }

    /// The company is exactly its branches too: the direct reports of the head of the org
    /// on each record's day, each head's own records and the people in no line. The
    /// parts split every segment, each into one, and their sums add up to the company's.
    #[test]
    fn the_company_is_exactly_its_branches(lines in lines_strategy(true), deals in deals_strategy()) {
        let e = engine(&lines, &deals);
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let parts = e.branch_parts(&Lens::everything(), Scope::Company);
        let mut all: Vec<u32> = parts.iter().flat_map(|p| p.segments.iter().copied()).collect();
        all.sort_unstable();
        let every: Vec<u32> = (0..e.segs.len() as u32).collect();
        prop_assert_eq!(all, every);
        // one part each: no person twice as a head's own or twice as a branch
        for (i, a) in parts.iter().enumerate() {
            prop_assert!(!parts[..i].iter().any(|b| b.person == a.person && b.own == a.own));
        }
        for per in quarters(&e) {
            let mut c = e.compute_traced(
                &Lens::everything(), &[Scope::Company], &[per], today, false,
                Need::of(KPIS), None, &parts,
            ).unwrap();
            let whole = num(&e.values(&mut c, 0, 0, KPIS));
            let mut sum = vec![0i128; KPIS.len()];
            for i in 0..parts.len() {
                for (s, x) in sum.iter_mut().zip(num(&e.values(&mut c, 1 + i, 0, KPIS))) {
                    *s += x;
                }
            }
            prop_assert_eq!(sum, whole, "{}", per);
        }
    }

    /// A quarter to a day counts the records of its days, as a range over them does, with
    /// reporting lines that move; passed together with the whole quarters (slots inside
    /// slots), each is what it is alone.
    #[test]
    fn a_period_to_date_counts_the_records_of_its_days(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        cut in 0i64..95,
    ) {
        let e = engine(&lines, &deals);
        let whole = quarters(&e);
        let (mut to_date, mut ranges) = (Vec::new(), Vec::new());
        for q in &whole {
            if let Some(t) = q.to_date(q.start + Duration::days(cut)) {
                ranges.push(Period::range(t.start, t.end).unwrap());
                to_date.push(t);
            }
        }
        let mut scopes = vec![Scope::Company];
        scopes.extend((0..N as u32).map(|i| Scope::Team(e.book.person(&format!("p{i:02}")).unwrap())));
        let mut together = whole.clone();
        together.extend(&to_date);
        let v = values(&e, &scopes, &together);
        let w = values(&e, &scopes, &whole);
        let r = values(&e, &scopes, &ranges);
        let (nt, nw, nr) = (together.len(), whole.len(), ranges.len());
        for si in 0..scopes.len() {
            for qi in 0..nw {
                prop_assert_eq!(&v[si * nt + qi], &w[si * nw + qi], "{:?} {}", scopes[si], whole[qi]);
            }
            for ti in 0..nr {
                prop_assert_eq!(&v[si * nt + nw + ti], &r[si * nr + ti], "{:?} {}", scopes[si], to_date[ti]);
            }
        }
    }

    #[test]
    fn the_company_is_everyones_own_book(lines in lines_strategy(true), deals in deals_strategy()) {
        let e = engine(&lines, &deals);
        let periods = quarters(&e);
        let mut scopes = vec![Scope::Company];
        scopes.extend((0..N).map(|i| Scope::Person(e.book.person(&format!("p{i:02}")).unwrap())));
        let v = values(&e, &scopes, &periods);
        for pi in 0..periods.len() {
            for (k, &company) in v[pi].iter().enumerate().take(KPIS.len()) {
                let sum: i128 = (1..scopes.len()).map(|s| v[s * periods.len() + pi][k]).sum();
                prop_assert_eq!(company, sum);
            }
        }
    }

    #[test]
    fn a_viewer_never_sees_a_record_from_outside_their_subtree(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        viewer in 0usize..N,
        target in 0usize..N,
        team in any::<bool>(),
    ) {
        let e = engine(&lines, &deals);
        let org = &e.book.org;
        let periods = quarters(&e);
        let ix = |i: usize| e.book.person(&format!("p{i:02}")).unwrap();
        let lens = Lens::team(&e, ix(viewer));
        let scope = if team { Scope::Team(ix(target)) } else { Scope::Person(ix(target)) };
        let got = values_in(&e, &lens, &[scope], &periods);
        for (pi, per) in periods.iter().enumerate() {
            let mut want = [0i128; 4];
            for d in &deals {
                let owner = p(d.owner);
                let in_tree = |day: Date| org.manager_on(&owner, day).is_some() || !org.direct_reports(&owner, day).is_empty();
                let under = |who: usize, day: Date| d.owner == who || (in_tree(day) && org.chain(&owner, day).contains(&p(who)));
                let counts = |day: Date| {
                    under(viewer, day) && if team { under(target, day) } else { d.owner == target }
                };
                let created = base() + Duration::days(d.created);
                let close = base() + Duration::days(d.created + d.cycle);
                if d.status != 2 && per.contains(close) && counts(close) {
                    if d.status == 0 {
                        want[0] += i128::from(d.amount) * 10_000;
                        want[1] += 1;
                    } else {
                        want[2] += 1;
                    }
                }
                if per.contains(created) && counts(created) {
                    want[3] += 1;
                }
            }
            prop_assert_eq!(&got[pi][..], &want[..], "viewer p{:02}, {:?} p{:02}, {}", viewer, if team { "team" } else { "person" }, target, per);
        }
    }

    #[test]
    fn a_shared_company_grid_gives_the_same_numbers_as_a_pass_per_scope(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        viewer in 0usize..N,
        target in 0usize..N,
        kind in 0u8..3,
        all_kpis in any::<bool>(),
        picks in proptest::collection::vec(0usize..64, 1..4),
    ) {
        let e = engine(&lines, &deals);
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let periods = quarters(&e);
        let ix = |i: usize| e.book.person(&format!("p{i:02}")).unwrap();
        let lens = if kind == 2 { Lens::everything() } else { Lens::team(&e, ix(viewer)) };
        let scope = match kind {
            0 => Scope::Team(ix(target)),
            1 => Scope::Person(ix(target)),
            _ => Scope::Company,
        };
        let kpis: Vec<&str> = if all_kpis {
            salesorg_core::kpi::KPI_IDS.iter().copied().filter(|k| !salesorg_core::kpi::NOT_YET.contains(k)).collect()
        } else {
            vec!["bookings", "win_rate", "pipeline_open", "stage_conversion"]
        };
        let direct = e.run_in(&lens, &[scope], &periods, &kpis, today).unwrap();
        // the grid computes every comparison slot when the KPIs need fewer: skipping them
        // must not change a number
        let need = if all_kpis { Need::of(&kpis) } else { Need::ALL };
        let mut grid = e.grid(&periods, today, need).unwrap();
        let shared = e.run_grid(&grid, &lens, &[scope], &periods, &kpis, today).unwrap();
        prop_assert_eq!(direct.len(), shared.len());
        for (a, b) in direct.iter().zip(&shared) {
            prop_assert_eq!(&a.values, &b.values, "{:?} {}", scope, a.period);
        }
        // kept for long, its comparison cells brief: the same numbers
        grid.keep_compact();
        let kept = e.run_grid(&grid, &lens, &[scope], &periods, &kpis, today).unwrap();
        for (a, b) in direct.iter().zip(&kept) {
            prop_assert_eq!(&a.values, &b.values, "kept {:?} {}", scope, a.period);
        }
        // any list of the grid's periods, in any order, is served by picking them out of it
        let mut sub: Vec<Period> = picks.iter().map(|&i| periods[i % periods.len()]).collect();
        // a date range over one of them is that period
        sub.push(Period::range(sub[0].start, sub[0].end).unwrap());
        let at = grid.pick(&sub, today, Need::of(&kpis)).unwrap();
        let picked = e.run_grid_at(&grid, &lens, &[scope], &sub, &at, &kpis, today).unwrap();
        let direct = e.run_in(&lens, &[scope], &sub, &kpis, today).unwrap();
        prop_assert_eq!(direct.len(), picked.len());
        for (a, b) in direct.iter().zip(&picked) {
            prop_assert_eq!(a.period, b.period);
            prop_assert_eq!(&a.values, &b.values, "picked {:?} {}", scope, a.period);
        }
        // but not a period it does not hold, nor another day
        let outside = periods[0].shifted_years(-3);
        prop_assert!(grid.pick(&[outside], today, Need::of(&kpis)).is_none());
        prop_assert!(grid.pick(&sub, today + time::Duration::days(1), Need::of(&kpis)).is_none());
        // nor comparison slots it was not made with
        let none = Need { last_year: false, window: false, ..Need::ALL };
        let bare = e.grid(&periods, today, none).unwrap();
        let (yoy, window) = (Need { last_year: true, ..none }, Need { window: true, ..none });
        prop_assert!(bare.pick(&sub, today, yoy).is_none());
        prop_assert!(bare.pick(&sub, today, window).is_none());
        prop_assert!(bare.pick(&sub, today, none).is_some());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_drill_downs_walk_gives_the_full_walks_numbers(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        hist in history_strategy(),
        target in 0usize..N,
    ) {
        let e = engine_of(&lines, &deals, &hist, true);
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let periods = drill_periods(&e);
        let scopes = [Scope::Company, Scope::Team(e.book.person(&format!("p{target:02}")).unwrap())];
        let kpis = [
            "pipeline_open", "pipeline_weighted", "stale_pipeline_share",
            "data_completeness_share", "pipeline_coverage", "bookings", "win_rate",
            "sales_cycle_days", "opps_created", "pipeline_created", "opp_conversion_rate",
            "stage_conversion", "days_in_stage_avg",
        ];
        let full = e.run(&scopes, &periods, &kpis, today).unwrap();
        for row in &full {
            for (k, v) in &row.values {
                let mut c = e.compute_traced(
                    &Lens::everything(), &[row.scope], &[row.period], today, false,
                    Need::of(&[k]), None, &[],
                ).unwrap();
                let got = e.values(&mut c, 0, 0, &[k]);
                prop_assert_eq!(&got[0].1, v, "{} {:?} {}", k, row.scope, row.period);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The untraced stage walk gives the numbers of the traced walk, which goes deal by
    /// deal and row by row: over all the quarters at once, whose days the untraced walk
    /// goes over an owner's history rows in one loop whatever deal they belong to (deals
    /// that come back into a stage, or whose advance the column cannot hold, apart), and
    /// over each quarter and month alone, whose days it walks deal by deal; for the
    /// company and for every leader's team, whose reps move between teams mid-period.
    #[test]
    fn the_stage_walk_over_the_owners_rows_gives_the_traced_walks_numbers(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        hist in history_strategy(),
    ) {
        use salesorg_core::scorecard::Want;
        let e = engine_of(&lines, &deals, &hist, false);
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let mut scopes = vec![Scope::Company];
        scopes.extend((0..N).filter_map(|k| e.book.person(&format!("p{k:02}")).map(Scope::Team)));
        let kpis = ["stage_conversion", "days_in_stage_avg"];
        let mut runs = vec![quarters(&e)];
        runs.extend(drill_periods(&e).into_iter().map(|p| vec![p]));
        for periods in &runs {
            let want = Want {
                slots: vec![true; periods.len()], kinds: u16::MAX, keep: None, ends_only: false,
                rows: None, tally: None,
            };
            let mut flat = e.compute_traced(
                &Lens::everything(), &scopes, periods, today, false, Need::of(&kpis), None, &[],
            ).unwrap();
            let mut traced = e.compute_traced(
                &Lens::everything(), &scopes, periods, today, true, Need::of(&kpis), Some(&want), &[],
            ).unwrap();
            for (x, scope) in scopes.iter().enumerate() {
                for (y, period) in periods.iter().enumerate() {
                    prop_assert_eq!(
                        e.values(&mut flat, x, y, &kpis), e.values(&mut traced, x, y, &kpis),
                        "{:?} {} of {}", scope, period, periods.len()
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A pass that keeps only the records of its first and last days (a company-wide
    /// drill-down's first pages) keeps exactly the full trace's records of those days, in
    /// the full trace's order, counts every record by its day as the full pass does, and
    /// makes the same cells; split into parts between threads or not.
    #[test]
    fn a_pass_keeping_its_ends_keeps_the_full_traces_first_and_last_days(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        hist in history_strategy(),
        split in prop::bool::ANY,
    ) {
        use salesorg_core::scorecard::{Traced, Want};
        let e = engine_of(&lines, &deals, &hist, false);
        e.split_passes_from(if split { 0 } else { u64::MAX });
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let periods = drill_periods(&e);
        for k in ["win_rate", "opps_created", "stage_conversion", "days_in_stage_avg"] {
            for &period in &periods {
                let traced = |ends_only: bool| {
                    let want = Want { slots: vec![true], kinds: u16::MAX, keep: None, ends_only, rows: None, tally: None };
                    e.compute_traced(
                        &Lens::everything(), &[Scope::Company], &[period], today, true,
                        Need::of(&[k]), Some(&want), &[],
                    ).unwrap()
                };
                let (mut full, mut ends) = (traced(false), traced(true));
                prop_assert!(!full.trace_ends_only && ends.trace_ends_only);
                prop_assert_eq!(&full.trace_days, &ends.trace_days, "{} {}", k, period);
                prop_assert_eq!(e.values(&mut full, 0, 0, &[k]), e.values(&mut ends, 0, 0, &[k]));
                let at = |c: &salesorg_core::scorecard::Computed, ix: &[u32]| -> Vec<Traced> {
                    ix.iter().map(|&i| *c.trace.get(i as usize).unwrap()).collect()
                };
                let (fe, ee) = (full.trace_edges.as_ref().unwrap(), ends.trace_edges.as_ref().unwrap());
                prop_assert_eq!((fe.first, fe.last), (ee.first, ee.last), "{} {}", k, period);
                prop_assert_eq!(at(&full, &fe.at_first), at(&ends, &ee.at_first), "{} {}", k, period);
                prop_assert_eq!(at(&full, &fe.at_last), at(&ends, &ee.at_last), "{} {}", k, period);
                // and nothing else
                let kept = ee.at_first.len() + if ee.first == ee.last { 0 } else { ee.at_last.len() };
                prop_assert_eq!(ends.trace.len(), kept);
                let on_edges = full.trace.iter().filter(|t| t.1 == fe.first || t.1 == fe.last).count();
                prop_assert_eq!(on_edges, kept);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A pass given each segment's row (a team's drill-down, split by branch) keeps and
    /// counts by day only the records of segments with a row, in the full trace's order,
    /// and counts them by row and key with their amounts exactly as the full trace's
    /// records of those segments add up; keeping its ends or every record, split into
    /// parts between threads or not.
    #[test]
    fn a_pass_given_rows_keeps_and_counts_the_rows_records_alone(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        hist in history_strategy(),
        split in prop::bool::ANY,
        pick in prop::collection::vec(0u32..5, 1..64),
    ) {
        use salesorg_core::scorecard::{Contribution, TallyBy, Tallies, Traced, Want};
        let e = engine_of(&lines, &deals, &hist, false);
        e.split_passes_from(if split { 0 } else { u64::MAX });
        let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
        let periods = drill_periods(&e);
        // each segment's row (4: none), from the picks in turn
        let rows: Vec<u32> = (0..e.segs.len())
            .map(|s| match pick[s % pick.len()] {
                4 => u32::MAX,
                r => r,
            })
            .collect();
        let as_of = salesorg_core::scorecard::day(today);
        let key_of = |c: &Contribution| c.tally_key(&e.book, false);
        let amount_of = |c: &Contribution| c.shown_amount(&e.book, as_of).map(i128::from);
        let tally = TallyBy { book: &e.book, as_of, last_year: None };
        for k in ["win_rate", "opps_created", "stage_conversion", "calls"] {
            for &period in &periods {
                let traced = |ends_only: bool, with_rows: bool| {
                    let want = Want {
                        slots: vec![true], kinds: u16::MAX, keep: None, ends_only,
                        rows: with_rows.then_some(&rows[..]),
                        tally: with_rows.then_some(tally),
                    };
                    e.compute_traced(
                        &Lens::everything(), &[Scope::Company], &[period], today, true,
                        Need::of(&[k]), Some(&want), &[],
                    ).unwrap()
                };
                let all = traced(false, false);
                let ng = all.ng as u32;
                let row_of = |t: &Traced| rows[(t.0 / ng) as usize];
                let wanted: Vec<Traced> = all.trace.iter().filter(|t| row_of(t) != u32::MAX).copied().collect();
                // counted by hand from the full trace
                // (as many rows as the rows given name)
                let nrows = rows.iter().filter(|&&r| r != u32::MAX).max().map_or(0, |&m| m as usize + 1);
                let mut want_tallies = Tallies::new(nrows);
                let mut by_day = std::collections::BTreeMap::new();
                for t in &wanted {
                    let at = row_of(t) as usize * Tallies::KEYS + usize::from(key_of(&t.2));
                    want_tallies.n[at] += 1;
                    if let Some(a) = amount_of(&t.2) {
                        want_tallies.amount[at] = Some(want_tallies.amount[at].unwrap_or(0) + a);
                    }
                    *by_day.entry(t.1).or_insert(0usize) += 1;
                }
                for ends_only in [false, true] {
                    let got = traced(ends_only, true);
                    let tallies = got.tallies.as_ref().unwrap();
                    prop_assert_eq!(&tallies.n, &want_tallies.n, "{} {} {}", k, period, ends_only);
                    prop_assert_eq!(&tallies.amount, &want_tallies.amount, "{} {}", k, period);
                    // each key met names a record of its kind
                    for (key, sample) in tallies.sample.iter().enumerate() {
                        let met = (0..nrows).any(|r| tallies.n[r * Tallies::KEYS + key] > 0);
                        prop_assert_eq!(met, sample.is_some());
                        if let Some(c) = sample {
                            prop_assert_eq!(usize::from(key_of(c)), key);
                        }
                    }
                    // the days counted are the wanted records'
                    let days: Vec<(i32, usize)> = match &got.trace_days {
                        Some((lo, counts)) => counts
                            .iter()
                            .enumerate()
                            .filter(|x| *x.1 > 0)
                            .map(|(i, &n)| (lo + i as i32, n))
                            .collect(),
                        None => Vec::new(),
                    };
                    if !wanted.is_empty() {
                        prop_assert_eq!(days, by_day.iter().map(|(&d, &n)| (d, n)).collect::<Vec<_>>());
                    }
                    if ends_only && got.trace_ends_only {
                        // only the wanted records of the first and last days
                        let (lo, hi) = (by_day.keys().next(), by_day.keys().last());
                        let ends: Vec<Traced> = wanted.iter().filter(|t| Some(&t.1) == lo || Some(&t.1) == hi).copied().collect();
                        let mut kept: Vec<Traced> = got.trace.iter().copied().collect();
                        let mut ends_sorted = ends.clone();
                        kept.sort_by_key(|t| (t.1, t.0));
                        ends_sorted.sort_by_key(|t| (t.1, t.0));
                        prop_assert_eq!(kept.len(), ends.len());
                        prop_assert_eq!(kept.iter().map(|t| (t.0, t.1)).collect::<Vec<_>>(), ends_sorted.iter().map(|t| (t.0, t.1)).collect::<Vec<_>>());
                    } else if !ends_only {
                        prop_assert_eq!(got.trace.iter().copied().collect::<Vec<_>>(), wanted.clone());
                    }
                    prop_assert_eq!(e.values(&mut traced(ends_only, true), 0, 0, &[k]), e.values(&mut traced(false, false), 0, 0, &[k]));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The deals an open-pipeline view reads for a day (the deal blocks that can meet it)
    /// hold every deal open on that day, whatever their created and close days.
    #[test]
    fn the_deals_read_for_a_day_hold_every_deal_open_on_it(
        lines in lines_strategy(true),
        // enough deals for blocks of one owner's deals, some of them all closed
        deals in deals_between(600..1500),
        hist in history_strategy(),
        offsets in prop::collection::vec(-60i64..520, 1..8),
    ) {
        // few open deals (one in fifty), so that many blocks hold closed deals alone
        let mut deals = deals;
        for (k, d) in deals.iter_mut().enumerate() {
            if d.status == 2 && k % 16 != 0 {
                d.status = (k % 2) as u8;
            }
        }
        let e = engine_of(&lines, &deals, &hist, false);
        let o = &e.book.opps;
        for off in offsets {
            let d = salesorg_core::scorecard::day(base() + Duration::days(off));
            for p in 0..e.book.people.len() as u32 {
                let read: Vec<usize> = e.deals_maybe_open_on(p, d).collect();
                let owned = o.owner_off[p as usize] as usize..o.owner_off[p as usize + 1] as usize;
                prop_assert!(read.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(read.iter().all(|i| owned.contains(i)));
                for i in owned.clone().filter(|&i| e.open_on(i, d)) {
                    prop_assert!(read.contains(&i), "deal {} open on day {} not read", i, d);
                }
                e.read_every_deal(true);
                prop_assert_eq!(e.deals_maybe_open_on(p, d).collect::<Vec<_>>(), owned.collect::<Vec<_>>());
                e.read_every_deal(false);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A pass over every record group whose periods span little of the history (a page over
    /// a date range of its own: the range, the one before it and last year's, with their
    /// comparison slots) passes over the deal blocks far from its periods' days, and gives
    /// every KPI of every scope what a pass that reads every deal gives, and what a pass
    /// over each period alone gives.
    #[test]
    fn a_pass_over_a_few_periods_gives_what_reading_every_deal_gives(
        lines in lines_strategy(true),
        // enough deals for several blocks of each owner's deals, few of them open (an open
        // deal's block meets every day after its creation)
        deals in deals_between(8000..12000),
        hist in history_strategy(),
        target in 0usize..N,
        start in 0i64..420,
        len in 1i64..75,
        // today before the range (its as-of day, and the one before's, is today: a deal
        // closed between today and the range is open on it), in it or after it
        back in -100i64..200,
    ) {
        let mut deals = deals;
        for (k, d) in deals.iter_mut().enumerate() {
            if d.status == 2 && k % 64 != 0 {
                d.status = (k % 2) as u8;
            }
        }
        let e = engine_of(&lines, &deals, &hist, true);
        let from = base() + Duration::days(start);
        let today = from - Duration::days(back);
        let range = Period::range(from, from + Duration::days(len)).unwrap();
        let before = Period::range(from - Duration::days(len), from).unwrap();
        let periods = [range, before, range.shifted_years(-1)];
        let scopes = [Scope::Company, Scope::Team(e.book.person(&format!("p{target:02}")).unwrap())];
        let kpis = salesorg_core::kpi::KPI_IDS;
        let read = e.run(&scopes, &periods, kpis, today).unwrap();
        e.read_every_deal(true);
        let every = e.run(&scopes, &periods, kpis, today).unwrap();
        e.read_every_deal(false);
        for (a, b) in read.iter().zip(&every) {
            prop_assert_eq!(format!("{:?}", a.values), format!("{:?}", b.values), "{:?} {}", a.scope, a.period);
        }
        prop_assert_eq!(read.len(), every.len());
        // and each period alone, whose trailing window is one slot over its twelve months
        // (together, the windows are cut into parts they share with the others' slots)
        for p in periods {
            let alone = e.run(&scopes, &[p], kpis, today).unwrap();
            for a in alone {
                let b = read.iter().find(|b| b.scope == a.scope && b.period == a.period).unwrap();
                prop_assert_eq!(format!("{:?}", a.values), format!("{:?}", b.values), "{:?} {} alone", a.scope, a.period);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The memory floor's reader, split in any number of parts, reads every byte of the
    /// pass's columns exactly once: the parts' bytes and checksums add up to one part's.
    #[test]
    fn the_pass_columns_read_in_parts_are_read_once(
        lines in lines_strategy(true),
        deals in deals_strategy(),
        hist in history_strategy(),
        n in 2usize..7,
    ) {
        let e = engine_with_history(&lines, &deals, &hist);
        let b = &e.book;
        let (whole, bytes) = b.read_pass_columns(0, 1);
        let parts: Vec<(u64, u64)> = (0..n).map(|k| b.read_pass_columns(k, n)).collect();
        let sum = parts.iter().fold(0u64, |a, p| a.wrapping_add(p.0));
        prop_assert_eq!(sum, whole);
        prop_assert_eq!(parts.iter().map(|p| p.1).sum::<u64>(), bytes);
        // the history's day, stage and advance columns alone are 8 bytes a row
        prop_assert!(bytes >= 8 * b.history.day.len() as u64 + 4 * b.opps.created.len() as u64);
    }
}

/// A run over every KPI walks every record group, the way it did before runs walked only
/// their KPIs' groups (the bulk export's pass is the full one); a KPI the walk does not
/// know walks everything.
#[test]
fn every_kpi_together_walks_every_group() {
    let all: Vec<&str> = salesorg_core::kpi::KPI_IDS
        .iter()
        .copied()
        .filter(|k| !salesorg_core::kpi::NOT_YET.contains(k))
        .collect();
    assert_eq!(Walk::of(&all), Walk::ALL);
    assert_eq!(Walk::of(&["no_such_kpi"]), Walk::ALL);
    assert_ne!(Walk::of(&["calls"]), Walk::ALL);
    // (a KPI that waits for data walks nothing: a role that lists it walks its others')
    assert_eq!(
        Walk::of(&["forecast_accuracy", "win_rate"]),
        Walk::of(&["win_rate"])
    );
}

/// A book builder for `n` reps with no reporting lines or units, with the default settings
/// and the built-in catalog; `keep_ids` as [`BookBuilder::new`]'s.
fn flat_builder(n: usize, keep_ids: bool) -> BookBuilder {
    let org = OrgHistory::new(Vec::new(), Vec::new(), Vec::new()).unwrap();
    let cat = Catalog::builtin().unwrap();
    BookBuilder::new(Settings::default(), &cat, &reps(n), org, keep_ids)
}

/// An open deal `id` of rep `k` for `amount` dollars at `stage`, created and closing on the
/// days given from [`base`].
fn open_deal(
    id: &OppId,
    k: usize,
    amount: i64,
    stage: &str,
    probability: Option<Probability>,
    created: i64,
    close: i64,
) -> Opportunity {
    Opportunity {
        id: id.clone(),
        name: None,
        account: None,
        owner: p(k),
        amount: Some(Money::from_major(amount).unwrap()),
        currency: Currency::USD,
        stage: Stage::parse(stage).unwrap(),
        status: OppStatus::Open,
        probability,
        forecast_category: None,
        kind: None,
        source: None,
        created: Some(base() + Duration::days(created)),
        close_date: Some(base() + Duration::days(close)),
        loss_reason: None,
        next_step: None,
        last_modified: None,
    }
}

/// Open pipeline takes each open deal's amount on the as-of day from its stage history,
/// for every owner, not only the first (the pass starts each owner at their first history
/// override, found once per book): three owners, each with a deal of 1,000 × (k + 1) whose
/// history said 100 × (k + 1) from Jan 2 and nothing of its amount from Jul 19, so that
/// on 31 March each owner's open pipeline is the history's amount, and on 30 September,
/// with the deal's close moved into that quarter, the deal's own.
#[test]
fn open_pipeline_takes_every_owners_amounts_from_the_history() {
    let owners = 3;
    let mut b = flat_builder(owners, false);
    let midnight = base().midnight().assume_utc().unix_timestamp();
    for k in 0..owners {
        let id = OppId::parse(&format!("o{k}")).unwrap();
        // the deal's close now; its history said 20 March until July
        let deal = open_deal(&id, k, 1_000 * (k as i64 + 1), "Negotiation", None, 0, 250);
        b.add_opportunity(&deal).unwrap();
        for (r, (day, stage, amount, close)) in [
            (1, "Prospecting", Some(100 * (k as i64 + 1)), Some(79)),
            (200, "Negotiation", None, None),
        ]
        .into_iter()
        .enumerate()
        {
            b.add_stage_change(&StageChange {
                id: format!("h{k}-{r}"),
                opp: id.clone(),
                at: Timestamp::from_unix(midnight + day * 86_400 + 3_600),
                stage: Stage::parse(stage).unwrap(),
                amount: amount.map(|a| Money::from_major(a).unwrap()),
                close_date: close.map(|c| base() + Duration::days(c)),
                probability: None,
                forecast_category: None,
            })
            .unwrap();
        }
    }
    let e = Engine::new(b.finish().unwrap());
    let fiscal = &e.book.settings.fiscal;
    let q1 = Period::parse("FY2024-Q1", fiscal).unwrap();
    let q3 = Period::parse("FY2024-Q3", fiscal).unwrap();
    let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
    let scopes: Vec<Scope> = (0..owners)
        .map(|k| e.scope(&format!("person:p{k:02}")).unwrap())
        .collect();
    let rows = e
        .run(&scopes, &[q1, q3], &["pipeline_open"], today)
        .unwrap();
    let got: Vec<String> = rows.iter().map(|r| r.values[0].1.to_text("—")).collect();
    assert_eq!(
        got,
        [
            "100.00", "1000.00", "200.00", "2000.00", "300.00", "3000.00"
        ]
    );
}

/// Without record ids the builder lets go of the deals' ids once the stage history is in
/// (at the first lead, activity, quota, spend or survey), and of the leads' once the
/// activities are (at the first quota, spend or survey): a record of those kinds after
/// that is an error that says so, not a row matched to no deal or an activity to no lead;
/// so is a deal after the history (its stage's usual probability is settled then). With
/// ids each is matched as before.
#[test]
fn a_record_after_the_ids_it_needs_were_let_go_of_is_refused() {
    let midnight = base().midnight().assume_utc().unix_timestamp();
    let id = OppId::parse("o0").unwrap();
    let lead = |k: usize| Lead {
        id: LeadId::parse(&format!("l{k}")).unwrap(),
        owner: p(0),
        source: None,
        status: None,
        created: Timestamp::from_unix(midnight),
        converted_at: None,
        converted_opp: None,
        converted_account: None,
    };
    let row = StageChange {
        id: "h0".into(),
        opp: id.clone(),
        at: Timestamp::from_unix(midnight + 3_600),
        stage: Stage::parse("Prospecting").unwrap(),
        amount: None,
        close_date: None,
        probability: None,
        forecast_category: None,
    };
    let call = Activity {
        id: ActivityId::parse("a0").unwrap(),
        kind: ActivityKind::Call,
        at: Timestamp::from_unix(midnight + 7_200),
        owner: p(0),
        lead: Some(LeadId::parse("l0").unwrap()),
        opp: None,
        account: None,
        subject: None,
    };
    let survey = SurveyResponse {
        id: "s0".into(),
        account: AccountId::parse("acc").unwrap(),
        date: base(),
        score: 5,
        scale_min: 1,
        scale_max: 5,
    };
    for keep_ids in [false, true] {
        let mut b = flat_builder(1, keep_ids);
        b.add_opportunity(&open_deal(&id, 0, 1_000, "Negotiation", None, 0, 60))
            .unwrap();
        b.add_lead(&lead(0)).unwrap();
        let late_row = b.add_stage_change(&row);
        b.add_activity(&call).unwrap();
        b.add_survey(survey.clone());
        let o1 = OppId::parse("o1").unwrap();
        let late = [
            late_row,
            b.add_activity(&call),
            b.add_lead(&lead(1)),
            b.add_opportunity(&open_deal(&o1, 0, 1_000, "Negotiation", None, 0, 60)),
        ];
        for (r, what) in late.into_iter().zip([
            "stage history row h0",
            "activity a0",
            "lead l1",
            "opportunity o1",
        ]) {
            match (keep_ids, r) {
                (false, Err(e)) => {
                    assert!(e.to_string().contains(&format!("{what} came after")), "{e}")
                }
                (true, Ok(())) => {}
                (k, r) => panic!("ids {k}, {what}: {r:?}"),
            }
        }
        // the records that came in order count: the call answered its lead
        let e = Engine::new(b.finish().unwrap());
        assert_eq!(e.book.leads.act_days.len(), if keep_ids { 2 } else { 1 });
        // (with ids, both calls keep theirs: the first's packed when the survey came, and
        // taken back for the late one)
        if keep_ids {
            let a = &e.book.activities;
            assert_eq!(a.ids.len(), 2);
            assert!((0..2).all(|i| a.id(i) == "a0"));
        }
    }
}

/// Weighted open pipeline takes each deal's probability on the as-of day from its history
/// row then: the one the row gives (kept apart only where it differs from the one the row
/// would take without it), else the deal's own when the row is at the deal's current
/// stage, else the stage's default (the probability most rows and deals give for it).
/// Six owners, one open deal of 1,000 each, closing in the quarter; two more deals at
/// Prospecting, opened after it, make 10 % that stage's default. The sixth deal says 90 %
/// and commit now, and its row at the same stage gave the stage's usual 70 % and pipeline:
/// the row's are kept, as they differ from the deal's own.
#[test]
fn weighted_pipeline_takes_each_rows_probability() {
    let mut b = flat_builder(8, false);
    let midnight = base().midnight().assume_utc().unix_timestamp();
    let bp = |x: u16| Some(Probability::from_bp(x).unwrap());
    // (current stage, its probability, created day, the history row's stage and probability)
    let deals = [
        ("Negotiation", 7_000, 0, Some(("Prospecting", bp(3_300)))),
        ("Negotiation", 7_000, 0, Some(("Prospecting", None))),
        ("Negotiation", 7_000, 0, Some(("Negotiation", None))),
        ("Negotiation", 7_000, 0, Some(("Negotiation", bp(7_000)))),
        ("Negotiation", 7_000, 0, Some(("Negotiation", bp(9_000)))),
        ("Negotiation", 9_000, 0, Some(("Negotiation", bp(7_000)))),
        ("Prospecting", 1_000, 200, None),
        ("Prospecting", 1_000, 200, None),
    ];
    for (k, (stage, prob, created, row)) in deals.into_iter().enumerate() {
        let id = OppId::parse(&format!("o{k}")).unwrap();
        let mut deal = open_deal(&id, k, 1_000, stage, bp(prob), created, created + 60);
        let sixth = k == 5;
        if sixth {
            deal.forecast_category = Some(ForecastCategory::Commit);
        }
        b.add_opportunity(&deal).unwrap();
        if let Some((stage, probability)) = row {
            b.add_stage_change(&StageChange {
                id: format!("h{k}"),
                opp: id,
                at: Timestamp::from_unix(midnight + 86_400 + 3_600),
                stage: Stage::parse(stage).unwrap(),
                amount: None,
                close_date: None,
                probability,
                forecast_category: sixth.then_some(ForecastCategory::Pipeline),
            })
            .unwrap();
        }
    }
    let e = Engine::new(b.finish().unwrap());
    // only the three probabilities that differ from a row's own are kept, and the one
    // forecast category
    let (o, h) = (&e.book.opps, &e.book.history);
    assert_eq!(h.probs.len(), 3);
    assert_eq!(h.fcats.len(), 1);
    let i = (0..o.len()).find(|&i| o.owner_of(i) == 5).unwrap();
    let r = o.hist_off[i] as usize;
    let pipeline = 1 + FORECAST_CATEGORIES
        .iter()
        .position(|&c| c == "pipeline")
        .unwrap();
    assert_eq!(
        usize::from(h.fcat(&e.book.stages, o, (i, r), h.stage[r], 0)),
        pipeline
    );
    let q1 = Period::parse("FY2024-Q1", &e.book.settings.fiscal).unwrap();
    let today = Date::from_calendar_date(2025, time::Month::June, 1).unwrap();
    let scopes: Vec<Scope> = (0..6)
        .map(|k| e.scope(&format!("person:p{k:02}")).unwrap())
        .collect();
    let rows = e
        .run(&scopes, &[q1], &["pipeline_weighted"], today)
        .unwrap();
    let got: Vec<String> = rows.iter().map(|r| r.values[0].1.to_text("—")).collect();
    assert_eq!(
        got,
        ["330.00", "100.00", "700.00", "700.00", "900.00", "700.00"]
    );
}

/// Survey responses keep their arrival order among those of one owner and day, also when
/// one came before its account (a loader adds accounts first; the builder keeps such a
/// response aside until the end); a response to an unknown account, or on an empty scale,
/// is left out, and the ids stay beside their responses.
#[test]
fn surveys_that_come_before_their_account_keep_their_place() {
    let mut b = flat_builder(1, true);
    let survey = |id: &str, acct: &str, score, max| SurveyResponse {
        id: id.into(),
        account: AccountId::parse(acct).unwrap(),
        date: base() + Duration::days(10),
        score,
        scale_min: 1,
        scale_max: max,
    };
    let account = |id: &str| Account {
        id: AccountId::parse(id).unwrap(),
        name: id.into(),
        industry: None,
        employees: None,
        region: None,
        owner: Some(p(0)),
        parent: None,
        customer_since: None,
        churned_on: None,
    };
    b.add_survey(survey("s1", "acc-b", 5, 5));
    b.add_account(&account("acc-a"));
    b.add_account(&account("acc-b"));
    b.add_survey(survey("s2", "acc-a", 1, 5));
    b.add_survey(survey("s3", "acc-unknown", 3, 5));
    b.add_survey(survey("s4", "acc-b", 1, 1));
    b.add_survey(survey("s5", "acc-b", 3, 5));
    let book = b.finish().unwrap();
    let got: Vec<(String, u32, f64)> = book
        .surveys
        .iter()
        .enumerate()
        .map(|(i, s)| (book.survey_ids.get(i).into_owned(), s.account, s.score))
        .collect();
    let want: Vec<(String, u32, f64)> = vec![
        ("s1".into(), 1, 1.0),
        ("s2".into(), 0, 0.0),
        ("s5".into(), 1, 0.5),
    ];
    assert_eq!(got, want);
    assert!(book.surveys.iter().all(|s| s.owner == 0));
}
