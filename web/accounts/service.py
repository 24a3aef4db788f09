"""Accounts: the only door into users, organisations and tokens."""
import datetime as dt
import hashlib
import secrets

import peewee as pw
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from web.accounts.models import (LINK_PURPOSES, ORGANISATION_KINDS, ORGANISATION_ROLES, PARTNER_KINDS, ROLES,
                                 AccessLink, ApiToken, Invitation, Organisation, User)
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web import divisions
from web.divisions import Division
from web.permissions import Denied

TOKEN_PREFIX = "fk_"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 8


# Passwords common in Chinese leaks that zxcvbn's (English) dictionaries rate as fair: pinyin,
# "I love you forever" numbers (520, 1314), keyboard patterns typed on Chinese sites.
COMMON_CN_PASSWORDS = frozenset({
    "woaini1314", "woaini520", "5201314", "5201314520", "1314520", "13145200", "52013145", "iloveyou1314",
    "dearbook", "xiazhili", "147258369", "789456123", "123654789", "110110110", "123321123", "qq123456",
    "qwe123456", "a123456789", "abc123456", "wangyang", "zhangwei", "woaiwojia", "nihao123", "woaini123",
    "88888888", "66666666", "1qaz2wsx", "1q2w3e4r", "31415926", "12344321",
})


