//! The demo org generator: a CRO, a VP of Sales with regional Directors of Sales and their
//! Sales Managers, a VP of Inside Sales with Directors of Inside Sales and Team Leads of
//! 5–15 reps, and a VP of Sales Operations with a Director of Sales Operations, analysts
//! and CRM administrators (the structure of seeds 000–003). Three years of history: leads
//! with response times, opportunities with stage history, calls, emails and meetings,
//! quotas, spend, surveys, churn, EUR deals with rates (the EMEA region's, the third region a
//! demo has), and reorganisations (reps moving teams mid-quarter, a director leaving, a new
//! team formed). Deterministic for a seed and an end date. Records stream to a [`Sink`] in chunks, so 10M opportunities fit in memory.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::{Duration, Month, Time, Weekday};

use salesorg_core::date::{Date, Timestamp};
use salesorg_core::ids::*;
use salesorg_core::money::{Currency, Money, Rate};
use salesorg_core::period::{FiscalCalendar, Grain, Period, add_months};
use salesorg_core::records::*;
use salesorg_core::settings::Settings;

use crate::{Progress, Result};

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub people: u32,
    pub opportunities: u64,
    pub seed: u64,
    /// The last day of history (the caller passes today by default).
    pub end: Date,
    /// Activities logged per opportunity on average (besides lead responses).
    pub activities_per_opp: f64,
    /// Prospecting calls an inside-sales rep logs on an average working day, besides the
    /// calls on their deals and leads; a field rep a quarter as many (0: none).
    pub prospecting_calls: f64,
}

impl DemoSpec {
    pub fn new(end: Date) -> DemoSpec {
        DemoSpec {
            people: 200,
            opportunities: 30_000,
            seed: 42,
            end,
            activities_per_opp: 3.0,
            prospecting_calls: 20.0,
        }
    }
}

/// Where generated records go.
pub trait Sink {
    fn settings(&mut self, s: &Settings) -> Result<()>;
    fn org(
        &mut self,
        people: &[Person],
        units: &[Unit],
        lines: &[ReportingLine],
        members: &[Membership],
    ) -> Result<()>;
    fn accounts(&mut self, v: &[Account]) -> Result<()>;
    fn opportunities(&mut self, v: &[Opportunity], history: &[StageChange]) -> Result<()>;
    fn leads(&mut self, v: &[Lead]) -> Result<()>;
    fn activities(&mut self, v: &[Activity]) -> Result<()>;
    fn quotas(&mut self, v: &[Quota]) -> Result<()>;
    fn spend(&mut self, v: &[Spend]) -> Result<()>;
    fn rates(&mut self, v: &[CurrencyRate]) -> Result<()>;
    fn surveys(&mut self, v: &[SurveyResponse]) -> Result<()>;
}

/// Writes straight into a store (call inside [`salesorg_store::Store::atomic`]).
pub struct StoreSink<'a>(pub &'a mut salesorg_store::Store);

impl Sink for StoreSink<'_> {
    fn settings(&mut self, s: &Settings) -> Result<()> {
        Ok(self.0.save_settings(s)?)
    }
    fn org(
        &mut self,
        people: &[Person],
        units: &[Unit],
        lines: &[ReportingLine],
        members: &[Membership],
    ) -> Result<()> {
        self.0.upsert_people(people)?;
        self.0.upsert_units(units)?;
        self.0.replace_lines(lines)?;
        self.0.replace_memberships(members)?;
        Ok(())
    }
    fn accounts(&mut self, v: &[Account]) -> Result<()> {
        self.0.upsert_accounts(v)?;
        Ok(())
    }
    fn opportunities(&mut self, v: &[Opportunity], history: &[StageChange]) -> Result<()> {
        self.0.upsert_opportunities(&mut v.iter())?;
        self.0.upsert_stage_history(&mut history.iter())?;
        Ok(())
    }
    fn leads(&mut self, v: &[Lead]) -> Result<()> {
        self.0.upsert_leads(v)?;
        Ok(())
    }
    fn activities(&mut self, v: &[Activity]) -> Result<()> {
        self.0.upsert_activities(&mut v.iter())?;
        Ok(())
    }
    fn quotas(&mut self, v: &[Quota]) -> Result<()> {
        self.0.upsert_quotas(v)?;
        Ok(())
    }
    fn spend(&mut self, v: &[Spend]) -> Result<()> {
        self.0.upsert_spend(v)?;
        Ok(())
    }
    fn rates(&mut self, v: &[CurrencyRate]) -> Result<()> {
        self.0.upsert_rates(v)?;
        Ok(())
    }
    fn surveys(&mut self, v: &[SurveyResponse]) -> Result<()> {
        self.0.upsert_surveys(v)?;
        Ok(())
    }
}

/// Counts of what was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub people: u64,
    pub units: u64,
    pub accounts: u64,
    pub opportunities: u64,
    pub history: u64,
    pub leads: u64,
    pub activities: u64,
    pub quotas: u64,
    pub reorganisations: u64,
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} people in {} units, {} accounts, {} opportunities ({} stage changes), {} leads, {} activities, {} quotas, {} reorganisation moves",
            self.people,
            self.units,
            self.accounts,
            self.opportunities,
            self.history,
            self.leads,
            self.activities,
            self.quotas,
            self.reorganisations
        )
    }
}

const STAGES: [(&str, u16, ForecastCategory); 5] = [
    ("Prospecting", 1000, ForecastCategory::Pipeline),
    ("Qualification", 2000, ForecastCategory::Pipeline),
    ("Needs Analysis", 4000, ForecastCategory::BestCase),
    ("Proposal", 6000, ForecastCategory::BestCase),
    ("Negotiation", 8000, ForecastCategory::Commit),
];
const LOSS: [&str; 6] = [
    "Price",
    "Competitor",
    "No Decision",
    "Timing",
    "Budget",
    "Product Fit",
];
const INDUSTRIES: [&str; 8] = [
    "Software",
    "Manufacturing",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Energy",
    "Education",
    "Logistics",
];
const SOURCES: [&str; 5] = ["Web", "Outbound", "Partner", "Event", "Referral"];
const FIRST: [&str; 24] = [
    "Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas", "Kara",
    "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rafael", "Sofia", "Tariq", "Uma", "Victor",
    "Wen", "Yara",
];
const LAST: [&str; 24] = [
    "Adler", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quispe", "Rossi",
    "Schmidt", "Tanaka", "Umarov", "Varga", "Weber", "Zhou",
];
const REGIONS: [(&str, bool); 6] = [
    ("North America East", false),
    ("North America West", false),
    ("EMEA", true),
    ("APAC", false),
    ("LATAM", false),
    ("North America Central", false),
];

#[derive(Clone)]
struct Rep {
    id: PersonId,
    hired: Date,
    left: Option<Date>,
    inside: bool,
    eur: bool,
    skill: f64,
    volume: f64,
}

struct Gen {
    rng: ChaCha8Rng,
    /// Draws for field deals that began as leads, apart from `rng`, so that everything
    /// else the demo makes is the same with them as it was without.
    field: ChaCha8Rng,
    /// Draws for how deals' histories move (amounts revised, close dates pushed, slips back
    /// a stage; see [`move_history`]), apart from `rng` for the same reason.
    moves: ChaCha8Rng,
    people: Vec<Person>,
    units: Vec<Unit>,
    lines: Vec<ReportingLine>,
    members: Vec<Membership>,
    reps: Vec<Rep>,
    names_used: u32,
    reorgs: u64,
    /// Each person's place in `people`, and their lines and memberships in the order they
    /// were made (the places in `lines` and `members`): a move or a leave looks at the
    /// person's own few, where a scan of the whole org had made a large demo quadratic
    /// (100,000 people took 77 s, 10,000 half a second).
    index: HashMap<PersonId, usize>,
    lines_of: HashMap<PersonId, Vec<usize>>,
    members_of: HashMap<PersonId, Vec<usize>>,
}

