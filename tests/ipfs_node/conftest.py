"""Fixtures for the IPFS dev node tests (the node process itself: ipfs_node_dev.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ipfs_node_dev import DevNode, assert_kubo_error


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevNode]:
    """A node shared by the tests of one module (tests there must not run gc)."""
    d = tmp_path_factory.mktemp("ipfs-node")
    n = DevNode(d / "repo", d / "node.log")
    yield n
    n.stop()


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[Callable[..., DevNode]]:
    """Start private nodes (for gc, restarts); all are stopped at teardown."""
    started: list[DevNode] = []

    def start(repo: Path | None = None, *extra_args: str) -> DevNode:
        n = DevNode(repo or tmp_path / "repo", tmp_path / f"node{len(started)}.log", extra_args)
        started.append(n)
        return n

    yield start
    for n in started:
        n.stop()


@pytest.fixture
def kubo_error() -> Callable[..., dict]:
    return assert_kubo_error
