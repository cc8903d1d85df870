"""Sealed and SecAgg tasks end to end on real anvil, the real IPFS node and real TensorFlow: four
trainers and two validators as separate processes, one trainer killed right after its first commit
and never restarted. Nothing a trainer pins can be read as weights by the public; the rounds are
accepted, pay the trainers that took part and slash the one that vanished."""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import PrivacyMode, Role, RoundStatus, SlashReason
from offchain.fl.codec import decode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.privacy.sealed import is_sealed, parse_header
from offchain.privacy.secagg import MASKED_MAGIC
from offchain.services.context import round_receipt
from offchain.services.local_model import LocalModel
from offchain.services.privacy_setup import PrivacyChoice, default_rule, privacy_params
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.ipfs import IpfsStore
from offchain.types import TensorSpec
from offchain.workers.keyring import Keyring
from support import DevnetDeployment, publish_digits, wait_until

TRAINERS = (1, 2, 3, 4)  # anvil account indexes; the first is killed after its round-0 commit
VALIDATORS = (5, 6)
ROUNDS = 2


def _committed(state_file: Path, round_id: int) -> bool:
    try:
        return bool(json.loads(state_file.read_text())["rounds"][str(round_id)].get("committed"))
    except (OSError, ValueError, KeyError):
        return False


def _worker_args(task: int, role: str, index: int, account: int, count: int) -> list[str]:
    data = ["--data", "digits"] if role == "trainer" else ["--eval-data", "digits"]
    extra = ["--epochs", "3", "--learning-rate", "0.1", "--partition", "iid"] if role == "trainer" else []
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


def _run_task(protocol: DevnetDeployment, tmp_path: Path, task: int, *, late_validator: bool = False) -> None:
    """Start every worker, kill the first trainer once it committed in round 0, wait for the rest.
    With `late_validator`, the second validator starts (and registers its key) only then: the
    trainers sealed round 0 to the first validator alone."""
    logs: dict[str, IO[bytes]] = {}
    procs = {}

    def start(name: str, args: list[str]) -> None:
        logs[name] = open(tmp_path / f"{name}.log", "ab")
        procs[name] = protocol.dfl(args, logs[name])

    for i, a in enumerate(TRAINERS):
        start(f"t{a}", _worker_args(task, "trainer", i, a, len(TRAINERS)))
    start(f"v{VALIDATORS[0]}", _worker_args(task, "validator", 0, VALIDATORS[0], len(VALIDATORS)))
    if not late_validator:
        start(f"v{VALIDATORS[1]}", _worker_args(task, "validator", 1, VALIDATORS[1], len(VALIDATORS)))
    try:
        victim = anvil_account(TRAINERS[0]).address.lower()
        state_file = protocol.state_dir / "workers" / "31337" / f"task-{task}" / f"trainer-{victim}.json"
        wait_until(lambda: _committed(state_file, 0), timeout=180, what="trainer 1 to commit in round 0")
        procs[f"t{TRAINERS[0]}"].send_signal(signal.SIGKILL)
        assert procs.pop(f"t{TRAINERS[0]}").wait(10) == -signal.SIGKILL
        if late_validator:
            start(f"v{VALIDATORS[1]}", _worker_args(task, "validator", 1, VALIDATORS[1], len(VALIDATORS)))
        for name, proc in procs.items():
            assert proc.wait(timeout=600) == 0, f"{name} failed:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs.values():
            log.close()


