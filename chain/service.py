"""Anchoring journey events on a permissioned EVM chain: the only door into the chain domain.

How a batch's journey becomes checkable without trusting this server:

1. **Seal.** When trace stores an event (in the same transaction, under the batch's lock) it is
   sealed: its leaf is ``keccak256`` of the canonical JSON (``chain.canonical``) of
   ``{"batch", "seq", "prev", "record"[, "header"]}``, where ``record`` is every stored column of
   the event row (its EPCIS document included), ``prev`` the leaf of the batch's previous event
   and ``header`` (first event only) the batch row's unchanging fields that pages show. Changing,
   removing, reordering or inserting an event breaks the chain of leaves.
2. **Sign.** Each leaf is signed (EIP-712, ``JourneyEvent(string batch,uint32 seq,bytes32 leaf)``)
   with the key of the organisation that recorded the event; keys live encrypted (Web3 Secret
   Storage, ``CHAIN_KEY_PASSWORD``) and each organisation's address holds WRITER on the contract.
3. **Anchor.** A scheduled job builds an OpenZeppelin-compatible Merkle tree per organisation from
   its unanchored leaves (the outbox) and anchors the root in one transaction signed by that
   organisation; each seal keeps its root and proof.
4. **Confirm.** A root counts once the contract still holds it ``CHAIN_CONFIRMATIONS`` blocks
   later; a reconciliation job re-reads every root and anchors again any that a node lost.
5. **Verify.** Each event is recomputed from the database into a leaf, through its proof to the
   root, to the contract's record of the root (time, submitter) and the signer's WRITER period.
"""
import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import peewee as pw
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from flask import current_app

from chain import merkle
from chain.canonical import canonical_bytes
from chain.models import OrgKey, Root, Seal
from trace import service as trace
from web.accounts.models import Organisation, utcnow
from web.db import database

log = logging.getLogger(__name__)

EIP712_DOMAIN = {"name": "GanNong Trace", "version": "1"}
EIP712_TYPES = {
    "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"}],
    "JourneyEvent": [{"name": "batch", "type": "string"}, {"name": "seq", "type": "uint32"},
                     {"name": "leaf", "type": "bytes32"}],
}
PROOF_FORMAT = "gannong-trace-proof/1"
# Keystore encryption cost: scrypt n (about 35 ms to unlock on a 2-core machine; done once per process).
KDF_N = 2 ** 14
STATES = ("verified", "pending", "tampered", "missing", "unknown_root")


def _hex(data):
    return "0x" + bytes(data).hex()


def _bytes(text):
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


# ---------------------------------------------------------------- settings and the node

def _config(name):
    return current_app.config[name]


def deployment():
    """{"address", "chain_id"} of the registry: CHAIN_CONTRACT, else what ``deploy`` wrote to DATA_DIR."""
    address = _config("CHAIN_CONTRACT")
    stored = {}
    path = Path(_config("DATA_DIR")) / "chain.json"
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except ValueError:
            stored = {}
    if address:
        return {"address": address, "chain_id": stored.get("chain_id")}
    return stored if stored.get("address") else None


def save_deployment(address, chain_id):
    path = Path(_config("DATA_DIR")) / "chain.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"address": address, "chain_id": chain_id}, indent=2) + "\n")


class ChainUnavailable(Exception):
    """No chain is configured, or its node does not answer."""


IN_PROCESS = "eth-tester://"
_IN_PROCESS_CHAIN = []


def web3():
    """A connection to CHAIN_RPC_URL (``eth-tester://``: a chain inside this process, for tests)."""
    from chain import registry as chain_registry

    url = _config("CHAIN_RPC_URL")
    if not url:
        raise ChainUnavailable("no chain configured: set CHAIN_RPC_URL and deploy the contract "
                               "(flask --app web chain deploy)")
    if url == IN_PROCESS:
        if not _IN_PROCESS_CHAIN:
            from chain import keep_recursion_limit

            with keep_recursion_limit():
                from web3 import EthereumTesterProvider, Web3

                _IN_PROCESS_CHAIN.append(Web3(EthereumTesterProvider()))
        return _IN_PROCESS_CHAIN[0]
    try:
        return chain_registry.connect(url, timeout=_config("CHAIN_TIMEOUT"), poa=_config("CHAIN_POA"))
    except chain_registry.ChainError as e:
        raise ChainUnavailable(str(e)) from None


