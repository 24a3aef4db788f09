"""Public pages: the proof file behind a batch's QR code, for anyone to check with scripts/verify_proof.py."""
import json

from flask import Blueprint, Response, abort

from chain import service

bp = Blueprint("chain", __name__, template_folder="templates")


@bp.get("/proof/<code>.json")
def proof_file(code):
    batch = service.find_public_batch(code)
    if batch is None:
        abort(404)
    body = json.dumps(service.proof_document(batch), ensure_ascii=False, indent=1, default=str)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="proof-{batch.code}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
