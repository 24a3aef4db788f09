from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, EqualTo, Length, Optional, Regexp

from web.accounts.models import LINK_PURPOSES
from web.fields import JSONInteger, JSONText
from web.forms import Form, JSONForm


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    submit = SubmitField(_l("Sign in"))


class PasswordForm(Form):
    old_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Change password"))


class TokenForm(Form):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Create token"))


# A phone as people write it: digits with spaces, dashes, brackets and a leading +, e.g. 0797-3321234.
PHONE = Regexp(r"^\+?[0-9][0-9 ()\-]{4,30}$", message=_l("Digits, spaces, dashes and brackets only, e.g. 0797-3321234."))


class ContactForm(Form):
    """What the organisation's certificates of conformity print under 联系方式."""

    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32), PHONE])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=255)])
    submit = SubmitField(_l("Save contact"))


# What the directory calls each kind of trading partner.
PARTNER_KIND_LABELS = {"buyer": _l("Buyer"), "processor": _l("Processor"), "logistics": _l("Logistics"),
                       "retailer": _l("Retailer")}


class PartnerForm(Form):
    """A trading partner entered in the directory (its people join later, by invitation)."""

    name = StringField(_l("Name of the organisation"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=list(PARTNER_KIND_LABELS.items()), default="buyer")
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32), PHONE])
    submit = SubmitField(_l("Add to the directory"))


class InvitationForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=[("member", _l("Member")), ("manager", _l("Manager"))],
                       default="member")
    submit = SubmitField(_l("Invite"))


def _optional_int(value):
    try:
        return int(value) if value not in (None, "", "None") else 0
    except (TypeError, ValueError):
        return -1


class PlaceForm(Form):
    """A user's role and place: what an administrator sets."""

    role = SelectField(_l("Role"), choices=[])
    organisation = SelectField(_l("Organisation"), coerce=_optional_int, choices=[], validate_choice=False)
    organisation_role = SelectField(_l("Standing in the organisation"),
                                    choices=[("member", _l("Member")), ("manager", _l("Manager"))], default="member")
    division = StringField(_l("Division code (bureau users)"), validators=[Optional(), Length(max=6)])
    submit = SubmitField(_l("Save"))


class NewUserForm(PlaceForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=64)])
    password = PasswordField(_l("Password (leave empty to send an invitation link)"),
                             validators=[Optional(), Length(max=256)])
    submit = SubmitField(_l("Add user"))


class OrganisationForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=[])
    division = StringField(_l("Division code"), validators=[Optional(), Length(max=6)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    submit = SubmitField(_l("Add organisation"))


class SetPasswordForm(Form):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords do not match."))])
    submit = SubmitField(_l("Set password"))



# --------------------------------------------------------------- JSON API bodies of the people pages (/api/v1/admin)
# Each field as the page's form has it; the service checks roles, places and divisions as for the pages.

class UserBody(JSONForm):
    """A new user (POST /admin/users): without a password they are invited by a one-time link."""

    username = JSONText(required=True, max_length=64)
    display_name = JSONText(max_length=64)
    role = JSONText(required=True, max_length=16)
    organisation = JSONInteger()
    organisation_role = JSONText(max_length=8)
    division = JSONText(max_length=6)
    password = JSONText(max_length=256)


class PlaceBody(JSONForm):
    """A user's role and place (PATCH /admin/users/{id}): the fields sent change, null clears."""

    role = JSONText(max_length=16)
    organisation = JSONInteger()
    organisation_role = JSONText(max_length=8)
    division = JSONText(max_length=6)


class LinkBody(JSONForm):
    purpose = JSONText(max_length=8, validators=[AnyOf(LINK_PURPOSES, message=_l("welcome or reset"))])


class OrganisationBody(JSONForm):
    name = JSONText(required=True, max_length=120)
    kind = JSONText(required=True, max_length=16)
    division = JSONText(max_length=6)
    contact_phone = JSONText(max_length=32, validators=[PHONE])