def registry():
    """The registry contract on the configured node; ChainUnavailable when there is none."""
    from chain import registry as chain_registry

    where = deployment()
    w3 = web3()
    if not where:
        raise ChainUnavailable("the registry is not deployed: flask --app web chain deploy")
    return chain_registry.Registry(w3, where["address"])


def admin_account():
    key = _config("CHAIN_ADMIN_KEY")
    return Account.from_key(key) if key else None


# ---------------------------------------------------------------- organisations' keys

_UNLOCKED = {}
_UNLOCK_LOCK = threading.Lock()


def _password():
    """The key-encryption key: CHAIN_KEY_PASSWORD, else one derived from SECRET_KEY (both kept out of the database)."""
    password = _config("CHAIN_KEY_PASSWORD")
    if password:
        return password
    return hmac.new(_config("SECRET_KEY").encode(), b"chain-key-encryption", hashlib.sha256).hexdigest()


def current_key(organisation_id, create=True):
    """The organisation's signing key row (made on first need)."""
    key = (OrgKey.select().where((OrgKey.organisation == organisation_id) & OrgKey.retired_at.is_null())
           .order_by(OrgKey.id.desc()).first())
    if key is None and create:
        account = Account.create()
        keystore = Account.encrypt(account.key, _password(), kdf="scrypt", iterations=KDF_N)
        key = OrgKey.create(organisation=organisation_id, address=account.address, keystore=json.dumps(keystore))
        _UNLOCKED[key.address] = account
    return key


def unlock(key):
    """The key row's account, decrypted once per process."""
    with _UNLOCK_LOCK:
        account = _UNLOCKED.get(key.address)
        if account is None:
            account = Account.from_key(Account.decrypt(json.loads(key.keystore), _password()))
            _UNLOCKED[key.address] = account
        return account


def rotate_key(organisation_id):
    """Retire the organisation's key and make a new one; on chain the new address gets WRITER and the
    old loses it, so the old key's signatures verify for the period it held WRITER, and no later."""
    with database.atomic():
        old = current_key(organisation_id, create=False)
        if old is not None:
            OrgKey.update(retired_at=utcnow()).where(OrgKey.id == old.id).execute()
        new = current_key(organisation_id)
    try:
        contract, admin = registry(), admin_account()
    except ChainUnavailable:
        return new
    if admin is not None:
        ensure_writer(contract, admin, new.address)
        if old is not None and contract.is_writer(old.address):
            contract.revoke_writer(admin, old.address)
    return new


def grant_all(contract, admin):
    """WRITER for every organisation's current key (made now for those that have none)."""
    count = 0
    for organisation in Organisation.select().order_by(Organisation.id):
        ensure_writer(contract, admin, current_key(organisation.id).address)
        count += 1
    return count


def sending_accounts():
    """[(address, who)] of every account that sends transactions: the admin (when CHAIN_ADMIN_KEY is set) and
    each organisation's current key (made now for those that have none). A permissioned network's account
    allowlist must hold them all."""
    admin = admin_account()
    accounts = [(admin.address, "admin")] if admin is not None else []
    for organisation in Organisation.select().order_by(Organisation.id):
        accounts.append((current_key(organisation.id).address, organisation.name))
    return accounts


def ensure_writer(contract, admin, address):
    """Grant WRITER to ``address`` (and, where gas costs something, fund it) unless it holds it."""
    if not contract.is_writer(address):
        contract.grant_writer(admin, address)
    w3 = contract.w3
    if w3.eth.gas_price > 0 and w3.eth.get_balance(address) < 10 ** 17:
        from chain import registry as chain_registry

        chain_registry.fund(w3, admin, address, 10 ** 18)


# ---------------------------------------------------------------- sealing events (the outbox)

def leaf_document(batch_code, seq, prev, record, header=None):
    document = {"batch": batch_code, "seq": seq, "prev": prev, "record": record}
    if header is not None:
        document["header"] = header
    return document


def leaf_hash(document):
    return keccak(canonical_bytes(document))


def typed_data(batch_code, seq, leaf):
    return {"types": EIP712_TYPES, "primaryType": "JourneyEvent", "domain": EIP712_DOMAIN,
            "message": {"batch": batch_code, "seq": seq, "leaf": bytes(leaf)}}


def sign_leaf(account, batch_code, seq, leaf):
    return _hex(Account.sign_message(encode_typed_data(full_message=typed_data(batch_code, seq, leaf)),
                                     account.key).signature)


