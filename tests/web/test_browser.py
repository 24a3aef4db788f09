"""A farmer on a phone, in a real Chromium: sign in, add a pesticide log, find it in the history.

Needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)
and the selenium package. Outside CI the test skips without them; under CI=true it fails.
"""
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
        demo.load(only=("farms",))  # accounts, farms and logs
    origin, stop = serve(app)
    yield origin
    stop()


def test_farmer_adds_a_pesticide_log_on_a_phone(server, phone):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    phone.get(server + "/")
    assert "登录" in phone.page_source
    phone.save_screenshot(str(ARTIFACTS / "01-login.png"))
    phone.find_element(By.NAME, "username").send_keys("farmer1")
    phone.find_element(By.NAME, "password").send_keys("demo-password")
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/dashboard"))
    phone.save_screenshot(str(ARTIFACTS / "02-dashboard.png"))

    # The page fits the phone: nothing is wider than the screen.
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390

    phone.find_element(By.CSS_SELECTOR, ".list a").click()  # my farm
    WebDriverWait(phone, 10).until(lambda d: "/farms/" in d.current_url)
    phone.find_element(By.CSS_SELECTOR, ".list a[href*='/plots/']").click()  # its first plot
    WebDriverWait(phone, 10).until(lambda d: "/plots/" in d.current_url)
    phone.save_screenshot(str(ARTIFACTS / "03-plot.png"))
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390

    # Tap 1: "spray / fertilise"; tap 2: pick the product; tap 3: save.
    phone.find_element(By.CSS_SELECTOR, "a[href*='kind=input']").click()
    WebDriverWait(phone, 10).until(lambda d: "kind=input" in d.current_url)
    Select(phone.find_element(By.NAME, "input_product")).select_by_visible_text("24%螺螨酯悬浮剂 · 安全间隔期 30 天")
    dose = phone.find_element(By.NAME, "dose")
    dose.clear()
    dose.send_keys("25")
    phone.save_screenshot(str(ARTIFACTS / "04-input-form.png"))
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: "/logs/new" not in d.current_url)
    assert phone.find_element(By.CSS_SELECTOR, ".flash.info").text  # "saved"

    phone.find_element(By.CSS_SELECTOR, "a[href='/logs/']").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/logs/"))
    Select(phone.find_element(By.NAME, "kind")).select_by_value("input")
    phone.find_element(By.CSS_SELECTOR, ".filters button[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: "kind=input" in d.current_url)
    phone.save_screenshot(str(ARTIFACTS / "05-history.png"))
    first = phone.find_element(By.CSS_SELECTOR, ".logs li")
    assert "24%螺螨酯悬浮剂" in first.text
    assert "25" in first.text