fn pid(s: String) -> PersonId {
    PersonId::parse(&s).unwrap_or_else(|_| pid("unknown".into()))
}
fn uid(s: &str) -> UnitId {
    UnitId::parse(s).unwrap_or_else(|_| uid("unit"))
}
fn rid(s: &str) -> Option<RoleId> {
    RoleId::parse(s).ok()
}

impl Gen {
    fn day(&mut self, from: Date, to: Date) -> Date {
        let span = (to - from).whole_days().max(1);
        from + Duration::days(self.rng.random_range(0..span))
    }
    fn name(&mut self) -> String {
        let n = self.names_used;
        self.names_used += 1;
        let f = FIRST[(n as usize * 7 + self.rng.random_range(0..3)) % FIRST.len()];
        let l = LAST[(n as usize / FIRST.len() + n as usize * 5) % LAST.len()];
        format!("{f} {l}")
    }
    fn person(&mut self, prefix: &str, role: &str, title: &str, hired: Date) -> PersonId {
        let id = pid(format!("{prefix}-{:05}", self.people.len() + 1));
        let name = self.name();
        let email = format!(
            "{}@demo.salesorg.dev",
            name.to_lowercase().replace(' ', ".")
        );
        self.index.insert(id.clone(), self.people.len());
        self.people.push(Person {
            id: id.clone(),
            name,
            email: Some(email),
            title: Some(title.into()),
            role: rid(role),
            hired: Some(hired),
            left: None,
        });
        id
    }
    fn report(&mut self, p: &PersonId, m: &PersonId, from: Date) {
        self.lines_of
            .entry(p.clone())
            .or_default()
            .push(self.lines.len());
        self.lines.push(ReportingLine {
            person: p.clone(),
            manager: m.clone(),
            valid: Validity { from, to: None },
        });
    }
    fn place(&mut self, p: &PersonId, u: &UnitId, from: Date) {
        self.members_of
            .entry(p.clone())
            .or_default()
            .push(self.members.len());
        self.members.push(Membership {
            person: p.clone(),
            unit: u.clone(),
            valid: Validity { from, to: None },
        });
    }
    fn unit(&mut self, id: &str, name: &str, kind: UnitKind, parent: Option<&UnitId>) -> UnitId {
        let u = uid(id);
        self.units.push(Unit {
            id: u.clone(),
            name: name.into(),
            kind,
            parent: parent.cloned(),
        });
        u
    }
    /// Moves `p` to manager `m` (and unit `u`) from `on`, closing the line open on that
    /// day. Does nothing, and says so, when no open-ended line holds on `on` (the person
    /// left, or already moved later).
    fn moveto(&mut self, p: &PersonId, m: &PersonId, u: Option<&UnitId>, on: Date) -> bool {
        let lines = &mut self.lines;
        let Some(l) = self.lines_of.get(p).and_then(|ix| {
            ix.iter()
                .copied()
                .find(|&i| lines[i].valid.to.is_none() && lines[i].valid.from < on)
        }) else {
            return false;
        };
        lines[l].valid.to = Some(on);
        self.report(p, m, on);
        if let Some(u) = u {
            self.close_memberships(p, on);
            self.place(p, u, on);
        }
        self.reorgs += 1;
        true
    }
    /// One sales line under the CRO: VPs by area (at most 8 Directors each), `dirs`
    /// Directors (a region each in field sales, a department in inside sales), and `teams`
    /// teams shared among them, each with its first-line leader.
    #[allow(clippy::too_many_arguments)]
    fn sales_line(
        &mut self,
        inside: bool,
        teams: usize,
        dirs: usize,
        cro: &PersonId,
        company: &UnitId,
        founding: Date,
        leaders: &mut Vec<(PersonId, UnitId, bool, bool)>,
        directors: &mut Vec<(PersonId, UnitId, bool)>,
    ) {
        let (vp_role, vp_title, line_id, line_name) = if inside {
            (
                "vp_inside_sales",
                "VP of Inside Sales",
                "inside-sales",
                "Inside Sales",
            )
        } else {
            ("vp_sales", "VP of Sales", "sales", "Field Sales")
        };
        let vps = dirs.div_ceil(8);
        let mut n = 0usize;
        for (v, dirs_here) in split(dirs, vps).into_iter().enumerate() {
            let (uid_, uname) = if vps == 1 {
                (line_id.to_owned(), line_name.to_owned())
            } else {
                (
                    format!("{line_id}-{}", v + 1),
                    format!("{line_name}, Area {}", v + 1),
                )
            };
            let vu = self.unit(&uid_, &uname, UnitKind::Department, Some(company));
            let vp = self.person("P", vp_role, vp_title, founding);
            self.report(&vp, cro, founding);
            self.place(&vp, &vu, founding);
            for _ in 0..dirs_here {
                let (du_id, du_name, kind, eur, role, title) = if inside {
                    let name = format!("Inside Sales {}", n + 1);
                    (
                        format!("inside-{}", n + 1),
                        name,
                        UnitKind::Department,
                        false,
                        "director_inside_sales",
                        "Director of Inside Sales".to_owned(),
                    )
                } else {
                    let (base, eur) = REGIONS[n % REGIONS.len()];
                    let rname = if n < REGIONS.len() {
                        base.to_owned()
                    } else {
                        format!("{base} {}", n / REGIONS.len() + 1)
                    };
                    let title = format!("Director of Sales, {rname}");
                    (
                        format!("region-{}", n + 1),
                        rname,
                        UnitKind::Region,
                        eur,
                        "director_sales",
                        title,
                    )
                };
                let du = self.unit(&du_id, &du_name, kind, Some(&vu));
                let d = self.person("P", role, &title, founding);
                self.report(&d, &vp, founding);
                self.place(&d, &du, founding);
                directors.push((d.clone(), du.clone(), inside));
                let here = teams / dirs + usize::from(n < teams % dirs);
                n += 1;
                let (lead_role, lead_title) = if inside {
                    ("inside_sales_team_lead", "Inside Sales Team Lead")
                } else {
                    ("sales_manager", "Sales Manager")
                };
                for t in 0..here {
                    let tu = self.unit(
                        &format!("{du_id}-team-{}", t + 1),
                        &format!("{du_name} Team {}", t + 1),
                        UnitKind::Team,
                        Some(&du),
                    );
                    let m = self.person("P", lead_role, lead_title, founding);
                    self.report(&m, &d, founding);
                    self.place(&m, &tu, founding);
                    leaders.push((m, tu, inside, eur));
                }
            }
        }
    }

