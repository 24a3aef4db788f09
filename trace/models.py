"""Traceability models: harvest batches, their lineage, and append-only journey events.

An event row keeps the whole EPCIS 2.0 event a consumer may see as canonical
JSON (``document``) and its SHA-256 (``hash``); the other columns are copies of
document fields, for queries. Rows are never updated or deleted: a correction
is a new row (an EPCIS error declaration plus a corrective event).
"""
import peewee as pw

from farms.models import Farm, Log, Plot
from web.accounts.models import Organisation, User
from web.clock import utcnow
from web.db import BaseModel

BATCH_STATUSES = ("active", "in_transit", "consumed", "sold", "recalled")
LINK_KINDS = ("split", "merge", "transform")


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete a stored event."""


class Batch(BaseModel):
    code = pw.CharField(max_length=32, unique=True)  # in /t/<code> URLs
    organisation = pw.ForeignKeyField(Organisation, backref="batches")  # whose lot number it is
    holder = pw.ForeignKeyField(Organisation, backref="held_batches")  # who has it now
    destination = pw.ForeignKeyField(Organisation, null=True)  # while in transit
    lot_number = pw.CharField(max_length=20)
    gtin = pw.CharField(max_length=14, null=True)
    product_name = pw.CharField(max_length=120)
    product_name_en = pw.CharField(max_length=120, default="")
    crop_code = pw.CharField(max_length=32, default="")
    variety = pw.CharField(max_length=80, default="")
    farm = pw.ForeignKeyField(Farm, null=True)  # null for batches made by merging farms' produce
    plot = pw.ForeignKeyField(Plot, null=True)
    harvest_log = pw.ForeignKeyField(Log, null=True)
    harvest_date = pw.DateField(null=True)
    quantity = pw.FloatField()
    remaining = pw.FloatField()
    unit = pw.CharField(max_length=16)
    status = pw.CharField(max_length=16, default="active")
    created_by = pw.ForeignKeyField(User, null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("organisation", "lot_number"), True),)


class BatchLink(BaseModel):
    """``child`` was made from ``parent`` (a split, a merge or a transformation)."""

    parent = pw.ForeignKeyField(Batch, backref="child_links")
    child = pw.ForeignKeyField(Batch, backref="parent_links")
    kind = pw.CharField(max_length=16)
    quantity = pw.FloatField()  # of the parent that went into the child

    class Meta:
        indexes = ((("parent", "child"), True), (("child", "parent"), False))


class Inspection(BaseModel):
    """A residue test of a lab, on a batch or (before harvest) on a plot."""

    lab = pw.ForeignKeyField(Organisation)
    inspector = pw.ForeignKeyField(User, null=True)
    batch = pw.ForeignKeyField(Batch, null=True, backref="inspections")
    plot = pw.ForeignKeyField(Plot, null=True)
    sampled_at = pw.DateTimeField()
    passed = pw.BooleanField()
    items = pw.TextField()  # JSON list of {"name", "result", "limit", "unit", "passed"}
    report_sha256 = pw.CharField(max_length=64, null=True)
    created_at = pw.DateTimeField(default=utcnow)


class Attachment(BaseModel):
    sha256 = pw.CharField(max_length=64, unique=True)
    filename = pw.CharField(max_length=200)
    media_type = pw.CharField(max_length=100)
    size = pw.IntegerField()
    data = pw.BlobField()
    created_at = pw.DateTimeField(default=utcnow)
    # Whose storage it counts against (ATTACHMENT_QUOTA_BYTES): the uploader's organisation; empty for files
    # stored before quotas, and for administrators without one.
    organisation = pw.ForeignKeyField(Organisation, null=True, on_delete="SET NULL")


class Event(BaseModel):
    event_id = pw.CharField(max_length=64)  # urn:uuid:...; an error declaration repeats its event's id
    kind = pw.CharField(max_length=20, default="event")  # "event" or "error_declaration"
    batch = pw.ForeignKeyField(Batch, backref="events")
    biz_step = pw.CharField(max_length=32)
    event_time = pw.DateTimeField()  # UTC
    organisation = pw.ForeignKeyField(Organisation)  # who recorded it
    recorded_by = pw.ForeignKeyField(User, null=True)
    corrects = pw.CharField(max_length=64, null=True)  # event_id this one corrects
    document = pw.TextField()  # canonical JSON of the EPCIS event
    hash = pw.CharField(max_length=64)
    recorded_at = pw.DateTimeField(default=utcnow)
    # The eventID a partner's EPCIS document gave it (also in the hashed document): a resent document
    # records each event once.
    source_event_id = pw.CharField(max_length=200, null=True)

    class Meta:
        indexes = ((("batch", "event_time"), False), (("event_id", "kind"), True),
                   (("batch", "source_event_id"), True))

    def save(self, *args, **kwargs):
        if self.id is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("journey events are append-only; record a correction instead")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise AppendOnlyError("journey events are append-only")

    @classmethod
    def update(cls, *args, **kwargs):
        raise AppendOnlyError("journey events are append-only; record a correction instead")

    @classmethod
    def delete(cls):
        raise AppendOnlyError("journey events are append-only")


class Scan(BaseModel):
    """A consumer opened the batch's QR URL. Only a hashed network prefix is kept."""

    batch = pw.ForeignKeyField(Batch, backref="scans")
    serial = pw.CharField(max_length=20, null=True)
    scanned_at = pw.DateTimeField(default=utcnow)
    place = pw.CharField(max_length=16)  # hash of the client's /24 (IPv4) or /48 (IPv6) network

    class Meta:
        indexes = ((("batch", "scanned_at"), False), (("batch", "place", "scanned_at"), False))


class IssuedSerial(BaseModel):
    """A serial printed on one of the batch's labels (AI 21): only these resolve on the consumer page."""

    batch = pw.ForeignKeyField(Batch, backref="issued_serials")
    serial = pw.CharField(max_length=20)
    issued_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("batch", "serial"), True),)


class PhiRefusal(BaseModel):
    """A batch was refused because a pesticide's pre-harvest interval had not elapsed (counted by the bureau)."""

    harvest_log = pw.ForeignKeyField(Log, on_delete="CASCADE")
    farm = pw.ForeignKeyField(Farm)
    refused_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "phi_refusal"
        indexes = ((("refused_at",), False),)
