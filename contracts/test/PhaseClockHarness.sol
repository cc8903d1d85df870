// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IFLTaskManager} from "../interfaces/IFLTaskManager.sol";
import {PhaseClock} from "../libraries/PhaseClock.sol";

/// @title PhaseClockHarness
/// @notice Test only: exposes {PhaseClock}'s internal functions so that property tests can call
///         them directly (tests/contracts/property/test_phase_clock.py). Never deployed by scripts/
///         or offchain/.
contract PhaseClockHarness {
    /// @notice {PhaseClock-advance}: the clock `c` moved to its phase as of `nowTs`.
    function advance(PhaseClock.Clock memory c, PhaseClock.Schedule memory s, uint256 nowTs)
        external
        pure
        returns (PhaseClock.Clock memory)
    {
        PhaseClock.advance(c, s, nowTs);
        return c;
    }

    /// @notice {PhaseClock-isDone}.
    function isDone(PhaseClock.Clock memory c, PhaseClock.Schedule memory s) external pure returns (bool) {
        return PhaseClock.isDone(c, s);
    }

    /// @notice {PhaseClock-isTimed}.
    function isTimed(IFLTaskManager.Phase phase) external pure returns (bool) {
        return PhaseClock.isTimed(phase);
    }

    /// @notice {PhaseClock-duration}.
    function duration(IFLTaskManager.Phase phase, PhaseClock.Schedule memory s) external pure returns (uint256) {
        return PhaseClock.duration(phase, s);
    }
}
