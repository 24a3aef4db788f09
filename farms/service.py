"""Farm management: the only door into farms, plots, plantings and the farm log.

Every function that acts for a user takes that user and checks access
through ``web.permissions``; callers never filter farms themselves.
"""
import datetime as dt
import json
from dataclasses import dataclass

import peewee as pw
from flask_babel import gettext as _

from farms import alerts, catalogue, notify
from farms.models import (ALERT_LEVELS, CROP_CATEGORIES, LOG_KINDS, MU_IN_M2, PLOT_KINDS, Alert, PESTICIDE_CATEGORIES, Certification, Crop, Farm,
                          FarmInvitation, FarmMember, InputProduct, Log, LogPlot, Planting, Plot)
from web import divisions
from web.accounts import service as accounts
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web.clock import to_utc_naive
from web.permissions import Access, Denied, farm_access, farm_scope, require

# ---------------------------------------------------------------- access


def visible_farms(user):
    """A query of the farms ``user`` may view (empty for nobody)."""
    scope = farm_scope(user)
    query = Farm.select()
    if scope.everything:
        return query
    if scope.member_user_id is not None:
        member_farms = FarmMember.select(FarmMember.farm).where(FarmMember.user == scope.member_user_id)
        return query.where(Farm.id.in_(member_farms))
    if scope.organisation_id is not None:
        return query.where(Farm.organisation == scope.organisation_id)
    if scope.division_prefix is not None:
        return query.where(Farm.county.startswith(scope.division_prefix))
    return query.where(pw.SQL("1 = 0"))


def member_role(user, farm):
    if user is None:
        return None
    member = FarmMember.get_or_none((FarmMember.farm == farm) & (FarmMember.user == user))
    return member.role if member else None


def access_to(user, farm):
    return farm_access(user, farm, member_role(user, farm))


def get_farm(user, farm_id, need=Access.VIEW):
    farm = Farm.get_or_none(Farm.id == farm_id)
    if farm is None:
        raise Denied(404, "farm not found")
    require(access_to(user, farm), need)
    return farm


def get_plot(user, plot_id, need=Access.VIEW):
    plot = Plot.select(Plot, Farm).join(Farm).where(Plot.id == plot_id).first()
    if plot is None:
        raise Denied(404, "plot not found")
    require(access_to(user, plot.farm), need)
    return plot


def get_planting(user, planting_id, need=Access.VIEW):
    planting = (Planting.select(Planting, Plot, Farm, Crop).join(Plot).join(Farm)
                .switch(Planting).join(Crop).where(Planting.id == planting_id).first())
    if planting is None:
        raise Denied(404, "planting not found")
    require(access_to(user, planting.plot.farm), need)
    return planting


def get_log(user, log_id):
    log = Log.select(Log, Farm).join(Farm).where(Log.id == log_id).first()
    if log is None:
        raise Denied(404, "log not found")
    require(access_to(user, log.farm), Access.VIEW)
    return log


# ---------------------------------------------------------------- farms


def _check_county(code):
    division = divisions.get(code) if code else None
    if division is None or division.level != "county":
        raise ValidationError(_("Unknown county."), {"county_code": _("Choose a county-level division code.")})


def create_farm(user, data):
    """Create a farm; a farmer who creates one becomes its owner.

    The farm belongs to the creator's organisation, or else to a new organisation of its
    own: a name never leads into an existing one (joining one takes its manager's invitation).
    """
    if user is None or user.role not in ("admin", "farmer"):
        raise Denied(403, "only farmers and administrators create farms")
    _check_county(data.get("county_code"))
    with database.atomic():
        organisation = user.organisation
        if organisation is None:
            organisation = accounts.create_own_organisation(data["name"], "farm", division_code=data["county_code"],
                                                            suffix=user.display_name or user.username)
        if Farm.get_or_none((Farm.organisation == organisation) & (Farm.name == data["name"])):
            raise Conflict(_("A farm with this name exists already."), {"name": _("Already taken.")})
        farm = Farm.create(organisation=organisation, name=data["name"], county=data["county_code"],
                           address=data.get("address") or "", latitude=data.get("latitude"),
                           longitude=data.get("longitude"))
        _set_certifications(farm, data.get("certifications") or [])
        if user.role == "farmer":
            FarmMember.create(farm=farm, user=user, role="owner")
    return farm


