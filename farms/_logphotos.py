"""Photos on the farm log: checked and made safe to keep (farms.photos), stored once by their SHA-256,
linked to observation and input logs, served to whoever may see the log, and cited by journey events."""
import peewee as pw
from flask_babel import gettext as _

from farms import photos as _photos
from farms._access import access_to, get_log
from farms.models import PHOTO_LOG_KINDS, Log, LogPhoto, Photo
from farms.photos import PHOTOS_PER_LOG
from web.clock import utcnow
from web.db import ValidationError
from web.permissions import Access, Denied


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
