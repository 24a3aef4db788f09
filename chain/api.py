"""JSON API: a batch's verification, event by event, and its proof file (documented in chain/openapi.yaml)."""
from flask import g, jsonify

from chain import service
from web.api import api_blueprint

bp = api_blueprint("chain_api", __name__)


@bp.get("/batches/<int:batch_id>/verification")
def verification(batch_id):
    batch = service.get_batch(g.user, batch_id)
    return jsonify(service.verify_report(batch))


@bp.get("/batches/<int:batch_id>/proof")
def proof(batch_id):
    batch = service.get_batch(g.user, batch_id)
    return jsonify(service.proof_document(batch))
