"""The chain's fast paths are really in use (each silently costs 2-40x when missing), and importing
its libraries leaves Python's recursion limit alone (py_ecc raises it to 100,000, and a deeply nested
MQTT message then crashed the ingest worker's thread instead of being refused)."""
import subprocess
import sys

SNIPPET = """
import sys
limit = sys.getrecursionlimit()
import web
web.create_app({"DATABASE_URL": "sqlite:///:memory:", "SECRET_KEY": "x"})
from chain import service
from eth_hash.auto import keccak
from eth_keys.backends import get_backend
keccak(b"x")
print(type(get_backend()).__name__)
print(keccak.hasher.__self__.__class__.__module__)  # the backend object that hashes
print(sys.getrecursionlimit() == limit)
"""


def test_coincurve_and_pysha3_are_selected_and_the_recursion_limit_kept():
    out = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert "CoinCurveECCBackend" in lines[0]
    assert lines[1] == "eth_hash.backends.pysha3"
    assert lines[2] == "True"
