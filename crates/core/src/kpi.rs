//! The KPIs of spec/kpis.md (shared/spec/kpis.md), sections 2 to 6: their ids, the additive
//! cell every record adds into, and [`compute`], the one place each KPI's formula lives.
//! The CLI, the API, exports, `explain` and the benchmark all go through it.

use std::sync::Arc;

/// Every KPI id the spec defines, in the spec's order.
pub const KPI_IDS: &[&str] = &[
    // §2 pipeline and bookings
    "bookings",
    "won_deals",
    "lost_deals",
    "win_rate",
    "win_rate_value",
    "avg_deal_size",
    "sales_cycle_days",
    "sales_cycle_days_median",
    "revenue_growth_yoy",
    "opps_created",
    "pipeline_created",
    "pipeline_open",
    "pipeline_weighted",
    "pipeline_coverage",
    "stale_pipeline_share",
    // §3 quotas and people
    "quota",
    "quota_attainment",
    "reps_at_quota_share",
    "active_reps",
    "headcount",
    "rep_attrition_rate",
    "span_of_control",
    // §4 activity and leads
    "calls",
    "activities",
    "calls_per_rep_day",
    "leads_created",
    "lead_conversion_rate",
    "lead_response_minutes_median",
    "lead_response_sla_share",
    "followups_per_lead",
    "opp_conversion_rate",
    // §5 customers and cost
    "new_customers",
    "sales_marketing_spend",
    "cac",
    "cost_per_opportunity",
    "cost_per_sale",
    "active_customers",
    "logo_churn_rate",
    "logo_retention_rate",
    "ltv",
    "ltv_cac_ratio",
    "csat_avg",
    // §6 funnel and data quality
    "stage_conversion",
    "days_in_stage_avg",
    "loss_reasons",
    "data_completeness_share",
    "forecast_accuracy",
];

pub fn is_kpi(id: &str) -> bool {
    KPI_IDS.contains(&id)
}

/// The KPI id a mistyped one was most likely meant to be ([`crate::names::nearest`]), for
/// the "did you mean" of an error.
pub fn did_you_mean(typed: &str) -> Option<&'static str> {
    crate::names::nearest(typed, KPI_IDS.iter().copied())
}

/// The error for an id that is not a KPI of the spec: its likely meaning where there is
/// one, and where to find them all.
pub fn unknown_kpi(typed: &str) -> String {
    match did_you_mean(typed) {
        Some(id) => format!(
            "{typed:?} is not a KPI of the spec: did you mean {id:?}? (`salesorg kpis` lists them all)"
        ),
        None => format!("{typed:?} is not a KPI of the spec (`salesorg kpis` lists them all)"),
    }
}

/// The spec's own `&'static str` for a KPI id.
pub fn static_id(id: &str) -> Option<&'static str> {
    KPI_IDS.iter().copied().find(|k| *k == id)
}

/// KPIs whose value is a table rather than a number.
pub const TABLE_KPIS: &[&str] = &["stage_conversion", "days_in_stage_avg", "loss_reasons"];

/// KPIs that are sums, so a leader's team value is their own book plus their direct
/// reports' teams (the roll-up invariant the property tests check).
pub const ADDITIVE_KPIS: &[&str] = &[
    "bookings",
    "won_deals",
    "lost_deals",
    "opps_created",
    "pipeline_created",
    "pipeline_open",
    "calls",
    "activities",
    "leads_created",
    "new_customers",
];

/// What a KPI's single value is (`None`: a table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Count,
    Money,
    Ratio,
    /// Days or minutes.
    Measure,
}

/// The kind of a KPI's value, as [`compute`] makes it.
pub fn kind(id: &str) -> Option<Kind> {
    Some(match id {
        "bookings"
        | "avg_deal_size"
        | "pipeline_created"
        | "pipeline_open"
        | "pipeline_weighted"
        | "quota"
        | "sales_marketing_spend"
        | "cac"
        | "cost_per_opportunity"
        | "cost_per_sale"
        | "ltv" => Kind::Money,
        "won_deals" | "lost_deals" | "opps_created" | "active_reps" | "headcount"
        | "span_of_control" | "calls" | "activities" | "leads_created" | "new_customers"
        | "active_customers" => Kind::Count,
        "sales_cycle_days" | "sales_cycle_days_median" | "lead_response_minutes_median" => {
            Kind::Measure
        }
        _ if TABLE_KPIS.contains(&id) || !is_kpi(id) => return None,
        _ => Kind::Ratio,
    })
}

/// Whether a target can be set on a KPI (a quota or target row's `metric`): any KPI of a
/// single value but `quota` and `quota_attainment` (the quota is `bookings`' target, and
/// attainment's is 1) and `forecast_accuracy`.
pub fn can_target(id: &str) -> bool {
    kind(id).is_some() && !matches!(id, "quota" | "quota_attainment" | "forecast_accuracy")
}

/// Parses a quota or target row's `metric` (`None`: bookings) against its amount: a KPI
/// of [`can_target`], and a whole number for a count. The error says why, for the
/// importer to place at the row's column.
pub fn target_metric(
    metric: Option<&str>,
    amount: crate::money::Money,
) -> Result<&'static str, String> {
    let Some(m) = metric.map(str::trim).filter(|m| !m.is_empty()) else {
        return Ok("bookings");
    };
    let Some(id) = static_id(m).filter(|id| can_target(id)) else {
        let meant = did_you_mean(m)
            .filter(|id| static_id(m).is_none() && can_target(id))
            .map(|id| format!("did you mean {id:?}? "))
            .unwrap_or_default();
        return Err(format!(
            "{m:?} is not a KPI a target can be set on ({meant}a KPI id with one value, such \
             as bookings, calls or win_rate; not quota, quota_attainment or a table)"
        ));
    };
    if kind(id) == Some(Kind::Count) && amount.units() % crate::money::SCALE != 0 {
        return Err(format!(
            "a target of {id} is a count: {amount} is not a whole number"
        ));
    }
    Ok(id)
}

/// A target's amount (as read: four decimals) as a value of its KPI's kind.
pub fn target_value(id: &str, units: i128) -> Value {
    let scale = i128::from(crate::money::SCALE);
    match kind(id) {
        Some(Kind::Count) => Value::Count((units / scale) as i64),
        Some(Kind::Ratio) => Value::Ratio(units * 10i128.pow(RATIO_DECIMALS) / scale),
        Some(Kind::Measure) => Value::Measure(units),
        _ => Value::Money(units),
    }
}

