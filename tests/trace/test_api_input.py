"""Every JSON body of the trace API is checked field by field before anything is stored.

Wrong types (a number sent as text or as true, a list as text), missing fields, numbers too big for
any quantity or id, and errors inside nested lists and objects all answer 422 with the usual error
body, name the value by its path (``inputs[1].quantity``), and leave the database as it was.
"""
import re

import pytest

from tests.helpers import bearer
from trace.models import Attachment, Batch, BatchLink, Event, Inspection

HUGE = 10 ** 400  # valid JSON, beyond any float: a client's big-integer library can send it
BEYOND_64_BITS = 2 ** 70


def snapshot():
    return (Batch.select().count(), Event.select().count(), BatchLink.select().count(),
            Inspection.select().count(), Attachment.select().count(),
            sorted((b.id, b.status, b.holder_id, b.remaining, b.quantity) for b in Batch.select()))


@pytest.fixture
def ctx(client, world, journey):
    """A batch of the harvest held by the cooperative, and its commissioning event; the users read
    English, so that the messages below can be read by the test's reader too."""
    for user in (world.farmer_a, world.operator, world.inspector):
        user.locale = "en"
        user.save()
    tokens = {"farmer": bearer(world.farmer_a), "coop": bearer(world.operator), "lab": bearer(world.inspector)}
    batch = client.post("/api/v1/batches", headers=tokens["farmer"], json={"harvest_log": journey.harvest.id})
    assert batch.status_code == 201, batch.json
    events = client.get(f"/api/v1/batches/{batch.json['id']}/events", headers=tokens["coop"]).json["items"]
    return {"tokens": tokens, "batch": batch.json["id"], "event": events[0]["id"], "harvest": journey.harvest.id,
            "plot": world.plot_a.id, "at": journey.at(1).isoformat(), "before": journey.at(4).isoformat()}


def refused(client, ctx, who, url, body, path, says=None):
    before = snapshot()
    response = client.post(url.format(**ctx), headers=ctx["tokens"][who], json=body)
    assert response.status_code == 422, response.json
    error = response.json["error"]
    assert error["code"] == "invalid" and error["message"], error
    assert path in error["fields"], error
    if says:
        assert says in error["fields"][path], error
    assert snapshot() == before
    return error


