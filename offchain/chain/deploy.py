"""Deploy RewardToken, FLTaskManager and FLPrivacy from Brownie's build artifacts with web3, and record them.

The same record `scripts/deploy.py` (Brownie) writes: `deployments/<chainId>.json` with each
contract's address, the deployment block and where its ABI is.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from offchain.chain.errors import ChainError
from offchain.chain.manager import MANAGER_CONTRACT, PRIVACY_CONTRACT, TOKEN_CONTRACT
from offchain.chain.revert import ErrorDecoder
from offchain.chain.rpc import connect, with_retries
from offchain.chain.tx import Transactor
from offchain.units import TOKEN

log = logging.getLogger(__name__)

DEFAULT_SUPPLY = 1_000_000_000 * TOKEN


def _artifact(build_dir: Path, name: str) -> dict[str, Any]:
    path = Path(build_dir) / "contracts" / f"{name}.json"
    try:
        artifact: dict[str, Any] = json.loads(path.read_text())
    except OSError as exc:
        raise ChainError(f"no build artifact {path}: run `brownie compile` (make setup does) first") from exc
    if not artifact.get("bytecode"):
        raise ChainError(f"{path} has no bytecode: recompile with `brownie compile`")
    return artifact


def _placeholder(library: str) -> str:
    """Brownie's link placeholder: `__Name___...` padded to the 40 hex digits of an address."""
    return f"__{library}".ljust(40, "_")


def _placeholders(bytecode: str) -> list[str]:
    # Hex never contains "_", so every run of 40 characters starting "__" is a placeholder.
    return sorted({match.strip("_") for match in re.findall(r"__[A-Za-z0-9_]{38}", bytecode)})


def deploy(
    rpc_url: str,
    account: LocalAccount,
    *,
    build_dir: Path,
    deployments_dir: Path,
    supply: int = DEFAULT_SUPPLY,
    faucet: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Deploy the contracts, optionally fund `faucet` accounts (devnet), write and return the record."""
    w3 = connect(rpc_url)
    chain_id = int(with_retries("chain id", rpc_url, lambda: w3.eth.chain_id))
    token_art, manager_art = _artifact(build_dir, TOKEN_CONTRACT), _artifact(build_dir, MANAGER_CONTRACT)
    privacy_art = _artifact(build_dir, PRIVACY_CONTRACT)
    tx = Transactor(w3, account, ErrorDecoder([token_art["abi"], manager_art["abi"]]), url=rpc_url)

    libraries: dict[str, str] = {}

    def create(art: dict[str, Any], *args: Any) -> tuple[str, int]:
        bytecode = art["bytecode"]
        for library in _placeholders(bytecode):  # external libraries first, then link them in
            if library not in libraries:
                libraries[library], _ = create(_artifact(build_dir, library))
            bytecode = bytecode.replace(_placeholder(library), libraries[library][2:].lower())
        factory = w3.eth.contract(abi=art["abi"], bytecode=bytecode)
        receipt = tx.send(f"deploy {art['contractName']}", factory.constructor(*args))
        return str(receipt["contractAddress"]), int(receipt["blockNumber"])

    token_address, first_block = create(token_art, "DFL Reward", "DFL", supply, account.address)
    manager_address, _ = create(manager_art, token_address)
    privacy_address, _ = create(privacy_art, manager_address)
    token = w3.eth.contract(address=Web3.to_checksum_address(token_address), abi=token_art["abi"])
    for to, amount in (faucet or {}).items():
        if Web3.to_checksum_address(to) != account.address:
            tx.send("faucet transfer", token.functions.transfer(Web3.to_checksum_address(to), amount))
    record = {
        "chain_id": chain_id,
        "block": first_block,
        "deployer": account.address,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "contracts": {
            TOKEN_CONTRACT: {
                "address": token_address,
                "abi": str(Path(build_dir) / "contracts" / f"{TOKEN_CONTRACT}.json"),
            },
            MANAGER_CONTRACT: {
                "address": manager_address,
                "abi": str(Path(build_dir) / "contracts" / f"{MANAGER_CONTRACT}.json"),
            },
            PRIVACY_CONTRACT: {
                "address": privacy_address,
                "abi": str(Path(build_dir) / "contracts" / f"{PRIVACY_CONTRACT}.json"),
            },
        },
        "libraries": libraries,
    }
    Path(deployments_dir).mkdir(parents=True, exist_ok=True)
    (Path(deployments_dir) / f"{chain_id}.json").write_text(json.dumps(record, indent=2) + "\n")
    log.info(
        "deployed %s at %s, %s at %s and %s at %s on chain %d (block %d)",
        TOKEN_CONTRACT,
        token_address,
        MANAGER_CONTRACT,
        manager_address,
        PRIVACY_CONTRACT,
        privacy_address,
        chain_id,
        first_block,
    )
    return record
