"""The committed contract artifact is exactly what the pinned npm solc builds from the sources."""
import shutil

from chain import contract
from tests.helpers import need


def test_artifact_is_reproducible():
    need(shutil.which("node") is not None, "node not found: apt-get install nodejs npm")
    need(contract.SOLCJS.is_file(), "npm solc not installed: run scripts/setup (npm ci)")
    built = contract.compile_sources()
    assert contract.dump_artifact(built) == contract.ARTIFACT_PATH.read_text(encoding="utf-8"), \
        "chain/artifacts/AnchorRegistry.json is stale: run scripts/compile_contracts and commit it"


def test_artifact_settings():
    artifact = contract.load_artifact()
    settings = artifact["compiler"]["settings"]
    assert artifact["compiler"]["version"].startswith("0.8.37+commit.")
    assert settings["evmVersion"] == "shanghai"
    assert settings["optimizer"] == {"enabled": True, "runs": 200}
    assert contract.MAIN_SOURCE in artifact["sources"]
    assert any(path.startswith("@openzeppelin/contracts/") for path in artifact["sources"])
    names = {e["name"] for e in artifact["abi"] if e.get("type") in ("function", "error", "event")}
    assert {"anchor", "anchorOf", "isAnchored", "verifyLeaf", "writerPeriod", "WRITER_ROLE", "pause",
            "unpause", "RootAlreadyAnchored", "EmptyRoot", "Anchored"} <= names
