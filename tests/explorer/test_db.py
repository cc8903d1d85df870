"""The explorer's database file: one written by another schema is refused with what to do."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from offchain.errors import ConfigError
from offchain.explorer.db import SCHEMA_VERSION, Database


def test_a_database_of_another_schema_is_refused_with_what_to_do_and_left_intact(tmp_path: Path) -> None:
    path = tmp_path / "explorer.sqlite"
    db = Database(path)
    db.set_meta(schema="0", checkpoint=123)
    db.conn.commit()
    db.close()
    with pytest.raises(ConfigError, match=rf"schema 0, this dfl writes {SCHEMA_VERSION}: delete the file"):
        Database(path)
    with closing(sqlite3.connect(path)) as conn:  # the refusal changed nothing in the file
        assert conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall() == [
            ("checkpoint", "123"),
            ("schema", "0"),
        ]