/// KPIs left out until the data they need exists (spec §6 `forecast_accuracy`: forecasts).
pub const NOT_YET: &[&str] = &["forecast_accuracy"];

/// The KPIs where a lower value is better (a rise shows red, a leaderboard ranks the
/// lowest first): longer cycles and slower responses, more lost deals, dearer customers,
/// more reps leaving, staler pipeline, more customers churned.
pub const LOWER_IS_BETTER: &[&str] = &[
    "sales_cycle_days",
    "sales_cycle_days_median",
    "lost_deals",
    "cac",
    "cost_per_opportunity",
    "cost_per_sale",
    "lead_response_minutes_median",
    "rep_attrition_rate",
    "stale_pipeline_share",
    "logo_churn_rate",
];

/// Whether a lower value of KPI `k` is better ([`LOWER_IS_BETTER`]).
pub fn lower_is_better(k: &str) -> bool {
    LOWER_IS_BETTER.contains(&k)
}

/// Decimal places of ratios in every output (JSON, CSV, table).
pub const RATIO_DECIMALS: u32 = 6;

/// The additive part of every KPI for one (owner segment, period): sums and counts that
/// add up across segments, people, teams and units.
#[derive(Debug, Clone, Copy, Default, PartialEq, bytemuck::Zeroable)]
pub struct Cell {
    pub bookings: i64,
    pub bookings_to_date: i64,
    pub won: u32,
    pub lost: u32,
    pub lost_amount: i64,
    pub cycle_sum: i64,
    pub cycle_n: u32,
    pub created: u32,
    pub created_amount: i64,
    pub created_won: u32,
    pub open_amount: i64,
    /// Σ amount × probability in basis points.
    pub open_weighted_bp: i128,
    pub open_stale_amount: i64,
    pub open_n: u32,
    pub open_complete: u32,
    pub new_customers: u32,
    pub calls: u32,
    pub activities: u32,
    pub rep_calls: u32,
    pub rep_days: u32,
    pub leads: u32,
    pub leads_converted: u32,
    pub leads_responded: u32,
    pub leads_in_sla: u32,
    pub lead_followups: u32,
    pub spend: i64,
    pub headcount_end: u32,
    pub reps_start: u32,
    pub reps_end: u32,
    pub reps_left: u32,
    pub quota_first_day: i64,
    /// Quota-carrying people in scope on the first day who have an own-book quota.
    pub quota_holders: u32,
    pub customers_start: u32,
    pub customers_start_churned: u32,
    pub customers_end: u32,
    pub surveys: u32,
    pub survey_sum: f64,
}

impl Cell {
    pub fn add(&mut self, o: &Cell) {
        self.bookings += o.bookings;
        self.bookings_to_date += o.bookings_to_date;
        self.won += o.won;
        self.lost += o.lost;
        self.lost_amount += o.lost_amount;
        self.cycle_sum += o.cycle_sum;
        self.cycle_n += o.cycle_n;
        self.created += o.created;
        self.created_amount += o.created_amount;
        self.created_won += o.created_won;
        self.open_amount += o.open_amount;
        self.open_weighted_bp += o.open_weighted_bp;
        self.open_stale_amount += o.open_stale_amount;
        self.open_n += o.open_n;
        self.open_complete += o.open_complete;
        self.new_customers += o.new_customers;
        self.calls += o.calls;
        self.activities += o.activities;
        self.rep_calls += o.rep_calls;
        self.rep_days += o.rep_days;
        self.leads += o.leads;
        self.leads_converted += o.leads_converted;
        self.leads_responded += o.leads_responded;
        self.leads_in_sla += o.leads_in_sla;
        self.lead_followups += o.lead_followups;
        self.spend += o.spend;
        self.headcount_end += o.headcount_end;
        self.reps_start += o.reps_start;
        self.reps_end += o.reps_end;
        self.reps_left += o.reps_left;
        self.quota_first_day += o.quota_first_day;
        self.quota_holders += o.quota_holders;
        self.customers_start += o.customers_start;
        self.customers_start_churned += o.customers_start_churned;
        self.customers_end += o.customers_end;
        self.surveys += o.surveys;
        self.survey_sum += o.survey_sum;
    }
}

/// Per-stage counts behind `stage_conversion` and `days_in_stage_avg`.
///
/// (In this order, `entered` and `advanced` apart: side by side, the pass's two adds to
/// them for each stage-history row were made as one vector add, four more instructions
/// and a wait on the shuffle that packed them.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Zeroable)]
#[repr(C)]
pub struct StageCell {
    pub entered: u32,
    pub left: u32,
    pub advanced: u32,
    pub days_sum: i64,
}

impl StageCell {
    pub fn add(&mut self, o: &StageCell) {
        self.entered += o.entered;
        self.advanced += o.advanced;
        self.left += o.left;
        self.days_sum += o.days_sum;
    }
}

/// Per-reason counts behind `loss_reasons`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Zeroable)]
pub struct LossCell {
    pub count: u32,
    pub amount: i64,
}

/// Everything a scope's KPIs for one period are computed from.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub cell: Cell,
    /// Distinct active reps (spec §1) in scope during the period.
    pub active_reps: u32,
    /// Active reps in scope with an own-book quota for the period, and how many of them
    /// reached it.
    pub reps_with_quota: u32,
    pub reps_at_quota: u32,
    /// Sales cycle days of won deals, as a histogram (`cycle_hist[d]` deals took `d` days).
    pub cycle_hist: Vec<u32>,
    /// Response seconds of answered leads.
    pub response_secs: Vec<u32>,
    /// The middle values of the sales cycle days and of the response seconds, where the
    /// roll-up found them without gathering the values (see
    /// [`crate::scorecard::middle`]): these are used instead of `cycle_hist` and
    /// `response_secs`.
    pub cycle_middle: Option<Middle>,
    pub response_middle: Option<Middle>,
    /// Indexed by stage order.
    pub stages: Vec<StageCell>,
    /// Indexed by loss reason; the last entry is "no reason given".
    pub losses: Vec<LossCell>,
    /// Spend assigned to units in scope (unit scopes) or to anything (company).
    pub unit_spend: i64,
    pub quota: Option<i128>,
    pub span_of_control: Option<u32>,
}

