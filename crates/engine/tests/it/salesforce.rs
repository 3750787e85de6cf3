//! Salesforce and HubSpot exports and salesorg's own formats imported as they are:
//! refusals that write nothing, idempotent re-imports, effective-dated reorganisations.

use salesorg_core::date::parse_date;
use salesorg_core::ids::PersonId;
use salesorg_core::money::Money;
use salesorg_core::records::OppStatus;
use salesorg_engine::import::{ImportOptions, Source, import};
use salesorg_engine::{EngineError, Quiet};
use salesorg_store::testing::{BOTH, fresh};

use crate::fixture;

/// Imports the export in `dir` into a fresh SQLite store, expects a refusal, checks that
/// nothing was written, and returns the refusal.
fn refused(dir: &std::path::Path) -> String {
    let mut s = fresh(salesorg_store::BackendKind::Sqlite);
    let err = import(
        &mut s,
        Source::Salesforce,
        dir,
        &ImportOptions::default(),
        &Quiet,
    )
    .unwrap_err()
    .to_string();
    assert!(s.is_empty().unwrap(), "a refused import wrote: {err}");
    err
}

fn p(s: &str) -> PersonId {
    PersonId::parse(s).unwrap()
}

#[test]
fn gen_ai_demo_export_imports_as_it_is() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let sum = import(
            &mut s,
            Source::Salesforce,
            &fixture("salesforce-sample-exports/sfdc-assets-gen-ai-demo"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let opps = s.opportunities().unwrap();
        assert_eq!(opps.len(), 58);
        let won: Money = opps
            .iter()
            .filter(|o| o.status == OppStatus::Won)
            .filter_map(|o| o.amount)
            .sum();
        assert_eq!(won, Money::from_major(814_000).unwrap());
        assert_eq!(
            opps.iter().filter(|o| o.status == OppStatus::Won).count(),
            34
        );
        assert!(opps.iter().all(|o| o.owner == p("005Nq00000AU6ztIAD")));
        assert_eq!(s.leads().unwrap().len(), 14);
        assert_eq!(s.accounts().unwrap().len(), 94);
        let text = sum.to_string();
        assert!(text.contains("no User.csv"), "{text}");
        assert!(
            text.contains("18 opportunities close before their CreatedDate"),
            "{text}"
        );
    }
}

#[test]
fn devorg_export_needs_a_default_owner_and_then_imports() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let dir = fixture("salesforce-sample-exports/devorg-powerbi-demo");
        let before = s.fingerprint().unwrap();
        let e = import(
            &mut s,
            Source::Salesforce,
            &dir,
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("Opportunity.csv:1: the export has no OwnerId column"),
            "{msg}"
        );
        assert!(msg.contains("--default-owner"), "{msg}");
        // the rows of other files that name its opportunities are one note on that
        // problem, not 53 problems of their own that bury it
        assert!(
            msg.starts_with("the import was refused and nothing was written: 1 problem\n"),
            "{msg}"
        );
        assert!(
            msg.contains(
                "(53 rows of Lead.csv, OpportunityHistory.csv name records found nowhere, \
                 the first at "
            ) && msg.contains("devorg-powerbi-demo/Lead.csv:2: they may be among this file's"),
            "{msg}"
        );
        assert_eq!(s.fingerprint().unwrap(), before);
        let opts = ImportOptions {
            default_owner: Some("005bm00000NCJmQAAX".into()),
            ..Default::default()
        };
        import(&mut s, Source::Salesforce, &dir, &opts, &Quiet)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let opps = s.opportunities().unwrap();
        assert_eq!(opps.len(), 36);
        let won = opps.iter().filter(|o| o.status == OppStatus::Won).count();
        let lost = opps.iter().filter(|o| o.status == OppStatus::Lost).count();
        assert_eq!((won, lost), (12, 8));
        let won_sum: Money = opps
            .iter()
            .filter(|o| o.status == OppStatus::Won)
            .filter_map(|o| o.amount)
            .sum();
        assert_eq!(won_sum, Money::from_major(2_815_000).unwrap());
        assert_eq!(opps.iter().filter(|o| o.amount.is_none()).count(), 5);
        assert_eq!(s.stage_history().unwrap().len(), 48);
        let leads = s.leads().unwrap();
        assert_eq!(
            leads.iter().filter(|l| l.converted_opp.is_some()).count(),
            5
        );
    }
}

