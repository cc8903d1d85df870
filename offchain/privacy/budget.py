"""The differential-privacy budget of a task, in the integers the contract uses.

A task runs `rounds` rounds, each a Gaussian mechanism with noise multiplier z (noise std / L2 sensitivity)
on the whole data (sampling rate 1). `epsilon_micro` is the ε, in millionths, of those k rounds composed at
a given δ, as dp-accounting's `RdpAccountant()` (default orders) computes it:

    ε = min over orders α of  k·α/(2z²) + A_α + ln(1/δ)·B_α,   A_α = ln(1 − 1/α) − ln(α)/(α − 1),  B_α = 1/(α − 1)

(floored at 0), evaluated in fixed point with every rounding upward, so it is never below dp-accounting's
value and at most about 1e-6 above it.

Integers only: the value goes into consensus data and the contract recomputes it, so it must be the same
bits on every machine, which float arithmetic and libm do not promise. Every operation mirrors
contracts/libraries/PrivacyBudget.sol one for one (tests/contracts/unit/test_privacy_budget.py checks they
agree bit for bit); the per-order constants come from offchain/privacy/rdp_orders.py, generated with the
Solidity table by tools/privacy/gen_rdp_table.py.

Units: z_micro = z·1e6, delta_atto = δ·1e18, epsilon_micro = ε·1e6, WAD = 1e18.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from offchain.privacy.rdp_orders import ORDERS
from offchain.units import MICRO

WAD = 10**18
ATTO = 10**18
# Both fit uint64 on-chain, which keeps every product in the contract far below 2**256.
MAX_ROUNDS = 2**64 - 1
MAX_Z_MICRO = 2**64 - 1
MAX_DELTA_ATTO = ATTO - 1
UINT256_MAX = 2**256 - 1

# ln(2) in WAD, rounded down (ln 2 = 0.693147180559945309417...).
LN2_WAD = 693_147_180_559_945_309
# ln_wad(x) is at most this far below ln(x/1e18) (in WAD), for every x it accepts: < 5 from the log2 bits
# (the first shift, the floors of 64 squarings and halvings, the truncation after 64 bits, the conversion
# to WAD), < 82 from LN2_WAD's rounding (0.42 per unit of log2, log2 < 197), 1 from the last floor.
LN_WAD_MAX_ERROR = 100


def ln_wad(x: int) -> int:
    """ln(x / 1e18) in WAD, rounded down (by less than LN_WAD_MAX_ERROR), for 1e18 <= x < 2**256.

    log2 by the classic repeated squaring: the integer part is the most significant bit of x/1e18, then
    64 fractional bits, each from squaring y in [1, 2) (WAD) and halving it when it reaches 2.
    """
    _require_int("x", x, WAD, UINT256_MAX, "x is a WAD number >= 1 (ln of less than 1 is negative)")
    whole = (x // WAD).bit_length() - 1
    y = x >> whole  # in [1e18, 2e18)
    fraction = 0  # the fractional part of log2(x / 1e18), 64 binary digits
    bit = 1 << 63
    while bit:
        y = y * y // WAD
        if y >= 2 * WAD:
            fraction |= bit
            y >>= 1
        bit >>= 1
    log2_wad = whole * WAD + ((fraction * WAD) >> 64)
    return log2_wad * LN2_WAD // WAD


def epsilon_micro(rounds: int, z_micro: int, delta_atto: int) -> int:
    """ε·1e6 of `rounds` Gaussian rounds of noise multiplier z_micro/1e6 at δ = delta_atto/1e18: dp-accounting's
    RdpAccountant() bound rounded up, as contracts/libraries/PrivacyBudget.sol computes it."""
    _check_rounds(rounds)
    _check_z_micro(z_micro)
    _check_delta_atto(delta_atto)
    return _bound(rounds, z_micro, delta_atto)


def noise_multiplier_micro_for(epsilon_micro: int, delta_atto: int, rounds: int) -> int:
    """The smallest z_micro whose epsilon_micro(rounds, z_micro, delta_atto) is at most the budget
    `epsilon_micro`: exactly the least noise the contract accepts for that budget.

    Bisection is exact because the bound never increases with z (each order's RDP term shrinks)."""
    _require_int("epsilon_micro", epsilon_micro, 0, UINT256_MAX, "the ε budget times 1e6")
    _check_delta_atto(delta_atto)
    _check_rounds(rounds)
    if _bound(rounds, MAX_Z_MICRO, delta_atto) > epsilon_micro:
        raise ValueError(
            f"no noise multiplier up to z = {MAX_Z_MICRO / MICRO:g} keeps ε within {epsilon_micro / MICRO:g} "
            f"at δ = {delta_atto / ATTO:g}: raise the ε budget or δ"
        )
    too_small, enough = 0, MAX_Z_MICRO  # bound(too_small) > budget (z = 0: no noise), bound(enough) <= budget
    while enough - too_small > 1:
        middle = (too_small + enough) // 2
        if _bound(rounds, middle, delta_atto) <= epsilon_micro:
            enough = middle
        else:
            too_small = middle
    return enough


def dp_accounting_epsilon(rounds: int, z: float, delta: float, *, accountant: Literal["rdp", "pld"] = "rdp") -> float:
    """dp-accounting's ε for `rounds` Gaussian rounds of noise multiplier z at δ: "rdp" is RdpAccountant() with
    its default orders (what epsilon_micro rounds up), "pld" is PLDAccountant() (tighter, float only)."""
    _require_int("rounds", rounds, 1, MAX_ROUNDS, "the number of rounds")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"the noise multiplier z must be a finite number > 0, got {z!r}")
    if not 0 < delta < 1:
        raise ValueError(f"δ must be in (0, 1), got {delta!r}")
    # Imported here: only tests and reports compare with dp-accounting (it pulls in scipy); consensus code never does.
    import dp_accounting  # type: ignore[import-untyped]

    if accountant == "rdp":
        ledger = dp_accounting.rdp.RdpAccountant()
    elif accountant == "pld":
        ledger = dp_accounting.pld.PLDAccountant()
    else:
        raise ValueError(f'accountant must be "rdp" or "pld", got {accountant!r}')
    ledger.compose(dp_accounting.SelfComposedDpEvent(dp_accounting.GaussianDpEvent(z), rounds))
    return float(ledger.get_epsilon(delta))


