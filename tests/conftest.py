"""Fixtures shared by the whole suite: real dev services on free ports.

The suite starts its own anvil and IPFS dev node (never the ones on 8545/5001/8080
a developer may be running) in a temporary state directory, and stops them by pid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from offchain.devnet.services import DevServices
from support import free_ports


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
