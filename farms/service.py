"""Farm management: the only door into farms, plots, plantings and the farm log.

Every function that acts for a user takes that user and checks access
through ``web.permissions``; callers never filter farms themselves.
"""
import datetime as dt
import hashlib
import json
import re
import secrets
import uuid
from dataclasses import dataclass

import peewee as pw
from flask_babel import gettext as _

from farms import alerts, catalogue, notify, photos as _photos
from farms.models import (ALERT_LEVELS, CROP_CATEGORIES, LOG_KINDS, MU_IN_M2, PHOTO_LOG_KINDS, PLOT_KINDS, Alert,
                          PESTICIDE_CATEGORIES, Certification, Crop, Farm, FarmInvitation, FarmMember, InputProduct,
                          Log, LogPhoto, LogPlot, Photo, Planting, Plot)
from farms.photos import PHOTO_MAX_BYTES, PHOTO_MAX_SIDE, PHOTOS_PER_LOG, PreparedPhoto  # noqa: F401 (the door)
from web import divisions
from web.accounts import service as accounts
from web.clock import local_now, utcnow
from web.db import Conflict, ValidationError, database
from web.clock import from_utc_naive, to_utc_naive
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


def visible_farm_ids(user):
    """A subquery of the ids of the farms ``user`` may view."""
    return visible_farms(user).select(Farm.id)


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
        raise Denied(404, _("farm not found"))
    require(access_to(user, farm), need)
    return farm


def get_plot(user, plot_id, need=Access.VIEW):
    plot = Plot.select(Plot, Farm).join(Farm).where(Plot.id == plot_id).first()
    if plot is None:
        raise Denied(404, _("plot not found"))
    require(access_to(user, plot.farm), need)
    return plot


def get_planting(user, planting_id, need=Access.VIEW):
    planting = (Planting.select(Planting, Plot, Farm, Crop).join(Plot).join(Farm)
                .switch(Planting).join(Crop).where(Planting.id == planting_id).first())
    if planting is None:
        raise Denied(404, _("planting not found"))
    require(access_to(user, planting.plot.farm), need)
    return planting


