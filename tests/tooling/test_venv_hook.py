"""A Brownie user's habits with nothing but the virtualenv (`source .venv/bin/activate`): no
SOLCX_BINARY_PATH, no node_modules/.bin on PATH. `brownie compile`, `brownie test` and
`brownie run scripts/deploy.py` work, also from a clone under a directory whose name has a dot
(`mktemp -d` makes such names; Brownie imports scripts by their absolute path joined with dots).
The hook doing it is tools/venv/dfl_venv.py, installed by `make setup`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from offchain.config import PROJECT_ROOT

VENV_BIN = PROJECT_ROOT / ".venv" / "bin"


def activated_venv_only(**extra: str) -> dict[str, str]:
    """What `source .venv/bin/activate` gives on a machine with nothing else set up."""
    env = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")}
    return env | {"PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin", "VIRTUAL_ENV": str(VENV_BIN.parent)} | extra


def test_the_hook_is_installed_and_finds_the_solc_front_and_anvil() -> None:
    probe = "import os, shutil; print(os.environ['SOLCX_BINARY_PATH']); print(shutil.which('anvil'))"
    result = subprocess.run(
        ["python", "-c", probe], env=activated_venv_only(), capture_output=True, text=True, timeout=60, check=True
    )
    solcx, anvil = result.stdout.split()
    assert solcx == str(PROJECT_ROOT / ".solcx") and anvil == str(PROJECT_ROOT / "node_modules" / ".bin" / "anvil")


def test_brownie_compile_with_the_venv_alone() -> None:
    result = subprocess.run(
        ["brownie", "compile"], cwd=PROJECT_ROOT, env=activated_venv_only(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Solc not installed" not in result.stdout + result.stderr


def test_brownie_test_starts_anvil_with_the_venv_alone() -> None:
    result = subprocess.run(
        ["brownie", "test", "tests/contracts/unit/test_staking.py", "-k", "unknown_task"],
        cwd=PROJECT_ROOT,
        env=activated_venv_only(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


def test_brownie_run_deploy_from_a_clone_under_a_dotted_directory(rpc_url: str, tmp_path: Path) -> None:
    parent = Path(
        subprocess.run(["mktemp", "-d", "-p", str(tmp_path)], capture_output=True, text=True, check=True).stdout.strip()
    )
    assert "." in parent.name  # tmp.XXXXXXXXXX: the name that broke `brownie run`
    clone = parent / "dfl"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True, timeout=120)
    (clone / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")  # what `make setup` installs there
    shutil.copytree(PROJECT_ROOT / "build", clone / "build")  # compiled already: no need to spend a minute
    port = rpc_url.rsplit(":", 1)[1]
    name = f"dfl-dotted-{port}"
    env = activated_venv_only(DFL_DEPLOYMENTS_DIR=str(tmp_path / "deployments"))
    brownie = ["brownie"]
    subprocess.run(
        [*brownie, "networks", "add", "Development", name, "host=http://127.0.0.1", f"port={port}", "cmd=anvil"],
        cwd=clone,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        result = subprocess.run(
            [*brownie, "run", "scripts/deploy.py", "--network", name],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        subprocess.run([*brownie, "networks", "delete", name], cwd=clone, env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "No module named" not in result.stdout + result.stderr
    record = json.loads((tmp_path / "deployments" / "31337.json").read_text())
    assert record["abi_dir"].startswith(str(clone))
    chain = TaskManager(rpc_url, load_deployment(tmp_path / "deployments", 31337, clone / "build"))
    assert chain.total_supply() == 10**9 * 10**18
