// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "../interfaces/IFLTaskManager.sol";
import {PhaseClock} from "./PhaseClock.sol";
import {RewardMath} from "./RewardMath.sol";
import {Commitments} from "./Commitments.sol";
import {AccountFlags} from "./AccountFlags.sol";

/// @title TaskStorage
/// @notice The storage layout of a task in {FLTaskManager}, and the rules both the manager and its
///         views ({TaskViews}) read it with: phase as of now, round membership, and the one
///         settlement decision ({due}).
library TaskStorage {
    using AccountFlags for uint8;

    struct Economics {
        uint96 minTrainerStake;
        uint96 minValidatorStake;
        uint16 trainerNonRevealSlashBps;
        uint16 validatorNonRevealSlashBps;
        uint16 validatorLosingSlashBps;
    }

    /// @dev Terms read only by reveals, penalties and reclaim, packed with the running round's
    ///      leading stake: a slot that is never zero, so resetting and rewriting that stake every
    ///      round costs non-zero-to-non-zero stores.
    struct Terms {
        uint96 stakePerSample;
        uint16 trainerPenaltyBps;
        uint32 claimWindow;
        uint96 leadingStake; // revealed stake behind the leading proposal of the current round
    }

    struct Funds {
        address requester;
        uint96 pool; // unallocated reward pool
    }

    /// @dev Validator stake: the live total and the current round's snapshot (see the interface's
    ///      conventions for the invariant between them).
    struct Totals {
        // Stakes of the active validators plus the validator rewards owed and not yet restaked or
        // claimed (counted from their round's finalization), plus pro-rata rounding dust.
        uint96 validatorStake;
        // The current round's snapshot of validatorStake: its quorum denominator. Set at round
        // start; until the round's Attest phase it moves with every stake, exit and slash; from
        // then on nothing changes it.
        uint96 roundStake;
    }

    struct Ledger {
        uint96 roundReward; // reward of the current round
        uint96 unclaimed; // rewards of finalized rounds not yet claimed or restaked (with dust)
        uint40 createdAt;
        bool claimsClosed;
    }

    struct Outcome {
        IFLTaskManager.RoundStatus status;
        uint96 winningStake;
        uint96 roundReward;
        uint40 finalizedAt;
    }

    struct Claims {
        uint96 trainerClaimed;
        uint96 validatorClaimed;
    }

    struct Round {
        Outcome outcome;
        bytes32 rewardRoot;
        bytes32 penaltyRoot;
        Claims claims;
        mapping(bytes32 proposal => uint96 stake) tally;
    }

    struct Account {
        uint96 stake;
        uint96 weight; // stake when the account started taking part in `round`
        uint16 round; // last round the account took part in (see AccountFlags.HAS_ROUND)
        IFLTaskManager.Role role;
        uint8 flags;
        uint32 unlockAt;
    }

    struct Leader {
        bytes32 proposal;
        bytes32 rewardRoot;
        bytes32 penaltyRoot;
    }

    struct Task {
        PhaseClock.Clock clock;
        PhaseClock.Schedule schedule;
        Economics economics;
        Terms terms;
        Funds funds;
        Totals totals;
        Ledger ledger;
        Leader leader;
        mapping(uint256 round => Round) rounds;
        mapping(address account => Account) accounts;
        mapping(address account => bytes32 record) records;
        mapping(address account => mapping(uint256 word => uint256 bits)) trainerClaims;
        mapping(address account => mapping(uint256 word => uint256 bits)) trainerPenalties;
    }

    /// @dev What settling an account's finalized round does.
    enum Due {
        Nothing,
        Slash,
        Reward
    }

    /// @notice The task's clock advanced to now, with its schedule.
    function sync(Task storage t) internal view returns (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) {
        c = t.clock;
        s = t.schedule;
        PhaseClock.advance(c, s, block.timestamp);
    }

    /// @notice The task's clock advanced to now (for views that need no schedule).
    function clockNow(Task storage t) internal view returns (PhaseClock.Clock memory c) {
        c = t.clock;
        PhaseClock.advance(c, t.schedule, block.timestamp);
    }

    function isFinalized(PhaseClock.Clock memory c, uint256 round) internal pure returns (bool) {
        return round < c.round || c.phase == IFLTaskManager.Phase.Completed;
    }

    function inRound(Account memory a, uint256 round) internal pure returns (bool) {
        return a.flags.has(AccountFlags.HAS_ROUND) && a.round == round;
    }

    function committedIn(Account memory a, uint256 round) internal pure returns (bool) {
        return inRound(a, round) && a.flags.has(AccountFlags.COMMITTED);
    }

    function isUnsettledRound(Account memory a, uint256 round) internal pure returns (bool) {
        return a.flags.has(AccountFlags.UNSETTLED) && a.round == round;
    }

    /// @notice Position of `round` in an account's claim or penalty bitmap. Bit 0 of word 0 is a
    ///         sentinel set at a trainer's first stake, so round r uses bit r + 1.
    function roundBit(uint256 round) internal pure returns (uint256 word, uint256 bit) {
        uint256 index = round + 1;
        return (index >> 8, 1 << (index & 255));
    }

    /// @notice A winning validator's share of the round's validator pool.
    function validatorShare(Task storage t, Outcome memory o, uint256 weight) internal view returns (uint256) {
        uint256 pool = o.roundReward - RewardMath.trainerPool(o.roundReward, t.schedule.trainerShareBps);
        return RewardMath.proRata(pool, weight, o.winningStake);
    }

    /// @notice The one settlement decision: what `a`'s unsettled, finalized round owes (see the
    ///         interface's conventions). Only Accepted rounds pay validators or slash their votes.
    ///         Quorum is a strict majority: only the winner can have a tally equal to the winning stake.
    function due(Task storage t, Account memory a, address account) internal view returns (Due) {
        if (!a.flags.has(AccountFlags.REVEALED)) return Due.Slash;
        if (a.role == IFLTaskManager.Role.Trainer) return Due.Nothing;
        Round storage rd = t.rounds[a.round];
        Outcome memory o = rd.outcome;
        if (o.status != IFLTaskManager.RoundStatus.Accepted) return Due.Nothing;
        bytes32 voted = t.records[account];
        if (rd.tally[voted] == o.winningStake) return Due.Reward;
        return voted == Commitments.REJECT_PROPOSAL ? Due.Nothing : Due.Slash;
    }

    /// @notice Ends the phase now if this transaction completed it, then writes the clock.
    function store(Task storage t, PhaseClock.Clock memory c, PhaseClock.Schedule memory s) internal {
        PhaseClock.advance(c, s, block.timestamp);
        t.clock = c;
    }

    function minimumStake(Task storage t, IFLTaskManager.Role role) internal view returns (uint256) {
        return role == IFLTaskManager.Role.Trainer ? t.economics.minTrainerStake : t.economics.minValidatorStake;
    }

    /// @notice Removes an active account from its role's active set (and validator stake).
    function deactivate(Task storage t, Account memory a, PhaseClock.Clock memory c) internal {
        // Cannot underflow: an active account is counted in its role's active set and stake.
        if (a.role == IFLTaskManager.Role.Trainer) {
            --c.activeTrainers;
        } else {
            --c.activeValidators;
            subValidatorStake(t, c, a.stake);
        }
        a.flags = a.flags.clear(AccountFlags.ACTIVE);
    }

    /// @notice Adds `amount` to the validator stake, and to the round's snapshot while the current
    ///         round has not reached its Attest phase (validators stake only then).
    function addValidatorStake(Task storage t, PhaseClock.Clock memory c, uint256 amount) internal {
        Totals memory tot = t.totals;
        // Checked: reverts if a total would not fit uint96.
        tot.validatorStake += uint96(amount);
        if (c.phase < IFLTaskManager.Phase.Attest) tot.roundStake += uint96(amount);
        t.totals = tot;
    }

    /// @notice Takes `amount` (<= uint96, counted in the validator stake) from the validator stake,
    ///         and from the round's snapshot while the current round has not reached its Attest
    ///         phase; from then on the snapshot stays fixed until the round is finalized.
    function subValidatorStake(Task storage t, PhaseClock.Clock memory c, uint256 amount) internal {
        Totals memory tot = t.totals;
        // Cannot underflow: `amount` is counted in validatorStake, and roundStake >= validatorStake
        // (equal at round start; before Attest they move together except that claims lower
        // validatorStake alone; from Attest on only validatorStake moves, and only down).
        tot.validatorStake -= uint96(amount);
        if (c.phase < IFLTaskManager.Phase.Attest) tot.roundStake -= uint96(amount);
        t.totals = tot;
    }

    /// @notice Moves `bps` of `a`'s stake to the task's pool (see the interface for the base), and
    ///         deactivates the account if that leaves it below its role's minimum.
    function applySlash(
        Task storage t,
        uint256 taskId,
        address account,
        Account memory a,
        PhaseClock.Clock memory c,
        uint256 round,
        uint256 bps,
        IFLTaskManager.SlashReason reason
    ) internal {
        // Penalties weigh the current stake; slashes the stake committed in the round, capped.
        uint256 base = reason == IFLTaskManager.SlashReason.TrainerRejectedUpdate ? a.stake : a.weight;
        uint256 amount = RewardMath.bpsOf(base, bps, a.stake);
        if (amount == 0) return;
        // Fit: amount <= a.stake (capped), and the pool holds parts of uint96 amounts.
        a.stake -= uint96(amount);
        t.funds.pool += uint96(amount);
        if (a.flags.has(AccountFlags.ACTIVE)) {
            if (a.role == IFLTaskManager.Role.Validator) subValidatorStake(t, c, amount);
            if (a.stake < minimumStake(t, a.role)) deactivate(t, a, c);
        }
        emit IFLTaskManager.Slashed(taskId, round, account, reason, amount, a.stake);
    }
}
