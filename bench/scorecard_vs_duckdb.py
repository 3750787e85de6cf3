#!/usr/bin/env python3
"""Scorecard benchmark: salesorg vs DuckDB on the same generated org.

    python3 bench/scorecard_vs_duckdb.py --opportunities 10000000 --people 9000

1. builds salesorg in release mode (unless --bin is given);
2. generates the demo org twice with the same seed and end date: into a SQLite store
   (`salesorg demo`) and as a Salesforce Data Export folder (`--export-salesforce`) —
   the same records both ways (skipped when --dir already holds them);
3. salesorg, first run: `scorecard --all --grain quarter` from the store's rows (this run
   also writes the columnar snapshot beside the store);
4. salesorg, cold: the same command in a new process, reading the snapshot;
5. salesorg, warm: the data already in memory, the full scorecard computed N times,
   and the memory floor: every column the pass reads, read once on as many threads;
   and the roll-up alone from one kept pass (the server's path: its pass over every
   owner is made once for the data and the day, the first request's classes of segments
   are kept with it, and every row is rolled up from them on each request); then the same warm runs over the 14 KPIs of DuckDB's query alone (like for like);
6. DuckDB (pip package `duckdb`): the export's CSVs loaded into tables (timed apart), then
   the team×quarter and unit×quarter table computed with SQL over a recursive closure of
   the manager tree and of the role tree — a subset of the KPIs (see below), so the
   comparison favours DuckDB;
7. prints every time and the ratios, and checks that both agree on won and lost deals
   and on calls for the CRO's team in every quarter.

DuckDB attributes records by today's manager (the export has no history of reporting
lines); salesorg by the effective-dated org, which costs it more. Nothing here is a timed
test: run it by hand, read the ratios.
"""
import argparse
import csv
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

END = "2026-11-20"
SEED = "7"

