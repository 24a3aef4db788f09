"""What traceability reads of the farm log: a harvest as a batch copies it, the lineage of
corrected logs, harvest logs on plots, and what a consumer may see of a farm."""
import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _

from farms._access import access_to, get_log
from farms._farms import farm_certifications
from farms._logbook import plots_of_logs
from farms.models import Crop, Farm, Log, LogPlot, Planting
from web import divisions
from web.db import ValidationError
from web.permissions import Access, require


@dataclass(frozen=True)
class HarvestRecord:
    """What a harvest batch copies from the farm log."""

    log_id: int
    farm_id: int
    farm_name: str
    organisation_id: int
    county_code: str
    plot_ids: tuple
    plot_names: tuple
    planting_id: int | None
    planting_start: dt.date | None
    crop_code: str
    crop_name_zh: str
    crop_name_en: str
    variety: str
    harvested_at: dt.datetime  # UTC
    quantity: float
    unit: str
    lot_number: str


def harvest_record(user, log_id):
    """The harvest log ``log_id`` as a batch sees it; the user must be able to log on its farm."""
    log = get_log(user, log_id)
    require(access_to(user, log.farm), Access.LOG)
    if log.kind != "harvest":
        raise ValidationError(_("A batch is made from a harvest log."), {"harvest_log": _("Not a harvest log.")})
    if log.voided_at is not None:
        raise ValidationError(_("This harvest log has been voided; make the batch from its correction."),
                              {"harvest_log": _("Voided.")})
    plots = plots_of_logs([log])[log.id]
    planting = None
    if log.planting_id:
        planting = Planting.select(Planting, Crop).join(Crop).where(Planting.id == log.planting_id).first()
    else:
        planting = (Planting.select(Planting, Crop).join(Crop)
                    .where(Planting.plot.in_([p.id for p in plots]) & (Planting.start_date <= log.timestamp.date()))
                    .order_by(Planting.ended_on.is_null(False), Planting.start_date.desc()).first())
    if planting is None:
        raise ValidationError(_("The harvest log names no planting, so the crop is unknown."),
                              {"harvest_log": _("Link the harvest to a planting first.")})
    return HarvestRecord(
        log_id=log.id, farm_id=log.farm_id, farm_name=log.farm.name, organisation_id=log.farm.organisation_id,
        county_code=log.farm.county_code, plot_ids=tuple(p.id for p in plots),
        plot_names=tuple(p.name for p in plots), planting_id=planting.id, planting_start=planting.start_date,
        crop_code=planting.crop.code, crop_name_zh=planting.crop.name_zh, crop_name_en=planting.crop.name_en,
        variety=planting.variety, harvested_at=log.timestamp, quantity=log.quantity, unit=log.unit,
        lot_number=log.lot_number)


def log_lineage(log_id):
    """``log_id`` and the ids of the logs it corrects, directly or through earlier corrections."""
    ids = [log_id]
    seen = {log_id}
    current = Log.select(Log.corrects).where(Log.id == log_id).scalar()
    while current is not None and current not in seen:
        ids.append(current)
        seen.add(current)
        current = Log.select(Log.corrects).where(Log.id == current).scalar()
    return ids


def harvest_log_ids(plot_ids, since=None):
    """Ids of harvest logs on any of ``plot_ids`` (from ``since``, UTC), voided ones included: a
    batch may have been made from a log before it was corrected."""
    query = (Log.select(Log.id).join(LogPlot).where(LogPlot.plot.in_(list(plot_ids) or [0])
                                                     & (Log.kind == "harvest")).distinct())
    if since is not None:
        query = query.where(Log.timestamp >= since)
    return [row[0] for row in query.tuples()]


def public_farm(farm_id):
    """What a consumer may see of a farm: no people, no contact details of workers."""
    farm = Farm.get_or_none(Farm.id == farm_id)
    if farm is None:
        return None
    return {"id": farm.id, "name": farm.name, "county_code": farm.county_code,
            "county": divisions.full_name(farm.county_code), "certifications": farm_certifications(farm),
            "organisation_id": farm.organisation_id}
