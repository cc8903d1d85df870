"""The offline solc front: py-solc-x and Brownie compile with solc-js, no network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import solcx

ROOT = Path(__file__).resolve().parents[2]
SOLCX_DIR = ROOT / ".solcx"
NODE = ROOT / "node_modules" / ".bin" / "node"

TOKEN = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
contract T is ERC20, ERC20Permit {
    constructor() ERC20("T", "T") ERC20Permit("T") { _mint(msg.sender, 1e24); }
}
"""


@pytest.fixture(autouse=True)
def _solcx_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real configuration, not a fake: the same variable `make setup` exports.
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(SOLCX_DIR))
    solcx.set_solc_version(_front().name.removeprefix("solc-v"), silent=True)


def _front() -> Path:
    (front,) = SOLCX_DIR.glob("solc-v*")
    return front


def _input(source: str) -> dict:
    return {
        "language": "Solidity",
        "sources": {"contracts/T.sol": {"content": source}},
        "settings": {
            "remappings": ["@openzeppelin=node_modules/@openzeppelin"],
            "optimizer": {"enabled": True, "runs": 200},
            # ASTs of every OpenZeppelin source make the output several MB.
            "outputSelection": {"*": {"": ["ast"], "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }


def _solcjs_direct(standard_input: dict) -> dict:
    """solc-js called directly, with an import callback reading from the project."""
    script = """
const solc = require('solc'); const fs = require('fs'); const path = require('path');
const input = fs.readFileSync(0, 'utf8');
const out = solc.compile(input, {import: (p) => { try { return {contents: fs.readFileSync(path.join(process.cwd(), p), 'utf8')}; } catch (e) { return {error: String(e)}; } }});
process.stdout.write(out);
"""
    result = subprocess.run(
        [str(NODE), "-e", script],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return json.loads(result.stdout)


def test_py_solc_x_reads_the_front_version() -> None:
    assert str(solcx.get_solc_version(with_commit_hash=False)) == _front().name.removeprefix("solc-v")
    assert str(solcx.get_installed_solc_versions()[0]) == _front().name.removeprefix("solc-v")


def test_openzeppelin_contract_compiles_to_the_same_bytecode_as_solcjs_directly() -> None:
    via_front = solcx.compile_standard(_input(TOKEN), allow_paths=[str(ROOT)], base_path=str(ROOT))
    direct = _solcjs_direct(_input(TOKEN))
    ours = via_front["contracts"]["contracts/T.sol"]["T"]["evm"]
    theirs = direct["contracts"]["contracts/T.sol"]["T"]["evm"]
    assert len(ours["bytecode"]["object"]) > 5_000  # a real ERC20Permit, not an empty result
    assert ours["bytecode"]["object"] == theirs["bytecode"]["object"]
    assert ours["deployedBytecode"]["object"] == theirs["deployedBytecode"]["object"]
    # Megabytes through a pipe (64 KiB buffer) must arrive whole and parse.
    assert len(json.dumps(via_front)) > 1_000_000
    assert via_front["sources"] == direct["sources"]


def test_syntax_error_is_a_compiler_error_naming_file_and_line() -> None:
    broken = TOKEN.replace("contract T is", "contract T is is")
    with pytest.raises(solcx.exceptions.SolcError) as raised:
        solcx.compile_standard(_input(broken), allow_paths=[str(ROOT)], base_path=str(ROOT))
    message = str(raised.value)
    assert "ParserError" in message
    assert "contracts/T.sol:5" in message


def test_missing_import_names_the_import() -> None:
    source = TOKEN.replace("token/ERC20/ERC20.sol", "token/ERC20/NoSuch.sol")
    with pytest.raises(solcx.exceptions.SolcError) as raised:
        solcx.compile_standard(_input(source), allow_paths=[str(ROOT)], base_path=str(ROOT))
    assert "NoSuch.sol" in str(raised.value)


def test_malformed_json_input_gets_a_json_error_not_a_crash() -> None:
    result = subprocess.run(
        [str(_front()), "--standard-json"], input="{not json", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    errors = json.loads(result.stdout)["errors"]
    assert errors[0]["severity"] == "error" and "JSON" in errors[0]["message"]


def test_unknown_option_is_refused_with_a_message() -> None:
    result = subprocess.run([str(_front()), "--bin", "x.sol"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "--bin" in result.stderr


def test_brownie_compile_works_offline(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "contracts").mkdir(parents=True)
    (project / "contracts" / "T.sol").write_text(TOKEN)
    shutil.copy(ROOT / "brownie-config.yaml", project / "brownie-config.yaml")
    (project / "node_modules").symlink_to(ROOT / "node_modules")
    env = {
        **os.environ,
        "SOLCX_BINARY_PATH": str(SOLCX_DIR),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        # Any network access would fail loudly instead of hanging.
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "brownie"), "compile"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    artifact = json.loads((project / "build" / "contracts" / "T.json").read_text())
    assert len(artifact["bytecode"]) > 5_000
