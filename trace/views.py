"""Batch pages (signed in) and the public consumer page that a QR code opens (no sign-in).

Every read and write goes through ``trace.service``; a batch the user may not see
is a 404, an action they may not take a 403 (``web.errors`` turns ``Denied`` into those).
"""
import datetime as dt
import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from farms import service as farms
from sensors import service as sensors
from trace import digital_link, qr, service
from trace.forms import (LINEAGE_LABELS, SCAN_WARNING_LABELS, SEAL_LABELS, STATUS_LABELS, STEP_CHOICE_LABELS, STEP_LABELS,
                         UNIT_EXPLANATIONS, BASIS_LABELS,
                         BatchForm, EventForm, InspectionForm, MergeForm, SplitForm, TransformForm)
from trace import permissions
from web import divisions
from web.api import PREFIX
from web.accounts import service as accounts
from web.db import Conflict, ValidationError, database
from web.clock import from_utc_naive, local_zone
from web.forms import apply_errors, submit
from web.permissions import Access, Denied
from web.security import limiter, login_required

bp = Blueprint("trace", __name__, template_folder="templates")

BATCHES_PER_PAGE = 50
MAX_LABELS = 40
PUBLIC_ENDPOINTS = {"trace.consumer"}
login_required(bp, public=PUBLIC_ENDPOINTS)
# The statement of the certificate of conformity (承诺达标合格证), as the regulation words it.
COMMITMENT_ZH = "本人承诺不使用禁用农药兽药、停用兽药和非法添加物，常规农药兽药残留不超标，对承诺的真实性负责。"
# Steps the general event form offers to the holder, most common first; inspections have their own form,
# and receiving is offered only to the organisation a batch was shipped to.
FORM_STEPS = tuple(s for s in ("shipping", "storing", "packing", "retail_selling", "sampling")
                   if s in service.RECORDABLE_STEPS)


@bp.app_context_processor
def _trace_labels():
    return {"STEP_LABELS": STEP_LABELS, "STATUS_LABELS": STATUS_LABELS, "LINEAGE_LABELS": LINEAGE_LABELS,
            "SCAN_WARNING_LABELS": SCAN_WARNING_LABELS, "SEAL_LABELS": SEAL_LABELS, "can_batch_harvest": _can_batch_harvest,
            "batch_refusal": _batch_refusal, "batches_recording_log": service.batches_recording_log,
            "english": _english}


@bp.app_template_filter("event_time")
def _event_time(text, fmt="%Y-%m-%d %H:%M"):
    """An EPCIS eventTime (ISO 8601 with offset) in the local time zone."""
    if not text:
        return "—"
    try:
        return dt.datetime.fromisoformat(text).astimezone(local_zone()).strftime(fmt)
    except (TypeError, ValueError):
        return text


@bp.app_template_filter("qty")
def _qty(value):
    return "—" if value is None else "%g" % value


def _english():
    return str(get_locale() or "zh").startswith("en")


def _can_batch_harvest(log):
    """May the signed-in user make a batch from this harvest log?"""
    user = g.get("user")
    return (user is not None and log.kind == "harvest" and log.voided_at is None
            and farms.access_to(user, log.farm) >= Access.LOG)


def _batch_refusal(log):
    """Why a batch from this harvest log would be refused now (the pre-harvest interval), or None."""
    if not _can_batch_harvest(log):
        return None
    try:
        return service.batch_refusal(g.user, log.id)
    except (ValidationError, Denied):
        return None


def _product(batch):
    return batch.product_name_en if _english() and batch.product_name_en else batch.product_name


def _public_path(batch, serial=None):
    """The path of the batch's Digital Link, on this site (links never leave it)."""
    return urlsplit(service.batch_url(batch, serial)).path


# Service field names for an uploaded file, and the form field that shows their errors.
ATTACHMENT_ALIASES = {"file": "attachment", "attachments": "attachment"}


# ---------------------------------------------------------------- list and create


@bp.get("/batches/")
def batch_list():
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    query = service.visible_batches(g.user)
    total = query.count()
    batches = list(query.paginate(page, BATCHES_PER_PAGE))
    holders = service.holder_names(batches)
    return render_template("trace/batch_list.html", batches=batches, holders=holders, page=page, total=total,
                           per_page=BATCHES_PER_PAGE, product=_product)


