//! Row codecs: the column lists of each table and the conversions between records and
//! rows, in one place for both backends.

use salesorg_core::date::{Date, Timestamp, parse_date, push_date};
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money, Rate};
use salesorg_core::period::Period;
use salesorg_core::records::*;

use crate::{Result, StoreError, Value};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn text(r: &[Value], i: usize) -> Option<String> {
    text_ref(r, i).map(str::to_owned)
}
/// A text column borrowed from the row: what is parsed into a date, an id or a code is
/// not copied first (a copy per column was the largest cost of reading rows back).
fn text_ref(r: &[Value], i: usize) -> Option<&str> {
    r.get(i).and_then(|v| v.as_text())
}
fn req_text(r: &[Value], i: usize, what: &str) -> Result<String> {
    req_ref(r, i, what).map(str::to_owned)
}
fn req_ref<'a>(r: &'a [Value], i: usize, what: &str) -> Result<&'a str> {
    text_ref(r, i).ok_or_else(|| corrupt(what, "missing"))
}
fn int(r: &[Value], i: usize) -> Option<i64> {
    r.get(i).and_then(Value::as_int)
}
fn date(r: &[Value], i: usize, what: &str) -> Result<Option<Date>> {
    text_ref(r, i)
        .map(|s| parse_date(s).map_err(|e| corrupt(what, e)))
        .transpose()
}
fn req_date(r: &[Value], i: usize, what: &str) -> Result<Date> {
    date(r, i, what)?.ok_or_else(|| corrupt(what, "missing"))
}
fn ts(r: &[Value], i: usize, what: &str) -> Result<Option<Timestamp>> {
    text_ref(r, i)
        .map(|s| Timestamp::parse(s).map_err(|e| corrupt(what, e)))
        .transpose()
}
fn id<T: std::str::FromStr<Err = salesorg_core::CoreError>>(
    r: &[Value],
    i: usize,
    what: &str,
) -> Result<Option<T>> {
    text_ref(r, i)
        .map(|s| s.parse::<T>().map_err(|e| corrupt(what, e)))
        .transpose()
}
fn req_id<T: std::str::FromStr<Err = salesorg_core::CoreError>>(
    r: &[Value],
    i: usize,
    what: &str,
) -> Result<T> {
    id(r, i, what)?.ok_or_else(|| corrupt(what, "missing"))
}
/// One row being written: its values set in the table's column order, in place, a text
/// into the buffer its column held in the row before. The import writes rows by the
/// million, and a new vector and a new string for each value (and dates and moments
/// formatted through `fmt`) were a quarter of its writer thread's time. A backend's
/// [`Backend::upsert`](crate::Backend::upsert) makes the rows and hands each to an encoder
/// (`opp_row`…), which sets every column once, in order.
#[derive(Debug)]
pub struct RowOut {
    vals: Vec<Value>,
    /// (each column's text buffer while the column holds a null or an integer)
    spare: Vec<String>,
    /// (the next column to set)
    at: usize,
    /// (the table's columns: `vals` grows past them only for an encoder's mistake)
    width: usize,
}

