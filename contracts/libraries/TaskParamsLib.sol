// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "../interfaces/IFLTaskManager.sol";
import {RewardMath} from "./RewardMath.sol";
import {PrivacyBudget} from "./PrivacyBudget.sol";

/// @title TaskParamsLib
/// @notice Validation of task parameters: each invalid parameter reverts with its own error.
library TaskParamsLib {
    /// @notice Number of known aggregation rules (ids 0..RULE_COUNT-1).
    uint8 internal constant RULE_COUNT = 6;
    /// @notice Maximum number of aggregation rule parameters.
    uint256 internal constant MAX_RULE_PARAMS = 8;
    /// @notice Largest SecAgg scale: 2^24 keeps room in 32-bit words for the sum and its noise.
    uint8 internal constant MAX_SCALE_BITS = 24;

    /// @notice Revert with the parameter's own error unless `p` is a valid task.
    function validate(IFLTaskManager.TaskParams calldata p) internal pure {
        if (bytes(p.modelSpecCid).length == 0) revert IFLTaskManager.FLTaskManagerEmptyModelSpecCid();
        if (bytes(p.initialModelCid).length == 0) revert IFLTaskManager.FLTaskManagerEmptyInitialModelCid();
        if (bytes(p.evalDatasetCid).length == 0) revert IFLTaskManager.FLTaskManagerEmptyEvalDatasetCid();
        if (p.evalDatasetHash == bytes32(0)) revert IFLTaskManager.FLTaskManagerZeroEvalDatasetHash();
        if (p.ruleId >= RULE_COUNT) revert IFLTaskManager.FLTaskManagerUnknownAggregationRule(p.ruleId);
        if (p.ruleParams.length > MAX_RULE_PARAMS) {
            revert IFLTaskManager.FLTaskManagerTooManyRuleParams(p.ruleParams.length, MAX_RULE_PARAMS);
        }
        if (p.numRounds == 0) revert IFLTaskManager.FLTaskManagerZeroRounds();
        if (p.commitDuration == 0) revert IFLTaskManager.FLTaskManagerZeroPhaseDuration(IFLTaskManager.Phase.Commit);
        if (p.revealDuration == 0) revert IFLTaskManager.FLTaskManagerZeroPhaseDuration(IFLTaskManager.Phase.Reveal);
        if (p.attestDuration == 0) revert IFLTaskManager.FLTaskManagerZeroPhaseDuration(IFLTaskManager.Phase.Attest);
        if (p.voteCommitDuration == 0) revert IFLTaskManager.FLTaskManagerZeroPhaseDuration(IFLTaskManager.Phase.VoteCommit);
        if (p.voteRevealDuration == 0) revert IFLTaskManager.FLTaskManagerZeroPhaseDuration(IFLTaskManager.Phase.VoteReveal);
        if (p.claimWindow == 0) revert IFLTaskManager.FLTaskManagerZeroClaimWindow();
        if (p.minTrainerStake == 0) revert IFLTaskManager.FLTaskManagerZeroMinTrainerStake();
        if (p.minTrainerStake > type(uint96).max) revert IFLTaskManager.FLTaskManagerAmountTooLarge(p.minTrainerStake);
        if (p.minValidatorStake == 0) revert IFLTaskManager.FLTaskManagerZeroMinValidatorStake();
        if (p.minValidatorStake > type(uint96).max) revert IFLTaskManager.FLTaskManagerAmountTooLarge(p.minValidatorStake);
        if (p.stakePerSample > type(uint96).max) revert IFLTaskManager.FLTaskManagerAmountTooLarge(p.stakePerSample);
        if (p.maxTrainersPerRound == 0) revert IFLTaskManager.FLTaskManagerZeroMaxTrainers();
        if (p.maxUpdateBytes == 0) revert IFLTaskManager.FLTaskManagerZeroMaxUpdateBytes();
        if (p.quorumBps <= RewardMath.BPS / 2 || p.quorumBps > RewardMath.BPS) {
            revert IFLTaskManager.FLTaskManagerInvalidQuorum(p.quorumBps);
        }
        if (p.trainerNonRevealSlashBps > RewardMath.BPS) {
            revert IFLTaskManager.FLTaskManagerInvalidTrainerNonRevealSlash(p.trainerNonRevealSlashBps);
        }
        if (p.trainerPenaltyBps > RewardMath.BPS) {
            revert IFLTaskManager.FLTaskManagerInvalidTrainerPenalty(p.trainerPenaltyBps);
        }
        if (p.validatorNonRevealSlashBps > RewardMath.BPS) {
            revert IFLTaskManager.FLTaskManagerInvalidValidatorNonRevealSlash(p.validatorNonRevealSlashBps);
        }
        if (p.validatorLosingSlashBps > RewardMath.BPS) {
            revert IFLTaskManager.FLTaskManagerInvalidValidatorLosingSlash(p.validatorLosingSlashBps);
        }
        if (p.trainerShareBps > RewardMath.BPS) revert IFLTaskManager.FLTaskManagerInvalidTrainerShare(p.trainerShareBps);
        if (p.rewardPool == 0) revert IFLTaskManager.FLTaskManagerZeroRewardPool();
        if (p.rewardPool > type(uint96).max) revert IFLTaskManager.FLTaskManagerAmountTooLarge(p.rewardPool);
        _validatePrivacy(p);
    }

    /// @notice SecAgg's shape parameters, then the differential-privacy budget: the RDP bound of
    ///         `numRounds` rounds must fit it, so no round of the task can spend more.
    function _validatePrivacy(IFLTaskManager.TaskParams calldata p) private pure {
        IFLTaskManager.PrivacyParams calldata q = p.privacy;
        bool secAgg = q.mode == IFLTaskManager.PrivacyMode.SecAgg;
        if (secAgg ? q.minContributors < 2 : q.minContributors != 0) {
            revert IFLTaskManager.FLTaskManagerInvalidMinContributors(q.minContributors);
        }
        if (secAgg ? q.scaleBits == 0 || q.scaleBits > MAX_SCALE_BITS : q.scaleBits != 0) {
            revert IFLTaskManager.FLTaskManagerInvalidScaleBits(q.scaleBits);
        }
        if (secAgg && p.ruleId != 0) revert IFLTaskManager.FLTaskManagerRuleNeedsUpdates(p.ruleId);
        if (q.epsilonBudgetMicro == 0) {
            if (q.unit == IFLTaskManager.PrivacyUnit.Sample) revert IFLTaskManager.FLTaskManagerSampleUnitWithoutBudget();
            if (q.noiseMultiplierMicro != 0 || q.deltaAtto != 0) {
                revert IFLTaskManager.FLTaskManagerNoiseWithoutBudget(q.noiseMultiplierMicro, q.deltaAtto);
            }
        } else {
            if (q.deltaAtto == 0 || q.deltaAtto >= 1e18) revert IFLTaskManager.FLTaskManagerInvalidDelta(q.deltaAtto);
            if (q.noiseMultiplierMicro == 0) revert IFLTaskManager.FLTaskManagerZeroNoiseMultiplier();
        }
        if ((secAgg || q.epsilonBudgetMicro != 0) && p.maxDeltaNormMicro == 0) {
            revert IFLTaskManager.FLTaskManagerPrivacyWithoutClip();
        }
        if (q.epsilonBudgetMicro != 0) {
            uint256 spent = PrivacyBudget.epsilonMicro(p.numRounds, q.noiseMultiplierMicro, q.deltaAtto);
            if (spent > q.epsilonBudgetMicro) {
                revert IFLTaskManager.FLTaskManagerPrivacyBudgetExceeded(spent, q.epsilonBudgetMicro);
            }
        }
    }
}
