"""Archiving a plot from its page: a confirmation first, only for those who manage the farm; an archived
plot keeps its history, is greyed on the farm page and no longer offered when adding a log."""
import re

import pytest

from farms.models import Log, Plot
from tests.helpers import csrf_token, form_fields, login


def signed_in(app, username):
    client = app.test_client()
    login(client, username)
    return client


def post(client, path, data=None):
    return client.post(path, data={"csrf_token": csrf_token(client), **(data or {})})


def archived(plot):
    return Plot.get_by_id(plot.id).archived_at is not None


def archive_form(html, plot_id):
    return re.search(rf'<form method="post" class="inline plot-archive" action="/plots/{plot_id}/(archive|restore)"',
                     html)


def test_the_owner_archives_after_confirming_and_restores(app, world):
    owner = signed_in(app, "farmer_a")
    page = owner.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    assert archive_form(page, world.plot_a.id).group(1) == "archive" and "归档地块" in page

    # The button leads to a confirmation; nothing changes yet.
    confirm = post(owner, f"/plots/{world.plot_a.id}/archive")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and not archived(world.plot_a)
    assert f'action="/plots/{world.plot_a.id}/archive"' in html and 'name="confirm" value="yes"' in html
    assert "1号园" in html and f'href="/plots/{world.plot_a.id}"' in html  # and a way back

    done = post(owner, f"/plots/{world.plot_a.id}/archive", {"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/plots/{world.plot_a.id}")
    assert archived(world.plot_a)
    page = owner.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    assert '<span class="badge archived">已归档</span>' in page and "不能再添加记录" in page
    assert archive_form(page, world.plot_a.id).group(1) == "restore" and "恢复地块" in page
    assert 'id="add-log"' not in page  # it takes no new logs: the quick log buttons are gone
    assert "阿维菌素" in page  # its history stays

    post(owner, f"/plots/{world.plot_a.id}/restore")  # a confirmation again
    assert archived(world.plot_a)
    assert post(owner, f"/plots/{world.plot_a.id}/restore", {"confirm": "yes"}).status_code == 302
    assert not archived(world.plot_a)
    assert 'id="add-log"' in owner.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)


@pytest.mark.parametrize("role, status", [("worker_a", 403), ("operator", 403), ("inspector", 403),
                                          ("bureau_county", 403), ("bureau_other_city", 404), ("stranger", 404)])
def test_who_may_not_archive_sees_no_button_and_is_refused(app, world, role, status):
    client = signed_in(app, getattr(world, role).username)
    page = client.get(f"/plots/{world.plot_a.id}")
    if status == 403:  # they see the plot, but not the button
        assert page.status_code == 200 and not archive_form(page.get_data(as_text=True), world.plot_a.id)
    for data in ({}, {"confirm": "yes"}):
        assert post(client, f"/plots/{world.plot_a.id}/archive", data).status_code == status
    assert not archived(world.plot_a)
    from farms import service

    service.archive_plot(world.farmer_a, Plot.get_by_id(world.plot_a.id))
    assert post(client, f"/plots/{world.plot_a.id}/restore", {"confirm": "yes"}).status_code == status
    assert archived(world.plot_a)


@pytest.fixture
def three_plots(world):
    from farms import service

    second = service.create_plot(world.farmer_a, world.farm_a, {"name": "2号园", "kind": "orchard", "area": 4})
    third = service.create_plot(world.farmer_a, world.farm_a, {"name": "3号园", "kind": "orchard", "area": 2})
    service.archive_plot(world.farmer_a, Plot.get_by_id(world.plot_a.id))
    return second, third


def test_an_archived_plot_is_greyed_on_the_farm_page(app, world, three_plots):
    html = signed_in(app, "worker_a").get(f"/farms/{world.farm_a.id}").get_data(as_text=True)
    items = re.findall(r'<li( class="archived")?><a href="/plots/(\d+)">', html)
    assert sorted((int(plot_id), bool(mark)) for mark, plot_id in items) == sorted(
        [(world.plot_a.id, True), (three_plots[0].id, False), (three_plots[1].id, False)])
    archived_item = re.search(rf'<li class="archived"><a href="/plots/{world.plot_a.id}">(.*?)</li>', html, re.S)
    assert '<span class="badge archived">已归档</span>' in archived_item.group(1)


