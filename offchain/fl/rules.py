"""Aggregation arithmetic: pure, bit-exact numpy kernels over float64 arrays.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Tensors = Sequence[np.ndarray]  # one model's tensors (or deltas) in name order


def weighted_mean(arrays: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """sum(w_i * a_i) / sum(w_i), accumulated in the given order, in float64."""
    if not arrays or len(arrays) != len(weights):
        raise ValueError("weighted_mean needs one weight per array and at least one array")
    total = math.fsum(weights)  # exact, order-independent
    if not total > 0:
        raise ValueError("weighted_mean needs a positive total weight")
    acc = np.zeros(arrays[0].shape, dtype=np.float64)
    for array, weight in zip(arrays, weights):
        acc += np.float64(weight) * array.astype(np.float64, copy=False)
    return acc / total


def coordinate_median(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Coordinate-wise median; with an even count, the mean of the two middle values."""
    ordered = _sorted_stack(arrays)
    n = ordered.shape[0]
    if n % 2:
        return ordered[n // 2].copy()
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2.0


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


def squared_distance(a: Tensors, b: Tensors) -> float:
    """||a - b||^2 over all tensors, with the same fixed order as `squared_norm`."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        diff = x.astype(np.float64, copy=False) - y.astype(np.float64, copy=False)
        total += sequential_sum(np.square(diff))
    return total


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
    """Symmetric matrix of ||p_i - p_j||^2 (each pair computed once)."""
    n = len(points)
    matrix = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            matrix[i][j] = matrix[j][i] = squared_distance(points[i], points[j])
    return matrix


def _sorted_stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    if not arrays:
        raise ValueError("need at least one array")
    # +0.0 turns -0.0 into +0.0: equal values then have equal bits, so the
    # result cannot depend on how a (SIMD) sort orders ties.
    stacked = np.stack([a.astype(np.float64, copy=False) for a in arrays]) + 0.0
    return np.sort(stacked, axis=0)