/// What a KPI's formula needs beyond the scope's own totals for the period.
pub struct Context<'a> {
    /// Totals for the same scope one year earlier (spec §2 `revenue_growth_yoy`).
    pub last_year: Option<&'a Totals>,
    /// Bookings over the trailing 12 months ending at the period's end (spec §5 `ltv`).
    pub trailing_bookings: i64,
    /// Customers active at the trailing window's start / end, and churned from the start cohort.
    pub trailing_customers_start: u32,
    pub trailing_customers_end: u32,
    pub trailing_churned: u32,
    pub gross_margin: i64,
    /// Stage names by stage order, and loss reasons by index (shared by a run's tables).
    pub stage_names: &'a Arc<[String]>,
    pub loss_reasons: &'a Arc<[String]>,
}

/// Why a KPI has no value (spec §1 "Undefined": `null`, shown as "—"): what its formula
/// found missing, said to the leader who asks why their number is blank. Set where the
/// formula finds it ([`compute`]), so a page, the CLI and `explain` say the same.
///
/// Four bytes, not one: as a byte beside the value's tag, every copy of a value into a
/// row (a million of them in a bulk export) wrote it in unaligned pieces, and the
/// roll-up's formulas took 5 % longer (1M store: 7.4–7.6 → 7.8–7.9 ms, alternating); as
/// four, they take what they took before the reason was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Why {
    /// `win_rate`: no deal won or lost.
    NoClosedDeals,
    /// `win_rate_value`: the won and lost deals' amounts add up to nothing.
    NoClosedAmount,
    /// `avg_deal_size`, `cost_per_sale`, the sales cycle: no deal won.
    NoWonDeals,
    /// The sales cycle: deals won, none of them with a created date.
    NoCreatedDates,
    /// `revenue_growth_yoy`: nothing booked in the same period a year earlier.
    NoBookingsLastYear,
    /// `quota`, `quota_attainment`, `pipeline_coverage`: no quota set.
    NoQuota,
    /// `pipeline_coverage`: bookings to date have reached the quota; nothing remains.
    QuotaMet,
    /// `stale_pipeline_share`: no open pipeline closing in the period.
    NoOpenPipeline,
    /// `data_completeness_share`: no deal open on the as-of date.
    NoOpenDeals,
    /// `reps_at_quota_share`: no active rep with an own-book quota.
    NoRepsWithQuota,
    /// `rep_attrition_rate`: no rep at the period's start nor at its end.
    NoReps,
    /// `calls_per_rep_day`: no working day of a rep in scope.
    NoRepDays,
    /// The lead KPIs: no lead created.
    NoLeads,
    /// `lead_response_minutes_median`: leads created, none answered by the as-of date.
    NoAnsweredLeads,
    /// `opp_conversion_rate`, `cost_per_opportunity`: no opportunity created.
    NoOppsCreated,
    /// `cac`, `ltv_cac_ratio`: no new customer.
    NoNewCustomers,
    /// `logo_churn_rate`, `logo_retention_rate`: no active customer on the first day.
    NoCustomersAtStart,
    /// `ltv`: no active customer at the start of the trailing twelve months.
    NoCustomersAtWindowStart,
    /// `ltv`: no customer of that cohort churned, so the lifetime has no end.
    NoChurn,
    /// `ltv_cac_ratio`: no sales and marketing spend, so no cost per customer.
    NoSpend,
    /// `csat_avg`: no survey response.
    NoSurveys,
    /// `span_of_control`: the scope is not a team.
    NotATeam,
    /// A KPI that waits for data salesorg does not hold yet ([`NOT_YET`]).
    NoForecasts,
    /// A comparison that does not apply (revenue growth like for like outside a period
    /// under way).
    NotApplicable,
    /// Not computed for this scope and period (a KPI left out of the run).
    NotComputed,
}

impl Why {
    /// The reason in words, to follow "undefined: ".
    pub fn text(self) -> &'static str {
        match self {
            Why::NoClosedDeals => "no deal was won or lost in the period",
            Why::NoClosedAmount => "the deals won and lost in the period have no amount",
            Why::NoWonDeals => "no deal was won in the period",
            Why::NoCreatedDates => "none of the deals won in the period has a created date",
            Why::NoBookingsLastYear => "nothing was booked in the same period last year",
            Why::NoQuota => "no quota is set for this scope and period",
            Why::QuotaMet => "the quota is already met: bookings to date leave nothing to cover",
            Why::NoOpenPipeline => {
                "nothing is open on the as-of date in deals due to close in the period"
            }
            Why::NoOpenDeals => "no deal was open on the as-of date",
            Why::NoRepsWithQuota => "no active rep in scope has a quota of their own",
            Why::NoReps => "no rep was in scope at the period's start, nor at its end",
            Why::NoRepDays => {
                "no rep in scope was employed on a working day of the period up to the as-of date"
            }
            Why::NoLeads => "no lead was created in the period",
            Why::NoAnsweredLeads => {
                "none of the leads created in the period was answered by the as-of date"
            }
            Why::NoOppsCreated => "no opportunity was created in the period",
            Why::NoNewCustomers => "no new customer was won in the period",
            Why::NoCustomersAtStart => "no customer was active on the period's first day",
            Why::NoCustomersAtWindowStart => {
                "no customer was active at the start of the trailing twelve months"
            }
            Why::NoChurn => {
                "no customer churned in the trailing twelve months, so a customer's lifetime has no end"
            }
            Why::NoSpend => "no sales and marketing spend in the period",
            Why::NoSurveys => "no survey response in the period",
            Why::NotATeam => "only a team has a span of control",
            Why::NoForecasts => "it waits for forecasts, which salesorg does not hold yet",
            Why::NotApplicable => "the comparison does not apply to this period",
            Why::NotComputed => "not computed for this scope and period",
        }
    }

    /// Why `id` has no value when a run left it out: it waits for data, or it was not asked.
    pub fn missing(id: &str) -> Why {
        if NOT_YET.contains(&id) {
            Why::NoForecasts
        } else {
            Why::NotComputed
        }
    }
}

