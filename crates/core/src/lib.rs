//! salesorg-core owns the domain: identifiers, money, dates and periods, CRM records, the
//! effective-dated org tree and the role catalog. It does no I/O and never reads the clock:
//! every "as of" date is a parameter.

pub mod catalog;
pub mod date;
pub mod ids;
pub mod kpi;
pub mod money;
pub mod names;
pub mod org;
pub mod period;
pub mod records;
pub mod scorecard;
pub mod settings;

pub use date::{Date, Timestamp};
pub use ids::*;
pub use money::{Currency, Money};
pub use period::{FiscalCalendar, Period};

/// Errors raised when a value at the boundary does not parse or a domain rule is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Parse(String),
    #[error("{0}")]
    Rule(String),
    #[error("role catalog: {0}")]
    Catalog(String),
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod no_panic {
    //! Every parser of user input answers any text with a value or an error, never a
    //! panic (spec: user input never causes a panic). Found by fuzzing: amounts and
    //! timestamps had been cut inside characters of several bytes.
    use proptest::prelude::*;

    use crate::money::{Currency, Money, Rate};
    use crate::period::Period;
    use crate::settings::Settings;

    fn parse_all(s: &str) {
        let _ = Money::parse(s);
        let _ = Rate::parse(s);
        let _ = Currency::parse(s);
        let _ = crate::date::parse_date(s);
        let _ = crate::date::parse_timestamp(s);
        let _ = crate::settings::parse_time_zone(s);
        let mut st = Settings::default();
        let _ = st.parse_local_date(s);
        let _ = st.parse_local_timestamp(s);
        let _ = Period::parse(s, &st.fiscal);
        if let Some((k, v)) = s.split_once('=') {
            let _ = st.set(k, v);
        }
    }

    proptest! {
        #[test]
        fn any_text(s in any::<String>()) {
            parse_all(&s);
        }

        /// Text near the shapes the parsers read, with characters of several bytes in it.
        #[test]
        fn text_like_numbers_dates_and_periods(
            s in "[0-9.,+\\-:TZ FYQ€\u{feff}é/]{0,24}",
        ) {
            parse_all(&s);
        }

        /// A period to a day, near its shapes (`FY2024-Q1 to 2024-02-15`).
        #[test]
        fn periods_to_a_day(
            s in "(FY[0-9]{0,5}(-Q[0-9€])?|[0-9]{4}-[0-9]{2}|[0-9]{4}-[0-9]{2}-[0-9]{2}\\.\\.[0-9]{4}-[0-9]{2}-[0-9]{2})( to ){1,2}[0-9\\-€]{0,12}",
        ) {
            parse_all(&s);
        }
    }
}
