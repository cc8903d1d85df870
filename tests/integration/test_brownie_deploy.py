"""`brownie run scripts/deploy.py` against an already running anvil (as after `dfl node up`):
the record it writes is the one every `dfl` command reads."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from offchain.config import PROJECT_ROOT
from support import BUILD_DIR

BROWNIE = str(PROJECT_ROOT / ".venv" / "bin" / "brownie")


def test_brownie_deploy_script_attaches_to_a_running_anvil_and_dfl_reads_its_record(
    rpc_url: str, tmp_path: Path
) -> None:
    port = rpc_url.rsplit(":", 1)[1]
    name = f"dfl-test-{port}"
    env = {
        **os.environ,
        "DFL_DEPLOYMENTS_DIR": str(tmp_path),
        "PATH": f"{PROJECT_ROOT / '.venv' / 'bin'}:{PROJECT_ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}",
    }
    # A development network at the suite's anvil: Brownie attaches to a node already listening there.
    subprocess.run(
        [BROWNIE, "networks", "add", "Development", name, "host=http://127.0.0.1", f"port={port}", "cmd=anvil"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        result = subprocess.run(
            [BROWNIE, "run", "scripts/deploy.py", "--network", name],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        subprocess.run(
            [BROWNIE, "networks", "delete", name], cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=60
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = json.loads((tmp_path / "31337.json").read_text())
    chain = TaskManager(rpc_url, load_deployment(tmp_path, 31337, BUILD_DIR))
    assert chain.total_supply() == 10**9 * 10**18
    assert chain.task_count() == 0
    assert chain.manager.functions.token().call() == record["contracts"]["RewardToken"]["address"]
    assert chain.balance_of("0x70997970C51812dc3A010C7d01b50e0d17dc79C8") == 100_000 * 10**18  # faucet: anvil account 1
