"""Farmer pages: from the plot page to a saved log, history filters, phone layout."""
import re

from farms.models import Log
from tests.helpers import csrf_token, form_fields, login


def test_add_a_pesticide_log_from_the_plot_page(client, world):
    login(client, "farmer_a")
    plot_page = client.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    link = re.search(r'href="([^"]*/logs/new\?kind=input[^"]*)"', plot_page).group(1).replace("&amp;", "&")
    form_page = client.get(link).get_data(as_text=True)
    data = form_fields(form_page)
    # Tap two: the product (the previous one is preselected); tap three: save.
    from farms.models import InputProduct

    data["input_product"] = str(InputProduct.get(InputProduct.code == "imidacloprid_10wp").id)
    data["dose"] = "15"
    data["dose_unit"] = "g/亩"
    before = Log.select().count()
    response = client.post(link, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert Log.select().count() == before + 1
    log = Log.select().order_by(Log.id.desc()).first()
    assert (log.kind, log.product_name, log.phi_days, log.dose) == ("input", "10%吡虫啉可湿性粉剂", 14, 15)
    history = client.get(f"/logs/?farm={world.farm_a.id}&kind=input").get_data(as_text=True)
    assert "10%吡虫啉可湿性粉剂" in history


def test_invalid_log_form_shows_the_error_and_keeps_the_input(client, world):
    login(client, "farmer_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=harvest"
    data = form_fields(client.get(url).get_data(as_text=True))
    data.update(quantity="", unit="kg", notes="下雨，采了一半")
    before = Log.select().count()
    response = client.post(url, data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error"' in html and "下雨，采了一半" in html
    assert Log.select().count() == before


def test_history_filters_and_pages(client, world):
    from farms import service

    for day in range(1, 40):
        service.create_log(world.farmer_a, world.farm_a, {
            "kind": "observation", "plots": [world.plot_a.id], "notes": f"巡园 {day}",
            "timestamp": service.dt.datetime(2026, 8, 1, 9, tzinfo=service.dt.timezone.utc)
            + service.dt.timedelta(days=day)})
    login(client, "farmer_a")
    first = client.get("/logs/").get_data(as_text=True)
    assert first.count('class="log kind-') == 30
    second = client.get("/logs/?page=2").get_data(as_text=True)
    assert second.count('class="log kind-') == 10  # 39 observations + the World's input log
    only_input = client.get("/logs/?kind=input").get_data(as_text=True)
    assert only_input.count('class="log kind-') == 1
    dated = client.get("/logs/?from=2026-08-02&to=2026-08-03").get_data(as_text=True)
    assert dated.count('class="log kind-') == 2
    bad = client.get("/logs/?from=tomorrow").get_data(as_text=True)
    assert 'class="error"' in bad


def test_every_page_is_phone_ready(client, world):
    login(client, "farmer_a")
    for url in ["/dashboard", f"/farms/{world.farm_a.id}", f"/plots/{world.plot_a.id}",
                f"/plantings/{world.planting_a.id}", "/logs/", f"/logs/{world.log_a.id}",
                f"/plots/{world.plot_a.id}/logs/new?kind=input", "/account", "/farms/new"]:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html, url
        # No request leaves the site: no absolute URLs in src/href of assets.
        assert not re.search(r'(src|href)="(https?:)?//', html), url


def test_create_farm_and_plot_through_pages(client, world):
    login(client, "farmer_b")
    data = form_fields(client.get("/farms/new").get_data(as_text=True))
    data.update(name="南丰第二橘园", county_code="361023", address="南丰县琴城镇")
    response = client.post("/farms/new", data=data)
    assert response.status_code == 302
    farm_url = response.headers["Location"]
    assert "南丰第二橘园" in client.get(farm_url).get_data(as_text=True)
    plot_form = f"{farm_url}/plots/new"
    data = form_fields(client.get(plot_form).get_data(as_text=True))
    data.update(name="北坡", kind="orchard", area="12.5", area_unit="mu")
    response = client.post(plot_form, data=data)
    assert response.status_code == 302
    assert "12.5" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_forms_without_csrf_are_rejected(client, world):
    login(client, "farmer_a")
    csrf_token(client)
    before = Log.select().count()
    response = client.post(f"/plots/{world.plot_a.id}/logs/new?kind=observation",
                           data={"kind": "observation", "timestamp": "2026-10-01T08:00",
                                 "plots": str(world.plot_a.id)})
    assert response.status_code == 400
    assert Log.select().count() == before