@functools.lru_cache(maxsize=200_000)
def recover_signer(batch_code, seq, leaf, signature):
    """The address that signed (batch, seq, leaf); the same inputs always give the same answer, so
    page views remember it instead of recovering it again (a third of a verify page's time)."""
    try:
        return Account.recover_message(encode_typed_data(full_message=typed_data(batch_code, seq, leaf)),
                                       signature=_bytes(signature))
    except Exception:  # a malformed signature recovers nobody
        return None


def seal_event(event):
    """Trace's listener: seal ``event`` (and any earlier event of its batch not sealed yet)."""
    last = Seal.select().where(Seal.batch_id == event.batch_id).order_by(Seal.seq.desc()).first()
    header = None
    batch_code = None
    for row in trace.batch_events(event.batch_id, after_id=last.event_pk if last else 0):
        seq = last.seq + 1 if last else 0
        if batch_code is None:
            header = trace.batch_header(row.batch_id)
            batch_code = header["code"]
        document = leaf_document(batch_code, seq, last.leaf if last else None, trace.event_record(row),
                                 header if seq == 0 else None)
        key = current_key(row.organisation_id)
        leaf = leaf_hash(document)
        last = Seal.create(event_pk=row.id, event_uuid=row.event_id, batch_id=row.batch_id, seq=seq,
                           organisation=row.organisation_id, leaf=_hex(leaf), prev=document["prev"],
                           signer=key.address, signature=sign_leaf(unlock(key), batch_code, seq, leaf))


def seal_backlog():
    """Seal events stored before the chain domain was installed (or loaded behind its back).

    Cheap when there is nothing to do (two counts); otherwise each batch whose events are not all
    sealed gets its unsealed tail sealed in order."""
    if Seal.select().count() >= trace.event_count():
        return 0
    count = 0
    for batch_id in trace.batch_ids_with_events():
        with database.atomic():
            last = Seal.select().where(Seal.batch_id == batch_id).order_by(Seal.seq.desc()).first()
            unsealed = trace.batch_events(batch_id, after_id=last.event_pk if last else 0)
            if unsealed:
                seal_event(unsealed[-1])
                count += len(unsealed)
    return count


# ---------------------------------------------------------------- anchoring

@dataclass
class AnchorReport:
    sealed: int = 0
    rooted: int = 0
    anchored: int = 0
    confirmed: int = 0
    failed: int = 0
    error: str = ""


def _backoff(attempts):
    return dt.timedelta(seconds=min(300, 5 * 2 ** min(attempts, 6)))


def build_roots(limit=None):
    """Move the outbox into Merkle roots: one per organisation, at most ``limit`` leaves each."""
    limit = limit or _config("CHAIN_ANCHOR_EVENTS")
    made = []
    organisations = [row.organisation_id for row in
                     Seal.select(Seal.organisation).where(Seal.root.is_null()).distinct()]
    for organisation_id in organisations:
        with database.atomic():
            seals = list(Seal.select(Seal.id, Seal.leaf).where((Seal.organisation == organisation_id)
                                                               & Seal.root.is_null())
                         .order_by(Seal.id).limit(limit))
            if not seals:
                continue
            tree = merkle.Tree([_bytes(s.leaf) for s in seals])
            root = Root.create(root=_hex(tree.root), organisation=organisation_id, count=len(seals))
            for seal in seals:
                Seal.update(root=root, proof=json.dumps([_hex(p) for p in tree.proof(_bytes(seal.leaf))])) \
                    .where(Seal.id == seal.id).execute()
            made.append(root)
    return made


def _ref(organisation_id):
    return keccak(trace.organisation_uri(organisation_id).encode())


def _mark_anchored(root, record, tx_hash=None, gas_used=None):
    root.state = "anchored"
    root.block_number = record.block_number
    root.anchored_at = dt.datetime.fromtimestamp(record.timestamp, dt.timezone.utc).replace(tzinfo=None)
    root.submitter = record.submitter
    root.tx_hash = tx_hash or root.tx_hash
    root.gas_used = gas_used if gas_used is not None else root.gas_used
    root.last_error = ""
    root.next_try_at = None
    root.save()


