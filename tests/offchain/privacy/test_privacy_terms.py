"""A requester's privacy options become on-chain terms the contract accepts, or a clear error before
anything is uploaded; a round's key set is the same for everyone; DP loosens the validators' norm
bound exactly by the noise's high-probability norm."""

from __future__ import annotations

import math

import pytest

from offchain.chain.protocol import PLAINTEXT, PrivacyMode, PrivacyParams, PrivacyUnit, TaskParams
from offchain.errors import ArgumentError
from offchain.privacy.budget import epsilon_micro
from offchain.privacy.dp_bounds import max_records, sample_scale_bits, scores_apply, screening_bound_micro
from offchain.privacy.roster import RegisteredKey, exit_times, round_key_set
from offchain.privacy.terms import epsilon_spent_micro, privacy_entry
from offchain.services.privacy_setup import PrivacyChoice, accounting_line, default_rule, privacy_params

KEY = bytes(range(1, 33))  # a usable X25519 point (not low order)


def _params(privacy: PrivacyParams, *, clip: int = 2_000_000, rounds: int = 5) -> TaskParams:
    return TaskParams(
        "QmSpec", "QmInit", "QmEval", b"\1" * 32, 0, (0,), rounds, 0, 60, 60, 60, 60, 60, 60, 3600, 10, 100, 0,
        100, 1 << 24, clip, 6000, 1000, 2000, 1000, 500, 7000, 10**21, privacy,
    )  # fmt: skip


def _choose(choice: PrivacyChoice, *, rounds: int = 5, d: int = 7960) -> PrivacyParams:
    return privacy_params(choice, rounds=rounds, clip_micro=2_000_000, max_trainers=100, num_parameters=d)


def test_plaintext_without_a_budget_is_the_default_terms() -> None:
    assert _choose(PrivacyChoice()) == PLAINTEXT


def test_a_budget_is_calibrated_so_the_rounds_spend_at_most_epsilon() -> None:
    terms = _choose(PrivacyChoice("secagg", epsilon=8.0, min_contributors=3, unit="sample"), rounds=5)
    assert terms.mode == PrivacyMode.SECAGG and terms.unit == PrivacyUnit.SAMPLE and terms.min_contributors == 3
    assert terms.delta_atto == 10**13 and terms.epsilon_budget_micro == 8_000_000
    assert epsilon_micro(5, terms.noise_multiplier_micro, terms.delta_atto) <= 8_000_000
    assert epsilon_micro(5, terms.noise_multiplier_micro - 1, terms.delta_atto) > 8_000_000
    assert 1 <= terms.scale_bits <= 24


@pytest.mark.parametrize(
    "choice,message",
    [
        (PrivacyChoice("public"), "unknown --privacy 'public'"),
        (PrivacyChoice("sealed", unit="patient"), "unknown --dp-unit 'patient'"),
        (PrivacyChoice("secagg", unit="sample"), "--dp-unit sample needs a privacy budget"),
        (PrivacyChoice("sealed", epsilon=0.0), "--epsilon must be more than 0"),
        (PrivacyChoice("sealed", epsilon=8.0, delta=1.0), "--delta must be between 0 and 1"),
        (PrivacyChoice("sealed", noise_multiplier=3.0), "--noise-multiplier needs a privacy budget"),
        (PrivacyChoice("sealed", epsilon=8.0, noise_multiplier=0.5), "spends ε = "),
        (PrivacyChoice("secagg", min_contributors=1), "--min-contributors must be between 2"),
        (PrivacyChoice("sealed", min_contributors=3), "--min-contributors applies to --privacy secagg only"),
    ],
)
def test_options_the_contract_would_refuse_fail_with_the_option_named(choice: PrivacyChoice, message: str) -> None:
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(")):
        _choose(choice)


def test_secagg_needs_a_clip_and_runs_fedavg_only() -> None:
    with pytest.raises(ArgumentError, match="need a clip"):
        privacy_params(PrivacyChoice("secagg"), rounds=3, clip_micro=0, max_trainers=10, num_parameters=10)
    assert default_rule("secagg", None) == "fedavg" and default_rule("sealed", None) == "consensus_fedavg"
    with pytest.raises(ArgumentError, match="--rule median needs to read every update"):
        default_rule("secagg", "median")


def test_the_round_key_set_is_keys_registered_before_the_round_minus_exits_and_unusable_keys() -> None:
    low_order = b"\0" * 32
    keys = [
        RegisteredKey("0xBB" + "00" * 19, KEY, 100),
        RegisteredKey("0xaa" + "00" * 19, KEY, 99),
        RegisteredKey("0xcc" + "00" * 19, KEY, 150),  # registered during the round's commit phase
        RegisteredKey("0xdd" + "00" * 19, KEY, 10),  # asked to leave before the round
        RegisteredKey("0xee" + "00" * 19, low_order, 10),
    ]
    exits = exit_times([("0xDD" + "00" * 19, 80 + 60)], exit_cooldown=60)
    members = round_key_set(keys, exits, commit_starts_at=150)
    assert list(members) == ["0xaa" + "00" * 19, "0xbb" + "00" * 19]


def test_local_dp_widens_the_norm_bound_by_the_noise_and_switches_scores_off() -> None:
    local = _params(PrivacyParams(PrivacyMode.SEALED, 8_000_000, 10**13, 3_000_000))
    d = 7960
    expected_noise = math.ceil(3.0 * 2.0 * (math.ceil(math.sqrt(d)) + 8) * 1e6)
    assert screening_bound_micro(local, d) == 2_000_000 + expected_noise
    assert not scores_apply(local)
    plain = _params(PLAINTEXT)
    assert screening_bound_micro(plain, d) == 2_000_000 and scores_apply(plain)


def test_receipts_carry_the_epsilon_the_started_rounds_spent() -> None:
    terms = PrivacyParams(PrivacyMode.SECAGG, 8_000_000, 10**13, 1_425_870, 3, 16, PrivacyUnit.SAMPLE)
    params = _params(terms)
    entry = privacy_entry(params, 2)
    assert entry is not None and (entry.mode, entry.dp, entry.unit) == ("secagg", "distributed", "sample")
    assert entry.epsilon_spent_micro == epsilon_spent_micro(params, 3) == epsilon_micro(3, 1_425_870, 10**13)
    assert privacy_entry(_params(PLAINTEXT), 2) is None  # plaintext without DP keeps receipt version 2


def test_a_per_sample_secagg_scale_holds_the_examples_it_was_chosen_for() -> None:
    bits = sample_scale_bits(2_000_000, 100, 1.4, 3, 7960, 10_000)
    params = _params(PrivacyParams(PrivacyMode.SECAGG, 8_000_000, 10**13, 1_400_000, 3, bits, PrivacyUnit.SAMPLE))
    assert max_records(params, 7960) >= 10_000
    with pytest.raises(ValueError, match="cannot be summed in 32-bit words"):
        sample_scale_bits(2_000_000, 100, 1.4, 3, 7960, 10**9)


def test_the_accounting_line_shows_the_contracts_bound_next_to_dp_accounting() -> None:
    terms = _choose(PrivacyChoice("secagg", epsilon=8.0, unit="sample"), rounds=20)
    line = accounting_line(terms, 20)
    assert line.startswith("ε = 8.000000 over 20 rounds at δ = 1e-05") and "RDP 7.99999" in line and "PLD 7.4" in line
    assert accounting_line(PLAINTEXT, 20) == "no differential privacy"
