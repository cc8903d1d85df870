"""A deployed protocol on the suite's anvil and IPFS node, and the environment workers need."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.deploy import deploy
from offchain.chain.manager import TaskManager
from offchain.config import PROJECT_ROOT

TOKEN = 10**18
BUILD_DIR = PROJECT_ROOT / "build"


@dataclass
class Protocol:
    rpc_url: str
    ipfs_api: str
    deployments: Path
    state_dir: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "DFL_RPC_URL": self.rpc_url, "DFL_IPFS_API": self.ipfs_api, "DFL_CHAIN_ID": "31337",
                "DFL_DEPLOYMENTS_DIR": str(self.deployments), "DFL_STATE_DIR": str(self.state_dir),
                "DFL_BUILD_DIR": str(BUILD_DIR), "PYTHONUNBUFFERED": "1"}

    def manager(self, account_index: int | None = None) -> TaskManager:
        account = anvil_account(account_index) if account_index is not None else None
        return TaskManager(self.rpc_url, load_deployment(self.deployments, 31337, BUILD_DIR), account)

    def dfl(self, args: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "offchain.cli.main", *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture(scope="session")
def protocol(rpc_url: str, ipfs_api: str, tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    if not (BUILD_DIR / "contracts" / "FLTaskManager.json").exists():
        pytest.fail("contracts are not compiled: run `brownie compile` (tools/run-tests.sh does it first)")
    deployments = tmp_path_factory.mktemp("deployments")
    deploy(rpc_url, anvil_account(0), build_dir=BUILD_DIR, deployments_dir=deployments,
           faucet={anvil_account(i).address: 100_000 * TOKEN for i in range(1, 10)})
    return Protocol(rpc_url, ipfs_api, deployments, tmp_path_factory.mktemp("workers"))
