"""Fixtures shared by the whole suite: real dev services on free ports.

The suite starts its own anvil and IPFS dev node (never the ones on 8545/5001/8080
a developer may be running) in a temporary state directory, and stops them by pid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.deploy import deploy
from offchain.devnet.services import DevServices
from offchain.units import TOKEN
from support import BUILD_DIR, DevnetDeployment, free_ports


@pytest.fixture(scope="session")
def dev_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServices]:
    # Blocks every second, as on a real chain: phase deadlines pass even when nobody sends a transaction.
    services = DevServices(tmp_path_factory.mktemp("dfl-state"), free_ports(), block_time=1)
    services.up()
    yield services
    services.down()


@pytest.fixture(scope="session")
def rpc_url(dev_services: DevServices) -> str:
    return f"http://{dev_services.ports.host}:{dev_services.ports.rpc}"


@pytest.fixture(scope="session")
def ipfs_api(dev_services: DevServices) -> str:
    return f"http://{dev_services.ports.host}:{dev_services.ports.ipfs_api}"


@pytest.fixture(scope="session")
def ipfs_gateway(dev_services: DevServices) -> str:
    return f"http://{dev_services.ports.host}:{dev_services.ports.ipfs_gateway}"


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def protocol(rpc_url: str, ipfs_api: str, tmp_path_factory: pytest.TempPathFactory) -> DevnetDeployment:
    if not (BUILD_DIR / "contracts" / "FLTaskManager.json").exists():
        pytest.fail("contracts are not compiled: run `brownie compile` (tools/run-tests.sh does it first)")
    deployments = tmp_path_factory.mktemp("deployments")
    deploy(
        rpc_url,
        anvil_account(0),
        build_dir=BUILD_DIR,
        deployments_dir=deployments,
        faucet={anvil_account(i).address: 100_000 * TOKEN for i in range(1, 10)},
    )
    return DevnetDeployment(rpc_url, ipfs_api, deployments, tmp_path_factory.mktemp("workers"))


# How the two xdist workers share the suite (tools/run-tests.sh runs `--dist loadgroup
# --no-loadscope-reorder`): a test file stays on one worker, so its module fixtures are built once;
# the explorer's files share one worker, so their session fixture (a scripted task, ~40 s) is built
# once; and the files that keep a worker busy longest start first, in this order (seconds measured
# with `--durations`, see notes/issue-20.md): scheduled last, one of them leaves the other worker
# idle at the end of the run.
LONGEST_FIRST = (
    "tests/cli/test_bad_input.py",
    "tests/bench/test_incentives.py",
    "tests/cli/test_protocol_cli.py",
    "tests/bench/test_bench_blocks.py",
    "tests/explorer",
    "tests/integration/test_attacks.py",
    "tests/integration/test_secagg_rounds.py",
    "tests/integration/test_bad_updates.py",
    "tests/integration/test_sealed_rounds.py",
    "tests/offchain/fl/test_fl_determinism.py",
    "tests/cli/test_worker_faults.py",
    "tests/integration/test_protocol_rounds.py",
    "tests/bench/test_incentives_secagg.py",
    "tests/cli/test_settle_cli.py",
    "tests/integration/test_round_views_agree.py",
)


def _work_unit(item: pytest.Item) -> str:
    path = item.nodeid.split("::", 1)[0]
    return "tests/explorer" if path.startswith("tests/explorer/") else path


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups off the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        unit = _work_unit(item)
        return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their collection order
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_work_unit(item)))
