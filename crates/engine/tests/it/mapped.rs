use std::path::PathBuf;

use salesorg_core::date::parse_date;
use salesorg_core::ids::PersonId;
use salesorg_core::money::Money;
use salesorg_engine::Quiet;
use salesorg_engine::import::{ImportOptions, Source, import};
use salesorg_store::testing::{BOTH, fresh};

use crate::fixture;

fn mapping(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../mappings")
        .join(name)
}

#[test]
fn adventureworks_through_its_mapping() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let opts = ImportOptions {
            mapping: Some(mapping("adventureworks.toml")),
            ..Default::default()
        };
        let sum = import(
            &mut s,
            Source::Csv,
            &fixture("adventureworks-reseller-sales-targets"),
            &opts,
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(sum.to_string().contains("converted from UTF-16LE"), "{sum}");
        assert_eq!(s.people().unwrap().len(), 18, "the VP, 3 managers, 14 reps");
        let opps = s.opportunities().unwrap();
        assert_eq!(
            opps.len(),
            3616 + opps
                .iter()
                .filter(|o| o
                    .close_date
                    .is_some_and(|d| d >= parse_date("2020-06-01").unwrap()))
                .count()
        );
        let total: Money = opps.iter().filter_map(|o| o.amount).sum();
        assert_eq!(total, Money::parse("80977720.21").unwrap(), "{kind}");
        let jae = PersonId::parse("291").unwrap();
        let y2019 = |d: Option<salesorg_core::Date>| d.is_some_and(|d| d.year() == 2019);
        let actual: Money = opps
            .iter()
            .filter(|o| o.owner == jae && y2019(o.close_date))
            .filter_map(|o| o.amount)
            .sum();
        assert_eq!(actual, Money::parse("4199916.59").unwrap());
        let target: Money = s
            .quotas()
            .unwrap()
            .iter()
            .filter(|q| q.target.id() == "291" && q.period.start.year() == 2019)
            .map(|q| q.amount)
            .sum();
        assert_eq!(target, Money::from_major(3_350_000).unwrap());
        let org = s.org().unwrap();
        let d = parse_date("2019-06-01").unwrap();
        assert_eq!(org.subtree(&PersonId::parse("277").unwrap(), d).len(), 18);
        assert_eq!(
            org.direct_reports(&PersonId::parse("290").unwrap(), d)
                .len(),
            3
        );
        assert_eq!(org.roots(d), vec![PersonId::parse("277").unwrap()]);
        let europe = salesorg_core::ids::UnitId::parse("Europe").unwrap();
        assert_eq!(
            org.unit_people(&europe, d).len(),
            3,
            "reps placed in France, Germany and the UK"
        );
    }
}

#[test]
fn northwind_through_its_mapping() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let opts = ImportOptions {
            mapping: Some(mapping("northwind.toml")),
            ..Default::default()
        };
        import(&mut s, Source::Csv, &fixture("northwind"), &opts, &Quiet)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let opps = s.opportunities().unwrap();
        assert_eq!(opps.len(), 830);
        let total: Money = opps.iter().filter_map(|o| o.amount).sum();
        // the well-known figure is rounded to cents; salesorg keeps the exact value
        assert_eq!(
            format!("{:.2}", total.units() as f64 / 10_000.0),
            "1265793.04"
        );
        let by = |id: &str| -> Money {
            opps.iter()
                .filter(|o| o.owner.as_str() == id)
                .filter_map(|o| o.amount)
                .sum()
        };
        assert_eq!(
            format!("{:.2}", by("4").units() as f64 / 10_000.0),
            "232890.85"
        );
        let org = s.org().unwrap();
        let d = parse_date("1997-06-01").unwrap();
        assert_eq!(
            org.direct_reports(&PersonId::parse("5").unwrap(), d).len(),
            3
        );
        assert_eq!(org.subtree(&PersonId::parse("2").unwrap(), d).len(), 9);
        let roles: Vec<String> = s
            .people()
            .unwrap()
            .iter()
            .filter_map(|p| p.role.as_ref().map(|r| r.to_string()))
            .collect();
        assert!(
            roles.contains(&"sales_manager".to_owned()) && roles.contains(&"vp_sales".to_owned()),
            "{roles:?}"
        );
    }
}

/// Imports `dir` through `mapping` into a fresh store, expects a refusal, and returns it.
fn refused_through(mapping: PathBuf, dir: &std::path::Path) -> String {
    let mut s = fresh(salesorg_store::BackendKind::Sqlite);
    let opts = ImportOptions {
        mapping: Some(mapping),
        ..Default::default()
    };
    import(&mut s, Source::Csv, dir, &opts, &Quiet)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_mapping_naming_a_missing_column_is_refused() {
    let dir = salesorg_store::testing::TempDir::new().unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, "[[file]]\npath = \"employees.csv\"\nrecord = \"person\"\n[file.columns]\nid = \"employeeId_typo\"\n").unwrap();
    let e = refused_through(m, &fixture("northwind"));
    assert!(
        e.contains("employees.csv:1: the mapping names column \"employeeId_typo\""),
        "{e}"
    );
}

/// A quota below zero read through a mapping is refused at its amount (the first month
/// of AdventureWorks' targets made -200, thousands of USD).
#[test]
fn a_negative_quota_through_a_mapping_is_refused() {
    let dir = salesorg_store::testing::TempDir::new().unwrap();
    let from = fixture("adventureworks-reseller-sales-targets");
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let f = dir.path().join("ResellerSalesTargets.csv");
    let bytes = std::fs::read(&f).unwrap();
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    let edited = text.replacen(
        "2017,61161660,-,-,-,-,-,-,200,",
        "2017,61161660,-,-,-,-,-,-,-200,",
        1,
    );
    assert_ne!(edited, text);
    let mut out = vec![0xFF, 0xFE];
    out.extend(edited.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&f, out).unwrap();
    let e = refused_through(mapping("adventureworks.toml"), dir.path());
    assert!(
        e.contains("ResellerSalesTargets.csv:2:9: amount: a quota must not be negative"),
        "{e}"
    );
}

/// A mapping naming a kind of record salesorg does not know is refused at its line and
/// column, even when its file has no rows (it had imported nothing, and said so quietly).
#[test]
fn a_mapping_naming_an_unknown_record_kind_is_refused_at_its_place() {
    let dir = salesorg_store::testing::TempDir::new().unwrap();
    std::fs::write(dir.path().join("x.csv"), "a,b\n").unwrap();
    let m = dir.path().join("m.toml");
    std::fs::write(&m, "[[file]]\npath = \"x.csv\"\nrecord = \"nonsense\"\n").unwrap();
    let e = refused_through(m, dir.path());
    assert!(
        e.contains("m.toml: not a valid mapping: TOML parse error at line 3, column 10"),
        "{e}"
    );
    assert!(e.contains("unknown variant `nonsense`"), "{e}");
}
