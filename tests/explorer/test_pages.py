"""Every page over real HTTP, as HTML and as JSON, against the indexed scripted task: the
reward trail from the round receipt to the claim transaction to the account balance."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from explorer.conftest import ROUNDS, TRAINERS, VALIDATORS, Indexed
from offchain.chain.artifacts import load_deployment
from offchain.chain.manager import TaskManager
from support import BUILD_DIR, wait_until


def _get(server: str, path: str, code: int = 200) -> requests.Response:
    response = requests.get(server + path, timeout=10, allow_redirects=False)
    assert response.status_code == code, f"{path}: {response.status_code} {response.text[:500]}"
    return response


def _page(server: str, path: str) -> tuple[str, dict]:
    html = _get(server, path)
    assert html.headers["content-type"].startswith("text/html") and "<script" not in html.text
    data = _get(server, "/api" + (path if path != "/" else "/home"))
    assert data.headers["content-type"].startswith("application/json")
    return html.text, data.json()


def test_home_lists_the_task_latest_blocks_and_totals(server: str, indexed: Indexed) -> None:
    html, data = _page(server, "/")
    assert [t["task"] for t in data["tasks"]] == [indexed.task.task_id]
    assert data["totals"]["tasks"] == 1 and data["totals"]["blocks"] >= 10 and data["latest_blocks"]
    assert (
        f'href="/tasks/{indexed.task.task_id}"' in html
        and f'href="/blocks/{data["latest_blocks"][0]["number"]}"' in html
    )
    assert _get(server, "/api/tasks").json()["tasks"] == data["tasks"]
    assert "completed" in _get(server, "/tasks").text


def test_task_page_has_parameters_rounds_participants_claims_and_slashes(server: str, indexed: Indexed) -> None:
    t = indexed.task
    html, data = _page(server, f"/tasks/{t.task_id}")
    assert data["state"]["phase"] == "completed" and data["params"]["numRounds"] == ROUNDS
    assert [r["status"] for r in data["rounds"]] == ["accepted"] * ROUNDS
    assert [r["receipt_cid"] for r in data["rounds"]] == [t.receipts[r] for r in range(ROUNDS)]
    assert [m["round"] for m in data["metrics"]] == list(range(ROUNDS))
    assert data["metrics"][1]["mean"] > data["metrics"][0]["mean"]
    roles = {p["address"]: p["role"] for p in data["participants"]}
    assert roles == {**{a: "trainer" for a in t.trainers}, **{a: "validator" for a in t.validators}}
    for p in data["participants"]:
        assert p["reward_claimed"] == p["reward_earned"] > 0 or p["address"] == t.trainers[-1]
    assert [(s["account"], s["reason"]) for s in data["slashes"]] == [(t.trainers[-1], "trainer_non_reveal")]
    assert len(data["claims"]) == len(t.claims) + VALIDATORS * ROUNDS
    assert '<svg id="accuracy-chart"' in html and 'id="rounds"' in html
    privacy = data["privacy"]
    assert (privacy["mode"], privacy["dp"], privacy["epsilon_budget"]) == ("sealed", "local", 50.0)
    assert 0 < privacy["epsilon_spent"] <= privacy["epsilon_budget"]
    assert sorted(k["account"].lower() for k in privacy["registered_keys"]) == sorted(v.lower() for v in t.validators)
    assert "sealed: updates are readable by the task&#39;s validators only" in html and "ε spent" in html
    for r in range(ROUNDS):
        assert f'href="/tasks/{t.task_id}/rounds/{r}"' in html


def test_round_page_shows_updates_with_cids_votes_outcome_and_the_receipt_per_participant(
    server: str, indexed: Indexed, ipfs_gateway: str
) -> None:
    t = indexed.task
    html, data = _page(server, f"/tasks/{t.task_id}/rounds/0")
    assert data["status"] == "accepted" and data["phase"] == "finalized"
    assert data["receipt"]["cid"] == t.receipts[0] and data["receipt"]["root_matches_chain"]
    assert len(data["updates"]) == TRAINERS and len(data["votes"]) == VALIDATORS
    by_trainer = {u["trainer"]: u for u in data["updates"]}
    skipped = by_trainer.pop(t.trainers[-1])
    assert skipped["cid"] is None and skipped["reason"] == "not revealed" and skipped["reward"] == 0
    for trainer, u in by_trainer.items():
        assert u["accepted"] and u["reward"] > 0 and u["claimed"] == u["reward"]
        assert u["claim_tx"] == t.claims[(0, trainer)]
        assert f'href="{ipfs_gateway}/ipfs/{u["cid"]}"' in html and f'href="/tx/{u["claim_tx"]}"' in html
    assert sum(u["reward"] for u in data["updates"]) == sum(r["amount"] for r in data["receipt"]["rewards"])
    assert all(v["vote"] == t.receipts[0] and v["with_winner"] and v["reward"] > 0 for v in data["votes"])
    assert data["global_model_cid"] == _get(server, f"/api/tasks/{t.task_id}").json()["params"]["initialModelCid"]
    assert _get(server, f"/api/tasks/{t.task_id}/rounds/1").json()["global_model_cid"] == t.receipts[0]


def test_claim_transaction_page_decodes_the_call_and_its_events(server: str, indexed: Indexed) -> None:
    (round_id, trainer), tx_hash = sorted(indexed.task.claims.items())[0]
    html, data = _page(server, f"/tx/{tx_hash}")
    assert data["function"] == "claimTrainerReward" and data["from"] == trainer and data["status"] == "success"
    assert data["args"]["taskId"] == indexed.task.task_id and data["args"]["round"] == round_id
    names = [e["name"] for e in data["events"]]
    assert "TrainerRewardClaimed" in names and "Transfer" in names
    transfer = next(e for e in data["events"] if e["name"] == "Transfer")
    assert transfer["args"]["to"] == trainer and transfer["args"]["value"] == data["args"]["amount"]
    assert "claimTrainerReward" in html and f'href="/accounts/{trainer}"' in html


def test_account_page_shows_balance_stakes_rewards_slashes_and_transactions(server: str, indexed: Indexed) -> None:
    t = indexed.task
    chain = TaskManager(indexed.rpc_url, load_deployment(indexed.deployments, 31337, BUILD_DIR))
    trainer = t.trainers[0]
    html, data = _page(server, f"/accounts/{trainer.lower()}")  # any case finds the account
    assert data["address"] == trainer and data["balance"] == chain.balance_of(trainer)
    assert data["rewards"]["claimed"] == data["rewards"]["trainer_earned"] > 0
    assert {c["tx"] for c in data["claims"]} == {h for (r, a), h in t.claims.items() if a == trainer}
    assert [s["role"] for s in data["stakes"]] == ["trainer"]
    assert {"commitUpdate", "revealUpdate", "claimTrainerReward", "stake"} <= {
        x["function"] for x in data["transactions"]
    }
    assert 'id="balance"' in html
    slashed = _get(server, f"/api/accounts/{t.trainers[-1]}").json()
    assert [s["reason"] for s in slashed["slashes"]] == ["trainer_non_reveal"]


def test_block_pages_list_blocks_and_their_project_transactions(server: str, indexed: Indexed) -> None:
    tx_hash = next(iter(indexed.task.claims.values()))
    number = _get(server, f"/api/tx/{tx_hash}").json()["block"]
    html, data = _page(server, f"/blocks/{number}")
    assert data["number"] == number and tx_hash in [x["hash"] for x in data["transactions"]]
    assert f'href="/tx/{tx_hash}"' in html
    listing = _get(server, "/api/blocks").json()
    numbers = [b["number"] for b in listing["blocks"]]
    assert numbers == sorted(numbers, reverse=True) and numbers == list(
        range(numbers[0], numbers[0] - len(numbers), -1)
    )
    assert len(numbers) == 50 or listing["next_before"] is None
    older = _get(server, f"/api/blocks?before={numbers[5]}").json()["blocks"]
    assert older[0]["number"] == numbers[6]
    assert f'href="/blocks/{numbers[0]}"' in _get(server, "/blocks").text


def test_search_finds_addresses_transactions_blocks_tasks_and_cids(server: str, indexed: Indexed) -> None:
    t = indexed.task
    tx_hash = next(iter(t.claims.values()))
    assert _get(server, f"/search?q={t.trainers[0].lower()}", 303).headers["location"] == f"/accounts/{t.trainers[0]}"
    assert _get(server, f"/search?q={tx_hash}", 303).headers["location"] == f"/tx/{tx_hash}"
    assert _get(server, f"/search?q=%23{t.task_id}", 303).headers["location"] == f"/tasks/{t.task_id}"
    assert "task" in {r["kind"] for r in _get(server, f"/api/search?q={t.task_id}").json()["results"]}
    block = _get(server, f"/api/tx/{tx_hash}").json()[
        "block"
    ]  # a number is a block number, and a task id if one exists
    assert {"kind": "block", "label": f"block {block}", "url": f"/blocks/{block}"} in _get(
        server, f"/api/search?q={block}"
    ).json()["results"]
    update_cid = _get(server, f"/api/tasks/{t.task_id}/rounds/1").json()["updates"][0]["cid"]
    assert _get(server, f"/search?q={update_cid}", 303).headers["location"] == f"/tasks/{t.task_id}/rounds/1"
    receipt_hits = _get(server, f"/api/search?q={t.receipts[1]}").json()["results"]
    assert {r["url"] for r in receipt_hits} == {f"/tasks/{t.task_id}/rounds/1"}
    assert _get(server, "/api/search?q=nothing-like-this").json()["results"] == []
    assert "Nothing indexed matches" in _get(server, "/search?q=nothing-like-this", 404).text


@pytest.mark.parametrize(
    "path",
    [
        "/tasks/999",
        "/tasks/1/rounds/99",
        "/accounts/0x" + "ab" * 20,
        "/accounts/not-an-address",
        "/blocks/99999999",
        "/tx/0x" + "00" * 32,
    ],
)
def test_unknown_things_are_404_pages_and_json_errors(server: str, indexed: Indexed, path: str) -> None:
    assert "Not found" in _get(server, path, 404).text
    assert "error" in _get(server, "/api" + path, 404).json()


def test_status_reports_the_background_indexer_following_the_chain(server: str, indexed: Indexed) -> None:
    first = _get(server, "/api/status").json()["indexer"]
    assert first["checkpoint"] is not None

    def moved_on() -> dict[str, Any] | None:
        now = _get(server, "/api/status").json()["indexer"]
        return now if now["checkpoint"] is not None and now["checkpoint"] > first["checkpoint"] + 1 else None

    now = wait_until(
        moved_on, timeout=15, what=f"the indexer to follow new blocks past {first['checkpoint']}", every=0.5
    )
    assert now["last_error"] is None and now["lag"] <= 3
    assert re.search(r"Indexed to block \d+ of \d+", _get(server, "/").text)
