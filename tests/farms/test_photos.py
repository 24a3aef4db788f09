"""Photos on observation and input logs (issue 13, in the field): sent with the log as multipart parts,
kept once by their SHA-256, stripped of where they were taken unless the farmer keeps it, refused when
they are not photos, and shown only to those who may see the farm's logs.

The photos are made as a phone's camera makes them: a JPEG of 3000 x 2000 with an EXIF GPS IFD (a plot in
信丰县), turned by its EXIF orientation or not; a PNG screenshot with an eXIf chunk."""
import hashlib
import io
import json
import re
import uuid

import pytest
from PIL import Image

from farms.models import Log, LogPhoto, Photo
from tests.farms.test_api import api, assert_error  # noqa: F401 (the api fixture)
from tests.farms.test_offline_api import now, observation
from tests.helpers import bearer, form_fields, login

# 25°23'24.6"N 114°55'20.4"E, an orchard of 信丰县
LATITUDE, LONGITUDE = 25 + 23 / 60 + 24.6 / 3600, 114 + 55 / 60 + 20.4 / 3600


def camera_jpeg(size=(3000, 2000), gps=True, orientation=None, colour=(200, 120, 40)):
    """A JPEG as a phone camera writes it: EXIF with make, model and (unless told not) a GPS IFD."""
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 97):  # some content, so that it is not one flat colour
        image.paste((x % 255, 90, 160), (x, 0, x + 20, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "Redmi Note 12"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x8825] = {1: "N", 2: (25.0, 23.0, 24.6), 3: "E", 4: (114.0, 55.0, 20.4), 0: b"\x02\x02\x00\x00"}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def png_with_gps():
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (25.0, 23.0, 24.6), 3: "E", 4: (114.0, 55.0, 20.4)}
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 160, 60)).save(out, "PNG", exif=exif)
    return out.getvalue()


def gps_in(data):
    return dict(Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825))


def send(client, user, farm, body, photos, **extra):
    """POST a log with its photos as the phone's queue does: multipart, the log as JSON in ``log``."""
    body = dict(body, **extra)
    parts = {"log": json.dumps(body), "photo": [(io.BytesIO(data), f"IMG_{i}.jpg") for i, data in enumerate(photos)]}
    return client.post(f"/api/v1/farms/{farm.id}/logs", data=parts, content_type="multipart/form-data",
                       headers=bearer(user))


def fetch(client, user, url):
    return client.get(url, headers=bearer(user))


def test_a_photo_is_kept_without_its_location(app, client, world):
    original = camera_jpeg()
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [original])
    assert response.status_code == 201, response.json
    [photo] = response.json["photos"]
    assert (photo["media_type"], photo["width"], photo["height"], photo["location"]) == \
        ("image/jpeg", 3000, 2000, None)
    stored = fetch(client, world.farmer_a, photo["url"])
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    assert hashlib.sha256(stored.data).hexdigest() == photo["sha256"] and len(stored.data) == photo["size"]
    assert gps_in(original) and not gps_in(stored.data)
    assert b"Xiaomi" not in stored.data  # the whole EXIF goes, not only its GPS
    # Not re-encoded: the picture is the camera's, pixel for pixel.
    assert Image.open(io.BytesIO(stored.data)).tobytes() == Image.open(io.BytesIO(original)).tobytes()
    thumbnail = fetch(client, world.farmer_a, photo["thumbnail_url"])
    assert thumbnail.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(thumbnail.data)).size) <= 320
    # The log lists it too.
    listed = client.get(f"/api/v1/logs/{response.json['id']}", headers=bearer(world.farmer_a)).json
    assert listed["photos"] == response.json["photos"]


def test_pictures_appended_after_the_photo_go_too(app, client, world):
    """Multi-picture files (a second image after the first one's end, as some phones write a depth map
    or a preview) carry EXIF of their own: nothing after the photo's end is kept."""
    original = camera_jpeg(size=(640, 480), gps=False) + camera_jpeg(size=(64, 48))
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [original])
    assert response.status_code == 201, response.json
    stored = fetch(client, world.farmer_a, response.json["photos"][0]["url"]).data
    assert b"Exif" not in stored and stored.endswith(b"\xff\xd9") and stored.count(b"\xff\xd8") == 1
    assert Image.open(io.BytesIO(stored)).size == (640, 480)


def test_a_turned_photo_keeps_only_its_orientation(app, client, world):
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()),
                    [camera_jpeg(orientation=6)])
    [photo] = response.json["photos"]
    assert (photo["width"], photo["height"]) == (2000, 3000)  # as it is shown
    stored = fetch(client, world.farmer_a, photo["url"]).data
    exif = Image.open(io.BytesIO(stored)).getexif()
    assert dict(exif) == {0x0112: 6} and not gps_in(stored)


def test_a_png_with_gps_loses_it(app, client, world):
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [png_with_gps()])
    assert response.status_code == 201, response.json
    [photo] = response.json["photos"]
    stored = fetch(client, world.farmer_a, photo["url"])
    assert stored.mimetype == "image/png" and not gps_in(stored.data)


