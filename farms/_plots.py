"""Plots and plantings: creating, editing and archiving them, what other domains read of a plot
(its profile for rules and advice, the crops on a farm), and the catalogues of crops and inputs."""
import json

from flask_babel import gettext as _

from farms import catalogue
from farms._access import access_to
from farms.models import MU_IN_M2, Crop, InputProduct, Planting, Plot
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web.permissions import Access, require


def area_to_m2(area, unit):
    return area * MU_IN_M2 if unit == "mu" else area


def plots_of(farm):
    return Plot.select().where(Plot.farm == farm).order_by(Plot.name)


def create_plot(user, farm, data):
    require(access_to(user, farm), Access.MANAGE)
    with database.atomic():
        if Plot.get_or_none((Plot.farm == farm) & (Plot.name == data["name"])):
            raise Conflict(_("A plot with this name exists on this farm."), {"name": _("Already taken.")})
        return Plot.create(farm=farm, name=data["name"], kind=data["kind"],
                           area_m2=round(area_to_m2(data["area"], data.get("area_unit") or "mu"), 2),
                           geometry=_geometry_text(data.get("geometry")), notes=data.get("notes") or "")


def update_plot(user, plot, data):
    require(access_to(user, plot.farm), Access.MANAGE)
    with database.atomic():
        if "name" in data and Plot.get_or_none((Plot.farm == plot.farm_id) & (Plot.name == data["name"])
                                               & (Plot.id != plot.id)):
            raise Conflict(_("A plot with this name exists on this farm."), {"name": _("Already taken.")})
        for key in ("name", "kind", "notes"):
            if key in data:
                setattr(plot, key, data[key] or "")
        if "area" in data:
            plot.area_m2 = round(area_to_m2(data["area"], data.get("area_unit") or "mu"), 2)
        if "geometry" in data:
            plot.geometry = _geometry_text(data["geometry"])
        plot.save()
    return plot


def _geometry_text(value):
    if not value:
        return None
    return json.dumps(json.loads(value), separators=(",", ":"))


def archive_plot(user, plot, archived=True):
    """Archive a plot (it keeps its history but takes no new logs), or bring it back."""
    require(access_to(user, plot.farm), Access.MANAGE)
    plot.archived_at = utcnow() if archived else None
    plot.save(only=[Plot.archived_at])
    return plot


def plantings_of(plot, include_ended=True):
    query = (Planting.select(Planting, Crop).join(Crop).where(Planting.plot == plot)
             .order_by(Planting.ended_on.is_null(False), Planting.start_date.desc()))
    if not include_ended:
        query = query.where(Planting.ended_on.is_null())
    return query


def create_planting(user, plot, data):
    require(access_to(user, plot.farm), Access.LOG)
    if plot.archived_at:
        raise ValidationError(_("The plot %(name)s has been archived and takes no new plantings.", name=plot.name))
    crop = Crop.get_or_none(Crop.id == data["crop"])
    if crop is None:
        raise ValidationError(_("Unknown crop."), {"crop": _("Choose a crop from the catalogue.")})
    return Planting.create(plot=plot, crop=crop, variety=data.get("variety") or "",
                           start_method=data.get("start_method") or "sown", start_date=data["start_date"],
                           expected_harvest=data.get("expected_harvest"), ended_on=data.get("ended_on"),
                           notes=data.get("notes") or "")


def update_planting(user, planting, data):
    require(access_to(user, planting.plot.farm), Access.LOG)
    if "crop" in data and not Crop.get_or_none(Crop.id == data["crop"]):
        raise ValidationError(_("Unknown crop."), {"crop": _("Choose a crop from the catalogue.")})
    for key in ("crop", "variety", "start_method", "start_date", "expected_harvest", "ended_on", "notes"):
        if key in data:
            value = data[key]
            if key in ("variety", "notes", "start_method") and value is None:
                value = ""
            setattr(planting, key, value)
    start, harvest, ended = planting.start_date, planting.expected_harvest, planting.ended_on
    if (harvest and harvest < start) or (ended and ended < start):
        raise ValidationError(_("Dates out of order."), {"start_date": _("The start must come first.")})
    planting.save()
    return planting


def plot_by_id(plot_id):
    """The plot, or None; for callers that judge access themselves (ingest, scheduled jobs)."""
    return Plot.get_or_none(Plot.id == plot_id)


def plots_by_id(plot_ids):
    """{plot id: plot} of the plots that exist; for callers that judge access themselves."""
    return {p.id: p for p in Plot.select().where(Plot.id.in_(list(set(plot_ids)) or [0]))}


def plot_profile(plot_id):
    """The words that describe a plot for rules and advice: its kind and its current crops' codes and
    categories (empty for an unknown plot)."""
    plot = Plot.get_or_none(Plot.id == plot_id)
    if plot is None:
        return set()
    rows = (Planting.select(Crop.code, Crop.category).join(Crop)
            .where((Planting.plot == plot_id) & Planting.ended_on.is_null()).tuples())
    words = {plot.kind}
    for code, category in rows:
        words.update((code, category))
    return words


def crops_on_farm(farm_id):
    """Crop codes and categories of the farm's current plantings, and whether it has greenhouses."""
    rows = (Planting.select(Crop.code, Crop.category, Plot.kind).join(Crop).switch(Planting).join(Plot)
            .where((Plot.farm == farm_id) & Planting.ended_on.is_null()).tuples())
    codes, categories, greenhouse = set(), set(), False
    for code, category, kind in rows:
        codes.add(code)
        categories.add(category)
        greenhouse = greenhouse or kind == "greenhouse"
    if Plot.select().where((Plot.farm == farm_id) & (Plot.kind == "greenhouse")).exists():
        greenhouse = True
    return {"crops": sorted(codes), "categories": sorted(categories), "greenhouse": greenhouse}


def crops():
    return list(Crop.select().order_by(Crop.category, Crop.id))


def input_products():
    return list(InputProduct.select().order_by(InputProduct.category, InputProduct.id))


def load_catalogues():
    return catalogue.load()
