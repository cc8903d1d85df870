"""A task's privacy terms and the ε spent so far, as `dfl task show`, the demo and the explorer print them.

The JSON shape is the one the demo's summary uses:
{"mode": "secagg", "dp": "distributed", "unit": "sample", "epsilon_spent": 3.2, "epsilon_budget": 8.0, "delta": 1e-05,
"noise_multiplier": 2.9}; without a budget, epsilon_* and delta are null. ε values are the contract's
integer RDP bound (offchain.privacy.budget), shown in ε units.
"""

from __future__ import annotations

from typing import Any

from offchain.chain.protocol import TaskParams
from offchain.fl.receipt import RoundReceipt
from offchain.privacy.terms import MODE_NAMES, UNIT_NAMES, dp_kind
from offchain.units import MICRO

ATTO = 10**18

WHO_READS = {
    "plaintext": "updates are public on IPFS",
    "sealed": "updates are readable by the task's validators only",
    "secagg": "no single update is readable; validators see only each round's sum",
}


def privacy_summary(params: TaskParams, epsilon_spent_micro: int) -> dict[str, Any]:
    q = params.privacy
    dp = q.dp
    return {
        "mode": MODE_NAMES[q.mode],
        "dp": dp_kind(params),
        "unit": UNIT_NAMES[q.unit] if dp else None,
        "epsilon_spent": epsilon_spent_micro / MICRO if dp else None,
        "epsilon_budget": q.epsilon_budget_micro / MICRO if dp else None,
        "delta": q.delta_atto / ATTO if dp else None,
        "noise_multiplier": q.noise_multiplier_micro / MICRO if dp else None,
        "min_contributors": q.min_contributors or None,
    }


def describe_privacy(summary: dict[str, Any]) -> str:
    """One line: who reads updates, and the ε spent of the budget."""
    text = f"{summary['mode']} ({WHO_READS[summary['mode']]})"
    if summary["min_contributors"]:
        text += f", sums of at least {summary['min_contributors']} updates"
    if summary["epsilon_budget"] is None:
        return text + "; no differential privacy"
    return (
        text + f"; ε per {summary['unit']} spent {summary['epsilon_spent']:.3f} of {summary['epsilon_budget']:g} "
        f"(δ = {summary['delta']:g}, {summary['dp']} noise, multiplier {summary['noise_multiplier']:g})"
    )


def receipt_privacy(receipt: RoundReceipt | None) -> dict[str, Any] | None:
    """A round receipt's privacy entry (ε in ε units) and SecAgg sum, as `dfl round show` and the
    explorer's round page show them (None for a plaintext task without DP)."""
    if receipt is None or receipt.privacy is None:
        return None
    entry, total = receipt.privacy, receipt.secure_sum
    dp = entry.dp != "none"
    return {
        "mode": entry.mode,
        "dp": entry.dp,
        "unit": entry.unit,
        "epsilon_spent": entry.epsilon_spent_micro / MICRO if dp else None,
        "epsilon_budget": entry.epsilon_budget_micro / MICRO if dp else None,
        "secure_sum": None
        if total is None
        else {
            "status": total.status,
            "detail": total.detail,
            "contributors": list(total.contributors),
            "dropouts": list(total.dropouts),
            "scale_bits": total.scale_bits,
        },
    }
