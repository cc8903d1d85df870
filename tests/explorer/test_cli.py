"""`dfl explorer` as a process: the background service `dfl demo` starts (started once, reused,
stopped by pid with `dfl explorer --stop`), and clean errors for user mistakes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from explorer.conftest import ROUNDS, Indexed
from offchain.explorer import background
from support import BUILD_DIR, free_port, wait_until

DFL = [sys.executable, "-m", "offchain.cli.main"]


def _env(indexed: Indexed, state: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DFL_RPC_URL": indexed.rpc_url,
        "DFL_CHAIN_ID": "31337",
        "DFL_IPFS_API": indexed.ipfs_api,
        "DFL_STATE_DIR": str(state),
        "DFL_DEPLOYMENTS_DIR": str(indexed.deployments),
        "DFL_BUILD_DIR": str(BUILD_DIR),
    }


@pytest.mark.timeout(120)
def test_background_explorer_indexes_from_scratch_is_reused_and_stops(indexed: Indexed, tmp_path: Path) -> None:
    env, port = _env(indexed, tmp_path), free_port()
    url, pid, started = background.ensure(tmp_path, env, port=port)
    try:
        assert started and url == f"http://127.0.0.1:{port}"

        def indexed_task() -> bool:
            task = requests.get(f"{url}/api/tasks/{indexed.task.task_id}", timeout=5)
            return task.status_code == 200 and len(task.json()["rounds"]) == ROUNDS and bool(task.json()["state"])

        wait_until(indexed_task, timeout=60, what="the background explorer to index the task", every=0.5)
        assert (tmp_path / "explorer" / "31337.sqlite").exists()
        assert background.ensure(tmp_path, env, port=port) == (url, pid, False)  # a second demo reuses it
    finally:
        stopped = subprocess.run([*DFL, "explorer", "--stop"], env=env, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and "explorer stopped" in stopped.stdout
    assert (
        not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:1]
    )
    assert background.running(tmp_path) is None


def test_no_deployment_and_busy_port_are_clear_errors(indexed: Indexed, tmp_path: Path) -> None:
    env = _env(indexed, tmp_path)
    missing = subprocess.run(
        [*DFL, "explorer", "--port", str(free_port())],
        env={**env, "DFL_DEPLOYMENTS_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "dfl deploy" in missing.stderr and "Traceback" not in missing.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = subprocess.run(
            [*DFL, "explorer", "--port", str(busy.getsockname()[1])],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert taken.returncode == 1 and "cannot listen" in taken.stderr and "Traceback" not in taken.stderr
