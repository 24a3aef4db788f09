"""The public consumer page: scans and their warnings, the batch's story, its verification."""
import datetime as dt
import hashlib
import hmac
import ipaddress
import threading
import time

from flask import current_app
from peewee import Case, fn

from farms import service as farms
from trace._core import NS, step_name, verify_event
from trace._hooks import _VERIFIER, lineage_ids, rows_digest
from trace._lineage import journey
from trace.models import Event, IssuedSerial, Scan
from web.clock import utcnow

# Scan warnings, both decided from distinct places (hashed networks), never from raw page views:
# more than this many places in the last hour, or more than this many new places after the retail sale.
SCANS_PER_HOUR_LIMIT = 30
NEW_PLACES_AFTER_SALE_LIMIT = 3


def place_of(remote_addr):
    """A keyed hash of the client's network (/24 for IPv4, /48 for IPv6): enough to tell places apart,
    not people; without the app's secret it cannot be matched to an address."""
    try:
        address = ipaddress.ip_address(remote_addr or "0.0.0.0")
    except ValueError:
        address = ipaddress.ip_address("0.0.0.0")
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, str(network).encode(), hashlib.sha256).hexdigest()[:16]


def issue_serials(batch, serials):
    """Remember the serials printed on the batch's labels: only these resolve on the consumer page."""
    rows = [{"batch": batch.id, "serial": serial, "issued_at": utcnow()} for serial in serials]
    for start in range(0, len(rows), 500):
        IssuedSerial.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()


def serial_issued(batch, serial):
    return IssuedSerial.select().where((IssuedSerial.batch == batch) & (IssuedSerial.serial == serial)).exists()


def record_scan(batch, remote_addr, serial=None):
    """Count a scan once per place and ``SCAN_WINDOW_HOURS``: a reload, or a crowd behind one network,
    is one scan. Returns the new Scan, or None when this place was already counted in the window."""
    place = place_of(remote_addr)
    now = utcnow()
    since = now - dt.timedelta(hours=current_app.config["SCAN_WINDOW_HOURS"])
    if Scan.select().where((Scan.batch == batch) & (Scan.place == place) & (Scan.scanned_at > since)).exists():
        return None
    return Scan.create(batch=batch, serial=serial, place=place, scanned_at=now)


def scan_stats(batch):
    """Counted scans (one per place and window), the first scan, and warnings a buyer should see.
    Counted in the database: a popular batch's scans are never loaded row by row."""
    mine = Scan.batch == batch
    hour_ago = utcnow() - dt.timedelta(hours=1)
    total, first, recent = Scan.select(
        fn.COUNT(Scan.id), fn.MIN(Scan.scanned_at),
        fn.COUNT(Case(None, [(Scan.scanned_at >= hour_ago, Scan.place)], None).distinct())).where(mine).tuples().get()
    warnings = []
    if recent > SCANS_PER_HOUR_LIMIT:
        warnings.append("frequent")
    sale = (Event.select(Event.event_time)
            .where((Event.batch == batch) & (Event.biz_step == "retail_selling") & (Event.kind == "event"))
            .order_by(Event.event_time).first())
    if sale is not None:
        before = Scan.select(Scan.place).where(mine & (Scan.scanned_at < sale.event_time))
        after = (Scan.select(fn.COUNT(Scan.place.distinct()))
                 .where(mine & (Scan.scanned_at >= sale.event_time) & Scan.place.not_in(before)).scalar())
        if after > NEW_PLACES_AFTER_SALE_LIMIT:
            warnings.append("new_places")
    if isinstance(first, str):  # SQLite hands an aggregate's datetime back as text
        first = dt.datetime.fromisoformat(first)
    return {"total": total, "first": first, "warnings": warnings}


# Public views, kept while every row they are drawn from is unchanged: the key is a digest of the
# batch's and its ancestors' rows (batches, events, links) and of what the verifier depends on (its
# key function), so a change behind the app's back is shown at the next view.
_VIEWS = {}  # key -> (expires at, monotonic; view)
_VIEWS_LOCK = threading.Lock()
VIEWS_MAX = 1024


