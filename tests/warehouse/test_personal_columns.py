"""Where personal data can be is declared with each table (GDPR's audit reads only there), and the
load reads each line's user by the contracts' own paths."""

from __future__ import annotations

from typing import Any

from pipeline.gdpr_search import declared_tables
from warehouse.schema import PERSONAL_COLUMN_NAMES, USER_ID_PATHS


def test_a_table_with_a_personal_column_says_so() -> None:
    tables = declared_tables()
    assert {"raw_events", "stg_events", "fct_feature_events", "gdpr_pending_ids"} <= set(tables)
    for t in tables.values():
        held = set(t.column_names) & set(PERSONAL_COLUMN_NAMES)
        if held:
            assert t.personal_data and held <= set(t.personal_columns), (t.name, held, t.personal_columns)
    assert tables["raw_events"].personal_columns == ("user_id", "raw_line")
    assert tables["check_results"].personal_columns == ()


def test_the_load_reads_the_user_where_the_contracts_do(registry: Any) -> None:
    for platform, contract in registry.contracts.items():
        m = contract.mapping["user_id"]
        assert USER_ID_PATHS[platform] == tuple(m.from_) and not m.transform, platform
    assert set(USER_ID_PATHS) == set(registry.contracts)
