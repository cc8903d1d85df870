// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IFLTaskManager
/// @notice Federated-learning tasks on chain: a requester escrows a reward pool in the reward token;
///         trainers and validators stake per task; each round trainers commit/reveal the IPFS CID of
///         their model update, validators attest which updates they hold, then commit/reveal a vote on
///         the aggregate (a proposal), anyone finalizes, rewards are claimed (trainers by Merkle proof,
///         validators pro rata to stake) and provably bad updates are penalized (by Merkle proof).
/// @dev This interface is the specification. Conventions:
///      - Amounts are token base units. Stakes, pools and rewards are stored as uint96; any amount
///        above `type(uint96).max` reverts with {FLTaskManagerAmountTooLarge}.
///      - Every action works on the task's *current* round; `round` is 0-based.
///      - Phases: a round goes Commit -> Reveal -> Attest -> VoteCommit -> VoteReveal ->
///        AwaitingFinalization. Round 0 is preceded by Registration. Each timed phase ends at its
///        deadline (`block.timestamp >= deadline`) or as soon as everyone who can act in it has acted:
///          Commit:     commits > 0 and commits >= min(active trainers, maxTrainersPerRound);
///          Reveal:     reveals >= commits;
///          Attest:     no update revealed in the round, or attests > 0 and attests >= active validators;
///          VoteCommit: no update revealed in the round, or
///                      voteCommits > 0 and voteCommits >= active validators;
///          VoteReveal: voteReveals >= voteCommits.
///        A trainer that committed in the current round cannot request exit until the round is
///        finalized, and a penalty that would deactivate it waits for the Commit phase to end, so no
///        exit or penalty can end the Commit phase while an active trainer has not committed.
///        A phase that ends early ends at the timestamp of the transaction that completed it; a
///        phase whose condition already holds when it starts ends when it starts. The next phase's
///        deadline is the previous phase's end plus its duration. Phase transitions are computed
///        lazily (O(1)): views always report the phase as of `block.timestamp`.
///      - Round reward: when round r starts, `reward_r = pool / (numRounds - r)` moves out of the
///        task's unallocated pool; `trainerPool = reward_r * trainerShareBps / 10_000`,
///        `validatorPool = reward_r - trainerPool`. Failed and Rejected rounds return reward_r to the
///        pool; accepted rounds whose proposal pays no trainer (zero reward root) return the trainer
///        pool; slashes and penalties add to the pool; all of it is spread over the later rounds,
///        and what is left after the last round goes back to the requester via {reclaim}. Rewards
///        of Accepted rounds not claimed within `claimWindow` seconds of the task's completion
///        (unclaimed rewards and rounding dust) also go back via {reclaim}, which then closes
///        every claim of the task: no token stays in the manager for ever.
///      - Declared samples are collateral-backed: a trainer may reveal at most
///        `weight / stakePerSample` samples (weight = its stake when it committed), so a sample
///        count is never worth more than the stake behind it (no limit when `stakePerSample` is 0).
///      - Availability (Attest phase): each active validator attests, once per round, to the revealed
///        updates it holds (fetched, checked against the CID, pinned) as a bitmap over reveal indexes
///        (bit i of byte i / 8, least significant first; `index` of {UpdateRevealed}). The contract
///        only counts attestations; validators decide the round's update set off-chain from the
///        {AvailabilityAttested} events, the same way on every machine: with T the round's stake
///        snapshot (`totalValidatorStake` of its attestations, the same in all of them; see the
///        stake snapshot below) and att(i) the summed weight of the validators attesting update i,
///        update i is aggregated if att(i) * 10_000 >= quorumBps * T
///        (some honest validator holds it: colluders hold less than quorum), penalized as unavailable
///        if att(i) * 10_000 <= (10_000 - quorumBps) * T (even the honest validators did not get it),
///        and left out unpenalized in between. If all attesters together hold less than quorum of T,
///        no update is aggregated or penalized for availability. The rule needs honest validators
///        online in the Attest phase; its limits are documented in docs/protocol.md.
///      - Commitments (all `abi.encode`):
///          update:   keccak256(taskId, round, trainer, updateCid, numSamples, salt)
///          proposal: keccak256(aggregateCid, rewardRoot, penaltyRoot);
///                    reject = keccak256("", bytes32(0), bytes32(0))
///          vote:     keccak256(taskId, round, validator, proposalHash, salt)
///      - Privacy (`TaskParams.privacy`, a mode fixed at creation): Plaintext updates are public on
///        IPFS; Sealed updates are encrypted to the validators, who register X25519 keys in
///        {IFLPrivacy}; SecAgg updates are clipped, quantized and pairwise-masked by the trainers
///        (keys in {IFLPrivacy}), so only their sum can be read, after the survivors published
///        their mask seeds with the round's dropouts ({IFLPrivacy-publishMaskSeeds}). With a
///        differential-privacy budget (`epsilonBudgetMicro` > 0) every update is clipped to
///        `maxDeltaNormMicro` and noised (locally in Plaintext and Sealed, as shares of one
///        mechanism under SecAgg) with noise multiplier `noiseMultiplierMicro`; creation reverts
///        unless the RDP bound of `numRounds` such rounds at `deltaAtto` is within the budget
///        ({PrivacyBudget}: dp-accounting's RdpAccountant in integer arithmetic), so no round can
///        run past it. The off-chain protocol of each mode: docs/privacy.md.
///      - Penalties: a proposal's `penaltyRoot` is the Merkle root of the trainers whose update the
///        round receipt rejects for a reason only a broken or dishonest client produces (or that a
///        quorum could not fetch). Once the round is Accepted, anyone applies a penalty with a proof
///        (leaf keccak256(bytes.concat(keccak256(abi.encode(trainer)))), OpenZeppelin
///        StandardMerkleTree with leaf type ["address"]), once per trainer and round, O(1) gas:
///        `trainerPenaltyBps` of the trainer's current stake goes to the task's pool. A trainer's stake
///        unlocks no earlier than `exitCooldown` after its last committed round was finalized, so
///        penalties can be applied before it can withdraw.
///      - Finalize (anyone, O(1)): the proposal with the most revealed stake wins if its stake
///        reaches `quorumBps` of the round's stake snapshot; quorum must be a strict majority, so
///        at most one proposal can reach it. Winner = a real aggregate: Accepted. Winner = reject
///        proposal: Rejected. No winner: Failed. Only Accepted rounds pay: the validators on the
///        winning side and the trainers. A Rejected round pays nobody (a validator that votes
///        reject without evaluating anything earns nothing by it); its whole reward returns to the
///        pool, so the validators of later rounds earn it.
///      - Slashing is lazy and O(1): an account has at most one unsettled round (the last round it
///        committed in). That round is settled, once finalized, by {slash} (anyone), or automatically
///        when the account next commits, changes its stake, withdraws or claims its validator reward.
///        Settlement applies the due slash or, for a validator on the winning side of an Accepted
///        round that has not claimed, adds the reward to its stake (unless the task's claims are
///        closed). What is due:
///          trainer:   committed, not revealed -> trainerNonRevealSlashBps;
///          validator: committed, not revealed -> validatorNonRevealSlashBps;
///                     revealed the winner of an Accepted round -> its reward;
///                     revealed another aggregate in an Accepted round -> validatorLosingSlashBps
///                     (its computation disagrees with the quorum's: a bug or a lie);
///                     revealed reject in an Accepted round, or anything in a Rejected round ->
///                     nothing (a judgement of model quality on its own data, not a fault).
///        Slash = bps * weight / 10_000, where weight is the stake when the account committed in
///        that round, capped at the current stake. An account whose stake falls below its role's
///        minimum is deactivated. Stakes never unlock while a round is unsettled.
///      - Stake snapshot (the quorum denominator). The task's validator stake V is the stakes of its
///        active validators plus the validator rewards owed (from an Accepted round's finalization
///        until restaked or claimed; pro-rata rounding dust stays counted). Round r has one
///        snapshot S_r of it, set to V when the round starts (finalization of round r - 1; 0 at
///        task creation). Validators can stake, top up or request exit only before the round's
///        Attest phase (Registration, Commit, Reveal), and until then every change of V but a claim
///        (stake, top-up, exit, slash, the restake of an exited validator's reward) moves S_r by
///        the same amount; a claim lowers V alone. From the start of the Attest phase until
///        finalization nothing changes S_r: restakes, slashes, claims, withdrawals and
///        attestations leave V as it is or lower it, and S_r stays. A validator's weight in round
///        r, its stake when it first attests or commits in r (after settling its previous round),
///        is at most what V counted for it when the Attest phase started: a restake adds a reward
///        counted since its finalization, a slash lowers the stake, and nobody stakes, tops up or
///        becomes active after that. Invariant: the weights of all validators in round r sum to at
///        most S_r. So the attested stake of any update, every proposal's tally and the winning
///        stake are at most S_r (attested bps <= 10_000), and a set of validators holding less than
///        `quorumBps` of S_r cannot decide any quorum of the round: availability (off-chain, from
///        {AvailabilityAttested}), vote and finalize, which all use S_r (emitted as
///        `totalValidatorStake` in each {AvailabilityAttested} of the round and in
///        {RoundFinalized}). What is not applied yet (lazy slashes, rewards that will be claimed
///        instead of restaked, the stake of validators that do not take part) only keeps S_r above
///        the stake that can vote: a larger denominator never lets less than quorum decide.
///      - Trainer claims and penalties use per-(task, account) bitmaps of rounds; validator rewards
///        not claimed before the validator's next round (or withdrawal) are restaked.
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
        Attest,
        VoteCommit,
        VoteReveal,
        AwaitingFinalization,
        Completed
    }

    /// @notice Who can read a task's updates (see {PrivacyParams}).
    enum PrivacyMode {
        Plaintext,
        Sealed,
        SecAgg
    }

    /// @notice What a task's differential privacy protects (see {PrivacyParams}).
    enum PrivacyUnit {
        Trainer,
        Sample
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
        ValidatorLosingVote,
        TrainerRejectedUpdate
    }

    /// @notice What the chain keeps about an account's commitment in a round.
    /// @dev Only the account's latest round is kept in storage (O(1) per account); for an earlier
    ///      round the status is Unrecorded and the events hold the history. None also covers a
    ///      validator that only attested availability in the round.
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
    ///        4 norm_clipped_fedavg, 5 consensus_fedavg (the registry: offchain/fl/rules.py).
    /// @param ruleParams Parameters of the rule, interpreted off-chain (at most 8).
    /// @param numRounds Number of rounds (1..65535).
    /// @param registrationDuration Seconds of staking before round 0's commit phase (may be 0).
    /// @param commitDuration Seconds of the update-commit phase (> 0).
    /// @param revealDuration Seconds of the update-reveal phase (> 0).
    /// @param attestDuration Seconds of the availability-attestation phase (> 0).
    /// @param voteCommitDuration Seconds of the vote-commit phase (> 0).
    /// @param voteRevealDuration Seconds of the vote-reveal phase (> 0).
    /// @param exitCooldown Seconds between {requestExit} and the earliest {withdraw}; also the least
    ///        time between the finalization of a trainer's last committed round and its {withdraw}
    ///        (the window in which penalties of that round can still be applied).
    /// @param claimWindow Seconds after the task's completion during which rewards can be claimed;
    ///        then {reclaim} returns what is unclaimed to the requester (> 0).
    /// @param minTrainerStake Minimum stake of an active trainer (> 0).
    /// @param minValidatorStake Minimum stake of an active validator (> 0).
    /// @param stakePerSample Stake (base units) that must back each declared sample: a reveal may
    ///        declare at most `weight / stakePerSample` samples (0: no limit).
    /// @param maxTrainersPerRound Maximum update commitments per round (1..65535).
    /// @param maxUpdateBytes Maximum size of an update in bytes; enforced off-chain (> 0).
    /// @param maxDeltaNormMicro Bound on the L2 norm of an update's change from the global model, in
    ///        millionths; enforced off-chain, an update above it is rejected and penalized (0: none).
    /// @param quorumBps Winning stake needed, in bps of the round's validator stake snapshot
    ///        (5001..10000).
    /// @param trainerNonRevealSlashBps Slash of a trainer that committed and did not reveal (<= 10000).
    /// @param trainerPenaltyBps Penalty of a trainer whose update was provably bad (<= 10000).
    /// @param validatorNonRevealSlashBps Slash of a validator that committed and did not reveal (<= 10000).
    /// @param validatorLosingSlashBps Slash of a validator that revealed a losing proposal (<= 10000).
    /// @param trainerShareBps Share of each round's reward for trainers; the rest is for validators.
    /// @param rewardPool Reward pool pulled from the requester at creation (> 0).
    /// @param privacy Who can read updates and the differential-privacy budget (see {PrivacyParams}).
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
        uint32 attestDuration;
        uint32 voteCommitDuration;
        uint32 voteRevealDuration;
        uint32 exitCooldown;
        uint32 claimWindow;
        uint256 minTrainerStake;
        uint256 minValidatorStake;
        uint256 stakePerSample;
        uint16 maxTrainersPerRound;
        uint64 maxUpdateBytes;
        uint64 maxDeltaNormMicro;
        uint16 quorumBps;
        uint16 trainerNonRevealSlashBps;
        uint16 trainerPenaltyBps;
        uint16 validatorNonRevealSlashBps;
        uint16 validatorLosingSlashBps;
        uint16 trainerShareBps;
        uint256 rewardPool;
        PrivacyParams privacy;
    }

    /// @notice How a task protects its trainers' updates (docs/privacy.md).
    /// @param mode Who can read an update: Plaintext (everyone), Sealed (the validators), SecAgg (nobody;
    ///        only the sum of a round's updates). SecAgg needs `ruleId` 0 (the sum's mean) and a
    ///        clip (`maxDeltaNormMicro` > 0).
    /// @param epsilonBudgetMicro Differential-privacy budget ε x 1e6 for the whole task (0: no DP).
    /// @param deltaAtto δ x 1e18 of the budget (0 < δ < 1 with DP; 0 without).
    /// @param noiseMultiplierMicro Noise standard deviation over the clip, x 1e6 (> 0 with DP; 0 without).
    /// @param minContributors SecAgg only (>= 2, else 0): the fewest revealed updates whose sum may be
    ///        unmasked; with DP each contributor adds 1/minContributors of the noise variance.
    /// @param scaleBits SecAgg only (1..24, else 0): updates are quantized to multiples of 2^-scaleBits.
    /// @param unit What ε protects: a Trainer's whole data (its update is clipped to the clip), or
    ///        each Sample (each example's scaled gradient is clipped to the clip and a round is one
    ///        step on the sum of them: DP-FedSGD). Sample needs a budget.
    struct PrivacyParams {
        PrivacyMode mode;
        uint64 epsilonBudgetMicro;
        uint64 deltaAtto;
        uint64 noiseMultiplierMicro;
        uint16 minContributors;
        uint8 scaleBits;
        PrivacyUnit unit;
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
    /// @param attests Availability attestations in the current round.
    /// @param voteCommits Vote commitments in the current round.
    /// @param voteReveals Vote reveals in the current round.
    /// @param activeTrainers Trainers with stake >= minimum that have not requested exit.
    /// @param activeValidators Validators with stake >= minimum that have not requested exit.
    /// @param totalValidatorStake The current round's validator stake snapshot, its quorum
    ///        denominator (see the conventions): active stakes plus owed validator rewards.
    /// @param roundReward Reward of the current round (trainer pool + validator pool).
    /// @param unallocatedPool Pool not yet assigned to a round (plus returns and slashes).
    /// @param leadingProposal Proposal with the most revealed stake in the current round.
    /// @param leadingStake Revealed stake behind `leadingProposal`.
    /// @param unclaimedRewards Rewards of finalized rounds not yet claimed or restaked (with
    ///        rounding dust), returned to the requester by {reclaim} after the claim window.
    /// @param claimsClosed Whether {reclaim} closed the task's claims.
    struct TaskState {
        address requester;
        uint256 createdAt;
        uint256 round;
        Phase phase;
        uint256 phaseDeadline;
        uint256 commits;
        uint256 reveals;
        uint256 attests;
        uint256 voteCommits;
        uint256 voteReveals;
        uint256 activeTrainers;
        uint256 activeValidators;
        uint256 totalValidatorStake;
        uint256 roundReward;
        uint256 unallocatedPool;
        bytes32 leadingProposal;
        uint256 leadingStake;
        uint256 unclaimedRewards;
        bool claimsClosed;
    }

    /// @notice An account's standing in a task.
    /// @param role Trainer or Validator (None if never staked or fully withdrawn).
    /// @param stake Current stake.
    /// @param active Whether the account counts as an active trainer/validator.
    /// @param exiting Whether the account requested exit.
    /// @param unlockAt Earliest withdrawal time after an exit request (0 if not exiting).
    /// @param lastRound Last round the account took part in (valid if `hasRound`).
    /// @param hasRound Whether the account ever took part in a round of this task.
    /// @param unsettled Whether `lastRound` still awaits settlement (slash or reward).
    /// @param weight Stake when the account took part in `lastRound` (first attest or commit).
    /// @param attested Whether the account (a validator) attested availability in `lastRound`.
    /// @param committed Whether the account committed (an update or a vote) in `lastRound`.
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
        bool attested;
        bool committed;
    }

    /// @notice Outcome of one round.
    /// @param status Open until finalized, then Accepted, Rejected or Failed.
    /// @param rewardRoot Merkle root of trainer rewards (Accepted rounds only; zero if none).
    /// @param penaltyRoot Merkle root of penalized trainers (Accepted rounds only; zero if none).
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
        bytes32 penaltyRoot;
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

    /// @notice A trainer revealed its update; the update is at `updateCid` on IPFS. `index` (0-based,
    ///         in reveal order) is the update's bit in availability attestations.
    event UpdateRevealed(
        uint256 indexed taskId,
        uint256 indexed round,
        address indexed trainer,
        string updateCid,
        uint256 numSamples,
        uint256 index
    );

    /// @notice A validator attested to the revealed updates it holds (`held`: bit i of byte i / 8,
    ///         least significant bit first, for the update of reveal index i) with `weight` (its
    ///         stake when it joined the round); `totalValidatorStake` is the round's stake snapshot,
    ///         the quorum denominator (the same in every attestation of the round).
    event AvailabilityAttested(
        uint256 indexed taskId,
        uint256 indexed round,
        address indexed validator,
        bytes held,
        uint256 weight,
        uint256 totalValidatorStake
    );

    /// @notice A validator committed to a vote with `weight` (its stake).
    event VoteCommitted(
        uint256 indexed taskId, uint256 indexed round, address indexed validator, bytes32 commitment, uint256 weight
    );

    /// @notice A validator revealed its vote for `proposalHash` = keccak256(abi.encode(aggregateCid,
    ///         rewardRoot, penaltyRoot)) with `weight`, and its evaluation `metric` (not part of the
    ///         commitment; e.g. accuracy in basis points on its own data). Empty CID and zero roots =
    ///         reject.
    event VoteRevealed(
        uint256 indexed taskId,
        uint256 indexed round,
        address indexed validator,
        bytes32 proposalHash,
        string aggregateCid,
        bytes32 rewardRoot,
        bytes32 penaltyRoot,
        uint256 weight,
        uint32 metric
    );

    /// @notice A round was finalized.
    /// @param winningProposal The winning proposal (the leading one if it missed quorum: then Failed).
    /// @param totalValidatorStake The round's stake snapshot, the denominator of its quorum.
    /// @param returnedToPool Part of the round's reward returned to the unallocated pool.
    event RoundFinalized(
        uint256 indexed taskId,
        uint256 indexed round,
        RoundStatus status,
        bytes32 winningProposal,
        bytes32 rewardRoot,
        bytes32 penaltyRoot,
        uint256 winningStake,
        uint256 totalValidatorStake,
        uint256 returnedToPool
    );

    /// @notice The last round of `taskId` was finalized.
    event TaskCompleted(uint256 indexed taskId, uint256 unallocatedPool);

    /// @notice A completed task's unallocated pool (`unallocated`) and, once its claim window passed,
    ///         its unclaimed rewards (`unclaimed`) went back to its requester.
    event Reclaimed(uint256 indexed taskId, address indexed requester, uint256 unallocated, uint256 unclaimed);

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
    /// @notice `trainerPenaltyBps` exceeds 10000.
    error FLTaskManagerInvalidTrainerPenalty(uint256 bps);
    /// @notice `claimWindow` is zero.
    error FLTaskManagerZeroClaimWindow();
    /// @notice `validatorNonRevealSlashBps` exceeds 10000.
    error FLTaskManagerInvalidValidatorNonRevealSlash(uint256 bps);
    /// @notice `validatorLosingSlashBps` exceeds 10000.
    error FLTaskManagerInvalidValidatorLosingSlash(uint256 bps);
    /// @notice `trainerShareBps` exceeds 10000.
    error FLTaskManagerInvalidTrainerShare(uint256 bps);
    /// @notice `rewardPool` is zero.
    error FLTaskManagerZeroRewardPool();
    /// @notice `noiseMultiplierMicro` or `deltaAtto` is set without a privacy budget.
    error FLTaskManagerNoiseWithoutBudget(uint256 noiseMultiplierMicro, uint256 deltaAtto);
    /// @notice A privacy budget needs 0 < `deltaAtto` < 1e18.
    error FLTaskManagerInvalidDelta(uint256 deltaAtto);
    /// @notice A privacy budget needs a noise multiplier.
    error FLTaskManagerZeroNoiseMultiplier();
    /// @notice Differential privacy and SecAgg need a clip: `maxDeltaNormMicro` > 0.
    error FLTaskManagerPrivacyWithoutClip();
    /// @notice `minContributors` must be >= 2 for SecAgg and 0 otherwise.
    error FLTaskManagerInvalidMinContributors(uint256 minContributors);
    /// @notice `scaleBits` must be 1..24 for SecAgg and 0 otherwise.
    error FLTaskManagerInvalidScaleBits(uint256 scaleBits);
    /// @notice SecAgg aggregates only the mean of the sum (rule 0); rule `ruleId` needs each update.
    error FLTaskManagerRuleNeedsUpdates(uint8 ruleId);
    /// @notice Per-sample privacy needs a budget (`epsilonBudgetMicro` > 0).
    error FLTaskManagerSampleUnitWithoutBudget();
    /// @notice `numRounds` rounds at this noise and δ spend ε = `epsilonMicro`/1e6, over the budget.
    error FLTaskManagerPrivacyBudgetExceeded(uint256 epsilonMicro, uint256 budgetMicro);

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
    /// @notice `numSamples` exceeds `maxSamples`, what the trainer's committed stake backs.
    error FLTaskManagerSamplesNotBacked(uint256 taskId, uint256 numSamples, uint256 maxSamples);
    /// @notice `account` already attested availability in `round`.
    error FLTaskManagerAlreadyAttested(uint256 taskId, uint256 round, address account);
    /// @notice An attestation bitmap of `length` bytes; the round's reveals need `expected`.
    error FLTaskManagerBadAttestation(uint256 length, uint256 expected);
    /// @notice A reject vote (empty CID) with a non-zero root.
    error FLTaskManagerMalformedProposal(uint256 cidLength, bytes32 rewardRoot, bytes32 penaltyRoot);

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
    /// @notice `account` has no validator reward for `round` (the round was not Accepted, it did not
    ///         vote for the winner, or the reward was already paid or restaked).
    error FLTaskManagerNoValidatorReward(uint256 taskId, uint256 round, address account);
    /// @notice `account` owes no slash for `round` (did nothing slashable, or already settled).
    error FLTaskManagerNotSlashable(uint256 taskId, uint256 round, address account);
    /// @notice `account` was already penalized for `round`.
    error FLTaskManagerAlreadyPenalized(uint256 taskId, uint256 round, address account);
    /// @notice `proof` does not show `account` under the round's penalty root.
    error FLTaskManagerInvalidPenaltyProof(uint256 taskId, uint256 round, address account);
    /// @notice `account` committed in the current round, whose Commit phase is still open: deactivating
    ///         it now could end that phase early. Apply the penalty once the phase is over.
    error FLTaskManagerPenaltyDeferred(uint256 taskId, address account, uint256 round);
    /// @notice {reclaim} closed the task's claims after its claim window.
    error FLTaskManagerClaimsClosed(uint256 taskId);
    /// @notice The task is not completed.
    error FLTaskManagerTaskNotCompleted(uint256 taskId);
    /// @notice Nothing to return: no unallocated pool, and no unclaimed rewards or the claim window
    ///         is still open (it closes at `claimWindowEnd`).
    error FLTaskManagerNothingToReturn(uint256 taskId, uint256 claimWindowEnd);

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

    /// @notice Return a completed task's unallocated pool to its requester, and, once `claimWindow`
    ///         has passed since completion, its unclaimed rewards too (closing all claims). Anyone may call.
    function reclaim(uint256 taskId) external;

    /*//////////////////////////////////////////////////////////////
                                 STAKING
    //////////////////////////////////////////////////////////////*/

    /// @notice Stake `amount` in `taskId` as `role` (first stake fixes the role; later calls top up).
    ///         The stake must reach the role's minimum. Settles the caller's last round first.
    /// @dev Reverts when the task is Completed, when the caller is exiting, and for validators
    ///      during Attest, VoteCommit, VoteReveal and AwaitingFinalization.
    function stake(uint256 taskId, Role role, uint256 amount) external;

    /// @notice {stake} with an EIP-2612 permit instead of an allowance.
    function stakeWithPermit(uint256 taskId, Role role, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external;

    /// @notice Leave the active set; the stake can be withdrawn after `exitCooldown` once the
    ///         caller's last round is finalized. Reverts while the caller has a commitment in the
    ///         current, unfinalized round (it must reveal and settle first).
    function requestExit(uint256 taskId) external;

    /// @notice Withdraw the whole stake (after settling the last round): allowed once the task is
    ///         Completed, or after {requestExit} and its cooldown; for a trainer, no earlier than
    ///         `exitCooldown` after its last committed round was finalized.
    function withdraw(uint256 taskId) external;

    /*//////////////////////////////////////////////////////////////
                              ROUND ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Commit to an update in the current round (phase Commit, active trainer).
    /// @param commitment keccak256(abi.encode(taskId, round, msg.sender, updateCid, numSamples, salt)).
    function commitUpdate(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the committed update (phase Reveal). `numSamples` must be backed by the stake
    ///         committed: at most `weight / stakePerSample`.
    function revealUpdate(uint256 taskId, string calldata updateCid, uint256 numSamples, bytes32 salt) external;

    /// @notice Attest to the revealed updates the caller holds (phase Attest, active validator, once
    ///         per round). `held` has one bit per reveal: `ceil(reveals / 8)` bytes.
    function attestAvailability(uint256 taskId, bytes calldata held) external;

    /// @notice Commit to a vote in the current round (phase VoteCommit, active validator).
    ///         The vote's weight is the caller's stake.
    /// @param commitment keccak256(abi.encode(taskId, round, msg.sender, proposalHash, salt)).
    function commitVote(uint256 taskId, bytes32 commitment) external;

    /// @notice Reveal the committed vote (phase VoteReveal). Empty `aggregateCid` and zero roots is
    ///         the reject vote.
    /// @param metric The validator's evaluation of the aggregate (e.g. accuracy in bps); emitted only.
    function revealVote(
        uint256 taskId,
        string calldata aggregateCid,
        bytes32 rewardRoot,
        bytes32 penaltyRoot,
        bytes32 salt,
        uint32 metric
    ) external;

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

    /// @notice Claim a validator reward of an Accepted round in which the caller revealed the
    ///         winning proposal: `validatorPool * weight / winningStake` (Rejected and Failed rounds
    ///         pay no validator: {validatorReward} is 0 and a claim reverts).
    function claimValidatorReward(uint256 taskId, uint256 round) external;

    /// @notice Apply the slash `account` owes for `round` (its last committed round, finalized).
    ///         Anyone may call.
    function slash(uint256 taskId, uint256 round, address account) external;

    /// @notice Penalize `trainer` for `round` (Accepted) with a proof for the leaf
    ///         keccak256(bytes.concat(keccak256(abi.encode(trainer)))) under the round's penalty root:
    ///         `trainerPenaltyBps` of its stake goes to the task's pool. Anyone may call; once per
    ///         trainer and round.
    function penalizeTrainer(uint256 taskId, uint256 round, address trainer, bytes32[] calldata proof) external;

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

    /// @notice Whether `account` was penalized for `round`.
    function trainerPenalized(uint256 taskId, uint256 round, address account) external view returns (bool);

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

    /// @notice keccak256(abi.encode(aggregateCid, rewardRoot, penaltyRoot)).
    function proposalHash(string calldata aggregateCid, bytes32 rewardRoot, bytes32 penaltyRoot)
        external
        pure
        returns (bytes32);

    /// @notice keccak256(abi.encode(taskId, round, validator, proposalHash, salt)).
    function voteCommitment(uint256 taskId, uint256 round, address validator, bytes32 proposal, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice The reject proposal: keccak256(abi.encode("", bytes32(0), bytes32(0))).
    function rejectProposal() external pure returns (bytes32);
}
