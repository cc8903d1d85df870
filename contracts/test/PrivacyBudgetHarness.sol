// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PrivacyBudget} from "../libraries/PrivacyBudget.sol";

/// @title PrivacyBudgetHarness
/// @notice Test only: exposes {PrivacyBudget}'s internal functions so that tests can call them directly
///         (tests/contracts/unit/test_privacy_budget.py). Never deployed by scripts/ or offchain/.
contract PrivacyBudgetHarness {
    /// @notice {PrivacyBudget-epsilonMicro}.
    function epsilonMicro(uint256 rounds, uint256 zMicro, uint256 deltaAtto) external pure returns (uint256) {
        return PrivacyBudget.epsilonMicro(rounds, zMicro, deltaAtto);
    }

    /// @notice {PrivacyBudget-epsilonMicro} and the gas the library call alone used (what a caller such as
    ///         createTask pays for it, without the transaction's and this call's overhead).
    function epsilonMicroGas(uint256 rounds, uint256 zMicro, uint256 deltaAtto)
        external
        view
        returns (uint256 epsilon, uint256 gasUsed)
    {
        uint256 before = gasleft();
        epsilon = PrivacyBudget.epsilonMicro(rounds, zMicro, deltaAtto);
        gasUsed = before - gasleft();
    }

    /// @notice {PrivacyBudget-lnWad}.
    function lnWad(uint256 x) external pure returns (uint256) {
        return PrivacyBudget.lnWad(x);
    }
}