/// A KPI's value, ready for output.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Undefined: `null`, shown as "—"; why, for whoever asks.
    Null(Why),
    Count(i64),
    /// Exact money in ten-thousandths of the organisation's currency.
    Money(i128),
    /// A ratio, exact to [`RATIO_DECIMALS`] places: `units / 10^RATIO_DECIMALS`.
    Ratio(i128),
    /// Days or minutes, exact to four places: `units / 10^4`.
    Measure(i128),
    /// Boxed: a row of the bulk export holds 46 values, and the numbers need no more
    /// than 32 bytes each.
    Table(Box<Table>),
}

/// A table-valued KPI (spec §6 `stage_conversion`, `days_in_stage_avg`, `loss_reasons`):
/// one row per stage or loss reason, labelled by its name. Made for every scope × period
/// of a bulk export, so a table is two allocations (itself, and its rows flat: each row's
/// label then its values, as many as it has) and a shared list of the names its labels
/// point into.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The label column's name, then the value columns'.
    pub columns: &'static [&'static str],
    /// The names the labels point into (a run's stage names or loss reasons).
    names: Arc<[String]>,
    /// Each row's label (`Count` of a position in `names`; past its end: no reason
    /// given), then its values, one per value column.
    cells: Vec<Value>,
}

impl Table {
    /// A table of `rows`, each a position in `names` and its `N` values (`columns` names
    /// the label column, then the `N` value columns).
    pub fn new<const N: usize, I>(
        columns: &'static [&'static str],
        names: &Arc<[String]>,
        rows: I,
    ) -> Table
    where
        I: IntoIterator<Item = (usize, [Value; N])>,
        I::IntoIter: Clone,
    {
        debug_assert_eq!(columns.len(), N + 1, "a label column and {N} value columns");
        let rows = rows.into_iter();
        // (the rows counted first: room for every stage or reason was a third more
        // memory, and a bulk export holds three tables a row)
        let mut cells = Vec::with_capacity(rows.clone().count() * (N + 1));
        for (k, vs) in rows {
            cells.push(Value::Count(k as i64));
            cells.extend(vs);
        }
        Table {
            columns,
            names: Arc::clone(names),
            cells,
        }
    }
    /// Cells a row: its label and one per value column.
    fn stride(&self) -> usize {
        self.columns.len().max(1)
    }
    /// How many rows.
    pub fn len(&self) -> usize {
        self.cells.len() / self.stride()
    }
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }
    /// The name a row's label cell points to.
    fn name(&self, label: &Value) -> &str {
        let k = match label {
            Value::Count(k) => usize::try_from(*k).unwrap_or(usize::MAX),
            _ => usize::MAX,
        };
        self.names.get(k).map_or(NO_REASON, String::as_str)
    }
    /// Row `k`'s label.
    pub fn label(&self, k: usize) -> &str {
        self.name(&self.cells[k * self.stride()])
    }
    /// Each row's label and values, in order.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &[Value])> {
        self.cells
            .chunks_exact(self.stride())
            .map(|r| (self.name(&r[0]), &r[1..]))
    }
}

/// The label of lost deals with no reason given.
pub const NO_REASON: &str = "(none given)";

use crate::scorecard::book::div_round;

const RATIO_SCALE: i128 = 10i128.pow(RATIO_DECIMALS);

/// The ratio 1 (`quota_attainment`'s target: the whole quota).
pub const RATIO_ONE: Value = Value::Ratio(RATIO_SCALE);

/// Growth of `now` over `before` (spec §2 `revenue_growth_yoy`: (bookings − bookings a
/// year earlier) / bookings a year earlier); `null` when `before` is 0.
pub fn growth(now: i128, before: i128) -> Value {
    ratio(now - before, before, Why::NoBookingsLastYear)
}

/// [`growth`] of two money values (`null` unless both are money): a period under way's
/// bookings against last year's to the same day, the like-for-like growth shown beside
/// `revenue_growth_yoy`, which the spec takes against last year's whole period.
pub fn growth_of(now: &Value, before: &Value) -> Value {
    match (now, before) {
        (Value::Money(a), Value::Money(b)) => growth(*a, *b),
        (Value::Null(w), _) | (_, Value::Null(w)) => Value::Null(*w),
        _ => Value::Null(Why::NotApplicable),
    }
}

/// `n / d` as a ratio; `Null(why)` when `d` is zero (spec §1 "Undefined").
pub fn ratio(n: i128, d: i128, why: Why) -> Value {
    if d == 0 {
        Value::Null(why)
    } else {
        Value::Ratio(div_round(n * RATIO_SCALE, d))
    }
}

/// Money divided by a count: exact until this one division, rounded to 1/10000.
pub fn money_per(n: i128, d: i128, why: Why) -> Value {
    if d == 0 {
        Value::Null(why)
    } else {
        Value::Money(div_round(n, d))
    }
}

fn measure(n: i128, d: i128, why: Why) -> Value {
    if d == 0 {
        Value::Null(why)
    } else {
        Value::Measure(div_round(n * 10_000, d))
    }
}

/// The two middle values of a multiset in order (the same value twice when its count is
/// odd), or `None` when it is empty: all a median needs.
pub type Middle = Option<(u32, u32)>;

/// The middle values of a histogram (`h[v]` values equal `v`).
pub fn hist_middle(h: &[u32]) -> Middle {
    let n: u64 = h.iter().map(|&c| u64::from(c)).sum();
    if n == 0 {
        return None;
    }
    let nth = |k: u64| {
        let mut acc = 0u64;
        for (v, &c) in h.iter().enumerate() {
            acc += u64::from(c);
            if acc > k {
                return v as u32;
            }
        }
        0
    };
    Some((nth((n - 1) / 2), nth(n / 2)))
}

/// The middle values of `v` (reordered).
pub fn select_middle(v: &mut [u32]) -> Middle {
    let n = v.len();
    (n > 0).then(|| select_ranks(v, (n - 1) / 2, n / 2))
}

/// The values of ranks `lo` and `hi` of `v` in order (`hi` is `lo` or `lo + 1`, below
/// `v.len()`; `v` is reordered).
pub fn select_ranks(v: &mut [u32], lo: usize, hi: usize) -> (u32, u32) {
    let (_, &mut h, _) = v.select_nth_unstable(hi);
    // (after the selection every value before rank `hi` is at most its value)
    let l = if lo == hi {
        h
    } else {
        *v[..hi].iter().max().unwrap_or(&h)
    };
    (l, h)
}

