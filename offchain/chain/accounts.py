"""Signing accounts from an eth-account keystore or a private key in an environment variable.

Keys never appear in logs, reprs or error messages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.chain.errors import AccountError

PRIVATE_KEY_ENV = "DFL_PRIVATE_KEY"
PASSWORD_ENV = "DFL_KEYSTORE_PASSWORD"

# anvil's standard deterministic accounts (mnemonic "test test ... junk"); devnet only.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def from_keystore(path: Path, password: str | None = None) -> LocalAccount:
    password = password if password is not None else os.environ.get(PASSWORD_ENV)
    if password is None:
        raise AccountError(f"keystore {path} needs a password: set {PASSWORD_ENV}")
    try:
        keyfile = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise AccountError(f"cannot read keystore {path}: {exc}") from exc
    try:
        account: LocalAccount = Account.from_key(Account.decrypt(keyfile, password))
    except ValueError as exc:
        raise AccountError(f"cannot decrypt keystore {path}: wrong password or damaged file") from exc
    return account


def from_env(variable: str = PRIVATE_KEY_ENV) -> LocalAccount:
    key = os.environ.get(variable)
    if not key:
        raise AccountError(
            f"no account: set {variable} to a private key, or give a keystore (--keystore / DFL_KEYSTORE)"
        )
    try:
        account: LocalAccount = Account.from_key(key)
    except (ValueError, TypeError) as exc:
        raise AccountError(f"{variable} does not hold a valid private key (64 hex digits)") from exc
    return account


def anvil_account(index: int) -> LocalAccount:
    """The index-th standard anvil account. Only for the local devnet."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account
