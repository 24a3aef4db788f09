"""Journey events are sealed, signed, anchored and verified; a change made behind the app's back shows.

The attacker here has the database: they drop the append-only triggers and edit, delete or
reorder rows, or change the batch row the page's header comes from, as was done by hand when
the product was tried (a changed product name went unnoticed, and deleted shipping and
inspection rows went unnoticed).
"""
import datetime as dt

import pytest

from chain.models import Root, Seal
from web import db


def anchor(anchored):
    return anchored.cli("chain", "anchor-now")


def deploy(anchored):
    return anchored.cli("chain", "deploy")


def raw(sql, *params):
    """What an attacker with the database runs: SQL straight into the tables, triggers dropped."""
    with db.database.connection_context():
        if db.is_postgres():
            # The schema is shared by the run's tests: the triggers are back on when this is done.
            with db.database.atomic():
                db.database.execute_sql('ALTER TABLE "event" DISABLE TRIGGER USER')
                db.database.execute_sql(sql.replace("?", "%s"), params)
                db.database.execute_sql('ALTER TABLE "event" ENABLE TRIGGER USER')
        else:  # each SQLite test has a copy of its own
            for name in ("event_no_update", "event_no_delete", "event_append_only"):
                db.database.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
            db.database.execute_sql(sql, params)


def states(anchored):
    report = anchored.verification()
    return report["status"], [e["state"] for e in report["events"]]


def test_a_journey_is_pending_then_verified(anchored):
    status, events = states(anchored)
    assert status == "pending" and set(events) == {"pending"} and len(events) == 5
    assert "verification-pending" in anchored.page()
    deploy(anchored)
    output = anchor(anchored)
    assert "anchored 3" in output  # one root per organisation: farm co-op, lab, supermarket
    status, events = states(anchored)
    assert status == "verified" and events == ["verified"] * 5
    page = anchored.page()
    assert "verification-verified" in page and "anchored-at" in page
    assert page.count("seal-verified") == 5
    assert f"/proof/{anchored.batch['code']}.json" in page
    # Each organisation signed with its own key and anchored its own root.
    roots = list(Root.select())
    assert len({r.submitter for r in roots}) == 3 and all(r.state == "confirmed" for r in roots)
    assert Seal.select().where(Seal.root.is_null()).count() == 0


def test_events_wait_in_the_outbox_while_the_node_is_down(anchored):
    deploy(anchored)
    anchored.app.config["CHAIN_RPC_URL"] = "http://127.0.0.1:9"  # nothing listens there
    result = anchored.app.test_cli_runner().invoke(args=["chain", "anchor-now"])
    assert result.exit_code != 0 and "127.0.0.1:9" in result.output
    assert states(anchored)[0] == "pending"
    assert Seal.select().where(Seal.root.is_null()).count() == 0  # rooted, waiting to be sent
    from chain import service

    anchored.app.config["CHAIN_RPC_URL"] = service.IN_PROCESS
    with anchored.app.app_context(), db.database.connection_context():
        Root.update(next_try_at=None).execute()
    anchor(anchored)
    assert states(anchored)[0] == "verified"


# Every stored column of an event row, and how the attacker changes it.
MUTATIONS = {
    "document": "UPDATE event SET document = replace(document, '\"quantity\":5000', '\"quantity\":9000') WHERE id = ?",
    "hash": "UPDATE event SET hash = '00' || substr(hash, 3) WHERE id = ?",
    "event_time": "UPDATE event SET event_time = '2026-01-01 00:00:00' WHERE id = ?",
    "biz_step": "UPDATE event SET biz_step = 'storing' WHERE id = ?",
    "kind": "UPDATE event SET kind = 'error_declaration' WHERE id = ?",
    "organisation_id": "UPDATE event SET organisation_id = (SELECT MAX(id) FROM organisation) WHERE id = ?",
    "recorded_by_id": "UPDATE event SET recorded_by_id = NULL WHERE id = ?",
    "corrects": "UPDATE event SET corrects = 'urn:uuid:0' WHERE id = ?",
    "event_id": "UPDATE event SET event_id = 'urn:uuid:00000000-0000-0000-0000-000000000000' WHERE id = ?",
    "recorded_at": "UPDATE event SET recorded_at = '2020-01-01 00:00:00' WHERE id = ?",
    "source_event_id": "UPDATE event SET source_event_id = 'urn:uuid:1' WHERE id = ?",
}


@pytest.mark.parametrize("column", sorted(MUTATIONS))
def test_changing_any_column_of_an_anchored_event_says_tampered(anchored, column):
    deploy(anchored)
    anchor(anchored)
    first = Seal.select().where(Seal.batch_id == anchored.batch["id"]).order_by(Seal.seq).first()
    raw(MUTATIONS[column], first.event_pk)
    status, events = states(anchored)
    assert status == "tampered" and events[0] == "tampered", (column, events)
    assert events[1:] == ["verified"] * 4  # the finding is where the change is
    page = anchored.page()
    assert "verification-tampered" in page and page.count("seal-tampered") <= 1


def test_changing_the_batch_row_behind_the_page_header_says_tampered(anchored):
    deploy(anchored)
    anchor(anchored)
    raw("UPDATE batch SET product_name = '有机脐橙' WHERE id = ?", anchored.batch["id"])
    assert states(anchored)[0] == "tampered"
    page = anchored.page()
    assert "有机脐橙" in page and "verification-tampered" in page


def test_deleting_an_event_says_missing(anchored):
    deploy(anchored)
    anchor(anchored)
    seals = list(Seal.select().where(Seal.batch_id == anchored.batch["id"]).order_by(Seal.seq))
    inspection, shipping = seals[2], seals[3]
    raw("DELETE FROM event WHERE id IN (?, ?)", inspection.event_pk, shipping.event_pk)
    report = anchored.verification()
    assert report["status"] == "missing"
    assert sorted(m["seq"] for m in report["missing"]) == [2, 3]
    assert "verification-missing" in anchored.page()


