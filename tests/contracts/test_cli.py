"""`nova contracts lint | diff | export` through the CLI runner, with NOVA_CONTRACTS_PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from config.settings import get_settings
from nova.cli import app
from nova.errors import Exit, NovaError
from tests.contracts.helpers import SHIPPED, RegistryCopy, feature, set_version

runner = CliRunner()


def run(monkeypatch: pytest.MonkeyPatch, contracts: Path, *args: str) -> tuple[int, str]:
    """The exit code `nova` would give (NovaError codes included) and stdout."""
    monkeypatch.setenv("NOVA_CONTRACTS_PATH", str(contracts))
    get_settings.cache_clear()
    result = runner.invoke(app, ["contracts", *args])
    if isinstance(result.exception, NovaError):
        return int(result.exception.code), result.stdout
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def _rename_feature_key(d: dict[str, Any]) -> None:
    del d["payload"]["feature_key"]
    d["payload"]["feature_id"] = {"type": "string", "required": True}
    d["mapping"]["feature"]["from"] = ["feature_id"]


# --- lint


def test_lint_shipped_registry_is_clean(monkeypatch) -> None:
    assert run(monkeypatch, SHIPPED, "lint") == (0, "")


def test_lint_prints_one_line_per_problem(monkeypatch, make_copy) -> None:
    copy: RegistryCopy = make_copy()
    copy.replace("catalog", 'name: "Bold", parent: "editor.text"', 'name: "Bold", parent: "editor.txt"')
    copy.replace("web", "  action: {from: [properties.action]}", "  action: {from: [properties.verb]}")
    code, out = run(monkeypatch, copy.root, "lint")
    assert code == Exit.FINDINGS
    assert out.splitlines() == [
        f"{copy.root}/catalog/features.yaml:{copy.line_of('catalog', 'editor.txt')}: error: "
        "feature 'editor.text.bold' has unknown parent 'editor.txt'",
        f"{copy.root}/platforms/web.yaml:{copy.line_of('web', 'properties.verb')}: error: "
        "mapping action: path 'properties.verb' is not declared in payload",
    ]


def test_lint_reports_schema_errors(monkeypatch, make_copy) -> None:
    copy = make_copy().replace("catalog", "status: beta, introduced_on: 2026-07-01",
                               "status: retired, introduced_on: 2026-07-01")
    code, out = run(monkeypatch, copy.root, "lint")
    assert code == Exit.FINDINGS
    assert out.startswith(f"{copy.root}/catalog/features.yaml:{copy.line_of('catalog', 'retired')}: error: "
                          "features.13.status: Input should be")


def test_lint_without_registry(monkeypatch, tmp_path: Path) -> None:
    assert run(monkeypatch, tmp_path / "nowhere", "lint")[0] == Exit.CONFIG


# --- diff against a directory


def test_diff_directory_safe(monkeypatch, make_copy) -> None:
    head = make_copy().edit("catalog", lambda c: feature(c, "editor.text.bold").update(owner="docs-format"))
    head.edit("catalog", set_version("1.0.1"))
    code, out = run(monkeypatch, head.root, "diff", str(SHIPPED), "--format", "json")
    assert code == Exit.OK
    assert [c["id"] for c in json.loads(out)["changes"]] == ["catalog:editor.text.bold:owner_changed"]


def test_diff_directory_bump_too_small(monkeypatch, make_copy) -> None:
    head = make_copy().edit("ios", _rename_feature_key).edit("ios", set_version("1.1.0"))
    code, out = run(monkeypatch, head.root, "diff", str(SHIPPED), "--format", "markdown")
    assert code == Exit.FINDINGS
    assert out.startswith(f"## Contract diff: `{SHIPPED}` → working tree\n\n❌ **1 file needs a bigger version bump")
    code, out = run(monkeypatch, head.root, "diff", str(SHIPPED))  # the terminal table
    assert code == Exit.FINDINGS and "field_renamed" in out and "not safe to merge" in out


def test_diff_unreadable_base(monkeypatch, make_copy) -> None:
    base = make_copy("base").replace("ios", "platform: ios", "platform: [ios")
    assert run(monkeypatch, SHIPPED, "diff", str(base.root))[0] == Exit.CONFIG


# --- diff against git refs


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> RegistryCopy:
    """A git repository on `main` with the registry committed under contracts/."""
    root = tmp_path / "repo"
    (root / "contracts").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    copy = RegistryCopy(root / "contracts")
    (root / "README.md").write_text("project\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "registry")
    return copy


def test_diff_git_ref(monkeypatch, repo: RegistryCopy) -> None:
    repo.edit("ios", _rename_feature_key)
    code, out = run(monkeypatch, repo.root, "diff", "HEAD", "--format", "json")
    assert code == Exit.FINDINGS
    data = json.loads(out)
    assert data["base"].startswith("HEAD (") and [c["id"] for c in data["changes"]] == [
        "ios:payload.feature_key:field_renamed"]
    repo.edit("ios", set_version("2.0.0"))
    assert run(monkeypatch, repo.root, "diff", "HEAD")[0] == Exit.OK
    assert run(monkeypatch, repo.root, "diff")[0] == Exit.OK  # default BASE: the merge base with main = HEAD


def test_diff_default_base_is_the_merge_base_with_main(monkeypatch, repo: RegistryCopy) -> None:
    top = repo.root.parent
    git(top, "checkout", "-q", "-b", "feature")
    repo.edit("ios", _rename_feature_key)
    git(top, "commit", "-q", "-am", "rename on the branch")
    repo.edit("web", lambda d: d["payload"].__setitem__("context.locale", {"type": "string"}))  # not committed
    code, out = run(monkeypatch, repo.root, "diff", "--format", "json")
    assert code == Exit.FINDINGS
    assert [c["id"] for c in json.loads(out)["changes"]] == [
        "ios:payload.feature_key:field_renamed", "web:payload.context.locale:field_added_optional"]
    # against HEAD only the uncommitted change is left
    code, out = run(monkeypatch, repo.root, "diff", "HEAD", "--format", "json")
    assert [c["id"] for c in json.loads(out)["changes"]] == ["web:payload.context.locale:field_added_optional"]


def test_diff_unknown_ref(monkeypatch, repo: RegistryCopy) -> None:
    assert run(monkeypatch, repo.root, "diff", "no-such-branch")[0] == Exit.CONFIG


def test_diff_ref_outside_a_repository(monkeypatch, make_copy) -> None:
    assert run(monkeypatch, make_copy().root, "diff", "HEAD")[0] == Exit.CONFIG


def test_real_process_exit_code(make_copy) -> None:
    # `nova.cli.main` turns errors into exit codes: check the code a shell really sees
    head = make_copy().edit("ios", _rename_feature_key)
    env = {**os.environ, "NOVA_CONTRACTS_PATH": str(head.root)}
    done = subprocess.run([sys.executable, "-m", "nova.cli", "contracts", "diff", str(SHIPPED), "-f", "markdown"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == Exit.FINDINGS, done.stderr
    assert "needs a bigger version bump" in done.stdout and "platforms/ios.yaml" in done.stderr


def test_diff_help_documents_exit_codes(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    out = runner.invoke(app, ["contracts", "diff", "--help"]).stdout
    assert "0 = every change is covered" in out and "1 = a change needs a bigger bump" in out
    assert "3 = a registry is unreadable, BASE not found" in out


# --- export


def test_export_one_platform_to_stdout(monkeypatch) -> None:
    code, out = run(monkeypatch, SHIPPED, "export", "--format", "jsonschema", "--platform", "ios")
    assert code == Exit.OK
    assert json.loads(out)["$id"] == "urn:novasuite:contracts:ios:1.0.0"


def test_export_all_platforms_to_a_directory(monkeypatch, tmp_path: Path) -> None:
    code, _ = run(monkeypatch, SHIPPED, "export", "--out", str(tmp_path / "schemas"))
    assert code == Exit.OK
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == ["android.schema.json", "backend.schema.json", "ios.schema.json", "web.schema.json"]
    assert json.loads((tmp_path / "schemas" / "web.schema.json").read_text())["type"] == "object"


def test_export_usage_errors(monkeypatch) -> None:
    assert run(monkeypatch, SHIPPED, "export")[0] == Exit.USAGE  # several platforms, no --out
    assert run(monkeypatch, SHIPPED, "export", "--platform", "windows")[0] == Exit.USAGE
