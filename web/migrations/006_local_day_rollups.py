"""Peewee migrations -- 006_local_day_rollups.py.

Day rollups become days of TIMEZONE (the farm's calendar day) instead of UTC days: every
day rollup is rebuilt from the hour rollups, which hold the same sums at a finer grain
(count and total add up, the minimum of minima, the maximum of maxima). No schema change.
"""
import datetime as dt

import peewee as pw
from peewee_migrate import Migrator

CHUNK = 2000  # rows per INSERT


def _naive(value):
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _rebuild(database, to_local_days):
    from web.clock import local_zone

    zone = local_zone() if to_local_days else dt.timezone.utc
    day_of = {}

    def day(hour):
        if hour not in day_of:
            local = hour.replace(tzinfo=dt.timezone.utc).astimezone(zone)
            midnight = dt.datetime(local.year, local.month, local.day, tzinfo=zone)
            day_of[hour] = midnight.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return day_of[hour]

    p = database.param
    insert = (f"INSERT INTO rollup (device_id, metric, period, start, count, total, minimum, maximum) "
              f"VALUES ({p}, {p}, 'day', {p}, {p}, {p}, {p}, {p})")
    with database.atomic():
        database.execute_sql("DELETE FROM rollup WHERE period = 'day'")
        cursor = database.execute_sql(
            "SELECT device_id, metric, start, count, total, minimum, maximum FROM rollup "
            "WHERE period = 'hour' ORDER BY device_id, metric, start")
        days, rows = {}, []
        while True:
            fetched = cursor.fetchmany(10_000)
            for device_id, metric, start, count, total, low, high in fetched:
                key = (device_id, metric, day(_naive(start)))
                if key in days:
                    c, t, lo, hi = days[key]
                    days[key] = (c + count, t + total, min(lo, low), max(hi, high))
                else:
                    days[key] = (count, total, low, high)
            # Rows come ordered by device and metric: flush the finished (device, metric) pairs.
            last = fetched[-1][:2] if fetched else None
            for key in [k for k in days if k[:2] != last]:
                rows.append((key[0], key[1], str(key[2]), *days.pop(key)))
            while len(rows) >= CHUNK or (not fetched and rows):
                batch, rows = rows[:CHUNK], rows[CHUNK:]
                database.cursor().executemany(insert, batch)
            if not fetched:
                break


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_rebuild, database, True)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_rebuild, database, False)