def update_farm(user, farm, data):
    require(access_to(user, farm), Access.MANAGE)
    if "county_code" in data:
        _check_county(data["county_code"])
    with database.atomic():
        for key in ("name", "address", "latitude", "longitude"):
            if key in data:
                setattr(farm, key, data[key] if data[key] is not None or key in ("latitude", "longitude") else "")
        if "county_code" in data:
            farm.county = data["county_code"]
        clash = Farm.get_or_none((Farm.organisation == farm.organisation_id) & (Farm.name == farm.name)
                                 & (Farm.id != farm.id))
        if clash:
            raise Conflict(_("A farm with this name exists already."), {"name": _("Already taken.")})
        if (farm.latitude is None) != (farm.longitude is None):
            raise ValidationError(_("Give both latitude and longitude, or neither."),
                                  {"longitude": _("Give both latitude and longitude, or neither.")})
        farm.save()
        if "certifications" in data:
            _set_certifications(farm, data["certifications"] or [])
    return farm


def _set_certifications(farm, kinds):
    Certification.delete().where((Certification.farm == farm)
                                 & Certification.kind.not_in(list(kinds) or [""])).execute()
    present = {c.kind for c in Certification.select().where(Certification.farm == farm)}
    for kind in kinds:
        if kind not in present:
            Certification.create(farm=farm, kind=kind)


def add_member(farm, user, role):
    if role not in ("owner", "worker"):
        raise ValidationError("invalid role", {"role": "owner or worker"})
    if user.role != "farmer":
        raise ValidationError("only farmers work on farms", {"user": "not a farmer"})
    member, created = FarmMember.get_or_create(farm=farm, user=user, defaults={"role": role})
    if not created and member.role != role:
        member.role = role
        member.save()
    return member


# ---------------------------------------------------------------- people on a farm

def invite_to_farm(user, farm, username, role="worker"):
    """An owner invites a farmer to work on the farm (worker) or to own it with them (owner)."""
    require(access_to(user, farm), Access.MANAGE)
    if role not in ("owner", "worker"):
        raise ValidationError(_("Some fields need correcting."), {"role": _("owner or worker")})
    invitee = accounts.find_user(username)
    if invitee.role != "farmer":
        raise ValidationError(_("Only farmers work on farms."), {"username": _("Not a farmer.")})
    with database.atomic():
        if FarmMember.select().where((FarmMember.farm == farm) & (FarmMember.user == invitee)).exists():
            raise Conflict(_("This user is already a member."), {"username": _("Already a member.")})
        if FarmInvitation.select().where((FarmInvitation.farm == farm) & (FarmInvitation.invitee == invitee)
                                         & accounts.live(FarmInvitation)).exists():
            raise Conflict(_("This user has been invited already."), {"username": _("Already invited.")})
        return FarmInvitation.create(farm=farm, invitee=invitee, role=role, invited_by=user,
                                     expires_at=utcnow() + dt.timedelta(days=accounts.INVITATION_DAYS))


def farm_invitations(user, farm):
    """The farm's open invitations (for those who manage it)."""
    require(access_to(user, farm), Access.MANAGE)
    return list(FarmInvitation.select(FarmInvitation, accounts.User)
                .join(accounts.User, on=FarmInvitation.invitee)
                .where((FarmInvitation.farm == farm) & accounts.live(FarmInvitation))
                .order_by(FarmInvitation.created_at.desc()))


def organisation_invitations_for(user):
    """Invitations into organisations, for the farmer's home page."""
    return accounts.invitations_for(user) if user is not None else []


def farm_invitations_for(user):
    """The open invitations ``user`` may answer, newest first."""
    if user is None:
        return []
    return list(FarmInvitation.select(FarmInvitation, Farm).join(Farm)
                .where((FarmInvitation.invitee == user) & accounts.live(FarmInvitation))
                .order_by(FarmInvitation.created_at.desc()))


def answer_farm_invitation(user, invitation_id, accept):
    """The invitee accepts (and becomes a member in the invited role) or declines."""
    with database.atomic():
        invitation = accounts.answerable(FarmInvitation.get_or_none(FarmInvitation.id == invitation_id), user)
        if accept:
            add_member(invitation.farm, user, invitation.role)
        return accounts.close(invitation, "accepted" if accept else "declined")


def revoke_farm_invitation(user, invitation_id):
    invitation = FarmInvitation.get_or_none(FarmInvitation.id == invitation_id)
    if invitation is None or access_to(user, invitation.farm) < Access.MANAGE:
        raise Denied(404, "invitation not found")
    if invitation.state != "pending":
        raise Conflict(_("This invitation is no longer open."), {"invitation": _("Answered, withdrawn or expired.")})
    return accounts.close(invitation, "revoked")


