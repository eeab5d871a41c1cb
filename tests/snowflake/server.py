"""`python -m tests.snowflake.server`: fakesnow's server with the gaps of tests/snowflake/gaps.py
filled; prints `port=<n>` when it listens, runs until killed. A process of its own, so the CLI
subprocesses of a test never compete with the test process for the interpreter lock."""

from __future__ import annotations

import logging
import sys
import time

import fakesnow

from tests.snowflake import gaps


def main() -> None:
    gaps.install()
    with fakesnow.server() as kw:
        gaps.fail_queries_instead_of_500()
        for name in ("fakesnow.server", "uvicorn", "uvicorn.access", "uvicorn.error", "sqlglot"):
            logging.getLogger(name).setLevel(logging.ERROR)
        print(f"port={kw['port']}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
