//! HubSpot CRM exports with label headers (the UI's export): `users.csv`, `teams.csv`,
//! `companies.csv`, `contacts.csv`, `deals.csv`; all but `deals.csv` optional. Mapping
//! choices (docs/importers/hubspot.md):
//! - Teams become units (a team without a parent: a department; with one: a team); users
//!   are placed in their primary team. A user's manager is the lead of their primary team,
//!   or, for the lead, the lead of the parent team.
//! - People are keyed by `User ID` (else email); owners in other files may be given by
//!   user id, email or full name.
//! - Deals: `Deal Stage` as label or internal id; won/lost from `Is Closed Won` where
//!   present, else from the stage (`Closed Won`/`closedwon`, `Closed Lost`/`closedlost`);
//!   `Deal probability` as a fraction (0.9) or percent (90); every
//!   `Date entered "<stage> (<pipeline>)"` column becomes a stage-history row.
//! - Contacts are leads: `Create Date`, `Lead Status`, `Original Source`; a contact with
//!   `Became an Opportunity Date` is converted, to its `Associated Deal` where given.
//! - Companies are accounts; `Became a Customer Date` is the customer-since date.

use std::collections::HashMap;
use std::path::Path;

use salesorg_core::catalog::Catalog;
use salesorg_core::ids::*;
use salesorg_core::records::*;

use crate::Result;
use crate::import::fields::{Fields, each_row, need, open_csv};
use crate::import::{ImportOptions, Loader, Origin};
use crate::problem::Problem;

const WHAT: &str = "a HubSpot export";

/// Resolves an owner written as user id, email or full name.
#[derive(Default)]
struct Owners {
    by_key: HashMap<String, PersonId>,
}

impl Owners {
    fn add(&mut self, id: &PersonId, email: Option<&str>, name: &str) {
        self.by_key
            .insert(id.to_string().to_lowercase(), id.clone());
        if let Some(e) = email {
            self.by_key.insert(e.to_lowercase(), id.clone());
        }
        self.by_key.insert(name.to_lowercase(), id.clone());
    }
    fn get(&self, x: &mut Fields<'_>, col: Option<usize>, what: &str) -> Option<PersonId> {
        let v = x.text(col)?;
        match self.by_key.get(&v.to_lowercase()) {
            Some(p) => Some(p.clone()),
            None => {
                x.problem(
                    col,
                    format!("unknown {what} {v:?}: no user has this id, email or name"),
                );
                None
            }
        }
    }
}

fn probability(x: &mut Fields<'_>, col: Option<usize>) -> Option<Probability> {
    let t = x.text(col)?;
    let m = salesorg_core::money::Money::parse(&t).ok();
    let bp = m.map(|m| {
        let u = m.units();
        if u <= salesorg_core::money::SCALE {
            u
        } else {
            u / 100
        }
    });
    match bp
        .and_then(|b| u16::try_from(b).ok())
        .map(Probability::from_bp)
    {
        Some(Ok(p)) => Some(p),
        _ => {
            x.problem(col, format!("{t:?} is not a probability (0..1 or 0..100)"));
            None
        }
    }
}

