"""Who acts for which organisations, and which batches a user may see or act on."""
from flask_babel import gettext as _

from farms import service as farms
from trace import permissions
from trace._lineage import ancestor_ids
from trace.models import Batch, Event
from web.accounts.models import Organisation
from web.permissions import Access, Denied

def acting_organisations(user):
    """The organisations ``user`` acts for: their own and the owners of farms they log on."""
    if user is None:
        return set()
    acting = {user.organisation_id} if user.organisation_id else set()
    farm_ids = farms.farm_ids_with_access(user, Access.LOG) if user.role == "farmer" else []
    for farm_id in farm_ids:
        acting.add(farms.public_farm(farm_id)["organisation_id"])
    return acting


def _ever_held(batch):
    ids = ancestor_ids(batch.id) | {batch.id}
    holders = {b.holder_id for b in Batch.select(Batch.holder).where(Batch.id.in_(list(ids)))}
    recorders = {e.organisation_id for e in Event.select(Event.organisation).where(Event.batch.in_(list(ids)))}
    return holders | recorders


def get_batch(user, batch_id):
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None:
        raise Denied(404, _("batch not found"))
    farm_level = Access.NONE
    if batch.farm_id:
        farm_level = farms.access_to_farm_id(user, batch.farm_id)
    if not permissions.can_view_batch(user, batch, acting_organisations(user), _ever_held(batch), farm_level):
        raise Denied(404, _("batch not found"))
    return batch


def visible_batches(user):
    """Batches the user's organisations hold or held, or that come from a farm the user may view (a bureau's
    jurisdiction), newest first (all for admins and inspectors): the batches ``get_batch`` opens."""
    query = Batch.select().order_by(Batch.created_at.desc(), Batch.id.desc())
    if user.role in ("admin", "inspector"):
        return query
    acting = list(acting_organisations(user)) or [0]
    touched = Event.select(Event.batch).where(Event.organisation.in_(acting))
    return query.where(Batch.holder.in_(acting) | Batch.organisation.in_(acting) | Batch.id.in_(touched)
                       | (Batch.destination.in_(acting)) | Batch.farm.in_(farms.visible_farm_ids(user)))


def held_with(user, batch, limit=50):
    """Other active batches the user sees that the same organisation holds (for merging and processing)."""
    return list(visible_batches(user)
                .where((Batch.holder == batch.holder_id) & (Batch.status == "active") & (Batch.id != batch.id))
                .limit(limit))


def holder_names(batches):
    """{organisation id: name} of the organisations holding ``batches``."""
    holder_ids = {b.holder_id for b in batches}
    return {o.id: o.name for o in Organisation.select(Organisation.id, Organisation.name)
            .where(Organisation.id.in_(list(holder_ids) or [0]))}


def _require_holder(user, batch):
    if not permissions.can_act_on_batch(user, batch, acting_organisations(user)):
        raise Denied(403, _("Only the organisation that holds this batch may do this."))
