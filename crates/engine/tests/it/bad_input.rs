//! Every bad-input case the importers must refuse: the error names file:line:column and the
//! reason, and the store is left exactly as it was. Valid quirks are accepted.

use std::path::Path;

use salesorg_engine::import::{ImportOptions, Source, import};
use salesorg_engine::{EngineError, Quiet};
use salesorg_store::BackendKind;
use salesorg_store::testing::{BOTH, TempDir, TestStore, fresh};

use crate::fixture;

/// A copy of the synthetic v1 Salesforce org with `file` replaced by `content`.
fn export_with(file: &str, content: &[u8]) -> TempDir {
    let dir = TempDir::new().unwrap();
    salesorg_store::testing::copy_files(fixture("synthetic/sf-org-v1"), dir.path());
    std::fs::write(dir.path().join(file), content).unwrap();
    dir
}

/// Imports the Salesforce export in `dir` into `s` with the default options.
fn import_sf(
    s: &mut TestStore,
    dir: &Path,
) -> Result<salesorg_engine::import::ImportSummary, EngineError> {
    import(
        s,
        Source::Salesforce,
        dir,
        &ImportOptions::default(),
        &Quiet,
    )
}

fn edit(file: &str, from: &str, to: &str) -> TempDir {
    let text = std::fs::read_to_string(fixture("synthetic/sf-org-v1").join(file)).unwrap();
    assert!(text.contains(from), "{from:?} not in {file}");
    export_with(file, text.replacen(from, to, 1).as_bytes())
}

/// A store that already holds the Maven dataset, so "unchanged" means something.
fn populated(kind: BackendKind) -> TestStore {
    let mut s = fresh(kind);
    import(
        &mut s,
        Source::Maven,
        &fixture("maven-crm-sales-opportunities"),
        &ImportOptions::default(),
        &Quiet,
    )
    .unwrap();
    s
}

/// Imports `dir`, expects a refusal whose text contains every `expected` line, and checks
/// that the store did not change.
fn refused(dir: &Path, expected: &[&str]) {
    refused_as(Source::Salesforce, dir, expected)
}

/// [`refused`] for `path` read as `source`.
fn refused_as(source: Source, path: &Path, expected: &[&str]) {
    for kind in BOTH {
        let mut s = populated(kind);
        let before = s.fingerprint().unwrap();
        let err = import(&mut s, source, path, &ImportOptions::default(), &Quiet).unwrap_err();
        assert!(matches!(err, EngineError::Rejected(_)), "{kind}: {err}");
        let text = err.to_string();
        assert!(
            text.starts_with("the import was refused and nothing was written"),
            "{text}"
        );
        for e in expected {
            assert!(text.contains(e), "{kind}: expected {e:?} in:\n{text}");
        }
        assert_eq!(
            s.fingerprint().unwrap(),
            before,
            "{kind}: the store changed"
        );
    }
}

/// [`refused_as`] for one file of salesorg's own formats, `name` holding `content`.
fn own_file_refused(name: &str, content: &str, expected: &[&str]) {
    let dir = TempDir::new().unwrap();
    let f = dir.path().join(name);
    std::fs::write(&f, content).unwrap();
    refused_as(Source::Salesorg, &f, expected)
}

#[test]
fn unparseable_number() {
    let d = edit("Opportunity.csv", ",50000.00,", ",50.000,00x,");
    refused(d.path(), &["Opportunity.csv:2:"]);
    let d = edit("Opportunity.csv", ",50000.00,", ",5e4,");
    refused(
        d.path(),
        &["Opportunity.csv:2:6: Amount: \"5e4\" is not an amount: unexpected character 'e'"],
    );
}

#[test]
fn unparseable_and_impossible_dates() {
    let d = edit("Opportunity.csv", ",2024-02-10,", ",yesterday,");
    refused(
        d.path(),
        &["Opportunity.csv:2:8: CloseDate: \"yesterday\" is not a date: expected YYYY-MM-DD"],
    );
    let d = edit("Opportunity.csv", ",2024-02-20,", ",2023-02-29,");
    refused(
        d.path(),
        &[
            "Opportunity.csv:3:8: CloseDate: \"2023-02-29\" is not a date: day 29 does not exist in February 2023",
        ],
    );
}

