"""The privacy budget's integer mirror (offchain/privacy/budget.py) against Google's dp-accounting and mpmath:

- it is never below RdpAccountant()'s ε and at most 2e-6 above it, over the grid of rounds, z and δ;
- it is the plain minimum over all orders of the normative formula (the early stop changes nothing);
- ln_wad is below ln by at most LN_WAD_MAX_ERROR, so ln(1/δ) is rounded up once that is added back;
- ε grows with the rounds and shrinks with the noise; the calibrated noise is the least the budget accepts;
- the issue's reference: PLDAccountant() gives ε ≈ 8 / 4 / 1 for z = 2.7 / 4.8 / 16.7 at 20 rounds;
- the generated tables are what tools/privacy/gen_rdp_table.py writes today;
- invalid inputs raise ValueError naming the argument and its allowed range.

The contract's agreement with this mirror, bit for bit, is tests/contracts/unit/test_privacy_budget.py.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import mpmath  # type: ignore[import-untyped]
import pytest

from offchain.privacy.budget import (
    LN_WAD_MAX_ERROR,
    MAX_DELTA_ATTO,
    MAX_ROUNDS,
    MAX_Z_MICRO,
    UINT256_MAX,
    WAD,
    delta_atto,
    dp_accounting_epsilon,
    epsilon_budget_micro,
    epsilon_micro,
    epsilon_of_micro,
    ln_wad,
    noise_multiplier_micro_for,
    z_micro,
    z_of_micro,
)
from offchain.privacy.rdp_orders import ORDERS

ROOT = Path(__file__).resolve().parents[3]
GENERATOR = ROOT / "tools" / "privacy" / "gen_rdp_table.py"
GENERATED = (Path("contracts/libraries/RdpOrderTable.sol"), Path("offchain/privacy/rdp_orders.py"))

ROUNDS_GRID = (1, 5, 20, 100, 1000)
Z_GRID = (0.5, 1.0, 2.7, 4.8, 16.7, 50.0)
DELTA_GRID = (1e-3, 1e-5, 1e-8)
GRID = [(k, z, d) for k in ROUNDS_GRID for z in Z_GRID for d in DELTA_GRID]
TOLERANCE = 2e-6

# z for ε = 8 / 4 / 1 at 20 rounds and δ = 1e-5 under PLDAccountant() (the issue's reference values).
PLD_REFERENCE = ((2.7, 8.0), (4.8, 4.0), (16.7, 1.0))
PLD_SLACK = 0.06


def spec_epsilon_micro(rounds: int, z_micro_: int, delta_atto_: int) -> int:
    """The normative formula, read plainly: every order evaluated, no early stop."""
    ln_inv_delta = ln_wad(-(-(10**36) // delta_atto_)) + LN_WAD_MAX_ERROR
    best = min(
        -(-rounds * alpha10 * 10**30 // (20 * z_micro_**2)) + a + -(-ln_inv_delta * b // WAD)
        for alpha10, a, b in ORDERS
    )
    return 0 if best <= 0 else best // 10**12 + 1


# --- against dp-accounting ----------------------------------------------------------------------------------


def test_mirror_is_never_below_rdp_accountant_and_at_most_2e_6_above_it_over_the_grid() -> None:
    off = []
    for rounds, z, delta in GRID:
        mirror = epsilon_of_micro(epsilon_micro(rounds, z_micro(z), delta_atto(delta)))
        reference = dp_accounting_epsilon(rounds, z, delta)
        if not 0 <= mirror - reference <= TOLERANCE:
            off.append(f"k={rounds} z={z} δ={delta}: mirror {mirror} vs RdpAccountant {reference}")
    assert not off, "the mirror leaves [RDP ε, RDP ε + 2e-6]:\n" + "\n".join(off)


def test_rdp_tables_are_dp_accountings_default_orders() -> None:
    from dp_accounting.rdp.rdp_privacy_accountant import DEFAULT_RDP_ORDERS  # type: ignore[import-untyped]

    assert [alpha10 for alpha10, _, _ in ORDERS] == [round(10 * a) for a in DEFAULT_RDP_ORDERS]


def test_pld_gives_the_issues_reference_epsilons_and_rdp_gives_more() -> None:
    for z, expected in PLD_REFERENCE:
        pld = dp_accounting_epsilon(20, z, 1e-5, accountant="pld")
        rdp = dp_accounting_epsilon(20, z, 1e-5)
        mirror = epsilon_of_micro(epsilon_micro(20, z_micro(z), delta_atto(1e-5)))
        values = f"z={z}, 20 rounds, δ=1e-5: PLD ε={pld:.6f}, RDP ε={rdp:.6f}, mirror ε={mirror:.6f}"
        assert abs(pld - expected) <= PLD_SLACK, f"PLD is not ≈ {expected}: {values}"
        assert rdp > pld, f"RDP is not looser than PLD: {values}"
        assert mirror >= rdp, f"the mirror is below RDP: {values}"


# --- the fixed-point arithmetic -------------------------------------------------------------------------------


def test_mirror_is_the_minimum_over_every_order_of_the_normative_formula() -> None:
    draw = random.Random(20)
    cases = [(k, z_micro(z), delta_atto(d)) for k, z, d in GRID]
    cases += [
        (draw.randint(1, 2**16 - 1), draw.randint(10**4, 10**9), draw.randint(1, MAX_DELTA_ATTO)) for _ in range(300)
    ]
    cases += [(1, MAX_Z_MICRO, MAX_DELTA_ATTO), (MAX_ROUNDS, 1, 1)]
    wrong = [
        (c, epsilon_micro(*c), spec_epsilon_micro(*c)) for c in cases if epsilon_micro(*c) != spec_epsilon_micro(*c)
    ]
    assert not wrong, f"(rounds, z_micro, delta_atto), mirror, formula: {wrong[:5]}"


def test_ln_wad_is_below_ln_by_at_most_its_stated_error() -> None:
    mpmath.mp.dps = 100
    draw = random.Random(1)
    xs = [WAD, WAD + 1, 2 * WAD - 1, 2 * WAD, 10**36, UINT256_MAX]
    xs += [draw.randint(WAD, 2 ** draw.randint(60, 256)) for _ in range(1000)]
    for x in xs:
        exact = mpmath.log(mpmath.mpf(x) / WAD) * WAD
        below = exact - ln_wad(x)
        assert 0 <= below <= LN_WAD_MAX_ERROR, f"ln_wad({x}) = {ln_wad(x)} is {below} below ln = {exact}"


def test_epsilon_grows_with_rounds_and_shrinks_with_noise() -> None:
    for delta in DELTA_GRID:
        for z in Z_GRID:
            by_rounds = [epsilon_micro(k, z_micro(z), delta_atto(delta)) for k in (1, 2, 3, 5, 10, 20, 50, 100, 1000)]
            assert by_rounds == sorted(by_rounds), f"ε (micro) over rounds at z={z}, δ={delta}: {by_rounds}"
        by_noise = [epsilon_micro(20, z_micro(z), delta_atto(delta)) for z in Z_GRID]
        assert by_noise == sorted(by_noise, reverse=True), f"ε (micro) over z {Z_GRID} at δ={delta}: {by_noise}"


# --- calibration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epsilon", "delta", "rounds"),
    [(8.0, 1e-5, 20), (4.0, 1e-5, 20), (1.0, 1e-5, 20), (0.5, 1e-8, 1000), (30.0, 1e-3, 1)],
)
def test_calibrated_noise_is_the_least_the_budget_accepts(epsilon: float, delta: float, rounds: int) -> None:
    budget = epsilon_budget_micro(epsilon)
    z = noise_multiplier_micro_for(budget, delta_atto(delta), rounds)
    spent = epsilon_micro(rounds, z, delta_atto(delta))
    less_noise = epsilon_micro(rounds, z - 1, delta_atto(delta))
    where = f"ε budget {epsilon}, δ={delta}, {rounds} rounds: z = {z_of_micro(z)}"
    assert spent <= budget, f"{where} spends ε {epsilon_of_micro(spent)}, over the budget"
    assert less_noise > budget, f"{where} is not the least: z - 1e-6 spends ε {epsilon_of_micro(less_noise)}"


def test_calibration_refuses_a_budget_no_noise_reaches() -> None:
    with pytest.raises(ValueError, match="no noise multiplier"):
        noise_multiplier_micro_for(0, delta_atto(1e-5), 20)


# --- the generated tables ---------------------------------------------------------------------------------------


def test_generated_tables_are_what_the_generator_writes_today(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(GENERATOR), "--out-dir", str(tmp_path)], check=True, capture_output=True)
    for relative in GENERATED:
        fresh = (tmp_path / relative).read_text(encoding="utf-8")
        committed = (ROOT / relative).read_text(encoding="utf-8")
        assert committed == fresh, f"{relative} is stale: run `.venv/bin/python {GENERATOR.relative_to(ROOT)}`"


# --- units and invalid inputs -----------------------------------------------------------------------------------


def test_float_units_convert_as_written_and_round_toward_safety() -> None:
    assert z_micro(2.7) == 2_700_000
    assert z_micro(4.8) == 4_800_000
    assert z_micro(2.7000009) == 2_700_000  # less noise than given: a larger, safe ε
    assert delta_atto(1e-5) == 10**13
    assert delta_atto(1e-18) == 1
    assert epsilon_budget_micro(8) == 8_000_000
    assert epsilon_of_micro(8_000_001) == 8.000001
    assert z_of_micro(2_700_000) == 2.7


@pytest.mark.parametrize(
    ("call", "args", "message"),
    [
        (epsilon_micro, (0, 2_700_000, 10**13), r"rounds must be in 1\.\.18446744073709551615"),
        (epsilon_micro, (20, 0, 10**13), r"z_micro must be in 1\.\..*noise multiplier z times 1e6"),
        (epsilon_micro, (20, 2.7, 10**13), r"z_micro must be an integer .*z_micro\(2\.7\) = 2_700_000"),
        (epsilon_micro, (20, 2_700_000, 0), r"delta_atto must be in 1\.\.999999999999999999 .*0 < δ < 1"),
        (epsilon_micro, (20, 2_700_000, 10**18), r"delta_atto must be in 1\.\."),
        (epsilon_micro, (True, 2_700_000, 10**13), r"rounds must be an integer"),
        (ln_wad, (WAD - 1,), r"x must be in 1000000000000000000\.\..*ln of less than 1 is negative"),
        (noise_multiplier_micro_for, (-1, 10**13, 20), r"epsilon_micro must be in 0\.\."),
        (z_micro, (0.0,), r"noise multiplier z must be a number from 1e-6 to 18446744073709\.551615"),
        (z_micro, (float("nan"),), r"noise multiplier z must be a number from 1e-6"),
        (delta_atto, (1.0,), r"δ must be a number from 1e-18 to just below 1"),
        (delta_atto, (1e-19,), r"δ must be a number from 1e-18"),
        (epsilon_budget_micro, (-1.0,), r"ε budget must be a number >= 0"),
        (dp_accounting_epsilon, (20, 0.0, 1e-5), r"noise multiplier z must be a finite number > 0"),
        (dp_accounting_epsilon, (20, 2.7, 1.5), r"δ must be in \(0, 1\)"),
    ],
)
def test_invalid_inputs_raise_a_value_error_naming_the_allowed_range(
    call: Any, args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(*args)


def test_unknown_accountant_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match='accountant must be "rdp" or "pld"'):
        dp_accounting_epsilon(20, 2.7, 1e-5, accountant="gdp")  # type: ignore[arg-type]