def _send(contract, root):
    """Anchor one root, or find it already anchored; failures are kept for a later try."""
    from chain import registry as chain_registry

    record = contract.anchor_of(_bytes(root.root))
    if record is not None:
        _mark_anchored(root, record)
        return True
    if root.state == "sent" and root.tx_hash and contract.is_pending(root.tx_hash):
        return False  # still waiting for a block: do not send it twice
    key = current_key(root.organisation_id)
    try:
        admin = admin_account()
        if admin is not None:
            ensure_writer(contract, admin, key.address)
        tx_hash = contract.send_anchor(unlock(key), _bytes(root.root), root.count, _ref(root.organisation_id))
        root.state, root.tx_hash, root.attempts = "sent", tx_hash, root.attempts + 1
        root.save()
        receipt = contract.wait(tx_hash, timeout=_config("CHAIN_TIMEOUT") * 6)
        record = contract.anchor_of(_bytes(root.root))
        if record is None:
            raise chain_registry.TransactionReverted("the transaction was mined but the root is not held")
        _mark_anchored(root, record, tx_hash, receipt["gas_used"])
        return True
    except chain_registry.RootAlreadyAnchored:
        record = contract.anchor_of(_bytes(root.root))
        if record is not None:
            _mark_anchored(root, record)
            return True
        raise
    except chain_registry.ChainError as e:
        root.attempts += 1 if root.state != "sent" else 0
        root.last_error = str(e)[:500]
        root.next_try_at = utcnow() + _backoff(root.attempts)
        root.save()
        log.warning("anchoring root %s failed: %s", root.root, e)
        if isinstance(e, chain_registry.NodeUnavailable):
            raise
        return False


def anchor_pending():
    """One run of the anchoring job: outbox -> roots -> chain -> confirmations."""
    report = AnchorReport()
    report.sealed = seal_backlog()
    report.rooted = len(build_roots())
    try:
        contract = registry()
    except ChainUnavailable as e:
        report.error = str(e)
        return report
    from chain import registry as chain_registry

    now = utcnow()
    due = (Root.select().where(Root.state.in_(("ready", "sent"))
                               & (Root.next_try_at.is_null() | (Root.next_try_at <= now)))
           .order_by(Root.id))
    try:
        for root in due:
            if _send(contract, root):
                report.anchored += 1
            else:
                report.failed += 1
        report.confirmed = confirm(contract)
    except chain_registry.ChainError as e:  # the node went away, or refused a read: try again next run
        report.error = str(e)
    return report


def confirm(contract):
    """Anchored roots still held CHAIN_CONFIRMATIONS blocks later become confirmed; lost ones go back."""
    head = contract.block_number()
    depth = _config("CHAIN_CONFIRMATIONS")
    count = 0
    for root in Root.select().where((Root.state == "anchored") & (Root.block_number <= head - depth)):
        record = contract.anchor_of(_bytes(root.root))
        if record is None:
            _lost(root)
            continue
        if record.block_number != root.block_number:
            _mark_anchored(root, record)  # re-mined elsewhere: count again from there
            continue
        root.state, root.confirmed_at = "confirmed", utcnow()
        root.save()
        count += 1
    return count


def _lost(root):
    log.warning("root %s is no longer on chain; anchoring it again", root.root)
    _RECORDS.pop(root.root, None)
    root.state, root.tx_hash, root.block_number, root.anchored_at = "ready", None, None, None
    root.last_error = "the chain no longer holds this root"
    root.next_try_at = None
    root.save()


def reconcile():
    """Re-read every confirmed root from the contract; any a restarted node lost is anchored again."""
    try:
        contract = registry()
    except ChainUnavailable as e:
        return {"checked": 0, "lost": 0, "error": str(e)}
    from chain import registry as chain_registry

    checked = lost = 0
    try:
        for root in Root.select().where(Root.state.in_(("anchored", "confirmed"))).order_by(Root.id):
            if contract.anchor_of(_bytes(root.root)) is None:
                _lost(root)
                lost += 1
            checked += 1
    except chain_registry.ChainError as e:
        return {"checked": checked, "lost": lost, "error": str(e)}
    return {"checked": checked, "lost": lost, "error": ""}


def status():
    """Counts for the operator: outbox, roots by state, and the last error."""
    by_state = {row.state: row.n for row in
                Root.select(Root.state, pw.fn.COUNT(Root.id).alias("n")).group_by(Root.state)}
    failing = Root.select().where(Root.last_error != "").order_by(Root.id.desc()).first()
    return {"outbox": Seal.select().where(Seal.root.is_null()).count(), "roots": by_state,
            "last_error": failing.last_error if failing else "", "deployment": deployment()}


