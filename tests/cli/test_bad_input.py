"""Bad input at the command line, as a new user types it: for each case, exit code 1, one line on
stderr that names what is wrong and what to do, no traceback, no token moved (balances of the
account, the requester and the manager contract checked before and after), nothing staked and
nothing pinned to IPFS (arguments are checked before any upload or transaction).

Everything runs for real: the suite's anvil and IPFS node, a task of the MLP on the 8x8 digits in
its registration phase, TensorFlow where the command needs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account

from offchain.chain.accounts import anvil_account
from offchain.chain.protocol import Role
from offchain.ml.datasets import load_dataset
from offchain.services.requester import TaskSettings, create_task
from offchain.storage.ipfs import IpfsStore
from support import DevnetDeployment, free_port, publish_digits

DFL = [sys.executable, "-m", "offchain.cli.main"]
USER = 7  # the anvil account that makes the mistakes (funded by the suite's faucet)


@dataclass(frozen=True)
class World:
    protocol: DevnetDeployment
    task: int
    files: Path
    manager_address: str

    def env(self, **extra: str) -> dict[str, str]:
        return self.protocol.env() | extra

    def balances(self) -> dict[str, int]:
        chain = self.protocol.manager()
        watched = {"user": anvil_account(USER).address, "requester": anvil_account(0).address}
        out = {name: chain.balance_of(address) for name, address in watched.items()}
        out["manager"] = chain.balance_of(self.manager_address)
        out["user_role"] = int(chain.participant(self.task, watched["user"]).role)
        return out

    def pins(self) -> set[str]:
        with IpfsStore(self.protocol.ipfs_api) as store:
            return store.pinned()


@pytest.fixture(scope="module")
def world(protocol: DevnetDeployment, tmp_path_factory: pytest.TempPathFactory) -> World:
    files = tmp_path_factory.mktemp("bad-input")
    digits = load_dataset("digits", seed=0)
    published = publish_digits(protocol.ipfs_api, eval_samples=50)
    requester = protocol.manager(0)
    task = create_task(requester, published, TaskSettings(num_rounds=3, registration=3600))
    # What users hand in by mistake.
    good = files / "good.npz"
    np.savez(good, x=digits.x_train[:60], y=digits.y_train[:60])
    (files / "corrupt.npz").write_bytes(good.read_bytes()[:300])
    rng = np.random.default_rng(0)
    np.savez(files / "wrong-shape.npz", x=rng.random((40, 28, 28)), y=np.arange(40) % 10)
    np.savez(files / "bad-labels.npz", x=digits.x_train[:45], y=np.arange(45) % 15)
    for name in ("cats", "dogs"):
        (files / "no-images" / name).mkdir(parents=True)
    (files / "bad.toml").write_text("rpc_url = \n")
    (files / "unknown.toml").write_text('rpc_ur1 = "http://127.0.0.1:8545"\n')
    (files / "key.json").write_text(json.dumps(Account.encrypt(anvil_account(USER).key, "right password")))
    return World(protocol, task, files, requester.manager.address)


def _dfl(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DFL, *args], capture_output=True, text=True, env=env, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command, after checking exit code 1 and no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


Case = tuple[str, Callable[[World], list[str]], Callable[[World], dict[str, str]], tuple[str, ...]]
ME = ["--dev-account", str(USER)]
CLOSED = {"closed": ""}  # marker: replaced by a port nobody listens on


def _t(w: World) -> str:
    return str(w.task)


def _f(w: World, name: str) -> str:
    return str(w.files / name)


def _none(w: World) -> dict[str, str]:
    return {}


CASES: list[Case] = [
    # dfl stake
    ("stake-negative", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "-5", *ME], _none, ("--amount must be more than 0 DFL",)),
    ("stake-not-a-number", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "ten", *ME], _none, ("--amount 'ten' is not a number of tokens", "write e.g. 10")),
    ("stake-19-decimals", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "0.0000000000000000001", *ME], _none, ("more than 18 decimal places",)),
    ("stake-below-minimum", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "5", *ME], _none, ("below task", "minimum of 10 DFL", "stake at least 10 DFL")),
    ("stake-validator-below-minimum", lambda w: ["stake", "--task", _t(w), "--role", "validator", "--amount", "99.5", *ME], _none, ("minimum of 100 DFL", "stake at least 100 DFL")),
    ("stake-more-than-balance", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "2000000", *ME], _none, ("less than the 2000000 DFL to stake", "get tokens first or stake less")),
    ("stake-unknown-role", lambda w: ["stake", "--task", _t(w), "--role", "miner", "--amount", "10", *ME], _none, ("--role must be trainer or validator",)),
    ("stake-unknown-task", lambda w: ["stake", "--task", "999", "--role", "trainer", "--amount", "10", *ME], _none, ("no task 999", "dfl task list")),
    ("stake-wrong-keystore-password", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "10", "--keystore", _f(w, "key.json")], lambda w: {"DFL_KEYSTORE_PASSWORD": "wrong password"}, ("cannot decrypt keystore", "wrong password")),
    ("stake-rpc-closed", lambda w: ["stake", "--task", _t(w), "--role", "trainer", "--amount", "10", *ME], lambda w: {"DFL_RPC_URL": "closed"}, ("did not answer", "dfl node up")),
    # dfl trainer / validator
    ("trainer-negative-stake", lambda w: ["trainer", "--task", _t(w), "--data", "digits", "--stake", "-5", *ME], _none, ("--stake must be more than 0 DFL",)),
    ("trainer-stake-below-minimum", lambda w: ["trainer", "--task", _t(w), "--data", "digits", "--stake", "5", *ME], _none, ("below task", "minimum of 10 DFL")),
    ("trainer-corrupt-npz", lambda w: ["trainer", "--task", _t(w), "--data", _f(w, "corrupt.npz"), *ME], _none, ("cannot read", "corrupt.npz", "re-create the file")),
    ("trainer-data-of-another-shape", lambda w: ["trainer", "--task", _t(w), "--data", _f(w, "wrong-shape.npz"), *ME], _none, ("does not fit task", "(28, 28, 1)", "nothing was staked")),
    ("trainer-labels-beyond-the-model", lambda w: ["trainer", "--task", _t(w), "--data", _f(w, "bad-labels.npz"), *ME], _none, ("does not fit task", "labels run 0..14", "10 outputs")),
    ("trainer-missing-file", lambda w: ["trainer", "--task", _t(w), "--data", _f(w, "missing.npz"), *ME], _none, ("unknown dataset", "a .npz file with arrays x and y")),
    ("trainer-empty-image-folder", lambda w: ["trainer", "--task", _t(w), "--data", _f(w, "no-images"), *ME], _none, ("no images in", "at least one image")),
    ("trainer-unknown-task", lambda w: ["trainer", "--task", "999", "--data", "digits", *ME], _none, ("no task 999",)),
    ("trainer-client-index-out-of-range", lambda w: ["trainer", "--task", _t(w), "--data", "digits", "--client-index", "2", "--num-clients", "2", *ME], _none, ("--client-index must be in 0..1",)),
    ("trainer-unknown-optimizer", lambda w: ["trainer", "--task", _t(w), "--data", "digits", "--optimizer", "adagrad", *ME], _none, ("unknown --optimizer 'adagrad'", "sgd, adam")),
    ("trainer-test-fraction-1", lambda w: ["trainer", "--task", _t(w), "--data", "digits", "--test-fraction", "1", *ME], _none, ("--test-fraction must be from 0",)),
    ("trainer-ipfs-closed", lambda w: ["trainer", "--task", _t(w), "--data", "digits", *ME], lambda w: {"DFL_IPFS_API": "closed"}, ("could not connect", "dfl node up")),
    ("trainer-rpc-closed", lambda w: ["trainer", "--task", _t(w), "--data", "digits", *ME], lambda w: {"DFL_RPC_URL": "closed"}, ("did not answer", "dfl node up")),
    ("trainer-negative-tf-threads", lambda w: ["trainer", "--task", _t(w), "--data", "digits", *ME], lambda w: {"DFL_TF_THREADS": "-1"}, ("DFL_TF_THREADS", "0 (TensorFlow's default) or more")),
    ("validator-corrupt-npz", lambda w: ["validator", "--task", _t(w), "--eval-data", _f(w, "corrupt.npz"), *ME], _none, ("cannot read", "corrupt.npz")),
    ("validator-stake-below-minimum", lambda w: ["validator", "--task", _t(w), "--eval-data", "digits", "--stake", "50", *ME], _none, ("minimum of 100 DFL",)),
    # dfl task create
    ("create-negative-pool", lambda w: ["task", "create", "--dataset", "digits", "--reward-pool", "-10", *ME], _none, ("--reward-pool must be more than 0 DFL",)),
    ("create-unknown-rule", lambda w: ["task", "create", "--dataset", "digits", "--rule", "mean", *ME], _none, ("unknown rule 'mean'", "choose one of fedavg")),
    ("create-bad-rule-param", lambda w: ["task", "create", "--dataset", "digits", "--rule", "trimmed_mean", "--rule-param", "6000", *ME], _none, ("beta_bps must be below 5000",)),
    ("create-quorum-not-a-majority", lambda w: ["task", "create", "--dataset", "digits", "--quorum-bps", "5000", *ME], _none, ("--quorum-bps must be in 5001..10000",)),
    ("create-zero-rounds", lambda w: ["task", "create", "--dataset", "digits", "--rounds", "0", *ME], _none, ("--rounds must be at least 1",)),
    ("create-zero-phase", lambda w: ["task", "create", "--dataset", "digits", "--commit", "0", *ME], _none, ("--commit must be at least 1 second",)),
    ("create-pool-above-balance", lambda w: ["task", "create", "--dataset", "digits", "--reward-pool", "2000000", *ME], _none, ("less than the reward pool", "lower --reward-pool")),
    ("create-unknown-model", lambda w: ["task", "create", "--dataset", "digits", "--model", "resnet", *ME], _none, ("unknown --model 'resnet'", "mlp, cnn")),
    ("create-missing-model-spec", lambda w: ["task", "create", "--dataset", "digits", "--model-spec", _f(w, "missing.json"), *ME], _none, ("cannot read --model-spec",)),
    ("create-unknown-dataset", lambda w: ["task", "create", "--dataset", "cifar", *ME], _none, ("unknown dataset 'cifar'",)),
    ("create-ipfs-closed", lambda w: ["task", "create", "--dataset", "digits", *ME], lambda w: {"DFL_IPFS_API": "closed"}, ("could not connect", "dfl node up")),
    ("create-unknown-privacy", lambda w: ["task", "create", "--dataset", "digits", "--privacy", "public", *ME], _none, ("unknown --privacy 'public'", "plaintext, sealed or secagg")),
    ("create-secagg-robust-rule", lambda w: ["task", "create", "--dataset", "digits", "--privacy", "secagg", "--rule", "median", *ME], _none, ("--rule median needs to read every update", "--privacy sealed")),
    ("create-zero-epsilon", lambda w: ["task", "create", "--dataset", "digits", "--privacy", "secagg", "--epsilon", "0", *ME], _none, ("--epsilon must be more than 0",)),
    ("create-noise-over-budget", lambda w: ["task", "create", "--dataset", "digits", "--epsilon", "1", "--noise-multiplier", "0.5", *ME], _none, ("--noise-multiplier 0.5 spends", "leave it out to calibrate")),
    ("create-secagg-without-clip", lambda w: ["task", "create", "--dataset", "digits", "--privacy", "secagg", "--max-delta-norm", "0", *ME], _none, ("need a clip", "--max-delta-norm")),
    # reading
    ("round-show-out-of-range", lambda w: ["round", "show", _t(w), "7"], _none, ("has rounds 0..2, not 7",)),
    ("round-show-unknown-task", lambda w: ["round", "show", "999", "0"], _none, ("no task 999",)),
    ("task-show-unknown-task", lambda w: ["task", "show", "999"], _none, ("no task 999",)),
    ("rewards-show-unknown-task", lambda w: ["rewards", "show", "--task", "999"], _none, ("no task 999",)),
    ("model-pull-unknown-task", lambda w: ["model", "pull", "999"], _none, ("no task 999",)),
    ("model-pull-round-out-of-range", lambda w: ["model", "pull", _t(w), "--round", "5"], _none, ("has rounds 0..2, not 5",)),
    ("task-list-rpc-closed", lambda w: ["task", "list"], lambda w: {"DFL_RPC_URL": "closed"}, ("did not answer", "dfl node up")),
    ("predict-corrupt-npz", lambda w: ["predict", _f(w, "model.keras"), _f(w, "corrupt.npz")], _none, ("corrupt.npz is not an .npz",)),
    ("predict-missing-model", lambda w: ["predict", _f(w, "model.keras"), _f(w, "good.npz")], _none, ("no model file", "dfl model pull")),
    # settling a task
    ("finalize-during-registration", lambda w: ["round", "finalize", _t(w), *ME], _none, ("not awaiting finalization", "phase registration", "finalize after that")),
    ("reclaim-while-running", lambda w: ["task", "reclaim", _t(w), *ME], _none, ("still running", "returns once it completes")),
    ("withdraw-without-stake", lambda w: ["withdraw", "--task", _t(w), *ME], _none, ("has no stake in task", "nothing to withdraw")),
    ("exit-without-stake", lambda w: ["exit", "--task", _t(w), *ME], _none, ("has no stake in task", "nothing to leave")),
    ("slash-open-round", lambda w: ["round", "slash", _t(w), "0", anvil_account(1).address, *ME], _none, ("not finalized yet", "dfl round finalize")),
    # settings and set-up
    ("malformed-config-file", lambda w: ["task", "list"], lambda w: {"DFL_CONFIG": _f(w, "bad.toml")}, ("cannot read config file", "bad.toml")),
    ("unknown-config-setting", lambda w: ["task", "list"], lambda w: {"DFL_CONFIG": _f(w, "unknown.toml")}, ("unknown setting(s) ['rpc_ur1']", "known:")),
    ("no-deployment", lambda w: ["task", "list"], lambda w: {"DFL_DEPLOYMENTS_DIR": _f(w, "no-deployments")}, ("dfl deploy",)),
    ("deploy-negative-supply", lambda w: ["deploy", "--supply", "-1"], _none, ("--supply must be more than 0 DFL",)),
    ("demo-unknown-rule", lambda w: ["demo", "--rule", "mean"], _none, ("unknown rule 'mean'",)),
    ("demo-too-many-trainers", lambda w: ["demo", "--trainers", "99"], _none, ("1-8 trainers",)),
    ("demo-negative-pool", lambda w: ["demo", "--reward-pool", "-1"], _none, ("--reward-pool must be more than 0 DFL",)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "env", "needles"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_1_and_moves_nothing(
    world: World,
    name: str,
    args: Callable[[World], list[str]],
    env: Callable[[World], dict[str, str]],
    needles: tuple[str, ...],
) -> None:
    extra = {k: (f"http://127.0.0.1:{free_port()}" if v == "closed" else v) for k, v in env(world).items()}
    before, pins = world.balances(), world.pins()
    line = one_line_error(_dfl(world.env(**extra), *args(world)))
    for needle in needles:
        assert needle in line, line
    assert world.balances() == before
    assert world.balances()["user_role"] == int(Role.NONE)
    assert world.pins() == pins


def test_options_the_parser_refuses_are_one_line_too_with_exit_2(world: World) -> None:
    result = _dfl(world.env(), "stake", "--task", "one", "--role", "trainer", "--amount", "10")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "'--task'" in line and "dfl stake --help" in line


def test_the_trainer_says_which_part_of_its_data_it_holds_out(world: World) -> None:
    result = _dfl(world.env(), "trainer", "--task", str(world.task), "--data", _f(world, "bad-labels.npz"), *ME)
    assert "36 of the 45 samples of bad-labels.npz: 9 (20%) are held out" in result.stdout
    assert "--test-fraction 0 trains on all" in result.stdout
