"""`nova monitor backtest` end to end through the installed CLI, on messy CSV files."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nova.cli import app
from nova.errors import NovaError
from tests.conftest import REPO
from traffic.series import Injected, hourly_series

START = dt.datetime(2026, 10, 5)
OUTAGE = START + dt.timedelta(days=18, hours=10)  # a Friday, 10:00-14:00 UTC
SPIKE = START + dt.timedelta(days=22, hours=15)


def nova(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nova.cli", "monitor", "backtest", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def in_process(*args: str) -> tuple[int, str]:
    """The same command through typer's runner (no interpreter start-up): exit code and output."""
    res = CliRunner().invoke(app, ["monitor", "backtest", *args])
    if isinstance(res.exception, NovaError):
        return int(res.exception.code), res.exception.message
    return res.exit_code, res.output


def messy_csv(path: Path) -> None:
    """Unsorted rows, times with a +02:00 offset, two missing hours, unreadable rows, ; as delimiter,
    values split over two rows per hour (they are summed)."""
    s = hourly_series("web", START, 28, 400, seed=9, incidents=[Injected("outage", OUTAGE, 4, 0.0),
                                                                Injected("spike", SPIKE, 2, 4.0)])
    tz = dt.timezone(dt.timedelta(hours=2))
    lines = []
    for i, (t, v) in enumerate(zip(s.times(), s.values, strict=True)):
        if i in (100, 101):
            continue  # missing buckets
        local = t.replace(tzinfo=dt.UTC).astimezone(tz).isoformat()
        half = int(v) // 2
        lines += [f"{local};{half};x", f"{local};{int(v) - half};y"]
    lines = sorted(lines, key=lambda x: hash(x) % 1000)
    lines[5:5] = ["not a time;12;z", "2026-10-20T10:00:00Z;twelve;z", "2026-10-20T11:00:00Z;-3;z"]
    path.write_text("ts;events;note\n" + "\n".join(lines) + "\n")


def test_messy_csv_json(tmp_path: Path) -> None:
    f = tmp_path / "messy.csv"
    messy_csv(f)
    res = nova("--csv", str(f), "--timestamp-column", "ts", "--value-column", "events", "--json")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "skipped 3 of" in res.stderr and "unreadable timestamp 'not a time'" in res.stderr
    assert "unreadable value 'twelve'" in res.stderr and "'-3' is not a finite count" in res.stderr
    alerts = json.loads(res.stdout)
    assert isinstance(alerts, list) and alerts
    for a in alerts:
        assert {"timestamp", "direction", "score", "value", "expected", "lower", "upper"} <= set(a)
        assert a["direction"] in ("drop", "spike")
    times = [dt.datetime.fromisoformat(a["timestamp"]) for a in alerts]
    assert times == sorted(times)  # in order, as if live
    drops = [t for t, a in zip(times, alerts, strict=True) if a["direction"] == "drop"]
    spikes = [t for t, a in zip(times, alerts, strict=True) if a["direction"] == "spike"]
    # the outage in UTC (the +02:00 offset converted), every hour of it, and the spike
    assert [OUTAGE + dt.timedelta(hours=h) for h in range(4)] == [t for t in drops if t.date() == OUTAGE.date()]
    assert SPIKE in spikes
    assert len(alerts) <= 4 + 2 + 1  # at most one noise bucket besides the incidents


def test_table_output_and_bucket_option(tmp_path: Path) -> None:
    f = tmp_path / "messy.csv"
    messy_csv(f)
    code, output = in_process("--csv", str(f), "--timestamp-column", "ts", "--value-column", "events")
    assert code == 0, output
    assert f"{OUTAGE:%Y-%m-%d %H:%M}" in output and "critical" in output
    assert "2 without rows" in output
    code, output = in_process("--csv", str(f), "--timestamp-column", "ts", "--value-column", "events",
                              "--bucket", "1d", "--json")
    assert code == 0, output
    daily = json.loads(output[output.index("["):])
    assert all(dt.datetime.fromisoformat(a["timestamp"]).hour == 0 for a in daily)


def test_an_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = nova("--csv", str(empty), "--timestamp-column", "ts", "--value-column", "events")
    assert res.returncode == 4
    assert "the file is empty" in " ".join(res.stderr.split()) and "Traceback" not in res.stderr


def test_unusable_files_and_options_are_errors(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("ts,events\n")
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("ts,events\nyesterday,many\nsoon,few\n")
    cases = [
        ((str(header), "ts", "events"), 4, "no rows"),
        ((str(garbage), "ts", "events"), 4, "none of its 2 rows is usable"),
        ((str(header), "time", "events"), 2, "no column 'time'"),
        ((str(tmp_path / "absent.csv"), "ts", "events"), 4, "no such file"),
    ]
    for (path, ts, value), expected_code, message in cases:
        code, output = in_process("--csv", path, "--timestamp-column", ts, "--value-column", value)
        assert (code, message in output) == (expected_code, True), (path, output)
    code, output = in_process("--csv", str(header), "--timestamp-column", "ts", "--value-column", "events",
                              "--bucket", "7m")
    assert code == 2 and "divide a day" in output