def test_the_location_is_kept_when_the_farmer_says_so(app, client, world):
    # As the phone sends it: the coordinates read from the original's EXIF, beside a photo without EXIF.
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()),
                    [camera_jpeg(gps=False)], keep_photo_location=True,
                    photo_locations=[{"latitude": 25.390167, "longitude": 114.922333}])
    assert response.status_code == 201, response.json
    assert response.json["photos"][0]["location"] == {"latitude": 25.390167, "longitude": 114.922333}
    # A camera original sent straight to the API: the place is read from its EXIF, which it keeps.
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4(), notes="原图"),
                    [camera_jpeg()], keep_photo_location=True)
    location = response.json["photos"][0]["location"]
    assert location == {"latitude": pytest.approx(LATITUDE), "longitude": pytest.approx(LONGITUDE)}
    assert gps_in(fetch(client, world.farmer_a, response.json["photos"][0]["url"]).data)
    # The log page shows where it was taken.
    login(client, "farmer_a")
    page = client.get(f"/logs/{response.json['id']}").get_data(as_text=True)
    assert "25.39017, 114.92233" in page


def test_coordinates_without_keeping_the_location_are_not_kept(app, client, world):
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg()],
                    photo_locations=[{"latitude": 25.39, "longitude": 114.92}])
    assert response.status_code == 201 and response.json["photos"][0]["location"] is None
    assert LogPhoto.get().latitude is None


def test_the_same_photo_is_stored_once(app, client, world):
    photo = camera_jpeg()
    first = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4(), notes="一"), [photo, photo])
    second = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4(), notes="二"), [photo])
    assert first.status_code == 201 and second.status_code == 201
    assert len(first.json["photos"]) == 1  # twice on one log is once
    assert first.json["photos"][0]["sha256"] == second.json["photos"][0]["sha256"]
    assert Photo.select().count() == 1 and LogPhoto.select().count() == 2


def test_an_entry_with_photos_sent_twice_is_stored_once(app, client, world):
    key = uuid.uuid4()
    body = observation(world, key)
    photos = [camera_jpeg(), camera_jpeg(colour=(10, 200, 30))]
    first = send(client, world.farmer_a, world.farm_a, body, photos)
    again = send(client, world.farmer_a, world.farm_a, body, photos)
    assert (first.status_code, again.status_code) == (201, 200), again.json
    assert again.json == first.json
    assert Log.select().where(Log.client_id == key).count() == 1
    assert Photo.select().count() == 2 and LogPhoto.select().count() == 2
    # Other photos under the same key are another entry.
    other = send(client, world.farmer_a, world.farm_a, body, [camera_jpeg(colour=(0, 0, 255))])
    assert_error(other, 409, "conflict", ["client_id"])
    assert Photo.select().count() == 2


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b"MZ\x90\x00" + b"\x00" * 64,
    camera_jpeg(size=(300, 200))[:400],  # cut off in the middle
    b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    b"",
])
def test_what_is_not_a_photo_is_refused(app, client, world, data):
    before = Log.select().count()
    response = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg(), data])
    assert_error(response, 422, "invalid", ["photos[1]"])
    assert Log.select().count() == before and Photo.select().count() == 0


def test_limits(app, client, world):
    too_large = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)
    assert_error(send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [too_large]),
                 422, "invalid", ["photos[0]"])
    seven = [camera_jpeg(size=(64, 48), colour=(i, 0, 0)) for i in range(7)]
    assert_error(send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), seven),
                 422, "invalid", ["photos"])
    harvest = {"kind": "harvest", "timestamp": now().strftime("%Y-%m-%dT%H:%M"), "plots": [world.plot_a.id],
               "quantity": 10, "unit": "kg"}
    assert_error(send(client, world.farmer_a, world.farm_a, harvest, [camera_jpeg(size=(64, 48))]),
                 422, "invalid", ["photos"])
    bad_place = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg()],
                     keep_photo_location=True, photo_locations=[{"latitude": 95, "longitude": "east"}])
    assert_error(bad_place, 422, "invalid", ["photos[0].latitude", "photos[0].longitude"])
    assert_error(send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg()],
                      photo_locations=[]), 422, "invalid", ["photo_locations"])
    no_log = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", data={"photo": (io.BytesIO(b"x"), "a.jpg")},
                         content_type="multipart/form-data", headers=bearer(world.farmer_a))
    assert_error(no_log, 400, "bad_request")
    for raw, status in (("{not json", 400), ("[1, 2]", 400), ("null", 400),
                        (json.dumps(dict(observation(world, uuid.uuid4()), plots=[10 ** 30])), 422)):
        response = client.post(f"/api/v1/farms/{world.farm_a.id}/logs", headers=bearer(world.farmer_a),
                               data={"log": raw, "photo": (io.BytesIO(camera_jpeg(size=(64, 48))), "a.jpg")},
                               content_type="multipart/form-data")
        assert_error(response, status, "bad_request" if status == 400 else "invalid")
    assert Log.select().where(Log.notes == observation(world, None)["notes"]).count() == 0