#[test]
fn unknown_owner_and_manager() {
    let d = edit(
        "Opportunity.csv",
        ",005000000000012AAA,",
        ",005000000000099AAA,",
    );
    refused(
        d.path(),
        &["Opportunity.csv:3:15: unknown person id \"005000000000099AAA\" (owner)"],
    );
    let d = edit(
        "User.csv",
        "00E000000000006AAA,005000000000005AAA",
        "00E000000000006AAA,005000000000077AAA",
    );
    refused(
        d.path(),
        &["User.csv:9:8: unknown person id \"005000000000077AAA\" (manager)"],
    );
}

#[test]
fn duplicate_id_with_different_data() {
    let text = std::fs::read_to_string(fixture("synthetic/sf-org-v1/Account.csv")).unwrap();
    let dup = format!(
        "{text}001000000000001AAA,,Acme Corporation,Customer,,USA,Manufacturing,1200,005000000000011AAA\n"
    );
    let d = export_with("Account.csv", dup.as_bytes());
    refused(
        d.path(),
        &[
            "Account.csv:4:9: duplicate account id \"001000000000001AAA\" with different data (first seen at line 2)",
        ],
    );
    // an identical repeat is not a problem
    let same = format!(
        "{text}001000000000001AAA,,Acme Corp,Customer,,USA,Manufacturing,1200,005000000000011AAA\n"
    );
    let d = export_with("Account.csv", same.as_bytes());
    let mut s = fresh(BackendKind::Sqlite);
    import_sf(&mut s, d.path()).unwrap();
}

#[test]
fn missing_required_column() {
    let text = std::fs::read_to_string(fixture("synthetic/sf-org-v1/Opportunity.csv")).unwrap();
    let d = export_with(
        "Opportunity.csv",
        text.replacen("StageName", "Stage_Name", 1).as_bytes(),
    );
    refused(
        d.path(),
        &["Opportunity.csv:1: missing required column \"StageName\""],
    );
}

#[test]
fn ragged_row_and_unterminated_quote() {
    let d = edit(
        "Account.csv",
        ",Prospect,,USA,Energy,300,005000000000012AAA",
        ",Prospect,,USA,Energy",
    );
    refused(
        d.path(),
        &["Account.csv:3:8: ragged row: 7 fields where the header has 9"],
    );
    let d = edit("Account.csv", "Globex", "\"Globex");
    refused(d.path(), &["Account.csv:3:3: unterminated quote"]);
}

#[test]
fn invalid_utf8_says_how_to_fix_it() {
    let text = std::fs::read(fixture("synthetic/sf-org-v1/Account.csv")).unwrap();
    let s = String::from_utf8(text)
        .unwrap()
        .replacen("Globex", "Glob\u{0}x", 1);
    let bytes = s.replacen('\u{0}', "\u{e9}", 1).into_bytes();
    // make it Latin-1: é as the single byte 0xE9
    let mut latin = Vec::new();
    for b in bytes.windows(2).enumerate() {
        let _ = b;
    }
    let pos = bytes.windows(2).position(|w| w == [0xC3, 0xA9]).unwrap();
    latin.extend_from_slice(&bytes[..pos]);
    latin.push(0xE9);
    latin.extend_from_slice(&bytes[pos + 2..]);
    let d = export_with("Account.csv", &latin);
    refused(
        d.path(),
        &["Account.csv:3:3: invalid UTF-8", "windows-1252"],
    );
}

#[test]
fn management_cycle() {
    // the CRO now reports to a rep who (through the chain) reports to the CRO
    let d = edit(
        "User.csv",
        "00E000000000001AAA,,Chief",
        "00E000000000001AAA,005000000000011AAA,Chief",
    );
    refused(d.path(), &["management cycle", "User.csv:2:8:"]);
}

/// Units whose parents make a loop are refused at the rows that read them (the error had
/// named no file or line: "the org: unit u-a is its own ancestor").
#[test]
fn a_unit_cycle_names_the_rows() {
    own_file_refused(
        "units.csv",
        "id,name,kind,parent_id\nu-a,A,region,u-b\nu-b,B,region,u-a\n",
        &[
            "units.csv:2:1: unit u-a is its own ancestor",
            "units.csv:3:1: unit u-b is its own ancestor",
        ],
    );
}

