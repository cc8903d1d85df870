// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Commitments
/// @notice The hashes of the commit/reveal protocol. Each commitment binds task, round and sender,
///         so a commitment seen in the mempool cannot be reused by another account or round.
library Commitments {
    /// @notice keccak256(abi.encode("", bytes32(0))): the proposal that rejects the round's aggregate.
    bytes32 internal constant REJECT_PROPOSAL = 0x50b1e1d93206f9e64bb37f928df3e46868a2689412e68ef78ca339a22a2bac70;

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

    /// @notice Hash of a proposal: an aggregate model CID with its trainer-reward Merkle root.
    function proposal(string calldata aggregateCid, bytes32 rewardRoot) internal pure returns (bytes32) {
        return keccak256(abi.encode(aggregateCid, rewardRoot));
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
