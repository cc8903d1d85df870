"""The whole protocol on real anvil, the real IPFS node and real TensorFlow: three trainers and
two validators as separate processes run two rounds, one trainer is SIGKILLed right after its
commit and restarted, and every reward is claimed."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import RoundStatus
from offchain.ml.datasets import load_dataset
from offchain.services.context import load_global_model, round_receipt
from offchain.services.local_model import LocalModel
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.ipfs import IpfsStore
from support import (
    DevnetDeployment,
    committed,
    publish_digits,
    registration,
    skipping_waits,
    stop_processes,
    wait_until,
)

TRAINERS = (1, 2, 3)  # anvil account indexes
VALIDATORS = (5, 6)
ROUNDS = 2


@pytest.mark.slow
def test_two_rounds_finalize_accuracy_rises_rewards_are_claimed_and_a_killed_trainer_still_reveals(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    data = load_dataset("digits", seed=0)
    requester = protocol.manager(0)
    published = publish_digits(ipfs_api)
    task = create_task(
        requester,
        published,
        TaskSettings(
            num_rounds=ROUNDS,
            registration=25,
            commit=180,
            reveal=120,
            vote_commit=180,
            vote_reveal=120,
            exit_cooldown=5,
        ),
    )
    protocol.stake(task, TRAINERS, VALIDATORS)
    holders = [anvil_account(i).address for i in range(10)] + [requester.manager.address]
    # Tokens other tests moved to accounts of their own stay there: count what this task's parties hold.
    held = sum(requester.balance_of(h) for h in holders)

    def trainer(i: int, account: int) -> list[str]:
        return [
            "trainer",
            "--task",
            str(task),
            "--data",
            "digits",
            "--client-index",
            str(i),
            "--num-clients",
            str(len(TRAINERS)),
            "--partition",
            "iid",
            "--epochs",
            "3",
            "--learning-rate",
            "0.1",
            "--dev-account",
            str(account),
            "--poll",
            "0.5",
        ]

    def validator(i: int, account: int) -> list[str]:
        return [
            "validator",
            "--task",
            str(task),
            "--eval-data",
            "digits",
            "--client-index",
            str(i),
            "--num-clients",
            str(len(VALIDATORS)),
            "--dev-account",
            str(account),
            "--poll",
            "0.5",
        ]

    logs = {
        name: open(tmp_path / f"{name}.log", "ab")
        for name in [f"t{a}" for a in TRAINERS] + [f"v{a}" for a in VALIDATORS]
    }
    procs = {f"t{a}": protocol.dfl(trainer(i, a), logs[f"t{a}"]) for i, a in enumerate(TRAINERS)}
    procs |= {f"v{a}": protocol.dfl(validator(i, a), logs[f"v{a}"]) for i, a in enumerate(VALIDATORS)}
    try:
        with skipping_waits(protocol, task, registration):
            # Kill trainer 1 the moment its round-0 commit is on record: the worst time to crash.
            victim = anvil_account(TRAINERS[0]).address.lower()
            state_file = protocol.state_dir / "workers" / "31337" / f"task-{task}" / f"trainer-{victim}.json"
            wait_until(lambda: committed(state_file, 0), timeout=120, what="trainer 1 to commit in round 0")
            procs[f"t{TRAINERS[0]}"].send_signal(signal.SIGKILL)
            assert procs[f"t{TRAINERS[0]}"].wait(10) == -signal.SIGKILL
            procs[f"t{TRAINERS[0]}"] = protocol.dfl(trainer(0, TRAINERS[0]), logs[f"t{TRAINERS[0]}"])
            for name, proc in procs.items():
                assert proc.wait(timeout=420) == 0, f"{name} failed:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
    finally:
        stop_processes(procs.values(), logs.values())

    chain = protocol.manager()
    outcomes = [chain.round_outcome(task, r) for r in range(ROUNDS)]
    assert [o.status for o in outcomes] == [RoundStatus.ACCEPTED] * ROUNDS

    # The killed trainer revealed the update it had committed before the kill.
    reveals = chain.events("UpdateRevealed", taskId=task, round=0)
    assert victim in {e.args["trainer"].lower() for e in reveals}
    assert len(chain.events("UpdateCommitted", taskId=task, round=0, trainer=anvil_account(TRAINERS[0]).address)) == 1

    # Accuracy of each round's model on the task's public evaluation set rises above the initial model's.
    with IpfsStore(ipfs_api) as store:
        model = LocalModel(store.get(published.spec_cid).decode(), max_update_bytes=1 << 24)
        initial = model.evaluate(model.decode(store.get(published.weights_cid)), data.x_test, data.y_test).accuracy
        accuracies = []
        receipts = [round_receipt(chain, store, task, r, 1 << 24) for r in range(ROUNDS)]
        for receipt in receipts:
            assert (
                receipt is not None
                and all(u.accepted for u in receipt.updates)
                and len(receipt.updates) == len(TRAINERS)
            )
            weights = load_global_model(store, receipt.model, 1 << 24).weights
            accuracies.append(model.evaluate(model.decode(weights), data.x_test, data.y_test).accuracy)
    print(f"accuracy: initial {initial:.4f}, per round {[round(a, 4) for a in accuracies]}")
    assert accuracies[-1] > initial + 0.1

    # Every trainer reward allocated was claimed, exactly; validator claims stay within their pool.
    for r, (receipt, outcome) in enumerate(zip(receipts, outcomes)):
        assert receipt is not None
        claimed = {
            e.args["trainer"].lower(): e.args["amount"]
            for e in chain.events("TrainerRewardClaimed", taskId=task, round=r)
        }
        assert claimed == dict(receipt.rewards)
        assert outcome.trainer_claimed == sum(claimed.values()) <= outcome.trainer_pool
        paid = sum(e.args["amount"] for e in chain.events("ValidatorRewardClaimed", taskId=task, round=r))
        assert (
            outcome.validator_claimed == paid
            and outcome.validator_pool - len(VALIDATORS) <= paid <= outcome.validator_pool
        )

    # G_1 is the round-0 aggregate each validator already evaluated: it reuses that accuracy
    # (remembered by CID in its state) instead of evaluating the same model again.
    for account in VALIDATORS:
        path = (
            protocol.state_dir
            / "workers"
            / "31337"
            / f"task-{task}"
            / f"validator-{anvil_account(account).address.lower()}.json"
        )
        rounds = json.loads(path.read_text())["rounds"]
        evaluations = [sum(1 for s in rounds[str(r)]["spans"] if s[0] == "evaluation") for r in range(ROUNDS)]
        assert evaluations == [2] + [1] * (ROUNDS - 1), (
            evaluations
        )  # G_r on own data, then the aggregate (own + public)
        assert rounds["1"]["global_accuracy"] == rounds["0"]["aggregate_accuracy"]

    # Tokens are conserved: the parties' balances plus what the manager holds did not change.
    assert sum(chain.balance_of(h) for h in holders) == held
