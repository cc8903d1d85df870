"""Start-up hook of the checkout's virtualenv: `make setup` copies this file into `.venv`'s
site-packages with a `dfl_venv.pth` that imports it, so it runs at every start of the venv's
Python (`brownie`, `dfl`, `python`, `pytest`), activated or not.

With nothing but the venv, Brownie then works as a Brownie user expects:

- `SOLCX_BINARY_PATH` points at the checkout's offline solc front (`.solcx/solc-v0.8.37`), where
  py-solc-x looks for compilers (unless already set): `brownie compile` needs no network;
- the checkout's `node_modules/.bin` (anvil, forge, cast, Node 22) is on `PATH`: `brownie test`
  and `brownie run` start anvil from there;
- `brownie run scripts/deploy.py` works wherever the checkout lives. Brownie imports a script
  by its absolute path joined with dots (`/tmp/tmp.x1/dfl/scripts/deploy.py` becomes module
  `tmp.tmp.x1.dfl.scripts.deploy`, with `/` put on `sys.path`), which breaks when a directory
  above the checkout has a dot in its name (`mktemp -d` makes such names). A finder consulted
  only after the normal ones, and only while `/` is on `sys.path`, maps such a dotted name back
  to the directory or file it came from.

Nothing here changes a normal import: the finder only answers names no other finder found.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(sys.prefix).resolve().parent  # the venv is <checkout>/.venv


def _environment() -> None:
    solcx = ROOT / ".solcx"
    if solcx.is_dir():
        os.environ.setdefault("SOLCX_BINARY_PATH", str(solcx))
    node_bin = ROOT / "node_modules" / ".bin"
    path = os.environ.get("PATH", "")
    if node_bin.is_dir() and str(node_bin) not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([p for p in (str(node_bin), path) if p])  # as the Makefile does


def _resolve(directory: Path, parts: list[str]) -> tuple[str, Path | None] | None:
    """What the module name `parts` means under `directory` when dots may be part of file names:
    ("module", file), ("package", dir), ("prefix", None) for the start of a dotted name, or None."""
    for k in range(1, len(parts) + 1):
        name, rest = ".".join(parts[:k]), parts[k:]
        target = directory / name
        if rest:
            if target.is_dir():
                found = _resolve(target, rest)
                if found:
                    return found
            continue
        if (directory / f"{name}.py").is_file():
            return "module", directory / f"{name}.py"
        if target.is_dir():
            return "package", target
        try:
            if any(entry.startswith(f"{name}.") for entry in os.listdir(directory)):
                return "prefix", None
        except OSError:
            return None
    return None


class DottedPathFinder(importlib.abc.MetaPathFinder):
    """Finds `a.b.c.scripts.x` at `/a.b/c/scripts/x.py` (and the packages on the way) while `/` is on sys.path."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        root = os.path.abspath(os.sep)
        if root not in sys.path:
            return None
        found = _resolve(Path(root), fullname.split("."))
        if found is None:
            return None
        kind, where = found
        if kind == "module":
            return importlib.util.spec_from_file_location(fullname, where)
        spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = [str(where)] if where is not None else []
        return spec


def install() -> None:
    _environment()
    if not any(isinstance(finder, DottedPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(DottedPathFinder())


install()
