// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "../interfaces/IFLTaskManager.sol";
import {PhaseClock} from "./PhaseClock.sol";
import {RewardMath} from "./RewardMath.sol";
import {AccountFlags} from "./AccountFlags.sol";
import {TaskStorage} from "./TaskStorage.sol";

/// @title TaskViews
/// @notice The read-only views of {FLTaskManager}, as an external library: the manager delegates
///         each view here, which keeps its own code under the EIP-170 size limit. Views run in the
///         manager's storage (DELEGATECALL) and never change it.
library TaskViews {
    using AccountFlags for uint8;

    /// @notice {IFLTaskManager-taskState}.
    function taskState(TaskStorage.Task storage t) external view returns (IFLTaskManager.TaskState memory state) {
        PhaseClock.Clock memory c = TaskStorage.clockNow(t);
        TaskStorage.Totals memory tot = t.totals;
        TaskStorage.Ledger memory l = t.ledger;
        state.requester = t.funds.requester;
        state.createdAt = l.createdAt;
        state.round = c.round;
        state.phase = c.phase;
        state.phaseDeadline = c.phaseEnd;
        state.commits = c.commits;
        state.reveals = c.reveals;
        state.attests = c.attests;
        state.voteCommits = c.voteCommits;
        state.voteReveals = c.voteReveals;
        state.activeTrainers = c.activeTrainers;
        state.activeValidators = c.activeValidators;
        state.totalValidatorStake = tot.roundStake;
        state.roundReward = l.roundReward;
        state.unallocatedPool = t.funds.pool;
        uint256 leadingStake = t.terms.leadingStake;
        state.leadingProposal = leadingStake == 0 ? bytes32(0) : t.leader.proposal;
        state.leadingStake = leadingStake;
        state.unclaimedRewards = l.unclaimed;
        state.claimsClosed = l.claimsClosed;
    }

    /// @notice {IFLTaskManager-participant}.
    function participant(TaskStorage.Task storage t, address account)
        external
        view
        returns (IFLTaskManager.Participant memory p)
    {
        TaskStorage.Account memory a = t.accounts[account];
        p.role = a.role;
        p.stake = a.stake;
        p.active = a.flags.has(AccountFlags.ACTIVE);
        p.exiting = a.flags.has(AccountFlags.EXITING);
        p.unlockAt = a.unlockAt;
        p.lastRound = a.round;
        p.hasRound = a.flags.has(AccountFlags.HAS_ROUND);
        p.unsettled = a.flags.has(AccountFlags.UNSETTLED);
        p.weight = a.weight;
        p.attested = a.flags.has(AccountFlags.ATTESTED);
        p.committed = a.flags.has(AccountFlags.COMMITTED);
    }

    /// @notice {IFLTaskManager-participantStatus}.
    function participantStatus(TaskStorage.Task storage t, uint256 round, address account)
        external
        view
        returns (IFLTaskManager.ParticipationStatus status, bytes32 record)
    {
        TaskStorage.Account memory a = t.accounts[account];
        if (!a.flags.has(AccountFlags.HAS_ROUND) || a.round < round) {
            return (IFLTaskManager.ParticipationStatus.None, bytes32(0));
        }
        if (a.round > round) return (IFLTaskManager.ParticipationStatus.Unrecorded, bytes32(0));
        if (!a.flags.has(AccountFlags.COMMITTED)) return (IFLTaskManager.ParticipationStatus.None, bytes32(0));
        status = a.flags.has(AccountFlags.REVEALED)
            ? IFLTaskManager.ParticipationStatus.Revealed
            : IFLTaskManager.ParticipationStatus.Committed;
        record = t.records[account];
    }

    /// @notice {IFLTaskManager-roundOutcome}.
    function roundOutcome(TaskStorage.Task storage t, uint256 round)
        external
        view
        returns (IFLTaskManager.RoundOutcome memory out)
    {
        TaskStorage.Round storage rd = t.rounds[round];
        TaskStorage.Outcome memory o = rd.outcome;
        uint256 reward = o.roundReward;
        if (o.status == IFLTaskManager.RoundStatus.Open) {
            PhaseClock.Clock memory c = t.clock;
            reward = round == c.round && c.phase != IFLTaskManager.Phase.Completed ? t.ledger.roundReward : 0;
        }
        out.status = o.status;
        out.rewardRoot = rd.rewardRoot;
        out.penaltyRoot = rd.penaltyRoot;
        out.winningStake = o.winningStake;
        out.roundReward = reward;
        out.trainerPool = RewardMath.trainerPool(reward, t.schedule.trainerShareBps);
        out.validatorPool = reward - out.trainerPool;
        out.trainerClaimed = rd.claims.trainerClaimed;
        out.validatorClaimed = rd.claims.validatorClaimed;
        out.finalizedAt = o.finalizedAt;
    }

    /// @notice {IFLTaskManager-validatorReward}.
    function validatorReward(TaskStorage.Task storage t, uint256 round, address account)
        external
        view
        returns (uint256)
    {
        TaskStorage.Account memory a = t.accounts[account];
        if (!TaskStorage.isUnsettledRound(a, round) || a.role != IFLTaskManager.Role.Validator) return 0;
        if (t.ledger.claimsClosed) return 0;
        TaskStorage.Outcome memory o = t.rounds[round].outcome;
        if (o.status == IFLTaskManager.RoundStatus.Open) return 0;
        if (TaskStorage.due(t, a, account) != TaskStorage.Due.Reward) return 0;
        return TaskStorage.validatorShare(t, o, a.weight);
    }
}
