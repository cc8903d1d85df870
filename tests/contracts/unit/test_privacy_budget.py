"""PrivacyBudget (through contracts/test/PrivacyBudgetHarness.sol) against its Python mirror,
offchain/privacy/budget.py, which is itself checked against dp-accounting (tests/offchain/privacy):

- epsilonMicro returns exactly the mirror's value, on the grid of the off-chain tests and on drawn inputs;
- lnWad equals the mirror bit for bit over its whole domain;
- invalid inputs revert with the library's own errors, naming the value;
- epsilonMicro at 20 rounds costs createTask less than GAS_BUDGET_20_ROUNDS.

Every drawn test is derandomized: the same examples on every run.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, settings
from hypothesis import strategies as st

# Hypothesis' own `given`, not brownie.test.given: these tests only make calls (eth_call), never
# transactions, so the chain needs no revert between examples.
from hypothesis.core import given

from contract_helpers import reverts
from offchain.privacy.budget import (
    MAX_DELTA_ATTO,
    MAX_ROUNDS,
    MAX_Z_MICRO,
    UINT256_MAX,
    WAD,
    delta_atto,
    epsilon_micro,
    ln_wad,
    z_micro,
)

CHECK = settings(max_examples=300, derandomize=True, deadline=None)

ROUNDS_GRID = (1, 5, 20, 100, 1000)
Z_GRID = (0.5, 1.0, 2.7, 4.8, 16.7, 50.0)
DELTA_GRID = (1e-3, 1e-5, 1e-8)

# createTask (about 713,000 gas, reports/gas.json) calls epsilonMicro once. Its gas depends on the inputs only
# through how many of the 156 orders it scans before the early stop: measured 25,507 at 20 rounds, z = 2.7,
# δ = 1e-5 (56 orders), and 56,709 when it scans them all (large z), the worst case of any input (lnWad's 64
# steps are fixed). 60,000 bounds what createTask can ever pay for it (8 %) and fails on a regression of more
# than about 20 gas per order.
GAS_BUDGET_20_ROUNDS = 60_000


@pytest.fixture(scope="module")
def budget(PrivacyBudgetHarness: Any, deployer: Any) -> Any:
    return PrivacyBudgetHarness.deploy({"from": deployer})


@pytest.mark.parametrize("rounds", ROUNDS_GRID)
def test_epsilonMicro_equals_the_mirror_on_the_grid(budget: Any, rounds: int) -> None:
    for z in Z_GRID:
        for delta in DELTA_GRID:
            args = (rounds, z_micro(z), delta_atto(delta))
            got = budget.epsilonMicro(*args)
            assert got == epsilon_micro(*args), f"epsilonMicro{args} = {got}, the mirror says {epsilon_micro(*args)}"


@CHECK
@given(
    rounds=st.integers(1, 2**16 - 1),
    z=st.integers(10**4, 10**9),
    delta=st.integers(1, MAX_DELTA_ATTO) | st.integers(1, 10**15),
)
@example(rounds=1, z=10**4, delta=1)  # the largest ε of the range
@example(rounds=2**16 - 1, z=10**4, delta=1)
@example(rounds=1, z=10**9, delta=MAX_DELTA_ATTO)  # ε = 0
@example(rounds=MAX_ROUNDS, z=1, delta=1)  # the extremes the library accepts
@example(rounds=1, z=MAX_Z_MICRO, delta=MAX_DELTA_ATTO)
def testFuzz_epsilonMicro_equals_the_mirror(budget: Any, rounds: int, z: int, delta: int) -> None:
    got = budget.epsilonMicro(rounds, z, delta)
    want = epsilon_micro(rounds, z, delta)
    assert got == want, f"epsilonMicro({rounds}, {z}, {delta}) = {got}, the mirror says {want}"


@CHECK
@given(x=st.integers(WAD, 2 * WAD) | st.integers(WAD, 10**36) | st.integers(WAD, UINT256_MAX))
@example(x=WAD)
@example(x=2 * WAD - 1)
@example(x=2 * WAD)
@example(x=UINT256_MAX)
def testFuzz_lnWad_equals_the_mirror_bit_for_bit(budget: Any, x: int) -> None:
    got = budget.lnWad(x)
    assert got == ln_wad(x), f"lnWad({x}) = {got}, the mirror says {ln_wad(x)}"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((0, 2_700_000, 10**13), "PrivacyBudgetInvalidRounds: 0"),
        ((MAX_ROUNDS + 1, 2_700_000, 10**13), f"PrivacyBudgetInvalidRounds: {MAX_ROUNDS + 1}"),
        ((20, 0, 10**13), "PrivacyBudgetInvalidNoise: 0"),
        ((20, MAX_Z_MICRO + 1, 10**13), f"PrivacyBudgetInvalidNoise: {MAX_Z_MICRO + 1}"),
        ((20, 2_700_000, 0), "PrivacyBudgetInvalidDelta: 0"),
        ((20, 2_700_000, WAD), f"PrivacyBudgetInvalidDelta: {WAD}"),
    ],
)
def test_RevertWhen_epsilonMicro_gets_an_invalid_input(budget: Any, args: tuple[int, int, int], error: str) -> None:
    with reverts(error):
        budget.epsilonMicro(*args)


def test_RevertWhen_lnWad_of_less_than_one(budget: Any) -> None:
    with reverts(f"PrivacyBudgetLnBelowOne: {WAD - 1}"):
        budget.lnWad(WAD - 1)


def test_epsilonMicro_at_20_rounds_stays_within_its_gas_budget(budget: Any) -> None:
    measured = {}
    for z in (*Z_GRID, 0.01, 1000.0):
        for delta in (*DELTA_GRID, 1e-18, 0.5):
            epsilon, gas = budget.epsilonMicroGas(20, z_micro(z), delta_atto(delta))
            measured[(z, delta)] = gas
            assert epsilon == epsilon_micro(20, z_micro(z), delta_atto(delta))
    typical = measured[(2.7, 1e-5)]
    worst = max(measured.values())
    print(f"\nepsilonMicro(20 rounds) gas: {typical} at z = 2.7, δ = 1e-5; worst {worst} over {len(measured)} inputs")
    assert worst < GAS_BUDGET_20_ROUNDS, (
        f"epsilonMicro(20, ...) used {worst} gas, over the budget {GAS_BUDGET_20_ROUNDS}"
    )
