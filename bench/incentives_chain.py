"""The incentive simulation on the real contracts: `ChainLedger` plays the simulation's calls as
transactions on a fresh anvil (deployed from the build artifacts, each agent its own key), and
`bench.incentives.anvil_check` runs the same scenario against the chain and against the chain-free `MirrorLedger`,
then compares every account's token balance and stake, the task's pool and unclaimed rewards and
every round's outcome, to the wei. It also measures the gas of each call.

Anvil mines a block per transaction; when a phase waits for someone who does not act (a
non-revealer, an abstaining validator), the ledger moves anvil's clock to the phase's deadline.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from bench.incentives_ledger import Due, Status
from offchain.chain.accounts import anvil_account
from offchain.chain.artifacts import load_deployment
from offchain.chain.deploy import deploy
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import REJECT_PROPOSAL, ParticipationStatus, Phase, Role
from offchain.config import PROJECT_ROOT
from offchain.devnet.tools import find_tool
from offchain.fl.availability import Attestation
from offchain.fl.round import Reveal
from offchain.services.requester import PublishedModel, TaskSettings, create_task
from offchain.workers.round_inputs import attestations_of, reveals_of

PHASES = {
    "registration": Phase.REGISTRATION,
    "commit": Phase.COMMIT,
    "reveal": Phase.REVEAL,
    "attest": Phase.ATTEST,
    "vote_commit": Phase.VOTE_COMMIT,
    "vote_reveal": Phase.VOTE_REVEAL,
}


@dataclass(frozen=True)
class AccountView:
    """A participant as the simulation reads it (the names of `MirrorLedger`'s Account)."""

    stake: int
    weight: int
    active: bool
    round: int
    unsettled: bool


class Anvil:
    """A fresh anvil on a free port (automine), stopped on exit."""

    def __init__(self, workdir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(workdir / "anvil.log", "wb")
        self._proc = subprocess.Popen(
            [str(find_tool("anvil")), "--host", "127.0.0.1", "--port", str(port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> Anvil:
        deadline = time.time() + 30
        while True:
            try:
                self.rpc("eth_chainId", [])
                return self
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("anvil did not answer within 30 s") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        os.killpg(self._proc.pid, 15)
        self._proc.wait(10)
        self._log.close()

    def rpc(self, method: str, params: list[Any]) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            reply = json.loads(response.read())
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]


class ChainLedger:
    """The simulation's ledger calls as transactions of FLTaskManager on anvil."""

    def __init__(self, anvil: Anvil, deployment: Any, task_id: int, keys: dict[str, LocalAccount]) -> None:
        self.anvil = anvil
        self.task_id = task_id
        self.view = TaskManager(anvil.url, deployment)
        self._as = {address: TaskManager(anvil.url, deployment, key) for address, key in keys.items()}
        self.gas: dict[str, list[int]] = defaultdict(list)  # call -> gasUsed of each
        self._unlocked = False

    # --- plumbing ---------------------------------------------------------------------------

    def _send(self, address: str, call: str, action: Callable[[TaskManager], Any]) -> Any:
        receipt = action(self._as[address.lower()])
        self.gas[call].append(int(receipt["gasUsed"]))
        return receipt

    def _round(self) -> tuple[int, Phase]:
        round_id, phase, _ = self.view.current_round(self.task_id)
        return round_id, phase

    def advance(self, phase: str) -> None:
        while True:
            _, now_phase, deadline = self.view.current_round(self.task_id)
            if now_phase != PHASES[phase]:
                return
            self.anvil.rpc("evm_increaseTime", [max(1, deadline - self.view.timestamp())])
            self.anvil.rpc("evm_mine", [])

    # --- views --------------------------------------------------------------------------------

    def account(self, address: str) -> AccountView:
        p = self.view.participant(self.task_id, address)
        return AccountView(p.stake, p.weight, p.active, p.last_round, p.unsettled)

    def trainer_pool(self) -> int:
        round_id, _ = self._round()
        return self.view.round_outcome(self.task_id, round_id).trainer_pool

    def reveals(self, round_id: int) -> list[Reveal]:
        return reveals_of(self.view, self.task_id, round_id)

    def attestations(self, round_id: int) -> list[Attestation]:
        return attestations_of(self.view, self.task_id, round_id)

    def outcome(self, round_id: int) -> Any:
        return self.view.round_outcome(self.task_id, round_id)

    def balance(self, address: str) -> int:
        return self.view.balance_of(address)

    def totals(self) -> tuple[int, int]:
        state = self.view.task_state(self.task_id)
        return state.unallocated_pool, state.unclaimed_rewards

    def validator_reward(self, address: str, round_id: int) -> int:
        return self.view.validator_reward(self.task_id, round_id, address)

    def due(self, address: str) -> Due | None:
        """`TaskStorage.due` read from the chain's views, for an unsettled, finalized round."""
        p = self.view.participant(self.task_id, address)
        round_id, phase = self._round()
        if not p.unsettled or not (p.last_round < round_id or phase == Phase.COMPLETED):
            return None
        status, record = self.view.participant_status(self.task_id, p.last_round, address)
        if status != ParticipationStatus.REVEALED:
            return Due.SLASH
        if p.role == Role.TRAINER:
            return Due.NOTHING
        o = self.view.round_outcome(self.task_id, p.last_round)
        if Status(int(o.status)) != Status.ACCEPTED:  # only Accepted rounds pay or slash a vote
            return Due.NOTHING
        if self.view.proposal_stake(self.task_id, p.last_round, record) == o.winning_stake:
            return Due.REWARD
        return Due.NOTHING if record == REJECT_PROPOSAL else Due.SLASH

    # --- actions --------------------------------------------------------------------------------

    def stake(self, address: str, role: str, amount: int) -> None:
        kind = Role.TRAINER if role == "trainer" else Role.VALIDATOR
        receipt = self._send(address, "stake", lambda c: c.stake(self.task_id, kind, amount))
        approve_tx = self.view.w3.eth.get_block(receipt["blockNumber"] - 1)["transactions"][0]
        approve = self.view.w3.eth.get_transaction_receipt(cast(HexBytes, approve_tx))  # hashes: not full txs
        self.gas["approve"].append(int(approve["gasUsed"]))

    def commit_update(self, address: str, commitment: bytes) -> None:
        self._send(address, "commitUpdate", lambda c: c.commit_update(self.task_id, commitment))

    def commit_vote(self, address: str, commitment: bytes) -> None:
        self._send(address, "commitVote", lambda c: c.commit_vote(self.task_id, commitment))

    def reveal_update(self, address: str, cid: str, num_samples: int, salt: bytes) -> int:
        receipt = self._send(address, "revealUpdate", lambda c: c.reveal_update(self.task_id, cid, num_samples, salt))
        (event,) = self.view.manager.events.UpdateRevealed().process_receipt(receipt)
        return int(event["args"]["index"])

    def attest(self, address: str, held: bytes) -> None:
        self._send(address, "attestAvailability", lambda c: c.attest_availability(self.task_id, held))

    def register_key(self, address: str, public_key: bytes) -> None:  # a SecAgg task's trainer
        self._send(address, "registerKey", lambda c: c.register_key(self.task_id, public_key))

    def publish_seeds(self, address: str, seeds: bytes) -> None:
        self._send(address, "publishMaskSeeds", lambda c: c.publish_mask_seeds(self.task_id, seeds))

    def reveal_vote(self, address: str, cid: str, reward_root: bytes, penalty_root: bytes, salt: bytes) -> None:
        self._send(
            address, "revealVote", lambda c: c.reveal_vote(self.task_id, cid, reward_root, penalty_root, salt, 0)
        )

    def finalize(self, address: str) -> Any:
        round_id, _ = self._round()
        self._send(address, "finalizeRound", lambda c: c.finalize_round(self.task_id))
        return self.outcome(round_id)

    def slash(self, sender: str, round_id: int, address: str) -> None:
        self._send(sender, "slash", lambda c: c.slash(self.task_id, round_id, address))

    def penalize(self, sender: str, round_id: int, trainer: str, proof: list[bytes]) -> None:
        self._send(sender, "penalizeTrainer", lambda c: c.penalize_trainer(self.task_id, round_id, trainer, proof))

    def claim_trainer(self, address: str, round_id: int, amount: int, proof: list[bytes]) -> None:
        self._send(
            address, "claimTrainerReward", lambda c: c.claim_trainer_reward(self.task_id, round_id, amount, proof)
        )

    def claim_validator(self, address: str, round_id: int) -> int:
        before = self.view.balance_of(address)
        self._send(address, "claimValidatorReward", lambda c: c.claim_validator_reward(self.task_id, round_id))
        return self.view.balance_of(address) - before

    def withdraw(self, address: str) -> int:
        """Withdraw once stakes unlock: the first call moves the clock past the penalty window."""
        if not self._unlocked:
            cooldown = self.view.task_params(self.task_id).exit_cooldown
            self.anvil.rpc("evm_increaseTime", [cooldown + 1])
            self.anvil.rpc("evm_mine", [])
            self._unlocked = True
        before = self.view.balance_of(address)
        self._send(address, "withdraw", lambda c: c.withdraw(self.task_id))
        return self.view.balance_of(address) - before


def open_task(
    anvil: Anvil,
    workdir: Path,
    settings: TaskSettings,
    initial_cid: str,
    keys: dict[str, LocalAccount],
    balance: int,
) -> ChainLedger:
    """Deploy the contracts, fund every key (ether and `balance` tokens), create the task."""
    deployer = anvil_account(0)
    build = PROJECT_ROOT / "build"
    deploy(anvil.url, deployer, build_dir=build, deployments_dir=workdir, faucet={a: balance for a in keys})
    for address in keys:
        anvil.rpc("anvil_setBalance", [address, hex(10**21)])
    deployment = load_deployment(workdir, 31337, build)
    requester = TaskManager(anvil.url, deployment, deployer)
    published = PublishedModel(initial_cid, initial_cid, initial_cid, b"\1" * 32, 0)
    task_id = create_task(requester, published, settings)
    return ChainLedger(anvil, deployment, task_id, keys)


def snapshot(ledger: Any, addresses: list[str], rounds: int) -> dict[str, Any]:
    """What must agree to the wei: each account's balance and stake, the task's pool and unclaimed
    rewards, and each round's outcome (status, winning stake, reward, claimed totals)."""
    pool, unclaimed = ledger.totals()
    outcomes = []
    for r in range(rounds):
        o = ledger.outcome(r)
        outcomes.append([int(o.status), o.winning_stake, o.round_reward, o.trainer_claimed, o.validator_claimed])
    return {
        "accounts": {a: [ledger.balance(a), ledger.account(a).stake] for a in addresses},
        "task": [pool, unclaimed],
        "rounds": outcomes,
    }


def compare(mirror: dict[str, Any], chain: dict[str, Any]) -> dict[str, Any]:
    """Two snapshots side by side (amounts as strings: JSON floats would round them)."""
    accounts = [
        {
            "account": address,
            "balance_chain": str(chain["accounts"][address][0]),
            "balance_mirror": str(mirror["accounts"][address][0]),
            "stake_chain": str(chain["accounts"][address][1]),
            "stake_mirror": str(mirror["accounts"][address][1]),
            "equal": chain["accounts"][address] == mirror["accounts"][address],
        }
        for address in chain["accounts"]
    ]
    rounds = [
        {"round": r, "chain": [str(v) for v in c], "mirror": [str(v) for v in m], "equal": c == m}
        for r, (c, m) in enumerate(zip(chain["rounds"], mirror["rounds"], strict=True))
    ]
    task = {
        "pool_chain": str(chain["task"][0]),
        "pool_mirror": str(mirror["task"][0]),
        "unclaimed_chain": str(chain["task"][1]),
        "unclaimed_mirror": str(mirror["task"][1]),
        "equal": chain["task"] == mirror["task"],
    }
    return {
        "all_equal": all(a["equal"] for a in accounts) and task["equal"] and all(r["equal"] for r in rounds),
        "accounts": accounts,
        "task": task,
        "rounds": rounds,
    }


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="dfl-incentives-"))
