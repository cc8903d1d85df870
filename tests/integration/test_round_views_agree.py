"""A round that fails to reach quorum, seen through `dfl round show`, `dfl task show` and the
explorer: the same stakes with the same labels, and every validator listed with what it did,
including the one that never voted and the one that never revealed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from offchain.chain.artifacts import load_deployment
from offchain.chain.blocks import ChainReader
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import (
    REJECT_PROPOSAL,
    ZERO_ROOT,
    Phase,
    Role,
    TaskParams,
    proposal_hash,
    update_commitment,
    vote_commitment,
)
from offchain.explorer import queries
from offchain.explorer.app import create_app
from offchain.explorer.db import Database, connect
from offchain.explorer.indexer import Indexer
from offchain.units import TOKEN
from support import BUILD_DIR, DevnetDeployment, run_out_phases, serving, signer, wait_until

TRAINER = 1
VOTES_FOR, VOTES_REJECT, NEVER_COMMITS, NEVER_REVEALS = 2, 3, 4, 5
STAKES = {VOTES_FOR: 150, VOTES_REJECT: 100, NEVER_COMMITS: 100, NEVER_REVEALS: 100}  # tokens
RECEIPT = "QmReceiptReceiptReceiptReceiptReceiptReceiptR"


def _params() -> TaskParams:
    return TaskParams(
        model_spec_cid="QmSpec",
        initial_model_cid="QmInitialWeights",
        eval_dataset_cid="QmEval",
        eval_dataset_hash=b"\x01" * 32,
        rule_id=0,
        rule_params=(0,),
        num_rounds=2,
        registration_duration=0,
        commit_duration=600,  # ends as soon as the one trainer committed
        reveal_duration=600,
        attest_duration=6,
        vote_commit_duration=6,  # one validator never commits: the phase ends at its deadline
        vote_reveal_duration=6,  # one never reveals: same
        exit_cooldown=0,
        claim_window=3600,
        min_trainer_stake=10 * TOKEN,
        min_validator_stake=100 * TOKEN,
        stake_per_sample=0,
        max_trainers_per_round=10,
        max_update_bytes=1 << 20,
        max_delta_norm_micro=0,
        quorum_bps=6_000,
        trainer_non_reveal_slash_bps=1_000,
        trainer_penalty_bps=2_000,
        validator_non_reveal_slash_bps=1_000,
        validator_losing_slash_bps=500,
        trainer_share_bps=7_000,
        reward_pool=100 * TOKEN,
    )


def _play_failed_round(protocol: DevnetDeployment) -> tuple[int, dict[int, str]]:
    requester = protocol.manager(0)
    task = requester.create_task(_params())
    trainer = protocol.manager(TRAINER)
    trainer.stake(task, Role.TRAINER, 10 * TOKEN)
    validators = {i: protocol.manager(i) for i in STAKES}
    for i, chain in validators.items():
        chain.stake(task, Role.VALIDATOR, STAKES[i] * TOKEN)
    salt = os.urandom(32)
    trainer.commit_update(task, update_commitment(task, 0, signer(trainer), "QmUpdate", 100, salt))
    wait_until(lambda: requester.current_round(task)[1] == Phase.REVEAL, timeout=30, what="the reveal phase")
    trainer.reveal_update(task, "QmUpdate", 100, salt)
    run_out_phases(requester, task, Phase.VOTE_COMMIT)
    # (nobody attested: the Attest phase ran out; validators may still vote)
    root = b"\x07" * 32
    votes = {VOTES_FOR: (RECEIPT, root), VOTES_REJECT: ("", ZERO_ROOT), NEVER_REVEALS: (RECEIPT, root)}
    salts = {i: os.urandom(32) for i in votes}
    for i, (cid, vote_root) in votes.items():
        proposal = proposal_hash(cid, vote_root, ZERO_ROOT) if cid else REJECT_PROPOSAL
        validators[i].commit_vote(task, vote_commitment(task, 0, signer(validators[i]), proposal, salts[i]))
    run_out_phases(requester, task, Phase.VOTE_REVEAL)
    for i in (VOTES_FOR, VOTES_REJECT):
        validators[i].reveal_vote(task, votes[i][0], votes[i][1], ZERO_ROOT, salts[i], 9_000)
    run_out_phases(requester, task, Phase.AWAITING_FINALIZATION)
    requester.finalize_round(task)
    return task, {i: signer(chain) for i, chain in validators.items()}


def _dfl(protocol: DevnetDeployment, *args: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-m", "offchain.cli.main", *args, "--json"],
        env=protocol.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


@pytest.mark.slow
def test_a_failed_round_shows_the_same_stakes_and_every_validator_in_the_cli_and_the_explorer(
    protocol: DevnetDeployment, tmp_path: Path
) -> None:
    task, address = _play_failed_round(protocol)
    db_path = tmp_path / "explorer.sqlite"
    deployment = load_deployment(protocol.deployments, 31337, BUILD_DIR)
    Indexer(Database(db_path), ChainReader(protocol.rpc_url, deployment)).sync_once()
    conn = connect(db_path, readonly=True)
    explorer_round = queries.round_page(conn, task, 0)
    explorer_task = queries.task(conn, task)
    cli_round = _dfl(protocol, "round", "show", str(task), "0")
    cli_task = _dfl(protocol, "task", "show", str(task))

    # one failed round, one source: nothing won, and the leading proposal had 150 of 450 tokens
    assert cli_round["status"] == explorer_round["status"] == cli_task["rounds"][0]["status"] == "failed"
    for shown in (cli_round, cli_task["rounds"][0], explorer_round["finalized"], explorer_task["rounds"][0]):
        assert shown["winning_stake"] == 0 and shown["leading_stake"] == 150 * TOKEN, shown
    assert explorer_round["finalized"]["total_validator_stake"] == cli_round["total_validator_stake"] == 450 * TOKEN
    assert explorer_round["finalized"]["winning_proposal"] is None
    assert TaskManager(protocol.rpc_url, deployment).round_outcome(task, 0).winning_stake == 0  # as the chain says

    # every validator of the round, with what it did, in both
    expected = {
        address[VOTES_FOR]: RECEIPT,
        address[VOTES_REJECT]: "reject",
        address[NEVER_REVEALS]: "not revealed",
        address[NEVER_COMMITS]: "not committed",
    }
    assert {v["validator"]: v["vote"] for v in cli_round["votes"]} == expected
    assert {v["validator"]: v["vote"] for v in explorer_round["votes"]} == expected
    idle = next(v for v in explorer_round["votes"] if v["validator"] == address[NEVER_COMMITS])
    assert idle["commit_tx"] is None and idle["weight"] is None and idle["with_winner"] is None
    assert all(v["with_winner"] is None for v in explorer_round["votes"])  # nobody won, so nobody is "with" it

    # the trainer's update has no verdict, and both say why
    (cli_update,) = cli_round["updates"]
    (explorer_update,) = explorer_round["updates"]
    assert cli_update["reason"] == explorer_update["reason"] == "round failed"
    assert cli_round["global_model_cid"] == explorer_round["global_model_cid"] == "QmInitialWeights"
    assert cli_round["receipt_cid"] is explorer_round["receipt_cid"] is None

    # and the explorer's page says it in words
    with serving(create_app(db_path)) as url:
        page = requests.get(f"{url}/tasks/{task}/rounds/0", timeout=10)
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "failed: no proposal reached quorum (winning stake 0 DFL); leading stake 150 DFL of 450 DFL" in text
    assert "not committed" in text and "staked, did not commit" in text and "not revealed" in text
