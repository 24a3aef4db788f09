"""The consumer scan counter (issue 11, item 6): only printed serials open the page, scans count
distinct places once a window, a client or network that floods the page gets 429 and is not
counted, and lot numbers the app suggests cannot be guessed from a public GTIN.

The addresses are documentation ranges (RFC 5737, RFC 3849) standing for phones on mobile and
home networks: several phones behind one carrier NAT share a /24, an IPv6 home a /48.
"""
import datetime as dt
import hashlib
import hmac
import re

import pytest

from tests.helpers import login
from trace import service as trace
from trace.models import Batch, Scan

GTIN = "06901234567892"


def _batch(app, user, harvest, **data):
    with app.test_request_context():
        return trace.create_batch(user, dict({"harvest_log": harvest.id}, **data))


def _scans(batch):
    return Scan.select().where(Scan.batch == batch.id).count()


def _backdate(batch, delta):
    for scan in Scan.select().where(Scan.batch == batch.id):
        Scan.update(scanned_at=scan.scanned_at - delta).where(Scan.id == scan.id).execute()


def _get(client, path, address="203.0.113.9"):
    return client.get(path, environ_base={"REMOTE_ADDR": address})


def _total(response):
    match = re.search(r'class="scan-total">(\d+) 次', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:300]
    return int(match.group(1))


# ---------------------------------------------------------------- only issued serials resolve


def test_only_serials_printed_on_labels_open_the_page(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest, quantity=4000)
    other = _batch(app, world.farmer_a, journey.harvest, lot_number="XF-2611-02", quantity=100)
    consumer = app.test_client()
    # Nothing printed with serials yet: any serial is a guess or a copy.
    for serial in ("000001", "0007", "A12"):
        response = _get(consumer, f"/t/{batch.code}/21/{serial}")
        assert response.status_code == 404 and "未找到该产品" in response.get_data(as_text=True)
    assert _scans(batch) == 0

    login(client, "farmer_a")
    sheet = client.get(f"/batches/{batch.id}/labels?n=3&serials=1").get_data(as_text=True)
    assert f"/t/{batch.code}/21/000003" in sheet
    response = _get(consumer, f"/t/{batch.code}/21/000002")
    assert response.status_code == 200 and "000002" in response.get_data(as_text=True)
    assert _scans(batch) == 1
    assert Scan.get(Scan.batch == batch.id).serial == "000002"
    # The next number on, and this batch's serial on another batch, were never printed.
    assert _get(consumer, f"/t/{batch.code}/21/000004", "198.51.100.1").status_code == 404
    assert _get(consumer, f"/t/{other.code}/21/000002", "198.51.100.2").status_code == 404
    assert _scans(batch) == 1 and _scans(other) == 0
    # The batch's own link without a serial still works.
    assert _get(consumer, f"/t/{batch.code}", "198.51.100.3").status_code == 200


def test_gs1_form_with_a_serial_resolves_only_when_issued(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest, gtin=GTIN)
    consumer = app.test_client()
    base = f"/01/{GTIN}/10/XF-2611-01"
    assert _get(consumer, f"{base}/21/000001").status_code == 404
    assert _scans(batch) == 0
    login(client, "farmer_a")
    client.get(f"/batches/{batch.id}/labels?n=2&start=1&serials=1")
    assert _get(consumer, f"{base}/21/000001").status_code == 200
    assert _get(consumer, f"{base}/21/000003", "198.51.100.9").status_code == 404
    assert _scans(batch) == 1


def test_a_batch_printed_without_serials_accepts_none(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "farmer_a")
    sheet = client.get(f"/batches/{batch.id}/labels?n=8").get_data(as_text=True)
    assert "/21/" not in sheet
    consumer = app.test_client()
    for serial in ("000001", "000008", "1"):
        assert _get(consumer, f"/t/{batch.code}/21/{serial}").status_code == 404
    assert _scans(batch) == 0
    assert _total(_get(consumer, f"/t/{batch.code}")) == 1


# ---------------------------------------------------------------- scans count places