@bp.route("/batches/new", methods=["GET", "POST"])
def batch_new():
    log_id = request.values.get("harvest_log", type=int)
    if log_id is None:
        abort(404)
    harvest = farms.harvest_record(g.user, log_id)  # Denied: 404/403; not a harvest: 422
    available = max(service.unbatched_quantity(harvest), 0)
    form = BatchForm(data={"harvest_log": harvest.log_id, "lot_number": harvest.lot_number or farms.suggest_lot()})
    refusal = None
    if form.validate_on_submit():
        try:
            batch = service.create_batch(g.user, {
                "harvest_log": harvest.log_id, "lot_number": form.lot_number.data.strip(),
                "quantity": form.quantity.data, "gtin": (form.gtin.data or "").strip() or None,
                "override_inspection": form.override_inspection.data})
        except (ValidationError, Conflict) as e:
            if "harvest_log" in e.fields:
                refusal = e.message  # the pre-harvest interval: shown in full above the form, once
            else:
                apply_errors(form, e)
        else:
            flash(_("Batch %(lot)s has been created.", lot=batch.lot_number), "info")
            return redirect(url_for("trace.batch_page", batch_id=batch.id))
    status = 422 if (form.errors or refusal or request.method == "POST") else 200
    if request.method == "GET":
        refusal = service.batch_refusal(g.user, harvest.log_id)  # said before the farmer fills anything in
    return render_template("trace/batch_new.html", form=form, harvest=harvest, available=available,
                           refusal=refusal, local_time=from_utc_naive), status


# ---------------------------------------------------------------- one batch


def _timeline(batch):
    """The journey with each corrected event paired with its correction."""
    steps = service.journey(batch)
    corrections = {}
    for _event, document, _erroneous in steps:
        if document.get(f"{service.NS}:corrects"):
            corrections[document[f"{service.NS}:corrects"]] = document
    return [{"event": event, "doc": document, "erroneous": erroneous,
             "step": service.step_name(document.get("bizStep", "")),
             "correction": corrections.get(document.get("eventID")) if erroneous else None,
             "own": event.batch_id == batch.id}
            for event, document, erroneous in steps]


def _held_with(batch):
    """Other active batches the same organisation holds (for merging and processing)."""
    return service.held_with(g.user, batch, limit=50)


def _event_steps(batch, acting):
    """The journey steps this user may record on this batch now."""
    user = g.user
    if batch.status == "in_transit":
        return ("receiving",) if permissions.can_receive_batch(user, batch, acting) else ()
    if batch.status == "consumed":
        return ()
    if permissions.can_act_on_batch(user, batch, acting):
        return FORM_STEPS
    if user.role == "inspector" and permissions.can_inspect(user):
        return ("sampling",)
    return ()


def _detail(batch, status=200, open_form=None, **forms):
    """The batch page. ``forms`` are the posted forms to show again with their errors; the others
    are blank (``formdata=None``: another form's post must not fill them)."""
    acting = service.acting_organisations(g.user)
    steps = _event_steps(batch, acting)
    can_act = permissions.can_act_on_batch(g.user, batch, acting) and batch.status == "active"
    candidates = _held_with(batch) if can_act else []
    event_form = forms.get("event_form") or EventForm(formdata=None, prefix="event", steps=steps)
    if forms.get("event_form"):
        event_form.biz_step.choices = [(s, STEP_CHOICE_LABELS[s]) for s in steps] or event_form.biz_step.choices
    merge_form = forms.get("merge_form") or MergeForm(formdata=None, prefix="merge")
    same_product = [b for b in candidates if (b.crop_code, b.product_name, b.unit)
                    == (batch.crop_code, batch.product_name, batch.unit)]
    merge_form.batches.choices = [(b.id, f"{b.lot_number} · {_product(b)} · {b.remaining:g} {b.unit}")
                                  for b in same_product]
    transform_form = forms.get("transform_form") or TransformForm(
        formdata=None, prefix="transform",
        data={"unit": batch.unit, "inputs": [{"batch": b.id} for b in [batch] + candidates]})
    input_names = {b.id: f"{b.lot_number} · {_product(b)} ({b.remaining:g} {b.unit})" for b in [batch] + candidates}
    context = {
        "batch": batch, "product": _product, "timeline": _timeline(batch), "stats": service.scan_stats(batch),
        "link": service.batch_url(batch), "public_path": _public_path(batch),
        "holder": batch.holder, "destination": batch.destination if batch.destination_id else None,
        "farm": batch.farm if batch.farm_id else None,
        "parents": service.parent_links(batch), "children": service.child_links(batch),
        "steps": steps, "can_act": can_act,
        "can_inspect": permissions.can_inspect(g.user) and batch.status != "consumed",
        "event_form": event_form,
        "inspection_form": forms.get("inspection_form") or InspectionForm(formdata=None, prefix="inspection"),
        "split_form": forms.get("split_form") or SplitForm(formdata=None, prefix="split"),
        "merge_form": merge_form, "transform_form": transform_form, "input_names": input_names,
        "epcis_url": f"{PREFIX}/batches/{batch.id}/epcis", "local_time": from_utc_naive,
        "open_form": open_form,
    }
    return render_template("trace/batch.html", **context), status


