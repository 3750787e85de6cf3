//! Printing: tables for people, JSON and CSV for scripts.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};

use salesorg_core::catalog::{Catalog, Fact, Role};
use salesorg_core::date::{Date, fmt_date};
use salesorg_core::ids::PersonId;
use salesorg_core::org::OrgHistory;
use salesorg_core::records::Person;
use salesorg_core::settings::{KEYS, Settings};

use crate::cli::Format;

/// A list of records (`user list`, `user token list`): aligned columns under a header, or
/// `none` when it is empty; CSV; or JSON objects keyed by the header.
pub fn listing(header: &[&str], rows: Vec<Vec<String>>, none: &str, format: Format) -> Result<()> {
    match format {
        Format::Csv => csv_out(header, rows),
        Format::Json | Format::Toml => print_json(&Value::Array(
            rows.iter()
                .map(|r| {
                    Value::Object(
                        header
                            .iter()
                            .zip(r)
                            .map(|(h, v)| (h.to_string(), Value::String(v.clone())))
                            .collect(),
                    )
                })
                .collect(),
        )),
        Format::Table if rows.is_empty() => {
            outln!("{none}");
            Ok(())
        }
        Format::Table => {
            let mut all = vec![header.iter().map(|h| h.to_string()).collect()];
            all.extend(rows);
            aligned(&all, |_| true)
        }
    }
}

/// Prints `rows` (the header first) as aligned columns, a column left-aligned where `left`
/// says so and right-aligned otherwise, each line without trailing spaces.
fn aligned(rows: &[Vec<String>], left: impl Fn(usize) -> bool) -> Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |v| v.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, x)| match left(c) {
                true => format!("{x:<w$}", w = widths[c]),
                false => format!("{x:>w$}", w = widths[c]),
            })
            .collect();
        outln!("{}", line.join("  ").trim_end());
    }
    Ok(())
}

fn csv_out(header: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout());
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    w.flush()?;
    Ok(())
}

fn print_json(v: &Value) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

struct Node<'a> {
    person: &'a Person,
    role: Option<&'a Role>,
    span: usize,
    flag: Option<String>,
}

fn node<'a>(
    people: &'a HashMap<&PersonId, &'a Person>,
    cat: &'a Catalog,
    org: &OrgHistory,
    id: &PersonId,
    d: Date,
) -> Option<Node<'a>> {
    let person = *people.get(id)?;
    let role = person.role.as_ref().and_then(|r| cat.find(r.as_str()));
    let span = org.direct_reports(id, d).len();
    // (no span to judge for someone not with the company on `d`: a Director who had left
    // was flagged for a span of 0)
    let flag = role
        .filter(|_| absence(person, d).is_empty())
        .and_then(|r| r.span_flag(span));
    Some(Node {
        person,
        role,
        span,
        flag,
    })
}

/// " · left DATE" or " · hired DATE" for someone not with the company on `d` (empty for
/// someone who is).
fn absence(p: &Person, d: Date) -> String {
    match (p.hired, p.left) {
        (_, Some(l)) if l <= d => format!(" · left {}", fmt_date(l)),
        (Some(h), _) if d < h => format!(" · hired {}", fmt_date(h)),
        _ => String::new(),
    }
}