/// A quota below zero is refused at its amount (it had been taken, and made every sale's
/// attainment negative); through a mapping in `mapped.rs`.
#[test]
fn a_negative_quota_is_refused_at_its_amount() {
    own_file_refused(
        "quotas.csv",
        "target_kind,target_id,period,metric,amount\n\
         person,Anna Snelling,FY2017-Q1,bookings,100\n\
         person,Anna Snelling,FY2017-Q2,bookings,-5000\n",
        &["quotas.csv:3:5: amount: a quota must not be negative"],
    );
}

/// A target's metric is a KPI a target can be set on, and a count's target is whole:
/// refused at the metric's cell (an unknown metric had been stored, then left out of every
/// scorecard without a word).
#[test]
fn a_target_on_no_kpi_or_a_part_of_a_call_is_refused_at_its_metric() {
    own_file_refused(
        "quotas.csv",
        "target_kind,target_id,period,metric,amount\n\
         person,Anna Snelling,FY2017-Q1,calls,120\n\
         person,Anna Snelling,FY2017-Q1,revenue,100\n\
         person,Anna Snelling,FY2017-Q2,calls,12.5\n\
         person,Anna Snelling,FY2017-Q2,pipeline_created,12.5\n\
         person,Anna Snelling,FY2017-Q2,quota_attainment,1.2\n\
         person,Anna Snelling,FY2017-Q2,win_rate,0.35\n",
        &[
            "quotas.csv:3:4: metric: \"revenue\" is not a KPI a target can be set on",
            "quotas.csv:4:4: metric: a target of calls is a count: 12.50 is not a whole number",
            "quotas.csv:6:4: metric: \"quota_attainment\" is not a KPI a target can be set on",
        ],
    );
}

/// A rate is positive with up to ten decimals: zero, a negative rate and eleven decimals
/// are refused at their cells, while the rows with six or ten decimals are not named.
#[test]
fn a_rate_is_positive_with_up_to_ten_decimals() {
    own_file_refused(
        "currency_rates.csv",
        "date,from,to,rate\n\
         2024-01-01,JPY,USD,0.006723\n\
         2024-01-01,IDR,USD,0.0000632911\n\
         2024-01-01,EUR,USD,0\n\
         2024-01-01,GBP,USD,-1.27\n\
         2024-01-01,KRW,USD,0.00074074074\n",
        &[
            "nothing was written: 3 problems",
            "currency_rates.csv:4:4: rate: \"0\" is not a rate: a rate must be positive",
            "currency_rates.csv:5:4: rate: \"-1.27\" is not a rate: a rate must be positive",
            "currency_rates.csv:6:4: rate: \"0.00074074074\" is not a rate: more than 10 decimals",
        ],
    );
}

#[test]
fn skip_bad_rows_imports_the_good_and_writes_the_rejects() {
    for kind in BOTH {
        let d = edit("Opportunity.csv", ",2024-02-20,", ",2023-02-29,");
        let mut s = fresh(kind);
        let rejects = d.path().join("rejects.csv");
        let opts = ImportOptions {
            skip_bad_rows: true,
            rejects: Some(rejects.clone()),
            ..Default::default()
        };
        let sum = import(&mut s, Source::Salesforce, d.path(), &opts, &Quiet).unwrap();
        assert_eq!(sum.rejected, 1);
        assert_eq!(s.opportunities().unwrap().len(), 2, "{kind}");
        let text = std::fs::read_to_string(&rejects).unwrap();
        assert!(text.starts_with("file,line,column,reason,row"), "{text}");
        assert!(
            text.contains(",3,8,\"CloseDate: \"\"2023-02-29\"\" is not a date"),
            "{text}"
        );
        assert!(text.contains("006000000000002AAA"), "{text}");
        assert!(sum.to_string().contains("1 bad rows skipped"), "{sum}");
    }
}

