"""Aggregation arithmetic: pure, bit-exact numpy kernels over float64 arrays (the rules that use
them live in `offchain.fl.rules`).

Bit-exactness across machines, thread counts and SIMD builds comes from three
choices, used everywhere here:
- Only elementwise ufuncs (+, -, *, /, sort, compare) touch whole arrays. Each
  output element is one correctly rounded IEEE operation on the same inputs,
  so vector width and threading cannot change it (numpy never fuses a*b+c).
- Sums across updates are accumulated one update at a time, in the order the
  caller gives (sorted by trainer address), in float64.
- Sums within a vector (norms, distances) use `np.cumsum`, whose running sum
  is strictly sequential by definition; `np.sum`/`np.dot`/`np.linalg.norm`
  use pairwise or blocked orders that differ between builds.
Callers cast the float64 results to float32 once, at the end.

Memory stays bounded at any number of updates: coordinate-wise rules work on
`chunk_length(n)` coordinates at a time (same bits as whole tensors, since each
coordinate is computed on its own), means accumulate one update at a time, and
pairwise distances reuse two scratch buffers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Tensors = Sequence[np.ndarray]  # one model's tensors (or deltas) in name order

# float64 values of one coordinate chunk across all updates (64 MiB): the stack,
# its sorted copy and the deltas it is built from stay a few hundred MiB at any N.
CHUNK_VALUES = 1 << 23


def chunk_length(count: int) -> int:
    """Coordinates per chunk when `count` updates are combined coordinate-wise."""
    return max(1024, CHUNK_VALUES // max(count, 1))


def combine_changes(
    base: np.ndarray, flats: Sequence[np.ndarray], combine: Callable[[list[np.ndarray]], np.ndarray]
) -> np.ndarray:
    """combine([f - base for f in flats]) for flat float32 `flats` and a flat float64 `base`,
    `chunk_length(len(flats))` coordinates at a time: the same bits as whole vectors (each coordinate
    is computed on its own), with float64 working memory bounded at any number of updates."""
    out = np.empty_like(base)
    step = chunk_length(len(flats))
    for lo in range(0, base.size, step):
        part = slice(lo, min(lo + step, base.size))
        out[part] = combine([f[part].astype(np.float64) - base[part] for f in flats])
    return out


class RunningMean:
    """sum(w_i * a_i) / sum(w_i) in float64, fed one array at a time in a fixed order.

    Holds one accumulator, so a mean over N updates needs the memory of one.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self._acc = np.zeros(shape, dtype=np.float64)
        self._weights: list[float] = []

    def add(self, array: np.ndarray, weight: float) -> None:
        self._acc += np.float64(weight) * array.astype(np.float64, copy=False)
        self._weights.append(weight)

    def result(self) -> np.ndarray:
        if not self._weights:
            raise ValueError("a mean needs at least one array")
        total = math.fsum(self._weights)  # exact, order-independent
        if not total > 0:
            raise ValueError("a weighted mean needs a positive total weight")
        return self._acc / total


