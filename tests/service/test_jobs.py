"""The job table: every job resolves to a function and to a `nova` command; settings hold its interval."""

from __future__ import annotations

import pytest

from config.daemon import DaemonConfig
from service.jobs import JOBS, call_step, resolve, unavailable


@pytest.mark.parametrize("job", [pytest.param(j, id=j.name) for j in JOBS])
def test_every_job_resolves_and_its_command_exists(job) -> None:
    assert unavailable(job) is None
    for entry in job.steps:
        assert callable(resolve(entry))
    from typer.main import get_command

    from nova.cli import app

    group = get_command(app)
    words = job.command.split()[1:]
    cmd = group.get_command(None, words[0])  # type: ignore[arg-type]
    for w in words[1:]:
        cmd = cmd.get_command(None, w)  # type: ignore[union-attr]
    assert cmd is not None, f"{job.command} is not a nova command"


def test_intervals_and_followers_are_declared() -> None:
    fields = DaemonConfig.model_fields
    names = {j.name for j in JOBS}
    for job in JOBS:
        assert bool(job.interval) != bool(job.after), job.name
        assert not job.interval or job.interval in fields
        assert not job.after or job.after in names


def test_a_missing_module_is_reported_unavailable_not_raised() -> None:
    from service.jobs import Job

    ghost = Job("ghost", ("monitors.nowhere:run",), "load_interval_s", 10, "nova ghost")
    assert "monitors.nowhere:run" in (unavailable(ghost) or "")


def test_steps_get_their_arguments_by_name(tmp_path) -> None:
    from service.jobs import StepContext

    seen = {}
    ctx = StepContext(wh="WH", settings="S")
    import types

    mod = types.ModuleType("fake_step_mod")

    def step(wh, settings, now=None, other=7):
        seen.update(wh=wh, settings=settings, now=now, other=other)
        return {"ok": True}

    mod.step = step
    import sys

    sys.modules["fake_step_mod"] = mod
    try:
        assert call_step("fake_step_mod:step", ctx) == {"ok": True}
    finally:
        del sys.modules["fake_step_mod"]
    assert seen["wh"] == "WH" and seen["settings"] == "S" and seen["now"] is not None and seen["other"] == 7


def test_every_daemon_setting_is_documented_and_in_both_config_files() -> None:
    from tests.conftest import REPO

    doc = (REPO / "docs" / "configuration.md").read_text()
    tomls = [(REPO / "config" / name).read_text() for name in ("local.toml", "production.example.toml")]
    for name, field in DaemonConfig.model_fields.items():
        assert f"`daemon.{name}`" in doc and field.description, name
        assert all(f"\n{name} = " in t for t in tomls), name
