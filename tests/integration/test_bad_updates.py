"""Bad input never stops a round: NaN, wrong-shape, oversized and unavailable updates are excluded
with their reasons in the round receipt, the honest ones are aggregated, and only they are paid."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Phase, Role, RoundStatus, new_salt, update_commitment
from offchain.fl.codec import encode_weights
from offchain.services.context import round_receipt
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.cid import compute_cid
from offchain.storage.ipfs import IpfsStore
from support import (
    DevnetDeployment,
    publish_digits,
    registration,
    signer,
    skipping_waits,
    stop_processes,
    wait_until,
)

HONEST = (1, 2)
VALIDATORS = (5, 6)
BAD = {7: "non_finite", 8: "wrong_shape", 9: "unavailable", 4: "too_large"}
MAX_UPDATE_BYTES = 32 * 1024


def _wait_phase(chain: TaskManager, task: int, phase: Phase, timeout: float = 180) -> None:
    wait_until(
        lambda: chain.current_round(task)[1] == phase, timeout=timeout, what=f"task {task} to reach {phase.name}"
    )


def _bad_update(kind: str, store: IpfsStore, initial: bytes, spec_weights: dict[str, np.ndarray]) -> str:
    if kind == "non_finite":
        weights = {k: v.copy() for k, v in spec_weights.items()}
        first = sorted(weights)[0]
        weights[first].flat[0] = np.nan
        return store.put(encode_weights(weights))
    if kind == "wrong_shape":
        weights = {k: (np.zeros(v.shape[0] + 1, np.float32) if v.ndim == 1 else v) for k, v in spec_weights.items()}
        return store.put(encode_weights(weights))
    if kind == "unavailable":  # a valid CID of bytes nobody ever added
        return compute_cid(random.randbytes(1000))
    assert kind == "too_large"
    return store.put(initial + b"\0" * MAX_UPDATE_BYTES)


@pytest.mark.slow
def test_bad_updates_are_excluded_with_reasons_and_the_round_still_finalizes(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    from offchain.services.context import TaskContext

    requester = protocol.manager(0)
    published = publish_digits(ipfs_api, seed=1)
    with IpfsStore(ipfs_api) as store:
        task = create_task(
            requester,
            published,
            TaskSettings(
                num_rounds=1,
                registration=30,
                commit=180,
                reveal=120,
                vote_commit=180,
                vote_reveal=120,
                max_update_bytes=MAX_UPDATE_BYTES,
            ),
        )
        protocol.stake(task, HONEST, VALIDATORS)
        bad_chains = {a: protocol.manager(a) for a in BAD}
        for chain in bad_chains.values():
            chain.stake(task, Role.TRAINER, chain.task_params(task).min_trainer_stake)
        ctx = TaskContext(requester, store, task)
        initial = store.get(published.weights_cid)
        bad_cids = {a: _bad_update(kind, store, initial, ctx.model.decode(initial)) for a, kind in BAD.items()}

    logs = [open(tmp_path / f"w{i}.log", "ab") for i in range(len(HONEST) + len(VALIDATORS))]
    procs = [
        protocol.dfl(
            [
                "trainer",
                "--task",
                str(task),
                "--data",
                "digits",
                "--client-index",
                str(i),
                "--num-clients",
                "2",
                "--epochs",
                "2",
                "--learning-rate",
                "0.1",
                "--dev-account",
                str(a),
                "--poll",
                "0.5",
            ],
            logs[i],
        )
        for i, a in enumerate(HONEST)
    ]
    procs += [
        protocol.dfl(
            ["validator", "--task", str(task), "--eval-data", "digits", "--dev-account", str(a), "--poll", "0.5"],
            logs[len(HONEST) + i],
        )
        for i, a in enumerate(VALIDATORS)
    ]

    def validators_done() -> bool:
        return all(p.poll() is not None for p in procs[len(HONEST) :])

    try:
        with skipping_waits(protocol, task, registration, settled=validators_done):
            _wait_phase(requester, task, Phase.COMMIT)
            salts = {a: new_salt() for a in BAD}
            for a, chain in bad_chains.items():
                chain.commit_update(task, update_commitment(task, 0, signer(chain), bad_cids[a], 100, salts[a]))
            _wait_phase(requester, task, Phase.REVEAL)
            for a, chain in bad_chains.items():
                chain.reveal_update(task, bad_cids[a], 100, salts[a])
            for i, proc in enumerate(procs):
                assert proc.wait(timeout=300) == 0, (tmp_path / f"w{i}.log").read_text()[-3000:]
    finally:
        stop_processes(procs, logs)

    assert requester.round_outcome(task, 0).status == RoundStatus.ACCEPTED
    # A trainer waiting out the penalty window says so once, not on every poll.
    assert (tmp_path / "w0.log").read_text().count("(penalty window); waiting") == 1
    with IpfsStore(ipfs_api) as store:
        receipt = round_receipt(requester, store, task, 0, MAX_UPDATE_BYTES)
    assert receipt is not None
    verdicts = {u.trainer: u for u in receipt.updates}
    for a, kind in BAD.items():
        entry = verdicts[anvil_account(a).address.lower()]
        assert (entry.accepted, entry.reason, entry.reward, entry.penalized) == (False, kind, 0, True), entry
    for a in HONEST:
        entry = verdicts[anvil_account(a).address.lower()]
        assert entry.accepted and entry.reward > 0
    assert {account for account, _ in receipt.rewards} == {anvil_account(a).address.lower() for a in HONEST}
    # Each of them is penalized on-chain (the validators apply the receipt's penalties).
    penalized = {e.args["account"] for e in requester.events("Slashed", taskId=task, round=0)}
    assert penalized == {anvil_account(a).address for a in BAD}
