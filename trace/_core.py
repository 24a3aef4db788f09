"""Trace's vocabulary, the one serialisation and hash of an event, and the identities printed on labels."""
import hashlib
import json
import secrets

from flask import current_app

from trace import digital_link
from trace.models import Batch

# Journey steps, in CBV 2.0 vocabulary, that a user records directly.
RECORDABLE_STEPS = ("inspecting", "sampling", "packing", "storing", "shipping", "receiving", "retail_selling")
DISPOSITIONS = {
    "commissioning": "active", "sampling": "in_progress", "packing": "in_progress",
    "storing": "in_progress", "shipping": "in_transit", "receiving": "in_progress",
    "retail_selling": "retail_sold", "transforming": "active",
}

# UN/ECE Recommendation 20 codes for EPCIS quantities.
UOM = {"kg": "KGM", "t": "TNE", "g": "GRM", "l": "LTR", "L": "LTR", "ml": "MLT", "斤": None, "个": "H87",
       "箱": "XBX", "只": "H87"}
NS = "gx"
# CBV 2.0 has no business step for splitting, merging or processing a batch; the
# documents name ours as an extension term in the "gx" namespace, as EPCIS allows.
TRANSFORMING = f"{NS}:transforming"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: easy to read aloud


# ---------------------------------------------------------------- hashing


def canonical_json(document):
    """The one serialisation of an event: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_event(event):
    """True when the stored document still hashes to the stored hash."""
    return digest(event.document) == event.hash


# ---------------------------------------------------------------- identities


def organisation_uri(org_id):
    return f"urn:gannong:org:{org_id}"


def base_url():
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def batch_url(batch, serial=None):
    """The GS1 Digital Link URL printed in the batch's QR code."""
    if batch.gtin:
        return digital_link.build(base_url(), gtin=batch.gtin, lot=batch.lot_number, serial=serial)
    return digital_link.build(base_url(), batch_code=batch.code, serial=serial)


def find_by_link(link):
    """The batch a parsed Digital Link names, or None."""
    if link.batch_code:
        return Batch.get_or_none(Batch.code == link.batch_code)
    if link.gtin is None or link.lot is None:
        return None  # a GTIN names a product; with a lot, a batch
    return Batch.get_or_none((Batch.gtin == link.gtin) & (Batch.lot_number == link.lot))


def _new_code():
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        if not Batch.select().where(Batch.code == code).exists():
            return code


def step_name(biz_step):
    """The short step name of a document's bizStep ("gx:transforming" -> "transforming")."""
    return biz_step.split(":", 1)[1] if biz_step.startswith(f"{NS}:") else biz_step
