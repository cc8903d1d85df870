"""The web app: server-rendered pages (Jinja2), each also as JSON under /api/...

Pages read only the database (see queries/); the indexer fills it, in a background thread
of the same process when started with `indexer=...`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from offchain.explorer import queries
from offchain.explorer.chart import metric_chart
from offchain.explorer.db import Database, connect
from offchain.explorer.indexer import IndexerStatus

TEMPLATES = Path(__file__).parent / "templates"


def _tokens(amount: Any, decimals: int = 18, symbol: str = "DFL") -> str:
    if amount is None:
        return "–"
    value = Decimal(int(amount)) / (Decimal(10) ** decimals)
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{text} {symbol}"


def _short(value: Any, keep: int = 6) -> str:
    text = str(value or "")
    return text if len(text) <= 2 * keep + 3 else f"{text[: keep + 2]}…{text[-keep:]}"


def _time(ts: Any) -> str:
    return "–" if not ts else datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def create_app(
    db_path: Path,
    *,
    gateway: str = "http://127.0.0.1:8080",
    status: IndexerStatus | None = None,
    indexer: Callable[[threading.Event, IndexerStatus], None] | None = None,
) -> FastAPI:
    """`indexer(stop, status)`, if given, runs in a background thread for the app's lifetime."""
    Database(db_path).close()  # creates the file and schema, so readers can open it read-only
    status = status or IndexerStatus()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = (
            threading.Thread(target=indexer, args=(stop, status), name="explorer-indexer", daemon=True)
            if indexer
            else None
        )
        if thread:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread:
                thread.join(timeout=30)

    app = FastAPI(title="DFL explorer", lifespan=lifespan, docs_url="/api/docs", openapi_url="/api/openapi.json")
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters.update(short=_short, time=_time)
    gateway = gateway.rstrip("/")

    def db() -> Iterator[sqlite3.Connection]:
        conn = connect(db_path, readonly=True)
        try:
            yield conn
        finally:
            conn.close()

    def render(
        request: Request, conn: sqlite3.Connection, template: str, data: dict[str, Any], code: int = 200
    ) -> HTMLResponse:
        token = queries.token(conn)
        context = {
            "d": data,
            "token": token,
            "gateway": gateway,
            "indexer": status.as_dict(),
            "tokens": lambda amount: _tokens(amount, token["decimals"], token["symbol"]),
            "chart": lambda metrics: Markup(metric_chart(metrics)),
        }
        return templates.TemplateResponse(request, template, context, status_code=code)

    def page(path: str, template: str, build: Callable[..., dict[str, Any]], api_path: str | None = None) -> None:
        """Register `path` (HTML) and `/api{path}` (JSON) for the same data."""

        def html(request: Request, conn: sqlite3.Connection = Depends(db)) -> Response:
            try:
                return render(request, conn, template, build(conn, **request.path_params, **_query(request)))
            except queries.NotFound as exc:
                return render(request, conn, "error.html", {"error": str(exc)}, 404)

        def api(request: Request, conn: sqlite3.Connection = Depends(db)) -> Response:
            try:
                return JSONResponse(build(conn, **request.path_params, **_query(request)))
            except queries.NotFound as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)

        app.add_api_route(path, html, methods=["GET"], response_class=HTMLResponse, include_in_schema=False)
        app.add_api_route(api_path or f"/api{path}", api, methods=["GET"], name=f"api{path}")

    def _query(request: Request) -> dict[str, Any]:
        before = request.query_params.get("before")
        return (
            {"before": int(before)}
            if before and before.isdigit() and request.url.path.rstrip("/").endswith("/blocks")
            else {}
        )

    page("/", "home.html", lambda conn: queries.home(conn, status.as_dict()), api_path="/api/home")
    page("/tasks", "tasks.html", queries.tasks)
    page("/tasks/{task_id:int}", "task.html", queries.task)
    page("/tasks/{task_id:int}/rounds/{round_id:int}", "round.html", queries.round_page)
    page("/accounts/{address}", "account.html", queries.account)
    page("/blocks", "blocks.html", queries.blocks)
    page("/blocks/{number:int}", "block.html", queries.block)
    page("/tx/{tx_hash}", "tx.html", queries.transaction)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", conn: sqlite3.Connection = Depends(db)) -> Response:
        found = queries.search(conn, q)
        if len(found["results"]) == 1:
            return RedirectResponse(found["results"][0]["url"], status_code=303)
        return render(request, conn, "search.html", found, 200 if found["results"] or not q else 404)

    @app.get("/api/search")
    def search_api(q: str = "", conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:
        return queries.search(conn, q)

    @app.get("/api/status")
    def status_api(conn: sqlite3.Connection = Depends(db)) -> dict[str, Any]:
        return {"indexer": status.as_dict(), "meta": queries.meta(conn)}

    @app.get("/api")
    def api_index() -> dict[str, Any]:
        return {
            "pages": [
                "/api/home",
                "/api/tasks",
                "/api/tasks/{id}",
                "/api/tasks/{id}/rounds/{r}",
                "/api/accounts/{address}",
                "/api/blocks",
                "/api/blocks/{n}",
                "/api/tx/{hash}",
                "/api/search?q=",
                "/api/status",
            ]
        }

    return app
