"""Gas report: `tools/test-contracts.sh --gas` (for `make gas`). Not collected by the test suite.

Runs the protocol on the private anvil of tests/contracts/conftest.py, prints a table and writes
reports/gas.json with integer gas (transaction gas used, 21000 intrinsic gas included):

- one value per external function: the steady-state cost (median over the calls of round 1 of a
  10-trainer task, i.e. after every reused storage slot exists);
- `finalizeRound_by_trainers`: finalizeRound of a round with 10 / 100 / 1000 revealed trainers;
- `claimTrainerReward_1000_leaves`: a claim against a 1000-leaf reward tree;
- `attestAvailability_by_trainers`: one attestation with a 10 / 100 / 1000-bit bitmap;
- `penalizeTrainer`: a penalty proven against a round's penalty tree (one penalized trainer per round);
- `reclaim`: a completed task's unspent pool (`reclaim_pool`), then its unclaimed rewards after the
  claim window (`reclaim_unclaimed`);
- `worst_case`: the most expensive call observed per function, with what makes it so.
Exits non-zero if a budget is missed by a steady-state value or by finalize at any trainer count.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from brownie import web3
from web3.types import RPCEndpoint, Wei

from contract_helpers import (
    E18,
    ZERO,
    MerkleTree,
    Phase,
    Role,
    as_tuple,
    default_params,
    proposal_hash,
    salt,
    update_commitment,
    vote_commitment,
)
from offchain.fl.merkle import build_penalty_tree

ROOT = Path(__file__).resolve().parents[3]
BUDGETS = {
    "commitUpdate": 50_000,
    "revealUpdate": 75_000,
    "attestAvailability": 60_000,
    "commitVote": 50_000,
    "revealVote": 75_000,
    "penalizeTrainer": 80_000,
    "reclaim": 80_000,
    "claimTrainerReward": 80_000,
    "claimValidatorReward": 80_000,
    # 97,299 before penalties and availability: a round that penalizes someone now stores its penalty
    # root (a fresh slot, ~22k), and every round reads the leader's two roots and the ledger slot of
    # unclaimed rewards; still O(1) in trainers and validators.
    "finalizeRound": 140_000,
}
WHY = {
    "revealVote": "first reveal of a proposal in a round: a fresh storage slot for its stake tally",
    "commitVote": "validator whose previous winning reward was never claimed: settlement restakes it",
    "claimTrainerReward": "first claim of a round: fresh slot for the round's claim totals",
    "claimValidatorReward": "first validator claim of a round: fresh slot for the round's claim totals",
    "commitUpdate": "first commitment of the task that ends the phase early",
    "stake": "first stake: account slot and the reused-slot sentinels",
    "penalizeTrainer": "first penalty of an account: a fresh slot of its penalty bitmap",
    "attestAvailability": "first attestation of a validator that settles a restaked reward",
}


class Bulk:
    """Many accounts through anvil's auto-impersonation, one tx each without Brownie overhead."""

    def __init__(self, manager, token, funder):
        self.m, self.token, self.funder = manager, token, funder
        web3.provider.make_request(RPCEndpoint("anvil_autoImpersonateAccount"), [True])

    def send(self, sender, contract, fn, *args):
        data = getattr(contract, fn).encode_input(*args)
        h = web3.eth.send_transaction(
            {"from": sender, "to": contract.address, "data": data, "gas": 2_000_000, "gasPrice": Wei(0)}
        )
        r = web3.eth.wait_for_transaction_receipt(h, timeout=30, poll_latency=0.005)
        assert r["status"] == 1, f"{fn} reverted"
        return r["gasUsed"]

    def accounts(self, n, offset=0):
        return [web3.to_checksum_address(f"0x{0xD000000000 + offset + i:040x}") for i in range(n)]

    def fund(self, addresses, amount):
        for a in addresses:
            self.send(str(self.funder), self.token, "transfer", a, amount)
            self.send(a, self.token, "approve", self.m.address, 2**256 - 1)


def _sleep_to(chain, manager, task, phase):
    for _ in range(10):
        chain.mine()
        if manager.currentRound(task)[1] == phase:
            return
        deadline = manager.currentRound(task)[2]
        chain.sleep(max(0, deadline - chain[-1].timestamp) + 1)
    raise AssertionError(f"phase {phase} not reached")