def remove_member(user, farm, member_user_id):
    """An owner removes someone from the farm; the last owner stays."""
    require(access_to(user, farm), Access.MANAGE)
    with database.atomic():
        member = FarmMember.get_or_none((FarmMember.farm == farm) & (FarmMember.user == member_user_id))
        if member is None:
            raise Denied(404, "member not found")
        owners = FarmMember.select().where((FarmMember.farm == farm) & (FarmMember.role == "owner")).count()
        if member.role == "owner" and owners <= 1:
            raise Conflict(_("A farm keeps at least one owner."), {"user": _("The last owner.")})
        FarmMember.delete().where(FarmMember.id == member.id).execute()


def farm_certifications(farm):
    return certifications_of([farm])[farm.id]


def certifications_of(farms):
    """{farm id: [kind, ...]} for several farms, in one query."""
    result = {farm.id: [] for farm in farms}
    if result:
        for c in (Certification.select().where(Certification.farm.in_(list(result)))
                  .order_by(Certification.kind)):
            result[c.farm_id].append(c.kind)
    return result


def farm_members(farm):
    return list(FarmMember.select(FarmMember, accounts.User).join(accounts.User)
                .where(FarmMember.farm == farm).order_by(FarmMember.role, accounts.User.username))


# ---------------------------------------------------------------- plots


def area_to_m2(area, unit):
    return area * MU_IN_M2 if unit == "mu" else area


def plots_of(farm):
    return Plot.select().where(Plot.farm == farm).order_by(Plot.name)


def create_plot(user, farm, data):
    require(access_to(user, farm), Access.MANAGE)
    with database.atomic():
        if Plot.get_or_none((Plot.farm == farm) & (Plot.name == data["name"])):
            raise Conflict(_("A plot with this name exists on this farm."), {"name": _("Already taken.")})
        return Plot.create(farm=farm, name=data["name"], kind=data["kind"],
                           area_m2=round(area_to_m2(data["area"], data.get("area_unit") or "mu"), 2),
                           geometry=_geometry_text(data.get("geometry")), notes=data.get("notes") or "")


def update_plot(user, plot, data):
    require(access_to(user, plot.farm), Access.MANAGE)
    with database.atomic():
        if "name" in data and Plot.get_or_none((Plot.farm == plot.farm_id) & (Plot.name == data["name"])
                                               & (Plot.id != plot.id)):
            raise Conflict(_("A plot with this name exists on this farm."), {"name": _("Already taken.")})
        for key in ("name", "kind", "notes"):
            if key in data:
                setattr(plot, key, data[key] or "")
        if "area" in data:
            plot.area_m2 = round(area_to_m2(data["area"], data.get("area_unit") or "mu"), 2)
        if "geometry" in data:
            plot.geometry = _geometry_text(data["geometry"])
        plot.save()
    return plot


def _geometry_text(value):
    if not value:
        return None
    return json.dumps(json.loads(value), separators=(",", ":"))


# ---------------------------------------------------------------- plantings


def plantings_of(plot, include_ended=True):
    query = (Planting.select(Planting, Crop).join(Crop).where(Planting.plot == plot)
             .order_by(Planting.ended_on.is_null(False), Planting.start_date.desc()))
    if not include_ended:
        query = query.where(Planting.ended_on.is_null())
    return query


def create_planting(user, plot, data):
    require(access_to(user, plot.farm), Access.LOG)
    crop = Crop.get_or_none(Crop.id == data["crop"])
    if crop is None:
        raise ValidationError(_("Unknown crop."), {"crop": _("Choose a crop from the catalogue.")})
    return Planting.create(plot=plot, crop=crop, variety=data.get("variety") or "",
                           start_method=data.get("start_method") or "sown", start_date=data["start_date"],
                           expected_harvest=data.get("expected_harvest"), ended_on=data.get("ended_on"),
                           notes=data.get("notes") or "")


def update_planting(user, planting, data):
    require(access_to(user, planting.plot.farm), Access.LOG)
    if "crop" in data and not Crop.get_or_none(Crop.id == data["crop"]):
        raise ValidationError(_("Unknown crop."), {"crop": _("Choose a crop from the catalogue.")})
    for key in ("crop", "variety", "start_method", "start_date", "expected_harvest", "ended_on", "notes"):
        if key in data:
            value = data[key]
            if key in ("variety", "notes", "start_method") and value is None:
                value = ""
            setattr(planting, key, value)
    start, harvest, ended = planting.start_date, planting.expected_harvest, planting.ended_on
    if (harvest and harvest < start) or (ended and ended < start):
        raise ValidationError(_("Dates out of order."), {"start_date": _("The start must come first.")})
    planting.save()
    return planting


