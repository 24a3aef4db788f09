"""Weather warnings: the only door into feeds, warnings and their alerts on farms.

A CAP message is stored once per (sender, identifier). An Update or a Cancel
resolves its ``references`` and supersedes or cancels what it names, also when
it arrives before the message it names. An active warning is matched to farms
(by GB/T 2260 geocode at any level, or by polygon or circle around the farm's
point) and becomes one Alert per farm, with advice for what grows there.
"""
import datetime as dt
import json
import logging
import math
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from shapely.geometry import Point, Polygon

from farms import service as farms
from weather import advice, cap
from weather.models import FEED_FORMATS, AdviceRule, Feed, WarningReference, WeatherWarning
from web import divisions, outbound, scheduler
from web.clock import as_utc, to_utc_naive, utcnow
from web.db import database

log = logging.getLogger(__name__)

SOURCE = "weather"
USER_AGENT = "GannongTrace/1.0 (farm weather warnings)"
MAX_LINKS_PER_FEED = 50
MAX_FEED_PROBLEMS = 100
MAX_BACKOFF = dt.timedelta(hours=1)
GEOCODE_LENGTHS = (6, 9, 12)


# ---------------------------------------------------------------- helpers


def key_of(warning):
    return f"{warning.sender}|{warning.identifier}"


def alert_key(warning):
    return f"cap:{key_of(warning)}"


def _main_info(alert):
    """The Chinese info block if there is one, else the first."""
    for info in alert.infos:
        if (info.language or "").lower().startswith("zh"):
            return info
    return alert.infos[0] if alert.infos else None


def _info_in(document, language):
    infos = document.get("infos", [])
    for info in infos:
        if (info.get("language") or "").lower().startswith(language):
            return info
    return infos[0] if infos else {}


def _classify(alert):
    event_type, level = "other", None
    main = _main_info(alert)
    for info in sorted(alert.infos, key=lambda i: i is not main):  # the Chinese block first
        found_type, found_level = advice.classify(info)
        if event_type == "other" and found_type != "other":
            event_type = found_type
        level = level or found_level
    return event_type, level or "yellow"


def lifetimes(text):
    """``WARNING_LIFETIME_HOURS`` ("*=24,typhoon=48,...") as {event type or "*": hours}; ValueError if malformed."""
    found = {}
    for part in str(text or "").split(","):
        if not part.strip():
            continue
        name, sep, hours = part.partition("=")
        name = name.strip()
        if not sep or name not in advice.EVENT_TYPES + (advice.OTHER, advice.ANY):
            raise ValueError(f"WARNING_LIFETIME_HOURS: {part.strip()!r} is not <type>=<hours>")
        try:
            value = float(hours)
        except ValueError:
            value = -1.0
        if not 0 < value <= 24 * 366:
            raise ValueError(f"WARNING_LIFETIME_HOURS: {part.strip()!r}: hours must be more than 0")
        found[name] = value
    if advice.ANY not in found:
        found[advice.ANY] = 24.0
    return found


def default_lifetime(event_type):
    """How long a warning of this type lasts when its message gives no end (WARNING_LIFETIME_HOURS)."""
    table = lifetimes(current_app.config["WARNING_LIFETIME_HOURS"])
    return dt.timedelta(hours=table.get(event_type, table[advice.ANY]))


_ENDS = ("ends", "eventEndingTime")  # NWS: the hazard's end, apart from the message's own <expires>


def _event_end(info):
    for name, value in info.parameters:
        if name in _ENDS and value:
            try:
                end = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                continue
            if end.tzinfo is not None:
                return end
    return None


def _lifetime(alert, event_type):
    """(onset, expires) of a warning in naive UTC; notes in ``alert.problems`` what had to be assumed.

    The end is NWS's ``ends`` when given, else ``<expires>``. Without either, the warning lasts the
    type's default lifetime from its onset (else effective, else sent). An ``<expires>`` before the
    onset cannot be right: it is ignored and the default lifetime counts from the onset.
    """
    onsets, ends = [], []
    for index, info in enumerate(alert.infos):
        start = info.onset or info.effective or alert.sent
        onsets.append(to_utc_naive(start))
        end = _event_end(info) or info.expires
        hours = default_lifetime(event_type).total_seconds() / 3600
        if end is not None and info.onset is not None and end < info.onset:
            alert.problems.append(f"info[{index}]: onset {info.onset.isoformat()} is after expires "
                                  f"{end.isoformat()}; expires ignored, assumed to end {hours:g} h after onset")
            end = None
        elif end is None:
            alert.problems.append(f"info[{index}]: no <expires>; assumed to end {hours:g} h after "
                                  f"{'onset' if info.onset else 'effective' if info.effective else 'sent'}"
                                  " (WARNING_LIFETIME_HOURS)")
        if end is None:
            end = start + default_lifetime(event_type)
        ends.append(to_utc_naive(end))
    if not alert.infos:
        onsets.append(to_utc_naive(alert.sent))
        ends.append(to_utc_naive(alert.sent) + default_lifetime(event_type))
    return min(onsets), max(ends)


