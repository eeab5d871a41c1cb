"""The warehouse object against a real DuckDB file: schema upgrades keep the data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from config import Settings
from warehouse.schema import TABLES_BY_NAME
from warehouse.session import open_warehouse


def test_opening_an_older_warehouse_adds_the_new_columns_and_keeps_rows(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE erasure_counts (load_id VARCHAR, lines BIGINT)")  # an older release's table
    con.execute("INSERT INTO erasure_counts VALUES ('L1', 3)")
    con.close()
    with open_warehouse(Settings(warehouse_url=f"duckdb:///{db}")) as wh:
        cols = [r[0] for r in wh.query("SELECT column_name FROM information_schema.columns "
                                        "WHERE table_name = 'erasure_counts'")]
        assert set(cols) == set(TABLES_BY_NAME["erasure_counts"].column_names)
        assert wh.query("SELECT load_id, lines, request_id FROM erasure_counts") == [("L1", 3, None)]
        assert wh.table_exists("raw_events")  # missing tables are created as before


def test_a_failing_bulk_statement_surfaces_its_own_error_and_rolls_back(tmp_path: Path) -> None:
    with open_warehouse(Settings(warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}")) as wh:
        # The statement's own error, not "transaction aborted" from restoring the setting.
        with pytest.raises(duckdb.ConversionException, match="Could not convert"), wh.transaction(), wh.bulk():
            wh.execute("INSERT INTO batches (load_id, state) VALUES ('L1', 'pending')")
            wh.execute("INSERT INTO batches (load_id, line_count) VALUES ('L2', CAST('x' AS INTEGER))")
        assert wh.scalar("SELECT COUNT(*) FROM batches") == 0
        assert wh.scalar("SELECT current_setting('preserve_insertion_order')") is True
        with wh.bulk():
            assert wh.scalar("SELECT current_setting('preserve_insertion_order')") is False
        assert wh.scalar("SELECT current_setting('preserve_insertion_order')") is True