/// A median of days in units of 1/10000 (mean of the two middle values).
fn days_median(m: Middle, why: Why) -> Value {
    match m {
        None => Value::Null(why),
        Some((a, b)) => Value::Measure((i128::from(a) + i128::from(b)) * 10_000 / 2),
    }
}

/// A median of seconds as minutes, to 1/10000 (mean of the two middle values).
fn secs_median_as_minutes(m: Middle, why: Why) -> Value {
    match m {
        None => Value::Null(why),
        // (sum / 2) seconds / 60 → minutes, to 1/10000
        Some((a, b)) => Value::Measure(div_round((i128::from(a) + i128::from(b)) * 10_000, 120)),
    }
}

/// The one place every KPI formula lives (spec/kpis.md §2–6, choices in docs/kpis.md).
/// `t` is the scope's totals for the period, `cx` what the formula needs beyond them.
pub fn compute(id: &str, t: &mut Totals, cx: &Context) -> Option<Value> {
    let c = &t.cell;
    let i = |x: u32| i128::from(x);
    let m = |x: i64| i128::from(x);
    Some(match id {
        // §2 pipeline and bookings
        "bookings" => Value::Money(m(c.bookings)),
        "won_deals" => Value::Count(c.won.into()),
        "lost_deals" => Value::Count(c.lost.into()),
        "win_rate" => ratio(i(c.won), i(c.won) + i(c.lost), Why::NoClosedDeals),
        "win_rate_value" => ratio(
            m(c.bookings),
            m(c.bookings) + m(c.lost_amount),
            if c.won + c.lost == 0 {
                Why::NoClosedDeals
            } else {
                Why::NoClosedAmount
            },
        ),
        "avg_deal_size" => money_per(m(c.bookings), i(c.won), Why::NoWonDeals),
        "sales_cycle_days" => measure(m(c.cycle_sum), i(c.cycle_n), no_cycle(c)),
        "sales_cycle_days_median" => days_median(
            t.cycle_middle.unwrap_or_else(|| hist_middle(&t.cycle_hist)),
            no_cycle(c),
        ),
        "revenue_growth_yoy" => match cx.last_year {
            Some(ly) => growth(m(c.bookings), m(ly.cell.bookings)),
            None => Value::Null(Why::NotComputed),
        },
        "opps_created" => Value::Count(c.created.into()),
        "pipeline_created" => Value::Money(m(c.created_amount)),
        "pipeline_open" => Value::Money(m(c.open_amount)),
        "pipeline_weighted" => Value::Money(div_round(c.open_weighted_bp, 10_000)),
        "pipeline_coverage" => match t.quota {
            Some(q) if q - m(c.bookings_to_date) > 0 => {
                ratio(m(c.open_amount), q - m(c.bookings_to_date), Why::QuotaMet)
            }
            Some(_) => Value::Null(Why::QuotaMet),
            None => Value::Null(Why::NoQuota),
        },
        "stale_pipeline_share" => ratio(
            m(c.open_stale_amount),
            m(c.open_amount),
            Why::NoOpenPipeline,
        ),
        // §3 quotas and people
        "quota" => t.quota.map_or(Value::Null(Why::NoQuota), Value::Money),
        "quota_attainment" => match t.quota {
            Some(q) => ratio(m(c.bookings), q, Why::NoQuota),
            None => Value::Null(Why::NoQuota),
        },
        "reps_at_quota_share" => ratio(
            i(t.reps_at_quota),
            i(t.reps_with_quota),
            Why::NoRepsWithQuota,
        ),
        "active_reps" => Value::Count(t.active_reps.into()),
        "headcount" => Value::Count(c.headcount_end.into()),
        "rep_attrition_rate" => ratio(
            2 * i(c.reps_left),
            i(c.reps_start) + i(c.reps_end),
            Why::NoReps,
        ),
        "span_of_control" => t
            .span_of_control
            .map_or(Value::Null(Why::NotATeam), |s| Value::Count(s.into())),
        // §4 activity and leads
        "calls" => Value::Count(c.calls.into()),
        "activities" => Value::Count(c.activities.into()),
        "calls_per_rep_day" => ratio(i(c.rep_calls), i(c.rep_days), Why::NoRepDays),
        "leads_created" => Value::Count(c.leads.into()),
        "lead_conversion_rate" => ratio(i(c.leads_converted), i(c.leads), Why::NoLeads),
        "lead_response_minutes_median" => secs_median_as_minutes(
            t.response_middle
                .unwrap_or_else(|| select_middle(&mut t.response_secs)),
            if c.leads == 0 {
                Why::NoLeads
            } else {
                Why::NoAnsweredLeads
            },
        ),
        "lead_response_sla_share" => ratio(i(c.leads_in_sla), i(c.leads), Why::NoLeads),
        "followups_per_lead" => ratio(i(c.lead_followups), i(c.leads), Why::NoLeads),
        "opp_conversion_rate" => ratio(i(c.created_won), i(c.created), Why::NoOppsCreated),
        // §5 customers and cost
        "new_customers" => Value::Count(c.new_customers.into()),
        "sales_marketing_spend" => Value::Money(m(c.spend) + m(t.unit_spend)),
        "cac" => money_per(
            m(c.spend) + m(t.unit_spend),
            i(c.new_customers),
            Why::NoNewCustomers,
        ),
        "cost_per_opportunity" => money_per(
            m(c.spend) + m(t.unit_spend),
            i(c.created),
            Why::NoOppsCreated,
        ),
        "cost_per_sale" => money_per(m(c.spend) + m(t.unit_spend), i(c.won), Why::NoWonDeals),
        "active_customers" => Value::Count(c.customers_end.into()),
        "logo_churn_rate" => ratio(
            i(c.customers_start_churned),
            i(c.customers_start),
            Why::NoCustomersAtStart,
        ),
        "logo_retention_rate" => ratio(
            i(c.customers_start) - i(c.customers_start_churned),
            i(c.customers_start),
            Why::NoCustomersAtStart,
        ),
        "ltv" => ltv(cx),
        "ltv_cac_ratio" => {
            let spend = m(c.spend) + m(t.unit_spend);
            // ltv / cac = ltv × new_customers / spend, with ltv as an exact rational
            match ltv_rational(cx) {
                Err(why) => Value::Null(why),
                Ok(_) if c.new_customers == 0 => Value::Null(Why::NoNewCustomers),
                Ok((n, d)) => ratio(n * i(c.new_customers), d * spend, Why::NoSpend),
            }
        }
        "csat_avg" => {
            if c.surveys == 0 {
                Value::Null(Why::NoSurveys)
            } else {
                Value::Ratio(
                    (c.survey_sum / f64::from(c.surveys) * RATIO_SCALE as f64).round() as i128,
                )
            }
        }
        // §6 funnel and data quality
        "stage_conversion" => Value::Table(Box::new(Table::new(
            &["stage", "entered", "advanced", "conversion"],
            cx.stage_names,
            t.stages
                .iter()
                .enumerate()
                .filter(|(_, s)| s.entered > 0)
                .map(|(k, s)| {
                    (
                        k,
                        [
                            Value::Count(s.entered.into()),
                            Value::Count(s.advanced.into()),
                            ratio(i(s.advanced), i(s.entered), Why::NotComputed),
                        ],
                    )
                }),
        ))),
        "days_in_stage_avg" => Value::Table(Box::new(Table::new(
            &["stage", "left", "days_avg"],
            cx.stage_names,
            t.stages
                .iter()
                .enumerate()
                .filter(|(_, s)| s.left > 0)
                .map(|(k, s)| {
                    (
                        k,
                        [
                            Value::Count(s.left.into()),
                            measure(s.days_sum.into(), i(s.left), Why::NotComputed),
                        ],
                    )
                }),
        ))),
        "loss_reasons" => {
            // (the order on the stack for up to 64 reasons: a bulk export makes this
            // table for every row)
            let (mut small, mut big) = ([0u32; 64], Vec::new());
            let idx: &mut [u32] = if t.losses.len() <= small.len() {
                &mut small[..]
            } else {
                big.resize(t.losses.len(), 0u32);
                &mut big[..]
            };
            let mut n = 0;
            for (k, l) in t.losses.iter().enumerate() {
                if l.count > 0 {
                    idx[n] = k as u32;
                    n += 1;
                }
            }
            let idx = &mut idx[..n];
            idx.sort_unstable_by_key(|&k| (std::cmp::Reverse(t.losses[k as usize].count), k));
            // the last entry, past the reasons' names, is labelled "no reason given"
            Value::Table(Box::new(Table::new(
                &["reason", "lost_deals", "lost_amount"],
                cx.loss_reasons,
                idx.iter().map(|&k| {
                    let k = k as usize;
                    let l = &t.losses[k];
                    (
                        k,
                        [Value::Count(l.count.into()), Value::Money(l.amount.into())],
                    )
                }),
            )))
        }
        "data_completeness_share" => ratio(i(c.open_complete), i(c.open_n), Why::NoOpenDeals),
        _ => return None,
    })
}

