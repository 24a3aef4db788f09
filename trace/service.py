"""Traceability: the only door into batches, lineage, journey events and scans.

Journey events are EPCIS 2.0 events. Each is stored as canonical JSON with its
SHA-256, so that the chain issue can anchor the hashes and anyone can recompute
them: ``canonical_json`` is the one serialisation, used for hashing and storage.
"""
import datetime as dt
import hashlib
import ipaddress
import json
import math
import secrets
import uuid

import peewee as pw

from flask import current_app
from flask_babel import gettext as _

from farms import service as farms
from sensors import service as sensors
from trace import digital_link
from trace.models import Attachment, Batch, BatchLink, Event, Inspection, Scan
from trace import permissions
from web.accounts.models import Organisation
from web.clock import utcnow
from web.db import Conflict, ValidationError, database, is_postgres
from web.clock import from_utc_naive, local_zone, to_utc_naive
from web.permissions import Access, Denied

# Journey steps, in CBV 2.0 vocabulary, that a user records directly.
RECORDABLE_STEPS = ("inspecting", "sampling", "packing", "storing", "shipping", "receiving", "retail_selling")
ALL_STEPS = ("commissioning", "transforming") + RECORDABLE_STEPS
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
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: easy to read aloud

# Scan warnings.
SCANS_PER_HOUR_LIMIT = 30
NEW_PLACES_AFTER_SALE_LIMIT = 3


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
    return Batch.get_or_none((Batch.gtin == link.gtin) & (Batch.lot_number == link.lot))


def _new_code():
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        if not Batch.select().where(Batch.code == code).exists():
            return code


# ---------------------------------------------------------------- access


def acting_organisations(user):
    """The organisations ``user`` acts for: their own and the owners of farms they log on."""
    if user is None:
        return set()
    acting = {user.organisation_id} if user.organisation_id else set()
    farm_ids = farms.farm_ids_with_access(user, Access.LOG) if user.role == "farmer" else []
    for farm_id in farm_ids:
        acting.add(farms.public_farm(farm_id)["organisation_id"])
    return acting


def _ever_held(batch):
    ids = ancestor_ids(batch.id) | {batch.id}
    holders = {b.holder_id for b in Batch.select(Batch.holder).where(Batch.id.in_(list(ids)))}
    recorders = {e.organisation_id for e in Event.select(Event.organisation).where(Event.batch.in_(list(ids)))}
    return holders | recorders


def get_batch(user, batch_id):
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None:
        raise Denied(404, "batch not found")
    farm_level = Access.NONE
    if batch.farm_id:
        farm_level = farms.access_to_farm_id(user, batch.farm_id)
    if not permissions.can_view_batch(user, batch, acting_organisations(user), _ever_held(batch), farm_level):
        raise Denied(404, "batch not found")
    return batch


def visible_batches(user):
    """Batches the user's organisations hold or held, newest first (all for admins and inspectors)."""
    query = Batch.select().order_by(Batch.created_at.desc(), Batch.id.desc())
    if user.role in ("admin", "inspector"):
        return query
    acting = list(acting_organisations(user)) or [0]
    touched = Event.select(Event.batch).where(Event.organisation.in_(acting))
    return query.where(Batch.holder.in_(acting) | Batch.organisation.in_(acting) | Batch.id.in_(touched)
                       | (Batch.destination.in_(acting)))


def _require_holder(user, batch):
    if not permissions.can_act_on_batch(user, batch, acting_organisations(user)):
        raise Denied(403, _("Only the organisation that holds this batch may do this."))


# ---------------------------------------------------------------- events


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


def step_name(biz_step):
    """The short step name of a document's bizStep ("gx:transforming" -> "transforming")."""
    return biz_step.split(":", 1)[1] if biz_step.startswith(f"{NS}:") else biz_step


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


# ---------------------------------------------------------------- for the chain domain
#
# The chain domain seals and anchors events without trace knowing it: it registers a
# listener for new events and the provider of the consumer page's verification.

_EVENT_LISTENERS = []
_VERIFIER = []


def add_event_listener(listener):
    """``listener(event_row)`` runs for each stored event, in its transaction."""
    if listener not in _EVENT_LISTENERS:
        _EVENT_LISTENERS.append(listener)


def set_verifier(verifier):
    """``verifier(batch, steps)`` answers ``verification`` (the consumer page's verdict)."""
    _VERIFIER[:] = [verifier]


