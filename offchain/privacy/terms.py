"""A task's privacy terms as the round computations and receipts use them."""

from __future__ import annotations

from offchain.chain.protocol import PrivacyMode, PrivacyUnit, TaskParams
from offchain.fl.receipt import PrivacyEntry
from offchain.fl.secure_round import SecureTerms
from offchain.privacy.budget import epsilon_micro
from offchain.privacy.secagg import MaskContext

MODE_NAMES = {PrivacyMode.PLAINTEXT: "plaintext", PrivacyMode.SEALED: "sealed", PrivacyMode.SECAGG: "secagg"}
UNIT_NAMES = {PrivacyUnit.TRAINER: "trainer", PrivacyUnit.SAMPLE: "sample"}


def dp_kind(params: TaskParams) -> str:
    """none, local (each readable update noised on its own) or distributed (the secure sum's noise)."""
    if not params.privacy.dp:
        return "none"
    return "distributed" if params.privacy.mode == PrivacyMode.SECAGG else "local"


def epsilon_spent_micro(params: TaskParams, rounds_started: int) -> int:
    """ε x 1e6 spent once `rounds_started` rounds have started (the bound the contract enforces)."""
    q = params.privacy
    if not q.dp or rounds_started <= 0:
        return 0
    return epsilon_micro(rounds_started, q.noise_multiplier_micro, q.delta_atto)


def privacy_entry(params: TaskParams, round_id: int) -> PrivacyEntry | None:
    """The receipt's privacy entry for `round_id` (None for a plaintext task without DP: receipt v2)."""
    q = params.privacy
    if q.mode == PrivacyMode.PLAINTEXT and not q.dp:
        return None
    return PrivacyEntry(
        mode=MODE_NAMES[q.mode],
        dp=dp_kind(params),
        unit=UNIT_NAMES[q.unit],
        epsilon_spent_micro=epsilon_spent_micro(params, round_id + 1),
        epsilon_budget_micro=q.epsilon_budget_micro,
        delta_atto=q.delta_atto,
        noise_multiplier_micro=q.noise_multiplier_micro,
    )


def secure_terms(params: TaskParams, context: MaskContext, round_id: int) -> SecureTerms:
    entry = privacy_entry(params, round_id)
    assert entry is not None  # a SecAgg task always has one
    q = params.privacy
    return SecureTerms(
        context=context,
        clip_micro=params.max_delta_norm_micro,
        scale_bits=q.scale_bits,
        min_contributors=q.min_contributors,
        noise_multiplier_micro=q.noise_multiplier_micro if q.dp else 0,
        privacy=entry,
        per_sample=q.dp and q.unit == PrivacyUnit.SAMPLE,
    )
