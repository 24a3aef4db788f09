"""Farms and the people on them: creating and editing a farm, its certifications, its members and
the invitations to join it."""
import datetime as dt

from flask_babel import gettext as _

from farms._access import access_to
from farms.models import Certification, Farm, FarmInvitation, FarmMember
from web import divisions
from web.accounts import service as accounts
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web.permissions import Access, Denied, require


def _check_county(code):
    division = divisions.get(code) if code else None
    if division is None or division.level != "county":
        raise ValidationError(_("Unknown county."), {"county_code": _("Choose a county-level division code.")})


def create_farm(user, data):
    """Create a farm; a farmer who creates one becomes its owner.

    The farm belongs to the creator's organisation, or else to a new organisation of its
    own: a name never leads into an existing one (joining one takes its manager's invitation).
    """
    if user is None or user.role not in ("admin", "farmer"):
        raise Denied(403, _("only farmers and administrators create farms"))
    _check_county(data.get("county_code"))
    with database.atomic():
        organisation = user.organisation
        if organisation is None:
            organisation = accounts.create_own_organisation(data["name"], "farm", division_code=data["county_code"],
                                                            suffix=user.display_name or user.username)
        if Farm.get_or_none((Farm.organisation == organisation) & (Farm.name == data["name"])):
            raise Conflict(_("A farm with this name exists already."), {"name": _("Already taken.")})
        farm = Farm.create(organisation=organisation, name=data["name"], county=data["county_code"],
                           address=data.get("address") or "", contact_phone=(data.get("contact_phone") or "").strip(),
                           latitude=data.get("latitude"),
                           longitude=data.get("longitude"))
        _set_certifications(farm, data.get("certifications") or [])
        if user.role == "farmer":
            FarmMember.create(farm=farm, user=user, role="owner")
    return farm


def update_farm(user, farm, data):
    require(access_to(user, farm), Access.MANAGE)
    if "county_code" in data:
        _check_county(data["county_code"])
    with database.atomic():
        for key in ("name", "address", "contact_phone", "latitude", "longitude"):
            if key in data:
                setattr(farm, key, data[key] if data[key] is not None or key in ("latitude", "longitude") else "")
        if "county_code" in data:
            farm.county = data["county_code"]
        clash = Farm.get_or_none((Farm.organisation == farm.organisation_id) & (Farm.name == farm.name)
                                 & (Farm.id != farm.id))
        if clash:
            raise Conflict(_("A farm with this name exists already."), {"name": _("Already taken.")})
        if (farm.latitude is None) != (farm.longitude is None):
            raise ValidationError(_("Give both latitude and longitude, or neither."),
                                  {"longitude": _("Give both latitude and longitude, or neither.")})
        farm.save()
        if "certifications" in data:
            _set_certifications(farm, data["certifications"] or [])
    return farm


def _set_certifications(farm, kinds):
    Certification.delete().where((Certification.farm == farm)
                                 & Certification.kind.not_in(list(kinds) or [""])).execute()
    present = {c.kind for c in Certification.select().where(Certification.farm == farm)}
    for kind in kinds:
        if kind not in present:
            Certification.create(farm=farm, kind=kind)


def add_member(farm, user, role):
    if role not in ("owner", "worker"):
        raise ValidationError("invalid role", {"role": "owner or worker"})
    if user.role != "farmer":
        raise ValidationError("only farmers work on farms", {"user": "not a farmer"})
    member, created = FarmMember.get_or_create(farm=farm, user=user, defaults={"role": role})
    if not created and member.role != role:
        member.role = role
        member.save()
    return member