def test_reloads_from_one_network_count_once_per_window(app, world, journey):
    """The finding: 36 anonymous page views from one client pushed a batch to "label may have been copied"."""
    app.config["CONSUMER_LIMIT_PER_ADDRESS"] = "1000/minute"
    batch = _batch(app, world.farmer_a, journey.harvest)
    consumer = app.test_client()
    for _ in range(36):
        response = _get(consumer, f"/t/{batch.code}")
        assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _total(response) == 1 and "scan-warning" not in html
    # Another phone behind the same carrier NAT (/24) is the same place; another /24 is a new one.
    assert _total(_get(consumer, f"/t/{batch.code}", "203.0.113.200")) == 1
    assert _total(_get(consumer, f"/t/{batch.code}", "203.0.114.9")) == 2
    # IPv6: one home's /48 is one place, whatever the host part; an IPv4-mapped address is its IPv4.
    assert _total(_get(consumer, f"/t/{batch.code}", "2001:db8:1::10")) == 3
    assert _total(_get(consumer, f"/t/{batch.code}", "2001:db8:1:ffff::99")) == 3
    assert _total(_get(consumer, f"/t/{batch.code}", "::ffff:203.0.113.77")) == 3
    # Once the window (SCAN_WINDOW_HOURS) has passed, the same place counts again.
    _backdate(batch, dt.timedelta(hours=25))
    assert _total(_get(consumer, f"/t/{batch.code}")) == 4
    assert _total(_get(consumer, f"/t/{batch.code}")) == 4
    app.config["SCAN_WINDOW_HOURS"] = 0.0001  # a window of a third of a second
    _backdate(batch, dt.timedelta(seconds=2))
    assert _total(_get(consumer, f"/t/{batch.code}")) == 5


def test_copied_label_warning_comes_from_distinct_places(app, world, journey):
    app.config["CONSUMER_LIMIT_PER_ADDRESS"] = "1000/minute"
    batch = _batch(app, world.farmer_a, journey.harvest)
    consumer = app.test_client()
    for network in range(trace.SCANS_PER_HOUR_LIMIT):
        assert _get(consumer, f"/t/{batch.code}", f"10.{network}.1.5").status_code == 200
    html = _get(consumer, f"/t/{batch.code}", "10.0.1.6").get_data(as_text=True)
    assert "scan-warning" not in html  # 30 places in an hour: a busy market, not a copy
    html = _get(consumer, f"/t/{batch.code}", "10.200.1.5").get_data(as_text=True)
    assert 'class="alert sev-red scan-warning"' in html and "标签可能被复制" in html
    assert _scans(batch) == trace.SCANS_PER_HOUR_LIMIT + 1


def test_a_place_is_a_keyed_hash_of_the_network(app):
    with app.app_context():
        place = trace.place_of("203.0.113.9")
        expected = hmac.new(b"test-secret", b"203.0.113.0/24", hashlib.sha256).hexdigest()[:16]
        assert place == expected
        # Without the key the place cannot be matched to a network by hashing every /24.
        assert place != hashlib.sha256(b"test-secret|203.0.113.0/24").hexdigest()[:16]
        assert trace.place_of("2001:db8:abcd:12::1") == trace.place_of("2001:db8:abcd:ffff::2")
        assert trace.place_of("not an address") == trace.place_of(None)
        app.config["SECRET_KEY"] = "another-install"
        assert trace.place_of("203.0.113.9") != place


# ---------------------------------------------------------------- floods are limited and not counted


