"""The 承诺达标合格证 with a contact and its 承诺依据, the label sheet's codes in letters, and the inspection
form that ticks nothing for the inspector. Everything through the pages, as the people who use them."""
import re

from tests.helpers import PASSWORD, login
from trace import service as trace
from trace.models import Batch, Event

BOXES = re.compile(r'<span class="basis basis-(\w+)( ticked)?"><span class="box" role="img" aria-label="([^"]+)">(.)</span>'
                   r'([^<]+)</span>')


def _text(response):
    return response.get_data(as_text=True)


def _token(page, prefix=""):
    name = f"{prefix}-csrf_token" if prefix else "csrf_token"
    match = re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]+)"', page)
    assert match, f"no {name} on the page"
    return match.group(1)


def _meta_token(page):
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _batch(app, user, harvest, **data):
    with app.test_request_context():
        return trace.create_batch(user, dict({"harvest_log": harvest.id}, **data))


def _inspect(app, world, batch, when, passed=True, inspector=None):
    with app.test_request_context():
        trace.record_event(inspector or world.inspector, Batch.get_by_id(batch.id), {
            "biz_step": "inspecting", "event_time": when, "passed": passed,
            "items": [{"name": "阿维菌素", "result": 0.002, "limit": 0.01, "unit": "mg/kg"}]})


def _bases(page):
    """{basis: (ticked, label)} of the certificate's four boxes, in the template's order."""
    found = [(b, bool(t), aria, box, label.strip()) for b, t, aria, box, label in BOXES.findall(page)]
    assert [f[0] for f in found] == ["commissioned_test", "self_test", "internal_control", "self_commitment"], page
    for _basis, ticked, aria, box, _label in found:
        assert (box, aria) == (("☑", "已勾选") if ticked else ("☐", "未勾选"))
    return {b: (ticked, label) for b, ticked, _aria, _box, label in found}


def test_the_farmer_enters_a_phone_and_the_certificate_prints_it_with_its_grounds(app, client, world, journey):
    login(client, "farmer_a")
    page = _text(client.get(f"/farms/{world.farm_a.id}/edit"))
    assert 'name="contact_phone"' in page and "电话" in page
    form = {"csrf_token": _token(page), "name": "A 果园", "county_code": "360722", "address": "信丰县大塘埠镇",
            "latitude": "25.38", "longitude": "114.92"}
    refused = client.post(f"/farms/{world.farm_a.id}/edit", data=dict(form, contact_phone="call me"))
    assert refused.status_code == 422 and "只能填数字" in _text(refused)
    saved = client.post(f"/farms/{world.farm_a.id}/edit", data=dict(form, contact_phone="0797-3321234"))
    assert saved.status_code == 302
    assert "0797-3321234" in _text(client.get(f"/farms/{world.farm_a.id}"))

    batch = _batch(app, world.farmer_a, journey.harvest, quantity=1200)
    _inspect(app, world, batch, journey.at(1))
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    contact = re.search(r'<dd class="cert-contact">(.*?)</dd>', page, re.S).group(1)
    assert "0797-3321234" in contact and "信丰县大塘埠镇" in contact and "—" not in contact
    bases = _bases(page)
    # The passing test was made by the county testing centre, not by the cooperative: a commissioned test.
    assert bases == {"commissioned_test": (True, "委托检测"), "self_test": (False, "自我检测"),
                     "internal_control": (False, "内部质量控制"), "self_commitment": (False, "自我承诺")}
    assert "承诺依据" in page and "no-contact" not in page
    # The producer may add internal control to the test.
    page = _text(client.get(f"/batches/{batch.id}/certificate?basis=internal_control"))
    assert _bases(page)["internal_control"][0] and _bases(page)["commissioned_test"][0]


def test_without_a_test_the_promise_rests_on_self_commitment_unless_internal_control_is_chosen(
        app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    assert {b for b, (ticked, _l) in _bases(page).items() if ticked} == {"self_commitment"}
    assert 'name="basis" value="internal_control"' in page and 'name="basis" value="self_commitment"' in page
    assert "尚无实验室检测" in page
    page = _text(client.get(f"/batches/{batch.id}/certificate?basis=internal_control"))
    assert {b for b, (ticked, _l) in _bases(page).items() if ticked} == {"internal_control"}
    assert 'value="internal_control" checked' in page
    # Nothing else can be declared through the address: a test is read from the inspections only.
    page = _text(client.get(f"/batches/{batch.id}/certificate?basis=commissioned_test&basis=x"))
    assert {b for b, (ticked, _l) in _bases(page).items() if ticked} == {"self_commitment"}


def test_a_test_by_the_producers_own_lab_is_a_self_test_and_a_failed_one_warns(app, client, world, journey):
    from web.accounts import service as accounts

    own_lab = accounts.create_user("coop_lab", PASSWORD, "inspector", organisation=world.farm_a.organisation)
    batch = _batch(app, world.farmer_a, journey.harvest)
    _inspect(app, world, batch, journey.at(2), inspector=own_lab)
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    assert {b for b, (ticked, _l) in _bases(page).items() if ticked} == {"self_test"}
    assert "不得开具合格证" not in page
    _inspect(app, world, batch, journey.at(1), passed=False)
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    assert "最近一次检测不合格，不得开具合格证" in page


def test_the_organisation_contact_is_the_fallback_and_only_managers_change_it(app, client, world, journey):
    from web.accounts import service as accounts
    from web.accounts.models import Organisation

    coop = world.farm_a.organisation
    accounts.create_user("clerk", PASSWORD, "operator", organisation=coop, organisation_role="member")
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "operator")
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    assert re.search(r'<dd class="cert-contact">—</dd>', page)
    assert "联系方式一栏还没有电话" in page and f'href="/farms/{world.farm_a.id}/edit"' in page

    page = _text(client.get("/organisation"))
    assert 'name="contact-contact_phone"' in page
    token = _token(page, "contact")
    bad = client.post("/organisation/contact", data={"contact-csrf_token": token, "contact-contact_phone": "x",
                                                      "contact-address": "信丰县嘉定镇"})
    assert bad.status_code == 422 and "只能填数字" in _text(bad)
    assert Organisation.get_by_id(coop.id).address == ""  # nothing stored from a refused form
    done = client.post("/organisation/contact", data={"contact-csrf_token": token,
                                                       "contact-contact_phone": "+86 797 332 1234",
                                                       "contact-address": "信丰县嘉定镇工业园 8 号"})
    assert done.status_code == 302 and done.headers["Location"] == "/organisation"
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    contact = re.search(r'<dd class="cert-contact">(.*?)</dd>', page, re.S).group(1)
    assert "+86 797 332 1234" in contact and "信丰县嘉定镇工业园 8 号" in contact

    clerk = client.application.test_client()
    login(clerk, "clerk")
    page = _text(clerk.get("/organisation"))
    assert 'name="contact-contact_phone"' not in page and "+86 797 332 1234" in page
    refused = clerk.post("/organisation/contact", data={"contact-csrf_token": _meta_token(page),
                                                         "contact-contact_phone": "0797-1234567"})
    assert refused.status_code == 403
    assert Organisation.get_by_id(coop.id).contact_phone == "+86 797 332 1234"