#[test]
fn reimport_is_idempotent_and_a_reorg_builds_history() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let v1 = fixture("synthetic/sf-org-v1");
        let sum = import(
            &mut s,
            Source::Salesforce,
            &v1,
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(
            s.opportunities().unwrap().len(),
            3,
            "the IsDeleted row is skipped"
        );
        assert_eq!(s.units().unwrap().len(), 6);
        // the role catalog is picked from titles
        let dir = s
            .people()
            .unwrap()
            .into_iter()
            .find(|x| x.id == p("005000000000003AAA"))
            .unwrap();
        assert_eq!(dir.role.unwrap().as_str(), "director_sales");
        assert_eq!(sum.effective, Some(parse_date("2024-03-01").unwrap()));
        let before = s.fingerprint().unwrap();
        let again = import(
            &mut s,
            Source::Salesforce,
            &v1,
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
        assert_eq!(again.org_changes, 0);
        assert_eq!(
            s.fingerprint().unwrap(),
            before,
            "{kind}: re-import changed the store"
        );

        let opts = ImportOptions {
            effective: Some(parse_date("2024-02-15").unwrap()),
            ..Default::default()
        };
        let v2 = import(
            &mut s,
            Source::Salesforce,
            &fixture("synthetic/sf-org-v2"),
            &opts,
            &Quiet,
        )
        .unwrap();
        assert_eq!(v2.org_changes, 1, "{v2}");
        let org = s.org().unwrap();
        let (rosa, mona, mark) = (
            p("005000000000013AAA"),
            p("005000000000004AAA"),
            p("005000000000005AAA"),
        );
        assert_eq!(
            org.manager_on(&rosa, parse_date("2024-02-14").unwrap()),
            Some(&mark)
        );
        assert_eq!(
            org.manager_on(&rosa, parse_date("2024-02-15").unwrap()),
            Some(&mona)
        );
        assert_eq!(
            org.manager_on(&rosa, parse_date("2019-01-01").unwrap()),
            Some(&mark),
            "first import holds from the start"
        );
        assert_eq!(
            org.direct_reports(&mona, parse_date("2024-03-01").unwrap())
                .len(),
            3
        );
        assert!(
            org.direct_reports(&mark, parse_date("2024-03-01").unwrap())
                .is_empty()
        );
        let cro = p("005000000000001AAA");
        assert_eq!(
            org.subtree(&cro, parse_date("2024-03-01").unwrap()).len(),
            8
        );
        let mark_p = s
            .people()
            .unwrap()
            .into_iter()
            .find(|x| x.id == mark)
            .unwrap();
        assert_eq!(mark_p.left, Some(parse_date("2024-05-15").unwrap()));
        // a leaver reports to nobody and belongs to no unit from the day they left
        let dana = p("005000000000003AAA");
        assert_eq!(
            org.manager_on(&mark, parse_date("2024-05-14").unwrap()),
            Some(&dana)
        );
        assert!(
            org.manager_on(&mark, parse_date("2024-05-15").unwrap())
                .is_none()
        );
        assert!(
            org.units_of(&mark, parse_date("2024-05-15").unwrap())
                .is_empty()
        );
        // and re-importing v2 again is a no-op
        let before = s.fingerprint().unwrap();
        import(
            &mut s,
            Source::Salesforce,
            &fixture("synthetic/sf-org-v2"),
            &opts,
            &Quiet,
        )
        .unwrap();
        assert_eq!(s.fingerprint().unwrap(), before);
    }
}

