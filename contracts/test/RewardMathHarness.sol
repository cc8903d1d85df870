// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {RewardMath} from "../libraries/RewardMath.sol";

/// @title RewardMathHarness
/// @notice Test only: exposes {RewardMath}'s internal functions so that property tests can call
///         them directly (tests/contracts/property/test_reward_math.py). Never deployed by scripts/
///         or offchain/.
contract RewardMathHarness {
    /// @notice {RewardMath-BPS}.
    function bps() external pure returns (uint256) {
        return RewardMath.BPS;
    }

    /// @notice {RewardMath-roundReward}.
    function roundReward(uint256 pool, uint256 numRounds, uint256 round) external pure returns (uint256) {
        return RewardMath.roundReward(pool, numRounds, round);
    }

    /// @notice {RewardMath-trainerPool}.
    function trainerPool(uint256 reward, uint256 trainerShareBps) external pure returns (uint256) {
        return RewardMath.trainerPool(reward, trainerShareBps);
    }

    /// @notice {RewardMath-bpsOf}.
    function bpsOf(uint256 amount, uint256 bps_, uint256 cap) external pure returns (uint256) {
        return RewardMath.bpsOf(amount, bps_, cap);
    }

    /// @notice {RewardMath-proRata}.
    function proRata(uint256 pool, uint256 weight, uint256 winningStake) external pure returns (uint256) {
        return RewardMath.proRata(pool, weight, winningStake);
    }

    /// @notice {RewardMath-proRata} of `pool` for each of `weights` (one call for a whole split).
    function proRataShares(uint256 pool, uint256[] calldata weights, uint256 winningStake)
        external
        pure
        returns (uint256[] memory shares)
    {
        shares = new uint256[](weights.length);
        for (uint256 i = 0; i < weights.length; ++i) {
            shares[i] = RewardMath.proRata(pool, weights[i], winningStake);
        }
    }

    /// @notice {RewardMath-reachesQuorum}.
    function reachesQuorum(uint256 stake, uint256 total, uint256 quorumBps) external pure returns (bool) {
        return RewardMath.reachesQuorum(stake, total, quorumBps);
    }
}
