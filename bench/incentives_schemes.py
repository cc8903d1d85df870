"""The two incentive schemes the benchmark compares (today's defaults for new tasks, and the scheme
before issue 12) and the gas tables their payoffs are charged with."""

from __future__ import annotations

from dataclasses import replace

from bench.incentives_ledger import Terms
from bench.incentives_sim import Scheme
from offchain.fl.rules import parse_rule
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


def new_scheme(settings: TaskSettings) -> Scheme:
    terms = Terms(
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
    return Scheme(
        name="today",
        terms=terms,
        rule=parse_rule(5, list(settings.rule_params)),
        max_update_bytes=settings.max_update_bytes,
        max_delta_norm_micro=settings.max_delta_norm_micro,
        attest=True,
        score_rewards=True,
        description=(
            "today's defaults (dfl task create): consensus_fedavg (rule 5); rewards by score x samples; samples backed by "
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
