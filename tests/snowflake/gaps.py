"""What fakesnow 0.12 lacks, filled in the test session so the production SQL runs unchanged.

Each gap is a DuckDB macro of the same name and meaning (created in every database fakesnow
creates), or a rewrite of one construct fakesnow cannot parse into what Snowflake would return.
docs/snowflake.md lists them (a test checks the list). Nothing here changes the SQL nova sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import fakesnow.macros
from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.cursor import FakeSnowflakeCursor
from sqlglot import exp

# name → (what Snowflake does, how the test session fills it)
GAPS: dict[str, str] = {
    "IS_VARCHAR, IS_NULL_VALUE, IS_OBJECT, AS_OBJECT": "macros over json_type() of the VARIANT (JSON)",
    "OBJECT_DELETE": "a macro per arity (1-8 keys): JSON merge patch with a null member per key; NULL on NULL",
    "TRY_TO_TIMESTAMP_TZ": "a macro: TRY_CAST(text AS TIMESTAMPTZ) (fakesnow resolves it on literals only)",
    "REGEXP_SUBSTR": "fakesnow unescapes the pattern twice ([^\"\\\\] fails): calls with a position are "
                     "rewritten to a macro over regexp_extract (NULL when no match)",
    "TRY_PARSE_JSON": "fakesnow accepts duplicate keys (TRY_CAST AS JSON); Snowflake's default is strict: "
                      "a macro over a Python function (strict_json) returns NULL for a duplicate name in any object",
    "REGEXP_REPLACE": "the same double unescaping: rewritten to a macro over regexp_replace(..., 'g')",
    "DIRECTORY(@stage)": "reads the table `_fs_directory` the Snowpipe stand-in fills (relative path, size, MD5)",
    "CURRENT_WAREHOUSE": "a macro returning NULL (fakesnow has no warehouses; Snowflake returns NULL for a "
                         "session without one): Soda asks for it before each contract",
    "NULL timestamps in results": "fakesnow's server encodes a NULL TIMESTAMP as epoch 0 (1970-01-01): the "
                                  "result's timestamp struct keeps the null (MAX over no row is NULL again)",
    "COPY_HISTORY": "INFORMATION_SCHEMA.COPY_HISTORY(...) reads the table `_fs_copy_history` that the "
                    "Snowpipe stand-in (tests/snowflake/snowpipe.py) fills, one row per file it copied",
    "REGEXP_INSTR": "with a bound pattern (`?`), fakesnow's translation repeats the placeholder five times "
                    "and DuckDB then lacks values for it: rewritten to a macro taking the pattern once",
    "HTTP 500": "a statement fakesnow fails with an unexpected error is answered as HTTP 500, which the "
                "connector retries forever (network_timeout is infinite by default): the test server "
                "answers it as a failed query instead, so the test fails with the SQL instead of hanging",
    "executemany": "fakesnow runs an executemany INSERT ... VALUES (?, ...) one row per statement (~25 ms "
                   "each); the connector sends it as one multi-row INSERT: so does the test session (500 rows "
                   "per statement). Only speed differs",
    "FROM @stage (FILE_FORMAT => ...)": "a query of staged files through a named file format (the claim's "
                                        "read of the bytes) reads the table `_fs_stage_bytes` the Snowpipe "
                                        "stand-in fills: each line of each file, one character per byte",
}

# DuckDB macros, created in each database (`${catalog}`) beside fakesnow's own.
MACROS: list[str] = [
    # Snowflake's load metadata, as the Snowpipe stand-in writes it (COPY_HISTORY's columns).
    "CREATE TABLE IF NOT EXISTS ${catalog}.main._fs_copy_history (table_name VARCHAR, file_name VARCHAR, "
    "file_size BIGINT, row_count BIGINT, row_parsed BIGINT, error_count BIGINT, status VARCHAR, "
    "first_error_message VARCHAR, first_error_line_number BIGINT, first_error_column_name VARCHAR, "
    "last_load_time TIMESTAMPTZ)",
    "CREATE OR REPLACE MACRO ${catalog}.is_varchar(v) AS json_type(CAST(v AS JSON)) = 'VARCHAR'",
    "CREATE OR REPLACE MACRO ${catalog}.is_null_value(v) AS json_type(CAST(v AS JSON)) = 'NULL'",
    "CREATE OR REPLACE MACRO ${catalog}.is_object(v) AS json_type(CAST(v AS JSON)) = 'OBJECT'",
    "CREATE OR REPLACE MACRO ${catalog}.as_object(v) AS "
    "CASE WHEN json_type(CAST(v AS JSON)) = 'OBJECT' THEN CAST(v AS JSON) END",
    # On text columns (fakesnow resolves it on literals only). DuckDB's ISO reading, which is
    # narrower than Snowflake's AUTO: the timestamp rules are issue 18's (docs/pipeline.md).
    "CREATE OR REPLACE MACRO ${catalog}.try_to_timestamp_tz(t) AS TRY_CAST(t AS TIMESTAMPTZ)",
    "CREATE OR REPLACE MACRO ${catalog}.nova_regexp_substr(s, p, g) AS NULLIF(regexp_extract(s, p, g), '')",
    # nova_strict_json: a Python function of the session (install()); a walk of every line with
    # json_tree in a macro cost seconds per claim (a correlated subquery per TRY_PARSE_JSON call).
    "CREATE OR REPLACE MACRO ${catalog}.nova_try_parse_json(t) AS "
    "CASE WHEN nova_strict_json(t) THEN CAST(t AS JSON) END",
    "CREATE OR REPLACE MACRO ${catalog}.nova_regexp_replace(s, p, r) AS regexp_replace(s, p, r, 'g')",
    # Snowflake's REGEXP_INSTR(s, p): 1-based position of the first match, 0 when none, NULL on NULL.
    "CREATE OR REPLACE MACRO ${catalog}.nova_regexp_instr(s, p) AS CASE WHEN s IS NULL OR p IS NULL THEN NULL "
    "WHEN regexp_matches(s, p) THEN 1 + length(string_split_regex(s, p)[1]) ELSE 0 END",
    "CREATE OR REPLACE MACRO ${catalog}.current_warehouse() AS CAST(NULL AS VARCHAR)",
    "CREATE TABLE IF NOT EXISTS ${catalog}.main._fs_stage_bytes (file_path VARCHAR, line_number BIGINT, "
    "line_bytes VARCHAR)",
    "CREATE TABLE IF NOT EXISTS ${catalog}.main._fs_directory (relative_path VARCHAR, size BIGINT, md5 VARCHAR, "
    "etag VARCHAR, last_modified TIMESTAMPTZ)",
    # Variadic in Snowflake: one overload per arity used (the personal-data keys).
    # NULL in, NULL out, as every Snowflake function (json_merge_patch would return the patch itself).
    "CREATE OR REPLACE MACRO ${catalog}.object_delete" + ", ".join(
        "(v, " + ", ".join(f"k{i}" for i in range(n)) + ") AS CASE WHEN v IS NOT NULL THEN "
        "json_merge_patch(CAST(v AS JSON), json_object("
        + ", ".join(f"CAST(k{i} AS VARCHAR), NULL" for i in range(n)) + ")) END" for n in range(1, 9)),
]


def _copy_history(node: exp.Expr) -> exp.Expr:
    if (isinstance(node, exp.TableFromRows) and isinstance(node.this, exp.Dot)
            and isinstance(node.this.expression, exp.Anonymous)
            and node.this.expression.name.upper() == "COPY_HISTORY"):
        return exp.to_table("MAIN._FS_COPY_HISTORY")
    return node


def _directory(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DirectoryStage):
        return exp.to_table("MAIN._FS_DIRECTORY")
    if isinstance(node, exp.Table) and isinstance(node.this, exp.DirectoryStage):
        return exp.to_table("MAIN._FS_DIRECTORY").as_(node.alias) if node.alias else exp.to_table("MAIN._FS_DIRECTORY")
    return node


def _stage_bytes(node: exp.Expr) -> exp.Expr:
    # fakesnow reads no stage through a named file format: the select of the claim's UTF-8 check
    # becomes one over the stand-in's lines (already the landing-relative path and row number).
    if isinstance(node, exp.Select):
        src = node.args.get("from") or node.args.get("from_")
        table = src.this if src is not None else None
        if isinstance(table, exp.Table) and table.args.get("format") is not None:
            return exp.select("file_path", "line_number", "line_bytes").from_("MAIN._FS_STAGE_BYTES")
    return node


def _regexp_substr(node: exp.Expr) -> exp.Expr:
    # fakesnow's REGEXP_SUBSTR transform unescapes the pattern literal a second time, so a class
    # like [^"\\] reaches DuckDB as [^"\] and fails; the macro takes the literal as parsed.
    if isinstance(node, exp.RegexpExtract) and node.args.get("position") is not None:
        group = node.args.get("group") or exp.Literal.number(0)
        args = [node.this, node.expression, group]
        return exp.Anonymous(this="nova_regexp_substr", expressions=[a.transform(_regexp_substr) for a in args])
    return node


def _regexp_replace(node: exp.Expr) -> exp.Expr:
    # The same double unescaping in fakesnow's REGEXP_REPLACE; Snowflake's replaces every match.
    if isinstance(node, exp.RegexpReplace) and node.args.get("replacement") is not None:
        args = [node.this, node.expression, node.args["replacement"]]
        return exp.Anonymous(this="nova_regexp_replace", expressions=[a.transform(_regexp_replace) for a in args])
    return node


def _try_parse_json(node: exp.Expr) -> exp.Expr:
    # fakesnow reads TRY_PARSE_JSON as TRY_CAST(... AS JSON), which accepts duplicate keys;
    # Snowflake's is strict by default (a duplicate key anywhere: NULL).
    if isinstance(node, exp.ParseJSON) and node.args.get("safe") and not node.expressions:
        return exp.Anonymous(this="nova_try_parse_json", expressions=[node.this.transform(_try_parse_json)])
    return node


def _regexp_instr(node: exp.Expr) -> exp.Expr:
    # sqlglot writes REGEXP_INSTR for DuckDB with the pattern five times: a `?` pattern then asks
    # for five values where the client bound one.
    if (isinstance(node, exp.RegexpInstr) and isinstance(node.expression, exp.Placeholder)
            and set(node.args) <= {"this", "expression"}):
        return exp.Anonymous(this="nova_regexp_instr", expressions=[node.this, node.expression])
    return node


def _null_safe_timestamps() -> None:
    """fakesnow.arrow.timestamp_to_sf_struct builds the (epoch, fraction) struct without the null mask,
    so a NULL timestamp reaches the connector as 1970-01-01; the same struct, nulls kept."""
    import fakesnow.arrow as fa
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = fa.timestamp_to_sf_struct

    def with_nulls(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
        if isinstance(ts, pa.ChunkedArray):
            ts = ts.combine_chunks()
        if not ts.null_count:
            return plain(ts)
        out = plain(pc.fill_null(ts, pa.scalar(0, type=ts.type)))
        return pa.StructArray.from_arrays([out.field(i) for i in range(out.type.num_fields)],
                                          fields=list(out.type), mask=ts.is_null())

    fa.timestamp_to_sf_struct = with_nulls


REWRITES: list[Callable[[exp.Expr], exp.Expr]] = [
    _copy_history, _directory, _stage_bytes, _regexp_substr, _regexp_replace, _try_parse_json,
    _regexp_instr]
_installed = False


def _no_repeated_name(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) < len(pairs):
        raise ValueError("a name repeated in one object")
    return dict(pairs)


def strict_json(text: str | None) -> bool | None:
    """One JSON value whose objects repeat no (decoded) name: what Snowflake's TRY_PARSE_JSON
    accepts by default."""
    if text is None:
        return None
    try:
        json.loads(text, object_pairs_hook=_no_repeated_name)
    except (ValueError, RecursionError):
        return False
    return True


def install() -> None:
    """Patch fakesnow in this process (the server runs in a thread of the test session)."""
    global _installed
    if _installed:
        return
    _installed = True
    creation_sql = fakesnow.macros.creation_sql

    def with_gaps(catalog: str) -> str:
        return creation_sql(catalog) + "".join(m.replace("${catalog}", catalog) + ";\n" for m in MACROS)

    fakesnow.macros.creation_sql = with_gaps
    _null_safe_timestamps()
    connect = FakeSnowflakeConnection.__init__

    def with_functions(self: FakeSnowflakeConnection, duck_conn: Any, *args: Any, **kwargs: Any) -> None:
        # Registered on the DuckDB instance (every cursor of it sees it), before the macros use it.
        try:
            duck_conn.create_function("nova_strict_json", strict_json, ["VARCHAR"], "BOOLEAN",
                                      null_handling="special")
        except Exception as exc:  # the instance has it already
            if "already" not in str(exc).lower():
                raise
        connect(self, duck_conn, *args, **kwargs)

    FakeSnowflakeConnection.__init__ = with_functions  # type: ignore[method-assign]
    transform = FakeSnowflakeCursor._transform

    def rewrite_first(self: FakeSnowflakeCursor, expression: exp.Expr, params: object) -> exp.Expr:
        for rewrite in REWRITES:
            expression = expression.transform(rewrite, copy=False)
        return transform(self, expression, params)

    FakeSnowflakeCursor._transform = rewrite_first  # type: ignore[method-assign]
    one_by_one = FakeSnowflakeCursor.executemany

    def as_the_connector(self: FakeSnowflakeCursor, command: str, seqparams: Any, **kwargs: Any) -> Any:
        # The connector sends an executemany INSERT ... VALUES (?, ..., NULL) as one multi-row INSERT;
        # fakesnow runs (and transpiles) one statement per row, ~25 ms each: the catalog's 1,200
        # lookup keys took 10 s. The same rows, in statements of 500.
        rows = list(seqparams) if not isinstance(seqparams, dict) else []
        m = _VALUES.match(command)
        if not m or len(rows) < 2:
            return one_by_one(self, command, seqparams, **kwargs)
        for i in range(0, len(rows), 500):
            chunk = rows[i:i + 500]
            self.execute(m.group(1) + ", ".join([m.group(2)] * len(chunk)), [v for r in chunk for v in r])
        return self

    FakeSnowflakeCursor.executemany = as_the_connector  # type: ignore[method-assign]


def fail_queries_instead_of_500() -> None:
    """fakesnow answers a statement it fails unexpectedly with HTTP 500; the connector retries a 5xx
    without end (network_timeout is infinite by default), so a test hung instead of failing. Here
    such an answer becomes a failed query: the connector raises ProgrammingError with the message.
    Call it once the server runs (fakesnow.server() imports the module that holds the routes)."""
    import json
    import sys

    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, request_response

    for route in sys.modules["fakesnow.server"].app.routes:
        if not (isinstance(route, Route) and route.path == "/queries/v1/query-request"):
            continue
        endpoint = route.endpoint

        async def failed_not_500(request: Request, endpoint: Callable = endpoint) -> Response:
            response = await endpoint(request)
            if response.status_code != 500:
                return response
            message = json.loads(bytes(response.body)).get("message", "fakesnow failed the statement")
            return JSONResponse({"data": {"errorCode": "000603", "sqlState": "XX000"}, "code": "000603",
                                 "message": f"fakesnow: {message}", "success": False})

        route.endpoint = failed_not_500
        route.app = request_response(failed_not_500)


_VALUES = re.compile(r"^(\s*INSERT\s+INTO\s+[^;]*?\bVALUES\s*)(\([^()']*\?[^()']*\))\s*$", re.I | re.S)
