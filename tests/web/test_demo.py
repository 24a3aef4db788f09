"""The demo loader: accounts, farms in real counties, months of farm log, idempotent."""
import csv
import datetime as dt
import re

import pytest

from farms import demo as farm_demo
from tests.helpers import login
from web import demo
from web.clock import local_zone

ACCOUNTS = {  # username: (role, division code)
    "admin": ("admin", None),
    "farmer1": ("farmer", None),
    "farmer2": ("farmer", None),
    "coop1": ("operator", None),
    "inspector1": ("inspector", None),
    "bureau_xinfeng": ("bureau", "360722"),
    "bureau_ganzhou": ("bureau", "360700"),
    "bureau_jiangxi": ("bureau", "360000"),
}
FARMS = {  # county code: (owner, crop codes grown there)
    "360722": ("farmer1", {"navel_orange"}),
    "361023": ("farmer2", {"nanfeng_tangerine"}),
    "360483": ("farmer3", {"tea"}),
    "361130": ("farmer4", {"tea"}),
    "361128": ("farmer5", {"mitten_crab", "bighead_carp"}),
    "360121": ("farmer6", {"rice", "chili_pepper", "artemisia"}),
}
LOT = re.compile(r"^[A-Z]{2}-\d{4}-[2-9A-HJ-NP-Z]{6}$")  # prefix, year, random part


def _load(app, **kwargs):
    """The demo's accounts, farms and logs, which these tests look at (not the stations, batch or feed)."""
    with app.app_context():
        return demo.load(only=("farms",), **kwargs)


def _row_counts():
    from web import db

    return {model._meta.table_name: model.select().count() for model in db.all_models()}


def _farm_in(county):
    from farms.models import Farm

    return Farm.get(Farm.county == county)


def _catalogue():
    from farms import catalogue

    with open(catalogue.DATA / "input_products.csv", newline="", encoding="utf-8") as fh:
        return {row["code"]: (row["category"], int(row["phi_days"])) for row in csv.DictReader(fh)}


def test_load_creates_every_account(app):
    from werkzeug.security import check_password_hash

    from web.accounts.models import User

    _load(app)
    for username, (role, division) in ACCOUNTS.items():
        user = User.get(User.username == username)
        assert (user.role, user.division_code) == (role, division), username
        assert re.search(r"[\u4e00-\u9fff]", user.display_name), username
    for user in User.select():
        assert check_password_hash(user.password_hash, demo.PASSWORD), user.username
    farmer1, coop1 = User.get(User.username == "farmer1"), User.get(User.username == "coop1")
    assert farmer1.organisation.name == coop1.organisation.name == "信丰县绿源脐橙专业合作社"
    assert coop1.organisation.kind == "cooperative"
    lab = User.get(User.username == "inspector1").organisation
    assert (lab.name, lab.kind) == ("赣州市农产品质量安全检测中心", "lab")


def test_farmer1_signs_in_with_the_demo_password(app, client):
    _load(app)
    login(client, "farmer1", "demo-password")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert "信丰县安西镇脐橙果园" in page.get_data(as_text=True)


def test_farms_sit_in_their_counties_with_plots_and_plantings(app):
    from farms import service as farms
    from farms.models import Farm, FarmMember, Planting, Plot
    from web.accounts.models import User

    _load(app)
    assert Farm.select().count() == len(FARMS)
    for county, (owner, crops) in FARMS.items():
        farm = _farm_in(county)
        assert FarmMember.get((FarmMember.farm == farm) & (FarmMember.role == "owner")).user.username == owner
        assert 24.4 < farm.latitude < 30.1 and 113.5 < farm.longitude < 118.5, farm.name  # inside Jiangxi
        assert farm.address.startswith("江西省")
        plots = list(Plot.select().where(Plot.farm == farm))
        assert 2 <= len(plots) <= 3 and all(plot.area_m2 > 0 for plot in plots)
        grown = {p.crop.code for p in Planting.select().join(Plot).where(Plot.farm == farm)}
        assert grown == crops, farm.name
        assert farms.farm_certifications(farm), farm.name

    orchard = _farm_in("360722")
    assert orchard.organisation.name == "信丰县绿源脐橙专业合作社"
    assert {p.kind for p in Plot.select().where(Plot.farm == orchard)} == {"orchard", "greenhouse"}
    assert {p.variety for p in Planting.select().join(Plot).where(Plot.farm == orchard)} >= {"纽荷尔"}

    # Each role sees the farms the permission rules give it.
    def seen(username):
        return {f.county_code for f in farms.visible_farms(User.get(User.username == username))}

    assert seen("coop1") == {"360722"}
    assert seen("bureau_xinfeng") == seen("bureau_ganzhou") == {"360722"}
    assert seen("bureau_jiangxi") == seen("inspector1") == seen("admin") == set(FARMS)
    assert seen("farmer2") == {"361023"}


