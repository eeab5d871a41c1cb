"""`nova generate` through the command line: defaults from the settings, the manifest, usage errors,
and the round trip a user makes next: load, run and reconcile to the generator's expected counts."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nova.cli import app, main


def invoke(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(app, list(args))
    assert res.exit_code == code, f"nova {' '.join(args)} -> {res.exit_code}\n{res.output}\n{res.exception!r}"
    return res.output


def nova(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`nova ARGS` through nova.cli.main, which turns errors into messages and exit codes."""
    monkeypatch.setattr(sys, "argv", ["nova", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0), capsys.readouterr().err


def test_generate_writes_to_the_landing_path_setting_with_a_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "truth.json"
    output = invoke("generate", "-n", "1500", "--gzip", "--incident", "outage-ios:2026-11-23T10:4",
                    "--manifest", str(manifest))
    landing = Path(os.environ["NOVA_LANDING_PATH"])
    files = sorted(landing.rglob("*.jsonl.gz"))
    truth = json.loads(manifest.read_text())
    assert files and len(files) == truth["files"]
    assert {p.relative_to(landing).parts[0] for p in files} == {f"platform={p}" for p in
                                                                ("web", "ios", "android", "backend")}
    assert sum(truth["expected"].values()) == truth["lines"] and truth["quirks"]["outage_dropped"] > 0
    for heading in ("Injected quirks", "Expected line states", "outage_dropped"):
        assert heading in output


def test_generate_help_documents_incidents_and_quirks() -> None:
    output = invoke("generate", "--help")
    for text in ("--incident", "outage", "bad_release", "clock_skew", "duplicate_storm", "--quirks", "--manifest",
                 "--events-per-day", "--rate", "--scale", "--gzip"):
        assert text in output


@pytest.mark.parametrize("args, message", [
    (["--incident", "meteor:2026-11-24"], "kind must be one of"),
    (["--quirk", "retry"], "NAME=RATE"),
    (["--quirks", "loud"], "expected one of"),
    (["--events-per-day", "10", "--rate", "1"], "not both"),
])
def test_usage_errors_exit_2_with_the_reason(args: list[str], message: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, err = nova(monkeypatch, capsys, "generate", *args)
    assert code == 2, err
    assert message in err.replace("\n", " ")


def test_manifest_inside_the_landing_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, err = nova(monkeypatch, capsys, "generate", "--out", str(tmp_path), "--manifest", str(tmp_path / "m.json"))
    assert code == 2 and "manifest must not be inside the landing folder" in err
    assert not any(tmp_path.iterdir())


def test_pipeline_ends_each_line_where_the_generator_expects(tmp_path: Path) -> None:
    pytest.importorskip("pipeline.cli")
    manifest = tmp_path / "truth.json"
    invoke("generate", "-n", "800", "--quirks", "high", "--manifest", str(manifest), "-q")
    invoke("load")
    invoke("run")
    total = json.loads(invoke("reconcile", "--json"))
    expected = json.loads(manifest.read_text())["expected"]
    reasons = {k: v for k, v in expected.items() if k not in ("staged", "duplicate", "ignored") and v}
    assert total["received"] == sum(expected.values())
    assert (total["staged"], total["duplicate"], total["ignored"]) == (
        expected["staged"], expected["duplicate"], expected["ignored"])
    assert total["quarantined"] == reasons