@bp.get("/batches/<int:batch_id>")
def batch_page(batch_id):
    return _detail(service.get_batch(g.user, batch_id))


def _attachment(form):
    """Store the uploaded file, if any, and return its sha256 list."""
    upload = form.attachment.data
    if upload is None or not getattr(upload, "filename", ""):
        return []
    stored = service.store_attachment(g.user, upload.filename, upload.read())
    return [stored.sha256]


@bp.post("/batches/<int:batch_id>/events")
def event_new(batch_id):
    batch = service.get_batch(g.user, batch_id)
    form = EventForm(prefix="event", steps=service.RECORDABLE_STEPS)

    def save():
        data = {"biz_step": form.biz_step.data, "event_time": form.event_time.data,
                "place": (form.place.data or "").strip() or None, "quantity": form.quantity.data,
                "notes": (form.notes.data or "").strip() or None}
        data["attachments"] = _attachment(form)
        if form.biz_step.data != "shipping":
            return service.record_event(g.user, batch, data)
        data["destination"] = form.destination.data
        with database.atomic():  # a new buyer is entered only with the shipment that names it
            if not data["destination"] and (form.new_destination.data or "").strip():
                data["destination"] = accounts.add_partner(g.user, {
                    "name": form.new_destination.data, "kind": form.new_destination_kind.data}).id
            return service.record_event(g.user, batch, data)

    done = submit(form, save, lambda _event: _("Recorded: %(step)s.", step=STEP_LABELS[form.biz_step.data]),
                  lambda _event: url_for("trace.batch_page", batch_id=batch.id),
                  dict(ATTACHMENT_ALIASES, name="new_destination", kind="new_destination_kind"))
    return done or _detail(service.get_batch(g.user, batch_id), 422, event_form=form, open_form="event_form")


@bp.post("/batches/<int:batch_id>/inspections")
def inspection_new(batch_id):
    batch = service.get_batch(g.user, batch_id)
    if not permissions.can_inspect(g.user):
        raise Denied(403, _("Only inspectors record inspections."))
    form = InspectionForm(prefix="inspection")
    done = submit(form, lambda: service.record_event(g.user, batch, {
        "biz_step": "inspecting", "event_time": form.event_time.data, "passed": form.passed.data == "pass",
        "items": form.item_list(), "notes": (form.notes.data or "").strip() or None,
        "attachments": _attachment(form)}),
        _("The inspection has been recorded."), lambda _event: url_for("trace.batch_page", batch_id=batch.id),
        ATTACHMENT_ALIASES)
    return done or _detail(service.get_batch(g.user, batch_id), 422, inspection_form=form,
                           open_form="inspection_form")


@bp.post("/batches/<int:batch_id>/split")
def split(batch_id):
    batch = service.get_batch(g.user, batch_id)
    form = SplitForm(prefix="split")
    done = submit(form, lambda: service.split(g.user, batch, form.values()),
                  lambda children: _("Split into %(lots)s.", lots=", ".join(c.lot_number for c in children)),
                  lambda _children: url_for("trace.batch_page", batch_id=batch.id))
    return done or _detail(service.get_batch(g.user, batch_id), 422, split_form=form, open_form="split_form")


@bp.post("/batches/<int:batch_id>/merge")
def merge(batch_id):
    batch = service.get_batch(g.user, batch_id)
    form = MergeForm(prefix="merge")
    form.batches.choices = [(b.id, b.lot_number) for b in _held_with(batch)]
    done = submit(form, lambda: service.merge(
        g.user, [batch] + [service.get_batch(g.user, other) for other in form.batches.data],
        form.lot_number.data.strip()),
        lambda merged: _("Merged into batch %(lot)s.", lot=merged.lot_number),
        lambda merged: url_for("trace.batch_page", batch_id=merged.id), {"lot": "lot_number"})
    return done or _detail(service.get_batch(g.user, batch_id), 422, merge_form=form, open_form="merge_form")


