"""The incentive simulation's `secagg` scheme (bench/incentives.py --scheme secagg) at toy size: real
X25519 keys, masks and `compute_secure_round`, the contract's arithmetic in the mirror."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # `bench` lives at the project root, next to `offchain`

from bench.common import Setup  # noqa: E402
from bench.incentives_agents import signer  # noqa: E402
from bench.incentives_ledger import LedgerRevert, MirrorLedger, Terms  # noqa: E402
from offchain.fl.contribution import sample_caps  # noqa: E402

if TYPE_CHECKING:  # imported in the tests: bench.incentives loads TensorFlow
    from bench.incentives import Experiment
    from bench.incentives_sim import Scheme

ROUNDS = 2


@pytest.fixture(scope="module")
def secagg() -> tuple[Experiment, Scheme]:
    from bench.incentives import Experiment, honest_change_norms, measured_clip_micro
    from bench.incentives_schemes import secagg_scheme, secagg_task_settings, task_settings

    setup = Setup(dataset="digits", model="mlp", trainers=4, rounds=ROUNDS)
    exp = Experiment.build(setup, 3, None, task_settings(ROUNDS).max_delta_norm_micro)
    parameters = sum(int(w.size) for w in exp.initial.weights.values())
    clip = measured_clip_micro(honest_change_norms(exp))
    return exp, secagg_scheme(secagg_task_settings(ROUNDS, clip, parameters))


def _run(secagg: tuple[Experiment, Scheme], label: str, roles: dict[int, str]) -> dict[str, Any]:
    from bench.incentives_schemes import SECAGG_GAS

    exp, scheme = secagg
    return exp.run(scheme, SECAGG_GAS, roles, {}, label)


def _trainers(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: p for name, p in run["payoffs"].items() if name.startswith("trainer-")}


def test_the_honest_reference_pays_every_trainer_by_its_declared_samples(secagg: tuple[Experiment, Scheme]) -> None:
    exp, _ = secagg
    run = _run(secagg, "reference", {})
    assert [r["status"] for r in run["round_log"]] == ["accepted"] * ROUNDS
    assert [r["secure_sum"] for r in run["round_log"]] == ["ok"] * ROUNDS
    # counted samples: each share, capped at the sample-weighted median of the others (offchain.fl.contribution)
    counted = dict(zip((f"trainer-{i}" for i in range(len(exp.parts))), sample_caps([len(p) for p in exp.parts])))
    for log in run["round_log"]:
        assert set(log["paid"]) == set(counted)  # every contributor, scores are impossible here
        for name, amount in log["paid"].items():  # the trainer pool split by counted samples (integer division)
            assert amount == pytest.approx(log["trainer_pool"] * counted[name] / sum(counted.values()), abs=1)
    for payoff in _trainers(run).values():
        assert payoff["rewards"] > 0 and payoff["slashes"] == 0
        assert payoff["calls"]["registerKey"] == 1 and "publishMaskSeeds" not in payoff["calls"]  # no dropouts


def test_a_free_rider_is_paid_as_much_as_honest_play_and_a_non_revealer_is_slashed(
    secagg: tuple[Experiment, Scheme],
) -> None:
    exp, _ = secagg
    me = f"trainer-{exp.deviator}"
    reference = _run(secagg, "reference", {})
    free_rider = _run(secagg, "free_rider", {exp.deviator: "free_rider"})
    # The documented limit: its zero change is masked like any other, nothing can tell it apart.
    assert [r["paid"][me] for r in free_rider["round_log"]] == [r["paid"][me] for r in reference["round_log"]]
    assert free_rider["payoffs"][me]["slashes"] == 0
    assert free_rider["final_accuracy"] != reference["final_accuracy"]  # its zero went into the mean
    silent = _run(secagg, "non_reveal", {exp.deviator: "non_reveal"})
    assert silent["payoffs"][me]["rewards"] == 0 and silent["payoffs"][me]["slashes"] > 0
    # The others removed its masks with their seeds: every round's sum was released, and they were paid.
    assert [r["secure_sum"] for r in silent["round_log"]] == ["ok"] * ROUNDS
    for name, payoff in _trainers(silent).items():
        if name != me:
            assert payoff["rewards"] > 0 and payoff["calls"]["publishMaskSeeds"] == ROUNDS


def test_the_masked_sum_moves_the_model_by_the_mean_of_the_clipped_changes(secagg: tuple[Experiment, Scheme]) -> None:
    from bench.incentives import BALANCE
    from bench.incentives_agents import trainer_agents, validator_agents
    from bench.incentives_schemes import SECAGG_GAS
    from bench.incentives_secagg import flat_change
    from bench.incentives_sim import Run

    exp, scheme = secagg
    trainers, validators = trainer_agents(exp.parts, {}, exp.setup.seed), validator_agents(exp.validators, {})
    addresses = [a.address for a in trainers] + [v.address for v in validators]
    ledger = MirrorLedger(scheme.terms, SECAGG_GAS, dict.fromkeys(addresses, BALANCE))
    run = Run(
        scheme=scheme,
        trainers=trainers,
        validators=validators,
        shop=exp.shop,
        ledger=ledger,
        specs=exp.shop.model.specs,
        initial=exp.initial,
        eval_sets=exp.eval_sets,
        validator_stake=scheme.terms.min_validator_stake,
    )
    run.register()
    g1, log = run.play_round(0, exp.initial)
    assert log.status == "accepted" and log.secure_sum == "ok"
    g0, clip = exp.initial.weights, scheme.max_delta_norm_micro / 1e6
    changes = [flat_change(exp.shop.model.decode(exp.shop.train(a, exp.initial, 0)), g0) for a in trainers]
    clipped = [c * min(1.0, clip / float(np.linalg.norm(c))) for c in changes]
    expected = _flat(g0) + np.mean(clipped, axis=0)
    got = _flat(g1.weights)
    # Quantization: each coordinate of each change is off by less than 2^-b, so their mean is too; then
    # the new model is rounded to float32.
    tolerance = 2.0**-scheme.scale_bits + float(np.spacing(np.float32(np.abs(expected).max())))
    assert np.abs(got - expected).max() <= tolerance
    assert any(float(np.linalg.norm(c)) > clip for c in changes)  # the clip was exercised


def _flat(weights: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([weights[n].astype(np.float64).reshape(-1) for n in sorted(weights)])


def test_the_mirror_charges_and_checks_the_privacy_calls_as_flprivacy_does() -> None:
    terms = Terms(1, 1000, 7000, 6000, 10, 100, 0, 1000, 2000, 1000, 500)
    a, v = (signer(n).address.lower() for n in ("a", "v"))
    ledger = MirrorLedger(terms, {"approve": 1, "stake": 1, "registerKey": 7, "publishMaskSeeds": 5}, {a: 100, v: 1000})
    ledger.stake(a, "trainer", 10)
    ledger.stake(v, "validator", 100)
    ledger.register_key(a, b"\1" * 32)
    with pytest.raises(LedgerRevert, match="FLPrivacyKeyAlreadyRegistered"):
        ledger.register_key(a, b"\2" * 32)
    with pytest.raises(LedgerRevert, match="FLPrivacyRoleTakesNoKey"):
        ledger.register_key(v, b"\1" * 32)
    with pytest.raises(LedgerRevert, match="FLPrivacyNotRevealed"):  # a trainer that did not reveal this round
        ledger.publish_seeds(a, b"\3" * 32)
    assert ledger.flows[a].gas >= 1 + 1 + 7 and ledger.wealth(a) == 100  # gas only: no token moved


def test_a_secagg_report_has_todays_table_structure_and_its_own_markdown(tmp_path: Path) -> None:
    from bench.incentives import secagg_incentives
    from bench.incentives_agents import PROBE_STRATEGIES, TRAINER_STRATEGIES
    from bench.incentives_report import markdown

    setup = Setup(dataset="digits", model="mlp", trainers=3, rounds=1)
    report = secagg_incentives(setup, validators=3, out="toy.json", plot_path="toy.png", reports=tmp_path)
    saved = json.loads((tmp_path / "toy.json").read_text())
    assert saved["scheme_name"] == "secagg" and "secagg task" in saved["scheme"] and "baseline" not in saved
    assert list(saved["trainer"]) == [*TRAINER_STRATEGIES, *PROBE_STRATEGIES]
    assert list(saved["validator"]) == ["honest", "lazy", "colluding_minority"]
    assert set(saved["verdict"]) == {"secagg"} and saved["anvil_check"] is None
    assert saved["secagg"]["clip"] > 0 and len(saved["secagg"]["honest_round0_change_norms"]) == 3
    table = markdown(report)
    assert table.startswith("| role | strategy | secagg: net DFL/round |") and "| trainer | free_rider |" in table
    assert (tmp_path / "toy.png").stat().st_size > 0
