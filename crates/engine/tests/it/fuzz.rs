//! Broken exports, made at random: a Salesforce or HubSpot export, or a folder of
//! salesorg's own files, with one cell, row, header or run of bytes spoilt (or a file left
//! out) is either imported whole (and then every KPI of the scorecard and its drill-down is
//! worked out over it without a panic) or refused with every problem at a real place of a
//! real file and the store left exactly as it was.

use std::path::Path;

use proptest::prelude::*;
use salesorg_core::catalog::Catalog;
use salesorg_core::period::{Grain, Period};
use salesorg_core::scorecard::{Scope, Walk, periods_between};
use salesorg_engine::import::{ImportOptions, Source, import};
use salesorg_engine::{EngineError, Quiet};
use salesorg_store::BackendKind;
use salesorg_store::testing::{BOTH, TempDir, TestStore, fresh};

use crate::fixture;

/// A fixture folder the importers read, and what the store holds before it.
struct Export {
    source: Source,
    dir: &'static str,
    files: &'static [&'static str],
    /// An export imported first (salesorg's own files name its people).
    after: Option<(Source, &'static str)>,
    /// Spreadsheets, spoilt byte by byte (a cell of a row is a run of bytes somewhere).
    binary: bool,
}

const EXPORTS: [Export; 4] = [
    Export {
        source: Source::Salesforce,
        dir: "synthetic/sf-org-v1",
        files: &[
            "User.csv",
            "UserRole.csv",
            "Account.csv",
            "Lead.csv",
            "Opportunity.csv",
            "OpportunityHistory.csv",
            "Task.csv",
            "Event.csv",
        ],
        after: None,
        binary: false,
    },
    Export {
        source: Source::Hubspot,
        dir: "synthetic/hubspot",
        files: &[
            "users.csv",
            "teams.csv",
            "companies.csv",
            "contacts.csv",
            "deals.csv",
        ],
        after: None,
        binary: false,
    },
    Export {
        source: Source::Salesorg,
        dir: "synthetic/salesorg-formats",
        files: &[
            "org_changes.csv",
            "quotas.csv",
            "spend.csv",
            "currency_rates.csv",
            "surveys.csv",
        ],
        after: Some((Source::Salesforce, "synthetic/sf-org-v1")),
        binary: false,
    },
    Export {
        source: Source::Hubspot,
        dir: "synthetic/hubspot-xlsx",
        files: &[
            "users.xlsx",
            "teams.xlsx",
            "companies.xlsx",
            "contacts.xlsx",
            "deals.xlsx",
        ],
        after: None,
        binary: true,
    },
];

