"""Deadlines as a user reads them: local time and how far away, from chain timestamps."""

from __future__ import annotations

from datetime import datetime


def duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `2 h 4 min`, `3 d 2 h`."""
    s = int(round(abs(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"
    return f"{s // 86400} d {s % 86400 // 3600} h" if s % 86400 // 3600 else f"{s // 86400} d"


def relative(deadline: int, now: int) -> str:
    """`in 42 s`, `now`, `42 s ago` (both Unix seconds; `now` is the chain's latest block time)."""
    if deadline == now:
        return "now"
    return f"in {duration(deadline - now)}" if deadline > now else f"{duration(now - deadline)} ago"


def local_time(timestamp: int) -> str:
    """`2026-11-28 14:03:12 CET`: the machine's local time zone."""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def deadline(timestamp: int, now: int) -> str:
    """`2026-11-28 14:03:12 CET (in 42 s)`."""
    return f"{local_time(timestamp)} ({relative(timestamp, now)})"
