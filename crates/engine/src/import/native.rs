//! salesorg's own CSV formats, for what CRMs do not export (docs/importers/salesorg.md):
//! `units.csv`, `org_changes.csv` (effective-dated reporting lines and unit memberships),
//! `quotas.csv`, `spend.csv`, `currency_rates.csv` and `surveys.csv`. The path is a folder
//! holding any of them, or one such file (recognised by its name).

use std::path::{Path, PathBuf};

use salesorg_core::catalog::Catalog;
use salesorg_core::date::Date;
use salesorg_core::ids::*;
use salesorg_core::period::Period;
use salesorg_core::records::*;

use crate::Result;
use crate::csvread::{CsvFile, CsvOptions};
use crate::import::fields::{Fields, each_row, need};
use crate::import::{ImportOptions, Loader};
use crate::problem::Problem;

const FILES: &[&str] = &[
    "units.csv",
    "org_changes.csv",
    "quotas.csv",
    "spend.csv",
    "currency_rates.csv",
    "surveys.csv",
];

fn parsed<T, E: std::fmt::Display>(
    x: &mut Fields<'_>,
    col: Option<usize>,
    f: impl FnOnce(&str) -> std::result::Result<T, E>,
) -> Option<T> {
    let v = x.text(col)?;
    match f(&v) {
        Ok(t) => Some(t),
        Err(e) => {
            x.problem(col, e.to_string());
            None
        }
    }
}

