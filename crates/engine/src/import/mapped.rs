//! Any CRM's or ERP's CSV, or a spreadsheet's sheet, through a mapping file (TOML): which
//! file holds which records, column → field, constants, value maps, delimiter, encoding (UTF-16 included), header or
//! none, null literals, unit multipliers, filters, line-to-order aggregation (`group_by` with
//! `sum`), lookups into other files (with `sum` over matching rows), exact arithmetic
//! expressions (`unitPrice * quantity * (1 - discount)`), and wide-to-long for tables such
//! as monthly targets in columns M01–M12. The format is documented in docs/importers/csv.md;
//! `mappings/adventureworks.toml`, `mappings/northwind.toml`, `mappings/superstore.toml` and
//! `mappings/olist.toml` are worked examples.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use salesorg_core::catalog::Catalog;
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money, Rate};
use salesorg_core::period::Period;
use salesorg_core::records::*;

use crate::csvread::{CsvFile, CsvOptions, Encoding, Row, RowItem};
use crate::import::{ImportOptions, Loader, Origin};
use crate::problem::Problem;
use crate::{EngineError, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub file: Vec<FileMap>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Paths {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub column: String,
    #[serde(rename = "in")]
    pub values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wide {
    /// The columns that each hold one month's value (in month order, first = January).
    pub columns: Vec<String>,
    /// The column holding the calendar year.
    pub year: String,
}

/// What each row (or group of rows) of a mapped file becomes: parsed with the mapping, so
/// that a kind it does not know is refused at its line and column (one had been noticed
/// only at a data row, and a file without any imported nothing and said so quietly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Person,
    Unit,
    Account,
    Opportunity,
    Quota,
    Lead,
    Activity,
    /// A row of an opportunity's stage history.
    #[serde(rename = "stage_change")]
    StageChange,
    Spend,
    Survey,
    /// An exchange rate, `1 from = rate to`, from its date.
    Rate,
}

impl RecordKind {
    /// The fields a record of this kind takes (docs/importers/csv.md), so that a mapping
    /// naming another (a misspelt `close` for `close_date`) is refused where it names it
    /// rather than imported without it.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::Person => &[
                "id", "name", "email", "title", "role", "manager", "unit", "hired", "left",
            ],
            RecordKind::Unit => &["id", "name", "kind", "parent"],
            RecordKind::Account => &[
                "id",
                "name",
                "industry",
                "employees",
                "region",
                "owner",
                "parent",
                "customer_since",
                "churned_on",
            ],
            RecordKind::Opportunity => &[
                "id",
                "owner",
                "name",
                "account",
                "amount",
                "currency",
                "stage",
                "status",
                "probability",
                "forecast_category",
                "created",
                "close_date",
                "loss_reason",
                "next_step",
                "source",
                "kind",
            ],
            RecordKind::Quota => &[
                "target",
                "target_kind",
                "metric",
                "amount",
                "month",
                "period_start",
                "period_end",
            ],
            RecordKind::Lead => &[
                "id",
                "owner",
                "created",
                "source",
                "status",
                "converted_at",
                "converted_opportunity",
                "converted_account",
            ],
            RecordKind::Activity => &[
                "id",
                "kind",
                "at",
                "owner",
                "lead",
                "opportunity",
                "account",
                "subject",
            ],
            RecordKind::StageChange => &[
                "id",
                "opportunity",
                "at",
                "stage",
                "amount",
                "close_date",
                "probability",
                "forecast_category",
            ],
            RecordKind::Spend => &["date", "scope", "unit", "person", "category", "amount"],
            RecordKind::Survey => &["id", "account", "date", "score", "scale_min", "scale_max"],
            RecordKind::Rate => &["date", "from", "to", "rate"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            RecordKind::Person => "person",
            RecordKind::Unit => "unit",
            RecordKind::Account => "account",
            RecordKind::Opportunity => "opportunity",
            RecordKind::Quota => "quota",
            RecordKind::Lead => "lead",
            RecordKind::Activity => "activity",
            RecordKind::StageChange => "stage_change",
            RecordKind::Spend => "spend",
            RecordKind::Survey => "survey",
            RecordKind::Rate => "rate",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMap {
    /// A name other files' lookups refer to.
    #[serde(default)]
    pub name: Option<String>,
    pub path: Paths,
    /// person | unit | account | opportunity | quota | lead | activity | stage_change |
    /// spend | survey; none for a lookup-only file.
    #[serde(default)]
    pub record: Option<RecordKind>,
    /// For a spreadsheet (`.xlsx`, `.xls`, `.ods`, …): the sheet to read (default: the first).
    #[serde(default)]
    pub sheet: Option<String>,
    #[serde(default)]
    pub delimiter: Option<String>,
    #[serde(default)]
    pub header: Option<bool>,
    /// The row the file starts on (its header, or its first record with `header = false`):
    /// a title or notes above it are skipped.
    #[serde(default)]
    pub first_row: Option<u64>,
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub null: Vec<String>,
    #[serde(default, rename = "where")]
    pub filters: Vec<Filter>,
    #[serde(default)]
    pub group_by: Option<String>,
    /// For people: what a manager id that is not imported means: "error" (default) or "root".
    #[serde(default)]
    pub unknown_manager: Option<String>,
    /// Accept rows with more or fewer fields than the header (say why in a comment).
    #[serde(default)]
    pub allow_ragged: bool,
    /// Multiplies every amount (e.g. "1000" for a file in thousands).
    #[serde(default)]
    pub multiplier: Option<String>,
    /// How a date written with slashes or dots orders its parts: "mdy" (default,
    /// `03/31/2024`) or "dmy" (`31/03/2024`, `31.03.2024`).
    #[serde(default)]
    pub date_order: Option<String>,
    /// The decimal mark of the file's numbers: "." (default, `1,234.56`) or "," (`1.234,56`,
    /// as European exports write them).
    #[serde(default)]
    pub decimal: Option<String>,
    #[serde(default)]
    pub wide: Option<Wide>,
    /// Field → source; the keys keep their place in the mapping file for its errors.
    #[serde(default)]
    pub columns: BTreeMap<Spanned<String>, Field>,
    /// Per field, source value → salesorg value.
    #[serde(default)]
    pub values: BTreeMap<Spanned<String>, BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Field {
    /// A column by header name, or `#N` for the N-th column (1-based).
    Column(String),
    /// Several columns joined with a space (first and last name).
    Join(Vec<String>),
    Spec(Spec),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// A constant.
    #[serde(default)]
    pub value: Option<String>,
    /// An exact expression over this row's columns.
    #[serde(default)]
    pub expr: Option<String>,
    /// With `group_by`: the sum of this expression over the group's rows.
    #[serde(default)]
    pub sum: Option<String>,
    /// The name of another file to look the value up in.
    #[serde(default)]
    pub lookup: Option<String>,
    /// The lookup file's key column.
    #[serde(default)]
    pub key: Option<String>,
    /// The lookup file's value column (or use `sum` to add up every matching row).
    #[serde(default, rename = "value_column")]
    pub value_column: Option<String>,
    /// This file's column that holds the key.
    #[serde(default)]
    pub from: Option<String>,
    /// With a lookup: the value when no row has the key, or the row's value is empty,
    /// instead of an error; `""` leaves the field empty (an MQL that never became a deal).
    #[serde(default)]
    pub default: Option<String>,
}

// ------------------------------------------------------------------ exact arithmetic

/// An exact decimal: mantissa and number of decimals.
#[derive(Debug, Clone, Copy)]
struct Dec(i128, u32);

impl Dec {
    fn parse(s: &str) -> Option<Dec> {
        let m = Money::parse(s).ok()?;
        Some(Dec(m.units() as i128, 4))
    }
    fn align(a: Dec, b: Dec) -> (i128, i128, u32) {
        let s = a.1.max(b.1);
        (a.0 * 10i128.pow(s - a.1), b.0 * 10i128.pow(s - b.1), s)
    }
    fn add(a: Dec, b: Dec) -> Dec {
        let (x, y, s) = Dec::align(a, b);
        Dec(x + y, s)
    }
    fn sub(a: Dec, b: Dec) -> Dec {
        let (x, y, s) = Dec::align(a, b);
        Dec(x - y, s)
    }
    fn mul(a: Dec, b: Dec) -> Dec {
        Dec(a.0 * b.0, a.1 + b.1).norm()
    }
    fn norm(mut self) -> Dec {
        while self.1 > 4 && self.0 % 10 == 0 {
            self.0 /= 10;
            self.1 -= 1;
        }
        self
    }
    fn to_money(self) -> std::result::Result<Money, String> {
        let d = self.norm();
        if d.1 > 4 {
            return Err("the result has more than 4 decimals".into());
        }
        let v = d.0 * 10i128.pow(4 - d.1);
        i64::try_from(v)
            .map(Money::from_units)
            .map_err(|_| "the result is too large".into())
    }
}

/// Evaluates `+ - * ( )` over numbers and column references.
fn eval(expr: &str, get: &dyn Fn(&str) -> Option<String>) -> std::result::Result<Dec, String> {
    let toks = tokenize(expr);
    let mut pos = 0;
    let v = sum_expr(&toks, &mut pos, get)?;
    if pos != toks.len() {
        return Err(format!("unexpected {:?} in expression {expr:?}", toks[pos]));
    }
    Ok(v)
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if "+-*()".contains(c) {
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_owned());
            }
            cur.clear();
            out.push(c.to_string());
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

fn sum_expr(
    t: &[String],
    p: &mut usize,
    get: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<Dec, String> {
    let mut v = prod_expr(t, p, get)?;
    while *p < t.len() && (t[*p] == "+" || t[*p] == "-") {
        let op = t[*p].clone();
        *p += 1;
        let r = prod_expr(t, p, get)?;
        v = if op == "+" {
            Dec::add(v, r)
        } else {
            Dec::sub(v, r)
        };
    }
    Ok(v)
}

fn prod_expr(
    t: &[String],
    p: &mut usize,
    get: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<Dec, String> {
    let mut v = atom(t, p, get)?;
    while *p < t.len() && t[*p] == "*" {
        *p += 1;
        v = Dec::mul(v, atom(t, p, get)?);
    }
    Ok(v)
}

fn atom(
    t: &[String],
    p: &mut usize,
    get: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<Dec, String> {
    let tok = t.get(*p).ok_or("the expression ends too early")?.clone();
    *p += 1;
    if tok == "(" {
        let v = sum_expr(t, p, get)?;
        if t.get(*p).map(String::as_str) != Some(")") {
            return Err("missing ')'".into());
        }
        *p += 1;
        return Ok(v);
    }
    if tok == "-" {
        let v = atom(t, p, get)?;
        return Ok(Dec(-v.0, v.1));
    }
    if let Some(d) = Dec::parse(&tok) {
        return Ok(d);
    }
    let raw = get(&tok).ok_or_else(|| format!("{tok} is empty"))?;
    Dec::parse(&raw).ok_or_else(|| format!("{tok}: {raw:?} is not a number"))
}

// ------------------------------------------------------------------ files

/// Opens a mapped file: a sheet of a spreadsheet, or a CSV file.
fn open_file(p: &Path, m: &FileMap, o: &CsvOptions) -> std::result::Result<CsvFile, Problem> {
    let name = p.display().to_string();
    let named_book = crate::csvread::is_spreadsheet(p);
    // (text saved under a workbook's name is read as text, with its delimiter and encoding)
    let held = named_book.then(|| crate::csvread::holds(p));
    let book = held == Some(crate::csvread::Holds::Workbook);
    if book && (m.delimiter.is_some() || m.encoding.is_some()) {
        return Err(Problem::file(
            &name,
            "a spreadsheet has no delimiter or encoding to set; `sheet` names the sheet",
        ));
    }
    if let (false, Some(sh)) = (named_book, &m.sheet) {
        return Err(Problem::file(
            &name,
            format!(
                "the mapping names sheet {sh:?}, but this is not a spreadsheet (.xlsx, .xlsm, .xlsb, .xls or .ods)"
            ),
        ));
    }
    // (a .tsv file is tab-separated unless the mapping says otherwise)
    let tsv = p.extension().is_some_and(|x| x.eq_ignore_ascii_case("tsv"));
    if tsv && m.delimiter.is_none() {
        let o = CsvOptions {
            delimiter: b'\t',
            ..o.clone()
        };
        return CsvFile::open(p, &o);
    }
    CsvFile::open_held(p, held, m.sheet.as_deref(), o)
}

/// The line and column (from 1; the column in bytes) of byte `offset` of `text`.
fn place_in(text: &str, offset: usize) -> (u64, usize) {
    let mut at = offset.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |n| before.len() - n - 1)
        + 1;
    (line, column)
}

/// Where the `k`th `[[file]]` of a mapping's `text` gives `key` (its line and column), or
/// where that `[[file]]` starts if it does not (or `key` is `None`); line 1 if the text
/// has fewer.
fn entry_place(text: &str, k: usize, key: Option<&str>) -> (u64, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| l.trim_start().starts_with("[[file]]");
    let Some(start) = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| header(l))
        .nth(k)
        .map(|(i, _)| i)
    else {
        return (1, 1);
    };
    let gives = |l: &str, key: &str| {
        let t = l.trim_start();
        t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
            .then(|| l.len() - t.len() + 1)
    };
    let found = key.and_then(|key| {
        lines[start + 1..]
            .iter()
            .enumerate()
            .take_while(|(_, l)| !header(l))
            .find_map(|(i, l)| gives(l, key).map(|c| (start + 1 + i, c)))
    });
    let (i, c) = found.unwrap_or((start, 1));
    (i as u64 + 1, c)
}

/// The fields a mapping gives (or maps values for) that its file's kind of record does not
/// take, each with its line and column in the mapping file and the reason.
fn unknown_fields(mapping: &Mapping, text: &str) -> Vec<(u64, usize, String)> {
    let place = |offset: usize| place_in(text, offset);
    let mut out = Vec::new();
    for m in &mapping.file {
        let Some(kind) = m.record else {
            for k in m.columns.keys().chain(m.values.keys()) {
                let (line, column) = place(k.span().start);
                out.push((
                    line,
                    column,
                    format!(
                        "{:?}: a file without `record` is read only by lookups, so its fields are never used",
                        k.get_ref()
                    ),
                ));
            }
            continue;
        };
        let fields = kind.fields();
        let wide = |k: &str| m.wide.is_some() && matches!(k, "amount" | "month");
        let mapped = m.columns.keys().map(|k| (k, true));
        for (k, column) in mapped.chain(m.values.keys().map(|k| (k, false))) {
            let name = k.get_ref().as_str();
            let why = if !fields.contains(&name) {
                format!(
                    "{name:?} is not a field of {} {} record; its fields are {}",
                    if kind.name().starts_with(['a', 'o']) {
                        "an"
                    } else {
                        "a"
                    },
                    kind.name(),
                    fields.join(", ")
                )
            } else if column && wide(name) {
                format!("{name:?} comes from `[file.wide]`; it cannot also be mapped")
            } else {
                continue;
            };
            let (line, column) = place(k.span().start);
            out.push((line, column, why));
        }
    }
    out
}

fn col_index(f: &CsvFile, name: &str) -> Option<usize> {
    if let Some(n) = name.strip_prefix('#') {
        return n.parse::<usize>().ok().and_then(|i| i.checked_sub(1));
    }
    f.col(name)
}

/// Why column `c`, which the mapping names, is not in `f` (read with `delimiter`): with
/// the file's columns; or, where a text file's header reads as one column holding another
/// delimiter (a European Excel's `;`, a tab), the delimiter to set.
fn missing_column(f: &CsvFile, c: &str, delimiter: u8) -> String {
    let why = format!("the mapping names column {c:?}, which the file does not have");
    if let [only] = f.headers.as_slice()
        && !f.is_sheet()
        && let Some(d) = [';', '\t', '|', ',']
            .into_iter()
            .find(|&d| d as u8 != delimiter && only.contains(d))
    {
        let d = if d == '\t' {
            "tab".to_owned()
        } else {
            d.to_string()
        };
        return format!(
            "{why}: its header reads as one column, {only:?}; its fields look separated by {d:?}: set delimiter = {d:?}"
        );
    }
    if f.headers.is_empty() || c.starts_with('#') {
        return why;
    }
    const SHOWN: usize = 40;
    let cols: Vec<String> = f
        .headers
        .iter()
        .take(SHOWN)
        .map(|h| format!("{h:?}"))
        .collect();
    let more = f.headers.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{why}; its columns are {}{more}", cols.join(", "))
}

/// The fields whose values are numbers, written with the file's decimal mark.
const NUMERIC_FIELDS: [&str; 6] = [
    "amount",
    "probability",
    "rate",
    "score",
    "scale_min",
    "scale_max",
];

/// How an entry's numbers and dates are written: `decimal` and `date_order`.
struct Reading {
    /// Numbers with a decimal comma (`decimal = ","`).
    comma: bool,
    /// Dates with slashes or dots day first (`date_order = "dmy"`).
    day_first: bool,
}

/// An entry's [`Reading`], or the key whose value is wrong and why (as [`options`]).
fn reading(m: &FileMap) -> std::result::Result<Reading, (&'static str, String)> {
    let comma = match m.decimal.as_deref().map(str::trim) {
        None | Some(".") => false,
        Some(",") => true,
        Some(x) => {
            return Err((
                "decimal",
                format!("decimal {x:?} is not \".\" (1,234.56) or \",\" (1.234,56)"),
            ));
        }
    };
    let day_first = match m.date_order.as_deref().map(str::trim) {
        None | Some("mdy") => false,
        Some("dmy") => true,
        Some(x) => {
            return Err((
                "date_order",
                format!("date_order {x:?} is not \"mdy\" (03/31/2024) or \"dmy\" (31/03/2024)"),
            ));
        }
    };
    Ok(Reading { comma, day_first })
}

/// A number as written with a decimal comma (`1.234,56`, `1 234,56`, `12,5`) in the form
/// the parsers read (`1,234.56`, `1234.56`, `12.5`), where `comma`; as it is otherwise.
fn point_decimal(s: String, comma: bool) -> String {
    if !comma {
        return s;
    }
    s.trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .map(|c| match c {
            '.' => ',',
            ',' => '.',
            c => c,
        })
        .collect()
}

/// A number as a spreadsheet's "Save as CSV" writes a formatted cell (`$1,234.56`,
/// `(1,234.56)` for a negative, `-€1,234.56`, `1 234,56 €` once its decimal mark is read,
/// and `12%` for a `percent` field) in the plain form the parsers read (`1,234.56`,
/// `-1,234.56`, `12`); anything else as it is, for the parser to judge.
fn plain_number(s: String, percent: bool) -> String {
    const SYMBOLS: [char; 7] = ['$', '€', '£', '¥', '₹', '₩', '₽'];
    let t = s.trim();
    let (paren, t) = match t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(x) => (true, x.trim()),
        None => (false, t),
    };
    let (minus, t) = match t.strip_prefix('-') {
        Some(x) => (true, x.trim_start()),
        None => (false, t),
    };
    let bare = t
        .trim_start_matches(SYMBOLS)
        .trim_start()
        .trim_end_matches(SYMBOLS)
        .trim_end();
    let bare = match bare.strip_suffix('%') {
        Some(x) if percent => x.trim_end(),
        _ => bare,
    };
    // (a sign after the symbol: `$-5`)
    let (minus_after, bare) = match bare.strip_prefix('-') {
        Some(x) if bare.len() < t.len() => (true, x),
        _ => (false, bare),
    };
    if bare.len() == t.len() && !paren {
        return s;
    }
    let negative = paren || minus || minus_after;
    format!("{}{bare}", if negative { "-" } else { "" })
}

/// A date as written (`31/03/2024`, `31.03.2024 14:05`) in the month-first order the
/// date parser reads (`03/31/2024`), where `day_first` (`date_order = "dmy"`) and it has
/// that shape; as it is otherwise.
fn month_first(s: &str, day_first: bool) -> std::borrow::Cow<'_, str> {
    let t = s.trim();
    let (date, rest) = t.split_once(' ').unwrap_or((t, ""));
    let parts: Vec<&str> = date.split(['/', '.']).collect();
    let shaped = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && (date.contains('.') || day_first);
    if !day_first || !shaped {
        return std::borrow::Cow::Borrowed(s);
    }
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!(" {rest}")
    };
    std::borrow::Cow::Owned(format!("{}/{}/{}{rest}", parts[1], parts[0], parts[2]))
}

/// A date's parse error `e` for `s`, with a hint where `s` reads as day first and the
/// mapping reads month first (`31/03/2024`: no month 31): set `date_order = "dmy"`.
fn with_order_hint(
    e: salesorg_core::CoreError,
    s: &str,
    day_first: bool,
) -> salesorg_core::CoreError {
    let first = s
        .trim()
        .split(['/', '.'])
        .next()
        .and_then(|p| p.parse::<u32>().ok());
    match (day_first, first) {
        (false, Some(13..=31)) if s.contains('/') || s.contains('.') => {
            salesorg_core::CoreError::Parse(format!(
                "{e} (its first part is a day: if the file writes dates day first, set date_order = \"dmy\")"
            ))
        }
        _ => e,
    }
}

/// The CSV options of a mapped file, or the key whose value is wrong and why.
fn options(m: &FileMap) -> std::result::Result<CsvOptions, (&'static str, String)> {
    let delimiter = match m.delimiter.as_deref() {
        None => b',',
        Some("\\t") | Some("tab") => b'\t',
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        Some(d) => {
            return Err((
                "delimiter",
                format!("delimiter {d:?} must be one character (or \"tab\")"),
            ));
        }
    };
    Ok(CsvOptions {
        delimiter,
        has_header: m.header.unwrap_or(true),
        encoding: m
            .encoding
            .as_deref()
            .map(Encoding::parse)
            .transpose()
            .map_err(|e| ("encoding", e))?
            .unwrap_or_default(),
        nulls: m.null.clone(),
        allow_ragged: m.allow_ragged,
        first_line: m.first_row.unwrap_or(0),
    })
}

/// The files an entry reads: at least one, and one for a lookup (which is read as one
/// table); the problem, at its `path`, otherwise.
fn paths(m: &FileMap, lookup: bool) -> std::result::Result<Vec<String>, String> {
    let v = match &m.path {
        Paths::One(p) => vec![p.clone()],
        Paths::Many(v) => v.clone(),
    };
    match v.len() {
        0 => Err("path: names no file".into()),
        1 => Ok(v),
        n if lookup => Err(format!(
            "path: a lookup reads one file, and this names {n}: {}",
            v.join(", ")
        )),
        _ => Ok(v),
    }
}

/// A file other files look values up in.
struct Lookup {
    file: CsvFile,
    /// Its numbers are written with a decimal comma (`decimal = ","`).
    comma: bool,
}

fn read_all(f: &CsvFile, l: &mut Loader<'_>) -> Result<Vec<(u64, Vec<Option<String>>)>> {
    let mut out = Vec::new();
    f.rows(&mut |item| {
        match item {
            RowItem::Good(r) => out.push((
                r.line,
                (0..r.raw().len())
                    .map(|i| r.get(i).map(|s| s.trim().to_owned()))
                    .collect(),
            )),
            RowItem::Bad(p, raw) => {
                l.row_ok(vec![p], raw);
            }
            RowItem::Fatal(p) => l.fatal(p),
        }
        Ok(())
    })?;
    Ok(out)
}

fn passes(f: &CsvFile, filters: &[Filter], row: &Row<'_>) -> bool {
    filters.iter().all(|flt| {
        let v = col_index(f, &flt.column)
            .and_then(|i| row.get(i))
            .map(str::trim)
            .unwrap_or("");
        flt.values.iter().any(|x| x == v)
    })
}

pub fn load(l: &mut Loader<'_>, path: &Path, opts: &ImportOptions) -> Result<()> {
    let Some(mapping_path) = &opts.mapping else {
        l.fatal(Problem::file(
            &path.display().to_string(),
            "the csv source needs --mapping FILE (see docs/importers/csv.md)",
        ));
        return Ok(());
    };
    let text = std::fs::read_to_string(mapping_path).map_err(|e| EngineError::Io {
        path: mapping_path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mapping: Mapping = match toml::from_str(&text) {
        Ok(m) => m,
        Err(e) => {
            // (at the place the TOML reader stopped, with its message alone: its own text
            // repeats the line with a caret under it)
            let (line, column) = e.span().map_or((1, 1), |sp| place_in(&text, sp.start));
            l.fatal(Problem::at(
                &mapping_path.display().to_string(),
                line,
                Some(column),
                format!("not a valid mapping: {}", e.message().trim_end()),
            ));
            return Ok(());
        }
    };
    let refused = unknown_fields(&mapping, &text);
    if !refused.is_empty() {
        for (line, column, why) in refused {
            l.fatal(Problem::at(
                &mapping_path.display().to_string(),
                line,
                Some(column),
                why,
            ));
        }
        return Ok(());
    }
    if !mapping
        .file
        .iter()
        .any(|m| m.record == Some(RecordKind::Account))
    {
        l.soften("account");
    }
    let base: PathBuf = if path.is_dir() {
        path.to_owned()
    } else {
        path.parent().map(Path::to_owned).unwrap_or_default()
    };
    let catalog = Catalog::builtin()?;
    let currency = l.settings().currency;
    let settings = l.settings().clone();

    // lookup files, by name
    let mut lookups: HashMap<String, Lookup> = HashMap::new();
    let shown = mapping_path.display().to_string();
    // a problem with the `k`th [[file]] of the mapping, at its `key` (or its header)
    let at_entry = |k: usize, key: Option<&str>, why: String| {
        let (line, column) = entry_place(&text, k, key);
        Problem::at(&shown, line, Some(column), why)
    };
    for (k, m) in mapping.file.iter().enumerate() {
        let Some(name) = &m.name else { continue };
        let o = match options(m) {
            Ok(o) => o,
            Err((key, e)) => {
                l.fatal(at_entry(k, Some(key), e));
                continue;
            }
        };
        let p = match paths(m, true) {
            Ok(v) => base.join(&v[0]),
            Err(e) => {
                l.fatal(at_entry(k, Some("path"), e));
                continue;
            }
        };
        let Reading { comma, .. } = match reading(m) {
            Ok(r) => r,
            Err((key, e)) => {
                l.fatal(at_entry(k, Some(key), e));
                continue;
            }
        };
        match open_file(&p, m, &o) {
            Ok(f) => {
                l.notes.extend(f.notes.iter().cloned());
                lookups.insert(name.clone(), Lookup { file: f, comma });
            }
            Err(e) => l.fatal(e),
        }
    }
    // index each lookup by every key column any field uses
    let mut wanted: Vec<(String, String)> = Vec::new();
    for m in &mapping.file {
        for f in m.columns.values() {
            if let Field::Spec(Spec {
                lookup: Some(n),
                key: Some(k),
                ..
            }) = f
            {
                wanted.push((n.clone(), k.clone()));
            }
        }
    }
    let mut indexed: Indexes = HashMap::new();
    for (n, k) in wanted {
        if indexed.contains_key(&(n.clone(), k.clone())) {
            continue;
        }
        let Some(lk) = lookups.get(&n) else {
            // (at the first field that looks it up)
            let why = format!("lookup {n:?} names no [[file]] with that name");
            let (line, column) = text
                .match_indices("lookup")
                .find(|(at, _)| {
                    let rest = text[at + "lookup".len()..].trim_start();
                    rest.strip_prefix('=')
                        .is_some_and(|r| r.trim_start().starts_with(&format!("{n:?}")))
                })
                .map_or((1, 1), |(at, _)| place_in(&text, at));
            l.fatal(Problem::at(&shown, line, Some(column), why));
            continue;
        };
        let Some(ki) = col_index(&lk.file, &k) else {
            l.fatal(Problem::file(
                &lk.file.name,
                format!("lookup key column {k:?} is not in the file"),
            ));
            continue;
        };
        let values = mapping.file.iter().flat_map(|m| m.columns.values());
        let value_columns = values.filter_map(|f| match f {
            Field::Spec(Spec {
                lookup: Some(ln),
                value_column: Some(vc),
                ..
            }) if *ln == n => Some(vc),
            _ => None,
        });
        let mut lacks: Vec<&String> = value_columns
            .filter(|vc| col_index(&lk.file, vc).is_none())
            .collect();
        lacks.sort();
        lacks.dedup();
        if !lacks.is_empty() {
            for vc in lacks {
                l.fatal(Problem::file(
                    &lk.file.name,
                    format!("lookup value column {vc:?} is not in the file"),
                ));
            }
            continue;
        }
        let mut map: KeyedRows = HashMap::new();
        for (_, row) in read_all(&lk.file, l)? {
            if let Some(Some(kv)) = row.get(ki) {
                map.entry(kv.clone()).or_default().push(row);
            }
        }
        indexed.insert((n, k), map);
    }

    for (k, m) in mapping.file.iter().enumerate() {
        let Some(record) = m.record else {
            continue;
        };
        let o = match options(m) {
            Ok(o) => o,
            Err((key, e)) => {
                l.fatal(at_entry(k, Some(key), e));
                continue;
            }
        };
        let multiplier = match m.multiplier.as_deref().map(Money::parse).transpose() {
            Ok(x) => x,
            Err(e) => {
                l.fatal(at_entry(k, Some("multiplier"), format!("multiplier: {e}")));
                continue;
            }
        };
        let Reading { comma, day_first } = match reading(m) {
            Ok(r) => r,
            Err((key, e)) => {
                l.fatal(at_entry(k, Some(key), e));
                continue;
            }
        };
        let files = match paths(m, false) {
            Ok(v) => v,
            Err(e) => {
                l.fatal(at_entry(k, Some("path"), e));
                continue;
            }
        };
        for rel in files {
            let p = base.join(&rel);
            let f = match open_file(&p, m, &o) {
                Ok(f) => f,
                Err(e) => {
                    l.fatal(e);
                    continue;
                }
            };
            l.notes.extend(f.notes.iter().cloned());
            // every named column must exist
            let mut missing = Vec::new();
            let mut check = |c: &str| {
                if col_index(&f, c).is_none()
                    || (o.has_header && !c.starts_with('#') && f.col(c).is_none())
                {
                    missing.push(c.to_owned());
                }
            };
            for fld in m.columns.values() {
                match fld {
                    Field::Column(c) => check(c),
                    Field::Join(cs) => cs.iter().for_each(|c| check(c)),
                    Field::Spec(s) => {
                        if let Some(c) = &s.from {
                            check(c)
                        }
                    }
                }
            }
            for flt in &m.filters {
                check(&flt.column);
            }
            if let Some(w) = &m.wide {
                check(&w.year);
                w.columns.iter().for_each(|c| check(c));
            }
            if let Some(g) = &m.group_by {
                check(g);
            }
            if !missing.is_empty() {
                missing.sort();
                missing.dedup();
                for c in missing {
                    l.fatal(Problem::at(
                        &f.name,
                        1,
                        None,
                        missing_column(&f, &c, o.delimiter),
                    ));
                }
                continue;
            }
            let ctx = Ctx {
                m,
                f: &f,
                indexed: &indexed,
                lookups: &lookups,
                multiplier,
                day_first,
                comma,
                currency,
                settings: &settings,
                catalog: &catalog,
                record,
                known_ids: Default::default(),
            };
            ctx.run(l)?;
            if f.ragged_rows.get() > 0 {
                l.notes.push(format!(
                    "{}: {} rows have a different number of fields than the header and were read as they are (allow_ragged)",
                    f.name,
                    f.ragged_rows.get()
                ));
            }
        }
    }
    Ok(())
}

struct Ctx<'a> {
    m: &'a FileMap,
    f: &'a CsvFile,
    indexed: &'a Indexes,
    lookups: &'a HashMap<String, Lookup>,
    multiplier: Option<Money>,
    /// Dates written with slashes or dots are day first (`date_order = "dmy"`).
    day_first: bool,
    /// Numbers are written with a decimal comma (`decimal = ","`).
    comma: bool,
    currency: Currency,
    settings: &'a salesorg_core::settings::Settings,
    catalog: &'a Catalog,
    record: RecordKind,
    known_ids: std::cell::OnceCell<std::collections::HashSet<String>>,
}

/// A row's fields once the mapping is applied: value and the column it came from.
type Values = BTreeMap<String, (Option<String>, Option<usize>)>;
/// Rows of a lookup file by key value.
type KeyedRows = HashMap<String, Vec<Vec<Option<String>>>>;
/// Every lookup index, by (file name, key column).
type Indexes = HashMap<(String, String), KeyedRows>;
/// A record waiting to be emitted: values, line, raw fields, problems so far.
type Pending = (Values, u64, Vec<String>, Vec<(Option<usize>, String)>);

impl Ctx<'_> {
    fn value_of(
        &self,
        row: &Row<'_>,
        field: &str,
        spec: &Field,
        problems: &mut Vec<(Option<usize>, String)>,
    ) -> (Option<String>, Option<usize>) {
        let get = |c: &str| {
            col_index(self.f, c)
                .and_then(|i| row.get(i))
                .map(|s| s.trim().to_owned())
        };
        let numeric = NUMERIC_FIELDS.contains(&field);
        // (a column's number in the point form the parsers read, for a number field or an
        // expression)
        let number = |c: &str| get(c).map(|v| plain_number(point_decimal(v, self.comma), false));
        let (v, col) = match spec {
            Field::Column(c) if numeric => (
                get(c).map(|v| plain_number(point_decimal(v, self.comma), field == "probability")),
                col_index(self.f, c),
            ),
            Field::Column(c) => (get(c), col_index(self.f, c)),
            Field::Join(cs) => {
                let parts: Vec<String> = cs.iter().filter_map(|c| get(c)).collect();
                (
                    (!parts.is_empty()).then(|| parts.join(" ")),
                    cs.first().and_then(|c| col_index(self.f, c)),
                )
            }
            Field::Spec(s) => {
                if let Some(v) = &s.value {
                    (Some(v.clone()), None)
                } else if let (Some(name), Some(key), Some(from)) = (&s.lookup, &s.key, &s.from) {
                    let col = col_index(self.f, from);
                    let k = get(from);
                    let rows = k.as_ref().and_then(|k| {
                        self.indexed
                            .get(&(name.clone(), key.clone()))
                            .and_then(|m| m.get(k))
                    });
                    let lf = self.lookups.get(name).map(|x| &x.file);
                    match (rows, lf) {
                        (None, _) | (_, None) => {
                            if let Some(d) = &s.default {
                                ((!d.is_empty()).then(|| d.clone()), col)
                            } else {
                                if let Some(k) = k {
                                    problems.push((
                                        col,
                                        format!("no row of lookup {name:?} has {key} {k:?}"),
                                    ));
                                }
                                (None, col)
                            }
                        }
                        (Some(rows), Some(lf)) => {
                            if let Some(e) = &s.sum {
                                let mut total = Dec(0, 0);
                                let comma = self.lookups.get(name).is_some_and(|x| x.comma);
                                for r in rows {
                                    let g = |c: &str| {
                                        col_index(lf, c)
                                            .and_then(|i| r.get(i).cloned().flatten())
                                            .map(|v| point_decimal(v, comma))
                                    };
                                    match eval(e, &g) {
                                        Ok(v) => total = Dec::add(total, v),
                                        Err(msg) => problems
                                            .push((col, format!("{field}: {msg} (in {name})"))),
                                    }
                                }
                                match total.to_money() {
                                    Ok(mny) => (Some(mny.to_string()), col),
                                    Err(msg) => {
                                        problems.push((col, format!("{field}: {msg}")));
                                        (None, col)
                                    }
                                }
                            } else {
                                let vc = s.value_column.as_deref().and_then(|c| col_index(lf, c));
                                let comma =
                                    numeric && self.lookups.get(name).is_some_and(|x| x.comma);
                                let found = vc
                                    .and_then(|i| rows[0].get(i).cloned().flatten())
                                    .map(|v| point_decimal(v, comma));
                                let default = s.default.as_ref().filter(|d| !d.is_empty());
                                (found.or_else(|| default.cloned()), col)
                            }
                        }
                    }
                } else if let Some(e) = s.expr.as_ref().or(s.sum.as_ref()) {
                    match eval(e, &number).and_then(Dec::to_money) {
                        Ok(mny) => (Some(mny.to_string()), None),
                        Err(msg) => {
                            problems.push((None, format!("{field}: {msg}")));
                            (None, None)
                        }
                    }
                } else {
                    problems.push((None, format!("{field}: the mapping gives neither a column, a value, an expression nor a lookup")));
                    (None, None)
                }
            }
        };
        let v = match (v, self.m.values.get(field)) {
            (Some(x), Some(map)) => Some(map.get(&x).cloned().unwrap_or(x)),
            (v, _) => v,
        };
        (v, col)
    }

    fn run(&self, l: &mut Loader<'_>) -> Result<()> {
        let f = self.f;
        // group_by: fold rows into one record per key, summing `sum` fields
        let sum_fields: Vec<&String> = self
            .m
            .columns
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s,
                    Field::Spec(Spec {
                        sum: Some(_),
                        lookup: None,
                        ..
                    })
                )
            })
            .map(|(k, _)| k.get_ref())
            .collect();
        let mut groups: BTreeMap<String, Pending> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let group_col = self.m.group_by.as_deref().and_then(|g| col_index(f, g));
        let mut pending: Vec<Pending> = Vec::new();
        f.rows(&mut |item| {
            match item {
                RowItem::Good(row) => {
                    if !passes(f, &self.m.filters, row) {
                        return Ok(());
                    }
                    let mut problems = Vec::new();
                    let mut vals: Values = BTreeMap::new();
                    for (field, spec) in &self.m.columns {
                        vals.insert(
                            field.get_ref().clone(),
                            self.value_of(row, field.get_ref(), spec, &mut problems),
                        );
                    }
                    if let Some(w) = &self.m.wide {
                        // one record per month column
                        let year = col_index(f, &w.year)
                            .and_then(|i| row.get(i))
                            .map(|s| s.trim().to_owned());
                        for (k, c) in w.columns.iter().enumerate() {
                            let ci = col_index(f, c);
                            let Some(v) = ci.and_then(|i| row.get(i)).map(|s| s.trim().to_owned())
                            else {
                                continue;
                            };
                            let mut vv = vals.clone();
                            vv.insert("amount".into(), (Some(v), ci));
                            vv.insert(
                                "month".into(),
                                (
                                    Some(format!(
                                        "{}-{:02}",
                                        year.clone().unwrap_or_default(),
                                        k + 1
                                    )),
                                    ci,
                                ),
                            );
                            pending.push((vv, row.line, row.raw().to_vec(), problems.clone()));
                        }
                        return Ok(());
                    }
                    match group_col
                        .and_then(|g| row.get(g))
                        .map(|s| s.trim().to_owned())
                    {
                        Some(key) => match groups.get_mut(&key) {
                            Some((acc, _, _, ps)) => {
                                ps.extend(problems);
                                for sf in &sum_fields {
                                    let add = vals
                                        .get(*sf)
                                        .and_then(|v| v.0.as_deref())
                                        .and_then(Dec::parse);
                                    let cur = acc
                                        .get(*sf)
                                        .and_then(|v| v.0.as_deref())
                                        .and_then(Dec::parse);
                                    if let (Some(a), Some(b)) = (cur, add) {
                                        let t =
                                            Dec::add(a, b).to_money().map(|m| m.to_string()).ok();
                                        let col = acc.get(*sf).and_then(|v| v.1);
                                        acc.insert((*sf).clone(), (t, col));
                                    }
                                }
                            }
                            None => {
                                order.push(key.clone());
                                groups.insert(key, (vals, row.line, row.raw().to_vec(), problems));
                            }
                        },
                        None => pending.push((vals, row.line, row.raw().to_vec(), problems)),
                    }
                }
                RowItem::Bad(p, raw) => {
                    l.row_ok(vec![p], raw);
                }
                RowItem::Fatal(p) => l.fatal(p),
            }
            Ok(())
        })?;
        for k in order {
            if let Some(g) = groups.remove(&k) {
                pending.push(g);
            }
        }
        for (vals, line, raw, problems) in pending {
            self.emit(l, vals, line, &raw, problems)?;
        }
        Ok(())
    }

    fn emit(
        &self,
        l: &mut Loader<'_>,
        v: Values,
        line: u64,
        raw: &[String],
        pre: Vec<(Option<usize>, String)>,
    ) -> Result<()> {
        let file = &self.f.name;
        let problems: std::cell::RefCell<Vec<Problem>> = std::cell::RefCell::new(
            pre.into_iter()
                .map(|(c, msg)| Problem::at(file, line, c.map(|c| c + 1), msg))
                .collect(),
        );
        let origin = |c: Option<usize>| Origin {
            file: file.clone(),
            line,
            column: c.map(|c| c + 1),
        };
        let bad = |field: &str, c: Option<usize>, msg: String| {
            problems.borrow_mut().push(Problem::at(
                file,
                line,
                c.map(|c| c + 1),
                format!("{field}: {msg}"),
            ))
        };
        let txt = |k: &str| v.get(k).and_then(|x| x.0.clone());
        let col = |k: &str| v.get(k).and_then(|x| x.1);
        macro_rules! parse {
            ($k:expr, $f:expr) => {
                match txt($k) {
                    None => None,
                    Some(s) => match $f(&s) {
                        Ok(x) => Some(x),
                        Err(e) => {
                            bad($k, col($k), e.to_string());
                            None
                        }
                    },
                }
            };
        }
        macro_rules! required {
            ($k:expr, $x:expr) => {
                match $x {
                    Some(x) => Some(x),
                    None => {
                        if txt($k).is_none() {
                            bad($k, col($k), "is required but empty".into());
                        }
                        None
                    }
                }
            };
        }
        // (a number the parser refuses that holds a comma and is read with a decimal point:
        // a European export's, most likely)
        let comma_hint = |e: salesorg_core::CoreError, s: &str| {
            if self.comma || !s.contains(',') {
                return e;
            }
            salesorg_core::CoreError::Parse(format!(
                "{e} (if the file writes numbers with a decimal comma, set decimal = \",\")"
            ))
        };
        let percent = |s: &str| Probability::parse_percent(s).map_err(|e| comma_hint(e, s));
        let money = |s: &str| -> std::result::Result<Money, salesorg_core::CoreError> {
            let m = Money::parse(s).map_err(|e| comma_hint(e, s))?;
            match &self.multiplier {
                Some(k) => m.scaled(k).ok_or_else(|| {
                    salesorg_core::CoreError::Parse(format!("{s} × multiplier is not exact"))
                }),
                None => Ok(m),
            }
        };
        let date = |s: &str| {
            let s = month_first(s, self.day_first);
            self.settings
                .parse_local_date(&s)
                .map_err(|e| with_order_hint(e, &s, self.day_first))
        };
        let stamp = |s: &str| {
            let s = month_first(s, self.day_first);
            self.settings
                .parse_local_timestamp(&s)
                .map_err(|e| with_order_hint(e, &s, self.day_first))
        };
        match self.record {
            RecordKind::Person => {
                let id: Option<PersonId> = required!("id", parse!("id", PersonId::parse));
                let manager: Option<PersonId> = parse!("manager", PersonId::parse);
                let hired = parse!("hired", date);
                let left = parse!("left", date);
                let unit: Option<UnitId> = parse!("unit", UnitId::parse);
                let title = txt("title");
                let role = match txt("role") {
                    Some(r) => match self.catalog.find(&r) {
                        Some(x) => RoleId::parse(&x.id).ok(),
                        None => {
                            bad(
                                "role",
                                col("role"),
                                format!("{r:?} is not a role in the catalog"),
                            );
                            None
                        }
                    },
                    None => title
                        .as_deref()
                        .and_then(|t| self.catalog.match_title(t))
                        .and_then(|x| RoleId::parse(&x.id).ok()),
                };
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let Some(id) = id else { return Ok(()) };
                let name = txt("name").unwrap_or_else(|| id.to_string());
                let o = origin(col("manager"));
                let p = Person {
                    id: id.clone(),
                    name,
                    email: txt("email"),
                    title,
                    role,
                    hired,
                    left,
                };
                if l.person(p, &o, raw) {
                    let manager = match (manager, self.m.unknown_manager.as_deref()) {
                        (Some(m), Some("root")) => (self.known_person(&m)).then_some(m),
                        (m, _) => m,
                    };
                    l.manager(id.clone(), manager, &o);
                    if v.contains_key("unit") {
                        l.placement(id, unit, &o);
                    }
                }
            }
            RecordKind::Unit => {
                let id: Option<UnitId> = required!("id", parse!("id", UnitId::parse));
                let parent: Option<UnitId> = parse!("parent", UnitId::parse);
                let kind = parse!("kind", UnitKind::parse).unwrap_or(UnitKind::Team);
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let Some(id) = id else { return Ok(()) };
                let name = txt("name").unwrap_or_else(|| id.to_string());
                l.unit(
                    Unit {
                        id,
                        name,
                        kind,
                        parent,
                    },
                    &origin(col("id")),
                    raw,
                );
            }
            RecordKind::Account => {
                let id: Option<AccountId> = required!("id", parse!("id", AccountId::parse));
                let owner: Option<PersonId> = parse!("owner", PersonId::parse);
                let employees = parse!("employees", |s: &str| s
                    .parse::<i64>()
                    .map_err(|_| format!("{s:?} is not a whole number")));
                let since = parse!("customer_since", date);
                let churned = parse!("churned_on", date);
                let parent: Option<AccountId> = parse!("parent", AccountId::parse);
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let Some(id) = id else { return Ok(()) };
                let a = Account {
                    name: txt("name").unwrap_or_else(|| id.to_string()),
                    id,
                    industry: txt("industry"),
                    employees,
                    region: txt("region"),
                    owner,
                    parent,
                    customer_since: since,
                    churned_on: churned,
                };
                l.account(a, &origin(col("id")), raw)?;
            }
            RecordKind::Opportunity => {
                let id: Option<OppId> = required!("id", parse!("id", OppId::parse));
                let owner: Option<PersonId> = required!("owner", parse!("owner", PersonId::parse));
                let amount = parse!("amount", money);
                let created = parse!("created", date);
                let close = parse!("close_date", date);
                let status = parse!("status", OppStatus::parse).unwrap_or(OppStatus::Open);
                let ccy = parse!("currency", Currency::parse).unwrap_or(self.currency);
                let prob = parse!("probability", percent);
                let stage_txt = txt("stage").unwrap_or_else(|| match status {
                    OppStatus::Won => "Closed Won".into(),
                    OppStatus::Lost => "Closed Lost".into(),
                    OppStatus::Open => "Open".into(),
                });
                if status != OppStatus::Open && close.is_none() {
                    bad(
                        "close_date",
                        col("close_date"),
                        "a closed opportunity needs a close date".into(),
                    );
                }
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                // (a row refused or skipped does not move the export's date on)
                if let Some(d) = close.or(created) {
                    l.see_date(d);
                }
                let (Some(id), Some(owner), Ok(stage)) = (id, owner, Stage::parse(&stage_txt))
                else {
                    return Ok(());
                };
                let o = Opportunity {
                    id,
                    name: txt("name"),
                    account: txt("account").and_then(|a| AccountId::parse(&a).ok()),
                    owner,
                    amount,
                    currency: ccy,
                    stage,
                    status,
                    probability: prob,
                    forecast_category: txt("forecast_category")
                        .and_then(|x| ForecastCategory::parse(&x).ok()),
                    kind: txt("kind"),
                    source: txt("source"),
                    created,
                    close_date: close,
                    loss_reason: txt("loss_reason"),
                    next_step: txt("next_step"),
                    last_modified: None,
                };
                l.opportunity(o, &origin(col("owner")), col("amount"), raw)?;
            }
            RecordKind::Lead => {
                let id: Option<LeadId> = required!("id", parse!("id", LeadId::parse));
                let owner: Option<PersonId> = required!("owner", parse!("owner", PersonId::parse));
                let created = required!("created", parse!("created", stamp));
                let converted_at = parse!("converted_at", date);
                let converted_opp: Option<OppId> = parse!("converted_opportunity", OppId::parse);
                let converted_account: Option<AccountId> =
                    parse!("converted_account", AccountId::parse);
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(id), Some(owner), Some(created)) = (id, owner, created) else {
                    return Ok(());
                };
                let lead = Lead {
                    id,
                    owner,
                    source: txt("source"),
                    status: txt("status"),
                    created,
                    converted_at,
                    converted_opp,
                    converted_account,
                };
                l.lead(lead, &origin(col("owner")), raw)?;
            }
            RecordKind::Activity => {
                let id: Option<ActivityId> = required!("id", parse!("id", ActivityId::parse));
                let kind = required!("kind", parse!("kind", ActivityKind::parse));
                let at = required!("at", parse!("at", stamp));
                let owner: Option<PersonId> = required!("owner", parse!("owner", PersonId::parse));
                let lead: Option<LeadId> = parse!("lead", LeadId::parse);
                let opp: Option<OppId> = parse!("opportunity", OppId::parse);
                let account: Option<AccountId> = parse!("account", AccountId::parse);
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(id), Some(kind), Some(at), Some(owner)) = (id, kind, at, owner) else {
                    return Ok(());
                };
                let a = Activity {
                    id,
                    kind,
                    at,
                    owner,
                    lead,
                    opp,
                    account,
                    subject: txt("subject"),
                };
                l.activity(a, &origin(col("owner")), raw)?;
            }
            RecordKind::StageChange => {
                let opp: Option<OppId> =
                    required!("opportunity", parse!("opportunity", OppId::parse));
                let at = required!("at", parse!("at", stamp));
                let stage = required!("stage", parse!("stage", Stage::parse));
                let amount = parse!("amount", money);
                let close_date = parse!("close_date", date);
                let probability = parse!("probability", percent);
                let forecast_category = parse!("forecast_category", ForecastCategory::parse);
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(opp), Some(at), Some(stage)) = (opp, at, stage) else {
                    return Ok(());
                };
                // (an export without a row id: the deal, the moment and the stage name it)
                let id =
                    txt("id").unwrap_or_else(|| format!("{opp}@{}:{}", at.unix(), stage.as_str()));
                let h = StageChange {
                    id,
                    opp,
                    at,
                    stage,
                    amount,
                    close_date,
                    probability,
                    forecast_category,
                };
                l.history(h, &origin(col("opportunity")), col("amount"), raw)?;
            }
            RecordKind::Spend => {
                let day = required!("date", parse!("date", date));
                let amount = required!("amount", parse!("amount", money));
                // `scope` as salesorg's spend.csv writes it, or a unit's or a person's id
                let scope = match (txt("scope"), txt("unit"), txt("person")) {
                    (Some(_), _, _) => parse!("scope", super::native::spend_scope),
                    (None, Some(_), _) => parse!("unit", UnitId::parse).map(SpendScope::Unit),
                    (None, None, Some(_)) => {
                        parse!("person", PersonId::parse).map(SpendScope::Person)
                    }
                    (None, None, None) => Some(SpendScope::Company),
                };
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(date), Some(scope), Some(amount)) = (day, scope, amount) else {
                    return Ok(());
                };
                let x = Spend {
                    date,
                    scope,
                    category: txt("category").unwrap_or_else(|| "sales".into()),
                    amount,
                };
                l.spend(x, &origin(col("amount")), col("amount"), raw)?;
            }
            RecordKind::Rate => {
                let day = required!("date", parse!("date", date));
                let from = required!("from", parse!("from", Currency::parse));
                let to = required!("to", parse!("to", Currency::parse));
                let rate = required!("rate", parse!("rate", Rate::parse));
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(date), Some(from), Some(to), Some(rate)) = (day, from, to, rate) else {
                    return Ok(());
                };
                let x = CurrencyRate {
                    date,
                    from,
                    to,
                    rate,
                };
                l.rate(x, &origin(col("rate")), col("rate"), raw)?;
            }
            RecordKind::Survey => {
                let whole = |s: &str| {
                    s.parse::<i32>()
                        .map_err(|_| format!("{s:?} is not a whole number"))
                };
                let id = required!("id", txt("id"));
                let account: Option<AccountId> =
                    required!("account", parse!("account", AccountId::parse));
                let day = required!("date", parse!("date", date));
                let score = required!("score", parse!("score", whole));
                let lo = parse!("scale_min", whole).unwrap_or(1);
                let hi = parse!("scale_max", whole).unwrap_or(10);
                if let Some(why) = score.and_then(|s| super::native::off_scale(s, lo, hi)) {
                    bad("score", col("score"), why);
                }
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(id), Some(account), Some(date), Some(score)) = (id, account, day, score)
                else {
                    return Ok(());
                };
                let x = SurveyResponse {
                    id,
                    account,
                    date,
                    score,
                    scale_min: lo,
                    scale_max: hi,
                };
                l.survey(x, &origin(col("account")), raw)?;
            }
            RecordKind::Quota => {
                let target_id = required!("target", txt("target"));
                let kind = txt("target_kind").unwrap_or_else(|| "person".into());
                let amount = required!("amount", parse!("amount", money));
                if amount.is_some_and(|a| a.units() < 0) {
                    bad("amount", col("amount"), super::NEGATIVE_QUOTA.into());
                }
                let metric = match salesorg_core::kpi::target_metric(
                    txt("metric").as_deref(),
                    amount.unwrap_or_default(),
                ) {
                    Ok(m) => Some(m),
                    Err(why) => {
                        bad("metric", col("metric"), why);
                        None
                    }
                };
                let period = match (txt("month"), txt("period_start"), txt("period_end")) {
                    (Some(_), _, _) => {
                        parse!("month", |s: &str| Period::parse(s, &Default::default()))
                    }
                    (None, Some(_), Some(_)) => {
                        let a = parse!("period_start", date);
                        let b = parse!("period_end", date);
                        match (a, b) {
                            (Some(a), Some(b)) => match Period::range(a, b) {
                                Ok(p) => Some(p),
                                Err(e) => {
                                    bad("period_end", col("period_end"), e.to_string());
                                    None
                                }
                            },
                            _ => None,
                        }
                    }
                    _ => {
                        bad(
                            "period",
                            None,
                            "a quota needs `month` (wide files) or `period_start` and `period_end`"
                                .into(),
                        );
                        None
                    }
                };
                let target = target_id.and_then(|t| match kind.as_str() {
                    "person" => PersonId::parse(&t).ok().map(QuotaTarget::Person),
                    "team" => PersonId::parse(&t).ok().map(QuotaTarget::Team),
                    "unit" => UnitId::parse(&t).ok().map(QuotaTarget::Unit),
                    _ => None,
                });
                if target.is_none() && !matches!(kind.as_str(), "person" | "team" | "unit") {
                    bad(
                        "target_kind",
                        col("target_kind"),
                        format!("{kind:?} is not person, team or unit"),
                    );
                }
                if !l.row_ok(problems.take(), raw) {
                    return Ok(());
                }
                let (Some(target), Some(period), Some(amount)) = (target, period, amount) else {
                    return Ok(());
                };
                let Some(metric) = metric else {
                    return Ok(());
                };
                let q = Quota {
                    target,
                    period,
                    metric: metric.into(),
                    amount,
                };
                l.quota(q, &origin(col("target")), col("amount"), raw)?;
            }
        }
        Ok(())
    }

    fn known_person(&self, m: &PersonId) -> bool {
        // a manager is known when some (filtered) row of this file has that id
        let ids = self.known_ids.get_or_init(|| {
            let mut ids = std::collections::HashSet::new();
            let Some(Field::Column(idc)) = self.m.columns.get("id") else {
                return ids;
            };
            let Some(i) = col_index(self.f, idc) else {
                return ids;
            };
            let _ = self.f.rows(&mut |item| {
                if let RowItem::Good(r) = item
                    && passes(self.f, &self.m.filters, r)
                    && let Some(v) = r.get(i)
                {
                    ids.insert(v.trim().to_owned());
                }
                Ok(())
            });
            ids
        });
        ids.contains(m.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_numbers_are_read_plain() {
        let plain = |s: &str, comma: bool, percent: bool| {
            plain_number(point_decimal(s.to_owned(), comma), percent)
        };
        for (raw, comma, percent, want) in [
            ("$1,234.56", false, false, "1,234.56"),
            ("($1,234.56)", false, false, "-1,234.56"),
            ("(5)", false, false, "-5"),
            ("-$5", false, false, "-5"),
            ("$-5", false, false, "-5"),
            ("-5", false, false, "-5"),
            ("£ 12", false, false, "12"),
            ("1 234,56 €", true, false, "1234.56"),
            ("-1.234,5", true, false, "-1,234.5"),
            ("12,5 %", true, true, "12.5"),
            ("12%", false, true, "12"),
            // (left for the parser to refuse)
            ("12%", false, false, "12%"),
            ("abc", false, false, "abc"),
            ("$", false, false, ""),
        ] {
            assert_eq!(plain(raw, comma, percent), want, "{raw:?}");
        }
    }

    #[test]
    fn expressions_are_exact() {
        let get = |c: &str| match c {
            "unitPrice" => Some("9.65".to_owned()),
            "quantity" => Some("7".to_owned()),
            "discount" => Some("0.15".to_owned()),
            _ => None,
        };
        let v = eval("unitPrice * quantity * (1 - discount)", &get).unwrap();
        assert_eq!(v.to_money().unwrap().to_string(), "57.4175");
        assert!(eval("unitPrice * missing", &get).is_err());
        assert!(eval("(1 - discount", &get).is_err());
    }
}
