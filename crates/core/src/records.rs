//! The CRM records salesorg holds, as parsed values: people, org units, reporting lines,
//! accounts, leads, opportunities with their stage history, activities, quotas, spend,
//! currency rates and survey responses.

use std::fmt;

use crate::CoreError;
use crate::date::{Date, Timestamp};
use crate::ids::*;
use crate::money::{Currency, Money, Rate};
use crate::period::Period;

/// A person in the org, linked to a role in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub role: Option<RoleId>,
    pub hired: Option<Date>,
    pub left: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitKind {
    Company,
    Region,
    Department,
    Team,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Company => "company",
            UnitKind::Region => "region",
            UnitKind::Department => "department",
            UnitKind::Team => "team",
        }
    }
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "company" => UnitKind::Company,
            "region" => UnitKind::Region,
            "department" => UnitKind::Department,
            "team" => UnitKind::Team,
            other => {
                return Err(CoreError::Parse(format!(
                    "{other:?} is not a unit kind (company, region, department, team)"
                )));
            }
        })
    }
}

/// An org unit. Units form a tree through `parent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<UnitId>,
}

/// An effective-dated interval `[from, to)`; `to = None` means open-ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Validity {
    pub from: Date,
    pub to: Option<Date>,
}

impl Validity {
    pub fn new(from: Date, to: Option<Date>) -> Result<Self, CoreError> {
        if let Some(t) = to
            && t <= from
        {
            return Err(CoreError::Rule(format!(
                "valid_to {} is not after valid_from {}",
                crate::date::fmt_date(t),
                crate::date::fmt_date(from)
            )));
        }
        Ok(Validity { from, to })
    }
    pub fn contains(&self, d: Date) -> bool {
        self.from <= d && self.to.is_none_or(|t| d < t)
    }
    pub fn overlaps(&self, o: &Validity) -> bool {
        self.from < o.to.unwrap_or(Date::MAX) && o.from < self.to.unwrap_or(Date::MAX)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = self
            .to
            .map(crate::date::fmt_date)
            .unwrap_or_else(|| "open".into());
        write!(f, "[{}, {to})", crate::date::fmt_date(self.from))
    }
}

/// "`person` reports to `manager`" over `valid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReportingLine {
    pub person: PersonId,
    pub manager: PersonId,
    pub valid: Validity,
}

/// "`person` belongs to `unit`" over `valid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Membership {
    pub person: PersonId,
    pub unit: UnitId,
    pub valid: Validity,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub industry: Option<String>,
    pub employees: Option<i64>,
    pub region: Option<String>,
    pub owner: Option<PersonId>,
    pub parent: Option<AccountId>,
    pub customer_since: Option<Date>,
    pub churned_on: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lead {
    pub id: LeadId,
    pub owner: PersonId,
    pub source: Option<String>,
    pub status: Option<String>,
    pub created: Timestamp,
    pub converted_at: Option<Date>,
    pub converted_opp: Option<OppId>,
    pub converted_account: Option<AccountId>,
}

/// Whether an opportunity is still open, or closed won or lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OppStatus {
    Open,
    Won,
    Lost,
}

impl OppStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OppStatus::Open => "open",
            OppStatus::Won => "won",
            OppStatus::Lost => "lost",
        }
    }
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "open" => Ok(OppStatus::Open),
            "won" => Ok(OppStatus::Won),
            "lost" => Ok(OppStatus::Lost),
            o => Err(CoreError::Parse(format!("{o:?} is not open, won or lost"))),
        }
    }
}

/// Forecast category, in Salesforce's vocabulary (HubSpot's map onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForecastCategory {
    Pipeline,
    BestCase,
    Commit,
    Closed,
    Omitted,
}

