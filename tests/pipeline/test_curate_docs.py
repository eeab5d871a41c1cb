"""docs/querying.md stays true: every ```sql block runs on a generated warehouse and returns rows,
and parses as Snowflake SQL too (the page promises it runs there as written)."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest
import sqlglot

from pipeline.curate import curate
from pipeline.curate.definition import MODELS
from pipeline.curate.query import check_read_only
from tests.conftest import REPO
from tests.pipeline.stg_factory import event, insert

DOC = (REPO / "docs" / "querying.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```sql\n(.*?)```", DOC, flags=re.S)
FEATURES = ["editor.comments.mention", "editor.comments.reply", "editor.comments", "editor.text.bold",
            "editor.tables.insert_table"]


@pytest.fixture
def generated(wh: Any, registry: Any) -> Any:
    """Two weeks of random staged events, plus the cases the questions look for."""
    rnd = random.Random(7)
    start = dt.datetime(2026, 11, 16)
    events = []
    for i in range(1500):
        user = rnd.randint(1, 200)
        events.append(event(
            f"r{i}", user=f"u_{user:06d}", ws=f"ws_{user % 20 + 1:05d}", feature=rnd.choice(FEATURES),
            platform=rnd.choice(["web", "web", "ios", "android"]),
            at=start + dt.timedelta(minutes=rnd.randint(0, 14 * 24 * 60 - 1))))
    week2 = dt.datetime(2026, 11, 24, 9)
    events += [  # a workspace that stopped using mentions but is still active
        event("s1", user="u_900001", ws="ws_09999", at=dt.datetime(2026, 11, 17, 9)),
        event("s2", user="u_900001", ws="ws_09999", feature="editor.text.bold", at=week2),
        # a feature used on one platform only
        event("s3", user="u_000123", ws="ws_00004", feature="editor.tables.formula", at=week2),
    ]
    insert(wh, events)
    curate(wh, registry)
    return wh


def test_the_page_documents_every_public_table() -> None:
    for table in ("fct_feature_events", "feature_usage_daily", "feature_usage_weekly",
                  "feature_adoption_by_workspace", "user_feature_last_seen", "dim_feature", "feature_ancestors"):
        assert f"`{table}`" in DOC
    assert len(BLOCKS) >= 8
    assert {m.name for m in MODELS if not m.name.startswith("int_")} <= {
        t for t in re.findall(r"`(\w+)`", DOC)}


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_every_sql_block_runs_and_answers(generated: Any, n: int) -> None:
    sql = BLOCKS[n]
    check_read_only(sql, "duckdb")  # what `nova query` accepts
    sqlglot.parse_one(sql, read="snowflake")
    rows = generated.query(sql)
    assert rows, f"block {n} returned no row:\n{sql}"
