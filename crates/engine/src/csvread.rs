//! Reading CSV as CRMs and ERPs export it: UTF-8 with or without a BOM, UTF-16 with a BOM
//! (converted, and said so), Windows-1252 on request, CRLF or LF, quoted fields with
//! newlines, any delimiter, header or none; and a sheet of a spreadsheet (.xlsx, .xls, .ods)
//! read as such a file. Every row knows its line; every problem (ragged row, unterminated
//! quote, invalid UTF-8, missing column) names file:line:column.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::problem::Problem;

mod xls;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8, or UTF-16 when the file starts with a UTF-16 BOM.
    #[default]
    Auto,
    Utf8,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl Encoding {
    pub fn parse(s: &str) -> Result<Encoding, String> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
                "auto" => Encoding::Auto,
                "utf-8" | "utf8" => Encoding::Utf8,
                "utf-16" | "utf-16le" | "utf16le" | "utf16" => Encoding::Utf16Le,
                "utf-16be" | "utf16be" => Encoding::Utf16Be,
                "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => {
                    Encoding::Windows1252
                }
                o => {
                    return Err(format!(
                        "unknown encoding {o:?} (auto, utf-8, utf-16le, utf-16be, windows-1252)"
                    ));
                }
            },
        )
    }
}

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub has_header: bool,
    pub encoding: Encoding,
    /// Field values that mean "no value" besides the empty string (e.g. `NULL`, `-`).
    pub nulls: Vec<String>,
    /// Accept rows whose field count differs from the header's (counted in
    /// [`CsvFile::ragged_rows`]); for files known to hold unquoted delimiters in late columns.
    pub allow_ragged: bool,
    /// The line (a sheet's row) the file starts on: its header, or its first record
    /// without one; the lines above it (a title, notes) are skipped. 0 or 1: the first.
    pub first_line: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            has_header: true,
            encoding: Encoding::Auto,
            nulls: Vec::new(),
            allow_ragged: false,
            first_line: 0,
        }
    }
}

/// Whether `path` names a spreadsheet salesorg reads a sheet of (by its extension).
pub fn is_spreadsheet(path: &Path) -> bool {
    ["xlsx", "xlsm", "xlsb", "xls", "ods"].contains(&extension(path).as_str())
}

/// The first bytes of a compound file (MS-CFB), which an .xls is, and so is a workbook
/// saved with a password.
const OLE_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// `path`'s extension, in lower case ("" for none).
fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A workbook's format, as [`workbook_format`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xls,
    Xlsx,
    Xlsb,
    Ods,
}

impl Format {
    /// Whether `path`'s extension names this format.
    fn named_by(self, path: &Path) -> bool {
        let ext = extension(path);
        match self {
            Format::Xls => ext == "xls",
            Format::Xlsx => ext == "xlsx" || ext == "xlsm",
            Format::Xlsb => ext == "xlsb",
            Format::Ods => ext == "ods",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Format::Xls => "an .xls workbook (Excel 97-2003)",
            Format::Xlsx => "an .xlsx workbook",
            Format::Xlsb => "an .xlsb workbook",
            Format::Ods => "an .ods workbook",
        }
    }
}

/// The format of the workbook at `path`: a compound file is an .xls; a ZIP file is an
/// .xlsb, .xlsx or .ods by the part it holds (`xl/workbook.bin`, `xl/workbook.xml`,
/// `content.xml`), so that a workbook saved under another format's name (an .xlsx named
/// .xls, as some systems write them) is read as what it is; the extension otherwise.
fn workbook_format(path: &Path) -> Format {
    let by_name = match extension(path).as_str() {
        "xls" => Format::Xls,
        "xlsb" => Format::Xlsb,
        "ods" => Format::Ods,
        _ => Format::Xlsx,
    };
    let mut head = [0u8; 8];
    let Ok(n) = File::open(path).and_then(|mut f| f.read(&mut head)) else {
        return by_name;
    };
    if head[..n] == OLE_SIGNATURE {
        return Format::Xls;
    }
    if !head[..n].starts_with(b"PK\x03\x04") {
        return by_name;
    }
    // (a damaged ZIP file is the reader's to name: the name's format then)
    caught_quietly(|| {
        let Ok(zip) = File::open(path)
            .map_err(|_| ())
            .and_then(|f| zip::ZipArchive::new(BufReader::new(f)).map_err(|_| ()))
        else {
            return by_name;
        };
        let has = |name: &str| zip.file_names().any(|n| n.eq_ignore_ascii_case(name));
        if has("xl/workbook.bin") {
            Format::Xlsb
        } else if has("xl/workbook.xml") {
            Format::Xlsx
        } else if has("content.xml") {
            Format::Ods
        } else {
            by_name
        }
    })
    .unwrap_or(by_name)
}

/// What a file named as a workbook ([`is_spreadsheet`]) holds, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// A workbook (a compound file, as an .xls is, or a ZIP file, as the others are), or
    /// bytes the spreadsheet reader is left to name.
    Workbook,
    /// Text: UTF-16 with a BOM, or bytes without a NUL in the first 4 KB that are not
    /// markup; whether its first line holds a tab.
    Text(bool),
    /// A web page or XML (its first character other than a BOM or white space is `<`).
    Markup,
}

/// What the file at `path`, named as a workbook, holds (see [`Holds`]); a file that cannot
/// be read is left to the reader ([`Holds::Workbook`]) to say so.
pub fn holds(path: &Path) -> Holds {
    let mut head = Vec::with_capacity(4096);
    let read = File::open(path).and_then(|f| f.take(4096).read_to_end(&mut head));
    if read.is_err() {
        return Holds::Workbook;
    }
    if head.starts_with(&OLE_SIGNATURE) || head.starts_with(b"PK\x03\x04") {
        return Holds::Workbook;
    }
    let line_has_tab = |b: &[u8]| b.iter().take_while(|&&c| c != b'\n').any(|&c| c == b'\t');
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Holds::Text(line_has_tab(&head));
    }
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    match body.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'<') => Holds::Markup,
        _ if body.contains(&0) => Holds::Workbook,
        _ => Holds::Text(line_has_tab(body)),
    }
}

/// The most cells (rows from the first with a value to the last, by columns from A to the
/// last with a value) read from one sheet: the sheet is laid out as a block of text, a
/// byte or more a cell (a sheet of a million rows by a hundred columns is 100 MB or more).
pub const MAX_SHEET_CELLS: u64 = 100_000_000;

/// The most cells with a value read from one sheet cell by cell, and the most bytes of
/// their text: past either the sheet is refused as it is read, before its cells take the
/// memory (a damaged or hostile workbook's sheet can inflate to billions of cells; these
/// are some 2 GB and 2 GiB).
pub const MAX_VALUED_CELLS: usize = 50_000_000;
pub const MAX_SHEET_TEXT: usize = 2 << 30;

/// The most bytes the part of a workbook the spreadsheet reader takes whole when it opens
/// it (an .xlsx's shared strings, the text its cells share; an .ods's content) may
/// inflate to.
pub const MAX_WHOLE_PART: u64 = 1 << 30;

