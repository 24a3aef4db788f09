"""A real local anvil node (Foundry), for the embedded default chain and tests.

The binary comes from npm (``@foundry-rs/anvil``, installed by scripts/setup
with ``npm ci``): ``node_modules/@foundry-rs/anvil-<platform>/bin/anvil``, or
else ``anvil`` on PATH. It is run directly, never through the node.js wrapper,
so that ``kill()`` (SIGKILL) hits anvil itself.

With ``state_path`` anvil loads its state from that file at start and dumps
it every second (``--state PATH --state-interval 1``) and on SIGTERM. Beware:
a receipt is not proof of a durable anchor. After a SIGKILL, anvil mining each
transaction at once can lose up to about a second of confirmed transactions;
with ``block_time`` set it kept them in our trials. ``stop()`` (SIGTERM)
keeps everything.
"""
import atexit
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
START_TIMEOUT = 20.0

_running = set()


class AnvilError(RuntimeError):
    pass


def _package_name():
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    if system and arch:
        return f"anvil-{system}-{arch}"
    return None


def anvil_binary():
    """Path of the anvil executable; raises AnvilError saying how to get one."""
    package = _package_name()
    if package:
        exe = "anvil.exe" if sys.platform == "win32" else "anvil"
        candidate = ROOT / "node_modules" / "@foundry-rs" / package / "bin" / exe
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("anvil")
    if found:
        return found
    raise AnvilError(
        f"anvil not found (looked for node_modules/@foundry-rs/{package or 'anvil-<platform>'}/bin/anvil "
        "and for anvil on PATH): run scripts/setup, which installs it with npm ci")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dev_account(index=0, mnemonic=DEFAULT_MNEMONIC):
    """The eth_account LocalAccount that anvil funds at ``index`` for ``mnemonic``."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")


class Anvil:
    """One anvil process on 127.0.0.1. Use as a context manager, or start()/stop()."""

    def __init__(self, port=None, state_path=None, block_time=None, chain_id=31337,
                 mnemonic=DEFAULT_MNEMONIC, accounts=10, hardfork=None, extra_args=()):
        self.port = port or free_port()
        self.state_path = Path(state_path) if state_path else None
        self.block_time = block_time
        self.chain_id = chain_id
        self.mnemonic = mnemonic
        self.accounts = accounts
        self.hardfork = hardfork
        self.extra_args = list(extra_args)
        self.process = None
        if self.state_path:
            self.log_path = self.state_path.with_name(self.state_path.name + ".log")
        else:
            fd, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self._log = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def command(self):
        cmd = [anvil_binary(), "--host", "127.0.0.1", "--port", str(self.port),
               "--chain-id", str(self.chain_id), "--mnemonic", self.mnemonic,
               "--accounts", str(self.accounts)]
        if self.block_time:
            cmd += ["--block-time", str(self.block_time)]
        if self.state_path:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--state", str(self.state_path), "--state-interval", "1"]
        if self.hardfork:
            cmd += ["--hardfork", self.hardfork]
        return cmd + self.extra_args

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self, timeout=START_TIMEOUT):
        """Start anvil and wait (at most ``timeout`` s) until its JSON-RPC answers."""
        if self.running:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        _running.add(self)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self._close()
                raise AnvilError(f"anvil exited with code {code} at start; log {self.log_path}:\n{self.log_tail()}")
            if self._answers():
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise AnvilError(f"anvil did not answer on {self.url} within {timeout} s; "
                                 f"log {self.log_path}:\n{self.log_tail()}")
            time.sleep(0.05)

    def _answers(self):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return "result" in json.loads(response.read())
        except (OSError, ValueError):
            return False

    def stop(self, timeout=10):
        """SIGTERM (anvil dumps its state file) and wait; SIGKILL if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close()

    def kill(self):
        """SIGKILL, as a crash: no state dump."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def restart(self, timeout=START_TIMEOUT):
        self.stop()
        return self.start(timeout)

    def _close(self):
        _running.discard(self)
        if self._log:
            self._log.close()
            self._log = None

    def log_tail(self, lines=20):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<Anvil {self.url} {'running' if self.running else 'stopped'}>"


@atexit.register
def _kill_leftovers():
    for node in list(_running):
        node.kill()
