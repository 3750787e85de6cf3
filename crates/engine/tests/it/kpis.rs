//! Hand-computed KPIs on a small org written straight into a store, on SQLite and
//! PostgreSQL. Every expected number below is worked out by hand in the comments.
//!
//! The org (Q1 = 2024-01-01..2024-04-01, fiscal year from January, UTC, USD):
//! - C (CRO) leads MA and MB (Sales Managers); MB leaves on 2024-03-20.
//! - R1 (rep) reports to MA until 2024-02-15, then to MB, then (MB gone) to C from 2024-03-20.
//! - R2 (rep) reports to MA. R3 (rep) reports to MB and leaves on 2024-03-01.
//! - Units: ACME (company) ⊃ North ⊃ North-1 (MA, R1, R2); ACME ⊃ South (MB, R3).

use salesorg_core::catalog::Catalog;
use salesorg_core::date::{Date, Timestamp, parse_date};
use salesorg_core::ids::*;
use salesorg_core::kpi::{Value, Why};
use salesorg_core::money::{Currency, Money, Rate};
use salesorg_core::period::Period;
use salesorg_core::records::*;
use salesorg_core::scorecard::Engine;
use salesorg_core::settings::Settings;
use salesorg_engine::Quiet;
use salesorg_store::testing::{BOTH, fresh};
use salesorg_store::{BackendKind, Store};

