"""The incentive schemes the benchmark compares (today's defaults for new tasks, the scheme before
issue 12, and today's terms in a SecAgg task) and the gas tables their payoffs are charged with."""

from __future__ import annotations

from dataclasses import replace

from bench.incentives_ledger import Terms
from bench.incentives_sim import Scheme
from offchain.chain.protocol import PrivacyMode, PrivacyParams
from offchain.fl.rules import parse_rule
from offchain.privacy.secagg import scale_bits_for
from offchain.services.requester import TaskSettings
from offchain.units import TOKEN

# Gas per call of today's contracts when the anvil check does not run (--anvil-rounds 0): the means this
# script's anvil check measured (reports/incentives.json "anvil_check.gas_measured").
MEASURED_GAS = {
    "approve": 46_014,
    "stake": 119_275,
    "commitUpdate": 47_685,
    "revealUpdate": 53_182,
    "attestAvailability": 64_488,
    "commitVote": 49_134,
    "revealVote": 77_184,
    "finalizeRound": 129_011,
    "slash": 51_196,
    "penalizeTrainer": 70_014,
    "claimTrainerReward": 67_079,
    "claimValidatorReward": 67_893,
    "withdraw": 53_792,
}
# A SecAgg task's trainers also call FLPrivacy (seeds with one dropout; each further dropout adds about
# 774 gas): tests/contracts/unit/test_privacy.py measures both. reports/incentives_secagg.json was run
# before FLPrivacy read the privacy slot of the parameter store (registerKey 155,744, publishMaskSeeds
# 145,626): about 0.06 DFL a round more per seed transaction than now.
SECAGG_GAS = MEASURED_GAS | {"registerKey": 96_253, "publishMaskSeeds": 86_223}
# Before issue 12: reports/gas.json as committed then (3800722; the first stake is its worst case
# "first stake"); approve, slash and penalize (unused) are not in it and come from today's contracts.
BASELINE_GAS = {
    "stake": 125_254,
    "commitUpdate": 47_663,
    "revealUpdate": 50_953,
    "commitVote": 47_910,
    "revealVote": 62_528,
    "finalizeRound": 97_299,
    "claimTrainerReward": 60_812,
    "claimValidatorReward": 61_925,
    "withdraw": 50_865,
}

# --- schemes ----------------------------------------------------------------------------------


def task_settings(rounds: int) -> TaskSettings:
    """The task a requester creates by default today (`dfl task create`), for `rounds` rounds."""
    return TaskSettings(num_rounds=rounds, registration=60, commit=120, reveal=60, attest=60, vote_commit=120)


def ledger_terms(settings: TaskSettings) -> Terms:
    """What the ledger needs of a task: stakes, collateral, slashes, penalties, quorum, share and pool."""
    return Terms(
        num_rounds=settings.num_rounds,
        reward_pool=settings.reward_pool,
        trainer_share_bps=settings.trainer_share_bps,
        quorum_bps=settings.quorum_bps,
        min_trainer_stake=settings.min_trainer_stake,
        min_validator_stake=settings.min_validator_stake,
        stake_per_sample=settings.stake_per_sample,
        trainer_non_reveal_slash_bps=settings.trainer_non_reveal_slash_bps,
        trainer_penalty_bps=settings.trainer_penalty_bps,
        validator_non_reveal_slash_bps=settings.validator_non_reveal_slash_bps,
        validator_losing_slash_bps=settings.validator_losing_slash_bps,
    )


def new_scheme(settings: TaskSettings) -> Scheme:
    return Scheme(
        name="today",
        terms=ledger_terms(settings),
        rule=parse_rule(5, list(settings.rule_params)),
        max_update_bytes=settings.max_update_bytes,
        max_delta_norm_micro=settings.max_delta_norm_micro,
        attest=True,
        score_rewards=True,
        description=(
            "today's defaults (dfl task create): consensus_fedavg (rule 5); rewards by reward score (beyond last round's change) x counted "
            "samples (capped at the others' median count), reward groups paid once; samples backed by "
            f"{settings.stake_per_sample / TOKEN:g} DFL of stake each; norm bound {settings.max_delta_norm_micro / 1e6:g}; "
            f"provably bad updates penalized {settings.trainer_penalty_bps / 100:g}% of stake; availability attested; "
            f"non-reveal slash {settings.trainer_non_reveal_slash_bps / 100:g}% (trainers) and "
            f"{settings.validator_non_reveal_slash_bps / 100:g}% (validators); losing aggregate vote "
            f"{settings.validator_losing_slash_bps / 100:g}%, reject votes in accepted rounds not slashed; "
            f"quorum {settings.quorum_bps / 100:g}%; trainers get {settings.trainer_share_bps / 100:g}% of each round's "
            f"reward; pool {settings.reward_pool // TOKEN} DFL over {settings.num_rounds} rounds"
        ),
    )


