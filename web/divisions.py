"""GB/T 2260 administrative divisions: the province, its cities and counties.

Codes are six digits. A code covers every code that shares its significant
prefix: the province 360000 covers "36", the city 360700 covers "3607", the
county 360722 covers itself and its 12-digit township codes.
"""
import csv
from pathlib import Path

import peewee as pw

from web.db import BaseModel, database

DATA_FILE = Path(__file__).resolve().parent / "data" / "jiangxi_admin_divisions.csv"
LEVELS = ("province", "prefecture", "county")


class Division(BaseModel):
    code = pw.CharField(max_length=6, primary_key=True)
    name = pw.CharField(max_length=64)
    parent_code = pw.CharField(max_length=6, null=True, index=True)
    level = pw.CharField(max_length=16)


def prefix(code):
    """The significant prefix of a division code."""
    code = str(code)
    if len(code) != 6 or not code.isdigit():
        raise ValueError(f"not a six-digit division code: {code!r}")
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def covers(scope_code, code):
    """True when the division ``scope_code`` contains (or is) ``code``."""
    return bool(code) and str(code).startswith(prefix(scope_code))


def load(path=DATA_FILE):
    """Load (or refresh) the division table from the CSV; idempotent."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [
            {"code": r["code"], "name": r["name"], "parent_code": r["parent_code"] or None,
             "level": r["level"]}
            for r in csv.DictReader(fh)
        ]
    with database.atomic():
        for chunk in range(0, len(rows), 100):
            (Division.insert_many(rows[chunk:chunk + 100])
             .on_conflict(conflict_target=[Division.code],
                          preserve=[Division.name, Division.parent_code, Division.level])
             .execute())
    return len(rows)


def get(code):
    return Division.get_or_none(Division.code == str(code))


def full_name(code):
    """'江西省 赣州市 信丰县' style name of a division and its parents."""
    names = []
    division = get(code)
    while division is not None:
        names.append(division.name)
        division = get(division.parent_code) if division.parent_code else None
    return " ".join(reversed(names))


def counties():
    return list(Division.select().where(Division.level == "county").order_by(Division.code))
