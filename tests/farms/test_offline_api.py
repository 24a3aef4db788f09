"""Logs made offline on a phone and sent when the connection returns (issue 13): the entry's UUID is an
idempotency key, the entry keeps the time it was made, and the rules are checked again when it arrives."""
import datetime as dt
import threading
import uuid

import pytest

from farms.models import InputProduct, Log, LogPlot
from tests.farms.test_api import api, assert_error  # noqa: F401 (the api fixture)
from tests.helpers import TZ


def now():
    return dt.datetime.now(TZ).replace(microsecond=0)


def observation(world, client_id, made=None, **extra):
    made = made or now() - dt.timedelta(hours=5)
    return dict({"kind": "observation", "timestamp": made.strftime("%Y-%m-%dT%H:%M"), "plots": [world.plot_a.id],
                 "notes": "东坡红蜘蛛每叶约3头", "client_id": str(client_id), "recorded_at": made.isoformat()}, **extra)


def test_an_entry_sent_twice_is_stored_once(api, world):
    key = uuid.uuid4()
    body = observation(world, key)
    first = api.post(f"/farms/{world.farm_a.id}/logs", json=body)
    assert first.status_code == 201, first.json
    again = api.post(f"/farms/{world.farm_a.id}/logs", json=body)
    # The answer to the resend is the stored log, not a second one.
    assert again.status_code == 200, again.json
    assert again.json == first.json
    assert Log.select().where(Log.client_id == key).count() == 1
    assert LogPlot.select().where(LogPlot.log == first.json["id"]).count() == 1
    assert first.json["client_id"] == str(key)


def test_the_same_key_with_a_different_entry_is_a_conflict(api, world):
    key = uuid.uuid4()
    assert api.post(f"/farms/{world.farm_a.id}/logs", json=observation(world, key)).status_code == 201
    changed = observation(world, key, notes="另一条")
    assert_error(api.post(f"/farms/{world.farm_a.id}/logs", json=changed), 409, "conflict", ["client_id"])
    assert Log.select().where(Log.client_id == key).count() == 1


def test_another_user_cannot_read_a_log_through_its_key(client, api, world):
    from tests.helpers import bearer

    key = uuid.uuid4()
    body = observation(world, key)
    assert api.post(f"/farms/{world.farm_a.id}/logs", json=body).status_code == 201
    # worker_a may log on farm A, but the key belongs to farmer_a's entry.
    response = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", json=body, headers=bearer(world.worker_a))
    assert_error(response, 409, "conflict", ["client_id"])


def test_the_entry_keeps_the_time_it_was_made(api, world):
    made = now() - dt.timedelta(days=2, hours=3)
    created = api.post(f"/farms/{world.farm_a.id}/logs", json=observation(world, uuid.uuid4(), made=made))
    assert created.status_code == 201, created.json
    assert dt.datetime.fromisoformat(created.json["recorded_at"]) == made
    assert dt.datetime.fromisoformat(created.json["timestamp"]) == made.replace(second=0)
    # created_at is the sync, two days later.
    assert dt.datetime.fromisoformat(created.json["created_at"]) - made > dt.timedelta(days=2)


@pytest.mark.parametrize("made, field", [
    (dt.timedelta(days=3), "recorded_at"),  # a phone clock far ahead
    (-dt.timedelta(days=400), "recorded_at"),  # a queue forgotten for more than a year
])
def test_the_time_made_is_bounded(api, world, made, field):
    body = observation(world, uuid.uuid4())
    body["recorded_at"] = (now() + made).isoformat()
    assert_error(api.post(f"/farms/{world.farm_a.id}/logs", json=body), 422, "invalid", [field])
    assert not Log.select().where(Log.notes == body["notes"]).exists()


@pytest.mark.parametrize("client_id, recorded_at, field", [
    ("not-a-uuid", None, "client_id"),
    (12345, None, "client_id"),
    ("0d1f9a52-6b7e-4c3a-9f0e-2a4b6c8d0e11", "2026-12-01T08:00", "recorded_at"),  # no offset: which zone?
    ("5e2c7b90-3a41-4d8f-b6e2-7c9d1f0a3b22", "yesterday", "recorded_at"),
])
def test_malformed_offline_fields_are_refused(api, world, client_id, recorded_at, field):
    body = observation(world, uuid.uuid4())
    body.update(client_id=client_id, recorded_at=recorded_at)
    assert_error(api.post(f"/farms/{world.farm_a.id}/logs", json=body), 422, "invalid", [field])


def test_a_plot_archived_meanwhile_refuses_the_entry_with_the_reason(api, world):
    body = observation(world, uuid.uuid4())
    archived = api.post(f"/plots/{world.plot_a.id}/archive")
    assert archived.status_code == 200 and archived.json["archived_at"]
    response = api.post(f"/farms/{world.farm_a.id}/logs", json=body)
    assert_error(response, 422, "invalid", ["plots"])
    assert world.plot_a.name in response.json["error"]["fields"]["plots"]
    assert api.post(f"/plots/{world.plot_a.id}/unarchive").json["archived_at"] is None
    assert api.post(f"/farms/{world.farm_a.id}/logs", json=body).status_code == 201