def _create(protocol: DevnetDeployment, ipfs_api: str, choice: PrivacyChoice, *, clip: float) -> tuple[int, Any]:
    published = publish_digits(ipfs_api)
    settings = TaskSettings(
        rule=default_rule(choice.mode, None),
        rule_params=(0,) if choice.mode == "secagg" else (),
        num_rounds=ROUNDS,
        registration=30,
        commit=150,
        reveal=45,  # the killed trainer never reveals: round 0's reveal phase runs to its end
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


def _stake(protocol: DevnetDeployment, task: int, validators: tuple[int, ...]) -> None:
    """Stake everyone, and register the keys of trainers (SecAgg) and of `validators` (Sealed)."""
    protocol.stake(task, TRAINERS, VALIDATORS)
    for index in TRAINERS:
        Keyring(protocol.manager(index), task, Role.TRAINER).ensure_registered()
    for index in validators:
        Keyring(protocol.manager(index), task, Role.VALIDATOR).ensure_registered()


def _assert_unreadable(store: IpfsStore, chain_reveals: list[Any], specs: Sequence[TensorSpec]) -> None:
    """No update a trainer pinned decodes as model weights."""
    for event in chain_reveals:
        data = store.get(event.args["updateCid"], max_bytes=1 << 24)
        with pytest.raises(InvalidUpdateError):
            decode_weights(data, specs, max_bytes=1 << 24)


def _assert_victim_slashed(chain: TaskManager, task: int, victim: str) -> None:
    slashes = chain.events("Slashed", taskId=task, account=anvil_account(TRAINERS[0]).address)
    assert [e.args["reason"] for e in slashes][:1] == [SlashReason.TRAINER_NON_REVEAL], victim


@pytest.mark.slow
def test_a_sealed_task_hides_updates_from_the_public_and_a_late_validator_opens_them_with_key_bundles(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    task, published = _create(protocol, ipfs_api, PrivacyChoice("sealed"), clip=10.0)
    chain = protocol.manager()
    assert chain.task_params(task).privacy.mode == PrivacyMode.SEALED
    _stake(protocol, task, VALIDATORS[:1])  # the second validator registers its key once round 0 runs
    _run_task(protocol, tmp_path, task, late_validator=True)

    outcomes = [chain.round_outcome(task, r) for r in range(ROUNDS)]
    assert [o.status for o in outcomes] == [RoundStatus.ACCEPTED] * ROUNDS
    # Both validators voted for the same receipt in round 0, although the trainers sealed it to one.
    votes = chain.events("VoteRevealed", taskId=task, round=0)
    assert len({v.args["proposalHash"] for v in votes}) == 1 and len(votes) == len(VALIDATORS)
    bundles = chain.events("KeyBundlePublished", contract="FLPrivacy", taskId=task, round=0)
    assert anvil_account(VALIDATORS[0]).address in {b.args["validator"] for b in bundles}
    with IpfsStore(ipfs_api) as store:
        model = LocalModel(store.get(published.spec_cid).decode(), max_update_bytes=1 << 24)
        for r in range(ROUNDS):
            reveals = chain.events("UpdateRevealed", taskId=task, round=r)
            assert len(reveals) == len(TRAINERS) - 1  # the killed trainer never revealed
            for event in reveals:
                data = store.get(event.args["updateCid"], max_bytes=1 << 24)
                assert is_sealed(data)
                # Round 0 was sealed to the first validator alone: the second one's key came later.
                expected = VALIDATORS[:1] if r == 0 else VALIDATORS
                assert parse_header(data).recipients == tuple(anvil_account(v).address.lower() for v in expected)
            _assert_unreadable(store, reveals, model.specs)
            receipt = round_receipt(chain, store, task, r, 1 << 24)
            assert receipt is not None and receipt.privacy is not None and receipt.privacy.mode == "sealed"
            assert sum(u.accepted for u in receipt.updates) == len(TRAINERS) - 1
            assert all(u.score_ppm > 0 and u.reward > 0 for u in receipt.updates)  # scores work: validators read
    _assert_victim_slashed(chain, task, anvil_account(TRAINERS[0]).address)


@pytest.mark.slow
def test_a_secagg_task_with_dp_sums_masked_updates_removes_a_dropouts_masks_and_reports_epsilon(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    choice = PrivacyChoice("secagg", epsilon=50.0, min_contributors=3)
    task, published = _create(protocol, ipfs_api, choice, clip=3.0)
    chain = protocol.manager()
    params = chain.task_params(task)
    assert params.privacy.mode == PrivacyMode.SECAGG and params.privacy.min_contributors == 3
    _stake(protocol, task, ())
    _run_task(protocol, tmp_path, task)

    outcomes = [chain.round_outcome(task, r) for r in range(ROUNDS)]
    assert [o.status for o in outcomes] == [RoundStatus.ACCEPTED] * ROUNDS
    victim = anvil_account(TRAINERS[0]).address.lower()
    survivors = sorted(anvil_account(a).address.lower() for a in TRAINERS[1:])
    spent = []
    with IpfsStore(ipfs_api) as store:
        model = LocalModel(store.get(published.spec_cid).decode(), max_update_bytes=1 << 24)
        for r in range(ROUNDS):
            reveals = chain.events("UpdateRevealed", taskId=task, round=r)
            for event in reveals:
                assert store.get(event.args["updateCid"], max_bytes=1 << 24).startswith(MASKED_MAGIC)
            _assert_unreadable(store, reveals, model.specs)
            seeds = chain.events("MaskSeedsPublished", contract="FLPrivacy", taskId=task, round=r)
            assert sorted(e.args["trainer"].lower() for e in seeds) == survivors  # one 32-byte seed each
            assert all(len(e.args["seeds"]) == 32 for e in seeds)
            receipt = round_receipt(chain, store, task, r, 1 << 24)
            assert receipt is not None and receipt.secure_sum is not None and receipt.privacy is not None
            assert receipt.secure_sum.status == "ok", receipt.secure_sum
            assert list(receipt.secure_sum.contributors) == survivors
            assert list(receipt.secure_sum.dropouts) == [victim]
            assert receipt.model != receipt.parent
            assert sorted(t for t, _ in receipt.rewards) == survivors
            spent.append(receipt.privacy.epsilon_spent_micro)
    assert 0 < spent[0] < spent[1] <= params.privacy.epsilon_budget_micro
    assert chain.epsilon_spent_micro(task) == spent[-1]
    _assert_victim_slashed(chain, task, victim)
