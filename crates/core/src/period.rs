//! Periods: half-open date intervals `[start, end)` named as in spec/kpis.md §1: months
//! (`2024-03`), fiscal quarters (`FY2024-Q1`), fiscal years (`FY2024`) and explicit ranges
//! (`2024-01-15..2024-02-15`), under a configurable fiscal-year start month.

use std::fmt;

use time::{Date, Month};

use crate::CoreError;
use crate::date::{fmt_date, make_date, parse_date};

/// The organisation's fiscal calendar. Fiscal year N is the one that *ends* in calendar
/// year N: with a February start, FY2024 runs 2023-02-01..2024-02-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FiscalCalendar {
    start_month: u8,
}

impl Default for FiscalCalendar {
    fn default() -> Self {
        FiscalCalendar { start_month: 1 }
    }
}

impl FiscalCalendar {
    pub fn new(start_month: u8) -> Result<Self, CoreError> {
        if !(1..=12).contains(&start_month) {
            return Err(CoreError::Parse(format!(
                "fiscal-year start month {start_month} is not 1..12"
            )));
        }
        Ok(FiscalCalendar { start_month })
    }
    pub fn start_month(&self) -> u8 {
        self.start_month
    }
    /// First day of fiscal year `fy`.
    pub fn year_start(&self, fy: i32) -> Date {
        let y = if self.start_month == 1 { fy } else { fy - 1 };
        first_of(y, self.start_month)
    }
    /// The fiscal year a date falls in.
    pub fn fiscal_year_of(&self, d: Date) -> i32 {
        if self.start_month == 1 || (d.month() as u8) < self.start_month {
            d.year()
        } else {
            d.year() + 1
        }
    }
}

/// The first of a month; past the last day a date holds (9999-12-31), that day, so that a
/// period at the end of time still ends after it starts (a month, quarter or year always
/// ends on a first, so only such a period ends on it: [`Period::parse`] refuses them).
pub(crate) fn first_of(year: i32, month: u8) -> Date {
    let m = Month::try_from(month).unwrap_or(Month::January);
    Date::from_calendar_date(year, m, 1).unwrap_or(if year > 0 { Date::MAX } else { Date::MIN })
}

/// `date` moved by `months` whole months, pinned to the first of the month.
pub fn add_months(d: Date, months: i32) -> Date {
    let idx = d.year() * 12 + (d.month() as i32 - 1) + months;
    first_of(idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u8)
}

/// `date` moved by `years` whole years, on the same day of the month (the 29th of
/// February on the 28th where that year has none).
pub fn add_years(d: Date, years: i32) -> Date {
    Date::from_calendar_date(d.year() + years, d.month(), d.day())
        .or_else(|_| Date::from_calendar_date(d.year() + years, d.month(), 28))
        .unwrap_or(d)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grain {
    Month,
    Quarter,
    Year,
}

impl Grain {
    /// `month`, `quarter` or `year`, as the command line and the API name it.
    pub fn name(self) -> &'static str {
        match self {
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }
}

/// How a period was named, so that it prints back the way it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Label {
    Month,
    Quarter { fy: i32, q: u8 },
    Year { fy: i32 },
    Range,
}

/// A half-open date interval `[start, end)`; or the first days of one, "to date"
/// (`FY2026-Q2 to 2026-05-21`, see [`Period::to_date`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub start: Date,
    /// Exclusive. For a period to date, the day after its last day so far: its flows
    /// (deals closed, leads created, activities…) are those of `start..end`.
    pub end: Date,
    /// The whole period's end (`end` but for a period to date): its quotas are the whole
    /// period's, and its open pipeline the deals closing by this end.
    pub whole_end: Date,
    label: Label,
}

