"""Notifying people of alerts: preferences, the delivery queue, sending with retries, escalation.

The delivery half of the farm's alert inbox, shared by every source of alerts (sensor alarms,
weather warnings); other domains reach it through ``farms.service`` (``notify_alert``, the
notification preferences). An alert (``farms.models.Alert``) becomes one ``Delivery`` per user per chosen
channel (``enqueue``); the scheduler sends what is due (``deliver_due``) and
re-notifies orange and red alerts nobody has acknowledged (``escalate``).

* ``in_app`` needs no sending: the dashboard shows open alerts, so its
  deliveries are recorded as sent at once.
* Quiet hours (local ``TIMEZONE``) hold a delivery back until they end,
  except for red alerts, which always go out at once.
* A failed send is retried after 1, 2, 4, ... minutes (at most 60) and given
  up after ``MAX_ATTEMPTS``; a delivery that cannot succeed (no URL, no SMS
  gateway) fails at once with the reason in ``last_error``.

Times are naive UTC, as everywhere in the database. Importing this module
registers the scheduler jobs ``weather.deliver`` and ``weather.escalate`` (ids kept from when
this module lived in weather).
"""
import datetime as dt
import json
import logging
import re
from urllib.parse import urlsplit

import peewee as pw
import requests
from flask import current_app
from flask_babel import gettext as _

from farms.alerts import alert_text, farm_people
from farms.models import ALERT_LEVELS, CHANNELS, Alert, Delivery, Farm, NotificationPreference
from web.accounts.models import User
from web.clock import from_utc_naive, local_zone, naive_utc, to_utc_naive, utcnow
from web import outbound
from web.db import ValidationError, database
from web.scheduler import register

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_BACKOFF_MINUTES = 60
ESCALATING_LEVELS = ("orange", "red")
URL_CHANNELS = {"webhook": "webhook_url", "wecom": "wecom_url", "dingtalk": "dingtalk_url"}
MAX_RESPONSE_BYTES = 64 * 1024  # read no more of a receiver's answer than this
MAX_ERROR_CHARS = 500
SMS_MAX_CHARS = 300
WECOM_MAX_BYTES = 4096  # the WeCom group robot's limit for markdown content

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_PHONE = re.compile(r"^\+?\d{5,19}$")
_PLACEHOLDER = re.compile(r"\{(phone|text)\}")

# Words of the outgoing messages, in the recipient's language (not the request's:
# messages are sent by the scheduler, for many users at once).
WORDS = {
    "zh": {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色", "level": "级别",
           "farm": "农场", "advice": "建议", "details": "查看详情", "colon": "："},
    "en": {"blue": "Blue", "yellow": "Yellow", "orange": "Orange", "red": "Red", "level": "Level",
           "farm": "Farm", "advice": "Advice", "details": "Details", "colon": ": "},
}
WECOM_COLOURS = {"blue": "info", "yellow": "comment", "orange": "warning", "red": "warning"}


class SendError(Exception):
    """A send failed; ``permanent`` ones are not retried."""

    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.permanent = permanent


# ---------------------------------------------------------------- preferences


def _default_preferences(user):
    return NotificationPreference(user=user, channels="in_app", min_level="blue",
                                  quiet_start=None, quiet_end=None)


def preferences(user):
    """The user's stored preferences, or the (unsaved) default: in-app only, every level, no quiet hours."""
    return NotificationPreference.get_or_none(NotificationPreference.user == user) or _default_preferences(user)


def channels_of(pref):
    """The chosen channels, in the order of ``CHANNELS``; unknown names are ignored."""
    chosen = {c.strip() for c in (pref.channels or "").split(",")}
    return [c for c in CHANNELS if c in chosen]


def _text(value):
    return str(value).strip() if value is not None else ""


def _channel_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [c.strip() for c in value.split(",") if c.strip()]
    return [_text(c) for c in value if _text(c)]


def _allowed():
    """The networks users' addresses may lead to: all with NOTIFY_ALLOW_PRIVATE, else none."""
    return outbound.allowed_networks(current_app.config["NOTIFY_ALLOW_PRIVATE"])