impl RowOut {
    pub(crate) fn new(width: usize) -> RowOut {
        RowOut {
            vals: vec![Value::Null; width],
            spare: vec![String::new(); width],
            at: 0,
            width,
        }
    }
    /// The row's values, once an encoder has set them.
    pub fn values(&self) -> &[Value] {
        &self.vals
    }
    /// Starts the row again at its first column.
    pub(crate) fn begin(&mut self) {
        self.at = 0;
    }
    /// An error unless an encoder set every column, and no more (a mistake of salesorg's
    /// own, caught before a row is written half).
    pub(crate) fn check(&self, table: &str) -> crate::Result<()> {
        if self.at == self.width {
            return Ok(());
        }
        Err(StoreError::Corrupt(format!(
            "a row of {table} was given {} values for its {} columns",
            self.at, self.width
        )))
    }
    /// The index of the next column, now counted as set.
    fn next(&mut self) -> usize {
        let i = self.at;
        self.at += 1;
        if self.vals.len() <= i {
            // (an encoder that sets too many columns: grown here, refused by `check`)
            self.vals.push(Value::Null);
            self.spare.push(String::new());
        }
        i
    }
    /// The next column's text buffer, emptied.
    fn text(&mut self) -> &mut String {
        let i = self.next();
        let slot = &mut self.vals[i];
        if !matches!(slot, Value::Text(_)) {
            *slot = Value::Text(std::mem::take(&mut self.spare[i]));
        }
        let Value::Text(buf) = slot else {
            unreachable!("the slot was made a text just above")
        };
        buf.clear();
        buf
    }
    /// Sets the next column to `v`, not a text (its text buffer kept for a later row).
    fn other(&mut self, v: Value) -> &mut Self {
        let i = self.next();
        if let Value::Text(buf) = std::mem::replace(&mut self.vals[i], v) {
            self.spare[i] = buf;
        }
        self
    }
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.text().push_str(v);
        self
    }
    pub fn opt_str(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(v),
            None => self.other(Value::Null),
        }
    }
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.other(Value::Int(v))
    }
    pub fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        self.other(v.map_or(Value::Null, Value::Int))
    }
    /// A date as `YYYY-MM-DD`.
    pub fn date(&mut self, v: Option<Date>) -> &mut Self {
        match v {
            Some(v) => {
                push_date(v, self.text());
                self
            }
            None => self.other(Value::Null),
        }
    }
    /// A moment as `YYYY-MM-DDThh:mm:ssZ`.
    pub fn ts(&mut self, v: Option<Timestamp>) -> &mut Self {
        match v {
            Some(v) => {
                v.push_to(self.text());
                self
            }
            None => self.other(Value::Null),
        }
    }
    /// Money in minor units.
    pub fn money(&mut self, v: Option<Money>) -> &mut Self {
        self.opt_int(v.map(|m| m.units()))
    }
}

pub const PERSON_COLS: &[&str] = &[
    "id", "name", "email", "title", "role_id", "hired", "left_on",
];
pub fn person_row(p: &Person, r: &mut RowOut) {
    r.str(p.id.as_str())
        .str(p.name.as_str())
        .opt_str(p.email.as_deref())
        .opt_str(p.title.as_deref())
        .opt_str(p.role.as_ref().map(|x| x.as_str()))
        .date(p.hired)
        .date(p.left);
}
pub fn person_from(r: &[Value]) -> Result<Person> {
    Ok(Person {
        id: req_id(r, 0, "people.id")?,
        name: req_text(r, 1, "people.name")?,
        email: text(r, 2),
        title: text(r, 3),
        role: id(r, 4, "people.role_id")?,
        hired: date(r, 5, "people.hired")?,
        left: date(r, 6, "people.left_on")?,
    })
}

pub const UNIT_COLS: &[&str] = &["id", "name", "kind", "parent_id"];
pub fn unit_row(u: &Unit, r: &mut RowOut) {
    r.str(u.id.as_str())
        .str(u.name.as_str())
        .str(u.kind.as_str())
        .opt_str(u.parent.as_ref().map(|x| x.as_str()));
}
pub fn unit_from(r: &[Value]) -> Result<Unit> {
    Ok(Unit {
        id: req_id(r, 0, "units.id")?,
        name: req_text(r, 1, "units.name")?,
        kind: UnitKind::parse(req_ref(r, 2, "units.kind")?)
            .map_err(|e| corrupt("units.kind", e))?,
        parent: id(r, 3, "units.parent_id")?,
    })
}

pub const LINE_COLS: &[&str] = &["person_id", "manager_id", "valid_from", "valid_to"];
pub fn line_row(l: &ReportingLine, r: &mut RowOut) {
    r.str(l.person.as_str())
        .str(l.manager.as_str())
        .date(Some(l.valid.from))
        .date(l.valid.to);
}
fn validity(r: &[Value], i: usize, what: &str) -> Result<Validity> {
    Validity::new(req_date(r, i, what)?, date(r, i + 1, what)?).map_err(|e| corrupt(what, e))
}
pub fn line_from(r: &[Value]) -> Result<ReportingLine> {
    Ok(ReportingLine {
        person: req_id(r, 0, "reporting_lines.person_id")?,
        manager: req_id(r, 1, "reporting_lines.manager_id")?,
        valid: validity(r, 2, "reporting_lines.valid_from")?,
    })
}

