"""The requester's privacy choices turned into the task's on-chain privacy terms.

A requester names a mode and, optionally, a differential-privacy budget ε (and δ); the noise
multiplier is then calibrated so that the task's rounds spend at most ε by the integer RDP bound
the contract checks (`offchain.privacy.budget`), and SecAgg's fixed-point scale is chosen so that no
sum of clipped, noised updates can wrap around 2^32 (`offchain.privacy.secagg`).
"""

from __future__ import annotations

from dataclasses import dataclass

from offchain.chain.protocol import PLAINTEXT, PrivacyMode, PrivacyParams, PrivacyUnit
from offchain.errors import ArgumentError
from offchain.privacy.budget import dp_accounting_epsilon, epsilon_micro, noise_multiplier_micro_for
from offchain.privacy.dp_bounds import sample_scale_bits
from offchain.privacy.secagg import scale_bits_for
from offchain.units import MICRO

ATTO = 10**18
MODES = {"plaintext": PrivacyMode.PLAINTEXT, "sealed": PrivacyMode.SEALED, "secagg": PrivacyMode.SECAGG}
UNITS = {"trainer": PrivacyUnit.TRAINER, "sample": PrivacyUnit.SAMPLE}


@dataclass(frozen=True)
class PrivacyChoice:
    mode: str = "plaintext"
    epsilon: float | None = None  # None: no differential privacy
    delta: float = 1e-5
    noise_multiplier: float | None = None  # None: calibrated to ε
    min_contributors: int | None = None  # SecAgg; None: 2
    unit: str = "trainer"  # what ε protects: a trainer's whole data, or each sample (DP-FedSGD)
    samples_per_trainer: int = 10_000  # SecAgg per sample: the scale is chosen to sum this many per trainer


def default_rule(mode: str, rule: str | None) -> str:
    """The aggregation rule for a task: as asked, else consensus_fedavg; under secagg only fedavg (the
    mean of the round's sum) can run, since no update can be read on its own."""
    if mode != "secagg":
        return rule or "consensus_fedavg"
    if rule not in (None, "fedavg"):
        raise ArgumentError(
            f"--privacy secagg aggregates the mean of each round's sum; --rule {rule} needs to read every update: "
            "leave --rule out (fedavg) or choose --privacy sealed"
        )
    return "fedavg"


def privacy_params(
    choice: PrivacyChoice, *, rounds: int, clip_micro: int, max_trainers: int, num_parameters: int
) -> PrivacyParams:
    """The on-chain PrivacyParams for `choice`, or ArgumentError naming the option to change."""
    if choice.mode not in MODES:
        raise ArgumentError(f"unknown --privacy {choice.mode!r}: choose plaintext, sealed or secagg")
    mode = MODES[choice.mode]
    if choice.unit not in UNITS:
        raise ArgumentError(f"unknown --dp-unit {choice.unit!r}: choose trainer or sample")
    unit = UNITS[choice.unit]
    if unit == PrivacyUnit.SAMPLE and choice.epsilon is None:
        raise ArgumentError("--dp-unit sample needs a privacy budget: give --epsilon")
    if mode == PrivacyMode.PLAINTEXT and choice.epsilon is None:
        return PLAINTEXT
    if (mode == PrivacyMode.SECAGG or choice.epsilon is not None) and clip_micro <= 0:
        raise ArgumentError("--privacy secagg and --epsilon need a clip: set --max-delta-norm above 0")
    budget, delta, z = _dp_terms(choice, rounds)
    contributors = 0
    bits = 0
    if mode == PrivacyMode.SECAGG:
        contributors = 2 if choice.min_contributors is None else choice.min_contributors
        if not 2 <= contributors <= max_trainers:
            raise ArgumentError(
                f"--min-contributors must be between 2 and the task's maximum of {max_trainers} trainers per round, "
                f"not {contributors}"
            )
        try:
            if unit == PrivacyUnit.SAMPLE:
                bits = sample_scale_bits(
                    clip_micro, max_trainers, z / MICRO, contributors, num_parameters, choice.samples_per_trainer
                )
            else:
                bits = scale_bits_for(clip_micro, max_trainers, z / MICRO, contributors, num_parameters)
        except ValueError as exc:
            raise ArgumentError(f"secure aggregation cannot hold these sums in 32 bits: {exc}") from None
    elif choice.min_contributors is not None:
        raise ArgumentError("--min-contributors applies to --privacy secagg only")
    return PrivacyParams(mode, budget, delta, z, contributors, bits, unit)


def _dp_terms(choice: PrivacyChoice, rounds: int) -> tuple[int, int, int]:
    """(ε budget, δ, noise multiplier) in the contract's units; zeros without DP."""
    if choice.epsilon is None:
        if choice.noise_multiplier is not None:
            raise ArgumentError("--noise-multiplier needs a privacy budget: give --epsilon")
        return 0, 0, 0
    if not 0 < choice.epsilon <= 1e6:
        raise ArgumentError(f"--epsilon must be more than 0 and at most 1e6, not {choice.epsilon}")
    if not 0 < choice.delta < 1:
        raise ArgumentError(f"--delta must be between 0 and 1 (e.g. 1e-5), not {choice.delta}")
    budget = round(choice.epsilon * MICRO)
    delta = max(1, round(choice.delta * ATTO))
    if choice.noise_multiplier is None:
        z = noise_multiplier_micro_for(budget, delta, rounds)
    else:
        z = round(choice.noise_multiplier * MICRO)
        spent = epsilon_micro(rounds, z, delta) if z > 0 else None
        if spent is None or spent > budget:
            shown = "infinite" if spent is None else f"{spent / MICRO:.4f}"
            raise ArgumentError(
                f"--noise-multiplier {choice.noise_multiplier:g} spends ε = {shown} over {rounds} rounds at δ = "
                f"{choice.delta:g}, more than --epsilon {choice.epsilon:g}: raise it or leave it out to calibrate"
            )
    return budget, delta, z


def accounting_line(params: PrivacyParams, rounds: int) -> str:
    """The task's ε as the contract bounds it, next to Google's dp-accounting for the same
    mechanism (RDP, the bound the contract reproduces in integers, and PLD, tighter): what a
    requester or trainer can recheck before taking part."""
    if not params.dp:
        return "no differential privacy"
    z, delta = params.noise_multiplier_micro / MICRO, params.delta_atto / ATTO
    onchain = epsilon_micro(rounds, params.noise_multiplier_micro, params.delta_atto) / MICRO
    rdp = dp_accounting_epsilon(rounds, z, delta, accountant="rdp")
    pld = dp_accounting_epsilon(rounds, z, delta, accountant="pld")
    if onchain < rdp - 1e-9:  # the integer bound is built never to be below dp-accounting's
        raise RuntimeError(
            f"the on-chain ε bound {onchain} is below dp-accounting's {rdp}: a bug in offchain.privacy.budget"
        )
    return (
        f"ε = {onchain:.6f} over {rounds} rounds at δ = {delta:g} with noise multiplier {z:g} "
        f"(the contract's bound; dp-accounting: RDP {rdp:.6f}, PLD {pld:.6f})"
    )
