//! Writes generated records as a Salesforce Data Export folder (API-name headers, one CSV
//! per object), so that the importer and the import benchmark can be run on any volume.
//! Ids get Salesforce's key prefixes (005 users, 001 accounts, 006 opportunities, 00Q leads,
//! 00T tasks, 00U events) so that `WhoId`/`WhatId` resolve the way they do in a real export.
//! A multi-currency org's rates go out as Salesforce keeps them: each currency against the
//! corporate one (`CurrencyType.csv`, `DatedConversionRate.csv`).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use salesorg_core::date::{Date, fmt_date};
use salesorg_core::money::{Currency, Rate};
use salesorg_core::records::*;
use salesorg_core::settings::Settings;

use crate::demo::Sink;
use crate::{EngineError, Result};

type W = csv::Writer<BufWriter<File>>;

pub struct SalesforceExport {
    dir: PathBuf,
    end: Date,
    /// The organisation's currency: Salesforce's corporate currency.
    currency: Currency,
    accounts: W,
    opps: W,
    history: W,
    leads: W,
    tasks: W,
    events: W,
}

fn io(path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn writer(dir: &Path, name: &str, header: &[&str]) -> Result<W> {
    let p = dir.join(name);
    let f = File::create(&p).map_err(|e| io(&p, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
    w.write_record(header).map_err(|e| io(&p, e))?;
    Ok(w)
}

fn ts(t: &salesorg_core::Timestamp) -> String {
    // Salesforce writes datetimes as 2024-07-11T21:22:07.000Z
    let s = t.to_string();
    format!("{}.000Z", s.trim_end_matches('Z'))
}

fn pct(p: Option<Probability>) -> String {
    p.map(|p| {
        let bp = p.bp();
        if bp % 100 == 0 {
            (bp / 100).to_string()
        } else {
            format!("{}.{:02}", bp / 100, bp % 100)
        }
    })
    .unwrap_or_default()
}

fn b(v: bool) -> &'static str {
    if v { "1" } else { "" }
}

impl SalesforceExport {
    pub fn create(dir: &Path, end: Date) -> Result<SalesforceExport> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        Ok(SalesforceExport {
            dir: dir.to_owned(),
            end,
            currency: Currency::USD,
            accounts: writer(
                dir,
                "Account.csv",
                &[
                    "Id",
                    "IsDeleted",
                    "Name",
                    "Industry",
                    "NumberOfEmployees",
                    "OwnerId",
                    "ParentId",
                ],
            )?,
            opps: writer(
                dir,
                "Opportunity.csv",
                &[
                    "Id",
                    "IsDeleted",
                    "AccountId",
                    "Name",
                    "StageName",
                    "Amount",
                    "CurrencyIsoCode",
                    "Probability",
                    "CloseDate",
                    "Type",
                    "NextStep",
                    "LeadSource",
                    "IsClosed",
                    "IsWon",
                    "ForecastCategory",
                    "OwnerId",
                    "CreatedDate",
                    "LastModifiedDate",
                    "Loss_Reason__c",
                ],
            )?,
            history: writer(
                dir,
                "OpportunityHistory.csv",
                &[
                    "Id",
                    "OpportunityId",
                    "CreatedDate",
                    "StageName",
                    "Amount",
                    "CloseDate",
                    "Probability",
                    "ForecastCategory",
                    "IsDeleted",
                ],
            )?,
            leads: writer(
                dir,
                "Lead.csv",
                &[
                    "Id",
                    "IsDeleted",
                    "LastName",
                    "Company",
                    "Status",
                    "LeadSource",
                    "OwnerId",
                    "IsConverted",
                    "ConvertedDate",
                    "ConvertedOpportunityId",
                    "CreatedDate",
                ],
            )?,
            tasks: writer(
                dir,
                "Task.csv",
                &[
                    "Id",
                    "WhoId",
                    "WhatId",
                    "Subject",
                    "Status",
                    "OwnerId",
                    "TaskSubtype",
                    "Type",
                    "CreatedDate",
                    "CompletedDateTime",
                    "IsDeleted",
                ],
            )?,
            events: writer(
                dir,
                "Event.csv",
                &[
                    "Id",
                    "WhoId",
                    "WhatId",
                    "Subject",
                    "StartDateTime",
                    "OwnerId",
                    "CreatedDate",
                    "IsDeleted",
                ],
            )?,
        })
    }

    /// Flushes every file.
    pub fn finish(mut self) -> Result<()> {
        let dir = self.dir.clone();
        for w in [
            &mut self.accounts,
            &mut self.opps,
            &mut self.history,
            &mut self.leads,
            &mut self.tasks,
            &mut self.events,
        ] {
            w.flush().map_err(|e| io(&dir, e))?;
        }
        Ok(())
    }

    fn err(&self, e: csv::Error) -> EngineError {
        io(&self.dir, e)
    }
}

impl Sink for SalesforceExport {
    fn settings(&mut self, s: &Settings) -> Result<()> {
        self.currency = s.currency;
        Ok(())
    }
    fn org(
        &mut self,
        people: &[Person],
        units: &[Unit],
        lines: &[ReportingLine],
        members: &[Membership],
    ) -> Result<()> {
        let mut roles = writer(
            &self.dir,
            "UserRole.csv",
            &["Id", "Name", "ParentRoleId", "RollupDescription"],
        )?;
        for u in units {
            let parent = u
                .parent
                .as_ref()
                .map(|p| format!("00E{p}"))
                .unwrap_or_default();
            roles
                .write_record([
                    format!("00E{}", u.id),
                    u.name.clone(),
                    parent,
                    u.name.clone(),
                ])
                .map_err(|e| self.err(e))?;
        }
        roles.flush().map_err(|e| io(&self.dir, e))?;
        let mut users = writer(
            &self.dir,
            "User.csv",
            &[
                "Id",
                "Username",
                "FirstName",
                "LastName",
                "Email",
                "IsActive",
                "UserRoleId",
                "ManagerId",
                "Title",
                "CreatedDate",
                "LastModifiedDate",
            ],
        )?;
        for p in people {
            // the export shows the org as it is at the end (or when the person left)
            let at = p.left.and_then(|l| l.previous_day()).unwrap_or(self.end);
            let manager = lines
                .iter()
                .filter(|l| l.person == p.id && l.valid.from <= at)
                .max_by_key(|l| l.valid.from)
                .map(|l| format!("005{}", l.manager));
            let unit = members
                .iter()
                .filter(|m| m.person == p.id && m.valid.from <= at)
                .max_by_key(|m| m.valid.from)
                .map(|m| format!("00E{}", m.unit));
            let (first, last) = p.name.split_once(' ').unwrap_or(("", &p.name));
            let created = p
                .hired
                .map(|d| format!("{}T09:00:00.000Z", fmt_date(d)))
                .unwrap_or_default();
            let modified = p
                .left
                .map(|d| format!("{}T09:00:00.000Z", fmt_date(d)))
                .unwrap_or_else(|| created.clone());
            users
                .write_record([
                    format!("005{}", p.id),
                    p.email.clone().unwrap_or_default(),
                    first.to_owned(),
                    last.to_owned(),
                    p.email.clone().unwrap_or_default(),
                    b(p.left.is_none()).to_owned(),
                    unit.unwrap_or_default(),
                    manager.unwrap_or_default(),
                    p.title.clone().unwrap_or_default(),
                    created,
                    modified,
                ])
                .map_err(|e| self.err(e))?;
        }
        users.flush().map_err(|e| io(&self.dir, e))?;
        Ok(())
    }
    fn accounts(&mut self, v: &[Account]) -> Result<()> {
        for a in v {
            let rec = [
                format!("001{}", a.id),
                String::new(),
                a.name.clone(),
                a.industry.clone().unwrap_or_default(),
                a.employees.map(|e| e.to_string()).unwrap_or_default(),
                a.owner
                    .as_ref()
                    .map(|o| format!("005{o}"))
                    .unwrap_or_default(),
                a.parent
                    .as_ref()
                    .map(|p| format!("001{p}"))
                    .unwrap_or_default(),
            ];
            self.accounts
                .write_record(&rec)
                .map_err(|e| io(&self.dir, e))?;
        }
        Ok(())
    }
    fn opportunities(&mut self, v: &[Opportunity], history: &[StageChange]) -> Result<()> {
        for o in v {
            let rec = [
                format!("006{}", o.id),
                String::new(),
                o.account
                    .as_ref()
                    .map(|a| format!("001{a}"))
                    .unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
                o.stage.as_str().to_owned(),
                o.amount.map(|m| m.to_string()).unwrap_or_default(),
                o.currency.to_string(),
                pct(o.probability),
                o.close_date.map(fmt_date).unwrap_or_default(),
                o.kind.clone().unwrap_or_default(),
                o.next_step.clone().unwrap_or_default(),
                o.source.clone().unwrap_or_default(),
                b(o.status != OppStatus::Open).to_owned(),
                b(o.status == OppStatus::Won).to_owned(),
                o.forecast_category
                    .map(|f| f.as_str().to_owned())
                    .unwrap_or_default(),
                format!("005{}", o.owner),
                o.created
                    .map(|d| format!("{}T10:00:00.000Z", fmt_date(d)))
                    .unwrap_or_default(),
                o.last_modified.as_ref().map(ts).unwrap_or_default(),
                o.loss_reason.clone().unwrap_or_default(),
            ];
            self.opps.write_record(&rec).map_err(|e| io(&self.dir, e))?;
        }
        for h in history {
            let rec = [
                format!("008{}", h.id),
                format!("006{}", h.opp),
                ts(&h.at),
                h.stage.as_str().to_owned(),
                h.amount.map(|m| m.to_string()).unwrap_or_default(),
                h.close_date.map(fmt_date).unwrap_or_default(),
                pct(h.probability),
                h.forecast_category
                    .map(|f| f.as_str().to_owned())
                    .unwrap_or_default(),
                String::new(),
            ];
            self.history
                .write_record(&rec)
                .map_err(|e| io(&self.dir, e))?;
        }
        Ok(())
    }
    fn leads(&mut self, v: &[Lead]) -> Result<()> {
        for l in v {
            let rec = [
                format!("00Q{}", l.id),
                String::new(),
                format!("Lead {}", l.id),
                "Demo".to_owned(),
                l.status.clone().unwrap_or_default(),
                l.source.clone().unwrap_or_default(),
                format!("005{}", l.owner),
                b(l.converted_at.is_some()).to_owned(),
                l.converted_at.map(fmt_date).unwrap_or_default(),
                l.converted_opp
                    .as_ref()
                    .map(|o| format!("006{o}"))
                    .unwrap_or_default(),
                ts(&l.created),
            ];
            self.leads
                .write_record(&rec)
                .map_err(|e| io(&self.dir, e))?;
        }
        Ok(())
    }
    fn activities(&mut self, v: &[Activity]) -> Result<()> {
        for a in v {
            let who = a
                .lead
                .as_ref()
                .map(|x| format!("00Q{x}"))
                .unwrap_or_default();
            let what = a
                .opp
                .as_ref()
                .map(|x| format!("006{x}"))
                .or_else(|| a.account.as_ref().map(|x| format!("001{x}")))
                .unwrap_or_default();
            let subject = a.subject.clone().unwrap_or_default();
            if a.kind == ActivityKind::Meeting {
                let rec = [
                    format!("00U{}", a.id),
                    who,
                    what,
                    subject,
                    ts(&a.at),
                    format!("005{}", a.owner),
                    ts(&a.at),
                    String::new(),
                ];
                self.events
                    .write_record(&rec)
                    .map_err(|e| io(&self.dir, e))?;
            } else {
                let sub = match a.kind {
                    ActivityKind::Call => "Call",
                    ActivityKind::Email => "Email",
                    _ => "Task",
                };
                let rec = [
                    format!("00T{}", a.id),
                    who,
                    what,
                    subject,
                    "Completed".to_owned(),
                    format!("005{}", a.owner),
                    sub.to_owned(),
                    sub.to_owned(),
                    ts(&a.at),
                    ts(&a.at),
                    String::new(),
                ];
                self.tasks
                    .write_record(&rec)
                    .map_err(|e| io(&self.dir, e))?;
            }
        }
        Ok(())
    }
    /// Own-book quotas on bookings as collaborative forecasts keep them: a
    /// `ForecastingQuota` row per rep and period, and the periods in `Period.csv` (the
    /// demo's other targets have no place in a Salesforce export).
    fn quotas(&mut self, v: &[Quota]) -> Result<()> {
        let mut w = writer(
            &self.dir,
            "ForecastingQuota.csv",
            &[
                "Id",
                "QuotaOwnerId",
                "StartDate",
                "QuotaAmount",
                "CurrencyIsoCode",
                "PeriodId",
            ],
        )?;
        let mut periods: Vec<(Date, Date)> = Vec::new();
        let mut n = 0u64;
        for q in v {
            let QuotaTarget::Person(p) = &q.target else {
                continue;
            };
            if q.metric != "bookings" {
                continue;
            }
            let key = (q.period.start, q.period.last_day());
            let k = match periods.iter().position(|x| *x == key) {
                Some(k) => k,
                None => {
                    periods.push(key);
                    periods.len() - 1
                }
            };
            n += 1;
            let rec = [
                format!("0J9{n:015}"),
                format!("005{p}"),
                fmt_date(q.period.start),
                q.amount.to_string(),
                self.currency.to_string(),
                format!("026{k:015}"),
            ];
            w.write_record(&rec).map_err(|e| io(&self.dir, e))?;
        }
        w.flush().map_err(|e| io(&self.dir, e))?;
        let mut w = writer(
            &self.dir,
            "Period.csv",
            &["Id", "StartDate", "EndDate", "Type"],
        )?;
        for (k, (a, z)) in periods.iter().enumerate() {
            let rec = [
                format!("026{k:015}"),
                fmt_date(*a),
                fmt_date(*z),
                "Quarter".to_owned(),
            ];
            w.write_record(&rec).map_err(|e| io(&self.dir, e))?;
        }
        w.flush().map_err(|e| io(&self.dir, e))
    }
    fn spend(&mut self, _: &[Spend]) -> Result<()> {
        Ok(())
    }
    /// Advanced currency management's dated rates: a `DatedConversionRate` row per
    /// currency and start day, each holding until the next one's start, and a
    /// `CurrencyType` row per currency with its latest rate (the corporate currency's at 1).
    /// Salesforce keeps a rate as units of the currency per unit of the corporate one, so
    /// a rate into the corporate currency goes out as its reciprocal, to ten decimals. A
    /// rate between two other currencies has no place there and is left out. A
    /// single-currency org (no rates) has neither file.
    fn rates(&mut self, v: &[CurrencyRate]) -> Result<()> {
        let corp = self.currency;
        let mut dated: Vec<(Currency, Date, Rate)> = v
            .iter()
            .filter_map(|r| {
                if r.from == corp && r.to != corp {
                    Some((r.to, r.date, r.rate))
                } else if r.to == corp && r.from != corp {
                    Some((r.from, r.date, r.rate.reciprocal()?))
                } else {
                    None
                }
            })
            .collect();
        if dated.is_empty() {
            return Ok(());
        }
        dated.sort_by_key(|x| (x.0, x.1));
        let mut w = writer(
            &self.dir,
            "DatedConversionRate.csv",
            &[
                "Id",
                "IsoCode",
                "StartDate",
                "NextStartDate",
                "ConversionRate",
            ],
        )?;
        for (n, &(iso, start, rate)) in dated.iter().enumerate() {
            let next = match dated.get(n + 1) {
                Some(x) if x.0 == iso => fmt_date(x.1),
                _ => "9999-12-31".to_owned(),
            };
            let rec = [
                format!("04w{n:015}"),
                iso.to_string(),
                fmt_date(start),
                next,
                rate.to_string(),
            ];
            w.write_record(&rec).map_err(|e| io(&self.dir, e))?;
        }
        w.flush().map_err(|e| io(&self.dir, e))?;
        let mut w = writer(
            &self.dir,
            "CurrencyType.csv",
            &[
                "Id",
                "IsoCode",
                "ConversionRate",
                "DecimalPlaces",
                "IsActive",
                "IsCorporate",
            ],
        )?;
        let mut latest: Vec<(Currency, Rate)> = vec![(corp, Rate::ONE)];
        for &(iso, _, rate) in &dated {
            match latest.last_mut() {
                Some(l) if l.0 == iso => l.1 = rate,
                _ => latest.push((iso, rate)),
            }
        }
        for (n, (iso, rate)) in latest.iter().enumerate() {
            let rec = [
                format!("02c{n:015}"),
                iso.to_string(),
                rate.to_string(),
                "2".to_owned(),
                "1".to_owned(),
                b(*iso == corp).to_owned(),
            ];
            w.write_record(&rec).map_err(|e| io(&self.dir, e))?;
        }
        w.flush().map_err(|e| io(&self.dir, e))
    }
    fn surveys(&mut self, _: &[SurveyResponse]) -> Result<()> {
        Ok(())
    }
}
