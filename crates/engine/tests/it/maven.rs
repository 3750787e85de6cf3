//! The Maven Analytics CRM dataset imported as it is, against the totals in its
//! PROVENANCE.md.

use salesorg_core::date::parse_date;
use salesorg_core::ids::PersonId;
use salesorg_core::money::Money;
use salesorg_core::records::OppStatus;
use salesorg_engine::Quiet;
use salesorg_engine::import::{ImportOptions, Source, import};
use salesorg_store::testing::{BOTH, fresh};

use crate::fixture;

#[test]
fn maven_imports_as_it_is_and_matches_its_provenance() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let sum = import(
            &mut s,
            Source::Maven,
            &fixture("maven-crm-sales-opportunities"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let opps = s.opportunities().unwrap();
        assert_eq!(opps.len(), 8800, "{kind}");
        let won: Vec<_> = opps.iter().filter(|o| o.status == OppStatus::Won).collect();
        let lost = opps.iter().filter(|o| o.status == OppStatus::Lost).count();
        assert_eq!((won.len(), lost), (4238, 2473));
        let total: Money = won.iter().filter_map(|o| o.amount).sum();
        assert_eq!(total, Money::from_major(10_005_534).unwrap());
        assert_eq!(s.people().unwrap().len(), 35 + 6);
        assert_eq!(s.accounts().unwrap().len(), 85);
        assert_eq!(sum.effective, Some(parse_date("2017-12-31").unwrap()));
        let org = s.org().unwrap();
        let d = parse_date("2017-06-01").unwrap();
        let dustin = PersonId::parse("Dustin Brinkmann").unwrap();
        assert_eq!(org.direct_reports(&dustin, d).len(), 5, "{kind}");
        let central = salesorg_core::ids::UnitId::parse("Central").unwrap();
        assert_eq!(org.unit_people(&central, d).len(), 2 + 11);
        // idempotent: a second import changes nothing
        let before = s.fingerprint().unwrap();
        let again = import(
            &mut s,
            Source::Maven,
            &fixture("maven-crm-sales-opportunities"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
        assert_eq!(again.org_changes, 0);
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
    }
}

#[test]
fn maven_extended_brings_activities() {
    let mut s = fresh(salesorg_store::BackendKind::Sqlite);
    import(
        &mut s,
        Source::Maven,
        &fixture("maven-crm-extended-interactions"),
        &ImportOptions::default(),
        &Quiet,
    )
    .unwrap();
    assert_eq!(s.activities().unwrap().len(), 626);
    assert_eq!(s.opportunities().unwrap().len(), 8800);
}
