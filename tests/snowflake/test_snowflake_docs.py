"""docs/snowflake.md lists every fakesnow gap the test session fills."""

from __future__ import annotations

from tests.conftest import REPO
from tests.snowflake.gaps import GAPS


def test_every_filled_gap_is_listed_in_the_run_book() -> None:
    doc = (REPO / "docs" / "snowflake.md").read_text()
    table = doc[doc.index("### fakesnow's gaps"):]
    for key in GAPS:
        for name in key.split(", "):
            assert name in table, f"{name} is filled in tests/snowflake/gaps.py but not listed"