fn d(s: &str) -> Date {
    parse_date(s).unwrap()
}
fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
fn pid(s: &str) -> PersonId {
    PersonId::parse(s).unwrap()
}
fn usd(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn person(id: &str, role: &str, left: Option<&str>) -> Person {
    Person {
        id: pid(id),
        name: id.to_string(),
        email: None,
        title: None,
        role: Some(RoleId::parse(role).unwrap()),
        hired: Some(d("2020-01-01")),
        left: left.map(d),
    }
}

fn line(p: &str, m: &str, from: &str, to: Option<&str>) -> ReportingLine {
    ReportingLine {
        person: pid(p),
        manager: pid(m),
        valid: Validity::new(d(from), to.map(d)).unwrap(),
    }
}

fn member(p: &str, u: &str, to: Option<&str>) -> Membership {
    Membership {
        person: pid(p),
        unit: UnitId::parse(u).unwrap(),
        valid: Validity::new(d("2020-01-01"), to.map(d)).unwrap(),
    }
}

#[allow(clippy::too_many_arguments)]
fn opp(
    id: &str,
    owner: &str,
    account: &str,
    amount: &str,
    ccy: &str,
    status: OppStatus,
    stage: &str,
    created: &str,
    close: &str,
) -> Opportunity {
    Opportunity {
        id: OppId::parse(id).unwrap(),
        name: None,
        account: Some(AccountId::parse(account).unwrap()),
        owner: pid(owner),
        amount: Some(usd(amount)),
        currency: Currency::parse(ccy).unwrap(),
        stage: Stage::parse(stage).unwrap(),
        status,
        probability: Some(
            Probability::from_bp(match status {
                OppStatus::Won => 10_000,
                OppStatus::Lost => 0,
                OppStatus::Open => 2_500,
            })
            .unwrap(),
        ),
        forecast_category: None,
        kind: None,
        source: None,
        created: Some(d(created)),
        close_date: Some(d(close)),
        loss_reason: None,
        next_step: None,
        last_modified: Some(ts(&format!("{close}T12:00:00Z"))),
    }
}

fn hist(opp: &str, k: usize, at: &str, stage: &str, bp: u16) -> StageChange {
    StageChange {
        id: format!("{opp}-{k}"),
        opp: OppId::parse(opp).unwrap(),
        at: ts(at),
        stage: Stage::parse(stage).unwrap(),
        amount: None,
        close_date: None,
        probability: Some(Probability::from_bp(bp).unwrap()),
        forecast_category: None,
    }
}

fn account(id: &str, owner: &str, churned: Option<&str>) -> Account {
    Account {
        id: AccountId::parse(id).unwrap(),
        name: id.into(),
        industry: None,
        employees: None,
        region: None,
        owner: Some(pid(owner)),
        parent: None,
        customer_since: None,
        churned_on: churned.map(d),
    }
}

fn activity(id: &str, kind: ActivityKind, at: &str, owner: &str, lead: Option<&str>) -> Activity {
    Activity {
        id: ActivityId::parse(id).unwrap(),
        kind,
        at: ts(at),
        owner: pid(owner),
        lead: lead.map(|l| LeadId::parse(l).unwrap()),
        opp: None,
        account: None,
        subject: None,
    }
}

fn lead(id: &str, owner: &str, created: &str, converted: Option<&str>) -> Lead {
    Lead {
        id: LeadId::parse(id).unwrap(),
        owner: pid(owner),
        source: None,
        status: None,
        created: ts(created),
        converted_at: converted.map(d),
        converted_opp: None,
        converted_account: None,
    }
}

/// Writes the org described at the top of this file.
pub fn small_org(s: &mut Store, settings: &Settings) {
    s.save_settings(settings).unwrap();
    s.upsert_people(&[
        person("C", "cro", None),
        person("MA", "sales_manager", None),
        person("MB", "sales_manager", Some("2024-03-20")),
        person("R1", "sales_rep", None),
        person("R2", "sales_rep", None),
        person("R3", "sales_rep", Some("2024-03-01")),
    ])
    .unwrap();
    let unit = |id: &str, kind: UnitKind, parent: Option<&str>| Unit {
        id: UnitId::parse(id).unwrap(),
        name: id.into(),
        kind,
        parent: parent.map(|p| UnitId::parse(p).unwrap()),
    };
    s.upsert_units(&[
        unit("ACME", UnitKind::Company, None),
        unit("North", UnitKind::Region, Some("ACME")),
        unit("North-1", UnitKind::Team, Some("North")),
        unit("South", UnitKind::Region, Some("ACME")),
    ])
    .unwrap();
    s.replace_lines(&[
        line("MA", "C", "2020-01-01", None),
        line("MB", "C", "2020-01-01", Some("2024-03-20")),
        line("R1", "MA", "2020-01-01", Some("2024-02-15")),
        line("R1", "MB", "2024-02-15", Some("2024-03-20")),
        line("R1", "C", "2024-03-20", None),
        line("R2", "MA", "2020-01-01", None),
        line("R3", "MB", "2020-01-01", Some("2024-03-01")),
    ])
    .unwrap();
    s.replace_memberships(&[
        member("C", "ACME", None),
        member("MA", "North-1", None),
        member("R1", "North-1", None),
        member("R2", "North-1", None),
        member("MB", "South", Some("2024-03-20")),
        member("R3", "South", Some("2024-03-01")),
    ])
    .unwrap();
    s.upsert_accounts(&[
        account("ACC1", "R1", None),
        account("ACC2", "R2", None),
        account("ACC3", "R2", Some("2024-02-10")),
    ])
    .unwrap();
    let eur = |r: &str, day: &str| CurrencyRate {
        date: d(day),
        from: Currency::parse("EUR").unwrap(),
        to: Currency::parse("USD").unwrap(),
        rate: Rate::parse(r).unwrap(),
    };
    s.upsert_rates(&[eur("1.2", "2023-01-01"), eur("1.1", "2024-03-01")])
        .unwrap();
    use OppStatus::*;
    let mut o3 = opp(
        "O3",
        "R1",
        "ACC1",
        "500",
        "USD",
        Lost,
        "Closed Lost",
        "2024-01-15",
        "2024-02-20",
    );
    o3.loss_reason = Some("Price".into());
    let mut o5 = opp(
        "O5",
        "R2",
        "ACC2",
        "4000",
        "USD",
        Open,
        "Qualification",
        "2024-01-20",
        "2024-03-31",
    );
    o5.next_step = Some("Call back".into());
    o5.last_modified = Some(ts("2024-01-25T10:00:00Z"));
    let opps = [
        opp(
            "O1",
            "R1",
            "ACC1",
            "1000",
            "USD",
            Won,
            "Closed Won",
            "2024-01-05",
            "2024-02-01",
        ),
        opp(
            "O2",
            "R1",
            "ACC1",
            "2000",
            "USD",
            Won,
            "Closed Won",
            "2024-01-10",
            "2024-03-01",
        ),
        o3,
        opp(
            "O4",
            "R2",
            "ACC2",
            "100",
            "EUR",
            Won,
            "Closed Won",
            "2024-03-01",
            "2024-03-15",
        ),
        o5,
        opp(
            "O6",
            "R3",
            "ACC2",
            "300",
            "USD",
            Lost,
            "Closed Lost",
            "2023-12-01",
            "2024-01-31",
        ),
        opp(
            "O7",
            "R2",
            "ACC2",
            "500",
            "USD",
            Won,
            "Closed Won",
            "2023-05-01",
            "2023-06-01",
        ),
        opp(
            "O8",
            "R2",
            "ACC3",
            "800",
            "USD",
            Won,
            "Closed Won",
            "2023-02-01",
            "2023-03-01",
        ),
    ];
    s.upsert_opportunities(&mut opps.iter()).unwrap();
    let h = [
        hist("O1", 0, "2024-01-05T09:00:00Z", "Prospecting", 1000),
        hist("O1", 1, "2024-01-15T09:00:00Z", "Qualification", 2500),
        hist("O1", 2, "2024-02-01T09:00:00Z", "Closed Won", 10000),
        hist("O3", 0, "2024-01-15T09:00:00Z", "Prospecting", 1000),
        hist("O3", 1, "2024-02-20T09:00:00Z", "Closed Lost", 0),
        hist("O5", 0, "2024-01-20T09:00:00Z", "Prospecting", 1000),
        hist("O5", 1, "2024-02-01T09:00:00Z", "Qualification", 2500),
    ];
    s.upsert_stage_history(&mut h.iter()).unwrap();
    s.upsert_leads(&[
        lead("L1", "R2", "2024-01-10T09:00:00Z", Some("2024-01-12")),
        lead("L2", "R2", "2024-01-11T10:00:00Z", None),
        lead("L3", "R1", "2024-02-02T10:00:00Z", None),
    ])
    .unwrap();
    use ActivityKind::*;
    let acts = [
        activity("A1", Call, "2024-01-08T10:00:00Z", "R1", None),
        activity("A2", Call, "2024-01-08T11:00:00Z", "R1", None),
        activity("A3", Email, "2024-01-09T10:00:00Z", "R1", None),
        activity("A4", Call, "2024-02-05T10:00:00Z", "R2", None),
        activity("A5", Call, "2024-01-10T09:30:00Z", "R2", Some("L1")),
        activity("A6", Email, "2024-01-11T12:00:00Z", "R2", Some("L2")),
        activity("A7", Meeting, "2024-01-15T10:00:00Z", "R2", Some("L2")),
    ];
    s.upsert_activities(&mut acts.iter()).unwrap();
    let cal = settings.fiscal;
    let q1 = Period::parse("2024-01-01..2024-04-01", &cal).unwrap();
    let quota = |t: QuotaTarget, a: &str| Quota {
        target: t,
        period: q1,
        metric: "bookings".into(),
        amount: usd(a),
    };
    s.upsert_quotas(&[
        quota(QuotaTarget::Person(pid("R1")), "3000"),
        quota(QuotaTarget::Person(pid("R2")), "1000"),
        quota(QuotaTarget::Team(pid("MA")), "5000"),
    ])
    .unwrap();
    s.upsert_spend(&[
        Spend {
            date: d("2024-02-01"),
            scope: SpendScope::Company,
            category: "events".into(),
            amount: usd("1000"),
        },
        Spend {
            date: d("2024-01-15"),
            scope: SpendScope::Unit(UnitId::parse("North").unwrap()),
            category: "ads".into(),
            amount: usd("500"),
        },
        Spend {
            date: d("2024-03-01"),
            scope: SpendScope::Person(pid("R1")),
            category: "travel".into(),
            amount: usd("200"),
        },
    ])
    .unwrap();
    let survey = |id: &str, acc: &str, day: &str, score: i32, lo: i32, hi: i32| SurveyResponse {
        id: id.into(),
        account: AccountId::parse(acc).unwrap(),
        date: d(day),
        score,
        scale_min: lo,
        scale_max: hi,
    };
    s.upsert_surveys(&[
        survey("S1", "ACC1", "2024-03-05", 4, 1, 5),
        survey("S2", "ACC2", "2024-02-01", 9, 0, 10),
    ])
    .unwrap();
}

fn settings() -> Settings {
    let mut s = Settings::default();
    s.set("holidays", "2024-01-01").unwrap();
    s
}

fn engine(kind: BackendKind, settings: &Settings) -> Engine {
    let mut s = fresh(kind);
    small_org(&mut s, settings);
    salesorg_engine::scorecard::load(&mut s, &Catalog::builtin().unwrap(), true, false, &Quiet)
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
        .0
}

/// The engine over store `s`, with record ids kept for drill-downs.
pub(crate) fn with_ids(s: &mut Store) -> Engine {
    salesorg_engine::scorecard::load(s, &Catalog::builtin().unwrap(), true, false, &Quiet)
        .unwrap()
        .0
}

/// The value of one KPI as text ("—" when undefined).
fn kpi(e: &Engine, scope: &str, period: &str, k: &str) -> String {
    kpi_value(e, scope, period, k).to_text("—")
}

/// The value of one KPI.
fn kpi_value(e: &Engine, scope: &str, period: &str, k: &str) -> Value {
    let p = Period::parse(period, &e.book.settings.fiscal).unwrap();
    let scope = e.scope(scope).unwrap();
    let rows = e.run(&[scope], &[p], &[k], d("2026-01-01")).unwrap();
    rows[0].values[0].1.clone()
}

fn table(e: &Engine, scope: &str, period: &str, k: &str) -> Vec<(String, Vec<String>)> {
    let p = Period::parse(period, &e.book.settings.fiscal).unwrap();
    let rows = e
        .run(&[e.scope(scope).unwrap()], &[p], &[k], d("2026-01-01"))
        .unwrap();
    table_text(&rows[0].values[0].1)
}

/// A table-valued KPI's rows as text: (label, cells).
fn table_text(v: &Value) -> Vec<(String, Vec<String>)> {
    match v {
        Value::Table(t) => t
            .rows()
            .map(|(l, r)| (l.to_owned(), r.iter().map(|v| v.to_text("—")).collect()))
            .collect(),
        v => panic!("not a table: {v:?}"),
    }
}

const Q1: &str = "FY2024-Q1";

#[test]
fn pipeline_and_bookings_by_hand() {
    for kind in BOTH {
        let e = engine(kind, &settings());
        let k = |scope: &str, id: &str| kpi(&e, scope, Q1, id);
        // O1 1000 + O2 2000 + O4 EUR 100 at 1.1 (rate from 2024-03-01) = 3110
        assert_eq!(k("company", "bookings"), "3110.00", "{kind}");
        assert_eq!(k("company", "won_deals"), "3");
        assert_eq!(k("company", "lost_deals"), "2");
        assert_eq!(k("company", "win_rate"), "0.6");
        // 3110 / (3110 + 500 + 300)
        assert_eq!(k("company", "win_rate_value"), "0.795396");
        // 3110 / 3 = 1036.666…
        assert_eq!(k("company", "avg_deal_size"), "1036.6667");
        // cycles 27 (Jan 5→Feb 1), 51 (Jan 10→Mar 1, leap year), 14 (Mar 1→Mar 15)
        assert_eq!(k("company", "sales_cycle_days"), "30.6667");
        assert_eq!(k("company", "sales_cycle_days_median"), "27.0");
        // last year's Q1: O8 800 → (3110 − 800) / 800
        assert_eq!(k("company", "revenue_growth_yoy"), "2.8875");
        // created in Q1: O1, O2, O3, O4, O5; O4 converted at the created day's rate 1.1
        assert_eq!(k("company", "opps_created"), "5");
        assert_eq!(k("company", "pipeline_created"), "7610.00");
        assert_eq!(k("company", "opp_conversion_rate"), "0.6");
        // O5 open on 2024-03-31 closing 2024-03-31: 4000 at 25 %, untouched since Jan 25
        assert_eq!(k("company", "pipeline_open"), "4000.00");
        assert_eq!(k("company", "pipeline_weighted"), "1000.00");
        assert_eq!(k("company", "stale_pipeline_share"), "1.0");
        assert_eq!(k("company", "data_completeness_share"), "1.0");
        // quota 4000 (R1 3000 + R2 1000 own-book); 4000 / (4000 − 3110)
        assert_eq!(k("company", "quota"), "4000.00");
        assert_eq!(k("company", "quota_attainment"), "0.7775");
        assert_eq!(k("company", "pipeline_coverage"), "4.494382");
    }
}

#[test]
fn attribution_follows_moves_and_a_leader_who_leaves() {
    for kind in BOTH {
        let e = engine(kind, &settings());
        let k = |scope: &str, id: &str| kpi(&e, scope, Q1, id);
        // R1's O1 closed 2024-02-01 while under MA; O2 (Mar 1) and O3 (Feb 20) under MB.
        assert_eq!(k("team:MA", "bookings"), "1110.00", "{kind}");
        assert_eq!(k("team:MA", "won_deals"), "2");
        assert_eq!(k("team:MA", "win_rate"), "1.0");
        assert_eq!(k("team:MB", "bookings"), "2000.00");
        // MB's team: O2 won, O3 lost (R1), O6 lost (R3)
        assert_eq!(k("team:MB", "win_rate"), "0.333333");
        assert_eq!(k("team:C", "bookings"), "3110.00");
        assert_eq!(k("person:R1", "bookings"), "3000.00");
        // a team quota wins over the reps' own quotas; MB's team has none at all
        assert_eq!(k("team:MA", "quota"), "5000.00");
        assert_eq!(k("team:MA", "quota_attainment"), "0.222");
        assert_eq!(k("team:MB", "quota"), "—");
        assert_eq!(k("team:MB", "quota_attainment"), "—");
        // O5 is R2's, under MA on the as-of day: 4000 / (5000 − 1110)
        assert_eq!(k("team:MA", "pipeline_coverage"), "1.028278");
        // MB left on 2024-03-20: nobody in their team at the end, no direct reports
        assert_eq!(k("team:MB", "headcount"), "0");
        assert_eq!(k("team:MB", "span_of_control"), "0");
        // C: MA and R1 (after MB left) on 2024-03-31
        assert_eq!(k("team:C", "span_of_control"), "2");
        assert_eq!(k("team:MA", "span_of_control"), "1");
        // units: North ⊃ North-1 (MA, R1, R2) by membership, not by line
        assert_eq!(k("unit:North", "bookings"), "3110.00");
        assert_eq!(k("unit:North", "lost_deals"), "1");
        assert_eq!(k("unit:South", "lost_deals"), "1");
        // ACME is the company unit: everyone below it
        assert_eq!(k("unit:ACME", "won_deals"), "3");
    }
}

/// A survey counts for the teams its account's owner was in on its day: R1 answered for
/// ACC1 under MA, then MB, then C within one quarter. (A full pass takes an owner's
/// surveys a run of one slot and one segment at a time: a run that did not end at a move
/// had put them all under MA, and one that did not end with the quarter, S5 in Q1.)
#[test]
fn satisfaction_follows_the_account_owners_moves() {
    for kind in BOTH {
        let mut s = fresh(kind);
        small_org(&mut s, &settings());
        let survey = |id: &str, day: &str, score: i32| SurveyResponse {
            id: id.into(),
            account: AccountId::parse("ACC1").unwrap(),
            date: d(day),
            score,
            scale_min: 1,
            scale_max: 5,
        };
        // (with small_org's S1, ACC1 on 2024-03-05 at 0.75, and S2, R2's ACC2 at 0.9)
        s.upsert_surveys(&[
            survey("S3", "2024-02-01", 2),
            survey("S4", "2024-03-25", 5),
            survey("S5", "2024-04-02", 1),
        ])
        .unwrap();
        let e = salesorg_engine::scorecard::load(
            &mut s,
            &Catalog::builtin().unwrap(),
            true,
            false,
            &Quiet,
        )
        .unwrap()
        .0;
        let k = |scope: &str| kpi(&e, scope, Q1, "csat_avg");
        // S3 (0.25) under MA, with R2's S2; S1 under MB; S4 (1.0) under C alone
        assert_eq!(k("team:MA"), "0.575", "{kind}");
        assert_eq!(k("team:MB"), "0.75", "{kind}");
        assert_eq!(k("person:R1"), "0.666667", "{kind}");
        assert_eq!(k("team:C"), "0.725", "{kind}");
        // R1 stayed a member of North-1 throughout: all four
        assert_eq!(k("unit:North-1"), "0.725", "{kind}");
        // S5 (0.0) is the next quarter's, under C as well
        assert_eq!(kpi(&e, "team:C", "FY2024-Q2", "csat_avg"), "0.0", "{kind}");
    }
}

#[test]
fn people_activity_and_leads_by_hand() {
    for kind in BOTH {
        let e = engine(kind, &settings());
        let k = |scope: &str, id: &str| kpi(&e, scope, Q1, id);
        // R1 and R2 have quotas; R1 3000/3000 ≥ 1, R2 110/1000 < 1
        assert_eq!(k("company", "reps_at_quota_share"), "0.5", "{kind}");
        assert_eq!(k("company", "active_reps"), "3");
        // on 2024-03-31: C, MA, R1, R2 (MB and R3 left)
        assert_eq!(k("company", "headcount"), "4");
        // R3 left; reps at start 3, at end 2 → 1 / 2.5
        assert_eq!(k("company", "rep_attrition_rate"), "0.4");
        assert_eq!(k("company", "calls"), "4");
        assert_eq!(k("company", "activities"), "7");
        // Q1 2024 has 65 working days, 64 without the Jan 1 holiday; R3 worked 43 of them
        // (to Feb 29): 4 calls / (64 + 64 + 43)
        assert_eq!(k("company", "calls_per_rep_day"), "0.023392");
        assert_eq!(k("company", "leads_created"), "3");
        assert_eq!(k("company", "lead_conversion_rate"), "0.333333");
        // L1 answered after 30 min, L2 after 120 min, L3 never: median of (30, 120)
        assert_eq!(k("company", "lead_response_minutes_median"), "75.0");
        assert_eq!(k("company", "lead_response_sla_share"), "0.333333");
        // A5 on L1, A6 and A7 on L2
        assert_eq!(k("company", "followups_per_lead"), "1.0");
        // to a day, the activities dated on or before it: to 2024-01-11, A5 and A6 (that
        // day's) on L1 and L2; to 2024-01-14, still those two (A7 comes the day after)
        let to = |day: &str| {
            kpi(
                &e,
                "company",
                &format!("FY2024-Q1 to {day}"),
                "followups_per_lead",
            )
        };
        assert_eq!(to("2024-01-11"), "1.0", "{kind}");
        assert_eq!(to("2024-01-14"), "1.0", "{kind}");
        assert_eq!(to("2024-01-15"), "1.5", "{kind}");
        // a person with nothing of their own: counts are 0, ratios undefined
        assert_eq!(k("person:C", "bookings"), "0.00");
        assert_eq!(k("person:C", "win_rate"), "—");
        assert_eq!(k("person:C", "avg_deal_size"), "—");
        assert_eq!(k("person:C", "lead_response_minutes_median"), "—");
        assert_eq!(k("person:C", "quota"), "—");
    }
}

/// The value of one KPI as text over `period` on `today`.
fn kpi_on(e: &Engine, scope: &str, period: &str, k: &str, today: &str) -> String {
    let p = Period::parse(period, &e.book.settings.fiscal).unwrap();
    let rows = e
        .run(&[e.scope(scope).unwrap()], &[p], &[k], d(today))
        .unwrap();
    rows[0].values[0].1.to_text("—")
}

/// A period to date (docs/kpis.md) is the whole period as it stood on its last day so far:
/// its flows are its days', as a range over those days has them; its quota and open
/// pipeline are the whole period's on that day, as the whole period has them that day;
/// attainment is bookings so far over the whole quota, growth against last year's whole
/// period. And a period under way counts the rep-days so far, not the days to come.
#[test]
fn a_period_to_date_counts_its_days_against_the_whole_quota() {
    let td = "FY2024-Q1 to 2024-02-15";
    let days = "2024-01-01..2024-02-16";
    // the whole quarter seen on 2024-02-15
    let whole_then = |e: &Engine, scope: &str, k: &str| kpi_on(e, scope, Q1, k, "2024-02-15");
    let whole_period = [
        "pipeline_open",
        "pipeline_weighted",
        "pipeline_coverage",
        "stale_pipeline_share",
        "quota",
        "data_completeness_share",
        "span_of_control",
    ];
    for kind in BOTH {
        let e = engine(kind, &settings());
        let k = |scope: &str, id: &str| kpi(&e, scope, td, id);
        // by hand: O1 (won Feb 1, 1000) of the won deals; O6 (lost Jan 31) of the lost
        assert_eq!(k("company", "bookings"), "1000.00", "{kind}");
        assert_eq!(k("company", "win_rate"), "0.5");
        // O1, O2, O3, O5 created by Feb 15 (O4 on Mar 1); O1 alone won by then
        assert_eq!(k("company", "opps_created"), "4");
        assert_eq!(k("company", "pipeline_created"), "7500.00");
        assert_eq!(k("company", "opp_conversion_rate"), "0.25");
        // against last year's whole Q1, as the quarter under way compares: O8 800
        assert_eq!(k("company", "revenue_growth_yoy"), "0.25");
        assert_eq!(kpi(&e, "company", days, "revenue_growth_yoy"), "—");
        // open on Feb 15 and closing in the quarter: O2 (won Mar 1) 2000, O3 (lost Feb 20)
        // 500, O5 4000 (not O4: created Mar 1)
        assert_eq!(k("company", "pipeline_open"), "6500.00");
        // the whole quarter's quota: 1000 of 4000; R1 (1000 of 3000) and R2 (0 of 1000)
        // below theirs
        assert_eq!(k("company", "quota"), "4000.00");
        assert_eq!(k("company", "quota_attainment"), "0.25");
        assert_eq!(k("company", "reps_at_quota_share"), "0.0");
        // 6500 / (4000 − 1000)
        assert_eq!(k("company", "pipeline_coverage"), "2.166667");
        assert_eq!(k("team:MA", "quota"), "5000.00");
        // 4 calls by Feb 15 over 33 working days each of R1, R2, R3 (22 in January
        // without the holiday, 11 in February)
        assert_eq!(k("company", "calls_per_rep_day"), "0.040404");
        // the whole quarter on Feb 15 counts the same rep-days (it had counted all 64)
        assert_eq!(whole_then(&e, "company", "calls_per_rep_day"), "0.040404");
        // every KPI: the whole quarter's that day, or those days'
        for scope in [
            "company",
            "team:C",
            "team:MA",
            "person:R1",
            "unit:North",
            "unit:South",
        ] {
            for &id in salesorg_core::kpi::KPI_IDS {
                // (mixed, above; or over a window of the whole period: growth against
                // last year's whole period, lifetime value over the twelve months to the
                // whole period's end)
                if matches!(
                    id,
                    "quota_attainment"
                        | "reps_at_quota_share"
                        | "forecast_accuracy"
                        | "revenue_growth_yoy"
                        | "ltv"
                        | "ltv_cac_ratio"
                ) || salesorg_core::kpi::TABLE_KPIS.contains(&id)
                {
                    continue;
                }
                let want = if whole_period.contains(&id) {
                    whole_then(&e, scope, id)
                } else {
                    kpi(&e, scope, days, id)
                };
                assert_eq!(kpi(&e, scope, td, id), want, "{kind} {scope} {id}");
            }
            for &id in salesorg_core::kpi::TABLE_KPIS {
                assert_eq!(
                    table(&e, scope, td, id),
                    table(&e, scope, days, id),
                    "{kind} {scope} {id}"
                );
            }
        }
        // on Feb 15, a scorecard of Q1 compares with Q4 and last year's Q1 to their 46th day
        let card = salesorg_engine::scorecard::person_scorecard(
            &e,
            &Catalog::builtin().unwrap(),
            e.person("MA").unwrap(),
            Period::parse(Q1, &e.book.settings.fiscal).unwrap(),
            d("2024-02-15"),
            Some(vec!["bookings", "quota_attainment"]),
        )
        .unwrap();
        let (prev, ly) = card.to_date.unwrap();
        assert_eq!(
            (prev.to_string(), ly.to_string()),
            (
                "FY2023-Q4 to 2023-11-15".to_owned(),
                "FY2023-Q1 to 2023-02-15".to_owned()
            )
        );
        let json = salesorg_engine::scorecard::person_scorecard_json(&e, &card);
        assert!(
            json.contains(r#""previous_to_date_period":"FY2023-Q4 to 2023-11-15""#),
            "{json}"
        );
        // MA's team last year: O8 (800, won 2023-03-01) whole, nothing by Feb 15
        let b = &card.lines[0];
        assert_eq!(
            (b.last_year.to_text("—"), b.last_year_to_date.to_text("—")),
            ("800.00".to_owned(), "0.00".to_owned())
        );
        // a past quarter is compared whole alone
        let card = salesorg_engine::scorecard::person_scorecard(
            &e,
            &Catalog::builtin().unwrap(),
            e.person("MA").unwrap(),
            Period::parse(Q1, &e.book.settings.fiscal).unwrap(),
            d("2024-04-01"),
            None,
        )
        .unwrap();
        assert!(card.to_date.is_none());
        assert!(
            card.lines
                .iter()
                .all(|l| l.previous_to_date == Value::Null(Why::NotApplicable))
        );
    }
}

/// Revenue growth of a quarter under way is, as the spec defines it, the days so far
/// against last year's whole quarter; the scorecard also gives it like for like, against
/// last year's quarter to the same day (mid-quarter, the first reads as a fall).
#[test]
fn revenue_growth_under_way_also_like_for_like() {
    for kind in BOTH {
        let mut s = fresh(kind);
        small_org(&mut s, &settings());
        // last year, a deal won on Feb 10 (600) beside O8 (800, won Mar 1)
        let o9 = opp(
            "O9",
            "R2",
            "ACC2",
            "600",
            "USD",
            OppStatus::Won,
            "Closed Won",
            "2023-01-10",
            "2023-02-10",
        );
        s.upsert_opportunities(&mut std::iter::once(&o9)).unwrap();
        let e = crate::loaded(&mut s);
        let card = |today: &str| {
            salesorg_engine::scorecard::person_scorecard(
                &e,
                &Catalog::builtin().unwrap(),
                e.person("C").unwrap(),
                Period::parse(Q1, &e.book.settings.fiscal).unwrap(),
                d(today),
                Some(vec!["revenue_growth_yoy"]),
            )
            .unwrap()
        };
        let c = card("2024-02-15");
        let l = &c.lines[0];
        // the spec's: the quarter's bookings (O1 1000, O2 2000, O4 EUR 100 at 1.1: 3110,
        // the deals dated after Feb 15 too, as a period under way counts its flows)
        // against last year's whole Q1 (O8 800, O9 600)
        assert_eq!(l.value.to_text("—"), "1.221429", "{kind}");
        // like for like: by Feb 15, O1 (1000) against last year's by Feb 15, O9 (600)
        assert_eq!(l.like_for_like.to_text("—"), "0.666667", "{kind}");
        let json = salesorg_engine::scorecard::person_scorecard_json(&e, &c);
        assert!(
            json.contains(r#""revenue_growth_yoy":{"value":1.221429,"#)
                && json.contains(r#""like_for_like":0.666667,"#),
            "{kind}: {json}"
        );
        // on Feb 5, nothing last year by then: no growth to speak of
        assert_eq!(
            card("2024-02-05").lines[0].like_for_like,
            Value::Null(Why::NoBookingsLastYear),
            "{kind}"
        );
        // a past quarter has its growth alone
        assert_eq!(
            card("2024-04-02").lines[0].like_for_like,
            Value::Null(Why::NotApplicable),
            "{kind}"
        );
        // the drill-down gives it among its inputs, with the two bookings to the day
        let inputs = |today: &str| {
            let q = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
            let company = e.scope("company").unwrap();
            salesorg_engine::scorecard::explain(&e, "revenue_growth_yoy", company, q, d(today))
                .unwrap()
                .inputs
                .into_iter()
                .filter(|(k, _)| k.contains("to_date") || *k == "like_for_like")
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            inputs("2024-02-15"),
            [
                "bookings_to_date 1000.00",
                "bookings_last_year_to_date 600.00",
                "like_for_like 0.666667"
            ],
            "{kind}"
        );
        assert!(inputs("2024-04-02").is_empty(), "{kind}");
    }
}

/// Pro-rated quotas (spec §3 `quota`, setting `quota_prorating`): without it, a year's
/// quota counts for the year alone; evenly, each month of it weighs the same; by a
/// seasonal profile, each month its weight; a part of a month, its days' part. A quarter's
/// quota counts for its months too, and the reps' own add up for a team as they do whole.
/// The small org with `quota_prorating` set so, and R1 given a quota of 12,000 for FY2024
/// beside the quarter's.
fn with_yearly_quota(kind: BackendKind, prorating: &str) -> Engine {
    let mut st = settings();
    st.set("quota_prorating", prorating).unwrap();
    let mut s = fresh(kind);
    small_org(&mut s, &st);
    let fy = Period::parse("FY2024", &st.fiscal).unwrap();
    s.upsert_quotas(&[Quota {
        target: QuotaTarget::Person(pid("R1")),
        period: fy,
        metric: "bookings".into(),
        amount: usd("12000"),
    }])
    .unwrap();
    with_ids(&mut s)
}

#[test]
fn quotas_pro_rated_evenly_or_by_season() {
    for kind in BOTH {
        for (prorating, want) in [
            // (Q1, 2024-01, the first 15 days of January, R1's Q1 attainment)
            ("none", ["3000.00", "—", "—", "1.0"]),
            // Q1: 3,000 + 12,000 × 3/12; January: 3,000 / 3 + 12,000 / 12; Jan 1–15:
            // 15/31 of each month's
            ("even", ["6000.00", "2000.00", "967.742", "0.5"]),
            // January weighs 2 of Q1's 4 and of the year's 14: Q1 3,000 + 12,000 × 4/14,
            // January 3,000 × 2/4 + 12,000 × 2/14
            (
                "2,1,1,1,1,1,1,1,1,1,1,2",
                ["6428.5714", "3214.2857", "1555.2996", "0.466667"],
            ),
        ] {
            let e = with_yearly_quota(kind, prorating);
            let got = [
                kpi(&e, "person:R1", Q1, "quota"),
                kpi(&e, "person:R1", "2024-01", "quota"),
                kpi(&e, "person:R1", "2024-01-01..2024-01-16", "quota"),
                kpi(&e, "person:R1", Q1, "quota_attainment"),
            ];
            assert_eq!(got, want, "{kind} {prorating}");
            assert_eq!(kpi(&e, "person:R1", "FY2024", "quota"), "15000.00");
            if prorating == "even" {
                // MA's team quota (5,000 for Q1), a third in January; the company's: R1's
                // 2,000 and R2's 1,000 / 3
                assert_eq!(kpi(&e, "team:MA", "2024-01", "quota"), "1666.6667");
                assert_eq!(kpi(&e, "company", "2024-01", "quota"), "2333.3333");
            }
        }
    }
}

/// Targets on KPIs other than bookings (docs/kpis.md "Targets"), found as the quota is:
/// a person's own; a team's or unit's set on it, else its people's own on the first day;
/// the company's, everyone's; a target counts for the periods its own lies inside.
#[test]
fn targets_on_calls_and_pipeline_add_up_as_quotas_do() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let settings = settings();
        small_org(&mut s, &settings);
        let cal = settings.fiscal;
        let q1 = Period::parse(Q1, &cal).unwrap();
        let fy = Period::parse("FY2024", &cal).unwrap();
        let q = |n: u8| Period::parse(&format!("FY2024-Q{n}"), &cal).unwrap();
        let t = |t: QuotaTarget, p: Period, metric: &str, a: &str| Quota {
            target: t,
            period: p,
            metric: metric.into(),
            amount: usd(a),
        };
        s.upsert_quotas(&[
            t(QuotaTarget::Person(pid("R1")), q1, "calls", "10"),
            t(QuotaTarget::Person(pid("R2")), q1, "calls", "5"),
            t(QuotaTarget::Person(pid("R3")), q1, "calls", "3"),
            t(QuotaTarget::Team(pid("MA")), q1, "calls", "20"),
            t(QuotaTarget::Person(pid("R1")), fy, "calls", "40"),
            t(
                QuotaTarget::Person(pid("R2")),
                q1,
                "pipeline_created",
                "5000",
            ),
            t(QuotaTarget::Team(pid("MA")), q1, "win_rate", "0.6"),
            t(QuotaTarget::Person(pid("R1")), q1, "sales_cycle_days", "30"),
            t(QuotaTarget::Person(pid("R2")), fy, "sales_cycle_days", "45"),
            t(
                QuotaTarget::Person(pid("R2")),
                q(2),
                "sales_cycle_days",
                "40",
            ),
            t(QuotaTarget::Team(pid("MB")), q(1), "win_rate", "0.5"),
            t(QuotaTarget::Team(pid("MB")), q(2), "win_rate", "0.5"),
            t(QuotaTarget::Team(pid("MB")), q(3), "win_rate", "0.5"),
            t(QuotaTarget::Team(pid("MB")), q(4), "win_rate", "0.5"),
            t(QuotaTarget::Team(pid("C")), q(1), "win_rate", "0.3"),
            t(QuotaTarget::Team(pid("C")), q(2), "win_rate", "0.3"),
            t(QuotaTarget::Team(pid("C")), q(4), "win_rate", "0.3"),
            t(QuotaTarget::Person(pid("R3")), q(1), "win_rate", "0.2"),
            t(QuotaTarget::Person(pid("R3")), q(2), "win_rate", "0.2"),
            t(QuotaTarget::Person(pid("R3")), q(3), "win_rate", "0.25"),
            t(QuotaTarget::Person(pid("R3")), q(4), "win_rate", "0.2"),
            t(QuotaTarget::Person(pid("R1")), q1, "calls_per_rep_day", "1"),
            t(
                QuotaTarget::Person(pid("R2")),
                q1,
                "calls_per_rep_day",
                "0.5",
            ),
        ])
        .unwrap();
        let e = with_ids(&mut s);
        let target = |scope: &str, p: &str, k: &str| {
            let p = Period::parse(p, &cal).unwrap();
            e.target(e.scope(scope).unwrap(), &p, k)
                .map_or("none".to_owned(), |v| v.to_text("—"))
        };
        assert_eq!(target("person:R1", Q1, "calls"), "10", "{kind}");
        // the year's target counts for the year, not for its first quarter
        assert_eq!(target("person:R1", "FY2024", "calls"), "50");
        assert_eq!(
            target("person:R1", "FY2024-Q1 to 2024-02-15", "calls"),
            "10"
        );
        // set on MA's team; MB's has MB and R3 on Jan 1 (R1 joined on Feb 15)
        assert_eq!(target("team:MA", Q1, "calls"), "20");
        assert_eq!(target("team:MB", Q1, "calls"), "3");
        // C's team and the company: R1, R2 and R3, each once
        assert_eq!(target("team:C", Q1, "calls"), "18");
        assert_eq!(target("company", Q1, "calls"), "18");
        assert_eq!(target("unit:North", Q1, "calls"), "15");
        assert_eq!(target("company", Q1, "pipeline_created"), "5000.00");
        assert_eq!(target("person:R1", Q1, "pipeline_created"), "none");
        assert_eq!(target("company", "FY2024-Q2", "calls"), "none");
        // a rate's or a mean's: set on exactly that scope, never added up; it holds for
        // each part of its period (the innermost period's wins), and for a period that
        // the targets inside cover when they agree
        for (scope, period, want) in [
            ("team:MA", Q1, "0.6"),
            ("team:MA", "FY2024", "none"),
            ("team:MA", "2024-01", "0.6"),
            ("team:MA", "2024-02-10..2024-03-05", "0.6"),
            ("team:MA", "2024-03-20..2024-04-05", "none"),
            ("team:MA", "FY2024-Q1 to 2024-02-15", "0.6"),
            ("team:MB", "FY2024", "0.5"),
            // (a range's end is its first day out: Q2 is not inside it, but covers its
            // last days)
            ("team:MB", "2024-01-01..2024-06-30", "0.5"),
            ("team:MB", "2024-12-01..2025-01-05", "none"),
            ("team:MB", "FY2025", "none"),
            // C's leaves Q3 uncovered; R3's differ in Q3
            ("team:C", "FY2024", "none"),
            ("team:C", "2024-02-01..2024-06-30", "0.3"),
            ("team:C", "2024-02-01..2024-07-02", "none"),
            ("person:R3", "FY2024", "none"),
            ("person:R3", "2024-01-01..2024-07-01", "0.2"),
            ("person:R3", "2024-06-15..2024-07-15", "none"),
            // MB's team's is not R3's, nor R3's the team's
            ("person:MB", Q1, "none"),
            ("team:R3", Q1, "none"),
        ] {
            assert_eq!(target(scope, period, "win_rate"), want, "{scope} {period}");
        }
        assert_eq!(target("person:R1", Q1, "sales_cycle_days"), "30.0");
        assert_eq!(target("person:R1", "2024-02", "sales_cycle_days"), "30.0");
        assert_eq!(target("team:MA", Q1, "sales_cycle_days"), "none");
        // calls per rep-day: a team's or unit's without its own is its reps' own, each
        // weighed by their working days in scope: MA's team had R1 until Feb 15 (32 working
        // days, Jan 1 a holiday) and R2 all quarter (64): (1 × 32 + 0.5 × 64) / 96
        assert_eq!(target("team:MA", Q1, "calls_per_rep_day"), "0.6667");
        // North-1 holds both all quarter: (1 × 64 + 0.5 × 64) / 128
        assert_eq!(target("unit:North", Q1, "calls_per_rep_day"), "0.75");
        // MB's team and the company had R3, who has none: no target
        assert_eq!(target("team:MB", Q1, "calls_per_rep_day"), "none");
        assert_eq!(target("company", Q1, "calls_per_rep_day"), "none");
        assert_eq!(target("team:MA", "FY2024-Q2", "calls_per_rep_day"), "none");
        // R2's year holds for Q1 and Q3; Q2's own, inside it, wins there
        assert_eq!(target("person:R2", "FY2024", "sales_cycle_days"), "45.0");
        assert_eq!(target("person:R2", Q1, "sales_cycle_days"), "45.0");
        assert_eq!(target("person:R2", "FY2024-Q2", "sales_cycle_days"), "40.0");
        assert_eq!(target("person:R2", "2024-05", "sales_cycle_days"), "40.0");
        assert_eq!(target("person:R2", "2024-09", "sales_cycle_days"), "45.0");
        // each KPI's value is of the kind its target is read as
        let all: Vec<&str> = salesorg_core::kpi::KPI_IDS.to_vec();
        let rows = e
            .run(&[e.scope("company").unwrap()], &[q1], &all, d("2024-02-15"))
            .unwrap();
        use salesorg_core::kpi::Kind;
        for (id, v) in &rows[0].values {
            let want = salesorg_core::kpi::kind(id);
            let got = match v {
                Value::Count(_) => Some(Kind::Count),
                Value::Money(_) => Some(Kind::Money),
                Value::Ratio(_) => Some(Kind::Ratio),
                Value::Measure(_) => Some(Kind::Measure),
                Value::Table(_) => None,
                Value::Null(_) => continue,
            };
            assert_eq!(got, want, "{id}");
        }
        // on MA's scorecard, beside the team's calls
        let card = salesorg_engine::scorecard::person_scorecard(
            &e,
            &Catalog::builtin().unwrap(),
            e.person("MA").unwrap(),
            q1,
            d("2024-04-01"),
            Some(vec!["calls", "win_rate"]),
        )
        .unwrap();
        assert_eq!(card.lines[0].target, Some(Value::Count(20)));
        // and among the drill-down's inputs
        let ex = salesorg_engine::scorecard::explain(
            &e,
            "calls",
            e.scope("team:MA").unwrap(),
            q1,
            d("2024-04-01"),
        )
        .unwrap();
        assert!(
            ex.inputs.contains(&("target", "20".to_owned())),
            "{:?}",
            ex.inputs
        );
        assert_eq!(card.lines[1].target, Some(Value::Ratio(600_000)));
        // a drill-down lists the totals its formula reads, and no others
        let inputs = |k: &'static str| -> Vec<&str> {
            let ex = salesorg_engine::scorecard::explain(
                &e,
                k,
                e.scope("team:MA").unwrap(),
                q1,
                d("2024-04-01"),
            )
            .unwrap();
            ex.inputs.iter().map(|x| x.0).collect()
        };
        assert_eq!(inputs("calls"), ["calls", "target"], "{kind}");
        assert_eq!(inputs("win_rate"), ["won_deals", "lost_deals", "target"]);
        assert_eq!(
            inputs("calls_per_rep_day"),
            ["rep_calls", "rep_days", "target"]
        );
        assert_eq!(inputs("cost_per_sale"), ["won_deals", "spend"]);
        assert_eq!(inputs("headcount"), Vec::<&str>::new());
    }
}

#[test]
fn customers_cost_and_funnel_by_hand() {
    for kind in BOTH {
        let e = engine(kind, &settings());
        let k = |scope: &str, id: &str| kpi(&e, scope, Q1, id);
        // ACC1's first won deal is O1 (Feb 1); ACC2 was first won in 2023
        assert_eq!(k("company", "new_customers"), "1", "{kind}");
        // company 1000 + unit North 500 + R1 200
        assert_eq!(k("company", "sales_marketing_spend"), "1700.00");
        assert_eq!(k("unit:North", "sales_marketing_spend"), "700.00");
        // R1 was in MB's team on Mar 1; unit spend never counts for teams
        assert_eq!(k("team:MB", "sales_marketing_spend"), "200.00");
        assert_eq!(k("team:MA", "sales_marketing_spend"), "0.00");
        assert_eq!(k("company", "cac"), "1700.00");
        assert_eq!(k("company", "cost_per_opportunity"), "340.00");
        assert_eq!(k("company", "cost_per_sale"), "566.6667");
        // ACC1 and ACC2 at the end; ACC2 and ACC3 at the start, ACC3 churned Feb 10
        assert_eq!(k("company", "active_customers"), "2");
        assert_eq!(k("company", "logo_churn_rate"), "0.5");
        assert_eq!(k("company", "logo_retention_rate"), "0.5");
        // trailing 12 months (2023-04-01..2024-04-01): bookings 3110 + O7 500 = 3610;
        // customers at its start: ACC3; at its end: ACC1, ACC2; ACC3 churned →
        // arpa 3610 / 1.5, churn 1 → ltv 2406.6667; ltv / cac = 2406.67 / 1700
        assert_eq!(k("company", "ltv"), "2406.6667");
        assert_eq!(k("company", "ltv_cac_ratio"), "1.415686");
        // a range ending mid-month: its trailing 12 months are 2023-03-10..2024-03-10, from
        // the same day a year before (not from the first of that month, which would take in
        // O8, won on 2023-03-01, and find no customer at the start): bookings O7 500 + O1
        // 1000 + O2 2000 = 3500; customers at its start ACC3 (first won 2023-03-01), at its
        // end ACC1 and ACC2; ACC3 churned → arpa 3500 / 1.5, churn 1 → ltv 2333.3333
        let range = "2024-01-15..2024-03-10";
        assert_eq!(kpi(&e, "company", range, "ltv"), "2333.3333", "{kind}");
        // and the same among the period before it and last year's, whose windows are cut
        // into parts they share
        let fiscal = e.book.settings.fiscal;
        let periods: Vec<Period> = [range, "2023-11-19..2024-01-15", "2023-01-15..2023-03-10"]
            .iter()
            .map(|p| Period::parse(p, &fiscal).unwrap())
            .collect();
        let rows = e
            .run(
                &[salesorg_core::scorecard::Scope::Company],
                &periods,
                &["ltv"],
                d("2026-01-01"),
            )
            .unwrap();
        assert_eq!(rows[0].values[0].1.to_text("—"), "2333.3333");
        // (4−1)/(5−1) = 0.75 and 9/10 = 0.9
        assert_eq!(k("company", "csat_avg"), "0.825");
        let sc = table(&e, "company", Q1, "stage_conversion");
        assert_eq!(
            sc,
            vec![
                (
                    "Prospecting".to_string(),
                    vec!["3".into(), "2".into(), "0.666667".into()]
                ),
                (
                    "Qualification".to_string(),
                    vec!["2".into(), "1".into(), "0.5".into()]
                ),
            ]
        );
        // Prospecting left by O1 after 10 d, O3 after 36 d, O5 after 12 d; Qualification by O1 after 17 d
        let ds = table(&e, "company", Q1, "days_in_stage_avg");
        assert_eq!(
            ds,
            vec![
                (
                    "Prospecting".to_string(),
                    vec!["3".into(), "19.3333".into()]
                ),
                ("Qualification".to_string(), vec!["1".into(), "17.0".into()]),
            ]
        );
        let lr = table(&e, "company", Q1, "loss_reasons");
        assert_eq!(
            lr,
            vec![
                ("Price".to_string(), vec!["1".into(), "500.00".into()]),
                (
                    "(none given)".to_string(),
                    vec!["1".into(), "300.00".into()]
                ),
            ]
        );
    }
}

/// A pipeline's drill-down lists the deals open on the as-of day and due in the period
/// then, each at its amount that day, and they add up to the pipeline; a deal open then
/// but due after the period is listed for data completeness alone. (Every deal open on
/// the as-of day had been listed, at today's amount: a finished quarter showed 731
/// records worth 38 million behind a pipeline of 0.) The pipeline created lists its deals
/// converted on the day each was created, as it adds them up (they had been converted on
/// the as-of day: a 1M demo's quarter listed 4.8 million more than its value).
#[test]
fn a_pipelines_records_are_the_deals_due_in_the_period_at_their_amount_then() {
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        // O12: 2,000 due Mar 15 from Jan 10; 5,000 due Apr 20 from Mar 1
        let o12 = opp(
            "O12",
            "R2",
            "ACC2",
            "5000",
            "USD",
            OppStatus::Open,
            "Qualification",
            "2024-01-10",
            "2024-04-20",
        );
        // O13: 1,000 EUR created on Feb 10 (at 1.2: 1,200 USD), due in May
        let o13 = opp(
            "O13",
            "R2",
            "ACC2",
            "1000",
            "EUR",
            OppStatus::Open,
            "Prospecting",
            "2024-02-10",
            "2024-05-01",
        );
        st.upsert_opportunities(&mut [o12, o13].iter()).unwrap();
        let step = |k: usize, at: &str, stage: &str, amount: &str, close: &str, f: &str| {
            let mut h = hist("O12", k, at, stage, 2_500);
            h.amount = Some(usd(amount));
            h.close_date = Some(d(close));
            h.forecast_category = Some(ForecastCategory::parse(f).unwrap());
            h
        };
        let steps = [
            step(
                0,
                "2024-01-10T09:00:00Z",
                "Prospecting",
                "2000",
                "2024-03-15",
                "pipeline",
            ),
            step(
                1,
                "2024-03-01T09:00:00Z",
                "Qualification",
                "5000",
                "2024-04-20",
                "commit",
            ),
        ];
        st.upsert_stage_history(&mut steps.iter()).unwrap();
        let e = with_ids(&mut st);
        let listed = |k: &'static str, period: &str| {
            let p = Period::parse(period, &e.book.settings.fiscal).unwrap();
            let scope = e.scope("person:R2").unwrap();
            let ex = salesorg_engine::scorecard::explain(&e, k, scope, p, d("2026-01-01")).unwrap();
            let mut rows: Vec<(String, String, Option<i64>)> = ex
                .formatted(&e)
                .map(|r| (r.kind.to_string(), r.id, r.amount))
                .collect();
            rows.sort();
            (ex.value.to_text("—"), rows)
        };
        // each open deal's line says how it stood that day: its stage, forecast category
        // (its history's), close date and probability then; in the data completeness's,
        // what it lacked then (O12 has no next step: `opp` gives none)
        let detail = |k: &'static str, period: &str, id: &str| {
            let p = Period::parse(period, &e.book.settings.fiscal).unwrap();
            let scope = e.scope("person:R2").unwrap();
            let ex = salesorg_engine::scorecard::explain(&e, k, scope, p, d("2026-01-01")).unwrap();
            ex.formatted(&e).find(|r| r.id == id).map(|r| r.detail)
        };
        assert_eq!(
            detail("pipeline_open", "FY2024-Q1 to 2024-02-15", "O12").as_deref(),
            Some(
                "stage Prospecting · pipeline · close 2024-03-15 · probability 25% (weighted 500.00) \
                 on 2024-02-15 · stale · now open, close 2024-04-20"
            ),
            "{kind}"
        );
        assert_eq!(
            detail("data_completeness_share", "FY2024-Q1", "O12").as_deref(),
            Some(
                "stage Qualification · commit · close 2024-04-20 · probability 25% (weighted 1250.00) on \
             2024-03-31 · incomplete: no next step · stale"
            ),
            "{kind}"
        );
        let m = |s: &str| Some(usd(s).units());
        // mid-February: O5 (4,000, due Mar 31) and O12 at its amount then (2,000, due Mar 15)
        let (value, rows) = listed("pipeline_open", "FY2024-Q1 to 2024-02-15");
        assert_eq!(value, "6000.00", "{kind}");
        assert_eq!(
            rows,
            [
                ("open".to_string(), "O12".to_string(), m("2000")),
                ("open".to_string(), "O5".to_string(), m("4000")),
            ],
            "{kind}"
        );
        // the quarter's end: O12 had moved to April, outside the pipeline
        let (value, rows) = listed("pipeline_open", "FY2024-Q1");
        assert_eq!(value, "4000.00", "{kind}");
        assert_eq!(
            rows,
            [("open".to_string(), "O5".to_string(), m("4000"))],
            "{kind}"
        );
        // … but open that day: the completeness share reads it
        let (_, rows) = listed("data_completeness_share", "FY2024-Q1");
        assert!(
            rows.contains(&(
                "open, due outside the period".to_string(),
                "O12".to_string(),
                m("5000")
            )),
            "{kind}: {rows:?}"
        );
        assert!(
            rows.contains(&("open".to_string(), "O5".to_string(), m("4000"))),
            "{kind}: {rows:?}"
        );
        // a deal created in the quarter is listed at its amount converted on the day it
        // was created, as the pipeline created adds it up (not at the as-of day's rate,
        // 1.1 from March 1: 1,100)
        let (value, rows) = listed("pipeline_created", "FY2024-Q1");
        assert!(
            rows.contains(&("created".to_string(), "O13".to_string(), m("1200"))),
            "{kind}: {rows:?}"
        );
        let sum: i64 = rows.iter().map(|r| r.2.unwrap_or(0)).sum();
        assert_eq!(
            sum,
            Money::parse(&value).unwrap().units(),
            "{kind}: {rows:?}"
        );
    }
}