def test_deleting_an_event_and_its_seal_still_shows(anchored):
    deploy(anchored)
    anchor(anchored)
    seals = list(Seal.select().where(Seal.batch_id == anchored.batch["id"]).order_by(Seal.seq))
    raw("DELETE FROM event WHERE id = ?", seals[2].event_pk)
    raw("DELETE FROM seal WHERE id = ?", seals[2].id)
    report = anchored.verification()
    assert report["status"] == "missing" and [m["seq"] for m in report["missing"]] == [2]


def test_an_event_inserted_by_hand_is_not_verified(anchored):
    deploy(anchored)
    anchor(anchored)
    first = Seal.select().where(Seal.batch_id == anchored.batch["id"]).order_by(Seal.seq).first()
    raw("INSERT INTO event (event_id, kind, batch_id, biz_step, event_time, organisation_id, document, hash, "
        "recorded_at) SELECT 'urn:uuid:forged', kind, batch_id, biz_step, event_time, organisation_id, document, "
        "hash, recorded_at FROM event WHERE id = ?", first.event_pk)
    status, events = states(anchored)
    assert status != "verified" and "verified" not in events[-1:]


def test_a_proof_file_is_public_and_complete(anchored):
    deploy(anchored)
    anchor(anchored)
    response = anchored.client.get(f"/proof/{anchored.batch['code']}.json")
    assert response.status_code == 200
    proof = response.json
    assert proof["format"] == "gannong-trace-proof/1" and len(proof["events"]) == 5
    assert all(e["root"] and e["proof"] is not None and e["txHash"] for e in proof["events"])
    assert proof["events"][0]["leafDocument"]["header"]["lot"] == "XF-2611-01"
    assert anchored.client.get("/proof/NOSUCHCODE.json").status_code == 404


def test_a_rotated_key_keeps_its_old_signatures(anchored):
    deploy(anchored)
    anchor(anchored)
    coop = anchored.world.operator.organisation_id
    old = Seal.select().where(Seal.organisation == coop).first().signer
    output = anchored.cli("chain", "rotate-key", str(coop))
    assert old not in output
    assert states(anchored)[0] == "verified"  # signed while the old key held WRITER
    from tests.helpers import bearer

    later = anchored.client.post(f"/api/v1/batches/{anchored.batch['id']}/events",
                                 headers=bearer(anchored.journey.retail_user),
                                 json={"biz_step": "storing", "event_time": anchored.journey.at(0, hours=2).isoformat()})
    assert later.status_code == 201
    anchor(anchored)
    assert states(anchored)[0] == "verified"


def test_keys_are_never_stored_in_clear(anchored):
    from chain.models import OrgKey
    from chain import service

    keys = list(OrgKey.select())
    assert keys
    with anchored.app.app_context():
        for key in keys:
            secret = service.unlock(key).key.hex()
            assert secret not in key.keystore and secret[2:] not in key.keystore


def test_an_organisation_without_writer_is_refused_by_the_contract_and_told_why(anchored):
    from chain import service
    from tests.helpers import bearer

    deploy(anchored)
    anchor(anchored)
    retailer = anchored.journey.retailer.id
    admin_key = anchored.app.config["CHAIN_ADMIN_KEY"]
    with anchored.app.app_context():
        service.registry().revoke_writer(service.admin_account(), service.current_key(retailer).address)
    anchored.app.config["CHAIN_ADMIN_KEY"] = ""  # nobody here to grant it back
    stored = anchored.client.post(f"/api/v1/batches/{anchored.batch['id']}/events",
                                  headers=bearer(anchored.journey.retail_user),
                                  json={"biz_step": "storing", "event_time": anchored.journey.at(0, hours=2).isoformat()})
    assert stored.status_code == 201
    anchor(anchored)
    refused = Root.select().where(Root.organisation == retailer).order_by(Root.id.desc()).first()
    assert refused.state == "ready" and "WRITER" in refused.last_error, refused.last_error
    assert "WRITER" in anchored.cli("chain", "status")
    status, events = states(anchored)
    assert status == "pending" and events[-1] == "pending" and events[:5] == ["verified"] * 5
    # The administrator grants it again: the waiting root goes through.
    anchored.app.config["CHAIN_ADMIN_KEY"] = admin_key
    with anchored.app.app_context(), db.database.connection_context():
        Root.update(next_try_at=None).execute()
    anchor(anchored)
    assert states(anchored)[0] == "verified"


def test_chain_accounts_lists_every_sender_for_a_permissioned_allowlist(anchored):
    """A Besu network's account allowlist must hold the admin and each organisation's key; the command prints
    them, and as the TOML line Besu reads."""
    import tomllib

    from eth_account import Account

    from chain.models import OrgKey
    from web.accounts.models import Organisation

    deploy(anchored)
    listed = anchored.cli("chain", "accounts").splitlines()
    with anchored.app.app_context(), db.database.connection_context():
        keys = {k.address for k in OrgKey.select().where(OrgKey.retired_at.is_null())}
        organisations = Organisation.select().count()
    assert listed[0].endswith("admin") and listed[0].split()[0] == Account.from_key(anchored.app.config["CHAIN_ADMIN_KEY"]).address
    assert {line.split()[0] for line in listed[1:]} == keys and len(listed) == 1 + organisations
    allow = tomllib.loads(anchored.cli("chain", "accounts", "--toml"))["accounts-allowlist"]
    assert allow == [line.split()[0] for line in listed]