/// Values that have broken importers: numbers past any type, dates that do not exist or lie
/// at the calendar's ends, ids of the wrong kind, quotes, line breaks, control characters
/// and a very long text.
fn nasty() -> Vec<String> {
    [
        "",
        " ",
        "0",
        "-1",
        "-0.01",
        "0.001",
        "1e400",
        "NaN",
        "inf",
        "12,5",
        "99999999999999999999999999999999",
        "9223372036854775807",
        "-9223372036854775808",
        "922337203685477.58",
        "2024-02-30",
        "2024-13-01",
        "0000-01-01",
        "0001-01-01",
        "1899-12-31",
        "9999-12-31",
        "9999-12-31T23:59:59.999Z",
        "2024-02-10T25:00:00.000Z",
        "2024-02-10T10:00:00.000+14:00",
        "2024-02-10 10:00:00",
        "yes",
        "true",
        "1",
        "005000000000011AAA",
        "005000000000099AAA",
        "006000000000001AAA",
        "001000000000001AAA",
        "00E000000000001AAA",
        "Closed Won",
        "Closed Lost",
        "Prospecting",
        "\"",
        "a\nb",
        "a\r\nb",
        "\u{0}",
        "\u{feff}Id",
        "Ünïcødé ✓ 東京",
        "=HYPERLINK(\"http://x\")",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(std::iter::once("x".repeat(5000)))
    .collect()
}

/// One way to spoil a file of the export.
#[derive(Debug, Clone)]
enum Spoil {
    /// Cell (row, column) of the file's records (row 0: the header) set to a value.
    Cell(usize, usize, String),
    /// A record left out.
    Drop(usize),
    /// A record written twice.
    Twice(usize),
    /// The file cut short at a fraction of its bytes (per mille).
    Cut(u16),
    /// Bytes put in at a fraction of the file (per mille), valid UTF-8 or not.
    Bytes(u16, Vec<u8>),
    /// The file left out of the export.
    Gone,
}

fn spoil() -> impl Strategy<Value = Spoil> {
    let values = nasty();
    let value = prop_oneof![
        3 => proptest::sample::select(values),
        1 => ".{0,12}",
    ];
    prop_oneof![
        6 => (0usize..12, 0usize..20, value).prop_map(|(r, c, v)| Spoil::Cell(r, c, v)),
        1 => (0usize..12).prop_map(Spoil::Drop),
        1 => (0usize..12).prop_map(Spoil::Twice),
        1 => (0u16..1000).prop_map(Spoil::Cut),
        1 => (0u16..1000, proptest::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(at, b)| Spoil::Bytes(at, b)),
        1 => Just(Spoil::Gone),
    ]
}

/// The file's bytes with `how` done to them (`None`: the file left out); a binary file's
/// cells and rows are runs of its bytes: a value written over some, some left out, some
/// written twice.
fn spoilt(bytes: &[u8], how: &Spoil, binary: bool) -> Option<Vec<u8>> {
    let at = |per_mille: u16| bytes.len() * usize::from(per_mille) / 1000;
    if binary {
        let place = |k: usize| (k.wrapping_mul(7919)) % bytes.len().max(1);
        let mut out = bytes.to_vec();
        match how {
            Spoil::Cell(r, c, v) => {
                let from = place(r * 31 + c);
                let to = (from + v.len()).min(out.len());
                out.splice(from..to, v.bytes());
                return Some(out);
            }
            Spoil::Drop(r) => {
                let from = place(*r);
                out.drain(from..(from + 16).min(out.len()));
                return Some(out);
            }
            Spoil::Twice(r) => {
                let from = place(*r);
                let run = bytes[from..(from + 64).min(bytes.len())].to_vec();
                out.splice(from..from, run);
                return Some(out);
            }
            _ => {}
        }
    }
    // (as bytes: a dataset's file need not be UTF-8)
    let records = || -> Vec<csv::ByteRecord> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .byte_records()
            .map(|r| r.expect("the fixture reads"))
            .collect()
    };
    let write = |recs: Vec<csv::ByteRecord>| -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for r in recs {
            w.write_record(&r).expect("a record is written");
        }
        w.into_inner().expect("the buffer is flushed")
    };
    Some(match how {
        Spoil::Gone => return None,
        Spoil::Cut(p) => bytes[..at(*p)].to_vec(),
        Spoil::Bytes(p, b) => {
            let mut out = bytes[..at(*p)].to_vec();
            out.extend(b);
            out.extend(&bytes[at(*p)..]);
            out
        }
        Spoil::Cell(r, c, v) => {
            let mut recs = records();
            let r = r % recs.len();
            let rec = &recs[r];
            let c = c % rec.len().max(1);
            let mut cells: Vec<Vec<u8>> = rec.iter().map(<[u8]>::to_vec).collect();
            if let Some(cell) = cells.get_mut(c) {
                *cell = v.as_bytes().to_vec();
            }
            recs[r] = csv::ByteRecord::from(cells);
            write(recs)
        }
        Spoil::Drop(r) => {
            let mut recs = records();
            if recs.len() > 1 {
                let r = 1 + r % (recs.len() - 1);
                recs.remove(r);
            }
            write(recs)
        }
        Spoil::Twice(r) => {
            let mut recs = records();
            let r = r % recs.len();
            let again = recs[r].clone();
            recs.insert(r, again);
            write(recs)
        }
    })
}

/// A copy of export `x` with its file `f` spoilt by `how`; the spoilt file's lines, if it
/// is there.
fn spoilt_export(x: &Export, f: usize, how: &Spoil) -> (TempDir, Option<usize>) {
    let dir = TempDir::new().unwrap();
    let src = fixture(x.dir);
    let mut lines = None;
    for (i, name) in x.files.iter().enumerate() {
        let bytes = std::fs::read(src.join(name)).unwrap();
        let out = if i == f {
            spoilt(&bytes, how, x.binary)
        } else {
            Some(bytes)
        };
        if let Some(out) = out {
            if i == f {
                lines = Some(out.split(|&b| b == b'\n' || b == b'\r').count());
            }
            std::fs::write(dir.path().join(name), out).unwrap();
        }
    }
    (dir, lines)
}

