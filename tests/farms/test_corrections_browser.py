"""On a phone, in a real Chromium: the product picker fills in the ingredient and interval, the
spray shows its safe harvest date, and a corrected log shows in the history struck through.

Needs Debian's chromium and chromium-driver; outside CI the test skips without them, under
CI=true it fails. Screenshots go to tests/artifacts/.
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
        demo.load(only=("farms",))  # accounts, farms and their logs
    origin, stop = serve(app)
    yield origin
    stop()


def test_pick_spray_and_correct_on_a_phone(server, phone):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    ARTIFACTS.mkdir(exist_ok=True)
    phone.get(server + "/login")
    phone.find_element(By.NAME, "username").send_keys("farmer1")
    phone.find_element(By.NAME, "password").send_keys("demo-password")
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/dashboard"))
    phone.find_element(By.CSS_SELECTOR, "a.add-log").click()  # 记一笔
    WebDriverWait(phone, 10).until(lambda d: "/logs/new" in d.current_url)
    phone.find_element(By.CSS_SELECTOR, ".list a[href*='/plots/']").click()
    WebDriverWait(phone, 10).until(lambda d: "/plots/" in d.current_url)
    phone.find_element(By.CSS_SELECTOR, "#add-log a[href*='kind=input']").click()
    WebDriverWait(phone, 10).until(lambda d: "kind=input" in d.current_url)

    # The wrong product, as a careless tap would choose it: the picker fills in its facts.
    picker = Select(phone.find_element(By.NAME, "input_product"))
    assert picker.first_selected_option.get_attribute("value") == ""  # nothing chosen in advance
    picker.select_by_visible_text("24%螺螨酯悬浮剂 · 安全间隔期 30 天")
    assert phone.find_element(By.NAME, "active_ingredient").get_attribute("value") == "螺螨酯 spirodiclofen"
    assert phone.find_element(By.NAME, "phi_days").get_attribute("value") == "30"
    phone.find_element(By.NAME, "dose").send_keys("25")
    phone.save_screenshot(str(ARTIFACTS / "logfix-1-picker.png"))
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: "/logs/new" not in d.current_url)
    assert "可采收日期" in phone.find_element(By.CSS_SELECTOR, ".flash.info").text
    assert "可采收日期" in phone.find_element(By.ID, "safe-harvest").text
    phone.save_screenshot(str(ARTIFACTS / "logfix-2-plot-safe-date.png"))

    # Correct it: open the log, 更正, choose the right product, say why.
    phone.find_element(By.CSS_SELECTOR, ".logs li.kind-input a").click()
    WebDriverWait(phone, 10).until(lambda d: "/logs/" in d.current_url)
    phone.find_element(By.CSS_SELECTOR, "#log-actions a[href$='/correct']").click()
    WebDriverWait(phone, 10).until(lambda d: d.current_url.endswith("/correct"))
    phone.find_element(By.NAME, "reason").send_keys("选错了药，实际喷的是矿物油")
    Select(phone.find_element(By.NAME, "input_product")).select_by_visible_text("99%矿物油乳油 · 安全间隔期 1 天")
    assert phone.find_element(By.NAME, "phi_days").get_attribute("value") == "1"
    phone.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(phone, 10).until(lambda d: not d.current_url.endswith("/correct"))
    assert "记录已更正" in phone.find_element(By.CSS_SELECTOR, ".flash.info").text

    phone.get(server + "/logs/?kind=input")
    old = phone.find_element(By.CSS_SELECTOR, ".logs li.voided")
    assert "已更正" in old.text and "24%螺螨酯悬浮剂" in old.text
    assert "line-through" in old.find_element(By.TAG_NAME, "strong").value_of_css_property("text-decoration")
    assert old.find_element(By.CSS_SELECTOR, "a.superseded-by").is_displayed()
    assert "99%矿物油乳油" in phone.find_element(By.CSS_SELECTOR, ".logs").text
    assert phone.execute_script("return document.documentElement.scrollWidth") <= 390
    phone.save_screenshot(str(ARTIFACTS / "logfix-3-history-corrected.png"))

    # The corrected log itself: struck through, why and by whom, and the way to its correction.
    old.find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(phone, 10).until(lambda d: "/logs/?" not in d.current_url)
    note = phone.find_element(By.ID, "void-note").text
    assert "已更正" in phone.page_source and "选错了药，实际喷的是矿物油" in note and "查看更正后的记录" in note
    assert not phone.find_elements(By.ID, "log-actions")
    phone.save_screenshot(str(ARTIFACTS / "logfix-4-corrected-log.png"))
