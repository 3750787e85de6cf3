#!/usr/bin/env python3
"""Load benchmark of `salesorg serve`: the scorecard route under 32 concurrent clients.

    python3 bench/serve_load.py --db /path/to/store.db      # e.g. the 10M store of scorecard_vs_duckdb.py

1. builds salesorg in release mode (unless --bin is given), installs `wrk` from Debian if missing;
2. adds two users to the store (the CRO, company-wide; a Director of Sales, a subtree) with
   API tokens, through `salesorg user`;
3. starts `salesorg serve` on a free loopback port with a fixed --today and waits for /ready
   (the engine loads every record with its id, for drill-down);
4. runs wrk (2 threads, 32 connections, --duration seconds) against loopback only:
   a. the Director's home scorecard, the same URL every time (the dashboard case: answered
      from the per-viewer cache after the first request);
   b. the CRO rotating over every team:/unit: scope × 12 quarters (each URL computed once,
      then cached: the first pass is the uncached cost);
   c. the Director rotating over their own team's people × 12 quarters, uncached by
      giving each request a distinct KPI list;
   — once the server has finished warming (the passes over the standard periods and the
   landing pages, made in the background after /ready, and the drill-downs' scratch
   buffers sized on last quarter's);
5. signs in through the login form as each user and times every page: the first render
   (uncached) and the median of five more;
6. with --drilldowns, opens the CRO's drill-down of every KPI over a quarter and a month
   that warming did not prepare (the first render: the pass over the records behind the
   number and their sort) and its second page; company-wide, or with --drill-scope a team's
   (whose drill-downs also split their records by direct report);
7. with --ranges N, opens the CRO's landing page over N date ranges (7 to 70 days, a fixed
   list from 2024-02 on; each page makes a company-wide pass of its own) and times each
   first render;
8. with --bulk, fetches the CRO's bulk export (`/api/scorecard/bulk`, every team/unit scope x
   12 quarters x every KPI, CSV) six times: the first rolls the rows up from the kept standard
   pass, the next find them kept;
9. prints requests/s, p50/p95/p99 and non-2xx answers for each, and the page and drill-down
   times, then stops the server (SIGTERM: a graceful shutdown). --skip-load skips step 4.
Nothing here is a timed test: run it by hand, read the numbers.
"""
import argparse
import datetime
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

LUA = r"""
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local i = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT {\"requests\": %%d, \"seconds\": %%f, \"p50\": %%f, \"p95\": %%f, \"p99\": %%f, \"errors\": %%d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, bad))
end
"""