def test_every_farm_has_months_of_logs(app):
    from farms.models import PESTICIDE_CATEGORIES, Log, LogPlot
    from web.accounts.models import utcnow

    started = utcnow()
    _load(app)
    lots = set()
    for county in FARMS:
        farm = _farm_in(county)
        logs = list(Log.select().where(Log.farm == farm).order_by(Log.timestamp))
        assert 12 <= len(logs) <= 80, (farm.name, len(logs))  # fewest in the winter
        assert (logs[-1].timestamp - logs[0].timestamp).days > 60, farm.name
        assert logs[-1].timestamp <= utcnow()
        assert logs[0].timestamp >= started - dt.timedelta(days=farm_demo.WINDOW_DAYS + 1)
        assert len({log.kind for log in logs}) >= 4, farm.name
        plots = {}
        for link in LogPlot.select().join(Log).where(Log.farm == farm):
            plots.setdefault(link.log_id, set()).add(link.plot_id)
        harvests = [log for log in logs if log.kind == "harvest"]
        for log in harvests:
            assert LOT.match(log.lot_number) and log.lot_number not in lots, log.lot_number
            assert log.quantity > 0 and log.unit == "kg" and log.planting_id
            lots.add(log.lot_number)
        for log in logs:
            if log.kind == "input" and log.input_category in PESTICIDE_CATEGORIES:
                assert log.input_product_id and log.phi_days is not None
                for later in harvests:
                    if plots[later.id] & plots[log.id]:
                        assert not dt.timedelta(0) <= later.timestamp - log.timestamp \
                            < dt.timedelta(days=log.phi_days), (farm.name, log.product_name, later.lot_number)
    # November: navel oranges, tangerines and crabs are being harvested.
    if dt.date.today().month == 11:
        assert any(lot.startswith(("XF-", "NF-", "PY-")) for lot in lots)


def test_a_second_load_changes_nothing(app):
    assert demo.database_is_empty()
    first = _load(app)
    assert not demo.database_is_empty()
    assert first["users"] >= len(ACCOUNTS) and first["farms"] == len(FARMS) and first["logs"] > 100
    counts = _row_counts()
    second = _load(app)
    assert _row_counts() == counts
    assert not any(second.values())
    assert "nothing new" in str(second)


def test_load_in_spring_follows_the_season(app):
    from farms.models import Crop, Log, Planting

    spring = dt.datetime(2026, 4, 28, 18, 0, tzinfo=local_zone())
    _load(app, now=spring)
    harvested = {log.planting.crop.code for log in
                 Log.select(Log, Planting, Crop).join(Planting).join(Crop).where(Log.kind == "harvest")}
    assert "tea" in harvested  # spring tea
    assert not harvested & {"navel_orange", "nanfeng_tangerine", "mitten_crab"}  # not in April
    lots = [log.lot_number for log in Log.select().where(Log.kind == "harvest")]
    assert any(lot.startswith(("LS-2026-", "WY-2026-")) for lot in lots)
    latest = Log.select().order_by(Log.timestamp.desc()).first().timestamp
    assert latest <= spring.astimezone(dt.timezone.utc).replace(tzinfo=None)


@pytest.mark.parametrize("month", range(1, 13))
def test_plans_stay_in_season_and_in_the_past(month):
    catalogue = _catalogue()
    now = dt.datetime(2026, month, 20, 12, 30, tzinfo=local_zone())
    for spec in farm_demo.FARMS:
        events = farm_demo.plan(spec, now, catalogue)
        assert events == farm_demo.plan(spec, now, catalogue)  # deterministic
        assert 12 <= len(events) <= 80, (spec.key, month)
        assert all(e.timestamp.tzinfo is not None and e.timestamp <= now for e in events)
        assert events[0].timestamp >= now - dt.timedelta(days=farm_demo.WINDOW_DAYS + 1)
        assert (events[-1].timestamp - events[0].timestamp).days > 60, (spec.key, month)
        for e in events:
            if e.kind == "harvest":
                assert farm_demo.in_season(e.timestamp.date(), e.seasons), (spec.key, e.timestamp)
            if e.kind == "input" and "input_product" in e.data:
                assert e.data["input_product"] in catalogue


def test_load_demo_command(app):
    from web.accounts.models import User

    runner = app.test_cli_runner()
    result = runner.invoke(args=["load-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "demo loaded" in result.output
    assert User.get(User.username == "bureau_jiangxi").division_code == "360000"
    again = runner.invoke(args=["load-demo", "--if-empty"])
    assert again.exit_code == 0, again.output
    assert "already has users" in again.output
