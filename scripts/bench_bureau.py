"""Benchmark the agriculture bureau's summaries on a province-sized synthetic database.

    .venv/bin/python scripts/bench_bureau.py [--db sqlite|postgres|both] [--scale 0.1] [--runs 10]

``--scale 1`` is the province of the issue: every one of Jiangxi's 100 counties, 10,000 farms (two plots and
two plantings each), 100,000 harvest batches (each sealed; 80 % in confirmed roots), 120,000 pesticide
applications, 200,000 alerts (60 % acknowledged), 20,000 inspections, 300,000 consumer scans and one sensor
device per farm with a year of daily rollups (two metrics) and ``--readings`` raw readings per device (1,000:
10,000,000 at scale 1). Journey events are not generated: the bureau never reads them (the seals say whether a
batch is anchored).

It builds a fresh SQLite file in a temporary directory and a fresh schema of BENCH_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test, dropped afterwards), migrates them with ``init_database``, bulk-loads
rows shaped like the services' (``bench_recall.bulk``), then:

* times the bureau's full rebuild of the tallies (a year) and an incremental refresh;
* times ``bureau.service.summary`` for the province, a city and a county over the last month and the last year
  (median and p95 of ``--runs`` calls after a warm-up) against a raw-SQL baseline that computes the same flows
  (pesticide applications by ingredient, alerts by source and level, harvest batches and kilograms by crop,
  inspections, scans, raw readings) straight from the domains' tables for the same division and period;
* measures sensor ingest (``sensors.service.ingest``, batches of 100 readings) in readings/s alone and with the
  refresh running at the start of each round and every ``--refresh-every`` seconds (alternating rounds of
  ``--ingest-seconds`` / 4 each; far more often than the default job's 300 s), the cost the aggregates add. Ingest itself writes nothing for the bureau: the refresh reads the daily rollups.

Targets: province ≤ 300 ms, county ≤ 100 ms; ingest cost ≤ 10 %.
"""
import argparse
import contextlib
import datetime as dt
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_recall import bulk  # noqa: E402

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGETS_MS = {"province": 300, "city": None, "county": 100}
DIVISIONS = {"province": "360000", "city": "360700", "county": "360722"}
INGREDIENTS = ["阿维菌素 abamectin", "吡虫啉 imidacloprid", "代森锰锌 mancozeb", "螺螨酯 spirodiclofen",
               "氯虫苯甲酰胺 chlorantraniliprole", "苯醚甲环唑 difenoconazole", "三环唑 tricyclazole"]
CROPS = ["navel_orange", "nanfeng_tangerine", "tea", "rice", "chili_pepper", "bighead_carp", "mitten_crab"]
LEVELS = ["blue", "yellow", "orange", "red"]


