"""farms.service, called directly: who sees and changes which farm, and what each function
stores or refuses. Every test runs on SQLite and on PostgreSQL (the ``world`` fixture)."""
import datetime as dt
import json

import pytest

from farms import service
from farms.models import (MU_IN_M2, Certification, Crop, Farm, FarmMember, InputProduct, Log, LogPlot, Planting,
                          Plot)
from tests.helpers import TZ
from web.accounts import service as accounts
from web.accounts.models import Organisation
from web.db import Conflict, ValidationError
from web.permissions import Access, Denied


def at(*args):
    """A Shanghai wall-clock time, as forms and the API hand it to the service."""
    return dt.datetime(*args, tzinfo=TZ)


def denied(status, call, *args, **kwargs):
    with pytest.raises(Denied) as refused:
        call(*args, **kwargs)
    assert refused.value.status == status, refused.value.message


def invalid(call, *args, **kwargs):
    """The ValidationError ``call`` raises; its ``fields`` name what to correct."""
    with pytest.raises(ValidationError) as refused:
        call(*args, **kwargs)
    return refused.value


def crop(code):
    return Crop.get(Crop.code == code).id


def product(code):
    return InputProduct.get(InputProduct.code == code)


# ---------------------------------------------------------------- who sees which farm


def test_each_role_sees_the_farms_of_its_scope(app, world):
    def names(user):
        return sorted(f.name for f in service.visible_farms(user))

    both = sorted([world.farm_a.name, world.farm_b.name])
    assert names(world.farmer_a) == [world.farm_a.name]  # owner
    assert names(world.worker_a) == [world.farm_a.name]  # worker
    assert names(world.farmer_b) == [world.farm_b.name]
    assert names(world.operator) == [world.farm_a.name]  # the cooperative's farms
    assert names(world.inspector) == both and names(world.admin) == both
    assert names(world.bureau_county) == [world.farm_a.name]  # 信丰县 360722
    assert names(world.bureau_city) == [world.farm_a.name]  # 赣州市 holds 信丰县
    assert names(world.bureau_other_city) == [world.farm_b.name]  # 抚州市 holds 南丰县
    assert names(world.bureau_province) == both
    assert names(world.stranger) == [] and names(None) == []


def test_access_levels_on_a_farm(app, world):
    farm = world.farm_a
    assert service.access_to(world.farmer_a, farm) == Access.MANAGE
    assert service.access_to(world.worker_a, farm) == Access.LOG
    assert service.access_to(world.operator, farm) == Access.VIEW
    assert service.access_to(world.bureau_city, farm) == Access.VIEW
    assert service.access_to(world.farmer_b, farm) == Access.NONE
    assert service.access_to(world.bureau_other_city, farm) == Access.NONE
    assert service.access_to(None, farm) == Access.NONE
    assert service.member_role(world.worker_a, farm) == "worker" and service.member_role(world.farmer_b, farm) is None
    assert service.access_to_farm_id(world.admin, farm.id) == Access.MANAGE
    assert service.access_to_farm_id(world.admin, farm.id + 1000) == Access.NONE


def test_getters_hide_what_one_may_not_view_and_refuse_what_one_may_not_change(app, world):
    assert service.get_farm(world.operator, world.farm_a.id).id == world.farm_a.id
    denied(404, service.get_farm, world.farmer_b, world.farm_a.id)  # its existence is not disclosed
    denied(404, service.get_farm, world.admin, world.farm_a.id + 1000)
    denied(403, service.get_farm, world.operator, world.farm_a.id, need=Access.MANAGE)
    denied(403, service.get_farm, world.worker_a, world.farm_a.id, need=Access.MANAGE)
    assert service.get_plot(world.worker_a, world.plot_a.id, need=Access.LOG).farm.id == world.farm_a.id
    denied(404, service.get_plot, world.farmer_b, world.plot_a.id)
    denied(404, service.get_plot, world.admin, world.plot_b.id + 1000)
    planting = service.get_planting(world.bureau_county, world.planting_a.id)
    assert planting.crop.code == "navel_orange" and planting.plot.farm.id == world.farm_a.id
    denied(404, service.get_planting, world.bureau_county, world.planting_b.id)
    denied(403, service.get_planting, world.bureau_county, world.planting_a.id, need=Access.LOG)
    assert service.get_log(world.inspector, world.log_b.id).farm.id == world.farm_b.id
    denied(404, service.get_log, world.farmer_a, world.log_b.id)
    denied(404, service.get_log, world.admin, world.log_b.id + 1000)


