"""A corpus of hostile update files, and a job that screens them in a round (run as a subprocess).

Hand-written cases cover each way the safetensors container can lie (the issue's offsets outside
the data, overlaps, huge declared shapes, duplicate or non-UTF-8 names, truncation, zip and pickle
payloads, ...); `hostile_files()` is the hypothesis strategy that generates more. The job
(`python hostile_corpus.py DIR`) reads DIR/*.bin, computes one round in which each file is one
trainer's update, and prints the receipt's sha256, its size, every verdict, and the peak memory
decoding took relative to the task's maximum update size.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import struct
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from fl_helpers import address, specs_of
from hypothesis import strategies as st

from offchain.fl.codec import decode_weights, encode_weights
from offchain.fl.errors import InvalidUpdateError

MAX_BYTES = 64 * 1024
GLOBAL = {
    "0000/dense/kernel": np.linspace(-1, 1, 6 * 4, dtype=np.float32).reshape(6, 4),
    "0001/dense/bias": np.zeros(4, np.float32),
}
SPECS = specs_of(GLOBAL)


def _container(header: bytes | str, data: bytes = b"", *, length: int | None = None) -> bytes:
    head = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    return struct.pack("<Q", len(head) if length is None else length) + head + data


def _entry(dtype: str, shape: list[int], start: int, end: float) -> dict[str, object]:  # end: floats too (hostile)
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


def _honest(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return encode_weights({n: (a + 0.1 * rng.standard_normal(a.shape)).astype(np.float32) for n, a in GLOBAL.items()})


def handwritten() -> dict[str, bytes]:
    k, b = "0000/dense/kernel", "0001/dense/bias"
    good = _honest(1)
    body = good[8 + struct.unpack("<Q", good[:8])[0] :]
    ok = {b: _entry("F32", [4], 0, 16), k: _entry("F32", [6, 4], 16, 112)}
    nan = {n: a.copy() for n, a in GLOBAL.items()}
    nan[k][2, 3] = np.nan
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {n.replace("/", "_"): a for n, a in GLOBAL.items()}  # **: none is `allow_pickle`
    np.savez(buffer, **arrays)
    return {
        "offsets_outside_data": _container(
            json.dumps({b: _entry("F32", [4], 0, 16), k: _entry("F32", [6, 4], 16, 99_999)}), body
        ),
        "overlapping_offsets": _container(
            json.dumps({b: _entry("F32", [4], 0, 16), k: _entry("F32", [6, 4], 8, 104)}), body
        ),
        "gap_between_tensors": _container(
            json.dumps({b: _entry("F32", [4], 0, 16), k: _entry("F32", [6, 4], 24, 120)}), body + b"\0" * 8
        ),
        "huge_declared_shape": _container(json.dumps({**ok, k: _entry("F32", [2**40, 2**20], 16, 112)}), body),
        "shape_overflowing_u64": _container(json.dumps({**ok, k: _entry("F32", [2**63, 2**63, 2**63], 16, 112)}), body),
        "duplicate_names": _container(
            f'{{"{b}":{json.dumps(ok[b])},"{b}":{json.dumps(ok[b])},"{k}":{json.dumps(ok[k])}}}', body
        ),
        "non_utf8_name": _container(b'{"\xff\xfe":' + json.dumps(ok[b]).encode() + b"}", body[:16]),
        "lone_surrogate_name": _container('{"\\ud800": ' + json.dumps(ok[b]) + "}", body[:16]),
        "truncated_data": good[:-5],
        "trailing_bytes": good + b"\0\0\0\0",
        "zip_payload": buffer.getvalue(),
        "pickle_payload": pickle.dumps({n: a.tolist() for n, a in GLOBAL.items()}),
        "header_length_max_u64": _container(json.dumps(ok), body, length=2**64 - 1),
        "header_length_past_end": _container(json.dumps(ok), body, length=len(json.dumps(ok)) + len(body) + 1),
        "header_is_array": _container("[1, 2, 3]"),
        "deeply_nested_header": _container("[" * 3000 + "]" * 3000),
        "float_offsets": _container(json.dumps({**ok, b: _entry("F32", [4], 0, 16.0)}), body),
        "negative_dims": _container(json.dumps({**ok, b: _entry("F32", [-4], 0, 16)}), body),
        "bool_dims": _container(
            json.dumps({**ok, b: {"dtype": "F32", "shape": [True], "data_offsets": [0, 16]}}), body
        ),
        "unknown_dtype": _container(json.dumps({**ok, b: _entry("Q7", [4], 0, 16)}), body),
        "extra_entry_key": _container(json.dumps({**ok, b: {**ok[b], "extra": 1}}), body),
        "metadata_not_strings": _container(json.dumps({**ok, "__metadata__": {"a": 1}}), body),
        "metadata_ok": _container(json.dumps({**ok, "__metadata__": {"format": "np"}}), body),
        "empty_file": b"",
        "seven_bytes": b"\x01\x02\x03\x04\x05\x06\x07",
        "f16_bias": _container(
            json.dumps({b: _entry("F16", [4], 0, 8), k: _entry("F32", [6, 4], 8, 104)}), body[:8] + body[16:]
        ),
        "wrong_shape_kernel": _container(
            json.dumps({b: _entry("F32", [4], 0, 16), k: _entry("F32", [4, 6], 16, 112)}), body
        ),
        "missing_kernel": _container(json.dumps({b: ok[b]}), body[:16]),
        "extra_tensor_long_name": _container(
            json.dumps({**ok, "x" * 10_000: _entry("F32", [1], 112, 116)}), body + b"\0" * 4
        ),
        "extra_tensor": _container(json.dumps({**ok, "0002/extra": _entry("F32", [1], 112, 116)}), body + b"\0" * 4),
        "nan_values": encode_weights(nan),
        "huge_finite_values": encode_weights({n: np.full(a.shape, 3e38, np.float32) for n, a in GLOBAL.items()}),
        "copy_of_global": encode_weights(GLOBAL),
        "too_large": good + b"\0" * MAX_BYTES,
        "reordered_but_valid": _container(
            json.dumps({k: _entry("F32", [6, 4], 0, 96), b: _entry("F32", [4], 96, 112)}), body[16:] + body[:16]
        ),
        "honest_a": _honest(2),
        "honest_b": _honest(3),
    }


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    """Containers that mutate a valid one: header entries with random dtypes, shapes, offsets and
    names, a random header length field, random data lengths, or raw random bytes."""
    kind = draw(st.sampled_from(["entries", "length", "bytes", "json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "json":
        text = draw(st.text(max_size=200))
        return _container(text, draw(st.binary(max_size=128)))
    names = st.sampled_from([s.name for s in SPECS]) | st.text(max_size=30)
    dims = st.lists(st.integers(0, 2**70) | st.integers(0, 8) | st.just(-1), max_size=4)
    offsets = st.integers(0, 200) | st.integers(0, 2**70)
    dtypes = st.sampled_from(["F32", "F16", "F64", "I32", "BOOL", "U8", "X", ""])
    entries = draw(
        st.dictionaries(
            names, st.builds(lambda d, s, a, b: _entry(d, s, a, b), dtypes, dims, offsets, offsets), max_size=5
        )
    )
    data = draw(st.binary(max_size=256))
    header = json.dumps(entries)
    length = draw(st.none() | st.integers(0, 2**64 - 1)) if kind == "length" else None
    return _container(header, data, length=length)


def main(corpus: Path) -> None:
    from fl_helpers import is_cid

    from offchain.fl.availability import Attestation, bitmap
    from offchain.fl.round import Addressing, Reveal, RoundTerms, compute_round
    from offchain.fl.rules import parse_rule
    from offchain.fl.screening import TOO_LARGE, Checks
    from offchain.storage.cid import compute_cid

    files = sorted(corpus.glob("*.bin"))
    contents = {i: f.read_bytes() for i, f in enumerate(files)}
    peaks = []
    for data in contents.values():  # peak memory of decoding alone, the input already loaded
        tracemalloc.start()
        try:
            decode_weights(data, SPECS, max_bytes=MAX_BYTES)
        except InvalidUpdateError:
            pass
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # A fetch stops at the size limit: what exceeds it is TOO_LARGE, as validators see it.
    fetched = {i: (TOO_LARGE if len(d) > MAX_BYTES else d) for i, d in contents.items()}
    reveals = [Reveal(i, address(1000 + i), compute_cid(contents[i]), 10 + i) for i in contents]
    held = bitmap(list(contents), len(contents))
    attestations = [Attestation(address(9), held, 100, 100)]
    terms = RoundTerms(1, 0, parse_rule(5, []), Checks(SPECS, MAX_BYTES, 10_000_000), 6000, 10**21)
    result = compute_round(terms, "QmParent", GLOBAL, reveals, attestations, fetched, Addressing(compute_cid, is_cid))
    verdicts = {
        f.stem: [u.reason, u.penalized, u.detail]
        for f, u in zip(files, sorted(result.receipt.updates, key=lambda u: u.index), strict=True)
    }
    print(
        json.dumps(
            {
                "receipt": hashlib.sha256(result.receipt_bytes).hexdigest(),
                "receipt_bytes": len(result.receipt_bytes),
                "verdicts": verdicts,
                "peak_over_max_bytes": max(peaks) / MAX_BYTES,
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