/// The weighted pipeline takes each open deal's probability from the history row in force
/// on the as-of day, where reps gave probabilities other than their stages' usual ones:
/// the deals that give one are found one after another in the list of such rows, and a
/// deal between them that gives none takes its stage's.
#[test]
fn a_weighted_pipeline_takes_the_probabilities_reps_gave_on_the_day() {
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        let open = |id: &str, amount: &str, created: &str, close: &str| {
            opp(
                id,
                "R2",
                "ACC2",
                amount,
                "USD",
                OppStatus::Open,
                "Qualification",
                created,
                close,
            )
        };
        // (R2's deals by close day: P3, P2, P1, then O5 from the small org)
        let deals = [
            open("P1", "1000", "2024-01-05", "2024-03-30"),
            open("P2", "2000", "2024-01-06", "2024-03-29"),
            open("P3", "4000", "2024-01-07", "2024-03-28"),
        ];
        st.upsert_opportunities(&mut deals.iter()).unwrap();
        let steps = [
            // P1: Qualification at 60 % from Feb 1 (its stage's usual is 25 %)
            hist("P1", 0, "2024-01-05T09:00:00Z", "Prospecting", 2_500),
            hist("P1", 1, "2024-02-01T09:00:00Z", "Qualification", 6_000),
            // P2: Prospecting at 30 % on the quarter's last day, Qualification in April
            hist("P2", 0, "2024-01-06T09:00:00Z", "Prospecting", 3_000),
            hist("P2", 1, "2024-04-10T09:00:00Z", "Qualification", 2_500),
            // P3: its stage's usual 25 %
            hist("P3", 0, "2024-01-07T09:00:00Z", "Prospecting", 2_500),
        ];
        st.upsert_stage_history(&mut steps.iter()).unwrap();
        let e = with_ids(&mut st);
        let k = |scope: &str, period: &str, id: &str| kpi(&e, scope, period, id);
        // P1 1,000 × 60 % + P2 2,000 × 30 % + P3 4,000 × 25 % + O5 4,000 × 25 %
        assert_eq!(k("person:R2", Q1, "pipeline_open"), "11000.00", "{kind}");
        assert_eq!(k("person:R2", Q1, "pipeline_weighted"), "3200.00", "{kind}");
        // on January 20, before P1's change: P1 and P3 at 25 %, P2 at 30 %, and O5, created
        // that day, at the 10 % of its history's first row:
        // (1,000 + 4,000) × 25 % + 2,000 × 30 % + 4,000 × 10 %
        let jan = "FY2024-Q1 to 2024-01-20";
        assert_eq!(
            k("person:R2", jan, "pipeline_weighted"),
            "2250.00",
            "{kind}"
        );
    }
}