def password_problem(password, username="", display_name=""):
    """Why ``password`` may not be used (too short, common or guessable: zxcvbn's dictionaries of
    leaked passwords, keyboard walks, repeats and sequences, and the user's own names), or None."""
    from zxcvbn import zxcvbn

    if len(password or "") < MIN_PASSWORD_LENGTH:
        return _("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(password) > 256:
        return _("At most 256 characters.")
    if password.lower() in COMMON_CN_PASSWORDS or \
            zxcvbn(password, user_inputs=[v for v in (username, display_name) if v])["score"] < 2:
        return _("Too common or too easy to guess: use a longer phrase of words you remember.")
    return None


def end_sessions(user):
    """Every session of ``user`` ends (logout, password change)."""
    User.update(session_epoch=User.session_epoch + 1).where(User.id == user.id).execute()


def hash_password(password):
    return generate_password_hash(password)


def create_organisation(name, kind, division_code=None, contact_phone="", address=""):
    if kind not in ORGANISATION_KINDS:
        raise ValidationError("unknown organisation kind", {"kind": f"one of {', '.join(ORGANISATION_KINDS)}"})
    if Organisation.get_or_none(Organisation.name == name):
        raise Conflict("an organisation with this name exists", {"name": "already taken"})
    return Organisation.create(name=name, kind=kind, division=division_code,
                               contact_phone=contact_phone, address=address)


def update_contact(user, organisation, data):
    """A manager (or an administrator) sets the phone and address the organisation's certificates print."""
    if not manages_organisation(user, organisation.id):
        raise Denied(403, _("Only the organisation's managers change its contact."))
    for key, limit in (("contact_phone", 32), ("address", 255)):
        if key in data:
            value = (data[key] or "").strip()
            if len(value) > limit:
                raise ValidationError(_("Too long."), {key: _("At most %(n)d characters.", n=limit)})
            setattr(organisation, key, value)
    organisation.save()
    return organisation


def get_or_create_organisation(name, kind, **kwargs):
    """For loading fixed data (the demo): never for a name a user typed, which could name
    somebody else's organisation."""
    org = Organisation.get_or_none(Organisation.name == name)
    return org or create_organisation(name, kind, **kwargs)


def create_own_organisation(name, kind, division_code=None, suffix=""):
    """A new organisation named ``name``, or, when that name is taken, a free variant of it
    (``name（suffix）``, then numbered): a name never leads into an existing organisation."""
    candidates = [name]
    if suffix:
        candidates.append(f"{name}（{suffix}）")
    candidates += [f"{name}（{suffix or 'new'} {n}）" for n in range(2, 100)]
    for candidate in candidates:
        candidate = candidate[:120]
        if not Organisation.select().where(Organisation.name == candidate).exists():
            return Organisation.create(name=candidate, kind=kind, division=division_code)
    raise Conflict("an organisation with this name exists", {"name": "already taken"})


def create_user(username, password, role, display_name="", organisation=None,
                division_code=None, locale=None, organisation_role="manager"):
    """Create a user (administrators and fixed data only); placed in an organisation,
    they manage it unless ``organisation_role`` says "member"."""
    errors = {}
    if organisation_role not in ORGANISATION_ROLES:
        errors["organisation_role"] = f"one of {', '.join(ORGANISATION_ROLES)}"
    if role not in ROLES:
        errors["role"] = f"one of {', '.join(ROLES)}"
    problem = password_problem(password, username, display_name)
    if problem:
        errors["password"] = problem
    if role == "bureau":
        if not division_code or not Division.get_or_none(Division.code == division_code):
            errors["division"] = "a bureau user needs a known GB/T 2260 division code"
    elif division_code:
        errors["division"] = "only bureau users have a division"
    if role == "operator" and organisation is None:
        errors["organisation"] = "an operator belongs to an organisation"
    if errors:
        raise ValidationError("invalid user", errors)
    with database.atomic():
        if User.get_or_none(User.username == username):
            raise Conflict("this username is taken", {"username": "already taken"})
        return User.create(username=username, password_hash=hash_password(password), role=role,
                           display_name=display_name, organisation=organisation,
                           organisation_role=organisation_role,
                           division=division_code, locale=locale)


def authenticate(username, password):
    """The active user with these credentials, or None."""
    user = User.get_or_none(User.username == (username or "").strip())
    if user is None:
        # Spend the same time as a real check so usernames cannot be probed by timing.
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not user.active or not check_password_hash(user.password_hash, password or ""):
        return None
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
    return user


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def change_password(user, old_password, new_password):
    if not check_password_hash(user.password_hash, old_password or ""):
        raise ValidationError("wrong password", {"old_password": "wrong password"})
    problem = password_problem(new_password, user.username, user.display_name)
    if problem:
        raise ValidationError(_("Choose another password."), {"new_password": problem})
    user.password_hash = hash_password(new_password)
    user.save(only=[User.password_hash])
    end_sessions(user)


def get_user(user_id):
    return User.get_or_none((User.id == user_id) & (User.active == True))  # noqa: E712


def set_locale(user, locale):
    User.update(locale=locale).where(User.id == user.id).execute()


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user, name):
    """Create a bearer token; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken.create(user=user, name=name[:64] or "token", prefix=token[:10],
                             token_hash=_digest(token))
    return token, record


def user_for_token(token):
    """The user a live token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    record = (ApiToken.select(ApiToken, User).join(User)
              .where((ApiToken.token_hash == _digest(token)) & ApiToken.revoked_at.is_null()
                     & (User.active == True))  # noqa: E712
              .first())
    if record is None:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
        # Not a write on every request: a minute's precision is enough to spot unused tokens.
        ApiToken.update(last_used_at=now).where(ApiToken.id == record.id).execute()
    return record.user


def tokens_of(user):
    return list(ApiToken.select().where(ApiToken.user == user).order_by(ApiToken.created_at.desc()))


def revoke_token(user, token_id):
    updated = (ApiToken.update(revoked_at=utcnow())
               .where((ApiToken.id == token_id) & (ApiToken.user == user)
                      & ApiToken.revoked_at.is_null())
               .execute())
    return bool(updated)


# ---------------------------------------------------------------- organisations and invitations

INVITATION_DAYS = 14


def get_organisation(organisation_id):
    return Organisation.get_or_none(Organisation.id == organisation_id)


def manages_organisation(user, organisation_id):
    """Administrators manage every organisation; others the one they belong to as a manager, and the
    partners their organisation entered in the directory until somebody joins one (who then claims it)."""
    if user is None or organisation_id is None:
        return False
    if user.role == "admin" or (user.organisation_id == organisation_id and user.organisation_role == "manager"):
        return True
    if user.organisation_id is None or user.organisation_role != "manager":
        return False
    partner = Organisation.get_or_none(Organisation.id == organisation_id)
    return (partner is not None and partner.added_by_id == user.organisation_id
            and not User.select().where(User.organisation == partner).exists())