def test_farm_ids_with_access(app, world):
    assert service.farm_ids_with_access(world.farmer_a) == [world.farm_a.id]
    assert service.farm_ids_with_access(world.worker_a) == [world.farm_a.id]
    assert service.farm_ids_with_access(world.worker_a, Access.MANAGE) == []
    assert service.farm_ids_with_access(world.operator) == []  # operators view, they do not log
    assert service.farm_ids_with_access(world.operator, Access.VIEW) == [world.farm_a.id]
    assert sorted(service.farm_ids_with_access(world.admin, Access.MANAGE)) == sorted([world.farm_a.id,
                                                                                       world.farm_b.id])


# ---------------------------------------------------------------- farms


def test_a_farmer_without_an_organisation_gets_one_and_owns_the_farm(app, world):
    farm = service.create_farm(world.stranger, {"name": "安远梨园", "county_code": "360726", "address": "安远县",
                                                "certifications": ["organic", "green_food"]})
    organisation = Organisation.get_by_id(farm.organisation_id)
    assert (organisation.name, organisation.kind, organisation.division_code) == ("安远梨园", "farm", "360726")
    assert service.member_role(world.stranger, farm) == "owner"
    assert service.access_to(world.stranger, farm) == Access.MANAGE
    assert service.farm_certifications(farm) == ["green_food", "organic"]
    stored = Farm.get_by_id(farm.id)
    assert (stored.name, stored.county_code, stored.address, stored.latitude) == ("安远梨园", "360726", "安远县", None)


def test_a_farmer_of_an_organisation_creates_the_farm_for_it_and_an_admin_is_no_member(app, world):
    second = service.create_farm(world.farmer_a, {"name": "A 二号园", "county_code": "360722"})
    assert second.organisation_id == world.farm_a.organisation_id
    assert [f.id for f in service.visible_farms(world.operator).order_by(Farm.id)] == [world.farm_a.id, second.id]
    by_admin = service.create_farm(world.admin, {"name": "示范园", "county_code": "360722"})
    assert FarmMember.select().where(FarmMember.farm == by_admin).count() == 0
    assert Organisation.get_by_id(by_admin.organisation_id).name == "示范园"


def test_farm_creation_is_refused_to_other_roles_and_for_bad_counties(app, world):
    farms_before = Farm.select().count()
    for user in (world.operator, world.inspector, world.bureau_county, None):
        denied(403, service.create_farm, user, {"name": "X", "county_code": "360722"})
    for code in ("999999", "360700", "360000", "", None):  # unknown, a city, a province, missing
        error = invalid(service.create_farm, world.farmer_a, {"name": "X", "county_code": code})
        assert set(error.fields) == {"county_code"}
    with pytest.raises(Conflict) as clash:
        service.create_farm(world.farmer_a, {"name": world.farm_a.name, "county_code": "360722"})
    assert set(clash.value.fields) == {"name"}
    assert Farm.select().count() == farms_before


def test_update_farm_changes_what_is_given_and_checks_it(app, world):
    farm = service.update_farm(world.farmer_a, world.farm_a, {
        "name": "A 脐橙园", "address": None, "county_code": "360726", "certifications": ["geographical_indication"]})
    stored = Farm.get_by_id(farm.id)
    assert (stored.name, stored.address, stored.county_code) == ("A 脐橙园", "", "360726")
    assert (stored.latitude, stored.longitude) == (25.38, 114.92)  # not given, kept
    assert service.farm_certifications(stored) == ["geographical_indication"]
    service.update_farm(world.farmer_a, stored, {"certifications": ["organic", "geographical_indication"]})
    assert service.farm_certifications(stored) == ["geographical_indication", "organic"]
    service.update_farm(world.farmer_a, stored, {"certifications": []})
    assert Certification.select().where(Certification.farm == stored).count() == 0
    service.update_farm(world.farmer_a, stored, {"latitude": None, "longitude": None})
    assert Farm.get_by_id(farm.id).latitude is None and Farm.get_by_id(farm.id).longitude is None


def test_update_farm_refusals_leave_the_farm_as_it_was(app, world):
    other = service.create_farm(world.farmer_a, {"name": "A 二号园", "county_code": "360722"})
    with pytest.raises(Conflict):
        service.update_farm(world.farmer_a, Farm.get_by_id(other.id), {"name": world.farm_a.name})
    error = invalid(service.update_farm, world.farmer_a, Farm.get_by_id(world.farm_a.id), {"latitude": None})
    assert set(error.fields) == {"longitude"}
    error = invalid(service.update_farm, world.farmer_a, Farm.get_by_id(world.farm_a.id), {"county_code": "360700"})
    assert set(error.fields) == {"county_code"}
    denied(403, service.update_farm, world.worker_a, world.farm_a, {"name": "改名"})
    denied(403, service.update_farm, world.operator, world.farm_a, {"name": "改名"})
    denied(404, service.update_farm, world.farmer_b, world.farm_a, {"name": "改名"})
    stored = Farm.get_by_id(world.farm_a.id)
    assert (stored.name, stored.latitude, stored.county_code) == ("A 果园", 25.38, "360722")
    assert Farm.get_by_id(other.id).name == "A 二号园"