# ---------------------------------------------------------------- logs

REQUIRED_BY_KIND = {
    "input": ("product_name", "dose", "dose_unit"),
    "activity": ("activity_kind",),
    "harvest": ("quantity", "unit"),
}


def create_log(user, farm, data):
    """Add a log to the farm log; everything is checked before anything is written."""
    require(access_to(user, farm), Access.LOG)
    kind = data.get("kind")
    if kind not in LOG_KINDS:
        raise ValidationError(_("Unknown log kind."), {"kind": _("Choose a log kind.")})
    values = {key: data.get(key) for key in (
        "notes", "quantity", "unit", "input_category", "product_name", "active_ingredient", "dose",
        "dose_unit", "phi_days", "input_lot", "activity_kind", "lot_number")}
    errors = {}

    plot_ids = sorted(set(data.get("plots") or []))
    plots = list(Plot.select().where((Plot.id.in_(plot_ids)) & (Plot.farm == farm))) if plot_ids else []
    if not plot_ids or len(plots) != len(plot_ids):
        errors["plots"] = _("Choose one or more plots of this farm.")

    planting = None
    if data.get("planting"):
        planting = Planting.get_or_none(Planting.id == data["planting"])
        if planting is None or planting.plot_id not in plot_ids:
            errors["planting"] = _("The planting must be on one of the chosen plots.")

    if kind == "input":
        product = None
        if data.get("input_product"):
            product = InputProduct.get_or_none(InputProduct.id == data["input_product"])
            if product is None:
                errors["input_product"] = _("Unknown product.")
        if product is not None:
            # The catalogue fills in what the farmer left empty.
            values["product_name"] = values["product_name"] or product.name_zh
            values["active_ingredient"] = values["active_ingredient"] or product.active_ingredient
            values["input_category"] = values["input_category"] or product.category
            if values["phi_days"] is None:
                values["phi_days"] = product.phi_days
            values["dose_unit"] = values["dose_unit"] or product.default_unit
        values["input_product"] = product
        if values["input_category"] and values["input_category"] not in catalogue.INPUT_CATEGORIES:
            errors["input_category"] = _("Unknown input type.")
        if values["input_category"] in PESTICIDE_CATEGORIES and values["phi_days"] is None:
            errors["phi_days"] = _("A pesticide needs its pre-harvest interval.")
    for field in REQUIRED_BY_KIND.get(kind, ()):
        if values.get(field) in (None, ""):
            errors.setdefault(field, _("Required for this kind of log."))
    if kind != "input":
        for field in ("input_category", "product_name", "active_ingredient", "dose", "dose_unit",
                      "phi_days", "input_lot"):
            if values.get(field) not in (None, ""):
                errors.setdefault(field, _("Only input logs have this field."))
        values.pop("input_product", None)
    if kind != "activity" and values.get("activity_kind"):
        errors["activity_kind"] = _("Only activity logs have this field.")
    if kind != "harvest" and values.get("lot_number"):
        errors["lot_number"] = _("Only harvest logs have this field.")
    if (values.get("quantity") is None) != (not values.get("unit")):
        errors.setdefault("unit", _("Give a quantity together with its unit."))

    timestamp = data.get("timestamp")
    if not isinstance(timestamp, dt.datetime):
        errors["timestamp"] = _("Required.")
    elif to_utc_naive(timestamp) > utcnow() + dt.timedelta(days=1):
        errors["timestamp"] = _("A log cannot be more than a day in the future.")
    if errors:
        raise ValidationError(_("The log was not saved; please correct the marked fields."), errors)

    row = {key: ("" if value is None and key not in ("quantity", "dose", "phi_days", "input_product")
                 else value) for key, value in values.items()}
    with database.atomic():
        log = Log.create(farm=farm, kind=kind, timestamp=to_utc_naive(timestamp), planting=planting,
                         created_by=user, **row)
        LogPlot.insert_many([{"log": log.id, "plot": plot.id} for plot in plots]).execute()
    return log