def _is_http_url(value):
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:
        return False


def save_preferences(user, data):
    """Check and store the user's notification settings; keys missing from ``data`` keep their value.

    ``data`` may hold ``channels`` (a list, or comma-separated text), ``min_level``,
    ``quiet_start``/``quiet_end`` ("HH:MM", local time; both or neither), ``webhook_url``,
    ``wecom_url``, ``dingtalk_url`` and ``phone``. Raises ``ValidationError`` naming every bad field.
    """
    pref = preferences(user)
    errors = {}

    if "channels" in data:
        channels = _channel_list(data["channels"])
        if any(c not in CHANNELS for c in channels):
            errors["channels"] = _("Unknown notification channel.")
        elif not channels:
            errors["channels"] = _("Choose at least one channel.")
        channels = [c for c in CHANNELS if c in channels]
    else:
        channels = channels_of(pref)

    min_level = _text(data["min_level"]) if "min_level" in data else pref.min_level
    if min_level not in ALERT_LEVELS:
        errors["min_level"] = _("Choose a warning level.")

    quiet = {}
    for key in ("quiet_start", "quiet_end"):
        value = _text(data[key]) if key in data else (getattr(pref, key) or "")
        if value and not _TIME.match(value):
            errors[key] = _("Give a time as HH:MM, for example 22:00.")
        quiet[key] = value or None
    if "quiet_start" not in errors and "quiet_end" not in errors:
        if bool(quiet["quiet_start"]) != bool(quiet["quiet_end"]):
            missing = "quiet_end" if quiet["quiet_start"] else "quiet_start"
            errors[missing] = _("Give both the start and the end of quiet hours, or neither.")
        elif quiet["quiet_start"] and quiet["quiet_start"] == quiet["quiet_end"]:
            errors["quiet_end"] = _("Quiet hours must end at another time than they start.")

    urls = {}
    for channel, key in URL_CHANNELS.items():
        value = _text(data[key]) if key in data else (getattr(pref, key) or "")
        if value and (len(value) > 500 or not _is_http_url(value)):
            errors[key] = _("Give an address that starts with http:// or https://.")
        elif value and outbound.private_address(urlsplit(value).hostname, resolve=False, allowed=_allowed()):
            errors[key] = _("Give an address on the internet; local and private network addresses are refused.")
        elif not value and channel in channels:
            errors[key] = _("Required for the chosen channel.")
        urls[key] = value or None

    phone = _text(data["phone"]) if "phone" in data else (pref.phone or "")
    phone = re.sub(r"[\s\-()]", "", phone)
    if phone and not _PHONE.match(phone):
        errors["phone"] = _("Give a phone number of digits only, optionally starting with +.")
    elif not phone and "sms" in channels:
        errors["phone"] = _("Required for the chosen channel.")

    if errors:
        raise ValidationError(_("The notification settings were not saved; please correct the marked fields."),
                              errors)

    pref.channels = ",".join(channels)
    pref.min_level = min_level
    pref.quiet_start, pref.quiet_end = quiet["quiet_start"], quiet["quiet_end"]
    for key, value in urls.items():
        setattr(pref, key, value)
    pref.phone = phone or None
    with database.atomic():
        if pref.id is None:
            try:
                with database.atomic():
                    pref.save(force_insert=True)
                return pref
            except pw.IntegrityError:  # saved meanwhile by another request: update that row
                pref.id = NotificationPreference.get(NotificationPreference.user == user).id
        pref.save()
    return pref


# ---------------------------------------------------------------- queueing


def quiet_until(pref, now):
    """The end of the quiet hours ``now`` falls in (naive UTC), or None outside them."""
    if not pref.quiet_start or not pref.quiet_end:
        return None
    try:
        start = dt.time.fromisoformat(pref.quiet_start)
        end = dt.time.fromisoformat(pref.quiet_end)
    except ValueError:
        return None
    if start == end:
        return None
    zone = local_zone()
    local = from_utc_naive(now)
    t = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-14:00
        if not start <= t < end:
            return None
        day = local.date()
    else:  # spans midnight, e.g. 22:00-06:30
        if end <= t < start:
            return None
        day = local.date() + dt.timedelta(days=1) if t >= start else local.date()
    return to_utc_naive(dt.datetime.combine(day, end, tzinfo=zone))