# ---------------------------------------------------------------- verification

_RECORDS = {}  # root hex -> on-chain record, once confirmed (a final root does not change)
_WRITERS = {}  # address -> (period, read at)
WRITER_CACHE_SECONDS = 60


def _root_record(contract_factory, root_hex):
    record = _RECORDS.get(root_hex)
    if record is None:
        record = contract_factory().anchor_of(_bytes(root_hex))
        if record is not None:
            _RECORDS[root_hex] = record
    return record


def _writer_period(contract_factory, address):
    cached = _WRITERS.get(address)
    if cached and time.monotonic() - cached[1] < WRITER_CACHE_SECONDS:
        return cached[0]
    period = contract_factory().writer_period(address)
    _WRITERS[address] = (period, time.monotonic())
    return period


def _held_writer(period, timestamp):
    since, until = period
    return since != 0 and since <= timestamp and (until == 0 or timestamp < until)


# Verdicts of verify_batches, keyed by a digest of every row they were computed from (the batches,
# their events, seals and roots): a changed, deleted or added row gives a new key and a fresh
# verification, so the cache can never hide tampering; CHAIN_VERIFY_CACHE_SECONDS bounds the rest
# (the chain's records and writer periods, themselves cached above).
_VERDICTS = {}  # key -> (expires at, monotonic; result)
_VERDICTS_LOCK = threading.Lock()
VERDICTS_MAX = 4096


def seals_key(batch_ids):
    """A digest of these batches' Seal rows and their roots' rows, with the registry's address: with
    trace's digest of the batches' own rows, what a verdict on them depends on in the database."""
    ids = sorted(set(batch_ids)) or [0]
    digest = hashlib.blake2b(digest_size=32)
    marks = ", ".join([database.param] * len(ids))
    sql = (f'SELECT s.*, r.* FROM "{Seal._meta.table_name}" s LEFT OUTER JOIN "{Root._meta.table_name}" r '
           f'ON r."id" = s."root_id" WHERE s."batch_id" IN ({marks}) ORDER BY s."id"')
    for row in database.execute_sql(sql, ids):
        digest.update(repr(tuple(row)).encode())
    return _config("CHAIN_CONTRACT"), digest.hexdigest()


def _verdict_key(batch_ids):
    ids = sorted(set(batch_ids)) or [0]
    return (current_app.config["DATABASE_URL"], tuple(ids), trace.rows_digest(ids)) + seals_key(ids)


