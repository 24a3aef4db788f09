"""The anchoring contract's sources, compiler settings and committed artifact.

``chain/artifacts/AnchorRegistry.json`` is built from ``chain/contracts/`` by
``scripts/compile_contracts`` with npm ``solc`` (solcjs, pinned in
package.json) and committed; a test recompiles and asserts byte-identical
output.

Settings: solc 0.8.37, optimizer on with 200 runs, no metadata hash in the
bytecode (so it does not depend on comments or paths), and ``evmVersion``
``shanghai``: permissioned chains such as Hyperledger Besu lag mainnet, and
code compiled for solc's default EVM (``osaka``) may use opcodes they do not
have yet (PUSH0 is shanghai; MCOPY and TSTORE are cancun).

Imports are resolved here, not by the compiler: every source, OpenZeppelin's
included, goes into the standard-JSON ``sources`` map with its content, and
the artifact lists the sha256 of each, which pins the library version too.
"""
import hashlib
import json
import posixpath
import re
import subprocess
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = ROOT / "chain" / "contracts"
ARTIFACT_PATH = ROOT / "chain" / "artifacts" / "AnchorRegistry.json"
NODE_MODULES = ROOT / "node_modules"
SOLCJS = NODE_MODULES / "solc" / "solc.js"

CONTRACT_NAME = "AnchorRegistry"
MAIN_SOURCE = "chain/contracts/AnchorRegistry.sol"

# Permissioned chains (Hyperledger Besu and the like) lag mainnet: do not
# target solc's default EVM version.
EVM_VERSION = "shanghai"

SETTINGS = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": 200},
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {
        MAIN_SOURCE: {CONTRACT_NAME: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}

_IMPORT = re.compile(r"""^\s*import\s+(?:[^;]*?\bfrom\s+)?["']([^"']+)["']""", re.MULTILINE)


class CompileError(RuntimeError):
    pass


def _source_file(unit):
    """The file behind a source unit name: ours under the repo, libraries under node_modules."""
    if unit.startswith("chain/"):
        return ROOT / unit
    return NODE_MODULES / unit


def collect_sources(main=MAIN_SOURCE):
    """{unit name: content} for ``main`` and everything it imports, transitively."""
    sources, todo = {}, [main]
    while todo:
        unit = todo.pop()
        if unit in sources:
            continue
        path = _source_file(unit)
        if not path.is_file():
            raise CompileError(f"source {unit} not found at {path}; run scripts/setup (npm ci)")
        content = path.read_text(encoding="utf-8")
        sources[unit] = content
        for imported in _IMPORT.findall(content):
            if imported.startswith("."):
                imported = posixpath.normpath(posixpath.join(posixpath.dirname(unit), imported))
            todo.append(imported)
    return dict(sorted(sources.items()))


def _node(*args, stdin=None):
    if not SOLCJS.is_file():
        raise CompileError(f"solcjs not found at {SOLCJS}; run scripts/setup (npm ci)")
    try:
        return subprocess.Popen(["node", str(SOLCJS), *args], stdin=subprocess.PIPE if stdin else None,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    except FileNotFoundError:
        raise CompileError("node is needed to compile the contract: apt-get install nodejs npm") from None


def compile_sources():
    """Compile the contract with npm solc and return the artifact dict."""
    sources = collect_sources()
    request = {
        "language": "Solidity",
        "sources": {unit: {"content": content} for unit, content in sources.items()},
        "settings": SETTINGS,
    }
    version_proc = _node("--version")
    compile_proc = _node("--standard-json", stdin=True)
    out, err = compile_proc.communicate(json.dumps(request, sort_keys=True))
    version, verr = version_proc.communicate()
    if compile_proc.returncode != 0 or "{" not in out:
        raise CompileError(f"solcjs failed ({compile_proc.returncode}): {err.strip() or out.strip()}")
    if version_proc.returncode != 0:
        raise CompileError(f"solcjs --version failed: {verr.strip()}")
    # solcjs prints ">>> Cannot retry compilation with SMT..." before the JSON.
    output = json.loads(out[out.index("{"):])
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    contract = output["contracts"][MAIN_SOURCE][CONTRACT_NAME]
    return {
        "contractName": CONTRACT_NAME,
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
        "compiler": {"name": "solc", "version": version.strip(), "settings": SETTINGS},
        "sources": {unit: hashlib.sha256(content.encode("utf-8")).hexdigest()
                    for unit, content in sources.items()},
    }


def dump_artifact(artifact):
    """The artifact file's exact text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifact(artifact, path=ARTIFACT_PATH):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_artifact(artifact), encoding="utf-8")
    return path


@lru_cache(maxsize=1)
def _artifact_text():
    return ARTIFACT_PATH.read_text(encoding="utf-8")


def load_artifact():
    """The committed artifact (a fresh dict on each call)."""
    return json.loads(_artifact_text())
