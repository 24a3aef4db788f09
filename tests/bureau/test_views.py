"""The bureau's pages: its home page, the dashboard's table, trend lines and charts (inline SVG, nothing from
outside), the farm drill-down without personal data, the printable report, and the batch list."""
import re

from tests.helpers import login


def test_bureau_home_is_the_dashboard_and_farmers_keep_theirs(app, client, world):
    login(client, "bureau_city")
    assert client.get("/").headers["Location"].endswith("/bureau/")
    assert client.get("/dashboard").headers["Location"].endswith("/bureau/")
    page = client.get("/bureau/").get_data(as_text=True)
    assert 'href="/bureau/" class="on"' in page  # the Home tab
    farmer = login(app.test_client(), "farmer_a")
    assert farmer.get("/").headers["Location"].endswith("/dashboard")
    assert farmer.get("/dashboard").status_code == 200


def test_dashboard_has_divisions_trend_lines_and_charts(client, world, figures):
    login(client, "bureau_city")
    response = client.get(f"/bureau/?from={figures['from']}&to={figures['to']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "江西省 赣州市" in page
    table = page[page.index('class="results divisions"'):page.index("</table>", page.index('class="results divisions"'))]
    rows = re.findall(r"<tr>.*?</tr>", table, re.S)
    assert len(rows) == 19  # the counties of 赣州市
    xinfeng = next(r for r in rows if "信丰县" in r)
    assert '<svg class="spark"' in xinfeng and "5000" in xinfeng
    assert page.count('<svg class="chart bars"') == 2  # area by crop, alerts by type
    assert '<svg class="chart columns"' in page  # harvest by month
    assert "脐橙" in page and "茶" in page
    # No inline script and nothing from elsewhere: only the site's own scripts (the app's and the offline queue).
    assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js\?v=[0-9a-f]{12}" defer>', tag) for tag in re.findall(r"<script[^>]*>", page))
    assert "http://" not in page and "https://" not in page  # nothing loaded from elsewhere
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_map_of_farms_and_open_alerts_is_drawn_on_the_server(app, client, world, figures):
    login(client, "bureau_city")
    page = client.get("/bureau/").get_data(as_text=True)
    svg = page[page.index('<svg class="chart map"'):]
    svg = svg[:svg.index("</svg>")]
    # Farm A (the only one with coordinates) has an orange sensor alarm and a yellow warning open.
    assert svg.count("<circle") == 1 and 'class="farm sev-orange"' in svg and "A 果园: 2" in svg
    other = login(app.test_client(), "bureau_fuzhou")
    assert "class=\"farm" not in other.get("/bureau/").get_data(as_text=True)  # 抚州: farm B has no position


def test_county_drill_down_lists_farms_with_figures_only(client, world, figures):
    login(client, "bureau_county")
    dashboard = client.get("/bureau/").get_data(as_text=True)
    assert "/bureau/divisions/360722/farms" in dashboard
    page = client.get(f"/bureau/divisions/360722/farms?from={figures['from']}&to={figures['to']}").get_data(as_text=True)
    assert "A 果园" in page and "B 橘园" not in page and "C 茶园" not in page
    row = re.search(r"<tr><td><a[^>]*>A 果园</a></td>.*?</tr>", page, re.S).group(0)
    assert [int(float(n)) for n in re.findall(r'<td class="num">([\d.]+)</td>', row)] == [15, 2, 1, 5000, 2]
    for personal in ("farmer_a", "worker_a", world.farmer_a.display_name, "phone", "电话"):
        assert personal not in page


def test_printable_report(client, world, figures):
    login(client, "bureau_city")
    response = client.get(f"/bureau/report?from={figures['from']}&to={figures['to']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "江西省 赣州市农业汇总" in page
    assert "data-print" in page and "no-print" in page
    assert "阿维菌素 abamectin" in page  # pesticide applications by active ingredient
    assert "/api/v1/bureau/summary?" in page and "format=csv" in page


def test_batch_list_shows_the_batches_a_bureau_may_open(app, client, world, figures):
    batch = figures["batch"]
    for username, sees in (("bureau_county", True), ("bureau_city", True), ("bureau_province", True),
                           ("bureau_other_city", False)):
        user = getattr(world, username)
        c = login(app.test_client(), user.username)
        page = c.get("/batches/").get_data(as_text=True)
        listed = f"/batches/{batch.id}" in page
        opens = c.get(f"/batches/{batch.id}").status_code == 200
        assert listed == opens == sees, username
        if sees:
            assert "0 个批次" not in page


def test_bad_period_on_a_page_is_a_readable_400(client, world):
    login(client, "bureau_city")
    response = client.get("/bureau/?from=2026-05-01&to=2026-04-01")
    assert response.status_code == 400
    assert "时段的开始晚于结束" in response.get_data(as_text=True)
