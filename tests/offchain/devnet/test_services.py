"""`DevServices`: start once, never twice, survive stale pid files, stop only our own pids."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from offchain.devnet.services import ANVIL, IPFS, DevServices, ServiceStatus, anvil_answers, ipfs_answers
from offchain.errors import ServiceError
from support import free_ports


def _by_name(services: DevServices) -> dict[str, ServiceStatus]:
    return {s.name: s for s in services.status()}


def test_up_is_idempotent_and_down_stops_exactly_those_pids(tmp_path: Path) -> None:
    services = DevServices(tmp_path, free_ports())
    try:
        first = {s.name: s for s in services.up()}
        anvil, ipfs = first[ANVIL], first[IPFS]
        assert anvil.running and ipfs.running
        assert anvil.url and ipfs.url and anvil.log  # a running service has both
        assert anvil_answers(anvil.url) and ipfs_answers(ipfs.url)
        second = {s.name: s for s in services.up()}
        assert {n: s.pid for n, s in second.items()} == {n: s.pid for n, s in first.items()}
        assert Path(anvil.log).exists()
    finally:
        stopped = services.down()
    assert sorted(stopped) == [ANVIL, IPFS]
    for status in first.values():
        assert not Path(f"/proc/{status.pid}").exists() or "Z" in Path(f"/proc/{status.pid}/stat").read_text()
    assert not any(s.running for s in services.status())
    assert not anvil_answers(anvil.url)


def test_stale_pid_file_does_not_block_up_and_a_reused_pid_is_never_killed(tmp_path: Path) -> None:
    services = DevServices(tmp_path, free_ports())
    # A pid that now belongs to an unrelated live process (this test runner), as after a reboot.
    (tmp_path / "run").mkdir(parents=True)
    stale = {"name": ANVIL, "pid": os.getpid(), "url": "http://x", "argv": ["anvil"], "log": "x", "extra": {}}
    (tmp_path / "run" / "anvil.json").write_text(json.dumps(stale))
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "run" / "ipfs.json").write_text(json.dumps({**stale, "name": IPFS, "pid": dead.pid}))
    assert not any(s.running for s in services.status())
    try:
        statuses = _by_name(services) | {s.name: s for s in services.up()}
        assert statuses[ANVIL].running and statuses[ANVIL].pid != os.getpid()
        assert statuses[IPFS].running
    finally:
        services.down()
    assert Path(f"/proc/{os.getpid()}").exists()  # still here: down never signalled it


def test_a_port_taken_by_someone_else_is_reported_not_ignored(tmp_path: Path) -> None:
    ports = free_ports()
    with socket.socket() as squatter:
        squatter.bind((ports.host, ports.rpc))
        squatter.listen()
        services = DevServices(tmp_path, ports)
        try:
            with pytest.raises(ServiceError, match="anvil"):
                services.up(timeout=15)
        finally:
            services.down()


def _running_in_group(pgid: int) -> list[str]:
    """Live (non-zombie) processes of a process group."""
    pids = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout.split()
    return [
        p
        for p in pids
        if Path(f"/proc/{p}/stat").exists() and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    ]


def test_down_leaves_no_process_of_the_service_behind(tmp_path: Path) -> None:
    # anvil from npm is a launcher plus the binary it starts: both must stop.
    services = DevServices(tmp_path, free_ports())
    anvil = {s.name: s for s in services.up()}[ANVIL]
    assert anvil.pid is not None
    assert len(_running_in_group(anvil.pid)) >= 2
    services.down()
    assert _running_in_group(anvil.pid) == []
