"""Gas and scale into reports/scale.json: the contract owner's gas report (reports/gas.json,
`make gas`) as it stands, one 1,000-trainer round on anvil (bench/scale_chain.py), and
aggregation of N updates of 1M parameters (bench/scale_aggregate.py).

    .venv/bin/python -m bench.scale                       # everything (Multi-Krum at N=1000 alone takes tens of minutes)
    .venv/bin/python -m bench.scale --skip-chain --sizes 10,100
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench import scale_aggregate, scale_chain
from bench.common import REPORTS, machine, say, write_report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--trainers", type=int, default=1000)
    p.add_argument("--skip-chain", action="store_true")
    p.add_argument("--skip-aggregation", action="store_true")
    p.add_argument("--out", default="scale.json")
    p.add_argument("--timeout", type=float, default=4500.0, help="seconds allowed per aggregation measurement")
    a = p.parse_args()
    previous = REPORTS / a.out
    report = json.loads(previous.read_text()) if previous.exists() else {}
    gas_path = REPORTS / "gas.json"
    report["gas_report"] = {
        "source": "reports/gas.json (make gas, owned by the contracts' authors)",
        "values": json.loads(gas_path.read_text()) if gas_path.exists() else None,
    }
    report["machine"] = machine()
    if not a.skip_chain:
        say(f"scale: one round with {a.trainers} trainers on anvil")
        started = time.time()
        report["chain_round"] = scale_chain.run(a.trainers, Path(tempfile.mkdtemp(prefix="dfl-scale-chain-")))
        report["chain_round"]["wall_seconds"] = time.time() - started
        c = report["chain_round"]
        say(
            f"scale: commits {c['commits']['per_second']:.0f}/s, reveals {c['reveals']['per_second']:.0f}/s, "
            f"round gas {c['round_gas_total']:,}, finalize gas {c['finalize_gas']:,}, finalized {c['finalized']}"
        )
    if not a.skip_aggregation:
        say("scale: aggregation of N updates of 1M parameters")
        report["aggregation"] = scale_aggregate.run(
            [int(s) for s in a.sizes.split(",")], list(scale_aggregate.RULES), timeout=a.timeout
        )
    write_report(a.out, report)
    say(f"wrote {REPORTS / a.out}")


if __name__ == "__main__":
    main()