def add_partner(user, data):
    """Enter a trading partner (a buyer, processor, logistics firm or retailer) in the directory, e.g. while
    shipping to it. It has no people yet: the adding organisation's managers invite them (see ``invite``)."""
    if user is None or (user.organisation_id is None and user.role != "admin"):
        raise Denied(403, _("Only members of an organisation add partners to the directory."))
    name = (data.get("name") or "").strip()
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = _("A name of at most 120 characters.")
    if data.get("kind") not in PARTNER_KINDS:
        errors["kind"] = _("Choose what kind of organisation it is.")
    phone = (data.get("contact_phone") or "").strip()
    if len(phone) > 32:
        errors["contact_phone"] = _("At most %(n)d characters.", n=32)
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    if Organisation.get_or_none(Organisation.name == name):
        raise Conflict(_("This organisation is in the directory already: choose it from the list."),
                       {"name": _("Already in the directory.")})
    return Organisation.create(name=name, kind=data["kind"], contact_phone=phone, added_by=user.organisation_id)


def partner_directory():
    """The organisations a batch may be shipped to that trade with others, by kind and name, each with
    whether anybody has joined it yet."""
    members = {o: n for o, n in User.select(User.organisation, pw.fn.COUNT(User.id))
               .where(User.organisation.is_null(False)).group_by(User.organisation).tuples()}
    partners = list(Organisation.select().where(Organisation.kind.in_(PARTNER_KINDS))
                    .order_by(Organisation.kind, Organisation.name))
    return [(o, members.get(o.id, 0)) for o in partners]


def get_organisation(organisation_id):
    return Organisation.get_or_none(Organisation.id == organisation_id)


def organisation_members(organisation):
    return list(User.select().where((User.organisation == organisation) & (User.active == True))  # noqa: E712
                .order_by(User.organisation_role, User.username))


def live(model):
    """The condition of an invitation model's open rows (organisation and farm invitations alike)."""
    return (model.state == "pending") & (model.expires_at > utcnow())


def answerable(invitation, invitee):
    """``invitation`` if ``invitee`` may still answer it: 404 for anybody else, 409 once closed."""
    if invitation is None or invitee is None or invitation.invitee_id != invitee.id:
        raise Denied(404, _("invitation not found"))
    if invitation.state != "pending" or invitation.expires_at <= utcnow():
        raise Conflict(_("This invitation is no longer open."), {"invitation": _("Answered, withdrawn or expired.")})
    return invitation


def close(invitation, state):
    """Record the answer (accepted, declined) or the withdrawal (revoked), with its time."""
    invitation.state, invitation.answered_at = state, utcnow()
    invitation.save()
    return invitation


def invitations_of_organisation(organisation):
    return list(Invitation.select(Invitation, User).join(User, on=Invitation.invitee)
                .where((Invitation.organisation == organisation) & live(Invitation))
                .order_by(Invitation.created_at.desc()))


def invitations_for(user):
    """The live invitations ``user`` may answer, newest first."""
    return list(Invitation.select(Invitation, Organisation).join(Organisation)
                .where((Invitation.invitee == user) & live(Invitation))
                .order_by(Invitation.created_at.desc()))


def find_user(username, field="username"):
    """The active user named ``username``, or a ValidationError on ``field``."""
    user = User.get_or_none((User.username == (username or "").strip()) & (User.active == True))  # noqa: E712
    if user is None:
        raise ValidationError(_("There is no such user."), {field: _("Unknown username.")})
    return user


