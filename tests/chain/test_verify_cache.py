"""The verification verdict is cached (CHAIN_VERIFY_CACHE_SECONDS), keyed by a digest of every row
it is computed from: a page view after any change made behind the app's back says so at once.

The attacker has the database, as in test_anchoring: triggers dropped, rows edited, deleted or
inserted by hand between two page views, while the verdict "verified" sits in the cache.
"""
import pytest

from chain import service
from chain.models import Root, Seal
from tests.chain.test_anchoring import MUTATIONS, anchor, deploy, raw, states


@pytest.fixture
def verified(anchored, monkeypatch):
    """An anchored journey whose "verified" verdict the page and the API have just put in the cache."""
    assert anchored.app.config["CHAIN_VERIFY_CACHE_SECONDS"] == 300
    deploy(anchored)
    anchor(anchored)
    calls = []
    real = service.verify_batches_now
    monkeypatch.setattr(service, "verify_batches_now", lambda ids: calls.append(ids) or real(ids))
    assert states(anchored) == ("verified", ["verified"] * 5)
    assert "verification-verified" in anchored.page()
    assert "verification-verified" in anchored.page()
    assert states(anchored)[0] == "verified"
    anchored.calls = calls
    return anchored


def test_unchanged_rows_are_verified_once(verified):
    assert len(verified.calls) == 1  # four views, one verification: the rest came from the cache
    for _ in range(3):
        assert "verification-verified" in verified.page()
    assert len(verified.calls) == 1


def test_the_cache_can_be_turned_off(verified):
    verified.app.config["CHAIN_VERIFY_CACHE_SECONDS"] = 0
    verified.page()
    verified.page()
    assert len(verified.calls) == 3


@pytest.mark.parametrize("column", sorted(MUTATIONS))
def test_a_changed_event_column_shows_at_once_despite_the_cache(verified, column):
    first = Seal.select().where(Seal.batch_id == verified.batch["id"]).order_by(Seal.seq).first()
    raw(MUTATIONS[column], first.event_pk)
    status, events = states(verified)
    assert status == "tampered" and events[0] == "tampered", (column, events)
    assert "verification-tampered" in verified.page()


def test_a_changed_batch_row_shows_at_once(verified):
    raw("UPDATE batch SET product_name = '有机脐橙' WHERE id = ?", verified.batch["id"])
    assert states(verified)[0] == "tampered"
    assert "verification-tampered" in verified.page()


def test_a_deleted_event_shows_at_once(verified):
    seals = list(Seal.select().where(Seal.batch_id == verified.batch["id"]).order_by(Seal.seq))
    raw("DELETE FROM event WHERE id = ?", seals[3].event_pk)
    assert states(verified)[0] == "missing"
    assert "verification-missing" in verified.page()


def test_an_inserted_event_shows_at_once(verified):
    first = Seal.select().where(Seal.batch_id == verified.batch["id"]).order_by(Seal.seq).first()
    raw("INSERT INTO event (event_id, kind, batch_id, biz_step, event_time, organisation_id, document, hash, "
        "recorded_at) SELECT 'urn:uuid:forged', kind, batch_id, biz_step, event_time, organisation_id, document, "
        "hash, recorded_at FROM event WHERE id = ?", first.event_pk)
    status, events = states(verified)
    assert status != "verified" and events[-1] != "verified"
    assert "verification-verified" not in verified.page()


@pytest.mark.parametrize("sql", [
    "UPDATE seal SET leaf = '0x' || substr(leaf, 5) || 'ab' WHERE id = ?",
    # One byte of the signature changed (to 00, or to 11 where it was 00 already).
    "UPDATE seal SET signature = substr(signature, 1, 10) || CASE substr(signature, 11, 2) WHEN '00' THEN '11' "
    "ELSE '00' END || substr(signature, 13) WHERE id = ?",
    "UPDATE seal SET proof = '[]' WHERE id = ?",
    "DELETE FROM seal WHERE id = ?",
])
def test_a_changed_seal_shows_at_once(verified, sql):
    seal = Seal.select().where((Seal.batch_id == verified.batch["id"]) & (Seal.proof != "[]")).first()
    raw(sql, seal.id)
    assert states(verified)[0] != "verified"
    assert "verification-verified" not in verified.page()


def test_a_root_the_chain_lost_is_asked_again(verified):
    """A root put back to "ready" (reconciliation found the chain lost it) is pending, not verified."""
    Root.update(state="ready").execute()
    assert states(verified)[0] == "pending"
    assert "verification-pending" in verified.page()


def test_each_language_gets_its_own_page_from_the_cached_view(verified):
    """The page's parts drawn from the view are rendered once per language and kept with the view: a
    Chinese view and an English view of the same cached verdict each read in their own language."""
    path = f"/t/{verified.batch['code']}"
    chinese, english = verified.app.test_client(), verified.app.test_client()  # two shoppers, no account
    english.set_cookie("locale", "en")
    for _ in range(2):
        zh = chinese.get(path).get_data(as_text=True)
        en = english.get(path).get_data(as_text=True)
        assert "全程记录已上链" in zh and "every record on the blockchain" not in zh
        assert "every record on the blockchain" in en and "全程记录已上链" not in en
    assert len(verified.calls) == 1


def test_scans_are_counted_on_every_view_of_a_cached_page(verified):
    """What depends on the request (the scan count, a label's serial) is never part of the kept HTML."""
    from trace.models import Scan

    path = f"/t/{verified.batch['code']}"
    consumer = verified.app.test_client()
    before = Scan.select().where(Scan.batch == verified.batch["id"]).count()
    raw("DELETE FROM scan WHERE batch_id = ?", verified.batch["id"])
    page = consumer.get(path, environ_base={"REMOTE_ADDR": "203.0.113.9"}).get_data(as_text=True)
    assert before >= 1 and '<dd class="scan-total">1 ' in page
    page = consumer.get(path, environ_base={"REMOTE_ADDR": "198.51.100.7"}).get_data(as_text=True)
    assert '<dd class="scan-total">2' in page
    assert len(verified.calls) == 1
