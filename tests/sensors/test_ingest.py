"""HTTP ingest: SenML and plain batches, validation per reading, idempotency, bad input."""
import datetime as dt
import importlib.util
import time

import pytest

from sensors.models import Device, Reading, Rollup
from tests.helpers import ingest as post


def test_senml_with_base_values_and_unit_conversion(client, greenhouse):
    _plot, device, token = greenhouse
    now = time.time()
    pack = [{"bn": "urn:dev:gh1-station:", "bt": now - 60, "bu": "Cel", "n": "air_temperature", "v": 24.5},
            {"n": "air_temperature", "t": 30, "v": 298.15, "u": "K"},
            {"n": "air_humidity", "u": "%RH", "v": 81},
            {"n": "soil_ec", "u": "S/m", "v": 0.12},
            {"n": "co2", "u": "ppm", "v": 420, "t": 10}]
    response = post(client, token, pack)
    assert response.status_code == 200, response.json
    assert response.json == {"accepted": 5, "duplicates": 0, "rejected": []}
    values = {(r.metric, round(r.value, 2)) for r in Reading.select()}
    assert ("air_temperature", 25.0) in values and ("soil_ec", 1.2) in values
    assert all(r.credential_id is not None for r in Reading.select())
    hour = Rollup.get((Rollup.metric == "air_temperature") & (Rollup.period == "hour"))
    assert (hour.count, hour.minimum, hour.maximum) in {(2, 24.5, 25.0), (1, 24.5, 24.5), (1, 25.0, 25.0)}


def test_each_reading_is_judged_alone(client, greenhouse):
    _plot, device, token = greenhouse
    now = dt.datetime.now(dt.timezone.utc)
    iso = lambda d: (now - dt.timedelta(minutes=d)).isoformat()  # noqa: E731
    batch = [{"metric": "air_temperature", "ts": iso(5), "value": 22.1},
             {"metric": "wind_speed", "ts": iso(5), "value": 3},
             {"metric": "air_humidity", "ts": iso(5), "value": 130},
             {"metric": "soil_moisture", "ts": iso(5), "value": 65535},
             {"metric": "air_temperature", "ts": (now + dt.timedelta(days=2)).isoformat(), "value": 20},
             {"metric": "air_temperature", "ts": "2001-01-01T00:00:00+00:00", "value": 20},
             {"metric": "air_temperature", "ts": iso(4), "value": 20, "unit": "mm"},
             {"metric": "air_temperature", "ts": iso(3), "value": "hot"}]
    response = post(client, token, batch)
    assert response.status_code == 200
    assert response.json["accepted"] == 1
    assert [r["index"] for r in response.json["rejected"]] == [1, 2, 3, 4, 5, 6, 7]
    device = Device.get_by_id(device.id)
    assert device.rejected_count == 7 and device.last_rejection


def test_retries_are_stored_once(client, greenhouse):
    _plot, _device, token = greenhouse
    ts = int(time.time()) - 120
    batch = [{"metric": "co2", "ts": ts + i, "value": 400 + i} for i in range(100)]
    assert post(client, token, batch).json["accepted"] == 100
    again = post(client, token, batch).json
    assert again == {"accepted": 0, "duplicates": 100, "rejected": []}
    assert Reading.select().count() == 100
    assert Rollup.get((Rollup.period == "day")).count == 100


def test_a_resent_batch_that_overlaps_stores_only_the_new_readings(client, greenhouse):
    """A gateway resends the last 100 readings with 50 new ones, with other values for the old: only
    the 50 new ones are stored, the stored values stay, and the rollups count each reading once."""
    _plot, _device, token = greenhouse
    ts = int(time.time()) - 3600
    first = [{"metric": "co2", "ts": ts + i, "value": 400.0} for i in range(100)]
    assert post(client, token, first).json["accepted"] == 100
    overlapping = [{"metric": "co2", "ts": ts + i, "value": 900.0} for i in range(50, 200)]
    assert post(client, token, overlapping).json == {"accepted": 100, "duplicates": 50, "rejected": []}
    stored = {r.ts: r.value for r in Reading.select()}
    assert len(stored) == 200
    assert sorted(stored.values()) == [400.0] * 100 + [900.0] * 100
    day = Rollup.select().where(Rollup.period == "day")
    assert sum(r.count for r in day) == 200 and sum(r.total for r in day) == 100 * 400 + 100 * 900
    hours = Rollup.select().where(Rollup.period == "hour")
    assert sum(r.count for r in hours) == 200 and max(r.maximum for r in hours) == 900.0