def invite(inviter, organisation, username, role="member"):
    """``inviter`` (a manager of ``organisation``) invites the user ``username`` to join it."""
    if organisation is None or not manages_organisation(inviter, organisation.id):
        raise Denied(403, _("Only a manager of the organisation may invite people into it."))
    if role not in ORGANISATION_ROLES:
        raise ValidationError(_("Some fields need correcting."), {"role": _("manager or member")})
    invitee = find_user(username)
    if invitee.role == "admin":
        raise ValidationError(_("Administrators belong to no organisation."), {"username": _("An administrator.")})
    if invitee.organisation_id == organisation.id:
        raise Conflict(_("This user is already a member."), {"username": _("Already a member.")})
    if invitee.organisation_id is not None:
        raise Conflict(_("This user belongs to another organisation."), {"username": _("In another organisation.")})
    with database.atomic():
        if Invitation.select().where((Invitation.organisation == organisation) & (Invitation.invitee == invitee)
                                     & live(Invitation)).exists():
            raise Conflict(_("This user has been invited already."), {"username": _("Already invited.")})
        return Invitation.create(organisation=organisation, invitee=invitee, role=role, invited_by=inviter,
                                 expires_at=utcnow() + dt.timedelta(days=INVITATION_DAYS))


def accept_invitation(user, invitation_id):
    """The invitee joins the organisation (one organisation per user)."""
    with database.atomic():
        invitation = answerable(Invitation.get_or_none(Invitation.id == invitation_id), user)
        fresh = User.get_by_id(user.id)
        if fresh.organisation_id is not None and fresh.organisation_id != invitation.organisation_id:
            raise Conflict(_("You belong to another organisation."), {"invitation": _("In another organisation.")})
        User.update(organisation=invitation.organisation_id, organisation_role=invitation.role) \
            .where(User.id == user.id).execute()
        user.organisation_id, user.organisation_role = invitation.organisation_id, invitation.role
        return close(invitation, "accepted")


def decline_invitation(user, invitation_id):
    with database.atomic():
        return close(answerable(Invitation.get_or_none(Invitation.id == invitation_id), user), "declined")


def revoke_invitation(user, invitation_id):
    """A manager withdraws an invitation that has not been answered."""
    invitation = Invitation.get_or_none(Invitation.id == invitation_id)
    if invitation is None or not manages_organisation(user, invitation.organisation_id):
        raise Denied(404, _("invitation not found"))
    if invitation.state != "pending":
        raise Conflict(_("This invitation is no longer open."), {"invitation": _("Answered, withdrawn or expired.")})
    return close(invitation, "revoked")


def users_with_role(role):
    """Active users of ``role``, by id."""
    return list(User.select().where((User.role == role) & User.active).order_by(User.id))


def revoke_all_tokens(user):
    """Every live token of ``user`` stops working; returns how many."""
    return (ApiToken.update(revoked_at=utcnow())
            .where((ApiToken.user == user) & ApiToken.revoked_at.is_null()).execute())


# ---------------------------------------------------------------- administration of people
#
# Administrators manage every user and organisation. A bureau administrator (a bureau user who
# manages the bureau's organisation) manages the people inside the bureau's division: bureau users
# of a division within it, and users of organisations placed within it; never an administrator.

LINK_HOURS = {"welcome": 7 * 24, "reset": 24}
BUREAU_GRANTS = ("farmer", "operator", "bureau")
BUREAU_ORGANISATION_KINDS = tuple(k for k in ORGANISATION_KINDS if k != "bureau")


def is_bureau_admin(user):
    return (user is not None and user.role == "bureau" and user.organisation_role == "manager"
            and user.organisation_id is not None and bool(user.division_code))


def administers(user):
    """May ``user`` open the people pages at all."""
    return user is not None and (user.role == "admin" or is_bureau_admin(user))


def _require_admin(actor):
    if not administers(actor):
        raise Denied(403, _("Only administrators manage people."))


def grantable_roles(actor):
    return ROLES if actor.role == "admin" else BUREAU_GRANTS


def _in_division(actor, division_code):
    return actor.role == "admin" or (bool(division_code) and divisions.covers(actor.division_code, division_code))


def may_manage(actor, target):
    """May ``actor`` change ``target`` (role, organisation, activity, password links)."""
    if not administers(actor) or target is None:
        return False
    if actor.role == "admin":
        return True
    if target.role == "admin":
        return False
    if target.division_code:
        return _in_division(actor, target.division_code)
    organisation = target.organisation
    return organisation is not None and _in_division(actor, organisation.division_code)