pub fn load(l: &mut Loader<'_>, dir: &Path, _opts: &ImportOptions) -> Result<()> {
    if !dir.is_dir() {
        l.fatal(Problem::file(
            &dir.display().to_string(),
            "expected a folder holding a HubSpot export (deals.csv, users.csv, …)",
        ));
        return Ok(());
    }
    let catalog = Catalog::builtin()?;
    let currency = l.settings().currency;
    let zone = l.settings().clone();
    let mut owners = Owners::default();
    for p in l.stored_people() {
        owners.add(&p.id, p.email.as_deref(), &p.name);
    }

    // --- teams.csv -> units, team leads
    let mut team_lead: HashMap<String, String> = HashMap::new();
    let mut team_parent: HashMap<String, String> = HashMap::new();
    if let Some(f) = open_csv(l, dir, "teams.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Team Name", &["Name", "Team"], true),
                ("Parent Team", &[], false),
                ("Team Lead", &["Team Manager"], false),
            ],
        );
        each_row(l, &f, |l, x| {
            let id: Option<UnitId> = x.req_id(c[0], "Team Name");
            let parent: Option<UnitId> = x.id(c[1]);
            let origin = x.origin(c[0]);
            if !x.ok(l) {
                return Ok(());
            }
            let Some(id) = id else { return Ok(()) };
            if let Some(lead) = x.text(c[2]) {
                team_lead.insert(id.to_string(), lead.to_lowercase());
            }
            if let Some(p) = &parent {
                team_parent.insert(id.to_string(), p.to_string());
            }
            let kind = if parent.is_some() {
                UnitKind::Team
            } else {
                UnitKind::Department
            };
            l.unit(
                Unit {
                    name: id.to_string(),
                    id,
                    kind,
                    parent,
                },
                &origin,
                x.raw(),
            );
            Ok(())
        })?;
    }

    // --- users.csv -> people, placements, managers
    if let Some(f) = open_csv(l, dir, "users.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("User ID", &["ID", "Owner ID"], false),
                ("First Name", &[], false),
                ("Last Name", &[], false),
                ("Email", &[], true),
                ("Job Title", &["Title"], false),
                ("Primary Team", &["Team"], false),
            ],
        );
        let mut placed: Vec<(PersonId, Option<String>, Origin)> = Vec::new();
        each_row(l, &f, |l, x| {
            let email = x.req(c[3], "Email");
            let id: Option<PersonId> = match c[0] {
                Some(_) => x
                    .id(c[0])
                    .or_else(|| email.as_deref().and_then(|e| PersonId::parse(e).ok())),
                None => email.as_deref().and_then(|e| PersonId::parse(e).ok()),
            };
            let name = [x.text(c[1]), x.text(c[2])]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let title = x.text(c[4]);
            let team = x.text(c[5]);
            let origin = x.origin(c[5]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(email)) = (id, email) else {
                return Ok(());
            };
            let name = if name.is_empty() { email.clone() } else { name };
            owners.add(&id, Some(&email), &name);
            let role = title
                .as_deref()
                .and_then(|t| catalog.match_title(t))
                .and_then(|r| RoleId::parse(&r.id).ok());
            let p = Person {
                id: id.clone(),
                name,
                email: Some(email),
                title,
                role,
                hired: None,
                left: None,
            };
            if l.person(p, &origin, x.raw()) {
                placed.push((id, team, origin));
            }
            Ok(())
        })?;
        for (id, team, origin) in placed {
            // manager: the primary team's lead; the lead's own manager is the parent team's lead
            let lead_of = |t: &str| team_lead.get(t).and_then(|k| owners.by_key.get(k)).cloned();
            let mut manager = team.as_deref().and_then(lead_of);
            if manager.as_ref() == Some(&id) {
                manager = team
                    .as_deref()
                    .and_then(|t| team_parent.get(t))
                    .and_then(|p| lead_of(p));
            }
            l.manager(id.clone(), manager, &origin);
            l.placement(id, team.and_then(|t| UnitId::parse(&t).ok()), &origin);
        }
    }

    // --- companies.csv -> accounts
    let mut company_by_name: HashMap<String, AccountId> = HashMap::new();
    if let Some(f) = open_csv(l, dir, "companies.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Record ID", &[], true),
                ("Company name", &["Name"], true),
                ("Company owner", &[], false),
                ("Industry", &[], false),
                ("Number of Employees", &[], false),
                ("Country/Region", &["Country"], false),
                ("Became a Customer Date", &[], false),
                ("Parent Company", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            let id: Option<AccountId> = x.req_id(c[0], "Record ID");
            let name = x.req(c[1], "Company name");
            let owner = owners.get(x, c[2], "company owner");
            let employees = x.int(c[4]);
            let since = x.local_date(c[6], &zone);
            let origin = x.origin(c[0]);
            if !x.ok(l) {
                return Ok(());
            }
            let (Some(id), Some(name)) = (id, name) else {
                return Ok(());
            };
            company_by_name.insert(name.to_lowercase(), id.clone());
            let a = Account {
                id,
                name,
                industry: x.text(c[3]),
                employees,
                region: x.text(c[5]),
                owner,
                parent: x.text(c[7]).and_then(|p| AccountId::parse(&p).ok()),
                customer_since: since,
                churned_on: None,
            };
            l.account(a, &origin, x.raw())
        })?;
    } else {
        l.soften("account");
    }

    // --- deals.csv -> opportunities and stage history
    if let Some(f) = open_csv(l, dir, "deals.csv", true, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Record ID", &["Deal ID"], true),
                ("Deal Name", &[], false),
                ("Deal Stage", &[], true),
                ("Amount", &[], false),
                ("Deal owner", &["Owner"], true),
                ("Create Date", &[], true),
                ("Close Date", &[], false),
                ("Associated Company", &["Company"], false),
                ("Forecast category", &[], false),
                ("Deal probability", &["Deal Stage Probability"], false),
                ("Deal Type", &[], false),
                ("Closed Lost Reason", &[], false),
                ("Next step", &[], false),
                ("Last Modified Date", &[], false),
                ("Is Closed Won", &[], false),
                ("Currency", &[], false),
                ("Original Source", &["Source"], false),
            ],
        );
        // stage-history columns: Date entered "<Stage> (<Pipeline>)"
        let entered: Vec<(usize, String)> = f
            .headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let rest = h.strip_prefix("Date entered ")?;
                let inner = rest.trim_matches(|c| c == '"' || c == '\'' || c == '“' || c == '”');
                let stage = inner.rsplit_once(" (").map(|(s, _)| s).unwrap_or(inner);
                Some((i, stage.to_owned()))
            })
            .collect();
        each_row(l, &f, |l, x| {
            let id: Option<OppId> = x.req_id(c[0], "Record ID");
            let stage = x.req(c[2], "Deal Stage");
            let amount = x.money(c[3]);
            let owner = match x.text(c[4]) {
                Some(_) => owners.get(x, c[4], "deal owner"),
                None => {
                    x.problem(c[4], "the deal has no owner");
                    None
                }
            };
            let created = x.ts(c[5]);
            let close = x.local_date(c[6], &zone);
            let fc = x.text(c[8]).and_then(|t| ForecastCategory::parse(&t).ok());
            let prob = probability(x, c[9]);
            let modified = x.ts(c[13]);
            let key = stage
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .replace(' ', "");
            let won = match c[14] {
                Some(_) if x.text(c[14]).is_some() => Some(x.bool(c[14])),
                _ => None,
            };
            let status = if key == "closedwon" || won == Some(true) {
                OppStatus::Won
            } else if key == "closedlost" || (won == Some(false) && key.starts_with("closed")) {
                OppStatus::Lost
            } else {
                OppStatus::Open
            };
            if status != OppStatus::Open && close.is_none() {
                x.problem(c[6], "a closed deal needs a Close Date");
            }
            let ccy = match x.text(c[15]) {
                Some(_) => x.currency(c[15]),
                None => Some(currency),
            };
            let account = x.text(c[7]).and_then(|n| {
                company_by_name
                    .get(&n.to_lowercase())
                    .cloned()
                    .or_else(|| AccountId::parse(&n).ok())
            });
            let mut history = Vec::new();
            for (col, st) in &entered {
                if let Some(at) = x.ts(Some(*col)) {
                    history.push((at, st.clone()));
                }
            }
            let origin = x.origin(c[4]);
            if !x.ok(l) {
                return Ok(());
            }
            // (a row refused or skipped does not move the export's date on)
            if let Some(m) = modified {
                l.see_date(m.date_utc());
            }
            let (Some(id), Some(stage), Some(owner), Some(ccy)) = (id, stage, owner, ccy) else {
                return Ok(());
            };
            let Ok(stage) = Stage::parse(&stage) else {
                return Ok(());
            };
            history.sort();
            for (at, st) in history {
                let Ok(s) = Stage::parse(&st) else { continue };
                let h = StageChange {
                    id: format!("{id}:{st}"),
                    opp: id.clone(),
                    at,
                    stage: s,
                    amount,
                    close_date: None,
                    probability: None,
                    forecast_category: None,
                };
                // (the deal's own amount, counted with it)
                l.history(h, &origin, None, x.raw())?;
            }
            let o = Opportunity {
                id,
                name: x.text(c[1]),
                account,
                owner,
                amount,
                currency: ccy,
                stage,
                status,
                probability: prob,
                forecast_category: fc,
                kind: x.text(c[10]),
                source: x.text(c[16]),
                created: created.map(|t| zone.local_date(t)),
                close_date: close,
                loss_reason: x.text(c[11]),
                next_step: x.text(c[12]),
                last_modified: modified,
            };
            l.opportunity(o, &origin, c[3], x.raw())
        })?;
    }

    // --- contacts.csv -> leads
    if let Some(f) = open_csv(l, dir, "contacts.csv", false, WHAT) {
        let c = need(
            l,
            &f,
            &[
                ("Record ID", &[], true),
                ("Contact owner", &[], true),
                ("Create Date", &[], true),
                ("Lead Status", &[], false),
                ("Original Source", &[], false),
                (
                    "Became an Opportunity Date",
                    &["Became a Sales Qualified Lead Date"],
                    false,
                ),
                ("Associated Deal", &[], false),
            ],
        );
        each_row(l, &f, |l, x| {
            let id: Option<LeadId> = x.req_id(c[0], "Record ID");
            let owner = match x.text(c[1]) {
                Some(_) => owners.get(x, c[1], "contact owner"),
                None => None,
            };
            let created = x.ts(c[2]);
            let converted = x.local_date(c[5], &zone);
            let origin = x.origin(c[1]);
            if !x.ok(l) {
                return Ok(());
            }
            // a contact nobody owns is not anyone's lead
            let (Some(id), Some(owner), Some(created)) = (id, owner, created) else {
                return Ok(());
            };
            let deal = x.text(c[6]).and_then(|d| {
                d.split(';')
                    .next()
                    .map(str::trim)
                    .and_then(|d| OppId::parse(d).ok())
            });
            let lead = Lead {
                id,
                owner,
                source: x.text(c[4]),
                status: x.text(c[3]),
                created,
                converted_at: converted,
                converted_opp: if converted.is_some() { deal } else { None },
                converted_account: None,
            };
            l.lead(lead, &origin, x.raw())
        })?;
    }
    Ok(())
}
