"""Photos taken in the field, in a real Chromium (issue 13): with no signal the farmer enters an observation
with a camera photo (a 3000 x 2000 JPEG whose EXIF says where it was taken); the photo is shrunk on the
phone and kept with the entry in IndexedDB, also across a reload; when the signal returns the log is
stored once, with a JPEG of at most 1600 px and no location in it. Ticking "keep the photo's location"
sends the place read from the original's EXIF beside the shrunk photo."""
import io

import pytest

from tests.farms.test_offline_browser import (backend, offline, server, settled, sign_in_and_open_the_log_form,  # noqa: F401
                                              stored, tap, wait, waiting)
from tests.farms.test_photos import LATITUDE, LONGITUDE, camera_jpeg, gps_in
from tests.helpers import ARTIFACTS

pytestmark = pytest.mark.browser


def queued_photos(driver):
    """How many photos the queue panel shows, drawn from the blobs kept on the phone."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#offline-queue .queue li.with-photos .thumbs img')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length")


def fill(driver, notes, photo_path, keep_location=False):
    from selenium.webdriver.common.by import By

    details = driver.find_element(By.CSS_SELECTOR, "#log-form details")
    if not details.get_attribute("open"):
        details.find_element(By.TAG_NAME, "summary").click()
    box = driver.find_element(By.NAME, "notes")
    box.clear()
    box.send_keys(notes)
    driver.find_element(By.CSS_SELECTOR, "#log-form input[type=file][name=photos]").send_keys(str(photo_path))
    # Shrunk on the phone and shown small under the field.
    wait(driver, lambda d: d.execute_script(
        "const img = document.querySelector('#photo-preview img'); return img && img.complete && img.naturalWidth"))
    if keep_location:
        tap(driver, driver.find_element(By.NAME, "keep_location"))


def the_photos_of(app, notes):
    from farms.models import Log, LogPhoto, Photo

    with app.app_context():
        logs = list(Log.select().where(Log.notes == notes))
        links = list(LogPhoto.select(LogPhoto, Photo).join(Photo).where(LogPhoto.log.in_([log.id for log in logs])))
        return logs, [(bytes(link.photo.data), link.photo.media_type, link.latitude, link.longitude)
                      for link in links]


def test_a_photo_entered_offline_arrives_small_and_without_its_location(app, server, phone, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    origin, seen = server
    original = camera_jpeg()
    assert gps_in(original) and Image.open(io.BytesIO(original)).size == (3000, 2000)
    path = tmp_path / "IMG_20261206_091522.jpg"
    path.write_bytes(original)
    notes = "离线拍照：东坡3号树红蜘蛛"

    sign_in_and_open_the_log_form(app, phone, origin)
    settled(seen)
    offline(phone, True)
    fill(phone, notes, path)
    phone.find_element(By.CSS_SELECTOR, "#log-form input[type=submit]").click()
    wait(phone, lambda d: waiting(d) == 1)
    wait(phone, lambda d: queued_photos(d) == 1)  # the queue shows the entry with its photo
    assert "1 张照片" in phone.find_element(By.ID, "offline-queue").text
    # Kept on the phone, shrunk: the blob in IndexedDB is a JPEG of at most 1600 px.
    kept = phone.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const open = indexedDB.open('gannong-offline', 1);
        open.onsuccess = () => {
          const all = open.result.transaction('entries').objectStore('entries').getAll();
          all.onsuccess = () => {
            const photo = all.result[0].photos[0];
            done([photo.blob.type, photo.width, photo.height, photo.blob.size]);
          };
        };""")
    assert kept[0] == "image/jpeg" and max(kept[1], kept[2]) == 1600 and kept[3] < len(original)

    # Reloaded without a connection: the entry and its photo are still there.
    phone.refresh()
    wait(phone, lambda d: waiting(d) == 1 and queued_photos(d) == 1)
    assert the_photos_of(app, notes) == ([], [])
    ARTIFACTS.mkdir(exist_ok=True)
    phone.execute_script("window.scrollTo(0, 0)")
    phone.save_screenshot(str(ARTIFACTS / "offline-queue-photo.png"))

    offline(phone, False)
    wait(phone, lambda d: waiting(d) == 0)
    logs, photos = the_photos_of(app, notes)
    assert len(logs) == 1 and len(photos) == 1
    data, media_type, latitude, longitude = photos[0]
    image = Image.open(io.BytesIO(data))
    assert media_type == "image/jpeg" and image.format == "JPEG"
    assert max(image.size) <= 1600 and image.size == (1600, 1067)
    assert not gps_in(data) and not image.getexif() and (latitude, longitude) == (None, None)
    assert seen["log_posts"] == [201]
    # A later page load sends nothing again.
    phone.refresh()
    wait(phone, lambda d: waiting(d) == 0)
    assert len(the_photos_of(app, notes)[0]) == 1 and seen["log_posts"] == [201]


def test_the_farmer_keeps_where_the_photo_was_taken(app, server, phone, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    origin, seen = server
    path = tmp_path / "IMG_20261206_101010.jpg"
    path.write_bytes(camera_jpeg())
    notes = "留位置：北坡溃疡病斑"
    form_url = sign_in_and_open_the_log_form(app, phone, origin)
    fill(phone, notes, path, keep_location=True)
    ARTIFACTS.mkdir(exist_ok=True)
    phone.execute_script("document.querySelector('#log-form').closest('section').scrollIntoView()")
    phone.save_screenshot(str(ARTIFACTS / "log-form-photo.png"))
    phone.find_element(By.CSS_SELECTOR, "#log-form input[type=submit]").click()
    # Online: sent at once, and the farmer is back on the plot's page.
    wait(phone, lambda d: form_url.split("/logs/new")[0] in d.current_url and "/logs/new" not in d.current_url)
    logs, photos = the_photos_of(app, notes)
    assert len(logs) == 1 and len(photos) == 1
    data, media_type, latitude, longitude = photos[0]
    assert (latitude, longitude) == (pytest.approx(LATITUDE, abs=1e-6), pytest.approx(LONGITUDE, abs=1e-6))
    assert not gps_in(data) and max(Image.open(io.BytesIO(data)).size) == 1600  # the place is beside it, not in it
    # The plot's history shows the thumbnail; the log page the photo and where it was taken.
    wait(phone, lambda d: d.find_elements(By.CSS_SELECTOR, ".logs .thumbs img"))
    phone.get(origin + f"/logs/{logs[0].id}")
    image = wait(phone, lambda d: d.find_element(By.CSS_SELECTOR, "#log-photos img"))
    wait(phone, lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    assert "25.39" in phone.find_element(By.ID, "log-photos").text
    phone.execute_script("window.scrollTo(0, 0)")
    phone.save_screenshot(str(ARTIFACTS / "log-page-photo.png"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
