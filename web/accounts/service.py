"""Accounts: the only door into users, organisations and tokens."""
import datetime as dt
import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from web.accounts.models import ORGANISATION_KINDS, ROLES, ApiToken, Organisation, User
from web.clock import utcnow
from web.db import Conflict, ValidationError, database
from web.divisions import Division

TOKEN_PREFIX = "fk_"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 8


def hash_password(password):
    return generate_password_hash(password)


def create_organisation(name, kind, division_code=None, contact_phone=""):
    if kind not in ORGANISATION_KINDS:
        raise ValidationError("unknown organisation kind", {"kind": f"one of {', '.join(ORGANISATION_KINDS)}"})
    if Organisation.get_or_none(Organisation.name == name):
        raise Conflict("an organisation with this name exists", {"name": "already taken"})
    return Organisation.create(name=name, kind=kind, division=division_code,
                               contact_phone=contact_phone)


def get_or_create_organisation(name, kind, **kwargs):
    org = Organisation.get_or_none(Organisation.name == name)
    return org or create_organisation(name, kind, **kwargs)


def create_user(username, password, role, display_name="", organisation=None,
                division_code=None, locale=None):
    errors = {}
    if role not in ROLES:
        errors["role"] = f"one of {', '.join(ROLES)}"
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"at least {MIN_PASSWORD_LENGTH} characters"
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
    if len(new_password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError("password too short",
                              {"new_password": f"at least {MIN_PASSWORD_LENGTH} characters"})
    user.password_hash = hash_password(new_password)
    user.save(only=[User.password_hash])


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