def _level(value):
    return ALERT_LEVELS.index(value) if value in ALERT_LEVELS else 0


def enqueue(alert, users=None, round=0, now=None):
    """Queue ``alert`` for ``users`` (default: the farm's people) in notification round ``round``.

    One delivery per user and chosen channel, for users whose ``min_level`` the alert
    reaches. Idempotent: a (alert, user, channel, round) that is queued already is left
    alone. Returns every delivery of this alert and round for these users, new or not.
    """
    now = naive_utc(now or utcnow())
    if users is None:
        users = farm_people(alert.farm_id)
    user_ids = list(dict.fromkeys(u.id if isinstance(u, User) else int(u) for u in users))
    if not user_ids:
        return []
    stored = {p.user_id: p for p in NotificationPreference.select()
              .where(NotificationPreference.user.in_(user_ids))}
    rows = []
    for user_id in user_ids:
        pref = stored.get(user_id) or _default_preferences(user_id)
        if _level(alert.severity) < _level(pref.min_level):
            continue
        held = None if alert.severity == "red" else quiet_until(pref, now)
        for channel in channels_of(pref):
            row = {"alert": alert.id, "user": user_id, "channel": channel, "round": round,
                   "created_at": now, "attempts": 0}
            if channel == "in_app":
                row.update(status="sent", sent_at=now, next_attempt_at=now)
            else:
                row.update(status="pending", next_attempt_at=held or now)
            rows.append(row)
    if not rows:
        return []
    with database.atomic():
        for start in range(0, len(rows), 100):
            Delivery.insert_many(rows[start:start + 100]).on_conflict_ignore().execute()
    wanted = {(r["user"], r["channel"]) for r in rows}
    found = (Delivery.select().where((Delivery.alert == alert.id) & (Delivery.round == round)
                                     & Delivery.user.in_(user_ids))
             .order_by(Delivery.user, Delivery.id))
    return [d for d in found if (d.user_id, d.channel) in wanted]


# ---------------------------------------------------------------- messages


def _words(locale):
    return WORDS.get(str(locale or "zh")[:2], WORDS["zh"])


