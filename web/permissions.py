"""Who may do what: the shared machinery of the permission rules.

Access to a farm is a level: NONE < VIEW < LOG < MANAGE.

- admin: MANAGE on every farm.
- farmer: MANAGE on the farms they own, LOG on those they work on.
- operator: VIEW on the farms their organisation (a cooperative, say) owns.
- inspector: VIEW on every farm (inspection needs the input records).
- bureau: VIEW on the farms inside their division (county, city or province).

Objects the user may not even view are reported as 404 (their existence is
not disclosed); objects they may view but not change are reported as 403.

``farm_scope`` turns the same rules into data a query can use; a bureau's scope is
its division (``web.divisions``). Rules about one domain's objects live in that
domain (``trace.permissions``: batches; ``weather.permissions``: advice and feeds).
"""
import enum
from dataclasses import dataclass
from functools import wraps

from flask import abort, g
from flask_babel import gettext as _

from web import divisions


class Access(enum.IntEnum):
    NONE = 0
    VIEW = 1
    LOG = 2
    MANAGE = 3


FARM_ROLE_ACCESS = {"owner": Access.MANAGE, "worker": Access.LOG}


class Denied(Exception):
    """Raised when access is refused; ``status`` is 404 (hidden) or 403 (visible)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def farm_access(user, farm, farm_role=None):
    """The access ``user`` has to ``farm``; ``farm_role`` is their membership role, if any."""
    if user is None:
        return Access.NONE
    if user.role == "admin":
        return Access.MANAGE
    level = Access.NONE
    if user.role == "farmer" and farm_role in FARM_ROLE_ACCESS:
        level = FARM_ROLE_ACCESS[farm_role]
    elif user.role == "operator" and user.organisation_id and \
            user.organisation_id == farm.organisation_id:
        level = Access.VIEW
    elif user.role == "inspector":
        level = Access.VIEW
    elif user.role == "bureau" and user.division_code and \
            divisions.covers(user.division_code, farm.county_code):
        level = Access.VIEW
    return level


def require(level, needed):
    """Raise Denied unless ``level`` reaches ``needed``."""
    if level >= needed:
        return
    if level == Access.NONE:
        raise Denied(404, _("not found"))
    raise Denied(403, _("you may not do this here"))


@dataclass(frozen=True)
class FarmScope:
    """Which farms a user may see, as data a query can be built from."""

    everything: bool = False
    member_user_id: int | None = None   # farms this user is a member of
    organisation_id: int | None = None  # farms this organisation owns
    division_prefix: str | None = None  # farms whose county code starts so


def farm_scope(user):
    """The set of farms ``user`` may VIEW; must agree with ``farm_access``."""
    if user is None:
        return FarmScope()
    if user.role in ("admin", "inspector"):
        return FarmScope(everything=True)
    if user.role == "farmer":
        return FarmScope(member_user_id=user.id)
    if user.role == "operator" and user.organisation_id:
        return FarmScope(organisation_id=user.organisation_id)
    if user.role == "bureau" and user.division_code:
        return FarmScope(division_prefix=divisions.prefix(user.division_code))
    return FarmScope()


def can_create_farm(user):
    return user is not None and user.role in ("admin", "farmer")


def roles_required(*roles):
    """View decorator: the signed-in user must have one of ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = g.get("user")
            if user is None:
                abort(401)
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator
