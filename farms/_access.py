"""Who may do what on which farm: the farms a user sees, the role and access on one, and the
lookups that check it (a farm, plot, planting or log by id, or a 404)."""
import peewee as pw
from flask_babel import gettext as _

from farms.models import Crop, Farm, FarmMember, Log, Planting, Plot
from web.permissions import Access, Denied, farm_access, farm_scope, require


def visible_farms(user):
    """A query of the farms ``user`` may view (empty for nobody)."""
    scope = farm_scope(user)
    query = Farm.select()
    if scope.everything:
        return query
    if scope.member_user_id is not None:
        member_farms = FarmMember.select(FarmMember.farm).where(FarmMember.user == scope.member_user_id)
        return query.where(Farm.id.in_(member_farms))
    if scope.organisation_id is not None:
        return query.where(Farm.organisation == scope.organisation_id)
    if scope.division_prefix is not None:
        return query.where(Farm.county.startswith(scope.division_prefix))
    return query.where(pw.SQL("1 = 0"))


def visible_farm_ids(user):
    """A subquery of the ids of the farms ``user`` may view."""
    return visible_farms(user).select(Farm.id)


def member_role(user, farm):
    if user is None:
        return None
    member = FarmMember.get_or_none((FarmMember.farm == farm) & (FarmMember.user == user))
    return member.role if member else None


def access_to(user, farm):
    return farm_access(user, farm, member_role(user, farm))


def get_farm(user, farm_id, need=Access.VIEW):
    farm = Farm.get_or_none(Farm.id == farm_id)
    if farm is None:
        raise Denied(404, _("farm not found"))
    require(access_to(user, farm), need)
    return farm


def get_plot(user, plot_id, need=Access.VIEW):
    plot = Plot.select(Plot, Farm).join(Farm).where(Plot.id == plot_id).first()
    if plot is None:
        raise Denied(404, _("plot not found"))
    require(access_to(user, plot.farm), need)
    return plot


def get_planting(user, planting_id, need=Access.VIEW):
    planting = (Planting.select(Planting, Plot, Farm, Crop).join(Plot).join(Farm)
                .switch(Planting).join(Crop).where(Planting.id == planting_id).first())
    if planting is None:
        raise Denied(404, _("planting not found"))
    require(access_to(user, planting.plot.farm), need)
    return planting


def get_log(user, log_id):
    log = Log.select(Log, Farm).join(Farm).where(Log.id == log_id).first()
    if log is None:
        raise Denied(404, _("log not found"))
    require(access_to(user, log.farm), Access.VIEW)
    return log


def access_to_farm_id(user, farm_id):
    farm = Farm.get_or_none(Farm.id == farm_id)
    return access_to(user, farm) if farm else Access.NONE


def farm_ids_with_access(user, need=Access.LOG):
    """Ids of the farms on which ``user`` has at least ``need`` (used to act for the farm's organisation)."""
    return [farm.id for farm in visible_farms(user) if access_to(user, farm) >= need]


def sees_every_farm(user):
    """Administrators and inspectors see every farm: no farm is more theirs than another."""
    return farm_scope(user).everything
