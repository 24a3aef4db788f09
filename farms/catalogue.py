"""Reference catalogues: crops grown in Jiangxi and common farm inputs.

The pre-harvest intervals are the usual values on Chinese product labels for
the main crop the product is used on; the label on the package governs, and
the farmer can change the value on each log. ``crops`` lists the catalogue's crops a product
is usually registered for (pesticide registrations of ICAMA); fertilisers name none.
"""
import csv
from pathlib import Path

from farms.models import INPUT_CATEGORIES, Crop, InputProduct
from web.db import database

DATA = Path(__file__).resolve().parent / "data"


def _rows(name):
    with open(DATA / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load():
    """Insert or refresh both catalogues; idempotent."""
    crops = _rows("crops.csv")
    products = _rows("input_products.csv")
    for row in products:
        assert row["category"] in INPUT_CATEGORIES, row
        row["phi_days"] = int(row["phi_days"])
    with database.atomic():
        (Crop.insert_many(crops).on_conflict(
            conflict_target=[Crop.code],
            preserve=[Crop.name_zh, Crop.name_en, Crop.category, Crop.default_unit]).execute())
        (InputProduct.insert_many(products).on_conflict(
            conflict_target=[InputProduct.code],
            preserve=[InputProduct.name_zh, InputProduct.name_en, InputProduct.category,
                      InputProduct.active_ingredient, InputProduct.phi_days,
                      InputProduct.default_unit, InputProduct.crops]).execute())
    return len(crops), len(products)
