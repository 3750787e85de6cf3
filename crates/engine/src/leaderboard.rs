//! The leaderboards: every rep of a team, unit or the company, each over their own book
//! with the KPIs the rep role is measured by, or every first-line team with the KPIs its
//! manager is measured by, ranked by any of them, and the one a search finds at their rank
//! (`salesorg reps [--teams]`, `/reps`, `/teams`, `GET /api/reps`, `GET /api/teams`).

use std::fmt::Write as _;

use salesorg_core::catalog::Catalog;
use salesorg_core::date::{Date, fmt_date};
use salesorg_core::kpi::{self, Value, json_str};
use salesorg_core::period::Period;
use salesorg_core::scorecard::{Engine, Lens, Scope, ScorecardError};

use crate::Result;
use crate::scorecard::{Runner, holds};

/// What a leaderboard ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardOf {
    /// Every rep, over their own book.
    Reps,
    /// Every first-line team: a leader with a rep reporting to them in the period, over
    /// their team (everyone below them).
    Teams,
}

impl BoardOf {
    /// The scope of one row: a rep's own book, a leader's team.
    pub fn scope(self, p: u32) -> Scope {
        match self {
            BoardOf::Reps => Scope::Person(p),
            BoardOf::Teams => Scope::Team(p),
        }
    }
    /// The KPIs the board shows by default: those the catalog's rep role (a team's: its
    /// Sales Manager's, after bookings) is measured by, of one value each and computed
    /// today, with the quota after bookings.
    pub fn kpis(self, catalog: &Catalog) -> Vec<&'static str> {
        let (role, first): (&str, &[&'static str]) = match self {
            BoardOf::Reps => ("sales_rep", &[]),
            BoardOf::Teams => ("sales_manager", &["bookings"]),
        };
        let mut out: Vec<&'static str> = Vec::new();
        let mut add = |id: &'static str| {
            if kpi::NOT_YET.contains(&id) || kpi::TABLE_KPIS.contains(&id) || out.contains(&id) {
                return;
            }
            out.push(id);
            if id == "bookings" {
                out.push("quota");
            }
        };
        first.iter().for_each(|k| add(k));
        for k in catalog.find(role).iter().flat_map(|r| &r.kpis) {
            if let Some(&id) = kpi::KPI_IDS.iter().find(|x| **x == k.id) {
                add(id);
            }
        }
        if out.is_empty() {
            out = vec!["bookings", "quota", "quota_attainment", "win_rate"];
        }
        out
    }
}

impl BoardOf {
    /// The KPIs a board shows: those asked for (ids, comma-separated or not), tables left
    /// out; none asked for, [`BoardOf::kpis`]. Asked only for tables, refused: a board ranks
    /// by a KPI of one value.
    pub fn kpis_asked(
        self,
        catalog: &Catalog,
        asked: &[String],
    ) -> std::result::Result<Vec<&'static str>, ScorecardError> {
        if asked.iter().all(|a| a.trim().is_empty()) {
            return Ok(self.kpis(catalog));
        }
        let kpis: Vec<&'static str> = crate::scorecard::parse_kpis(asked)?
            .into_iter()
            .filter(|k| !kpi::TABLE_KPIS.contains(k))
            .collect();
        if kpis.is_empty() {
            return Err(ScorecardError::Kpi(
                "a leaderboard shows KPIs of one value: a table (stage_conversion, days_in_stage_avg, loss_reasons) is not one".into(),
            ));
        }
        Ok(kpis)
    }
}

/// One row of a leaderboard ([`leaderboard`]): a rep, or a team's leader.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub person: u32,
    /// Their manager on the board's day, where the viewer sees them.
    pub manager: Option<u32>,
    /// Whether every part of the period the viewer sees of them is in the scope: not, for
    /// a rep who moved in or out mid-period (their numbers are still their own book over
    /// the whole period, as far as the viewer sees it).
    pub whole: bool,
    pub values: Vec<(&'static str, Value)>,
}

/// The places on `board` of the reps whose name or id, or their manager's name, holds
/// `text` in any case (every place for a blank text): a rep is found at their rank.
pub fn board_find(engine: &Engine, board: &[Ranked], text: &str) -> Vec<usize> {
    let t = text.trim().to_lowercase();
    let people = &engine.book.people;
    (0..board.len())
        .filter(|&i| {
            let r = &board[i];
            let p = &people[r.person as usize];
            t.is_empty()
                || holds(&p.name, &t)
                || holds(p.id.as_str(), &t)
                || r.manager
                    .is_some_and(|m| holds(&people[m as usize].name, &t))
        })
        .collect()
}

