"""Low-level access to the AnchorRegistry contract over JSON-RPC.

Everything here signs locally with an eth_account ``LocalAccount`` (the node
holds no keys), and every HTTP call has a timeout. Failures come out as
``ChainError`` subclasses with readable messages:

- ``NodeUnavailable``: the node cannot be reached, or did not answer in time
  (``ReceiptTimeout``, a subclass: a transaction was sent but no receipt came
  within the wait; it may still be mined, so check the chain before resending);
- ``NotWriter``: the sender lacks the role (``AccessControlUnauthorizedAccount``;
  ``.role`` says which, ``NotAdmin`` is the subclass for admin-only calls);
- ``RootAlreadyAnchored``: the root is already on chain (``.root``);
- ``ContractPaused``: the admin has paused the contract (``EnforcedPause``);
- ``TransactionReverted``: any other revert, and any mined transaction whose
  receipt has status 0 (``.tx_hash``; ``.reason`` holds the decoded cause,
  e.g. a ``RootAlreadyAnchored`` when another transaction won the race).
- ``ChainError`` itself: the node refused the request for another reason
  (nonce too low, insufficient funds, an account not on a Besu allowlist).

Reverts look different on the two chains we use. On anvil (and other real
nodes) ``call``/``estimate_gas``/``build_transaction`` raise web3's
``ContractCustomError`` whose ``.data`` is the ABI-encoded custom error; the
in-process eth-tester chain raises ``TransactionFailed`` with the revert data
only in its text. Both are decoded here against the ABI's ``error`` entries.

Chains: anvil and eth-tester need nothing special. For a Hyperledger Besu QBFT
network pass ``connect(url, poa=True)``, which adds web3's
``ExtraDataToPOAMiddleware`` (QBFT/IBFT blocks carry a long ``extraData``);
a free-gas Besu network (``min-gas-price=0``) works because fees follow what
the node reports (``eth_gasPrice``, or the block's base fee for EIP-1559), so
zero is accepted. Accounts are allowlisted by the network, WRITER by the
contract's admin.
"""
import ast
import re
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from chain.contract import load_artifact

DEFAULT_TIMEOUT = 5
POLL_LATENCY = 0.02
GAS_MARGIN = 1.2
GAS_EXTRA = 5_000
ZERO32 = b"\0" * 32


class ChainError(Exception):
    """A chain operation failed; ``str(e)`` says what happened."""

    def __init__(self, message, tx_hash=None):
        super().__init__(message)
        self.message = message
        self.tx_hash = tx_hash

    def __str__(self):
        return self.message


class NodeUnavailable(ChainError):
    """The JSON-RPC node cannot be reached or did not answer in time."""


class ReceiptTimeout(NodeUnavailable):
    """A transaction was sent, but its receipt did not come within the wait."""


class NotWriter(ChainError):
    """The sending account lacks the role the call needs (WRITER unless ``.role`` says otherwise)."""

    def __init__(self, message, account=None, role=None, tx_hash=None):
        super().__init__(message, tx_hash)
        self.account = account
        self.role = role


class NotAdmin(NotWriter):
    """An admin-only call (grant, revoke, pause) from an account without DEFAULT_ADMIN_ROLE."""


class RootAlreadyAnchored(ChainError):
    def __init__(self, message, root=None, tx_hash=None):
        super().__init__(message, tx_hash)
        self.root = root


class ContractPaused(ChainError):
    """The admin has paused the contract; anchoring resumes after unpause."""


class TransactionReverted(ChainError):
    """A revert not covered above, or a mined transaction with receipt status 0."""

    def __init__(self, message, tx_hash=None, reason=None):
        super().__init__(message, tx_hash)
        self.reason = reason


@dataclass(frozen=True)
class AnchorRecord:
    timestamp: int
    submitter: str
    count: int
    block_number: int


WRITER_ROLE = keccak(text="WRITER_ROLE")
DEFAULT_ADMIN_ROLE = ZERO32
_ROLE_NAMES = {WRITER_ROLE: "WRITER", DEFAULT_ADMIN_ROLE: "DEFAULT_ADMIN"}


