"""Typed access to the deployed FLTaskManager, FLPrivacy and RewardToken: views, transactions, events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ABIEvent, HexStr
from eth_utils import event_abi_to_log_topic
from web3 import Web3
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD
from web3.types import EventData, FilterParams, LogReceipt, TxReceipt

from offchain.chain.abi_records import from_abi, to_abi
from offchain.chain.artifacts import Deployment
from offchain.chain.errors import ChainError, TxReverted
from offchain.chain.events import Event, TaskLog, decode_event
from offchain.chain.protocol import (
    Participant,
    ParticipationStatus,
    Phase,
    Role,
    RoundOutcome,
    TaskParams,
    TaskState,
)
from offchain.chain.revert import ErrorDecoder
from offchain.chain.rpc import Backoff, connect, with_retries
from offchain.chain.tx import Transactor

log = logging.getLogger(__name__)

MANAGER_CONTRACT = "FLTaskManager"
PRIVACY_CONTRACT = "FLPrivacy"
TOKEN_CONTRACT = "RewardToken"
LOG_BATCH_BLOCKS = 5_000


class TaskManager:
    """One account's view of the protocol contracts (read-only when `account` is None)."""

    def __init__(
        self,
        rpc_url: str,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        backoff: Backoff = Backoff(),
        confirmations: int | None = None,
    ) -> None:
        self.url = rpc_url
        self.w3: Web3 = connect(rpc_url)
        self.deployment = deployment
        self._backoff = backoff
        self.manager = self.w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address(MANAGER_CONTRACT)),
            abi=deployment.abis[MANAGER_CONTRACT],
            decode_tuples=True,
        )
        self.token = self.w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address(TOKEN_CONTRACT)),
            abi=deployment.abis[TOKEN_CONTRACT],
            decode_tuples=True,
        )
        self.privacy = self.w3.eth.contract(
            address=Web3.to_checksum_address(deployment.address(PRIVACY_CONTRACT)),
            abi=deployment.abis[PRIVACY_CONTRACT],
            decode_tuples=True,
        )
        decoder = ErrorDecoder(deployment.abis.values())
        self.account = account
        self.address = account.address if account else None
        self._tx = Transactor(self.w3, account, decoder, url=rpc_url, backoff=backoff) if account else None
        self._decoder = decoder
        # Blocks deeper than this are final for the log cache (anvil never reorgs; public chains can).
        self.confirmations = confirmations if confirmations is not None else (0 if deployment.chain_id == 31337 else 12)
        self._log_cache: dict[tuple[Any, ...], tuple[int, list[Event[Any]]]] = {}
        self._task_events = _task_event_topics(deployment.abis[MANAGER_CONTRACT] + deployment.abis[PRIVACY_CONTRACT])

    # --- plumbing ---------------------------------------------------------------

    def _view(self, what: str, fn: Any) -> Any:
        try:
            return with_retries(what, self.url, fn.call, self._backoff)
        except ContractLogicError as exc:
            name, args = self._decoder.decode(exc.data if isinstance(exc.data, str) else None)
            raise TxReverted(what, name, args, str(exc)) from None

    def _send(self, what: str, fn: Any) -> TxReceipt:
        if self._tx is None:
            raise ChainError(
                f"{what} needs an account: give a keystore (--keystore / DFL_KEYSTORE) or set DFL_PRIVATE_KEY"
            )
        return self._tx.send(what, fn)

    def block_number(self) -> int:
        return int(with_retries("block number", self.url, lambda: self.w3.eth.block_number, self._backoff))

    def timestamp(self) -> int:
        return int(
            with_retries("latest block", self.url, lambda: self.w3.eth.get_block("latest")["timestamp"], self._backoff)
        )

    # --- views ------------------------------------------------------------------

    def task_count(self) -> int:
        return int(self._view("taskCount", self.manager.functions.taskCount()))

    def task_params(self, task_id: int) -> TaskParams:
        return from_abi(TaskParams, self._view("taskParams", self.manager.functions.taskParams(task_id)))

    def task_state(self, task_id: int) -> TaskState:
        return from_abi(TaskState, self._view("taskState", self.manager.functions.taskState(task_id)))

    def current_round(self, task_id: int) -> tuple[int, Phase, int]:
        r, phase, deadline = self._view("currentRound", self.manager.functions.currentRound(task_id))
        return int(r), Phase(phase), int(deadline)

    def participant(self, task_id: int, account: str) -> Participant:
        return from_abi(
            Participant,
            self._view("participant", self.manager.functions.participant(task_id, Web3.to_checksum_address(account))),
        )

    def participant_status(self, task_id: int, round_id: int, account: str) -> tuple[ParticipationStatus, bytes]:
        status, record = self._view(
            "participantStatus",
            self.manager.functions.participantStatus(task_id, round_id, Web3.to_checksum_address(account)),
        )
        return ParticipationStatus(status), bytes(record)

    def round_outcome(self, task_id: int, round_id: int) -> RoundOutcome:
        return from_abi(
            RoundOutcome, self._view("roundOutcome", self.manager.functions.roundOutcome(task_id, round_id))
        )

    def proposal_stake(self, task_id: int, round_id: int, proposal: bytes) -> int:
        return int(self._view("proposalStake", self.manager.functions.proposalStake(task_id, round_id, proposal)))

    def trainer_reward_claimed(self, task_id: int, round_id: int, account: str) -> bool:
        return bool(
            self._view(
                "trainerRewardClaimed",
                self.manager.functions.trainerRewardClaimed(task_id, round_id, Web3.to_checksum_address(account)),
            )
        )

    def validator_reward(self, task_id: int, round_id: int, account: str) -> int:
        return int(
            self._view(
                "validatorReward",
                self.manager.functions.validatorReward(task_id, round_id, Web3.to_checksum_address(account)),
            )
        )

    def encryption_key(self, task_id: int, account: str) -> tuple[bytes, int]:
        """`account`'s X25519 public key for the task and when it was registered (zeros if none)."""
        key, at = self._view(
            "encryptionKey", self.privacy.functions.encryptionKey(task_id, Web3.to_checksum_address(account))
        )
        return bytes(key), int(at)

    def mask_seeds_published(self, task_id: int, round_id: int, trainer: str) -> bool:
        fn = self.privacy.functions.maskSeedsPublished(task_id, round_id, Web3.to_checksum_address(trainer))
        return bool(self._view("maskSeedsPublished", fn))

    def epsilon_spent_micro(self, task_id: int) -> int:
        return int(self._view("epsilonSpentMicro", self.privacy.functions.epsilonSpentMicro(task_id)))

    def privacy_bound(self, rounds: int, z_micro: int, delta_atto: int) -> int:
        return int(self._view("privacyBound", self.privacy.functions.privacyBound(rounds, z_micro, delta_atto)))

    def balance_of(self, account: str) -> int:
        return int(self._view("balanceOf", self.token.functions.balanceOf(Web3.to_checksum_address(account))))

    def total_supply(self) -> int:
        return int(self._view("totalSupply", self.token.functions.totalSupply()))

    # --- transactions -----------------------------------------------------------

    def _approve(self, amount: int) -> None:
        assert self.address is not None
        allowance = int(self._view("allowance", self.token.functions.allowance(self.address, self.manager.address)))
        if allowance < amount:
            self._send("approve", self.token.functions.approve(self.manager.address, amount))

    def create_task(self, params: TaskParams) -> int:
        self._approve(params.reward_pool)
        receipt = self._send("createTask", self.manager.functions.createTask(to_abi(params)))
        (event,) = self.manager.events.TaskCreated().process_receipt(receipt, errors=DISCARD)  # token logs are not ours
        return int(event["args"]["taskId"])

    def stake(self, task_id: int, role: Role, amount: int) -> TxReceipt:
        self._approve(amount)
        return self._send("stake", self.manager.functions.stake(task_id, int(role), amount))

    def request_exit(self, task_id: int) -> TxReceipt:
        return self._send("requestExit", self.manager.functions.requestExit(task_id))

    def withdraw(self, task_id: int) -> TxReceipt:
        return self._send("withdraw", self.manager.functions.withdraw(task_id))

    def commit_update(self, task_id: int, commitment: bytes) -> TxReceipt:
        return self._send("commitUpdate", self.manager.functions.commitUpdate(task_id, commitment))

    def reveal_update(self, task_id: int, cid: str, num_samples: int, salt: bytes) -> TxReceipt:
        return self._send("revealUpdate", self.manager.functions.revealUpdate(task_id, cid, num_samples, salt))

    def attest_availability(self, task_id: int, held: bytes) -> TxReceipt:
        return self._send("attestAvailability", self.manager.functions.attestAvailability(task_id, held))

    def commit_vote(self, task_id: int, commitment: bytes) -> TxReceipt:
        return self._send("commitVote", self.manager.functions.commitVote(task_id, commitment))

    def reveal_vote(
        self, task_id: int, aggregate_cid: str, reward_root: bytes, penalty_root: bytes, salt: bytes, metric: int
    ) -> TxReceipt:
        fn = self.manager.functions.revealVote(task_id, aggregate_cid, reward_root, penalty_root, salt, metric)
        return self._send("revealVote", fn)

    def finalize_round(self, task_id: int) -> TxReceipt:
        return self._send("finalizeRound", self.manager.functions.finalizeRound(task_id))

    def claim_trainer_reward(self, task_id: int, round_id: int, amount: int, proof: list[bytes]) -> TxReceipt:
        return self._send(
            "claimTrainerReward", self.manager.functions.claimTrainerReward(task_id, round_id, amount, proof)
        )

    def claim_validator_reward(self, task_id: int, round_id: int) -> TxReceipt:
        return self._send("claimValidatorReward", self.manager.functions.claimValidatorReward(task_id, round_id))

    def slash(self, task_id: int, round_id: int, account: str) -> TxReceipt:
        return self._send("slash", self.manager.functions.slash(task_id, round_id, Web3.to_checksum_address(account)))

    def penalize_trainer(self, task_id: int, round_id: int, trainer: str, proof: list[bytes]) -> TxReceipt:
        fn = self.manager.functions.penalizeTrainer(task_id, round_id, Web3.to_checksum_address(trainer), proof)
        return self._send("penalizeTrainer", fn)

    def trainer_penalized(self, task_id: int, round_id: int, account: str) -> bool:
        fn = self.manager.functions.trainerPenalized(task_id, round_id, Web3.to_checksum_address(account))
        return bool(self._view("trainerPenalized", fn))

    def reclaim(self, task_id: int) -> TxReceipt:
        return self._send("reclaim", self.manager.functions.reclaim(task_id))

    def register_key(self, task_id: int, public_key: bytes) -> TxReceipt:
        return self._send("registerKey", self.privacy.functions.registerKey(task_id, public_key))

    def publish_key_bundle(self, task_id: int, bundle_cid: str) -> TxReceipt:
        return self._send("publishKeyBundle", self.privacy.functions.publishKeyBundle(task_id, bundle_cid))

    def publish_mask_seeds(self, task_id: int, seeds: bytes) -> TxReceipt:
        return self._send("publishMaskSeeds", self.privacy.functions.publishMaskSeeds(task_id, seeds))

    def transfer(self, to: str, amount: int) -> TxReceipt:
        return self._send("transfer", self.token.functions.transfer(Web3.to_checksum_address(to), amount))

    # --- events -----------------------------------------------------------------

    def events(
        self,
        name: str,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        contract: str = MANAGER_CONTRACT,
        **filters: Any,
    ) -> list[Event[Any]]:
        """Decoded events `name` in [from_block, to_block] (default: deployment block to head), in chain order.

        Whole-history queries follow the chain with a checkpoint per query: logs older than the
        confirmation depth are fetched once and kept; only newer blocks are asked for again, so a
        reorg within that depth is seen and a long-running worker does not rescan the chain."""
        if from_block is not None or to_block is not None:
            start = self.deployment.block if from_block is None else from_block
            return self._fetch(name, contract, filters, start, self.block_number() if to_block is None else to_block)
        key = (contract, name, tuple(sorted(filters.items())))
        return self._followed(key, lambda lo, hi: self._fetch(name, contract, filters, lo, hi))

    def task_log(self, task_id: int) -> TaskLog:
        """Every event of the task, in chain order, followed like `events` (one log query per
        refresh: the manager's and FLPrivacy's task events all carry the task id as their first
        indexed argument)."""
        topic = HexStr("0x" + task_id.to_bytes(32, "big").hex())
        events = self._followed(("task", task_id), lambda lo, hi: self._fetch_task(topic, lo, hi))
        return TaskLog(task_id, tuple(events))

    def _followed(self, key: tuple[Any, ...], fetch: Callable[[int, int], list[Event[Any]]]) -> list[Event[Any]]:
        checkpoint, settled = self._log_cache.get(key, (self.deployment.block - 1, []))
        head = self.block_number()
        safe = head - self.confirmations
        if safe > checkpoint:
            settled = settled + fetch(checkpoint + 1, safe)
            checkpoint = safe
            self._log_cache[key] = (checkpoint, settled)
        return settled + fetch(checkpoint + 1, head)

    def _fetch(self, name: str, contract: str, filters: dict[str, Any], start: int, end: int) -> list[Event[Any]]:
        target = {MANAGER_CONTRACT: self.manager, PRIVACY_CONTRACT: self.privacy}.get(contract, self.token)
        event = getattr(target.events, name)

        def logs_between(lo: int, hi: int) -> Iterable[EventData]:
            return with_retries(
                f"{name} logs",
                self.url,
                lambda: event().get_logs(from_block=lo, to_block=hi, argument_filters=filters or None),
                self._backoff,
            )

        found: list[Event[Any]] = []
        for lo in range(start, end + 1, LOG_BATCH_BLOCKS):
            hi = min(end, lo + LOG_BATCH_BLOCKS - 1)
            found += [_decoded(name, e) for e in logs_between(lo, hi)]
        return found

    def _fetch_task(self, topic: HexStr, start: int, end: int) -> list[Event[Any]]:
        def logs_between(lo: int, hi: int) -> list[LogReceipt]:
            query: FilterParams = {
                "address": [self.manager.address, self.privacy.address],
                "fromBlock": lo,
                "toBlock": hi,
                "topics": [None, topic],
            }
            return with_retries("task logs", self.url, lambda: self.w3.eth.get_logs(query), self._backoff)

        found: list[Event[Any]] = []
        for lo in range(start, end + 1, LOG_BATCH_BLOCKS):
            for entry in logs_between(lo, min(end, lo + LOG_BATCH_BLOCKS - 1)):
                name = self._task_events.get(bytes(entry["topics"][0]))
                if name is not None:
                    source = self.privacy if entry["address"] == self.privacy.address else self.manager
                    found.append(_decoded(name, getattr(source.events, name)().process_log(entry)))
        return found


def _task_event_topics(abi: list[dict[str, Any]]) -> dict[bytes, str]:
    """topic0 -> name of the events whose first indexed argument is the task id."""
    return {
        event_abi_to_log_topic(cast("ABIEvent", item)): str(item["name"])
        for item in abi
        if item.get("type") == "event"
        and item["inputs"]
        and item["inputs"][0]["name"] == "taskId"
        and item["inputs"][0].get("indexed")
    }


def _decoded(name: str, log: Any) -> Event[Any]:
    return decode_event(
        name,
        _plain(dict(log["args"])),
        int(log["blockNumber"]),
        "0x" + bytes(log["transactionHash"]).hex(),
        int(log["logIndex"]),
    )


def _plain(args: dict[str, Any]) -> dict[str, Any]:
    return {k: bytes(v) if isinstance(v, (bytes, bytearray)) else v for k, v in args.items()}
