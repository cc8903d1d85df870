"""ABIs from Brownie's build artifacts and addresses from `deployments/<chainId>.json`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offchain.chain.errors import ChainError, DeploymentNotFound


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    block: int
    addresses: dict[str, str]
    abis: dict[str, list[dict[str, Any]]]

    def address(self, contract: str) -> str:
        try:
            return self.addresses[contract]
        except KeyError:
            raise DeploymentNotFound(
                f"contract {contract} is not in the deployment of chain {self.chain_id} ({sorted(self.addresses)})"
            ) from None


def load_abi(build_dir: Path, contract: str) -> list[dict[str, Any]]:
    path = Path(build_dir) / "contracts" / f"{contract}.json"
    try:
        abi: list[dict[str, Any]] = json.loads(path.read_text())["abi"]
        return abi
    except OSError as exc:
        raise ChainError(f"no ABI for {contract} at {path}: run `brownie compile` (or `make setup`) first") from exc
    except (ValueError, KeyError) as exc:
        raise ChainError(f"{path} is not a Brownie build artifact with an ABI") from exc


def load_deployment(deployments_dir: Path, chain_id: int, build_dir: Path) -> Deployment:
    path = Path(deployments_dir) / f"{chain_id}.json"
    try:
        record = json.loads(path.read_text())
    except OSError:
        raise DeploymentNotFound(
            f"no deployment for chain {chain_id} at {path}: run `dfl deploy` (or `brownie run scripts/deploy.py`) first"
        ) from None
    except ValueError as exc:
        raise ChainError(f"{path} is not valid JSON: {exc}") from exc
    addresses = {
        name: entry["address"] if isinstance(entry, dict) else entry for name, entry in record["contracts"].items()
    }
    abis = {name: load_abi(build_dir, name) for name in addresses}
    return Deployment(chain_id=chain_id, block=int(record.get("block", 0)), addresses=addresses, abis=abis)