pub const MEMBERSHIP_COLS: &[&str] = &["person_id", "unit_id", "valid_from", "valid_to"];
pub fn membership_row(m: &Membership, r: &mut RowOut) {
    r.str(m.person.as_str())
        .str(m.unit.as_str())
        .date(Some(m.valid.from))
        .date(m.valid.to);
}
pub fn membership_from(r: &[Value]) -> Result<Membership> {
    Ok(Membership {
        person: req_id(r, 0, "memberships.person_id")?,
        unit: req_id(r, 1, "memberships.unit_id")?,
        valid: validity(r, 2, "memberships.valid_from")?,
    })
}

pub const ACCOUNT_COLS: &[&str] = &[
    "id",
    "name",
    "industry",
    "employees",
    "region",
    "owner_id",
    "parent_id",
    "customer_since",
    "churned_on",
];
pub fn account_row(a: &Account, r: &mut RowOut) {
    r.str(a.id.as_str())
        .str(a.name.as_str())
        .opt_str(a.industry.as_deref())
        .opt_int(a.employees)
        .opt_str(a.region.as_deref())
        .opt_str(a.owner.as_ref().map(|x| x.as_str()))
        .opt_str(a.parent.as_ref().map(|x| x.as_str()))
        .date(a.customer_since)
        .date(a.churned_on);
}
pub fn account_from(r: &[Value]) -> Result<Account> {
    Ok(Account {
        id: req_id(r, 0, "accounts.id")?,
        name: req_text(r, 1, "accounts.name")?,
        industry: text(r, 2),
        employees: int(r, 3),
        region: text(r, 4),
        owner: id(r, 5, "accounts.owner_id")?,
        parent: id(r, 6, "accounts.parent_id")?,
        customer_since: date(r, 7, "accounts.customer_since")?,
        churned_on: date(r, 8, "accounts.churned_on")?,
    })
}

pub const LEAD_COLS: &[&str] = &[
    "id",
    "owner_id",
    "source",
    "status",
    "created_at",
    "converted_on",
    "converted_opp_id",
    "converted_account_id",
];
pub fn lead_row(l: &Lead, r: &mut RowOut) {
    r.str(l.id.as_str())
        .str(l.owner.as_str())
        .opt_str(l.source.as_deref())
        .opt_str(l.status.as_deref())
        .ts(Some(l.created))
        .date(l.converted_at)
        .opt_str(l.converted_opp.as_ref().map(|x| x.as_str()))
        .opt_str(l.converted_account.as_ref().map(|x| x.as_str()));
}
/// The columns of [`LEAD_COLS`] no scorecard reads (see [`OPP_UNREAD`]).
pub const LEAD_UNREAD: &[&str] = &["source", "status"];
pub fn lead_from(r: &[Value]) -> Result<Lead> {
    Ok(Lead {
        id: req_id(r, 0, "leads.id")?,
        owner: req_id(r, 1, "leads.owner_id")?,
        source: text(r, 2),
        status: text(r, 3),
        created: ts(r, 4, "leads.created_at")?
            .ok_or_else(|| corrupt("leads.created_at", "missing"))?,
        converted_at: date(r, 5, "leads.converted_on")?,
        converted_opp: id(r, 6, "leads.converted_opp_id")?,
        converted_account: id(r, 7, "leads.converted_account_id")?,
    })
}

