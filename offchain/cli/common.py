"""What every command shares: settings, output, and turning errors into exit codes."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, is_dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from offchain.config import Settings, load_settings
from offchain.errors import ArgumentError, ConfigError, DflError
from offchain.tokens import parse_tokens

if TYPE_CHECKING:  # heavy imports only when a command needs them
    from eth_account.signers.local import LocalAccount

    from offchain.chain.manager import TaskManager
    from offchain.storage.ipfs import IpfsStore

# Piped output (CI logs, `| tee`) gets room for the tables instead of rich's 80-column default.
# messages whole; tables fit the terminal, or COLUMNS, or 140 columns when piped
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140, soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)  # messages stay greppable: no hard wraps

EXIT_USER_ERROR = 1  # a DflError: a message says what to do (typer/click exit 2 on bad options)


class Interrupted(DflError):
    """Ctrl-C, after saying what was left behind."""

    exit_code = 130


def settings(**overrides: object) -> Settings:
    return load_settings(None, **overrides)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Enum):
        return value.name.lower()
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2) + "\n")


# --- chain and storage built once per command from settings -----------------------

KeystoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        help="eth-account keystore file (password from DFL_KEYSTORE_PASSWORD, else asked).",
        envvar="DFL_KEYSTORE",
    ),
]
KeyEnvOpt = Annotated[
    str, typer.Option("--key-env", help="Environment variable holding a private key, used when no keystore is given.")
]
DevAccountOpt = Annotated[
    int | None,
    typer.Option("--dev-account", help="Use anvil's standard account N (local devnet, chain id 31337, only)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def tokens(flag: str, *, allow_zero: bool = False) -> Any:
    """A typer `parser` for an option in tokens (exact decimals): gives base units, or a one-line error."""

    def parse(text: str) -> int:
        return parse_tokens(text, what=flag, allow_zero=allow_zero)

    return parse


def require_task(chain: TaskManager, task_id: int) -> None:
    """An ArgumentError unless `task_id` exists on this deployment."""
    count = chain.task_count()
    if not 1 <= task_id <= count:
        known = f"tasks are 1..{count}" if count else "there are no tasks yet"
        raise ArgumentError(f"no task {task_id} on this deployment: {known} (see `dfl task list`)")


def require_round(chain: TaskManager, task_id: int, round_id: int) -> None:
    """An ArgumentError unless `task_id` exists and has a round `round_id` (0-based)."""
    require_task(chain, task_id)
    rounds = chain.task_params(task_id).num_rounds
    if not 0 <= round_id < rounds:
        raise ArgumentError(f"task {task_id} has rounds 0..{rounds - 1}, not {round_id}")


DEVNET_CHAIN_ID = 31337


def load_signer(s: Settings, keystore: Path | None, key_env: str, dev_account: int | None) -> LocalAccount:
    """The account a command signs with: keystore, else devnet index, else a key in the environment."""
    from offchain.chain import accounts

    if keystore is not None:
        password = os.environ.get(accounts.PASSWORD_ENV)
        if password is None and sys.stdin.isatty():
            password = typer.prompt(f"password for {keystore}", hide_input=True)
        return accounts.from_keystore(keystore, password)
    if dev_account is not None:
        if s.chain_id != DEVNET_CHAIN_ID:
            raise ConfigError(
                f"--dev-account uses publicly known keys and only works on the local devnet (chain id {DEVNET_CHAIN_ID}), not chain {s.chain_id}"
            )
        return accounts.anvil_account(dev_account)
    return accounts.from_env(key_env)


def task_manager(s: Settings, account: LocalAccount | None = None) -> TaskManager:
    from offchain.chain.artifacts import load_deployment
    from offchain.chain.manager import TaskManager

    return TaskManager(s.rpc_url, load_deployment(s.deployments_dir, s.chain_id, s.build_dir), account)


def ipfs_store(s: Settings) -> IpfsStore:
    from offchain.storage.ipfs import IpfsStore

    return IpfsStore(s.ipfs_api, timeout=s.ipfs_timeout)


# Each retry of an RPC or IPFS call logs a warning there. A command fails with one line once the
# retries are spent, and a worker says "waiting for ... (N s)" (workers/watch.py) instead: both
# only show them with --verbose.
RETRY_LOGGERS = ("offchain.chain.rpc", "offchain.storage.ipfs")


def quiet_retries() -> None:
    for name in RETRY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("web3", "urllib3", "ipfshttpclient", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in RETRY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.ERROR)