/// Every KPI of a scorecard, for the company and every team and unit, over a month, a
/// quarter and a year at each end of what was imported and over the whole range, from a
/// book loaded as the bulk export loads it and from one with record ids (as the server's);
/// and each KPI's drill-down for the company over the last year: worked out without a
/// panic.
fn scorecards_hold(s: &mut TestStore) {
    let cat = Catalog::builtin().unwrap();
    let kpis = salesorg_engine::scorecard::default_kpis();
    for keep_ids in [false, true] {
        let (e, _) = salesorg_engine::scorecard::load(s, &cat, keep_ids, false, &Quiet)
            .expect("an imported store loads");
        let (Some(first), Some(last)) = (e.first_day(), e.last_day()) else {
            return;
        };
        let fiscal = e.book.settings.fiscal;
        let mut periods = Vec::new();
        for grain in [Grain::Month, Grain::Quarter, Grain::Year] {
            let all = periods_between(&fiscal, grain, first, last);
            periods.extend(all.first().copied());
            periods.extend(all.last().copied());
        }
        let year = periods.last().copied();
        periods.extend(
            last.next_day()
                .and_then(|end| Period::range(first, end).ok()),
        );
        let mut scopes = vec![Scope::Company];
        scopes.extend(e.all_team_and_unit_scopes(first, last));
        e.run(&scopes, &periods, &kpis, last)
            .expect("a scorecard over what was imported");
        let Some(year) = year else { continue };
        for k in &kpis {
            let ex = salesorg_engine::scorecard::explain(&e, k, Scope::Company, year, last);
            // (a book without ids holds activities as counts: a drill-down into them says so)
            assert!(e.book.keeps_activities() || !keep_ids);
            let counts = Walk::of(&[k]).activities && !e.book.keeps_activities();
            assert_eq!(ex.is_err(), counts, "explain {k}: {:?}", ex.err());
        }
    }
}

/// Imports export `x` with its file `f` spoilt by `how` (into a fresh store, or one that
/// holds the export it follows): imported whole, or refused with its problems at real
/// places and nothing written.
fn check(kind: BackendKind, x: &Export, f: usize, how: &Spoil) {
    let f = f % x.files.len();
    let (dir, lines) = spoilt_export(x, f, how);
    let mut s = fresh(kind);
    if let Some((source, base)) = x.after {
        import(
            &mut s,
            source,
            &fixture(base),
            &ImportOptions::default(),
            &Quiet,
        )
        .unwrap();
    }
    let before = s.fingerprint().unwrap();
    let what = format!("{kind}: {how:?} of {}/{}", x.dir, x.files[f]);
    let result = import(
        &mut s,
        x.source,
        dir.path(),
        &ImportOptions::default(),
        &Quiet,
    );
    whole_or_refused(&mut s, result, &before, &what, |p| {
        // (a workbook's problem names its sheet: `deals.xlsx[deals]`)
        let file = Path::new(p.file.split('[').next().unwrap_or(&p.file));
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // (a missing workbook is asked for as the CSV it stands for, the name the
        // export's documentation gives)
        let stem = |n: &str| n.split('.').next().unwrap_or("").to_owned();
        assert!(
            file.starts_with(dir.path())
                && x.files
                    .iter()
                    .any(|f| *f == name || (x.binary && stem(f) == stem(name))),
            "{what}: a problem names no file of the export: {p}"
        );
        // (line 0: the file as a whole, which only a missing file or a workbook that
        // cannot be read as one is)
        assert!(p.line >= 1 || !file.exists() || x.binary, "{what}: {p}");
        if name == x.files[f]
            && let Some(n) = lines
        {
            assert!(
                p.line as usize <= n.max(1),
                "{what}: past the file's end: {p}"
            );
        }
    });
}