def baseline_scheme(settings: TaskSettings) -> Scheme:
    today = new_scheme(settings)
    return replace(
        today,
        name="before issue 12",
        terms=replace(today.terms, stake_per_sample=0, trainer_penalty_bps=0, old_rules=True),
        rule=parse_rule(0, [0]),
        max_delta_norm_micro=0,
        attest=False,
        score_rewards=False,
        description=(
            "the scheme before issue 12 (commit 3800722): fedavg with cap 0 (uncapped); rewards by declared samples "
            "over the updates the checks accept (decodable, finite, changed); no scores, no collateral, no penalties, "
            "no norm bound, no availability phase; a validator revealing anything but the winner of an accepted or "
            "rejected round is slashed (reject votes included); same stakes, slash rates, quorum, share and pool"
        ),
    )


def secagg_task_settings(rounds: int, clip_micro: int, num_parameters: int) -> TaskSettings:
    """The task `dfl task create --privacy secagg --max-delta-norm C` creates: today's terms, rule fedavg
    (uncapped; the only rule a sum allows), the clip C as the norm bound, no differential privacy, sums
    of at least 2 updates, and the scale that keeps any sum of the task's most trainers below 2^31."""
    settings = task_settings(rounds)
    bits = scale_bits_for(clip_micro, settings.max_trainers, 0.0, 2, num_parameters)
    return replace(
        settings,
        rule="fedavg",
        rule_params=(0,),
        max_delta_norm_micro=clip_micro,
        privacy=PrivacyParams(PrivacyMode.SECAGG, min_contributors=2, scale_bits=bits),
    )


def secagg_scheme(settings: TaskSettings) -> Scheme:
    """Today's stakes, collateral, slashes, penalties, quorum and pool in a SecAgg task (`settings` from
    `secagg_task_settings`)."""
    privacy = settings.privacy
    if privacy.mode != PrivacyMode.SECAGG:
        raise ValueError("secagg_scheme needs a SecAgg task's settings (secagg_task_settings)")
    return Scheme(
        name="secagg",
        terms=ledger_terms(settings),
        rule=parse_rule(0, list(settings.rule_params)),
        max_update_bytes=settings.max_update_bytes,
        max_delta_norm_micro=settings.max_delta_norm_micro,
        attest=True,
        score_rewards=True,
        secagg=True,
        scale_bits=privacy.scale_bits,
        description=(
            "today's terms in a secagg task: each trainer reveals only its change clipped to "
            f"C = {settings.max_delta_norm_micro / 1e6:g}, quantized at 2^-{privacy.scale_bits} and pairwise-masked "
            "(X25519, ChaCha20) with every other trainer; validators see only the sum (survivors publish seeds "
            "with dropouts): no screening or scores, fedavg = G_r + the mean of the contributors' changes, every "
            "contributor paid by its declared samples (uncapped; backed by "
            f"{settings.stake_per_sample / TOKEN:g} DFL of stake each); a sum longer than its contributors' clipped "
            "updates can make is out of bounds (nobody paid, model unchanged); at least "
            f"{privacy.min_contributors} contributors; "
            "malformed, unavailable, unregistered or seed-withholding trainers penalized "
            f"{settings.trainer_penalty_bps / 100:g}%; same slashes, quorum "
            f"{settings.quorum_bps / 100:g}%, share {settings.trainer_share_bps / 100:g}% and pool "
            f"{settings.reward_pool // TOKEN} DFL over {settings.num_rounds} rounds; no differential privacy"
        ),
    )
