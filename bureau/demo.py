"""Demo: the bureau's tallies over the demo's farms, logs, batches and readings, so the demo's bureau
accounts (bureau_xinfeng, bureau_ganzhou, bureau_jiangxi) open on real figures. Runs last (bureau is last
in DOMAINS): it counts what the other domains' demos made."""
from bureau import service
from web.clock import to_utc_naive


def load(now, users, summary):
    report = service.refresh(now=to_utc_naive(now), rebuild=True, history_days=400)
    summary["bureau_tally_rows"] = report.rows
