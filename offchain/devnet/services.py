"""Start, inspect and stop the local devnet (anvil) and the IPFS dev node.

Each service runs detached in its own session, so it outlives the command that
started it. Its pid, address and command line go to `<state>/run/<name>.json`
and its output to `<state>/logs/<name>.log`. A pid is only trusted while that
process is alive and still runs the same program (pids get reused), so a stale
file never blocks `up`, and `down` only ever signals the processes it started.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from offchain.devnet.process import alive, tail, terminate
from offchain.devnet.tools import IPFS_NODE_SCRIPT, find_tool, node22
from offchain.errors import ServiceError

ANVIL = "anvil"
IPFS = "ipfs"


@dataclass(frozen=True)
class Ports:
    host: str = "127.0.0.1"
    rpc: int = 8545
    ipfs_api: int = 5001
    ipfs_gateway: int = 8080


@dataclass(frozen=True)
class ServiceRecord:
    name: str
    pid: int
    url: str
    argv: list[str]
    log: str
    extra: dict[str, str]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    url: str | None
    log: str | None
    extra: dict[str, str]


def _post(url: str, body: bytes, timeout: float = 1.0) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer: bytes = response.read()
        return answer


def anvil_answers(url: str) -> bool:
    try:
        reply = json.loads(_post(url, b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'))
        return "result" in reply
    except (OSError, ValueError):
        return False


def ipfs_answers(api_url: str) -> bool:
    try:
        return "Version" in json.loads(_post(f"{api_url}/api/v0/version", b""))
    except (OSError, ValueError):
        return False


class DevServices:
    """The two dev services of one state directory."""

    def __init__(
        self, state_dir: Path, ports: Ports = Ports(), *, chain_id: int = 31337, block_time: float | None = None
    ) -> None:
        self.state_dir = Path(state_dir)
        self.ports = ports
        self.chain_id = chain_id
        self.block_time = block_time
        self._run = self.state_dir / "run"
        self._logs = self.state_dir / "logs"

    # --- public ---------------------------------------------------------------

    def up(self, *, timeout: float = 60.0) -> list[ServiceStatus]:
        """Start whichever service is not running; wait until both answer."""
        for name in (ANVIL, IPFS):
            if not self._status(name).running:
                self._start(name, timeout)
        return self.status()

    def status(self) -> list[ServiceStatus]:
        return [self._status(ANVIL), self._status(IPFS)]

    def down(self, *, timeout: float = 10.0) -> list[str]:
        """Stop the processes this state directory started; return the names stopped."""
        stopped = []
        for name in (IPFS, ANVIL):
            record = self._read(name)
            if record and alive(record.pid, self._marker(name)):
                terminate(record.pid, timeout)
                stopped.append(name)
            self._record_path(name).unlink(missing_ok=True)
        return stopped

    # --- internals ------------------------------------------------------------

    def _marker(self, name: str) -> str:
        return "anvil" if name == ANVIL else str(IPFS_NODE_SCRIPT.name)

    def _record_path(self, name: str) -> Path:
        return self._run / f"{name}.json"

    def _read(self, name: str) -> ServiceRecord | None:
        try:
            return ServiceRecord(**json.loads(self._record_path(name).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _status(self, name: str) -> ServiceStatus:
        record = self._read(name)
        if record is None or not alive(record.pid, self._marker(name)):
            return ServiceStatus(name, False, None, None, record.log if record else None, {})
        return ServiceStatus(name, True, record.pid, record.url, record.log, record.extra)

    def _command(self, name: str) -> tuple[list[str], str, dict[str, str], Callable[[], bool]]:
        p = self.ports
        if name == ANVIL:
            argv = [str(find_tool("anvil")), "--host", p.host, "--port", str(p.rpc), "--chain-id", str(self.chain_id)]
            if self.block_time:
                argv += ["--block-time", str(self.block_time)]
            url = f"http://{p.host}:{p.rpc}"
            return argv, url, {}, lambda: anvil_answers(url)
        repo = self.state_dir / "ipfs"
        argv = [
            str(node22()),
            str(IPFS_NODE_SCRIPT),
            "--repo",
            str(repo),
            "--api",
            f"{p.host}:{p.ipfs_api}",
            "--gateway",
            f"{p.host}:{p.ipfs_gateway}",
        ]
        url = f"http://{p.host}:{p.ipfs_api}"
        return argv, url, {"gateway": f"http://{p.host}:{p.ipfs_gateway}", "repo": str(repo)}, lambda: ipfs_answers(url)

    def _start(self, name: str, timeout: float) -> None:
        argv, url, extra, answers = self._command(name)
        if answers():
            raise ServiceError(
                f"something else already answers at {url}: stop it, or choose other ports (see `dfl node up --help`)"
            )
        self._run.mkdir(parents=True, exist_ok=True)
        self._logs.mkdir(parents=True, exist_ok=True)
        log_path = self._logs / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        record = ServiceRecord(name, process.pid, url, argv, str(log_path), extra)
        self._record_path(name).write_text(json.dumps(asdict(record), indent=2))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._record_path(name).unlink(missing_ok=True)
                raise ServiceError(
                    f"{name} exited with code {process.returncode} while starting; last log lines:\n{tail(log_path)}"
                )
            if answers():
                return
            time.sleep(0.1)
        terminate(process.pid, 5.0)
        self._record_path(name).unlink(missing_ok=True)
        raise ServiceError(f"{name} did not answer at {url} within {timeout:.0f}s; last log lines:\n{tail(log_path)}")
