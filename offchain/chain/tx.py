"""Sending transactions from one local account: nonces, gas, receipts, decoded reverts."""

from __future__ import annotations

import logging
import threading
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt

from offchain.chain.errors import ChainError, NonceRace, TxReverted
from offchain.chain.revert import ErrorDecoder
from offchain.chain.rpc import Backoff, with_retries

log = logging.getLogger(__name__)

# How geth, anvil and others word a nonce already used or not yet usable by this account.
_NONCE_WORDS = ("nonce too low", "nonce too high", "replacement transaction underpriced", "already imported")


class Transactor:
    """Signs locally (keys never leave the process) and sends through any RPC endpoint."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        decoder: ErrorDecoder,
        *,
        url: str,
        gas_margin: float = 1.25,
        receipt_timeout: float = 120.0,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.w3 = w3
        self.account = account
        self.address = account.address
        self._decoder = decoder
        self._url = url
        self._gas_margin = gas_margin
        self._receipt_timeout = receipt_timeout
        self._backoff = backoff
        self._nonce: int | None = None
        self._lock = threading.Lock()

    def call(self, action: str, fn: ContractFunction) -> Any:
        """A view call, retried while the RPC is unreachable, reverts decoded."""
        try:
            return with_retries(action, self._url, lambda: fn.call({"from": self.address}), self._backoff)
        except ContractLogicError as exc:
            raise self._reverted(action, exc) from None

    def send(self, action: str, fn: ContractFunction | ContractConstructor) -> TxReceipt:
        """Estimate, sign, send and wait; TxReverted with the custom error's name if it reverts."""
        with self._lock:
            try:
                gas = with_retries(action, self._url, lambda: fn.estimate_gas({"from": self.address}), self._backoff)
            except ContractLogicError as exc:
                raise self._reverted(action, exc) from None
            except Web3RPCError as exc:
                raise ChainError(f"{action}: the node refused to estimate gas: {exc}") from None
            nonce = self._next_nonce(action)
            tx = fn.build_transaction(
                {
                    "from": self.address,
                    "nonce": Nonce(nonce),
                    "gas": int(gas * self._gas_margin),
                    "chainId": self._chain_id(action),
                }
            )
            # eth-account types a transaction as dict[str, ...], which web3's TxParams (a TypedDict) is not.
            signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
            tx_hash = self._broadcast(action, signed.raw_transaction, signed.hash)
            self._nonce = nonce + 1
        receipt = with_retries(
            action,
            self._url,
            lambda: self.w3.eth.wait_for_transaction_receipt(Hash32(tx_hash), timeout=self._receipt_timeout),
            self._backoff,
        )
        if receipt["status"] != 1:
            raise self._replay_failure(action, tx, receipt)
        log.debug(
            "%s: tx %s mined in block %d (gas %d)", action, tx_hash.hex(), receipt["blockNumber"], receipt["gasUsed"]
        )
        return receipt

    # --- internals ------------------------------------------------------------

    def _chain_id(self, action: str) -> int:
        return int(with_retries(action, self._url, lambda: self.w3.eth.chain_id, self._backoff))

    def _next_nonce(self, action: str) -> int:
        pending = int(
            with_retries(
                action, self._url, lambda: self.w3.eth.get_transaction_count(self.address, "pending"), self._backoff
            )
        )
        return pending if self._nonce is None else max(self._nonce, pending)

    def _broadcast(self, action: str, raw: bytes, tx_hash: bytes) -> bytes:
        def send() -> bytes:
            try:
                return bytes(self.w3.eth.send_raw_transaction(raw))
            except Web3RPCError as exc:
                # A retry after a lost response finds our own transaction already in the pool.
                if "already known" in str(exc).lower():
                    return tx_hash
                if any(word in str(exc).lower() for word in _NONCE_WORDS):
                    self._nonce = None  # ask the node again next time
                    raise NonceRace(f"{action}: the node refused the transaction's nonce ({exc}); will resend") from exc
                raise ChainError(f"{action}: the node refused the transaction: {exc}") from exc

        return with_retries(action, self._url, send, self._backoff)

    def _replay_failure(self, action: str, tx: TxParams, receipt: TxReceipt) -> ChainError:
        call: TxParams = {}
        for key in ("from", "to", "data", "value"):
            if key in tx:
                call[key] = tx[key]
        try:
            self.w3.eth.call(call, block_identifier=receipt["blockNumber"])
        except ContractLogicError as exc:
            return self._reverted(action, exc)
        return TxReverted(action, "", (), f"transaction {receipt['transactionHash'].hex()} failed (out of gas?)")

    def _reverted(self, action: str, exc: ContractLogicError) -> TxReverted:
        data = exc.data if isinstance(exc.data, (str, bytes)) else None
        name, args = self._decoder.decode(data)
        return TxReverted(action, name, args, "" if name else str(exc.message or exc))