def event_record(event):
    """Every stored column of an event row, as JSON values: what a seal must cover."""
    return {"id": event.id, "eventID": event.event_id, "kind": event.kind, "batch": event.batch_id,
            "bizStep": event.biz_step, "eventTime": event.event_time.isoformat(),
            "organisation": event.organisation_id, "recordedBy": event.recorded_by_id,
            "corrects": event.corrects, "sourceEventID": event.source_event_id,
            "recordedAt": event.recorded_at.isoformat(), "hash": event.hash,
            "document": json.loads(event.document)}


def batch_header(batch_id):
    """The batch row's fields that pages show and that never change (code, lot, product, origin, amount)."""
    batch = Batch.get_by_id(batch_id)
    return {"code": batch.code, "lot": batch.lot_number, "gtin": batch.gtin, "organisation": batch.organisation_id,
            "product": {"zh": batch.product_name, "en": batch.product_name_en, "crop": batch.crop_code},
            "variety": batch.variety, "farm": batch.farm_id, "plot": batch.plot_id, "harvestLog": batch.harvest_log_id,
            "harvestDate": batch.harvest_date.isoformat() if batch.harvest_date else None,
            "quantity": batch.quantity, "unit": batch.unit, "createdBy": batch.created_by_id,
            "createdAt": batch.created_at.isoformat()}


def batch_events(batch_id, after_id=0):
    """A batch's stored event rows (of every kind) in the order they were recorded."""
    return list(Event.select().where((Event.batch == batch_id) & (Event.id > after_id)).order_by(Event.id))


def batch_ids_with_events():
    return [row.batch_id for row in Event.select(Event.batch).distinct().order_by(Event.batch)]


def event_count():
    return Event.select().count()


def find_by_code(code):
    return Batch.get_or_none(Batch.code == code)


def find_batch(batch_id):
    return Batch.get_or_none(Batch.id == batch_id)


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


def _attachments(hashes):
    result = []
    for sha in hashes or []:
        attachment = Attachment.get_or_none(Attachment.sha256 == sha)
        if attachment is None:
            raise ValidationError(_("Unknown attachment."), {"attachments": sha})
        result.append({"sha256": attachment.sha256, "filename": attachment.filename,
                       "mediaType": attachment.media_type, "size": attachment.size})
    return result


def store_attachment(filename, media_type, data):
    """Keep an uploaded file by its SHA-256 (the same file is stored once)."""
    if not data:
        raise ValidationError(_("The file is empty."), {"file": _("Empty file.")})
    if len(data) > ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("The file is too large (at most 5 MB)."), {"file": _("Too large.")})
    sha = hashlib.sha256(data).hexdigest()
    existing = Attachment.get_or_none(Attachment.sha256 == sha)
    if existing:
        return existing
    return Attachment.create(sha256=sha, filename=(filename or "file")[:200],
                             media_type=(media_type or "application/octet-stream")[:100], size=len(data),
                             data=data)


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
        attachments = _attachments(data.get("attachments"))
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


# ---------------------------------------------------------------- batches


def _phi_violations(harvest):
    """Pesticide applications whose pre-harvest interval had not elapsed at harvest."""
    harvest_day = from_utc_naive(harvest.harvested_at).date()
    since = harvest.harvested_at - dt.timedelta(days=366)
    violations = []
    for application in farms.input_applications(harvest.plot_ids, since=since, until=harvest.harvested_at,
                                                pesticides_only=True):
        applied_day = from_utc_naive(application["applied_at"]).date()
        safe_day = applied_day + dt.timedelta(days=application["phi_days"])
        if harvest_day < safe_day:
            violations.append(dict(application, applied_day=applied_day, safe_day=safe_day))
    return violations


def _planting_since(harvest):
    """Start of the harvest's planting (naive UTC), or None."""
    if not harvest.planting_start:
        return None
    return to_utc_naive(dt.datetime.combine(harvest.planting_start, dt.time(), tzinfo=local_zone()))


def _growing_conditions(harvest):
    """What the plots' sensors saw over the season: since planting, at most the year before harvest."""
    year_before = harvest.harvested_at - dt.timedelta(days=365)
    since = max(_planting_since(harvest) or year_before, year_before)
    return sensors.growing_conditions(harvest.plot_ids, since, harvest.harvested_at)


