"""Small helpers for tests (importable: pyproject puts tests/ on pytest's pythonpath)."""

from __future__ import annotations

import socket

from offchain.devnet.services import Ports


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports() -> Ports:
    return Ports("127.0.0.1", free_port(), free_port(), free_port())