pub const OPP_COLS: &[&str] = &[
    "id",
    "name",
    "account_id",
    "owner_id",
    "amount",
    "currency",
    "stage",
    "status",
    "probability_bp",
    "forecast_category",
    "kind",
    "source",
    "created_on",
    "close_on",
    "loss_reason",
    "next_step",
    "last_modified_at",
];
pub fn opp_row(o: &Opportunity, r: &mut RowOut) {
    r.str(o.id.as_str())
        .opt_str(o.name.as_deref())
        .opt_str(o.account.as_ref().map(|x| x.as_str()))
        .str(o.owner.as_str())
        .money(o.amount)
        .str(o.currency.as_str())
        .str(o.stage.as_str())
        .str(o.status.as_str())
        .opt_int(o.probability.map(|p| i64::from(p.bp())))
        .opt_str(o.forecast_category.map(|f| f.as_str()))
        .opt_str(o.kind.as_deref())
        .opt_str(o.source.as_deref())
        .date(o.created)
        .date(o.close_date)
        .opt_str(o.loss_reason.as_deref())
        .opt_str(o.next_step.as_deref())
        .ts(o.last_modified);
}
fn prob(r: &[Value], i: usize, what: &str) -> Result<Option<Probability>> {
    int(r, i)
        .map(|bp| {
            u16::try_from(bp)
                .map_err(|e| corrupt(what, e))
                .and_then(|bp| Probability::from_bp(bp).map_err(|e| corrupt(what, e)))
        })
        .transpose()
}
fn fc(r: &[Value], i: usize, what: &str) -> Result<Option<ForecastCategory>> {
    text_ref(r, i)
        .map(|s| ForecastCategory::parse(s).map_err(|e| corrupt(what, e)))
        .transpose()
}
/// The columns of [`OPP_COLS`] no scorecard reads: its brief scan reads `NULL` in their
/// places, which [`opp_from`] decodes as none (at 10M opportunities, three texts a row
/// had been read, checked and dropped by every load).
pub const OPP_UNREAD: &[&str] = &["name", "kind", "source"];
pub fn opp_from(r: &[Value]) -> Result<Opportunity> {
    Ok(Opportunity {
        id: req_id(r, 0, "opportunities.id")?,
        name: text(r, 1),
        account: id(r, 2, "opportunities.account_id")?,
        owner: req_id(r, 3, "opportunities.owner_id")?,
        amount: int(r, 4).map(Money::from_units),
        currency: Currency::parse(req_ref(r, 5, "opportunities.currency")?)
            .map_err(|e| corrupt("opportunities.currency", e))?,
        stage: Stage::parse(req_ref(r, 6, "opportunities.stage")?)
            .map_err(|e| corrupt("stage", e))?,
        status: OppStatus::parse(req_ref(r, 7, "opportunities.status")?)
            .map_err(|e| corrupt("status", e))?,
        probability: prob(r, 8, "opportunities.probability_bp")?,
        forecast_category: fc(r, 9, "opportunities.forecast_category")?,
        kind: text(r, 10),
        source: text(r, 11),
        created: date(r, 12, "opportunities.created_on")?,
        close_date: date(r, 13, "opportunities.close_on")?,
        loss_reason: text(r, 14),
        next_step: text(r, 15),
        last_modified: ts(r, 16, "opportunities.last_modified_at")?,
    })
}

pub const HISTORY_COLS: &[&str] = &[
    "id",
    "opp_id",
    "at",
    "stage",
    "amount",
    "close_on",
    "probability_bp",
    "forecast_category",
];
pub fn history_row(h: &StageChange, r: &mut RowOut) {
    r.str(h.id.as_str())
        .str(h.opp.as_str())
        .ts(Some(h.at))
        .str(h.stage.as_str())
        .money(h.amount)
        .date(h.close_date)
        .opt_int(h.probability.map(|p| i64::from(p.bp())))
        .opt_str(h.forecast_category.map(|f| f.as_str()));
}
pub fn history_from(r: &[Value]) -> Result<StageChange> {
    Ok(StageChange {
        id: req_text(r, 0, "stage_history.id")?,
        opp: req_id(r, 1, "stage_history.opp_id")?,
        at: ts(r, 2, "stage_history.at")?.ok_or_else(|| corrupt("stage_history.at", "missing"))?,
        stage: Stage::parse(req_ref(r, 3, "stage_history.stage")?)
            .map_err(|e| corrupt("stage", e))?,
        amount: int(r, 4).map(Money::from_units),
        close_date: date(r, 5, "stage_history.close_on")?,
        probability: prob(r, 6, "stage_history.probability_bp")?,
        forecast_category: fc(r, 7, "stage_history.forecast_category")?,
    })
}