#[test]
fn empty_scopes_and_periods_give_zero_counts_and_undefined_ratios() {
    let e = engine(BackendKind::Sqlite, &settings());
    let k = |scope: &str, id: &str| kpi(&e, scope, "FY2020-Q1", id);
    for id in ["bookings", "pipeline_open", "pipeline_created"] {
        assert_eq!(k("company", id), "0.00");
    }
    for id in [
        "won_deals",
        "calls",
        "leads_created",
        "new_customers",
        "active_customers",
    ] {
        assert_eq!(k("company", id), "0");
    }
    // undefined, each saying what its formula found missing
    for (id, why) in [
        ("win_rate", Why::NoClosedDeals),
        ("win_rate_value", Why::NoClosedDeals),
        ("avg_deal_size", Why::NoWonDeals),
        ("sales_cycle_days", Why::NoWonDeals),
        ("sales_cycle_days_median", Why::NoWonDeals),
        ("revenue_growth_yoy", Why::NoBookingsLastYear),
        ("lead_conversion_rate", Why::NoLeads),
        ("lead_response_minutes_median", Why::NoLeads),
        ("lead_response_sla_share", Why::NoLeads),
        ("cac", Why::NoNewCustomers),
        ("logo_churn_rate", Why::NoCustomersAtStart),
        ("ltv", Why::NoCustomersAtWindowStart),
        ("csat_avg", Why::NoSurveys),
        ("stale_pipeline_share", Why::NoOpenPipeline),
        ("data_completeness_share", Why::NoOpenDeals),
        ("reps_at_quota_share", Why::NoRepsWithQuota),
        ("quota", Why::NoQuota),
        ("pipeline_coverage", Why::NoQuota),
        ("span_of_control", Why::NotATeam),
    ] {
        assert_eq!(k("company", id), "—", "{id}");
        assert_eq!(
            kpi_value(&e, "company", "FY2020-Q1", id),
            Value::Null(why),
            "{id}"
        );
    }
    // a quota already met leaves no remainder for the pipeline to cover: R1 booked O1
    // (1000) and O2 (2000) in Q1, their whole quota of 3000: not "no quota"
    let met = kpi_value(&e, "person:R1", Q1, "pipeline_coverage");
    let (booked, quota) = (
        kpi(&e, "person:R1", Q1, "bookings"),
        kpi(&e, "person:R1", Q1, "quota"),
    );
    let (b, q): (f64, f64) = (booked.parse().unwrap(), quota.parse().unwrap());
    assert!(b >= q, "R1 meets their quota: {booked} of {quota}");
    assert_eq!(met, Value::Null(Why::QuotaMet), "{booked} of {quota}");
    // South (MB, R3) only lost a deal
    assert_eq!(kpi(&e, "unit:South", Q1, "bookings"), "0.00");
    assert_eq!(kpi(&e, "unit:South", Q1, "win_rate"), "0.0");
}

