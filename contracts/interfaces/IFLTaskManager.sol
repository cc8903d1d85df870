// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IFLTaskManager
/// @notice Federated-learning tasks on chain: a requester escrows a reward pool in the reward token;
///         trainers and validators stake per task; each round trainers commit/reveal the IPFS CID of
///         their model update, validators commit/reveal a vote on the aggregate (a proposal), anyone
///         finalizes, and rewards are claimed (trainers by Merkle proof, validators pro rata to stake).
/// @dev This interface is the specification. Conventions:
///      - Amounts are token base units. Stakes, pools and rewards are stored as uint96; any amount
///        above `type(uint96).max` reverts with {FLTaskManagerAmountTooLarge}.
///      - Every action works on the task's *current* round; `round` is 0-based.
///      - Phases: a round goes Commit -> Reveal -> VoteCommit -> VoteReveal -> AwaitingFinalization.
///        Round 0 is preceded by Registration. Each timed phase ends at its deadline
///        (`block.timestamp >= deadline`) or as soon as everyone who can act in it has acted:
///          Commit:     commits > 0 and commits >= min(active trainers, maxTrainersPerRound);
///          Reveal:     reveals >= commits;
///          VoteCommit: no update revealed in the round, or
///                      voteCommits > 0 and voteCommits >= active validators;
///          VoteReveal: voteReveals >= voteCommits.
///        A phase that ends early ends at the timestamp of the transaction that completed it; a
///        phase whose condition already holds when it starts ends when it starts. The next phase's
///        deadline is the previous phase's end plus its duration. Phase transitions are computed
///        lazily (O(1)): views always report the phase as of `block.timestamp`.
///      - Round reward: when round r starts, `reward_r = pool / (numRounds - r)` moves out of the
///        task's unallocated pool; `trainerPool = reward_r * trainerShareBps / 10_000`,
///        `validatorPool = reward_r - trainerPool`. Failed rounds return reward_r to the pool,
///        rejected rounds return the trainer pool, slashes add to the pool; all of it is spread over
///        the later rounds, and what is left after the last round goes back to the requester via
///        {returnUnspentPool}.
///      - Commitments (all `abi.encode`):
///          update:   keccak256(taskId, round, trainer, updateCid, numSamples, salt)
///          proposal: keccak256(aggregateCid, rewardRoot); reject = keccak256("", bytes32(0))
///          vote:     keccak256(taskId, round, validator, proposalHash, salt)
///      - Finalize (anyone, O(1)): the proposal with the most revealed stake wins if its stake
///        reaches `quorumBps` of the total active validator stake; quorum must be a strict
///        majority, so at most one proposal can reach it. Winner = a real aggregate: Accepted.
///        Winner = reject proposal: Rejected. No winner: Failed. Accepted and Rejected rounds pay
///        the validators on the winning side; only Accepted rounds pay trainers.
///      - Slashing is lazy and O(1): an account has at most one unsettled round (the last round it
///        committed in). That round is settled, once finalized, by {slash} (anyone), or automatically
///        when the account next commits, changes its stake, withdraws or claims its validator reward.
///        Settlement applies the due slash (trainer: committed, not revealed; validator: committed,
///        not revealed, or revealed a proposal other than the winner of an Accepted/Rejected round)
///        or, for a validator on the winning side that has not claimed, adds the reward to its stake.
///        Slash = bps * weight / 10_000, where weight is the stake when the account committed in
///        that round, capped at the current stake. Stakes never unlock while a round is unsettled.
///      - Validators cannot stake, top up or request exit during VoteCommit, VoteReveal and
///        AwaitingFinalization, so the quorum denominator (total active validator stake) only
///        changes then by settlement of earlier rounds (slashes, restaked rewards), which never
///        touches a stake already committed as a vote weight in the current round.
///      - Trainer claims use a per-(task, account) bitmap of rounds; validator rewards not claimed
///        before the validator's next vote commitment (or withdrawal) are restaked.
interface IFLTaskManager {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Phase of a task's current round, as of `block.timestamp`.
    /// @dev None = task does not exist; Registration only precedes round 0;
    ///      AwaitingFinalization = vote reveal over, {finalizeRound} callable;
    ///      Completed = every round finalized.
    enum Phase {
        None,
        Registration,
        Commit,
        Reveal,
        VoteCommit,
        VoteReveal,
        AwaitingFinalization,
        Completed
    }

