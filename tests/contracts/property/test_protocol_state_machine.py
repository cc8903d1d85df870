"""Random sequences of stake, commit, reveal, attest, vote, finalize, claim, slash, penalize, exit,
withdraw and reclaim over several accounts (Brownie's hypothesis state machine): three trainers, three
validators staked from the start and a fourth that stakes later. Validators also top up, exit, come
back and attest alone and in any order, so that rewards are restaked (lazily, at a validator's first
action of a round) between the attestations and votes of a round. After every step:

- tokens are conserved: all holders' balances plus the manager's equal the supply;
- the manager holds exactly what it owes, to the wei: stakes + unallocated pool + the running round's
  reward + unclaimed rewards (which equal the unclaimed part of every finalized round's pools until
  the task's claims close, and zero after);
- no round's claims exceed its trainer or validator pool; nothing is claimed or penalized twice;
- a finalized round's outcome never changes;
- no slash exceeds the stake it is taken from, and stakes never go negative;
- the Commit phase never ends before its deadline while an active trainer has not committed (exits
  and penalties of committed trainers cannot shrink the set it waits for);
- a Rejected round pays nobody: its whole reward went back to the pool;
- every quorum of a round uses one stake snapshot (issue 19): each AvailabilityAttested of the round,
  its RoundFinalized and the taskState view from its Attest phase on carry the same total T; the
  weights of the round's validators sum to at most T, so attested stake, attested bps (at most
  10,000), proposal tallies and the winning stake never exceed it, and nothing below quorum of T
  decides availability or the vote; while the round runs from its Attest phase on, T covers the
  stake and owed reward of every active validator (all the stake that can still vote);
- the contract mirror the incentive benchmark runs on (bench/incentives_ledger.py's MirrorLedger) was
  sent every transaction too, reverted exactly when the contract did (with the same custom error), and
  agrees with the contract on every balance, stake, reward, pool and view, to the wei
  (tests/contracts/mirror_check.py says what is compared).
At the end, every kind of call succeeded at least a minimum number of times: the rules really ran.
"""

from typing import Any

import brownie
from brownie.test import strategy

from contract_helpers import (
    E18,
    ZERO,
    MerkleTree,
    Phase,
    Role,
    Status,
    all_held,
    default_params,
    proposal_hash,
    salt,
    update_commitment,
    vote_commitment,
)
from mirror_check import MirroredTask
from offchain.fl.availability import Attestation, decide
from offchain.fl.merkle import build_penalty_tree
from offchain.units import BPS

SUPPLY = 10**9 * E18
STATS: dict = {}  # successful transactions per function, printed with -s
MIRROR: dict = {"transactions": 0, "reverts": 0, "checks": 0, "seconds": 0.0}  # the differential check
N_ROUNDS = 3
BAD_TRAINER = 2  # this trainer's updates are provably bad: honest receipts penalize it
# Successful calls each kind of action must reach over the whole run (default settings; about half of
# what the derandomized run makes), so a rule that silently stopped working fails the test instead of
# passing vacuously.
MIN_CALLS = {
    "stake": 8,
    "commitUpdate": 30,
    "revealUpdate": 20,
    "attestAvailability": 25,
    "commitVote": 25,
    "revealVote": 20,
    "finalizeRound": 15,
    "claimTrainerReward": 3,
    "claimValidatorReward": 3,
    "slash": 2,
    "penalizeTrainer": 2,
    "requestExit": 3,
    "withdraw": 8,
    "reclaim": 1,
}
LATECOMER = 3  # validators[3] stakes only during the run


class RoundLog:
    """What the events of one round said about its stake: the ghost state of the snapshot invariants."""

    def __init__(self) -> None:
        self.totals: set[int] = set()  # quorum denominators seen: events, and the view from Attest on
        self.attestations: list[Attestation] = []
        self.weights: dict[str, int] = {}  # validator -> its weight in the round
        self.reveals = 0
        self.leading = 0  # highest leading stake the view showed
        self.finalized: Any = None  # the RoundFinalized event