impl Period {
    pub fn range(start: Date, end: Date) -> Result<Period, CoreError> {
        if end <= start {
            return Err(CoreError::Parse(format!(
                "period {}..{} is empty: the end must come after the start",
                fmt_date(start),
                fmt_date(end)
            )));
        }
        Ok(Period {
            start,
            end,
            whole_end: end,
            label: Label::Range,
        })
    }
    pub fn month(year: i32, month: u8) -> Period {
        let start = first_of(year, month);
        let end = add_months(start, 1);
        Period {
            start,
            end,
            whole_end: end,
            label: Label::Month,
        }
    }
    pub fn fiscal_quarter(cal: &FiscalCalendar, fy: i32, q: u8) -> Period {
        let start = add_months(cal.year_start(fy), 3 * (i32::from(q) - 1));
        let end = add_months(start, 3);
        Period {
            start,
            end,
            whole_end: end,
            label: Label::Quarter { fy, q },
        }
    }
    pub fn fiscal_year(cal: &FiscalCalendar, fy: i32) -> Period {
        let start = cal.year_start(fy);
        let end = add_months(start, 12);
        Period {
            start,
            end,
            whole_end: end,
            label: Label::Year { fy },
        }
    }
    /// The period of a given grain that contains `d`.
    pub fn containing(cal: &FiscalCalendar, grain: Grain, d: Date) -> Period {
        match grain {
            Grain::Month => Period::month(d.year(), d.month() as u8),
            Grain::Year => Period::fiscal_year(cal, cal.fiscal_year_of(d)),
            Grain::Quarter => {
                let fy = cal.fiscal_year_of(d);
                let months = (d.year() * 12 + d.month() as i32)
                    - (cal.year_start(fy).year() * 12 + cal.year_start(fy).month() as i32);
                Period::fiscal_quarter(cal, fy, (months / 3 + 1) as u8)
            }
        }
    }
    pub fn contains(&self, d: Date) -> bool {
        self.start <= d && d < self.end
    }
    /// The last day inside the period.
    pub fn last_day(&self) -> Date {
        self.end.previous_day().unwrap_or(self.end)
    }
    pub fn days(&self) -> i64 {
        (self.end - self.start).whole_days()
    }
    /// For a period still under way on `as_of`, which day of how many that is
    /// (`(51, 92)`); `None` once `as_of` is its last day or after.
    pub fn under_way(&self, as_of: Date) -> Option<(i64, i64)> {
        let total = self.days();
        let day = (as_of - self.start).whole_days() + 1;
        (day >= 1 && day < total).then_some((day, total))
    }

    /// The period's first days, up to and including `through` ("to date"): its flows are
    /// those days', its quotas and its open pipeline's closing window the whole period's.
    /// A mid-period scorecard compares with the previous period to the same day this way.
    /// `None` unless `through` falls in the period before its last day (the whole period
    /// is then the period itself).
    pub fn to_date(&self, through: Date) -> Option<Period> {
        let whole = self.whole();
        let end = through.next_day()?;
        (whole.start <= through && end < whole.end).then_some(Period { end, ..whole })
    }
    /// The whole period of a period to date (itself otherwise).
    pub fn whole(&self) -> Period {
        Period {
            end: self.whole_end,
            ..*self
        }
    }
    /// Whether this is a date range of its own (`2024-01-15..2024-02-15`), not a month,
    /// quarter or year by its name (to a day or not).
    pub fn is_range(&self) -> bool {
        matches!(self.label, Label::Range)
    }
    /// Whether this is a period to date ([`Period::to_date`]).
    pub fn is_to_date(&self) -> bool {
        self.end != self.whole_end
    }

    /// Parses `2024-03`, `FY2024-Q1`, `FY2024`, `2024-01-15..2024-02-15` or a single date,
    /// or one of those to a day of it: `FY2024-Q1 to 2024-02-15` ([`Period::to_date`]).
    pub fn parse(raw: &str, cal: &FiscalCalendar) -> Result<Period, CoreError> {
        let p = Period::parse_unchecked(raw, cal)?;
        // (a month, quarter or year that ends after the last day a date holds, 9999-12-31,
        // whose end is held as that day: see `first_of`)
        if p.end == Date::MAX && !matches!(p.label, Label::Range) {
            return Err(CoreError::Parse(format!(
                "{:?} is not a period (it ends after 9999-12-31, the last day salesorg holds)",
                raw.trim()
            )));
        }
        Ok(p)
    }

