//! The Maven Analytics "CRM Sales Opportunities" dataset, read as it is (both the original
//! and the extended variant with `interactions.csv`). Mapping choices are documented in
//! docs/importers/maven.md:
//! - `sales_teams.csv`: every `regional_office` becomes a region unit; every manager a
//!   person with the Sales Manager role, every agent a Sales Representative reporting to
//!   their manager; both are placed in their region. People are keyed by full name.
//! - `accounts.csv`: keyed by account name; `sector` is the industry, `office_location`
//!   the region, `subsidiary_of` the parent account.
//! - `sales_pipeline.csv`: `deal_stage` Won/Lost close the deal, Engaging and Prospecting
//!   are open; `engage_date` is the created date; `close_value` is the amount (Lost rows
//!   carry 0, open rows none); the product is the deal name; amounts are USD.
//! - `interactions.csv` (extended variant): meetings and emails on an account, owned by the
//!   agent with the most opportunities on that account (the data names no rep).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use salesorg_core::ids::*;
use salesorg_core::money::Currency;
use salesorg_core::records::*;

use crate::Result;
use crate::import::fields::{each_row, need, open_csv};
use crate::import::{Loader, Origin};
use crate::problem::Problem;

fn role(id: &str) -> Option<RoleId> {
    RoleId::parse(id).ok()
}