def logs_query(user, farm=None, plot=None, kind=None, since=None, until=None):
    """Logs the user may view, newest first, with optional filters (dates are local dates)."""
    query = (Log.select(Log, Farm).join(Farm)
             .where(Log.farm.in_(visible_farms(user).select(Farm.id)))
             .order_by(Log.timestamp.desc(), Log.id.desc()))
    if farm is not None:
        query = query.where(Log.farm == farm)
    if plot is not None:
        query = query.where(Log.id.in_(LogPlot.select(LogPlot.log).where(LogPlot.plot == plot)))
    if kind:
        query = query.where(Log.kind == kind)
    if since:
        query = query.where(Log.timestamp >= _local_midnight_utc(since))
    if until:
        query = query.where(Log.timestamp < _local_midnight_utc(until + dt.timedelta(days=1)))
    return query


def _local_midnight_utc(day):
    from web.clock import local_zone

    return to_utc_naive(dt.datetime.combine(day, dt.time(), tzinfo=local_zone()))


def plots_of_logs(logs):
    """{log id: [plot, ...]} for a page of logs, in one query."""
    ids = [log.id for log in logs]
    result = {i: [] for i in ids}
    if ids:
        for link in LogPlot.select(LogPlot, Plot).join(Plot).where(LogPlot.log.in_(ids)).order_by(Plot.name):
            result[link.log_id].append(link.plot)
    return result


def last_input_of(plot):
    """The most recent input log on a plot, to prefill the next one."""
    return (Log.select().join(LogPlot).where((LogPlot.plot == plot) & (Log.kind == "input"))
            .order_by(Log.timestamp.desc()).first())


# ---------------------------------------------------------------- catalogues


def crops():
    return list(Crop.select().order_by(Crop.category, Crop.id))


def input_products():
    return list(InputProduct.select().order_by(InputProduct.category, InputProduct.id))


def load_catalogues():
    return catalogue.load()


# ---------------------------------------------------------------- for traceability


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


def input_applications(plot_ids, since=None, until=None, pesticides_only=False):
    """Input logs on any of ``plot_ids`` between ``since`` and ``until`` (UTC), newest first.

    Public facts only: product, ingredient, category, dose, interval and date.
    """
    query = (Log.select(Log).join(LogPlot).where((LogPlot.plot.in_(list(plot_ids))) & (Log.kind == "input"))
             .distinct().order_by(Log.timestamp.desc()))
    if since is not None:
        query = query.where(Log.timestamp >= since)
    if until is not None:
        query = query.where(Log.timestamp <= until)
    if pesticides_only:
        query = query.where(Log.input_category.in_(PESTICIDE_CATEGORIES))
    return [{"log_id": log.id, "applied_at": log.timestamp, "product_name": log.product_name,
             "active_ingredient": log.active_ingredient, "category": log.input_category, "dose": log.dose,
             "dose_unit": log.dose_unit, "phi_days": log.phi_days or 0} for log in query]


def public_farm(farm_id):
    """What a consumer may see of a farm: no people, no contact details of workers."""
    farm = Farm.get_or_none(Farm.id == farm_id)
    if farm is None:
        return None
    return {"id": farm.id, "name": farm.name, "county_code": farm.county_code,
            "county": divisions.full_name(farm.county_code), "certifications": farm_certifications(farm),
            "organisation_id": farm.organisation_id}


def access_to_farm_id(user, farm_id):
    farm = Farm.get_or_none(Farm.id == farm_id)
    return access_to(user, farm) if farm else Access.NONE


def farm_ids_with_access(user, need=Access.LOG):
    """Ids of the farms on which ``user`` has at least ``need`` (used to act for the farm's organisation)."""
    return [farm.id for farm in visible_farms(user) if access_to(user, farm) >= need]


# ---------------------------------------------------------------- alerts (sensor alarms and weather warnings)
# The inbox (farms.alerts) and the notification of alerts (farms.notify) are reached through here.

raise_alert = alerts.raise_alert
clear_alerts = alerts.clear_alerts
open_alert_keys = alerts.open_alert_keys
alert_text = alerts.alert_text
farm_people = alerts.farm_people
notify_alert = notify.notify_alert
notification_preferences = notify.preferences
save_notification_preferences = notify.save_preferences


