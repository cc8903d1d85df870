"""Settling a task by hand with the CLI, as a user must when workers are gone: a task whose only
validator left sits in "awaiting finalization" until `dfl round finalize`; a trainer that committed
and never revealed is slashed with `dfl round slash`; `dfl task reclaim` returns the unspent pool
(slash included) to the requester; `dfl withdraw` returns the stakes. Every amount is exact to the
base unit, typed and printed in tokens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase, new_salt, update_commitment
from offchain.services.requester import TaskSettings, create_task
from offchain.tokens import UNIT
from support import BUILD_DIR, DevnetDeployment, publish_digits, run_out_phases

DFL = [sys.executable, "-m", "offchain.cli.main"]
REQUESTER, VALIDATOR, TRAINER = 0, 8, 9


def _dfl(protocol: DevnetDeployment, *args: str) -> str:
    result = subprocess.run([*DFL, *args], capture_output=True, text=True, env=protocol.env(), timeout=120)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result.stdout


@pytest.mark.slow
def test_finalize_slash_reclaim_and_withdraw_by_hand_move_every_token_back(protocol: DevnetDeployment) -> None:
    chain = protocol.manager()
    who = {i: anvil_account(i).address for i in (REQUESTER, VALIDATOR, TRAINER)}
    published = publish_digits(protocol.ipfs_api, eval_samples=20)
    before = {i: chain.balance_of(a) for i, a in who.items()}
    settings = TaskSettings(
        num_rounds=1, registration=20, commit=60, reveal=3, attest=3, vote_commit=3, vote_reveal=3, exit_cooldown=1
    )
    task = create_task(protocol.manager(REQUESTER), published, settings)
    pool = settings.reward_pool
    t = str(task)

    assert "staked 100 DFL" in _dfl(
        protocol, "stake", "--task", t, "--role", "validator", "--amount", "100", "--dev-account", str(VALIDATOR)
    )
    assert "stake now 10.5 DFL" in _dfl(
        protocol, "stake", "--task", t, "--role", "trainer", "--amount", "10.5", "--dev-account", str(TRAINER)
    )
    assert chain.participant(task, who[TRAINER]).stake == 10 * UNIT + UNIT // 2  # exact, not 10.499999...
    left = _dfl(protocol, "exit", "--task", t, "--dev-account", str(VALIDATOR))
    assert f"left task {t}" in left and f"dfl withdraw --task {t}" in left

    shown = _dfl(protocol, "task", "show", t)
    assert "rule consensus_fedavg (cap=0)" in shown and "rule id" not in shown
    # the deadline: local time, then "in N s" (registration, or the commit phase on a slow machine)
    assert ("phase registration" in shown or "phase commit" in shown) and "(in " in shown

    run_out_phases(chain, task, Phase.COMMIT)
    trainer = protocol.manager(TRAINER)  # commits and never reveals: it owes a slash
    trainer.commit_update(task, update_commitment(task, 0, who[TRAINER], published.weights_cid, 10, new_salt()))

    run_out_phases(chain, task, Phase.AWAITING_FINALIZATION)  # no validator is left to vote
    finalized = _dfl(protocol, "round", "finalize", t, "--dev-account", str(TRAINER))
    assert f"round 0 of task {t} finalized: failed" in finalized
    assert f"return the unspent 1000 DFL with `dfl task reclaim {t}`" in finalized

    slashed = _dfl(protocol, "round", "slash", t, "0", who[TRAINER], "--dev-account", str(VALIDATOR))
    assert f"{who[TRAINER]} slashed 1.05 DFL for round 0" in slashed  # 10 % of 10.5

    assert "dfl task reclaim" in _dfl(protocol, "task", "show", t)
    reclaimed = _dfl(protocol, "task", "reclaim", t, "--dev-account", str(TRAINER))  # anyone may call it
    assert (
        f"returned 1001.05 DFL of unspent pool and 0 DFL of unclaimed rewards of task {t} to its requester {who[REQUESTER]}"
        in reclaimed
    )

    assert "withdrew 100 DFL" in _dfl(protocol, "withdraw", "--task", t, "--dev-account", str(VALIDATOR))
    assert "withdrew 9.45 DFL" in _dfl(protocol, "withdraw", "--task", t, "--dev-account", str(TRAINER))

    after = {i: chain.balance_of(a) for i, a in who.items()}
    slash = 105 * UNIT // 100
    assert after == {
        REQUESTER: before[REQUESTER] + slash,
        VALIDATOR: before[VALIDATOR],
        TRAINER: before[TRAINER] - slash,
    }
    assert chain.task_state(task).unallocated_pool == 0 and pool == 1000 * UNIT


def test_deploy_funds_the_faucet_with_exactly_the_tokens_asked(protocol: DevnetDeployment, tmp_path: Path) -> None:
    env = protocol.env() | {"DFL_DEPLOYMENTS_DIR": str(tmp_path)}
    args = ["deploy", "--faucet", "2", "--faucet-amount", "100000", "--supply", "1000000.000000000000000001"]
    result = subprocess.run([*DFL, *args], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "faucet funded 2 accounts with 100000 DFL" in result.stdout
    chain = TaskManager(protocol.rpc_url, load_deployment(tmp_path, 31337, BUILD_DIR))
    assert chain.balance_of(anvil_account(1).address) == 100_000 * UNIT  # not 99999999999999991611392
    assert chain.total_supply() == 1_000_000 * UNIT + 1