# ---------------------------------------------------------------- life cycle


def ingest(alert, feed=None, now=None):
    """Store one parsed CAP message and apply it; returns the stored warning, or None for a duplicate."""
    now = now or utcnow()
    with database.atomic():
        if WeatherWarning.select().where((WeatherWarning.sender == alert.sender)
                                         & (WeatherWarning.identifier == alert.identifier)).exists():
            return None
        info = _main_info(alert)
        event_type, level = _classify(alert)
        onset, expires = _lifetime(alert, event_type)
        warning = WeatherWarning.create(
            sender=alert.sender, identifier=alert.identifier, sent=to_utc_naive(alert.sent), msg_type=alert.msg_type,
            status=alert.status, scope=alert.scope or "Public", event_type=event_type, level=level,
            event=(info.event if info else "")[:200], expires=expires, onset=onset,
            document=json.dumps(cap.to_json(alert), ensure_ascii=False), feed=feed, state="active")
        for sender, identifier, _sent in alert.references:
            WarningReference.create(warning=warning, sender=sender, identifier=identifier)

        if alert.msg_type in ("Update", "Cancel"):
            for sender, identifier, _sent in alert.references:
                earlier = WeatherWarning.get_or_none((WeatherWarning.sender == sender)
                                                     & (WeatherWarning.identifier == identifier))
                if earlier is not None:
                    _replace(earlier, warning)
        # Arrived after an Update or Cancel that already names it (out of order).
        later = (WeatherWarning.select().join(WarningReference)
                 .where((WarningReference.sender == warning.sender)
                        & (WarningReference.identifier == warning.identifier)).first())
        if later is not None:
            _replace(warning, later)
            return warning
        if alert.msg_type == "Cancel":
            _set_state(warning, "cancelled")
        elif alert.msg_type in ("Ack", "Error") or alert.status != "Actual":
            _set_state(warning, "expired")  # kept on record, never alerts
        elif expires is not None and expires <= now:
            _set_state(warning, "expired")
        else:
            _alert_farms(warning)
    return warning


def _replace(earlier, later):
    """``later`` (an Update or Cancel) replaces ``earlier``."""
    state = "cancelled" if later.msg_type == "Cancel" else "superseded"
    WeatherWarning.update(state=state, replaced_by=key_of(later)).where(WeatherWarning.id == earlier.id).execute()
    farms.clear_alerts(SOURCE, alert_key(earlier))


def _set_state(warning, state):
    WeatherWarning.update(state=state).where(WeatherWarning.id == warning.id).execute()
    warning.state = state
    if state != "active":
        farms.clear_alerts(SOURCE, alert_key(warning))


def expire_due(now=None):
    """End the warnings whose time is over and clear their alerts; returns how many."""
    now = now or utcnow()
    # Warnings stored without an end before default lifetimes existed get one now.
    for warning in WeatherWarning.select().where((WeatherWarning.state == "active")
                                                 & WeatherWarning.expires.is_null()):
        start = warning.onset or warning.sent
        WeatherWarning.update(expires=start + default_lifetime(warning.event_type)).where(
            WeatherWarning.id == warning.id).execute()
    due = list(WeatherWarning.select().where((WeatherWarning.state == "active")
                                             & WeatherWarning.expires.is_null(False)
                                             & (WeatherWarning.expires <= now)))
    for warning in due:
        _set_state(warning, "expired")
    return len(due)


# ---------------------------------------------------------------- matching


def _areas(document, info=None):
    """The distinct areas of every info block (or of ``info`` alone)."""
    seen, areas = set(), []
    for one in [info] if info is not None else document.get("infos", []):
        for area in one.get("areas", []):
            key = json.dumps(area, sort_keys=True)
            if key not in seen:
                seen.add(key)
                areas.append(area)
    return areas


def _division(value):
    """(six-digit GB/T 2260 code, is a township) of a geocode value, or None if it is no such code.

    China's national warning system pads every code to 12 digits: "360700000000" is 赣州市 and
    "360000000000" 江西省, while "360722101000" is a township of 信丰县. A 9- or 12-digit code
    whose township part is all zeros is the division its first six digits name.
    """
    value = (value or "").strip()
    if not value.isdigit() or len(value) not in GEOCODE_LENGTHS:
        return None
    if value[:6] == "000000":
        return None
    return value[:6], bool(value[6:].strip("0"))