def test_each_label_prints_its_code_under_the_qr_code(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "farmer_a")
    page = _text(client.get(f"/batches/{batch.id}/labels?n=3"))
    codes = re.findall(r'<div class="label-qr"><svg.*?</svg><span class="hri">([^<]+)</span></div>', page, re.S)
    assert codes == [batch.code] * 3
    page = _text(client.get(f"/batches/{batch.id}/labels?n=2&serials=1&start=7"))
    codes = re.findall(r'<div class="label-qr"><svg.*?</svg><span class="hri">([^<]+)</span></div>', page, re.S)
    assert codes == [f"{batch.code} 000007", f"{batch.code} 000008"]
    # The code in letters opens the same page as the QR code.
    assert client.application.test_client().get(f"/t/{batch.code}").status_code == 200


def test_the_inspection_form_ticks_no_result_and_keeps_its_column_labels(app, client, world, journey):
    batch = _batch(app, world.farmer_a, journey.harvest)
    login(client, "inspector")
    page = _text(client.get(f"/batches/{batch.id}"))
    form = page[page.index('action="/batches/%d/inspections"' % batch.id):]
    form = form[:form.index("</form>")]
    radios = re.findall(r'<input[^>]*name="inspection-passed"[^>]*>', form)
    assert len(radios) == 2 and not any("checked" in r for r in radios), radios
    assert "检测结论" in form and "合格" in form and "不合格" in form
    assert "placeholder=" not in form  # labels that stay visible while typing
    row = re.search(r'<div class="item-row">(.*?)</div>', form, re.S).group(1)
    labels = re.findall(r'<label class="item-cell[^"]*"><span>([^<]+)</span><input[^>]*name="inspection-items-0-(\w+)"',
                        row)
    assert labels == [("检测项目", "name"), ("检测值", "result"), ("限量", "limit"), ("单位", "unit")], row

    data = {"inspection-csrf_token": _token(page, "inspection"), "inspection-event_time": "",
            "inspection-items-0-name": "阿维菌素", "inspection-items-0-result": "0.002",
            "inspection-items-0-limit": "0.01", "inspection-items-0-unit": "mg/kg"}
    data["inspection-event_time"] = journey.at(1).strftime("%Y-%m-%dT%H:%M")
    refused = client.post(f"/batches/{batch.id}/inspections", data=data)
    assert refused.status_code == 422 and "请选择样品合格还是不合格" in _text(refused)
    assert not Event.select().where((Event.batch == batch) & (Event.biz_step == "inspecting")).exists()
    assert client.post(f"/batches/{batch.id}/inspections",
                       data=dict(data, **{"inspection-passed": "fail"})).status_code == 302
    with app.test_request_context():
        assert trace.public_view(Batch.get_by_id(batch.id))["inspections"][0]["passed"] is False


def test_the_demo_certificate_has_a_contact_and_its_grounds_and_the_demo_page_a_verdict(app, client):
    """What a county sees right after `flask --app web load-demo`, in the navel-orange season."""
    import datetime as dt

    from farms.models import Farm
    from web import demo

    with app.app_context():
        demo.load(now=dt.datetime(2025, 12, 5, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    batch = Batch.get(Batch.farm == Farm.get(Farm.name == "信丰县安西镇脐橙果园"))
    login(client, "farmer1", "demo-password")
    page = _text(client.get(f"/batches/{batch.id}/certificate"))
    contact = re.search(r'<dd class="cert-contact">(.*?)</dd>', page, re.S).group(1)
    assert "0797-3520186" in contact and "安西镇" in contact
    assert _bases(page)["commissioned_test"] == (True, "委托检测")  # the city testing centre's residue test
    consumer = _text(client.application.test_client().get(f"/t/{batch.code}"))
    line = re.search(r'<p class="verdict-line"><strong>(.*?)</strong></p>', consumer, re.S).group(1)
    assert line.startswith("检测合格 · 最后一次施药距采收 "), line
