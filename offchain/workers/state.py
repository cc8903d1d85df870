"""Crash-safe local progress of one worker: salts, CIDs and what was sent, per round.

Written atomically (temp file, fsync, rename) *before* each transaction, so a
process killed at any point and restarted knows what it committed and can
reveal it, and re-checks the chain before sending anything twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from offchain.errors import DflError


class StateError(DflError):
    """The local state file is unreadable."""


class WorkerState:
    def __init__(self, root: Path, *, chain_id: int, task_id: int, role: str, account: str) -> None:
        self.path = Path(root) / "workers" / str(chain_id) / f"task-{task_id}" / f"{role}-{account.lower()}.json"
        self._data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"rounds": {}}
        except (OSError, ValueError) as exc:
            raise StateError(
                f"worker state {self.path} is unreadable ({exc}); move it aside only if you accept losing unrevealed commits"
            ) from exc
        return data

    def round(self, round_id: int) -> dict[str, Any]:
        """The mutable record of one round (call `save()` after changing it)."""
        record: dict[str, Any] = self._data["rounds"].setdefault(str(round_id), {})
        return record

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._data[key] = value

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".state-")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self._data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