@bp.post("/batches/<int:batch_id>/transform")
def transform(batch_id):
    service.get_batch(g.user, batch_id)
    form = TransformForm(prefix="transform")
    done = submit(form, lambda: service.transform(
        g.user, [(service.get_batch(g.user, input_id), used) for input_id, used in form.input_list()],
        {"zh": form.product_zh.data.strip(), "en": (form.product_en.data or "").strip()},
        form.quantity.data, form.unit.data.strip(), form.lot_number.data.strip(),
        gtin=(form.gtin.data or "").strip() or None),
        lambda output: _("Batch %(lot)s has been made.", lot=output.lot_number),
        lambda output: url_for("trace.batch_page", batch_id=output.id), {"product": "product_zh"})
    return done or _detail(service.get_batch(g.user, batch_id), 422, transform_form=form,
                           open_form="transform_form")


# ---------------------------------------------------------------- QR codes, labels, certificate, recall


def _qr_response(body, mimetype):
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/batches/<int:batch_id>/qr.png")
def qr_png(batch_id):
    batch = service.get_batch(g.user, batch_id)
    return _qr_response(qr.png(service.batch_url(batch)), "image/png")


@bp.get("/batches/<int:batch_id>/qr.svg")
def qr_svg(batch_id):
    batch = service.get_batch(g.user, batch_id)
    return _qr_response(qr.svg(service.batch_url(batch)), "image/svg+xml")


def inline_svg(data):
    """The QR code of ``data`` as SVG markup to put inside a page (no XML declaration, no ids)."""
    text = qr.svg(data)
    text = re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r'\sid="[^"]*"', "", text)
    return Markup(text)


def _origin_name(batch):
    if batch.farm_id:
        return divisions.full_name(batch.farm.county_code)
    origin = service.public_view(batch)["origin"].get("farm") or {}
    if origin.get("countyCode"):
        return divisions.full_name(origin["countyCode"])
    organisation = batch.organisation
    return divisions.full_name(organisation.division_id) if organisation.division_id else ""


@bp.get("/batches/<int:batch_id>/labels")
def labels(batch_id):
    batch = service.get_batch(g.user, batch_id)
    try:
        count = int(request.args.get("n", 8))
        start = int(request.args.get("start", 1))
    except ValueError:
        abort(400)
    if not 1 <= count <= MAX_LABELS or not 1 <= start <= 10 ** 8:
        abort(400)
    serials = request.args.get("serials") == "1"
    numbers = [f"{number:06d}" for number in range(start, start + count)]
    if serials:  # printed serials are the only ones the consumer page accepts
        service.issue_serials(batch, numbers)
    sheet = []
    for number in numbers:
        serial = number if serials else None
        link = service.batch_url(batch, serial)
        # The code in letters under the QR code, for whoever cannot scan it (it opens /t/<code>).
        code = f"{batch.code} {serial}" if serial else batch.code
        sheet.append({"serial": serial, "link": link, "svg": inline_svg(link), "code": code})
    farm = batch.farm if batch.farm_id else None
    return render_template("trace/labels.html", batch=batch, product=_product(batch), sheet=sheet, count=count,
                           serials=serials, next_start=start + count, farm=farm,
                           producer=farm.name if farm else batch.organisation.name)


# The grounds of the promise (承诺依据) on the official certificate template, in its order.
COMMITMENT_BASES = ("commissioned_test", "self_test", "internal_control", "self_commitment")
# Grounds the producer states; the tests are read from the batch's inspections.
DECLARED_BASES = ("internal_control", "self_commitment")


def certificate_bases(inspections, producers, declared):
    """Which 承诺依据 boxes to tick: a passing test by another organisation is a commissioned test, one by the
    producer's own laboratory a self-test; the producer adds internal control or self-commitment, and with no
    test at all the promise rests on self-commitment unless internal control is chosen."""
    ticked = set()
    for inspection in inspections:
        if inspection.get("passed"):
            ticked.add("self_test" if inspection.get("lab") in producers else "commissioned_test")
    ticked |= {basis for basis in declared if basis in DECLARED_BASES}
    if not ticked:
        ticked.add("self_commitment")
    return [(basis, basis in ticked) for basis in COMMITMENT_BASES]


