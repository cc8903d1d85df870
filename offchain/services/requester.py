"""The requester's side: publish a model, its initial weights and an evaluation set to IPFS,
then register and fund the task on-chain."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import numpy as np

from offchain import task_defaults as D
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import PLAINTEXT, PrivacyParams, TaskParams
from offchain.fl.codec import encode_weights
from offchain.fl.rules import parse_rule, rule_named
from offchain.ml.models import build_model, model_from_spec, model_to_spec
from offchain.ml.weights import get_weights
from offchain.services.context import dump_npz_xy
from offchain.storage.ipfs import IpfsStore
from offchain.tokens import format_tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskSettings:
    """Everything a requester chooses; durations in seconds, amounts in token base units."""

    # Robust by default: updates that disagree with the consensus direction weigh (and earn) nothing,
    # changes longer than the median are clipped, and no change may exceed the norm bound below.
    rule: str = "consensus_fedavg"
    rule_params: tuple[int, ...] = ()
    num_rounds: int = D.NUM_ROUNDS
    registration: int = D.REGISTRATION
    commit: int = D.COMMIT
    reveal: int = D.REVEAL
    attest: int = D.ATTEST
    vote_commit: int = D.VOTE_COMMIT
    vote_reveal: int = D.VOTE_REVEAL
    exit_cooldown: int = D.EXIT_COOLDOWN
    claim_window: int = D.CLAIM_WINDOW
    min_trainer_stake: int = D.MIN_TRAINER_STAKE
    min_validator_stake: int = D.MIN_VALIDATOR_STAKE
    stake_per_sample: int = D.STAKE_PER_SAMPLE
    max_trainers: int = D.MAX_TRAINERS
    max_update_bytes: int = D.MAX_UPDATE_BYTES
    max_delta_norm_micro: int = D.MAX_DELTA_NORM_MICRO
    quorum_bps: int = D.QUORUM_BPS
    trainer_non_reveal_slash_bps: int = D.TRAINER_NON_REVEAL_SLASH_BPS
    trainer_penalty_bps: int = D.TRAINER_PENALTY_BPS
    validator_non_reveal_slash_bps: int = D.VALIDATOR_NON_REVEAL_SLASH_BPS
    validator_losing_slash_bps: int = D.VALIDATOR_LOSING_SLASH_BPS
    trainer_share_bps: int = D.TRAINER_SHARE_BPS
    reward_pool: int = D.REWARD_POOL
    privacy: PrivacyParams = PLAINTEXT  # who can read updates, and the differential-privacy budget


@dataclass(frozen=True)
class PublishedModel:
    spec_cid: str
    weights_cid: str
    eval_cid: str
    eval_sha256: bytes
    num_parameters: int
    extra: dict[str, str] = field(default_factory=dict)


def rule_id(name: str) -> int:
    return rule_named(name).id


def publish_model(
    store: IpfsStore,
    *,
    preset: str | None,
    spec_json: str | None,
    input_shape: tuple[int, ...],
    num_classes: int,
    seed: int,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
) -> PublishedModel:
    """Pin the architecture (Keras JSON), seeded initial weights and the public evaluation set."""
    model = (
        model_from_spec(spec_json)
        if spec_json
        else build_model(preset or "mlp", input_shape=input_shape, num_classes=num_classes, seed=seed)
    )
    spec_cid = store.put(model_to_spec(model).encode())
    weights = get_weights(model)
    weights_cid = store.put(encode_weights(weights))
    eval_bytes = dump_npz_xy(x_eval, y_eval)
    eval_cid = store.put(eval_bytes)
    return PublishedModel(
        spec_cid,
        weights_cid,
        eval_cid,
        hashlib.sha256(eval_bytes).digest(),
        sum(int(np.prod(w.shape)) for w in weights.values()),
    )


def create_task(chain: TaskManager, published: PublishedModel, settings: TaskSettings) -> int:
    rid = rule_id(settings.rule)
    parse_rule(rid, list(settings.rule_params))  # fail here, not in every validator
    params = TaskParams(
        model_spec_cid=published.spec_cid,
        initial_model_cid=published.weights_cid,
        eval_dataset_cid=published.eval_cid,
        eval_dataset_hash=published.eval_sha256,
        rule_id=rid,
        rule_params=tuple(settings.rule_params),
        num_rounds=settings.num_rounds,
        registration_duration=settings.registration,
        commit_duration=settings.commit,
        reveal_duration=settings.reveal,
        attest_duration=settings.attest,
        vote_commit_duration=settings.vote_commit,
        vote_reveal_duration=settings.vote_reveal,
        exit_cooldown=settings.exit_cooldown,
        claim_window=settings.claim_window,
        min_trainer_stake=settings.min_trainer_stake,
        min_validator_stake=settings.min_validator_stake,
        stake_per_sample=settings.stake_per_sample,
        max_trainers_per_round=settings.max_trainers,
        max_update_bytes=settings.max_update_bytes,
        max_delta_norm_micro=settings.max_delta_norm_micro,
        quorum_bps=settings.quorum_bps,
        trainer_non_reveal_slash_bps=settings.trainer_non_reveal_slash_bps,
        trainer_penalty_bps=settings.trainer_penalty_bps,
        validator_non_reveal_slash_bps=settings.validator_non_reveal_slash_bps,
        validator_losing_slash_bps=settings.validator_losing_slash_bps,
        trainer_share_bps=settings.trainer_share_bps,
        reward_pool=settings.reward_pool,
        privacy=settings.privacy,
    )
    task_id = chain.create_task(params)
    log.info(
        "task %d created: rule %s, %d rounds, pool %s DFL",
        task_id,
        settings.rule,
        settings.num_rounds,
        format_tokens(settings.reward_pool),
    )
    return task_id
