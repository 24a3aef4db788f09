"""GET /api/v1/bureau/summary: a division's figures over a period, as JSON or CSV (UTF-8 with BOM)."""
from flask import Response, g, jsonify, request

from bureau import service
from web.api import ApiError, api_blueprint

bp = api_blueprint("bureau_api", __name__)

CSV_TYPE = "text/csv; charset=utf-8"
KNOWN = {"division", "from", "to", "period", "group_by", "format"}


def wants_csv():
    fmt = request.args.get("format")
    if fmt is not None:
        if fmt not in ("json", "csv"):
            raise ApiError(400, "bad_request", "unknown format", {"format": "json or csv"})
        return fmt == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]


def csv_response(text, filename):
    response = Response(text.encode("utf-8-sig"), content_type=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/bureau/summary")
def summary():
    unknown = sorted(set(request.args) - KNOWN)
    if unknown:
        raise ApiError(400, "bad_request", "unknown parameters", {name: "unknown parameter" for name in unknown})
    as_csv = wants_csv()
    try:
        period = service.period_from(request.args)
        result = service.summary(g.user, request.args.get("division"), period, request.args.get("group_by") or None)
    except service.BadParameter as e:
        raise ApiError(400, "bad_request", e.message, e.fields) from None
    if as_csv:
        name = f"summary-{result['division']['code']}-{result['from']}-{result['to']}.csv"
        return csv_response(service.to_csv(result), name)
    return jsonify(result)