    fn leave(&mut self, p: &PersonId, on: Date) {
        if let Some(&i) = self.index.get(p) {
            self.people[i].left = Some(on);
        }
        for &i in self.lines_of.get(p).into_iter().flatten() {
            let l = &mut self.lines[i];
            if l.valid.to.is_none() {
                l.valid.to = Some(on);
            }
        }
        self.close_memberships(p, on);
    }
    /// Ends `p`'s open memberships on `on`.
    fn close_memberships(&mut self, p: &PersonId, on: Date) {
        for &i in self.members_of.get(p).into_iter().flatten() {
            let x = &mut self.members[i];
            if x.valid.to.is_none() {
                x.valid.to = Some(on);
            }
        }
    }
    /// `p`'s last line (`open`: the last of those still open) and last membership.
    fn last_line(&self, p: &PersonId, open: bool) -> Option<&ReportingLine> {
        let ix = self.lines_of.get(p)?;
        ix.iter()
            .rev()
            .map(|&i| &self.lines[i])
            .find(|l| !open || l.valid.to.is_none())
    }
    fn last_membership(&self, p: &PersonId) -> Option<&Membership> {
        let &i = self.members_of.get(p)?.last()?;
        Some(&self.members[i])
    }
}

/// `n` split into `k` near-equal parts (the first ones one larger).
fn split(n: usize, k: usize) -> Vec<usize> {
    let k = k.max(1);
    (0..k).map(|i| n / k + usize::from(i < n % k)).collect()
}

/// A converted lead behind deal `opp` and the rep's first call on it, drawn from `rng`:
/// `ids` (the lead's, the call's); `draw` = (the most days before the deal's creation the
/// lead came in, the median minutes to the call for an average rep, the fewest and most).
#[allow(clippy::too_many_arguments)]
fn lead_and_first_call(
    rng: &mut ChaCha8Rng,
    rep: &Rep,
    opp: &OppId,
    source: &str,
    created: Date,
    from: Date,
    ids: (String, String),
    draw: (i64, f64, f64, f64),
) -> Result<(Lead, Activity)> {
    let (days, median, lo, hi) = draw;
    let lid = LeadId::parse(&ids.0)?;
    let lead_day = (created - Duration::days(rng.random_range(0..days))).max(from);
    let lts = at_work(rng, lead_day);
    let lead = Lead {
        id: lid.clone(),
        owner: rep.id.clone(),
        source: Some(source.into()),
        status: Some("Converted".into()),
        created: lts,
        converted_at: Some(created),
        converted_opp: Some(opp.clone()),
        converted_account: None,
    };
    let mins = lognormal(rng, median / rep.skill.max(0.1) * 0.3, 0.9).clamp(lo, hi) as i64;
    let call = Activity {
        id: ActivityId::parse(&ids.1)?,
        kind: ActivityKind::Call,
        at: lts.plus_secs(mins * 60),
        owner: rep.id.clone(),
        lead: Some(lid),
        opp: None,
        account: None,
        subject: Some("First call".into()),
    };
    Ok((lead, call))
}

/// Working-hours timestamp on `d` (9:00–18:00 UTC).
fn at_work(rng: &mut ChaCha8Rng, d: Date) -> Timestamp {
    let secs = rng.random_range(9 * 3600..18 * 3600);
    Timestamp::from_date_time(d, Time::MIDNIGHT).plus_secs(secs)
}

/// A deal as drawn, for [`move_history`].
struct Drawn {
    n: u64,
    created: Date,
    close: Date,
    amount: Money,
    amount_major: f64,
    /// The last day a row can fall on: the demo's end, or an open deal's last modification.
    limit: Date,
}

/// A row [`move_history`] adds to a deal's history.
enum Extra {
    /// A row in the stage of the row before (Salesforce writes one for each change of
    /// amount or close date).
    Stay,
    /// A row entering the stage of this index in `STAGES`.
    Enter(usize),
}

/// Makes a deal's history move as a real CRM's does, drawing from `rng` alone: three in ten
/// deals had their amount revised (at a stage change, or on a day of its own), about one in
/// three had the close date pushed a little after it first came due (so a period's pipeline
/// holds deals that were due in it and had not closed yet, and an open deal not touched
/// since its first close date can stand overdue), and one in twenty slipped back a
/// stage for a while and moved on again. A deal's rows of one day keep their stages' order.
/// The rows are this deal's, from `first` to the end of `rows`, in stage order; the closing
/// row, if any, last. Amounts and close dates before a revision or a push are the earlier
/// ones; the deal's current state is its last row's.
fn move_history(
    rng: &mut ChaCha8Rng,
    rows: &mut Vec<StageChange>,
    first: usize,
    deal: &Drawn,
) -> Result<()> {
    let mine = &mut rows[first..];
    for i in 1..mine.len() {
        if mine[i].at <= mine[i - 1].at {
            mine[i].at = mine[i - 1].at.plus_secs(60);
        }
    }
    let mut days: Vec<Date> = mine.iter().map(|r| r.at.date_utc()).collect();
    let span = (deal.close - deal.created).whole_days();
    let free = |d: Date, days: &[Date]| d > deal.created && d <= deal.limit && !days.contains(&d);
    let mut extra: Vec<(Timestamp, Extra)> = Vec::new();
    // the close date first set, and when it was pushed to the last (an open deal not yet
    // pushed by its last modification stands at the first, overdue once that day is past)
    let (mut close0, mut push_at) = (deal.close, Timestamp::from_unix(i64::MIN));
    if rng.random_bool(0.35) && span >= 4 {
        let c0 = deal.created
            + Duration::days(((span as f64 * rng.random_range(0.5..0.9)) as i64).max(1));
        let d = (c0 + Duration::days(rng.random_range(0..14))).min(deal.close - Duration::days(1));
        if d > deal.limit {
            (close0, push_at) = (c0, Timestamp::from_unix(i64::MAX));
        } else if free(d, &days) {
            let at = at_work(rng, d);
            days.push(d);
            extra.push((at, Extra::Stay));
            (close0, push_at) = (c0, at);
        }
    }
    // the amount first set, and when it was revised
    let (mut amount0, mut revised_at) = (deal.amount, None);
    if rng.random_bool(0.3) && span >= 2 {
        let initial = money(deal.amount_major * rng.random_range(0.6..1.4));
        if mine.len() >= 2 && rng.random_bool(0.5) {
            let j = rng.random_range(1..mine.len());
            (amount0, revised_at) = (initial, Some(mine[j].at));
        } else {
            let d = deal.created + Duration::days(rng.random_range(1..span));
            if free(d, &days) {
                let at = at_work(rng, d);
                days.push(d);
                extra.push((at, Extra::Stay));
                (amount0, revised_at) = (initial, Some(at));
            }
        }
    }
    // a slip back from the stage of row `i` to the one before, and on again
    let stage_rows = mine
        .iter()
        .take_while(|r| STAGES.iter().any(|s| s.0 == r.stage.as_str()))
        .count();
    if rng.random_bool(0.05) && stage_rows >= 3 {
        let i = rng.random_range(1..stage_rows);
        if i + 1 < mine.len() {
            let (a, b) = (days[i], days[i + 1]);
            let gap = (b - a).whole_days();
            if gap >= 3 {
                let back = a + Duration::days(gap / 3);
                let again = a + Duration::days(2 * gap / 3);
                if free(back, &days) {
                    extra.push((at_work(rng, back), Extra::Enter(i - 1)));
                    if free(again, &days) {
                        extra.push((at_work(rng, again), Extra::Enter(i)));
                    }
                }
            }
        }
    }
    let opp = mine[0].opp.clone();
    let mut merged: Vec<StageChange> = Vec::with_capacity(mine.len() + extra.len());
    let mut old = rows.drain(first..).peekable();
    extra.sort_by_key(|e| e.0);
    let mut extra = extra.into_iter().enumerate().peekable();
    loop {
        let take_extra = match (old.peek(), extra.peek()) {
            (None, None) => break,
            (Some(o), Some((_, e))) => e.0 < o.at,
            (None, Some(_)) => true,
            (Some(_), None) => false,
        };
        if !take_extra {
            merged.extend(old.next());
            continue;
        }
        let Some((j, (at, kind))) = extra.next() else {
            break;
        };
        let (stage, probability, forecast_category) = match kind {
            Extra::Enter(k) => (
                Stage::parse(STAGES[k].0)?,
                Some(Probability::from_bp(STAGES[k].1)?),
                Some(STAGES[k].2),
            ),
            Extra::Stay => match merged.last() {
                Some(p) => (p.stage.clone(), p.probability, p.forecast_category),
                None => continue,
            },
        };
        merged.push(StageChange {
            id: format!("H-{:08}-m{j}", deal.n),
            opp: opp.clone(),
            at,
            stage,
            amount: None,
            close_date: None,
            probability,
            forecast_category,
        });
    }
    drop(old);
    for r in &mut merged {
        r.amount = Some(if revised_at.is_some_and(|t| r.at < t) {
            amount0
        } else {
            deal.amount
        });
        r.close_date = Some(if r.at < push_at { close0 } else { deal.close });
    }
    rows.extend(merged);
    Ok(())
}

