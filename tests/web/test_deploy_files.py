"""The production configuration shipped in docs/deploy/ (README "Production") is usable as written: Mosquitto
starts with it, systemd accepts the units, Besu's files parse and say what the chain layer needs."""
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.helpers import DEPLOY, need, production_mosquitto_conf, spare_port, start_mosquitto

ROOT = Path(__file__).resolve().parents[2]
def test_the_production_mosquitto_configuration_starts_and_refuses_anonymous_clients(tmp_path):
    from sensors.mqtt import connect_client
    from web.db import Unavailable

    port = spare_port()
    proc = start_mosquitto(production_mosquitto_conf(tmp_path, port), port)
    try:
        with pytest.raises(Unavailable, match="Not authorized"):
            connect_client(f"mqtt://127.0.0.1:{port}", "", timeout=5)
        connect_client(f"mqtt://admin:admin-password@127.0.0.1:{port}", "", timeout=5).disconnect()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    log = (tmp_path / "mosquitto.log").read_text()
    assert "Error" not in log, log
    assert (tmp_path / "mosquitto.db").exists()  # persistence on: saved at the clean stop


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").glob("*.service")))
def test_systemd_accepts_each_unit(unit, tmp_path):
    analyze = shutil.which("systemd-analyze")
    need(analyze, "systemd-analyze is missing (Debian package systemd)")
    text = (DEPLOY / "systemd" / unit).read_text()
    assert re.search(r"^Restart=always$", text, re.M)
    # The install paths of the guide, pointed at this checkout so that the commands exist here.
    text = (text.replace("/srv/gannong", str(ROOT)).replace("/etc/gannong/gannong.env", str(DEPLOY / "gannong.env"))
            .replace("/opt/besu/bin/besu", "/bin/true").replace("User=besu", "User=root")
            .replace("Group=besu", "Group=root").replace("User=gannong", "User=root")
            .replace("Group=gannong", "Group=root"))
    name = unit.replace("@.service", "@1.service")
    (tmp_path / unit).write_text(text)
    result = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / name)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_environment_file_names_only_real_settings():
    from web import settings

    names = [line.split("=", 1)[0] for line in (DEPLOY / "gannong.env").read_text().splitlines()
             if line and not line.startswith("#")]
    assert names and all(name in settings._SETTINGS for name in names), names  # as test_settings_table reads it


def test_besu_files_parse_and_give_the_chain_what_it_needs():
    genesis = json.loads((DEPLOY / "besu" / "genesis.json").read_text())
    config = genesis["config"]
    assert "qbft" in config and config["zeroBaseFee"] is True
    assert config["shanghaiTime"] == 0  # the contract is compiled for shanghai (chain/README.md)
    node = tomllib.loads((DEPLOY / "besu" / "config.toml").read_text())
    assert node["min-gas-price"] == 0 and node["permissions-accounts-config-file-enabled"] is True
    allow = tomllib.loads((DEPLOY / "besu" / "permissions_config.toml").read_text())
    assert isinstance(allow["accounts-allowlist"], list)
