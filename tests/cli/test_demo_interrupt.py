"""Ctrl-C on `dfl demo` while its workers run: exit code 130, the workers stopped, and a word on
what is still running (and `dfl node down`) and where the task stands with its stakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase
from support import BUILD_DIR, DevnetDeployment

DFL = [sys.executable, "-m", "offchain.cli.main"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_says_what_is_left_and_what_happens_to_the_task(
    protocol: DevnetDeployment, tmp_path: Path
) -> None:
    env = protocol.env() | {
        "DFL_DEPLOYMENTS_DIR": str(tmp_path / "deployments"),
        "DFL_STATE_DIR": str(tmp_path / "state"),
    }
    args = ["demo", "--dataset", "digits", "--trainers", "2", "--validators", "1", "--rounds", "2"]
    args += ["--registration", "120", "--tf-threads", "1", "--no-explorer", "--workdir", str(tmp_path / "work")]
    demo = subprocess.Popen(
        [*DFL, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (`make test &`, nohup) inherits SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler: give the demo the terminal's default, as a user has.
        preexec_fn=_default_sigint,
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            if "worker processes" in line:
                break
        deadline = time.monotonic() + 60
        while len(psutil.Process(demo.pid).children()) < 3:
            assert time.monotonic() < deadline, "the demo did not start its 3 workers"
            time.sleep(0.2)
        workers = psutil.Process(demo.pid).children()
        time.sleep(3)
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends (to the whole process group in a terminal)
        _, stderr = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted (Ctrl-C)")
    assert "the demo's worker processes were stopped" in stderr
    assert f"still running: the chain (anvil) at {protocol.rpc_url}, the IPFS node at {protocol.ipfs_api}" in stderr
    assert "stop them with `dfl node down`" in stderr
    assert not [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]

    chain = TaskManager(protocol.rpc_url, load_deployment(tmp_path / "deployments", 31337, BUILD_DIR))
    task = chain.task_count()
    assert chain.current_round(task)[:2] == (0, Phase.REGISTRATION)
    assert f"task {task} stays in round 0 (registration, ends " in stderr
    assert "with 120 DFL staked by 3 workers, locked until it completes" in stderr  # 2 x 10 + 100
    assert f"`dfl round finalize {task}` moves it on" in stderr
    assert f"`dfl task reclaim {task}` returns the unspent pool" in stderr
    assert os.path.isdir(tmp_path / "work" / "logs")
