import brownie
from contract_helpers import Phase, Status, Role, E18


def test_full_round(proto, manager, task_id, trainers, validators, accounts, token):
    gas = {}
    proto.to_phase(task_id, Phase.COMMIT)
    for i, t in enumerate(trainers):
        tx = proto.commit_update(task_id, t); gas.setdefault("commitUpdate", []).append(tx.gas_used)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers:
        tx = proto.reveal_update(task_id, t); gas.setdefault("revealUpdate", []).append(tx.gas_used)
    tree = proto.rewards_tree(task_id)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    for v in validators:
        tx = proto.commit_vote(task_id, v, "QmAgg000000000000000000000000000000000000000000", tree.root); gas.setdefault("commitVote", []).append(tx.gas_used)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    for v in validators:
        tx = proto.reveal_vote(task_id, v); gas.setdefault("revealVote", []).append(tx.gas_used)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    tx = manager.finalizeRound(task_id, {"from": accounts[0]}); gas["finalize"] = tx.gas_used
    for t in trainers:
        amount = tree.values[0][1]
        tx = manager.claimTrainerReward(task_id, 0, amount, tree.proof(t, amount), {"from": t}); gas.setdefault("claimT", []).append(tx.gas_used)
    for v in validators[:2]:
        tx = manager.claimValidatorReward(task_id, 0, {"from": v}); gas.setdefault("claimV", []).append(tx.gas_used)
    # round 2
    proto.to_phase(task_id, Phase.COMMIT)
    for i, t in enumerate(trainers):
        tx = proto.commit_update(task_id, t); gas.setdefault("commitUpdate2", []).append(tx.gas_used)
    proto.to_phase(task_id, Phase.REVEAL)
    for t in trainers:
        tx = proto.reveal_update(task_id, t); gas.setdefault("revealUpdate2", []).append(tx.gas_used)
    tree = proto.rewards_tree(task_id)
    proto.to_phase(task_id, Phase.VOTE_COMMIT)
    for v in validators:
        tx = proto.commit_vote(task_id, v, "QmAgg000000000000000000000000000000000000000001", tree.root); gas.setdefault("commitVote2", []).append(tx.gas_used)
    proto.to_phase(task_id, Phase.VOTE_REVEAL)
    for v in validators:
        tx = proto.reveal_vote(task_id, v); gas.setdefault("revealVote2", []).append(tx.gas_used)
    proto.to_phase(task_id, Phase.AWAITING_FINALIZATION)
    tx = manager.finalizeRound(task_id, {"from": accounts[0]}); gas["finalize2"] = tx.gas_used
    for t in trainers:
        amount = tree.values[0][1]
        tx = manager.claimTrainerReward(task_id, 1, amount, tree.proof(t, amount), {"from": t}); gas.setdefault("claimT2", []).append(tx.gas_used)
    for k, v in gas.items():
        print(k, v)
