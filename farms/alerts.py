"""The farm's alert inbox: raising, clearing and reading alerts, whoever raises them.

Sensor alarms and weather warnings both become one ``Alert`` per (source, source_key, farm).
Other domains reach these functions through ``farms.service``, which re-exports them; the
functions that act for a user (listing, acknowledging) are in ``farms.service`` with the other
access checks. Notifying people of an alert is ``farms.notify``.
"""
import json

from farms.models import ALERT_LEVELS, ALERT_SOURCES, Alert, FarmMember
from web.accounts import service as accounts
from web.clock import utcnow
from web.db import database


def raise_alert(farm_id, source, source_key, severity, content, plot_id=None):
    """Open (or refresh) the alert of ``source_key`` on a farm; returns (alert, is_new_or_more_severe)."""
    if source not in ALERT_SOURCES or severity not in ALERT_LEVELS:
        raise ValueError(f"bad alert source or severity: {source}, {severity}")
    text = json.dumps(content, ensure_ascii=False, sort_keys=True)
    with database.atomic():
        alert = Alert.get_or_none((Alert.source == source) & (Alert.source_key == source_key)
                                  & (Alert.farm == farm_id))
        if alert is None:
            return Alert.create(source=source, source_key=source_key, severity=severity, farm=farm_id,
                                plot=plot_id, content=text), True
        escalated = ALERT_LEVELS.index(severity) > ALERT_LEVELS.index(alert.severity) or alert.cleared_at
        alert.severity, alert.content, alert.updated_at, alert.cleared_at = severity, text, utcnow(), None
        if escalated:
            alert.acknowledged_at, alert.acknowledged_by = None, None
        alert.save()
        return alert, bool(escalated)


def clear_alerts(source, source_key, farm_id=None):
    """Close the open alerts of ``source_key`` (on one farm, or everywhere); returns how many."""
    query = Alert.update(cleared_at=utcnow(), updated_at=utcnow()).where(
        (Alert.source == source) & (Alert.source_key == source_key) & Alert.cleared_at.is_null())
    if farm_id is not None:
        query = query.where(Alert.farm == farm_id)
    return query.execute()


def open_alert_keys(source, prefix="", suffix=""):
    """{source_key: farm id} of the open alerts of ``source`` whose key starts with ``prefix`` and
    ends with ``suffix``."""
    return {a.source_key: a.farm_id for a in Alert.select(Alert.source_key, Alert.farm)
            .where((Alert.source == source) & Alert.source_key.startswith(prefix)
                   & Alert.source_key.endswith(suffix) & Alert.cleared_at.is_null())}


def alert_text(alert, locale):
    """The alert's title, message and advice in ``locale`` (falling back to Chinese)."""
    content = json.loads(alert.content)
    return content.get(str(locale)[:2]) or content.get("zh") or next(iter(content.values()), {})


def farm_people(farm_id):
    """Users to notify about a farm: its owners and workers."""
    return [m.user for m in FarmMember.select(FarmMember, accounts.User).join(accounts.User)
            .where((FarmMember.farm == farm_id) & (accounts.User.active == True))]  # noqa: E712
