// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "./IFLTaskManager.sol";

/// @title IFLPrivacy
/// @notice What the privacy modes of {IFLTaskManager} tasks (`TaskParams.privacy`) need on-chain
///         beyond the rounds themselves: participants' X25519 keys, the validators' key bundles of
///         Sealed tasks, the survivors' mask seeds of SecAgg tasks, and the ε spent so far.
/// @dev This interface is the specification; docs/privacy.md describes the off-chain side.
///      Conventions:
///      - Keys: one X25519 public key per (task, account), registered once by a staked account of
///        the role that needs one: validators in Sealed tasks (trainers encrypt updates to them),
///        trainers in SecAgg tasks (pairwise masks). Plaintext tasks take no keys. Validators
///        register only while validator stakes may change (Registration, Commit, Reveal), so the
///        validator keys of a round are fixed from its Attest phase on.
///      - A round's key set is the keys registered in a block with timestamp < the round's
///        `commitStartsAt` ({IFLTaskManager-RoundStarted}); in SecAgg, minus trainers that
///        requested exit or withdrew before it. Trainers encrypt to (Sealed) or mask with (SecAgg)
///        exactly that set, computed alike by everyone from events.
///      - Sealed: every active validator publishes, in Reveal or Attest, a key bundle (a sealed file
///        on IPFS holding the content keys of the updates it opened, wrapped to the other
///        validators), so that a validator registered late, or given a bad wrap, still opens every
///        update a quorum holds. An update counts as held only if it opened.
///      - SecAgg: in the Attest phase, each trainer that revealed publishes, once, its 32-byte
///        pairwise seed with each trainer of the key set that did not reveal (the dropouts), in
///        ascending address order. The contract refuses seeds while the round has fewer than
///        `minContributors` reveals, so no sum with fewer noise shares can be unmasked.
///      - ε spent: the RDP bound ({PrivacyBudget}) of the rounds started so far: a round counts from
///        its start, whether or not its aggregate was accepted.
interface IFLPrivacy {
    /// @notice `account` (a `role` of `taskId`) registered X25519 public key `publicKey`.
    event EncryptionKeyRegistered(
        uint256 indexed taskId, address indexed account, IFLTaskManager.Role role, bytes32 publicKey
    );

    /// @notice A validator of a Sealed task published the key bundle at `bundleCid` for `round`.
    event KeyBundlePublished(uint256 indexed taskId, uint256 indexed round, address indexed validator, string bundleCid);

    /// @notice A trainer of a SecAgg task published its pairwise seeds with the round's dropouts.
    event MaskSeedsPublished(uint256 indexed taskId, uint256 indexed round, address indexed trainer, bytes seeds);

    /// @notice The task's privacy mode takes no such action (`mode` says which it is).
    error FLPrivacyWrongMode(uint256 taskId, IFLTaskManager.PrivacyMode mode);
    /// @notice `account`'s role in the task does not register keys in this mode (or it is not staked).
    error FLPrivacyRoleTakesNoKey(uint256 taskId, address account, IFLTaskManager.Role role);
    /// @notice `account` already registered a key for the task.
    error FLPrivacyKeyAlreadyRegistered(uint256 taskId, address account);
    /// @notice A zero public key.
    error FLPrivacyZeroKey();
    /// @notice The action needs one of the task's phases; the task is in `phase`.
    error FLPrivacyWrongPhase(uint256 taskId, IFLTaskManager.Phase phase);
    /// @notice `account` is not an active validator of the task.
    error FLPrivacyNotActiveValidator(uint256 taskId, address account);
    /// @notice A bundle CID of `length` bytes (1..128).
    error FLPrivacyBadCid(uint256 length);
    /// @notice `account` did not reveal an update in `round`.
    error FLPrivacyNotRevealed(uint256 taskId, uint256 round, address account);
    /// @notice `account` already published its seeds for `round`.
    error FLPrivacySeedsAlreadyPublished(uint256 taskId, uint256 round, address account);
    /// @notice Seeds of `length` bytes: a multiple of 32 is needed.
    error FLPrivacyBadSeeds(uint256 length);
    /// @notice The round has `reveals` updates; its sum may be unmasked from `minimum` on.
    error FLPrivacyTooFewContributors(uint256 taskId, uint256 reveals, uint256 minimum);

    /// @notice The task manager whose tasks this contract serves.
    function manager() external view returns (IFLTaskManager);

    /// @notice Register the caller's X25519 public key for `taskId` (see the conventions).
    function registerKey(uint256 taskId, bytes32 publicKey) external;

    /// @notice Publish a Sealed task's key bundle for the current round (active validator; Reveal or Attest).
    function publishKeyBundle(uint256 taskId, string calldata bundleCid) external;

    /// @notice Publish a SecAgg trainer's pairwise seeds with the current round's dropouts (Attest; once).
    function publishMaskSeeds(uint256 taskId, bytes calldata seeds) external;

    /// @notice `account`'s key for `taskId` and when it was registered (zeros if none).
    function encryptionKey(uint256 taskId, address account)
        external
        view
        returns (bytes32 publicKey, uint256 registeredAt);

    /// @notice Whether `trainer` published its mask seeds for `round`.
    function maskSeedsPublished(uint256 taskId, uint256 round, address trainer) external view returns (bool);

    /// @notice ε x 1e6 spent by the rounds of `taskId` started so far (0 without a budget).
    function epsilonSpentMicro(uint256 taskId) external view returns (uint256);

    /// @notice The RDP bound ε x 1e6 of `rounds` Gaussian rounds at noise multiplier `zMicro`/1e6 and
    ///         δ = `deltaAtto`/1e18 ({PrivacyBudget-epsilonMicro}).
    function privacyBound(uint256 rounds, uint256 zMicro, uint256 deltaAtto) external pure returns (uint256);
}