/// The import's `result` into `s` (which held `before`): imported whole, and then its
/// scorecards worked out ([`scorecards_hold`]); or refused with problems, each with a
/// reason and a column from 1 where it has one, each checked by `at` for its place, and
/// nothing written.
fn whole_or_refused(
    s: &mut TestStore,
    result: Result<salesorg_engine::import::ImportSummary, EngineError>,
    before: &str,
    what: &str,
    at: impl Fn(&salesorg_engine::Problem),
) {
    match result {
        Ok(_) => scorecards_hold(s),
        Err(EngineError::Rejected(problems)) => {
            assert!(!problems.is_empty(), "{what}: refused without a problem");
            for p in &problems.0 {
                assert!(!p.reason.trim().is_empty(), "{what}: {p}");
                assert!(p.column.is_none_or(|c| c >= 1), "{what}: {p}");
                at(p);
            }
            assert_eq!(
                s.fingerprint().unwrap(),
                before,
                "{what}: a refused import changed the store"
            );
        }
        Err(other) => panic!("{what}: not a refusal: {other}"),
    }
}

/// Proptest's settings for a fuzz: `default` cases, or `SALESORG_FUZZ_CASES`; no file of
/// failures kept (a failure prints its smallest case).
fn fuzz_config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("SALESORG_FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(fuzz_config(96))]

    /// On SQLite, many spoilt exports (96; `SALESORG_FUZZ_CASES=N` for more).
    #[test]
    fn a_spoilt_export_is_imported_whole_or_refused_at_its_places(
        x in 0usize..EXPORTS.len(),
        f in 0usize..8,
        how in spoil(),
    ) {
        check(BackendKind::Sqlite, &EXPORTS[x], f, &how);
    }
}

/// One of each kind of spoiling, on both backends.
#[test]
fn each_kind_of_spoilt_export_on_both_backends() {
    let cases = [
        (
            0,
            4,
            Spoil::Cell(1, 5, "99999999999999999999999999999999".into()),
        ),
        (0, 5, Spoil::Cell(2, 0, "".into())),
        (0, 0, Spoil::Cell(0, 0, "\u{feff}Id".into())),
        (0, 3, Spoil::Drop(1)),
        (0, 6, Spoil::Bytes(300, vec![0xff, 0xfe, b'"'])),
        (0, 7, Spoil::Gone),
        (1, 4, Spoil::Twice(2)),
        (1, 2, Spoil::Cut(500)),
        (1, 1, Spoil::Cut(0)),
        (2, 1, Spoil::Cell(1, 2, "-1".into())),
        (2, 0, Spoil::Cell(1, 1, "9999-12-31".into())),
        (3, 4, Spoil::Cell(3, 7, "9999".into())),
        (3, 0, Spoil::Cut(700)),
    ];
    for kind in BOTH {
        for (x, f, how) in &cases {
            check(kind, &EXPORTS[*x], *f, how);
        }
    }
}

/// Values a mapping file's keys have been given by mistake: the wrong type, an empty text,
/// an expression that divides by zero or does not parse, a column past the file's, a
/// lookup of nothing, a format of no date.
const MAPPING_VALUES: [&str; 24] = [
    "\"\"",
    "\"x\"",
    "1e400",
    "-1",
    "0",
    "[]",
    "[\"\"]",
    "{}",
    "{ value = \"\" }",
    "{ value = \"9999-12-31\" }",
    "{ lookup = \"nope\" }",
    "{ sum = \"1 / 0\" }",
    "{ sum = \"unitPrice * * quantity\" }",
    "{ sum = \"(((((((((((1\" }",
    "\"#0\"",
    "\"#99999999999999999999\"",
    "\"%Q-%Y\"",
    "true",
    "\"𝔘nicode ✓\"",
    "\"won\"",
    "{ column = \"#1\", in = [] }",
    "\"|\"",
    "\"\\u0000\"",
    "'''a\nb'''",
];

/// A mapping of a dataset in `fixtures/` (Superstore's a workbook), spoilt a line at a
/// time.
const MAPPINGS: [(&str, &str); 3] = [
    ("northwind.toml", "northwind"),
    (
        "adventureworks.toml",
        "adventureworks-reseller-sales-targets",
    ),
    ("superstore.toml", "tableau-superstore"),
];

/// How a mapping is spoilt: the value of its `n`th key set to one of [`MAPPING_VALUES`],
/// or its `n`th line left out, or written twice; or the dataset's `n`th CSV file spoilt.
#[derive(Debug, Clone)]
enum MappingSpoil {
    Value(usize, usize),
    Drop(usize),
    Twice(usize),
    /// The mapping as it is, over the dataset with its `n`th CSV file spoilt.
    Data(usize, Spoil),
}