    /// @notice A participant's role in one task (one role per account per task).
    enum Role {
        None,
        Trainer,
        Validator
    }

    /// @notice Outcome of a round. Open = not finalized yet (or not started).
    enum RoundStatus {
        Open,
        Accepted,
        Rejected,
        Failed
    }

    /// @notice Why a stake was slashed.
    enum SlashReason {
        TrainerNonReveal,
        ValidatorNonReveal,
        ValidatorLosingVote
    }

    /// @notice What the chain keeps about an account in a round.
    /// @dev Only the account's latest committed round is kept in storage (O(1) per account);
    ///      for an earlier round the status is Unrecorded and the events hold the history.
    enum ParticipationStatus {
        None,
        Committed,
        Revealed,
        Unrecorded
    }

    /// @notice Everything a requester sets when creating a task.
    /// @param modelSpecCid IPFS CID of the model architecture spec.
    /// @param initialModelCid IPFS CID of the initial global weights (G_0).
    /// @param evalDatasetCid IPFS CID of the public evaluation dataset.
    /// @param evalDatasetHash Content hash of the evaluation dataset (non-zero).
    /// @param ruleId Aggregation rule: 0 fedavg, 1 median, 2 trimmed_mean, 3 multi_krum,
    ///        4 norm_clipped_fedavg.
    /// @param ruleParams Parameters of the rule, interpreted off-chain (at most 8).
    /// @param numRounds Number of rounds (1..65535).
    /// @param registrationDuration Seconds of staking before round 0's commit phase (may be 0).
    /// @param commitDuration Seconds of the update-commit phase (> 0).
    /// @param revealDuration Seconds of the update-reveal phase (> 0).
    /// @param voteCommitDuration Seconds of the vote-commit phase (> 0).
    /// @param voteRevealDuration Seconds of the vote-reveal phase (> 0).
    /// @param exitCooldown Seconds between {requestExit} and the earliest {withdraw}.
    /// @param minTrainerStake Minimum stake of an active trainer (> 0).
    /// @param minValidatorStake Minimum stake of an active validator (> 0).
    /// @param maxTrainersPerRound Maximum update commitments per round (1..65535).
    /// @param maxUpdateBytes Maximum size of an update in bytes; enforced off-chain (> 0).
    /// @param quorumBps Winning stake needed, in bps of total active validator stake (5001..10000).
    /// @param trainerNonRevealSlashBps Slash of a trainer that committed and did not reveal (<= 10000).
    /// @param validatorNonRevealSlashBps Slash of a validator that committed and did not reveal (<= 10000).
    /// @param validatorLosingSlashBps Slash of a validator that revealed a losing proposal (<= 10000).
    /// @param trainerShareBps Share of each round's reward for trainers; the rest is for validators.
    /// @param rewardPool Reward pool pulled from the requester at creation (> 0).
    struct TaskParams {
        string modelSpecCid;
        string initialModelCid;
        string evalDatasetCid;
        bytes32 evalDatasetHash;
        uint8 ruleId;
        uint256[] ruleParams;
        uint16 numRounds;
        uint32 registrationDuration;
        uint32 commitDuration;
        uint32 revealDuration;
        uint32 voteCommitDuration;
        uint32 voteRevealDuration;
        uint32 exitCooldown;
        uint256 minTrainerStake;
        uint256 minValidatorStake;
        uint16 maxTrainersPerRound;
        uint64 maxUpdateBytes;
        uint16 quorumBps;
        uint16 trainerNonRevealSlashBps;
        uint16 validatorNonRevealSlashBps;
        uint16 validatorLosingSlashBps;
        uint16 trainerShareBps;
        uint256 rewardPool;
    }