def get_log(user, log_id):
    log = Log.select(Log, Farm).join(Farm).where(Log.id == log_id).first()
    if log is None:
        raise Denied(404, _("log not found"))
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
        raise Denied(403, _("only farmers and administrators create farms"))
    _check_county(data.get("county_code"))
    with database.atomic():
        organisation = user.organisation
        if organisation is None:
            organisation = accounts.create_own_organisation(data["name"], "farm", division_code=data["county_code"],
                                                            suffix=user.display_name or user.username)
        if Farm.get_or_none((Farm.organisation == organisation) & (Farm.name == data["name"])):
            raise Conflict(_("A farm with this name exists already."), {"name": _("Already taken.")})
        farm = Farm.create(organisation=organisation, name=data["name"], county=data["county_code"],
                           address=data.get("address") or "", contact_phone=(data.get("contact_phone") or "").strip(),
                           latitude=data.get("latitude"),
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
        for key in ("name", "address", "contact_phone", "latitude", "longitude"):
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
        raise Denied(404, _("invitation not found"))
    if invitation.state != "pending":
        raise Conflict(_("This invitation is no longer open."), {"invitation": _("Answered, withdrawn or expired.")})
    return accounts.close(invitation, "revoked")


def remove_member(user, farm, member_user_id):
    """An owner removes someone from the farm; the last owner stays."""
    require(access_to(user, farm), Access.MANAGE)
    with database.atomic():
        member = FarmMember.get_or_none((FarmMember.farm == farm) & (FarmMember.user == member_user_id))
        if member is None:
            raise Denied(404, _("member not found"))
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


def create_log(user, farm, data, offline=None, photos=()):
    """Add a log to the farm log; everything is checked before anything is written.

    ``offline`` (an OfflineEntry) is a log the farmer made on the phone without a connection: it is
    stored once under its UUID however often it is sent, keeps the time it was made, and a harvest in
    it is refused inside a pesticide's safe interval unless the farmer confirmed it.

    ``photos`` (PreparedPhoto, from ``prepare_photo``) go with an observation or input log; each is
    kept once by its SHA-256 whatever the logs it is on, and counts against the organisation's
    ATTACHMENT_QUOTA_BYTES."""
    require(access_to(user, farm), Access.LOG)
    photos = _distinct_photos(photos)
    if offline is not None:
        offline.fingerprint = _fingerprint(data, offline, photos)
        existing = _offline_log(user, farm, offline)
        if existing is not None:
            return existing
    checked = _checked_log(farm, data, offline)
    row, plots = checked
    if photos:
        _check_photos(farm, row["kind"], photos)
    if offline is not None:
        row.update(client_id=offline.client_id, client_fingerprint=offline.fingerprint,
                   recorded_at=to_utc_naive(offline.recorded_at) if offline.recorded_at else None)
    try:
        with database.atomic():
            log = _write_log(user, farm, checked)
            _attach_photos(log, farm, photos)
    except pw.IntegrityError:
        # The same entry sent twice at once: the other request stored it first.
        existing = _offline_log(user, farm, offline) if offline is not None else None
        if existing is None:
            raise
        return existing
    log.just_created = True
    return log


def _checked_log(farm, data, offline=None):
    """The row and plots of a new log from ``data``, or ValidationError naming every bad field."""
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
    elif any(plot.archived_at for plot in plots):
        errors["plots"] = _("The plot %(name)s has been archived and takes no new logs.",
                            name=", ".join(plot.name for plot in plots if plot.archived_at))

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
    if kind == "input" and not values.get("product_name") and "input_product" not in errors:
        # One message, on the picker the farmer sees (the name field is the fallback under "more").
        errors["input_product"] = _("Choose a product, or type its name under More details.")
    for field in REQUIRED_BY_KIND.get(kind, ()):
        if field in ("product_name", "dose_unit") and "input_product" in errors:
            continue  # the product, once chosen, gives its name and usual unit
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
    if (values.get("quantity") is None) != (not values.get("unit")) \
            and "quantity" not in errors and "unit" not in errors:
        errors["unit"] = _("Give a quantity together with its unit.")

    timestamp = data.get("timestamp")
    if not isinstance(timestamp, dt.datetime):
        errors["timestamp"] = _("Required.")
    elif to_utc_naive(timestamp) > utcnow() + dt.timedelta(days=1):
        errors["timestamp"] = _("A log cannot be more than a day in the future.")
    if offline is not None:
        errors.update(offline.errors())
    if errors:
        raise ValidationError(_("The log was not saved; please correct the marked fields."), errors)
    if offline is not None and kind == "harvest" and not offline.confirm_safe_interval:
        _refuse_harvest_inside_safe_interval(plot_ids, to_utc_naive(timestamp))

    row = {key: ("" if value is None and key not in ("quantity", "dose", "phi_days", "input_product")
                 else value) for key, value in values.items()}
    row.update(kind=kind, timestamp=to_utc_naive(timestamp), planting=planting)
    return row, plots


# ---------------------------------------------------------------- photos of the log


def prepare_photo(data, keep_location=False, latitude=None, longitude=None, field="photos"):
    """Check an uploaded photo and make it safe to keep (see farms.photos): a PreparedPhoto, or a
    ValidationError naming ``field``. Coordinates are kept only with ``keep_location``."""
    errors = {}
    if keep_location:
        for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -bound <= value <= bound:
                errors[f"{field}.{name}"] = _("A number from -%(bound)d to %(bound)d.", bound=bound)
        if (latitude is None) != (longitude is None):
            errors[f"{field}.latitude"] = _("Give the latitude together with the longitude.")
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    return _photos.prepare(data, keep_location, None if latitude is None else float(latitude),
                           None if longitude is None else float(longitude), field=field)


def _distinct_photos(photos):
    seen, kept = set(), []
    for photo in photos or ():
        if photo.sha256 not in seen:
            seen.add(photo.sha256)
            kept.append(photo)
    return kept


def _check_photos(farm, kind, photos):
    from flask import current_app

    if kind not in PHOTO_LOG_KINDS:
        raise ValidationError(_("Only observation and input logs take photos."),
                              {"photos": _("Only observation and input logs take photos.")})
    if len(photos) > PHOTOS_PER_LOG:
        raise ValidationError(_("At most %(n)d photos on one log.", n=PHOTOS_PER_LOG),
                              {"photos": _("At most %(n)d photos on one log.", n=PHOTOS_PER_LOG)})
    known = {row.sha256 for row in Photo.select(Photo.sha256).where(Photo.sha256.in_([p.sha256 for p in photos]))}
    needed = sum(len(p.data) for p in photos if p.sha256 not in known)
    if not needed:
        return
    quota = current_app.config["ATTACHMENT_QUOTA_BYTES"]
    used = (Photo.select(pw.fn.COALESCE(pw.fn.SUM(Photo.size), 0))
            .where(Photo.organisation == farm.organisation_id).scalar())
    if used + needed > quota:
        megabytes = lambda size: f"{size / (1024 * 1024):.1f} MB"  # noqa: E731
        raise ValidationError(
            _("Your organisation's photo storage is full: %(used)s of %(quota)s used, and these photos need "
              "%(size)s. Ask the administrator for more room.",
              used=megabytes(used), quota=megabytes(quota), size=megabytes(needed)),
            {"photos": _("Over your organisation's storage quota.")})


def _attach_photos(log, farm, photos):
    if not photos:
        return
    Photo.insert_many([{"sha256": p.sha256, "media_type": p.media_type, "size": len(p.data), "width": p.width,
                        "height": p.height, "data": p.data, "thumbnail": p.thumbnail,
                        "organisation": farm.organisation_id, "created_at": utcnow()}
                       for p in photos]).on_conflict_ignore().execute()
    ids = dict(Photo.select(Photo.sha256, Photo.id).where(Photo.sha256.in_([p.sha256 for p in photos])).tuples())
    LogPhoto.insert_many([{"log": log.id, "photo": ids[p.sha256], "position": position,
                           "latitude": p.latitude, "longitude": p.longitude}
                          for position, p in enumerate(photos)]).execute()


PHOTO_COLUMNS = (Photo.id, Photo.sha256, Photo.media_type, Photo.size, Photo.width, Photo.height)


def photos_of_logs(logs):
    """{log id: [LogPhoto, ...]} in the order they were added, each with its photo's facts (not its bytes)."""
    found = {log.id: [] for log in logs}
    if not found:
        return found
    query = (LogPhoto.select(LogPhoto, *PHOTO_COLUMNS).join(Photo)
             .where(LogPhoto.log.in_(list(found))).order_by(LogPhoto.log, LogPhoto.position))
    for row in query:
        found[row.log_id].append(row)
    return found


def log_photo(user, log_id, sha256, thumbnail=False):
    """(bytes, media type) of a photo on a log the user may see; 404 for any other."""
    log = get_log(user, log_id)
    column = Photo.thumbnail if thumbnail else Photo.data
    row = (Photo.select(column, Photo.media_type).join(LogPhoto)
           .where((LogPhoto.log == log.id) & (Photo.sha256 == str(sha256).lower())).first())
    if row is None:
        raise Denied(404, _("photo not found"))
    return (bytes(row.thumbnail), "image/jpeg") if thumbnail else (bytes(row.data), row.media_type)


def photo_attachment(user, sha256):
    """A log photo the user may see, as journey events cite attachments ({sha256, filename, mediaType,
    size}), or None: so that an event may point at a photo from the farm log by its SHA-256."""
    rows = (LogPhoto.select(LogPhoto.log, *PHOTO_COLUMNS).join(Photo)
            .where(Photo.sha256 == str(sha256).lower()))
    for row in rows:
        log = Log.get_or_none(Log.id == row.log_id)
        if log is not None and access_to(user, log.farm) >= Access.VIEW:
            photo = row.photo
            extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[photo.media_type]
            return {"sha256": photo.sha256, "filename": f"log-{row.log_id}-{photo.sha256[:12]}.{extension}",
                    "mediaType": photo.media_type, "size": photo.size}
    return None


def _carry_photos(old_log_id, new_log_id):
    """A correction keeps the photos of the log it corrects."""
    rows = list(LogPhoto.select().where(LogPhoto.log == old_log_id).order_by(LogPhoto.position))
    if rows:
        LogPhoto.insert_many([{"log": new_log_id, "photo": r.photo_id, "position": r.position,
                               "latitude": r.latitude, "longitude": r.longitude} for r in rows]).execute()


def _write_log(user, farm, checked, corrects=None):
    row, plots = checked
    log = Log.create(farm=farm, created_by=user, corrects=corrects, **row)
    LogPlot.insert_many([{"log": log.id, "plot": plot.id} for plot in plots]).execute()
    return log


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


# How far the phone's clock may say an offline entry was made: not after tomorrow (a clock a little
# ahead), not more than a year ago (a queue left on a phone that long is not this season's record).
RECORDED_AT_FUTURE = dt.timedelta(days=1)
RECORDED_AT_PAST = dt.timedelta(days=366)


@dataclass
class OfflineEntry:
    """A log made on the phone and sent when the connection returned."""

    client_id: object  # uuid.UUID, the idempotency key
    recorded_at: object = None  # aware datetime, when the farmer made it
    confirm_safe_interval: bool = False
    fingerprint: str = ""  # set by create_log: what was sent under the key

    def errors(self):
        if self.recorded_at is None:
            return {}
        made = to_utc_naive(self.recorded_at)
        if made > utcnow() + RECORDED_AT_FUTURE:
            return {"recorded_at": _("The entry cannot have been made in the future; check the phone's clock.")}
        if made < utcnow() - RECORDED_AT_PAST:
            return {"recorded_at": _("The entry was made more than a year ago.")}
        return {}


def offline_entry(client_id, recorded_at=None, confirm_safe_interval=False):
    """An OfflineEntry from what a phone sent (a UUID text, an ISO 8601 time with its offset, a bool),
    or None without a client_id; malformed values are a ValidationError naming the field."""
    if client_id in (None, ""):
        if recorded_at not in (None, "") or confirm_safe_interval:
            raise ValidationError(_("Some fields need correcting."),
                                  {"client_id": _("Required with recorded_at and confirm_safe_interval.")})
        return None
    errors = {}
    try:
        key = uuid.UUID(client_id) if isinstance(client_id, str) else None
    except ValueError:
        key = None
    if key is None:
        errors["client_id"] = _("A UUID, like 0b0f3c52-8c1e-4e5a-9d8e-2f1f7f0c6a11.")
    made = None
    if recorded_at not in (None, ""):
        try:
            made = dt.datetime.fromisoformat(recorded_at) if isinstance(recorded_at, str) else None
        except ValueError:
            made = None
        if made is None or made.tzinfo is None:
            errors["recorded_at"] = _("A date and time with its offset, like 2026-05-01T08:30:00+08:00.")
    if not isinstance(confirm_safe_interval, bool):
        errors["confirm_safe_interval"] = _("true or false")
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    return OfflineEntry(client_id=key, recorded_at=made, confirm_safe_interval=confirm_safe_interval)


def _fingerprint(data, offline, photos=()):
    """What an entry says, as checked (so a page's form and the API agree on it): a resend must match."""
    def plain(value):
        if isinstance(value, dt.datetime):
            return to_utc_naive(value).isoformat() if value.tzinfo else value.isoformat()
        if isinstance(value, (list, tuple)):
            return sorted(plain(v) for v in value)
        if value in ("", None):
            return None
        return value if isinstance(value, (int, float, str, bool)) else str(value)

    said = {key: plain(value) for key, value in data.items() if key not in ("submit", "csrf_token")}
    said["recorded_at"] = plain(offline.recorded_at)
    said["confirm_safe_interval"] = offline.confirm_safe_interval
    if photos:  # only then, so that entries sent before photos existed keep their fingerprint
        said["photos"] = [[p.sha256, p.latitude, p.longitude] for p in photos]
    return hashlib.sha256(json.dumps(said, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _offline_log(user, farm, offline):
    """The log already stored under this entry's UUID, if any; a different entry under it is a conflict."""
    log = Log.get_or_none(Log.client_id == offline.client_id)
    if log is None:
        return None
    if log.farm_id != farm.id or log.created_by_id != user.id or log.client_fingerprint != offline.fingerprint:
        raise Conflict(_("Another entry was already sent under this entry's id."),
                       {"client_id": _("Already used for a different entry.")})
    log.just_created = False
    return log


def _refuse_harvest_inside_safe_interval(plot_ids, harvested_at):
    """A harvest entered offline may not know of a spraying synced meanwhile: refuse it inside the
    interval, naming the product and the first safe day, until the farmer confirms it."""
    harvest_day = from_utc_naive(harvested_at).date()
    for application in input_applications(plot_ids, until=harvested_at, pesticides_only=True):
        safe_day = from_utc_naive(application["applied_at"]).date() + dt.timedelta(days=application["phi_days"])
        if harvest_day < safe_day:
            raise Conflict(
                _("Harvest inside the safe interval: %(product)s was sprayed on %(day)s; harvest from %(safe)s.",
                  product=application["product_name"],
                  day=from_utc_naive(application["applied_at"]).date().isoformat(), safe=safe_day.isoformat()),
                {"timestamp": _("Inside the pre-harvest interval."),
                 "confirm_safe_interval": _("Confirm to record the harvest anyway (a batch will need a residue test).")})


def archive_plot(user, plot, archived=True):
    """Archive a plot (it keeps its history but takes no new logs), or bring it back."""
    require(access_to(user, plot.farm), Access.MANAGE)
    plot.archived_at = utcnow() if archived else None
    plot.save(only=[Plot.archived_at])
    return plot


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


def product_ids_for_plots(plot_ids):
    """Catalogue products registered for the crops now planted on any of ``plot_ids``."""
    codes = set((Planting.select(Crop.code).join(Crop)
                 .where(Planting.plot.in_(list(plot_ids) or [0]) & Planting.ended_on.is_null()).tuples()))
    codes = {code for (code,) in codes}
    return [p.id for p in input_products() if codes & set(p.crops.split())]


def loggable_plots(user):
    """The plots of the farms on which ``user`` may log, by farm and name (for "add a log")."""
    farm_ids = farm_ids_with_access(user, Access.LOG)
    return list(Plot.select(Plot, Farm).join(Farm).where(Plot.farm.in_(farm_ids or [0]))
                .order_by(Farm.name, Plot.name))


def recent_product_ids(farm, limit=8):
    """Catalogue products of the farm's latest input logs (not voided), most recent first."""
    seen = []
    rows = (Log.select(Log.input_product).where((Log.farm == farm) & (Log.kind == "input")
                                                & Log.input_product.is_null(False) & Log.voided_at.is_null())
            .order_by(Log.timestamp.desc(), Log.id.desc()).limit(200).tuples())
    for (product_id,) in rows:
        if product_id not in seen:
            seen.append(product_id)
        if len(seen) >= limit:
            break
    return seen


def safe_harvest_day(log):
    """The first local day a harvest may follow this pesticide log (None for other logs)."""
    if log.kind != "input" or log.input_category not in PESTICIDE_CATEGORIES or log.phi_days is None:
        return None
    from web.clock import from_utc_naive

    return from_utc_naive(log.timestamp).date() + dt.timedelta(days=log.phi_days)


def pending_safe_interval(plot_ids, on_day=None):
    """The pesticide log on any of ``plot_ids`` whose safe interval ends last, if it ends after
    ``on_day`` (a local date, default today): {"log_id", "product_name", "applied_day", "phi_days",
    "safe_day"}, else None. Voided logs do not count."""
    from web.clock import from_utc_naive, local_now

    on_day = on_day or local_now().date()
    since = utcnow() - dt.timedelta(days=400)
    latest = None
    for a in input_applications(plot_ids, since=since, pesticides_only=True):
        applied = from_utc_naive(a["applied_at"]).date()
        safe = applied + dt.timedelta(days=a["phi_days"])
        if safe > on_day and (latest is None or safe > latest["safe_day"]):
            latest = {"log_id": a["log_id"], "product_name": a["product_name"], "applied_day": applied,
                      "phi_days": a["phi_days"], "safe_day": safe}
    return latest


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


def input_applications(plot_ids, since=None, until=None, pesticides_only=False):
    """Input logs on any of ``plot_ids`` between ``since`` and ``until`` (UTC), newest first.

    Public facts only: product, ingredient, category, dose, interval and date. Voided and
    corrected logs are left out: only their corrections count.
    """
    query = (Log.select(Log).join(LogPlot).where((LogPlot.plot.in_(list(plot_ids))) & (Log.kind == "input")
                                                 & Log.voided_at.is_null())
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
        raise Denied(404, _("alert not found"))
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


# Lot numbers the app suggests: a prefix, the year and six random characters (no 0/O, 1/I), about
# 10^9 per prefix and year, so a lot cannot be found by counting when the product's GTIN is public.
LOT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def suggest_lot(prefix="LOT", year=None):
    """A fresh, unguessable lot number such as ``XF-2026-K7Q9M2`` (at most 20 characters)."""
    prefix = re.sub(r"[^A-Za-z0-9]", "", prefix or "").upper()[:8] or "LOT"
    year = year or local_now().year
    return f"{prefix}-{year}-" + "".join(secrets.choice(LOT_ALPHABET) for _ in range(6))


# ---------------------------------------------------------------- figures for the agriculture bureau
# Counts per county and local day (TIMEZONE), read by the bureau's refresh job into its tallies.
# Nothing personal: counts, areas and ingredient names only.


def _local_day(when):
    return from_utc_naive(when).date()


def _utc_bounds(day_from, day_to):
    """[start, end) in naive UTC of the local days ``day_from``..``day_to``."""
    return _local_midnight_utc(day_from), _local_midnight_utc(day_to + dt.timedelta(days=1))


def bureau_daily_figures(day_from, day_to):
    """Yield (county, local day, metric, key, value) for what happened on the days ``day_from``..``day_to``:

    - ``pesticide_applications`` by active ingredient (an input log of a pesticide category);
    - ``alerts`` by "source:level" (raised that day), ``alerts_acked`` likewise (of those raised that day),
      and ``ack_minutes`` keyed by the minutes from raising to acknowledging (see ``_ack_bucket``), counting alerts.
    """
    start, end = _utc_bounds(day_from, day_to)
    tally = {}

    def add(county, day, metric, key, value=1):
        tally[(county, day, metric, key)] = tally.get((county, day, metric, key), 0) + value

    logs = (Log.select(Farm.county, Log.timestamp, Log.active_ingredient, Log.product_name).join(Farm)
            .where((Log.kind == "input") & Log.input_category.in_(PESTICIDE_CATEGORIES)
                   & (Log.timestamp >= start) & (Log.timestamp < end)).tuples())
    for county, when, ingredient, product in logs.iterator():
        add(county, _local_day(when), "pesticide_applications", (ingredient or product or "?")[:120])
    alerts_ = (Alert.select(Farm.county, Alert.created_at, Alert.source, Alert.severity, Alert.acknowledged_at)
               .join(Farm).where((Alert.created_at >= start) & (Alert.created_at < end)).tuples())
    for county, created, source, level, acked in alerts_.iterator():
        day = _local_day(created)
        key = f"{source}:{level}"
        add(county, day, "alerts", key)
        if acked is not None:
            add(county, day, "alerts_acked", key)
            add(county, day, "ack_minutes", str(_ack_bucket(max(0, int((acked - created).total_seconds() // 60)))))
    for (county, day, metric, key), value in tally.items():
        yield county, day, metric, key, value


def _ack_bucket(minutes):
    """Minutes to acknowledge, to the minute below an hour, to 10 minutes below 10 hours, to the hour below two
    days, then to the day (a median a bureau reads; the tallies keep few keys)."""
    for limit, step in ((60, 1), (600, 10), (2880, 60)):
        if minutes < limit:
            return minutes - minutes % step
    return minutes - minutes % 1440


def bureau_changed_days(since):
    """Local days whose ``bureau_daily_figures`` may have changed since ``since`` (naive UTC)."""
    days = set()
    for (when,) in (Log.select(Log.timestamp).where((Log.kind == "input") & (Log.created_at >= since))
                    .tuples().iterator()):
        days.add(_local_day(when))
    for (when,) in (Alert.select(Alert.created_at)
                    .where((Alert.created_at >= since) | (Alert.acknowledged_at >= since)).tuples().iterator()):
        days.add(_local_day(when))
    return days


def bureau_stock_figures(day):
    """Yield (county, metric, key, value) standing at the end of the local day ``day``: ``farms``,
    ``certified_farms`` (a certification not expired), ``active_plantings`` and ``area_mu`` by crop code
    (the area of the plots a crop grows on)."""
    _start, end = _utc_bounds(day, day)
    for county, count in (Farm.select(Farm.county, pw.fn.COUNT(Farm.id)).where(Farm.created_at < end)
                          .group_by(Farm.county).tuples()):
        yield county, "farms", "", count
    certified = (Certification.select(Certification.farm).distinct()
                 .where(Certification.valid_until.is_null() | (Certification.valid_until >= day)))
    for county, count in (Farm.select(Farm.county, pw.fn.COUNT(Farm.id))
                          .where((Farm.created_at < end) & Farm.id.in_(certified))
                          .group_by(Farm.county).tuples()):
        yield county, "certified_farms", "", count
    active = ((Planting.start_date <= day) & (Planting.ended_on.is_null() | (Planting.ended_on >= day)))
    for county, crop, count in (Planting.select(Farm.county, Crop.code, pw.fn.COUNT(Planting.id))
                                .join(Crop).switch(Planting).join(Plot).join(Farm).where(active)
                                .group_by(Farm.county, Crop.code).tuples()):
        yield county, "active_plantings", crop, count
    area, seen = {}, set()
    for county, crop, plot_id, m2 in (Planting.select(Farm.county, Crop.code, Plot.id, Plot.area_m2)
                                      .join(Crop).switch(Planting).join(Plot).join(Farm).where(active)
                                      .tuples().iterator()):
        if (plot_id, crop) not in seen:  # two plantings of one crop on a plot count its area once
            seen.add((plot_id, crop))
            area[(county, crop)] = area.get((county, crop), 0) + (m2 or 0) / MU_IN_M2
    for (county, crop), mu in area.items():
        yield county, "area_mu", crop, round(mu, 4)


def bureau_farms(county_code, limit=500):
    """Farms of one county for the bureau's drill-down: name, certification, plots' area, active plantings.
    No people and no contact details."""
    farm_rows = list(Farm.select(Farm.id, Farm.name, Farm.county).where(Farm.county == county_code)
                     .order_by(Farm.name).limit(limit))
    ids = [f.id for f in farm_rows] or [0]
    area = dict(Plot.select(Plot.farm, pw.fn.SUM(Plot.area_m2)).where(Plot.farm.in_(ids))
                .group_by(Plot.farm).tuples())
    today = _local_day(utcnow())
    plantings = dict(Planting.select(Plot.farm, pw.fn.COUNT(Planting.id)).join(Plot)
                     .where(Plot.farm.in_(ids) & (Planting.start_date <= today)
                            & (Planting.ended_on.is_null() | (Planting.ended_on >= today)))
                     .group_by(Plot.farm).tuples())
    certs = certifications_of(farm_rows)
    return [{"id": f.id, "name": f.name, "county_code": f.county_code,
             "area_mu": round((area.get(f.id) or 0) / MU_IN_M2, 1),
             "active_plantings": plantings.get(f.id, 0), "certifications": certs.get(f.id, [])}
            for f in farm_rows]


def crop_names():
    """{crop code: (Chinese name, English name)}."""
    return {c.code: (c.name_zh, c.name_en) for c in Crop.select(Crop.code, Crop.name_zh, Crop.name_en)}


def farm_counties():
    """{farm id: county code} of every farm (for other domains' per-county figures)."""
    return dict(Farm.select(Farm.id, Farm.county).tuples())


def plot_farms():
    """{plot id: farm id} of every plot."""
    return dict(Plot.select(Plot.id, Plot.farm).tuples())


def bureau_farm_points(prefix, limit=2000):
    """Farms with a position under a division (county code prefix), for the bureau's map: id, name, county,
    latitude, longitude and their open alerts (count and the highest level). Nothing personal."""
    farms_ = list(Farm.select(Farm.id, Farm.name, Farm.county, Farm.latitude, Farm.longitude)
                  .where(Farm.county.startswith(prefix) & Farm.latitude.is_null(False) & Farm.longitude.is_null(False))
                  .order_by(Farm.id).limit(limit))
    alerts_ = {}
    ids = [f.id for f in farms_]
    for chunk in range(0, len(ids), 500):
        for farm_id, severity in (Alert.select(Alert.farm, Alert.severity)
                                  .where(Alert.farm.in_(ids[chunk:chunk + 500]) & Alert.cleared_at.is_null())
                                  .tuples()):
            count, top = alerts_.get(farm_id, (0, None))
            if top is None or ALERT_LEVELS.index(severity) > ALERT_LEVELS.index(top):
                top = severity
            alerts_[farm_id] = (count + 1, top)
    return [{"id": f.id, "name": f.name, "county_code": f.county_code, "latitude": f.latitude,
             "longitude": f.longitude, "open_alerts": alerts_.get(f.id, (0, None))[0],
             "level": alerts_.get(f.id, (0, None))[1]} for f in farms_]
