"""A real browser (Debian chromium driven by Playwright) on the task page after a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.conftest import ROUNDS, Indexed
from offchain.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = PROJECT_ROOT / "reports" / "explorer-task.png"


@pytest.mark.timeout(120)
def test_task_page_in_chromium_rounds_table_chart_and_link_to_an_account(server: str, indexed: Indexed) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing: run `make setup` (tools/setup-debian.sh installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{server}/tasks/{indexed.task.task_id}")
            assert page.locator("h1").inner_text().startswith(f"Task {indexed.task.task_id}")
            rows = page.locator("table#rounds tr:has(td)")
            assert rows.count() == ROUNDS
            assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(ROUNDS)] == ["accepted"] * ROUNDS
            chart = page.locator("svg#accuracy-chart")
            box = chart.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, box
            assert page.locator("svg#accuracy-chart circle.point").count() == ROUNDS
            line = page.locator("svg#accuracy-chart polyline.mean").bounding_box()
            assert line is not None and line["width"] > 100  # the line spans the rounds
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            trainer = indexed.task.trainers[0]
            page.locator(f'table#participants a[href="/accounts/{trainer}"]').click()
            page.wait_for_url(f"**/accounts/{trainer}")
            assert trainer in page.locator("h1").inner_text()
            assert "DFL" in page.locator("#balance").inner_text()
            assert page.locator("table#claims tr:has(td) a[href^='/tx/']").count() == ROUNDS
            page.screenshot(path=str(SCREENSHOT.with_name("explorer-account.png")), full_page=True)
            assert errors == []
        finally:
            browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