def _division_condition(actor):
    start = divisions.prefix(actor.division_code)
    return User.division.startswith(start) | Organisation.division.startswith(start)


def list_users(actor, query="", include_inactive=True):
    """The users ``actor`` administers, matching ``query`` (username or display name)."""
    _require_admin(actor)
    select = User.select(User, Organisation).join(Organisation, pw.JOIN.LEFT_OUTER, on=User.organisation)
    if actor.role != "admin":
        select = select.where(_division_condition(actor) & (User.role != "admin"))
    query = (query or "").strip()[:64]
    if query:
        select = select.where(User.username.contains(query) | User.display_name.contains(query))
    if not include_inactive:
        select = select.where(User.active == True)  # noqa: E712
    return list(select.order_by(User.username))


def managed_user(actor, user_id):
    """The user ``actor`` may manage, else 403 (not an administrator) or 404 (not theirs)."""
    _require_admin(actor)
    target = User.get_or_none(User.id == user_id)
    if not may_manage(actor, target):
        raise Denied(404, "user not found")
    return target


def list_organisations(actor):
    _require_admin(actor)
    select = Organisation.select()
    if actor.role != "admin":
        select = select.where(Organisation.division.startswith(divisions.prefix(actor.division_code)))
    return list(select.order_by(Organisation.name))


def _placement_errors(actor, role, organisation, organisation_role, division_code):
    """Field errors of a user's role and place, as ``actor`` may grant them."""
    errors = {}
    if role not in grantable_roles(actor):
        errors["role"] = _("You may not give this role.")
    if organisation_role not in ORGANISATION_ROLES:
        errors["organisation_role"] = _("manager or member")
    if role == "admin" and organisation is not None:
        errors["organisation"] = _("Administrators belong to no organisation.")
    if organisation is not None and not _in_division(actor, organisation.division_code):
        errors["organisation"] = _("Outside your division.")
    if role == "bureau":
        if not division_code or not Division.get_or_none(Division.code == division_code):
            errors["division"] = _("A bureau user needs a known division code.")
        elif not _in_division(actor, division_code):
            errors["division"] = _("Outside your division.")
    elif division_code:
        errors["division"] = _("Only bureau users have a division.")
    elif actor.role != "admin" and organisation is None and "organisation" not in errors:
        errors["organisation"] = _("Choose an organisation within your division.")
    if role == "operator" and organisation is None and "organisation" not in errors:
        errors["organisation"] = _("An operator belongs to an organisation.")
    return errors


def _organisation(organisation_id):
    if not organisation_id:
        return None
    organisation = get_organisation(organisation_id)
    if organisation is None:
        raise ValidationError(_("Some fields need correcting."), {"organisation": _("Unknown organisation.")})
    return organisation


def invite_user(actor, username, role, display_name="", organisation_id=None, organisation_role="member",
                division_code=None, password=None):
    """``actor`` adds a user. With ``password`` they sign in with it; without, the user is invited:
    returns (user, welcome link token), the token shown once, by which they choose their password."""
    _require_admin(actor)
    username = (username or "").strip()
    division_code = (division_code or "").strip() or None
    organisation = _organisation(organisation_id)
    errors = _placement_errors(actor, role, organisation, organisation_role, division_code)
    if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
        errors["username"] = _("Letters, digits, dots, dashes and underscores, at most 64.")
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    invited = not password
    with database.atomic():
        user = create_user(username, password or secrets.token_urlsafe(32), role, display_name=display_name or "",
                           organisation=organisation, division_code=division_code,
                           organisation_role=organisation_role)
        token = issue_link(actor, user, "welcome") if invited else None
    return user, token


