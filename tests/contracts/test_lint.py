"""Each lint rule, triggered by a broken copy of the registry; the shipped registry is clean."""

from __future__ import annotations

import pytest

from contracts.lint import lint_registry
from contracts.registry import RegistryError
from tests.contracts.helpers import RegistryCopy, shipped

# (file, old text, new text, the problem expected, a fragment of the line it must point at)
CASES = [
    # catalog
    ("catalog", '{id: "editor.text.italic", name: "Italic"', '{id: "editor.text.bold", name: "Italic"',
     "duplicate feature id 'editor.text.bold'", 'name: "Italic"'),
    ("catalog", 'name: "Bold", parent: "editor.text"', 'name: "Bold", parent: "editor.txt"',
     "feature 'editor.text.bold' has unknown parent 'editor.txt'", 'name: "Bold"'),
    ("catalog", '{id: "editor.text", name: "Text", parent: "editor"', '{id: "editor.text", name: "Text", parent: '
     '"editor.text.bold"', "parent cycle: editor.text → editor.text.bold → editor.text", 'name: "Text"'),
    ("catalog", 'name: "Bold", parent: "editor.text"', 'name: "Bold", parent: "boards"',
     "feature 'editor.text.bold' is in area 'editor' but its top-level ancestor is 'boards'", 'name: "Bold"'),
    ("catalog", 'name: "Bold", parent: "editor.text", owner: docs-core, status: active, introduced_on: 2022-11-01, '
     'legacy_ids: []', 'name: "Bold", parent: "editor.text", owner: docs-core, status: active, '
     'introduced_on: 2022-11-01, legacy_ids: ["editor.text.italic"]',
     "legacy id 'editor.text.italic' of 'editor.text.bold' is also a live feature id", 'name: "Bold"'),
    ("catalog", 'name: "Bold", parent: "editor.text", owner: docs-core, status: active, introduced_on: 2022-11-01, '
     'legacy_ids: []', 'name: "Bold", parent: "editor.text", owner: docs-core, status: active, '
     'introduced_on: 2022-11-01, legacy_ids: ["editor.comments.mention_v1"]',
     # the second holder is reported: bold comes first in the file
     "legacy id 'editor.comments.mention_v1' of 'editor.comments.mention' is already a legacy id of "
     "'editor.text.bold'", 'name: "Mention"'),
    ("catalog", 'name: "Italic"', 'name: "Bold"',
     "display name 'Bold' of 'editor.text.italic' is already used by 'editor.text.bold' in area 'editor'",
     '{id: "editor.text.italic"'),
    ("catalog", 'introduced_on: 2025-08-01, legacy_ids: [], platforms: [web]}',
     'introduced_on: 2025-08-01, legacy_ids: [], platforms: [web, web]}',
     "feature 'editor.text.italic' lists a platform twice", '{id: "editor.text.italic"'),
    # contracts
    ("web", "  context: {type: object}", "  context: {type: object}\n  \"tags[0]\": {type: string}",
     "payload path 'tags[0]' is not a plain dotted key", "tags[0]"),
    ("ios", "  app: {type: object}", "  app: {type: string}",
     "payload path 'app' has sub-fields ('app.version') but is not an object", "  app: {type: string}"),
    ("web", "  userId: {type: string, required: true, pii: indirect}",
     "  userId: {type: string, required: true, pii: indirect, closed: true}",
     "payload field 'userId': `closed` applies to objects only", "  userId:"),
    ("backend", 'enum: ["1", "2"]', 'enum: ["1", "two"]',
     "payload field 'schema_version': enum value 'two' is not a integer", "  schema_version:"),
    ("web", "  userId: {type: string, required: true, pii: indirect}",
     "  userId: {type: string, required: true, pii: indirect, min_length: 10, max_length: 5}",
     "payload field 'userId': min_length > max_length", "  userId:"),
    ("web", "  - {path: type, equals: track}", "  - {path: kind, equals: track}",
     "scope condition on 'kind', which is not declared in payload", "{path: kind"),
    ("web", "  action: {from: [properties.action]}", "  action: {from: [properties.verb]}",
     "mapping action: path 'properties.verb' is not declared in payload", "  action: {from"),
    ("android", "  workspace_id: {from: [workspaceId]}\n", "",
     "required canonical key 'workspace_id' is not mapped", "  event_id: {from"),  # the mapping block
    ("android", "  sent_at: {from: [sentAt], format: iso8601}", "  sent_at: {from: [sentAt]}",
     "mapping sent_at: a time mapping needs a `format`", "  sent_at: {from"),
    ("android", "  client_ts: {from: [timestamp], format: iso8601}",
     "  client_ts: {from: [timestamp], format: epoch_ms}",
     "mapping client_ts: format epoch_ms but payload 'timestamp' is iso8601", "  client_ts:"),
    ("android", "  user_id: {from: [userId]}", "  user_id: {from: [userId], format: iso8601}",
     "mapping user_id: `format` and `variants` apply to time fields only", "  user_id: {from"),
    ("ios", "  app_version: {from: [app.version]}\n", "",
     "mapping client_ts: variants test the app version but `app_version` is not mapped", "- {when"),
    ("web", "  feature_area: {from: [properties.area]}\n", "",
     "feature_resolution: step name_in_area needs a `feature_area` mapping", "steps: [id, legacy_id, name_in_area]"),
    ("web", "steps: [id, legacy_id, name_in_area]", "steps: [id, legacy_id]",
     "feature_resolution: name_in_area_when without the name_in_area step", "name_in_area_when:"),
    ("web", "  app_version: {from: [context.library.version]}\n", "",
     "feature_resolution: name_in_area_when tests the app version but `app_version` is not mapped",
     "name_in_area_when:"),
    ("android", "steps: [id, legacy_id]", "steps: [id, legacy_id, id]",
     "feature_resolution: a step is listed twice", "steps: [id, legacy_id, id]"),
    # ignored_breaks, in both kinds of file
    ("web", "strip_properties:", 'ignored_breaks:\n  - {change: "web:payload.userId:field_removed", '
     'reason: "            "}\nstrip_properties:',
     "ignored_breaks entry 'web:payload.userId:field_removed' has no reason", "reason:"),
    ("web", "strip_properties:", 'ignored_breaks:\n  - {change: "ios:payload.userId:field_removed", '
     'reason: "an accepted break of another file"}\nstrip_properties:',
     "ignored_breaks change 'ios:payload.userId:field_removed' is not a change id of this file", "change:"),
    ("catalog", "owner: product-analytics", 'owner: product-analytics\nignored_breaks:\n'
     '  - {change: "catalog:editor.text.bold:feature_vanished", reason: "a rule that does not exist"}',
     "ignored_breaks change 'catalog:editor.text.bold:feature_vanished' is not a change id of this file", "change:"),
]