def test_members(app, world):
    with pytest.raises(ValidationError) as bad_role:
        service.add_member(world.farm_a, world.farmer_b, "manager")
    assert set(bad_role.value.fields) == {"role"}
    with pytest.raises(ValidationError) as not_a_farmer:
        service.add_member(world.farm_a, world.operator, "worker")
    assert set(not_a_farmer.value.fields) == {"user"}
    assert service.access_to(world.farmer_b, world.farm_a) == Access.NONE
    service.add_member(world.farm_a, world.farmer_b, "worker")
    assert service.access_to(world.farmer_b, world.farm_a) == Access.LOG
    again = service.add_member(world.farm_a, world.farmer_b, "owner")  # a change of role, not a second row
    assert again.role == "owner" and service.access_to(world.farmer_b, world.farm_a) == Access.MANAGE
    assert [(m.user.username, m.role) for m in service.farm_members(world.farm_a)] == [
        ("farmer_a", "owner"), ("farmer_b", "owner"), ("worker_a", "worker")]
    assert sorted(u.username for u in service.farm_people(world.farm_a.id)) == ["farmer_a", "farmer_b", "worker_a"]


def test_farm_people_are_the_active_members_only(app, world):
    from web.accounts.models import User

    User.update(active=False).where(User.id == world.worker_a.id).execute()
    assert [u.username for u in service.farm_people(world.farm_a.id)] == ["farmer_a"]


def test_public_farm_shows_no_people(app, world):
    service.update_farm(world.farmer_a, world.farm_a, {"certifications": ["green_food"]})
    public = service.public_farm(world.farm_a.id)
    assert public == {"id": world.farm_a.id, "name": "A 果园", "county_code": "360722",
                      "county": "江西省 赣州市 信丰县", "certifications": ["green_food"],
                      "organisation_id": world.farm_a.organisation_id}
    assert service.public_farm(world.farm_a.id + 1000) is None


def test_farms_for_matching_weather_warnings(app, world):
    rows = sorted(service.farms_for_matching(), key=lambda f: f["id"])
    assert rows == [
        {"id": world.farm_a.id, "name": "A 果园", "county_code": "360722", "latitude": 25.38, "longitude": 114.92},
        {"id": world.farm_b.id, "name": "B 橘园", "county_code": "361023", "latitude": None, "longitude": None}]


# ---------------------------------------------------------------- plots


def test_plots_convert_mu_and_keep_geometry_compact(app, world):
    assert service.area_to_m2(3, "mu") == pytest.approx(2000) and service.area_to_m2(3, "m2") == 3
    polygon = '{"type": "Polygon",\n "coordinates": [[[114.9, 25.3], [114.91, 25.3], [114.9, 25.31], [114.9, 25.3]]]}'
    plot = service.create_plot(world.farmer_a, world.farm_a, {
        "name": "2号园", "kind": "orchard", "area": 12, "area_unit": "mu", "geometry": polygon})
    stored = Plot.get_by_id(plot.id)
    assert stored.area_m2 == pytest.approx(12 * MU_IN_M2, abs=0.01) and stored.area_mu == pytest.approx(12, abs=1e-4)
    assert stored.geometry == json.dumps(json.loads(polygon), separators=(",", ":")) and "\n" not in stored.geometry
    assert stored.notes == ""
    in_m2 = service.create_plot(world.farmer_a, world.farm_a, {"name": "育苗棚", "kind": "greenhouse", "area": 350,
                                                               "area_unit": "m2"})
    assert Plot.get_by_id(in_m2.id).area_m2 == 350 and Plot.get_by_id(in_m2.id).geometry is None
    assert [p.name for p in service.plots_of(world.farm_a)] == sorted(["1号园", "2号园", "育苗棚"])


