"""Fixtures of the monitor tests."""

from tests.pipeline.test_snowflake_dialect import snow_conn  # noqa: F401  (a fakesnow connection)
