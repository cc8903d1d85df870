"""`dfl demo` end to end with a tiny configuration, the read commands on its task, and the
mistakes a user makes, each answered with a message and exit code 1 instead of a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from support import DevnetDeployment, free_port

DFL = [sys.executable, "-m", "offchain.cli.main"]


def _dfl(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DFL, *args], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def demo(protocol: DevnetDeployment, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, str], Path]:
    out = tmp_path_factory.mktemp("demo")
    env = protocol.env() | {"DFL_DEPLOYMENTS_DIR": str(out / "deployments"), "DFL_STATE_DIR": str(out / "state")}
    result = _dfl(
        env,
        "demo",
        "--dataset",
        "digits",
        "--trainers",
        "2",
        "--validators",
        "2",
        "--rounds",
        "2",
        "--registration",
        "8",
        "--tf-threads",
        "1",
        "--no-explorer",
        "--json",
        str(out / "summary.json"),
        "--plot",
        str(out / "demo.png"),
        "--workdir",
        str(out / "work"),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((out / "summary.json").read_text()), env, out


@pytest.mark.slow
def test_demo_json_every_round_finalized_accuracy_rises_claims_match_supply_conserved(
    demo: tuple[dict, dict[str, str], Path],
) -> None:
    summary, _, out = demo
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    assert all(r["status"] in ("accepted", "rejected", "failed") for r in summary["rounds"])
    assert all(r["status"] == "accepted" for r in summary["rounds"])
    assert summary["final_accuracy"] > summary["initial_accuracy"]
    for p in summary["participants"]:
        assert p["reward_claimed"] == p["reward_earned"] > 0, p
        assert p["slashed"] == 0
    assert {p["role"] for p in summary["participants"]} == {"trainer", "validator"}
    assert summary["tokens_held"] == summary["token_supply"]
    trainer_paid = sum(p["reward_claimed"] for p in summary["participants"] if p["role"] == "trainer")
    assert trainer_paid == sum(r["trainer_rewards_allocated"] for r in summary["rounds"])
    assert (out / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    logs = sorted((out / "work" / "logs").glob("*.log"))
    assert len(logs) == 4 and all(
        "TensorFlow threads: 1" in log.read_text() for log in logs
    )  # --tf-threads reached each worker
    texts = {log.stem: log.read_text() for log in logs}
    # Round 0's validator rewards are restaked when round 1's votes are committed: each validator says so.
    assert all("reward of round 0 restaked" in texts[f"validator-{i}"] for i in (0, 1)), texts
    assert not any("oneDNN" in text or "absl::InitializeLog" in text for text in texts.values())


@pytest.mark.slow
def test_read_commands_show_the_demo_task(demo: tuple[dict, dict[str, str], Path]) -> None:
    summary, env, _ = demo
    task = str(summary["task"])
    listed = _json(env, "task", "list")["tasks"]
    assert [t["task"] for t in listed] == [summary["task"]] and listed[0]["phase"] == "completed"
    shown = _json(env, "task", "show", task)
    assert [r["status"] for r in shown["rounds"]] == ["accepted", "accepted"]
    receipt = _json(env, "round", "show", task, "0")
    assert receipt["accepted"] == 2 and all(u["cid"] and u["claimed"] for u in receipt["updates"])
    assert {v["vote"] for v in receipt["votes"]} == {receipt["receipt_cid"]}
    shown_round = _dfl(env | {"COLUMNS": "400"}, "round", "show", task, "0")  # wide enough not to wrap
    header = next(line for line in shown_round.stdout.splitlines() if "update CID" in line)
    assert "reward score" in header and "why" in header
    for u in receipt["updates"]:
        row = next(line for line in shown_round.stdout.splitlines() if u["trainer"] in line)
        assert f"{u['score_ppm'] / 1e6:.3f}" in row and f"{u['reward_ppm'] / 1e6:.3f}" in row
    rewards = _json(env, "rewards", "show", "--task", task)["participants"]
    assert sorted(r["reward_claimed"] for r in rewards) == sorted(p["reward_claimed"] for p in summary["participants"])


def _json(env: dict[str, str], *args: str) -> dict:
    result = _dfl(env, *args, "--json")
    assert result.returncode == 0, f"dfl {' '.join(args)}: {result.stderr[-2000:]}"
    return json.loads(result.stdout)


def _error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.slow
def test_unknown_task_and_wrong_phase_are_clear_errors(demo: tuple[dict, dict[str, str], Path]) -> None:
    summary, env, _ = demo
    assert "no task 999" in _error(_dfl(env, "task", "show", "999"))
    late = _error(
        _dfl(env, "stake", "--task", str(summary["task"]), "--role", "trainer", "--amount", "10", "--dev-account", "9")
    )
    assert f"task {summary['task']} is completed" in late  # checked before any approval or transaction


def test_no_chain_running_says_what_to_do(protocol: DevnetDeployment) -> None:
    env = protocol.env() | {"DFL_RPC_URL": f"http://127.0.0.1:{free_port()}"}
    message = _error(_dfl(env, "task", "list"))
    assert "did not answer" in message and "dfl node up" in message


def test_no_deployment_says_to_deploy(protocol: DevnetDeployment, tmp_path: Path) -> None:
    env = protocol.env() | {"DFL_DEPLOYMENTS_DIR": str(tmp_path)}
    assert "dfl deploy" in _error(_dfl(env, "task", "list"))


def test_wrong_keystore_password_is_refused(protocol: DevnetDeployment, tmp_path: Path) -> None:
    keystore = tmp_path / "key.json"
    keystore.write_text(json.dumps(Account.encrypt(Account.create().key, "right password")))
    env = protocol.env() | {"DFL_KEYSTORE_PASSWORD": "wrong password"}
    message = _error(
        _dfl(env, "stake", "--task", "1", "--role", "trainer", "--amount", "1", "--keystore", str(keystore))
    )
    assert "cannot decrypt keystore" in message and "wrong password" in message
    assert "right password" not in message


@pytest.mark.slow
def test_model_pull_verifies_lineage_and_predict_reproduces_the_reported_accuracy(
    demo: tuple[dict, dict[str, str], Path], tmp_path: Path
) -> None:
    import numpy as np

    from offchain.ml.datasets import load_dataset

    summary, env, _ = demo
    task = str(summary["task"])
    latest = _json(env, "model", "pull", task, "--out", str(tmp_path / "latest.keras"))
    assert [v["round"] for v in latest["lineage"]] == [None, 0, 1]
    assert latest["model"]["cid"] == summary["rounds"][-1]["next_global_model_cid"]
    first = _json(env, "model", "pull", task, "--round", "0", "--out", str(tmp_path / "r0.keras"))
    assert first["model"]["round"] == 0 and len(first["lineage"]) == 2
    data = load_dataset("digits", seed=0)
    np.savez(tmp_path / "test.npz", x=data.x_test, y=data.y_test)
    predicted = _json(env, "predict", str(tmp_path / "latest.keras"), str(tmp_path / "test.npz"))
    assert predicted["samples"] == len(data.y_test)
    assert predicted["accuracy"] == pytest.approx(summary["final_accuracy"], abs=0.01)


def test_predict_with_a_missing_model_file_says_how_to_get_one(protocol: DevnetDeployment, tmp_path: Path) -> None:
    import numpy as np

    np.savez(tmp_path / "x.npz", x=np.zeros((2, 8, 8)))
    message = _error(_dfl(protocol.env(), "predict", str(tmp_path / "none.keras"), str(tmp_path / "x.npz")))
    assert "dfl model pull" in message
