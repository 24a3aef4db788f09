"""The installable app: the service worker, served from the site's root so that its scope is every page
(web/static/sw.js; the page script web/static/offline.js registers it and keeps the offline queue)."""
import datetime as dt

from flask import current_app, send_from_directory

from web.clock import local_zone


def init_app(app):
    @app.context_processor
    def _utc_offset():
        # The page's scripts write and show times in the app's zone, whatever the phone's own.
        return {"utc_offset": int(dt.datetime.now(local_zone()).utcoffset().total_seconds() // 60)}

    @app.get("/sw.js")
    def service_worker():
        response = send_from_directory(current_app.static_folder, "sw.js", mimetype="text/javascript",
                                       max_age=0)
        # A new worker is picked up on the next visit, not after a cache lifetime.
        response.headers["Cache-Control"] = "no-cache"
        return response
