//! Parsing one CSV row's fields into domain values, collecting a problem (with the column
//! and its header name) for every field that does not parse.

use std::str::FromStr;

use salesorg_core::CoreError;
use salesorg_core::date::{Date, Timestamp, parse_date, parse_timestamp};
use salesorg_core::money::{Currency, Money, Rate};

use crate::csvread::{CsvFile, Row};
use crate::import::Origin;
use crate::problem::Problem;

/// A row being parsed: the file, the row and the problems found so far.
pub struct Fields<'a> {
    pub file: &'a CsvFile,
    pub row: &'a Row<'a>,
    pub problems: Vec<Problem>,
}

impl<'a> Fields<'a> {
    pub fn new(file: &'a CsvFile, row: &'a Row<'a>) -> Self {
        Fields {
            file,
            row,
            problems: Vec::new(),
        }
    }
    pub fn origin(&self, col: Option<usize>) -> Origin {
        Origin {
            file: self.file.name.clone(),
            line: self.row.line,
            column: col.map(|c| c + 1),
        }
    }
    fn name(&self, col: usize) -> String {
        self.file
            .headers
            .get(col)
            .cloned()
            .unwrap_or_else(|| format!("column {}", col + 1))
    }
    pub fn problem(&mut self, col: Option<usize>, reason: impl Into<String>) {
        let reason = reason.into();
        let reason = match col {
            Some(c) => format!("{}: {reason}", self.name(c)),
            None => reason,
        };
        self.problems.push(Problem::at(
            &self.file.name,
            self.row.line,
            col.map(|c| c + 1),
            reason,
        ));
    }
    /// The trimmed text at `col`, if the column exists and is not empty or null.
    pub fn text(&self, col: Option<usize>) -> Option<String> {
        self.text_ref(col).map(str::to_owned)
    }
    /// [`text`](Self::text) borrowed from the row: what is parsed into a date, an amount
    /// or an id is not copied first (those copies were a tenth of an import's
    /// allocations).
    fn text_ref(&self, col: Option<usize>) -> Option<&'a str> {
        let row = self.row;
        col.and_then(|c| row.get(c)).map(str::trim)
    }
    /// Like [`text`](Self::text), but a missing value is a problem.
    pub fn req(&mut self, col: Option<usize>, what: &str) -> Option<String> {
        self.req_ref(col, what).map(str::to_owned)
    }
    fn req_ref(&mut self, col: Option<usize>, what: &str) -> Option<&'a str> {
        let v = self.text_ref(col);
        if v.is_none() {
            match col {
                Some(_) => self.problem(col, format!("{what} is required but empty")),
                None => self.problem(None, format!("{what} is required")),
            }
        }
        v
    }
    fn parsed<T>(
        &mut self,
        col: Option<usize>,
        f: impl FnOnce(&str) -> Result<T, CoreError>,
    ) -> Option<T> {
        let v = self.text_ref(col)?;
        match f(v) {
            Ok(x) => Some(x),
            Err(e) => {
                self.problem(col, e.to_string());
                None
            }
        }
    }
    pub fn date(&mut self, col: Option<usize>) -> Option<Date> {
        self.parsed(col, parse_date)
    }
    /// A date in the organisation's zone (see `Settings::parse_local_date`).
    pub fn local_date(
        &mut self,
        col: Option<usize>,
        settings: &salesorg_core::settings::Settings,
    ) -> Option<Date> {
        self.parsed(col, |s| settings.parse_local_date(s))
    }
    pub fn ts(&mut self, col: Option<usize>) -> Option<Timestamp> {
        self.parsed(col, parse_timestamp)
    }
    pub fn money(&mut self, col: Option<usize>) -> Option<Money> {
        self.parsed(col, Money::parse)
    }
    pub fn rate(&mut self, col: Option<usize>) -> Option<Rate> {
        self.parsed(col, Rate::parse)
    }
    pub fn currency(&mut self, col: Option<usize>) -> Option<Currency> {
        self.parsed(col, Currency::parse)
    }
    pub fn int(&mut self, col: Option<usize>) -> Option<i64> {
        self.parsed(col, |s| {
            let t = s.replace(',', "");
            let t = t.strip_suffix(".0").unwrap_or(&t);
            t.parse::<i64>()
                .map_err(|_| CoreError::Parse(format!("{s:?} is not a whole number")))
        })
    }
    /// Booleans as exports write them: `1`/`0`, `true`/`false` (any case), `yes`/`no`;
    /// empty is false (Salesforce writes false as an empty field).
    pub fn bool(&mut self, col: Option<usize>) -> bool {
        let is = |s: &str, forms: [&str; 4]| forms.iter().any(|f| s.eq_ignore_ascii_case(f));
        self.parsed(col, |s| {
            if is(s, ["1", "true", "yes", "y"]) {
                Ok(true)
            } else if is(s, ["0", "false", "no", "n"]) {
                Ok(false)
            } else {
                Err(CoreError::Parse(format!("{s:?} is not true or false")))
            }
        })
        .unwrap_or(false)
    }
    pub fn id<T: FromStr<Err = CoreError>>(&mut self, col: Option<usize>) -> Option<T> {
        self.parsed(col, T::from_str)
    }
    pub fn req_id<T: FromStr<Err = CoreError>>(
        &mut self,
        col: Option<usize>,
        what: &str,
    ) -> Option<T> {
        let v = self.req_ref(col, what)?;
        match T::from_str(v) {
            Ok(x) => Some(x),
            Err(e) => {
                self.problem(col, e.to_string());
                None
            }
        }
    }
}