def _hex(value):
    return "0x" + bytes(value).hex()


def _bytes32(value, what):
    if isinstance(value, str):
        value = bytes.fromhex(value[2:] if value.startswith(("0x", "0X")) else value)
    value = bytes(value)
    if len(value) != 32:
        raise ValueError(f"{what} must be 32 bytes, got {len(value)}")
    return value


# --- revert decoding ---------------------------------------------------------

def _error_table(abi):
    table = {
        keccak(text="Error(string)")[:4]: ("Error", ["string"]),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
    }
    for entry in abi:
        if entry.get("type") == "error":
            types = [i["type"] for i in entry.get("inputs", [])]
            table[keccak(text=f"{entry['name']}({','.join(types)})")[:4]] = (entry["name"], types)
    return table


_ERRORS = None


def _errors():
    global _ERRORS
    if _ERRORS is None:
        _ERRORS = _error_table(load_artifact()["abi"])
    return _ERRORS


def decode_revert(data):
    """(error name, decoded args) for ABI-encoded revert data, or (None, ()) when unknown."""
    if isinstance(data, str):
        data = bytes.fromhex(data[2:] if data.startswith("0x") else data) if re.fullmatch(
            r"(0x)?[0-9a-fA-F]*", data) else b""
    data = bytes(data or b"")
    found = _errors().get(data[:4])
    if not found:
        return None, ()
    name, types = found
    try:
        return name, tuple(abi_decode(types, data[4:]))
    except Exception:
        return name, ()


