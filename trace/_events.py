"""Journey events: EPCIS documents, appended (never changed), corrected by declaring the old one erroneous."""
import datetime as dt
import hashlib
import json
import math
import uuid

import filetype
import peewee as pw
from flask import current_app

from flask_babel import gettext as _

from farms import service as farms
from trace import permissions
from trace._access import _require_holder, acting_organisations
from trace._core import (DISPOSITIONS, NS, RECORDABLE_STEPS, UOM, batch_url, canonical_json, digest, organisation_uri,
                         step_name)
from trace._hooks import _EVENT_LISTENERS
from trace._lineage import _locked
from trace.models import Attachment, Event, Inspection
from web.accounts.models import Organisation
from web.clock import from_utc_naive, to_utc_naive, utcnow
from web.db import Conflict, ValidationError, database
from web.permissions import Denied

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
# What may be attached: photos of the produce, the packing or the field, and PDF documents (lab reports,
# certificates, delivery notes), by the media type their first bytes show.
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/webp", "application/pdf")
ATTACHMENT_ROLES = ("farmer", "operator", "inspector", "admin")  # those who record events; not bureaus


def _quantity_element(batch, quantity):
    element = {"epcClass": batch_url(batch), "quantity": quantity}
    if UOM.get(batch.unit):
        element["uom"] = UOM[batch.unit]
    return element


def _positive(number):
    """A finite number above zero (NaN and infinity are not quantities)."""
    return isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number) \
        and number > 0


def _check_time(when, not_before=None):
    if not isinstance(when, dt.datetime) or when.tzinfo is None:
        raise ValidationError(_("Give the time with its time zone."), {"event_time": _("Required.")})
    if to_utc_naive(when) > utcnow() + dt.timedelta(hours=1):
        raise ValidationError(_("An event cannot be in the future."), {"event_time": _("In the future.")})
    if not_before is not None and to_utc_naive(when) < not_before:
        raise ValidationError(_("An event cannot come before the batch's earlier events."),
                              {"event_time": _("Too early for this batch.")})


def _offset(when):
    minutes = int(when.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _append(batch, document, organisation, user, kind="event", corrects=None):
    """Store one event row: the document, canonical, with its hash; then tell the listeners
    (the chain domain seals it), inside the same transaction and under the batch's lock."""
    text = canonical_json(document)
    event_time = dt.datetime.fromisoformat(document["eventTime"])
    with database.atomic():
        event = Event.create(event_id=document["eventID"], kind=kind, batch=batch,
                             biz_step=step_name(document.get("bizStep", "")), event_time=to_utc_naive(event_time),
                             organisation=organisation, recorded_by=user, corrects=corrects,
                             source_event_id=document.get(f"{NS}:sourceEventID"), document=text,
                             hash=digest(text))
        for listener in _EVENT_LISTENERS:
            listener(event)
    return event


def _base_document(batch, event_type, biz_step, when, organisation, user, place):
    return {
        "type": event_type,
        "eventID": f"urn:uuid:{uuid.uuid4()}",
        "eventTime": when.isoformat(timespec="seconds"),
        "eventTimeZoneOffset": _offset(when),
        "bizStep": biz_step,
        "readPoint": {"id": organisation_uri(organisation.id)},
        "bizLocation": {"id": organisation_uri(organisation.id)},
        f"{NS}:organisation": organisation.name,
        f"{NS}:place": place or organisation.name,
        f"{NS}:recordedBy": {"organisation": organisation.id, "user": user.id if user else None},
        f"{NS}:batch": batch.code,
    }


def _standing_events(batch):
    """The batch's events that stand: not declared erroneous, and not the declarations themselves."""
    declared = Event.select(Event.event_id).where((Event.batch == batch) & (Event.kind == "error_declaration"))
    return Event.select().where((Event.batch == batch) & (Event.kind == "event") & Event.event_id.not_in(declared))


def _last_event_time(batch):
    """The earliest time a new event of ``batch`` may have: that of its latest standing event
    (an event declared erroneous sets nothing, so a wrong time can always be corrected away)."""
    last = _standing_events(batch).order_by(Event.event_time.desc()).first()
    return last.event_time if last else None


def _correction_window(event):
    """(earliest, latest) UTC time a correction of ``event`` may give it: between the standing events
    just before and after it, so a correction neither reorders the journey nor reaches into a later
    holder's period (a former holder cannot freeze the batch by moving its event past the others)."""
    others = _standing_events(event.batch_id).where(Event.id != event.id)
    before = others.where(Event.event_time < event.event_time).order_by(Event.event_time.desc()).first()
    after = others.where(Event.event_time > event.event_time).order_by(Event.event_time).first()
    return (before.event_time if before else None), (after.event_time if after else None)


def _organisation_for(user, batch, acting):
    """The organisation a user records an event for on this batch."""
    if batch.holder_id in acting:
        return batch.holder
    if batch.destination_id in acting:
        return batch.destination
    return user.organisation


def _attachments(hashes, user=None):
    """What events cite of each SHA-256: an uploaded attachment, or (for ``user``) a photo of a farm log
    the user may see, which stays in the farm log (farms keeps it; it is not copied here)."""
    result = []
    for sha in hashes or []:
        attachment = Attachment.get_or_none(Attachment.sha256 == sha)
        if attachment is not None:
            result.append({"sha256": attachment.sha256, "filename": attachment.filename,
                           "mediaType": attachment.media_type, "size": attachment.size})
            continue
        photo = farms.photo_attachment(user, sha) if user is not None and isinstance(sha, str) else None
        if photo is None:
            raise ValidationError(_("Unknown attachment."), {"attachments": sha})
        result.append(photo)
    return result


def find_event(event_id):
    """The stored event row (of any kind) with this id, or None."""
    return Event.get_or_none(Event.id == event_id)


def _megabytes(size):
    return f"{size / (1024 * 1024):.1f} MB"


def store_attachment(user, filename, data):
    """Keep an uploaded file by its SHA-256 (the same file is stored once), for someone who records
    journey events: a photo (JPEG, PNG, WebP) or a PDF document, told apart by its first bytes (what the
    file is, not what its name or the browser claims), within the organisation's ATTACHMENT_QUOTA_BYTES."""
    acting = acting_organisations(user)
    if user is None or user.role not in ATTACHMENT_ROLES or (user.role != "admin" and not acting):
        raise Denied(403, _("Only people who record journey events may upload attachments."))
    if not data:
        raise ValidationError(_("The file is empty."), {"file": _("Empty file.")})
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("The file is too large (at most 5 MB)."), {"file": _("Too large.")})
    kind = filetype.guess(data)
    media_type = kind.mime if kind else None
    if media_type not in ATTACHMENT_TYPES:
        raise ValidationError(_("Attach a photo (JPEG, PNG or WebP) or a PDF document."),
                              {"file": _("This kind of file cannot be attached.")})
    sha = hashlib.sha256(data).hexdigest()
    existing = Attachment.get_or_none(Attachment.sha256 == sha)
    if existing:
        return existing
    organisation = user.organisation_id or (min(acting) if acting else None)
    if organisation is not None:
        quota = current_app.config["ATTACHMENT_QUOTA_BYTES"]
        used = (Attachment.select(pw.fn.COALESCE(pw.fn.SUM(Attachment.size), 0))
                .where(Attachment.organisation == organisation).scalar())
        if used + len(data) > quota:
            raise ValidationError(
                _("Your organisation's attachment storage is full: %(used)s of %(quota)s used, and this file "
                  "needs %(size)s. Ask the administrator for more room.",
                  used=_megabytes(used), quota=_megabytes(quota), size=_megabytes(len(data))),
                {"file": _("Over your organisation's storage quota.")})
    return Attachment.create(sha256=sha, filename=(filename or "file")[:200], media_type=media_type,
                             size=len(data), data=data, organisation=organisation)


