// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "./interfaces/IFLTaskManager.sol";
import {IFLPrivacy} from "./interfaces/IFLPrivacy.sol";
import {PrivacyBudget} from "./libraries/PrivacyBudget.sol";
import {FLTaskParamsStore} from "./FLTaskParamsStore.sol";

/// @title FLPrivacy
/// @notice Keys, key bundles, mask seeds and the ε ledger of privacy-mode tasks of one
///         {IFLTaskManager}. See {IFLPrivacy} for the protocol.
/// @dev A contract of its own, reading the manager's views: the manager's code is at the EIP-170
///      size limit, and nothing here changes a stake, a round or a token balance.
contract FLPrivacy is IFLPrivacy {
    /*//////////////////////////////////////////////////////////////
                                  STORAGE
    //////////////////////////////////////////////////////////////*/

    struct Key {
        bytes32 publicKey;
        uint64 registeredAt;
    }

    IFLTaskManager private immutable _manager;
    /// @dev The manager's parameter store (the first contract it created): its privacy terms cost one slot.
    FLTaskParamsStore private immutable _store;
    mapping(uint256 taskId => mapping(address account => Key)) private _keys;
    mapping(uint256 taskId => mapping(uint256 round => mapping(address trainer => bool))) private _seeds;

    uint256 private constant _MAX_CID_BYTES = 128;

    /// @param manager_ The task manager whose tasks this contract serves.
    constructor(IFLTaskManager manager_) {
        _manager = manager_;
        // The address of the contract `manager_` created with nonce 1 (its constructor's `new`):
        // keccak256(rlp([manager, 1])), the CREATE rule.
        _store = FLTaskParamsStore(
            address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), manager_, bytes1(0x01))))))
        );
    }

    /*//////////////////////////////////////////////////////////////
                                  ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLPrivacy
    function registerKey(uint256 taskId, bytes32 publicKey) external {
        if (publicKey == bytes32(0)) revert FLPrivacyZeroKey();
        IFLTaskManager.Role role = _manager.participant(taskId, msg.sender).role; // reverts for an unknown task
        IFLTaskManager.PrivacyMode mode = _mode(taskId);
        IFLTaskManager.Role keyed = mode == IFLTaskManager.PrivacyMode.Sealed
            ? IFLTaskManager.Role.Validator
            : mode == IFLTaskManager.PrivacyMode.SecAgg ? IFLTaskManager.Role.Trainer : IFLTaskManager.Role.None;
        if (keyed == IFLTaskManager.Role.None) revert FLPrivacyWrongMode(taskId, mode);
        if (role != keyed) revert FLPrivacyRoleTakesNoKey(taskId, msg.sender, role);
        // slither-disable-next-line unused-return (only the phase is needed)
        (, IFLTaskManager.Phase phase,) = _manager.currentRound(taskId);
        // A round's validator keys are fixed once its Attest phase begins (bundles are wrapped to them).
        if (
            phase == IFLTaskManager.Phase.Completed
                || (role == IFLTaskManager.Role.Validator && phase >= IFLTaskManager.Phase.Attest)
        ) revert FLPrivacyWrongPhase(taskId, phase);
        Key storage key = _keys[taskId][msg.sender];
        if (key.publicKey != bytes32(0)) revert FLPrivacyKeyAlreadyRegistered(taskId, msg.sender);
        key.publicKey = publicKey;
        // Fits until the year 584 billion.
        key.registeredAt = uint64(block.timestamp);
        emit EncryptionKeyRegistered(taskId, msg.sender, role, publicKey);
    }

    /// @inheritdoc IFLPrivacy
    function publishKeyBundle(uint256 taskId, string calldata bundleCid) external {
        // slither-disable-next-line unused-return (the deadline is not needed; reverts for an unknown task)
        (uint256 round, IFLTaskManager.Phase phase,) = _manager.currentRound(taskId);
        IFLTaskManager.PrivacyMode mode = _mode(taskId);
        if (mode != IFLTaskManager.PrivacyMode.Sealed) revert FLPrivacyWrongMode(taskId, mode);
        uint256 length = bytes(bundleCid).length;
        if (length == 0 || length > _MAX_CID_BYTES) revert FLPrivacyBadCid(length);
        if (phase != IFLTaskManager.Phase.Reveal && phase != IFLTaskManager.Phase.Attest) {
            revert FLPrivacyWrongPhase(taskId, phase);
        }
        IFLTaskManager.Participant memory p = _manager.participant(taskId, msg.sender);
        if (p.role != IFLTaskManager.Role.Validator || !p.active) revert FLPrivacyNotActiveValidator(taskId, msg.sender);
        emit KeyBundlePublished(taskId, round, msg.sender, bundleCid);
    }

    /// @inheritdoc IFLPrivacy
    function publishMaskSeeds(uint256 taskId, bytes calldata seeds) external {
        IFLTaskManager.TaskState memory s = _manager.taskState(taskId); // reverts for an unknown task
        IFLTaskManager.PrivacyParams memory q = _store.privacyOf(taskId);
        if (q.mode != IFLTaskManager.PrivacyMode.SecAgg) revert FLPrivacyWrongMode(taskId, q.mode);
        if (seeds.length % 32 != 0) revert FLPrivacyBadSeeds(seeds.length);
        if (s.phase != IFLTaskManager.Phase.Attest) revert FLPrivacyWrongPhase(taskId, s.phase);
        // slither-disable-next-line unused-return (the stored record is not needed)
        (IFLTaskManager.ParticipationStatus status,) = _manager.participantStatus(taskId, s.round, msg.sender);
        if (status != IFLTaskManager.ParticipationStatus.Revealed) {
            revert FLPrivacyNotRevealed(taskId, s.round, msg.sender);
        }
        if (s.reveals < q.minContributors) revert FLPrivacyTooFewContributors(taskId, s.reveals, q.minContributors);
        mapping(address => bool) storage published = _seeds[taskId][s.round];
        if (published[msg.sender]) revert FLPrivacySeedsAlreadyPublished(taskId, s.round, msg.sender);
        published[msg.sender] = true;
        emit MaskSeedsPublished(taskId, s.round, msg.sender, seeds);
    }

    /*//////////////////////////////////////////////////////////////
                                   VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IFLPrivacy
    function manager() external view returns (IFLTaskManager) {
        return _manager;
    }

    /// @inheritdoc IFLPrivacy
    function encryptionKey(uint256 taskId, address account)
        external
        view
        returns (bytes32 publicKey, uint256 registeredAt)
    {
        Key memory key = _keys[taskId][account];
        return (key.publicKey, key.registeredAt);
    }

    /// @inheritdoc IFLPrivacy
    function maskSeedsPublished(uint256 taskId, uint256 round, address trainer) external view returns (bool) {
        return _seeds[taskId][round][trainer];
    }

    /// @inheritdoc IFLPrivacy
    function epsilonSpentMicro(uint256 taskId) external view returns (uint256) {
        // slither-disable-next-line unused-return (only the round is needed; reverts for an unknown task)
        (uint256 round,,) = _manager.currentRound(taskId);
        IFLTaskManager.PrivacyParams memory q = _store.privacyOf(taskId);
        if (q.epsilonBudgetMicro == 0) return 0;
        // Rounds 0..round have started (the last round stays current once the task completes).
        return PrivacyBudget.epsilonMicro(round + 1, q.noiseMultiplierMicro, q.deltaAtto);
    }

    /// @inheritdoc IFLPrivacy
    function privacyBound(uint256 rounds, uint256 zMicro, uint256 deltaAtto) external pure returns (uint256) {
        return PrivacyBudget.epsilonMicro(rounds, zMicro, deltaAtto);
    }

    /*//////////////////////////////////////////////////////////////
                                 INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev The task's privacy mode (Plaintext for an unknown task: callers ask the manager first).
    function _mode(uint256 taskId) private view returns (IFLTaskManager.PrivacyMode) {
        return _store.privacyOf(taskId).mode;
    }
}
