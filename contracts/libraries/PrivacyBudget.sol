// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {RdpOrderTable} from "./RdpOrderTable.sol";

/// @title PrivacyBudget
/// @notice The (ε, δ) differential-privacy cost of a task: `rounds` Gaussian mechanisms of noise multiplier z
///         (noise std / L2 sensitivity) on the whole data, composed, as Google's dp-accounting
///         `RdpAccountant()` (default orders) bounds it:
///             ε = max(0, min over orders α of  k·α/(2z²) + ln(1 − 1/α) − ln(δ·α)/(α − 1)).
///         A contract cannot run dp-accounting; this is the same bound in integer fixed point (WAD = 1e18).
/// @dev Conservative: every rounding goes up (the RDP term and the table's constants are rounded up, ln(1/δ)
///      gets ln's largest error added back, and the result is floor(ε·1e6) + 1), so the value is never below
///      the exact bound and at most about 1e-6 above it. It omits one shortcut of dp-accounting (ε = 0 when
///      δ² > 1 − exp(−RDP), i.e. only for negligible RDP), which can only make it larger.
///      offchain/privacy/budget.py mirrors every operation, bit for bit: off-chain code puts that value in
///      consensus data and the contract recomputes it.
library PrivacyBudget {
    // ============================================================ errors

    /// @notice `rounds` is 0 or does not fit uint64.
    error PrivacyBudgetInvalidRounds(uint256 rounds);

    /// @notice The noise multiplier `zMicro` (z·1e6) is 0 or does not fit uint64.
    error PrivacyBudgetInvalidNoise(uint256 zMicro);

    /// @notice `deltaAtto` (δ·1e18) is not in (0, 1e18): δ must be in (0, 1).
    error PrivacyBudgetInvalidDelta(uint256 deltaAtto);

    /// @notice {lnWad} of `x` < 1e18 (a WAD number below 1 has a negative logarithm).
    error PrivacyBudgetLnBelowOne(uint256 x);

    // ============================================================ constants

    /// @notice Fixed-point one: 1e18 stands for 1.
    uint256 internal constant WAD = 1e18;

    /// @notice The largest `rounds`: uint64 keeps every product of {epsilonMicro} below 2**180.
    uint256 internal constant MAX_ROUNDS = type(uint64).max;

    /// @notice The largest `zMicro` (z about 1.8e13): uint64 keeps 20·zMicro² below 2**133.
    uint256 internal constant MAX_Z_MICRO = type(uint64).max;

    /// @notice ln(2) in WAD, rounded down (ln 2 = 0.693147180559945309417...).
    uint256 internal constant LN2_WAD = 693147180559945309;

    /// @notice {lnWad}(x) is at most this far below ln(x/1e18) (WAD) for every x: < 5 from the log2 bits, < 82 from
    ///         LN2_WAD's rounding (0.42 per unit of log2, which is < 197), 1 from the last floor.
    uint256 internal constant LN_WAD_MAX_ERROR = 100;

    // ============================================================ logic

    /// @notice ε·1e6 of `rounds` Gaussian rounds of noise multiplier `zMicro`/1e6 at δ = `deltaAtto`/1e18:
    ///         dp-accounting's RdpAccountant() bound, rounded up (0 when that bound is 0).
    /// @dev Per order, in WAD: ε_α = ceil(k·α10·1e30 / (20·zMicro²)) + A_α + ceil(L·B_α / 1e18), with
    ///      L >= ln(1/δ) and A_α, B_α from {RdpOrderTable}; the result is floor(min ε_α / 1e12) + 1, or 0.
    function epsilonMicro(uint256 rounds, uint256 zMicro, uint256 deltaAtto) internal pure returns (uint256) {
        if (rounds == 0 || rounds > MAX_ROUNDS) revert PrivacyBudgetInvalidRounds(rounds);
        if (zMicro == 0 || zMicro > MAX_Z_MICRO) revert PrivacyBudgetInvalidNoise(zMicro);
        if (deltaAtto == 0 || deltaAtto >= WAD) revert PrivacyBudgetInvalidDelta(deltaAtto);

        // L >= ln(1/δ): 1/δ rounded up, then lnWad's largest error added back (B_α > 0: L rounds ε_α up).
        uint256 lnInvDelta = lnWad(_ceilDiv(1e36, deltaAtto)) + LN_WAD_MAX_ERROR;
        // r_α = k·α/(2z²) in WAD = ceil(k·1e30·α10 / (20·zMicro²)).
        uint256 rNumerator = rounds * 1e30;
        uint256 rDenominator = 20 * zMicro * zMicro;
        bytes memory orders = RdpOrderTable.ORDERS;
        int256 best = type(int256).max;
        for (uint256 i = 0; i < RdpOrderTable.COUNT; ++i) {
            (uint256 alpha10, uint256 minusA, uint256 b) = _order(orders, i);
            // Cannot overflow because rounds < 2**64, 1e30 < 2**100, alpha10 < 2**14 and 20·zMicro² < 2**133,
            // so r < 2**178 (int256 holds it); L < 2**66 (ln(1e18) < 42 WAD) and b < 2**64.
            unchecked {
                uint256 r = (rNumerator * alpha10 + rDenominator - 1) / rDenominator;
                // Later orders have r and A no smaller, and L·B >= 0: once r + A reaches best, none can beat it.
                if (int256(r) - int256(minusA) >= best) break;
                int256 candidate = int256(r + (lnInvDelta * b + WAD - 1) / WAD) - int256(minusA);
                if (candidate < best) best = candidate;
            }
        }
        // +1 micro: ε·1e6 rounded up past every fixed-point rounding above.
        return best <= 0 ? 0 : uint256(best) / 1e12 + 1;
    }

    /// @notice ln(x / 1e18) in WAD, rounded down (by less than {LN_WAD_MAX_ERROR}), for x >= 1e18.
    /// @dev log2 by the classic repeated squaring: the integer part is the most significant bit of x/1e18, then
    ///      64 fractional bits, each from squaring y in [1, 2) (WAD) and halving it when it reaches 2; times ln 2.
    function lnWad(uint256 x) internal pure returns (uint256) {
        if (x < WAD) revert PrivacyBudgetLnBelowOne(x);
        uint256 whole = _mostSignificantBit(x / WAD);
        uint256 y = x >> whole; // in [1e18, 2e18)
        uint256 fraction = 0; // the fractional part of log2(x / 1e18), 64 binary digits
        // Cannot overflow because y < 2e18 (y² < 2**122), fraction < 2**64 and whole < 197.
        unchecked {
            for (uint256 bit = 1 << 63; bit != 0; bit >>= 1) {
                y = y * y / WAD;
                if (y >= 2 * WAD) {
                    fraction |= bit;
                    y >>= 1;
                }
            }
            uint256 log2Wad = whole * WAD + ((fraction * WAD) >> 64);
            return log2Wad * LN2_WAD / WAD;
        }
    }

    // ============================================================ internal

    /// @dev Entry `i` of the packed table: α10 (2 bytes), −A_α (8 bytes), B_α (8 bytes), big-endian.
    function _order(bytes memory orders, uint256 i)
        private
        pure
        returns (uint256 alpha10, uint256 minusA, uint256 b)
    {
        uint256 word;
        // The 32 bytes that end with the entry's last byte: all inside `orders` (its length word included).
        assembly ("memory-safe") {
            word := mload(add(add(orders, 18), mul(i, 18)))
        }
        alpha10 = (word >> 128) & type(uint16).max;
        minusA = (word >> 64) & type(uint64).max;
        b = word & type(uint64).max;
    }

    /// @dev n / d rounded up, for d > 0 and n + d − 1 < 2**256.
    function _ceilDiv(uint256 n, uint256 d) private pure returns (uint256) {
        return (n + d - 1) / d;
    }

    /// @dev The index of the most significant set bit of `v` > 0 (floor(log2 v)).
    function _mostSignificantBit(uint256 v) private pure returns (uint256 n) {
        if (v >= 1 << 128) {
            v >>= 128;
            n += 128;
        }
        if (v >= 1 << 64) {
            v >>= 64;
            n += 64;
        }
        if (v >= 1 << 32) {
            v >>= 32;
            n += 32;
        }
        if (v >= 1 << 16) {
            v >>= 16;
            n += 16;
        }
        if (v >= 1 << 8) {
            v >>= 8;
            n += 8;
        }
        if (v >= 1 << 4) {
            v >>= 4;
            n += 4;
        }
        if (v >= 1 << 2) {
            v >>= 2;
            n += 2;
        }
        if (v >= 1 << 1) n += 1;
    }
}