/// Prints the reporting tree on `d`.
pub fn org_tree(
    org: &OrgHistory,
    people: &[Person],
    cat: &Catalog,
    d: Date,
    root: Option<&PersonId>,
    depth: Option<usize>,
    format: Format,
) -> Result<()> {
    let by_id: HashMap<&PersonId, &Person> = people.iter().map(|p| (&p.id, p)).collect();
    let roots: Vec<PersonId> = match root {
        Some(r) => vec![r.clone()],
        None => {
            let employed = people.iter().filter(|p| absence(p, d).is_empty());
            org.tops(employed.map(|p| &p.id), d)
        }
    };
    let max = depth.unwrap_or(usize::MAX);
    match format {
        Format::Json => {
            fn tree(
                org: &OrgHistory,
                by: &HashMap<&PersonId, &Person>,
                cat: &Catalog,
                id: &PersonId,
                d: Date,
                left: usize,
            ) -> Value {
                let Some(n) = node(by, cat, org, id, d) else {
                    return json!({ "id": id.as_str() });
                };
                let reports: Vec<Value> = if left > 1 {
                    org.direct_reports(id, d)
                        .iter()
                        .map(|r| tree(org, by, cat, r, d, left - 1))
                        .collect()
                } else {
                    Vec::new()
                };
                json!({
                    "id": n.person.id.as_str(),
                    "name": n.person.name,
                    "title": n.person.title,
                    "role": n.role.map(|r| r.id.as_str()),
                    "span_of_control": n.span,
                    "span_flag": n.flag,
                    "reports": reports,
                })
            }
            let v: Vec<Value> = roots
                .iter()
                .map(|r| tree(org, &by_id, cat, r, d, max))
                .collect();
            print_json(&json!({ "as_of": fmt_date(d), "roots": v }))
        }
        Format::Csv | Format::Toml => {
            let mut rows = Vec::new();
            let mut stack: Vec<(PersonId, usize, Option<PersonId>)> =
                roots.iter().rev().map(|r| (r.clone(), 0, None)).collect();
            while let Some((id, lvl, mgr)) = stack.pop() {
                if let Some(n) = node(&by_id, cat, org, &id, d) {
                    rows.push(vec![
                        id.to_string(),
                        n.person.name.clone(),
                        n.role.map(|r| r.id.clone()).unwrap_or_default(),
                        mgr.map(|m| m.to_string()).unwrap_or_default(),
                        lvl.to_string(),
                        n.span.to_string(),
                        n.flag.unwrap_or_default(),
                    ]);
                }
                if lvl + 1 < max {
                    for r in org.direct_reports(&id, d).into_iter().rev() {
                        stack.push((r, lvl + 1, Some(id.clone())));
                    }
                }
            }
            csv_out(
                &[
                    "id",
                    "name",
                    "role",
                    "manager_id",
                    "depth",
                    "span_of_control",
                    "span_flag",
                ],
                rows,
            )
        }
        Format::Table => {
            let out = std::io::stdout();
            let mut w = out.lock();
            writeln!(w, "org as of {}", fmt_date(d))?;
            if roots.is_empty() {
                writeln!(w, "(nobody with the company on this date)")?;
            }
            struct Walk<'a> {
                org: &'a OrgHistory,
                by: &'a HashMap<&'a PersonId, &'a Person>,
                cat: &'a Catalog,
                d: Date,
            }
            impl Walk<'_> {
                fn go(
                    &self,
                    w: &mut dyn Write,
                    id: &PersonId,
                    prefix: &str,
                    last: bool,
                    top: bool,
                    left: usize,
                ) -> Result<()> {
                    let Some(n) = node(self.by, self.cat, self.org, id, self.d) else {
                        return Ok(());
                    };
                    let branch = if top {
                        ""
                    } else if last {
                        "└─ "
                    } else {
                        "├─ "
                    };
                    let role = n
                        .role
                        .map(|r| r.title.as_str())
                        .or(n.person.title.as_deref())
                        .unwrap_or("no role");
                    let span = if n.span > 0 {
                        format!(" · span {}", n.span)
                    } else {
                        String::new()
                    };
                    let flag = n.flag.map(|f| format!("  ⚠ {f}")).unwrap_or_default();
                    let away = absence(n.person, self.d);
                    writeln!(
                        w,
                        "{prefix}{branch}{} ({}) — {role}{away}{span}{flag}",
                        n.person.name, n.person.id
                    )?;
                    let reports = self.org.direct_reports(id, self.d);
                    let child_prefix = if top {
                        prefix.to_owned()
                    } else {
                        format!("{prefix}{}", if last { "   " } else { "│  " })
                    };
                    if left <= 1 {
                        if !reports.is_empty() {
                            writeln!(
                                w,
                                "{child_prefix}└─ … {} more below",
                                self.org.subtree(id, self.d).len() - 1
                            )?;
                        }
                        return Ok(());
                    }
                    for (i, r) in reports.iter().enumerate() {
                        self.go(w, r, &child_prefix, i + 1 == reports.len(), false, left - 1)?;
                    }
                    Ok(())
                }
            }
            let walker = Walk {
                org,
                by: &by_id,
                cat,
                d,
            };
            for r in &roots {
                walker.go(&mut w, r, "", true, true, max)?;
            }
            Ok(())
        }
    }
}