def _geocode_prefix(value):
    """The division prefix a geocode value covers, or None if it is no GB/T 2260 code."""
    found = _division(value)
    if found is None:
        return None
    code, township = found
    if township:
        return code  # a township lies in its county; farms are placed by county
    return divisions.prefix(code)


def _distance_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def match_farms(document, farm_list=None, info=None):
    """{farm id: area description} of the farms a warning's areas (or one info block's) cover."""
    farm_list = farm_list if farm_list is not None else farms.farms_for_matching()
    matched = {}
    for area in _areas(document, info):
        prefixes = [p for p in (_geocode_prefix(v) for _n, v in area.get("geocodes", [])) if p]
        polygons = []
        for ring in area.get("polygons", []):
            try:
                polygon = Polygon([(lon, lat) for lat, lon in ring])
                if polygon.is_valid:
                    polygons.append(polygon)
            except (ValueError, TypeError):
                continue
        circles = area.get("circles", [])
        if not prefixes and not polygons and not circles:
            log.warning("warning area %r has no geocode, polygon or circle to match on; no farm alerted",
                        area.get("desc"))
            continue
        for farm in farm_list:
            if farm["id"] in matched:
                continue
            hit = any(farm["county_code"].startswith(p) for p in prefixes)
            if not hit and farm["latitude"] is not None:
                point = Point(farm["longitude"], farm["latitude"])
                hit = any(polygon.covers(point) for polygon in polygons) or any(
                    _distance_km(lat, lon, farm["latitude"], farm["longitude"]) <= radius
                    for lat, lon, radius in circles)
            if hit:
                matched[farm["id"]] = area.get("desc") or ""
    return matched


def _alert_farms(warning):
    document = json.loads(warning.document)
    farm_list = farms.farms_for_matching()
    matched = match_farms(document, farm_list)
    # Each language names the area in its own block's words (a bilingual message's blocks differ).
    own = {lang: match_farms(document, farm_list, _info_in(document, lang)) if document.get("infos") else {}
           for lang in ("zh", "en")}
    for farm_id, area_desc in matched.items():
        profile = farms.crops_on_farm(farm_id)
        content = {lang: _content(warning, document, lang, profile, own[lang].get(farm_id) or area_desc)
                   for lang in ("zh", "en")}
        alert, notable = farms.raise_alert(farm_id, SOURCE, alert_key(warning), warning.level, content)
        if notable:
            farms.notify_alert(alert)


def _content(warning, document, lang, profile, area_desc):
    info = _info_in(document, lang)
    title = info.get("headline") or info.get("event") or warning.event
    own_language = (info.get("language") or "").lower().startswith(lang)
    named_level = advice.classify({"event": title})[1]
    if not own_language or (named_level and named_level != warning.level):
        # No block in this language, or its words name another level than the code: say it plainly.
        name, level = advice.type_name(warning.event_type, lang), advice.level_name(warning.level, lang)
        title = f"{name} {level} warning" if lang == "en" else f"{name}{level}预警"
    return {"title": title, "message": (info.get("description") or "")[:600], "area": area_desc,
            "advice": advice.advice_for(warning.event_type, warning.level, profile, lang),
            "links": [{"href": f"/weather/warnings/{warning.id}",
                       "label": "预警详情与广播稿" if lang == "zh" else "Details and loudspeaker script"}]}


def active_warnings():
    """Warnings in force (public information), newest first."""
    query = WeatherWarning.select().where(WeatherWarning.state == "active").order_by(WeatherWarning.sent.desc())
    return list(query)


def farms_touched(warnings, user):
    """{warning id: names of ``user``'s farms the warning covers}, for the farms the user works on or
    oversees (nothing for those who see every farm: all farms are no more theirs than any)."""
    if user is None or farms.sees_every_farm(user):
        return {}
    farm_list = farms.farms_for_matching(user)
    if not farm_list:
        return {}
    names = {f["id"]: f["name"] for f in farm_list}
    touched = {}
    for warning in warnings:
        matched = match_farms(json.loads(warning.document), farm_list)
        if matched:
            touched[warning.id] = [names[farm_id] for farm_id in names if farm_id in matched]
    return touched


def get_warning(warning_id):
    return WeatherWarning.get_or_none(WeatherWarning.id == warning_id)


