#!/usr/bin/env python3
"""Check a batch's proof file against the chain, trusting nothing of the server that issued it.

    python scripts/verify_proof.py proof-XXXX.json http://NODE:8545 [--contract 0x...]

Needs only web3 (``pip install web3``); imports nothing of this project. For each event it:

1. recomputes the leaf: keccak256 of the RFC 8785 canonical JSON of the event's leafDocument;
2. checks the chain of leaves: each event of a batch names the leaf of the one before it
   (``prev``) and its place (``seq``), so a removed, reordered or inserted event shows;
3. recovers the EIP-712 signer of (batch, seq, leaf) and compares it with the one named;
4. follows the Merkle proof (OpenZeppelin sorted-pair keccak256) from the leaf to the root;
5. reads the root's record from the registry contract (anchorOf: time and submitter), and
   checks that the signer held WRITER at that time: it is the submitter (the contract let it
   anchor only while it held WRITER), or its writerPeriod covers the time.

It prints one verdict per event (verified, pending, tampered, missing, unknown_root) and
exits 0 only when every event is verified.
"""
import argparse
import json
import math
import sys
from datetime import datetime, timezone

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3 import Web3

REGISTRY_ABI = [
    {"type": "function", "name": "anchorOf", "stateMutability": "view",
     "inputs": [{"name": "root", "type": "bytes32"}],
     "outputs": [{"name": "timestamp", "type": "uint64"}, {"name": "submitter", "type": "address"},
                 {"name": "count", "type": "uint32"}, {"name": "blockNumber", "type": "uint64"}]},
    {"type": "function", "name": "writerPeriod", "stateMutability": "view",
     "inputs": [{"name": "account", "type": "address"}],
     "outputs": [{"name": "since", "type": "uint64"}, {"name": "until", "type": "uint64"}]},
]


# ---- RFC 8785 canonical JSON (the same rules as the server's chain/canonical.py, written again here)

def _number(value):
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError("NaN and infinities have no JSON form")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    exponent = int(exponent)
    if -7 < exponent < 0:
        sign = "-" if mantissa.startswith("-") else ""
        digits = mantissa.lstrip("-").replace(".", "")
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    return f"{mantissa}e{'+' if exponent > 0 else '-'}{abs(exponent)}"


def canonical(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(value[k]) for k in keys) + "}"
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _bytes(text):
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _hash_pair(a, b):
    return keccak(a + b) if a < b else keccak(b + a)


def check(proof_file, rpc_url, contract=None, timeout=10):
    """[(batch, seq, verdict, why)] for every event of the proof file."""
    eip712 = proof_file["eip712"]
    address = contract or (proof_file.get("chain") or {}).get("contract")
    registry = None
    if address:
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        registry = w3.eth.contract(address=to_checksum_address(address), abi=REGISTRY_ABI)
    verdicts = []
    last = {}  # batch -> (seq, leaf) of the event before
    for event in proof_file["events"]:
        batch, seq, document = event["batch"], event["seq"], event["leafDocument"]
        leaf = keccak(canonical(document).encode("utf-8", "surrogatepass"))

        def verdict(state, why):
            verdicts.append((batch, seq, state, why))

        if "0x" + leaf.hex() != event["leaf"]:
            verdict("tampered", "the event's content does not give its leaf")
        elif document.get("batch") != batch or document.get("seq") != seq:
            verdict("tampered", "the event names another batch or place")
        elif batch in last and seq != last[batch][0] + 1 or batch not in last and seq != 0:
            expected = last[batch][0] + 1 if batch in last else 0
            verdict("missing", f"events {expected}..{seq - 1} of batch {batch} are not in the file")
        elif document.get("prev") != (last[batch][1] if batch in last else None):
            verdict("tampered", "the event does not follow the one before it")
        else:
            message = {"batch": batch, "seq": seq, "leaf": leaf}
            full = {"types": eip712["types"], "primaryType": eip712["primaryType"], "domain": eip712["domain"],
                    "message": message}
            try:
                signer = Account.recover_message(encode_typed_data(full_message=full),
                                                 signature=_bytes(event["signature"]))
            except Exception:
                signer = None
            if signer is None or signer.lower() != event["signer"].lower():
                verdict("tampered", "the signature is not the named organisation's")
            elif not event.get("root") or event.get("proof") is None:
                verdict("pending", "not anchored yet")
            else:
                node = leaf
                for sibling in event["proof"]:
                    node = _hash_pair(node, _bytes(sibling))
                if "0x" + node.hex() != event["root"].lower():
                    verdict("tampered", "the Merkle proof does not lead to the root")
                elif registry is None:
                    verdict("unknown_root", "no contract address to check the root against")
                else:
                    timestamp, submitter, _count, block = registry.functions.anchorOf(_bytes(event["root"])).call()
                    if int(submitter, 16) == 0:
                        verdict("unknown_root", "the chain does not hold the root")
                    else:
                        # The contract let the submitter anchor only while it held WRITER; any other
                        # signer must have held WRITER when the root was anchored.
                        when = datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")
                        held = submitter.lower() == signer.lower()
                        if not held:
                            since, until = registry.functions.writerPeriod(to_checksum_address(signer)).call()
                            held = bool(since) and since <= timestamp and (until == 0 or timestamp < until)
                        if not held:
                            verdict("tampered", f"the signer did not hold WRITER when the root was anchored ({when})")
                        else:
                            verdict("verified", f"anchored {when} in block {block} by {submitter}")
        last[batch] = (seq, event["leaf"])
    return verdicts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("proof", help="the proof file (JSON)")
    parser.add_argument("rpc_url", help="JSON-RPC URL of any node of the chain")
    parser.add_argument("--contract", help="the registry's address (default: the one the file names)")
    parser.add_argument("--timeout", type=float, default=10, help="seconds for each call to the node")
    args = parser.parse_args(argv)
    try:
        with open(args.proof, encoding="utf-8") as fh:
            proof_file = json.load(fh)
        if not isinstance(proof_file, dict) or not isinstance(proof_file.get("events"), list):
            raise ValueError("not a proof file: no list of events")
    except (OSError, ValueError) as e:
        print(f"cannot read the proof file: {e}", file=sys.stderr)
        return 2
    try:
        verdicts = check(proof_file, args.rpc_url, args.contract, args.timeout)
    except (KeyError, TypeError, ValueError) as e:
        print(f"the proof file is malformed: {e!r}", file=sys.stderr)
        return 2
    except Exception as e:  # the node: refused, timed out, not the registry
        print(f"cannot read the chain at {args.rpc_url}: {e}", file=sys.stderr)
        return 3
    for batch, seq, state, why in verdicts:
        print(f"{batch} #{seq:<3} {state:<12} {why}")
    bad = [v for v in verdicts if v[2] != "verified"]
    print(f"{len(verdicts) - len(bad)} of {len(verdicts)} events verified")
    return 0 if verdicts and not bad else 1


if __name__ == "__main__":
    sys.exit(main())