def _revert_data(exc):
    """The raw revert data carried by a web3 or eth-tester exception, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):  # some nodes nest it: {"message": ..., "data": "0x..."}
        data = data.get("data")
    if isinstance(data, (bytes, bytearray)) and data:
        return bytes(data)
    if isinstance(data, str) and re.fullmatch(r"0x[0-9a-fA-F]{8,}", data):
        return bytes.fromhex(data[2:])
    text = " ".join(str(a) for a in getattr(exc, "args", ())) or str(exc)
    # eth-tester: "execution reverted: b'\xe2Q}?...'"
    match = re.search(r"""b(['"]).*\1""", text, re.DOTALL)
    if match:
        try:
            value = ast.literal_eval(match.group(0))
            if isinstance(value, bytes):
                return value
        except (ValueError, SyntaxError):
            pass
    match = re.search(r"0x[0-9a-fA-F]{8,}", text)
    if match:
        return bytes.fromhex(match.group(0)[2:])
    return None


def error_from_revert(data, text="", tx_hash=None):
    """Our exception for revert ``data`` (``text`` is the node's message, for unknown reverts)."""
    name, args = decode_revert(data) if data else (None, ())
    if name == "AccessControlUnauthorizedAccount":
        account, role = to_checksum_address(args[0]), bytes(args[1])
        role_name = _ROLE_NAMES.get(role, _hex(role))
        cls = NotAdmin if role == DEFAULT_ADMIN_ROLE else NotWriter
        what = "anchor roots" if role == WRITER_ROLE else "do this"
        return cls(f"account {account} does not hold the {role_name} role on the anchoring contract, "
                   f"so it may not {what}", account=account, role=role, tx_hash=tx_hash)
    if name == "RootAlreadyAnchored":
        root = bytes(args[0]) if args else None
        what = f"root {_hex(root)}" if root else "the root"
        return RootAlreadyAnchored(f"{what} is already anchored", root=root, tx_hash=tx_hash)
    if name == "EnforcedPause":
        return ContractPaused("the anchoring contract is paused by its admin", tx_hash=tx_hash)
    if name == "EmptyRoot":
        return TransactionReverted("the contract refuses an all-zero root", tx_hash=tx_hash)
    if name == "Error":
        return TransactionReverted(f"reverted: {args[0] if args else ''}", tx_hash=tx_hash)
    if name:
        return TransactionReverted(f"reverted with {name}{tuple(args) if args else '()'}", tx_hash=tx_hash)
    detail = f" ({text})" if text else ""
    return TransactionReverted(f"the transaction reverts{detail}", tx_hash=tx_hash)


def _is_connection_error(exc):
    import requests
    from web3.exceptions import ProviderConnectionError, TimeExhausted

    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                        ProviderConnectionError, ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, TimeExhausted)


def _is_revert(exc):
    from web3.exceptions import ContractCustomError, ContractLogicError

    if isinstance(exc, (ContractCustomError, ContractLogicError)):
        return True
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # eth-tester is a test dependency
        return False
    return isinstance(exc, TransactionFailed)


class _Guard:
    """Turn web3/eth-tester/requests exceptions into ChainErrors."""

    def __init__(self, what, url=None):
        self.what = what
        self.url = url

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc is None or isinstance(exc, ChainError):
            return False
        if _is_revert(exc):
            raise error_from_revert(_revert_data(exc), str(exc)) from exc
        if _is_connection_error(exc):
            where = f" at {self.url}" if self.url else ""
            raise NodeUnavailable(f"chain node{where} unavailable while trying to {self.what}: "
                                  f"{type(exc).__name__}: {exc}") from exc
        from web3.exceptions import Web3RPCError

        if isinstance(exc, Web3RPCError):
            if "revert" in str(exc).lower():
                raise error_from_revert(_revert_data(exc), str(exc)) from exc
            # e.g. nonce too low, insufficient funds, an account not on a Besu allowlist
            raise ChainError(f"the node refused to {self.what}: {exc}") from exc
        return False


def _url(w3):
    return getattr(w3.provider, "endpoint_uri", None)


# --- connection and deployment -------------------------------------------------

def connect(url, timeout=DEFAULT_TIMEOUT, poa=False):
    """A Web3 for the JSON-RPC ``url``; raises NodeUnavailable if it does not answer within ``timeout`` s.

    ``poa=True`` adds ``ExtraDataToPOAMiddleware``, needed for Hyperledger Besu
    QBFT/IBFT and other proof-of-authority chains.
    """
    from web3 import Web3

    provider = Web3.HTTPProvider(url, request_kwargs={"timeout": timeout},
                                 exception_retry_configuration=None)
    w3 = Web3(provider)
    if poa:
        from web3.middleware import ExtraDataToPOAMiddleware

        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    with _Guard("connect", url):
        w3.eth.chain_id
    return w3


def _fees(w3):
    """Fee fields for a transaction: EIP-1559 when blocks have a base fee, else legacy gasPrice (0 allowed)."""
    block = w3.eth.get_block("latest")
    base_fee = block.get("baseFeePerGas")
    if base_fee is None:
        return {"gasPrice": w3.eth.gas_price}
    try:
        tip = w3.eth.max_priority_fee
    except Exception:
        tip = 0
    return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base_fee + tip}


def _prepare(w3, account, tx_fn_or_ctor, what):
    """Build, estimate (surfacing reverts) and sign a transaction; return the signed raw bytes."""
    with _Guard(what, _url(w3)):
        params = {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
        params.update(_fees(w3))
        gas = tx_fn_or_ctor.estimate_gas({"from": account.address})
        params["gas"] = int(gas * GAS_MARGIN) + GAS_EXTRA
        tx = tx_fn_or_ctor.build_transaction(params)
    return account.sign_transaction(tx).raw_transaction


def _send(w3, raw, what):
    with _Guard(what, _url(w3)):
        return _hex(w3.eth.send_raw_transaction(raw))


def _wait(w3, tx_hash, timeout, what, replay=None):
    from web3.exceptions import TimeExhausted

    try:
        with _Guard(what, _url(w3)):
            receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=POLL_LATENCY)
    except TimeExhausted:
        raise ReceiptTimeout(f"no receipt for transaction {tx_hash} within {timeout} s ({what}); "
                             "it may still be mined: check before resending", tx_hash=tx_hash) from None
    if receipt["status"] != 1:
        reason = _replay_reason(w3, tx_hash, receipt)
        cause = f": {reason}" if reason else ""
        raise TransactionReverted(f"transaction {tx_hash} ({what}) reverted in block "
                                  f"{receipt['blockNumber']}{cause}", tx_hash=tx_hash, reason=reason)
    return receipt