def generate(counties, scale, readings_per_device, now, seed=7):
    """Rows per table, as tuples in the order of ``load``'s field lists."""
    rng = random.Random(seed)
    farms_n = max(len(counties), int(10_000 * scale))
    day0 = now - dt.timedelta(days=365)

    def when(days=365):
        return now - dt.timedelta(seconds=rng.randrange(int(days * 86400)))

    w = {k: [] for k in ("orgs", "farms", "certs", "plots", "plantings", "logs", "batches", "roots", "seals",
                         "alerts", "inspections", "scans", "devices", "rollups", "readings")}
    lab = farms_n + 1
    w["orgs"].append((lab, "省农产品检测中心", "lab", None, "", day0))
    log_id = batch_id = seal_id = alert_id = inspection_id = scan_id = rollup_id = reading_id = 0
    roots = max(1, farms_n // 10)
    for r in range(1, roots + 1):
        w["roots"].append((r, f"0x{r:064x}", lab, 1000, "confirmed", f"0x{r:064x}", r, now - dt.timedelta(days=1), "0x" + "1" * 40, 50000,
                           0, "", None, now - dt.timedelta(days=1), now - dt.timedelta(days=1)))
    crop_ids = {}
    for f in range(1, farms_n + 1):
        county = counties[(f - 1) % len(counties)]
        created = now - dt.timedelta(days=rng.randrange(30, 1100))
        w["orgs"].append((f, f"合作社{f}", "farm", county, "", created))
        w["farms"].append((f, f"农场{f}", f, county, "", None, None, created))
        if rng.random() < 0.3:
            w["certs"].append((f, f, "green_food", f"GF{f}", None))
        for p in (0, 1):
            plot_id = 2 * f - 1 + p
            w["plots"].append((plot_id, f, f"地块{p + 1}", "orchard", rng.uniform(2000, 60000), None, "", created))
            crop = CROPS[(f + p) % len(CROPS)]
            ended = None if rng.random() > 0.1 else (now - dt.timedelta(days=rng.randrange(1, 200))).date()
            w["plantings"].append((plot_id, plot_id, crop, "", "sown", (created + dt.timedelta(days=5)).date(), None,
                                   ended, "", created))
            crop_ids[plot_id] = crop
        for _i in range(12):
            log_id += 1
            t = when()
            w["logs"].append((log_id, f, "input", t, None, "", None, "", None, "insecticide", "药",
                              rng.choice(INGREDIENTS), 40.0, "ml/亩", 14, "", "", "", None, t))
        for _i in range(10):
            log_id += 1
            batch_id += 1
            t = when()
            plot_id = 2 * f - 1 + (batch_id % 2)
            kg = float(rng.randrange(200, 20000))
            w["logs"].append((log_id, f, "harvest", t, plot_id, "", kg, "kg", None, "", "", "", None, "", None, "",
                              "", f"L{batch_id}", None, t))
            day = (t + dt.timedelta(hours=8)).date()
            w["batches"].append((batch_id, f"B{batch_id:09d}", f, f, None, f"L{batch_id}", None, "产品", "",
                                 crop_ids[plot_id], "", f, plot_id, log_id, day, kg, kg, "kg", "active", None, t))
            seal_id += 1
            root = rng.randrange(1, roots + 1) if rng.random() < 0.8 else None
            w["seals"].append((seal_id, seal_id, f"urn:uuid:{seal_id}", batch_id, 0, f, "0x" + "a" * 64, None,
                               "0x" + "1" * 40, "0x" + "b" * 130, root, None, t))
            if batch_id % 5 == 0:
                inspection_id += 1
                w["inspections"].append((inspection_id, lab, None, batch_id, None, t, rng.random() < 0.95, "[]",
                                         None, t))
            for _s in range(3):
                scan_id += 1
                w["scans"].append((scan_id, batch_id, None, min(now - dt.timedelta(hours=2), t + dt.timedelta(days=rng.randrange(1, 20))), "x"))
        for _i in range(20):
            alert_id += 1
            t = when()
            acked = min(now - dt.timedelta(hours=2), t + dt.timedelta(minutes=rng.randrange(1, 600))) if rng.random() < 0.6 else None
            w["alerts"].append((alert_id, rng.choice(["sensor", "weather"]), f"k{alert_id}", rng.choice(LEVELS), f,
                                None, "{}", t, t, acked, None, None))
        w["devices"].append((f, f, 2 * f - 1, f"dev-{f}", "站", "soil_moisture,soil_temperature", True, now, 0, None,
                             None, created))
        local_midnight = dt.datetime.combine((now + dt.timedelta(hours=8)).date(), dt.time()) - dt.timedelta(hours=8)
        for d in range(365):
            start = local_midnight - dt.timedelta(days=d)
            for metric in ("soil_moisture", "soil_temperature"):
                rollup_id += 1
                w["rollups"].append((rollup_id, f, metric, "day", start, 144, 144 * 25.0, 20.0, 30.0))
        for i in range(readings_per_device):
            reading_id += 1
            w["readings"].append((reading_id, f, "soil_moisture", now - dt.timedelta(minutes=10 * (i + 1)),
                                  25.0 + (i % 7), None))
    return w


def load(w, postgres):
    from chain.models import Root, Seal
    from farms.models import Alert, Certification, Farm, Log, Planting, Plot
    from sensors.models import Device, Reading, Rollup
    from trace.models import Batch, Inspection, Scan
    from web.accounts.models import Organisation
    from web.db import database

    with database.connection_context():
        crop_ids = dict(database.execute_sql("SELECT code, id FROM crop").fetchall())
    plantings = [row[:2] + (crop_ids[row[2]],) + row[3:] for row in w["plantings"]]
    O, F, C, P, Pl, L, B, R, S, A, I, Sc, D, Ru, Re = (Organisation, Farm, Certification, Plot, Planting, Log, Batch,
                                                       Root, Seal, Alert, Inspection, Scan, Device, Rollup, Reading)
    tables = [
        (O, [O.id, O.name, O.kind, O.division, O.contact_phone, O.created_at], w["orgs"]),
        (F, [F.id, F.name, F.organisation, F.county, F.address, F.latitude, F.longitude, F.created_at], w["farms"]),
        (C, [C.id, C.farm, C.kind, C.number, C.valid_until], w["certs"]),
        (P, [P.id, P.farm, P.name, P.kind, P.area_m2, P.geometry, P.notes, P.created_at], w["plots"]),
        (Pl, [Pl.id, Pl.plot, Pl.crop, Pl.variety, Pl.start_method, Pl.start_date, Pl.expected_harvest, Pl.ended_on,
              Pl.notes, Pl.created_at], plantings),
        (L, [L.id, L.farm, L.kind, L.timestamp, L.planting, L.notes, L.quantity, L.unit, L.input_product,
             L.input_category, L.product_name, L.active_ingredient, L.dose, L.dose_unit, L.phi_days, L.input_lot,
             L.activity_kind, L.lot_number, L.created_by, L.created_at], w["logs"]),
        (B, [B.id, B.code, B.organisation, B.holder, B.destination, B.lot_number, B.gtin, B.product_name,
             B.product_name_en, B.crop_code, B.variety, B.farm, B.plot, B.harvest_log, B.harvest_date, B.quantity,
             B.remaining, B.unit, B.status, B.created_by, B.created_at], w["batches"]),
        (R, [R.id, R.root, R.organisation, R.count, R.state, R.tx_hash, R.block_number, R.anchored_at, R.submitter,
             R.gas_used, R.attempts, R.last_error, R.next_try_at, R.created_at, R.confirmed_at], w["roots"]),
        (S, [S.id, S.event_pk, S.event_uuid, S.batch_id, S.seq, S.organisation, S.leaf, S.prev, S.signer,
             S.signature, S.root, S.proof, S.created_at], w["seals"]),
        (A, [A.id, A.source, A.source_key, A.severity, A.farm, A.plot, A.content, A.created_at, A.updated_at,
             A.acknowledged_at, A.acknowledged_by, A.cleared_at], w["alerts"]),
        (I, [I.id, I.lab, I.inspector, I.batch, I.plot, I.sampled_at, I.passed, I.items, I.report_sha256,
             I.created_at], w["inspections"]),
        (Sc, [Sc.id, Sc.batch, Sc.serial, Sc.scanned_at, Sc.place], w["scans"]),
        (D, [D.id, D.farm, D.plot, D.uid, D.name, D.metrics, D.active, D.last_seen_at, D.rejected_count,
             D.last_rejection, D.last_rejection_at, D.created_at], w["devices"]),
        (Ru, [Ru.id, Ru.device, Ru.metric, Ru.period, Ru.start, Ru.count, Ru.total, Ru.minimum, Ru.maximum],
         w["rollups"]),
        (Re, [Re.id, Re.device, Re.metric, Re.ts, Re.value, Re.credential], w["readings"]),
    ]
    with database.connection_context():
        for model, fields, rows in tables:
            bulk(model, fields, rows, postgres)
        if postgres:
            for model, _fields, _rows in tables:
                table = model._meta.table_name
                database.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                     f"(SELECT max(id) FROM \"{table}\"))")
            database.execute_sql("ANALYZE")
        else:
            database.execute_sql("ANALYZE")