/// Seasonality weight of a month: Q4 busy, August quiet.
fn season(d: Date) -> f64 {
    match d.month() {
        Month::December => 1.45,
        Month::November => 1.2,
        Month::September | Month::June | Month::March => 1.15,
        Month::August => 0.7,
        Month::July | Month::January => 0.85,
        _ => 1.0,
    }
}

fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    // Box-Muller
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

fn money(major: f64) -> Money {
    Money::from_units(((major.max(1.0)).round() as i64) * salesorg_core::money::SCALE)
}

/// The years the demo's end may fall in.
pub const DEMO_END_YEARS: std::ops::RangeInclusive<i32> = 1900..=9000;

/// Refuses an end outside [`DEMO_END_YEARS`]: the history is the three years before it,
/// and hires, closes and rates fall up to a few years after it (an end near the calendar's
/// limits had panicked, or never ended).
pub fn check_end(end: Date) -> Result<()> {
    if DEMO_END_YEARS.contains(&end.year()) {
        return Ok(());
    }
    Err(salesorg_core::CoreError::Rule(format!(
        "the demo's end {} is not in the years {} to {}: its history is the three years \
         before the end",
        salesorg_core::date::fmt_date(end),
        DEMO_END_YEARS.start(),
        DEMO_END_YEARS.end()
    ))
    .into())
}

