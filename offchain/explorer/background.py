"""`dfl explorer` as a background service of a state directory (what `dfl demo` starts).

Like the dev services: the pid, URL and command line go to `<state>/run/explorer.json`, the
output to `<state>/logs/explorer.log`; a running explorer that answers is reused, and `stop`
only ever signals the process recorded there (pids are checked against the command line).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from offchain.devnet.process import alive, terminate
from offchain.errors import ServiceError

NAME = "explorer"
MARKER = "explorer"


def _record_path(state_dir: Path) -> Path:
    return Path(state_dir) / "run" / f"{NAME}.json"


def answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/status", timeout=timeout) as response:
            return "indexer" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    return alive(pid, f"offchain.cli.main {MARKER}")


def running(state_dir: Path) -> dict[str, Any] | None:
    """The recorded explorer if it is alive, else None."""
    try:
        record = json.loads(_record_path(state_dir).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and _alive(int(record.get("pid", 0))) else None


def ensure(
    state_dir: Path, env: dict[str, str], *, host: str = "127.0.0.1", port: int = 8000, timeout: float = 30.0
) -> tuple[str, int, bool]:
    """(url, pid, started): reuse the recorded explorer if it answers, else start one."""
    url = f"http://{host}:{port}"
    record = running(state_dir)
    if record and answers(record["url"]):
        return str(record["url"]), int(record["pid"]), False
    if answers(url):
        raise ServiceError(f"something else already answers at {url}: stop it, or give the explorer another port")
    logs = Path(state_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    _record_path(state_dir).parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "offchain.cli.main", "explorer", "--host", host, "--port", str(port)]
    log_path = logs / f"{NAME}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    _record_path(state_dir).write_text(
        json.dumps({"name": NAME, "pid": process.pid, "url": url, "argv": argv, "log": str(log_path)}, indent=2)
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _record_path(state_dir).unlink(missing_ok=True)
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-10:])
            raise ServiceError(
                f"the explorer exited with code {process.returncode} while starting; its log ends:\n{tail}"
            )
        if answers(url):
            return url, process.pid, True
        time.sleep(0.2)
    stop(state_dir)
    raise ServiceError(f"the explorer did not answer at {url} within {timeout:.0f}s; see {log_path}")


def stop(state_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the recorded explorer; True if one was running."""
    record = running(state_dir)
    _record_path(state_dir).unlink(missing_ok=True) if record is None else None
    if record is None:
        return False
    terminate(int(record["pid"]), timeout)
    _record_path(state_dir).unlink(missing_ok=True)
    return True