    fn parse_unchecked(raw: &str, cal: &FiscalCalendar) -> Result<Period, CoreError> {
        let s = raw.trim();
        if let Some((p, through)) = s.split_once(" to ") {
            let whole = Period::parse_unchecked(p, cal)?;
            let d = parse_date(through)?;
            return whole.to_date(d).ok_or_else(|| {
                CoreError::Parse(format!(
                    "{s:?} is not a period: {} is not a day of {whole} before its last",
                    fmt_date(d)
                ))
            });
        }
        let err = |why: &str| {
            CoreError::Parse(format!(
                "{s:?} is not a period ({why}); use 2024-03, FY2024-Q1, FY2024 or 2024-01-15..2024-02-15"
            ))
        };
        if let Some((a, b)) = s.split_once("..") {
            return Period::range(parse_date(a)?, parse_date(b)?);
        }
        if let Some(rest) = s.strip_prefix("FY").or_else(|| s.strip_prefix("fy")) {
            let (y, q) = match rest.split_once(['-', ' ']) {
                Some((y, q)) => (y, Some(q)),
                None => (rest, None),
            };
            if y.len() != 4 {
                return Err(err("the fiscal year needs four digits"));
            }
            let fy: i32 = y.parse().map_err(|_| err("bad fiscal year"))?;
            return match q {
                None => Ok(Period::fiscal_year(cal, fy)),
                Some(q) => {
                    let n: u8 = q
                        .trim_start_matches(['Q', 'q'])
                        .parse()
                        .map_err(|_| err("bad quarter"))?;
                    if !(1..=4).contains(&n) {
                        return Err(err("quarters are Q1..Q4"));
                    }
                    Ok(Period::fiscal_quarter(cal, fy, n))
                }
            };
        }
        let parts: Vec<&str> = s.split('-').collect();
        match parts.as_slice() {
            [y, m] if y.len() == 4 && m.len() == 2 => {
                let y: i32 = y.parse().map_err(|_| err("bad year"))?;
                let m: i32 = m.parse().map_err(|_| err("bad month"))?;
                let d = make_date(s, y, m, 1)?;
                Ok(Period::month(d.year(), d.month() as u8))
            }
            [_, _, _] => {
                let d = parse_date(s)?;
                Period::range(d, d.next_day().ok_or_else(|| err("date out of range"))?)
            }
            _ => Err(err("unknown form")),
        }
    }