def alert_url(alert):
    """Where the alert is shown: the dashboard of the public site."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/dashboard#alert-{alert.id}"


def _content(alert, locale):
    text = alert_text(alert, locale) or {}
    advice = text.get("advice") or []
    if isinstance(advice, str):
        advice = [advice]
    return {"title": str(text.get("title") or ""), "message": str(text.get("message") or ""),
            "advice": [str(a) for a in advice]}


def webhook_payload(alert, locale, farm_name, url=None):
    text = _content(alert, locale)
    body = {"id": alert.id, "severity": alert.severity, "title": text["title"], "message": text["message"],
            "advice": text["advice"], "farm": {"id": alert.farm_id, "name": farm_name}}
    if url:
        body["url"] = url
    return {"alert": body}


def _truncate_bytes(value, limit):
    data = value.encode("utf-8")
    if len(data) <= limit:
        return value
    return data[:limit - 3].decode("utf-8", errors="ignore") + "..."


def wecom_payload(alert, locale, farm_name, url=None):
    text, words = _content(alert, locale), _words(locale)
    colour = WECOM_COLOURS.get(alert.severity, "warning")
    level = words.get(alert.severity, alert.severity)
    lines = [f"### {text['title']}",
             f"> {words['level']}{words['colon']}<font color=\"{colour}\">{level}</font>",
             f"> {words['farm']}{words['colon']}{farm_name}", ""]
    if text["message"]:
        lines += [text["message"], ""]
    if text["advice"]:
        lines.append(f"**{words['advice']}**")
        lines += [f"- {a}" for a in text["advice"]]
        lines.append("")
    if url:
        lines.append(f"[{words['details']}]({url})")
    return {"msgtype": "markdown", "markdown": {"content": _truncate_bytes("\n".join(lines).strip(), WECOM_MAX_BYTES)}}


def plain_text(alert, locale, farm_name, url=None):
    text, words = _content(alert, locale), _words(locale)
    lines = [f"【{text['title']}】" if str(locale or "zh")[:2] == "zh" else f"[{text['title']}]",
             f"{words['level']}{words['colon']}{words.get(alert.severity, alert.severity)}",
             f"{words['farm']}{words['colon']}{farm_name}"]
    if text["message"]:
        lines.append(text["message"])
    if text["advice"]:
        lines.append(f"{words['advice']}{words['colon']}")
        lines += [f"{i}. {a}" for i, a in enumerate(text["advice"], 1)]
    if url:
        lines.append(url)
    return "\n".join(lines)


def dingtalk_payload(alert, locale, farm_name, url=None):
    return {"msgtype": "text", "text": {"content": plain_text(alert, locale, farm_name, url)}}


def sms_text(alert, locale, farm_name):
    """Short: title, farm, message and the first advice."""
    text, words = _content(alert, locale), _words(locale)
    parts = [text["title"], f"{words['farm']}{words['colon']}{farm_name}", text["message"]]
    if text["advice"]:
        parts.append(text["advice"][0])
    separator = "；" if str(locale or "zh")[:2] == "zh" else "; "
    value = separator.join(p for p in parts if p)
    return value if len(value) <= SMS_MAX_CHARS else value[:SMS_MAX_CHARS - 1] + "…"


def fill_sms_template(template, phone, text):
    """``template`` with {phone} and {text} replaced by JSON-escaped values; returns the parsed body.

    The placeholders normally stand inside JSON strings ("{text}"), so each value is put in
    as the inside of a JSON string literal: quotes, backslashes and newlines are escaped.
    """
    def escaped(value):
        return json.dumps(value, ensure_ascii=False)[1:-1]

    values = {"phone": escaped(phone), "text": escaped(text)}
    filled = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    try:
        return json.loads(filled)
    except ValueError as e:
        raise SendError(f"SMS_TEMPLATE is not valid JSON once filled in: {e}", permanent=True) from None


# ---------------------------------------------------------------- sending


def _short(message):
    message = str(message)
    return message if len(message) <= MAX_ERROR_CHARS else message[:MAX_ERROR_CHARS - 1] + "…"


def _post(url, body, public_only=False):
    """POST ``body`` as JSON; returns (status, response bytes). Raises SendError on failure.

    ``public_only``: a user's address; refuse to connect to a local or private network (see _check_public)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    session = outbound.session(_allowed()) if public_only else requests.Session()
    try:
        response = session.post(url, data=data, timeout=current_app.config["HTTP_TIMEOUT"],
                                headers={"Content-Type": "application/json; charset=utf-8",
                                         "User-Agent": "farm-to-table-notify/1"},
                                allow_redirects=False, stream=True)
        try:
            content = response.raw.read(MAX_RESPONSE_BYTES, decode_content=True) or b""
        finally:
            response.close()
    except SendError:
        raise
    except requests.exceptions.ConnectionError as e:
        refused = outbound.refusal(e)
        if refused is not None:
            raise SendError(str(refused), permanent=True) from None
        raise SendError(f"{type(e).__name__}: {e}") from None
    except Exception as e:  # connection refused, timeouts, TLS errors, broken responses, bad URLs ...
        raise SendError(f"{type(e).__name__}: {e}") from None
    finally:
        session.close()
    if not 200 <= response.status_code < 300:
        snippet = content[:200].decode("utf-8", errors="replace").strip()
        raise SendError(f"HTTP {response.status_code}" + (f": {snippet}" if snippet else ""))
    return response.status_code, content


