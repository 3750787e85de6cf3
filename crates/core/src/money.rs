//! Exact money and exchange rates: money a signed integer count of ten-thousandths of the
//! currency's major unit (so `12.4500` USD is 124_500), a rate a count of ten-billionths;
//! never a float. Parsed once at the boundary.

use std::fmt;

use crate::CoreError;

/// Number of stored units per major unit. Four decimals hold every amount seen in the
/// supported CRM and ERP exports (AdventureWorks prices carry four) without rounding.
pub const SCALE: i64 = 10_000;
const SCALE_DIGITS: usize = 4;

/// An amount of money in the store's fixed-point representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// From raw stored units (ten-thousandths).
    pub const fn from_units(units: i64) -> Self {
        Money(units)
    }
    pub const fn units(self) -> i64 {
        self.0
    }
    /// A whole number of major units.
    pub fn from_major(major: i64) -> Option<Self> {
        major.checked_mul(SCALE).map(Money)
    }
    pub fn checked_add(self, o: Money) -> Option<Money> {
        self.0.checked_add(o.0).map(Money)
    }
    /// Multiplies by a multiplier given as a decimal string (a mapping's unit multiplier,
    /// e.g. `1000` for "in thousands"). Exact; fails on overflow or more than 4 decimals.
    pub fn scaled(self, multiplier: &Money) -> Option<Money> {
        let prod = (self.0 as i128) * (multiplier.0 as i128) / (SCALE as i128);
        if (self.0 as i128) * (multiplier.0 as i128) % (SCALE as i128) != 0 {
            return None;
        }
        i64::try_from(prod).ok().map(Money)
    }

    /// Parses a decimal amount: optional sign, digits with optional `,` thousands
    /// separators, optional `.` and at most four decimals. `1e5`, `NaN`, `12.34567`
    /// and the empty string are refused.
    pub fn parse(raw: &str) -> Result<Money, CoreError> {
        fixed(raw, SCALE_DIGITS, "an amount").map(Money)
    }
}

/// Parses a fixed-point decimal with at most `digits` decimals (more only when they are
/// zeros) into an integer count of its smallest unit; `what` names it in the error.
fn fixed(raw: &str, digits: usize, what: &str) -> Result<i64, CoreError> {
    let s = raw.trim();
    let err = |why: &str| CoreError::Parse(format!("{s:?} is not {what}: {why}"));
    if s.is_empty() {
        return Err(err("empty"));
    }
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(err("no digits"));
    }
    let mut int: i64 = 0;
    let mut digits_since_comma: Option<usize> = None;
    for (i, c) in int_part.chars().enumerate() {
        match c {
            '0'..='9' => {
                int = int
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(c as i64 - '0' as i64))
                    .ok_or_else(|| err("too large"))?;
                if let Some(n) = digits_since_comma.as_mut() {
                    *n += 1;
                }
            }
            ',' if i > 0 => {
                if matches!(digits_since_comma, Some(n) if n != 3) {
                    return Err(err("misplaced thousands separator"));
                }
                digits_since_comma = Some(0);
            }
            _ => return Err(err(&format!("unexpected character {c:?}"))),
        }
    }
    if matches!(digits_since_comma, Some(n) if n != 3) {
        return Err(err("misplaced thousands separator"));
    }
    // (checked before the decimals are cut at `digits` bytes: "12.34€" had been cut
    // inside the euro sign, a panic)
    if let Some(c) = frac_part.chars().find(|c| !c.is_ascii_digit()) {
        return Err(err(&format!("unexpected character {c:?} in decimals")));
    }
    if frac_part.len() > digits {
        let (_, extra) = frac_part.split_at(digits);
        if !extra.chars().all(|c| c == '0') {
            return Err(err(&format!("more than {digits} decimals")));
        }
    }
    let mut frac: i64 = 0;
    for (i, c) in frac_part.chars().take(digits).enumerate() {
        let d = c
            .to_digit(10)
            .ok_or_else(|| err(&format!("unexpected character {c:?}")))?;
        frac += d as i64 * 10_i64.pow((digits - 1 - i) as u32);
    }
    let v = int
        .checked_mul(10_i64.pow(digits as u32))
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(|| err("too large"))?;
    Ok(if neg { -v } else { v })
}

/// Writes `units` of a fixed-point decimal with `digits` decimals: at least two
/// decimals, more only where the value has them.
fn write_fixed(f: &mut fmt::Formatter<'_>, units: i64, digits: usize) -> fmt::Result {
    let scale = 10_u64.pow(digits as u32);
    let abs = units.unsigned_abs();
    let mut frac = format!("{:0digits$}", abs % scale);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    let sign = if units < 0 { "-" } else { "" };
    write!(f, "{sign}{}.{frac}", abs / scale)
}

/// Number of stored units per 1 of an exchange rate: ten decimals, so that a rate into a
/// currency of small units (1 IDR = 0.0000632 USD) keeps six significant digits, and a
/// rate as Salesforce keeps it (six decimals) is held exactly.
pub const RATE_SCALE: i64 = 10_000_000_000;
const RATE_DIGITS: usize = 10;