fn mapping_spoil() -> impl Strategy<Value = MappingSpoil> {
    prop_oneof![
        4 => (0usize..200, 0usize..MAPPING_VALUES.len()).prop_map(|(n, v)| MappingSpoil::Value(n, v)),
        1 => (0usize..200).prop_map(MappingSpoil::Drop),
        1 => (0usize..200).prop_map(MappingSpoil::Twice),
        3 => (0usize..20, spoil()).prop_map(|(n, how)| MappingSpoil::Data(n, how)),
    ]
}

/// The mapping `text` spoilt by `how`.
fn spoilt_mapping(text: &str, how: &MappingSpoil) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let keyed: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].trim_start().starts_with('#') && lines[i].contains(" = "))
        .collect();
    match *how {
        MappingSpoil::Value(n, v) => {
            let i = keyed[n % keyed.len()];
            let key = lines[i].split(" = ").next().unwrap_or("").to_owned();
            lines[i] = format!("{key} = {}", MAPPING_VALUES[v]);
        }
        MappingSpoil::Drop(n) => {
            lines.remove(n % lines.len());
        }
        MappingSpoil::Twice(n) => {
            let i = n % lines.len();
            let again = lines[i].clone();
            lines.insert(i, again);
        }
        MappingSpoil::Data(..) => {}
    }
    lines.join("\n") + "\n"
}

/// Imports dataset `m` of [`MAPPINGS`] through its mapping spoilt by `how` into a fresh
/// store: imported whole (and its scorecards worked out), or refused with every problem
/// in the mapping or a file of the dataset, at a line of it, and nothing written.
fn check_mapping(kind: BackendKind, m: usize, how: &MappingSpoil) {
    let (name, data) = MAPPINGS[m];
    let text = std::fs::read_to_string(fixture("../mappings").join(name)).unwrap();
    let dir = TempDir::new().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, spoilt_mapping(&text, how)).unwrap();
    let mut s = fresh(kind);
    let before = s.fingerprint().unwrap();
    let opts = ImportOptions {
        mapping: Some(path.clone()),
        ..Default::default()
    };
    let what = format!("{kind}: {how:?} of {name}");
    // the dataset, or a copy of it with one of its CSV files spoilt
    let mut from = fixture(data);
    if let MappingSpoil::Data(n, spoil) = how {
        let copy = dir.path().join("data");
        std::fs::create_dir(&copy).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&from)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        // (an .xls byte by byte: its cells' places, its compound file's chains and sizes)
        let xls = |p: &Path| p.extension().is_some_and(|x| x == "xls");
        let data: Vec<_> = files
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "csv") || xls(p))
            .collect();
        let spoilt_one = (!data.is_empty()).then(|| data[n % data.len()]);
        for p in &files {
            let bytes = std::fs::read(p).unwrap();
            let out = if Some(p) == spoilt_one {
                spoilt(&bytes, spoil, xls(p))
            } else {
                Some(bytes)
            };
            if let Some(out) = out {
                std::fs::write(copy.join(p.file_name().unwrap()), out).unwrap();
            }
        }
        from = copy;
    }
    let result = import(&mut s, Source::Csv, &from, &opts, &Quiet);
    whole_or_refused(&mut s, result, &before, &what, |p| {
        // (a workbook's problem names its sheet: `Sample - Superstore.xls[Orders]`)
        let file = Path::new(p.file.split('[').next().unwrap_or(&p.file));
        assert!(
            file == path || file.starts_with(&from),
            "{what}: a problem names neither the mapping nor a file of the data: {p}"
        );
        if file == path {
            assert!(p.line >= 1, "{what}: a mapping's problem at no line: {p}");
        }
    });
}

proptest! {
    #![proptest_config(fuzz_config(48))]

    /// On SQLite, mappings spoilt a line at a time, or their datasets a file at a time
    /// (48; `SALESORG_FUZZ_CASES=N` for more).
    #[test]
    fn a_spoilt_mapping_is_read_whole_or_refused_at_its_places(
        m in 0usize..MAPPINGS.len(),
        how in mapping_spoil(),
    ) {
        check_mapping(BackendKind::Sqlite, m, &how);
    }
}