def _cached(key, compute):
    """``compute()``, or its result for the same ``key`` within CHAIN_VERIFY_CACHE_SECONDS. Results that
    met a node that was down (``chain_error``) are not kept: the node is asked again next time."""
    seconds = current_app.config.get("CHAIN_VERIFY_CACHE_SECONDS") or 0
    if seconds <= 0:
        return compute()
    key = key()
    now = time.monotonic()
    with _VERDICTS_LOCK:
        cached = _VERDICTS.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    result = compute()
    if result.get("chain_error") is None:
        with _VERDICTS_LOCK:
            if len(_VERDICTS) >= VERDICTS_MAX:
                expired = [k for k, (expires, _r) in _VERDICTS.items() if expires <= now]
                for old in expired or list(_VERDICTS)[:VERDICTS_MAX // 4]:
                    _VERDICTS.pop(old, None)
            _VERDICTS[key] = (now + seconds, result)
    return result


def verify_batches(batch_ids):
    """verify_batches_now, or its verdict on exactly the same rows within CHAIN_VERIFY_CACHE_SECONDS."""
    return _cached(lambda: _verdict_key(batch_ids), lambda: verify_batches_now(batch_ids))


def _lineage_key(kind, batch):
    """The cache key of a verdict on ``batch``'s journey: the digest of every row of the batch and the
    batches it was made from (their events, links, seals and roots), which the journey is drawn from."""
    return (kind, batch.id) + _verdict_key(trace.lineage_ids(batch.id))


def verify_batches_now(batch_ids):
    """{event row id: state} for every event of these batches, plus gaps as {"missing": [...]}.

    States: verified, pending (sealed, not yet confirmed on chain), tampered (the row no longer
    gives its leaf, or the proof, signature or chain of leaves fails), missing (a sealed event
    is gone), unknown_root (the chain does not hold the root its proof leads to).
    """
    states, missing, roots = {}, [], {}
    contract = []

    def contract_factory():
        if not contract:
            contract.append(registry())
        return contract[0]

    chain_down = None
    for batch_id in batch_ids:
        events = trace.batch_events(batch_id)
        seals = {s.event_pk: s for s in Seal.select(Seal, Root).join(Root, pw.JOIN.LEFT_OUTER)
                 .where(Seal.batch_id == batch_id).order_by(Seal.seq)}
        present = {e.id for e in events}
        for seal in seals.values():
            if seal.event_pk not in present:
                missing.append({"batch": batch_id, "seq": seal.seq, "event_id": seal.event_uuid})
        header = trace.batch_header(batch_id)
        prev_leaf, expected_seq = None, 0
        for event in events:
            seal = seals.get(event.id)
            if seal is None:
                # Sealing happens with the write: an unsealed event in the middle was put there by hand.
                later = any(s.seq >= expected_seq for s in seals.values())
                states[event.id] = "tampered" if later else "pending"
                continue
            if seal.seq > expected_seq:
                missing.extend({"batch": batch_id, "seq": seq, "event_id": None}
                               for seq in range(expected_seq, seal.seq)
                               if not any(m["batch"] == batch_id and m["seq"] == seq for m in missing))
            document = leaf_document(header["code"] if header else "", seal.seq, seal.prev,
                                     trace.event_record(event), header if seal.seq == 0 else None)
            leaf = leaf_hash(document)
            gap = seal.seq != expected_seq
            state = "verified"
            if _hex(leaf) != seal.leaf:
                state = "tampered"
            elif seal.prev != prev_leaf:
                state = "missing" if gap else "tampered"
            elif recover_signer(document["batch"], seal.seq, leaf, seal.signature) != seal.signer:
                state = "tampered"
            elif seal.root_id is None or seal.root.state not in ("confirmed",):
                state = "pending"
            elif not merkle.verify(_bytes(seal.root.root), leaf, [_bytes(p) for p in json.loads(seal.proof)]):
                state = "tampered"
            else:
                try:
                    record = _root_record(contract_factory, seal.root.root)
                    if record is None:
                        state = "unknown_root"
                    elif record.submitter.lower() != seal.signer.lower() and \
                            not _held_writer(_writer_period(contract_factory, seal.signer), record.timestamp):
                        # The contract let the submitter anchor only while it held WRITER; a signer
                        # that is not the submitter must have held WRITER when the root was anchored.
                        state = "tampered"
                    else:
                        roots[seal.root.root] = record
                except Exception as e:  # the node is down or not configured: say pending, never fail the page
                    chain_down = str(e)
                    state = "pending"
            states[event.id] = state
            # The next event names the leaf that was sealed (and anchored) before it: a changed event
            # is this one's finding, not the next one's.
            prev_leaf, expected_seq = seal.leaf, seal.seq + 1
    return {"states": states, "missing": missing, "roots": roots, "chain_error": chain_down}


def _overall(states, missing):
    values = set(states.values())
    for state in ("tampered", "missing", "unknown_root", "pending"):
        if state in values or (state == "missing" and missing):
            return state
    return "verified" if values else "pending"


def page_verification(batch, steps):
    """Trace's verifier: the consumer page's verdict for the events it shows (the same rows give the
    same steps, so the verdict is kept under the lineage's rows)."""
    return _cached(lambda: _lineage_key("page", batch), lambda: page_verification_now(batch, steps))


def page_verification_now(batch, steps):
    batch_ids = sorted({event.batch_id for event, _document, _erroneous in steps} | {batch.id})
    result = verify_batches(batch_ids)
    shown = {event.id for event, _document, _erroneous in steps}
    states = {pk: state for pk, state in result["states"].items()
              if pk in shown or state in ("tampered", "missing")}
    overall = _overall(states, result["missing"])
    times = sorted(r.timestamp for r in result["roots"].values())
    organisations = sorted({name for (name,) in Organisation.select(Organisation.name)
                            .join(Seal, on=(Seal.organisation == Organisation.id))
                            .where(Seal.event_pk.in_(list(shown) or [0])).distinct().tuples()})
    return {"status": overall, "events": len(steps), "states": states, "missing": result["missing"],
            "counts": {state: sum(1 for s in states.values() if s == state) for state in STATES},
            "first_anchored": dt.datetime.fromtimestamp(times[0], dt.timezone.utc) if times else None,
            "last_anchored": dt.datetime.fromtimestamp(times[-1], dt.timezone.utc) if times else None,
            "organisations": organisations, "chain_error": result["chain_error"]}


# ---------------------------------------------------------------- proof files

def proof_document(batch):
    """Everything a buyer needs to check the batch's journey against the chain, and nothing to trust."""
    steps = trace.journey(batch)
    batch_ids = sorted({event.batch_id for event, _d, _e in steps} | {batch.id})
    where = deployment() or {}
    events = []
    for batch_id in batch_ids:
        header = trace.batch_header(batch_id)
        seals = {s.event_pk: s for s in Seal.select(Seal, Root).join(Root, pw.JOIN.LEFT_OUTER)
                 .where(Seal.batch_id == batch_id)}
        for event in trace.batch_events(batch_id):
            seal = seals.get(event.id)
            if seal is None:
                continue
            anchored = seal.root_id is not None and seal.root.state in ("anchored", "confirmed")
            events.append({
                "batch": header["code"], "seq": seal.seq,
                "leafDocument": leaf_document(header["code"], seal.seq, seal.prev, trace.event_record(event),
                                              header if seal.seq == 0 else None),
                "leaf": seal.leaf, "signer": seal.signer, "signature": seal.signature,
                "root": seal.root.root if anchored else None,
                "proof": json.loads(seal.proof) if anchored and seal.proof else None,
                "txHash": seal.root.tx_hash if anchored else None,
            })
    return {"format": PROOF_FORMAT, "batch": batch.code,
            "chain": {"chainId": where.get("chain_id"), "contract": where.get("address")},
            "eip712": {"domain": EIP712_DOMAIN, "types": {k: v for k, v in EIP712_TYPES.items()},
                       "primaryType": "JourneyEvent"},
            "hashing": "leaf = keccak256(RFC 8785 canonical JSON of leafDocument); "
                       "root = OpenZeppelin sorted-pair keccak256 Merkle tree",
            "events": events}


def verify_report(batch):
    """Event by event, for the command line and the API: seq, batch code, step, state (kept, as
    page_verification, under the lineage's rows)."""
    return _cached(lambda: _lineage_key("report", batch), lambda: verify_report_now(batch))


def verify_report_now(batch):
    steps = trace.journey(batch)
    batch_ids = sorted({event.batch_id for event, _d, _e in steps} | {batch.id})
    result = verify_batches(batch_ids)
    seals = {s.event_pk: s for s in Seal.select().where(Seal.batch_id.in_(batch_ids))}
    codes = {batch_id: trace.batch_header(batch_id)["code"] for batch_id in batch_ids}
    events = []
    for batch_id in batch_ids:
        for event in trace.batch_events(batch_id):
            seal = seals.get(event.id)
            events.append({"event_id": event.event_id, "batch": codes[batch_id], "seq": seal.seq if seal else None,
                           "step": event.biz_step if event.kind == "event" else "error_declaration",
                           "state": result["states"].get(event.id, "pending")})
    missing = [dict(gap, batch=codes.get(gap["batch"], gap["batch"])) for gap in result["missing"]]
    return {"status": _overall(result["states"], result["missing"]), "events": events, "missing": missing,
            "chain_error": result["chain_error"]}


def get_batch(user, batch_id):
    return trace.get_batch(user, batch_id)


def find_public_batch(code):
    """The batch with this code (codes are printed on labels: anyone may check a batch's proof)."""
    return trace.find_by_code(code)



# ---------------------------------------------------------------- figures for the agriculture bureau


def anchored_batch_ids(batch_ids):
    """The batches among ``batch_ids`` whose every sealed event sits in a root confirmed on chain."""
    ids = list(batch_ids)
    anchored = set()
    for chunk in range(0, len(ids), 500):
        rows = (Seal.select(Seal.batch_id, pw.fn.COUNT(Seal.id),
                            pw.fn.SUM(pw.Case(None, [(Root.state == "confirmed", 1)], 0)))
                .join(Root, pw.JOIN.LEFT_OUTER).where(Seal.batch_id.in_(ids[chunk:chunk + 500]))
                .group_by(Seal.batch_id).tuples())
        anchored |= {batch_id for batch_id, count, confirmed in rows if count and count == confirmed}
    return anchored


def batches_confirmed_since(since):
    """Ids of the batches with a seal whose root was confirmed at or after ``since`` (naive UTC)."""
    return {b for (b,) in Seal.select(Seal.batch_id).distinct().join(Root)
            .where(Root.confirmed_at >= since).tuples()}
