"""createTask / createTaskWithPermit: every parameter error, escrow, events, first round."""

from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from contract_helpers import E18, Phase, as_tuple, default_params, hexed, plain, reverts


def test_createTask_escrows_pool_and_starts_round_zero(manager, token, requester, chain):
    p = default_params()
    before = token.balanceOf(requester)
    tx = manager.createTask(as_tuple(p), {"from": requester})
    assert tx.return_value == 1 and manager.taskCount() == 1
    assert token.balanceOf(requester) == before - p["rewardPool"]
    assert token.balanceOf(manager) == p["rewardPool"]
    created = tx.events["TaskCreated"]
    assert created["taskId"] == 1 and created["requester"] == requester
    assert plain(created["params"]) == hexed(as_tuple(p))
    started = tx.events["RoundStarted"]
    reward = p["rewardPool"] // p["numRounds"]
    now = chain[tx.block_number].timestamp
    assert started["round"] == 0 and started["roundReward"] == reward
    assert started["trainerPool"] == reward * 7000 // 10000
    assert started["validatorPool"] == reward - started["trainerPool"]
    assert started["commitStartsAt"] == now + p["registrationDuration"]
    assert started["commitDeadline"] == now + p["registrationDuration"] + p["commitDuration"]
    assert started["globalModelProposal"] == "0x" + "00" * 32
    assert plain(manager.taskParams(1)) == hexed(as_tuple(p))
    state = manager.taskState(1)
    assert state["requester"] == requester and state["phase"] == Phase.REGISTRATION
    assert state["unallocatedPool"] == p["rewardPool"] - reward and state["roundReward"] == reward


def test_createTask_with_zero_registration_opens_commit_at_once(manager, requester, chain):
    tx = manager.createTask(as_tuple(default_params(registrationDuration=0)), {"from": requester})
    chain.mine()
    r, phase, deadline = manager.currentRound(tx.return_value)
    assert (r, phase) == (0, Phase.COMMIT)
    assert deadline == chain[tx.block_number].timestamp + 100


BAD: list[tuple[dict[str, Any], str]] = [
    ({"modelSpecCid": ""}, "FLTaskManagerEmptyModelSpecCid"),
    ({"initialModelCid": ""}, "FLTaskManagerEmptyInitialModelCid"),
    ({"evalDatasetCid": ""}, "FLTaskManagerEmptyEvalDatasetCid"),
    ({"evalDatasetHash": b"\0" * 32}, "FLTaskManagerZeroEvalDatasetHash"),
    ({"ruleId": 6}, "FLTaskManagerUnknownAggregationRule: 6"),
    ({"ruleParams": list(range(9))}, "FLTaskManagerTooManyRuleParams: 9, 8"),
    ({"numRounds": 0}, "FLTaskManagerZeroRounds"),
    ({"commitDuration": 0}, f"FLTaskManagerZeroPhaseDuration: {int(Phase.COMMIT)}"),
    ({"revealDuration": 0}, f"FLTaskManagerZeroPhaseDuration: {int(Phase.REVEAL)}"),
    ({"attestDuration": 0}, f"FLTaskManagerZeroPhaseDuration: {int(Phase.ATTEST)}"),
    ({"voteCommitDuration": 0}, f"FLTaskManagerZeroPhaseDuration: {int(Phase.VOTE_COMMIT)}"),
    ({"voteRevealDuration": 0}, f"FLTaskManagerZeroPhaseDuration: {int(Phase.VOTE_REVEAL)}"),
    ({"claimWindow": 0}, "FLTaskManagerZeroClaimWindow"),
    ({"minTrainerStake": 0}, "FLTaskManagerZeroMinTrainerStake"),
    ({"minTrainerStake": 2**96}, "FLTaskManagerAmountTooLarge: 79228162514264337593543950336"),
    ({"minValidatorStake": 0}, "FLTaskManagerZeroMinValidatorStake"),
    ({"minValidatorStake": 2**96}, "FLTaskManagerAmountTooLarge: 79228162514264337593543950336"),
    ({"stakePerSample": 2**96}, "FLTaskManagerAmountTooLarge: 79228162514264337593543950336"),
    ({"maxTrainersPerRound": 0}, "FLTaskManagerZeroMaxTrainers"),
    ({"maxUpdateBytes": 0}, "FLTaskManagerZeroMaxUpdateBytes"),
    ({"quorumBps": 5000}, "FLTaskManagerInvalidQuorum: 5000"),
    ({"quorumBps": 10001}, "FLTaskManagerInvalidQuorum: 10001"),
    ({"trainerNonRevealSlashBps": 10001}, "FLTaskManagerInvalidTrainerNonRevealSlash: 10001"),
    ({"trainerPenaltyBps": 10001}, "FLTaskManagerInvalidTrainerPenalty: 10001"),
    ({"validatorNonRevealSlashBps": 10001}, "FLTaskManagerInvalidValidatorNonRevealSlash: 10001"),
    ({"validatorLosingSlashBps": 10001}, "FLTaskManagerInvalidValidatorLosingSlash: 10001"),
    ({"trainerShareBps": 10001}, "FLTaskManagerInvalidTrainerShare: 10001"),
    ({"rewardPool": 0}, "FLTaskManagerZeroRewardPool"),
    ({"rewardPool": 2**96}, "FLTaskManagerAmountTooLarge: 79228162514264337593543950336"),
]


