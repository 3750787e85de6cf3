//! Organisation settings: fiscal-year start, time zone, currency, lead-response SLA,
//! holidays, gross margin, quota pro-rating and the links from a record's id to the CRM.
//! Stored in the store; set from the CLI or a TOML file.

use serde::Deserialize;

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
    /// How a quota set for a longer period counts for a shorter one (spec §3 `quota`).
    pub quota_prorating: Prorating,
    /// Where a record's id links to in the CRM (`record_url`, `record_url_<object>`).
    pub record_urls: RecordUrls,
}

/// The kinds of CRM record a drill-down lists by the CRM's own id: each can link to the
/// record in the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordObject {
    Opportunity,
    Lead,
    Account,
    /// A call, email or meeting (a Salesforce Task or Event, a HubSpot engagement).
    Activity,
    Survey,
}

impl RecordObject {
    pub const ALL: [RecordObject; 5] = [
        RecordObject::Opportunity,
        RecordObject::Lead,
        RecordObject::Account,
        RecordObject::Activity,
        RecordObject::Survey,
    ];
    /// The setting that links this kind of record (`record_url_opportunity`, …).
    pub fn key(self) -> &'static str {
        match self {
            RecordObject::Opportunity => "record_url_opportunity",
            RecordObject::Lead => "record_url_lead",
            RecordObject::Account => "record_url_account",
            RecordObject::Activity => "record_url_activity",
            RecordObject::Survey => "record_url_survey",
        }
    }
}

/// A link to a record in the CRM: an `http(s)://` URL with `{id}` where the record's id
/// goes (`https://acme.my.salesforce.com/{id}`). Parsed once when set, so a page can put it
/// in an `href` as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(String);

impl UrlTemplate {
    /// Parses a template; an empty one is none (the setting cleared).
    pub fn parse(value: &str) -> Result<Option<UrlTemplate>, CoreError> {
        let t = value.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let bad = |why: &str| {
            CoreError::Parse(format!(
                "record URL {t:?}: {why}; e.g. https://acme.my.salesforce.com/{{id}}"
            ))
        };
        let lower = t.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .ok_or_else(|| bad("it must start with https:// or http://"))?;
        if rest.is_empty() || rest.starts_with(['/', '{']) {
            return Err(bad("it names no host"));
        }
        if !t.contains("{id}") {
            return Err(bad("it must hold {id}, where the record's id goes"));
        }
        if t.replace("{id}", "").contains(['{', '}']) {
            return Err(bad("{id} is the only placeholder"));
        }
        if let Some(c) = t
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "\"<>\\^`|".contains(*c))
        {
            return Err(bad(&format!("{c:?} cannot stand in a URL")));
        }
        Ok(Some(UrlTemplate(t.to_owned())))
    }
    /// The link to record `id` (percent-encoded: a `/`, `#` or space in an id stays in it).
    pub fn fill(&self, id: &str) -> String {
        let mut enc = String::with_capacity(id.len());
        for b in id.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                enc.push(b as char);
            } else {
                enc.push_str(&format!("%{b:02X}"));
            }
        }
        self.0.replace("{id}", &enc)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The links from records' ids to the CRM: one template for every kind of record
/// (`record_url`), and one per kind that replaces it (`record_url_<object>`: a HubSpot
/// deal and contact have paths of their own).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordUrls {
    pub any: Option<UrlTemplate>,
    /// In [`RecordObject::ALL`]'s order.
    pub per: [Option<UrlTemplate>; 5],
}

impl RecordUrls {
    /// The link to record `id` of kind `object`, when a template is set for it.
    pub fn link(&self, object: RecordObject, id: &str) -> Option<String> {
        let ix = RecordObject::ALL.iter().position(|&o| o == object)?;
        self.per[ix]
            .as_ref()
            .or(self.any.as_ref())
            .map(|t| t.fill(id))
    }
    fn slot(&mut self, key: &str) -> Option<&mut Option<UrlTemplate>> {
        if key == "record_url" {
            return Some(&mut self.any);
        }
        let ix = RecordObject::ALL.iter().position(|o| o.key() == key)?;
        Some(&mut self.per[ix])
    }
    fn get(&self, key: &str) -> Option<&Option<UrlTemplate>> {
        if key == "record_url" {
            return Some(&self.any);
        }
        let ix = RecordObject::ALL.iter().position(|o| o.key() == key)?;
        Some(&self.per[ix])
    }
}

