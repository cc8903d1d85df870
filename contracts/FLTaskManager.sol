// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IFLTaskManager} from "./interfaces/IFLTaskManager.sol";
import {PhaseClock} from "./libraries/PhaseClock.sol";
import {RewardMath} from "./libraries/RewardMath.sol";
import {Commitments} from "./libraries/Commitments.sol";
import {AccountFlags} from "./libraries/AccountFlags.sol";
import {TaskStorage} from "./libraries/TaskStorage.sol";
import {TaskViews} from "./libraries/TaskViews.sol";
import {TaskLifecycle} from "./libraries/TaskLifecycle.sol";
import {FLTaskParamsStore} from "./FLTaskParamsStore.sol";

/// @title FLTaskManager
/// @notice Tasks, stakes, commit/reveal rounds, rewards and slashing of decentralized federated
///         learning. See {IFLTaskManager} for the protocol.
/// @dev Gas layout: everything an action touches is packed so that each action reads and writes a
///      handful of slots, none of them fresh in the steady state:
///      - per task, one slot of round clock and counters ({PhaseClock.Clock}), one of schedule,
///        one of economics, one of collateral and penalty terms + the leading stake, one of
///        requester + pool, one of validator stake + the round's snapshot of it, one of round
///        reward + unclaimed rewards, and the leading proposal and its roots (reused every round);
///      - per account, one packed slot ({Account}) and one record slot (commitment, then the hash
///        of what was revealed) reused every round, so only the account's latest round is kept;
///      - per round, the outcome written once at finalize (one slot, plus the root if Accepted),
///        claim totals, and the stake per revealed proposal.
///      No function loops over a set that participants can grow.
contract FLTaskManager is IFLTaskManager, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using AccountFlags for uint8;

    /*//////////////////////////////////////////////////////////////
                                 CONSTANTS
    //////////////////////////////////////////////////////////////*/

    /// @dev Initial value of slots that are rewritten every round, so that rewrites cost a
    ///      non-zero-to-non-zero store instead of a fresh one.
    bytes32 private constant _SENTINEL = bytes32(uint256(1));

    /*//////////////////////////////////////////////////////////////
                                  STORAGE
    //////////////////////////////////////////////////////////////*/

    using TaskStorage for TaskStorage.Task;

    IERC20 private immutable _token;
    /// @dev Holds the full parameters of every task; created by and answering only to this contract.
    ///      A separate contract keeps this one under the 24 KiB code size limit (EIP-170).
    FLTaskParamsStore private immutable _paramsStore;
    uint256 private _taskCount;
    mapping(uint256 taskId => TaskStorage.Task) private _tasks;

    /*//////////////////////////////////////////////////////////////
                                CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    /// @param token_ The reward token in which pools are escrowed and stakes are held.
    constructor(IERC20 token_) {
        _token = token_;
        _paramsStore = new FLTaskParamsStore();
    }

    /*//////////////////////////////////////////////////////////////
                              TASK LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLTaskManager
    function createTask(TaskParams calldata params) external nonReentrant returns (uint256 taskId) {
        return _createTask(params);
    }

    /// @inheritdoc IFLTaskManager
    function createTaskWithPermit(TaskParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 taskId)
    {
        _permit(params.rewardPool, deadline, v, r, s);
        return _createTask(params);
    }

    /// @inheritdoc IFLTaskManager
    function reclaim(uint256 taskId) external nonReentrant {
        (address requester, uint256 amount) = TaskLifecycle.reclaim(_task(taskId), taskId);
        _token.safeTransfer(requester, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                  STAKING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLTaskManager
    function stake(uint256 taskId, Role role, uint256 amount) external nonReentrant {
        _stake(taskId, role, amount);
    }

    /// @inheritdoc IFLTaskManager
    function stakeWithPermit(uint256 taskId, Role role, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        _permit(amount, deadline, v, r, s);
        _stake(taskId, role, amount);
    }

    /// @inheritdoc IFLTaskManager
    function requestExit(uint256 taskId) external {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        if (c.phase == Phase.Completed) revert FLTaskManagerTaskAlreadyCompleted(taskId);
        TaskStorage.Account memory a = t.accounts[msg.sender];
        if (a.role == Role.None) revert FLTaskManagerNotStaked(taskId, msg.sender);
        if (a.flags.has(AccountFlags.EXITING)) revert FLTaskManagerAlreadyExiting(taskId, msg.sender);
        if (a.role == Role.Validator && _validatorStakeFrozen(c.phase)) {
            revert FLTaskManagerValidatorStakeFrozen(taskId, c.phase);
        }
        // A commitment of the running round must stay counted until the round is finalized: leaving
        // the active set now could end the Commit phase before every active trainer committed.
        if (TaskStorage.committedIn(a, c.round)) revert FLTaskManagerRoundUnsettled(taskId, msg.sender, c.round);
        if (a.flags.has(AccountFlags.ACTIVE)) t.deactivate(a, c);
        a.flags = a.flags.set(AccountFlags.EXITING);
        // Fits until 2106; the cooldown is a uint32.
        a.unlockAt = uint32(block.timestamp + s.exitCooldown);
        t.accounts[msg.sender] = a;
        emit ExitRequested(taskId, msg.sender, a.unlockAt);
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function withdraw(uint256 taskId) external nonReentrant {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        TaskStorage.Account memory a = t.accounts[msg.sender];
        if (a.role == Role.None) revert FLTaskManagerNotStaked(taskId, msg.sender);
        _settle(t, taskId, msg.sender, a, c);
        if (a.flags.has(AccountFlags.UNSETTLED)) revert FLTaskManagerRoundUnsettled(taskId, msg.sender, a.round);
        uint256 unlockAt = _unlockTime(t, a, s);
        if (c.phase != Phase.Completed && !a.flags.has(AccountFlags.EXITING)) {
            revert FLTaskManagerStakeLocked(taskId, msg.sender, 0);
        }
        if (block.timestamp < unlockAt) revert FLTaskManagerStakeLocked(taskId, msg.sender, unlockAt);
        if (a.flags.has(AccountFlags.ACTIVE)) t.deactivate(a, c);
        uint256 amount = a.stake;
        delete t.accounts[msg.sender];
        emit Withdrawn(taskId, msg.sender, amount);
        t.store(c, s);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                               ROUND ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLTaskManager
    function commitUpdate(uint256 taskId, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert FLTaskManagerZeroCommitment();
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        _requirePhase(taskId, c, Phase.Commit);
        if (c.commits >= s.maxTrainersPerRound) {
            revert FLTaskManagerRoundFull(taskId, c.round, s.maxTrainersPerRound);
        }
        TaskStorage.Account memory a = t.accounts[msg.sender];
        _commit(t, taskId, a, c, Role.Trainer, commitment);
        // Cannot overflow: commits < maxTrainersPerRound <= type(uint16).max.
        unchecked {
            ++c.commits;
        }
        emit UpdateCommitted(taskId, c.round, msg.sender, commitment);
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function revealUpdate(uint256 taskId, string calldata updateCid, uint256 numSamples, bytes32 salt) external {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        _requirePhase(taskId, c, Phase.Reveal);
        TaskStorage.Account memory a = t.accounts[msg.sender];
        _requireCanReveal(taskId, a, c.round, Role.Trainer);
        if (bytes(updateCid).length == 0) revert FLTaskManagerEmptyUpdateCid();
        if (numSamples == 0) revert FLTaskManagerZeroSamples();
        uint256 perSample = t.terms.stakePerSample;
        if (perSample != 0 && numSamples > a.weight / perSample) {
            revert FLTaskManagerSamplesNotBacked(taskId, numSamples, a.weight / perSample);
        }
        bytes32 computed = Commitments.update(taskId, c.round, msg.sender, updateCid, numSamples, salt);
        _checkCommitment(t, taskId, c.round, computed);
        t.records[msg.sender] = keccak256(bytes(updateCid));
        a.flags = a.flags.set(AccountFlags.REVEALED);
        t.accounts[msg.sender] = a;
        uint256 index = c.reveals;
        // Cannot overflow: reveals <= commits <= type(uint16).max.
        unchecked {
            ++c.reveals;
        }
        emit UpdateRevealed(taskId, c.round, msg.sender, updateCid, numSamples, index);
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function attestAvailability(uint256 taskId, bytes calldata held) external {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        _requirePhase(taskId, c, Phase.Attest);
        uint256 expected = (uint256(c.reveals) + 7) / 8;
        if (held.length != expected) revert FLTaskManagerBadAttestation(held.length, expected);
        TaskStorage.Account memory a = t.accounts[msg.sender];
        if (a.role != Role.Validator) revert FLTaskManagerRoleMismatch(taskId, msg.sender, Role.Validator, a.role);
        if (TaskStorage.inRound(a, c.round) && a.flags.has(AccountFlags.ATTESTED)) {
            revert FLTaskManagerAlreadyAttested(taskId, c.round, msg.sender);
        }
        _joinRound(t, taskId, a, c);
        a.flags = a.flags.set(AccountFlags.ATTESTED);
        t.accounts[msg.sender] = a;
        // Cannot overflow: each active validator attests once; at most type(uint16).max are active.
        unchecked {
            ++c.attests;
        }
        emit AvailabilityAttested(taskId, c.round, msg.sender, held, a.weight, t.totals.roundStake);
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function commitVote(uint256 taskId, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert FLTaskManagerZeroCommitment();
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        _requirePhase(taskId, c, Phase.VoteCommit);
        TaskStorage.Account memory a = t.accounts[msg.sender];
        _commit(t, taskId, a, c, Role.Validator, commitment);
        // Cannot overflow: each active validator commits once; at most type(uint16).max are active.
        unchecked {
            ++c.voteCommits;
        }
        emit VoteCommitted(taskId, c.round, msg.sender, commitment, a.weight);
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function revealVote(
        uint256 taskId,
        string calldata aggregateCid,
        bytes32 rewardRoot,
        bytes32 penaltyRoot,
        bytes32 salt,
        uint32 metric
    ) external {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        _requirePhase(taskId, c, Phase.VoteReveal);
        uint256 cidLength = bytes(aggregateCid).length;
        if (cidLength == 0 && (rewardRoot != bytes32(0) || penaltyRoot != bytes32(0))) {
            revert FLTaskManagerMalformedProposal(cidLength, rewardRoot, penaltyRoot);
        }
        bytes32 proposal = Commitments.proposal(aggregateCid, rewardRoot, penaltyRoot);
        TaskStorage.Account memory a = t.accounts[msg.sender];
        _requireCanReveal(taskId, a, c.round, Role.Validator);
        _checkCommitment(t, taskId, c.round, Commitments.vote(taskId, c.round, msg.sender, proposal, salt));
        t.records[msg.sender] = proposal;
        a.flags = a.flags.set(AccountFlags.REVEALED);
        t.accounts[msg.sender] = a;
        // Cannot overflow: voteReveals <= voteCommits <= type(uint16).max.
        unchecked {
            ++c.voteReveals;
        }
        _countVote(t, c.round, TaskStorage.Leader(proposal, rewardRoot, penaltyRoot), a.weight);
        emit VoteRevealed(taskId, c.round, msg.sender, proposal, aggregateCid, rewardRoot, penaltyRoot, a.weight, metric);
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function finalizeRound(uint256 taskId) external {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        _requirePhase(taskId, c, Phase.AwaitingFinalization);
        TaskStorage.Totals memory tot = t.totals;
        TaskStorage.Ledger memory l = t.ledger;
        TaskStorage.Leader memory lead = t.leader;
        uint96 leadingStake = t.terms.leadingStake;

        RoundStatus status = _decide(s, tot.roundStake, leadingStake, lead.proposal);
        // What the round owes its winners; the rest of its reward returns to the pool. Only an
        // Accepted round owes anything: a Rejected or Failed round returns its whole reward.
        uint256 owed = 0;
        TaskStorage.Round storage rd = t.rounds[c.round];
        if (status == RoundStatus.Accepted) {
            owed = l.roundReward - RewardMath.trainerPool(l.roundReward, s.trainerShareBps);
            // The winners' rewards are stake from now on (restaked lazily, or claimed): counted in
            // the validator stake, and so in the next round's snapshot. Fits: part of the pool.
            tot.validatorStake += uint96(owed);
            if (lead.rewardRoot != bytes32(0)) {
                owed = l.roundReward;
                rd.rewardRoot = lead.rewardRoot;
            }
            if (lead.penaltyRoot != bytes32(0)) rd.penaltyRoot = lead.penaltyRoot;
        }
        rd.outcome = TaskStorage.Outcome({
            status: status,
            winningStake: status == RoundStatus.Failed ? 0 : leadingStake,
            roundReward: l.roundReward,
            finalizedAt: uint40(block.timestamp)
        });
        uint256 returned = l.roundReward - owed;
        // Cannot overflow: the pool, the unclaimed rewards and all returns are parts of one escrowed
        // uint96 pool plus slashes of uint96 stakes, all held by this contract; checked anyway.
        t.funds.pool += uint96(returned);
        l.unclaimed += uint96(owed);
        emit RoundFinalized(
            taskId,
            c.round,
            status,
            lead.proposal,
            status == RoundStatus.Accepted ? lead.rewardRoot : bytes32(0),
            status == RoundStatus.Accepted ? lead.penaltyRoot : bytes32(0),
            leadingStake,
            tot.roundStake,
            returned
        );

        t.terms.leadingStake = 0;
        // The next round's snapshot.
        tot.roundStake = tot.validatorStake;
        if (c.round + 1 < s.numRounds) {
            _startRound(t, taskId, c, s, l, status == RoundStatus.Accepted ? lead.proposal : bytes32(0));
        } else {
            c.phase = Phase.Completed;
            c.phaseEnd = 0;
            l.roundReward = 0;
            emit TaskCompleted(taskId, t.funds.pool);
        }
        t.totals = tot;
        t.ledger = l;
        t.clock = c;
    }

    /*//////////////////////////////////////////////////////////////
                           REWARDS AND SLASHING
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLTaskManager
    function claimTrainerReward(uint256 taskId, uint256 round, uint256 amount, bytes32[] calldata proof)
        external
        nonReentrant
    {
        TaskStorage.Task storage t = _tasks[taskId];
        if (t.ledger.claimsClosed) revert FLTaskManagerClaimsClosed(taskId);
        TaskStorage.Round storage rd = t.rounds[round];
        TaskStorage.Outcome memory o = rd.outcome;
        if (o.status == RoundStatus.Open) revert FLTaskManagerRoundNotFinalized(taskId, round);
        if (o.status != RoundStatus.Accepted) revert FLTaskManagerRoundNotAccepted(taskId, round, o.status);
        (uint256 word, uint256 bit) = TaskStorage.roundBit(round);
        uint256 bits = t.trainerClaims[msg.sender][word];
        if (bits & bit != 0) revert FLTaskManagerAlreadyClaimed(taskId, round, msg.sender);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(msg.sender, amount))));
        if (!MerkleProof.verifyCalldata(proof, rd.rewardRoot, leaf)) {
            revert FLTaskManagerInvalidProof(taskId, round, msg.sender, amount);
        }
        uint256 claimed = rd.claims.trainerClaimed;
        uint256 remaining = RewardMath.trainerPool(o.roundReward, t.schedule.trainerShareBps) - claimed;
        if (amount > remaining) revert FLTaskManagerTrainerPoolExceeded(taskId, round, amount, remaining);
        t.trainerClaims[msg.sender][word] = bits | bit;
        // Fits: claimed + amount <= trainer pool <= uint96, and the pool was counted as unclaimed.
        rd.claims.trainerClaimed = uint96(claimed + amount);
        t.ledger.unclaimed -= uint96(amount);
        emit TrainerRewardClaimed(taskId, round, msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IFLTaskManager
    function claimValidatorReward(uint256 taskId, uint256 round) external nonReentrant {
        TaskStorage.Task storage t = _tasks[taskId];
        if (t.ledger.claimsClosed) revert FLTaskManagerClaimsClosed(taskId);
        TaskStorage.Account memory a = t.accounts[msg.sender];
        if (!TaskStorage.isUnsettledRound(a, round) || a.role != Role.Validator) {
            revert FLTaskManagerNoValidatorReward(taskId, round, msg.sender);
        }
        TaskStorage.Round storage rd = t.rounds[round];
        TaskStorage.Outcome memory o = rd.outcome;
        if (o.status == RoundStatus.Open) revert FLTaskManagerRoundNotFinalized(taskId, round);
        if (t.due(a, msg.sender) != TaskStorage.Due.Reward) revert FLTaskManagerNoValidatorReward(taskId, round, msg.sender);
        uint256 reward = t.validatorShare(o, a.weight);
        a.flags = a.flags.clear(AccountFlags.UNSETTLED);
        t.accounts[msg.sender] = a;
        // Fits: the validators' pro-rata shares sum to at most the validator pool (uint96), which
        // was counted as unclaimed and in the validator stake. A claim leaves the round's snapshot
        // as it is (a larger quorum denominator): the manager has no clock here.
        rd.claims.validatorClaimed += uint96(reward);
        t.ledger.unclaimed -= uint96(reward);
        t.totals.validatorStake -= uint96(reward);
        emit ValidatorRewardClaimed(taskId, round, msg.sender, reward, false);
        if (reward != 0) _token.safeTransfer(msg.sender, reward);
    }

    /// @inheritdoc IFLTaskManager
    function slash(uint256 taskId, uint256 round, address account) external {
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        TaskStorage.Account memory a = t.accounts[account];
        if (!TaskStorage.isUnsettledRound(a, round) || !TaskStorage.isFinalized(c, round) || t.due(a, account) != TaskStorage.Due.Slash) {
            revert FLTaskManagerNotSlashable(taskId, round, account);
        }
        _settle(t, taskId, account, a, c);
        t.accounts[account] = a;
        t.store(c, s);
    }

    /// @inheritdoc IFLTaskManager
    function penalizeTrainer(uint256 taskId, uint256 round, address trainer, bytes32[] calldata proof) external {
        TaskLifecycle.penalizeTrainer(_task(taskId), taskId, round, trainer, proof);
    }

    /*//////////////////////////////////////////////////////////////
                                   VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLTaskManager
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IFLTaskManager
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @inheritdoc IFLTaskManager
    function taskParams(uint256 taskId) external view returns (TaskParams memory) {
        _task(taskId);
        return _paramsStore.load(taskId);
    }

    /// @inheritdoc IFLTaskManager
    function taskState(uint256 taskId) external view returns (TaskState memory) {
        return TaskViews.taskState(_task(taskId));
    }

    /// @inheritdoc IFLTaskManager
    function currentRound(uint256 taskId) external view returns (uint256 round, Phase phase, uint256 deadline) {
        PhaseClock.Clock memory c = _task(taskId).clockNow();
        return (c.round, c.phase, c.phaseEnd);
    }

    /// @inheritdoc IFLTaskManager
    function participant(uint256 taskId, address account) external view returns (Participant memory) {
        return TaskViews.participant(_task(taskId), account);
    }

    /// @inheritdoc IFLTaskManager
    function participantStatus(uint256 taskId, uint256 round, address account)
        external
        view
        returns (ParticipationStatus status, bytes32 record)
    {
        return TaskViews.participantStatus(_task(taskId), round, account);
    }

    /// @inheritdoc IFLTaskManager
    function roundOutcome(uint256 taskId, uint256 round) external view returns (RoundOutcome memory) {
        return TaskViews.roundOutcome(_task(taskId), round);
    }

    /// @inheritdoc IFLTaskManager
    function proposalStake(uint256 taskId, uint256 round, bytes32 proposal) external view returns (uint256) {
        return _task(taskId).rounds[round].tally[proposal];
    }

    /// @inheritdoc IFLTaskManager
    function trainerRewardClaimed(uint256 taskId, uint256 round, address account) external view returns (bool) {
        (uint256 word, uint256 bit) = TaskStorage.roundBit(round);
        return _task(taskId).trainerClaims[account][word] & bit != 0;
    }

    /// @inheritdoc IFLTaskManager
    function trainerPenalized(uint256 taskId, uint256 round, address account) external view returns (bool) {
        (uint256 word, uint256 bit) = TaskStorage.roundBit(round);
        return _task(taskId).trainerPenalties[account][word] & bit != 0;
    }

    /// @inheritdoc IFLTaskManager
    function validatorReward(uint256 taskId, uint256 round, address account) external view returns (uint256) {
        return TaskViews.validatorReward(_task(taskId), round, account);
    }

    /// @inheritdoc IFLTaskManager
    function updateCommitment(
        uint256 taskId,
        uint256 round,
        address trainer,
        string calldata updateCid,
        uint256 numSamples,
        bytes32 salt
    ) external pure returns (bytes32) {
        return Commitments.update(taskId, round, trainer, updateCid, numSamples, salt);
    }

    /// @inheritdoc IFLTaskManager
    function proposalHash(string calldata aggregateCid, bytes32 rewardRoot, bytes32 penaltyRoot)
        external
        pure
        returns (bytes32)
    {
        return Commitments.proposal(aggregateCid, rewardRoot, penaltyRoot);
    }

    /// @inheritdoc IFLTaskManager
    function voteCommitment(uint256 taskId, uint256 round, address validator, bytes32 proposal, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return Commitments.vote(taskId, round, validator, proposal, salt);
    }

    /// @inheritdoc IFLTaskManager
    function rejectProposal() external pure returns (bytes32) {
        return Commitments.REJECT_PROPOSAL;
    }

    /*//////////////////////////////////////////////////////////////
                             INTERNAL: TASKS
    //////////////////////////////////////////////////////////////*/

    function _createTask(TaskParams calldata p) private returns (uint256 taskId) {
        taskId = ++_taskCount;
        _paramsStore.store(taskId, p);
        TaskLifecycle.open(_tasks[taskId], taskId, p);
        _token.safeTransferFrom(msg.sender, address(this), p.rewardPool);
    }

    function _task(uint256 taskId) private view returns (TaskStorage.Task storage t) {
        t = _tasks[taskId];
        if (t.clock.phase == Phase.None) revert FLTaskManagerUnknownTask(taskId);
    }

    function _requirePhase(uint256 taskId, PhaseClock.Clock memory c, Phase expected) private pure {
        if (c.phase != expected) revert FLTaskManagerWrongPhase(taskId, expected, c.phase);
    }

    function _validatorStakeFrozen(Phase phase) private pure returns (bool) {
        return phase >= Phase.Attest && phase <= Phase.AwaitingFinalization;
    }

    /// @dev Decides a round whose vote reveal is over. Quorum is a strict majority, so at most one
    ///      proposal can reach it, and the leader is that proposal if any does.
    function _decide(PhaseClock.Schedule memory s, uint256 roundStake, uint256 leadingStake, bytes32 leader)
        private
        pure
        returns (RoundStatus)
    {
        if (!RewardMath.reachesQuorum(leadingStake, roundStake, s.quorumBps)) {
            return RoundStatus.Failed;
        }
        return leader == Commitments.REJECT_PROPOSAL ? RoundStatus.Rejected : RoundStatus.Accepted;
    }

    /// @dev Opens the round after `c.round` at `block.timestamp` with the pool spread over the
    ///      rounds left.
    function _startRound(
        TaskStorage.Task storage t,
        uint256 taskId,
        PhaseClock.Clock memory c,
        PhaseClock.Schedule memory s,
        TaskStorage.Ledger memory l,
        bytes32 globalModelProposal
    ) private {
        uint16 next = c.round + 1;
        uint96 pool = t.funds.pool;
        uint256 reward = RewardMath.roundReward(pool, s.numRounds, next);
        // Fit: reward <= pool (uint96).
        t.funds.pool = pool - uint96(reward);
        l.roundReward = uint96(reward);
        uint256 deadline = block.timestamp + s.commitDuration;
        c.round = next;
        c.phase = Phase.Commit;
        c.phaseEnd = uint40(deadline);
        c.commits = 0;
        c.reveals = 0;
        c.attests = 0;
        c.voteCommits = 0;
        c.voteReveals = 0;
        uint256 trainerPool = RewardMath.trainerPool(reward, s.trainerShareBps);
        emit RoundStarted(
            taskId, next, globalModelProposal, reward, trainerPool, reward - trainerPool, block.timestamp, deadline
        );
    }

    /*//////////////////////////////////////////////////////////////
                           INTERNAL: PARTICIPANTS
    //////////////////////////////////////////////////////////////*/

    function _stake(uint256 taskId, Role role, uint256 amount) private {
        if (role == Role.None) revert FLTaskManagerRoleMismatch(taskId, msg.sender, Role.Trainer, Role.None);
        if (amount == 0) revert FLTaskManagerZeroAmount();
        if (amount > type(uint96).max) revert FLTaskManagerAmountTooLarge(amount);
        TaskStorage.Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = t.sync();
        if (c.phase == Phase.Completed) revert FLTaskManagerTaskAlreadyCompleted(taskId);
        if (role == Role.Validator && _validatorStakeFrozen(c.phase)) {
            revert FLTaskManagerValidatorStakeFrozen(taskId, c.phase);
        }
        TaskStorage.Account memory a = t.accounts[msg.sender];
        if (a.role != Role.None && a.role != role) revert FLTaskManagerRoleMismatch(taskId, msg.sender, role, a.role);
        if (a.flags.has(AccountFlags.EXITING)) revert FLTaskManagerAlreadyExiting(taskId, msg.sender);
        _settle(t, taskId, msg.sender, a, c);
        a.role = role;
        // Checked: reverts if the stake would not fit uint96.
        a.stake += uint96(amount);
        uint256 minimum = t.minimumStake(role);
        if (a.stake < minimum) revert FLTaskManagerStakeBelowMinimum(taskId, a.stake, minimum);
        if (!a.flags.has(AccountFlags.ACTIVE)) {
            _activate(t, taskId, a, c);
        } else if (role == Role.Validator) {
            t.addValidatorStake(c, amount);
        }
        t.accounts[msg.sender] = a;
        if (t.records[msg.sender] == bytes32(0)) {
            // First stake: pre-fill the slots this account rewrites every round (see _SENTINEL).
            t.records[msg.sender] = _SENTINEL;
            if (role == Role.Trainer) t.trainerClaims[msg.sender][0] |= 1;
        }
        emit Staked(taskId, msg.sender, role, amount, a.stake);
        t.store(c, s);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _permit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) private {
        // A failing permit (e.g. already used by a front-runner) is ignored: the transfer that
        // follows fails with the token's own error if the allowance is not there.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
    }

    /// @dev When a trainer's stake unlocks: after its exit cooldown and, if it ever committed, no
    ///      earlier than `exitCooldown` after that round was finalized (the penalty window).
    function _unlockTime(TaskStorage.Task storage t, TaskStorage.Account memory a, PhaseClock.Schedule memory s)
        private
        view
        returns (uint256 unlockAt)
    {
        unlockAt = a.unlockAt;
        if (a.role == Role.Trainer && a.flags.has(AccountFlags.COMMITTED)) {
            uint256 penaltyWindowEnd = t.rounds[a.round].outcome.finalizedAt + uint256(s.exitCooldown);
            if (penaltyWindowEnd > unlockAt) unlockAt = penaltyWindowEnd;
        }
    }

    function _activate(TaskStorage.Task storage t, uint256 taskId, TaskStorage.Account memory a, PhaseClock.Clock memory c) private {
        if (a.role == Role.Trainer) {
            if (c.activeTrainers == type(uint16).max) revert FLTaskManagerTooManyParticipants(taskId, a.role);
            // Cannot overflow: checked against the maximum above.
            unchecked {
                ++c.activeTrainers;
            }
        } else {
            if (c.activeValidators == type(uint16).max) revert FLTaskManagerTooManyParticipants(taskId, a.role);
            // Cannot overflow: checked against the maximum above.
            unchecked {
                ++c.activeValidators;
            }
            t.addValidatorStake(c, a.stake);
        }
        a.flags = a.flags.set(AccountFlags.ACTIVE);
    }

    /// @dev Starts `a`'s participation in the current round (first attest or commit): settles its
    ///      previous round, checks it is active and fixes its weight for the round.
    function _joinRound(TaskStorage.Task storage t, uint256 taskId, TaskStorage.Account memory a, PhaseClock.Clock memory c) private {
        if (TaskStorage.inRound(a, c.round)) return;
        _settle(t, taskId, msg.sender, a, c);
        if (!a.flags.has(AccountFlags.ACTIVE)) revert FLTaskManagerNotActive(taskId, msg.sender);
        a.round = c.round;
        a.weight = a.stake;
        a.flags = a.flags.newRound();
    }

    /// @dev Records `msg.sender`'s commitment of role `role` in the current round.
    function _commit(
        TaskStorage.Task storage t,
        uint256 taskId,
        TaskStorage.Account memory a,
        PhaseClock.Clock memory c,
        Role role,
        bytes32 commitment
    ) private {
        if (a.role != role) revert FLTaskManagerRoleMismatch(taskId, msg.sender, role, a.role);
        if (TaskStorage.committedIn(a, c.round)) revert FLTaskManagerAlreadyCommitted(taskId, c.round, msg.sender);
        _joinRound(t, taskId, a, c);
        a.flags = a.flags.set(AccountFlags.COMMITTED | AccountFlags.UNSETTLED);
        t.accounts[msg.sender] = a;
        t.records[msg.sender] = commitment;
    }

    function _requireCanReveal(uint256 taskId, TaskStorage.Account memory a, uint16 round, Role role) private view {
        if (a.role != role) revert FLTaskManagerRoleMismatch(taskId, msg.sender, role, a.role);
        if (!TaskStorage.committedIn(a, round)) revert FLTaskManagerNotCommitted(taskId, round, msg.sender);
        if (a.flags.has(AccountFlags.REVEALED)) revert FLTaskManagerAlreadyRevealed(taskId, round, msg.sender);
    }

    function _checkCommitment(TaskStorage.Task storage t, uint256 taskId, uint256 round, bytes32 computed) private view {
        bytes32 committed = t.records[msg.sender];
        if (computed != committed) revert FLTaskManagerCommitmentMismatch(taskId, round, committed, computed);
    }

    /// @dev Adds a revealed vote to its proposal and keeps the leader (first to reach the top stake).
    function _countVote(TaskStorage.Task storage t, uint256 round, TaskStorage.Leader memory vote, uint96 weight) private {
        mapping(bytes32 => uint96) storage tally = t.rounds[round].tally;
        uint96 stakeFor = tally[vote.proposal] + weight;
        tally[vote.proposal] = stakeFor;
        if (stakeFor > t.terms.leadingStake) {
            t.terms.leadingStake = stakeFor;
            TaskStorage.Leader storage leader = t.leader;
            if (leader.proposal != vote.proposal) {
                leader.proposal = vote.proposal;
                // The reject proposal has no roots: stale roots are never read for it, and leaving
                // them non-zero keeps the next rewrite cheap.
                if (vote.proposal != Commitments.REJECT_PROPOSAL) {
                    if (leader.rewardRoot != vote.rewardRoot) leader.rewardRoot = vote.rewardRoot;
                    if (leader.penaltyRoot != vote.penaltyRoot) leader.penaltyRoot = vote.penaltyRoot;
                }
            }
        }
    }

    /// @dev Settles `a`'s last round if it is finalized and unsettled: applies the slash it owes,
    ///      or restakes a winning validator's unclaimed reward. Updates `a` and `c` in memory.
    function _settle(TaskStorage.Task storage t, uint256 taskId, address account, TaskStorage.Account memory a, PhaseClock.Clock memory c)
        private
    {
        if (!a.flags.has(AccountFlags.UNSETTLED) || !TaskStorage.isFinalized(c, a.round)) return;
        TaskStorage.Due due = t.due(a, account);
        a.flags = a.flags.clear(AccountFlags.UNSETTLED);
        if (due == TaskStorage.Due.Slash) {
            (uint256 bps, SlashReason reason) = _slashTerms(t, a);
            t.applySlash(taskId, account, a, c, a.round, bps, reason);
        } else if (due == TaskStorage.Due.Reward) {
            _restake(t, taskId, account, a, c);
        }
    }

    function _slashTerms(TaskStorage.Task storage t, TaskStorage.Account memory a) private view returns (uint256, SlashReason) {
        TaskStorage.Economics memory e = t.economics;
        if (!a.flags.has(AccountFlags.REVEALED)) {
            return a.role == Role.Trainer
                ? (uint256(e.trainerNonRevealSlashBps), SlashReason.TrainerNonReveal)
                : (uint256(e.validatorNonRevealSlashBps), SlashReason.ValidatorNonReveal);
        }
        return (e.validatorLosingSlashBps, SlashReason.ValidatorLosingVote);
    }

    /// @dev Adds a winning validator's unclaimed reward to its stake (forfeited once claims closed).
    ///      The reward is counted in the validator stake since its round's finalization: it leaves
    ///      that total only if the account is no longer active.
    function _restake(
        TaskStorage.Task storage t,
        uint256 taskId,
        address account,
        TaskStorage.Account memory a,
        PhaseClock.Clock memory c
    ) private {
        TaskStorage.Ledger memory l = t.ledger;
        if (l.claimsClosed) return;
        TaskStorage.Round storage rd = t.rounds[a.round];
        uint256 reward = t.validatorShare(rd.outcome, a.weight);
        if (reward == 0) return;
        // Fit: the reward is part of the round's uint96 validator pool, counted as unclaimed.
        a.stake += uint96(reward);
        rd.claims.validatorClaimed += uint96(reward);
        t.ledger.unclaimed = l.unclaimed - uint96(reward);
        if (!a.flags.has(AccountFlags.ACTIVE)) t.subValidatorStake(c, reward);
        emit ValidatorRewardClaimed(taskId, a.round, account, reward, true);
    }

}
