"""`dfl explorer`: index the protocol's contracts into SQLite and serve the block explorer."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Annotated

import typer

from offchain.cli.common import console, settings, setup_logging
from offchain.errors import ArgumentError, ConfigError

DEVNET_CHAIN_IDS = (31337, 1337)


def explorer(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: Annotated[
        Path | None, typer.Option(help="SQLite database (default: <state dir>/explorer/<chain id>.sqlite).")
    ] = None,
    confirmations: Annotated[
        int | None, typer.Option(help="Blocks to wait before indexing a block (default: 0 on a devnet, else 12).")
    ] = None,
    poll: Annotated[float, typer.Option(help="Seconds between polls of the chain head.")] = 1.0,
    batch: Annotated[int, typer.Option(help="Blocks per eth_getLogs range while catching up.")] = 2_000,
    index: Annotated[
        bool,
        typer.Option("--index/--no-index", help="Index in the background (--no-index: serve the database as it is)."),
    ] = True,
    stop: Annotated[
        bool,
        typer.Option("--stop", help="Stop the background explorer `dfl demo` started for this state dir, and exit."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve the block explorer (tasks, rounds, accounts, blocks, transactions; JSON under /api)
    while indexing the chain in the background of the same process."""
    import uvicorn

    from offchain.chain.artifacts import load_deployment
    from offchain.explorer import background
    from offchain.explorer.app import create_app
    from offchain.explorer.indexer import FollowConfig, follow

    setup_logging(verbose)
    s = settings()
    if stop:
        stopped = background.stop(s.state_dir)
        console.print("explorer stopped" if stopped else "no background explorer is running for this state dir")
        return
    if index:
        load_deployment(s.deployments_dir, s.chain_id, s.build_dir)  # a clear message now rather than a retry loop
    db_path = db or s.state_dir / "explorer" / f"{s.chain_id}.sqlite"
    depth = confirmations if confirmations is not None else (0 if s.chain_id in DEVNET_CHAIN_IDS else 12)
    if depth < 0 or batch < 1 or poll <= 0:
        raise ArgumentError("--confirmations must be >= 0, --batch >= 1 and --poll > 0")
    _check_port(host, port)
    config = FollowConfig(
        rpc_url=s.rpc_url,
        chain_id=s.chain_id,
        deployments_dir=s.deployments_dir,
        build_dir=s.build_dir,
        ipfs_api=s.ipfs_api,
        ipfs_timeout=min(s.ipfs_timeout, 10.0),
        confirmations=depth,
        poll_seconds=poll,
        batch_blocks=batch,
    )
    app = create_app(
        db_path,
        gateway=s.ipfs_gateway,
        indexer=(lambda stop_event, status: follow(db_path, config, stop_event, status)) if index else None,
    )
    console.print(
        f"explorer: http://{host}:{port} (chain {s.chain_id} at {s.rpc_url}, {depth} confirmations, database {db_path})",
        highlight=False,
    )
    logging.getLogger("uvicorn.access").setLevel(logging.DEBUG if verbose else logging.WARNING)
    uvicorn.run(app, host=host, port=port, log_level="info" if verbose else "warning")


def _check_port(host: str, port: int) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}): is an explorer already running? Choose another --port"
            ) from None