    /// @notice Live state of a task, as of `block.timestamp`.
    /// @param requester Creator of the task; receives the unspent pool.
    /// @param createdAt Creation timestamp.
    /// @param round Current round (the last round once Completed).
    /// @param phase Current phase.
    /// @param phaseDeadline Deadline of the current timed phase; for AwaitingFinalization the time the
    ///        vote reveal ended; 0 when Completed.
    /// @param commits Update commitments in the current round.
    /// @param reveals Update reveals in the current round.
    /// @param voteCommits Vote commitments in the current round.
    /// @param voteReveals Vote reveals in the current round.
    /// @param activeTrainers Trainers with stake >= minimum that have not requested exit.
    /// @param activeValidators Validators with stake >= minimum that have not requested exit.
    /// @param totalValidatorStake Sum of the active validators' stakes (the quorum denominator).
    /// @param roundReward Reward of the current round (trainer pool + validator pool).
    /// @param unallocatedPool Pool not yet assigned to a round (plus returns and slashes).
    /// @param leadingProposal Proposal with the most revealed stake in the current round.
    /// @param leadingStake Revealed stake behind `leadingProposal`.
    struct TaskState {
        address requester;
        uint256 createdAt;
        uint256 round;
        Phase phase;
        uint256 phaseDeadline;
        uint256 commits;
        uint256 reveals;
        uint256 voteCommits;
        uint256 voteReveals;
        uint256 activeTrainers;
        uint256 activeValidators;
        uint256 totalValidatorStake;
        uint256 roundReward;
        uint256 unallocatedPool;
        bytes32 leadingProposal;
        uint256 leadingStake;
    }

    /// @notice An account's standing in a task.
    /// @param role Trainer or Validator (None if never staked or fully withdrawn).
    /// @param stake Current stake.
    /// @param active Whether the account counts as an active trainer/validator.
    /// @param exiting Whether the account requested exit.
    /// @param unlockAt Earliest withdrawal time after an exit request (0 if not exiting).
    /// @param lastRound Last round the account committed in (valid if `hasRound`).
    /// @param hasRound Whether the account ever committed in this task.
    /// @param unsettled Whether `lastRound` still awaits settlement (slash or reward).
    /// @param weight Stake when the account committed in `lastRound`.
    struct Participant {
        Role role;
        uint256 stake;
        bool active;
        bool exiting;
        uint256 unlockAt;
        uint256 lastRound;
        bool hasRound;
        bool unsettled;
        uint256 weight;
    }

    /// @notice Outcome of one round.
    /// @param status Open until finalized, then Accepted, Rejected or Failed.
    /// @param rewardRoot Merkle root of trainer rewards (Accepted rounds only).
    /// @param winningStake Revealed stake behind the winning proposal (0 if Failed).
    /// @param roundReward Reward assigned to the round when it started.
    /// @param trainerPool Trainer share of `roundReward`.
    /// @param validatorPool Validator share of `roundReward`.
    /// @param trainerClaimed Trainer rewards claimed so far.
    /// @param validatorClaimed Validator rewards claimed or restaked so far.
    /// @param finalizedAt Finalization timestamp (0 if Open).
    struct RoundOutcome {
        RoundStatus status;
        bytes32 rewardRoot;
        uint256 winningStake;
        uint256 roundReward;
        uint256 trainerPool;
        uint256 validatorPool;
        uint256 trainerClaimed;
        uint256 validatorClaimed;
        uint256 finalizedAt;
    }

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice A task was created and its reward pool escrowed.
    event TaskCreated(uint256 indexed taskId, address indexed requester, TaskParams params);

    /// @notice A round started (round 0 at task creation, later rounds when the previous one was
    ///         finalized). Its commit phase runs from `commitStartsAt` to `commitDeadline`.
    /// @param globalModelProposal Proposal hash whose aggregate CID is this round's global model
    ///        (bytes32(0) when it is the initial model or the model of an earlier round was kept).
    event RoundStarted(
        uint256 indexed taskId,
        uint256 indexed round,
        bytes32 globalModelProposal,
        uint256 roundReward,
        uint256 trainerPool,
        uint256 validatorPool,
        uint256 commitStartsAt,
        uint256 commitDeadline
    );

    /// @notice `account` added `amount` to its stake in `taskId` as `role`.
    event Staked(uint256 indexed taskId, address indexed account, Role indexed role, uint256 amount, uint256 stake);