def _check_public(url):
    """Refuse a user's address that leads into this server's own networks (loopback, private, link-local,
    e.g. cloud metadata at 169.254.169.254), unless NOTIFY_ALLOW_PRIVATE: a farmer's webhook must not
    make the server probe them. Checked when sending, with the name resolved (it may have changed), and
    again on the address connected to (``web.outbound.session``)."""
    try:
        outbound.check_url(url, _allowed())
    except outbound.Refused as e:
        raise SendError(str(e), permanent=True) from None
    except OSError as e:  # unknown name, resolver down: worth another try later
        raise SendError(f"cannot resolve {urlsplit(url).hostname}: {e}") from None


def _check_errcode(content):
    """WeCom and DingTalk robots answer 200 with {"errcode": 0} on success, another errcode on failure."""
    try:
        answer = json.loads(content.decode("utf-8"))
    except ValueError:
        raise SendError("the robot did not answer with JSON") from None
    if not isinstance(answer, dict) or "errcode" not in answer:
        raise SendError("the robot's answer has no errcode")
    if answer["errcode"] != 0:
        raise SendError(f"errcode {answer['errcode']}: {answer.get('errmsg', '')}".strip())


def send(delivery, alert, user, pref, farm_name):
    """Send one delivery now; returns normally on success, raises SendError otherwise."""
    locale = user.locale or "zh"
    url = alert_url(alert)
    channel = delivery.channel
    if channel == "in_app":
        return
    if channel in URL_CHANNELS:
        target = getattr(pref, URL_CHANNELS[channel]) or ""
        if not target:
            raise SendError(f"no {channel} address is configured for this user", permanent=True)
        _check_public(target)
        if channel == "webhook":
            _post(target, webhook_payload(alert, locale, farm_name, url), public_only=True)
        elif channel == "wecom":
            _check_errcode(_post(target, wecom_payload(alert, locale, farm_name, url), public_only=True)[1])
        else:
            _check_errcode(_post(target, dingtalk_payload(alert, locale, farm_name, url), public_only=True)[1])
        return
    if channel == "sms":
        gateway = current_app.config.get("SMS_GATEWAY_URL") or ""
        if not gateway:
            raise SendError("no SMS gateway is configured (SMS_GATEWAY_URL is empty)", permanent=True)
        if not pref.phone:
            raise SendError("no phone number is configured for this user", permanent=True)
        body = fill_sms_template(current_app.config["SMS_TEMPLATE"], pref.phone,
                                 sms_text(alert, locale, farm_name))
        _post(gateway, body)
        return
    raise SendError(f"unknown channel {channel!r}", permanent=True)


def backoff(attempts):
    """Minutes to wait after the ``attempts``-th failed attempt: 1, 2, 4, ... at most 60."""
    return min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES)


def deliver_due(now=None):
    """Send every pending or retrying delivery that is due; returns {"sent", "retrying", "failed"} counts.

    Errors of the receivers are recorded on the delivery, never raised.
    """
    clock = (lambda: now) if now is not None else utcnow  # when each send finished
    now = naive_utc(now or utcnow())
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    due = list(Delivery.select(Delivery, Alert, Farm, User)
               .join(Alert).join(Farm).switch(Delivery).join(User)
               .where(Delivery.status.in_(("pending", "retrying")) & (Delivery.next_attempt_at <= now))
               .order_by(Delivery.next_attempt_at, Delivery.id))
    if not due:
        return counts
    prefs = {p.user_id: p for p in NotificationPreference.select()
             .where(NotificationPreference.user.in_(list({d.user_id for d in due})))}
    # While a send is in flight the delivery is leased: a crash mid-send means a retry later, not a loss.
    lease = now + dt.timedelta(seconds=3 * float(current_app.config["HTTP_TIMEOUT"]) + 60)
    for delivery in due:
        claimed = (Delivery.update(attempts=Delivery.attempts + 1, next_attempt_at=lease)
                   .where((Delivery.id == delivery.id) & (Delivery.attempts == delivery.attempts)
                          & Delivery.status.in_(("pending", "retrying")))
                   .execute())
        if not claimed:  # another worker took it
            continue
        attempts = delivery.attempts + 1
        alert = delivery.alert
        error, permanent = None, False
        if alert.cleared_at is not None:
            error, permanent = "the alert was cleared before it could be sent", True
        else:
            pref = prefs.get(delivery.user_id) or _default_preferences(delivery.user)
            try:
                send(delivery, alert, delivery.user, pref, alert.farm.name)
            except SendError as e:
                error, permanent = _short(e), e.permanent
            except Exception as e:  # never let one delivery stop the others
                log.exception("delivery %s failed unexpectedly", delivery.id)
                error = _short(f"{type(e).__name__}: {e}")
        if error is None:
            changes = {"status": "sent", "sent_at": max(naive_utc(clock()), now), "last_error": None,
                       "next_attempt_at": now}
        elif permanent or attempts >= MAX_ATTEMPTS:
            changes = {"status": "failed", "last_error": error, "next_attempt_at": now}
        else:
            changes = {"status": "retrying", "last_error": error,
                       "next_attempt_at": now + dt.timedelta(minutes=backoff(attempts))}
        Delivery.update(**changes).where(Delivery.id == delivery.id).execute()
        counts[changes["status"]] += 1
        if error is not None:
            log.info("delivery %s (%s) attempt %d: %s", delivery.id, delivery.channel, attempts, error)
    return counts


