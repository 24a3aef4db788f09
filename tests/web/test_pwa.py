"""The installable app: its manifest and icons, and the service worker served for the whole site."""
import json
import re
import shutil
from pathlib import Path

from PIL import Image

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def test_the_service_worker_is_served_from_the_root_for_every_page(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "no-cache" in response.headers["Cache-Control"]  # a new version is picked up on the next visit
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert b"addEventListener('fetch'" in response.data


def test_pages_link_the_manifest_and_load_the_offline_queue(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest" href="/static/manifest.webmanifest"' in page
    assert re.search(r'src="/static/offline.js\?v=[0-9a-f]{12}"', page)
    assert 'id="offline-queue"' not in page  # only signed-in pages have a queue


def test_the_manifest_makes_the_app_installable():
    manifest = json.loads((STATIC / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["name"] == "赣农溯源" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/dashboard" and manifest["scope"] == "/"
    sizes = set()
    for icon in manifest["icons"]:
        path = STATIC / icon["src"].removeprefix("/static/")
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
            sizes.add(image.width)
    assert {192, 512} <= sizes  # what Chromium asks of an installable app


def test_pages_and_the_worker_carry_the_shells_version(client):
    """Pages link the shell's files at the version the worker keeps; a conditional request for an unchanged
    worker is answered 304."""
    page = client.get("/login").get_data(as_text=True)
    versions = set(re.findall(r'/static/(?:app\.css|app\.js|offline\.js)\?v=([0-9a-f]+)"', page))
    worker = client.get("/sw.js")
    assert len(versions) == 1 and f"var VERSION = '{versions.pop()}';" in worker.get_data(as_text=True)
    assert client.get("/sw.js", headers={"If-None-Match": worker.headers["ETag"]}).status_code == 304
    assert client.get("/static/offline.js?v=anything").status_code == 200  # an old page's link still loads


def test_a_changed_script_changes_the_version_and_the_worker(tmp_path):
    """A release that changes offline.js (or app.css, app.js) gives phones a new worker, which replaces the
    kept shell: an old script never runs against new markup."""
    from web import pwa

    for name in (*pwa.SHELL, "sw.js"):
        shutil.copy(STATIC / name, tmp_path / name)
    before, worker_before = pwa.shell_version(str(tmp_path)), pwa.worker_source(str(tmp_path))
    assert before in worker_before and pwa.VERSION_LINE not in worker_before
    with open(tmp_path / "offline.js", "a", encoding="utf-8") as script:
        script.write("\n// the next release\n")
    after = pwa.shell_version(str(tmp_path))
    assert after != before and f"var VERSION = '{after}';" in pwa.worker_source(str(tmp_path))