def test_plot_names_are_unique_per_farm_and_only_managers_add_plots(app, world):
    with pytest.raises(Conflict) as clash:
        service.create_plot(world.farmer_a, world.farm_a, {"name": "1号园", "kind": "orchard", "area": 1})
    assert set(clash.value.fields) == {"name"}
    # the same name on another farm is fine
    service.create_plot(world.farmer_b, world.farm_b, {"name": "1号园", "kind": "orchard", "area": 1})
    denied(403, service.create_plot, world.worker_a, world.farm_a, {"name": "3号园", "kind": "field", "area": 1})
    denied(404, service.create_plot, world.farmer_b, world.farm_a, {"name": "3号园", "kind": "field", "area": 1})
    assert [p.name for p in service.plots_of(world.farm_a)] == ["1号园"]


def test_update_plot(app, world):
    other = service.create_plot(world.farmer_a, world.farm_a, {"name": "2号园", "kind": "orchard", "area": 1})
    with pytest.raises(Conflict):
        service.update_plot(world.farmer_a, service.get_plot(world.farmer_a, other.id), {"name": "1号园"})
    plot = service.get_plot(world.farmer_a, world.plot_a.id)
    service.update_plot(world.farmer_a, plot, {"name": "一号园", "notes": None, "area": 1500, "area_unit": "m2",
                                               "geometry": ""})
    stored = Plot.get_by_id(world.plot_a.id)
    assert (stored.name, stored.notes, stored.area_m2, stored.geometry, stored.kind) == (
        "一号园", "", 1500, None, "orchard")
    service.update_plot(world.farmer_a, stored, {"area": 2})  # the unit defaults to mu
    assert Plot.get_by_id(world.plot_a.id).area_m2 == pytest.approx(2 * MU_IN_M2, abs=0.01)
    denied(403, service.update_plot, world.worker_a, stored, {"name": "改名"})
    denied(404, service.update_plot, world.farmer_b, stored, {"name": "改名"})
    assert Plot.get_by_id(world.plot_a.id).name == "一号园"


# ---------------------------------------------------------------- plantings


def test_workers_add_plantings_from_the_catalogue(app, world):
    planting = service.create_planting(world.worker_a, world.plot_a, {
        "crop": crop("navel_orange"), "variety": None, "start_method": "transplanted",
        "start_date": dt.date(2024, 3, 1), "expected_harvest": dt.date(2026, 11, 20)})
    stored = Planting.get_by_id(planting.id)
    assert (stored.variety, stored.start_method, stored.notes, stored.ended_on) == ("", "transplanted", "", None)
    default = service.create_planting(world.farmer_a, world.plot_a, {"crop": crop("tea"),
                                                                      "start_date": dt.date(2025, 4, 1)})
    assert Planting.get_by_id(default.id).start_method == "sown"
    error = invalid(service.create_planting, world.farmer_a, world.plot_a, {"crop": 10_000,
                                                                             "start_date": dt.date(2025, 1, 1)})
    assert set(error.fields) == {"crop"}
    denied(403, service.create_planting, world.operator, world.plot_a, {"crop": crop("tea"),
                                                                        "start_date": dt.date(2025, 1, 1)})
    denied(404, service.create_planting, world.farmer_b, world.plot_a, {"crop": crop("tea"),
                                                                        "start_date": dt.date(2025, 1, 1)})
    assert Planting.select().where(Planting.plot == world.plot_a).count() == 3


def test_update_planting_keeps_dates_in_order(app, world):
    planting = service.get_planting(world.farmer_a, world.planting_a.id)
    error = invalid(service.update_planting, world.farmer_a, planting, {"ended_on": dt.date(2018, 1, 1)})
    assert set(error.fields) == {"start_date"}
    planting = service.get_planting(world.farmer_a, world.planting_a.id)
    error = invalid(service.update_planting, world.farmer_a, planting, {"expected_harvest": dt.date(2019, 2, 1)})
    assert set(error.fields) == {"start_date"}
    planting = service.get_planting(world.farmer_a, world.planting_a.id)
    assert set(invalid(service.update_planting, world.farmer_a, planting, {"crop": 10_000}).fields) == {"crop"}
    stored = Planting.get_by_id(world.planting_a.id)
    assert (stored.ended_on, stored.expected_harvest, stored.crop_id) == (None, None, crop("navel_orange"))

    service.update_planting(world.worker_a, service.get_planting(world.worker_a, world.planting_a.id), {
        "ended_on": dt.date(2026, 1, 10), "variety": None, "notes": "老树更新", "crop": crop("nanfeng_tangerine")})
    stored = Planting.get_by_id(world.planting_a.id)
    assert (stored.ended_on, stored.variety, stored.notes, stored.crop_id) == (
        dt.date(2026, 1, 10), "", "老树更新", crop("nanfeng_tangerine"))
    denied(403, service.update_planting, world.operator, stored, {"notes": "x"})


