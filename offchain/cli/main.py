"""Entry point of `dfl`. User mistakes become a one-line message and exit code 1, never a traceback."""

from __future__ import annotations

import sys
import warnings

import typer

from offchain.cli import chain_cmds, demo, explorer, model, node, task, workers
from offchain.cli.common import EXIT_USER_ERROR, err_console
from offchain.errors import DflError

app = typer.Typer(
    help="Decentralized federated learning on Ethereum: devnet, tasks, trainers, validators, rewards.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(node.app, name="node")
app.add_typer(task.app, name="task")
app.add_typer(chain_cmds.round_app, name="round")
app.add_typer(chain_cmds.rewards_app, name="rewards")
app.command()(chain_cmds.deploy)
app.command()(chain_cmds.stake)
app.command()(demo.demo)
app.command()(explorer.explorer)
app.add_typer(model.app, name="model")
app.command()(model.predict)
app.command()(workers.trainer)
app.command()(workers.validator)


def main() -> None:
    # ipfshttpclient 0.7 (unmaintained) passes a parameter urllib3 2 ignores; not the user's concern.
    warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)
    try:
        app()
    except DflError as exc:
        err_console.print(f"[red]error:[/] {exc}")
        sys.exit(EXIT_USER_ERROR)


if __name__ == "__main__":
    main()