def test_an_address_that_floods_gets_429_and_is_not_counted(app, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    consumer = app.test_client()
    assert app.config["CONSUMER_LIMIT_PER_ADDRESS"] == "30/minute"
    for _ in range(30):
        assert _get(consumer, f"/t/{batch.code}").status_code == 200
    limited = _get(consumer, f"/t/{batch.code}")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    html = limited.get_data(as_text=True)
    assert limited.mimetype == "text/html" and "请求过于频繁" in html and '<html lang="zh-CN">' in html
    assert _scans(batch) == 1
    # Guessing lots is throttled the same way: misses count against the address.
    assert _get(consumer, f"/01/{GTIN}/10/XF-2026-0001").status_code == 429
    # Another network is not held up.
    assert _get(consumer, f"/t/{batch.code}", "198.51.100.4").status_code == 200
    assert _scans(batch) == 2


def test_a_place_that_floods_from_many_addresses_gets_429(app, world, journey):
    app.config["CONSUMER_LIMIT_PER_PLACE"] = "5/minute"
    batch = _batch(app, world.farmer_a, journey.harvest, quantity=4000)
    other = _batch(app, world.farmer_a, journey.harvest, lot_number="XF-2611-02", quantity=100)
    consumer = app.test_client()
    for host in range(1, 6):  # five phones of one /24, each under its own address limit
        assert _get(consumer, f"/t/{batch.code}", f"203.0.113.{host}").status_code == 200
    limited = _get(consumer, f"/t/{other.code}", "203.0.113.77")
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert _scans(batch) == 1 and _scans(other) == 0
    assert _get(consumer, f"/t/{other.code}", "203.0.114.77").status_code == 200


def test_the_limit_answer_is_readable_in_english(app, world, journey):
    app.config["CONSUMER_LIMIT_PER_ADDRESS"] = "1/minute"
    batch = _batch(app, world.farmer_a, journey.harvest)
    consumer = app.test_client()
    consumer.set_cookie("locale", "en")
    assert _get(consumer, f"/t/{batch.code}").status_code == 200
    limited = _get(consumer, f"/t/{batch.code}")
    assert limited.status_code == 429
    assert "Too many requests from your network" in limited.get_data(as_text=True)


# ---------------------------------------------------------------- lots the app suggests


def test_suggested_lots_cannot_be_guessed_from_a_public_gtin(app, world, journey):
    from farms import service as farms

    with app.app_context():
        lots = {farms.suggest_lot("XF") for _ in range(200)}
    assert len(lots) == 200
    year = dt.date.today().year
    for lot in lots:
        assert re.fullmatch(rf"XF-{year}-[2-9A-HJ-NP-Z]{{6}}", lot), lot
    # A harvest logged without a lot, batched with a GTIN, gets such a lot; guessing the next one fails.
    harvest = farms.create_log(world.farmer_a, world.farm_a, {
        "kind": "harvest", "timestamp": journey.now - dt.timedelta(days=2), "plots": [world.plot_a.id],
        "planting": world.planting_a.id, "quantity": 300, "unit": "kg"})
    batch = _batch(app, world.farmer_a, harvest, gtin=GTIN)
    assert re.fullmatch(r"[A-Z]+-\d{4}-[2-9A-HJ-NP-Z]{6}", batch.lot_number), batch.lot_number
    consumer = app.test_client()
    assert _get(consumer, f"/01/{GTIN}/10/{batch.lot_number}").status_code == 200
    prefix = batch.lot_number.rsplit("-", 1)[0]
    for guess in (f"{prefix}-01", f"{prefix}-000001", f"{prefix}-AAAAAA"):
        assert _get(consumer, f"/01/{GTIN}/10/{guess}", "198.51.100.8").status_code == 404
    assert _scans(batch) == 1


def test_forms_suggest_unguessable_lots(app, client, world, journey):
    from farms import service as farms

    login(client, "farmer_a")
    lot = re.compile(r'name="lot_number"[^>]*value="(LOT-\d{4}-[2-9A-HJ-NP-Z]{6})"')
    first = lot.search(client.get(f"/plots/{world.plot_a.id}/logs/new?kind=harvest").get_data(as_text=True))
    second = lot.search(client.get(f"/plots/{world.plot_a.id}/logs/new?kind=harvest").get_data(as_text=True))
    assert first and second and first.group(1) != second.group(1)
    harvest = farms.create_log(world.farmer_a, world.farm_a, {
        "kind": "harvest", "timestamp": journey.now - dt.timedelta(days=2), "plots": [world.plot_a.id],
        "planting": world.planting_a.id, "quantity": 300, "unit": "kg"})
    page = client.get(f"/batches/new?harvest_log={harvest.id}").get_data(as_text=True)
    assert lot.search(page), page[:2000]


def test_existing_predictable_lots_keep_working(app, world, journey):
    """Lots made before suggestions were random (``XF-2611-01``) and lots typed by a farmer still open."""
    batch = _batch(app, world.farmer_a, journey.harvest, gtin=GTIN)
    assert batch.lot_number == "XF-2611-01"
    assert _get(app.test_client(), f"/01/{GTIN}/10/XF-2611-01").status_code == 200


def test_split_batches_get_unguessable_lots(app, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest, gtin=GTIN)
    with app.test_request_context():
        children = trace.split(world.farmer_a, Batch.get_by_id(batch.id), [100, 200])
    for child in children:
        assert re.fullmatch(r"XF-\d{4}-[2-9A-HJ-NP-Z]{6}", child.lot_number), child.lot_number
    assert children[0].lot_number != children[1].lot_number
