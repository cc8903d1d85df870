"""Settings, read once into a frozen object and passed in.

Sources, later wins: built-in defaults (the local devnet and IPFS dev node), a
TOML config file (`$DFL_CONFIG`, else `./dfl.toml`, else `~/.dfl/config.toml`),
then `DFL_*` environment variables. Secrets (private keys, keystore passwords)
are never part of Settings: they are read from the environment where used.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from offchain.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = 31337
    ipfs_api: str = "http://127.0.0.1:5001"
    ipfs_gateway: str = "http://127.0.0.1:8080"
    ipfs_timeout: float = 30.0
    state_dir: Path = Path.home() / ".dfl"
    keystore: Path | None = None
    deployments_dir: Path = PROJECT_ROOT / "deployments"
    build_dir: Path = PROJECT_ROOT / "build"
    tf_threads: int = 0  # TensorFlow threads per worker process; 0 = TensorFlow's default (one per core)


_ENV_PREFIX = "DFL_"


def _coerce(name: str, raw: Any) -> Any:
    """`raw` (from TOML, the environment or a caller) as the type of field `name`.

    Both sides are Any: `raw` is unvalidated (int() and float() reject what they cannot convert),
    and the result's type depends on `name`.
    """
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind in ("Path", "Path | None"):
            return Path(str(raw)).expanduser() if raw not in (None, "") else None
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r} must be {kind}, got {raw!r}") from exc


def _config_file(env: Mapping[str, str]) -> Path | None:
    if "DFL_CONFIG" in env:
        path = Path(env["DFL_CONFIG"]).expanduser()
        if not path.is_file():
            raise ConfigError(f"DFL_CONFIG points at {path}, which is not a file")
        return path
    for candidate in (Path.cwd() / "dfl.toml", Path.home() / ".dfl" / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Defaults, then the config file, then DFL_* variables, then explicit overrides."""
    env = os.environ if env is None else env
    known = {f.name for f in fields(Settings)}
    values: dict[str, object] = {}
    path = _config_file(env)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown setting(s) {sorted(unknown)} in {path}; known: {sorted(known)}")
        values.update(data)
    for name in known:
        key = _ENV_PREFIX + name.upper()
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **{k: _coerce(k, v) for k, v in values.items()})