    /// The same kind of period one year earlier (P' in `revenue_growth_yoy`).
    pub fn shifted_years(&self, years: i32) -> Period {
        let shift = |d: Date| add_years(d, years);
        let label = match self.label {
            Label::Quarter { fy, q } => Label::Quarter { fy: fy + years, q },
            Label::Year { fy } => Label::Year { fy: fy + years },
            l => l,
        };
        Period {
            start: shift(self.start),
            end: shift(self.end),
            whole_end: shift(self.whole_end),
            label,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.label {
            Label::Month => write!(
                f,
                "{:04}-{:02}",
                self.start.year(),
                self.start.month() as u8
            ),
            Label::Quarter { fy, q } => write!(f, "FY{fy:04}-Q{q}"),
            Label::Year { fy } => write!(f, "FY{fy:04}"),
            Label::Range => write!(f, "{}..{}", fmt_date(self.start), fmt_date(self.whole_end)),
        }?;
        if self.is_to_date() {
            write!(f, " to {}", fmt_date(self.last_day()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    /// A period whose end a date cannot hold (after 9999-12-31) is refused where it is
    /// parsed: its end had been taken as the earliest date, and a scorecard over it
    /// panicked in the pass (`--period 9999-12`, `FY9999`).
    #[test]
    fn a_period_past_the_last_day_is_refused() {
        let jan = FiscalCalendar::new(1).unwrap();
        let feb = FiscalCalendar::new(2).unwrap();
        for (raw, cal) in [
            ("9999-12", &jan),
            ("FY9999", &jan),
            ("FY9999-Q4", &jan),
            ("FY10000", &feb),
            ("9999-12-31", &jan),
        ] {
            let e = Period::parse(raw, cal).unwrap_err().to_string();
            assert!(e.contains("is not a period"), "{raw}: {e}");
        }
        // the last ones it holds
        for (raw, end) in [
            ("9999-11", "9999-12-01"),
            ("FY9999-Q3", "9999-10-01"),
            ("9999-12-30", "9999-12-31"),
        ] {
            assert_eq!(Period::parse(raw, &jan).unwrap().end, d(end), "{raw}");
        }
        // FY9999 starting in February ends on 9999-02-01
        assert_eq!(Period::parse("FY9999", &feb).unwrap().end, d("9999-02-01"));
        // inside the engine, the month, quarter and year at the end of time end on its
        // last day (they had ended on the earliest date: a bulk export from 9999-11 by
        // quarter looped through every quarter a date holds until memory ran out)
        for g in [Grain::Month, Grain::Quarter, Grain::Year] {
            let p = Period::containing(&jan, g, d("9999-12-15"));
            assert_eq!(p.end, d("9999-12-31"), "{g:?}");
            let all = crate::scorecard::periods_between(&jan, g, d("9998-01-01"), Date::MAX);
            assert_eq!(all.last(), Some(&p), "{g:?}");
            assert!(all.windows(2).all(|w| w[0].end == w[1].start), "{g:?}");
        }
    }

    /// A period to date: its first days, printed and parsed back as "P to DAY", keeping
    /// the whole period's end; a year back, it is last year's period to the same day.
    #[test]
    fn a_period_to_date() {
        let jan = FiscalCalendar::new(1).unwrap();
        let q = Period::parse("FY2026-Q2", &jan).unwrap();
        let td = q.to_date(d("2026-05-21")).unwrap();
        assert_eq!(
            (td.start, td.end, td.whole_end),
            (d("2026-04-01"), d("2026-05-22"), d("2026-07-01"))
        );
        assert!(td.is_to_date() && !q.is_to_date());
        assert_eq!(td.to_string(), "FY2026-Q2 to 2026-05-21");
        assert_eq!(td.days(), 51);
        assert_eq!(td.whole(), q);
        assert_eq!(Period::parse("FY2026-Q2 to 2026-05-21", &jan).unwrap(), td);
        assert_eq!(td.shifted_years(-1).to_string(), "FY2025-Q2 to 2025-05-21");
        assert_eq!(td.shifted_years(-1).whole_end, d("2025-07-01"));
        // a range and a month, to a day
        let r = Period::parse("2024-01-10..2024-03-01 to 2024-01-31", &jan).unwrap();
        assert_eq!((r.end, r.whole_end), (d("2024-02-01"), d("2024-03-01")));
        assert_eq!(r.to_string(), "2024-01-10..2024-03-01 to 2024-01-31");
        assert_ne!(r, Period::parse("2024-01-10..2024-02-01", &jan).unwrap());
        // the first day is a period to date; the last day, or a day outside, is not
        assert_eq!(q.to_date(d("2026-04-01")).unwrap().days(), 1);
        for bad in [
            "FY2026-Q2 to 2026-06-30",
            "FY2026-Q2 to 2026-03-31",
            "FY2026-Q2 to 2026-07-01",
        ] {
            let e = Period::parse(bad, &jan).unwrap_err().to_string();
            assert!(e.contains("before its last"), "{bad}: {e}");
        }
        assert!(Period::parse("FY2026-Q2 to tomorrow", &jan).is_err());
    }

    #[test]
    fn fiscal_year_ends_in_its_number() {
        let feb = FiscalCalendar::new(2).unwrap();
        let fy = Period::parse("FY2024", &feb).unwrap();
        assert_eq!((fy.start, fy.end), (d("2023-02-01"), d("2024-02-01")));
        let q1 = Period::parse("FY2024-Q1", &feb).unwrap();
        assert_eq!((q1.start, q1.end), (d("2023-02-01"), d("2023-05-01")));
        assert_eq!(q1.to_string(), "FY2024-Q1");
        assert_eq!(
            Period::containing(&feb, Grain::Quarter, d("2024-01-31")).to_string(),
            "FY2024-Q4"
        );
        assert_eq!(
            Period::containing(&feb, Grain::Quarter, d("2024-02-01")).to_string(),
            "FY2025-Q1"
        );
        let jan = FiscalCalendar::default();
        assert_eq!(
            Period::parse("FY2024", &jan).unwrap().start,
            d("2024-01-01")
        );
        assert_eq!(
            Period::containing(&jan, Grain::Quarter, d("2024-12-31")).to_string(),
            "FY2024-Q4"
        );
    }

    #[test]
    fn months_ranges_and_errors() {
        let cal = FiscalCalendar::default();
        let m = Period::parse("2024-02", &cal).unwrap();
        assert_eq!(m.days(), 29);
        assert_eq!(m.to_string(), "2024-02");
        let r = Period::parse("2024-01-15..2024-02-15", &cal).unwrap();
        assert_eq!(r.days(), 31);
        assert!(Period::parse("2024-02-15..2024-01-15", &cal).is_err());
        assert!(Period::parse("FY2024-Q5", &cal).is_err());
        assert!(Period::parse("2024-13", &cal).is_err());
        assert_eq!(
            Period::parse("FY2024-Q2", &cal)
                .unwrap()
                .shifted_years(-1)
                .to_string(),
            "FY2023-Q2"
        );
    }
}
