"""A buyer scans a QR code on a phone, in a real Chromium: the consumer page of a batch that went
from the orchard through a cold store to a supermarket and a residue test. Also the seller's batch page.

Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)
and the selenium package. Outside CI the test skips without them; under CI=true it fails.
"""
import base64

import pytest

from tests.helpers import ARTIFACTS, serve, sqlite_backend

pytestmark = pytest.mark.browser

WIDTH = 390


@pytest.fixture
def backend(backends, tmp_path_factory):
    return sqlite_backend(backends, tmp_path_factory)


@pytest.fixture
def traced(app, world, journey):
    """A batch commissioned from farm A's harvest, shipped, received by a supermarket and inspected."""
    from trace import service as trace
    from trace.models import Batch

    with app.test_request_context():
        batch = trace.create_batch(world.farmer_a, {"harvest_log": journey.harvest.id})
        trace.record_event(world.operator, batch, {"biz_step": "shipping", "event_time": journey.at(2),
                                                   "place": "信丰县绿源合作社冷库", "destination": journey.retailer.id})
        trace.record_event(journey.retail_user, Batch.get_by_id(batch.id), {
            "biz_step": "receiving", "event_time": journey.at(1), "place": "南昌果品超市 红谷滩店"})
        trace.record_event(world.inspector, Batch.get_by_id(batch.id), {
            "biz_step": "inspecting", "event_time": journey.at(0, 5), "passed": True, "place": "南昌果品超市 红谷滩店",
            "items": [{"name": "阿维菌素", "result": 0.002, "limit": 0.02, "unit": "mg/kg"},
                      {"name": "吡虫啉", "result": 0.05, "limit": 1, "unit": "mg/kg"}]})
    return Batch.get_by_id(batch.id)


@pytest.fixture
def server(app, traced):
    origin, stop = serve(app)
    yield origin
    stop()


def full_page_screenshot(driver, name):
    """The whole page, not just the first screen (the viewport), as a PNG in tests/artifacts."""
    ARTIFACTS.mkdir(exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")  # sticky bars are drawn where the page is scrolled to
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))


def fits_and_stays_home(driver, origin):
    """Nothing is wider than the phone, and every resource came from this server."""
    assert driver.execute_script("return document.documentElement.scrollWidth") <= WIDTH
    names = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert names, "the page loads its stylesheet at least"
    assert all(name.startswith(origin + "/") for name in names), names
    page = driver.execute_script("return performance.getEntriesByType('navigation').map(e => e.name)")
    assert all(name.startswith(origin + "/") for name in page), page


def test_buyer_scans_the_qr_code_on_a_phone(server, phone, traced):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    phone.get(f"{server}/t/{traced.code}")
    assert phone.find_element(By.TAG_NAME, "h1").text.startswith("赣南脐橙")
    steps = [li.text for li in phone.find_elements(By.CSS_SELECTOR, ".journey .timeline li")]
    assert len(steps) == 4, steps
    assert "已采收并建批" in steps[0] and "A 果园" in steps[0]
    assert "已发货" in steps[1] and "信丰县绿源合作社冷库" in steps[1] and "南昌果品超市" in steps[1]
    assert "已收货" in steps[2] and "南昌果品超市 红谷滩店" in steps[2]
    assert "已检测" in steps[3]
    # The verdict first; the results summed up in a line that unfolds the table with a tap (no JavaScript).
    assert phone.find_element(By.CSS_SELECTOR, ".verdict-line").text.startswith("检测合格 · ")
    inspection = phone.find_element(By.CSS_SELECTOR, ".inspections").text
    assert "2 项农残检测均未超标" in inspection and "阿维菌素" not in inspection
    phone.find_element(By.CSS_SELECTOR, ".inspections summary").click()
    inspection = phone.find_element(By.CSS_SELECTOR, ".inspections").text
    assert "合格" in inspection and "赣州检测中心" in inspection and "阿维菌素" in inspection and "0.002" in inspection
    assert "江西省 赣州市 信丰县" in phone.find_element(By.CSS_SELECTOR, ".product").text
    assert "1 次" in phone.find_element(By.CSS_SELECTOR, ".scan-total").text
    fits_and_stays_home(phone, server)
    phone.save_screenshot(str(ARTIFACTS / "11-consumer-top.png"))
    full_page_screenshot(phone, "12-consumer-full.png")

    # The language switch on the page, and back to the same page in English.
    phone.find_element(By.CSS_SELECTOR, ".lang a[lang=en]").click()
    WebDriverWait(phone, 10).until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    assert phone.current_url == f"{server}/t/{traced.code}"
    assert "Inspection results" in phone.page_source and "Shipped" in phone.page_source
    fits_and_stays_home(phone, server)
    full_page_screenshot(phone, "13-consumer-english.png")

    # An unknown code: a friendly page, also on a phone.
    phone.get(f"{server}/01/06901234567892/10/NO-SUCH-LOT")
    assert phone.find_element(By.CSS_SELECTOR, ".not-found h1").text
    fits_and_stays_home(phone, server)
    phone.save_screenshot(str(ARTIFACTS / "14-consumer-not-found.png"))


def test_seller_batch_page_on_a_phone(server, phone, traced):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.helpers import PASSWORD

    phone.get(server + "/login")
    phone.find_element(By.NAME, "username").send_keys("retail1")
    phone.find_element(By.NAME, "password").send_keys(PASSWORD)
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/dashboard"))
    phone.find_element(By.CSS_SELECTOR, ".tabs a[href='/batches/']").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/batches/"))
    phone.find_element(By.CSS_SELECTOR, ".batches a").click()
    WebDriverWait(phone, 10).until(lambda d: f"/batches/{traced.id}" in d.current_url)
    assert phone.execute_script("return document.querySelector('img.qr').naturalWidth") > 0
    for summary in phone.find_elements(By.CSS_SELECTOR, "details.action > summary"):
        summary.click()  # open every form
    fits_and_stays_home(phone, server)
    full_page_screenshot(phone, "15-batch-page.png")

    phone.get(f"{server}/batches/{traced.id}/certificate")
    assert "承诺达标合格证" in phone.find_element(By.TAG_NAME, "h1").text
    fits_and_stays_home(phone, server)
    full_page_screenshot(phone, "16-certificate.png")

    phone.get(f"{server}/batches/{traced.id}/labels?n=4&serials=1")
    assert len(phone.find_elements(By.CSS_SELECTOR, ".label svg")) == 4
    fits_and_stays_home(phone, server)
    full_page_screenshot(phone, "17-labels.png")
