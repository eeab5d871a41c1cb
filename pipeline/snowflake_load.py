"""LOAD on Snowflake: the warehouse reads the landing bucket itself; this module renders how.

DuckDB loads through Python (pipeline/load.py). On Snowflake the same `raw_events` rows are
written by one COPY INTO from an external stage, run continuously by Snowpipe (or by hand for a
backfill). The COPY leaves `load_id` NULL; `nova load` then *claims* the unclaimed rows in one
transaction: stamps a new load_id, completes `received_at` from the line (the engine's own
expression), writes the ledger from COPY_HISTORY and registers the batch. Every raw row thus
joins exactly one batch, and a crash before COMMIT leaves the rows for the next claim.

Pure functions: Settings in, SQL text out. Object names come from settings and are validated and
rendered by sqlglot; literals are quoted by sqlglot's Snowflake dialect (backslash escapes).
See docs/snowflake.md for why each option is set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from config import Settings
from pipeline.raw_identity import doc_sql, user_id_sql
from warehouse.engine import Engine, SnowflakeEngine
from warehouse.schema import TABLES_BY_NAME, batch_platform

FILE_FORMAT = "NOVA_JSON_LINES"
# The same lines read as ISO-8859-1: one character per byte, so nothing is ever invalid and the
# line's bytes can be told apart (a client's U+FFFD is the bytes EF BF BD, a replaced byte is not).
BYTES_FILE_FORMAT = "NOVA_LINE_BYTES"
PIPE = "NOVA_RAW_EVENTS_PIPE"
RAW = TABLES_BY_NAME["raw_events"]
LEDGER = TABLES_BY_NAME["load_ledger"]
BATCHES = TABLES_BY_NAME["batches"]
# Same as pipeline.landing.PLATFORM_RE; POSIX ERE has no (?:...), so the value is group 2.
PLATFORM_PATTERN = "(^|/)platform=([^/]+)/"
# .json/.jsonl, plain or gzip; names starting with '.' or '_' are partial uploads (landing.py).
FILE_PATTERN = "^(.*/)?[^/._][^/]*[.]jsonl?([.]gz)?$"
REPLACEMENT_CHAR = "\ufffd"  # what REPLACE_INVALID_CHARACTERS puts for bytes that are not UTF-8
REPLACEMENT_AS_LATIN1 = REPLACEMENT_CHAR.encode().decode("latin-1")  # its UTF-8 bytes EF BF BD, read as ISO-8859-1
SUSPECTS_PER_READ = 200  # files per read of the bytes: keeps the PATTERN a short regex
HISTORY_HOURS = 48  # COPY_HISTORY look-back of a claim (the table function keeps 14 days)
# The COPY's sources; tests substitute columns for them to run the same expressions elsewhere.
METADATA: Mapping[str, str] = {
    "line": "$1",
    "filename": "METADATA$FILENAME",
    "row": "METADATA$FILE_ROW_NUMBER",
    "mtime": "METADATA$FILE_LAST_MODIFIED",
    "scan": "METADATA$START_SCAN_TIME",
}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9_\-=./]*$")


def sf_lit(value: str) -> str:
    """A Snowflake string literal: sqlglot escapes quotes and backslashes (Snowflake reads `\\` escapes)."""
    return exp.Literal.string(value).sql(dialect="snowflake")


def object_name(name: str) -> str:
    """A settings-provided object name (`NAME`, `SCHEMA.NAME` or `DB.SCHEMA.NAME`), refused unless plain."""
    parts = name.split(".")
    if not 1 <= len(parts) <= 3 or not all(_NAME.match(p) for p in parts):
        raise ValueError(f"Snowflake object name {name!r}: use letters, digits, _ and $ (DB.SCHEMA.NAME at most)")
    return ".".join(exp.to_identifier(p).sql(dialect="snowflake") for p in parts)


def utc_ntz(ltz: str) -> str:
    """A TIMESTAMP_LTZ as the UTC wall clock the TIMESTAMP_NTZ columns hold."""
    return f"CONVERT_TIMEZONE('UTC', {ltz})::TIMESTAMP_NTZ(6)"


@dataclass(frozen=True)
class SnowflakeLanding:
    """The landing bucket as Snowflake sees it: an external stage and the objects loading from it."""

    url: str  # s3://bucket/prefix/ (trailing slash: a stage URL is a folder)
    prefix: str  # key prefix inside the bucket, '' at the root
    stage: str
    integration: str
    file_format: str = FILE_FORMAT
    pipe: str = PIPE
    bytes_format: str = BYTES_FILE_FORMAT

    @classmethod
    def from_settings(cls, settings: Settings, *, file_format: str = FILE_FORMAT,
                      pipe: str = PIPE) -> SnowflakeLanding:
        path = settings.landing_path
        if not path.startswith("s3://"):
            raise ValueError(f"landing_path {path!r}: Snowflake loads from an s3://bucket/prefix landing")
        bucket, _, prefix = path[5:].partition("/")
        prefix = prefix.strip("/")
        if not _BUCKET.match(bucket) or not _PREFIX.match(prefix) or ".." in prefix:
            raise ValueError(f"landing_path {path!r}: not a plain s3://bucket/prefix")
        url = f"s3://{bucket}/" + (f"{prefix}/" if prefix else "")
        names = (settings.snowflake_stage, settings.snowflake_storage_integration, file_format, pipe)
        for n in names:
            object_name(n)  # refuse early, with the setting's value in the message
        return cls(url, prefix, *names)

    def relative_path(self, path: str) -> str:
        """A stage path (full URL, bucket key or already relative) as the landing-relative path
        the ledger and DuckDB use; prefix tests instead of a regex: nothing to escape."""
        cases = [f"WHEN STARTSWITH({path}, {sf_lit(p)}) THEN SUBSTR({path}, {len(p) + 1})"
                 for p in (self.url, f"{self.prefix}/" if self.prefix else "") if p]
        return f"CASE {' '.join(cases)} ELSE {path} END"


def platform_of_path(path: str) -> str:
    return f"REGEXP_SUBSTR({path}, {sf_lit(PLATFORM_PATTERN)}, 1, 1, 'e', 2)"


# --- objects -------------------------------------------------------------------------------
def session_sql() -> list[str]:
    """Per session: naive timestamps are UTC everywhere (TRY_TO_TIMESTAMP_TZ of a text without
    offset, CURRENT_TIMESTAMP into NTZ columns); the account default is America/Los_Angeles."""
    return ["ALTER SESSION SET TIMEZONE = 'UTC'", "ALTER SESSION SET TIMESTAMP_TYPE_MAPPING = 'TIMESTAMP_NTZ'"]


def _line_format_sql(name: str, encoding: list[str], comment: str) -> str:
    opts = [
        "TYPE = CSV",
        "FIELD_DELIMITER = NONE",
        f"RECORD_DELIMITER = {sf_lit(chr(10))}",
        "ESCAPE = NONE",
        "ESCAPE_UNENCLOSED_FIELD = NONE",
        "FIELD_OPTIONALLY_ENCLOSED_BY = NONE",
        "NULL_IF = ()",
        "EMPTY_FIELD_AS_NULL = FALSE",
        "SKIP_BLANK_LINES = FALSE",
        "TRIM_SPACE = FALSE",
        *encoding,
        "SKIP_BYTE_ORDER_MARK = TRUE",
        "COMPRESSION = AUTO",
        f"COMMENT = {sf_lit(comment)}",
    ]
    return f"CREATE FILE FORMAT IF NOT EXISTS {object_name(name)}\n  " + "\n  ".join(opts)


def file_format_sql(land: SnowflakeLanding) -> str:
    """One line = one text column, whatever it holds: no delimiter, quote or escape is special,
    invalid UTF-8 is replaced (the claim then tells replaced bytes from a client's U+FFFD)
    instead of failing the row."""
    return _line_format_sql(land.file_format, ["ENCODING = 'UTF8'", "REPLACE_INVALID_CHARACTERS = TRUE"],
                            "NovaSuite landing: one JSON line per row, kept as text even when invalid")


def bytes_format_sql(land: SnowflakeLanding) -> str:
    """The same lines, one character per byte (ISO-8859-1 maps all 256 bytes, so no row can fail):
    what the claim reads of the few lines holding U+FFFD, to see whether the bytes held it."""
    return _line_format_sql(land.bytes_format, ["ENCODING = 'ISO-8859-1'"],
                            "NovaSuite landing: the lines' bytes, one character each (the claim's UTF-8 check)")


def stage_sql(land: SnowflakeLanding) -> str:
    # IF NOT EXISTS, never OR REPLACE: a replaced stage silently stops the pipe that reads it.
    return (f"CREATE STAGE IF NOT EXISTS {object_name(land.stage)}\n"
            f"  URL = {sf_lit(land.url)}\n"
            f"  STORAGE_INTEGRATION = {object_name(land.integration)}\n"
            # The directory table lists each file's MD5: the claim records it as the ledger checksum.
            "  DIRECTORY = (ENABLE = TRUE, AUTO_REFRESH = TRUE)\n"
            f"  FILE_FORMAT = (FORMAT_NAME = {sf_lit(land.file_format)})\n"
            f"  COMMENT = {sf_lit('NovaSuite landing bucket (read only)')}")


def copy_columns(land: SnowflakeLanding, meta: Mapping[str, str] = METADATA) -> dict[str, str]:
    """raw_events column → its expression over the staged line. Only functions Snowflake allows in
    COPY transformations (no TRY_PARSE_JSON, COALESCE or CONTAINS): the claim completes the rest."""
    line, path = meta["line"], land.relative_path(meta["filename"])
    cols = {
        "load_id": "CAST(NULL AS VARCHAR)",  # set by the claim
        "file_path": path,
        "line_number": meta["row"],
        "platform": platform_of_path(path),
        # RECORD_DELIMITER is \n: a CRLF line keeps its \r, which landing.py strips too.
        "raw_line": f"IFF(ENDSWITH({line}, {sf_lit(chr(13))}), SUBSTR({line}, 1, LENGTH({line}) - 1), {line})",
        # Provisional: TRUE for every line holding U+FFFD, a replaced byte or one a client sent;
        # the claim keeps it only where the bytes were not UTF-8 (claim_sql, step 2).
        "decode_error": f"({line} LIKE {sf_lit('%' + REPLACEMENT_CHAR + '%')})",
        "received_at": meta["mtime"],  # the claim puts the line's own received_at when it has one
        "file_mtime": meta["mtime"],
        # Not SYSDATE(): Snowflake warns it can lag the load time inside pipes.
        "loaded_at": utc_ntz(meta["scan"]),
        "user_id": "CAST(NULL AS VARCHAR)",  # read by the claim (TRY_PARSE_JSON is not allowed in a COPY)
    }
    if list(cols) != RAW.column_names:
        raise AssertionError(f"COPY columns {list(cols)} do not match raw_events {RAW.column_names}")
    return cols


def copy_sql(land: SnowflakeLanding, *, files: Sequence[str] = (), force: bool = False) -> str:
    """The COPY of Snowpipe, and of `nova load` when the pipe is paused. `files` (relative to the
    stage, at most 1000) and `force` are for backfills only: a pipe accepts neither."""
    cols = copy_columns(land)
    select = ",\n    ".join(cols.values())
    source = ""
    if files:
        if len(files) > 1000:
            raise ValueError("COPY takes at most 1000 FILES; split the backfill")
        source = "\nFILES = (" + ", ".join(sf_lit(f) for f in files) + ")"
    else:
        source = f"\nPATTERN = {sf_lit(FILE_PATTERN)}"
    return (f"COPY INTO {RAW.name} ({', '.join(cols)})\n"
            f"FROM (\n  SELECT\n    {select}\n  FROM @{object_name(land.stage)}\n)"
            f"{source}\n"
            f"FILE_FORMAT = (FORMAT_NAME = {sf_lit(land.file_format)})\n"
            "ON_ERROR = CONTINUE" + ("\nFORCE = TRUE" if force else ""))


def pipe_sql(land: SnowflakeLanding) -> str:
    """Snowpipe: S3 event notifications → the COPY, file by file, about a minute after upload.
    Changing the COPY means CREATE OR REPLACE PIPE, which forgets the pipe's load history
    (docs/snowflake.md: pause, recreate, refresh with MODIFIED_AFTER)."""
    return (f"CREATE PIPE IF NOT EXISTS {object_name(land.pipe)}\n"
            "  AUTO_INGEST = TRUE\n"
            f"  COMMENT = {sf_lit('NovaSuite landing to raw_events; nova load claims the rows')}\n"
            f"  AS\n{copy_sql(land)}")


def pipe_status_sql(land: SnowflakeLanding) -> str:
    """JSON with executionState and pendingFileCount: the raw-freshness check reads it."""
    return f"SELECT SYSTEM$PIPE_STATUS({sf_lit(land.pipe)})"


def refresh_pipe_sql(land: SnowflakeLanding, modified_after: str | None = None) -> str:
    """Queue files the notifications missed (last 7 days only); load metadata prevents doubles."""
    tail = f" MODIFIED_AFTER = {sf_lit(modified_after)}" if modified_after else ""
    return f"ALTER PIPE {object_name(land.pipe)} REFRESH{tail}"


def validate_sql(land: SnowflakeLanding, hours: int = 24) -> str:
    """Files whose rows a COPY (bulk or Snowpipe, ON_ERROR = CONTINUE) rejected, with the first error
    and where it was. Not VALIDATE(): it does not support a COPY that transforms with a SELECT
    (ours does); COPY_HISTORY's error columns cover both loads."""
    path = land.relative_path("FILE_NAME")
    return (f"SELECT {path} AS file_path, STATUS AS status, ROW_COUNT AS row_count, ROW_PARSED AS row_parsed, "
            "ERROR_COUNT AS error_count, FIRST_ERROR_MESSAGE AS first_error, "
            "FIRST_ERROR_LINE_NUMBER AS first_error_line, "
            "FIRST_ERROR_COLUMN_NAME AS first_error_column, LAST_LOAD_TIME AS last_load_time "
            f"FROM TABLE(INFORMATION_SCHEMA.COPY_HISTORY(TABLE_NAME => {sf_lit(RAW.name.upper())}, "
            f"START_TIME => DATEADD(HOUR, -{int(hours)}, CURRENT_TIMESTAMP()))) "
            "WHERE ERROR_COUNT > 0 ORDER BY LAST_LOAD_TIME DESC")


def validate_pipe_sql(land: SnowflakeLanding, hours: int = 24) -> str:
    """The same for files Snowpipe processed (VALIDATE needs a COPY job id, a pipe has none)."""
    return (f"SELECT * FROM TABLE(INFORMATION_SCHEMA.VALIDATE_PIPE_LOAD(PIPE_NAME => {sf_lit(land.pipe)}, "
            f"START_TIME => DATEADD(HOUR, -{int(hours)}, CURRENT_TIMESTAMP())))")


# --- the claim: unclaimed raw rows → one batch, with its ledger -----------------------------
def unclaimed_sql() -> str:
    return f"SELECT COUNT(*) FROM {RAW.name} WHERE load_id IS NULL"


def copy_history_sql(land: SnowflakeLanding, hours: int = HISTORY_HOURS) -> str:
    """One row per file loaded into raw_events (bulk COPY and Snowpipe alike; the LOAD_HISTORY view
    omits Snowpipe), latest load per path, finished loads only."""
    path = land.relative_path("FILE_NAME")
    return (f"SELECT {path} AS file_path, FILE_SIZE AS file_size, ROW_COUNT AS row_count, STATUS AS status, "
            "FIRST_ERROR_MESSAGE AS first_error, LAST_LOAD_TIME AS last_load_time "
            f"FROM TABLE(INFORMATION_SCHEMA.COPY_HISTORY(TABLE_NAME => {sf_lit(RAW.name.upper())}, "
            f"START_TIME => DATEADD(HOUR, -{int(hours)}, CURRENT_TIMESTAMP()))) "
            "WHERE STATUS <> 'Load in progress' "
            "QUALIFY ROW_NUMBER() OVER (PARTITION BY file_path ORDER BY last_load_time DESC) = 1")


def directory_sql(land: SnowflakeLanding) -> str:
    """Each staged file's MD5 (the directory table of the stage, refreshed by S3 notifications)."""
    return f"SELECT RELATIVE_PATH AS file_path, MD5 AS md5 FROM DIRECTORY(@{object_name(land.stage)})"


def suspect_files_sql() -> str:
    """Files of unclaimed lines the COPY flagged (they hold U+FFFD): the only files the claim re-reads."""
    return f"SELECT DISTINCT file_path FROM {RAW.name} WHERE load_id IS NULL AND decode_error ORDER BY 1"


def paths_pattern(paths: Sequence[str]) -> str:
    """A stage PATTERN matching these landing-relative paths, whether Snowflake matches it against
    the stage-relative path or the full key (regex metacharacters escaped)."""
    if not paths:
        raise ValueError("paths_pattern needs at least one path")
    return "^(.*/)?(" + "|".join(re.sub(r"([.\\[\](){}*+?|^$])", r"\\\1", p) for p in paths) + ")$"


def utf8_check_sql(land: SnowflakeLanding, paths: Sequence[str]) -> str:
    """Keep `decode_error` only on lines whose bytes were not UTF-8. The COPY replaced each invalid
    sequence by U+FFFD and flagged every line holding one; the bytes of these files, read again
    one character per byte, hold EF BF BD once per U+FFFD a client sent (those bytes are always a
    whole, valid character). More U+FFFD in the line than EF BF BD in its bytes: something was
    replaced. Exact whatever the replacement does, and only the flagged files are read again."""
    t = RAW.name

    def count(text: str, needle: str) -> str:
        return f"(LENGTH({text}) - LENGTH(REPLACE({text}, {sf_lit(needle)}, '')))"

    read = (f"SELECT {land.relative_path('METADATA$FILENAME')} AS file_path, "
            "METADATA$FILE_ROW_NUMBER AS line_number, b.$1 AS line_bytes "
            f"FROM @{object_name(land.stage)} (FILE_FORMAT => {sf_lit(land.bytes_format)}, "
            f"PATTERN => {sf_lit(paths_pattern(paths))}) b")
    # Both counts in characters: U+FFFD is one in the line, EF BF BD three in the bytes.
    replaced = (f"3 * {count(f'{t}.raw_line', REPLACEMENT_CHAR)} > "
                f"{count('s.line_bytes', REPLACEMENT_AS_LATIN1)}")
    return (f"UPDATE {t} SET decode_error = ({replaced}) FROM ({read}) s "
            f"WHERE {t}.load_id IS NULL AND {t}.decode_error "
            f"AND {t}.file_path = s.file_path AND {t}.line_number = s.line_number")


def claim_sql(load_id: str, land: SnowflakeLanding, engine: Engine | None = None,
              hours: int = HISTORY_HOURS, suspect_files: Sequence[str] = ()) -> list[str]:
    """DML only (a DDL statement would commit the transaction): run between BEGIN and COMMIT.

    1. drop unclaimed rows of a file the ledger knows by path and size: a landing file rewritten
       by GDPR erasure (gdpr_landing.py enters its new identity first) has a new ETag, so Snowpipe
       loads it again; its lines are in raw already, as `nova load` on DuckDB would skip it;
    2. when `suspect_files` (suspect_files_sql) is not empty: keep `decode_error` only where the
       bytes were not UTF-8 (utf8_check_sql); a line a client sent with U+FFFD in it stages;
    3. stamp every unclaimed row, completing received_at and user_id exactly as the DuckDB load does;
    4. a ledger row per file of the batch (size and status from COPY_HISTORY, checksum left to
       Snowflake's load metadata, which keys files by path and ETag);
    5. a ledger row for each newly loaded file that produced no row (empty, or LOAD_FAILED), so
       the failure is visible where `nova reconcile` looks;
    6. the batch, `pending`, for `nova run` (none when the claim found no file).
    """
    e = engine or SnowflakeEngine()
    lid = sf_lit(load_id)
    ledger_cols = ", ".join(LEDGER.column_names)
    history = copy_history_sql(land, hours)
    received = e.received_at_of_line("raw_line", "decode_error", "file_mtime")
    known = (f"DELETE FROM {RAW.name} WHERE load_id IS NULL AND file_path IN (SELECT h.file_path FROM ({history}) h "
             f"JOIN {LEDGER.name} l ON l.file_path = h.file_path AND l.size_bytes = h.file_size)")
    # One parse per line in a subquery (an inline expression would parse once per path it reads).
    users = (f"UPDATE {RAW.name} SET user_id = u.line_user FROM (SELECT file_path AS line_path, line_number AS "
             f"line_no, {user_id_sql(e, 'doc')} AS line_user FROM (SELECT file_path, line_number, platform, "
             f"{doc_sql(e)} AS doc FROM {RAW.name} WHERE load_id IS NULL) d) u WHERE {RAW.name}.load_id IS NULL "
             f"AND {RAW.name}.file_path = u.line_path AND {RAW.name}.line_number = u.line_no")
    stamp = f"UPDATE {RAW.name} SET load_id = {lid}, received_at = {received} WHERE load_id IS NULL"
    per_file = (
        f"INSERT INTO {LEDGER.name} ({ledger_cols}) "
        f"SELECT r.file_path, h.file_size, 'md5:' || d.md5, {lid}, r.platform, r.line_count, r.file_mtime, "
        "r.loaded_at, COALESCE(LOWER(h.status), 'loaded'), h.first_error "
        "FROM (SELECT file_path, platform, COUNT(*) AS line_count, MIN(file_mtime) AS file_mtime, "
        f"MIN(loaded_at) AS loaded_at FROM {RAW.name} WHERE load_id = {lid} GROUP BY file_path, platform) r "
        f"LEFT JOIN ({history}) h ON h.file_path = r.file_path "
        f"LEFT JOIN ({directory_sql(land)}) d ON d.file_path = r.file_path")
    no_rows = (
        f"INSERT INTO {LEDGER.name} ({ledger_cols}) "
        f"SELECT h.file_path, h.file_size, NULL, {lid}, {platform_of_path('h.file_path')}, 0, NULL, "
        f"{utc_ntz('h.last_load_time')}, LOWER(h.status), h.first_error "
        f"FROM ({history}) h WHERE h.row_count = 0 AND NOT EXISTS (SELECT 1 FROM {LEDGER.name} l "
        "WHERE l.file_path = h.file_path AND l.size_bytes = h.file_size)")
    plat = batch_platform()
    # One batch per platform of the claimed files (the gate's unit); nothing new: no batch.
    batch = (
        f"INSERT INTO {BATCHES.name} (batch_id, load_id, platform, state, created_at, updated_at, file_count, "
        f"line_count) SELECT {lid} || '/' || l.platform, {lid}, l.platform, 'pending', SYSDATE(), SYSDATE(), "
        "l.files, COALESCE(r.lines, 0) "
        f"FROM (SELECT {plat} AS platform, COUNT(*) AS files FROM {LEDGER.name} WHERE load_id = {lid} "
        f"GROUP BY 1) l LEFT JOIN (SELECT {plat} AS platform, COUNT(*) AS lines FROM {RAW.name} "
        f"WHERE load_id = {lid} GROUP BY 1) r ON r.platform = l.platform")
    files = list(suspect_files)
    check = [utf8_check_sql(land, files[i:i + SUSPECTS_PER_READ]) for i in range(0, len(files), SUSPECTS_PER_READ)]
    return [known, *check, users, stamp, per_file, no_rows, batch]


def claim(wh: Any, load_id: str, land: SnowflakeLanding) -> int:
    """Run the claim in one transaction (the caller holds the writer lock); returns the lines
    claimed. The one function here that runs statements: which files to re-read is data."""
    with wh.transaction():
        known = claim_sql(load_id, land, wh.engine)[0]
        wh.execute(known)
        suspects = [r[0] for r in wh.query(suspect_files_sql())]
        for sql in claim_sql(load_id, land, wh.engine, suspect_files=suspects)[1:]:
            wh.execute(sql)
    return int(wh.scalar(f"SELECT COUNT(*) FROM {RAW.name} WHERE load_id = ?", [load_id]) or 0)


def setup_sql(land: SnowflakeLanding) -> list[str]:
    """The loading objects, in creation order (tables first: warehouse.schema.create_table_sql)."""
    return [file_format_sql(land), bytes_format_sql(land), stage_sql(land), pipe_sql(land)]