    /// @notice `account` left the active set of `taskId`; it may withdraw from `unlockAt`.
    event ExitRequested(uint256 indexed taskId, address indexed account, uint256 unlockAt);

    /// @notice `account` withdrew its whole stake `amount` from `taskId`.
    event Withdrawn(uint256 indexed taskId, address indexed account, uint256 amount);

    /// @notice A trainer committed to an update.
    event UpdateCommitted(uint256 indexed taskId, uint256 indexed round, address indexed trainer, bytes32 commitment);

    /// @notice A trainer revealed its update; the update is at `updateCid` on IPFS.
    event UpdateRevealed(
        uint256 indexed taskId, uint256 indexed round, address indexed trainer, string updateCid, uint256 numSamples
    );

    /// @notice A validator committed to a vote with `weight` (its stake).
    event VoteCommitted(
        uint256 indexed taskId, uint256 indexed round, address indexed validator, bytes32 commitment, uint256 weight
    );

    /// @notice A validator revealed its vote for `proposalHash` = keccak256(abi.encode(aggregateCid,
    ///         rewardRoot)) with `weight`, and its evaluation `metric` (not part of the commitment;
    ///         e.g. accuracy in basis points on its own data). Empty CID and zero root = reject.
    event VoteRevealed(
        uint256 indexed taskId,
        uint256 indexed round,
        address indexed validator,
        bytes32 proposalHash,
        string aggregateCid,
        bytes32 rewardRoot,
        uint256 weight,
        uint32 metric
    );

    /// @notice A round was finalized.
    /// @param winningProposal The winning proposal (the leading one if it missed quorum: then Failed).
    /// @param returnedToPool Part of the round's reward returned to the unallocated pool.
    event RoundFinalized(
        uint256 indexed taskId,
        uint256 indexed round,
        RoundStatus status,
        bytes32 winningProposal,
        bytes32 rewardRoot,
        uint256 winningStake,
        uint256 totalValidatorStake,
        uint256 returnedToPool
    );

    /// @notice The last round of `taskId` was finalized.
    event TaskCompleted(uint256 indexed taskId, uint256 unallocatedPool);

    /// @notice The unallocated pool of a completed task went back to its requester.
    event UnspentPoolReturned(uint256 indexed taskId, address indexed requester, uint256 amount);

    /// @notice A trainer claimed its Merkle-proven reward for a round.
    event TrainerRewardClaimed(uint256 indexed taskId, uint256 indexed round, address indexed trainer, uint256 amount);

    /// @notice A validator on the winning side was paid its reward (`restaked`: added to its stake
    ///         by settlement instead of transferred).
    event ValidatorRewardClaimed(
        uint256 indexed taskId, uint256 indexed round, address indexed validator, uint256 amount, bool restaked
    );

    /// @notice `account` was slashed `amount` for `round`; the amount went to the task's pool.
    event Slashed(
        uint256 indexed taskId,
        uint256 indexed round,
        address indexed account,
        SlashReason reason,
        uint256 amount,
        uint256 remainingStake
    );

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    // ---- task parameters (createTask) ----

    /// @notice `modelSpecCid` is empty.
    error FLTaskManagerEmptyModelSpecCid();
    /// @notice `initialModelCid` is empty.
    error FLTaskManagerEmptyInitialModelCid();
    /// @notice `evalDatasetCid` is empty.
    error FLTaskManagerEmptyEvalDatasetCid();
    /// @notice `evalDatasetHash` is zero.
    error FLTaskManagerZeroEvalDatasetHash();
    /// @notice `ruleId` is not a known aggregation rule.
    error FLTaskManagerUnknownAggregationRule(uint8 ruleId);
    /// @notice More than 8 rule parameters.
    error FLTaskManagerTooManyRuleParams(uint256 count, uint256 max);
    /// @notice `numRounds` is zero.
    error FLTaskManagerZeroRounds();
    /// @notice A phase duration is zero (`phase` says which).
    error FLTaskManagerZeroPhaseDuration(Phase phase);
    /// @notice `minTrainerStake` is zero.
    error FLTaskManagerZeroMinTrainerStake();
    /// @notice `minValidatorStake` is zero.
    error FLTaskManagerZeroMinValidatorStake();
    /// @notice `maxTrainersPerRound` is zero.
    error FLTaskManagerZeroMaxTrainers();
    /// @notice `maxUpdateBytes` is zero.
    error FLTaskManagerZeroMaxUpdateBytes();
    /// @notice `quorumBps` is not a strict majority in basis points (5001..10000).
    error FLTaskManagerInvalidQuorum(uint256 quorumBps);
    /// @notice `trainerNonRevealSlashBps` exceeds 10000.
    error FLTaskManagerInvalidTrainerNonRevealSlash(uint256 bps);
    /// @notice `validatorNonRevealSlashBps` exceeds 10000.
    error FLTaskManagerInvalidValidatorNonRevealSlash(uint256 bps);
    /// @notice `validatorLosingSlashBps` exceeds 10000.
    error FLTaskManagerInvalidValidatorLosingSlash(uint256 bps);
    /// @notice `trainerShareBps` exceeds 10000.
    error FLTaskManagerInvalidTrainerShare(uint256 bps);
    /// @notice `rewardPool` is zero.
    error FLTaskManagerZeroRewardPool();

