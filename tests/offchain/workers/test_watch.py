"""Workers say so while a service keeps them waiting: a real IPFS dev node of the test's own,
stopped (calls refused) and frozen with SIGSTOP (calls hang), then back."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from offchain.devnet.services import DevServices, ipfs_answers
from offchain.errors import IpfsError
from offchain.retry import Backoff
from offchain.storage.ipfs import IpfsStore
from offchain.workers.watch import Watchdog
from support import free_ports


@pytest.fixture
def services(tmp_path: Path) -> Iterator[DevServices]:
    own = DevServices(tmp_path / "state", free_ports())  # its own node: stopping it disturbs no other test
    own.up()
    yield own
    own.down()


def _ipfs_pid(services: DevServices) -> int:
    (ipfs,) = [s for s in services.status() if s.name == "ipfs"]
    assert ipfs.pid is not None
    return ipfs.pid


def _outage(exc: BaseException) -> bool:
    return isinstance(exc, IpfsError) and exc.transient


def test_a_stopped_node_is_reported_while_it_is_down_and_once_when_it_answers_again(
    services: DevServices, caplog: pytest.LogCaptureFixture
) -> None:
    api = f"http://127.0.0.1:{services.ports.ipfs_api}"
    caplog.set_level(logging.INFO, logger="offchain.workers.watch")
    with (
        IpfsStore(api, timeout=2, retry=Backoff(attempts=2, first_delay=0.2)) as raw,
        Watchdog(after=1.0, every=1.0, tick=0.1) as watchdog,
    ):
        store = watchdog.wrap(raw, f"IPFS at {api}", _outage)
        assert store.version()
        os.kill(_ipfs_pid(services), signal.SIGKILL)  # the node dies
        gone = time.monotonic() + 10
        while ipfs_answers(api):
            assert time.monotonic() < gone, "the killed IPFS node still answers"
            time.sleep(0.05)
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:  # a worker's loop: each call fails, then it tries again
            with pytest.raises(IpfsError):
                store.version()
            time.sleep(0.3)
        services.up()
        assert store.version()
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"waiting for IPFS at {api}")]
    assert waits[0] == f"waiting for IPFS at {api} (1 s)"
    assert len(waits) >= 3  # every second while down, across the failed calls
    again = [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert len(again) == 1 and again[0].startswith(f"IPFS at {api} answers again after ")


def test_a_hanging_call_is_reported_while_it_hangs(services: DevServices, caplog: pytest.LogCaptureFixture) -> None:
    api = f"http://127.0.0.1:{services.ports.ipfs_api}"
    pid = _ipfs_pid(services)
    caplog.set_level(logging.INFO, logger="offchain.workers.watch")
    with (
        IpfsStore(api, timeout=4, retry=Backoff(attempts=1)) as raw,
        Watchdog(after=1.0, every=1.0, tick=0.1) as watchdog,
    ):
        store = watchdog.wrap(raw, f"IPFS at {api}", _outage)
        os.kill(pid, signal.SIGSTOP)  # a stalled node: connections are accepted, nothing answers
        try:
            with pytest.raises(IpfsError, match="timed out"):
                store.version()
        finally:
            os.kill(pid, signal.SIGCONT)
        assert store.version()
    waits = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting for IPFS")]
    assert waits[:3] == [f"waiting for IPFS at {api} ({n} s)" for n in (1, 2, 3)]


def test_quick_calls_and_refusals_that_are_not_outages_say_nothing(
    ipfs_api: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="offchain.workers.watch")
    with IpfsStore(ipfs_api) as raw, Watchdog(after=0.5, every=0.5, tick=0.1) as watchdog:
        store = watchdog.wrap(raw, f"IPFS at {ipfs_api}", _outage)
        for _ in range(5):
            assert store.version()
        with pytest.raises(IpfsError):
            store.get("not-a-cid")  # an InvalidCidError: a mistake, not a service that is away
        time.sleep(1.0)
    assert not [r for r in caplog.records if r.name == "offchain.workers.watch"]