# Each case: (who, url, body with placeholders filled from ctx, path of the error, what it says).
BATCH = "/api/v1/batches"
CASES = {
    "batch: no harvest": ("farmer", BATCH, {}, "harvest_log", "Required."),
    "batch: harvest id as text": ("farmer", BATCH, {"harvest_log": "{harvest}"}, "harvest_log", "whole number"),
    "batch: harvest id as true": ("farmer", BATCH, {"harvest_log": True}, "harvest_log", "whole number"),
    "batch: harvest id as decimal": ("farmer", BATCH, {"harvest_log": 1.5}, "harvest_log", "whole number"),
    "batch: harvest id beyond 64 bits": ("farmer", BATCH, {"harvest_log": BEYOND_64_BITS}, "harvest_log",
                                         "Too large"),
    "batch: quantity as true": ("farmer", BATCH, {"harvest_log": "HARVEST", "quantity": True}, "quantity",
                                "Must be a number."),
    "batch: quantity as text": ("farmer", BATCH, {"harvest_log": "HARVEST", "quantity": "100"}, "quantity",
                                "Must be a number."),
    "batch: huge quantity": ("farmer", BATCH, {"harvest_log": "HARVEST", "quantity": HUGE}, "quantity",
                             "Too large"),
    "batch: infinite quantity": ("farmer", BATCH, {"harvest_log": "HARVEST", "quantity": float("inf")}, "quantity",
                                 "Too large"),
    "batch: NaN quantity": ("farmer", BATCH, {"harvest_log": "HARVEST", "quantity": float("nan")}, "quantity",
                            "Must be a number."),
    "batch: negative quantity": ("farmer", BATCH, {"harvest_log": "HARVEST", "quantity": -1}, "quantity",
                                 "above zero"),
    "batch: lot number as number": ("farmer", BATCH, {"harvest_log": "HARVEST", "lot_number": 2611}, "lot_number",
                                    "at most 20"),
    "batch: lot number too long": ("farmer", BATCH, {"harvest_log": "HARVEST", "lot_number": "X" * 21},
                                   "lot_number", "at most 20"),
    "batch: GTIN as list": ("farmer", BATCH, {"harvest_log": "HARVEST", "gtin": ["06901234567892"]}, "gtin", None),
    "batch: override as true": ("farmer", BATCH, {"harvest_log": "HARVEST", "override_inspection": True},
                                "override_inspection", "whole number"),
    "batch: unknown field": ("farmer", BATCH, {"harvest_log": "HARVEST", "colour": "orange"}, "colour",
                             "Unknown field."),

    "event: no time": ("coop", "/api/v1/batches/{batch}/events", {"biz_step": "storing"}, "event_time",
                       "Required."),
    "event: time as epoch number": ("coop", "/api/v1/batches/{batch}/events",
                                    {"biz_step": "storing", "event_time": 1790000000}, "event_time", "2026-05-01"),
    "event: step as number": ("coop", "/api/v1/batches/{batch}/events", {"biz_step": 3, "event_time": "AT"},
                              "biz_step", None),
    "event: destination as text": ("coop", "/api/v1/batches/{batch}/events",
                                   {"biz_step": "shipping", "event_time": "AT", "destination": "5"}, "destination",
                                   "whole number"),
    "event: quantity as true": ("coop", "/api/v1/batches/{batch}/events",
                                {"biz_step": "storing", "event_time": "AT", "quantity": True}, "quantity",
                                "Must be a number."),
    "event: passed as text": ("lab", "/api/v1/batches/{batch}/events",
                              {"biz_step": "inspecting", "event_time": "AT", "passed": "yes",
                               "items": [{"name": "阿维菌素"}]}, "passed", "true or false."),
    "event: items as text": ("lab", "/api/v1/batches/{batch}/events",
                             {"biz_step": "inspecting", "event_time": "AT", "passed": True, "items": "阿维菌素"},
                             "items", None),
    "event: item as text": ("lab", "/api/v1/batches/{batch}/events",
                            {"biz_step": "inspecting", "event_time": "AT", "passed": True, "items": ["阿维菌素"]},
                            "items[0]", "An object."),
    "event: item result as text": ("lab", "/api/v1/batches/{batch}/events",
                                   {"biz_step": "inspecting", "event_time": "AT", "passed": True, "items": [
                                       {"name": "阿维菌素", "result": 0.002, "limit": 0.01},
                                       {"name": "吡虫啉", "result": "0.5", "limit": 0.2}]},
                                   "items[1].result", "Must be a number."),
    "event: item without name": ("lab", "/api/v1/batches/{batch}/events",
                                 {"biz_step": "inspecting", "event_time": "AT", "passed": True,
                                  "items": [{"result": 0.002}]}, "items[0].name", "Required."),
    "event: item with unknown field": ("lab", "/api/v1/batches/{batch}/events",
                                       {"biz_step": "inspecting", "event_time": "AT", "passed": True,
                                        "items": [{"name": "阿维菌素", "verdict": "ok"}]}, "items[0].verdict",
                                       "Unknown field."),
    "event: attachment as number": ("coop", "/api/v1/batches/{batch}/events",
                                    {"biz_step": "storing", "event_time": "AT", "attachments": [5]},
                                    "attachments[0]", None),
    "event: attachments as text": ("coop", "/api/v1/batches/{batch}/events",
                                   {"biz_step": "storing", "event_time": "AT", "attachments": "ab" * 32},
                                   "attachments", None),

    "correction: nothing to correct": ("coop", "/api/v1/events/{event}/corrections", {"reason": "did_not_occur"},
                                       "place", None),
    "correction: quantity as false": ("coop", "/api/v1/events/{event}/corrections", {"quantity": False},
                                      "quantity", "Must be a number."),
    "correction: place as list": ("coop", "/api/v1/events/{event}/corrections", {"place": ["信丰冷库"]}, "place",
                                  None),
    "correction: time as number": ("coop", "/api/v1/events/{event}/corrections", {"event_time": 5}, "event_time",
                                   None),
    "correction: reason too long": ("coop", "/api/v1/events/{event}/corrections",
                                    {"place": "信丰冷库", "reason": "r" * 65}, "reason", "at most 64"),

    "split: no quantities": ("coop", "/api/v1/batches/{batch}/split", {}, "quantities", None),
    "split: empty list": ("coop", "/api/v1/batches/{batch}/split", {"quantities": []}, "quantities", None),
    "split: quantities as number": ("coop", "/api/v1/batches/{batch}/split", {"quantities": 10}, "quantities", None),
    "split: a quantity as true": ("coop", "/api/v1/batches/{batch}/split", {"quantities": [10, True]},
                                  "quantities[1]", "Must be a number."),
    "split: a quantity as text": ("coop", "/api/v1/batches/{batch}/split", {"quantities": [10, "5"]},
                                  "quantities[1]", "Must be a number."),
    "split: a null quantity": ("coop", "/api/v1/batches/{batch}/split", {"quantities": [None]},
                               "quantities[0]", "Required."),
    "split: a huge quantity": ("coop", "/api/v1/batches/{batch}/split", {"quantities": [HUGE]}, "quantities[0]",
                               "Too large"),
    "split: lot number as number": ("coop", "/api/v1/batches/{batch}/split",
                                    {"quantities": [10], "lot_numbers": [7]}, "lot_numbers[0]", None),

    "merge: the same batch twice": ("coop", "/api/v1/batches/merge",
                                    {"batches": ["BATCH", "BATCH"], "lot_number": "MIX-1"}, "batches",
                                    "only once"),
    "merge: a batch id as text": ("coop", "/api/v1/batches/merge",
                                  {"batches": ["BATCH", "7"], "lot_number": "MIX-1"}, "batches[1]", "whole number"),
    "merge: a batch id as true": ("coop", "/api/v1/batches/merge",
                                  {"batches": ["BATCH", True], "lot_number": "MIX-1"}, "batches[1]", "whole number"),
    "merge: no lot number": ("coop", "/api/v1/batches/merge", {"batches": ["BATCH", 999999]}, "lot_number",
                             "Required."),
}

