"""`dfl node up|status|down`: the local chain and IPFS dev node in the background."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from offchain.cli.common import console, print_json, settings
from offchain.devnet.services import DevServices, Ports, ServiceStatus

app = typer.Typer(help="Start, inspect and stop the local devnet (anvil) and IPFS dev node.", no_args_is_help=True)

HostOpt = Annotated[str, typer.Option(help="Address all services listen on.")]
RpcPort = Annotated[int, typer.Option(help="anvil JSON-RPC port.")]
ApiPort = Annotated[int, typer.Option(help="IPFS dev node kubo-RPC API port.")]
GatewayPort = Annotated[int, typer.Option(help="IPFS dev node gateway port.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _services(
    host: str = "127.0.0.1",
    rpc_port: int = 8545,
    ipfs_api_port: int = 5001,
    gateway_port: int = 8080,
    block_time: float | None = None,
) -> DevServices:
    s = settings()
    return DevServices(
        s.state_dir, Ports(host, rpc_port, ipfs_api_port, gateway_port), chain_id=s.chain_id, block_time=block_time
    )


def _show(statuses: list[ServiceStatus], as_json: bool) -> None:
    if as_json:
        print_json({"services": statuses})
        return
    table = Table("service", "state", "pid", "address", "log")
    for st in statuses:
        address = st.url or "-"
        if st.extra.get("gateway"):
            address += f"\ngateway {st.extra['gateway']}"
        table.add_row(
            st.name,
            "[green]running[/]" if st.running else "[red]stopped[/]",
            str(st.pid or "-"),
            address,
            st.log or "-",
        )
    console.print(table)


@app.command()
def up(
    host: HostOpt = "127.0.0.1",
    rpc_port: RpcPort = 8545,
    ipfs_api_port: ApiPort = 5001,
    gateway_port: GatewayPort = 8080,
    block_time: Annotated[
        float,
        typer.Option(
            help="Seconds between blocks (0: mine only on each transaction). Phase deadlines need time to pass, so keep it > 0."
        ),
    ] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Start anvil (chain id 31337, the standard test accounts) and the IPFS dev node; wait until both answer.

    Services already running from this state directory are left alone."""
    services = _services(host, rpc_port, ipfs_api_port, gateway_port, block_time or None)
    before = {s.name for s in services.status() if s.running}
    statuses = services.up()
    if not as_json:
        for st in statuses:
            verb = "already running" if st.name in before else "started"
            console.print(f"{st.name}: {verb} (pid {st.pid}) at {st.url}")
    _show(statuses, as_json)


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Show whether the dev services are running, their pids, addresses and logs. Exit code 3 if any is stopped."""
    statuses = _services().status()
    _show(statuses, as_json)
    if not all(st.running for st in statuses):
        raise typer.Exit(3)


@app.command()
def down(as_json: JsonOpt = False) -> None:
    """Stop exactly the processes `dfl node up` (and `dfl demo`'s explorer) started, by their recorded pids."""
    from offchain.explorer import background

    services = _services()
    stopped = (["explorer"] if background.stop(services.state_dir) else []) + services.down()
    if as_json:
        print_json({"stopped": stopped})
    else:
        console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