pub const ACTIVITY_COLS: &[&str] = &[
    "id",
    "kind",
    "at",
    "owner_id",
    "lead_id",
    "opp_id",
    "account_id",
    "subject",
];
pub fn activity_row(a: &Activity, r: &mut RowOut) {
    r.str(a.id.as_str())
        .str(a.kind.as_str())
        .ts(Some(a.at))
        .str(a.owner.as_str())
        .opt_str(a.lead.as_ref().map(|x| x.as_str()))
        .opt_str(a.opp.as_ref().map(|x| x.as_str()))
        .opt_str(a.account.as_ref().map(|x| x.as_str()))
        .opt_str(a.subject.as_deref());
}
/// The columns of [`ACTIVITY_COLS`] no scorecard reads (see [`OPP_UNREAD`]). SQLite stops
/// reading a row at the last column asked for: at 10M deals, 40.6M activities' subjects,
/// opportunities and accounts had been read, checked and dropped by every load.
pub const ACTIVITY_UNREAD: &[&str] = &["opp_id", "account_id", "subject"];
pub fn activity_from(r: &[Value]) -> Result<Activity> {
    Ok(Activity {
        id: req_id(r, 0, "activities.id")?,
        kind: ActivityKind::parse(req_ref(r, 1, "activities.kind")?)
            .map_err(|e| corrupt("kind", e))?,
        at: ts(r, 2, "activities.at")?.ok_or_else(|| corrupt("activities.at", "missing"))?,
        owner: req_id(r, 3, "activities.owner_id")?,
        lead: id(r, 4, "activities.lead_id")?,
        opp: id(r, 5, "activities.opp_id")?,
        account: id(r, 6, "activities.account_id")?,
        subject: text(r, 7),
    })
}

pub const QUOTA_COLS: &[&str] = &[
    "target_kind",
    "target_id",
    "period_start",
    "period_end",
    "metric",
    "amount",
];
pub fn quota_row(q: &Quota, r: &mut RowOut) {
    r.str(q.target.kind())
        .str(q.target.id())
        .date(Some(q.period.start))
        .date(Some(q.period.end))
        .str(q.metric.as_str())
        .int(q.amount.units());
}
pub fn quota_from(r: &[Value]) -> Result<Quota> {
    let tid = req_ref(r, 1, "quotas.target_id")?;
    let bad = |e| corrupt("quotas.target_id", e);
    let target = match req_ref(r, 0, "quotas.target_kind")? {
        "person" => QuotaTarget::Person(PersonId::parse(tid).map_err(bad)?),
        "team" => QuotaTarget::Team(PersonId::parse(tid).map_err(bad)?),
        _ => QuotaTarget::Unit(UnitId::parse(tid).map_err(bad)?),
    };
    Ok(Quota {
        target,
        period: Period::range(
            req_date(r, 2, "quotas.period_start")?,
            req_date(r, 3, "quotas.period_end")?,
        )
        .map_err(|e| corrupt("quotas.period", e))?,
        metric: req_text(r, 4, "quotas.metric")?,
        amount: Money::from_units(int(r, 5).unwrap_or(0)),
    })
}

