"""Base form shared by pages and the JSON API."""
from flask_wtf import FlaskForm
from wtforms import Field

NOT_API_FIELDS = {"csrf_token", "submit"}


class Form(FlaskForm):
    @classmethod
    def api_fields(cls):
        return [name for name in dir(cls)
                if not name.startswith("_") and name not in NOT_API_FIELDS
                and hasattr(getattr(cls, name), "field_class")
                and issubclass(getattr(cls, name).field_class, Field)]