RAW_SQL = [
    # What a summary costs without the tallies: the flows, straight from the domains' tables.
    ("SELECT l.active_ingredient, count(*) FROM log l JOIN farm f ON f.id = l.farm_id "
     "WHERE l.kind = 'input' AND f.county_code LIKE %(p)s AND l.timestamp >= %(s)s AND l.timestamp < %(e)s "
     "GROUP BY l.active_ingredient"),
    ("SELECT a.source, a.severity, count(*), count(a.acknowledged_at) FROM alert a JOIN farm f ON f.id = a.farm_id "
     "WHERE f.county_code LIKE %(p)s AND a.created_at >= %(s)s AND a.created_at < %(e)s GROUP BY a.source, a.severity"),
    ("SELECT b.crop_code, count(*), sum(b.quantity) FROM batch b JOIN farm f ON f.id = b.farm_id "
     "WHERE f.county_code LIKE %(p)s AND b.harvest_date >= %(sd)s AND b.harvest_date <= %(ed)s GROUP BY b.crop_code"),
    ("SELECT count(*), sum(CASE WHEN i.passed THEN 1 ELSE 0 END) FROM inspection i JOIN batch b ON b.id = i.batch_id "
     "JOIN farm f ON f.id = b.farm_id WHERE f.county_code LIKE %(p)s AND i.sampled_at >= %(s)s AND i.sampled_at < %(e)s"),
    ("SELECT count(*) FROM scan s JOIN batch b ON b.id = s.batch_id JOIN farm f ON f.id = b.farm_id "
     "WHERE f.county_code LIKE %(p)s AND s.scanned_at >= %(s)s AND s.scanned_at < %(e)s"),
    ("SELECT count(*) FROM reading r JOIN device d ON d.id = r.device_id JOIN farm f ON f.id = d.farm_id "
     "WHERE f.county_code LIKE %(p)s AND r.ts >= %(s)s AND r.ts < %(e)s"),
]