def test_day_rollups_are_the_farms_calendar_days(app, client, greenhouse):
    """07:30 and 09:00 in Jiangxi are one day (UTC would split them at 08:00); migration 006 rebuilds
    day rollups from hour rollups, and its rollback gives the UTC days back."""
    from web import db

    _plot, device, token = greenhouse
    cst = dt.timezone(dt.timedelta(hours=8))
    day = (dt.datetime.now(cst) - dt.timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    times = [day.replace(hour=7, minute=30), day.replace(hour=9)]
    batch = [{"metric": "co2", "ts": t.isoformat(), "value": v} for t, v in zip(times, (400.0, 600.0))]
    assert post(client, token, batch).json["accepted"] == 2

    def days():
        return sorted((r.start, r.count, r.minimum, r.maximum)
                      for r in Rollup.select().where((Rollup.device == device.id) & (Rollup.period == "day")))

    midnight_utc = day.astimezone(dt.timezone.utc).replace(tzinfo=None)
    assert days() == [(midnight_utc, 2, 400.0, 600.0)]
    hours = Rollup.select().where(Rollup.period == "hour").count()
    # The migration's data step, both ways (the schema stays as it is: later migrations follow 006).
    spec = importlib.util.spec_from_file_location("local_day_rollups", db.MIGRATIONS_DIR / "006_local_day_rollups.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.database.connection_context():
        migration._rebuild(db.database, False)  # its rollback: UTC days
        utc_day = times[1].astimezone(dt.timezone.utc).replace(hour=0, tzinfo=None)
        assert days() == [(utc_day - dt.timedelta(days=1), 1, 400.0, 400.0), (utc_day, 1, 600.0, 600.0)]
        migration._rebuild(db.database, True)
        assert days() == [(midnight_utc, 2, 400.0, 600.0)]
        assert Rollup.select().where(Rollup.period == "hour").count() == hours


@pytest.mark.parametrize("value", ["1e400", "-1e400", "1" + "0" * 400])
def test_numbers_beyond_a_float_are_rejected_not_a_crash(client, greenhouse, value):
    _plot, _device, token = greenhouse
    now = int(time.time())
    body = (f'[{{"bn": "urn:dev:gh1-station:", "n": "co2", "t": {now - 60}, "v": {value}}},'
            f' {{"n": "co2", "t": {now - 50}, "v": 420}}, {{"n": "co2", "t": {value}, "v": 420}}]')
    response = post(client, token, body)
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 1
    assert [r["index"] for r in response.json["rejected"]] == [0, 2]
    plain = f'[{{"metric": "co2", "ts": {now - 40}, "value": {value}}}, {{"metric": "co2", "ts": {value}, "value": 1}}]'
    response = post(client, token, plain)
    assert response.status_code == 422, response.json  # nothing in it could be stored
    assert [r["index"] for r in response.json["rejected"]] == [0, 1]
    assert Reading.select().count() == 1


@pytest.mark.parametrize("token, body, status", [
    (None, [], 401),
    ("dv_wrong", [], 401),
    ("TOKEN", b"{not json", 400),
    ("TOKEN", {"metric": "co2"}, 422),
    ("TOKEN", [{"metric": "co2", "ts": 1, "value": 1}] * 10001, 422),
])
def test_bad_requests_store_nothing(client, greenhouse, token, body, status):
    _plot, _device, real = greenhouse
    response = post(client, real if token == "TOKEN" else token, body)
    assert response.status_code == status
    assert set(response.json["error"]) == {"code", "message", "fields"}
    assert Reading.select().count() == 0


def test_ten_megabytes_is_refused(client, greenhouse):
    _plot, _device, token = greenhouse
    response = post(client, token, b"[" + b" " * (10 * 1024 * 1024) + b"]")
    assert response.status_code == 413
    assert Reading.select().count() == 0


def test_revoked_and_rotated_tokens(app, client, world, greenhouse):
    from sensors import service

    _plot, device, token = greenhouse
    ts = int(time.time()) - 60
    with app.test_request_context():
        new = service.rotate_token(world.farmer_a, device)
    assert post(client, token, [{"metric": "co2", "ts": ts, "value": 1}]).status_code == 401
    assert post(client, new, [{"metric": "co2", "ts": ts, "value": 500}]).json["accepted"] == 1
    with app.test_request_context():
        service.revoke_tokens(world.farmer_a, device)
    assert post(client, new, [{"metric": "co2", "ts": ts + 1, "value": 500}]).status_code == 401


def test_a_token_cannot_write_for_another_device(app, client, world, greenhouse):
    from sensors import service

    _plot, _device, token = greenhouse
    with app.test_request_context():
        other, _other_token = service.create_device(world.farmer_b, world.plot_b.id, "B 土壤", ["soil_moisture"],
                                                    uid="b-soil")
    pack = [{"bn": "urn:dev:b-soil:", "n": "soil_moisture", "v": 30}]
    response = post(client, token, pack)
    assert response.json["accepted"] == 0
    assert Reading.select().where(Reading.device == other.id).count() == 0


def test_a_device_name_is_matched_whole_not_by_its_end(app, client, world, greenhouse):
    """A station whose uid ("station") is the end of another's ("gh1-station"): its token may not send
    readings named for the other device, while its own names, in every form, still arrive."""
    from sensors import service

    with app.test_request_context():
        station, token = service.create_device(world.farmer_b, world.plot_b.id, "B 土壤", ["soil_moisture"],
                                               uid="station")
    now = int(time.time())
    for bn in ("urn:dev:gh1-station:", "gh1-station/", "xstation:", "urn:dev:mac:station:"):
        response = post(client, token, [{"bn": bn, "n": "soil_moisture", "t": now - 60, "v": 30}])
        assert response.json["accepted"] == 0, bn
    assert Reading.select().where(Reading.device == station.id).count() == 0
    for offset, pack in enumerate(([{"bn": "urn:dev:station:", "n": "soil_moisture", "v": 31}],
                                   [{"bn": "URN:DEV:station:", "n": "soil_moisture", "v": 32}],
                                   [{"n": "station/soil_moisture", "v": 33}],
                                   [{"n": "soil_moisture", "v": 34}])):
        pack[0]["t"] = now - 50 + offset
        assert post(client, token, pack).json["accepted"] == 1, pack
    assert Reading.select().where(Reading.device == station.id).count() == 4