def test_plantings_of_lists_current_ones_first(app, world):
    ended = service.create_planting(world.farmer_a, world.plot_a, {
        "crop": crop("tea"), "start_date": dt.date(2025, 1, 1), "ended_on": dt.date(2025, 6, 1)})
    newer = service.create_planting(world.farmer_a, world.plot_a, {"crop": crop("rice"),
                                                                   "start_date": dt.date(2024, 5, 1)})
    assert [p.id for p in service.plantings_of(world.plot_a)] == [newer.id, world.planting_a.id, ended.id]
    assert [p.id for p in service.plantings_of(world.plot_a, include_ended=False)] == [newer.id,
                                                                                        world.planting_a.id]


def test_crops_on_farm_count_current_plantings_and_greenhouses(app, world):
    assert service.crops_on_farm(world.farm_a.id) == {"crops": ["navel_orange"], "categories": ["fruit"],
                                                      "greenhouse": False}
    service.create_planting(world.farmer_a, world.plot_a, {"crop": crop("tea"), "start_date": dt.date(2025, 1, 1),
                                                           "ended_on": dt.date(2025, 6, 1)})  # ended: not counted
    service.create_plot(world.farmer_a, world.farm_a, {"name": "大棚", "kind": "greenhouse", "area": 1})
    assert service.crops_on_farm(world.farm_a.id) == {"crops": ["navel_orange"], "categories": ["fruit"],
                                                      "greenhouse": True}
    assert service.crops_on_farm(world.farm_b.id)["crops"] == ["nanfeng_tangerine"]


# ---------------------------------------------------------------- the farm log


def test_an_input_log_takes_what_the_farmer_left_empty_from_the_catalogue(app, world):
    abamectin = product("abamectin_1_8ec")
    log = service.create_log(world.worker_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 2, 7, 30), "plots": [world.plot_a.id, world.plot_a.id],
        "input_product": abamectin.id, "dose": 30, "phi_days": 21, "planting": world.planting_a.id})
    stored = Log.get_by_id(log.id)
    assert (stored.product_name, stored.active_ingredient, stored.input_category, stored.dose_unit) == (
        "1.8%阿维菌素乳油", "阿维菌素 abamectin", "acaricide", "ml/亩")
    assert stored.phi_days == 21  # the farmer's interval wins over the label's 14
    assert stored.timestamp == dt.datetime(2026, 9, 1, 23, 30)  # stored in UTC
    assert stored.created_by_id == world.worker_a.id and stored.planting_id == world.planting_a.id
    assert [lp.plot_id for lp in LogPlot.select().where(LogPlot.log == log)] == [world.plot_a.id]
    assert (stored.notes, stored.unit, stored.lot_number, stored.quantity) == ("", "", "", None)


def test_an_input_log_without_a_catalogue_product(app, world):
    log = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 3, 8), "plots": [world.plot_a.id], "input_category": "fertiliser",
        "product_name": "自制沼液", "dose": 2, "dose_unit": "t/亩"})
    stored = Log.get_by_id(log.id)
    assert (stored.input_product_id, stored.phi_days, stored.product_name) == (None, None, "自制沼液")
    error = invalid(service.create_log, world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 3, 8), "plots": [world.plot_a.id], "input_category": "magic",
        "product_name": "某药", "dose": 2, "dose_unit": "ml/亩"})
    assert set(error.fields) == {"input_category"}
    error = invalid(service.create_log, world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 3, 8), "plots": [world.plot_a.id], "input_product": 10_000})
    # One message on the picker; the name and unit (which the product gives) are not marked as well.
    assert set(error.fields) == {"input_product", "dose"}


@pytest.mark.parametrize("changes, fields", [
    ({"kind": "dance"}, {"kind"}),
    ({"plots": []}, {"plots"}),
    ({"plots": "B"}, {"plots"}),  # farm B's plot: not on this farm
    ({"planting": "B"}, {"planting"}),  # farm B's planting: not on the chosen plots
    ({"activity_kind": None}, {"activity_kind"}),
    ({"dose": 3, "product_name": "x"}, {"dose", "product_name"}),
    ({"lot_number": "L1"}, {"lot_number"}),
    ({"quantity": 5}, {"unit"}),
    ({"unit": "kg"}, {"unit"}),
    ({"timestamp": None}, {"timestamp"}),
    ({"timestamp": "2026-09-01T08:00:00+08:00"}, {"timestamp"}),  # the service takes datetimes only
    ({"timestamp": "tomorrow+2"}, {"timestamp"}),
])
def test_log_refusals_name_the_fields_and_write_nothing(app, world, changes, fields):
    data = {"kind": "activity", "timestamp": at(2026, 9, 5, 9), "plots": [world.plot_a.id],
            "activity_kind": "pruning"}
    for key, value in changes.items():
        if value == "B":
            value = [world.plot_b.id] if key == "plots" else world.planting_b.id
        if value == "tomorrow+2":
            value = dt.datetime.now(TZ) + dt.timedelta(days=2)
        data[key] = value
    logs, links = Log.select().count(), LogPlot.select().count()
    error = invalid(service.create_log, world.farmer_a, world.farm_a, data)
    assert set(error.fields) == fields, error.fields
    assert (Log.select().count(), LogPlot.select().count()) == (logs, links)


