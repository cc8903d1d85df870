"""The indexer against the real devnet: what it stores matches the chain, a restart resumes from
the checkpoint without gaps or duplicates, and a reorg rolls back the replaced blocks."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3.types import RPCEndpoint, RPCResponse

from explorer.conftest import ROUNDS, TRAINERS, VALIDATORS, Indexed
from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.blocks import ChainReader
from offchain.chain.deploy import deploy
from offchain.chain.manager import TaskManager
from offchain.devnet.services import anvil_answers
from offchain.devnet.tools import find_tool
from offchain.explorer.db import Database
from offchain.explorer.indexer import Indexer, receipt_body
from offchain.units import TOKEN
from support import BUILD_DIR, free_port, wait_until


def _db(indexed: Indexed) -> sqlite3.Connection:
    conn = sqlite3.connect(indexed.db_path)
    conn.row_factory = sqlite3.Row
    return conn


def test_restart_resumes_from_the_checkpoint_with_no_gap_and_no_duplicate(indexed: Indexed) -> None:
    conn = _db(indexed)
    start = load_deployment(indexed.deployments, 31337, BUILD_DIR).block
    checkpoint = int(conn.execute("SELECT value FROM meta WHERE key = 'checkpoint'").fetchone()[0])
    assert start <= indexed.checkpoint_after_round0 < checkpoint, (
        "the first indexer stopped mid-task, the second went on"
    )
    numbers = [r[0] for r in conn.execute("SELECT number FROM blocks ORDER BY number")]
    assert numbers == list(range(start, checkpoint + 1))
    counts = dict(conn.execute("SELECT name, COUNT(*) FROM events GROUP BY name").fetchall())
    assert counts["TaskCreated"] == 1 and counts["RoundFinalized"] == ROUNDS
    assert counts["UpdateCommitted"] == TRAINERS * ROUNDS and counts["UpdateRevealed"] == TRAINERS * ROUNDS - 1
    assert counts["VoteRevealed"] == VALIDATORS * ROUNDS
    assert sum(counts.values()) > indexed.events_after_round0
    dupes = conn.execute(
        "SELECT tx_hash, log_index, COUNT(*) c FROM events GROUP BY tx_hash, log_index HAVING c > 1"
    ).fetchall()
    assert dupes == []


def test_stored_events_transactions_and_balances_match_the_chain(indexed: Indexed) -> None:
    conn = _db(indexed)
    chain = TaskManager(indexed.rpc_url, load_deployment(indexed.deployments, 31337, BUILD_DIR))
    t = indexed.task.task_id
    for name in (
        "UpdateRevealed",
        "VoteRevealed",
        "TrainerRewardClaimed",
        "ValidatorRewardClaimed",
        "Slashed",
        "Staked",
    ):
        on_chain = [(e.tx_hash, e.log_index) for e in chain.events(name, taskId=t)]
        stored = [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT tx_hash, log_index FROM events WHERE name = ? AND task_id = ? ORDER BY block_number, log_index",
                (name, t),
            )
        ]
        assert stored == on_chain, name
    cids = {
        json.loads(r[0])["updateCid"] for r in conn.execute("SELECT args FROM events WHERE name = 'UpdateRevealed'")
    }
    assert cids == {e.args["updateCid"] for e in chain.events("UpdateRevealed", taskId=t)}
    # every claim transaction is stored with its decoded call
    for (round_id, trainer), tx_hash in indexed.task.claims.items():
        row = conn.execute("SELECT function, args, status, sender FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        assert row["function"] == "claimTrainerReward" and row["status"] == 1 and row["sender"] == trainer
        assert json.loads(row["args"])["round"] == round_id
    for address in indexed.task.trainers + indexed.task.validators:
        stored = conn.execute("SELECT balance FROM balances WHERE address = ?", (address,)).fetchone()
        assert int(stored[0]) == chain.balance_of(address)
    slashed = conn.execute(
        "SELECT json_extract(args, '$.account'), round FROM events WHERE name = 'Slashed'"
    ).fetchall()
    assert [(r[0], r[1]) for r in slashed] == [(indexed.task.trainers[-1], 0)]


def test_round_receipts_are_fetched_once_and_their_roots_match_the_chain(indexed: Indexed) -> None:
    conn = _db(indexed)
    rows = conn.execute("SELECT round, cid, body, error FROM receipts ORDER BY round").fetchall()
    assert [(r["round"], r["cid"]) for r in rows] == sorted(indexed.task.receipts.items())
    for r in rows:
        body = json.loads(r["body"])
        root = conn.execute(
            "SELECT json_extract(args, '$.rewardRoot') FROM events WHERE name = 'RoundFinalized' AND round = ?",
            (r["round"],),
        ).fetchone()[0]
        assert r["error"] is None and body["reward_root"] == root


def test_a_malformed_winning_receipt_is_recorded_as_bad_instead_of_failing_the_pass(indexed: Indexed) -> None:
    body = _db(indexed).execute("SELECT body FROM receipts ORDER BY round LIMIT 1").fetchone()[0]
    assert receipt_body(body.encode()) == (body, None)
    for broken in (
        body.encode()[:-10],
        b'{"kind":"dfl-round-receipt","version":2}',
        body.encode().replace(b'"', b"'", 1),
    ):
        text, error = receipt_body(broken)
        assert text is None and error is not None, broken[:60]
    assert "malformed round receipt" in str(receipt_body(body.encode()[:-10])[1])
    assert receipt_body(b"\x10\x00\x00\x00\x00\x00\x00\x00{}") == (None, "the winning CID is not a round receipt")


@pytest.fixture
def private_anvil(tmp_path: Path) -> Iterator[str]:  # automine, for a reorg made with evm_snapshot / evm_revert
    port = free_port()
    process = subprocess.Popen(
        [str(find_tool("anvil")), "--port", str(port), "--silent"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: anvil_answers(url) or process.poll() is not None, timeout=20, what="anvil to start", every=0.1)
    assert process.poll() is None, "anvil exited at start"
    yield url
    process.terminate()
    process.wait(10)


@pytest.mark.timeout(120)
def test_a_reorg_rolls_back_the_replaced_blocks_and_reindexes_the_new_ones(private_anvil: str, tmp_path: Path) -> None:
    deploy(private_anvil, anvil_account(0), build_dir=BUILD_DIR, deployments_dir=tmp_path)
    deployer = TaskManager(private_anvil, load_deployment(tmp_path, 31337, BUILD_DIR), anvil_account(0))
    provider = deployer.w3.provider

    def rpc(method: str, params: list[Any]) -> RPCResponse:
        return provider.make_request(RPCEndpoint(method), params)

    alice, bob = anvil_account(1).address, anvil_account(2).address
    deployer.transfer(alice, 1 * TOKEN)
    snapshot = rpc("evm_snapshot", [])["result"]
    lost = deployer.transfer(alice, 5 * TOKEN)
    rpc("anvil_mine", [hex(3)])
    indexer = Indexer(Database(tmp_path / "x.sqlite"), ChainReader(private_anvil, deployer.deployment))
    indexer.sync_once()
    before = indexer.db.checkpoint()
    lost_hash = "0x" + bytes(lost["transactionHash"]).hex()
    assert indexer.db.conn.execute("SELECT 1 FROM txs WHERE hash = ?", (lost_hash,)).fetchone()

    rpc("evm_revert", [snapshot])
    deployer = TaskManager(private_anvil, deployer.deployment, anvil_account(0))  # a fresh nonce after the revert
    deployer.transfer(bob, 7 * TOKEN)  # the other fork: same heights, other blocks
    rpc("anvil_mine", [hex(5)])
    indexer.sync_once()

    conn = indexer.db.conn
    assert indexer.status.reorgs == 1 and (indexer.db.checkpoint() or 0) > (before or 0)
    assert conn.execute("SELECT 1 FROM txs WHERE hash = ?", (lost_hash,)).fetchone() is None
    reader = ChainReader(private_anvil, deployer.deployment)
    stored = dict(conn.execute("SELECT number, hash FROM blocks").fetchall())
    assert stored == reader.block_hashes(sorted(stored))
    balances = dict(conn.execute("SELECT address, balance FROM balances").fetchall())
    assert int(balances[alice]) == 1 * TOKEN and int(balances[bob]) == 7 * TOKEN