pub fn load(l: &mut Loader<'_>, dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        l.fatal(Problem::file(
            &dir.display().to_string(),
            "expected the Maven dataset's folder",
        ));
        return Ok(());
    }
    // --- sales_teams.csv: people, units, reporting lines
    if let Some(f) = open_csv(l, dir, "sales_teams.csv", true, "the Maven dataset") {
        let c = need(
            l,
            &f,
            &[
                ("sales_agent", &[], true),
                ("manager", &[], true),
                ("regional_office", &[], true),
            ],
        );
        {
            let mut regions: BTreeMap<String, u64> = BTreeMap::new();
            let mut managers: BTreeMap<String, (String, u64)> = BTreeMap::new();
            each_row(l, &f, |l, x| {
                let agent: Option<PersonId> = x.req_id(c[0], "sales_agent");
                let manager: Option<PersonId> = x.req_id(c[1], "manager");
                let region: Option<UnitId> = x.req_id(c[2], "regional_office");
                if let (Some(m), Some(r)) = (&manager, &region) {
                    match managers.get(m.as_str()) {
                        Some((r0, first)) if r0 != r.as_str() => x.problem(
                            c[2],
                            format!("manager {m} is in {r0} at line {first} and in {r} here"),
                        ),
                        _ => {
                            managers.insert(m.to_string(), (r.to_string(), x.row.line));
                        }
                    }
                }
                let origin = x.origin(c[1]);
                if !x.ok(l) {
                    return Ok(());
                }
                let (Some(agent), Some(manager), Some(region)) = (agent, manager, region) else {
                    return Ok(());
                };
                regions.entry(region.to_string()).or_insert(x.row.line);
                let person = Person {
                    id: agent.clone(),
                    name: agent.to_string(),
                    email: None,
                    title: Some("Sales Agent".into()),
                    role: role("sales_rep"),
                    hired: None,
                    left: None,
                };
                if l.person(person, &origin, x.raw()) {
                    l.manager(agent.clone(), Some(manager), &origin);
                    l.placement(agent, Some(region), &origin);
                }
                Ok(())
            })?;
            let origin = Origin {
                file: f.name.clone(),
                line: 0,
                column: None,
            };
            for (region, line) in &regions {
                if let Ok(id) = UnitId::parse(region) {
                    let o = Origin {
                        line: *line,
                        ..origin.clone()
                    };
                    l.unit(
                        Unit {
                            id,
                            name: region.clone(),
                            kind: UnitKind::Region,
                            parent: None,
                        },
                        &o,
                        &[],
                    );
                }
            }
            for (m, (region, line)) in &managers {
                let Ok(id) = PersonId::parse(m) else { continue };
                let o = Origin {
                    line: *line,
                    column: Some(2),
                    ..origin.clone()
                };
                let person = Person {
                    id: id.clone(),
                    name: m.clone(),
                    email: None,
                    title: Some("Manager".into()),
                    role: role("sales_manager"),
                    hired: None,
                    left: None,
                };
                if l.person(person, &o, &[]) {
                    l.manager(id.clone(), None, &o);
                    l.placement(id, UnitId::parse(region).ok(), &o);
                }
            }
        }
    }

    // --- accounts.csv
    if let Some(f) = open_csv(l, dir, "accounts.csv", false, "") {
        let c = need(
            l,
            &f,
            &[
                ("account", &[], true),
                ("sector", &[], false),
                ("employees", &[], false),
                ("office_location", &[], false),
                ("subsidiary_of", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            let id: Option<AccountId> = x.req_id(c[0], "account");
            let employees = x.int(c[2]);
            let parent = x.id(c[4]);
            let origin = x.origin(c[0]);
            if !x.ok(l) {
                return Ok(());
            }
            let Some(id) = id else { return Ok(()) };
            let a = Account {
                name: id.to_string(),
                id,
                industry: x.text(c[1]),
                employees,
                region: x.text(c[3]),
                owner: None,
                parent,
                customer_since: None,
                churned_on: None,
            };
            l.account(a, &origin, x.raw())
        })?;
    }

    // --- sales_pipeline.csv
    let mut owners_by_account: HashMap<String, BTreeMap<String, u32>> = HashMap::new();
    let mut backwards = 0u32;
    if let Some(f) = open_csv(l, dir, "sales_pipeline.csv", true, "the Maven dataset") {
        let c = need(
            l,
            &f,
            &[
                ("opportunity_id", &[], true),
                ("sales_agent", &[], true),
                ("product", &[], false),
                ("account", &[], false),
                ("deal_stage", &[], true),
                ("engage_date", &[], true),
                ("close_date", &[], true),
                ("close_value", &[], true),
            ],
        );
        {
            each_row(l, &f, |l, x| {
                let id: Option<OppId> = x.req_id(c[0], "opportunity_id");
                let owner: Option<PersonId> = x.req_id(c[1], "sales_agent");
                let stage_txt = x.req(c[4], "deal_stage");
                let created = x.date(c[5]);
                let close = x.date(c[6]);
                let amount = x.money(c[7]);
                let account: Option<AccountId> = x.id(c[3]);
                let status = match stage_txt.as_deref() {
                    Some("Won") => Some(OppStatus::Won),
                    Some("Lost") => Some(OppStatus::Lost),
                    Some("Engaging") | Some("Prospecting") => Some(OppStatus::Open),
                    Some(o) => {
                        x.problem(
                            c[4],
                            format!(
                                "{o:?} is not a Maven deal stage (Won, Lost, Engaging, Prospecting)"
                            ),
                        );
                        None
                    }
                    None => None,
                };
                if let (Some(OppStatus::Won | OppStatus::Lost), None) = (status, close) {
                    x.problem(c[6], "a closed deal needs a close_date");
                }
                if let (Some(cr), Some(cl)) = (created, close)
                    && cl < cr
                {
                    backwards += 1;
                }
                let origin = x.origin(c[0]);
                if !x.ok(l) {
                    return Ok(());
                }
                // (a row refused or skipped does not move the export's date on)
                if let Some(d) = close.or(created) {
                    l.see_date(d);
                }
                let (Some(id), Some(owner), Some(stage), Some(status)) =
                    (id, owner, stage_txt, status)
                else {
                    return Ok(());
                };
                if let Some(a) = &account {
                    *owners_by_account
                        .entry(a.to_string())
                        .or_default()
                        .entry(owner.to_string())
                        .or_default() += 1;
                }
                let Ok(stage) = Stage::parse(&stage) else {
                    return Ok(());
                };
                let o = Opportunity {
                    id,
                    name: x.text(c[2]),
                    account,
                    owner,
                    amount,
                    currency: Currency::USD,
                    stage,
                    status,
                    probability: None,
                    forecast_category: None,
                    kind: None,
                    source: None,
                    created,
                    close_date: close,
                    loss_reason: None,
                    next_step: None,
                    last_modified: None,
                };
                l.opportunity(o, &origin, c[7], x.raw())
            })?;
        }
    }

    if backwards > 0 {
        l.notes.push(format!(
            "{backwards} opportunities close before their engage_date; imported as they are (their sales cycle is negative)"
        ));
    }

    // --- interactions.csv (extended variant only)
    if let Some(f) = open_csv(l, dir, "interactions.csv", false, "") {
        let c = need(
            l,
            &f,
            &[
                ("account_name", &[], true),
                ("activity_type", &[], true),
                ("timestamp", &[], true),
                ("comment", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            let account: Option<AccountId> = x.req_id(c[0], "account_name");
            let kind = x
                .req(c[1], "activity_type")
                .and_then(|k| match ActivityKind::parse(&k) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        x.problem(c[1], e.to_string());
                        None
                    }
                });
            let at = x.ts(c[2]);
            // the busiest agent on the account owns its interactions (ties: first by name)
            let owner = account.as_ref().and_then(|a| {
                owners_by_account.get(a.as_str()).and_then(|m| {
                    m.iter()
                        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                        .map(|(p, _)| p.clone())
                })
            });
            if account.is_some() && owner.is_none() {
                x.problem(
                    c[0],
                    "no opportunity names this account, so no rep can own its activities",
                );
            }
            let origin = x.origin(c[0]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(account), Some(kind), Some(at), Some(owner)) = (account, kind, at, owner)
            else {
                return Ok(());
            };
            let (Ok(id), Ok(owner)) = (
                ActivityId::parse(&format!("maven-interaction-{}", x.row.line)),
                PersonId::parse(&owner),
            ) else {
                return Ok(());
            };
            let a = Activity {
                id,
                kind,
                at,
                owner,
                lead: None,
                opp: None,
                account: Some(account),
                subject: x.text(c[3]),
            };
            l.activity(a, &origin, x.raw())
        })?;
    }
    Ok(())
}