def test_a_worker_cannot_archive_a_plot(client, world):
    from tests.helpers import bearer

    response = client.post(f"/api/v1/plots/{world.plot_a.id}/archive", headers=bearer(world.worker_a))
    assert response.status_code == 403


def test_a_harvest_inside_a_safe_interval_synced_meanwhile_is_refused_until_confirmed(api, world):
    product = InputProduct.get(InputProduct.code == "spirodiclofen_24sc")  # 30 days
    sprayed = now() - dt.timedelta(days=10)
    # The harvest was entered offline; meanwhile a worker's spraying reached the server.
    harvest = {"kind": "harvest", "timestamp": now().strftime("%Y-%m-%dT%H:%M"), "plots": [world.plot_a.id],
               "planting": world.planting_a.id, "quantity": 800, "unit": "kg",
               "client_id": str(uuid.uuid4()), "recorded_at": now().isoformat()}
    assert api.post(f"/farms/{world.farm_a.id}/logs", json={
        "kind": "input", "timestamp": sprayed.isoformat(), "plots": [world.plot_a.id],
        "input_product": product.id, "dose": 25}).status_code == 201
    response = api.post(f"/farms/{world.farm_a.id}/logs", json=harvest)
    assert_error(response, 409, "conflict", ["timestamp", "confirm_safe_interval"])
    safe = (sprayed + dt.timedelta(days=30)).date().isoformat()
    assert "24%螺螨酯悬浮剂" in response.json["error"]["message"] and safe in response.json["error"]["message"]
    assert not Log.select().where(Log.kind == "harvest", Log.quantity == 800).exists()
    # Fixed by the farmer: confirmed (the key had stored nothing, so it may carry the fixed entry).
    confirmed = api.post(f"/farms/{world.farm_a.id}/logs", json=dict(harvest, confirm_safe_interval=True))
    assert confirmed.status_code == 201, confirmed.json


def test_offline_fields_need_a_client_id(api, world):
    body = observation(world, uuid.uuid4())
    del body["client_id"]
    assert_error(api.post(f"/farms/{world.farm_a.id}/logs", json=body), 422, "invalid", ["client_id"])


def test_a_log_sent_without_a_key_is_created_as_before(api, world):
    body = observation(world, uuid.uuid4())
    for name in ("client_id", "recorded_at"):
        del body[name]
    first = api.post(f"/farms/{world.farm_a.id}/logs", json=body)
    assert first.status_code == 201 and first.json["client_id"] is None and first.json["recorded_at"] is None
    assert api.post(f"/farms/{world.farm_a.id}/logs", json=body).status_code == 201


def test_two_sends_at_once_store_one_log(app, world):
    """The phone retries while the first request is still being answered: both answers name one log."""
    from tests.helpers import bearer

    body = observation(world, uuid.uuid4())
    headers = bearer(world.farmer_a)
    answers = []

    def send():
        with app.test_client() as c:
            answers.append(c.post(f"/api/v1/farms/{world.farm_a.id}/logs", json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers].count(201) == 1, [a.json for a in answers]
    assert {a.status_code for a in answers} <= {200, 201}, [a.json for a in answers]
    assert len({a.json["id"] for a in answers}) == 1
    assert Log.select().where(Log.client_id == body["client_id"]).count() == 1


def test_a_page_post_whose_answer_was_lost_is_not_stored_again_by_the_queue(client, world):
    """The log page posts with the entry's UUID; the network loses the answer, so the phone's queue
    sends the same entry through the API later: it is the same log."""
    from tests.helpers import csrf_token, login

    login(client, "farmer_a")
    token = csrf_token(client, f"/plots/{world.plot_a.id}/logs/new?kind=activity")
    key, made = str(uuid.uuid4()), now() - dt.timedelta(minutes=40)
    fields = {"kind": "activity", "activity_kind": "irrigation", "timestamp": made.strftime("%Y-%m-%dT%H:%M"),
              "plots": str(world.plot_a.id), "planting": str(world.planting_a.id), "quantity": "12", "unit": "m³",
              "notes": "滴灌两小时"}
    page = client.post(f"/plots/{world.plot_a.id}/logs/new?kind=activity",
                       data=dict(fields, csrf_token=token, client_id=key, recorded_at=made.isoformat()))
    assert page.status_code == 302, page.get_data(as_text=True)[:300]
    queued = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", headers={"X-CSRFToken": token},
                         json=dict(fields, plots=[world.plot_a.id], client_id=key, recorded_at=made.isoformat()))
    assert queued.status_code == 200, queued.json
    assert Log.select().where(Log.notes == "滴灌两小时").count() == 1
    assert dt.datetime.fromisoformat(queued.json["recorded_at"]) == made


def test_a_page_post_with_a_bad_key_shows_the_error(client, world):
    from tests.helpers import csrf_token, login

    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=observation"
    page = client.post(url, data={"csrf_token": csrf_token(client, url), "kind": "observation",
                                  "timestamp": now().strftime("%Y-%m-%dT%H:%M"), "plots": str(world.plot_a.id),
                                  "client_id": "x", "notes": "看过"})
    assert page.status_code == 422 and 'class="flash error"' in page.get_data(as_text=True)
    assert not Log.select().where(Log.notes == "看过").exists()
