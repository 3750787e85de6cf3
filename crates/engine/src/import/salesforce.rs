//! Salesforce Data Export / Data Loader folders: `User.csv`, `UserRole.csv`, `Account.csv`,
//! `Lead.csv`, `Opportunity.csv`, `OpportunityHistory.csv`, `Task.csv`, `Event.csv`, with
//! API-name headers in any order. Every file but `Opportunity.csv` is optional. Mapping
//! choices (docs/importers/salesforce.md):
//! - `UserRole` rows become units (the root role the company, roles with children
//!   departments, leaf roles teams); a user is placed in their role's unit.
//! - A user's manager is `User.ManagerId`; without one, the single user who holds the
//!   parent role. `Title` (else the role's name) picks the catalog role.
//! - Without `User.csv`, every owner id the records name becomes a person whose name is
//!   the id, and the import says so.
//! - Opportunities: `IsClosed`/`IsWon` decide open/won/lost (else `StageName` "Closed
//!   Won"/"Closed Lost"); `IsDeleted` rows are skipped; a column whose name contains
//!   "loss" and "reason" is the loss reason; `CurrencyIsoCode` or the org's currency.
//! - Tasks are calls, emails or tasks by `TaskSubtype` (else `Type`); events are meetings.
//!   `WhoId` starting 00Q is a lead; `WhatId` 006 an opportunity, 001 an account. An
//!   activity on a converted lead's contact (`Lead.ConvertedContactId`) dated on or before
//!   its conversion is the lead's: Salesforce moves a lead's activities there.
//! - `CurrencyType.csv` and `DatedConversionRate.csv` (multi-currency orgs) become rates out
//!   of the corporate currency, which must be the organisation's: a currency's dated rates
//!   from their `StartDate`, else its static rate for all time.
//! - `ForecastingQuota.csv` (with `Period.csv`, `ForecastingType.csv`) becomes quotas: the
//!   opportunity revenue forecast's, a manager's on their team (see `forecasting_quotas`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use salesorg_core::catalog::Catalog;
use salesorg_core::date::Date;
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money, Rate};
use salesorg_core::records::*;

use crate::Result;
use crate::import::fields::{Fields, each_row, need, open_csv};
use crate::import::{ImportOptions, Loader, Origin};
use crate::problem::Problem;

const WHAT: &str = "a Salesforce export";

/// A `UserRole` row: id, name, parent, where it came from, its raw fields.
type RoleRow = (UnitId, String, Option<UnitId>, Origin, Vec<String>);

/// Owners named by records when the export has no User.csv.
struct AutoOwners {
    enabled: bool,
    seen: BTreeSet<String>,
}

impl AutoOwners {
    fn note(&mut self, l: &mut Loader<'_>, id: &PersonId, origin: &Origin) {
        if self.enabled && !l.has_person(id) && self.seen.insert(id.to_string()) {
            let p = Person {
                id: id.clone(),
                name: id.to_string(),
                email: None,
                title: None,
                role: None,
                hired: None,
                left: None,
            };
            l.person(p, origin, &[]);
        }
    }
}

/// A rate row: its currency, `1 corporate = rate currency`, the day it starts (none for a
/// static rate), where it came from and its raw fields.
type RateRow = (Currency, Rate, Option<Date>, Origin, Vec<String>);

