"""Incentives: what each trainer and validator strategy earns per round, today's scheme next to the
scheme before issue 12 (or, with --scheme secagg, today's terms in a SecAgg task), through the
validators' real round computation and the contract's arithmetic.

Each run is a whole task (R rounds) played by agents (`bench/incentives_agents.py`): trainers train
with the workers' `LocalModel` on their Dirichlet share, validators run `offchain.fl.round.compute_round`
on the revealed bytes, evaluate on their slice of the test split and vote, and every token moves in
`MirrorLedger`, the contract's reward and slash arithmetic in integers (`bench/incentives_ledger.py`).
A short run of a mixed scenario on anvil with the real contracts checks that mirror to the wei and
measures each call's gas (`bench/incentives_chain.py`).

Runs: one all-honest reference per scheme; then one run per deviation, with one trainer (the holder
of the median share) or the deviating validators switched, everyone else honest. A deviation's payoff
is compared with the same agent's payoff in the reference. Net payoff per round, in DFL:
(rewards - slashes - gas x gas price) / R, with gas at --gas-price-gwei and --tokens-per-eth.

    .venv/bin/python -m bench.incentives                # full: 20 rounds, 10 trainers, 5 validators
    .venv/bin/python -m bench.incentives --quick        # 3 rounds, 2-round anvil check
    .venv/bin/python -m bench.incentives --table reports/incentives.json   # its markdown table
    .venv/bin/python -m bench.incentives --scheme secagg   # -> reports/incentives_secagg.json (no anvil check)

Under --scheme secagg trainers pin masked vectors of their change clipped to C (--clip; by default the
median honest change norm of round 0, rounded up to 0.1: `measured_clip_micro`) and validators run
`offchain.fl.secure_round.compute_secure_round`; gas comes from SECAGG_GAS.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import REPORTS, Setup, load, machine, say, shares, write_report
from bench.incentives_agents import (
    LAZY_VARIANTS,
    PROBE_STRATEGIES,
    TRAINER_STRATEGIES,
    GlobalModel,
    TrainerAgent,
    ValidatorAgent,
    Workshop,
    signer,
    trainer_agents,
    validator_agents,
)
from bench.incentives_ledger import MirrorLedger
from bench.incentives_report import GAS_PRICE_GWEI, TOKENS_PER_ETH, GasRate, markdown, plot, tables, verdict
from bench.incentives_schemes import (
    BASELINE_GAS,
    MEASURED_GAS,
    SECAGG_GAS,
    baseline_scheme,
    new_scheme,
    secagg_scheme,
    secagg_task_settings,
    task_settings,
)
from bench.incentives_sim import Run, Scheme
from offchain.services.requester import TaskSettings
from offchain.units import TOKEN

BALANCE = 5_000 * TOKEN  # each agent's tokens at the start (stakes come out of it)
# The anvil check's mixed scenario: holders 0.. play these, the rest honest (at least 3 honest).
Play = tuple[str, dict[int, str], dict[int, str]]  # label, trainer roles, validator roles
MIXED_TRAINERS = (
    "free_rider",
    "non_reveal",
    "inflate_x10",
    "noisy_free_rider",
    "sybil_split_3",
    "gaussian_noise",
    "inflate_x10_backed",
)


# --- the experiment -----------------------------------------------------------------------------


@dataclass
class Experiment:
    """Data, shares, model and the shared training cache, and how one run is played."""

    setup: Setup
    validators: int
    deviator: int
    data: Any
    parts: list[np.ndarray]
    shop: Workshop
    initial: GlobalModel
    eval_sets: list[tuple[np.ndarray, np.ndarray]]
    colluders: list[int] = field(default_factory=list)

    @classmethod
    def build(cls, setup: Setup, validators: int, deviator: int | None, bound_micro: int) -> Experiment:
        from offchain.ml.models import build_model, model_to_spec
        from offchain.ml.weights import get_weights
        from offchain.services.local_model import LocalModel, TrainingConfig
        from offchain.storage.cid import compute_cid

        data = load(setup)
        parts = shares(setup, data.y_train)
        model = build_model(setup.model, input_shape=data.input_shape, num_classes=data.num_classes, seed=setup.seed)
        local = LocalModel(model_to_spec(model), max_update_bytes=TaskSettings().max_update_bytes)
        weights = get_weights(model)
        from offchain.fl.codec import encode_weights

        g0 = encode_weights(weights)
        training = TrainingConfig(epochs=setup.epochs, batch_size=setup.batch_size, learning_rate=setup.learning_rate)
        shop = Workshop(local, data.x_train, data.y_train, data.num_classes, training, bound_micro)
        shop.initial = GlobalModel(g0, local.decode(g0), compute_cid(g0), None)
        # A sister task of the same model, with its own initial weights (cross_task_copy)
        sister = build_model(
            setup.model, input_shape=data.input_shape, num_classes=data.num_classes, seed=setup.seed + 1
        )
        s0 = encode_weights(get_weights(sister))
        shop.sister_initial = GlobalModel(s0, local.decode(s0), compute_cid(s0), None)
        chunks = np.array_split(np.arange(len(data.y_test)), validators)
        sizes = [len(p) for p in parts]
        median_holder = int(np.argsort(sizes, kind="stable")[(len(sizes) - 1) // 2])
        quorum = TaskSettings().quorum_bps
        minority = max(1, validators * (10_000 - quorum) // 10_000)  # the most that cannot block an honest quorum
        return cls(
            setup=setup,
            validators=validators,
            deviator=median_holder if deviator is None else deviator,
            data=data,
            parts=parts,
            shop=shop,
            initial=shop.initial,
            eval_sets=[(data.x_test[c], data.y_test[c]) for c in chunks],
            colluders=list(range(validators - minority, validators)),
        )

    def run(
        self,
        scheme: Scheme,
        gas: dict[str, int],
        trainer_roles: dict[int, str],
        validator_roles: dict[int, str],
        label: str,
        *,
        rounds: int | None = None,
        ledger: Any = None,
        before_withdraw: Any = None,
    ) -> dict[str, Any]:
        rounds = rounds or self.setup.rounds
        started = time.time()
        trained = self.shop.trained
        trainers = trainer_agents(self.parts, trainer_roles, self.setup.seed)
        validators = validator_agents(self.validators, validator_roles)
        addresses = [a.address for a in trainers] + [v.address for v in validators]
        ledger = ledger or MirrorLedger(scheme.terms, gas, {a: BALANCE for a in addresses})
        beneficiary = trainer_agents(self.parts, {}, self.setup.seed)[self.deviator].address
        run = Run(
            scheme=scheme,
            trainers=trainers,
            validators=validators,
            shop=self.shop,
            ledger=ledger,
            specs=self.shop.model.specs,
            initial=self.initial,
            eval_sets=self.eval_sets,
            validator_stake=scheme.terms.min_validator_stake,
            colluder_beneficiary=beneficiary,
            task_id=getattr(ledger, "task_id", 1),
            label=label,
        )
        result = run.play(rounds, before_withdraw=before_withdraw)
        accuracy = self.shop.model.evaluate(result.final_weights, self.data.x_test, self.data.y_test).accuracy
        statuses = [r.status for r in result.rounds]
        summary = {
            "label": label,
            "scheme": scheme.name,
            "trainer_roles": {str(k): v for k, v in trainer_roles.items()},
            "validator_roles": {str(k): v for k, v in validator_roles.items()},
            "rounds": rounds,
            "accepted": statuses.count("accepted"),
            "rejected": statuses.count("rejected"),
            "failed": statuses.count("failed"),
            "final_accuracy": accuracy,
            "round_log": [asdict(r) for r in result.rounds],
            "payoffs": _payoffs(ledger, trainers, validators) if isinstance(ledger, MirrorLedger) else {},
            "trainings": self.shop.trained - trained,
            "seconds": time.time() - started,
        }
        say(
            f"incentives: {scheme.name:16s} {label:28s} accepted {summary['accepted']:2d}, rejected "
            f"{summary['rejected']:2d}, failed {summary['failed']:2d}; accuracy {accuracy:.4f}; "
            f"{summary['trainings']} trainings in {summary['seconds']:.0f}s"
        )
        return summary


def _payoffs(ledger: MirrorLedger, trainers: list[Any], validators: list[Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for agent in [*trainers, *validators]:
        f = ledger.flows[agent.address]
        net = ledger.wealth(agent.address) - ledger.initial[agent.address]
        if net != f.rewards - f.slashes:  # every token an account gains or loses is a reward or a slash
            raise AssertionError(f"{agent.name}: wealth moved by {net}, rewards - slashes = {f.rewards - f.slashes}")
        out[agent.name] = {
            "address": agent.address,
            "strategy": agent.strategy,
            "rewards": f.rewards,
            "slashes": f.slashes,
            "gas": f.gas,
            "calls": dict(f.calls),
        }
    return out


# --- the anvil check ------------------------------------------------------------------------------


def anvil_check(exp: Experiment, rounds: int) -> dict[str, Any]:
    """The mixed scenario for `rounds` rounds in the mirror and on anvil: the same wei everywhere?"""
    from bench.incentives_chain import Anvil, compare, new_workdir, open_task, snapshot

    started = time.time()
    settings = task_settings(rounds)
    scheme = new_scheme(settings)
    trainer_roles = {i: s for i, s in enumerate(MIXED_TRAINERS[: max(0, len(exp.parts) - 3)])}
    validator_roles = {exp.validators - 1: "lazy_reject"}
    if exp.validators >= 5:
        validator_roles[exp.validators - 2] = "colluding_minority"
    trainers = trainer_agents(exp.parts, trainer_roles, exp.setup.seed)
    validators = validator_agents(exp.validators, validator_roles)
    agents: list[TrainerAgent | ValidatorAgent] = [*trainers, *validators]
    keys = {a.address: signer(a.name) for a in agents}
    addresses = list(keys)
    snaps: dict[str, Any] = {}
    mirror = MirrorLedger(scheme.terms, MEASURED_GAS, {a: BALANCE for a in addresses})

    def take(name: str, ledger: Any) -> Any:
        return lambda: snaps.__setitem__(name, snapshot(ledger, addresses, rounds))

    args = (scheme, MEASURED_GAS, trainer_roles, validator_roles, "anvil-check")
    mirrored = exp.run(*args, rounds=rounds, ledger=mirror, before_withdraw=take("mirror", mirror))
    snaps["mirror_after"] = snapshot(mirror, addresses, rounds)
    workdir = new_workdir()
    with Anvil(workdir) as anvil:
        chain = open_task(anvil, workdir, settings, exp.initial.cid, keys, BALANCE)
        on_chain = exp.run(*args, rounds=rounds, ledger=chain, before_withdraw=take("chain", chain))
        snaps["chain_after"] = snapshot(chain, addresses, rounds)
        gas = {
            call: {"mean": round(float(np.mean(v))), "min": min(v), "max": max(v), "calls": len(v)}
            for call, v in sorted(chain.gas.items())
        }
    before, after = compare(snaps["mirror"], snaps["chain"]), compare(snaps["mirror_after"], snaps["chain_after"])
    return {
        "rounds": rounds,
        "trainer_roles": {str(k): v for k, v in trainer_roles.items()},
        "validator_roles": {str(k): v for k, v in validator_roles.items()},
        "accounts": len(addresses),
        "round_log_mirror": mirrored["round_log"],
        "round_log_chain": on_chain["round_log"],
        "same_round_log": mirrored["round_log"] == on_chain["round_log"],
        "before_withdraw": before,
        "after_withdraw": after,
        "wei_equal_for_every_account": before["all_equal"] and after["all_equal"],
        "gas_measured": gas,
        "seconds": time.time() - started,
    }


# --- the whole benchmark ------------------------------------------------------------------------


def all_plays(exp: Experiment) -> list[Play]:
    """The reference and every deviation."""
    plays: list[Play] = [("reference", {}, {})]
    plays += [(f"trainer:{s}", {exp.deviator: s}, {}) for s in TRAINER_STRATEGIES[1:] + PROBE_STRATEGIES]
    plays += [(f"validator:{s}", {}, {exp.validators - 1: s}) for s in LAZY_VARIANTS]
    plays += [("validator:colluding_minority", {}, dict.fromkeys(exp.colluders, "colluding_minority"))]
    return plays


def scheme_runs(
    exp: Experiment, scheme: Scheme, gas: dict[str, int], labels: list[str] | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """The reference and every deviation under one scheme (or only the plays named in `labels`)."""
    plays = [p for p in all_plays(exp) if labels is None or p[0] in labels]
    return {(scheme.name, label): exp.run(scheme, gas, t, v, label) for label, t, v in plays}


def split_plays(exp: Experiment, jobs: int) -> list[list[str]]:
    """The plays' labels in `jobs` groups for as many processes: the reference and the validator plays
    together (their global models are the reference's, so they train nothing in the same process), and
    the trainer deviations in contiguous slices (an unbacked inflater and the next one share a cache)."""
    labels = [label for label, _, _ in all_plays(exp)]
    trainers = [label for label in labels if label.startswith("trainer:")]
    groups = [list(part) for part in np.array_split(np.array(trainers, dtype=object), jobs)]
    groups[0] = [label for label in labels if not label.startswith("trainer:")] + groups[0]
    return [g for g in groups if g]


def _single_threaded() -> None:
    from offchain.ml.train import limit_threads

    limit_threads(1)


def _scheme_job(
    setup: Setup, validators: int, deviator: int, which: str, gas: dict[str, int]
) -> dict[tuple[str, str], dict[str, Any]]:
    settings = task_settings(setup.rounds)
    scheme = new_scheme(settings) if which == "today" else baseline_scheme(settings)
    exp = Experiment.build(setup, validators, deviator, settings.max_delta_norm_micro)
    return scheme_runs(exp, scheme, gas)


def _plays_job(
    setup: Setup, validators: int, deviator: int, scheme: Scheme, gas: dict[str, int], labels: list[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    exp = Experiment.build(setup, validators, deviator, task_settings(setup.rounds).max_delta_norm_micro)
    return scheme_runs(exp, scheme, gas, labels)


def _facts(
    exp: Experiment, settings: TaskSettings, runs: dict[tuple[str, str], dict[str, Any]], jobs: int
) -> dict[str, Any]:
    """What every report says about the set-up, the agents and the runs."""
    return {
        "setup": exp.setup.as_dict(),
        "task": asdict(settings),
        "agents": {
            "trainer_shares": [len(p) for p in exp.parts],
            "deviating_trainer": exp.deviator,
            "lazy_validator": exp.validators - 1,
            "colluding_validators": exp.colluders,
            "validators": exp.validators,
            "initial_balance_tokens": BALANCE // TOKEN,
        },
        "runs": [run | {"statuses": [r["status"] for r in run["round_log"]]} for run in runs.values()],
        "trainings": sum(run["trainings"] for run in runs.values()),
        "jobs": jobs,
        "machine": machine(),
    }


def _kept_baseline(previous: Path, rerun: bool) -> dict[str, Any] | None:
    """The scheme before issue 12 as an earlier full run of this benchmark measured it (its code is
    history: rerunning it with today's validators would mix today's screening into it), unless asked
    to rerun it or there is no such report."""
    if rerun or not previous.is_file():
        return None
    old = json.loads(previous.read_text())
    if "baseline" not in old or old.get("setup", {}).get("rounds") is None:
        return None
    kept = old["baseline"]
    return kept | {
        "kept_from": kept.get("kept_from", f"{previous.name} of an earlier run ({old.get('seconds', 0):.0f} s)")
    }


def incentives(
    setup: Setup,
    *,
    validators: int = 5,
    jobs: int = 1,
    rerun_baseline: bool = False,
    deviator: int | None = None,
    anvil_rounds: int = 3,
    rate: GasRate = GasRate(),
    out: str | None = "incentives.json",
    plot_path: str | None = "incentives.png",
    reports: Path = REPORTS,
) -> dict[str, Any]:
    started = time.time()
    settings = task_settings(setup.rounds)
    today, before = new_scheme(settings), baseline_scheme(settings)
    exp = Experiment.build(setup, validators, deviator, settings.max_delta_norm_micro)
    say(
        f"incentives: {setup.trainers} trainers (shares {[len(p) for p in exp.parts]}), {validators} validators, "
        f"{setup.rounds} rounds; deviating trainer {exp.deviator}, colluding validators {exp.colluders}"
    )
    check = anvil_check(exp, anvil_rounds) if anvil_rounds else None
    gas = MEASURED_GAS | ({k: v["mean"] for k, v in check["gas_measured"].items()} if check else {})
    baseline_gas = {k: gas[k] for k in ("approve", "slash", "penalizeTrainer", "attestAvailability")} | BASELINE_GAS
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    kept = _kept_baseline(reports / (out or ""), rerun_baseline)
    if jobs <= 1:
        runs |= scheme_runs(exp, today, gas)
        if kept is None:
            runs |= scheme_runs(exp, before, baseline_gas)
    else:  # today's plays over `jobs` processes (and the baseline in one more), one TensorFlow thread each
        groups = split_plays(exp, jobs)
        pool = ProcessPoolExecutor(
            len(groups) + (kept is None), mp_context=multiprocessing.get_context("spawn"), initializer=_single_threaded
        )
        try:
            futures = [pool.submit(_plays_job, setup, validators, exp.deviator, today, gas, g) for g in groups]
            if kept is None:
                futures.append(pool.submit(_scheme_job, setup, validators, exp.deviator, "before", baseline_gas))
            for future in futures:
                runs |= future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    report: dict[str, Any] = tables(runs, exp, today.name, rate) | {"scheme": today.description}
    report["baseline"] = kept or tables(runs, exp, before.name, rate) | {"scheme": before.description}
    report["verdict"] = verdict(report)
    report |= {
        "gas": {
            "price_gwei": rate.gwei,
            "tokens_per_eth": rate.tokens_per_eth,
            "tokens_per_million_gas": rate.tokens(1_000_000),
            "table": gas,
            "table_source": "means measured by this run's anvil check"
            if check
            else "MEASURED_GAS in bench/incentives_schemes.py",
            "baseline_table": baseline_gas,
            "baseline_source": "reports/gas.json before issue 12 (3800722); approve, slash from today's contracts",
        },
        "anvil_check": check,
    }
    report |= _facts(exp, settings, runs, jobs) | {"seconds": time.time() - started}
    if out:
        write_report(out, report, reports)
    if plot_path:
        plot(report, reports / plot_path)
    say(f"incentives: done in {report['seconds']:.0f}s; {json.dumps(report['verdict'])}")
    return report


# --- the secagg scheme -----------------------------------------------------------------------------


def honest_change_norms(exp: Experiment, round_id: int = 0) -> list[float]:
    """Each trainer's change norm when it trains honestly from the initial model (round 0: the same
    training the reference run then takes from the cache)."""
    from offchain.fl.clipping import change_norm

    agents = trainer_agents(exp.parts, {}, exp.setup.seed)
    trained = [exp.shop.model.decode(exp.shop.train(a, exp.initial, round_id)) for a in agents]
    return [change_norm(w, exp.initial.weights) for w in trained]


def measured_clip_micro(norms: list[float]) -> int:
    """The clip a requester would set from a one-round pilot: the median honest change norm, rounded up
    to 0.1. Half the honest updates of round 0 are clipped, later ones (shorter) are not, and no update,
    honest or not, moves the model further than a typical honest one did at the start (adaptive
    clipping, Andrew et al. 2021, aims at the same quantile)."""
    return math.ceil(float(np.median(norms)) * 10) * 100_000


def secagg_incentives(
    setup: Setup,
    *,
    validators: int = 5,
    jobs: int = 1,
    deviator: int | None = None,
    clip: float | None = None,
    rate: GasRate = GasRate(),
    out: str | None = "incentives_secagg.json",
    plot_path: str | None = "incentives_secagg.png",
    reports: Path = REPORTS,
) -> dict[str, Any]:
    """The reference and every deviation in a SecAgg task with today's terms (no anvil check: the gas
    table is SECAGG_GAS). `clip`: C, or None for `measured_clip_micro`."""
    started = time.time()
    exp = Experiment.build(setup, validators, deviator, task_settings(setup.rounds).max_delta_norm_micro)
    norms = honest_change_norms(exp)
    clip_micro = measured_clip_micro(norms) if clip is None else round(clip * 1e6)
    parameters = sum(int(w.size) for w in exp.initial.weights.values())
    settings = secagg_task_settings(setup.rounds, clip_micro, parameters)
    scheme = secagg_scheme(settings)
    say(
        f"incentives: secagg, clip {clip_micro / 1e6:g} (honest round-0 change norms: median "
        f"{float(np.median(norms)):.3f}, {min(norms):.3f} to {max(norms):.3f}), scale 2^-{scheme.scale_bits}, "
        f"{parameters} parameters; deviating trainer {exp.deviator}, colluding validators {exp.colluders}"
    )
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    if jobs <= 1:
        runs |= scheme_runs(exp, scheme, SECAGG_GAS)
    else:  # the plays in `jobs` processes, one TensorFlow thread each, each with its own training cache
        groups = split_plays(exp, jobs)
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(len(groups), mp_context=context, initializer=_single_threaded)
        try:
            futures = [
                pool.submit(_plays_job, setup, validators, exp.deviator, scheme, SECAGG_GAS, labels)
                for labels in groups
            ]
            for future in futures:
                runs |= future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        order = [(scheme.name, label) for label, _, _ in all_plays(exp)]
        runs = {key: runs[key] for key in order}
    report: dict[str, Any] = {"scheme_name": scheme.name} | tables(runs, exp, scheme.name, rate)
    report |= {"scheme": scheme.description}
    report["verdict"] = verdict(report)
    report["secagg"] = {
        "clip": clip_micro / 1e6,
        "clip_source": "--clip" if clip is not None else "median honest change norm of round 0, rounded up to 0.1",
        "honest_round0_change_norms": norms,
        "scale_bits": scheme.scale_bits,
        "parameters": parameters,
        "sum_status_per_run": {
            run["label"]: _counts(r["secure_sum"] for r in run["round_log"]) for run in runs.values()
        },
    }
    report["gas"] = {
        "price_gwei": rate.gwei,
        "tokens_per_eth": rate.tokens_per_eth,
        "tokens_per_million_gas": rate.tokens(1_000_000),
        "table": SECAGG_GAS,
        "table_source": "SECAGG_GAS in bench/incentives_schemes.py: MEASURED_GAS, and FLPrivacy's registerKey and "
        "publishMaskSeeds measured once on anvil (no anvil check in this run)",
    }
    report["anvil_check"] = None
    report |= _facts(exp, settings, runs, jobs) | {"seconds": time.time() - started}
    if out:
        write_report(out, report, reports)
    if plot_path:
        plot(report, reports / plot_path)
    say(f"incentives: secagg done in {report['seconds']:.0f}s; {json.dumps(report['verdict'])}")
    return report


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[str(v)] = counts.get(str(v), 0) + 1
    return counts


def main() -> None:
    d = Setup(model="mlp")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=d.dataset)
    p.add_argument("--model", default="mlp", choices=("cnn", "mlp"))
    p.add_argument("--trainers", type=int, default=d.trainers)
    p.add_argument("--validators", type=int, default=5)
    p.add_argument("--rounds", type=int, default=d.rounds)
    p.add_argument("--deviator", type=int, default=None, help="the deviating trainer (default: the median share)")
    p.add_argument(
        "--scheme",
        default="plaintext",
        choices=("plaintext", "secagg"),
        help="plaintext: today's scheme and the one before issue 12; secagg: today's terms in a SecAgg task, alone",
    )
    p.add_argument(
        "--clip",
        type=float,
        default=None,
        help="secagg: the clip C (the task's --max-delta-norm; default: the median honest change norm of round 0, "
        "rounded up to 0.1)",
    )
    p.add_argument(
        "--anvil-rounds", type=int, default=3, help="rounds of the anvil cross-check (0: skip it; secagg: none)"
    )
    p.add_argument("--gas-price-gwei", type=float, default=GAS_PRICE_GWEI)
    p.add_argument("--tokens-per-eth", type=float, default=TOKENS_PER_ETH)
    p.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds and a 2-round anvil check, to incentives_quick.json (secagg: incentives_secagg_quick.json)",
    )
    p.add_argument("--out", default=None)
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="the plays in this many processes (one TF thread each)",
    )
    p.add_argument(
        "--rerun-baseline",
        action="store_true",
        help="rerun the scheme before issue 12 too (default: keep the baseline of the report being replaced)",
    )
    p.add_argument("--table", type=Path, default=None, help="print the markdown table of a report and exit")
    a = p.parse_args()
    if a.clip is not None and a.scheme != "secagg":
        p.error("--clip applies to --scheme secagg only")
    if a.table:
        print(markdown(json.loads(a.table.read_text())))
        return
    from offchain.ml.train import limit_threads

    limit_threads(1)
    rounds, anvil_rounds = (3, 2) if a.quick else (a.rounds, a.anvil_rounds)
    setup = Setup(dataset=a.dataset, model=a.model, trainers=a.trainers, validators=a.validators, rounds=rounds)
    rate = GasRate(a.gas_price_gwei, a.tokens_per_eth)
    if a.scheme == "secagg":
        out = a.out or ("incentives_secagg_quick.json" if a.quick else "incentives_secagg.json")
        secure = secagg_incentives(
            setup,
            validators=a.validators,
            jobs=a.jobs,
            deviator=a.deviator,
            clip=a.clip,
            rate=rate,
            out=out,
            plot_path=out.replace(".json", ".png"),
        )
        print(markdown(secure))
        return
    out = a.out or ("incentives_quick.json" if a.quick else "incentives.json")
    report = incentives(
        setup,
        validators=a.validators,
        jobs=a.jobs,
        rerun_baseline=a.rerun_baseline,
        deviator=a.deviator,
        anvil_rounds=anvil_rounds,
        rate=rate,
        out=out,
        plot_path=out.replace(".json", ".png"),
    )
    print(markdown(report))


if __name__ == "__main__":
    main()
