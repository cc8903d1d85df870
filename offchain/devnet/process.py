"""Background processes we start and stop by pid: is a recorded pid still ours, and how to stop it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def alive(pid: int, marker: str) -> bool:
    """Alive, not a zombie, and still the program we started (pids are reused)."""
    try:
        os.kill(pid, 0)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return marker in cmdline and not _is_zombie(pid)


def terminate(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reap it if it is our child.

    Services are started as session leaders, so the whole process group is signalled: anvil's
    npm launcher and the binary it runs stop together, never leaving an orphan behind."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                pass  # not our child: poll until it is gone
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return
            time.sleep(0.05)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
