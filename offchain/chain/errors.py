"""Chain errors, translated once where web3 raises them."""

from __future__ import annotations

from offchain.errors import DflError


class ChainError(DflError):
    """The chain could not be reached or answered something unusable."""


class RpcUnavailable(ChainError):
    """The RPC endpoint did not answer (after retries)."""


class DeploymentNotFound(ChainError):
    """No deployment record for this chain id."""


class AccountError(ChainError):
    """A keystore or private key could not be loaded."""


class TxReverted(ChainError):
    """A transaction (or its gas estimate) reverted; `error` is the contract's custom error name."""

    def __init__(self, action: str, error: str, args: tuple[object, ...] = (), detail: str = "") -> None:
        shown = f"{error}({', '.join(map(str, args))})" if error else detail or "reverted without a reason"
        super().__init__(f"{action} reverted: {shown}")
        self.action = action
        self.error = error
        self.args_ = args
