"""A real task driven straight through the contracts, without TensorFlow: tiny fake updates on
IPFS, real round receipts with Merkle reward roots, real claims. Used by the explorer's tests and
its benchmark (bench/explorer_bench.py) to make load cheaply."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from web3.types import RPCEndpoint

from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import (
    ZERO_ROOT,
    Phase,
    PrivacyMode,
    PrivacyParams,
    Role,
    TaskParams,
    proposal_hash,
    update_commitment,
    vote_commitment,
)
from offchain.config import PROJECT_ROOT
from offchain.fl.availability import bitmap
from offchain.fl.merkle import build_tree
from offchain.fl.receipt import RoundReceipt, UpdateEntry
from offchain.fl.rewards import allocate
from offchain.storage.ipfs import IpfsStore
from offchain.units import TOKEN
from offchain.workers.keyring import Keyring
from support import signer, wait_until

BUILD_DIR = PROJECT_ROOT / "build"


@dataclass
class ScriptedTask:
    task_id: int
    requester: str
    trainers: list[str]
    validators: list[str]
    receipts: dict[int, str] = field(default_factory=dict)  # round -> receipt CID
    claims: dict[tuple[int, str], str] = field(default_factory=dict)  # (round, trainer) -> claim tx hash


class Driver:
    """Accounts `first..first+T-1` train and the next V validate; account 0 requests."""

    def __init__(
        self,
        rpc_url: str,
        deployments: Path,
        store: IpfsStore,
        *,
        trainers: int,
        validators: int,
        first: int = 1,
        parallel: int = 8,
    ) -> None:
        deployment = load_deployment(deployments, 31337, BUILD_DIR)
        self.store = store
        self.requester = TaskManager(rpc_url, deployment, anvil_account(0))
        self.trainers = [TaskManager(rpc_url, deployment, anvil_account(first + i)) for i in range(trainers)]
        self.validators = [
            TaskManager(rpc_url, deployment, anvil_account(first + trainers + i)) for i in range(validators)
        ]
        self._pool = ThreadPoolExecutor(max_workers=parallel)

    def close(self) -> None:
        self._pool.shutdown()

    def _each(self, fn: Callable[[TaskManager], object], managers: Iterable[TaskManager]) -> list[object]:
        return list(self._pool.map(fn, managers))

    def create(self, *, rounds: int, pool_tokens: int = 1_000, reveal_seconds: int = 600) -> int:
        blob = lambda label: self.store.put(f"{label} {os.urandom(8).hex()}".encode())  # noqa: E731
        params = TaskParams(
            model_spec_cid=blob("spec"),
            initial_model_cid=blob("initial weights"),
            eval_dataset_cid=blob("eval set"),
            eval_dataset_hash=os.urandom(32),
            rule_id=0,
            rule_params=(0,),
            num_rounds=rounds,
            registration_duration=0,
            commit_duration=600,
            reveal_duration=reveal_seconds,
            attest_duration=600,
            vote_commit_duration=600,
            vote_reveal_duration=600,
            exit_cooldown=0,
            claim_window=3600,
            min_trainer_stake=10 * TOKEN,
            min_validator_stake=100 * TOKEN,
            stake_per_sample=0,
            max_trainers_per_round=100,
            max_update_bytes=1 << 20,
            quorum_bps=6_000,
            trainer_non_reveal_slash_bps=1_000,
            trainer_penalty_bps=2_000,
            validator_non_reveal_slash_bps=1_000,
            validator_losing_slash_bps=500,
            trainer_share_bps=7_000,
            reward_pool=pool_tokens * TOKEN,
            # Sealed with a DP budget (local noise), so the explorer shows privacy terms, keys and ε.
            max_delta_norm_micro=10_000_000,
            privacy=PrivacyParams(PrivacyMode.SEALED, 50_000_000, 10**13, 500_000),
        )
        # registration 0: round 0's commit phase starts at creation and waits for the stakers' commits
        task_id = self.requester.create_task(params)
        self._each(lambda m: m.stake(task_id, Role.TRAINER, 20 * TOKEN), self.trainers)
        self._each(lambda m: m.stake(task_id, Role.VALIDATOR, 200 * TOKEN), self.validators)
        self._each(lambda m: Keyring(m, task_id, Role.VALIDATOR).ensure_registered(), self.validators)
        return task_id

    def play_round(self, task: ScriptedTask, round_id: int, parent: str, *, skip_reveal: int = 0) -> str:
        """One accepted round: every trainer commits (the last `skip_reveal` do not reveal), every
        validator votes for the same receipt; returns the receipt CID (the next parent)."""
        t = task.task_id
        updates = {}
        for i, m in enumerate(self.trainers):
            cid = self.store.put(f"update {t}/{round_id}/{signer(m)} {os.urandom(4).hex()}".encode())
            updates[signer(m)] = (cid, 100 + 10 * i, os.urandom(32))
        self._each(
            lambda m: m.commit_update(t, update_commitment(t, round_id, signer(m), *updates[signer(m)])), self.trainers
        )
        revealing = self.trainers[: len(self.trainers) - skip_reveal]
        self._each(lambda m: m.reveal_update(t, *updates[signer(m)]), revealing)
        if skip_reveal:  # someone did not reveal: the phase ends at its deadline
            wait_until(
                lambda: self.requester.current_round(t)[1] != Phase.REVEAL,
                timeout=self.requester.task_params(t).reveal_duration + 60,
                what=f"the reveal phase of round {round_id} to end",
                every=0.5,
            )
        held = bitmap(range(len(revealing)), len(revealing))
        self._each(lambda m: m.attest_availability(t, held), self.validators)
        trainer_pool = self.requester.round_outcome(t, round_id).trainer_pool
        weights = {signer(m).lower(): updates[signer(m)][1] for m in revealing}
        leaves = allocate(trainer_pool, weights)
        tree = build_tree(leaves)
        rewards = dict(leaves)
        model = self.store.put(f"model {t}/{round_id} {os.urandom(4).hex()}".encode())
        receipt = RoundReceipt(
            task=t,
            round=round_id,
            parent=parent,
            model=model,
            rule="fedavg",
            rule_id=0,
            rule_params=(0,),
            trainer_pool=trainer_pool,
            void=False,
            updates=tuple(
                UpdateEntry(
                    i,
                    a,
                    updates[signer(m)][0],
                    updates[signer(m)][1],
                    10_000,
                    True,
                    None,
                    False,
                    "",
                    1_000_000,
                    1_000_000,
                    i,
                    w,
                    rewards.get(a, 0),
                )
                for i, m in enumerate(revealing)
                for a, w in [(signer(m).lower(), weights[signer(m).lower()])]
            ),
            rewards=tuple(leaves),
            reward_root="0x" + tree.root.hex(),
            penalties=(),
            penalty_root="0x" + "00" * 32,
        )
        receipt_cid = self.store.put(receipt.to_bytes())
        proposal = proposal_hash(receipt_cid, tree.root, ZERO_ROOT)
        salts = {signer(m): os.urandom(32) for m in self.validators}
        self._each(
            lambda m: m.commit_vote(t, vote_commitment(t, round_id, signer(m), proposal, salts[signer(m)])),
            self.validators,
        )
        self._each(
            lambda m: m.reveal_vote(
                t,
                receipt_cid,
                tree.root,
                ZERO_ROOT,
                salts[signer(m)],
                6_000 + 500 * round_id + 37 * self.validators.index(m),
            ),
            self.validators,
        )
        self.requester.finalize_round(t)
        task.receipts[round_id] = receipt_cid
        self._trees = getattr(self, "_trees", {})
        self._trees[(t, round_id)] = (tree, rewards)
        return receipt_cid

    def claim_all(self, task: ScriptedTask) -> None:
        t = task.task_id

        def claim_trainer(m: TaskManager) -> None:
            for (task_id, r), (tree, rewards) in sorted(self._trees.items()):
                amount = rewards.get(signer(m).lower(), 0)
                if task_id == t and amount:
                    receipt = m.claim_trainer_reward(t, r, amount, tree.proof_for(signer(m)))
                    task.claims[(r, signer(m))] = "0x" + bytes(receipt["transactionHash"]).hex()

        def claim_validator(m: TaskManager) -> None:
            for r in range(self.requester.task_params(t).num_rounds):
                if m.validator_reward(t, r, signer(m)):
                    m.claim_validator_reward(t, r)

        self._each(claim_trainer, self.trainers)
        self._each(claim_validator, self.validators)


def run_task(
    rpc_url: str,
    deployments: Path,
    store: IpfsStore,
    *,
    trainers: int = 2,
    validators: int = 2,
    rounds: int = 2,
    first: int = 1,
    skip_reveal_in_round: dict[int, int] | None = None,
    after_round: Callable[[int], None] | None = None,
    withdraw: bool = True,
    reveal_seconds: int = 600,
) -> ScriptedTask:
    driver = Driver(rpc_url, deployments, store, trainers=trainers, validators=validators, first=first)
    try:
        task_id = driver.create(rounds=rounds, reveal_seconds=reveal_seconds)
        task = ScriptedTask(
            task_id,
            signer(driver.requester),
            [signer(m) for m in driver.trainers],
            [signer(m) for m in driver.validators],
        )
        parent = driver.requester.task_params(task_id).initial_model_cid
        for r in range(rounds):
            parent = driver.play_round(task, r, parent, skip_reveal=(skip_reveal_in_round or {}).get(r, 0))
            if after_round:
                after_round(r)
        driver.claim_all(task)
        if withdraw:
            driver._each(lambda m: m.withdraw(task_id), driver.trainers + driver.validators)
            if driver.requester.task_state(task_id).unallocated_pool > 0:
                driver.requester.reclaim(task_id)
        return task
    finally:
        driver.close()


def fund(rpc_url: str, deployments: Path, indexes: Iterable[int], tokens: int = 10_000) -> None:
    """Give anvil accounts gas money (anvil_setBalance) and tokens from account 0."""
    deployer = TaskManager(rpc_url, load_deployment(deployments, 31337, BUILD_DIR), anvil_account(0))
    for i in indexes:
        address = anvil_account(i).address
        deployer.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(10**22)])
        deployer.transfer(address, tokens * TOKEN)


def dump(task: ScriptedTask) -> str:
    return json.dumps(
        {"task": task.task_id, "trainers": task.trainers, "validators": task.validators, "receipts": task.receipts}
    )
