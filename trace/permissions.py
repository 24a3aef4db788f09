"""Who may do what with batches (the shared levels and farm access are in ``web.permissions``).

A user acts for organisations: their own, and the owning organisation of every
farm on which they may log (a farmer acts for their farm). A batch belongs to
its holder organisation: only the holder adds events, ships, splits, merges or
transforms it; the organisation it is shipped to may receive it; inspectors
add inspection and sampling events to any batch they can see.
"""
from web.permissions import Access


def can_view_batch(user, batch, acting, ever_held, farm_level):
    """``ever_held``: organisations that held the batch or its ancestors; ``farm_level``: access to its farm."""
    if user is None:
        return False
    if user.role in ("admin", "inspector"):
        return True
    if batch.destination_id in acting:  # shipped to them: they must see what they receive
        return True
    return bool(set(acting) & set(ever_held)) or farm_level >= Access.VIEW


def can_act_on_batch(user, batch, acting):
    return user is not None and (user.role == "admin" or batch.holder_id in acting)


def can_receive_batch(user, batch, acting):
    return (user is not None and batch.status == "in_transit"
            and (user.role == "admin" or batch.destination_id in acting))


def can_inspect(user):
    return user is not None and user.role in ("inspector", "admin") and user.organisation_id is not None
