"""Aggregation at scale: N updates of 1M float32 parameters (4 MB each) for N in 10, 100, 1000.

For each (rule, N), a fresh subprocess reads the N update files, decodes and screens them
(the validator's `offchain.fl.screening.screen`) and aggregates with `offchain.fl.rules.aggregate`,
reporting seconds and peak RSS; a baseline subprocess only reads the same bytes once.
The files are written just before, so reads come from the page cache: "read once" is the
floor of any aggregation that must touch every byte, not a disk benchmark.

    .venv/bin/python -m bench.scale_aggregate --sizes 10,100,1000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PARAMS = 1_000_000
NAME = "0000/dense/kernel"
RULES = {
    "fedavg": (0, [0]),
    "median": (1, []),
    "trimmed_mean": (2, [2000]),
    "multi_krum": (3, [3, 5]),
    "norm_clipped_fedavg": (4, [1_000_000, 0]),
}


def write_updates(folder: Path, n: int, *, seed: int = 0) -> None:
    from offchain.fl.codec import encode_weights

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(PARAMS, dtype=np.float32)
    (folder / "global.st").write_bytes(encode_weights({NAME: base}))
    for i in range(n):
        path = folder / f"update-{i:04d}.st"
        if not path.exists():
            delta = np.random.default_rng(seed + 1 + i).standard_normal(PARAMS, dtype=np.float32) * np.float32(0.01)
            path.write_bytes(encode_weights({NAME: base + delta}))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(folder: Path, n: int, rule: str) -> dict[str, Any]:
    """Runs in its own process so peak RSS belongs to this one measurement."""
    files = [folder / f"update-{i:04d}.st" for i in range(n)]
    if rule == "read":
        started, total = time.perf_counter(), 0
        for path in files:
            total += len(path.read_bytes())
        return {"seconds": time.perf_counter() - started, "bytes": total, "peak_rss_mib": _peak_rss_mib()}
    from offchain.fl.codec import decode_weights
    from offchain.fl.rules import Contribution, aggregate, parse_rule, sample_weight
    from offchain.fl.screening import Checks, Screened, screen
    from offchain.types import TensorSpec

    specs = (TensorSpec(NAME, (PARAMS,)),)
    limit = 16 << 20
    global_weights = decode_weights((folder / "global.st").read_bytes(), specs, limit)
    started = time.perf_counter()
    config = parse_rule(*RULES[rule])
    checks = Checks(specs, limit, 0)
    accepted = []
    for i, path in enumerate(files):
        screened = screen(f"0x{i + 1:040x}", 100 + i, path.read_bytes(), global_weights, checks)
        assert isinstance(screened, Screened), screened
        u = screened.update
        accepted.append(Contribution(u, screened.sq_delta_norm, 1, sample_weight(config, u.num_samples)))
    decoded = time.perf_counter()
    result = aggregate(global_weights, accepted, config)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "read_decode_seconds": decoded - started,
        "aggregate_seconds": done - decoded,
        "accepted": len(accepted) - len(result.excluded),
        "peak_rss_mib": _peak_rss_mib(),
    }


def measure(folder: Path, n: int, rule: str, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.scale_aggregate", "--child", rule, "--n", str(n), "--dir", str(folder)]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=Path(__file__).resolve().parent.parent
        )
    except subprocess.TimeoutExpired:
        return {"skipped": f"did not finish within {timeout:.0f}s"}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes: list[int], rules: list[str], *, folder: Path | None = None, timeout: float = 900.0) -> dict[str, Any]:
    own = folder is None
    folder = folder or Path(tempfile.mkdtemp(prefix="dfl-scale-"))
    results: dict[str, Any] = {"parameters": PARAMS, "update_bytes": PARAMS * 4, "runs": []}
    try:
        for n in sorted(sizes):
            write_updates(folder, n)
            read = measure(folder, n, "read", timeout)
            print(
                f"N={n:5d} read once: {read.get('seconds', float('nan')):.2f}s, peak RSS {read.get('peak_rss_mib', 0):.0f} MiB",
                flush=True,
            )
            for rule in rules:
                m = measure(folder, n, rule, timeout)
                if "seconds" in m and read.get("seconds"):
                    m["over_read_once"] = m["seconds"] / read["seconds"]
                results["runs"].append(
                    {
                        "n": n,
                        "rule": rule,
                        **m,
                        "read_once_seconds": read.get("seconds"),
                        "read_once_peak_rss_mib": read.get("peak_rss_mib"),
                    }
                )
                shown = (
                    f"{m['seconds']:.2f}s ({m.get('over_read_once', 0):.0f}x read), peak RSS {m['peak_rss_mib']:.0f} MiB"
                    if "seconds" in m
                    else str(m)
                )
                print(f"N={n:5d} {rule:20s} {shown}", flush=True)
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--rules", default=",".join(RULES))
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=None, help="write the JSON here too")
    a = p.parse_args()
    if a.child:
        print(json.dumps(_child(a.dir, a.n, a.child)))
        return
    result = run([int(s) for s in a.sizes.split(",")], a.rules.split(","), folder=a.dir)
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