def record_event(user, batch, data):
    """Append a journey event recorded by ``user``; checks who may record what.

    ``data``: biz_step, event_time (aware), place, quantity, destination (shipping: organisation id),
    passed/items/lab (inspecting), attachments (sha256 list), notes.
    """
    step = data.get("biz_step")
    if step not in RECORDABLE_STEPS:
        raise ValidationError(_("Unknown journey step."), {"biz_step": _("Choose a step.")})
    acting = acting_organisations(user)
    with database.atomic():
        batch = _locked(batch.id)
        if step in ("inspecting", "sampling") and permissions.can_inspect(user) and user.role == "inspector":
            organisation = user.organisation
        elif step == "receiving":
            if not permissions.can_receive_batch(user, batch, acting):
                raise Denied(403, _("Only the organisation this batch was shipped to may receive it."))
            organisation = batch.destination
        else:
            _require_holder(user, batch)
            if batch.status == "in_transit":
                raise ValidationError(_("The batch is in transit; it must be received first."),
                                      {"biz_step": _("In transit.")})
            if batch.status == "consumed":
                raise ValidationError(_("This batch was split, merged or processed into other batches."),
                                      {"biz_step": _("Batch used up.")})
            organisation = _organisation_for(user, batch, acting)
        when = data.get("event_time")
        _check_time(when, _last_event_time(batch))
        quantity = data.get("quantity")
        if quantity is not None and (not _positive(quantity) or quantity > batch.remaining + 1e-9):
            raise ValidationError(_("The quantity must be above zero and at most what the batch holds."),
                                  {"quantity": _("At most %(q)g %(unit)s.", q=batch.remaining, unit=batch.unit)})
        document = _base_document(batch, "ObjectEvent", step, when, organisation, user, data.get("place"))
        document["action"] = "OBSERVE"
        document["quantityList"] = [_quantity_element(batch, quantity if quantity is not None else batch.remaining)]
        document["disposition"] = DISPOSITIONS.get(step, "in_progress")
        if data.get("notes"):
            document[f"{NS}:notes"] = data["notes"][:1000]
        if data.get("source_event_id"):
            document[f"{NS}:sourceEventID"] = data["source_event_id"]
        attachments = _attachments(data.get("attachments"), user)
        if attachments:
            document[f"{NS}:attachments"] = attachments

        if step == "inspecting":
            if not permissions.can_inspect(user):
                raise Denied(403, _("Only inspectors record inspections."))
            items = _inspection_items(data.get("items"))
            passed = bool(data.get("passed")) and all(item["passed"] for item in items)
            document["disposition"] = "conformant" if passed else "non_conformant"
            document[f"{NS}:inspection"] = {"lab": organisation.name, "passed": passed, "items": items}
            Inspection.create(lab=organisation, inspector=user, batch=batch, sampled_at=to_utc_naive(when),
                              passed=passed, items=canonical_json(items),
                              report_sha256=attachments[0]["sha256"] if attachments else None)
        if step == "shipping":
            destination = Organisation.get_or_none(Organisation.id == data.get("destination"))
            if destination is None:
                raise ValidationError(_("Choose the organisation the batch is shipped to."),
                                      {"destination": _("Unknown organisation.")})
            # A shipment may stay within one organisation (orchard to packing house);
            # ownership changes only when another organisation receives it.
            document["destinationList"] = [{"type": "owning_party", "destination": organisation_uri(destination.id)}]
            document["sourceList"] = [{"type": "owning_party", "source": organisation_uri(organisation.id)}]
            document[f"{NS}:destination"] = destination.name
            batch.status, batch.destination = "in_transit", destination
            batch.save()
        elif step == "receiving":
            document["sourceList"] = [{"type": "owning_party", "source": organisation_uri(batch.holder_id)}]
            document["destinationList"] = [{"type": "owning_party", "destination": organisation_uri(organisation.id)}]
            batch.status, batch.holder, batch.destination = "active", organisation, None
            batch.save()
        elif step == "retail_selling":
            batch.status = "sold"
            batch.save()
        return _append(batch, document, organisation, user)