    // ---- general ----

    /// @notice No task with this id.
    error FLTaskManagerUnknownTask(uint256 taskId);
    /// @notice The action needs phase `expected`; the task is in `actual`.
    error FLTaskManagerWrongPhase(uint256 taskId, Phase expected, Phase actual);
    /// @notice An amount does not fit the contract's uint96 accounting.
    error FLTaskManagerAmountTooLarge(uint256 amount);
    /// @notice A zero amount was given.
    error FLTaskManagerZeroAmount();
    /// @notice The task is Completed: no more staking, exits or round actions.
    error FLTaskManagerTaskAlreadyCompleted(uint256 taskId);

    // ---- staking ----

    /// @notice `account` has role `actual` in the task but the action needs `expected`.
    error FLTaskManagerRoleMismatch(uint256 taskId, address account, Role expected, Role actual);
    /// @notice The stake would be `stake`, below the role's `minimum`.
    error FLTaskManagerStakeBelowMinimum(uint256 taskId, uint256 stake, uint256 minimum);
    /// @notice The active set of `role` is full (65535).
    error FLTaskManagerTooManyParticipants(uint256 taskId, Role role);
    /// @notice Validator stakes cannot change while votes are committed, revealed or counted.
    error FLTaskManagerValidatorStakeFrozen(uint256 taskId, Phase phase);
    /// @notice `account` is not an active participant (not staked, below minimum, or exiting).
    error FLTaskManagerNotActive(uint256 taskId, address account);
    /// @notice `account` already requested exit.
    error FLTaskManagerAlreadyExiting(uint256 taskId, address account);
    /// @notice `account` has no stake in the task.
    error FLTaskManagerNotStaked(uint256 taskId, address account);
    /// @notice The stake is locked until `unlockAt` (0: until exit is requested or the task completes).
    error FLTaskManagerStakeLocked(uint256 taskId, address account, uint256 unlockAt);
    /// @notice `account`'s stake can still be slashed for `round`, which is not finalized.
    error FLTaskManagerRoundUnsettled(uint256 taskId, address account, uint256 round);

    // ---- commit / reveal ----

    /// @notice A commitment of zero.
    error FLTaskManagerZeroCommitment();
    /// @notice `account` already committed in `round`.
    error FLTaskManagerAlreadyCommitted(uint256 taskId, uint256 round, address account);
    /// @notice The round already has `maxTrainersPerRound` update commitments.
    error FLTaskManagerRoundFull(uint256 taskId, uint256 round, uint256 maxTrainers);
    /// @notice `account` has no commitment in `round`.
    error FLTaskManagerNotCommitted(uint256 taskId, uint256 round, address account);
    /// @notice `account` already revealed in `round`.
    error FLTaskManagerAlreadyRevealed(uint256 taskId, uint256 round, address account);
    /// @notice The revealed values hash to `computed`, not to the stored `committed`.
    error FLTaskManagerCommitmentMismatch(uint256 taskId, uint256 round, bytes32 committed, bytes32 computed);
    /// @notice An update reveal with an empty CID.
    error FLTaskManagerEmptyUpdateCid();
    /// @notice An update reveal with zero samples.
    error FLTaskManagerZeroSamples();
    /// @notice A proposal with a CID but zero root, or a zero CID with a non-zero root.
    error FLTaskManagerMalformedProposal(uint256 cidLength, bytes32 rewardRoot);

