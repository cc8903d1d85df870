// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "../interfaces/IFLTaskManager.sol";

/// @title PhaseClock
/// @notice Pure phase logic of a task's current round: deadlines and early ends, computed lazily
///         in O(1) from a packed clock and the task's schedule.
/// @dev A timed phase ends at `phaseEnd` or, earlier, when everyone who can act in it has acted
///      (see {isDone}). A phase entered with its condition already true ends when it starts, so
///      `advance` may cross several phases at once. The next phase's deadline is the previous
///      phase's end plus its own duration.
library PhaseClock {
    /// @notice The hot state of a task's current round, packed in one storage slot.
    struct Clock {
        uint16 round;
        IFLTaskManager.Phase phase;
        uint40 phaseEnd;
        uint16 commits;
        uint16 reveals;
        uint16 attests;
        uint16 voteCommits;
        uint16 voteReveals;
        uint16 activeTrainers;
        uint16 activeValidators;
    }

    /// @notice The task parameters read on every action, packed in one storage slot.
    struct Schedule {
        uint32 commitDuration;
        uint32 revealDuration;
        uint32 attestDuration;
        uint32 voteCommitDuration;
        uint32 voteRevealDuration;
        uint32 exitCooldown;
        uint16 numRounds;
        uint16 maxTrainersPerRound;
        uint16 quorumBps;
        uint16 trainerShareBps;
    }

    /// @notice Whether `phase` has a deadline (Registration and the four round phases).
    function isTimed(IFLTaskManager.Phase phase) internal pure returns (bool) {
        return phase >= IFLTaskManager.Phase.Registration && phase <= IFLTaskManager.Phase.VoteReveal;
    }

    /// @notice Whether everyone who can act in the clock's phase has acted.
    function isDone(Clock memory c, Schedule memory s) internal pure returns (bool) {
        IFLTaskManager.Phase p = c.phase;
        if (p == IFLTaskManager.Phase.Commit) {
            uint256 expected = c.activeTrainers < s.maxTrainersPerRound ? c.activeTrainers : s.maxTrainersPerRound;
            return c.commits != 0 && c.commits >= expected;
        }
        if (p == IFLTaskManager.Phase.Reveal) return c.reveals >= c.commits;
        if (p == IFLTaskManager.Phase.Attest) {
            return c.reveals == 0 || (c.attests != 0 && c.attests >= c.activeValidators);
        }
        if (p == IFLTaskManager.Phase.VoteCommit) {
            return c.reveals == 0 || (c.voteCommits != 0 && c.voteCommits >= c.activeValidators);
        }
        if (p == IFLTaskManager.Phase.VoteReveal) return c.voteReveals >= c.voteCommits;
        return false; // Registration ends only at its deadline; other phases are not timed.
    }

    /// @notice Duration of a round phase.
    function duration(IFLTaskManager.Phase phase, Schedule memory s) internal pure returns (uint256) {
        if (phase == IFLTaskManager.Phase.Commit) return s.commitDuration;
        if (phase == IFLTaskManager.Phase.Reveal) return s.revealDuration;
        if (phase == IFLTaskManager.Phase.Attest) return s.attestDuration;
        if (phase == IFLTaskManager.Phase.VoteCommit) return s.voteCommitDuration;
        return s.voteRevealDuration;
    }

    /// @notice Move `c` (in memory) to its phase as of `nowTs`.
    /// @dev Precondition (kept by the manager, which advances after every state change): the
    ///      stored clock's phase is not done unless a state change at `nowTs` made it so.
    function advance(Clock memory c, Schedule memory s, uint256 nowTs) internal pure {
        while (isTimed(c.phase)) {
            uint256 end;
            if (isDone(c, s)) {
                end = nowTs < c.phaseEnd ? nowTs : c.phaseEnd;
            } else if (nowTs >= c.phaseEnd) {
                end = c.phaseEnd;
            } else {
                return;
            }
            // Enter the following phases at `end`; those already done end when they start.
            IFLTaskManager.Phase next = _next(c.phase);
            c.phase = next;
            while (next != IFLTaskManager.Phase.AwaitingFinalization && isDone(c, s)) {
                next = _next(next);
                c.phase = next;
            }
            // Cannot overflow in practice: `end` is a past timestamp and durations are uint32.
            c.phaseEnd = uint40(next == IFLTaskManager.Phase.AwaitingFinalization ? end : end + duration(next, s));
        }
    }

    function _next(IFLTaskManager.Phase phase) private pure returns (IFLTaskManager.Phase) {
        return IFLTaskManager.Phase(uint8(phase) + 1);
    }
}