def _applied_inputs(harvest):
    """Every input applied to the plots during the planting up to harvest, for the consumer."""
    since = _planting_since(harvest)
    return [{"product": a["product_name"], "activeIngredient": a["active_ingredient"],
             "category": a["category"], "date": from_utc_naive(a["applied_at"]).date().isoformat(),
             "phiDays": a["phi_days"]}
            for a in farms.input_applications(harvest.plot_ids, since=since, until=harvest.harvested_at)]


def create_batch(user, data):
    """Make a batch from a harvest log, refusing it while a pesticide's interval has not elapsed.

    ``data``: harvest_log, lot_number (default: the harvest's lot), gtin, quantity (default: the
    harvest's), override_inspection (id of a passing residue test of the plot, to override the rule).
    """
    harvest = farms.harvest_record(user, data.get("harvest_log"))
    violations = _phi_violations(harvest)
    override = None
    if violations:
        override = _override_inspection(data.get("override_inspection"), harvest, violations)
        if override is None:
            first = violations[0]
            message = _("%(product)s was applied on %(applied)s; its pre-harvest interval of %(days)d days "
                        "ends on %(safe)s. The earliest safe harvest date is %(safe)s.",
                        product=first["product_name"], applied=first["applied_day"].isoformat(),
                        days=first["phi_days"], safe=max(v["safe_day"] for v in violations).isoformat())
            raise ValidationError(message, {"harvest_log": message})
    gtin = data.get("gtin") or None
    if gtin:
        try:
            gtin = digital_link.normalise_gtin(gtin)
        except ValueError as e:
            raise ValidationError(_("Not a valid GTIN."), {"gtin": str(e)}) from None
    lot = (data.get("lot_number") or harvest.lot_number or "").strip()
    if not lot:
        raise ValidationError(_("Give the batch a lot number."), {"lot_number": _("Required.")})
    try:
        digital_link.check_lot(lot)
    except ValueError as e:
        raise ValidationError(_("Not a valid lot number."), {"lot_number": str(e)}) from None
    already = sum(b.quantity for b in Batch.select(Batch.quantity).where(Batch.harvest_log == harvest.log_id))
    available = (harvest.quantity or 0) - already
    quantity = data.get("quantity") or available
    if not _positive(quantity) or quantity > available + 1e-9:
        raise ValidationError(_("The quantity must be above zero and at most the unbatched harvest."),
                              {"quantity": _("At most %(q)g %(unit)s.", q=max(available, 0), unit=harvest.unit)})
    organisation = Organisation.get_by_id(harvest.organisation_id)
    with database.atomic():
        if Batch.select().where((Batch.organisation == organisation) & (Batch.lot_number == lot)).exists():
            raise Conflict(_("This lot number is already used by your organisation."),
                           {"lot_number": _("Already used.")})
        batch = Batch.create(
            code=_new_code(), organisation=organisation, holder=organisation, lot_number=lot, gtin=gtin,
            product_name=harvest.crop_name_zh, product_name_en=harvest.crop_name_en, crop_code=harvest.crop_code,
            variety=harvest.variety, farm=harvest.farm_id, plot=harvest.plot_ids[0], harvest_log=harvest.log_id,
            harvest_date=from_utc_naive(harvest.harvested_at).date(), quantity=quantity, remaining=quantity,
            unit=harvest.unit, created_by=user)
        when = from_utc_naive(harvest.harvested_at)
        farm = farms.public_farm(harvest.farm_id)
        document = _base_document(batch, "ObjectEvent", "commissioning", when, organisation, user, harvest.farm_name)
        document.update({
            "action": "ADD", "disposition": "active", "quantityList": [_quantity_element(batch, quantity)],
            "ilmd": {
                f"{NS}:product": {"zh": harvest.crop_name_zh, "en": harvest.crop_name_en, "crop": harvest.crop_code},
                f"{NS}:variety": harvest.variety,
                f"{NS}:harvestDate": batch.harvest_date.isoformat(),
                f"{NS}:farm": {"id": harvest.farm_id, "name": harvest.farm_name,
                               "countyCode": harvest.county_code, "county": farm["county"],
                               "certifications": farm["certifications"]},
                f"{NS}:plots": list(harvest.plot_names),
                f"{NS}:plantingStart": harvest.planting_start.isoformat() if harvest.planting_start else None,
                f"{NS}:inputsApplied": _applied_inputs(harvest),
            },
        })
        conditions = _growing_conditions(harvest)
        if conditions:
            document["ilmd"][f"{NS}:growingConditions"] = conditions
        if override is not None:
            document["ilmd"][f"{NS}:phiOverride"] = {"inspection": override.id, "lab": override.lab.name,
                                                     "sampledAt": from_utc_naive(override.sampled_at).isoformat()}
        _append(batch, document, organisation, user)
    return batch


