"""What a demo run does, with defaults that finish in a few minutes on 2 cores."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoConfig:
    dataset: str = "mnist-5k"
    model: str = "mlp"
    trainers: int = 4
    validators: int = 3
    rounds: int = 5
    partition: str = "dirichlet:0.5"
    rule: str = "consensus_fedavg"
    rule_params: tuple[int, ...] = ()
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 0.1
    reward_pool: int = 1_000 * 10**18  # token base units
    eval_samples: int = 1_000
    seed: int = 0
    phase_seconds: int = 120  # upper bound of each phase; phases end early when everyone acted
    registration_seconds: int = 15  # the demo stakes for everyone first (all at once: a few blocks); this bounds that
    exit_cooldown_seconds: int = 5  # also the penalty window after the last round
    poll_seconds: float = 0.5
    timeout_seconds: float = 1_200
    tf_threads: int | None = (
        None  # per worker process; None: the setting if given, else 1 when workers outnumber the cores
    )
    privacy: str = "plaintext"  # plaintext | sealed | secagg
    epsilon: float | None = None  # differential-privacy budget of the task (None: no DP)
    delta: float = 1e-5
    clip: float = 10.0  # the task's bound on an update's change (the DP clip)
    min_contributors: int | None = None  # secagg; None: all trainers but one
    dp_unit: str = "sample"  # what ε protects (with an epsilon): each sample (DP-FedSGD) or a trainer's data

    def __post_init__(self) -> None:
        if not 1 <= self.trainers <= 8 or not 1 <= self.validators <= 8:
            raise ValueError("the demo runs 1-8 trainers and 1-8 validators (anvil has 20 funded accounts)")
        if self.rounds < 1:
            raise ValueError("rounds must be at least 1")
        if self.tf_threads is not None and self.tf_threads < 0:
            raise ValueError(
                f"TensorFlow threads per worker must be 0 (TensorFlow's default) or more, got {self.tf_threads}"
            )
