"""The anchoring contract and its client on the in-process eth-tester chain."""
import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import EthereumTesterProvider, Web3

from chain import registry as R
from tests.chain.registry_checks import check_key_paths, force_send


@pytest.fixture
def chain():
    w3 = Web3(EthereumTesterProvider())
    keys = w3.provider.ethereum_tester.backend.account_keys
    admin, writer, other = (Account.from_key(k) for k in keys[:3])
    return w3, admin, writer, other


def test_key_paths(chain):
    check_key_paths(*chain)


def test_mined_revert_is_reported_with_its_reason(chain):
    w3, admin, writer, other = chain
    reg = R.Registry(w3, R.deploy(w3, admin))
    reg.grant_writer(admin, writer.address)
    root = keccak(text="root")
    reg.anchor(writer, root, 1, b"")
    tx_hash = force_send(w3, writer, reg.contract, "anchor", [root, 1, b"\0" * 32])
    with pytest.raises(R.TransactionReverted) as reverted:
        reg.wait(tx_hash, timeout=5)
    assert reverted.value.tx_hash == tx_hash
    assert isinstance(reverted.value.reason, R.RootAlreadyAnchored)


def test_revert_decoding():
    from eth_abi import encode

    selector = keccak(text="AccessControlUnauthorizedAccount(address,bytes32)")[:4]
    data = selector + encode(["address", "bytes32"], ["0x" + "11" * 20, R.WRITER_ROLE])
    # eth-tester puts the data in its text only, as a bytes repr
    error = R.error_from_revert(R._revert_data(Exception(f"execution reverted: {data!r}")))
    assert type(error) is R.NotWriter and error.role == R.WRITER_ROLE
    error = R.error_from_revert(R._revert_data(type("E", (Exception,), {"data": "0x" + data.hex()})()))
    assert type(error) is R.NotWriter
    assert isinstance(R.error_from_revert(keccak(text="EnforcedPause()")[:4]), R.ContractPaused)
    assert type(R.error_from_revert(b"\xde\xad\xbe\xef", "boom")) is R.TransactionReverted