/// Spec §3 `quota`: a quota counts for a period inside its own only when the organisation
/// configures pro-rating, evenly or by a seasonality profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prorating {
    /// A quota counts only for periods that hold its own whole (the default).
    #[default]
    None,
    /// A quota's months weigh the same (`even`).
    Even,
    /// Each month of the fiscal year weighs its number, first month first
    /// (`8,8,9,8,8,9,8,8,9,8,8,9`).
    Seasonal([u32; 12]),
}

impl Prorating {
    /// Each fiscal month's weight (first month first); `None` without pro-rating.
    pub fn weights(&self) -> Option<[u32; 12]> {
        match self {
            Prorating::None => None,
            Prorating::Even => Some([1; 12]),
            Prorating::Seasonal(w) => Some(*w),
        }
    }
    fn parse(value: &str) -> Result<Prorating, CoreError> {
        let v = value.trim();
        match v.to_ascii_lowercase().as_str() {
            "none" | "" => return Ok(Prorating::None),
            "even" => return Ok(Prorating::Even),
            _ => {}
        }
        let bad = || {
            CoreError::Parse(format!(
                "quota pro-rating {v:?}: use none, even, or twelve whole weights, one per \
                 month of the fiscal year, first month first (8,8,9,8,8,9,8,8,9,8,8,9)"
            ))
        };
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.len() != 12 {
            return Err(bad());
        }
        let mut w = [0u32; 12];
        for (x, p) in w.iter_mut().zip(&parts) {
            *x = p
                .parse()
                .ok()
                .filter(|&n: &u32| n <= 1_000_000)
                .ok_or_else(bad)?;
        }
        if w.iter().all(|&x| x == 0) {
            return Err(bad());
        }
        Ok(Prorating::Seasonal(w))
    }
    fn text(&self) -> String {
        match self {
            Prorating::None => "none".into(),
            Prorating::Even => "even".into(),
            Prorating::Seasonal(w) => w.map(|x| x.to_string()).join(","),
        }
    }
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
            quota_prorating: Prorating::None,
            record_urls: RecordUrls::default(),
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
    "quota_prorating",
    "record_url",
    "record_url_opportunity",
    "record_url_lead",
    "record_url_account",
    "record_url_activity",
    "record_url_survey",
];

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

