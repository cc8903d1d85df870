"""The web3 client against the real contracts on anvil: reverts by name, nonces, events, dead RPCs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from offchain.chain import accounts
from offchain.chain.artifacts import load_deployment
from offchain.chain.errors import AccountError, RpcUnavailable, TxReverted
from offchain.chain.manager import TaskManager
from offchain.chain.protocol import Role, TaskParams, proposal_hash, update_commitment, vote_commitment
from offchain.chain.rpc import Backoff
from offchain.units import TOKEN
from support import BUILD_DIR, DevnetDeployment, free_port


def _params(**overrides: Any) -> TaskParams:
    base: dict[str, Any] = dict(
        model_spec_cid="QmSpec",
        initial_model_cid="QmInit",
        eval_dataset_cid="QmEval",
        eval_dataset_hash=b"\x01" * 32,
        rule_id=0,
        rule_params=(0,),
        num_rounds=2,
        registration_duration=60,
        commit_duration=60,
        reveal_duration=60,
        attest_duration=60,
        vote_commit_duration=60,
        vote_reveal_duration=60,
        exit_cooldown=60,
        claim_window=3600,
        min_trainer_stake=TOKEN,
        min_validator_stake=TOKEN,
        stake_per_sample=TOKEN // 100,
        max_trainers_per_round=10,
        max_update_bytes=1 << 20,
        max_delta_norm_micro=10_000_000,
        quorum_bps=6000,
        trainer_non_reveal_slash_bps=1000,
        trainer_penalty_bps=2000,
        validator_non_reveal_slash_bps=1000,
        validator_losing_slash_bps=500,
        trainer_share_bps=7000,
        reward_pool=10 * TOKEN,
    )
    return TaskParams(**(base | overrides))


def test_a_revert_is_reported_by_its_custom_error_name_and_arguments(protocol: DevnetDeployment) -> None:
    chain = protocol.manager(7)
    with pytest.raises(TxReverted) as raised:
        chain.stake(999_999, Role.TRAINER, TOKEN)
    assert raised.value.error == "FLTaskManagerUnknownTask"
    assert raised.value.args_ == (999_999,)
    assert "stake reverted: FLTaskManagerUnknownTask(999999)" in str(raised.value)


def test_invalid_parameters_revert_with_the_parameter_named(protocol: DevnetDeployment) -> None:
    with pytest.raises(TxReverted) as raised:
        protocol.manager(0).create_task(_params(quorum_bps=4000))
    assert raised.value.error == "FLTaskManagerInvalidQuorum" and raised.value.args_ == (4000,)


def test_back_to_back_transactions_get_consecutive_nonces_and_params_round_trip(protocol: DevnetDeployment) -> None:
    chain = protocol.manager(0)
    first = chain.create_task(_params())
    second = chain.create_task(_params(num_rounds=3))
    assert second == first + 1
    assert chain.task_params(second) == _params(num_rounds=3)


def test_event_following_sees_new_events_and_matches_a_fresh_scan(protocol: DevnetDeployment) -> None:
    chain = protocol.manager(0)
    before = chain.events("TaskCreated")
    task = chain.create_task(_params())
    after = chain.events("TaskCreated")
    assert len(after) == len(before) + 1 and after[-1].args["taskId"] == task
    fresh = chain.events("TaskCreated", from_block=chain.deployment.block)
    assert [(e.block, e.log_index) for e in after] == [(e.block, e.log_index) for e in fresh]
    assert chain.events("TaskCreated", taskId=task)[0].args["requester"] == chain.address


def test_local_commitments_equal_the_contracts(protocol: DevnetDeployment) -> None:
    chain = protocol.manager(1)
    assert chain.address is not None
    salt = b"\x07" * 32
    fn = chain.manager.functions
    assert bytes(fn.updateCommitment(3, 1, chain.address, "QmX", 42, salt).call()) == update_commitment(
        3, 1, chain.address, "QmX", 42, salt
    )
    proposal = proposal_hash("QmR", b"\x09" * 32, b"\x0a" * 32)
    assert bytes(fn.proposalHash("QmR", b"\x09" * 32, b"\x0a" * 32).call()) == proposal
    assert bytes(fn.voteCommitment(3, 1, chain.address, proposal, salt).call()) == vote_commitment(
        3, 1, chain.address, proposal, salt
    )


def test_a_dead_rpc_is_retried_then_reported_with_what_to_do(protocol: DevnetDeployment) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    chain = TaskManager(
        url, load_deployment(protocol.deployments, 31337, BUILD_DIR), backoff=Backoff(attempts=2, first_delay=0.05)
    )
    with pytest.raises(RpcUnavailable) as raised:
        chain.task_count()
    assert url in str(raised.value) and "dfl node up" in str(raised.value)


def test_accounts_from_keystore_and_env_never_show_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Account.create().key
    path = tmp_path / "k.json"
    path.write_text(json.dumps(Account.encrypt(key, "pw")))
    assert accounts.from_keystore(path, "pw").key == key
    with pytest.raises(AccountError, match="wrong password"):
        accounts.from_keystore(path, "nope")
    monkeypatch.setenv("DFL_PRIVATE_KEY", "0x1234")
    with pytest.raises(AccountError) as raised:
        accounts.from_env()
    assert "1234" not in str(raised.value)
