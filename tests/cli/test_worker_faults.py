"""Workers meeting what they cannot fix, on the real chain and IPFS node: a winning round receipt
that is malformed ends a trainer with one line and exit code 1 (not a traceback, not a retry every
second), and a trainer whose state lost the salt of a commitment it made says so loudly at start.

Round 0 is played by hand with real transactions: a trainer commits and reveals, the only
validator votes for a receipt CID whose bytes are not a valid receipt, and the round is accepted."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import (
    ZERO_ROOT,
    Phase,
    Role,
    new_salt,
    proposal_hash,
    update_commitment,
    vote_commitment,
)
from offchain.fl.receipt import KIND
from offchain.readmodel.models import winning_receipt_cid
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.ipfs import IpfsStore
from support import DevnetDeployment, publish_digits, run_out_phases

DFL = [sys.executable, "-m", "offchain.cli.main"]
TRAINER, NEWCOMER, VALIDATOR = 4, 3, 6


def _dfl(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DFL, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.mark.slow
def test_a_malformed_winning_receipt_ends_a_trainer_with_one_line_and_a_lost_salt_is_announced(
    protocol: DevnetDeployment, tmp_path: Path
) -> None:
    published = publish_digits(protocol.ipfs_api, eval_samples=20)
    with IpfsStore(protocol.ipfs_api) as store:
        bad_receipt = store.put(b'{"kind":"' + KIND.encode() + b'","version":1,"task":"not a receipt"}')
    settings = TaskSettings(
        num_rounds=2, registration=6, commit=60, reveal=60, attest=6, vote_commit=60, vote_reveal=60
    )
    task = create_task(protocol.manager(0), published, settings)
    trainer, validator = protocol.manager(TRAINER), protocol.manager(VALIDATOR)
    trainer.stake(task, Role.TRAINER, settings.min_trainer_stake)
    validator.stake(task, Role.VALIDATOR, settings.min_validator_stake)
    me = anvil_account(TRAINER).address

    run_out_phases(protocol.manager(), task, Phase.COMMIT)
    salt = new_salt()
    trainer.commit_update(task, update_commitment(task, 0, me, published.weights_cid, 10, salt))
    run_out_phases(protocol.manager(), task, Phase.REVEAL)
    trainer.reveal_update(task, published.weights_cid, 10, salt)
    run_out_phases(protocol.manager(), task, Phase.VOTE_COMMIT)
    root, vote_salt = b"\x01" * 32, new_salt()
    proposal = proposal_hash(bad_receipt, root, ZERO_ROOT)
    validator.commit_vote(task, vote_commitment(task, 0, anvil_account(VALIDATOR).address, proposal, vote_salt))
    run_out_phases(protocol.manager(), task, Phase.VOTE_REVEAL)
    validator.reveal_vote(task, bad_receipt, root, ZERO_ROOT, vote_salt, 5000)
    run_out_phases(protocol.manager(), task, Phase.AWAITING_FINALIZATION)
    validator.finalize_round(task)
    chain = protocol.manager()
    assert winning_receipt_cid(chain.task_log(task), 0) == bad_receipt

    # Round 1: a newcomer stakes (so the commit phase waits for two trainers), then the trainer commits
    # by hand: its worker's state never held that salt.
    run_out_phases(protocol.manager(), task, Phase.COMMIT)
    env = protocol.env() | {"DFL_STATE_DIR": str(tmp_path / "state")}
    staked = _dfl(
        env, "stake", "--task", str(task), "--role", "trainer", "--amount", "10", "--dev-account", str(NEWCOMER)
    )
    assert staked.returncode == 0, staked.stderr
    trainer.commit_update(task, update_commitment(task, 1, me, published.weights_cid, 10, new_salt()))
    assert protocol.manager().current_round(task)[:2] == (1, Phase.COMMIT)

    started = time.monotonic()
    newcomer = _dfl(env, "trainer", "--task", str(task), "--data", "digits", "--dev-account", str(NEWCOMER))
    assert newcomer.returncode == 1, newcomer.stderr
    assert "Traceback" not in newcomer.stderr
    last = newcomer.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and bad_receipt in last and "unusable" in last
    assert newcomer.stderr.count(bad_receipt) == 1  # said once, not retried every second
    assert time.monotonic() - started < 60

    shown = _dfl(env, "round", "show", str(task), "0")
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert len(shown.stderr.strip().splitlines()) == 1 and bad_receipt in shown.stderr

    lost = _dfl(
        env, "trainer", "--task", str(task), "--data", "digits", "--dev-account", str(TRAINER), "--max-seconds", "5"
    )
    warnings = [line for line in lost.stderr.splitlines() if "WARNING: round 1 of task" in line]
    assert len(warnings) == 1, lost.stderr
    assert "cannot be revealed" in warnings[0] and "10.00% of the stake will be slashed" in warnings[0]
    assert str(tmp_path / "state") in warnings[0]
    assert lost.returncode == 1 and lost.stderr.strip().splitlines()[-1].startswith("error: trainer 0x")
    assert "commitUpdate" not in lost.stderr  # no second commitment attempted in that round


@pytest.mark.slow
def test_a_trainer_slashed_below_the_minimum_stops_with_one_line_saying_what_to_do(
    protocol: DevnetDeployment, tmp_path: Path
) -> None:
    """A worker that can no longer act (deactivated: a slash took its stake below the minimum) ends
    with exit code 1 and one line naming its stake, the minimum and how to top up or leave, instead
    of retrying every second."""
    published = publish_digits(protocol.ipfs_api, eval_samples=20)
    settings = TaskSettings(
        num_rounds=3, registration=4, commit=60, reveal=4, attest=4, vote_commit=4, vote_reveal=4, exit_cooldown=1
    )
    task = create_task(protocol.manager(0), published, settings)
    slashed = protocol.manager(NEWCOMER)
    slashed.stake(task, Role.TRAINER, settings.min_trainer_stake)
    run_out_phases(protocol.manager(), task, Phase.COMMIT)
    me = anvil_account(NEWCOMER).address
    slashed.commit_update(task, update_commitment(task, 0, me, published.weights_cid, 10, new_salt()))
    run_out_phases(protocol.manager(), task, Phase.AWAITING_FINALIZATION)  # never revealed
    protocol.manager(0).finalize_round(task)
    protocol.manager(0).slash(task, 0, me)  # 10% of 10 DFL: 9 DFL left, below the minimum of 10
    assert not protocol.manager().participant(task, me).active

    env = protocol.env() | {"DFL_STATE_DIR": str(tmp_path / "state")}
    started = time.monotonic()
    stopped = _dfl(env, "trainer", "--task", str(task), "--data", "digits", "--dev-account", str(NEWCOMER))
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("error: trainer 0x") and "no longer active" in last
    assert "9 DFL" in last and "minimum of 10 DFL" in last and "dfl stake" in last and "dfl exit" in last
    assert time.monotonic() - started < 60