DUCK_QUERY = r"""
WITH RECURSIVE
  closure(leader, member) AS (
    SELECT Id, Id FROM users
    UNION ALL
    SELECT c.leader, u.Id FROM closure c JOIN users u ON u.ManagerId = c.member
  ),
  leaders AS (SELECT DISTINCT ManagerId AS leader FROM users WHERE ManagerId IS NOT NULL),
  team(scope, member) AS (
    SELECT 'team:' || substr(c.leader, 4), c.member FROM closure c JOIN leaders l ON l.leader = c.leader
  ),
  rclosure(role, sub) AS (
    SELECT Id, Id FROM roles
    UNION ALL
    SELECT r.role, x.Id FROM rclosure r JOIN roles x ON x.ParentRoleId = r.sub
  ),
  unitm(scope, member) AS (
    SELECT 'unit:' || substr(r.role, 4), u.Id FROM rclosure r JOIN users u ON u.UserRoleId = r.sub
  ),
  scopes AS (SELECT * FROM team UNION ALL SELECT * FROM unitm),
  o AS (
    SELECT OwnerId, CAST(CloseDate AS DATE) AS close, CAST(CreatedDate AS DATE) AS created,
           Amount, IsWon, IsClosed
    FROM opps
  ),
  closed AS (
    SELECT s.scope, 'FY' || year(o.close) || '-Q' || quarter(o.close) AS period,
           SUM(Amount) FILTER (WHERE IsWon = 1) AS bookings,
           COUNT(*) FILTER (WHERE IsWon = 1) AS won_deals,
           COUNT(*) FILTER (WHERE coalesce(IsWon, 0) = 0) AS lost_deals,
           AVG(date_diff('day', o.created, o.close)) FILTER (WHERE IsWon = 1) AS sales_cycle_days,
           MEDIAN(date_diff('day', o.created, o.close)) FILTER (WHERE IsWon = 1) AS sales_cycle_days_median,
           SUM(Amount) FILTER (WHERE coalesce(IsWon, 0) = 0) AS lost_amount
    FROM o JOIN scopes s ON s.member = o.OwnerId
    WHERE o.IsClosed = 1
    GROUP BY ALL
  ),
  created AS (
    SELECT s.scope, 'FY' || year(o.created) || '-Q' || quarter(o.created) AS period,
           COUNT(*) AS opps_created, SUM(Amount) AS pipeline_created
    FROM o JOIN scopes s ON s.member = o.OwnerId
    GROUP BY ALL
  ),
  acts AS (
    SELECT OwnerId, CAST(CreatedDate AS DATE) AS d, (TaskSubtype = 'Call') AS is_call FROM tasks
    UNION ALL
    SELECT OwnerId, CAST(StartDateTime AS DATE), false FROM events
  ),
  activity AS (
    SELECT s.scope, 'FY' || year(a.d) || '-Q' || quarter(a.d) AS period,
           COUNT(*) FILTER (WHERE is_call) AS calls, COUNT(*) AS activities
    FROM acts a JOIN scopes s ON s.member = a.OwnerId
    GROUP BY ALL
  ),
  lead AS (
    SELECT s.scope, 'FY' || year(CAST(l.CreatedDate AS DATE)) || '-Q' || quarter(CAST(l.CreatedDate AS DATE)) AS period,
           COUNT(*) AS leads_created, COUNT(*) FILTER (WHERE l.IsConverted = 1) AS converted
    FROM leads l JOIN scopes s ON s.member = l.OwnerId
    GROUP BY ALL
  )
SELECT scope, period, bookings, won_deals, lost_deals,
       won_deals / NULLIF(won_deals + lost_deals, 0) AS win_rate,
       bookings / NULLIF(bookings + lost_amount, 0) AS win_rate_value,
       bookings / NULLIF(won_deals, 0) AS avg_deal_size,
       sales_cycle_days, sales_cycle_days_median, opps_created, pipeline_created,
       calls, activities, leads_created, converted / NULLIF(leads_created, 0) AS lead_conversion_rate
FROM closed
FULL JOIN created USING (scope, period)
FULL JOIN activity USING (scope, period)
FULL JOIN lead USING (scope, period)
ORDER BY scope, period
"""
DUCK_KPIS = 14
# salesorg's ids of the KPIs the query computes (the like-for-like warm run)
DUCK_KPI_IDS = ("bookings,won_deals,lost_deals,win_rate,win_rate_value,avg_deal_size,sales_cycle_days,"
                "sales_cycle_days_median,opps_created,pipeline_created,calls,activities,leads_created,"
                "lead_conversion_rate")
assert len(DUCK_KPI_IDS.split(",")) == DUCK_KPIS


def time_v(err, label):
    """A figure that `/usr/bin/time -v` printed to `err` after `label`."""
    return float(re.search(re.escape(label) + r": ([\d.]+)", err).group(1))


