"""What the chain domain keeps: organisations' keys, sealed events (the outbox) and anchored roots.

None of it is trusted when a batch is verified: leaves are recomputed from the events, proofs are
checked up to the root, and the root's record is read from the contract.
"""
import peewee as pw

from web.accounts.models import Organisation, utcnow
from web.db import BaseModel


class OrgKey(BaseModel):
    """An organisation's signing key, as an encrypted keystore (never in clear)."""

    organisation = pw.ForeignKeyField(Organisation, backref="chain_keys")
    address = pw.CharField(max_length=42, unique=True)
    keystore = pw.TextField()  # Web3 Secret Storage JSON, encrypted with CHAIN_KEY_PASSWORD
    created_at = pw.DateTimeField(default=utcnow)
    retired_at = pw.DateTimeField(null=True)  # rotated out: its old signatures still verify


class Root(BaseModel):
    """A Merkle root of one organisation's sealed events, and its life on chain.

    state: ready (built, not yet sent) -> sent (transaction sent) -> anchored (in a block) ->
    confirmed (still there CHAIN_CONFIRMATIONS blocks later); a root the chain lost goes back to ready.
    """

    root = pw.CharField(max_length=66, unique=True)
    organisation = pw.ForeignKeyField(Organisation)
    count = pw.IntegerField()
    state = pw.CharField(max_length=10, default="ready", index=True)
    tx_hash = pw.CharField(max_length=66, null=True)
    block_number = pw.BigIntegerField(null=True)
    anchored_at = pw.DateTimeField(null=True)  # the block's time, UTC
    submitter = pw.CharField(max_length=42, null=True)
    gas_used = pw.BigIntegerField(null=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    next_try_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    confirmed_at = pw.DateTimeField(null=True)


class Seal(BaseModel):
    """One journey event, sealed: its leaf (chained to the batch's previous leaf), the recording
    organisation's EIP-712 signature, and once anchored its root and proof. Rows without a root
    are the outbox."""

    event_pk = pw.IntegerField(unique=True)  # the event row's id (no foreign key: a deleted row must show)
    event_uuid = pw.CharField(max_length=64)
    batch_id = pw.IntegerField()
    seq = pw.IntegerField()  # position in the batch's events, from 0
    organisation = pw.ForeignKeyField(Organisation)
    leaf = pw.CharField(max_length=66)
    prev = pw.CharField(max_length=66, null=True)
    signer = pw.CharField(max_length=42)
    signature = pw.CharField(max_length=132)
    root = pw.ForeignKeyField(Root, null=True, backref="seals")
    proof = pw.TextField(null=True)  # JSON list of hex siblings
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("batch_id", "seq"), True), (("organisation", "root"), False))