    // ---- finalize / claims / slashing ----

    /// @notice `round` is not finalized.
    error FLTaskManagerRoundNotFinalized(uint256 taskId, uint256 round);
    /// @notice Trainer rewards exist only for Accepted rounds; `round` is `status`.
    error FLTaskManagerRoundNotAccepted(uint256 taskId, uint256 round, RoundStatus status);
    /// @notice `proof` does not show (`account`, `amount`) under the round's reward root.
    error FLTaskManagerInvalidProof(uint256 taskId, uint256 round, address account, uint256 amount);
    /// @notice `account` already claimed its reward for `round`.
    error FLTaskManagerAlreadyClaimed(uint256 taskId, uint256 round, address account);
    /// @notice Paying `amount` would exceed the round's trainer pool (`remaining` left).
    error FLTaskManagerTrainerPoolExceeded(uint256 taskId, uint256 round, uint256 amount, uint256 remaining);
    /// @notice `account` has no validator reward for `round` (did not vote for the winner, or it
    ///         was already paid or restaked).
    error FLTaskManagerNoValidatorReward(uint256 taskId, uint256 round, address account);
    /// @notice `account` owes no slash for `round` (did nothing slashable, or already settled).
    error FLTaskManagerNotSlashable(uint256 taskId, uint256 round, address account);
    /// @notice The task is not completed.
    error FLTaskManagerTaskNotCompleted(uint256 taskId);
    /// @notice The completed task has no unallocated pool left.
    error FLTaskManagerNothingToReturn(uint256 taskId);

    /*//////////////////////////////////////////////////////////////
                              TASK LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    /// @notice Create a task and pull `params.rewardPool` from the caller (needs allowance).
    ///         Round 0 starts now; its commit phase after `registrationDuration`.
    /// @return taskId Id of the new task (ids start at 1).
    function createTask(TaskParams calldata params) external returns (uint256 taskId);

    /// @notice {createTask} with an EIP-2612 permit for the reward pool instead of an allowance.
    ///         A permit that fails (e.g. front-run) is ignored if the allowance is already enough.
    function createTaskWithPermit(TaskParams calldata params, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 taskId);

    /// @notice Return a completed task's unallocated pool to its requester. Anyone may call.
    function returnUnspentPool(uint256 taskId) external;

    /*//////////////////////////////////////////////////////////////
                                 STAKING
    //////////////////////////////////////////////////////////////*/

    /// @notice Stake `amount` in `taskId` as `role` (first stake fixes the role; later calls top up).
    ///         The stake must reach the role's minimum. Settles the caller's last round first.
    /// @dev Reverts when the task is Completed, when the caller is exiting, and for validators
    ///      during VoteCommit, VoteReveal and AwaitingFinalization.
    function stake(uint256 taskId, Role role, uint256 amount) external;

