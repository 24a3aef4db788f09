"""Attachments: who may upload, what may be attached, and how much each organisation may keep.

The files are made here with the traits of what phones and labs send: a camera JPEG (Pillow, with a
JFIF header), a PNG screenshot, a WebP photo as WeChat saves them, a lab report PDF; and what must not
be stored: an HTML page and a Windows program renamed to .pdf, an SVG (script inside), a ZIP archive."""
import io

import pytest
from PIL import Image

from tests.helpers import bearer
from trace.models import Attachment

PREFIX = "/api/v1"


def image(kind, size=(64, 48), seed=0):
    buffer = io.BytesIO()
    Image.new("RGB", size, (seed % 256, 120, 60)).save(buffer, kind)
    return buffer.getvalue()


def pdf(text="检测报告"):
    return ("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + text + "\n%%EOF\n").encode()


def upload(client, user, data, filename, media_type):
    return client.post(f"{PREFIX}/attachments", headers=bearer(user),
                       data={"file": (io.BytesIO(data), filename, media_type)}, content_type="multipart/form-data")


@pytest.mark.parametrize("who", ["bureau_county", "bureau_province", "stranger"])
def test_only_those_who_record_events_upload(app, client, world, who):
    """Bureaus only read; a farmer in no organisation and on no farm records nothing."""
    response = upload(client, getattr(world, who), pdf(), "report.pdf", "application/pdf")
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"
    assert Attachment.select().count() == 0


@pytest.mark.parametrize("who", ["farmer_a", "worker_a", "operator", "inspector", "admin"])
def test_those_who_record_events_upload(app, client, world, who):
    response = upload(client, getattr(world, who), pdf(who), "report.pdf", "application/pdf")
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("data, filename, claimed, stored", [
    (image("JPEG"), "IMG_20261104_091522.jpg", "image/jpeg", "image/jpeg"),
    (image("PNG"), "Screenshot_2026-11-04.png", "image/png", "image/png"),
    (image("WEBP"), "mmexport1730700000000.webp", "application/octet-stream", "image/webp"),  # WeChat's save
    (pdf(), "检测报告.pdf", "application/pdf", "application/pdf"),
])
def test_photos_and_pdfs_are_kept_as_what_they_are(app, client, world, data, filename, claimed, stored):
    response = upload(client, world.inspector, data, filename, claimed)
    assert response.status_code == 201 and response.json["media_type"] == stored


@pytest.mark.parametrize("data, filename, claimed", [
    (b"<!doctype html><html><script>alert(1)</script></html>", "report.pdf", "application/pdf"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, "report.pdf", "application/pdf"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "photo.svg", "image/svg+xml"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 40, "photos.zip", "application/zip"),
    (b"plain words", "notes.txt", "text/plain"),
])
def test_other_files_are_refused_by_their_content(app, client, world, data, filename, claimed):
    response = upload(client, world.inspector, data, filename, claimed)
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"file"}
    assert Attachment.select().count() == 0


def test_each_organisation_has_its_quota(app, client, world):
    photo, second, third = (image("PNG", (32, 32), seed) for seed in (1, 2, 3))
    app.config["ATTACHMENT_QUOTA_BYTES"] = len(photo) + len(second) + len(third) // 2
    assert upload(client, world.farmer_a, photo, "a.png", "image/png").status_code == 201
    assert upload(client, world.operator, second, "b.png", "image/png").status_code == 201  # the same cooperative
    full = upload(client, world.farmer_a, third, "c.png", "image/png")
    assert full.status_code == 422 and set(full.json["error"]["fields"]) == {"file"}
    assert Attachment.select().count() == 2
    # The same file again costs nothing; another organisation has its own room.
    assert upload(client, world.operator, photo, "a-again.png", "image/png").status_code == 201
    assert upload(client, world.farmer_b, third, "c.png", "image/png").status_code == 201
    assert Attachment.select().count() == 3


def test_the_quota_message_says_how_much_is_used(app, client, world):
    app.config["ATTACHMENT_QUOTA_BYTES"] = 1024 * 1024
    big = pdf("x" * 700_000)
    assert upload(client, world.inspector, big, "a.pdf", "application/pdf").status_code == 201
    response = client.post(f"{PREFIX}/attachments", headers=dict(bearer(world.inspector), **{"Accept-Language": "en"}),
                           data={"file": (io.BytesIO(pdf("y" * 700_000)), "b.pdf", "application/pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.json["error"]["message"] == (
        "Your organisation's attachment storage is full: 0.7 MB of 1.0 MB used, and this file needs 0.7 MB. "
        "Ask the administrator for more room.")


def test_an_event_may_cite_a_photo_of_the_farm_log(app, client, journey, world):
    """The photo of an observation stays in the farm log; a journey event names it by its SHA-256, for
    those who may see the log (the farm's people, its cooperative), and for no one else."""
    import json
    import uuid

    from tests.farms.test_photos import camera_jpeg

    body = {"kind": "observation", "timestamp": journey.at(3).strftime("%Y-%m-%dT%H:%M"),
            "plots": [world.plot_a.id], "notes": "采前果面照片", "client_id": str(uuid.uuid4())}
    log = client.post(f"{PREFIX}/farms/{world.farm_a.id}/logs", headers=bearer(world.farmer_a),
                      data={"log": json.dumps(body), "photo": (io.BytesIO(camera_jpeg(size=(800, 600))), "a.jpg")},
                      content_type="multipart/form-data")
    assert log.status_code == 201, log.json
    sha = log.json["photos"][0]["sha256"]
    batch = client.post(f"{PREFIX}/batches", headers=bearer(world.farmer_a), json={"harvest_log": journey.harvest.id})
    assert batch.status_code == 201, batch.json
    stored = client.post(f"{PREFIX}/batches/{batch.json['id']}/events", headers=bearer(world.operator), json={
        "biz_step": "storing", "event_time": journey.at(2).isoformat(), "attachments": [sha]})
    assert stored.status_code == 201, stored.json
    [cited] = [value for key, value in stored.json["document"].items() if key.endswith(":attachments")][0]
    assert (cited["sha256"], cited["mediaType"], cited["size"]) == (sha, "image/jpeg", log.json["photos"][0]["size"])
    assert Attachment.select().count() == 0  # not copied out of the farm log
    # Someone who cannot see farm A's log cannot cite its photo: to them it is unknown.
    from farms import service

    with app.test_request_context():
        assert service.photo_attachment(world.farmer_b, sha) is None
        assert service.photo_attachment(world.stranger, sha) is None
        assert service.photo_attachment(world.operator, sha)["sha256"] == sha