/// `CurrencyType.csv` (`IsoCode`, `ConversionRate`, `IsCorporate`) and
/// `DatedConversionRate.csv` (`IsoCode`, `ConversionRate`, `StartDate`): Salesforce keeps
/// each currency's rate against the corporate currency. With advanced currency management
/// a currency's dated rates apply to opportunities, each from its `StartDate`; without
/// them, its static rate, for all time. The corporate currency must be salesorg's.
fn rates(l: &mut Loader<'_>, dir: &Path, org: Currency) -> Result<Vec<(Currency, Rate, Date)>> {
    let mut statics: Vec<RateRow> = Vec::new();
    let mut corporate: Option<(Currency, Origin)> = None;
    if let Some(f) = open_csv(l, dir, "CurrencyType.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("IsoCode", &[], true),
                ("ConversionRate", &[], true),
                ("IsCorporate", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            let iso = x.currency(c[0]);
            let rate = x.rate(c[1]);
            let corp = x.bool(c[2]);
            let origin = x.origin(c[2].or(c[0]));
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(iso), Some(rate)) = (iso, rate) else {
                return Ok(());
            };
            if corp {
                corporate = Some((iso, origin.clone()));
            }
            statics.push((iso, rate, None, origin, x.raw().to_vec()));
            Ok(())
        })?;
    }
    let mut dated: Vec<RateRow> = Vec::new();
    if let Some(f) = open_csv(l, dir, "DatedConversionRate.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("IsoCode", &[], true),
                ("ConversionRate", &[], true),
                ("StartDate", &[], true),
            ],
        );
        each_row(l, &f, |l, x| {
            let iso = x.currency(c[0]);
            let rate = x.rate(c[1]);
            let start = x.date(c[2]);
            let origin = x.origin(c[0]);
            if !x.ok(l) {
                return Ok(());
            }
            if let (Some(iso), Some(rate), Some(start)) = (iso, rate, start) {
                dated.push((iso, rate, Some(start), origin, x.raw().to_vec()));
            }
            Ok(())
        })?;
    }
    let corp = match corporate {
        Some((c, origin)) if c != org => {
            l.fatal(origin.problem(format!(
                "the corporate currency is {c} and salesorg's is {org}: Salesforce's rates \
                 are against the corporate currency, so set salesorg's to it first \
                 (salesorg settings set currency {c})"
            )));
            return Ok(Vec::new());
        }
        Some((c, _)) => c,
        None => org,
    };
    let has_dated: BTreeSet<Currency> = dated.iter().map(|r| r.0).collect();
    let rows = statics
        .into_iter()
        .filter(|r| !has_dated.contains(&r.0))
        .chain(dated);
    // a static rate holds from the first day Salesforce's own dated rates start on
    let all_time = salesorg_core::date::parse_date("0001-01-01")?;
    let mut kept = Vec::new();
    for (iso, rate, start, origin, raw) in rows {
        if iso == corp {
            continue;
        }
        let r = CurrencyRate {
            date: start.unwrap_or(all_time),
            from: corp,
            to: iso,
            rate,
        };
        kept.push((iso, rate, r.date));
        l.rate(r, &origin, None, &raw)?;
    }
    Ok(kept)
}