/// A dry run reads and checks everything and says what the import would do, and writes
/// nothing: not the records, not the org's history, not a rejects file; over a store
/// that holds data too, where its org changes would take effect. A refused dry run is
/// refused as the import is.
#[test]
fn a_dry_run_says_what_the_import_would_do_and_writes_nothing() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let v1 = fixture("synthetic/sf-org-v1");
        let dry = ImportOptions {
            dry_run: true,
            ..Default::default()
        };
        let empty = s.fingerprint().unwrap();
        let tried = import(&mut s, Source::Salesforce, &v1, &dry, &Quiet)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(s.fingerprint().unwrap(), empty, "{kind}");
        assert!(s.opportunities().unwrap().is_empty(), "{kind}");
        let text = tried.to_string();
        assert!(
            text.starts_with("a dry run, nothing written: would import "),
            "{kind}: {text}"
        );
        // the real import does what the dry run said
        let done = import(
            &mut s,
            Source::Salesforce,
            &v1,
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(tried.counts, done.counts, "{kind}");
        assert_eq!(tried.effective, done.effective, "{kind}");
        // over data: the next export's org changes, tried
        let before = s.fingerprint().unwrap();
        let v2 = fixture("synthetic/sf-org-v2");
        let tried = import(&mut s, Source::Salesforce, &v2, &dry, &Quiet)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(tried.org_changes > 0, "{kind}: {tried}");
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
        // bad rows skipped: counted, and no rejects file written
        let dir = salesorg_store::testing::TempDir::new().unwrap();
        let export = dir.path().join("export");
        std::fs::create_dir(&export).unwrap();
        salesorg_store::testing::copy_files(&v1, &export);
        let opp = std::fs::read_to_string(export.join("Opportunity.csv")).unwrap();
        std::fs::write(
            export.join("Opportunity.csv"),
            opp.replacen(",2024-02-20,", ",2024-02-30,", 1),
        )
        .unwrap();
        let skip = ImportOptions {
            dry_run: true,
            skip_bad_rows: true,
            ..Default::default()
        };
        let tried = import(&mut s, Source::Salesforce, &export, &skip, &Quiet).unwrap();
        assert_eq!(tried.rejected, 1, "{kind}");
        assert!(
            tried.to_string().contains("1 bad rows would be skipped"),
            "{kind}"
        );
        assert!(tried.rejects_file.is_none(), "{kind}");
        assert!(!dir.path().join("export.rejects.csv").exists(), "{kind}");
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
        // refused as the import is
        let e = import(&mut s, Source::Salesforce, &export, &dry, &Quiet).unwrap_err();
        assert!(e.to_string().contains("2024-02-30"), "{kind}: {e}");
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
    }
}

#[test]
fn unknown_owner_is_refused_when_users_are_exported() {
    let mut s = fresh(salesorg_store::BackendKind::Sqlite);
    let dir = salesorg_store::testing::TempDir::new().unwrap();
    for f in ["User.csv", "UserRole.csv", "Opportunity.csv"] {
        std::fs::copy(fixture("synthetic/sf-org-v1").join(f), dir.path().join(f)).unwrap();
    }
    let opp = std::fs::read_to_string(dir.path().join("Opportunity.csv")).unwrap();
    std::fs::write(
        dir.path().join("Opportunity.csv"),
        opp.replace(",005000000000012AAA,", ",005999999999999AAA,"),
    )
    .unwrap();
    let e = import(
        &mut s,
        Source::Salesforce,
        dir.path(),
        &ImportOptions::default(),
        &Quiet,
    )
    .unwrap_err();
    let EngineError::Rejected(ps) = &e else {
        panic!("{e}")
    };
    assert_eq!(ps.len(), 1, "{e}");
    assert!(
        e.to_string()
            .contains("Opportunity.csv:3:15: unknown person id \"005999999999999AAA\" (owner)"),
        "{e}"
    );
    assert_eq!(s.people().unwrap().len(), 0);
}

