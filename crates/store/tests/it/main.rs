//! Store tests: every test runs on SQLite and on PostgreSQL.

use salesorg_core::date::parse_date;
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money};
use salesorg_core::records::*;
use salesorg_core::settings::Settings;
use salesorg_store::testing::{BOTH, fresh};
use salesorg_store::{Store, StoreError};

fn person(id: &str) -> Person {
    Person {
        id: PersonId::parse(id).unwrap(),
        name: format!("Name of {id}"),
        email: None,
        title: Some("Rep".into()),
        role: Some(RoleId::parse("sales_rep").unwrap()),
        hired: Some(parse_date("2020-01-01").unwrap()),
        left: None,
    }
}

fn opp(id: &str, owner: &str, amount: &str) -> Opportunity {
    Opportunity {
        id: OppId::parse(id).unwrap(),
        name: Some("Deal\twith\ttabs and a \\ backslash\nand a newline".into()),
        account: None,
        owner: PersonId::parse(owner).unwrap(),
        amount: Some(Money::parse(amount).unwrap()),
        currency: Currency::USD,
        stage: Stage::parse("Closed Won").unwrap(),
        status: OppStatus::Won,
        probability: Some(Probability::from_bp(10_000).unwrap()),
        forecast_category: Some(ForecastCategory::Closed),
        kind: None,
        source: None,
        created: Some(parse_date("2024-01-05").unwrap()),
        close_date: Some(parse_date("2024-02-05").unwrap()),
        loss_reason: None,
        next_step: None,
        last_modified: Some(salesorg_core::Timestamp::parse("2024-02-05T10:00:00Z").unwrap()),
    }
}

#[test]
fn records_round_trip_exactly_on_both_backends() {
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a"), person("b")]).unwrap();
        let o = opp("o1", "a", "1234567.8901");
        s.upsert_opportunities(&mut [o.clone()].iter()).unwrap();
        assert_eq!(s.opportunities().unwrap(), vec![o.clone()], "{kind}");
        // upsert by id: a second write replaces, never duplicates
        let mut o2 = o.clone();
        o2.amount = Some(Money::parse("5").unwrap());
        s.upsert_opportunities(&mut [o2.clone()].iter()).unwrap();
        assert_eq!(s.opportunities().unwrap(), vec![o2], "{kind}");
        assert_eq!(s.people().unwrap().len(), 2);
        assert_eq!(s.schema_version().unwrap(), 3);
        // every write moves the data version on; reads do not
        let (id, v) = s.data_version().unwrap();
        let _ = s.opportunities().unwrap();
        assert_eq!(s.data_version().unwrap(), (id.clone(), v));
        s.upsert_opportunities(&mut [o.clone()].iter()).unwrap();
        assert_eq!(s.data_version().unwrap(), (id.clone(), v + 1), "{kind}");
        assert_eq!(id.len(), 32);
    }
}

#[test]
fn a_failed_transaction_leaves_nothing() {
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a")]).unwrap();
        let before = s.fingerprint().unwrap();
        let r: Result<(), StoreError> = s.atomic(|s| {
            s.upsert_people(&[person("b")])?;
            s.upsert_opportunities(&mut [opp("o1", "b", "10")].iter())?;
            Err(StoreError::Corrupt("simulated failure".into()))
        });
        assert!(r.is_err());
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
        s.atomic(|s| s.upsert_people(&[person("c")]).map(|_| ()))
            .unwrap();
        assert_eq!(s.people().unwrap().len(), 2, "{kind}");
    }
}

#[test]
fn settings_persist() {
    for kind in BOTH {
        let mut s = fresh(kind);
        assert_eq!(s.settings().unwrap(), Settings::default());
        let mut st = Settings::default();
        st.set("fiscal_year_start_month", "2").unwrap();
        st.set("holidays", "2024-12-25, 2024-01-01").unwrap();
        st.set("gross_margin", "0.72").unwrap();
        st.set("time_zone", "-05:00").unwrap();
        s.save_settings(&st).unwrap();
        let url = s.url.clone();
        let mut again = Store::open(&url).unwrap();
        assert_eq!(again.settings().unwrap(), st, "{kind}");
    }
}

#[test]
fn org_history_round_trips_and_is_validated() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let d = |x: &str| parse_date(x).unwrap();
        let lines = vec![
            ReportingLine {
                person: PersonId::parse("rep").unwrap(),
                manager: PersonId::parse("lead").unwrap(),
                valid: Validity::new(d("2020-01-01"), Some(d("2024-02-15"))).unwrap(),
            },
            ReportingLine {
                person: PersonId::parse("rep").unwrap(),
                manager: PersonId::parse("lead2").unwrap(),
                valid: Validity::new(d("2024-02-15"), None).unwrap(),
            },
        ];
        s.replace_lines(&lines).unwrap();
        let org = s.org().unwrap();
        assert_eq!(
            org.manager_on(&PersonId::parse("rep").unwrap(), d("2024-03-01"))
                .unwrap()
                .as_str(),
            "lead2"
        );
        assert_eq!(s.lines().unwrap(), lines, "{kind}");
    }
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let e = Store::open("/nonexistent-folder/x/salesorg.db")
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not exist"), "{e}");
    let e = Store::open("postgres://nobody@127.0.0.1:1/none")
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot open the store"), "{e}");
}