def invite_to_farm(user, farm, username, role="worker"):
    """An owner invites a farmer to work on the farm (worker) or to own it with them (owner)."""
    require(access_to(user, farm), Access.MANAGE)
    if role not in ("owner", "worker"):
        raise ValidationError(_("Some fields need correcting."), {"role": _("owner or worker")})
    invitee = accounts.find_user(username)
    if invitee.role != "farmer":
        raise ValidationError(_("Only farmers work on farms."), {"username": _("Not a farmer.")})
    with database.atomic():
        if FarmMember.select().where((FarmMember.farm == farm) & (FarmMember.user == invitee)).exists():
            raise Conflict(_("This user is already a member."), {"username": _("Already a member.")})
        if FarmInvitation.select().where((FarmInvitation.farm == farm) & (FarmInvitation.invitee == invitee)
                                         & accounts.live(FarmInvitation)).exists():
            raise Conflict(_("This user has been invited already."), {"username": _("Already invited.")})
        return FarmInvitation.create(farm=farm, invitee=invitee, role=role, invited_by=user,
                                     expires_at=utcnow() + dt.timedelta(days=accounts.INVITATION_DAYS))


def farm_invitations(user, farm):
    """The farm's open invitations (for those who manage it)."""
    require(access_to(user, farm), Access.MANAGE)
    return list(FarmInvitation.select(FarmInvitation, accounts.User)
                .join(accounts.User, on=FarmInvitation.invitee)
                .where((FarmInvitation.farm == farm) & accounts.live(FarmInvitation))
                .order_by(FarmInvitation.created_at.desc()))


def organisation_invitations_for(user):
    """Invitations into organisations, for the farmer's home page."""
    return accounts.invitations_for(user) if user is not None else []


def farm_invitations_for(user):
    """The open invitations ``user`` may answer, newest first."""
    if user is None:
        return []
    return list(FarmInvitation.select(FarmInvitation, Farm).join(Farm)
                .where((FarmInvitation.invitee == user) & accounts.live(FarmInvitation))
                .order_by(FarmInvitation.created_at.desc()))


def answer_farm_invitation(user, invitation_id, accept):
    """The invitee accepts (and becomes a member in the invited role) or declines."""
    with database.atomic():
        invitation = accounts.answerable(FarmInvitation.get_or_none(FarmInvitation.id == invitation_id), user)
        if accept:
            add_member(invitation.farm, user, invitation.role)
        return accounts.close(invitation, "accepted" if accept else "declined")


def revoke_farm_invitation(user, invitation_id):
    invitation = FarmInvitation.get_or_none(FarmInvitation.id == invitation_id)
    if invitation is None or access_to(user, invitation.farm) < Access.MANAGE:
        raise Denied(404, _("invitation not found"))
    if invitation.state != "pending":
        raise Conflict(_("This invitation is no longer open."), {"invitation": _("Answered, withdrawn or expired.")})
    return accounts.close(invitation, "revoked")


def remove_member(user, farm, member_user_id):
    """An owner removes someone from the farm; the last owner stays."""
    require(access_to(user, farm), Access.MANAGE)
    with database.atomic():
        member = FarmMember.get_or_none((FarmMember.farm == farm) & (FarmMember.user == member_user_id))
        if member is None:
            raise Denied(404, _("member not found"))
        owners = FarmMember.select().where((FarmMember.farm == farm) & (FarmMember.role == "owner")).count()
        if member.role == "owner" and owners <= 1:
            raise Conflict(_("A farm keeps at least one owner."), {"user": _("The last owner.")})
        FarmMember.delete().where(FarmMember.id == member.id).execute()


def farm_certifications(farm):
    return certifications_of([farm])[farm.id]


def certifications_of(farms):
    """{farm id: [kind, ...]} for several farms, in one query."""
    result = {farm.id: [] for farm in farms}
    if result:
        for c in (Certification.select().where(Certification.farm.in_(list(result)))
                  .order_by(Certification.kind)):
            result[c.farm_id].append(c.kind)
    return result


def farm_members(farm):
    return list(FarmMember.select(FarmMember, accounts.User).join(accounts.User)
                .where(FarmMember.farm == farm).order_by(FarmMember.role, accounts.User.username))
