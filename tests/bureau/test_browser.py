"""The demo's city bureau on a phone, in a real Chromium: the dashboard fits 390 px, its charts and map are
inline SVG, and the division table leads to a county and its farms. Runs once, on SQLite (the flow does not
depend on the database)."""
import pytest

from tests.helpers import ARTIFACTS, serve, sqlite_backend

pytestmark = pytest.mark.browser


@pytest.fixture
def backend(backends, tmp_path_factory):
    return sqlite_backend(backends, tmp_path_factory)


@pytest.fixture
def server(app):
    from web import demo

    with app.app_context():
        demo.load(only=("farms", "bureau"))  # accounts, farms and logs, then the bureau's tallies
    origin, stop = serve(app)
    yield origin
    stop()


def test_city_bureau_dashboard_on_a_phone(server, phone):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    phone.get(server + "/")
    phone.find_element(By.NAME, "username").send_keys("bureau_ganzhou")
    phone.find_element(By.NAME, "password").send_keys("demo-password")
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/bureau/"))
    phone.save_screenshot(str(ARTIFACTS / "bureau-01-dashboard.png"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    assert "江西省 赣州市" in phone.page_source
    assert phone.find_elements(By.CSS_SELECTOR, "svg.spark")  # a trend line per county
    assert phone.find_elements(By.CSS_SELECTOR, "svg.chart.bars")  # area by crop
    assert phone.find_elements(By.CSS_SELECTOR, "svg.chart.map circle.farm")  # 信丰's farm on the map
    phone.find_element(By.LINK_TEXT, "信丰县").click()
    WebDriverWait(phone, 10).until(lambda d: "division=360722" in d.current_url)
    phone.find_element(By.PARTIAL_LINK_TEXT, "农场").click()
    WebDriverWait(phone, 10).until(lambda d: "/bureau/divisions/360722/farms" in d.current_url)
    phone.save_screenshot(str(ARTIFACTS / "bureau-02-farms.png"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    assert phone.find_elements(By.CSS_SELECTOR, "table.farms tbody tr td a")