impl ForecastCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ForecastCategory::Pipeline => "pipeline",
            ForecastCategory::BestCase => "best_case",
            ForecastCategory::Commit => "commit",
            ForecastCategory::Closed => "closed",
            ForecastCategory::Omitted => "omitted",
        }
    }
    /// Accepts Salesforce API values (`Pipeline`, `BestCase`, `MostLikely`, `Forecast`,
    /// `Closed`, `Omitted`), their labels (`Best Case`, `Commit`) and HubSpot's
    /// (`BEST_CASE`, `COMMIT`, `OMIT`).
    ///
    /// Only the ASCII letters and digits count, in any case (`Best-Case`, `best case`).
    /// The store's own form ([`ForecastCategory::as_str`]) is matched first, as it is for
    /// every stage row of a load; no form allocates.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let own = match s {
            "pipeline" => Some(ForecastCategory::Pipeline),
            "best_case" => Some(ForecastCategory::BestCase),
            "commit" => Some(ForecastCategory::Commit),
            "closed" => Some(ForecastCategory::Closed),
            "omitted" => Some(ForecastCategory::Omitted),
            _ => None,
        };
        // (the general read below costs every stage row of a load some 200 instructions
        // more: a first run at 200K opportunities 17.95 → 18.16 G without this match)
        if let Some(f) = own {
            return Ok(f);
        }
        // the letters and digits, lower-cased: a form longer than the longest accepted
        // (`mostlikely`) is none of them
        let mut key = [0u8; 10];
        let mut n = 0;
        for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
            if n == key.len() {
                n = usize::MAX;
                break;
            }
            key[n] = b.to_ascii_lowercase();
            n += 1;
        }
        Ok(match key.get(..n) {
            Some(b"pipeline") => ForecastCategory::Pipeline,
            Some(b"bestcase" | b"mostlikely") => ForecastCategory::BestCase,
            Some(b"commit" | b"forecast") => ForecastCategory::Commit,
            Some(b"closed" | b"closedwon") => ForecastCategory::Closed,
            Some(b"omitted" | b"omit") => ForecastCategory::Omitted,
            _ => {
                return Err(CoreError::Parse(format!(
                    "{s:?} is not a forecast category"
                )));
            }
        })
    }
}

/// A stage name, as the source's sales process calls it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stage(String);