def _override_inspection(inspection_id, harvest, violations):
    if not inspection_id:
        return None
    inspection = Inspection.get_or_none(Inspection.id == inspection_id)
    latest = max(v["applied_at"] for v in violations)
    if (inspection is None or not inspection.passed or inspection.plot_id not in harvest.plot_ids
            or inspection.sampled_at < latest or inspection.sampled_at > harvest.harvested_at + dt.timedelta(days=3)):
        raise ValidationError(
            _("An override needs a passing residue test of this plot, sampled after the last spraying."),
            {"override_inspection": _("Not a passing residue test of this plot after the spraying.")})
    return inspection


def record_plot_inspection(user, plot_id, data):
    """An inspector's residue test on a plot before harvest (used to override the interval rule)."""
    if not permissions.can_inspect(user):
        raise Denied(403, _("Only inspectors record inspections."))
    plot = farms.get_plot(user, plot_id)
    when = data.get("sampled_at")
    _check_time(when)
    items = _inspection_items(data.get("items"))
    passed = bool(data.get("passed")) and all(item["passed"] for item in items)
    return Inspection.create(lab=user.organisation, inspector=user, plot=plot.id, sampled_at=to_utc_naive(when),
                             passed=passed, items=canonical_json(items),
                             report_sha256=(_attachments(data.get("attachments")) or [{}])[0].get("sha256"))


def _child_batch(parent, organisation, user, lot, quantity, product=None):
    product = product or {}
    return Batch.create(
        code=_new_code(), organisation=organisation, holder=organisation, lot_number=lot,
        gtin=product.get("gtin", parent.gtin), product_name=product.get("zh", parent.product_name),
        product_name_en=product.get("en", parent.product_name_en), crop_code=product.get("crop", parent.crop_code),
        variety=product.get("variety", parent.variety), farm=parent.farm_id if not product.get("multi") else None,
        plot=parent.plot_id if not product.get("multi") else None, harvest_log=None,
        harvest_date=parent.harvest_date, quantity=quantity, remaining=quantity,
        unit=product.get("unit", parent.unit), created_by=user)


def _lot_free(organisation, lot):
    if Batch.select().where((Batch.organisation == organisation) & (Batch.lot_number == lot)).exists():
        raise Conflict(_("This lot number is already used by your organisation."), {"lot_number": lot})
    try:
        digital_link.check_lot(lot)
    except ValueError as e:
        raise ValidationError(_("Not a valid lot number."), {"lot_number": str(e)}) from None


def _transformation(user, inputs, output, when, organisation, kind, place=None):
    """Record the TransformationEvent that made ``output`` from ``inputs`` [(batch, quantity)]."""
    document = _base_document(output, "TransformationEvent", TRANSFORMING, when, organisation, user, place)
    document["inputQuantityList"] = [_quantity_element(batch, qty) for batch, qty in inputs]
    document["outputQuantityList"] = [_quantity_element(output, output.quantity)]
    document["disposition"] = "active"
    document[f"{NS}:lineage"] = kind
    document[f"{NS}:inputs"] = [batch.code for batch, _qty in inputs]
    document[f"{NS}:product"] = {"zh": output.product_name, "en": output.product_name_en}
    for batch, qty in inputs:
        BatchLink.create(parent=batch, child=output, kind=kind, quantity=qty)
    return _append(output, document, organisation, user)


def _use(batch, quantity):
    batch.remaining = round(batch.remaining - quantity, 6)
    if batch.remaining <= 1e-9:
        batch.remaining, batch.status = 0, "consumed"
    batch.save()


def _lots(data_lots, base, count):
    lots = list(data_lots or [])
    return lots + [f"{base}-{i}"[:20] for i in range(len(lots) + 1, count + 1)]


