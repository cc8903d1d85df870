// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IFLTaskManager} from "../interfaces/IFLTaskManager.sol";
import {PhaseClock} from "./PhaseClock.sol";
import {RewardMath} from "./RewardMath.sol";
import {TaskStorage} from "./TaskStorage.sol";

/// @title TaskLifecycle
/// @notice The rarely called actions of {FLTaskManager}: opening a task's storage, penalties proven
///         against a round's penalty root, and the reclaim of what a completed task leaves. An
///         external library (DELEGATECALL, in the manager's storage), so that the manager's own code
///         stays under the EIP-170 size limit; token transfers stay in the manager.
library TaskLifecycle {
    using TaskStorage for TaskStorage.Task;

    /// @notice Initial storage of task `taskId` (parameters already validated by the params store),
    ///         and its TaskCreated and RoundStarted events; the caller escrows the reward pool.
    function open(TaskStorage.Task storage t, uint256 taskId, IFLTaskManager.TaskParams calldata p) external {
        t.schedule = PhaseClock.Schedule({
            commitDuration: p.commitDuration,
            revealDuration: p.revealDuration,
            attestDuration: p.attestDuration,
            voteCommitDuration: p.voteCommitDuration,
            voteRevealDuration: p.voteRevealDuration,
            exitCooldown: p.exitCooldown,
            numRounds: p.numRounds,
            maxTrainersPerRound: p.maxTrainersPerRound,
            quorumBps: p.quorumBps,
            trainerShareBps: p.trainerShareBps
        });
        // Fit: the params store checked both stakes and stakePerSample against uint96.
        t.economics = TaskStorage.Economics({
            minTrainerStake: uint96(p.minTrainerStake),
            minValidatorStake: uint96(p.minValidatorStake),
            trainerNonRevealSlashBps: p.trainerNonRevealSlashBps,
            validatorNonRevealSlashBps: p.validatorNonRevealSlashBps,
            validatorLosingSlashBps: p.validatorLosingSlashBps
        });
        t.terms = TaskStorage.Terms({
            stakePerSample: uint96(p.stakePerSample),
            trainerPenaltyBps: p.trainerPenaltyBps,
            claimWindow: p.claimWindow,
            leadingStake: 0
        });
        uint256 reward = RewardMath.roundReward(p.rewardPool, p.numRounds, 0);
        // Fit: reward <= rewardPool <= uint96 (checked by the params store).
        t.funds = TaskStorage.Funds({requester: msg.sender, pool: uint96(p.rewardPool - reward)});
        t.ledger = TaskStorage.Ledger({
            roundReward: uint96(reward), unclaimed: 0, createdAt: uint40(block.timestamp), claimsClosed: false
        });
        // Leader slots are rewritten every round: non-zero from the start, so a rewrite is not a fresh store.
        t.leader = TaskStorage.Leader(bytes32(uint256(1)), bytes32(uint256(1)), bytes32(0));
        uint256 commitStartsAt = block.timestamp + p.registrationDuration;
        t.clock = PhaseClock.Clock({
            round: 0,
            phase: IFLTaskManager.Phase.Registration,
            phaseEnd: uint40(commitStartsAt),
            commits: 0,
            reveals: 0,
            attests: 0,
            voteCommits: 0,
            voteReveals: 0,
            activeTrainers: 0,
            activeValidators: 0
        });
        uint256 trainerPool = RewardMath.trainerPool(reward, p.trainerShareBps);
        emit IFLTaskManager.TaskCreated(taskId, msg.sender, p);
        emit IFLTaskManager.RoundStarted(
            taskId,
            0,
            bytes32(0),
            reward,
            trainerPool,
            reward - trainerPool,
            commitStartsAt,
            commitStartsAt + p.commitDuration
        );
    }

    /// @notice {IFLTaskManager-penalizeTrainer}, without the token side (a penalty moves stake to the pool).
    function penalizeTrainer(
        TaskStorage.Task storage t,
        uint256 taskId,
        uint256 round,
        address trainer,
        bytes32[] calldata proof
    ) external {
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        TaskStorage.Round storage rd = t.rounds[round];
        IFLTaskManager.RoundStatus status = rd.outcome.status;
        if (status == IFLTaskManager.RoundStatus.Open) {
            revert IFLTaskManager.FLTaskManagerRoundNotFinalized(taskId, round);
        }
        if (status != IFLTaskManager.RoundStatus.Accepted) {
            revert IFLTaskManager.FLTaskManagerRoundNotAccepted(taskId, round, status);
        }
        (uint256 word, uint256 bit) = TaskStorage.roundBit(round);
        uint256 bits = t.trainerPenalties[trainer][word];
        if (bits & bit != 0) revert IFLTaskManager.FLTaskManagerAlreadyPenalized(taskId, round, trainer);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(trainer))));
        if (!MerkleProof.verifyCalldata(proof, rd.penaltyRoot, leaf)) {
            revert IFLTaskManager.FLTaskManagerInvalidPenaltyProof(taskId, round, trainer);
        }
        TaskStorage.Account memory a = t.accounts[trainer];
        if (a.role != IFLTaskManager.Role.Trainer) revert IFLTaskManager.FLTaskManagerNotStaked(taskId, trainer);
        // Deactivating a trainer that committed in the open Commit phase could end that phase early.
        if (c.phase == IFLTaskManager.Phase.Commit && TaskStorage.committedIn(a, c.round)) {
            revert IFLTaskManager.FLTaskManagerPenaltyDeferred(taskId, trainer, c.round);
        }
        t.trainerPenalties[trainer][word] = bits | bit;
        t.applySlash(
            taskId, trainer, a, c, round, t.terms.trainerPenaltyBps, IFLTaskManager.SlashReason.TrainerRejectedUpdate
        );
        t.accounts[trainer] = a;
        t.store(c, s);
    }

    /// @notice {IFLTaskManager-reclaim}, without the token side: books what goes back to the requester.
    /// @return requester The task's requester.
    /// @return amount What the manager must transfer to it.
    function reclaim(TaskStorage.Task storage t, uint256 taskId) external returns (address requester, uint256 amount) {
        if (t.clock.phase != IFLTaskManager.Phase.Completed) revert IFLTaskManager.FLTaskManagerTaskNotCompleted(taskId);
        TaskStorage.Funds memory f = t.funds;
        TaskStorage.Ledger memory l = t.ledger;
        // The claim window runs from the finalization of the last round.
        uint256 windowEnd = t.rounds[t.schedule.numRounds - 1].outcome.finalizedAt + uint256(t.terms.claimWindow);
        uint256 unclaimed = 0;
        if (block.timestamp >= windowEnd && !l.claimsClosed) {
            unclaimed = l.unclaimed;
            l.unclaimed = 0;
            l.claimsClosed = true;
            t.ledger = l;
        }
        if (f.pool == 0 && unclaimed == 0) revert IFLTaskManager.FLTaskManagerNothingToReturn(taskId, windowEnd);
        t.funds.pool = 0;
        emit IFLTaskManager.Reclaimed(taskId, f.requester, f.pool, unclaimed);
        return (f.requester, f.pool + unclaimed);
    }
}
