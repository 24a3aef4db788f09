"""The installable app: the service worker, served from the site's root so that its scope is every page
(web/static/sw.js; the page script web/static/offline.js registers it and keeps the offline queue).

The app shell (SHELL: the page's stylesheet and scripts) carries a version, a digest of those files: pages link
``/static/offline.js?v=<version>`` and the worker is served with the same version written into it. A new release
therefore changes the worker's bytes, the phone installs it and keeps the new shell in place of the old, and a page
never runs an old script against new markup (an old offline.js would queue a log without its photos)."""
import datetime as dt
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, request

from web.clock import local_zone

SHELL = ("app.css", "app.js", "offline.js")
VERSION_LINE = "var VERSION = 'dev';"


def _stamp(static_folder, names):
    """What the files are now (their modification times): an edited file is read again."""
    return tuple((Path(static_folder) / name).stat().st_mtime_ns for name in names)


def shell_version(static_folder):
    return _shell_version(static_folder, _stamp(static_folder, SHELL))


@lru_cache(maxsize=8)
def _shell_version(static_folder, _stamp):
    digest = hashlib.sha256()
    for name in SHELL:
        digest.update((Path(static_folder) / name).read_bytes())
    return digest.hexdigest()[:12]


def worker_source(static_folder):
    """sw.js with the shell's version written in."""
    return _worker(static_folder, shell_version(static_folder), _stamp(static_folder, ["sw.js"]))[0]


@lru_cache(maxsize=8)
def _worker(static_folder, version, _stamp):
    """(source, ETag) of sw.js at ``version``."""
    source = (Path(static_folder) / "sw.js").read_text(encoding="utf-8")
    if VERSION_LINE not in source:
        raise RuntimeError(f"web/static/sw.js must hold the line {VERSION_LINE!r}")
    source = source.replace(VERSION_LINE, f"var VERSION = '{version}';")
    return source, hashlib.sha256(source.encode()).hexdigest()[:16]


def init_app(app):
    @app.context_processor
    def _utc_offset():
        # The page's scripts write and show times in the app's zone, whatever the phone's own.
        return {"utc_offset": int(dt.datetime.now(local_zone()).utcoffset().total_seconds() // 60)}

    @app.url_defaults
    def _versioned_shell(endpoint, values):
        if endpoint == "static" and values.get("filename") in SHELL:
            values.setdefault("v", shell_version(current_app.static_folder))

    @app.get("/sw.js")
    def service_worker():
        folder = current_app.static_folder
        source, etag = _worker(folder, shell_version(folder), _stamp(folder, ["sw.js"]))
        response = current_app.response_class(source, mimetype="text/javascript")
        # A new worker is picked up on the next visit, not after a cache lifetime.
        response.headers["Cache-Control"] = "no-cache"
        response.set_etag(etag)
        return response.make_conditional(request)
