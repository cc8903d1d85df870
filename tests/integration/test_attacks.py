"""Cheap attacks against a real round: three honest trainers and three validators (`dfl` processes)
on the suite's anvil and IPFS node, and one attacker process written from the ABI alone (attacker.py)
playing seven accounts: a malformed safetensors header, values of 1e38, a withheld update, an update
unpinned as soon as a validator fetched it, one published only after the first attestation, an
inflated sample count and a noisy copy of the global model.

What must hold (the soundness and incentives issues): the round finalizes with a quorum, every
validator voted the same proposal (no split) and none is slashed, the honest trainers are paid, the
provably bad updates are rejected with their reasons and penalized on-chain, the inflater cannot
reveal and is slashed, and the noisy free rider earns nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from web3.types import RPCEndpoint

from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import Phase, Role, RoundStatus, SlashReason, TaskState
from offchain.services.context import round_receipt
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.ipfs import IpfsStore
from offchain.units import TOKEN
from support import BUILD_DIR, DevnetDeployment, publish_digits, skipping_waits, stop_processes

HERE = Path(__file__).resolve().parent
HONEST = (1, 2, 3)
VALIDATORS = (5, 6, 7)
STRATEGIES = (
    "malformed_offsets",
    "huge_values",
    "withhold",
    "unpin_after_fetch",
    "late_serve",
    "inflate",
    "noisy_free_rider",
)
PROVABLY_BAD = {"malformed_offsets": "malformed", "huge_values": "out_of_bounds", "withhold": "unavailable"}


def _fund(protocol: DevnetDeployment, address: str) -> None:
    funder = protocol.manager(0)
    funder.w3.provider.make_request(RPCEndpoint("anvil_setBalance"), [address, hex(10**21)])
    funder.transfer(address, 1_000 * TOKEN)


@pytest.mark.slow
def test_one_round_survives_seven_attackers_without_a_split(
    protocol: DevnetDeployment, ipfs_api: str, tmp_path: Path
) -> None:
    requester = protocol.manager(0)
    published = publish_digits(ipfs_api)
    task = create_task(
        requester,
        published,
        TaskSettings(
            num_rounds=1,
            registration=30,
            commit=180,
            reveal=40,
            attest=90,
            vote_commit=150,
            vote_reveal=90,
            exit_cooldown=20,
        ),
    )
    protocol.stake(task, HONEST, VALIDATORS)
    attackers = {strategy: Account.create() for strategy in STRATEGIES}
    for account in attackers.values():
        _fund(protocol, account.address)
    plan = {
        "rpc": protocol.rpc_url,
        "ipfs_api": ipfs_api,
        "task": task,
        "manager": requester.manager.address,
        "token": requester.token.address,
        "manager_abi": str(BUILD_DIR / "contracts" / "FLTaskManager.json"),
        "token_abi": str(BUILD_DIR / "contracts" / "RewardToken.json"),
        "attackers": [{"key": a.key.hex(), "strategy": s} for s, a in attackers.items()],
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))

    def trainer(i: int, account: int) -> list[str]:
        return ["trainer", "--task", str(task), "--data", "digits", "--client-index", str(i), "--num-clients", "3",
                "--partition", "iid", "--epochs", "3", "--learning-rate", "0.1", "--dev-account", str(account),
                "--poll", "0.5"]  # fmt: skip

    def validator(i: int, account: int) -> list[str]:
        return ["validator", "--task", str(task), "--eval-data", "digits", "--client-index", str(i), "--num-clients",
                "3", "--fetch-timeout", "3", "--dev-account", str(account), "--poll", "0.5"]  # fmt: skip

    names = [f"t{a}" for a in HONEST] + [f"v{a}" for a in VALIDATORS]
    logs = {name: open(tmp_path / f"{name}.log", "ab") for name in [*names, "attacker"]}
    # the workers' output is bytes, the attacker's text
    procs: dict[str, subprocess.Popen[Any]] = {
        f"t{a}": protocol.dfl(trainer(i, a), logs[f"t{a}"]) for i, a in enumerate(HONEST)
    }
    procs |= {f"v{a}": protocol.dfl(validator(i, a), logs[f"v{a}"]) for i, a in enumerate(VALIDATORS)}
    procs["attacker"] = subprocess.Popen(
        [sys.executable, str(HERE / "attacker.py"), str(tmp_path / "plan.json")],
        stdout=subprocess.PIPE,
        stderr=logs["attacker"],
        text=True,
    )

    # No waiting out deadlines: registration ends once the attackers staked too (if they do so in time),
    # the reveal phase once every commitment but the inflater's is revealed, the penalty window once
    # the validators are done.
    def everyone_staked(s: TaskState) -> bool:
        return s.phase == Phase.REGISTRATION and s.active_trainers == len(HONEST) + len(STRATEGIES)

    def all_but_one_revealed(s: TaskState) -> bool:
        return s.phase == Phase.REVEAL and s.reveals >= s.commits - 1

    def validators_done() -> bool:
        return all(procs[f"v{a}"].poll() is not None for a in VALIDATORS)

    try:
        with skipping_waits(protocol, task, everyone_staked, all_but_one_revealed, settled=validators_done):
            out, _ = procs["attacker"].communicate(timeout=600)
            assert procs["attacker"].returncode == 0, (tmp_path / "attacker.log").read_text()[-3000:]
            for name in names:
                assert procs[name].wait(timeout=600) == 0, f"{name}:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
    finally:
        stop_processes(procs.values(), logs.values())
    played = {r["strategy"]: r for r in map(json.loads, out.strip().splitlines())}
    print("attacker:", json.dumps(played, indent=1))

    chain = protocol.manager()
    assert chain.round_outcome(task, 0).status == RoundStatus.ACCEPTED
    # No split: every validator revealed the same proposal, and none was slashed.
    votes = chain.events("VoteRevealed", taskId=task, round=0)
    assert len(votes) == len(VALIDATORS) and len({v.args["proposalHash"] for v in votes}) == 1
    slashed = chain.events("Slashed", taskId=task)
    validators = {anvil_account(a).address for a in VALIDATORS}
    assert not [s for s in slashed if s.args["account"] in validators]

    with IpfsStore(ipfs_api) as store:
        receipt = round_receipt(chain, store, task, 0, 1 << 24)
    assert receipt is not None
    entries = {u.trainer: u for u in receipt.updates}
    print("verdicts:", {s: (entries[a.address.lower()].reason, entries[a.address.lower()].penalized) for s, a in attackers.items() if a.address.lower() in entries})  # fmt: skip
    # The honest trainers are accepted and paid.
    for a in HONEST:
        entry = entries[anvil_account(a).address.lower()]
        assert entry.accepted and entry.score_ppm > 0 and entry.reward > 0, entry
    # Provably bad updates: rejected with their reason, named in the penalty root, penalized on-chain.
    penalties = {
        s.args["account"]: s.args["amount"] for s in slashed if s.args["reason"] == SlashReason.TRAINER_REJECTED_UPDATE
    }
    for strategy, reason in PROVABLY_BAD.items():
        entry = entries[attackers[strategy].address.lower()]
        assert (entry.reason, entry.penalized, entry.reward) == (reason, True, 0), (strategy, entry)
        assert penalties.get(attackers[strategy].address, 0) > 0, strategy
    # Inflating the sample count: the reveal is refused, so the commitment goes unrevealed and is slashed.
    assert played["inflate"]["revealed"] is False and "SamplesNotBacked" in played["inflate"]["reveal_error"]
    nonreveal = [s for s in slashed if s.args["reason"] == SlashReason.TRAINER_NON_REVEAL]
    assert [s.args["account"] for s in nonreveal] == [attackers["inflate"].address]
    # The noisy free rider is accepted (its bytes are fine) and earns nothing.
    rider = entries[attackers["noisy_free_rider"].address.lower()]
    assert rider.accepted and rider.score_ppm == 0 and rider.reward == 0
    # Whatever the timing did to the two availability games, nobody was paid for them and all
    # validators agreed (checked above); an unavailable one is penalized like any other.
    for strategy in ("unpin_after_fetch", "late_serve"):
        entry = entries[attackers[strategy].address.lower()]
        assert entry.reward == 0 and entry.penalized == (entry.reason == "unavailable"), (strategy, entry)
    # Nothing was paid but to the honest trainers.
    assert {a for a, _ in receipt.rewards} == {anvil_account(a).address.lower() for a in HONEST}
    assert all(chain.participant(task, a.address).role in (Role.TRAINER, Role.NONE) for a in attackers.values())