def test_harvest_and_pesticide_rules(app, world):
    error = invalid(service.create_log, world.farmer_a, world.farm_a, {
        "kind": "harvest", "timestamp": at(2026, 11, 20, 9), "plots": [world.plot_a.id]})
    assert set(error.fields) == {"quantity", "unit"}
    error = invalid(service.create_log, world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 3, 8), "plots": [world.plot_a.id], "input_category": "fungicide",
        "product_name": "某杀菌剂", "dose": 2, "dose_unit": "g/亩"})
    assert set(error.fields) == {"phi_days"}  # a pesticide needs its interval
    harvest = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "harvest", "timestamp": at(2026, 11, 20, 9), "plots": [world.plot_a.id], "quantity": 1200,
        "unit": "kg", "lot_number": "XF-1120", "planting": world.planting_a.id})
    assert (Log.get_by_id(harvest.id).quantity, Log.get_by_id(harvest.id).lot_number) == (1200, "XF-1120")
    # a day ahead is allowed (a farmer logs tomorrow morning's work tonight)
    service.create_log(world.farmer_a, world.farm_a, {
        "kind": "observation", "timestamp": dt.datetime.now(TZ) + dt.timedelta(hours=20), "plots": [world.plot_a.id],
        "notes": "明早巡园"})


def test_only_members_log_and_viewers_are_refused(app, world):
    data = {"kind": "activity", "timestamp": at(2026, 9, 5, 9), "plots": [world.plot_a.id],
            "activity_kind": "weeding"}
    denied(403, service.create_log, world.operator, world.farm_a, data)
    denied(403, service.create_log, world.bureau_county, world.farm_a, data)
    denied(404, service.create_log, world.farmer_b, world.farm_a, data)
    assert service.create_log(world.admin, world.farm_a, data).created_by_id == world.admin.id


def test_logs_query_filters_by_local_day_kind_plot_and_visibility(app, world):
    early = service.create_log(world.farmer_a, world.farm_a, {  # 2026-08-31 23:00 UTC: 1 September in China
        "kind": "observation", "timestamp": at(2026, 9, 1, 7), "plots": [world.plot_a.id], "notes": "露水重"})
    second = service.create_plot(world.farmer_a, world.farm_a, {"name": "2号园", "kind": "orchard", "area": 1})
    late = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "activity", "timestamp": at(2026, 9, 2, 23, 59), "plots": [second.id], "activity_kind": "mowing"})

    def ids(user, **filters):
        return [log.id for log in service.logs_query(user, **filters)]

    assert ids(world.farmer_a) == [late.id, world.log_a.id, early.id]  # newest first
    assert ids(world.farmer_b) == [world.log_b.id]
    assert sorted(ids(world.inspector)) == sorted([late.id, world.log_a.id, early.id, world.log_b.id])
    assert ids(world.stranger) == []
    assert ids(world.admin, farm=world.farm_a, kind="observation") == [early.id]
    assert ids(world.farmer_a, plot=second) == [late.id]
    day = dt.date(2026, 9, 1)
    assert ids(world.farmer_a, since=day, until=day) == [world.log_a.id, early.id]
    assert ids(world.farmer_a, until=dt.date(2026, 8, 31)) == []
    assert ids(world.farmer_a, since=dt.date(2026, 9, 2)) == [late.id]
    assert ids(world.farmer_a, farm=world.farm_b) == []  # a farm one may not see gives nothing


def test_plots_of_logs_and_recent_products(app, world):
    second = service.create_plot(world.farmer_a, world.farm_a, {"name": "0号园", "kind": "orchard", "area": 1})
    both = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 10, 8), "plots": [world.plot_a.id, second.id],
        "input_product": product("urea").id, "dose": 10})
    plots = service.plots_of_logs([both, world.log_a])
    assert [p.name for p in plots[both.id]] == ["0号园", "1号园"] and [p.id for p in plots[world.log_a.id]] == [
        world.plot_a.id]
    assert service.plots_of_logs([]) == {}
    assert service.recent_product_ids(world.farm_a)[0] == product("urea").id
    assert service.recent_product_ids(world.farm_b) == []  # farm B logged pruning only


