"""One run of the incentive simulation: a task of R rounds played by trainer and validator agents
against a ledger (the chain-free mirror `MirrorLedger`, or the real contracts on anvil through
`bench/incentives_chain.py`; both take the same calls).

Each round follows the order the workers follow: trainers commit, then reveal; validators attest
(today's scheme) and every validator's result is the real round computation
(`offchain.fl.round.compute_round` on the revealed bytes, the chain's reveals and attestations;
under the `secagg` scheme trainers reveal masked vectors, the survivors publish their seeds with the
round's dropouts, and validators run `offchain.fl.secure_round.compute_secure_round` instead);
votes are committed, revealed, and the round finalized; then the round's housekeeper (an honest
validator, in turn) slashes non-revealers and applies the winning receipt's penalties, all before
the next round's commits. After the last round every trainer claims each reward its receipts give
it and every validator claims or settles its last round, as the workers do when a task completes.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from bench.incentives_agents import (
    GlobalModel,
    Plan,
    TrainerAgent,
    ValidatorAgent,
    Workshop,
    plan,
)
from bench.incentives_ledger import Due, Status, Terms
from bench.incentives_secagg import SecaggRound, flat_change, mask_key
from offchain.chain.protocol import (
    ZERO_ROOT,
    backed_samples,
    proposal_hash,
    stake_backing,
    update_commitment,
    vote_commitment,
)
from offchain.fl.availability import Attestation, bitmap
from offchain.fl.merkle import build_penalty_tree, build_tree
from offchain.fl.rewards import allocate
from offchain.fl.round import Reveal, RoundResult, RoundTerms, compute_round
from offchain.fl.rules import RuleConfig
from offchain.fl.screening import Checks
from offchain.fl.secure_round import compute_secure_round
from offchain.privacy.keys import public_key_bytes
from offchain.storage.cid import compute_cid
from offchain.types import TensorSpec
from offchain.workers.validator import ADDRESSING, ValidatorOptions, rejects_aggregate

REJECT_TOLERANCE = ValidatorOptions.tolerance  # `dfl validator`'s default


class Ledger(Protocol):
    """What the simulation calls: the contract's actions and views (see `MirrorLedger`)."""

    def advance(self, phase: str) -> None: ...
    def account(self, address: str) -> Any: ...
    def trainer_pool(self) -> int: ...
    def reveals(self, round_id: int) -> list[Reveal]: ...
    def attestations(self, round_id: int) -> list[Attestation]: ...
    def due(self, address: str) -> Due | None: ...
    def stake(self, address: str, role: str, amount: int) -> None: ...
    def commit_update(self, address: str, commitment: bytes) -> None: ...
    def commit_vote(self, address: str, commitment: bytes) -> None: ...
    def reveal_update(self, address: str, cid: str, num_samples: int, salt: bytes) -> int: ...
    def attest(self, address: str, held: bytes) -> None: ...
    def reveal_vote(self, address: str, cid: str, reward_root: bytes, penalty_root: bytes, salt: bytes) -> None: ...
    def register_key(self, address: str, public_key: bytes) -> None: ...
    def publish_seeds(self, address: str, seeds: bytes) -> None: ...
    def finalize(self, address: str) -> Any: ...
    def slash(self, sender: str, round_id: int, address: str) -> None: ...
    def penalize(self, sender: str, round_id: int, trainer: str, proof: list[bytes]) -> None: ...
    def claim_trainer(self, address: str, round_id: int, amount: int, proof: list[bytes]) -> None: ...
    def claim_validator(self, address: str, round_id: int) -> int: ...
    def validator_reward(self, address: str, round_id: int) -> int: ...
    def withdraw(self, address: str) -> int: ...


@dataclass(frozen=True)
class Scheme:
    """An incentive scheme: the ledger's arithmetic, the rule and checks, how rewards are weighed."""

    name: str
    terms: Terms
    rule: RuleConfig
    max_update_bytes: int
    max_delta_norm_micro: int
    attest: bool  # today's scheme has an Attest phase (availability)
    score_rewards: bool  # rewards by the receipt (today, secagg), or by samples over accepted updates (before issue 12)
    description: str
    secagg: bool = False  # trainers reveal masked vectors clipped to max_delta_norm_micro; validators see the sum
    scale_bits: int = 0  # secagg: updates quantized to multiples of 2^-scale_bits


