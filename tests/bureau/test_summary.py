"""Summaries per division and period: every figure the bureau asks for, counties adding up to cities and the
province, and tallies that follow new data on the next refresh."""
import csv
import io

import pytest

from tests.helpers import bearer

ADDITIVE = [("farms",), ("certified_farms",), ("planted_area_mu", "total"), ("active_plantings",),
            ("harvest", "batches"), ("harvest", "kg"), ("pesticide_applications", "total"), ("phi_refusals",),
            ("inspections", "count"), ("inspections", "passed"), ("batches_anchored", "count"),
            ("batches_anchored", "of"), ("alerts", "total"), ("alerts", "acknowledged"), ("sensors", "devices"),
            ("sensors", "online"), ("sensors", "readings"), ("consumer_scans",)]


def pick(figures, path):
    for part in path:
        figures = figures[part]
    return figures


def summary(client, user, **params):
    response = client.get("/api/v1/bureau/summary", query_string=params, headers=bearer(user))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_county_summary_gives_every_figure(client, world, figures):
    body = summary(client, world.bureau_county, **{"from": figures["from"], "to": figures["to"]})
    assert body["division"] == {"code": "360722", "name": "信丰县", "level": "county", "full_name": "江西省 赣州市 信丰县"}
    t = body["totals"]
    assert t["farms"] == 1 and t["certified_farms"] == 0
    assert t["planted_area_mu"]["total"] == pytest.approx(15.0)  # 10 亩 + 5 亩 of navel oranges
    assert [c["crop"] for c in t["planted_area_mu"]["by_crop"]] == ["navel_orange"]
    assert t["active_plantings"] == 2
    assert t["harvest"]["batches"] == 1 and t["harvest"]["kg"] == 5000
    assert t["harvest"]["by_product"] == [{"product": "navel_orange", "name": "赣南脐橙", "batches": 1, "kg": 5000}]
    assert t["pesticide_applications"] == {"total": 1, "by_active_ingredient": {"阿维菌素 abamectin": 1}}
    assert t["phi_refusals"] == 1
    assert t["inspections"] == {"count": 2, "passed": 1, "pass_rate": 50.0}
    assert t["batches_anchored"] == {"count": 0, "of": 1, "percent": 0.0}  # no chain node in tests: pending
    assert t["alerts"]["total"] == 2 and t["alerts"]["acknowledged"] == 1 and t["alerts"]["ack_rate"] == 50.0
    assert t["alerts"]["by_source"] == {"sensor": {"orange": 1}, "weather": {"yellow": 1}}
    assert t["alerts"]["median_minutes_to_ack"] == 30
    assert t["sensors"] == {"devices": 1, "online": 1, "online_percent": 100.0, "readings": 3}
    assert t["consumer_scans"] == 2


def test_counties_add_up_to_cities_and_the_province(client, world, figures):
    period = {"from": figures["from"], "to": figures["to"]}
    province = summary(client, world.bureau_province, group_by="county", **period)
    by_city = summary(client, world.bureau_province, group_by="city", **period)
    assert len(province["rows"]) == 100  # every county of Jiangxi, with or without farms
    assert province["totals"]["farms"] == 3 and province["totals"]["alerts"]["total"] == 3
    for path in ADDITIVE:
        total = pick(province["totals"], path)
        assert sum(pick(row, path) for row in province["rows"]) == pytest.approx(total), path
        assert sum(pick(row, path) for row in by_city["rows"]) == pytest.approx(total), path
    ganzhou = summary(client, world.bureau_city, **period)["totals"]
    ganzhou_counties = [row for row in province["rows"] if row["code"].startswith("3607")]
    for path in ADDITIVE:
        assert sum(pick(row, path) for row in ganzhou_counties) == pytest.approx(pick(ganzhou, path)), path
    assert ganzhou["farms"] == 2 and ganzhou["certified_farms"] == 1
    city_row = next(row for row in by_city["rows"] if row["code"] == "360700")
    assert city_row["planted_area_mu"]["total"] == pytest.approx(35.0)


def test_group_by_crop_and_month(client, world, figures):
    period = {"from": figures["from"], "to": figures["to"]}
    crops = summary(client, world.bureau_city, group_by="crop", **period)["rows"]
    assert {r["crop"]: r["planted_area_mu"] for r in crops} == {"navel_orange": 15.0, "tea": 20.0}
    assert next(r for r in crops if r["crop"] == "navel_orange")["harvest_batches"] == 1
    months = summary(client, world.bureau_county, group_by="month", **period)["rows"]
    assert len(months) in (2, 3)  # 41 days span two or three calendar months
    assert sum(m["harvest"]["batches"] for m in months) == 1
    assert months[-1]["farms"] == 1


def test_periods_day_week_month(client, world, figures):
    day = summary(client, world.bureau_county, period="day")
    assert day["from"] == day["to"] == figures["today"].isoformat()
    assert day["totals"]["consumer_scans"] == 2 and day["totals"]["alerts"]["total"] == 2
    week = summary(client, world.bureau_county, period="week")
    assert week["from"] <= week["to"] and week["period"] == "week"
    long_ago = summary(client, world.bureau_county, **{"from": "2024-01-01", "to": "2024-01-31"})
    assert long_ago["totals"]["alerts"]["total"] == 0 and long_ago["totals"]["harvest"]["batches"] == 0


def test_refresh_follows_new_data(app, client, world, figures):
    from bureau import service as bureau
    from farms import service as farms

    before = summary(client, world.bureau_county, period="day")["totals"]["alerts"]["total"]
    farms.raise_alert(world.farm_a.id, "weather", "cap-9", "blue", {"zh": {"title": "大风"}, "en": {"title": "Wind"}})
    assert summary(client, world.bureau_county, period="day")["totals"]["alerts"]["total"] == before  # not yet
    with app.app_context():
        report = bureau.refresh()
    # Today, yesterday and the days whose data changed since the last run (the fixture's): not 60 days of history.
    assert report.days < 10
    assert summary(client, world.bureau_county, period="day")["totals"]["alerts"]["total"] == before + 1


def test_csv_opens_in_excel_with_chinese(client, world, figures):
    response = client.get("/api/v1/bureau/summary", query_string={"group_by": "county", "from": figures["from"],
                                                                 "to": figures["to"]},
                          headers=dict(bearer(world.bureau_city), Accept="text/csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["区划代码", "区划", "农场"]
    xinfeng = next(r for r in rows if r[0] == "360722")
    assert xinfeng[1] == "信丰县" and xinfeng[2] == "1"
    assert rows[-1][1] == "赣州市（合计）" and rows[-1][2] == "2"
    again = client.get("/api/v1/bureau/summary?format=csv&group_by=crop", headers=bearer(world.bureau_city))
    assert again.data.decode("utf-8-sig").splitlines()[0].startswith("作物代码,作物")


@pytest.mark.parametrize("query, field", [
    ({"division": "999999"}, "division"), ({"division": "36072"}, "division"), ({"group_by": "farm"}, "group_by"),
    ({"from": "2026-05-01", "to": "2026-04-01"}, "from"), ({"from": "2019-01-01", "to": "2026-01-01"}, "to"),
    ({"from": "yesterday"}, "from"), ({"period": "year"}, "period"), ({"format": "xls"}, "format"),
    ({"colour": "red"}, "colour"),
])
def test_bad_parameters_get_400_with_the_error_body(client, world, query, field):
    response = client.get("/api/v1/bureau/summary", query_string=query, headers=bearer(world.bureau_province))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and field in error["fields"]
