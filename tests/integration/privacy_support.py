"""What the sealed and SecAgg end-to-end tests share: four trainers and two validators as separate
processes on the suite's anvil and IPFS node, one trainer killed right after its first commit and
never restarted."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase, Role, SlashReason, TaskState
from offchain.fl.codec import decode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.services.privacy_setup import PrivacyChoice, default_rule, privacy_params
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.ipfs import IpfsStore
from offchain.types import TensorSpec
from offchain.workers.keyring import Keyring
from support import (
    DevnetDeployment,
    committed,
    publish_digits,
    registration,
    skipping_waits,
    stop_processes,
    wait_until,
)

TRAINERS = (1, 2, 3, 4)  # anvil account indexes; the first is killed after its round-0 commit
VALIDATORS = (5, 6)
ROUNDS = 2


def worker_args(task: int, role: str, index: int, account: int, count: int) -> list[str]:
    data = ["--data", "digits"] if role == "trainer" else ["--eval-data", "digits"]
    # Validators vote for the receipt whatever its accuracy on their ~180 samples: DP noise on so small a
    # task can cost one of them a round's accuracy (a split vote fails the round), and these tests are
    # about privacy, not the vote rule (test_protocol_rounds and the unit tests cover that).
    extra = (
        ["--epochs", "3", "--learning-rate", "0.1", "--partition", "iid"] if role == "trainer" else ["--tolerance", "1"]
    )
    return [
        role,
        "--task",
        str(task),
        *data,
        "--client-index",
        str(index),
        "--num-clients",
        str(count),
        *extra,
        "--dev-account",
        str(account),
        "--poll",
        "0.5",
    ]


def dropout_unrevealed(state: TaskState) -> bool:
    """Skip rule: round 0's reveal phase has nothing left to wait for but the killed trainer."""
    return state.phase == Phase.REVEAL and state.round == 0 and state.reveals >= state.commits - 1


def run_task(
    protocol: DevnetDeployment,
    tmp_path: Path,
    task: int,
    *,
    late_validator: bool = False,
    restart_in_round_1: bool = False,
) -> None:
    """Start every worker, kill the first trainer once it committed in round 0, wait for the rest.
    With `late_validator`, the second validator starts (and registers its key) only then: the
    trainers sealed round 0 to the first validator alone. With `restart_in_round_1`, the second
    trainer is killed too, right after its round-1 commit, and started again at once."""
    logs: dict[str, IO[bytes]] = {}
    procs = {}
    keys, late = protocol.manager(), anvil_account(VALIDATORS[1]).address  # a client for the warp thread

    def reveals_over(state: TaskState) -> bool:
        # A late validator joins during round 0's reveal phase, as when that phase ran to its end.
        return dropout_unrevealed(state) and (not late_validator or keys.encryption_key(task, late)[1] > 0)

    def start(name: str, args: list[str]) -> None:
        logs[name] = open(tmp_path / f"{name}.log", "ab")
        procs[name] = protocol.dfl(args, logs[name])

    for i, a in enumerate(TRAINERS):
        start(f"t{a}", worker_args(task, "trainer", i, a, len(TRAINERS)))
    start(f"v{VALIDATORS[0]}", worker_args(task, "validator", 0, VALIDATORS[0], len(VALIDATORS)))
    if not late_validator:
        start(f"v{VALIDATORS[1]}", worker_args(task, "validator", 1, VALIDATORS[1], len(VALIDATORS)))
    try:
        with skipping_waits(protocol, task, registration, reveals_over):
            victim = anvil_account(TRAINERS[0]).address.lower()
            state_file = protocol.state_dir / "workers" / "31337" / f"task-{task}" / f"trainer-{victim}.json"
            wait_until(lambda: committed(state_file, 0), timeout=180, what="trainer 1 to commit in round 0")
            procs[f"t{TRAINERS[0]}"].send_signal(signal.SIGKILL)
            assert procs.pop(f"t{TRAINERS[0]}").wait(10) == -signal.SIGKILL
            if late_validator:
                start(f"v{VALIDATORS[1]}", worker_args(task, "validator", 1, VALIDATORS[1], len(VALIDATORS)))
            if restart_in_round_1:
                second = anvil_account(TRAINERS[1]).address.lower()
                state = protocol.state_dir / "workers" / "31337" / f"task-{task}" / f"trainer-{second}.json"
                wait_until(lambda: committed(state, 1), timeout=300, what="trainer 2 to commit in round 1")
                procs[f"t{TRAINERS[1]}"].send_signal(signal.SIGKILL)
                assert procs[f"t{TRAINERS[1]}"].wait(10) == -signal.SIGKILL
                start(f"t{TRAINERS[1]}", worker_args(task, "trainer", 1, TRAINERS[1], len(TRAINERS)))
            for name, proc in procs.items():
                assert proc.wait(timeout=600) == 0, f"{name} failed:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
    finally:
        stop_processes(procs.values(), logs.values())


def create(protocol: DevnetDeployment, ipfs_api: str, choice: PrivacyChoice, *, clip: float) -> tuple[int, Any]:
    published = publish_digits(ipfs_api)
    settings = TaskSettings(
        rule=default_rule(choice.mode, None),
        rule_params=(0,) if choice.mode == "secagg" else (),
        num_rounds=ROUNDS,
        registration=30,
        commit=150,
        reveal=45,  # the killed trainer never reveals: round 0's reveal phase runs to its end (skipped)
        attest=60,
        vote_commit=150,
        vote_reveal=90,
        exit_cooldown=5,
        max_delta_norm_micro=round(clip * 1e6),
    )
    privacy = privacy_params(
        choice,
        rounds=ROUNDS,
        clip_micro=settings.max_delta_norm_micro,
        max_trainers=settings.max_trainers,
        num_parameters=published.num_parameters,
    )
    task = create_task(protocol.manager(0), published, replace(settings, privacy=privacy))
    return task, published


def stake(protocol: DevnetDeployment, task: int, validators: tuple[int, ...]) -> None:
    """Stake everyone, and register the keys of trainers (SecAgg) and of `validators` (Sealed)."""
    protocol.stake(task, TRAINERS, VALIDATORS)
    for index in TRAINERS:
        Keyring(protocol.manager(index), task, Role.TRAINER).ensure_registered()
    for index in validators:
        Keyring(protocol.manager(index), task, Role.VALIDATOR).ensure_registered()


def assert_unreadable(store: IpfsStore, chain_reveals: list[Any], specs: Sequence[TensorSpec]) -> None:
    """No update a trainer pinned decodes as model weights."""
    for event in chain_reveals:
        data = store.get(event.args["updateCid"], max_bytes=1 << 24)
        with pytest.raises(InvalidUpdateError):
            decode_weights(data, specs, max_bytes=1 << 24)


def assert_victim_slashed(chain: TaskManager, task: int, victim: str) -> None:
    slashes = chain.events("Slashed", taskId=task, account=anvil_account(TRAINERS[0]).address)
    assert [e.args["reason"] for e in slashes][:1] == [SlashReason.TRAINER_NON_REVEAL], victim
