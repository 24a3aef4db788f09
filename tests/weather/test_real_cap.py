"""Real CAP messages: the traits of what national weather services actually send.

The messages are constructed (tests/data/cap_constructed/, see its README); each test names the
real publisher whose messages it stands for. Database tests run on SQLite and PostgreSQL.
"""
import datetime as dt
from pathlib import Path

import pytest

from farms.models import Alert
from tests.helpers import TZ, cap_message
from weather import cap, service
from weather.models import Feed, WeatherWarning

DATA = Path(__file__).resolve().parents[1] / "data" / "cap_constructed"


def load(name):
    return (DATA / name).read_bytes()


def utc(text):
    """Naive UTC, as the project stores and compares times."""
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc).replace(tzinfo=None)


def ingest(app, data, now=None):
    with app.test_request_context():
        return service.ingest(cap.parse_alert(data), now=now)


def open_alerts(farm):
    return list(Alert.select().where((Alert.farm == farm) & Alert.cleared_at.is_null()))


# ---------------------------------------------------------------- 12-digit division codes


def test_city_warning_with_a_12_digit_code_reaches_the_farms_of_the_city(app, world, client):
    # Stands for 国家预警信息发布中心 (12379): 赣州市 written as 360700000000.
    warning = ingest(app, load("cn_12379_rainstorm_ganzhou_city_12digit.xml"), now=utc("2026-06-10T09:00:00+08:00"))
    assert warning.state == "active"
    assert open_alerts(world.farm_a)  # 信丰县 lies in 赣州市
    assert not open_alerts(world.farm_b)  # 南丰县 lies in 抚州市
    with app.test_request_context():
        script = service.broadcast_text(warning)
    assert "影响范围是赣州市" in script and "乡镇" not in script, script


@pytest.mark.parametrize("code, hits_a, hits_b", [
    ("360000000000", True, True),    # 江西省, padded: the province covers both farms
    ("361000000000", False, True),   # 抚州市, padded
    ("361023000000", False, True),   # 南丰县, padded
    ("360722101000", True, False),   # a township of 信丰县
    ("370614000000", False, False),  # a county in Shandong, as seen in the wild
])
def test_12_digit_codes_match_at_every_level(app, world, code, hits_a, hits_b):
    # Stands for 国家预警信息发布中心 (12379) messages at province, city, county and township level.
    ingest(app, cap_message(f"G12-{code}", geocodes=(code,)))
    assert (bool(open_alerts(world.farm_a)), bool(open_alerts(world.farm_b))) == (hits_a, hits_b)
