// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title AccountFlags
/// @notice The bits of an account's `flags` byte, with one named function per question and change.
/// @dev Bits that describe a round (ATTESTED, COMMITTED, REVEALED, UNSETTLED) refer to the account's
///      `round` field and are cleared together when the account starts a new round.
library AccountFlags {
    uint8 internal constant REVEALED = 1; // revealed its commitment in `round`
    uint8 internal constant UNSETTLED = 2; // committed in `round`, and the slash or reward is still due
    uint8 internal constant HAS_ROUND = 4; // took part in some round (`round` is meaningful)
    uint8 internal constant ACTIVE = 8; // counted in the role's active set
    uint8 internal constant EXITING = 16; // requested exit
    uint8 internal constant COMMITTED = 32; // committed (an update or a vote) in `round`
    uint8 internal constant ATTESTED = 64; // attested availability in `round` (validators)

    uint8 private constant _ROUND_BITS = REVEALED | UNSETTLED | COMMITTED | ATTESTED;

    function has(uint8 flags, uint8 bit) internal pure returns (bool) {
        return flags & bit != 0;
    }

    function set(uint8 flags, uint8 bit) internal pure returns (uint8) {
        return flags | bit;
    }

    function clear(uint8 flags, uint8 bit) internal pure returns (uint8) {
        return flags & ~bit;
    }

    /// @notice Flags of an account that starts taking part in a new round.
    function newRound(uint8 flags) internal pure returns (uint8) {
        return (flags & ~_ROUND_BITS) | HAS_ROUND;
    }
}
