"""The agents of the incentive simulation (`bench/incentives.py`): who they are, what each strategy
sends, and the training and evaluation they share (`Workshop`, which caches by input so that runs
that reach the same global model do not train twice).

Trainer strategies (each agent owns one data share; its honest self is the reference):
  honest             trains one epoch from G_r, clips to the task's norm bound, declares the samples
                     its stake backs (the `dfl trainer` worker's behaviour)
  free_rider         sends G_r unchanged
  noisy_free_rider   sends G_r + N(0, 0.001^2) per coordinate (no training)
  inflate_x10        trains honestly, declares 10x its samples with the honest stake
  inflate_max        trains honestly, declares 2^32 samples (the most any rule counts) with the honest stake
  gaussian_noise     sends G_r + N(0, 1) per coordinate (the robustness benchmark's attack)
  sign_flip          trains honestly, sends G_r - 4 x its change
  label_flip         trains honestly on labels y -> 9 - y
  sybil_split_3      its share split over 3 accounts, each staking and training honestly on a third
  non_reveal         commits every round and never reveals
  inflate_x10_backed declares 10x its samples and stakes 10x, so the contract accepts the reveal
  inflate_x3_backed  the same with 3x
  delta_replay       no training: sends G_r + (G_r - G_{r-1}), last round's global change again
                     (round 0: like noisy_free_rider), clipped to the norm bound
  delta_replay_noisy delta_replay plus N(0, 0.001^2) per coordinate
  sybil_copies_3     3 accounts, each staking for and declaring a third of the share, all sending the
                     one update trained on the whole share: sybil_split_3 without the smaller local
                     datasets, to tell its two effects apart
  sybil_split_3_backed  sybil_split_3 where each account declares (and stakes for) the whole share
  duplicate_3        3 accounts, each declaring (and staking for) the whole share, all sending the one
                     update trained on it: one piece of work revealed three times
  cross_task_copy    no training of its own: sends the update an honest trainer of a sister task (same
                     model, its own initial weights, as `dfl task create` now draws them) trained on
                     the same data, copied from the sister task's public pins
and a probe:
  cross_task_copy_same_init  cross_task_copy where the sister task reused this task's initial weights

Under the secagg scheme each trainer pins a masked vector instead (`bench/incentives_secagg.py`): the
change from G_r of what its strategy sends, clipped to the task's C and quantized.

Validator strategies: honest (holds and attests every update, computes the round, votes the receipt or
reject when the aggregate is worse than G_r on its own data by more than 0.02, as `dfl validator`);
lazy (computes nothing; commit-reveal hides the others' vote, so it can abstain, vote reject, or vote
a stale proposal: `lazy` is the best of the three, the variants are reported too); colluding_minority
(a minority that cannot reach quorum, holding and attesting like honest validators, votes a receipt
that pays the whole trainer pool to one trainer of their choosing).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from eth_account import Account
from eth_account.signers.local import LocalAccount

from offchain.fl.clipping import clip_to_bound
from offchain.fl.codec import encode_weights
from offchain.fl.records import Update, Verdict
from offchain.fl.screening import check_values
from offchain.services.local_model import LocalModel, TrainingConfig
from offchain.types import NamedWeights

TRAINER_STRATEGIES = (
    "honest",
    "free_rider",
    "noisy_free_rider",
    "inflate_x10",
    "inflate_max",
    "gaussian_noise",
    "sign_flip",
    "label_flip",
    "sybil_split_3",
    "non_reveal",
    "inflate_x10_backed",
    "inflate_x3_backed",
    "delta_replay",
    "delta_replay_noisy",
    "sybil_copies_3",
    "sybil_split_3_backed",
    "duplicate_3",
    "cross_task_copy",
)
# Probes: reported, but outside what the scheme promises (see docs/protocol.md, "Incentives").
PROBE_STRATEGIES = ("cross_task_copy_same_init",)
LAZY_VARIANTS = ("lazy_abstain", "lazy_reject", "lazy_stale")

NOISY_SIGMA = 1e-3
GAUSSIAN_SIGMA = 1.0
SIGN_FLIP_SCALE = -4.0
INFLATE_FACTOR = 10
INFLATE_MAX_SAMPLES = 2**32  # offchain.fl.rules.MAX_SAMPLES: no rule counts more
SYBIL_ACCOUNTS = 3


def signer(name: str) -> LocalAccount:
    """The agent's key, derived from its name: the same account in every run and on anvil."""
    return Account.from_key(hashlib.sha256(f"dfl-incentives-{name}".encode()).digest())


