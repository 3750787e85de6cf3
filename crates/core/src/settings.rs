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
    /// `UTC` or a fixed offset such as `+02:00` / `-05:00`.
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

/// Parses a time zone: `UTC`, `Z` or a fixed offset `±HH:MM`; returns its offset in seconds.
pub fn parse_time_zone(s: &str) -> Result<i32, CoreError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(0);
    }
    let bad = || {
        CoreError::Parse(format!(
            "time zone {t:?}: use UTC or a fixed offset like +02:00"
        ))
    };
    let sign = match t.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let (h, m) = t[1..].split_once(':').ok_or_else(bad)?;
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if h > 14 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

impl Settings {
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
