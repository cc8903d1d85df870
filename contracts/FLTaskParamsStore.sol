// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "./interfaces/IFLTaskManager.sol";
import {TaskParamsLib} from "./libraries/TaskParamsLib.sol";

/// @title FLTaskParamsStore
/// @notice Validated parameters of every task of one {FLTaskManager}, which creates this contract
///         in its constructor and is the only account allowed to store. Read them through
///         {IFLTaskManager-taskParams}.
/// @dev Exists only to keep the manager's runtime code under the EIP-170 size limit: the cold code
///      of validating, storing and loading the parameter struct lives here.
contract FLTaskParamsStore {
    /// @notice `caller` is not the manager that created this store.
    error FLTaskParamsStoreUnauthorized(address caller);

    address private immutable _manager;
    mapping(uint256 taskId => IFLTaskManager.TaskParams) private _params;

    constructor() {
        _manager = msg.sender;
    }

    /// @notice The manager this store belongs to.
    function manager() external view returns (address) {
        return _manager;
    }

    /// @notice Validate `params` (reverting with the manager's errors) and store them for `taskId`.
    function store(uint256 taskId, IFLTaskManager.TaskParams calldata params) external {
        if (msg.sender != _manager) revert FLTaskParamsStoreUnauthorized(msg.sender);
        TaskParamsLib.validate(params);
        _params[taskId] = params;
    }

    /// @notice The parameters stored for `taskId` (all zero if none).
    function load(uint256 taskId) external view returns (IFLTaskManager.TaskParams memory) {
        return _params[taskId];
    }

    /// @notice The privacy terms stored for `taskId` (all zero if none): one storage slot, for
    ///         {FLPrivacy}, which would otherwise read the whole parameter struct with its CIDs.
    function privacyOf(uint256 taskId) external view returns (IFLTaskManager.PrivacyParams memory) {
        return _params[taskId].privacy;
    }
}