def weighted_mean(arrays: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """sum(w_i * a_i) / sum(w_i), accumulated in the given order, in float64."""
    if not arrays or len(arrays) != len(weights):
        raise ValueError("weighted_mean needs one weight per array and at least one array")
    mean = RunningMean(arrays[0].shape)
    for array, weight in zip(arrays, weights):
        mean.add(array, weight)
    return mean.result()


def coordinate_median(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Coordinate-wise median; with an even count, the mean of the two middle values."""
    ordered = _sorted_stack(arrays)
    n = ordered.shape[0]
    if n % 2:
        return ordered[n // 2].copy()
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


def weighted_median(arrays: Sequence[np.ndarray], weights: Sequence[int]) -> np.ndarray:
    """Coordinate-wise weighted median with positive integer weights: per coordinate, the smallest
    value whose cumulative weight (values in ascending order) reaches half the total; where it meets
    half exactly, the mean of that value and the next. Equal weights give `coordinate_median`.

    Exact in any order of ties: equal values have equal bits (+0.0 folds -0.0), and the cumulative
    weight at the end of a run of equal values does not depend on their order, so the crossing always
    lands on the same value. Weights are integers (int64 sums), so there is no rounding in them.
    """
    if not arrays or len(arrays) != len(weights):
        raise ValueError(f"need as many weights as arrays, got {len(weights)} for {len(arrays)}")
    if any(isinstance(w, bool) or not isinstance(w, int) or w <= 0 for w in weights):
        raise ValueError(f"weights must be positive integers, got {list(weights)!r}")
    stacked = np.stack([a.astype(np.float64, copy=False) for a in arrays]) + 0.0
    order = np.argsort(stacked, axis=0, kind="stable")
    ordered = np.take_along_axis(stacked, order, axis=0)
    twice_cumulative = 2 * np.cumsum(np.asarray(weights, dtype=np.int64)[order], axis=0)
    total = int(sum(weights))
    row = np.argmax(twice_cumulative >= total, axis=0)[np.newaxis]  # first row reaching half
    value = np.take_along_axis(ordered, row, axis=0)[0]
    exactly_half = np.take_along_axis(twice_cumulative, row, axis=0)[0] == total
    following = np.take_along_axis(ordered, np.minimum(row + 1, len(arrays) - 1), axis=0)[0]
    return np.where(exactly_half, (value + following) / 2.0, value)


def trimmed_mean(arrays: Sequence[np.ndarray], *, trim: int) -> np.ndarray:
    """Coordinate-wise mean after dropping the `trim` smallest and largest values."""
    ordered = _sorted_stack(arrays)
    n = ordered.shape[0]
    if trim < 0 or n - 2 * trim < 1:
        raise ValueError(f"cannot trim {trim} from each side of {n} values")
    acc = np.zeros(ordered.shape[1:], dtype=np.float64)
    for row in range(trim, n - trim):  # ascending rows: a fixed order
        acc += ordered[row]
    return acc / float(n - 2 * trim)


def sequential_sum(array: np.ndarray) -> float:
    """Left-to-right float64 sum of every element (C order)."""
    flat = np.ascontiguousarray(array, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        return 0.0
    return float(np.cumsum(flat)[-1])


def squared_norm(tensors: Tensors) -> float:
    """||x||^2 over all tensors: sequential per tensor, tensors added in order."""
    total = 0.0
    for tensor in tensors:
        total += sequential_sum(np.square(tensor, dtype=np.float64))
    return total


def dot(a: Tensors, b: Tensors) -> float:
    """<a, b> over all tensors: per tensor a left-to-right float64 sum of the products, tensors added
    in order (the same fixed order as `squared_norm`)."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        total += sequential_sum(np.multiply(x, y, dtype=np.float64))
    return total


def cosine(dot_ab: float, sq_norm_a: float, sq_norm_b: float) -> float:
    """<a, b> / (|a| |b|) from its parts; 0 when either vector is zero. Each step is one correctly
    rounded IEEE operation (sqrt, multiply, divide), so the result is the same everywhere."""
    if not sq_norm_a > 0 or not sq_norm_b > 0:
        return 0.0
    return dot_ab / (math.sqrt(sq_norm_a) * math.sqrt(sq_norm_b))


def median_of(values: Sequence[float]) -> float:
    """Median of floats; with an even count the mean of the two middle values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("a median needs at least one value")
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


def weighted_median_of(values: Sequence[float], weights: Sequence[int]) -> float:
    """The weighted median of floats with non-negative integer weights, by `weighted_median`'s rule:
    in ascending order, the first value whose cumulative weight reaches
    half the total; where it meets half exactly, the mean of that value and the next one with a
    positive weight. Zero weights do not count. Raises ValueError if no weight is positive."""
    if len(values) != len(weights) or any(isinstance(w, bool) or not isinstance(w, int) or w < 0 for w in weights):
        raise ValueError(f"need one non-negative integer weight per value, got {list(weights)!r}")
    pairs = sorted((v, w) for v, w in zip(values, weights, strict=True) if w > 0)
    total = sum(w for _, w in pairs)
    if total == 0:
        raise ValueError("a weighted median needs a positive weight")
    cumulative = 0
    for i, (value, weight) in enumerate(pairs):
        cumulative += weight
        if 2 * cumulative == total:
            return (value + pairs[i + 1][0]) / 2.0
        if 2 * cumulative > total:
            return value
    raise AssertionError("unreachable: the cumulative weight reaches the total")


def squared_distance(a: Tensors, b: Tensors) -> float:
    """||a - b||^2 over all tensors, with the same fixed order as `squared_norm`."""
    return pairwise_squared_distances([a, b])[0][1]


def clip_scale(sq_norm: float, bound: float) -> float:
    """Factor that brings a vector of squared norm `sq_norm` to norm <= `bound`."""
    norm = math.sqrt(sq_norm)  # correctly rounded, so portable
    return 1.0 if norm <= bound else bound / norm


def krum_scores(distances: Sequence[Sequence[float]], *, f: int) -> list[float]:
    """Krum score of each point: sum of its n-f-2 smallest squared distances (at least 1).

    The Byzantine guarantee needs n >= 2f + 3; with fewer points the neighbour
    count is clamped to 1 so a small round still has a deterministic answer.
    """
    n = len(distances)
    k = max(n - f - 2, 1)
    scores = []
    for i in range(n):
        others = sorted(distances[i][j] for j in range(n) if j != i)
        scores.append(math.fsum(others[:k]))
    return scores


def krum_select(scores: Sequence[float], *, m: int) -> list[int]:
    """Indices of the `m` lowest scores; ties go to the lower index (address order)."""
    ranked = sorted(range(len(scores)), key=lambda i: (scores[i], i))
    return sorted(ranked[: max(0, min(m, len(scores)))])


def pairwise_squared_distances(points: Sequence[Tensors]) -> list[list[float]]:
    """Symmetric matrix of ||p_i - p_j||^2 (each pair computed once).

    Per tensor: widen to float64, subtract, square, sum left to right (`np.cumsum`);
    tensors added in order. p_i is widened once per row, and each pair reuses two
    scratch buffers (a fresh multi-MB array per pair costs more in page faults than
    the arithmetic).
    """
    n = len(points)
    matrix = [[0.0] * n for _ in range(n)]
    if n < 2:
        return matrix
    largest = max((np.size(t) for point in points for t in point), default=0)
    diff, running = np.empty(largest, dtype=np.float64), np.empty(largest, dtype=np.float64)
    for i in range(n):
        wide = [np.asarray(t, dtype=np.float64).reshape(-1) for t in points[i]]
        for j in range(i + 1, n):
            total = 0.0
            for a, b in zip(wide, points[j], strict=True):
                if a.size == 0:
                    continue
                d, r = diff[: a.size], running[: a.size]
                np.subtract(a, np.asarray(b).reshape(-1), out=d)  # b is widened exactly, as astype would
                np.square(d, out=d)
                np.cumsum(d, out=r)
                total += float(r[-1])
            matrix[i][j] = matrix[j][i] = total
    return matrix


def _sorted_stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    if not arrays:
        raise ValueError("need at least one array")
    # +0.0 turns -0.0 into +0.0: equal values then have equal bits, so the
    # result cannot depend on how a (SIMD) sort orders ties.
    stacked = np.stack([a.astype(np.float64, copy=False) for a in arrays]) + 0.0
    return np.sort(stacked, axis=0)
