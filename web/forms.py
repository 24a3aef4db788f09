"""Base form shared by pages and the JSON API."""
from flask_wtf import FlaskForm
from wtforms import Field
from wtforms import Form as PlainForm

NOT_API_FIELDS = {"csrf_token", "submit"}


def _api_fields(cls):
    return [name for name in dir(cls)
            if not name.startswith("_") and name not in NOT_API_FIELDS
            and hasattr(getattr(cls, name), "field_class")
            and issubclass(getattr(cls, name).field_class, Field)]


class Form(FlaskForm):
    api_fields = classmethod(_api_fields)


class JSONForm(PlainForm):
    """A JSON API body checked field by field with the JSON fields of web/fields.py, which take
    the values as sent (no text coercion). ``validate`` may set ``message``, the error's summary."""

    api_fields = classmethod(_api_fields)
    message = None

    def path_errors(self, prefix=""):
        """{"inputs[1].quantity": [message, ...]}: every error by the path of its value."""
        errors = {}
        for name, field in self._fields.items():
            if hasattr(field, "path_errors"):
                errors.update(field.path_errors(prefix + name))
            elif field.errors:
                errors[prefix + name] = list(field.errors)
        return errors


def apply_errors(form, error, aliases=None):
    """Show a service's field errors on the form (``aliases`` maps service names to form
    fields), and its message on top of the page."""
    from flask import flash

    aliases = aliases or {}
    shown = False
    for name, message in (error.fields or {}).items():
        field = getattr(form, aliases.get(name, name), None)
        if field is not None and message and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
            shown = True
    if not shown:  # a rule about the whole entry: the form has an error all the same (the page answers 422)
        form.form_errors.append(error.message)
    flash(error.message, "error")


def submit(form, save, done, next_url, aliases=None):
    """Validate a posted form and save it through a service: the one path of every page form.

    ``save()`` writes and returns the saved object; ``done(saved)`` is the message shown
    after it and ``next_url(saved)`` where to go. Returns the redirect, or None when the
    form is to be shown again with its errors; nothing is written unless all is valid.
    """
    from flask import flash, redirect

    from web.db import Conflict, ValidationError

    if not form.validate_on_submit():
        return None
    try:
        saved = save()
    except (ValidationError, Conflict) as e:
        apply_errors(form, e, aliases)
        return None
    flash(done(saved) if callable(done) else done, "info")
    return redirect(next_url(saved))