def public_view(batch):
    """public_view_now, or the same view of exactly the same rows within CHAIN_VERIFY_CACHE_SECONDS."""
    seconds = current_app.config.get("CHAIN_VERIFY_CACHE_SECONDS") or 0
    verifier_key = _VERIFIER[1] if _VERIFIER else (lambda ids: None)
    if seconds <= 0 or verifier_key is None:  # a verifier that cannot say what it depends on: no cache
        return public_view_now(batch)
    ids = lineage_ids(batch.id)
    key = (current_app.config["DATABASE_URL"], batch.id, rows_digest(ids), verifier_key(ids))
    now = time.monotonic()
    with _VIEWS_LOCK:
        cached = _VIEWS.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    view = public_view_now(batch)
    if not view["verification"].get("chain_error"):  # a node that was down is asked again next time
        with _VIEWS_LOCK:
            if len(_VIEWS) >= VIEWS_MAX:
                expired = [k for k, (expires, _v) in _VIEWS.items() if expires <= now]
                for old in expired or list(_VIEWS)[:VIEWS_MAX // 4]:
                    _VIEWS.pop(old, None)
            _VIEWS[key] = (now + seconds, view)
    return view


def public_view_now(batch):
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
                      "planting_start": ilmd.get(f"{NS}:plantingStart"),
                      "phi_override": ilmd.get(f"{NS}:phiOverride")}
            inputs = ilmd.get(f"{NS}:inputsApplied", [])
            conditions = ilmd.get(f"{NS}:growingConditions", [])
        if document.get(f"{NS}:inspection"):
            inspections.append(dict(document[f"{NS}:inspection"], time=document["eventTime"]))
        timeline.append({"id": event.id, "step": step_name(document.get("bizStep", "")), "time": document["eventTime"],
                         "place": document.get(f"{NS}:place"), "organisation": document.get(f"{NS}:organisation"),
                         "destination": document.get(f"{NS}:destination"),
                         "corrected": bool(document.get(f"{NS}:corrects"))})
    checked = verification(batch, steps)
    origin = origin or {}
    return {"batch": batch, "origin": origin, "inputs": inputs, "inspections": inspections,
            "conditions": conditions, "timeline": timeline, "verification": checked,
            "verdict": verdict(origin, inputs, inspections, checked), "units": units_shown(conditions, inspections),
            # The page's HTML of this view, per language, filled by the page (trace.views): kept as long as the view.
            "rendered": {}}


# Verification states that mean the records cannot be relied on.
BROKEN_STATES = ("tampered", "missing", "unknown_root")


def verdict(origin, inputs, inspections, checked):
    """The one-line answer at the top of the consumer page, from the hashed facts only.

    ``inspection``: "passed", "failed" or "none" (the latest test counts); ``substances`` and ``over_limit``:
    how many substances the latest test measured and how many exceeded their limit; ``last_spray``: the
    latest pesticide application, its ``days`` before the harvest (None without a pesticide or a
    harvest date); ``intervals_kept``: every pesticide's safe interval had passed by the harvest (None when
    nothing was sprayed); ``overridden``: harvested inside an interval on a passing residue test; ``records``: the verification state; ``tone``: "good", "warn" or "bad".
    """
    latest = inspections[-1] if inspections else None
    items = latest.get("items", []) if latest else []
    over = sum(1 for item in items if item.get("passed") is False)
    if latest is None:
        inspection = "none"
    else:
        inspection = "passed" if latest.get("passed") and not over else "failed"
    harvest = _date(origin.get("harvest_date"))
    sprays = [i for i in inputs if i.get("category") in farms.PESTICIDE_CATEGORIES and _date(i.get("date"))]
    last_spray, intervals_kept = None, None
    if sprays and harvest:
        last = max(sprays, key=lambda i: i["date"])
        last_spray = {"product": last.get("product"), "date": last["date"],
                      "days": (harvest - _date(last["date"])).days}
        intervals_kept = all((harvest - _date(i["date"])).days >= (i.get("phiDays") or 0) for i in sprays)
    # Harvested inside a safe interval, allowed by a passing residue test (the batch rule's override).
    overridden = intervals_kept is False and bool(origin.get("phi_override"))
    status = checked.get("status", "pending")
    if status in BROKEN_STATES or inspection == "failed" or (intervals_kept is False and not overridden):
        tone = "bad"
    elif inspection == "none" or status != "verified" or overridden:
        tone = "warn"
    else:
        tone = "good"
    return {"inspection": inspection, "substances": len(items), "over_limit": over, "sprayed": bool(sprays),
            "last_spray": last_spray, "intervals_kept": intervals_kept, "overridden": overridden, "records": status,
            "tone": tone}


def _date(text):
    try:
        return dt.date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def units_shown(conditions, inspections):
    """The units the page shows (sensor summaries, then test results), each once, in order."""
    units = [c.get("unit") for c in conditions]
    units += [item.get("unit") for insp in inspections for item in insp.get("items", [])]
    return list(dict.fromkeys(u for u in units if u))


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