/// `ForecastingQuota.csv` (collaborative forecasts' quotas: `QuotaOwnerId`, `StartDate`,
/// `QuotaAmount`, `CurrencyIsoCode`, `PeriodId`, `ForecastingTypeId`, `ProductFamily`,
/// `Territory2Id`), with `Period.csv` (`Id`, `StartDate`, `EndDate`) for each quota's
/// period and `ForecastingType.csv` (`Id`, `DeveloperName`) for its forecast type:
/// - the opportunity-revenue forecast's quotas are kept: those of the type named
///   `OpportunityRevenue`, and without `ForecastingType.csv` those of the one type the
///   file holds (several types without it are refused, naming the file to add); product
///   family and territory quotas, and quantity quotas (no `QuotaAmount`), are left out;
/// - a quota's period runs from its `StartDate` to its period's `EndDate`; without
///   `Period.csv`, a month or a quarter, as the gaps between the file's start dates show
///   (a file of one start date is refused, naming `Period.csv`);
/// - a user who manages someone holds their team's quota (Salesforce forecasts roll a
///   team up to its manager, whose quota is the team's); anyone else their own book's;
/// - a quota in another currency converts at the export's rate in force on its start.
fn forecasting_quotas(
    l: &mut Loader<'_>,
    dir: &Path,
    org: Currency,
    managers: &BTreeSet<PersonId>,
    rates: &[(Currency, Rate, Date)],
) -> Result<()> {
    let Some(f) = open_csv(l, dir, "ForecastingQuota.csv", false, WHAT) else {
        return Ok(());
    };
    // the forecast types, by id: the opportunity revenue one's
    let mut revenue_type: Option<Option<String>> = None;
    if let Some(t) = open_csv(l, dir, "ForecastingType.csv", false, WHAT) {
        let c = need(l, &t, &[("Id", &[], true), ("DeveloperName", &[], true)]);
        let mut found = None;
        each_row(l, &t, |l, x| {
            let (id, name) = (x.text(c[0]), x.text(c[1]));
            if x.ok(l) && name.as_deref() == Some("OpportunityRevenue") {
                found = id;
            }
            Ok(())
        })?;
        revenue_type = Some(found);
    }
    let mut periods: BTreeMap<String, (Date, Date)> = BTreeMap::new();
    let has_periods = dir.join("Period.csv").exists();
    if let Some(p) = open_csv(l, dir, "Period.csv", false, WHAT) {
        let c = need(
            l,
            &p,
            &[
                ("Id", &[], true),
                ("StartDate", &[], true),
                ("EndDate", &[], true),
            ],
        );
        each_row(l, &p, |l, x| {
            let id = x.req(c[0], "Id");
            let (a, b) = (x.date(c[1]), x.date(c[2]));
            if let (Some(a), Some(b)) = (a, b)
                && b < a
            {
                x.problem(c[2], "the period ends before it starts");
            }
            if x.ok(l)
                && let (Some(id), Some(a), Some(b)) = (id, a, b)
            {
                periods.insert(id, (a, b));
            }
            Ok(())
        })?;
    }
    let c = need(
        l,
        &f,
        &[
            ("QuotaOwnerId", &[], true),
            ("StartDate", &[], true),
            ("QuotaAmount", &[], true),
            ("CurrencyIsoCode", &[], false),
            ("PeriodId", &[], false),
            ("ForecastingTypeId", &[], false),
            ("ProductFamily", &[], false),
            ("Territory2Id", &[], false),
        ],
    );
    type Row = (PersonId, Date, Money, Option<String>, Origin, Vec<String>);
    let mut rows: Vec<Row> = Vec::new();
    let mut types: BTreeSet<String> = BTreeSet::new();
    let mut left_out = 0u64;
    each_row(l, &f, |l, x| {
        let owner: Option<PersonId> = x.req_id(c[0], "QuotaOwnerId");
        let start = x.date(c[1]);
        let amount = x.money(c[2]);
        let ccy = x.currency(c[3]);
        let period = x.text(c[4]);
        let kind = x.text(c[5]);
        let partial = x.text(c[6]).is_some() || x.text(c[7]).is_some();
        if amount.is_some_and(|a| a.units() < 0) {
            x.problem(c[2], super::NEGATIVE_QUOTA);
        }
        // converted from the quota's currency at the rate in force on its start
        let amount = match (amount, ccy, start) {
            (Some(a), Some(ccy), Some(day)) if ccy != org => {
                let rate = rates
                    .iter()
                    .filter(|r| r.0 == ccy && r.2 <= day)
                    .max_by_key(|r| r.2)
                    .map(|r| r.1);
                let conv = salesorg_core::scorecard::book::Conversion::inverted;
                match rate.map(|r| conv(r).checked_apply(a.units())) {
                    Some(Some(units)) => Some(Money::from_units(units)),
                    Some(None) => {
                        x.problem(
                            c[2],
                            format!("{a} {ccy} is more than salesorg holds in {org}"),
                        );
                        None
                    }
                    None => {
                        x.problem(
                            c[3],
                            format!(
                                "no rate converts {ccy} into {org} on {day} (CurrencyType.csv, \
                                 DatedConversionRate.csv)"
                            ),
                        );
                        None
                    }
                }
            }
            (a, ..) => a,
        };
        let origin = x.origin(c[2]);
        if !x.ok(l) {
            return Ok(());
        }
        let wanted = match (&revenue_type, &kind) {
            (Some(Some(t)), Some(k)) => t == k,
            (Some(_), Some(_)) => false,
            _ => true,
        };
        match (owner, start, amount) {
            (Some(owner), Some(start), Some(amount)) if wanted && !partial => {
                if let Some(k) = &kind {
                    types.insert(k.clone());
                }
                rows.push((owner, start, amount, period, origin, x.raw().to_vec()));
            }
            _ => left_out += 1,
        }
        Ok(())
    })?;
    if revenue_type.is_none() && types.len() > 1 {
        l.fatal(Problem::at(
            &f.name,
            1,
            c[5].map(|i| i + 1),
            format!(
                "the quotas are of {} forecast types: add ForecastingType.csv, so that those \
                 of the opportunity revenue forecast (OpportunityRevenue) are taken",
                types.len()
            ),
        ));
        return Ok(());
    }
    // without Period.csv: a month or a quarter, by the gaps between the start dates
    let starts: BTreeSet<Date> = rows.iter().map(|r| r.1).collect();
    let months =
        |a: Date, b: Date| (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    let gap = starts
        .iter()
        .zip(starts.iter().skip(1))
        .map(|(a, b)| months(*a, *b))
        .min();
    let step = match gap {
        Some(1) => Some(1),
        Some(3) => Some(3),
        _ => None,
    };
    for (owner, start, amount, period, origin, raw) in rows {
        let end = match period.as_ref().and_then(|p| periods.get(p)) {
            Some(&(_, last)) => last.next_day(),
            None if !has_periods && start.day() == 1 => {
                step.map(|m| salesorg_core::period::add_months(start, m))
            }
            None => None,
        };
        let Some(period) = end.and_then(|e| salesorg_core::period::Period::range(start, e).ok())
        else {
            l.fatal(origin.problem(if has_periods {
                "the quota's PeriodId is not in Period.csv".to_owned()
            } else {
                "the quota's period is unknown: add Period.csv (the export's forecast periods), \
                 or quotas of several months or quarters that show their length"
                    .to_owned()
            }));
            continue;
        };
        let target = if managers.contains(&owner) {
            QuotaTarget::Team(owner)
        } else {
            QuotaTarget::Person(owner)
        };
        let q = Quota {
            target,
            period,
            metric: "bookings".into(),
            amount,
        };
        l.quota(q, &origin, None, &raw)?;
    }
    if left_out > 0 {
        l.notes.push(format!(
            "ForecastingQuota.csv: {left_out} quotas of product families, territories, \
             quantities or other forecast types left out (salesorg's quota is the opportunity \
             revenue forecast's)"
        ));
    }
    Ok(())
}

fn deleted(x: &mut Fields<'_>, c: Option<usize>) -> bool {
    x.bool(c)
}

pub fn load(l: &mut Loader<'_>, dir: &Path, opts: &ImportOptions) -> Result<()> {
    if !dir.is_dir() {
        l.fatal(Problem::file(
            &dir.display().to_string(),
            "expected a folder holding a Salesforce export (User.csv, Opportunity.csv, …)",
        ));
        return Ok(());
    }
    let catalog = Catalog::builtin()?;
    let currency = l.settings().currency;
    let zone = l.settings().clone();

    // --- UserRole.csv -> units
    let mut role_names: BTreeMap<String, String> = BTreeMap::new();
    let mut role_parent: BTreeMap<String, Option<String>> = BTreeMap::new();
    if let Some(f) = open_csv(l, dir, "UserRole.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("Name", &[], true),
                ("ParentRoleId", &[], false),
            ],
        );
        let mut rows: Vec<RoleRow> = Vec::new();
        each_row(l, &f, |l, x| {
            let id: Option<UnitId> = x.req_id(c[0], "Id");
            let name = x.req(c[1], "Name");
            let parent: Option<UnitId> = x.id(c[2]);
            let origin = x.origin(c[0]);
            if x.ok(l)
                && let (Some(id), Some(name)) = (id, name)
            {
                rows.push((id, name, parent, origin, x.raw().to_vec()));
            }
            Ok(())
        })?;
        let parents: BTreeSet<String> = rows
            .iter()
            .filter_map(|r| r.2.as_ref().map(|p| p.to_string()))
            .collect();
        for (id, name, parent, origin, raw) in rows {
            let kind = if parent.is_none() {
                UnitKind::Company
            } else if parents.contains(id.as_str()) {
                UnitKind::Department
            } else {
                UnitKind::Team
            };
            role_names.insert(id.to_string(), name.clone());
            role_parent.insert(id.to_string(), parent.as_ref().map(|p| p.to_string()));
            l.unit(
                Unit {
                    id,
                    name,
                    kind,
                    parent,
                },
                &origin,
                &raw,
            );
        }
    }

    // --- User.csv -> people, managers, placements
    let mut managers: BTreeSet<PersonId> = BTreeSet::new();
    let have_users = dir.join("User.csv").exists();
    let mut auto = AutoOwners {
        enabled: !have_users,
        seen: BTreeSet::new(),
    };
    if let Some(f) = open_csv(l, dir, "User.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("Name", &[], false),
                ("FirstName", &[], false),
                ("LastName", &[], false),
                ("Email", &[], false),
                ("Title", &[], false),
                ("UserRoleId", &[], false),
                ("ManagerId", &[], false),
                ("IsActive", &[], false),
                ("CreatedDate", &[], false),
                ("LastModifiedDate", &[], false),
            ],
        );
        if c[1].is_none() && c[3].is_none() {
            l.fatal(Problem::at(
                &f.name,
                1,
                None,
                "User.csv needs a Name or a LastName column",
            ));
        }
        let mut users: Vec<(PersonId, Option<PersonId>, Option<UnitId>, Origin)> = Vec::new();
        each_row(l, &f, |l, x| {
            let id: Option<PersonId> = x.req_id(c[0], "Id");
            let name = x.text(c[1]).or_else(|| {
                let n = [x.text(c[2]), x.text(c[3])]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                (!n.is_empty()).then_some(n)
            });
            if name.is_none() {
                x.problem(c[1].or(c[3]), "the user has no name");
            }
            let role_id: Option<UnitId> = x.id(c[6]);
            let manager: Option<PersonId> = x.id(c[7]);
            let active = if c[8].is_some() { x.bool(c[8]) } else { true };
            let created = x.ts(c[9]);
            let modified = x.ts(c[10]);
            let title = x.text(c[5]);
            let origin = x.origin(c[7]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(name)) = (id, name) else {
                return Ok(());
            };
            let role_name = role_id.as_ref().and_then(|r| role_names.get(r.as_str()));
            let role = title
                .as_deref()
                .and_then(|t| catalog.match_title(t))
                .or_else(|| role_name.and_then(|t| catalog.match_title(t)))
                .and_then(|r| RoleId::parse(&r.id).ok());
            let person = Person {
                id: id.clone(),
                name,
                email: x.text(c[4]),
                title,
                role,
                hired: created.map(|t| zone.local_date(t)),
                left: if active {
                    None
                } else {
                    modified.map(|t| zone.local_date(t))
                },
            };
            if l.person(person, &origin, x.raw()) {
                users.push((id, manager, role_id, origin));
            }
            Ok(())
        })?;
        // role holders, to find a manager through the role hierarchy
        let mut holders: BTreeMap<String, Vec<PersonId>> = BTreeMap::new();
        for (id, _, role, _) in &users {
            if let Some(r) = role {
                holders.entry(r.to_string()).or_default().push(id.clone());
            }
        }
        for (id, manager, role, origin) in users {
            let manager = manager.or_else(|| {
                let parent = role
                    .as_ref()
                    .and_then(|r| role_parent.get(r.as_str()).cloned().flatten())?;
                match holders.get(&parent).map(Vec::as_slice) {
                    Some([only]) if *only != id => Some(only.clone()),
                    _ => None,
                }
            });
            if let Some(m) = &manager {
                managers.insert(m.clone());
            }
            l.manager(id.clone(), manager, &origin);
            l.placement(id, role, &origin);
        }
    } else {
        l.notes.push(
            "there is no User.csv: record owners become people named by their ids, with no manager"
                .into(),
        );
    }

    // --- Account.csv
    if !dir.join("Account.csv").exists() {
        l.soften("account");
    }
    if let Some(f) = open_csv(l, dir, "Account.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("Name", &[], true),
                ("Industry", &[], false),
                ("NumberOfEmployees", &[], false),
                ("BillingCountry", &["BillingState"], false),
                ("OwnerId", &[], false),
                ("ParentId", &[], false),
                ("IsDeleted", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            if deleted(x, c[7]) {
                return Ok(());
            }
            let id: Option<AccountId> = x.req_id(c[0], "Id");
            let name = x.req(c[1], "Name");
            let employees = x.int(c[3]);
            let owner: Option<PersonId> = x.id(c[5]);
            let parent: Option<AccountId> = x.id(c[6]);
            let origin = x.origin(c[5]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(name)) = (id, name) else {
                return Ok(());
            };
            if let Some(o) = &owner {
                auto.note(l, o, &origin);
            }
            let a = Account {
                id,
                name,
                industry: x.text(c[2]),
                employees,
                region: x.text(c[4]),
                owner,
                parent,
                customer_since: None,
                churned_on: None,
            };
            l.account(a, &origin, x.raw())
        })?;
    }

    let rate_rows = rates(l, dir, currency)?;

    // --- Opportunity.csv
    let default_owner = match &opts.default_owner {
        Some(o) => Some(PersonId::parse(o)?),
        None => None,
    };
    let mut backwards = 0u64;
    if let Some(f) = open_csv(l, dir, "Opportunity.csv", true, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("Name", &[], false),
                ("AccountId", &[], false),
                ("OwnerId", &[], false),
                ("Amount", &[], false),
                ("CurrencyIsoCode", &[], false),
                ("StageName", &[], true),
                ("Probability", &[], false),
                ("ForecastCategory", &["ForecastCategoryName"], false),
                ("Type", &[], false),
                ("LeadSource", &[], false),
                ("CreatedDate", &[], true),
                ("CloseDate", &[], true),
                ("IsClosed", &[], false),
                ("IsWon", &[], false),
                ("NextStep", &[], false),
                ("LastModifiedDate", &["SystemModstamp"], false),
                ("IsDeleted", &[], false),
            ],
        );
        let loss_col = f.headers.iter().position(|h| {
            let h = h.to_ascii_lowercase();
            h.contains("loss") && h.contains("reason")
        });
        if c[3].is_none() && default_owner.is_none() {
            l.refuse_file(
                &f,
                Problem::at(
                    &f.name,
                    1,
                    None,
                    "the export has no OwnerId column, so its opportunities have no owner; pass --default-owner ID to give them one",
                ),
            );
        }
        {
            each_row(l, &f, |l, x| {
                if deleted(x, c[17]) {
                    return Ok(());
                }
                let id: Option<OppId> = x.req_id(c[0], "Id");
                let owner: Option<PersonId> = match c[3] {
                    Some(_) => x.req_id(c[3], "OwnerId"),
                    None => default_owner.clone(),
                };
                let amount = x.money(c[4]);
                let ccy = match x.text(c[5]) {
                    Some(_) => x.currency(c[5]),
                    None => Some(currency),
                };
                let stage = x.req(c[6], "StageName");
                let probability = match x.text(c[7]) {
                    Some(t) => match Probability::parse_percent(&t) {
                        Ok(p) => Some(p),
                        Err(e) => {
                            x.problem(c[7], e.to_string());
                            None
                        }
                    },
                    None => None,
                };
                let fc = x.text(c[8]).and_then(|t| ForecastCategory::parse(&t).ok());
                let created = x.ts(c[11]);
                let close = x.date(c[12]);
                let (closed, won) = if c[13].is_some() {
                    (x.bool(c[13]), x.bool(c[14]))
                } else {
                    let s = stage.as_deref().unwrap_or("").to_ascii_lowercase();
                    (s.starts_with("closed"), s == "closed won")
                };
                if closed && close.is_none() {
                    x.problem(c[12], "a closed opportunity needs a CloseDate");
                }
                let modified = x.ts(c[16]);
                let origin = x.origin(c[3]);
                if !x.ok(l) {
                    return Ok(());
                }
                // (a row refused or skipped does not move the export's date on)
                if let Some(m) = modified {
                    l.see_date(m.date_utc());
                }
                let (Some(id), Some(owner), Some(stage), Some(ccy)) = (id, owner, stage, ccy)
                else {
                    return Ok(());
                };
                let Ok(stage) = Stage::parse(&stage) else {
                    return Ok(());
                };
                auto.note(l, &owner, &origin);
                let created = created.map(|t| zone.local_date(t));
                if let (Some(cr), Some(cl)) = (created, close)
                    && cl < cr
                {
                    backwards += 1;
                }
                let o = Opportunity {
                    id,
                    name: x.text(c[1]),
                    account: x.text(c[2]).and_then(|a| AccountId::parse(&a).ok()),
                    owner,
                    amount,
                    currency: ccy,
                    stage,
                    status: match (closed, won) {
                        (true, true) => OppStatus::Won,
                        (true, false) => OppStatus::Lost,
                        _ => OppStatus::Open,
                    },
                    probability,
                    forecast_category: fc,
                    kind: x.text(c[9]),
                    source: x.text(c[10]),
                    created,
                    close_date: close,
                    loss_reason: x.text(loss_col),
                    next_step: x.text(c[15]),
                    last_modified: modified,
                };
                l.opportunity(o, &origin, c[4], x.raw())
            })?;
        }
    }
    if backwards > 0 {
        l.notes.push(format!(
            "{backwards} opportunities close before their CreatedDate (records loaded after the fact); imported as they are"
        ));
    }

    // --- OpportunityHistory.csv
    if let Some(f) = open_csv(l, dir, "OpportunityHistory.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("OpportunityId", &[], true),
                ("CreatedDate", &[], true),
                ("StageName", &[], true),
                ("Amount", &[], false),
                ("CloseDate", &[], false),
                ("Probability", &[], false),
                ("ForecastCategory", &[], false),
                ("IsDeleted", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            if deleted(x, c[8]) {
                return Ok(());
            }
            let id = x.req(c[0], "Id");
            let opp: Option<OppId> = x.req_id(c[1], "OpportunityId");
            let at = x.ts(c[2]);
            if at.is_none() && x.problems.is_empty() {
                x.problem(c[2], "CreatedDate is required but empty");
            }
            let stage = x.req(c[3], "StageName");
            let amount = x.money(c[4]);
            let close = x.date(c[5]);
            let probability = x
                .text(c[6])
                .and_then(|t| Probability::parse_percent(&t).ok());
            let fc = x.text(c[7]).and_then(|t| ForecastCategory::parse(&t).ok());
            let origin = x.origin(c[1]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(opp), Some(at), Some(stage)) = (id, opp, at, stage) else {
                return Ok(());
            };
            let Ok(stage) = Stage::parse(&stage) else {
                return Ok(());
            };
            let h = StageChange {
                id,
                opp,
                at,
                stage,
                amount,
                close_date: close,
                probability,
                forecast_category: fc,
            };
            l.history(h, &origin, c[4], x.raw())
        })?;
    }

    // --- Lead.csv
    // a converted lead's contact, and the day it was converted: Salesforce moves the
    // lead's activities to that contact when it converts the lead (below)
    let mut converted_contacts: BTreeMap<String, (LeadId, Date)> = BTreeMap::new();
    if let Some(f) = open_csv(l, dir, "Lead.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("OwnerId", &[], true),
                ("LeadSource", &[], false),
                ("Status", &[], false),
                ("CreatedDate", &[], false),
                ("IsConverted", &[], false),
                ("ConvertedDate", &[], false),
                ("ConvertedOpportunityId", &[], false),
                ("ConvertedAccountId", &[], false),
                ("IsDeleted", &[], false),
                ("LastModifiedDate", &[], false),
                ("ConvertedContactId", &[], false),
            ],
        );
        let created_col = match (c[4], c[10]) {
            (Some(cc), _) => Some(cc),
            (None, Some(m)) => {
                l.notes.push(format!(
                    "{}: there is no CreatedDate column; leads are dated by LastModifiedDate",
                    f.name
                ));
                Some(m)
            }
            (None, None) => {
                l.refuse_file(&f, Problem::at(&f.name, 1, None, "missing required column \"CreatedDate\" (and no LastModifiedDate to date the leads by)"));
                None
            }
        };
        each_row(l, &f, |l, x| {
            if deleted(x, c[9]) {
                return Ok(());
            }
            let id: Option<LeadId> = x.req_id(c[0], "Id");
            let owner: Option<PersonId> = x.req_id(c[1], "OwnerId");
            let created = x.ts(created_col);
            if created.is_none() && x.problems.is_empty() {
                x.problem(
                    created_col,
                    "the lead's creation date is required but empty",
                );
            }
            let converted = x.bool(c[5]);
            let converted_at = x.date(c[6]);
            let origin = x.origin(c[1]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(owner), Some(created)) = (id, owner, created) else {
                return Ok(());
            };
            auto.note(l, &owner, &origin);
            let converted_at = if converted || converted_at.is_some() {
                converted_at.or(Some(zone.local_date(created)))
            } else {
                None
            };
            if let (Some(contact), Some(on)) = (x.text(c[11]), converted_at) {
                converted_contacts.insert(contact, (id.clone(), on));
            }
            let lead = Lead {
                id,
                owner,
                source: x.text(c[2]),
                status: x.text(c[3]),
                created,
                converted_at,
                converted_opp: x.text(c[7]).and_then(|v| OppId::parse(&v).ok()),
                converted_account: x.text(c[8]).and_then(|v| AccountId::parse(&v).ok()),
            };
            l.lead(lead, &origin, x.raw())
        })?;
    }

    // --- Task.csv and Event.csv
    for (file, is_event) in [("Task.csv", false), ("Event.csv", true)] {
        let Some(f) = open_csv(l, dir, file, false, WHAT) else {
            continue;
        };
        let c = need(
            l,
            &f,
            &[
                ("Id", &[], true),
                ("OwnerId", &[], true),
                ("WhoId", &[], false),
                ("WhatId", &[], false),
                ("Subject", &[], false),
                ("TaskSubtype", &["EventSubtype"], false),
                ("Type", &[], false),
                (
                    if is_event {
                        "StartDateTime"
                    } else {
                        "CompletedDateTime"
                    },
                    &["ActivityDateTime"],
                    false,
                ),
                ("CreatedDate", &[], true),
                ("IsDeleted", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            if deleted(x, c[9]) {
                return Ok(());
            }
            let id: Option<ActivityId> = x.req_id(c[0], "Id");
            let owner: Option<PersonId> = x.req_id(c[1], "OwnerId");
            let at = x.ts(c[7]).or_else(|| x.ts(c[8]));
            if at.is_none() && x.problems.is_empty() {
                x.problem(c[8], "the activity has no date");
            }
            let kind = if is_event {
                ActivityKind::Meeting
            } else {
                let sub = x
                    .text(c[5])
                    .or_else(|| x.text(c[6]))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if sub.contains("call") {
                    ActivityKind::Call
                } else if sub.contains("email") {
                    ActivityKind::Email
                } else if sub.contains("meeting") {
                    ActivityKind::Meeting
                } else {
                    ActivityKind::Task
                }
            };
            let who = x.text(c[2]).unwrap_or_default();
            let what = x.text(c[3]).unwrap_or_default();
            let origin = x.origin(c[1]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(owner), Some(at)) = (id, owner, at) else {
                return Ok(());
            };
            auto.note(l, &owner, &origin);
            let a = Activity {
                id,
                kind,
                at,
                owner,
                // a lead's, or, on or before the day it was converted, its contact's:
                // Salesforce moves a lead's activities to the contact it converts the
                // lead into, so an export shows a converted lead none of its own (its
                // first response among them); the contact's later ones are not the lead's
                lead: if who.starts_with("00Q") {
                    LeadId::parse(&who).ok()
                } else {
                    converted_contacts
                        .get(&who)
                        .filter(|(_, on)| zone.local_date(at) <= *on)
                        .map(|(lead, _)| lead.clone())
                },
                opp: what
                    .starts_with("006")
                    .then(|| OppId::parse(&what).ok())
                    .flatten(),
                account: what
                    .starts_with("001")
                    .then(|| AccountId::parse(&what).ok())
                    .flatten(),
                subject: x.text(c[4]),
            };
            l.activity(a, &origin, x.raw())
        })?;
    }
    forecasting_quotas(l, dir, currency, &managers, &rate_rows)?;
    Ok(())
}