def _round(bulk, chain, m, task, trainers, validators, gas, *, penalize=True):
    rnd = int(m.currentRound(task)[0])
    _sleep_to(chain, m, task, Phase.COMMIT)
    secrets = {}
    for t in trainers:
        cid, s = f"QmUpdate{t[2:]}{rnd:03d}", salt()
        secrets[t] = (cid, s)
        gas.setdefault("commitUpdate", []).append(
            bulk.send(t, m, "commitUpdate", task, update_commitment(task, rnd, t, cid, 100, s))
        )
    _sleep_to(chain, m, task, Phase.REVEAL)
    for t in trainers:
        cid, s = secrets[t]
        gas.setdefault("revealUpdate", []).append(bulk.send(t, m, "revealUpdate", task, cid, 100, s))
    pool = m.roundOutcome(task, rnd)["trainerPool"]
    # With `penalize`, the last trainer's update was bad: the receipt penalizes it and pays the rest.
    paid, penalized = (trainers[:-1], trainers[-1]) if penalize else (trainers, None)
    tree = MerkleTree([(t, pool // len(paid)) for t in paid])
    penalties = build_penalty_tree([penalized]) if penalized else None
    penalty_root = penalties.root if penalties else ZERO
    cid = f"QmAggregateAggregateAggregateAggregate{rnd:08d}"
    _sleep_to(chain, m, task, Phase.ATTEST)
    held = bytes([0xFF] * (len(trainers) // 8) + ([(1 << (len(trainers) % 8)) - 1] if len(trainers) % 8 else []))
    for v in validators:
        gas.setdefault("attestAvailability", []).append(bulk.send(v, m, "attestAvailability", task, held))
    _sleep_to(chain, m, task, Phase.VOTE_COMMIT)
    salts = {}
    proposal = proposal_hash(cid, tree.root, penalty_root)
    for v in validators:
        salts[v] = salt()
        gas.setdefault("commitVote", []).append(
            bulk.send(v, m, "commitVote", task, vote_commitment(task, rnd, v, proposal, salts[v]))
        )
    _sleep_to(chain, m, task, Phase.VOTE_REVEAL)
    for v in validators:
        gas.setdefault("revealVote", []).append(
            bulk.send(v, m, "revealVote", task, cid, tree.root, penalty_root, salts[v], 9000)
        )
    _sleep_to(chain, m, task, Phase.AWAITING_FINALIZATION)
    gas.setdefault("finalizeRound", []).append(bulk.send(validators[0], m, "finalizeRound", task))
    if penalized and penalties:
        gas.setdefault("penalizeTrainer", []).append(
            bulk.send(validators[0], m, "penalizeTrainer", task, rnd, penalized, penalties.proof_for(penalized))
        )
    return rnd, tree


def test_gas_report(manager, token, deployer, chain):
    bulk = Bulk(manager, token, deployer)
    trainers = bulk.accounts(1000)
    validators = bulk.accounts(3, offset=10_000)
    requester = bulk.accounts(1, offset=20_000)[0]
    bulk.fund(trainers + validators + [requester], 10_000 * E18)

    def new_task(n):
        # Long phases: they end early once everyone acted, and a loaded machine never runs one out.
        long = {f"{phase}Duration": 3600 for phase in ("commit", "reveal", "attest", "voteCommit", "voteReveal")}
        p = default_params(maxTrainersPerRound=n, numRounds=3, rewardPool=3000 * E18, **long)
        return bulk.send(requester, manager, "createTask", as_tuple(p)), int(manager.taskCount())

    steady: dict[str, list[int]] = {}
    first: dict[str, list[int]] = {}

    # 10 trainers, 3 rounds: round 0 pays the one-off costs, round 1 is the steady state.
    create_gas, task = new_task(10)
    first["createTask"] = [create_gas]
    for a in trainers[:10]:
        first.setdefault("stake", []).append(bulk.send(a, manager, "stake", task, Role.TRAINER, 200 * E18))
    for v in validators:
        first.setdefault("stake", []).append(bulk.send(v, manager, "stake", task, Role.VALIDATOR, 200 * E18))
    steady["stake"] = [bulk.send(trainers[0], manager, "stake", task, Role.TRAINER, E18)]  # top-up
    rnd0, tree0 = _round(bulk, chain, manager, task, trainers[:10], validators, first)
    for t in trainers[:9]:
        amount = tree0.values[0][1]
        first.setdefault("claimTrainerReward", []).append(
            bulk.send(t, manager, "claimTrainerReward", task, rnd0, amount, tree0.proof(t, amount))
        )
    for v in validators[:2]:
        first.setdefault("claimValidatorReward", []).append(bulk.send(v, manager, "claimValidatorReward", task, rnd0))
    rnd1, tree1 = _round(bulk, chain, manager, task, trainers[:10], validators, steady)
    for t in trainers[:9]:
        amount = tree1.values[0][1]
        steady.setdefault("claimTrainerReward", []).append(
            bulk.send(t, manager, "claimTrainerReward", task, rnd1, amount, tree1.proof(t, amount))
        )
    for v in validators:
        steady.setdefault("claimValidatorReward", []).append(bulk.send(v, manager, "claimValidatorReward", task, rnd1))
    no_penalty: dict[str, list[int]] = {}
    _round(bulk, chain, manager, task, trainers[:10], validators, no_penalty, penalize=False)
    chain.sleep(31)  # the penalty window (exitCooldown) after the last round
    steady["withdraw"] = [bulk.send(trainers[5], manager, "withdraw", task)]
    steady["requestExit"] = []
    reclaim_pool = bulk.send(requester, manager, "reclaim", task)
    chain.sleep(1001)  # the claim window
    reclaim_unclaimed = bulk.send(requester, manager, "reclaim", task)
    steady["reclaim"] = [reclaim_pool]
    by_trainers = {"10": steady["finalizeRound"][0]}
    attest_by_trainers = {"10": steady["attestAvailability"][0]}

    for n in (100, 1000):
        _, task_n = new_task(n)
        for a in trainers[:n]:
            bulk.send(a, manager, "stake", task_n, Role.TRAINER, 200 * E18)
        for v in validators:
            bulk.send(v, manager, "stake", task_n, Role.VALIDATOR, 200 * E18)
        g: dict[str, list[int]] = {}
        rnd, tree = _round(bulk, chain, manager, task_n, trainers[:n], validators, g)
        by_trainers[str(n)] = g["finalizeRound"][0]
        attest_by_trainers[str(n)] = g["attestAvailability"][0]
        if n == 1000:
            amount = tree.values[0][1]
            claims_1000 = [
                bulk.send(t, manager, "claimTrainerReward", task_n, rnd, amount, tree.proof(t, amount))
                for t in trainers[:3]
            ]

    steady["createTask"] = first["createTask"]
    steady["requestExit"] = [bulk.send(trainers[20], manager, "requestExit", task_n)]
    report: dict[str, Any] = {fn: int(statistics.median(v)) for fn, v in sorted(steady.items()) if v}
    report["finalizeRound_by_trainers"] = by_trainers
    report["finalizeRound_without_penalties"] = no_penalty["finalizeRound"][0]
    report["attestAvailability_by_trainers"] = attest_by_trainers
    report["reclaim_pool"] = reclaim_pool
    report["reclaim_unclaimed"] = reclaim_unclaimed
    report["claimTrainerReward_1000_leaves"] = {
        "first_in_round": claims_1000[0],
        "later": int(statistics.median(claims_1000[1:])),
    }
    everything = {fn: steady.get(fn, []) + first.get(fn, []) for fn in set(steady) | set(first)}
    report["worst_case"] = {fn: {"gas": max(v), "why": WHY.get(fn, "")} for fn, v in sorted(everything.items()) if v}

    failures = [f"{fn} {report[fn]} > {b}" for fn, b in BUDGETS.items() if report[fn] > b]
    if reclaim_unclaimed > BUDGETS["reclaim"]:
        failures.append(f"reclaim of unclaimed rewards {reclaim_unclaimed} > {BUDGETS['reclaim']}")
    limit = BUDGETS["finalizeRound"]
    failures += [f"finalizeRound with {n} trainers {g} > {limit}" for n, g in by_trainers.items() if g > limit]
    over = {fn: report["worst_case"][fn]["gas"] - b for fn, b in BUDGETS.items() if report["worst_case"][fn]["gas"] > b}
    report["budgets"] = BUDGETS
    report["worst_case_over_budget_by"] = over

    print("\n{:<34}{:>12}{:>12}{:>10}".format("function", "gas", "worst", "budget"))
    for fn in sorted(steady):
        if steady[fn]:
            print(
                "{:<34}{:>12}{:>12}{:>10}".format(fn, report[fn], report["worst_case"][fn]["gas"], BUDGETS.get(fn, "-"))
            )
    for count, used in by_trainers.items():
        print(
            "{:<34}{:>12}{:>12}{:>10}".format(f"finalizeRound ({count} trainers)", used, "", BUDGETS["finalizeRound"])
        )
    print("{:<34}{:>12}".format("finalizeRound (no penalty)", report["finalizeRound_without_penalties"]))
    for count, used in attest_by_trainers.items():
        print("{:<34}{:>12}{:>12}{:>10}".format(f"attestAvailability ({count} bits)", used, "", "-"))
    print("{:<34}{:>12}{:>12}{:>10}".format("reclaim (unspent pool)", reclaim_pool, "", 80_000))
    print("{:<34}{:>12}{:>12}{:>10}".format("reclaim (unclaimed, window over)", reclaim_unclaimed, "", 80_000))
    for k, g in report["claimTrainerReward_1000_leaves"].items():
        print("{:<34}{:>12}{:>12}{:>10}".format(f"claim, 1000 leaves ({k})", g, "", 80_000))
    first_1000 = report["claimTrainerReward_1000_leaves"]["first_in_round"]
    if first_1000 > BUDGETS["claimTrainerReward"]:
        over["claimTrainerReward_1000_leaves_first_in_round"] = first_1000 - BUDGETS["claimTrainerReward"]
        WHY["claimTrainerReward_1000_leaves_first_in_round"] = (
            "first claim of a round (fresh claim-totals slot) plus a 10-element proof in calldata"
        )
    for fn, extra in over.items():
        print(f"note: worst-case {fn} is {extra} over budget: {WHY.get(fn, '')}")
    out = ROOT / "reports" / "gas.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    assert not failures, "gas budgets missed: " + "; ".join(failures)