pub const SPEND_COLS: &[&str] = &["day", "scope_kind", "scope_id", "category", "amount"];
pub fn spend_row(x: &Spend, r: &mut RowOut) {
    r.date(Some(x.date));
    match &x.scope {
        SpendScope::Company => r.str("company").str(""),
        SpendScope::Unit(u) => r.str("unit").str(u.as_str()),
        SpendScope::Person(p) => r.str("person").str(p.as_str()),
    };
    r.str(x.category.as_str()).int(x.amount.units());
}
pub fn spend_from(r: &[Value]) -> Result<Spend> {
    let sid = text(r, 2).unwrap_or_default();
    let bad = |e| corrupt("spend.scope_id", e);
    let scope = match req_ref(r, 1, "spend.scope_kind")? {
        "unit" => SpendScope::Unit(UnitId::parse(&sid).map_err(bad)?),
        "person" => SpendScope::Person(PersonId::parse(&sid).map_err(bad)?),
        _ => SpendScope::Company,
    };
    Ok(Spend {
        date: req_date(r, 0, "spend.day")?,
        scope,
        category: req_text(r, 3, "spend.category")?,
        amount: Money::from_units(int(r, 4).unwrap_or(0)),
    })
}

pub const RATE_COLS: &[&str] = &["day", "from_ccy", "to_ccy", "rate"];
pub fn rate_row(x: &CurrencyRate, r: &mut RowOut) {
    r.date(Some(x.date))
        .str(x.from.as_str())
        .str(x.to.as_str())
        .int(x.rate.units());
}
pub fn rate_from(r: &[Value]) -> Result<CurrencyRate> {
    let ccy = |i, w| Currency::parse(req_ref(r, i, w)?).map_err(|e| corrupt(w, e));
    Ok(CurrencyRate {
        date: req_date(r, 0, "currency_rates.day")?,
        from: ccy(1, "currency_rates.from_ccy")?,
        to: ccy(2, "currency_rates.to_ccy")?,
        rate: Rate::from_units(int(r, 3).unwrap_or(0))
            .ok_or_else(|| corrupt("currency_rates.rate", "a rate must be positive"))?,
    })
}

pub const SURVEY_COLS: &[&str] = &["id", "account_id", "day", "score", "scale_min", "scale_max"];
pub fn survey_row(x: &SurveyResponse, r: &mut RowOut) {
    r.str(x.id.as_str())
        .str(x.account.as_str())
        .date(Some(x.date))
        .int(i64::from(x.score))
        .int(i64::from(x.scale_min))
        .int(i64::from(x.scale_max));
}
pub fn survey_from(r: &[Value]) -> Result<SurveyResponse> {
    let small = |i, w| {
        int(r, i)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or_else(|| corrupt(w, "not a small integer"))
    };
    Ok(SurveyResponse {
        id: req_text(r, 0, "surveys.id")?,
        account: req_id(r, 1, "surveys.account_id")?,
        date: req_date(r, 2, "surveys.day")?,
        score: small(3, "surveys.score")?,
        scale_min: small(4, "surveys.scale_min")?,
        scale_max: small(5, "surveys.scale_max")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row set again holds the new row's values alone, whatever each column held
    /// before (a text, a null, an integer), and an encoder that sets too few or too many
    /// columns is refused before anything is written.
    #[test]
    fn a_row_set_again_holds_only_the_new_values() {
        let mut r = RowOut::new(4);
        let day = parse_date("2024-02-29").unwrap();
        let at = Timestamp::parse("2024-02-29T23:59:58Z").unwrap();
        r.begin();
        r.str("a long first text")
            .opt_str(None)
            .int(7)
            .date(Some(day));
        r.check("t").unwrap();
        r.begin();
        r.opt_int(None)
            .str("b")
            .ts(Some(at))
            .money(Some(Money::from_units(-5)));
        r.check("t").unwrap();
        assert_eq!(
            r.values(),
            [
                Value::Null,
                Value::Text("b".into()),
                Value::Text("2024-02-29T23:59:58Z".into()),
                Value::Int(-5),
            ]
        );
        r.begin();
        r.str("c").str("d").date(None).ts(None);
        assert_eq!(
            r.values(),
            [
                Value::Text("c".into()),
                Value::Text("d".into()),
                Value::Null,
                Value::Null,
            ]
        );
        r.begin();
        r.str("one");
        let e = r.check("t").unwrap_err().to_string();
        assert!(
            e.contains("a row of t was given 1 values for its 4 columns"),
            "{e}"
        );
        r.begin();
        r.str("1").str("2").str("3").str("4").int(5);
        assert!(r.check("t").is_err());
    }
}
