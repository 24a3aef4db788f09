"""The refresh job: the bureau's tallies follow the other domains' figures."""
import logging

from bureau import service
from web import scheduler
from web.settings import setting

log = logging.getLogger(__name__)


@scheduler.register("bureau.refresh", "interval", seconds=setting("BUREAU_REFRESH_SECONDS"))
def refresh_job(app):
    report = service.refresh()
    log.info("bureau tallies: %d day(s) recomputed, %d row(s)", report.days, report.rows)