def _replay_reason(w3, tx_hash, receipt):
    """Why a mined transaction failed: replay it as a call on the state of its block."""
    try:
        tx = w3.eth.get_transaction(tx_hash)
        call = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
        with _Guard("replay"):
            w3.eth.call(call, block_identifier=receipt["blockNumber"])
    except ChainError as e:
        return e if not isinstance(e, NodeUnavailable) else None
    except Exception:
        return None
    return None


def _contract(w3, address=None):
    artifact = load_artifact()
    if address is None:
        return w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    return w3.eth.contract(address=to_checksum_address(address), abi=artifact["abi"])


def deploy(w3, admin_account, timeout=60):
    """Deploy a new AnchorRegistry whose admin is ``admin_account``; return its checksum address."""
    constructor = _contract(w3).constructor(admin_account.address)
    raw = _prepare(w3, admin_account, constructor, "deploy the anchoring contract")
    tx_hash = _send(w3, raw, "deploy the anchoring contract")
    receipt = _wait(w3, tx_hash, timeout, "deploy the anchoring contract")
    return to_checksum_address(receipt["contractAddress"])


def is_deployed(w3, address):
    """True when ``address`` holds exactly this artifact's deployed bytecode."""
    if not address:
        return False
    with _Guard("read contract code", _url(w3)):
        code = w3.eth.get_code(to_checksum_address(address))
    return _hex(code) == load_artifact()["deployedBytecode"].lower()


def ensure_deployed(w3, admin_account, address=None, timeout=60):
    """(address, deployed_now): keep ``address`` if it holds our contract, else deploy a new one."""
    if is_deployed(w3, address):
        return to_checksum_address(address), False
    return deploy(w3, admin_account, timeout), True


# --- the registry ---------------------------------------------------------------

