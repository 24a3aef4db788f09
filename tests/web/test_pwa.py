"""The installable app: its manifest and icons, and the service worker served for the whole site."""
import json
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
    assert 'src="/static/offline.js"' in page
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