/// An exchange rate, `1 from = rate to`: a positive count of ten-billionths, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rate(i64);

impl Rate {
    /// One to one: a currency against itself.
    pub const ONE: Rate = Rate(RATE_SCALE);
    /// The rate the other way round (`1 to = r from`), to the nearest ten-billionth;
    /// `None` where that is more than a rate holds.
    pub fn reciprocal(self) -> Option<Rate> {
        let scale = i128::from(RATE_SCALE);
        let units = (scale * scale + i128::from(self.0) / 2) / i128::from(self.0);
        Rate::from_units(i64::try_from(units).ok()?)
    }
    /// From raw stored units (ten-billionths); `None` unless positive.
    pub fn from_units(units: i64) -> Option<Rate> {
        (units > 0).then_some(Rate(units))
    }
    pub const fn units(self) -> i64 {
        self.0
    }
    /// Parses a positive decimal with at most ten decimals (`1.0823`, `0.0000632`,
    /// `15,800`); zero, a negative rate, `1e-5` and `NaN` are refused.
    pub fn parse(raw: &str) -> Result<Rate, CoreError> {
        let v = fixed(raw, RATE_DIGITS, "a rate")?;
        Rate::from_units(v).ok_or_else(|| {
            CoreError::Parse(format!(
                "{:?} is not a rate: a rate must be positive",
                raw.trim()
            ))
        })
    }
}

impl fmt::Display for Rate {
    /// At least two decimals, more only where the rate has them: `1.08`, `0.0000632`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_fixed(f, self.0, RATE_DIGITS)
    }
}

impl fmt::Display for Money {
    /// At least two decimals, more only where the amount has them: `1234.50`, `12.4550`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_fixed(f, self.0, SCALE_DIGITS)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

/// An ISO 4217 currency code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub fn parse(raw: &str) -> Result<Currency, CoreError> {
        let t = raw.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(CoreError::Parse(format!(
                "{raw:?} is not a three-letter currency code"
            )));
        }
        Ok(Currency([b[0], b[1], b[2]]))
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!(Money::parse("1234.56").unwrap().units(), 12_345_600);
        assert_eq!(Money::parse("1,234.5").unwrap().to_string(), "1234.50");
        assert_eq!(Money::parse("-0.0001").unwrap().to_string(), "-0.0001");
        assert_eq!(Money::parse("12.4500").unwrap().to_string(), "12.45");
        assert_eq!(Money::parse("0").unwrap(), Money::ZERO);
        assert_eq!(Money::parse(".5").unwrap().to_string(), "0.50");
        assert_eq!(Money::parse("2024.990000").unwrap().to_string(), "2024.99");
    }

    #[test]
    fn rates_keep_ten_decimals_and_are_positive() {
        assert_eq!(Rate::parse("0.0000632").unwrap().units(), 632_000);
        assert_eq!(Rate::parse("0.0000632").unwrap().to_string(), "0.0000632");
        assert_eq!(Rate::parse("15,800").unwrap().to_string(), "15800.00");
        assert_eq!(Rate::parse("1.0823").unwrap().units(), 10_823_000_000);
        assert_eq!(Rate::parse("0.00000000010").unwrap().units(), 1);
        for bad in ["0", "-1.2", "0.00000000001", "1e-5", "NaN", ""] {
            let e = Rate::parse(bad).unwrap_err().to_string();
            assert!(e.contains("is not a rate"), "{bad:?}: {e}");
        }
        assert!(
            Rate::parse("-1")
                .unwrap_err()
                .to_string()
                .contains("must be positive")
        );
    }

    #[test]
    fn a_rate_turns_round_to_the_nearest_ten_billionth() {
        let r = |s: &str| Rate::parse(s).unwrap();
        assert_eq!(r("1.25").reciprocal(), Some(r("0.8")));
        assert_eq!(Rate::ONE.reciprocal(), Some(Rate::ONE));
        // 1 / 1.0823 = 0.92395823708768…
        assert_eq!(r("1.0823").reciprocal(), Some(r("0.9239582371")));
        // 1 / 3 = 0.33333333333…, 1 / 1.5 = 0.666666666666…
        assert_eq!(r("3").reciprocal(), Some(r("0.3333333333")));
        assert_eq!(r("1.5").reciprocal(), Some(r("0.6666666667")));
        // the smallest rate's reciprocal is past what a rate holds; the largest's, 1e20 /
        // 9.22e18 units, rounds to 11
        assert_eq!(Rate::from_units(1).unwrap().reciprocal(), None);
        let largest = Rate::from_units(i64::MAX).unwrap();
        assert_eq!(largest.reciprocal().map(Rate::units), Some(11));
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        for bad in [
            "",
            "1e5",
            "NaN",
            "12.34567",
            "1,23",
            "12,,3",
            "$5",
            "1.2.3",
            "12.34€",
            "0.~0\u{feff}000.66",
            "-",
            "99999999999999999",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn multiplier_is_exact() {
        let m = Money::parse("1.5").unwrap();
        assert_eq!(
            m.scaled(&Money::parse("1000").unwrap())
                .unwrap()
                .to_string(),
            "1500.00"
        );
    }
}