pub fn load(l: &mut Loader<'_>, path: &Path, _opts: &ImportOptions) -> Result<()> {
    let files: Vec<PathBuf> = if path.is_dir() {
        FILES
            .iter()
            .map(|f| path.join(f))
            .filter(|p| p.exists())
            .collect()
    } else {
        vec![path.to_owned()]
    };
    if files.is_empty() {
        l.fatal(Problem::file(
            &path.display().to_string(),
            format!("holds none of {}", FILES.join(", ")),
        ));
        return Ok(());
    }
    let settings = l.settings().clone();
    let catalog = Catalog::builtin()?;
    for p in files {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let f = match CsvFile::open(&p, &CsvOptions::default()) {
            Ok(f) => f,
            Err(e) => {
                l.fatal(e);
                continue;
            }
        };
        l.notes.extend(f.notes.iter().cloned());
        match name.as_str() {
            "units.csv" => {
                let c = need(
                    l,
                    &f,
                    &[
                        ("id", &[], true),
                        ("name", &[], false),
                        ("kind", &[], true),
                        ("parent_id", &[], false),
                    ],
                );
                each_row(l, &f, |l, x| {
                    let id: Option<UnitId> = x.req_id(c[0], "id");
                    let kind = parsed(x, c[2], UnitKind::parse);
                    let parent: Option<UnitId> = x.id(c[3]);
                    let origin = x.origin(c[0]);
                    if !x.ok(l) {
                        return Ok(());
                    }
                    let (Some(id), Some(kind)) = (id, kind) else {
                        return Ok(());
                    };
                    let name = x.text(c[1]).unwrap_or_else(|| id.to_string());
                    l.unit(
                        Unit {
                            id,
                            name,
                            kind,
                            parent,
                        },
                        &origin,
                        x.raw(),
                    );
                    Ok(())
                })?;
            }
            "org_changes.csv" => {
                let c = need(
                    l,
                    &f,
                    &[
                        ("person_id", &[], true),
                        ("manager_id", &[], false),
                        ("unit_id", &[], false),
                        ("valid_from", &["effective_from"], true),
                        ("valid_to", &["effective_to"], false),
                        ("name", &[], false),
                        ("role", &[], false),
                    ],
                );
                each_row(l, &f, |l, x| {
                    let person: Option<PersonId> = x.req_id(c[0], "person_id");
                    let manager: Option<PersonId> = x.id(c[1]);
                    let unit: Option<UnitId> = x.id(c[2]);
                    let from = x.date(c[3]);
                    if from.is_none() && x.problems.is_empty() {
                        x.problem(c[3], "valid_from is required but empty");
                    }
                    let to = x.date(c[4]);
                    let valid = match from {
                        Some(fr) => match Validity::new(fr, to) {
                            Ok(v) => Some(v),
                            Err(e) => {
                                x.problem(c[4], e.to_string());
                                None
                            }
                        },
                        None => None,
                    };
                    if manager.is_none() && unit.is_none() && x.problems.is_empty() {
                        x.problem(c[1], "a change needs a manager_id, a unit_id or both");
                    }
                    let role = match x.text(c[6]) {
                        Some(r) => match catalog.find(&r) {
                            Some(role) => RoleId::parse(&role.id).ok(),
                            None => {
                                x.problem(c[6], format!("{r:?} is not a role in the catalog"));
                                None
                            }
                        },
                        None => None,
                    };
                    let origin = x.origin(c[1]);
                    if !x.ok(l) {
                        return Ok(());
                    }
                    let (Some(person), Some(valid)) = (person, valid) else {
                        return Ok(());
                    };
                    if let Some(n) = x.text(c[5])
                        && !l.has_person(&person)
                    {
                        let p = Person {
                            id: person.clone(),
                            name: n,
                            email: None,
                            title: None,
                            role: role.clone(),
                            hired: Some(valid.from),
                            left: None,
                        };
                        l.person(p, &origin, x.raw());
                    }
                    if let Some(m) = manager {
                        l.explicit_line(
                            ReportingLine {
                                person: person.clone(),
                                manager: m,
                                valid,
                            },
                            &origin,
                        );
                    }
                    if let Some(u) = unit {
                        l.explicit_membership(
                            Membership {
                                person,
                                unit: u,
                                valid,
                            },
                            &origin,
                        );
                    }
                    Ok(())
                })?;
            }
            "quotas.csv" => {
                let c = need(
                    l,
                    &f,
                    &[
                        ("target_kind", &[], false),
                        ("target_id", &[], true),
                        ("period", &[], true),
                        ("metric", &[], false),
                        ("amount", &[], true),
                    ],
                );
                each_row(l, &f, |l, x| {
                    let tid = x.req(c[1], "target_id");
                    let kind = x.text(c[0]).unwrap_or_else(|| "person".into());
                    let period = parsed(x, c[2], |s| Period::parse(s, &settings.fiscal));
                    let amount = x.money(c[4]);
                    let target = match (kind.as_str(), tid) {
                        ("person", Some(t)) => PersonId::parse(&t).ok().map(QuotaTarget::Person),
                        ("team", Some(t)) => PersonId::parse(&t).ok().map(QuotaTarget::Team),
                        ("unit", Some(t)) => UnitId::parse(&t).ok().map(QuotaTarget::Unit),
                        (k, _) => {
                            if !matches!(k, "person" | "team" | "unit") {
                                x.problem(c[0], format!("{k:?} is not person, team or unit"));
                            }
                            None
                        }
                    };
                    if amount.is_none() && x.problems.is_empty() {
                        x.problem(c[4], "amount is required but empty");
                    }
                    if amount.is_some_and(|a| a.units() < 0) {
                        x.problem(c[4], super::NEGATIVE_QUOTA);
                    }
                    let metric = x.text(c[3]);
                    let metric = match salesorg_core::kpi::target_metric(
                        metric.as_deref(),
                        amount.unwrap_or_default(),
                    ) {
                        Ok(m) => Some(m),
                        Err(why) => {
                            x.problem(c[3], why);
                            None
                        }
                    };
                    let origin = x.origin(c[1]);
                    if !x.ok(l) {
                        return Ok(());
                    }
                    let (Some(target), Some(period), Some(amount), Some(metric)) =
                        (target, period, amount, metric)
                    else {
                        return Ok(());
                    };
                    let q = Quota {
                        target,
                        period,
                        metric: metric.into(),
                        amount,
                    };
                    l.quota(q, &origin, c[4], x.raw())
                })?;
            }
            "spend.csv" => {
                let c = need(
                    l,
                    &f,
                    &[
                        ("date", &[], true),
                        ("scope", &[], true),
                        ("category", &[], false),
                        ("amount", &[], true),
                    ],
                );
                each_row(l, &f, |l, x| {
                    let date: Option<Date> = x.date(c[0]);
                    let scope = parsed(x, c[1], spend_scope);
                    let amount = x.money(c[3]);
                    let origin = x.origin(c[1]);
                    if !x.ok(l) {
                        return Ok(());
                    }
                    let (Some(date), Some(scope), Some(amount)) = (date, scope, amount) else {
                        return Ok(());
                    };
                    let s = Spend {
                        date,
                        scope,
                        category: x.text(c[2]).unwrap_or_else(|| "sales".into()),
                        amount,
                    };
                    l.spend(s, &origin, c[3], x.raw())
                })?;
            }
            "currency_rates.csv" => {
                let c = need(
                    l,
                    &f,
                    &[
                        ("date", &[], true),
                        ("from", &[], true),
                        ("to", &[], true),
                        ("rate", &[], true),
                    ],
                );
                each_row(l, &f, |l, x| {
                    let date = x.date(c[0]);
                    let from = x.currency(c[1]);
                    let to = x.currency(c[2]);
                    let rate = x.rate(c[3]);
                    let origin = x.origin(c[0]);
                    if !x.ok(l) {
                        return Ok(());
                    }
                    let (Some(date), Some(from), Some(to), Some(rate)) = (date, from, to, rate)
                    else {
                        return Ok(());
                    };
                    l.rate(
                        CurrencyRate {
                            date,
                            from,
                            to,
                            rate,
                        },
                        &origin,
                        c[3],
                        x.raw(),
                    )
                })?;
            }
            "surveys.csv" => {
                let c = need(
                    l,
                    &f,
                    &[
                        ("id", &[], true),
                        ("account_id", &[], true),
                        ("date", &[], true),
                        ("score", &[], true),
                        ("scale_min", &[], false),
                        ("scale_max", &[], false),
                    ],
                );
                each_row(l, &f, |l, x| {
                    let id = x.req(c[0], "id");
                    let account: Option<AccountId> = x.req_id(c[1], "account_id");
                    let date = x.date(c[2]);
                    let score = x.int(c[3]).and_then(|v| i32::try_from(v).ok());
                    let lo = x.int(c[4]).and_then(|v| i32::try_from(v).ok()).unwrap_or(1);
                    let hi = x
                        .int(c[5])
                        .and_then(|v| i32::try_from(v).ok())
                        .unwrap_or(10);
                    if let Some(why) = score.and_then(|s| off_scale(s, lo, hi)) {
                        x.problem(c[3], why);
                    }
                    let origin = x.origin(c[1]);
                    if !x.ok(l) {
                        return Ok(());
                    }
                    let (Some(id), Some(account), Some(date), Some(score)) =
                        (id, account, date, score)
                    else {
                        return Ok(());
                    };
                    l.survey(
                        SurveyResponse {
                            id,
                            account,
                            date,
                            score,
                            scale_min: lo,
                            scale_max: hi,
                        },
                        &origin,
                        x.raw(),
                    )
                })?;
            }
            other => l.fatal(Problem::file(
                &f.name,
                format!(
                    "{other:?} is not one of salesorg's formats ({})",
                    FILES.join(", ")
                ),
            )),
        }
    }
    Ok(())
}

/// A spend entry's scope as salesorg's format writes it: `company`, `unit:ID`,
/// `person:ID` (or `team:ID`, the leader's).
pub(crate) fn spend_scope(s: &str) -> std::result::Result<SpendScope, String> {
    match s.split_once(':') {
        None if s == "company" => Ok(SpendScope::Company),
        Some(("unit", id)) => UnitId::parse(id)
            .map(SpendScope::Unit)
            .map_err(|e| e.to_string()),
        Some(("person", id)) | Some(("team", id)) => PersonId::parse(id)
            .map(SpendScope::Person)
            .map_err(|e| e.to_string()),
        _ => Err(format!("{s:?} is not company, unit:ID or person:ID")),
    }
}

/// Why a survey score does not fit its scale, if it does not.
pub(crate) fn off_scale(score: i32, lo: i32, hi: i32) -> Option<String> {
    (score < lo || score > hi || lo >= hi)
        .then(|| format!("score {score} is outside the scale {lo}..{hi}"))
}
