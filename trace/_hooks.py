"""For the chain domain: it seals and anchors events without trace knowing it.

It registers a listener for new events and the provider of the consumer page's
verification, and reads events and batch headers through the functions here.
"""
import hashlib
import json

from trace._lineage import ancestor_ids
from trace.models import Batch, BatchLink, Event
from web.db import database

_EVENT_LISTENERS = []
_VERIFIER = []


def add_event_listener(listener):
    """``listener(event_row)`` runs for each stored event, in its transaction."""
    if listener not in _EVENT_LISTENERS:
        _EVENT_LISTENERS.append(listener)


def set_verifier(verifier, key=None):
    """``verifier(batch, steps)`` answers ``verification`` (the consumer page's verdict); ``key(batch_ids)``,
    if given, digests whatever else in the database that verdict depends on (the public view is kept
    while it and the batches' own rows are unchanged)."""
    _VERIFIER[:] = [verifier, key]


def event_record(event):
    """Every stored column of an event row, as JSON values: what a seal must cover."""
    return {"id": event.id, "eventID": event.event_id, "kind": event.kind, "batch": event.batch_id,
            "bizStep": event.biz_step, "eventTime": event.event_time.isoformat(),
            "organisation": event.organisation_id, "recordedBy": event.recorded_by_id,
            "corrects": event.corrects, "sourceEventID": event.source_event_id,
            "recordedAt": event.recorded_at.isoformat(), "hash": event.hash,
            "document": json.loads(event.document)}


def batch_header(batch_id):
    """The batch row's fields that pages show and that never change (code, lot, product, origin, amount);
    None when there is no such batch."""
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None:
        return None
    return {"code": batch.code, "lot": batch.lot_number, "gtin": batch.gtin, "organisation": batch.organisation_id,
            "product": {"zh": batch.product_name, "en": batch.product_name_en, "crop": batch.crop_code},
            "variety": batch.variety, "farm": batch.farm_id, "plot": batch.plot_id, "harvestLog": batch.harvest_log_id,
            "harvestDate": batch.harvest_date.isoformat() if batch.harvest_date else None,
            "quantity": batch.quantity, "unit": batch.unit, "createdBy": batch.created_by_id,
            "createdAt": batch.created_at.isoformat()}


def rows_digest(batch_ids):
    """A digest of every stored column of these batches' rows, their events' rows and the links that
    made them, as the database holds them: any change, deletion or insertion gives another digest (a
    cache key for verdicts)."""
    ids = sorted(set(batch_ids)) or [0]
    marks = ", ".join([database.param] * len(ids))
    digest = hashlib.blake2b(digest_size=32)
    # Plain SQL and the driver's rows (every column, SELECT *): building peewee queries and model
    # objects would cost more than the verdict this key saves.
    for table, column in ((Batch, "id"), (Event, "batch_id"), (BatchLink, "child_id")):
        sql = f'SELECT * FROM "{table._meta.table_name}" WHERE "{column}" IN ({marks}) ORDER BY "id"'
        for row in database.execute_sql(sql, ids):
            digest.update(repr(tuple(row)).encode())
        digest.update(b"|")
    return digest.hexdigest()


def lineage_ids(batch_id):
    """The batch and every batch it was made from: all a batch's journey can draw on."""
    return sorted(ancestor_ids(batch_id) | {batch_id})


def batch_events(batch_id, after_id=0):
    """A batch's stored event rows (of every kind) in the order they were recorded."""
    return list(Event.select().where((Event.batch == batch_id) & (Event.id > after_id)).order_by(Event.id))


def batch_ids_with_events():
    return [row.batch_id for row in Event.select(Event.batch).distinct().order_by(Event.batch)]


def event_count():
    return Event.select().count()


def find_by_code(code):
    return Batch.get_or_none(Batch.code == code)
