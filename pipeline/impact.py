"""What a contract change would do to the traffic we actually receive: replay recent raw lines
through the registry at BASE and in the working tree and compare the verdicts.

The verdicts are the pipeline's: the lines go through `classify_sql` (the staging SQL generated from
each registry) with the feature lookup of each catalog. The configured warehouse is only read (one
SELECT of the window's raw lines, a 1-in-k sample by line number when the window holds more than
`max_lines`); the classification runs in an in-memory DuckDB, like `nova contracts validate`.
A line's state is decided by rules 1-7 of SEMANTICS.md: `staged` means it passes the contract
(whether it is then kept or a duplicate depends on history, which a contract does not change).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from config import Settings
from contracts.changes import Change
from contracts.registry import Registry
from nova.errors import Exit, NovaError
from pipeline.stage import sync_feature_lookup
from pipeline.stage_sql import INPUT, classify_sql, unknown_platform_sql
from warehouse import clock
from warehouse.engine import DuckDBEngine
from warehouse.session import Warehouse, open_warehouse

SAMPLE_IDS = 3
VERDICT_COLS = ("load_id", "file_path", "line_number", "platform", "app_version", "event_id", "feature_sent",
                "feature_id", "event_ts", "user_id", "workspace_id", "reason")
# a change of a staged event's values, in the order they are reported (one per line)
VALUE_CHANGES = (("event_id", "keys_changed"), ("user_id", "keys_changed"), ("workspace_id", "keys_changed"),
                 ("feature_id", "feature_changed"), ("event_ts", "timestamp_changed"))


@dataclass(frozen=True)
class Move:
    """Lines of one platform and app version whose verdict changes the same way."""

    platform: str
    app_version: str | None
    from_state: str  # staged | quarantined | ignored
    from_reason: str | None
    to_state: str
    to_reason: str | None  # for staged → staged: keys_changed, feature_changed or timestamp_changed
    lines: int
    sample_event_ids: list[str]
    share: float  # of the platform's lines in the replayed window (or sample)
    changes: list[str] = field(default_factory=list)  # ids of the changes that can cause it
    query: str = ""  # the lines to look at, for `nova query`


@dataclass
class Impact:
    since: dt.datetime
    until: dt.datetime
    lines: int  # lines received in the window
    replayed: int  # lines replayed (all of them, or the sample)
    sample_every: int  # 1 = every line; k = lines whose number is a multiple of k
    lines_by_platform: dict[str, int]
    moves: list[Move]

    @property
    def sampled(self) -> bool:
        return self.sample_every > 1


def parse_since(text: str) -> dt.timedelta:
    """`24h`, `90m`, `7d`, `2w` → a duration."""
    units = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
    text = text.strip().lower()
    try:
        value, unit = float(text[:-1]), text[-1]
        if unit not in units or value <= 0:
            raise ValueError(text)
    except (ValueError, IndexError):
        raise NovaError(f"--since {text!r}: expected a duration like 24h, 90m, 7d or 2w", code=Exit.USAGE) from None
    return dt.timedelta(seconds=value * units[unit])


def _window_lines(settings: Settings, since: dt.datetime, max_lines: int) -> tuple[int, int, pa.Table]:
    """(lines in the window, k, the replayed lines) read from the configured warehouse, read-only."""
    url = settings.warehouse_url
    read_only = True
    if url.startswith("duckdb:"):
        db = sa.engine.make_url(url).database
        if not db or db == ":memory:":
            read_only = False  # an in-memory warehouse cannot be opened read-only (and holds nothing)
        elif not Path(db).exists():
            raise NovaError(f"no warehouse at {db}: nothing to replay", code=Exit.CONFIG,
                            hint="run `nova load` first, or drop --impact")
    with Warehouse(settings, read_only=read_only) as wh:
        if not wh.table_exists("raw_events"):
            raise NovaError("the warehouse has no raw_events table: nothing to replay", code=Exit.CONFIG,
                            hint="run `nova load` first, or drop --impact")
        total = int(wh.scalar("SELECT COUNT(*) FROM raw_events WHERE received_at >= ?", [since]) or 0)
        every = max(1, math.ceil(total / max_lines)) if max_lines > 0 else 1
        sample = "" if every == 1 else f" AND MOD(line_number, {every}) = 0"
        cur = wh.execute("SELECT load_id, file_path, line_number, platform, raw_line, decode_error, received_at "
                         f"FROM raw_events WHERE received_at >= ?{sample}", [since])
        rows = cur.fetchall()
    names = ["load_id", "file_path", "line_number", "platform", "raw_line", "decode_error", "received_at"]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    types = [pa.string(), pa.string(), pa.int64(), pa.string(), pa.string(), pa.bool_(), pa.timestamp("us")]
    table = pa.table({n: pa.array(list(c), t) for n, c, t in zip(names, columns, types, strict=True)})
    return total, every, table


def _classify(mem: Warehouse, reg: Registry, target: str) -> None:
    """The pipeline's verdict of every replayed line under `reg`, into table `target`."""
    with mem.transaction():
        sync_feature_lookup(mem, reg)
    cols = ", ".join(VERDICT_COLS)
    parts = [f"SELECT {cols} FROM ({classify_sql(c, reg.rules, mem.engine)}) c" for c in reg.contracts.values()]
    parts.append("SELECT load_id, file_path, line_number, platform, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                 f"reason FROM ({unknown_platform_sql(list(reg.contracts), mem.engine)}) u")
    mem.execute(f"CREATE OR REPLACE TABLE {target} AS " + " UNION ALL ".join(parts))


STATE = ("CASE WHEN {t}.reason IS NULL THEN 'staged' WHEN {t}.reason = 'out_of_scope' THEN 'ignored' "
         "ELSE 'quarantined' END")
REASON = "CASE WHEN {t}.reason IS NULL OR {t}.reason = 'out_of_scope' THEN NULL ELSE {t}.reason END"


def _moves_sql() -> str:
    b_state, h_state = STATE.format(t="b"), STATE.format(t="h")
    value = "CASE " + " ".join(
        f"WHEN b.{col} IS DISTINCT FROM h.{col} THEN '{name}'" for col, name in VALUE_CHANGES) + " END"
    to_reason = (f"CASE WHEN {b_state} = 'staged' AND {h_state} = 'staged' THEN {value} "
                 f"ELSE {REASON.format(t='h')} END")
    return (
        f"SELECT platform, app_version, from_state, from_reason, to_state, to_reason, COUNT(*) AS n, "
        f"list(event_id ORDER BY event_id)[1:{SAMPLE_IDS}] AS ids, "
        f"flatten(list(DISTINCT [feature, b_feature, h_feature])) AS features FROM ("
        f"SELECT b.platform, COALESCE(h.app_version, b.app_version) AS app_version, "
        f"{b_state} AS from_state, {REASON.format(t='b')} AS from_reason, {h_state} AS to_state, "
        f"{to_reason} AS to_reason, COALESCE(h.event_id, b.event_id) AS event_id, "
        f"COALESCE(b.feature_sent, h.feature_sent) AS feature, b.feature_id AS b_feature, "
        f"h.feature_id AS h_feature FROM v_base b "
        f"JOIN v_head h USING (load_id, file_path, line_number)) m "
        f"WHERE from_state <> to_state OR from_reason IS DISTINCT FROM to_reason "
        f"GROUP BY ALL ORDER BY platform, n DESC, app_version NULLS FIRST"
    )


def _candidates(move: tuple, changes: list[Change], features: list[str]) -> list[str]:
    """The changes that can produce a move: those of its platform's file, and catalog changes of a
    feature the moved lines sent or resolved to (before or after; a legacy id counts too)."""
    platform = move[0]
    out = [c.id for c in changes if c.scope == platform]
    sent = set(features or [])
    for c in changes:
        if c.scope == "catalog":
            subject, _, legacy = c.subject.partition("[")
            if subject in sent or legacy.rstrip("]") in sent:
                out.append(c.id)
    return out


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _query(platform: str, app_version: str | None, state: str, reason: str | None, since: dt.datetime,
           features: list[str] | None = None) -> str:
    """The window's lines of that platform and app version in their current state, for `nova query`
    (the moved lines are among them; the sample ids point at a few). When the move comes from a
    catalog change, staged lines are narrowed to the features it touches."""
    ts = since.strftime("%Y-%m-%d %H:%M:%S")
    version = "IS NULL" if app_version is None else "= " + _lit(app_version)
    if state == "staged":
        narrow = f" AND feature_id IN ({', '.join(_lit(f) for f in features)})" if features else ""
        return (f"SELECT * FROM stg_events WHERE platform = '{platform}' AND app_version {version} "
                f"AND received_at >= TIMESTAMP '{ts}'{narrow}")
    if state == "ignored":
        return (f"SELECT r.* FROM raw_events r JOIN ignored_events i USING (load_id, file_path, line_number) "
                f"WHERE r.platform = '{platform}' AND r.received_at >= TIMESTAMP '{ts}'")
    return (f"SELECT * FROM quarantined_events q JOIN raw_events r USING (load_id, file_path, line_number) "
            f"WHERE q.platform = '{platform}' AND q.reason = '{reason}' AND r.received_at >= TIMESTAMP '{ts}'")


def replay(settings: Settings, base: Registry, head: Registry, changes: list[Change], window: dt.timedelta,
           max_lines: int = 200_000) -> Impact:
    """Replay the window's raw lines through `base` and `head`; every changed verdict, grouped."""
    until = clock.now()
    since = until - window
    total, every, table = _window_lines(settings, since, max_lines)
    with open_warehouse(Settings(warehouse_url="duckdb:///:memory:")) as mem:
        assert isinstance(mem.engine, DuckDBEngine)
        mem.native().register("replay_lines", table)
        mem.execute("INSERT INTO raw_events (load_id, file_path, line_number, platform, raw_line, decode_error, "
                    "received_at) SELECT * FROM replay_lines")
        mem.execute(f"CREATE OR REPLACE TEMP VIEW {INPUT} AS SELECT * FROM raw_events")
        _classify(mem, base, "v_base")
        _classify(mem, head, "v_head")
        by_platform = {str(p): int(n) for p, n in mem.query(
            "SELECT COALESCE(platform, '?'), COUNT(*) FROM raw_events GROUP BY 1 ORDER BY 1")}
        rows = mem.query(_moves_sql())
    moves = []
    catalog_subjects = {c.subject.partition("[")[0] for c in changes if c.scope == "catalog"}
    for platform, version, fs, fr, ts, tr, n, ids, features in rows:
        share = int(n) / by_platform.get(platform or "?", 1)
        touched = sorted({f for f in features or [] if f in catalog_subjects})
        moves.append(Move(platform, version, fs, fr, ts, tr, int(n), [i for i in (ids or []) if i], share,
                          _candidates((platform,), changes, features),
                          _query(platform, version, fs, fr, since, touched)))
    return Impact(since, until, total, len(table), every, by_platform, moves)
