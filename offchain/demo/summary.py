"""The demo's results: per-round table, balances before and after, a plot, and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from offchain.demo.run import DemoRun
from offchain.fl.codec import decode_weights
from offchain.fl.errors import InvalidUpdateError
from offchain.readmodel.models import global_model_cid
from offchain.services.context import TaskContext, load_global_model
from offchain.services.privacy_report import describe_privacy, privacy_summary
from offchain.services.privacy_setup import accounting_line
from offchain.services.reports import participants_report, round_report
from offchain.storage.ipfs import IpfsStore
from offchain.tokens import format_tokens
from offchain.units import TOKEN


def _tokens(amount: int) -> str:
    return format_tokens(amount)  # exact: balances add up to the last base unit


class AccuracyMeter:
    """Accuracy of a CID's model on the task's public evaluation set (cached by CID)."""

    def __init__(self, run: DemoRun, store: IpfsStore) -> None:
        self._ctx = TaskContext(run.chain, store, run.task_id)
        self._store = store
        self._x, self._y = self._ctx.eval_set()
        self._cache: dict[str, float] = {}
        self.model = self._ctx.model
        self.max_bytes = self._ctx.params.max_update_bytes

    def of(self, cid: str) -> float:
        if cid not in self._cache:
            model = load_global_model(self._store, cid, self._ctx.params.max_update_bytes)
            self._cache[cid] = self._ctx.model.evaluate(
                self._ctx.model.decode(model.weights), self._x, self._y
            ).accuracy
        return self._cache[cid]


def collect(run: DemoRun, store: IpfsStore, meter: AccuracyMeter) -> dict[str, Any]:
    chain, task = run.chain, run.task_id
    initial_accuracy = meter.of(run.published.weights_cid)
    rounds, accuracy = [], initial_accuracy
    log = chain.task_log(task)
    for r in range(run.config.rounds):
        rep = round_report(chain, store, task, r)
        next_global = global_model_cid(log, r + 1)  # G_{r+1}: the model after round r (kept if not accepted)
        accuracy = meter.of(next_global)
        rounds.append(
            {
                "round": r,
                "status": rep["status"],
                "next_global_model_cid": next_global,
                "accuracy": accuracy,
                "accepted": rep["accepted"],
                "rejected": rep["rejected"],
                "rejections": [
                    {"trainer": u["trainer"], "reason": u["reason"]} for u in rep["updates"] if not u["accepted"]
                ],
                "winning_stake": rep["winning_stake"],
                "trainer_rewards_allocated": rep["rewards_allocated"],
                "rewards_paid": rep["trainer_claimed"] + rep["validator_claimed"],
                "slashed": rep["slashed"],
            }
        )
    participants = participants_report(chain, store, task)
    params = chain.task_params(task)
    after = {a: chain.balance_of(a) for a in run.balances_before}
    roles = {p["address"]: p["role"] for p in participants} | {run.requester: "requester"}
    holders = list(after) + [chain.manager.address]
    return {
        "task": task,
        "dataset": run.config.dataset,
        "model": run.config.model,
        "rule": run.config.rule,
        "trainers": run.config.trainers,
        "validators": run.config.validators,
        "partition": run.config.partition,
        "seconds": round(run.finished - run.started, 1),
        "initial_accuracy": initial_accuracy,
        "final_accuracy": rounds[-1]["accuracy"] if rounds else initial_accuracy,
        "rounds": rounds,
        "participants": [
            {
                "address": p["address"],
                "role": p["role"],
                "reward_earned": p["reward_earned"],
                "reward_claimed": p["reward_claimed"],
                "slashed": p["slashed"],
            }
            for p in participants
        ],
        "balances": [
            {"address": a, "role": roles.get(a, "?"), "before": run.balances_before[a], "after": after[a]}
            for a in after
        ],
        "privacy": privacy_summary(params, chain.epsilon_spent_micro(task))
        | {
            "readable_updates": readable_updates(run, store, meter),
            "accounting": accounting_line(params.privacy, params.num_rounds),
        },
        "token_supply": chain.total_supply(),
        "tokens_held": sum(chain.balance_of(h) for h in holders),
        "deployment": {name: addr for name, addr in chain.deployment.addresses.items()},
    }


def readable_updates(run: DemoRun, store: IpfsStore, meter: AccuracyMeter) -> dict[str, int]:
    """How many of the updates the trainers pinned decode as the task's weights: every one in a
    plaintext task, none in a sealed or secagg one (the public sees ciphertext or masked words)."""
    specs = meter.model.specs
    reveals = run.chain.events("UpdateRevealed", taskId=run.task_id)
    readable = 0
    for event in reveals:
        data = store.get(str(event.args["updateCid"]), max_bytes=meter.max_bytes)
        try:
            decode_weights(data, specs, max_bytes=meter.max_bytes)
        except InvalidUpdateError:
            continue
        readable += 1
    return {"pinned": len(reveals), "decode_as_weights": readable}


def render(summary: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"task {summary['task']}: {summary['model']} on {summary['dataset']} ({summary['partition']}), "
        f"{summary['trainers']} trainers, {summary['validators']} validators, {summary['rule']}"
    )
    for col in (
        "round",
        "status",
        "accuracy",
        "accepted",
        "rejected (why)",
        "winning stake",
        "rewards paid",
        "slashed",
    ):
        table.add_column(col, justify="right" if col not in ("status", "rejected (why)") else "left")
    table.add_row("init", "", f"{summary['initial_accuracy']:.4f}", "", "", "", "", "")
    for r in summary["rounds"]:
        why = ", ".join(sorted({x["reason"] or "?" for x in r["rejections"]}))
        table.add_row(
            str(r["round"]),
            r["status"],
            f"{r['accuracy']:.4f}",
            str(r["accepted"]),
            f"{r['rejected']}" + (f" ({why})" if why else ""),
            _tokens(r["winning_stake"]),
            _tokens(r["rewards_paid"]),
            _tokens(r["slashed"]),
        )
    console.print(table)
    privacy = summary["privacy"]
    readable = privacy["readable_updates"]
    console.print(
        f"privacy: {describe_privacy(privacy)}; {readable['decode_as_weights']} of the {readable['pinned']} updates "
        "the trainers pinned on IPFS decode as model weights",
        highlight=False,
    )
    if privacy["epsilon_budget"] is not None:
        console.print(f"  {privacy['accounting']}", highlight=False)
    balances = Table(title="token balances (DFL)")
    for col in ("account", "role", "before", "after", "change"):
        balances.add_column(col, justify="left" if col in ("account", "role") else "right")
    for b in summary["balances"]:
        balances.add_row(
            b["address"], b["role"], _tokens(b["before"]), _tokens(b["after"]), _tokens(b["after"] - b["before"])
        )
    console.print(balances)


def plot(summary: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [r["round"] + 1 for r in summary["rounds"]]
    accuracy = [summary["initial_accuracy"]] + [r["accuracy"] for r in summary["rounds"]]
    cumulative, total = [], 0
    for r in summary["rounds"]:
        total += r["rewards_paid"]
        cumulative.append(total / TOKEN)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot([0] + rounds, accuracy, marker="o", color="tab:blue", label="global model accuracy")
    ax.set_xlabel("rounds completed (0: the initial model)")
    ax.set_ylabel("accuracy on the task's evaluation set", color="tab:blue")
    ax.set_ylim(0, 1)
    ax.set_xticks([0] + rounds)
    twin = ax.twinx()
    twin.bar(rounds, cumulative, alpha=0.3, color="tab:green", label="cumulative rewards paid")
    twin.set_ylabel("cumulative rewards paid (DFL)", color="tab:green")
    ax.set_title(f"task {summary['task']}: {summary['model']} on {summary['dataset']}, {summary['trainers']} trainers")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