class ProtocolMachine:
    st_idx = strategy("uint8", max_value=2)
    st_validator = strategy("uint8", max_value=3)
    st_amount = strategy("uint256", min_value=1, max_value=150)
    st_secs = strategy("uint256", min_value=1, max_value=120)
    st_round = strategy("uint8", max_value=N_ROUNDS - 1)
    st_bool = strategy("bool")  # type: ignore[call-overload]  # Brownie's overloads omit "bool"; it works

    def __init__(self, manager, token, trainers, validators, requester, deployer):
        self.m, self.token = manager, token
        self.trainers, self.validators = trainers[:3], validators[:4]
        self.requester, self.deployer = requester, deployer
        self.holders = [deployer, requester, *trainers, *validators]

    def setup(self):
        p = default_params(
            numRounds=N_ROUNDS,
            registrationDuration=20,
            commitDuration=60,
            revealDuration=60,
            attestDuration=60,
            voteCommitDuration=60,
            voteRevealDuration=60,
            exitCooldown=40,
            claimWindow=200,
            rewardPool=999 * E18 + 7,  # odd wei amounts: every share and slash below rounds
            minTrainerStake=50 * E18,
            minValidatorStake=50 * E18,
            trainerNonRevealSlashBps=2500,
            validatorNonRevealSlashBps=5000,
            validatorLosingSlashBps=10000,
            trainerPenaltyBps=3000,
        )
        participants = self.trainers + self.validators
        self.mirror = MirroredTask(self.m, self.token, self.requester, p, self.holders, participants)
        self.task = self.mirror.task
        self.secrets = {}  # (round, account) -> reveal args
        self.finalized = {}  # round -> outcome snapshot
        self.claimed = set()  # (kind, round, account) paid out by a claim
        self.trees = {}  # round -> MerkleTree of its accepted proposal
        self.penalty_trees = {}  # round -> penalty tree of its accepted proposal
        self.penalized = set()  # (round, account)
        self.logs: dict[int, RoundLog] = {}  # round -> what its events said about its stake
        self.quorum = int(p["quorumBps"])
        for i, a in enumerate(self.trainers):
            assert self.mirror.send(self.m.stake, self.task, Role.TRAINER, 100 * E18 + 3 * i + 1, {"from": a})
        for i, a in enumerate(self.validators[:LATECOMER]):
            assert self.mirror.send(self.m.stake, self.task, Role.VALIDATOR, 100 * E18 + 7 * i + 2, {"from": a})

    # --- helpers -------------------------------------------------------------------------
    def _round(self):
        brownie.chain.mine()
        r, ph, _ = self.m.currentRound(self.task)
        return int(r), Phase(int(ph))

    def _try(self, fn, *args):
        before = self.m.currentRound(self.task)
        tx = self.mirror.send(fn, *args)  # the contract, then the mirror: both revert or neither does
        if tx is None:
            return None
        name = getattr(fn, "_name", str(fn))
        STATS[name] = STATS.get(name, 0) + 1
        self._check_commit_phase_end(before, tx)
        self._log_round_events(tx)
        # A stake settles the account's last round (a slash) before adding the amount.
        staked = {str(ev["account"]): ev["amount"] for ev in tx.events["Staked"]} if "Staked" in tx.events else {}
        for ev in tx.events["Slashed"] if "Slashed" in tx.events else []:  # noqa: SIM401 (brownie EventDict has no .get)
            # The stake left is what the event says (a slash above the stake would have reverted).
            if "Withdrawn" not in tx.events:
                stake = self.m.participant(self.task, ev["account"])["stake"]
                assert ev["remainingStake"] + staked.get(str(ev["account"]), 0) == stake, "slash mis-booked"
        return tx

    def _check_commit_phase_end(self, before, tx):
        rnd, phase, deadline = (int(x) for x in before)
        if phase != Phase.COMMIT or tx.timestamp >= deadline:
            return
        now_round, now_phase, _ = self.m.currentRound(self.task)
        if (now_round, now_phase) == (rnd, Phase.COMMIT):
            return
        for t in self.trainers:  # the phase ended early: every active trainer must have committed
            p = self.m.participant(self.task, t)
            if p["active"]:
                assert p["committed"] and p["hasRound"] and p["lastRound"] == rnd, "commit phase closed early"

    def _log(self, rnd) -> RoundLog:
        return self.logs.setdefault(int(rnd), RoundLog())

    def _log_round_events(self, tx):
        """Record the stake each event of the transaction reports for its round."""

        def each(name):
            return list(tx.events[name]) if name in tx.events else []

        for ev in each("UpdateRevealed"):
            self._log(ev["round"]).reveals += 1
        for ev in each("AvailabilityAttested"):
            log = self._log(ev["round"])
            log.totals.add(int(ev["totalValidatorStake"]))
            log.attestations.append(
                Attestation(str(ev["validator"]), bytes(ev["held"]), int(ev["weight"]), int(ev["totalValidatorStake"]))
            )
        for name in ("AvailabilityAttested", "VoteCommitted", "VoteRevealed"):
            for ev in each(name):
                weights = self._log(ev["round"]).weights
                assert weights.setdefault(str(ev["validator"]), int(ev["weight"])) == int(ev["weight"]), (
                    "a validator's weight changed within a round"
                )
        for ev in each("RoundFinalized"):
            log = self._log(ev["round"])
            log.totals.add(int(ev["totalValidatorStake"]))
            log.finalized = ev

    def _revealers(self, rnd):
        return [t for t in self.trainers if (rnd, str(t)) in self.secrets and self.secrets[(rnd, str(t))][-1]]

    def _tree(self, rnd):
        good = [t for t in self._revealers(rnd) if t != self.trainers[BAD_TRAINER]]
        if not good:
            return None
        pool = self.m.roundOutcome(self.task, rnd)["trainerPool"]
        return MerkleTree([(str(t), pool // len(good)) for t in good])

    def _penalties(self, rnd):
        bad = self.trainers[BAD_TRAINER]
        return build_penalty_tree([str(bad)]) if bad in self._revealers(rnd) else None

    # --- rules ---------------------------------------------------------------------------
    def rule_sleep(self, st_secs):
        brownie.chain.sleep(int(st_secs))

    def rule_skip_phase(self):
        _, _, deadline = self.m.currentRound(self.task)
        brownie.chain.sleep(max(0, int(deadline) - brownie.chain.time()) + 1)
        brownie.chain.mine()

    def rule_progress(self, st_idx, st_bool):
        """Play the current phase: everyone who can act does, except that with st_bool False the
        participant st_idx deviates (holds back its reveal, or votes against the honest proposal), so
        that non-reveals, losing votes and their slashes happen too. One step moves a whole phase."""
        rnd, phase = self._round()
        deviant = None if st_bool else st_idx
        for i in range(len(self.trainers)):
            if phase == Phase.COMMIT and self._pending(self.trainers[i], rnd, "commit"):
                self._commit_update(i)
            elif phase == Phase.REVEAL and i != deviant and self._pending(self.trainers[i], rnd, "reveal"):
                self._reveal_update(i)
        for i in range(len(self.validators)):
            if phase == Phase.ATTEST and self._pending(self.validators[i], rnd, "attest"):
                self._attest(i)
            elif phase == Phase.VOTE_COMMIT and self._pending(self.validators[i], rnd, "commit"):
                self._commit_vote(i, i != deviant)
            elif phase == Phase.VOTE_REVEAL and i != deviant and self._pending(self.validators[i], rnd, "reveal"):
                self._reveal_vote(i)
        if phase == Phase.AWAITING_FINALIZATION:
            self._finalize()
        elif phase == Phase.COMPLETED:
            self.rule_withdraw(st_idx, st_bool)

    rule_progress_2 = rule_progress

    def rule_play_round(self, st_idx, st_bool):
        """Play phases (as rule_progress, with the same deviant) until the round is finalized."""
        start, _ = self._round()
        for _ in range(8):
            rnd, phase = self._round()
            if rnd != start or phase == Phase.COMPLETED:
                return
            self.rule_progress(st_idx, st_bool)
            if self._round() == (rnd, phase):  # a deviant or an absentee holds the phase open
                self.rule_skip_phase()

    rule_play_round_2 = rule_play_round

    def rule_act_out_of_turn(self, st_idx, st_bool, st_round):
        """Any round action by anyone, whatever the phase: mostly reverts, which must change nothing."""
        actions = [self._commit_update, self._reveal_update, self._attest, self._reveal_vote]
        actions[int(st_round) % len(actions)](st_idx)
        if st_bool:
            self._commit_vote(st_idx, st_idx != 0)

    def _pending(self, account, rnd, step) -> bool:
        """Whether `account` (active, or revealing what it committed) has `step` left to do in `rnd`."""
        p = self.m.participant(self.task, account)
        mine = p["hasRound"] and p["lastRound"] == rnd
        if step == "commit":
            return p["active"] and not (mine and p["committed"])
        if step == "attest":
            return p["active"] and not (mine and p["attested"])
        sec = self.secrets.get((rnd, str(account)))
        return bool(mine and p["committed"] and sec and not sec[-1])

    def rule_stake(self, st_idx, st_amount, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        role = Role.TRAINER if st_bool else Role.VALIDATOR
        self._try(self.m.stake, self.task, role, int(st_amount) * E18 + int(st_amount), {"from": a})

    def _commit_update(self, st_idx):
        t = self.trainers[st_idx]
        rnd, _ = self._round()
        cid, s = f"QmU{st_idx}r{rnd}", salt()
        c = update_commitment(self.task, rnd, t, cid, 10 + st_idx, s)
        if self._try(self.m.commitUpdate, self.task, c, {"from": t}):
            self.secrets[(rnd, str(t))] = [cid, 10 + st_idx, s, False]

    def _reveal_update(self, st_idx):
        t = self.trainers[st_idx]
        rnd, _ = self._round()
        sec = self.secrets.get((rnd, str(t)))
        if sec and self._try(self.m.revealUpdate, self.task, sec[0], sec[1], sec[2], {"from": t}):
            sec[3] = True

    def _attest(self, st_idx, held_all=True):
        v = self.validators[st_idx]
        reveals = self.m.taskState(self.task)["reveals"]
        held = all_held(reveals) if held_all else bytes((reveals + 7) // 8)
        self._try(self.m.attestAvailability, self.task, held, {"from": v})

    def _commit_vote(self, st_idx, st_bool):
        v = self.validators[st_idx]
        rnd, _ = self._round()
        tree, penalties = self._tree(rnd), self._penalties(rnd)
        honest = st_bool and (tree or penalties)
        cid = f"QmAgg{rnd}" if honest else ""
        root = tree.root if honest and tree else ZERO
        penalty_root = penalties.root if honest and penalties else ZERO
        s = salt()
        proposal = proposal_hash(cid, root, penalty_root)
        c = vote_commitment(self.task, rnd, v, proposal, s)
        if self._try(self.m.commitVote, self.task, c, {"from": v}):
            self.secrets[(rnd, str(v))] = [cid, root, penalty_root, s, False]
            self.trees[(rnd, proposal)] = (tree, penalties)

    def _reveal_vote(self, st_idx):
        v = self.validators[st_idx]
        rnd, _ = self._round()
        sec = self.secrets.get((rnd, str(v)))
        if sec and self._try(self.m.revealVote, self.task, *sec[:4], 7000, {"from": v}):
            sec[-1] = True

    def _finalize(self):
        rnd, _ = self._round()
        tx = self._try(self.m.finalizeRound, self.task, {"from": self.deployer})
        if tx:
            ev = tx.events["RoundFinalized"]
            if ev["status"] == Status.ACCEPTED:
                tree, penalties = self.trees[(rnd, bytes(ev["winningProposal"]))]
                if tree:
                    self.trees[rnd] = tree
                if penalties:
                    self.penalty_trees[rnd] = penalties

    def rule_claim_trainer(self, st_idx, st_round, st_bool):
        """With st_bool, the next unclaimed reward from trainer st_idx on; else an arbitrary (often
        invalid or repeated) claim."""
        accepted = sorted(k for k in self.trees if isinstance(k, int))
        choices = [(r, t) for r in accepted for t in self.trainers if ("trainer", r, str(t)) not in self.claimed]
        if st_bool and choices:
            rnd, t = choices[int(st_idx) % len(choices)]
        else:
            t = self.trainers[st_idx]
            rnd = accepted[int(st_round) % len(accepted)] if accepted else int(st_round)
        tree = self.trees.get(rnd)
        entry = [v for a, v in tree.values if a == str(t)] if tree else []
        amount = entry[0] if entry else 1
        proof = tree.proof(t, amount) if tree and entry else []
        tx = self._try(self.m.claimTrainerReward, self.task, rnd, amount, proof, {"from": t})
        if tx:
            key = ("trainer", rnd, str(t))
            assert key not in self.claimed, "trainer reward claimed twice"
            self.claimed.add(key)

    rule_claim_trainer_2 = rule_claim_trainer

    def rule_claim_validator(self, st_idx, st_round, st_bool):
        """With st_bool, validator st_idx claims its last round; else an arbitrary round."""
        v = self.validators[st_idx]
        rnd = int(self.m.participant(self.task, v)["lastRound"]) if st_bool else int(st_round)
        tx = self._try(self.m.claimValidatorReward, self.task, rnd, {"from": v})
        if tx:
            key = ("validator", rnd, str(v))
            assert key not in self.claimed, "validator reward claimed twice"
            self.claimed.add(key)

    rule_claim_validator_2 = rule_claim_validator

    def rule_slash(self, st_idx, st_round, st_bool):
        """Anyone slashes account st_idx (a trainer if st_bool) for its last round, or for st_round."""
        a = (self.trainers if st_bool else self.validators)[st_idx]
        p = self.m.participant(self.task, a)
        rnd = int(p["lastRound"]) if p["unsettled"] else int(st_round)
        self._try(self.m.slash, self.task, rnd, a, {"from": self.deployer})

    rule_slash_2 = rule_slash

    def rule_penalize(self, st_idx, st_round):
        rounds = sorted(self.penalty_trees)
        rnd = rounds[int(st_round) % len(rounds)] if rounds else int(st_round)
        t = self.trainers[BAD_TRAINER if st_idx else st_idx]
        tree = self.penalty_trees.get(rnd)
        proof = tree.proof_for(str(t)) if tree and t == self.trainers[BAD_TRAINER] else []
        if self._try(self.m.penalizeTrainer, self.task, rnd, t, proof, {"from": self.deployer}):
            assert (rnd, str(t)) not in self.penalized, "penalized twice"
            self.penalized.add((rnd, str(t)))

    rule_penalize_2 = rule_penalize

    def rule_validator_stake(self, st_validator, st_amount):
        """A validator stakes: the latecomer's first stake (or a new one after it withdrew), a comeback
        or a top-up. Only possible before the round's Attest phase."""
        v = self.validators[st_validator]
        self._try(self.m.stake, self.task, Role.VALIDATOR, int(st_amount) * E18 + int(st_amount), {"from": v})

    def rule_validator_exit(self, st_validator):
        self._try(self.m.requestExit, self.task, {"from": self.validators[st_validator]})

    def rule_validator_withdraw(self, st_validator):
        """Withdraw after an exit: settles (restakes) an owed reward of an account no longer active."""
        self._try(self.m.withdraw, self.task, {"from": self.validators[st_validator]})

    def rule_attest(self, st_validator, st_bool):
        """One validator attests now, holding every update or none: attestations in any order and
        subsets, each restaking the attester's owed reward first."""
        self._attest(st_validator, st_bool)

    def rule_exit(self, st_idx, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        self._try(self.m.requestExit, self.task, {"from": a})

    def rule_withdraw(self, st_idx, st_bool):
        a = (self.trainers if st_bool else self.validators)[st_idx]
        self._try(self.m.withdraw, self.task, {"from": a})

    def rule_reclaim(self):
        self._try(self.m.reclaim, self.task, {"from": self.deployer})

    # --- invariants ------------------------------------------------------------------------
    # Each reads the views from one batch of eth_calls per block (self.mirror.read()).
    def invariant_mirror_agrees(self):
        """MirrorLedger, sent every transaction the contract was, agrees with every view, to the wei."""
        self.mirror.check()

    def teardown(self):
        for key in MIRROR:
            MIRROR[key] += getattr(getattr(self, "mirror", None), key, 0)

    def invariant_tokens_conserved(self):
        views = self.mirror.read()
        total = sum(views["balanceOf", h] for h in self.holders) + views["balanceOf", self.m]
        assert total == SUPPLY, "tokens created or destroyed"

    def invariant_manager_holds_exactly_its_obligations(self):
        views = self.mirror.read()
        stakes = sum(views["participant", a]["stake"] for a in self.trainers + self.validators)
        state = views["taskState"]
        running = state["roundReward"] if state["phase"] != Phase.COMPLETED else 0
        owed = stakes + state["unallocatedPool"] + running + state["unclaimedRewards"]
        assert views["balanceOf", self.m] == owed, "manager balance differs from its obligations"
        unclaimed = 0
        for rnd in range(N_ROUNDS):
            out = views["roundOutcome", rnd]
            assert out["trainerClaimed"] <= out["trainerPool"], "trainer claims above the pool"
            assert out["validatorClaimed"] <= out["validatorPool"], "validator claims above the pool"
            if out["status"] == Status.ACCEPTED and out["rewardRoot"] != "0x" + ZERO.hex():
                unclaimed += out["trainerPool"] - out["trainerClaimed"]
            if out["status"] == Status.ACCEPTED:
                unclaimed += out["validatorPool"] - out["validatorClaimed"]
        expected = 0 if state["claimsClosed"] else unclaimed
        assert state["unclaimedRewards"] == expected, "unclaimed rewards differ from the rounds' unclaimed pools"

    def invariant_rejected_rounds_pay_nobody(self):
        """Nothing is claimed or restaked from a rejected round; with the obligations above (which
        count no pool of a rejected round as owed), its whole reward went back to the pool."""
        views = self.mirror.read()
        for rnd in range(N_ROUNDS):
            out = views["roundOutcome", rnd]
            if out["status"] == Status.REJECTED:
                assert out["validatorClaimed"] == 0 and out["trainerClaimed"] == 0, "a rejected round paid someone"

    def invariant_one_stake_snapshot_per_round(self):
        """No set of validators holding less than quorum of a round's snapshot decides anything."""
        state = self.mirror.read()["taskState"]
        if Phase.ATTEST <= state["phase"] <= Phase.AWAITING_FINALIZATION:
            log = self._log(state["round"])
            log.totals.add(int(state["totalValidatorStake"]))  # the view's snapshot, frozen from Attest on
            log.leading = max(log.leading, int(state["leadingStake"]))
        for rnd, log in self.logs.items():
            assert len(log.totals) <= 1, f"round {rnd} used several stake totals: {sorted(log.totals)}"
            if not log.totals:
                continue
            (total,) = log.totals
            assert sum(log.weights.values()) <= total, f"round {rnd}: the weights sum above the snapshot"
            attested = sum(a.weight for a in log.attestations)
            assert attested <= total, f"round {rnd}: attested stake above the snapshot"
            verdict = decide(log.reveals, log.attestations, self.quorum)
            assert all(bps <= BPS for bps in verdict.attested_bps.values()), f"round {rnd}: attested bps above 10,000"
            for i in verdict.included:
                held = sum(a.weight for a in log.attestations if a.held[i // 8] >> (i % 8) & 1)
                assert held * BPS >= self.quorum * total, f"round {rnd}: update {i} included below quorum"
            assert log.leading <= total, f"round {rnd}: leading stake above the snapshot"
            if log.finalized is not None:
                winning = int(log.finalized["winningStake"])
                assert winning <= total, f"round {rnd}: winning stake above the snapshot"
                if log.finalized["status"] in (Status.ACCEPTED, Status.REJECTED):
                    assert winning * BPS >= self.quorum * total, f"round {rnd}: decided below quorum"

    def invariant_snapshot_covers_the_stake_that_can_vote(self):
        """From the Attest phase on, every active validator's stake plus its owed reward (what its
        weight can still become) is counted in the round's snapshot."""
        views = self.mirror.read()
        state = views["taskState"]
        if not Phase.ATTEST <= state["phase"] <= Phase.AWAITING_FINALIZATION:
            return
        can_vote = 0
        for v in self.validators:
            p = views["participant", v]
            if p["active"]:
                owed = views["validatorReward", p["lastRound"], v] if p["unsettled"] else 0
                can_vote += p["stake"] + owed
        assert can_vote <= state["totalValidatorStake"], "active stake and owed rewards above the snapshot"

    def invariant_finalized_rounds_never_change(self):
        views = self.mirror.read()
        for rnd in range(N_ROUNDS):
            out = views["roundOutcome", rnd]
            if out["status"] == Status.OPEN:
                assert rnd not in self.finalized, "a finalized round reopened"
                continue
            snap = (
                out["status"],
                out["rewardRoot"],
                out["penaltyRoot"],
                out["winningStake"],
                out["roundReward"],
                out["finalizedAt"],
            )
            assert self.finalized.setdefault(rnd, snap) == snap, "a finalized round changed"


def _python_state_machine():
    """Brownie's `state_machine` from its pure-Python source: the mypyc-compiled module in this
    Brownie build rejects the machine class it generates itself (an exact-type check)."""
    import importlib.util
    from pathlib import Path

    source = Path(brownie.__file__).parent / "test" / "stateful.py"
    spec = importlib.util.spec_from_file_location("dfl_brownie_stateful", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


def test_protocol_invariants(manager, token, trainers, validators, requester, deployer):
    settings: dict[str, Any] = {
        "max_examples": int(__import__("os").environ.get("DFL_SM_EXAMPLES", 30)),
        "stateful_step_count": int(__import__("os").environ.get("DFL_SM_STEPS", 30)),
        "database": None,
        "derandomize": True,  # the same sequences on every run: the minimum-call counts cannot flake
    }
    _python_state_machine()(
        ProtocolMachine, manager, token, trainers, validators, requester, deployer, settings=settings
    )
    print("successful calls:", dict(sorted(STATS.items())))
    print("mirror:", {k: round(v, 1) for k, v in MIRROR.items()})
    if settings["max_examples"] * settings["stateful_step_count"] >= 30 * 30:  # the default run or longer
        calls = {name.split(".")[-1]: count for name, count in STATS.items()}
        too_few = {name: calls.get(name, 0) for name, least in MIN_CALLS.items() if calls.get(name, 0) < least}
        assert not too_few, f"rules that rarely or never succeeded: {too_few} (minimums {MIN_CALLS})"
