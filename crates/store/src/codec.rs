//! Row codecs: the column lists of each table and the conversions between records and
//! rows, in one place for both backends.

use salesorg_core::date::{Date, Timestamp, fmt_date, parse_date};
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
fn d(v: Option<Date>) -> Value {
    v.map(fmt_date).into()
}
fn m(v: Option<Money>) -> Value {
    v.map(|m| m.units()).into()
}
fn s<T: ToString>(v: &Option<T>) -> Value {
    v.as_ref().map(|x| x.to_string()).into()
}

pub const PERSON_COLS: &[&str] = &[
    "id", "name", "email", "title", "role_id", "hired", "left_on",
];
pub fn person_row(p: &Person) -> Vec<Value> {
    vec![
        p.id.as_str().into(),
        p.name.as_str().into(),
        p.email.clone().into(),
        p.title.clone().into(),
        s(&p.role),
        d(p.hired),
        d(p.left),
    ]
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
pub fn unit_row(u: &Unit) -> Vec<Value> {
    vec![
        u.id.as_str().into(),
        u.name.as_str().into(),
        u.kind.as_str().into(),
        s(&u.parent),
    ]
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
pub fn line_row(l: &ReportingLine) -> Vec<Value> {
    vec![
        l.person.as_str().into(),
        l.manager.as_str().into(),
        d(Some(l.valid.from)),
        d(l.valid.to),
    ]
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
pub fn membership_row(m: &Membership) -> Vec<Value> {
    vec![
        m.person.as_str().into(),
        m.unit.as_str().into(),
        d(Some(m.valid.from)),
        d(m.valid.to),
    ]
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
pub fn account_row(a: &Account) -> Vec<Value> {
    vec![
        a.id.as_str().into(),
        a.name.as_str().into(),
        a.industry.clone().into(),
        a.employees.into(),
        a.region.clone().into(),
        s(&a.owner),
        s(&a.parent),
        d(a.customer_since),
        d(a.churned_on),
    ]
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
pub fn lead_row(l: &Lead) -> Vec<Value> {
    vec![
        l.id.as_str().into(),
        l.owner.as_str().into(),
        l.source.clone().into(),
        l.status.clone().into(),
        l.created.to_string().into(),
        d(l.converted_at),
        s(&l.converted_opp),
        s(&l.converted_account),
    ]
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
pub fn opp_row(o: &Opportunity) -> Vec<Value> {
    vec![
        o.id.as_str().into(),
        o.name.clone().into(),
        s(&o.account),
        o.owner.as_str().into(),
        m(o.amount),
        o.currency.as_str().into(),
        o.stage.as_str().into(),
        o.status.as_str().into(),
        o.probability.map(|p| i64::from(p.bp())).into(),
        o.forecast_category.map(|f| f.as_str()).into(),
        o.kind.clone().into(),
        o.source.clone().into(),
        d(o.created),
        d(o.close_date),
        o.loss_reason.clone().into(),
        o.next_step.clone().into(),
        s(&o.last_modified),
    ]
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
pub fn history_row(h: &StageChange) -> Vec<Value> {
    vec![
        h.id.as_str().into(),
        h.opp.as_str().into(),
        h.at.to_string().into(),
        h.stage.as_str().into(),
        m(h.amount),
        d(h.close_date),
        h.probability.map(|p| i64::from(p.bp())).into(),
        h.forecast_category.map(|f| f.as_str()).into(),
    ]
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
pub fn activity_row(a: &Activity) -> Vec<Value> {
    vec![
        a.id.as_str().into(),
        a.kind.as_str().into(),
        a.at.to_string().into(),
        a.owner.as_str().into(),
        s(&a.lead),
        s(&a.opp),
        s(&a.account),
        a.subject.clone().into(),
    ]
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
pub fn quota_row(q: &Quota) -> Vec<Value> {
    vec![
        q.target.kind().into(),
        q.target.id().into(),
        d(Some(q.period.start)),
        d(Some(q.period.end)),
        q.metric.as_str().into(),
        q.amount.units().into(),
    ]
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
pub fn spend_row(x: &Spend) -> Vec<Value> {
    let (k, id) = match &x.scope {
        SpendScope::Company => ("company", String::new()),
        SpendScope::Unit(u) => ("unit", u.to_string()),
        SpendScope::Person(p) => ("person", p.to_string()),
    };
    vec![
        d(Some(x.date)),
        k.into(),
        id.into(),
        x.category.as_str().into(),
        x.amount.units().into(),
    ]
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
pub fn rate_row(x: &CurrencyRate) -> Vec<Value> {
    vec![
        d(Some(x.date)),
        x.from.as_str().into(),
        x.to.as_str().into(),
        x.rate.units().into(),
    ]
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
pub fn survey_row(x: &SurveyResponse) -> Vec<Value> {
    vec![
        x.id.as_str().into(),
        x.account.as_str().into(),
        d(Some(x.date)),
        i64::from(x.score).into(),
        i64::from(x.scale_min).into(),
        i64::from(x.scale_max).into(),
    ]
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
