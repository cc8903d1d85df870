"""A real `node ipfs-node/server.mjs` process for the IPFS dev node tests (conftest.py's fixtures).

Every node listens on OS-chosen ports (`--api 127.0.0.1:0 --gateway 127.0.0.1:0`), so the
suite never collides with a developer's node on 5001/8080; its addresses come from the
READY line. Nodes are stopped by pid at teardown.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
NODE22 = ROOT / "node_modules" / ".bin" / "node"
SERVER = ROOT / "ipfs-node" / "server.mjs"
READY_RE = re.compile(r"^READY api=(http://\S+) gateway=(http://\S+)$")


class DevNode:
    """One running dev node process on a repo directory."""

    def __init__(self, repo: Path, log_path: Path, extra_args: tuple[str, ...] = ()) -> None:
        self.repo = repo
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.session = requests.Session()
        self.proc = subprocess.Popen(
            [
                str(NODE22),
                str(SERVER),
                "--repo",
                str(repo),
                "--api",
                "127.0.0.1:0",
                "--gateway",
                "127.0.0.1:0",
                *extra_args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        self.api, self.gateway = self._wait_ready(timeout=20.0)

    def _wait_ready(self, timeout: float) -> tuple[str, str]:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sel.select(timeout=0.1):
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                if b"\n" in buf:
                    line = buf.split(b"\n", 1)[0].decode()
                    m = READY_RE.match(line)
                    assert m, f"unexpected first stdout line: {line!r}"
                    return m.group(1), m.group(2)
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"dev node did not print READY; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    @property
    def api_port(self) -> int:
        return int(self.api.rsplit(":", 1)[1])

    def rpc(self, path: str, params: Any = None, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.post(f"{self.api}/api/v0/{path}", params=params, **kw)

    def add(self, data: bytes, name: str = "blob.bin", /, **params: Any) -> dict[str, Any]:
        """`ipfs add` of one file; `params` are the RPC's (`**{"cid-version": 1}`), `name` never one."""
        r = self.rpc("add", params, files={"file": (name, data)})
        assert r.status_code == 200, r.text
        lines = [json.loads(line) for line in r.text.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        return lines[0]

    def cat(self, arg: str, **params: Any) -> bytes:
        r = self.rpc("cat", {"arg": arg, **params})
        assert r.status_code == 200, r.text
        return r.content

    def alive(self) -> bool:
        try:
            return self.rpc("version", timeout=5).json()["Version"] == "0.38.0"
        except (requests.RequestException, ValueError):
            return False

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()
        self.session.close()
        return self.proc.returncode


def assert_kubo_error(r: requests.Response, status: int = 500, code: int = 0, contains: str = "") -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"Message", "Code", "Type"}, body
    assert body["Type"] == "error" and body["Code"] == code, body
    assert contains in body["Message"], body
    return body