/// Finds each named column (any of the aliases) in a file's header and reports missing
/// required ones as problems at line 1. When one is missing the file's rows are not read
/// (so that one missing column is one message, not one per row).
pub fn need(
    l: &mut crate::import::Loader<'_>,
    file: &CsvFile,
    wanted: &[(&str, &[&str], bool)],
) -> Vec<Option<usize>> {
    let mut ps = Vec::new();
    let c = columns(file, wanted, &mut ps);
    for p in ps {
        l.refuse_file(file, p);
    }
    c
}

/// Finds each named column (any of the aliases) in a file's header; a missing required
/// column is a problem at line 1.
pub fn columns(
    file: &CsvFile,
    wanted: &[(&str, &[&str], bool)],
    problems: &mut Vec<Problem>,
) -> Vec<Option<usize>> {
    wanted
        .iter()
        .map(|(name, aliases, required)| {
            let found = std::iter::once(*name)
                .chain(aliases.iter().copied())
                .find_map(|n| file.col(n));
            if found.is_none() && *required {
                problems.push(Problem::at(
                    &file.name,
                    1,
                    None,
                    format!(
                        "missing required column {name:?} (the header has: {})",
                        file.headers.join(", ")
                    ),
                ));
            }
            found
        })
        .collect()
}

/// Runs `g` over every row of `file` with the loader at hand: bad rows are recorded as
/// problems (or rejects), file-level problems are fatal.
pub fn each_row(
    l: &mut crate::import::Loader<'_>,
    file: &CsvFile,
    mut g: impl FnMut(&mut crate::import::Loader<'_>, &mut Fields<'_>) -> crate::Result<()>,
) -> crate::Result<()> {
    if file.skip_rows.get() {
        return Ok(());
    }
    file.rows(&mut |item| {
        match item {
            crate::csvread::RowItem::Good(row) => {
                let mut x = Fields::new(file, row);
                g(l, &mut x)?;
            }
            crate::csvread::RowItem::Bad(p, raw) => {
                l.row_ok(vec![p], raw);
            }
            crate::csvread::RowItem::Fatal(p) => l.fatal(p),
        }
        Ok(())
    })
}

impl Fields<'_> {
    /// Hands this row's problems to the loader; true when the row is clean.
    pub fn ok(&mut self, l: &mut crate::import::Loader<'_>) -> bool {
        let ps = std::mem::take(&mut self.problems);
        l.row_ok(ps, self.row.raw())
    }
    pub fn raw(&self) -> &[String] {
        self.row.raw()
    }
}

/// Opens `dir/name` as CSV (UTF-8 or UTF-16, comma, header). A missing required file is a
/// problem; a missing optional one is `None`.
pub fn open_csv(
    l: &mut crate::import::Loader<'_>,
    dir: &std::path::Path,
    name: &str,
    required: bool,
    needed_by: &str,
) -> Option<CsvFile> {
    let csv = dir.join(name);
    // (or an export saved as a workbook instead: `deals.xlsx` for `deals.csv`)
    let saved = std::iter::once(csv.clone())
        .chain(["xlsx", "xls"].iter().map(|x| csv.with_extension(x)))
        .find(|p| p.exists());
    let Some(p) = saved else {
        if required {
            l.fatal(Problem::file(
                &csv.display().to_string(),
                format!(
                    "missing: {needed_by} needs this file (or the same saved as .xlsx or .xls)"
                ),
            ));
        }
        return None;
    };
    match CsvFile::open_any(&p, None, &crate::csvread::CsvOptions::default()) {
        Ok(f) => {
            l.notes.extend(f.notes.iter().cloned());
            Some(f)
        }
        Err(e) => {
            l.fatal(e);
            None
        }
    }
}