# ---------------------------------------------------------------- escalation


def latest_round(alert):
    """The highest notification round of ``alert``, or None if it was never queued."""
    return Delivery.select(pw.fn.MAX(Delivery.round)).where(Delivery.alert == alert).scalar()


def next_round(alert):
    """The round in which to notify ``alert`` anew: 0 the first time, then one more than the last.

    ``enqueue`` is idempotent per round, so an alert that became more severe (or was raised
    again after clearing) needs ``enqueue(alert, round=next_round(alert))`` to reach people again.
    """
    latest = latest_round(alert)
    return 0 if latest is None else latest + 1


def notify_alert(alert, now=None):
    """Queue a new or more severe alert for the farm's people in a new notification round."""
    return enqueue(alert, round=next_round(alert), now=now)


def escalate(now=None):
    """Re-notify open, unacknowledged orange and red alerts whose last round is ESCALATE_MINUTES old.

    A round's age counts from when it went out: from its creation, or from its last
    send if quiet hours held it back; a round that still waits for quiet hours to end
    is not escalated. Returns how many alerts got a new round.
    """
    now = naive_utc(now or utcnow())
    limit = now - dt.timedelta(minutes=int(current_app.config["ESCALATE_MINUTES"]))
    candidates = list(Alert.select().where(Alert.cleared_at.is_null() & Alert.acknowledged_at.is_null()
                                           & Alert.severity.in_(ESCALATING_LEVELS)))
    if not candidates:
        return 0
    rounds = dict(Delivery.select(Delivery.alert, pw.fn.MAX(Delivery.round))
                  .where(Delivery.alert.in_([a.id for a in candidates]))
                  .group_by(Delivery.alert).tuples())
    escalated = 0
    for alert in candidates:
        current = rounds.get(alert.id)
        if current is None:  # never notified: queueing the first round is the raiser's business
            continue
        deliveries = list(Delivery.select().where((Delivery.alert == alert.id) & (Delivery.round == current)))
        if any(d.status == "pending" and d.attempts == 0 for d in deliveries):
            continue  # not out yet (held by quiet hours, or not picked up)
        went_out = max([min(d.created_at for d in deliveries)]
                       + [d.sent_at for d in deliveries if d.sent_at is not None])
        if went_out > limit:
            continue
        if enqueue(alert, round=current + 1, now=now):
            escalated += 1
    return escalated


# ---------------------------------------------------------------- scheduler jobs


@register("weather.deliver", "interval", seconds=30)
def deliver_job(app):
    counts = deliver_due()
    if any(counts.values()):
        log.info("deliveries: %s", counts)


@register("weather.escalate", "interval", seconds=60)
def escalate_job(app):
    count = escalate()
    if count:
        log.info("escalated %d alert(s)", count)