def test_input_applications_for_traceability(app, world):
    urea = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "input", "timestamp": at(2026, 9, 10, 8), "plots": [world.plot_a.id],
        "input_product": product("urea").id, "dose": 10})
    everything = service.input_applications([world.plot_a.id])
    assert [a["log_id"] for a in everything] == [urea.id, world.log_a.id]
    assert everything[1] == {"log_id": world.log_a.id, "applied_at": dt.datetime(2026, 9, 1, 0, 0),
                             "product_name": "1.8%阿维菌素乳油", "active_ingredient": "阿维菌素 abamectin",
                             "category": "acaricide", "dose": 40, "dose_unit": "ml/亩", "phi_days": 14}
    assert [a["log_id"] for a in service.input_applications([world.plot_a.id], pesticides_only=True)] == [
        world.log_a.id]
    assert [a["log_id"] for a in service.input_applications(
        [world.plot_a.id], since=dt.datetime(2026, 9, 5), until=dt.datetime(2026, 9, 30))] == [urea.id]
    assert service.input_applications([world.plot_b.id]) == []


def test_harvest_record_finds_the_crop(app, world):
    harvest = service.create_log(world.farmer_a, world.farm_a, {  # names no planting
        "kind": "harvest", "timestamp": at(2026, 11, 20, 9), "plots": [world.plot_a.id], "quantity": 800,
        "unit": "kg", "lot_number": "XF-1120"})
    record = service.harvest_record(world.worker_a, harvest.id)
    assert (record.planting_id, record.crop_code, record.variety, record.crop_name_zh) == (
        world.planting_a.id, "navel_orange", "纽荷尔", "赣南脐橙")
    assert (record.farm_name, record.county_code, record.plot_names, record.quantity, record.lot_number) == (
        "A 果园", "360722", ("1号园",), 800, "XF-1120")
    assert record.harvested_at == dt.datetime(2026, 11, 20, 1, 0)
    assert record.organisation_id == world.farm_a.organisation_id

    assert set(invalid(service.harvest_record, world.farmer_a, world.log_a.id).fields) == {"harvest_log"}
    denied(403, service.harvest_record, world.operator, harvest.id)  # may view, may not act for the farm
    denied(404, service.harvest_record, world.farmer_b, harvest.id)
    bare = service.create_plot(world.farmer_a, world.farm_a, {"name": "空地", "kind": "field", "area": 1})
    unplanted = service.create_log(world.farmer_a, world.farm_a, {
        "kind": "harvest", "timestamp": at(2026, 11, 20, 9), "plots": [bare.id], "quantity": 1, "unit": "kg"})
    assert set(invalid(service.harvest_record, world.farmer_a, unplanted.id).fields) == {"harvest_log"}


def test_observations_recorded_by_the_system(app, world):
    log = service.record_observation(world.farm_a.id, [world.plot_a.id], at(2026, 9, 1, 8), "大棚日报",
                                     quantity=3, unit="h")
    stored = Log.get_by_id(log.id)
    assert (stored.kind, stored.created_by_id, stored.timestamp, stored.quantity, stored.unit) == (
        "observation", None, dt.datetime(2026, 9, 1, 0, 0), 3, "h")
    naive = service.record_observation(world.farm_a.id, [world.plot_a.id], dt.datetime(2026, 9, 2, 0, 0), "日报")
    assert Log.get_by_id(naive.id).timestamp == dt.datetime(2026, 9, 2, 0, 0)  # naive means UTC already
    count = Log.select().count()
    assert set(invalid(service.record_observation, world.farm_a.id, [world.plot_b.id], at(2026, 9, 1, 8),
                       "x").fields) == {"plots"}
    assert set(invalid(service.record_observation, world.farm_a.id, [], at(2026, 9, 1, 8), "x").fields) == {"plots"}
    assert set(invalid(service.record_observation, world.farm_a.id, [world.plot_a.id], at(2026, 9, 1, 8), "x",
                       quantity=3).fields) == {"unit"}
    assert Log.select().count() == count


# ---------------------------------------------------------------- catalogues


