"""Where a user's data is: the searches GDPR erasure makes, for every pending request in one pass.

Cost (issue 17, point 5; docs/gdpr.md "Cost"): a line names its user in `raw_events.user_id`
(read when it arrived, pipeline.raw_identity), so a user's own lines are found by a small column.
The text is searched for what that column cannot say (a line that does not parse, one that names
no user, another user's line that mentions the id) in the same scan, for all requests together:
one pattern holds every id (tokens_pattern), so the scan costs the same for 1 or 100 users. The
few lines found are matched to their requests with plain substring probes (the same rule, no
regex). The residue audit reads only the columns the table declarations mark personal
(warehouse.schema `personal`), one query per table.

Ids and patterns are always bound parameters, never SQL text (Snowflake keeps query text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from warehouse.engine import Engine
from warehouse.schema import TABLES, Table
from warehouse.session import Warehouse

MAX_IDS = 100  # requests per pass: each id is a few bound parameters of every search statement
IDS = "_nova_gdpr_ids"  # temp: (ord, request_id, user_id, form_a, form_b, pattern) of this pass
_META = set(r"\.^$|?*+()[]{}")


def forms(user_id: str) -> list[str]:
    """The id as it appears inside JSON text: as is, and with non-ASCII characters escaped."""
    return list(dict.fromkeys(json.dumps(user_id, ensure_ascii=a)[1:-1] for a in (False, True)))


def token_pattern(user_id: str) -> str:
    """The id as a whole JSON string token: `"u_1"` but not `"u_12"`; also inside an escaped JSON
    string (`\\"u_1\\"`) and at the end of a truncated line (`..."u_1`). Only backslash-escaped
    metacharacters are used, the syntax RE2 (DuckDB), POSIX ERE (Snowflake) and Python agree on."""
    return tokens_pattern([user_id])


def tokens_pattern(ids: Sequence[str]) -> str:
    """Any of the ids as a token: one pattern, so one pass over a text finds N users (the regex
    engines run an alternation in one scan; N substring tests would cost N scans of CPU)."""
    body = "|".join(dict.fromkeys("".join("\\" + c if c in _META else c for c in f) for i in ids for f in forms(i)))
    return f'"({body})(\\\\?"|$)'


def probes(user_id: str) -> tuple[list[str], list[str]]:
    """The token rule as plain substrings: (inside, at the end). `"u_1"` or `"u_1\\"` anywhere, or
    `"u_1` ending the text: exactly what token_pattern matches (the ids table holds them per id)."""
    fs = forms(user_id)
    return [p for f in fs for p in (f'"{f}"', f'"{f}\\"')], [f'"{f}' for f in fs]


def token_sql(e: Engine, col: str, ids: Sequence[str]) -> tuple[str, list[str]]:
    """SQL true when the text holds one of the ids as a token, with its parameter (one pattern)."""
    return e.regexp_contains(col, "?"), [tokens_pattern(ids)]


def in_ids(col: str, ids: Sequence[str]) -> tuple[str, list[str]]:
    return f"{col} IN ({', '.join('?' for _ in ids)})", list(ids)


def fill_ids(wh: Warehouse, todo: Sequence[tuple[str, str]]) -> None:
    """The ids of this pass, oldest request first (`ord`: a line two requests match counts for the
    first), one row per form of the id (as sent, and with non-ASCII characters escaped)."""
    t = wh.engine.t
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {IDS} (ord {t('int')}, request_id {t('text')}, user_id {t('text')}, "
               f"quoted {t('text')}, escaped {t('text')}, tail {t('text')})")
    for n, (request_id, user_id) in enumerate(todo):
        for f in forms(user_id):
            wh.execute(f"INSERT INTO {IDS} (ord, request_id, user_id, quoted, escaped, tail) VALUES (?, ?, ?, ?, ?, ?)",
                       [n, request_id, user_id, f'"{f}"', f'"{f}\\"', f'"{f}'])


def token_match(wh: Warehouse, text: str, alias: str = "i") -> str:
    """Join condition: the text holds the id of row `alias` of the ids table as a token."""
    return (f"({text} IS NOT NULL AND (contains({text}, {alias}.quoted) OR contains({text}, {alias}.escaped) "
            f"OR {wh.engine.ends_with(text, alias + '.tail')}))")


def declared_tables() -> dict[str, Table]:
    """Every table the code declares (the warehouse's, GDPR's own, curate's when installed)."""
    from pipeline.gdpr import GDPR_TABLES

    tables: list[Table] = [*TABLES, *GDPR_TABLES]
    try:
        from pipeline.curate.definition import CURATED_TABLES
    except ImportError:  # the curated layer is optional
        CURATED_TABLES = ()
    tables.extend(CURATED_TABLES)
    return {t.name: t for t in tables}


def searched_columns(wh: Warehouse, exclude: Sequence[str] = ()) -> dict[str, list[tuple[str, bool]]]:
    """table → [(column, is_json)] the residue audit reads: a declared table's personal columns
    (none when it holds no personal data), every text and JSON column of a table nobody declared."""
    e = wh.engine
    text_types, json_type = {e.t("text").upper(), "TEXT"}, e.t("json").upper()
    declared = declared_tables()
    out: dict[str, list[tuple[str, bool]]] = {}
    for table, column, kind in wh.query(
            "SELECT lower(c.table_name), lower(c.column_name), upper(c.data_type) FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_catalog = c.table_catalog "
            "AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE t.table_type = 'BASE TABLE' AND t.table_catalog = current_database() "
            "AND t.table_schema = current_schema() ORDER BY 1, 2"):
        if table in exclude or (kind not in text_types and kind != json_type):
            continue
        if table in declared and column not in declared[table].personal_columns:
            continue
        out.setdefault(table, []).append((column, kind == json_type))
    return out


def residues(wh: Warehouse, ids: Sequence[str], *,
             exclude: Sequence[str] = ("gdpr_pending_ids",)) -> dict[str, dict[str, int]]:
    """id → {table.column: rows} still holding it (equal, or as a token); ids absent when clean.
    One aggregate query per table over its personal columns; a per-id count only where one is held."""
    e = wh.engine
    found: dict[str, dict[str, int]] = {}
    if not ids:
        return found
    for table, cols in searched_columns(wh, exclude).items():
        preds, params = [], []
        for column, is_json in cols:
            text = e.json_as_text(column) if is_json else column
            eq, eq_p = in_ids(text, ids)
            sub, sub_p = token_sql(e, text, ids)
            preds.append(f"({eq} OR {sub})")
            params.append(eq_p + sub_p)
        sums = ", ".join(f"SUM(CASE WHEN {p} THEN 1 ELSE 0 END)" for p in preds)
        flat = [x for p in params for x in p]
        row = wh.query(f"SELECT {sums} FROM {table} WHERE {' OR '.join(preds)}", flat + flat)[0]
        for (column, is_json), hits in zip(cols, row, strict=True):
            if not hits:
                continue
            text = e.json_as_text(column) if is_json else column
            for user_id in ids:  # rare: only a column where some id is still there
                one, one_p = token_sql(e, text, [user_id])
                n = wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE {text} = ? OR {one}", [user_id, *one_p])
                if n:
                    found.setdefault(user_id, {})[f"{table}.{column}"] = int(n)
    return found

