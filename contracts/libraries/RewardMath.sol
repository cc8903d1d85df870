// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title RewardMath
/// @notice Pure arithmetic of round rewards, slashes and quorum. All amounts fit in uint96, so
///         products of two amounts or of an amount and a bps value cannot overflow uint256.
library RewardMath {
    /// @notice Basis-point denominator.
    uint256 internal constant BPS = 10_000;

    /// @notice Reward of round `round`: the unallocated pool spread over the rounds left.
    function roundReward(uint256 pool, uint256 numRounds, uint256 round) internal pure returns (uint256) {
        return pool / (numRounds - round);
    }

    /// @notice Trainer share of `reward` (rounded down); the validators get the rest.
    function trainerPool(uint256 reward, uint256 trainerShareBps) internal pure returns (uint256) {
        return reward * trainerShareBps / BPS;
    }

    /// @notice `bps` of `amount`, rounded down, capped at `cap`.
    function bpsOf(uint256 amount, uint256 bps, uint256 cap) internal pure returns (uint256) {
        uint256 value = amount * bps / BPS;
        return value < cap ? value : cap;
    }

    /// @notice A validator's share of `pool`: pool * weight / winningStake, rounded down, so the
    ///         shares of all winning validators (whose weights sum to winningStake) never exceed pool.
    function proRata(uint256 pool, uint256 weight, uint256 winningStake) internal pure returns (uint256) {
        return pool * weight / winningStake;
    }

    /// @notice Whether `stake` (> 0) reaches `quorumBps` of `total`.
    function reachesQuorum(uint256 stake, uint256 total, uint256 quorumBps) internal pure returns (bool) {
        return stake != 0 && stake * BPS >= total * quorumBps;
    }
}
