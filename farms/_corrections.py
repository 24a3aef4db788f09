"""Voiding and correcting saved logs: both stay in history, the correction pointing at the log it
replaces."""
from flask_babel import gettext as _

from farms._access import access_to, get_log
from farms._logbook import plots_of_logs
from farms._logphotos import _carry_photos
from farms._logs import _checked_log, _write_log
from farms.models import Log
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web.permissions import Access, require


def _void_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the log is voided or corrected."), {"reason": _("Required.")})
    if len(reason) > 500:
        raise ValidationError(_("The reason is too long."), {"reason": _("At most 500 characters.")})
    return reason


def _open_for_change(user, log_id):
    """The log ``log_id`` if ``user`` may log on its farm and it is not voided already."""
    log = get_log(user, log_id)
    require(access_to(user, log.farm), Access.LOG)
    if log.voided_at is not None:
        raise Conflict(_("This log has been voided already; correct its correction instead."),
                       {"log": _("Voided already.")})
    return log


def correction_defaults(log, plots=None):
    """The values a correction of ``log`` starts from: the log's own, except those the catalogue
    filled in from its product, which are left for the (perhaps newly) chosen product to fill."""
    from web.clock import from_utc_naive

    plots = plots_of_logs([log])[log.id] if plots is None else plots
    data = {key: getattr(log, key) for key in (
        "notes", "quantity", "unit", "input_category", "product_name", "active_ingredient", "dose", "dose_unit",
        "phi_days", "input_lot", "activity_kind", "lot_number")}
    product = log.input_product
    if product is not None:
        for key, value in (("product_name", product.name_zh), ("active_ingredient", product.active_ingredient),
                           ("phi_days", product.phi_days), ("input_category", product.category)):
            if data[key] == value:
                data[key] = None
    data.update(kind=log.kind, plots=[p.id for p in plots], planting=log.planting_id,
                input_product=log.input_product_id, timestamp=from_utc_naive(log.timestamp))
    return data


def void_log(user, log_id, reason):
    """Void a saved log (it stays in history, struck through, with the reason)."""
    reason = _void_reason(reason)
    with database.atomic():
        log = _open_for_change(user, log_id)
        updated = (Log.update(voided_at=utcnow(), voided_by=user, void_reason=reason)
                   .where((Log.id == log.id) & Log.voided_at.is_null()).execute())
        if not updated:
            raise Conflict(_("This log has been voided already; correct its correction instead."),
                           {"log": _("Voided already.")})
    return get_log(user, log.id)


def correct_log(user, log_id, data):
    """Replace a saved log by a corrected one of the same kind: the new log references the old,
    the old is voided and points at the new; both stay in history."""
    reason = _void_reason(data.get("reason"))
    log = _open_for_change(user, log_id)
    if data.get("kind") not in (None, log.kind):
        raise ValidationError(_("A correction keeps the kind of the log; void it and add a new log instead."),
                              {"kind": _("Must stay %(kind)s.", kind=log.kind)})
    checked = _checked_log(log.farm, dict(data, kind=log.kind))
    with database.atomic():
        new = _write_log(user, log.farm, checked, corrects=log.id)
        _carry_photos(log.id, new.id)
        updated = (Log.update(voided_at=utcnow(), voided_by=user, void_reason=reason, superseded_by=new.id)
                   .where((Log.id == log.id) & Log.voided_at.is_null()).execute())
        if not updated:
            raise Conflict(_("This log has been voided already; correct its correction instead."),
                           {"log": _("Voided already.")})
    return new