/// What a leaderboard ranks by: `sort` where it is one of `kpis`, else quota attainment
/// (else the first of them); and whether highest first: as `dir` says (`asc`, `desc`),
/// else highest first but for a KPI better lower ([`kpi::lower_is_better`]).
pub fn board_order(
    kpis: &[&'static str],
    sort: Option<&str>,
    dir: Option<&str>,
) -> (&'static str, bool) {
    let default = if kpis.contains(&"quota_attainment") {
        "quota_attainment"
    } else {
        kpis.first().copied().unwrap_or("bookings")
    };
    let by = sort
        .and_then(|s| kpis.iter().find(|k| **k == s).copied())
        .unwrap_or(default);
    let desc = match dir {
        Some("asc") => false,
        Some("desc") => true,
        _ => !kpi::lower_is_better(by),
    };
    (by, desc)
}

/// The quota-carrying people with records of `list` (a scope's segments through a lens)
/// during `period`, employed during it, in order.
pub fn reps_of(engine: &Engine, list: &[u32], period: &Period) -> Vec<u32> {
    let (book, segs) = (&engine.book, &engine.segs);
    let (from, to) = (
        salesorg_core::scorecard::day(period.start),
        salesorg_core::scorecard::day(period.end),
    );
    let mut reps: Vec<u32> = list
        .iter()
        .filter(|&&s| segs.from[s as usize] < to && segs.to[s as usize] > from)
        .map(|&s| segs.person[s as usize])
        .filter(|&p| {
            let info = &book.people[p as usize];
            info.rep
                && (info.hired == salesorg_core::scorecard::NO_DAY || info.hired < to)
                && info.left > from
        })
        .collect();
    reps.sort_unstable();
    reps.dedup();
    reps
}

/// The first-line leaders of `list` (a scope's segments through a lens) during `period`:
/// the people with records of it in the period who had a rep reporting to them in it, in
/// order.
pub fn teams_of(engine: &Engine, list: &[u32], period: &Period) -> Vec<u32> {
    let (book, segs) = (&engine.book, &engine.segs);
    let (from, to) = (
        salesorg_core::scorecard::day(period.start),
        salesorg_core::scorecard::day(period.end),
    );
    let overlaps = |s: usize| segs.from[s] < to && segs.to[s] > from;
    let mut leaders: Vec<u32> = list
        .iter()
        .filter(|&&s| overlaps(s as usize))
        .map(|&s| segs.person[s as usize])
        .collect();
    leaders.sort_unstable();
    leaders.dedup();
    leaders.retain(|&p| {
        engine.segments_of(Scope::Team(p)).iter().any(|&s| {
            let s = s as usize;
            segs.manager[s] == p && overlaps(s) && book.people[segs.person[s] as usize].rep
        })
    });
    leaders
}

/// The reps (`of`: or the first-line teams) of `scope` over `period` through `lens` — the
/// quota-carrying people with records of the scope the viewer sees, employed during the
/// period ([`reps_of`]; the leaders [`teams_of`] finds) — each with `kpis` over their own
/// book (their team) as far as the viewer sees it, ranked by `by` (`desc`: highest first;
/// those without a value last either way; ties by name, then id). `run` makes the rows (a
/// server rolls them up from its kept pass).
#[allow(clippy::too_many_arguments)]
pub fn leaderboard(
    engine: &Engine,
    lens: &Lens,
    scope: Scope,
    period: Period,
    today: Date,
    of: BoardOf,
    kpis: &[&'static str],
    by: &str,
    desc: bool,
    run: &Runner,
) -> Result<Vec<Ranked>> {
    let (book, segs) = (&engine.book, &engine.segs);
    let list = lens.narrow(engine.segments_of(scope));
    let (from, to) = (
        salesorg_core::scorecard::day(period.start),
        salesorg_core::scorecard::day(period.end),
    );
    let overlaps = |s: usize| segs.from[s] < to && segs.to[s] > from;
    let rows_of = match of {
        BoardOf::Reps => reps_of(engine, &list, &period),
        BoardOf::Teams => teams_of(engine, &list, &period),
    };
    let scopes: Vec<Scope> = rows_of.iter().map(|&p| of.scope(p)).collect();
    let rows = if scopes.is_empty() {
        Vec::new()
    } else {
        run(&scopes, &[period], kpis)?
    };
    let as_of = Engine::as_of(&period, today);
    let board_day = as_of.min(period.end.previous_day().unwrap_or(period.end));
    let mut out: Vec<Ranked> = rows
        .into_iter()
        .filter_map(|r| {
            let (Scope::Person(p) | Scope::Team(p)) = r.scope else {
                return None;
            };
            let info = &book.people[p as usize];
            // (the manager on the board's day, or on the rep's last day before it)
            let mut d = board_day;
            if info.left != i32::MAX && salesorg_core::scorecard::book::day(d) >= info.left {
                d = salesorg_core::scorecard::book::date_of(info.left - 1);
            }
            let manager = book
                .org
                .manager_on(&info.id, d)
                .and_then(|m| book.person(m.as_str()))
                .filter(|&m| lens.sees_person(engine, m));
            let whole = segs
                .of_person(p)
                .filter(|&s| overlaps(s as usize) && lens.sees(s))
                .all(|s| list.binary_search(&s).is_ok());
            Some(Ranked {
                person: p,
                manager,
                whole,
                values: r.values,
            })
        })
        .collect();
    let key = |x: &Ranked| {
        x.values
            .iter()
            .find(|(k, _)| *k == by)
            .and_then(|(_, v)| v.as_f64())
    };
    out.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        let by_value = match (ka, kb) {
            (Some(x), Some(y)) => {
                let o = x.total_cmp(&y);
                if desc { o.reverse() } else { o }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        let (pa, pb) = (
            &book.people[a.person as usize],
            &book.people[b.person as usize],
        );
        by_value
            .then_with(|| pa.name.cmp(&pb.name))
            .then_with(|| pa.id.cmp(&pb.id))
    });
    Ok(out)
}

/// A leaderboard made for a period ([`board`]), with each row's rank on the same board over
/// the period before.
#[derive(Debug, Clone)]
pub struct Board {
    pub of: BoardOf,
    pub scope: Scope,
    pub period: Period,
    pub as_of: Date,
    pub kpis: Vec<&'static str>,
    pub by: &'static str,
    pub desc: bool,
    pub rows: Vec<Ranked>,
    /// The period compared with: the one before, to the same day while this one is under
    /// way (as a scorecard's comparisons are).
    pub before: Period,
    /// Each row's place on the same board over `before` (`None`: not on it then).
    pub was: Vec<Option<usize>>,
}

impl Board {
    /// The rank (from 1) over `before` of the row at place `i` (`None`: not on it then).
    pub fn rank_before(&self, i: usize) -> Option<usize> {
        self.was.get(i).copied().flatten().map(|w| w + 1)
    }
}

/// The leaderboard of `of` for `scope` over `period` ([`leaderboard`]), and each row's
/// rank on the same board (the same KPIs and order) over the period before.
#[allow(clippy::too_many_arguments)]
pub fn board(
    engine: &Engine,
    lens: &Lens,
    scope: Scope,
    period: Period,
    today: Date,
    of: BoardOf,
    kpis: Vec<&'static str>,
    by: &'static str,
    desc: bool,
    run: &Runner,
) -> Result<Board> {
    let as_of = Engine::as_of(&period, today);
    let rows = leaderboard(engine, lens, scope, period, today, of, &kpis, by, desc, run)?;
    let (previous, _, to_date) = crate::scorecard::comparisons(engine, &period, as_of);
    let before = to_date.map_or(previous, |t| t.0);
    let then = leaderboard(engine, lens, scope, before, today, of, &[by], by, desc, run)?;
    let mut rank: Vec<(u32, usize)> = then
        .iter()
        .enumerate()
        .map(|(i, r)| (r.person, i))
        .collect();
    rank.sort_unstable();
    let was = rows
        .iter()
        .map(|r| {
            rank.binary_search_by_key(&r.person, |x| x.0)
                .ok()
                .map(|at| rank[at].1)
        })
        .collect();
    Ok(Board {
        of,
        scope,
        period,
        as_of,
        kpis,
        by,
        desc,
        rows,
        before,
        was,
    })
}

/// A leaderboard as the CSV of `/reps.csv` and `salesorg reps --format csv`: the header
/// `rank,rank_before,person_id,name,manager_id,manager,whole_period` and a column per KPI
/// (its value as the bulk export writes it, empty where undefined), a row per place.
pub fn leaderboard_table(
    engine: &Engine,
    b: &Board,
    places: &[usize],
) -> (Vec<String>, Vec<Vec<String>>) {
    let people = &engine.book.people;
    let mut header: Vec<String> = [
        "rank",
        "rank_before",
        "person_id",
        "name",
        "manager_id",
        "manager",
        "whole_period",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(b.kpis.iter().map(|k| k.to_string()));
    let rows = places
        .iter()
        .filter_map(|&i| Some((i, b.rows.get(i)?)))
        .map(|(i, r)| {
            let p = &people[r.person as usize];
            let m = r.manager.map(|m| &people[m as usize]);
            let mut row = vec![
                (i + 1).to_string(),
                b.rank_before(i).map_or_else(String::new, |w| w.to_string()),
                p.id.as_str().to_owned(),
                p.name.clone(),
                m.map_or_else(String::new, |m| m.id.as_str().to_owned()),
                m.map_or_else(String::new, |m| m.name.clone()),
                r.whole.to_string(),
            ];
            row.extend(b.kpis.iter().map(|k| {
                r.values
                    .iter()
                    .find(|x| x.0 == *k)
                    .map_or_else(String::new, |x| x.1.to_text(""))
            }));
            row
        })
        .collect();
    (header, rows)
}

/// A leaderboard ([`leaderboard`]) as the JSON `salesorg reps` and `GET /api/reps` write:
/// `{"scope", "period", "as_of", "sort", "dir", "total", "before", "reps": [{"id", "name",
/// "rank", "rank_before", "manager": {"id", "name"} or null, "whole_period", "kpis": {id:
/// value}}]}` (docs/scorecard.md), with the rows at `places` on the board (those a search
/// found: each at their rank on the whole board, which has `total`).
pub fn leaderboard_json(engine: &Engine, b: &Board, places: &[usize]) -> String {
    let board = &b.rows;
    let who = |p: u32| {
        let p = &engine.book.people[p as usize];
        format!(
            "\"id\":{},\"name\":{}",
            json_str(p.id.as_str()),
            json_str(&p.name)
        )
    };
    let mut s = format!(
        "{{\"scope\":{},\"period\":{},\"as_of\":{},\"sort\":{},\"dir\":{},\"total\":{},\"before\":{},\"{}\":[",
        json_str(&engine.scope_name(b.scope)),
        json_str(&b.period.to_string()),
        json_str(&fmt_date(b.as_of)),
        json_str(b.by),
        json_str(if b.desc { "desc" } else { "asc" }),
        board.len(),
        json_str(&b.before.to_string()),
        // (a board of teams lists teams)
        match b.of {
            BoardOf::Reps => "reps",
            BoardOf::Teams => "teams",
        }
    );
    for (n, &i) in places.iter().enumerate() {
        let Some(r) = board.get(i) else { continue };
        let manager = r
            .manager
            .map_or("null".to_owned(), |m| format!("{{{}}}", who(m)));
        let kpis: Vec<String> = r
            .values
            .iter()
            .map(|(k, v)| format!("{}:{}", json_str(k), v.to_json()))
            .collect();
        let _ = write!(
            s,
            "{}{{{},\"rank\":{},\"rank_before\":{},\"manager\":{manager},\"whole_period\":{},\"kpis\":{{{}}}}}",
            if n > 0 { "," } else { "" },
            who(r.person),
            i + 1,
            b.rank_before(i)
                .map_or("null".to_owned(), |w| w.to_string()),
            r.whole,
            kpis.join(",")
        );
    }
    s.push_str("]}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A board ranks by the KPI asked for when it shows it, else by quota attainment (else
    /// its first KPI); highest first, but lowest first for a KPI better lower, unless the
    /// direction is asked for.
    #[test]
    fn a_board_ranks_by_the_kpi_asked_for_best_first() {
        let kpis = [
            "bookings",
            "quota_attainment",
            "lead_response_minutes_median",
        ];
        assert_eq!(board_order(&kpis, None, None), ("quota_attainment", true));
        assert_eq!(
            board_order(&kpis, Some("calls"), None),
            ("quota_attainment", true)
        );
        assert_eq!(
            board_order(&kpis, Some("bookings"), Some("asc")),
            ("bookings", false)
        );
        assert_eq!(
            board_order(&kpis, Some("lead_response_minutes_median"), None),
            ("lead_response_minutes_median", false)
        );
        assert_eq!(
            board_order(&kpis, Some("lead_response_minutes_median"), Some("desc")),
            ("lead_response_minutes_median", true)
        );
        assert_eq!(
            board_order(&["win_rate"], None, Some("sideways")),
            ("win_rate", true)
        );
    }
}
