"""Organisations, users and their API tokens."""
import peewee as pw

from web.clock import utcnow
from web.db import BaseModel
from web.divisions import Division

ORGANISATION_KINDS = ("farm", "cooperative", "processor", "logistics", "retailer", "buyer", "lab", "bureau")
# Trading partners an organisation may add to the directory itself (and ship to).
PARTNER_KINDS = ("buyer", "processor", "logistics", "retailer")
ROLES = ("admin", "farmer", "operator", "inspector", "bureau")
# A user's standing in their organisation: managers invite others into it.
ORGANISATION_ROLES = ("manager", "member")
INVITATION_STATES = ("pending", "accepted", "declined", "revoked")


class Organisation(BaseModel):
    name = pw.CharField(max_length=120, unique=True)
    kind = pw.CharField(max_length=16)
    division = pw.ForeignKeyField(Division, null=True, column_name="division_code")
    contact_phone = pw.CharField(max_length=32, default="")
    address = pw.CharField(max_length=255, default="")
    # The organisation that entered this one in the directory (a buyer added while shipping); its managers
    # may invite the partner's people until somebody has joined it.
    added_by = pw.ForeignKeyField("self", null=True, backref="partners", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)


class User(BaseModel):
    username = pw.CharField(max_length=64, unique=True)
    password_hash = pw.CharField(max_length=255)
    display_name = pw.CharField(max_length=64, default="")
    role = pw.CharField(max_length=16)
    organisation = pw.ForeignKeyField(Organisation, null=True, backref="members")
    organisation_role = pw.CharField(max_length=8, default="member")
    # A bureau user sees only the farms inside this division.
    division = pw.ForeignKeyField(Division, null=True, column_name="division_code")
    locale = pw.CharField(max_length=8, null=True)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    last_login_at = pw.DateTimeField(null=True)
    # Bumped by logout and by a password change: every session signed in before then ends.
    session_epoch = pw.IntegerField(default=0)

    def __str__(self):
        return self.display_name or self.username


class ApiToken(BaseModel):
    """A bearer token for machines; only its SHA-256 is stored."""

    user = pw.ForeignKeyField(User, backref="api_tokens", on_delete="CASCADE")
    name = pw.CharField(max_length=64)
    prefix = pw.CharField(max_length=12)
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)


class Invitation(BaseModel):
    """An organisation's manager asks a user to join it; nobody joins an organisation otherwise."""

    organisation = pw.ForeignKeyField(Organisation, backref="invitations", on_delete="CASCADE")
    invitee = pw.ForeignKeyField(User, backref="invitations", on_delete="CASCADE")
    role = pw.CharField(max_length=8)  # one of ORGANISATION_ROLES
    invited_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    state = pw.CharField(max_length=10, default="pending")
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField()
    answered_at = pw.DateTimeField(null=True)


LINK_PURPOSES = ("welcome", "reset")


class AccessLink(BaseModel):
    """A one-time link by which a user sets their password: on being invited (welcome) or after
    forgetting it (reset). Issued by an administrator; only its SHA-256 is stored, and it expires."""

    user = pw.ForeignKeyField(User, backref="access_links", on_delete="CASCADE")
    purpose = pw.CharField(max_length=8)  # one of LINK_PURPOSES
    token_hash = pw.CharField(max_length=64, unique=True)
    issued_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    expires_at = pw.DateTimeField()
    used_at = pw.DateTimeField(null=True)
