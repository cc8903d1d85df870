"""The incentive benchmark's report: payoffs per strategy and role from the runs' ledgers (net DFL
per round, against the same agents' honest play), the verdict, the markdown table of BENCHMARKS.md
and the plot (`bench/incentives.py` runs the experiment). A report holds today's scheme with the one
before issue 12 under "baseline", or one scheme alone (`scheme_name`: a --scheme secagg report)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.incentives_agents import LAZY_VARIANTS, PROBE_STRATEGIES, TRAINER_STRATEGIES
from offchain.units import TOKEN

if TYPE_CHECKING:
    from bench.incentives import Experiment

GAS_PRICE_GWEI = 1.0
TOKENS_PER_ETH = 1_000.0  # 1 DFL = 0.001 ETH: at 1 gwei, 1,000,000 gas costs 1 DFL

# --- payoff tables --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GasRate:
    gwei: float = GAS_PRICE_GWEI
    tokens_per_eth: float = TOKENS_PER_ETH

    def tokens(self, gas: int) -> float:
        return gas * self.gwei * 1e-9 * self.tokens_per_eth


def _totals(run: dict[str, Any], names: list[str]) -> dict[str, int]:
    rows = [run["payoffs"][n] for n in names]
    return {k: sum(r[k] for r in rows) for k in ("rewards", "slashes", "gas")}


def entry(
    run: dict[str, Any], names: list[str], reference: dict[str, Any], ref_names: list[str], players: int, rate: GasRate
) -> dict[str, Any]:
    """A strategy's payoff per round and player, and the same players' payoff when honest."""
    per = run["rounds"] * players
    mine, ref = _totals(run, names), _totals(reference, ref_names)

    def net(t: dict[str, int], with_gas: bool) -> float:
        return ((t["rewards"] - t["slashes"]) / TOKEN - (rate.tokens(t["gas"]) if with_gas else 0.0)) / per

    value, honest = net(mine, True), net(ref, True)
    gas_tokens = rate.tokens(mine["gas"]) / per
    return {
        "net_payoff_per_round": value,
        "net_payoff_per_round_without_gas": net(mine, False),
        "rewards_per_round": mine["rewards"] / TOKEN / per,
        "slashes_per_round": mine["slashes"] / TOKEN / per,
        "gas_per_round": gas_tokens,
        "gas_units_per_round": mine["gas"] / per,
        # the gas price (gwei, at the same DFL/ETH) at which this play stops paying
        "break_even_gas_price_gwei": net(mine, False) / gas_tokens * rate.gwei if gas_tokens else None,
        "honest_net_payoff_per_round": honest,
        "honest_net_payoff_per_round_without_gas": net(ref, False),
        "vs_honest": value - honest,
        "vs_honest_without_gas": net(mine, False) - net(ref, False),
        "strictly_less_than_honest": value < honest,
        "net_wei_without_gas": str(mine["rewards"] - mine["slashes"]),
        "honest_net_wei_without_gas": str(ref["rewards"] - ref["slashes"]),
        "accounts": names,
        "players": players,
        "run": run["label"],
        "rounds_accepted_rejected_failed": [run["accepted"], run["rejected"], run["failed"]],
        # Robust to which rounds validators happened to reject: the players' mean share of the trainer
        # pool over the run's accepted rounds, and the same when honest in the reference.
        "share_of_trainer_pool_in_accepted_rounds": pool_share(run, names),
        "honest_share_of_trainer_pool_in_accepted_rounds": pool_share(reference, ref_names),
        "final_accuracy": run["final_accuracy"],
    }


def pool_share(run: dict[str, Any], names: list[str]) -> float | None:
    shares = [
        sum(log["paid"].get(n, 0) for n in names) / log["trainer_pool"]
        for log in run["round_log"]
        if log["status"] == "accepted" and log["trainer_pool"]
    ]
    return sum(shares) / len(shares) if shares else None


def per_round(run: dict[str, Any], reference: dict[str, Any], name: str) -> dict[str, Any]:
    """A validator's reward in each round next to what it earned in that round when honest (the
    reference run): the worst ratio over the rounds where honest play earned something, and the
    rounds where it earned while honest play earned nothing."""
    rounds = [
        (a.get("validator_paid", {}).get(name, 0), b.get("validator_paid", {}).get(name, 0))
        for a, b in zip(run["round_log"], reference["round_log"], strict=True)
    ]
    ratios = [mine / honest for mine, honest in rounds if honest]
    return {
        "reward_per_round_wei": [str(mine) for mine, _ in rounds],
        "honest_reward_per_round_wei": [str(honest) for _, honest in rounds],
        "worst_round_vs_honest": max(ratios) if ratios else None,
        "rounds_paid_when_honest_was_not": sum(1 for mine, honest in rounds if mine and not honest),
    }


def tables(runs: dict[tuple[str, str], dict[str, Any]], exp: Experiment, scheme: str, rate: GasRate) -> dict[str, Any]:
    d = exp.deviator
    reference = runs[(scheme, "reference")]
    trainer = {}
    for s in TRAINER_STRATEGIES + PROBE_STRATEGIES:
        run = runs[(scheme, f"trainer:{s}")] if s != "honest" else reference
        names = [n for n, p in run["payoffs"].items() if n == f"trainer-{d}" or n.startswith(f"trainer-{d}-")]
        trainer[s] = entry(run, names, reference, [f"trainer-{d}"], 1, rate) | {"probe": s in PROBE_STRATEGIES}
    lazy_agent = [f"validator-{exp.validators - 1}"]
    validator = {
        "honest": entry(reference, lazy_agent, reference, lazy_agent, 1, rate)
        | per_round(reference, reference, lazy_agent[0])
    }
    variants = {
        s: entry(runs[(scheme, f"validator:{s}")], lazy_agent, reference, lazy_agent, 1, rate)
        | per_round(runs[(scheme, f"validator:{s}")], reference, lazy_agent[0])
        for s in LAZY_VARIANTS
    }
    best = max(variants, key=lambda s: variants[s]["net_payoff_per_round"])
    validator["lazy"] = variants[best] | {"best_variant": best, "variants": variants}
    colluders = [f"validator-{v}" for v in exp.colluders]
    run = runs[(scheme, "validator:colluding_minority")]
    validator["colluding_minority"] = entry(run, colluders, reference, colluders, len(colluders), rate)
    return {"trainer": trainer, "validator": validator}


def schemes(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(key, label, tables) of each scheme in the report."""
    if "baseline" in report:
        return [("today", "today", report), ("baseline", "before issue 12", report["baseline"])]
    return [(report["scheme_name"], report["scheme_name"], report)]