@bp.get("/batches/<int:batch_id>/certificate")
def certificate(batch_id):
    batch = service.get_batch(g.user, batch_id)
    inspections = service.public_view(batch)["inspections"]
    farm = batch.farm if batch.farm_id else None
    organisation = batch.organisation
    quantity = batch.remaining if batch.remaining > 0 else batch.quantity
    producers = {organisation.name} | ({farm.organisation.name} if farm else set())
    declared = request.args.getlist("basis")
    phone = (farm.contact_phone if farm else "") or organisation.contact_phone
    address = (farm.address if farm else "") or organisation.address
    return render_template(
        "trace/certificate.html", batch=batch, product=_product(batch), quantity=quantity, farm=farm,
        organisation=organisation, origin=_origin_name(batch), inspection=inspections[-1] if inspections else None,
        issued=dt.datetime.now(local_zone()).date(), commitment_zh=COMMITMENT_ZH, phone=phone, address=address,
        bases=certificate_bases(inspections, producers, declared), declared=declared,
        BASIS_LABELS=BASIS_LABELS, DECLARED_BASES=DECLARED_BASES,
        qr_svg=inline_svg(service.batch_url(batch)), link=service.batch_url(batch))


@bp.get("/batches/<int:batch_id>/recall")
def recall(batch_id):
    batch = service.get_batch(g.user, batch_id)
    report = service.recall(batch)
    return render_template("trace/recall.html", batch=batch, product=_product(batch), report=report,
                           county_name=divisions.full_name)


# ---------------------------------------------------------------- public consumer page


def _raw_path():
    """The path as the client sent it (still percent-encoded): a lot may hold an encoded '/'."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    raw = raw.split("?", 1)[0].split("#", 1)[0]
    if raw.startswith(("http://", "https://")):  # the absolute form a proxy may pass on
        raw = urlsplit(raw).path
    return raw if raw.startswith("/") else request.path


def _place_key():
    return "place:" + service.place_of(request.remote_addr)


@bp.errorhandler(429)
def _too_many_scans(e):
    """A client or network that floods the public page: a page a buyer can read, and Retry-After
    (Flask-Limiter adds it); nothing was counted."""
    if request.endpoint != "trace.consumer":
        from web.errors import respond

        return respond(429, "too_many_requests", e.description)
    return render_template("trace/public_busy.html", next_path=_raw_path()), 429


def _view_parts(batch, view):
    """The consumer page's parts drawn from ``view`` alone (the verdict, the details down to the
    verification, the county's name), rendered once per language and kept in the view: views are cached
    under a digest of every row they come from, so a changed row gives a new view and fresh HTML, and a
    page view renders only what depends on the request (scans, serial, language links)."""
    language = "en" if _english() else "zh"
    parts = view["rendered"].get(language)
    if parts is None:
        origin = view["origin"]
        farm = origin.get("farm") or {}
        context = dict(
            batch=batch, product=_product(batch), view=view, origin=origin, farm=farm,
            # Each label translated once, not once per journey step (a lazy string looks its catalogue up each time).
            step_labels={k: str(v) for k, v in STEP_LABELS.items()},
            seal_labels={k: str(v) for k, v in SEAL_LABELS.items()},
            conditions=sensors.describe_conditions(view["conditions"]), local_time=from_utc_naive,
            UNIT_EXPLANATIONS=UNIT_EXPLANATIONS)
        parts = {"verdict": Markup(render_template("trace/_public_verdict.html", **context)),
                 "details": Markup(render_template("trace/_public_details.html", **context)),
                 "county": divisions.full_name(farm["countyCode"]) if farm.get("countyCode") else farm.get("county")}
        view["rendered"][language] = parts
    return parts


@bp.get("/t/<path:rest>")
@bp.get("/01/<path:rest>")
@limiter.limit(lambda: current_app.config["CONSUMER_LIMIT_PER_ADDRESS"], scope="consumer-address")
@limiter.limit(lambda: current_app.config["CONSUMER_LIMIT_PER_PLACE"], key_func=_place_key, scope="consumer-place")
def consumer(rest):
    try:
        link = digital_link.parse(_raw_path())
    except ValueError:
        link = None
    batch = service.find_by_link(link) if link else None
    if batch is not None and link.serial is not None and not service.serial_issued(batch, link.serial):
        batch = None  # a serial never printed on this batch's labels: a guess or a copy
    if batch is None:
        return render_template("trace/public_not_found.html", next_path=_raw_path()), 404
    if request.method == "GET":  # link previews that only ask for headers are not scans
        service.record_scan(batch, request.remote_addr, link.serial)
    view = service.public_view(batch)
    origin = view["origin"]
    response = Response(render_template(
        "trace/public.html", batch=batch, product=_product(batch), view=view, origin=origin,
        farm=origin.get("farm") or {}, parts=_view_parts(batch, view), stats=service.scan_stats(batch),
        serial=link.serial, local_time=from_utc_naive, next_path=_raw_path()))
    response.headers["Cache-Control"] = "no-store"
    return response