/// Generates the demo org into `sink`.
pub fn generate(
    spec: &DemoSpec,
    sink: &mut dyn Sink,
    progress: &dyn Progress,
) -> Result<DemoSummary> {
    let end = spec.end;
    check_end(end)?;
    let start = add_months(
        Period::containing(&FiscalCalendar::default(), Grain::Month, end).start,
        -35,
    );
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        field: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x9E37_79B9_7F4A_7C15),
        moves: ChaCha8Rng::seed_from_u64(spec.seed ^ 0xD1B5_4A32_D192_ED03),
        people: Vec::new(),
        units: Vec::new(),
        lines: Vec::new(),
        members: Vec::new(),
        reps: Vec::new(),
        names_used: 0,
        reorgs: 0,
        index: HashMap::new(),
        lines_of: HashMap::new(),
        members_of: HashMap::new(),
    };
    let mut settings = Settings::default();
    let mut hol = Vec::new();
    for y in start.year()..=end.year() {
        for (m, d) in [(1u8, 1u8), (7, 4), (12, 25), (12, 26)] {
            if let Ok(dt) =
                Date::from_calendar_date(y, Month::try_from(m).unwrap_or(Month::January), d)
            {
                hol.push(salesorg_core::date::fmt_date(dt));
            }
        }
    }
    settings.set("holidays", &hol.join(","))?;
    settings.set("gross_margin", "0.72")?;
    // (quarterly quotas, split evenly over their months: a month has its share)
    settings.set("quota_prorating", "even")?;
    sink.settings(&settings)?;

    // ------------------------------------------------------------------ the org
    let founding = add_months(start, -12);
    let n = spec.people.max(40) as f64;
    let company = g.unit("company", "Demo Company", UnitKind::Company, None);
    let cro = g.person("P", "cro", "Chief Revenue Officer", founding);
    g.place(&cro, &company, founding);
    // The shape scales with the org so that spans stay within the catalog's ranges: a VP
    // leads up to 8 Directors, a Director of Sales up to 10 Sales Managers, a Director of
    // Inside Sales about 12 Team Leads; larger orgs get more VPs (by area) and Directors.
    let ops_n = ((n * 0.04).round() as usize).clamp(4, 40);
    let reps_total = (n - 8.0 - ops_n as f64) * 0.86;
    let teams_total = (reps_total / 9.0).round().max(4.0) as usize;
    let field_teams = teams_total / 2;
    let inside_teams = teams_total - field_teams;
    let field_directors = field_teams.div_ceil(10).max(1);
    let inside_directors = ((inside_teams as f64 / 12.0).round() as usize).max(1);
    let mut leaders: Vec<(PersonId, UnitId, bool, bool)> = Vec::new(); // (lead, unit, inside, eur)
    let mut directors: Vec<(PersonId, UnitId, bool)> = Vec::new();

    // field sales: VPs of Sales by area, regional Directors, Sales Managers;
    // inside sales: VPs of Inside Sales, Directors of Inside Sales, Team Leads
    for inside in [false, true] {
        let (teams, dirs) = if inside {
            (inside_teams, inside_directors)
        } else {
            (field_teams, field_directors)
        };
        g.sales_line(
            inside,
            teams,
            dirs,
            &cro,
            &company,
            founding,
            &mut leaders,
            &mut directors,
        );
    }

    // sales operations: the VP with enablement and analytics, Directors of Sales Operations
    // with analysts, CRM administrators and support specialists (seed 002)
    let vpo = g.unit(
        "sales-ops",
        "Sales Operations",
        UnitKind::Department,
        Some(&company),
    );
    let vp_ops = g.person("P", "vp_sales_ops", "VP of Sales Operations", founding);
    g.report(&vp_ops, &cro, founding);
    g.place(&vp_ops, &vpo, founding);
    let direct = (ops_n / 4).clamp(2, 4);
    for i in 0..direct {
        let (role, title) = if i % 2 == 0 {
            ("sales_enablement_specialist", "Sales Enablement Specialist")
        } else {
            ("sales_analyst", "Sales Analyst")
        };
        let p = g.person("P", role, title, founding);
        g.report(&p, &vp_ops, founding);
        g.place(&p, &vpo, founding);
    }
    let staff = ops_n - direct;
    for team in split(staff, staff.div_ceil(10).max(1)) {
        let dso = g.person(
            "P",
            "director_sales_ops",
            "Director of Sales Operations",
            founding,
        );
        g.report(&dso, &vp_ops, founding);
        g.place(&dso, &vpo, founding);
        for i in 0..team {
            let (role, title) = match i % 3 {
                0 => ("sales_ops_analyst", "Sales Operations Analyst"),
                1 => ("crm_admin", "CRM Administrator"),
                _ => ("sales_support_specialist", "Sales Support Specialist"),
            };
            let p = g.person("P", role, title, founding);
            g.report(&p, &dso, founding);
            g.place(&p, &vpo, founding);
        }
    }
    let per_team = (reps_total / leaders.len() as f64).round().clamp(5.0, 15.0) as usize;
    let leaders_snapshot = leaders.clone();
    for (lead, tu, inside, eur) in &leaders_snapshot {
        for _ in 0..per_team {
            let hired = if g.rng.random_bool(0.7) {
                founding
            } else {
                g.day(founding, add_months(end, -6))
            };
            let title = if *inside {
                "Inside Sales Representative"
            } else {
                "Account Executive"
            };
            let p = g.person("P", "sales_rep", title, hired);
            g.report(&p, lead, hired);
            g.place(&p, tu, hired);
            let skill = g.rng.random_range(0.18..0.48);
            let volume = lognormal(&mut g.rng, 1.0, 0.35);
            g.reps.push(Rep {
                id: p,
                hired,
                left: None,
                inside: *inside,
                eur: *eur,
                skill,
                volume,
            });
        }
    }
    // attrition: ~12 % of reps leave during the three years; a replacement is hired
    let nreps = g.reps.len();
    for i in 0..nreps {
        if g.rng.random_bool(0.12) {
            let from = g.reps[i].hired.max(add_months(start, 2));
            if from >= add_months(end, -1) {
                continue;
            }
            // (after the day they were hired: a rep who left on it had a reporting line
            // that ended as it began, which the store refuses)
            let on = g
                .day(from, add_months(end, -1))
                .max(g.reps[i].hired + Duration::days(1));
            let rep = g.reps[i].id.clone();
            g.leave(&rep, on);
            g.reps[i].left = Some(on);
            let lead = g.last_line(&rep, false).map(|l| l.manager.clone());
            let unit = g.last_membership(&rep).map(|m| m.unit.clone());
            if let (Some(lead), Some(unit)) = (lead, unit) {
                let hired = on + Duration::days(g.rng.random_range(14..60));
                if hired < end {
                    let inside = g.reps[i].inside;
                    let p = g.person(
                        "P",
                        "sales_rep",
                        if inside {
                            "Inside Sales Representative"
                        } else {
                            "Account Executive"
                        },
                        hired,
                    );
                    g.report(&p, &lead, hired);
                    g.place(&p, &unit, hired);
                    let skill = g.rng.random_range(0.15..0.40);
                    let eur = g.reps[i].eur;
                    g.reps.push(Rep {
                        id: p,
                        hired,
                        left: None,
                        inside,
                        eur,
                        skill,
                        volume: lognormal(&mut g.rng, 0.9, 0.35),
                    });
                }
            }
        }
    }
    // reorganisation 1: reps move teams mid-quarter (within their function)
    let movers = (g.reps.len() / 20).max(2);
    for _ in 0..movers {
        let i = g.rng.random_range(0..g.reps.len());
        let rep = g.reps[i].clone();
        let same: Vec<&(PersonId, UnitId, bool, bool)> = leaders
            .iter()
            .filter(|l| l.2 == rep.inside && l.3 == rep.eur)
            .collect();
        let (Some(cur), true) = (
            g.last_line(&rep.id, true).map(|l| l.manager.clone()),
            same.len() > 1,
        ) else {
            continue;
        };
        let target = same[g.rng.random_range(0..same.len())].clone();
        if target.0 == cur || rep.left.is_some() {
            continue;
        }
        let q = Period::containing(
            &FiscalCalendar::default(),
            Grain::Quarter,
            g.day(add_months(start, 3), add_months(end, -2)),
        );
        let on = q.start + Duration::days(45); // mid-quarter
        g.moveto(&rep.id, &target.0, Some(&target.1), on);
    }
    // reorganisation 2: a Director of Sales leaves; a successor takes the region
    if let Some((d, ru, _)) = directors.iter().find(|d| !d.2).cloned() {
        let on = add_months(start, 17) + Duration::days(9);
        let boss = g
            .lines
            .iter()
            .find(|l| l.person == d && l.valid.contains(on))
            .map(|l| l.manager.clone())
            .unwrap_or_else(|| cro.clone());
        g.leave(&d, on);
        let succ = g.person("P", "director_sales", "Director of Sales", on);
        g.report(&succ, &boss, on);
        g.place(&succ, &ru, on);
        let reports: Vec<PersonId> = g
            .lines
            .iter()
            .filter(|l| l.manager == d && l.valid.to.is_none() && l.valid.from < on)
            .map(|l| l.person.clone())
            .collect();
        for r in reports {
            g.moveto(&r, &succ, None, on);
        }
        directors.push((succ, ru, false));
    }
    // reorganisation 3: a new inside-sales team is formed with reps from other teams + hires
    if let Some((d, du, _)) = directors.iter().find(|d| d.2).cloned() {
        let on = add_months(start, 24) + Duration::days(14);
        let tu = g.unit(
            "inside-new-team",
            "Inside Sales Expansion Team",
            UnitKind::Team,
            Some(&du),
        );
        let lead = g.person("P", "inside_sales_team_lead", "Inside Sales Team Lead", on);
        g.report(&lead, &d, on);
        g.place(&lead, &tu, on);
        let candidates: Vec<usize> = (0..g.reps.len())
            .filter(|i| g.reps[*i].inside && g.reps[*i].left.is_none() && g.reps[*i].hired < on)
            .collect();
        let mut moved = 0;
        for i in candidates {
            let id = g.reps[i].id.clone();
            if moved < 3 && g.moveto(&id, &lead, Some(&tu), on) {
                moved += 1;
            }
        }
        for _ in 0..3 {
            let p = g.person("P", "sales_rep", "Inside Sales Representative", on);
            g.report(&p, &lead, on);
            g.place(&p, &tu, on);
            g.reps.push(Rep {
                id: p,
                hired: on,
                left: None,
                inside: true,
                eur: false,
                skill: 0.25,
                volume: 0.8,
            });
        }
        leaders.push((lead, tu, true, false));
    }
    // lines of people who left end on their leave date (done by leave); write the org
    sink.org(&g.people, &g.units, &g.lines, &g.members)?;
    let mut sum = DemoSummary {
        people: g.people.len() as u64,
        units: g.units.len() as u64,
        reorganisations: g.reorgs,
        ..Default::default()
    };

    // ------------------------------------------------------------------ rates (EUR -> USD)
    let mut rates = Vec::new();
    let mut m = start;
    let mut rate = 1.08f64;
    while m <= end {
        rate = (rate + g.rng.random_range(-0.02..0.02)).clamp(0.95, 1.25);
        rates.push(CurrencyRate {
            date: m,
            from: Currency::parse("EUR")?,
            to: Currency::USD,
            // four decimals, as a bank's daily fixing
            rate: Rate::parse(&format!("{rate:.4}"))?,
        });
        m = add_months(m, 1);
    }
    sink.rates(&rates)?;

    // ------------------------------------------------------------------ accounts
    let n_accounts = ((spec.opportunities / 4).max(50)) as usize;
    let mut accounts = Vec::with_capacity(n_accounts.min(100_000));
    let mut account_owner: Vec<usize> = Vec::with_capacity(n_accounts);
    let mut first_won: Vec<Option<Date>> = vec![None; n_accounts];
    let mut accounts_of: Vec<Vec<usize>> = vec![Vec::new(); g.reps.len()];
    for a in 0..n_accounts {
        let owner = g.rng.random_range(0..g.reps.len());
        account_owner.push(owner);
        accounts_of[owner].push(a);
    }
    // ------------------------------------------------------------------ opportunities
    let weights: Vec<f64> = g
        .reps
        .iter()
        .map(|r| {
            let from = r.hired.max(start);
            let to = r.left.unwrap_or(end).min(end);
            let days = (to - from).whole_days().max(0) as f64;
            days * r.volume * if r.inside { 1.6 } else { 1.0 }
        })
        .collect();
    let total_w: f64 = weights.iter().sum::<f64>().max(1.0);
    let mut opps: Vec<Opportunity> = Vec::with_capacity(20_000);
    let mut hist: Vec<StageChange> = Vec::with_capacity(80_000);
    let mut leads: Vec<Lead> = Vec::with_capacity(20_000);
    let mut acts: Vec<Activity> = Vec::with_capacity(80_000);
    let mut opp_n: u64 = 0;
    let mut lead_n: u64 = 0;
    let mut act_n: u64 = 0;
    // (numbered apart, for the same reason as `Gen::field`)
    let mut field_lead_n: u64 = 0;
    let mut field_act_n: u64 = 0;
    let eur = Currency::parse("EUR")?;
    // each rep's deals: the whole-number part of the running share, so that the counts add
    // up to exactly `spec.opportunities` (a running remainder in floating point had lost the
    // last deal: 12,345 asked for gave 12,344); the last rep who works gets the rest
    let last_working = weights.iter().rposition(|&w| w > 0.0);
    let (mut cum_w, mut given) = (0.0, 0u64);
    let reps = g.reps.clone();
    // the calls made by inside and by field reps, for the targets on calls per rep-day
    // (counted as written: no draw depends on them)
    let inside_of: HashMap<PersonId, bool> =
        reps.iter().map(|r| (r.id.clone(), r.inside)).collect();
    let mut calls = [0u64; 2];
    let mut count_calls = |acts: &[Activity]| {
        for a in acts.iter().filter(|a| a.kind == ActivityKind::Call) {
            if let Some(&inside) = inside_of.get(&a.owner) {
                calls[usize::from(inside)] += 1;
            }
        }
    };
    for (ri, rep) in reps.iter().enumerate() {
        cum_w += weights[ri];
        let upto = if Some(ri) == last_working {
            spec.opportunities
        } else {
            ((spec.opportunities as f64 * cum_w / total_w).floor() as u64).min(spec.opportunities)
        };
        let count = upto.saturating_sub(given);
        given = given.max(upto);
        let from = rep.hired.max(start);
        let to = rep.left.unwrap_or(end).min(end);
        if to <= from {
            continue;
        }
        let my_accounts: &[usize] = &accounts_of[ri];
        for _ in 0..count {
            // created: seasonal rejection sampling
            let created = loop {
                let d = g.day(from, to);
                if g.rng.random_range(0.0..1.5) < season(d) {
                    break d;
                }
            };
            let cycle = if rep.inside {
                lognormal(&mut g.rng, 24.0, 0.5)
            } else {
                lognormal(&mut g.rng, 65.0, 0.5)
            };
            let cycle = cycle.clamp(1.0, 300.0) as i64;
            let mut close = created + Duration::days(cycle);
            let won = g.rng.random_bool(rep.skill.clamp(0.05, 0.9));
            let reached = if won {
                STAGES.len()
            } else {
                g.rng.random_range(1..=STAGES.len())
            };
            let amount_major = if rep.inside {
                lognormal(&mut g.rng, 9_000.0, 0.6)
            } else {
                lognormal(&mut g.rng, 42_000.0, 0.7)
            };
            let amount = money(amount_major);
            let mut loss_reason = None;
            let mut status = if won { OppStatus::Won } else { OppStatus::Lost };
            if let Some(left) = rep.left
                && close >= left
            {
                close = left;
                status = OppStatus::Lost;
                loss_reason = Some("Owner left".to_owned());
            }
            if status == OppStatus::Lost && loss_reason.is_none() {
                loss_reason = Some(LOSS[g.rng.random_range(0..LOSS.len())].to_owned());
            }
            opp_n += 1;
            let id = OppId::parse(&format!("OPP-{opp_n:08}"))?;
            // the stage reached by the end date, for open deals
            let is_open = close > end;
            let days_total = (close - created).whole_days().max(1);
            let stage_days: Vec<i64> = (0..reached)
                .map(|k| days_total * k as i64 / reached as i64)
                .collect();
            let first_row = hist.len();
            let mut current = 0usize;
            for (k, sd) in stage_days.iter().enumerate() {
                let at_day = created + Duration::days(*sd);
                if at_day > end {
                    break;
                }
                current = k;
                hist.push(StageChange {
                    id: format!("H-{opp_n:08}-{k}"),
                    opp: id.clone(),
                    at: at_work(&mut g.rng, at_day),
                    stage: Stage::parse(STAGES[k].0)?,
                    amount: Some(amount),
                    close_date: Some(close),
                    probability: Some(Probability::from_bp(STAGES[k].1)?),
                    forecast_category: Some(STAGES[k].2),
                });
            }
            let (stage, prob, fc) = if is_open {
                status = OppStatus::Open;
                loss_reason = None;
                (STAGES[current].0, STAGES[current].1, STAGES[current].2)
            } else if status == OppStatus::Won {
                ("Closed Won", 10_000, ForecastCategory::Closed)
            } else {
                ("Closed Lost", 0, ForecastCategory::Omitted)
            };
            if !is_open {
                hist.push(StageChange {
                    id: format!("H-{opp_n:08}-c"),
                    opp: id.clone(),
                    at: at_work(&mut g.rng, close),
                    stage: Stage::parse(stage)?,
                    amount: Some(amount),
                    close_date: Some(close),
                    probability: Some(Probability::from_bp(prob)?),
                    forecast_category: Some(fc),
                });
            }
            let account = if my_accounts.is_empty() {
                g.rng.random_range(0..n_accounts)
            } else {
                my_accounts[g.rng.random_range(0..my_accounts.len())]
            };
            if status == OppStatus::Won && first_won[account].is_none_or(|d| close < d) {
                first_won[account] = Some(close);
            }
            let last_mod = if is_open {
                // some open deals go stale
                let back = if g.rng.random_bool(0.25) {
                    g.rng.random_range(31..120)
                } else {
                    g.rng.random_range(0..25)
                };
                at_work(&mut g.rng, (end - Duration::days(back)).max(created))
            } else {
                at_work(&mut g.rng, close)
            };
            move_history(
                &mut g.moves,
                &mut hist,
                first_row,
                &Drawn {
                    n: opp_n,
                    created,
                    close,
                    amount,
                    amount_major,
                    limit: if is_open {
                        last_mod.date_utc().min(end)
                    } else {
                        end
                    },
                },
            )?;
            // an open deal stands as its last row left it
            let (stage, prob, fc, amount, close) = match hist.last() {
                Some(r) if is_open => {
                    let k = STAGES
                        .iter()
                        .position(|s| s.0 == r.stage.as_str())
                        .unwrap_or(current);
                    let (amount, close) =
                        (r.amount.unwrap_or(amount), r.close_date.unwrap_or(close));
                    (STAGES[k].0, STAGES[k].1, STAGES[k].2, amount, close)
                }
                _ => (stage, prob, fc, amount, close),
            };
            // (a closed deal keeps the next step it had, as Salesforce keeps the field: a
            // past quarter's data completeness had read 0.3 % when only the deals open
            // today had one; four in five, by the deal's number, so that the random
            // stream, and every record after, is as before)
            let next_step = if is_open {
                g.rng.random_bool(0.8)
            } else {
                !opp_n.is_multiple_of(5)
            }
            .then(|| "Follow-up call".to_owned());
            let source = SOURCES[g.rng.random_range(0..SOURCES.len())];
            opps.push(Opportunity {
                id: id.clone(),
                name: Some(format!("Deal {opp_n}")),
                account: AccountId::parse(&format!("ACC-{:07}", account + 1)).ok(),
                owner: rep.id.clone(),
                amount: if is_open && g.rng.random_bool(0.04) {
                    None
                } else {
                    Some(amount)
                },
                currency: if rep.eur { eur } else { Currency::USD },
                stage: Stage::parse(stage)?,
                status,
                probability: Some(Probability::from_bp(prob)?),
                forecast_category: Some(fc),
                kind: Some(
                    if g.rng.random_bool(0.7) {
                        "New Business"
                    } else {
                        "Expansion"
                    }
                    .into(),
                ),
                source: Some(source.into()),
                created: Some(created),
                close_date: Some(close),
                loss_reason,
                next_step,
                last_modified: Some(last_mod),
            });
            // inside-sales deals start as leads with a response; three in ten field deals
            // too (an enquiry, a contact from an event), answered in hours, not minutes
            let first = if rep.inside && g.rng.random_bool(0.6) {
                lead_n += 1;
                act_n += 1;
                let ids = (format!("LEAD-{lead_n:08}"), format!("ACT-{act_n:09}"));
                Some(lead_and_first_call(
                    &mut g.rng,
                    rep,
                    &id,
                    source,
                    created,
                    from,
                    ids,
                    (5, 35.0, 1.0, 4000.0),
                )?)
            } else if !rep.inside && g.field.random_bool(0.3) {
                field_lead_n += 1;
                field_act_n += 1;
                let ids = (
                    format!("LEAD-F{field_lead_n:07}"),
                    format!("ACT-F{field_act_n:08}"),
                );
                Some(lead_and_first_call(
                    &mut g.field,
                    rep,
                    &id,
                    source,
                    created,
                    from,
                    ids,
                    (10, 240.0, 5.0, 6000.0),
                )?)
            } else {
                None
            };
            if let Some((lead, call)) = first {
                leads.push(lead);
                acts.push(call);
            }
            // activities on the deal
            let k = lognormal(&mut g.rng, spec.activities_per_opp, 0.5).round() as u32;
            for j in 0..k.min(40) {
                let d = created
                    + Duration::days((days_total * j as i64 / (k.max(1) as i64)).min(days_total));
                if d > end {
                    break;
                }
                // (a weekend's to the Friday before, or the Monday after; a Sunday that
                // is the last day of history to the Friday: the Monday after it had put
                // the call after the demo's end, counted in today's numbers)
                let d = match d.weekday() {
                    Weekday::Saturday => d - Duration::days(1),
                    Weekday::Sunday if d >= end => d - Duration::days(2),
                    Weekday::Sunday => d + Duration::days(1),
                    _ => d,
                };
                act_n += 1;
                let kind = match g.rng.random_range(0..10) {
                    0..=4 => ActivityKind::Call,
                    5..=7 => ActivityKind::Email,
                    8 => ActivityKind::Meeting,
                    _ => ActivityKind::Task,
                };
                acts.push(Activity {
                    id: ActivityId::parse(&format!("ACT-{act_n:09}"))?,
                    kind,
                    at: at_work(&mut g.rng, d),
                    owner: rep.id.clone(),
                    lead: None,
                    opp: Some(id.clone()),
                    account: None,
                    subject: None,
                });
            }
            if opps.len() >= 20_000 {
                sink.opportunities(&opps, &hist)?;
                sink.leads(&leads)?;
                sink.activities(&acts)?;
                count_calls(&acts);
                sum.opportunities += opps.len() as u64;
                sum.history += hist.len() as u64;
                sum.leads += leads.len() as u64;
                sum.activities += acts.len() as u64;
                opps.clear();
                hist.clear();
                leads.clear();
                acts.clear();
                progress.update("opportunities", sum.opportunities, spec.opportunities);
            }
        }
        // leads that never became deals: some never answered
        let extra = (count / 3).max(1);
        for _ in 0..extra {
            if !rep.inside && g.rng.random_bool(0.5) {
                continue;
            }
            lead_n += 1;
            let lid = LeadId::parse(&format!("LEAD-{lead_n:08}"))?;
            let d = g.day(from, to);
            let lts = at_work(&mut g.rng, d);
            let answered = g.rng.random_bool(0.85);
            leads.push(Lead {
                id: lid.clone(),
                owner: rep.id.clone(),
                source: Some(SOURCES[g.rng.random_range(0..SOURCES.len())].into()),
                status: Some(
                    if answered {
                        "Working"
                    } else {
                        "Open - Not Contacted"
                    }
                    .into(),
                ),
                created: lts,
                converted_at: None,
                converted_opp: None,
                converted_account: None,
            });
            if answered {
                act_n += 1;
                let mins = lognormal(&mut g.rng, 50.0, 1.0).clamp(1.0, 6000.0) as i64;
                acts.push(Activity {
                    id: ActivityId::parse(&format!("ACT-{act_n:09}"))?,
                    kind: if g.rng.random_bool(0.7) {
                        ActivityKind::Call
                    } else {
                        ActivityKind::Email
                    },
                    at: lts.plus_secs(mins * 60),
                    owner: rep.id.clone(),
                    lead: Some(lid),
                    opp: None,
                    account: None,
                    subject: Some("First touch".into()),
                });
            }
        }
    }
    sink.opportunities(&opps, &hist)?;
    sink.leads(&leads)?;
    sink.activities(&acts)?;
    count_calls(&acts);
    sum.opportunities += opps.len() as u64;
    sum.history += hist.len() as u64;
    sum.leads += leads.len() as u64;
    sum.activities += acts.len() as u64;
    progress.update("opportunities", sum.opportunities, spec.opportunities);

    // prospecting calls, besides those on deals and leads: a rep's working days while
    // employed, each with about the rep's daily number (some reps dial more than others),
    // from draws of their own, so that every other record is as it was without them
    if spec.prospecting_calls > 0.0 {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5052_4F53_5045_4354);
        let mut call_n = 0u64;
        acts.clear();
        let mut flush = |acts: &mut Vec<Activity>| -> Result<()> {
            sink.activities(acts)?;
            count_calls(acts);
            sum.activities += acts.len() as u64;
            acts.clear();
            Ok(())
        };
        for rep in &reps {
            let kind = if rep.inside { 1.0 } else { 0.25 };
            let daily = spec.prospecting_calls * kind * lognormal(&mut rng, 1.0, 0.25);
            let (mut d, to) = (rep.hired.max(start), rep.left.unwrap_or(end).min(end));
            while d < to {
                if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
                    let n = (daily * rng.random_range(0.5..1.5)).round() as u32;
                    for _ in 0..n {
                        call_n += 1;
                        acts.push(Activity {
                            id: ActivityId::parse(&format!("CALL-{call_n:010}"))?,
                            kind: ActivityKind::Call,
                            at: at_work(&mut rng, d),
                            owner: rep.id.clone(),
                            lead: None,
                            opp: None,
                            account: None,
                            subject: Some("Prospecting call".into()),
                        });
                    }
                }
                d += Duration::days(1);
                if acts.len() >= 100_000 {
                    flush(&mut acts)?;
                }
            }
        }
        flush(&mut acts)?;
    }

    // accounts, with customer-since and churn derived from the deals
    let mut surveys = Vec::new();
    for a in 0..n_accounts {
        let since = first_won[a];
        let churn = since.and_then(|s| {
            let later = s + Duration::days(g.rng.random_range(90..900));
            (later < end && g.rng.random_bool(0.18)).then_some(later)
        });
        let industry = INDUSTRIES[g.rng.random_range(0..INDUSTRIES.len())];
        let id = AccountId::parse(&format!("ACC-{:07}", a + 1))?;
        if let Some(s) = since {
            let mut d = s + Duration::days(30);
            let mut k = 0;
            while d < churn.unwrap_or(end) && d < end && k < 6 {
                k += 1;
                surveys.push(SurveyResponse {
                    id: format!("SURVEY-{:07}-{k}", a + 1),
                    account: id.clone(),
                    date: d,
                    score: if churn.is_some() {
                        g.rng.random_range(1..=7)
                    } else {
                        g.rng.random_range(5..=10)
                    },
                    scale_min: 1,
                    scale_max: 10,
                });
                d += Duration::days(g.rng.random_range(120..240));
            }
        }
        accounts.push(Account {
            id,
            name: format!(
                "{} {} {}",
                LAST[a % LAST.len()],
                industry,
                ["Group", "Inc", "GmbH", "Ltd", "Co"][a % 5]
            ),
            industry: Some(industry.into()),
            employees: Some(lognormal(&mut g.rng, 400.0, 1.2).round() as i64),
            region: None,
            owner: Some(reps[account_owner[a]].id.clone()),
            parent: None,
            customer_since: since,
            churned_on: churn,
        });
        if accounts.len() >= 20_000 {
            sink.accounts(&accounts)?;
            sum.accounts += accounts.len() as u64;
            accounts.clear();
        }
    }
    sink.accounts(&accounts)?;
    sum.accounts += accounts.len() as u64;
    sink.surveys(&surveys)?;

    // quotas: each rep an own-book quota per fiscal quarter they work in
    let cal = FiscalCalendar::default();
    let mut quotas = Vec::new();
    let avg_per_rep_q = spec.opportunities as f64 / reps.len().max(1) as f64 / 12.0;
    for rep in &reps {
        let mut q = Period::containing(&cal, Grain::Quarter, start);
        while q.start <= end {
            if rep.hired < q.end && rep.left.is_none_or(|l| l > q.start) {
                let base = avg_per_rep_q
                    * rep.volume
                    * if rep.inside { 9_000.0 * 1.6 } else { 42_000.0 }
                    * 0.33;
                quotas.push(Quota {
                    target: QuotaTarget::Person(rep.id.clone()),
                    period: q,
                    metric: "bookings".into(),
                    amount: money(base * 1.1),
                });
            }
            q = Period::containing(&cal, Grain::Quarter, q.end);
        }
    }
    // targets beside the quotas (no draws: every other record is as it was): each rep's
    // calls per working day; each team's win rate, set on its leader's team; and the
    // median lead response of each inside-sales director's teams
    let works = |hired: Option<Date>, left: Option<Date>, q: &Period| {
        hired.is_none_or(|h| h < q.end) && left.is_none_or(|l| l > q.start)
    };
    let target = |on: QuotaTarget, q: Period, metric: &str, amount: f64| Quota {
        target: on,
        period: q,
        metric: metric.into(),
        // (to the ten-thousandth: `money` rounds to whole units)
        amount: Money::from_units((amount * salesorg_core::money::SCALE as f64).round() as i64),
    };
    // each kind of rep's calls per working day over the whole history, a little above, to
    // the nearest 0.05: a target about half of them meet (fixed ones had been met five times
    // over by the reps of a larger demo, who each work more deals)
    let mut rep_days = [0u64; 2];
    for r in &reps {
        let (mut d, to) = (r.hired.max(start), r.left.unwrap_or(end).min(end));
        while d < to {
            rep_days[usize::from(r.inside)] +=
                u64::from(!matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday));
            d += Duration::days(1);
        }
    }
    let per_day: Vec<f64> = (0..2)
        .map(|k| {
            let rate = calls[k] as f64 / rep_days[k].max(1) as f64;
            ((rate * 1.05 * 20.0).round() / 20.0).max(0.05)
        })
        .collect();
    let mut q = Period::containing(&cal, Grain::Quarter, start);
    while q.start <= end {
        for rep in reps.iter().filter(|r| works(Some(r.hired), r.left, &q)) {
            let per_day = per_day[usize::from(rep.inside)];
            quotas.push(target(
                QuotaTarget::Person(rep.id.clone()),
                q,
                "calls_per_rep_day",
                per_day,
            ));
        }
        for p in g.people.iter().filter(|p| works(p.hired, p.left, &q)) {
            let (metric, amount) = match p.role.as_ref().map(|r| r.as_str()) {
                Some("inside_sales_team_lead") => ("win_rate", 0.33),
                Some("sales_manager") => ("win_rate", 0.35),
                Some("director_inside_sales") => ("lead_response_minutes_median", 30.0),
                _ => continue,
            };
            quotas.push(target(QuotaTarget::Team(p.id.clone()), q, metric, amount));
        }
        q = Period::containing(&cal, Grain::Quarter, q.end);
    }
    sink.quotas(&quotas)?;
    sum.quotas = quotas.len() as u64;

    // spend: monthly per department and region, plus company-level marketing, each by
    // the heads it pays for that month (a fully loaded cost per head: pay, commission,
    // tools and travel; programmes and events for marketing), so that CAC and LTV : CAC
    // come out as a real organisation's do (about 4–5 : 1 in the default demo's recent
    // quarters; a flat sum per unit had made them 30 : 1 there, and 600 : 1 at a million
    // deals)
    let region_of: HashMap<&UnitId, &UnitId> = {
        let by_id: HashMap<&UnitId, &Unit> = g.units.iter().map(|u| (&u.id, u)).collect();
        g.units
            .iter()
            .filter_map(|u| {
                let mut x = u;
                // (the nearest region or department at or above the unit)
                for _ in 0..=g.units.len() {
                    if matches!(x.kind, UnitKind::Region | UnitKind::Department) {
                        return Some((&u.id, &x.id));
                    }
                    x = by_id.get(x.parent.as_ref()?)?;
                }
                None
            })
            .collect()
    };
    let mut spend = Vec::new();
    let mut m = start;
    while m <= end {
        let mut heads: HashMap<&UnitId, u32> = HashMap::new();
        let mut all = 0u32;
        for ms in g.members.iter().filter(|ms| ms.valid.contains(m)) {
            all += 1;
            if let Some(r) = region_of.get(&ms.unit) {
                *heads.entry(r).or_default() += 1;
            }
        }
        for u in &g.units {
            if matches!(u.kind, UnitKind::Region | UnitKind::Department) {
                let per_head = lognormal(&mut g.rng, 14_000.0, 0.2) * season(m);
                let n = heads.get(&u.id).copied().unwrap_or(0);
                if n > 0 {
                    spend.push(Spend {
                        date: m,
                        scope: SpendScope::Unit(u.id.clone()),
                        category: "sales".into(),
                        amount: money(per_head * f64::from(n)),
                    });
                }
            }
        }
        spend.push(Spend {
            date: m,
            scope: SpendScope::Company,
            category: "marketing".into(),
            amount: money(lognormal(&mut g.rng, 6_000.0, 0.25) * f64::from(all.max(1))),
        });
        m = add_months(m, 1);
    }
    sink.spend(&spend)?;
    Ok(sum)
}