def test_shipped_registry_is_clean() -> None:
    assert lint_registry(shipped()) == []


@pytest.mark.parametrize(("name", "old", "new", "message", "at"), CASES, ids=[c[3][:50] for c in CASES])
def test_rule(make_copy, name: str, old: str, new: str, message: str, at: str) -> None:
    copy: RegistryCopy = make_copy().replace(name, old, new)
    problems = lint_registry(copy.load())
    assert len(problems) == 1, problems
    [p] = problems
    assert p.message.startswith(message)
    assert p.file == ("catalog/features.yaml" if name == "catalog" else f"platforms/{name}.yaml")
    assert p.line == copy.line_of(name, at)
    assert str(p) == f"{p.file}:{p.line}: error: {p.message}"


def test_schema_errors_are_located(make_copy) -> None:
    # status and platform values and a missing reason are schema errors: load_registry reports them
    copy = make_copy().replace("catalog", 'name: "Bold", parent: "editor.text", owner: docs-core, status: active',
                               'name: "Bold", parent: "editor.text", owner: docs-core, status: retired')
    copy.replace("catalog", "legacy_ids: [], platforms: [web]}", "legacy_ids: [], platforms: [Windows 11]}")
    copy.replace("ios", "strip_properties:", 'ignored_breaks:\n  - {change: "ios:payload.ts:format_changed"}\n'
                 "strip_properties:")
    with pytest.raises(RegistryError) as err:
        copy.load()
    found = {(p.file, p.line, p.message.split(":")[0]) for p in err.value.problems}
    assert found == {
        ("catalog/features.yaml", copy.line_of("catalog", 'name: "Bold"'), "features.2.status"),
        ("catalog/features.yaml", copy.line_of("catalog", "platforms: [Windows 11]"), "features.3.platforms.0"),
        ("platforms/ios.yaml", copy.line_of("ios", "ios:payload.ts:format_changed"), "ignored_breaks.0.reason"),
    }