def run(cmd, **kw):
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return time.time() - t, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--opportunities", type=int, default=1_000_000)
    ap.add_argument("--people", type=int, default=None, help="default: about one person per 1,100 opportunities")
    ap.add_argument("--bin", default=None, help="a salesorg binary (default: build target/release/salesorg)")
    ap.add_argument("--dir", default=None, help="where the store and export are (re)used (default: a temp folder)")
    ap.add_argument("--repeat", type=int, default=10, help="warm runs")
    a = ap.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = a.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "salesorg"], cwd=root, check=True)
        binary = os.path.join(root, "target", "release", "salesorg")
    try:
        import duckdb
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "duckdb"], check=True)
        import duckdb

    work = a.dir or tempfile.mkdtemp(prefix="salesorg-bench-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "store.db")
    export = os.path.join(work, "export")
    people = a.people or max(200, a.opportunities // 1100)
    # (no prospecting calls: the workload every session since the first has measured; at
    # 9,000 people they would be some 70 million more activities)
    gen = ["--seed", SEED, "--end", END, "--people", str(people), "--opportunities", str(a.opportunities),
           "--prospecting-calls", "0"]
    if not os.path.exists(db):
        t, _ = run([binary, "--db", db, "demo"] + gen)
        print(f"generated the store in {t:.1f}s")
    if not os.path.exists(os.path.join(export, "Opportunity.csv")):
        t, _ = run([binary, "demo", "--export-salesforce", export] + gen)
        print(f"generated the export in {t:.1f}s")
    out = os.path.join(work, "scorecard.csv")
    sc = [binary, "--db", db, "scorecard", "--all", "--grain", "quarter", "--as-of", END, "--timings", "-o", out]

    snap = db + ".scorecard"
    if os.path.exists(snap):
        os.remove(snap)
    first, err = run(["/usr/bin/time", "-v"] + sc)
    first_rss = time_v(err, "Maximum resident set size (kbytes)") / 1024
    cold_runs = []
    cold_rss = 0.0
    # each cold run's user and system seconds and minor page faults: on a machine where the
    # kernel is slow to clear fresh pages, those faults are most of a cold run
    cold_cpu = []
    for _ in range(3):
        t, err = run(["/usr/bin/time", "-v"] + sc)
        cold_runs.append(t)
        cold_rss = max(cold_rss, time_v(err, "Maximum resident set size (kbytes)") / 1024)
        cold_cpu.append(tuple(
            time_v(err, label)
            for label in ("User time (seconds)", "System time (seconds)", "Minor (reclaiming a frame) page faults")
        ))
    _, err = run(sc + ["--repeat", str(a.repeat)])
    m = re.search(r"warm compute ms: min ([\d.]+) median ([\d.]+)", err)
    warm_min, warm_med = float(m.group(1)), float(m.group(2))
    # the warm runs after the first, split into the pass and the roll-up
    split = re.findall(r"(?m)^  (?:of which the pass|and the roll-up) ms: min [\d.]+ median [\d.]+", err)
    # the memory floor: the pass's columns read once on as many threads, nothing computed
    floor = re.search(r"(?m)^  memory floor ms \(the pass's columns, (\d+) MB[^)]*\): min ([\d.]+) median ([\d.]+)", err)
    # every row rolled up from one kept pass (the server's bulk export)
    kept = re.search(r"(?m)^warm from kept cells ms \([^)]*\): min ([\d.]+) median ([\d.]+)", err)
    # the same warm run over the query's 14 KPIs alone (a run walks only the record
    # groups its KPIs read): the like-for-like comparison
    same_out = os.path.join(work, "scorecard-duckdb-kpis.csv")
    same_sc = [x if x != out else same_out for x in sc] + ["--kpi", DUCK_KPI_IDS]
    _, err14 = run(same_sc + ["--repeat", str(a.repeat)])
    m14 = re.search(r"warm compute ms: min ([\d.]+) median ([\d.]+)", err14)
    same_min, same_med = float(m14.group(1)), float(m14.group(2))
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    kpis = len(rows[0]) - 2 if rows else 0

    con = duckdb.connect()
    con.execute("SET threads = 2")
    t = time.time()
    for table, f in [("users", "User"), ("roles", "UserRole"), ("opps", "Opportunity"), ("tasks", "Task"),
                     ("events", "Event"), ("leads", "Lead")]:
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{os.path.join(export, f + '.csv')}', header=true)")
    duck_load = time.time() - t
    duck_runs = []
    for _ in range(3):
        t = time.time()
        res = con.execute(DUCK_QUERY).fetchall()
        duck_runs.append(time.time() - t)
    duck = min(duck_runs)
    cols = [d[0] for d in con.description]

    # agreement: company totals per quarter (attribution-free, so both must match exactly;
    # team numbers differ by design where owners had no reporting line on the day)
    periods = sorted({r["period"] for r in rows})
    cmd = [binary, "--db", db, "--format", "csv", "scorecard", "--scope", "company", "--as-of", END,
           "--kpi", "won_deals,lost_deals,calls,opps_created"]
    for p in periods:
        cmd += ["--period", p]
    company = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    ours = {r["period"]: r for r in csv.DictReader(company.splitlines())}
    q = lambda col: "'FY' || year(" + col + ") || '-Q' || quarter(" + col + ")"
    theirs = {}
    for k, sql in [
        ("won_deals", f"SELECT {q('CAST(CloseDate AS DATE)')}, COUNT(*) FROM opps WHERE IsWon = 1 GROUP BY 1"),
        ("lost_deals", f"SELECT {q('CAST(CloseDate AS DATE)')}, COUNT(*) FROM opps WHERE IsClosed = 1 AND coalesce(IsWon, 0) = 0 GROUP BY 1"),
        ("calls", f"SELECT {q('CAST(CreatedDate AS DATE)')}, COUNT(*) FROM tasks WHERE TaskSubtype = 'Call' GROUP BY 1"),
        ("opps_created", f"SELECT {q('CAST(CreatedDate AS DATE)')}, COUNT(*) FROM opps GROUP BY 1"),
    ]:
        for period, n in con.execute(sql).fetchall():
            theirs[(period, k)] = n
    checked = mismatched = 0
    for period, r in ours.items():
        for k in ["won_deals", "lost_deals", "calls", "opps_created"]:
            checked += 1
            if int(r[k] or 0) != int(theirs.get((period, k), 0)):
                mismatched += 1
                print(f"  company {period} {k}: salesorg {r[k]} duckdb {theirs.get((period, k), 0)}")

    print()
    print(f"data: {a.opportunities:,} opportunities, {people:,} people; {len(rows):,} scope×quarter rows × {kpis} KPIs")
    print(f"salesorg first run from the store's rows (writes the snapshot): {first:.2f}s, max RSS {first_rss:.0f} MB")
    print(f"salesorg cold CLI (new process, snapshot): {min(cold_runs):.2f}s (runs {', '.join(f'{x:.2f}' for x in cold_runs)}), max RSS {cold_rss:.0f} MB")
    print("  cold runs' CPU: " + "; ".join(f"user {u:.2f}s, system {y:.2f}s, {int(f):,} minor page faults" for u, y, f in cold_cpu))
    print(f"salesorg warm full scorecard: min {warm_min:.1f} ms, median {warm_med:.1f} ms ({a.repeat} runs)")
    for line in split:
        print(f"  {line.strip()}")
    if floor:
        mb, fmin, fmed = int(floor.group(1)), float(floor.group(2)), float(floor.group(3))
        print(f"  memory floor (the pass's {mb:,} MB of columns read once, nothing computed): min {fmin:.1f} ms, median {fmed:.1f} ms")
        print(f"ratio salesorg warm / memory floor: {warm_min / fmin:.2f}x")
    if kept:
        kmin, kmed = float(kept.group(1)), float(kept.group(2))
        print(f"salesorg warm from one kept pass (every row rolled up, as the server answers the bulk export): min {kmin:.1f} ms, median {kmed:.1f} ms")
    print(f"duckdb load CSVs into tables: {duck_load:.2f}s (not counted)")
    print(f"duckdb team×quarter + unit×quarter query ({DUCK_KPIS} KPIs, {len(res):,} rows): {duck * 1e3:.0f} ms (runs {', '.join(f'{x * 1e3:.0f}' for x in duck_runs)})")
    print(f"ratio duckdb query / salesorg warm: {duck * 1e3 / warm_min:.2f}x")
    if kept:
        print(f"ratio duckdb query / salesorg warm from one kept pass: {duck * 1e3 / kmin:.2f}x")
    print(f"salesorg warm, the query's {DUCK_KPIS} KPIs alone: min {same_min:.1f} ms, median {same_med:.1f} ms ({a.repeat} runs)")
    print(f"ratio duckdb query / salesorg warm, same KPIs: {duck * 1e3 / same_min:.2f}x")
    print(f"ratio duckdb query / salesorg cold CLI: {duck / min(cold_runs):.2f}x")
    print(f"agreement on company totals per quarter: {checked - mismatched}/{checked} values equal")
    print(f"peak RSS of this script: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
