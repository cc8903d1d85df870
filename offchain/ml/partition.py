"""Split sample indices among simulated clients: IID or label-skewed (pure numpy).

Each partitioner returns one sorted int64 index array per client; the arrays are
disjoint, cover every sample, and depend only on the inputs and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from offchain.ml.errors import PartitionError

PARTITION_KINDS: tuple[str, ...] = ("iid", "dirichlet", "shards")


def iid(n: int, num_clients: int, seed: int) -> list[np.ndarray]:
    """A random split into near-equal parts (sizes differ by at most one)."""
    _check_counts(n, num_clients, need=num_clients)
    order = np.random.default_rng(seed).permutation(n)
    return [np.sort(part).astype(np.int64) for part in np.array_split(order, num_clients)]


def dirichlet(labels: np.ndarray, num_clients: int, alpha: float, seed: int) -> list[np.ndarray]:
    """Per class, shares drawn from Dirichlet(alpha): small alpha, strong label skew.

    Every client gets at least one sample: empty clients take one from the
    currently largest client.
    """
    labels = _labels(labels)
    _check_counts(len(labels), num_clients, need=num_clients)
    if not alpha > 0.0:
        raise PartitionError(f"dirichlet alpha must be positive, got {alpha}")
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(num_clients)]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        shares = rng.dirichlet(np.full(num_clients, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(members)).astype(np.int64)
        for client, chunk in enumerate(np.split(members, cuts)):
            parts[client].extend(chunk.tolist())
    _fill_empty(parts)
    return [np.sort(np.array(part, dtype=np.int64)) for part in parts]


def shards(labels: np.ndarray, num_clients: int, per_client: int, seed: int) -> list[np.ndarray]:
    """Sort by label, cut into num_clients * per_client shards, deal per_client to each.

    With per_client = 2 most clients see about two classes (McMahan et al.'s non-IID split).
    """
    labels = _labels(labels)
    if per_client < 1:
        raise PartitionError(f"shards per client must be at least 1, got {per_client}")
    _check_counts(len(labels), num_clients, need=num_clients * per_client)
    rng = np.random.default_rng(seed)
    # Shuffle first so ties within a label are broken by the seed, then sort stably.
    shuffled = rng.permutation(len(labels))
    by_label = shuffled[np.argsort(labels[shuffled], kind="stable")]
    pieces = np.array_split(by_label, num_clients * per_client)
    dealt = rng.permutation(len(pieces)).reshape(num_clients, per_client)
    return [np.sort(np.concatenate([pieces[i] for i in row])).astype(np.int64) for row in dealt]


@dataclass(frozen=True)
class Partitioner:
    """A parsed partition spec such as "iid", "dirichlet:0.5" or "shards:2"."""

    kind: str
    param: float | None = None

    def split(self, labels: np.ndarray, num_clients: int, *, seed: int) -> list[np.ndarray]:
        """One index array per client for these labels."""
        if self.kind == "iid":
            return iid(len(labels), num_clients, seed)
        if self.kind == "dirichlet":
            return dirichlet(labels, num_clients, float(self.param or 0.0), seed)
        if self.kind == "shards":
            return shards(labels, num_clients, int(self.param or 0), seed)
        raise PartitionError(f"unknown partition kind {self.kind!r}: use one of {', '.join(PARTITION_KINDS)}")

    def __str__(self) -> str:
        if self.param is None:
            return self.kind
        return f"{self.kind}:{self.param:g}"


def parse_partition(spec: str) -> Partitioner:
    """Parse "iid", "dirichlet:<alpha>" (alpha > 0) or "shards:<per client>" (integer >= 1)."""
    kind, _, raw = spec.strip().partition(":")
    usage = "use iid, dirichlet:<alpha> (e.g. dirichlet:0.5) or shards:<per client> (e.g. shards:2)"
    if kind == "iid" and not raw:
        return Partitioner("iid")
    if kind == "dirichlet" and raw:
        alpha = _number(raw, spec, usage)
        if not (alpha > 0.0 and np.isfinite(alpha)):
            raise PartitionError(f"partition {spec!r}: alpha must be a positive number; {usage}")
        return Partitioner("dirichlet", alpha)
    if kind == "shards" and raw:
        count = _number(raw, spec, usage)
        if count < 1 or count != int(count):
            raise PartitionError(f"partition {spec!r}: shards per client must be a whole number >= 1; {usage}")
        return Partitioner("shards", float(int(count)))
    raise PartitionError(f"unknown partition {spec!r}: {usage}")


def _number(raw: str, spec: str, usage: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise PartitionError(f"partition {spec!r}: {raw!r} is not a number; {usage}") from exc


def _labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise PartitionError(f"labels must be a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    return labels


def _check_counts(n: int, num_clients: int, *, need: int) -> None:
    if num_clients < 1:
        raise PartitionError(f"num_clients must be at least 1, got {num_clients}")
    if n < need:
        raise PartitionError(f"{n} samples are too few for this split of {num_clients} clients (needs {need})")


def _fill_empty(parts: list[list[int]]) -> None:
    # Deterministic: the largest client (lowest index on ties) gives its last sample.
    for part in parts:
        if not part:
            donor = max(range(len(parts)), key=lambda i: (len(parts[i]), -i))
            part.append(parts[donor].pop())