#[test]
fn a_fiscal_year_that_starts_in_february() {
    let mut s = settings();
    s.set("fiscal_year_start_month", "2").unwrap();
    let e = engine(BackendKind::Sqlite, &s);
    // FY2024-Q4 = 2023-11-01..2024-02-01: O6 lost on Jan 31
    assert_eq!(kpi(&e, "company", "FY2024-Q4", "lost_deals"), "1");
    assert_eq!(kpi(&e, "company", "FY2024-Q4", "won_deals"), "0");
    // FY2025-Q1 = 2024-02-01..2024-05-01: O1, O2, O4
    assert_eq!(kpi(&e, "company", "FY2025-Q1", "won_deals"), "3");
    // FY2024 = 2023-02-01..2024-02-01: O8 (Mar 2023), O7 (Jun 2023)
    assert_eq!(kpi(&e, "company", "FY2024", "bookings"), "1300.00");
}

#[test]
fn time_zones_across_midnight() {
    // A lead created 2024-04-01T06:30Z is 23:30 on March 31 in Los Angeles (UTC−7).
    for (tz, q1, q2) in [("UTC", "3", "1"), ("America/Los_Angeles", "4", "0")] {
        let mut s = settings();
        s.set("time_zone", tz).unwrap();
        let mut st = fresh(BackendKind::Sqlite);
        small_org(&mut st, &s);
        st.upsert_leads(&[lead("L4", "R2", "2024-04-01T06:30:00Z", None)])
            .unwrap();
        let e = crate::loaded(&mut st);
        assert_eq!(kpi(&e, "company", Q1, "leads_created"), q1, "{tz}");
        assert_eq!(kpi(&e, "company", "FY2024-Q2", "leads_created"), q2, "{tz}");
    }
}

/// The error of loading the store's records into a book, which must fail (`why`).
fn load_error(st: &mut Store, why: &str) -> String {
    salesorg_engine::scorecard::load(st, &Catalog::builtin().unwrap(), false, false, &Quiet)
        .err()
        .expect(why)
        .to_string()
}

#[test]
fn a_deal_in_a_currency_without_a_rate_is_an_error_not_a_zero() {
    let mut st = fresh(BackendKind::Sqlite);
    small_org(&mut st, &settings());
    let o = opp(
        "O9",
        "R1",
        "ACC1",
        "100",
        "GBP",
        OppStatus::Won,
        "Closed Won",
        "2024-01-02",
        "2024-01-03",
    );
    st.upsert_opportunities(&mut std::iter::once(&o)).unwrap();
    let err = load_error(&mut st, "a missing rate must fail");
    assert!(
        err.contains("O9") && err.contains("GBP") && err.contains("2024-01-03"),
        "{err}"
    );
}

/// A currency rate in force from `date`: `1 from = r to`.
fn rate_on(date: &str, from: &str, to: &str, r: &str) -> CurrencyRate {
    CurrencyRate {
        date: d(date),
        from: Currency::parse(from).unwrap(),
        to: Currency::parse(to).unwrap(),
        rate: Rate::parse(r).unwrap(),
    }
}

/// R1's bookings over the days their deals of [`won_by_r1`] close in the currency tests.
fn r1_bookings(e: &Engine) -> Money {
    Money::parse(&kpi(e, "person:R1", "2024-01-03..2024-01-05", "bookings")).unwrap()
}

/// A deal of R1's, created on 2024-01-02, won on `close` for `amount` in `ccy`.
fn won_by_r1(id: &str, amount: &str, ccy: &str, close: &str) -> Opportunity {
    opp(
        id,
        "R1",
        "ACC1",
        amount,
        ccy,
        OppStatus::Won,
        "Closed Won",
        "2024-01-02",
        close,
    )
}

