//! Organisation settings: fiscal-year start, time zone, currency, lead-response SLA,
//! holidays and gross margin. Stored in the store; set from the CLI or a TOML file.

use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::date::{Date, fmt_date, parse_date};
use crate::money::{Currency, Money};
use crate::period::FiscalCalendar;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub fiscal: FiscalCalendar,
    /// `UTC`, a fixed offset such as `+02:00`, or an IANA name such as `Europe/Berlin`.
    pub time_zone: String,
    pub currency: Currency,
    pub lead_sla_minutes: u32,
    pub holidays: Vec<Date>,
    /// Gross margin as an exact fraction (1.0 = 100 %).
    pub gross_margin: Money,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            fiscal: FiscalCalendar::default(),
            time_zone: "UTC".into(),
            currency: Currency::USD,
            lead_sla_minutes: 60,
            holidays: Vec::new(),
            gross_margin: Money::from_units(crate::money::SCALE),
        }
    }
}

/// The keys that `settings set KEY VALUE` and the TOML file accept.
pub const KEYS: &[&str] = &[
    "fiscal_year_start_month",
    "time_zone",
    "currency",
    "lead_sla_minutes",
    "holidays",
    "gross_margin",
];

/// Settings as they appear in a TOML file: every key optional.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    pub fiscal_year_start_month: Option<u8>,
    pub time_zone: Option<String>,
    pub currency: Option<String>,
    pub lead_sla_minutes: Option<u32>,
    pub holidays: Option<Vec<String>>,
    pub gross_margin: Option<String>,
}

/// Parses a time zone: `UTC`, a fixed offset `±HH:MM`, or an IANA name such as
/// `Europe/Berlin` (from the time-zone database compiled into salesorg, so every machine
/// agrees).
pub fn parse_time_zone(s: &str) -> Result<jiff::tz::TimeZone, CoreError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    let bad = || {
        CoreError::Parse(format!(
            "time zone {t:?}: use UTC, a fixed offset like +02:00, or an IANA name like Europe/Berlin"
        ))
    };
    if let Some(sign) = match t.as_bytes().first() {
        Some(b'+') => Some(1),
        Some(b'-') => Some(-1),
        _ => None,
    } {
        let (h, m) = t[1..].split_once(':').ok_or_else(bad)?;
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if h > 14 || m > 59 {
            return Err(bad());
        }
        let off = jiff::tz::Offset::from_seconds(sign * (h * 3600 + m * 60)).map_err(|_| bad())?;
        return Ok(jiff::tz::TimeZone::fixed(off));
    }
    jiff::tz::db().get(t).map_err(|_| bad())
}

impl Settings {
    /// The organisation's time zone (validated when set, so this falls back to UTC only
    /// for a value written by hand into the store).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        parse_time_zone(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// The calendar date of a moment in the organisation's time zone (spec §1: "a timestamp
    /// is converted to that zone before its date is taken").
    pub fn local_date(&self, t: crate::date::Timestamp) -> Date {
        let zone = self.zone();
        let Ok(ts) = jiff::Timestamp::from_second(t.unix()) else {
            return t.date_utc();
        };
        let d = ts.to_zoned(zone).date();
        time::Month::try_from(d.month() as u8)
            .ok()
            .and_then(|m| Date::from_calendar_date(i32::from(d.year()), m, d.day() as u8).ok())
            .unwrap_or_else(|| t.date_utc())
    }

    /// Parses a date field as exports write it: a bare date, or a date-time without a
    /// zone (already local wall time), is that calendar date; a date-time with a zone
    /// (`…Z`, `…+0000`, `…-05:00`) is converted to the organisation's zone before its date
    /// is taken (spec §1).
    pub fn parse_local_date(&self, s: &str) -> Result<Date, CoreError> {
        let t = s.trim();
        let rest = t.get(10..).unwrap_or("");
        let zoned = rest.contains(':')
            && (rest.ends_with('Z') || rest.get(1..).is_some_and(|r| r.contains(['+', '-'])));
        if zoned {
            Ok(self.local_date(crate::date::parse_timestamp(t)?))
        } else {
            parse_date(t)
        }
    }

