//! Calendar dates and UTC timestamps, and the parsers for every date format the supported
//! exports use: ISO dates and datetimes, Salesforce `2024-07-11T21:22:07.000+0000`, and the
//! spreadsheet round-trip forms `MM/DD/YY` and `MM/DD/YY hh:mm AM`.

use std::fmt;

use time::{Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::CoreError;

pub use time::Date;

/// A moment in time, kept in UTC with second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn from_unix(secs: i64) -> Self {
        Timestamp(secs)
    }
    pub fn unix(self) -> i64 {
        self.0
    }
    pub fn from_date_time(d: Date, t: Time) -> Self {
        Timestamp(PrimitiveDateTime::new(d, t).assume_utc().unix_timestamp())
    }
    pub fn at_midnight(d: Date) -> Self {
        Self::from_date_time(d, Time::MIDNIGHT)
    }
    fn odt(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
    /// The calendar date of this moment at a fixed UTC offset (in seconds).
    pub fn date_at_offset(self, offset_secs: i32) -> Date {
        let off = UtcOffset::from_whole_seconds(offset_secs).unwrap_or(UtcOffset::UTC);
        self.odt().to_offset(off).date()
    }
    pub fn date_utc(self) -> Date {
        self.odt().date()
    }
    pub fn plus_secs(self, s: i64) -> Self {
        Timestamp(self.0 + s)
    }
    /// Parses any supported timestamp form; a bare date means midnight UTC.
    pub fn parse(raw: &str) -> Result<Timestamp, CoreError> {
        parse_timestamp(raw)
    }
    /// Writes this moment as [`Display`](fmt::Display) does (`2024-03-31T14:22:31Z`) at the
    /// end of `out`, digit by digit for a year from 0 to 9999: the import writes one into
    /// the store for each of millions of stage changes and activities, and through `fmt`
    /// (with a new string each) that was a twentieth of its writer thread's time.
    pub fn push_to(self, out: &mut String) {
        let t = self.odt();
        let Some(d) = date_digits(t.date()) else {
            let _ = fmt::Write::write_fmt(out, format_args!("{self}"));
            return;
        };
        let two = |v: u8| [b'0' + v / 10 % 10, b'0' + v % 10];
        let (h, m, s) = (two(t.hour()), two(t.minute()), two(t.second()));
        let mut b = [0u8; 20];
        b[..10].copy_from_slice(&d);
        b[10..].copy_from_slice(&[b'T', h[0], h[1], b':', m[0], m[1], b':', s[0], s[1], b'Z']);
        // (ASCII digits and separators: always UTF-8)
        out.push_str(std::str::from_utf8(&b).unwrap_or_default());
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC: `2024-03-31T14:22:31Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.odt();
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            fmt_date(t.date()),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

/// `YYYY-MM-DD`.
pub fn fmt_date(d: Date) -> String {
    let mut out = String::with_capacity(10);
    push_date(d, &mut out);
    out
}

/// `d` as [`fmt_date`] writes it, at the end of `out` (no new string: the import writes
/// dates into the store by the million).
pub fn push_date(d: Date, out: &mut String) {
    match date_digits(d) {
        // (ASCII digits and dashes: always UTF-8)
        Some(b) => out.push_str(std::str::from_utf8(&b).unwrap_or_default()),
        None => {
            let _ = fmt::Write::write_fmt(
                out,
                format_args!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()),
            );
        }
    }
}

/// `d` as `YYYY-MM-DD` in ten ASCII bytes, written digit by digit (a drill-down's text
/// filter reads a date for each of a million records; through `format!` that was a tenth
/// of its time), for a year from 0 to 9999; `None` for another (see [`fmt_date`]).
pub fn date_digits(d: Date) -> Option<[u8; 10]> {
    let (y, m, dd) = d.to_calendar_date();
    let y = u32::try_from(y).ok().filter(|&y| y <= 9999)?;
    let (m, dd) = (m as u32, u32::from(dd));
    let digit = |v: u32| b'0' + (v % 10) as u8;
    Some([
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(dd / 10),
        digit(dd),
    ])
}

fn bad(raw: &str, why: impl fmt::Display) -> CoreError {
    CoreError::Parse(format!("{raw:?} is not a date: {why}"))
}

fn num(raw: &str, part: &str, what: &str) -> Result<i32, CoreError> {
    if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(raw, format!("{what} {part:?} is not a number")));
    }
    part.parse::<i32>()
        .map_err(|_| bad(raw, format!("{what} {part:?} is not a number")))
}

/// Builds a date, explaining impossible ones ("day 30 does not exist in February 2024").
pub fn make_date(raw: &str, y: i32, m: i32, d: i32) -> Result<Date, CoreError> {
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(|| bad(raw, format!("month {m} does not exist")))?;
    if !(1..=9999).contains(&y) {
        return Err(bad(raw, format!("year {y} is out of range")));
    }
    let day = u8::try_from(d).map_err(|_| bad(raw, format!("day {d} does not exist")))?;
    Date::from_calendar_date(y, month, day)
        .map_err(|_| bad(raw, format!("day {d} does not exist in {month} {y}")))
}

fn two_digit_year(y: i32) -> i32 {
    if y < 70 { 2000 + y } else { 1900 + y }
}

/// Parses a date: `2024-03-31`, `2024-03-31T14:22:31.000Z` (the UTC date),
/// `03/31/24`, `3/31/2024`, `03/31/24 2:05 PM`.
pub fn parse_date(raw: &str) -> Result<Date, CoreError> {
    match iso_date(raw.trim().as_bytes()) {
        Some(d) => Ok(d),
        None => parse_date_any(raw),
    }
}

/// [`parse_date`] for every form, without the store's own form read first.
fn parse_date_any(raw: &str) -> Result<Date, CoreError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(bad(raw, "empty"));
    }
    if s.contains('/') {
        let date_part = s.split_whitespace().next().unwrap_or(s);
        let parts: Vec<&str> = date_part.split('/').collect();
        if parts.len() != 3 {
            return Err(bad(raw, "expected MM/DD/YY or MM/DD/YYYY"));
        }
        let m = num(raw, parts[0], "month")?;
        let d = num(raw, parts[1], "day")?;
        let y = num(raw, parts[2], "year")?;
        let y = match parts[2].len() {
            2 => two_digit_year(y),
            4 => y,
            _ => return Err(bad(raw, "the year needs 2 or 4 digits")),
        };
        return make_date(raw, y, m, d);
    }
    if s.len() > 10 && (s.as_bytes()[10] == b'T' || s.as_bytes()[10] == b' ') {
        return Ok(parse_timestamp(s)?.date_utc());
    }
    let parts: Vec<&str> = s.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 {
        return Err(bad(raw, "expected YYYY-MM-DD"));
    }
    make_date(
        raw,
        num(raw, parts[0], "year")?,
        num(raw, parts[1], "month")?,
        num(raw, parts[2], "day")?,
    )
}

fn parse_hms(raw: &str, s: &str) -> Result<Time, CoreError> {
    let mut it = s.split(':');
    let h = num(raw, it.next().unwrap_or(""), "hour")?;
    let mi = num(raw, it.next().unwrap_or("0"), "minute")?;
    let sec_s = it.next().unwrap_or("0");
    let sec_whole = sec_s.split('.').next().unwrap_or("0");
    let sec = num(raw, sec_whole, "second")?;
    if it.next().is_some() {
        return Err(bad(raw, "too many ':' in the time"));
    }
    let t = Time::from_hms(
        u8::try_from(h).unwrap_or(99),
        u8::try_from(mi).unwrap_or(99),
        u8::try_from(sec).unwrap_or(99),
    )
    .map_err(|_| bad(raw, format!("{s} is not a time of day")))?;
    Ok(t)
}

/// The value of `b`, ASCII digits only (at most 4).
#[inline]
fn digits(b: &[u8]) -> Option<i32> {
    b.iter().try_fold(0i32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + i32::from(c - b'0'))
    })
}

/// The store's own form of a date, `YYYY-MM-DD` exactly, where it is a real day; `None`
/// for anything else, which the general parser then reads (and explains). The first load
/// of a scorecard reads tens of millions of these: the general parser's splits into a
/// `Vec` were a tenth of that load.
#[inline]
fn iso_date(b: &[u8]) -> Option<Date> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..])?);
    let month = Month::try_from(u8::try_from(m).ok()?).ok()?;
    if y < 1 {
        return None;
    }
    Date::from_calendar_date(y, month, u8::try_from(d).ok()?).ok()
}

/// The store's own form of a timestamp, `YYYY-MM-DDThh:mm:ssZ` exactly (see
/// [`Timestamp`]'s `Display`), where it is a real moment; `None` for anything else.
#[inline]
fn iso_timestamp(b: &[u8]) -> Option<Timestamp> {
    if b.len() != 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let d = iso_date(&b[..10])?;
    let (h, mi, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let t = Time::from_hms(h as u8, mi as u8, s as u8).ok()?;
    Some(Timestamp::from_date_time(d, t))
}

/// Parses a timestamp: RFC 3339 / ISO 8601 with `Z`, `+0000` or `+02:00`, without a zone
/// (taken as UTC), a bare date (midnight UTC), or `MM/DD/YY hh:mm AM`.
pub fn parse_timestamp(raw: &str) -> Result<Timestamp, CoreError> {
    match iso_timestamp(raw.trim().as_bytes()) {
        Some(t) => Ok(t),
        None => parse_timestamp_any(raw),
    }
}

/// [`parse_timestamp`] for every form, without the store's own form read first.
fn parse_timestamp_any(raw: &str) -> Result<Timestamp, CoreError> {
    let s = raw.trim();
    if s.contains('/') {
        let mut words = s.split_whitespace();
        let d = parse_date(words.next().unwrap_or(""))?;
        let Some(clock) = words.next() else {
            return Ok(Timestamp::at_midnight(d));
        };
        let mut t = parse_hms(raw, clock)?;
        match words.next().map(|w| w.to_ascii_uppercase()) {
            None => {}
            Some(ap) if ap == "AM" || ap == "PM" => {
                let h = t.hour();
                if h == 0 || h > 12 {
                    return Err(bad(raw, format!("hour {h} with {ap}")));
                }
                let h24 = match (ap.as_str(), h) {
                    ("AM", 12) => 0,
                    ("AM", h) => h,
                    ("PM", 12) => 12,
                    (_, h) => h + 12,
                };
                t = Time::from_hms(h24, t.minute(), t.second())
                    .map_err(|_| bad(raw, "not a time of day"))?;
            }
            Some(other) => return Err(bad(raw, format!("unexpected {other:?} after the time"))),
        }
        return Ok(Timestamp::from_date_time(d, t));
    }
    if s.len() <= 10 {
        return Ok(Timestamp::at_midnight(parse_date(s)?));
    }
    // (the date is the first ten bytes only where they are ten characters: "2024-01-0€"
    // had been cut inside the euro sign, a panic)
    if !s.is_char_boundary(10) {
        return Err(bad(raw, "expected YYYY-MM-DD before the time"));
    }
    let (date_s, rest) = s.split_at(10);
    let d = parse_date(date_s)?;
    let sep = rest.as_bytes()[0];
    if sep != b'T' && sep != b' ' {
        return Err(bad(raw, "expected 'T' between date and time"));
    }
    let rest = &rest[1..];
    // split off the zone
    let (clock, offset_secs) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(pos) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(pos);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(raw, format!("time zone {z:?} is not ±HHMM")));
        }
        let hh = num(raw, &digits[..2], "zone hour")?;
        let mm = num(raw, &digits[2..], "zone minute")?;
        (c, sign * (hh * 3600 + mm * 60))
    } else {
        (rest.trim_end_matches(" UTC"), 0)
    };
    let t = parse_hms(raw, clock.trim())?;
    Ok(Timestamp(
        Timestamp::from_date_time(d, t).unix() - offset_secs as i64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digits written one by one are `format!`'s: every 37th day of years 0 to 9999,
    /// the first and last days, and a year before 0 (written by `format!`).
    #[test]
    fn dates_are_written_as_format_writes_them() {
        let first = Date::from_calendar_date(0, time::Month::January, 1).unwrap();
        let last = Date::from_calendar_date(9999, time::Month::December, 31).unwrap();
        let mut d = Some(first);
        while let Some(day) = d.filter(|&x| x <= last) {
            let want = format!(
                "{:04}-{:02}-{:02}",
                day.year(),
                day.month() as u8,
                day.day()
            );
            assert_eq!(fmt_date(day), want);
            d = day.checked_add(time::Duration::days(37));
        }
        assert_eq!(fmt_date(last), "9999-12-31");
        assert_eq!(fmt_date(first), "0000-01-01");
        let before = first.previous_day().unwrap();
        assert_eq!(date_digits(before), None);
        assert_eq!(fmt_date(before), "-001-12-31");
    }

    #[test]
    fn all_export_formats() {
        assert_eq!(fmt_date(parse_date("2024-03-31").unwrap()), "2024-03-31");
        assert_eq!(fmt_date(parse_date("03/31/24").unwrap()), "2024-03-31");
        assert_eq!(fmt_date(parse_date("3/1/2024").unwrap()), "2024-03-01");
        assert_eq!(
            fmt_date(parse_date("2024-03-31T23:22:31.000Z").unwrap()),
            "2024-03-31"
        );
        let ts = parse_timestamp("2024-07-11T21:22:07.000+0000").unwrap();
        assert_eq!(ts.to_string(), "2024-07-11T21:22:07Z");
        let ts = parse_timestamp("2024-07-11T23:22:07+02:00").unwrap();
        assert_eq!(ts.to_string(), "2024-07-11T21:22:07Z");
        assert_eq!(
            parse_timestamp("02/23/26 3:05 PM").unwrap().to_string(),
            "2026-02-23T15:05:00Z"
        );
        assert_eq!(
            parse_timestamp("02/23/26 12:05 AM").unwrap().to_string(),
            "2026-02-23T00:05:00Z"
        );
        assert_eq!(
            parse_timestamp("2024-01-02 03:04:05").unwrap().to_string(),
            "2024-01-02T03:04:05Z"
        );
    }

    #[test]
    fn impossible_dates_say_why() {
        let e = parse_date("2023-02-29").unwrap_err().to_string();
        assert!(e.contains("day 29 does not exist in February 2023"), "{e}");
        assert!(
            parse_date("2024-13-01")
                .unwrap_err()
                .to_string()
                .contains("month 13")
        );
        assert!(parse_date("31/12/2024").is_err());
        assert!(parse_date("yesterday").is_err());
        assert!(parse_timestamp("2024-01-01T25:00:00Z").is_err());
    }

    proptest::proptest! {
        /// A moment written digit by digit is what `Display` writes, for any second of
        /// years -9999 to 9999 and for seconds `time` cannot place (read as the epoch);
        /// written after text already in the buffer, which it keeps.
        #[test]
        fn moments_are_written_as_display_writes_them(
            secs in proptest::prop_oneof![
                -377_705_116_800i64..253_402_300_800,
                proptest::num::i64::ANY,
            ],
        ) {
            let t = Timestamp::from_unix(secs);
            let mut out = String::from("x");
            t.push_to(&mut out);
            proptest::prop_assert_eq!(out, format!("x{t}"));
            let mut day = String::from("y");
            push_date(t.date_utc(), &mut day);
            proptest::prop_assert_eq!(day, format!("y{}", fmt_date(t.date_utc())));
        }

        /// The store's own forms, read straight from their digits, give what the general
        /// parsers give, for real days and moments and for impossible ones alike (which
        /// the quick read leaves to the general parser, to explain).
        #[test]
        fn the_stores_own_forms_read_as_the_general_parsers_read_them(
            y in 0i32..10000, m in 0i32..14, d in 0i32..33,
            h in 0i32..26, mi in 0i32..61, s in 0i32..62,
        ) {
            let day = format!("{y:04}-{m:02}-{d:02}");
            proptest::prop_assert_eq!(
                parse_date(&day).map_err(|e| e.to_string()),
                parse_date_any(&day).map_err(|e| e.to_string())
            );
            proptest::prop_assert_eq!(iso_date(day.as_bytes()), parse_date_any(&day).ok());
            let moment = format!("{day}T{h:02}:{mi:02}:{s:02}Z");
            proptest::prop_assert_eq!(
                parse_timestamp(&moment).map_err(|e| e.to_string()),
                parse_timestamp_any(&moment).map_err(|e| e.to_string())
            );
            proptest::prop_assert_eq!(
                iso_timestamp(moment.as_bytes()),
                parse_timestamp_any(&moment).ok()
            );
            if let Ok(t) = parse_timestamp(&moment) {
                proptest::prop_assert_eq!(t.to_string(), moment);
            }
        }
    }

    /// Text that is not a timestamp is refused, never cut inside a character (these had
    /// panicked).
    #[test]
    fn characters_of_several_bytes_are_refused_not_cut() {
        for bad in [
            "2024-01-0€T10:00",
            "2024-01-01T10:00+€1",
            "2024-01-01T10:00-0€",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }
}