/// A rate quoted out of the organisation's currency into one of small units (1 USD =
/// 15,800 IDR) converts by dividing, exactly: with the rate inverted to four decimals
/// first, 1 IDR had been 0.0001 USD and a billion rupiah 100,000 USD instead of 63,291.14.
/// A rate with six decimals (1 JPY = 0.006723 USD, as Salesforce keeps rates) is taken
/// whole; it had been refused.
#[test]
fn rates_into_and_out_of_currencies_of_small_units_convert_exactly() {
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        let bookings = |st: &mut Store| r1_bookings(&crate::loaded(st));
        let before = bookings(&mut st);
        st.upsert_rates(&[
            rate_on("2023-12-01", "USD", "IDR", "15800"),
            rate_on("2023-12-01", "JPY", "USD", "0.006723"),
        ])
        .unwrap();
        let deals = [
            won_by_r1("O9", "1000000000", "IDR", "2024-01-03"),
            won_by_r1("O10", "1000000", "JPY", "2024-01-04"),
        ];
        st.upsert_opportunities(&mut deals.iter()).unwrap();
        let after = bookings(&mut st);
        // 1,000,000,000 / 15,800 = 63,291.13924… and 1,000,000 × 0.006723 = 6,723: 70,014.1392
        assert_eq!(
            after.units() - before.units(),
            Money::parse("70014.1392").unwrap().units(),
            "{kind}: {before} then {after}"
        );
    }
}

/// A currency whose rates reach the organisation's only through two others converts along
/// that chain (it had converted through one at most, and been refused): rand to pound to
/// euro to dollar, each rate quoted either way, on each day the rates in force then; a
/// shorter chain wins over a longer one, and a currency no chain reaches is still refused
/// by name.
#[test]
fn a_currency_chained_to_the_organisations_through_two_others_converts_along_the_chain() {
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        let load = |st: &mut Store| {
            salesorg_engine::scorecard::load(st, &Catalog::builtin().unwrap(), false, false, &Quiet)
                .map(|x| x.0)
        };
        let bookings = r1_bookings;
        let before = bookings(&load(&mut st).unwrap());
        st.upsert_rates(&[
            // 1 EUR = 1.1 USD; 1 GBP = 1.2 EUR; 1 GBP = 20 ZAR (quoted out of the pound)
            rate_on("2023-12-01", "EUR", "USD", "1.1"),
            rate_on("2023-12-01", "GBP", "EUR", "1.2"),
            rate_on("2023-12-01", "GBP", "ZAR", "20"),
            // from Jan 4, the pound is worth 1.25 euros
            rate_on("2024-01-04", "GBP", "EUR", "1.25"),
        ])
        .unwrap();
        let deals = [
            // 1000 ZAR = 50 GBP = 60 EUR = 66 USD on Jan 3
            won_by_r1("O9", "1000", "ZAR", "2024-01-03"),
            // 1000 ZAR = 50 GBP = 62.5 EUR = 68.75 USD on Jan 4
            won_by_r1("O10", "1000", "ZAR", "2024-01-04"),
        ];
        st.upsert_opportunities(&mut deals.iter()).unwrap();
        let e = load(&mut st).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let after = bookings(&e);
        assert_eq!(
            after.units() - before.units(),
            Money::parse("134.75").unwrap().units(),
            "{kind}: {before} then {after}"
        );
        // a direct rate into the dollar, once there is one, is taken over the chain
        st.upsert_rates(&[rate_on("2023-12-01", "ZAR", "USD", "0.05")])
            .unwrap();
        let e = load(&mut st).unwrap();
        assert_eq!(
            bookings(&e).units() - before.units(),
            Money::parse("100").unwrap().units(),
            "{kind}"
        );
        // a currency linked to none of them is refused, by name
        st.upsert_rates(&[rate_on("2023-12-01", "CHF", "SEK", "11")])
            .unwrap();
        st.upsert_opportunities(&mut std::iter::once(&won_by_r1(
            "O11",
            "10",
            "SEK",
            "2024-01-03",
        )))
        .unwrap();
        let err = load(&mut st)
            .err()
            .expect("SEK has no chain to USD")
            .to_string();
        assert!(
            err.contains("opportunity O11 is in SEK and there is no SEK→USD rate"),
            "{kind}: {err}"
        );
    }
}

/// Deals whose amounts, each one a sum can hold, add up past what a sum holds exactly
/// are refused when the book is made: a scope's pipeline over them had wrapped around to
/// a small negative number.
#[test]
fn amounts_that_add_up_past_what_a_sum_holds_are_an_error_not_a_wrong_number() {
    let mut st = fresh(BackendKind::Sqlite);
    small_org(&mut st, &settings());
    // 300 trillion each: four of them are past the 922 trillion a sum holds
    let big = |k: usize, status: OppStatus, stage: &str| {
        opp(
            &format!("OB{k}"),
            "R1",
            "ACC1",
            "300000000000000",
            "USD",
            status,
            stage,
            "2024-01-02",
            "2024-02-03",
        )
    };
    let opps = [
        big(1, OppStatus::Won, "Closed Won"),
        big(2, OppStatus::Open, "Prospecting"),
        big(3, OppStatus::Open, "Prospecting"),
    ];
    st.upsert_opportunities(&mut opps.iter()).unwrap();
    // three are not, with the small org's own deals
    salesorg_engine::scorecard::load(&mut st, &Catalog::builtin().unwrap(), false, false, &Quiet)
        .expect("three deals of 300 trillion sum exactly");
    let four = big(4, OppStatus::Open, "Prospecting");
    st.upsert_opportunities(&mut std::iter::once(&four))
        .unwrap();
    let err = load_error(&mut st, "four deals of 300 trillion must fail");
    assert!(
        err.contains("opportunities' amounts add up to more than salesorg sums exactly"),
        "{err}"
    );
}

/// A deal's amount on an as-of day may be an earlier one from its stage history, which the
/// open pipeline sums: those count too. Four open deals of 100 that each stood at 300
/// trillion in January had summed, on an as-of day then, to a pipeline wrapped around to a
/// wrong number; they are refused when the book is made.
#[test]
fn earlier_amounts_that_add_up_past_what_a_sum_holds_are_an_error_too() {
    for n in [3, 4] {
        let mut st = fresh(BackendKind::Sqlite);
        small_org(&mut st, &settings());
        let opps: Vec<Opportunity> = (0..n)
            .map(|k| {
                let mut o = opp(
                    &format!("OH{k}"),
                    "R1",
                    "ACC1",
                    "100",
                    "USD",
                    OppStatus::Open,
                    "Qualification",
                    "2024-01-02",
                    "2024-03-30",
                );
                o.last_modified = Some(ts("2024-02-01T09:00:00Z"));
                o
            })
            .collect();
        st.upsert_opportunities(&mut opps.iter()).unwrap();
        let h: Vec<StageChange> = (0..n)
            .flat_map(|k| {
                let id = format!("OH{k}");
                let mut first = hist(&id, 0, "2024-01-02T09:00:00Z", "Prospecting", 1000);
                first.amount = Some(Money::parse("300000000000000").unwrap());
                [
                    first,
                    hist(&id, 1, "2024-02-01T09:00:00Z", "Qualification", 2500),
                ]
            })
            .collect();
        st.upsert_stage_history(&mut h.iter()).unwrap();
        if n == 3 {
            // three sum exactly: the company's pipeline on Jan 15 holds them at 300 trillion
            // each, beside O1 1000, O2 2000, O3 500 and O6 300
            let e = salesorg_engine::scorecard::load(
                &mut st,
                &Catalog::builtin().unwrap(),
                false,
                false,
                &Quiet,
            )
            .unwrap()
            .0;
            let q = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
            let rows = e
                .run(
                    &[e.scope("company").unwrap()],
                    &[q],
                    &["pipeline_open"],
                    d("2024-01-15"),
                )
                .unwrap();
            assert_eq!(rows[0].values[0].1.to_text("—"), "900000000003800.00");
        } else {
            let err = load_error(&mut st, "four deals that stood at 300 trillion must fail");
            assert!(
                err.contains("opportunities' amounts add up to more than salesorg sums exactly"),
                "{err}"
            );
        }
    }
}

#[test]
fn more_stages_than_a_book_holds_is_an_error_that_names_the_record() {
    // a stage column holds a byte per record: 256 stages at most (the small org's own
    // deals bring a few, so the 300 below go past it)
    let mut st = fresh(BackendKind::Sqlite);
    small_org(&mut st, &settings());
    let opps: Vec<Opportunity> = (0..300)
        .map(|k| {
            opp(
                &format!("OS{k}"),
                "R1",
                "ACC1",
                "100",
                "USD",
                OppStatus::Open,
                &format!("Stage {k}"),
                "2024-01-02",
                "2024-05-03",
            )
        })
        .collect();
    st.upsert_opportunities(&mut opps.iter()).unwrap();
    let err = load_error(&mut st, "too many stages must fail");
    assert!(
        err.contains("one past the 256 stages") && err.contains("opportunity OS"),
        "{err}"
    );
}

#[test]
fn explain_lists_the_records_behind_a_number() {
    let e = engine(BackendKind::Sqlite, &settings());
    let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
    let ex = salesorg_engine::scorecard::explain(
        &e,
        "win_rate",
        e.scope("team:MB").unwrap(),
        p,
        d("2026-01-01"),
    )
    .unwrap();
    assert_eq!(ex.value.to_text("—"), "0.333333");
    let mut ids: Vec<(&str, String)> = ex.formatted(&e).map(|r| (r.kind, r.id)).collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            ("lost", "O3".to_string()),
            ("lost", "O6".to_string()),
            ("won", "O2".to_string())
        ]
    );
    let ex = salesorg_engine::scorecard::explain(
        &e,
        "bookings",
        e.scope("company").unwrap(),
        p,
        d("2026-01-01"),
    )
    .unwrap();
    let sum: i64 = ex.formatted(&e).filter_map(|r| r.amount).sum();
    assert_eq!(salesorg_core::kpi::fmt_fixed(sum.into(), 4, 2), "3110.00");
}

/// The drill-down of calls lists the calls alone, and that of calls per rep-day a rep's
/// calls alone: both had listed every activity of the scope, emails and meetings too (131
/// records behind 78 calls); `activities` lists them all.
#[test]
fn explain_of_calls_lists_the_calls_it_counts() {
    for kind in BOTH {
        let mut s = fresh(kind);
        small_org(&mut s, &settings());
        // a call by MA, a manager: a call, but not a rep's
        let a8 = activity("A8", ActivityKind::Call, "2024-01-09T10:00:00Z", "MA", None);
        s.upsert_activities(&mut std::iter::once(&a8)).unwrap();
        let e = with_ids(&mut s);
        let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
        let ids = |k: &'static str| {
            let ex = salesorg_engine::scorecard::explain(
                &e,
                k,
                e.scope("company").unwrap(),
                p,
                d("2026-01-01"),
            )
            .unwrap();
            let mut v: Vec<String> = ex.formatted(&e).map(|r| r.id.clone()).collect();
            v.sort();
            (ex.value.to_text("—"), v)
        };
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ids("calls"),
            ("5".to_owned(), v(&["A1", "A2", "A4", "A5", "A8"])),
            "{kind}"
        );
        assert_eq!(
            ids("calls_per_rep_day").1,
            v(&["A1", "A2", "A4", "A5"]),
            "{kind}"
        );
        assert_eq!(
            ids("activities"),
            (
                "8".to_owned(),
                v(&["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"])
            ),
            "{kind}"
        );
    }
}

/// A quota's drill-down lists the quota rows it adds up: the one set on the team, else
/// the own-book quotas of the reps in scope on the first day (it had listed no records:
/// "where does my team's number come from?"); attainment's lists them beside the deals.
#[test]
fn explain_lists_the_quotas_behind_a_quota() {
    let e = engine(BackendKind::Sqlite, &settings());
    let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
    let rows = |k: &'static str, scope: &str| {
        let ex =
            salesorg_engine::scorecard::explain(&e, k, e.scope(scope).unwrap(), p, d("2026-01-01"))
                .unwrap();
        let mut v: Vec<(String, String, String)> = ex
            .formatted(&e)
            .filter(|r| r.kind == "quota")
            .map(|r| {
                let amount = salesorg_core::kpi::fmt_fixed(r.amount.unwrap().into(), 4, 2);
                (r.owner.to_string(), amount, r.detail.clone())
            })
            .collect();
        v.sort();
        (ex.value.to_text("—"), v)
    };
    let own = |who: &str, a: &str| {
        (
            who.to_owned(),
            a.to_owned(),
            "own book · 2024-01-01..2024-04-01".to_owned(),
        )
    };
    // set on MA's team
    assert_eq!(
        rows("quota", "team:MA"),
        (
            "5000.00".to_owned(),
            vec![(
                "MA".to_owned(),
                "5000.00".to_owned(),
                "set on MA's team · 2024-01-01..2024-04-01".to_owned()
            )]
        )
    );
    // C's team and the company: R1's and R2's own (R3 carries none)
    let both = vec![own("R1", "3000.00"), own("R2", "1000.00")];
    assert_eq!(
        rows("quota", "team:C"),
        ("4000.00".to_owned(), both.clone())
    );
    assert_eq!(
        rows("quota", "company"),
        ("4000.00".to_owned(), both.clone())
    );
    assert_eq!(rows("quota_attainment", "company").1, both);
    assert_eq!(
        rows("quota", "person:R2"),
        ("1000.00".to_owned(), vec![own("R2", "1000.00")])
    );
    // no quota, no rows
    assert_eq!(rows("quota", "person:C"), ("—".to_owned(), vec![]));
}

