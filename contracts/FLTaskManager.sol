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
import {FLTaskParamsStore} from "./FLTaskParamsStore.sol";

/// @title FLTaskManager
/// @notice Tasks, stakes, commit/reveal rounds, rewards and slashing of decentralized federated
///         learning. See {IFLTaskManager} for the protocol.
/// @dev Gas layout: everything an action touches is packed so that each action reads and writes a
///      handful of slots, none of them fresh in the steady state:
///      - per task, one slot of round clock and counters ({PhaseClock.Clock}), one of schedule,
///        one of economics, one of requester + pool, one of validator stake + round reward, and
///        the leading proposal and its root (reused every round);
///      - per account, one packed slot ({Account}) and one record slot (commitment, then the hash
///        of what was revealed) reused every round, so only the account's latest round is kept;
///      - per round, the outcome written once at finalize (one slot, plus the root if Accepted),
///        claim totals, and the stake per revealed proposal.
///      No function loops over a set that participants can grow.
contract FLTaskManager is IFLTaskManager, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /*//////////////////////////////////////////////////////////////
                                 CONSTANTS
    //////////////////////////////////////////////////////////////*/

    // Account flags.
    uint8 private constant _REVEALED = 1; // revealed in `round`
    uint8 private constant _UNSETTLED = 2; // `round` not settled yet (slash or validator reward pending)
    uint8 private constant _HAS_ROUND = 4; // committed in some round (`round` is meaningful)
    uint8 private constant _ACTIVE = 8; // counted in the active set
    uint8 private constant _EXITING = 16; // requested exit

    /// @dev Initial value of slots that are rewritten every round, so that rewrites cost a
    ///      non-zero-to-non-zero store instead of a fresh one.
    bytes32 private constant _SENTINEL = bytes32(uint256(1));

    /*//////////////////////////////////////////////////////////////
                                  STORAGE
    //////////////////////////////////////////////////////////////*/

    struct Economics {
        uint96 minTrainerStake;
        uint96 minValidatorStake;
        uint16 trainerNonRevealSlashBps;
        uint16 validatorNonRevealSlashBps;
        uint16 validatorLosingSlashBps;
    }

    struct Funds {
        address requester;
        uint96 pool; // unallocated reward pool
    }

    struct Totals {
        uint96 totalValidatorStake; // stake of active validators
        uint96 roundReward; // reward of the current round
        uint40 createdAt;
    }

    struct Outcome {
        RoundStatus status;
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
        Claims claims;
        mapping(bytes32 proposal => uint96 stake) tally;
    }

    struct Account {
        uint96 stake;
        uint96 weight; // stake when committing in `round`
        uint16 round; // last round committed in
        Role role;
        uint8 flags;
        uint32 unlockAt;
    }

    struct Task {
        PhaseClock.Clock clock;
        PhaseClock.Schedule schedule;
        Economics economics;
        Funds funds;
        Totals totals;
        bytes32 leadingProposal;
        bytes32 leadingRoot;
        mapping(uint256 round => Round) rounds;
        mapping(address account => Account) accounts;
        mapping(address account => bytes32 record) records;
        mapping(address account => mapping(uint256 word => uint256 bits)) trainerClaims;
    }

    IERC20 private immutable _token;
    /// @dev Holds the full parameters of every task; created by and answering only to this contract.
    ///      A separate contract keeps this one under the 24 KiB code size limit (EIP-170).
    FLTaskParamsStore private immutable _paramsStore;
    uint256 private _taskCount;
    mapping(uint256 taskId => Task) private _tasks;

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
    function returnUnspentPool(uint256 taskId) external nonReentrant {
        Task storage t = _task(taskId);
        if (t.clock.phase != Phase.Completed) revert FLTaskManagerTaskNotCompleted(taskId);
        Funds memory f = t.funds;
        if (f.pool == 0) revert FLTaskManagerNothingToReturn(taskId);
        t.funds.pool = 0;
        emit UnspentPoolReturned(taskId, f.requester, f.pool);
        _token.safeTransfer(f.requester, f.pool);
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
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        if (c.phase == Phase.Completed) revert FLTaskManagerTaskAlreadyCompleted(taskId);
        Account memory a = t.accounts[msg.sender];
        if (a.role == Role.None) revert FLTaskManagerNotStaked(taskId, msg.sender);
        if (a.flags & _EXITING != 0) revert FLTaskManagerAlreadyExiting(taskId, msg.sender);
        if (a.role == Role.Validator && _validatorStakeFrozen(c.phase)) {
            revert FLTaskManagerValidatorStakeFrozen(taskId, c.phase);
        }
        if (a.flags & _ACTIVE != 0) _deactivate(t, a, c);
        a.flags |= _EXITING;
        // Fits until 2106; the cooldown is a uint32.
        a.unlockAt = uint32(block.timestamp + s.exitCooldown);
        t.accounts[msg.sender] = a;
        emit ExitRequested(taskId, msg.sender, a.unlockAt);
        _store(t, c, s);
    }

    /// @inheritdoc IFLTaskManager
    function withdraw(uint256 taskId) external nonReentrant {
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        Account memory a = t.accounts[msg.sender];
        if (a.role == Role.None) revert FLTaskManagerNotStaked(taskId, msg.sender);
        _settle(t, taskId, msg.sender, a, c);
        if (a.flags & _UNSETTLED != 0) revert FLTaskManagerRoundUnsettled(taskId, msg.sender, a.round);
        if (c.phase != Phase.Completed) {
            if (a.flags & _EXITING == 0) revert FLTaskManagerStakeLocked(taskId, msg.sender, 0);
            if (block.timestamp < a.unlockAt) revert FLTaskManagerStakeLocked(taskId, msg.sender, a.unlockAt);
        }
        if (a.flags & _ACTIVE != 0) _deactivate(t, a, c);
        uint256 amount = a.stake;
        delete t.accounts[msg.sender];
        emit Withdrawn(taskId, msg.sender, amount);
        _store(t, c, s);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    /*//////////////////////////////////////////////////////////////
                               ROUND ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLTaskManager
    function commitUpdate(uint256 taskId, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert FLTaskManagerZeroCommitment();
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        _requirePhase(taskId, c, Phase.Commit);
        Account memory a = t.accounts[msg.sender];
        _requireCanCommit(t, taskId, a, c, Role.Trainer);
        if (c.commits >= s.maxTrainersPerRound) {
            revert FLTaskManagerRoundFull(taskId, c.round, s.maxTrainersPerRound);
        }
        _markCommitted(a, c.round);
        t.accounts[msg.sender] = a;
        t.records[msg.sender] = commitment;
        // Cannot overflow: commits < maxTrainersPerRound <= type(uint16).max.
        unchecked {
            ++c.commits;
        }
        emit UpdateCommitted(taskId, c.round, msg.sender, commitment);
        _store(t, c, s);
    }

    /// @inheritdoc IFLTaskManager
    function revealUpdate(uint256 taskId, string calldata updateCid, uint256 numSamples, bytes32 salt) external {
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        _requirePhase(taskId, c, Phase.Reveal);
        Account memory a = t.accounts[msg.sender];
        _requireCanReveal(taskId, a, c.round, Role.Trainer);
        if (bytes(updateCid).length == 0) revert FLTaskManagerEmptyUpdateCid();
        if (numSamples == 0) revert FLTaskManagerZeroSamples();
        bytes32 computed = Commitments.update(taskId, c.round, msg.sender, updateCid, numSamples, salt);
        _checkCommitment(t, taskId, c.round, computed);
        t.records[msg.sender] = keccak256(bytes(updateCid));
        a.flags |= _REVEALED;
        t.accounts[msg.sender] = a;
        // Cannot overflow: reveals <= commits <= type(uint16).max.
        unchecked {
            ++c.reveals;
        }
        emit UpdateRevealed(taskId, c.round, msg.sender, updateCid, numSamples);
        _store(t, c, s);
    }

    /// @inheritdoc IFLTaskManager
    function commitVote(uint256 taskId, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert FLTaskManagerZeroCommitment();
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        _requirePhase(taskId, c, Phase.VoteCommit);
        Account memory a = t.accounts[msg.sender];
        _requireCanCommit(t, taskId, a, c, Role.Validator);
        _markCommitted(a, c.round);
        t.accounts[msg.sender] = a;
        t.records[msg.sender] = commitment;
        // Cannot overflow: each active validator commits once; at most type(uint16).max are active.
        unchecked {
            ++c.voteCommits;
        }
        emit VoteCommitted(taskId, c.round, msg.sender, commitment, a.weight);
        _store(t, c, s);
    }

    /// @inheritdoc IFLTaskManager
    function revealVote(uint256 taskId, string calldata aggregateCid, bytes32 rewardRoot, bytes32 salt, uint32 metric)
        external
    {
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        _requirePhase(taskId, c, Phase.VoteReveal);
        uint256 cidLength = bytes(aggregateCid).length;
        if ((cidLength == 0) != (rewardRoot == bytes32(0))) {
            revert FLTaskManagerMalformedProposal(cidLength, rewardRoot);
        }
        bytes32 proposal = Commitments.proposal(aggregateCid, rewardRoot);
        uint96 weight = _acceptVote(t, taskId, c, proposal, rewardRoot, salt);
        emit VoteRevealed(taskId, c.round, msg.sender, proposal, aggregateCid, rewardRoot, weight, metric);
        _store(t, c, s);
    }

    /// @inheritdoc IFLTaskManager
    function finalizeRound(uint256 taskId) external {
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        _requirePhase(taskId, c, Phase.AwaitingFinalization);
        Totals memory tot = t.totals;
        Funds memory f = t.funds;
        bytes32 leader = t.leadingProposal;

        (RoundStatus status, uint256 returned) = _decide(c, s, tot, leader);
        Round storage rd = t.rounds[c.round];
        rd.outcome = Outcome({
            status: status,
            winningStake: status == RoundStatus.Failed ? 0 : c.leadingStake,
            roundReward: tot.roundReward,
            finalizedAt: uint40(block.timestamp)
        });
        bytes32 root = bytes32(0);
        if (status == RoundStatus.Accepted) {
            root = t.leadingRoot;
            rd.rewardRoot = root;
        }
        // Cannot overflow: the pool and all returns are parts of one escrowed uint96 pool plus slashes
        // of uint96 stakes, all held by this contract; checked arithmetic would revert anyway.
        f.pool += uint96(returned);
        emit RoundFinalized(
            taskId, c.round, status, leader, root, c.leadingStake, tot.totalValidatorStake, returned
        );

        if (c.round + 1 < s.numRounds) {
            _startRound(taskId, c, s, tot, f, status == RoundStatus.Accepted ? leader : bytes32(0));
        } else {
            c.phase = Phase.Completed;
            c.phaseEnd = 0;
            tot.roundReward = 0;
            emit TaskCompleted(taskId, f.pool);
        }
        t.funds = f;
        t.totals = tot;
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
        Task storage t = _tasks[taskId];
        Round storage rd = t.rounds[round];
        Outcome memory o = rd.outcome;
        if (o.status == RoundStatus.Open) revert FLTaskManagerRoundNotFinalized(taskId, round);
        if (o.status != RoundStatus.Accepted) revert FLTaskManagerRoundNotAccepted(taskId, round, o.status);
        (uint256 word, uint256 bit) = _claimBit(round);
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
        // Fits: claimed + amount <= trainer pool <= uint96.
        rd.claims.trainerClaimed = uint96(claimed + amount);
        emit TrainerRewardClaimed(taskId, round, msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IFLTaskManager
    function claimValidatorReward(uint256 taskId, uint256 round) external nonReentrant {
        Task storage t = _tasks[taskId];
        Account memory a = t.accounts[msg.sender];
        if (!_isUnsettledRound(a, round) || a.role != Role.Validator) {
            revert FLTaskManagerNoValidatorReward(taskId, round, msg.sender);
        }
        Round storage rd = t.rounds[round];
        Outcome memory o = rd.outcome;
        if (o.status == RoundStatus.Open) revert FLTaskManagerRoundNotFinalized(taskId, round);
        if (a.flags & _REVEALED == 0 || !_votedForWinner(t, rd, o, msg.sender)) {
            revert FLTaskManagerNoValidatorReward(taskId, round, msg.sender);
        }
        uint256 reward = _validatorShare(t, o, a.weight);
        a.flags &= ~_UNSETTLED;
        t.accounts[msg.sender] = a;
        // Fits: the validators' pro-rata shares sum to at most the validator pool (uint96).
        rd.claims.validatorClaimed += uint96(reward);
        emit ValidatorRewardClaimed(taskId, round, msg.sender, reward, false);
        if (reward != 0) _token.safeTransfer(msg.sender, reward);
    }

    /// @inheritdoc IFLTaskManager
    function slash(uint256 taskId, uint256 round, address account) external {
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        Account memory a = t.accounts[account];
        if (!_isUnsettledRound(a, round) || !_isFinalized(c, round) || !_owesSlash(t, a, account)) {
            revert FLTaskManagerNotSlashable(taskId, round, account);
        }
        _settle(t, taskId, account, a, c);
        t.accounts[account] = a;
        _store(t, c, s);
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
    function taskState(uint256 taskId) external view returns (TaskState memory state) {
        Task storage t = _task(taskId);
        PhaseClock.Clock memory c = _projected(t);
        state.requester = t.funds.requester;
        state.createdAt = t.totals.createdAt;
        state.round = c.round;
        state.phase = c.phase;
        state.phaseDeadline = c.phaseEnd;
        state.commits = c.commits;
        state.reveals = c.reveals;
        state.voteCommits = c.voteCommits;
        state.voteReveals = c.voteReveals;
        state.activeTrainers = c.activeTrainers;
        state.activeValidators = c.activeValidators;
        state.totalValidatorStake = t.totals.totalValidatorStake;
        state.roundReward = t.totals.roundReward;
        state.unallocatedPool = t.funds.pool;
        state.leadingProposal = c.leadingStake == 0 ? bytes32(0) : t.leadingProposal;
        state.leadingStake = c.leadingStake;
    }

    /// @inheritdoc IFLTaskManager
    function currentRound(uint256 taskId) external view returns (uint256 round, Phase phase, uint256 deadline) {
        PhaseClock.Clock memory c = _projected(_task(taskId));
        return (c.round, c.phase, c.phaseEnd);
    }

    /// @inheritdoc IFLTaskManager
    function participant(uint256 taskId, address account) external view returns (Participant memory p) {
        Account memory a = _task(taskId).accounts[account];
        p.role = a.role;
        p.stake = a.stake;
        p.active = a.flags & _ACTIVE != 0;
        p.exiting = a.flags & _EXITING != 0;
        p.unlockAt = a.unlockAt;
        p.lastRound = a.round;
        p.hasRound = a.flags & _HAS_ROUND != 0;
        p.unsettled = a.flags & _UNSETTLED != 0;
        p.weight = a.weight;
    }

    /// @inheritdoc IFLTaskManager
    function participantStatus(uint256 taskId, uint256 round, address account)
        external
        view
        returns (ParticipationStatus status, bytes32 record)
    {
        Task storage t = _task(taskId);
        Account memory a = t.accounts[account];
        if (a.flags & _HAS_ROUND == 0 || a.round < round) return (ParticipationStatus.None, bytes32(0));
        if (a.round > round) return (ParticipationStatus.Unrecorded, bytes32(0));
        status = a.flags & _REVEALED != 0 ? ParticipationStatus.Revealed : ParticipationStatus.Committed;
        record = t.records[account];
    }

    /// @inheritdoc IFLTaskManager
    function roundOutcome(uint256 taskId, uint256 round) external view returns (RoundOutcome memory out) {
        Task storage t = _task(taskId);
        Round storage rd = t.rounds[round];
        Outcome memory o = rd.outcome;
        uint256 reward = o.roundReward;
        if (o.status == RoundStatus.Open) {
            PhaseClock.Clock memory c = t.clock;
            reward = round == c.round && c.phase != Phase.Completed ? t.totals.roundReward : 0;
        }
        out.status = o.status;
        out.rewardRoot = rd.rewardRoot;
        out.winningStake = o.winningStake;
        out.roundReward = reward;
        out.trainerPool = RewardMath.trainerPool(reward, t.schedule.trainerShareBps);
        out.validatorPool = reward - out.trainerPool;
        out.trainerClaimed = rd.claims.trainerClaimed;
        out.validatorClaimed = rd.claims.validatorClaimed;
        out.finalizedAt = o.finalizedAt;
    }

    /// @inheritdoc IFLTaskManager
    function proposalStake(uint256 taskId, uint256 round, bytes32 proposal) external view returns (uint256) {
        return _task(taskId).rounds[round].tally[proposal];
    }

    /// @inheritdoc IFLTaskManager
    function trainerRewardClaimed(uint256 taskId, uint256 round, address account) external view returns (bool) {
        (uint256 word, uint256 bit) = _claimBit(round);
        return _task(taskId).trainerClaims[account][word] & bit != 0;
    }

    /// @inheritdoc IFLTaskManager
    function validatorReward(uint256 taskId, uint256 round, address account) external view returns (uint256) {
        Task storage t = _task(taskId);
        Account memory a = t.accounts[account];
        if (!_isUnsettledRound(a, round) || a.role != Role.Validator || a.flags & _REVEALED == 0) return 0;
        Round storage rd = t.rounds[round];
        Outcome memory o = rd.outcome;
        if (o.status == RoundStatus.Open || !_votedForWinner(t, rd, o, account)) return 0;
        return _validatorShare(t, o, a.weight);
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
    function proposalHash(string calldata aggregateCid, bytes32 rewardRoot) external pure returns (bytes32) {
        return Commitments.proposal(aggregateCid, rewardRoot);
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
        Task storage t = _tasks[taskId];
        t.schedule = PhaseClock.Schedule({
            commitDuration: p.commitDuration,
            revealDuration: p.revealDuration,
            voteCommitDuration: p.voteCommitDuration,
            voteRevealDuration: p.voteRevealDuration,
            exitCooldown: p.exitCooldown,
            numRounds: p.numRounds,
            maxTrainersPerRound: p.maxTrainersPerRound,
            quorumBps: p.quorumBps,
            trainerShareBps: p.trainerShareBps
        });
        // Fit: _validate checked both stakes against uint96.
        t.economics = Economics({
            minTrainerStake: uint96(p.minTrainerStake),
            minValidatorStake: uint96(p.minValidatorStake),
            trainerNonRevealSlashBps: p.trainerNonRevealSlashBps,
            validatorNonRevealSlashBps: p.validatorNonRevealSlashBps,
            validatorLosingSlashBps: p.validatorLosingSlashBps
        });
        uint256 reward = RewardMath.roundReward(p.rewardPool, p.numRounds, 0);
        // Fit: reward <= rewardPool <= uint96 (checked in _validate).
        t.funds = Funds({requester: msg.sender, pool: uint96(p.rewardPool - reward)});
        t.totals = Totals({totalValidatorStake: 0, roundReward: uint96(reward), createdAt: uint40(block.timestamp)});
        t.leadingProposal = _SENTINEL;
        t.leadingRoot = _SENTINEL;
        uint256 commitStartsAt = block.timestamp + p.registrationDuration;
        t.clock = PhaseClock.Clock({
            round: 0,
            phase: Phase.Registration,
            phaseEnd: uint40(commitStartsAt),
            commits: 0,
            reveals: 0,
            voteCommits: 0,
            voteReveals: 0,
            activeTrainers: 0,
            activeValidators: 0,
            leadingStake: 0
        });
        uint256 trainerPool = RewardMath.trainerPool(reward, p.trainerShareBps);
        emit TaskCreated(taskId, msg.sender, p);
        emit RoundStarted(
            taskId, 0, bytes32(0), reward, trainerPool, reward - trainerPool, commitStartsAt, commitStartsAt + p.commitDuration
        );
        _token.safeTransferFrom(msg.sender, address(this), p.rewardPool);
    }

    function _task(uint256 taskId) private view returns (Task storage t) {
        t = _tasks[taskId];
        if (t.clock.phase == Phase.None) revert FLTaskManagerUnknownTask(taskId);
    }

    /// @dev The task's clock advanced to now, with its schedule. Callers that change state write
    ///      the clock back with {_store}.
    function _sync(Task storage t) private view returns (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) {
        c = t.clock;
        s = t.schedule;
        PhaseClock.advance(c, s, block.timestamp);
    }

    /// @dev Ends the phase now if this transaction completed it, then writes the clock.
    function _store(Task storage t, PhaseClock.Clock memory c, PhaseClock.Schedule memory s) private {
        PhaseClock.advance(c, s, block.timestamp);
        t.clock = c;
    }

    function _projected(Task storage t) private view returns (PhaseClock.Clock memory c) {
        (c,) = _sync(t);
    }

    function _requirePhase(uint256 taskId, PhaseClock.Clock memory c, Phase expected) private pure {
        if (c.phase != expected) revert FLTaskManagerWrongPhase(taskId, expected, c.phase);
    }

    function _validatorStakeFrozen(Phase phase) private pure returns (bool) {
        return phase == Phase.VoteCommit || phase == Phase.VoteReveal || phase == Phase.AwaitingFinalization;
    }

    function _isFinalized(PhaseClock.Clock memory c, uint256 round) private pure returns (bool) {
        return round < c.round || c.phase == Phase.Completed;
    }

    /// @dev Decides a round whose vote reveal is over. Quorum is a strict majority, so at most one
    ///      proposal can reach it, and the leader is that proposal if any does.
    function _decide(
        PhaseClock.Clock memory c,
        PhaseClock.Schedule memory s,
        Totals memory tot,
        bytes32 leader
    ) private pure returns (RoundStatus status, uint256 returned) {
        if (!RewardMath.reachesQuorum(c.leadingStake, tot.totalValidatorStake, s.quorumBps)) {
            return (RoundStatus.Failed, tot.roundReward);
        }
        if (leader == Commitments.REJECT_PROPOSAL) {
            return (RoundStatus.Rejected, RewardMath.trainerPool(tot.roundReward, s.trainerShareBps));
        }
        return (RoundStatus.Accepted, 0);
    }

    /// @dev Opens the round after `c.round` at `block.timestamp` with the pool spread over the
    ///      rounds left.
    function _startRound(
        uint256 taskId,
        PhaseClock.Clock memory c,
        PhaseClock.Schedule memory s,
        Totals memory tot,
        Funds memory f,
        bytes32 globalModelProposal
    ) private {
        uint16 next = c.round + 1;
        uint256 reward = RewardMath.roundReward(f.pool, s.numRounds, next);
        // Fit: reward <= pool (uint96).
        f.pool -= uint96(reward);
        tot.roundReward = uint96(reward);
        uint256 deadline = block.timestamp + s.commitDuration;
        c.round = next;
        c.phase = Phase.Commit;
        c.phaseEnd = uint40(deadline);
        c.commits = 0;
        c.reveals = 0;
        c.voteCommits = 0;
        c.voteReveals = 0;
        c.leadingStake = 0;
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
        Task storage t = _task(taskId);
        (PhaseClock.Clock memory c, PhaseClock.Schedule memory s) = _sync(t);
        if (c.phase == Phase.Completed) revert FLTaskManagerTaskAlreadyCompleted(taskId);
        if (role == Role.Validator && _validatorStakeFrozen(c.phase)) {
            revert FLTaskManagerValidatorStakeFrozen(taskId, c.phase);
        }
        Account memory a = t.accounts[msg.sender];
        if (a.role != Role.None && a.role != role) revert FLTaskManagerRoleMismatch(taskId, msg.sender, role, a.role);
        if (a.flags & _EXITING != 0) revert FLTaskManagerAlreadyExiting(taskId, msg.sender);
        _settle(t, taskId, msg.sender, a, c);
        a.role = role;
        // Checked: reverts if the stake would not fit uint96.
        a.stake += uint96(amount);
        uint256 minimum = _minimumStake(t, role);
        if (a.stake < minimum) revert FLTaskManagerStakeBelowMinimum(taskId, a.stake, minimum);
        if (a.flags & _ACTIVE == 0) {
            _activate(t, taskId, a, c);
        } else if (role == Role.Validator) {
            t.totals.totalValidatorStake += uint96(amount);
        }
        t.accounts[msg.sender] = a;
        if (t.records[msg.sender] == bytes32(0)) {
            // First stake: pre-fill the slots this account rewrites every round (see _SENTINEL).
            t.records[msg.sender] = _SENTINEL;
            if (role == Role.Trainer) t.trainerClaims[msg.sender][0] |= 1;
        }
        emit Staked(taskId, msg.sender, role, amount, a.stake);
        _store(t, c, s);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _permit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) private {
        // A failing permit (e.g. already used by a front-runner) is ignored: the transfer that
        // follows fails with the token's own error if the allowance is not there.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
    }

    function _minimumStake(Task storage t, Role role) private view returns (uint256) {
        return role == Role.Trainer ? t.economics.minTrainerStake : t.economics.minValidatorStake;
    }

    function _activate(Task storage t, uint256 taskId, Account memory a, PhaseClock.Clock memory c) private {
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
            t.totals.totalValidatorStake += a.stake;
        }
        a.flags |= _ACTIVE;
    }

    function _deactivate(Task storage t, Account memory a, PhaseClock.Clock memory c) private {
        // Cannot underflow: an active account is counted in its role's active set and stake.
        if (a.role == Role.Trainer) {
            --c.activeTrainers;
        } else {
            --c.activeValidators;
            t.totals.totalValidatorStake -= a.stake;
        }
        a.flags &= ~_ACTIVE;
    }

    function _requireCanCommit(
        Task storage t,
        uint256 taskId,
        Account memory a,
        PhaseClock.Clock memory c,
        Role role
    ) private {
        if (a.role != role) revert FLTaskManagerRoleMismatch(taskId, msg.sender, role, a.role);
        if (a.flags & _HAS_ROUND != 0 && a.round == c.round) {
            revert FLTaskManagerAlreadyCommitted(taskId, c.round, msg.sender);
        }
        _settle(t, taskId, msg.sender, a, c);
        if (a.flags & _ACTIVE == 0) revert FLTaskManagerNotActive(taskId, msg.sender);
    }

    function _markCommitted(Account memory a, uint16 round) private pure {
        a.round = round;
        a.weight = a.stake;
        a.flags = (a.flags & ~_REVEALED) | _UNSETTLED | _HAS_ROUND;
    }

    function _requireCanReveal(uint256 taskId, Account memory a, uint16 round, Role role) private view {
        if (a.role != role) revert FLTaskManagerRoleMismatch(taskId, msg.sender, role, a.role);
        if (a.flags & _HAS_ROUND == 0 || a.round != round) revert FLTaskManagerNotCommitted(taskId, round, msg.sender);
        if (a.flags & _REVEALED != 0) revert FLTaskManagerAlreadyRevealed(taskId, round, msg.sender);
    }

    function _checkCommitment(Task storage t, uint256 taskId, uint256 round, bytes32 computed) private view {
        bytes32 committed = t.records[msg.sender];
        if (computed != committed) revert FLTaskManagerCommitmentMismatch(taskId, round, committed, computed);
    }

    /// @dev Checks the caller's vote commitment against `proposal`, records the reveal and counts
    ///      the vote. Returns the vote's weight.
    function _acceptVote(
        Task storage t,
        uint256 taskId,
        PhaseClock.Clock memory c,
        bytes32 proposal,
        bytes32 rewardRoot,
        bytes32 salt
    ) private returns (uint96) {
        Account memory a = t.accounts[msg.sender];
        _requireCanReveal(taskId, a, c.round, Role.Validator);
        _checkCommitment(t, taskId, c.round, Commitments.vote(taskId, c.round, msg.sender, proposal, salt));
        t.records[msg.sender] = proposal;
        a.flags |= _REVEALED;
        t.accounts[msg.sender] = a;
        // Cannot overflow: voteReveals <= voteCommits <= type(uint16).max.
        unchecked {
            ++c.voteReveals;
        }
        _countVote(t, c, proposal, rewardRoot, a.weight);
        return a.weight;
    }

    /// @dev Adds a revealed vote to its proposal and keeps the leader (first to reach the top stake).
    function _countVote(
        Task storage t,
        PhaseClock.Clock memory c,
        bytes32 proposal,
        bytes32 rewardRoot,
        uint96 weight
    ) private {
        mapping(bytes32 => uint96) storage tally = t.rounds[c.round].tally;
        uint96 stakeFor = tally[proposal] + weight;
        tally[proposal] = stakeFor;
        if (stakeFor > c.leadingStake) {
            c.leadingStake = stakeFor;
            if (t.leadingProposal != proposal) t.leadingProposal = proposal;
            // The reject proposal has no root; a stale root is never read for it.
            if (rewardRoot != bytes32(0) && t.leadingRoot != rewardRoot) t.leadingRoot = rewardRoot;
        }
    }

    /// @dev Position of `round` in an account's claim bitmap. Bit 0 of word 0 is a sentinel set at
    ///      the first stake, so round r uses bit r + 1.
    function _claimBit(uint256 round) private pure returns (uint256 word, uint256 bit) {
        uint256 index = round + 1;
        return (index >> 8, 1 << (index & 255));
    }

    function _isUnsettledRound(Account memory a, uint256 round) private pure returns (bool) {
        return a.flags & _UNSETTLED != 0 && a.round == round;
    }

    function _votedForWinner(Task storage t, Round storage rd, Outcome memory o, address account)
        private
        view
        returns (bool)
    {
        if (o.status != RoundStatus.Accepted && o.status != RoundStatus.Rejected) return false;
        // Quorum is a strict majority: only the winner can have a tally equal to the winning stake.
        return rd.tally[t.records[account]] == o.winningStake;
    }

    function _validatorShare(Task storage t, Outcome memory o, uint256 weight) private view returns (uint256) {
        uint256 pool = o.roundReward - RewardMath.trainerPool(o.roundReward, t.schedule.trainerShareBps);
        return RewardMath.proRata(pool, weight, o.winningStake);
    }

    /// @dev Whether settling `a`'s unsettled, finalized round would slash it.
    function _owesSlash(Task storage t, Account memory a, address account) private view returns (bool) {
        if (a.flags & _REVEALED == 0) return true;
        if (a.role == Role.Trainer) return false;
        Round storage rd = t.rounds[a.round];
        Outcome memory o = rd.outcome;
        if (o.status != RoundStatus.Accepted && o.status != RoundStatus.Rejected) return false;
        return !_votedForWinner(t, rd, o, account);
    }

    /// @dev Settles `a`'s last round if it is finalized and unsettled: applies the slash it owes,
    ///      or restakes a winning validator's unclaimed reward. Updates `a` and `c` in memory.
    function _settle(Task storage t, uint256 taskId, address account, Account memory a, PhaseClock.Clock memory c)
        private
    {
        if (a.flags & _UNSETTLED == 0 || !_isFinalized(c, a.round)) return;
        a.flags &= ~_UNSETTLED;
        if (a.flags & _REVEALED == 0) {
            (uint256 bps, SlashReason reason) = a.role == Role.Trainer
                ? (t.economics.trainerNonRevealSlashBps, SlashReason.TrainerNonReveal)
                : (t.economics.validatorNonRevealSlashBps, SlashReason.ValidatorNonReveal);
            _applySlash(t, taskId, account, a, c, bps, reason);
            return;
        }
        if (a.role == Role.Trainer) return;
        Round storage rd = t.rounds[a.round];
        Outcome memory o = rd.outcome;
        if (o.status != RoundStatus.Accepted && o.status != RoundStatus.Rejected) return;
        if (!_votedForWinner(t, rd, o, account)) {
            _applySlash(t, taskId, account, a, c, t.economics.validatorLosingSlashBps, SlashReason.ValidatorLosingVote);
            return;
        }
        uint256 reward = _validatorShare(t, o, a.weight);
        if (reward == 0) return;
        // Fit: the reward is part of the round's uint96 validator pool; checked arithmetic otherwise.
        a.stake += uint96(reward);
        rd.claims.validatorClaimed += uint96(reward);
        if (a.flags & _ACTIVE != 0) t.totals.totalValidatorStake += uint96(reward);
        emit ValidatorRewardClaimed(taskId, a.round, account, reward, true);
    }

    function _applySlash(
        Task storage t,
        uint256 taskId,
        address account,
        Account memory a,
        PhaseClock.Clock memory c,
        uint256 bps,
        SlashReason reason
    ) private {
        uint256 amount = RewardMath.bpsOf(a.weight, bps, a.stake);
        if (amount == 0) return;
        // Fit: amount <= a.stake (capped), and the pool holds parts of uint96 amounts.
        a.stake -= uint96(amount);
        t.funds.pool += uint96(amount);
        if (a.flags & _ACTIVE != 0) {
            if (a.role == Role.Validator) t.totals.totalValidatorStake -= uint96(amount);
            if (a.stake < _minimumStake(t, a.role)) _deactivate(t, a, c);
        }
        emit Slashed(taskId, a.round, account, reason, amount, a.stake);
    }
}