def test_the_organisation_quota_counts_photos(app, client, world):
    big = camera_jpeg()
    app.config["ATTACHMENT_QUOTA_BYTES"] = len(big) + 1000  # room for one camera photo
    assert send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [big]).status_code == 201
    # The same photo again needs no room; another one does not fit.
    assert send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4(), notes="又"),
                [big]).status_code == 201
    full = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4(), notes="满"),
                [camera_jpeg(colour=(1, 2, 3))])
    assert_error(full, 422, "invalid", ["photos"])
    assert "MB" in full.json["error"]["message"]


@pytest.mark.parametrize("who, allowed", [("farmer_a", True), ("worker_a", True), ("bureau_county", True),
                                          ("farmer_b", False), ("stranger", False), ("bureau_fuzhou", False)])
def test_only_those_who_see_the_farms_logs_see_its_photos(app, client, world, who, allowed):
    user = getattr(world, "bureau_other_city" if who == "bureau_fuzhou" else who)
    created = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg()]).json
    photo = created["photos"][0]
    for url in (photo["url"], photo["thumbnail_url"]):
        response = fetch(client, user, url)
        assert response.status_code == (200 if allowed else 404) or (not allowed and response.status_code == 403)
        assert (response.mimetype == "image/jpeg") == allowed
    # The page route too, signed in.
    login(client, user.username)
    page = client.get(f"/logs/{created['id']}/photos/{photo['sha256']}?size=thumbnail")
    assert page.status_code == 200 if allowed else page.status_code in (403, 404)
    # A photo of farm A cannot be reached through a log of farm B (nor an unknown name).
    response = fetch(client, world.farmer_b, f"/api/v1/logs/{world.log_b.id}/photos/{photo['sha256']}")
    assert response.status_code == 404
    response = fetch(client, world.farmer_a, f"/api/v1/logs/{created['id']}/photos/{'0' * 64}")
    assert response.status_code == 404


def test_another_farms_user_cannot_add_photos(app, client, world):
    response = send(client, world.farmer_b, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg()])
    assert response.status_code in (403, 404)
    assert Photo.select().count() == 0


def test_the_page_form_takes_photos_without_the_script(app, client, world):
    """A phone without the page's script (or an old copy of it) posts the form with the camera's files:
    they are kept as sent, without GPS unless the box is ticked; the log and plot pages show them."""
    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=observation"
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'<input[^>]*accept="image/\*"[^>]*capture="environment"[^>]*multiple', html) or \
        re.search(r'<input[^>]*multiple[^>]*accept="image/\*"[^>]*capture="environment"', html) or \
        all(attr in re.search(r'<input[^>]*name="photos"[^>]*>', html).group(0)
            for attr in ('type="file"', 'accept="image/*"', 'capture="environment"', "multiple"))
    assert 'enctype="multipart/form-data"' in html and 'name="keep_location"' in html
    data = form_fields(html)
    data.pop("keep_location", None)
    data.update(notes="树冠东侧发现红蜘蛛", photos=[(io.BytesIO(camera_jpeg()), "IMG_0001.jpg"),
                                           (io.BytesIO(camera_jpeg(colour=(9, 9, 9))), "IMG_0002.jpg")])
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    log = Log.get(Log.notes == "树冠东侧发现红蜘蛛")
    links = list(LogPhoto.select().where(LogPhoto.log == log.id))
    assert len(links) == 2
    for link in links:
        assert not gps_in(bytes(link.photo.data)) and link.latitude is None
    page = client.get(f"/logs/{log.id}").get_data(as_text=True)
    thumbs = re.findall(r'<img src="(/logs/%d/photos/[0-9a-f]{64}\?size=thumbnail)"' % log.id, page)
    assert len(thumbs) == 2
    shown = client.get(thumbs[0])
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    plot_page = client.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    assert all(t in plot_page for t in thumbs)
    history = client.get(f"/logs/?farm={world.farm_a.id}").get_data(as_text=True)
    assert thumbs[0] in history


def test_the_page_form_refuses_a_file_that_is_not_a_photo(app, client, world):
    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=input"
    data = form_fields(client.get(url).get_data(as_text=True))
    data.pop("keep_location", None)
    from farms.models import InputProduct

    data.update(input_product=str(InputProduct.get(InputProduct.code == "imidacloprid_10wp").id), dose="15",
                photos=[(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "report.pdf")])
    before = Log.select().count()
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "JPEG" in response.get_data(as_text=True)
    assert Log.select().count() == before


def test_a_correction_keeps_the_photos(app, client, world):
    created = send(client, world.farmer_a, world.farm_a, observation(world, uuid.uuid4()), [camera_jpeg()]).json
    corrected = client.post(f"/api/v1/logs/{created['id']}/correct", json={"reason": "写错了", "notes": "改正"},
                            headers=bearer(world.farmer_a))
    assert corrected.status_code == 201, corrected.json
    assert [p["sha256"] for p in corrected.json["photos"]] == [p["sha256"] for p in created["photos"]]
    assert Photo.select().count() == 1
