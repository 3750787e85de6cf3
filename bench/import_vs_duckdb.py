#!/usr/bin/env python3
"""Import benchmark: salesorg vs DuckDB on the same generated Salesforce export.

    python3 bench/import_vs_duckdb.py --opportunities 10000000

1. builds salesorg in release mode (unless --bin is given),
2. generates a Salesforce Data Export folder with `salesorg demo --export-salesforce`,
3. times `salesorg import salesforce DIR` into a fresh SQLite store (and, with --pg URL, PostgreSQL),
4. times DuckDB (pip package `duckdb`) loading the same CSV files with `read_csv` into tables,
5. prints both times and the ratio.

The generated data is deterministic (seed and end date fixed) and is removed afterwards
unless --keep is given. Nothing here is a timed test: run it by hand, read the ratio.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

FILES = ["UserRole", "User", "Account", "Opportunity", "OpportunityHistory", "Lead", "Task", "Event"]
# read by the import too where the export has them (the reps' quotas and their periods, a
# multi-currency org's rates): DuckDB loads them as well, so both load the same files
OPTIONAL = ["ForecastingQuota", "Period", "CurrencyType", "DatedConversionRate"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--opportunities", type=int, default=1_000_000)
    ap.add_argument("--people", type=int, default=None, help="default: about one person per 1,100 opportunities")
    ap.add_argument("--activities-per-opp", type=float, default=1.0)
    ap.add_argument("--bin", default=None, help="a salesorg binary (default: build target/release/salesorg)")
    ap.add_argument("--dir", default=None, help="where to write the export (default: a temp folder)")
    ap.add_argument("--pg", default=None, help="also import into this PostgreSQL URL (a fresh schema)")
    ap.add_argument("--keep", action="store_true")
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
    export = os.path.join(work, "export")
    people = a.people or max(200, a.opportunities // 1100)
    t = time.time()
    subprocess.run([binary, "demo", "--export-salesforce", export, "--end", "2025-12-31", "--seed", "7",
                    "--people", str(people), "--opportunities", str(a.opportunities),
                    "--activities-per-opp", str(a.activities_per_opp),
                    # (no prospecting calls: the export every session has measured)
                    "--prospecting-calls", "0"], check=True)
    gen = time.time() - t
    files = FILES + [f for f in OPTIONAL if os.path.exists(os.path.join(export, f + ".csv"))]
    sizes = {f: os.path.getsize(os.path.join(export, f + ".csv")) for f in files}
    rows = {}
    for f in files:
        with open(os.path.join(export, f + ".csv"), "rb") as fh:
            rows[f] = sum(1 for _ in fh) - 1  # no multi-line fields in the generated export
    total_rows = sum(rows.values())
    print(f"export: {total_rows:,} rows, {sum(sizes.values()) / 1e9:.2f} GB, generated in {gen:.1f}s")
    for f in files:
        print(f"  {f + '.csv':<24} {rows[f]:>12,} rows {sizes[f] / 1e6:>9.1f} MB")

    db = os.path.join(work, "bench.db")
    duck_db = os.path.join(work, "bench.duckdb")
    # (both into fresh stores: a --dir used before holds the last run's, and an import into
    # a store that holds the same records is another path, and DuckDB's tables exist)
    for old in (db, db + "-wal", db + "-shm", db + "-journal", db + ".scorecard", duck_db, duck_db + ".wal"):
        if os.path.exists(old):
            os.remove(old)
    t = time.time()
    subprocess.run([binary, "--db", db, "import", "salesforce", export], check=True)
    ours = time.time() - t

    con = duckdb.connect(duck_db)
    t = time.time()
    for f in files:
        con.execute(f"CREATE TABLE \"{f}\" AS SELECT * FROM read_csv('{os.path.join(export, f + '.csv')}', header=true)")
    con.close()
    duck = time.time() - t

    print()
    print(f"salesorg import (SQLite, parse + validate + upsert + org merge): {ours:8.1f} s  {total_rows / ours:>12,.0f} rows/s")
    print(f"DuckDB read_csv into tables (same files):                          {duck:8.1f} s  {total_rows / duck:>12,.0f} rows/s")
    print(f"ratio salesorg / DuckDB: {ours / duck:.2f}  (target: <= 1.0)")
    if a.pg:
        import uuid
        schema = "bench_" + uuid.uuid4().hex[:8]
        url = a.pg + ("&" if "?" in a.pg else "?") + "schema=" + schema
        t = time.time()
        subprocess.run([binary, "--db", url, "import", "salesforce", export], check=True)
        pg = time.time() - t
        print(f"salesorg import (PostgreSQL):                                    {pg:8.1f} s  ratio to DuckDB {pg / duck:.2f}")
        subprocess.run(["psql", a.pg.split("?")[0], "-qc", f"DROP SCHEMA {schema} CASCADE"], check=False)
    if not a.keep and a.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