TRANSFORM = "/api/v1/batches/transform"
JUICE = {"inputs": [{"batch": "BATCH", "quantity": 100}], "product": {"zh": "脐橙汁", "en": "Navel orange juice"},
         "quantity": 50, "unit": "L", "lot_number": "JUICE-1"}
CASES.update({
    "transform: a quantity as text": ("coop", TRANSFORM, dict(JUICE, inputs=[
        {"batch": "BATCH", "quantity": 100}, {"batch": 999999, "quantity": "3"}]), "inputs[1].quantity",
        "Must be a number."),
    "transform: a quantity below zero": ("coop", TRANSFORM, dict(JUICE, inputs=[
        {"batch": "BATCH", "quantity": 100}, {"batch": 999999, "quantity": -3}]), "inputs[1].quantity",
        "above zero"),
    "transform: an input without quantity": ("coop", TRANSFORM, dict(JUICE, inputs=[{"batch": "BATCH"}]),
                                             "inputs[0].quantity", "Required."),
    "transform: an input batch as true": ("coop", TRANSFORM, dict(JUICE, inputs=[{"batch": True, "quantity": 1}]),
                                          "inputs[0].batch", "whole number"),
    "transform: an input as a number": ("coop", TRANSFORM, dict(JUICE, inputs=[5]), "inputs[0]", "An object."),
    "transform: an input with unknown field": ("coop", TRANSFORM, dict(JUICE, inputs=[
        {"batch": "BATCH", "quantity": 1, "grade": "A"}]), "inputs[0].grade", "Unknown field."),
    "transform: the same batch twice": ("coop", TRANSFORM, dict(JUICE, inputs=[
        {"batch": "BATCH", "quantity": 1}, {"batch": "BATCH", "quantity": 2}]), "inputs", "only once"),
    "transform: no inputs": ("coop", TRANSFORM, dict(JUICE, inputs=[]), "inputs", None),
    "transform: product as text": ("coop", TRANSFORM, dict(JUICE, product="脐橙汁"), "product", "zh and en"),
    "transform: product without Chinese name": ("coop", TRANSFORM, dict(JUICE, product={"en": "Juice"}),
                                                "product.zh", "Required."),
    "transform: product name as number": ("coop", TRANSFORM, dict(JUICE, product={"zh": 5}), "product.zh", None),
    "transform: output quantity as true": ("coop", TRANSFORM, dict(JUICE, quantity=True), "quantity",
                                           "Must be a number."),
    "transform: an input quantity beyond 64 bits": ("coop", TRANSFORM, dict(JUICE, inputs=[
        {"batch": "BATCH", "quantity": 100}, {"batch": 999999, "quantity": BEYOND_64_BITS}]), "inputs[1].quantity",
        "Too large"),
    "transform: huge output quantity": ("coop", TRANSFORM, dict(JUICE, quantity=HUGE), "quantity", "Too large"),
    "transform: no unit": ("coop", TRANSFORM, {k: v for k, v in JUICE.items() if k != "unit"}, "unit", "Required."),

    "plot inspection: no verdict": ("lab", "/api/v1/plots/{plot}/inspections",
                                    {"sampled_at": "BEFORE", "items": [{"name": "阿维菌素"}]}, "passed", "Required."),
    "plot inspection: verdict as text": ("lab", "/api/v1/plots/{plot}/inspections",
                                         {"sampled_at": "BEFORE", "passed": "true", "items": [{"name": "阿维菌素"}]},
                                         "passed", "true or false."),
    "plot inspection: verdict as 1": ("lab", "/api/v1/plots/{plot}/inspections",
                                      {"sampled_at": "BEFORE", "passed": 1, "items": [{"name": "阿维菌素"}]},
                                      "passed", "true or false."),
    "plot inspection: a limit as text": ("lab", "/api/v1/plots/{plot}/inspections",
                                         {"sampled_at": "BEFORE", "passed": True,
                                          "items": [{"name": "阿维菌素", "limit": "0.01"}]}, "items[0].limit",
                                         "Must be a number."),
    "plot inspection: a unit too long": ("lab", "/api/v1/plots/{plot}/inspections",
                                         {"sampled_at": "BEFORE", "passed": True,
                                          "items": [{"name": "阿维菌素", "unit": "u" * 17}]}, "items[0].unit",
                                         "at most 16"),
    "plot inspection: unreadable time": ("lab", "/api/v1/plots/{plot}/inspections",
                                         {"sampled_at": "last Tuesday", "passed": True, "items": [{"name": "阿维菌素"}]},
                                         "sampled_at", "2026-05-01"),
})