    /// @notice {stake} with an EIP-2612 permit instead of an allowance.
    function stakeWithPermit(uint256 taskId, Role role, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Leave the active set; the stake can be withdrawn after `exitCooldown` once the
    ///         caller's last round is finalized. An exiting account may still reveal what it committed.
    function requestExit(uint256 taskId) external;

    /// @notice Withdraw the whole stake (after settling the last round): allowed once the task is
    ///         Completed, or after {requestExit} and its cooldown.
    function withdraw(uint256 taskId) external;

    /*//////////////////////////////////////////////////////////////
                              ROUND ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Commit to an update in the current round (phase Commit, active trainer).
    /// @param commitment keccak256(abi.encode(taskId, round, msg.sender, updateCid, numSamples, salt)).
    function commitUpdate(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the committed update (phase Reveal).
    function revealUpdate(uint256 taskId, string calldata updateCid, uint256 numSamples, bytes32 salt) external;

    /// @notice Commit to a vote in the current round (phase VoteCommit, active validator).
    ///         The vote's weight is the caller's stake.
    /// @param commitment keccak256(abi.encode(taskId, round, msg.sender, proposalHash, salt)).
    function commitVote(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the committed vote (phase VoteReveal). Empty `aggregateCid` and zero
    ///         `rewardRoot` is the reject vote.
    /// @param metric The validator's evaluation of the aggregate (e.g. accuracy in bps); emitted only.
    function revealVote(uint256 taskId, string calldata aggregateCid, bytes32 rewardRoot, bytes32 salt, uint32 metric)
        external;

    /// @notice Finalize the current round (phase AwaitingFinalization). Anyone may call; O(1).
    ///         Starts the next round, or completes the task after the last round.
    function finalizeRound(uint256 taskId) external;

    /*//////////////////////////////////////////////////////////////
                          REWARDS AND SLASHING
    //////////////////////////////////////////////////////////////*/

    /// @notice Claim a trainer reward of an Accepted round with a proof for the leaf
    ///         keccak256(bytes.concat(keccak256(abi.encode(msg.sender, amount)))) (OpenZeppelin
    ///         StandardMerkleTree, leaf types ["address", "uint256"]).
    function claimTrainerReward(uint256 taskId, uint256 round, uint256 amount, bytes32[] calldata proof) external;

    /// @notice Claim a validator reward of an Accepted or Rejected round in which the caller
    ///         revealed the winning proposal: `validatorPool * weight / winningStake`.
    function claimValidatorReward(uint256 taskId, uint256 round) external;

    /// @notice Apply the slash `account` owes for `round` (its last committed round, finalized).
    ///         Anyone may call.
    function slash(uint256 taskId, uint256 round, address account) external;

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The reward token (stakes and pools).
    function token() external view returns (address);

    /// @notice Number of tasks created (the last task id).
    function taskCount() external view returns (uint256);

    /// @notice The parameters `taskId` was created with.
    function taskParams(uint256 taskId) external view returns (TaskParams memory);

    /// @notice The live state of `taskId` as of `block.timestamp`.
    function taskState(uint256 taskId) external view returns (TaskState memory);

    /// @notice Current round, its phase and the phase's deadline as of `block.timestamp`.
    function currentRound(uint256 taskId) external view returns (uint256 round, Phase phase, uint256 deadline);

    /// @notice `account`'s standing in `taskId`.
    function participant(uint256 taskId, address account) external view returns (Participant memory);

    /// @notice `account`'s status in `round` and the stored record: the commitment while Committed;
    ///         keccak256(bytes(updateCid)) for a revealed trainer; the proposal hash for a revealed validator.
    function participantStatus(uint256 taskId, uint256 round, address account)
        external
        view
        returns (ParticipationStatus status, bytes32 record);

    /// @notice The outcome of `round` (status Open while it runs or before it starts).
    function roundOutcome(uint256 taskId, uint256 round) external view returns (RoundOutcome memory);

    /// @notice Revealed stake behind `proposal` in `round`. With the winning stake from
    ///         {roundOutcome} this proves which (aggregateCid, rewardRoot) won.
    function proposalStake(uint256 taskId, uint256 round, bytes32 proposal) external view returns (uint256);

    /// @notice Whether `account` claimed its trainer reward for `round`.
    function trainerRewardClaimed(uint256 taskId, uint256 round, address account) external view returns (bool);

    /// @notice The validator reward `account` can claim for `round` now (0 if none).
    function validatorReward(uint256 taskId, uint256 round, address account) external view returns (uint256);

    /// @notice keccak256(abi.encode(taskId, round, trainer, updateCid, numSamples, salt)).
    function updateCommitment(
        uint256 taskId,
        uint256 round,
        address trainer,
        string calldata updateCid,
        uint256 numSamples,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice keccak256(abi.encode(aggregateCid, rewardRoot)).
    function proposalHash(string calldata aggregateCid, bytes32 rewardRoot) external pure returns (bytes32);

    /// @notice keccak256(abi.encode(taskId, round, validator, proposalHash, salt)).
    function voteCommitment(uint256 taskId, uint256 round, address validator, bytes32 proposal, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice The reject proposal: keccak256(abi.encode("", bytes32(0))).
    function rejectProposal() external pure returns (bytes32);
}
