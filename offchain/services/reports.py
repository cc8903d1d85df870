"""Read-only reports from events, views and round receipts: what `dfl round show`,
`dfl rewards show` and the demo summary print."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from offchain.chain.manager import TaskManager
from offchain.chain.protocol import REJECT_PROPOSAL, Role, RoundStatus, SlashReason
from offchain.services.claims import claim_trainer_rewards, claim_validator_rewards, round_receipt
from offchain.storage.ipfs import IpfsStore


def _by_round(chain: TaskManager, name: str, task_id: int) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for event in chain.events(name, taskId=task_id):
        grouped[int(event.args["round"])].append(event)
    return grouped


def round_report(chain: TaskManager, store: IpfsStore, task_id: int, round_id: int) -> dict[str, Any]:
    params = chain.task_params(task_id)
    outcome = chain.round_outcome(task_id, round_id)
    receipt = round_receipt(chain, store, task_id, round_id, params.max_update_bytes)
    committed = [e.args["trainer"] for e in chain.events("UpdateCommitted", taskId=task_id, round=round_id)]
    revealed = {
        e.args["trainer"].lower(): e.args for e in chain.events("UpdateRevealed", taskId=task_id, round=round_id)
    }
    claimed = {
        e.args["trainer"].lower(): int(e.args["amount"])
        for e in chain.events("TrainerRewardClaimed", taskId=task_id, round=round_id)
    }
    entries = {u.trainer: u for u in receipt.updates} if receipt else {}
    updates = []
    for trainer in committed:
        key = trainer.lower()
        reveal, entry = revealed.get(key), entries.get(key)
        updates.append(
            {
                "trainer": trainer,
                "cid": reveal["updateCid"] if reveal else None,
                "num_samples": int(reveal["numSamples"]) if reveal else None,
                "accepted": bool(entry.accepted) if entry else False,
                "reason": _reason(entry, reveal is not None, outcome.status),
                "message": entry.message if entry else "",
                "reward": entry.reward if entry else 0,
                "claimed": key in claimed,
                "claimed_amount": claimed.get(key, 0),
            }
        )
    vote_reveals = {
        e.args["validator"].lower(): e.args for e in chain.events("VoteRevealed", taskId=task_id, round=round_id)
    }
    votes = []
    for e in chain.events("VoteCommitted", taskId=task_id, round=round_id):
        v = vote_reveals.get(e.args["validator"].lower())
        vote = "not revealed" if v is None else "reject" if v["proposalHash"] == REJECT_PROPOSAL else v["aggregateCid"]
        votes.append(
            {
                "validator": e.args["validator"],
                "vote": vote,
                "weight": int(e.args["weight"]),
                "metric": int(v["metric"]) if v else None,
            }
        )
    slashes = [
        {
            "account": e.args["account"],
            "amount": int(e.args["amount"]),
            "reason": SlashReason(e.args["reason"]).name.lower(),
        }
        for e in chain.events("Slashed", taskId=task_id, round=round_id)
    ]
    return {
        "task": task_id,
        "round": round_id,
        "status": outcome.status.name.lower(),
        "global_cid": chain.winning_cid(task_id, round_id),
        "model_cid": receipt.model if receipt else None,
        "reward_root": "0x" + outcome.reward_root.hex(),
        "winning_stake": outcome.winning_stake,
        "trainer_pool": outcome.trainer_pool,
        "validator_pool": outcome.validator_pool,
        "trainer_claimed": outcome.trainer_claimed,
        "validator_claimed": outcome.validator_claimed,
        "accepted": sum(1 for u in updates if u["accepted"]),
        "rejected": sum(1 for u in updates if not u["accepted"]),
        "rewards_allocated": sum(u["reward"] for u in updates),
        "slashed": sum(s["amount"] for s in slashes),
        "updates": updates,
        "votes": votes,
        "slashes": slashes,
    }


def _reason(entry: Any, revealed: bool, status: RoundStatus) -> str | None:
    if entry is not None:
        return None if entry.accepted else entry.reason
    if not revealed:
        return "not revealed"
    return f"round {status.name.lower()}" if status != RoundStatus.ACCEPTED else "not in the receipt"


def participants_report(chain: TaskManager, store: IpfsStore, task_id: int) -> list[dict[str, Any]]:
    params = chain.task_params(task_id)
    roles: dict[str, str] = {}
    for e in chain.events("Staked", taskId=task_id):
        roles.setdefault(e.args["account"], Role(e.args["role"]).name.lower())
    earned: dict[str, int] = defaultdict(int)
    for r in range(params.num_rounds):
        receipt = round_receipt(chain, store, task_id, r, params.max_update_bytes)
        for account, amount in receipt.rewards if receipt else ():
            earned[account.lower()] += amount
    claimed: dict[str, int] = defaultdict(int)
    for e in chain.events("TrainerRewardClaimed", taskId=task_id):
        claimed[e.args["trainer"].lower()] += int(e.args["amount"])
    for e in chain.events("ValidatorRewardClaimed", taskId=task_id):
        claimed[e.args["validator"].lower()] += int(e.args["amount"])
    slashed: dict[str, int] = defaultdict(int)
    for e in chain.events("Slashed", taskId=task_id):
        slashed[e.args["account"].lower()] += int(e.args["amount"])
    rows = []
    for address, role in roles.items():
        key = address.lower()
        pending = (
            sum(chain.validator_reward(task_id, r, address) for r in range(params.num_rounds))
            if role == "validator"
            else 0
        )
        rows.append(
            {
                "address": address,
                "role": role,
                "stake": chain.participant(task_id, address).stake,
                "reward_earned": earned[key] if role == "trainer" else claimed[key] + pending,
                "reward_claimed": claimed[key],
                "slashed": slashed[key],
                "balance": chain.balance_of(address),
            }
        )
    return rows


def claim_all(chain: TaskManager, store: IpfsStore, task_id: int) -> int:
    assert chain.address is not None
    role = chain.participant(task_id, chain.address).role
    if role == Role.TRAINER:
        return claim_trainer_rewards(chain, store, task_id)
    if role == Role.VALIDATOR:
        return claim_validator_rewards(chain, task_id)
    return 0