def fill(value, ctx):
    """The placeholders of a case, now that the batch and its times exist."""
    if isinstance(value, dict):
        return {key: fill(item, ctx) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ctx) for item in value]
    return {"BATCH": ctx["batch"], "HARVEST": ctx["harvest"], "AT": ctx["at"], "BEFORE": ctx["before"],
            "{harvest}": str(ctx["harvest"])}.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_body_is_refused_by_the_path_of_its_value(client, ctx, case):
    who, url, body, path, says = CASES[case]
    refused(client, ctx, who, url, fill(body, ctx), path, says)


def test_a_correction_must_say_what_to_correct(client, ctx):
    error = refused(client, ctx, "coop", "/api/v1/events/{event}/corrections", {}, "place",
                    "Give at least one corrected field.")
    assert error["message"] == "Say what to correct."


def test_every_error_of_a_body_is_reported_at_once(client, ctx):
    error = refused(client, ctx, "coop", TRANSFORM, {
        "inputs": [{"batch": ctx["batch"], "quantity": 1}, {"batch": "2", "quantity": True}],
        "product": {"zh": "", "en": 7}, "quantity": -1, "unit": "L", "lot_number": "J-1"}, "inputs[1].batch")
    assert set(error["fields"]) == {"inputs[1].batch", "inputs[1].quantity", "product.zh", "product.en", "quantity"}
    assert error["message"] == "Some fields need correcting."


@pytest.mark.parametrize("url", ["/api/v1/batches", "/api/v1/batches/{batch}/events", "/api/v1/batches/merge",
                                 "/api/v1/batches/{batch}/split", "/api/v1/batches/transform",
                                 "/api/v1/events/{event}/corrections", "/api/v1/plots/{plot}/inspections"])
@pytest.mark.parametrize("raw", ['{"quantities": [1,', "[1, 2]", '"text"', "1" * 5000])
def test_a_body_that_is_no_json_object_is_a_400(client, ctx, url, raw):
    before = snapshot()
    response = client.post(url.format(**ctx), headers=ctx["tokens"]["coop"], data=raw,
                           content_type="application/json")
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "bad_request" and response.json["error"]["message"]
    assert snapshot() == before


def test_messages_follow_the_users_language(client, world, ctx):
    world.operator.locale = "zh"
    world.operator.save()
    response = client.post("/api/v1/batches/transform", headers=ctx["tokens"]["coop"],
                           json=fill(dict(JUICE, inputs=[{"batch": "BATCH", "quantity": "3"}]), ctx))
    assert response.status_code == 422
    assert response.json["error"]["fields"]["inputs[0].quantity"] == "必须是数字。"


def test_well_formed_nested_bodies_still_pass(client, ctx):
    """The same checks let a correct body through, with its nested values as sent."""
    split = client.post(f"/api/v1/batches/{ctx['batch']}/split", headers=ctx["tokens"]["coop"],
                        json={"quantities": [100, 50.5], "lot_numbers": ["XF-A"]})
    assert split.status_code == 201, split.json
    assert [b["quantity"] for b in split.json["items"]] == [100, 50.5]
    assert split.json["items"][0]["lot_number"] == "XF-A"
    assert re.fullmatch(r"[A-Z0-9]+-\d{4}-[2-9A-HJ-NP-Z]{6}", split.json["items"][1]["lot_number"])  # suggested
    juice = client.post(TRANSFORM, headers=ctx["tokens"]["coop"], json=dict(
        JUICE, inputs=[{"batch": b["id"], "quantity": b["quantity"]} for b in split.json["items"]],
        product={"zh": "脐橙汁"}))
    assert juice.status_code == 201, juice.json
    assert (juice.json["product_name"], juice.json["product_name_en"], juice.json["quantity"]) == ("脐橙汁", "", 50)
