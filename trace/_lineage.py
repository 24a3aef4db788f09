"""Lineage and recall: which batches a batch came from and went into, and the journey a consumer sees."""
import json

import peewee as pw

from trace._core import NS, step_name
from trace.models import Batch, BatchLink, Event
from web.accounts.models import Organisation
from web.db import database, is_postgres

def _walk(start_ids, upward):
    """Ids reachable from ``start_ids`` through batch links, by a recursive query."""
    if not start_ids:
        return set()
    near, far = ("child_id", "parent_id") if upward else ("parent_id", "child_id")
    placeholders = ", ".join([database.param] * len(start_ids))
    sql = (f'WITH RECURSIVE reach(id) AS ('
           f'SELECT {far} FROM batch_link WHERE {near} IN ({placeholders}) '
           f'UNION SELECT l.{far} FROM batch_link l JOIN reach r ON l.{near} = r.id) '
           f'SELECT id FROM reach')
    return {row[0] for row in database.execute_sql(sql, list(start_ids)).fetchall()}


def _locked(batch_id):
    """Re-read a batch inside the transaction, locking its row where the database can."""
    query = Batch.select().where(Batch.id == batch_id)
    if is_postgres():
        query = query.for_update()
    return query.get()


def ancestor_ids(batch_id):
    return _walk([batch_id], upward=True)


def descendant_ids(batch_id):
    return _walk([batch_id], upward=False)


def parent_links(batch):
    """The links to the batches ``batch`` was made from, each with its parent batch."""
    return list(BatchLink.select(BatchLink, Batch).join(Batch, on=(BatchLink.parent == Batch.id))
                .where(BatchLink.child == batch.id))


def child_links(batch):
    """The links to the batches made from ``batch``, each with its child batch."""
    return list(BatchLink.select(BatchLink, Batch).join(Batch, on=(BatchLink.child == Batch.id))
                .where(BatchLink.parent == batch.id))


def recall(batch):
    """Trace a batch back to its farms, plots and inputs, and forward to every downstream batch.

    Reads plain tuples, not model objects: a deep lineage reaches thousands of rows.
    """
    up = ancestor_ids(batch.id) | {batch.id}
    down = descendant_ids(batch.id)
    origins = []
    commissioning = (Event.select(Event.batch, Event.document)
                     .where(Event.batch.in_(list(up)) & (Event.biz_step == "commissioning") & (Event.kind == "event"))
                     .tuples())
    for batch_id, document in commissioning:
        ilmd = json.loads(document).get("ilmd", {})
        origins.append({"batch_id": batch_id, "farm": ilmd.get(f"{NS}:farm"),
                        "plots": ilmd.get(f"{NS}:plots", []), "harvest_date": ilmd.get(f"{NS}:harvestDate"),
                        "inputs": ilmd.get(f"{NS}:inputsApplied", [])})
    last = _last_events(down)
    rows = (Batch.select(Batch.id, Batch.code, Batch.lot_number, Batch.product_name, Batch.status,
                         Organisation.name, Batch.remaining, Batch.unit)
            .join(Organisation, on=(Batch.holder == Organisation.id))
            .where(Batch.id.in_(list(down) or [0])).order_by(Batch.id).tuples())
    downstream = [{"id": id_, "code": code, "lot_number": lot, "product": product, "status": status,
                   "holder": holder, "remaining": remaining, "unit": unit,
                   "last_step": step_name(last.get(id_, {}).get("bizStep", "")),
                   "last_place": last.get(id_, {}).get(f"{NS}:place"),
                   "last_time": last.get(id_, {}).get("eventTime")}
                  for id_, code, lot, product, status, holder, remaining, unit in rows]
    upstream = [{"id": id_, "code": code, "lot_number": lot, "product": product}
                for id_, code, lot, product in
                Batch.select(Batch.id, Batch.code, Batch.lot_number, Batch.product_name)
                .where(Batch.id.in_(list(up - {batch.id}) or [0])).order_by(Batch.id).tuples()]
    return {"batch": {"id": batch.id, "code": batch.code, "lot_number": batch.lot_number},
            "origins": origins, "upstream": upstream, "downstream": downstream}


def _last_events(batch_ids):
    """{batch id: document of its latest valid event}: events declared erroneous do not count,
    and of events at the same time the later recorded one wins."""
    if not batch_ids:
        return {}
    ids = list(batch_ids)
    declared = Event.select(Event.event_id).where(Event.batch.in_(ids) & (Event.kind == "error_declaration"))
    valid = Event.batch.in_(ids) & (Event.kind == "event") & Event.event_id.not_in(declared)
    latest = (Event.select(Event.batch, pw.fn.MAX(Event.event_time).alias("t"))
              .where(valid).group_by(Event.batch))
    rows = (Event.select(Event.batch, Event.id, Event.document)
            .join(latest, on=((Event.batch == latest.c.batch_id) & (Event.event_time == latest.c.t)))
            .where(valid).order_by(Event.id).tuples())
    return {batch_id: json.loads(document) for batch_id, _id, document in rows}  # highest id last, wins


def journey(batch):
    """The events a consumer sees for a batch: its ancestors' (up to when this batch was made) and its own.

    Returns [(event row, document, erroneous?)] oldest first.
    """
    cutoff = {batch.id: None}
    frontier = [batch.id]
    while frontier:
        links = list(BatchLink.select().where(BatchLink.child.in_(frontier)))
        frontier = []
        made = {}
        for event in (Event.select(Event.batch, Event.event_time)
                      .where(Event.batch.in_([l.child_id for l in links] or [0])
                             & (Event.biz_step == "transforming"))):
            made[event.batch_id] = min(made.get(event.batch_id, event.event_time), event.event_time)
        for link in links:
            limit = made.get(link.child_id)
            child_cut = cutoff.get(link.child_id)
            if child_cut is not None and limit is not None:
                limit = min(limit, child_cut)
            if link.parent_id not in cutoff:
                frontier.append(link.parent_id)
                cutoff[link.parent_id] = limit
    events = list(Event.select().where(Event.batch.in_(list(cutoff))).order_by(Event.event_time, Event.id))
    declared = {e.event_id for e in events if e.kind == "error_declaration"}
    result = []
    for event in events:
        limit = cutoff.get(event.batch_id)
        if limit is not None and event.event_time > limit:
            continue
        if event.kind != "event":
            continue
        result.append((event, json.loads(event.document), event.event_id in declared))
    return result
