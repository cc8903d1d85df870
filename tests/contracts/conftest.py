"""Fixtures for the contract tests (Brownie's pytest plugin; run through tools/test-contracts.sh).

Brownie launches its own anvil for these tests on a free port (or DFL_CONTRACT_TEST_PORT), never
the developer's chain on 127.0.0.1:8545, and stops it when the session ends.
"""

# mypy: allow-untyped-defs, allow-incomplete-defs
# (Brownie's fixtures, as in the contract tests: see [tool.mypy] in pyproject.toml)

from __future__ import annotations

import os
import socket

import brownie
import pytest

# `brownie._config` is a compiled module: import the package (Brownie hashes conftest imports).
CONFIG = brownie._config.CONFIG


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _use_private_chain() -> None:
    """Point every launchable (development) network at a port nobody else uses."""
    port = int(os.environ.get("DFL_CONTRACT_TEST_PORT") or _free_port())
    for network in CONFIG.networks.values():
        if "cmd" in network:
            network.setdefault("cmd_settings", {})["port"] = port
            host = network.get("host", "http://127.0.0.1")
            scheme, _, rest = host.partition("//")
            network["host"] = f"{scheme}//{rest.split(':')[0]}"


_use_private_chain()

from contract_helpers import RoundDriver, default_params  # noqa: E402  (needs the path set up by pytest)


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the chain state after the module fixtures."""


@pytest.fixture(scope="module")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def token(RewardToken, deployer):
    return RewardToken.deploy("DFL Reward", "DFL", 10**9 * 10**18, deployer, {"from": deployer})


@pytest.fixture(scope="module")
def manager(FLTaskManager, TaskViews, TaskLifecycle, token, deployer):
    # The manager's external libraries, linked in by Brownie when the manager deploys.
    TaskViews.deploy({"from": deployer})
    TaskLifecycle.deploy({"from": deployer})
    return FLTaskManager.deploy(token, {"from": deployer})


@pytest.fixture(scope="module")
def requester(accounts, token, manager, deployer):
    account = accounts[9]
    token.transfer(account, 10**6 * 10**18, {"from": deployer})
    token.approve(manager, 2**256 - 1, {"from": account})
    return account


@pytest.fixture(scope="module")
def trainers(accounts, token, manager, deployer):
    group = list(accounts[1:5])
    for account in group:
        token.transfer(account, 10**4 * 10**18, {"from": deployer})
        token.approve(manager, 2**256 - 1, {"from": account})
    return group


@pytest.fixture(scope="module")
def validators(accounts, token, manager, deployer):
    group = list(accounts[5:9])
    for account in group:
        token.transfer(account, 10**4 * 10**18, {"from": deployer})
        token.approve(manager, 2**256 - 1, {"from": account})
    return group


@pytest.fixture(scope="module")
def params():
    return default_params()


@pytest.fixture(scope="module")
def proto(manager, token, requester, trainers, validators, chain):
    return RoundDriver(manager, token, requester, trainers, validators, chain)


@pytest.fixture(scope="module")
def task_id(proto):
    """A 3-round task with every trainer and validator staked (phase: Registration)."""
    task = proto.create()
    proto.stake_all(task)
    return task


def pytest_configure(config):
    # Brownie's own internals call deprecated aliases of themselves on every snapshot/revert.
    config.addinivalue_line("filterwarnings", "ignore::FutureWarning")


def pytest_ignore_collect(collection_path, config):
    """Plain pytest runs (`-p no:pytest-brownie`) skip the contract tests instead of erroring."""
    if not config.pluginmanager.has_plugin("pytest-brownie"):
        return True
    return None