@dataclass(frozen=True)
class Proposal:
    cid: str  # "" for reject
    reward_root: bytes
    penalty_root: bytes
    leaves: tuple[tuple[str, int], ...] = ()
    penalties: tuple[str, ...] = ()

    @property
    def hash(self) -> bytes:
        return proposal_hash(self.cid, self.reward_root, self.penalty_root)


REJECT = Proposal("", ZERO_ROOT, ZERO_ROOT)


@dataclass
class RoundLog:
    round: int
    status: str
    reveals: int
    accepted: int
    penalized: list[str]
    votes: dict[str, str]
    trainer_pool: int
    scores: dict[str, int]  # agent -> score_ppm in the computed receipt (accepted by the checks; secagg: 1e6)
    paid: dict[str, int]  # agent -> reward in the winning receipt
    reward_scores: dict[str, int] = field(default_factory=dict)  # agent -> reward_ppm in the computed receipt
    groups: dict[str, str] = field(default_factory=dict)  # agent -> the first agent of its reward group, if not alone
    validator_paid: dict[str, int] = field(default_factory=dict)  # validator -> its reward for this round
    secure_sum: str | None = None  # secagg: the computed sum's status (ok, out_of_bounds, ...)


@dataclass
class RunResult:
    rounds: list[RoundLog] = field(default_factory=list)
    final_weights: Any = None