/// A drill-down's branches in lines: who (a person's or a sub-unit's id, "(own)" for a
/// leader's own), its value of the KPI (its own formula over the branch), its records and
/// their kinds.
fn branch_lines(e: &Engine, x: &salesorg_engine::scorecard::Explanation) -> Vec<String> {
    x.branches()
        .unwrap()
        .iter()
        .map(|b| {
            let who = match (b.person, b.unit) {
                (Some(p), _) => e.book.people[p as usize].id.as_str(),
                (None, Some(u)) => e.book.units[u as usize].id.as_str(),
                (None, None) => "nobody",
            };
            let own = if b.leader { " (own)" } else { "" };
            let (v, n) = (b.value.to_text("—"), b.records.unwrap());
            let kinds = salesorg_engine::scorecard::branch_kinds_text(b);
            format!("{who}{own} = {v}, {n}: {kinds}")
        })
        .collect()
}

/// A team's drill-down splits its records by the branch of the tree they came in
/// through on each record's own day. In Q1, R1 moved from MA to MB on Feb 15 (and to C on
/// Mar 20, once MB had left): O1 (won Feb 1) is MA's branch, O2 (won Mar 1) and O3 (lost
/// Feb 20) MB's, with R3's O6 (lost Jan 31); R2's O4 (EUR 100 at 1.1) is MA's. MB is no
/// direct report of C on the as-of day, but the records they brought in still count under
/// them. The branches add up to the drill-down: 3 won, 2 lost.
#[test]
fn a_teams_drill_down_splits_by_the_branch_of_each_records_day() {
    use salesorg_engine::scorecard::branches_json;
    for kind in BOTH {
        let e = engine(kind, &settings());
        let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
        let ex = |k: &'static str, scope: &str| {
            salesorg_engine::scorecard::explain(&e, k, e.scope(scope).unwrap(), p, d("2026-01-01"))
                .unwrap()
        };
        let lines = |x: &salesorg_engine::scorecard::Explanation| branch_lines(&e, x);
        let win = ex("win_rate", "team:C");
        assert_eq!(
            lines(&win),
            vec![
                "MB = 0.333333, 3: won 1 (2000.00) · lost 2 (800.00)".to_owned(),
                "MA = 1.0, 2: won 2 (1110.00)".to_owned(),
            ],
            "{kind}"
        );
        let total: u64 = win
            .branches()
            .unwrap()
            .iter()
            .filter_map(|b| b.records)
            .sum();
        assert_eq!(total as usize, win.len());
        // each with the totals its formula reads
        let inputs: Vec<_> = win
            .branches()
            .unwrap()
            .iter()
            .map(|b| b.inputs.clone())
            .collect();
        assert_eq!(
            inputs,
            vec![
                vec![
                    ("won_deals", "1".to_owned()),
                    ("lost_deals", "2".to_owned())
                ],
                vec![
                    ("won_deals", "2".to_owned()),
                    ("lost_deals", "0".to_owned())
                ],
            ]
        );
        // the company's: the same branches of C, the head of the org (nobody is outside
        // the lines)
        assert_eq!(lines(&ex("win_rate", "company")), lines(&win));
        // each branch's bookings add up to the team's
        let booked = ex("bookings", "team:C");
        assert_eq!(booked.value.to_text("—"), "3110.00");
        assert_eq!(
            lines(&booked),
            vec![
                "MA = 1110.00, 2: won 2 (1110.00)".to_owned(),
                "MB = 2000.00, 1: won 1 (2000.00)".to_owned(),
            ]
        );
        // the growth rate's: last year's won deals apart (R2's O8, under MA in Mar 2023):
        // MA's branch (1110 − 800) / 800; MB's had none last year
        assert_eq!(
            lines(&ex("revenue_growth_yoy", "team:C")),
            vec![
                "MA = 0.3875, 3: won 2 (1110.00) · won, last year 1 (800.00)".to_owned(),
                "MB = —, 1: won 1 (2000.00)".to_owned(),
            ]
        );
        // MA's team quota is set on MA: MA's own branch, first (MA's own book has no
        // quota); each rep's attainment against their own quota: R1 1000 / 3000, R2's
        // EUR 100 at 1.1 / 1000
        assert_eq!(
            lines(&ex("quota_attainment", "team:MA")),
            vec![
                "MA (own) = —, 1: quota 1 (5000.00)".to_owned(),
                "R1 = 0.333333, 1: won 1 (1000.00)".to_owned(),
                "R2 = 0.11, 1: won 1 (110.00)".to_owned(),
            ]
        );
        assert_eq!(
            branches_json(&e, win.branches().unwrap()),
            "[{\"person\":\"MB\",\"unit\":null,\"name\":\"MB\",\"leader\":false,\"value\":0.333333,\
             \"inputs\":{\"won_deals\":\"1\",\"lost_deals\":\"2\"},\"records\":3,\"kinds\":[\
             {\"kind\":\"won\",\"count\":1,\"amount\":\"2000.00\"},\
             {\"kind\":\"lost\",\"count\":2,\"amount\":\"800.00\"}]},\
             {\"person\":\"MA\",\"unit\":null,\"name\":\"MA\",\"leader\":false,\"value\":1.0,\
             \"inputs\":{\"won_deals\":\"2\",\"lost_deals\":\"0\"},\"records\":2,\"kinds\":[\
             {\"kind\":\"won\",\"count\":2,\"amount\":\"1110.00\"}]}]"
        );
        // no branches for a person
        assert!(ex("win_rate", "person:R1").branches().is_none());
    }
}

/// A unit's drill-down splits by sub-unit, each record under the sub-unit its owner was a
/// member of on its day: ACME's Q1 win rate, North (R1 and R2 in North-1) and South (R3
/// until Mar 1); C, ACME's direct member, has no deals. North's, all North-1's.
#[test]
fn a_units_drill_down_splits_by_sub_unit() {
    use salesorg_engine::scorecard::branches_json;
    for kind in BOTH {
        let e = engine(kind, &settings());
        let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
        let ex = |scope: &str| {
            salesorg_engine::scorecard::explain(
                &e,
                "win_rate",
                e.scope(scope).unwrap(),
                p,
                d("2026-01-01"),
            )
            .unwrap()
        };
        let lines = |x: &salesorg_engine::scorecard::Explanation| branch_lines(&e, x);
        let acme = ex("unit:ACME");
        assert_eq!(
            lines(&acme),
            vec![
                "North = 0.75, 4: won 3 (3110.00) · lost 1 (500.00)".to_owned(),
                "South = 0.0, 1: lost 1 (300.00)".to_owned(),
            ],
            "{kind}"
        );
        assert!(branches_json(&e, acme.branches().unwrap()).starts_with(
            "[{\"person\":null,\"unit\":\"North\",\"name\":\"North\",\"leader\":false,\"value\":0.75,"
        ));
        assert_eq!(
            lines(&ex("unit:North")),
            vec!["North-1 = 0.75, 4: won 3 (3110.00) · lost 1 (500.00)".to_owned()]
        );
    }
}

/// A quota row of a team's drill-down counts under the branch its holder was in on the
/// period's first day, as the quota adds up the people in scope that day, not on the day
/// the quota itself starts: R1's FY2024 quota, pro-rated into Q2, is R1's own (under C
/// since Mar 20), not MA's (R1's manager on Jan 1).
#[test]
fn a_quota_row_counts_under_its_holders_branch_on_the_periods_first_day() {
    let e = with_yearly_quota(BackendKind::Sqlite, "even");
    let q2 = Period::parse("FY2024-Q2", &e.book.settings.fiscal).unwrap();
    let ex = salesorg_engine::scorecard::explain(
        &e,
        "quota",
        e.scope("team:C").unwrap(),
        q2,
        d("2026-01-01"),
    )
    .unwrap();
    let rows: Vec<(String, Option<u64>, String)> = ex
        .branches()
        .unwrap()
        .iter()
        .map(|b| {
            let who = e.book.people[b.person.unwrap() as usize].id.to_string();
            (
                who,
                b.records,
                salesorg_engine::scorecard::branch_kinds_text(b),
            )
        })
        .collect();
    // R2's Q1-only quota does not count for Q2; R1's year, a quarter of it
    assert_eq!(
        rows,
        vec![("R1".to_owned(), Some(1), "quota 1 (3000.00)".to_owned())]
    );
}

/// Spend on a unit counts for the team of the person who heads it that day — the unit's
/// own member whom every other member reports to — and for their own book, as well as
/// for the unit, its ancestors and the company, each once. A unit whose members have no
/// such head (North, whose members all sit in North-1; North-1 while R1 reported to MB)
/// counts for units and the company only. A VP's or a Director's CAC had been 0 on their
/// scorecard wherever spend was booked by department.
#[test]
fn a_units_spend_counts_for_the_team_of_its_head() {
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        let spend = |day: &str, unit: &str, amount: &str| Spend {
            date: d(day),
            scope: SpendScope::Unit(UnitId::parse(unit).unwrap()),
            category: "ads".into(),
            amount: usd(amount),
        };
        st.upsert_spend(&[
            // MA heads North-1: R1 and R2 report to MA
            spend("2024-01-20", "North-1", "100"),
            // R1 reports to MB from Feb 15 but is still in North-1: no head
            spend("2024-02-20", "North-1", "40"),
            // MB heads South: R3 reports to MB
            spend("2024-02-01", "South", "30"),
        ])
        .unwrap();
        let e = crate::loaded(&mut st);
        let k = |scope: &str| kpi(&e, scope, Q1, "sales_marketing_spend");
        assert_eq!(k("person:MA"), "100.00", "{kind}");
        assert_eq!(k("team:MA"), "100.00", "{kind}");
        // R1's own 200 on Mar 1 (in MB's team then) and South's 30
        assert_eq!(k("team:MB"), "230.00", "{kind}");
        assert_eq!(k("team:C"), "330.00", "{kind}");
        // its 100 and 40, and R1's own 200 (a member on Mar 1)
        assert_eq!(k("unit:North-1"), "340.00", "{kind}");
        assert_eq!(k("unit:North"), "840.00", "{kind}");
        assert_eq!(k("unit:South"), "30.00", "{kind}");
        assert_eq!(k("company"), "1870.00", "{kind}");
        // the drill-down lists the unit's spend under its head
        let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
        let ex = salesorg_engine::scorecard::explain(
            &e,
            "sales_marketing_spend",
            e.scope("team:MA").unwrap(),
            p,
            d("2026-01-01"),
        )
        .unwrap();
        let rows: Vec<(String, String, Option<i64>)> = ex
            .formatted(&e)
            .map(|r| (r.owner, r.detail, r.amount))
            .collect();
        assert_eq!(
            rows,
            vec![(
                "MA".into(),
                "unit North-1, headed by MA".into(),
                Some(usd("100").units())
            )],
            "{kind}"
        );
        let ex = salesorg_engine::scorecard::explain(
            &e,
            "sales_marketing_spend",
            e.scope("company").unwrap(),
            p,
            d("2026-01-01"),
        )
        .unwrap();
        let sum: i64 = ex.formatted(&e).filter_map(|r| r.amount).sum();
        assert_eq!(sum, usd("1870").units(), "{kind}");
    }
}

/// A stage's exit is listed on the day the deal left it (the day it counts on), not on the
/// day it entered: February's exits entered their stages in January.
#[test]
fn explain_dates_stage_exits_on_the_day_they_left() {
    let e = engine(BackendKind::Sqlite, &settings());
    let p = Period::parse("2024-02", &e.book.settings.fiscal).unwrap();
    let ex = salesorg_engine::scorecard::explain(
        &e,
        "days_in_stage_avg",
        e.scope("company").unwrap(),
        p,
        d("2026-01-01"),
    )
    .unwrap();
    let mut left: Vec<(String, String)> = ex
        .formatted(&e)
        .filter(|r| r.kind == "left stage")
        .map(|r| (r.id, r.date))
        .collect();
    left.sort();
    // O1 left Qualification (entered Jan 15) on Feb 1, when it was won; O3 left
    // Prospecting (Jan 15) on Feb 20, when it was lost; O5 left Prospecting (Jan 20) for
    // Qualification on Feb 1
    assert_eq!(
        left,
        vec![
            ("O1".to_string(), "2024-02-01".to_string()),
            ("O3".to_string(), "2024-02-20".to_string()),
            ("O5".to_string(), "2024-02-01".to_string()),
        ]
    );
}

#[test]
fn explain_and_the_scorecard_agree_on_every_kpi() {
    let e = engine(BackendKind::Sqlite, &settings());
    let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
    for scope in ["company", "team:MA", "team:MB", "unit:North", "person:R1"] {
        let sc = e.scope(scope).unwrap();
        let kpis = salesorg_engine::scorecard::default_kpis();
        let row = &e.run(&[sc], &[p], &kpis, d("2026-01-01")).unwrap()[0];
        for (k, v) in &row.values {
            let k: &'static str = salesorg_core::kpi::KPI_IDS
                .iter()
                .copied()
                .find(|x| x == k)
                .unwrap();
            let ex = salesorg_engine::scorecard::explain(&e, k, sc, p, d("2026-01-01")).unwrap();
            assert_eq!(&ex.value, v, "{k} for {scope}");
        }
    }
}

