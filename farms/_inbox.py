"""The alerts a user sees and acknowledges, and the farms weather warnings are matched to. Raising,
clearing and notifying alerts are ``farms.alerts`` and ``farms.notify``."""
import peewee as pw
from flask_babel import gettext as _

from farms._access import access_to, visible_farms
from farms.models import ALERT_LEVELS, Alert, Farm
from web.clock import utcnow
from web.permissions import Access, Denied, require


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