KPIS = ["bookings", "won_deals", "lost_deals", "win_rate", "avg_deal_size", "pipeline_open",
        "opps_created", "calls", "activities", "leads_created", "sales_cycle_days", "quota_attainment"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def minor_faults(pid):
    """The process's minor page faults so far (each a fresh page the kernel cleared, or one
    it mapped again)."""
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[7])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="a SQLite store (e.g. the 10M store of scorecard_vs_duckdb.py)")
    ap.add_argument("--bin", default=None)
    ap.add_argument("--today", default="2026-11-20")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--drilldowns", action="store_true",
                    help="also time the CRO's first drill-down into every KPI over another quarter and another month")
    ap.add_argument("--skip-load", action="store_true", help="skip the wrk scenarios")
    ap.add_argument("--kpis", default=None, help="with --drilldowns: only these KPIs (comma-separated)")
    ap.add_argument("--drill-scope", default=None,
                    help="with --drilldowns: this scope's drill-downs (e.g. team:P-00001, the CRO's team, "
                         "whose drill-downs also split the records by direct report) instead of the company's")
    ap.add_argument("--ranges", type=int, default=0,
                    help="also time the CRO's landing page over this many date ranges of 7 to 70 days "
                         "(a fixed list from 2024-02 on), each one's first render")
    ap.add_argument("--ranges-after", type=float, default=0,
                    help="with --ranges: wait this many seconds after warming before the first range")
    ap.add_argument("--bulk", action="store_true",
                    help="also time the CRO's bulk export (every team/unit scope x 12 quarters x every KPI, CSV)")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    binary = a.bin
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "salesorg"], cwd=root, check=True)
        binary = os.path.join(root, "target", "release", "salesorg")
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)

    db = sqlite3.connect(a.db)
    cro = db.execute("SELECT id FROM people WHERE role_id = 'cro' AND left_on IS NULL").fetchone()[0]
    director = db.execute("SELECT id FROM people WHERE role_id = 'director_sales' AND left_on IS NULL ORDER BY id").fetchone()[0]
    leaders = [r[0] for r in db.execute("SELECT DISTINCT manager_id FROM reporting_lines")]
    units = [r[0] for r in db.execute("SELECT id FROM units")]
    team = [r[0] for r in db.execute(
        "WITH RECURSIVE t(id) AS (SELECT ? UNION SELECT l.person_id FROM reporting_lines l JOIN t ON l.manager_id = t.id WHERE l.valid_to IS NULL) SELECT id FROM t", (director,))]
    db.close()

    tokens = {}
    for name, person in [("bench-cro", cro), ("bench-director", director)]:
        subprocess.run([binary, "--db", a.db, "user", "add", name, "--person", person], capture_output=True)
        out = subprocess.run([binary, "--db", a.db, "user", "token", "create", name, "--name", "bench"],
                             capture_output=True, text=True, check=True).stdout
        tokens[name] = out.strip().splitlines()[-1]

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="salesorg-serve-", suffix=".log", delete=False)
    t0 = time.time()
    srv = subprocess.Popen([binary, "--db", a.db, "serve", "--listen", f"127.0.0.1:{port}", "--today", a.today],
                           stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if urllib.request.urlopen(base + "/ready", timeout=2).status == 200:
                break
        except Exception:
            pass
        if srv.poll() is not None:
            sys.exit(f"the server stopped; see {log.name}")
        time.sleep(1)
    ready = time.time() - t0
    rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{srv.pid}/status").read()).group(1)) / 1024
    # after /ready the server makes the passes over the standard periods and renders the
    # landing pages in the background, then sizes the drill-downs' scratch buffers: the
    # load runs once that is done (steady state)
    while "drill-down scratch" not in open(log.name).read():
        if srv.poll() is not None:
            sys.exit(f"the server stopped; see {log.name}")
        if time.time() - t0 > ready + 600:
            sys.exit(f"the server did not finish warming in 10 minutes; see {log.name}")
        time.sleep(0.5)
    warmed = time.time() - t0
    rss_warm = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{srv.pid}/status").read()).group(1)) / 1024

    quarters = [f"FY{y}-Q{q}" for y in (2024, 2025, 2026) for q in (1, 2, 3, 4)]
    scenarios = [
        ("director home scorecard (same URL, cached)", "bench-director", ["/api/scorecard"]),
        ("CRO: every team/unit scope x 12 quarters (first pass uncached)", "bench-cro",
         [f"/api/scorecard?scope={k}:{i}&period={q}" for q in quarters for k, ids in (("team", leaders), ("unit", units)) for i in ids]),
        ("director: own people x 12 quarters, distinct KPI lists (uncached)", "bench-director",
         [f"/api/scorecard?scope=team:{p}&period={q}&kpi={','.join(KPIS[:1 + (n % len(KPIS))])}"
          for n, (p, q) in enumerate((p, q) for p in team for q in quarters)]),
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for title, user, paths in ([] if a.skip_load else scenarios):
            pf = os.path.join(tmp, "paths.txt")
            with open(pf, "w") as fh:
                fh.write("\n".join(paths) + "\n")
            lua = os.path.join(tmp, "s.lua")
            with open(lua, "w") as fh:
                fh.write(LUA % {"paths": pf, "token": tokens[user]})
            out = subprocess.run(["wrk", "-t2", f"-c{a.connections}", f"-d{a.duration}s", "--timeout", "10s",
                                  "-s", lua, base], capture_output=True, text=True).stdout
            m = re.search(r"RESULT (\{.*\})", out)
            r = json.loads(m.group(1))
            r["title"] = title
            r["urls"] = len(paths)
            results.append(r)

    # pages, as a signed-in browser would fetch them: the first render (uncached) and the
    # median of five more
    pages = []
    for user, person in [("bench-director", director), ("bench-cro", cro)]:
        subprocess.run([binary, "--db", a.db, "user", "reset-password", user, "--password-stdin"],
                       input="bench-password-1\n", text=True, capture_output=True, check=True)
        jar = urllib.request.HTTPCookieProcessor()
        opener = urllib.request.build_opener(jar)
        opener.open(base + "/login", data=f"username={user}&password=bench-password-1&next=/roles".encode()).read()
        for path in ["/", "/org", f"/explain?kpi=win_rate&period=FY2026-Q3", "/roles/compare?a=vp_inside_sales&b=director_inside_sales",
                     f"/people/{person}?period=FY2026-Q2", f"/scope?scope=team:{person}&period=2026-05",
                     "/?period=FY2025-Q1", "/?period=2025-03", f"/scope?scope=team:{person}&period=FY2024"]:
            times = []
            for _ in range(6):
                t = time.time()
                body = opener.open(base + path).read()
                times.append((time.time() - t) * 1e3)
            pages.append((user, path, times[0], sorted(times[1:])[2], len(body)))

    # every KPI's drill-down for the company-wide viewer, over periods warming did not
    # prepare drill-downs for: the first render (the pass over the records behind it) and
    # the next page (read from the kept drill-down)
    drills = []
    if a.drilldowns:  # `opener` is still signed in as bench-cro, the last user above
        kpis = json.loads(urllib.request.urlopen(urllib.request.Request(
            base + "/api/kpis", headers={"Authorization": "Bearer " + tokens["bench-cro"]})).read())
        ids = [k["id"] for k in kpis["kpis"] if k.get("available", True)]
        if a.kpis:
            ids = [k for k in ids if k in a.kpis.split(",")]
        scope = f"&scope={urllib.parse.quote(a.drill_scope)}" if a.drill_scope else ""
        for period in ["FY2026-Q2", "2026-05"]:
            for k in ids:
                t = time.time()
                try:
                    body = opener.open(base + f"/explain?kpi={k}&period={period}{scope}").read()
                except urllib.error.HTTPError as e:
                    body = b""
                first = (time.time() - t) * 1e3
                t = time.time()
                try:
                    opener.open(base + f"/explain?kpi={k}&period={period}{scope}&page=2").read()
                except urllib.error.HTTPError:
                    pass
                drills.append((k, period, first, (time.time() - t) * 1e3, len(body)))

    # the company-wide viewer's landing page over date ranges none of warming's passes
    # holds: each page makes a pass of its own over the range, the range before it and
    # last year's (logged by the server as "company-wide pass made")
    ranges = []
    if a.ranges:
        time.sleep(a.ranges_after)
        rng = random.Random(43)
        first_day = datetime.date(2024, 2, 1)
        for _ in range(a.ranges):
            start = first_day + datetime.timedelta(days=rng.randrange(0, 900))
            end = start + datetime.timedelta(days=rng.randrange(7, 71))
            period = f"{start.isoformat()}..{end.isoformat()}"
            faults = minor_faults(srv.pid)
            t = time.time()
            body = opener.open(base + f"/?period={period}").read()
            ms = (time.time() - t) * 1e3
            ranges.append((period, ms, len(body), minor_faults(srv.pid) - faults))
        # (what the range pages' passes hold once kept: the server compacts each on a
        # thread of its own after its page is out)
        time.sleep(1)
        rss_ranges = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{srv.pid}/status").read()).group(1)) / 1024
        # the same pages again: each from its kept pass, or its pass made again where the
        # cache's budget had dropped it
        again = []
        for period, _, _, _ in ranges:
            req = urllib.request.Request(
                base + "/api/scorecard?scope=company&period=" + urllib.parse.quote(period),
                headers={"Authorization": "Bearer " + tokens["bench-cro"]})
            t = time.time()
            urllib.request.urlopen(req, timeout=600).read()
            again.append((time.time() - t) * 1e3)

    # the bulk export, as `scorecard --all --grain quarter` over the three fiscal years, for
    # the company-wide viewer: the first request rolls every row up from the kept standard
    # pass and keeps its classes of segments with it, later ones roll up from those (until
    # the data or the day changes)
    bulk = []
    if a.bulk:
        req = urllib.request.Request(
            base + "/api/scorecard/bulk?grain=quarter&from=FY2024-Q1&to=FY2026-Q4&format=csv",
            headers={"Authorization": "Bearer " + tokens["bench-cro"]})
        for _ in range(6):
            t = time.time()
            body = urllib.request.urlopen(req, timeout=600).read()
            bulk.append(((time.time() - t) * 1e3, body.count(b"\n") - 1, len(body)))
        rss_bulk = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{srv.pid}/status").read()).group(1)) / 1024

    srv.send_signal(signal.SIGTERM)
    code = srv.wait(timeout=60)
    print()
    print(f"server ready after {ready:.1f}s, RSS {rss:.0f} MB; warmed after {warmed:.1f}s, RSS {rss_warm:.0f} MB; "
          f"stopped by SIGTERM with exit code {code}")
    for r in results:
        rps = r["requests"] / r["seconds"]
        print(f"{r['title']}: {r['urls']:,} URLs, {rps:,.0f} req/s, p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, "
              f"p99 {r['p99']:.1f} ms, non-2xx/errors {r['errors']} (target p95 <= 50 ms: {'met' if r['p95'] <= 50 else 'NOT met'})")
    for user, path, first, med, size in pages:
        print(f"page {path} as {user}: first {first:.0f} ms, then median {med:.1f} ms ({size / 1024:.0f} KB)")
    for k, period, first, second, size in drills:
        print(f"drill-down {k} of {a.drill_scope or 'company'} over {period} as bench-cro: first {first:.0f} ms, "
              f"next page {second:.1f} ms ({size / 1024:.0f} KB)"
              f"{'' if first <= 100 else '  > 100 ms'}")
    if drills:
        slow = [d for d in drills if d[2] > 100]
        print(f"drill-downs over 100 ms on first render: {len(slow)} of {len(drills)}")
    if ranges:
        for period, ms, size, faults in ranges:
            print(f"landing page over {period} as bench-cro: first {ms:.0f} ms ({size / 1024:.0f} KB; "
                  f"the server's minor page faults {faults:,}, {faults * 4 / 1024:.0f} MB of fresh pages)")
        ts = [r[1] for r in ranges]
        head, tail = sorted(ts[:16]), sorted(ts[16:])
        print(f"landing pages over {len(ts)} date ranges: mean {sum(ts) / len(ts):.0f} ms, "
              f"median {sorted(ts)[len(ts) // 2]:.0f} ms; the first 16 median {head[len(head) // 2]:.0f} ms"
              + (f", the rest median {tail[len(tail) // 2]:.0f} ms" if tail else "")
              + f"; RSS after them {rss_ranges:.0f} MB")
        print(f"the company's scorecard over the same {len(again)} ranges (`/api/scorecard`): "
              f"median {sorted(again)[len(again) // 2]:.0f} ms, max {max(again):.0f} ms")
    if bulk:
        rest = sorted(b[0] for b in bulk[1:])
        print(f"bulk export (quarter, FY2024-Q1..FY2026-Q4, CSV) as bench-cro: {bulk[0][1]:,} rows, "
              f"{bulk[0][2] / 1e6:.1f} MB; first {bulk[0][0]:.0f} ms, then min {rest[0]:.0f} ms, "
              f"median {rest[len(rest) // 2]:.0f} ms ({len(rest)} more); RSS after them {rss_bulk:.0f} MB")
    print(f"server log: {log.name}")


if __name__ == "__main__":
    main()
