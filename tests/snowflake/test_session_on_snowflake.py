"""The Warehouse session on Snowflake's wire protocol (issue 17, points 1 and 10)."""

from __future__ import annotations

from typing import Any

from warehouse.session import Warehouse


def test_result_rows_are_keyed_by_the_lower_case_column_names(sf: Any) -> None:
    sf.execute("INSERT INTO batches (load_id, state, file_count) VALUES ('L1/web', 'pending', 2)")
    rows = sf.query_dicts("SELECT load_id, state, file_count FROM batches")
    assert rows == [{"load_id": "L1/web", "state": "pending", "file_count": 2}]  # not LOAD_ID


def test_a_statement_outside_a_transaction_commits_by_itself_like_on_duckdb(sf: Any) -> None:
    sf.execute("INSERT INTO batches (load_id, state) VALUES ('L2/ios', 'pending')")
    sf.close()  # the pool rolls back whatever an implicit transaction held
    with Warehouse() as again:
        assert again.query("SELECT load_id FROM batches") == [("L2/ios",)]


def test_an_explicit_transaction_still_rolls_back_as_a_whole(sf: Any) -> None:
    try:
        with sf.transaction():
            sf.execute("INSERT INTO batches (load_id, state) VALUES ('L3/web', 'pending')")
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    assert sf.query("SELECT COUNT(*) FROM batches") == [(0,)]


def test_the_session_is_pinned_whatever_the_account_defaults(sf: Any) -> None:
    params = sf.dbapi.driver_connection._session_parameters
    assert params["TIMEZONE"] in ("UTC", "Etc/UTC") and params["TIMESTAMP_TYPE_MAPPING"] == "TIMESTAMP_NTZ"
    assert params["TIMESTAMP_INPUT_FORMAT"] == "AUTO" and params["LOCK_TIMEOUT"] == 30
    assert sf.dbapi.driver_connection.host == "127.0.0.1"  # NOVA_SNOWFLAKE_HOST reached the connector