class Registry:
    """One deployed AnchorRegistry."""

    def __init__(self, w3, address):
        self.w3 = w3
        self.address = to_checksum_address(address)
        self.contract = _contract(w3, self.address)

    def __repr__(self):
        return f"<Registry {self.address}>"

    # writes

    def send_anchor(self, account, root, count, ref=ZERO32):
        """Sign and send anchor(root, count, ref); return the tx hash (0x-hex) without waiting.

        Reverts that the node predicts (not a writer, paused, root held) raise here.
        ``ref`` is up to 32 bytes, right-padded with zeros.
        """
        root = _bytes32(root, "root")
        if root == ZERO32:
            raise ValueError("root must not be all zeros")
        if not 0 <= int(count) < 2 ** 32:
            raise ValueError(f"count {count} does not fit in uint32")
        ref = bytes.fromhex(ref[2:]) if isinstance(ref, str) and ref.startswith("0x") else bytes(ref or b"")
        if len(ref) > 32:
            raise ValueError(f"ref must be at most 32 bytes, got {len(ref)}")
        ref = ref.ljust(32, b"\0")
        fn = self.contract.functions.anchor(root, int(count), ref)
        raw = _prepare(self.w3, account, fn, f"anchor root {_hex(root)}")
        return _send(self.w3, raw, f"anchor root {_hex(root)}")

    def wait(self, tx_hash, timeout=30):
        """Wait for the receipt: dict(tx_hash, block_number, timestamp, gas_used); raises on status 0."""
        tx_hash = tx_hash if isinstance(tx_hash, str) else _hex(tx_hash)
        receipt = _wait(self.w3, tx_hash, timeout, "anchor")
        with _Guard("read the block", _url(self.w3)):
            block = self.w3.eth.get_block(receipt["blockNumber"])
        return {"tx_hash": _hex(receipt["transactionHash"]), "block_number": receipt["blockNumber"],
                "timestamp": block["timestamp"], "gas_used": receipt["gasUsed"]}

    def anchor(self, account, root, count, ref=ZERO32, timeout=30):
        """send_anchor then wait."""
        return self.wait(self.send_anchor(account, root, count, ref), timeout)

    def _admin(self, account, fn, what, timeout):
        raw = _prepare(self.w3, account, fn, what)
        tx_hash = _send(self.w3, raw, what)
        receipt = _wait(self.w3, tx_hash, timeout, what)
        return {"tx_hash": tx_hash, "block_number": receipt["blockNumber"], "gas_used": receipt["gasUsed"]}

    def grant_writer(self, admin_account, address, timeout=30):
        address = to_checksum_address(address)
        return self._admin(admin_account, self.contract.functions.grantRole(WRITER_ROLE, address),
                           f"grant WRITER to {address}", timeout)

    def revoke_writer(self, admin_account, address, timeout=30):
        address = to_checksum_address(address)
        return self._admin(admin_account, self.contract.functions.revokeRole(WRITER_ROLE, address),
                           f"revoke WRITER from {address}", timeout)

    def pause(self, admin_account, timeout=30):
        return self._admin(admin_account, self.contract.functions.pause(), "pause the contract", timeout)

    def unpause(self, admin_account, timeout=30):
        return self._admin(admin_account, self.contract.functions.unpause(), "unpause the contract", timeout)

    # views

    def _view(self, fn, what):
        with _Guard(what, _url(self.w3)):
            return fn.call()

    def anchor_of(self, root):
        """AnchorRecord for ``root``, or None when the contract does not hold it."""
        root = _bytes32(root, "root")
        timestamp, submitter, count, block_number = self._view(
            self.contract.functions.anchorOf(root), f"read root {_hex(root)}")
        if int(submitter, 16) == 0:
            return None
        return AnchorRecord(timestamp, to_checksum_address(submitter), count, block_number)

    def is_anchored(self, root):
        root = _bytes32(root, "root")
        return self._view(self.contract.functions.isAnchored(root), f"read root {_hex(root)}")

    def is_writer(self, address):
        address = to_checksum_address(address)
        return self._view(self.contract.functions.hasRole(WRITER_ROLE, address), f"read the roles of {address}")

    def writer_period(self, address):
        """(since, until) timestamps of ``address``'s latest WRITER period; until is 0 while it holds it."""
        address = to_checksum_address(address)
        since, until = self._view(self.contract.functions.writerPeriod(address), f"read the roles of {address}")
        return since, until

    def is_paused(self):
        return self._view(self.contract.functions.paused(), "read the pause state")

    def verify_leaf(self, root, leaf, proof):
        """True when ``root`` is anchored and ``proof`` (list of 32-byte hashes) leads from ``leaf`` to it."""
        fn = self.contract.functions.verifyLeaf(_bytes32(root, "root"), _bytes32(leaf, "leaf"),
                                                [_bytes32(p, "proof element") for p in proof])
        return self._view(fn, "verify a leaf")

    def block_number(self):
        with _Guard("read the block number", _url(self.w3)):
            return self.w3.eth.block_number

    def is_pending(self, tx_hash):
        """True while the node knows ``tx_hash`` but has not mined it (so it must not be sent again)."""
        from web3.exceptions import TransactionNotFound

        with _Guard("read a transaction", _url(self.w3)):
            try:
                tx = self.w3.eth.get_transaction(tx_hash)
            except TransactionNotFound:
                return False
        return tx.get("blockNumber") is None


def fund(w3, from_account, address, value, timeout=30):
    """Send ``value`` wei to ``address`` (an organisation's new key, on a chain where gas costs)."""
    what = f"fund {address}"
    with _Guard(what, _url(w3)):
        tx = {"from": from_account.address, "to": to_checksum_address(address), "value": int(value),
              "nonce": w3.eth.get_transaction_count(from_account.address, "pending"), "gas": 21000,
              "chainId": w3.eth.chain_id}
        tx.update(_fees(w3))
    tx_hash = _send(w3, from_account.sign_transaction(tx).raw_transaction, what)
    _wait(w3, tx_hash, timeout, what)
    return tx_hash