impl Stage {
    pub fn parse(s: &str) -> Result<Stage, CoreError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(CoreError::Parse("empty stage".into()));
        }
        Ok(Stage(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Probability in basis points (0..=10000), so that weighted pipeline stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Probability(u16);

impl Probability {
    pub fn from_bp(bp: u16) -> Result<Self, CoreError> {
        if bp > 10_000 {
            return Err(CoreError::Parse(format!(
                "probability {bp} bp is above 100 %"
            )));
        }
        Ok(Probability(bp))
    }
    pub fn bp(self) -> u16 {
        self.0
    }
    /// Parses a percentage as exported by Salesforce (`10`, `62.5`), 0..=100.
    pub fn parse_percent(s: &str) -> Result<Self, CoreError> {
        let m =
            Money::parse(s).map_err(|_| CoreError::Parse(format!("{s:?} is not a percentage")))?;
        let bp = m.units() / 100; // percent with 4 decimals -> basis points
        if m.units() % 100 != 0 || !(0..=10_000).contains(&bp) {
            return Err(CoreError::Parse(format!(
                "{s:?} is not a percentage between 0 and 100"
            )));
        }
        Ok(Probability(bp as u16))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Opportunity {
    pub id: OppId,
    pub name: Option<String>,
    pub account: Option<AccountId>,
    pub owner: PersonId,
    pub amount: Option<Money>,
    pub currency: Currency,
    pub stage: Stage,
    pub status: OppStatus,
    pub probability: Option<Probability>,
    pub forecast_category: Option<ForecastCategory>,
    pub kind: Option<String>,
    pub source: Option<String>,
    /// When it was created (Maven: `engage_date`); `None` where the source has no date
    /// (Maven's Prospecting rows).
    pub created: Option<Date>,
    /// Actual close date when closed, expected close date when open.
    pub close_date: Option<Date>,
    pub loss_reason: Option<String>,
    pub next_step: Option<String>,
    pub last_modified: Option<Timestamp>,
}

/// One row of an opportunity's history: the stage, amount and close date it had from `at`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StageChange {
    pub id: String,
    pub opp: OppId,
    pub at: Timestamp,
    pub stage: Stage,
    pub amount: Option<Money>,
    pub close_date: Option<Date>,
    pub probability: Option<Probability>,
    pub forecast_category: Option<ForecastCategory>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityKind {
    Call,
    Email,
    Meeting,
    Task,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Email => "email",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Task => "task",
        }
    }
    /// Accepts each kind's own name ([`ActivityKind::as_str`], the store's form, tried
    /// first) and the other names CRMs write (`Phone Call`, `E-mail`, `Event`, `To-do`),
    /// in any case, around spaces; without allocating.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        const NAMES: [(&str, ActivityKind); 10] = [
            ("call", ActivityKind::Call),
            ("email", ActivityKind::Email),
            ("meeting", ActivityKind::Meeting),
            ("task", ActivityKind::Task),
            ("phone", ActivityKind::Call),
            ("phone call", ActivityKind::Call),
            ("e-mail", ActivityKind::Email),
            ("event", ActivityKind::Meeting),
            ("todo", ActivityKind::Task),
            ("to-do", ActivityKind::Task),
        ];
        let t = s.trim();
        NAMES
            .iter()
            .find(|(name, _)| t.eq_ignore_ascii_case(name))
            .map(|&(_, k)| k)
            .ok_or_else(|| {
                CoreError::Parse(format!(
                    "{:?} is not an activity type (call, email, meeting, task)",
                    t.to_ascii_lowercase()
                ))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Activity {
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub at: Timestamp,
    pub owner: PersonId,
    pub lead: Option<LeadId>,
    pub opp: Option<OppId>,
    pub account: Option<AccountId>,
    pub subject: Option<String>,
}

/// What a quota is set on (spec §3 `quota`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QuotaTarget {
    /// A person's own book.
    Person(PersonId),
    /// A leader's whole team.
    Team(PersonId),
    Unit(UnitId),
}

impl QuotaTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            QuotaTarget::Person(_) => "person",
            QuotaTarget::Team(_) => "team",
            QuotaTarget::Unit(_) => "unit",
        }
    }
    pub fn id(&self) -> &str {
        match self {
            QuotaTarget::Person(p) | QuotaTarget::Team(p) => p.as_str(),
            QuotaTarget::Unit(u) => u.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Quota {
    pub target: QuotaTarget,
    pub period: Period,
    /// The metric the quota is on; `bookings` unless the source says otherwise.
    pub metric: String,
    /// For money metrics, an amount; for counts, a whole number in `Money` units.
    pub amount: Money,
}

/// Where a spend entry is assigned (spec §5 `sales_marketing_spend`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpendScope {
    Company,
    Unit(UnitId),
    Person(PersonId),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Spend {
    pub date: Date,
    pub scope: SpendScope,
    pub category: String,
    pub amount: Money,
}

/// `1 from` = `rate` units of `to`, in force from `date` until the next rate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CurrencyRate {
    pub date: Date,
    pub from: Currency,
    pub to: Currency,
    /// Exact rate with ten decimals.
    pub rate: Rate,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SurveyResponse {
    pub id: String,
    pub account: AccountId,
    pub date: Date,
    pub score: i32,
    pub scale_min: i32,
    pub scale_max: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The forecast category as first written: any letters and digits, lower-cased, looked
    /// up among the accepted forms.
    fn forecast_category_as_first_read(s: &str) -> Option<ForecastCategory> {
        let k: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        match k.to_ascii_lowercase().as_str() {
            "pipeline" => Some(ForecastCategory::Pipeline),
            "bestcase" | "mostlikely" => Some(ForecastCategory::BestCase),
            "commit" | "forecast" => Some(ForecastCategory::Commit),
            "closed" | "closedwon" => Some(ForecastCategory::Closed),
            "omitted" | "omit" => Some(ForecastCategory::Omitted),
            _ => None,
        }
    }

    /// The activity kind as first written: trimmed, lower-cased, looked up.
    fn activity_kind_as_first_read(s: &str) -> Option<ActivityKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "call" | "phone" | "phone call" => Some(ActivityKind::Call),
            "email" | "e-mail" => Some(ActivityKind::Email),
            "meeting" | "event" => Some(ActivityKind::Meeting),
            "task" | "todo" | "to-do" => Some(ActivityKind::Task),
            _ => None,
        }
    }

    /// Every accepted form as CRMs write them, and near misses.
    const FORMS: [&str; 25] = [
        "pipeline",
        "best_case",
        "BestCase",
        "Best Case",
        "BEST_CASE",
        "MostLikely",
        "commit",
        "Forecast",
        "closed",
        "Closed Won",
        "omitted",
        "OMIT",
        "call",
        "Phone Call",
        "phone",
        "email",
        "E-mail",
        "meeting",
        "Event",
        "task",
        "To-do",
        "todo",
        "mostlikelyy",
        "closedwo",
        "omi",
    ];

    /// A text near an accepted form: one of them (or a near miss), its letters' case
    /// flipped at random, with separators, spaces and other characters put in.
    fn near_a_form() -> impl Strategy<Value = String> {
        let noise = prop::collection::vec(
            prop::sample::select(vec!["", "", "", " ", "-", "_", "é", "\t", "0", "x", "ß"]),
            0..6,
        );
        (
            prop::sample::select(FORMS.to_vec()),
            noise,
            prop::collection::vec(any::<bool>(), 12),
            any::<u64>(),
        )
            .prop_map(|(form, noise, flips, at)| {
                let mut s: String = form
                    .chars()
                    .zip(flips.iter().cycle())
                    .map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c })
                    .collect();
                for (k, n) in noise.iter().enumerate() {
                    let mut i = (at as usize).wrapping_add(k * 7) % (s.len() + 1);
                    while !s.is_char_boundary(i) {
                        i -= 1;
                    }
                    s.insert_str(i, n);
                }
                s
            })
    }

    /// Each form, as it is, in capitals, in small letters and between spaces, reads as it
    /// first did.
    #[test]
    fn every_form_reads_as_first_written() {
        for f in FORMS {
            for s in [
                f.to_string(),
                f.to_ascii_uppercase(),
                f.to_ascii_lowercase(),
                format!(" {f}\t"),
            ] {
                assert_eq!(
                    ForecastCategory::parse(&s).ok(),
                    forecast_category_as_first_read(&s),
                    "{s:?}"
                );
                assert_eq!(
                    ActivityKind::parse(&s).ok(),
                    activity_kind_as_first_read(&s),
                    "{s:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        /// The parse that matches the store's forms first and allocates nothing reads every
        /// text as the first one did: near the accepted forms and anything at all.
        #[test]
        fn forecast_category_and_activity_kind_read_as_first_written(
            s in prop_oneof![near_a_form(), ".{0,16}", "[ a-zA-Z_-]{0,12}"],
        ) {
            prop_assert_eq!(ForecastCategory::parse(&s).ok(), forecast_category_as_first_read(&s));
            prop_assert_eq!(ActivityKind::parse(&s).ok(), activity_kind_as_first_read(&s));
        }
    }

    #[test]
    fn each_store_form_reads_back() {
        for f in [
            ForecastCategory::Pipeline,
            ForecastCategory::BestCase,
            ForecastCategory::Commit,
            ForecastCategory::Closed,
            ForecastCategory::Omitted,
        ] {
            assert_eq!(ForecastCategory::parse(f.as_str()).unwrap(), f);
        }
        for k in [
            ActivityKind::Call,
            ActivityKind::Email,
            ActivityKind::Meeting,
            ActivityKind::Task,
        ] {
            assert_eq!(ActivityKind::parse(k.as_str()).unwrap(), k);
        }
        let e = ActivityKind::parse(" Fax ").unwrap_err().to_string();
        assert!(e.contains("\"fax\" is not an activity type"), "{e}");
        let e = ForecastCategory::parse("Maybe").unwrap_err().to_string();
        assert!(e.contains("\"Maybe\" is not a forecast category"), "{e}");
    }
}
