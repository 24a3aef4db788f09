"""Weather pages: warnings, the loudspeaker script, notification preferences, feeds, advice."""
import json

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from farms import service as farms
from weather import advice, demo, permissions, service
from weather.forms import CHANNEL_LABELS, LEVEL_LABELS, AdviceForm, FeedForm, PreferencesForm
from web.clock import as_utc, utcnow
from web.db import ValidationError
from web.clock import from_utc_naive
from web.forms import apply_errors
from web.permissions import roles_required
from web.security import login_required

bp = Blueprint("weather", __name__, template_folder="templates", url_prefix="/weather")

PUBLIC = {"weather.demo_feed", "weather.demo_cap"}
login_required(bp, public=PUBLIC)


@bp.app_context_processor
def _labels():
    # can_edit_advice: the account page links to the advice editor for those who may use it.
    return {"LEVEL_LABELS": LEVEL_LABELS, "CHANNEL_LABELS": CHANNEL_LABELS, "type_name": advice.type_name,
            "can_edit_advice": permissions.can_edit_advice(g.get("user"))}


# ---------------------------------------------------------------- the embedded demo feed (public)


@bp.get("/demo/feed.xml")
def demo_feed():
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return Response(demo.atom_index(base, _now()), mimetype="application/atom+xml")


@bp.get("/demo/cap/<slug>.xml")
def demo_cap(slug):
    if slug not in demo.SAMPLES:
        abort(404)
    return Response(demo.cap_xml(slug, _now()), mimetype="application/cap+xml")


def _now():
    return as_utc(utcnow())


# ---------------------------------------------------------------- warnings


def _info(document, locale):
    return service._info_in(document, str(locale)[:2])


@bp.get("/")
def warnings():
    active = service.active_warnings()
    rows = [(w, _info(json.loads(w.document), get_locale())) for w in active]
    touched = service.farms_touched(active, g.user)
    rows.sort(key=lambda row: row[0].id not in touched)  # the user's own first, each part newest first
    return render_template("weather/warnings.html", warnings=rows, touched=touched, local_time=from_utc_naive)


@bp.get("/warnings/<int:warning_id>")
def warning_page(warning_id):
    warning = service.get_warning(warning_id) or abort(404)
    document = json.loads(warning.document)
    return render_template("weather/warning.html", warning=warning, info=_info(document, get_locale()),
                           script=service.broadcast_text(warning), problems=service.warning_problems(warning),
                           local_time=from_utc_naive)


@bp.get("/warnings/<int:warning_id>/broadcast.txt")
def broadcast(warning_id):
    warning = service.get_warning(warning_id) or abort(404)
    response = Response(service.broadcast_text(warning) + "\n", mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="broadcast-{warning.id}.txt"'
    return response


# ---------------------------------------------------------------- notification preferences


@bp.route("/preferences", methods=["GET", "POST"])
def preferences():
    current = farms.notification_preferences(g.user)
    form = PreferencesForm(data={
        "channels": (current.channels or "in_app").split(","), "min_level": current.min_level,
        "quiet_start": current.quiet_start, "quiet_end": current.quiet_end, "webhook_url": current.webhook_url,
        "wecom_url": current.wecom_url, "dingtalk_url": current.dingtalk_url, "phone": current.phone})
    if form.validate_on_submit():
        try:
            farms.save_notification_preferences(g.user, {key: value for key, value in form.data.items()
                                             if key not in ("csrf_token", "submit")})
        except ValidationError as e:
            apply_errors(form, e)
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("weather.preferences"))
    return render_template("weather/preferences.html", form=form), 422 if form.errors else 200


# ---------------------------------------------------------------- feeds (administrators)


@bp.route("/feeds", methods=["GET", "POST"])
@roles_required("admin")
def feeds():
    form = FeedForm()
    if form.validate_on_submit():
        try:
            feed = service.add_feed(form.name.data, form.url.data, form.format.data, form.interval_seconds.data)
            service.set_feed_enabled(feed, form.enabled.data)
        except ValidationError as e:
            apply_errors(form, e)
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("weather.feeds"))
    return render_template("weather/feeds.html", form=form, feeds=service.feeds(),
                           feed_problems=service.feed_problems, local_time=from_utc_naive,
                           feed_refused=service.feed_refused), 422 if form.errors else 200


@bp.post("/feeds/<int:feed_id>/poll")
@roles_required("admin")
def poll(feed_id):
    feed = service.get_feed(feed_id) or abort(404)
    result = service.poll_feed(feed, utcnow())
    if result["error"]:
        flash(_("The feed failed: %(error)s", error=result["error"]), "error")
    else:
        flash(_("%(n)d new warning(s).", n=result["new"]), "info")
    return redirect(url_for("weather.feeds"))


@bp.post("/feeds/<int:feed_id>/toggle")
@roles_required("admin")
def toggle(feed_id):
    feed = service.get_feed(feed_id) or abort(404)
    service.set_feed_enabled(feed, not feed.enabled)
    return redirect(url_for("weather.feeds"))


# ---------------------------------------------------------------- advice (bureaus and administrators)


def _advice_editor():
    if not permissions.can_edit_advice(g.user):
        abort(403)


@bp.get("/advice")
def advice_rules():
    _advice_editor()
    event_type = request.args.get("type") or "frost"
    if event_type not in advice.EVENT_TYPES + ("*",):
        abort(404)
    rules = service.advice_rules(event_type)
    return render_template("weather/advice.html", rules=rules, event_type=event_type, types=advice.EVENT_TYPES,
                           crop_label=_crop_labels())


@bp.route("/advice/<int:rule_id>", methods=["GET", "POST"])
def advice_edit(rule_id):
    _advice_editor()
    rule = service.get_advice_rule(rule_id) or abort(404)
    form = AdviceForm(obj=rule)
    if form.validate_on_submit():
        service.update_advice_rule(rule, form.text_zh.data.strip(), form.text_en.data.strip())
        flash(_("Saved."), "info")
        return redirect(url_for("weather.advice_rules", type=rule.event_type))
    return render_template("weather/advice_edit.html", form=form, rule=rule,
                           crop_label=_crop_labels()), 422 if form.errors else 200


# What an advice row's crop column holds, besides crop codes: "*", categories and kinds of farming.
ADVICE_GROUP_LABELS = {"*": _l("All crops"), "greenhouse": _l("Greenhouses"), "livestock": _l("Livestock"),
                       "fruit": _l("Fruit"), "vegetable": _l("Vegetables"), "tea": _l("Tea"),
                       "aquatic": _l("Fish and crabs"), "grain": _l("Grain"), "oil": _l("Oil crops")}


def _crop_labels():
    """crop column value -> the name a person reads (a crop's name, a group's label, else the code)."""
    english = str(get_locale()).startswith("en")
    names = {c.code: (c.name_en if english else c.name_zh) for c in farms.crops()}
    labels = {**{k: str(v) for k, v in ADVICE_GROUP_LABELS.items()}, **names}
    return lambda code: labels.get(code, code)