def verdict(report: dict[str, Any]) -> dict[str, Any]:
    """Does every deviation of the issue's list earn strictly less than honest play?"""
    out: dict[str, Any] = {}
    for scheme, _, tabs in schemes(report):
        fails: list[str] = []
        probes: list[str] = []
        for role in ("trainer", "validator"):
            for s, e in tabs[role].items():
                if s == "honest" or e["strictly_less_than_honest"]:
                    continue
                (probes if e.get("probe") else fails).append(f"{role} {s}: {e['vs_honest']:+.4f} DFL/round vs honest")
        out[scheme] = {"every_deviation_strictly_less": not fails, "failures": fails, "probes_not_less": probes}
    return out


# --- output -------------------------------------------------------------------------------------


def _share(e: dict[str, Any]) -> str:
    value = e.get("share_of_trainer_pool_in_accepted_rounds") if "probe" in e else None
    return f"{100 * value:.1f} %" if value is not None else ""


def markdown(report: dict[str, Any]) -> str:
    """The table of BENCHMARKS.md: net DFL per round, today vs before issue 12, and vs honest; for
    trainers also the mean share of the trainer pool over the run's accepted rounds. A one-scheme
    report gets its own table (`one_scheme_markdown`)."""
    if "baseline" not in report:
        return one_scheme_markdown(report)
    lines = [
        "| role | strategy | today: net DFL/round | vs honest | without gas | pool share | "
        "before issue 12: net DFL/round | vs honest | pool share |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for role in ("trainer", "validator"):
        for s, e in report[role].items():
            b = report["baseline"][role].get(s)
            name = f"{s} (probe)" if e.get("probe") else s
            if s == "lazy":
                before = f"; before: {b['best_variant'].removeprefix('lazy_')}" if b else ""
                name += f" (best: {e['best_variant'].removeprefix('lazy_')}{before})"
            then = f"{b['net_payoff_per_round']:+.3f} | {b['vs_honest']:+.3f} | {_share(b)}" if b else "– | – | –"
            lines.append(
                f"| {role} | {name} | {e['net_payoff_per_round']:+.3f} | {e['vs_honest']:+.3f} | "
                f"{e['net_payoff_per_round_without_gas']:+.3f} | {_share(e) or _worst_round(e)} | {then} |"
            )
    return "\n".join(lines)


def _worst_round(e: dict[str, Any]) -> str:
    """A validator's pay against honest play round by round: at most this share of what honest play
    earned in the same round (and the rounds it earned where honest play earned nothing)."""
    worst = e.get("worst_round_vs_honest")
    if worst is None and "worst_round_vs_honest" not in e:
        return ""
    text = f"at most {100 * worst:.0f} % of honest in any round" if worst is not None else "no round paid"
    extra = e.get("rounds_paid_when_honest_was_not", 0)
    return text + (f", +{extra} rounds honest was not" if extra else "")


def one_scheme_markdown(report: dict[str, Any]) -> str:
    """Net DFL per round and vs honest under one scheme, the trainers' pool share, and the run's
    accepted / rejected / failed rounds and final accuracy (a deviation also moves the model)."""
    name = report["scheme_name"]
    lines = [
        f"| role | strategy | {name}: net DFL/round | vs honest | without gas | pool share | "
        "rounds accepted / rejected / failed | final accuracy |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for role in ("trainer", "validator"):
        for s, e in report[role].items():
            label = f"{s} (probe)" if e.get("probe") else s
            if s == "lazy":
                label += f" (best: {e['best_variant'].removeprefix('lazy_')})"
            rounds = " / ".join(str(n) for n in e["rounds_accepted_rejected_failed"])
            lines.append(
                f"| {role} | {label} | {e['net_payoff_per_round']:+.3f} | {e['vs_honest']:+.3f} | "
                f"{e['net_payoff_per_round_without_gas']:+.3f} | {_share(e)} | {rounds} | {e['final_accuracy']:.4f} |"
            )
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), dpi=120, gridspec_kw={"width_ratios": [4, 1.4]})
    shown = schemes(report)
    width = 0.8 / len(shown)
    for ax, role in zip(axes, ("trainer", "validator"), strict=True):
        names = list(report[role])
        xs = np.arange(len(names))
        for k, ((_, label, tabs), color, style) in enumerate(zip(shown, ("tab:blue", "tab:gray"), ("--", ":"))):
            values = [tabs[role][s]["net_payoff_per_round"] if s in tabs[role] else np.nan for s in names]
            ax.bar(xs + (k - (len(shown) - 1) / 2) * width, values, width, label=label, color=color)
            ax.axhline(tabs[role]["honest"]["net_payoff_per_round"], color=color, ls=style, lw=0.8)
        ax.axhline(0, color="black", lw=0.5)
        labels = [f"{s}*" if report[role][s].get("probe") else s for s in names]
        ax.set_xticks(xs, labels, rotation=40, ha="right", fontsize=7)
        ax.set_title(f"{role}s: net DFL per round (lines: honest)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("DFL per round (rewards - slashes - gas)")
    axes[0].legend(fontsize=7)
    s = report["setup"]
    fig.suptitle(
        f"{s['model']} on {s['dataset']}, {s['trainers']} trainers, {report['agents']['validators']} validators, "
        f"{s['rounds']} rounds; gas {report['gas']['price_gwei']:g} gwei at {report['gas']['tokens_per_eth']:g} DFL/ETH; "
        + (f"secagg clip {report['secagg']['clip']:g}; " if report.get("secagg") else "")
        + "* probe beyond the issue's list",
        fontsize=8,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