/// Prints one person's place in the org on `d`.
pub fn person(
    org: &OrgHistory,
    people: &[Person],
    p: &Person,
    d: Date,
    format: Format,
) -> Result<()> {
    let name = |id: &PersonId| {
        people
            .iter()
            .find(|x| &x.id == id)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let manager = org.manager_on(&p.id, d);
    let reports = org.direct_reports(&p.id, d);
    let chain = org.chain(&p.id, d);
    let units = org.units_of(&p.id, d);
    let history: Vec<Value> = org
        .lines_of(&p.id)
        .iter()
        .map(|l| json!({"manager": l.manager.as_str(), "valid_from": fmt_date(l.valid.from), "valid_to": l.valid.to.map(fmt_date)}))
        .collect();
    match format {
        Format::Table => {
            outln!("{} ({}) on {}", p.name, p.id, fmt_date(d));
            outln!(
                "  role:        {}{}",
                p.role.as_ref().map(|r| r.as_str()).unwrap_or("-"),
                absence(p, d)
            );
            outln!(
                "  reports to:  {}",
                manager.map(name).unwrap_or_else(|| "nobody".into())
            );
            outln!(
                "  chain:       {}",
                chain.iter().map(name).collect::<Vec<_>>().join(" → ")
            );
            outln!(
                "  direct reports ({}): {}",
                reports.len(),
                reports.iter().map(name).collect::<Vec<_>>().join(", ")
            );
            outln!("  subtree:     {} people", org.subtree(&p.id, d).len());
            outln!(
                "  units:       {}",
                units
                    .iter()
                    .map(|u| u.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            outln!("  reporting history:");
            for l in org.lines_of(&p.id) {
                outln!(
                    "    {} to {}: {}",
                    fmt_date(l.valid.from),
                    l.valid.to.map(fmt_date).unwrap_or_else(|| "now".into()),
                    name(&l.manager)
                );
            }
            Ok(())
        }
        _ => print_json(&json!({
            "id": p.id.as_str(), "name": p.name, "as_of": fmt_date(d),
            "hired": p.hired.map(fmt_date), "left": p.left.map(fmt_date),
            "manager": manager.map(|m| m.as_str()),
            "chain": chain.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "direct_reports": reports.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            "units": units.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "reporting_history": history,
        })),
    }
}

fn band(r: &Role) -> String {
    r.comp
        .base
        .iter()
        .map(|b| {
            format!(
                "${}k–{}k{} ({})",
                b.min / 1000,
                b.max / 1000,
                if b.open_top { "+" } else { "" },
                b.source
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn roles(cat: &Catalog, format: Format) -> Result<()> {
    match format {
        Format::Toml => {
            out!("{}", cat.to_toml());
            Ok(())
        }
        Format::Json => print_json(&serde_json::to_value(cat.roles())?),
        Format::Csv => csv_out(
            &[
                "id",
                "title",
                "function",
                "level",
                "scope",
                "carries_quota",
                "span_min",
                "span_max",
                "kpis",
            ],
            cat.roles()
                .iter()
                .map(|r| {
                    let (lo, hi) = r.span_range().unwrap_or((0, 0));
                    vec![
                        r.id.clone(),
                        r.title.clone(),
                        format!("{:?}", r.function).to_lowercase(),
                        r.level.to_string(),
                        r.scope.as_str().into(),
                        r.carries_quota.to_string(),
                        lo.to_string(),
                        hi.to_string(),
                        r.kpi_ids().join(" "),
                    ]
                })
                .collect(),
        ),
        Format::Table => {
            outln!(
                "{:<28} {:<32} {:>5} {:<13} {:>7} {:<6} base salary",
                "id",
                "title",
                "level",
                "scope",
                "span",
                "quota"
            );
            for r in cat.roles() {
                // (a role that leads no one: "none", as its own page says, not "0–0")
                let span = r
                    .span_range()
                    .map(|(a, b)| {
                        if b == 0 {
                            "none".to_owned()
                        } else {
                            format!("{a}–{b}")
                        }
                    })
                    .unwrap_or_default();
                outln!(
                    "{:<28} {:<32} {:>5} {:<13} {:>7} {:<6} {}",
                    r.id,
                    r.title,
                    r.level,
                    r.scope.as_str(),
                    span,
                    if r.carries_quota { "yes" } else { "no" },
                    band(r)
                );
            }
            outln!("\nsources:");
            for (k, v) in cat.sources() {
                outln!("  {k:<9} {v}");
            }
            Ok(())
        }
    }
}

pub fn role(cat: &Catalog, r: &Role, format: Format) -> Result<()> {
    match format {
        Format::Table => {}
        // (a catalog file of the one role, to lay over the built-in one with --catalog)
        Format::Toml => {
            out!("{}", cat.role_toml(r));
            return Ok(());
        }
        _ => return print_json(&serde_json::to_value(r)?),
    }
    let facts = |title: &str, v: &[Fact]| -> Result<()> {
        if !v.is_empty() {
            outln!("{title}:");
            for f in v {
                outln!("  - {} [{}]", f.text, f.source);
            }
        }
        Ok(())
    };
    outln!("{} ({})", r.title, r.id);
    if !r.aliases.is_empty() {
        outln!("also called: {}", r.aliases.join(", "));
    }
    outln!(
        "function {:?}, level {}, scope {}, carries quota: {}",
        r.function,
        r.level,
        r.scope.as_str(),
        r.carries_quota
    );
    facts("summary", &r.summary)?;
    if !r.reports_to.is_empty() {
        outln!("reports to:");
        for x in &r.reports_to {
            let t = cat
                .find(&x.role)
                .map(|r| r.title.clone())
                .unwrap_or_else(|| x.role.trim_start_matches("external:").to_owned());
            outln!(
                "  - {t}{} [{}]",
                x.note
                    .as_ref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                x.source
            );
        }
    }
    facts("manages", &r.manages)?;
    for s in &r.span {
        outln!(
            "span of control: {}{} [{}]",
            if s.max == 0 {
                "none (no direct reports)".to_owned()
            } else {
                format!("{}–{}", s.min, s.max)
            },
            s.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            s.source
        );
    }
    for y in &r.experience {
        let range = match y.max {
            Some(m) => format!("{}–{} years", y.min, m),
            None => format!("{}+ years", y.min),
        };
        outln!(
            "experience: {range}{} [{}]",
            y.note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            y.source
        );
    }
    facts("education", &r.education)?;
    for b in &r.comp.base {
        outln!(
            "base salary: {} {}–{}{} [{}]",
            b.currency,
            b.min,
            b.max,
            if b.open_top { "+" } else { "" },
            b.source
        );
    }
    for b in &r.comp.bonus_pct_of_base {
        outln!("bonus: {}–{} % of base [{}]", b.min, b.max, b.source);
    }
    for b in &r.comp.total_comp_up_to {
        outln!(
            "total compensation up to: {} {}{} [{}]",
            b.currency,
            b.max,
            if b.open_top { "+" } else { "" },
            b.source
        );
    }
    facts("other compensation", &r.comp.other)?;
    facts("equity", &r.comp.equity)?;
    outln!(
        "KPIs: {}",
        r.kpis
            .iter()
            .map(|k| format!("{} [{}]", k.id, k.source))
            .collect::<Vec<_>>()
            .join(", ")
    );
    facts("responsibilities", &r.responsibilities)?;
    for (dim, v) in r.skills.dimensions() {
        facts(&format!("skills — {dim}"), v)?;
    }
    facts("decision authority", &r.decision_authority)?;
    facts("budget authority", &r.budget_authority)?;
    if !r.next_roles.is_empty() {
        outln!("next roles:");
        for n in &r.next_roles {
            let t = cat
                .find(&n.role)
                .map(|r| r.title.clone())
                .unwrap_or_else(|| n.role.trim_start_matches("external:").to_owned());
            outln!(
                "  - {t}{} [{}]",
                n.years
                    .as_ref()
                    .map(|y| format!(" after {y} years"))
                    .unwrap_or_default(),
                n.source
            );
        }
    }
    facts("challenges", &r.challenges)?;
    facts("hire this role when", &r.hire_when)?;
    outln!("\nsources:");
    for (k, v) in cat.sources() {
        outln!("  {k:<9} {v}");
    }
    Ok(())
}

pub fn settings(s: &Settings, format: Format) -> Result<()> {
    let pairs: Vec<(&str, String)> = KEYS
        .iter()
        .map(|k| (*k, s.get(k).unwrap_or_default()))
        .collect();
    match format {
        Format::Json => print_json(&Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                .collect(),
        )),
        Format::Csv => csv_out(
            &["key", "value"],
            pairs
                .into_iter()
                .map(|(k, v)| vec![k.to_owned(), v])
                .collect(),
        ),
        // (the file `salesorg settings load` reads)
        Format::Toml => {
            out!("{}", s.to_toml());
            Ok(())
        }
        Format::Table => {
            for (k, v) in pairs {
                outln!("{k:<26} {v}");
            }
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn status(
    db: &str,
    backend: &str,
    version: i64,
    counts: &[(&str, i64)],
    imports: &[(String, String, String, String)],
    rates: &[salesorg_core::records::CurrencyRate],
    quotas: &[salesorg_core::records::Quota],
    format: Format,
) -> Result<()> {
    // the quotas (bookings) and each other KPI's targets: how many, over which days
    let mut metrics: Vec<(String, usize, Date, Date)> = Vec::new();
    for q in quotas {
        match metrics.iter_mut().find(|m| m.0 == q.metric) {
            Some(m) => {
                m.1 += 1;
                m.2 = m.2.min(q.period.start);
                m.3 = m.3.max(q.period.last_day());
            }
            None => metrics.push((q.metric.clone(), 1, q.period.start, q.period.last_day())),
        }
    }
    metrics.sort_by(|a, b| (a.0 != "bookings", &a.0).cmp(&(b.0 != "bookings", &b.0)));
    // each pair's rates, in the store's order (by day): how many, from when, the latest
    let mut pairs: Vec<(String, usize, String, String, String)> = Vec::new();
    for r in rates {
        let pair = format!("{}→{}", r.from, r.to);
        match pairs.iter_mut().find(|p| p.0 == pair) {
            Some(p) => {
                p.1 += 1;
                (p.3, p.4) = (fmt_date(r.date), r.rate.to_string());
            }
            None => pairs.push((
                pair,
                1,
                fmt_date(r.date),
                fmt_date(r.date),
                r.rate.to_string(),
            )),
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    match format {
        Format::Json => print_json(&json!({
            "store": db, "backend": backend, "schema_version": version,
            "counts": counts.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "imports": imports.iter().map(|(s, p, e, t)| json!({"source": s, "path": p, "effective": e, "summary": t})).collect::<Vec<_>>(),
            "rates": pairs.iter().map(|(p, n, first, last, latest)| json!({"pair": p, "count": n, "first": first, "last": last, "latest": latest})).collect::<Vec<_>>(),
            "targets": metrics.iter().map(|(k, n, first, last)| json!({"kpi": k, "count": n, "first": fmt_date(*first), "last": fmt_date(*last)})).collect::<Vec<_>>(),
        })),
        Format::Csv => csv_out(
            &["table", "rows"],
            counts
                .iter()
                .map(|(k, v)| vec![k.to_string(), v.to_string()])
                .collect(),
        ),
        _ => {
            outln!("store {db} ({backend}, schema v{version})");
            for (k, v) in counts {
                outln!("  {k:<16} {v:>12}");
            }
            if !pairs.is_empty() {
                outln!("exchange rates (1 from = rate to):");
                for (p, n, first, last, latest) in &pairs {
                    outln!("  {p:<10} {n:>5} from {first} to {last}, the latest {latest}");
                }
            }
            if !metrics.is_empty() {
                outln!("quotas (bookings) and targets, by KPI:");
                for (k, n, first, last) in &metrics {
                    outln!(
                        "  {k:<30} {n:>7} from {} to {}",
                        fmt_date(*first),
                        fmt_date(*last)
                    );
                }
            }
            if !imports.is_empty() {
                outln!("imports, newest first:");
                for (s, p, e, t) in imports.iter().take(10) {
                    outln!("  {s} {p} (effective {e}): {t}");
                }
            }
            Ok(())
        }
    }
}

/// The scope × period rows of `salesorg scorecard --scope/--all`.
pub fn scorecard_rows(
    engine: &salesorg_core::scorecard::Engine,
    rows: &[salesorg_core::scorecard::Row],
    kpis: &[&str],
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    use salesorg_engine::scorecard as sc;
    match format {
        Format::Json | Format::Toml => {
            if rows.len() == 1 {
                writeln!(out, "{}", sc::row_json(engine, &rows[0], kpis))?;
            } else {
                writeln!(out, "[")?;
                for (i, r) in rows.iter().enumerate() {
                    let sep = if i + 1 < rows.len() { "," } else { "" };
                    writeln!(out, "{}{sep}", sc::row_json(engine, r, kpis))?;
                }
                writeln!(out, "]")?;
            }
        }
        Format::Csv => sc::rows_csv(engine, rows, kpis, out)?,
        Format::Table => {
            // one column per scope × period, one line per KPI
            let heads: Vec<String> = rows
                .iter()
                .map(|r| {
                    if rows.iter().all(|x| x.scope == rows[0].scope) {
                        r.period.to_string()
                    } else {
                        format!("{} {}", engine.scope_name(r.scope), r.period)
                    }
                })
                .collect();
            if let Some(r) = rows.first() {
                writeln!(
                    out,
                    "{} · as of {} · {}",
                    engine.scope_name(r.scope),
                    fmt_date(r.as_of),
                    engine.book.settings.currency.as_str()
                )?;
            }
            let w0 = kpis.iter().map(|k| k.len()).max().unwrap_or(4).max(4);
            let mut line = format!("{:w0$}", "kpi");
            for h in &heads {
                line.push_str(&format!("  {h:>16}"));
            }
            writeln!(out, "{}", line.trim_end())?;
            for k in kpis {
                let mut line = format!("{k:w0$}");
                let mut tables = Vec::new();
                // why each "—" of the line is undefined (what a leader asks first)
                let mut nulls = Vec::new();
                for (r, h) in rows.iter().zip(&heads) {
                    let v = r.values.iter().find(|(id, _)| id == k).map(|(_, v)| v);
                    match v {
                        Some(salesorg_core::kpi::Value::Table(t)) => {
                            line.push_str(&format!("  {:>16}", format!("{} rows", t.len())));
                            tables.push(v.cloned());
                        }
                        Some(v) => line.push_str(&format!("  {:>16}", v.to_text("—"))),
                        None => line.push_str(&format!("  {:>16}", "—")),
                    }
                    match v {
                        Some(v) => nulls.extend(v.why().map(|why| (h.as_str(), why))),
                        None => nulls.push((h.as_str(), salesorg_core::kpi::Why::missing(k))),
                    }
                }
                writeln!(out, "{}", line.trim_end())?;
                for note in null_notes(nulls.into_iter(), rows.len() > 1) {
                    writeln!(out, "  — {note}")?;
                }
                if rows.len() == 1
                    && let Some(Some(salesorg_core::kpi::Value::Table(t))) = tables.first()
                {
                    for (label, row) in t.rows() {
                        let cells: Vec<String> = t.columns[1..]
                            .iter()
                            .zip(row)
                            .map(|(c, v)| format!("{c} {}", v.to_text("—")))
                            .collect();
                        writeln!(out, "    {label:24} {}", cells.join(" · "))?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Why a KPI's "—"s are undefined, a line per reason, with the columns it holds for
/// when there are several (at most four named).
fn null_notes<'a>(
    nulls: impl Iterator<Item = (&'a str, salesorg_core::kpi::Why)>,
    name_columns: bool,
) -> Vec<String> {
    let mut by_why: Vec<(salesorg_core::kpi::Why, Vec<&str>)> = Vec::new();
    for (col, why) in nulls {
        match by_why.iter_mut().find(|(w, _)| *w == why) {
            Some((_, cols)) => cols.push(col),
            None => by_why.push((why, vec![col])),
        }
    }
    by_why
        .into_iter()
        .map(|(why, cols)| {
            if !name_columns {
                return format!("undefined: {}", why.text());
            }
            let mut named = cols.iter().take(4).copied().collect::<Vec<_>>().join(", ");
            if cols.len() > 4 {
                named.push_str(&format!(" and {} more", cols.len() - 4));
            }
            format!("{named}: undefined: {}", why.text())
        })
        .collect()
}

/// A value as the CLI's tables say it: "—" with the reason when undefined.
fn value_with_reason(v: &salesorg_core::kpi::Value) -> String {
    match v.why() {
        Some(why) => format!("— (undefined: {})", why.text()),
        None => v.to_text("—"),
    }
}

/// A person's role scorecard.
pub fn person_scorecard(
    engine: &salesorg_core::scorecard::Engine,
    card: &salesorg_engine::scorecard::PersonScorecard,
    format: Format,
    out: &mut dyn Write,
) -> Result<()> {
    if matches!(format, Format::Json | Format::Toml) {
        writeln!(
            out,
            "{}",
            salesorg_engine::scorecard::person_scorecard_json(engine, card)
        )?;
        return Ok(());
    }
    let info = &engine.book.people[card.person as usize];
    let none = if format == Format::Csv { "" } else { "—" };
    let (header, rows) = salesorg_engine::scorecard::person_scorecard_table(engine, card, none);
    if format == Format::Csv {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&header)?;
        for r in rows {
            w.write_record(r)?;
        }
        w.flush()?;
        return Ok(());
    }
    // (someone who left before the as-of day is said to have: their scorecard is of the
    // team they led, or the book they carried, until then)
    let as_of = salesorg_core::scorecard::day(card.as_of);
    let left = if info.left <= as_of {
        format!(
            " · left {}",
            fmt_date(salesorg_core::scorecard::date_of(info.left))
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} ({}) — {}{left} · scope {} · {} as of {}{} · {}",
        info.name,
        info.id,
        card.role.as_deref().unwrap_or("no role"),
        engine.scope_name(card.scope),
        card.period,
        fmt_date(card.as_of),
        card.period
            .under_way(card.as_of)
            .map(|(day, of)| format!(" (day {day} of {of})"))
            .unwrap_or_default(),
        engine.book.settings.currency.as_str()
    )?;
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count().min(40))
                .chain(std::iter::once(header[c].chars().count()))
                .max()
                .unwrap_or(4)
        })
        .collect();
    let fmt_row = |r: &[String]| -> String {
        r.iter()
            .enumerate()
            .map(|(c, v)| {
                let v: String = v.chars().take(40).collect();
                if c == 0 {
                    format!("{v:<w$}", w = widths[c])
                } else {
                    format!("{v:>w$}", w = widths[c])
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    writeln!(out, "{}", fmt_row(&header).trim_end())?;
    for r in &rows {
        writeln!(out, "{}", fmt_row(r).trim_end())?;
    }
    // (the spec's revenue growth of a period under way is against last year's whole period)
    if let (Some((_, ly)), Some(l)) = (
        &card.to_date,
        card.lines.iter().find(|l| l.kpi == "revenue_growth_yoy"),
    ) && !matches!(
        l.like_for_like,
        salesorg_core::kpi::Value::Null(salesorg_core::kpi::Why::NotApplicable)
    ) {
        writeln!(
            out,
            "revenue_growth_yoy like for like, to {} against {ly}: {}",
            fmt_date(card.as_of),
            value_with_reason(&l.like_for_like)
        )?;
    }
    // why a KPI of the period is "—" (what a leader asks first)
    for l in &card.lines {
        if let salesorg_core::kpi::Value::Null(why) = l.value
            && !salesorg_core::kpi::NOT_YET.contains(&l.kpi)
        {
            writeln!(out, "{} is undefined: {}", l.kpi, why.text())?;
        }
    }
    // (a KPI of the role that waits for data keeps its row, and says what it waits for)
    for l in card
        .lines
        .iter()
        .filter(|l| salesorg_core::kpi::NOT_YET.contains(&l.kpi))
    {
        writeln!(
            out,
            "{} not computed: it {}, which salesorg does not hold yet",
            l.kpi,
            salesorg_engine::scorecard::formula(l.kpi)
        )?;
    }
    Ok(())
}

/// `salesorg reps`: the leaderboard, a rep (a team) a line in rank order.
pub fn leaderboard(
    engine: &salesorg_core::scorecard::Engine,
    b: &salesorg_engine::leaderboard::Board,
    format: Format,
) -> Result<()> {
    let (scope, period, kpis, by, desc, board) =
        (b.scope, &b.period, &b.kpis[..], b.by, b.desc, &b.rows[..]);
    let people = &engine.book.people;
    let teams = b.of == salesorg_engine::leaderboard::BoardOf::Teams;
    let value = |r: &salesorg_engine::leaderboard::Ranked, k: &str| {
        r.values
            .iter()
            .find(|x| x.0 == k)
            .map_or_else(String::new, |x| x.1.to_text(""))
    };
    let as_of = b.as_of;
    match format {
        Format::Json | Format::Toml => {
            let all: Vec<usize> = (0..board.len()).collect();
            let text = salesorg_engine::leaderboard::leaderboard_json(engine, b, &all);
            print_json(&serde_json::from_str(&text)?)
        }
        Format::Csv => {
            let all: Vec<usize> = (0..board.len()).collect();
            let (header, rows) = salesorg_engine::leaderboard::leaderboard_table(engine, b, &all);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            csv_out(&header, rows)
        }
        Format::Table => {
            outln!(
                "{} of {} · {period} · as of {} · ranked by {by}, {}",
                if teams { "teams" } else { "reps" },
                engine.scope_name(scope),
                fmt_date(as_of),
                if desc {
                    "highest first"
                } else {
                    "lowest first"
                }
            );
            if board.is_empty() {
                outln!(
                    "no {} has records here in this period",
                    if teams { "team" } else { "rep" }
                );
                return Ok(());
            }
            let mut rows: Vec<Vec<String>> = vec![{
                let mut h = vec![
                    "#".to_owned(),
                    format!("was ({})", b.before),
                    if teams { "team of" } else { "rep" }.to_owned(),
                    if teams { "reports to" } else { "manager" }.to_owned(),
                ];
                h.extend(kpis.iter().map(|k| k.to_string()));
                h
            }];
            let mut parted = false;
            for (i, r) in board.iter().enumerate() {
                let mark = if r.whole {
                    ""
                } else {
                    parted = true;
                    " †"
                };
                let mut row = vec![
                    (i + 1).to_string(),
                    b.rank_before(i)
                        .map_or_else(|| "new".to_owned(), |w| w.to_string()),
                    format!(
                        "{} ({}){mark}",
                        people[r.person as usize].name,
                        people[r.person as usize].id.as_str()
                    ),
                    r.manager
                        .map_or_else(|| "—".to_owned(), |m| people[m as usize].name.clone()),
                ];
                row.extend(kpis.iter().map(|k| {
                    let v = value(r, k);
                    if v.is_empty() { "—".to_owned() } else { v }
                }));
                rows.push(row);
            }
            aligned(&rows, |c| c == 2 || c == 3)?;
            if parted {
                outln!(
                    "† in the scope for part of the period: {} over the whole period",
                    if teams {
                        "their team"
                    } else {
                        "their own book"
                    }
                );
            }
            Ok(())
        }
    }
}

/// `salesorg explain`.
pub fn explanation(
    engine: &salesorg_core::scorecard::Engine,
    ex: &salesorg_engine::scorecard::Explanation,
    filtered: Option<(&salesorg_engine::scorecard::RecordFilter, &[u32])>,
    limit: usize,
    format: Format,
) -> Result<()> {
    // the records listed: those that pass the filter (in date order), else every one
    let total = filtered.map_or(ex.len(), |f| f.1.len());
    let records = || -> Box<dyn Iterator<Item = salesorg_engine::scorecard::ExplainRecord> + '_> {
        match filtered {
            Some((_, order)) => Box::new(order.iter().map(|&i| ex.record(engine, i as usize))),
            None => Box::new(ex.formatted(engine)),
        }
    };
    match format {
        Format::Json | Format::Toml => {
            let recs: Vec<Value> = records()
                .map(|r| {
                    json!({"kind": r.kind, "id": r.id, "owner": r.owner, "date": r.date, "detail": r.detail,
                        "amount": r.amount.map(|a| salesorg_core::kpi::fmt_fixed(a.into(), 4, 2)),
                        "url": r.url})
                })
                .collect();
            let inputs: serde_json::Map<String, Value> = ex
                .inputs
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let value: Value = serde_json::from_str(&ex.value.to_json())?;
            let mut out = json!({
                "kpi": ex.kpi, "scope": ex.scope, "period": ex.period.to_string(),
                "as_of": fmt_date(ex.as_of), "value": value,
                "undefined": ex.value.why().map(salesorg_core::kpi::Why::text),
                "formula": ex.formula,
                "inputs": inputs, "records": recs,
            });
            if let Some(b) = ex.branches() {
                let b = salesorg_engine::scorecard::branches_json(engine, b);
                out["branches"] = serde_json::from_str(&b)?;
            }
            if let Some((f, _)) = filtered {
                out["filter"] = json!({"kind": f.kind(), "q": f.text(), "of": ex.len()});
            }
            print_json(&out)
        }
        Format::Csv => {
            // the records written on every core, each core's run as CSV of its own, then
            // out in order (collected as rows of strings first, a company's quarter of
            // closed deals took 2.1 s and 400 MB more)
            let order: Vec<usize> = match filtered {
                Some((_, order)) => order.iter().map(|&i| i as usize).collect(),
                None => (0..ex.len())
                    .filter(|&k| ex.at_hand(k))
                    .map(|k| ex.nth(engine, k))
                    .collect(),
            };
            let parts = salesorg_engine::scorecard::runs_on_every_core(&order, |run| {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(Vec::new());
                for &i in run {
                    let r = ex.record(engine, i);
                    let amount = r
                        .amount
                        .map(|a| salesorg_core::kpi::fmt_fixed(a.into(), 4, 2))
                        .unwrap_or_default();
                    let url = r.url.unwrap_or_default();
                    let row = [r.kind, &r.id, &r.owner, &r.date, &amount, &r.detail, &url];
                    // (a Vec takes every write)
                    let _ = w.write_record(row);
                }
                w.into_inner().unwrap_or_default()
            });
            let mut out = std::io::stdout().lock();
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["kind", "id", "owner", "date", "amount", "detail", "url"])?;
            w.flush()?;
            drop(w);
            for p in parts {
                std::io::Write::write_all(&mut out, &p)?;
            }
            std::io::Write::flush(&mut out)?;
            Ok(())
        }
        Format::Table => {
            outln!(
                "{} for {} in {} (as of {}) = {}",
                ex.kpi,
                ex.scope,
                ex.period,
                fmt_date(ex.as_of),
                match &ex.value {
                    // (an empty table had printed nothing after the "=")
                    salesorg_core::kpi::Value::Table(t) if t.is_empty() => {
                        "a table with no rows".to_owned()
                    }
                    v => value_with_reason(v),
                }
            );
            outln!("formula: {}", ex.formula);
            // (a KPI whose formula reads none of the totals, headcount say, lists none)
            if !ex.inputs.is_empty() {
                outln!(
                    "inputs:  {}",
                    ex.inputs
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(" · ")
                );
            }
            // a team's or the company's records by the branch they came in through, on
            // each one's day
            if let Some(bs) = ex.branches().filter(|b| !b.is_empty()) {
                if ex.scope.starts_with("unit:") {
                    outln!("by sub-unit (each record's owner's units on its day):");
                } else {
                    outln!("by direct report (on each record's day):");
                }
                for b in bs {
                    let who = match (b.person, b.unit) {
                        (Some(p), _) => {
                            let p = &engine.book.people[p as usize];
                            let own = if b.leader { ", own records" } else { "" };
                            format!("{} ({}{own})", p.name, p.id)
                        }
                        (None, Some(u)) => {
                            let u = &engine.book.units[u as usize];
                            format!("{} ({})", u.name, u.id)
                        }
                        (None, None) if b.leader => "its direct members".to_owned(),
                        (None, None) => "outside the reporting lines".to_owned(),
                    };
                    // its value of the KPI (a table-valued KPI's is left to its own
                    // drill-down), its formula's inputs and its records by kind
                    // (an input that is the KPI itself, as bookings' bookings, is its value)
                    let mut parts = Vec::new();
                    let valued = !matches!(b.value, salesorg_core::kpi::Value::Table(_));
                    if valued {
                        parts.push(format!("{} = {}", ex.kpi, b.value.to_text("—")));
                    }
                    parts.extend(
                        b.inputs
                            .iter()
                            .filter(|(k, _)| !(valued && *k == ex.kpi))
                            .map(|(k, v)| format!("{k} {v}")),
                    );
                    let kinds = salesorg_engine::scorecard::branch_kinds_text(b);
                    if !kinds.is_empty() {
                        parts.push(kinds);
                    }
                    let records = b.records.map_or("—".to_owned(), |n| n.to_string());
                    outln!("  {:<36} {:>7}  {}", who, records, parts.join(" · "));
                }
            }
            match filtered {
                Some(_) => outln!("{total} of {} records (filtered):", ex.len()),
                None => outln!("{total} records:"),
            }
            let n = if limit == 0 { total } else { limit.min(total) };
            for r in records().take(n) {
                outln!(
                    "  {:<10} {:<12} {:<20} {:<14} {:>14}  {}",
                    r.date,
                    r.kind,
                    r.id,
                    r.owner,
                    r.amount
                        .map(|a| salesorg_core::kpi::fmt_fixed(a.into(), 4, 2))
                        .unwrap_or_default(),
                    r.detail
                );
            }
            if n < total {
                outln!(
                    "  … {} more (--limit 0 shows all, --format csv exports them)",
                    total - n
                );
            }
            Ok(())
        }
    }
}

/// `salesorg kpis`.
pub fn kpis(format: Format) -> Result<()> {
    let rows: Vec<Vec<String>> = salesorg_core::kpi::KPI_IDS
        .iter()
        .map(|k| {
            vec![
                k.to_string(),
                salesorg_engine::scorecard::formula(k).to_string(),
            ]
        })
        .collect();
    match format {
        Format::Json | Format::Toml => print_json(&json!(
            rows.iter()
                .map(|r| json!({"id": r[0], "formula": r[1]}))
                .collect::<Vec<_>>()
        )),
        Format::Csv => csv_out(&["id", "formula"], rows),
        Format::Table => {
            for r in rows {
                outln!("{:<30} {}", r[0], r[1]);
            }
            Ok(())
        }
    }
}

/// A KPI's history: JSON as `GET /api/trend` answers, CSV as its table, or a table with the
/// scope and KPI above it.
pub fn trend(
    engine: &salesorg_core::scorecard::Engine,
    t: &salesorg_engine::trend::Trend,
    format: Format,
) -> Result<()> {
    match format {
        Format::Json | Format::Toml => print_json(&serde_json::from_str(
            &salesorg_engine::trend::trend_json(engine, t),
        )?),
        Format::Csv => {
            let (header, rows) = salesorg_engine::trend::trend_table(t);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            csv_out(&header, rows)
        }
        Format::Table => {
            outln!(
                "{} of {} · {} periods",
                t.kpi,
                engine.scope_name(t.scope),
                t.points.len()
            );
            let (header, rows) = salesorg_engine::trend::trend_table(t);
            let mut all = vec![header];
            all.extend(rows.into_iter().map(|mut r| {
                for c in &mut r[2..4] {
                    if c.is_empty() {
                        *c = "—".to_owned();
                    }
                }
                r
            }));
            aligned(&all, |c| !matches!(c, 2 | 3))
        }
    }
}
