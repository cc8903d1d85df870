"""Explorer speed: a 20-round task with 10 trainers, then every page's render time, and the time
to index 10,000 blocks from scratch. Prints numbers; exits 1 if a target is missed.

    .venv/bin/python bench/explorer_bench.py [--rounds 20 --trainers 10 --validators 3 --empty-blocks 10000]

The load is made cheaply: the contracts are driven directly with anvil accounts and tiny fake
update CIDs (tests/explorer/scripted.py), on a private anvil that mines on every transaction,
and the empty blocks come from `anvil_mine`. Needs `make setup` (compiled contracts).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))

import requests  # noqa: E402
import uvicorn  # noqa: E402
from explorer.scripted import ScriptedTask, fund, run_task  # noqa: E402

from offchain.chain.accounts import anvil_account  # noqa: E402
from offchain.chain.artifacts import load_deployment  # noqa: E402
from offchain.chain.blocks import ChainReader  # noqa: E402
from offchain.chain.deploy import deploy  # noqa: E402
from offchain.devnet.services import DevServices  # noqa: E402
from offchain.explorer.app import create_app  # noqa: E402
from offchain.explorer.db import Database  # noqa: E402
from offchain.explorer.indexer import Indexer  # noqa: E402
from offchain.storage.ipfs import IpfsStore  # noqa: E402
from support import BUILD_DIR, free_port, free_ports  # noqa: E402

PAGE_TARGET_MS = 200.0
INDEX_TARGET_S = 60.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--trainers", type=int, default=10)
    ap.add_argument("--validators", type=int, default=3)
    ap.add_argument("--empty-blocks", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5, help="timed requests per page (after one warm-up)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    services = DevServices(work / "state", free_ports(), block_time=None)
    services.up()
    try:
        return run(args, work, services)
    finally:
        services.down()


def run(args: argparse.Namespace, work: Path, services: DevServices) -> int:
    rpc, api = f"http://127.0.0.1:{services.ports.rpc}", f"http://127.0.0.1:{services.ports.ipfs_api}"
    deployments = work / "deployments"
    deploy(rpc, anvil_account(0), build_dir=BUILD_DIR, deployments_dir=deployments)
    fund(rpc, deployments, range(1, 1 + args.trainers + args.validators))
    started = time.monotonic()
    with IpfsStore(api) as store:
        task = run_task(rpc, deployments, store, trainers=args.trainers, validators=args.validators, rounds=args.rounds)
        deployment = load_deployment(deployments, 31337, BUILD_DIR)
        reader = ChainReader(rpc, deployment)
        task_blocks = reader.head() - deployment.block + 1
        print(
            f"load: task {task.task_id}, {args.rounds} rounds x {args.trainers} trainers + {args.validators} validators "
            f"in {time.monotonic() - started:.1f}s ({task_blocks} blocks with transactions)"
        )
        t0 = time.monotonic()
        for done in range(0, args.empty_blocks, 500):  # in chunks: one big anvil_mine outlasts an HTTP timeout
            requests.post(
                rpc,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "anvil_mine",
                    "params": [hex(min(500, args.empty_blocks - done))],
                },
                timeout=300,
            ).raise_for_status()
        print(f"load: mined {args.empty_blocks} empty blocks in {time.monotonic() - t0:.1f}s")
        head = reader.head()

        db_path = work / "explorer.sqlite"
        indexer = Indexer(Database(db_path), reader, store=store)
        t0 = time.monotonic()
        indexer.sync_once()
        index_s = time.monotonic() - t0
        blocks = head - deployment.block + 1
        events = indexer.db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        txs = indexer.db.conn.execute("SELECT COUNT(*) FROM txs").fetchone()[0]
        indexer.db.close()
    print(
        f"index: {blocks} blocks ({events} events, {txs} transactions, {args.empty_blocks} empty blocks) in {index_s:.2f}s "
        f"= {blocks / index_s:.0f} blocks/s; 10,000 blocks in {10_000 * index_s / blocks:.2f}s (target < {INDEX_TARGET_S:.0f}s)"
    )

    pages = _pages(task, head)
    results = _time_pages(db_path, pages, args.repeat)
    print(f"\n{'page':58} {'html median':>12} {'html max':>9} {'json median':>12} {'json max':>9}")
    worst = 0.0
    for path, (html, js) in results.items():
        worst = max(worst, max(html), max(js))
        print(
            f"{path:58} {statistics.median(html):10.1f}ms {max(html):7.1f}ms {statistics.median(js):10.1f}ms {max(js):7.1f}ms"
        )
    index_ok = 10_000 * index_s / blocks < INDEX_TARGET_S
    pages_ok = worst < PAGE_TARGET_MS
    print(f"\nslowest page request: {worst:.1f}ms (target < {PAGE_TARGET_MS:.0f}ms): {'PASS' if pages_ok else 'FAIL'}")
    print(
        f"indexing 10,000 blocks: {10_000 * index_s / blocks:.2f}s (target < {INDEX_TARGET_S:.0f}s): {'PASS' if index_ok else 'FAIL'}"
    )
    return 0 if pages_ok and index_ok else 1


def _pages(task: ScriptedTask, head: int) -> list[str]:
    t = task.task_id
    claim = next(iter(task.claims.values()))
    return [
        "/",
        "/tasks",
        f"/tasks/{t}",
        f"/tasks/{t}/rounds/0",
        f"/tasks/{t}/rounds/{len(task.receipts) - 1}",
        f"/accounts/{task.trainers[0]}",
        f"/accounts/{task.validators[0]}",
        f"/accounts/{task.requester}",
        "/blocks",
        f"/blocks/{head}",
        f"/tx/{claim}",
        f"/search?q={task.receipts[0]}",
    ]


def _time_pages(db_path: Path, pages: list[str], repeat: int) -> dict[str, tuple[list[float], list[float]]]:
    """Real HTTP to a uvicorn server on a free port; times in ms per request."""
    app = create_app(db_path)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, tuple[list[float], list[float]]] = {}
    try:
        with requests.Session() as http:
            for path in pages:
                api = "/api/home" if path == "/" else "/api" + path
                timings: tuple[list[float], list[float]] = ([], [])
                for url, out in ((base + path, timings[0]), (base + api, timings[1])):
                    http.get(url, timeout=30)  # warm-up
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        response = http.get(url, timeout=30)
                        out.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, (url, response.status_code)
                results[path] = timings
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return results


if __name__ == "__main__":
    sys.exit(main())