/// `ltv` as an exact rational in money units: arpa × margin / annual churn, with
/// arpa = trailing bookings / mean(customers at window start, at window end) and
/// churn = churned from the start cohort / that cohort.
fn ltv_rational(cx: &Context) -> Result<(i128, i128), Why> {
    let start = i128::from(cx.trailing_customers_start);
    let end = i128::from(cx.trailing_customers_end);
    let churned = i128::from(cx.trailing_churned);
    if start == 0 {
        return Err(Why::NoCustomersAtWindowStart);
    }
    if churned == 0 {
        return Err(Why::NoChurn);
    }
    // arpa = B / ((start+end)/2) = 2B/(start+end); churn = churned/start;
    // ltv = arpa × (gm/10^4) / churn = 2B × gm × start / ((start+end) × 10^4 × churned)
    let n = 2 * i128::from(cx.trailing_bookings) * i128::from(cx.gross_margin) * start;
    let d = (start + end) * 10_000 * churned;
    Ok((n, d))
}

fn ltv(cx: &Context) -> Value {
    match ltv_rational(cx) {
        Ok((n, d)) => Value::Money(div_round(n, d)),
        Err(why) => Value::Null(why),
    }
}

/// Why a scope's sales cycle has no value: no deal won, or none with a created date.
fn no_cycle(c: &Cell) -> Why {
    if c.won == 0 {
        Why::NoWonDeals
    } else {
        Why::NoCreatedDates
    }
}

impl Value {
    /// The value as JSON: counts and ratios as numbers, money as a decimal string
    /// (exact), undefined as `null`, tables as arrays of objects.
    pub fn to_json(&self) -> String {
        match self {
            Value::Null(_) => "null".into(),
            Value::Count(n) => n.to_string(),
            Value::Money(u) => format!("\"{}\"", fmt_fixed(*u, 4, 2)),
            Value::Ratio(u) => fmt_fixed(*u, RATIO_DECIMALS, 1),
            Value::Measure(u) => fmt_fixed(*u, 4, 1),
            Value::Table(t) => {
                let mut s = String::from("[");
                for (k, (label, row)) in t.rows().enumerate() {
                    if k > 0 {
                        s.push(',');
                    }
                    s.push('{');
                    s.push_str(&format!("\"{}\":{}", t.columns[0], json_str(label)));
                    for (j, v) in row.iter().enumerate() {
                        s.push_str(&format!(",\"{}\":{}", t.columns[j + 1], v.to_json()));
                    }
                    s.push('}');
                }
                s.push(']');
                s
            }
        }
    }
    /// The value as text for tables and CSV: `—`/empty for undefined.
    pub fn to_text(&self, null: &str) -> String {
        let mut s = String::new();
        self.write_text(null, &mut s);
        s
    }
    /// [`Value::to_text`] appended to `out` (a bulk export writes a million values
    /// without a string each). A table reads `label: a/b/c; …`.
    pub fn write_text(&self, null: &str, out: &mut String) {
        match self {
            Value::Null(_) => out.push_str(null),
            Value::Count(n) => {
                use std::fmt::Write;
                let _ = write!(out, "{n}");
            }
            Value::Money(u) => write_fixed(out, *u, 4, 2),
            Value::Ratio(u) => write_fixed(out, *u, RATIO_DECIMALS, 1),
            Value::Measure(u) => write_fixed(out, *u, 4, 1),
            Value::Table(t) => {
                for (k, (l, r)) in t.rows().enumerate() {
                    if k > 0 {
                        out.push_str("; ");
                    }
                    out.push_str(l);
                    out.push_str(": ");
                    for (j, v) in r.iter().enumerate() {
                        if j > 0 {
                            out.push('/');
                        }
                        v.write_text(null, out);
                    }
                }
            }
        }
    }
    /// Why the value is undefined; `None` when it has one.
    pub fn why(&self) -> Option<Why> {
        match self {
            Value::Null(why) => Some(*why),
            _ => None,
        }
    }
    /// The value as a float, for charts and comparisons; `None` when undefined or a table.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Count(n) => Some(*n as f64),
            Value::Money(u) | Value::Measure(u) => Some(*u as f64 / 10_000.0),
            Value::Ratio(u) => Some(*u as f64 / RATIO_SCALE as f64),
            _ => None,
        }
    }
}

