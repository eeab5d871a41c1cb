"""Version-bump enforcement: the declared bump of each file must cover its worst change."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.changes import Bump, declared_bump
from contracts.diff import diff_registries
from tests.contracts.helpers import RegistryCopy, feature, set_version, shipped


def _drop_page_path(d: dict[str, Any]) -> None:
    del d["payload"]["context.page.path"]  # BREAKING: field_removed


def _accept(change: str, reason: str) -> Any:
    def edit(d: dict[str, Any]) -> None:
        d["ignored_breaks"] = [{"change": change, "reason": reason}]

    return edit


def _verdict(copy: RegistryCopy, file: str = "platforms/web.yaml"):
    report = diff_registries(shipped(), copy.load())
    return report, next(v for v in report.files if v.file == file)


@pytest.mark.parametrize(("version", "ok"), [("1.0.0", False), ("1.0.1", False), ("1.1.0", False), ("2.0.0", True)])
def test_breaking_change_needs_a_major_bump(make_copy, version: str, ok: bool) -> None:
    report, v = _verdict(make_copy().edit("web", _drop_page_path).edit("web", set_version(version)))
    assert v.required is Bump.major
    assert (v.ok, report.ok) == (ok, ok)


@pytest.mark.parametrize(("version", "ok"), [("1.0.1", False), ("1.1.0", True), ("2.0.0", True)])
def test_warning_needs_a_minor_bump(make_copy, version: str, ok: bool) -> None:
    copy = make_copy().edit("catalog", lambda c: feature(c, "editor.text.bold").__setitem__("name", "Strong"))
    report, v = _verdict(copy.edit("catalog", set_version(version)), "catalog/features.yaml")
    assert (v.required, v.ok, report.ok) == (Bump.minor, ok, ok)


@pytest.mark.parametrize(("version", "ok"), [("1.0.0", False), ("1.0.1", True)])
def test_safe_change_needs_a_patch_bump(make_copy, version: str, ok: bool) -> None:
    copy = make_copy().edit("web", lambda d: d["payload"].__setitem__("context.locale", {"type": "string"}))
    report, v = _verdict(copy.edit("web", set_version(version)))
    assert (v.required, v.ok, report.ok) == (Bump.patch, ok, ok)


def test_accepted_break_needs_only_a_patch(make_copy) -> None:
    reason = "page paths are never read downstream"
    copy = make_copy().edit("web", _drop_page_path).edit("web", _accept("web:payload.context.page.path:field_removed",
                                                                        reason))
    report, v = _verdict(copy.edit("web", set_version("1.0.1")))
    assert report.ok and v.required is Bump.patch
    [change] = report.changes
    assert (change.accepted, change.reason, change.required_bump) == (True, reason, Bump.patch)
    # still a change of the file: without any bump it fails
    report, v = _verdict(copy.edit("web", set_version("1.0.0")))
    assert not report.ok and v.required is Bump.patch


def test_ignored_break_of_another_change_does_not_accept(make_copy) -> None:
    copy = make_copy().edit("web", _drop_page_path).edit("web", _accept("web:payload.userId:field_removed",
                                                                        "a different change entirely"))
    report, v = _verdict(copy.edit("web", set_version("1.0.1")))
    assert not report.ok and v.required is Bump.major and not report.changes[0].accepted


def test_accepted_catalog_break(make_copy) -> None:
    copy = make_copy().edit("catalog", lambda c: feature(c, "editor.text.italic").update(parent="editor.comments"))
    copy.edit("catalog", _accept("catalog:editor.text.italic:feature_reparented", "italic moved before any dashboard"))
    report, v = _verdict(copy.edit("catalog", set_version("1.0.1")), "catalog/features.yaml")
    assert report.ok and v.required is Bump.patch and report.changes[0].accepted


def test_each_file_is_judged_alone(make_copy) -> None:
    # a major bump of the catalog does not cover a break in web
    copy = make_copy().edit("web", _drop_page_path).edit("catalog", set_version("2.0.0"))
    report = diff_registries(shipped(), copy.load())
    assert {v.file: v.ok for v in report.files if v.touched} == {"platforms/web.yaml": False,
                                                                "catalog/features.yaml": True}


def test_version_going_backwards_fails(make_copy) -> None:
    base = make_copy("base").edit("ios", set_version("1.2.0")).load()
    report = diff_registries(base, make_copy("head").edit("ios", set_version("1.1.0")).load())
    [v] = [v for v in report.files if v.touched]
    assert not v.ok and v.problem == "version went backwards (1.2.0 → 1.1.0)"


def test_bump_without_change_is_fine(make_copy) -> None:
    report = diff_registries(shipped(), make_copy().edit("android", set_version("3.0.0")).load())
    assert report.ok and report.changes == []


@pytest.mark.parametrize(("base", "head", "bump"), [
    ("1.2.3", "1.2.3", Bump.none), ("1.2.3", "1.2.4", Bump.patch), ("1.2.3", "1.3.0", Bump.minor),
    ("1.2.3", "1.10.0", Bump.minor), ("1.2.3", "2.0.0", Bump.major), ("1.9.9", "2.0.0", Bump.major),
    (None, "1.0.0", Bump.major), ("1.0.0", None, Bump.none),
])
def test_declared_bump(base: str | None, head: str | None, bump: Bump) -> None:
    assert declared_bump(base, head) == (bump, "")