/// Whether a date-time as exports write it names its zone (`…Z`, `…+0000`, `…-05:00`).
fn has_zone(t: &str) -> bool {
    let rest = t.get(10..).unwrap_or("");
    rest.contains(':')
        && (rest.ends_with('Z') || rest.get(1..).is_some_and(|r| r.contains(['+', '-'])))
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
        let zoned = has_zone(t);
        if zoned {
            Ok(self.local_date(crate::date::parse_timestamp(t)?))
        } else {
            parse_date(t)
        }
    }

    /// Parses a timestamp field as exports write it: with a zone (`…Z`, `…+0000`,
    /// `…-05:00`) it is that moment; a bare date, or a date-time without a zone, is local
    /// wall time in the organisation's zone (a bare date its midnight), so that its local
    /// date (spec §1) is the date as written.
    pub fn parse_local_timestamp(&self, s: &str) -> Result<crate::date::Timestamp, CoreError> {
        let t = s.trim();
        let zoned = has_zone(t);
        let wall = crate::date::parse_timestamp(t)?;
        if zoned {
            return Ok(wall);
        }
        // the wall time, read as if in UTC, moved by the zone's offset at that time
        let civil = jiff::Timestamp::from_second(wall.unix())
            .map(|x| x.to_zoned(jiff::tz::TimeZone::UTC).datetime())
            .map_err(|e| CoreError::Parse(format!("{s:?}: {e}")))?;
        let at = civil
            .to_zoned(self.zone())
            .map_err(|e| CoreError::Parse(format!("{s:?}: {e}")))?;
        Ok(crate::date::Timestamp::from_unix(
            at.timestamp().as_second(),
        ))
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
                    CoreError::Parse(format!(
                        "{value:?} is not a whole number of minutes from 0 to {}",
                        u32::MAX
                    ))
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
            "quota_prorating" => self.quota_prorating = Prorating::parse(value)?,
            k if k.starts_with("record_url") && self.record_urls.get(k).is_some() => {
                let t = UrlTemplate::parse(value)?;
                if let Some(slot) = self.record_urls.slot(k) {
                    *slot = t;
                }
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
            "quota_prorating" => self.quota_prorating.text(),
            k => self
                .record_urls
                .get(k)?
                .as_ref()
                .map_or_else(String::new, |t| t.as_str().to_owned()),
        })
    }

    /// The settings as the TOML file that [`Settings::apply_toml`] reads
    /// (`salesorg settings --format toml > org.toml`, later `salesorg settings load org.toml`).
    pub fn to_toml(&self) -> String {
        use toml::Value;
        let mut t = toml::Table::new();
        let text = |k: &str| Value::String(self.get(k).unwrap_or_default());
        t.insert(
            "fiscal_year_start_month".into(),
            Value::Integer(i64::from(self.fiscal.start_month())),
        );
        t.insert("time_zone".into(), text("time_zone"));
        t.insert("currency".into(), text("currency"));
        t.insert(
            "lead_sla_minutes".into(),
            Value::Integer(i64::from(self.lead_sla_minutes)),
        );
        t.insert(
            "holidays".into(),
            Value::Array(
                self.holidays
                    .iter()
                    .map(|d| Value::String(fmt_date(*d)))
                    .collect(),
            ),
        );
        t.insert("gross_margin".into(), text("gross_margin"));
        t.insert("quota_prorating".into(), text("quota_prorating"));
        // (a link not set is left out: the file names only the CRM links it sets)
        for k in KEYS.iter().filter(|k| k.starts_with("record_url")) {
            if let Some(Some(u)) = self.record_urls.get(k) {
                t.insert((*k).into(), Value::String(u.as_str().to_owned()));
            }
        }
        toml::to_string(&t).unwrap_or_default()
    }

    /// Applies a TOML settings file whole or not at all. An error begins with the line and
    /// column of the value it is about (`3:20: …`), for the caller to put the file's name
    /// before.
    pub fn apply_toml(&mut self, text: &str) -> Result<(), CoreError> {
        let at = |span: std::ops::Range<usize>, why: &dyn std::fmt::Display| {
            let (line, column) = line_column(text, span.start);
            CoreError::Parse(format!("{line}:{column}: {why}"))
        };
        let f: SpannedFile = toml::from_str(text).map_err(|e| {
            let why = e.message().trim_end().to_owned();
            at(e.span().unwrap_or(0..0), &why)
        })?;
        let mut next = self.clone();
        let mut set = |key: &str, value: String, span: std::ops::Range<usize>| {
            next.set(key, &value)
                .map_err(|e| at(span, &format!("{key}: {e}")))
        };
        if let Some(v) = f.fiscal_year_start_month {
            set("fiscal_year_start_month", v.get_ref().to_string(), v.span())?;
        }
        for (key, v) in [
            ("time_zone", f.time_zone),
            ("currency", f.currency),
            ("gross_margin", f.gross_margin),
            ("quota_prorating", f.quota_prorating),
            ("record_url", f.record_url),
            ("record_url_opportunity", f.record_url_opportunity),
            ("record_url_lead", f.record_url_lead),
            ("record_url_account", f.record_url_account),
            ("record_url_activity", f.record_url_activity),
            ("record_url_survey", f.record_url_survey),
        ] {
            if let Some(v) = v {
                let span = v.span();
                set(key, v.into_inner(), span)?;
            }
        }
        if let Some(v) = f.lead_sla_minutes {
            set("lead_sla_minutes", v.get_ref().to_string(), v.span())?;
        }
        if let Some(days) = f.holidays {
            // each day checked where it stands, then the list set whole
            for d in &days {
                parse_date(d.get_ref()).map_err(|e| at(d.span(), &format!("holidays: {e}")))?;
            }
            let all: Vec<String> = days.into_iter().map(toml::Spanned::into_inner).collect();
            set("holidays", all.join(","), 0..0)?;
        }
        *self = next;
        Ok(())
    }
}