    /// Applies one `key = value` pair, validating the value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), CoreError> {
        match key {
            "fiscal_year_start_month" => {
                let m: u8 = value
                    .trim()
                    .parse()
                    .map_err(|_| CoreError::Parse(format!("{value:?} is not a month number")))?;
                self.fiscal = FiscalCalendar::new(m)?;
            }
            "time_zone" => {
                parse_time_zone(value)?;
                self.time_zone = value.trim().to_owned();
            }
            "currency" => self.currency = Currency::parse(value)?,
            "lead_sla_minutes" => {
                self.lead_sla_minutes = value.trim().parse().map_err(|_| {
                    CoreError::Parse(format!("{value:?} is not a whole number of minutes"))
                })?
            }
            "holidays" => {
                let mut v = Vec::new();
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    v.push(parse_date(part)?);
                }
                v.sort();
                v.dedup();
                self.holidays = v;
            }
            "gross_margin" => {
                let m = Money::parse(value)?;
                if m.units() < 0 || m.units() > crate::money::SCALE {
                    return Err(CoreError::Parse(format!(
                        "gross margin {value:?} must be between 0 and 1"
                    )));
                }
                self.gross_margin = m;
            }
            other => {
                return Err(CoreError::Parse(format!(
                    "unknown setting {other:?}; known: {}",
                    KEYS.join(", ")
                )));
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "fiscal_year_start_month" => self.fiscal.start_month().to_string(),
            "time_zone" => self.time_zone.clone(),
            "currency" => self.currency.to_string(),
            "lead_sla_minutes" => self.lead_sla_minutes.to_string(),
            "holidays" => self
                .holidays
                .iter()
                .map(|d| fmt_date(*d))
                .collect::<Vec<_>>()
                .join(","),
            "gross_margin" => self.gross_margin.to_string(),
            _ => return None,
        })
    }

    /// Applies a TOML settings file.
    pub fn apply_toml(&mut self, text: &str) -> Result<(), CoreError> {
        let f: SettingsFile =
            toml::from_str(text).map_err(|e| CoreError::Parse(format!("settings file: {e}")))?;
        if let Some(m) = f.fiscal_year_start_month {
            self.set("fiscal_year_start_month", &m.to_string())?;
        }
        if let Some(v) = f.time_zone {
            self.set("time_zone", &v)?;
        }
        if let Some(v) = f.currency {
            self.set("currency", &v)?;
        }
        if let Some(v) = f.lead_sla_minutes {
            self.set("lead_sla_minutes", &v.to_string())?;
        }
        if let Some(v) = f.holidays {
            self.set("holidays", &v.join(","))?;
        }
        if let Some(v) = f.gross_margin {
            self.set("gross_margin", &v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::{Timestamp, fmt_date};

    #[test]
    fn dates_are_taken_in_the_org_zone_across_midnight() {
        let mut s = Settings::default();
        let t = Timestamp::parse("2024-03-31T23:30:00Z").unwrap();
        assert_eq!(fmt_date(s.local_date(t)), "2024-03-31");
        s.set("time_zone", "Europe/Berlin").unwrap(); // UTC+2 in summer time
        assert_eq!(fmt_date(s.local_date(t)), "2024-04-01");
        s.set("time_zone", "America/Los_Angeles").unwrap();
        assert_eq!(
            fmt_date(s.local_date(Timestamp::parse("2024-04-01T06:59:00Z").unwrap())),
            "2024-03-31"
        );
        s.set("time_zone", "America/Los_Angeles").unwrap();
        assert_eq!(
            fmt_date(s.parse_local_date("2024-01-05T03:00:00.000Z").unwrap()),
            "2024-01-04"
        );
        assert_eq!(
            fmt_date(s.parse_local_date("2024-01-05").unwrap()),
            "2024-01-05",
            "a bare date stays"
        );
        assert_eq!(
            fmt_date(s.parse_local_date("1992-05-01 00:00:00.000").unwrap()),
            "1992-05-01",
            "zone-less is local"
        );
        assert_eq!(
            fmt_date(s.parse_local_date("2024-07-11T01:22:07.000+0000").unwrap()),
            "2024-07-10"
        );
        s.set("time_zone", "+05:30").unwrap();
        assert_eq!(
            fmt_date(s.local_date(Timestamp::parse("2024-03-31T18:30:00Z").unwrap())),
            "2024-04-01"
        );
        assert!(s.set("time_zone", "Mars/Olympus").is_err());
        assert_eq!(s.time_zone, "+05:30", "a refused value changes nothing");
    }
}
