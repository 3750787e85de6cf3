//! The KPI ids of spec/kpis.md (shared/spec/kpis.md), sections 2 to 6. The formulas live in
//! the scorecard engine; this list is what the role catalog and every export refer to.

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