#[test]
fn valid_quirks_are_accepted() {
    // BOM, CRLF, a quoted field with a newline, reordered columns, a header-only file
    let acc = "\u{feff}Name,Id,OwnerId,Industry\r\n\"Acme\r\nCorp\",001000000000001AAA,005000000000011AAA,Manufacturing\r\nGlobex,001000000000002AAA,005000000000012AAA,Energy\r\n";
    let d = export_with("Account.csv", acc.as_bytes());
    std::fs::write(
        d.path().join("Task.csv"),
        "Id,OwnerId,CreatedDate,Subject\n",
    )
    .unwrap();
    for kind in BOTH {
        let mut s = fresh(kind);
        let sum = import_sf(&mut s, d.path()).unwrap();
        let accounts = s.accounts().unwrap();
        assert_eq!(accounts[0].name, "Acme\r\nCorp", "{kind}");
        assert_eq!(
            s.activities().unwrap().len(),
            1,
            "{kind}: only Event.csv has rows now"
        );
        assert!(sum.to_string().starts_with("imported "), "{sum}");
    }
}

/// Money that adds up past what a scorecard's sums hold exactly (about 922 trillion) is
/// refused by the import that brings it, at that import's largest amount: a store had
/// taken it, and then refused every scorecard with no file, line or column to fix.
#[test]
fn money_past_what_a_sum_holds_is_refused_at_the_largest_amount() {
    let opps = std::fs::read_to_string(fixture("synthetic/sf-org-v1").join("Opportunity.csv"))
        .unwrap()
        .replacen(",50000.00,", ",400000000000000.00,", 1)
        .replacen(",20000.00,", ",600000000000000.00,", 1);
    let d = export_with("Opportunity.csv", opps.as_bytes());
    refused(
        d.path(),
        &[
            "Opportunity.csv:3:6: the opportunities' amounts add up to more than salesorg sums \
             exactly (1000000010080535.17 USD,",
            "at most 922337203685477.58): check the largest amounts for a misplaced decimal \
             point; this import's largest is here: 600000000000000.00 USD",
        ],
    );
    own_file_refused(
        "quotas.csv",
        "target_kind,target_id,period,metric,amount\n\
         person,Anna Snelling,FY2017-Q1,bookings,500000000000000\n\
         person,Anna Snelling,FY2017-Q2,bookings,500000000000000\n\
         person,Anna Snelling,FY2017-Q2,calls,120\n",
        &["quotas.csv:2:5: the quotas add up to more than salesorg sums exactly"],
    );
    own_file_refused(
        "quotas.csv",
        "target_kind,target_id,period,metric,amount\n\
         person,Anna Snelling,FY2017-Q1,bookings,500000000000000\n\
         person,Anna Snelling,FY2017-Q1,calls,500000000000000\n\
         person,Anna Snelling,FY2017-Q2,calls,500000000000000\n",
        &["quotas.csv:3:5: the targets add up to more than salesorg sums exactly"],
    );
    own_file_refused(
        "spend.csv",
        "date,scope,category,amount\n\
         2017-01-01,company,marketing,1000\n\
         2017-02-01,company,marketing,500000000000000\n\
         2017-03-01,company,marketing,500000000000000\n",
        &["spend.csv:3:4: the spend entries add up to more than salesorg sums exactly"],
    );
}

/// The check is of the store as the import leaves it: an amount the store already holds
/// counts, and one the import replaces does not.
#[test]
fn money_past_what_a_sum_holds_counts_what_the_store_already_holds() {
    let sf = || std::fs::read_to_string(fixture("synthetic/sf-org-v1").join("Opportunity.csv"));
    for kind in BOTH {
        let mut s = populated(kind);
        // the Salesforce export with `opps` as its Opportunity.csv
        let mut import_opps = |opps: &str| {
            let d = export_with("Opportunity.csv", opps.as_bytes());
            import_sf(&mut s, d.path()).map_err(|e| e.to_string())
        };
        let refused = "Opportunity.csv:2:6: the opportunities' amounts add up to more";
        // 600 trillion on the first deal: taken
        let first = sf()
            .unwrap()
            .replacen(",50000.00,", ",600000000000000.00,", 1);
        import_opps(&first).unwrap();
        // the same export with 400 trillion on the second deal as well: refused there
        let both = first.replacen(",20000.00,", ",400000000000000.00,", 1);
        let err = import_opps(&both).unwrap_err();
        assert!(err.contains(refused), "{kind}: {err}");
        // without the first deal's row, the store's 600 trillion still counts, and the
        // import's own largest is named
        let lines: Vec<&str> = both.lines().collect();
        let err = import_opps(&[&lines[..1], &lines[2..]].concat().join("\n")).unwrap_err();
        assert!(
            err.contains(refused)
                && err.contains("this import's largest is here: 400000000000000.00 USD"),
            "{kind}: {err}"
        );
        // the first deal back at 50,000 and the second at 400 trillion: taken
        import_opps(
            &sf()
                .unwrap()
                .replacen(",20000.00,", ",400000000000000.00,", 1),
        )
        .unwrap();
        // (that a refused import writes nothing is checked by `refused` above)
    }
}