/// The bytes the first of `parts` (by name, in any case) that the ZIP workbook at `path`
/// holds inflates to, read through (not kept) up to `cap + 1`, 0 if it holds none: a ZIP
/// file's own sizes can lie, its data cannot.
fn inflated_part(path: &Path, parts: &[&str], cap: u64) -> Result<u64, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(BufReader::new(f)).map_err(|e| e.to_string())?;
    let part = zip
        .file_names()
        .find(|n| parts.iter().any(|p| n.eq_ignore_ascii_case(p)))
        .map(str::to_owned);
    let Some(part) = part else {
        return Ok(0);
    };
    let entry = zip.by_name(&part).map_err(|e| e.to_string())?;
    std::io::copy(&mut entry.take(cap + 1), &mut std::io::sink()).map_err(|e| e.to_string())
}

/// [`inflated_part`] for the parts a workbook of `format` has read whole when it is
/// opened: an .xlsx's or .xlsb's shared strings, an .ods's content (every sheet); with the
/// words that say they inflate.
fn whole_part(path: &Path, format: Format, cap: u64) -> Option<(u64, &'static str)> {
    let (parts, what): (&[&str], _) = match format {
        Format::Xlsx | Format::Xlsb => (
            &["xl/sharedStrings.xml", "xl/sharedStrings.bin"],
            "its shared strings (the text its cells share) inflate",
        ),
        Format::Ods => (&["content.xml"], "its content (every sheet) inflates"),
        Format::Xls => return None,
    };
    // (a ZIP file that cannot be read is the reader's to name)
    let n = caught_quietly(|| inflated_part(path, parts, cap))
        .ok()?
        .ok()?;
    Some((n, what))
}

/// Adds a streamed cell to `cells` if it holds a value (as the reader's own grid takes
/// them: a cell with a format and no value is not part of the table); the bytes of its
/// text.
fn push_cell(
    cells: &mut Vec<calamine::Cell<calamine::Data>>,
    c: calamine::Cell<calamine::DataRef<'_>>,
) -> usize {
    if matches!(c.get_value(), calamine::DataRef::Empty) {
        return 0;
    }
    let pos = c.get_position();
    let value = calamine::Data::from(c.get_value().clone());
    let text = match &value {
        calamine::Data::String(t) => t.len(),
        _ => 0,
    };
    cells.push(calamine::Cell::new(pos, value));
    text
}

/// The first and last rows of `cells` (sorted by place) and the columns their text takes
/// (from column A to the last with a value); 0, 0 and 0 for none.
fn sheet_span(cells: &[calamine::Cell<calamine::Data>]) -> (u32, u32, u64) {
    let rows = cells.first().zip(cells.last());
    let (first, last) = rows.map_or((0, 0), |(a, z)| (a.get_position().0, z.get_position().0));
    let cols = cells
        .iter()
        .map(|c| u64::from(c.get_position().1) + 1)
        .max()
        .unwrap_or(0);
    (first, last, cols)
}

/// The problem of a sheet of `rows` by `cols` cells, past [`MAX_SHEET_CELLS`], whose
/// farthest cell with a value is `far` (row, column from 0).
fn too_large(shown: &str, sheet: &str, rows: u64, cols: u64, far: (u64, u64)) -> Problem {
    Problem::file(
        shown,
        format!(
            "sheet {sheet:?} spans {rows} rows by {cols} columns (its cells with a value reach {}), more than the {MAX_SHEET_CELLS} cells salesorg reads from a sheet: delete what lies past the table, or save the table as CSV",
            cell_name(far)
        ),
    )
}

/// A sheet's size as [`ods_sheet_sizes`] gives it: its name, its rows and columns, and its
/// farthest cell with a value (row, column from 0).
type SheetSize = (String, u64, u64, (u64, u64));