def split(user, batch, quantities, lots=None, when=None):
    """Split a batch into new batches of the given quantities (the rest stays in the batch)."""
    when = when or dt.datetime.now(local_zone())
    if not quantities or any(not isinstance(q, (int, float)) or not math.isfinite(q) or q <= 0
                             for q in quantities):
        raise ValidationError(_("Each part needs a quantity above zero."), {"quantities": _("Above zero.")})
    with database.atomic():
        batch = _locked(batch.id)
        _require_holder(user, batch)
        _check_active(batch)
        _check_time(when, _last_event_time(batch))
        if sum(quantities) > batch.remaining + 1e-9:
            raise ValidationError(_("The parts add up to more than the batch holds (%(q)g %(unit)s).",
                                    q=batch.remaining, unit=batch.unit), {"quantities": _("Too much.")})
        children = []
        for lot, quantity in zip(_lots(lots, batch.lot_number, len(quantities)), quantities):
            _lot_free(batch.holder_id, lot)
            child = _child_batch(batch, batch.holder, user, lot, quantity)
            _transformation(user, [(batch, quantity)], child, when, batch.holder, "split")
            children.append(child)
        _use(batch, sum(quantities))
    return children


def merge(user, batches, lot, when=None):
    """Merge whole batches of one product, held by one organisation, into a new batch."""
    when = when or dt.datetime.now(local_zone())
    if len({b.id for b in batches}) < 2 or len({b.id for b in batches}) != len(batches):
        raise ValidationError(_("Choose at least two different batches to merge."), {"batches": _("Two or more.")})
    with database.atomic():
        batches = [_locked(b.id) for b in batches]
        for batch in batches:
            _require_holder(user, batch)
            _check_active(batch)
            _check_time(when, _last_event_time(batch))
        if len({b.holder_id for b in batches}) != 1:
            raise ValidationError(_("Merged batches must be held by the same organisation."), {"batches": ""})
        if len({(b.crop_code, b.product_name, b.unit) for b in batches}) != 1:
            raise ValidationError(_("Batches of different products cannot be merged; record a transformation "
                                    "instead."), {"batches": _("Different products.")})
        holder = batches[0].holder
        _lot_free(holder.id, lot)
        total = sum(b.remaining for b in batches)
        first = batches[0]
        same_farm = len({b.farm_id for b in batches}) == 1
        output = _child_batch(first, holder, user, lot, total, {"multi": not same_farm})
        _transformation(user, [(b, b.remaining) for b in batches], output, when, holder, "merge")
        for batch in batches:
            _use(batch, batch.remaining)
    return output


def transform(user, inputs, product, quantity, unit, lot, when=None, gtin=None):
    """Process input batches [(batch, quantity)] into a new product (juice from oranges, tea from leaf)."""
    when = when or dt.datetime.now(local_zone())
    if not inputs or len({b.id for b, _used in inputs}) != len(inputs):
        raise ValidationError(_("Choose the input batches, each once."), {"inputs": _("Required.")})
    if not product.get("zh"):
        raise ValidationError(_("Name the new product."), {"product": _("Required.")})
    if not isinstance(quantity, (int, float)) or not math.isfinite(quantity) or quantity <= 0:
        raise ValidationError(_("The output quantity must be above zero."), {"quantity": _("Above zero.")})
    with database.atomic():
        resolved = []
        for batch, used in inputs:
            batch = _locked(batch.id)
            _require_holder(user, batch)
            _check_active(batch)
            _check_time(when, _last_event_time(batch))
            if not isinstance(used, (int, float)) or used <= 0 or used > batch.remaining + 1e-9:
                raise ValidationError(_("Each input needs a quantity above zero and at most what it holds."),
                                      {"inputs": batch.lot_number})
            resolved.append((batch, used))
        if len({b.holder_id for b, _u in resolved}) != 1:
            raise ValidationError(_("All inputs must be held by the same organisation."), {"inputs": ""})
        holder = resolved[0][0].holder
        _lot_free(holder.id, lot)
        if gtin:
            try:
                gtin = digital_link.normalise_gtin(gtin)
            except ValueError as e:
                raise ValidationError(_("Not a valid GTIN."), {"gtin": str(e)}) from None
        same_farm = len({b.farm_id for b, _u in resolved}) == 1
        output = _child_batch(resolved[0][0], holder, user, lot, quantity, {
            "zh": product["zh"], "en": product.get("en", ""), "crop": product.get("crop", ""),
            "variety": "", "unit": unit, "gtin": gtin, "multi": not same_farm})
        _transformation(user, resolved, output, when, holder, "transform")
        for batch, used in resolved:
            _use(batch, used)
    return output


