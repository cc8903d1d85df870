"""Entry point of `dfl`. Every failure a user meets is one line on stderr and a non-zero exit
code, never a traceback: 1 for a DflError (the message says what to do), 2 for options the
parser refuses, 130 for Ctrl-C, 70 for a bug (a foreign exception nothing translated)."""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence

import typer
from rich.markup import escape
from typer._click import exceptions as click_errors  # typer >= 0.22 vendors click: these are its classes

from offchain.cli import chain_cmds, demo, explorer, lifecycle, model, node, task, workers
from offchain.cli.common import EXIT_USER_ERROR, err_console, quiet_retries
from offchain.errors import DflError

EXIT_INTERRUPTED = 130
EXIT_BUG = 70  # EX_SOFTWARE
DEBUG_ENV = "DFL_DEBUG"  # set to 1 to see the traceback of an unexpected error

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
app.command()(lifecycle.stake)
app.command("exit")(lifecycle.exit_task)
app.command()(lifecycle.withdraw)
task.app.command("reclaim")(lifecycle.reclaim)
chain_cmds.round_app.command("finalize")(lifecycle.finalize)
chain_cmds.round_app.command("slash")(lifecycle.slash)
chain_cmds.round_app.command("penalize")(lifecycle.penalize)
app.command()(demo.demo)
app.command()(explorer.explorer)
app.add_typer(model.app, name="model")
app.command()(model.predict)
app.command()(workers.trainer)
app.command()(workers.validator)


def _say(message: str) -> None:
    err_console.print(f"[red]error:[/] {escape(message)}", highlight=False)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (printing the one-line error, if any)."""
    quiet_retries()
    try:
        code = app(args=list(argv) if argv is not None else None, prog_name="dfl", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # `dfl task`: the group's help (printed already), as before
        exc.show()
        return exc.exit_code
    except click_errors.UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        _say(f"{exc.format_message()}{hint}")
        return exc.exit_code
    except click_errors.ClickException as exc:
        _say(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        _say("aborted")
        return EXIT_USER_ERROR
    except DflError as exc:
        _say(str(exc))
        return int(getattr(exc, "exit_code", EXIT_USER_ERROR))
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        _say(
            f"unexpected {type(exc).__name__}: {exc} (a bug in dfl: please report it with the command you ran; "
            f"{DEBUG_ENV}=1 shows the traceback)"
        )
        return EXIT_BUG
    if code == EXIT_INTERRUPTED:  # Ctrl-C: typer turned the KeyboardInterrupt into this exit code
        _say("interrupted")
    return code if isinstance(code, int) else 0


def main() -> None:
    # ipfshttpclient 0.7 (unmaintained) passes a parameter urllib3 2 ignores; not the user's concern.
    warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)
    sys.exit(run())


if __name__ == "__main__":
    main()