/// Settings as they appear in a TOML file (every key optional), with where each value
/// stands in the file, for errors that point at it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpannedFile {
    fiscal_year_start_month: Option<toml::Spanned<u8>>,
    time_zone: Option<toml::Spanned<String>>,
    currency: Option<toml::Spanned<String>>,
    lead_sla_minutes: Option<toml::Spanned<u32>>,
    holidays: Option<Vec<toml::Spanned<String>>>,
    gross_margin: Option<toml::Spanned<String>>,
    quota_prorating: Option<toml::Spanned<String>>,
    record_url: Option<toml::Spanned<String>>,
    record_url_opportunity: Option<toml::Spanned<String>>,
    record_url_lead: Option<toml::Spanned<String>>,
    record_url_account: Option<toml::Spanned<String>>,
    record_url_activity: Option<toml::Spanned<String>>,
    record_url_survey: Option<toml::Spanned<String>>,
}

/// The 1-based line and column (in characters) of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::{Timestamp, fmt_date};

    /// A wall time without a zone is the organisation's: its local date is the date as
    /// written (a lead created "2018-02-26 23:30" in São Paulo is not the 27th's, as it
    /// would be read as UTC), and one with a zone is that moment.
    #[test]
    fn a_wall_time_without_a_zone_is_the_org_zones() {
        let mut s = Settings::default();
        s.set("time_zone", "America/Sao_Paulo").unwrap(); // UTC-3
        let t = s.parse_local_timestamp("2018-02-26 23:30:00").unwrap();
        assert_eq!(t, Timestamp::parse("2018-02-27T02:30:00Z").unwrap());
        assert_eq!(fmt_date(s.local_date(t)), "2018-02-26");
        let midnight = s.parse_local_timestamp("2018-02-26").unwrap();
        assert_eq!(midnight, Timestamp::parse("2018-02-26T03:00:00Z").unwrap());
        assert_eq!(fmt_date(s.local_date(midnight)), "2018-02-26");
        let zoned = s.parse_local_timestamp("2018-02-26T23:30:00Z").unwrap();
        assert_eq!(fmt_date(s.local_date(zoned)), "2018-02-26");
        assert_eq!(zoned, Timestamp::parse("2018-02-26T23:30:00Z").unwrap());
        assert!(s.parse_local_timestamp("2018-02-30 10:00").is_err());
    }

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

    /// What `to_toml` writes, `apply_toml` reads back to the same settings, from the
    /// defaults and from settings that differ from them in every key.
    /// Quota pro-rating: none, even, or twelve whole weights, one per fiscal month; the
    /// rest refused with the forms it takes.
    #[test]
    fn quota_prorating_is_none_even_or_twelve_weights() {
        let mut s = Settings::default();
        assert_eq!(s.quota_prorating, Prorating::None);
        s.set("quota_prorating", "Even").unwrap();
        assert_eq!(s.quota_prorating.weights(), Some([1; 12]));
        s.set("quota_prorating", "8,8,9,8,8,9,8,8,9,8,8,9").unwrap();
        assert_eq!(s.get("quota_prorating").unwrap(), "8,8,9,8,8,9,8,8,9,8,8,9");
        for bad in [
            "monthly",
            "1,2,3",
            "0,0,0,0,0,0,0,0,0,0,0,0",
            "1,1,1,1,1,1,1,1,1,1,1,-1",
            "1,1,1,1,1,1,1,1,1,1,1,x",
        ] {
            let e = s.set("quota_prorating", bad).unwrap_err().to_string();
            assert!(
                e.contains("use none, even, or twelve whole weights"),
                "{bad}: {e}"
            );
        }
        s.set("quota_prorating", "none").unwrap();
        assert_eq!(s.quota_prorating, Prorating::None);
    }

    /// A record's id links to the CRM through the template for its kind, else the one for
    /// every kind; the id is percent-encoded; a template that is not an http(s) URL with
    /// `{id}` in it is refused, saying why, and changes nothing; an empty one clears it.
    #[test]
    fn a_records_id_links_to_the_crm_through_its_kinds_template() {
        let mut s = Settings::default();
        assert_eq!(s.record_urls.link(RecordObject::Opportunity, "006A"), None);
        s.set("record_url", " https://acme.my.salesforce.com/{id} ")
            .unwrap();
        s.set(
            "record_url_lead",
            "https://app.hubspot.com/contacts/42/record/0-1/{id}?from={id}",
        )
        .unwrap();
        let u = &s.record_urls;
        assert_eq!(
            u.link(RecordObject::Opportunity, "0065g00000AbCdE")
                .as_deref(),
            Some("https://acme.my.salesforce.com/0065g00000AbCdE")
        );
        assert_eq!(
            u.link(RecordObject::Lead, "a b/c#d?é").as_deref(),
            Some(
                "https://app.hubspot.com/contacts/42/record/0-1/a%20b%2Fc%23d%3F%C3%A9?from=a%20b%2Fc%23d%3F%C3%A9"
            )
        );
        assert_eq!(
            s.get("record_url").as_deref(),
            Some("https://acme.my.salesforce.com/{id}")
        );
        assert_eq!(s.get("record_url_survey").as_deref(), Some(""));
        let before = s.clone();
        for (bad, why) in [
            (
                "javascript:alert(1)//{id}",
                "must start with https:// or http://",
            ),
            ("https://acme.example.com/", "must hold {id}"),
            ("https://{id}", "names no host"),
            (
                "https://acme.example.com/{Id}/{id}",
                "{id} is the only placeholder",
            ),
            (
                "https://acme.example.com/\"{id}",
                "'\"' cannot stand in a URL",
            ),
            (
                "https://acme.example.com/ {id}",
                "' ' cannot stand in a URL",
            ),
        ] {
            let e = s.set("record_url_account", bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert_eq!(s, before, "{bad}: a refused value changes nothing");
        }
        s.set("record_url", "").unwrap();
        assert_eq!(s.record_urls.link(RecordObject::Opportunity, "006A"), None);
        assert!(s.record_urls.link(RecordObject::Lead, "00Q").is_some());
        assert!(s.set("record_url_task", "https://x.example/{id}").is_err());
    }

    #[test]
    fn settings_written_as_toml_read_back_the_same() {
        let mut s = Settings::default();
        let mut fresh = Settings::default();
        fresh.apply_toml(&s.to_toml()).unwrap();
        assert_eq!(fresh, s);
        for (k, v) in [
            ("fiscal_year_start_month", "2"),
            ("time_zone", "Europe/Berlin"),
            ("currency", "EUR"),
            ("lead_sla_minutes", "15"),
            ("holidays", "2026-01-01, 2026-12-25"),
            ("gross_margin", "0.65"),
            ("quota_prorating", "8, 8, 9, 8, 8, 9, 8, 8, 9, 8, 8, 9"),
            ("record_url", "https://acme.my.salesforce.com/{id}"),
            (
                "record_url_lead",
                "https://app.hubspot.com/contacts/42/record/0-1/{id}",
            ),
        ] {
            s.set(k, v).unwrap();
        }
        let text = s.to_toml();
        let mut back = Settings::default();
        back.apply_toml(&text).unwrap();
        assert_eq!(back, s, "{text}");
        assert!(
            text.contains("holidays = [\"2026-01-01\", \"2026-12-25\"]"),
            "{text}"
        );
    }

    #[test]
    fn a_settings_file_applies_whole_or_names_the_line_and_column_of_its_fault() {
        let mut s = Settings::default();
        s.apply_toml("time_zone = \"Europe/Berlin\"\nlead_sla_minutes = 15\n")
            .unwrap();
        assert_eq!(
            (s.time_zone.as_str(), s.lead_sla_minutes),
            ("Europe/Berlin", 15)
        );
        let before = s.clone();
        for (text, want) in [
            (
                "currency = \"EUR\"\nfiscal_year_start_month = 13\n",
                "2:27: fiscal_year_start_month: fiscal-year start month 13 is not 1..12",
            ),
            ("time_zone = \"Mars/Olympus\"", "1:13: time_zone: time zone"),
            (
                "fiscal_year_start_month = \"x\"",
                "1:27: invalid type: string",
            ),
            ("nope = 1", "1:1: unknown field `nope`"),
            ("a = = 1", "1:5: "),
            (
                "holidays = [\"2026-01-01\",\n  \"2026-02-30\"]",
                "2:3: holidays: \"2026-02-30\" is not a date",
            ),
            // (columns count characters, not bytes)
            (
                "# é\ngross_margin = \"2\"",
                "2:16: gross_margin: gross margin",
            ),
        ] {
            let e = s.apply_toml(text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
            assert_eq!(s, before, "{text:?}: a refused file changes nothing");
        }
    }
}
