"""Chain errors, translated once where web3 raises them."""

from __future__ import annotations

from offchain.errors import DflError

# Reverts that the same transaction meets again however long one waits: the account, its
# balance or the task would have to change first. Every other revert (a phase that moved on,
# a stake still locked, a race with another account that acted first) may pass later.
PERMANENT_REVERTS = frozenset(
    {
        "FLTaskManagerUnknownTask",
        "FLTaskManagerAmountTooLarge",
        "FLTaskManagerZeroAmount",
        "FLTaskManagerTaskAlreadyCompleted",
        "FLTaskManagerRoleMismatch",
        "FLTaskManagerStakeBelowMinimum",
        "FLTaskManagerTooManyParticipants",
        "FLTaskManagerAlreadyExiting",
        "FLTaskManagerNotStaked",
        "FLTaskManagerNotActive",
        "FLTaskManagerCommitmentMismatch",
        "FLTaskManagerMalformedProposal",
        "FLTaskManagerInvalidProof",
        "FLTaskManagerTrainerPoolExceeded",
        "FLTaskManagerSamplesNotBacked",
        "FLTaskManagerBadAttestation",
        "FLTaskManagerInvalidPenaltyProof",
        "FLTaskManagerClaimsClosed",
        "ERC20InsufficientBalance",
        "ERC20InsufficientAllowance",
        "ERC20InvalidReceiver",
        "ERC20InvalidSender",
    }
)

# What to do about the reverts a user meets most, appended to their message.
HINTS = {
    "FLTaskManagerNotActive": "the account is no longer active in this task (it left, or a slash took its stake "
    "below the minimum): top it up with `dfl stake`, or withdraw with `dfl withdraw` when allowed",
    "FLTaskManagerStakeBelowMinimum": "stake at least the task's minimum (`dfl task show`)",
    "FLTaskManagerTaskAlreadyCompleted": "the task is over: claim with `dfl rewards claim`, then `dfl withdraw`",
    "ERC20InsufficientBalance": "the account holds fewer tokens than this needs",
    "FLTaskManagerSamplesNotBacked": "declare at most stake / stakePerSample samples, or stake more before committing",
    "FLTaskManagerClaimsClosed": "the task's claim window is over: its unclaimed rewards went back to the requester",
    "FLTaskManagerPenaltyDeferred": "the trainer committed in the open Commit phase: apply the penalty once it ends",
}


class ChainError(DflError):
    """The chain could not be reached or answered something unusable."""


class RpcUnavailable(ChainError):
    """The RPC endpoint did not answer (after retries)."""

    transient = True


class NonceRace(ChainError):
    """The node refused a transaction for its nonce (another sender with this key, or a lost reply)."""

    transient = True


class DeploymentNotFound(ChainError):
    """No deployment record for this chain id."""


class AccountError(ChainError):
    """A keystore or private key could not be loaded."""


class TxReverted(ChainError):
    """A transaction (or its gas estimate) reverted; `error` is the contract's custom error name."""

    def __init__(self, action: str, error: str, args: tuple[object, ...] = (), detail: str = "") -> None:
        shown = f"{error}({', '.join(map(str, args))})" if error else detail or "reverted without a reason"
        hint = f": {HINTS[error]}" if error in HINTS else ""
        super().__init__(f"{action} reverted: {shown}{hint}")
        self.action = action
        self.error = error
        self.args_ = args
        self.transient = error not in PERMANENT_REVERTS
