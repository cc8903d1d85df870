"""Property tests: bounds, order independence, exact splits, bitwise round trips."""

from __future__ import annotations

import numpy as np
from fl_helpers import address, run_round
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.fl.codec import decode_weights, encode_weights
from offchain.fl.merkle import build_tree, verify
from offchain.fl.records import Update
from offchain.fl.rewards import allocate
from offchain.fl.rules import parse_rule
from offchain.types import TensorSpec

PROPERTY = settings(max_examples=60, deadline=None)
WIDTH = 3
# Multiples of 1/8 keep deltas exact, so bounds hold without float slack.
eighths = st.integers(-8000, 8000).map(lambda k: k / 8)
vectors = st.lists(eighths, min_size=WIDTH, max_size=WIDTH)
ALL_RULES = [(0, [5]), (1, []), (2, [2000]), (3, [1, 2]), (4, [2_000_000, 5]), (5, [])]


def _updates(rows: list[list[float]], samples: list[int]) -> list[Update]:
    return [
        Update(address(i * 31), samples[i % len(samples)], {"0000/w": np.array(r, dtype=np.float32)})
        for i, r in enumerate(rows)
    ]


@PROPERTY
@given(glob=vectors, rows=st.lists(vectors, min_size=1, max_size=7), rule=st.sampled_from([(1, []), (2, [2500])]))
def test_median_and_trimmed_mean_stay_within_the_inputs(
    glob: list[float], rows: list[list[float]], rule: tuple
) -> None:
    global_weights = {"0000/w": np.array(glob, dtype=np.float32)}
    updates = _updates(rows, [1])
    result = run_round(global_weights, updates, parse_rule(*rule))
    accepted_trainers = set(result.accepted)
    accepted = np.array([r for r, u in zip(rows, updates) if u.trainer in accepted_trainers], dtype=np.float32)
    if len(accepted) == 0:  # every row was a copy of the global model
        return
    out = result.weights["0000/w"]
    assert (accepted.min(axis=0) <= out).all() and (out <= accepted.max(axis=0)).all()


@PROPERTY
@given(
    glob=vectors,
    rows=st.lists(vectors, min_size=1, max_size=6),
    samples=st.lists(st.integers(1, 9), min_size=1, max_size=6),
    rule=st.sampled_from(ALL_RULES),
    data=st.data(),
)
def test_reveal_order_changes_nothing_but_the_indexes(
    glob: list[float], rows: list[list[float]], samples: list[int], rule: tuple, data: st.DataObject
) -> None:
    """Trainers reveal in any order (so with any index); the model, verdicts, scores and rewards
    are the same."""
    global_weights = {"0000/w": np.array(glob, dtype=np.float32)}
    updates = _updates(rows, samples)
    shuffled = data.draw(st.permutations(updates))
    first = run_round(global_weights, updates, parse_rule(*rule))
    second = run_round(global_weights, shuffled, parse_rule(*rule))
    assert first.model_bytes == second.model_bytes and first.verdicts == second.verdicts
    assert first.reward_root == second.reward_root and first.penalty_root == second.penalty_root
    strip = [(u.trainer, u.score_ppm, u.weight, u.reward, u.reason) for u in first.receipt.updates]
    assert strip == [(u.trainer, u.score_ppm, u.weight, u.reward, u.reason) for u in second.receipt.updates]


weights_maps = st.dictionaries(
    st.integers(0, 10_000).map(address),
    st.one_of(st.integers(0, 10**9), st.floats(0, 1e6, allow_nan=False, allow_infinity=False)),
    max_size=12,
)


@PROPERTY
@given(pool=st.integers(0, 10**30), weights=weights_maps)
def test_allocation_never_exceeds_the_pool_and_is_deterministic(pool: int, weights: dict[str, float]) -> None:
    leaves = allocate(pool, weights)
    total = sum(amount for _, amount in leaves)
    assert total <= pool
    assert pool - total < max(1, len(weights)) or not any(weights.values())  # each floor loses < 1
    assert [a for a, _ in leaves] == sorted(a for a, _ in leaves)
    assert all(amount > 0 for _, amount in leaves)
    assert allocate(pool, dict(reversed(list(weights.items())))) == leaves


@PROPERTY
@given(bits=st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=40))
def test_codec_round_trips_every_float32_bit_pattern(bits: list[int]) -> None:
    array = np.array(bits, dtype=np.uint32).view(np.float32)
    named = {"0000/x": array, "0001/y": array[::-1].copy()}
    specs = [TensorSpec(n, a.shape) for n, a in named.items()]
    data = encode_weights(named)
    out = decode_weights(data, specs, max_bytes=len(data))
    assert all(out[n].tobytes() == named[n].tobytes() for n in named)
    assert encode_weights(out) == data


@settings(max_examples=25, deadline=None)
@given(amounts=st.lists(st.integers(0, 2**256 - 1), min_size=1, max_size=20))
def test_every_merkle_proof_verifies(amounts: list[int]) -> None:
    values = [(address(i), amount) for i, amount in enumerate(amounts)]
    tree = build_tree(values)
    assert all(verify(tree.root, a, x, tree.proof(i)) for i, (a, x) in enumerate(values))
