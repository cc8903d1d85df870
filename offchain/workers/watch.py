"""Saying so while a worker waits on a service: "waiting for IPFS at http://... (12 s)".

A call to the chain's RPC or to IPFS may hang (a stalled node) or fail and be retried for
a while (a node that is down). Either way the worker is waiting, and a user watching its log
should see that rather than silence. Each service object a worker uses is wrapped so that
its calls are timed; one background thread logs, every few seconds, each service that has
kept the worker waiting longer than a few seconds (a slow call, or failures since the last
call that succeeded), and logs once when it answers again.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)
T = TypeVar("T")


class ServiceWatch:
    """The waiting state of one service, updated by the worker's thread, read by the ticker."""

    def __init__(self, label: str, is_outage: Callable[[BaseException], bool], clock: Callable[[], float]) -> None:
        self.label = label  # e.g. "IPFS at http://127.0.0.1:5001"
        self._is_outage = is_outage
        self._clock = clock
        self._lock = threading.Lock()
        self._calls = 0  # calls in flight (nested calls count once: only the outermost is timed)
        self._since: float | None = None  # start of the current wait (a call in flight, or failures)
        self._said = False  # whether this wait was logged

    def begin(self) -> None:
        with self._lock:
            self._calls += 1
            if self._since is None:
                self._since = self._clock()

    def end(self, error: BaseException | None) -> None:
        with self._lock:
            self._calls -= 1
            if self._calls or (error is not None and self._is_outage(error)):
                return  # still waiting: the service has not answered yet
            if self._said and self._since is not None:
                log.info("%s answers again after %.0f s", self.label, self._clock() - self._since)
            self._since, self._said = None, False

    def waited(self) -> float | None:
        """Seconds this worker has been waiting for the service, or None."""
        with self._lock:
            return None if self._since is None else self._clock() - self._since

    def mark_said(self) -> None:
        with self._lock:
            self._said = True


class Watchdog:
    """One thread that logs "waiting for <service> (N s)" every `every` seconds after `after` seconds."""

    def __init__(
        self, *, after: float = 5.0, every: float = 5.0, tick: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._after, self._every, self._tick, self._clock = after, every, tick, clock
        self._watches: list[ServiceWatch] = []
        self._next_say: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wrap(self, target: T, label: str, is_outage: Callable[[BaseException], bool]) -> T:
        """`target` with each of its methods timed against the service `label`."""
        watch = ServiceWatch(label, is_outage, self._clock)
        self._watches.append(watch)
        return cast(T, _Watched(target, watch))

    def check(self) -> None:
        """Log every service waited on long enough (the thread calls this every tick)."""
        for watch in self._watches:
            waited = watch.waited()
            if waited is None:
                self._next_say.pop(id(watch), None)
                continue
            due = self._next_say.get(id(watch), self._after)
            if waited >= due:
                log.warning("waiting for %s (%.0f s)", watch.label, waited)
                watch.mark_said()
                self._next_say[id(watch)] = due + self._every

    def __enter__(self) -> Watchdog:
        self._thread = threading.Thread(target=self._run, name="dfl-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            self.check()


class _Watched:
    """A stand-in for a service object whose method calls are timed (other attributes pass through)."""

    def __init__(self, target: Any, watch: ServiceWatch) -> None:
        self._target = target
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not inspect.ismethod(attr):
            return attr
        watch = self._watch

        @functools.wraps(attr)
        def timed(*args: Any, **kwargs: Any) -> Any:
            watch.begin()
            error: BaseException | None = None
            try:
                return attr(*args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                watch.end(error)

        return timed

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self._target.__exit__(*exc)
