"""HTTP ingest of sensor readings (POST /api/v1/ingest with the device's bearer token) and the alarm
rules of a plot (list, add, the crop's defaults, change, pause and resume, delete)."""

from flask import current_app, g, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from farms import service as farms
from sensors import alarms, service
from sensors.forms import AlarmRuleForm, rule_values
from web.api import ApiError, api_blueprint, json_body, validated
from web.clock import from_utc_naive
from web.permissions import Access
from web.security import bearer_token

bp = api_blueprint("sensors_api", __name__, public=("ingest",))


@bp.post("/ingest")
def ingest():
    """A SenML pack (RFC 8428, application/senml+json) or a plain batch [{"metric", "ts", "value"}]."""
    device, credential = service.authenticate(bearer_token())
    if device is None:
        raise ApiError(401, "invalid_token", _("Send the device's token as 'Authorization: Bearer dv_...'; "
                                               "this one is unknown or revoked."))
    limit = current_app.config["INGEST_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", _("At most %(mb)d MB per request.", mb=limit // (1024 * 1024)))
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise ApiError(413, "too_large", _("At most %(mb)d MB per request.", mb=limit // (1024 * 1024)))
    try:
        body = current_app.json.loads(raw)  # refuses absurdly deep nesting as invalid
    except (ValueError, UnicodeDecodeError):
        service.reject_all(device, "body is not valid JSON")
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None
    try:
        items = service.parse_body(body, device)
    except Exception:
        service.reject_all(device, "body is neither a SenML pack nor a plain batch")
        raise
    result = service.ingest(device, credential, items)
    status = 422 if result.rejected and not result.accepted and not result.duplicates else 200
    return jsonify(result.as_dict()), status


# ---------------------------------------------------------------- alarm rules


def _lang():
    return "zh" if str(get_locale() or "zh").startswith("zh") else "en"


def rule_json(rule, alarming=False):
    lang = _lang()
    return {"id": rule.id, "plot_id": rule.plot_id, "metric": rule.metric,
            "metric_label": service.metric_label(rule.metric), "comparison": rule.comparison,
            "threshold": rule.threshold, "low": rule.low, "high": rule.high,
            "duration_minutes": rule.duration_seconds // 60, "duration_seconds": rule.duration_seconds,
            "hysteresis": rule.hysteresis, "severity": rule.severity, "enabled": bool(rule.enabled),
            "advice_zh": rule.advice_zh, "advice_en": rule.advice_en,
            "from_defaults": rule.origin is not None, "alarming": bool(alarming),
            "text": alarms.condition_text(rule, lang),
            "created_at": from_utc_naive(rule.created_at).isoformat()}


def rules_json(rules):
    up = alarms.alarming_rules(r.id for r in rules)
    return [rule_json(r, r.id in up) for r in rules]


def _rule_data(partial=False):
    """The body checked by the page's form; ``enabled`` left out of a new rule means active."""
    body = json_body()
    rule = rule_values(validated(AlarmRuleForm, body, partial=partial))
    if "enabled" not in body:
        rule.pop("enabled", None)
    return rule


@bp.get("/plots/<int:plot_id>/alarm-rules")
def list_alarm_rules(plot_id):
    plot = farms.get_plot(g.user, plot_id)
    rules = alarms.plot_rules(g.user, plot.id)
    return jsonify({"plot_id": plot.id, "items": rules_json(rules),
                    "can_edit": farms.access_to(g.user, plot.farm) >= Access.MANAGE,
                    "defaults_missing": len(alarms.missing_defaults(plot.id))})


@bp.post("/plots/<int:plot_id>/alarm-rules")
def create_alarm_rule(plot_id):
    farms.get_plot(g.user, plot_id, Access.MANAGE)
    rule = alarms.save_rule(g.user, plot_id, _rule_data())
    return jsonify(rules_json([rule])[0]), 201


@bp.post("/plots/<int:plot_id>/alarm-rules/defaults")
def add_default_alarm_rules(plot_id):
    added = alarms.add_defaults(g.user, plot_id)
    return jsonify({"added": len(added), "items": rules_json(added)}), 201 if added else 200


@bp.get("/alarm-rules/<int:rule_id>")
def get_alarm_rule(rule_id):
    rule, _plot = alarms.get_rule(g.user, rule_id)
    return jsonify(rules_json([rule])[0])


@bp.patch("/alarm-rules/<int:rule_id>")
def update_alarm_rule(rule_id):
    rule, plot = alarms.get_rule(g.user, rule_id, Access.MANAGE)
    rule = alarms.save_rule(g.user, plot.id, _rule_data(partial=True), rule_id=rule.id)
    return jsonify(rules_json([rule])[0])


@bp.delete("/alarm-rules/<int:rule_id>")
def delete_alarm_rule(rule_id):
    alarms.delete_rule(g.user, rule_id)
    return "", 204
