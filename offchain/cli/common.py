"""What every command shares: settings, output, and turning errors into exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from offchain.config import Settings, load_settings

console = Console()
err_console = Console(stderr=True)

EXIT_USER_ERROR = 1  # a DflError: a message says what to do
EXIT_USAGE = 2  # typer/click: bad options


def settings(**overrides: object) -> Settings:
    return load_settings(**overrides)


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2) + "\n")