@dataclass(frozen=True)
class TrainerAgent:
    name: str
    holder: int  # whose data share (sybil accounts share their holder's)
    indices: np.ndarray = field(repr=False, compare=False)
    strategy: str
    seed: int
    stake_factor: int = 1  # inflate_x10_backed stakes 10x
    train_on: np.ndarray | None = field(default=None, repr=False, compare=False)  # default: `indices`

    @property
    def training_indices(self) -> np.ndarray:
        return self.indices if self.train_on is None else self.train_on

    @property
    def address(self) -> str:
        return signer(self.name).address.lower()

    @property
    def samples(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class ValidatorAgent:
    name: str
    index: int  # its slice of the test split is its own evaluation data
    strategy: str

    @property
    def address(self) -> str:
        return signer(self.name).address.lower()

    @property
    def attests(self) -> bool:
        return self.strategy in ("honest", "colluding_minority")


def trainer_agents(parts: list[np.ndarray], roles: dict[int, str], seed: int) -> list[TrainerAgent]:
    """One agent per data share (three for a sybil); holder i plays roles.get(i, "honest")."""
    agents: list[TrainerAgent] = []
    for i, idx in enumerate(parts):
        role = roles.get(i, "honest")
        if role == "sybil_split_3":
            for k, piece in enumerate(np.array_split(idx, SYBIL_ACCOUNTS)):
                agents.append(TrainerAgent(f"trainer-{i}-sybil-{k}", i, piece, "honest", seed + i + 100 * (k + 1)))
        elif role == "sybil_copies_3":
            for k, piece in enumerate(np.array_split(idx, SYBIL_ACCOUNTS)):
                agents.append(TrainerAgent(f"trainer-{i}-copy-{k}", i, piece, "honest", seed + i, train_on=idx))
        elif role == "sybil_split_3_backed":
            for k, piece in enumerate(np.array_split(idx, SYBIL_ACCOUNTS)):
                name = f"trainer-{i}-sybil-{k}"
                agents.append(TrainerAgent(name, i, piece, "declare_share", seed + i + 100 * (k + 1), SYBIL_ACCOUNTS))
        elif role == "duplicate_3":
            for k in range(SYBIL_ACCOUNTS):
                agents.append(TrainerAgent(f"trainer-{i}-dup-{k}", i, idx, "honest", seed + i))
        else:
            factor = {"inflate_x10_backed": INFLATE_FACTOR, "inflate_x3_backed": 3}.get(role, 1)
            agents.append(TrainerAgent(f"trainer-{i}", i, idx, role, seed + i, factor))
    return agents


def validator_agents(count: int, roles: dict[int, str]) -> list[ValidatorAgent]:
    return [ValidatorAgent(f"validator-{v}", v, roles.get(v, "honest")) for v in range(count)]


@dataclass(frozen=True)
class Plan:
    """What a trainer commits to: the update it pins, the samples it declares, whether it reveals."""

    update: bytes
    samples: int
    reveal: bool = True


@dataclass(frozen=True)
class GlobalModel:
    bytes: bytes
    weights: NamedWeights
    cid: str  # what the round's receipt names as parent: the initial weights or the last winning receipt
    previous: NamedWeights | None  # G_{r-1}, for delta_replay


@dataclass
class Workshop:
    """Training and evaluation through the workers' own `LocalModel`, cached by their inputs."""

    model: LocalModel
    x: np.ndarray
    y: np.ndarray
    num_classes: int
    training: TrainingConfig
    bound_micro: int = 0
    initial: GlobalModel | None = None  # this task's G_0
    sister_initial: GlobalModel | None = None  # a sister task's own G_0 (same model, another seed)
    trained: int = 0
    _updates: dict[tuple[Any, ...], bytes] = field(default_factory=dict)
    _sister: dict[tuple[Any, ...], GlobalModel] = field(default_factory=dict)
    _accuracy: dict[tuple[str, int], float] = field(default_factory=dict)

    def train(self, agent: TrainerAgent, g: GlobalModel, round_id: int, *, flip: bool = False) -> bytes:
        """The agent's full weights after one round of local training from G_r (unclipped)."""
        x_idx = agent.training_indices
        key = (agent.holder, agent.seed, len(x_idx), flip, _digest(g.bytes), round_id)
        if key not in self._updates:
            y = self.y[x_idx]
            labels = (self.num_classes - 1 - y) if flip else y
            config = TrainingConfig(
                epochs=self.training.epochs,
                batch_size=self.training.batch_size,
                learning_rate=self.training.learning_rate,
                optimizer=self.training.optimizer,
                seed=agent.seed,
            )
            self._updates[key], _ = self.model.train(g.bytes, self.x[x_idx], labels, config, round_seed=round_id)
            self.trained += 1
        return self._updates[key]

    def sister_update(self, agent: TrainerAgent, round_id: int, *, same_init: bool) -> bytes:
        """What an honest trainer of a sister task sends in round `round_id`: its update trained on the
        agent's share from the sister's global model. The sister task has that one trainer, so its
        G'_{r+1} is that update; it starts from its own initial weights, or from this task's."""
        start = self.initial if same_init else self.sister_initial
        assert start is not None, "the workshop needs both initial models for cross_task_copy"
        g = start
        for r in range(round_id + 1):
            key = (agent.holder, same_init, r)
            if key not in self._sister:
                update = self.train(agent, g, r)
                self._sister[key] = GlobalModel(update, self.model.decode(update), "", g.weights)
            if r < round_id:
                g = self._sister[key]
        return self._sister[(agent.holder, same_init, round_id)].bytes

    def accuracy(self, model_bytes: bytes, weights: NamedWeights, x: np.ndarray, y: np.ndarray, slot: int) -> float:
        """Accuracy of `weights` on evaluation set number `slot` (cached by the model's bytes)."""
        key = (_digest(model_bytes), slot)
        if key not in self._accuracy:
            self._accuracy[key] = self.model.evaluate(weights, x, y).accuracy
        return self._accuracy[key]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _noise(g: NamedWeights, sigma: float, seed: int) -> NamedWeights:
    rng = np.random.default_rng(seed)
    return {
        k: (v + rng.standard_normal(v.shape).astype(np.float32) * np.float32(sigma)).astype(np.float32)
        for k, v in sorted(g.items())
    }


def plan(
    agent: TrainerAgent, g: GlobalModel, round_id: int, backed: int | None, shop: Workshop, noise_seed: int
) -> Plan | None:
    """The agent's commitment this round; None if it sits the round out (an honest trainer whose update
    validators would reject, or one whose stake backs no sample). `backed` is the number of samples
    its stake backs (None: no collateral in this scheme)."""
    s = agent.strategy
    honest_samples = agent.samples if backed is None else min(agent.samples, backed)
    if s in ("inflate_x10", "inflate_x10_backed", "inflate_x3_backed", "inflate_max", "declare_share"):
        factor = {"inflate_x3_backed": 3, "declare_share": SYBIL_ACCOUNTS}.get(s, INFLATE_FACTOR)
        samples = INFLATE_MAX_SAMPLES if s == "inflate_max" else factor * agent.samples
        if backed is not None and samples > backed:
            return Plan(g.bytes, samples)  # it commits; the reveal would revert (samples not backed)
        update = _honest(agent, g, round_id, shop)
        return None if update is None else Plan(update, samples)
    if honest_samples == 0:
        return None
    if s == "honest":
        update = _honest(agent, g, round_id, shop)
        return None if update is None else Plan(update, honest_samples)
    if s == "non_reveal":
        return Plan(g.bytes, honest_samples, reveal=False)  # never revealed: nothing worth training
    if s == "free_rider":
        return Plan(g.bytes, honest_samples)
    if s == "noisy_free_rider":
        return Plan(encode_weights(_noise(g.weights, NOISY_SIGMA, noise_seed)), honest_samples)
    if s == "gaussian_noise":
        return Plan(encode_weights(_noise(g.weights, GAUSSIAN_SIGMA, noise_seed)), honest_samples)
    if s == "delta_replay":
        return Plan(encode_weights(_replay(g, shop.bound_micro, noise_seed)), honest_samples)
    if s == "delta_replay_noisy":
        return Plan(
            encode_weights(_noise(_replay(g, shop.bound_micro, noise_seed), NOISY_SIGMA, noise_seed + 1)),
            honest_samples,
        )
    if s in ("cross_task_copy", "cross_task_copy_same_init"):
        return Plan(shop.sister_update(agent, round_id, same_init=s.endswith("same_init")), honest_samples)
    if s == "sign_flip":
        w = shop.model.decode(shop.train(agent, g, round_id))
        flipped = {
            k: (g.weights[k] + np.float32(SIGN_FLIP_SCALE) * (v - g.weights[k])).astype(np.float32)
            for k, v in w.items()
        }
        return Plan(encode_weights(flipped), honest_samples)
    if s == "label_flip":
        return Plan(shop.train(agent, g, round_id, flip=True), honest_samples)
    raise ValueError(f"unknown trainer strategy {s!r}")


def _honest(agent: TrainerAgent, g: GlobalModel, round_id: int, shop: Workshop) -> bytes | None:
    """`dfl trainer`'s update: trained, clipped to the bound, never one the validators would reject."""
    weights = shop.model.decode(shop.train(agent, g, round_id))
    clipped = clip_to_bound(weights, g.weights, shop.bound_micro)
    if isinstance(check_values(Update(agent.address, 1, clipped), g.weights, shop.bound_micro), Verdict):
        return None
    return encode_weights(clipped)


def _replay(g: GlobalModel, bound_micro: int, seed: int) -> NamedWeights:
    if g.previous is None:
        return _noise(g.weights, NOISY_SIGMA, seed)
    replay = {k: (2 * g.weights[k].astype(np.float64) - g.previous[k]).astype(np.float32) for k in g.weights}
    if all(replay[k].tobytes() == g.weights[k].tobytes() for k in g.weights):  # the last round kept G
        return _noise(g.weights, NOISY_SIGMA, seed)
    return clip_to_bound(replay, g.weights, bound_micro)