@pytest.mark.parametrize("override,error", BAD, ids=[e.split(":")[0] + "-" + next(iter(o)) for o, e in BAD])
def test_createTask_RevertWhen_parameter_invalid(manager, requester, override, error):
    with reverts(error):
        manager.createTask(as_tuple(default_params(**override)), {"from": requester})


def test_createTask_accepts_edge_values(manager, requester):
    p = default_params(
        quorumBps=10000,
        ruleId=4,
        ruleParams=list(range(8)),
        trainerShareBps=10000,
        trainerNonRevealSlashBps=10000,
        validatorNonRevealSlashBps=0,
        validatorLosingSlashBps=0,
        registrationDuration=0,
        exitCooldown=0,
        numRounds=65535,
        rewardPool=1,
    )
    manager.createTask(as_tuple(p), {"from": requester})


def test_createTask_RevertWhen_no_allowance(manager, token, accounts, deployer):
    poor = accounts[4]
    token.transfer(poor, 10**4 * E18, {"from": deployer})
    token.approve(manager, 0, {"from": poor})
    with reverts("ERC20InsufficientAllowance"):
        manager.createTask(as_tuple(default_params()), {"from": poor})


def test_params_store_only_answers_its_manager(manager, requester, FLTaskParamsStore):
    manager.createTask(as_tuple(default_params()), {"from": requester})
    store_address = _params_store_address(manager)
    store = FLTaskParamsStore.at(store_address)
    assert store.manager() == manager
    with reverts("FLTaskParamsStoreUnauthorized"):
        store.store(7, as_tuple(default_params()), {"from": requester})


def _params_store_address(manager):
    # The store is the first contract the manager created (CREATE nonce 1).
    import rlp
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(rlp.encode([bytes.fromhex(manager.address[2:]), 1]))[12:])


def _permit_signature(token, owner_key, owner, spender, value, deadline, chain_id):
    data = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": token.name(), "version": "1", "chainId": chain_id, "verifyingContract": token.address},
        "message": {
            "owner": owner,
            "spender": spender,
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=data), owner_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@pytest.fixture
def signer(accounts, token, deployer):
    account = accounts.add()
    deployer.transfer(account, 10**18)
    token.transfer(account, 10**4 * E18, {"from": deployer})
    return account


def test_createTaskWithPermit_pulls_pool_without_prior_approve(manager, token, signer, chain):
    p = default_params()
    deadline = chain.time() + 3600
    v, r, s = _permit_signature(
        token, signer.private_key, signer.address, manager.address, p["rewardPool"], deadline, chain.id
    )
    tx = manager.createTaskWithPermit(as_tuple(p), deadline, v, r, s, {"from": signer})
    assert "TaskCreated" in tx.events and token.balanceOf(manager) == p["rewardPool"]


def test_createTaskWithPermit_ignores_bad_permit_when_allowance_exists(manager, token, signer):
    token.approve(manager, 2**256 - 1, {"from": signer})
    tx = manager.createTaskWithPermit(as_tuple(default_params()), 0, 27, b"\1" * 32, b"\2" * 32, {"from": signer})
    assert "TaskCreated" in tx.events


def test_createTaskWithPermit_RevertWhen_bad_permit_and_no_allowance(manager, signer):
    with reverts("ERC20InsufficientAllowance"):
        manager.createTaskWithPermit(as_tuple(default_params()), 0, 27, b"\1" * 32, b"\2" * 32, {"from": signer})


def test_stakeWithPermit(manager, token, signer, requester, chain):
    task = manager.createTask(as_tuple(default_params()), {"from": requester}).return_value
    amount = 150 * E18
    deadline = chain.time() + 3600
    v, r, s = _permit_signature(token, signer.private_key, signer.address, manager.address, amount, deadline, chain.id)
    tx = manager.stakeWithPermit(task, 1, amount, deadline, v, r, s, {"from": signer})
    assert tx.events["Staked"]["stake"] == amount


def test_pure_helpers_match_offchain_hashes(manager):
    from contract_helpers import REJECT, proposal_hash, update_commitment, vote_commitment

    a = "0x" + "11" * 20
    assert manager.rejectProposal() == "0x" + REJECT.hex()
    assert manager.proposalHash("", b"\0" * 32, b"\0" * 32) == "0x" + REJECT.hex()
    got = manager.proposalHash("QmX", b"\3" * 32, b"\7" * 32)
    assert got == "0x" + proposal_hash("QmX", b"\3" * 32, b"\7" * 32).hex()
    assert (
        manager.updateCommitment(1, 2, a, "QmU", 5, b"\4" * 32)
        == "0x" + update_commitment(1, 2, a, "QmU", 5, b"\4" * 32).hex()
    )
    assert (
        manager.voteCommitment(1, 2, a, b"\5" * 32, b"\6" * 32)
        == "0x" + vote_commitment(1, 2, a, b"\5" * 32, b"\6" * 32).hex()
    )


def test_views_RevertWhen_unknown_task(manager):
    for call in (lambda: manager.taskParams(9), lambda: manager.taskState(9), lambda: manager.currentRound(9)):
        with reverts("FLTaskManagerUnknownTask: 9"):
            call()
