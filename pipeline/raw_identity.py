"""The user a raw line names, read when the line arrives (DuckDB load, Snowflake claim).

GDPR erasure finds a user's lines by `raw_events.user_id`, a small column, instead of searching
every line's text for each request (issue 17, point 5). The paths are the contracts' `user_id.from`
(warehouse.schema.USER_ID_PATHS, checked against the registry by a test), read from one plain parse
of the line (no strictness checks: a lookup reads a line with a duplicate key too); the first present
one wins, as staging's canonical user_id. NULL when the line does not parse, names no user, or has
no platform: erasure searches those lines' text instead.
"""

from __future__ import annotations

from warehouse.engine import Engine
from warehouse.schema import USER_ID_PATHS

ALL_PATHS: tuple[str, ...] = tuple(dict.fromkeys(p for paths in USER_ID_PATHS.values() for p in paths))


def doc_sql(e: Engine, raw: str = "raw_line", decode_error: str = "decode_error") -> str:
    """The parsed line holding every user-id path (compute once, as a column named for user_id_sql)."""
    return e.lenient_doc_of_line(raw, decode_error, ALL_PATHS)


def user_id_sql(e: Engine, doc: str, platform: str = "platform") -> str:
    """The line's user id from its parsed form `doc`, by its platform's paths."""
    cases = []
    for plat, paths in USER_ID_PATHS.items():
        vals = [e.doc_text(doc, ALL_PATHS, p) for p in paths]
        pick = " ".join(f"WHEN NOT ({v} IS NULL OR trim({v}) = '') THEN {v}" for v in vals)
        cases.append(f"WHEN {platform} = {e.lit(plat)} THEN CASE {pick} END")
    return "CASE " + " ".join(cases) + " END"
