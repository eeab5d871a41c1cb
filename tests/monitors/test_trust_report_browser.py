"""The HTML report in a real browser: headless Chromium (Debian's package, installed when missing)
opens it with no network, the charts hold the scores and the usage series, the console shows no
errors, and screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.monitors.browser import Browser, install_chromium
from tests.monitors.conftest import World

ARTIFACTS = REPO / "tests" / "artifacts"
PLOTS = """JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({
  section: d.closest('[id]') ? d.closest('[id]').parentElement.closest('[id]')?.id || d.closest('[id]').id : null,
  title: d.layout.title && (d.layout.title.text || d.layout.title),
  traces: d.data.map(t => ({name: t.name, visible: t.visible, x: Array.from(t.x || []), y: Array.from(t.y || []),
                            text: t.text ? Array.from(t.text) : null}))})))"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = install_chromium()
    if path is None:
        pytest.skip(f"BROWSER TEST NOT RUN: headless Chromium is missing and could not be installed ({why}); "
                    "run `make browser`")
    return path


@pytest.fixture(scope="module")
def page(world: World, chromium: str) -> Any:
    browser = Browser(chromium, width=1280, height=1000)
    try:
        browser.open(world.report.as_uri())
        browser.wait_for("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8", timeout=120)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        first = browser.screenshot(ARTIFACTS / "trust_report_first_screen.png")
        full = browser.screenshot(ARTIFACTS / "trust_report_full.png", full_page=True)
        print(f"\nscreenshots: {first} {full}")
        yield browser
    finally:
        browser.close()


def test_report_is_one_self_contained_file(world: World) -> None:
    text = world.report.read_text()
    assert "<script src=" not in text.replace('<script src="data:', "")  # nothing fetched from anywhere
    assert len(text) > 1_000_000  # plotly.js is inside


def test_report_renders_without_console_errors(page: Any) -> None:
    assert page.evaluate("document.querySelectorAll('.plot-container').length") == 4
    assert page.evaluate("document.querySelectorAll('svg.main-svg').length") >= 8
    assert page.console_errors() == []


def test_first_screen_answers_the_question(page: Any, world: World) -> None:
    title = page.evaluate("document.querySelector('h1').innerText")
    assert title == "Can we trust the feature-usage numbers of Wednesday 25 November 2026?"
    verdict = page.evaluate("document.getElementById('verdict').innerText")
    assert "iOS" in verdict and "Android" in verdict and "unknown feature ids" in verdict
    # The verdict and the score bars are on the first screen (1280 x 1000).
    tops = page.evaluate("[document.getElementById('verdict').getBoundingClientRect().bottom, "
                         "document.querySelector('#scores .js-plotly-plot').getBoundingClientRect().top]")
    assert tops[0] < 400 and tops[1] < 600
    problems = page.evaluate("[document.querySelector('.problems').innerText, "
                             "document.querySelector('.problems').getBoundingClientRect().bottom]")
    assert "What is wrong today" in problems[0] and "iOS" in problems[0] and "Android" in problems[0]
    assert problems[1] < 1000  # still on the first screen
    bar_texts = page.evaluate("Array.from(document.querySelectorAll('#scores text.bartext')).map(t => t.textContent)")
    ios = world.by_scope()[("platform", "ios")]
    assert f"{ios['score']:.0f} ({ios['grade']})" in bar_texts


def test_charts_hold_the_scores_and_the_usage(page: Any, world: World) -> None:
    plots = json.loads(page.evaluate(PLOTS))
    assert len(plots) == 4
    scores = world.by_scope()
    platforms, areas, usage, history = plots
    labels = {"Web": "web", "iOS": "ios", "Android": "android", "Backend": "backend"}
    bars = platforms["traces"][0]
    assert {labels[y]: x for x, y in zip(bars["x"], bars["y"], strict=True)} == \
        {p: scores[("platform", p)]["score"] for p in labels.values()}
    area_bars = areas["traces"][0]
    assert len(area_bars["y"]) == 15
    by_label = {s["label"]: s["score"] for s in world.scores if s["scope_type"] == "area"}
    assert dict(zip(area_bars["y"], area_bars["x"], strict=True)) == by_label
    # Usage: the scope shown first is the lowest-scoring platform or area, its events per hour as stored.
    shown = [t for t in usage["traces"] if t["visible"] is True]
    received = next(t for t in shown if t["name"] == "events received")
    lowest = min((s for s in world.scores if s["scope_type"] in ("platform", "area")),
                 key=lambda s: (s["score"], s["label"]))
    volume = lowest["components"]["volume"]
    assert received["y"] == volume["observed"][: volume["hours"]] and sum(received["y"]) > 0
    assert {t["name"] for t in shown} == {"upper", "expected band", "expected", "events received"}
    assert lowest["label"] in usage["title"]
    # History: a line per platform and area over the two scored days.
    ios_line = next(t for t in history["traces"] if t["name"] == "iOS")
    assert ios_line["x"] == ["2026-11-24", "2026-11-25"]
    assert ios_line["y"][1] == scores[("platform", "ios")]["score"]


def test_screenshots_are_kept(page: Any) -> None:
    for name in ("trust_report_first_screen.png", "trust_report_full.png"):
        path: Path = ARTIFACTS / name
        assert path.exists() and path.stat().st_size > 20_000