def _check_active(batch):
    if batch.status == "in_transit":
        raise ValidationError(_("The batch is in transit; it must be received first."), {"batch": batch.lot_number})
    if batch.status in ("consumed", "recalled"):
        raise ValidationError(_("This batch can no longer be changed."), {"batch": batch.lot_number})


# ---------------------------------------------------------------- lineage and recall


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


# ---------------------------------------------------------------- consumers


def place_of(remote_addr):
    """A short hash of the client's network (/24 or /48): enough to tell places apart, not people."""
    try:
        address = ipaddress.ip_address(remote_addr or "0.0.0.0")
    except ValueError:
        address = ipaddress.ip_address("0.0.0.0")
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return hashlib.sha256(f"{current_app.config['SECRET_KEY']}|{network}".encode()).hexdigest()[:16]


def record_scan(batch, remote_addr, serial=None):
    return Scan.create(batch=batch, serial=serial, place=place_of(remote_addr))


def scan_stats(batch):
    """Total scans, first scan, and warnings a buyer should see."""
    scans = Scan.select().where(Scan.batch == batch)
    total = scans.count()
    first = scans.order_by(Scan.scanned_at).first()
    warnings = []
    hour_ago = utcnow() - dt.timedelta(hours=1)
    recent = scans.where(Scan.scanned_at >= hour_ago).count()
    if recent > SCANS_PER_HOUR_LIMIT:
        warnings.append("frequent")
    sale = (Event.select(Event.event_time)
            .where((Event.batch == batch) & (Event.biz_step == "retail_selling") & (Event.kind == "event"))
            .order_by(Event.event_time).first())
    if sale is not None:
        before = {s.place for s in scans.where(Scan.scanned_at < sale.event_time)}
        after = {s.place for s in scans.where(Scan.scanned_at >= sale.event_time)} - before
        if len(after) > NEW_PLACES_AFTER_SALE_LIMIT:
            warnings.append("new_places")
    return {"total": total, "first": first.scanned_at if first else None, "warnings": warnings}


def public_view(batch):
    """Everything the public consumer page shows, from hashed event documents only."""
    steps = journey(batch)
    origin = None
    inputs, inspections, timeline, conditions = [], [], [], []
    for event, document, erroneous in steps:
        if erroneous:
            continue
        if document.get("bizStep") == "commissioning" and origin is None:
            ilmd = document.get("ilmd", {})
            origin = {"farm": ilmd.get(f"{NS}:farm", {}), "harvest_date": ilmd.get(f"{NS}:harvestDate"),
                      "variety": ilmd.get(f"{NS}:variety"), "plots": ilmd.get(f"{NS}:plots", []),
                      "planting_start": ilmd.get(f"{NS}:plantingStart")}
            inputs = ilmd.get(f"{NS}:inputsApplied", [])
            conditions = ilmd.get(f"{NS}:growingConditions", [])
        if document.get(f"{NS}:inspection"):
            inspections.append(dict(document[f"{NS}:inspection"], time=document["eventTime"]))
        timeline.append({"id": event.id, "step": step_name(document.get("bizStep", "")), "time": document["eventTime"],
                         "place": document.get(f"{NS}:place"), "organisation": document.get(f"{NS}:organisation"),
                         "destination": document.get(f"{NS}:destination"),
                         "corrected": bool(document.get(f"{NS}:corrects"))})
    return {"batch": batch, "origin": origin or {}, "inputs": inputs, "inspections": inspections,
            "conditions": conditions, "timeline": timeline, "verification": verification(batch, steps)}


def verification(batch, steps=None):
    """'tampered' if any stored event no longer matches its hash; otherwise 'pending' until anchored.

    The chain domain, when installed, answers instead (see ``set_verifier``).
    """
    steps = steps if steps is not None else journey(batch)
    if _VERIFIER:
        return _VERIFIER[0](batch, steps)
    for event, _document, _erroneous in steps:
        if not verify_event(event):
            return {"status": "tampered", "event_id": event.event_id}
    return {"status": "pending", "events": len(steps)}
