"""`nova contracts validate` on a sample holding every quirk of WIRE_FORMATS.md: each line's
verdict is the one SEMANTICS.md gives (written next to the line)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nova.cli import app
from tests.pipeline.helpers import android, backend, ios, web

runner = CliRunner()


def _no(d: dict, *keys: str) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


# (platform, line, expected state, expected reason)
SAMPLE: list[tuple[str, object, str, str | None]] = [
    ("web", web("w1"), "staged", None),
    ("web", web("w2", event="feature_used"), "staged", None),  # alternate event name
    ("web", web("w3", type="page"), "ignored", "out_of_scope"),
    ("web", web("w4", type="identify"), "ignored", "out_of_scope"),
    ("web", web("w5", properties={"feature": "Mention", "area": "editor", "workspaceId": "ws"},
                context={"library": {"version": "3.8.0"}}), "staged", None),  # old SDK display name
    ("web", web("w6", originalTimestamp="2026-11-25T09:00:00Z", sentAt="2026-11-25T09:00:02Z"), "staged", None),
    ("web", web("w7", properties={"feature": "editor", "workspaceId": "ws", "email": "a@b.c"}), "staged", None),
    ("web", web("w1"), "duplicate", None),  # client retry
    ("web", '{"messageId":"w8","type":"track","event":"Feature', "quarantined", "invalid_json"),  # truncated
    ("web", web("w9", properties={"feature": "editor.nope", "workspaceId": "ws"}), "quarantined", "unknown_feature"),
    ("ios", ios("AB-1"), "staged", None),
    ("ios", ios("ab-1 "), "duplicate", None),  # upper-case id, offline flush: the same event
    ("ios", _no(ios("AB-2", ts=1764090000.5, app={"version": "4.9.1"},
                    feature_key="editor.comments.mention_v1"), "sent_ts"), "staged", None),
    ("ios", ios("AB-3", user={"id": "u_1"}), "quarantined", "missing_workspace_id"),
    ("android", android("d1"), "staged", None),
    ("android", _no(android("d2", timestamp="2026-11-25 16:00:00", appVersion="4.2.0"), "sentAt"), "staged", None),
    ("android", android("d3", workspaceId=None), "quarantined", "missing_workspace_id"),
    ("android", android("d4", workspaceId=""), "quarantined", "missing_workspace_id"),
    ("android", android("d5", featureId="editor.comments.mention_v1", appVersion="4.9.0"), "staged", None),
    ("backend", backend("e1"), "staged", None),
    ("backend", _no(backend("e2", user_id="u_7", workspace_id="ws_7", schema_version=1), "actor"), "staged", None),
    ("backend", backend("e3", actor={"type": "system"}), "ignored", "out_of_scope"),
    ("backend", backend("e1"), "duplicate", None),  # batch job retry
    ("backend", _no(backend("e4"), "received_at"), "staged", None),  # old collector: file mtime
    ("backend", backend("e5", occurred_at="2026-11-01T00:00:00Z"), "quarantined", "too_late"),
    ("backend", backend("e6", occurred_at="not a time"), "quarantined", "invalid_timestamp"),
]


@pytest.mark.parametrize("platform", ["web", "ios", "android", "backend"])
def test_validate_gives_the_semantics_verdict_for_every_quirk(tmp_path: Path, platform: str) -> None:
    rows = [(line, state, reason) for p, line, state, reason in SAMPLE if p == platform]
    sample = tmp_path / f"{platform}.jsonl"
    sample.write_text("".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x, _, _ in rows))
    # The old collector's line takes the file's arrival time: the sample arrived with its traffic,
    # not on the day the suite runs.
    arrived = dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC).timestamp()
    os.utime(sample, (arrived, arrived))
    res = runner.invoke(app, ["contracts", "validate", str(sample), "--platform", platform, "--json"])
    verdicts = json.loads(res.stdout)
    got = [(v["state"], v["reason"] if v["state"] != "staged" and v["state"] != "duplicate" else None)
           for v in sorted(verdicts, key=lambda v: v["line"])]
    assert got == [(s, r) for _, s, r in rows]
    assert res.exit_code == (1 if any(s == "quarantined" for _, s, _ in rows) else 0)


def test_validate_human_output_names_line_and_rule(tmp_path: Path) -> None:
    sample = tmp_path / "s.jsonl"
    sample.write_text(json.dumps(android("d3", workspaceId=None)) + "\n" + json.dumps(android("d1")) + "\n")
    res = runner.invoke(app, ["contracts", "validate", str(sample), "--platform", "android"],
                        env={"COLUMNS": "300"})
    assert res.exit_code == 1
    assert f"{sample}:1: missing_workspace_id" in res.stdout
    assert f"{sample}:2" not in res.stdout
    assert "1 quarantined" in res.stdout and "1 staged" in res.stdout


def test_validate_unknown_platform_is_a_usage_error(tmp_path: Path) -> None:
    sample = tmp_path / "s.jsonl"
    sample.write_text("{}\n")
    import sys

    from nova.cli import main  # friendly error path, not a traceback

    argv = sys.argv
    sys.argv = ["nova", "contracts", "validate", str(sample), "--platform", "windows-phone"]
    try:
        with pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = argv
    assert exc.value.code == 2