def test_catalogues_are_listed_by_category_and_reloaded_from_the_files(app, world):
    crops = service.crops()
    assert len(crops) == 15 and "navel_orange" in {c.code for c in crops}
    assert [c.category for c in crops] == sorted(c.category for c in crops)
    products = service.input_products()
    assert len(products) == 25 and [p.category for p in products] == sorted(p.category for p in products)
    assert {p.code: p.phi_days for p in products}["abamectin_1_8ec"] == 14
    # a catalogue row edited in the database is put back as the file says; nothing is duplicated
    InputProduct.update(phi_days=1, name_zh="改过的名字").where(InputProduct.code == "abamectin_1_8ec").execute()
    Crop.update(name_en="Oranges").where(Crop.code == "navel_orange").execute()
    assert service.load_catalogues() == (15, 25)
    assert (product("abamectin_1_8ec").phi_days, product("abamectin_1_8ec").name_zh) == (14, "1.8%阿维菌素乳油")
    assert Crop.get(Crop.code == "navel_orange").name_en == "Gannan navel orange"
    assert (Crop.select().count(), InputProduct.select().count()) == (15, 25)


@pytest.mark.parametrize("run", ["first", "second"])
def test_reference_data_edited_by_a_test_is_fresh_in_the_next(app, world, run):
    """Every test starts from the freshly migrated reference data, on PostgreSQL as on SQLite: each
    run edits the catalogue, and the other run (and the catalogue test above) still sees it as the
    files give it, whichever runs first."""
    assert product("abamectin_1_8ec").phi_days == 14 and Crop.get(Crop.code == "tea").name_zh == "茶叶"
    assert InputProduct.get_or_none(InputProduct.code == "urea") is not None
    assert len(service.crops()) == 15 and len(service.input_products()) == 25
    Crop.update(name_zh="红茶").where(Crop.code == "tea").execute()
    InputProduct.delete().where(InputProduct.code == "urea").execute()
    InputProduct.update(phi_days=99).where(InputProduct.code == "abamectin_1_8ec").execute()
    Crop.create(code="kiwi", name_zh="猕猴桃", name_en="Kiwi", category="fruit")
    assert len(service.crops()) == 16 and len(service.input_products()) == 24


# ---------------------------------------------------------------- alerts


def test_open_alerts_most_severe_first_and_acknowledgement(app, world):
    content = {"zh": {"title": "预警"}, "en": {"title": "Warning"}}
    yellow, _ = service.raise_alert(world.farm_a.id, "weather", "w:1", "yellow", content)
    red, _ = service.raise_alert(world.farm_a.id, "sensor", "s:1", "red", content, plot_id=world.plot_a.id)
    other, _ = service.raise_alert(world.farm_b.id, "weather", "w:1", "orange", content)
    assert [a.id for a in service.open_alerts(world.farmer_a)] == [red.id, yellow.id]
    assert [a.id for a in service.open_alerts(world.inspector)] == [red.id, other.id, yellow.id]
    assert [a.id for a in service.open_alerts(world.admin, farm=world.farm_b)] == [other.id]
    assert [a.id for a in service.open_alerts(world.admin, limit=1)] == [red.id]
    denied(404, service.get_alert, world.farmer_b, red.id)
    denied(403, service.acknowledge_alert, world.operator, red.id)
    seen = service.acknowledge_alert(world.worker_a, red.id)
    assert seen.acknowledged_by_id == world.worker_a.id and seen.acknowledged_at is not None
    assert service.acknowledge_alert(world.farmer_a, red.id).acknowledged_by_id == world.worker_a.id  # first stays
    # the same severity again keeps the acknowledgement; a clear then a new raise asks again
    service.raise_alert(world.farm_a.id, "sensor", "s:1", "red", content)
    assert service.get_alert(world.farmer_a, red.id).acknowledged_at is not None
    assert service.clear_alerts("sensor", "s:1", farm_id=world.farm_b.id) == 0
    assert service.clear_alerts("sensor", "s:1", farm_id=world.farm_a.id) == 1
    assert [a.id for a in service.open_alerts(world.farmer_a)] == [yellow.id]
    _again, renewed = service.raise_alert(world.farm_a.id, "sensor", "s:1", "orange", content)
    assert renewed and service.get_alert(world.farmer_a, red.id).acknowledged_at is None


def test_alert_text_falls_back_to_chinese(app, world):
    alert, _ = service.raise_alert(world.farm_a.id, "weather", "w:2", "blue", {"zh": {"title": "大风蓝色预警"}})
    assert service.alert_text(alert, "en") == {"title": "大风蓝色预警"}
    both, _ = service.raise_alert(world.farm_a.id, "weather", "w:3", "blue", {"zh": {"title": "大风"},
                                                                              "en": {"title": "Gale"}})
    assert service.alert_text(both, "en_US")["title"] == "Gale" and service.alert_text(both, "zh")["title"] == "大风"
