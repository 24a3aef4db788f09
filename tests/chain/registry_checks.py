"""The registry's key paths, run on the in-process eth-tester chain and on a real anvil.

Not a test module itself: test_registry_tester.py and test_registry_anvil.py call it.
"""
import pytest
from eth_utils import keccak

from chain import registry as R


def hash_pair(a, b):
    """OpenZeppelin's sorted-pair keccak (MerkleProof / StandardMerkleTree)."""
    return keccak(min(a, b) + max(a, b))


def three_leaf_tree():
    """Leaves, root and a proof per leaf, built by hand: root = H(H(l0, l1), l2)."""
    leaves = [keccak(text=f"event {i}") for i in range(3)]
    n01 = hash_pair(leaves[0], leaves[1])
    root = hash_pair(n01, leaves[2])
    proofs = [[leaves[1], leaves[2]], [leaves[0], leaves[2]], [n01]]
    return leaves, root, proofs


def check_key_paths(w3, admin, writer, other):
    """Deploy, roles, anchor, refusals, views, Merkle proofs, pause and writer periods."""
    address, deployed_now = R.ensure_deployed(w3, admin, None)
    assert deployed_now
    assert R.ensure_deployed(w3, admin, address) == (address, False)
    reg = R.Registry(w3, address)

    assert not reg.is_writer(writer.address)
    assert reg.writer_period(writer.address) == (0, 0)
    reg.grant_writer(admin, writer.address)
    assert reg.is_writer(writer.address)
    since, until = reg.writer_period(writer.address)
    assert since > 0 and until == 0

    leaves, root, proofs = three_leaf_tree()
    assert reg.anchor_of(root) is None and not reg.is_anchored(root)
    for leaf, proof in zip(leaves, proofs):
        assert not reg.verify_leaf(root, leaf, proof), "an unanchored root must not verify"

    result = reg.anchor(writer, root, 3, b"batch-1")
    assert set(result) == {"tx_hash", "block_number", "timestamp", "gas_used"}
    assert result["tx_hash"].startswith("0x") and len(result["tx_hash"]) == 66
    record = reg.anchor_of(root)
    assert record == R.AnchorRecord(result["timestamp"], writer.address, 3, result["block_number"])
    assert reg.is_anchored(root)
    assert result["block_number"] <= reg.block_number()

    for leaf, proof in zip(leaves, proofs):
        assert reg.verify_leaf(root, leaf, proof)
    assert not reg.verify_leaf(root, keccak(text="forged"), proofs[0])
    assert not reg.verify_leaf(root, leaves[0], proofs[2])

    with pytest.raises(R.RootAlreadyAnchored) as dup:
        reg.anchor(writer, root, 3, b"batch-1")
    assert dup.value.root == root and root.hex() in str(dup.value)

    with pytest.raises(R.NotWriter) as refused:
        reg.anchor(other, keccak(text="other root"), 1, b"")
    assert type(refused.value) is R.NotWriter
    assert other.address in str(refused.value) and "WRITER" in str(refused.value)
    with pytest.raises(R.NotAdmin):
        reg.grant_writer(other, other.address)
    assert not reg.is_writer(other.address)

    # The contract itself refuses a zero root (the client refuses it before sending).
    with pytest.raises(ValueError):
        reg.anchor(writer, b"\0" * 32, 1, b"")
    with pytest.raises(R.TransactionReverted, match="all-zero root"):
        with R._Guard("anchor a zero root"):
            reg.contract.functions.anchor(b"\0" * 32, 1, b"\0" * 32).call({"from": writer.address})

    reg.pause(admin)
    assert reg.is_paused()
    second = keccak(text="second root")
    with pytest.raises(R.ContractPaused, match="paused"):
        reg.anchor(writer, second, 1, b"")
    reg.unpause(admin)
    assert reg.anchor(writer, second, 1, b"")["gas_used"] > 0

    reg.revoke_writer(admin, writer.address)
    assert not reg.is_writer(writer.address)
    since2, until2 = reg.writer_period(writer.address)
    assert since2 == since and until2 >= since
    with pytest.raises(R.NotWriter):
        reg.anchor(writer, keccak(text="after revoke"), 1, b"")
    # Old anchors stay, and the former writer's period says when it could sign.
    assert reg.anchor_of(root).submitter == writer.address

    reg.grant_writer(admin, writer.address)
    since3, until3 = reg.writer_period(writer.address)
    assert since3 >= until2 and until3 == 0
    return reg


def force_send(w3, account, contract, fn_name, args, gas=200_000):
    """Sign and send with a fixed gas limit, skipping estimate_gas: a revert is then mined with status 0."""
    tx = {
        "to": contract.address, "data": contract.encode_abi(fn_name, args=args), "gas": gas,
        "gasPrice": w3.eth.gas_price * 2, "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
    }
    return "0x" + bytes(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)).hex()
