"""`nova monitor backtest`: the live detector over any historical series from a CSV file.

Values are summed per bucket (UTC); each bucket is judged from the buckets before it only, in
time order, exactly as `nova monitor` judges a live series (no look-ahead). Rows that cannot be
read are skipped and reported; a file with no usable row is an error (exit 4).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from config import get_settings
from config.detector import DetectorConfig
from monitors.detector import Detector, Judgement, Series, episodes
from nova.errors import Exit, NovaError
from warehouse.clock import parse_instant

out = Console(width=100)
err = Console(stderr=True)
_BUCKET = re.compile(r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)\s*$", re.IGNORECASE)
SHOW_BAD = 10


@dataclass
class CsvSeries:
    starts: list[dt.datetime] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    rows: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def parse_bucket(text: str) -> int:
    """'1h', '30m', '1d' → minutes."""
    m = _BUCKET.match(text)
    if not m:
        raise NovaError(f"--bucket {text!r}: expected a size like 15m, 1h or 1d", code=Exit.USAGE)
    n, unit = int(m[1]), m[2].lower()
    return n * (1 if unit.startswith("m") else 60 if unit.startswith("h") else 1440)


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 (offset converted to UTC; none = UTC) or epoch seconds / milliseconds."""
    t = text.strip()
    try:
        number = float(t)
    except ValueError:
        return parse_instant(t)
    if not math.isfinite(number):
        raise ValueError("not a time")
    seconds = number / 1000 if abs(number) >= 1e11 else number
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)


def read_csv(path: Path, ts_col: str, value_col: str) -> CsvSeries:
    if not path.is_file():
        raise NovaError(f"{path}: no such file", code=Exit.DATA)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NovaError(f"{path}: not a UTF-8 text file ({exc.reason})", code=Exit.DATA) from exc
    if not text.strip():
        raise NovaError(f"{path}: the file is empty", hint="a header line and one row per timestamp are needed",
                        code=Exit.DATA)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in (ts_col, value_col) if c not in header]
    if missing:
        raise NovaError(f"{path}: no column {', '.join(repr(c) for c in missing)}",
                        hint=f"the header has: {', '.join(header) or '(nothing)'}", code=Exit.USAGE)
    res = CsvSeries()
    for row in reader:
        res.rows += 1
        line = reader.line_num
        raw_ts, raw_v = (row.get(ts_col) or "").strip(), (row.get(value_col) or "").strip()
        try:
            ts = parse_time(raw_ts)
        except (ValueError, OverflowError):
            res.bad.append((line, f"unreadable timestamp {raw_ts!r}"))
            continue
        try:
            value = float(raw_v)
        except ValueError:
            res.bad.append((line, f"unreadable value {raw_v!r}"))
            continue
        if not math.isfinite(value) or value < 0:
            res.bad.append((line, f"value {raw_v!r} is not a finite count >= 0"))
            continue
        res.starts.append(ts)
        res.values.append(value)
    if not res.starts:
        why = f"none of its {res.rows} rows is usable" if res.rows else "it has a header but no rows"
        first = f" (line {res.bad[0][0]}: {res.bad[0][1]})" if res.bad else ""
        raise NovaError(f"{path}: {why}{first}", code=Exit.DATA)
    return res


def backtest(data: CsvSeries, config: DetectorConfig, missing_as_zero: bool = False) -> tuple[Series, list[Judgement]]:
    series = Series.from_points("backtest", data.starts, data.values, config.bucket_seconds, missing_as_zero)
    judged = Detector(config, config.holiday_names()).run([series])["backtest"]
    return series, judged


def add_backtest(monitor_app: typer.Typer) -> None:
    @monitor_app.command("backtest")
    def backtest_cmd(
        csv_path: Annotated[Path, typer.Option("--csv", help="CSV file: a header line, then one row per "
                                               "observation (delimiter , ; tab or | is detected).",
                                               show_default=False)],
        timestamp_column: Annotated[str, typer.Option(help="Column holding the time: ISO 8601 (an offset is "
                                                      "converted to UTC; none means UTC) or epoch s / ms.",
                                                      show_default=False)],
        value_column: Annotated[str, typer.Option(help="Column holding the value (a count >= 0); values of "
                                                  "one bucket are summed.", show_default=False)],
        bucket: Annotated[str, typer.Option(help="Bucket size (UTC-aligned): 15m, 1h, 1d... must divide a day.")]
        = "1h",
        as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array: one object per anomalous "
                                              "bucket (timestamp, direction, score, value, expected, band...).")]
        = False,
        missing_as_zero: Annotated[bool, typer.Option("--missing-as-zero", help="Read a bucket without rows as "
                                                      "0 (event counts); by default it is a gap, not judged.")]
        = False,
        holiday: Annotated[list[str], typer.Option("--holiday", metavar="YYYY-MM-DD",
                                                   help="An expected low day besides the [detector] calendar "
                                                        "(repeatable).")] = [],  # noqa: B006
    ) -> None:
        """Replay the volume detector over a historical series and list the alerts it would have raised.

        Each bucket is judged only from the buckets before it, in time order, exactly as the live
        monitor judges a series: cycles, holidays from the detector settings, cold start, exclusion of
        alerted buckets from the baseline. Rows with an unreadable time or value are skipped and
        reported on stderr. Exit 0 whether or not anomalies were found; 4 when no row is usable.
        """
        minutes = parse_bucket(bucket)
        base = get_settings().detector
        try:
            config = DetectorConfig(**{**base.model_dump(), "bucket_minutes": minutes})
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"]
            raise NovaError(f"--bucket {bucket!r}: {msg}", code=Exit.USAGE) from exc
        extra = []
        for h in holiday:
            try:
                extra.append({"date": dt.date.fromisoformat(h.strip()), "name": "--holiday"})
            except ValueError as exc:
                raise NovaError(f"--holiday {h!r}: expected YYYY-MM-DD", code=Exit.USAGE) from exc
        if extra:
            config = DetectorConfig(**{**config.model_dump(), "holidays": [*config.model_dump()["holidays"], *extra]})
        data = read_csv(csv_path, timestamp_column, value_column)
        if data.bad:
            err.print(f"[yellow]skipped {len(data.bad)} of {data.rows} rows[/] that could not be read:")
            for line, why in data.bad[:SHOW_BAD]:
                err.print(f"  line {line}: {why}")
            if len(data.bad) > SHOW_BAD:
                err.print(f"  ... and {len(data.bad) - SHOW_BAD} more")
        series, judged = backtest(data, config, missing_as_zero)
        alerts = [j for j in judged if j.anomalous]
        if as_json:
            print(json.dumps([j.as_dict() for j in alerts], indent=2))
            return
        gaps = int(sum(1 for v in series.values if math.isnan(v)))
        out.print(f"{len(series.values):,} buckets of {minutes} min ({gaps:,} without rows), {data.rows:,} rows "
                  f"({len(data.bad)} skipped); {len(judged):,} judged (the first {config.min_history_days:g} days "
                  f"are history only)")
        if not alerts:
            out.print("no anomaly: the detector would not have alerted.")
            return
        table = Table("bucket (UTC)", "dir", "value", "expected", "band", "score", "severity",
                      title=f"{len(alerts)} anomalous buckets in {len(episodes(judged))} episodes")
        for ep in episodes(judged):
            for j in ep:
                table.add_row(f"{j.bucket_start:%Y-%m-%d %H:%M}", j.direction, f"{j.value:,.0f}", f"{j.expected:,.0f}",
                              f"{j.lower:,.0f}-{j.upper:,.0f}", f"{j.score:+.1f}", j.severity or "")
            table.add_section()
        out.print(table)