@dataclass
class Run:
    scheme: Scheme
    trainers: list[TrainerAgent]
    validators: list[ValidatorAgent]
    shop: Workshop
    ledger: Ledger
    specs: tuple[TensorSpec, ...]
    initial: GlobalModel
    eval_sets: list[tuple[np.ndarray, np.ndarray]]  # validator v evaluates on eval_sets[v]
    validator_stake: int
    colluder_beneficiary: str = ""  # the trainer a colluding minority's receipt pays
    task_id: int = 1
    label: str = "run"
    _last_winner: Proposal = REJECT
    _owed: list[tuple[int, tuple[tuple[str, int], ...]]] = field(default_factory=list)  # rewards to claim

    # --- set-up -------------------------------------------------------------------------------

    def trainer_stake(self, agent: TrainerAgent) -> int:
        """`dfl trainer`'s stake: the minimum, or enough to back every sample (x10 for the backed inflater)."""
        t = self.scheme.terms
        return max(t.min_trainer_stake, agent.stake_factor * stake_backing(agent.samples, t.stake_per_sample))

    def register(self) -> None:
        for a in self.trainers:
            self.ledger.stake(a.address, "trainer", self.trainer_stake(a))
            if self.scheme.secagg:
                self.ledger.register_key(a.address, public_key_bytes(mask_key(a.name)))
        for v in self.validators:
            self.ledger.stake(v.address, "validator", self.validator_stake)
        self.ledger.advance("registration")

    # --- rounds ---------------------------------------------------------------------------------

    def play(self, rounds: int, *, before_withdraw: Callable[[], None] | None = None) -> RunResult:
        """Register, play `rounds` rounds, claim and settle, then everyone withdraws its stake."""
        self.register()
        g = self.initial
        result = RunResult()
        for r in range(rounds):
            g, log = self.play_round(r, g)
            result.rounds.append(log)
        self.settle_all(result)
        if before_withdraw:
            before_withdraw()
        for address in [a.address for a in self.trainers] + [v.address for v in self.validators]:
            self.ledger.withdraw(address)
        result.final_weights = g.weights
        return result

    def play_round(self, r: int, g: GlobalModel) -> tuple[GlobalModel, RoundLog]:
        plans = self._commit_updates(r, g)
        self.ledger.advance("commit")
        contents = self._reveal_updates(r, plans)
        self.ledger.advance("reveal")
        reveals = self.ledger.reveals(r)
        seeds = self._publish_seeds(r, reveals) if self.scheme.secagg else {}
        attestations = self._attest(r, len(reveals))
        terms = RoundTerms(
            task_id=self.task_id,
            round_id=r,
            rule=self.scheme.rule,
            checks=Checks(self.specs, self.scheme.max_update_bytes, self.scheme.max_delta_norm_micro),
            quorum_bps=self.scheme.terms.quorum_bps,
            trainer_pool=self.ledger.trainer_pool(),
        )
        computed = self._compute(terms, g, reveals, attestations, contents, seeds)
        honest = self._proposal(computed, reveals, terms.trainer_pool)
        votes = self._votes(r, g, computed, honest)
        proposals = {p.hash: p for p in (*votes.values(), honest)}
        housekeeper = self._housekeeper(r)
        for v, p in votes.items():
            self.ledger.commit_vote(
                v.address, vote_commitment(self.task_id, r, v.address, p.hash, self._salt(r, v.name))
            )
        self.ledger.advance("vote_commit")
        for v, p in votes.items():
            self.ledger.reveal_vote(v.address, p.cid, p.reward_root, p.penalty_root, self._salt(r, v.name))
        self.ledger.advance("vote_reveal")
        outcome = self.ledger.finalize(housekeeper)
        status = Status(int(outcome.status))
        validator_paid = {v.name: self.ledger.validator_reward(v.address, r) for v in votes}
        winner = proposals.get(self._winning_hash(votes, outcome), REJECT)
        self._slash_due(r, housekeeper, [a.address for a in plans] + [v.address for v in votes])
        next_g = g
        if status == Status.ACCEPTED:
            self._apply_penalties(r, housekeeper, winner)
            self._last_winner = winner
            self._owed.append((r, winner.leaves))
            next_g = GlobalModel(computed.model_bytes, computed.weights, winner.cid, g.weights)
        log = RoundLog(
            round=r,
            status=status.name.lower(),
            reveals=len(reveals),
            accepted=len(computed.accepted),
            penalized=[self._name(t) for t in winner.penalties] if status == Status.ACCEPTED else [],
            votes={
                v.name: ("reject" if not p.cid else "honest" if p.hash == honest.hash else "other")
                for v, p in votes.items()
            },
            trainer_pool=terms.trainer_pool,
            scores={self._name(u.trainer): u.score_ppm for u in computed.receipt.updates if u.accepted},
            paid={self._name(a): amount for a, amount in winner.leaves} if status == Status.ACCEPTED else {},
            secure_sum=computed.receipt.secure_sum.status if computed.receipt.secure_sum else None,
            validator_paid=validator_paid,
            reward_scores={self._name(u.trainer): u.reward_ppm for u in computed.receipt.updates if u.accepted},
            groups=_groups(computed.receipt.updates, self._name),
        )
        return next_g, log

    def _name(self, address: str) -> str:
        agents: list[TrainerAgent | ValidatorAgent] = [*self.trainers, *self.validators]
        return next((a.name for a in agents if a.address == address.lower()), address)

    # --- trainers --------------------------------------------------------------------------------

    def _commit_updates(self, r: int, g: GlobalModel) -> dict[TrainerAgent, Plan]:
        plans: dict[TrainerAgent, Plan] = {}
        for a in self.trainers:
            account = self.ledger.account(a.address)
            if not account.active:
                continue
            backed = backed_samples(account.stake, self.scheme.terms.stake_per_sample)
            p = plan(a, g, r, backed, self.shop, self._noise_seed(r, a.name))
            if p is None:
                continue
            if self.scheme.secagg:  # it pins only the masked vector; every strategy's change is clipped to C
                # on the way (a rational attacker clips too, to stay paid: see SecaggRound.masked)
                p = dataclasses.replace(p, update=self._masked(r, a, g, p.update))
            cid = compute_cid(p.update)
            self.ledger.commit_update(
                a.address, update_commitment(self.task_id, r, a.address, cid, p.samples, self._salt(r, a.name))
            )
            plans[a] = p
        return plans

    def _reveal_updates(self, r: int, plans: dict[TrainerAgent, Plan]) -> dict[int, bytes]:
        contents: dict[int, bytes] = {}
        for a, p in plans.items():
            backed = backed_samples(self.ledger.account(a.address).weight, self.scheme.terms.stake_per_sample)
            if not p.reveal or (backed is not None and p.samples > backed):
                continue  # a reveal the contract refuses is not sent (its gas estimate reverts)
            index = self.ledger.reveal_update(a.address, compute_cid(p.update), p.samples, self._salt(r, a.name))
            contents[index] = p.update
        return contents

    # --- secagg ---------------------------------------------------------------------------------

    def _secagg_round(self, r: int) -> SecaggRound:
        names = {a.address: a.name for a in self.trainers}
        return SecaggRound.of(names, self.task_id, r, self.scheme.max_delta_norm_micro, self.scheme.scale_bits)

    def _masked(self, r: int, agent: TrainerAgent, g: GlobalModel, update: bytes) -> bytes:
        change = flat_change(self.shop.model.decode(update), g.weights)
        return self._secagg_round(r).masked(agent.address, agent.name, change, self._quantize_seed(r, agent.name))

    def _publish_seeds(self, r: int, reveals: list[Reveal]) -> dict[str, bytes]:
        """In the Attest phase, every trainer of the key set that revealed publishes its seeds with the
        dropouts (`dfl trainer` does; validators wait for them), if there are any."""
        secure = self._secagg_round(r)
        dropouts = secure.dropouts([rv.trainer for rv in reveals])
        if not dropouts:
            return {}
        seeds: dict[str, bytes] = {}
        for rv in reveals:
            if rv.trainer in secure.key_set:
                seeds[rv.trainer] = secure.seeds(rv.trainer, self._name(rv.trainer), dropouts)
                self.ledger.publish_seeds(rv.trainer, seeds[rv.trainer])
        return seeds

    # --- validators ---------------------------------------------------------------------------

    def _compute(
        self,
        terms: RoundTerms,
        g: GlobalModel,
        reveals: list[Reveal],
        attestations: list[Attestation],
        contents: dict[int, bytes],
        seeds: dict[str, bytes],
    ) -> RoundResult:
        """Every honest validator's result: the plaintext round, or the secure sum."""
        if not self.scheme.secagg:
            return compute_round(terms, g.cid, g.weights, reveals, attestations, contents, ADDRESSING, g.previous)
        secure = self._secagg_round(terms.round_id)
        key_set = list(secure.key_set)
        return compute_secure_round(
            terms, secure.terms, g.cid, g.weights, reveals, attestations, key_set, seeds, contents, ADDRESSING
        )

    def _attest(self, r: int, reveals: int) -> list[Attestation]:
        if not self.scheme.attest:  # before issue 12 every revealed update was considered
            total = sum(self.ledger.account(v.address).stake for v in self.validators if self._active(v))
            return [Attestation("0x" + "00" * 20, bitmap(list(range(reveals)), reveals), total, total)] if total else []
        for v in self.validators:
            if v.attests and self._active(v):
                self.ledger.attest(v.address, bitmap(list(range(reveals)), reveals))
        self.ledger.advance("attest")
        return self.ledger.attestations(r)

    def _active(self, v: ValidatorAgent) -> bool:
        return bool(self.ledger.account(v.address).active)

    def _proposal(self, result: RoundResult, reveals: list[Reveal], trainer_pool: int) -> Proposal:
        """The honest validators' proposal: today's receipt, or the reward split before issue 12
        (by declared samples, uncapped, over the accepted updates; no penalties)."""
        if result.void:
            return REJECT
        cid = compute_cid(result.receipt_bytes)
        if self.scheme.score_rewards:
            return Proposal(
                cid, result.reward_root, result.penalty_root, result.receipt.rewards, result.receipt.penalties
            )
        samples = {rv.trainer: rv.num_samples for rv in reveals}
        leaves = tuple(allocate(trainer_pool, {t: samples[t] for t in result.accepted}))
        root = build_tree(list(leaves)).root if leaves else ZERO_ROOT
        return Proposal(cid, root, ZERO_ROOT, leaves)

    def _colluding(self, result: RoundResult, honest: Proposal, trainer_pool: int) -> Proposal:
        """A receipt like the honest one that pays the whole trainer pool to the colluders' trainer."""
        leaves = ((self.colluder_beneficiary, trainer_pool),)
        root = build_tree(list(leaves)).root
        receipt = dataclasses.replace(result.receipt, rewards=leaves, reward_root="0x" + root.hex())
        return Proposal(compute_cid(receipt.to_bytes()), root, honest.penalty_root, leaves, honest.penalties)

    def _votes(self, r: int, g: GlobalModel, result: RoundResult, honest: Proposal) -> dict[ValidatorAgent, Proposal]:
        votes: dict[ValidatorAgent, Proposal] = {}
        for v in self.validators:
            if not self._active(v):
                continue
            s = v.strategy
            if s == "honest":
                votes[v] = self._judge(v, g, result, honest)
            elif s == "colluding_minority":
                votes[v] = self._colluding(result, honest, self.ledger.trainer_pool())
            elif s == "lazy_reject":
                votes[v] = REJECT
            elif s == "lazy_stale":
                votes[v] = self._last_winner
            elif s not in ("lazy_abstain", "lazy"):
                raise ValueError(f"unknown validator strategy {s!r}")
        return votes

    def _judge(self, v: ValidatorAgent, g: GlobalModel, result: RoundResult, honest: Proposal) -> Proposal:
        """`dfl validator`'s vote: the receipt, or reject if the aggregate is worse than G_r on its data."""
        if result.void or not result.accepted:
            return honest
        x, y = self.eval_sets[v.index]
        before = self.shop.accuracy(g.bytes, g.weights, x, y, v.index)
        after = self.shop.accuracy(result.model_bytes, result.weights, x, y, v.index)
        return REJECT if rejects_aggregate(before, after, REJECT_TOLERANCE) else honest

    def _winning_hash(self, votes: dict[ValidatorAgent, Proposal], outcome: Any) -> bytes:
        tally: dict[bytes, int] = {}
        for v, p in votes.items():
            tally[p.hash] = tally.get(p.hash, 0) + self.ledger.account(v.address).weight
        top = [h for h, stake in tally.items() if stake == outcome.winning_stake and stake > 0]
        return top[0] if top else b""

    def _housekeeper(self, r: int) -> str:
        honest = [v for v in self.validators if v.strategy == "honest" and self._active(v)]
        return honest[r % len(honest)].address

    # --- after finalization -----------------------------------------------------------------

    def _slash_due(self, r: int, by: str, addresses: list[str]) -> None:
        """The housekeeper settles every slash the round left due, at once: non-revealers (what
        `dfl validator` does) and validators that revealed a losing aggregate (which the contract
        would otherwise settle at their next commitment; anyone may call `slash` for either)."""
        for address in addresses:
            if self.ledger.due(address) == Due.SLASH:
                self.ledger.slash(by, r, address)

    def _apply_penalties(self, r: int, by: str, winner: Proposal) -> None:
        if not winner.penalties:
            return
        tree = build_penalty_tree(list(winner.penalties))
        for trainer in winner.penalties:
            self.ledger.penalize(by, r, trainer, tree.proof_for(trainer))

    def settle_all(self, result: RunResult) -> None:
        """At the task's end: trainers claim every reward, validators claim or are settled."""
        for r, leaves in self._owed:
            if not leaves:
                continue
            tree = build_tree(list(leaves))
            for address, amount in leaves:
                self.ledger.claim_trainer(address, r, amount, tree.proof_for(address))
        by = self._housekeeper(len(result.rounds))
        for v in self.validators:
            due = self.ledger.due(v.address)
            round_id = self.ledger.account(v.address).round
            if due == Due.REWARD:
                self.ledger.claim_validator(v.address, round_id)
            elif due == Due.SLASH:
                self.ledger.slash(by, round_id, v.address)

    # --- determinism ------------------------------------------------------------------------

    def _salt(self, r: int, name: str) -> bytes:
        return hashlib.sha256(f"{self.label}:{r}:{name}".encode()).digest()

    def _noise_seed(self, r: int, name: str) -> int:
        return int.from_bytes(hashlib.sha256(f"noise:{r}:{name}".encode()).digest()[:4], "big")

    def _quantize_seed(self, r: int, name: str) -> int:
        return int.from_bytes(hashlib.sha256(f"quantize:{r}:{name}".encode()).digest()[:8], "big")


def _groups(entries: Any, name: Any) -> dict[str, str]:
    """Agent -> the first agent of its reward group, for the updates that share one."""
    by_index = {e.index: e for e in entries}
    sizes: dict[int, int] = defaultdict(int)
    for e in entries:
        sizes[e.group] += 1
    return {name(e.trainer): name(by_index[e.group].trainer) for e in entries if sizes[e.group] > 1}