/// Formats `units / 10^scale` with at least `min_dec` decimals and trailing zeros trimmed.
pub fn fmt_fixed(units: i128, scale: u32, min_dec: usize) -> String {
    let mut s = String::new();
    write_fixed(&mut s, units, scale, min_dec);
    s
}

/// [`fmt_fixed`] appended to `out`.
pub fn write_fixed(out: &mut String, units: i128, scale: u32, min_dec: usize) {
    use std::fmt::Write;
    let a = units.unsigned_abs();
    let p = 10u128.pow(scale);
    if units < 0 {
        out.push('-');
    }
    let (whole, mut frac) = (a / p, a % p);
    let _ = match u64::try_from(whole) {
        Ok(w) => write!(out, "{w}"),
        Err(_) => write!(out, "{whole}"),
    };
    // the decimals, trailing zeros trimmed down to `min_dec`
    let mut digits = scale as usize;
    while digits > min_dec && frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    if digits > 0 {
        let _ = write!(out, ".{frac:0digits$}");
    }
}

pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every KPI said to be better lower is a KPI of the spec (the list had named a
    /// `churn_rate` no KPI is, so a rise in `logo_churn_rate` showed green).
    #[test]
    fn the_kpis_better_lower_are_kpis() {
        for k in LOWER_IS_BETTER {
            assert!(KPI_IDS.contains(k), "{k}");
        }
        assert!(lower_is_better("logo_churn_rate") && !lower_is_better("logo_retention_rate"));
    }

    /// Each undefined KPI says what its formula found missing, and the reason changes
    /// with what is there: a scope with deals but none won, with a quota already met, with
    /// leads none of which were answered, with customers none of whom churned.
    #[test]
    fn an_undefined_value_says_why() {
        let names: Arc<[String]> = Vec::new().into();
        let cx = |start: u32, churned: u32| Context {
            last_year: None,
            trailing_bookings: 1_000_000,
            trailing_customers_start: start,
            trailing_customers_end: start,
            trailing_churned: churned,
            gross_margin: 10_000,
            stage_names: &names,
            loss_reasons: &names,
        };
        let why = |t: &mut Totals, cx: &Context, id: &str| compute(id, t, cx).unwrap().why();
        let mut t = Totals::default();
        let (none, one_churned) = (cx(0, 0), cx(4, 1));
        for (id, want) in [
            ("win_rate", Why::NoClosedDeals),
            ("win_rate_value", Why::NoClosedDeals),
            ("sales_cycle_days", Why::NoWonDeals),
            ("sales_cycle_days_median", Why::NoWonDeals),
            ("revenue_growth_yoy", Why::NotComputed),
            ("quota", Why::NoQuota),
            ("quota_attainment", Why::NoQuota),
            ("pipeline_coverage", Why::NoQuota),
            ("rep_attrition_rate", Why::NoReps),
            ("calls_per_rep_day", Why::NoRepDays),
            ("lead_response_minutes_median", Why::NoLeads),
            ("opp_conversion_rate", Why::NoOppsCreated),
            ("cost_per_opportunity", Why::NoOppsCreated),
            ("cost_per_sale", Why::NoWonDeals),
            ("logo_retention_rate", Why::NoCustomersAtStart),
            ("ltv", Why::NoCustomersAtWindowStart),
            ("ltv_cac_ratio", Why::NoCustomersAtWindowStart),
            ("span_of_control", Why::NotATeam),
        ] {
            assert_eq!(why(&mut t, &none, id), Some(want), "{id}");
        }
        // two deals closed at no amount; one won without a created date
        t.cell.won = 1;
        t.cell.lost = 1;
        assert_eq!(why(&mut t, &none, "win_rate"), None);
        assert_eq!(
            why(&mut t, &none, "win_rate_value"),
            Some(Why::NoClosedAmount)
        );
        assert_eq!(
            why(&mut t, &none, "sales_cycle_days"),
            Some(Why::NoCreatedDates)
        );
        assert_eq!(
            why(&mut t, &none, "sales_cycle_days_median"),
            Some(Why::NoCreatedDates)
        );
        // a quota met exactly, then passed, leaves nothing to cover
        for booked in [5_000, 6_000] {
            t.quota = Some(5_000);
            t.cell.bookings_to_date = booked;
            assert_eq!(why(&mut t, &none, "pipeline_coverage"), Some(Why::QuotaMet));
        }
        t.cell.bookings_to_date = 4_000;
        assert_eq!(why(&mut t, &none, "pipeline_coverage"), None);
        // leads, none answered by the as-of day
        t.cell.leads = 3;
        assert_eq!(
            why(&mut t, &none, "lead_response_minutes_median"),
            Some(Why::NoAnsweredLeads)
        );
        assert_eq!(why(&mut t, &none, "lead_conversion_rate"), None);
        // a cohort none of whom churned: a lifetime without end
        assert_eq!(why(&mut t, &cx(4, 0), "ltv"), Some(Why::NoChurn));
        assert_eq!(why(&mut t, &one_churned, "ltv"), None);
        // ltv known: the ratio wants new customers, then spend
        assert_eq!(
            why(&mut t, &one_churned, "ltv_cac_ratio"),
            Some(Why::NoNewCustomers)
        );
        t.cell.new_customers = 2;
        assert_eq!(
            why(&mut t, &one_churned, "ltv_cac_ratio"),
            Some(Why::NoSpend)
        );
        t.cell.spend = 10_000;
        assert_eq!(why(&mut t, &one_churned, "ltv_cac_ratio"), None);
        // last year's bookings of nothing, and a growth of values that are not money
        let ly = Totals::default();
        let with_ly = Context {
            last_year: Some(&ly),
            ..cx(0, 0)
        };
        assert_eq!(
            why(&mut t, &with_ly, "revenue_growth_yoy"),
            Some(Why::NoBookingsLastYear)
        );
        assert_eq!(
            growth_of(&Value::Count(1), &Value::Money(1)).why(),
            Some(Why::NotApplicable)
        );
        assert_eq!(
            growth_of(&Value::Money(1), &Value::Null(Why::NoQuota)).why(),
            Some(Why::NoQuota)
        );
        // every reason reads as words, and a KPI left out for want of data says so
        assert_eq!(Why::missing("forecast_accuracy"), Why::NoForecasts);
        assert_eq!(Why::missing("win_rate"), Why::NotComputed);
        assert!(Why::QuotaMet.text().starts_with("the quota is already met"));
    }

    /// The text of `units / 10^scale` the plain way: every decimal, then trailing zeros
    /// trimmed down to `min_dec`.
    fn reference(units: i128, scale: u32, min_dec: usize) -> String {
        let p = 10u128.pow(scale);
        let a = units.unsigned_abs();
        let mut frac = format!("{:0width$}", a % p, width = scale as usize);
        while frac.len() > min_dec && frac.ends_with('0') {
            frac.pop();
        }
        let sign = if units < 0 { "-" } else { "" };
        if frac.is_empty() {
            format!("{sign}{}", a / p)
        } else {
            format!("{sign}{}.{frac}", a / p)
        }
    }

    #[test]
    fn fixed_point_text_is_exact_and_trimmed() {
        let mut units = vec![
            0,
            1,
            -1,
            10,
            -5_000,
            12_345_000,
            1_230_001,
            9_999_999,
            i128::from(u64::MAX) * 10_000 + 1,
            i128::MAX,
            i128::MIN + 1,
        ];
        units.extend((-2_000..2_000).map(|x| x * 37));
        for &u in &units {
            for (scale, min_dec) in [(4, 2), (4, 1), (RATIO_DECIMALS, 1), (4, 0), (0, 0), (2, 4)] {
                assert_eq!(
                    fmt_fixed(u, scale, min_dec),
                    reference(u, scale, min_dec),
                    "{u} {scale} {min_dec}"
                );
            }
        }
        assert_eq!(fmt_fixed(12_345_000, 4, 2), "1234.50");
        assert_eq!(fmt_fixed(-5_000, 4, 1), "-0.5");
        let names: Arc<[String]> = vec!["Qualify".to_string(), "Close, won".to_string()].into();
        let t = Value::Table(Box::new(Table::new(
            &["stage", "entered", "share"],
            &names,
            [
                (0, [Value::Count(3), Value::Ratio(0)]),
                (1, [Value::Count(0), Value::Null(Why::NotComputed)]),
            ],
        )));
        assert_eq!(t.to_text("—"), "Qualify: 3/0.0; Close, won: 0/—");
    }

    /// A mistyped KPI id is matched to the one it was most likely meant to be, and to
    /// none where nothing is near or two are as near.
    #[test]
    fn a_mistyped_kpi_is_matched_to_the_nearest() {
        for (typed, meant) in [
            ("win_rat", Some("win_rate")),
            ("Win Rate", Some("win_rate")),
            ("win-rates", Some("win_rate")),
            ("bookngs", Some("bookings")),
            ("quota_atainment", Some("quota_attainment")),
            ("pipline_open", Some("pipeline_open")),
            ("clals", Some("calls")),
            ("cax", Some("cac")),
            ("lost_deal", Some("lost_deals")),
            // a third of the length at most: "pipeline" is five letters from any KPI
            ("pipeline", None),
            ("revenue", None),
            ("", None),
            ("xyz", None),
        ] {
            assert_eq!(did_you_mean(typed), meant, "{typed:?}");
        }
        assert_eq!(
            unknown_kpi("win_rat"),
            "\"win_rat\" is not a KPI of the spec: did you mean \"win_rate\"? (`salesorg kpis` \
             lists them all)"
        );
        assert_eq!(
            unknown_kpi("revenue"),
            "\"revenue\" is not a KPI of the spec (`salesorg kpis` lists them all)"
        );
        // a target's metric: only a KPI a target can be set on is suggested
        let one = crate::money::Money::parse("1").unwrap();
        let e = target_metric(Some("win_rat"), one).unwrap_err();
        assert!(e.contains("did you mean \"win_rate\"?"), "{e}");
        let e = target_metric(Some("quota_atainment"), one).unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }

    /// A table keeps every row, in order, and equals the same table made again; the
    /// rows' labels past the names read as no reason given.
    #[test]
    fn a_table_keeps_its_rows_and_their_labels() {
        let names: Arc<[String]> = (0..20).map(|k| format!("s{k}")).collect();
        for n in [0usize, 1, 7, 8, 9, 21] {
            let make = || {
                Table::new(
                    &["stage", "entered", "advanced", "conversion"],
                    &names,
                    (0..n).map(|k| {
                        let k = k as i64;
                        (
                            k as usize,
                            [
                                Value::Count(k),
                                Value::Count(2 * k),
                                Value::Null(Why::NotComputed),
                            ],
                        )
                    }),
                )
            };
            let t = make();
            assert_eq!(t.len(), n, "{n} rows");
            assert_eq!(t.is_empty(), n == 0);
            assert_eq!(t, make());
            let rows: Vec<(String, Vec<Value>)> =
                t.rows().map(|(l, v)| (l.to_owned(), v.to_vec())).collect();
            let want: Vec<(String, Vec<Value>)> = (0..n)
                .map(|k| {
                    let label = names.get(k).map_or(NO_REASON.to_owned(), Clone::clone);
                    let k = k as i64;
                    (
                        label,
                        vec![
                            Value::Count(k),
                            Value::Count(2 * k),
                            Value::Null(Why::NotComputed),
                        ],
                    )
                })
                .collect();
            assert_eq!(rows, want, "{n} rows");
            if n > 0 {
                assert_eq!(t.label(n - 1), want[n - 1].0);
            }
        }
    }
}