#[test]
fn hubspot_export_imports() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let sum = import(
            &mut s,
            Source::Hubspot,
            &fixture("synthetic/hubspot"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let opps = s.opportunities().unwrap();
        assert_eq!(opps.len(), 4, "{sum}");
        let won: Money = opps
            .iter()
            .filter(|o| o.status == OppStatus::Won)
            .filter_map(|o| o.amount)
            .sum();
        assert_eq!(won, Money::parse("20500").unwrap());
        assert_eq!(
            opps.iter().filter(|o| o.status == OppStatus::Lost).count(),
            1
        );
        let o3 = opps.iter().find(|o| o.id.as_str() == "7003").unwrap();
        assert_eq!(o3.owner, p("9006"), "owner given by email");
        assert_eq!(o3.probability.unwrap().bp(), 9000);
        assert_eq!(s.stage_history().unwrap().len(), 9);
        let org = s.org().unwrap();
        let d = parse_date("2024-03-01").unwrap();
        assert_eq!(org.manager_on(&p("9004"), d), Some(&p("9002")));
        assert_eq!(
            org.manager_on(&p("9002"), d),
            Some(&p("9001")),
            "a lead reports to the parent team's lead"
        );
        assert_eq!(org.subtree(&p("9001"), d).len(), 6);
        let leads = s.leads().unwrap();
        assert_eq!(leads.len(), 2);
        assert_eq!(
            leads[0].converted_opp.as_ref().map(|o| o.as_str()),
            Some("7001")
        );
        let before = s.fingerprint().unwrap();
        import(
            &mut s,
            Source::Hubspot,
            &fixture("synthetic/hubspot"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
        assert_eq!(
            s.fingerprint().unwrap(),
            before,
            "{kind}: re-import changed the store"
        );
    }
}

/// A HubSpot export saved as .xlsx (`deals.xlsx` for `deals.csv`, as its export dialog
/// offers) imports to the same store as the CSV files: numbers and dates read from their
/// cells as the CSV writes them.
#[test]
fn a_hubspot_export_saved_as_xlsx_imports_as_its_csv() {
    for kind in BOTH {
        let read = |dir: &str| {
            let mut s = fresh(kind);
            import(
                &mut s,
                Source::Hubspot,
                &fixture(dir),
                &ImportOptions::default(),
                &Quiet,
            )
            .unwrap_or_else(|e| panic!("{kind} {dir}: {e}"));
            assert_eq!(s.opportunities().unwrap().len(), 4, "{kind} {dir}");
            s.fingerprint().unwrap()
        };
        assert_eq!(
            read("synthetic/hubspot-xlsx"),
            read("synthetic/hubspot"),
            "{kind}"
        );
    }
}

#[test]
fn salesorg_formats_add_effective_dated_changes_quotas_spend_rates_surveys() {
    for kind in BOTH {
        let mut s = fresh(kind);
        import(
            &mut s,
            Source::Salesforce,
            &fixture("synthetic/sf-org-v1"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
        let sum = import(
            &mut s,
            Source::Salesorg,
            &fixture("synthetic/salesorg-formats"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(sum.org_changes, 4, "{sum}");
        let org = s.org().unwrap();
        let (rosa, mona, mark) = (
            p("005000000000013AAA"),
            p("005000000000004AAA"),
            p("005000000000005AAA"),
        );
        assert_eq!(
            org.manager_on(&rosa, parse_date("2024-02-14").unwrap()),
            Some(&mark)
        );
        assert_eq!(
            org.manager_on(&rosa, parse_date("2024-02-15").unwrap()),
            Some(&mona)
        );
        let nia = p("005000000000099AAA");
        assert_eq!(
            org.manager_on(&nia, parse_date("2024-03-01").unwrap()),
            Some(&mona)
        );
        assert!(
            org.manager_on(&nia, parse_date("2024-02-29").unwrap())
                .is_none()
        );
        let unit = salesorg_core::ids::UnitId::parse("00E000000000004AAA").unwrap();
        assert_eq!(
            org.units_of(&rosa, parse_date("2024-03-01").unwrap())[0],
            unit,
            "placed in East A from the change"
        );
        assert_eq!(
            org.units_of(&rosa, parse_date("2024-02-01").unwrap())[0].as_str(),
            "00E000000000006AAA"
        );
        assert_eq!(s.quotas().unwrap().len(), 4);
        assert_eq!(s.spend().unwrap().len(), 3);
        assert_eq!(s.rates().unwrap().len(), 2);
        assert_eq!(s.surveys().unwrap().len(), 2);
        let before = s.fingerprint().unwrap();
        let again = import(
            &mut s,
            Source::Salesorg,
            &fixture("synthetic/salesorg-formats"),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}: {again}");
    }
}

#[test]
fn an_org_change_that_makes_a_cycle_is_refused() {
    let mut s = fresh(salesorg_store::BackendKind::Sqlite);
    import(
        &mut s,
        Source::Salesforce,
        &fixture("synthetic/sf-org-v1"),
        &ImportOptions::default(),
        &Quiet,
    )
    .unwrap();
    let dir = salesorg_store::testing::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("org_changes.csv"),
        "person_id,manager_id,valid_from\n005000000000001AAA,005000000000011AAA,2024-06-01\n",
    )
    .unwrap();
    let before = s.fingerprint().unwrap();
    let e = import(
        &mut s,
        Source::Salesorg,
        dir.path(),
        &ImportOptions::default(),
        &Quiet,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("management cycle on 2024-06-01"), "{e}");
    assert!(e.contains("org_changes.csv:2:2:"), "{e}");
    assert_eq!(s.fingerprint().unwrap(), before);
}

#[test]
fn created_dates_are_taken_in_the_org_time_zone() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let mut st = s.settings().unwrap();
        st.set("time_zone", "America/Los_Angeles").unwrap();
        s.save_settings(&st).unwrap();
        let dir = salesorg_store::testing::TempDir::new().unwrap();
        salesorg_store::testing::copy_files(fixture("synthetic/sf-org-v1"), dir.path());
        let opp = std::fs::read_to_string(dir.path().join("Opportunity.csv")).unwrap();
        // 03:00 UTC on 5 January is still 4 January in California
        let opp = opp.replacen("2023-12-01T10:00:00.000Z", "2024-01-05T03:00:00.000Z", 1);
        std::fs::write(dir.path().join("Opportunity.csv"), opp).unwrap();
        import(
            &mut s,
            Source::Salesforce,
            dir.path(),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
        let o = s.opportunity("006000000000001AAA").unwrap().unwrap();
        assert_eq!(o.created, Some(parse_date("2024-01-04").unwrap()), "{kind}");
        assert_eq!(
            o.close_date,
            Some(parse_date("2024-02-10").unwrap()),
            "a CloseDate is a date and stays"
        );
    }
}

/// The sf-org-v1 export as a multi-currency org's: its won deal in yen, its open deal in
/// euros, and the org's `CurrencyType.csv` and `DatedConversionRate.csv` beside them.
fn multi_currency_export(currency_type: &str) -> salesorg_store::testing::TempDir {
    let d = salesorg_store::testing::TempDir::new().unwrap();
    let from = fixture("synthetic/sf-org-v1");
    salesorg_store::testing::copy_files(&from, d.path());
    let opps = std::fs::read_to_string(from.join("Opportunity.csv")).unwrap();
    let ccy = ["CurrencyIsoCode", "JPY", "USD", "EUR", "USD"];
    let opps: Vec<String> = opps
        .lines()
        .zip(ccy)
        .map(|(l, c)| format!("{},{c}", l.replacen(",50000.00,", ",7500000,", 1)))
        .collect();
    std::fs::write(d.path().join("Opportunity.csv"), opps.join("\n") + "\n").unwrap();
    std::fs::write(d.path().join("CurrencyType.csv"), currency_type).unwrap();
    std::fs::write(
        d.path().join("DatedConversionRate.csv"),
        "Id,IsoCode,ConversionRate,StartDate,NextStartDate\n\
         04w000000000001AAA,JPY,145.1,0001-01-01,2024-02-01\n\
         04w000000000002AAA,JPY,148.25,2024-02-01,\n\
         04w000000000003AAA,USD,1.0,0001-01-01,\n",
    )
    .unwrap();
    d
}

/// A multi-currency org's rates come with its export: dated rates (advanced currency
/// management) from their start, a currency without them at its static rate, both
/// against the corporate currency and divided exactly. They had to be written by hand
/// into salesorg's own rates file, and a deal in yen was an error until they were.
#[test]
fn a_multi_currency_export_brings_its_rates() {
    let types = "Id,IsoCode,ConversionRate,DecimalPlaces,IsActive,IsCorporate\n\
                 02b000000000001AAA,USD,1.000000,2,true,true\n\
                 02b000000000002AAA,EUR,0.912345,2,true,false\n\
                 02b000000000003AAA,JPY,150.000000,0,true,false\n";
    let d = multi_currency_export(types);
    for kind in BOTH {
        let mut s = fresh(kind);
        import(
            &mut s,
            Source::Salesforce,
            d.path(),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        // JPY's two dated rates and EUR's static one; USD is the corporate currency
        assert_eq!(s.rates().unwrap().len(), 3, "{kind}");
        let e = crate::loaded(&mut s);
        let value = |k: &str, period: &str, as_of: &str| {
            let p = salesorg_core::period::Period::parse(period, &e.book.settings.fiscal).unwrap();
            let rows = e
                .run(
                    &[e.scope("company").unwrap()],
                    &[p],
                    &[k],
                    parse_date(as_of).unwrap(),
                )
                .unwrap();
            rows[0].values[0].1.to_text("—")
        };
        // 7,500,000 JPY closed 2024-02-10 at 148.25 (dated from 2024-02-01, not the
        // static 150): 50,590.2192
        assert_eq!(
            value("bookings", "FY2024-Q1", "2024-03-31"),
            "50590.2192",
            "{kind}"
        );
        // 75,000.50 EUR open on 2024-03-31 at the static 0.912345: 82,206.2926
        assert_eq!(
            value("pipeline_open", "FY2024-Q2", "2024-03-31"),
            "82206.2926",
            "{kind}"
        );
    }
}

/// A `CurrencyType.csv` of a USD org: 1 USD = 0.912345 EUR, and `jpy` yen.
fn usd_eur_jpy(jpy: &str) -> String {
    format!(
        "Id,IsoCode,ConversionRate,IsCorporate\n\
         02b000000000001AAA,USD,1.000000,true\n\
         02b000000000002AAA,EUR,0.912345,false\n\
         02b000000000003AAA,JPY,{jpy},false\n"
    )
}

/// A collaborative-forecasts org's quotas come with its export (`ForecastingQuota.csv`,
/// with `Period.csv` and `ForecastingType.csv`): the opportunity revenue forecast's, a
/// manager's on their team, a quota in euros converted at the export's rate on its start;
/// product family, quantity and other types' quotas left out and said so. Without
/// `Period.csv` a quarter is seen from the gaps between starts; several forecast types
/// without `ForecastingType.csv` are refused, naming it.
#[test]
fn a_forecasting_export_brings_its_quotas() {
    let d = multi_currency_export(&usd_eur_jpy("150.000000"));
    let w = |name: &str, text: &str| std::fs::write(d.path().join(name), text).unwrap();
    w(
        "ForecastingQuota.csv",
        "Id,QuotaOwnerId,StartDate,QuotaAmount,QuotaQuantity,CurrencyIsoCode,PeriodId,ForecastingTypeId,ProductFamily,Territory2Id\n\
         0J9000000000001AAA,005000000000011AAA,2024-01-01,40000.00,,USD,026000000000001AAA,0Db000000000001AAA,,\n\
         0J9000000000002AAA,005000000000012AAA,2024-01-01,30000.00,,USD,026000000000001AAA,0Db000000000001AAA,,\n\
         0J9000000000003AAA,005000000000004AAA,2024-01-01,90000.00,,USD,026000000000001AAA,0Db000000000001AAA,,\n\
         0J9000000000004AAA,005000000000011AAA,2024-01-01,,10,USD,026000000000001AAA,0Db000000000001AAA,,\n\
         0J9000000000005AAA,005000000000011AAA,2024-01-01,5000.00,,USD,026000000000001AAA,0Db000000000001AAA,Hardware,\n\
         0J9000000000006AAA,005000000000011AAA,2024-01-01,12345.00,,USD,026000000000001AAA,0Db000000000002AAA,,\n\
         0J9000000000007AAA,005000000000013AAA,2024-04-01,10000.00,,EUR,026000000000002AAA,0Db000000000001AAA,,\n",
    );
    w(
        "Period.csv",
        "Id,StartDate,EndDate,Type\n026000000000001AAA,2024-01-01,2024-03-31,Quarter\n\
         026000000000002AAA,2024-04-01,2024-06-30,Quarter\n",
    );
    w(
        "ForecastingType.csv",
        "Id,DeveloperName,MasterLabel\n0Db000000000001AAA,OpportunityRevenue,Opportunity Revenue\n\
         0Db000000000002AAA,OpportunitySplitRevenue,Opportunity Revenue Splits\n",
    );
    let imported = |kind| {
        let mut s = fresh(kind);
        import(
            &mut s,
            Source::Salesforce,
            d.path(),
            &ImportOptions::default(),
            &Quiet,
        )
        .map(|report| (format!("{report:?}"), crate::loaded(&mut s), s))
    };
    // (scope, period, KPI, value) over the records as of 2024-12-31
    let check = |e: &salesorg_core::scorecard::Engine, want: &[(&str, &str, &str, &str)]| {
        for &(scope, period, k, v) in want {
            let p = salesorg_core::period::Period::parse(period, &e.book.settings.fiscal).unwrap();
            let scope = e.scope(scope).unwrap();
            let rows = e
                .run(&[scope], &[p], &[k], parse_date("2024-12-31").unwrap())
                .unwrap();
            assert_eq!(
                rows[0].values[0].1.to_text("—"),
                v,
                "{scope:?} {period} {k}"
            );
        }
    };
    let rita = "person:005000000000011AAA";
    let rosa = "person:005000000000013AAA";
    for kind in BOTH {
        let (notes, e, _s) = imported(kind).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(
            notes.contains("3 quotas of product families"),
            "{kind}: {notes}"
        );
        check(
            &e,
            &[
                (rita, "FY2024-Q1", "quota", "40000.00"),
                // Rita's 7,500,000 yen won at 148.25 against her 40,000
                (rita, "FY2024-Q1", "quota_attainment", "1.264755"),
                // Mona manages Rita and Raj: her quota is her team's
                ("team:005000000000004AAA", "FY2024-Q1", "quota", "90000.00"),
                ("person:005000000000004AAA", "FY2024-Q1", "quota", "—"),
                // the director's team: the own-book quotas of its reps
                ("team:005000000000003AAA", "FY2024-Q1", "quota", "70000.00"),
                // 10,000 EUR at 0.912345 EUR to the dollar
                (rosa, "FY2024-Q2", "quota", "10960.7659"),
            ],
        );
    }
    // without Period.csv: quarters, by the three months between the starts
    std::fs::remove_file(d.path().join("Period.csv")).unwrap();
    let (_, e, _s) = imported(salesorg_store::BackendKind::Sqlite).unwrap();
    check(
        &e,
        &[
            (rita, "FY2024-Q1", "quota", "40000.00"),
            (rosa, "FY2024-Q2", "quota", "10960.7659"),
        ],
    );
    // two forecast types and no ForecastingType.csv: refused, and nothing written
    std::fs::remove_file(d.path().join("ForecastingType.csv")).unwrap();
    let err = refused(d.path());
    assert!(
        err.contains(
            "ForecastingQuota.csv:1:8: the quotas are of 2 forecast types: add ForecastingType.csv"
        ),
        "{err}"
    );
}

/// A quota in a currency whose rate makes it more than an amount holds is refused at its
/// amount (the conversion had wrapped around to a wrong number).
#[test]
fn a_quota_past_what_an_amount_holds_is_refused_at_its_amount() {
    let d = multi_currency_export(&usd_eur_jpy("0.0000000001"));
    std::fs::remove_file(d.path().join("DatedConversionRate.csv")).unwrap();
    std::fs::write(
        d.path().join("ForecastingQuota.csv"),
        "Id,QuotaOwnerId,StartDate,QuotaAmount,CurrencyIsoCode\n\
         0J9000000000001AAA,005000000000011AAA,2024-01-01,40000.00,USD\n\
         0J9000000000002AAA,005000000000012AAA,2024-01-01,1000000,JPY\n\
         0J9000000000003AAA,005000000000011AAA,2024-04-01,40000.00,USD\n",
    )
    .unwrap();
    let err = refused(d.path());
    assert!(
        err.contains("ForecastingQuota.csv:3:4: QuotaAmount: 1000000.00 JPY is more than salesorg holds in USD"),
        "{err}"
    );
}

/// Salesforce's rates are against its corporate currency, so one that is not salesorg's
/// is refused at the row that names it, with the setting that fixes it.
#[test]
fn a_corporate_currency_other_than_the_orgs_is_refused_with_the_fix() {
    let types = "Id,IsoCode,ConversionRate,IsCorporate\n\
                 02b000000000001AAA,USD,1.1,false\n\
                 02b000000000002AAA,EUR,1.0,true\n";
    let d = multi_currency_export(types);
    let err = refused(d.path());
    assert!(
        err.contains("CurrencyType.csv:3:4: the corporate currency is EUR and salesorg's is USD")
            && err.contains("salesorg settings set currency EUR"),
        "{err}"
    );
}

/// An import says which of its deals no rate in the store converts, before a scorecard
/// refuses them: a currency without any rate, deals closed before a currency's first, and
/// deals created before it.
#[test]
fn an_import_says_which_deals_no_rate_converts() {
    let types = "Id,IsoCode,ConversionRate,IsCorporate\n02b000000000001AAA,USD,1.0,true\n";
    let d = multi_currency_export(types);
    // the yen's first dated rate after its deal closed (2024-02-10); no euro rate at all
    std::fs::write(
        d.path().join("DatedConversionRate.csv"),
        "Id,IsoCode,ConversionRate,StartDate\n04w000000000002AAA,JPY,148.25,2024-02-15\n",
    )
    .unwrap();
    let mut s = fresh(salesorg_store::BackendKind::Sqlite);
    let notes = |s: &mut salesorg_store::Store| {
        import(
            s,
            Source::Salesforce,
            d.path(),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap()
        .to_string()
    };
    let text = notes(&mut s);
    assert!(
        text.contains("1 opportunities are in EUR and the store has no rate from EUR into USD")
            && text.contains(
                "opportunities in JPY closed as early as 2024-02-10, before the first rate from JPY into USD (2024-02-15)"
            ),
        "{text}"
    );
    // the yen's first rate after its deal was created (2023-12-01) but before it closed:
    // said of the created day (a scorecard over December 2023 converts its pipeline then)
    std::fs::write(
        d.path().join("DatedConversionRate.csv"),
        "Id,IsoCode,ConversionRate,StartDate\n04w000000000002AAA,JPY,148.25,2024-01-01\n",
    )
    .unwrap();
    let text = notes(&mut s);
    assert!(
        text.contains(
            "opportunities in JPY were created as early as 2023-12-01, before the first rate from JPY into USD (2024-01-01)"
        ) && !text.contains("JPY closed as early"),
        "{text}"
    );
    // with the rates in place, nothing is said
    std::fs::write(
        d.path().join("CurrencyType.csv"),
        "Id,IsoCode,ConversionRate,IsCorporate\n02b000000000001AAA,USD,1.0,true\n02b000000000002AAA,EUR,0.912345,false\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("DatedConversionRate.csv"),
        "Id,IsoCode,ConversionRate,StartDate\n04w000000000001AAA,JPY,145.1,0001-01-01\n",
    )
    .unwrap();
    let text = notes(&mut s);
    assert!(!text.contains("rate from"), "{text}");
}

/// Salesforce moves a lead's activities to the contact it converts the lead into, so an
/// export shows a converted lead none of its own: the activities on that contact
/// (`Lead.ConvertedContactId`) dated on or before the conversion are the lead's, and its
/// first response is among them (it had counted as never answered: every converted lead
/// of a real export missed its SLA). The contact's later activities are not the lead's.
#[test]
fn a_converted_leads_activities_are_found_on_its_contact() {
    use salesorg_core::period::Period;
    use salesorg_core::scorecard::Scope;
    let v1 = fixture("synthetic/sf-org-v1");
    let dir = tempfile::TempDir::new().unwrap();
    salesorg_store::testing::copy_files(&v1, dir.path());
    // the lead converted on Dec 1 into contact 003…1, which now holds its first call; and
    // a call to the contact on Dec 5, after it
    let contact = "003000000000001AAA";
    let leads = std::fs::read_to_string(v1.join("Lead.csv")).unwrap();
    let mut lines: Vec<String> = leads.lines().map(str::to_owned).collect();
    lines[0].push_str(",ConvertedContactId");
    lines[1].push_str(&format!(",{contact}"));
    lines[2].push(',');
    std::fs::write(dir.path().join("Lead.csv"), lines.join("\n") + "\n").unwrap();
    let tasks = std::fs::read_to_string(v1.join("Task.csv")).unwrap();
    let tasks = tasks.replacen(
        "00T000000000001AAA,00Q000000000001AAA,",
        &format!("00T000000000001AAA,{contact},"),
        1,
    ) + &format!(
        "00T000000000009AAA,{contact},,Call Smith again,2023-12-05,Completed,\
         005000000000011AAA,Call,Call,2023-12-05T10:00:00.000Z,2023-12-05T10:00:00.000Z,\n"
    );
    std::fs::write(dir.path().join("Task.csv"), tasks).unwrap();
    for kind in BOTH {
        let mut s = fresh(kind);
        import(
            &mut s,
            Source::Salesforce,
            dir.path(),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let lead_of = |s: &mut salesorg_store::testing::TestStore, id: &str| {
            s.activities()
                .unwrap()
                .into_iter()
                .find(|a| a.id.as_str() == id)
                .unwrap()
                .lead
                .map(|l| l.as_str().to_owned())
        };
        assert_eq!(
            lead_of(&mut s, "00T000000000001AAA").as_deref(),
            Some("00Q000000000001AAA"),
            "{kind}"
        );
        assert_eq!(lead_of(&mut s, "00T000000000009AAA"), None, "{kind}");
        // answered after 42 minutes, within the hour's SLA
        let e = crate::loaded(&mut s);
        let p = Period::parse("2023-11", &e.book.settings.fiscal).unwrap();
        let rows = e
            .run(
                &[Scope::Company],
                &[p],
                &["lead_response_minutes_median", "lead_response_sla_share"],
                parse_date("2024-06-30").unwrap(),
            )
            .unwrap();
        let v: Vec<String> = rows[0].values.iter().map(|(_, v)| v.to_text("—")).collect();
        assert_eq!(v, ["42.0", "1.0"], "{kind}");
    }
}
