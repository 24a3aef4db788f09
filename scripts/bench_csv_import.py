#!/usr/bin/env python3
"""CSV import throughput: a two-year, 15-minute HOBO-style export (about 70,000 rows) through
``sensors.csv_import.import_csv`` into a fresh SQLite file and/or a fresh PostgreSQL schema.

The file stands for a HOBO MX2301 greenhouse logger exported by HOBOware: a "Plot Title" preamble,
a "Date Time, GMT+08:00" header, US-style 12-hour times, temperature and humidity. Prints rows/s
and readings/s (median of ``--rounds``, each into a new device). It is not a test.

    .venv/bin/python scripts/bench_csv_import.py [--db sqlite|postgres|both] [--rounds 3] [--days 730]
"""
import argparse
import datetime as dt
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_ingest import POSTGRES_URL  # noqa: E402


def hobo_file(days, step_minutes=15):
    """Bytes of a HOBOware export ending now (Shanghai time), ``days`` long."""
    zone = dt.timezone(dt.timedelta(hours=8))
    end = dt.datetime.now(zone).replace(second=0, microsecond=0, tzinfo=None) - dt.timedelta(hours=1)
    count = days * 24 * 60 // step_minutes
    start = end - dt.timedelta(minutes=step_minutes * (count - 1))
    lines = ['"Plot Title: 2号大棚 MX2301"',
             '"#","Date Time, GMT+08:00","Temp, °C (LGR S/N: 21034567, SEN S/N: 21034567)",'
             '"RH, % (LGR S/N: 21034567, SEN S/N: 21034567)"']
    for i in range(count):
        t = start + dt.timedelta(minutes=step_minutes * i)
        temp = 18 + 8 * math.sin(i / 96 * 2 * math.pi)
        rh = 75 - 15 * math.sin(i / 96 * 2 * math.pi)
        lines.append(f"{i + 1},{t.strftime('%m/%d/%y %I:%M:%S %p')},{temp:.3f},{rh:.2f}")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), count


def run(name, data, rows, rounds):
    from bench_db import bench_database
    from flask_babel import force_locale

    from farms import service as farms
    from sensors import csv_import, service
    from web import create_app
    from web.accounts import service as accounts
    from web.cli import init_database

    mapping = csv_import.Mapping(time_column="Date Time, GMT+08:00",
                                 columns={"air_temperature": ("Temp, °C", "Cel"), "air_humidity": ("RH, %", "%RH")},
                                 timezone="Asia/Shanghai")
    with bench_database(name == "postgres", "bench_csv_", POSTGRES_URL, schema="benchcsv") as (url, tmp):
        app = create_app({"DATABASE_URL": url, "DATA_DIR": str(Path(tmp) / "data"), "SECRET_KEY": "bench",
                          "LOG_LEVEL": "WARNING", "DATABASE_TIMEOUT": 600, "RUN_SCHEDULER": False})
        times, cpus = [], []  # wall clock; CPU of this process (the database server's is not in it)
        with app.app_context(), force_locale("en"):
            init_database()
            user = accounts.create_user("bench", "bench-password-1", "farmer", display_name="bench")
            farm = farms.create_farm(user, {"name": "bench farm", "county_code": "360722"})
            plot = farms.create_plot(user, farm, {"name": "bench greenhouse", "kind": "greenhouse", "area": 1})
            for r in range(rounds):
                device, _token = service.create_device(user, plot.id, f"logger {r}",
                                                       ["air_temperature", "air_humidity"], uid=f"bench-csv-{r}")
                started, cpu = time.perf_counter(), time.process_time()
                report = csv_import.import_csv(device, data, mapping)
                times.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
                print(f"  {name} round {r + 1}: {rows / times[-1]:,.0f} rows/s ({times[-1]:.2f} s, "
                      f"{cpus[-1]:.2f} s of this process's CPU); "
                      f"{report.imported} imported, {report.rejected_count} rejected")
        best = statistics.median(times)
        print(f"{name}: median {rows / best:,.0f} rows/s, {2 * rows / best:,.0f} readings/s over {rounds} rounds; "
              f"median CPU {statistics.median(cpus):.2f} s ({rows / statistics.median(cpus):,.0f} rows per CPU second)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    data, rows = hobo_file(args.days)
    print(f"{rows:,} rows, {len(data) / 1e6:.1f} MB")
    for name in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        run(name, data, rows, args.rounds)


if __name__ == "__main__":
    main()
