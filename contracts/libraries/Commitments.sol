// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Commitments
/// @notice The hashes of the commit/reveal protocol. Each commitment binds task, round and sender,
///         so a commitment seen in the mempool cannot be reused by another account or round.
library Commitments {
    /// @notice keccak256(abi.encode("", bytes32(0), bytes32(0))): the proposal that rejects the round's
    ///         aggregate (a test checks the constant against the formula).
    bytes32 internal constant REJECT_PROPOSAL = 0xa78f2d3c48464b4fc48d0351e1e6071baf8f0dcff79a7c7e69dbe466b00d13e4;

    /// @notice Commitment to a model update.
    function update(
        uint256 taskId,
        uint256 round,
        address trainer,
        string calldata updateCid,
        uint256 numSamples,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(taskId, round, trainer, updateCid, numSamples, salt));
    }

    /// @notice Hash of a proposal: a round receipt CID with its trainer-reward and penalty Merkle roots.
    function proposal(string calldata aggregateCid, bytes32 rewardRoot, bytes32 penaltyRoot)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(aggregateCid, rewardRoot, penaltyRoot));
    }

    /// @notice Commitment to a vote for `proposalHash`.
    function vote(uint256 taskId, uint256 round, address validator, bytes32 proposalHash, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(taskId, round, validator, proposalHash, salt));
    }
}
