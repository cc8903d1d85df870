"""The explorer's fixtures: its own contracts on the suite's devnet (1 s blocks), one scripted
task indexed by two indexer instances (a restart after round 0), and a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from explorer.scripted import ScriptedTask, run_task
from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.blocks import ChainReader
from offchain.chain.deploy import deploy
from offchain.chain.manager import TaskManager
from offchain.explorer.app import create_app
from offchain.explorer.db import Database
from offchain.explorer.indexer import FollowConfig, Indexer, IndexerStatus, follow
from offchain.storage.ipfs import IpfsStore
from offchain.units import TOKEN
from support import BUILD_DIR, serving, wait_until

TRAINERS, VALIDATORS, ROUNDS = 3, 2, 2


@dataclass
class Indexed:
    rpc_url: str
    ipfs_api: str
    deployments: Path
    db_path: Path
    task: ScriptedTask
    checkpoint_after_round0: int
    events_after_round0: int


def index_to_head(db_path: Path, rpc_url: str, deployments: Path, store: IpfsStore | None) -> Indexer:
    db = Database(db_path)
    indexer = Indexer(
        db, ChainReader(rpc_url, load_deployment(deployments, 31337, BUILD_DIR)), store=store, batch_blocks=50
    )
    indexer.sync_once()
    return indexer


@pytest.fixture(scope="session")
def indexed(rpc_url: str, ipfs_api: str, tmp_path_factory: pytest.TempPathFactory) -> Indexed:
    base = tmp_path_factory.mktemp("explorer")
    deployments = base / "deployments"
    deploy(
        rpc_url,
        anvil_account(0),
        build_dir=BUILD_DIR,
        deployments_dir=deployments,
        faucet={anvil_account(i).address: 10_000 * TOKEN for i in range(1, 1 + TRAINERS + VALIDATORS)},
    )
    db_path = base / "explorer.sqlite"
    seen: dict[str, int] = {}
    with IpfsStore(ipfs_api) as store:

        def first_indexer_after(round_id: int) -> None:
            if round_id == 0:  # index what exists, then drop the indexer and its database connection: a restart
                indexer = index_to_head(db_path, rpc_url, deployments, store)
                seen["checkpoint"] = indexer.db.checkpoint() or 0
                seen["events"] = int(indexer.db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
                indexer.db.close()

        # trainer 3 commits in round 0 but never reveals: slashed when it commits again in round 1
        task = run_task(
            rpc_url,
            deployments,
            store,
            trainers=TRAINERS,
            validators=VALIDATORS,
            rounds=ROUNDS,
            skip_reveal_in_round={0: 1},
            reveal_seconds=8,
            after_round=first_indexer_after,
        )
        chain = TaskManager(rpc_url, load_deployment(deployments, 31337, BUILD_DIR))
        last = chain.block_number()  # index a block past the task's last transaction too
        wait_until(lambda: chain.block_number() > last, timeout=10, what="a block after the task's last transaction")
        index_to_head(db_path, rpc_url, deployments, store).db.close()
    return Indexed(rpc_url, ipfs_api, deployments, db_path, task, seen["checkpoint"], seen["events"])


@pytest.fixture(scope="session")
def server(indexed: Indexed, ipfs_gateway: str) -> Iterator[str]:
    """The app over the indexed database, its indexer following the chain in the background."""
    config = FollowConfig(
        rpc_url=indexed.rpc_url,
        chain_id=31337,
        deployments_dir=indexed.deployments,
        build_dir=BUILD_DIR,
        ipfs_api=indexed.ipfs_api,
        poll_seconds=0.5,
    )
    status = IndexerStatus()
    app = create_app(
        indexed.db_path,
        gateway=ipfs_gateway,
        status=status,
        indexer=lambda stop, st: follow(indexed.db_path, config, stop, st),
    )
    with serving(app) as url:
        yield url