def update_user(actor, target, role, organisation_id=None, organisation_role="member", division_code=None):
    """``actor`` sets ``target``'s role, organisation (with their standing in it) and division."""
    if not may_manage(actor, target):
        raise Denied(404, "user not found")
    division_code = (division_code or "").strip() or None
    organisation = _organisation(organisation_id)
    errors = _placement_errors(actor, role, organisation, organisation_role, division_code)
    if target.id == actor.id and (role != target.role or organisation_role != target.organisation_role):
        errors["role"] = _("You cannot change your own role.")
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    User.update(role=role, organisation=organisation, organisation_role=organisation_role,
                division=division_code).where(User.id == target.id).execute()
    if role != target.role:
        end_sessions(target)  # what they may do changed: they sign in again
    return User.get_by_id(target.id)


def set_active(actor, target, active):
    """Deactivate (their sessions, tokens and links stop working) or reactivate ``target``."""
    if not may_manage(actor, target):
        raise Denied(404, "user not found")
    if target.id == actor.id:
        raise Conflict(_("You cannot deactivate yourself."), {"active": _("Your own account.")})
    with database.atomic():
        User.update(active=bool(active)).where(User.id == target.id).execute()
        if not active:
            end_sessions(target)
            AccessLink.update(used_at=utcnow()).where((AccessLink.user == target)
                                                      & AccessLink.used_at.is_null()).execute()
    return User.get_by_id(target.id)


def issue_link(actor, target, purpose="reset"):
    """A one-time link token by which ``target`` sets a password; earlier open links of theirs end.
    Only its digest is kept: show the token once."""
    if purpose not in LINK_PURPOSES:
        raise ValueError(purpose)
    if not may_manage(actor, target):
        raise Denied(404, "user not found")
    if not target.active:
        raise Conflict(_("This account is deactivated."), {"active": _("Reactivate it first.")})
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with database.atomic():
        AccessLink.update(used_at=now).where((AccessLink.user == target) & AccessLink.used_at.is_null()).execute()
        AccessLink.create(user=target, purpose=purpose, token_hash=_digest(token), issued_by=actor,
                          expires_at=now + dt.timedelta(hours=LINK_HOURS[purpose]))
    return token


def open_link(token):
    """The live link record of ``token`` (unused, unexpired, of an active user), or None."""
    if not token or len(token) > 100:
        return None
    return (AccessLink.select(AccessLink, User).join(User, on=AccessLink.user)
            .where((AccessLink.token_hash == _digest(token)) & AccessLink.used_at.is_null()
                   & (AccessLink.expires_at > utcnow()) & (User.active == True))  # noqa: E712
            .first())


def use_link(token, new_password):
    """Set the password through a one-time link; the link is spent and older sessions end."""
    with database.atomic():
        link = open_link(token)
        if link is None:
            raise Conflict(_("This link has been used, withdrawn or has expired. Ask your administrator for a new one."))
        user = link.user
        problem = password_problem(new_password, user.username, user.display_name)
        if problem:
            raise ValidationError(_("Choose another password."), {"new_password": problem})
        spent = (AccessLink.update(used_at=utcnow())
                 .where((AccessLink.id == link.id) & AccessLink.used_at.is_null()).execute())
        if not spent:
            raise Conflict(_("This link has been used, withdrawn or has expired. Ask your administrator for a new one."))
        User.update(password_hash=hash_password(new_password)).where(User.id == user.id).execute()
        end_sessions(user)
    return user


def admin_create_organisation(actor, name, kind, division_code=None, contact_phone=""):
    """Administrators add any organisation; a bureau administrator one within the division (not a bureau)."""
    _require_admin(actor)
    name, division_code = (name or "").strip(), (division_code or "").strip() or None
    errors = {}
    if not name or len(name) > 120:
        errors["name"] = _("1 to 120 characters.")
    if kind not in (ORGANISATION_KINDS if actor.role == "admin" else BUREAU_ORGANISATION_KINDS):
        errors["kind"] = _("You may not add this kind of organisation.")
    if division_code and not Division.get_or_none(Division.code == division_code):
        errors["division"] = _("Unknown division code.")
    elif actor.role != "admin" and not _in_division(actor, division_code):
        errors["division"] = _("Outside your division.")
    if errors:
        raise ValidationError(_("Some fields need correcting."), errors)
    return create_organisation(name, kind, division_code, contact_phone=(contact_phone or "")[:32])
