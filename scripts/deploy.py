"""Deploy RewardToken, FLTaskManager and FLPrivacy and record them in deployments/<chainId>.json.

    brownie run scripts/deploy.py --network <name>

Account: the Brownie keystore account named by DFL_DEPLOYER_ACCOUNT (`brownie accounts new|import
<id>`), unlocked with DFL_DEPLOYER_PASSWORD if set (else Brownie prompts); without it, on a
development network, Brownie's first unlocked account. Keys are never printed.

Devnet faucet (only when the chain is a development/local chain, chain id 31337 or 1337): every
unlocked account of the node, and each address in DFL_FAUCET_ADDRESSES (comma separated), gets
DFL_FAUCET_TOKENS whole tokens (default 100000). Supply: DFL_TOKEN_SUPPLY whole tokens (default 1e9).
The record goes to DFL_DEPLOYMENTS_DIR (default: deployments/ of the project), where `dfl` reads it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import brownie

# The contract containers are not in Brownie's types: it adds them when it loads the project.
from brownie import FLPrivacy, FLTaskManager, RewardToken, TaskLifecycle, TaskViews, accounts, network, web3  # type: ignore[attr-defined]
from brownie.network.account import LocalAccount, _PrivateKeyAccount
from brownie.project import get_loaded_projects

from offchain.units import TOKEN

LOCAL_CHAIN_IDS = {31337, 1337}


def _deployer() -> _PrivateKeyAccount:
    account_id = os.environ.get("DFL_DEPLOYER_ACCOUNT")
    if account_id:
        password = os.environ.get("DFL_DEPLOYER_PASSWORD")
        loaded = accounts.load(account_id, password=password) if password is not None else accounts.load(account_id)
        assert isinstance(loaded, LocalAccount)  # a list only when no id is given
        return loaded
    if network.show_active() and network.is_connected() and len(accounts) > 0 and _is_local():
        return accounts[0]
    raise SystemExit(
        "deploy: no deployer account. Set DFL_DEPLOYER_ACCOUNT to a Brownie keystore id "
        "(and DFL_DEPLOYER_PASSWORD), or use a development network."
    )


def _is_local() -> bool:
    return network.chain.id in LOCAL_CHAIN_IDS or brownie._config.CONFIG.network_type == "development"


def _faucet_targets(deployer: _PrivateKeyAccount) -> list[str]:
    targets = [str(a) for a in web3.eth.accounts]
    extra = os.environ.get("DFL_FAUCET_ADDRESSES", "")
    targets += [a.strip() for a in extra.split(",") if a.strip()]
    seen: set[str] = set()
    out: list[str] = []
    for address in targets:
        key = address.lower()
        if key not in seen and key != str(deployer).lower():
            seen.add(key)
            out.append(web3.to_checksum_address(address))
    return out


def main() -> dict[str, Any]:
    deployer = _deployer()
    loaded_path = get_loaded_projects()[0]._path
    assert loaded_path is not None  # `brownie run` loads the project from its folder
    project_path = Path(loaded_path)
    supply = int(os.environ.get("DFL_TOKEN_SUPPLY", 10**9)) * TOKEN
    # The node's gas price: Brownie's development default (0) is below the base fee of an anvil
    # it did not launch itself (e.g. `dfl node up`) and of every public network.
    tx = {"from": deployer, "gas_price": web3.eth.gas_price}
    token = RewardToken.deploy("DFL Reward", "DFL", supply, deployer, tx)
    # FLTaskManager links its external libraries (Brownie links the deployed ones in).
    TaskViews.deploy(tx)
    TaskLifecycle.deploy(tx)
    manager = FLTaskManager.deploy(token, tx)
    privacy = FLPrivacy.deploy(manager, tx)
    first_block = token.tx.block_number

    funded = []
    if _is_local():
        amount = int(os.environ.get("DFL_FAUCET_TOKENS", 100_000)) * TOKEN
        for address in _faucet_targets(deployer):
            token.transfer(address, amount, tx)
            funded.append(address)

    build = project_path / "build" / "contracts"
    record = {
        "chain_id": network.chain.id,
        "block": first_block,
        "deployer": str(deployer),
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "network": network.show_active(),
        "abi_dir": str(build),
        "contracts": {
            "RewardToken": {"address": token.address, "abi": str(build / "RewardToken.json")},
            "FLTaskManager": {"address": manager.address, "abi": str(build / "FLTaskManager.json")},
            "FLPrivacy": {"address": privacy.address, "abi": str(build / "FLPrivacy.json")},
        },
    }
    out_dir = Path(os.environ.get("DFL_DEPLOYMENTS_DIR", project_path / "deployments"))
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"{network.chain.id}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"RewardToken   {token.address}")
    print(f"FLTaskManager {manager.address}")
    print(f"FLPrivacy     {privacy.address}")
    print(f"block {first_block}; faucet funded {len(funded)} accounts; wrote {path}")
    return record