def raw_baseline(prefix, start_day, end_day):
    from web.db import database, is_postgres

    params = {"p": prefix + "%", "s": dt.datetime.combine(start_day, dt.time()) - dt.timedelta(hours=8),
              "e": dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time()) - dt.timedelta(hours=8),
              "sd": start_day, "ed": end_day}
    for sql in RAW_SQL:
        if not is_postgres():
            import re

            sql = re.sub(r"%\((\w+)\)s", r":\1", sql)
            values = {k: (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else
                          v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
            database.connection().execute(sql, values).fetchall()
        else:
            database.execute_sql(sql, params).fetchall()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def measure(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 95)


def ingest_rate(device, credential, seconds, refresh_every, now, start):
    """Readings per second through ``sensors.service.ingest`` (batches of 100, 0.2 s apart from ``start``) for
    ``seconds``; with ``refresh_every`` the bureau refresh runs whenever that many seconds have passed (as the
    scheduler's job would, on the same database), its time counted against ingest. Returns (rate, refreshes,
    the next start)."""
    from bureau import service as bureau
    from sensors import service as sensors

    began = time.perf_counter()
    last_refresh = began - refresh_every  # a refresh at the start of the round, then every refresh_every s
    count = refreshes = 0
    ts = start
    while time.perf_counter() - began < seconds:
        items = []
        for i in range(100):
            ts += 0.2
            items.append((i, "soil_moisture", ts, 20.0 + (i % 5), "%"))
        count += sensors.ingest(device, credential, items, now=now).accepted
        if refresh_every and time.perf_counter() - last_refresh >= refresh_every:
            bureau.refresh(now=now)
            refreshes += 1
            last_refresh = time.perf_counter()
    return count / (time.perf_counter() - began), refreshes, ts


def run(name, w, args, now):
    from bench_db import bench_database
    from bureau import service as bureau
    from sensors.models import Device, DeviceCredential
    from web import create_app, db
    from web.accounts.models import User

    postgres = name == "postgres"
    bench = contextlib.ExitStack()
    try:
        url, tmp = bench.enter_context(bench_database(postgres, "bench_bureau_", POSTGRES_URL))
        started = time.perf_counter()
        app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp / "data"), "SECRET_KEY": "bench",
                          "TESTING": True, "LOG_LEVEL": "WARNING", "DATABASE_TIMEOUT": 600})
        from web.cli import init_database

        init_database()
        load(w, postgres)
        print(f"[{name}] built in {time.perf_counter() - started:.1f} s", flush=True)
        out = {"db": name, "rows": []}
        with app.test_request_context(), db.database.connection_context():
            admin = User.create(username="bench-admin", password_hash="x", role="admin")
            t0 = time.perf_counter()
            report = bureau.refresh(now=now, rebuild=True, history_days=366)
            out["rebuild"] = time.perf_counter() - t0
            tallies = bureau.Tally.select().count()
            print(f"[{name}] rebuild of a year: {out['rebuild']:.1f} s, {tallies} tally rows", flush=True)
            t0 = time.perf_counter()
            bureau.refresh(now=now + dt.timedelta(minutes=5))
            out["incremental"] = time.perf_counter() - t0
            print(f"[{name}] incremental refresh: {out['incremental'] * 1000:.0f} ms", flush=True)
            today = (now + dt.timedelta(hours=8)).date()
            for span, days in (("month", 30), ("year", 365)):
                period = bureau.Period(today - dt.timedelta(days=days - 1), today)
                for level, code in DIVISIONS.items():
                    fn = (lambda c=code, p=period: bureau.summary(admin, c, p, None))
                    median, p95 = measure(fn, args.runs)
                    grouped = (lambda c=code, p=period, g=("county" if level != "county" else "month"):
                               bureau.summary(admin, c, p, g))
                    g_median, _g95 = measure(grouped, max(3, args.runs // 2))
                    raw_median, _raw95 = measure(lambda c=code, p=period: raw_baseline(
                        bureau.divisions.prefix(c), p.start, p.end), max(3, args.runs // 2))
                    farms = fn()["totals"]["farms"]
                    out["rows"].append((span, level, farms, median, p95, g_median, raw_median))
                    print(f"[{name}] {span} {level} ({farms} farms): summary median {median:.1f} ms p95 {p95:.1f} ms, "
                          f"grouped {g_median:.1f} ms; raw SQL {raw_median:.1f} ms ({raw_median / median:.1f}x)",
                          flush=True)
            device = Device.get_by_id(1)
            credential = DeviceCredential.create(device=device, prefix="dv_bench", token_hash="0" * 64)
            ingest_now = dt.datetime.utcnow().replace(microsecond=0)
            start = (ingest_now - dt.timedelta(hours=60)).replace(tzinfo=dt.timezone.utc).timestamp()
            # Alternating rounds, so that drift (a growing table, other work on the machine) falls on both.
            alone_rates, with_rates, refreshes = [], [], 0
            for _round in range(4):
                rate, _n, start = ingest_rate(device, credential, args.ingest_seconds / 4, 0, ingest_now, start)
                alone_rates.append(rate)
                rate, n, start = ingest_rate(device, credential, args.ingest_seconds / 4, args.refresh_every,
                                             ingest_now, start)
                with_rates.append(rate)
                refreshes += n
            alone, with_refresh = statistics.mean(alone_rates), statistics.mean(with_rates)
            out["ingest"] = (alone, with_refresh, refreshes)
            print(f"[{name}] ingest: {alone:.0f} readings/s alone, {with_refresh:.0f} with {refreshes} refreshes in "
                  f"{args.ingest_seconds:g} s ({100 * (alone - with_refresh) / alone:+.1f} % cost)", flush=True)
        return out
    finally:
        bench.close()  # closes the connection, drops the PostgreSQL schema, deletes the folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--readings", type=int, default=1000, help="raw readings per device")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--ingest-seconds", type=float, default=20, help="ingest time, alone and with refreshes")
    parser.add_argument("--refresh-every", type=float, default=10,
                        help="seconds between refreshes while ingesting (the default job: BUREAU_REFRESH_SECONDS=300)")
    args = parser.parse_args()
    counties = [line.split(",")[0] for line in
                (Path(__file__).resolve().parent.parent / "web" / "data" / "jiangxi_admin_divisions.csv")
                .read_text(encoding="utf-8").splitlines()[1:] if line.endswith(",county")]
    now = dt.datetime.utcnow().replace(microsecond=0)
    t0 = time.perf_counter()
    w = generate(counties, args.scale, args.readings, now)
    print(f"generated in {time.perf_counter() - t0:.1f} s: {len(counties)} counties, {len(w['farms'])} farms, "
          f"{len(w['batches'])} batches, {len(w['logs'])} logs, {len(w['alerts'])} alerts, {len(w['scans'])} scans, "
          f"{len(w['rollups'])} daily rollups, {len(w['readings'])} raw readings", flush=True)
    results = [run(name, w, args, now) for name in (["sqlite", "postgres"] if args.db == "both" else [args.db])]
    print()
    print("| database | period | division | farms | summary median ms | p95 ms | grouped ms | raw SQL ms | target |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        for span, level, farms, median, p95, g_median, raw in r["rows"]:
            target = TARGETS_MS.get(level)
            verdict = "" if target is None else (f"≤ {target} ✓" if p95 <= target else f"≤ {target} ✗")
            print(f"| {r['db']} | {span} | {level} | {farms} | {median:.1f} | {p95:.1f} | {g_median:.1f} | {raw:.1f} "
                  f"| {verdict} |")
    for r in results:
        alone, with_refresh, refreshes = r["ingest"]
        print(f"{r['db']}: rebuild {r['rebuild']:.1f} s, incremental refresh {r['incremental'] * 1000:.0f} ms, "
              f"ingest {alone:.0f} readings/s alone vs {with_refresh:.0f} with {refreshes} refreshes in "
              f"{args.ingest_seconds:g} s of ingest ({100 * (alone - with_refresh) / alone:+.1f} %)")


if __name__ == "__main__":
    main()