def broadcast_text(warning):
    """The village loudspeaker script for a warning."""
    document = json.loads(warning.document)
    info = _info_in(document, "zh")
    chinese = (info.get("language") or "").lower().startswith("zh")
    counties, townships = [], []
    profile = {"crops": [], "categories": [], "greenhouse": False}
    for area in _areas(document, info if chinese else None):
        if area.get("desc") and not advice.is_chinese(area["desc"]):
            area = {**area, "desc": None}  # never read an English name out in the village
        for _name, value in area.get("geocodes", []):
            found = _division(value)
            if found and not found[1]:
                code = found[0]
                name = divisions.full_name(code).split(" ")[-1] if divisions.get(code) else None
                if name and name not in counties:
                    counties.append(name)
            elif found and area.get("desc"):
                if area["desc"] not in townships:
                    townships.append(area["desc"])
        if not area.get("geocodes") and area.get("desc") and area["desc"] not in counties:
            counties.append(area["desc"])
    for farm_id in match_farms(document):
        found = farms.crops_on_farm(farm_id)
        profile["crops"] = sorted(set(profile["crops"]) | set(found["crops"]))
        profile["categories"] = sorted(set(profile["categories"]) | set(found["categories"]))
        profile["greenhouse"] = profile["greenhouse"] or found["greenhouse"]
    facts = {"event_type": warning.event_type, "level": warning.level, "event": warning.event,
             "headline": info.get("headline"), "sender_name": info.get("sender_name"),
             "counties": counties, "townships": townships,
             "onset": as_utc(warning.onset), "expires": as_utc(warning.expires),
             "instruction": info.get("instruction") if chinese else None, "contact": info.get("contact")}
    return advice.broadcast_script(facts, advice.advice_for(warning.event_type, warning.level, profile, "zh"))




# ---------------------------------------------------------------- feeds


class FeedError(Exception):
    pass


def feed_client():
    """The HTTP client for feeds: every feed URL, every link inside an index and every redirect hop
    must lead to a public address (or one of FEED_ALLOW_PRIVATE's networks), checked before and at
    connect time (web.outbound). The app's own origin (PUBLIC_BASE_URL: the demo feed) is let through."""
    return outbound.Client(allowed=outbound.allowed_networks(current_app.config["FEED_ALLOW_PRIVATE"]),
                           trusted_origin=current_app.config["PUBLIC_BASE_URL"],
                           timeout=current_app.config["HTTP_TIMEOUT"])


def feed_refused(feed):
    """Whether the feed's last error is a refused address (the feeds page says so plainly)."""
    return bool(feed.last_error) and REFUSED_MARK in feed.last_error


REFUSED_MARK = "local or private network address"


