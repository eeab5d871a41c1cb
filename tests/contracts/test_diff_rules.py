"""One before/after pair per diff rule: the change ids found must be exactly the expected ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from contracts.changes import RULES, Severity
from contracts.diff import diff_registries
from tests.contracts.helpers import RegistryCopy, feature, shipped

Edit = tuple[str, Callable[[dict[str, Any]], None]]


@dataclass
class Case:
    rule: str
    after: list[Edit]
    ids: list[str]
    before: list[Edit] = field(default_factory=list)  # edits of the base (default: the shipped registry)


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return edit


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]

    return edit


def _feat(fid: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda c: feature(c, fid).__setitem__(key, value)


def _rename_ios_feature_key(alias: bool) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        if not alias:
            del d["payload"]["feature_key"]
        d["payload"]["feature_id"] = {"type": "string", "required": not alias}
        d["mapping"]["feature"]["from"] = ["feature_id", "feature_key"] if alias else ["feature_id"]

    return edit


def _rename_feature_id(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def edit(c: dict[str, Any]) -> None:
        f = feature(c, old)
        f["id"], f["legacy_ids"] = new, [*f["legacy_ids"], old]
        for child in c["features"]:
            if child["parent"] == old:
                child["parent"] = new

    return edit


def _steps(steps: list[str]) -> Callable[[dict[str, Any]], None]:
    return _set("feature_resolution", "steps", value=steps)


# no contract resolves legacy ids: dropping one breaks nothing
NO_LEGACY_STEP: list[Edit] = [(p, _steps(["id"])) for p in ("ios", "android", "backend")] + [
    ("web", _steps(["id", "name_in_area"]))]

CASES = [
    Case("field_removed", [("web", _drop("payload", "context.page.path"))],
         ["web:payload.context.page.path:field_removed"]),
    Case("field_renamed", [("ios", _rename_ios_feature_key(alias=False))], ["ios:payload.feature_key:field_renamed"]),
    Case("field_added_required",
         [("web", _set("payload", "properties.docId", value={"type": "string", "required": True}))],
         ["web:payload.properties.docId:field_added_required"]),
    Case("field_added_optional", [("android", _set("payload", "screen", value={"type": "string"}))],
         ["android:payload.screen:field_added_optional"]),
    Case("field_required", [("web", _set("payload", "anonymousId", "required", value=True))],
         ["web:payload.anonymousId:field_required"]),
    Case("field_optional", [("web", _set("payload", "userId", "required", value=False))],
         ["web:payload.userId:field_optional"]),
    Case("type_changed", [("ios", _set("payload", "app.build", "type", value="integer"))],
         ["ios:payload.app.build:type_changed"]),
    Case("type_widened", [("backend", _set("payload", "schema_version", "type", value="number"))],
         ["backend:payload.schema_version:type_widened"]),
    Case("type_widened", [("web", _set("payload", "context.page.path", "type", value=["string", "integer"]))],
         ["web:payload.context.page.path:type_widened"]),
    Case("enum_value_removed", [("web", _set("payload", "type", "enum", value=["track", "page"]))],
         ["web:payload.type[identify]:enum_value_removed"]),
    Case("enum_value_added", [("backend", _set("payload", "actor.type", "enum", value=["user", "system", "service"]))],
         ["backend:payload.actor.type[service]:enum_value_added"]),
    Case("constraint_tightened", [("android", _set("payload", "userId", "max_length", value=64))],
         ["android:payload.userId#max_length:constraint_tightened"]),
    Case("constraint_tightened", [("ios", _set("payload", "action", "enum", value=["used"]))],
         ["ios:payload.action#enum:constraint_tightened"]),
    Case("constraint_loosened", [("web", _set("payload", "properties.feature", "max_length", value=200))],
         ["web:payload.properties.feature#max_length:constraint_loosened"],
         before=[("web", _set("payload", "properties.feature", "max_length", value=100))]),
    Case("object_closed", [("ios", _set("payload", "props", "closed", value=True))],
         ["ios:payload.props:object_closed"]),
    Case("object_closed", [("android", _set("additional_properties", value=False))], ["android:payload:object_closed"]),
    Case("object_opened", [], ["backend:payload:object_opened"],
         before=[("backend", _set("additional_properties", value=False))]),
    Case("pii_lowered", [("web", _set("payload", "userId", "pii", value="none"))], ["web:payload.userId:pii_lowered"]),
    Case("pii_lowered", [("android", _set("violations", value={"personal_data": "evolve"}))],
         ["android:violations.personal_data:pii_lowered"]),
    Case("pii_raised", [("web", _set("payload", "context.page.path", "pii", value="indirect"))],
         ["web:payload.context.page.path:pii_raised"]),
    Case("strip_key_removed", [("android", _set("strip_properties", value=["email", "ip", "ip_address", "name"]))],
         ["android:strip_properties[phone]:strip_key_removed"]),
    Case("strip_key_added", [("ios", _set("strip_properties", value=["email", "ip", "ip_address", "name", "phone",
                                                                     "address"]))],
         ["ios:strip_properties[address]:strip_key_added"]),
    Case("format_changed", [("ios", _set("payload", "ts", "format", value="epoch_s")),
                            ("ios", _set("mapping", "client_ts", "format", value="epoch_s"))],
         ["ios:payload.ts:format_changed", "ios:mapping.client_ts:format_changed"]),
    Case("format_changed", [("ios", _set("mapping", "client_ts", "variants", value=[]))],
         ["ios:mapping.client_ts#variants:format_changed"]),
    Case("scope_narrowed", [("web", _set("scope", value=[{"path": "type", "equals": "track"},
                                                         {"path": "event", "in": ["Feature Used"]}]))],
         ["web:scope.event:scope_narrowed"]),
    Case("scope_narrowed", [("ios", _set("scope", value=[{"path": "name", "equals": "feature_used"},
                                                         {"path": "action", "not_in": ["viewed"]}]))],
         ["ios:scope.action:scope_narrowed"]),
    Case("scope_widened", [("backend", _set("scope", value=[{"path": "type", "equals": "feature.used"}]))],
         ["backend:scope.actor.type:scope_widened"]),
    Case("scope_widened", [("android", _set("scope", value=[{"path": "eventName",
                                                             "in": ["feature_used", "featureUsed"]}]))],
         ["android:scope.eventName:scope_widened"]),
    Case("mapping_changed", [("backend", _set("mapping", "user_id", "from", value=["actor.user_id"]))],
         ["backend:mapping.user_id:mapping_changed"]),
    Case("mapping_extended", [("ios", _rename_ios_feature_key(alias=True))],
         ["ios:mapping.feature:mapping_extended", "ios:payload.feature_id:field_added_optional"]),
    Case("mapping_removed", [("web", _drop("mapping", "anonymous_id"))], ["web:mapping.anonymous_id:mapping_removed"]),
    Case("mapping_added", [("backend", _set("payload", "actor.anonymous_id", value={"type": "string"})),
                           ("backend", _set("mapping", "anonymous_id", value={"from": ["actor.anonymous_id"]}))],
         ["backend:mapping.anonymous_id:mapping_added", "backend:payload.actor.anonymous_id:field_added_optional"]),
    Case("transform_changed", [("ios", _set("mapping", "event_id", "transform", value=["trim"]))],
         ["ios:mapping.event_id:transform_changed"]),
    Case("resolution_step_removed", [("android", _steps(["id"]))],
         ["android:feature_resolution.steps[legacy_id]:resolution_step_removed"]),
    Case("resolution_step_added", [], ["ios:feature_resolution.steps[legacy_id]:resolution_step_added"],
         before=[("ios", _steps(["id"]))]),
    Case("resolution_changed",
         [("web", _set("feature_resolution", "name_in_area_when", value={"app_version_below": "3.5"}))],
         ["web:feature_resolution.name_in_area_when:resolution_changed"]),
    Case("clock_trust_changed", [("backend", _set("trusted_clock", value=False))],
         ["backend:trusted_clock:clock_trust_changed"]),
    Case("violation_policy_changed", [("ios", _set("violations", value={"too_late": "discard_value"}))],
         ["ios:violations.too_late:violation_policy_changed"]),
    Case("owner_changed", [("web", _set("owner", value="web-growth"))], ["web:owner:owner_changed"]),
    Case("owner_changed", [("catalog", _feat("editor.text.bold", "owner", "docs-format"))],
         ["catalog:editor.text.bold:owner_changed"]),
    Case("description_changed", [("android", _set("description", value="Kotlin SDK events."))],
         ["android:description:description_changed"]),
    Case("description_changed", [("web", _set("payload", "messageId", "description", value="The event id."))],
         ["web:payload.messageId:description_changed"]),
    # catalog
    Case("feature_removed", [("catalog", lambda c: c["features"].remove(feature(c, "editor.text.highlight")))],
         ["catalog:editor.text.highlight:feature_removed"]),
    Case("feature_added", [("catalog", lambda c: c["features"].append(
        {**feature(c, "editor.text.bold"), "id": "editor.text.underline", "name": "Underline"}))],
         ["catalog:editor.text.underline:feature_added"]),
    Case("feature_id_renamed", [("catalog", _rename_feature_id("editor.text.highlight", "editor.text.marker"))],
         ["catalog:editor.text.highlight:feature_id_renamed"]),
    # the children of a renamed parent keep their roll-up: no reparent reported for them
    Case("feature_id_renamed", [("catalog", _rename_feature_id("editor.text", "editor.typography"))],
         ["catalog:editor.text:feature_id_renamed"]),
    Case("feature_reparented", [("catalog", _feat("editor.text.italic", "parent", "editor.comments"))],
         ["catalog:editor.text.italic:feature_reparented"]),
    Case("feature_renamed", [("catalog", _feat("editor.comments.mention", "name", "Mentions"))],
         ["catalog:editor.comments.mention:feature_renamed"]),
    Case("feature_deprecated", [("catalog", _feat("editor.text.bold", "status", "deprecated"))],
         ["catalog:editor.text.bold:feature_deprecated"]),
    Case("status_changed", [("catalog", _feat("editor.comments.resolve", "status", "active"))],
         ["catalog:editor.comments.resolve:status_changed"]),
    Case("legacy_id_removed", [("catalog", _feat("editor.comments.mention", "legacy_ids", []))],
         ["catalog:editor.comments.mention[editor.comments.mention_v1]:legacy_id_removed"]),
    Case("legacy_id_removed_unused",
         [*NO_LEGACY_STEP, ("catalog", _feat("editor.comments.mention", "legacy_ids", []))],
         ["catalog:editor.comments.mention[editor.comments.mention_v1]:legacy_id_removed_unused"],
         before=NO_LEGACY_STEP),
    Case("legacy_id_added", [("catalog", _feat("editor.text.bold", "legacy_ids", ["editor.text.strong"]))],
         ["catalog:editor.text.bold[editor.text.strong]:legacy_id_added"]),
    Case("feature_platform_removed", [("catalog", _feat("editor.text.bold", "platforms", ["web", "ios", "android"]))],
         ["catalog:editor.text.bold[backend]:feature_platform_removed"]),
    Case("feature_platform_added", [("catalog", _feat("editor.text.italic", "platforms", ["web", "ios"]))],
         ["catalog:editor.text.italic[ios]:feature_platform_added"]),
    Case("feature_metadata_changed", [("catalog", _feat("editor.text.bold", "introduced_on", "2022-12-01"))],
         ["catalog:editor.text.bold:feature_metadata_changed"]),
]


def _apply(copy: RegistryCopy, edits: list[Edit]) -> RegistryCopy:
    for name, fn in edits:
        copy.edit(name, fn)
    return copy


@pytest.mark.parametrize("case", CASES, ids=[f"{c.rule}-{i}" for i, c in enumerate(CASES)])
def test_rule(case: Case, make_copy) -> None:
    # the report lists changes worst first, so `ids` are in that order
    base = _apply(make_copy("base"), case.before).load() if case.before else shipped()
    head = _apply(make_copy("head"), case.after).load()
    report = diff_registries(base, head)
    assert [c.id for c in report.changes] == case.ids
    found = next(c for c in report.changes if c.rule == case.rule)
    assert found.severity is RULES[case.rule].severity


def test_every_rule_has_a_case() -> None:
    covered = {c.rule for c in CASES} | {"platform_removed", "platform_added"}  # tested below
    assert set(RULES) - covered == set()


def test_platform_removed_and_added(make_copy) -> None:
    # a platform is its contract file: removing the file is a breaking change, adding it back a warning
    reg = shipped()
    copy = make_copy()
    (copy.root / "platforms" / "ios.yaml").unlink()
    without_ios = copy.load()
    assert sorted(without_ios.contracts) == ["android", "backend", "web"]
    removed = diff_registries(reg, without_ios)
    assert [(c.id, c.severity) for c in removed.changes] == [("ios:contract:platform_removed", Severity.breaking)]
    assert not removed.ok  # a removed file cannot declare a bump
    added = diff_registries(without_ios, reg)
    assert [(c.id, c.severity) for c in added.changes] == [("ios:contract:platform_added", Severity.warning)]
    assert added.ok  # a new file starts at its own version


def test_same_registry_has_no_change() -> None:
    report = diff_registries(shipped(), shipped())
    assert report.changes == [] and report.ok


def test_scope_that_is_neither_narrower_nor_wider_breaks(make_copy) -> None:
    head = make_copy().edit("web", _set("scope", value=[{"path": "type", "equals": "track"},
                                                       {"path": "event", "in": ["feature_used", "FeatureUsed"]}]))
    [change] = diff_registries(shipped(), head.load()).changes
    assert change.rule == "scope_narrowed"
    assert "'Feature Used', 'feature_used'" in change.detail