/// A deal's earlier amounts in its stage history count too (an open pipeline on an
/// earlier as-of day sums them), each deal once at the largest it ever had: an export whose
/// history holds an amount past the limit is refused at that cell. (It had been taken, and
/// every scorecard refused afterwards with no file, line or column to fix.)
#[test]
fn earlier_amounts_in_the_stage_history_count_each_deal_at_its_largest() {
    let sf = |file: &str| std::fs::read_to_string(fixture("synthetic/sf-org-v1").join(file));
    // deal 1 (50,000 now) and its three history rows at `first` trillion each; deal 3 at 400
    let export = |first: &str| {
        let d = export_with(
            "Opportunity.csv",
            sf("Opportunity.csv")
                .unwrap()
                .replacen(",50000.00,", &format!(",{first}000000000000.00,"), 1)
                .replacen(",75000.50,", ",400000000000000.00,", 1)
                .as_bytes(),
        );
        let history = sf("OpportunityHistory.csv").unwrap();
        let history: Vec<String> = history
            .lines()
            .map(|l| {
                if l.contains(",006000000000001AAA,") {
                    let mut f: Vec<&str> = l.split(',').collect();
                    let big = format!("{first}000000000000.00");
                    f[5] = &big;
                    f.join(",")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        std::fs::write(
            d.path().join("OpportunityHistory.csv"),
            history.join("\n") + "\n",
        )
        .unwrap();
        d
    };
    // 500 + 400 trillion, each deal once: taken, and the scorecard's book made from it
    // (the rows summed would be 1,900 trillion)
    let d = export("500");
    for kind in BOTH {
        let mut s = populated(kind);
        import_sf(&mut s, d.path()).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let catalog = salesorg_core::catalog::Catalog::builtin().unwrap();
        salesorg_engine::scorecard::load_book(&mut s, &catalog, false, &Quiet)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
    // deal 1's history at 600 trillion, its amount now 500: refused at the history's
    // largest, in the Amount column of OpportunityHistory.csv's first row
    let d = export("600");
    let opps = sf("Opportunity.csv")
        .unwrap()
        .replacen(",50000.00,", ",500000000000000.00,", 1)
        .replacen(",75000.50,", ",400000000000000.00,", 1);
    std::fs::write(d.path().join("Opportunity.csv"), opps).unwrap();
    refused(
        d.path(),
        &[
            "OpportunityHistory.csv:2:6: the opportunities' amounts add up to more than \
             salesorg sums exactly (1000000",
            "this import's largest is here: 600000000000000.00, an earlier amount in the \
             stage history of 006000000000001AAA",
        ],
    );
    // and into a store without money, whose first import is bounded by its own amounts
    for kind in BOTH {
        let mut s = fresh(kind);
        let err = import_sf(&mut s, d.path()).unwrap_err().to_string();
        assert!(
            err.contains("OpportunityHistory.csv:2:6: the opportunities' amounts add up"),
            "{kind}: {err}"
        );
        assert!(s.holds_no_money().unwrap(), "{kind}");
    }
}

/// An import adds its own money to the bounds the last import saved instead of reading
/// every table again (at 10M opportunities a scan of about 6 s); bounds saved before
/// another write are not used: deals written past the limit since are still found.
#[test]
fn money_bounds_carry_from_import_to_import_and_a_write_between_voids_them() {
    use salesorg_core::money::Money;
    use salesorg_core::scorecard::book::MoneyTotals;
    for kind in BOTH {
        let mut s = populated(kind);
        // the first import, into a store without money, saved its own: the exact totals
        let version = s.data_version().unwrap().1;
        let exact = s.money_totals(true, true, true).unwrap();
        assert_eq!(s.money_bounds().unwrap(), Some((version, exact)), "{kind}");
        // a second one saves them plus its own (its deals replaced none)
        let opps = std::fs::read_to_string(fixture("synthetic/sf-org-v1").join("Opportunity.csv"))
            .unwrap();
        let d = export_with("Opportunity.csv", opps.as_bytes());
        let before = s.money_totals(true, true, true).unwrap();
        import_sf(&mut s, d.path()).unwrap();
        let (saved, now) = (
            s.money_bounds().unwrap().unwrap(),
            s.money_totals(true, true, true).unwrap(),
        );
        assert_eq!(saved.0, s.data_version().unwrap().1, "{kind}");
        // (the history's earlier amounts, whose deals' currencies an import does not look
        // up, are kept apart: every Amount of OpportunityHistory.csv)
        let history =
            std::fs::read_to_string(fixture("synthetic/sf-org-v1").join("OpportunityHistory.csv"))
                .unwrap();
        let history: u128 = history
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(5).filter(|a| !a.is_empty()))
            .map(|a| Money::parse(a).unwrap().units().unsigned_abs() as u128)
            .sum();
        assert!(history > 0);
        assert_eq!(
            saved.1,
            MoneyTotals {
                history,
                ..now.clone()
            },
            "{kind}: nothing was replaced, so the bound is exact"
        );
        assert_ne!(before, now, "{kind}");
        // the same export again replaces its deals: the bound is above the store's now
        import_sf(&mut s, d.path()).unwrap();
        let saved = s.money_bounds().unwrap().unwrap().1;
        let deals = |t: &MoneyTotals| t.deals.iter().map(|d| d.1).sum::<u128>();
        assert!(deals(&saved) > deals(&now), "{kind}");
        assert_eq!(s.money_totals(true, true, true).unwrap(), now, "{kind}");
        // written past the limit other than by an import: the bounds are not used
        let mut big: Vec<_> = s.opportunities().unwrap().into_iter().take(3).collect();
        for (k, o) in big.iter_mut().enumerate() {
            o.id = salesorg_core::ids::OppId::parse(&format!("BIG{k}")).unwrap();
            o.amount = Some(Money::parse("300000000000000").unwrap());
        }
        s.upsert_opportunities(&mut big.iter()).unwrap();
        let one = opps.replacen(",50000.00,", ",300000000000000.00,", 1);
        let d = export_with("Opportunity.csv", one.as_bytes());
        let err = import_sf(&mut s, d.path()).unwrap_err().to_string();
        assert!(
            err.contains("Opportunity.csv:2:6: the opportunities' amounts add up to more"),
            "{kind}: {err}"
        );
    }
}

/// A HubSpot user placed in a team the export does not have is refused at the user's row,
/// both for the team it does not find and for the org it would make. That second problem
/// had been put at the first row naming any word of its message (`teams.csv:2`, team
/// "Sales" of "Inside Sales North"), or at no file ("the org: …") where the user's id held
/// a space (a header row written twice).
#[test]
fn a_user_in_an_unknown_team_is_refused_at_the_users_row() {
    let dir = TempDir::new().unwrap();
    salesorg_store::testing::copy_files(fixture("synthetic/hubspot"), dir.path());
    let users = dir.path().join("users.csv");
    let text = std::fs::read_to_string(&users).unwrap();
    let header = text.lines().next().unwrap().to_owned();
    let text = text.replacen(
        "Inside Sales Representative,Inside Sales West,",
        "Inside Sales Representative,Inside Sales North,",
        1,
    );
    for (content, line, who) in [
        (text.clone(), 7, "9006"),
        (format!("{text}{header}\n"), 8, "User ID"),
    ] {
        std::fs::write(&users, content).unwrap();
        let file = users.display().to_string();
        refused_as(
            Source::Hubspot,
            dir.path(),
            &[
                &format!("{file}:{line}:6: unknown unit id"),
                &format!("{file}:{line}:6: {who} is placed in unknown unit"),
            ],
        );
    }
}