/// Each sheet of the .ods workbook at `path`, with the rows (from the first with a value
/// to the last) and columns (from A to the last with a value) its cells with a value span,
/// and its farthest such cell: read from `content.xml`, counting the rows and cells a
/// `number-rows-repeated` or `number-columns-repeated` stands for, without laying anything
/// out. A cell with a value type or any content has a value.
fn ods_sheet_sizes(path: &Path) -> Result<Vec<SheetSize>, String> {
    use quick_xml::events::{BytesStart, Event};
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let content = zip.by_name("content.xml").map_err(|e| e.to_string())?;
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(content));
    // (a repeat: 1 where it is missing, not a number or 0; the places it moves to are
    // added without overflow, whatever a damaged file says)
    let repeat = |e: &BytesStart, key: &[u8]| -> u64 {
        e.try_get_attribute(key)
            .ok()
            .flatten()
            .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse().ok())
            .unwrap_or(1u64)
            .max(1)
    };
    let mut out = Vec::new();
    // the sheet being read: its name, its first and last rows with a value and the columns
    // to its last (once it has one), and its farthest cell; then the place of the row and
    // cell being read, and their repeats
    type Span = Option<(u64, u64, u64)>;
    let mut sheet: Option<(String, Span, (u64, u64))> = None;
    let (mut row, mut col, mut rows_rep, mut cell_rep) = (0u64, 0u64, 1u64, 1u64);
    let mut buf = Vec::new();
    loop {
        let event = xml.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            match e.local_name().as_ref() {
                b"table" => {
                    let name = e
                        .try_get_attribute("table:name")
                        .ok()
                        .flatten()
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap_or_default();
                    sheet = Some((name, None, (0, 0)));
                    row = 0;
                }
                b"table-row" => {
                    rows_rep = repeat(&e, b"table:number-rows-repeated");
                    col = 0;
                    if empty {
                        row = row.saturating_add(rows_rep);
                    }
                }
                b"table-cell" | b"covered-table-cell" => {
                    cell_rep = repeat(&e, b"table:number-columns-repeated");
                    let valued = !empty
                        || e.try_get_attribute("office:value-type")
                            .ok()
                            .flatten()
                            .is_some();
                    if valued && let Some((_, span, far)) = sheet.as_mut() {
                        let last_row = row.saturating_add(rows_rep - 1);
                        let last_col = col.saturating_add(cell_rep - 1);
                        let (first, last, cols) = span.unwrap_or((row, last_row, 0));
                        let cols = cols.max(last_col.saturating_add(1));
                        *span = Some((first.min(row), last.max(last_row), cols));
                        if (last_col, last_row) > (far.1, far.0) {
                            *far = (last_row, last_col);
                        }
                    }
                    if empty {
                        col = col.saturating_add(cell_rep);
                    }
                }
                _ => {}
            }
        }
        match &event {
            Event::End(e) => match e.local_name().as_ref() {
                b"table-cell" | b"covered-table-cell" => col = col.saturating_add(cell_rep),
                b"table-row" => row = row.saturating_add(rows_rep),
                b"table" => {
                    if let Some((name, span, far)) = sheet.take() {
                        let (rows, cols) =
                            span.map_or((0, 0), |(a, z, c)| ((z - a).saturating_add(1), c));
                        out.push((name, rows, cols, far));
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

thread_local! {
    /// Whether this thread is in [`caught_quietly`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic in it without the panic hook's message on standard error:
/// the spreadsheet reader's panic on a damaged file is reported as the file's problem, and
/// a "thread panicked" line above that problem would read as salesorg's crash. The hook
/// that keeps quiet (set once, the first time) hands every other panic to the hook it
/// replaced.
fn caught_quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r
}

/// A cell's name as a sheet shows it (`XFD1048576` for row 1048575, column 16383 from 0).
fn cell_name((row, col): (u64, u64)) -> String {
    let mut letters = Vec::new();
    let mut n = col.saturating_add(1);
    while n > 0 {
        let d = (n - 1) % 26;
        letters.push(b'A' + d as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8_lossy(&letters),
        row.saturating_add(1)
    )
}

/// A cell as the text a CSV export of the sheet would hold (see [`CsvFile::open_sheet`]).
fn cell_text(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => excel_number(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) if d.is_datetime() => excel_date_time(d),
        // a duration: its days, as the cell holds them
        Data::DateTime(d) => excel_number(d.as_f64()),
        Data::Error(e) => e.to_string(),
    }
}

/// A date cell as `YYYY-MM-DD`, with ` HH:MM:SS` where it holds a time, to the nearest
/// second as Excel shows it (the serial's fraction of a day puts 10:00 at 09:59:59.999).
fn excel_date_time(d: &calamine::ExcelDateTime) -> String {
    let (y, mo, day, h, mi, sec, ms) = d.to_ymd_hms_milli();
    let at = time::Month::try_from(mo)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(i32::from(y), m, day).ok())
        .and_then(|date| {
            let t = time::Time::from_hms(h, mi, sec).ok()?;
            Some(time::PrimitiveDateTime::new(date, t))
        });
    let Some(mut at) = at else {
        // (Excel's 1900-02-29, which no calendar has: the serial as the cell holds it)
        return excel_number(d.as_f64());
    };
    if ms >= 500 {
        at += time::Duration::SECOND;
    }
    let (date, t) = (at.date(), at.time());
    let ymd = format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    );
    if t == time::Time::MIDNIGHT {
        ymd
    } else {
        format!("{ymd} {:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

/// A number as Excel shows and exports it: to 15 significant digits, without trailing
/// zeros. A sheet holds the binary double a formula gave (731.9399999999999 for a cell
/// that shows, and means, 731.94).
fn excel_number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f == 0.0 {
        return "0".into();
    }
    let magnitude = f.abs().log10().floor() as i32;
    let decimals = (14 - magnitude).clamp(0, 40) as usize;
    let s = format!("{f:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" { "0".into() } else { s.to_owned() }
}

/// Receives a raw record and its first line; returns false to stop.
/// How much of a text file is read at a time; a few bytes in the unit tests, so that
/// every field, quote and line end there falls across reads somewhere.
const READ_SIZE: usize = if cfg!(test) { 7 } else { 1 << 20 };

type RawRowFn<'a> = dyn FnMut(u64, &[Vec<u8>]) -> Result<bool, Problem> + 'a;

enum Source {
    File(PathBuf, u64),
    Memory(Vec<u8>),
}

/// An open CSV file: its header and a way to iterate its rows.
pub struct CsvFile {
    /// The name problems are reported under (the path as given).
    pub name: String,
    pub headers: Vec<String>,
    source: Source,
    opts: CsvOptions,
    /// Things worth telling the user (e.g. "converted from UTF-16LE").
    pub notes: Vec<String>,
    /// Byte length of the input, for progress.
    pub len: u64,
    /// Set when a required column is missing: the rows are then not read.
    pub skip_rows: std::cell::Cell<bool>,
    /// Rows accepted although ragged (with `allow_ragged`).
    pub ragged_rows: std::cell::Cell<u64>,
    /// Lines before the first one read (a sheet whose cells start below its first row):
    /// added to every line number, so that a row is named by its number in the sheet.
    line_base: u64,
    /// Lines are numbered by record (a sheet's rows), not by physical line.
    by_record: bool,
}

/// One row: its line number (1-based, of its first physical line) and its fields.
pub struct Row<'a> {
    pub line: u64,
    fields: &'a [String],
    nulls: &'a [String],
}

impl<'a> Row<'a> {
    /// The field at `idx` (0-based), `None` when empty or a null literal. Surrounding
    /// white space is kept except for the null check.
    pub fn get(&self, idx: usize) -> Option<&'a str> {
        let v = self.fields.get(idx)?.as_str();
        let t = v.trim();
        if t.is_empty() || self.nulls.iter().any(|n| n == t) {
            None
        } else {
            Some(v)
        }
    }
    pub fn raw(&self) -> &'a [String] {
        self.fields
    }
}

fn open_err(name: &str, e: impl std::fmt::Display) -> Problem {
    Problem::file(name, format!("cannot read: {e}"))
}

fn decode_utf16(bytes: &[u8], be: bool) -> Vec<u8> {
    let enc = if be {
        encoding_rs::UTF_16BE
    } else {
        encoding_rs::UTF_16LE
    };
    let (text, _, _) = enc.decode(bytes);
    text.into_owned().into_bytes()
}

impl CsvFile {
    pub fn open(path: &Path, opts: &CsvOptions) -> Result<CsvFile, Problem> {
        let name = path.display().to_string();
        let mut f = File::open(path).map_err(|e| open_err(&name, e))?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut head = [0u8; 3];
        let n = f.read(&mut head).map_err(|e| open_err(&name, e))?;
        let head = &head[..n];
        let mut notes = Vec::new();
        let utf16 = match opts.encoding {
            Encoding::Utf16Le => Some(false),
            Encoding::Utf16Be => Some(true),
            Encoding::Auto if head.starts_with(&[0xFF, 0xFE]) => Some(false),
            Encoding::Auto if head.starts_with(&[0xFE, 0xFF]) => Some(true),
            _ => None,
        };
        let source = if let Some(be) = utf16 {
            let mut all = Vec::new();
            f.seek(SeekFrom::Start(0)).map_err(|e| open_err(&name, e))?;
            f.read_to_end(&mut all).map_err(|e| open_err(&name, e))?;
            let body = if all.starts_with(&[0xFF, 0xFE]) || all.starts_with(&[0xFE, 0xFF]) {
                &all[2..]
            } else {
                &all[..]
            };
            notes.push(format!(
                "{name}: converted from UTF-16{} to UTF-8",
                if be { "BE" } else { "LE" }
            ));
            Source::Memory(decode_utf16(body, be))
        } else if opts.encoding == Encoding::Windows1252 {
            let mut all = Vec::new();
            f.seek(SeekFrom::Start(0)).map_err(|e| open_err(&name, e))?;
            f.read_to_end(&mut all).map_err(|e| open_err(&name, e))?;
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&all);
            notes.push(format!("{name}: converted from Windows-1252 to UTF-8"));
            Source::Memory(text.into_owned().into_bytes())
        } else {
            let skip = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                3
            } else {
                0
            };
            Source::File(path.to_owned(), skip)
        };
        let mut file = CsvFile {
            name,
            headers: Vec::new(),
            source,
            opts: opts.clone(),
            notes,
            len,
            skip_rows: Default::default(),
            ragged_rows: Default::default(),
            line_base: 0,
            by_record: false,
        };
        // (Excel writes `sep=;` as the first line of a CSV file in some locales, and
        // reads the file with that delimiter: so does this, the header on the next line)
        let mut head = [0u8; 8];
        let n = file.reader()?.read(&mut head).unwrap_or(0);
        if let [b's', b'e', b'p', b'=', d, rest @ ..] = &head[..n]
            && (rest.starts_with(b"\n") || rest.starts_with(b"\r"))
            && file.opts.first_line <= 1
        {
            file.opts.delimiter = *d;
            file.opts.first_line = 2;
            file.notes.push(format!(
                "{}: its first line, sep={}, sets its delimiter",
                file.name,
                char::from(*d)
            ));
        }
        file.read_header()?;
        Ok(file)
    }

    /// A spreadsheet's sheet ([`CsvFile::open_sheet`]; the first when `sheet` is `None`) or a
    /// CSV file ([`CsvFile::open`]), by the path's extension ([`is_spreadsheet`]). A file
    /// named as a workbook that holds text (a tab-separated export saved as `.xls`, as SAP
    /// and older CRMs write them) is read as text, tab-separated when its first line holds
    /// a tab, and said so; one that holds a web page or XML is refused, saying what it is.
    pub fn open_any(
        path: &Path,
        sheet: Option<&str>,
        opts: &CsvOptions,
    ) -> Result<CsvFile, Problem> {
        let held = is_spreadsheet(path).then(|| holds(path));
        CsvFile::open_held(path, held, sheet, opts)
    }

    /// [`CsvFile::open_any`] for a caller that has already told what the file holds
    /// (`held`: [`holds`] for a file named as a workbook, `None` for a text file's name).
    pub fn open_held(
        path: &Path,
        held: Option<Holds>,
        sheet: Option<&str>,
        opts: &CsvOptions,
    ) -> Result<CsvFile, Problem> {
        let Some(held) = held else {
            return CsvFile::open(path, opts);
        };
        let shown = path.display().to_string();
        match held {
            Holds::Workbook => CsvFile::open_sheet(path, sheet, opts),
            Holds::Markup => Err(Problem::file(
                &shown,
                "is a web page or XML saved under a workbook's name (as some systems' \"export to Excel\" writes one), not a workbook: open it in Excel and save it as .xlsx, or export CSV",
            )),
            Holds::Text(tabs) => {
                let mut o = opts.clone();
                if tabs && o.delimiter == b',' {
                    o.delimiter = b'\t';
                }
                let mut f = CsvFile::open(path, &o)?;
                let read_as = match o.delimiter {
                    b'\t' => "tab-separated".to_owned(),
                    b',' => "comma-separated".to_owned(),
                    d => format!("{:?}-separated", char::from(d)),
                };
                let unused = sheet.map_or(String::new(), |s| {
                    format!(" (the mapping's sheet {s:?} does not apply)")
                });
                f.notes.push(format!(
                    "{shown}: text, not a workbook: read as {read_as} text{unused}"
                ));
                Ok(f)
            }
        }
    }

    /// One sheet of a spreadsheet (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`), the first
    /// when `sheet` is `None`, read as a CSV file whose rows are the sheet's rows (a row
    /// named by its number in the sheet) and whose fields are its cells as text, as Excel
    /// shows them: numbers to 15 significant digits (`731.94`), dates as `YYYY-MM-DD` (with
    /// ` HH:MM:SS` where the cell holds a time), errors (`#N/A`).
    pub fn open_sheet(
        path: &Path,
        sheet: Option<&str>,
        opts: &CsvOptions,
    ) -> Result<CsvFile, Problem> {
        let shown = path.display().to_string();
        let format = workbook_format(path);
        // (an .xlsx's or .xlsb's shared strings, an .ods's content, are read whole when it
        // is opened: they are inflated first, and read only if they fit)
        if let Some((n, what)) = whole_part(path, format, MAX_WHOLE_PART)
            && n > MAX_WHOLE_PART
        {
            return Err(Problem::file(
                &shown,
                format!(
                    "{what} to more than {} MiB, more than salesorg reads from a workbook (a file made to inflate so is a ZIP bomb): save the sheet as CSV",
                    MAX_WHOLE_PART >> 20
                ),
            ));
        }
        // (an .ods is read whole, every sheet as one block, when it is opened: each is
        // sized first)
        if format == Format::Ods {
            for (sheet, rows, cols, far) in ods_sheet_sizes(path).map_err(|e| {
                Problem::file(&shown, format!("cannot read it as a spreadsheet: {e}"))
            })? {
                if rows.saturating_mul(cols) > MAX_SHEET_CELLS {
                    return Err(too_large(&shown, &sheet, rows, cols, far));
                }
            }
        }
        // (an .xls is read whole when it is opened, trusting its own sizes and chains:
        // it is checked first)
        if format == Format::Xls {
            let bytes = std::fs::read(path).map_err(|e| open_err(&shown, e))?;
            if let Some(why) = xls::refusal(&bytes) {
                return Err(Problem::file(
                    &shown,
                    format!("cannot read it as a spreadsheet: {why}"),
                ));
            }
        }
        // (the spreadsheet reader indexes a damaged file's records as they say, and can
        // panic on one: that is the file's problem, not the process's)
        let mut file = caught_quietly(|| Self::read_sheet(path, format, &shown, sheet, opts))
            .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Problem::file(
                &shown,
                format!("cannot read it as a spreadsheet: the file is damaged (the reader failed: {what})"),
            ))
        })?;
        if !format.named_by(path) {
            file.notes.push(format!(
                "{shown}: {} under another name: read as such",
                format.what()
            ));
        }
        Ok(file)
    }

    /// [`CsvFile::open_sheet`] once the workbook has been checked.
    fn read_sheet(
        path: &Path,
        format: Format,
        shown: &str,
        sheet: Option<&str>,
        opts: &CsvOptions,
    ) -> Result<CsvFile, Problem> {
        use calamine::{Reader, Sheets, open_workbook};
        let bad = |e: &dyn std::fmt::Display| {
            Problem::file(shown, format!("cannot read it as a spreadsheet: {e}"))
        };
        let mut book: Sheets<BufReader<File>> = match format {
            Format::Xls => Sheets::Xls(open_workbook(path).map_err(|e| bad(&e))?),
            Format::Xlsx => Sheets::Xlsx(open_workbook(path).map_err(|e| bad(&e))?),
            Format::Xlsb => Sheets::Xlsb(open_workbook(path).map_err(|e| bad(&e))?),
            Format::Ods => Sheets::Ods(open_workbook(path).map_err(|e| bad(&e))?),
        };
        let names = book.sheet_names();
        // (a sheet named as Excel names it, which is without regard to case or the
        // spaces around it: no two sheets of a workbook differ only so)
        let like = |s: &str| -> Option<String> {
            let mut found = names
                .iter()
                .filter(|n| n.trim().to_lowercase() == s.trim().to_lowercase());
            match (found.next(), found.next()) {
                (Some(n), None) => Some(n.clone()),
                _ => None,
            }
        };
        let name = match sheet {
            Some(s) if names.iter().any(|n| n == s) => s.to_owned(),
            Some(s) if like(s).is_some() => like(s).unwrap_or_default(),
            Some(s) => {
                return Err(Problem::file(
                    shown,
                    if names.is_empty() {
                        format!("has no sheet {s:?}; it has no sheets")
                    } else {
                        format!("has no sheet {s:?}; its sheets are {}", names.join(", "))
                    },
                ));
            }
            None => names
                .first()
                .cloned()
                .ok_or_else(|| Problem::file(shown, "the workbook has no sheets"))?,
        };
        let bad = |e: &dyn std::fmt::Display| Problem::file(shown, format!("sheet {name:?}: {e}"));
        // the cells that hold a value, read one by one where the format allows (an .xlsx,
        // .xlsm or .xlsb): the reader's own grid is every cell from the first to the last
        // as one block, and one stray value at XFD1048576 made it ask for 550 GB and
        // abort the process; an .xls or .ods is read whole when it is opened
        // (the two formats' cell readers are of two types with the same methods)
        macro_rules! streamed {
            ($book:expr) => {{
                let mut r = $book.worksheet_cells_reader(&name).map_err(|e| bad(&e))?;
                let (mut cells, mut text) = (Vec::new(), 0usize);
                while let Some(c) = r.next_cell().map_err(|e| bad(&e))? {
                    text = text.saturating_add(push_cell(&mut cells, c));
                    if cells.len() > MAX_VALUED_CELLS || text > MAX_SHEET_TEXT {
                        return Err(bad(&format!(
                            "holds more than {MAX_VALUED_CELLS} cells with a value or {} MiB of text, more than salesorg reads from a sheet: save the sheet as CSV",
                            MAX_SHEET_TEXT >> 20
                        )));
                    }
                }
                Some(cells)
            }};
        }
        let cells: Option<Vec<calamine::Cell<calamine::Data>>> = match &mut book {
            calamine::Sheets::Xlsx(x) => streamed!(x),
            calamine::Sheets::Xlsb(x) => streamed!(x),
            _ => None,
        };
        let mut text = Vec::new();
        let line_base;
        {
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut text);
            let mut write = |fields: &mut dyn Iterator<Item = String>| {
                w.write_record(fields)
                    .map_err(|e| Problem::file(shown, e.to_string()))
            };
            match cells {
                Some(mut cells) => {
                    // (laid out from the cells themselves, each row from column A to the
                    // last column with a value, as the reader's grid lays them out)
                    cells.sort_by_key(calamine::Cell::get_position);
                    let (first, last, cols) = sheet_span(&cells);
                    let rows = u64::from(last - first) + 1;
                    if cells.is_empty() {
                        line_base = 0;
                    } else if rows.saturating_mul(cols) > MAX_SHEET_CELLS {
                        let far = cells
                            .iter()
                            .map(calamine::Cell::get_position)
                            .max_by_key(|&(r, c)| (c, r))
                            .unwrap_or_default();
                        let far = (u64::from(far.0), u64::from(far.1));
                        return Err(too_large(shown, &name, rows, cols, far));
                    } else {
                        line_base = u64::from(first);
                        let mut at = cells.iter().peekable();
                        let mut row = vec![String::new(); cols as usize];
                        for r in first..=last {
                            row.iter_mut().for_each(String::clear);
                            while let Some(c) = at.next_if(|c| c.get_position().0 == r) {
                                row[c.get_position().1 as usize] = cell_text(c.get_value());
                            }
                            write(&mut row.iter().cloned())?;
                        }
                    }
                }
                None => {
                    let range = book.worksheet_range(&name).map_err(|e| bad(&e))?;
                    line_base = range.start().map_or(0, |(row, _)| u64::from(row));
                    // (cells from column A, so that a column is named by its number in the
                    // sheet)
                    let before = range.start().map_or(0, |(_, col)| col as usize);
                    for row in range.rows() {
                        let blank = std::iter::repeat_n(String::new(), before);
                        write(&mut blank.chain(row.iter().map(cell_text)))?;
                    }
                }
            }
            w.flush().map_err(|e| Problem::file(shown, e.to_string()))?;
        }
        let mut file = CsvFile {
            name: format!("{shown}[{name}]"),
            headers: Vec::new(),
            len: text.len() as u64,
            source: Source::Memory(text),
            opts: CsvOptions {
                delimiter: b',',
                encoding: Encoding::Utf8,
                ..opts.clone()
            },
            notes: Vec::new(),
            skip_rows: Default::default(),
            ragged_rows: Default::default(),
            line_base,
            by_record: true,
        };
        file.read_header()?;
        Ok(file)
    }

    /// Reads the header row, when the file has one.
    fn read_header(&mut self) -> Result<(), Problem> {
        if self.opts.has_header {
            let mut first = None;
            self.for_each_raw(true, &mut |line, rec| {
                first = Some((line, rec.to_vec()));
                Ok(false)
            })?;
            match first {
                Some((line, rec)) => {
                    self.headers = rec
                        .iter()
                        .enumerate()
                        .map(|(i, h)| {
                            std::str::from_utf8(h)
                                .map(|s| s.trim().to_owned())
                                .map_err(|_| {
                                    Problem::at(
                                        &self.name,
                                        line,
                                        Some(i + 1),
                                        "the header is not valid UTF-8",
                                    )
                                })
                        })
                        .collect::<Result<_, _>>()?;
                }
                None if self.opts.first_line > 1 => {
                    return Err(Problem::file(
                        &self.name,
                        format!(
                            "no header row: the file ends before line {} (first_row)",
                            self.opts.first_line
                        ),
                    ));
                }
                None => {
                    // (at line 1, where the header row should be)
                    return Err(Problem::at(
                        &self.name,
                        1,
                        None,
                        "the file is empty: no header row",
                    ));
                }
            }
        }
        Ok(())
    }

    fn reader(&self) -> Result<Box<dyn Read + '_>, Problem> {
        Ok(match &self.source {
            Source::File(p, skip) => {
                let mut f = File::open(p).map_err(|e| open_err(&self.name, e))?;
                f.seek(SeekFrom::Start(*skip))
                    .map_err(|e| open_err(&self.name, e))?;
                Box::new(BufReader::with_capacity(1 << 20, f))
            }
            Source::Memory(b) => Box::new(&b[..]),
        })
    }

    /// Raw records with the line they start on; `f` returns false to stop. RFC 4180:
    /// quoted fields may hold delimiters, doubled quotes and line breaks; records end at
    /// LF, CRLF or CR. An unterminated quote is reported at the line and column where it
    /// opened.
    fn for_each_raw(&self, include_header: bool, f: &mut RawRowFn<'_>) -> Result<(), Problem> {
        let mut r = self.reader()?;
        let d = self.opts.delimiter;
        let mut buf = vec![0u8; READ_SIZE];
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut nfields = 0usize;
        let mut field_open = false; // a field has started on this record
        let mut in_q = false;
        let mut after_q = false; // just saw the closing quote of a quoted field
        let mut pending_cr = false;
        let mut line: u64 = 1;
        let mut rec_line: u64 = 1;
        let (mut q_line, mut q_col) = (0u64, 0usize);
        let mut first = true;
        macro_rules! ensure_field {
            () => {
                if nfields == fields.len() {
                    fields.push(Vec::new());
                }
            };
        }
        macro_rules! cur {
            () => {{
                if nfields == fields.len() {
                    fields.push(Vec::new());
                }
                &mut fields[nfields]
            }};
        }
        // ends the record; returns false when `f` asks to stop
        // records so far (a sheet's rows are numbered by record, not by physical line: a
        // cell holding a line break spans two)
        let mut records = 0u64;
        let mut end_record = |fields: &mut Vec<Vec<u8>>,
                              nfields: &mut usize,
                              rec_line: u64,
                              first: &mut bool|
         -> Result<bool, Problem> {
            let n = *nfields + 1;
            *nfields = 0;
            records += 1;
            let line = if self.by_record {
                self.line_base + records
            } else {
                rec_line + self.line_base
            };
            // (an empty line, or one of empty fields only, as spreadsheets export their
            // unused rows: no record, and not the header)
            let blank = fields[..n].iter().all(|x| x.trim_ascii().is_empty());
            let go = if line < self.opts.first_line || blank {
                // above the first line: skipped, the header not yet read
                true
            } else if *first && self.opts.has_header && !include_header {
                *first = false;
                true
            } else {
                *first = false;
                f(line, &fields[..n])?
            };
            for x in fields.iter_mut() {
                x.clear();
            }
            Ok(go)
        };
        loop {
            let n = r.read(&mut buf).map_err(|e| open_err(&self.name, e))?;
            if n == 0 {
                break;
            }
            let bytes = &buf[..n];
            let mut i = 0;
            while i < n {
                let b = bytes[i];
                i += 1;
                if pending_cr {
                    pending_cr = false;
                    if b == b'\n' {
                        continue; // CRLF: the record already ended at CR
                    }
                }
                if in_q {
                    if b == b'"' {
                        in_q = false;
                        after_q = true;
                    } else {
                        // the quoted field's bytes up to its next quote, taken at once
                        // (byte by byte, the reading was a quarter of an import's parsing
                        // thread), its line breaks counted
                        let end = memchr::memchr(b'"', &bytes[i..]).map_or(n, |k| i + k);
                        let run = &bytes[i - 1..end];
                        line += memchr::memchr_iter(b'\n', run).count() as u64;
                        cur!().extend_from_slice(run);
                        i = end;
                    }
                    continue;
                }
                if after_q && b == b'"' {
                    // a doubled quote inside a quoted field
                    cur!().push(b'"');
                    in_q = true;
                    after_q = false;
                    continue;
                }
                after_q = false;
                match b {
                    b'"' if !field_open => {
                        in_q = true;
                        field_open = true;
                        q_line = line;
                        q_col = nfields + 1;
                        ensure_field!();
                    }
                    x if x == d => {
                        ensure_field!();
                        nfields += 1;
                        ensure_field!();
                        field_open = false;
                    }
                    b'\n' | b'\r' => {
                        if b == b'\r' {
                            pending_cr = true;
                        }
                        ensure_field!();
                        field_open = false;
                        if !end_record(&mut fields, &mut nfields, rec_line, &mut first)? {
                            return Ok(());
                        }
                        line += 1;
                        rec_line = line;
                    }
                    _ => {
                        // the field's bytes up to the next delimiter or line end, taken at
                        // once (a quote inside an unquoted field is one of its bytes)
                        field_open = true;
                        let end =
                            memchr::memchr3(d, b'\n', b'\r', &bytes[i..]).map_or(n, |k| i + k);
                        cur!().extend_from_slice(&bytes[i - 1..end]);
                        i = end;
                    }
                }
            }
        }
        if in_q {
            return Err(Problem::at(
                &self.name,
                q_line,
                Some(q_col),
                "unterminated quote: this quoted field never closes before the end of the file",
            ));
        }
        if field_open || nfields > 0 || fields.first().is_some_and(|x| !x.is_empty()) {
            ensure_field!();
            end_record(&mut fields, &mut nfields, rec_line, &mut first)?;
        }
        Ok(())
    }

    /// Index of a column by header name (case-insensitive, trimmed).
    /// Whether this is a sheet of a workbook ([`CsvFile::open_sheet`]), not a text file.
    pub fn is_sheet(&self) -> bool {
        self.by_record
    }

    pub fn col(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name.trim()))
    }

    /// Every data row, as UTF-8 fields, handed to `f` as [`RowItem::Good`]; ragged rows
    /// and invalid UTF-8 come as [`RowItem::Bad`], problems with the file as a whole (an
    /// unterminated quote, an unreadable file) as [`RowItem::Fatal`].
    pub fn rows(
        &self,
        f: &mut dyn FnMut(RowItem<'_, '_>) -> crate::Result<()>,
    ) -> crate::Result<()> {
        let width = if self.opts.has_header {
            Some(self.headers.len())
        } else {
            None
        };
        let mut fields: Vec<String> = Vec::new();
        let mut failed: Option<crate::EngineError> = None;
        let r = self.for_each_raw(false, &mut |line, rec| {
            // field buffers are reused from row to row
            fields.truncate(rec.len());
            while fields.len() < rec.len() {
                fields.push(String::new());
            }
            let mut problem = None;
            for (i, raw) in rec.iter().enumerate() {
                let raw = raw.as_slice();
                fields[i].clear();
                match std::str::from_utf8(raw) {
                    Ok(s) => fields[i].push_str(s),
                    Err(e) => {
                        fields[i].push_str(&String::from_utf8_lossy(raw));
                        problem.get_or_insert_with(|| {
                            Problem::at(
                                &self.name,
                                line,
                                Some(i + 1),
                                format!(
                                    "invalid UTF-8 at byte {} of the field; if the file is Windows-1252, import it with encoding = \"windows-1252\"",
                                    e.valid_up_to() + 1
                                ),
                            )
                        });
                    }
                }
            }
            if let Some(w) = width
                && fields.len() != w
                && problem.is_none()
                && self.opts.allow_ragged
            {
                self.ragged_rows.set(self.ragged_rows.get() + 1);
            } else if let Some(w) = width
                && fields.len() != w && problem.is_none() {
                    problem = Some(Problem::at(
                        &self.name,
                        line,
                        Some(fields.len().min(w) + 1),
                        format!("ragged row: {} fields where the header has {w}", fields.len()),
                    ));
                }
            let item = match problem {
                Some(p) => RowItem::Bad(p, &fields),
                None => RowItem::Good(&Row { line, fields: &fields, nulls: &self.opts.nulls }),
            };
            match f(item) {
                Ok(()) => Ok(true),
                Err(e) => {
                    failed = Some(e);
                    Ok(false)
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match r {
            Ok(()) => Ok(()),
            Err(p) => f(RowItem::Fatal(p)),
        }
    }
}

/// What [`CsvFile::rows`] hands over for each row.
pub enum RowItem<'r, 'a> {
    Good(&'r Row<'a>),
    Bad(Problem, &'r [String]),
    Fatal(Problem),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An .ods's sheets are sized from their rows and cells and the repeats they stand for,
    /// empty ones no part of them; a repeat of 0, of no number or past any count (a damaged
    /// file) is read without a panic, and a sheet reaching past every row is too large.
    #[test]
    fn an_ods_sheet_is_sized_from_its_repeats() {
        use std::io::Write;
        let cell = |v: &str| {
            format!(
                "<table:table-cell office:value-type=\"string\"><text:p>{v}</text:p></table:table-cell>"
            )
        };
        let sheets = format!(
            "<table:table table:name=\"A\"><table:table-row>{}{}</table:table-row>\
             <table:table-row table:number-rows-repeated=\"3\"><table:table-cell table:number-columns-repeated=\"1000\"/></table:table-row>\
             <table:table-row><table:table-cell table:number-columns-repeated=\"2\"/>{}</table:table-row></table:table>\
             <table:table table:name=\"B\"><table:table-row table:number-rows-repeated=\"0\">{}</table:table-row>\
             <table:table-row table:number-rows-repeated=\"x\"><table:table-cell table:number-columns-repeated=\"18446744073709551615\" office:value-type=\"float\"/></table:table-row>\
             <table:table-row table:number-rows-repeated=\"18446744073709551615\">{}</table:table-row></table:table>",
            cell("a"),
            cell("b"),
            cell("c"),
            cell("d"),
            cell("e"),
        );
        let content = format!(
            "<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body><office:spreadsheet>{sheets}</office:spreadsheet></office:body></office:document-content>"
        );
        let path = std::env::temp_dir().join(format!("salesorg-sized-{}.ods", std::process::id()));
        {
            let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
            z.start_file("content.xml", zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(content.as_bytes()).unwrap();
            z.finish().unwrap();
        }
        let sizes = ods_sheet_sizes(&path);
        std::fs::remove_file(&path).unwrap();
        let sizes = sizes.unwrap();
        // A: "a", "b" on row 1, three empty rows, "c" at C5: 5 rows by 3 columns
        assert_eq!(sizes[0], ("A".to_owned(), 5, 3, (4, 2)));
        // B: rows and cells past any count, added without overflow: too large
        let (name, rows, cols, _) = &sizes[1];
        assert_eq!(name, "B");
        assert!(
            rows.saturating_mul(*cols) > MAX_SHEET_CELLS,
            "{rows} {cols}"
        );
        assert!(!cell_name((u64::MAX, u64::MAX)).is_empty());
        assert_eq!(cell_name((1_048_575, 16_383)), "XFD1048576");
    }

    #[test]
    fn a_workbooks_whole_part_is_inflated_up_to_the_cap() {
        use std::io::Write;
        // a workbook's parts with 1 MB of shared strings (deflated to a few KB)
        let dir = salesorg_store::testing::TempDir::new().unwrap();
        let book = dir.path().join("b.xlsx");
        let mut w = zip::ZipWriter::new(File::create(&book).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("xl/workbook.xml", opts).unwrap();
        w.write_all(b"<workbook/>").unwrap();
        w.start_file("xl/sharedStrings.xml", opts).unwrap();
        w.write_all(&vec![b'x'; 1 << 20]).unwrap();
        w.finish().unwrap();
        assert!(std::fs::metadata(&book).unwrap().len() < 20_000);
        assert_eq!(
            whole_part(&book, Format::Xlsx, MAX_WHOLE_PART),
            Some((
                1 << 20,
                "its shared strings (the text its cells share) inflate"
            ))
        );
        // (read through to one byte past a cap below them, no further)
        assert_eq!(whole_part(&book, Format::Xlsx, 99).map(|p| p.0), Some(100));
        // none: 0; an .ods's content; an .xls has no such part
        let sheets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/synthetic/sheets");
        let inline = sheets.join("pipeline.xlsx");
        assert_eq!(whole_part(&inline, Format::Xlsx, 99).map(|p| p.0), Some(0));
        let ods = sheets.join("far-cells.ods");
        assert_eq!(
            whole_part(&ods, Format::Ods, 99),
            Some((100, "its content (every sheet) inflates"))
        );
        assert_eq!(whole_part(&book, Format::Xls, 99), None);
    }

    #[test]
    fn what_a_file_named_as_a_workbook_holds_is_told_by_its_first_bytes() {
        let cases: [(&[u8], Holds); 9] = [
            (
                &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0],
                Holds::Workbook,
            ),
            (b"PK\x03\x04rest", Holds::Workbook),
            (b"id\tname\nana\tAna\n", Holds::Text(true)),
            (b"id,name\nana\tAna\n", Holds::Text(false)),
            (b"\xEF\xBB\xBF \r\n<!DOCTYPE html>", Holds::Markup),
            (b"<?xml version=\"1.0\"?><Workbook>", Holds::Markup),
            (&[0xFF, 0xFE, b'i', 0, b'd', 0, b'\t', 0], Holds::Text(true)),
            (b"id,name\n\x00\x01", Holds::Workbook),
            (b"", Holds::Text(false)),
        ];
        for (bytes, want) in cases {
            let (_dir, p) = write("f.xls", bytes);
            assert_eq!(holds(&p), want, "{bytes:?}");
        }
    }

    /// Date cells come out to the nearest second (10:00 is stored a hair before it), a
    /// whole day as a bare date, and a day Excel has but no calendar does as its serial.
    #[test]
    fn a_sheets_dates_are_written_to_the_second() {
        use calamine::{ExcelDateTime, ExcelDateTimeType::DateTime};
        let cell = |serial: f64| excel_date_time(&ExcelDateTime::new(serial, DateTime, false));
        // 2024-02-14 10:00 as a double: 45336.416666666664
        assert_eq!(cell(45336.0 + 10.0 / 24.0), "2024-02-14 10:00:00");
        assert_eq!(cell(45336.0), "2024-02-14");
        // a second short of midnight, a hair before: the next day
        assert_eq!(cell(45336.0 + 86399.9996 / 86400.0), "2024-02-15");
        assert_eq!(cell(60.0), "60");
    }

    /// Numbers come out as Excel shows them: 15 significant digits, no trailing zeros.
    #[test]
    fn a_sheets_numbers_are_written_as_excel_shows_them() {
        for (f, shown) in [
            (731.9399999999999, "731.94"),
            (22.368000000000002, "22.368"),
            (2396.2655999999997, "2396.2656"),
            (2.0, "2"),
            (-0.5, "-0.5"),
            (0.0, "0"),
            (1e15, "1000000000000000"),
            (123456789012345678.0, "123456789012345680"),
            (0.000012345, "0.000012345"),
            (-1.2479999999999998, "-1.248"),
        ] {
            assert_eq!(excel_number(f), shown, "{f}");
        }
    }

    fn write(name: &str, bytes: &[u8]) -> (salesorg_store::testing::TempDir, PathBuf) {
        let d = salesorg_store::testing::TempDir::new().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        (d, p)
    }

    fn collect(f: &CsvFile) -> (Vec<(u64, Vec<String>)>, Vec<String>) {
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        f.rows(&mut |item| {
            match item {
                RowItem::Good(r) => good.push((r.line, r.raw().to_vec())),
                RowItem::Bad(p, _) | RowItem::Fatal(p) => bad.push(p.to_string()),
            }
            Ok(())
        })
        .unwrap();
        (good, bad)
    }

    /// Records with the line each starts on.
    type Records = Vec<(u64, Vec<Vec<u8>>)>;

    /// The records of `bytes` as the reader read them byte by byte before it took runs of
    /// bytes at once: each non-blank record with its first line, or the line and column of
    /// an unterminated quote.
    fn records_byte_by_byte(bytes: &[u8]) -> Result<Records, (u64, usize)> {
        let mut out = Vec::new();
        let (mut fields, mut nf) = (vec![Vec::new()], 0usize);
        let (mut open, mut in_q, mut after_q, mut cr) = (false, false, false, false);
        let (mut line, mut rec_line, mut q) = (1u64, 1u64, (0u64, 0usize));
        let mut end = |fields: &mut Vec<Vec<u8>>, nf: &mut usize, rec_line: u64| {
            let rec: Vec<Vec<u8>> = fields[..=*nf].to_vec();
            if !rec.iter().all(|x| x.trim_ascii().is_empty()) {
                out.push((rec_line, rec));
            }
            *fields = vec![Vec::new()];
            *nf = 0;
        };
        for &b in bytes {
            if std::mem::take(&mut cr) && b == b'\n' {
                continue;
            }
            if in_q {
                if b == b'"' {
                    (in_q, after_q) = (false, true);
                } else {
                    line += u64::from(b == b'\n');
                    fields[nf].push(b);
                }
                continue;
            }
            if std::mem::take(&mut after_q) && b == b'"' {
                fields[nf].push(b'"');
                in_q = true;
                continue;
            }
            match b {
                b'"' if !open => {
                    (in_q, open, q) = (true, true, (line, nf + 1));
                }
                b',' => {
                    nf += 1;
                    fields.push(Vec::new());
                    open = false;
                }
                b'\n' | b'\r' => {
                    cr = b == b'\r';
                    open = false;
                    end(&mut fields, &mut nf, rec_line);
                    line += 1;
                    rec_line = line;
                }
                _ => {
                    open = true;
                    fields[nf].push(b);
                }
            }
        }
        if in_q {
            return Err(q);
        }
        if open || nf > 0 || !fields[0].is_empty() {
            end(&mut fields, &mut nf, rec_line);
        }
        Ok(out)
    }

    proptest::proptest! {
        /// Fields taken a run of bytes at a time (`READ_SIZE` is 7 here: runs, quotes and
        /// line ends fall across reads) are the fields read byte by byte, on the same
        /// lines, and an unterminated quote is found at the same place.
        #[test]
        fn runs_of_bytes_read_as_single_bytes_did(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"ab ,,\"\"\n\r\xc3\xa9".to_vec()),
                0..120,
            ),
        ) {
            let mut text = b"h\n".to_vec();
            text.extend_from_slice(&bytes);
            let (_d, p) = write("p.csv", &text);
            let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
            let mut got = Vec::new();
            let r = f.for_each_raw(true, &mut |line, rec| {
                got.push((line, rec.to_vec()));
                Ok(true)
            });
            match records_byte_by_byte(&text) {
                Ok(want) => {
                    proptest::prop_assert!(r.is_ok(), "{r:?}");
                    proptest::prop_assert_eq!(got, want);
                }
                Err((line, col)) => {
                    let e = r.unwrap_err();
                    proptest::prop_assert_eq!((e.line, e.column), (line, Some(col)));
                }
            }
        }
    }

    #[test]
    fn quirks_are_accepted() {
        let (_d, p) = write(
            "a.csv",
            b"\xEF\xBB\xBFId,Name\r\n1,\"two\r\nlines\"\r\n2,plain\r\n",
        );
        let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
        assert_eq!(f.headers, vec!["Id", "Name"]);
        let (good, bad) = collect(&f);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good[0], (2, vec!["1".into(), "two\r\nlines".into()]));
        assert_eq!(good[1].0, 4);
    }

    /// Excel's `sep=;` first line sets the delimiter; the header is the next line, and the
    /// rows keep their line numbers.
    #[test]
    fn an_excel_sep_line_sets_the_delimiter() {
        let (_d, p) = write("a.csv", b"\xEF\xBB\xBFsep=;\r\nId;Name\r\n1;Ann, B.\r\n");
        let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
        assert_eq!(f.headers, vec!["Id", "Name"]);
        let (good, bad) = collect(&f);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good, vec![(3, vec!["1".into(), "Ann, B.".into()])]);
        assert!(f.notes[0].ends_with("a.csv: its first line, sep=;, sets its delimiter"));
    }

    /// A report's title and notes above its header are skipped with `first_line`, however
    /// many fields they have, and the rows keep their own line numbers.
    #[test]
    fn lines_above_the_first_are_skipped() {
        let (_d, p) = write(
            "r.csv",
            b"Pipeline report\nrun 2024-05-01, by ana, all regions\nId,Name\n1,one\n",
        );
        let opts = CsvOptions {
            first_line: 3,
            ..CsvOptions::default()
        };
        let f = CsvFile::open(&p, &opts).unwrap();
        assert_eq!(f.headers, vec!["Id", "Name"]);
        let (good, bad) = collect(&f);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(good, [(4, vec!["1".to_owned(), "one".into()])]);
        let past = CsvOptions {
            first_line: 9,
            ..CsvOptions::default()
        };
        let e = CsvFile::open(&p, &past).err().unwrap().to_string();
        assert!(
            e.ends_with("r.csv: no header row: the file ends before line 9 (first_row)"),
            "{e}"
        );
    }

    /// Empty lines, and lines of empty fields only (a spreadsheet's unused rows saved as
    /// CSV), are no records, before the header as after it; the rows keep their lines.
    #[test]
    fn lines_of_empty_fields_are_no_records() {
        let (_d, p) = write("e.csv", b"\n,,\nId,Name\n1,one\n, ,\n2,two\n,,\n,,\n");
        let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
        assert_eq!(f.headers, vec!["Id", "Name"]);
        let (good, bad) = collect(&f);
        assert!(bad.is_empty(), "{bad:?}");
        let lines: Vec<u64> = good.iter().map(|g| g.0).collect();
        assert_eq!(lines, [4, 6]);
    }

    #[test]
    fn utf16_is_converted_and_said() {
        let text = "Year,EmployeeID\r\n2017,611\r\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let (_d, p) = write("t.csv", &bytes);
        let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
        assert_eq!(f.headers, vec!["Year", "EmployeeID"]);
        assert!(f.notes[0].contains("UTF-16LE"));
        let (good, _) = collect(&f);
        assert_eq!(good[0].1, vec!["2017", "611"]);
    }

    #[test]
    fn broken_files_name_line_and_column() {
        let (_d, p) = write("r.csv", b"a,b\n1,2\n3\n4,\"open\n5,6\n");
        let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
        let (_, bad) = collect(&f);
        assert!(
            bad.iter()
                .any(|b| b.ends_with("r.csv:3:2: ragged row: 1 fields where the header has 2")),
            "{bad:?}"
        );
        assert!(
            bad.iter()
                .any(|b| b.contains("r.csv:4:2: unterminated quote")),
            "{bad:?}"
        );
        let (_d, p) = write("u.csv", b"a,b\n1,caf\xE9\n");
        let f = CsvFile::open(&p, &CsvOptions::default()).unwrap();
        let (_, bad) = collect(&f);
        assert!(bad[0].contains("u.csv:2:2: invalid UTF-8"), "{bad:?}");
        let o = CsvOptions {
            encoding: Encoding::Windows1252,
            ..Default::default()
        };
        let f = CsvFile::open(&p, &o).unwrap();
        let (good, bad) = collect(&f);
        assert!(bad.is_empty());
        assert_eq!(good[0].1[1], "café");
    }
}
