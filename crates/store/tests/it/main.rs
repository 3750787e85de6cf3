//! Store tests: every test runs on SQLite and on PostgreSQL.

use salesorg_core::date::parse_date;
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money, Rate};
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
        assert_eq!(s.schema_version().unwrap(), 6);
        // every write moves the data version on; reads do not
        let (id, v) = s.data_version().unwrap();
        let _ = s.opportunities().unwrap();
        assert_eq!(s.data_version().unwrap(), (id.clone(), v));
        s.upsert_opportunities(&mut [o.clone()].iter()).unwrap();
        assert_eq!(s.data_version().unwrap(), (id.clone(), v + 1), "{kind}");
        assert_eq!(id.len(), 32);
    }
}

/// A rate keeps its ten decimals through the store; one written by a store of schema 4
/// (four decimals, as money) reads as the same rate once the store is opened again, and
/// the data version moves so that the scorecard's snapshot is built again.
#[test]
fn rates_keep_ten_decimals_and_old_rates_are_migrated() {
    for kind in BOTH {
        let mut s = fresh(kind);
        let r = CurrencyRate {
            date: parse_date("2024-01-01").unwrap(),
            from: Currency::USD,
            to: Currency::parse("IDR").unwrap(),
            rate: Rate::parse("15800.1234567891").unwrap(),
        };
        let small = CurrencyRate {
            from: Currency::parse("IDR").unwrap(),
            to: Currency::USD,
            rate: Rate::parse("0.0000632911").unwrap(),
            ..r.clone()
        };
        s.upsert_rates(&[r.clone(), small.clone()]).unwrap();
        assert_eq!(s.rates().unwrap(), vec![small.clone(), r.clone()], "{kind}");

        // as schema 4 wrote it: EUR 1.0823 in ten-thousandths
        let db = s.unscoped_backend();
        db.execute("DELETE FROM currency_rates", &[]).unwrap();
        db.execute(
            "INSERT INTO currency_rates (day, from_ccy, to_ccy, rate) VALUES (?, ?, ?, ?)",
            &[
                "2024-02-01".into(),
                "EUR".into(),
                "USD".into(),
                10_823i64.into(),
            ],
        )
        .unwrap();
        // (and without the later migrations, which run again after it)
        db.execute("DELETE FROM schema_migrations WHERE version >= 5", &[])
            .unwrap();
        db.execute("DROP TABLE money_bounds", &[]).unwrap();
        let (id, v) = s.data_version().unwrap();
        let url = s.url.clone();
        let mut again = Store::open(&url).unwrap();
        assert_eq!(again.schema_version().unwrap(), 6, "{kind}");
        assert_eq!(again.data_version().unwrap(), (id, v + 1), "{kind}");
        let eur = CurrencyRate {
            date: parse_date("2024-02-01").unwrap(),
            from: Currency::parse("EUR").unwrap(),
            to: Currency::USD,
            rate: Rate::parse("1.0823").unwrap(),
        };
        assert_eq!(again.rates().unwrap(), vec![eur], "{kind}");
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

/// A trial's writes are rolled back whether it succeeds or fails, and its answer is kept.
#[test]
fn a_trial_leaves_nothing_and_answers() {
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a")]).unwrap();
        let before = s.fingerprint().unwrap();
        let seen = s
            .trial(|s| -> Result<usize, StoreError> {
                s.upsert_people(&[person("b")])?;
                s.upsert_opportunities(&mut [opp("o1", "b", "10")].iter())?;
                Ok(s.people()?.len())
            })
            .unwrap();
        assert_eq!(seen, 2, "{kind}");
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
        let r: Result<(), StoreError> = s.trial(|s| {
            s.upsert_people(&[person("c")])?;
            Err(StoreError::Corrupt("simulated failure".into()))
        });
        assert!(r.is_err());
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
        // (not inside a transaction)
        let nested: Result<(), StoreError> = s.atomic(|s| s.trial(|_| Ok(())));
        assert!(nested.is_err(), "{kind}");
        assert_eq!(s.people().unwrap().len(), 1, "{kind}");
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
        // a line or a membership that ends as it begins (built around `Validity::new`) is
        // refused before anything is written, not written and then unreadable
        let empty = Validity {
            from: d("2024-02-15"),
            to: Some(d("2024-02-15")),
        };
        let mut bad = lines.clone();
        bad[1].valid = empty;
        let before = s.fingerprint().unwrap();
        let e = s.replace_lines(&bad).unwrap_err().to_string();
        assert!(
            e.contains("reporting line of rep") && e.contains("is not after"),
            "{kind}: {e}"
        );
        let m = Membership {
            person: PersonId::parse("rep").unwrap(),
            unit: UnitId::parse("east").unwrap(),
            valid: empty,
        };
        let e = s.replace_memberships(&[m]).unwrap_err().to_string();
        assert!(e.contains("unit membership of rep"), "{kind}: {e}");
        assert_eq!(s.fingerprint().unwrap(), before, "{kind}");
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
    assert!(
        e.contains("Connection refused"),
        "the reason, not only the driver's: {e}"
    );
    // the server's own message, which the driver's text ("db error") leaves out
    let e = Store::open("postgres://postgres@127.0.0.1:5432/salesorg_no_such_database")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(r#"database "salesorg_no_such_database" does not exist"#),
        "{e}"
    );
}

/// A failed statement's error carries PostgreSQL's own message (a 500 is logged with it).
#[test]
fn a_postgres_error_carries_the_servers_message() {
    let mut c =
        postgres::Client::connect("postgres://postgres@127.0.0.1:5432/test", postgres::NoTls)
            .unwrap();
    let e = c
        .batch_execute("SELECT * FROM salesorg_no_such_table")
        .unwrap_err();
    let e = StoreError::from(e).to_string();
    assert!(
        e.starts_with("PostgreSQL: db error: ERROR: relation \"salesorg_no_such_table\""),
        "{e}"
    );
}

/// Accounts, sessions, tokens, throttling and the audit log, on both backends; none of it
/// moves the data version (caches of the data stay valid across sign-ins).
#[test]
fn accounts_sessions_tokens_and_throttling_on_both_backends() {
    use salesorg_store::{Session, StoreError};
    for kind in BOTH {
        let mut s = fresh(kind);
        let v0 = s.data_version().unwrap();
        let u = s
            .create_user("dana", Some("a"), "$argon2id$x", false, 100)
            .unwrap();
        assert_eq!(u.username, "dana");
        assert!(matches!(
            s.create_user("dana", None, "$argon2id$y", true, 101),
            Err(StoreError::Conflict(_))
        ));
        // a name that cannot be typed at sign-in, or is too long, is refused
        let long = "x".repeat(salesorg_store::USERNAME_MAX + 1);
        for bad in ["", " ", "a b", "tab\there", "dana\n", long.as_str()] {
            let e = s.create_user(bad, None, "$argon2id$z", false, 102);
            assert!(
                matches!(&e, Err(StoreError::Conflict(m)) if m.contains("is not a username")),
                "{kind}: {bad:?}: {e:?}"
            );
        }
        let longest = "é".repeat(salesorg_store::USERNAME_MAX);
        s.create_user(&longest, None, "$argon2id$z", false, 102)
            .unwrap();
        let sess = Session {
            id_hash: "h1".into(),
            user_id: u.id,
            csrf: "c".into(),
            created_at: 100,
            expires_at: 200,
            last_seen_at: 100,
        };
        s.create_session(&sess).unwrap();
        assert_eq!(s.session("h1", 150).unwrap().unwrap().0, sess, "{kind}");
        assert!(s.session("h1", 200).unwrap().is_none(), "{kind}: expired");
        s.touch_session("h1", 190, 400).unwrap();
        assert!(s.session("h1", 300).unwrap().is_some());
        s.set_password(u.id, "$argon2id$z", 310).unwrap();
        assert!(
            s.session("h1", 300).unwrap().is_none(),
            "{kind}: a new password ends sessions"
        );
        let t = s.create_token(u.id, "cli", "th", "so_abcdef", 320).unwrap();
        assert_eq!(s.token_by_hash("th").unwrap().unwrap().0.id, t.id);
        assert!(
            !s.revoke_token(u.id + 1, t.id, 330).unwrap(),
            "someone else's token"
        );
        assert!(s.revoke_token(u.id, t.id, 330).unwrap());
        assert!(s.token_by_hash("th").unwrap().is_none());
        for i in 0..4 {
            assert_eq!(
                s.record_failure("user:dana", 1000 + i, 900, 5, 900)
                    .unwrap(),
                None
            );
        }
        assert_eq!(
            s.record_failure("user:dana", 1004, 900, 5, 900).unwrap(),
            Some(1904)
        );
        assert_eq!(s.locked_until("user:dana", 1500).unwrap(), Some(1904));
        assert_eq!(
            s.locked_until("user:dana", 1904).unwrap(),
            None,
            "{kind}: the lock ends"
        );
        // failures outside the window start a new count
        assert_eq!(s.record_failure("addr:x", 0, 900, 2, 900).unwrap(), None);
        assert_eq!(s.record_failure("addr:x", 5000, 900, 2, 900).unwrap(), None);
        s.audit(1, Some("dana"), "sign_in", "password", Some("127.0.0.1"))
            .unwrap();
        s.audit(2, None, "import", "x", None).unwrap();
        let log = s.audit_log(10, None).unwrap();
        assert_eq!(
            log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
            ["import", "sign_in"]
        );
        assert_eq!(s.audit_log(10, Some(log[0].id)).unwrap().len(), 1);
        s.set_disabled(u.id, true).unwrap();
        assert!(s.user_by_id(u.id).unwrap().unwrap().disabled);
        assert_eq!(
            s.data_version().unwrap(),
            v0,
            "{kind}: sign-in data is not data"
        );
    }
}

/// Accounts and survey responses stream in id order, every field as written, and a
/// callback's error stops the scan and comes back (a scorecard's load reads them this way
/// instead of holding millions at once).
#[test]
fn accounts_and_surveys_stream_in_id_order_on_both_backends() {
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a")]).unwrap();
        let account = |id: &str, owner: Option<&str>| Account {
            id: AccountId::parse(id).unwrap(),
            name: format!("Account {id}, \"quoted\""),
            industry: Some("Retail".into()),
            employees: Some(250),
            region: None,
            owner: owner.map(|o| PersonId::parse(o).unwrap()),
            parent: None,
            customer_since: Some(parse_date("2023-02-01").unwrap()),
            churned_on: owner.is_none().then(|| parse_date("2024-03-31").unwrap()),
        };
        let accounts = [
            account("c3", Some("a")),
            account("a1", None),
            account("b2", Some("a")),
        ];
        s.upsert_accounts(&accounts).unwrap();
        let survey = |id: &str, acct: &str, score| SurveyResponse {
            id: id.into(),
            account: AccountId::parse(acct).unwrap(),
            date: parse_date("2024-05-06").unwrap(),
            score,
            scale_min: 1,
            scale_max: 5,
        };
        let surveys = [survey("s2", "c3", 4), survey("s1", "a1", 2)];
        s.upsert_surveys(&surveys).unwrap();

        let mut got = Vec::new();
        s.scan_accounts(&mut |a| {
            got.push(a);
            Ok(())
        })
        .unwrap();
        let mut want = accounts.to_vec();
        want.sort_by(|x, y| x.id.as_str().cmp(y.id.as_str()));
        assert_eq!(got, want, "{kind}");
        assert_eq!(s.accounts().unwrap(), want, "{kind}");
        let mut got = Vec::new();
        s.scan_surveys(&mut |x| {
            got.push(x);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![surveys[1].clone(), surveys[0].clone()], "{kind}");

        // the first row's error ends the scan
        let mut seen = 0;
        let err = s
            .scan_accounts(&mut |_| {
                seen += 1;
                Err(StoreError::Conflict("stop here".into()))
            })
            .unwrap_err();
        assert_eq!((seen, err.to_string()), (1, "stop here".into()), "{kind}");
    }
}

/// `scanning` runs its reads with SQLite's page cache small and leaves it large again
/// afterwards, also when they fail; on PostgreSQL it only runs them.
#[test]
fn scanning_shrinks_the_page_cache_only_while_it_runs() {
    fn cache_kib(s: &mut Store) -> i64 {
        let mut v = 0;
        s.unscoped_backend()
            .query_each("PRAGMA cache_size", &[], &mut |r| {
                if let salesorg_store::Value::Int(x) = r[0] {
                    v = -x;
                }
                Ok(())
            })
            .unwrap();
        v
    }
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a")]).unwrap();
        let sqlite = kind == salesorg_store::BackendKind::Sqlite;
        let before = if sqlite { cache_kib(&mut s) } else { 0 };
        let inside = s
            .scanning(|s| -> Result<i64, StoreError> {
                assert_eq!(s.people()?.len(), 1);
                Ok(if sqlite { cache_kib(s) } else { 0 })
            })
            .unwrap();
        let failed =
            s.scanning(|_| -> Result<(), StoreError> { Err(StoreError::Conflict("no".into())) });
        assert!(failed.is_err(), "{kind}");
        if sqlite {
            assert_eq!((before, inside), (262_144, 8_192));
            assert_eq!(cache_kib(&mut s), before);
        }
    }
}

/// A table read in batches (the scorecard's first load hands them to another thread) gives
/// exactly the rows read one by one, in order: full batches and a last short one, each
/// read into the buffers of whatever vector the reader handed back, here one longer than
/// a batch and full of other values, then the batch before; their texts, checked and set
/// into a row of other values, are those of the rows read one by one.
#[test]
fn a_table_read_in_batches_is_its_rows_in_order_on_both_backends() {
    use salesorg_store::{Raw, Scanned, Value};
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a"), person("b")]).unwrap();
        let deals: Vec<Opportunity> = (0..7)
            .map(|k| {
                let mut o = opp(&format!("o{k}"), ["a", "b"][k % 2], &format!("{k}00.5"));
                // a text column empty in some rows and not in others
                if k % 3 == 0 {
                    o.name = None;
                    o.amount = None;
                }
                o
            })
            .collect();
        s.upsert_opportunities(&mut deals.iter()).unwrap();
        let mut one_by_one: Vec<Vec<Value>> = Vec::new();
        s.scan_rows(Scanned::Opportunities, &mut |r| {
            one_by_one.push(r.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(one_by_one.len(), 7, "{kind}");
        let mut spare: Vec<Raw> = vec![Raw::Text("stale".repeat(9).into_bytes()); 100];
        spare.push(Raw::Int(7));
        let (mut batched, mut sizes) = (Vec::new(), Vec::new());
        // (each row's values set from the raw ones into a row of other values)
        let mut row = vec![Value::Text("old".into()); 50];
        s.scan_batches(Scanned::Opportunities, 3, &mut |vals, rows| {
            sizes.push(rows);
            assert_eq!(vals.len() % rows, 0, "{kind}");
            for raw in vals.chunks(vals.len() / rows) {
                row.truncate(raw.len());
                for (slot, r) in row.iter_mut().zip(raw) {
                    r.read_into(slot);
                }
                batched.push(row.clone());
            }
            std::mem::swap(vals, &mut spare);
            Ok(())
        })
        .unwrap();
        assert_eq!(sizes, [3, 3, 1], "{kind}");
        assert_eq!(batched, one_by_one, "{kind}");
    }
}

/// Every row of `table`, decoded.
fn scanned<T>(
    s: &mut Store,
    table: salesorg_store::Scanned,
    decode: fn(&[salesorg_store::Value]) -> salesorg_store::Result<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    s.scan_rows(table, &mut |r| {
        out.push(decode(r)?);
        Ok(())
    })
    .unwrap();
    out
}

/// The activities' brief scan (what a scorecard reads) gives each activity in id order as
/// the full scan does, without its opportunity, account and subject; with or without a
/// lead.
#[test]
fn activities_scanned_brief_are_the_full_ones_without_three_fields_on_both_backends() {
    use salesorg_core::date::Timestamp;
    use salesorg_store::{Scanned, activity_from};
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a"), person("b")]).unwrap();
        let act = |id: &str, owner: &str, k: usize| Activity {
            id: ActivityId::parse(id).unwrap(),
            kind: [
                ActivityKind::Call,
                ActivityKind::Email,
                ActivityKind::Meeting,
            ][k % 3],
            at: Timestamp::parse(&format!("2024-05-0{}T23:5{k}:00Z", k + 1)).unwrap(),
            owner: PersonId::parse(owner).unwrap(),
            lead: k
                .is_multiple_of(2)
                .then(|| LeadId::parse(&format!("L{k}")).unwrap()),
            opp: Some(OppId::parse(&format!("O{k}")).unwrap()),
            account: (k != 1).then(|| AccountId::parse("acc").unwrap()),
            subject: Some(format!("Call, \"{k}\"")),
        };
        let acts = [act("t3", "a", 0), act("t1", "b", 1), act("t2", "a", 2)];
        s.upsert_activities(&mut acts.iter()).unwrap();
        let full = s.activities().unwrap();
        assert_eq!(full.len(), 3, "{kind}");
        let brief = scanned(&mut s, Scanned::ActivitiesBrief, activity_from);
        let want: Vec<Activity> = full
            .into_iter()
            .map(|a| Activity {
                opp: None,
                account: None,
                subject: None,
                ..a
            })
            .collect();
        assert_eq!(brief, want, "{kind}");
        assert_eq!(brief[0].id.as_str(), "t1", "{kind}");
        assert!(brief.iter().any(|a| a.lead.is_some()), "{kind}");
    }
}

/// The opportunities' and leads' brief scans read every column in its place but those no
/// scorecard reads (an opportunity's name, kind and source; a lead's source and status; an
/// activity's opportunity, account and subject, whose scan is checked above), which come
/// back as none: the records are the full scans' without them.
#[test]
fn opportunities_and_leads_scanned_brief_are_the_full_ones_without_some_fields_on_both_backends() {
    use salesorg_store::{
        ACTIVITY_COLS, ACTIVITY_UNREAD, LEAD_COLS, LEAD_UNREAD, OPP_COLS, OPP_UNREAD, Scanned,
        lead_from, opp_from,
    };
    // (each column left unread is one of the table's)
    for (cols, unread) in [
        (OPP_COLS, OPP_UNREAD),
        (LEAD_COLS, LEAD_UNREAD),
        (ACTIVITY_COLS, ACTIVITY_UNREAD),
    ] {
        assert!(unread.iter().all(|c| cols.contains(c)), "{unread:?}");
    }
    for kind in BOTH {
        let mut s = fresh(kind);
        s.upsert_people(&[person("a"), person("b")]).unwrap();
        let deals: Vec<Opportunity> = (0..4)
            .map(|k| {
                let mut o = opp(&format!("o{k}"), ["a", "b"][k % 2], &format!("{k}00.5"));
                o.kind = (k != 2).then(|| "New Business".into());
                o.source = Some(format!("Web, \"{k}\""));
                o.next_step = (k % 3 == 0).then(|| "Call back".into());
                o
            })
            .collect();
        s.upsert_opportunities(&mut deals.iter()).unwrap();
        let full = s.opportunities().unwrap();
        assert_eq!(full.len(), 4, "{kind}");
        assert!(full.iter().any(|o| o.name.is_some()), "{kind}");
        let brief = scanned(&mut s, Scanned::OpportunitiesBrief, opp_from);
        let want: Vec<Opportunity> = full
            .into_iter()
            .map(|o| Opportunity {
                name: None,
                kind: None,
                source: None,
                ..o
            })
            .collect();
        assert_eq!(brief, want, "{kind}");

        let lead = |k: usize| Lead {
            id: LeadId::parse(&format!("L{k}")).unwrap(),
            owner: PersonId::parse(["a", "b"][k % 2]).unwrap(),
            source: Some(format!("Webinar {k}")),
            status: (k != 1).then(|| "Working".into()),
            created: salesorg_core::date::Timestamp::parse("2024-05-06T23:59:00Z").unwrap(),
            converted_at: (k == 0).then(|| parse_date("2024-05-09").unwrap()),
            converted_opp: (k == 2).then(|| OppId::parse("o1").unwrap()),
            converted_account: (k == 2).then(|| AccountId::parse("acc").unwrap()),
        };
        s.upsert_leads(&[lead(2), lead(0), lead(1)]).unwrap();
        let full = s.leads().unwrap();
        assert_eq!(full.len(), 3, "{kind}");
        let brief = scanned(&mut s, Scanned::LeadsBrief, lead_from);
        let want: Vec<Lead> = full
            .into_iter()
            .map(|l| Lead {
                source: None,
                status: None,
                ..l
            })
            .collect();
        assert_eq!(brief, want, "{kind}");
    }
}

/// A scanned value's text is checked where a row is set from it: bytes that are not UTF-8
/// read with U+FFFD in their place, as a row read one by one reads them, and a value of
/// another kind replaces the text before it.
#[test]
fn a_raw_text_is_checked_as_a_row_is_set_from_it() {
    use salesorg_store::{Raw, Value};
    let mut slot = Value::Text("a longer text before".into());
    Raw::Text(b"Caf\xc3\xa9".to_vec()).read_into(&mut slot);
    assert_eq!(slot, Value::Text("Café".into()));
    Raw::Text(b"bad \xff byte".to_vec()).read_into(&mut slot);
    assert_eq!(slot, Value::Text("bad \u{fffd} byte".into()));
    Raw::Null.read_into(&mut slot);
    assert_eq!(slot, Value::Null);
    Raw::Text(b"again".to_vec()).read_into(&mut slot);
    assert_eq!(slot, Value::Text("again".into()));
    Raw::Int(-3).read_into(&mut slot);
    assert_eq!(slot, Value::Int(-3));
    assert_eq!(Raw::from(Value::Text("x".into())), Raw::Text(b"x".to_vec()));
}
