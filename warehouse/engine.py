"""What differs between DuckDB and Snowflake, and nowhere else (ARCHITECTURE invariant 6).

Models are written once as Jinja SQL that calls the methods of `e` (an Engine): each engine
class declares only its differences. Literals and identifiers are quoted through sqlglot.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlglot import exp

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_EPOCH_MICROS = 7_258_118_400_000_000  # 2200-01-01: no staged time reaches it
# A line's `received_at` is the collector's only near the file's arrival (its modification time):
# up to a year (366 days) before it (a delivery held back by an outage, an archive replayed) and
# at most an hour after it (collector and storage clocks differ by seconds, never hours).
RECEIVED_BEHIND_MICROS = 366 * 86_400_000_000
RECEIVED_AHEAD_MICROS = 3_600_000_000


def lit(value: str) -> str:
    """A SQL string literal, quoted by sqlglot (never pasted)."""
    return exp.Literal.string(value).sql()


def ident(name: str, dialect: str = "duckdb") -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def path_segments(path: str) -> list[str]:
    parts = path.split(".")
    for p in parts:
        if not _SEGMENT.match(p):
            raise ValueError(f"payload path {path!r}: segment {p!r} is not a plain key")
    return parts


class Engine:
    name: ClassVar[str] = "base"
    dialect: ClassVar[str] = "duckdb"  # sqlglot dialect name
    # Column types of the DDL, by logical name.
    types: ClassVar[dict[str, str]] = {
        "text": "VARCHAR",
        "int": "BIGINT",
        "float": "DOUBLE",
        "bool": "BOOLEAN",
        "ts": "TIMESTAMP",
        "date": "DATE",
        "json": "JSON",
        "key": "UHUGEINT",  # 128-bit row key (row_key)
    }
    table_options: ClassVar[dict[str, str]] = {}

    def t(self, logical: str) -> str:
        return self.types[logical]

    def connect_args(self, settings: Any) -> dict[str, Any]:
        """Arguments of the DBAPI connect call (SQLAlchemy's `connect_args`)."""
        return {}

    def sqlalchemy_options(self) -> dict[str, Any]:
        """Options of `sqlalchemy.create_engine`."""
        return {}

    def column_key(self, name: str) -> str:
        """A result column's name as the code looks it up (the project's names are lower case)."""
        return name

    def result_name(self, name: str) -> str:
        """A result column's name as a person reads it (`nova query`): the same on both engines."""
        return name

    def lit(self, value: str) -> str:
        """A string literal as this dialect reads it (Snowflake unescapes backslashes)."""
        return exp.Literal.string(value).sql(dialect=self.dialect)

    def in_list(self, values: Sequence[str]) -> str:
        return "(" + ", ".join(self.lit(v) for v in values) + ")"

    # --- JSON -----------------------------------------------------------------------------
    def json_text(self, doc: str, path: str) -> str:
        """Scalar at a dotted path as text (objects as JSON text), NULL when absent or null."""
        raise NotImplementedError

    def json_value(self, doc: str, path: str) -> str:
        """Sub-document at a dotted path, as JSON."""
        raise NotImplementedError

    def json_text_of_line(self, text_expr: str, path: str) -> str:
        """Like json_text, on a raw line that may not be JSON at all (then NULL)."""
        raise NotImplementedError

    # The collector appends `received_at` as the last member, so it is read from the line's tail
    # (a nested member would end in `}}`, an escaped one has `\\"`); any other layout takes a
    # full parse. The load reads the tail in Arrow, beside the file (pipeline.landing).
    RECEIVED_TAIL_PATTERN: ClassVar[str] = r'"received_at"\s*:\s*"([^"\\]*)"\s*\}\s*$'
    RECEIVED_TAIL_CHARS: ClassVar[int] = 80

    def received_text_of_line(self, text_expr: str, tail_text: str | None = None) -> str:
        """The collector's top-level `received_at` of a raw line, as text. `tail_text`: the value
        already read from the tail ('' or NULL when the tail did not hold it)."""
        if tail_text is None:
            tail_text = self.regexp_extract(self.tail(text_expr, self.RECEIVED_TAIL_CHARS), self.RECEIVED_TAIL_PATTERN)
        return f"COALESCE(NULLIF({tail_text}, ''), {self.json_text_of_line(text_expr, 'received_at')})"

    def tail(self, text_expr: str, n: int) -> str:
        """At most the last `n` characters (fewer is fine: callers fall back to a full parse)."""
        return f"right({text_expr}, {n})"

    def regexp_extract(self, text_expr: str, pattern: str) -> str:
        """First capture group of `pattern`, '' when it does not match."""
        return f"REGEXP_SUBSTR({text_expr}, {self.lit(pattern)}, 1, 1, 'e', 1)"

    def strip_keys(self, doc: str, keys: Sequence[str]) -> str:
        """The object without these top-level keys."""
        raise NotImplementedError

    # --- one parse per line: the document and its fields ---------------------------------
    def doc_of_line(self, raw: str, decode_error: str, paths: Sequence[str]) -> str:
        """Per line, a parsed form holding every needed path; NULL unless the line is one JSON object."""
        raise NotImplementedError

    def lenient_doc_of_line(self, raw: str, decode_error: str, paths: Sequence[str]) -> str:
        """doc_of_line's form (read with doc_text) for a lookup, not a contract: no strictness checks
        (a duplicate key or NaN still reads), one plain parse. NULL when the line does not parse."""
        raise NotImplementedError

    def doc_text(self, doc: str, paths: Sequence[str], path: str) -> str:
        raise NotImplementedError

    # A JSON string (escapes included); POSIX ERE (no (?:...)): Snowflake reads it too.
    STRING_PATTERN: ClassVar[str] = r'"([^"\\]|\\.)*"'

    def doc_object_without(self, doc: str, paths: Sequence[str], path: str, keys: Sequence[str]) -> str:
        """The object at `path` minus `keys`; NULL when it is not an object."""
        raise NotImplementedError

    # --- time -----------------------------------------------------------------------------
    # The one language of times both engines accept (docs/pipeline.md, "Times"): a calendar date
    # and a time of day to the minute at least, `T` or one space between them, an optional
    # fraction (up to 9 digits), then `Z`, an offset within -14:00..+14:00 (`+05:30`, `+0530`,
    # `+05`, one space allowed before it), or nothing (UTC). Anything else (`infinity`, `epoch`,
    # `1 BC`, a zone name, a date alone, five-digit years) is not a time on either engine, whatever
    # their own casts would make of it. Calendar-invalid days (Feb 30) fail the cast itself.
    ISO_TIME_PATTERN: ClassVar[str] = (
        r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
        r"(:[0-5][0-9](\.[0-9]{1,9})?)?(Z| ?[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?)?$")
    # An epoch number as JSON writes one: no NaN, Infinity, hex, underscores or spaces.
    NUMBER_PATTERN: ClassVar[str] = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"

    def regexp_full(self, text_expr: str, pattern: str) -> str:
        """True when the whole text matches `pattern` (anchored), NULL on NULL."""
        return f"regexp_full_match({text_expr}, {self.lit(pattern)})"

    def try_iso_timestamp(self, text_expr: str) -> str:
        """ISO-8601 text (ISO_TIME_PATTERN) to a UTC TIMESTAMP (no offset = UTC); NULL otherwise."""
        gated = f"CASE WHEN {self.regexp_full(text_expr, self.ISO_TIME_PATTERN)} THEN {text_expr} END"
        return self._cast_iso(gated)

    def _cast_iso(self, text_expr: str) -> str:
        """Text already known to match ISO_TIME_PATTERN → UTC TIMESTAMP (NULL if not a calendar day)."""
        raise NotImplementedError

    def try_epoch_number(self, text_expr: str) -> str:
        """A number written as JSON writes it, as DOUBLE; NULL for anything else (NaN, Infinity...)."""
        return f"CASE WHEN {self.regexp_full(text_expr, self.NUMBER_PATTERN)} THEN {self.try_double(text_expr)} END"

    def try_double(self, text_expr: str) -> str:
        raise NotImplementedError

    def ts_representable(self, ts: str) -> str:
        """`ts` lies in [1970-01-01, 2200-01-01)."""
        t = self.ts_to_epoch_micros(ts)
        return f"({t} >= 0 AND {t} < {MAX_EPOCH_MICROS})"

    def trusted_received_at(self, received: str, arrival: str) -> str:
        """The line's received_at when the collector can have written it (near the file's arrival),
        else the arrival itself (what a line of the old collector gets)."""
        near = self.ts_within(received, arrival, RECEIVED_BEHIND_MICROS, RECEIVED_AHEAD_MICROS)
        return f"CASE WHEN {near} THEN {received} ELSE {arrival} END"

    def ts_within(self, ts: str, anchor: str, behind_micros: int, ahead_micros: int) -> str:
        """`ts` lies in [anchor - behind, anchor + ahead] and in the representable window
        [1970-01-01, 2200-01-01) (epoch micros, so no timestamp arithmetic can overflow)."""
        t, a = self.ts_to_epoch_micros(ts), self.ts_to_epoch_micros(anchor)
        # `ts` is written once: it is often a whole parse expression.
        return (f"({t} BETWEEN GREATEST({a} - {behind_micros}, 0) "
                f"AND LEAST({a} + {ahead_micros}, {MAX_EPOCH_MICROS - 1}))")

    def epoch_micros_to_ts(self, micros_expr: str) -> str:
        raise NotImplementedError

    def ts_to_epoch_micros(self, ts: str) -> str:
        raise NotImplementedError

    def add_micros(self, ts: str, micros_expr: str) -> str:
        raise NotImplementedError

    def seconds_between(self, start: str, end: str) -> str:
        """end - start in fractional seconds (microsecond precision)."""
        return f"(({self.ts_to_epoch_micros(end)} - {self.ts_to_epoch_micros(start)}) / 1000000.0)"

    def second_of_day(self, ts: str) -> str:
        """Seconds since midnight of a timestamp (fractional, microsecond precision)."""
        return f"(MOD({self.ts_to_epoch_micros(ts)}, 86400000000) / 1000000.0)"

    def to_date(self, ts: str) -> str:
        return f"CAST({ts} AS DATE)"

    def week_start(self, date_expr: str) -> str:
        """Monday of the ISO week."""
        raise NotImplementedError

    def month_start(self, date_expr: str) -> str:
        return f"DATE_TRUNC('MONTH', {date_expr})"

    def now(self) -> str:
        return "CURRENT_TIMESTAMP"

    def catalog_name(self, name: str) -> str:
        """An unquoted identifier as the catalog stores it (what tools that quote names must write)."""
        return name
    def bucket_start(self, ts: str, seconds: int) -> str:
        """Start of the `seconds`-long bucket holding `ts` (buckets aligned on the Unix epoch)."""
        size = int(seconds) * 1_000_000
        return self.epoch_micros_to_ts(f"FLOOR({self.ts_to_epoch_micros(ts)} / {size}) * {size}")

    def percentile(self, expr: str, q: float) -> str:
        """Continuous percentile aggregate (an ordered-set aggregate both engines read)."""
        return f"PERCENTILE_CONT({float(q)!r}) WITHIN GROUP (ORDER BY {expr})"

    def percentiles(self, expr: str, qs: Sequence[float]) -> str:
        """Select list of several continuous percentiles of one expression; `percentile_values` reads the row."""
        return ", ".join(self.percentile(expr, q) for q in qs)

    def percentile_values(self, row: Sequence[Any]) -> list[Any]:
        return list(row)

    def path_prefix(self, path_expr: str, depth: int) -> str:
        """The first `depth` dot-separated segments of a feature id; NULL when it has fewer."""
        parts = [f"split_part({path_expr}, '.', {i})" for i in range(1, depth + 1)]
        joined = " || '.' || ".join(parts)
        return f"CASE WHEN {parts[-1]} <> '' THEN {joined} END"

    # --- row keys -------------------------------------------------------------------------
    @staticmethod
    def key_text(parts: Sequence[str]) -> str:
        """One text for several non-NULL text columns, injective: every part but the last is
        prefixed by its length, so no value (whatever characters it holds) can shift a boundary."""
        # NULL-safe on both engines: CONCAT_WS skips a NULL argument in DuckDB but returns NULL in
        # Snowflake, so no argument may be NULL. A NULL part reads as length '-' (never a number);
        # a NULL last part as CHR(31) || '-' (only a value holding control characters could match).
        # For non-NULL parts the text is the same as before: stored keys stay valid.
        pieces = [p for part in parts[:-1]
                  for p in (f"COALESCE(CAST(LENGTH({part}) AS VARCHAR), '-')", f"COALESCE({part}, '')")]
        return f"CONCAT_WS(CHR(31), {', '.join([*pieces, f'COALESCE({parts[-1]}, CHR(31) || {chr(39)}-{chr(39)})'])})"

    def row_key(self, parts: Sequence[str]) -> str:
        """A 128-bit key (MD5) of several text columns: a join or anti-join on it builds its hash
        table on one narrow column instead of every text column. Different rows share a key with
        probability about n^2 / 2^129 (below 1e-20 for a billion rows)."""
        return f"md5_number({self.key_text(parts)})"

    # --- versions -------------------------------------------------------------------------
    def version_below(self, text_expr: str, version: str) -> str:
        """True when an app version like '4.9.1' is below `version`; NULL when unreadable."""
        want = [int(p) for p in version.split(".")] + [0, 0]
        major, minor, patch = (self._version_part(text_expr, i) for i in (1, 2, 3))
        minor, patch = f"COALESCE({minor}, 0)", f"COALESCE({patch}, 0)"
        # Compared part by part, never encoded as one number: a version such as
        # '29385635013002076.1' must not overflow the arithmetic (a poison pill, issue 18).
        return (f"({major} < {want[0]} OR ({major} = {want[0]} AND ({minor} < {want[1]} "
                f"OR ({minor} = {want[1]} AND {patch} < {want[2]}))))")

    def _version_part(self, text_expr: str, n: int) -> str:
        raise NotImplementedError

    def regexp_contains(self, text_expr: str, pattern_expr: str) -> str:
        """True when the pattern matches anywhere in the text (unanchored). `pattern_expr` is SQL:
        a bound parameter `?` (keeps personal data out of the query history) or a literal. Patterns
        stay in the subset RE2 and POSIX ERE share: literals, escaped metacharacters, (a|b), $."""
        return f"regexp_matches({text_expr}, {pattern_expr})"

    def ends_with(self, text_expr: str, suffix_expr: str) -> str:
        """True when the text ends with the suffix (both SQL: a column, a `?`)."""
        return f"ends_with({text_expr}, {suffix_expr})"

    def json_as_text(self, expr: str) -> str:
        """A JSON column as its JSON text (to search it like any text)."""
        return f"CAST({expr} AS VARCHAR)"

    @staticmethod
    def file_checksum(data: bytes) -> str:
        """The ledger's identity of a landing file's bytes: what the engine's own load records."""
        return hashlib.sha256(data).hexdigest()

    def replace_view(self, name: str) -> str:
        """The head of a view definition re-run by every curate step."""
        return f"CREATE OR REPLACE VIEW {name}"

    def received_at_of_line(self, raw: str, decode_error: str, fallback: str, tail_text: str | None = None) -> str:
        """The collector's `received_at` of a raw line as UTC when it can be the collector's, else
        `fallback` (the file's mtime: the old collector adds none). One expression for both loads
        (DuckDB insert, Snowflake claim)."""
        return self.trusted_received_at(self.parsed_received_at_of_line(raw, decode_error, tail_text), fallback)

    def parsed_received_at_of_line(self, raw: str, decode_error: str, tail_text: str | None = None) -> str:
        """The line's own `received_at` as UTC, NULL when it has none that parses (not yet trusted)."""
        received = self.try_iso_timestamp(self.received_text_of_line(raw, tail_text))
        return f"CASE WHEN NOT {decode_error} THEN {received} END"


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"

    @staticmethod
    def _jpath(path: str) -> str:
        return lit("$." + ".".join(f'"{s}"' for s in path_segments(path)))

    def json_text(self, doc: str, path: str) -> str:
        return f"json_extract_string({doc}, {self._jpath(path)})"

    def json_value(self, doc: str, path: str) -> str:
        return f"json_extract({doc}, {self._jpath(path)})"

    def json_text_of_line(self, text_expr: str, path: str) -> str:
        # try(): a line that is not JSON yields NULL instead of failing the whole statement.
        return f"try({self.json_text(text_expr, path)})"

    def strip_keys(self, doc: str, keys: Sequence[str]) -> str:
        # JSON merge patch (RFC 7396): a null member removes the key.
        patch = "{" + ",".join(f'"{k}":null' for k in keys) + "}"
        return f"json_merge_patch({doc}, {self.lit(patch)})"

    def doc_of_line(self, raw: str, decode_error: str, paths: Sequence[str]) -> str:
        # One JSON parse for all paths: the list form of json_extract_string. try() turns a
        # malformed line (or two values on one line) into NULL; the '{' test keeps objects only.
        plist = "[" + ", ".join(self._jpath(p) for p in paths) + "]"
        # try() alone is slow here: a vector holding one malformed line is evaluated again row
        # by row, and at a 0.1 % rate nearly every vector holds one. Lines that look whole (end
        # in '}', no '}{' inside) go straight to the extraction, still under try(), so a
        # malformed one among them is still NULL; the others are checked with json_valid first.
        extract = f"try(json_extract_string({raw}, {plist}))"
        return (f"CASE WHEN {decode_error} OR NOT regexp_matches({raw}, '^[ \\t]*\\{{') THEN NULL "
                f"WHEN {self.json_not_strict(raw, paths)} THEN NULL "
                f"WHEN ends_with({raw}, '}}') AND NOT contains({raw}, '}}{{') THEN {extract} "
                f"WHEN json_valid({raw}) THEN {extract} END")

    def lenient_doc_of_line(self, raw: str, decode_error: str, paths: Sequence[str]) -> str:
        plist = "[" + ", ".join(self._jpath(p) for p in paths) + "]"
        # json_valid first: a malformed line would make try() re-run its whole vector row by row.
        return f"CASE WHEN NOT {decode_error} AND json_valid({raw}) THEN json_extract_string({raw}, {plist}) END"

    def percentiles(self, expr: str, qs: Sequence[float]) -> str:
        # One list aggregate sorts the values once; 41 PERCENTILE_CONT aggregates sort them 41 times
        # (2.3 s against 0.29 s on 3.6M rows, identical values).
        return f"quantile_cont({expr}, [{', '.join(repr(float(q)) for q in qs)}])"

    def percentile_values(self, row: Sequence[Any]) -> list[Any]:
        return list(row[0]) if row and row[0] is not None else []

    def json_not_strict(self, raw: str, paths: Sequence[str] = ()) -> str:
        """True for a line DuckDB's reader accepts but RFC 8259 (and Snowflake's TRY_PARSE_JSON)
        does not: a duplicate key in the top-level object or in an object the contract reads from
        (the parents of `paths`), or NaN / Infinity as a number. docs/pipeline.md, JSON rules.

        Both tests cost about one parse per line: every real line repeats key names across its
        objects ("id", "name", ...), so a cheap textual gate selects them all, and a walk of the
        whole tree (json_tree) costs ~0.5 ms a line (150 s of CPU for 5 minutes of traffic at the
        12,000 events/s peak). json_keys of the objects read, by contrast, is one parse. A duplicate
        deeper, in an object the contract never reads, stages here (the value read is the same
        either way) while Snowflake's strict parser refuses the line: docs/snowflake.md lists it."""
        objects = ["$", *dict.fromkeys(
            "$." + ".".join(f'"{s}"' for s in path_segments(p)[:i])
            for p in paths for i in range(1, len(path_segments(p))))]
        plist = "[" + ", ".join(self.lit(o) for o in objects) + "]"
        # CASE, not AND: DuckDB evaluates both sides of an AND for every row, a THEN only for the
        # rows its WHEN selects (json_keys raises on malformed text; the NaN search is costly).
        dup = (f"CASE WHEN json_valid({raw}) THEN coalesce(list_bool_or(list_transform(json_keys({raw}, {plist}), "
               f"lambda k: len(k) > list_unique(k))), false) ELSE false END")
        nan = (f"CASE WHEN contains(lower({raw}), 'nan') OR contains(lower({raw}), 'inf') "
               f"THEN json_valid({raw}) AND {self.bare_word_outside_strings(raw)} ELSE false END")
        return f"(({nan}) OR ({dup}))"

    def bare_word_outside_strings(self, raw: str) -> str:
        stripped = f"regexp_replace({raw}, {self.lit(self.STRING_PATTERN)}, '', 'g')"
        return f"regexp_matches(regexp_replace({stripped}, 'true|false|null|[0-9.][eE]', '', 'g'), '[A-Za-z]')"

    def doc_text(self, doc: str, paths: Sequence[str], path: str) -> str:
        return f"{doc}[{list(paths).index(path) + 1}]"

    def doc_object_without(self, doc: str, paths: Sequence[str], path: str, keys: Sequence[str]) -> str:
        v = self.doc_text(doc, paths, path)
        # Re-writing the object costs a second parse: only where a key to strip may be there.
        # Absent and JSON null both read as NULL, so an object holding a null member is re-written
        # too (the extracted text is minified: a null member always reads `:null`).
        key_paths = [f"{path}.{k}" for k in keys]
        if not keys or not all(p in paths for p in key_paths):
            return f"CASE WHEN starts_with({v}, '{{') THEN {self.strip_keys(v, keys)} END"
        absent = " AND ".join(f"{self.doc_text(doc, paths, p)} IS NULL" for p in key_paths)
        return (f"CASE WHEN NOT starts_with({v}, '{{') THEN NULL "
                f"WHEN {absent} AND NOT contains({v}, ':null') THEN {v} "
                f"ELSE {self.strip_keys(v, keys)} END")

    def _cast_iso(self, text_expr: str) -> str:
        # DuckDB refuses a space before the offset; the pattern allows one only there.
        text = f"replace(replace({text_expr}, ' +', '+'), ' -', '-')"
        return f"CAST(timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) AS TIMESTAMP)"

    def try_double(self, text_expr: str) -> str:
        return f"TRY_CAST({text_expr} AS DOUBLE)"

    def epoch_micros_to_ts(self, micros_expr: str) -> str:
        return f"make_timestamp(CAST({micros_expr} AS BIGINT))"

    def ts_to_epoch_micros(self, ts: str) -> str:
        return f"epoch_us({ts})"

    def add_micros(self, ts: str, micros_expr: str) -> str:
        return f"({ts} + to_microseconds(CAST({micros_expr} AS BIGINT)))"

    def week_start(self, date_expr: str) -> str:
        return f"CAST(DATE_TRUNC('week', {date_expr}) AS DATE)"

    def month_start(self, date_expr: str) -> str:
        return f"CAST(DATE_TRUNC('month', {date_expr}) AS DATE)"

    def _version_part(self, text_expr: str, n: int) -> str:
        return f"TRY_CAST(NULLIF(regexp_extract(split_part(trim({text_expr}), '.', {n}), '^[0-9]+'), '') AS BIGINT)"

    def regexp_extract(self, text_expr: str, pattern: str) -> str:
        return f"regexp_extract({text_expr}, {self.lit(pattern)}, 1)"

    def tail(self, text_expr: str, n: int) -> str:
        # right() counts characters over the whole line (1.4 µs per 1.5 KB line); starting at the
        # byte length is cheap, and on a line with multi-byte characters it only gives a shorter tail.
        return f"substring({text_expr}, greatest(strlen({text_expr}) - {n - 1}, 1))"


class SnowflakeEngine(Engine):
    name = "snowflake"
    dialect = "snowflake"
    types: ClassVar[dict[str, str]] = {
        **Engine.types, "float": "FLOAT", "ts": "TIMESTAMP_NTZ(6)", "json": "VARIANT",
        "key": "BINARY",  # MD5_BINARY: 16 bytes
    }

    # Pinned per session, whatever the account or user defaults are (docs/snowflake.md, Session):
    # naive times are UTC, text is parsed by the documented AUTO rules, TIMESTAMP means NTZ, and a
    # statement waits for a row lock at most lock_timeout_seconds instead of 12 hours.
    SESSION_PARAMETERS: ClassVar[dict[str, Any]] = {
        "TIMEZONE": "UTC",
        "TIMESTAMP_TYPE_MAPPING": "TIMESTAMP_NTZ",
        "TIMESTAMP_INPUT_FORMAT": "AUTO",
        "DATE_INPUT_FORMAT": "AUTO",
        "TIMESTAMP_NTZ_OUTPUT_FORMAT": "YYYY-MM-DD HH24:MI:SS.FF6",
        "WEEK_START": 1,
        "QUOTED_IDENTIFIERS_IGNORE_CASE": False,
    }

    def connect_args(self, settings: Any) -> dict[str, Any]:
        # The SQL of the project binds with `?`. autocommit: snowflake-sqlalchemy turns it off,
        # which would run every statement outside wh.transaction() in an implicit transaction
        # that only the pool's rollback ends; on DuckDB such a statement commits by itself.
        args: dict[str, Any] = {
            "paramstyle": "qmark", "autocommit": True,
            "session_parameters": {**self.SESSION_PARAMETERS, "LOCK_TIMEOUT": int(settings.lock_timeout_seconds)},
        }
        if settings.snowflake_password is not None:
            args["password"] = settings.snowflake_password.get_secret_value()
        # The connector refuses host/port/protocol in the URL: PrivateLink, proxies, test servers.
        for name in ("host", "port", "protocol"):
            value = getattr(settings, f"snowflake_{name}", None)
            if value is not None:
                args[name] = value
        return args

    def sqlalchemy_options(self) -> dict[str, Any]:
        # The dialect's own queries (at first connect) must bind like ours, or the connector refuses
        # them. AUTOCOMMIT: otherwise SQLAlchemy sets its default level, READ COMMITTED, at connect,
        # which turns the connection's autocommit off again (see connect_args).
        return {"paramstyle": "qmark", "isolation_level": "AUTOCOMMIT"}

    def column_key(self, name: str) -> str:
        # Snowflake reports unquoted identifiers in upper case (REQUEST_ID).
        return name.lower()

    def result_name(self, name: str) -> str:
        # Unquoted names come back upper case: shown lower case, as DuckDB shows them; a quoted
        # alias written in mixed case ("Adoption %") is shown as written.
        return name.lower() if name == name.upper() else name

    def row_key(self, parts: Sequence[str]) -> str:
        return f"MD5_BINARY({self.key_text(parts)})"

    @staticmethod
    def _jpath(path: str) -> str:
        return lit(".".join(f'"{s}"' for s in path_segments(path)))

    def parse_json(self, text_expr: str) -> str:
        # AS_OBJECT: NULL unless the line is one JSON object, with a single parse.
        return f"AS_OBJECT(TRY_PARSE_JSON({text_expr}))"

    def json_text(self, doc: str, path: str) -> str:
        v = f"GET_PATH({doc}, {self._jpath(path)})"
        # Strings without JSON quotes; numbers and objects as their JSON text; JSON null as NULL.
        return f"IFF(IS_NULL_VALUE({v}), NULL, IFF(IS_VARCHAR({v}), {v}::VARCHAR, TO_JSON({v})))"

    def json_value(self, doc: str, path: str) -> str:
        return f"GET_PATH({doc}, {self._jpath(path)})"

    def json_text_of_line(self, text_expr: str, path: str) -> str:
        return self.json_text(f"TRY_PARSE_JSON({text_expr})", path)

    def strip_keys(self, doc: str, keys: Sequence[str]) -> str:
        return f"OBJECT_DELETE({doc}, {', '.join(lit(k) for k in keys)})"

    def doc_of_line(self, raw: str, decode_error: str, paths: Sequence[str]) -> str:
        # TRY_PARSE_JSON is strict (duplicate keys are invalid); NaN / Infinity are refused here
        # too, by the same test as DuckDB's, whatever the parser accepts (docs/pipeline.md).
        nan = f"(REGEXP_INSTR({raw}, '[Nn][Aa][Nn]|[Ii][Nn][Ff]') > 0 AND {self.bare_word_outside_strings(raw)})"
        return f"CASE WHEN NOT {decode_error} AND NOT {nan} THEN {self.parse_json(raw)} END"

    def lenient_doc_of_line(self, raw: str, decode_error: str, paths: Sequence[str]) -> str:
        return f"CASE WHEN NOT {decode_error} THEN {self.parse_json(raw)} END"

    def bare_word_outside_strings(self, raw: str) -> str:
        stripped = f"REGEXP_REPLACE({raw}, {self.lit(self.STRING_PATTERN)}, '')"
        return f"(REGEXP_INSTR(REGEXP_REPLACE({stripped}, 'true|false|null|[0-9.][eE]', ''), '[A-Za-z]') > 0)"

    def doc_text(self, doc: str, paths: Sequence[str], path: str) -> str:
        return self.json_text(doc, path)

    def doc_object_without(self, doc: str, paths: Sequence[str], path: str, keys: Sequence[str]) -> str:
        # AS_OBJECT: NULL unless an object, so OBJECT_DELETE gets an OBJECT (no implicit cast of
        # a VARIANT) and the path is read once.
        return self.strip_keys(f"AS_OBJECT({self.json_value(doc, path)})", keys)

    def regexp_full(self, text_expr: str, pattern: str) -> str:
        # REGEXP_LIKE matches the whole subject (implicitly anchored), like regexp_full_match.
        return f"REGEXP_LIKE({text_expr}, {self.lit(pattern)})"

    def _cast_iso(self, text_expr: str) -> str:
        # The pattern has already refused what AUTO would otherwise read (epochs, month names, US
        # dates); the offset is brought to `+HH:MM`, the one form every ISO reading of AUTO takes.
        group1, group2 = "\\1", "\\2"
        t = f"REGEXP_REPLACE({text_expr}, ' ?([+-][0-9]{{2}}):?([0-9]{{2}})$', {self.lit(group1 + ':' + group2)})"
        t = f"REGEXP_REPLACE({t}, ' ?([+-][0-9]{{2}})$', {self.lit(group1 + ':00')})"
        return f"CONVERT_TIMEZONE('UTC', TRY_TO_TIMESTAMP_TZ({t}))::TIMESTAMP_NTZ(6)"

    def try_double(self, text_expr: str) -> str:
        return f"TRY_TO_DOUBLE({text_expr})"

    def epoch_micros_to_ts(self, micros_expr: str) -> str:
        return f"TO_TIMESTAMP_NTZ(CAST({micros_expr} AS BIGINT), 6)"

    def ts_to_epoch_micros(self, ts: str) -> str:
        return f"DATE_PART(EPOCH_MICROSECOND, {ts})"

    def add_micros(self, ts: str, micros_expr: str) -> str:
        return f"DATEADD(MICROSECOND, CAST({micros_expr} AS BIGINT), {ts})"

    def week_start(self, date_expr: str) -> str:
        # Independent of the WEEK_START session parameter: ISO day of week, Monday = 1.
        return f"DATEADD(DAY, 1 - DAYOFWEEKISO({date_expr}), CAST({date_expr} AS DATE))"

    def month_start(self, date_expr: str) -> str:
        return f"CAST(DATE_TRUNC('MONTH', {date_expr}) AS DATE)"

    def _version_part(self, text_expr: str, n: int) -> str:
        return f"TRY_TO_NUMBER(REGEXP_SUBSTR(SPLIT_PART(TRIM({text_expr}), '.', {n}), '^[0-9]+'))"

    def now(self) -> str:
        return "SYSDATE()"  # UTC TIMESTAMP_NTZ, like every time column

    def catalog_name(self, name: str) -> str:
        return name.upper()  # unquoted identifiers are stored upper case

    def regexp_contains(self, text_expr: str, pattern_expr: str) -> str:
        # REGEXP_LIKE anchors the pattern at both ends in Snowflake; REGEXP_INSTR does not.
        return f"(REGEXP_INSTR({text_expr}, {pattern_expr}) > 0)"

    def ends_with(self, text_expr: str, suffix_expr: str) -> str:
        return f"ENDSWITH({text_expr}, {suffix_expr})"

    def json_as_text(self, expr: str) -> str:
        return f"TO_JSON({expr})"

    @staticmethod
    def file_checksum(data: bytes) -> str:
        # What Snowflake knows of a staged file: DIRECTORY(@stage).MD5, which the claim records;
        # S3's ETag of a single-part PUT (how gdpr_landing writes) is the same MD5.
        return "md5:" + hashlib.md5(data).hexdigest()

    def replace_view(self, name: str) -> str:
        # COPY GRANTS: a replaced view keeps the SELECT grants analysts' roles were given.
        return f"CREATE OR REPLACE VIEW {name} COPY GRANTS"


ENGINES: dict[str, type[Engine]] = {"duckdb": DuckDBEngine, "snowflake": SnowflakeEngine}


def engine_for_url(url: str) -> Engine:
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    if scheme not in ENGINES:
        raise ValueError(f"unsupported warehouse {scheme!r}: use duckdb:/// or snowflake://")
    return ENGINES[scheme]()