/// The bulk export, a scope's JSON and a person's scorecard JSON, frozen with insta: any
/// change to a number or to the format shows up in review.
#[test]
fn exports_are_stable() {
    let e = engine(BackendKind::Sqlite, &settings());
    let today = d("2026-01-01");
    let periods = salesorg_core::scorecard::periods_between(
        &e.book.settings.fiscal,
        salesorg_core::period::Grain::Quarter,
        d("2024-01-01"),
        d("2024-06-30"),
    );
    let scopes = e.all_team_and_unit_scopes(periods[0].start, periods[1].end);
    let kpis = salesorg_engine::scorecard::default_kpis();
    let rows = e.run(&scopes, &periods, &kpis, today).unwrap();
    let mut csv = Vec::new();
    salesorg_engine::scorecard::rows_csv(&e, &rows, &kpis, &mut csv).unwrap();
    insta::assert_snapshot!("bulk_csv", String::from_utf8(csv).unwrap());
    let company = e
        .run(&[e.scope("company").unwrap()], &periods[..1], &kpis, today)
        .unwrap();
    insta::assert_snapshot!(
        "company_json",
        salesorg_engine::scorecard::row_json(&e, &company[0], &kpis)
    );
    let card = salesorg_engine::scorecard::person_scorecard(
        &e,
        &Catalog::builtin().unwrap(),
        e.person("MA").unwrap(),
        periods[0],
        today,
        None,
    )
    .unwrap();
    insta::assert_snapshot!(
        "person_json",
        salesorg_engine::scorecard::person_scorecard_json(&e, &card)
    );
}

/// Headings name a scope as people read it: a person, their team, a unit, and the
/// company by its one top unit's name.
#[test]
fn scopes_are_titled_by_name() {
    let e = engine(BackendKind::Sqlite, &settings());
    let t = |s: &str| e.scope_title(e.scope(s).unwrap());
    assert_eq!(t("person:R1"), "R1");
    assert_eq!(t("team:MA"), "MA's team");
    assert_eq!(t("unit:North-1"), "North-1");
    assert_eq!(t("company"), "ACME");
}

/// A deal converted on a day before its currency's first rate by the pass (on its created
/// day, or on an as-of day it was open on) is named by its id in the error, whether the
/// book keeps its record ids (`explain`'s) or not (the scorecard's, which holds only the
/// ids of such deals), and from the snapshot as from the rows.
#[test]
fn a_deal_converted_before_its_currencys_first_rate_is_named_in_the_error() {
    // EUR's first rate is on 2023-01-01 (see `small_org`): one deal is created before it
    // and won after, the other open since a day unknown
    let mut created_early = opp(
        "O9",
        "R1",
        "ACC1",
        "100",
        "EUR",
        OppStatus::Won,
        "Closed Won",
        "2022-12-15",
        "2024-01-03",
    );
    created_early.probability = None;
    let mut open_undated = opp(
        "O10",
        "R1",
        "ACC1",
        "100",
        "EUR",
        OppStatus::Open,
        "Prospecting",
        "2022-12-15",
        "2022-12-20",
    );
    // (its expected close in the period: its amount is converted on the period's as-of day)
    open_undated.created = None;
    let errors = |e: &Engine| -> [String; 2] {
        let p = Period::parse("2022-12", &e.book.settings.fiscal).unwrap();
        let scope = e.scope("company").unwrap();
        ["pipeline_created", "pipeline_open"].map(|k| {
            e.run(
                std::slice::from_ref(&scope),
                std::slice::from_ref(&p),
                &[k],
                d("2026-01-01"),
            )
            .err()
            .unwrap_or_else(|| panic!("{k}: a missing rate must fail"))
            .to_string()
        })
    };
    let check = |[created, open]: [String; 2], what: &str| {
        assert!(
            created.contains("opportunity O9 ") && created.contains("2022-12-15"),
            "{what}: {created}"
        );
        assert!(
            open.contains("opportunity O10 ") && open.contains("2022-12-31"),
            "{what}: {open}"
        );
    };
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        st.upsert_opportunities(&mut [created_early.clone(), open_undated.clone()].iter())
            .unwrap();
        for keep_ids in [false, true] {
            let cache = kind == BackendKind::Sqlite;
            for round in ["the rows", "the snapshot"] {
                let (e, t) = salesorg_engine::scorecard::load(
                    &mut st,
                    &Catalog::builtin().unwrap(),
                    keep_ids,
                    cache,
                    &Quiet,
                )
                .unwrap();
                assert_eq!(
                    t.phases[0].0 == "snapshot",
                    cache && round == "the snapshot",
                    "{kind}: {round}"
                );
                check(errors(&e), &format!("{kind}, ids {keep_ids}, from {round}"));
                if !cache {
                    break;
                }
            }
        }
    }
}

/// A stage-history row that keeps its deal in the stage of the row before (Salesforce's
/// OpportunityHistory records a row for each change of amount, close date or probability)
/// enters no stage, and a stay in a stage runs from the row that entered it. Such rows
/// had counted as entries (Prospecting entered 4 times in the small org's quarter, not 3)
/// and had restarted the stay (O5's 12 days in Prospecting counted as 7). A deal that
/// slips back into a stage it entered earlier in the period counts once among the
/// opportunities that entered it (spec §6), with whether it advanced after its first
/// entry; one that entered it in an earlier period counts in this one too.
#[test]
fn a_history_row_in_the_same_stage_is_no_entry_and_the_stay_runs_from_the_entry() {
    for kind in BOTH {
        let mut st = fresh(kind);
        small_org(&mut st, &settings());
        // O20: lost on Mar 10, its history stops in Qualification (entered Jan 2), with
        // an amount change on Jan 30 in between: it left Qualification after 68 days
        let o20 = opp(
            "O20",
            "R1",
            "ACC1",
            "700",
            "USD",
            OppStatus::Lost,
            "Closed Lost",
            "2024-01-02",
            "2024-03-10",
        );
        // O21 and O22: open, slipping back to Prospecting and on again
        let open = |id: &str, created: &str| {
            opp(
                id,
                "R2",
                "ACC2",
                "900",
                "USD",
                OppStatus::Open,
                "Qualification",
                created,
                "2024-06-30",
            )
        };
        let opps = [o20, open("O21", "2024-01-03"), open("O22", "2023-12-20")];
        st.upsert_opportunities(&mut opps.iter()).unwrap();
        let h = [
            // O5 entered Prospecting on Jan 20 and left it on Feb 1: 12 days
            hist("O5", 9, "2024-01-25T09:00:00Z", "Prospecting", 1500),
            hist("O20", 0, "2024-01-02T09:00:00Z", "Qualification", 2500),
            hist("O20", 1, "2024-01-30T09:00:00Z", "Qualification", 3000),
            // O21, all in the quarter: Prospecting, Qualification, back, on again
            hist("O21", 0, "2024-01-03T09:00:00Z", "Prospecting", 1000),
            hist("O21", 1, "2024-01-10T09:00:00Z", "Qualification", 2500),
            hist("O21", 2, "2024-01-20T09:00:00Z", "Prospecting", 1000),
            hist("O21", 3, "2024-02-05T09:00:00Z", "Qualification", 2500),
            // O22: Prospecting in December, Qualification, back in the quarter, and on
            // only after it (Apr 10, past the quarter's as-of day)
            hist("O22", 0, "2023-12-20T09:00:00Z", "Prospecting", 1000),
            hist("O22", 1, "2024-01-05T09:00:00Z", "Qualification", 2500),
            hist("O22", 2, "2024-01-15T09:00:00Z", "Prospecting", 1000),
            hist("O22", 3, "2024-04-10T09:00:00Z", "Qualification", 2500),
        ];
        st.upsert_stage_history(&mut h.iter()).unwrap();
        let e = with_ids(&mut st);
        // Prospecting entered by O1, O3, O5, O21 (once) and O22 (back in it), advanced
        // by Mar 31 by O1, O5 and O21; Qualification by O1 (won), O5, O20, O21 (once) and
        // O22
        assert_eq!(
            table(&e, "company", Q1, "stage_conversion"),
            vec![
                (
                    "Prospecting".to_string(),
                    vec!["5".into(), "3".into(), "0.6".into()]
                ),
                (
                    "Qualification".to_string(),
                    vec!["5".into(), "1".into(), "0.2".into()]
                ),
            ],
            "{kind}"
        );
        // Prospecting left by O1 after 10 d, O3 after 36 d, O5 after 12 d, O21 after 7
        // and 16 d, O22 after 16 d (from Dec 20); Qualification by O1 after 17 d, O20
        // after 68 d, O21 and O22 after 10 d each
        assert_eq!(
            table(&e, "company", Q1, "days_in_stage_avg"),
            vec![
                (
                    "Prospecting".to_string(),
                    vec!["6".into(), "16.1667".into()]
                ),
                (
                    "Qualification".to_string(),
                    vec!["4".into(), "26.25".into()]
                ),
            ],
            "{kind}"
        );
        // the same with the quarter before in the same run (O22 entered Prospecting in
        // both: a period's entries are noted apart from the one before)
        let fiscal = e.book.settings.fiscal;
        let both = [
            Period::parse("FY2023-Q4", &fiscal).unwrap(),
            Period::parse(Q1, &fiscal).unwrap(),
        ];
        let kpis = ["stage_conversion", "days_in_stage_avg"];
        let rows = e
            .run(
                &[e.scope("company").unwrap()],
                &both,
                &kpis,
                d("2026-01-01"),
            )
            .unwrap();
        for (k, v) in &rows[1].values {
            assert_eq!(table_text(v), table(&e, "company", Q1, k), "{kind} {k}");
        }
        // a snapshot keeps them (the pass looks for such rows only in a deal that has any)
        let o = &e.book.opps;
        assert!((0..o.len()).any(|i| o.irregular(i)));
        if kind == BackendKind::Sqlite {
            for written in [true, false] {
                let (e2, t) = salesorg_engine::scorecard::load(
                    &mut st,
                    &Catalog::builtin().unwrap(),
                    true,
                    true,
                    &Quiet,
                )
                .unwrap();
                assert_eq!(t.phases.iter().any(|p| p.0 == "write snapshot"), written);
                for k in ["stage_conversion", "days_in_stage_avg"] {
                    assert_eq!(table(&e2, "company", Q1, k), table(&e, "company", Q1, k));
                }
            }
        }
        // the days' drill-down gives each stay it averages, from the row that entered it
        let left = salesorg_engine::scorecard::explain(
            &e,
            "days_in_stage_avg",
            salesorg_core::scorecard::Scope::Company,
            Period::parse(Q1, &e.book.settings.fiscal).unwrap(),
            d("2026-01-01"),
        )
        .unwrap();
        let mut stays: Vec<(String, String)> = (0..left.len())
            .map(|k| left.record(&e, left.nth(&e, k)))
            .map(|r| (r.id, r.detail.split(" · ").next().unwrap().to_owned()))
            .collect();
        stays.sort();
        assert_eq!(
            stays,
            [
                ("O1", "Prospecting for 10 days from 2024-01-05"),
                ("O1", "Qualification for 17 days from 2024-01-15"),
                ("O20", "Qualification for 68 days from 2024-01-02"),
                ("O21", "Prospecting for 16 days from 2024-01-20"),
                ("O21", "Prospecting for 7 days from 2024-01-03"),
                ("O21", "Qualification for 10 days from 2024-01-10"),
                ("O22", "Prospecting for 16 days from 2023-12-20"),
                ("O22", "Qualification for 10 days from 2024-01-05"),
                ("O3", "Prospecting for 36 days from 2024-01-15"),
                ("O5", "Prospecting for 12 days from 2024-01-20"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string())),
            "{kind}"
        );
        // the drill-down lists the ten entries, none of them a row that stayed or a return
        let p = Period::parse(Q1, &e.book.settings.fiscal).unwrap();
        let ex = salesorg_engine::scorecard::explain(
            &e,
            "stage_conversion",
            salesorg_core::scorecard::Scope::Company,
            p,
            d("2026-01-01"),
        )
        .unwrap();
        let mut entries: Vec<(String, String)> = (0..ex.len())
            .map(|k| ex.record(&e, ex.nth(&e, k)))
            .map(|r| (r.id, r.date))
            .collect();
        entries.sort();
        assert_eq!(
            entries,
            [
                ("O1", "2024-01-05"),
                ("O1", "2024-01-15"),
                ("O20", "2024-01-02"),
                ("O21", "2024-01-03"),
                ("O21", "2024-01-10"),
                ("O22", "2024-01-05"),
                ("O22", "2024-01-15"),
                ("O3", "2024-01-15"),
                ("O5", "2024-01-20"),
                ("O5", "2024-02-01"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string())),
            "{kind}"
        );
    }
}
