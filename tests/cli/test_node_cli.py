"""`dfl node up|status|down` as a user runs them: a subprocess, exit codes, JSON, messages."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from support import free_ports

DFL = [sys.executable, "-m", "offchain.cli.main"]


def _dfl(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DFL_STATE_DIR": str(state)}
    return subprocess.run([*DFL, *args], capture_output=True, text=True, env=env, timeout=120)


def test_up_status_down_round_trip(tmp_path: Path) -> None:
    p = free_ports()
    ports = ["--rpc-port", str(p.rpc), "--ipfs-api-port", str(p.ipfs_api), "--gateway-port", str(p.ipfs_gateway)]
    try:
        up = _dfl(tmp_path, "node", "up", *ports)
        assert up.returncode == 0, up.stderr
        assert "anvil: started" in up.stdout and f"http://127.0.0.1:{p.rpc}" in up.stdout
        again = _dfl(tmp_path, "node", "up", *ports)
        assert "anvil: already running" in again.stdout and "ipfs: already running" in again.stdout
        status = _dfl(tmp_path, "node", "status", "--json")
        assert status.returncode == 0
        services = {s["name"]: s for s in json.loads(status.stdout)["services"]}
        assert services["ipfs"]["extra"]["gateway"] == f"http://127.0.0.1:{p.ipfs_gateway}"
        assert all(s["running"] for s in services.values())
    finally:
        down = _dfl(tmp_path, "node", "down", "--json")
    assert sorted(json.loads(down.stdout)["stopped"]) == ["anvil", "ipfs"]
    after = _dfl(tmp_path, "node", "status", "--json")
    assert after.returncode == 3
    assert not any(s["running"] for s in json.loads(after.stdout)["services"])


def test_busy_port_is_a_message_and_exit_1_not_a_traceback(tmp_path: Path) -> None:
    p = free_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", p.rpc))
        squatter.listen()
        result = _dfl(
            tmp_path,
            "node",
            "up",
            "--rpc-port",
            str(p.rpc),
            "--ipfs-api-port",
            str(p.ipfs_api),
            "--gateway-port",
            str(p.ipfs_gateway),
        )
    _dfl(tmp_path, "node", "down")
    assert result.returncode == 1
    assert "error:" in result.stderr and "anvil" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_describes_every_node_command(tmp_path: Path) -> None:
    result = _dfl(tmp_path, "node", "--help")
    assert result.returncode == 0
    for command in ("up", "status", "down"):
        assert command in result.stdout
