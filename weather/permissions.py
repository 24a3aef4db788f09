"""Who may edit the crop advice (the feeds are for administrators: ``roles_required("admin")``)."""


def can_edit_advice(user):
    """Advice applies province-wide: administrators and the provincial bureau edit it."""
    return user is not None and (user.role == "admin" or (
        user.role == "bureau" and bool(user.division_code) and user.division_code.endswith("0000")))