def _inspection_items(items):
    if not isinstance(items, list) or not items:
        raise ValidationError(_("An inspection lists the items tested."), {"items": _("Required.")})
    clean = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise ValidationError(_("Each tested item needs a name."), {f"items.{index}": _("Name required.")})
        entry = {"name": str(item["name"])[:80], "passed": bool(item.get("passed", True))}
        for key in ("result", "limit"):
            if item.get(key) not in (None, ""):
                try:
                    entry[key] = float(item[key])
                    if not math.isfinite(entry[key]):
                        raise ValueError(item[key])
                except (TypeError, ValueError):
                    raise ValidationError(_("Results are numbers."), {f"items.{index}.{key}": _("A number.")}) \
                        from None
        if item.get("unit"):
            entry["unit"] = str(item["unit"])[:16]
        if "result" in entry and "limit" in entry and entry["result"] > entry["limit"]:
            entry["passed"] = False
        clean.append(entry)
    return clean


def correct_event(user, event, data, reason="incorrect_data"):
    """Declare ``event`` erroneous and append the corrected version; nothing is changed in place."""
    if event.kind != "event":
        raise ValidationError(_("Only an event can be corrected."), {"event": _("Not an event.")})
    acting = acting_organisations(user)
    if user.role != "admin" and event.organisation_id not in acting:
        raise Denied(403, _("Only the organisation that recorded an event may correct it."))
    original = json.loads(event.document)
    with database.atomic():
        batch = _locked(event.batch_id)
        if Event.select().where((Event.event_id == event.event_id) & (Event.kind == "error_declaration")).exists():
            raise Conflict(_("This event has already been corrected."), {"event": _("Already corrected.")})
        earliest, latest = _correction_window(event)
        if "event_time" in data:
            _check_time(data["event_time"], earliest)
            if latest is not None and to_utc_naive(data["event_time"]) > latest:
                raise ValidationError(_("A correction cannot move an event past the batch's later events."),
                                      {"event_time": _("Too late for this batch.")})
        if "quantity" in data and not (_positive(data["quantity"]) and data["quantity"] <= batch.quantity + 1e-9):
            raise ValidationError(_("The quantity must be above zero and at most what the batch holds."),
                                  {"quantity": _("At most %(q)g %(unit)s.", q=batch.quantity, unit=batch.unit)})
        corrected = dict(original)
        corrected["eventID"] = f"urn:uuid:{uuid.uuid4()}"
        for key, value in data.items():
            if key == "event_time":
                corrected["eventTime"] = value.isoformat(timespec="seconds")
                corrected["eventTimeZoneOffset"] = _offset(value)
            elif key == "place":
                corrected[f"{NS}:place"] = value
            elif key == "notes":
                corrected[f"{NS}:notes"] = value
            elif key == "quantity":
                corrected["quantityList"] = [dict(corrected["quantityList"][0], quantity=value)]
        corrected[f"{NS}:recordedBy"] = {"organisation": event.organisation_id, "user": user.id}
        corrected[f"{NS}:corrects"] = event.event_id
        new = _append(event.batch, corrected, event.organisation, user, corrects=event.event_id)
        declaration = dict(original)
        declaration["errorDeclaration"] = {
            "declarationTime": from_utc_naive(utcnow()).isoformat(timespec="seconds"),
            "reason": reason, "correctiveEventIDs": [new.event_id]}
        _append(event.batch, declaration, event.organisation, user, kind="error_declaration")
    return new
