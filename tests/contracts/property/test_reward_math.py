"""RewardMath called directly (through contracts/test/RewardMathHarness.sol) against exact Python
integer arithmetic, over the full ranges the manager uses (amounts up to uint96, bps up to 10,000):

- roundReward, trainerPool, bpsOf, proRata and reachesQuorum equal their formulas, rounding included;
- the trainer pool and the validator pool (the rest) make up the reward, validators getting the dust;
- the pro-rata shares of any split of a winning stake sum to at most the pool and lose less than one
  unit per share;
- quorum is a strict majority: two disjoint stakes never both reach it, and the smallest stake that
  reaches it leaves a rest that does not.

Every test is derandomized: the same examples on every run.
"""

from __future__ import annotations

import brownie
import pytest
from hypothesis import example, settings
from hypothesis import strategies as st

# Hypothesis' own `given`, not brownie.test.given: these tests only make calls (eth_call), never
# transactions, so the chain needs no revert between examples (Brownie's costs ~30 ms per example).
from hypothesis.core import given

from offchain.units import BPS

UINT16 = 2**16 - 1
UINT96 = 2**96 - 1
MAX_SPLIT = 12

CHECK = settings(max_examples=300, derandomize=True, deadline=None)

# Small values hit the rounding; the full range hits the products' bounds (uint96 * uint96 < 2**192).
amount = st.integers(0, 1_000) | st.integers(0, UINT96)
bps = st.integers(0, BPS)
quorum_bps = st.integers(BPS // 2 + 1, BPS)  # the params store's range: a strict majority


@pytest.fixture(scope="module")
def math(RewardMathHarness, deployer):
    return RewardMathHarness.deploy({"from": deployer})


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- the formulas -----------------------------------------------------------------------------


@CHECK
@given(pool=amount, rounds=st.integers(1, UINT16), data=st.data())
@example(pool=UINT96, rounds=1, data=None)
def testFuzz_roundReward_is_the_pool_spread_over_the_rounds_left(math, pool, rounds, data):
    current = data.draw(st.integers(0, rounds - 1)) if data else 0
    got = math.roundReward(pool, rounds, current)
    assert got == pool // (rounds - current), f"roundReward({pool}, {rounds}, {current}) = {got}"
    if current == rounds - 1:
        assert got == pool, f"the last round ({current} of {rounds}) gets {got}, not the whole pool {pool}"


def test_RevertWhen_roundReward_of_a_round_past_the_last(math):
    # numRounds - round = 0
    with brownie.reverts("Division or modulo by zero"):  # type: ignore[attr-defined]  # Brownie's plugin sets it
        math.roundReward(10**18, 3, 3)
    # numRounds - round < 0 (Brownie names both panics so)
    with brownie.reverts("Integer overflow"):  # type: ignore[attr-defined]  # Brownie's plugin sets it
        math.roundReward(10**18, 3, 4)


@CHECK
@given(reward=amount, share=bps)
@example(reward=UINT96, share=BPS)
@example(reward=UINT96, share=BPS - 1)
def testFuzz_trainerPool_rounds_down_and_the_validator_pool_gets_the_dust(math, reward, share):
    trainers = math.trainerPool(reward, share)
    assert trainers == reward * share // BPS, f"trainerPool({reward}, {share}) = {trainers}"
    assert trainers <= reward, f"trainer pool {trainers} exceeds the reward {reward}"
    validators = reward - trainers  # what the manager pays validators (TaskStorage.validatorShare)
    assert validators == ceil_div(reward * (BPS - share), BPS), (
        f"validator pool {validators} of reward {reward} at trainer share {share} bps is not the rest rounded up"
    )


@CHECK
@given(value=amount, rate=bps, cap=amount)
@example(value=UINT96, rate=BPS, cap=UINT96)
def testFuzz_bpsOf_is_bps_of_the_amount_rounded_down_and_capped(math, value, rate, cap):
    got = math.bpsOf(value, rate, cap)
    assert got == min(value * rate // BPS, cap), f"bpsOf({value}, {rate}, {cap}) = {got}"
    assert got <= value, f"bpsOf({value}, {rate}, {cap}) = {got} exceeds the amount"


@CHECK
@given(pool=amount, winning=st.integers(1, 1_000) | st.integers(1, UINT96), data=st.data())
@example(pool=UINT96, winning=UINT96, data=None)
def testFuzz_proRata_is_the_weights_share_of_the_pool_rounded_down(math, pool, winning, data):
    weight = data.draw(st.integers(0, winning)) if data else winning
    got = math.proRata(pool, weight, winning)
    assert got == pool * weight // winning, f"proRata({pool}, {weight}, {winning}) = {got}"
    assert got <= pool, f"proRata({pool}, {weight}, {winning}) = {got} exceeds the pool"


def test_RevertWhen_proRata_of_a_zero_winning_stake(math):
    # a round with no winner pays nobody pro rata
    with brownie.reverts("Division or modulo by zero"):  # type: ignore[attr-defined]  # Brownie's plugin sets it
        math.proRata(10**18, 0, 0)


@CHECK
@given(
    pool=amount,
    weights=st.lists(st.integers(1, 1_000) | st.integers(1, UINT96 // MAX_SPLIT), min_size=1, max_size=MAX_SPLIT),
)
def testFuzz_proRata_shares_of_a_split_sum_to_at_most_the_pool_losing_under_one_unit_each(math, pool, weights):
    winning = sum(weights)  # the winning side's stakes: they sum to the winning stake
    shares = [int(s) for s in math.proRataShares(pool, weights, winning)]
    paid = sum(shares)
    assert paid <= pool, f"shares {shares} of weights {weights} pay {paid}, more than the pool {pool}"
    assert pool - paid < len(weights), (
        f"shares {shares} of weights {weights} leave {pool - paid} of pool {pool}: a unit or more per share lost"
    )


# --- quorum ---------------------------------------------------------------------------------------


@CHECK
@given(stake=amount, total=amount, quorum=bps)
@example(stake=0, total=0, quorum=BPS)
@example(stake=UINT96, total=UINT96, quorum=BPS)
def testFuzz_reachesQuorum_matches_exact_arithmetic(math, stake, total, quorum):
    got = math.reachesQuorum(stake, total, quorum)
    assert got == (stake != 0 and stake * BPS >= total * quorum), f"reachesQuorum({stake}, {total}, {quorum}) = {got}"


@CHECK
@given(a=amount, b=amount, rest=st.just(0) | amount, quorum=quorum_bps)
@example(a=1, b=1, rest=0, quorum=BPS // 2 + 1)  # an exact tie
def testFuzz_two_disjoint_stakes_never_both_reach_quorum(math, a, b, rest, quorum):
    total = a + b + rest  # may exceed uint96: the products still fit uint256
    both = math.reachesQuorum(a, total, quorum) and math.reachesQuorum(b, total, quorum)
    assert not both, f"stakes {a} and {b} of total {total} both reach quorum {quorum} bps"


@CHECK
@given(total=st.integers(1, 1_000) | st.integers(1, UINT96), quorum=quorum_bps)
def testFuzz_smallest_quorum_stake_reaches_it_and_leaves_a_rest_that_does_not(math, total, quorum):
    smallest = ceil_div(total * quorum, BPS)
    assert math.reachesQuorum(smallest, total, quorum), f"{smallest} of {total} does not reach quorum {quorum} bps"
    below = smallest - 1
    assert not math.reachesQuorum(below, total, quorum), f"{below} of {total} reaches quorum {quorum} bps"
    rest = total - smallest
    assert not math.reachesQuorum(rest, total, quorum), f"the rest {rest} of {total} also reaches quorum {quorum} bps"