def _fetch(url, client, headers=None):
    """GET with a timeout, the public-address guard and a size bound; returns the response with ``.body`` set."""
    try:
        response = client.get(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    except OSError as e:
        if isinstance(e, requests.RequestException):
            raise
        raise FeedError(f"cannot resolve {url}: {e}") from None
    try:
        if response.status_code == 304:
            response.body = b""
            return response
        if response.status_code >= 400:
            raise FeedError(f"HTTP {response.status_code} from {url}")
        chunks, size = [], 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > cap.MAX_BYTES:
                raise FeedError(f"{url} sent more than {cap.MAX_BYTES // (1024 * 1024)} MB")
            chunks.append(chunk)
        response.body = b"".join(chunks)
        return response
    finally:
        response.close()


def poll_feed(feed, now=None, client=None):
    """Fetch a feed once and ingest what it carries; records the feed's health. Never raises."""
    now = now or utcnow()
    own = client is None
    client = client or feed_client()
    try:
        return _poll(feed, now, client)
    finally:
        if own:
            client.close()


def _poll(feed, now, client):
    new, problems = 0, []
    try:
        headers = {}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.last_modified:
            headers["If-Modified-Since"] = feed.last_modified
        response = _fetch(feed.url, client, headers)
        if response.status_code != 304:
            found = []  # defects in what the feed carries: the feed's health shows them, the warnings are kept
            if feed.format == "nws-geojson":
                alerts, links = cap.parse_nws_geojson(response.body), []
            elif feed.format == "meteoalarm-json":
                parsed = cap.parse_meteoalarm_json(response.body)
                alerts, links = list(parsed.alerts), []
                found += parsed.problems
            else:
                parsed = cap.parse_document(response.body)
                alerts, links = list(parsed.alerts), parsed.links[:MAX_LINKS_PER_FEED]
                found += parsed.problems
            for link in links:  # an unchanged index is not fetched again (ETag / If-Modified-Since)
                try:
                    alerts.append(cap.parse_alert(_fetch(link, client).body))
                except (cap.CapError, FeedError, outbound.Refused, requests.RequestException) as e:
                    problems.append(f"{link}: {e}")
            for alert in alerts:
                try:
                    if ingest(alert, feed, now) is not None:
                        new += 1
                    found += [f"{alert.identifier}: {problem}" for problem in alert.problems
                              if not problem.startswith("the document's root")]
                except Exception as e:  # one bad message must not stop the others
                    log.exception("could not ingest %s", getattr(alert, "identifier", "?"))
                    problems.append(f"{getattr(alert, 'identifier', '?')}: {e}")
            feed.problems = json.dumps(list(dict.fromkeys(found))[:MAX_FEED_PROBLEMS], ensure_ascii=False) \
                if found else None
            feed.etag = response.headers.get("ETag") or feed.etag
            feed.last_modified = response.headers.get("Last-Modified") or feed.last_modified
    except (cap.CapError, FeedError, outbound.Refused, requests.RequestException, ValueError) as e:
        feed.failures += 1
        feed.last_error, feed.last_error_at = str(e)[:2000], now
        backoff = min(dt.timedelta(seconds=feed.interval_seconds) * (2 ** feed.failures), MAX_BACKOFF)
        feed.last_polled_at, feed.next_poll_at = now, now + backoff
        feed.save()
        log.warning("feed %s failed: %s", feed.url, e)
        return {"new": 0, "error": str(e)}
    feed.failures = 0
    feed.last_polled_at = feed.last_success_at = now
    feed.next_poll_at = now + dt.timedelta(seconds=feed.interval_seconds)
    if problems:
        feed.last_error, feed.last_error_at = "; ".join(problems)[:2000], now
    feed.save()
    return {"new": new, "error": None, "problems": problems}


def poll_due(now=None):
    """Poll every enabled feed that is due."""
    now = now or utcnow()
    due = Feed.select().where(Feed.enabled & (Feed.next_poll_at.is_null() | (Feed.next_poll_at <= now)))
    return {feed.url: poll_feed(feed, now) for feed in due}


def add_feed(name, url, format="cap", interval_seconds=300):
    from web.db import ValidationError

    errors = {}
    if not url.startswith(("http://", "https://")):
        errors["url"] = "http(s) URL"
    elif not outbound.same_origin(url, current_app.config["PUBLIC_BASE_URL"]) and outbound.private_address(
            urlsplit(url).hostname, resolve=False,
            allowed=outbound.allowed_networks(current_app.config["FEED_ALLOW_PRIVATE"])):
        errors["url"] = _("Give an address on the internet; local and private network addresses are refused.")
    if format not in FEED_FORMATS:
        errors["format"] = ", ".join(FEED_FORMATS)
    if not 30 <= interval_seconds <= 86400:
        errors["interval_seconds"] = "30 to 86400"
    if errors:
        raise ValidationError("invalid feed", errors)
    feed, _created = Feed.get_or_create(url=url, defaults={"name": name, "format": format,
                                                           "interval_seconds": interval_seconds})
    return feed


def feeds():
    """Every feed, by name."""
    return list(Feed.select().order_by(Feed.name))


def feed_problems(feed):
    """The defects the feed's last successful poll found in its messages (the warnings were kept)."""
    return json.loads(feed.problems) if feed.problems else []


def warning_problems(warning):
    """What was wrong or assumed in a warning's message (defective optional parts, a default end)."""
    return json.loads(warning.document).get("problems") or []


def get_feed(feed_id):
    return Feed.get_or_none(Feed.id == feed_id)


def set_feed_enabled(feed, enabled):
    """Switch a feed's polling on or off."""
    Feed.update(enabled=enabled).where(Feed.id == feed.id).execute()


# ---------------------------------------------------------------- advice rules (edited by bureaus)


def advice_rules(event_type):
    """The advice rules of one warning type, by level, crop and position."""
    return list(AdviceRule.select().where(AdviceRule.event_type == event_type)
                .order_by(AdviceRule.level, AdviceRule.crop, AdviceRule.position))


def get_advice_rule(rule_id):
    return AdviceRule.get_or_none(AdviceRule.id == rule_id)


def update_advice_rule(rule, text_zh, text_en):
    """Store an edited advice text, in both languages."""
    AdviceRule.update(text_zh=text_zh, text_en=text_en, updated_at=utcnow()).where(AdviceRule.id == rule.id).execute()


def demo_feed_url():
    """The embedded demo feed, served by this app (see weather/demo.py)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/weather/demo/feed.xml"


# ---------------------------------------------------------------- scheduled jobs


@scheduler.register("weather.poll", "interval", seconds=30)
def _poll_job(app):
    poll_due()


@scheduler.register("weather.expire", "interval", seconds=60)
def _expire_job(app):
    expire_due()