def test_an_archived_plot_is_not_offered_for_a_new_log(app, world, three_plots):
    second, third = three_plots
    worker = signed_in(app, "worker_a")
    start = worker.get("/logs/new").get_data(as_text=True)
    assert f'/plots/{second.id}#add-log' in start and f'/plots/{third.id}#add-log' in start
    assert f'/plots/{world.plot_a.id}#add-log' not in start

    form = worker.get(f"/plots/{second.id}/logs/new?kind=observation").get_data(as_text=True)
    options = re.search(r'<select[^>]*name="plots"[^>]*>(.*?)</select>', form, re.S).group(1)
    assert sorted(map(int, re.findall(r'value="(\d+)"', options))) == sorted([second.id, third.id])


def test_a_log_posted_for_an_archived_plot_is_refused_with_the_reason(app, world, three_plots):
    """An entry made before the plot was archived, sent later: refused with a readable reason, nothing stored."""
    second, _ = three_plots
    worker = signed_in(app, "worker_a")
    url = f"/plots/{world.plot_a.id}/logs/new?kind=observation"
    page = worker.get(url).get_data(as_text=True)
    assert "地块 1号园 已归档，不能再添加记录。" in page
    data = form_fields(worker.get(f"/plots/{second.id}/logs/new?kind=observation").get_data(as_text=True))
    data.update(plots=[str(world.plot_a.id)], notes="离线时记的：疑似黄龙病")
    before = Log.select().count()
    response = worker.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "地块 1号园 已归档，不能再添加记录。" in html
    assert "离线时记的：疑似黄龙病" in html  # what was entered is kept on the page
    assert Log.select().count() == before

    # A plot of another farm named in the same way is refused too (the service checks every plot).
    data.update(plots=[str(world.plot_b.id)])
    response = worker.post(f"/plots/{second.id}/logs/new?kind=observation", data=data)
    assert response.status_code == 422 and Log.select().count() == before


def test_an_archived_plot_takes_no_new_planting(app, world, three_plots):
    """The plot page no longer offers 新建种植批次; the form posted anyway, or the API, is refused with the
    reason and stores nothing. A plot brought back takes plantings again."""
    from farms.models import Planting

    owner = signed_in(app, "farmer_a")
    new_planting = f"/plots/{world.plot_a.id}/plantings/new"
    assert new_planting not in owner.get(f"/plots/{world.plot_a.id}").get_data(as_text=True)
    assert f"/plots/{three_plots[0].id}/plantings/new" in owner.get(f"/plots/{three_plots[0].id}").get_data(as_text=True)

    form = owner.get(new_planting).get_data(as_text=True)  # a link kept from before: told at once
    assert 'id="archived-warning"' in form and "地块 1号园 已归档，不能再新建种植批次。" in form

    crop = world.planting_a.crop_id
    before = Planting.select().count()
    response = post(owner, new_planting, {"crop": crop, "start_method": "transplanted", "start_date": "2026-12-01",
                                          "variety": "纽荷尔"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.count("地块 1号园 已归档，不能再新建种植批次。") == 1 and "纽荷尔" in html
    api = owner.post(f"/api/v1/plots/{world.plot_a.id}/plantings", headers={"X-CSRFToken": csrf_token(owner)},
                     json={"crop": crop, "start_date": "2026-12-01"})
    assert api.status_code == 422 and api.json["error"]["message"] == "地块 1号园 已归档，不能再新建种植批次。"
    assert Planting.select().count() == before

    from farms import service

    service.archive_plot(world.farmer_a, Plot.get_by_id(world.plot_a.id), archived=False)
    assert post(owner, new_planting, {"crop": crop, "start_method": "transplanted",
                                      "start_date": "2026-12-01"}).status_code == 302
    assert Planting.select().count() == before + 1