def open_alerts(user, farm=None, limit=50):
    """Uncleared alerts on the farms ``user`` may see, most severe and newest first."""
    order = pw.Case(Alert.severity, [(level, rank) for rank, level in enumerate(ALERT_LEVELS)])
    query = (Alert.select(Alert, Farm).join(Farm)
             .where(Alert.cleared_at.is_null() & Alert.farm.in_(visible_farms(user).select(Farm.id)))
             .order_by(order.desc(), Alert.updated_at.desc()).limit(limit))
    if farm is not None:
        query = query.where(Alert.farm == farm)
    return list(query)


def get_alert(user, alert_id):
    alert = Alert.select(Alert, Farm).join(Farm).where(Alert.id == alert_id).first()
    if alert is None:
        raise Denied(404, "alert not found")
    require(access_to(user, alert.farm), Access.VIEW)
    return alert


def acknowledge_alert(user, alert_id):
    """A farmer (or anyone who may log on the farm) has seen the alert."""
    alert = get_alert(user, alert_id)
    require(access_to(user, alert.farm), Access.LOG)
    if alert.acknowledged_at is None:
        Alert.update(acknowledged_at=utcnow(), acknowledged_by=user).where(Alert.id == alert.id).execute()
    return Alert.get_by_id(alert.id)


def farms_for_matching(user=None):
    """Every farm (or those ``user`` may view) with its county code and location, for matching weather
    warnings."""
    query = visible_farms(user) if user is not None else Farm.select()
    return [{"id": f.id, "name": f.name, "county_code": f.county_code, "latitude": f.latitude,
             "longitude": f.longitude} for f in query.select(Farm.id, Farm.name, Farm.county, Farm.latitude,
                                                            Farm.longitude).order_by(Farm.name)]


def sees_every_farm(user):
    """Administrators and inspectors see every farm: no farm is more theirs than another."""
    return farm_scope(user).everything


def plot_by_id(plot_id):
    """The plot, or None; for callers that judge access themselves (ingest, scheduled jobs)."""
    return Plot.get_or_none(Plot.id == plot_id)


def plots_by_id(plot_ids):
    """{plot id: plot} of the plots that exist; for callers that judge access themselves."""
    return {p.id: p for p in Plot.select().where(Plot.id.in_(list(set(plot_ids)) or [0]))}


def plot_profile(plot_id):
    """The words that describe a plot for rules and advice: its kind and its current crops' codes and
    categories (empty for an unknown plot)."""
    plot = Plot.get_or_none(Plot.id == plot_id)
    if plot is None:
        return set()
    rows = (Planting.select(Crop.code, Crop.category).join(Crop)
            .where((Planting.plot == plot_id) & Planting.ended_on.is_null()).tuples())
    words = {plot.kind}
    for code, category in rows:
        words.update((code, category))
    return words


def crops_on_farm(farm_id):
    """Crop codes and categories of the farm's current plantings, and whether it has greenhouses."""
    rows = (Planting.select(Crop.code, Crop.category, Plot.kind).join(Crop).switch(Planting).join(Plot)
            .where((Plot.farm == farm_id) & Planting.ended_on.is_null()).tuples())
    codes, categories, greenhouse = set(), set(), False
    for code, category, kind in rows:
        codes.add(code)
        categories.add(category)
        greenhouse = greenhouse or kind == "greenhouse"
    if Plot.select().where((Plot.farm == farm_id) & (Plot.kind == "greenhouse")).exists():
        greenhouse = True
    return {"crops": sorted(codes), "categories": sorted(categories), "greenhouse": greenhouse}


def record_observation(farm_id, plot_ids, timestamp_utc, notes, quantity=None, unit=""):
    """Write an observation log on behalf of the system (a sensor daily record, say): no user.

    For callers that judge access themselves (scheduled jobs); the log has ``created_by`` None.
    """
    plot_ids = sorted(set(plot_ids))
    found = Plot.select(Plot.id).where(Plot.id.in_(plot_ids or [0]) & (Plot.farm == farm_id)).count()
    if not plot_ids or found != len(plot_ids):
        raise ValidationError(_("Choose one or more plots of this farm."), {"plots": "not on this farm"})
    if (quantity is None) != (not unit):
        raise ValidationError(_("Give a quantity together with its unit."), {"unit": "with quantity"})
    if timestamp_utc.tzinfo is not None:
        timestamp_utc = to_utc_naive(timestamp_utc)
    with database.atomic():
        log = Log.create(farm=farm_id, kind="observation", timestamp=timestamp_utc, notes=notes,
                         quantity=quantity, unit=unit or "", created_by=None)
        LogPlot.insert_many([{"log": log.id, "plot": plot_id} for plot_id in plot_ids]).execute()
    return log
