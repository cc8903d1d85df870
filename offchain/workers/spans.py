"""Wall-clock spans of what a worker did in a round, kept in its round record for benchmarks.

Each span is `[category, start, end]` (Unix seconds, ms resolution) appended to the round
record's "spans" list; categories: ipfs, train, chain, aggregation, evaluation. They cost
nothing on the protocol and are persisted with the record's next `save()`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def span(record: dict[str, Any], category: str) -> Iterator[None]:
    """Time the block and append `[category, start, end]` to `record["spans"]`, even if it raises."""
    start = time.time()
    try:
        yield
    finally:
        record.setdefault("spans", []).append([category, round(start, 3), round(time.time(), 3)])