# --- float <-> integer units ------------------------------------------------------------------------------


def z_micro(z: float) -> int:
    """z·1e6 rounded down (a little less noise than z: the bound stays on the safe side); z_micro(2.7) = 2_700_000."""
    micro = _scaled_down(z, MICRO)
    if micro is None or not 1 <= micro <= MAX_Z_MICRO:
        raise ValueError(
            f"the noise multiplier z must be a number from 1e-6 to {Decimal(MAX_Z_MICRO) / MICRO} "
            f"(it is kept in millionths, rounded down), got {z!r}"
        )
    return micro


def delta_atto(delta: float) -> int:
    """δ·1e18 rounded down (a δ no weaker than asked); delta_atto(1e-5) = 10**13."""
    atto = _scaled_down(delta, ATTO)
    if atto is None or not 1 <= atto <= MAX_DELTA_ATTO:
        raise ValueError(f"δ must be a number from 1e-18 to just below 1 (it is kept in units of 1e-18), got {delta!r}")
    return atto


def epsilon_budget_micro(epsilon: float) -> int:
    """An ε budget in millionths, rounded down (a budget no looser than asked); epsilon_budget_micro(8) = 8_000_000."""
    micro = _scaled_down(epsilon, MICRO)
    if micro is None or micro < 0:
        raise ValueError(f"the ε budget must be a number >= 0, got {epsilon!r}")
    return micro


def epsilon_of_micro(epsilon_micro: int) -> float:
    """ε from its millionths: epsilon_of_micro(8_000_001) = 8.000001."""
    return epsilon_micro / MICRO


def z_of_micro(z_micro: int) -> float:
    """z from its millionths: z_of_micro(2_700_000) = 2.7."""
    return z_micro / MICRO


# --- the bound, as PrivacyBudget.sol computes it -----------------------------------------------------------


def _bound(rounds: int, z_micro: int, delta_atto: int) -> int:
    # L >= ln(1/δ): x rounded up, then ln_wad's largest error added back (B_α > 0, so L rounds up ε_α).
    ln_inv_delta = ln_wad(_ceil_div(10**36, delta_atto)) + LN_WAD_MAX_ERROR
    # r_α = k·α/(2z²) in WAD = ceil(k·1e30·α10 / (20·zMicro²)).
    r_numerator = rounds * 10**30
    r_denominator = 20 * z_micro * z_micro
    best: int | None = None
    for alpha10, a, b in ORDERS:
        r = _ceil_div(r_numerator * alpha10, r_denominator)
        # Later orders have r and A no smaller, and L·B >= 0: once r + A reaches the best, none can beat it.
        if best is not None and r + a >= best:
            break
        candidate = r + a + _ceil_div(ln_inv_delta * b, WAD)
        if best is None or candidate < best:
            best = candidate
    assert best is not None  # ORDERS is not empty
    # +1 micro: ε·1e6 rounded up past every fixed-point rounding above.
    return 0 if best <= 0 else best // 10**12 + 1


def _ceil_div(numerator: int, denominator: int) -> int:
    """ceil(numerator / denominator) for numerator >= 0 and denominator > 0, as (n + d - 1) / d on-chain."""
    return (numerator + denominator - 1) // denominator


def _scaled_down(value: float, scale: int) -> int | None:
    """value·scale rounded down, or None when value is not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    # Decimal(str(...)): the number as written (2.7, not 2.70000000000000017763...), so 2.7 is 2_700_000 exactly.
    return math.floor(Decimal(str(value)) * scale)


def _check_rounds(rounds: int) -> None:
    _require_int("rounds", rounds, 1, MAX_ROUNDS, "the number of rounds")


def _check_z_micro(z_micro: int) -> None:
    _require_int("z_micro", z_micro, 1, MAX_Z_MICRO, "the noise multiplier z times 1e6: z_micro(2.7) = 2_700_000")


def _check_delta_atto(delta_atto: int) -> None:
    _require_int("delta_atto", delta_atto, 1, MAX_DELTA_ATTO, "δ times 1e18 for 0 < δ < 1: delta_atto(1e-5) = 10**13")


def _require_int(name: str, value: int, low: int, high: int, meaning: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer ({meaning}), got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high} ({meaning}), got {value}")
