"""Scheduled jobs: the anchoring run (outbox -> roots -> chain -> confirmations) and reconciliation."""
import logging

from chain import service
from web import scheduler
from web.settings import setting

log = logging.getLogger(__name__)


@scheduler.register("chain.anchor", "interval", seconds=setting("CHAIN_ANCHOR_SECONDS"))
def anchor_job(app):
    report = service.anchor_pending()
    if report.error:
        log.warning("anchoring waits: %s", report.error)
    elif report.rooted or report.anchored or report.confirmed:
        log.info("anchoring: %s", report)


@scheduler.register("chain.reconcile", "interval", seconds=setting("CHAIN_RECONCILE_SECONDS"))
def reconcile_job(app):
    result = service.reconcile()
    if result["lost"]:
        log.warning("reconciliation: %(lost)d of %(checked)d roots were lost by the node and are anchored again",
                    result)
